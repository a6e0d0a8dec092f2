//! What the SDK adds to a send: `whatsapp::Client::send` of a text message next to a raw
//! reqwest POST of the same bytes, both against the same local keep-alive HTTP server, at
//! concurrency 1 and 64.
//!
//! A third line, `hand_written`, is reqwest code doing the SDK's job by hand (serialize the
//! request, POST it, decode the typed answer): the difference between it and `switchboard`
//! is the cost of the SDK's machinery (validation, transport trait, retry, timeout, span).
//!
//! Run with `cargo bench --bench whatsapp_send`. On a small shared machine wall-clock
//! figures vary by about 10% between runs; `send_instructions` counts instructions instead.

mod common;

use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;

fn bench(c: &mut Criterion) {
    let addr = common::serve_on_own_thread();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let senders = rt.block_on(async { common::Senders::new(addr) });
    let s = &senders;

    let mut group = c.benchmark_group("whatsapp_send");
    group.measurement_time(Duration::from_secs(8));
    for concurrency in [1usize, 64] {
        group.throughput(Throughput::Elements(concurrency as u64));
        group.bench_with_input(
            BenchmarkId::new("raw_reqwest", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&rt).iter(|| join_all((0..n).map(|_| s.raw())));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("hand_written", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&rt)
                    .iter(|| join_all((0..n).map(|_| s.hand_written())));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("switchboard", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&rt).iter(|| join_all((0..n).map(|_| s.switchboard())));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
