//! One error type for the whole crate: [`Error`] with a [`kind`](Error::kind) and an
//! optional source, in the shape twilight uses.
//!
//! Match on [`ErrorKind`] to react to a failure, or ask the error directly:
//! [`Error::is_retryable`], [`Error::retry_after`], [`Error::may_have_been_sent`],
//! [`Error::provider_code`], [`Error::class`].

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use crate::channel::ChannelKind;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The error every fallible operation of this crate returns.
///
/// It never contains an access token, an app secret or a full phone number in its
/// `Display` or `Debug` output; response bodies are kept as [`RawBody`], which shows only
/// its length unless asked for its content.
pub struct Error {
    kind: ErrorKind,
    source: Option<BoxError>,
}

impl Error {
    /// An error of this kind without a source.
    pub fn new(kind: ErrorKind) -> Self {
        Self { kind, source: None }
    }

    /// Attaches the underlying cause (a transport error, a JSON error…).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// A transport failure; `may_have_been_sent` says whether the request may have reached
    /// the provider (anything after the connection was established).
    pub fn transport(may_have_been_sent: bool, source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Transport { may_have_been_sent }).with_source(source)
    }

    /// A request that did not complete in time.
    pub fn timeout(may_have_been_sent: bool) -> Self {
        Self::new(ErrorKind::Timeout { may_have_been_sent })
    }

    /// A store failure, with its cause.
    pub fn storage(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Storage { backend }).with_source(source)
    }

    /// A configuration mistake found while building a client.
    pub fn config(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Config {
            message: message.into(),
        })
    }

    /// Content the channel cannot carry and cannot faithfully degrade.
    pub fn unsupported(channel: ChannelKind, what: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Unsupported {
            channel,
            what: what.into(),
        })
    }

    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// Splits the error into its kind and source.
    pub fn into_parts(self) -> (ErrorKind, Option<BoxError>) {
        (self.kind, self.source)
    }

    /// The provider's error, for API errors and provider-reported rate limits.
    pub fn api_error(&self) -> Option<&ApiError> {
        match &self.kind {
            ErrorKind::Api(api) => Some(api),
            ErrorKind::RateLimited { api, .. } => api.as_deref(),
            _ => None,
        }
    }

    /// The provider's numeric error code (Graph `error.code`, Twilio `code`…), if any.
    pub fn provider_code(&self) -> Option<i64> {
        self.api_error().and_then(|api| api.code)
    }

    /// How the failure is classified, if it came from a provider or a rate limit.
    pub fn class(&self) -> Option<ErrorClass> {
        match &self.kind {
            ErrorKind::RateLimited { .. } => Some(ErrorClass::RateLimited),
            ErrorKind::Api(api) => Some(api.class),
            ErrorKind::OutsideWindow { .. } => Some(ErrorClass::NeedsTemplate),
            _ => None,
        }
    }

    /// Whether repeating the same request is safe and may succeed: rate limits, transient
    /// provider errors, and transport failures that happened before anything was sent.
    ///
    /// A request that may already have reached the provider is never retryable here,
    /// because a second send could deliver the message twice.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::RateLimited { .. } => true,
            ErrorKind::Api(api) => api.class.is_retryable(),
            ErrorKind::Timeout { may_have_been_sent } | ErrorKind::Transport { may_have_been_sent } => {
                !may_have_been_sent
            }
            _ => false,
        }
    }

    /// How long the provider (or a local throttle) asked to wait before trying again.
    pub fn retry_after(&self) -> Option<Duration> {
        match &self.kind {
            ErrorKind::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether the request may have reached the provider even though it failed: a timeout
    /// after sending, a connection reset mid-response, or a server error without a
    /// provider error body. A message send that fails this way may have been delivered.
    pub fn may_have_been_sent(&self) -> bool {
        match &self.kind {
            ErrorKind::Timeout { may_have_been_sent } | ErrorKind::Transport { may_have_been_sent } => {
                *may_have_been_sent
            }
            ErrorKind::Api(api) => api.status.is_server_error() && api.code.is_none(),
            ErrorKind::Decode { .. } => true,
            _ => false,
        }
    }

    /// The HTTP status of the provider's answer, when there was one.
    pub fn status(&self) -> Option<StatusCode> {
        self.api_error().map(|api| api.status)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind);
        if let Some(source) = &self.source {
            d.field("source", source);
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Api(api) => fmt::Display::fmt(api, f),
            ErrorKind::RateLimited {
                retry_after,
                scope,
                api,
            } => {
                write!(f, "rate limited ({scope})")?;
                if let Some(after) = retry_after {
                    write!(f, ", retry after {} ms", after.as_millis())?;
                }
                if let Some(api) = api {
                    write!(f, ": {api}")?;
                }
                Ok(())
            }
            ErrorKind::Timeout { may_have_been_sent } => {
                f.write_str("request timed out")?;
                if *may_have_been_sent {
                    f.write_str(" (it may have been sent)")?;
                }
                Ok(())
            }
            ErrorKind::Transport { may_have_been_sent } => {
                f.write_str("transport error")?;
                if *may_have_been_sent {
                    f.write_str(" (the request may have been sent)")?;
                }
                Ok(())
            }
            ErrorKind::Decode { path, body } => {
                write!(
                    f,
                    "could not decode the response at `{path}` ({} bytes)",
                    body.len()
                )
            }
            ErrorKind::Validation(err) => write!(f, "invalid request: {err}"),
            ErrorKind::Webhook(err) => write!(f, "webhook: {err}"),
            ErrorKind::ConsentDenied { reason } => write!(f, "not sent: {reason}"),
            ErrorKind::OutsideWindow { .. } => {
                f.write_str("not sent: outside the 24-hour window, only a template may be sent")
            }
            ErrorKind::Storage { backend } => write!(f, "{backend} store error"),
            ErrorKind::Config { message } => write!(f, "configuration error: {message}"),
            ErrorKind::Unsupported { channel, what } => {
                write!(f, "{channel} cannot carry {what}")
            }
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match &self.kind {
            ErrorKind::Validation(err) => Some(err),
            ErrorKind::Webhook(err) => Some(err),
            _ => self.source.as_deref().map(|s| s as &(dyn StdError + 'static)),
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Self::new(kind)
    }
}

impl From<crate::webhook::WebhookError> for Error {
    fn from(err: crate::webhook::WebhookError) -> Self {
        Self::new(ErrorKind::Webhook(err))
    }
}

impl From<ValidationError> for Error {
    fn from(err: ValidationError) -> Self {
        Self::new(ErrorKind::Validation(err))
    }
}

/// What kind of failure an [`Error`] is. New kinds may be added in minor releases.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The provider answered with an error (not a rate limit).
    Api(Box<ApiError>),
    /// Too many requests: the provider said so, or a local [`Throttle`](crate::Throttle)
    /// would have had to wait longer than allowed.
    RateLimited {
        /// When to try again, if known.
        retry_after: Option<Duration>,
        /// What the limit applies to.
        scope: RateLimitScope,
        /// The provider's error, when the provider reported the limit.
        api: Option<Box<ApiError>>,
    },
    /// The request did not complete in time.
    Timeout {
        /// Whether the request may have reached the provider.
        may_have_been_sent: bool,
    },
    /// The connection failed.
    Transport {
        /// Whether the request may have reached the provider.
        may_have_been_sent: bool,
    },
    /// The provider answered successfully but the body did not have the expected shape.
    Decode {
        /// The JSON path where decoding failed (`messages[0].id`).
        path: String,
        /// The body as received.
        body: RawBody,
    },
    /// The request was refused locally before anything was sent.
    Validation(ValidationError),
    /// An inbound webhook request was refused or could not be parsed.
    Webhook(crate::webhook::WebhookError),
    /// The recipient has not consented to this message; nothing was sent.
    ConsentDenied {
        /// Why.
        reason: ConsentDenial,
    },
    /// A free-form message outside the 24-hour customer-service window: only a template may
    /// go out. Refused locally ([`WindowGuard`](crate::window::WindowGuard)); nothing was sent.
    OutsideWindow {
        /// When the person last wrote, in milliseconds since the epoch; `None` if never.
        last_inbound_ms: Option<i64>,
    },
    /// A store (the consent ledger, a deduplicator) failed; the source says why.
    Storage {
        /// Which backend (`sqlite`, `postgres`).
        backend: &'static str,
    },
    /// The client was configured wrongly.
    Config {
        /// What is wrong.
        message: Cow<'static, str>,
    },
    /// The channel cannot carry this content and has no faithful way to degrade it.
    Unsupported {
        /// The channel that refused.
        channel: ChannelKind,
        /// What it cannot carry.
        what: Cow<'static, str>,
    },
}

/// Why a [`ConsentGuard`](crate::consent::ConsentGuard) refused a message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConsentDenial {
    /// The recipient opted out (of everything, or of this topic) at this time.
    OptedOut {
        /// The topic, or `None` for everything.
        topic: Option<String>,
        /// When, in ms since the Unix epoch.
        since_ms: i64,
    },
    /// A marketing message needs an opt-in for its topic, and there is none.
    NoOptIn {
        /// The topic, or `None` for everything.
        topic: Option<String>,
    },
}

impl fmt::Display for ConsentDenial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let topic = |t: &Option<String>| {
            t.as_deref()
                .map_or("all messages".to_owned(), |t| format!("topic `{t}`"))
        };
        match self {
            Self::OptedOut { topic: t, .. } => write!(f, "the recipient opted out of {}", topic(t)),
            Self::NoOptIn { topic: t } => write!(f, "no opt-in for {} (required for marketing)", topic(t)),
        }
    }
}

