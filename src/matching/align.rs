//! The weighted word alignment behind every score: the cheapest way to turn
//! the stored source's words into the query's.
//!
//! Two words are the same word (equal normalized surfaces, cost 0),
//! variants (equal stems: a clitic or suffix apart, cost ½ word), placeables
//! of one kind (cost 0 words, but one named penalty each: see
//! [`super::score`]), or different (a substitution, cost 1 word). Inserting or
//! deleting a word costs 1. The alignment minimizes the word cost, then the
//! number of placeable substitutions.
//!
//! One recurrence serves the index (cost only, two rows) and the explanation
//! (full table and the edit steps), so both always agree.

/// The cost of a whole word edit, in tenths of a word.
pub const WORD_EDIT: u32 = 10;
/// The cost of turning a word into a variant of it (same stem).
pub const VARIANT_EDIT: u32 = 5;

/// How a query word relates to a stored word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    Same,
    Variant,
    Placeable,
    Different,
}

/// The cost of an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Cost {
    /// Word edits in tenths of a word ([`WORD_EDIT`], [`VARIANT_EDIT`]).
    pub tenths: u32,
    /// Placeables substituted by another of their kind.
    pub placeables: u32,
}

impl Cost {
    /// The word cost in words (½ per variant).
    pub fn words(self) -> f64 {
        f64::from(self.tenths) / f64::from(WORD_EDIT)
    }

    /// The cost as one number that orders lexicographically.
    #[cfg(test)]
    fn packed(self) -> u64 {
        (u64::from(self.tenths) << 32) | u64::from(self.placeables)
    }

    fn unpack(packed: u64) -> Cost {
        Cost { tenths: (packed >> 32) as u32, placeables: packed as u32 }
    }

    /// The cost of pairing two words.
    fn of(relation: Relation) -> u64 {
        match relation {
            Relation::Same => 0,
            Relation::Variant => u64::from(VARIANT_EDIT) << 32,
            Relation::Placeable => 1,
            Relation::Different => u64::from(WORD_EDIT) << 32,
        }
    }
}

const INDEL: u64 = (WORD_EDIT as u64) << 32;

/// One step of an alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Query word `.0` paired with source word `.1`.
    Pair(usize, usize, Relation),
    /// Query word with no source word (to insert into the source).
    Insert(usize),
    /// Source word with no query word (to delete from the source).
    Delete(usize),
}

/// The cost of the cheapest alignment of `n` query words with `m` source
/// words, `relate(i, j)` telling how query word `i` relates to source word `j`.
pub fn cost(n: usize, m: usize, relate: impl Fn(usize, usize) -> Relation) -> Cost {
    // Two rows of the table: on the stack for the usual sentence (a lookup
    // aligns a template per group it meets), else on the heap.
    const ON_STACK: usize = 64;
    if m < ON_STACK {
        let (mut previous, mut current) = ([0u64; ON_STACK], [0u64; ON_STACK]);
        return cost_in(n, relate, &mut previous[..=m], &mut current[..=m]);
    }
    cost_in(n, relate, &mut vec![0u64; m + 1], &mut vec![0u64; m + 1])
}

