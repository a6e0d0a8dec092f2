//! WhatsApp Cloud API: a typed [`Client`] for every message type, media, errors classified
//! by code, and a [`Channel`](crate::Channel) implementation.
//!
//! Facts this module follows: messages go to `POST /{version}/{phone-number-id}/messages`
//! with a bearer token; a `200` means accepted, not delivered (delivery comes by webhook);
//! free-form messages are only allowed within 24 hours of the user's last message, after
//! that only templates ([`ErrorClass::NeedsTemplate`](crate::ErrorClass::NeedsTemplate),
//! code 131047).
//!
//! ```no_run
//! use switchboard::{Media, MediaSource, PhoneNumber};
//! use switchboard::whatsapp::{Client, Interactive, MessageRequest, ReplyButton};
//!
//! # async fn run(client: Client) -> switchboard::Result<()> {
//! let to: PhoneNumber = "+16505551234".parse()?;
//! let photo = Media::image(MediaSource::ProviderId("2871834006348767".into())).caption("New colours");
//! client.send_request(&MessageRequest::new(to.clone(), photo)).await?;
//!
//! let question = Interactive::buttons("Want a reminder?", [ReplyButton::new("yes", "Yes"), ReplyButton::new("no", "No")]);
//! client.send_request(&MessageRequest::new(to, question)).await?;
//! # Ok(()) }
//! ```

mod channel;
mod client;
mod errors;
pub mod interactive;
pub mod media;
pub mod messages;
pub mod templates;
pub mod webhook;

pub use channel::to_request;
pub use client::{Client, ClientBuilder, DEFAULT_API_VERSION, DEFAULT_BASE_URL};
pub use errors::classify;
pub use interactive::{Action, Flow, FlowMode, Header, Interactive, ReplyButton, Row, Section};
pub use media::{MediaDownload, MediaInfo, MediaUpload};
pub use messages::{
    Contact, ContactAddress, ContactEmail, ContactName, ContactOrg, ContactPhone, ContactUrl, MarkRead,
    MessageContent, MessageRequest, PacingStatus, Recipient, SendResponse, SentContact, SentMessage, Text,
};
pub use templates::{Component, Parameter, Template, TemplateButton};
pub use webhook::WebhookVerifier;