/// What a rate limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RateLimitScope {
    /// The whole app or account (Graph codes 4 and 80007).
    Account,
    /// One sender, e.g. a WhatsApp business number's throughput (130429).
    Sender,
    /// One sender-recipient pair (WhatsApp 131056): other recipients are unaffected.
    Recipient,
    /// Not stated by the provider.
    Unknown,
}

impl fmt::Display for RateLimitScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Account => "account",
            Self::Sender => "sender",
            Self::Recipient => "recipient",
            Self::Unknown => "unknown scope",
        })
    }
}

/// How a provider error code is classified, once, for every provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A temporary failure on the provider's side; retrying later may succeed.
    Transient,
    /// A rate limit; retrying after a pause will succeed.
    RateLimited,
    /// The access token is invalid or expired.
    Auth,
    /// The token lacks a permission or the account lacks a capability.
    Permission,
    /// The request itself is wrong (a parameter, a recipient format).
    InvalidRequest,
    /// Outside the 24-hour customer-service window: only a template may be sent (131047).
    NeedsTemplate,
    /// The recipient opted out (WhatsApp 131050 marketing opt-out, SMS STOP).
    OptedOut,
    /// The message cannot be delivered to this recipient (not on the platform, blocked…).
    Undeliverable,
    /// The template is missing, unapproved, paused, or its parameters do not match it.
    Template,
    /// Refused to protect quality (spam limits, per-user marketing limits); retrying hurts.
    Quality,
    /// A media file could not be fetched or uploaded.
    Media,
    /// An account-level problem: registration, billing, policy, restrictions.
    Account,
    /// Not classified.
    Unknown,
}

