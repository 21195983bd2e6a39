//! Reading one segment: the candidate search with its lossless filters,
//! template groups, the scan it is checked against, and concordance. The
//! whole index runs these over its segments (see [`super::Index`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::postings::Postings;
use super::segment::{Bits, Encoded, Group, KeyBits, List, Part, Side, ValueLists, NO_GROUP, PLACEABLE_KEYS};
use super::{Candidate, Found, Occurrences, Selection, UNKNOWN_WORD};
use crate::matching::align::{self, Cost, Relation};
use crate::matching::score::{guaranteed, unnormalized, word_distance};
use crate::text::{Lang, Token};
use crate::unit::UnitId;

impl Part {
    /// Every unit the selection keeps whose source side (the query's
    /// language) can score at least `min_score` (its alignment score, plus
    /// the bonus it may get, minus its points), found by aligning the query
    /// with every unit. The reference for [`Index::candidates`], in one segment.
    pub(super) fn scan(&self, query: &Encoded, selection: &Selection, min_score: u8) -> Vec<Candidate> {
        self.scan_slots(query, selection, min_score, 0..self.slots() as u32)
    }

    /// [`Part::scan`] of the units without words on the query's side: the
    /// only ones a query without words can match above 0.
    pub(super) fn scan_wordless(&self, query: &Encoded, selection: &Selection, min_score: u8) -> Vec<Candidate> {
        let side = self.side(query.lang);
        self.scan_slots(query, selection, min_score, side.wordless.iter().copied())
    }

    fn scan_slots(
        &self,
        query: &Encoded,
        selection: &Selection,
        min_score: u8,
        slots: impl Iterator<Item = u32>,
    ) -> Vec<Candidate> {
        let side = self.side(query.lang);
        let mut keys = Vec::new();
        slots
            .take_while(|_| !selection.cancel.is_cancelled())
            .filter_map(|slot| {
                let points = self.points(slot, selection)?;
                let words = side.words(slot);
                side.keys_of(words, &mut keys);
                let cost = side.cost(query, words, &keys);
                let best = upper(unnormalized(cost, query.len(), words.len()), selection.bonus, points);
                (best >= i32::from(min_score)).then_some(Candidate {
                    id: self.ids[slot as usize],
                    cost,
                    source_words: words.len(),
                    chars: side.chars(slot),
                    points,
                })
            })
            .collect()
    }

    /// Ids of every unit of this segment the selection keeps, into `ids`.
    pub(super) fn select(&self, selection: &Selection, ids: &mut Vec<UnitId>) {
        ids.extend(
            (0..self.ids.len() as u32)
                .take_while(|_| !selection.cancel.is_cancelled())
                .filter(|&slot| self.points(slot, selection).is_some())
                .map(|slot| self.ids[slot as usize]),
        );
    }

