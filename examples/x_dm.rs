//! Sends one X DM and lists the conversation: `cargo run --example x_dm -- "Your text"`.
//!
//! Needs OAuth 1.0a user credentials of the business account (app permission "Read, write,
//! and Direct Messages"): `X_CONSUMER_KEY`, `X_CONSUMER_SECRET`, `X_ACCESS_TOKEN`,
//! `X_ACCESS_TOKEN_SECRET`, and `X_RECIPIENT_ID` (the customer's numeric user id; they
//! must have written to the account first or opted in). Without an account, use the
//! offline quickstart instead.

use switchboard::twitter::oauth1::Credentials;
use switchboard::twitter::{Client, EventQuery, NewMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vars = [
        "X_CONSUMER_KEY",
        "X_CONSUMER_SECRET",
        "X_ACCESS_TOKEN",
        "X_ACCESS_TOKEN_SECRET",
        "X_RECIPIENT_ID",
    ];
    let missing: Vec<&str> = vars
        .iter()
        .copied()
        .filter(|v| std::env::var(v).is_err())
        .collect();
    if !missing.is_empty() {
        eprintln!("Set {} to send a real X DM.", missing.join(", "));
        eprintln!("Without an account, try the offline demo: cargo run --example quickstart");
        std::process::exit(2);
    }
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let x = Client::builder()
        .oauth1(Credentials::new(
            var("X_CONSUMER_KEY"),
            var("X_CONSUMER_SECRET"),
            var("X_ACCESS_TOKEN"),
            var("X_ACCESS_TOKEN_SECRET"),
        ))
        .build()?;
    let recipient = var("X_RECIPIENT_ID");
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Hello from switchboard 👋 Reply STOP to opt out.".into());

    let sent = x.send_to_participant(&recipient, &NewMessage::text(text)).await?;
    println!(
        "sent event {} in conversation {}",
        sent.data.dm_event_id, sent.data.dm_conversation_id
    );
    if let Some(window) = sent.rate_limits.window {
        println!(
            "{} of {} sends left in this window",
            window.remaining, window.limit
        );
    }

    let page = x
        .events(&EventQuery::with_participant(&recipient).max_results(10))
        .await?;
    for event in &page.data.events {
        let who = event
            .sender_id
            .as_deref()
            .and_then(|id| page.data.user(id))
            .and_then(|u| u.username.as_deref())
            .unwrap_or("?");
        println!(
            "{} @{who}: {}",
            event.created_at.as_deref().unwrap_or(""),
            event.text.as_deref().unwrap_or("")
        );
    }
    Ok(())
}
