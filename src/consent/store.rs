//! The consent ledger: append-only records, the state derived from them, and the
//! [`ConsentStore`] trait its backends implement.
//!
//! A record says who (a [`Subject`]), about what (a topic, or everything), did what (opt in
//! or out), how (the [`Source`] and its [`Evidence`]) and when. Records are never changed;
//! the current state for a topic is the latest record for that topic or for everything, so
//! "STOP" after "START NEWS" stops the news too, and "START NEWS" after "STOP" resumes only
//! the news.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::address::{Address, mask};
use crate::channel::ChannelKind;
use crate::error::Result;
use crate::inbound::ConsentAction;

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
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
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
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

    use crate::inbound::ConsentAction;

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

/// Folds a backend's batch rows (`address`, `topic`, `action`, `at_ms`) for one channel into
/// the states of the subjects at those addresses.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn fold_rows(
    states: &mut [ConsentState],
    positions: &HashMap<&str, Vec<usize>>,
    rows: impl IntoIterator<Item = (String, Option<String>, String, i64)>,
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
}

/// An in-memory [`ConsentStore`], for tests and prototypes: nothing survives the process.
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<HashMap<Subject, Vec<ConsentRecord>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Subject, Vec<ConsentRecord>>> {
        self.records.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("subjects", &self.lock().len())
            .finish()
    }
}

fn derive(records: &[ConsentRecord], topic: Option<&str>) -> ConsentState {
    records.iter().fold(ConsentState::Unknown, |state, r| {
        state.fold(r.topic.as_deref(), r.action, r.at_ms, topic)
    })
}

#[async_trait]
impl ConsentStore for MemoryStore {
    async fn append(&self, record: &ConsentRecord) -> Result<()> {
        self.lock()
            .entry(record.subject.clone())
            .or_default()
            .push(record.clone());
        Ok(())
    }

    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState> {
        Ok(self
            .lock()
            .get(subject)
            .map_or(ConsentState::Unknown, |r| derive(r, topic)))
    }

    async fn states(&self, subjects: &[Subject], topic: Option<&str>) -> Result<Vec<ConsentState>> {
        let records = self.lock();
        Ok(subjects
            .iter()
            .map(|s| records.get(s).map_or(ConsentState::Unknown, |r| derive(r, topic)))
            .collect())
    }

    async fn records(&self, subject: &Subject) -> Result<Vec<ConsentRecord>> {
        let mut records = self.lock().get(subject).cloned().unwrap_or_default();
        records.sort_by_key(|r| r.at_ms);
        Ok(records)
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
