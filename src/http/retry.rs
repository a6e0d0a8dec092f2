//! When to repeat a failed request: a pure function of the error, the attempt number and
//! whether the operation is idempotent.
//!
//! The rule that matters most: a message whose request may already have reached the
//! provider is never sent again (the providers we speak to have no idempotency keys for
//! sends), because the recipient would get it twice. A 5xx is such a case, whatever code
//! it carries ([`Error::may_have_been_sent`]). Rate limits, transient errors the provider
//! refused with (4xx), and failures before the connection was made are retried with
//! jittered exponential backoff, honouring `Retry-After`.

use std::time::{Duration, SystemTime};

use crate::error::{Error, ErrorKind, RateLimitScope};

/// The retry settings of a client.
///
/// ```
/// use std::time::Duration;
/// use switchboard::RetryPolicy;
///
/// let patient = RetryPolicy::default().max_retries(5).max_delay(Duration::from_secs(120));
/// let off = RetryPolicy::disabled();
/// # let _ = (patient, off);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three retries, starting at 500 ms and doubling, never waiting more than 60 s at once.
    fn default() -> Self {
        Self {
            max_retries: 3,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Give up and return the error.
    Stop,
    /// Wait this long, then try again.
    RetryAfter(Duration),
}

impl RetryPolicy {
    /// Never retry.
    pub fn disabled() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// How many times to retry after the first attempt.
    #[must_use]
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// The first backoff delay; it doubles with each retry.
    #[must_use]
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest single wait. If the provider asks for a longer pause (`Retry-After`),
    /// the error is returned instead, so the caller can reschedule rather than block.
    #[must_use]
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Decides after attempt number `attempt` (0 for the first) failed with `error`.
    ///
    /// `idempotent` says whether repeating the request is harmless even if it reached the
    /// provider (reads, deletes); message sends are not. `jitter` is a number in `[0, 1)`
    /// that spreads retries of many clients apart; pass a random one (tests pass a fixed one).
    ///
    /// ```
    /// use std::time::Duration;
    /// use switchboard::{Error, RetryDecision, RetryPolicy};
    ///
    /// let policy = RetryPolicy::default();
    /// // A timeout after the request went out: a send is not repeated…
    /// assert_eq!(policy.decide(0, &Error::timeout(true), false, 0.5), RetryDecision::Stop);
    /// // …but a read is.
    /// assert!(matches!(policy.decide(0, &Error::timeout(true), true, 0.5), RetryDecision::RetryAfter(_)));
    /// ```
    pub fn decide(&self, attempt: u32, error: &Error, idempotent: bool, jitter: f64) -> RetryDecision {
        if attempt >= self.max_retries {
            return RetryDecision::Stop;
        }
        let retryable = error.is_retryable()
            || (idempotent
                && error.may_have_been_sent()
                && !matches!(error.kind(), ErrorKind::Decode { .. }));
        if !retryable {
            return RetryDecision::Stop;
        }
        let delay = match (error.retry_after(), error.kind()) {
            (Some(after), _) => after,
            // WhatsApp's pair rate limit: Meta asks for 4^n seconds between attempts.
            (
                None,
                ErrorKind::RateLimited {
                    scope: RateLimitScope::Recipient,
                    ..
                },
            ) => Duration::from_secs(4u64.saturating_pow(attempt)),
            (None, _) => self.backoff(attempt, jitter),
        };
        if delay > self.max_delay {
            return RetryDecision::Stop;
        }
        RetryDecision::RetryAfter(delay)
    }

    /// Exponential backoff with "equal jitter": between half and all of the doubled delay,
    /// so no retry comes back immediately and many clients do not retry in step.
    fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt))
            .min(self.max_delay);
        let jitter = jitter.clamp(0.0, 1.0);
        exp.mul_f64(0.5 + jitter * 0.5)
    }
}

