//! Vonage (Nexmo) SMS API: send with automatic `type=unicode`, per-part status errors,
//! typed inbound messages and delivery receipts, `sig` signatures (MD5 hash and HMAC
//! MD5/SHA-1/SHA-256/SHA-512), and a [`Channel`] implementation.
//!
//! Vonage answers `200 OK` even when a message fails: each part carries its own `status`.
//! [`Client::send`] turns a failed part into an error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode, Uri};
use md5::{Digest, Md5};
use serde::Deserialize;
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::segments::{self, Encoding};
use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{
    ApiError, Error, ErrorClass, ErrorKind, Problem, RateLimitScope, RawBody, Result, ValidationError,
};
use crate::http::executor::{Executor, HttpOptions, Operation, decode_json};
use crate::model::address::{Address, PhoneNumber};
use crate::model::inbound::{
    DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMessage, Sender, StatusUpdate,
};
use crate::model::message::{Content, OutboundMessage, SendReceipt};
use crate::webhook::{DEFAULT_MAX_BODY_BYTES, WebhookError, WebhookOutcome, WebhookRequest};

/// Vonage's SMS API host.
pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

/// Classifies a Vonage SMS API status code (the `status` of a message part).
///
/// ```
/// use switchboard::ErrorClass;
/// use switchboard::sms::vonage::classify;
///
/// assert_eq!(classify(1), ErrorClass::RateLimited); // throttled
/// assert_eq!(classify(4), ErrorClass::Auth);
/// ```
pub fn classify(status: i64) -> ErrorClass {
    match status {
        1 => ErrorClass::RateLimited,
        5 => ErrorClass::Transient,
        4 | 14 | 32 => ErrorClass::Auth,
        7 | 33 => ErrorClass::Undeliverable,
        8..=11 => ErrorClass::Account,
        29 => ErrorClass::Permission,
        2 | 3 | 6 | 12 | 15 | 22 | 23 => ErrorClass::InvalidRequest,
        _ => ErrorClass::Unknown,
    }
}

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    to: PhoneNumber,
    from: String,
    text: String,
    client_ref: Option<String>,
    callback: Option<String>,
    ttl_ms: Option<u64>,
}

impl Sms {
    /// A text from `from` (a number or an alphanumeric sender id of up to 11 characters).
    pub fn new(to: PhoneNumber, from: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to,
            from: from.into(),
            text: text.into(),
            client_ref: None,
            callback: None,
            ttl_ms: None,
        }
    }

    /// Your reference, echoed in delivery receipts (up to 100 characters).
    #[must_use]
    pub fn client_ref(mut self, reference: impl Into<String>) -> Self {
        self.client_ref = Some(reference.into());
        self
    }

    /// Where delivery receipts go, overriding the account setting.
    #[must_use]
    pub fn callback(mut self, url: impl Into<String>) -> Self {
        self.callback = Some(url.into());
        self
    }

    /// How long delivery may be attempted, in milliseconds.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl_ms = Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        self
    }

    fn validate(&self) -> Result<(), ValidationError> {
        if self.from.trim().is_empty() {
            return Err(ValidationError::new("from", Problem::Empty));
        }
        let alphanumeric = self.from.bytes().any(|b| b.is_ascii_alphabetic());
        if alphanumeric && self.from.chars().count() > 11 {
            return Err(ValidationError::new(
                "from",
                Problem::TooLong {
                    max: 11,
                    actual: self.from.chars().count(),
                },
            ));
        }
        if self.text.is_empty() {
            return Err(ValidationError::new("text", Problem::Empty));
        }
        if let Some(r) = &self.client_ref {
            crate::http::validate::check_max_chars("client-ref", r, 100)?;
        }
        Ok(())
    }

    /// The form body, with `type=unicode` when the text needs UCS-2.
    fn to_form(&self, api_key: &str, api_secret: &str) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("api_key", api_key)
            .append_pair("api_secret", api_secret)
            .append_pair("from", &self.from)
            .append_pair("to", self.to.digits())
            .append_pair("text", &self.text);
        if segments::analyze(&self.text).encoding == Encoding::Ucs2 {
            form.append_pair("type", "unicode");
        }
        if let Some(r) = &self.client_ref {
            form.append_pair("client-ref", r);
        }
        if let Some(c) = &self.callback {
            form.append_pair("callback", c);
            form.append_pair("status-report-req", "1");
        }
        if let Some(ttl) = self.ttl_ms {
            form.append_pair("ttl", &ttl.to_string());
        }
        form.finish()
    }
}

