//! Receives WhatsApp, Twilio and X webhooks on one axum server and prints the events:
//! `cargo run --example webhook_server --features axum`.
//!
//! Each provider is mounted when its secrets are set (the server says which variables are
//! missing for the others):
//! - `/webhooks/whatsapp`: `WHATSAPP_APP_SECRET`, `WHATSAPP_VERIFY_TOKEN` (and
//!   `WHATSAPP_TOKEN`, `WHATSAPP_PHONE_NUMBER_ID`);
//! - `/webhooks/twilio`: `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`;
//! - `/webhooks/x`: `X_CONSUMER_KEY`, `X_CONSUMER_SECRET`, `X_ACCESS_TOKEN`, `X_ACCESS_TOKEN_SECRET`.
//!
//! `PUBLIC_BASE_URL` is the scheme and host the providers call (Twilio signs the full URL).
//!
//! With `--self-test` it needs nothing: it starts the sandbox, which plays a WhatsApp user,
//! an SMS user and an X user writing in, posts their signed webhooks to this server, and
//! exits once all three arrived.

use std::sync::Arc;
use std::time::Duration;

use switchboard::sandbox::Sandbox;
use switchboard::twitter::oauth1::Credentials;
use switchboard::webhook::MemoryDeduplicator;
use switchboard::webhook::axum::WebhookEndpoint;
use switchboard::{Channel, InboundContent, InboundEvent};

fn describe(event: &InboundEvent) -> String {
    match event {
        InboundEvent::Message(m) => {
            let who = m.from.name.as_deref().or(m.from.key()).unwrap_or("someone");
            match &m.content {
                InboundContent::Text(text) => format!("{} message from {who}: {text:?}", m.channel),
                InboundContent::ButtonReply { id, title } => format!("{who} tapped {title:?} ({id})"),
                other => format!("{} message from {who}: {other:?}", m.channel),
            }
        }
        InboundEvent::Status(s) => format!("{} message {} is now {}", s.channel, s.message_id, s.status),
        InboundEvent::Reaction(r) => format!("reaction {:?} to {}", r.emoji, r.message_id),
        InboundEvent::Consent(c) => format!("{} consent {:?} ({:?})", c.channel, c.action, c.scope),
        other => format!("{other:?}"),
    }
}

/// Channels by the path segment they are mounted under.
type Mounted = Vec<(&'static str, Arc<dyn Channel>)>;

/// The channels whose secrets are configured, with the variables missing for the others.
fn from_environment() -> Result<(Mounted, Vec<String>), switchboard::Error> {
    let var = |name: &str| std::env::var(name).ok();
    let mut channels: Mounted = Vec::new();
    let mut missing = Vec::new();
    let mut need = |names: &[&str]| {
        let absent: Vec<String> = names
            .iter()
            .filter(|n| var(n).is_none())
            .map(|n| n.to_string())
            .collect();
        let ok = absent.is_empty();
        missing.extend(absent);
        ok
    };
    if need(&[
        "WHATSAPP_APP_SECRET",
        "WHATSAPP_VERIFY_TOKEN",
        "WHATSAPP_TOKEN",
        "WHATSAPP_PHONE_NUMBER_ID",
    ]) {
        let client = switchboard::whatsapp::Client::builder()
            .access_token(var("WHATSAPP_TOKEN").unwrap_or_default())
            .phone_number_id(var("WHATSAPP_PHONE_NUMBER_ID").unwrap_or_default())
            .app_secret(var("WHATSAPP_APP_SECRET").unwrap_or_default())
            .verify_token(var("WHATSAPP_VERIFY_TOKEN").unwrap_or_default())
            .build()?;
        channels.push(("whatsapp", Arc::new(client)));
    }
    if need(&["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN"]) {
        let client = switchboard::sms::twilio::Client::builder()
            .account_sid(var("TWILIO_ACCOUNT_SID").unwrap_or_default())
            .auth_token(var("TWILIO_AUTH_TOKEN").unwrap_or_default())
            .build()?;
        channels.push(("twilio", Arc::new(client)));
    }
    if need(&[
        "X_CONSUMER_KEY",
        "X_CONSUMER_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
    ]) {
        let client = switchboard::twitter::Client::builder()
            .oauth1(Credentials::new(
                var("X_CONSUMER_KEY").unwrap_or_default(),
                var("X_CONSUMER_SECRET").unwrap_or_default(),
                var("X_ACCESS_TOKEN").unwrap_or_default(),
                var("X_ACCESS_TOKEN_SECRET").unwrap_or_default(),
            ))
            .build()?;
        channels.push(("x", Arc::new(client)));
    }
    Ok((channels, missing))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let self_test = std::env::args().any(|a| a == "--self-test");
    let listener = tokio::net::TcpListener::bind(if self_test {
        "127.0.0.1:0"
    } else {
        "127.0.0.1:3000"
    })
    .await?;
    let local = format!("http://{}", listener.local_addr()?);

    // In the self-test the sandbox plays the providers and its clients hold the secrets.
    let sandbox = if self_test {
        Some(
            Sandbox::builder()
                .deliver_to(format!("{local}/webhooks"))
                .start()
                .await?,
        )
    } else {
        None
    };
    let channels: Mounted = match &sandbox {
        Some(sandbox) => vec![
            ("whatsapp", Arc::new(sandbox.whatsapp())),
            ("twilio", Arc::new(sandbox.twilio())),
            ("x", Arc::new(sandbox.x())),
        ],
        None => {
            let (channels, missing) = from_environment()?;
            if !missing.is_empty() {
                eprintln!("not mounted for lack of {}", missing.join(", "));
            }
            if channels.is_empty() {
                eprintln!(
                    "Nothing to serve. Set the variables above, or try: cargo run --example webhook_server --features axum -- --self-test"
                );
                std::process::exit(2);
            }
            channels
        }
    };

    let base = std::env::var("PUBLIC_BASE_URL")
        .ok()
        .filter(|_| !self_test)
        .unwrap_or_else(|| local.clone());
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let dedup = Arc::new(MemoryDeduplicator::default());
    let mut app = axum::Router::new();
    for (name, channel) in channels {
        let tx = tx.clone();
        let endpoint = WebhookEndpoint::new(channel, move |events| {
            let tx = tx.clone();
            async move {
                for event in &events {
                    println!("  {}", describe(event));
                    let _ = tx.send(event.channel().to_string());
                }
            }
        })
        .deduplicator(dedup.clone())
        .public_base_url(&base);
        app = app.nest(&format!("/webhooks/{name}"), endpoint.into_router());
        println!("listening on {local}/webhooks/{name}");
    }
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let Some(sandbox) = sandbox else {
        server.await??;
        return Ok(());
    };
    sandbox
        .whatsapp_user("+4917612345678")
        .named("Anna")
        .sends_text("Hello from WhatsApp");
    sandbox.sms_user("+4915112345678").sends_text("Hello by SMS");
    sandbox
        .x_user("3284025577")
        .named("Erik")
        .sends_text("Hello on X");
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 3 {
        match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
            Ok(Some(channel)) => {
                seen.insert(channel);
            }
            _ => return Err(format!("only {seen:?} arrived").into()),
        }
    }
    println!("self-test passed: signed webhooks from {seen:?} verified and parsed");
    Ok(())
}
