//! The Message resource's status.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A message's state, as Twilio names it. Unknown states are kept.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum MessageStatus {
    /// Waiting in Twilio's queue.
    Queued,
    /// Accepted by a Messaging Service, sender not chosen yet.
    Accepted,
    /// Scheduled for later.
    Scheduled,
    /// Being sent.
    Sending,
    /// Handed to the carrier.
    Sent,
    /// Delivered to the handset.
    Delivered,
    /// Not delivered (see the error code).
    Undelivered,
    /// Failed before reaching the carrier (see the error code).
    Failed,
    /// Read (WhatsApp and RCS only).
    Read,
    /// Some parts delivered.
    PartiallyDelivered,
    /// A scheduled message was canceled.
    Canceled,
    /// An inbound message being received.
    Receiving,
    /// An inbound message received.
    Received,
    /// A state this version does not know, as sent.
    Unknown(String),
}

impl MessageStatus {
    /// Twilio's name for the state.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Queued => "queued",
            Self::Accepted => "accepted",
            Self::Scheduled => "scheduled",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Delivered => "delivered",
            Self::Undelivered => "undelivered",
            Self::Failed => "failed",
            Self::Read => "read",
            Self::PartiallyDelivered => "partially_delivered",
            Self::Canceled => "canceled",
            Self::Receiving => "receiving",
            Self::Received => "received",
            Self::Unknown(s) => s,
        }
    }
}

impl From<String> for MessageStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "queued" => Self::Queued,
            "accepted" => Self::Accepted,
            "scheduled" => Self::Scheduled,
            "sending" => Self::Sending,
            "sent" => Self::Sent,
            "delivered" => Self::Delivered,
            "undelivered" => Self::Undelivered,
            "failed" => Self::Failed,
            "read" => Self::Read,
            "partially_delivered" => Self::PartiallyDelivered,
            "canceled" => Self::Canceled,
            "receiving" => Self::Receiving,
            "received" => Self::Received,
            _ => Self::Unknown(s),
        }
    }
}

impl From<MessageStatus> for String {
    fn from(status: MessageStatus) -> Self {
        match status {
            MessageStatus::Unknown(s) => s,
            known => known.as_str().to_owned(),
        }
    }
}

impl fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
