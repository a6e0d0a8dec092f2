//! [`SqliteStore`]: the embedded consent ledger (feature `sqlite`, on by default).
//!
//! One file, WAL journal, `synchronous=FULL`: when [`append`](ConsentStore::append)
//! returns, the record is on disk and survives a crash of the process or the machine. The
//! schema is created on open and never dropped; opening again is harmless.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};

use super::store::{
    BatchRow, ConsentRecord, ConsentState, ConsentStore, Erasure, ErasureKey, Subject, SubscriberPage,
    SubscriberQuery, action_str, by_channel, fold_rows, latest_state, no_erasure_key, now_ms, parse_action,
    stored_record, subscriber_page, tombstone_positions, tombstones,
};
use crate::error::{Error, Result};
use crate::webhook::Deduplicator;
use crate::webhook::dedup::{DEFAULT_RETENTION, Purge};

const BACKEND: &str = "sqlite";

/// SQLite binds at most 32,766 parameters; a batch takes one per address.
const BATCH: usize = 30_000;

fn db(err: sqlx::Error) -> Error {
    Error::storage(BACKEND, err)
}

/// Batch lookups return their rows as one JSON array: sqlx hands each row from its worker
/// thread separately, which cost more than the lookups themselves (13.6 ms → see the
/// consent bench for a batch of 1,000).
const AS_JSON: &str = "json_group_array(json_array(address, topic, action, at_ms))";

/// The rows of an [`AS_JSON`] answer.
fn json_rows(json: &str) -> Result<Vec<BatchRow>> {
    serde_json::from_str(json).map_err(|e| Error::storage(BACKEND, e))
}

/// The consent ledger in a SQLite file.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::consent::sqlite::SqliteStore;
///
/// let store = SqliteStore::open("consent.db").await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    erasure_key: Option<ErasureKey>,
}

/// Memory settings of a [`SqliteStore`] ([`SqliteStore::open_with`]). The defaults favour
/// fast batch lookups on large ledgers; lower them where memory is tight: both are upper
/// bounds that fill as the file is read, so a process's resident memory grows with the
/// database up to them.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::consent::sqlite::{SqliteOptions, SqliteStore};
///
/// let lean = SqliteOptions::new().cache_mib(8).mmap_mib(0);
/// let store = SqliteStore::open_with("switchboard.db", lean).await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SqliteOptions {
    cache_mib: u32,
    mmap_mib: u32,
    max_connections: u32,
    busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            cache_mib: 64,
            mmap_mib: 256,
            max_connections: 4,
            busy_timeout: Duration::from_secs(10),
        }
    }
}

impl SqliteOptions {
    /// The defaults: a 64 MiB page cache per connection, 256 MiB of the file memory-mapped,
    /// 4 connections, a 10 s busy timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// The page cache of each connection, in MiB (heap memory).
    #[must_use]
    pub fn cache_mib(mut self, mib: u32) -> Self {
        self.cache_mib = mib;
        self
    }

    /// How much of the file is read through a memory map, in MiB (0: none). Mapped pages
    /// count as resident but are the kernel's to drop.
    #[must_use]
    pub fn mmap_mib(mut self, mib: u32) -> Self {
        self.mmap_mib = mib;
        self
    }

    /// The most connections the pool opens (at least 1).
    #[must_use]
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a statement waits for another connection's lock before failing with
    /// "database is locked" (and how long an erasure waits for readers to let go of the
    /// write-ahead log).
    #[must_use]
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }
}

