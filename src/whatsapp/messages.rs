//! Send-message requests (`POST /{phone-number-id}/messages`) and their responses.

use std::fmt;

use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use super::interactive::Interactive;
use super::templates::Template;
use crate::error::{Problem, ValidationError};
use crate::http::validate::{check_count, check_max_chars, check_text};
use crate::model::address::{Address, PhoneNumber, UserId, mask};
use crate::model::message::{Location, Media, MediaKind, MediaSource, Reaction};

/// Longest text body.
pub const MAX_TEXT_CHARS: usize = 4096;
/// Longest media caption.
pub const MAX_CAPTION_CHARS: usize = 1024;
/// Longest `biz_opaque_callback_data`.
pub const MAX_CALLBACK_DATA_CHARS: usize = 512;

/// Who receives a message: a phone number (`to`) or a business-scoped user id
/// (`recipient`), for people whose phone number the business cannot see.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Recipient {
    /// A phone number in E.164.
    Phone(PhoneNumber),
    /// A business-scoped user id (`US.13491208655302741918`) or a parent BSUID.
    UserId(UserId),
}

impl From<PhoneNumber> for Recipient {
    fn from(p: PhoneNumber) -> Self {
        Self::Phone(p)
    }
}

impl From<UserId> for Recipient {
    fn from(u: UserId) -> Self {
        Self::UserId(u)
    }
}

impl From<Address> for Recipient {
    fn from(a: Address) -> Self {
        match a {
            Address::Phone(p) => Self::Phone(p),
            Address::User(u) => Self::UserId(u),
        }
    }
}

/// A message to send with the WhatsApp Cloud API: every message type Meta documents.
///
/// ```
/// use switchboard::PhoneNumber;
/// use switchboard::whatsapp::{MessageRequest, Text};
///
/// let to: PhoneNumber = "+16505551234".parse()?;
/// let request = MessageRequest::new(to, Text::new("Does it come in another color?").preview_url(true))
///     .reply_to("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
/// request.validate()?;
/// # Ok::<(), switchboard::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRequest {
    recipient: Recipient,
    content: MessageContent,
    reply_to: Option<String>,
    biz_opaque_callback_data: Option<String>,
}

impl MessageRequest {
    /// A message with this content.
    pub fn new(to: impl Into<Recipient>, content: impl Into<MessageContent>) -> Self {
        Self {
            recipient: to.into(),
            content: content.into(),
            reply_to: None,
            biz_opaque_callback_data: None,
        }
    }

    /// A plain text message.
    pub fn text(to: impl Into<Recipient>, body: impl Into<String>) -> Self {
        Self::new(to, Text::new(body))
    }

    /// Quotes the message with this id (a contextual reply). Not allowed for reactions.
    #[must_use]
    pub fn reply_to(mut self, message_id: impl Into<String>) -> Self {
        self.reply_to = Some(message_id.into());
        self
    }

    /// An opaque string (up to 512 characters) Meta echoes back in status webhooks.
    #[must_use]
    pub fn biz_opaque_callback_data(mut self, data: impl Into<String>) -> Self {
        self.biz_opaque_callback_data = Some(data.into());
        self
    }

    /// The recipient.
    pub fn recipient(&self) -> &Recipient {
        &self.recipient
    }

    /// The content.
    pub fn content(&self) -> &MessageContent {
        &self.content
    }

    /// Checks every documented limit; the client calls it before sending.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let Some(id) = &self.reply_to {
            if matches!(self.content, MessageContent::Reaction(_)) {
                return Err(ValidationError::new(
                    "context",
                    Problem::NotAllowed("on a reaction".into()),
                ));
            }
            check_text("context.message_id", id, usize::MAX)?;
        }
        if let Some(data) = &self.biz_opaque_callback_data {
            check_max_chars("biz_opaque_callback_data", data, MAX_CALLBACK_DATA_CHARS)?;
        }
        self.content.validate()
    }
}

