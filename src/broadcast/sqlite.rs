//! [`SqliteOutbox`]: the broadcast outbox in the consent ledger's SQLite file (feature
//! `sqlite`): durable when each call returns (WAL, `synchronous=FULL`), one process.

use std::path::Path;

use async_trait::async_trait;
use sqlx::sqlite::SqlitePool;

use super::outbox::{
    Claimed, Outbox, Outcome, RecipientState, SENT_COLUMNS, Sent, SentRow, TallyRow, TallyRowData, sent,
    tally_row,
};
use crate::consent::Subject;
use crate::consent::sqlite::SqliteStore;
use crate::error::{Error, Result};

fn db(err: sqlx::Error) -> Error {
    Error::storage("sqlite", err)
}

/// The broadcast outbox in a SQLite file, usually the consent ledger's
/// ([`SqliteStore::outbox`]). For one process; several workers on several machines share
/// a `PostgresOutbox` instead.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::consent::sqlite::SqliteStore;
///
/// let ledger = SqliteStore::open("switchboard.db").await?;
/// let outbox = ledger.outbox().await?;
/// # let _ = outbox; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteOutbox {
    pool: SqlitePool,
}

impl SqliteOutbox {
    /// Opens (or creates) the outbox in this file.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        SqliteStore::open(path).await?.outbox().await
    }
}

/// The outbox tables, created with the consent ledger's (so that an erasure can reach them).
pub(crate) const SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS broadcasts (
        id TEXT PRIMARY KEY,
        created_at_ms INTEGER NOT NULL,
        sealed INTEGER NOT NULL DEFAULT 0,
        fallbacks TEXT NOT NULL DEFAULT '[]'
    )",
    "CREATE TABLE IF NOT EXISTS broadcast_recipients (
        id INTEGER PRIMARY KEY,
        broadcast TEXT NOT NULL,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before_ms INTEGER NOT NULL DEFAULT 0,
        worker TEXT,
        claimed_at_ms INTEGER,
        message_id TEXT,
        code TEXT,
        segments INTEGER,
        cost_micros INTEGER,
        delivery TEXT,
        sent_at_ms INTEGER,
        UNIQUE (broadcast, channel, address)
    )",
    // The work queue: pending rows of a lane in order, without a sort.
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_queue
        ON broadcast_recipients (broadcast, channel, state, not_before_ms, id)",
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_message
        ON broadcast_recipients (message_id) WHERE message_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_latest
        ON broadcast_recipients (channel, address, sent_at_ms) WHERE sent_at_ms IS NOT NULL",
];

impl SqliteStore {
    /// The broadcast outbox in the same file (its tables are created with the ledger's, and
    /// [`erase`](crate::consent::ConsentStore::erase) pseudonymizes its rows).
    pub async fn outbox(&self) -> Result<SqliteOutbox> {
        Ok(SqliteOutbox {
            pool: self.pool().clone(),
        })
    }
}

