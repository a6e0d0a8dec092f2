//! X's three error shapes (problem+json, legacy `errors[]` with codes, partial errors in a
//! `200`) and its rate-limit headers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::error::{ApiError, Error, ErrorClass, ErrorKind, Quota, RateLimitScope, RateLimits, RawBody};

/// The quotas in X's headers: `x-rate-limit-*` (the endpoint's window) and the 24-hour
/// `x-user-limit-24hour-*` and `x-app-limit-24hour-*`. Missing or malformed headers leave
/// that quota `None`.
pub fn parse_rate_limits(headers: &HeaderMap) -> RateLimits {
    let quota = |prefix: &str| {
        let number = |suffix: &str| -> Option<u64> {
            headers
                .get(format!("{prefix}-{suffix}"))?
                .to_str()
                .ok()?
                .trim()
                .parse()
                .ok()
        };
        Some(Quota {
            limit: number("limit")?,
            remaining: number("remaining")?,
            reset_at: UNIX_EPOCH + Duration::from_secs(number("reset")?),
        })
    };
    RateLimits {
        window: quota("x-rate-limit"),
        user_day: quota("x-user-limit-24hour"),
        app_day: quota("x-app-limit-24hour"),
    }
}

/// How a legacy v1.1 error code is classified.
pub fn classify(code: i64) -> ErrorClass {
    match code {
        // Could not authenticate, invalid or expired token, timestamp out of bounds.
        32 | 89 | 135 => ErrorClass::Auth,
        88 => ErrorClass::RateLimited,
        // No DM permission, no write access, self-serve access level.
        93 | 261 | 453 => ErrorClass::Permission,
        // Cannot DM this user: not following, blocked, closed DMs, needs a verified sender.
        150 | 151 | 349 | 476 => ErrorClass::Undeliverable,
        226 => ErrorClass::Quality,
        326 => ErrorClass::Account,
        354 => ErrorClass::InvalidRequest,
        // Over capacity, internal error.
        130 | 131 => ErrorClass::Transient,
        _ => ErrorClass::Unknown,
    }
}

/// The name at the end of a problem `type` (`…/2/problems/usage-capped` → `usage-capped`),
/// whichever host X used (`api.x.com` or `api.twitter.com`).
pub fn problem_name(problem_type: &str) -> &str {
    problem_type
        .rsplit_once("/problems/")
        .map_or(problem_type, |(_, name)| name)
}

/// How a problem type is classified; `about:blank` goes by the HTTP status.
fn classify_problem(name: &str, status: StatusCode) -> ErrorClass {
    match name {
        "invalid-request" | "conflict" | "duplicate-rules" | "invalid-rules" | "noncompliant-rules" => {
            ErrorClass::InvalidRequest
        }
        "resource-not-found" | "resource-unavailable" => ErrorClass::Undeliverable,
        "not-authorized-for-resource"
        | "not-authorized-for-field"
        | "field-unauthorized"
        | "client-forbidden"
        | "disallowed-resource" => ErrorClass::Permission,
        "unsupported-authentication" => ErrorClass::Auth,
        // A plan's cap or credits: waiting a few minutes will not help.
        "usage-capped" | "credits-depleted" | "rule-cap" => ErrorClass::Account,
        "rate-limit-exceeded" => ErrorClass::RateLimited,
        "internal-error" | "operational-disconnect" | "field-hydration-failure" => ErrorClass::Transient,
        _ => match status.as_u16() {
            401 => ErrorClass::Auth,
            403 => ErrorClass::Permission,
            404 => ErrorClass::Undeliverable,
            429 => ErrorClass::RateLimited,
            400..=499 => ErrorClass::InvalidRequest,
            500..=599 => ErrorClass::Transient,
            _ => ErrorClass::Unknown,
        },
    }
}

/// One problem reported next to data in a successful answer (a partial error), or inside
/// an error answer's `errors`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct PartialError {
    /// The problem's title.
    #[serde(default)]
    pub title: Option<String>,
    /// What went wrong.
    #[serde(default)]
    pub detail: Option<String>,
    /// The problem type URI.
    #[serde(default, rename = "type")]
    pub problem_type: Option<String>,
    /// The resource concerned (a user or media id).
    #[serde(default)]
    pub resource_id: Option<String>,
    /// The resource type.
    #[serde(default)]
    pub resource_type: Option<String>,
    /// The parameter concerned.
    #[serde(default)]
    pub parameter: Option<String>,
    /// A legacy numeric code.
    #[serde(default)]
    pub code: Option<i64>,
    /// A legacy message.
    #[serde(default)]
    pub message: Option<String>,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default, rename = "type")]
    problem_type: Option<String>,
    #[serde(default)]
    errors: Vec<PartialError>,
}

