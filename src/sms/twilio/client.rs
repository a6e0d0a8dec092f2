//! [`Client`]: the typed Twilio Messages API client.

use std::fmt;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;
use url::Url;

use super::message::MessageStatus;
use super::signature::SignatureValidator;
use super::webhook::WebhookVerifier;
use crate::error::{
    ApiError, Error, ErrorClass, ErrorKind, Problem, RateLimitScope, RawBody, Result, ValidationError,
};
use crate::http::executor::{Executor, HttpOptions, Operation, decode_json};
use crate::http::validate::check_max_chars;
use crate::model::address::{Redacted, mask};

/// Twilio's REST host.
pub const DEFAULT_BASE_URL: &str = "https://api.twilio.com";
/// Longest `Body` Twilio accepts.
pub const MAX_BODY_CHARS: usize = 1600;
/// Most `MediaUrl`s in one message.
pub const MAX_MEDIA: usize = 10;

const FORM: HeaderValue = HeaderValue::from_static("application/x-www-form-urlencoded");

/// The Twilio Messages API client for one account. Cheap to clone; the credentials never
/// appear in `Debug` or traces.
///
/// ```no_run
/// use switchboard::sms::twilio::{Client, SendMessage};
///
/// # async fn run() -> switchboard::Result<()> {
/// let twilio = Client::builder()
///     .account_sid("AC00000000000000000000000000000001")
///     .auth_token(std::env::var("TWILIO_AUTH_TOKEN").unwrap_or_default())
///     .build()?;
/// let sent = twilio
///     .send_message(&SendMessage::new("+4917612345678", "Ihr Code: 481 516").from("+4915112345678"))
///     .await?;
/// println!("{} is {}", sent.sid, sent.status);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    auth: HeaderValue,
    account_sid: String,
    /// `{base}/2010-04-01/Accounts/{sid}`.
    account_base: String,
    /// The base URL with a trailing slash, which paging paths are resolved below.
    api_root: Url,
    messages_uri: Uri,
    exec: Executor,
    default_sender: Option<String>,
    webhook: WebhookVerifier,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("account_sid", &self.inner.account_sid)
            .field("credentials", &"[redacted]")
            .field("base", &self.inner.account_base)
            .field("executor", &self.inner.exec)
            .finish_non_exhaustive()
    }
}

/// A message to send: `To`, a sender (`From` and/or `MessagingServiceSid`), and content
/// (`Body`, up to 10 `MediaUrl`s, or a Content template). `Debug` masks the numbers and
/// shows the body's length only.
#[derive(Clone, PartialEq)]
pub struct SendMessage {
    to: String,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    body: Option<String>,
    media_urls: Vec<Url>,
    status_callback: Option<Url>,
    validity_period: Option<u32>,
    send_at: Option<String>,
    content_sid: Option<String>,
    content_variables: Option<serde_json::Value>,
    smart_encoded: Option<bool>,
}

impl fmt::Debug for SendMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendMessage")
            .field("to", &mask(&self.to))
            .field("from", &self.from.as_deref().map(mask))
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("body", &self.body.as_deref().map(Redacted))
            .field("media_urls", &self.media_urls.len())
            .field("status_callback", &self.status_callback.as_ref().map(|_| "[set]"))
            .field("validity_period", &self.validity_period)
            .field("send_at", &self.send_at)
            .field("content_sid", &self.content_sid)
            .field(
                "content_variables",
                &self.content_variables.as_ref().map(|_| "[set]"),
            )
            .field("smart_encoded", &self.smart_encoded)
            .finish()
    }
}

