//! The consent ledger: append-only records, the state derived from them, and the
//! [`ConsentStore`] trait its backends implement.
//!
//! A record says who (a [`Subject`]), about what (a topic, or everything), did what (opt in
//! or out), how (the [`Source`] and its [`Evidence`]) and when. Records are never changed;
//! the current state for a topic is the latest record for that topic or for everything, so
//! "STOP" after "START NEWS" stops the news too, and "START NEWS" after "STOP" resumes only
//! the news.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::channel::ChannelKind;
use crate::error::{Error, Result};
use crate::model::address::{Address, Redacted, mask};
use crate::model::inbound::ConsentAction;

/// Who a record is about: a channel and an address on it (a phone number or a platform
/// user id). `Debug` masks the address.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Subject {
    /// The channel (`whatsapp`, `sms`, `twitter`, or a custom name).
    pub channel: String,
    /// The address on that channel: E.164 for phone numbers, else the platform's user id.
    pub address: String,
}

impl Subject {
    /// The subject for an address on a channel.
    pub fn new(channel: &ChannelKind, address: &Address) -> Self {
        Self {
            channel: channel.as_str().to_owned(),
            address: address.as_key().to_owned(),
        }
    }
}

impl fmt::Debug for Subject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Subject({}:{})", self.channel, mask(&self.address))
    }
}

/// How consent was given or revoked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Source {
    /// A keyword message (STOP, START).
    Keyword,
    /// A web form.
    WebForm,
    /// Your application, through the API.
    Api,
    /// A provider's own signal (WhatsApp marketing stop, Twilio 21610, an X block).
    Provider,
}

impl Source {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Keyword => "keyword",
            Self::WebForm => "web_form",
            Self::Api => "api",
            Self::Provider => "provider",
        }
    }

    /// The source with this stored name.
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "keyword" => Self::Keyword,
            "web_form" => Self::WebForm,
            "api" => Self::Api,
            "provider" => Self::Provider,
            _ => return None,
        })
    }
}

/// What proves a record: the message that carried a keyword, or the form that was sent.
/// `Debug` shows the text's length and a masked IP address, never what the person wrote or
/// where they were.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Evidence {
    /// The provider's message id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// The text received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The URL of the web form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The IP address that submitted the form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
}

impl fmt::Debug for Evidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Evidence")
            .field("message_id", &self.message_id)
            .field("text", &self.text.as_deref().map(Redacted))
            .field(
                "url",
                &self
                    .url
                    .as_deref()
                    .map(|u| u.split(['?', '#']).next().unwrap_or_default()),
            )
            .field("ip", &self.ip.as_deref().map(mask_ip))
            .finish()
    }
}

/// An IP address with its host part hidden: the first two octets of IPv4, the first two
/// groups of IPv6; anything else entirely.
fn mask_ip(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(v4)) => {
            let [a, b, ..] = v4.octets();
            format!("{a}.{b}.*.*")
        }
        Ok(std::net::IpAddr::V6(v6)) => {
            let [a, b, ..] = v6.segments();
            format!("{a:x}:{b:x}:*")
        }
        Err(_) => "*".repeat(ip.chars().count().min(8)),
    }
}

impl Evidence {
    /// Evidence from an inbound message.
    pub fn message(message_id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            message_id: Some(message_id.into()),
            text: Some(text.into()),
            ..Self::default()
        }
    }

    /// Evidence from a web form.
    pub fn web_form(url: impl Into<String>, ip: impl Into<String>) -> Self {
        Self {
            url: Some(url.into()),
            ip: Some(ip.into()),
            ..Self::default()
        }
    }
}

/// One entry of the ledger. Never changed once appended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsentRecord {
    /// Who.
    pub subject: Subject,
    /// About what; `None` for everything.
    pub topic: Option<String>,
    /// Opt-in or opt-out.
    #[serde(with = "action_name")]
    pub action: ConsentAction,
    /// How.
    pub source: Source,
    /// The proof.
    pub evidence: Evidence,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

impl ConsentRecord {
    /// A record made now.
    pub fn new(
        subject: Subject,
        topic: Option<&str>,
        action: ConsentAction,
        source: Source,
        evidence: Evidence,
    ) -> Self {
        let at_ms = now_ms();
        Self {
            subject,
            topic: topic.map(str::to_owned),
            action,
            source,
            evidence,
            at_ms,
        }
    }

