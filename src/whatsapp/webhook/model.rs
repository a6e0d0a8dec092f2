//! The typed notification: envelope, entries, changes, and the values of each field.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::RawBody;

use super::*;
use crate::model::address::MaskedText;

#[derive(Deserialize)]
pub(super) struct Envelope<'a> {
    #[serde(borrow, default)]
    pub(super) object: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) entry: Vec<RawEntry<'a>>,
}

#[derive(Deserialize)]
pub(super) struct RawEntry<'a> {
    // The account id is a string, but some senders (and test tools) send a number: one such
    // entry must not refuse the whole notification.
    #[serde(default, deserialize_with = "crate::http::loose::opt_string")]
    pub(super) id: Option<String>,
    #[serde(borrow, default)]
    pub(super) changes: Vec<RawChange<'a>>,
}

#[derive(Deserialize)]
pub(super) struct RawChange<'a> {
    #[serde(borrow, default)]
    pub(super) field: Cow<'a, str>,
    #[serde(borrow)]
    pub(super) value: &'a RawValue,
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
    pub(super) fn from_raw(change: RawChange<'_>) -> Self {
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
    /// Items that did not have their documented shape (a status whose error code is not a
    /// number, say), kept as received; their siblings are still typed.
    pub unparsed: Vec<Unparsed>,
}

/// An item of a `messages` change that did not have its documented shape, kept as received.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Unparsed {
    /// The list it came from (`statuses`, `contacts`, `errors`) or `metadata`.
    pub field: &'static str,
    /// Its position in that list.
    pub index: usize,
    /// The item as received.
    pub raw: RawBody,
}

/// The `messages` change value, generic over how messages are read: typed directly (the
/// fast path) or as raw JSON borrowed from the body (to keep what does not fit).
#[derive(Deserialize)]
#[serde(bound(deserialize = "M: Deserialize<'de>"))]
pub(super) struct MessagesValueWire<M> {
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

/// A `messages` change value with every item raw, so that each is parsed on its own.
#[derive(Deserialize)]
pub(super) struct RawItems<'a> {
    #[serde(borrow, default)]
    metadata: Option<&'a RawValue>,
    #[serde(borrow, default)]
    contacts: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    statuses: Vec<&'a RawValue>,
    #[serde(borrow, default)]
    errors: Vec<&'a RawValue>,
}

/// Parses each raw item on its own; one that does not fit is kept in `unparsed`.
fn each<T: serde::de::DeserializeOwned>(
    field: &'static str,
    items: Vec<&RawValue>,
    unparsed: &mut Vec<Unparsed>,
) -> Vec<T> {
    let mut parsed = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match serde_json::from_str(item.get()) {
            Ok(value) => parsed.push(value),
            Err(_) => unparsed.push(Unparsed {
                field,
                index,
                raw: RawBody::new(bytes::Bytes::copy_from_slice(item.get().as_bytes())),
            }),
        }
    }
    parsed
}

/// Only the messages of a `messages` change value, as raw JSON.
#[derive(Deserialize)]
pub(super) struct RawMessages<'a> {
    #[serde(borrow, default)]
    messages: Vec<&'a RawValue>,
}

impl MessagesValue {
    pub(super) fn parse(json: &str) -> Option<Self> {
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
                unparsed: Vec::new(),
            });
        }
        // Something has an unexpected shape: read each item on its own, so that one odd
        // status cannot hide a STOP beside it, and what does not fit is kept, not lost.
        let value: RawItems<'_> = serde_json::from_str(json).ok()?;
        let mut unparsed = Vec::new();
        let metadata = match value.metadata.map(|m| serde_json::from_str(m.get())) {
            Some(Ok(metadata)) => metadata,
            other => {
                if let Some(raw) = value.metadata.filter(|_| other.is_some()) {
                    unparsed.push(Unparsed {
                        field: "metadata",
                        index: 0,
                        raw: RawBody::new(bytes::Bytes::copy_from_slice(raw.get().as_bytes())),
                    });
                }
                Metadata::default()
            }
        };
        Some(Self {
            metadata,
            contacts: each("contacts", value.contacts, &mut unparsed),
            messages: value
                .messages
                .into_iter()
                .map(|m| Message::parse(m.get()))
                .collect(),
            statuses: each("statuses", value.statuses, &mut unparsed),
            errors: each("errors", value.errors, &mut unparsed),
            unparsed,
        })
    }
}

/// The business number a change is about. Empty only when Meta sent no usable metadata
/// (then [`MessagesValue::unparsed`] keeps what it sent).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
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

/// An error object in a webhook. `Debug` masks numbers in its texts.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// The code (sent as a number; a numeric string is read too).
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
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
    /// Where Meta documents the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
}

impl fmt::Debug for ErrorObject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorObject")
            .field("code", &self.code)
            .field("title", &self.title.as_deref().map(MaskedText))
            .field("message", &self.message.as_deref().map(MaskedText))
            .field(
                "details",
                &self
                    .error_data
                    .as_ref()
                    .and_then(|d| d.details.as_deref())
                    .map(MaskedText),
            )
            .finish_non_exhaustive()
    }
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

/// A user's marketing preference change. `Debug` masks the number.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// `stop`, `resume`, or `signup` (through a sign-up link).
    #[serde(default)]
    pub value: Option<String>,
    /// The sign-up link's id, for `signup`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "crate::http::loose::opt_string"
    )]
    pub signup_id: Option<String>,
    /// When, in Unix seconds.
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    pub timestamp: Option<i64>,
}

impl fmt::Debug for UserPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserPreference")
            .field("wa_id", &self.wa_id.as_deref().map(crate::model::address::mask))
            .field("user_id", &self.user_id)
            .field("category", &self.category)
            .field("value", &self.value)
            .field("signup_id", &self.signup_id)
            .field("timestamp", &self.timestamp)
            .finish_non_exhaustive()
    }
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
