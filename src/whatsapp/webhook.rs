//! WhatsApp webhooks: the subscription handshake, `X-Hub-Signature-256` verification, the
//! typed notification model, and its normalization into [`InboundEvent`]s.
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

use std::borrow::Cow;
use std::fmt;

use http::Method;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use subtle::ConstantTimeEq;

use super::classify;
use super::messages::Contact as ContactCard;
use crate::channel::ChannelKind;
use crate::error::RawBody;
use crate::model::address::{PhoneNumber, UserId};
use crate::model::inbound::{
    ConsentAction, ConsentSignal, DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMedia,
    InboundMessage, InboundReaction, Pricing, Sender, StatusUpdate, UnknownEvent,
};
use crate::model::message::{Location, MediaKind};
use crate::webhook::{
    DEFAULT_MAX_BODY_BYTES, HandshakeResponse, Secrets, WebhookError, WebhookOutcome, WebhookRequest,
    hmac_sha256,
};

/// The signature header Meta sends.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Verifies and parses WhatsApp webhook requests. Holds the app secret(s) and the verify
/// token; `Debug` shows neither. With no app secret it refuses every notification.
#[derive(Clone)]
pub struct WebhookVerifier {
    secrets: Secrets,
    verify_token: Option<String>,
    max_body_bytes: usize,
}

impl Default for WebhookVerifier {
    /// A verifier with no secret yet: it refuses everything until one is added.
    fn default() -> Self {
        Self {
            secrets: Secrets::default(),
            verify_token: None,
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
        self.secrets.push(app_secret);
        self
    }

    /// The verify token you entered in the App Dashboard, for the GET handshake. Without
    /// one, handshakes are refused.
    #[must_use]
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        self.verify_token = Some(token.into());
        self
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
                Ok(WebhookOutcome::Events(notification.into_events()))
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
            id: entry.id.into_owned(),
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

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow, default)]
    object: Cow<'a, str>,
    #[serde(borrow)]
    entry: Vec<RawEntry<'a>>,
}

#[derive(Deserialize)]
struct RawEntry<'a> {
    #[serde(borrow, default)]
    id: Cow<'a, str>,
    #[serde(borrow, default)]
    changes: Vec<RawChange<'a>>,
}

#[derive(Deserialize)]
struct RawChange<'a> {
    #[serde(borrow, default)]
    field: Cow<'a, str>,
    #[serde(borrow)]
    value: &'a RawValue,
}

/// A webhook notification: `{"object": "whatsapp_business_account", "entry": [...]}`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Notification {
    /// Always `whatsapp_business_account` for WhatsApp.
    pub object: String,
    /// The entries, one per business account.
    pub entries: Vec<Entry>,
}

/// One business account's changes.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Entry {
    /// The WhatsApp Business Account id.
    pub id: String,
    /// What changed, in order.
    pub changes: Vec<Change>,
}

/// One change, by webhook field.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Change {
    /// `messages`: inbound messages, statuses of sent messages, errors.
    Messages(MessagesValue),
    /// `user_preferences`: a user stopped or resumed marketing messages.
    UserPreferences(UserPreferencesValue),
    /// `message_template_status_update`: a template was approved, rejected, paused…
    TemplateStatus {
        /// The typed update.
        update: TemplateStatusUpdate,
        /// The change value as received.
        raw: RawBody,
    },
    /// A field this version does not model, or one whose value did not have the documented
    /// shape: kept as received.
    Unknown {
        /// The webhook field.
        field: String,
        /// The change value as received.
        raw: RawBody,
    },
}

impl Change {
    fn from_raw(change: RawChange<'_>) -> Self {
        let json = change.value.get();
        let raw = || RawBody::new(bytes::Bytes::copy_from_slice(json.as_bytes()));
        let parsed = match change.field.as_ref() {
            "messages" => MessagesValue::parse(json).map(Self::Messages),
            "user_preferences" => serde_json::from_str(json).ok().map(Self::UserPreferences),
            "message_template_status_update" => serde_json::from_str(json)
                .ok()
                .map(|update| Self::TemplateStatus { update, raw: raw() }),
            _ => None,
        };
        parsed.unwrap_or_else(|| Self::Unknown {
            field: change.field.into_owned(),
            raw: raw(),
        })
    }
}

