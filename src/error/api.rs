//! Errors the providers report, classified once for every provider.

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;

use super::RawBody;
use crate::model::address::{MaskedText, mask_numbers};

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
///
/// Provider messages can quote the recipient ("The 'To' number +4917612345678 is not a
/// valid phone number"), so `Display` and `Debug` mask number-like runs in `message` and
/// `details`; the fields themselves hold the text as received.
#[derive(Clone)]
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
    /// The provider's message, as received (it may quote personal data).
    pub message: String,
    /// The provider's details (Graph `error_data.details`), the most useful text to act on,
    /// as received.
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

/// A part of a multi-part message the provider accepted although another part failed
/// ([`ErrorKind::PartlySent`](super::ErrorKind::PartlySent)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcceptedPart {
    /// The part's position in the provider's answer, from 0.
    pub index: usize,
    /// The provider's id for the part, if it gave one.
    pub message_id: Option<String>,
}

impl AcceptedPart {
    /// Part `index` (from 0), with the provider's id if any.
    pub fn new(index: usize, message_id: Option<String>) -> Self {
        Self { index, message_id }
    }
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
        self.raw = RawBody::new(raw);
        self
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("provider", &self.provider)
            .field("status", &self.status)
            .field("code", &self.code)
            .field("subcode", &self.subcode)
            .field("error_type", &self.error_type)
            .field("message", &MaskedText(&self.message))
            .field("details", &self.details.as_deref().map(MaskedText))
            .field("trace_id", &self.trace_id)
            .field("class", &self.class)
            .field("rate_limits", &self.rate_limits)
            .field("raw", &self.raw)
            .finish()
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
            write!(f, ": {}", mask_numbers(&self.message))?;
        }
        if let Some(details) = &self.details {
            write!(f, " ({})", mask_numbers(details))?;
        }
        Ok(())
    }
}
