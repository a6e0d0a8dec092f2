//! Broadcast fan-out against a local Graph API stand-in, with the SQLite outbox and ledger
//! in a file (`synchronous=FULL`, as in production):
//!
//! - `broadcast/unthrottled/1000` (criterion): 1,000 recipients with no rate limit: what
//!   the outbox, the consent lookups and the sends cost per recipient.
//! - then one broadcast to 10,000 and one to 100,000 subscribers at a configured rate
//!   (`SWITCHBOARD_BENCH_RATE`, default 1,000 per second), printing the time, the achieved
//!   rate against the configured one, and the peak resident memory during each run (Linux:
//!   the high-water mark is reset before each run through `/proc/self/clear_refs`).
//!
//! Run with `cargo bench --bench broadcast` (about three minutes at the default rate);
//! `SWITCHBOARD_BENCH_LEAN=1` opens SQLite with small caches and no memory map.

#[allow(dead_code)] // only the server is used here
mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use switchboard::broadcast::{Broadcast, Broadcaster, RecipientState};
use switchboard::consent::sqlite::{SqliteOptions, SqliteStore};
use switchboard::consent::{ConsentRecord, ConsentStore, Evidence, Source, Subject, SubscriberQuery};
use switchboard::{Address, ChannelKind, ConsentAction, Content, Rate, Template};

fn number(topic: u32, n: u32) -> Address {
    Address::phone(&format!("+49{}{n:08}", 151 + topic)).unwrap()
}

async fn seed(store: &SqliteStore, topic: &str, topic_no: u32, count: u32) {
    for start in (0..count).step_by(10_000) {
        let records: Vec<ConsentRecord> = (start..(start + 10_000).min(count))
            .map(|n| {
                ConsentRecord::new(
                    Subject::new(&ChannelKind::WhatsApp, &number(topic_no, n)),
                    Some(topic),
                    ConsentAction::OptIn,
                    Source::WebForm,
                    Evidence::default(),
                )
            })
            .collect();
        store.append_all(&records).await.unwrap();
    }
}

/// A kernel figure of this process from /proc/self/status, in KiB (Linux only).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn reset_peak() {
    // "5" resets the peak resident set size to the current one (Linux 4.0+).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn client(addr: std::net::SocketAddr) -> switchboard::whatsapp::Client {
    switchboard::whatsapp::Client::builder()
        .access_token("EAAJB-bench-token")
        .phone_number_id("106540352242922")
        .base_url(format!("http://{addr}"))
        .build()
        .unwrap()
}

fn main() {
    let addr = common::serve_on_own_thread();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("switchboard-broadcast-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ledger = rt.block_on(async {
        // `SWITCHBOARD_BENCH_LEAN=1`: an 8 MiB page cache per connection and no memory map,
        // to see the broadcaster's own memory apart from SQLite's caches.
        let options = if std::env::var_os("SWITCHBOARD_BENCH_LEAN").is_some() {
            SqliteOptions::new().cache_mib(8).mmap_mib(0)
        } else {
            SqliteOptions::new()
        };
        let ledger = Arc::new(
            SqliteStore::open_with(dir.join("bench.db"), options)
                .await
                .unwrap(),
        );
        seed(&ledger, "small", 0, 1_000).await;
        seed(&ledger, "medium", 1, 10_000).await;
        seed(&ledger, "large", 2, 100_000).await;
        ledger
    });
    let outbox = Arc::new(rt.block_on(ledger.outbox()).unwrap());

    let mut c = Criterion::default().configure_from_args();
    let mut group = c.benchmark_group("broadcast");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000));
    let unthrottled =
        Broadcaster::new(outbox.clone(), ledger.clone()).channel(client(addr), Rate::per_second(1_000_000));
    let mut run = 0u32;
    group.bench_with_input(BenchmarkId::new("unthrottled", 1_000), &1_000, |b, _| {
        b.to_async(&rt).iter(|| {
            run += 1;
            let broadcast = Broadcast::to_subscribers(
                format!("unthrottled-{run}"),
                SubscriberQuery::topic("small"),
                Content::Template(Template::new("newsletter", "de")),
            );
            let unthrottled = &unthrottled;
            async move {
                let report = unthrottled.run(&broadcast, |_| {}).await.unwrap();
                assert_eq!(report.count(RecipientState::Sent), 1_000);
            }
        });
    });
    group.finish();

    let rate: u32 = std::env::var("SWITCHBOARD_BENCH_RATE")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(1_000);
    let limited = Broadcaster::new(outbox, ledger.clone()).channel(client(addr), Rate::per_second(rate));
    for (topic, count) in [("medium", 10_000u64), ("large", 100_000)] {
        let broadcast = Broadcast::to_subscribers(
            format!("limited-{topic}"),
            SubscriberQuery::topic(topic),
            Content::Template(Template::new("newsletter", "de")),
        );
        reset_peak();
        let before = status_kib("VmRSS:");
        let anon_before = status_kib("RssAnon:").unwrap_or(0);
        // The heap (anonymous memory) sampled on the side: the resident set also counts
        // the SQLite file's pages mapped in, which the kernel can drop at will.
        let sampling = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let sampler = {
            let sampling = sampling.clone();
            std::thread::spawn(move || {
                let mut peak = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(status_kib("RssAnon:").unwrap_or(0));
                    std::thread::sleep(Duration::from_millis(20));
                }
                peak
            })
        };
        let started = Instant::now();
        let report = rt.block_on(limited.run(&broadcast, |_| {})).unwrap();
        let elapsed = started.elapsed();
        sampling.store(false, std::sync::atomic::Ordering::Relaxed);
        let anon_peak = sampler.join().unwrap();
        assert_eq!(report.count(RecipientState::Sent), count, "{report}");
        let achieved = count as f64 / elapsed.as_secs_f64();
        println!(
            "broadcast/limited/{count}: {:.1} s, {achieved:.0} msg/s of {rate} configured ({:.1}%), \
             resident {} MiB before, peak {} MiB during the run (heap {} MiB before, peak {} MiB)",
            elapsed.as_secs_f64(),
            100.0 * achieved / f64::from(rate),
            before.map_or("?".into(), |k| (k / 1024).to_string()),
            status_kib("VmHWM:").map_or("?".into(), |k| (k / 1024).to_string()),
            anon_before / 1024,
            anon_peak / 1024,
        );
    }
    c.final_summary();
    drop(limited);
    std::thread::sleep(Duration::from_millis(100));
    std::fs::remove_dir_all(&dir).ok();
}
