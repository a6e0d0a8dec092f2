//! Your own provider as a switchboard channel: a Telegram Bot API adapter written with the
//! public API alone, then wrapped in the same decorators as the built-in channels.
//! `cargo run --example custom_channel` (offline: a local stand-in plays the Bot API).
//!
//! The template for integrators: implement the four methods of [`Channel`], map the
//! provider's errors to [`ApiError`] with an [`ErrorClass`], verify webhooks before parsing
//! them, keep what you do not model as [`UnknownEvent`].

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use serde_json::{Value, json};
use switchboard::consent::{ConsentGuard, ConsentInterceptor, ConsentStore, MemoryStore};
use switchboard::reqwest;
use switchboard::{
    Address, ApiError, Capabilities, Channel, ChannelExt, ChannelKind, Content, Error, ErrorClass, ErrorKind,
    InboundContent, InboundEvent, InboundMessage, MessageCategory, OutboundMessage, Rate, SendReceipt,
    Sender, ThrottleLimits, UnknownEvent, UserId, WebhookError, WebhookOutcome, WebhookRequest, async_trait,
};

/// A Telegram bot. `Debug` leaves out the token and the webhook secret.
struct Telegram {
    http: reqwest::Client,
    /// `https://api.telegram.org/bot<token>`
    api: String,
    /// The `secret_token` given to `setWebhook`, echoed in `X-Telegram-Bot-Api-Secret-Token`.
    webhook_secret: String,
}

impl std::fmt::Debug for Telegram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telegram([redacted])")
    }
}

fn telegram() -> ChannelKind {
    ChannelKind::custom("telegram")
}

/// Constant-time comparison, so the secret cannot be guessed byte by byte from timings.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[async_trait]
impl Channel for Telegram {
    fn kind(&self) -> ChannelKind {
        telegram()
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::new()
            .with_text(4096)
            .with_reply_buttons(8)
            .with_reply_context()
    }

    async fn send(&self, message: &OutboundMessage) -> switchboard::Result<SendReceipt> {
        let Address::User(chat_id) = &message.to else {
            return Err(Error::unsupported(
                telegram(),
                "phone numbers (Telegram addresses chats by id)",
            ));
        };
        let mut body = json!({"chat_id": chat_id.as_str()});
        match &message.content {
            Content::Text(text) => body["text"] = text.clone().into(),
            Content::Buttons(buttons) => {
                body["text"] = buttons.text.clone().into();
                let row: Vec<Value> = buttons
                    .buttons
                    .iter()
                    .map(|b| json!({"text": b.title, "callback_data": b.id}))
                    .collect();
                body["reply_markup"] = json!({"inline_keyboard": [row]});
            }
            other => return Err(Error::unsupported(telegram(), other.type_name())),
        }
        if let Some(reply_to) = &message.reply_to {
            body["reply_parameters"] = json!({"message_id": reply_to.parse::<i64>().unwrap_or_default()});
        }
        let response = self
            .http
            .post(format!("{}/sendMessage", self.api))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .map_err(|e| {
                Error::new(ErrorKind::Transport {
                    may_have_been_sent: !e.is_connect(),
                })
                .with_source(e)
            })?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default();
        let answer: Value = serde_json::from_slice(&bytes).unwrap_or_default();
        if answer["ok"] == true {
            let id = answer["result"]["message_id"].to_string();
            return Ok(SendReceipt::new(telegram(), id));
        }
        // Telegram's error envelope: {"ok": false, "error_code": 403, "description": "…"}.
        let code = answer["error_code"]
            .as_i64()
            .unwrap_or(i64::from(status.as_u16()));
        let class = match code {
            429 => ErrorClass::RateLimited,
            401 => ErrorClass::Auth,
            // The user blocked the bot: an opt-out. With this class the consent guard records
            // it, and the next message to them is refused locally instead of sent.
            403 => ErrorClass::OptedOut,
            _ => ErrorClass::InvalidRequest,
        };
        let description = answer["description"].as_str().unwrap_or("Telegram error");
        let api = ApiError::new("telegram", status, class, description).with_code(code);
        Err(Error::new(ErrorKind::Api(Box::new(api))))
    }

