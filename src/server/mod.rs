//! The network edge: wires the gRPC service, health (`grpc.health.v1`) and
//! reflection (v1 and v1alpha, so `grpcurl list` needs no proto file) onto a
//! listener. Handlers hold no logic of their own.

mod grpc;

use std::future::Future;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::server::TcpIncoming;

pub use grpc::Service;

use crate::memory::TranslationMemory;
use crate::proto::translation_memory_client::TranslationMemoryClient;
use crate::proto::translation_memory_server::TranslationMemoryServer;

/// Largest request or response, in bytes: bounded, and well above tonic's
/// 4 MiB default so that an `AddUnits` of 10,000 news-length units, or 100
/// matches with their units, fits.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// A client for the server at `url` (`http://host:port`), with the same
/// message bound as the server.
pub async fn connect(url: &str) -> Result<TranslationMemoryClient<tonic::transport::Channel>, tonic::transport::Error> {
    let client = TranslationMemoryClient::connect(url.to_owned()).await?;
    Ok(client.max_decoding_message_size(MAX_MESSAGE_BYTES).max_encoding_message_size(MAX_MESSAGE_BYTES))
}

/// Serves `tm` on `listener` until `shutdown` completes, then stops accepting
/// and lets requests in flight finish for at most `drain` (a client that
/// keeps its connection open cannot hold the server up for longer).
pub async fn serve(
    tm: TranslationMemory,
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    drain: Duration,
) -> Result<(), tonic::transport::Error> {
    let (fired, signalled) = oneshot::channel::<()>();
    let signal = async move {
        shutdown.await;
        let _ = fired.send(());
    };
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<TranslationMemoryServer<Service>>().await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(crate::proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection_v1 = reflection().build_v1().expect("the embedded descriptor set is valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("the embedded descriptor set is valid");
    let server = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(
            TranslationMemoryServer::new(Service::new(tm))
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        // Without TCP_NODELAY small responses wait for delayed ACKs (~40 ms each).
        .serve_with_incoming_shutdown(TcpIncoming::from(listener).with_nodelay(Some(true)), signal);
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result,
        _ = signalled => {}
    }
    match tokio::time::timeout(drain, server).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(?drain, "requests still in flight after the drain period; stopping anyway");
            Ok(())
        }
    }
}