impl Serialize for MessageRequest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Context<'a> {
            message_id: &'a str,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("messaging_product", "whatsapp")?;
        map.serialize_entry("recipient_type", "individual")?;
        match &self.recipient {
            Recipient::Phone(p) => map.serialize_entry("to", p.as_str())?,
            Recipient::UserId(u) => map.serialize_entry("recipient", u.as_str())?,
        }
        if let Some(message_id) = &self.reply_to {
            map.serialize_entry("context", &Context { message_id })?;
        }
        if let Some(data) = &self.biz_opaque_callback_data {
            map.serialize_entry("biz_opaque_callback_data", data)?;
        }
        let type_name = self.content.type_name();
        map.serialize_entry("type", type_name)?;
        match &self.content {
            MessageContent::Text(t) => map.serialize_entry(type_name, t)?,
            MessageContent::Media(m) => map.serialize_entry(type_name, &MediaObject::from_media(m))?,
            MessageContent::Location(l) => map.serialize_entry(type_name, l)?,
            MessageContent::Contacts(c) => map.serialize_entry(type_name, c)?,
            MessageContent::Interactive(i) => map.serialize_entry(type_name, i)?,
            MessageContent::Template(t) => map.serialize_entry(type_name, t)?,
            MessageContent::Reaction(r) => map.serialize_entry(type_name, r)?,
        }
        map.end()
    }
}

/// The content of a [`MessageRequest`]; one variant per WhatsApp message type.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum MessageContent {
    /// `text`.
    Text(Text),
    /// `image`, `video`, `audio`, `document` or `sticker`, by uploaded media id or by link.
    Media(Media),
    /// `location`.
    Location(Location),
    /// `contacts`: one or more contact cards.
    Contacts(Vec<Contact>),
    /// `interactive`: reply buttons, lists, call-to-action URLs, flows.
    Interactive(Interactive),
    /// `template`.
    Template(Template),
    /// `reaction` (an empty emoji removes one).
    Reaction(Reaction),
}

impl MessageContent {
    /// The wire `type` of this content.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Media(m) => m.kind.as_str(),
            Self::Location(_) => "location",
            Self::Contacts(_) => "contacts",
            Self::Interactive(_) => "interactive",
            Self::Template(_) => "template",
            Self::Reaction(_) => "reaction",
        }
    }

    fn validate(&self) -> Result<(), ValidationError> {
        match self {
            Self::Text(t) => check_text("text.body", &t.body, MAX_TEXT_CHARS),
            Self::Media(m) => validate_media(m),
            Self::Location(l) => validate_location("location", l),
            Self::Contacts(c) => {
                check_count("contacts", c.len(), usize::MAX)?;
                c.iter().enumerate().try_for_each(|(i, c)| {
                    check_text(
                        &format!("contacts[{i}].name.formatted_name"),
                        &c.name.formatted_name,
                        1024,
                    )
                })
            }
            Self::Interactive(i) => i.validate(),
            Self::Template(t) => t.validate(),
            Self::Reaction(r) => check_text("reaction.message_id", &r.message_id, usize::MAX),
        }
    }
}

impl From<Text> for MessageContent {
    fn from(t: Text) -> Self {
        Self::Text(t)
    }
}

impl From<Media> for MessageContent {
    fn from(m: Media) -> Self {
        Self::Media(m)
    }
}

impl From<Location> for MessageContent {
    fn from(l: Location) -> Self {
        Self::Location(l)
    }
}

impl From<Vec<Contact>> for MessageContent {
    fn from(c: Vec<Contact>) -> Self {
        Self::Contacts(c)
    }
}

impl From<Interactive> for MessageContent {
    fn from(i: Interactive) -> Self {
        Self::Interactive(i)
    }
}

impl From<Template> for MessageContent {
    fn from(t: Template) -> Self {
        Self::Template(t)
    }
}

impl From<Reaction> for MessageContent {
    fn from(r: Reaction) -> Self {
        Self::Reaction(r)
    }
}

/// A text message (`body` up to 4,096 characters).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    preview_url: bool,
    body: String,
}

