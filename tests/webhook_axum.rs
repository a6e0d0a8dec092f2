//! The axum webhook endpoint over real HTTP on 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use switchboard::webhook::MemoryDeduplicator;
use switchboard::webhook::axum::WebhookEndpoint;
use switchboard::whatsapp::Client;
use switchboard::whatsapp::webhook::signature_header;
use switchboard::{InboundContent, InboundEvent};
use tokio::sync::mpsc;

const SECRET: &str = "endpoint-secret";
const TEXT: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.A","timestamp":"1749416383","type":"text","text":{"body":"STOP"}}]}}]}]}"#;

async fn serve() -> (String, mpsc::UnboundedReceiver<Vec<InboundEvent>>) {
    let client = Client::builder()
        .access_token("t")
        .phone_number_id("106540352242922")
        .app_secret(SECRET)
        .verify_token("verify-me")
        .build()
        .unwrap();
    let (tx, rx) = mpsc::unbounded_channel();
    let endpoint = WebhookEndpoint::new(Arc::new(client), move |events| {
        let tx = tx.clone();
        async move {
            tx.send(events).unwrap();
        }
    })
    .deduplicator(Arc::new(MemoryDeduplicator::default()))
    .max_body_bytes(64 * 1024);
    let app = axum::Router::new().nest("/webhooks/whatsapp", endpoint.into_router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhooks/whatsapp", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

async fn post(url: &str, body: impl Into<reqwest::Body>, signature: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(url)
        .header("x-hub-signature-256", signature)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_endpoint_verifies_acknowledges_and_delivers_once() {
    let (url, mut rx) = serve().await;

    let handshake = reqwest::get(format!(
        "{url}?hub.mode=subscribe&hub.challenge=8675309&hub.verify_token=verify-me"
    ))
    .await
    .unwrap();
    assert_eq!(handshake.status(), 200);
    assert_eq!(handshake.text().await.unwrap(), "8675309");
    let refused = reqwest::get(format!(
        "{url}?hub.mode=subscribe&hub.challenge=1&hub.verify_token=guess"
    ))
    .await
    .unwrap();
    assert_eq!(refused.status(), 403);

    let signature = signature_header(SECRET, TEXT.as_bytes());
    for _ in 0..2 {
        assert_eq!(post(&url, TEXT, &signature).await.status(), 200);
    }
    let events = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let InboundEvent::Message(m) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(m.content, InboundContent::Text("STOP".into()));

    let forged = signature_header("wrong", TEXT.as_bytes());
    assert_eq!(post(&url, TEXT, &forged).await.status(), 401);
    assert_eq!(post(&url, vec![b' '; 65 * 1024], &signature).await.status(), 413);

    let malformed = r#"{"entry":"oops"}"#;
    let response = post(&url, malformed, &signature_header(SECRET, malformed.as_bytes())).await;
    assert_eq!(
        response.status(),
        200,
        "verified but malformed is still acknowledged"
    );
    let events = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    let InboundEvent::Unknown(u) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(u.raw.as_bytes(), malformed.as_bytes());

    // The duplicate POST and the refused ones delivered nothing.
    assert!(rx.try_recv().is_err());
}
