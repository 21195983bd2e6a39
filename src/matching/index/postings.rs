//! A segment's inverted lists: plain vectors while the segment takes units,
//! then, once it is closed, delta- and bit-packed (the layout of tantivy's
//! and Lucene's postings: blocks of 128 gaps packed with the fewest bits
//! that hold the block's largest, SIMD-unpacked by the `bitpacking` crate).
//!
//! A closed list is ordered by word count, then slot, and stored as runs of
//! one word count each, behind a directory a reader walks without unpacking:
//!
//! ```text
//! list  := run*                                   (SMALL entries or more)
//!        | (varint(count − previous count) varint(slot))*   (fewer: no runs)
//! run   := varint(count − previous count) varint(entries) [varint(bytes)]
//!          u8(room)·entries body
//! body  := varint(first slot) block* varint(gap − 1)*
//! block := u8(bits) 16·bits bytes                 (128 gaps − 1, bit-packed)
//! ```
//!
//! (`bytes`, the body's size, only in a run of more than 128 entries: a
//! shorter one is skipped varint by varint.) So a lookup unpacks only the runs of the word counts that can match (see
//! [`Packed::runs`]), each entry at a cost of about a nanosecond, and the
//! lists take about half the room of one vector per key. Lists of fewer
//! than [`SMALL`] entries (most keys: names, numbers, rare words) are plain
//! varints, each slot after its word count (so that a lookup does not read
//! the segment's word counts, a cache miss each): a directory would cost
//! more than it saves.
//!
//! Each entry of a run has a byte beside it, its *room*: how many of the
//! unit's words are in this list or in lists a lookup reads after it (see
//! `Side::rooms`). A lookup that reaches a unit first through this list
//! shares at most that many words with the query, so entries whose room is
//! below what their word count needs are dropped before their slots are
//! handed out (the position filter of PPJoin), and a run where none has
//! the room is not unpacked at all.

use std::ops::Range;

use bitpacking::{BitPacker, BitPacker4x};
use serde::{Deserialize, Serialize};

/// Entries of a bit-packed block.
const BLOCK: usize = BitPacker4x::BLOCK_LEN;

/// Lists shorter than this are stored without a run directory.
const SMALL: usize = 32;

/// A segment's lists, by key id.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Postings {
    /// Ascending slots, one vector per key: the segment takes units.
    Open(Vec<Vec<u32>>),
    /// By word count and slot, packed: the segment is closed.
    Packed(Packed),
}

impl Default for Postings {
    fn default() -> Postings {
        Postings::Open(Vec::new())
    }
}

impl Postings {
    /// How many entries the key's list has.
    pub(super) fn len(&self, key: u32) -> usize {
        match self {
            Postings::Open(lists) => lists.get(key as usize).map_or(0, Vec::len),
            Postings::Packed(packed) => packed.heads.get(key as usize).map_or(0, |head| head.count as usize),
        }
    }

    /// Every entry of the key's list, in its order, into `out`.
    pub(super) fn list(&self, key: u32, out: &mut Vec<u32>) {
        out.clear();
        match self {
            Postings::Open(lists) => out.extend_from_slice(lists.get(key as usize).map_or(&[][..], Vec::as_slice)),
            Postings::Packed(packed) => packed.runs(key, 0, usize::MAX, |_| 0, out, &mut Vec::new()),
        }
    }

    /// Closes the lists: orders each by word count (`len`, by slot) and
    /// packs it, with each entry's room (`rooms`, beside the open lists'
    /// entries; see the module's documentation). Packed lists stay as they
    /// are, and so do lists that could take 4 GiB packed (over 200 million
    /// entries in one segment: their offsets are `u32`), read whole as
    /// while the segment was open.
    pub(super) fn pack(&mut self, len: &[u16], rooms: &[Vec<u8>]) {
        if let Postings::Open(lists) = self {
            // At most 5 bytes per entry, its room and 15 of run header.
            let bound = lists.iter().map(|list| list.len() * 21).sum::<usize>();
            if bound < u32::MAX as usize {
                *self = Postings::Packed(Packed::new(std::mem::take(lists), len, rooms));
            }
        }
    }
}

