//! [Standard Webhooks](https://www.standardwebhooks.com/) (`v1`, HMAC-SHA256): verify what
//! your own adapters receive, and sign what you re-emit.
//!
//! The signed content is `{webhook-id}.{webhook-timestamp}.{body}`; the `webhook-signature`
//! header is a space-separated list of `v1,<base64>` entries, any of which may match (key
//! rotation); the timestamp must be within a tolerance of now, in both directions.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use switchboard::webhook::standard::StandardWebhook;
//!
//! let hook = StandardWebhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
//! let at = UNIX_EPOCH + Duration::from_secs(1_649_367_553);
//! let body = br#"{"email":"test@example.com","username":"test_user"}"#;
//! let headers = hook.headers("msg_27UH4WbU6Z5A5EzD8u03UvzRbpk", at, body)?;
//! let verified = hook.verify_at(&headers, body, at)?;
//! assert_eq!(verified.id, "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use http::{HeaderMap, HeaderValue};

use super::{Secrets, WebhookError, check_secret, hmac_sha256};
use crate::error::{Error, Problem, Result, ValidationError};

/// The message id header.
pub const ID_HEADER: &str = "webhook-id";
/// The timestamp header (Unix seconds).
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The signature header.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// A Standard Webhooks verifier and signer with one or more `whsec_` secrets.
/// `Debug` never shows the secrets.
#[derive(Clone)]
pub struct StandardWebhook {
    secrets: Secrets,
    tolerance: Duration,
}

/// What a verified request carried besides the body.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Verified {
    /// The `webhook-id`, unique per event and stable across retries: deduplicate on it.
    pub id: String,
    /// The signed timestamp, in Unix seconds.
    pub timestamp: i64,
}

impl StandardWebhook {
    /// A verifier with this secret: base64 with or without the `whsec_` prefix.
    pub fn new(secret: &str) -> Result<Self> {
        let mut hook = Self {
            secrets: Secrets::default(),
            tolerance: Duration::from_secs(5 * 60),
        };
        hook.add_secret(secret)?;
        Ok(hook)
    }

    /// Also accepts signatures made with this secret (during key rotation). The first
    /// secret is the one [`sign`](Self::sign) uses.
    pub fn with_secret(mut self, secret: &str) -> Result<Self> {
        self.add_secret(secret)?;
        Ok(self)
    }