/// Vonage's answer to a send: one entry per part.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SendResponse {
    /// How many parts.
    #[serde(
        rename = "message-count",
        default,
        deserialize_with = "crate::http::loose::opt_u32"
    )]
    pub message_count: Option<u32>,
    /// The parts.
    #[serde(default)]
    pub messages: Vec<SentPart>,
}

/// One part of a sent message.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SentPart {
    /// `0` for success; anything else is an error code.
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    pub status: Option<i64>,
    /// The part's id.
    #[serde(rename = "message-id", default)]
    pub message_id: Option<String>,
    /// The recipient (digits).
    #[serde(default)]
    pub to: Option<String>,
    /// The price of this part.
    #[serde(rename = "message-price", default)]
    pub message_price: Option<String>,
    /// The balance left.
    #[serde(rename = "remaining-balance", default)]
    pub remaining_balance: Option<String>,
    /// The recipient's network code.
    #[serde(default)]
    pub network: Option<String>,
    /// Vonage's description of an error.
    #[serde(rename = "error-text", default)]
    pub error_text: Option<String>,
}

impl fmt::Debug for SentPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentPart")
            .field("status", &self.status)
            .field("message_id", &self.message_id)
            .field("to", &self.to.as_deref().map(crate::model::address::mask))
            .field("message_price", &self.message_price)
            .field("error_text", &self.error_text)
            .finish_non_exhaustive()
    }
}

/// The Vonage SMS API client. Credentials never appear in `Debug`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    api_key: String,
    api_secret: String,
    sms_uri: Uri,
    exec: Executor,
    default_from: Option<String>,
    webhook: WebhookVerifier,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &self.inner.api_key)
            .field("api_secret", &"[redacted]")
            .field("sms_uri", &self.inner.sms_uri)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The webhook verifier (configured with [`ClientBuilder::signature_secret`]).
    pub fn webhook(&self) -> &WebhookVerifier {
        &self.inner.webhook
    }

    /// Sends a message; a part Vonage refused (HTTP 200 with a non-zero `status`) is an
    /// error with that status as its code. Never resent once it may have reached Vonage.
    pub async fn send_sms(&self, sms: &Sms) -> Result<SendResponse> {
        sms.validate()?;
        let body = Bytes::from(sms.to_form(&self.inner.api_key, &self.inner.api_secret));
        let op = Operation {
            name: "send_sms",
            idempotent: false,
        };
        let uri = &self.inner.sms_uri;
        self.inner
            .exec
            .execute(
                op,
                &|| {
                    let mut request = http::Request::new(body.clone());
                    *request.method_mut() = Method::POST;
                    *request.uri_mut() = uri.clone();
                    request.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    );
                    Ok(request)
                },
                &decode_send,
            )
            .await
    }
}

fn decode_send(response: http::Response<Bytes>) -> Result<SendResponse> {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let class = match parts.status.as_u16() {
            401 => ErrorClass::Auth,
            429 => ErrorClass::RateLimited,
            400..=499 => ErrorClass::InvalidRequest,
            _ => ErrorClass::Unknown,
        };
        let api = ApiError::new(
            "vonage",
            parts.status,
            class,
            parts.status.canonical_reason().unwrap_or("error"),
        )
        .with_raw(body);
        return Err(if class == ErrorClass::RateLimited {
            Error::new(ErrorKind::RateLimited {
                retry_after: crate::http::executor::retry_after(&parts.headers),
                scope: RateLimitScope::Account,
                api: Some(Box::new(api)),
            })
        } else {
            Error::new(ErrorKind::Api(Box::new(api)))
        });
    }
    let response: SendResponse = decode_json(body.clone())?;
    let failed = response.messages.iter().find(|p| p.status.unwrap_or(0) != 0);
    let Some(part) = failed else {
        return Ok(response);
    };
    let code = part.status.unwrap_or_default();
    let class = classify(code);
    let mut api = ApiError::new(
        "vonage",
        StatusCode::OK,
        class,
        part.error_text
            .clone()
            .unwrap_or_else(|| format!("status {code}")),
    );
    api.code = Some(code);
    api.raw = RawBody::new(body);
    Err(if class == ErrorClass::RateLimited {
        Error::new(ErrorKind::RateLimited {
            retry_after: None,
            scope: RateLimitScope::Account,
            api: Some(Box::new(api)),
        })
    } else {
        Error::new(ErrorKind::Api(Box::new(api)))
    })
}