impl SendMessage {
    /// A text to `to` (E.164, or a channel address such as `whatsapp:+…`).
    pub fn new(to: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            body: Some(body.into()),
            ..Self::to(to)
        }
    }

    /// A message to `to` with no content yet: add a body, media or a template.
    pub fn to(to: impl Into<String>) -> Self {
        Self {
            to: to.into(),
            from: None,
            messaging_service_sid: None,
            body: None,
            media_urls: Vec::new(),
            status_callback: None,
            validity_period: None,
            send_at: None,
            content_sid: None,
            content_variables: None,
            smart_encoded: None,
        }
    }

    /// Sends from this number, short code or alphanumeric sender id.
    #[must_use]
    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Sends through this Messaging Service (`MG…`), which picks the sender.
    #[must_use]
    pub fn messaging_service(mut self, sid: impl Into<String>) -> Self {
        self.messaging_service_sid = Some(sid.into());
        self
    }

    /// Sets the text (up to 1,600 characters).
    #[must_use]
    pub fn body(mut self, body: impl Into<String>) -> Self {
        self.body = Some(body.into());
        self
    }

    /// Attaches media (MMS), up to 10.
    #[must_use]
    pub fn media_url(mut self, url: Url) -> Self {
        self.media_urls.push(url);
        self
    }

    /// Where Twilio posts status changes.
    #[must_use]
    pub fn status_callback(mut self, url: Url) -> Self {
        self.status_callback = Some(url);
        self
    }

    /// How long the message may wait in Twilio's queue, in seconds (1 to 36,000).
    #[must_use]
    pub fn validity_period(mut self, seconds: u32) -> Self {
        self.validity_period = Some(seconds);
        self
    }

    /// Schedules the message (RFC 3339 time, 15 minutes to 35 days ahead; needs a
    /// Messaging Service).
    #[must_use]
    pub fn send_at(mut self, rfc3339: impl Into<String>) -> Self {
        self.send_at = Some(rfc3339.into());
        self
    }

    /// Sends a Content template (`HX…`) with its variables (`{"1": "Anna"}`).
    #[must_use]
    pub fn content(mut self, content_sid: impl Into<String>, variables: Option<serde_json::Value>) -> Self {
        self.content_sid = Some(content_sid.into());
        self.content_variables = variables;
        self
    }

    /// Lets Twilio replace look-alike characters with GSM-7 ones.
    #[must_use]
    pub fn smart_encoded(mut self, on: bool) -> Self {
        self.smart_encoded = Some(on);
        self
    }

    /// Checks Twilio's documented rules before anything is sent.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if self.to.trim().is_empty() {
            return Err(ValidationError::new("To", Problem::Missing));
        }
        if self.from.is_none() && self.messaging_service_sid.is_none() {
            return Err(ValidationError::new(
                "From",
                Problem::Invalid("a From number or a MessagingServiceSid is required".into()),
            ));
        }
        if self.body.as_deref().is_none_or(str::is_empty)
            && self.media_urls.is_empty()
            && self.content_sid.is_none()
        {
            return Err(ValidationError::new(
                "Body",
                Problem::Invalid("a body, media or a content template is required".into()),
            ));
        }
        if let Some(body) = &self.body {
            check_max_chars("Body", body, MAX_BODY_CHARS)?;
        }
        if self.media_urls.len() > MAX_MEDIA {
            return Err(ValidationError::new(
                "MediaUrl",
                Problem::TooMany {
                    max: MAX_MEDIA,
                    actual: self.media_urls.len(),
                },
            ));
        }
        if let Some(v) = self.validity_period
            && !(1..=36_000).contains(&v)
        {
            return Err(ValidationError::new(
                "ValidityPeriod",
                Problem::Invalid("must be 1 to 36000 seconds".into()),
            ));
        }
        if self.send_at.is_some() && self.messaging_service_sid.is_none() {
            return Err(ValidationError::new(
                "SendAt",
                Problem::Invalid("scheduling needs a MessagingServiceSid".into()),
            ));
        }
        Ok(())
    }

    /// The form body Twilio expects (`MediaUrl` repeated).
    pub fn to_form(&self) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("To", &self.to);
        if let Some(from) = &self.from {
            form.append_pair("From", from);
        }
        if let Some(sid) = &self.messaging_service_sid {
            form.append_pair("MessagingServiceSid", sid);
        }
        if let Some(body) = &self.body {
            form.append_pair("Body", body);
        }
        for url in &self.media_urls {
            form.append_pair("MediaUrl", url.as_str());
        }
        if let Some(url) = &self.status_callback {
            form.append_pair("StatusCallback", url.as_str());
        }
        if let Some(v) = self.validity_period {
            form.append_pair("ValidityPeriod", &v.to_string());
        }
        if let Some(at) = &self.send_at {
            form.append_pair("SendAt", at);
            form.append_pair("ScheduleType", "fixed");
        }
        if let Some(sid) = &self.content_sid {
            form.append_pair("ContentSid", sid);
        }
        if let Some(vars) = &self.content_variables {
            form.append_pair("ContentVariables", &vars.to_string());
        }
        if let Some(on) = self.smart_encoded {
            form.append_pair("SmartEncoded", if on { "true" } else { "false" });
        }
        form.finish()
    }
}

