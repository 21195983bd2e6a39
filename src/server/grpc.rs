//! The `dhakira.v1.TranslationMemory` service: each handler checks the
//! caller's rights, converts the request, calls the engine off the async
//! reactor, and converts the answer (the conversions are all in
//! `server::conversions`). Streams (Import, Export, LookupStream) also hold
//! their plumbing here: queues, idle timeouts, chunking.

use std::io::{self, Read, Write};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status, Streaming};

use super::metrics::{code_name, Metrics};
use super::{read_scope, readable, Limits};
use crate::analysis::AnalyzeRequest;
use crate::auth::{Principal, Role};
use crate::cancel::Cancel;
use crate::export::{export, ExportFilter};
use crate::import::{import, import_units, ImportOptions, ImportSummary};
use crate::matching::UnitFilter;
use crate::memory::{ConcordanceRequest, LookupRequest, TranslationMemory, MAX_UNITS_PER_REQUEST};
use crate::proto;
use crate::proto::import_request::Item;
use crate::unit::{memory_name, UnitEdit, UnitInput};

/// Messages of an Import stream queued between the network and the importer.
const IMPORT_QUEUE: usize = 8;

/// Bytes per ExportChunk.
const EXPORT_CHUNK_BYTES: usize = 256 << 10;

/// The gRPC service over one [`TranslationMemory`]. Admission and
/// deadlines are the admission layer's (see `server::admission`).
#[derive(Clone)]
pub struct Service {
    tm: TranslationMemory,
    metrics: Metrics,
    /// How long a stream waits for its client's next message, or for its
    /// client to read.
    stream_idle: Duration,
}

impl Service {
    pub fn new(tm: TranslationMemory, metrics: Metrics, limits: &Limits) -> Service {
        Service { tm, metrics, stream_idle: limits.stream_idle_timeout }
    }

    /// Who is calling, as the authentication layer (`server::authn`) found
    /// (`UNAUTHENTICATED` if it did not run).
    fn principal<R>(&self, request: &Request<R>) -> Result<Principal, Status> {
        request
            .extensions()
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("the request was not authenticated"))
    }

    /// Counts, times and logs a finished call (see [`Metrics::observe`]).
    fn observed<T>(&self, method: &str, started: Instant, result: Result<T, Status>) -> Result<T, Status> {
        let code = result.as_ref().map_or_else(Status::code, |_| tonic::Code::Ok);
        self.metrics.observe(method, code_name(code), started);
        result
    }

    /// A unary call (admitted by the admission layer): authenticated, run
    /// on the blocking pool with the caller's rights and the request's
    /// [`Cancel`] (raised at its deadline), observed.
    async fn unary<R, T: Send + 'static>(
        &self,
        method: &str,
        request: Request<R>,
        work: impl FnOnce(&TranslationMemory, &Principal, R, Cancel) -> crate::Result<T> + Send + 'static,
    ) -> Result<Response<T>, Status>
    where
        R: Send + 'static,
    {
        let started = Instant::now();
        let result = async {
            let principal = self.principal(&request)?;
            let cancel = request.extensions().get::<Cancel>().cloned().unwrap_or_default();
            let request = request.into_inner();
            let (answer, sequence) = self
                .blocking(move |tm| {
                    let answer = work(tm, &principal, request, cancel)?;
                    Ok((answer, tm.sequence()))
                })
                .await?;
            let mut response = Response::new(answer);
            if sequence > 0 {
                // Every answer of a node with a change log says how far the
                // node has committed: for a write whose answer has no
                // `change_sequence` field (UpdateUnit, ConfirmUse,
                // CreateMemory), the sequence to pass as `min_sequence`.
                response.metadata_mut().insert(CHANGE_SEQUENCE_HEADER, sequence.into());
            }
            Ok(response)
        }
        .await;
        self.observed(method, started, result)
    }

    /// Runs engine work on the blocking pool: it flushes to disk and scores
    /// thousands of units, which must not stall the reactor.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&TranslationMemory) -> crate::Result<T> + Send + 'static,
    ) -> Result<T, Status> {
        let tm = self.tm.clone();
        tokio::task::spawn_blocking(move || work(&tm))
            .await
            .map_err(|err| Status::internal(format!("request task failed: {err}")))?
            .map_err(Status::from)
    }
}

