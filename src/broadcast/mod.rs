//! Broadcasts: one message to every subscriber of a topic, through a durable outbox, at
//! each channel's throughput, with consent checked at send time.
//!
//! A [`Broadcast`] names its audience (the opted-in subscribers of a topic in the consent
//! ledger, optionally by tag, or a list) and its content (per channel if needed: a
//! WhatsApp marketing template, an SMS text). A [`Broadcaster`] enqueues the audience into
//! an [`Outbox`] and fans out, channel by channel, in chunks:
//!
//! 1. claim a chunk of pending recipients (atomically: two workers never share one);
//! 2. look up their consent in one batch, so an opt-out that arrived mid-broadcast is
//!    honoured, and skip those who may not be messaged;
//! 3. wait for the channel's [`Rate`] to admit the whole chunk, mark it in flight, and
//!    send it concurrently;
//! 4. write every outcome in one transaction: sent (with the provider's id, for replies
//!    and statuses), failed (with the code), skipped, ambiguous (the request may have
//!    reached the provider), or pending again after a transient failure.
//!
//! Memory stays bounded by the chunk size, whatever the audience. After a crash, running
//! the same broadcast again resumes it: recipients in flight at the crash are reported
//! ambiguous and, by default, not sent again; everyone else gets the message exactly once.
//!
//! ```no_run
//! # async fn run(whatsapp: switchboard::whatsapp::Client) -> switchboard::Result<()> {
//! use std::sync::Arc;
//! use switchboard::broadcast::{Broadcast, Broadcaster, PriceTable};
//! use switchboard::consent::{SubscriberQuery, sqlite::SqliteStore};
//! use switchboard::{ChannelKind, Content, MessageCategory, Rate, Template};
//!
//! let ledger = SqliteStore::open("switchboard.db").await?;
//! let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await?), Arc::new(ledger))
//!     .channel(whatsapp, Rate::per_second(80))
//!     .prices(PriceTable::new("EUR").whatsapp(MessageCategory::Marketing, "+49", 0.1131));
//! let news = Broadcast::to_subscribers(
//!     "2026-11-newsletter",
//!     SubscriberQuery::topic("news").tagged("region:north"),
//!     Content::Template(Template::new("newsletter_november", "de")),
//! );
//! let report = broadcaster.run(&news, |p| println!("{}/{}", p.done, p.total)).await?;
//! println!("{report}");
//! # Ok(()) }
//! ```

mod outbox;
#[cfg(feature = "postgres")]
pub mod postgres;
mod report;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};

use futures_util::future::{Either, join_all, try_join_all};
use governor::{DefaultDirectRateLimiter, RateLimiter};

pub use outbox::{Claimed, Outbox, Outcome, RecipientState, Sent, TallyRow};
pub use report::{Cost, PriceTable, Progress, Report};

use crate::channel::throttle::Rate;
use crate::channel::{Channel, ChannelKind};
use crate::consent::{ConsentState, ConsentStore, MARKETING, Subject, SubscriberQuery};
use crate::error::{Error, ErrorKind, Result};
use crate::model::address::Address;
use crate::model::inbound::{DeliveryStatus, InboundEvent};
use crate::model::message::{Content, MessageCategory, OutboundMessage};

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Who a broadcast goes to.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Audience {
    /// The subscribers of a topic in the consent ledger (optionally by channel and tag).
    Subscribers(SubscriberQuery),
    /// These recipients; consent is still checked for each at send time.
    List(Vec<Subject>),
}

/// One message to many: its id (the key to resume it under), audience and content.
#[derive(Debug, Clone, PartialEq)]
pub struct Broadcast {
    id: String,
    audience: Audience,
    content: Content,
    per_channel: Vec<(ChannelKind, Content)>,
    fallbacks: Vec<(String, String)>,
    category: MessageCategory,
    topic: Option<String>,
}