    /// Sets the time (milliseconds since the Unix epoch), for imports and tests.
    #[must_use]
    pub fn at(mut self, at_ms: i64) -> Self {
        self.at_ms = at_ms;
        self
    }
}

mod action_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::model::inbound::ConsentAction;

    pub(super) fn serialize<S: Serializer>(action: &ConsentAction, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::action_str(*action))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ConsentAction, D::Error> {
        let name = String::deserialize(d)?;
        super::parse_action(&name).ok_or_else(|| serde::de::Error::custom("expected opt_in or opt_out"))
    }
}

/// The stored name of an action.
pub(crate) fn action_str(action: ConsentAction) -> &'static str {
    match action {
        ConsentAction::OptIn => "opt_in",
        ConsentAction::OptOut => "opt_out",
    }
}

/// The action with this stored name.
pub(crate) fn parse_action(name: &str) -> Option<ConsentAction> {
    match name {
        "opt_in" => Some(ConsentAction::OptIn),
        "opt_out" => Some(ConsentAction::OptOut),
        _ => None,
    }
}

/// A record read back from a SQL backend; a row with an unknown action or source, or
/// unreadable evidence, is a storage error rather than a guess.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn stored_record(
    backend: &'static str,
    subject: &Subject,
    topic: Option<String>,
    action: &str,
    source: &str,
    evidence: &str,
    at_ms: i64,
) -> Result<ConsentRecord> {
    let corrupt = || crate::error::Error::storage(backend, "a stored record has an unknown action or source");
    Ok(ConsentRecord {
        subject: subject.clone(),
        topic,
        action: parse_action(action).ok_or_else(corrupt)?,
        source: Source::parse(source).ok_or_else(corrupt)?,
        evidence: serde_json::from_str(evidence).map_err(|e| crate::error::Error::storage(backend, e))?,
        at_ms,
    })
}

/// The state from a backend's latest matching row (`action`, `at_ms`), if any.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn latest_state(row: Option<(String, i64)>) -> ConsentState {
    row.and_then(|(action, at_ms)| {
        parse_action(&action).map(|a| ConsentState::Unknown.fold(None, a, at_ms, None))
    })
    .unwrap_or(ConsentState::Unknown)
}

/// The positions of `subjects` grouped by channel, then by address: batch queries look up
/// one channel's addresses at a time (an index range per address) and map rows back here.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn by_channel(subjects: &[Subject]) -> HashMap<&str, HashMap<&str, Vec<usize>>> {
    let mut groups: HashMap<&str, HashMap<&str, Vec<usize>>> = HashMap::new();
    for (i, s) in subjects.iter().enumerate() {
        groups
            .entry(s.channel.as_str())
            .or_default()
            .entry(s.address.as_str())
            .or_default()
            .push(i);
    }
    groups
}

/// The tombstone ids of `subjects`, and the positions of each id (for [`fold_rows`]).
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn tombstone_positions(key: &ErasureKey, subjects: &[Subject]) -> HashMap<String, Vec<usize>> {
    let mut positions: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, subject) in subjects.iter().enumerate() {
        positions.entry(key.tombstone_id(subject)).or_default().push(i);
    }
    positions
}

/// A batch row: address (or tombstone id), topic, action, time.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) type BatchRow = (String, Option<String>, String, i64);

/// Folds a backend's batch rows (`address`, `topic`, `action`, `at_ms`) for one channel into
/// the states of the subjects at those addresses.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn fold_rows<K: std::borrow::Borrow<str> + Eq + std::hash::Hash>(
    states: &mut [ConsentState],
    positions: &HashMap<K, Vec<usize>>,
    rows: impl IntoIterator<Item = BatchRow>,
    topic: Option<&str>,
) {
    for (address, record_topic, action, at_ms) in rows {
        let (Some(indexes), Some(action)) = (positions.get(address.as_str()), parse_action(&action)) else {
            continue;
        };
        for &i in indexes {
            states[i] = states[i].fold(record_topic.as_deref(), action, at_ms, topic);
        }
    }
}