/// The value of a `messages` change.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct MessagesValue {
    /// Which business number this is about.
    pub metadata: Metadata,
    /// The people the messages are from (or, for statuses, to).
    pub contacts: Vec<Contact>,
    /// Inbound messages.
    pub messages: Vec<Message>,
    /// Status updates of messages we sent.
    pub statuses: Vec<Status>,
    /// Errors about the account or app, not tied to a message.
    pub errors: Vec<ErrorObject>,
}

/// The `messages` change value, generic over how messages are read: typed directly (the
/// fast path) or as raw JSON borrowed from the body (to keep what does not fit).
#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
struct MessagesValueWire<M> {
    metadata: Metadata,
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default = "Vec::new")]
    messages: Vec<M>,
    #[serde(default)]
    statuses: Vec<Status>,
    #[serde(default)]
    errors: Vec<ErrorObject>,
}

/// Only the messages of a `messages` change value, as raw JSON.
#[derive(Deserialize)]
struct RawMessages<'a> {
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
}

impl MessagesValue {
    fn parse(json: &str) -> Option<Self> {
        // Fast path: every message has the documented shape, so it is read once, typed.
        // The raw JSON is re-read only for the messages that keep it.
        if let Ok(value) = serde_json::from_str::<MessagesValueWire<MessageFields>>(json) {
            let mut raws: Option<Vec<&RawValue>> = None;
            let messages = value
                .messages
                .into_iter()
                .enumerate()
                .map(|(i, fields)| {
                    Message::from_fields(fields, || {
                        let raws = raws.get_or_insert_with(|| {
                            serde_json::from_str::<RawMessages<'_>>(json)
                                .map(|r| r.messages)
                                .unwrap_or_default()
                        });
                        raws.get(i).map(|r| r.get())
                    })
                })
                .collect();
            return Some(Self {
                metadata: value.metadata,
                contacts: value.contacts,
                messages,
                statuses: value.statuses,
                errors: value.errors,
            });
        }
        // A message of an unexpected shape: read each one raw, so it is kept, not lost.
        let value: MessagesValueWire<&RawValue> = serde_json::from_str(json).ok()?;
        Some(Self {
            metadata: value.metadata,
            contacts: value.contacts,
            messages: value
                .messages
                .into_iter()
                .map(|m| Message::parse(m.get()))
                .collect(),
            statuses: value.statuses,
            errors: value.errors,
        })
    }
}

/// The business number a change is about.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// The number as displayed.
    #[serde(default)]
    pub display_phone_number: Option<String>,
    /// Its phone number id: route multi-number setups on it.
    pub phone_number_id: String,
}

/// A person in a `messages` change. Any part may be absent: since 2026 Meta omits the
/// phone number (`wa_id`) of people who use a username.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Contact {
    /// Name and username.
    #[serde(default)]
    pub profile: Option<Profile>,
    /// The WhatsApp id (phone digits).
    #[serde(default)]
    pub wa_id: Option<String>,
    /// The business-scoped user id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The parent business-scoped user id, for businesses with several portfolios.
    #[serde(default)]
    pub parent_user_id: Option<String>,
}

impl fmt::Debug for Contact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Contact")
            .field("wa_id", &self.wa_id.as_deref().map(crate::model::address::mask))
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

/// A person's WhatsApp profile.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Profile {
    /// The display name.
    #[serde(default)]
    pub name: Option<String>,
    /// The username (`@name`).
    #[serde(default)]
    pub username: Option<String>,
}