    /// [`Index::candidates`] in this segment (see there), against the
    /// threshold of the whole lookup, into `found`; with `best`, template
    /// groups hand over only their best members (see
    /// [`Index::best_candidates`]).
    pub(super) fn gather(
        &self,
        query: &Encoded,
        selection: &Selection,
        best: bool,
        threshold: &mut Threshold,
        found: &mut Found,
    ) {
        let n = query.len();
        // What the prefix and length filters need: the lowest score a unit
        // must reach before its bonus (its points only raise it).
        let before_bonus = |s: u8| s.saturating_sub(selection.bonus).min(100);
        let side = self.side(query.lang);
        let mut bag = Bag::of(&query.keys);
        // Each query word's list (see [`List`]) and key, rarest first (ties
        // by list, so that words sharing a list are next to each other).
        let mut words: Vec<(List, u32)> = Vec::with_capacity(n);
        for (&key, &count) in bag.words.iter().zip(&bag.counts) {
            words.extend((1..=count).map(|j| (side.list_of(key, j), key)));
        }
        words.sort_by_cached_key(|&(list, _)| (side.list_len(list), list));
        // The distinct lists, and how many query words each stands for.
        let mut distinct: Vec<(List, u32)> = Vec::with_capacity(n);
        for &(list, _) in &words {
            match distinct.last_mut() {
                Some((last, count)) if *last == list => *count += 1,
                _ => distinct.push((list, 1)),
            }
        }
        let by_count = counts_lists(side, &words, &distinct, n, before_bonus(threshold.value()));

        let Found { candidates, withheld } = found;
        // A unit that can make it: offered to the threshold, kept.
        let mut take = |threshold: &mut Threshold, slot: u32, cost: Cost, m: usize, points: u8| {
            let best = upper(unnormalized(cost, n, m), selection.bonus, points);
            if best < i32::from(threshold.value()) {
                return;
            }
            let lowest = i32::from(guaranteed(cost, n, m)) - i32::from(points) - i32::from(selection.unknown);
            threshold.offer(lowest.max(0) as u8);
            candidates.push(Candidate {
                id: self.ids[slot as usize],
                cost,
                source_words: m,
                chars: side.chars(slot),
                points,
            });
        };
        with_scratch(
            |Scratch { seen, groups, keys, values, touched, runs, slots, survivors, counts, lists, lengths }| {
                seen.start(self.slots());
                groups.start(side.groups.len());
                // The rest of a list entry, the unit in `slot` of `m` words,
                // once its key bits passed: false when the lookup is cancelled.
                let mut visit = |threshold: &mut Threshold, slot: u32, m: usize| -> bool {
                    if selection.cancel.is_cancelled() {
                        return false;
                    }
                    let group = side.group_of[slot as usize];
                    if group != NO_GROUP {
                        if groups.insert(group) {
                            let scratch = GroupScratch {
                                bag: &mut bag,
                                keys,
                                values,
                                touched,
                                withheld: best.then_some(&mut *withheld),
                            };
                            self.template_candidates(query, selection, group, threshold, scratch, &mut take);
                        }
                        return true;
                    }
                    if !seen.insert(slot) {
                        return true;
                    }
                    let Some(points) = self.points(slot, selection) else { return true };
                    // The score this unit's alignment must reach.
                    let s = i32::from(threshold.value()) + i32::from(points) - i32::from(selection.bonus);
                    if let Some(cost) = side.lone_cost(query, &mut bag, slot, s, keys) {
                        take(threshold, slot, cost, m, points);
                    }
                    true
                };
                // The count filter on a unit's key bits (against the query's
                // words it can still share, see below), for the least score
                // any unit needs: most units of a common word's list are
                // dropped here without reading their words. A template
                // group's members have its first member's keys.
                let passes = |key_bits: &KeyBits, threshold: &Threshold, slot: u32, m: usize| {
                    key_bits.can_reach(&side.key_bits[slot as usize], n, m, before_bonus(threshold.value()))
                };
                // Units of `m` words that passed a filter, read in turn: the
                // words of a unit a few ahead were asked for meanwhile (their
                // starts were asked for when the unit passed).
                let mut read_units = |threshold: &mut Threshold, survivors: &[u32], m: usize| -> bool {
                    for (i, &slot) in survivors.iter().enumerate() {
                        // A hint: never a bounds panic.
                        let ahead = survivors.get(i + WORDS_AHEAD).and_then(|&ahead| {
                            side.start.get(ahead as usize).and_then(|&start| side.arena.get(start as usize))
                        });
                        if let Some(word) = ahead {
                            prefetch(word);
                        }
                        if !visit(threshold, slot, m) {
                            return false;
                        }
                    }
                    true
                };
                if by_count {
                    // Every list of the query's keys, counted: see
                    // [`counts_lists`].
                    let s = before_bonus(threshold.value());
                    let (min_len, max_len) = length_bounds(n, s);
                    if lists.len() < distinct.len() {
                        lists.resize_with(distinct.len(), Default::default);
                    }
                    let lists = &mut lists[..distinct.len()];
                    for (&(list, _), (slots, runs)) in distinct.iter().zip(lists.iter_mut()) {
                        match side.postings_of(list) {
                            Some((Postings::Packed(packed), id)) => {
                                packed.runs(id, min_len, max_len, |_| 0, slots, runs)
                            }
                            _ => {
                                slots.clear();
                                runs.clear();
                            }
                        }
                    }
                    lengths.clear();
                    lengths.extend(lists.iter().flat_map(|(_, runs)| runs.iter().map(|(m, _)| *m)));
                    lengths.sort_unstable_by_key(|&m| (Reverse(n.min(m) * 1000 / n.max(m).max(1)), m));
                    lengths.dedup();
                    if counts.len() < self.slots() {
                        counts.resize(self.slots(), 0);
                    }
                    for &m in lengths.iter() {
                        let s = before_bonus(threshold.value());
                        let (min_len, max_len) = length_bounds(n, s);
                        if !(min_len..=max_len).contains(&m) {
                            continue;
                        }
                        // Keys in common a unit of `m` words needs, and the most
                        // any has.
                        let need = least_in_common(n, m, s);
                        let most: usize = distinct
                            .iter()
                            .zip(lists.iter())
                            .filter(|(_, list)| run_of(list, m).is_some())
                            .map(|(&(_, q), _)| q as usize)
                            .sum();
                        if most.min(m) < need {
                            continue;
                        }
                        // Each entry adds its key's count in the query (a bound
                        // on the words it shares through that key); a unit is
                        // kept when its sum reaches `need`, once.
                        survivors.clear();
                        for (&(_, q), list) in distinct.iter().zip(lists.iter()) {
                            let Some(run) = run_of(list, m) else { continue };
                            let q = q.min(u32::from(u8::MAX)) as u8;
                            for &slot in run {
                                let count = &mut counts[slot as usize];
                                let before = *count;
                                *count = before.saturating_add(q);
                                if usize::from(before) < need && usize::from(*count) >= need {
                                    survivors.push(slot);
                                }
                            }
                        }
                        for list in lists.iter() {
                            for &slot in run_of(list, m).unwrap_or_default() {
                                counts[slot as usize] = 0;
                            }
                        }
                        survivors.sort_unstable();
                        for batch in survivors.chunks(BATCH) {
                            for &slot in batch {
                                self.prefetch_unit(side, slot);
                            }
                            if !read_units(threshold, batch, m) {
                                return;
                            }
                        }
                    }
                    return;
                }
                // The query's words a unit met from here on can share: not
                // those of the lists read before, or it would have been met
                // there (see the rooms, below).
                let mut key_bits = KeyBits::of(&query.keys);
                for (position, &(list, _)) in words.iter().enumerate() {
                    let s = before_bonus(threshold.value());
                    if position >= prefix_len(n, s) {
                        break;
                    }
                    if let Some(&(before, key)) = position.checked_sub(1).map(|i| &words[i]) {
                        key_bits.remove(key);
                        if before == list {
                            continue;
                        }
                    }
                    let (min_len, max_len) = length_bounds(n, s);
                    let Some((postings, key)) = side.postings_of(list) else { continue };
                    let packed = match postings {
                        Postings::Packed(packed) => packed,
                        Postings::Open(lists) => {
                            // A segment readers saw before it was closed: its
                            // lists are ascending, read whole.
                            let Some(list) = lists.get(key as usize) else { continue };
                            for &slot in list {
                                let m = side.len[slot as usize] as usize;
                                if (min_len..=max_len).contains(&m)
                                    && passes(&key_bits, threshold, slot, m)
                                    && !read_units(threshold, &[slot], m)
                                {
                                    return;
                                }
                            }
                            continue;
                        }
                    };
                    // The list's runs of one length, the lengths that can score
                    // highest first: the threshold rises sooner, and the
                    // lengths it rules out meanwhile are not read. A unit
                    // not met in the lists before this one shares with the
                    // query only words from here on: at most the query's
                    // `n − position` and the entry's room (see
                    // `postings`); a unit met before was read or ruled out
                    // then, at a threshold no higher than now.
                    let left = n - position;
                    let need = |m: usize| {
                        let need = least_in_common(n, m, s);
                        if left < need {
                            usize::MAX
                        } else {
                            need
                        }
                    };
                    packed.runs(key, min_len, max_len, need, slots, runs);
                    let list = &slots[..];
                    runs.sort_by_key(|(m, _)| (Reverse(n.min(*m) * 1000 / n.max(*m).max(1)), *m));
                    // Entries are read in batches: first the key bits of every
                    // entry of the batch (asked for PREFETCH_AHEAD entries ahead,
                    // across runs, which are often only a few entries long), then
                    // the units that passed, whose other arrays were asked for
                    // meanwhile: their cache misses overlap instead of following
                    // one another. The bits are checked against the threshold at
                    // the batch's start, which can only let more units through.
                    let mut ahead = runs.iter().flat_map(|(_, run)| &list[run.clone()]);
                    let mut read = 0;
                    for &slot in ahead.by_ref().take(PREFETCH_AHEAD) {
                        prefetch(&side.key_bits[slot as usize]);
                    }
                    let mut asked = PREFETCH_AHEAD;
                    for (m, run) in runs.iter() {
                        read += run.len();
                        let (min_len, max_len) = length_bounds(n, before_bonus(threshold.value()));
                        if !(min_len..=max_len).contains(m) {
                            for &slot in ahead.by_ref().take((read + PREFETCH_AHEAD).saturating_sub(asked)) {
                                prefetch(&side.key_bits[slot as usize]);
                            }
                            asked = asked.max(read + PREFETCH_AHEAD);
                            continue;
                        }
                        for batch in list[run.clone()].chunks(BATCH) {
                            survivors.clear();
                            for &slot in batch {
                                if let Some(&slot) = ahead.next() {
                                    prefetch(&side.key_bits[slot as usize]);
                                }
                                if passes(&key_bits, threshold, slot, *m) {
                                    self.prefetch_unit(side, slot);
                                    survivors.push(slot);
                                }
                            }
                            asked += batch.len();
                            if !read_units(threshold, survivors, *m) {
                                return;
                            }
                        }
                    }
                }
            },
        );
    }