/// The response header (gRPC metadata) with the node's last committed
/// change sequence, on every unary answer of a node with a change log.
pub const CHANGE_SEQUENCE_HEADER: &str = "dhakira-change-sequence";

/// Raises a [`Cancel`] when dropped.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// PERMISSION_DENIED naming `unit_id` unless the caller holds `role` on the
/// unit's memory, whether or not the unit exists (ids of other memories are
/// not revealed). A caller with `role` everywhere is not checked: the
/// engine's own call reads the unit (and says NOT_FOUND).
pub(super) fn check_unit(tm: &TranslationMemory, principal: &Principal, id: u64, role: Role) -> crate::Result<()> {
    if principal.can_everywhere(role) {
        return Ok(());
    }
    // A unit of a memory the key may not use and a unit that does not exist
    // get the same answer: else walking ids would reveal every memory's
    // name and size.
    match tm.get_unit(id) {
        Ok(unit) if principal.can(role, &unit.memory) => Ok(()),
        Ok(_) | Err(crate::Error::NotFound { .. }) => Err(principal.denied_unit(role, id, "unit_id")),
        Err(err) => Err(err),
    }
}

#[tonic::async_trait]
impl proto::translation_memory_server::TranslationMemory for Service {
    async fn add_units(
        &self,
        request: Request<proto::AddUnitsRequest>,
    ) -> Result<Response<proto::AddUnitsResponse>, Status> {
        self.unary("AddUnits", request, |tm, principal, request, _| {
            let units: Vec<UnitInput> = request.units.into_iter().map(UnitInput::from).collect();
            for (i, unit) in units.iter().enumerate() {
                let memory = if unit.memory.is_empty() { crate::unit::DEFAULT_MEMORY } else { unit.memory.as_str() };
                principal.require(Role::Write, memory, &format!("units[{i}].memory"))?;
            }
            let added = tm.add_units(units)?;
            Ok(proto::AddUnitsResponse { change_sequence: tm.sequence(), ..added.into() })
        })
        .await
    }

    async fn lookup(&self, request: Request<proto::LookupRequest>) -> Result<Response<proto::LookupResponse>, Status> {
        self.unary("Lookup", request, lookup_as).await
    }

    async fn get_unit(&self, request: Request<proto::GetUnitRequest>) -> Result<Response<proto::Unit>, Status> {
        self.unary("GetUnit", request, |tm, principal, request, _| {
            check_unit(tm, principal, request.unit_id, Role::Read)?;
            Ok(tm.get_unit(request.unit_id)?.into())
        })
        .await
    }

    async fn delete_unit(
        &self,
        request: Request<proto::DeleteUnitRequest>,
    ) -> Result<Response<proto::DeleteUnitResponse>, Status> {
        self.unary("DeleteUnit", request, |tm, principal, request, _| {
            check_unit(tm, principal, request.unit_id, Role::Write)?;
            tm.delete_unit(request.unit_id)?;
            Ok(proto::DeleteUnitResponse { change_sequence: tm.sequence() })
        })
        .await
    }

    async fn stats(&self, request: Request<proto::StatsRequest>) -> Result<Response<proto::StatsResponse>, Status> {
        self.unary("Stats", request, |tm, principal, _, _| {
            let mut stats = tm.stats();
            if !principal.can_everywhere(Role::Read) {
                stats.memories.retain(|(name, _)| principal.can(Role::Read, name));
                stats.total_units = stats.memories.iter().map(|(_, units)| units).sum();
            }
            Ok(stats.into())
        })
        .await
    }