/// An inbound message. Its content is typed for every documented type; anything else, or
/// a message whose shape does not match, is [`Received::Unknown`] with the raw JSON.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// The sender's WhatsApp id (phone digits); absent for username users.
    pub from: Option<String>,
    /// The sender's business-scoped user id.
    pub from_user_id: Option<String>,
    /// The message id (`wamid.…`).
    pub id: String,
    /// When it was sent, in Unix seconds.
    pub timestamp: Option<i64>,
    /// The `type` as Meta named it.
    pub kind: String,
    /// What it answers or quotes, and whether it was forwarded.
    pub context: Option<Context>,
    /// The click-to-WhatsApp ad it came from.
    pub referral: Option<Referral>,
    /// Errors (for `unsupported` messages).
    pub errors: Vec<ErrorObject>,
    /// The content.
    pub content: Received,
    /// The message as received, kept when its content is not text, media, a location, a
    /// button reply or a reaction (those are complete in the typed model).
    pub raw: Option<RawBody>,
}

impl Message {
    /// A message from its raw JSON; one that does not fit the typed model is kept whole.
    fn parse(json: &str) -> Self {
        match serde_json::from_str::<MessageFields>(json) {
            Ok(fields) => Self::from_fields(fields, || Some(json)),
            Err(_) => Self {
                from: None,
                from_user_id: None,
                id: String::new(),
                timestamp: None,
                kind: String::new(),
                context: None,
                referral: None,
                errors: Vec::new(),
                content: Received::Unknown,
                raw: Some(RawBody::new(bytes::Bytes::copy_from_slice(json.as_bytes()))),
            },
        }
    }

    /// A message from its typed fields; `raw` gives its JSON, asked only when the content
    /// is one the typed model does not carry completely.
    fn from_fields<'a>(f: MessageFields, raw: impl FnOnce() -> Option<&'a str>) -> Self {
        let content = match f.kind.as_str() {
            "text" => f.text.map(|t| Received::Text(t.body)),
            "image" => f.image.map(Received::Image),
            "video" => f.video.map(Received::Video),
            "audio" => f.audio.map(Received::Audio),
            "document" => f.document.map(Received::Document),
            "sticker" => f.sticker.map(Received::Sticker),
            "location" => f.location.map(Received::Location),
            "contacts" => f.contacts.map(Received::Contacts),
            "interactive" => f.interactive.map(|i| Received::Interactive(i.into())),
            "button" => f.button.map(Received::Button),
            "reaction" => f.reaction.map(Received::Reaction),
            "order" => f.order.map(Received::Order),
            "system" => f.system.map(Received::System),
            "request_welcome" => Some(Received::RequestWelcome),
            "unsupported" => Some(Received::Unsupported),
            _ => None,
        }
        .unwrap_or(Received::Unknown);
        let complete = matches!(
            content,
            Received::Text(_)
                | Received::Image(_)
                | Received::Video(_)
                | Received::Audio(_)
                | Received::Document(_)
                | Received::Sticker(_)
                | Received::Location(_)
                | Received::Reaction(_)
                | Received::Interactive(InteractiveReply::ButtonReply(_) | InteractiveReply::ListReply(_))
        );
        let raw = if complete {
            None
        } else {
            raw().map(|json| RawBody::new(bytes::Bytes::copy_from_slice(json.as_bytes())))
        };
        Self {
            from: f.from,
            from_user_id: f.from_user_id,
            id: f.id,
            timestamp: f.timestamp,
            kind: f.kind,
            context: f.context,
            referral: f.referral,
            errors: f.errors,
            content,
            raw,
        }
    }
}

