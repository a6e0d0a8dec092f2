//! The neutral shape of everything a channel receives: [`InboundEvent`].

use std::borrow::Cow;
use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::RawBody;
use crate::model::ChannelKind;
use crate::model::address::{MaskedText, PhoneNumber, Redacted, UserId, mask};
use crate::model::message::{Location, MediaKind};

/// Something a provider told us: a message, a delivery status, a reaction, a consent
/// signal, or content this version does not model (kept raw, never dropped).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum InboundEvent {
    /// A person sent a message.
    Message(InboundMessage),
    /// A message we sent changed state (sent, delivered, read, failed).
    Status(StatusUpdate),
    /// A person reacted to a message (or removed a reaction).
    Reaction(InboundReaction),
    /// A person opted out of or back into messages through the platform itself.
    Consent(ConsentSignal),
    /// Content this version does not model, with its raw JSON.
    Unknown(UnknownEvent),
}

impl InboundEvent {
    /// The channel the event came from.
    pub fn channel(&self) -> &ChannelKind {
        match self {
            Self::Message(m) => &m.channel,
            Self::Status(s) => &s.channel,
            Self::Reaction(r) => &r.channel,
            Self::Consent(c) => &c.channel,
            Self::Unknown(u) => &u.channel,
        }
    }

    /// When the provider says the event happened, in Unix seconds, if it said.
    pub fn timestamp(&self) -> Option<i64> {
        match self {
            Self::Message(m) => m.timestamp,
            Self::Status(s) => s.timestamp,
            Self::Reaction(r) => r.timestamp,
            Self::Consent(c) => c.timestamp,
            Self::Unknown(_) => None,
        }
    }

    /// Clamps the provider's timestamp with [`clamp_timestamp`]. The webhook verifiers do
    /// this on receipt; the consent and window layers clamp again for events built elsewhere.
    pub fn clamp_timestamp(&mut self, received: SystemTime) {
        let timestamp = match self {
            Self::Message(m) => &mut m.timestamp,
            Self::Status(s) => &mut s.timestamp,
            Self::Reaction(r) => &mut r.timestamp,
            Self::Consent(c) => &mut c.timestamp,
            Self::Unknown(_) => return,
        };
        if let Some(seconds) = timestamp {
            *seconds = clamp_timestamp(*seconds, received);
        }
    }

    /// A key identifying this event across provider retries, for a
    /// [`Deduplicator`](crate::webhook::Deduplicator): the message id for messages and
    /// reactions, message id plus state for statuses. `None` for unknown content.
    pub fn dedup_key(&self) -> Option<Cow<'_, str>> {
        let (channel, id, suffix) = match self {
            Self::Message(m) => (&m.channel, m.id.as_str(), ""),
            Self::Reaction(r) => (&r.channel, r.id.as_str(), ""),
            Self::Status(s) => (&s.channel, s.message_id.as_str(), s.status.as_str()),
            Self::Consent(c) => (&c.channel, c.id.as_deref()?, ""),
            Self::Unknown(_) => return None,
        };
        if id.is_empty() {
            return None;
        }
        Some(Cow::Owned(format!("{channel}:{id}:{suffix}")))
    }
}

/// A provider's timestamp (Unix seconds) as it may order records: never before the epoch
/// and never after `received`.
///
/// Timestamps decide which consent record is the latest and when a window closes, so one
/// dated in the year 2286 (a provider bug, a bad clock, a replayed test payload) would
/// otherwise win over everything the person says later. Nothing happened after we received
/// it, so a provider clock running ahead of ours only moves an event to the moment of
/// receipt; allowing a skew on top would let the event outrank what the person says in the
/// next seconds.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use switchboard::model::clamp_timestamp;
///
/// let received = UNIX_EPOCH + Duration::from_secs(1_750_000_000);
/// assert_eq!(clamp_timestamp(1_749_999_990, received), 1_749_999_990);
/// assert_eq!(clamp_timestamp(9_999_999_999, received), 1_750_000_000);
/// assert_eq!(clamp_timestamp(i64::MIN, received), 0);
/// ```
pub fn clamp_timestamp(seconds: i64, received: SystemTime) -> i64 {
    let latest = received.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
    seconds.clamp(0, i64::try_from(latest).unwrap_or(i64::MAX))
}

