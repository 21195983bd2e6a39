//! The network edge: wires the gRPC service onto a listener. Handlers hold
//! no logic of their own.

mod grpc;

use std::future::Future;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;

pub use grpc::Service;

use crate::memory::TranslationMemory;
use crate::proto::translation_memory_server::TranslationMemoryServer;

/// Serves `tm` on `listener` until `shutdown` completes, then lets in-flight
/// requests finish.
pub async fn serve(
    tm: TranslationMemory,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
) -> Result<(), tonic::transport::Error> {
    tonic::transport::Server::builder()
        .add_service(TranslationMemoryServer::new(Service::new(tm)))
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown)
        .await
}
