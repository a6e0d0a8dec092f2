//! What the SDK adds to a send: `whatsapp::Client::send` of a text message next to a raw
//! reqwest POST of the same bytes, both against the same local keep-alive HTTP server, at
//! concurrency 1 and 64.
//!
//! A third line, `hand_written`, is reqwest code doing the SDK's job by hand (serialize the
//! request, POST it, decode the typed answer): the difference between it and `switchboard`
//! is the cost of the SDK's machinery (validation, transport trait, retry, timeout, span).
//!
//! Run with `cargo bench --bench whatsapp_send`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::http::header;
use axum::routing::post;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use futures_util::future::join_all;
use switchboard::PhoneNumber;
use switchboard::whatsapp::{Client, MessageRequest, SendResponse};

const RESPONSE: &str = r#"{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]}"#;

/// Starts the server on its own runtime thread so it does not share the client's executor.
fn start_server() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = Router::new().route(
                "/v26.0/{id}/messages",
                post(|| async { ([(header::CONTENT_TYPE, "application/json")], RESPONSE) }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

fn bench(c: &mut Criterion) {
    let addr = start_server();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://{addr}");
    let client = Client::builder()
        .access_token("EAAJB-bench-token")
        .phone_number_id("106540352242922")
        .base_url(&base)
        .build()
        .unwrap();
    let to: PhoneNumber = "+16505551234".parse().unwrap();
    let request = MessageRequest::text(to, "Your order #4711 has shipped and arrives tomorrow.");
    let body = bytes::Bytes::from(serde_json::to_vec(&request).unwrap());
    let url = format!("{base}/v26.0/106540352242922/messages");
    let raw = reqwest::Client::new();

    let sdk_send = || async {
        client.send(&request).await.unwrap();
    };
    let raw_send = || async {
        let response = raw
            .post(&url)
            .bearer_auth("EAAJB-bench-token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response.bytes().await.unwrap();
    };

    let hand_written = || async {
        let response = raw
            .post(&url)
            .bearer_auth("EAAJB-bench-token")
            .header(header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&request).unwrap())
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        let body = response.bytes().await.unwrap();
        let sent: SendResponse = serde_json::from_slice(&body).unwrap();
        assert!(sent.message_id().is_some());
    };

    let mut group = c.benchmark_group("whatsapp_send");
    group.measurement_time(Duration::from_secs(8));
    for concurrency in [1usize, 64] {
        group.throughput(Throughput::Elements(concurrency as u64));
        group.bench_with_input(
            BenchmarkId::new("raw_reqwest", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&rt).iter(|| join_all((0..n).map(|_| raw_send())));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("hand_written", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&rt).iter(|| join_all((0..n).map(|_| hand_written())));
            },
        );
        group.bench_with_input(
            BenchmarkId::new("switchboard", concurrency),
            &concurrency,
            |b, &n| {
                b.to_async(&rt).iter(|| join_all((0..n).map(|_| sdk_send())));
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
