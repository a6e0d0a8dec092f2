//! [`Throttle`]: a decorator that keeps any [`Channel`] within its provider's throughput
//! limits, per sender and per recipient.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::channel::{Capabilities, Channel, ChannelKind};
use crate::error::{Error, ErrorKind, Problem, RateLimitScope, Result, ValidationError};
use crate::model::message::{OutboundMessage, SendReceipt};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// A rate: `burst` messages at once, refilled at one every `period`.
///
/// ```
/// use std::time::Duration;
/// use switchboard::Rate;
///
/// let business_number = Rate::per_second(80);
/// let same_user = Rate::every(Duration::from_secs(6)).burst(45);
/// # let _ = (business_number, same_user);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    period: Duration,
    burst: NonZeroU32,
}

impl Rate {
    /// `n` messages per second (at least one), with a burst of `n`.
    pub fn per_second(n: u32) -> Self {
        let n = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        Self {
            period: Duration::from_secs(1) / n.get(),
            burst: n,
        }
    }

    /// One message every `period` (at least 1 ns), with no burst.
    pub fn every(period: Duration) -> Self {
        Self {
            period: period.max(Duration::from_nanos(1)),
            burst: NonZeroU32::MIN,
        }
    }

    /// Allows up to `n` messages at once (at least one), borrowing from later periods.
    #[must_use]
    pub fn burst(mut self, n: u32) -> Self {
        self.burst = NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
        self
    }

    /// How many messages may go at once.
    pub(crate) fn burst_size(self) -> usize {
        self.burst.get() as usize
    }

    pub(crate) fn quota(self) -> Quota {
        Quota::with_period(self.period)
            .expect("period is never zero")
            .allow_burst(self.burst)
    }
}

/// The limits a [`Throttle`] enforces.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleLimits {
    /// Limit per sender ([`OutboundMessage::sender`], or the channel's default sender).
    pub per_sender: Option<Rate>,
    /// Limit per recipient.
    pub per_recipient: Option<Rate>,
    /// The longest a send waits for its turn; beyond it the send fails at once with
    /// [`ErrorKind::RateLimited`] and the time to wait, so a caller can reschedule.
    pub max_wait: Duration,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        Self::new()
    }
}

impl ThrottleLimits {
    /// No limits yet; `max_wait` 30 s.
    pub fn new() -> Self {
        Self {
            per_sender: None,
            per_recipient: None,
            max_wait: Duration::from_secs(30),
        }
    }

    /// WhatsApp Cloud API defaults: 80 messages/s per business number, and the pair rate
    /// limit of one message every 6 s to the same user with bursts of up to 45.
    pub fn whatsapp() -> Self {
        Self::new()
            .per_sender(Rate::per_second(80))
            .per_recipient(Rate::every(Duration::from_secs(6)).burst(45))
    }

    /// X DM defaults under the current pay-per-use limits: 15 sends per 15 minutes per
    /// account (one a minute, with the whole window as a burst). X also caps an app at
    /// 1,440 sends a day; its headers report both ([`RateLimits`](crate::RateLimits)).
    pub fn x_dms() -> Self {
        Self::new().per_sender(Rate::every(Duration::from_secs(60)).burst(15))
    }

    /// WhatsApp defaults with a business number upgraded to `mps` messages per second
    /// (Meta allows up to 1,000).
    pub fn whatsapp_with_throughput(mps: u32) -> Result<Self, ValidationError> {
        if !(1..=1000).contains(&mps) {
            return Err(ValidationError::new(
                "throughput",
                Problem::Invalid("WhatsApp throughput is 1 to 1000 messages per second".into()),
            ));
        }
        Ok(Self::whatsapp().per_sender(Rate::per_second(mps)))
    }

    /// Sets the per-sender limit.
    #[must_use]
    pub fn per_sender(mut self, rate: Rate) -> Self {
        self.per_sender = Some(rate);
        self
    }

    /// Sets the per-recipient limit.
    #[must_use]
    pub fn per_recipient(mut self, rate: Rate) -> Self {
        self.per_recipient = Some(rate);
        self
    }

    /// Sets the longest wait before failing with a rate-limit error.
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }
}

type Limiter = DefaultKeyedRateLimiter<String>;

/// Keeps a channel within throughput limits: sends wait for their turn, per sender and per
/// recipient, and fail with [`ErrorKind::RateLimited`] if the wait would exceed
/// [`ThrottleLimits::max_wait`]. Clones share the same limits.
///
/// ```no_run
/// # async fn run(client: switchboard::whatsapp::Client) -> switchboard::Result<()> {
/// use switchboard::{Address, Channel, ChannelExt, OutboundMessage, ThrottleLimits};
///
/// let channel = client.throttle(ThrottleLimits::whatsapp());
/// let to = Address::phone("+16505551234")?;
/// channel.send(&OutboundMessage::text(to, "Hello")).await?;
/// # Ok(()) }
/// ```
pub struct Throttle<C> {
    inner: C,
    shared: Arc<Shared>,
}

struct Shared {
    limits: ThrottleLimits,
    senders: Option<Limiter>,
    recipients: Option<Limiter>,
    sends: AtomicU64,
}

/// How many sends between sweeps of idle keys, so the per-recipient table does not grow
/// with every address ever messaged.
const SWEEP_EVERY: u64 = 4096;

