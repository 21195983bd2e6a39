//! Talking to a running server (`--server`): the address, the connection,
//! the API key, and one call with its error as the server wrote it.

use std::future::Future;

use anyhow::Context;
use dhakira::proto::translation_memory_client::TranslationMemoryClient;
use tonic::transport::Channel;

/// A client of the `dhakira.v1.TranslationMemory` service.
pub type Client = TranslationMemoryClient<Channel>;

/// `host:port` or a URL; plain addresses mean plaintext HTTP/2.
pub fn server_url(addr: &str) -> String {
    if addr.contains("://") {
        addr.to_owned()
    } else {
        format!("http://{addr}")
    }
}

/// Connects to a running server; a failure says so once (the transport's
/// error repeats its cause) and says what to check.
pub async fn connect(url: &str) -> anyhow::Result<Client> {
    dhakira::server::connect(url).await.map_err(|err| {
        let mut cause: &dyn std::error::Error = &err;
        while let Some(source) = cause.source() {
            cause = source;
        }
        anyhow::anyhow!(
            "cannot connect to {url}: {cause}; check that `dhakira serve` runs there (--server chooses the address)"
        )
    })
}

/// A request to a server, with `authorization: Bearer $DHAKIRA_API_KEY`
/// when that variable is set.
pub fn authorized<T>(message: T) -> anyhow::Result<tonic::Request<T>> {
    let mut request = tonic::Request::new(message);
    if let Ok(key) = std::env::var("DHAKIRA_API_KEY") {
        let value = format!("Bearer {key}").parse().context("DHAKIRA_API_KEY: not a valid header value")?;
        request.metadata_mut().insert("authorization", value);
    }
    Ok(request)
}

/// One unary call to the server at `addr` (`host:port` or a URL) with
/// `message`, authorized; an error status becomes its message.
pub fn unary<M, T, F, Fut>(addr: &str, message: M, call: F) -> anyhow::Result<T>
where
    F: FnOnce(Client, tonic::Request<M>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let url = server_url(addr);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = connect(&url).await?;
        let response =
            call(client, authorized(message)?).await.map_err(|status| anyhow::anyhow!("{}", status.message()))?;
        Ok(response.into_inner())
    })
}