    /// Asks for what reading the unit in `slot` needs first.
    #[inline(always)]
    fn prefetch_unit(&self, side: &Side, slot: u32) {
        let at = slot as usize;
        prefetch(&side.group_of[at]);
        prefetch(&side.start[at]);
        prefetch(&self.memory_of[at]);
        prefetch(&self.facet_of[at]);
        prefetch(&self.time_of[at]);
    }

    /// [`Index::candidates`] for the members of a template group, which
    /// have the same keys and the same word cost against the query: the
    /// key filters and the word cost are computed once, for the lowest
    /// threshold any member can have (no points); then each member's
    /// placeables are counted. When the query pairs with the template word
    /// for word (no word cost), the alignment is the diagonal and a member's
    /// placeables are those of its values that differ from the query's
    /// words at the same places; otherwise, unless the cheapest alignment
    /// pairs no placeables, each member is aligned as a lone unit would be.
    ///
    /// With `scratch.withheld` (see [`Index::best_candidates`]) and the
    /// diagonal, only the best members are handed over (see
    /// [`Index::best_members`]).
    fn template_candidates(
        &self,
        query: &Encoded,
        selection: &Selection,
        group: u32,
        threshold: &mut Threshold,
        scratch: GroupScratch<'_>,
        take: &mut impl FnMut(&mut Threshold, u32, Cost, usize, u8),
    ) {
        let GroupScratch { bag, keys, values, touched, withheld } = scratch;
        let n = query.len();
        let side = self.side(query.lang);
        let group = &side.groups[group as usize];
        let words = side.words(group.members[0]);
        let m = words.len();
        side.keys_of(words, keys);
        let s = i32::from(threshold.value()) - i32::from(selection.bonus);
        if s > 100 {
            return;
        }
        if !can_reach(query, bag, keys, s.max(0) as u8) {
            return;
        }
        let relate = |same_placeables: bool| {
            let keys = &*keys;
            move |i: usize, j: usize| template_relation(query, keys, words, same_placeables, i, j)
        };
        // The least any member can cost: every placeable the same as the
        // query's.
        let least = align::cost(n, m, relate(true));
        if upper(unnormalized(least, n, m), selection.bonus, 0) < i32::from(threshold.value()) {
            return;
        }
        let diagonal = least.tenths == 0;
        values.clear();
        values.extend(group.places.iter().map(|&p| if diagonal { query.surfaces[p as usize] } else { UNKNOWN_WORD }));
        let differing = |i: usize| group.differing(i, values);
        if let (true, Some(withheld)) = (diagonal, withheld) {
            let floor = i32::from(threshold.value());
            let k = threshold.k;
            let reading = Reading { group, values: &values[..], selection, floor, k, n, m };
            if let Some(held) = self.best_members(&reading, touched) {
                if let Some(held) = held {
                    *withheld = Some(withheld.map_or(held, |w: u8| w.max(held)));
                }
                for &i in touched.iter() {
                    let slot = group.members[i as usize];
                    let Some(points) = self.points(slot, selection) else { continue };
                    take(threshold, slot, differing(i as usize), m, points);
                }
                return;
            }
        }
        // Off the diagonal: what a member costs when none of its
        // placeables is one of the query's words (every placeable pair then
        // differs). When that alignment pairs no placeables, every member
        // costs `least`.
        let most = (!diagonal).then(|| align::cost(n, m, relate(false)));
        if let Some(most) = most.filter(|most| most.placeables > 0) {
            // The members holding one of the query's placeables at some
            // place (through the groups' value lists) are aligned; every
            // other member costs `most`, unaligned, and none of them is
            // read when `most` cannot reach the threshold (`take` would
            // drop each: the threshold only rises).
            touched.clear();
            for (i, &key) in query.keys.iter().enumerate() {
                if key >= PLACEABLE_KEYS {
                    continue;
                }
                for value_lists in group.by_value.iter() {
                    if let Some((last, _)) = group.holding(value_lists, query.surfaces[i]) {
                        touched.extend(value_lists.members_from(last));
                    }
                }
            }
            touched.sort_unstable();
            touched.dedup();
            let mut aligned = touched.iter().copied().peekable();
            let others = upper(unnormalized(most, n, m), selection.bonus, 0) >= i32::from(threshold.value());
            let members: &mut dyn Iterator<Item = u32> =
                if others { &mut (0..group.members.len() as u32) } else { &mut touched.iter().copied() };
            for i in members {
                if selection.cancel.is_cancelled() {
                    return;
                }
                let slot = group.members[i as usize];
                let holds_query_value = aligned.next_if_eq(&i).is_some();
                let Some(points) = self.points(slot, selection) else { continue };
                let cost = if holds_query_value { side.cost(query, side.words(slot), keys) } else { most };
                take(threshold, slot, cost, m, points);
            }
            return;
        }
        for (i, &slot) in group.members.iter().enumerate() {
            if selection.cancel.is_cancelled() {
                return;
            }
            let Some(points) = self.points(slot, selection) else { continue };
            let cost = if diagonal { differing(i) } else { least };
            take(threshold, slot, cost, m, points);
        }
    }