/// Configures a [`Client`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    api_key: Option<String>,
    api_secret: Option<String>,
    base_url: String,
    http: HttpOptions,
    default_from: Option<String>,
    webhook: WebhookVerifier,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            api_secret: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            http: HttpOptions::default(),
            default_from: None,
            webhook: WebhookVerifier::default(),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API secret.
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.api_secret = Some(secret.into());
        self
    }

    /// Where the SMS API is (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    crate::http::executor::http_builder_methods!();

    /// The sender the `Channel` impl uses when a message names none.
    pub fn default_from(mut self, from: impl Into<String>) -> Self {
        self.default_from = Some(from.into());
        self
    }

    /// The signature secret and method that sign webhooks (Dashboard › Settings).
    pub fn signature_secret(mut self, secret: impl Into<String>, method: SignatureMethod) -> Self {
        self.webhook = WebhookVerifier::new(secret, method);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let api_key = self
            .api_key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::config("an API key is required"))?;
        let api_secret = self
            .api_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("an API secret is required"))?;
        let sms_uri = Uri::try_from(format!("{}/sms/json", self.base_url.trim_end_matches('/')))
            .map_err(|e| Error::config("the base URL is not valid").with_source(e))?;
        let exec = self.http.executor("vonage")?;
        Ok(Client {
            inner: Arc::new(Inner {
                api_key,
                api_secret,
                sms_uri,
                exec,
                default_from: self.default_from,
                webhook: self.webhook,
            }),
        })
    }
}

/// How Vonage signs webhooks (`sig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureMethod {
    /// `md5hash`: MD5 of the parameters followed by the secret (the dashboard default).
    Md5Hash,
    /// HMAC-MD5.
    Md5Hmac,
    /// HMAC-SHA1.
    Sha1Hmac,
    /// HMAC-SHA256.
    Sha256Hmac,
    /// HMAC-SHA512.
    Sha512Hmac,
}

/// The `sig` for these parameters: the string `&key=value…` over the sorted parameters
/// (without `sig`; `&` and `=` in values replaced by `_`), hashed as `method` says,
/// lower-case hex.
///
/// ```
/// use switchboard::sms::vonage::{sign, SignatureMethod};
///
/// let params = [("message-timestamp", "2013-11-21 15:27:30"), ("messageId", "020000001B0FE827"),
///     ("msisdn", "14843472194"), ("text", "Test again"), ("timestamp", "1385047698"),
///     ("to", "13239877404"), ("type", "text")];
/// assert_eq!(sign(&params, "my_secret_key_for_testing", SignatureMethod::Md5Hash),
///     "d2e7b1dc968737c5998ad624e02f90b7");
/// ```
pub fn sign<K: AsRef<str>, V: AsRef<str>>(
    params: &[(K, V)],
    secret: &str,
    method: SignatureMethod,
) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != "sig")
        .collect();
    sorted.sort_unstable();
    let mut signed = String::new();
    for (key, value) in sorted {
        signed.push('&');
        signed.push_str(key);
        signed.push('=');
        signed.extend(value.chars().map(|c| if c == '&' || c == '=' { '_' } else { c }));
    }
    fn hmac<M: Mac + KeyInit>(secret: &str, data: &str) -> String {
        let mut mac =
            <M as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(data.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
    match method {
        SignatureMethod::Md5Hash => hex::encode(Md5::digest(format!("{signed}{secret}"))),
        SignatureMethod::Md5Hmac => hmac::<Hmac<Md5>>(secret, &signed),
        SignatureMethod::Sha1Hmac => hmac::<Hmac<Sha1>>(secret, &signed),
        SignatureMethod::Sha256Hmac => hmac::<Hmac<Sha256>>(secret, &signed),
        SignatureMethod::Sha512Hmac => hmac::<Hmac<Sha512>>(secret, &signed),
    }
}

/// Verifies and parses Vonage SMS webhooks (inbound messages and delivery receipts), sent
/// as a query string (GET), a form or JSON (POST). `Debug` hides the secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Option<String>,
    method: SignatureMethod,
    tolerance: Duration,
    max_body_bytes: usize,
}

