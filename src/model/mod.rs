//! The neutral vocabulary every channel speaks: who a message goes to ([`Address`]), what is
//! sent ([`OutboundMessage`]), what arrives ([`InboundEvent`]), and which channel it is
//! ([`ChannelKind`]).
//!
//! This is the ground floor with [`error`](crate::error) and [`http`](crate::http): nothing here
//! imports from the channels, webhooks, providers, consent or broadcasts built on it.

pub(crate) mod address;
pub(crate) mod inbound;
mod kind;
pub(crate) mod message;

pub use address::{Address, PhoneNumber, UserId};
pub use inbound::{
    ConsentAction, ConsentSignal, DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMedia,
    InboundMessage, InboundReaction, MessagePart, Pricing, Sender, StatusUpdate, UnknownEvent,
    clamp_timestamp, clamp_timestamp_ms,
};
pub use kind::ChannelKind;
pub use message::{
    Button, Buttons, Content, Location, Media, MediaKind, MediaSource, MessageCategory, OutboundMessage,
    Reaction, SendReceipt, Template, TemplateParam,
};
