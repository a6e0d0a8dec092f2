//! The consent store behaviour suite against a real PostgreSQL server.
//!
//! It uses `SWITCHBOARD_POSTGRES_URL`, or `postgres://postgres@127.0.0.1:5432/test` (the
//! server the project's machines run), in a fresh schema dropped afterwards. Without a
//! reachable server it fails and says how to point it at one: it never passes silently.

mod consent_suite;

use std::sync::Arc;

use consent_suite::{batch, behaviour, deduplication, erasure, erasure_needs_a_key, key, subscribers};
use switchboard::consent::ConsentStore;
use switchboard::consent::postgres::PostgresStore;

fn url() -> String {
    std::env::var("SWITCHBOARD_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

async fn fresh_store(name: &str) -> (PostgresStore, String) {
    let schema = format!(
        "switchboard_test_{name}_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
    );
    match PostgresStore::connect_in_schema(&url(), Some(&schema)).await {
        Ok(store) => (store, schema),
        Err(err) => panic!(
            "no PostgreSQL at {} ({err}); start one or set SWITCHBOARD_POSTGRES_URL=postgres://user@host:port/db",
            url()
        ),
    }
}

async fn drop_schema(schema: &str) {
    use sqlx::Connection;
    if let Ok(mut conn) = sqlx::PgConnection::connect(&url()).await {
        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut conn)
            .await;
    }
}

#[tokio::test]
async fn postgres_store_behaves_like_every_store() {
    let (store, schema) = fresh_store("behaviour").await;
    behaviour(&store).await;
    batch(&store).await;
    // Connecting again (a second app instance) keeps the ledger.
    let again = PostgresStore::connect_in_schema(&url(), Some(&schema))
        .await
        .unwrap();
    assert!(
        again
            .state(&consent_suite::subject(1), None)
            .await
            .unwrap()
            .is_opted_out()
    );
    drop_schema(&schema).await;
}

#[tokio::test]
async fn postgres_lists_subscribers() {
    let (store, schema) = fresh_store("subscribers").await;
    subscribers(&store).await;
    drop_schema(&schema).await;
}

#[tokio::test]
async fn postgres_erasure_and_deduplication() {
    let (store, schema) = fresh_store("erasure").await;
    erasure_needs_a_key(&store).await;
    erasure(&store.clone().erasure_key(key())).await;
    let keyed = store.clone().erasure_key(key());
    consent_suite::erasure_reaches_the_deduplicator(&keyed, &keyed.deduplicator()).await;
    deduplication(
        Arc::new(store.deduplicator()),
        &store
            .deduplicator()
            .retention(std::time::Duration::from_millis(1)),
    )
    .await;
    assert!(store.deduplicator().purge().await.is_ok());
    drop_schema(&schema).await;
}

#[tokio::test]
async fn bad_schema_names_are_refused() {
    for name in ["x; DROP TABLE y", "", "a\"b", &"a".repeat(64)] {
        assert!(
            PostgresStore::connect_in_schema(&url(), Some(name))
                .await
                .is_err(),
            "{name:?}"
        );
    }
}

/// Unquoted, `TenantA` and `tenanta` were the same schema: one tenant saw the other's
/// opt-outs (and erasing one erased the other).
#[tokio::test]
async fn schema_names_that_differ_in_case_are_separate_ledgers() {
    let suffix = format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_micros()
    );
    let upper = format!("Tenant_{suffix}");
    let lower = upper.to_lowercase();
    let a = PostgresStore::connect_in_schema(&url(), Some(&upper))
        .await
        .unwrap();
    let b = PostgresStore::connect_in_schema(&url(), Some(&lower))
        .await
        .unwrap();
    let subject = consent_suite::subject(1);
    a.append(&switchboard::consent::ConsentRecord::new(
        subject.clone(),
        None,
        switchboard::ConsentAction::OptOut,
        switchboard::consent::Source::Api,
        switchboard::consent::Evidence::default(),
    ))
    .await
    .unwrap();
    assert!(a.state(&subject, None).await.unwrap().is_opted_out());
    assert!(
        b.records(&subject).await.unwrap().is_empty(),
        "the other tenant's ledger is untouched"
    );
    drop_schema(&format!("\"{upper}\"")).await;
    drop_schema(&lower).await;
}

#[tokio::test]
async fn postgres_keeps_conversation_windows() {
    use switchboard::channel::window::WindowStore;
    let (store, schema) = fresh_store("windows").await;
    let anna = consent_suite::subject(7);
    assert_eq!(store.last_inbound(&anna).await.unwrap(), None);
    store.touch(&anna, 2_000).await.unwrap();
    // An older message delivered late never moves the window back.
    store.touch(&anna, 1_000).await.unwrap();
    assert_eq!(store.last_inbound(&anna).await.unwrap(), Some(2_000));
    // A second instance sees it; an erasure removes it.
    let again = PostgresStore::connect_in_schema(&url(), Some(&schema))
        .await
        .unwrap();
    assert_eq!(again.last_inbound(&anna).await.unwrap(), Some(2_000));
    // Broadcast rows keep the counts but lose the address.
    use switchboard::broadcast::{Outbox, RecipientState};
    let outbox = store.outbox().await.unwrap();
    outbox.enqueue("news", std::slice::from_ref(&anna)).await.unwrap();
    store.clone().erasure_key(key()).erase(&anna).await.unwrap();
    assert_eq!(store.last_inbound(&anna).await.unwrap(), None);
    let listed = outbox
        .recipients("news", RecipientState::Pending, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed[0].address.starts_with("erased:"));
    drop_schema(&schema).await;
}