/// A provider's timestamp (Unix seconds) in milliseconds, clamped as [`clamp_timestamp`]
/// does but to the millisecond of receipt, for records ordered against ones made locally
/// (a keyword STOP is recorded at the millisecond it was processed).
pub fn clamp_timestamp_ms(seconds: i64, received: SystemTime) -> i64 {
    let latest = i64::try_from(
        received
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis(),
    )
    .unwrap_or(i64::MAX);
    seconds.saturating_mul(1000).clamp(0, latest)
}

/// Who sent something. Platforms may withhold the phone number (WhatsApp usernames, X),
/// so either part can be absent. `Debug` masks the number.
#[derive(Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sender {
    /// The phone number, when the platform shares it.
    pub phone: Option<PhoneNumber>,
    /// The platform's user id (WhatsApp business-scoped user id, X user id).
    pub user_id: Option<UserId>,
    /// The display name the person chose.
    pub name: Option<String>,
    /// The platform username (`@name`), where there is one.
    pub username: Option<String>,
}

impl Sender {
    /// A sender known by a platform user id.
    pub fn user(id: UserId) -> Self {
        Self {
            user_id: Some(id),
            ..Self::default()
        }
    }

    /// A sender known by phone number.
    pub fn phone(number: PhoneNumber) -> Self {
        Self {
            phone: Some(number),
            ..Self::default()
        }
    }

    /// Sets the display name.
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The phone number or user id, whichever is known (phone first): a stable key.
    pub fn key(&self) -> Option<&str> {
        self.phone
            .as_ref()
            .map(PhoneNumber::as_str)
            .or(self.user_id.as_ref().map(UserId::as_str))
    }
}

impl fmt::Debug for Sender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("phone", &self.phone)
            .field("user_id", &self.user_id)
            .field("name", &self.name.as_ref().map(|_| "[set]"))
            .field("username", &self.username.as_deref().map(mask))
            .finish()
    }
}

/// A message a person sent.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InboundMessage {
    /// The channel.
    pub channel: ChannelKind,
    /// The provider's message id (WhatsApp `wamid`).
    pub id: String,
    /// Who sent it.
    pub from: Sender,
    /// Which of our numbers or accounts received it (WhatsApp phone number id).
    pub to: Option<String>,
    /// The group it was sent in (WhatsApp groups); `None` for a 1:1 conversation. Answer a
    /// group message in the group, not to the person alone.
    pub group: Option<String>,
    /// When it was sent, in Unix seconds.
    pub timestamp: Option<i64>,
    /// What it contains.
    pub content: InboundContent,
    /// The id of our message it answers (the quoted message, or the message whose button
    /// was tapped): links replies to a broadcast.
    pub reply_to: Option<String>,
    /// Whether it was forwarded.
    pub forwarded: bool,
    /// For one part of a long SMS: which part of which message. The network delivers the
    /// parts as separate messages; join them by [`MessagePart::reference`].
    pub part: Option<MessagePart>,
}

/// Where an inbound message sits in a long SMS the network split into parts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct MessagePart {
    /// The reference all parts of the message share (Vonage `concat-ref`).
    pub reference: String,
    /// This part's number, from 1 (Vonage `concat-part`).
    pub index: u32,
    /// How many parts the message has (Vonage `concat-total`).
    pub total: u32,
}

impl MessagePart {
    /// Part `index` (from 1) of `total`, of the message with this reference.
    pub fn new(reference: impl Into<String>, index: u32, total: u32) -> Self {
        Self {
            reference: reference.into(),
            index,
            total,
        }
    }
}

/// What an inbound message contains. `Debug` shows the length of a text and a caption, not
/// what the person wrote.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub enum InboundContent {
    /// Text.
    Text(String),
    /// A media file to fetch from the provider.
    Media(InboundMedia),
    /// A location pin.
    Location(Location),
    /// A tapped reply button, list row or template quick-reply button.
    ButtonReply {
        /// The id or payload we set on the button.
        id: String,
        /// The title shown.
        title: String,
    },
    /// A binary SMS (WAP push, SIM or app data): the decoded user data and its user data
    /// header. `Debug` shows only their lengths.
    Binary {
        /// The payload (Vonage `data`, sent as hex).
        data: RawBody,
        /// The user data header (Vonage `udh`, sent as hex), if any.
        udh: Option<RawBody>,
    },
    /// A provider-specific content type, typed in the provider's own model and kept here
    /// raw (WhatsApp contacts, orders, flow replies, system messages…).
    Other {
        /// The provider's type name.
        kind: String,
        /// Its JSON as received.
        raw: RawBody,
    },
}