    /// The members of a template group worth handing over when the query
    /// pairs with the template word for word (`values`: its words at the
    /// group's places), in `chosen`: those sharing a placeable with the
    /// query, found through [`Group::by_value`], at the highest bounds that
    /// hold `k` of them. Returns the highest bound held back (`Some(None)`:
    /// none), or `None` when every member must be read.
    ///
    /// A member not in the lists read differs from the query at each of
    /// their places, so its bound is known without reading it: when the
    /// members read already fill the top above that bound, the others are
    /// held back unread. Places where most members share the query's value
    /// (a name every unit of the template has) are never read; the rarest
    /// values are read first, and the commonest last, only when needed.
    fn best_members(&self, reading: &Reading<'_>, chosen: &mut Vec<u32>) -> Option<Option<u8>> {
        let Reading { group, values, selection, floor, n, m, .. } = *reading;
        // Places where no member has the query's value differ for all.
        let mut differ_for_all = 0;
        // (count, last member, lists) per place read.
        let mut lists: Vec<(u32, u32, &ValueLists)> = Vec::with_capacity(values.len());
        for (value_lists, value) in group.by_value.iter().zip(values) {
            match group.holding(value_lists, *value) {
                None => differ_for_all += 1,
                Some((last, count)) if count as usize <= group.members.len() / 2 => {
                    lists.push((count, last, value_lists))
                }
                Some(_) => {}
            }
        }
        lists.sort_unstable_by_key(|&(count, last, _)| (count, last));
        let but_the_commonest = (lists.len() >= 2).then(|| lists.len() - 1);
        for read in but_the_commonest.into_iter().chain([lists.len()]) {
            chosen.clear();
            for &(_, last, value_lists) in &lists[..read] {
                chosen.extend(value_lists.members_from(last));
            }
            chosen.sort_unstable();
            chosen.dedup();
            let unread = Cost { tenths: 0, placeables: differ_for_all + read as u32 };
            let unread = upper(unnormalized(unread, n, m), selection.bonus, 0);
            let unread = (unread >= floor && group.members.len() > chosen.len()).then_some(unread);
            if let Some(held) = self.cut_members(reading, unread, chosen) {
                return Some(held);
            }
        }
        None
    }

