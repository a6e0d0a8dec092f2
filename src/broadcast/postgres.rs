//! [`PostgresOutbox`]: the broadcast outbox in PostgreSQL (feature `postgres`), shared by
//! several workers: each claims its chunks with `FOR UPDATE SKIP LOCKED`, so no two
//! workers ever send to the same recipient and none waits for another.

use async_trait::async_trait;
use sqlx::postgres::PgPool;

use super::outbox::{
    Claimed, Outbox, Outcome, RecipientState, SENT_COLUMNS, Sent, SentRow, TallyRow, TallyRowData, sent,
    tally_row,
};
use crate::consent::Subject;
use crate::consent::postgres::PostgresStore;
use crate::error::{Error, Result};

fn db(err: sqlx::Error) -> Error {
    Error::storage("postgres", err)
}

/// The broadcast outbox in the consent ledger's PostgreSQL schema
/// ([`PostgresStore::outbox`]). Give each worker its own
/// [`worker`](super::Broadcaster::worker) name.
///
/// ```no_run
/// # async fn run() -> switchboard::Result<()> {
/// use switchboard::consent::postgres::PostgresStore;
///
/// let ledger = PostgresStore::connect("postgres://app@db/app").await?;
/// let outbox = ledger.outbox().await?;
/// # let _ = outbox; Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresOutbox {
    pool: PgPool,
}

/// The outbox tables, created with the consent ledger's (so that an erasure can reach them).
pub(crate) const SCHEMA: [&str; 5] = [
    "CREATE TABLE IF NOT EXISTS broadcasts (
        id TEXT PRIMARY KEY,
        created_at_ms BIGINT NOT NULL,
        sealed BOOLEAN NOT NULL DEFAULT false,
        fallbacks TEXT NOT NULL DEFAULT '[]'
    )",
    "CREATE TABLE IF NOT EXISTS broadcast_recipients (
        id BIGSERIAL PRIMARY KEY,
        broadcast TEXT NOT NULL,
        channel TEXT NOT NULL,
        address TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        not_before_ms BIGINT NOT NULL DEFAULT 0,
        worker TEXT,
        claimed_at_ms BIGINT,
        message_id TEXT,
        code TEXT,
        segments INTEGER,
        cost_micros BIGINT,
        delivery TEXT,
        sent_at_ms BIGINT,
        UNIQUE (broadcast, channel, address)
    )",
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_queue
        ON broadcast_recipients (broadcast, channel, state, not_before_ms, id)",
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_message
        ON broadcast_recipients (message_id) WHERE message_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS broadcast_recipients_latest
        ON broadcast_recipients (channel, address, sent_at_ms) WHERE sent_at_ms IS NOT NULL",
];

impl PostgresStore {
    /// The broadcast outbox in the same schema (its tables are created with the ledger's,
    /// and [`erase`](crate::consent::ConsentStore::erase) pseudonymizes its rows).
    pub async fn outbox(&self) -> Result<PostgresOutbox> {
        Ok(PostgresOutbox {
            pool: self.pool().clone(),
        })
    }
}

fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl Outbox for PostgresOutbox {
    async fn create(&self, broadcast: &str, fallbacks: &[(String, String)]) -> Result<bool> {
        let fallbacks = serde_json::to_string(fallbacks).map_err(|e| Error::storage("postgres", e))?;
        let done = sqlx::query(
            "INSERT INTO broadcasts (id, created_at_ms, fallbacks) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(broadcast)
        .bind(super::now_ms())
        .bind(fallbacks)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected() == 1)
    }

    async fn fallbacks(&self, broadcast: &str) -> Result<Vec<(String, String)>> {
        let json: Option<String> = sqlx::query_scalar("SELECT fallbacks FROM broadcasts WHERE id = $1")
            .bind(broadcast)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?;
        json.map_or(Ok(Vec::new()), |j| {
            serde_json::from_str(&j).map_err(|e| Error::storage("postgres", e))
        })
    }

    async fn is_sealed(&self, broadcast: &str) -> Result<Option<bool>> {
        sqlx::query_scalar("SELECT sealed FROM broadcasts WHERE id = $1")
            .bind(broadcast)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)
    }

    async fn enqueue(&self, broadcast: &str, recipients: &[Subject]) -> Result<u64> {
        let channels: Vec<&str> = recipients.iter().map(|s| s.channel.as_str()).collect();
        let addresses: Vec<&str> = recipients.iter().map(|s| s.address.as_str()).collect();
        // One statement per page, in enqueue order (the claim order).
        let done = sqlx::query(
            "INSERT INTO broadcast_recipients (broadcast, channel, address)
             SELECT $1, c, a FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS r(c, a, n)
             ORDER BY n ON CONFLICT DO NOTHING",
        )
        .bind(broadcast)
        .bind(&channels)
        .bind(&addresses)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(done.rows_affected())
    }

    async fn seal(&self, broadcast: &str, channels: &[&str]) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        sqlx::query(
            "UPDATE broadcast_recipients SET state = 'failed', code = 'no_channel'
             WHERE broadcast = $1 AND state = 'pending' AND NOT (channel = ANY($2))",
        )
        .bind(broadcast)
        .bind(channels)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query("UPDATE broadcasts SET sealed = true WHERE id = $1")
            .bind(broadcast)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        tx.commit().await.map_err(db)
    }

    async fn recover(&self, broadcast: &str, worker: &str, stale_before_ms: i64) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let mine = "broadcast = $1 AND (worker = $2 OR claimed_at_ms < $3)";
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
             WHERE broadcast = $1 AND state = 'ambiguous'",
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
             WHERE broadcast = $1 AND state = 'pending'",
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
        n: usize,
        now_ms: i64,
    ) -> Result<Vec<Claimed>> {
        // Rows another worker is claiming right now are skipped, not waited for.
        let rows: Vec<(i64, String, i32)> = sqlx::query_as(
            "UPDATE broadcast_recipients SET state = 'claimed', worker = $1, claimed_at_ms = $2
             WHERE id IN (
                SELECT id FROM broadcast_recipients
                WHERE broadcast = $3 AND channel = $4 AND state = 'pending' AND not_before_ms <= $2
                ORDER BY not_before_ms, id LIMIT $5
                FOR UPDATE SKIP LOCKED)
             RETURNING id, address, attempts",
        )
        .bind(worker)
        .bind(now_ms)
        .bind(broadcast)
        .bind(channel)
        .bind(limit(n))
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
                attempts: u32::try_from(attempts).unwrap_or(0),
            })
            .collect();
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    async fn mark_sending(&self, ids: &[i64]) -> Result<()> {
        sqlx::query(
            "UPDATE broadcast_recipients SET state = 'sending' WHERE id = ANY($1) AND state = 'claimed'",
        )
        .bind(ids)
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn complete(&self, outcomes: &[(i64, Outcome)]) -> Result<()> {
        // One statement for the chunk: the outcomes as columns, joined by id.
        let mut ids = Vec::with_capacity(outcomes.len());
        let mut states = Vec::with_capacity(outcomes.len());
        let mut codes: Vec<Option<&str>> = Vec::with_capacity(outcomes.len());
        let mut message_ids: Vec<Option<&str>> = Vec::with_capacity(outcomes.len());
        let mut segments: Vec<Option<i32>> = Vec::with_capacity(outcomes.len());
        let mut costs: Vec<Option<i64>> = Vec::with_capacity(outcomes.len());
        let mut not_before: Vec<Option<i64>> = Vec::with_capacity(outcomes.len());
        for (id, outcome) in outcomes {
            ids.push(*id);
            let (state, code, message_id, segs, cost, retry_at) = match outcome {
                Outcome::Sent {
                    message_id,
                    segments,
                    cost_micros,
                } => (
                    RecipientState::Sent,
                    None,
                    Some(message_id.as_str()),
                    segments.map(|s| i32::try_from(s).unwrap_or(i32::MAX)),
                    *cost_micros,
                    None,
                ),
                Outcome::Failed { code } => (
                    RecipientState::Failed,
                    Some(code.as_str()),
                    None,
                    None,
                    None,
                    None,
                ),
                Outcome::Skipped { code } => (
                    RecipientState::Skipped,
                    Some(code.as_str()),
                    None,
                    None,
                    None,
                    None,
                ),
                Outcome::Ambiguous { code } => (
                    RecipientState::Ambiguous,
                    Some(code.as_str()),
                    None,
                    None,
                    None,
                    None,
                ),
                Outcome::Retry { not_before_ms, code } => (
                    RecipientState::Pending,
                    Some(code.as_str()),
                    None,
                    None,
                    None,
                    Some(*not_before_ms),
                ),
            };
            states.push(state.as_str());
            codes.push(code);
            message_ids.push(message_id);
            segments.push(segs);
            costs.push(cost);
            not_before.push(retry_at);
        }
        sqlx::query(
            "UPDATE broadcast_recipients r SET
                state = o.state, code = o.code, message_id = o.message_id,
                segments = o.segments, cost_micros = o.cost,
                sent_at_ms = CASE WHEN o.state = 'sent' THEN $8 END,
                attempts = r.attempts + (o.not_before IS NOT NULL)::int,
                not_before_ms = coalesce(o.not_before, r.not_before_ms),
                worker = CASE WHEN o.state = 'pending' THEN NULL ELSE r.worker END
             FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::bigint[])
                AS o(id, state, code, message_id, segments, cost, not_before)
             WHERE r.id = o.id",
        )
        .bind(&ids)
        .bind(&states)
        .bind(&codes)
        .bind(&message_ids)
        .bind(&segments)
        .bind(&costs)
        .bind(&not_before)
        .bind(super::now_ms())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        Ok(())
    }

    async fn next_due(&self, broadcast: &str, channel: &str) -> Result<Option<i64>> {
        sqlx::query_scalar(
            "SELECT min(not_before_ms) FROM broadcast_recipients
             WHERE broadcast = $1 AND channel = $2 AND state = 'pending'",
        )
        .bind(broadcast)
        .bind(channel)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn tally(&self, broadcast: &str) -> Result<Vec<TallyRow>> {
        let rows: Vec<TallyRowData> = sqlx::query_as(
            "SELECT channel, state, code, delivery, count(*), coalesce(sum(cost_micros), 0)::bigint,
                    count(*) FILTER (WHERE state = 'sent' AND cost_micros IS NULL)
             FROM broadcast_recipients WHERE broadcast = $1
             GROUP BY channel, state, code, delivery",
        )
        .bind(broadcast)
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.into_iter().map(tally_row).collect()
    }

    async fn recipients(&self, broadcast: &str, state: RecipientState, n: usize) -> Result<Vec<Subject>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT channel, address FROM broadcast_recipients
             WHERE broadcast = $1 AND state = $2 ORDER BY id LIMIT $3",
        )
        .bind(broadcast)
        .bind(state.as_str())
        .bind(limit(n))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        Ok(rows
            .into_iter()
            .map(|(channel, address)| Subject { channel, address })
            .collect())
    }

    async fn delivery(&self, message_id: &str, status: &str, code: Option<&str>) -> Result<Option<Sent>> {
        let row: Option<SentRow> = sqlx::query_as(&format!(
            "UPDATE broadcast_recipients SET delivery = $1, code = coalesce($2, code)
             WHERE message_id = $3 AND (delivery IS NULL OR $1 = 'failed'
                OR (delivery = 'delivered' AND $1 = 'read'))
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
            "SELECT {SENT_COLUMNS} FROM broadcast_recipients WHERE message_id = $1 LIMIT 1"
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
             WHERE channel = $1 AND address = $2 AND sent_at_ms >= $3
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
