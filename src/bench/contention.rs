//! Lookups timed while other threads write and scan (`dhakira bench
//! --background-adds RATE --background-scans N`): the same queries are
//! timed on a quiet memory, then again while one thread adds units at a
//! steady rate and N threads run lookups that read every unit (min_score
//! 0, the index's full scan), and both figures are reported side by side.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::{quantile_ms, Settings};
use crate::error::{Error, Result};
use crate::unit::UnitInput;
use crate::TranslationMemory;

/// What runs beside the timed lookups.
#[derive(Debug, Clone, Copy)]
pub struct Background {
    /// Units added per second, one per request, by one thread.
    pub adds_per_s: f64,
    /// Threads each running full-scan lookups back to back.
    pub scans: usize,
}

/// Latencies of one pass over the queries.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ContentionReport {
    pub units: usize,
    pub queries: usize,
    pub adds_per_s: f64,
    pub scans: usize,
    /// The queries with nothing else running.
    pub quiet: Pass,
    /// The same queries with the background running.
    pub busy: Pass,
    /// `busy.p99_ms / quiet.p99_ms`.
    pub p99_ratio: f64,
    /// Units added meanwhile, and the slowest add (a durable commit).
    pub added: usize,
    pub add_max_ms: f64,
    /// Full scans completed meanwhile.
    pub scans_done: usize,
}

fn pass(tm: &TranslationMemory, queries: &[String], settings: &Settings) -> Result<Pass> {
    let mut latencies = Vec::with_capacity(queries.len());
    for text in queries {
        let at = Instant::now();
        tm.lookup(settings.request(text, false))?;
        latencies.push(at.elapsed());
    }
    latencies.sort();
    Ok(Pass {
        p50_ms: quantile_ms(&latencies, 0.5),
        p99_ms: quantile_ms(&latencies, 0.99),
        max_ms: quantile_ms(&latencies, 1.0),
    })
}

/// Times `queries` quiet, then with `background` running; new units for
/// the adds are made from `pool` (each text with a running number, so none
/// is a duplicate).
pub fn run(
    tm: &TranslationMemory,
    queries: &[String],
    settings: &Settings,
    background: Background,
    pool: &[UnitInput],
) -> Result<ContentionReport> {
    if pool.is_empty() || queries.is_empty() {
        return Err(Error::invalid("queries", "the contention bench needs queries and units to add"));
    }
    let quiet = pass(tm, queries, settings)?;
    let stop = AtomicBool::new(false);
    let scans_done = AtomicUsize::new(0);
    let (busy, (added, add_max)) = std::thread::scope(|scope| -> Result<(Pass, (usize, Duration))> {
        for thread in 0..background.scans {
            let (stop, scans_done) = (&stop, &scans_done);
            scope.spawn(move || {
                let mut request = settings.request("", false);
                request.min_score = Some(0);
                for text in queries.iter().cycle().skip(thread * 7) {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    request.text.clone_from(text);
                    match tm.lookup(request.clone()) {
                        Ok(_) => {
                            scans_done.fetch_add(1, Ordering::Relaxed);
                        }
                        // More scanners than --max-scans places: wait.
                        Err(_) => std::thread::sleep(Duration::from_millis(1)),
                    }
                }
            });
        }
        let adder = scope.spawn(|| add_steadily(tm, pool, background.adds_per_s, &stop));
        let busy = pass(tm, queries, settings);
        stop.store(true, Ordering::Relaxed);
        let added = adder.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        Ok((busy?, added))
    })?;
    Ok(ContentionReport {
        units: tm.stats().total_units as usize,
        queries: queries.len(),
        adds_per_s: background.adds_per_s,
        scans: background.scans,
        p99_ratio: busy.p99_ms / quiet.p99_ms.max(1e-6),
        quiet,
        busy,
        added,
        add_max_ms: add_max.as_secs_f64() * 1e3,
        scans_done: scans_done.into_inner(),
    })
}

/// Adds one unit every `1 / rate` seconds until `stop`; returns how many,
/// and the slowest add.
fn add_steadily(tm: &TranslationMemory, pool: &[UnitInput], rate: f64, stop: &AtomicBool) -> Result<(usize, Duration)> {
    if rate <= 0.0 {
        return Ok((0, Duration::ZERO));
    }
    let every = Duration::from_secs_f64(1.0 / rate);
    let started = Instant::now();
    let (mut added, mut slowest) = (0usize, Duration::ZERO);
    while !stop.load(Ordering::Relaxed) {
        let unit = &pool[added % pool.len()];
        let n = added / pool.len();
        let unit = UnitInput {
            arabic: format!("{} {n}", unit.arabic),
            english: format!("{} {n}", unit.english),
            ..unit.clone()
        };
        let at = Instant::now();
        tm.add_units(vec![unit])?;
        slowest = slowest.max(at.elapsed());
        added += 1;
        let next = started + every * added as u32;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    Ok((added, slowest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::Workload;
    use crate::text::Lang;

    /// The busy pass really runs beside a writer and a scanner, and what the
    /// writer added meanwhile is found by lookups once it is acknowledged.
    #[test]
    fn lookups_are_timed_beside_a_writer_and_a_scanner_whose_units_are_found() {
        let pairs: Vec<(String, String)> = include_str!("../../data/sample/tatoeba_fuzzy_clusters.tsv")
            .lines()
            .filter_map(|line| crate::tsv::parse_line(line).ok().flatten())
            .collect();
        let mut workload = Workload::new(pairs, 3);
        let mut units = workload.units(1_200);
        let pool = units.split_off(1_000);
        let tm = TranslationMemory::in_memory();
        tm.add_units(units.clone()).unwrap();
        let before = tm.stats().total_units as usize;
        let queries = workload.queries(&units, 3_000, Lang::Arabic);
        let settings = Settings {
            lang: Lang::Arabic,
            min_score: 70,
            max_results: 5,
            recall_sample: 0,
            memories: 1,
            cascade: false,
            filter_domain: None,
            concordance: false,
            subsegments: false,
            slowest: 0,
        };
        let background = Background { adds_per_s: 2_000.0, scans: 1 };
        let report = run(&tm, &queries, &settings, background, &pool).unwrap();
        assert!(report.added > 0, "nothing was added during the busy pass");
        assert!(report.scans_done > 0, "no full scan finished during the busy pass");
        // Pool units may repeat one another; none repeats a stored one.
        assert!(report.units > before && report.units <= before + report.added);
        assert!(report.quiet.p50_ms > 0.0 && report.busy.p99_ms >= report.busy.p50_ms);
        // Every unit added meanwhile is found, exactly, by its own text.
        for (i, unit) in pool.iter().take(report.added.min(pool.len())).enumerate().step_by(7) {
            let text = format!("{} 0", unit.arabic);
            let found = tm.lookup(settings.request(&text, false)).unwrap();
            assert!(found.iter().any(|m| m.score == 100 && m.unit.arabic == text), "added unit {i} not found");
        }
    }
}
