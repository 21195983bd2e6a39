//! The reader's input: the encoding found from the first bytes, the
//! transcoding to UTF-8, and the positions (lines, columns) of what the XML
//! parser consumes, counted as it goes.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use super::{Position, MAX_TOKEN_BYTES};

/// Bytes read ahead to find the encoding: the XML declaration fits.
const SNIFF_BYTES: usize = 1024;

/// Tag starts remembered to place errors that quick-xml reports by offset.
const CHECKPOINTS: usize = 64;

/// The input as the XML parser reads it: UTF-8, counted.
pub(super) type Source<R> = Counter<BufReader<DecodeReaderBytes<Chain<Cursor<Vec<u8>>, R>, Vec<u8>>>>;

/// Finds the encoding of `input` and returns it transcoded to UTF-8 (BOM
/// removed), with the encoding's name. An error is a reason (at line 1).
pub(super) fn open<R: Read>(mut input: R) -> Result<(Source<R>, &'static Encoding), io::Result<String>> {
    let mut prefix = vec![0; SNIFF_BYTES];
    let len = read_up_to(&mut input, &mut prefix).map_err(Err)?;
    prefix.truncate(len);
    let (encoding, bom) = sniff(&prefix).map_err(Ok)?;
    prefix.drain(..bom);
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding((encoding != UTF_8).then_some(encoding))
        .bom_sniffing(false)
        .build(Cursor::new(prefix).chain(input));
    Ok((Counter::new(BufReader::with_capacity(64 << 10, decoder)), encoding))
}

/// Reads until `buf` is full or the input ends.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(len)
}

/// The encoding of a document starting with `prefix`, and the length of its
/// byte order mark: the BOM, else the zero bytes of BOM-less UTF-16 around
/// `<?` or any ASCII, else the XML declaration, else UTF-8.
pub(super) fn sniff(prefix: &[u8]) -> Result<(&'static Encoding, usize), String> {
    let utf32 = || Err("the input is UTF-32, which is not supported: convert it to UTF-8 or UTF-16".to_owned());
    match prefix {
        [0xEF, 0xBB, 0xBF, ..] => Ok((UTF_8, 3)),
        [0xFF, 0xFE, 0, 0, ..] | [0, 0, 0xFE, 0xFF, ..] => utf32(),
        [0xFF, 0xFE, ..] => Ok((UTF_16LE, 2)),
        [0xFE, 0xFF, ..] => Ok((UTF_16BE, 2)),
        [a, 0, 0, 0, ..] | [0, 0, 0, a, ..] if *a != 0 => utf32(),
        [a, 0, b, 0, ..] if *a != 0 && *b != 0 => Ok((UTF_16LE, 0)),
        [0, a, 0, b, ..] if *a != 0 && *b != 0 => Ok((UTF_16BE, 0)),
        _ => declared_encoding(prefix).map(|encoding| (encoding, 0)),
    }
}

/// The encoding named by the XML declaration at the start of an
/// ASCII-compatible `prefix`; UTF-8 without one. A declared UTF-16 is
/// ignored: these bytes are not UTF-16.
fn declared_encoding(prefix: &[u8]) -> Result<&'static Encoding, String> {
    let Some(label) = declaration_encoding_label(prefix) else {
        return Ok(UTF_8);
    };
    match Encoding::for_label(label) {
        Some(encoding) if encoding == UTF_16LE || encoding == UTF_16BE => Ok(UTF_8),
        Some(encoding) => Ok(encoding),
        None => Err(format!("unknown encoding {:?} in the XML declaration", String::from_utf8_lossy(label))),
    }
}

/// The value of `encoding=` in a leading `<?xml … ?>`.
fn declaration_encoding_label(prefix: &[u8]) -> Option<&[u8]> {
    let declaration = prefix.strip_prefix(b"<?xml")?;
    let declaration = &declaration[..declaration.windows(2).position(|w| w == b"?>")?];
    let at = declaration.windows(8).position(|w| w == b"encoding")?;
    let rest = declaration[at + 8..].trim_ascii_start().strip_prefix(b"=")?.trim_ascii_start();
    let (&quote, rest) = rest.split_first()?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    Some(&rest[..rest.iter().position(|&b| b == quote)?])
}

/// A position to come back to: where a tag started.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    byte: u64,
    line: u64,
    column: u64,
}

/// A `BufRead` that counts lines and columns in what is consumed, remembers
/// where the last tags started, and refuses a run of more than
/// [`MAX_TOKEN_BYTES`] without a `<`.
pub(super) struct Counter<B> {
    inner: B,
    tally: Tally,
}

/// What [`Counter`] counted so far.
struct Tally {
    byte: u64,
    line: u64,
    column: u64,
    since_tag: usize,
    tags: VecDeque<Checkpoint>,
    overlong: bool,
}

impl<B: BufRead> Counter<B> {
    fn new(inner: B) -> Counter<B> {
        let tally = Tally { byte: 0, line: 1, column: 1, since_tag: 0, tags: VecDeque::new(), overlong: false };
        Counter { inner, tally }
    }

    /// Whether the input was cut for a run longer than [`MAX_TOKEN_BYTES`].
    pub(super) fn overlong(&self) -> bool {
        self.tally.overlong
    }

    /// The position of the next byte to be consumed.
    pub(super) fn here(&self) -> Position {
        self.tally.here()
    }

    /// The position of byte `byte`: exact at a remembered tag start or at
    /// the end of what was consumed, else counted in bytes from the last tag
    /// start before it.
    pub(super) fn position_at(&self, byte: u64) -> Position {
        let tally = &self.tally;
        if byte >= tally.byte {
            return tally.here();
        }
        match tally.tags.iter().rev().find(|c| c.byte <= byte) {
            Some(c) => Position { line: c.line, column: c.column + (byte - c.byte), byte },
            None => tally.here(),
        }
    }
}

impl Tally {
    fn here(&self) -> Position {
        Position { line: self.line, column: self.column, byte: self.byte }
    }

    fn count(&mut self, bytes: &[u8]) {
        for &b in bytes {
            match b {
                b'\n' => {
                    self.line += 1;
                    self.column = 0;
                }
                b'<' => {
                    if self.tags.len() == CHECKPOINTS {
                        self.tags.pop_front();
                    }
                    self.tags.push_back(Checkpoint { byte: self.byte, line: self.line, column: self.column });
                    self.since_tag = 0;
                }
                _ => {}
            }
            // Continuation bytes of a UTF-8 character do not start a column.
            if b & 0xC0 != 0x80 {
                self.column += 1;
            }
            self.byte += 1;
            self.since_tag += 1;
        }
    }
}

impl<B: BufRead> Read for Counter<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(buf.len());
        buf[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<B: BufRead> BufRead for Counter<B> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.tally.since_tag > MAX_TOKEN_BYTES {
            self.tally.overlong = true;
            return Err(io::Error::other(format!("more than {MAX_TOKEN_BYTES} bytes without a tag")));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if amount == 0 {
            return;
        }
        // The buffer still holds what is consumed: `fill_buf` does no I/O here.
        if let Ok(buffer) = self.inner.fill_buf() {
            self.tally.count(&buffer[..amount.min(buffer.len())]);
        }
        self.inner.consume(amount);
    }
}