/// [`cost`] in two rows of `m + 1` cells (`m` source words).
fn cost_in<'a>(
    n: usize,
    relate: impl Fn(usize, usize) -> Relation,
    mut previous: &'a mut [u64],
    mut current: &'a mut [u64],
) -> Cost {
    let m = previous.len() - 1;
    for (j, cell) in previous.iter_mut().enumerate() {
        *cell = j as u64 * INDEL;
    }
    for i in 0..n {
        current[0] = (i as u64 + 1) * INDEL;
        for j in 0..m {
            current[j + 1] =
                (previous[j] + Cost::of(relate(i, j))).min(previous[j + 1] + INDEL).min(current[j] + INDEL);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    Cost::unpack(previous[m])
}

/// The cheapest alignment and its steps, in text order.
pub fn align(n: usize, m: usize, relate: impl Fn(usize, usize) -> Relation) -> (Cost, Vec<Step>) {
    let width = m + 1;
    let mut table = vec![0u64; (n + 1) * width];
    let mut relations = vec![Relation::Different; n * m];
    for (j, cell) in table[..width].iter_mut().enumerate() {
        *cell = j as u64 * INDEL;
    }
    for i in 0..n {
        table[(i + 1) * width] = (i as u64 + 1) * INDEL;
        for j in 0..m {
            let relation = relate(i, j);
            relations[i * m + j] = relation;
            table[(i + 1) * width + j + 1] = (table[i * width + j] + Cost::of(relation))
                .min(table[i * width + j + 1] + INDEL)
                .min(table[(i + 1) * width + j] + INDEL);
        }
    }
    let mut steps = Vec::with_capacity(n.max(m));
    let (mut i, mut j) = (n, m);
    while i > 0 || j > 0 {
        let here = table[i * width + j];
        if i > 0 && j > 0 {
            let relation = relations[(i - 1) * m + j - 1];
            if table[(i - 1) * width + j - 1] + Cost::of(relation) == here {
                steps.push(Step::Pair(i - 1, j - 1, relation));
                i -= 1;
                j -= 1;
                continue;
            }
        }
        if i > 0 && table[(i - 1) * width + j] + INDEL == here {
            steps.push(Step::Insert(i - 1));
            i -= 1;
        } else {
            steps.push(Step::Delete(j - 1));
            j -= 1;
        }
    }
    steps.reverse();
    (Cost::unpack(table[n * width + m]), steps)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn relate<'a>(q: &'a [(u8, u8)], s: &'a [(u8, u8)]) -> impl Fn(usize, usize) -> Relation + 'a {
        move |i, j| {
            if q[i] == s[j] {
                Relation::Same
            } else if q[i].1 == s[j].1 {
                if q[i].1 == 0 {
                    Relation::Placeable
                } else {
                    Relation::Variant
                }
            } else {
                Relation::Different
            }
        }
    }

    #[test]
    fn variants_cost_half_a_word_and_placeables_none() {
        // (surface, key): key 0 is a placeable kind.
        let q = [(1, 1), (2, 2), (3, 0)];
        let s = [(1, 1), (9, 2), (4, 0)];
        assert_eq!(cost(3, 3, relate(&q, &s)), Cost { tenths: 5, placeables: 1 });
        let (c, steps) = align(3, 3, relate(&q, &s));
        assert_eq!(c, Cost { tenths: 5, placeables: 1 });
        assert_eq!(
            steps,
            [
                Step::Pair(0, 0, Relation::Same),
                Step::Pair(1, 1, Relation::Variant),
                Step::Pair(2, 2, Relation::Placeable)
            ]
        );
        let (c, steps) = align(2, 0, relate(&q, &s));
        assert_eq!((c.tenths, steps), (20, vec![Step::Insert(0), Step::Insert(1)]));
    }

    proptest! {
        #[test]
        fn the_table_and_the_rows_agree_and_the_steps_add_up(
            q in prop::collection::vec((0u8..6, 0u8..3), 0..12),
            s in prop::collection::vec((0u8..6, 0u8..3), 0..12),
        ) {
            let c = cost(q.len(), s.len(), relate(&q, &s));
            let (full, steps) = align(q.len(), s.len(), relate(&q, &s));
            prop_assert_eq!(c, full);
            let mut sum = Cost::default();
            let (mut next_q, mut next_s) = (0, 0);
            for step in steps {
                match step {
                    Step::Pair(i, j, r) => {
                        prop_assert_eq!((i, j), (next_q, next_s));
                        next_q += 1;
                        next_s += 1;
                        sum = Cost::unpack(sum.packed() + Cost::of(r));
                    }
                    Step::Insert(i) => { prop_assert_eq!(i, next_q); next_q += 1; sum.tenths += WORD_EDIT; }
                    Step::Delete(j) => { prop_assert_eq!(j, next_s); next_s += 1; sum.tenths += WORD_EDIT; }
                }
            }
            prop_assert_eq!((next_q, next_s), (q.len(), s.len()));
            prop_assert_eq!(sum, c);
            // Never more than the plain word distance; never less than the
            // distance over keys, which the index filters with (losslessness).
            let surfaces = |v: &[(u8, u8)]| v.iter().map(|w| u32::from(w.0) * 3 + u32::from(w.1)).collect::<Vec<_>>();
            let keys = |v: &[(u8, u8)]| v.iter().map(|w| u32::from(w.1)).collect::<Vec<_>>();
            let plain = super::super::score::word_distance(&surfaces(&q), &surfaces(&s)) as u32;
            let by_key = super::super::score::word_distance(&keys(&q), &keys(&s)) as u32;
            prop_assert!(c.tenths <= plain * WORD_EDIT);
            prop_assert!(c.tenths >= by_key * WORD_EDIT);
        }
    }
}
