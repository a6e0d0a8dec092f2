//! Verifying and parsing Vonage SMS webhooks: inbound messages and delivery receipts.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;

use super::{SignatureMethod, sign};
use crate::channel::ChannelKind;
use crate::error::{ErrorClass, RawBody};
use crate::model::address::{MaskedParams, PhoneNumber};
use crate::model::inbound::{
    DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMessage, MessagePart, Sender,
    StatusUpdate,
};
use crate::webhook::{DEFAULT_MAX_BODY_BYTES, WebhookError, WebhookOutcome, WebhookRequest, check_secret};

/// Verifies and parses Vonage SMS webhooks (inbound messages and delivery receipts), sent
/// as a query string (GET), a form or JSON (POST). `Debug` hides the secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Option<String>,
    problem: Option<std::borrow::Cow<'static, str>>,
    method: SignatureMethod,
    tolerance: Duration,
    max_body_bytes: usize,
}

impl Default for WebhookVerifier {
    /// No secret: refuses everything.
    fn default() -> Self {
        Self {
            secret: None,
            problem: None,
            method: SignatureMethod::Md5Hash,
            tolerance: Duration::from_secs(5 * 60),
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("method", &self.method)
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier with the signature secret and method. An empty or implausibly short
    /// secret is not used: the verifier refuses everything and [`configured`](Self::configured)
    /// says why.
    pub fn new(secret: impl Into<String>, method: SignatureMethod) -> Self {
        let secret = secret.into();
        match check_secret("signature_secret", secret.as_bytes()) {
            Ok(()) => Self {
                secret: Some(secret),
                method,
                ..Self::default()
            },
            Err(problem) => Self {
                method,
                problem: Some(problem),
                ..Self::default()
            },
        }
    }

    /// The verifier, or the configuration error of a secret it was given (empty, or shorter
    /// than [`MIN_SECRET_BYTES`](crate::webhook::MIN_SECRET_BYTES)). Such a verifier
    /// refuses every request anyway; call this at start-up to fail there instead.
    pub fn configured(self) -> crate::Result<Self> {
        self.problem().map_or(Ok(self), Err)
    }

    /// The configuration error of the signature secret, if any.
    pub(crate) fn problem(&self) -> Option<crate::Error> {
        self.problem.clone().map(crate::Error::config)
    }

    /// How far the signed `timestamp` may be from now (default 5 minutes).
    #[must_use]
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.tolerance = tolerance;
        self
    }

    /// Verifies the `sig` and the timestamp, then parses the parameters into events.
    pub fn handle(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.handle_at(request, std::time::SystemTime::now())
    }

    /// As [`handle`](Self::handle), as if it were `now` (for tests).
    pub fn handle_at(
        &self,
        request: &WebhookRequest,
        now: std::time::SystemTime,
    ) -> Result<WebhookOutcome, WebhookError> {
        let Some(secret) = &self.secret else {
            return Err(WebhookError::NotConfigured);
        };
        request.check_size(self.max_body_bytes)?;
        // Only what is needed to check the signature is read before it is checked: a body
        // that cannot even be read as parameters is unverifiable (401), never "verified but
        // malformed", which would acknowledge it and hand it to the app.
        let params = params(request).ok_or(WebhookError::MissingSignature { header: "sig" })?;
        // Vonage signs `&name=value…` and escapes `&` and `=` in values only: a name holding
        // them could re-split a captured request into other parameters under the same
        // signature (`scts=…&status` hiding a receipt's status). No real name has them, and
        // each name comes once.
        let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        names.sort_unstable();
        if names.iter().any(|k| k.contains(['&', '='])) || names.windows(2).any(|w| w[0] == w[1]) {
            return Err(WebhookError::MalformedSignature { header: "sig" });
        }
        let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let sig = get("sig").ok_or(WebhookError::MissingSignature { header: "sig" })?;
        let expected = sign(&params, secret, self.method);
        if !bool::from(sig.to_ascii_lowercase().as_bytes().ct_eq(expected.as_bytes())) {
            return Err(WebhookError::SignatureMismatch);
        }
        let timestamp: i64 = get("timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or(WebhookError::MalformedSignature { header: "timestamp" })?;
        let now = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        // The signed timestamp can be any i64: an overflow means "far away", not a panic.
        let skew = now.checked_sub(timestamp).map_or(u64::MAX, i64::unsigned_abs);
        if skew > self.tolerance.as_secs() {
            return Err(WebhookError::TimestampOutOfTolerance);
        }
        Ok(WebhookOutcome::received(vec![parse(params)?.into_event()]))
    }
}

/// The webhook's parameters: the query (GET), a form or a flat JSON object (POST); `None`
/// for a JSON body that is not an object.
fn params(request: &WebhookRequest) -> Option<Vec<(String, String)>> {
    if *request.method() == Method::GET {
        let query = request.url().split_once('?').map_or("", |(_, q)| q);
        return Some(
            url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect(),
        );
    }
    if request.body().first() == Some(&b'{') {
        return json_params(request.body()).ok();
    }
    Some(url::form_urlencoded::parse(request.body()).into_owned().collect())
}

/// The members of a JSON object as text: strings unescaped, anything else (numbers above
/// all) exactly as written, because Vonage signs the text it sent. Re-printing a parsed
/// number would change `1.0`, `1e2` or `100000000000000000000` and break the signature.
fn json_params(body: &[u8]) -> Result<Vec<(String, String)>, serde_json::Error> {
    struct Members;
    impl<'de> serde::de::Visitor<'de> for Members {
        type Value = Vec<(String, String)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some((key, raw)) = map.next_entry::<String, &'de RawValue>()? {
                let text = raw.get();
                let value = if text.starts_with('"') {
                    serde_json::from_str(text).map_err(serde::de::Error::custom)?
                } else {
                    text.to_owned()
                };
                members.push((key, value));
            }
            Ok(members)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let members = serde::Deserializer::deserialize_map(&mut de, Members)?;
    de.end()?;
    Ok(members)
}

/// A Vonage SMS webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// A message someone sent to your number.
    Inbound(InboundSms),
    /// A delivery receipt for a message you sent.
    Receipt(DeliveryReceipt),
}

/// An inbound SMS. Long messages arrive in parts (`concat`). `Debug` masks the sender.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundSms {
    /// `messageId`.
    pub message_id: String,
    /// `msisdn`: the sender's number (digits).
    pub msisdn: Option<String>,
    /// `to`: your number.
    pub to: Option<String>,
    /// `text`.
    pub text: String,
    /// `type`: `text`, `unicode` or `binary`.
    pub kind: Option<String>,
    /// `keyword`: the first word, upper-cased.
    pub keyword: Option<String>,
    /// `message-timestamp` (`YYYY-MM-DD HH:MM:SS`, UTC).
    pub message_timestamp: Option<String>,
    /// For a part of a long message: (`concat-ref`, `concat-part`, `concat-total`).
    pub concat: Option<(String, u32, u32)>,
    /// `data`: the payload of a binary message, decoded from hex.
    pub data: Option<Bytes>,
    /// `udh`: the user data header of a binary message, decoded from hex.
    pub udh: Option<Bytes>,
    /// Every parameter as received.
    pub params: Vec<(String, String)>,
}

