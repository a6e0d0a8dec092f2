//! WhatsApp webhooks: the subscription handshake, `X-Hub-Signature-256` verification, the
//! typed notification model, and its normalization into [`InboundEvent`](crate::InboundEvent)s.
//!
//! ```
//! use bytes::Bytes;
//! use http::{HeaderMap, Method};
//! use switchboard::{InboundContent, InboundEvent, WebhookOutcome, WebhookRequest};
//! use switchboard::whatsapp::webhook::{WebhookVerifier, signature_header};
//!
//! let verifier = WebhookVerifier::new("test_app_secret").verify_token("my-verify-token");
//! let body = Bytes::from_static(br#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"messages":[{"from":"16505551234","id":"wamid.1","timestamp":"1749416383","type":"text","text":{"body":"Hi"}}]}}]}]}"#);
//! let mut headers = HeaderMap::new();
//! headers.insert("x-hub-signature-256", signature_header("test_app_secret", &body).parse()?);
//! let request = WebhookRequest::new(Method::POST, "https://example.com/wa", headers, body);
//!
//! let WebhookOutcome::Events(events) = verifier.handle(&request)? else { unreachable!() };
//! let InboundEvent::Message(message) = &events[0] else { unreachable!() };
//! assert_eq!(message.content, InboundContent::Text("Hi".into()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The module is split by concern: verification and the entry point here, the typed model
//! of a notification (`model`, `message`, `status`), and its normalization into neutral
//! events (`normalize`).

use std::fmt;

use http::Method;
use subtle::ConstantTimeEq;

use crate::error::RawBody;
use crate::webhook::{
    DEFAULT_MAX_BODY_BYTES, HandshakeResponse, Secrets, WebhookError, WebhookOutcome, WebhookRequest,
    check_secret, hmac_sha256,
};

mod message;
mod model;
mod normalize;
mod status;

pub use message::*;
pub use model::*;
pub use status::*;

/// The signature header Meta sends.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Verifies and parses WhatsApp webhook requests. Holds the app secret(s) and the verify
/// token; `Debug` shows neither. With no app secret it refuses every notification.
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Secrets,
    verify_token: Option<String>,
    verify_token_problem: Option<std::borrow::Cow<'static, str>>,
    max_body_bytes: usize,
}