impl<C> Throttle<C> {
    /// Wraps `inner` with these limits.
    pub fn new(inner: C, limits: ThrottleLimits) -> Self {
        let shared = Shared {
            senders: limits.per_sender.map(|r| RateLimiter::keyed(r.quota())),
            recipients: limits.per_recipient.map(|r| RateLimiter::keyed(r.quota())),
            limits,
            sends: AtomicU64::new(0),
        };
        Self {
            inner,
            shared: Arc::new(shared),
        }
    }

    /// The wrapped channel.
    pub fn inner(&self) -> &C {
        &self.inner
    }

    /// The limits in force.
    pub fn limits(&self) -> &ThrottleLimits {
        &self.shared.limits
    }

    async fn acquire(&self, limiter: &Limiter, key: &String, scope: RateLimitScope) -> Result<()> {
        loop {
            let Err(not_until) = limiter.check_key(key) else {
                return Ok(());
            };
            let wait = not_until.wait_time_from(limiter.clock().now());
            if wait > self.shared.limits.max_wait {
                return Err(Error::new(ErrorKind::RateLimited {
                    retry_after: Some(wait),
                    scope,
                    api: None,
                }));
            }
            tokio::time::sleep(wait).await;
        }
    }

    fn sweep(&self) {
        if self.shared.sends.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            for limiter in [&self.shared.senders, &self.shared.recipients]
                .into_iter()
                .flatten()
            {
                limiter.retain_recent();
                limiter.shrink_to_fit();
            }
        }
    }
}

impl<C: Clone> Clone for Throttle<C> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            shared: Arc::clone(&self.shared),
        }
    }
}

impl<C: fmt::Debug> fmt::Debug for Throttle<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Throttle")
            .field("inner", &self.inner)
            .field("limits", &self.shared.limits)
            .finish()
    }
}

#[async_trait]
impl<C: Channel> Channel for Throttle<C> {
    fn kind(&self) -> ChannelKind {
        self.inner.kind()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn send(&self, message: &OutboundMessage) -> Result<SendReceipt> {
        self.sweep();
        // The recipient's turn first: waiting for it must not hold a sender slot that
        // other recipients could use.
        if let Some(limiter) = &self.shared.recipients {
            let key = message.to.as_key().to_owned();
            self.acquire(limiter, &key, RateLimitScope::Recipient).await?;
        }
        if let Some(limiter) = &self.shared.senders {
            let key = message.sender.clone().unwrap_or_default();
            self.acquire(limiter, &key, RateLimitScope::Sender).await?;
        }
        self.inner.send(message).await
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.inner.handle_webhook(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::address::Address;
    use std::sync::atomic::AtomicUsize;

    #[derive(Default, Clone)]
    struct Counting(Arc<AtomicUsize>);

    #[async_trait]
    impl Channel for Counting {
        fn kind(&self) -> ChannelKind {
            ChannelKind::custom("counting")
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::new().with_text(100)
        }
        async fn send(&self, _: &OutboundMessage) -> Result<SendReceipt> {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            Ok(SendReceipt::new(self.kind(), n.to_string()))
        }
        fn handle_webhook(&self, _: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
            Err(WebhookError::NotConfigured)
        }
    }

    fn msg(to: &str) -> OutboundMessage {
        OutboundMessage::text(Address::phone(to).unwrap(), "hi")
    }

    #[tokio::test]
    async fn per_recipient_burst_then_rejects_beyond_max_wait() {
        let limits = ThrottleLimits::new()
            .per_recipient(Rate::every(Duration::from_secs(6)).burst(2))
            .max_wait(Duration::from_millis(10));
        let t = Throttle::new(Counting::default(), limits);
        t.send(&msg("+16505551234")).await.unwrap();
        t.send(&msg("+16505551234")).await.unwrap();
        let err = t.send(&msg("+16505551234")).await.unwrap_err();
        match err.kind() {
            ErrorKind::RateLimited {
                scope: RateLimitScope::Recipient,
                retry_after: Some(after),
                ..
            } => assert!(*after > Duration::from_secs(5)),
            other => panic!("unexpected {other:?}"),
        }
        // Another recipient is not affected.
        t.send(&msg("+16505550000")).await.unwrap();
        assert_eq!(t.inner().0.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn per_sender_limit_waits_for_its_turn() {
        let limits = ThrottleLimits::new().per_sender(Rate::every(Duration::from_millis(20)));
        let t = Throttle::new(Counting::default(), limits);
        for i in 0..3 {
            t.send(&msg(&format!("+1650555000{i}"))).await.unwrap();
        }
        // A second sender has its own budget and is refused only by its own limit.
        let t2 = t.clone();
        t2.send(&msg("+16505551111").sender("other")).await.unwrap();
        assert_eq!(t.inner().0.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn whatsapp_defaults_and_throughput_bounds() {
        let l = ThrottleLimits::whatsapp();
        assert_eq!(l.per_sender, Some(Rate::per_second(80)));
        assert_eq!(
            l.per_recipient,
            Some(Rate::every(Duration::from_secs(6)).burst(45))
        );
        assert!(ThrottleLimits::whatsapp_with_throughput(1000).is_ok());
        assert!(ThrottleLimits::whatsapp_with_throughput(1001).is_err());
        assert!(ThrottleLimits::whatsapp_with_throughput(0).is_err());
    }
}
