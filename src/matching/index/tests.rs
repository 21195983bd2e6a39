use proptest::prelude::*;

use super::*;
use crate::matching::score::fuzzy_score;
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
    ) {
        let mut index = Index::default();
        for (i, (ar, en, memory)) in units.iter().enumerate() {
            let domain = if i % 3 == 0 { "tech" } else { "sport" };
            index.insert(&Unit { domain: domain.into(), ..unit(i as u64 + 1, &format!("m{memory}"), ar, en) });
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
        let found = index.candidates(&q, &selection, min_score, usize::MAX);
        prop_assert_eq!(sorted(found.clone()), sorted(scan));
        // Compaction changes no answer.
        let compacted = index.compacted();
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
        prop_assert_eq!(Bag::of(&query).overlap(&source), expected);
    }
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
