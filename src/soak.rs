//! The soak: a real server under a bounded mix of lookups, adds, deletions
//! and imports for a set time, its resident memory and open file
//! descriptors sampled from `/proc`. The data it adds is bounded (a churn
//! memory dropped and refilled, imports of the same file that find every
//! pair stored), so a leak shows as growth. Only `RESOURCE_EXHAUSTED` (load
//! shedding) is an acceptable error.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::error::{Error, Result};
use crate::proto::import_request::Item;
use crate::proto::{
    AddUnitsRequest, DeleteMemoryRequest, ImportOptions, ImportRequest, LookupRequest, UnitBatch, UnitInput,
};

/// One sample of the server process.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Sample {
    pub seconds: f64,
    pub rss_mb: f64,
    pub fds: usize,
}

/// What a soak saw.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub seconds: f64,
    pub lookups: u64,
    pub adds: u64,
    pub imports: u64,
    pub churns: u64,
    /// Calls shed with RESOURCE_EXHAUSTED (deliberate).
    pub shed: u64,
    /// Any other failure, with its message (the first 20).
    pub errors: Vec<String>,
    pub error_count: u64,
    pub samples: Vec<Sample>,
    /// RSS at the end over RSS after the warm-up (the first quarter).
    pub rss_growth: f64,
    /// Largest and smallest descriptor counts after the warm-up.
    pub fds_min: usize,
    pub fds_max: usize,
}

impl SoakReport {
    /// Flat memory (at most 15 % growth after the warm-up), flat
    /// descriptors (within 16) and no error but load shedding.
    pub fn passed(&self) -> bool {
        self.error_count == 0 && self.rss_growth <= 1.15 && self.fds_max - self.fds_min <= 16
    }
}

#[derive(Default)]
struct Counts {
    lookups: AtomicU64,
    adds: AtomicU64,
    imports: AtomicU64,
    churns: AtomicU64,
    shed: AtomicU64,
    errors: AtomicU64,
}