impl Default for WebhookVerifier {
    /// No secret: refuses everything.
    fn default() -> Self {
        Self {
            secret: None,
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
    /// A verifier with the signature secret and method.
    pub fn new(secret: impl Into<String>, method: SignatureMethod) -> Self {
        Self {
            secret: Some(secret.into()),
            method,
            ..Self::default()
        }
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
        let params = params(request)?;
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
            .map_or(0, |d| d.as_secs() as i64);
        if (now - timestamp).unsigned_abs() > self.tolerance.as_secs() {
            return Err(WebhookError::TimestampOutOfTolerance);
        }
        Ok(WebhookOutcome::Events(vec![parse(params)?.into_event()]))
    }
}

/// The webhook's parameters: the query (GET), a form or a flat JSON object (POST).
fn params(request: &WebhookRequest) -> Result<Vec<(String, String)>, WebhookError> {
    let malformed = |path: &str| WebhookError::MalformedPayload {
        path: path.into(),
        raw: RawBody::new(request.body().clone()),
    };
    if *request.method() == Method::GET {
        let query = request.url().split_once('?').map_or("", |(_, q)| q);
        return Ok(url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect());
    }
    if request.body().first() == Some(&b'{') {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_slice(request.body()).map_err(|_| malformed("."))?;
        return Ok(object
            .into_iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                };
                (k, v)
            })
            .collect());
    }
    Ok(url::form_urlencoded::parse(request.body()).into_owned().collect())
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

/// A delivery receipt.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    let concat = match (get("concat-ref"), get("concat-part"), get("concat-total")) {
        (Some(r), Some(part), Some(total)) => {
            part.parse().ok().zip(total.parse().ok()).map(|(p, t)| (r, p, t))
        }
        _ => None,
    };
    Ok(Notification::Inbound(InboundSms {
        message_id,
        msisdn: get("msisdn"),
        to: get("to"),
        text: get("text").unwrap_or_default(),
        kind: get("type"),
        keyword: get("keyword"),
        message_timestamp: get("message-timestamp"),
        concat,
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
                content: InboundContent::Text(sms.text),
                reply_to: None,
                forwarded: false,
            }),
        }
    }
}

#[async_trait]
impl Channel for Client {
    fn kind(&self) -> ChannelKind {
        ChannelKind::Sms
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new().with_text(super::twilio::MAX_BODY_CHARS)
    }