    /// Keeps in `chosen` the members at the highest bounds that hold `k`
    /// of them, when those are above `unread` (the most the members not
    /// chosen can score); returns the highest bound left out, or `None`
    /// when the members not chosen could make the top.
    fn cut_members(&self, reading: &Reading<'_>, unread: Option<i32>, chosen: &mut Vec<u32>) -> Option<Option<u8>> {
        let Reading { group, values, selection, floor, k, n, m } = *reading;
        let mut count = [0usize; 256];
        let mut bounds = Vec::with_capacity(chosen.len());
        for &i in chosen.iter() {
            let bound = self
                .points(group.members[i as usize], selection)
                .map(|points| upper(unnormalized(group.differing(i as usize, values), n, m), selection.bonus, points));
            let bound = bound.filter(|&b| b >= floor).map(|b| b.min(255) as u8);
            if let Some(b) = bound {
                count[usize::from(b)] += 1;
            }
            bounds.push(bound);
        }
        // The lowest bound handed over: the highest at which the members
        // at or above it are `k`.
        let mut above = 0;
        let mut lowest = None;
        for bound in (0..=255u8).rev() {
            above += count[usize::from(bound)];
            if above >= k {
                lowest = Some(bound);
                break;
            }
        }
        let lowest = match (lowest, unread) {
            (Some(lowest), Some(unread)) if i32::from(lowest) > unread => lowest,
            (Some(lowest), None) => lowest,
            (None, None) => 0,
            _ => return None,
        };
        let held = (0..lowest).rev().find(|&b| count[usize::from(b)] > 0);
        let held = held.max(unread.map(|b| b as u8));
        let mut at = 0;
        chosen.retain(|_| {
            at += 1;
            bounds[at - 1].is_some_and(|b| b >= lowest)
        });
        Some(held)
    }

    /// The units of this segment the selection keeps whose side in `lang`
    /// holds the words of `phrase` in a row (see [`Index::concordance`]):
    /// the newest `limit + 1` strictly after the cursor `after` (one more
    /// tells whether a next page exists), in no particular order.
    pub(super) fn concordance(
        &self,
        phrase: &[Token],
        lang: Lang,
        selection: &Selection,
        after: Option<(i64, UnitId)>,
        limit: usize,
    ) -> Vec<Occurrences> {
        let side = self.side(lang);
        let query = side.encode(phrase, lang);
        if limit == 0
            || query.is_empty()
            || query
                .keys
                .iter()
                .zip(&query.surfaces)
                .any(|(&k, &w)| k == UNKNOWN_WORD || (k < PLACEABLE_KEYS && w == UNKNOWN_WORD))
        {
            return Vec::new();
        }
        let slots = self.phrase_slots(side, &query);
        let matches = |word: u32, i: usize| {
            let key = query.keys[i];
            if key < PLACEABLE_KEYS {
                word == query.surfaces[i]
            } else {
                side.key_of[word as usize] == key
            }
        };
        let at = |slot: u32| -> Vec<usize> {
            let words = side.words(slot);
            (0..=words.len().saturating_sub(query.len()))
                .filter(|&start| words.len() >= query.len() && (0..query.len()).all(|i| matches(words[start + i], i)))
                .collect()
        };
        // The newest `limit + 1` hits after the cursor, smallest on top.
        let mut newest: BinaryHeap<Reverse<((i64, UnitId), u32)>> = BinaryHeap::with_capacity(limit + 2);
        for slot in slots {
            if selection.cancel.is_cancelled() {
                break;
            }
            let place = (self.time_of[slot as usize], self.ids[slot as usize]);
            if after.is_some_and(|cursor| place >= cursor)
                || (newest.len() > limit && newest.peek().is_some_and(|Reverse((least, _))| place <= *least))
                || self.points(slot, selection).is_none()
                || at(slot).is_empty()
            {
                continue;
            }
            newest.push(Reverse((place, slot)));
            if newest.len() > limit + 1 {
                newest.pop();
            }
        }
        newest
            .into_iter()
            .map(|Reverse(((time_ms, id), slot))| Occurrences { id, time_ms, lang, at: at(slot) })
            .collect()
    }

    /// The slots that may hold the phrase: the list of its rarest key that
    /// is not a placeable kind holds every unit with the phrase (a template
    /// group by its first member, here read as its members). With none,
    /// every slot is read.
    fn phrase_slots<'a>(&'a self, side: &'a Side, query: &Encoded) -> Box<dyn Iterator<Item = u32> + 'a> {
        let rarest = query.keys.iter().copied().filter(|&k| k >= PLACEABLE_KEYS).min_by_key(|&k| side.frequency(k));
        match rarest {
            Some(key) => {
                let mut list = Vec::new();
                side.postings.list(key, &mut list);
                Box::new(list.into_iter().flat_map(|slot| {
                    let members: &[u32] = match side.group_of[slot as usize] {
                        NO_GROUP => &[],
                        group => &side.groups[group as usize].members,
                    };
                    members.is_empty().then_some(slot).into_iter().chain(members.iter().copied())
                }))
            }
            None => Box::new(0..self.slots() as u32),
        }
    }
}

/// How query word `i` relates to word `j` of a template (`keys`, `words`):
/// a placeable equal to the query's word is the same; with
/// `same_placeables`, every placeable of the right kind counts as the same
/// (the least any member can cost).
#[inline]
fn template_relation(
    query: &Encoded,
    keys: &[u32],
    words: &[u32],
    same_placeables: bool,
    i: usize,
    j: usize,
) -> Relation {
    if keys[j] >= PLACEABLE_KEYS && query.surfaces[i] == words[j] {
        Relation::Same
    } else if query.keys[i] != keys[j] {
        Relation::Different
    } else if keys[j] >= PLACEABLE_KEYS {
        Relation::Variant
    } else if same_placeables {
        Relation::Same
    } else {
        Relation::Placeable
    }
}

/// The count and distance filters: whether a unit with these keys can
/// reach `s` (the score its alignment must reach): with `longest` the
/// longer of the query and the unit, the keys in common must be at least
/// `longest − max_distance`, and the word distance over keys at most
/// `max_distance = ⌊longest·(100−s)/100⌋`.
#[inline]
pub(super) fn can_reach(query: &Encoded, bag: &mut Bag, keys: &[u32], s: u8) -> bool {
    let max_distance = max_distance(query.len(), keys.len(), s);
    enough_in_common(bag, keys.iter().copied(), keys.len(), max_distance)
        && word_distance(&query.keys, keys) <= max_distance
}