impl Broadcast {
    /// A marketing broadcast to the opted-in subscribers of `query`'s topic.
    ///
    /// `id` names it in the outbox: running a broadcast with an id that exists resumes it,
    /// so keep it stable (`2026-11-newsletter`) and never reuse it for other content.
    pub fn to_subscribers(id: impl Into<String>, query: SubscriberQuery, content: Content) -> Self {
        let topic = Some(query.topic.clone());
        Self {
            id: id.into(),
            audience: Audience::Subscribers(query),
            content,
            per_channel: Vec::new(),
            fallbacks: Vec::new(),
            category: MessageCategory::Marketing,
            topic,
        }
    }

    /// A broadcast to these recipients (an import, a segment chosen elsewhere), marketing
    /// by default: set its [`topic`](Self::topic), or a [`category`](Self::category) that
    /// needs no opt-in.
    pub fn to_list(
        id: impl Into<String>,
        recipients: impl IntoIterator<Item = (ChannelKind, Address)>,
        content: Content,
    ) -> Self {
        Self {
            id: id.into(),
            audience: Audience::List(
                recipients
                    .into_iter()
                    .map(|(channel, address)| Subject::new(&channel, &address))
                    .collect(),
            ),
            content,
            per_channel: Vec::new(),
            fallbacks: Vec::new(),
            category: MessageCategory::Marketing,
            topic: None,
        }
    }

    /// Sends `content` on `channel` instead (a template on WhatsApp, text on SMS).
    #[must_use]
    pub fn content_for(mut self, channel: ChannelKind, content: Content) -> Self {
        self.per_channel.retain(|(c, _)| *c != channel);
        self.per_channel.push((channel, content));
        self
    }

    /// When a recipient on `from` cannot be reached there at all (WhatsApp 131026 "not a
    /// WhatsApp user", at once or later in a failed status; content the channel cannot
    /// carry), the broadcast goes to the same number on `to` instead (SMS), with `to`'s
    /// content and consent. Never after a request that may have delivered it, so never
    /// twice. Failures reported by status webhooks are queued by
    /// [`Broadcaster::observe`] and sent by the next [`run`](Broadcaster::run).
    #[must_use]
    pub fn fallback(mut self, from: ChannelKind, to: ChannelKind) -> Self {
        self.fallbacks.retain(|(f, _)| f != from.as_str());
        self.fallbacks
            .push((from.as_str().to_owned(), to.as_str().to_owned()));
        self
    }

    /// Sets the category, which decides the consent needed (marketing: an opt-in).
    #[must_use]
    pub fn category(mut self, category: MessageCategory) -> Self {
        self.category = category;
        self
    }

    /// Sets the consent topic.
    #[must_use]
    pub fn topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// The id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The tracking string every message carries (WhatsApp echoes it in statuses as
    /// `biz_opaque_callback_data`): `broadcast:` and the id.
    pub fn tracking(&self) -> String {
        format!("broadcast:{}", self.id)
    }

    /// The channel a recipient on `channel` who cannot be reached there moves to.
    fn fallback_for(&self, channel: &str) -> Option<&str> {
        self.fallbacks
            .iter()
            .find(|(from, _)| from == channel)
            .map(|(_, to)| to.as_str())
    }

    fn content_on(&self, channel: &str) -> &Content {
        self.per_channel
            .iter()
            .find(|(c, _)| c.as_str() == channel)
            .map_or(&self.content, |(_, content)| content)
    }
}

/// A channel the broadcaster sends on, with its rate.
struct Lane {
    channel: Arc<dyn Channel>,
    name: String,
    limiter: DefaultDirectRateLimiter,
    chunk: usize,
}

/// What [`Broadcaster::observe`] found an inbound event to belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Linked {
    /// A reply (or reaction) to a broadcast message: answer it 1:1.
    Reply {
        /// The broadcast message replied to.
        to: Sent,
        /// Whether the reply quoted the message (else it is the latest broadcast message
        /// to this person within the reply window).
        quoted: bool,
    },
    /// A delivery status of a broadcast message, now recorded in the outbox.
    Status(Sent),
    /// A failed status saying the recipient cannot be reached on that channel: the
    /// broadcast's [fallback](Broadcast::fallback) recipient is queued for the next run.
    Fallback {
        /// The message that could not be delivered.
        failed: Sent,
        /// The recipient queued on the fallback channel.
        queued: Subject,
    },
}

