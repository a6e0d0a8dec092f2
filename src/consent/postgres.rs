//! [`PostgresStore`]: the consent ledger on PostgreSQL (feature `postgres`), for several
//! app instances sharing one ledger.
//!
//! The schema is created on connect under an advisory lock, so instances starting together
//! do not race; connecting again is harmless. A `schema` option keeps tenants (or test runs)
//! apart in one database.

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::store::{
    BatchRow, ConsentRecord, ConsentState, ConsentStore, Erasure, ErasureKey, Subject, SubscriberPage,
    SubscriberQuery, action_str, by_channel, fold_rows, latest_state, no_erasure_key, now_ms, parse_action,
    stored_record, subscriber_page, tombstone_positions, tombstones,
};
use crate::error::{Error, Result};
use crate::webhook::Deduplicator;
use crate::webhook::dedup::{DEFAULT_RETENTION, Purge};

const BACKEND: &str = "postgres";

/// An arbitrary, fixed key for the migration advisory lock.
const MIGRATION_LOCK: i64 = 0x5357_4254_434f_4e53;

/// Subjects per batch query.
const BATCH: usize = 10_000;

/// Imports at least this large refresh the table's statistics.
const ANALYZE_AFTER: usize = 10_000;

fn db(err: sqlx::Error) -> Error {
    Error::storage(BACKEND, err)
}

/// The consent ledger in PostgreSQL.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::consent::postgres::PostgresStore;
///
/// let store = PostgresStore::connect("postgres://postgres@127.0.0.1:5432/app").await?;
/// # let _ = store; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresStore {
    pool: PgPool,
    erasure_key: Option<ErasureKey>,
}

/// The schema name as a quoted identifier. Unquoted, PostgreSQL folds it to lower case (so
/// two tenants could share a ledger) and truncates it to 63 bytes (so two long names could).
fn quoted_schema(name: &str) -> Result<String> {
    if name.is_empty() || name.len() > 63 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(Error::config(
            "schema: a schema name is 1 to 63 letters, digits or _",
        ));
    }
    Ok(format!("\"{name}\""))
}

