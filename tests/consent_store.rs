//! One behaviour suite for every consent store backend: memory and SQLite here.

mod consent_suite;

use std::sync::Arc;

use consent_suite::{
    batch, behaviour, deduplication, erasure, erasure_needs_a_key, key, record, subject, subscribers,
};
use switchboard::ConsentAction::{OptIn, OptOut};
use switchboard::broadcast::{Outbox, RecipientState};
use switchboard::consent::sqlite::SqliteStore;
use switchboard::consent::{ConsentState, ConsentStore, LinkedStore, MemoryStore, Subject};
use switchboard::webhook::MemoryDeduplicator;
use switchboard::{Address, ChannelKind};

#[tokio::test]
async fn memory_store() {
    behaviour(&MemoryStore::new()).await;
    batch(&MemoryStore::new()).await;
    subscribers(&MemoryStore::new()).await;
    subscribers(&LinkedStore::by_phone(MemoryStore::new())).await;
}

#[tokio::test]
async fn sqlite_in_memory() {
    behaviour(&SqliteStore::in_memory().await.unwrap()).await;
    batch(&SqliteStore::in_memory().await.unwrap()).await;
    subscribers(&SqliteStore::in_memory().await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_erasure_reaches_the_deduplicator_and_the_wal() {
    let store = SqliteStore::in_memory().await.unwrap().erasure_key(key());
    consent_suite::erasure_reaches_the_deduplicator(&store, &store.deduplicator()).await;

    // A file store with a reader holding a snapshot: the log cannot be emptied at once.
    let dir = std::env::temp_dir().join(format!("switchboard-wal-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ledger.db");
    let options = switchboard::consent::sqlite::SqliteOptions::new()
        .busy_timeout(std::time::Duration::from_millis(200));
    let store = SqliteStore::open_with(&path, options)
        .await
        .unwrap()
        .erasure_key(key());
    let s = Subject {
        channel: "sms".into(),
        address: "+4917612345678".into(),
    };
    store.append(&record(&s, None, OptIn, 1)).await.unwrap();
    use sqlx::Connection;
    let mut reader = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query("BEGIN").execute(&mut reader).await.unwrap();
    let _: (i64,) = sqlx::query_as("SELECT count(*) FROM consent_records")
        .fetch_one(&mut reader)
        .await
        .unwrap();
    let done = store.erase(&s).await.unwrap();
    assert!(
        !done.checkpointed,
        "a reader kept the log busy: reported, not ignored"
    );
    sqlx::query("COMMIT").execute(&mut reader).await.unwrap();
    drop(reader);
    assert!(store.checkpoint().await.unwrap());
    let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
    assert!(
        !wal.windows(13).any(|w| w == b"4917612345678"),
        "the -wal file no longer holds the number"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn erasure_keeps_opt_outs_in_every_store() {
    erasure(&MemoryStore::new().erasure_key(key())).await;
    erasure(&SqliteStore::in_memory().await.unwrap().erasure_key(key())).await;
    erasure_needs_a_key(&MemoryStore::new()).await;
    erasure_needs_a_key(&SqliteStore::in_memory().await.unwrap()).await;
}

#[tokio::test]
async fn an_erased_number_is_gone_from_the_sqlite_files() {
    let path = temp_db("erase");
    let store = SqliteStore::open(&path).await.unwrap().erasure_key(key());
    let number = "+4915199887766";
    let person = Subject::new(&ChannelKind::Sms, &Address::phone(number).unwrap());
    for at in 0..50 {
        store.append(&record(&person, None, OptOut, at)).await.unwrap();
    }
    store.append(&record(&subject(1), None, OptIn, 1)).await.unwrap();
    // A broadcast that listed the number keeps its row, under a pseudonym.
    let outbox = store.outbox().await.unwrap();
    outbox
        .enqueue("news", &[person.clone(), subject(1)])
        .await
        .unwrap();
    store.erase(&person).await.unwrap();
    let listed = outbox
        .recipients("news", RecipientState::Pending, 10)
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().any(|s| s.address.starts_with("erased:")));
    let mut bytes = Vec::new();
    for entry in std::fs::read_dir(path.parent().unwrap()).unwrap() {
        bytes.extend(std::fs::read(entry.unwrap().path()).unwrap());
    }
    assert!(!bytes.is_empty());
    assert!(
        !bytes.windows(number.len()).any(|w| w == number.as_bytes()),
        "the number is still in the database or its WAL"
    );
    assert!(store.state(&person, None).await.unwrap().is_opted_out());
    drop(store);
    let reopened = SqliteStore::open(&path).await.unwrap().erasure_key(key());
    assert!(reopened.state(&person, None).await.unwrap().is_opted_out());
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[tokio::test]
async fn deduplicators_are_atomic_and_expire() {
    deduplication(
        Arc::new(MemoryDeduplicator::default()),
        &MemoryDeduplicator::new(100, std::time::Duration::from_millis(1)),
    )
    .await;
    let path = temp_db("dedup");
    let store = SqliteStore::open(&path).await.unwrap();
    deduplication(
        Arc::new(store.deduplicator()),
        &store
            .deduplicator()
            .retention(std::time::Duration::from_millis(1)),
    )
    .await;
    // Durable: a new process (here, a new pool) still knows the key.
    let again = SqliteStore::open(&path).await.unwrap().deduplicator();
    use switchboard::webhook::Deduplicator;
    assert!(!again.first_sighting("whatsapp:wamid.1").await.unwrap());
    assert!(again.purge().await.is_ok());
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[tokio::test]
async fn linked_store_joins_sms_and_whatsapp_by_number() {
    let store = LinkedStore::by_phone(SqliteStore::in_memory().await.unwrap().erasure_key(key()));
    let number = Address::phone("+4917612345678").unwrap();
    let sms = Subject::new(&ChannelKind::Sms, &number);
    let whatsapp = Subject::new(&ChannelKind::WhatsApp, &number);
    let x_user = Subject::new(
        &ChannelKind::custom("telegram"),
        &Address::user("4917612345678").unwrap(),
    );

    store
        .append(&record(&whatsapp, None, OptIn, 1_000))
        .await
        .unwrap();
    assert!(store.state(&sms, None).await.unwrap().is_opted_in());
    store.append(&record(&sms, None, OptOut, 2_000)).await.unwrap();
    assert_eq!(
        store
            .states(&[whatsapp.clone(), x_user.clone(), sms.clone()], None)
            .await
            .unwrap(),
        vec![
            ConsentState::OptedOut { since_ms: 2_000 },
            ConsentState::Unknown,
            ConsentState::OptedOut { since_ms: 2_000 }
        ]
    );
    // Per channel, the records stay where they were made.
    assert_eq!(store.inner().records(&whatsapp).await.unwrap().len(), 1);
    let export = store.export(&whatsapp).await.unwrap();
    assert_eq!(
        export
            .records
            .iter()
            .map(|r| r.subject.channel.as_str())
            .collect::<Vec<_>>(),
        vec!["whatsapp", "sms"]
    );
    // Erasing the person erases both channels and keeps the opt-out for both.
    let done = store.erase(&whatsapp).await.unwrap();
    assert_eq!((done.records_erased, done.opt_outs_kept), (2, 1));
    assert!(store.state(&whatsapp, None).await.unwrap().is_opted_out());
    assert!(store.inner().state(&sms, None).await.unwrap().is_opted_out());
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

/// The child half of the crash test: appends an opt-out, says so, and waits to be killed.
/// Not a test of its own: `an_opt_out_survives_sigkill` runs it in a child process.
#[tokio::test]
#[ignore = "the child process of an_opt_out_survives_sigkill"]
async fn crash_child() {
    let path = std::env::var("SWITCHBOARD_CRASH_DB").expect("started by an_opt_out_survives_sigkill");
    let store = SqliteStore::open(&path).await.unwrap();
    store
        .append(&record(
            &subject(42),
            None,
            switchboard::ConsentAction::OptOut,
            42,
        ))
        .await
        .unwrap();
    println!("APPENDED");
    use std::io::Write;
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(std::time::Duration::from_secs(60)).await;
}

#[tokio::test]
async fn an_opt_out_survives_sigkill() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let path = temp_db("crash");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SWITCHBOARD_CRASH_DB", &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let appended = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .any(|line| line.contains("APPENDED"));
    // SIGKILL the moment `append` has returned: no destructor, no flush, no checkpoint runs.
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(appended, "the child never recorded the opt-out");

    let store = SqliteStore::open(&path).await.unwrap();
    assert!(
        store.state(&subject(42), None).await.unwrap().is_opted_out(),
        "the opt-out was lost"
    );
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}