impl Text {
    /// Text without a link preview.
    pub fn new(body: impl Into<String>) -> Self {
        Self {
            preview_url: false,
            body: body.into(),
        }
    }

    /// Renders a preview of the first http(s) URL in the body.
    #[must_use]
    pub fn preview_url(mut self, preview: bool) -> Self {
        self.preview_url = preview;
        self
    }

    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }
}

/// Checks a media message: a caption only on images, videos and documents (up to 1,024
/// characters), a file name only on documents.
fn validate_media(media: &Media) -> Result<(), ValidationError> {
    let kind = media.kind.as_str();
    validate_source(kind, &media.source)?;
    if let Some(caption) = &media.caption {
        if matches!(media.kind, MediaKind::Audio | MediaKind::Sticker) {
            return Err(ValidationError::new(
                format!("{kind}.caption"),
                Problem::NotAllowed("on audio or stickers".into()),
            ));
        }
        check_max_chars(&format!("{kind}.caption"), caption, MAX_CAPTION_CHARS)?;
    }
    if media.filename.is_some() && media.kind != MediaKind::Document {
        return Err(ValidationError::new(
            format!("{kind}.filename"),
            Problem::NotAllowed("except on documents".into()),
        ));
    }
    Ok(())
}

/// The wire form of a media object: `{"id"| "link", "caption"?, "filename"?}`.
#[derive(Serialize)]
pub(crate) struct MediaObject<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    link: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    caption: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    filename: Option<&'a str>,
}

impl<'a> MediaObject<'a> {
    pub(crate) fn new(source: &'a MediaSource) -> Self {
        let (id, link) = match source {
            MediaSource::ProviderId(id) => (Some(id.as_str()), None),
            MediaSource::Url(url) => (None, Some(url.as_str())),
        };
        Self {
            id,
            link,
            caption: None,
            filename: None,
        }
    }

    pub(crate) fn with_filename(mut self, filename: Option<&'a str>) -> Self {
        self.filename = filename;
        self
    }

    fn from_media(m: &'a Media) -> Self {
        Self {
            caption: m.caption.as_deref(),
            ..Self::new(&m.source).with_filename(m.filename.as_deref())
        }
    }
}

/// Checks a media id is non-empty and a link is http(s).
pub(crate) fn validate_source(field: &str, source: &MediaSource) -> Result<(), ValidationError> {
    match source {
        MediaSource::ProviderId(id) => check_text(&format!("{field}.id"), id, usize::MAX),
        MediaSource::Url(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        MediaSource::Url(_) => Err(ValidationError::new(
            format!("{field}.link"),
            Problem::Invalid("must be an http(s) URL".into()),
        )),
    }
}

pub(crate) fn validate_location(field: &str, l: &Location) -> Result<(), ValidationError> {
    if !(l.latitude.is_finite() && (-90.0..=90.0).contains(&l.latitude)) {
        return Err(ValidationError::new(
            format!("{field}.latitude"),
            Problem::Invalid("must be between -90 and 90".into()),
        ));
    }
    if !(l.longitude.is_finite() && (-180.0..=180.0).contains(&l.longitude)) {
        return Err(ValidationError::new(
            format!("{field}.longitude"),
            Problem::Invalid("must be between -180 and 180".into()),
        ));
    }
    Ok(())
}

/// A contact card in a `contacts` message. Build it with `..Default::default()` for the
/// fields you do not set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    /// The name; `formatted_name` is required.
    pub name: ContactName,
    /// Phone numbers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<ContactPhone>,
    /// Email addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub emails: Vec<ContactEmail>,
    /// Postal addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<ContactAddress>,
    /// Organisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<ContactOrg>,
    /// Web sites.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub urls: Vec<ContactUrl>,
    /// Birthday, `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<String>,
}

/// A contact's name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactName {
    /// The full name as shown (required).
    pub formatted_name: String,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Middle name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub middle_name: Option<String>,
    /// Prefix (`Dr.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Suffix (`Jr.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
}

