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

use http::StatusCode;

use crate::model::ChannelKind;

mod api;
mod body;
mod validation;
mod webhook;

pub use api::{AcceptedPart, ApiError, ErrorClass, Quota, RateLimits};
pub use body::RawBody;
pub use validation::{Problem, ValidationError};
pub use webhook::WebhookError;

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
            ErrorKind::Api(api) | ErrorKind::PartlySent { api, .. } => Some(api),
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
            ErrorKind::Api(api) | ErrorKind::PartlySent { api, .. } => Some(api.class),
            ErrorKind::OutsideWindow { .. } => Some(ErrorClass::NeedsTemplate),
            _ => None,
        }
    }

    /// Whether repeating the same request is safe and may succeed: rate limits and
    /// transport failures that happened before anything was sent.
    ///
    /// A request that may already have reached the provider is never retryable here,
    /// because a second send could deliver the message twice.
    pub fn is_retryable(&self) -> bool {
        match &self.kind {
            ErrorKind::RateLimited { .. } => true,
            ErrorKind::Api(api) => api.class.is_retryable() && !self.may_have_been_sent(),
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
    /// after sending, a connection reset mid-response, any server error (5xx, even with a
    /// provider code such as Graph 131000: the provider may have queued the message before
    /// failing), any transient provider error, or a multi-part message some of whose parts were accepted. A message
    /// send that fails this way may have been delivered. A rate limit is never ambiguous:
    /// the provider says it did not take the request.
    pub fn may_have_been_sent(&self) -> bool {
        match &self.kind {
            ErrorKind::Timeout { may_have_been_sent } | ErrorKind::Transport { may_have_been_sent } => {
                *may_have_been_sent
            }
            // A transient provider error ("something went wrong", Graph 1, 2, 131000) may
            // come after the message was queued, whatever the status.
            ErrorKind::Api(api) => api.status.is_server_error() || api.class == ErrorClass::Transient,
            ErrorKind::Decode { .. } | ErrorKind::PartlySent { .. } => true,
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
            ErrorKind::PartlySent { accepted, api } => {
                write!(
                    f,
                    "{api}; accepted before that, so it may have been sent in part:"
                )?;
                for part in accepted {
                    write!(f, " part {}", part.index + 1)?;
                    if let Some(id) = &part.message_id {
                        write!(f, " ({id})")?;
                    }
                }
                Ok(())
            }
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

impl From<WebhookError> for Error {
    fn from(err: WebhookError) -> Self {
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
    /// A message sent in several parts (a long SMS) of which the provider accepted some
    /// before refusing another: the recipient may get it in part. It is never resent.
    PartlySent {
        /// The parts that went out.
        accepted: Vec<AcceptedPart>,
        /// The provider's error for the first refused part.
        api: Box<ApiError>,
    },
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
    Webhook(WebhookError),
    /// The recipient has not consented to this message; nothing was sent.
    ConsentDenied {
        /// Why.
        reason: ConsentDenial,
    },
    /// A free-form message outside the 24-hour customer-service window: only a template may
    /// go out. Refused locally ([`WindowGuard`](crate::channel::window::WindowGuard)); nothing was sent.
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
