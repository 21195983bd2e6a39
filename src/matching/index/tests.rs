use proptest::prelude::*;

use super::search::{length_bounds, prefix_len, upper, Bag, Threshold};
use super::segment::{List, Side, NO_GROUP};
use super::*;
use crate::matching::score::fuzzy_score;
use crate::matching::score::{guaranteed, unnormalized};
use crate::matching::{MetadataField, Preference, Scope, UnitFilter};

/// A small vocabulary, so that random sentences share words often, with
/// variants (model/models, شركة/والشركة/الشركات) and placeables (numbers, and
/// Latin names inside Arabic).
const VOCAB: [&str; 18] = [
    "the",
    "model",
    "models",
    "new",
    "شركة",
    "والشركة",
    "الشركات",
    "نموذج",
    "جديد",
    "Qwen-7B",
    "2023",
    "٢٠٢٤",
    "a",
    "في",
    "من",
    "Llama",
    "Meta's",
    "meta",
];

fn unit(id: UnitId, memory: &str, arabic: &[usize], english: &[usize]) -> Unit {
    let text = |w: &[usize]| w.iter().map(|&i| VOCAB[i]).collect::<Vec<_>>().join(" ");
    Unit { id, memory: memory.into(), arabic: text(arabic), english: text(english), ..Default::default() }
}

fn sorted(mut c: Vec<Candidate>) -> Vec<Candidate> {
    c.sort_by_key(|c| c.id);
    c
}

fn sentence() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..VOCAB.len(), 0..14)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// With no top-k to fill, the index finds exactly what the scan finds.
    #[test]
    fn candidates_equal_the_scan(
        units in prop::collection::vec((sentence(), sentence(), 0..3usize), 1..80),
        deleted in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        query in sentence(),
        min_score in 0u8..=101,
        arabic in any::<bool>(),
        memory_filter in prop::option::of(0..3u32),
        memory_points in 0u8..12,
        domain_filter in any::<bool>(),
        domain_points in 0u8..12,
        bonus in 0u8..=1,
        segment_slots in 1usize..40,
        group in 1usize..12,
        max_results in 1usize..6,
    ) {
        // Small segments, closed every `group` units as the writer does
        // after each group, and merged: many segments, and merges that
        // drop deleted units.
        let mut index = Index::with_segment_slots(segment_slots);
        for (i, (ar, en, memory)) in units.iter().enumerate() {
            let domain = if i % 3 == 0 { "tech" } else { "sport" };
            index.insert(&Unit { domain: domain.into(), ..unit(i as u64 + 1, &format!("m{memory}"), ar, en) });
            if i % group == 0 {
                if let Some(d) = deleted.get(i / group) {
                    index.remove(d.index(units.len()) as u64 + 1);
                }
                index.snapshot();
                index.tidy();
            }
        }
        for d in &deleted {
            index.remove(d.index(units.len()) as u64 + 1);
        }
        let lang = if arabic { Lang::Arabic } else { Lang::English };
        let text = query.iter().map(|&i| VOCAB[i]).collect::<Vec<_>>().join(" ");
        let q = index.encode_text(&text, lang);
        let memories = memory_filter.and_then(|m| index.memory_id(&format!("m{m}"))).map(|m| vec![m]);
        let scope = Scope {
            memories,
            memory_points: index.memory_id("m1").map(|m| (m, memory_points)).into_iter().collect(),
            filter: UnitFilter { domains: if domain_filter { vec!["tech".into()] } else { vec![] }, ..UnitFilter::default() },
            preferences: vec![Preference { field: MetadataField::Domain, value: "sport".into(), points: domain_points }],
            bonus,
            ..Scope::default()
        };
        let selection = index.selection(&scope);
        let scan = index.scan(&q, &selection, min_score);
        // Either way of reading the lists (the prefix's, checked on key
        // bits, or every list counted), the same candidates, and a top-k
        // that leaves out only units that cannot make it.
        for count in [false, true] {
            super::search::FORCE_COUNT.set(Some(count));
            let found = index.candidates(&q, &selection, min_score, usize::MAX);
            let top = index.candidates(&q, &selection, min_score, max_results);
            super::search::FORCE_COUNT.set(None);
            prop_assert_eq!(sorted(found), sorted(scan.clone()), "counting: {}", count);
            check_top(&scan, &top, q.len(), &scope, max_results)?;
        }
        let found = index.candidates(&q, &selection, min_score, usize::MAX);
        prop_assert_eq!(sorted(found.clone()), sorted(scan));
        // One segment gives the same answer.
        let compacted = Index { segment_slots: SEGMENT_SLOTS, ..index.clone() }.compacted();
        prop_assert!(compacted.segments() <= 1);
        prop_assert_eq!(compacted.deleted_slots(), 0);
        prop_assert_eq!(compacted.len(), index.len());
        prop_assert_eq!(compacted.memory_counts(), index.memory_counts());
        let q = compacted.encode_text(&text, lang);
        let selection = compacted.selection(&scope);
        prop_assert_eq!(sorted(compacted.candidates(&q, &selection, min_score, usize::MAX)), sorted(found));
        let ids = |page: ConcordancePage| page.hits.into_iter().map(|h| (h.id, h.at)).collect::<Vec<_>>();
        let phrase = tokens(&text, lang);
        prop_assert_eq!(
            ids(compacted.concordance(&phrase, lang, &compacted.selection(&Scope::default()), None, 1000)),
            ids(index.concordance(&phrase, lang, &index.selection(&Scope::default()), None, 1000))
        );
        prop_assert_eq!(
            compacted.conflicts(&compacted.selection(&Scope::default())),
            index.conflicts(&index.selection(&Scope::default()))
        );
    }
}