/// Twilio's Message resource. Numbers Twilio sends as strings are parsed; unknown fields
/// are ignored. `Debug` masks the phone numbers.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Message {
    /// `SM…` or `MM…`.
    pub sid: String,
    /// The state.
    pub status: MessageStatus,
    /// The account.
    #[serde(default)]
    pub account_sid: Option<String>,
    /// The Messaging Service, if one was used.
    #[serde(default)]
    pub messaging_service_sid: Option<String>,
    /// The sender (absent until a Messaging Service picked one).
    #[serde(default)]
    pub from: Option<String>,
    /// The recipient.
    #[serde(default)]
    pub to: Option<String>,
    /// The text.
    #[serde(default)]
    pub body: Option<String>,
    /// `inbound`, `outbound-api`, `outbound-call`, `outbound-reply`.
    #[serde(default)]
    pub direction: Option<String>,
    /// Segments billed (0 until a Messaging Service chose the sender).
    #[serde(default, deserialize_with = "crate::http::loose::opt_u32")]
    pub num_segments: Option<u32>,
    /// Media attached.
    #[serde(default, deserialize_with = "crate::http::loose::opt_u32")]
    pub num_media: Option<u32>,
    /// The price as a decimal string (negative: a charge), once known.
    #[serde(default)]
    pub price: Option<String>,
    /// The price's currency.
    #[serde(default)]
    pub price_unit: Option<String>,
    /// Why it failed.
    #[serde(default)]
    pub error_code: Option<i64>,
    /// Twilio's description of the failure.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Created (RFC 2822).
    #[serde(default)]
    pub date_created: Option<String>,
    /// Sent (RFC 2822).
    #[serde(default)]
    pub date_sent: Option<String>,
    /// Last updated (RFC 2822).
    #[serde(default)]
    pub date_updated: Option<String>,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let masked = |v: &Option<String>| v.as_deref().map(crate::model::address::mask);
        f.debug_struct("Message")
            .field("sid", &self.sid)
            .field("status", &self.status)
            .field("from", &masked(&self.from))
            .field("to", &masked(&self.to))
            .field("num_segments", &self.num_segments)
            .field("error_code", &self.error_code)
            .finish_non_exhaustive()
    }
}

/// One page of a message list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct MessagePage {
    /// The messages, newest first.
    #[serde(default)]
    pub messages: Vec<Message>,
    /// The next page, if any: pass the page to [`Client::next_page`].
    #[serde(default)]
    pub next_page_uri: Option<String>,
}

/// Filters for listing messages. `Debug` masks the numbers.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMessages {
    /// Only messages to this address.
    pub to: Option<String>,
    /// Only messages from this address.
    pub from: Option<String>,
    /// Only messages sent on this day (`YYYY-MM-DD`).
    pub date_sent: Option<String>,
    /// Page size (Twilio allows up to 1,000).
    pub page_size: Option<u32>,
}

impl fmt::Debug for ListMessages {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ListMessages")
            .field("to", &self.to.as_deref().map(mask))
            .field("from", &self.from.as_deref().map(mask))
            .field("date_sent", &self.date_sent)
            .field("page_size", &self.page_size)
            .finish()
    }
}

