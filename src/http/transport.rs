//! The HTTP layer: a small object-safe [`Transport`] over `http` types, with
//! [`ReqwestTransport`] (rustls) as the default.
//!
//! Provider clients build plain `http::Request<Bytes>` values and hand them to a transport,
//! so you can plug in your own HTTP stack, a recording transport for tests, or a client
//! configured with your proxy and certificates.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
#[cfg(feature = "reqwest")]
use std::time::Duration;

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;

#[cfg(feature = "reqwest")]
use crate::error::Error;
use crate::error::Result;

/// Sends HTTP requests. Object safe: clients hold it as `Arc<dyn Transport>`.
///
/// Implementations report failures with [`Error::transport`] or [`Error::timeout`], saying
/// whether the request may have reached the server: this is what keeps retries from sending
/// a message twice. A non-2xx answer is not an error at this layer: return it as a response.
#[async_trait]
pub trait Transport: Send + Sync + fmt::Debug {
    /// Sends a request and reads the whole response body.
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>>;

    /// Sends a request and returns the response with its body as a stream, for downloads.
    /// The default reads the whole body first; override it to stream.
    async fn send_streaming(&self, request: http::Request<Bytes>) -> Result<http::Response<BodyStream>> {
        let (parts, body) = self.send(request).await?.into_parts();
        Ok(http::Response::from_parts(parts, BodyStream::from_bytes(body)))
    }
}

#[async_trait]
impl<T: Transport + ?Sized> Transport for Arc<T> {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>> {
        (**self).send(request).await
    }

    async fn send_streaming(&self, request: http::Request<Bytes>) -> Result<http::Response<BodyStream>> {
        (**self).send_streaming(request).await
    }
}

/// A response body arriving in chunks.
pub struct BodyStream(Pin<Box<dyn Stream<Item = Result<Bytes>> + Send>>);

impl BodyStream {
    /// Wraps a stream of chunks.
    pub fn new(stream: impl Stream<Item = Result<Bytes>> + Send + 'static) -> Self {
        Self(Box::pin(stream))
    }

    /// A stream of one chunk.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self::new(futures_util::stream::iter(
            (!bytes.is_empty()).then_some(Ok(bytes)),
        ))
    }

    /// The next chunk, or `None` at the end.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        self.0.next().await
    }

    /// Reads the whole body, refusing more than `max_bytes`.
    pub async fn collect(mut self, max_bytes: u64) -> Result<Bytes> {
        let mut buf = BytesMut::new();
        while let Some(chunk) = self.next_chunk().await {
            let chunk = chunk?;
            let actual = (buf.len() + chunk.len()) as u64;
            if actual > max_bytes {
                return Err(crate::error::ValidationError::new(
                    "response body",
                    crate::error::Problem::TooLarge {
                        max: max_bytes,
                        actual,
                    },
                )
                .into());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }
}

impl Stream for BodyStream {
    type Item = Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for BodyStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BodyStream")
    }
}

/// The default transport: reqwest with rustls, HTTP/1.1 and HTTP/2, connection pooling.
#[cfg(feature = "reqwest")]
#[derive(Debug, Clone)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

#[cfg(feature = "reqwest")]
impl ReqwestTransport {
    /// A transport with this connect timeout. Request timeouts are applied by the clients.
    pub fn new(connect_timeout: Duration) -> Result<Self> {
        let client = reqwest::Client::builder()
            .connect_timeout(connect_timeout)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config("could not build the HTTP client").with_source(e))?;
        Ok(Self { client })
    }

    /// Uses a reqwest client you configured (proxy, certificates, pool settings).
    pub fn from_client(client: reqwest::Client) -> Self {
        Self { client }
    }

    async fn execute(&self, request: http::Request<Bytes>) -> Result<reqwest::Response> {
        let request =
            reqwest::Request::try_from(request).map_err(|e| Error::transport(false, e.without_url()))?;
        self.client.execute(request).await.map_err(map_reqwest_error)
    }
}

#[cfg(feature = "reqwest")]
fn map_reqwest_error(err: reqwest::Error) -> Error {
    // The URL can carry personal data in its query (Twilio's `?To=+49…`): never keep it.
    let err = err.without_url();
    // Connect-phase failures (DNS, refused, TLS handshake, connect timeout) never sent a byte.
    let sent = !err.is_connect() && !err.is_builder();
    if err.is_timeout() {
        Error::timeout(sent).with_source(err)
    } else {
        Error::transport(sent, err)
    }
}

#[cfg(feature = "reqwest")]
fn into_http_parts(mut response: reqwest::Response) -> (http::response::Builder, reqwest::Response) {
    let mut builder = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(headers) = builder.headers_mut() {
        *headers = std::mem::take(response.headers_mut());
    }
    (builder, response)
}

#[cfg(feature = "reqwest")]
#[async_trait]
impl Transport for ReqwestTransport {
    async fn send(&self, request: http::Request<Bytes>) -> Result<http::Response<Bytes>> {
        let (builder, response) = into_http_parts(self.execute(request).await?);
        // The status line arrived, so the request did reach the server.
        let body = response
            .bytes()
            .await
            .map_err(|e| Error::transport(true, e.without_url()))?;
        builder.body(body).map_err(|e| Error::transport(true, e))
    }

    async fn send_streaming(&self, request: http::Request<Bytes>) -> Result<http::Response<BodyStream>> {
        let (builder, response) = into_http_parts(self.execute(request).await?);
        let stream = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(|e| Error::transport(true, e.without_url())));
        builder
            .body(BodyStream::new(stream))
            .map_err(|e| Error::transport(true, e))
    }
}