#[test]
fn filter_bounds_match_their_definitions() {
    // For every n, s and m: a unit of m words passes the length filter iff
    // some distance could still give a score of at least s.
    for n in 1..40usize {
        for s in 1..=100u8 {
            let (lo, hi) = length_bounds(n, s);
            for m in 0..200usize {
                let reachable = fuzzy_score(n.abs_diff(m), n, m) >= s || (n == m);
                assert_eq!((lo..=hi).contains(&m), reachable, "n={n} s={s} m={m}");
            }
            assert!(prefix_len(n, s) >= 1 && prefix_len(n, s) <= n);
        }
    }
}

#[test]
fn the_threshold_rises_to_the_kth_best_guaranteed_score() {
    let mut t = Threshold::new(70, 2);
    assert_eq!(t.value(), 70);
    t.offer(90);
    assert_eq!(t.value(), 70);
    t.offer(80);
    assert_eq!(t.value(), 80);
    t.offer(95);
    assert_eq!(t.value(), 90);
    t.offer(60);
    assert_eq!(t.value(), 90);
}

/// The merge policy: groups of `GROUP` units, each published and tidied
/// as the writer does, end in full segments of `GROUP · F²` units after
/// every unit was copied exactly twice (log_F of a full segment over a
/// group), and after every group fewer than `F` segments of one size tier
/// wait to be merged. The words survive the merges: each unit is still
/// found by its own text.
#[test]
fn merges_copy_each_unit_log_f_times_and_leave_fewer_than_f_segments_per_tier() {
    const GROUP: usize = 10;
    let full = GROUP * MERGE_FACTOR * MERGE_FACTOR;
    let mut index = Index::with_segment_slots(full);
    let words = |id: UnitId| [id as usize % VOCAB.len(), id as usize / 7 % VOCAB.len(), id as usize / 49 % VOCAB.len()];
    let (mut copied, mut id) = (0, 0);
    for _ in 0..3 * MERGE_FACTOR * MERGE_FACTOR {
        for _ in 0..GROUP {
            id += 1;
            index.insert(&unit(id, "m", &words(id), &words(id)));
        }
        index.snapshot();
        copied += index.tidy().copied;
        let mut waiting = std::collections::HashMap::new();
        for part in index.parts.iter().filter(|part| part.slots() < full) {
            *waiting.entry(part.live().ilog(MERGE_FACTOR)).or_insert(0) += 1;
        }
        assert!(waiting.values().all(|&n| n < MERGE_FACTOR), "segments waiting per tier: {waiting:?}");
    }
    assert_eq!(index.len(), id as usize);
    assert_eq!(index.segments(), 3, "every group merged into full segments");
    assert!(index.parts.iter().all(|part| part.slots() == full));
    assert_eq!(copied, 2 * id as usize, "each unit copied twice");
    for unit_id in [1, id / 2, id] {
        let text = words(unit_id).iter().map(|&i| VOCAB[i]).collect::<Vec<_>>().join(" ");
        let q = index.encode_text(&text, Lang::English);
        let found = index.candidates(&q, &index.selection(&Scope::default()), 100, usize::MAX);
        assert!(found.iter().any(|c| c.id == unit_id), "unit {unit_id} ({text}) not found after the merges");
    }
}

#[test]
fn deleted_units_are_never_candidates() {
    let mut index = Index::default();
    index.insert(&unit(1, "m", &[4, 7, 8], &[1, 3]));
    index.insert(&unit(2, "m", &[4, 7, 8], &[1, 3]));
    assert!(index.remove(1));
    let q = index.encode_text("شركة نموذج جديد", Lang::Arabic);
    let found = index.candidates(&q, &index.selection(&Scope::default()), 70, 5);
    assert_eq!(found.iter().map(|c| c.id).collect::<Vec<_>>(), [2]);
    assert_eq!(index.memory_counts(), [("m".to_owned(), 1)]);
}

/// A segment whose ids ascend finds a unit by binary search; once a unit
/// moves in (its id older than the last), by a map built then. Either way
/// every unit is found, and only its live slot.
#[test]
fn units_are_found_by_id_whether_a_segments_ids_ascend_or_not() {
    let mut index = Index::default();
    for id in 1..=40 {
        index.insert(&unit(id, "m", &[4, id as usize % 3], &[1]));
    }
    assert!(index.parts[0].slot_of.is_empty(), "ascending ids need no map");
    // Into the same open segment: 5 and 20 again (they move to new slots),
    // then 3: the ids ascend no more.
    for id in [5, 20, 41, 3] {
        index.insert(&unit(id, "m", &[4, 7], &[1]));
    }
    assert_eq!(index.parts.len(), 1);
    assert!(!index.parts[0].slot_of.is_empty());
    let _ = index.snapshot();
    for id in [50, 60, 45] {
        index.insert(&unit(id, "m", &[8], &[3]));
    }
    let ids: Vec<UnitId> = (1..=41).chain([45, 50, 60]).collect();
    assert_eq!(index.len(), ids.len());
    let q = index.encode_text("شركة نموذج", Lang::Arabic);
    let found = index.candidates(&q, &index.selection(&Scope::default()), 100, 100);
    assert_eq!(sorted(found).iter().map(|c| c.id).collect::<Vec<_>>(), [3, 5, 20, 41]);
    for &id in &ids {
        assert!(index.remove(id), "unit {id} is found");
        assert!(!index.remove(id), "unit {id} is gone");
    }
    assert_eq!(index.len(), 0);
    assert!(!index.remove(42));
}