impl ListMessages {
    /// No filter: all messages, newest first.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only messages to this address.
    #[must_use]
    pub fn to(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Only messages from this address.
    #[must_use]
    pub fn from(mut self, from: impl Into<String>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Only messages sent on this day (`YYYY-MM-DD`).
    #[must_use]
    pub fn date_sent(mut self, day: impl Into<String>) -> Self {
        self.date_sent = Some(day.into());
        self
    }

    /// Messages per page.
    #[must_use]
    pub fn page_size(mut self, size: u32) -> Self {
        self.page_size = Some(size);
        self
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The account SID.
    pub fn account_sid(&self) -> &str {
        &self.inner.account_sid
    }

    /// The webhook verifier (signs with the auth token given to the builder).
    pub fn webhook(&self) -> &WebhookVerifier {
        &self.inner.webhook
    }

    /// The `From` or `MessagingServiceSid` used by the `Channel` impl when a message names none.
    pub(crate) fn default_sender(&self) -> Option<&str> {
        self.inner.default_sender.as_deref()
    }

    /// Sends a message. Never repeated once the request may have reached Twilio (the
    /// Messages API has no idempotency key); a 429 is retried, Twilio never processed it.
    pub async fn send_message(&self, message: &SendMessage) -> Result<Message> {
        message.validate()?;
        let uri = self.inner.messages_uri.clone();
        self.call(
            "send_message",
            false,
            Method::POST,
            uri,
            Bytes::from(message.to_form()),
        )
        .await
    }

    /// Fetches a message by SID.
    pub async fn fetch(&self, sid: &str) -> Result<Message> {
        self.call(
            "fetch_message",
            true,
            Method::GET,
            self.message_uri(sid)?,
            Bytes::new(),
        )
        .await
    }

    /// Cancels a scheduled message.
    pub async fn cancel(&self, sid: &str) -> Result<Message> {
        let body = Bytes::from_static(b"Status=canceled");
        self.call("cancel_message", true, Method::POST, self.message_uri(sid)?, body)
            .await
    }

    /// Lists messages, newest first, one page at a time.
    pub async fn list(&self, filter: &ListMessages) -> Result<MessagePage> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("To", &filter.to),
            ("From", &filter.from),
            ("DateSent", &filter.date_sent),
        ] {
            if let Some(value) = value {
                query.append_pair(name, value);
            }
        }
        if let Some(size) = filter.page_size {
            query.append_pair("PageSize", &size.to_string());
        }
        let query = query.finish();
        let uri = parse_uri(&if query.is_empty() {
            self.inner.messages_uri.to_string()
        } else {
            format!("{}?{query}", self.inner.messages_uri)
        })?;
        self.get_page(uri).await
    }

    /// The page after `page`, or `None` at the end.
    ///
    /// Twilio's `next_page_uri` is a path on its API host; it is resolved below the
    /// configured base URL (keeping a proxy or region prefix) and refused with a
    /// validation error unless it stays on that origin, so the credentials never go elsewhere.
    pub async fn next_page(&self, page: &MessagePage) -> Result<Option<MessagePage>> {
        let Some(next) = &page.next_page_uri else {
            return Ok(None);
        };
        let refused = || {
            Error::from(ValidationError::new(
                "next_page_uri",
                Problem::Invalid("not a path on the Twilio API host".into()),
            ))
        };
        // Only an absolute path is a path; `@host/…` or `https://…` would name another host.
        let Some(relative) = next.strip_prefix('/') else {
            return Err(refused());
        };
        let joined = self.inner.api_root.join(relative).map_err(|_| refused())?;
        if joined.origin() != self.inner.api_root.origin()
            || !joined.username().is_empty()
            || joined.password().is_some()
        {
            return Err(refused());
        }
        let uri = parse_uri(joined.as_str())?;
        self.get_page(uri).await.map(Some)
    }

    async fn get_page(&self, uri: Uri) -> Result<MessagePage> {
        self.call("list_messages", true, Method::GET, uri, Bytes::new())
            .await
    }

    /// Runs one API call through the executor and decodes Twilio's answer.
    async fn call<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
        idempotent: bool,
        method: Method,
        uri: Uri,
        body: Bytes,
    ) -> Result<T> {
        let op = Operation { name, idempotent };
        self.inner
            .exec
            .execute(
                op,
                &|| Ok(self.request(method.clone(), uri.clone(), body.clone())),
                &decode,
            )
            .await
    }

    fn message_uri(&self, sid: &str) -> Result<Uri> {
        if sid.len() < 3 || !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                "sid",
                Problem::Invalid("must be a message SID (SM… or MM…)".into()),
            )
            .into());
        }
        parse_uri(&format!("{}/Messages/{sid}.json", self.inner.account_base))
    }

    fn request(&self, method: Method, uri: Uri, body: Bytes) -> http::Request<Bytes> {
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.inner.auth.clone());
        headers.insert(CONTENT_TYPE, FORM);
        request
    }
}