/// Runs [`Broadcast`]s: fan-out from a durable [`Outbox`], consent checked at send time,
/// each channel at its own rate. See the [module docs](self).
pub struct Broadcaster {
    outbox: Arc<dyn Outbox>,
    consent: Arc<dyn ConsentStore>,
    lanes: Vec<Lane>,
    worker: String,
    in_flight_chunks: usize,
    max_attempts: u32,
    lease: Duration,
    resend_ambiguous: bool,
    reply_window: Duration,
    prices: Option<PriceTable>,
}

impl fmt::Debug for Broadcaster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Broadcaster")
            .field(
                "channels",
                &self.lanes.iter().map(|l| &l.name).collect::<Vec<_>>(),
            )
            .field("worker", &self.worker)
            .field("max_attempts", &self.max_attempts)
            .finish_non_exhaustive()
    }
}

impl Broadcaster {
    /// A broadcaster over this outbox and consent ledger, with no channels yet.
    pub fn new(outbox: Arc<dyn Outbox>, consent: Arc<dyn ConsentStore>) -> Self {
        Self {
            outbox,
            consent,
            lanes: Vec::new(),
            worker: "default".into(),
            in_flight_chunks: 2,
            max_attempts: 5,
            lease: Duration::from_secs(300),
            resend_ambiguous: false,
            reply_window: Duration::from_secs(72 * 3600),
            prices: None,
        }
    }

    /// Sends on `channel` at most at `rate` (its throughput limit: 80 per second for a
    /// WhatsApp number by default). Chunks are as large as the rate's burst, up to 100, and
    /// no more than one chunk goes out at once; a second channel of the same kind replaces
    /// the first.
    #[must_use]
    pub fn channel(mut self, channel: impl Channel + 'static, rate: Rate) -> Self {
        let name = channel.kind().as_str().to_owned();
        let chunk = rate.burst_size().clamp(1, 100);
        self.lanes.retain(|l| l.name != name);
        self.lanes.push(Lane {
            channel: Arc::new(channel),
            name,
            // No burst beyond one chunk: a full second's burst on top of the steady rate
            // would send up to twice the limit in the first second (seen: 107% over 10 s).
            limiter: RateLimiter::direct(rate.burst(u32::try_from(chunk).unwrap_or(100)).quota()),
            chunk,
        });
        self
    }

    /// This process's name among several workers sharing a PostgreSQL outbox (the host
    /// name, say): a restarted worker recovers its own unfinished rows at once. Default
    /// `default`, right for one process. Give every worker of a broadcast the same
    /// channels: recipients on a channel a worker lacks are failed as `no_channel`.
    #[must_use]
    pub fn worker(mut self, name: impl Into<String>) -> Self {
        self.worker = name.into();
        self
    }

