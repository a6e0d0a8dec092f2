//! X webhooks: the CRC challenge, the `x-twitter-webhooks-signature` check, and typed
//! deliveries of the Account Activity API and the X Activity API.
//!
//! Both APIs deliver the v1.1-style `direct_message_events`; the X Activity API wraps them
//! in `{"data": {"event_type": "dm.received", "payload": …}}`. DMs the business account
//! sent itself come back too: they become [`DeliveryStatus::Sent`] updates (echoes), never
//! inbound messages. Anything not modelled is kept raw.

use std::collections::HashMap;
use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::channel::ChannelKind;
use crate::error::RawBody;
use crate::model::address::UserId;
use crate::model::inbound::{
    ConsentAction, ConsentSignal, DeliveryStatus, InboundContent, InboundEvent, InboundMedia, InboundMessage,
    Sender, StatusUpdate, UnknownEvent,
};
use crate::model::message::MediaKind;
use crate::webhook::{
    DEFAULT_MAX_BODY_BYTES, HandshakeResponse, Secrets, WebhookError, WebhookOutcome, WebhookRequest,
    hmac_sha256,
};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "x-twitter-webhooks-signature";

/// The `response_token` for a CRC challenge: `sha256=` and the base64 HMAC-SHA256 of the
/// `crc_token` under the app's consumer secret.
///
/// The answer is the same construction as the signature over a delivery body, so answering
/// any token would make the endpoint a signing oracle: send a JSON body as `crc_token`, take
/// the answer, and POST that body with it as the signature. X's tokens are short opaque
/// strings and every delivery body is a JSON object, so a token that could be a body is
/// refused ([`check_crc_token`]) before anything is signed.
///
/// ```
/// use switchboard::twitter::webhook::crc_response_token;
///
/// assert_eq!(
///     crc_response_token(b"test", "challenge_string").unwrap(),
///     "sha256=SYYKwb5URQ4OnNXL3KWDH9ph6EIaP+4PTQFxLk5FIK4="
/// );
/// assert!(crc_response_token(b"test", r#"{"direct_message_events":[]}"#).is_err());
/// ```
pub fn crc_response_token(consumer_secret: &[u8], crc_token: &str) -> Result<String, WebhookError> {
    check_crc_token(crc_token)?;
    Ok(signature_header(consumer_secret, crc_token.as_bytes()))
}

/// The longest `crc_token` answered. X's tokens are a few dozen characters.
pub const MAX_CRC_TOKEN_BYTES: usize = 256;

/// Refuses a `crc_token` that could be a delivery body (see [`crc_response_token`]): empty,
/// longer than [`MAX_CRC_TOKEN_BYTES`], starting with `{` or `[`, or containing `"`,
/// whitespace or control characters. A JSON object or array needs at least one of these, so
/// no answer can serve as a body's signature, while X's opaque tokens pass.
pub fn check_crc_token(crc_token: &str) -> Result<(), WebhookError> {
    let reason = if crc_token.is_empty() {
        "crc_token is empty"
    } else if crc_token.len() > MAX_CRC_TOKEN_BYTES {
        "crc_token is longer than 256 bytes"
    } else if crc_token.starts_with(['{', '[']) {
        "crc_token looks like a JSON body"
    } else if crc_token
        .chars()
        .any(|c| c == '"' || c.is_whitespace() || c.is_control())
    {
        "crc_token contains quotes, whitespace or control characters"
    } else {
        return Ok(());
    };
    Err(WebhookError::InvalidChallenge { reason })
}

/// The `x-twitter-webhooks-signature` value for a body: `sha256=` and the base64
/// HMAC-SHA256 under the consumer secret (for tests and emulators).
pub fn signature_header(consumer_secret: &[u8], body: &[u8]) -> String {
    format!("sha256={}", BASE64.encode(hmac_sha256(consumer_secret, &[body])))
}