impl SqliteStore {
    /// Opens (or creates) the ledger in this file, with the default [`SqliteOptions`].
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, SqliteOptions::default()).await
    }

    /// Opens (or creates) the ledger in this file with these memory settings.
    pub async fn open_with(path: impl AsRef<Path>, settings: SqliteOptions) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            // Erased records are overwritten, not left in free pages (GDPR).
            .pragma("secure_delete", "ON")
            // Batch lookups seek all over the index: reading it through a memory map and
            // a 64 MiB page cache instead of a syscall per page makes them ~25% faster.
            .pragma("mmap_size", (u64::from(settings.mmap_mib) << 20).to_string())
            .pragma("cache_size", format!("-{}", u64::from(settings.cache_mib) << 10))
            .busy_timeout(settings.busy_timeout);
        // Switch the file to WAL and create the schema on one connection before the pool
        // opens several: pool connections racing to change the journal mode on a new file
        // can fail with "database is locked" at once, whatever the busy timeout.
        let mut setup = SqliteConnection::connect_with(&options).await.map_err(db)?;
        migrate(&mut setup).await?;
        setup.close().await.map_err(db)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(settings.max_connections)
            .connect_with(options)
            .await
            .map_err(db)?;
        Ok(Self {
            pool,
            erasure_key: None,
        })
    }

    /// A ledger in memory, for tests: one connection, gone with the store.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(db)?;
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            // An in-memory database lives as long as its connection: keep it.
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db)?;
        migrate(&mut *pool.acquire().await.map_err(db)?).await?;
        Ok(Self {
            pool,
            erasure_key: None,
        })
    }

    /// Uses this key for erasure tombstones ([`ConsentStore::erase`]); lookups then also
    /// consult the tombstones.
    #[must_use]
    pub fn erasure_key(mut self, key: ErasureKey) -> Self {
        self.erasure_key = Some(key);
        self
    }

    /// A durable webhook [`Deduplicator`] in the same file,
    /// remembering keys for 7 days and 1 hour (Meta's retry horizon).
    pub fn deduplicator(&self) -> SqliteDeduplicator {
        SqliteDeduplicator {
            pool: self.pool.clone(),
            purge: Purge::new(DEFAULT_RETENTION),
        }
    }

    /// The pool, shared with the broadcast outbox in the same file.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    fn tombstone_id(&self, subject: &Subject) -> Option<String> {
        self.erasure_key.as_ref().map(|key| key.tombstone_id(subject))
    }

    /// Whether anyone was ever erased: until then, batches skip the tombstone lookup.
    async fn has_tombstones(&self) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM consent_tombstones)")
            .fetch_one(&self.pool)
            .await
            .map_err(db)
    }
}