/// Runs the mix against the server at `url` (process `pid`) for `duration`,
/// with `pairs` as the data.
pub async fn run(url: &str, pid: u32, duration: Duration, pairs: Vec<(String, String)>) -> Result<SoakReport> {
    let failed = |err: String| Error::Input { path: url.to_owned(), reason: err };
    let connect = || async { crate::server::connect(url).await.map_err(|err| failed(err.to_string())) };
    let pairs = Arc::new(pairs);
    let counts = Arc::new(Counts::default());
    let errors = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let record = {
        let (counts, errors) = (Arc::clone(&counts), Arc::clone(&errors));
        move |status: tonic::Status| {
            if status.code() == tonic::Code::ResourceExhausted {
                counts.shed.fetch_add(1, Ordering::Relaxed);
            } else {
                counts.errors.fetch_add(1, Ordering::Relaxed);
                let mut errors = errors.lock().expect("not poisoned");
                if errors.len() < 20 {
                    errors.push(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    };

    // The reference data every lookup can find.
    let mut client = connect().await?;
    for chunk in pairs.chunks(5_000) {
        let units = chunk.iter().map(|(a, e)| unit(a, e, "reference")).collect();
        client.add_units(AddUnitsRequest { units }).await.map_err(|s| failed(s.message().to_owned()))?;
    }

    let mut tasks = Vec::new();
    // Lookups: six clients, both directions.
    for task in 0..6u64 {
        let (mut client, pairs, counts, stop, record) =
            (connect().await?, Arc::clone(&pairs), Arc::clone(&counts), Arc::clone(&stop), record.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = task as usize * 7919;
            while !stop.load(Ordering::Relaxed) {
                n = (n + 104_729) % pairs.len();
                let (arabic, english) = &pairs[n];
                let (text, lang) = if n % 2 == 0 { (arabic, "ar") } else { (english, "en") };
                let text = text.rsplit_once(' ').map_or(text.as_str(), |(head, _)| head).to_owned();
                let request = LookupRequest { text, source_lang: lang.into(), ..Default::default() };
                match client.lookup(request).await {
                    Ok(_) => counts.lookups.fetch_add(1, Ordering::Relaxed),
                    Err(status) => {
                        record(status);
                        0
                    }
                };
            }
        }));
    }
    // Adds into a churn memory, dropped and refilled every 2,000 units.
    {
        let (mut client, pairs, counts, stop, record) =
            (connect().await?, Arc::clone(&pairs), Arc::clone(&counts), Arc::clone(&stop), record.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::Relaxed) {
                let units: Vec<UnitInput> = (0..20)
                    .map(|k| {
                        let (a, e) = &pairs[(n + k) % pairs.len()];
                        unit(&format!("{a} [{n}-{k}]"), &format!("{e} [{n}-{k}]"), "churn")
                    })
                    .collect();
                n += 20;
                match client.add_units(AddUnitsRequest { units }).await {
                    Ok(_) => counts.adds.fetch_add(1, Ordering::Relaxed),
                    Err(status) => {
                        record(status);
                        0
                    }
                };
                if n % 2_000 == 0 {
                    match client.delete_memory(DeleteMemoryRequest { name: "churn".into() }).await {
                        Ok(_) => counts.churns.fetch_add(1, Ordering::Relaxed),
                        Err(status) => {
                            record(status);
                            0
                        }
                    };
                }
            }
        }));
    }
    // Imports of the same units: after the first, every pair is stored.
    {
        let (mut client, pairs, counts, stop, record) =
            (connect().await?, Arc::clone(&pairs), Arc::clone(&counts), Arc::clone(&stop), record.clone());
        tasks.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let mut messages = vec![ImportRequest {
                    item: Some(Item::Options(ImportOptions { memory: "imported".into(), ..Default::default() })),
                }];
                messages.extend(pairs.chunks(1_000).take(5).map(|chunk| ImportRequest {
                    item: Some(Item::Units(UnitBatch { units: chunk.iter().map(|(a, e)| unit(a, e, "")).collect() })),
                }));
                match client.import(tokio_stream::iter(messages)).await {
                    Ok(_) => counts.imports.fetch_add(1, Ordering::Relaxed),
                    Err(status) => {
                        record(status);
                        0
                    }
                };
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }

    // Samples every few seconds until the time is up.
    let started = Instant::now();
    let every = (duration / 30).clamp(Duration::from_secs(1), Duration::from_secs(10));
    let mut samples = Vec::new();
    while started.elapsed() < duration {
        samples.push(sample(pid, started.elapsed())?);
        tokio::time::sleep(every.min(duration.saturating_sub(started.elapsed()))).await;
    }
    samples.push(sample(pid, started.elapsed())?);
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }

    let warm = &samples[samples.len() / 4..];
    let rss_growth = samples.last().map_or(1.0, |last| last.rss_mb / warm[0].rss_mb.max(1.0));
    let errors = errors.lock().expect("not poisoned").clone();
    Ok(SoakReport {
        seconds: started.elapsed().as_secs_f64(),
        lookups: counts.lookups.load(Ordering::Relaxed),
        adds: counts.adds.load(Ordering::Relaxed),
        imports: counts.imports.load(Ordering::Relaxed),
        churns: counts.churns.load(Ordering::Relaxed),
        shed: counts.shed.load(Ordering::Relaxed),
        error_count: counts.errors.load(Ordering::Relaxed),
        errors,
        rss_growth,
        fds_min: warm.iter().map(|s| s.fds).min().unwrap_or(0),
        fds_max: warm.iter().map(|s| s.fds).max().unwrap_or(0),
        samples,
    })
}

fn unit(arabic: &str, english: &str, memory: &str) -> UnitInput {
    UnitInput { arabic: arabic.into(), english: english.into(), memory: memory.into(), ..Default::default() }
}

/// RSS and open descriptors of process `pid`, from `/proc`.
fn sample(pid: u32, at: Duration) -> Result<Sample> {
    let proc = |what: &str| format!("/proc/{pid}/{what}");
    let status = std::fs::read_to_string(proc("status"))
        .map_err(|err| Error::Input { path: proc("status"), reason: err.to_string() })?;
    let rss_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0);
    let fds = std::fs::read_dir(proc("fd"))
        .map_err(|err| Error::Input { path: proc("fd"), reason: err.to_string() })?
        .count();
    Ok(Sample { seconds: at.as_secs_f64(), rss_mb: rss_kb / 1024.0, fds })
}