impl PostgresStore {
    /// Connects (the URL's own credentials; it is never logged) and creates the schema if needed.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_in_schema(url, None).await
    }

    /// As [`connect`](Self::connect), with the tables in this schema (created if needed).
    /// The name must be a plain identifier (letters, digits, `_`, at most 63 bytes). It is
    /// quoted, so case counts: `TenantA` and `tenanta` are two ledgers.
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Self> {
        let schema = schema.map(quoted_schema).transpose()?;
        let search_path = schema.as_ref().map(|s| format!("SET search_path TO {s}"));
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .after_connect(move |conn, _| {
                let search_path = search_path.clone();
                Box::pin(async move {
                    if let Some(statement) = search_path {
                        sqlx::query(&statement).execute(conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(url)
            .await
            .map_err(db)?;
        let store = Self {
            pool,
            erasure_key: None,
        };
        store.migrate(schema.as_deref()).await?;
        Ok(store)
    }

    /// Uses this key for erasure tombstones ([`ConsentStore::erase`]); lookups then also
    /// consult the tombstones. Every instance sharing the ledger needs the same key.
    #[must_use]
    pub fn erasure_key(mut self, key: ErasureKey) -> Self {
        self.erasure_key = Some(key);
        self
    }

    /// A durable webhook [`Deduplicator`] in the same database, shared by every instance
    /// that receives webhooks; remembers keys for 7 days and 1 hour (Meta's retry horizon).
    pub fn deduplicator(&self) -> PostgresDeduplicator {
        PostgresDeduplicator {
            pool: self.pool.clone(),
            purge: Purge::new(DEFAULT_RETENTION),
        }
    }

    /// The pool, shared with the broadcast outbox in the same schema.
    pub(crate) fn pool(&self) -> &PgPool {
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

    async fn migrate(&self, schema: Option<&str>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(MIGRATION_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        if let Some(schema) = schema {
            sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        for statement in [
            "CREATE TABLE IF NOT EXISTS consent_records (
                id BIGSERIAL PRIMARY KEY,
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                topic TEXT,
                action TEXT NOT NULL,
                source TEXT NOT NULL,
                evidence TEXT NOT NULL,
                at_ms BIGINT NOT NULL
            )",
            // Covers every lookup (an index-only scan for batches).
            "CREATE INDEX IF NOT EXISTS consent_records_lookup
                ON consent_records (channel, address, topic, action, at_ms)",
            "DROP INDEX IF EXISTS consent_records_subject",
            "CREATE TABLE IF NOT EXISTS consent_tombstones (
                subject_hash TEXT NOT NULL,
                topic TEXT,
                at_ms BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS consent_tombstones_subject ON consent_tombstones (subject_hash)",
            "CREATE TABLE IF NOT EXISTS webhook_dedup (
                key TEXT PRIMARY KEY,
                seen_at_ms BIGINT NOT NULL
            )",
            "CREATE INDEX IF NOT EXISTS webhook_dedup_seen ON webhook_dedup (seen_at_ms)",
            "CREATE TABLE IF NOT EXISTS subject_tags (
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                tag TEXT NOT NULL,
                PRIMARY KEY (channel, address, tag)
            )",
            "CREATE TABLE IF NOT EXISTS conversation_windows (
                channel TEXT NOT NULL,
                address TEXT NOT NULL,
                last_inbound_ms BIGINT NOT NULL,
                PRIMARY KEY (channel, address)
            )",
        ]
        .into_iter()
        .chain(crate::broadcast::postgres::SCHEMA)
        {
            sqlx::query(statement).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }
}

#[async_trait]
impl ConsentStore for PostgresStore {
    async fn append(&self, record: &ConsentRecord) -> Result<()> {
        self.append_all(std::slice::from_ref(record)).await
    }

    async fn append_all(&self, records: &[ConsentRecord]) -> Result<()> {
        // One statement for the whole batch: atomic, and one round trip.
        let column = |f: &dyn Fn(&ConsentRecord) -> String| records.iter().map(f).collect::<Vec<String>>();
        let channels = column(&|r| r.subject.channel.clone());
        let addresses = column(&|r| r.subject.address.clone());
        let topics: Vec<Option<String>> = records.iter().map(|r| r.topic.clone()).collect();
        let actions = column(&|r| action_str(r.action).to_owned());
        let sources = column(&|r| r.source.as_str().to_owned());
        let evidence = column(&|r| serde_json::to_string(&r.evidence).unwrap_or_else(|_| "{}".into()));
        let at_ms: Vec<i64> = records.iter().map(|r| r.at_ms).collect();
        sqlx::query(
            "INSERT INTO consent_records (channel, address, topic, action, source, evidence, at_ms)
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bigint[])",
        )
        .bind(&channels)
        .bind(&addresses)
        .bind(&topics)
        .bind(&actions)
        .bind(&sources)
        .bind(&evidence)
        .bind(&at_ms)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        // After a large import, refresh the planner's statistics now rather than when
        // autovacuum gets to it: without them PostgreSQL guesses that each address matches
        // thousands of rows and answers batch lookups with a full table scan (226 ms
        // instead of a few for 1,000 subjects).
        if records.len() >= ANALYZE_AFTER {
            sqlx::query("ANALYZE consent_records")
                .execute(&self.pool)
                .await
                .map_err(db)?;
        }
        Ok(())
    }

    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState> {
        // Tombstones count as opt-outs; without a key the hash is NULL and matches none.
        // The topic test is one expression, not `IS NULL OR =`: an OR makes the planner
        // probe the index twice per address (a BitmapOr), five times slower in batches.
        let row = sqlx::query_as::<_, (String, i64)>(
            "SELECT action, at_ms FROM (
                SELECT action, at_ms FROM consent_records
                WHERE channel = $1 AND address = $2 AND COALESCE(topic = $3, topic IS NULL)
                UNION ALL
                SELECT 'opt_out', at_ms FROM consent_tombstones
                WHERE subject_hash = $4 AND COALESCE(topic = $3, topic IS NULL)
             ) AS matching
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
                let rows: Vec<BatchRow> = sqlx::query_as(
                    "SELECT address, topic, action, at_ms FROM consent_records
                     WHERE channel = $1 AND address = ANY($2) AND COALESCE(topic = $3, topic IS NULL)",
                )
                .bind(channel)
                .bind(chunk)
                .bind(topic)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                fold_rows(&mut states, &positions, rows, topic);
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
                let rows: Vec<BatchRow> = sqlx::query_as(
                    "SELECT subject_hash, topic, 'opt_out', at_ms FROM consent_tombstones
                     WHERE subject_hash = ANY($1) AND COALESCE(topic = $2, topic IS NULL)",
                )
                .bind(chunk)
                .bind(topic)
                .fetch_all(&self.pool)
                .await
                .map_err(db)?;
                fold_rows(&mut states, &positions, rows, topic);
            }
        }
        Ok(states)
    }

    async fn records(&self, subject: &Subject) -> Result<Vec<ConsentRecord>> {
        let rows: Vec<(Option<String>, String, String, String, i64)> = sqlx::query_as(
            "SELECT topic, action, source, evidence, at_ms FROM consent_records
             WHERE channel = $1 AND address = $2 ORDER BY at_ms, id",
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
        sqlx::query("DELETE FROM subject_tags WHERE channel = $1 AND address = $2")
            .bind(&subject.channel)
            .bind(&subject.address)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        sqlx::query(
            "INSERT INTO subject_tags (channel, address, tag)
             SELECT $1, $2, tag FROM unnest($3::text[]) AS tag ON CONFLICT DO NOTHING",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .bind(tags)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn tags(&self, subject: &Subject) -> Result<Vec<String>> {
        sqlx::query_scalar("SELECT tag FROM subject_tags WHERE channel = $1 AND address = $2 ORDER BY tag")
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
        let (channel, address) = after.map_or(("", ""), |s| (s.channel.as_str(), s.address.as_str()));
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT DISTINCT channel, address FROM consent_records r
             WHERE (channel, address) > ($1, $2) AND ($3::text IS NULL OR channel = $3)
               AND COALESCE(topic = $4, true)
               AND (cardinality($5::text[]) = 0 OR (SELECT count(*) FROM subject_tags t
                    WHERE t.channel = r.channel AND t.address = r.address AND t.tag = ANY($5))
                    = cardinality($5::text[]))
             ORDER BY channel, address LIMIT $6",
        )
        .bind(channel)
        .bind(address)
        .bind(&query.channel)
        .bind(&query.topic)
        .bind(&query.tags)
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
        // Read and delete in one statement, tombstones in the same transaction: another
        // instance sees the records or the tombstones, never neither.
        let rows: Vec<(Option<String>, String, i64)> = sqlx::query_as(
            "DELETE FROM consent_records WHERE channel = $1 AND address = $2
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
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE channel = $1 AND address = $2"
            ))
            .bind(&subject.channel)
            .bind(&subject.address)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        // Broadcast rows stay for the reports, under a pseudonym instead of the address.
        sqlx::query("UPDATE broadcast_recipients SET address = $1 WHERE channel = $2 AND address = $3")
            .bind(format!("erased:{id}"))
            .bind(&subject.channel)
            .bind(&subject.address)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        let topics: Vec<Option<String>> = kept.iter().map(|(t, _)| t.clone()).collect();
        let times: Vec<i64> = kept.iter().map(|(_, at)| *at).collect();
        sqlx::query(
            "INSERT INTO consent_tombstones (subject_hash, topic, at_ms)
             SELECT $1, * FROM unnest($2::text[], $3::bigint[])",
        )
        .bind(&id)
        .bind(&topics)
        .bind(&times)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        // Deduplication keys name the address too (`after-hours:sms:+49…:…`); keys are
        // `:`-separated, so match it as a whole part.
        let dedup = sqlx::query(
            "DELETE FROM webhook_dedup
             WHERE strpos(key, ':' || $1 || ':') > 0 OR right(key, length($1) + 1) = ':' || $1",
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
            checkpointed: true,
        })
    }
}

/// A durable webhook [`Deduplicator`] in PostgreSQL, from [`PostgresStore::deduplicator`]:
/// of several instances receiving the same event, exactly one handles it. A key is a first
/// sighting again once older than the retention; expired keys are purged now and then.
#[derive(Debug, Clone)]
pub struct PostgresDeduplicator {
    pool: PgPool,
    purge: Purge,
}

impl PostgresDeduplicator {
    /// Remembers keys for this long instead.
    #[must_use]
    pub fn retention(mut self, retention: std::time::Duration) -> Self {
        self.purge = Purge::new(retention);
        self
    }

    /// Deletes the expired keys now; returns how many.
    pub async fn purge(&self) -> Result<u64> {
        let done = sqlx::query("DELETE FROM webhook_dedup WHERE seen_at_ms < $1")
            .bind(self.purge.cutoff_ms())
            .execute(&self.pool)
            .await
            .map_err(db)?;
        Ok(done.rows_affected())
    }
}

#[async_trait]
impl Deduplicator for PostgresDeduplicator {
    async fn first_sighting(&self, key: &str) -> Result<bool> {
        // One atomic statement: a new key is inserted, an expired one refreshed, a live one
        // left alone (no row changed).
        let done = sqlx::query(
            "INSERT INTO webhook_dedup (key, seen_at_ms) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
             WHERE webhook_dedup.seen_at_ms < $3",
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

/// The 24-hour windows in the same database as the ledger, shared by every app instance
/// (removed with [`ConsentStore::erase`]).
#[async_trait]
impl crate::channel::window::WindowStore for PostgresStore {
    async fn touch(&self, subject: &Subject, at_ms: i64) -> Result<()> {
        sqlx::query(
            "INSERT INTO conversation_windows (channel, address, last_inbound_ms) VALUES ($1, $2, $3)
             ON CONFLICT (channel, address) DO UPDATE
             SET last_inbound_ms = GREATEST(conversation_windows.last_inbound_ms, excluded.last_inbound_ms)",
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
            "SELECT last_inbound_ms FROM conversation_windows WHERE channel = $1 AND address = $2",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)
    }
}