/// Where a subject stands on a topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsentState {
    /// No record: neither opted in nor out.
    Unknown,
    /// Opted in, at this time (ms).
    OptedIn {
        /// When.
        since_ms: i64,
    },
    /// Opted out, at this time (ms).
    OptedOut {
        /// When.
        since_ms: i64,
    },
}

impl ConsentState {
    /// Whether an opt-out is in force.
    pub fn is_opted_out(self) -> bool {
        matches!(self, Self::OptedOut { .. })
    }

    /// Whether an opt-in is in force.
    pub fn is_opted_in(self) -> bool {
        matches!(self, Self::OptedIn { .. })
    }

    /// The later of two states, an opt-out at the same instant winning: how the states of
    /// linked subjects (one person on SMS and WhatsApp) combine.
    #[must_use]
    pub fn latest(self, other: Self) -> Self {
        match other {
            Self::Unknown => self,
            Self::OptedIn { since_ms } => self.fold(None, ConsentAction::OptIn, since_ms, None),
            Self::OptedOut { since_ms } => self.fold(None, ConsentAction::OptOut, since_ms, None),
        }
    }

    /// The state after `record`, if it concerns `topic` (or everything) and is not older.
    pub(crate) fn fold(
        self,
        record_topic: Option<&str>,
        action: ConsentAction,
        at_ms: i64,
        topic: Option<&str>,
    ) -> Self {
        if record_topic.is_some() && record_topic != topic {
            return self;
        }
        let current = match self {
            Self::Unknown => i64::MIN,
            Self::OptedIn { since_ms } | Self::OptedOut { since_ms } => since_ms,
        };
        // Later wins; at the same instant an opt-out wins, as the cautious reading.
        let replaces = at_ms > current || (at_ms == current && action == ConsentAction::OptOut);
        if !replaces {
            return self;
        }
        match action {
            ConsentAction::OptIn => Self::OptedIn { since_ms: at_ms },
            ConsentAction::OptOut => Self::OptedOut { since_ms: at_ms },
        }
    }
}

/// The consent ledger. Object safe: share it as `Arc<dyn ConsentStore>`.
///
/// `append` must be durable when it returns: an opt-out acknowledged to the sender may
/// never be lost.
#[async_trait]
pub trait ConsentStore: Send + Sync {
    /// Appends a record.
    async fn append(&self, record: &ConsentRecord) -> Result<()>;

    /// Appends many records at once (an import): all or none where the backend has
    /// transactions. The default appends them one by one.
    async fn append_all(&self, records: &[ConsentRecord]) -> Result<()> {
        for record in records {
            self.append(record).await?;
        }
        Ok(())
    }

    /// The state of `subject` for `topic` (`None`: everything).
    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState>;

    /// The states of many subjects for one topic, in the same order: one call per batch
    /// of a broadcast.
    async fn states(&self, subjects: &[Subject], topic: Option<&str>) -> Result<Vec<ConsentState>>;

    /// Every record of `subject`, oldest first: the proof, and the GDPR export.
    async fn records(&self, subject: &Subject) -> Result<Vec<ConsentRecord>>;

    /// Erases `subject` (GDPR Art. 17): every record goes, so the address is no longer
    /// stored in clear, but each opt-out in force stays in force as a tombstone keyed by an
    /// HMAC of the subject under the store's [`ErasureKey`]. A person who had opted out can
    /// never be messaged again by mistake; their opt-ins are gone with the records, so
    /// they must opt in afresh. Fails with a configuration error if the store has no key.
    async fn erase(&self, subject: &Subject) -> Result<Erasure>;

    /// Sets the tags of `subject` (a region, a customer segment), replacing its earlier
    /// ones; an empty list removes them. Broadcasts pick their audience by tag
    /// ([`SubscriberQuery::tagged`]); [`erase`](Self::erase) removes them.
    async fn set_tags(&self, subject: &Subject, tags: &[&str]) -> Result<()>;

    /// The tags of `subject`, sorted.
    async fn tags(&self, subject: &Subject) -> Result<Vec<String>>;

    /// One page of the subjects opted in to `query`'s topic, in (channel, address) order
    /// after `after`: the audience of a broadcast, read page by page so that its size never
    /// has to fit in memory. Pass the page's [`next`](SubscriberPage::next) as `after` until
    /// it is `None`; a page can hold fewer than `limit` subjects (or none) before the end.
    async fn subscribers(
        &self,
        query: &SubscriberQuery,
        after: Option<&Subject>,
        limit: usize,
    ) -> Result<SubscriberPage>;