    /// How far the signed timestamp may be from now, either way (default 5 minutes).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    fn add_secret(&mut self, secret: &str) -> Result<()> {
        let encoded = secret.strip_prefix("whsec_").unwrap_or(secret);
        let key = BASE64.decode(encoded).map_err(|_| {
            Error::config("a Standard Webhooks secret must be base64, optionally prefixed whsec_")
        })?;
        check_secret("the Standard Webhooks secret", &key).map_err(Error::config)?;
        self.secrets.push("the Standard Webhooks secret", key);
        Ok(())
    }

    /// Verifies a request against the current time.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<Verified, WebhookError> {
        self.verify_at(headers, body, SystemTime::now())
    }

    /// Verifies a request as if it were `now` (for tests and replays).
    pub fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now: SystemTime,
    ) -> Result<Verified, WebhookError> {
        let header = |name: &'static str| {
            headers
                .get(name)
                .ok_or(WebhookError::MissingSignature { header: name })?
                .to_str()
                .map_err(|_| WebhookError::MalformedSignature { header: name })
        };
        // The id's raw bytes, as UTF-8: a signer may use any character (`msg_ü`), and a
        // header value carries bytes beyond ASCII that `HeaderValue::to_str` refuses.
        let id = headers
            .get(ID_HEADER)
            .ok_or(WebhookError::MissingSignature { header: ID_HEADER })
            .and_then(|v| {
                std::str::from_utf8(v.as_bytes())
                    .map_err(|_| WebhookError::MalformedSignature { header: ID_HEADER })
            })?;
        let timestamp_text = header(TIMESTAMP_HEADER)?;
        let signatures = header(SIGNATURE_HEADER)?;
        let timestamp: i64 = timestamp_text
            .trim()
            .parse()
            .map_err(|_| WebhookError::MalformedSignature {
                header: TIMESTAMP_HEADER,
            })?;
        let now = unix_seconds(now);
        let tolerance = i64::try_from(self.tolerance.as_secs()).unwrap_or(i64::MAX);
        if now.saturating_sub(timestamp) > tolerance || timestamp.saturating_sub(now) > tolerance {
            return Err(WebhookError::TimestampOutOfTolerance);
        }
        let signed: [&[u8]; 5] = [id.as_bytes(), b".", timestamp_text.as_bytes(), b".", body];
        let mut any_v1 = false;
        for entry in signatures.split_ascii_whitespace() {
            // Other versions (v1a ed25519) may sit beside v1 entries; they are skipped.
            let Some(encoded) = entry.strip_prefix("v1,") else {
                continue;
            };
            any_v1 = true;
            let Ok(signature) = BASE64.decode(encoded) else {
                continue;
            };
            if self.secrets.verify_sha256(&signed, &signature) {
                return Ok(Verified {
                    id: id.to_owned(),
                    timestamp,
                });
            }
        }
        if any_v1 {
            Err(WebhookError::SignatureMismatch)
        } else {
            Err(WebhookError::MalformedSignature {
                header: SIGNATURE_HEADER,
            })
        }
    }

    /// The `webhook-signature` value (`v1,<base64>`) for this message, with the first secret.
    ///
    /// Refuses (with a validation error on `webhook-id`) an id that the `webhook-id` header
    /// cannot carry unchanged: empty, with a control character (tab, line break…), or with a
    /// leading or trailing space, which HTTP strips. Every id accepted here verifies.
    pub fn sign(&self, id: &str, timestamp: SystemTime, body: &[u8]) -> Result<String> {
        check_id(id)?;
        let ts = unix_seconds(timestamp).to_string();
        let key = self.secrets.iter().next().expect("constructed with a secret");
        let mac = hmac_sha256(key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
        Ok(format!("v1,{}", BASE64.encode(mac)))
    }

    /// The three headers for re-emitting `body` as a Standard Webhook; refuses the ids
    /// [`sign`](Self::sign) refuses.
    pub fn headers(&self, id: &str, timestamp: SystemTime, body: &[u8]) -> Result<HeaderMap> {
        let signature = self.sign(id, timestamp, body)?;
        let value = |s: String| {
            HeaderValue::try_from(s)
                .map_err(|_| ValidationError::new(ID_HEADER, Problem::Invalid("not a header value".into())))
        };
        let mut headers = HeaderMap::with_capacity(3);
        headers.insert(ID_HEADER, value(id.to_owned())?);
        headers.insert(TIMESTAMP_HEADER, value(unix_seconds(timestamp).to_string())?);
        headers.insert(SIGNATURE_HEADER, value(signature)?);
        Ok(headers)
    }
}

/// Whether `id` survives the trip through a `webhook-id` header byte for byte.
fn check_id(id: &str) -> Result<(), ValidationError> {
    let problem = if id.is_empty() {
        Problem::Empty
    } else if id.chars().any(char::is_control) {
        Problem::Invalid("must not contain control characters".into())
    } else if id.starts_with(' ') || id.ends_with(' ') {
        Problem::Invalid("must not start or end with a space".into())
    } else {
        return Ok(());
    };
    Err(ValidationError::new(ID_HEADER, problem))
}