fn parse_uri(s: &str) -> Result<Uri> {
    Uri::try_from(s).map_err(|e| Error::config("invalid request URL").with_source(e))
}

fn decode<T: serde::de::DeserializeOwned>(response: http::Response<Bytes>) -> Result<T> {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        return Err(error_from_response(parts.status, &parts.headers, body));
    }
    decode_json(body)
}

/// Twilio's legacy envelope (`code`, `message`, `more_info`, `status`) or RFC 9457
/// problem+json (`type`, `title`, `status`, `code`, `detail`).
#[derive(Deserialize)]
struct Envelope {
    code: Option<i64>,
    message: Option<String>,
    more_info: Option<String>,
    #[serde(rename = "type")]
    problem_type: Option<String>,
    title: Option<String>,
    detail: Option<String>,
}

fn error_from_response(status: StatusCode, headers: &http::HeaderMap, body: Bytes) -> Error {
    let retry_after = crate::http::executor::retry_after(headers);
    let envelope = serde_json::from_slice::<Envelope>(&body).ok();
    let code = envelope.as_ref().and_then(|e| e.code);
    let mut class = code.map_or(ErrorClass::Unknown, super::classify);
    if class == ErrorClass::Unknown {
        class = match status.as_u16() {
            401 => ErrorClass::Auth,
            403 => ErrorClass::Permission,
            429 => ErrorClass::RateLimited,
            400..=499 => ErrorClass::InvalidRequest,
            _ => ErrorClass::Unknown,
        };
    }
    let mut api = ApiError::new(
        "twilio",
        status,
        class,
        envelope
            .as_ref()
            .and_then(|e| e.message.clone().or(e.title.clone()))
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
    );
    api.code = code;
    api.raw = RawBody::new(body);
    if let Some(e) = envelope {
        api.details = e.detail.or(e.more_info);
        api.error_type = e.problem_type;
    }
    if class == ErrorClass::RateLimited || status == StatusCode::TOO_MANY_REQUESTS {
        Error::new(ErrorKind::RateLimited {
            retry_after,
            scope: RateLimitScope::Account,
            api: Some(Box::new(api)),
        })
    } else {
        Error::new(ErrorKind::Api(Box::new(api)))
    }
}