    /// Every record of `subject` as a self-describing document (GDPR Art. 15 and 20).
    async fn export(&self, subject: &Subject) -> Result<ConsentExport> {
        Ok(ConsentExport {
            format: ConsentExport::FORMAT.to_owned(),
            subject: subject.clone(),
            exported_at_ms: now_ms(),
            records: self.records(subject).await?,
        })
    }
}

/// Who [`ConsentStore::subscribers`] lists: the subjects opted in to a topic, optionally
/// only on one channel and only those carrying every one of some tags.
///
/// ```
/// use switchboard::consent::SubscriberQuery;
/// use switchboard::ChannelKind;
///
/// let north = SubscriberQuery::topic("network-news").tagged("region:north").on(ChannelKind::WhatsApp);
/// # let _ = north;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberQuery {
    /// The topic subscribers opted in to (an opt-in to everything counts too).
    pub topic: String,
    /// Tags a subscriber must all carry ([`ConsentStore::set_tags`]).
    pub tags: Vec<String>,
    /// Only this channel; `None`: every channel.
    pub channel: Option<String>,
}

impl SubscriberQuery {
    /// The subscribers of `topic`.
    pub fn topic(topic: impl Into<String>) -> Self {
        Self {
            topic: topic.into(),
            tags: Vec::new(),
            channel: None,
        }
    }

    /// Only those tagged `tag` as well (every tag given must match).
    #[must_use]
    pub fn tagged(mut self, tag: impl Into<String>) -> Self {
        self.tags.push(tag.into());
        self.tags.sort();
        self.tags.dedup();
        self
    }

    /// Only subscribers on this channel.
    #[must_use]
    pub fn on(mut self, channel: ChannelKind) -> Self {
        self.channel = Some(channel.as_str().to_owned());
        self
    }
}

/// One page of [`ConsentStore::subscribers`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberPage {
    /// The opted-in subjects of this page.
    pub subjects: Vec<Subject>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<Subject>,
}

/// The opted-in subjects among `candidates` (one page of subjects with a record for the
/// topic, in order): the backends list candidates in SQL and let the state derivation,
/// shared with every lookup, decide.
pub(crate) async fn subscriber_page<S: ConsentStore + ?Sized>(
    store: &S,
    candidates: Vec<Subject>,
    topic: &str,
    limit: usize,
) -> Result<SubscriberPage> {
    let next = (candidates.len() >= limit)
        .then(|| candidates.last().cloned())
        .flatten();
    let states = store.states(&candidates, Some(topic)).await?;
    let subjects = candidates
        .into_iter()
        .zip(states)
        .filter_map(|(subject, state)| state.is_opted_in().then_some(subject))
        .collect();
    Ok(SubscriberPage { subjects, next })
}

/// The secret behind erasure tombstones: an HMAC-SHA256 key, so a tombstone cannot be
/// turned back into a phone number by trying every number. Keep it out of the database
/// (a secret manager, an environment variable); with another key, earlier tombstones no
/// longer match. `Debug` never shows it.
#[derive(Clone)]
pub struct ErasureKey {
    mac: Hmac<Sha256>,
}

impl ErasureKey {
    /// A key from at least 16 secret bytes (32 random bytes recommended).
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self> {
        let secret = secret.as_ref();
        if secret.len() < 16 {
            return Err(Error::config("an erasure key needs at least 16 bytes"));
        }
        let mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| Error::config("invalid erasure key"))?;
        Ok(Self { mac })
    }

    /// The tombstone id of `subject`: hex HMAC of channel and address.
    pub(crate) fn tombstone_id(&self, subject: &Subject) -> String {
        let mut mac = self.mac.clone();
        mac.update(subject.channel.as_bytes());
        mac.update(&[0]);
        mac.update(subject.address.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

impl fmt::Debug for ErasureKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ErasureKey(..)")
    }
}