/// Creates the schema if needed, in one transaction; harmless to repeat.
async fn migrate(conn: &mut SqliteConnection) -> Result<()> {
    let mut tx = conn.begin().await.map_err(db)?;
    for statement in [
        "CREATE TABLE IF NOT EXISTS consent_records (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                topic TEXT,
                action TEXT NOT NULL,
                source TEXT NOT NULL,
                evidence TEXT NOT NULL,
                at_ms INTEGER NOT NULL
            )",
        // Covers every lookup, so a batch never touches the table itself.
        "CREATE INDEX IF NOT EXISTS consent_records_lookup
                ON consent_records (channel, address, topic, action, at_ms)",
        "DROP INDEX IF EXISTS consent_records_subject",
        "CREATE TABLE IF NOT EXISTS consent_tombstones (
                subject_hash TEXT NOT NULL,
                topic TEXT,
                at_ms INTEGER NOT NULL
            )",
        "CREATE INDEX IF NOT EXISTS consent_tombstones_subject ON consent_tombstones (subject_hash)",
        "CREATE TABLE IF NOT EXISTS webhook_dedup (
                key TEXT PRIMARY KEY,
                seen_at_ms INTEGER NOT NULL
            ) WITHOUT ROWID",
        "CREATE INDEX IF NOT EXISTS webhook_dedup_seen ON webhook_dedup (seen_at_ms)",
        "CREATE TABLE IF NOT EXISTS subject_tags (
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (channel, address, tag)
        ) WITHOUT ROWID",
        "CREATE TABLE IF NOT EXISTS conversation_windows (
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            last_inbound_ms INTEGER NOT NULL,
            PRIMARY KEY (channel, address)
        ) WITHOUT ROWID",
    ]
    .into_iter()
    .chain(crate::broadcast::sqlite::SCHEMA)
    {
        sqlx::query(statement).execute(&mut *tx).await.map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

/// The insert of one record.
fn insert(record: &ConsentRecord) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments<'_>> {
    // Evidence is small and always serializable (strings only).
    let evidence = serde_json::to_string(&record.evidence).unwrap_or_else(|_| "{}".into());
    sqlx::query(
        "INSERT INTO consent_records (channel, address, topic, action, source, evidence, at_ms)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&record.subject.channel)
    .bind(&record.subject.address)
    .bind(&record.topic)
    .bind(action_str(record.action))
    .bind(record.source.as_str())
    .bind(evidence)
    .bind(record.at_ms)
}

#[async_trait]
impl ConsentStore for SqliteStore {
    async fn append(&self, record: &ConsentRecord) -> Result<()> {
        insert(record).execute(&self.pool).await.map_err(db)?;
        Ok(())
    }

    async fn append_all(&self, records: &[ConsentRecord]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        for record in records {
            insert(record).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState> {
        // The latest record for this topic or for everything; at the same instant an
        // opt-out first.
        // Tombstones count as opt-outs; without a key the hash is NULL and matches none.
        let row = sqlx::query_as::<_, (String, i64)>(
            "SELECT action, at_ms FROM (
                SELECT action, at_ms FROM consent_records
                WHERE channel = ?1 AND address = ?2 AND (topic IS NULL OR topic IS ?3)
                UNION ALL
                SELECT 'opt_out', at_ms FROM consent_tombstones
                WHERE subject_hash = ?4 AND (topic IS NULL OR topic IS ?3)
             )
             ORDER BY at_ms DESC, CASE action WHEN 'opt_out' THEN 0 ELSE 1 END
             LIMIT 1",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .bind(topic)
        .bind(self.tombstone_id(subject))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(latest_state(row))
    }

    async fn states(&self, subjects: &[Subject], topic: Option<&str>) -> Result<Vec<ConsentState>> {
        let mut states = vec![ConsentState::Unknown; subjects.len()];
        for (channel, positions) in by_channel(subjects) {
            let addresses: Vec<&str> = positions.keys().copied().collect();
            for chunk in addresses.chunks(BATCH) {
                let placeholders = vec!["?"; chunk.len()].join(", ");
                let sql = format!(
                    "SELECT {AS_JSON} FROM consent_records
                     WHERE channel = ? AND address IN ({placeholders}) AND (topic IS NULL OR topic IS ?)"
                );
                let mut query = sqlx::query_scalar::<_, String>(&sql).bind(channel);
                for address in chunk {
                    query = query.bind(*address);
                }
                let rows = query.bind(topic).fetch_one(&self.pool).await.map_err(db)?;
                fold_rows(&mut states, &positions, json_rows(&rows)?, topic);
            }
        }
        // Records first, tombstones second: an erasure committed in between moved the
        // opt-outs to tombstones, which this second look then sees.
        if let Some(key) = &self.erasure_key
            && self.has_tombstones().await?
        {
            let positions = tombstone_positions(key, subjects);
            let hashes: Vec<&str> = positions.keys().map(String::as_str).collect();
            for chunk in hashes.chunks(BATCH) {
                let placeholders = vec!["?"; chunk.len()].join(", ");
                let sql = format!(
                    "SELECT json_group_array(json_array(subject_hash, topic, 'opt_out', at_ms))
                     FROM consent_tombstones
                     WHERE subject_hash IN ({placeholders}) AND (topic IS NULL OR topic IS ?)"
                );
                let mut query = sqlx::query_scalar::<_, String>(&sql);
                for hash in chunk {
                    query = query.bind(*hash);
                }
                let rows = query.bind(topic).fetch_one(&self.pool).await.map_err(db)?;
                fold_rows(&mut states, &positions, json_rows(&rows)?, topic);
            }
        }
        Ok(states)
    }

    async fn records(&self, subject: &Subject) -> Result<Vec<ConsentRecord>> {
        let rows: Vec<(Option<String>, String, String, String, i64)> = sqlx::query_as(
            "SELECT topic, action, source, evidence, at_ms FROM consent_records
             WHERE channel = ? AND address = ? ORDER BY at_ms, id",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter()
            .map(|(topic, action, source, evidence, at_ms)| {
                stored_record(BACKEND, subject, topic, &action, &source, &evidence, at_ms)
            })
            .collect()
    }

    async fn set_tags(&self, subject: &Subject, tags: &[&str]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("DELETE FROM subject_tags WHERE channel = ? AND address = ?")
            .bind(&subject.channel)
            .bind(&subject.address)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for tag in tags {
            sqlx::query("INSERT OR IGNORE INTO subject_tags (channel, address, tag) VALUES (?, ?, ?)")
                .bind(&subject.channel)
                .bind(&subject.address)
                .bind(tag)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn tags(&self, subject: &Subject) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT tag FROM subject_tags WHERE channel = ? AND address = ? ORDER BY tag")
            .bind(&subject.channel)
            .bind(&subject.address)
            .fetch_all(&self.pool)
            .await
            .map_err(db)
    }

    async fn subscribers(
        &self,
        query: &SubscriberQuery,
        after: Option<&Subject>,
        limit: usize,
    ) -> Result<SubscriberPage> {
        // Candidates walk the lookup index in order from the cursor; the shared state
        // derivation then keeps the opted-in ones.
        let tags = vec!["?"; query.tags.len()].join(", ");
        let sql = format!(
            "SELECT DISTINCT channel, address FROM consent_records r
             WHERE (channel, address) > (?, ?) AND (? IS NULL OR channel = ?)
               AND (topic IS NULL OR topic = ?)
               AND (? = 0 OR (SELECT count(*) FROM subject_tags t
                    WHERE t.channel = r.channel AND t.address = r.address AND t.tag IN ({tags})) = ?)
             ORDER BY channel, address LIMIT ?"
        );
        let (channel, address) = after.map_or(("", ""), |s| (s.channel.as_str(), s.address.as_str()));
        let mut q = sqlx::query_as::<_, (String, String)>(&sql)
            .bind(channel)
            .bind(address)
            .bind(&query.channel)
            .bind(&query.channel)
            .bind(&query.topic)
            .bind(query.tags.len() as i64);
        for tag in &query.tags {
            q = q.bind(tag);
        }
        let rows = q
            .bind(query.tags.len() as i64)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let candidates = rows
            .into_iter()
            .map(|(channel, address)| Subject { channel, address })
            .collect();
        subscriber_page(self, candidates, &query.topic, limit).await
    }

    async fn erase(&self, subject: &Subject) -> Result<Erasure> {
        let id = self.tombstone_id(subject).ok_or_else(no_erasure_key)?;
        let mut tx = self.pool.begin().await.map_err(db)?;
        // Read and delete in one statement: a record appended meanwhile is either erased
        // (and its opt-out kept) or appended after, never lost in between.
        let rows: Vec<(Option<String>, String, i64)> = sqlx::query_as(
            "DELETE FROM consent_records WHERE channel = ? AND address = ?
             RETURNING topic, action, at_ms",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .fetch_all(&mut *tx)
        .await
        .map_err(db)?;
        let kept = tombstones(
            rows.iter()
                .filter_map(|(t, a, at)| parse_action(a).map(|a| (t.as_deref(), a, *at))),
        );
        // The conversation window and the tags name the address too.
        for table in ["conversation_windows", "subject_tags"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE channel = ? AND address = ?"))
                .bind(&subject.channel)
                .bind(&subject.address)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        // Broadcast rows stay for the reports, under a pseudonym instead of the address.
        sqlx::query("UPDATE broadcast_recipients SET address = ? WHERE channel = ? AND address = ?")
            .bind(format!("erased:{id}"))
            .bind(&subject.channel)
            .bind(&subject.address)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        for (topic, at_ms) in &kept {
            sqlx::query("INSERT INTO consent_tombstones (subject_hash, topic, at_ms) VALUES (?, ?, ?)")
                .bind(&id)
                .bind(topic)
                .bind(at_ms)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        // Deduplication keys name the address too (`after-hours:sms:+49…:…`); keys are
        // `:`-separated, so match it as a whole part.
        let dedup = sqlx::query(
            "DELETE FROM webhook_dedup
             WHERE instr(key, ':' || ?1 || ':') > 0 OR substr(key, -length(?1) - 1) = ':' || ?1",
        )
        .bind(&subject.address)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(Erasure {
            records_erased: rows.len() as u64,
            opt_outs_kept: kept.len(),
            dedup_keys_erased: dedup.rows_affected(),
            checkpointed: self.checkpoint_or_warn().await?,
        })
    }
}

impl SqliteStore {
    /// Copies the write-ahead log into the database file and empties it, so that erased
    /// data (zeroed in the database by `secure_delete`) leaves no copy in the `-wal` file.
    /// It waits for readers up to the busy timeout; returns `false` when a reader still
    /// needs the log, so try again once it is done.
    pub async fn checkpoint(&self) -> Result<bool> {
        // (busy, pages in the log, pages checkpointed): busy = 1 when a reader blocked it.
        let (busy, _, _): (i64, i64, i64) = sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(busy == 0)
    }

    /// [`checkpoint`](Self::checkpoint) after an erasure. It already waits for readers up to
    /// the busy timeout; a reader holding on longer is reported, not ignored.
    async fn checkpoint_or_warn(&self) -> Result<bool> {
        let done = self.checkpoint().await?;
        if !done {
            tracing::warn!("the SQLite write-ahead log still holds erased data: a reader kept it busy");
        }
        Ok(done)
    }
}

/// A durable webhook [`Deduplicator`] in the consent ledger's SQLite file, from
/// [`SqliteStore::deduplicator`]. A key is a first sighting again once older than the
/// retention; expired keys are purged now and then.
#[derive(Debug, Clone)]
pub struct SqliteDeduplicator {
    pool: SqlitePool,
    purge: Purge,
}

impl SqliteDeduplicator {
    /// Remembers keys for this long instead.
    #[must_use]
    pub fn retention(mut self, retention: Duration) -> Self {
        self.purge = Purge::new(retention);
        self
    }

    /// Deletes the expired keys now; returns how many.
    pub async fn purge(&self) -> Result<u64> {
        let done = sqlx::query("DELETE FROM webhook_dedup WHERE seen_at_ms < ?")
            .bind(self.purge.cutoff_ms())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl Deduplicator for SqliteDeduplicator {
    async fn first_sighting(&self, key: &str) -> Result<bool> {
        // One atomic statement: a new key is inserted, an expired one refreshed, a live one
        // left alone (no row changed).
        let done = sqlx::query(
            "INSERT INTO webhook_dedup (key, seen_at_ms) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
             WHERE webhook_dedup.seen_at_ms < ?3",
        )
        .bind(key)
        .bind(now_ms())
        .bind(self.purge.cutoff_ms())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        if self.purge.due() {
            self.purge().await?;
        }
        Ok(done.rows_affected() == 1)
    }
}

/// The 24-hour windows in the same file as the ledger (removed with [`ConsentStore::erase`]).
#[async_trait]
impl crate::channel::window::WindowStore for SqliteStore {
    async fn touch(&self, subject: &Subject, at_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO conversation_windows (channel, address, last_inbound_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (channel, address) DO UPDATE
             SET last_inbound_ms = max(last_inbound_ms, excluded.last_inbound_ms)",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .bind(at_ms)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn last_inbound(&self, subject: &Subject) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT last_inbound_ms FROM conversation_windows WHERE channel = ? AND address = ?",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)
    }
}
