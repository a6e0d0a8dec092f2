//! [`SqliteStore`]: the embedded consent ledger (feature `sqlite`, on by default).
//!
//! One file, WAL journal, `synchronous=FULL`: when [`append`](ConsentStore::append)
//! returns, the record is on disk and survives a crash of the process or the machine. The
//! schema is created on open and never dropped; opening again is harmless.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::store::{
    ConsentRecord, ConsentState, ConsentStore, Subject, action_str, by_channel, fold_rows, latest_state,
    stored_record,
};
use crate::error::{Error, Result};

const BACKEND: &str = "sqlite";

/// SQLite binds at most 32,766 parameters; a batch takes one per address.
const BATCH: usize = 30_000;

fn db(err: sqlx::Error) -> Error {
    Error::storage(BACKEND, err)
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
}

impl SqliteStore {
    /// Opens (or creates) the ledger in this file.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path.as_ref())
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        Self::with_options(options, 4).await
    }

    /// A ledger in memory, for tests: one connection, gone with the store.
    pub async fn in_memory() -> Result<Self> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:").map_err(db)?;
        Self::with_options(options, 1).await
    }

    async fn with_options(options: SqliteConnectOptions, connections: u32) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(connections)
            // An in-memory database lives as long as its connection: keep it.
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(db)?;
        let store = Self { pool };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<()> {
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
            "CREATE INDEX IF NOT EXISTS consent_records_subject ON consent_records (channel, address, at_ms)",
        ] {
            sqlx::query(statement).execute(&self.pool).await.map_err(db)?;
        }
        Ok(())
    }
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
        let row = sqlx::query_as::<_, (String, i64)>(
            "SELECT action, at_ms FROM consent_records
             WHERE channel = ? AND address = ? AND (topic IS NULL OR topic IS ?)
             ORDER BY at_ms DESC, CASE action WHEN 'opt_out' THEN 0 ELSE 1 END
             LIMIT 1",
        )
        .bind(&subject.channel)
        .bind(&subject.address)
        .bind(topic)
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
                    "SELECT address, topic, action, at_ms FROM consent_records
                     WHERE channel = ? AND address IN ({placeholders}) AND (topic IS NULL OR topic IS ?)"
                );
                let mut query =
                    sqlx::query_as::<_, (String, Option<String>, String, i64)>(&sql).bind(channel);
                for address in chunk {
                    query = query.bind(*address);
                }
                let rows = query.bind(topic).fetch_all(&self.pool).await.map_err(db)?;
                fold_rows(&mut states, &positions, rows, topic);
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
}
