//! Inbound messages and what they contain.

use serde::Deserialize;

use crate::error::RawBody;
use crate::model::message::Location;
use crate::whatsapp::messages::Contact as ContactCard;

use super::*;
use crate::model::address::{MaskedText, Redacted, mask};

/// An inbound message. Its content is typed for every documented type; anything else, or
/// a message whose shape does not match, is [`Received::Unknown`] with the raw JSON.
/// `Debug` masks the sender's number and shows no text the person wrote.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct Message {
    /// The sender's WhatsApp id (phone digits); absent for username users.
    pub from: Option<String>,
    /// The sender's business-scoped user id.
    pub from_user_id: Option<String>,
    /// The sender's parent business-scoped user id (`US.ENT.…`), shared across a business
    /// portfolio's child accounts.
    pub from_parent_user_id: Option<String>,
    /// The group the message was sent in; `None` for a 1:1 chat.
    pub group_id: Option<String>,
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

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("from", &self.from.as_deref().map(mask))
            .field("from_user_id", &self.from_user_id)
            .field("group_id", &self.group_id)
            .field("id", &self.id)
            .field("timestamp", &self.timestamp)
            .field("kind", &self.kind)
            .field("context", &self.context)
            .field("errors", &self.errors)
            .field("content", &self.content)
            .field("raw", &self.raw)
            .finish_non_exhaustive()
    }
}

impl Message {
    /// A message from its raw JSON; one that does not fit the typed model is kept whole.
    pub(super) fn parse(json: &str) -> Self {
        match serde_json::from_str::<MessageFields>(json) {
            Ok(fields) => Self::from_fields(fields, || Some(json)),
            Err(_) => Self {
                from: None,
                from_user_id: None,
                from_parent_user_id: None,
                group_id: None,
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
    pub(super) fn from_fields<'a>(f: MessageFields, raw: impl FnOnce() -> Option<&'a str>) -> Self {
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
            from_parent_user_id: f.from_parent_user_id,
            group_id: f.group_id,
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
pub(super) struct MessageFields {
    #[serde(default)]
    from: Option<String>,
    #[serde(default)]
    from_user_id: Option<String>,
    #[serde(default)]
    from_parent_user_id: Option<String>,
    #[serde(default, deserialize_with = "crate::http::loose::opt_string")]
    group_id: Option<String>,
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
pub(super) struct TextBody {
    body: String,
}

/// What an inbound message contains. `Debug` names the kind of content and shows no text,
/// contact card or location the person sent.
#[derive(Clone, PartialEq)]
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

impl fmt::Debug for Received {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.debug_tuple("Text").field(&Redacted(text)).finish(),
            Self::Image(m) | Self::Video(m) | Self::Audio(m) | Self::Document(m) | Self::Sticker(m) => f
                .debug_struct("Media")
                .field("id", &m.id)
                .field("mime_type", &m.mime_type)
                .finish_non_exhaustive(),
            Self::Location(_) => f.write_str("Location"),
            Self::Contacts(cards) => write!(f, "Contacts([{} cards])", cards.len()),
            Self::Interactive(_) => f.write_str("Interactive"),
            Self::Button(_) => f.write_str("Button"),
            Self::Reaction(r) => f.debug_tuple("Reaction").field(r).finish(),
            Self::Order(_) => f.write_str("Order"),
            Self::System(_) => f.write_str("System"),
            Self::RequestWelcome => f.write_str("RequestWelcome"),
            Self::Unsupported => f.write_str("Unsupported"),
            Self::Unknown => f.write_str("Unknown"),
        }
    }
}

/// An inbound media file; download it with [`Client::media_info`](crate::whatsapp::Client::media_info)
/// and [`Client::download_media`](crate::whatsapp::Client::download_media).
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
pub(super) struct InteractiveFields {
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

/// A system message. `Debug` masks the numbers (its text names the old and new one).
#[derive(Clone, PartialEq, Eq, Deserialize)]
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

impl fmt::Debug for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("System")
            .field("body", &self.body.as_deref().map(MaskedText))
            .field("kind", &self.kind)
            .field("wa_id", &self.wa_id.as_deref().map(mask))
            .field("user_id", &self.user_id)
            .finish()
    }
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
    /// The catalog product the person asked about ("Message business" on a product).
    #[serde(default)]
    pub referred_product: Option<ReferredProduct>,
}

/// A catalog product a message refers to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct ReferredProduct {
    /// The catalog.
    #[serde(default, deserialize_with = "crate::http::loose::opt_string")]
    pub catalog_id: Option<String>,
    /// The product's retailer id in that catalog.
    #[serde(default, deserialize_with = "crate::http::loose::opt_string")]
    pub product_retailer_id: Option<String>,
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