    async fn import(
        &self,
        request: Request<Streaming<proto::ImportRequest>>,
    ) -> Result<Response<proto::ImportSummary>, Status> {
        let started = Instant::now();
        let result = async {
            let principal = self.principal(&request)?;
            let mut stream = request.into_inner();
            let idle = self.stream_idle;
            let options = match next_message(&mut stream, idle).await? {
                Some(proto::ImportRequest { item: Some(Item::Options(options)) }) => ImportOptions::try_from(options)?,
                Some(_) => {
                    return Err(Status::invalid_argument(
                        "options: the first message of an import must hold the options",
                    ))
                }
                None => return Err(Status::invalid_argument("options: the import stream is empty")),
            };
            // Units go to the named memory, or wherever the file says: then
            // the key must be able to write anywhere.
            match &options.memory {
                Some(memory) => principal.require(Role::Write, memory, "options.memory")?,
                None => principal.require_everywhere(Role::Write, "options.memory")?,
            }
            let (mut messages, went_idle) = forward(stream, idle);
            // The importer (a blocking thread) starts with the first data
            // message: until then a silent client holds no thread.
            let first = messages.recv().await;
            let summary = self
                .blocking(move |tm| {
                    let mut messages = Messages { queue: messages, pending: first };
                    match messages.peek_kind() {
                        Some(Kind::Units) => import_units(tm, messages.units(), &options, &mut |_, _| {}),
                        _ => import(tm, messages, &options, &mut |_, _| {}),
                    }
                })
                .await?;
            self.metrics.imported(&summary);
            import_answer(summary, self.tm.sequence(), went_idle.load(Ordering::Relaxed))
        }
        .await;
        self.observed("Import", started, result)
    }

    type ExportStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::ExportChunk, Status>> + Send>>;