#[derive(Deserialize)]
struct MessageFields {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    #[serde(default)]
    id: String,
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    timestamp: Option<i64>,
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    context: Option<Context>,
    #[serde(default)]
    referral: Option<Referral>,
    #[serde(default)]
    errors: Vec<ErrorObject>,
    #[serde(default)]
    text: Option<TextBody>,
    #[serde(default)]
    image: Option<Media>,
    #[serde(default)]
    video: Option<Media>,
    #[serde(default)]
    audio: Option<Media>,
    #[serde(default)]
    document: Option<Media>,
    #[serde(default)]
    sticker: Option<Media>,
    #[serde(default)]
    location: Option<Location>,
    #[serde(default)]
    contacts: Option<Vec<ContactCard>>,
    #[serde(default)]
    interactive: Option<InteractiveFields>,
    #[serde(default)]
    button: Option<ButtonReply>,
    #[serde(default)]
    reaction: Option<Reaction>,
    #[serde(default)]
    order: Option<Order>,
    #[serde(default)]
    system: Option<System>,
}

#[derive(Deserialize)]
struct TextBody {
    body: String,
}

/// What an inbound message contains.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Received {
    /// `text`.
    Text(String),
    /// `image`.
    Image(Media),
    /// `video`.
    Video(Media),
    /// `audio`, including voice notes.
    Audio(Media),
    /// `document`.
    Document(Media),
    /// `sticker`.
    Sticker(Media),
    /// `location`.
    Location(Location),
    /// `contacts`: shared contact cards.
    Contacts(Vec<ContactCard>),
    /// `interactive`: a reply button, a list row, or a flow's answer.
    Interactive(InteractiveReply),
    /// `button`: a template's quick-reply button.
    Button(ButtonReply),
    /// `reaction` (an absent or empty emoji means removed).
    Reaction(Reaction),
    /// `order` from a catalog.
    Order(Order),
    /// `system`: the user changed number or user id.
    System(System),
    /// `request_welcome`: the user opened the chat for the first time.
    RequestWelcome,
    /// `unsupported`: WhatsApp could not pass the message on; see the message's errors.
    Unsupported,
    /// A type this version does not know, or a known type without its payload: see the
    /// message's `kind` and `raw`.
    Unknown,
}

/// An inbound media file; download it with [`Client::media_info`](super::Client::media_info)
/// and [`Client::download_media`](super::Client::download_media).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Media {
    /// The media id.
    #[serde(default)]
    pub id: Option<String>,
    /// A download URL (sent since late 2025); still needs the access token.
    #[serde(default)]
    pub url: Option<String>,
    /// The MIME type.
    #[serde(default)]
    pub mime_type: Option<String>,
    /// SHA-256 of the file.
    #[serde(default)]
    pub sha256: Option<String>,
    /// The caption.
    #[serde(default)]
    pub caption: Option<String>,
    /// The file name (documents).
    #[serde(default)]
    pub filename: Option<String>,
    /// Whether an audio clip is a voice note.
    #[serde(default)]
    pub voice: Option<bool>,
    /// Whether a sticker is animated.
    #[serde(default)]
    pub animated: Option<bool>,
}

#[derive(Deserialize)]
struct InteractiveFields {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    button_reply: Option<Choice>,
    #[serde(default)]
    list_reply: Option<Choice>,
    #[serde(default)]
    nfm_reply: Option<FlowReply>,
}

/// The answer to an interactive message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InteractiveReply {
    /// A reply button was tapped.
    ButtonReply(Choice),
    /// A list row was chosen.
    ListReply(Choice),
    /// A flow was completed.
    FlowReply(FlowReply),
    /// Another interactive type (see the message's `raw`).
    Unknown {
        /// Its `interactive.type`.
        kind: String,
    },
}

impl From<InteractiveFields> for InteractiveReply {
    fn from(i: InteractiveFields) -> Self {
        match (i.kind.as_str(), i.button_reply, i.list_reply, i.nfm_reply) {
            ("button_reply", Some(choice), _, _) => Self::ButtonReply(choice),
            ("list_reply", _, Some(choice), _) => Self::ListReply(choice),
            ("nfm_reply", _, _, Some(flow)) => Self::FlowReply(flow),
            _ => Self::Unknown { kind: i.kind },
        }
    }
}

/// A chosen button or list row.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Choice {
    /// The id we set.
    pub id: String,
    /// The title shown.
    #[serde(default)]
    pub title: String,
    /// The row description (lists).
    #[serde(default)]
    pub description: Option<String>,
}

