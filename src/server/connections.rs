//! The listener's connections, bounded so that silent clients cannot lock
//! others out:
//!
//! - at most `--max-connections` are open at once (file descriptors are
//!   bounded);
//! - a connection that has not sent a complete request (its headers) within
//!   `--first-request-timeout` is closed (a connection that sends nothing,
//!   or its headers a byte at a time, holds a place for that long at most);
//! - when every place is taken, a new connection takes the place of an
//!   idle one (no request in flight): one that never sent a request first,
//!   oldest first, else the one idle the longest. Only when every
//!   connection has a request in flight is the new one closed at once.
//!
//! The admission layer ([`super::admission`]) tells each connection when a
//! request starts and ends ([`Connection::begin`]).

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tonic::transport::server::Connected;

/// The open connections.
struct Registry {
    max: usize,
    first_request: Duration,
    /// Times are kept as milliseconds since this instant.
    epoch: Instant,
    next_id: AtomicU64,
    open: Mutex<HashMap<u64, Arc<Connection>>>,
}

/// What the server knows of one open connection.
#[derive(Debug)]
pub struct Connection {
    id: u64,
    epoch: Instant,
    /// When it was accepted, or its last request ended (ms since `epoch`).
    idle_since_ms: AtomicU64,
    /// Whether a request has come in on it.
    served: AtomicBool,
    /// Requests in flight on it (their responses not yet sent in full).
    active: AtomicUsize,
    /// Closed to make room for another.
    evicted: AtomicBool,
    /// Wakes the connection's reader so that it sees `evicted`.
    reader: Mutex<Option<Waker>>,
}

impl Connection {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// A request came in on this connection: it is served, and busy until
    /// the returned guard is dropped (when the response has been sent).
    pub fn begin(self: &Arc<Self>) -> Activity {
        self.served.store(true, Ordering::Relaxed);
        self.active.fetch_add(1, Ordering::AcqRel);
        Activity(Arc::clone(self))
    }
}

/// A request in flight on a connection (see [`Connection::begin`]).
pub struct Activity(Arc<Connection>);

impl Drop for Activity {
    fn drop(&mut self) {
        self.0.idle_since_ms.store(self.0.now_ms(), Ordering::Relaxed);
        self.0.active.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Registry {
    /// A place for a new connection: a free one, or an idle connection's.
    fn admit(self: &Arc<Self>) -> Option<Arc<Connection>> {
        let mut open = self.open.lock();
        if open.len() >= self.max {
            // Never served before served, then idle the longest.
            let victim = open
                .values()
                .filter(|c| c.active.load(Ordering::Acquire) == 0)
                .min_by_key(|c| (c.served.load(Ordering::Relaxed), c.idle_since_ms.load(Ordering::Relaxed), c.id))
                .map(|c| c.id)?;
            let victim = open.remove(&victim).expect("the victim is open");
            victim.evicted.store(true, Ordering::Release);
            if let Some(reader) = victim.reader.lock().take() {
                reader.wake();
            }
            tracing::info!(
                max = self.max,
                "all connections in use: closing one without a request in flight (--max-connections)"
            );
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let connection = Arc::new(Connection {
            id,
            epoch: self.epoch,
            idle_since_ms: AtomicU64::new(self.epoch.elapsed().as_millis() as u64),
            served: AtomicBool::new(false),
            active: AtomicUsize::new(0),
            evicted: AtomicBool::new(false),
            reader: Mutex::new(None),
        });
        open.insert(id, Arc::clone(&connection));
        Some(connection)
    }
}

/// The listener's connections, bounded as the module says. Every connection
/// gets TCP_NODELAY (without it small responses wait for delayed ACKs,
/// ~40 ms each).
pub fn accepted(
    listener: TcpListener,
    max: usize,
    first_request: Duration,
) -> impl tokio_stream::Stream<Item = std::io::Result<Counted>> + Send + 'static {
    let registry = Arc::new(Registry {
        max: max.max(1),
        first_request,
        epoch: Instant::now(),
        next_id: AtomicU64::new(0),
        open: Mutex::new(HashMap::new()),
    });
    futures_util::stream::unfold((listener, registry), move |(listener, registry)| async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                // A connection that failed before it was accepted, or a
                // momentary lack of descriptors: keep accepting.
                Err(err) => {
                    tracing::warn!(error = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            match registry.admit() {
                Some(connection) => {
                    let _ = stream.set_nodelay(true);
                    let counted = Counted {
                        stream,
                        first_request: Box::pin(tokio::time::sleep(registry.first_request)),
                        registry: Arc::clone(&registry),
                        connection,
                    };
                    return Some((Ok(counted), (listener, registry)));
                }
                None => {
                    tracing::warn!(
                        %peer,
                        max,
                        "too many connections, each with a request in flight: closing a new one (--max-connections)"
                    );
                    drop(stream);
                }
            }
        }
    })
}

/// A connection that holds its place until it closes.
pub struct Counted {
    stream: TcpStream,
    first_request: Pin<Box<tokio::time::Sleep>>,
    registry: Arc<Registry>,
    connection: Arc<Connection>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.registry.open.lock().remove(&self.connection.id);
    }
}

/// What a request knows of its connection (in its extensions).
#[derive(Debug, Clone)]
pub struct ConnectionInfo {
    pub connection: Arc<Connection>,
}

impl Connected for Counted {
    type ConnectInfo = ConnectionInfo;

    fn connect_info(&self) -> ConnectionInfo {
        ConnectionInfo { connection: Arc::clone(&self.connection) }
    }
}

impl AsyncRead for Counted {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let connection = &this.connection;
        if connection.evicted.load(Ordering::Acquire) {
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "closed to make room for a new connection (--max-connections)",
            )));
        }
        {
            let mut reader = connection.reader.lock();
            if !reader.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *reader = Some(cx.waker().clone());
            }
        }
        if !connection.served.load(Ordering::Relaxed) && this.first_request.as_mut().poll(cx).is_ready() {
            tracing::info!(
                peer = ?this.stream.peer_addr().ok(),
                "closing a connection that sent no complete request (--first-request-timeout)"
            );
            return Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "no complete request within --first-request-timeout",
            )));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
