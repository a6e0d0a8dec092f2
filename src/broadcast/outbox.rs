//! The durable outbox a [`Broadcaster`](super::Broadcaster) works from: one row per
//! recipient and broadcast, moved through its states by atomic batch updates.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;

use crate::consent::Subject;
use crate::error::Result;

/// Where a recipient of a broadcast stands.
///
/// `Pending`, `Claimed` and `Sending` are on the way; the others are final. A recipient is
/// `Sending` only while its request is in flight, so after a crash exactly those rows
/// become `Ambiguous`: the provider may or may not have the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RecipientState {
    /// Waiting to be sent (again, after a transient failure).
    Pending,
    /// Taken by a worker, consent not yet checked; back to pending after a crash.
    Claimed,
    /// The request is in flight.
    Sending,
    /// The provider accepted the message.
    Sent,
    /// The provider refused it, or it failed for good (with a code).
    Failed,
    /// Not sent: the recipient has not consented (opted out mid-broadcast, say).
    Skipped,
    /// The request may have reached the provider when it failed or the process died; not
    /// resent unless asked ([`Broadcaster::resend_ambiguous`](super::Broadcaster::resend_ambiguous)).
    Ambiguous,
}

impl RecipientState {
    /// Every state, in order.
    pub const ALL: [Self; 7] = [
        Self::Pending,
        Self::Claimed,
        Self::Sending,
        Self::Sent,
        Self::Failed,
        Self::Skipped,
        Self::Ambiguous,
    ];

    /// The stored name (`pending`, `sent`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Claimed => "claimed",
            Self::Sending => "sending",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
            Self::Ambiguous => "ambiguous",
        }
    }

    /// Whether the recipient is done with: sent, failed, skipped or ambiguous.
    pub fn is_final(self) -> bool {
        !matches!(self, Self::Pending | Self::Claimed | Self::Sending)
    }
}

impl fmt::Display for RecipientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecipientState {
    type Err = crate::Error;

    fn from_str(name: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| crate::Error::config(format!("unknown recipient state `{name}` in the outbox")))
    }
}

/// A recipient a worker claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Claimed {
    /// The outbox row.
    pub id: i64,
    /// Who.
    pub subject: Subject,
    /// How many attempts failed transiently before this one.
    pub attempts: u32,
}

/// How one claimed recipient ended (or is retried): written by [`Outbox::complete`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Accepted by the provider.
    Sent {
        /// The provider's message id, which replies and statuses refer to.
        message_id: String,
        /// SMS segments billed, where known.
        segments: Option<u32>,
        /// The estimated price in millionths of the price table's currency, if priced.
        cost_micros: Option<i64>,
    },
    /// Failed for good.
    Failed {
        /// The provider's error code, or the kind of failure (`timeout`, `unsupported`).
        code: String,
    },
    /// Not sent for want of consent.
    Skipped {
        /// Why (`opted_out`, `no_opt_in`).
        code: String,
    },
    /// The request may have been delivered.
    Ambiguous {
        /// What went wrong.
        code: String,
    },
    /// Failed transiently; pending again from this time.
    Retry {
        /// Not before this time (ms since the epoch).
        not_before_ms: i64,
        /// What went wrong this time.
        code: String,
    },
}

/// One row of [`Outbox::tally`]: how many recipients of a broadcast share a channel,
/// state, code and delivery, and their summed price.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TallyRow {
    /// The channel.
    pub channel: String,
    /// The state.
    pub state: RecipientState,
    /// The error or skip code, if any.
    pub code: Option<String>,
    /// The delivery reported by status webhooks (`delivered`, `read`, `failed`), if any.
    pub delivery: Option<String>,
    /// How many recipients.
    pub count: u64,
    /// Their summed estimated price (millionths).
    pub cost_micros: i64,
    /// How many of them had no price.
    pub unpriced: u64,
}

impl TallyRow {
    /// A tally row (for implementations of [`Outbox`] outside this crate).
    pub fn new(channel: impl Into<String>, state: RecipientState, count: u64) -> Self {
        Self {
            channel: channel.into(),
            state,
            code: None,
            delivery: None,
            count,
            cost_micros: 0,
            unpriced: 0,
        }
    }
}

/// A message of a broadcast found again: by the id a reply quotes or a status names, or
/// as the latest broadcast message to a person.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Sent {
    /// The broadcast.
    pub broadcast: String,
    /// The recipient.
    pub subject: Subject,
    /// The provider's message id.
    pub message_id: String,
    /// When it was accepted (ms since the epoch).
    pub sent_at_ms: i64,
}

impl fmt::Debug for Sent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sent")
            .field("broadcast", &self.broadcast)
            .field("subject", &self.subject)
            .field("message_id", &self.message_id)
            .field("sent_at_ms", &self.sent_at_ms)
            .finish()
    }
}

