//! The 24-hour customer-service window of WhatsApp: free-form messages may only go to
//! people who wrote within the last 24 hours; everyone else gets a template.
//!
//! Meta reports a violation only later, as a failed status (131047), after the message was
//! billed as attempted. [`WindowGuard`] knows the window from the inbound messages it
//! [`observe`](WindowGuard::observe)s and refuses locally, or sends a configured template
//! instead.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;

use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::consent::Subject;
use crate::error::{Error, ErrorKind, Result};
use crate::model::inbound::{InboundEvent, clamp_timestamp_ms};
use crate::model::message::{Content, OutboundMessage, SendReceipt, Template};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// WhatsApp's customer-service window.
pub const WINDOW: Duration = Duration::from_secs(24 * 3600);

/// Where the time of each person's last message is kept. Object safe; the SQLite consent
/// store implements it too (feature `sqlite`), so one file holds both.
#[async_trait]
pub trait WindowStore: Send + Sync {
    /// Records that `subject` wrote at `at_ms` (keeping the latest time).
    async fn touch(&self, subject: &Subject, at_ms: i64) -> Result<()>;

    /// When `subject` last wrote, in milliseconds since the epoch.
    async fn last_inbound(&self, subject: &Subject) -> Result<Option<i64>>;
}

/// A [`WindowStore`] in memory, for one process and tests.
#[derive(Debug, Default)]
pub struct MemoryWindowStore {
    last: Mutex<HashMap<Subject, i64>>,
}

#[async_trait]
impl WindowStore for MemoryWindowStore {
    async fn touch(&self, subject: &Subject, at_ms: i64) -> Result<()> {
        let mut last = self.last.lock().unwrap_or_else(|p| p.into_inner());
        let entry = last.entry(subject.clone()).or_insert(at_ms);
        *entry = (*entry).max(at_ms);
        Ok(())
    }

    async fn last_inbound(&self, subject: &Subject) -> Result<Option<i64>> {
        Ok(self
            .last
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(subject)
            .copied())
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Wraps a WhatsApp channel: a free-form message (anything but a template) to someone whose
/// window is closed is refused with [`ErrorKind::OutsideWindow`], class
/// [`NeedsTemplate`](crate::ErrorClass::NeedsTemplate), or replaced by the template set with
/// [`or_template`](Self::or_template). Feed it the channel's inbound events with
/// [`observe`](Self::observe).
///
/// ```no_run
/// # async fn run(whatsapp: switchboard::whatsapp::Client, events: Vec<switchboard::InboundEvent>) -> switchboard::Result<()> {
/// use std::sync::Arc;
/// use switchboard::channel::window::{MemoryWindowStore, WindowGuard};
/// use switchboard::{Address, Channel, OutboundMessage, Template};
///
/// let guard = WindowGuard::new(whatsapp, Arc::new(MemoryWindowStore::default()))
///     .or_template(Template::new("reopen_conversation", "de"));
/// for event in &events {
///     guard.observe(event).await?;
/// }
/// let to = Address::phone("+4917612345678")?;
/// guard.send(&OutboundMessage::text(to, "Your table is ready.")).await?; // text, or the template
/// # Ok(()) }
/// ```
pub struct WindowGuard<C> {
    inner: C,
    store: Arc<dyn WindowStore>,
    template: Option<Template>,
}

impl<C: fmt::Debug> fmt::Debug for WindowGuard<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WindowGuard")
            .field("inner", &self.inner)
            .field("template", &self.template.as_ref().map(|t| &t.name))
            .finish_non_exhaustive()
    }
}

impl<C> WindowGuard<C> {
    /// Guards `inner` with the windows kept in `store`.
    pub fn new(inner: C, store: Arc<dyn WindowStore>) -> Self {
        Self {
            inner,
            store,
            template: None,
        }
    }

    /// Sends this template instead of a free-form message outside the window.
    #[must_use]
    pub fn or_template(mut self, template: Template) -> Self {
        self.template = Some(template);
        self
    }

    /// The wrapped channel.
    pub fn inner(&self) -> &C {
        &self.inner
    }
}

impl<C: Channel> WindowGuard<C> {
    /// Records an inbound message of this channel: its sender's window opens (or stays
    /// open) from the message's time. Other events are ignored.
    pub async fn observe(&self, event: &InboundEvent) -> Result<()> {
        let InboundEvent::Message(message) = event else {
            return Ok(());
        };
        if message.channel != self.inner.kind() {
            return Ok(());
        }
        let Some(key) = message.from.key() else {
            return Ok(());
        };
        let subject = Subject {
            channel: message.channel.as_str().to_owned(),
            address: key.to_owned(),
        };
        let at_ms = message
            .timestamp
            .map_or_else(now_ms, |s| clamp_timestamp_ms(s, SystemTime::now()));
        self.store.touch(&subject, at_ms).await
    }

    /// When the window with `message`'s recipient closes; `None` if it is closed.
    pub async fn closes_at(&self, message: &OutboundMessage) -> Result<Option<SystemTime>> {
        let subject = Subject::new(&self.inner.kind(), &message.to);
        let last = self.store.last_inbound(&subject).await?;
        Ok(last.and_then(|ms| {
            let closes = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)) + WINDOW;
            (closes > SystemTime::now()).then_some(closes)
        }))
    }
}

#[async_trait]
impl<C: Channel> Channel for WindowGuard<C> {
    fn kind(&self) -> ChannelKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        if matches!(message.content, Content::Template(_)) || self.closes_at(message).await?.is_some() {
            return self.inner.send(message).await;
        }
        match &self.template {
            Some(template) => {
                let mut replacement = message.clone();
                replacement.content = Content::Template(template.clone());
                self.inner.send(&replacement).await
            }
            None => {
                let subject = Subject::new(&self.inner.kind(), &message.to);
                Err(Error::new(ErrorKind::OutsideWindow {
                    last_inbound_ms: self.store.last_inbound(&subject).await?,
                }))
            }
        }
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.inner.handle_webhook(request)
    }
}
