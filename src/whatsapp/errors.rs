//! The Graph API error envelope and the classification of every WhatsApp error code.
//!
//! Meta asks integrations to act on `code` and `error_data.details`, not on titles,
//! subcodes or HTTP status; [`classify`] does that once for the whole crate.

use bytes::Bytes;
use http::StatusCode;
use serde::Deserialize;

use crate::error::{ApiError, Error, ErrorClass, ErrorKind, RateLimitScope, RawBody};

/// Classifies a Graph API / WhatsApp error code.
///
/// ```
/// use switchboard::ErrorClass;
/// use switchboard::whatsapp::classify;
///
/// assert_eq!(classify(131047), ErrorClass::NeedsTemplate);
/// assert_eq!(classify(131050), ErrorClass::OptedOut);
/// assert!(classify(130429).is_retryable());
/// ```
pub fn classify(code: i64) -> ErrorClass {
    match code {
        4 | 80007 | 130429 | 131056 => ErrorClass::RateLimited,
        1 | 2 | 131000 | 131016 | 131057 | 133004 | 134101 => ErrorClass::Transient,
        0 | 190 => ErrorClass::Auth,
        3 | 10 | 200..=299 | 131005 => ErrorClass::Permission,
        131047 => ErrorClass::NeedsTemplate,
        131050 => ErrorClass::OptedOut,
        131026 | 130403 | 130472 | 131051 => ErrorClass::Undeliverable,
        131048 | 131049 | 131064 => ErrorClass::Quality,
        131052 | 131053 => ErrorClass::Media,
        132000..=132016 | 132068 | 132069 | 2388019 => ErrorClass::Template,
        100 | 33 | 131008 | 131009 | 131021 | 131030 | 131062 | 135000 => ErrorClass::InvalidRequest,
        368 | 130497 | 131031 | 131037 | 131042 | 131045 | 131063 | 133000..=133016 => ErrorClass::Account,
        _ => ErrorClass::Unknown,
    }
}

/// What a rate-limit code applies to.
fn rate_limit_scope(code: i64) -> RateLimitScope {
    match code {
        131056 => RateLimitScope::Recipient,
        130429 => RateLimitScope::Sender,
        4 | 80007 => RateLimitScope::Account,
        _ => RateLimitScope::Unknown,
    }
}

#[derive(Deserialize)]
struct Envelope {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(rename = "type")]
    error_type: Option<String>,
    code: Option<i64>,
    error_subcode: Option<i64>,
    error_data: Option<ErrorData>,
    fbtrace_id: Option<String>,
    is_transient: Option<bool>,
    error_user_msg: Option<String>,
}

#[derive(Deserialize)]
struct ErrorData {
    details: Option<String>,
}

