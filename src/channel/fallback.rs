//! [`Fallback`]: try one channel, and another when the first cannot deliver.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{Error, ErrorClass, ErrorKind, Result};
use crate::model::message::{OutboundMessage, SendReceipt};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// Whether `error` allows a second channel: a permanent failure where nothing was sent.
/// The primary channel cannot carry the message at all ([`ErrorKind::Unsupported`]: a phone
/// number on X, a template on SMS), or the provider says the person cannot be reached on it
/// ([`ErrorClass::Undeliverable`]: not on the platform, not reachable). Never after a
/// request that may have reached the provider, never for a consent refusal or an opt-out,
/// and never for rate limits or outages, which retrying the same channel later fixes.
pub fn is_permanent_miss(error: &Error) -> bool {
    if error.may_have_been_sent() {
        return false;
    }
    match error.kind() {
        ErrorKind::Unsupported { .. } => true,
        ErrorKind::Api(api) => api.class == ErrorClass::Undeliverable,
        _ => false,
    }
}

type Rule = Arc<dyn Fn(&Error) -> bool + Send + Sync>;

/// Sends through `primary`, and through `secondary` only when the primary failed in a way
/// [`is_permanent_miss`] accepts (or your own rule, [`when`](Self::when)). A message is
/// never sent twice: if the primary may have sent it, its error is returned as is. The
/// receipt's [`channel`](SendReceipt::channel) says which channel delivered.
///
/// Failures WhatsApp reports only later, in a failed status webhook ("not a WhatsApp user",
/// 131026), are not seen here: they need the message kept to resend it. Send such messages
/// as a [`Broadcast`](crate::broadcast::Broadcast) (one recipient is fine) with
/// [`fallback`](crate::broadcast::Broadcast::fallback): its outbox keeps the message,
/// [`Broadcaster::observe`](crate::broadcast::Broadcaster::observe) queues the fallback
/// when the failed status arrives, and the next run sends it.
///
/// ```no_run
/// # async fn run(whatsapp: switchboard::whatsapp::Client, sms: switchboard::sms::twilio::Client) -> switchboard::Result<()> {
/// use switchboard::{Address, Channel, ChannelExt, OutboundMessage};
///
/// let reach = whatsapp.fallback(sms);
/// let to = Address::phone("+4917612345678")?;
/// let receipt = reach.send(&OutboundMessage::text(to, "Your parcel is at the front desk.")).await?;
/// println!("sent by {}", receipt.channel);
/// # Ok(()) }
/// ```
pub struct Fallback<A, B> {
    primary: A,
    secondary: B,
    rule: Rule,
}

impl<A, B> Fallback<A, B> {
    /// `primary` first, `secondary` on a permanent miss.
    pub fn new(primary: A, secondary: B) -> Self {
        Self {
            primary,
            secondary,
            rule: Arc::new(is_permanent_miss),
        }
    }

    /// Falls back when `rule` says so instead, still never after a request that may have
    /// reached the provider.
    #[must_use]
    pub fn when(mut self, rule: impl Fn(&Error) -> bool + Send + Sync + 'static) -> Self {
        self.rule = Arc::new(rule);
        self
    }

    /// The first channel.
    pub fn primary(&self) -> &A {
        &self.primary
    }

    /// The second channel.
    pub fn secondary(&self) -> &B {
        &self.secondary
    }
}

impl<A: fmt::Debug, B: fmt::Debug> fmt::Debug for Fallback<A, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fallback")
            .field("primary", &self.primary)
            .field("secondary", &self.secondary)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<A: Channel, B: Channel> Channel for Fallback<A, B> {
    fn kind(&self) -> ChannelKind {
        self.primary.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.primary.capabilities()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        match self.primary.send(message).await {
            Err(error) if !error.may_have_been_sent() && (self.rule)(&error) => {
                tracing::debug!(
                    from = %self.primary.kind(),
                    to = %self.secondary.kind(),
                    error.class = error.class().map(|c| c.as_str()),
                    "falling back"
                );
                self.secondary.send(message).await
            }
            other => other,
        }
    }

    /// The primary's webhooks, or else the secondary's: a request the primary cannot
    /// verify is tried with the secondary.
    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        match self.primary.handle_webhook(request) {
            Err(
                WebhookError::MissingSignature { .. }
                | WebhookError::MalformedSignature { .. }
                | WebhookError::SignatureMismatch
                | WebhookError::NotConfigured
                | WebhookError::MethodNotAllowed
                | WebhookError::HandshakeMismatch { .. },
            ) => self.secondary.handle_webhook(request),
            other => other,
        }
    }
}
