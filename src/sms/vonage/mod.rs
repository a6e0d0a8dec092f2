//! Vonage (Nexmo) SMS API: send with automatic `type=unicode`, per-part status errors,
//! typed inbound messages and delivery receipts, `sig` signatures (MD5 hash and HMAC
//! MD5/SHA-1/SHA-256/SHA-512), and a [`Channel`](crate::Channel) implementation.
//!
//! Vonage answers `200 OK` even when a message fails: each part carries its own `status`.
//! [`Client::send_sms`] turns a failed part into an error.

mod channel;
mod client;
mod signature;
mod webhook;

pub use client::{Client, ClientBuilder, SendResponse, SentPart, Sms};
pub use signature::{SignatureMethod, sign};
pub use webhook::{DeliveryReceipt, InboundSms, Notification, WebhookVerifier, parse};

use crate::error::ErrorClass;

/// Vonage's SMS API host.
pub const DEFAULT_BASE_URL: &str = "https://rest.nexmo.com";

/// Classifies a Vonage SMS API status code (the `status` of a message part).
///
/// ```
/// use switchboard::ErrorClass;
/// use switchboard::sms::vonage::classify;
///
/// assert_eq!(classify(1), ErrorClass::RateLimited); // throttled
/// assert_eq!(classify(4), ErrorClass::Auth);
/// ```
pub fn classify(status: i64) -> ErrorClass {
    match status {
        1 => ErrorClass::RateLimited,
        5 => ErrorClass::Transient,
        4 | 14 | 32 => ErrorClass::Auth,
        7 | 33 => ErrorClass::Undeliverable,
        8..=11 => ErrorClass::Account,
        29 => ErrorClass::Permission,
        2 | 3 | 6 | 12 | 15 | 22 | 23 => ErrorClass::InvalidRequest,
        _ => ErrorClass::Unknown,
    }
}
