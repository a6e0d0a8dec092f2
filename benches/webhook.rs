//! Receiving cost: verify + parse of a WhatsApp webhook with 1 message and with a batch of
//! 100, next to a floor measured in the same run: the HMAC over the same body plus
//! `serde_json::from_slice::<serde_json::Value>` (what any hand-written receiver must do at
//! least). `verify+parse` stops at the typed `Notification`; `handle` also normalizes into
//! neutral `InboundEvent`s.
//!
//! Run with `cargo bench --bench webhook`.

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderMap, Method};
use sha2::Sha256;
use switchboard::WebhookRequest;
use switchboard::whatsapp::webhook::{self, WebhookVerifier, signature_header};

const SECRET: &str = "bench-app-secret";

fn body(messages: usize) -> String {
    let changes: Vec<String> = (0..messages)
        .map(|i| {
            format!(
                r#"{{"value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"Sheena Nelson"}},"wa_id":"1650555{i:04}"}}],"messages":[{{"from":"1650555{i:04}","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0{i:04}","timestamp":"1749416383","type":"text","text":{{"body":"Does it come in another color? I would like it in green."}}}}]}},"field":"messages"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"419561257915477","changes":[{}]}}]}}"#,
        changes.join(",")
    )
}

fn bench(c: &mut Criterion) {
    let verifier = WebhookVerifier::new(SECRET);
    let mut group = c.benchmark_group("webhook");
    for messages in [1usize, 100] {
        let body = Bytes::from(body(messages));
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-hub-signature-256",
            signature_header(SECRET, &body).parse().unwrap(),
        );
        let request = WebhookRequest::new(Method::POST, "https://example.com/wa", headers, body.clone());
        let expected = hex::decode(&signature_header(SECRET, &body)["sha256=".len()..]).unwrap();
        group.throughput(Throughput::Bytes(body.len() as u64));

        group.bench_with_input(
            BenchmarkId::new("floor_hmac_plus_value", messages),
            &body,
            |b, body| {
                b.iter(|| {
                    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
                    mac.update(body);
                    mac.verify_slice(&expected).unwrap();
                    serde_json::from_slice::<serde_json::Value>(body).unwrap()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("verify_parse", messages),
            &request,
            |b, request| {
                b.iter(|| {
                    verifier.verify(request).unwrap();
                    webhook::parse(request.body()).unwrap()
                });
            },
        );
        group.bench_with_input(
            BenchmarkId::new("handle_to_events", messages),
            &request,
            |b, request| {
                b.iter(|| verifier.handle(request).unwrap());
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