    fn handle_webhook(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        let given =
            request
                .header("x-telegram-bot-api-secret-token")
                .ok_or(WebhookError::MissingSignature {
                    header: "x-telegram-bot-api-secret-token",
                })?;
        if !same(given.as_bytes(), self.webhook_secret.as_bytes()) {
            return Err(WebhookError::SignatureMismatch);
        }
        request.check_size(1 << 20)?;
        let update: Value =
            serde_json::from_slice(request.body()).map_err(|_| WebhookError::MalformedPayload {
                path: ".".into(),
                raw: switchboard::RawBody::new(request.body().clone()),
            })?;
        let sender = |from: &Value| {
            let id = from["id"].to_string();
            let sender = UserId::new(id).map(Sender::user).unwrap_or_default();
            match from["first_name"].as_str() {
                Some(name) => sender.with_name(name),
                None => sender,
            }
        };
        let event = if let Some(text) = update["message"]["text"].as_str() {
            let message = &update["message"];
            InboundEvent::Message(
                InboundMessage::new(
                    telegram(),
                    message["message_id"].to_string(),
                    sender(&message["from"]),
                    InboundContent::Text(text.to_owned()),
                )
                .at(message["date"].as_i64().unwrap_or_default()),
            )
        } else if let Some(data) = update["callback_query"]["data"].as_str() {
            let query = &update["callback_query"];
            let title = query["message"]["reply_markup"]["inline_keyboard"][0]
                .as_array()
                .and_then(|row| row.iter().find(|b| b["callback_data"] == data))
                .and_then(|b| b["text"].as_str())
                .unwrap_or(data);
            InboundEvent::Message(InboundMessage::new(
                telegram(),
                query["id"].as_str().unwrap_or_default(),
                sender(&query["from"]),
                InboundContent::ButtonReply {
                    id: data.to_owned(),
                    title: title.to_owned(),
                },
            ))
        } else {
            // Edited messages, channel posts, polls…: kept whole for the app.
            InboundEvent::Unknown(UnknownEvent::new(telegram(), "update", request.body().clone()))
        };
        Ok(WebhookOutcome::Events(vec![event]))
    }
}

/// A local stand-in for the Bot API's `sendMessage`, so the example runs offline.
async fn send_message(State(sent): State<Arc<Mutex<Vec<Value>>>>, Json(body): Json<Value>) -> Json<Value> {
    let mut sent = sent.lock().unwrap();
    sent.push(body);
    Json(json!({"ok": true, "result": {"message_id": 100 + sent.len()}}))
}

fn update(secret: &str, body: Value) -> WebhookRequest {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-telegram-bot-api-secret-token", secret.parse().unwrap());
    WebhookRequest::new(
        http::Method::POST,
        "https://example.com/webhooks/telegram",
        headers,
        body.to_string(),
    )
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let stand_in = axum::Router::new()
        .route("/bot{token}/sendMessage", axum::routing::post(send_message))
        .with_state(Arc::clone(&sent));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = format!("http://{}/bot123456:ABC", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, stand_in).await });

    let bot = Arc::new(Telegram {
        http: reqwest::Client::new(),
        api,
        webhook_secret: "s3cr3t-token".into(),
    });
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    // The same decorators as every built-in channel: Telegram allows about 30 messages a second.
    let channel = ConsentGuard::new(Arc::clone(&bot), Arc::clone(&ledger))
        .throttle(ThrottleLimits::new().per_sender(Rate::per_second(30)));
    let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));

    // A webhook with the wrong secret is refused before parsing.
    let forged = update("guess", json!({"update_id": 1}));
    assert_eq!(
        bot.handle_webhook(&forged).unwrap_err(),
        WebhookError::SignatureMismatch
    );
    println!("forged update refused: {}", WebhookError::SignatureMismatch);

    // A customer writes; the bot answers with buttons.
    let hello = update(
        "s3cr3t-token",
        json!({"update_id": 2, "message": {"message_id": 7, "date": 1_763_700_000,
        "from": {"id": 424242, "first_name": "Mia"}, "chat": {"id": 424242, "type": "private"}, "text": "Hi! Any news?"}}),
    );
    let WebhookOutcome::Events(events) = bot.handle_webhook(&hello)? else {
        unreachable!()
    };
    let InboundEvent::Message(message) = &events[0] else {
        unreachable!()
    };
    println!(
        "{} wrote: {:?}",
        message.from.name.as_deref().unwrap_or("?"),
        message.content
    );
    let mia = Address::user("424242")?;
    let menu = switchboard::Buttons::new(
        "What would you like?",
        [
            switchboard::Button::new("news", "This week's news"),
            switchboard::Button::new("agent", "A person"),
        ],
    );
    channel
        .send(&OutboundMessage::new(mia.clone(), Content::Buttons(menu)).reply_to(message.id.clone()))
        .await?;

    // She sends STOP: recorded, confirmed once; marketing is refused from now on.
    let stop = update(
        "s3cr3t-token",
        json!({"update_id": 3, "message": {"message_id": 8, "date": 1_763_700_060,
        "from": {"id": 424242, "first_name": "Mia"}, "chat": {"id": 424242, "type": "private"}, "text": "STOP"}}),
    );
    let WebhookOutcome::Events(events) = bot.handle_webhook(&stop)? else {
        unreachable!()
    };
    interceptor.process(&events[0], bot.as_ref()).await?;
    let promo = OutboundMessage::text(mia, "20% off this week").category(MessageCategory::Marketing);
    let refused = channel.send(&promo).await.unwrap_err();
    println!("promotion not sent: {refused}");

    let sent = sent.lock().unwrap();
    println!("the Bot API received {} message(s):", sent.len());
    for body in sent.iter() {
        println!("  {}", body["text"]);
    }
    assert_eq!(sent.len(), 2, "the menu and the STOP confirmation, nothing else");
    Ok(())
}