    /// Text as is and reply buttons as "Reply N for …" options; media, templates and
    /// reactions have no Vonage SMS form and are refused.
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        let unsupported = |what: &'static str| Error::unsupported(ChannelKind::Sms, what);
        let Address::Phone(to) = &message.to else {
            return Err(unsupported("an address without a phone number"));
        };
        let text = match &message.content {
            Content::Text(text) => text.clone(),
            Content::Buttons(buttons) => super::reply_options(buttons),
            Content::Media(_) => return Err(unsupported("media (Vonage's SMS API has no MMS)")),
            Content::Location(_) | Content::Template(_) | Content::Reaction(_) => {
                return Err(unsupported("this content on Vonage SMS"));
            }
        };
        let from = message
            .sender
            .clone()
            .or_else(|| self.inner.default_from.clone())
            .ok_or_else(|| Error::from(ValidationError::new("from", Problem::Missing)))?;
        let mut sms = Sms::new(to.clone(), from, text.clone());
        if let Some(tracking) = &message.tracking {
            sms = sms.client_ref(tracking.clone());
        }
        let sent = self.send_sms(&sms).await?;
        let id = sent
            .messages
            .first()
            .and_then(|p| p.message_id.clone())
            .unwrap_or_default();
        Ok(SendReceipt::new(ChannelKind::Sms, id).with_segments(segments::analyze(&text).segments))
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.webhook().handle(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use std::time::{SystemTime, UNIX_EPOCH};

    const PARAMS: [(&str, &str); 7] = [
        ("message-timestamp", "2013-11-21 15:27:30"),
        ("messageId", "020000001B0FE827"),
        ("msisdn", "14843472194"),
        ("text", "Test again"),
        ("timestamp", "1385047698"),
        ("to", "13239877404"),
        ("type", "text"),
    ];
    const SECRET: &str = "my_secret_key_for_testing";

    #[test]
    fn official_signature_vectors() {
        use SignatureMethod::*;
        assert_eq!(sign(&PARAMS, SECRET, Md5Hash), "d2e7b1dc968737c5998ad624e02f90b7");
        assert_eq!(sign(&PARAMS, SECRET, Md5Hmac), "ddebd46008c2d4e93cce578a332a52d5");
        assert_eq!(
            sign(&PARAMS, SECRET, Sha1Hmac),
            "27d0d05c2876c7cb1720dbcdba4d492e1e55c09a"
        );
        assert_eq!(
            sign(&PARAMS, SECRET, Sha256Hmac),
            "ddb8397c2b90aac7f3882d306475c9a5058c92322eef43c92b298b6e0fc0d330"
        );
        assert_eq!(
            sign(&PARAMS, SECRET, Sha512Hmac),
            "e0d3c650f8c9d1a5c174d10dddbfb003e561f59b265616208b0487c5d819481cd3c311d59cf6165ecd1139622d5ba3a256c0d763ac4a9ad9144b5a426b94fe82"
        );
        let python = [
            ("param1", "value1"),
            ("param2", "value2"),
            ("timestamp", "1234567890"),
        ];
        assert_eq!(
            sign(&python, "signature_secret", Sha256Hmac),
            "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"
        );
        assert_eq!(
            sign(&python, "signature_secret", Md5Hmac),
            "724c2bf6ca423c36e20631b11d1c5753"
        );
        let escaped = [
            ("param1", "value&1"),
            ("param2", "value=2"),
            ("timestamp", "1234567890"),
        ];
        assert_eq!(
            sign(&escaped, "signature_secret", Md5Hmac),
            "2bbf0abafb2c55e5af6231513896a2ac"
        );
        let with_sig = [
            ("param", "value"),
            ("timestamp", "1234567890"),
            ("sig", "655a4d0b7f064dff438defc52b012cf5"),
        ];
        assert_eq!(
            sign(&with_sig, "signature_secret", Md5Hmac),
            "655a4d0b7f064dff438defc52b012cf5"
        );
    }

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
        signed.push(("sig", sign(&params, "s", SignatureMethod::Md5Hash)));
        let form = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&signed)
            .finish();
        let request = WebhookRequest::new(Method::POST, "https://x/dlr", HeaderMap::new(), form);
        let v = WebhookVerifier::new("s", SignatureMethod::Md5Hash);
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

    #[test]
    fn unicode_is_chosen_from_the_segment_analysis() {
        let to: PhoneNumber = "+447700900000".parse().unwrap();
        let gsm = Sms::new(to.clone(), "Acme", "Grüße").to_form("k", "s");
        assert!(!gsm.contains("type=unicode"));
        assert!(gsm.contains("to=447700900000"));
        assert!(
            Sms::new(to.clone(), "Acme", "Danke 👍")
                .to_form("k", "s")
                .contains("type=unicode")
        );
        assert!(Sms::new(to, "A very long sender", "x").validate().is_err());
    }
}