/// Turns a non-2xx Graph API answer into an [`Error`].
pub(crate) fn from_response(status: StatusCode, headers: &http::HeaderMap, body: Bytes) -> Error {
    let retry_after = crate::http::executor::retry_after(headers);
    let Ok(Envelope { error: graph }) = serde_json::from_slice::<Envelope>(&body) else {
        // No Graph envelope: a proxy or load balancer answered. Classify by status only.
        let class = match status.as_u16() {
            429 => {
                return Error::new(ErrorKind::RateLimited {
                    retry_after,
                    scope: RateLimitScope::Unknown,
                    api: None,
                });
            }
            401 => ErrorClass::Auth,
            403 => ErrorClass::Permission,
            400..=499 => ErrorClass::InvalidRequest,
            _ => ErrorClass::Unknown,
        };
        let message = status.canonical_reason().unwrap_or("unexpected status");
        let api = ApiError::new("whatsapp", status, class, message).with_raw(body);
        return Error::new(ErrorKind::Api(Box::new(api)));
    };
    let mut class = graph.code.map_or(ErrorClass::Unknown, classify);
    if graph.is_transient == Some(true) && !class.is_retryable() {
        class = ErrorClass::Transient;
    }
    let api = Box::new(ApiError {
        provider: "whatsapp".into(),
        status,
        code: graph.code,
        subcode: graph.error_subcode,
        error_type: graph.error_type,
        message: graph.message,
        details: graph.error_data.and_then(|d| d.details).or(graph.error_user_msg),
        trace_id: graph.fbtrace_id,
        class,
        rate_limits: None,
        raw: RawBody::new(body),
    });
    if class == ErrorClass::RateLimited || status == StatusCode::TOO_MANY_REQUESTS {
        Error::new(ErrorKind::RateLimited {
            retry_after,
            scope: graph.code.map_or(RateLimitScope::Unknown, rate_limit_scope),
            api: Some(api),
        })
    } else {
        Error::new(ErrorKind::Api(api))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(status: u16, body: &str) -> Error {
        from_response(
            StatusCode::from_u16(status).unwrap(),
            &http::HeaderMap::new(),
            Bytes::copy_from_slice(body.as_bytes()),
        )
    }

    #[test]
    fn parses_the_documented_rate_limit_envelope() {
        let err = parse(
            400,
            r#"{"error":{"message":"(#130429) Rate limit hit","type":"OAuthException","code":130429,
            "error_data":{"messaging_product":"whatsapp","details":"Cloud API message throughput has been reached."},
            "error_subcode":2494055,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}"#,
        );
        assert!(matches!(
            err.kind(),
            ErrorKind::RateLimited {
                scope: RateLimitScope::Sender,
                ..
            }
        ));
        let api = err.api_error().unwrap();
        assert_eq!(api.code, Some(130429));
        assert_eq!(api.subcode, Some(2494055));
        assert_eq!(
            api.details.as_deref(),
            Some("Cloud API message throughput has been reached.")
        );
        assert_eq!(api.trace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
        assert_eq!(api.error_type.as_deref(), Some("OAuthException"));
        assert!(err.is_retryable());
    }

    #[test]
    fn is_transient_makes_an_error_retryable() {
        let err = parse(429, r#"{"error":{"message":"x","code":17,"is_transient":true}}"#);
        assert!(err.is_retryable());
    }

    #[test]
    fn bodies_without_an_envelope_are_classified_by_status() {
        let err = parse(502, "<html>Bad Gateway</html>");
        assert!(err.may_have_been_sent());
        assert!(!err.is_retryable());
        assert_eq!(err.class(), Some(ErrorClass::Unknown));
        assert_eq!(parse(401, "").class(), Some(ErrorClass::Auth));
        assert!(matches!(
            parse(429, "slow down").kind(),
            ErrorKind::RateLimited { .. }
        ));
    }

    proptest::proptest! {
        #[test]
        fn any_error_body_becomes_a_typed_error(status in 400u16..600, body in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let err = from_response(StatusCode::from_u16(status).unwrap(), &http::HeaderMap::new(), Bytes::from(body));
            let typed = err.api_error().is_some() || matches!(err.kind(), ErrorKind::RateLimited { .. });
            proptest::prop_assert!(typed, "untyped error: {:?}", err);
        }

        #[test]
        fn any_graph_code_is_classified(code in proptest::num::i64::ANY, transient in proptest::bool::ANY) {
            let body = format!(r#"{{"error":{{"message":"m","code":{code},"is_transient":{transient}}}}}"#);
            let err = from_response(StatusCode::BAD_REQUEST, &http::HeaderMap::new(), Bytes::from(body));
            proptest::prop_assert_eq!(err.provider_code(), Some(code));
            if transient {
                // Transient, so it may have been queued: a read may repeat it, a send not.
                proptest::prop_assert!(err.may_have_been_sent() && !err.is_retryable());
            }
        }
    }

    #[test]
    fn every_reference_code_has_its_class() {
        use ErrorClass::*;
        let table: &[(&[i64], ErrorClass)] = &[
            (&[4, 80007, 130429, 131056], RateLimited),
            (&[1, 2, 131000, 131016, 131057, 133004, 134101], Transient),
            (&[0, 190], Auth),
            (&[3, 10, 200, 299, 131005], Permission),
            (&[131047], NeedsTemplate),
            (&[131050], OptedOut),
            (&[131026, 130403, 130472, 131051], Undeliverable),
            (&[131048, 131049, 131064], Quality),
            (&[131052, 131053], Media),
            (
                &[
                    132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068, 132069, 2388019,
                ],
                Template,
            ),
            (&[100, 33, 131008, 131009, 131021, 131062, 135000], InvalidRequest),
            (
                &[
                    368, 130497, 131031, 131037, 131042, 131045, 131063, 133000, 133016,
                ],
                Account,
            ),
        ];
        for (codes, class) in table {
            for code in *codes {
                assert_eq!(classify(*code), *class, "code {code}");
            }
        }
        assert_eq!(classify(999_999), Unknown);
    }
}