/// Closed lists (see the module's documentation).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Packed {
    /// Key → its list's entry count and where its bytes start in `data`
    /// (side by side: a lookup reads both, and the next key's start, in one
    /// cache line); one more, the end.
    heads: Vec<Head>,
    #[serde(with = "serde_bytes")]
    data: Vec<u8>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Head {
    count: u32,
    start: u32,
}

impl Packed {
    /// Packs `lists` (ascending slots), ordered by word count (`len`), each
    /// entry with its room (`rooms[key][entry]`; see the module's
    /// documentation).
    pub(super) fn new(lists: Vec<Vec<u32>>, len: &[u16], rooms: &[Vec<u8>]) -> Packed {
        let packer = BitPacker4x::new();
        let mut packed = Packed { heads: Vec::with_capacity(lists.len() + 1), data: Vec::new() };
        let mut body = Vec::new();
        let mut block = [0u8; 4 * BLOCK];
        let offset = |data: &Vec<u8>| u32::try_from(data.len()).expect("`Postings::pack` bounds the size");
        let (mut entries, mut list, mut room) = (Vec::new(), Vec::new(), Vec::new());
        for (key, open) in lists.into_iter().enumerate() {
            let count = u32::try_from(open.len()).expect("a segment has fewer than 2^32 slots");
            packed.heads.push(Head { count, start: offset(&packed.data) });
            debug_assert!(open.windows(2).all(|w| w[0] < w[1]), "an open list is ascending");
            entries.clear();
            entries.extend(open.into_iter().zip(rooms[key].iter().copied()));
            entries.sort_by_key(|&(slot, _)| len[slot as usize]);
            list.clear();
            list.extend(entries.iter().map(|&(slot, _)| slot));
            room.clear();
            room.extend(entries.iter().map(|&(_, room)| room));
            if list.len() < SMALL {
                let mut previous = 0;
                for &slot in &list {
                    let count = usize::from(len[slot as usize]);
                    varint(&mut packed.data, count - previous);
                    varint(&mut packed.data, slot as usize);
                    previous = count;
                }
                continue;
            }
            let mut previous = 0;
            let mut at = 0;
            for run in list.chunk_by(|a, b| len[*a as usize] == len[*b as usize]) {
                let count = usize::from(len[run[0] as usize]);
                let rooms = &room[at..at + run.len()];
                at += run.len();
                body.clear();
                varint(&mut body, run[0] as usize);
                let mut last = run[0];
                let blocks = run[1..].chunks_exact(BLOCK);
                let tail = blocks.remainder();
                for gaps in blocks {
                    let bits = packer.num_bits_strictly_sorted(Some(last), gaps);
                    let size = packer.compress_strictly_sorted(Some(last), gaps, &mut block, bits);
                    body.push(bits);
                    body.extend_from_slice(&block[..size]);
                    last = gaps[BLOCK - 1];
                }
                for &slot in tail {
                    varint(&mut body, (slot - last - 1) as usize);
                    last = slot;
                }
                varint(&mut packed.data, count - previous);
                varint(&mut packed.data, run.len());
                if run.len() > BLOCK {
                    varint(&mut packed.data, body.len());
                }
                packed.data.extend_from_slice(rooms);
                packed.data.extend_from_slice(&body);
                previous = count;
            }
        }
        packed.heads.push(Head { count: 0, start: offset(&packed.data) });
        packed.data.shrink_to_fit();
        packed
    }

