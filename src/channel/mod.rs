//! The [`Channel`] trait: one way to send over every provider, and the extension point for
//! integrators' own providers, and the decorators over it (teloxide's adaptors): each wraps
//! any channel and is a channel itself.
//!
//! - [`Throttle`]: stays within a provider's throughput, per sender and per recipient;
//! - [`Fallback`]: a second channel after a permanent miss where nothing was sent;
//! - [`WindowGuard`]: WhatsApp's 24-hour customer-service window, enforced locally;
//! - [`ConsentGuard`](crate::consent::ConsentGuard) lives with the consent ledger.

use std::sync::Arc;

use async_trait::async_trait;

use crate::error::Result;
pub use crate::model::ChannelKind;
use crate::model::{MediaKind, OutboundMessage, SendReceipt};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

pub mod fallback;
pub mod throttle;
pub mod window;

pub use fallback::{Fallback, is_permanent_miss};
pub use throttle::{Rate, Throttle, ThrottleLimits};
pub use window::{MemoryWindowStore, WindowGuard, WindowStore};

/// A messaging channel: WhatsApp, SMS, X DMs, or your own.
///
/// The trait is object safe, so channels can be held as `Arc<dyn Channel>` in registries,
/// routers and fallbacks; decorators such as [`Throttle`] wrap any channel and are channels
/// themselves.
///
/// Implementing it for your own provider takes four methods. Map the provider's refusals
/// to an [`ApiError`](crate::ApiError) with an [`ErrorClass`](crate::ErrorClass): a refusal
/// because the person opted out or blocked you is [`ErrorClass::OptedOut`](crate::ErrorClass::OptedOut),
/// which a [`ConsentGuard`](crate::consent::ConsentGuard) records in the ledger so that
/// nothing more is sent to them on this channel.
///
/// ```
/// use std::sync::Arc;
/// use switchboard::{async_trait, Capabilities, Channel, ChannelKind, Content, Error,
///     OutboundMessage, Result, SendReceipt, WebhookError, WebhookOutcome, WebhookRequest};
///
/// struct Telegram;
///
/// #[async_trait]
/// impl Channel for Telegram {
///     fn kind(&self) -> ChannelKind {
///         ChannelKind::custom("telegram")
///     }
///     fn capabilities(&self) -> Capabilities {
///         Capabilities::new().with_text(4096)
///     }
///     async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
///         match &message.content {
///             Content::Text(_) => Ok(SendReceipt::new(self.kind(), "42")),
///             _ => Err(Error::unsupported(self.kind(), "this content")),
///         }
///     }
///     fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
///         // Verify the provider's signature on request.body() first; refuse if it fails.
///         Err(WebhookError::NotConfigured)
///     }
/// }
///
/// let channel: Arc<dyn Channel> = Arc::new(Telegram);
/// # let _ = channel;
/// ```
#[async_trait]
pub trait Channel: Send + Sync {
    /// Which channel this is.
    fn kind(&self) -> ChannelKind;

    /// What content this channel can carry.
    fn capabilities(&self) -> Capabilities;

    /// Sends one message. Content the channel cannot carry is degraded where a faithful
    /// rendering exists and is otherwise refused with
    /// [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported), never silently dropped.
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt>;

    /// Verifies an inbound request on its raw bytes and parses it: a handshake to answer,
    /// or the events it carries, in order. Pure and synchronous; it must fail closed (a
    /// channel without its secret refuses everything), so there is no default.
    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError>;
}

#[async_trait]
impl<C: Channel + ?Sized> Channel for Arc<C> {
    fn kind(&self) -> ChannelKind {
        (**self).kind()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        (**self).send(message).await
    }
    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        (**self).handle_webhook(request)
    }
}

#[async_trait]
impl<C: Channel + ?Sized> Channel for Box<C> {
    fn kind(&self) -> ChannelKind {
        (**self).kind()
    }
    fn capabilities(&self) -> Capabilities {
        (**self).capabilities()
    }
    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        (**self).send(message).await
    }
    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        (**self).handle_webhook(request)
    }
}

/// Decorators for any [`Channel`], in the teloxide adaptor style:
/// `client.throttle(ThrottleLimits::whatsapp())`.
pub trait ChannelExt: Channel + Sized {
    /// Wraps the channel in a [`Throttle`] with these limits.
    fn throttle(self, limits: ThrottleLimits) -> Throttle<Self> {
        Throttle::new(self, limits)
    }

    /// Wraps the channel in a [`ConsentGuard`](crate::consent::ConsentGuard) over this ledger.
    fn consent_guard(
        self,
        store: std::sync::Arc<dyn crate::consent::ConsentStore>,
    ) -> crate::consent::ConsentGuard<Self> {
        crate::consent::ConsentGuard::new(self, store)
    }

    /// Falls back to `secondary` when this channel cannot deliver at all
    /// ([`Fallback`]).
    fn fallback<B: Channel>(self, secondary: B) -> crate::Fallback<Self, B> {
        crate::Fallback::new(self, secondary)
    }
}

impl<C: Channel + Sized> ChannelExt for C {}

/// What a channel can carry natively. Built with [`Capabilities::new`] and the `with_*`
/// methods so that adding a capability later is not a breaking change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// Longest text body in characters; `None` if the channel cannot send text.
    pub max_text_chars: Option<usize>,
    /// Media kinds it can send.
    pub media: Vec<MediaKind>,
    /// Whether it can send a location pin.
    pub location: bool,
    /// How many reply buttons it can show natively (0: they are degraded or refused).
    pub max_reply_buttons: usize,
    /// Whether it can send provider-approved templates.
    pub templates: bool,
    /// Whether it can react to a message.
    pub reactions: bool,
    /// Whether a message can quote the message it answers.
    pub reply_context: bool,
}

impl Capabilities {
    /// No capabilities; add them with the `with_*` methods.
    pub fn new() -> Self {
        Self::default()
    }

    /// Text up to `max_chars` characters.
    #[must_use]
    pub fn with_text(mut self, max_chars: usize) -> Self {
        self.max_text_chars = Some(max_chars);
        self
    }

    /// These media kinds.
    #[must_use]
    pub fn with_media(mut self, kinds: impl IntoIterator<Item = MediaKind>) -> Self {
        self.media = kinds.into_iter().collect();
        self
    }

    /// Location pins.
    #[must_use]
    pub fn with_location(mut self) -> Self {
        self.location = true;
        self
    }

    /// Up to `max` native reply buttons.
    #[must_use]
    pub fn with_reply_buttons(mut self, max: usize) -> Self {
        self.max_reply_buttons = max;
        self
    }

    /// Provider-approved templates.
    #[must_use]
    pub fn with_templates(mut self) -> Self {
        self.templates = true;
        self
    }

    /// Reactions.
    #[must_use]
    pub fn with_reactions(mut self) -> Self {
        self.reactions = true;
        self
    }

    /// Quoting the message being answered.
    #[must_use]
    pub fn with_reply_context(mut self) -> Self {
        self.reply_context = true;
        self
    }

    /// Whether it can send this media kind.
    pub fn supports_media(&self, kind: MediaKind) -> bool {
        self.media.contains(&kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_obj_safe!(Channel);
    static_assertions::assert_impl_all!(Arc<dyn Channel>: Send, Sync, Channel);
    static_assertions::assert_impl_all!(ChannelKind: Send, Sync, Clone, std::hash::Hash);

    #[test]
    fn kinds_have_stable_names() {
        assert_eq!(ChannelKind::WhatsApp.to_string(), "whatsapp");
        assert_eq!(ChannelKind::custom("telegram").as_str(), "telegram");
    }
}
