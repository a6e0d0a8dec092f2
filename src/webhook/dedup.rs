//! Deduplication of inbound events by provider event id.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use crate::error::Result;
use crate::model::inbound::InboundEvent;

/// Remembers which events were already handled. Object safe, so stores can be shared as
/// `Arc<dyn Deduplicator>`. Durable implementations come with the consent stores:
/// `SqliteStore::deduplicator` (feature `sqlite`) and `PostgresStore::deduplicator`
/// (feature `postgres`, shared by several app instances).
#[async_trait]
pub trait Deduplicator: Send + Sync {
    /// Records `key` and says whether this is its first sighting. Must be atomic: of two
    /// concurrent calls with the same key, exactly one gets `true`.
    async fn first_sighting(&self, key: &str) -> Result<bool>;
}

/// Removes the events already seen, in place, keeping the order. Events without an id
/// (unknown content) are always kept. If the deduplicator fails, the error is returned and
/// the events not yet checked stay in the list: a store outage may let a repeat through,
/// but never loses an event.
///
/// ```
/// # tokio_test_block(async {
/// use switchboard::webhook::{MemoryDeduplicator, dedup};
/// # let mut events: Vec<switchboard::InboundEvent> = Vec::new();
/// let seen = MemoryDeduplicator::default();
/// dedup(&mut events, &seen).await?;
/// # Ok::<(), switchboard::Error>(())
/// # });
/// # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
pub async fn dedup(events: &mut Vec<InboundEvent>, deduplicator: &dyn Deduplicator) -> Result<()> {
    let mut i = 0;
    while i < events.len() {
        let fresh = match events[i].dedup_key() {
            Some(key) => deduplicator.first_sighting(&key).await?,
            None => true,
        };
        if fresh {
            i += 1;
        } else {
            events.remove(i);
        }
    }
    Ok(())
}

/// An in-memory [`Deduplicator`] bounded in size and age: it forgets the oldest keys
/// beyond `capacity` and keys older than `retention`. For one process; use a durable one
/// when several instances receive webhooks.
pub struct MemoryDeduplicator {
    capacity: usize,
    retention: Duration,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    seen: HashMap<Box<str>, Instant>,
    order: VecDeque<(Box<str>, Instant)>,
}

impl Default for MemoryDeduplicator {
    /// 100,000 keys for up to 7 days and 1 hour, Meta's retry horizon.
    fn default() -> Self {
        Self::new(100_000, Duration::from_secs(7 * 24 * 3600 + 3600))
    }
}

impl MemoryDeduplicator {
    /// Remembers up to `capacity` keys (at least one) for at most `retention`.
    pub fn new(capacity: usize, retention: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            retention,
            state: Mutex::new(State::default()),
        }
    }

    /// How many keys are remembered now.
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no key is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the maps inconsistent in a way that
        // matters for dedup, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn first_sighting_at(&self, key: &str, now: Instant) -> bool {
        let mut state = self.lock();
        while let Some((old, at)) = state.order.front() {
            let expired = now.saturating_duration_since(*at) > self.retention;
            if !(expired || state.order.len() >= self.capacity) {
                break;
            }
            // Only forget the key if this queue entry is its latest sighting.
            if state.seen.get(old) == Some(at) {
                let old = old.clone();
                state.seen.remove(&old);
            }
            state.order.pop_front();
        }
        if state.seen.contains_key(key) {
            return false;
        }
        let key: Box<str> = key.into();
        state.seen.insert(key.clone(), now);
        state.order.push_back((key, now));
        true
    }
}

#[async_trait]
impl Deduplicator for MemoryDeduplicator {
    async fn first_sighting(&self, key: &str) -> Result<bool> {
        Ok(self.first_sighting_at(key, Instant::now()))
    }
}

/// How long durable deduplicators remember a key: 7 days and 1 hour, Meta's retry horizon.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) const DEFAULT_RETENTION: Duration = Duration::from_secs(7 * 24 * 3600 + 3600);

/// The retention of a durable deduplicator, and when to purge expired keys: every 1,024th
/// sighting, so the table stays bounded without a background task.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
#[derive(Debug, Clone)]
pub(crate) struct Purge {
    retention_ms: i64,
    sightings: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
impl Purge {
    pub(crate) fn new(retention: Duration) -> Self {
        Self {
            retention_ms: i64::try_from(retention.as_millis()).unwrap_or(i64::MAX),
            sightings: std::sync::Arc::default(),
        }
    }

    /// Keys seen before this time (ms since the epoch) are expired.
    pub(crate) fn cutoff_ms(&self) -> i64 {
        crate::consent::store::now_ms().saturating_sub(self.retention_ms)
    }

    /// Whether this sighting should purge.
    pub(crate) fn due(&self) -> bool {
        let n = self.sightings.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        n % 1024 == 1023
    }
}

impl std::fmt::Debug for MemoryDeduplicator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryDeduplicator")
            .field("capacity", &self.capacity)
            .field("retention", &self.retention)
            .field("len", &self.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_refused_until_forgotten() {
        let d = MemoryDeduplicator::new(2, Duration::from_secs(60));
        let t0 = Instant::now();
        assert!(d.first_sighting_at("a", t0));
        assert!(!d.first_sighting_at("a", t0));
        assert!(d.first_sighting_at("b", t0));
        // Capacity 2: adding "c" forgets "a".
        assert!(d.first_sighting_at("c", t0));
        assert_eq!(d.len(), 2);
        assert!(d.first_sighting_at("a", t0));
        // Retention: after 61 s everything is forgotten.
        assert!(d.first_sighting_at("b", t0 + Duration::from_secs(61)));
    }

    static_assertions::assert_obj_safe!(Deduplicator);
}
