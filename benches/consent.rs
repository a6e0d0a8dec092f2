//! Consent lookups in a ledger of 1,000,000 subjects: one subject, and a batch of 1,000 (one
//! broadcast chunk), on SQLite and, when reachable, PostgreSQL.
//!
//! Run with `cargo bench --bench consent --features postgres` (PostgreSQL at
//! `SWITCHBOARD_POSTGRES_URL` or `postgres://postgres@127.0.0.1:5432/test`; skipped if
//! unreachable). Filling the ledgers takes a while and is printed.

use std::sync::Arc;
use std::time::Instant;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use switchboard::consent::sqlite::SqliteStore;
use switchboard::consent::{ConsentRecord, ConsentStore, ErasureKey, Evidence, Source, Subject};
use switchboard::{Address, ChannelKind, ConsentAction};

const SUBJECTS: u32 = 1_000_000;

fn subject(n: u32) -> Subject {
    Subject::new(
        &ChannelKind::Sms,
        &Address::phone(&format!("+4915{n:09}")).unwrap(),
    )
}

async fn fill(store: &dyn ConsentStore) {
    let started = Instant::now();
    for chunk in (0..SUBJECTS).collect::<Vec<_>>().chunks(20_000) {
        let records: Vec<ConsentRecord> = chunk
            .iter()
            .map(|&n| {
                let action = if n % 10 == 0 {
                    ConsentAction::OptOut
                } else {
                    ConsentAction::OptIn
                };
                ConsentRecord::new(subject(n), None, action, Source::Api, Evidence::default())
                    .at(i64::from(n))
            })
            .collect();
        store.append_all(&records).await.unwrap();
    }
    eprintln!("filled {SUBJECTS} subjects in {:.1?}", started.elapsed());
}

fn bench_store(c: &mut Criterion, rt: &tokio::runtime::Runtime, name: &str, store: Arc<dyn ConsentStore>) {
    let mut group = c.benchmark_group("consent");
    group.sample_size(30);
    let mut n = 0u32;
    group.bench_function(BenchmarkId::new("state", name), |b| {
        b.to_async(rt).iter(|| {
            n = (n + 7_919) % SUBJECTS;
            let store = Arc::clone(&store);
            async move { store.state(&subject(n), None).await.unwrap() }
        });
    });
    let mut start = 0u32;
    group.bench_function(BenchmarkId::new("states_1000", name), |b| {
        b.to_async(rt).iter(|| {
            start = (start + 104_729) % (SUBJECTS - 1_000);
            let batch: Vec<Subject> = (start..start + 1_000)
                .map(|i| subject((i * 7_919) % SUBJECTS))
                .collect();
            let store = Arc::clone(&store);
            async move { store.states(&batch, Some("news")).await.unwrap() }
        });
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("switchboard-consent-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = rt.block_on(async {
        let store = SqliteStore::open(dir.join("consent.db")).await.unwrap();
        fill(&store).await;
        store
    });
    bench_store(c, &rt, "sqlite", Arc::new(sqlite.clone()));
    // With an erasure key, every lookup also consults the tombstones.
    let key = ErasureKey::new([7u8; 32]).unwrap();
    bench_store(c, &rt, "sqlite_erasure_key", Arc::new(sqlite.erasure_key(key)));

    #[cfg(feature = "postgres")]
    {
        let url = std::env::var("SWITCHBOARD_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let schema = format!("switchboard_bench_{}", std::process::id());
        let store = rt.block_on(async {
            let store = switchboard::consent::postgres::PostgresStore::connect_in_schema(&url, Some(&schema))
                .await
                .ok()?;
            fill(&store).await;
            Some(store)
        });
        match store {
            Some(store) => {
                bench_store(c, &rt, "postgres", Arc::new(store));
                rt.block_on(async {
                    use sqlx::Connection;
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&url).await {
                        let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                            .execute(&mut conn)
                            .await;
                    }
                });
            }
            None => eprintln!("PostgreSQL not reachable at {url}: skipped"),
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}

criterion_group!(benches, bench);
criterion_main!(benches);