/// Configures a [`Client`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    account_sid: Option<String>,
    auth_token: Option<String>,
    api_key: Option<(String, String)>,
    secondary_auth_token: Option<String>,
    base_url: String,
    http: HttpOptions,
    default_sender: Option<String>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            account_sid: None,
            auth_token: None,
            api_key: None,
            secondary_auth_token: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            http: HttpOptions::default(),
            default_sender: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &self.auth_token.as_ref().map(|_| "[redacted]"))
            .field(
                "api_key",
                &self.api_key.as_ref().map(|(sid, _)| (sid, "[redacted]")),
            )
            .field("base_url", &self.base_url)
            .field("default_sender", &self.default_sender)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The account SID (`AC…`).
    pub fn account_sid(mut self, sid: impl Into<String>) -> Self {
        self.account_sid = Some(sid.into());
        self
    }

    /// The account's primary auth token: authenticates requests (unless an API key is
    /// set) and verifies webhook signatures.
    pub fn auth_token(mut self, token: impl Into<String>) -> Self {
        self.auth_token = Some(token.into());
        self
    }

    /// Authenticates requests with an API key (`SK…`) and its secret instead of the auth
    /// token. Webhooks are still signed with the auth token: set it too to receive them.
    pub fn api_key(mut self, sid: impl Into<String>, secret: impl Into<String>) -> Self {
        self.api_key = Some((sid.into(), secret.into()));
        self
    }

    /// The secondary auth token, also accepted on webhooks during rotation.
    pub fn secondary_auth_token(mut self, token: impl Into<String>) -> Self {
        self.secondary_auth_token = Some(token.into());
        self
    }

    /// Where the API is (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    crate::http::executor::http_builder_methods!();

    /// The sender the `Channel` impl uses when a message names none: a number, or a
    /// Messaging Service SID (`MG…`).
    pub fn default_sender(mut self, sender: impl Into<String>) -> Self {
        self.default_sender = Some(sender.into());
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        let account_sid = self
            .account_sid
            .filter(|s| s.len() == 34 && s.starts_with("AC") && s[2..].bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| Error::config("an account SID (AC followed by 32 hex digits) is required"))?;
        let (user, password) = match (&self.api_key, &self.auth_token) {
            (Some((sid, secret)), _) => (sid.clone(), secret.clone()),
            (None, Some(token)) if !token.is_empty() => (account_sid.clone(), token.clone()),
            _ => return Err(Error::config("an auth token or an API key is required")),
        };
        let mut auth =
            HeaderValue::try_from(format!("Basic {}", BASE64.encode(format!("{user}:{password}"))))
                .map_err(|_| Error::config("the credentials contain characters not allowed in a header"))?;
        auth.set_sensitive(true);
        let mut validator = SignatureValidator::default();
        for token in [&self.auth_token, &self.secondary_auth_token]
            .into_iter()
            .flatten()
        {
            validator = validator.with_token(token);
        }
        if let Some(problem) = validator.problem() {
            return Err(problem);
        }
        let base = Url::parse(&self.base_url)
            .map_err(|e| Error::config("the base URL is not valid").with_source(e))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() {
            return Err(Error::config("the base URL must be http(s) without a query"));
        }
        let account_base = format!(
            "{}/2010-04-01/Accounts/{account_sid}",
            base.as_str().trim_end_matches('/')
        );
        let api_root = Url::parse(&format!("{}/", base.as_str().trim_end_matches('/')))
            .map_err(|e| Error::config("the base URL is not valid").with_source(e))?;
        let messages_uri = parse_uri(&format!("{account_base}/Messages.json"))?;
        let exec = self.http.executor("twilio")?;
        Ok(Client {
            inner: Arc::new(Inner {
                auth,
                account_sid,
                account_base,
                api_root,
                messages_uri,
                exec,
                default_sender: self.default_sender,
                webhook: WebhookVerifier::from_validator(validator),
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_impl_all!(Client: Send, Sync, Clone);

    #[test]
    fn the_form_body_and_its_rules() {
        let m = SendMessage::new("+4917612345678", "Ihr Termin ist morgen um 10:00.")
            .messaging_service("MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
            .media_url(Url::parse("https://example.com/a.png").unwrap())
            .media_url(Url::parse("https://example.com/b.png").unwrap())
            .validity_period(3600);
        assert_eq!(
            m.to_form(),
            "To=%2B4917612345678&MessagingServiceSid=MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&Body=Ihr+Termin+ist+morgen+um+10%3A00.&MediaUrl=https%3A%2F%2Fexample.com%2Fa.png&MediaUrl=https%3A%2F%2Fexample.com%2Fb.png&ValidityPeriod=3600"
        );
        assert!(m.validate().is_ok());
        let field = |m: SendMessage| m.validate().unwrap_err().field;
        assert_eq!(field(SendMessage::new("+1", "hi")), "From");
        assert_eq!(field(SendMessage::to("+1").from("+2")), "Body");
        assert_eq!(field(SendMessage::new("+1", "x".repeat(1601)).from("+2")), "Body");
        assert_eq!(
            field(SendMessage::new("+1", "x").from("+2").validity_period(0)),
            "ValidityPeriod"
        );
        assert_eq!(
            field(
                SendMessage::new("+1", "x")
                    .from("+2")
                    .send_at("2026-12-01T10:00:00Z")
            ),
            "SendAt"
        );
        let mut many = SendMessage::to("+1").from("+2");
        for i in 0..11 {
            many = many.media_url(Url::parse(&format!("https://e.com/{i}")).unwrap());
        }
        assert_eq!(field(many), "MediaUrl");
    }

    #[test]
    fn credentials_are_checked_and_never_shown() {
        let sid = "AC00000000000000000000000000000001";
        let b = Client::builder().account_sid(sid).auth_token("token-value-123");
        assert!(!format!("{b:?}").contains("token-value-123"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("token-value-123"));
        assert!(
            Client::builder()
                .account_sid("AC1")
                .auth_token("t")
                .build()
                .is_err()
        );
        assert!(Client::builder().account_sid(sid).build().is_err());
        assert!(
            Client::builder()
                .account_sid(sid)
                .api_key("SK1", "secret")
                .build()
                .is_ok()
        );
    }
}