impl Default for WebhookVerifier {
    /// A verifier with no secret yet: it refuses everything until one is added.
    fn default() -> Self {
        Self {
            secrets: Secrets::default(),
            verify_token: None,
            verify_token_problem: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("app_secrets", &self.secrets)
            .field("verify_token", &self.verify_token.as_ref().map(|_| "[redacted]"))
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier with this app secret (App Dashboard › Settings › Basic).
    pub fn new(app_secret: impl AsRef<[u8]>) -> Self {
        Self::default().app_secret(app_secret)
    }

    /// Also accepts signatures made with this secret, during rotation.
    #[must_use]
    pub fn app_secret(mut self, app_secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push("app_secret", app_secret);
        self
    }

    /// The verify token you entered in the App Dashboard, for the GET handshake. Without
    /// one, or with an empty one, handshakes are refused.
    #[must_use]
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        let token = token.into();
        match check_secret("verify_token", token.as_bytes()) {
            Ok(()) => self.verify_token = Some(token),
            Err(problem) => {
                self.verify_token = None;
                self.verify_token_problem = Some(problem);
            }
        }
        self
    }

    /// The verifier, or the configuration error of a secret it was given (empty, or shorter
    /// than [`MIN_SECRET_BYTES`](crate::webhook::MIN_SECRET_BYTES)). Such a verifier
    /// refuses every request anyway; call this at start-up to fail there instead.
    pub fn configured(self) -> crate::Result<Self> {
        self.problem().map_or(Ok(self), Err)
    }

    /// The configuration error of an app secret or verify token, if any.
    pub(crate) fn problem(&self) -> Option<crate::Error> {
        self.secrets
            .problem()
            .or_else(|| self.verify_token_problem.clone().map(crate::Error::config))
    }

    /// The largest body accepted (default [`DEFAULT_MAX_BODY_BYTES`]).
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Handles a request: `GET` is the subscription handshake, `POST` a notification,
    /// verified and parsed into events in order.
    pub fn handle(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        match *request.method() {
            Method::GET => self.handshake(request).map(WebhookOutcome::Handshake),
            Method::POST => {
                self.verify(request)?;
                let notification = parse(request.body()).map_err(|err| match err {
                    // Keep the whole body, not only the part that failed.
                    WebhookError::MalformedPayload { path, .. } => WebhookError::MalformedPayload {
                        path,
                        raw: RawBody::new(request.body().clone()),
                    },
                    other => other,
                })?;
                Ok(WebhookOutcome::received(notification.into_events()))
            }
            _ => Err(WebhookError::MethodNotAllowed),
        }
    }

    /// Answers Meta's `GET ?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: the
    /// token is compared in constant time and the challenge echoed.
    pub fn handshake(&self, request: &WebhookRequest) -> Result<HandshakeResponse, WebhookError> {
        let Some(expected) = &self.verify_token else {
            return Err(WebhookError::NotConfigured);
        };
        if request.query_param("hub.mode").as_deref() != Some("subscribe") {
            return Err(WebhookError::HandshakeMismatch {
                reason: "hub.mode is not subscribe",
            });
        }
        let token = request.query_param("hub.verify_token").unwrap_or_default();
        if !bool::from(token.as_bytes().ct_eq(expected.as_bytes())) {
            return Err(WebhookError::HandshakeMismatch {
                reason: "hub.verify_token does not match",
            });
        }
        let challenge = request
            .query_param("hub.challenge")
            .ok_or(WebhookError::HandshakeMismatch {
                reason: "hub.challenge is missing",
            })?;
        Ok(HandshakeResponse::text(challenge.into_owned()))
    }

    /// Checks the body size and `X-Hub-Signature-256: sha256=<hex>` against every app
    /// secret, in constant time.
    pub fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        if self.secrets.is_empty() {
            return Err(WebhookError::NotConfigured);
        }
        request.check_size(self.max_body_bytes)?;
        let header = request
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::MissingSignature {
                header: SIGNATURE_HEADER,
            })?;
        let malformed = WebhookError::MalformedSignature {
            header: SIGNATURE_HEADER,
        };
        let hex_digest = header.trim().strip_prefix("sha256=").ok_or(malformed.clone())?;
        let mut signature = [0u8; 32];
        hex::decode_to_slice(hex_digest, &mut signature).map_err(|_| malformed)?;
        if self.secrets.verify_sha256(&[request.body()], &signature) {
            Ok(())
        } else {
            Err(WebhookError::SignatureMismatch)
        }
    }
}

/// The `X-Hub-Signature-256` value Meta would send for `body`: for tests and local tools.
pub fn signature_header(app_secret: impl AsRef<[u8]>, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(app_secret.as_ref(), &[body]))
    )
}

/// Parses a notification body without verifying it. Use it on bodies you verified
/// yourself; [`WebhookVerifier::handle`] does both.
///
/// Only a body that is not a notification at all is an error. Inside a notification,
/// anything unexpected (a new field, a new message type, a message of an unknown shape) is
/// kept raw as an `Unknown` value, and every other item is still parsed.
pub fn parse(body: &[u8]) -> Result<Notification, WebhookError> {
    let envelope: Envelope<'_> = serde_json::from_slice(body).map_err(|_| malformed(body))?;
    let entries = envelope
        .entry
        .into_iter()
        .map(|entry| Entry {
            id: entry.id.unwrap_or_default(),
            changes: entry.changes.into_iter().map(Change::from_raw).collect(),
        })
        .collect();
    Ok(Notification {
        object: envelope.object.into_owned(),
        entries,
    })
}