/// Verifies and parses X webhook requests for one app (and, optionally, knows the business
/// account's user id to tell echoes apart). `Debug` never shows the secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Secrets,
    user_id: Option<String>,
    max_body_bytes: usize,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secrets", &self.secrets)
            .field("user_id", &self.user_id)
            .field("max_body_bytes", &self.max_body_bytes)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for the app with this consumer secret (API secret key).
    pub fn new(consumer_secret: impl AsRef<[u8]>) -> Self {
        let mut secrets = Secrets::default();
        secrets.push("consumer_secret", consumer_secret);
        Self {
            secrets,
            user_id: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Also accepts signatures made with this secret, while rotating it. CRC answers use
    /// the first secret.
    #[must_use]
    pub fn also_accept(mut self, consumer_secret: impl AsRef<[u8]>) -> Self {
        self.secrets.push("consumer_secret", consumer_secret);
        self
    }

    /// The verifier, or the configuration error of a secret it was given (empty, or shorter
    /// than [`MIN_SECRET_BYTES`](crate::webhook::MIN_SECRET_BYTES)). Such a verifier
    /// refuses every request anyway; call this at start-up to fail there instead.
    pub fn configured(self) -> crate::Result<Self> {
        self.secrets.problem().map_or(Ok(self), Err)
    }

    /// The business account's user id: its own messages are echoes. Deliveries that name
    /// the account (`for_user_id`, the X Activity API filter) need no configuration.
    #[must_use]
    pub fn for_user(mut self, user_id: impl Into<String>) -> Self {
        self.user_id = Some(user_id.into());
        self
    }

    /// The largest body accepted (default 4 MiB).
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// The CRC answer: `200`, JSON `{"response_token": "sha256=…"}`. A token that could be
    /// a delivery body is refused ([`check_crc_token`]), and so is every token when no
    /// secret is configured.
    pub fn crc_response(&self, crc_token: &str) -> Result<HandshakeResponse, WebhookError> {
        let secret = self.secrets.iter().next().ok_or(WebhookError::NotConfigured)?;
        let body = serde_json::json!({ "response_token": crc_response_token(secret, crc_token)? });
        Ok(HandshakeResponse {
            status: http::StatusCode::OK,
            content_type: "application/json",
            body: Bytes::from(body.to_string()),
        })
    }

    /// Checks the signature header against the raw body, in constant time.
    pub fn verify(&self, signature: Option<&str>, body: &[u8]) -> Result<(), WebhookError> {
        let header = signature.ok_or(WebhookError::MissingSignature {
            header: SIGNATURE_HEADER,
        })?;
        let malformed = WebhookError::MalformedSignature {
            header: SIGNATURE_HEADER,
        };
        let encoded = header.trim().strip_prefix("sha256=").ok_or(malformed.clone())?;
        let expected = BASE64.decode(encoded).map_err(|_| malformed.clone())?;
        if expected.len() != 32 {
            return Err(malformed);
        }
        if self.secrets.verify_sha256(&[body], &expected) {
            Ok(())
        } else {
            Err(WebhookError::SignatureMismatch)
        }
    }

    /// Answers a CRC `GET`, or verifies and parses a delivery `POST` into events.
    pub fn handle(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        match *request.method() {
            Method::GET => {
                let token = request
                    .query_param("crc_token")
                    .ok_or(WebhookError::HandshakeMismatch {
                        reason: "no crc_token",
                    })?;
                Ok(WebhookOutcome::Handshake(self.crc_response(&token)?))
            }
            Method::POST => {
                request.check_size(self.max_body_bytes)?;
                self.verify(request.header(SIGNATURE_HEADER), request.body())?;
                let delivery = parse(request.body())?;
                Ok(WebhookOutcome::received(
                    delivery.into_events(self.user_id.as_deref()),
                ))
            }
            _ => Err(WebhookError::MethodNotAllowed),
        }
    }
}

/// One webhook delivery.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Delivery {
    /// An Account Activity API delivery.
    AccountActivity(Box<AccountActivity>),
    /// An X Activity API delivery.
    Activity(Box<ActivityEvent>),
}