/// The error for an answer that is not a success, or a success without data.
pub(crate) fn error_from(status: StatusCode, headers: &HeaderMap, body: Bytes) -> Error {
    let rate_limits = parse_rate_limits(headers);
    let envelope = serde_json::from_slice::<Envelope>(&body).ok();
    let first = envelope.as_ref().and_then(|e| e.errors.first());
    let code = first.and_then(|e| e.code);
    let problem_type = envelope
        .as_ref()
        .and_then(|e| e.problem_type.clone())
        .or_else(|| first.and_then(|e| e.problem_type.clone()));
    let name = problem_type.as_deref().map(problem_name);
    let mut class = match (code, name) {
        (Some(code), _) if classify(code) != ErrorClass::Unknown => classify(code),
        (_, Some(name)) => classify_problem(name, status),
        _ => classify_problem("", status),
    };
    // A 429 is a rate limit unless X says it is a usage cap.
    if status == StatusCode::TOO_MANY_REQUESTS && class != ErrorClass::Account {
        class = ErrorClass::RateLimited;
    }
    let message = envelope
        .as_ref()
        .and_then(|e| e.title.clone())
        .or_else(|| first.and_then(|e| e.message.clone().or(e.title.clone())))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    let details = envelope
        .as_ref()
        .and_then(|e| e.detail.clone())
        .or_else(|| first.and_then(|e| e.detail.clone()));
    let mut api = ApiError::new("twitter", status, class, message);
    api.code = code;
    api.error_type = problem_type;
    api.details = details;
    api.rate_limits = (!rate_limits.is_empty()).then_some(rate_limits);
    api.raw = RawBody::new(body);
    if class == ErrorClass::RateLimited {
        let retry_after = rate_limits
            .wait_at(SystemTime::now())
            .or_else(|| crate::http::executor::retry_after(headers));
        let scope = if rate_limits.app_day.is_some_and(|q| q.remaining == 0) {
            RateLimitScope::Account
        } else if rate_limits.window.is_some() || rate_limits.user_day.is_some() {
            RateLimitScope::Sender
        } else {
            RateLimitScope::Unknown
        };
        Error::new(ErrorKind::RateLimited {
            retry_after,
            scope,
            api: Some(Box::new(api)),
        })
    } else {
        Error::new(ErrorKind::Api(Box::new(api)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (k.parse().unwrap(), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn rate_limit_headers_are_typed() {
        let limits = parse_rate_limits(&headers(&[
            ("x-rate-limit-limit", "900"),
            ("x-rate-limit-remaining", "847"),
            ("x-rate-limit-reset", "1705420800"),
            ("x-user-limit-24hour-limit", "1440"),
            ("x-user-limit-24hour-remaining", "0"),
            ("x-user-limit-24hour-reset", "1705424400"),
            ("x-app-limit-24hour-limit", "oops"),
        ]));
        let window = limits.window.unwrap();
        assert_eq!((window.limit, window.remaining), (900, 847));
        assert_eq!(window.reset_at, UNIX_EPOCH + Duration::from_secs(1_705_420_800));
        assert_eq!(limits.user_day.unwrap().remaining, 0);
        assert_eq!(limits.app_day, None);
        assert_eq!(
            limits.wait_at(UNIX_EPOCH + Duration::from_secs(1_705_424_000)),
            Some(Duration::from_secs(400))
        );
    }

    #[test]
    fn problems_match_by_suffix_on_either_host() {
        for host in ["https://api.x.com", "https://api.twitter.com"] {
            let body = format!(
                r#"{{"title":"UsageCapExceeded","detail":"Usage cap exceeded: Monthly product cap","type":"{host}/2/problems/usage-capped","period":"Monthly","scope":"Product"}}"#
            );
            let err = error_from(
                StatusCode::TOO_MANY_REQUESTS,
                &HeaderMap::new(),
                Bytes::from(body),
            );
            assert_eq!(
                err.class(),
                Some(ErrorClass::Account),
                "usage cap is not a rate limit"
            );
            assert!(!err.is_retryable());
        }
        let limited = error_from(
            StatusCode::TOO_MANY_REQUESTS,
            &headers(&[
                ("x-rate-limit-limit", "15"),
                ("x-rate-limit-remaining", "0"),
                ("x-rate-limit-reset", "4102444800"),
            ]),
            Bytes::from_static(
                br#"{"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429}"#,
            ),
        );
        assert_eq!(limited.class(), Some(ErrorClass::RateLimited));
        assert!(limited.retry_after().unwrap() > Duration::from_secs(3600));
        assert_eq!(
            limited
                .api_error()
                .unwrap()
                .rate_limits
                .unwrap()
                .window
                .unwrap()
                .limit,
            15
        );
    }

    #[test]
    fn legacy_codes_and_forbidden_media() {
        let err = error_from(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            Bytes::from_static(
                br#"{"errors":[{"code":349,"message":"You cannot send messages to this user."}]}"#,
            ),
        );
        assert_eq!(err.provider_code(), Some(349));
        assert_eq!(err.class(), Some(ErrorClass::Undeliverable));
        let err = error_from(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            Bytes::from_static(br#"{"errors":[{"code":93,"message":"This App is not allowed to access or delete your Direct Messages"}]}"#),
        );
        assert_eq!(err.class(), Some(ErrorClass::Permission));
        let err = error_from(
            StatusCode::FORBIDDEN,
            &HeaderMap::new(),
            Bytes::from_static(br#"{"title":"Forbidden","detail":"You are not permitted to attach this media to a DM event.","type":"about:blank","status":403}"#),
        );
        assert_eq!(err.class(), Some(ErrorClass::Permission));
        assert_eq!(
            err.api_error().unwrap().details.as_deref(),
            Some("You are not permitted to attach this media to a DM event.")
        );
        let err = error_from(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            Bytes::from_static(b"<html>"),
        );
        assert_eq!(err.class(), Some(ErrorClass::Transient));
    }

    proptest::proptest! {
        #[test]
        fn any_error_body_is_handled(body in proptest::collection::vec(proptest::num::u8::ANY, 0..256), status in 400u16..600) {
            let _ = error_from(StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), Bytes::from(body));
        }
    }
}
