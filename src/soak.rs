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

type Client = crate::proto::translation_memory_client::TranslationMemoryClient<tonic::transport::Channel>;

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

/// What the soak's clients share: the data, the counts, the first errors
/// and the flag that stops them.
#[derive(Default)]
struct Shared {
    pairs: Vec<(String, String)>,
    counts: Counts,
    errors: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn running(&self) -> bool {
        !self.stop.load(Ordering::Relaxed)
    }

    /// Counts a call that succeeded in `counter`, or records its failure:
    /// RESOURCE_EXHAUSTED is load shedding (deliberate), anything else an
    /// error (the first 20 kept with their message).
    fn count<T>(&self, counter: &AtomicU64, result: std::result::Result<T, tonic::Status>) {
        match result {
            Ok(_) => {
                counter.fetch_add(1, Ordering::Relaxed);
            }
            Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                self.counts.shed.fetch_add(1, Ordering::Relaxed);
            }
            Err(status) => {
                self.counts.errors.fetch_add(1, Ordering::Relaxed);
                let mut errors = self.errors.lock().expect("not poisoned");
                if errors.len() < 20 {
                    errors.push(format!("{:?}: {}", status.code(), status.message()));
                }
            }
        }
    }
}

/// Runs the mix against the server at `url` (process `pid`) for `duration`,
/// with `pairs` as the data.
pub async fn run(url: &str, pid: u32, duration: Duration, pairs: Vec<(String, String)>) -> Result<SoakReport> {
    let failed = |err: String| Error::Input { path: url.to_owned(), reason: err };
    let connect = || async { crate::server::connect(url).await.map_err(|err| failed(err.to_string())) };
    let shared = Arc::new(Shared { pairs, ..Shared::default() });

    // The reference data every lookup can find.
    let mut client = connect().await?;
    for chunk in shared.pairs.chunks(5_000) {
        let units = chunk.iter().map(|(a, e)| unit(a, e, "reference")).collect();
        client.add_units(AddUnitsRequest { units }).await.map_err(|s| failed(s.message().to_owned()))?;
    }

    let mut tasks = Vec::new();
    // Lookups: six clients, both directions.
    for task in 0..6 {
        tasks.push(tokio::spawn(lookups(connect().await?, Arc::clone(&shared), task)));
    }
    tasks.push(tokio::spawn(churn(connect().await?, Arc::clone(&shared))));
    tasks.push(tokio::spawn(imports(connect().await?, Arc::clone(&shared))));

    // Samples every few seconds until the time is up.
    let started = Instant::now();
    let every = (duration / 30).clamp(Duration::from_secs(1), Duration::from_secs(10));
    let mut samples = Vec::new();
    while started.elapsed() < duration {
        samples.push(sample(pid, started.elapsed())?);
        tokio::time::sleep(every.min(duration.saturating_sub(started.elapsed()))).await;
    }
    samples.push(sample(pid, started.elapsed())?);
    shared.stop.store(true, Ordering::Relaxed);
    for task in tasks {
        let _ = task.await;
    }
    Ok(report(&shared, started.elapsed(), samples))
}

/// Looks up a pair's text without its last word, in turn Arabic and
/// English, stepping through the pairs from a place of its own.
async fn lookups(mut client: Client, shared: Arc<Shared>, task: usize) {
    let pairs = &shared.pairs;
    let mut n = task * 7919;
    while shared.running() {
        n = (n + 104_729) % pairs.len();
        let (arabic, english) = &pairs[n];
        let (text, lang) = if n % 2 == 0 { (arabic, "ar") } else { (english, "en") };
        let text = text.rsplit_once(' ').map_or(text.as_str(), |(head, _)| head).to_owned();
        let request = LookupRequest { text, source_lang: lang.into(), ..Default::default() };
        shared.count(&shared.counts.lookups, client.lookup(request).await);
    }
}

/// Adds into a churn memory, dropped and refilled every 2,000 units.
async fn churn(mut client: Client, shared: Arc<Shared>) {
    let pairs = &shared.pairs;
    let mut n = 0usize;
    while shared.running() {
        let units: Vec<UnitInput> = (0..20)
            .map(|k| {
                let (a, e) = &pairs[(n + k) % pairs.len()];
                unit(&format!("{a} [{n}-{k}]"), &format!("{e} [{n}-{k}]"), "churn")
            })
            .collect();
        n += 20;
        shared.count(&shared.counts.adds, client.add_units(AddUnitsRequest { units }).await);
        if n % 2_000 == 0 {
            let dropped = client.delete_memory(DeleteMemoryRequest { name: "churn".into() }).await;
            shared.count(&shared.counts.churns, dropped);
        }
    }
}

/// Imports of the same units: after the first, every pair is stored.
async fn imports(mut client: Client, shared: Arc<Shared>) {
    while shared.running() {
        let mut messages = vec![ImportRequest {
            item: Some(Item::Options(ImportOptions { memory: "imported".into(), ..Default::default() })),
        }];
        messages.extend(shared.pairs.chunks(1_000).take(5).map(|chunk| ImportRequest {
            item: Some(Item::Units(UnitBatch { units: chunk.iter().map(|(a, e)| unit(a, e, "")).collect() })),
        }));
        shared.count(&shared.counts.imports, client.import(tokio_stream::iter(messages)).await);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The counts, and memory and descriptors after the warm-up (the first
/// quarter of the samples).
fn report(shared: &Shared, elapsed: Duration, samples: Vec<Sample>) -> SoakReport {
    let counts = &shared.counts;
    let warm = &samples[samples.len() / 4..];
    let rss_growth = samples.last().map_or(1.0, |last| last.rss_mb / warm[0].rss_mb.max(1.0));
    SoakReport {
        seconds: elapsed.as_secs_f64(),
        lookups: counts.lookups.load(Ordering::Relaxed),
        adds: counts.adds.load(Ordering::Relaxed),
        imports: counts.imports.load(Ordering::Relaxed),
        churns: counts.churns.load(Ordering::Relaxed),
        shed: counts.shed.load(Ordering::Relaxed),
        error_count: counts.errors.load(Ordering::Relaxed),
        errors: shared.errors.lock().expect("not poisoned").clone(),
        rss_growth,
        fds_min: warm.iter().map(|s| s.fds).min().unwrap_or(0),
        fds_max: warm.iter().map(|s| s.fds).max().unwrap_or(0),
        samples,
    }
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
