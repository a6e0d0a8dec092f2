//! [`PostgresStore`]: the consent ledger on PostgreSQL (feature `postgres`), for several
//! app instances sharing one ledger.
//!
//! The schema is created on connect under an advisory lock, so instances starting together
//! do not race; connecting again is harmless. A `schema` option keeps tenants (or test runs)
//! apart in one database.

use async_trait::async_trait;
use sqlx::postgres::{PgPool, PgPoolOptions};

use super::store::{
    ConsentRecord, ConsentState, ConsentStore, Subject, action_str, by_channel, fold_rows, latest_state,
    stored_record,
};
use crate::error::{Error, Result};

const BACKEND: &str = "postgres";

/// An arbitrary, fixed key for the migration advisory lock.
const MIGRATION_LOCK: i64 = 0x5357_4254_434f_4e53;

/// Subjects per batch query.
const BATCH: usize = 10_000;

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
}

impl PostgresStore {
    /// Connects (the URL's own credentials; it is never logged) and creates the schema if needed.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_in_schema(url, None).await
    }

    /// As [`connect`](Self::connect), with the tables in this schema (created if needed).
    /// The name must be a plain identifier (letters, digits, `_`).
    pub async fn connect_in_schema(url: &str, schema: Option<&str>) -> Result<Self> {
        if let Some(name) = schema
            && (name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
        {
            return Err(Error::config(
                "a schema name may contain only letters, digits and _",
            ));
        }
        let search_path = schema.map(|s| format!("SET search_path TO {s}"));
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
        let store = Self { pool };
        store.migrate(schema).await?;
        Ok(store)
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
            "CREATE INDEX IF NOT EXISTS consent_records_subject ON consent_records (channel, address, at_ms)",
        ] {
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
        Ok(())
    }

    async fn state(&self, subject: &Subject, topic: Option<&str>) -> Result<ConsentState> {
        let row = sqlx::query_as::<_, (String, i64)>(
            "SELECT action, at_ms FROM consent_records
             WHERE channel = $1 AND address = $2 AND (topic IS NULL OR topic = $3)
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
                let rows: Vec<(String, Option<String>, String, i64)> = sqlx::query_as(
                    "SELECT address, topic, action, at_ms FROM consent_records
                     WHERE channel = $1 AND address = ANY($2) AND (topic IS NULL OR topic = $3)",
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
}