/// An X Activity API event (`dm.received`, `dm.sent`, `dm.read`, `dm.indicate_typing`,
/// and every other type, kept raw in `payload`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ActivityEvent {
    /// The event's id: a string, which can be negative (`"-6850472171600526495"`).
    #[serde(deserialize_with = "crate::http::loose::opt_string", default)]
    pub event_uuid: Option<String>,
    /// `dm.received`, `dm.sent`…
    pub event_type: String,
    /// The subscription's tag.
    #[serde(default)]
    pub tag: Option<String>,
    /// The subscription's filter (`{"user_id": …}`).
    #[serde(default)]
    pub filter: Value,
    /// The event, as received.
    #[serde(default)]
    pub payload: Value,
    /// Objects the event refers to (users, posts, media), as received.
    #[serde(default)]
    pub includes: Value,
}

impl ActivityEvent {
    /// The filtered user: the business account for DM events.
    pub fn user_id(&self) -> Option<&str> {
        self.filter.get("user_id").and_then(Value::as_str)
    }

    /// The DM events of a `dm.*` payload, in the Account Activity shape.
    pub fn account_activity(&self) -> Option<AccountActivity> {
        if !self.event_type.starts_with("dm.") {
            return None;
        }
        let Value::Object(payload) = &self.payload else {
            return None;
        };
        let mut activity = AccountActivity::from_map(payload.clone());
        activity.for_user_id = activity.for_user_id.or_else(|| self.user_id().map(str::to_owned));
        Some(activity)
    }
}

/// The DM-related content of an Account Activity delivery. Top-level keys not modelled here
/// (`tweet_create_events`, `user_event`…) are kept in `other`, items that do not parse in
/// `unparsed`.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct AccountActivity {
    /// The subscribed account the delivery is for.
    pub for_user_id: Option<String>,
    /// Messages received and sent.
    pub direct_message_events: Vec<DirectMessageEvent>,
    /// Someone is typing.
    pub typing_events: Vec<IndicatorEvent>,
    /// Someone read messages up to an event.
    pub read_events: Vec<IndicatorEvent>,
    /// Blocks and unblocks.
    pub block_events: Vec<BlockEvent>,
    /// The users the events mention, by id.
    pub users: HashMap<String, WebhookUser>,
    /// The apps that sent messages, by id.
    pub apps: HashMap<String, Value>,
    /// Other top-level keys, as received.
    pub other: Map<String, Value>,
    /// Items of the known lists that did not parse, as received.
    pub unparsed: Vec<(String, Value)>,
}

/// A v1.1-style DM event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DirectMessageEvent {
    /// `message_create`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The event id.
    pub id: String,
    /// When, in milliseconds since the epoch (sent as a string).
    #[serde(deserialize_with = "crate::http::loose::opt_i64", default)]
    pub created_timestamp: Option<i64>,
    /// The message.
    #[serde(default)]
    pub message_create: Option<MessageCreate>,
    /// The post or welcome message the conversation started from.
    #[serde(default)]
    pub initiated_via: Option<Value>,
}

/// A message in a DM event.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MessageCreate {
    /// The recipient.
    pub target: Target,
    /// The sender.
    pub sender_id: String,
    /// The app that sent it, for messages sent through the API.
    #[serde(default)]
    pub source_app_id: Option<String>,
    /// The content.
    #[serde(default)]
    pub message_data: MessageData,
}

/// Who an event is aimed at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Target {
    /// The recipient's user id.
    pub recipient_id: String,
}

/// A message's content.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct MessageData {
    /// The text (with a `t.co` link for an attachment).
    #[serde(default)]
    pub text: String,
    /// Hashtags, mentions, URLs.
    #[serde(default)]
    pub entities: Option<Value>,
    /// The option a quick reply chose.
    #[serde(default)]
    pub quick_reply_response: Option<QuickReplyResponse>,
    /// An attached photo, video or GIF.
    #[serde(default)]
    pub attachment: Option<DmAttachment>,
}