impl fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundSms")
            .field("message_id", &self.message_id)
            .field("msisdn", &self.msisdn.as_deref().map(crate::model::address::mask))
            .field("kind", &self.kind)
            .field("concat", &self.concat)
            .finish_non_exhaustive()
    }
}

/// A delivery receipt. `Debug` masks the numbers in the parameters (`msisdn`, `to`).
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryReceipt {
    /// `messageId` of the part.
    pub message_id: String,
    /// `status`: `delivered`, `expired`, `failed`, `rejected`, `accepted`, `buffered`, `unknown`.
    pub status: String,
    /// `err-code` (0 when delivered).
    pub err_code: Option<i64>,
    /// `client-ref` set when sending.
    pub client_ref: Option<String>,
    /// `network-code`.
    pub network_code: Option<String>,
    /// `price` of the part.
    pub price: Option<String>,
    /// `scts`: the carrier's time, `YYMMDDHHMM`.
    pub scts: Option<String>,
    /// Every parameter as received.
    pub params: Vec<(String, String)>,
}

impl fmt::Debug for DeliveryReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryReceipt")
            .field("message_id", &self.message_id)
            .field("status", &self.status)
            .field("err_code", &self.err_code)
            .field("client_ref", &self.client_ref)
            .field("network_code", &self.network_code)
            .field("price", &self.price)
            .field("scts", &self.scts)
            .field("params", &MaskedParams(&self.params))
            .finish()
    }
}

