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
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::retry::{RetryDecision, RetryPolicy};

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
        let request = reqwest::Request::try_from(request).map_err(|e| Error::transport(false, e))?;
        self.client.execute(request).await.map_err(map_reqwest_error)
    }
}

#[cfg(feature = "reqwest")]
fn map_reqwest_error(err: reqwest::Error) -> Error {
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
        let body = response.bytes().await.map_err(|e| Error::transport(true, e))?;
        builder.body(body).map_err(|e| Error::transport(true, e))
    }

    async fn send_streaming(&self, request: http::Request<Bytes>) -> Result<http::Response<BodyStream>> {
        let (builder, response) = into_http_parts(self.execute(request).await?);
        let stream = response
            .bytes_stream()
            .map(|chunk| chunk.map_err(|e| Error::transport(true, e)));
        builder
            .body(BodyStream::new(stream))
            .map_err(|e| Error::transport(true, e))
    }
}

/// Builds the default transport, or explains that one must be supplied.
pub(crate) fn default_transport(connect_timeout: Duration) -> Result<Arc<dyn Transport>> {
    #[cfg(feature = "reqwest")]
    {
        Ok(Arc::new(ReqwestTransport::new(connect_timeout)?))
    }
    #[cfg(not(feature = "reqwest"))]
    {
        let _ = connect_timeout;
        Err(Error::config(
            "no transport: enable the `reqwest` feature or pass one with `.transport(..)`",
        ))
    }
}

/// How one API call is run: its name in traces and whether repeating it is harmless.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Operation {
    pub(crate) name: &'static str,
    /// Repeating the request cannot cause a second effect the user would notice (reads,
    /// deletes, uploads). Message sends are not idempotent.
    pub(crate) idempotent: bool,
}

/// Runs API calls for a provider client: timeout, retry policy and one tracing span per call.
#[derive(Clone)]
pub(crate) struct Executor {
    pub(crate) provider: &'static str,
    pub(crate) transport: Arc<dyn Transport>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Option<Duration>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("transport", &self.transport)
            .field("retry", &self.retry)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Turns a provider's answer into a value or that provider's error.
pub(crate) type Handler<'a, T> = &'a (dyn Fn(http::Response<Bytes>) -> Result<T> + Send + Sync);

impl Executor {
    /// Sends the request built by `build` (called again for each attempt) and decodes the
    /// answer with `handle`, retrying as the policy allows.
    pub(crate) async fn execute<T>(
        &self,
        op: Operation,
        build: &(dyn Fn() -> Result<http::Request<Bytes>> + Send + Sync),
        handle: Handler<'_, T>,
    ) -> Result<T> {
        let span = tracing::info_span!(
            "switchboard.request",
            provider = self.provider,
            operation = op.name,
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let result = self
            .with_retries(op, || async {
                let request = build()?;
                let response = self.with_timeout(self.transport.send(request)).await?;
                tracing::Span::current().record("http.status", response.status().as_u16());
                handle(response)
            })
            .instrument(span.clone())
            .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        result
    }

    /// Like [`execute`](Self::execute) but keeps the body of a successful answer as a stream.
    /// Error answers are read whole (bounded) and decoded with `on_error`.
    pub(crate) async fn execute_streaming(
        &self,
        op: Operation,
        build: &(dyn Fn() -> Result<http::Request<Bytes>> + Send + Sync),
        on_error: Handler<'_, Error>,
    ) -> Result<http::Response<BodyStream>> {
        const MAX_ERROR_BODY: u64 = 1 << 20;
        let span = tracing::info_span!(
            "switchboard.request",
            provider = self.provider,
            operation = op.name,
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
        );
        self.with_retries(op, || async {
            let response = self.with_timeout(self.transport.send_streaming(build()?)).await?;
            tracing::Span::current().record("http.status", response.status().as_u16());
            if response.status().is_success() {
                return Ok(response);
            }
            let (parts, body) = response.into_parts();
            let body = body.collect(MAX_ERROR_BODY).await?;
            Err(on_error(http::Response::from_parts(parts, body))?)
        })
        .instrument(span)
        .await
    }

    async fn with_timeout<F, T>(&self, fut: F) -> Result<T>
    where
        F: Future<Output = Result<T>>,
    {
        match self.timeout {
            // The clock runs while connecting too, but a connect that slow is rare next
            // to the request timeout; assuming "may have been sent" is the safe side.
            Some(limit) => tokio::time::timeout(limit, fut)
                .await
                .unwrap_or_else(|_| Err(Error::timeout(true))),
            None => fut.await,
        }
    }

    async fn with_retries<F, Fut, T>(&self, op: Operation, attempt_once: F) -> Result<T>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut attempt = 0u32;
        loop {
            let result = attempt_once().await;
            let err = match result {
                Ok(value) => {
                    tracing::Span::current().record("attempts", attempt + 1);
                    return Ok(value);
                }
                Err(err) => err,
            };
            match self.retry.decide(attempt, &err, op.idempotent, fastrand::f64()) {
                RetryDecision::Stop => {
                    tracing::Span::current().record("attempts", attempt + 1);
                    return Err(err);
                }
                RetryDecision::RetryAfter(delay) => {
                    tracing::debug!(
                        attempt = attempt + 1,
                        delay_ms = delay.as_millis() as u64,
                        error.class = err.class().map(|c| c.as_str()),
                        error.code = err.provider_code(),
                        "retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
            }
        }
    }
}

/// The `Retry-After` header of a response, as a delay from now.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    crate::retry::parse_retry_after(headers.get(http::header::RETRY_AFTER)?, SystemTime::now())
}

/// Decodes a JSON body, naming the path where it failed. The serde message is not kept:
/// it can quote the offending value, which may be personal data.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: Bytes) -> Result<T> {
    // Path tracking doubles the cost of decoding, so it runs only to explain a failure.
    if let Ok(value) = serde_json::from_slice(&body) {
        return Ok(value);
    }
    let de = &mut serde_json::Deserializer::from_slice(&body);
    let err = match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(value) => return Ok(value),
        Err(err) => err,
    };
    let path = err.path().to_string();
    let inner = err.into_inner();
    let reason = format!(
        "{:?} error at line {} column {}",
        inner.classify(),
        inner.line(),
        inner.column()
    );
    Err(Error::new(crate::error::ErrorKind::Decode {
        path,
        body: crate::error::RawBody::new(body),
    })
    .with_source(reason))
}
