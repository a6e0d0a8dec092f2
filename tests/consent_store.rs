//! One behaviour suite for every consent store backend: memory and SQLite here.

mod consent_suite;

use std::sync::Arc;

use consent_suite::{batch, behaviour, record, subject};
use switchboard::ConsentAction::OptIn;
use switchboard::consent::sqlite::SqliteStore;
use switchboard::consent::{ConsentStore, MemoryStore};

#[tokio::test]
async fn memory_store() {
    behaviour(&MemoryStore::new()).await;
    batch(&MemoryStore::new()).await;
}

#[tokio::test]
async fn sqlite_in_memory() {
    behaviour(&SqliteStore::in_memory().await.unwrap()).await;
    batch(&SqliteStore::in_memory().await.unwrap()).await;
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-{name}-{}-{}",
        std::process::id(),
        fastrand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("consent.db")
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

#[tokio::test]
async fn sqlite_file_is_durable_across_reopening() {
    let path = temp_db("durable");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        behaviour(&store).await;
    }
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert!(reopened.state(&subject(1), None).await.unwrap().is_opted_out());
    assert_eq!(reopened.records(&subject(1)).await.unwrap().len(), 4);
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_appends_are_all_kept() {
    let path = temp_db("concurrent");
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..10 {
                    store
                        .append(&record(&subject(7), Some(&format!("t{t}")), OptIn, t * 100 + i))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(store.records(&subject(7)).await.unwrap().len(), 80);
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}
