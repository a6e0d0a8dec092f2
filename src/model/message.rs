//! The neutral message model every [`Channel`](crate::Channel) understands.
//!
//! Provider clients also have their own, complete request types
//! ([`whatsapp::MessageRequest`](crate::whatsapp::MessageRequest)); this model is the common
//! subset, so one piece of application code can send over any channel.

use std::fmt;

use url::Url;

use crate::model::ChannelKind;
use crate::model::address::Address;

/// A message to send, independent of the channel.
///
/// ```
/// use switchboard::{Address, MessageCategory, OutboundMessage};
///
/// let to = Address::phone("+16505551234")?;
/// let message = OutboundMessage::text(to, "Your order has shipped.")
///     .category(MessageCategory::Transactional);
/// # let _ = message;
/// # Ok::<(), switchboard::ValidationError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OutboundMessage {
    /// The recipient.
    pub to: Address,
    /// What to send.
    pub content: Content,
    /// Why it is sent; consent rules depend on it. Defaults to [`MessageCategory::Service`].
    pub category: MessageCategory,
    /// The provider's id of a message this one answers (shown as a quote where supported).
    pub reply_to: Option<String>,
    /// Which of the channel's senders to use (a second business number, a Twilio `From`);
    /// `None` uses the channel's default. Throttles key their per-sender limit on it.
    pub sender: Option<String>,
    /// An opaque string the provider echoes back in status updates, where supported
    /// (WhatsApp `biz_opaque_callback_data`): link deliveries to a campaign.
    pub tracking: Option<String>,
    /// The consent topic it belongs to (`news`), for marketing messages; `None` for
    /// everything.
    pub topic: Option<String>,
}

impl OutboundMessage {
    /// A message with this content, category [`Service`](MessageCategory::Service).
    pub fn new(to: impl Into<Address>, content: Content) -> Self {
        Self {
            to: to.into(),
            content,
            category: MessageCategory::Service,
            reply_to: None,
            sender: None,
            tracking: None,
            topic: None,
        }
    }

    /// A text message.
    pub fn text(to: impl Into<Address>, body: impl Into<String>) -> Self {
        Self::new(to, Content::Text(body.into()))
    }

    /// Sets the category.
    #[must_use]
    pub fn category(mut self, category: MessageCategory) -> Self {
        self.category = category;
        self
    }

    /// Answers (quotes) the message with this provider id.
    #[must_use]
    pub fn reply_to(mut self, message_id: impl Into<String>) -> Self {
        self.reply_to = Some(message_id.into());
        self
    }

    /// Sends from this sender instead of the channel's default.
    #[must_use]
    pub fn sender(mut self, sender: impl Into<String>) -> Self {
        self.sender = Some(sender.into());
        self
    }

    /// Files the message under a consent topic (`news`).
    #[must_use]
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Attaches a tracking string the provider echoes in status updates.
    #[must_use]
    pub fn tracking(mut self, tracking: impl Into<String>) -> Self {
        self.tracking = Some(tracking.into());
        self
    }
}

/// Why a message is sent. Marketing needs the recipient's opt-in; the others are part of a
/// relationship the recipient started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum MessageCategory {
    /// Answering the recipient in a conversation they started.
    #[default]
    Service,
    /// Something the recipient needs: a one-time code, an order or delivery update.
    Transactional,
    /// Promotion, newsletters, offers.
    Marketing,
}

impl MessageCategory {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Transactional => "transactional",
            Self::Marketing => "marketing",
        }
    }
}

impl fmt::Display for MessageCategory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a message contains.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Content {
    /// Plain text.
    Text(String),
    /// An image, video, audio clip, document or sticker.
    Media(Media),
    /// A location pin.
    Location(Location),
    /// Text with reply buttons; channels without buttons render them as numbered text.
    Buttons(Buttons),
    /// A provider-approved template (WhatsApp templates, Twilio Content templates).
    Template(Template),
    /// A reaction to an earlier message.
    Reaction(Reaction),
}

impl Content {
    /// A short name of the content type (`text`, `media`…), for errors and logs.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Media(_) => "media",
            Self::Location(_) => "location",
            Self::Buttons(_) => "buttons",
            Self::Template(_) => "template",
            Self::Reaction(_) => "reaction",
        }
    }
}