/// What [`ConsentStore::erase`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Erasure {
    /// Records removed.
    pub records_erased: u64,
    /// Opt-outs kept in force as tombstones.
    pub opt_outs_kept: usize,
    /// Deduplication keys naming the address removed from the same database's
    /// deduplicator (the after-hours reply's, a consent signal's).
    pub dedup_keys_erased: u64,
    /// Whether every copy of the erased data is gone from disk. `false` when SQLite could
    /// not empty its write-ahead log because another connection was reading: call
    /// [`SqliteStore::checkpoint`](crate::consent::sqlite::SqliteStore::checkpoint) once the
    /// readers are done (the next automatic checkpoint also finishes it).
    pub checkpointed: bool,
}

impl Erasure {
    /// Nothing erased yet.
    pub(crate) fn none() -> Self {
        Self {
            records_erased: 0,
            opt_outs_kept: 0,
            dedup_keys_erased: 0,
            checkpointed: true,
        }
    }

    /// Adds what another erasure did.
    pub(crate) fn add(&mut self, other: Self) {
        self.records_erased += other.records_erased;
        self.opt_outs_kept += other.opt_outs_kept;
        self.dedup_keys_erased += other.dedup_keys_erased;
        self.checkpointed &= other.checkpointed;
    }
}

/// The GDPR export of one subject: every record with its evidence, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConsentExport {
    /// [`ConsentExport::FORMAT`], so a reader knows what it holds.
    pub format: String,
    /// Who.
    pub subject: Subject,
    /// When the export was made, in milliseconds since the Unix epoch.
    pub exported_at_ms: i64,
    /// Every record, oldest first.
    pub records: Vec<ConsentRecord>,
}

impl ConsentExport {
    /// The format name and version.
    pub const FORMAT: &'static str = "switchboard.consent-export.v1";

