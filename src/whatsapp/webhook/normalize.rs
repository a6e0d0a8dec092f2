//! From the typed notification to neutral [`InboundEvent`]s.

use crate::channel::ChannelKind;
use crate::error::RawBody;
use crate::model::address::{PhoneNumber, UserId};
use crate::model::inbound::{
    ConsentAction, ConsentSignal, DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMedia,
    InboundMessage, InboundReaction, Pricing, Sender, StatusUpdate, UnknownEvent,
};
use crate::model::message::MediaKind;
use crate::whatsapp::classify;

use super::*;

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

pub(super) const CHANNEL: ChannelKind = ChannelKind::WhatsApp;

impl Change {
    pub(super) fn push_events(self, events: &mut Vec<InboundEvent>) {
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

pub(super) fn unknown(kind: impl Into<String>, raw: RawBody) -> InboundEvent {
    InboundEvent::Unknown(UnknownEvent {
        channel: CHANNEL,
        kind: kind.into(),
        raw,
    })
}

/// Builds the neutral sender from a message's ids and the change's contacts.
pub(super) fn sender(wa_id: Option<&str>, user_id: Option<&str>, contacts: &[Contact]) -> Sender {
    let contact = contacts.iter().find(|c| {
        (wa_id.is_some() && c.wa_id.as_deref() == wa_id)
            || (user_id.is_some() && c.user_id.as_deref() == user_id)
    });
    let profile = contact.and_then(|c| c.profile.as_ref());
    let phone = wa_id.and_then(PhoneNumber::from_digits);
    // A `from` that is no phone number (a short test id, a group participant id) is still
    // who wrote: keep it as the provider's id rather than leave the event without a sender.
    let unparsed_wa_id = wa_id.filter(|_| phone.is_none());
    Sender {
        phone,
        user_id: user_id
            .or(contact.and_then(|c| c.user_id.as_deref()))
            .or(unparsed_wa_id)
            .and_then(|id| UserId::new(id).ok()),
        name: profile.and_then(|p| p.name.clone()),
        username: profile.and_then(|p| p.username.clone()),
    }
}

impl MessagesValue {
    pub(super) fn push_events(self, events: &mut Vec<InboundEvent>) {
        let to = Some(self.metadata.phone_number_id).filter(|id| !id.is_empty());
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
        for item in self.unparsed {
            events.push(unknown(item.field, item.raw));
        }
        if !self.errors.is_empty() {
            let raw = serde_json::to_vec(&self.errors).unwrap_or_default();
            events.push(unknown("errors", RawBody::new(raw)));
        }
    }
}

impl Message {
    pub(super) fn into_event(self, from: Sender, to: Option<String>) -> InboundEvent {
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
            group: self.group_id,
            timestamp: self.timestamp,
            content,
            reply_to,
            forwarded,
            part: None,
        })
    }
}

impl Status {
    pub(super) fn into_update(self) -> StatusUpdate {
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
            group: self.group_id.or_else(|| {
                (self.recipient_type.as_deref() == Some("group"))
                    .then(|| self.recipient_id.clone())
                    .flatten()
            }),
            recipient: self
                .recipient_participant_id
                .or(self.recipient_id)
                .or(self.recipient_user_id),
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
    pub(super) fn into_event(self, contacts: &[Contact]) -> InboundEvent {
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