/// A media attachment.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Media {
    /// What kind of media.
    pub kind: MediaKind,
    /// Where it is.
    pub source: MediaSource,
    /// Caption shown with it, where the channel supports one.
    pub caption: Option<String>,
    /// File name shown for documents.
    pub filename: Option<String>,
}

impl Media {
    /// Media of this kind from this source.
    pub fn new(kind: MediaKind, source: MediaSource) -> Self {
        Self {
            kind,
            source,
            caption: None,
            filename: None,
        }
    }

    /// An image.
    pub fn image(source: MediaSource) -> Self {
        Self::new(MediaKind::Image, source)
    }

    /// A video.
    pub fn video(source: MediaSource) -> Self {
        Self::new(MediaKind::Video, source)
    }

    /// An audio clip or voice note.
    pub fn audio(source: MediaSource) -> Self {
        Self::new(MediaKind::Audio, source)
    }

    /// A document.
    pub fn document(source: MediaSource) -> Self {
        Self::new(MediaKind::Document, source)
    }

    /// A sticker.
    pub fn sticker(source: MediaSource) -> Self {
        Self::new(MediaKind::Sticker, source)
    }

    /// Sets the caption.
    #[must_use]
    pub fn caption(mut self, caption: impl Into<String>) -> Self {
        self.caption = Some(caption.into());
        self
    }

    /// Sets the file name (documents).
    #[must_use]
    pub fn filename(mut self, filename: impl Into<String>) -> Self {
        self.filename = Some(filename.into());
        self
    }
}

/// Kinds of media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MediaKind {
    /// A picture.
    Image,
    /// A video.
    Video,
    /// An audio clip or voice note.
    Audio,
    /// A document (PDF, office files…).
    Document,
    /// A sticker.
    Sticker,
}

impl MediaKind {
    /// The lower-case name, as WhatsApp uses it for the message type.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Image => "image",
            Self::Video => "video",
            Self::Audio => "audio",
            Self::Document => "document",
            Self::Sticker => "sticker",
        }
    }
}

impl fmt::Display for MediaKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a media file is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaSource {
    /// A public HTTPS URL the provider fetches.
    Url(Url),
    /// An id of media already uploaded to the provider.
    ProviderId(String),
}

/// A location pin. Serializes as WhatsApp's `location` object.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Location {
    /// Latitude in degrees.
    pub latitude: f64,
    /// Longitude in degrees.
    pub longitude: f64,
    /// Name of the place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Street address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// A link to the place, where an inbound pin carries one (WhatsApp `location.url`).
    /// Providers take no link on outbound pins, so it is never sent.
    #[serde(default, skip_serializing)]
    pub url: Option<String>,
}

impl Location {
    /// The name, the address and an OpenStreetMap link, one per line: the pin as text, for
    /// channels without locations.
    ///
    /// ```
    /// let pin = switchboard::Location::new(52.52, 13.405).name("Shop");
    /// assert_eq!(pin.to_text(), "Shop\nhttps://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=17/52.52/13.405");
    /// ```
    pub fn to_text(&self) -> String {
        let mut lines: Vec<String> = [&self.name, &self.address]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        lines.push(format!(
            "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
            lat = self.latitude,
            lon = self.longitude
        ));
        lines.join("\n")
    }

    /// A pin at these coordinates.
    pub fn new(latitude: f64, longitude: f64) -> Self {
        Self {
            latitude,
            longitude,
            name: None,
            address: None,
            url: None,
        }
    }

    /// Sets the place name.
    #[must_use]
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the street address.
    #[must_use]
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = Some(address.into());
        self
    }
}

/// Text with reply buttons.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Buttons {
    /// The question or prompt.
    pub text: String,
    /// The choices, in order.
    pub buttons: Vec<Button>,
    /// A small line under the text, where supported.
    pub footer: Option<String>,
}

impl Buttons {
    /// A prompt with these buttons.
    pub fn new(text: impl Into<String>, buttons: impl IntoIterator<Item = Button>) -> Self {
        Self {
            text: text.into(),
            buttons: buttons.into_iter().collect(),
            footer: None,
        }
    }

    /// Sets the footer.
    #[must_use]
    pub fn footer(mut self, footer: impl Into<String>) -> Self {
        self.footer = Some(footer.into());
        self
    }