/// On real sentences (two corpus files, in segments of 10,000 units):
/// every closed segment's packed lists hold, key by key, exactly the slots
/// whose words carry the key, and, per key and `j ≥ 2`, the slots whose
/// words carry it at least `j` times, by word count then slot, and each
/// entry of a list of 32 or more its room: the unit's words in that list
/// or in lists a lookup reads after it (all worked out here from the
/// arena, not from the lists), in at most 70 % of the bytes of one vector
/// per list (53–66 % here, with a byte of room for a third to two thirds
/// of the entries; the slots of a segment of 10,000 units are small, so
/// plain entries would be too).
/// A query's words are encoded by surface, and a known surface's key is
/// taken from the segment's `key_of` rather than looked up by name: on real
/// sentences (the stored half, and the other half as unseen queries), in
/// both languages, each word's key id is the one the key vocabulary has for
/// its key, and each surface id the one the surface vocabulary has.
#[test]
fn encoded_queries_have_the_ids_their_words_and_keys_have_by_name() {
    let path = crate::test_corpus::corpus_dir().join("tatoeba.tsv");
    let pairs = crate::test_corpus::read_pairs(&path).unwrap();
    let (stored, unseen) = pairs.split_at(pairs.len() / 2);
    let mut index = Index::with_segment_slots(4_000);
    for (i, (arabic, english)) in stored.iter().enumerate() {
        let unit = Unit { id: i as u64 + 1, memory: "m".into(), ..Default::default() };
        index.insert(&Unit { arabic: arabic.clone(), english: english.clone(), ..unit });
    }
    let _ = index.snapshot();
    assert!(index.parts.len() >= 3, "{} segments", index.parts.len());
    let (mut known, mut unknown, mut unknown_surface_known_key) = (0, 0, 0);
    for (arabic, english) in pairs.iter().step_by(7).chain(unseen.iter().step_by(3)) {
        for (text, lang) in [(arabic, Lang::Arabic), (english, Lang::English)] {
            let tokens = crate::text::tokens(text, lang);
            let query = index.encode(&tokens, lang);
            for (part, encoded) in index.parts.iter().zip(&query.parts) {
                let side = part.side(lang);
                for (i, token) in tokens.iter().enumerate() {
                    let surface = side.surfaces.get(token.surface.as_str()).copied().unwrap_or(UNKNOWN_WORD);
                    let key = side.keys.get(token.key.as_str()).copied().unwrap_or(UNKNOWN_WORD);
                    assert_eq!(
                        (encoded.surfaces[i], encoded.keys[i]),
                        (surface, key),
                        "{:?} in {text:?}",
                        token.surface
                    );
                    match (surface == UNKNOWN_WORD, key == UNKNOWN_WORD) {
                        (false, _) => known += 1,
                        (true, false) => unknown_surface_known_key += 1,
                        (true, true) => unknown += 1,
                    }
                }
            }
        }
    }
    // Every case was met many times.
    assert!(
        known > 10_000 && unknown > 1_000 && unknown_surface_known_key > 1_000,
        "{known} {unknown} {unknown_surface_known_key}"
    );
}

#[test]
fn packed_lists_of_real_sentences_equal_the_units_keys_repeats_and_rooms_in_at_most_70_percent_of_the_room() {
    use super::postings::Postings;
    let mut index = Index::with_segment_slots(10_000);
    let mut id = 0;
    for file in ["tatoeba.tsv", "un_v1_testsets.tsv"] {
        let path = crate::test_corpus::corpus_dir().join(file);
        for (arabic, english) in crate::test_corpus::read_pairs(&path).unwrap() {
            id += 1;
            index.insert(&Unit { id, memory: "m".into(), arabic, english, ..Default::default() });
        }
    }
    let _ = index.snapshot();
    assert!(id > 30_000 && index.parts.len() >= 3, "{id} units, {} segments", index.parts.len());
    for part in &index.parts {
        for side in [&part.arabic, &part.english] {
            let (Postings::Packed(packed), Postings::Packed(repeats)) = (&side.postings, &side.repeat_postings) else {
                panic!("a closed segment's lists are packed")
            };
            let mut expected: Vec<Vec<(u16, u32)>> = vec![Vec::new(); side.keys.len()];
            // (key, j) → the units holding the key at least j times.
            let mut expected_repeats: HashMap<(u32, u32), Vec<(u16, u32)>> = HashMap::default();
            // (list, slot) → the entry's room: the unit's words in lists a
            // lookup reads at or after that one, by (length, list).
            let mut expected_rooms: HashMap<(List, u32), u8> = HashMap::default();
            for slot in 0..part.slots() as u32 {
                let group = side.group_of[slot as usize];
                if group != NO_GROUP && side.groups[group as usize].members[0] != slot {
                    continue;
                }
                let mut times: HashMap<u32, u32> = HashMap::default();
                for &word in side.words(slot) {
                    *times.entry(side.key_of[word as usize]).or_default() += 1;
                }
                // The unit's lists, each with its words and whether it is
                // a key's last repeat list, holding several of them.
                let mut lists: Vec<(usize, List, u16, bool)> = Vec::new();
                for (&key, &times) in &times {
                    expected[key as usize].push((side.len[slot as usize], slot));
                    for j in 2..=times.min(super::segment::MAX_REPEAT) {
                        expected_repeats.entry((key, j)).or_default().push((side.len[slot as usize], slot));
                    }
                    for j in 1..=times.min(super::segment::MAX_REPEAT) {
                        let list = side.list_of(key, j);
                        let capped = j == super::segment::MAX_REPEAT;
                        let words = if capped { times + 1 - j } else { 1 };
                        lists.push((side.list_len(list), list, words as u16, capped));
                    }
                }
                lists.sort_unstable();
                let m = side.len[slot as usize];
                for (i, &(_, list, _, _)) in lists.iter().enumerate() {
                    let after = &lists[i..];
                    // A last repeat list at or after this one counts all
                    // the unit's words (see `Side::rooms`).
                    let room = if after.iter().any(|l| l.3) { m } else { after.iter().map(|l| l.2).sum() };
                    expected_rooms.insert((list, slot), room.min(255) as u8);
                }
            }
            let mut list = Vec::new();
            let mut entries = 0;
            let mut with_rooms = 0;
            for (key, mut want) in expected.into_iter().enumerate() {
                want.sort_unstable();
                entries += want.len();
                side.postings.list(key as u32, &mut list);
                assert_eq!(list, want.iter().map(|&(_, slot)| slot).collect::<Vec<_>>(), "key {key}");
                assert_eq!(side.frequency(key as u32), want.len());
                if let Some(rooms) = packed.rooms(key as u32) {
                    let want: Vec<(u32, u8)> =
                        want.iter().map(|&(_, slot)| (slot, expected_rooms[&(List::Key(key as u32), slot)])).collect();
                    assert_eq!(rooms, want, "key {key}");
                    with_rooms += rooms.len();
                }
            }
            assert!(expected_repeats.len() > 100, "real sentences repeat words: {}", expected_repeats.len());
            assert_eq!(side.repeats.len(), expected_repeats.len());
            for ((key, j), mut want) in expected_repeats {
                want.sort_unstable();
                entries += want.len();
                let super::segment::List::Repeat(id) = side.list_of(key, j) else { panic!("no list for {key}×{j}") };
                side.repeat_postings.list(id, &mut list);
                assert_eq!(list, want.iter().map(|&(_, slot)| slot).collect::<Vec<_>>(), "key {key}×{j}");
                if let Some(rooms) = repeats.rooms(id) {
                    let want: Vec<(u32, u8)> =
                        want.iter().map(|&(_, slot)| (slot, expected_rooms[&(List::Repeat(id), slot)])).collect();
                    assert_eq!(rooms, want, "key {key}×{j}");
                    with_rooms += rooms.len();
                }
            }
            assert!(with_rooms * 3 > entries, "entries in lists with rooms: {with_rooms} of {entries}");
            // One `Vec<u32>` per list: its 24 bytes and 4 per entry (the
            // allocator's own overhead left out).
            let vectors = (side.keys.len() + side.repeats.len()) * 24 + entries * 4;
            let packed = packed.bytes() + repeats.bytes();
            assert!(packed * 100 <= vectors * 70, "{packed} bytes packed, {vectors} as vectors");
        }
    }
}

