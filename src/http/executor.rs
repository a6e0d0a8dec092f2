//! The machinery every provider client shares: one place that runs an API call with the
//! timeout, the retry policy and a tracing span, and decodes JSON answers.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tracing::Instrument;

use crate::error::{Error, Result};
use crate::http::retry::{RetryDecision, RetryPolicy};
#[cfg(feature = "whatsapp")]
use crate::http::transport::BodyStream;
use crate::http::transport::Transport;

/// Builds the default transport, or explains that one must be supplied.
pub(crate) fn default_transport(connect_timeout: Duration) -> Result<Arc<dyn Transport>> {
    #[cfg(feature = "reqwest")]
    {
        Ok(Arc::new(crate::http::transport::ReqwestTransport::new(
            connect_timeout,
        )?))
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
        let span = self.span(op);
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
    #[cfg(feature = "whatsapp")]
    /// Error answers are read whole (bounded) and decoded with `on_error`.
    pub(crate) async fn execute_streaming(
        &self,
        op: Operation,
        build: &(dyn Fn() -> Result<http::Request<Bytes>> + Send + Sync),
        on_error: Handler<'_, Error>,
    ) -> Result<http::Response<BodyStream>> {
        const MAX_ERROR_BODY: u64 = 1 << 20;
        let span = self.span(op);
        let started = Instant::now();
        let result = self
            .with_retries(op, || async {
                let response = self.with_timeout(self.transport.send_streaming(build()?)).await?;
                tracing::Span::current().record("http.status", response.status().as_u16());
                if response.status().is_success() {
                    return Ok(response);
                }
                let (parts, body) = response.into_parts();
                let body = body.collect(MAX_ERROR_BODY).await?;
                Err(on_error(http::Response::from_parts(parts, body))?)
            })
            .instrument(span.clone())
            .await;
        span.record("latency_ms", started.elapsed().as_millis() as u64);
        result
    }

    /// One span per API call; it never records addresses or credentials.
    fn span(&self, op: Operation) -> tracing::Span {
        tracing::info_span!(
            "switchboard.request",
            provider = self.provider,
            operation = op.name,
            http.status = tracing::field::Empty,
            attempts = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        )
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

/// The HTTP settings every provider client's builder shares.
pub(crate) struct HttpOptions {
    pub(crate) transport: Option<Arc<dyn Transport>>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) connect_timeout: Duration,
    pub(crate) retry: RetryPolicy,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            transport: None,
            timeout: Some(Duration::from_secs(30)),
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
        }
    }
}

impl fmt::Debug for HttpOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpOptions")
            .field("transport", &self.transport)
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

impl HttpOptions {
    /// The executor for `provider`, with the default transport unless one was given.
    pub(crate) fn executor(self, provider: &'static str) -> Result<Executor> {
        let transport = match self.transport {
            Some(t) => t,
            None => default_transport(self.connect_timeout)?,
        };
        Ok(Executor {
            provider,
            transport,
            retry: self.retry,
            timeout: self.timeout,
        })
    }
}

/// The builder methods for [`HttpOptions`], for a builder with an `http` field.
macro_rules! http_builder_methods {
    () => {
        /// Sends through this transport instead of the default reqwest one.
        pub fn transport(mut self, transport: impl $crate::http::transport::Transport + 'static) -> Self {
            self.http.transport = Some(std::sync::Arc::new(transport));
            self
        }

        /// Sends through this reqwest client (your proxy, certificates, pool settings).
        #[cfg(feature = "reqwest")]
        pub fn reqwest_client(self, client: reqwest::Client) -> Self {
            self.transport($crate::http::transport::ReqwestTransport::from_client(
                client,
            ))
        }

        /// The longest one request may take, from sending to the last byte of the answer
        /// (default 30 s); `None` for no limit. For downloads it bounds the wait for headers.
        pub fn timeout(mut self, timeout: Option<std::time::Duration>) -> Self {
            self.http.timeout = timeout;
            self
        }

        /// The longest connecting may take with the default transport (default 10 s).
        pub fn connect_timeout(mut self, timeout: std::time::Duration) -> Self {
            self.http.connect_timeout = timeout;
            self
        }

        /// The retry policy (default [`RetryPolicy::default`]($crate::RetryPolicy::default)).
        pub fn retry_policy(mut self, policy: $crate::RetryPolicy) -> Self {
            self.http.retry = policy;
            self
        }
    };
}
pub(crate) use http_builder_methods;

/// The `Retry-After` header of a response, as a delay from now.
pub(crate) fn retry_after(headers: &http::HeaderMap) -> Option<Duration> {
    crate::http::retry::parse_retry_after(headers.get(http::header::RETRY_AFTER)?, SystemTime::now())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[derive(Debug, serde::Deserialize)]
    struct Answer {
        #[allow(dead_code)]
        messages: Vec<Message>,
    }

    #[derive(Debug, serde::Deserialize)]
    struct Message {
        #[allow(dead_code)]
        id: String,
    }

    #[test]
    fn decode_errors_name_the_path_but_not_the_value() {
        let err = decode_json::<Answer>(Bytes::from_static(
            br#"{"messages":[{"id":"+4915112345678"},{"id":7}]}"#,
        ))
        .unwrap_err();
        let ErrorKind::Decode { path, .. } = err.kind() else {
            panic!("{err:?}")
        };
        assert_eq!(path, "messages[1].id");
        let chain = format!("{err} / {:?}", std::error::Error::source(&err));
        assert!(!chain.contains("4915112345678"), "{chain}");
    }

    proptest::proptest! {
        #[test]
        fn decoding_any_bytes_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = decode_json::<Answer>(Bytes::from(body));
        }
    }
}
