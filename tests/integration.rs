//! Dhakira's integration tests: one binary (linking is the slow part). Each
//! test starts the real `dhakira` server on 127.0.0.1 with a temporary
//! database and talks to it with the generated tonic client.

/// Host names, web origins, CORS and JSONP; a real browser against the server.
mod browsers;
/// README's examples run as written; the command line's output and errors.
mod cli;
/// Starting servers, clients and reading the corpus in data/corpus.
mod common;
/// kill -9 under concurrent writes and imports, and during start-up
/// (ignored by default: `.ci/run` runs them).
mod crash;
/// One test per row of README's error table.
mod errors;
/// A full disk, an unwritable directory, damaged data.
mod faults;
/// Sub-segment matches against a brute force on the corpus, fragment
/// assembly, similar documents.
mod fragments;
/// The fuzz targets' checks on their saved corpora.
mod fuzz_replay;
/// The gRPC contract: adds, lookups in both directions, get, delete, stats, errors.
mod grpc;
/// Import and Export over gRPC: streams, policies, round trips.
mod import;
/// The index against the reference on the real corpus.
mod index;
/// Restarts (graceful and kill -9), the database lock, the bundled sample.
mod lifecycle;
/// Silent connections, deadlines that stop the work, admission for every
/// protocol, idle streams, huge repeated fields, long streams, big writes.
mod load;
/// Several nodes on one PostgreSQL: changes followed through the change
/// log, read-your-writes, kill -9, a PostgreSQL restart, late start.
mod nodes;
/// The PostgreSQL store: a server on a throw-away cluster, restarts, import.
mod postgres;
/// The amaGama/tmserver and MyMemory REST facades.
mod rest;
/// API keys and roles, TLS, --insecure, request timeout.
mod security;
/// gRPC-web over HTTP/1.1 with CORS, and gzip.
mod web;
/// The web app for translators in headless Chromium (chromedriver), and
/// its JSON API.
mod webapp;
/// Memories, cascades, metadata, context, concordance, maintenance,
/// LookupStream, and analyzing a real article.
mod workflow;