/// The answer to a quick reply.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct QuickReplyResponse {
    /// `options`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The chosen option's metadata.
    #[serde(default)]
    pub metadata: Option<String>,
}

/// An attachment of a received DM.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DmAttachment {
    /// `media`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The v1.1 media entity (`id_str`, `media_url_https`, `type`: photo, video,
    /// animated_gif). Fetching it needs the user's OAuth 1.0a signature.
    #[serde(default)]
    pub media: Value,
}

/// A typing or read indicator.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct IndicatorEvent {
    /// When, in milliseconds.
    #[serde(deserialize_with = "crate::http::loose::opt_i64", default)]
    pub created_timestamp: Option<i64>,
    /// Who is typing, or who read.
    pub sender_id: String,
    /// The other party.
    pub target: Target,
    /// For read events: the last event read.
    #[serde(default)]
    pub last_read_event_id: Option<String>,
}

/// A block or unblock.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct BlockEvent {
    /// `block` or `unblock`.
    #[serde(rename = "type")]
    pub kind: String,
    /// When, in milliseconds.
    #[serde(deserialize_with = "crate::http::loose::opt_i64", default)]
    pub created_timestamp: Option<i64>,
    /// Who blocked.
    pub source: WebhookUser,
    /// Who was blocked.
    pub target: WebhookUser,
}

/// A user in a delivery: v1.1 objects (`screen_name`) and X Activity API ones
/// (`{"data": {"username": …}}`) alike.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WebhookUser {
    /// The user id.
    pub id: String,
    /// The display name.
    pub name: Option<String>,
    /// The handle, without `@`.
    pub username: Option<String>,
}

impl fmt::Debug for WebhookUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookUser")
            .field("id", &self.id)
            .field("name", &self.name.as_ref().map(|_| "[set]"))
            .field("username", &self.username.as_ref().map(|_| "[set]"))
            .finish()
    }
}

impl<'de> Deserialize<'de> for WebhookUser {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(d)?;
        let user = value.get("data").unwrap_or(&value);
        let text = |key: &str| user.get(key).and_then(Value::as_str).map(str::to_owned);
        let id = text("id_str")
            .or_else(|| text("id"))
            .or_else(|| user.get("id").and_then(Value::as_u64).map(|n| n.to_string()))
            .ok_or_else(|| serde::de::Error::missing_field("id"))?;
        Ok(Self {
            id,
            name: text("name"),
            username: text("screen_name").or_else(|| text("username")),
        })
    }
}

impl AccountActivity {
    fn from_map(mut map: Map<String, Value>) -> Self {
        let mut activity = Self {
            for_user_id: match map.remove("for_user_id") {
                Some(Value::String(s)) => Some(s),
                Some(Value::Number(n)) => Some(n.to_string()),
                _ => None,
            },
            ..Self::default()
        };
        let mut unparsed = Vec::new();
        activity.direct_message_events = items(&mut map, "direct_message_events", &mut unparsed);
        activity.typing_events = items(&mut map, "direct_message_indicate_typing_events", &mut unparsed);
        activity.read_events = items(&mut map, "direct_message_mark_read_events", &mut unparsed);
        activity.block_events = items(&mut map, "block_events", &mut unparsed);
        if let Some(Value::Object(users)) = map.remove("users") {
            for (id, user) in users {
                match serde_json::from_value(user) {
                    Ok(user) => {
                        activity.users.insert(id, user);
                    }
                    Err(_) => unparsed.push(("users".into(), Value::String(id))),
                }
            }
        }
        if let Some(Value::Object(apps)) = map.remove("apps") {
            activity.apps = apps.into_iter().collect();
        }
        activity.unparsed = unparsed;
        activity.other = map;
        activity
    }

