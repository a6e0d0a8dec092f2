//! [`LinkedStore`]: one person's consent across channels that share an address.

use std::fmt;

use async_trait::async_trait;

use super::store::{
    ConsentRecord, ConsentState, ConsentStore, Erasure, Subject, SubscriberPage, SubscriberQuery,
};
use crate::channel::ChannelKind;
use crate::error::Result;

/// Links subjects across channels by phone number: an opt-out on SMS then also stops
/// WhatsApp messages to that number, and the reverse. The default ([`by_phone`](Self::by_phone))
/// links SMS and WhatsApp; without this wrapper consent is per channel.
///
/// Records stay with the channel they came from (the proof says where the STOP was sent);
/// lookups combine the linked subjects, the latest record winning and an opt-out winning a
/// tie. Addresses that are not phone numbers (user ids) are never linked.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use switchboard::consent::{ConsentRecord, ConsentStore, Evidence, LinkedStore, MemoryStore, Source, Subject};
/// use switchboard::{Address, ChannelKind, ConsentAction};
///
/// let store = LinkedStore::by_phone(MemoryStore::new());
/// let number = Address::phone("+4917612345678")?;
/// let sms = Subject::new(&ChannelKind::Sms, &number);
/// store
///     .append(&ConsentRecord::new(sms, None, ConsentAction::OptOut, Source::Keyword, Evidence::default()))
///     .await?;
/// let whatsapp = Subject::new(&ChannelKind::WhatsApp, &number);
/// assert!(store.state(&whatsapp, None).await?.is_opted_out());
/// # Ok::<(), switchboard::Error>(())
/// # }).unwrap();
/// ```
pub struct LinkedStore<S> {
    inner: S,
    channels: Vec<String>,
}

impl<S> LinkedStore<S> {
    /// Links SMS and WhatsApp by phone number.
    pub fn by_phone(inner: S) -> Self {
        Self::channels(inner, [ChannelKind::Sms, ChannelKind::WhatsApp])
    }

    /// Links these channels by phone number (a custom channel that addresses people by
    /// number, say).
    pub fn channels(inner: S, channels: impl IntoIterator<Item = ChannelKind>) -> Self {
        let mut channels: Vec<String> = channels.into_iter().map(|c| c.as_str().to_owned()).collect();
        channels.sort();
        channels.dedup();
        Self { inner, channels }
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    /// `subject` and the subjects linked to it, `subject` first.
    pub fn linked(&self, subject: &Subject) -> Vec<Subject> {
        let mut all = vec![subject.clone()];
        if subject.address.starts_with('+') && self.channels.contains(&subject.channel) {
            all.extend(
                self.channels
                    .iter()
                    .filter(|c| **c != subject.channel)
                    .map(|channel| Subject {
                        channel: channel.clone(),
                        address: subject.address.clone(),
                    }),
            );
        }
        all
    }
}

impl<S> fmt::Debug for LinkedStore<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LinkedStore")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl<S: ConsentStore> ConsentStore for LinkedStore<S> {
    async fn append(&self, record: &ConsentRecord) -> Result<()> {
        self.inner.append(record).await
    }

    async fn append_all(&self, records: &[ConsentRecord]) -> Result<()> {
        self.inner.append_all(records).await
    }

    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState> {
        let linked = self.linked(subject);
        let states = self.inner.states(&linked, topic).await?;
        Ok(states
            .into_iter()
            .fold(ConsentState::Unknown, ConsentState::latest))
    }

    async fn states(&self, subjects: &[Subject], topic: Option<&str>) -> Result<Vec<ConsentState>> {
        // One batch for every linked subject; `owner[i]` is the position the i-th expanded
        // subject folds into.
        let mut expanded = Vec::with_capacity(subjects.len() * self.channels.len().max(1));
        let mut owner = Vec::with_capacity(expanded.capacity());
        for (i, subject) in subjects.iter().enumerate() {
            for linked in self.linked(subject) {
                expanded.push(linked);
                owner.push(i);
            }
        }
        let found = self.inner.states(&expanded, topic).await?;
        let mut states = vec![ConsentState::Unknown; subjects.len()];
        for (state, i) in found.into_iter().zip(owner) {
            states[i] = states[i].latest(state);
        }
        Ok(states)
    }

    /// The records of the subject and of every subject linked to it (each names its own
    /// channel), oldest first; the export holds them all.
    async fn records(&self, subject: &Subject) -> Result<Vec<ConsentRecord>> {
        let mut all = Vec::new();
        for linked in self.linked(subject) {
            all.extend(self.inner.records(&linked).await?);
        }
        all.sort_by_key(|r| r.at_ms);
        Ok(all)
    }

    async fn set_tags(&self, subject: &Subject, tags: &[&str]) -> Result<()> {
        self.inner.set_tags(subject, tags).await
    }

    async fn tags(&self, subject: &Subject) -> Result<Vec<String>> {
        self.inner.tags(subject).await
    }

    /// The inner store's subscribers, less those a linked subject's opt-out stops.
    async fn subscribers(
        &self,
        query: &SubscriberQuery,
        after: Option<&Subject>,
        limit: usize,
    ) -> Result<SubscriberPage> {
        let mut page = self.inner.subscribers(query, after, limit).await?;
        let states = self.states(&page.subjects, Some(&query.topic)).await?;
        let mut states = states.into_iter();
        page.subjects
            .retain(|_| states.next().is_some_and(ConsentState::is_opted_in));
        Ok(page)
    }

    /// Erases the subject and every subject linked to it.
    async fn erase(&self, subject: &Subject) -> Result<Erasure> {
        let mut total = Erasure::none();
        for linked in self.linked(subject) {
            total.add(self.inner.erase(&linked).await?);
        }
        Ok(total)
    }
}
