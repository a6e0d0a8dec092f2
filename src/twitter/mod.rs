//! X (Twitter) Direct Messages: customer service where customers already are.
//!
//! - [`Client`] sends DMs (to a user, into a conversation, to a new group), lists DM
//!   events with pagination and expansions, deletes events, and uploads DM media in chunks.
//!   Every answer carries the quotas from X's rate-limit headers
//!   ([`RateLimits`](crate::RateLimits)); errors distinguish a rate limit from a plan's
//!   usage cap.
//! - [`oauth1`] signs requests with OAuth 1.0a (HMAC-SHA1); [`oauth2`] runs the PKCE
//!   authorization flow and keeps a user's token fresh.
//! - [`webhook`] answers CRC challenges, verifies `x-twitter-webhooks-signature` and parses
//!   Account Activity and X Activity deliveries into [`InboundEvent`](crate::InboundEvent)s:
//!   the business's own messages are echoes (sent statuses), blocks are consent signals.
//! - The [`Channel`](crate::Channel) implementation sends text, uploaded media, numbered
//!   options for reply buttons, and locations as links.
//!
//! X's own rules apply: message people only after they wrote first or opted in, and honour
//! "stop" at once (the [`consent`](crate::consent) module does both). Since 2026 many
//! consumer DMs move to encrypted XChat, which this legacy DM API does not see; DM
//! requests and messages to business accounts still arrive here.

mod channel;
mod client;
mod dm;
mod errors;
mod media;
pub mod oauth1;
pub mod oauth2;
pub mod webhook;

pub use channel::to_message;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL};
pub use dm::{
    DmEvent, DmEventKind, DmSent, EventAttachments, EventPage, EventQuery, Includes, MAX_GROUP_PARTICIPANTS,
    MAX_TEXT_CHARS, MediaInfo, NewMessage, ReferencedPost, Response, User, message_link,
};
pub use errors::{PartialError, classify, parse_rate_limits, problem_name};
pub use media::{MediaCategory, ProcessingInfo, UploadedMedia};