/// The storage behind broadcasts. Object safe; SQLite (`sqlite::SqliteOutbox`) and
/// PostgreSQL (`postgres::PostgresOutbox`, several workers) ship with the crate.
///
/// Every method is one atomic step, so a crash between two calls leaves each recipient in
/// a state the next run can resume from; [`claim`](Self::claim) must never hand the same
/// row to two workers.
#[async_trait]
pub trait Outbox: Send + Sync {
    /// Registers a broadcast with its fallback rules (channel to channel, by name); `false`
    /// if it exists already (a resumed run).
    async fn create(&self, broadcast: &str, fallbacks: &[(String, String)]) -> Result<bool>;

    /// The fallback rules `broadcast` was created with.
    async fn fallbacks(&self, broadcast: &str) -> Result<Vec<(String, String)>>;

    /// Whether the audience of `broadcast` was enqueued completely ([`seal`](Self::seal));
    /// `None` if there is no such broadcast.
    async fn is_sealed(&self, broadcast: &str) -> Result<Option<bool>>;

    /// Adds recipients as pending; ones already there are left alone, so enqueueing again
    /// after a crash is harmless. Returns how many were new.
    async fn enqueue(&self, broadcast: &str, recipients: &[Subject]) -> Result<u64>;

    /// Marks the audience complete, and fails (`no_channel`) the pending recipients on
    /// channels not in `channels`, which no worker would ever claim.
    async fn seal(&self, broadcast: &str, channels: &[&str]) -> Result<()>;

    /// After a crash: recipients `worker` (or anyone, before `stale_before_ms`) had
    /// claimed go back to pending, and those it was sending to become ambiguous. Returns
    /// how many became ambiguous.
    async fn recover(&self, broadcast: &str, worker: &str, stale_before_ms: i64) -> Result<u64>;

    /// Ambiguous recipients back to pending (to send them again, knowingly).
    async fn requeue_ambiguous(&self, broadcast: &str) -> Result<u64>;

    /// Pending recipients to skipped, code `cancelled`; returns how many.
    async fn cancel(&self, broadcast: &str) -> Result<u64>;

    /// Claims up to `limit` pending recipients on `channel` that are due at `now_ms`, in
    /// enqueue order, for `worker`.
    async fn claim(
        &self,
        broadcast: &str,
        channel: &str,
        worker: &str,
        limit: usize,
        now_ms: i64,
    ) -> Result<Vec<Claimed>>;

    /// Marks claimed rows as in flight, just before their requests go out.
    async fn mark_sending(&self, ids: &[i64]) -> Result<()>;

    /// Writes outcomes, in one transaction.
    async fn complete(&self, outcomes: &[(i64, Outcome)]) -> Result<()>;

    /// When the next pending recipient on `channel` is due (ms); `None` if none is pending.
    async fn next_due(&self, broadcast: &str, channel: &str) -> Result<Option<i64>>;

    /// The recipients counted by channel, state, code and delivery.
    async fn tally(&self, broadcast: &str) -> Result<Vec<TallyRow>>;

    /// Up to `limit` recipients in `state`, in enqueue order (the ambiguous ones, to review).
    async fn recipients(&self, broadcast: &str, state: RecipientState, limit: usize) -> Result<Vec<Subject>>;

    /// Records a delivery status for the message with this provider id; the message if it
    /// belongs to a broadcast.
    async fn delivery(&self, message_id: &str, status: &str, code: Option<&str>) -> Result<Option<Sent>>;

    /// The broadcast message with this provider id, if any.
    async fn find(&self, message_id: &str) -> Result<Option<Sent>>;

    /// The latest broadcast message to `subject` accepted since `since_ms`, if any.
    async fn latest_to(&self, subject: &Subject, since_ms: i64) -> Result<Option<Sent>>;
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A [`Sent`] as the SQL outboxes select it ([`SENT_COLUMNS`]).
pub(crate) type SentRow = (String, String, String, String, i64);

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// The columns of a [`SentRow`].
pub(crate) const SENT_COLUMNS: &str = "broadcast, channel, address, message_id, sent_at_ms";

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn sent((broadcast, channel, address, message_id, sent_at_ms): SentRow) -> Sent {
    Sent {
        broadcast,
        subject: Subject { channel, address },
        message_id,
        sent_at_ms,
    }
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
/// A tally row as the SQL outboxes select it: channel, state, code, delivery, count,
/// summed cost, unpriced count.
pub(crate) type TallyRowData = (String, String, Option<String>, Option<String>, i64, i64, i64);

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn tally_row(
    (channel, state, code, delivery, count, cost_micros, unpriced): TallyRowData,
) -> Result<TallyRow> {
    Ok(TallyRow {
        channel,
        state: state.parse()?,
        code,
        delivery,
        count: u64::try_from(count).unwrap_or(0),
        cost_micros,
        unpriced: u64::try_from(unpriced).unwrap_or(0),
    })
}
