#![doc = include_str!("../README.md")]
//!
//! # How the crate is organised
//!
//! Layers from the ground up; each imports only from the layers below it.
//!
//! - [`error`], [`model`], [`http`] (the ground floor): one [`Error`] with a kind; the neutral
//!   vocabulary (addresses, outbound messages, inbound events, [`ChannelKind`]); what clients
//!   share to talk HTTP (transport, retry policy, executor). They import nothing above them.
//! - [`webhook`]: requests, outcomes, HMAC and constant-time helpers, deduplication, Standard
//!   Webhooks, the axum endpoint.
//! - [`channel`]: the [`Channel`] trait and the decorators over it ([`Throttle`], [`Fallback`],
//!   [`WindowGuard`](channel::WindowGuard)).
//! - `whatsapp`, `sms`, `twitter`: one vertical slice per provider (client, typed models,
//!   webhook, `Channel` impl); read one as the template for your own adapter.
//! - [`consent`]: keywords, the ledger and its stores, the guard and the interceptor.
//! - [`broadcast`]: the durable outbox, fan-out at each channel's rate, reports.
//! - [`conversation`]: the router with hand-over, business hours and the after-hours reply.
//! - `sandbox`: the offline emulator of every provider.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

// Ground floor: imports nothing from the layers above.
pub mod error;
pub mod http;
pub mod model;

// Receiving, and the channel abstraction with its decorators.
pub mod channel;
pub mod webhook;

// One vertical slice per provider.
#[cfg(feature = "sms")]
pub mod sms;
#[cfg(feature = "twitter")]
pub mod twitter;
#[cfg(feature = "whatsapp")]
pub mod whatsapp;

// Built on the channels: consent, broadcasts, conversations, and the offline emulator.
pub mod broadcast;
pub mod consent;
pub mod conversation;
#[cfg(feature = "sandbox")]
pub mod sandbox;

pub use async_trait::async_trait;
pub use channel::{Capabilities, Channel, ChannelExt, Fallback, Rate, Throttle, ThrottleLimits};
pub use conversation::Router;
#[cfg(feature = "hours")]
pub use conversation::{AfterHours, BusinessHours};
pub use error::{
    AcceptedPart, ApiError, ConsentDenial, Error, ErrorClass, ErrorKind, Problem, Quota, RateLimitScope,
    RateLimits, RawBody, Result, ValidationError,
};
#[cfg(feature = "reqwest")]
pub use http::ReqwestTransport;
pub use http::{BodyStream, RetryDecision, RetryPolicy, Transport};
pub use model::{
    Address, ChannelKind, ConsentAction, ConsentSignal, DeliveryError, DeliveryStatus, InboundContent,
    InboundEvent, InboundMedia, InboundMessage, InboundReaction, MessagePart, PhoneNumber, Pricing, Sender,
    StatusUpdate, UnknownEvent, UserId,
};
pub use model::{
    Button, Buttons, Content, Location, Media, MediaKind, MediaSource, MessageCategory, OutboundMessage,
    Reaction, SendReceipt, Template, TemplateParam,
};
pub use webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// The reqwest version the default transport uses, for [`ReqwestTransport::from_client`].
#[cfg(feature = "reqwest")]
pub use reqwest;