    /// The buttons as numbered text ("1. Yes\n2. No"), for channels without buttons.
    pub fn to_numbered_text(&self) -> String {
        let mut out = self.text.clone();
        for (i, button) in self.buttons.iter().enumerate() {
            out.push_str(if i == 0 { "\n\n" } else { "\n" });
            out.push_str(&format!("{}. {}", i + 1, button.title));
        }
        if let Some(footer) = &self.footer {
            out.push_str("\n\n");
            out.push_str(footer);
        }
        out
    }
}

/// One reply button: the id comes back when it is tapped, the title is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Button {
    /// Id returned when tapped.
    pub id: String,
    /// Label shown.
    pub title: String,
}

impl Button {
    /// A button.
    pub fn new(id: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            title: title.into(),
        }
    }
}

/// A provider-approved template with its variables.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Template {
    /// The template's name.
    pub name: String,
    /// Its language code (`en_US`, `de`).
    pub language: String,
    /// Body variables, in order; named if the template uses named parameters.
    pub params: Vec<TemplateParam>,
}

impl Template {
    /// A template without variables.
    pub fn new(name: impl Into<String>, language: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            language: language.into(),
            params: Vec::new(),
        }
    }

    /// Adds a positional variable (`{{1}}`, `{{2}}`…).
    #[must_use]
    pub fn param(mut self, value: impl Into<String>) -> Self {
        self.params.push(TemplateParam {
            name: None,
            value: value.into(),
        });
        self
    }

    /// Adds a named variable (`{{first_name}}`).
    #[must_use]
    pub fn named_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.params.push(TemplateParam {
            name: Some(name.into()),
            value: value.into(),
        });
        self
    }
}

/// One template variable.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TemplateParam {
    /// The parameter name for named templates; `None` for positional ones.
    pub name: Option<String>,
    /// The value.
    pub value: String,
}

/// A reaction to a message; an empty emoji removes an earlier reaction. Serializes as
/// WhatsApp's `reaction` object.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct Reaction {
    /// The provider id of the message reacted to.
    pub message_id: String,
    /// The emoji, or empty to remove.
    pub emoji: String,
}

impl Reaction {
    /// A reaction with this emoji.
    pub fn new(message_id: impl Into<String>, emoji: impl Into<String>) -> Self {
        Self {
            message_id: message_id.into(),
            emoji: emoji.into(),
        }
    }
}

/// What a provider said when it accepted a message. Acceptance is not delivery: delivery
/// is reported later through status webhooks.
///
/// `Debug` masks [`provider_recipient`](Self::provider_recipient), which can be a phone number.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SendReceipt {
    /// The channel that accepted the message.
    pub channel: ChannelKind,
    /// The provider's id of the message (a WhatsApp `wamid`, a Twilio `SM…` sid).
    pub message_id: String,
    /// The provider's id of the recipient where it reports one (WhatsApp `wa_id` or
    /// business-scoped user id).
    pub provider_recipient: Option<String>,
    /// How many SMS segments the text takes (each one is billed), for SMS channels.
    pub segments: Option<usize>,
}

impl SendReceipt {
    /// A receipt for a message the provider accepted under this id.
    pub fn new(channel: ChannelKind, message_id: impl Into<String>) -> Self {
        Self {
            channel,
            message_id: message_id.into(),
            provider_recipient: None,
            segments: None,
        }
    }

    /// Sets the segment count.
    #[must_use]
    pub fn with_segments(mut self, segments: usize) -> Self {
        self.segments = Some(segments);
        self
    }

    /// Sets the provider's recipient id.
    #[must_use]
    pub fn with_provider_recipient(mut self, id: impl Into<String>) -> Self {
        self.provider_recipient = Some(id.into());
        self
    }
}

impl fmt::Debug for SendReceipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendReceipt")
            .field("channel", &self.channel)
            .field("message_id", &self.message_id)
            .field(
                "provider_recipient",
                &self
                    .provider_recipient
                    .as_deref()
                    .map(crate::model::address::mask),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipt_debug_masks_the_recipient() {
        let r = SendReceipt::new(ChannelKind::WhatsApp, "wamid.1").with_provider_recipient("16505551234");
        assert!(!format!("{r:?}").contains("6505551234"));
    }

    #[test]
    fn buttons_degrade_to_numbered_text() {
        let b = Buttons::new(
            "Still interested?",
            [Button::new("y", "Yes"), Button::new("n", "No")],
        )
        .footer("Reply with a number");
        assert_eq!(
            b.to_numbered_text(),
            "Still interested?\n\n1. Yes\n2. No\n\nReply with a number"
        );
    }
}