/// The count filter of [`can_reach`] alone, on the keys of an `m`-word
/// unit as they are read (so that a unit it drops need not have its keys
/// collected): at least `max(n, m) − max_distance` in common with the query.
#[inline]
pub(super) fn enough_in_common(
    bag: &mut Bag,
    keys: impl IntoIterator<Item = u32>,
    m: usize,
    max_distance: usize,
) -> bool {
    bag.overlap(keys) + max_distance >= bag.len.max(m)
}

/// The most word edits an `n`-word query and an `m`-word unit can be apart
/// and still score `s`: `⌊max(n, m)·(100−s)/100⌋`.
#[inline]
pub(super) fn max_distance(n: usize, m: usize, s: u8) -> usize {
    n.max(m) * (100 - s.min(100) as usize) / 100
}

/// Least words in common (at least one) an `m`-word unit needs with an
/// `n`-word query to score `s`: `max(n, m) − max_distance`.
fn least_in_common(n: usize, m: usize, s: u8) -> usize {
    (n.max(m) - max_distance(n, m, s)).max(1)
}

/// The most a unit can score: its alignment score, plus the bonus when
/// that is 100, minus its points; never below 0, where scores stop (a unit
/// that loses more points than it has still matches at 0).
pub(super) fn upper(score: u8, bonus: u8, points: u8) -> i32 {
    let bonus = if score == 100 { bonus } else { 0 };
    (i32::from(score) + i32::from(bonus) - i32::from(points)).max(0)
}

/// Least words in common a unit needs with an `n`-word query to score `s`:
/// `⌈n·s/100⌉` (the bound for the shortest `max(n, m)`, which is `n`).
pub(super) fn required_overlap(n: usize, s: u8) -> usize {
    (n * s as usize).div_ceil(100)
}

/// How many of the rarest query words a qualifying unit must share one of.
pub(super) fn prefix_len(n: usize, s: u8) -> usize {
    n + 1 - required_overlap(n, s).max(1)
}

/// The word counts `m` a unit can have and still score `s` (`s ≥ 1`).
pub(super) fn length_bounds(n: usize, s: u8) -> (usize, usize) {
    let s = s.max(1) as usize;
    ((n * s).div_ceil(100), n * 100 / s)
}

/// The query's words as a multiset, for counting words in common.
pub(super) struct Bag {
    /// Number of words, repeats included.
    len: usize,
    /// The words' bits, to pass over a word not among them at once.
    bits: Bits,
    /// Distinct words, sorted.
    words: Vec<u32>,
    counts: Vec<u32>,
    /// Per word, how many the unit being counted has used up.
    used: Vec<u32>,
}

impl Bag {
    pub(super) fn of(query: &[u32]) -> Bag {
        let mut sorted = query.to_vec();
        sorted.sort_unstable();
        let mut words: Vec<u32> = Vec::with_capacity(sorted.len());
        let mut counts: Vec<u32> = Vec::with_capacity(sorted.len());
        for w in sorted {
            match words.last() {
                Some(&last) if last == w => *counts.last_mut().expect("pushed with its word") += 1,
                _ => {
                    words.push(w);
                    counts.push(1);
                }
            }
        }
        let used = vec![0; words.len()];
        Bag { len: query.len(), bits: Bits::of(&words), words, counts, used }
    }

    /// Words in common, as multisets, between the query and `source`.
    pub(super) fn overlap(&mut self, source: impl IntoIterator<Item = u32>) -> usize {
        self.used.fill(0);
        let mut common = 0;
        for w in source {
            // Most of a unit's words are not the query's: their bit says so.
            if !self.bits.may_hold(w) {
                continue;
            }
            if let Ok(i) = self.words.binary_search(&w) {
                if self.used[i] < self.counts[i] {
                    self.used[i] += 1;
                    common += 1;
                }
            }
        }
        common
    }
}

/// The rising threshold: `min_score`, or the `k`-th best score guaranteed
/// so far when higher (a candidate tied with it may still enter the top).
pub(super) struct Threshold {
    floor: u8,
    k: usize,
    best: BinaryHeap<Reverse<u8>>,
}

impl Threshold {
    pub(super) fn new(floor: u8, k: usize) -> Threshold {
        Threshold { floor, k, best: BinaryHeap::with_capacity(k.min(128) + 1) }
    }

    pub(super) fn value(&self) -> u8 {
        match self.best.peek() {
            Some(&Reverse(kth)) if self.best.len() == self.k => kth.max(self.floor),
            _ => self.floor,
        }
    }

    pub(super) fn offer(&mut self, guaranteed: u8) {
        self.best.push(Reverse(guaranteed));
        if self.best.len() > self.k {
            self.best.pop();
        }
    }
}

/// A template group being read on the diagonal (see
/// [`Index::best_members`]): the query's words at its places, the lowest
/// bound a member needs (`floor`), the top's size `k`, and the query's and
/// the template's word counts.
#[derive(Clone, Copy)]
struct Reading<'a> {
    group: &'a Group,
    values: &'a [u32],
    selection: &'a Selection,
    floor: i32,
    k: usize,
    n: usize,
    m: usize,
}