proptest! {
    /// The bag count equals the multiset intersection size.
    #[test]
    fn bag_overlap_is_the_multiset_intersection(
        query in prop::collection::vec(0u32..6, 0..12),
        source in prop::collection::vec(0u32..6, 0..12),
    ) {
        let expected: usize = (0..6u32)
            .map(|w| query.iter().filter(|&&q| q == w).count().min(source.iter().filter(|&&s| s == w).count()))
            .sum();
        prop_assert_eq!(Bag::of(&query).overlap(source.iter().copied()), expected);
    }

    /// The key-bits filter never drops a unit the count filter keeps: the
    /// overlap bound from 256 bits is at least the true overlap. Keys are
    /// drawn from 0..800, so that several share a bit (three per bit on
    /// average) and the bound is exercised where it is loose.
    #[test]
    fn key_bits_never_drop_a_unit_the_count_filter_keeps(
        query in prop::collection::vec(0u32..800, 1..12),
        unit in prop::collection::vec(0u32..800, 1..24),
        s in 0u8..=100,
    ) {
        let bits = super::segment::Bits::of(&unit);
        let (n, m) = (query.len(), unit.len());
        let longest = n.max(m);
        let passes = Bag::of(&query).overlap(unit.iter().copied()) + longest * (100 - s as usize) / 100 >= longest;
        if passes {
            prop_assert!(super::segment::KeyBits::of(&query).can_reach(&bits, n, m, s));
        }
        // Exact when no two keys share a bit and the query repeats no key.
        if bits_are_exact(&query, &unit, &query) {
            prop_assert_eq!(super::segment::KeyBits::of(&query).can_reach(&bits, n, m, s), passes);
        }
    }

    /// With some of the query's words taken out (those of the lists a
    /// lookup read before), the bits still bound the overlap with the
    /// rest, and a unit that shares too few of the rest is dropped when no
    /// two keys share a bit.
    #[test]
    fn key_bits_without_some_words_bound_the_overlap_with_the_rest(
        query in prop::collection::vec(0u32..800, 1..12),
        unit in prop::collection::vec(0u32..800, 1..24),
        taken in prop::collection::vec(any::<bool>(), 12),
        s in 0u8..=100,
    ) {
        let (n, m) = (query.len(), unit.len());
        let mut key_bits = super::segment::KeyBits::of(&query);
        let mut rest = Vec::new();
        for (&key, &take) in query.iter().zip(&taken) {
            if take {
                key_bits.remove(key);
            } else {
                rest.push(key);
            }
        }
        let bits = super::segment::Bits::of(&unit);
        let longest = n.max(m);
        let passes = Bag::of(&rest).overlap(unit.iter().copied()) + longest * (100 - s as usize) / 100 >= longest;
        if passes {
            prop_assert!(key_bits.can_reach(&bits, n, m, s));
        }
        if bits_are_exact(&query, &unit, &rest) {
            prop_assert_eq!(key_bits.can_reach(&bits, n, m, s), passes);
        }
    }
}