    async fn export(&self, request: Request<proto::ExportRequest>) -> Result<Response<Self::ExportStream>, Status> {
        let started = Instant::now();
        let principal = match self.principal(&request) {
            Ok(principal) => principal,
            Err(status) => return self.observed("Export", started, Err(status)),
        };
        let filter = ExportFilter::from(request.into_inner());
        // Checking the memories reads the index: off the reactor.
        let filter = self
            .blocking(move |tm| {
                let mut filter = filter.validate("memories")?;
                // The right to read first: a memory the key may not read is
                // refused the same way whether or not it exists.
                if let Some(readable) = readable(tm, &principal, &filter.memories, "memories")? {
                    if readable.is_empty() {
                        return Err(principal.require_everywhere(Role::Read, "memories").unwrap_err());
                    }
                    filter.memories = readable;
                }
                filter.check_memories(tm)?;
                Ok(filter)
            })
            .await;
        let filter = match filter {
            Ok(filter) => filter,
            Err(status) => return self.observed("Export", started, Err(status)),
        };
        let (chunks, stream) = mpsc::channel(4);
        let service = self.clone();
        // Counted when the stream ends: that is when the export succeeded or
        // failed.
        let runtime = tokio::runtime::Handle::current();
        let idle = self.stream_idle;
        tokio::task::spawn_blocking(move || {
            let out =
                ChunkWriter { chunks: chunks.clone(), buffer: Vec::with_capacity(EXPORT_CHUNK_BYTES), runtime, idle };
            let result = export(&service.tm, out, &filter).map_err(Status::from);
            if let Err(status) = service.observed("Export", started, result) {
                // The client may be gone already; then nobody needs to know.
                let _ = chunks.blocking_send(Err(status));
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }

    async fn create_memory(
        &self,
        request: Request<proto::CreateMemoryRequest>,
    ) -> Result<Response<proto::Memory>, Status> {
        self.unary("CreateMemory", request, |tm, principal, r, _| {
            principal.require(Role::Admin, &r.name, "name")?;
            tm.create_memory(&r.name, &r.description).map(Into::into)
        })
        .await
    }

    async fn list_memories(
        &self,
        request: Request<proto::ListMemoriesRequest>,
    ) -> Result<Response<proto::ListMemoriesResponse>, Status> {
        self.unary("ListMemories", request, |tm, principal, _, _| {
            let memories = tm.list_memories()?.into_iter().filter(|m| principal.can(Role::Read, &m.name));
            Ok(proto::ListMemoriesResponse { memories: memories.map(Into::into).collect() })
        })
        .await
    }

    async fn delete_memory(
        &self,
        request: Request<proto::DeleteMemoryRequest>,
    ) -> Result<Response<proto::DeleteMemoryResponse>, Status> {
        self.unary("DeleteMemory", request, |tm, principal, r, _| {
            principal.require(Role::Admin, &r.name, "name")?;
            let deleted_units = tm.delete_memory(&r.name)?;
            Ok(proto::DeleteMemoryResponse { deleted_units, change_sequence: tm.sequence() })
        })
        .await
    }

    async fn update_unit(&self, request: Request<proto::UpdateUnitRequest>) -> Result<Response<proto::Unit>, Status> {
        self.unary("UpdateUnit", request, |tm, principal, r, _| {
            let id = r.unit_id;
            let edit = UnitEdit::from(r);
            check_unit(tm, principal, id, Role::Write)?;
            if edit.fields.iter().any(|f| f == "memory") {
                let memory = memory_name(&edit.values.memory, "unit.memory")?;
                principal.require(Role::Write, &memory, "unit.memory")?;
            }
            tm.update_unit(id, edit).map(Into::into)
        })
        .await
    }

    async fn delete_units(
        &self,
        request: Request<proto::DeleteUnitsRequest>,
    ) -> Result<Response<proto::DeleteUnitsResponse>, Status> {
        self.unary("DeleteUnits", request, |tm, principal, r, _| {
            if r.memories.is_empty() {
                principal.require_everywhere(Role::Write, "memories")?;
            }
            for (i, memory) in r.memories.iter().enumerate() {
                principal.require(Role::Write, memory, &format!("memories[{i}]"))?;
            }
            let filter = r.filter.map(UnitFilter::from).unwrap_or_default();
            let deleted = tm.delete_units(&r.memories, filter, r.dry_run)?;
            Ok(proto::DeleteUnitsResponse { deleted, change_sequence: tm.sequence() })
        })
        .await
    }

    async fn confirm_use(&self, request: Request<proto::ConfirmUseRequest>) -> Result<Response<proto::Unit>, Status> {
        self.unary("ConfirmUse", request, |tm, principal, r, _| {
            // A use is what a reader records: plugins that only look up may
            // confirm what they inserted.
            check_unit(tm, principal, r.unit_id, Role::Read)?;
            tm.confirm_use(r.unit_id).map(Into::into)
        })
        .await
    }

    async fn conflicts(
        &self,
        request: Request<proto::ConflictsRequest>,
    ) -> Result<Response<proto::ConflictsResponse>, Status> {
        self.unary("Conflicts", request, |tm, principal, r, _| {
            let Some(memories) = read_scope(tm, principal, r.memories)? else {
                return Ok(proto::ConflictsResponse::default());
            };
            let (conflicts, total) = tm.conflicts(&memories, r.max_groups)?;
            Ok(proto::ConflictsResponse { conflicts: conflicts.into_iter().map(Into::into).collect(), total })
        })
        .await
    }

    async fn concordance(
        &self,
        request: Request<proto::ConcordanceRequest>,
    ) -> Result<Response<proto::ConcordanceResponse>, Status> {
        self.unary("Concordance", request, |tm, principal, request, cancel| {
            let mut request = ConcordanceRequest { cancel, ..ConcordanceRequest::from(request) };
            let Some(memories) = read_scope(tm, principal, std::mem::take(&mut request.memories))? else {
                return Ok(proto::ConcordanceResponse::default());
            };
            request.memories = memories;
            tm.concordance(request).map(Into::into)
        })
        .await
    }

    type LookupStreamStream = Pin<Box<dyn tokio_stream::Stream<Item = Result<proto::LookupResponse, Status>> + Send>>;

    async fn lookup_stream(
        &self,
        request: Request<Streaming<proto::LookupRequest>>,
    ) -> Result<Response<Self::LookupStreamStream>, Status> {
        let started = Instant::now();
        let principal = match self.principal(&request) {
            Ok(principal) => principal,
            Err(status) => return self.observed("LookupStream", started, Err(status)),
        };
        let mut requests = request.into_inner();
        let (responses, stream) = mpsc::channel(16);
        let service = self.clone();
        tokio::spawn(async move {
            let result: Result<(), Status> = async {
                while let Some(request) = next_message(&mut requests, service.stream_idle).await? {
                    let principal = principal.clone();
                    // Cancelled when the client goes away (the stream is dropped
                    // mid-lookup).
                    let cancel = Cancel::new();
                    let _stop = CancelOnDrop(cancel.clone());
                    let response = service.blocking(move |tm| lookup_as(tm, &principal, request, cancel)).await?;
                    if responses.send(Ok(response)).await.is_err() {
                        break; // the client went away
                    }
                }
                Ok(())
            }
            .await;
            if let Err(status) = service.observed("LookupStream", started, result) {
                let _ = responses.send(Err(status)).await;
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(stream))))
    }

    async fn analyze(
        &self,
        request: Request<proto::AnalyzeRequest>,
    ) -> Result<Response<proto::AnalyzeResponse>, Status> {
        self.unary("Analyze", request, |tm, principal, request, cancel| {
            let include_segments = request.include_segments;
            let mut request = AnalyzeRequest { cancel, ..AnalyzeRequest::from(request) };
            let Some(memories) = read_scope(tm, principal, std::mem::take(&mut request.memories))? else {
                return Err(principal.require_everywhere(Role::Read, "memories").unwrap_err());
            };
            request.memories = memories;
            let mut response = proto::AnalyzeResponse::from(tm.analyze(request)?);
            if !include_segments {
                response.segments.clear();
            }
            Ok(response)
        })
        .await
    }
}

/// A lookup with the caller's rights: the memories it names must be
/// readable; naming none searches the ones the caller may read.
fn lookup_as(
    tm: &TranslationMemory,
    principal: &Principal,
    request: proto::LookupRequest,
    cancel: Cancel,
) -> crate::Result<proto::LookupResponse> {
    let mut request = LookupRequest { cancel, ..LookupRequest::from(request) };
    let Some(memories) = read_scope(tm, principal, std::mem::take(&mut request.memories))? else {
        return Ok(proto::LookupResponse::default());
    };
    request.memories = memories;
    let found = tm.lookup_with_fragments(request)?;
    Ok(proto::LookupResponse {
        matches: found.matches.into_iter().map(proto::Match::from).collect(),
        fragments: found.fragments.into_iter().map(proto::Fragment::from).collect(),
    })
}

/// The network side of an import: the stream's data messages go to the
/// importer through a bounded queue, so a fast client waits for the store
/// (HTTP/2 flow control). The flag says whether the stream ended because
/// its client went silent for `idle`.
fn forward(
    mut stream: Streaming<proto::ImportRequest>,
    idle: Duration,
) -> (mpsc::Receiver<Result<Item, Status>>, Arc<AtomicBool>) {
    let (queue, messages) = mpsc::channel::<Result<Item, Status>>(IMPORT_QUEUE);
    let went_idle = Arc::new(AtomicBool::new(false));
    let idled = Arc::clone(&went_idle);
    tokio::spawn(async move {
        loop {
            let next = match next_message(&mut stream, idle).await {
                Ok(Some(proto::ImportRequest { item: Some(item) })) => Ok(item),
                Ok(Some(proto::ImportRequest { item: None })) => continue,
                Ok(None) => break,
                Err(status) => {
                    idled.store(status.code() == tonic::Code::DeadlineExceeded, Ordering::Relaxed);
                    Err(status)
                }
            };
            let failed = next.is_err();
            if queue.send(next).await.is_err() || failed {
                break;
            }
        }
    });
    (messages, went_idle)
}

/// An import's answer: its summary, or for an import that stopped an
/// error status carrying the summary in its details (`DEADLINE_EXCEEDED`
/// when its client went silent, else `INVALID_ARGUMENT`).
fn import_answer(
    summary: ImportSummary,
    change_sequence: u64,
    went_idle: bool,
) -> Result<Response<proto::ImportSummary>, Status> {
    let stopped = summary.stopped.clone();
    let response = proto::ImportSummary { change_sequence, ..summary.into() };
    let code = if went_idle { tonic::Code::DeadlineExceeded } else { tonic::Code::InvalidArgument };
    match stopped {
        None => Ok(Response::new(response)),
        Some(reason) => Err(Status::with_details(
            code,
            format!("the import stopped: {reason}; stored before it: {}", counts(&response)),
            response.encode_to_vec().into(),
        )),
    }
}

/// The stream's next message, waiting at most `idle` for it
/// (`DEADLINE_EXCEEDED` naming `--stream-idle-timeout` after that).
async fn next_message<T>(stream: &mut Streaming<T>, idle: Duration) -> Result<Option<T>, Status> {
    match tokio::time::timeout(idle, stream.message()).await {
        Ok(message) => message,
        Err(_) => Err(Status::deadline_exceeded(format!(
            "the client sent nothing for {} s (--stream-idle-timeout): the stream was closed",
            idle.as_secs_f64()
        ))),
    }
}

fn counts(summary: &proto::ImportSummary) -> String {
    format!(
        "{} added, {} updated, {} duplicates skipped, {} rejected",
        summary.added, summary.updated, summary.duplicates, summary.rejected
    )
}

/// What the data messages of an import hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Chunks,
    Units,
}

/// The importer's side of the queue: file chunks as a [`Read`], or unit
/// batches as an iterator. Runs on the blocking pool.
struct Messages {
    queue: mpsc::Receiver<Result<Item, Status>>,
    /// A message taken from the queue and not yet used.
    pending: Option<Result<Item, Status>>,
}

impl Messages {
    fn next(&mut self) -> Option<Result<Item, Status>> {
        self.pending.take().or_else(|| self.queue.blocking_recv())
    }

    /// The kind of the first data message, without using it.
    fn peek_kind(&mut self) -> Option<Kind> {
        let first = self.next()?;
        let kind = match &first {
            Ok(Item::Units(_)) => Kind::Units,
            _ => Kind::Chunks,
        };
        self.pending = Some(first);
        Some(kind)
    }

    fn units(self) -> impl Iterator<Item = Result<Vec<UnitInput>, String>> + Send {
        let mut messages = self;
        std::iter::from_fn(move || {
            Some(match messages.next()? {
                Ok(Item::Units(batch)) if batch.units.len() > MAX_UNITS_PER_REQUEST => Err(format!(
                    "units: {} units in one message; the limit is {MAX_UNITS_PER_REQUEST}",
                    batch.units.len()
                )),
                Ok(Item::Units(batch)) => Ok(batch.units.into_iter().map(UnitInput::from).collect()),
                Ok(Item::Chunk(_)) => Err("a file chunk after units: one import sends one or the other".into()),
                Ok(Item::Options(_)) => Err("options after the first message".into()),
                Err(status) => Err(format!("the stream failed: {}", status.message())),
            })
        })
    }
}

impl Read for Messages {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.next() {
                None => return Ok(0),
                Some(Ok(Item::Chunk(chunk))) if chunk.is_empty() => continue,
                Some(Ok(Item::Chunk(mut chunk))) => {
                    let n = chunk.len().min(buf.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    if n < chunk.len() {
                        chunk.drain(..n);
                        self.pending = Some(Ok(Item::Chunk(chunk)));
                    }
                    return Ok(n);
                }
                Some(Ok(Item::Units(_))) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "units after file chunks: one import sends one or the other",
                    ))
                }
                Some(Ok(Item::Options(_))) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "options after the first message"))
                }
                Some(Err(status)) => return Err(io::Error::other(format!("the stream failed: {}", status.message()))),
            }
        }
    }
}

/// The export's output: chunks sent to the response stream; an error when
/// the client is gone.
struct ChunkWriter {
    chunks: mpsc::Sender<Result<proto::ExportChunk, Status>>,
    buffer: Vec<u8>,
    runtime: tokio::runtime::Handle,
    /// How long a chunk may wait for the client to read (a client that
    /// reads nothing must not hold this thread for ever).
    idle: Duration,
}

impl ChunkWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buffer, Vec::with_capacity(EXPORT_CHUNK_BYTES));
        let sent = self.runtime.block_on(self.chunks.send_timeout(Ok(proto::ExportChunk { data }), self.idle));
        sent.map_err(|err| match err {
            mpsc::error::SendTimeoutError::Timeout(_) => io::Error::new(
                io::ErrorKind::TimedOut,
                format!("the client read nothing for {} s (--stream-idle-timeout)", self.idle.as_secs_f64()),
            ),
            mpsc::error::SendTimeoutError::Closed(_) => {
                io::Error::new(io::ErrorKind::BrokenPipe, "the client went away")
            }
        })
    }
}

impl Write for ChunkWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= EXPORT_CHUNK_BYTES {
            self.send()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}
