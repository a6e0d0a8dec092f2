//! [`ConsentGuard`]: a decorator that checks every send against the consent ledger before
//! the provider is called.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use super::store::{ConsentRecord, ConsentState, ConsentStore, Evidence, Source, Subject};
use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{ConsentDenial, Error, ErrorKind, Result};
use crate::model::inbound::ConsentAction;
use crate::model::message::{MessageCategory, OutboundMessage, SendReceipt};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// Refuses, without calling the provider, every message its recipient has not consented to:
/// a marketing message needs an active opt-in for its [`topic`](OutboundMessage::topic) (or
/// for everything) and no platform marketing stop in force ([`MARKETING`](super::MARKETING));
/// a service or transactional message needs the recipient not to have opted out of
/// everything. A refusal is [`ErrorKind::ConsentDenied`]. When the provider itself refuses
/// a message as opted out (WhatsApp 131050, Twilio 21610), the guard records that opt-out.
///
/// ```no_run
/// # async fn run(client: switchboard::whatsapp::Client) -> switchboard::Result<()> {
/// use std::sync::Arc;
/// use switchboard::consent::{ConsentGuard, sqlite::SqliteStore};
/// use switchboard::{Address, Channel, MessageCategory, OutboundMessage};
///
/// let ledger = Arc::new(SqliteStore::open("consent.db").await?);
/// let channel = ConsentGuard::new(client, ledger);
/// let news = OutboundMessage::text(Address::phone("+4917612345678")?, "Our spring offers")
///     .category(MessageCategory::Marketing)
///     .topic("news");
/// channel.send(&news).await?; // refused unless the person opted in to `news`
/// # Ok(()) }
/// ```
pub struct ConsentGuard<C> {
    inner: C,
    store: Arc<dyn ConsentStore>,
}

impl<C> ConsentGuard<C> {
    /// Guards `inner` with this ledger.
    pub fn new(inner: C, store: Arc<dyn ConsentStore>) -> Self {
        Self { inner, store }
    }

    /// The wrapped channel.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: Channel> ConsentGuard<C> {
    /// Whether `message` may be sent; the reason if not. Makes no request to the provider.
    pub async fn check(&self, message: &OutboundMessage) -> Result<()> {
        let subject = Subject::new(&self.inner.kind(), &message.to);
        let topic = message.topic.as_deref();
        let denied = |reason| Err(Error::new(ErrorKind::ConsentDenied { reason }));
        match message.category {
            MessageCategory::Marketing => {
                if topic != Some(super::MARKETING)
                    && let ConsentState::OptedOut { since_ms } =
                        self.store.state(&subject, Some(super::MARKETING)).await?
                {
                    // Say "everything" when that is what the person stopped.
                    let everything =
                        self.store.state(&subject, None).await? == ConsentState::OptedOut { since_ms };
                    return denied(ConsentDenial::OptedOut {
                        topic: (!everything).then(|| super::MARKETING.to_owned()),
                        since_ms,
                    });
                }
                match self.store.state(&subject, topic).await? {
                    ConsentState::OptedIn { .. } => Ok(()),
                    ConsentState::OptedOut { since_ms } => denied(ConsentDenial::OptedOut {
                        topic: message.topic.clone(),
                        since_ms,
                    }),
                    _ => denied(ConsentDenial::NoOptIn {
                        topic: message.topic.clone(),
                    }),
                }
            }
            // Any other category needs no opt-in, only no opt-out: of everything, or of the
            // topic the message declares ("STOP NEWS" stops a service message about news too).
            _ => match self.store.state(&subject, topic).await? {
                ConsentState::OptedOut { since_ms } => {
                    let everything = topic.is_none()
                        || self.store.state(&subject, None).await? == ConsentState::OptedOut { since_ms };
                    denied(ConsentDenial::OptedOut {
                        topic: (!everything).then(|| message.topic.clone()).flatten(),
                        since_ms,
                    })
                }
                _ => Ok(()),
            },
        }
    }
}

#[async_trait]
impl<C: Channel> Channel for ConsentGuard<C> {
    fn kind(&self) -> ChannelKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        self.check(message).await?;
        let result = self.inner.send(message).await;
        if let Err(error) = &result {
            let kind = self.inner.kind();
            record_provider_refusal(&*self.store, &kind, &Subject::new(&kind, &message.to), error).await;
        }
        result
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.inner.handle_webhook(request)
    }
}

impl<C: fmt::Debug> fmt::Debug for ConsentGuard<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsentGuard")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

/// Records the opt-out behind a provider's refusal (WhatsApp 131050, Twilio 21610, any
/// channel's [`ErrorClass::OptedOut`](crate::ErrorClass::OptedOut)), so the
/// next message to this person is refused locally, without a billed request. The send's
/// own error is what the caller needs; a failure to record is only logged.
pub(crate) async fn record_provider_refusal(
    store: &dyn ConsentStore,
    kind: &ChannelKind,
    subject: &Subject,
    error: &Error,
) {
    let Some(topic) = super::provider_opt_out(kind, error.provider_code(), error.class()) else {
        return;
    };
    let evidence = Evidence {
        text: error.api_error().map(|api| api.message.clone()),
        ..Evidence::default()
    };
    let record = ConsentRecord::new(
        subject.clone(),
        topic,
        ConsentAction::OptOut,
        Source::Provider,
        evidence,
    );
    if let Err(store_error) = store.append(&record).await {
        tracing::warn!(error = %store_error, channel = %kind, "could not record a provider opt-out");
    }
}