    /// The entries of the key's list for units of `min..=max` words, into
    /// `slots`, and their runs into `runs`: (word count, range of `slots`),
    /// shortest first. Of a run of `m` words, only the entries whose room
    /// is at least `need(m)` (see the module's documentation): a `need`
    /// of 1 or less keeps all, one over `m` none. A list shorter than
    /// [`SMALL`] has no rooms: only a `need` over `m` drops its entries.
    pub(super) fn runs(
        &self,
        key: u32,
        min: usize,
        max: usize,
        need: impl Fn(usize) -> usize,
        slots: &mut Vec<u32>,
        runs: &mut Vec<(usize, Range<usize>)>,
    ) {
        slots.clear();
        runs.clear();
        let key = key as usize;
        let (Some(head), Some(next)) = (self.heads.get(key), self.heads.get(key + 1)) else { return };
        let mut data = &self.data[head.start as usize..next.start as usize];
        if (head.count as usize) < SMALL {
            let mut m = 0;
            while !data.is_empty() {
                m += read_varint(&mut data);
                let slot = read_varint(&mut data) as u32;
                if m > max {
                    break;
                }
                if m < min || need(m) > m {
                    continue;
                }
                match runs.last_mut() {
                    Some((last, run)) if *last == m => run.end += 1,
                    _ => runs.push((m, slots.len()..slots.len() + 1)),
                }
                slots.push(slot);
            }
            return;
        }
        let packer = BitPacker4x::new();
        let mut m = 0;
        while !data.is_empty() {
            m += read_varint(&mut data);
            let entries = read_varint(&mut data);
            if m > max {
                break;
            }
            let bytes = (entries > BLOCK).then(|| read_varint(&mut data));
            let (rooms, rest) = data.split_at(entries);
            data = rest;
            // The least room an entry needs (a room of 255 stands for 255
            // or more); none when every entry has it.
            let need = if m < min { usize::MAX } else { need(m) };
            let least = (need > 1).then(|| need.min(usize::from(u8::MAX)) as u8);
            if need > m || least.is_some_and(|least| rooms.iter().all(|&room| room < least)) {
                // Skipped: by its size when it has blocks, else varint by
                // varint.
                match bytes {
                    Some(bytes) => data = &data[bytes..],
                    None => (0..entries).for_each(|_| _ = read_varint(&mut data)),
                }
                continue;
            }
            let from = slots.len();
            unpack(&packer, &mut data, entries, slots);
            if let Some(least) = least {
                let mut kept = from;
                for (i, &room) in rooms.iter().enumerate() {
                    slots[kept] = slots[from + i];
                    kept += usize::from(room >= least);
                }
                slots.truncate(kept);
            }
            runs.push((m, from..slots.len()));
        }
    }

    /// Every entry of the key's list with its room, in its order; `None`
    /// for a list shorter than [`SMALL`], which has no rooms.
    #[cfg(test)]
    pub(super) fn rooms(&self, key: u32) -> Option<Vec<(u32, u8)>> {
        let (head, next) = (self.heads.get(key as usize)?, self.heads.get(key as usize + 1)?);
        if (head.count as usize) < SMALL {
            return None;
        }
        let mut data = &self.data[head.start as usize..next.start as usize];
        let packer = BitPacker4x::new();
        let (mut out, mut run) = (Vec::new(), Vec::new());
        while !data.is_empty() {
            let _count = read_varint(&mut data);
            let entries = read_varint(&mut data);
            let bytes = (entries > BLOCK).then(|| read_varint(&mut data));
            let (rooms, body) = data.split_at(entries);
            data = body;
            run.clear();
            unpack(&packer, &mut data, entries, &mut run);
            assert!(bytes.is_none_or(|bytes| bytes == body.len() - data.len()), "a run's size is its body's");
            out.extend(run.iter().copied().zip(rooms.iter().copied()));
        }
        Some(out)
    }

    /// Bytes taken, for the index's memory figures.
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.data.len() + self.heads.len() * std::mem::size_of::<Head>()
    }
}