impl fmt::Debug for InboundContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Text(text) => f.debug_tuple("Text").field(&Redacted(text)).finish(),
            Self::Media(media) => f.debug_tuple("Media").field(media).finish(),
            Self::Location(location) => f.debug_tuple("Location").field(location).finish(),
            Self::ButtonReply { id, title } => f
                .debug_struct("ButtonReply")
                .field("id", id)
                .field("title", title)
                .finish(),
            Self::Binary { data, udh } => f
                .debug_struct("Binary")
                .field("data", data)
                .field("udh", udh)
                .finish(),
            Self::Other { kind, raw } => f
                .debug_struct("Other")
                .field("kind", kind)
                .field("raw", raw)
                .finish(),
        }
    }
}

/// A media file attached to an inbound message. `Debug` shows a caption's length only.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundMedia {
    /// What kind of media.
    pub kind: MediaKind,
    /// The provider's media id (download it with the provider client).
    pub id: Option<String>,
    /// A download URL, where the provider sends one.
    pub url: Option<String>,
    /// The MIME type.
    pub mime_type: Option<String>,
    /// The caption.
    pub caption: Option<String>,
    /// The file name (documents).
    pub filename: Option<String>,
    /// SHA-256 of the file, where given.
    pub sha256: Option<String>,
    /// Whether an audio clip is a voice note.
    pub voice: bool,
}

impl fmt::Debug for InboundMedia {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InboundMedia")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("url", &self.url.as_ref().map(|_| "[set]"))
            .field("mime_type", &self.mime_type)
            .field("caption", &self.caption.as_deref().map(Redacted))
            .field("filename", &self.filename.as_deref().map(Redacted))
            .field("sha256", &self.sha256)
            .field("voice", &self.voice)
            .finish()
    }
}

/// A delivery state change of a message we sent. `Debug` masks the recipient.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct StatusUpdate {
    /// The channel.
    pub channel: ChannelKind,
    /// The id of our message (as in the [`SendReceipt`](crate::SendReceipt)).
    pub message_id: String,
    /// The new state.
    pub status: DeliveryStatus,
    /// The recipient as the provider names them (phone digits or user id). Personal data.
    pub recipient: Option<String>,
    /// The group the message went to, for a message sent to a group.
    pub group: Option<String>,
    /// When, in Unix seconds.
    pub timestamp: Option<i64>,
    /// Why it failed, for failures.
    pub errors: Vec<DeliveryError>,
    /// What it cost, where the provider reports it.
    pub pricing: Option<Pricing>,
    /// The tracking string set when sending
    /// ([`OutboundMessage::tracking`](crate::OutboundMessage::tracking)).
    pub tracking: Option<String>,
}

impl fmt::Debug for StatusUpdate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusUpdate")
            .field("channel", &self.channel)
            .field("message_id", &self.message_id)
            .field("status", &self.status)
            .field("recipient", &self.recipient.as_deref().map(mask))
            .field("group", &self.group)
            .field("timestamp", &self.timestamp)
            .field("errors", &self.errors)
            .field("pricing", &self.pricing)
            .field("tracking", &self.tracking)
            .finish()
    }
}

/// Delivery states, in the order they normally happen.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DeliveryStatus {
    /// Accepted and queued by the provider.
    Queued,
    /// Sent to the network or platform.
    Sent,
    /// Delivered to the device.
    Delivered,
    /// Read (or a voice message played).
    Read,
    /// Failed; see the errors.
    Failed,
    /// A state this version does not know, as the provider named it.
    Unknown(String),
}