    /// Rows another worker claimed this long ago without finishing are taken to be from a
    /// crashed worker and recovered (default 5 minutes: far above a request's timeout).
    #[must_use]
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = lease;
        self
    }

    /// Tries a recipient at most this often on transient failures (429, 5xx before
    /// anything was sent) before failing it; default 5.
    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// Sends to ambiguous recipients again when resuming: some may then get the message
    /// twice. Off by default.
    #[must_use]
    pub fn resend_ambiguous(mut self, resend: bool) -> Self {
        self.resend_ambiguous = resend;
        self
    }

    /// How long after a broadcast message an unquoted message from its recipient still
    /// counts as a reply to it (default 72 hours).
    #[must_use]
    pub fn reply_window(mut self, window: Duration) -> Self {
        self.reply_window = window;
        self
    }

    /// Estimates the cost of each message from these prices.
    #[must_use]
    pub fn prices(mut self, prices: PriceTable) -> Self {
        self.prices = Some(prices);
        self
    }

    /// How many chunks per channel are in flight at once (default 2: the next chunk's
    /// consent lookup overlaps the current chunk's requests).
    #[must_use]
    pub fn in_flight_chunks(mut self, chunks: usize) -> Self {
        self.in_flight_chunks = chunks.max(1);
        self
    }

    /// The outbox.
    pub fn outbox(&self) -> &Arc<dyn Outbox> {
        &self.outbox
    }

    /// Runs `broadcast` to the end (or resumes it), calling `progress` after every chunk,
    /// and returns the final [`Report`]. With several workers on one outbox, each returns
    /// once every recipient is final, whoever sent to them.
    ///
    /// Fails only when the outbox or the consent ledger fails; provider errors are
    /// outcomes of single recipients. Running it again after such a failure (or a crash)
    /// resumes where it stopped.
    pub async fn run(&self, broadcast: &Broadcast, progress: impl FnMut(&Progress) + Send) -> Result<Report> {
        self.run_until(broadcast, progress, std::future::pending()).await
    }

    /// [`run`](Self::run), stopping gracefully once `stop` completes (a shutdown signal):
    /// no new chunk is claimed, the chunks in flight are finished and written, and the
    /// report so far is returned ([`is_finished`](Report::is_finished) is then false).
    /// Running the broadcast again carries on; nobody is left ambiguous by the stop.
    ///
    /// ```no_run
    /// # async fn run(broadcaster: switchboard::broadcast::Broadcaster, news: switchboard::broadcast::Broadcast) -> switchboard::Result<()> {
    /// let report = broadcaster
    ///     .run_until(&news, |_| {}, async { tokio::signal::ctrl_c().await.ok(); })
    ///     .await?;
    /// if !report.is_finished() {
    ///     println!("paused: {report}");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn run_until(
        &self,
        broadcast: &Broadcast,
        progress: impl FnMut(&Progress) + Send,
        stop: impl Future<Output = ()> + Send,
    ) -> Result<Report> {
        let stopping = AtomicBool::new(false);
        let work = std::pin::pin!(self.work(broadcast, progress, &stopping));
        let stop = std::pin::pin!(async {
            stop.await;
            stopping.store(true, Ordering::Relaxed);
        });
        match futures_util::future::select(work, stop).await {
            Either::Left((report, _)) => report,
            // Stopping: the work sees the flag at its next chunk and ends.
            Either::Right(((), work)) => work.await,
        }
    }

    /// Skips every recipient of `broadcast` not yet claimed (`skipped`, code `cancelled`):
    /// a running broadcast then ends after its chunks in flight. Returns how many.
    pub async fn cancel(&self, broadcast: &str) -> Result<u64> {
        self.outbox.cancel(broadcast).await
    }

    async fn work(
        &self,
        broadcast: &Broadcast,
        progress: impl FnMut(&Progress) + Send,
        stopping: &AtomicBool,
    ) -> Result<Report> {
        let started = Instant::now();
        let id = broadcast.id.as_str();
        if self.lanes.is_empty() {
            return Err(Error::config("a broadcaster needs at least one channel"));
        }
        self.outbox.create(id, &broadcast.fallbacks).await?;
        if self.outbox.is_sealed(id).await? != Some(true) {
            self.enqueue(broadcast).await?;
        }
        self.recover(id).await?;
        if self.resend_ambiguous {
            self.outbox.requeue_ambiguous(id).await?;
        }
        let tally = self.outbox.tally(id).await?;
        let progress = Mutex::new(Tracker {
            progress: Progress::from_tally(id, &tally),
            callback: progress,
        });
        loop {
            try_join_all(self.lanes.iter().flat_map(|lane| {
                (0..self.in_flight_chunks).map(|_| self.drain(broadcast, lane, &progress, stopping))
            }))
            .await?;
            // Recipients queued meanwhile on a channel this broadcaster does not have (a
            // fallback) can never be sent: fail them rather than wait for them.
            let channels: Vec<&str> = self.lanes.iter().map(|l| l.name.as_str()).collect();
            self.outbox.seal(id, &channels).await?;
            let tally = self.outbox.tally(id).await?;
            let report = Report::from_tally(id, &tally, self.prices.as_ref(), started.elapsed());
            if report.is_finished() || stopping.load(Ordering::Relaxed) {
                return Ok(report);
            }
            // Other workers still have recipients in flight: wait for them, and take over
            // (as pending, or ambiguous if in flight) what a crashed worker left past its lease.
            tokio::time::sleep(Duration::from_millis(200)).await;
            self.recover(id).await?;
        }
    }

    /// Recovers this worker's rows from an earlier crash, and anyone's past the lease.
    async fn recover(&self, id: &str) -> Result<()> {
        let stale = now_ms().saturating_sub(i64::try_from(self.lease.as_millis()).unwrap_or(i64::MAX));
        let interrupted = self.outbox.recover(id, &self.worker, stale).await?;
        if interrupted > 0 {
            tracing::warn!(
                broadcast = id,
                interrupted,
                "recipients in flight at a crash are ambiguous"
            );
        }
        Ok(())
    }

    /// The report of a broadcast as the outbox has it now (delivery statuses included).
    pub async fn report(&self, broadcast: &str) -> Result<Report> {
        let tally = self.outbox.tally(broadcast).await?;
        Ok(Report::from_tally(
            broadcast,
            &tally,
            self.prices.as_ref(),
            Duration::ZERO,
        ))
    }

    /// Links an inbound event to a broadcast: a reply quoting a broadcast message (or, within
    /// the [reply window](Self::reply_window), any message from a recent recipient), a
    /// reaction to one, or a delivery status of one, which is recorded. `None` for
    /// everything else.
    pub async fn observe(&self, event: &InboundEvent) -> Result<Option<Linked>> {
        match event {
            InboundEvent::Message(message) => {
                if let Some(quoted) = &message.reply_to
                    && let Some(to) = self.outbox.find(quoted).await?
                {
                    return Ok(Some(Linked::Reply { to, quoted: true }));
                }
                let Some(key) = message.from.key() else {
                    return Ok(None);
                };
                let subject = Subject {
                    channel: message.channel.as_str().to_owned(),
                    address: key.to_owned(),
                };
                let since =
                    now_ms().saturating_sub(i64::try_from(self.reply_window.as_millis()).unwrap_or(i64::MAX));
                Ok(self
                    .outbox
                    .latest_to(&subject, since)
                    .await?
                    .map(|to| Linked::Reply { to, quoted: false }))
            }
            InboundEvent::Reaction(reaction) => Ok(self
                .outbox
                .find(&reaction.message_id)
                .await?
                .map(|to| Linked::Reply { to, quoted: true })),
            InboundEvent::Status(status) => {
                let delivery = match status.status {
                    DeliveryStatus::Delivered => "delivered",
                    DeliveryStatus::Read => "read",
                    DeliveryStatus::Failed => "failed",
                    _ => return Ok(self.outbox.find(&status.message_id).await?.map(Linked::Status)),
                };
                let code = status.errors.iter().find_map(|e| e.code).map(|c| c.to_string());
                let Some(sent) = self
                    .outbox
                    .delivery(&status.message_id, delivery, code.as_deref())
                    .await?
                else {
                    return Ok(None);
                };
                let unreachable = status
                    .errors
                    .iter()
                    .any(|e| e.class == crate::ErrorClass::Undeliverable);
                if delivery == "failed" && unreachable && sent.subject.address.starts_with('+') {
                    let rules = self.outbox.fallbacks(&sent.broadcast).await?;
                    if let Some((_, to)) = rules.iter().find(|(from, _)| *from == sent.subject.channel) {
                        let queued = Subject {
                            channel: to.clone(),
                            address: sent.subject.address.clone(),
                        };
                        self.outbox
                            .enqueue(&sent.broadcast, std::slice::from_ref(&queued))
                            .await?;
                        return Ok(Some(Linked::Fallback { failed: sent, queued }));
                    }
                }
                Ok(Some(Linked::Status(sent)))
            }
            _ => Ok(None),
        }
    }

    /// Enqueues the audience page by page, then seals it; harmless to repeat.
    async fn enqueue(&self, broadcast: &Broadcast) -> Result<()> {
        const PAGE: usize = 1_000;
        match &broadcast.audience {
            Audience::Subscribers(query) => {
                let mut after = None;
                loop {
                    let page = self.consent.subscribers(query, after.as_ref(), PAGE).await?;
                    self.outbox.enqueue(&broadcast.id, &page.subjects).await?;
                    match page.next {
                        Some(next) => after = Some(next),
                        None => break,
                    }
                }
            }
            Audience::List(subjects) => {
                for chunk in subjects.chunks(PAGE) {
                    self.outbox.enqueue(&broadcast.id, chunk).await?;
                }
            }
        }
        let channels: Vec<&str> = self.lanes.iter().map(|l| l.name.as_str()).collect();
        self.outbox.seal(&broadcast.id, &channels).await
    }

    /// Sends chunk after chunk on one lane until none is pending.
    async fn drain<F: FnMut(&Progress) + Send>(
        &self,
        broadcast: &Broadcast,
        lane: &Lane,
        progress: &Mutex<Tracker<F>>,
        stopping: &AtomicBool,
    ) -> Result<()> {
        loop {
            if stopping.load(Ordering::Relaxed) {
                return Ok(());
            }
            let now = now_ms();
            let claimed = self
                .outbox
                .claim(&broadcast.id, &lane.name, &self.worker, lane.chunk, now)
                .await?;
            if claimed.is_empty() {
                match self.outbox.next_due(&broadcast.id, &lane.name).await? {
                    None => return Ok(()),
                    Some(due) => {
                        // Short naps, so that a stop is seen soon.
                        let wait = u64::try_from(due.saturating_sub(now)).unwrap_or(0).clamp(10, 200);
                        tokio::time::sleep(Duration::from_millis(wait)).await;
                        continue;
                    }
                }
            }
            let (outcomes, fallbacks) = self.send_chunk(broadcast, lane, claimed).await?;
            // Fallback recipients first: a crash in between then leaves the primary
            // ambiguous, never the fallback lost.
            if !fallbacks.is_empty() {
                self.outbox.enqueue(&broadcast.id, &fallbacks).await?;
            }
            self.outbox.complete(&outcomes).await?;
            let mut tracker = progress.lock().unwrap_or_else(|p| p.into_inner());
            tracker.record(&outcomes);
        }
    }

    /// Checks consent for a claimed chunk, sends to those who may be messaged, and returns
    /// every recipient's outcome.
    async fn send_chunk(
        &self,
        broadcast: &Broadcast,
        lane: &Lane,
        claimed: Vec<Claimed>,
    ) -> Result<(Vec<(i64, Outcome)>, Vec<Subject>)> {
        let verdicts = self.consent_verdicts(broadcast, &claimed).await?;
        let mut outcomes = Vec::with_capacity(claimed.len());
        let mut to_send = Vec::with_capacity(claimed.len());
        for (row, verdict) in claimed.into_iter().zip(verdicts) {
            match verdict {
                Some(code) => outcomes.push((row.id, Outcome::Skipped { code: code.into() })),
                None => to_send.push(row),
            }
        }
        if to_send.is_empty() {
            return Ok((outcomes, Vec::new()));
        }
        // Take the whole chunk's share of the rate first, so that a row is marked in
        // flight only when its request really is about to leave.
        let n = std::num::NonZeroU32::new(u32::try_from(to_send.len()).unwrap_or(u32::MAX))
            .unwrap_or(std::num::NonZeroU32::MIN);
        loop {
            match lane.limiter.check_n(n) {
                Ok(Ok(())) => break,
                Ok(Err(not_until)) => {
                    let wait = not_until.wait_time_from(governor::clock::Clock::now(lane.limiter.clock()));
                    tokio::time::sleep(wait).await;
                }
                // The chunk never exceeds the burst; should it, send without waiting.
                Err(_) => break,
            }
        }
        let ids: Vec<i64> = to_send.iter().map(|r| r.id).collect();
        self.outbox.mark_sending(&ids).await?;
        let content = broadcast.content_on(&lane.name);
        let tracking = broadcast.tracking();
        let results = join_all(to_send.iter().map(|row| {
            let message = address_of(&row.subject).map(|to| {
                let mut message = OutboundMessage::new(to, content.clone())
                    .category(broadcast.category)
                    .tracking(tracking.clone());
                message.topic.clone_from(&broadcast.topic);
                message
            });
            async move {
                match message {
                    Ok(message) => lane.channel.send(&message).await,
                    Err(invalid) => Err(Error::new(ErrorKind::Validation(invalid))),
                }
            }
        }))
        .await;
        let mut fallbacks = Vec::new();
        let kind = lane.channel.kind();
        for (row, result) in to_send.iter().zip(results) {
            let outcome = match result {
                Ok(receipt) => Outcome::Sent {
                    cost_micros: self.prices.as_ref().and_then(|p| {
                        p.cost(
                            &lane.name,
                            broadcast.category,
                            &row.subject.address,
                            receipt.segments,
                        )
                    }),
                    segments: receipt.segments.map(|s| u32::try_from(s).unwrap_or(u32::MAX)),
                    message_id: receipt.message_id,
                },
                Err(error) => {
                    // The opt-out behind a refusal (131050, 21610) goes into the ledger, as
                    // the guard does.
                    crate::consent::record_provider_refusal(&*self.consent, &kind, &row.subject, &error)
                        .await;
                    if let Some(to) = broadcast.fallback_for(&lane.name)
                        && crate::channel::fallback::is_permanent_miss(&error)
                        && row.subject.address.starts_with('+')
                    {
                        fallbacks.push(Subject {
                            channel: to.to_owned(),
                            address: row.subject.address.clone(),
                        });
                    }
                    outcome_of(&error, row.attempts, self.max_attempts, now_ms())
                }
            };
            outcomes.push((row.id, outcome));
        }
        Ok((outcomes, fallbacks))
    }

    /// For each claimed row, `None` if it may be messaged, else the skip code.
    async fn consent_verdicts(
        &self,
        broadcast: &Broadcast,
        claimed: &[Claimed],
    ) -> Result<Vec<Option<&'static str>>> {
        let subjects: Vec<Subject> = claimed.iter().map(|c| c.subject.clone()).collect();
        let topic = broadcast.topic.as_deref();
        if broadcast.category != MessageCategory::Marketing {
            // No opt-in needed, only no opt-out: of everything or of the broadcast's topic.
            let states = self.consent.states(&subjects, topic).await?;
            return Ok(states
                .into_iter()
                .map(|s| s.is_opted_out().then_some("opted_out"))
                .collect());
        }
        let states = self.consent.states(&subjects, topic).await?;
        // The platform marketing stop (WhatsApp "stop promotions") overrides a topic opt-in.
        let marketing = if topic == Some(MARKETING) {
            vec![ConsentState::Unknown; subjects.len()]
        } else {
            self.consent.states(&subjects, Some(MARKETING)).await?
        };
        Ok(states
            .into_iter()
            .zip(marketing)
            .map(|(state, marketing)| match state {
                _ if marketing.is_opted_out() => Some("opted_out"),
                ConsentState::OptedIn { .. } => None,
                ConsentState::OptedOut { .. } => Some("opted_out"),
                _ => Some("no_opt_in"),
            })
            .collect())
    }
}