    /// The account the events are for: `for_user_id`, else `fallback`.
    fn me<'a>(&'a self, fallback: Option<&'a str>) -> Option<&'a str> {
        self.for_user_id.as_deref().or(fallback)
    }

    fn sender(&self, id: &str) -> Sender {
        let user = self.users.get(id);
        Sender {
            user_id: UserId::new(id).ok(),
            name: user.and_then(|u| u.name.clone()),
            username: user.and_then(|u| u.username.clone()),
            ..Sender::default()
        }
    }

    /// The events in the order they were delivered. `account` is the business's user id
    /// when the delivery does not name it.
    pub fn into_events(self, account: Option<&str>) -> Vec<InboundEvent> {
        let me = self.me(account).map(str::to_owned);
        let me = me.as_deref();
        let mut events = Vec::with_capacity(self.direct_message_events.len() + self.read_events.len());
        for event in &self.direct_message_events {
            events.push(self.message_event(event, me));
        }
        for read in &self.read_events {
            match (&read.last_read_event_id, Some(read.sender_id.as_str()) != me) {
                // The customer read our messages up to this one.
                (Some(last), true) => {
                    let mut status = status(last.clone(), DeliveryStatus::Read);
                    status.recipient = Some(read.sender_id.clone());
                    status.timestamp = read.created_timestamp.map(|ms| ms / 1000);
                    events.push(InboundEvent::Status(status));
                }
                _ => events.push(unknown("direct_message_mark_read_events", read_json(read))),
            }
        }
        for typing in &self.typing_events {
            events.push(unknown(
                "direct_message_indicate_typing_events",
                read_json(typing),
            ));
        }
        for block in &self.block_events {
            // Someone blocking the business is an opt-out; unblocking lifts it.
            let action = match block.kind.as_str() {
                "block" => Some(ConsentAction::OptOut),
                "unblock" => Some(ConsentAction::OptIn),
                _ => None,
            };
            match action {
                Some(action) if Some(block.target.id.as_str()) == me || me.is_none() => {
                    let from = Sender {
                        user_id: UserId::new(block.source.id.clone()).ok(),
                        name: block.source.name.clone(),
                        username: block.source.username.clone(),
                        ..Sender::default()
                    };
                    events.push(InboundEvent::Consent(ConsentSignal {
                        channel: ChannelKind::Twitter,
                        id: block
                            .created_timestamp
                            .map(|at| format!("{}:{}:{at}", block.kind, block.source.id)),
                        from,
                        action,
                        scope: None,
                        detail: Some(format!("X {}", block.kind)),
                        timestamp: block.created_timestamp.map(|ms| ms / 1000),
                    }));
                }
                _ => events.push(unknown(
                    "block_events",
                    serde_json::json!({"type": block.kind, "source": block.source.id, "target": block.target.id}),
                )),
            }
        }
        for (key, value) in self.other {
            events.push(unknown(&key, value));
        }
        for (key, value) in self.unparsed {
            events.push(unknown(&key, value));
        }
        events
    }

