#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod address;
pub mod broadcast;
pub mod channel;
pub mod consent;
pub mod error;
pub mod fallback;
pub mod inbound;
// Shared by the provider clients.
#[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
mod executor;
#[cfg(feature = "hours")]
pub mod hours;
#[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
mod loose;
pub mod message;
#[cfg(any(feature = "whatsapp", feature = "twitter"))]
mod multipart;
pub mod retry;
pub mod router;
#[cfg(feature = "sandbox")]
pub mod sandbox;
#[cfg(feature = "sms")]
pub mod sms;
pub mod throttle;
pub mod transport;
#[cfg(feature = "twitter")]
pub mod twitter;
#[cfg(any(feature = "whatsapp", feature = "sms", feature = "twitter"))]
mod validate;
pub mod webhook;
#[cfg(feature = "whatsapp")]
pub mod whatsapp;
pub mod window;

pub use address::{Address, PhoneNumber, UserId};
pub use async_trait::async_trait;
pub use channel::{Capabilities, Channel, ChannelExt, ChannelKind};
pub use error::{
    ApiError, ConsentDenial, Error, ErrorClass, ErrorKind, Problem, Quota, RateLimitScope, RateLimits,
    RawBody, Result, ValidationError,
};
pub use fallback::Fallback;
pub use inbound::{
    ConsentAction, ConsentSignal, DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMedia,
    InboundMessage, InboundReaction, Pricing, Sender, StatusUpdate, UnknownEvent,
};
pub use message::{
    Button, Buttons, Content, Location, Media, MediaKind, MediaSource, MessageCategory, OutboundMessage,
    Reaction, SendReceipt, Template, TemplateParam,
};
pub use retry::{RetryDecision, RetryPolicy};
pub use throttle::{Rate, Throttle, ThrottleLimits};
#[cfg(feature = "reqwest")]
pub use transport::ReqwestTransport;
pub use transport::{BodyStream, Transport};
pub use webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// The reqwest version the default transport uses, for [`ReqwestTransport::from_client`].
#[cfg(feature = "reqwest")]
pub use reqwest;