/// Whether [`Part::gather`] reads every list of the query's keys and counts
/// each unit's keys in common as it goes (ScanCount: a unit of `m` words is
/// read when the query's counts of the keys it is listed under reach
/// `max(n, m) − max_distance`), rather than only the lists of the prefix
/// filter, each entry checked on its key bits.
///
/// Counting reads lists in order and touches one byte per entry in an
/// array that fits the processor's cache; a key bits check is a miss in a
/// 32-byte-per-unit array. When every query word is common (stop words,
/// names a corpus repeats), the prefix is most of the lists anyway, and
/// counting them all costs less than checking the prefix's entries; when a
/// rare word leads the query, its short list is the whole prefix and
/// counting would read the common words' long lists for nothing. So:
/// counting when the prefix's lists hold at least [`COUNT_MIN_ENTRIES`]
/// entries and all the lists at most [`COUNT_RATIO`] times as many.
fn counts_lists(side: &Side, words: &[(List, u32)], distinct: &[(List, u32)], n: usize, s: u8) -> bool {
    if !side.packed() || n > MAX_COUNTED {
        return false;
    }
    #[cfg(test)]
    if let Some(forced) = FORCE_COUNT.get() {
        return forced;
    }
    let mut prefix = 0;
    for (position, &(list, _)) in words.iter().enumerate().take(prefix_len(n, s)) {
        if position == 0 || words[position - 1].0 != list {
            prefix += side.list_len(list);
        }
    }
    let all: usize = distinct.iter().map(|&(list, _)| side.list_len(list)).sum();
    // One list alone (a one-word query, a number, a word repeated) has
    // nothing to count: every entry would pass.
    distinct.len() > 1 && prefix >= COUNT_MIN_ENTRIES && all <= COUNT_RATIO * prefix
}

/// A decoded list's entries for units of `m` words (see [`Scratch::lists`]).
fn run_of(list: &DecodedList, m: usize) -> Option<&[u32]> {
    let (slots, runs) = list;
    let at = runs.binary_search_by_key(&m, |(length, _)| *length).ok()?;
    Some(&slots[runs[at].1.clone()])
}

/// A list's entries of the lengths a lookup reads, and their runs of one
/// length: (length, range of the entries).
type DecodedList = (Vec<u32>, Vec<(usize, std::ops::Range<usize>)>);

/// See [`counts_lists`].
const COUNT_MIN_ENTRIES: usize = 2048;
/// See [`counts_lists`].
const COUNT_RATIO: usize = 4;
/// The longest query [`counts_lists`] counts for (its counts fit a byte).
const MAX_COUNTED: usize = 64;

#[cfg(test)]
thread_local! {
    /// Tests: `Some(true)` makes [`Part::gather`] count every list,
    /// `Some(false)` read the prefix's; `None` lets [`counts_lists`] choose.
    pub(super) static FORCE_COUNT: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// How many list entries ahead of the one being read [`Part::gather`]
/// asks for the key bits of: their reads, one cache miss each on a large
/// segment, then overlap instead of following one another.
const PREFETCH_AHEAD: usize = 16;

/// How many units ahead of the one being read [`Part::gather`] asks for
/// the words of.
const WORDS_AHEAD: usize = 2;

/// How many list entries [`Part::gather`] filters on their key bits before
/// reading the units that passed.
const BATCH: usize = 32;

/// Asks the processor to bring `value` into its cache ahead of its use (a
/// hint; a no-op where no stable instruction exists for it).
#[inline(always)]
fn prefetch<T>(value: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints at an address to cache: it reads
    // nothing into the program and cannot fault; `value` is a reference.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>((value as *const T).cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = value;
}

/// The working memory of one lookup (see [`with_scratch`]).
#[derive(Default)]
struct Scratch {
    seen: Seen,
    /// Which template groups the lookup has checked.
    groups: Seen,
    /// The key ids of the unit being checked.
    keys: Vec<u32>,
    /// The query's words at a group's placeable positions.
    values: Vec<u32>,
    /// Members of a template group (see [`Index::best_members`]).
    touched: Vec<u32>,
    /// One list's runs of units of one length: (length, range of `slots`).
    runs: Vec<(usize, std::ops::Range<usize>)>,
    /// One list's entries of the lengths a lookup reads, unpacked.
    slots: Vec<u32>,
    /// The entries of a batch whose key bits passed.
    survivors: Vec<u32>,
    /// Per slot, the keys in common counted so far (see [`counts_lists`]);
    /// all 0 between lookups.
    counts: Vec<u8>,
    /// Per distinct query key, its list's entries in the length window and
    /// their runs (see [`counts_lists`]).
    lists: Vec<DecodedList>,
    /// The word counts those lists hold, the likeliest to score first.
    lengths: Vec<usize>,
}

/// The parts of [`Scratch`] a template group is checked with, and where
/// it reports the members it held back (`None`: hand over all of them).
struct GroupScratch<'a> {
    /// The query's keys as a multiset (the lookup's own).
    bag: &'a mut Bag,
    keys: &'a mut Vec<u32>,
    values: &'a mut Vec<u32>,
    touched: &'a mut Vec<u32>,
    withheld: Option<&'a mut Option<u8>>,
}

/// Which slots one lookup has seen: a stamp per slot, reset by bumping the
/// epoch, so a lookup never clears a million-entry array.
#[derive(Default)]
struct Seen {
    stamps: Vec<u32>,
    epoch: u32,
}