/// Parses verified webhook parameters into a typed notification.
pub fn parse(params: Vec<(String, String)>) -> Result<Notification, WebhookError> {
    let get = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .filter(|v| !v.is_empty())
    };
    let Some(message_id) = get("messageId").or_else(|| get("message-id")) else {
        let raw = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&params)
            .finish();
        return Err(WebhookError::MalformedPayload {
            path: "messageId".into(),
            raw: RawBody::new(raw),
        });
    };
    if let Some(status) = get("status") {
        return Ok(Notification::Receipt(DeliveryReceipt {
            message_id,
            status,
            err_code: get("err-code").and_then(|c| c.parse().ok()),
            client_ref: get("client-ref"),
            network_code: get("network-code"),
            price: get("price"),
            scts: get("scts"),
            params,
        }));
    }
    let malformed = |path: &str| WebhookError::MalformedPayload {
        path: path.into(),
        raw: RawBody::new(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(&params)
                .finish(),
        ),
    };
    let number = |name: &'static str| {
        get(name)
            .map(|v| v.parse::<u32>().map_err(|_| malformed(name)))
            .transpose()
    };
    let concat = match (get("concat-ref"), number("concat-part")?, number("concat-total")?) {
        (Some(r), Some(part), Some(total)) => Some((r, part, total)),
        _ => None,
    };
    let hex = |name: &'static str| {
        get(name)
            .map(|v| hex::decode(v).map(Bytes::from).map_err(|_| malformed(name)))
            .transpose()
    };
    let (data, udh) = (hex("data")?, hex("udh")?);
    Ok(Notification::Inbound(InboundSms {
        message_id,
        msisdn: get("msisdn"),
        to: get("to"),
        text: get("text").unwrap_or_default(),
        kind: get("type"),
        keyword: get("keyword"),
        message_timestamp: get("message-timestamp"),
        concat,
        data,
        udh,
        params,
    }))
}

impl Notification {
    /// The neutral event.
    pub fn into_event(self) -> InboundEvent {
        let timestamp = |params: &[(String, String)]| {
            params
                .iter()
                .find(|(k, _)| k == "timestamp")
                .and_then(|(_, v)| v.parse().ok())
        };
        match self {
            Self::Receipt(r) => {
                let status = match r.status.as_str() {
                    "delivered" => DeliveryStatus::Delivered,
                    "accepted" | "buffered" => DeliveryStatus::Queued,
                    "failed" | "rejected" | "expired" => DeliveryStatus::Failed,
                    other => DeliveryStatus::Unknown(other.to_owned()),
                };
                let errors = r
                    .err_code
                    .filter(|c| *c != 0)
                    .map(|code| DeliveryError {
                        code: Some(code),
                        class: ErrorClass::Undeliverable,
                        message: String::new(),
                        details: None,
                    })
                    .into_iter()
                    .collect();
                InboundEvent::Status(StatusUpdate {
                    channel: ChannelKind::Sms,
                    timestamp: timestamp(&r.params),
                    recipient: r
                        .params
                        .iter()
                        .find(|(k, _)| k == "msisdn")
                        .map(|(_, v)| v.clone()),
                    group: None,
                    message_id: r.message_id,
                    status,
                    errors,
                    pricing: None,
                    tracking: r.client_ref,
                })
            }
            Self::Inbound(sms) => InboundEvent::Message(InboundMessage {
                channel: ChannelKind::Sms,
                timestamp: timestamp(&sms.params),
                from: Sender {
                    phone: sms.msisdn.as_deref().and_then(PhoneNumber::from_digits),
                    ..Sender::default()
                },
                id: sms.message_id,
                to: sms.to,
                group: None,
                content: match (sms.kind.as_deref(), sms.data) {
                    (Some("binary"), Some(data)) => InboundContent::Binary {
                        data: RawBody::new(data),
                        udh: sms.udh.map(RawBody::new),
                    },
                    _ => InboundContent::Text(sms.text),
                },
                reply_to: None,
                forwarded: false,
                part: sms
                    .concat
                    .map(|(reference, index, total)| MessagePart::new(reference, index, total)),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::signature::tests::{PARAMS, SECRET};
    use super::*;
    use http::HeaderMap;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn inbound_webhooks_verify_in_every_shape() {
        let v = WebhookVerifier::new(SECRET, SignatureMethod::Sha256Hmac);
        let mut signed: Vec<(String, String)> = PARAMS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        signed.push((
            "sig".into(),
            sign(&PARAMS, SECRET, SignatureMethod::Sha256Hmac).to_uppercase(),
        ));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&signed)
            .finish();
        let json = serde_json::to_string(
            &signed
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::from(v.clone())))
                .collect::<serde_json::Map<_, _>>(),
        )
        .unwrap();
        for request in [
            WebhookRequest::new(
                Method::GET,
                format!("https://x/inbound?{form}"),
                HeaderMap::new(),
                Bytes::new(),
            ),
            WebhookRequest::new(Method::POST, "https://x/inbound", HeaderMap::new(), form.clone()),
            WebhookRequest::new(Method::POST, "https://x/inbound", HeaderMap::new(), json),
        ] {
            let WebhookOutcome::Events(events) = v.handle_at(&request, at(1_385_047_700)).unwrap() else {
                panic!()
            };
            let InboundEvent::Message(m) = &events[0] else {
                panic!("{events:?}")
            };
            assert_eq!(m.content, InboundContent::Text("Test again".into()));
            assert_eq!(m.from.phone.as_ref().unwrap().as_str(), "+14843472194");
        }
        let request = WebhookRequest::new(
            Method::POST,
            "https://x/inbound",
            HeaderMap::new(),
            form.replace("again", "agian"),
        );
        assert_eq!(
            v.handle_at(&request, at(1_385_047_700)).unwrap_err(),
            WebhookError::SignatureMismatch
        );
        let request = WebhookRequest::new(Method::POST, "https://x/inbound", HeaderMap::new(), form);
        assert_eq!(
            v.handle_at(&request, at(1_385_057_698)).unwrap_err(),
            WebhookError::TimestampOutOfTolerance
        );
        assert_eq!(
            WebhookVerifier::default().handle(&request).unwrap_err(),
            WebhookError::NotConfigured
        );
    }

    #[test]
    fn delivery_receipts_become_status_updates() {
        let params = [
            ("msisdn", "447700900000"),
            ("to", "Acme"),
            ("messageId", "0A0000001234567B"),
            ("status", "failed"),
            ("err-code", "9"),
            ("client-ref", "newsletter-47"),
            ("timestamp", "1700000000"),
        ];
        let mut signed: Vec<(&str, String)> = params.iter().map(|(k, v)| (*k, v.to_string())).collect();
        signed.push(("sig", sign(&params, "s3cr3t-key", SignatureMethod::Md5Hash)));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&signed)
            .finish();
        let request = WebhookRequest::new(Method::POST, "https://x/dlr", HeaderMap::new(), form);
        let v = WebhookVerifier::new("s3cr3t-key", SignatureMethod::Md5Hash);
        let WebhookOutcome::Events(events) = v.handle_at(&request, at(1_700_000_010)).unwrap() else {
            panic!()
        };
        let InboundEvent::Status(s) = &events[0] else {
            panic!()
        };
        assert_eq!(s.status, DeliveryStatus::Failed);
        assert_eq!(s.errors[0].code, Some(9));
        assert_eq!(s.tracking.as_deref(), Some("newsletter-47"));
    }

