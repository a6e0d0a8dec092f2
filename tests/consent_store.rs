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