impl Seen {
    fn start(&mut self, slots: usize) {
        if self.stamps.len() < slots {
            self.stamps.resize(slots, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamps.fill(0);
            self.epoch = 1;
        }
    }

    /// True the first time a slot is seen in this lookup.
    fn insert(&mut self, slot: u32) -> bool {
        let stamp = &mut self.stamps[slot as usize];
        if *stamp == self.epoch {
            return false;
        }
        *stamp = self.epoch;
        true
    }
}

/// Working memory kept between lookups: each holds 4 bytes per unit (1M
/// units: 4 MB), so it is taken per lookup rather than kept per thread
/// (the blocking pool may run hundreds), and at most one per core is kept
/// idle.
static SCRATCH: std::sync::Mutex<Vec<Scratch>> = std::sync::Mutex::new(Vec::new());

/// Runs `f` with a lookup's working memory from the pool, and returns it.
fn with_scratch<T>(f: impl FnOnce(&mut Scratch) -> T) -> T {
    static KEPT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    let pool = || SCRATCH.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut scratch = pool().pop().unwrap_or_default();
    let out = f(&mut scratch);
    let kept = *KEPT.get_or_init(|| std::thread::available_parallelism().map_or(2, usize::from));
    let mut pool = pool();
    if pool.len() < kept {
        pool.push(scratch);
    }
    out
}

impl Part {
    /// The sub-segment hits of this segment (see [`super::Index::subsegments`]):
    /// every unit the selection keeps whose words on the query's side are
    /// the query's words `start..start + len` (equal surfaces), for every
    /// span with `len < n` words, `len ≤ MAX_SUBSEGMENT_WORDS`, and
    /// `len ≥ 2` or `singles[start]`.
    ///
    /// Each span's template (word ids, placeable kinds) is looked up in the
    /// side's `templates`: a lone unit is compared word by word, a template
    /// group's members are read from the value lists of the span's rarest
    /// placeable value. The units whose template hash collided with another
    /// template (`Side::collided`, almost always none) are compared with
    /// every span. So the search is exact, and costs at most
    /// `n × MAX_SUBSEGMENT_WORDS` hash probes per segment, whatever the
    /// memory holds, plus the hits.
    pub(super) fn subsegments(
        &self,
        query: &Encoded,
        singles: &[bool],
        selection: &Selection,
        out: &mut Vec<super::SubsegmentHit>,
    ) {
        use super::segment::TemplateEntry;
        use super::MAX_SUBSEGMENT_WORDS;
        let side = self.side(query.lang);
        let n = query.len();
        let surfaces = &query.surfaces;
        // Per query word, its template value; `None` when no unit of this
        // segment has the word (no span holding it can be a unit).
        let values: Vec<Option<u64>> = surfaces
            .iter()
            .map(|&w| {
                (w != UNKNOWN_WORD).then(|| {
                    let key = side.key_of[w as usize];
                    if key < PLACEABLE_KEYS {
                        1 << 32 | u64::from(key)
                    } else {
                        u64::from(w)
                    }
                })
            })
            .collect();
        let allowed = |start: usize, len: usize| len < n && len <= MAX_SUBSEGMENT_WORDS && (len >= 2 || singles[start]);
        let mut hit = |slot: u32, start: usize, len: usize| {
            if let Some(points) = self.points(slot, selection) {
                let at = slot as usize;
                out.push(super::SubsegmentHit { id: self.ids[at], start, len, points, time_ms: self.time_of[at] });
            }
        };
        let mut template: Vec<u64> = Vec::with_capacity(MAX_SUBSEGMENT_WORDS);
        for start in 0..n {
            if selection.cancel.is_cancelled() {
                return;
            }
            template.clear();
            for end in start..n.min(start + MAX_SUBSEGMENT_WORDS) {
                let Some(value) = values[end] else { break };
                template.push(value);
                let len = end + 1 - start;
                if !allowed(start, len) {
                    continue;
                }
                let span = &surfaces[start..=end];
                match side.template_entry(&template) {
                    None => {}
                    Some(TemplateEntry::Slot(slot)) if side.words(slot) == span => hit(slot, start, len),
                    Some(TemplateEntry::Slot(_)) => {}
                    Some(TemplateEntry::Group(group)) => {
                        let group = &side.groups[group as usize];
                        if side.words(group.members[0]).len() != len || side.template(group.members[0]) != template {
                            continue; // another template with the same hash
                        }
                        let wanted: Vec<u32> = group.places.iter().map(|&p| span[p as usize]).collect();
                        if wanted.is_empty() {
                            for &slot in &group.members {
                                hit(slot, start, len);
                            }
                            continue;
                        }
                        // The place whose wanted value the fewest members hold.
                        let Some((place, (last, _))) = group
                            .by_value
                            .iter()
                            .zip(&wanted)
                            .map(|(lists, &value)| group.holding(lists, value))
                            .enumerate()
                            .map(|(i, found)| found.map(|f| (i, f)))
                            .collect::<Option<Vec<_>>>()
                            .and_then(|found| found.into_iter().min_by_key(|&(_, (_, count))| count))
                        else {
                            continue; // some wanted value no member holds
                        };
                        for member in group.by_value[place].members_from(last) {
                            let i = member as usize;
                            if group.differing(i, &wanted).placeables == 0 {
                                hit(group.members[i], start, len);
                            }
                        }
                    }
                }
            }
        }
        for &slot in &side.collided {
            let words = side.words(slot);
            let len = words.len();
            if len == 0 || len > n {
                continue;
            }
            for start in 0..=n - len {
                if allowed(start, len) && surfaces[start..start + len] == *words {
                    hit(slot, start, len);
                }
            }
        }
    }
}