/// Whether the key bits count exactly: no two keys of the query and the
/// unit share a bit, and `counted` (the query's words the bits count)
/// repeats no key.
fn bits_are_exact(query: &[u32], unit: &[u32], counted: &[u32]) -> bool {
    let mut keys: Vec<u32> = query.iter().chain(unit).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    let mut bit_set: Vec<usize> = keys.iter().map(|&k| super::segment::Bits::position(k)).collect();
    bit_set.sort_unstable();
    bit_set.dedup();
    let mut counted_keys = counted.to_vec();
    counted_keys.sort_unstable();
    counted_keys.dedup();
    bit_set.len() == keys.len() && counted_keys.len() == counted.len()
}

#[test]
fn concordance_finds_phrases_by_key_newest_first_and_pages() {
    let mut index = Index::default();
    let texts = [
        "أعلنت الشركة عن نموذج جديد",
        "قالت والشركة الصينية",
        "نموذج Qwen-7B من شركة علي بابا",
        "لا شيء هنا",
        "شركة Tencent تطلق نموذج Hunyuan",
    ];
    for (i, t) in texts.iter().enumerate() {
        index.insert(&Unit {
            id: i as u64 + 1,
            memory: "m".into(),
            arabic: (*t).into(),
            english: "x".into(),
            ..Default::default()
        });
    }
    let all = index.selection(&Scope::default());
    let find = |phrase: &str, after: Option<(i64, u64)>, limit: usize| {
        let page = index.concordance(&tokens(phrase, Lang::Arabic), Lang::Arabic, &all, after, limit);
        (page.hits.iter().map(|h| (h.id, h.at.clone())).collect::<Vec<_>>(), page.next)
    };
    // شركة finds الشركة and والشركة (clitics), newest first (one change
    // time here: the highest id first).
    assert_eq!(find("شركة", None, 10), (vec![(5, vec![0]), (3, vec![3]), (2, vec![1]), (1, vec![1])], None));
    assert_eq!(find("شركة", None, 2).1, Some((0, 3)));
    assert_eq!(find("شركة", Some((0, 3)), 2), (vec![(2, vec![1]), (1, vec![1])], None));
    // A phrase: consecutive words only; a Latin name by its surface.
    assert_eq!(find("شركة Tencent", None, 10).0, vec![(5, vec![0])]);
    assert_eq!(find("Qwen-7B", None, 10).0, vec![(3, vec![1])]);
    assert_eq!(find("عن جديد", None, 10).0, vec![]);
    assert_eq!(find("كلمة_غير_موجودة", None, 10).0, vec![]);
}

#[test]
fn conflicts_group_same_sources_with_different_targets() {
    let mut index = Index::default();
    let pairs = [("تويتر", "Twitter"), ("تويتر", "X"), ("تُويتر", "Twitter"), ("مرحبا", "Hello"), ("أهلا", "Hello")];
    for (i, (ar, en)) in pairs.iter().enumerate() {
        index.insert(&Unit {
            id: i as u64 + 1,
            memory: "m".into(),
            arabic: (*ar).into(),
            english: (*en).into(),
            ..Default::default()
        });
    }
    let groups = index.conflicts(&index.selection(&Scope::default()));
    let got: Vec<(Lang, Vec<u64>)> = groups.iter().map(|g| (g.lang, g.ids.clone())).collect();
    // Same Arabic (after normalization) with Twitter and X; same English
    // "Hello" with two Arabic greetings. "Twitter" has two Arabic sides
    // that normalize alike: no conflict.
    assert_eq!(got, vec![(Lang::English, vec![5, 4]), (Lang::Arabic, vec![3, 2, 1])]);
}

/// Words of a template ("the new model … 2023 … في … Llama"): ordinary
/// words, and slots for placeables (None).
const TEMPLATE: [Option<&str>; 8] = [Some("the"), Some("new"), Some("model"), None, Some("في"), None, Some("من"), None];

/// Placeables for the slots: numbers in several scripts and styles, and
/// Latin names (placeables inside Arabic).
const PLACEABLES: [&str; 8] = ["2023", "٢٠٢٤", "42", "22", "4.0", "450", "Llama", "Qwen-7B"];

/// A sentence of the template: its slots filled from `values` (indices
/// into [`PLACEABLES`]), and some words changed (index into the template,
/// replacement from [`VOCAB`]; `None`: the word deleted).
fn templated(values: &[usize], changes: &[(usize, Option<usize>)]) -> String {
    let mut slots = values.iter();
    let mut words: Vec<Option<&str>> = TEMPLATE
        .iter()
        .map(|w| Some(w.unwrap_or_else(|| PLACEABLES[*slots.next().unwrap_or(&0) % PLACEABLES.len()])))
        .collect();
    for &(at, word) in changes {
        words[at % TEMPLATE.len()] = word.map(|w| VOCAB[w]);
    }
    words.into_iter().flatten().collect::<Vec<_>>().join(" ")
}

fn template_values() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(0..PLACEABLES.len(), 3)
}