/// A completed flow's answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct FlowReply {
    /// `flow` or `address_message`.
    #[serde(default)]
    pub name: Option<String>,
    /// The text shown in the chat.
    #[serde(default)]
    pub body: Option<String>,
    /// The flow's answer, a JSON document as a string (includes the `flow_token`).
    #[serde(default)]
    pub response_json: Option<String>,
}

/// A template's quick-reply button.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ButtonReply {
    /// The payload set when sending the template.
    #[serde(default)]
    pub payload: Option<String>,
    /// The button text.
    #[serde(default)]
    pub text: Option<String>,
}

/// A reaction.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Reaction {
    /// The message reacted to.
    pub message_id: String,
    /// The emoji; absent or empty when removed.
    #[serde(default)]
    pub emoji: Option<String>,
}

/// An order from a catalog.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Order {
    /// The catalog.
    #[serde(default)]
    pub catalog_id: Option<String>,
    /// Text sent with the order.
    #[serde(default)]
    pub text: Option<String>,
    /// The items.
    #[serde(default)]
    pub product_items: Vec<OrderItem>,
}

/// One ordered product.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct OrderItem {
    /// The product's retailer id.
    #[serde(default)]
    pub product_retailer_id: Option<String>,
    /// How many.
    #[serde(default)]
    pub quantity: Option<serde_json::Number>,
    /// Unit price.
    #[serde(default)]
    pub item_price: Option<serde_json::Number>,
    /// Currency.
    #[serde(default)]
    pub currency: Option<String>,
}

/// A system message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct System {
    /// The text shown.
    #[serde(default)]
    pub body: Option<String>,
    /// `user_changed_number` or `user_changed_user_id`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// The new WhatsApp id, after a number change.
    #[serde(default)]
    pub wa_id: Option<String>,
    /// The new business-scoped user id.
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The context of a message: what it answers, and forwarding.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Context {
    /// The id of the message answered or whose button was tapped.
    #[serde(default)]
    pub id: Option<String>,
    /// Who sent that message (our business number).
    #[serde(default)]
    pub from: Option<String>,
    /// Whether this message was forwarded.
    #[serde(default)]
    pub forwarded: Option<bool>,
    /// Whether it was forwarded more than five times.
    #[serde(default)]
    pub frequently_forwarded: Option<bool>,
}

/// The click-to-WhatsApp ad or post a conversation came from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Referral {
    /// The ad's or post's URL.
    #[serde(default)]
    pub source_url: Option<String>,
    /// Its id.
    #[serde(default)]
    pub source_id: Option<String>,
    /// `ad` or `post`.
    #[serde(default)]
    pub source_type: Option<String>,
    /// Its text.
    #[serde(default)]
    pub body: Option<String>,
    /// Its headline.
    #[serde(default)]
    pub headline: Option<String>,
    /// `image` or `video`.
    #[serde(default)]
    pub media_type: Option<String>,
    /// The image URL.
    #[serde(default)]
    pub image_url: Option<String>,
    /// The video URL.
    #[serde(default)]
    pub video_url: Option<String>,
    /// The thumbnail URL.
    #[serde(default)]
    pub thumbnail_url: Option<String>,
    /// The click id, for conversion tracking.
    #[serde(default)]
    pub ctwa_clid: Option<String>,
}

/// A status update of a message we sent.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct Status {
    /// The message id (`wamid.…`) from the send response.
    #[serde(default)]
    pub id: String,
    /// The new state (`Unknown("")` if Meta sent none).
    #[serde(default)]
    pub status: StatusKind,
    /// When, in Unix seconds.
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    pub timestamp: Option<i64>,
    /// The recipient's WhatsApp id; absent when sent to a business-scoped user id.
    #[serde(default)]
    pub recipient_id: Option<String>,
    /// The recipient's business-scoped user id.
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    /// The `biz_opaque_callback_data` set when sending.
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
    /// The conversation (only before v24, or in free-entry-point windows).
    #[serde(default)]
    pub conversation: Option<Conversation>,
    /// Pricing (on `sent`, and on one of `delivered`/`read`).
    #[serde(default)]
    pub pricing: Option<StatusPricing>,
    /// Why it failed.
    #[serde(default)]
    pub errors: Vec<ErrorObject>,
}

