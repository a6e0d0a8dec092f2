//! The quickstart: `cargo run --example quickstart`. Offline, no accounts.
//!
//! It starts a small stand-in for the WhatsApp Cloud API on 127.0.0.1 (the full provider
//! sandbox comes with the `sandbox` feature), points a `whatsapp::Client` at it, and sends a
//! short newsletter story through the neutral `Channel` API with WhatsApp's throughput limits:
//! a welcome template, a reply inside the 24-hour window, a free-form message outside it
//! (refused with a typed "needs template" error, then sent as a template), and a topic
//! picker whose five buttons become a list menu.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use switchboard::whatsapp::Client;
use switchboard::{
    Address, Button, Buttons, Channel, ChannelExt, Content, ErrorClass, MessageCategory, OutboundMessage,
    Template, ThrottleLimits,
};

const TOKEN: &str = "sandbox-token";
const PHONE_NUMBER_ID: &str = "106540352242922";

/// What the stand-in remembers: who wrote to the business in the last 24 hours.
#[derive(Default)]
struct StandIn {
    window_open: HashSet<String>,
    sent: usize,
}

/// Accepts a send the way the Cloud API does, including its 131047 rule.
async fn messages(
    State(state): State<Arc<Mutex<StandIn>>>,
    Path((_version, _phone_number_id)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some(&format!("Bearer {TOKEN}")) {
        let error = json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}});
        return (StatusCode::UNAUTHORIZED, Json(error));
    }
    let mut state = state.lock().unwrap();
    let to = body["to"].as_str().unwrap_or_default().to_owned();
    if body["type"] != "template" && !state.window_open.contains(&to) {
        let error = json!({"error": {"message": "(#131047) Re-engagement message", "type": "OAuthException",
            "code": 131047, "error_data": {"messaging_product": "whatsapp",
            "details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
            "fbtrace_id": "AbCdEf"}});
        return (StatusCode::BAD_REQUEST, Json(error));
    }
    state.sent += 1;
    let wa_id = to.trim_start_matches('+').to_owned();
    let id = format!("wamid.SANDBOX{:04}", state.sent);
    (
        StatusCode::OK,
        Json(
            json!({"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": wa_id}], "messages": [{"id": id}]}),
        ),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Anna answered a message this morning; Ben has not written for weeks.
    let anna = Address::phone("+4915112345678")?;
    let ben = Address::phone("+4917698765432")?;
    let state = Arc::new(Mutex::new(StandIn {
        window_open: HashSet::from([anna.as_key().to_owned()]),
        sent: 0,
    }));
    let app = Router::new()
        .route("/{version}/{phone_number_id}/messages", post(messages))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("WhatsApp Cloud API stand-in listening on {base_url}\n");

    // The real thing differs only in the base URL and the token.
    let client = Client::builder()
        .access_token(TOKEN)
        .phone_number_id(PHONE_NUMBER_ID)
        .base_url(&base_url)
        .build()?;
    let channel: Arc<dyn Channel> = Arc::new(client.throttle(ThrottleLimits::whatsapp()));

    let welcome = Template::new("newsletter_welcome", "de").named_param("first_name", "Anna");
    let sent = channel
        .send(
            &OutboundMessage::new(anna.clone(), Content::Template(welcome))
                .category(MessageCategory::Marketing),
        )
        .await?;
    println!(
        "→ Anna ({anna}): welcome template                 accepted as {}",
        sent.message_id
    );

    let reply = OutboundMessage::text(
        anna.clone(),
        "Thanks for your question! The new tariff starts on 1 March.",
    );
    let sent = channel.send(&reply).await?;
    println!(
        "→ Anna ({anna}): 1:1 answer inside her 24 h window   accepted as {}",
        sent.message_id
    );

    let nudge = OutboundMessage::text(ben.clone(), "Hi Ben, we have news for you!");
    match channel.send(&nudge).await {
        Err(err) if err.class() == Some(ErrorClass::NeedsTemplate) => {
            println!("✗ Ben  ({ben}): free-form text refused: {err}");
            let template = Template::new("news_digest", "de").named_param("first_name", "Ben");
            let sent = channel
                .send(
                    &OutboundMessage::new(ben.clone(), Content::Template(template))
                        .category(MessageCategory::Marketing),
                )
                .await?;
            println!(
                "→ Ben  ({ben}): sent as template news_digest instead accepted as {}",
                sent.message_id
            );
        }
        other => return Err(format!("expected a needs-template error, got {other:?}").into()),
    }

    let topics = Buttons::new(
        "Which topics interest you?",
        ["Tariffs", "Network", "Events", "Jobs", "Press"].map(|t| Button::new(t.to_lowercase(), t)),
    );
    let sent = channel
        .send(&OutboundMessage::new(anna.clone(), Content::Buttons(topics)))
        .await?;
    println!(
        "→ Anna ({anna}): topic picker, 5 buttons → list menu accepted as {}",
        sent.message_id
    );

    let accepted = state.lock().unwrap().sent;
    println!(
        "\n{accepted} messages accepted; 1 refused by the provider's 24-hour rule and resent as a template."
    );
    Ok(())
}
