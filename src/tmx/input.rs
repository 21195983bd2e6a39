//! The reader's input: the encoding found from the first bytes, the
//! transcoding to UTF-8, and the positions (lines, columns) of what the XML
//! parser consumes, counted as it goes.

use std::io::{self, BufRead, BufReader, Chain, Cursor, Read};

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8};
use encoding_rs_io::{DecodeReaderBytes, DecodeReaderBytesBuilder};

use super::{Position, MAX_TOKEN_BYTES};

/// Bytes read ahead to find the encoding: the XML declaration fits.
const SNIFF_BYTES: usize = 1024;

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

/// A `BufRead` that counts lines and columns in what is consumed and
/// refuses to give more than [`MAX_TOKEN_BYTES`] to one XML event: the
/// reader marks where each event starts ([`Counter::start_event`]), and the
/// parser buffers an event whole (a text run, a tag with its quoted
/// attributes, a CDATA section, a comment, a DOCTYPE…).
pub(super) struct Counter<B> {
    inner: B,
    /// The position of the next byte to be consumed.
    here: Position,
    /// Where the current XML event starts.
    event_start: Position,
    overlong: bool,
}

impl<B: BufRead> Counter<B> {
    fn new(inner: B) -> Counter<B> {
        let start = Position { line: 1, column: 1, byte: 0 };
        Counter { inner, here: start, event_start: start, overlong: false }
    }

    /// Marks the start of an XML event here, and returns its position.
    pub(super) fn start_event(&mut self) -> Position {
        self.event_start = self.here;
        self.here
    }

    /// Whether the input was cut for an event longer than [`MAX_TOKEN_BYTES`].
    pub(super) fn overlong(&self) -> bool {
        self.overlong
    }

    /// The position of the next byte to be consumed.
    pub(super) fn here(&self) -> Position {
        self.here
    }

    /// The position of byte `byte`: exact at the start of the current event
    /// and at the end of what was consumed; in between, counted in bytes
    /// from the event start (on its line). Before the current event, where
    /// nothing is known any more, the end of what was consumed.
    pub(super) fn position_at(&self, byte: u64) -> Position {
        let start = self.event_start;
        if byte >= self.here.byte || byte < start.byte {
            return self.here;
        }
        Position { line: start.line, column: start.column + (byte - start.byte), byte }
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
        if self.here.byte - self.event_start.byte > MAX_TOKEN_BYTES as u64 {
            self.overlong = true;
            return Err(io::Error::other(format!("more than {MAX_TOKEN_BYTES} bytes in one XML event")));
        }
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        if amount == 0 {
            return;
        }
        // The buffer still holds what is consumed: `fill_buf` does no I/O here.
        if let Ok(buffer) = self.inner.fill_buf() {
            count(&mut self.here, &buffer[..amount.min(buffer.len())]);
        }
        self.inner.consume(amount);
    }
}

/// Moves `here` past `bytes`.
fn count(here: &mut Position, bytes: &[u8]) {
    let last_line = match memchr::memrchr(b'\n', bytes) {
        Some(newline) => {
            here.line += memchr::memchr_iter(b'\n', bytes).count() as u64;
            here.column = 1;
            &bytes[newline + 1..]
        }
        None => bytes,
    };
    // Continuation bytes of a UTF-8 character do not start a column.
    here.column += last_line.iter().filter(|&&b| b & 0xC0 != 0x80).count() as u64;
    here.byte += bytes.len() as u64;
}