fn template_changes() -> impl Strategy<Value = Vec<(usize, Option<usize>)>> {
    prop::collection::vec((0..TEMPLATE.len(), prop::option::of(0..VOCAB.len())), 0..3)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Many units of one template, differing in one or several
    /// placeables (and a few in a word): the index checks each template
    /// group once, and still finds exactly what the scan finds, for
    /// queries of the template with other placeables, with word edits, or
    /// of other shapes; and every unit is in the group of its template.
    #[test]
    fn template_groups_find_what_the_scan_finds(
        units in prop::collection::vec((template_values(), prop::option::of(template_changes()), 0..2usize), 1..120),
        deleted in prop::collection::vec(any::<prop::sample::Index>(), 0..20),
        query in (template_values(), template_changes(), prop::option::of(sentence())),
        min_score in 0u8..=101,
        max_results in 1usize..6,
        arabic in any::<bool>(),
        memory_points in 0u8..6,
        bonus in 0u8..=1,
        segment_slots in 1usize..200,
        group in 1usize..40,
    ) {
        let mut index = Index::with_segment_slots(segment_slots);
        for (i, (values, changes, memory)) in units.iter().enumerate() {
            if i % group == 0 {
                index.snapshot();
                index.tidy();
            }
            // Most units are the template exactly; some have a word edit.
            let text = templated(values, changes.as_deref().filter(|_| i % 4 == 0).unwrap_or(&[]));
            index.insert(&Unit {
                id: i as u64 + 1,
                memory: format!("m{memory}"),
                arabic: text.clone(),
                english: text,
                ..Default::default()
            });
        }
        for d in &deleted {
            index.remove(d.index(units.len()) as u64 + 1);
        }
        let (values, changes, other) = query;
        let text = match other {
            Some(words) => words.iter().map(|&i| VOCAB[i]).collect::<Vec<_>>().join(" "),
            None => templated(&values, &changes),
        };
        let lang = if arabic { Lang::Arabic } else { Lang::English };
        let scope = Scope {
            memory_points: index.memory_id("m1").map(|m| (m, memory_points)).into_iter().collect(),
            bonus,
            unknown: 1,
            ..Scope::default()
        };
        let compacted = Index { segment_slots: SEGMENT_SLOTS, ..index.clone() }.compacted();
        for (index, count) in [(&index, false), (&index, true), (&compacted, false), (&compacted, true)] {
            super::search::FORCE_COUNT.set(Some(count));
            let q = index.encode_text(&text, lang);
            let selection = index.selection(&scope);
            let scan = index.scan(&q, &selection, min_score);
            let all = index.candidates(&q, &selection, min_score, usize::MAX);
            let found = index.candidates(&q, &selection, min_score, max_results);
            let best = index.best_candidates(&q, &selection, min_score, max_results);
            super::search::FORCE_COUNT.set(None);
            prop_assert_eq!(sorted(all), sorted(scan.clone()));
            let n = q.len();
            check_top(&scan, &found, n, &scope, max_results)?;
            let guaranteed_scores: Vec<i32> = scan
                .iter()
                .map(|c| i32::from(guaranteed(c.cost, n, c.source_words)) - i32::from(c.points) - 1)
                .collect();
            // Holding back template members: each one held back either
            // cannot make it, or is at most the bound reported, which makes
            // the lookup ask again.
            prop_assert!(best.candidates.iter().all(|c| scan.contains(c)));
            for c in &scan {
                if !best.candidates.contains(c) {
                    let bound = upper(unnormalized(c.cost, n, c.source_words), bonus, c.points);
                    let above = guaranteed_scores.iter().filter(|&&g| g > bound).count();
                    let reported = best.withheld.is_some_and(|held| bound <= i32::from(held));
                    prop_assert!(above >= max_results || reported, "{:?} held back with {} above it, unreported", c, above);
                }
            }
            for part in &index.parts {
                check_groups(&part.arabic);
                check_groups(&part.english);
            }
        }
    }
}

/// With a top-k, what is left out cannot make it: at least k of the
/// scan's units are surely above each one left out (their guaranteed
/// score, less their points and the several-translations penalty).
fn check_top(scan: &[Candidate], found: &[Candidate], n: usize, scope: &Scope, k: usize) -> Result<(), TestCaseError> {
    let (bonus, unknown) = (scope.bonus, i32::from(scope.unknown));
    let guaranteed_scores: Vec<i32> =
        scan.iter().map(|c| i32::from(guaranteed(c.cost, n, c.source_words)) - i32::from(c.points) - unknown).collect();
    for c in scan {
        if !found.contains(c) {
            let best = upper(unnormalized(c.cost, n, c.source_words), bonus, c.points);
            let above = guaranteed_scores.iter().filter(|&&g| g > best).count();
            prop_assert!(above >= k, "{:?} left out with {} above it", c, above);
        }
    }
    Ok(())
}

/// Every group holds units of one template, with their placeables'
/// word ids; every unit with words is in the group of its template, or is
/// the one unit with it.
fn check_groups(side: &Side) {
    for (g, group) in side.groups.iter().enumerate() {
        assert!(group.members.len() >= 2);
        assert!(group.members.windows(2).all(|w| w[0] < w[1]));
        let template = side.template(group.members[0]);
        for (i, &slot) in group.members.iter().enumerate() {
            assert_eq!(side.template(slot), template);
            assert_eq!(side.group_of[slot as usize], g as u32);
            let words = side.words(slot);
            let width = group.places.len();
            let values: Vec<u32> = group.places.iter().map(|&p| words[p as usize]).collect();
            assert_eq!(&group.values[i * width..(i + 1) * width], values.as_slice());
        }
    }
    let mut first: HashMap<Vec<u64>, u32> = HashMap::default();
    for slot in 0..side.len.len() as u32 {
        if side.len[slot as usize] == 0 {
            continue;
        }
        let template = side.template(slot);
        match first.get(&template) {
            None => {
                first.insert(template, slot);
            }
            Some(&other) => {
                let group = side.group_of[slot as usize];
                assert_ne!(group, NO_GROUP, "slot {slot} shares slot {other}'s template but no group");
                assert_eq!(side.group_of[other as usize], group);
            }
        }
    }
}