impl ErrorClass {
    /// Whether errors of this class may succeed if repeated.
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Transient | Self::RateLimited)
    }

    /// A short lower-case name (`needs_template`), stable for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Transient => "transient",
            Self::RateLimited => "rate_limited",
            Self::Auth => "auth",
            Self::Permission => "permission",
            Self::InvalidRequest => "invalid_request",
            Self::NeedsTemplate => "needs_template",
            Self::OptedOut => "opted_out",
            Self::Undeliverable => "undeliverable",
            Self::Template => "template",
            Self::Quality => "quality",
            Self::Media => "media",
            Self::Account => "account",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error reported by a provider's API.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// Which provider answered (`whatsapp`, `twilio`…).
    pub provider: Cow<'static, str>,
    /// The HTTP status of the answer.
    pub status: StatusCode,
    /// The provider's error code; `None` when the body carried no error envelope.
    pub code: Option<i64>,
    /// A finer code, where the provider sends one (Graph `error_subcode`).
    pub subcode: Option<i64>,
    /// The provider's error type (Graph `OAuthException`, an X problem type).
    pub error_type: Option<String>,
    /// The provider's message.
    pub message: String,
    /// The provider's details (Graph `error_data.details`), the most useful text to act on.
    pub details: Option<String>,
    /// The provider's trace id (Graph `fbtrace_id`), for support requests.
    pub trace_id: Option<String>,
    /// How the code is classified.
    pub class: ErrorClass,
    /// The quotas the provider reported with the answer (X's `x-rate-limit-*` headers).
    pub rate_limits: Option<RateLimits>,
    /// The body as received.
    pub raw: RawBody,
}

/// One quota a provider reported: calls allowed in its window, calls left, and when the
/// window resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Calls allowed in the window.
    pub limit: u64,
    /// Calls left.
    pub remaining: u64,
    /// When the window resets.
    pub reset_at: std::time::SystemTime,
}

/// The quotas a provider reported on one answer. X reports the endpoint's window
/// (`x-rate-limit-*`, usually 15 minutes) and, on sends, 24-hour quotas per user and per app.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// The endpoint's window.
    pub window: Option<Quota>,
    /// The authenticated user's 24-hour quota.
    pub user_day: Option<Quota>,
    /// The app's 24-hour quota.
    pub app_day: Option<Quota>,
}

impl RateLimits {
    /// Whether no quota was reported.
    pub fn is_empty(&self) -> bool {
        self.window.is_none() && self.user_day.is_none() && self.app_day.is_none()
    }

    /// The quotas that are used up.
    pub fn exhausted(&self) -> impl Iterator<Item = &Quota> {
        [&self.window, &self.user_day, &self.app_day]
            .into_iter()
            .flatten()
            .filter(|q| q.remaining == 0)
    }

    /// How long until every used-up quota has reset, as seen at `now`; `None` if none is
    /// used up.
    pub fn wait_at(&self, now: std::time::SystemTime) -> Option<Duration> {
        self.exhausted()
            .map(|q| q.reset_at.duration_since(now).unwrap_or_default())
            .max()
    }
}