/// Message states Meta reports.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(from = "String")]
#[non_exhaustive]
pub enum StatusKind {
    /// Sent to WhatsApp's servers.
    Sent,
    /// Delivered to the device.
    Delivered,
    /// Read.
    Read,
    /// A voice message was played.
    Played,
    /// Failed.
    Failed,
    /// Another state (`deleted`, `warning`…), as named.
    Unknown(String),
}

impl Default for StatusKind {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

impl From<String> for StatusKind {
    fn from(s: String) -> Self {
        match s.as_str() {
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "read" => Self::Read,
            "played" => Self::Played,
            "failed" => Self::Failed,
            _ => Self::Unknown(s),
        }
    }
}

/// The legacy conversation object.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Conversation {
    /// Its id.
    #[serde(default)]
    pub id: Option<String>,
    /// When it expires, in Unix seconds.
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    pub expiration_timestamp: Option<i64>,
    /// What opened it.
    #[serde(default)]
    pub origin: Option<ConversationOrigin>,
}

/// What opened a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ConversationOrigin {
    /// `marketing`, `utility`, `service`, `referral_conversion`…
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// Pricing of a status update.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct StatusPricing {
    /// Whether it is charged (Meta will deprecate this; derive from type and category).
    #[serde(default)]
    pub billable: Option<bool>,
    /// `PMP` (per message) or `CBP` (per conversation).
    #[serde(default)]
    pub pricing_model: Option<String>,
    /// `marketing`, `utility`, `authentication`, `service`…
    #[serde(default)]
    pub category: Option<String>,
    /// `regular`, `free_customer_service`, `free_entry_point`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
}

/// An error object in a webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The code.
    #[serde(default)]
    pub code: Option<i64>,
    /// The title.
    #[serde(default)]
    pub title: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
    /// Details.
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

/// Details of an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorData {
    /// What happened.
    #[serde(default)]
    pub details: Option<String>,
}

/// The value of a `user_preferences` change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct UserPreferencesValue {
    /// Which business number.
    #[serde(default)]
    pub metadata: Option<Metadata>,
    /// The people.
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// The preference changes.
    #[serde(default)]
    pub user_preferences: Vec<UserPreference>,
}

/// A user's marketing preference change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UserPreference {
    /// The WhatsApp id.
    #[serde(default)]
    pub wa_id: Option<String>,
    /// The business-scoped user id.
    #[serde(default)]
    pub user_id: Option<String>,
    /// Meta's description.
    #[serde(default)]
    pub detail: Option<String>,
    /// `marketing_messages`.
    #[serde(default)]
    pub category: Option<String>,
    /// `stop` or `resume`.
    #[serde(default)]
    pub value: Option<String>,
    /// When, in Unix seconds.
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    pub timestamp: Option<i64>,
}

/// A template status change.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct TemplateStatusUpdate {
    /// `APPROVED`, `REJECTED`, `PAUSED`, `DISABLED`…
    #[serde(default)]
    pub event: Option<String>,
    /// The template id.
    #[serde(default, deserialize_with = "crate::http::loose::opt_string")]
    pub message_template_id: Option<String>,
    /// The template name.
    #[serde(default)]
    pub message_template_name: Option<String>,
    /// Its language.
    #[serde(default)]
    pub message_template_language: Option<String>,
    /// Why (for rejections).
    #[serde(default)]
    pub reason: Option<String>,
}