/// Sub-segment hits by brute force over the live units: (id, start, len),
/// sorted.
fn subsegments_by_brute_force(
    live: &std::collections::BTreeMap<UnitId, Unit>,
    text: &str,
    lang: Lang,
    keep: impl Fn(&Unit) -> bool,
) -> Vec<(UnitId, usize, usize)> {
    let query = crate::text::words(text);
    let mut hits = Vec::new();
    for unit in live.values().filter(|u| keep(u)) {
        let source = crate::text::words(unit.side(lang));
        let len = source.len();
        if len == 0 || len >= query.len() || len > MAX_SUBSEGMENT_WORDS {
            continue;
        }
        if len == 1 && (crate::text::Placeable::of(&source[0], lang).is_some() || source[0].chars().count() < 5) {
            continue;
        }
        for start in 0..=query.len() - len {
            if query[start..start + len] == source[..] {
                hits.push((unit.id, start, len));
            }
        }
    }
    hits.sort_unstable();
    hits
}

fn hits(index: &Index, text: &str, lang: Lang, scope: &Scope) -> Vec<(UnitId, usize, usize)> {
    let tokens = tokens(text, lang);
    let singles: Vec<bool> = tokens.iter().map(|t| t.placeable.is_none() && t.surface.chars().count() >= 5).collect();
    let mut found: Vec<_> = index
        .subsegments(&index.encode(&tokens, lang), &singles, &index.selection(scope))
        .into_iter()
        .map(|h| (h.id, h.start, h.len))
        .collect();
    found.sort_unstable();
    found
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// Sub-segment hits through the template hashes equal a brute force
    /// over the live units, with small segments, merges, deletions and a
    /// memory and domain filter; and in one compacted segment too.
    #[test]
    fn subsegments_equal_a_brute_force(
        units in prop::collection::vec((prop::collection::vec(0..VOCAB.len(), 1..5), prop::collection::vec(0..VOCAB.len(), 1..5), 0..3usize), 1..60),
        deleted in prop::collection::vec(any::<prop::sample::Index>(), 0..10),
        picks in prop::collection::vec(any::<prop::sample::Index>(), 1..4),
        extra in sentence(),
        arabic in any::<bool>(),
        memory_filter in prop::option::of(0..3u32),
        domain_filter in any::<bool>(),
        segment_slots in 1usize..40,
        group in 1usize..12,
    ) {
        let mut index = Index::with_segment_slots(segment_slots);
        let mut live = std::collections::BTreeMap::new();
        for (i, (ar, en, memory)) in units.iter().enumerate() {
            let domain = if i % 3 == 0 { "tech" } else { "sport" };
            let u = Unit { domain: domain.into(), ..unit(i as u64 + 1, &format!("m{memory}"), ar, en) };
            index.insert(&u);
            live.insert(u.id, u);
            if i % group == 0 {
                if let Some(d) = deleted.get(i / group) {
                    let id = d.index(units.len()) as u64 + 1;
                    index.remove(id);
                    live.remove(&id);
                }
                index.snapshot();
                index.tidy();
            }
        }
        let lang = if arabic { Lang::Arabic } else { Lang::English };
        let words = |u: &Unit| u.side(lang).to_owned();
        let mut text = units
            .iter()
            .enumerate()
            .filter(|(i, _)| picks.iter().any(|p| p.index(units.len()) == *i))
            .map(|(i, _)| live.get(&(i as u64 + 1)).map(words).unwrap_or_default())
            .collect::<Vec<_>>()
            .join(" ");
        text.push(' ');
        text.push_str(&extra.iter().map(|&i| VOCAB[i]).collect::<Vec<_>>().join(" "));
        let memory = memory_filter.map(|m| format!("m{m}"));
        let scope = Scope {
            memories: memory.as_ref().map(|m| index.memory_id(m).into_iter().collect()),
            filter: UnitFilter { domains: if domain_filter { vec!["tech".into()] } else { vec![] }, ..UnitFilter::default() },
            ..Scope::default()
        };
        let keep = |u: &Unit| {
            memory.as_ref().is_none_or(|m| u.memory == *m) && (!domain_filter || u.domain == "tech")
        };
        let expected = subsegments_by_brute_force(&live, &text, lang, keep);
        prop_assert_eq!(&hits(&index, &text, lang, &scope), &expected);
        let compacted = Index { segment_slots: SEGMENT_SLOTS, ..index.clone() }.compacted();
        let scope = Scope {
            memories: memory.as_ref().map(|m| compacted.memory_id(m).into_iter().collect()),
            ..scope
        };
        prop_assert_eq!(&hits(&compacted, &text, lang, &scope), &expected);
    }
}

/// Units left out of the template map (a hash collision) are still found:
/// every lone unit moved to `collided` by hand gives the same hits.
#[test]
fn units_whose_template_hash_collided_are_still_found() {
    let mut index = Index::default();
    let phrases = [[0usize, 1, 3].as_slice(), &[4, 7], &[4, 7], &[7, 8, 13], &[2, 1], &[10, 13, 11]];
    for (i, p) in phrases.iter().enumerate() {
        index.insert(&unit(i as u64 + 1, "m", p, p));
    }
    let text = "the model new a شركة نموذج جديد في 2023 model new";
    let scope = Scope::default();
    let before: Vec<_> = [Lang::Arabic, Lang::English].iter().map(|&l| hits(&index, text, l, &scope)).collect();
    assert!(before.iter().map(Vec::len).sum::<usize>() >= 4, "{before:?}");
    let segment = Arc::get_mut(&mut index.parts[0].segment).expect("the only copy");
    for side in [&mut segment.arabic, &mut segment.english] {
        let lone: Vec<(u64, u32)> =
            side.templates.iter().filter(|(_, &e)| e & (1 << 31) == 0).map(|(&h, &e)| (h, e)).collect();
        for (hash, slot) in lone {
            side.templates.remove(&hash);
            side.collided.push(slot);
        }
        side.collided.sort_unstable();
    }
    let after: Vec<_> = [Lang::Arabic, Lang::English].iter().map(|&l| hits(&index, text, l, &scope)).collect();
    assert_eq!(after, before);
}