    fn message_event(&self, event: &DirectMessageEvent, me: Option<&str>) -> InboundEvent {
        let Some(message) = &event.message_create else {
            return unknown(
                &event.kind,
                serde_json::json!({"type": event.kind, "id": event.id}),
            );
        };
        let timestamp = event.created_timestamp.map(|ms| ms / 1000);
        if Some(message.sender_id.as_str()) == me {
            // The business's own message, echoed back: a send confirmation.
            let mut sent = status(event.id.clone(), DeliveryStatus::Sent);
            sent.recipient = Some(message.target.recipient_id.clone());
            sent.timestamp = timestamp;
            return InboundEvent::Status(sent);
        }
        let data = &message.message_data;
        let content = if let Some(reply) = &data.quick_reply_response {
            InboundContent::ButtonReply {
                id: reply.metadata.clone().unwrap_or_default(),
                title: data.text.clone(),
            }
        } else if let Some(attachment) = &data.attachment {
            let media = &attachment.media;
            let text = |key: &str| media.get(key).and_then(Value::as_str).map(str::to_owned);
            let kind = match text("type").as_deref() {
                Some("photo") => MediaKind::Image,
                _ => MediaKind::Video,
            };
            // The text ends with the attachment's t.co link; the rest is the caption.
            let caption = match text("url") {
                Some(link) => data.text.replace(&link, "").trim().to_owned(),
                None => data.text.clone(),
            };
            InboundContent::Media(InboundMedia {
                kind,
                id: text("id_str"),
                url: text("media_url_https"),
                mime_type: None,
                caption: (!caption.is_empty()).then_some(caption),
                filename: None,
                sha256: None,
                voice: false,
            })
        } else {
            InboundContent::Text(data.text.clone())
        };
        InboundEvent::Message(InboundMessage {
            channel: ChannelKind::Twitter,
            id: event.id.clone(),
            from: self.sender(&message.sender_id),
            to: Some(message.target.recipient_id.clone()),
            group: None,
            timestamp,
            content,
            reply_to: None,
            forwarded: false,
            part: None,
        })
    }
}

fn items<T: serde::de::DeserializeOwned>(
    map: &mut Map<String, Value>,
    key: &str,
    unparsed: &mut Vec<(String, Value)>,
) -> Vec<T> {
    let Some(value) = map.remove(key) else {
        return Vec::new();
    };
    let Value::Array(list) = value else {
        unparsed.push((key.to_owned(), value));
        return Vec::new();
    };
    let mut parsed = Vec::with_capacity(list.len());
    for item in list {
        match T::deserialize(&item) {
            Ok(value) => parsed.push(value),
            Err(_) => unparsed.push((key.to_owned(), item)),
        }
    }
    parsed
}

fn read_json(event: &IndicatorEvent) -> Value {
    serde_json::json!({
        "created_timestamp": event.created_timestamp.map(|t| t.to_string()),
        "sender_id": event.sender_id,
        "target": {"recipient_id": event.target.recipient_id},
        "last_read_event_id": event.last_read_event_id,
    })
}

fn status(message_id: String, status: DeliveryStatus) -> StatusUpdate {
    StatusUpdate::new(ChannelKind::Twitter, message_id, status)
}

fn unknown(kind: &str, value: Value) -> InboundEvent {
    InboundEvent::Unknown(UnknownEvent::new(ChannelKind::Twitter, kind, value.to_string()))
}

impl Delivery {
    /// The neutral events of this delivery. `account` is the business's user id, for
    /// deliveries that do not name it.
    pub fn into_events(self, account: Option<&str>) -> Vec<InboundEvent> {
        match self {
            Self::AccountActivity(activity) => activity.into_events(account),
            Self::Activity(event) => match event.account_activity() {
                Some(activity) => activity.into_events(account),
                None => vec![unknown(
                    &event.event_type,
                    serde_json::json!({
                        "event_uuid": event.event_uuid,
                        "event_type": event.event_type,
                        "tag": event.tag,
                        "filter": event.filter,
                        "payload": event.payload,
                    }),
                )],
            },
        }
    }
}