/// The channel's address for a stored subject.
fn address_of(subject: &Subject) -> std::result::Result<Address, crate::ValidationError> {
    if subject.address.starts_with('+') {
        Address::phone(&subject.address)
    } else {
        Address::user(subject.address.clone())
    }
}

/// What a failed send means for its recipient: pure, so the policy is tested on its own.
pub(crate) fn outcome_of(error: &Error, attempts: u32, max_attempts: u32, now_ms: i64) -> Outcome {
    let code = error_code(error);
    if matches!(error.kind(), ErrorKind::ConsentDenied { .. }) {
        return Outcome::Skipped { code };
    }
    if error.may_have_been_sent() {
        return Outcome::Ambiguous { code };
    }
    if error.is_retryable() && attempts + 1 < max_attempts {
        // Exponential from one second, capped at a minute, unless the provider said when.
        let backoff = Duration::from_secs(1u64 << attempts.min(6)).min(Duration::from_secs(60));
        let wait = error.retry_after().unwrap_or(backoff);
        return Outcome::Retry {
            not_before_ms: now_ms.saturating_add(i64::try_from(wait.as_millis()).unwrap_or(i64::MAX)),
            code,
        };
    }
    Outcome::Failed { code }
}

/// The code a failure is counted under: the provider's error code, else its kind.
pub(crate) fn error_code(error: &Error) -> String {
    if let Some(code) = error.provider_code() {
        return code.to_string();
    }
    match error.kind() {
        ErrorKind::RateLimited { .. } => "rate_limited",
        ErrorKind::Timeout { .. } => "timeout",
        ErrorKind::Transport { .. } => "transport",
        ErrorKind::Decode { .. } => "decode",
        ErrorKind::Validation(_) => "validation",
        ErrorKind::ConsentDenied { .. } => "consent",
        ErrorKind::OutsideWindow { .. } => "outside_window",
        ErrorKind::Unsupported { .. } => "unsupported",
        ErrorKind::Api(api) => return format!("http_{}", api.status.as_u16()),
        _ => "other",
    }
    .to_owned()
}