impl Notification {
    /// The neutral events, in the order Meta sent them: for each change, its messages,
    /// then statuses, then errors. Nothing is dropped: what the neutral model does not
    /// carry arrives as [`InboundEvent::Unknown`] or [`InboundContent::Other`] with its raw JSON.
    pub fn into_events(self) -> Vec<InboundEvent> {
        let mut events = Vec::new();
        for entry in self.entries {
            for change in entry.changes {
                change.push_events(&mut events);
            }
        }
        events
    }
}

const CHANNEL: ChannelKind = ChannelKind::WhatsApp;

impl Change {
    fn push_events(self, events: &mut Vec<InboundEvent>) {
        match self {
            Self::Messages(value) => value.push_events(events),
            Self::UserPreferences(value) => {
                for preference in value.user_preferences {
                    events.push(preference.into_event(&value.contacts));
                }
            }
            Self::TemplateStatus { raw, .. } => events.push(unknown("message_template_status_update", raw)),
            Self::Unknown { field, raw } => events.push(unknown(field, raw)),
        }
    }
}

fn unknown(kind: impl Into<String>, raw: RawBody) -> InboundEvent {
    InboundEvent::Unknown(UnknownEvent {
        channel: CHANNEL,
        kind: kind.into(),
        raw,
    })
}

/// Builds the neutral sender from a message's ids and the change's contacts.
fn sender(wa_id: Option<&str>, user_id: Option<&str>, contacts: &[Contact]) -> Sender {
    let contact = contacts.iter().find(|c| {
        (wa_id.is_some() && c.wa_id.as_deref() == wa_id)
            || (user_id.is_some() && c.user_id.as_deref() == user_id)
    });
    let profile = contact.and_then(|c| c.profile.as_ref());
    Sender {
        phone: wa_id.and_then(PhoneNumber::from_digits),
        user_id: user_id
            .or(contact.and_then(|c| c.user_id.as_deref()))
            .and_then(|id| UserId::new(id).ok()),
        name: profile.and_then(|p| p.name.clone()),
        username: profile.and_then(|p| p.username.clone()),
    }
}

impl MessagesValue {
    fn push_events(self, events: &mut Vec<InboundEvent>) {
        let to = Some(self.metadata.phone_number_id);
        events.reserve(self.messages.len() + self.statuses.len());
        for message in self.messages {
            let from = sender(
                message.from.as_deref(),
                message.from_user_id.as_deref(),
                &self.contacts,
            );
            events.push(message.into_event(from, to.clone()));
        }
        for status in self.statuses {
            events.push(InboundEvent::Status(status.into_update()));
        }
        if !self.errors.is_empty() {
            let raw = serde_json::to_vec(&self.errors).unwrap_or_default();
            events.push(unknown("errors", RawBody::new(raw)));
        }
    }
}

impl Message {
    fn into_event(self, from: Sender, to: Option<String>) -> InboundEvent {
        let reply_to = self.context.as_ref().and_then(|c| c.id.clone());
        let forwarded = self
            .context
            .as_ref()
            .is_some_and(|c| c.forwarded == Some(true) || c.frequently_forwarded == Some(true));
        let media = |kind, m: Media| {
            InboundContent::Media(InboundMedia {
                kind,
                voice: m.voice.unwrap_or(false),
                id: m.id,
                url: m.url,
                mime_type: m.mime_type,
                caption: m.caption,
                filename: m.filename,
                sha256: m.sha256,
            })
        };
        let raw = self.raw.unwrap_or_default();
        let other = |kind: String, raw: RawBody| InboundContent::Other { kind, raw };
        let content = match self.content {
            Received::Reaction(r) => {
                return InboundEvent::Reaction(InboundReaction {
                    channel: CHANNEL,
                    id: self.id,
                    from,
                    message_id: r.message_id,
                    emoji: r.emoji.filter(|e| !e.is_empty()),
                    timestamp: self.timestamp,
                });
            }
            Received::Text(body) => InboundContent::Text(body),
            Received::Image(m) => media(MediaKind::Image, m),
            Received::Video(m) => media(MediaKind::Video, m),
            Received::Audio(m) => media(MediaKind::Audio, m),
            Received::Document(m) => media(MediaKind::Document, m),
            Received::Sticker(m) => media(MediaKind::Sticker, m),
            Received::Location(l) => InboundContent::Location(l),
            Received::Interactive(InteractiveReply::ButtonReply(c) | InteractiveReply::ListReply(c)) => {
                InboundContent::ButtonReply {
                    id: c.id,
                    title: c.title,
                }
            }
            Received::Button(b) if b.payload.is_some() || b.text.is_some() => InboundContent::ButtonReply {
                title: b.text.clone().unwrap_or_default(),
                id: b.payload.or(b.text).unwrap_or_default(),
            },
            Received::Unknown if self.id.is_empty() => {
                // Not even an id: nothing to build a message from.
                return unknown("message", raw);
            }
            _ => other(self.kind, raw),
        };
        InboundEvent::Message(InboundMessage {
            channel: CHANNEL,
            id: self.id,
            from,
            to,
            timestamp: self.timestamp,
            content,
            reply_to,
            forwarded,
            part: None,
        })
    }
}