#[async_trait]
impl Outbox for SqliteOutbox {
    async fn create(&self, broadcast: &str, fallbacks: &[(String, String)]) -> Result<bool> {
        let fallbacks = serde_json::to_string(fallbacks).map_err(|e| Error::storage("sqlite", e))?;
        let done =
            sqlx::query("INSERT OR IGNORE INTO broadcasts (id, created_at_ms, fallbacks) VALUES (?, ?, ?)")
                .bind(broadcast)
                .bind(super::now_ms())
                .bind(fallbacks)
                .execute(&self.pool)
                .await
                .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn fallbacks(&self, broadcast: &str) -> Result<Vec<(String, String)>> {
        let json: Option<String> = sqlx::query_scalar("SELECT fallbacks FROM broadcasts WHERE id = ?")
            .bind(broadcast)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        json.map_or(Ok(Vec::new()), |j| {
            serde_json::from_str(&j).map_err(|e| Error::storage("sqlite", e))
        })
    }

    async fn is_sealed(&self, broadcast: &str) -> Result<Option<bool>> {
        sqlx::query_scalar("SELECT sealed != 0 FROM broadcasts WHERE id = ?")
            .bind(broadcast)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn enqueue(&self, broadcast: &str, recipients: &[Subject]) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mut added = 0;
        for subject in recipients {
            added += sqlx::query(
                "INSERT OR IGNORE INTO broadcast_recipients (broadcast, channel, address) VALUES (?, ?, ?)",
            )
            .bind(broadcast)
            .bind(&subject.channel)
            .bind(&subject.address)
            .execute(&mut *tx)
            .await
            .map_err(db)?
            .rows_affected();
        }
        tx.commit().await.map_err(db)?;
        Ok(added)
    }

    async fn seal(&self, broadcast: &str, channels: &[&str]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let known = serde_json::to_string(channels).map_err(|e| Error::storage("sqlite", e))?;
        sqlx::query(
            "UPDATE broadcast_recipients SET state = 'failed', code = 'no_channel'
             WHERE broadcast = ? AND state = 'pending'
               AND channel NOT IN (SELECT value FROM json_each(?))",
        )
        .bind(broadcast)
        .bind(known)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE broadcasts SET sealed = 1 WHERE id = ?")
            .bind(broadcast)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn recover(&self, broadcast: &str, worker: &str, stale_before_ms: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mine = "broadcast = ?1 AND (worker = ?2 OR claimed_at_ms < ?3)";
        sqlx::query(&format!(
            "UPDATE broadcast_recipients SET state = 'pending', worker = NULL WHERE state = 'claimed' AND {mine}"
        ))
        .bind(broadcast)
        .bind(worker)
        .bind(stale_before_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        let ambiguous = sqlx::query(&format!(
            "UPDATE broadcast_recipients SET state = 'ambiguous', code = 'interrupted'
             WHERE state = 'sending' AND {mine}"
        ))
        .bind(broadcast)
        .bind(worker)
        .bind(stale_before_ms)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected();
        tx.commit().await.map_err(db)?;
        Ok(ambiguous)
    }

    async fn requeue_ambiguous(&self, broadcast: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE broadcast_recipients SET state = 'pending', worker = NULL, code = NULL
             WHERE broadcast = ? AND state = 'ambiguous'",
        )
        .bind(broadcast)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn cancel(&self, broadcast: &str) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE broadcast_recipients SET state = 'skipped', code = 'cancelled'
             WHERE broadcast = ? AND state = 'pending'",
        )
        .bind(broadcast)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn claim(
        &self,
        broadcast: &str,
        channel: &str,
        worker: &str,
        limit: usize,
        now_ms: i64,
    ) -> Result<Vec<Claimed>> {
        // One statement: SQLite runs one writer at a time, so no two claims overlap.
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "UPDATE broadcast_recipients SET state = 'claimed', worker = ?1, claimed_at_ms = ?2
             WHERE id IN (
                SELECT id FROM broadcast_recipients
                WHERE broadcast = ?3 AND channel = ?4 AND state = 'pending' AND not_before_ms <= ?2
                ORDER BY not_before_ms, id LIMIT ?5)
             RETURNING id, address, attempts",
        )
        .bind(worker)
        .bind(now_ms)
        .bind(broadcast)
        .bind(channel)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut claimed: Vec<Claimed> = rows
            .into_iter()
            .map(|(id, address, attempts)| Claimed {
                id,
                subject: Subject {
                    channel: channel.to_owned(),
                    address,
                },
                attempts: u32::try_from(attempts).unwrap_or(u32::MAX),
            })
            .collect();
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    async fn mark_sending(&self, ids: &[i64]) -> Result<()> {
        let ids = serde_json::to_string(ids).map_err(|e| Error::storage("sqlite", e))?;
        sqlx::query(
            "UPDATE broadcast_recipients SET state = 'sending'
             WHERE id IN (SELECT value FROM json_each(?)) AND state = 'claimed'",
        )
        .bind(ids)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn complete(&self, outcomes: &[(i64, Outcome)]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let now = super::now_ms();
        for (id, outcome) in outcomes {
            let query = match outcome {
                Outcome::Sent {
                    message_id,
                    segments,
                    cost_micros,
                } => sqlx::query(
                    "UPDATE broadcast_recipients SET state = 'sent', message_id = ?, segments = ?,
                        cost_micros = ?, sent_at_ms = ?, code = NULL WHERE id = ?",
                )
                .bind(message_id)
                .bind(segments.map(i64::from))
                .bind(cost_micros)
                .bind(now),
                Outcome::Failed { code } | Outcome::Skipped { code } | Outcome::Ambiguous { code } => {
                    let state = match outcome {
                        Outcome::Failed { .. } => RecipientState::Failed,
                        Outcome::Skipped { .. } => RecipientState::Skipped,
                        _ => RecipientState::Ambiguous,
                    };
                    sqlx::query("UPDATE broadcast_recipients SET state = ?, code = ? WHERE id = ?")
                        .bind(state.as_str())
                        .bind(code)
                }
                Outcome::Retry { not_before_ms, code } => sqlx::query(
                    "UPDATE broadcast_recipients SET state = 'pending', worker = NULL,
                        attempts = attempts + 1, not_before_ms = ?, code = ? WHERE id = ?",
                )
                .bind(not_before_ms)
                .bind(code),
            };
            query.bind(id).execute(&mut *tx).await.map_err(db)?;
        }
        tx.commit().await.map_err(db)
    }

    async fn next_due(&self, broadcast: &str, channel: &str) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT min(not_before_ms) FROM broadcast_recipients
             WHERE broadcast = ? AND channel = ? AND state = 'pending'",
        )
        .bind(broadcast)
        .bind(channel)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn tally(&self, broadcast: &str) -> Result<Vec<TallyRow>> {
        let rows: Vec<TallyRowData> = sqlx::query_as(
            "SELECT channel, state, code, delivery, count(*), coalesce(sum(cost_micros), 0),
                    sum(state = 'sent' AND cost_micros IS NULL)
             FROM broadcast_recipients WHERE broadcast = ?
             GROUP BY channel, state, code, delivery",
        )
        .bind(broadcast)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(tally_row).collect()
    }

    async fn recipients(&self, broadcast: &str, state: RecipientState, limit: usize) -> Result<Vec<Subject>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT channel, address FROM broadcast_recipients
             WHERE broadcast = ? AND state = ? ORDER BY id LIMIT ?",
        )
        .bind(broadcast)
        .bind(state.as_str())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(channel, address)| Subject { channel, address })
            .collect())
    }

    async fn delivery(&self, message_id: &str, status: &str, code: Option<&str>) -> Result<Option<Sent>> {
        // A later status never goes back to an earlier one (read, then a late delivered).
        let row: Option<SentRow> = sqlx::query_as(&format!(
            "UPDATE broadcast_recipients SET delivery = ?1, code = coalesce(?2, code)
             WHERE message_id = ?3 AND (delivery IS NULL OR ?1 = 'failed'
                OR (delivery = 'delivered' AND ?1 = 'read'))
             RETURNING {SENT_COLUMNS}"
        ))
        .bind(status)
        .bind(code)
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        match row {
            Some(row) => Ok(Some(sent(row))),
            None => self.find(message_id).await,
        }
    }

    async fn find(&self, message_id: &str) -> Result<Option<Sent>> {
        let row: Option<SentRow> = sqlx::query_as(&format!(
            "SELECT {SENT_COLUMNS} FROM broadcast_recipients WHERE message_id = ? LIMIT 1"
        ))
        .bind(message_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(sent))
    }

    async fn latest_to(&self, subject: &Subject, since_ms: i64) -> Result<Option<Sent>> {
        let row: Option<SentRow> = sqlx::query_as(&format!(
            "SELECT {SENT_COLUMNS} FROM broadcast_recipients
             WHERE channel = ? AND address = ? AND sent_at_ms >= ?
             ORDER BY sent_at_ms DESC LIMIT 1"
        ))
        .bind(&subject.channel)
        .bind(&subject.address)
        .bind(since_ms)
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        Ok(row.map(sent))
    }
}