/// A contact's phone number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPhone {
    /// The number as shown.
    pub phone: String,
    /// `HOME`, `WORK`, `CELL`…
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The WhatsApp id, which adds a "Message" button to the card.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
}

/// A contact's email address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEmail {
    /// The address.
    pub email: String,
    /// `HOME` or `WORK`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A contact's postal address.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAddress {
    /// Street.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// City.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// State.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// ZIP code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// Country name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// ISO country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country_code: Option<String>,
    /// `HOME` or `WORK`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// A contact's organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactOrg {
    /// Company.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<String>,
    /// Title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// A contact's web site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactUrl {
    /// The URL.
    pub url: String,
    /// `HOME` or `WORK`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Marks a received message as read, optionally showing a typing indicator until you
/// answer (at most 25 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkRead {
    message_id: String,
    typing_indicator: bool,
}

impl MarkRead {
    /// Marks this message (and earlier ones) as read.
    pub fn new(message_id: impl Into<String>) -> Self {
        Self {
            message_id: message_id.into(),
            typing_indicator: false,
        }
    }

    /// Also shows "typing…". Only do it if you will answer.
    #[must_use]
    pub fn typing_indicator(mut self, show: bool) -> Self {
        self.typing_indicator = show;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ValidationError> {
        check_text("message_id", &self.message_id, usize::MAX)
    }
}

impl Serialize for MarkRead {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Typing {
            #[serde(rename = "type")]
            kind: &'static str,
        }
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("messaging_product", "whatsapp")?;
        map.serialize_entry("status", "read")?;
        map.serialize_entry("message_id", &self.message_id)?;
        if self.typing_indicator {
            map.serialize_entry("typing_indicator", &Typing { kind: "text" })?;
        }
        map.end()
    }
}

/// Meta's answer to a send: the message was accepted (not yet delivered).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SendResponse {
    /// Always `whatsapp`.
    #[serde(default)]
    pub messaging_product: Option<String>,
    /// The recipients as Meta resolved them.
    #[serde(default)]
    pub contacts: Vec<SentContact>,
    /// The accepted messages.
    #[serde(default)]
    pub messages: Vec<SentMessage>,
}

impl SendResponse {
    /// The id (`wamid`) of the first accepted message.
    pub fn message_id(&self) -> Option<&str> {
        self.messages.first().map(|m| m.id.as_str())
    }
}

/// A recipient as Meta resolved it. `Debug` masks the phone numbers.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SentContact {
    /// What you sent as the recipient.
    #[serde(default)]
    pub input: Option<String>,
    /// The WhatsApp id (phone digits); absent when you sent to a business-scoped user id.
    #[serde(default)]
    pub wa_id: Option<String>,
    /// The business-scoped user id, when you sent to one.
    #[serde(default)]
    pub user_id: Option<String>,
}

impl fmt::Debug for SentContact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentContact")
            .field("input", &self.input.as_deref().map(mask))
            .field("wa_id", &self.wa_id.as_deref().map(mask))
            .field("user_id", &self.user_id)
            .finish()
    }
}

/// An accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SentMessage {
    /// The message id (`wamid.…`), which status webhooks refer to.
    pub id: String,
    /// Present for templates under template pacing.
    #[serde(default)]
    pub message_status: Option<PacingStatus>,
}

/// Template pacing state of an accepted message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
#[non_exhaustive]
pub enum PacingStatus {
    /// Sent normally.
    Accepted,
    /// Held while Meta assesses the template's quality.
    HeldForQualityAssessment,
    /// Pacing paused the template.
    Paused,
    /// A value this version does not know, kept as sent.
    Unknown(String),
}

impl From<String> for PacingStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "accepted" => Self::Accepted,
            "held_for_quality_assessment" => Self::HeldForQualityAssessment,
            "paused" => Self::Paused,
            _ => Self::Unknown(s),
        }
    }
}

/// Meta's `{"success": true}` answer.
#[derive(Deserialize)]
pub(crate) struct Success {
    #[serde(default)]
    pub(crate) success: bool,
}
