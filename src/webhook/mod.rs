//! Receiving: every inbound request is verified on its raw bytes, then parsed into
//! [`InboundEvent`]s.
//!
//! The core is framework-agnostic: build a [`WebhookRequest`] from whatever your server
//! gives you (or from an `http::Request<Bytes>`), hand it to
//! [`Channel::handle_webhook`](crate::Channel::handle_webhook), and answer with the
//! [`WebhookOutcome`]. Verification is pure, synchronous and constant time, and it fails
//! closed: a channel without secrets refuses every request. The optional `axum` feature
//! ships a ready handler.
//!
//! None of Meta, Twilio and X sign a timestamp, so a replayed request verifies; and Meta
//! retries for up to seven days, to every subscribed app. Filter events through a
//! [`Deduplicator`] so each reaches your app once.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Method, StatusCode};
use sha2::Sha256;

use crate::error::RawBody;
pub use crate::error::WebhookError;
use crate::model::InboundEvent;

#[cfg(feature = "axum")]
pub mod axum;
pub(crate) mod dedup;
pub mod standard;

pub use dedup::{Deduplicator, MemoryDeduplicator, dedup};

/// The default body size limit: Meta batches up to 3 MB, with room to spare.
pub const DEFAULT_MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// An inbound HTTP request as a provider sent it: method, the public URL it called,
/// headers, and the raw body bytes (never re-serialized: signatures are over the bytes).
#[derive(Clone)]
pub struct WebhookRequest {
    method: Method,
    url: String,
    headers: HeaderMap,
    body: Bytes,
}

impl WebhookRequest {
    /// A request. `url` is the public URL the provider called, with its query string
    /// (`https://example.com/webhooks/whatsapp?hub.mode=…`); never rebuild it from `Host`.
    pub fn new(method: Method, url: impl Into<String>, headers: HeaderMap, body: impl Into<Bytes>) -> Self {
        Self {
            method,
            url: url.into(),
            headers,
            body: body.into(),
        }
    }

    /// From an `http::Request`; its URI (often only path and query) becomes the URL.
    /// Use [`with_public_url`](Self::with_public_url) when the provider signs the full URL.
    pub fn from_http(request: http::Request<Bytes>) -> Self {
        let (parts, body) = request.into_parts();
        Self {
            method: parts.method,
            url: parts.uri.to_string(),
            headers: parts.headers,
            body,
        }
    }

    /// Replaces the URL with the public one the provider called.
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// The HTTP method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL the provider called.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// All headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// A header as text, if present and visible ASCII.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// A query parameter of the URL, percent-decoded; the first if repeated.
    pub fn query_param(&self, name: &str) -> Option<Cow<'_, str>> {
        let query = self.url.split_once('?')?.1;
        let query = query.split_once('#').map_or(query, |(q, _)| q);
        url::form_urlencoded::parse(query.as_bytes())
            .find(|(key, _)| key == name)
            .map(|(_, value)| value)
    }

    /// Refuses a body over `limit` bytes.
    pub fn check_size(&self, limit: usize) -> Result<(), WebhookError> {
        if self.body.len() > limit {
            return Err(WebhookError::BodyTooLarge {
                limit,
                actual: self.body.len(),
            });
        }
        Ok(())
    }
}

impl fmt::Debug for WebhookRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL's query can carry a verify token, the body personal data: show shapes only.
        f.debug_struct("WebhookRequest")
            .field("method", &self.method)
            .field("path", &self.url.split('?').next().unwrap_or_default())
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body", &RawBody::new(self.body.clone()))
            .finish()
    }
}

/// What to do with a verified webhook request.
#[derive(Debug)]
#[non_exhaustive]
pub enum WebhookOutcome {
    /// A subscription handshake (Meta's `hub.challenge`, X's CRC): return this response as is.
    Handshake(HandshakeResponse),
    /// A notification, parsed into events in the order the provider sent them. Answer
    /// `200 OK` promptly, then process.
    Events(Vec<InboundEvent>),
}

/// The response a handshake needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandshakeResponse {
    /// The status to return.
    pub status: StatusCode,
    /// The `Content-Type` to return.
    pub content_type: &'static str,
    /// The body to return.
    pub body: Bytes,
}

impl HandshakeResponse {
    /// A `200 OK` plain-text response.
    pub fn text(body: impl Into<Bytes>) -> Self {
        Self {
            status: StatusCode::OK,
            content_type: "text/plain",
            body: body.into(),
        }
    }

    /// As an `http::Response`.
    pub fn into_response(self) -> http::Response<Bytes> {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static(self.content_type),
        );
        response
    }
}

impl WebhookOutcome {
    /// Events as received now: each provider timestamp clamped to the time of receipt (see
    /// [`clamp_timestamp`](crate::model::clamp_timestamp)).
    #[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
    pub(crate) fn received(mut events: Vec<InboundEvent>) -> Self {
        let now = std::time::SystemTime::now();
        for event in &mut events {
            event.clamp_timestamp(now);
        }
        Self::Events(events)
    }
}

