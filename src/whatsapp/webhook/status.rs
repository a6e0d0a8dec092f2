//! Status updates of the messages we sent.

use serde::Deserialize;

use crate::model::address::mask;

use super::*;

/// A status update of a message we sent. `Debug` masks the recipient's number.
#[derive(Clone, PartialEq, Deserialize)]
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
    /// The recipient's parent business-scoped user id.
    #[serde(default)]
    pub recipient_parent_user_id: Option<String>,
    /// `group` when the message went to a group (`recipient_id` is then the group's id).
    #[serde(default)]
    pub recipient_type: Option<String>,
    /// In a group, the participant this status is about.
    #[serde(default)]
    pub recipient_participant_id: Option<String>,
    /// The group, where Meta names it.
    #[serde(default, deserialize_with = "crate::http::loose::opt_string")]
    pub group_id: Option<String>,
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

impl fmt::Debug for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Status")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("timestamp", &self.timestamp)
            .field("recipient_id", &self.recipient_id.as_deref().map(mask))
            .field("recipient_user_id", &self.recipient_user_id)
            .field("recipient_type", &self.recipient_type)
            .field("group_id", &self.group_id)
            .field("biz_opaque_callback_data", &self.biz_opaque_callback_data)
            .field("conversation", &self.conversation)
            .field("pricing", &self.pricing)
            .field("errors", &self.errors)
            .finish()
    }
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