/// Names the JSON path where a body stops being a notification.
fn malformed(body: &[u8]) -> WebhookError {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let path = match serde_path_to_error::deserialize::<_, Envelope<'_>>(de) {
        Err(err) => err.path().to_string(),
        Ok(_) => String::from("."),
    };
    WebhookError::MalformedPayload {
        path,
        raw: RawBody::new(bytes::Bytes::copy_from_slice(body)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;

    fn post(body: &[u8], signature: Option<String>) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        if let Some(sig) = signature {
            headers.insert(SIGNATURE_HEADER, sig.parse().unwrap());
        }
        WebhookRequest::new(Method::POST, "https://example.com/wa", headers, body.to_vec())
    }

    #[test]
    fn the_reference_signature_vector() {
        // The compact one-line text webhook of the reference (§9.1, 499 bytes), signed with
        // `test_app_secret`. The reference lists `ded1d1…` for it, which no key order of that
        // body reproduces; this value is what Python's `hmac` computes for these exact bytes.
        let body = br#"{"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}"#;
        assert_eq!(body.len(), 499);
        let expected = "sha256=05425dca287e36f60b5b42254ae7fa13f010d6f9febd93f65d1dd83d79ad0484";
        assert_eq!(signature_header("test_app_secret", body), expected);
        let verifier = WebhookVerifier::new("rotated-out").app_secret("test_app_secret");
        assert!(verifier.verify(&post(body, Some(expected.into()))).is_ok());
        let upper = expected.to_uppercase().replace("SHA256=", "sha256=");
        assert!(
            verifier.verify(&post(body, Some(upper))).is_ok(),
            "hex case does not matter"
        );
    }

    #[test]
    fn verification_fails_closed() {
        let body = br#"{"object":"x","entry":[]}"#;
        let good = signature_header("s3cr3t-key", body);
        assert_eq!(
            WebhookVerifier::default().verify(&post(body, Some(good.clone()))),
            Err(WebhookError::NotConfigured)
        );
        let v = WebhookVerifier::new("s3cr3t-key");
        assert_eq!(
            v.verify(&post(body, None)),
            Err(WebhookError::MissingSignature {
                header: SIGNATURE_HEADER
            })
        );
        for bad in ["sha1=abc", "sha256=zz", "sha256=abcd", ""] {
            assert_eq!(
                v.verify(&post(body, Some(bad.into()))),
                Err(WebhookError::MalformedSignature {
                    header: SIGNATURE_HEADER
                }),
                "{bad}"
            );
        }
        assert_eq!(
            v.verify(&post(br#"{"object":"y","entry":[]}"#, Some(good.clone()))),
            Err(WebhookError::SignatureMismatch)
        );
        let small = WebhookVerifier::new("s3cr3t-key").max_body_bytes(10);
        assert!(matches!(
            small.verify(&post(body, Some(good))),
            Err(WebhookError::BodyTooLarge { limit: 10, .. })
        ));
    }

    #[test]
    fn handshake() {
        let v = WebhookVerifier::new("s3cr3t-key").verify_token("tok-4711");
        let get =
            |q: &str| WebhookRequest::new(Method::GET, format!("https://x/wa?{q}"), HeaderMap::new(), "");
        let ok = v
            .handle(&get(
                "hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=tok-4711",
            ))
            .unwrap();
        let WebhookOutcome::Handshake(response) = ok else {
            panic!()
        };
        assert_eq!(response.body, "1158201444");
        assert_eq!(response.status, http::StatusCode::OK);
        assert!(matches!(
            v.handle(&get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope")),
            Err(WebhookError::HandshakeMismatch { .. })
        ));
        assert!(matches!(
            v.handle(&get(
                "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=tok-4711"
            )),
            Err(WebhookError::HandshakeMismatch { .. })
        ));
        assert_eq!(
            WebhookVerifier::new("s3cr3t-key")
                .handshake(&get("hub.mode=subscribe&hub.challenge=1&hub.verify_token=tok")),
            Err(WebhookError::NotConfigured)
        );
        assert!(!format!("{v:?}").contains("tok-4711"));
    }

    #[test]
    fn not_a_notification_is_malformed_with_a_path() {
        for (body, path) in [
            (&b"not json"[..], "."),
            (br#"{"object":"whatsapp_business_account"}"#, "."),
            (
                br#"{"entry":[{"changes":[{"field":"messages"}]}]}"#,
                "entry[0].changes[0]",
            ),
            (br#"{"entry":{"id":1}}"#, "entry"),
        ] {
            match parse(body) {
                Err(WebhookError::MalformedPayload { path: p, raw }) => {
                    assert_eq!(p, path, "{}", String::from_utf8_lossy(body));
                    assert_eq!(raw.as_bytes(), body);
                }
                other => panic!("{other:?}"),
            }
        }
    }
}