impl DeliveryStatus {
    /// The lower-case name.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Read => "read",
            Self::Failed => "failed",
            Self::Unknown(s) => s,
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a message was not delivered. `Debug` masks numbers in the provider's text.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryError {
    /// The provider's code (WhatsApp 131050, Twilio 30007…).
    pub code: Option<i64>,
    /// How the code is classified.
    pub class: crate::ErrorClass,
    /// The provider's title or message.
    pub message: String,
    /// The provider's details.
    pub details: Option<String>,
}

impl fmt::Debug for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeliveryError")
            .field("code", &self.code)
            .field("class", &self.class)
            .field("message", &MaskedText(&self.message))
            .field("details", &self.details.as_deref().map(MaskedText))
            .finish()
    }
}

/// What a message cost, as the provider reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pricing {
    /// Whether it is charged.
    pub billable: Option<bool>,
    /// The pricing model (`PMP` per message, `CBP` per conversation).
    pub model: Option<String>,
    /// The category charged (`marketing`, `utility`, `authentication`, `service`…).
    pub category: Option<String>,
    /// The pricing type (`regular`, `free_customer_service`, `free_entry_point`).
    pub kind: Option<String>,
}

/// A reaction to a message.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InboundReaction {
    /// The channel.
    pub channel: ChannelKind,
    /// The id of the reaction event itself.
    pub id: String,
    /// Who reacted.
    pub from: Sender,
    /// The message reacted to.
    pub message_id: String,
    /// The emoji; `None` when the reaction was removed.
    pub emoji: Option<String>,
    /// When, in Unix seconds.
    pub timestamp: Option<i64>,
}

/// A person opted out of or back into messages through the platform (WhatsApp's
/// "stop/resume marketing messages"). Keyword opt-outs (STOP) are recognised by the consent
/// layer from ordinary messages.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConsentSignal {
    /// The channel.
    pub channel: ChannelKind,
    /// An id for the signal, where the provider gives one.
    pub id: Option<String>,
    /// Who.
    pub from: Sender,
    /// Opt-out or opt-in.
    pub action: ConsentAction,
    /// What it covers (`marketing_messages`), or `None` for everything.
    pub scope: Option<String>,
    /// The provider's description.
    pub detail: Option<String>,
    /// When, in Unix seconds.
    pub timestamp: Option<i64>,
}

/// Opting out or in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsentAction {
    /// Stop sending.
    OptOut,
    /// Sending is welcome again.
    OptIn,
}

/// Content this version does not model, kept whole.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnknownEvent {
    /// The channel.
    pub channel: ChannelKind,
    /// What the provider called it (a webhook field, a message type).
    pub kind: String,
    /// Its JSON as received.
    pub raw: RawBody,
}

impl InboundMessage {
    /// A message with the required parts; for integrators' own channels.
    pub fn new(channel: ChannelKind, id: impl Into<String>, from: Sender, content: InboundContent) -> Self {
        Self {
            channel,
            id: id.into(),
            from,
            to: None,
            group: None,
            timestamp: None,
            content,
            reply_to: None,
            forwarded: false,
            part: None,
        }
    }

    /// Sets when it was sent (Unix seconds).
    #[must_use]
    pub fn at(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Sets the message it answers.
    #[must_use]
    pub fn replying_to(mut self, id: impl Into<String>) -> Self {
        self.reply_to = Some(id.into());
        self
    }
}

impl StatusUpdate {
    /// A status with the required parts; for integrators' own channels.
    pub fn new(channel: ChannelKind, message_id: impl Into<String>, status: DeliveryStatus) -> Self {
        Self {
            channel,
            message_id: message_id.into(),
            status,
            recipient: None,
            group: None,
            timestamp: None,
            errors: Vec::new(),
            pricing: None,
            tracking: None,
        }
    }
}

impl ConsentSignal {
    /// A consent signal with the required parts; for integrators' own channels.
    pub fn new(channel: ChannelKind, from: Sender, action: ConsentAction) -> Self {
        Self {
            channel,
            id: None,
            from,
            action,
            scope: None,
            detail: None,
            timestamp: None,
        }
    }
}

impl UnknownEvent {
    /// Content a channel does not model, kept whole.
    pub fn new(channel: ChannelKind, kind: impl Into<String>, raw: impl Into<bytes::Bytes>) -> Self {
        Self {
            channel,
            kind: kind.into(),
            raw: RawBody::new(raw),
        }
    }
}