impl Status {
    fn into_update(self) -> StatusUpdate {
        let status = match self.status {
            StatusKind::Sent => DeliveryStatus::Sent,
            StatusKind::Delivered => DeliveryStatus::Delivered,
            StatusKind::Read | StatusKind::Played => DeliveryStatus::Read,
            StatusKind::Failed => DeliveryStatus::Failed,
            StatusKind::Unknown(s) => DeliveryStatus::Unknown(s),
        };
        StatusUpdate {
            channel: CHANNEL,
            message_id: self.id,
            status,
            recipient: self.recipient_id.or(self.recipient_user_id),
            timestamp: self.timestamp,
            errors: self
                .errors
                .into_iter()
                .map(|e| DeliveryError {
                    class: e.code.map_or(crate::ErrorClass::Unknown, classify),
                    code: e.code,
                    message: e.title.or(e.message).unwrap_or_default(),
                    details: e.error_data.and_then(|d| d.details),
                })
                .collect(),
            pricing: self.pricing.map(|p| Pricing {
                billable: p.billable,
                model: p.pricing_model,
                category: p.category,
                kind: p.kind,
            }),
            tracking: self.biz_opaque_callback_data,
        }
    }
}

impl UserPreference {
    fn into_event(self, contacts: &[Contact]) -> InboundEvent {
        let action = match self.value.as_deref() {
            Some("stop") => ConsentAction::OptOut,
            Some("resume") => ConsentAction::OptIn,
            _ => {
                let raw = serde_json::to_vec(&self).unwrap_or_default();
                return unknown("user_preferences", RawBody::new(raw));
            }
        };
        let from = sender(self.wa_id.as_deref(), self.user_id.as_deref(), contacts);
        // Meta gives no event id; who, what and when identify the signal across retries.
        let id = from.key().map(|who| {
            format!(
                "{who}:{}:{}",
                self.value.as_deref().unwrap_or_default(),
                self.timestamp.unwrap_or(0)
            )
        });
        InboundEvent::Consent(ConsentSignal {
            channel: CHANNEL,
            id,
            from,
            action,
            scope: self.category,
            detail: self.detail,
            timestamp: self.timestamp,
        })
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
        let good = signature_header("s", body);
        assert_eq!(
            WebhookVerifier::default().verify(&post(body, Some(good.clone()))),
            Err(WebhookError::NotConfigured)
        );
        let v = WebhookVerifier::new("s");
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
        let small = WebhookVerifier::new("s").max_body_bytes(10);
        assert!(matches!(
            small.verify(&post(body, Some(good))),
            Err(WebhookError::BodyTooLarge { limit: 10, .. })
        ));
    }

    #[test]
    fn handshake() {
        let v = WebhookVerifier::new("s").verify_token("tok-4711");
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
            WebhookVerifier::new("s")
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
