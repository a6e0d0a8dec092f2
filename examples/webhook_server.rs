//! Receives WhatsApp webhooks and prints the events:
//! `cargo run --example webhook_server --features axum`.
//!
//! Set `WHATSAPP_APP_SECRET` and `WHATSAPP_VERIFY_TOKEN` to your app's values and point the
//! App Dashboard's callback URL at `https://<your host>/webhooks/whatsapp` (through a tunnel
//! during development). With `--self-test` it posts one signed sample notification to
//! itself, prints what it received, and exits: a check that works offline.

use std::sync::Arc;
use std::time::Duration;

use switchboard::webhook::MemoryDeduplicator;
use switchboard::webhook::axum::WebhookEndpoint;
use switchboard::whatsapp::Client;
use switchboard::whatsapp::webhook::signature_header;
use switchboard::{InboundContent, InboundEvent};

const SAMPLE: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"419561257915477","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}"#;

fn describe(event: &InboundEvent) -> String {
    match event {
        InboundEvent::Message(m) => {
            let who = m.from.name.as_deref().unwrap_or("someone");
            match &m.content {
                InboundContent::Text(text) => format!("message {} from {who}: {text:?}", m.id),
                InboundContent::ButtonReply { id, title } => format!("{who} tapped {title:?} ({id})"),
                other => format!("message {} from {who}: {other:?}", m.id),
            }
        }
        InboundEvent::Status(s) => format!("message {} is now {}", s.message_id, s.status),
        InboundEvent::Reaction(r) => format!("reaction {:?} to {}", r.emoji, r.message_id),
        InboundEvent::Consent(c) => format!("consent {:?} ({:?})", c.action, c.scope),
        other => format!("{other:?}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let secret = std::env::var("WHATSAPP_APP_SECRET").unwrap_or_else(|_| "local-app-secret".into());
    let client = Client::builder()
        .access_token(std::env::var("WHATSAPP_TOKEN").unwrap_or_else(|_| "local-token".into()))
        .phone_number_id(
            std::env::var("WHATSAPP_PHONE_NUMBER_ID").unwrap_or_else(|_| "106540352242922".into()),
        )
        .app_secret(&secret)
        .verify_token(std::env::var("WHATSAPP_VERIFY_TOKEN").unwrap_or_else(|_| "local-verify-token".into()))
        .build()?;

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<usize>();
    let endpoint = WebhookEndpoint::new(Arc::new(client), move |events| {
        let tx = tx.clone();
        async move {
            for event in &events {
                println!("  {}", describe(event));
            }
            let _ = tx.send(events.len());
        }
    })
    .deduplicator(Arc::new(MemoryDeduplicator::default()));
    let app = axum::Router::new().nest("/webhooks/whatsapp", endpoint.into_router());

    let addr = if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    };
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let url = format!("http://{}/webhooks/whatsapp", listener.local_addr()?);
    println!("listening on {url}");
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    if !self_test {
        server.await??;
        return Ok(());
    }

    let response = reqwest::Client::new()
        .post(&url)
        .header(
            "x-hub-signature-256",
            signature_header(&secret, SAMPLE.as_bytes()),
        )
        .header("content-type", "application/json")
        .body(SAMPLE)
        .send()
        .await?;
    println!("posted a signed sample: HTTP {}", response.status());
    let received = tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await?
        .unwrap_or(0);
    println!("received {received} event(s)");
    if received == 0 {
        return Err("the sample was not delivered".into());
    }
    Ok(())
}