/// Secrets for an HMAC scheme; several at once during rotation. `Debug` never shows them.
///
/// An empty or implausibly short secret is never used as a key: HMAC accepts an empty key,
/// so a request signed with it would verify. Such a secret poisons the set instead, which
/// then verifies nothing (fail closed) and reports the setting it came from
/// ([`problem`](Self::problem)), so that client builders refuse to build.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    keys: Vec<Box<[u8]>>,
    problem: Option<Cow<'static, str>>,
}

/// The shortest secret accepted. Every provider issues secrets of 16 characters or more;
/// the bound stays low so that the providers' published test vectors (Twilio's `12345`,
/// X's `test`) still verify, while an empty or truncated value is caught.
pub const MIN_SECRET_BYTES: usize = 4;

/// Refuses an empty, whitespace-only or implausibly short secret (or verify token), naming
/// the setting.
pub(crate) fn check_secret(setting: &'static str, secret: &[u8]) -> Result<(), Cow<'static, str>> {
    if secret.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("{setting} is empty: a request signed with an empty key would verify").into());
    }
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "{setting} is shorter than {MIN_SECRET_BYTES} bytes: no provider issues such a secret"
        )
        .into());
    }
    Ok(())
}

impl Secrets {
    /// Adds a secret for `setting`, or records why it cannot be one.
    pub(crate) fn push(&mut self, setting: &'static str, secret: impl AsRef<[u8]>) {
        match check_secret(setting, secret.as_ref()) {
            Ok(()) => self.keys.push(secret.as_ref().into()),
            Err(problem) => {
                self.problem.get_or_insert(problem);
            }
        }
    }

    /// Why the set cannot be used, if a secret given to it was empty or too short, as the
    /// configuration error a builder returns.
    #[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
    pub(crate) fn problem(&self) -> Option<crate::Error> {
        self.problem.clone().map(crate::Error::config)
    }

    // Provider verifiers refuse everything when no usable secret is configured.
    #[cfg(any(feature = "whatsapp", feature = "sms"))]
    pub(crate) fn is_empty(&self) -> bool {
        self.problem.is_some() || self.keys.is_empty()
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let usable = if self.problem.is_some() {
            &[][..]
        } else {
            &self.keys[..]
        };
        usable.iter().map(|s| &**s)
    }

    /// Whether HMAC-SHA256 of `message` under any secret equals `signature`, each compared
    /// in constant time.
    pub(crate) fn verify_sha256(&self, message: &[&[u8]], signature: &[u8]) -> bool {
        self.iter().any(|key| {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
            for part in message {
                mac.update(part);
            }
            mac.verify_slice(signature).is_ok()
        })
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} redacted]", self.keys.len())
    }
}

/// HMAC-SHA256 of `parts` under `key`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_params_are_decoded() {
        let req = WebhookRequest::new(
            Method::GET,
            "https://example.com/wa?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=a%20b",
            HeaderMap::new(),
            Bytes::new(),
        );
        assert_eq!(req.query_param("hub.challenge").as_deref(), Some("1158201444"));
        assert_eq!(req.query_param("hub.verify_token").as_deref(), Some("a b"));
        assert_eq!(req.query_param("missing"), None);
        assert!(
            !format!("{req:?}").contains("a%20b"),
            "Debug must not show the query"
        );
    }

    #[test]
    fn hmac_known_answer() {
        // HMAC_SHA256(key="secret", msg="test") from the reference.
        assert_eq!(
            hex::encode(hmac_sha256(b"secret", &[b"test"])),
            "0329a06b62cd16b33eb6792be8c60b158d89a2ee3a876fce9a881ebb488c0914"
        );
        let mut secrets = Secrets::default();
        secrets.push("test_secret", "old-secret");
        secrets.push("test_secret", "secret");
        let sig = hmac_sha256(b"secret", &[b"te", b"st"]);
        assert!(secrets.verify_sha256(&[b"test"], &sig), "any secret may match");
        // An empty secret poisons the set: nothing verifies, not even the good keys.
        secrets.push("test_secret", "");
        assert!(!secrets.verify_sha256(&[b"test"], &sig));
        assert!(
            secrets
                .problem()
                .unwrap()
                .to_string()
                .contains("test_secret is empty")
        );
        assert!(!secrets.verify_sha256(&[b"tesT"], &sig));
        assert_eq!(format!("{secrets:?}"), "[2 redacted]");
    }

    #[test]
    fn size_limit() {
        let req = WebhookRequest::new(Method::POST, "/", HeaderMap::new(), vec![0u8; 11]);
        assert_eq!(
            req.check_size(10),
            Err(WebhookError::BodyTooLarge {
                limit: 10,
                actual: 11
            })
        );
        assert!(req.check_size(11).is_ok());
    }
}