/// Unpacks the body of a run of `entries` slots (see the module's
/// documentation) onto `slots`, moving `data` past it.
#[inline]
fn unpack(packer: &BitPacker4x, data: &mut &[u8], entries: usize, slots: &mut Vec<u32>) {
    let mut last = read_varint(data) as u32;
    slots.push(last);
    let mut left = entries - 1;
    while left >= BLOCK {
        let bits = data[0];
        let size = BitPacker4x::compressed_block_size(bits);
        let at = slots.len();
        slots.resize(at + BLOCK, 0);
        packer.decompress_strictly_sorted(Some(last), &data[1..1 + size], &mut slots[at..], bits);
        *data = &data[1 + size..];
        last = slots[at + BLOCK - 1];
        left -= BLOCK;
    }
    for _ in 0..left {
        last += read_varint(data) as u32 + 1;
        slots.push(last);
    }
}

/// Appends `value` as a LEB128 varint.
fn varint(out: &mut Vec<u8>, mut value: usize) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Reads a LEB128 varint written by [`varint`], moving `data` past it.
#[inline]
fn read_varint(data: &mut &[u8]) -> usize {
    let mut value = 0;
    let mut shift = 0;
    loop {
        let byte = data[0];
        *data = &data[1..];
        value |= usize::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The entries of `lists[key]` of `min..=max` words by (word count,
    /// slot), grouped by word count, that `need` keeps: those of `m` words
    /// whose room is at least `need(m)` (255 standing for any more), all of
    /// them when `need(m) ≤ 1` or the list is shorter than [`SMALL`] (no
    /// rooms), none when `need(m) > m`. The reference for `runs`.
    fn expected(
        list: &[u32],
        rooms: &[u8],
        len: &[u16],
        min: usize,
        max: usize,
        need: impl Fn(usize) -> usize,
    ) -> Vec<(usize, Vec<u32>)> {
        let mut entries: Vec<(usize, u32)> = list
            .iter()
            .zip(rooms)
            .map(|(&slot, &room)| (usize::from(len[slot as usize]), slot, room))
            .filter(|&(m, _, room)| {
                let need = need(m);
                (min..=max).contains(&m)
                    && need <= m
                    && (need <= 1 || list.len() < SMALL || room == u8::MAX || usize::from(room) >= need)
            })
            .map(|(m, slot, _)| (m, slot))
            .collect();
        entries.sort();
        let mut out: Vec<(usize, Vec<u32>)> = Vec::new();
        for (m, slot) in entries {
            match out.last_mut() {
                Some((last, slots)) if *last == m => slots.push(slot),
                _ => out.push((m, vec![slot])),
            }
        }
        out
    }

    fn read(
        packed: &Packed,
        key: u32,
        min: usize,
        max: usize,
        need: impl Fn(usize) -> usize,
    ) -> Vec<(usize, Vec<u32>)> {
        let (mut slots, mut runs) = (Vec::new(), Vec::new());
        packed.runs(key, min, max, need, &mut slots, &mut runs);
        runs.into_iter().map(|(m, range)| (m, slots[range].to_vec())).collect()
    }

    /// Rooms of every value for `lists`: 0–255, most below the entry's
    /// word count, as `Side::rooms` gives them.
    fn rooms_of(lists: &[Vec<u32>], len: &[u16]) -> Vec<Vec<u8>> {
        lists
            .iter()
            .enumerate()
            .map(|(key, list)| {
                list.iter()
                    .map(|&slot| {
                        let m = u32::from(len[slot as usize]);
                        (slot.wrapping_mul(2_654_435_761).wrapping_add(key as u32) % (m + 2)).min(255) as u8
                    })
                    .collect()
            })
            .collect()
    }

    /// Lists of every shape: empty, one entry, just under and over
    /// [`SMALL`], runs of exactly one block, one block and one, gaps of
    /// one (0 bits) and gaps near 2^32, read for every window of lengths
    /// and rooms needed of every kind.
    fn check(lists: Vec<Vec<u32>>, len: Vec<u16>) {
        let rooms = rooms_of(&lists, &len);
        let packed = Packed::new(lists.clone(), &len, &rooms);
        let max_len = len.iter().copied().max().unwrap_or(0) as usize;
        let needs: [&dyn Fn(usize) -> usize; 6] = [&|_| 0, &|_| 1, &|m| m / 2, &|m| m, &|m| m + 1, &|_| 300];
        for (key, list) in lists.iter().enumerate() {
            let key = key as u32;
            assert_eq!(packed.heads[key as usize].count as usize, list.len());
            for (min, max) in
                [(0, usize::MAX), (0, 0), (1, 1), (2, 5), (max_len / 2, max_len), (max_len + 1, usize::MAX)]
            {
                for (i, need) in needs.iter().enumerate() {
                    assert_eq!(
                        read(&packed, key, min, max, need),
                        expected(list, &rooms[key as usize], &len, min, max, need),
                        "key {key}, {min}..={max}, need #{i}"
                    );
                }
            }
        }
        assert!(read(&packed, lists.len() as u32, 0, usize::MAX, |_| 0).is_empty());
    }

    #[test]
    fn lists_of_every_shape_read_back_by_length() {
        let slots = 300_000u32;
        let len: Vec<u16> = (0..slots)
            .map(|s| (s * 7 % 13) as u16 + u16::from(s % 1000 == 0) * 40 + u16::from(s % 777 == 0) * 300)
            .collect();
        let lists = vec![
            vec![],
            vec![5],
            (0..SMALL as u32 - 1).map(|i| i * 3).collect(),
            (0..SMALL as u32).collect(),
            (0..13 * BLOCK as u32).collect(),
            (0..13 * (BLOCK as u32 + 1) + 1).map(|i| i * 17).collect(),
            (0..slots).step_by(2).collect(),
            vec![0, 1, slots / 2, slots - 1],
            (0..200).map(|i| i * 1499).collect(),
            (0..380).map(|i| i * 777).collect(),
        ];
        check(lists, len);
    }

    #[test]
    fn gaps_near_the_largest_slot_read_back() {
        // Slots near u32::MAX cannot be backed by a length array; the
        // codec is checked on its own, every entry of one length.
        let packer = BitPacker4x::new();
        let first = u32::MAX - 3 * BLOCK as u32 * 1000;
        let gaps: Vec<u32> = (1..=BLOCK as u32).map(|i| first + i * 1000).collect();
        let bits = packer.num_bits_strictly_sorted(Some(first), &gaps);
        let mut block = [0u8; 4 * BLOCK];
        let size = packer.compress_strictly_sorted(Some(first), &gaps, &mut block, bits);
        let mut out = [0u32; BLOCK];
        packer.decompress_strictly_sorted(Some(first), &block[..size], &mut out, bits);
        assert_eq!(out.to_vec(), gaps);
        let mut bytes = Vec::new();
        varint(&mut bytes, u32::MAX as usize);
        varint(&mut bytes, 0);
        let mut data = &bytes[..];
        assert_eq!((read_varint(&mut data), read_varint(&mut data)), (u32::MAX as usize, 0));
        assert!(data.is_empty());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn random_lists_read_back_by_length(
            len in proptest::collection::vec(0u16..40, 1..3000),
            keys in proptest::collection::vec(proptest::collection::vec(any::<u16>(), 0..600), 1..12),
            min in 0usize..45,
            span in 0usize..45,
            need_shift in 0usize..2,
            need_less in 0usize..40,
        ) {
            let slots = len.len() as u32;
            let lists: Vec<Vec<u32>> = keys.iter().map(|list| {
                let mut list: Vec<u32> = list.iter().map(|&s| u32::from(s) % slots).collect();
                list.sort_unstable();
                list.dedup();
                list
            }).collect();
            let rooms = rooms_of(&lists, &len);
            let packed = Packed::new(lists.clone(), &len, &rooms);
            let need = |m: usize| (m + need_shift).saturating_sub(need_less);
            for (key, list) in lists.iter().enumerate() {
                prop_assert_eq!(
                    read(&packed, key as u32, min, min + span, need),
                    expected(list, &rooms[key], &len, min, min + span, need)
                );
            }
        }
    }
}
