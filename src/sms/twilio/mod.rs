//! Twilio Programmable Messaging: the typed [`Client`] (send SMS and MMS, fetch, list,
//! cancel), webhook signatures, typed inbound and status webhooks, the classification of
//! Twilio error codes, and a [`Channel`](crate::Channel) implementation.

mod channel;
mod client;
pub mod message;
pub mod signature;
pub mod twiml;
pub mod webhook;

pub use channel::to_request;
pub use client::{
    Client, ClientBuilder, DEFAULT_BASE_URL, ListMessages, MAX_BODY_CHARS, MAX_MEDIA, Message, MessagePage,
    SendMessage,
};
pub use message::MessageStatus;
pub use webhook::WebhookVerifier;

use crate::error::ErrorClass;

/// Classifies a Twilio error code, synchronous (REST) or asynchronous (status callbacks).
///
/// ```
/// use switchboard::ErrorClass;
/// use switchboard::sms::twilio::classify;
///
/// assert_eq!(classify(21610), ErrorClass::OptedOut); // the recipient replied STOP
/// assert!(classify(20429).is_retryable());
/// ```
pub fn classify(code: i64) -> ErrorClass {
    match code {
        20429 | 21611 | 30001 => ErrorClass::RateLimited,
        30003 | 30036 => ErrorClass::Transient,
        20003 => ErrorClass::Auth,
        21408 | 21608 => ErrorClass::Permission,
        21610 => ErrorClass::OptedOut,
        21614 | 21635 | 30004 | 30005 | 30006 => ErrorClass::Undeliverable,
        30007 => ErrorClass::Quality,
        30002 | 30034 => ErrorClass::Account,
        20404 | 21211 | 21602 | 21604 | 21606 | 21612 | 21617 | 21619 | 21658 | 21659 | 21661 => {
            ErrorClass::InvalidRequest
        }
        _ => ErrorClass::Unknown,
    }
}
