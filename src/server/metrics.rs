//! Prometheus metrics (`GET /metrics`) and the one log line per request.
//!
//! Every gRPC call and REST request goes through [`Metrics::observe`]: it
//! counts the request by method and status code, records its latency, and
//! logs one line with both. Units per memory are read from the engine when
//! `/metrics` is scraped.

use std::time::Instant;

use prometheus::{
    Encoder, Gauge, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::import::ImportSummary;
use crate::memory::TranslationMemory;

/// Latency buckets, in seconds: lookups take well under a millisecond to a
/// few tens; imports and exports take seconds to minutes.
const BUCKETS: [f64; 16] =
    [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 300.0];

/// The server's metrics.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    imported: IntCounterVec,
    units: IntGaugeVec,
    replication: Replication,
}

/// Where the node stands in the change log (several nodes on PostgreSQL;
/// all 0 on sled).
#[derive(Clone)]
struct Replication {
    applied: IntGauge,
    head: IntGauge,
    behind: Gauge,
    last_lag: Gauge,
    since_contact: Gauge,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new("dhakira_requests_total", "Requests by method (gRPC method or REST route) and status code"),
            &["method", "code"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new("dhakira_request_duration_seconds", "Request latency by method")
                .buckets(BUCKETS.to_vec()),
            &["method"],
        )
        .expect("valid metric");
        let imported = IntCounterVec::new(
            Opts::new("dhakira_imported_units_total", "Units read by imports, by outcome"),
            &["outcome"],
        )
        .expect("valid metric");
        let units =
            IntGaugeVec::new(Opts::new("dhakira_units", "Units stored, by memory"), &["memory"]).expect("valid metric");
        let replication = Replication {
            applied: IntGauge::new(
                "dhakira_replication_applied_sequence",
                "The highest change-log sequence this node has applied to its index",
            )
            .expect("valid metric"),
            head: IntGauge::new(
                "dhakira_replication_head_sequence",
                "The highest change-log sequence this node has seen committed",
            )
            .expect("valid metric"),
            behind: Gauge::new(
                "dhakira_replication_behind_seconds",
                "How long this node has been behind the change log's head (0: caught up)",
            )
            .expect("valid metric"),
            last_lag: Gauge::new(
                "dhakira_replication_last_lag_seconds",
                "From the commit of the last change of another node to its application here",
            )
            .expect("valid metric"),
            since_contact: Gauge::new(
                "dhakira_replication_since_contact_seconds",
                "Since this node last read the change log (-1: it cannot reach the database)",
            )
            .expect("valid metric"),
        };
        for metric in [
            Box::new(requests.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(latency.clone()),
            Box::new(imported.clone()),
            Box::new(units.clone()),
            Box::new(replication.applied.clone()),
            Box::new(replication.head.clone()),
            Box::new(replication.behind.clone()),
            Box::new(replication.last_lag.clone()),
            Box::new(replication.since_contact.clone()),
        ] {
            registry.register(metric).expect("metric names are distinct");
        }
        Metrics { registry, requests, latency, imported, units, replication }
    }

    /// Records a finished request: its method (`Lookup`, `amagama`…), its
    /// status code (a gRPC code name such as `OK` or `INVALID_ARGUMENT`, or
    /// an HTTP status), and how long it took since `started`; logs one line.
    pub fn observe(&self, method: &str, code: &str, started: Instant) {
        let seconds = started.elapsed().as_secs_f64();
        self.requests.with_label_values(&[method, code]).inc();
        self.latency.with_label_values(&[method]).observe(seconds);
        // Milliseconds to the microsecond: `ms=0.652`, not `ms=0.6520859999999999`.
        let ms = (seconds * 1e6).round() / 1e3;
        tracing::info!(target: "dhakira::request", method, code, ms, "request");
    }

    /// Counts what an import did.
    pub fn imported(&self, summary: &ImportSummary) {
        for (outcome, count) in [
            ("added", summary.added),
            ("updated", summary.updated),
            ("duplicate", summary.duplicates),
            ("kept_newer", summary.kept_newer),
            ("rejected", summary.rejected),
        ] {
            self.imported.with_label_values(&[outcome]).inc_by(count);
        }
    }

    /// The metrics in Prometheus' text format, units per memory read now.
    pub fn render(&self, tm: &TranslationMemory) -> String {
        self.units.reset();
        for (memory, units) in tm.stats().memories {
            self.units.with_label_values(&[memory.as_str()]).set(units as i64);
        }
        let status = tm.replication();
        if status.enabled {
            let r = &self.replication;
            r.applied.set(status.applied as i64);
            r.head.set(status.head as i64);
            r.behind.set(status.behind.as_secs_f64());
            r.last_lag.set(status.last_lag_ms as f64 / 1e3);
            r.since_contact.set(status.since_contact.map_or(-1.0, |d| d.as_secs_f64()));
        }
        let mut out = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut out).expect("encoding to a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

/// The name of a gRPC status code as Prometheus labels show it.
pub fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code::*;
    match code {
        Ok => "OK",
        Cancelled => "CANCELLED",
        Unknown => "UNKNOWN",
        InvalidArgument => "INVALID_ARGUMENT",
        DeadlineExceeded => "DEADLINE_EXCEEDED",
        NotFound => "NOT_FOUND",
        AlreadyExists => "ALREADY_EXISTS",
        PermissionDenied => "PERMISSION_DENIED",
        ResourceExhausted => "RESOURCE_EXHAUSTED",
        FailedPrecondition => "FAILED_PRECONDITION",
        Aborted => "ABORTED",
        OutOfRange => "OUT_OF_RANGE",
        Unimplemented => "UNIMPLEMENTED",
        Internal => "INTERNAL",
        Unavailable => "UNAVAILABLE",
        DataLoss => "DATA_LOSS",
        Unauthenticated => "UNAUTHENTICATED",
    }
}