fn unix_seconds(at: SystemTime) -> i64 {
    match at.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

impl fmt::Debug for StandardWebhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StandardWebhook")
            .field("secrets", &self.secrets)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    const ID: &str = "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk";
    const TS: u64 = 1_649_367_553;
    const BODY: &[u8] = br#"{"email":"test@example.com","username":"test_user"}"#;
    const SIGNATURE: &str = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn headers(signature: &str, ts: u64) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(ID_HEADER, HeaderValue::from_static(ID));
        h.insert(TIMESTAMP_HEADER, HeaderValue::try_from(ts.to_string()).unwrap());
        h.insert(SIGNATURE_HEADER, HeaderValue::try_from(signature).unwrap());
        h
    }

    #[test]
    fn the_spec_known_answer_vector() {
        let hook = StandardWebhook::new(SECRET).unwrap();
        assert_eq!(hook.sign(ID, at(TS), BODY).unwrap(), SIGNATURE);
        let verified = hook.verify_at(&headers(SIGNATURE, TS), BODY, at(TS)).unwrap();
        assert_eq!(
            verified,
            Verified {
                id: ID.into(),
                timestamp: TS as i64
            }
        );
    }

    #[test]
    fn any_of_several_signatures_and_secrets_may_match() {
        let rotated = StandardWebhook::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap()
            .with_secret(SECRET)
            .unwrap();
        let list = format!("v1a,ZmFrZQ== v1,AAAA {SIGNATURE}");
        assert!(rotated.verify_at(&headers(&list, TS), BODY, at(TS)).is_ok());
    }

    #[test]
    fn refusals() {
        let hook = StandardWebhook::new(SECRET).unwrap();
        let tampered = br#"{"email":"test@example.com","username":"test_user2"}"#;
        assert_eq!(
            hook.verify_at(&headers(SIGNATURE, TS), tampered, at(TS)),
            Err(WebhookError::SignatureMismatch)
        );
        // Five minutes either way is fine, a second more is not.
        assert!(
            hook.verify_at(&headers(SIGNATURE, TS), BODY, at(TS + 300))
                .is_ok()
        );
        assert!(
            hook.verify_at(&headers(SIGNATURE, TS), BODY, at(TS - 300))
                .is_ok()
        );
        for now in [TS + 301, TS - 301] {
            assert_eq!(
                hook.verify_at(&headers(SIGNATURE, TS), BODY, at(now)),
                Err(WebhookError::TimestampOutOfTolerance)
            );
        }
        let mut missing = headers(SIGNATURE, TS);
        missing.remove(ID_HEADER);
        assert_eq!(
            hook.verify_at(&missing, BODY, at(TS)),
            Err(WebhookError::MissingSignature { header: ID_HEADER })
        );
        assert_eq!(
            hook.verify_at(&headers("sha256=abc", TS), BODY, at(TS)),
            Err(WebhookError::MalformedSignature {
                header: SIGNATURE_HEADER
            })
        );
        let mut bad_ts = headers(SIGNATURE, TS);
        bad_ts.insert(TIMESTAMP_HEADER, HeaderValue::from_static("soon"));
        assert!(matches!(
            hook.verify_at(&bad_ts, BODY, at(TS)),
            Err(WebhookError::MalformedSignature { .. })
        ));
    }

    #[test]
    fn non_ascii_ids_round_trip_and_untransportable_ids_are_refused() {
        let hook = StandardWebhook::new(SECRET).unwrap();
        for id in ["msg_ü", "msg_日本語_🦀", "a b", "\u{00A0}x\u{00A0}"] {
            let headers = hook.headers(id, at(TS), BODY).unwrap();
            let verified = hook.verify_at(&headers, BODY, at(TS)).unwrap();
            assert_eq!(verified.id, id);
        }
        for id in ["", "a\nb", "a\tb", "a\u{7F}", "a\u{85}b", " a", "a "] {
            let refused = hook.headers(id, at(TS), BODY).unwrap_err();
            assert!(
                matches!(refused.kind(), crate::error::ErrorKind::Validation(v) if v.field == ID_HEADER),
                "{id:?}: {refused}"
            );
            assert!(hook.sign(id, at(TS), BODY).is_err(), "{id:?}");
        }
    }

    #[test]
    fn secrets_are_checked_and_never_shown() {
        assert!(StandardWebhook::new("whsec_not base64!").is_err());
        assert!(StandardWebhook::new("whsec_").is_err());
        let hook = StandardWebhook::new(SECRET).unwrap();
        assert!(!format!("{hook:?}").contains("C2FVsBQ"));
    }
}