impl ApiError {
    /// An API error with only the required parts; for integrators' own channels.
    pub fn new(
        provider: impl Into<Cow<'static, str>>,
        status: StatusCode,
        class: ErrorClass,
        message: impl Into<String>,
    ) -> Self {
        Self {
            provider: provider.into(),
            status,
            code: None,
            subcode: None,
            error_type: None,
            message: message.into(),
            details: None,
            trace_id: None,
            class,
            rate_limits: None,
            raw: RawBody::default(),
        }
    }

    /// Sets the provider's error code.
    #[must_use]
    pub fn with_code(mut self, code: i64) -> Self {
        self.code = Some(code);
        self
    }

    /// Sets the provider's details text.
    #[must_use]
    pub fn with_details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    /// Keeps the raw body.
    #[must_use]
    pub fn with_raw(mut self, raw: impl Into<Bytes>) -> Self {
        self.raw = RawBody(raw.into());
        self
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} API error", self.provider)?;
        if let Some(code) = self.code {
            write!(f, " {code}")?;
        }
        write!(f, " ({}, HTTP {})", self.class, self.status.as_u16())?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(details) = &self.details {
            write!(f, " ({details})")?;
        }
        Ok(())
    }
}

/// A response body kept for diagnosis. `Debug` shows only its length, because bodies can
/// contain personal data (phone numbers); read it with [`as_bytes`](Self::as_bytes) or
/// [`as_str_lossy`](Self::as_str_lossy) when you choose to.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawBody(Bytes);

impl RawBody {
    /// Wraps a body.
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }

    /// The bytes as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The body as text, with invalid UTF-8 replaced.
    pub fn as_str_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the body is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for RawBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RawBody({} bytes)", self.0.len())
    }
}

/// A request refused locally, before anything was sent: it names the field and the limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
#[non_exhaustive]
pub struct ValidationError {
    /// Path of the offending field, in the provider's JSON terms (`interactive.action.buttons`).
    pub field: String,
    /// What is wrong with it.
    pub problem: Problem,
}

impl ValidationError {
    /// A validation error for `field`.
    pub fn new(field: impl Into<String>, problem: Problem) -> Self {
        Self {
            field: field.into(),
            problem,
        }
    }
}

/// What is wrong with a field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// A required value is absent.
    #[error("is required")]
    Missing,
    /// The value is empty.
    #[error("must not be empty")]
    Empty,
    /// Text longer than allowed (in characters).
    #[error("at most {max} characters allowed, got {actual}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The length given.
        actual: usize,
    },
    /// More items than allowed.
    #[error("at most {max} allowed, got {actual}")]
    TooMany {
        /// The limit.
        max: usize,
        /// The count given.
        actual: usize,
    },
    /// A file larger than allowed.
    #[error("at most {max} bytes allowed, got {actual}")]
    TooLarge {
        /// The limit in bytes.
        max: u64,
        /// The size given.
        actual: u64,
    },
    /// Two items that must be unique are not.
    #[error("must be unique, `{0}` appears twice")]
    Duplicate(String),
    /// The field is not allowed here.
    #[error("not allowed {0}")]
    NotAllowed(Cow<'static, str>),
    /// The value has the wrong format.
    #[error("{0}")]
    Invalid(Cow<'static, str>),
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_impl_all!(Error: Send, Sync, StdError);

    #[test]
    fn retryability_follows_the_kind() {
        let limited = Error::new(ErrorKind::RateLimited {
            retry_after: Some(Duration::from_secs(2)),
            scope: RateLimitScope::Sender,
            api: None,
        });
        assert!(limited.is_retryable());
        assert_eq!(limited.retry_after(), Some(Duration::from_secs(2)));
        assert!(!Error::timeout(true).is_retryable());
        assert!(Error::timeout(true).may_have_been_sent());
        assert!(Error::transport(false, "refused").is_retryable());
        let bare_5xx = Error::new(ErrorKind::Api(Box::new(ApiError::new(
            "whatsapp",
            StatusCode::BAD_GATEWAY,
            ErrorClass::Unknown,
            "",
        ))));
        assert!(bare_5xx.may_have_been_sent());
        assert!(!bare_5xx.is_retryable());
    }

    #[test]
    fn raw_body_debug_shows_only_its_length() {
        let body = RawBody::new(&b"{\"input\":\"+4915112345678\"}"[..]);
        assert_eq!(format!("{body:?}"), "RawBody(26 bytes)");
        let err = Error::new(ErrorKind::Decode {
            path: "messages".into(),
            body,
        });
        assert!(!format!("{err:?}").contains("4915112345678"));
        assert!(!err.to_string().contains("4915112345678"));
    }
}