    /// The form body of `params` signed with SHA-256 HMAC and `SECRET`.
    fn signed_form(params: &[(&str, &str)]) -> String {
        let sig = sign(params, SECRET, SignatureMethod::Sha256Hmac);
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .append_pair("sig", &sig)
            .finish()
    }

    fn post(body: impl Into<Bytes>) -> WebhookRequest {
        WebhookRequest::new(Method::POST, "https://x/inbound", HeaderMap::new(), body)
    }

    fn verifier() -> WebhookVerifier {
        WebhookVerifier::new(SECRET, SignatureMethod::Sha256Hmac)
    }

    #[test]
    fn an_extreme_signed_timestamp_is_out_of_tolerance_not_an_overflow() {
        for timestamp in ["-9223372036854775808", "9223372036854775807"] {
            let mut params = PARAMS;
            params[4] = ("timestamp", timestamp);
            let request = post(signed_form(&params));
            assert_eq!(
                verifier().handle_at(&request, at(1_385_047_700)).unwrap_err(),
                WebhookError::TimestampOutOfTolerance,
                "{timestamp}"
            );
        }
    }

    /// A captured receipt, re-sent with `scts=…&status=delivered` as one parameter name:
    /// the signed string is byte for byte the same, but the parameters are not.
    #[test]
    fn a_request_re_split_under_the_same_signature_is_refused() {
        let params = [
            ("messageId", "0A0000000123ABCD1"),
            ("msisdn", "447700900000"),
            ("price", "0.03"),
            ("scts", "2001011400"),
            ("status", "delivered"),
            ("timestamp", "1385047698"),
            ("to", "Vonage"),
        ];
        let sig = sign(&params, SECRET, SignatureMethod::Sha256Hmac);
        let resplit = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("messageId", "0A0000000123ABCD1"),
                ("msisdn", "447700900000"),
                ("price", "0.03"),
                ("scts=2001011400&status", "delivered"),
                ("timestamp", "1385047698"),
                ("to", "Vonage"),
                ("sig", sig.as_str()),
            ])
            .finish();
        let err = verifier()
            .handle_at(&post(resplit), at(1_385_047_700))
            .unwrap_err();
        assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED, "{err:?}");
        // A repeated name is refused too.
        let twice = format!("messageId=1&messageId=2&sig={sig}&timestamp=1385047698");
        assert!(verifier().handle_at(&post(twice), at(1_385_047_700)).is_err());
    }

    #[test]
    fn an_unsigned_or_unreadable_body_is_a_signature_error_never_a_payload_error() {
        for body in [
            "{not json",
            r#"{"messageId": "1", "sig": "00"#,
            r#"{"messageId": {"nested": true}}"#,
            r#"{"timestamp": "1385047698"}"#,
            "text=unsigned",
        ] {
            let err = verifier().handle_at(&post(body), at(1_385_047_700)).unwrap_err();
            assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED, "{body}: {err:?}");
            assert!(!err.is_verified(), "{body}");
        }
    }

    #[test]
    fn signed_json_numbers_are_verified_over_their_original_text() {
        let params = [
            ("big", "100000000000000000000"),
            ("messageId", "020000001B0FE827"),
            ("msisdn", "14843472194"),
            ("price", "1.0"),
            ("scale", "1e2"),
            ("text", "Test again"),
            ("timestamp", "1385047698"),
            ("to", "13239877404"),
            ("type", "text"),
        ];
        let sig = sign(&params, SECRET, SignatureMethod::Sha256Hmac);
        let body = format!(
            r#"{{"big": 100000000000000000000, "messageId": "020000001B0FE827", "msisdn": "14843472194",
            "price": 1.0, "scale": 1e2, "text": "Test again", "timestamp": 1385047698,
            "to": "13239877404", "type": "text", "sig": "{sig}"}}"#
        );
        let WebhookOutcome::Events(events) = verifier().handle_at(&post(body), at(1_385_047_700)).unwrap()
        else {
            panic!()
        };
        let InboundEvent::Message(m) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(m.content, InboundContent::Text("Test again".into()));
    }

    #[test]
    fn long_and_binary_parts_keep_their_part_and_data() {
        let long = [
            ("concat", "true"),
            ("concat-part", "3"),
            ("concat-ref", "4"),
            ("concat-total", "4"),
            ("messageId", "02000000DA7C52E7"),
            ("msisdn", "14845552121"),
            ("text", "y for a non-functionality-adding upgrade"),
            ("timestamp", "1464088321"),
            ("to", "16105553939"),
            ("type", "text"),
        ];
        let WebhookOutcome::Events(events) = verifier()
            .handle_at(&post(signed_form(&long)), at(1_464_088_330))
            .unwrap()
        else {
            panic!()
        };
        let InboundEvent::Message(m) = &events[0] else {
            panic!("{events:?}")
        };
        assert_eq!(m.part, Some(MessagePart::new("4", 3, 4)));

        let binary = [
            ("data", "EA0601AE02056A0045C60C03"),
            ("messageId", "02000000DA7C52E8"),
            ("msisdn", "14845552121"),
            ("text", "Binary message"),
            ("timestamp", "1464088321"),
            ("to", "16105553939"),
            ("type", "binary"),
            ("udh", "0605040B8423F0"),
        ];
        let WebhookOutcome::Events(events) = verifier()
            .handle_at(&post(signed_form(&binary)), at(1_464_088_330))
            .unwrap()
        else {
            panic!()
        };
        let InboundEvent::Message(m) = &events[0] else {
            panic!("{events:?}")
        };
        let InboundContent::Binary { data, udh } = &m.content else {
            panic!("{:?}", m.content)
        };
        assert_eq!(data.as_bytes(), hex::decode("EA0601AE02056A0045C60C03").unwrap());
        assert_eq!(
            udh.as_ref().unwrap().as_bytes(),
            [0x06, 0x05, 0x04, 0x0B, 0x84, 0x23, 0xF0]
        );
        assert_eq!(m.part, None);

        // Verified but not what Vonage documents: a typed payload error, answered 200.
        let mut bad = binary;
        bad[0] = ("data", "not hex");
        let err = verifier()
            .handle_at(&post(signed_form(&bad)), at(1_464_088_330))
            .unwrap_err();
        assert!(
            matches!(&err, WebhookError::MalformedPayload { path, .. } if path == "data"),
            "{err:?}"
        );
        assert!(!format!("{err:?}").contains("14845552121"));
    }
}