/// Parses a verified delivery body. A body that is not a JSON object is
/// [`WebhookError::MalformedPayload`] (with the body kept); anything unexpected inside is
/// kept raw.
pub fn parse(body: &[u8]) -> Result<Delivery, WebhookError> {
    let malformed = |path: &str| WebhookError::MalformedPayload {
        path: path.to_owned(),
        raw: RawBody::new(Bytes::copy_from_slice(body)),
    };
    let Value::Object(mut map) = serde_json::from_slice::<Value>(body).map_err(|_| malformed("."))? else {
        return Err(malformed("."));
    };
    if let Some(data) = map.get("data")
        && data.get("event_type").is_some()
    {
        let data = map.remove("data").unwrap_or_default();
        let event: ActivityEvent = serde_json::from_value(data).map_err(|_| malformed("data"))?;
        return Ok(Delivery::Activity(Box::new(event)));
    }
    Ok(Delivery::AccountActivity(Box::new(AccountActivity::from_map(
        map,
    ))))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
    const BODY: &str = r#"{"for_user_id":"4337869213","direct_message_events":[{"type":"message_create","id":"954491830116155396","created_timestamp":"1516403560557","message_create":{"target":{"recipient_id":"4337869213"},"sender_id":"3001969357","message_data":{"text":"Hello World!"}}}]}"#;

    #[test]
    fn official_and_reference_vectors() {
        let autohook = WebhookVerifier::new("test");
        autohook
            .verify(
                Some("sha256=25Cu3iwbbiqBTwQRzcKJZwisjf736V2Q8UaTlkfLSoc="),
                b"test=1&other_test=2",
            )
            .unwrap();
        autohook
            .verify(
                Some("sha256=YWHphPn/JFq43jkF0y4/w8R/SelmLjvpunhVFY8JhlI="),
                br#"{"test_number":1,"test_string":"two"}"#,
            )
            .unwrap();
        assert_eq!(
            crc_response_token(SECRET.as_bytes(), "challenge_string").unwrap(),
            "sha256=nlBfoc+sYi739ivT57rTKKl7OQM8PcJSNybJqfjoBUk="
        );
        assert_eq!(BODY.len(), 264);
        WebhookVerifier::new(SECRET)
            .verify(
                Some("sha256=rZTUAQs7twuqQm8PV9p17XnLO/wQKe40VFh7m/xpBh0="),
                BODY.as_bytes(),
            )
            .unwrap();
    }

    #[test]
    fn bad_signatures_are_refused() {
        let v = WebhookVerifier::new(SECRET);
        assert_eq!(
            v.verify(None, b"{}"),
            Err(WebhookError::MissingSignature {
                header: SIGNATURE_HEADER
            })
        );
        assert!(matches!(
            v.verify(Some("sha1=abc"), b"{}"),
            Err(WebhookError::MalformedSignature { .. })
        ));
        assert!(matches!(
            v.verify(Some("sha256=!!"), b"{}"),
            Err(WebhookError::MalformedSignature { .. })
        ));
        assert_eq!(
            v.verify(Some("sha256=rZTUAQs7twuqQm8PV9p17XnLO/wQKe40VFh7m/xpBh0="), b"{}"),
            Err(WebhookError::SignatureMismatch)
        );
        // Rotation: the old secret still verifies.
        WebhookVerifier::new("new-secret")
            .also_accept(SECRET)
            .verify(
                Some("sha256=rZTUAQs7twuqQm8PV9p17XnLO/wQKe40VFh7m/xpBh0="),
                BODY.as_bytes(),
            )
            .unwrap();
    }

    proptest::proptest! {
        #[test]
        fn parsing_any_bytes_never_panics(body in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            if let Ok(delivery) = parse(&body) {
                let _ = delivery.into_events(Some("1"));
            }
        }

        #[test]
        fn parsing_any_json_never_panics(key in "[a-z_]{1,30}", text in ".{0,40}", n in proptest::num::i64::ANY) {
            for body in [
                serde_json::json!({ key.clone(): [{"type": text, "id": n}], "users": {text.clone(): {"id": n}} }),
                serde_json::json!({"data": {"event_type": format!("dm.{text}"), "event_uuid": n, "payload": { key.clone(): [n] }}}),
                serde_json::json!({"direct_message_events": [{"type": "message_create", "id": text, "message_create": {"target": {"recipient_id": text}, "sender_id": text, "message_data": {"attachment": {"type": "media", "media": n}}}}]}),
            ] {
                if let Ok(delivery) = parse(body.to_string().as_bytes()) {
                    let _ = delivery.into_events(None);
                }
            }
        }
    }
}