/// The running counts and the caller's progress callback.
struct Tracker<F> {
    progress: Progress,
    callback: F,
}

impl<F: FnMut(&Progress)> Tracker<F> {
    fn record(&mut self, outcomes: &[(i64, Outcome)]) {
        for (_, outcome) in outcomes {
            self.progress.count(outcome);
        }
        (self.callback)(&self.progress);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, ErrorClass};

    fn api(code: i64, class: ErrorClass) -> Error {
        Error::new(ErrorKind::Api(Box::new(
            ApiError::new("whatsapp", http::StatusCode::BAD_REQUEST, class, "nope").with_code(code),
        )))
    }

    #[test]
    fn failures_map_to_outcomes() {
        let refused = api(131_026, ErrorClass::Undeliverable);
        assert_eq!(
            outcome_of(&refused, 0, 5, 0),
            Outcome::Failed {
                code: "131026".into()
            }
        );
        let dropped = Error::transport(true, "reset");
        assert_eq!(
            outcome_of(&dropped, 0, 5, 0),
            Outcome::Ambiguous {
                code: "transport".into()
            }
        );
        let limited = Error::new(ErrorKind::RateLimited {
            retry_after: Some(Duration::from_millis(1500)),
            scope: crate::error::RateLimitScope::Sender,
            api: None,
        });
        assert_eq!(
            outcome_of(&limited, 0, 5, 1_000),
            Outcome::Retry {
                not_before_ms: 2_500,
                code: "rate_limited".into()
            }
        );
        assert_eq!(
            outcome_of(&limited, 4, 5, 1_000),
            Outcome::Failed {
                code: "rate_limited".into()
            },
            "the last attempt fails for good"
        );
        let not_sent = Error::transport(false, "refused");
        assert_eq!(
            outcome_of(&not_sent, 2, 5, 0),
            Outcome::Retry {
                not_before_ms: 4_000,
                code: "transport".into()
            },
            "backoff doubles"
        );
    }
}