/// Real sentences added in groups of `sizes`, each group published and
/// tidied as the writer does.
fn grouped(slots: usize, sizes: &[usize]) -> (Index, Vec<(String, String)>) {
    let path = crate::test_corpus::corpus_dir().join("tatoeba.tsv");
    let pairs = crate::test_corpus::read_pairs(&path).unwrap();
    let mut index = Index::with_segment_slots(slots);
    let mut at = 0;
    for &size in sizes {
        for (arabic, english) in &pairs[at..at + size] {
            at += 1;
            index.insert(&Unit {
                id: at as u64,
                memory: "m".into(),
                arabic: arabic.clone(),
                english: english.clone(),
                ..Default::default()
            });
        }
        let _ = index.snapshot();
        index.tidy();
    }
    let added = pairs[..at].to_vec();
    (index, added)
}

/// Live units of each segment, oldest first.
fn sizes(index: &Index) -> Vec<usize> {
    index.parts.iter().map(|part| part.live()).collect()
}

fn answers(index: &Index, pairs: &[(String, String)]) -> Vec<Vec<Candidate>> {
    pairs
        .iter()
        .step_by(17)
        .map(|(_, english)| {
            let q = index.encode_text(english, Lang::English);
            sorted(index.candidates(&q, &index.selection(&Scope::default()), 60, usize::MAX))
        })
        .collect()
}

/// `Index::settling` takes the last segments while each holds at most
/// MERGE_FACTOR times the units after it, within one segment's room; the
/// merge puts them into one and every lookup finds the same candidates.
#[test]
fn settling_merges_the_small_last_segments_into_one_and_finds_the_same() {
    // Groups of 10: the tiered merges leave segments of 80 and of 10.
    let (mut index, pairs) = grouped(10_000, &[10; 60]);
    let before = index.segments();
    assert!(before >= 8, "{before} segments");
    let expected = answers(&index, &pairs);
    assert!(expected.iter().map(Vec::len).sum::<usize>() >= expected.len(), "the queries find their units");
    let settling = index.settling().expect("small segments to merge");
    assert_eq!((settling.segments(), settling.units()), (before, 600));
    assert!(index.settle(settling.merge()));
    assert_eq!(index.segments(), 1);
    assert_eq!(answers(&index, &pairs), expected);
    assert!(index.settling().is_none(), "one segment: nothing to merge");

    // A large segment is not copied again for a few units after it: 8 after
    // 600 stay apart, 80 after it are merged in.
    let (mut index, _) = grouped(10_000, &[600, 4, 4]);
    assert_eq!(index.segments(), 3);
    let settling = index.settling().expect("the two small ones");
    assert_eq!((settling.segments(), settling.units()), (2, 8));
    let (mut index, _) = grouped(10_000, &[600, 40, 40]);
    assert_eq!(index.settling().map(|s| s.segments()), Some(3));
    // Never past one segment's room.
    let (mut index, _) = grouped(650, &[600, 40, 40]);
    assert_eq!(index.settling().map(|s| (s.segments(), s.units())), Some((2, 80)));
    // Runs before the last segment too, one per pause, until none fits.
    let (mut index, pairs) = grouped(1_000, &[300, 300, 300, 300, 5]);
    assert_eq!(sizes(&index), [300, 300, 300, 300, 5]);
    let expected = answers(&index, &pairs);
    let settling = index.settling().expect("three of 300");
    assert_eq!((settling.segments(), settling.units()), (3, 900));
    assert!(index.settle(settling.merge()));
    assert_eq!(sizes(&index), [300, 900, 5]);
    assert!(index.settling().is_none());
    assert_eq!(answers(&index, &pairs), expected);
}

/// A merge prepared while the index changes: a deletion in the merged
/// segments, or a merge of them, drops it; units added after them do not.
#[test]
fn a_settled_merge_is_dropped_if_its_segments_changed_meanwhile() {
    let (mut index, pairs) = grouped(10_000, &[10; 20]);
    let segments = index.segments();
    assert!(segments > 2, "{segments}");
    let settling = index.settling().expect("small segments");
    index.remove(5);
    let _ = index.snapshot();
    assert!(!index.settle(settling.merge()), "a unit was deleted since");
    assert_eq!(index.segments(), segments);
    let live = index.len();

    // Merged since (tidy's tiers, here all of them at once).
    let settling = index.settling().expect("small segments");
    index = index.compacted();
    assert!(!index.settle(settling.merge()));
    assert_eq!(index.len(), live);

    // Units added after the chosen segments: the merge goes in before them.
    let (mut index, _) = grouped(10_000, &[10; 20]);
    let settling = index.settling().expect("small segments");
    let (arabic, english) = &pairs[150];
    index.insert(&Unit {
        id: 10_000,
        memory: "m".into(),
        arabic: arabic.clone(),
        english: english.clone(),
        ..Default::default()
    });
    let _ = index.snapshot();
    assert!(index.settle(settling.merge()));
    assert_eq!(index.segments(), 2);
    assert_eq!(index.len(), 201);
    let q = index.encode_text(english, Lang::English);
    let found = index.candidates(&q, &index.selection(&Scope::default()), 100, usize::MAX);
    let mut ids: Vec<UnitId> = found.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, [151, 10_000], "the unit added after and its twin");
}