/// Parses a `Retry-After` value: delay seconds, or an HTTP date relative to `now`.
pub fn parse_retry_after(value: &http::HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    if let Ok(secs) = text.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorClass};
    use http::{HeaderValue, StatusCode};

    fn api(class: ErrorClass, status: StatusCode, code: Option<i64>) -> Error {
        let mut api = ApiError::new("whatsapp", status, class, "x");
        api.code = code;
        Error::new(ErrorKind::Api(Box::new(api)))
    }

    fn limited(scope: RateLimitScope, retry_after: Option<Duration>) -> Error {
        Error::new(ErrorKind::RateLimited {
            retry_after,
            scope,
            api: None,
        })
    }

    #[test]
    fn transient_provider_errors_back_off_exponentially_with_jitter() {
        // On a read: a send with a transient error may have been queued (see below).
        let p = RetryPolicy::default();
        let e = api(ErrorClass::Transient, StatusCode::BAD_REQUEST, Some(2));
        assert_eq!(
            p.decide(0, &e, true, 0.0),
            RetryDecision::RetryAfter(Duration::from_millis(250))
        );
        assert_eq!(
            p.decide(0, &e, true, 1.0),
            RetryDecision::RetryAfter(Duration::from_millis(500))
        );
        assert_eq!(
            p.decide(2, &e, true, 1.0),
            RetryDecision::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(
            p.decide(3, &e, true, 1.0),
            RetryDecision::Stop,
            "attempts exhausted"
        );
    }

    #[test]
    fn a_5xx_on_a_send_is_ambiguous_and_never_repeated() {
        let p = RetryPolicy::default();
        // Meta may have queued the message before answering 500 131000.
        let e = api(
            ErrorClass::Transient,
            StatusCode::INTERNAL_SERVER_ERROR,
            Some(131000),
        );
        assert!(e.may_have_been_sent());
        assert!(!e.is_retryable());
        assert_eq!(p.decide(0, &e, false, 0.5), RetryDecision::Stop);
        assert!(matches!(p.decide(0, &e, true, 0.5), RetryDecision::RetryAfter(_)));
        // A transient error is ambiguous whatever the status (Graph 1 "possible server
        // error" comes as a 400): never repeated for a send, retried for a read.
        let transient = api(ErrorClass::Transient, StatusCode::BAD_REQUEST, Some(1));
        assert!(transient.may_have_been_sent());
        assert_eq!(p.decide(0, &transient, false, 0.5), RetryDecision::Stop);
        assert!(matches!(
            p.decide(0, &transient, true, 0.5),
            RetryDecision::RetryAfter(_)
        ));
        // A plain refusal is neither.
        let refused = api(ErrorClass::InvalidRequest, StatusCode::BAD_REQUEST, Some(100));
        assert!(!refused.may_have_been_sent() && !refused.is_retryable());
        // A rate limit says the request was not taken, whatever the status.
        let mut limit = ApiError::new(
            "twilio",
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorClass::RateLimited,
            "x",
        );
        limit.code = Some(20429);
        let limited = Error::new(ErrorKind::RateLimited {
            retry_after: None,
            scope: RateLimitScope::Account,
            api: Some(Box::new(limit)),
        });
        assert!(!limited.may_have_been_sent());
        assert!(matches!(
            p.decide(0, &limited, false, 0.5),
            RetryDecision::RetryAfter(_)
        ));
    }

    #[test]
    fn retry_after_is_honoured_and_capped() {
        let p = RetryPolicy::default().max_delay(Duration::from_secs(10));
        let e = limited(RateLimitScope::Sender, Some(Duration::from_secs(7)));
        assert_eq!(
            p.decide(0, &e, false, 0.3),
            RetryDecision::RetryAfter(Duration::from_secs(7))
        );
        let too_long = limited(RateLimitScope::Sender, Some(Duration::from_secs(11)));
        assert_eq!(p.decide(0, &too_long, false, 0.3), RetryDecision::Stop);
    }

    #[test]
    fn pair_rate_limit_waits_four_to_the_n_seconds() {
        let p = RetryPolicy::default();
        let e = limited(RateLimitScope::Recipient, None);
        assert_eq!(
            p.decide(0, &e, false, 0.9),
            RetryDecision::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            p.decide(1, &e, false, 0.9),
            RetryDecision::RetryAfter(Duration::from_secs(4))
        );
        assert_eq!(
            p.decide(2, &e, false, 0.9),
            RetryDecision::RetryAfter(Duration::from_secs(16))
        );
    }

    #[test]
    fn sends_that_may_have_arrived_are_never_repeated() {
        let p = RetryPolicy::default();
        for e in [
            Error::timeout(true),
            Error::transport(true, "connection reset"),
            api(ErrorClass::Unknown, StatusCode::BAD_GATEWAY, None),
        ] {
            assert_eq!(p.decide(0, &e, false, 0.5), RetryDecision::Stop, "{e}");
            assert!(
                matches!(p.decide(0, &e, true, 0.5), RetryDecision::RetryAfter(_)),
                "{e}"
            );
        }
        // Connect-phase failures sent nothing, so even sends retry.
        assert!(matches!(
            p.decide(0, &Error::transport(false, "refused"), false, 0.5),
            RetryDecision::RetryAfter(_)
        ));
    }

    #[test]
    fn permanent_errors_stop_and_disabled_never_retries() {
        let p = RetryPolicy::default();
        for class in [
            ErrorClass::NeedsTemplate,
            ErrorClass::OptedOut,
            ErrorClass::Auth,
            ErrorClass::Quality,
        ] {
            let e = api(class, StatusCode::BAD_REQUEST, Some(1));
            assert_eq!(p.decide(0, &e, true, 0.5), RetryDecision::Stop, "{class}");
        }
        let e = limited(RateLimitScope::Sender, None);
        assert_eq!(
            RetryPolicy::disabled().decide(0, &e, true, 0.5),
            RetryDecision::Stop
        );
    }

    #[test]
    fn parses_retry_after_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let v = |s: &'static str| HeaderValue::from_static(s);
        assert_eq!(parse_retry_after(&v("120"), now), Some(Duration::from_secs(120)));
        assert_eq!(
            parse_retry_after(&v("1.5"), now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after(&v("Sun, 06 Nov 1994 08:50:07 GMT"), now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after(&v("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(&v("soon"), now), None);
        assert_eq!(parse_retry_after(&v("-3"), now), None);
    }
}