    /// The export as pretty-printed JSON, to hand to the person.
    pub fn to_json(&self) -> String {
        // Strings and integers only: serialization cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// The opt-outs in force among `records` (topic, action, time), as tombstones to keep
/// when they are erased: one for everything, one per topic opted out on its own.
pub(crate) fn tombstones<'a>(
    records: impl IntoIterator<Item = (Option<&'a str>, ConsentAction, i64)> + Clone,
) -> Vec<(Option<String>, i64)> {
    let state = |topic: Option<&str>| {
        records
            .clone()
            .into_iter()
            .fold(ConsentState::Unknown, |s, (t, a, at)| s.fold(t, a, at, topic))
    };
    let everything = state(None);
    let mut kept = Vec::new();
    if let ConsentState::OptedOut { since_ms } = everything {
        kept.push((None, since_ms));
    }
    let topics: BTreeSet<&str> = records.clone().into_iter().filter_map(|(t, _, _)| t).collect();
    for topic in topics {
        if let s @ ConsentState::OptedOut { since_ms } = state(Some(topic))
            && s != everything
        {
            kept.push((Some(topic.to_owned()), since_ms));
        }
    }
    kept
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// An in-memory [`ConsentStore`], for tests and prototypes: nothing survives the process.
#[derive(Default)]
pub struct MemoryStore {
    erasure_key: Option<ErasureKey>,
    inner: Mutex<Ledger>,
}

#[derive(Default)]
struct Ledger {
    records: HashMap<Subject, Vec<ConsentRecord>>,
    tags: HashMap<Subject, Vec<String>>,
    tombstones: HashMap<String, Vec<(Option<String>, i64)>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Uses this key for erasure tombstones.
    #[must_use]
    pub fn erasure_key(mut self, key: ErasureKey) -> Self {
        self.erasure_key = Some(key);
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn derive(&self, ledger: &Ledger, subject: &Subject, topic: Option<&str>) -> ConsentState {
        let mut state = ledger
            .records
            .get(subject)
            .map_or(ConsentState::Unknown, |records| {
                records.iter().fold(ConsentState::Unknown, |state, r| {
                    state.fold(r.topic.as_deref(), r.action, r.at_ms, topic)
                })
            });
        if let Some(key) = &self.erasure_key
            && let Some(kept) = ledger.tombstones.get(&key.tombstone_id(subject))
        {
            for (t, at_ms) in kept {
                state = state.fold(t.as_deref(), ConsentAction::OptOut, *at_ms, topic);
            }
        }
        state
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("subjects", &self.lock().records.len())
            .finish()
    }
}

/// The order subscribers are listed in.
fn key(subject: &Subject) -> (&str, &str) {
    (&subject.channel, &subject.address)
}

/// The error for an erasure without a key.
pub(crate) fn no_erasure_key() -> Error {
    Error::config("erasing needs an erasure key: set one on the store (`erasure_key`)")
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn append(&self, record: &ConsentRecord) -> Result<()> {
        self.lock()
            .records
            .entry(record.subject.clone())
            .or_default()
            .push(record.clone());
        Ok(())
    }

    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState> {
        Ok(self.derive(&self.lock(), subject, topic))
    }

    async fn states(&self, subjects: &[Subject], topic: Option<&str>) -> Result<Vec<ConsentState>> {
        let ledger = self.lock();
        Ok(subjects.iter().map(|s| self.derive(&ledger, s, topic)).collect())
    }

    async fn records(&self, subject: &Subject) -> Result<Vec<ConsentRecord>> {
        let mut records = self.lock().records.get(subject).cloned().unwrap_or_default();
        records.sort_by_key(|r| r.at_ms);
        Ok(records)
    }

    async fn set_tags(&self, subject: &Subject, tags: &[&str]) -> Result<()> {
        let mut tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        tags.sort();
        tags.dedup();
        let mut ledger = self.lock();
        if tags.is_empty() {
            ledger.tags.remove(subject);
        } else {
            ledger.tags.insert(subject.clone(), tags);
        }
        Ok(())
    }

    async fn tags(&self, subject: &Subject) -> Result<Vec<String>> {
        Ok(self.lock().tags.get(subject).cloned().unwrap_or_default())
    }

    async fn subscribers(
        &self,
        query: &SubscriberQuery,
        after: Option<&Subject>,
        limit: usize,
    ) -> Result<SubscriberPage> {
        let candidates = {
            let ledger = self.lock();
            let mut candidates: Vec<&Subject> = ledger
                .records
                .iter()
                .filter(|(subject, records)| {
                    query.channel.as_ref().is_none_or(|c| *c == subject.channel)
                        && after.is_none_or(|after| key(subject) > key(after))
                        && records
                            .iter()
                            .any(|r| r.topic.as_deref().is_none_or(|t| t == query.topic))
                        && query
                            .tags
                            .iter()
                            .all(|tag| ledger.tags.get(*subject).is_some_and(|tags| tags.contains(tag)))
                })
                .map(|(subject, _)| subject)
                .collect();
            candidates.sort_by(|a, b| key(a).cmp(&key(b)));
            candidates.truncate(limit);
            candidates.into_iter().cloned().collect()
        };
        subscriber_page(self, candidates, &query.topic, limit).await
    }

    async fn erase(&self, subject: &Subject) -> Result<Erasure> {
        let key = self.erasure_key.as_ref().ok_or_else(no_erasure_key)?;
        let mut ledger = self.lock();
        ledger.tags.remove(subject);
        let records = ledger.records.remove(subject).unwrap_or_default();
        let kept = tombstones(records.iter().map(|r| (r.topic.as_deref(), r.action, r.at_ms)));
        let opt_outs_kept = kept.len();
        if !kept.is_empty() {
            ledger
                .tombstones
                .entry(key.tombstone_id(subject))
                .or_default()
                .extend(kept);
        }
        Ok(Erasure {
            records_erased: records.len() as u64,
            opt_outs_kept,
            ..Erasure::none()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_obj_safe!(ConsentStore);

    #[test]
    fn debug_masks_the_address() {
        let s = Subject::new(&ChannelKind::Sms, &Address::phone("+4917612345678").unwrap());
        assert_eq!(format!("{s:?}"), "Subject(sms:+49*********78)");
    }

    #[test]
    fn records_round_trip_as_json_for_export() {
        let s = Subject::new(&ChannelKind::WhatsApp, &Address::phone("+4917612345678").unwrap());
        let r = ConsentRecord::new(
            s,
            Some("news"),
            ConsentAction::OptOut,
            Source::Keyword,
            Evidence::message("wamid.1", "STOP NEWS"),
        )
        .at(1_700_000_000_000);
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["action"], "opt_out");
        assert_eq!(json["source"], "keyword");
        assert_eq!(serde_json::from_value::<ConsentRecord>(json).unwrap(), r);
    }
}
