//! STOP, START, HELP and platform signals, from inbound webhook to ledger to guard.

use std::sync::Arc;

use serde_json::json;
use switchboard::consent::{
    ConsentGuard, ConsentInterceptor, ConsentStore, Handled, MARKETING, MemoryStore, Source, Subject,
};
use switchboard::whatsapp::webhook::parse;
use switchboard::{
    Address, Channel, ChannelKind, ConsentAction, InboundEvent, MessageCategory, OutboundMessage, RetryPolicy,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A WhatsApp client against a local Graph stand-in that accepts every send as `id`.
async fn whatsapp(id: &str) -> (MockServer, switchboard::whatsapp::Client) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": id}]})))
        .mount(&server)
        .await;
    let client = switchboard::whatsapp::Client::builder()
        .access_token("t")
        .phone_number_id("106540352242922")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    (server, client)
}

/// A text from Anna, each one a second after the one before.
fn text_event(id: &str, body: &str) -> InboundEvent {
    static CLOCK: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(1_749_416_383);
    let at = CLOCK.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    text_at(id, body, at)
}

fn text_at(id: &str, body: &str, at: i64) -> InboundEvent {
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"metadata": {"phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Anna"}, "wa_id": "4917612345678"}],
            "messages": [{"from": "4917612345678", "id": id, "timestamp": at.to_string(), "type": "text", "text": {"body": body}}]}}]}]});
    parse(payload.to_string().as_bytes())
        .unwrap()
        .into_events()
        .remove(0)
}

fn marketing_signal(value: &str, at: i64) -> InboundEvent {
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "user_preferences",
        "value": {"user_preferences": [{"wa_id": "4917612345678", "detail": "User requested to stop marketing messages",
            "category": "marketing_messages", "value": value, "timestamp": at}]}}]}]});
    parse(payload.to_string().as_bytes())
        .unwrap()
        .into_events()
        .remove(0)
}

/// Records carry the time the person said it: a START redelivered late does not beat the
/// STOP sent after it, and a START and a STOP within one second leave the person opted out,
/// whichever arrives first.
#[tokio::test]
async fn the_persons_own_order_wins_not_the_order_of_arrival() {
    let (_server, client) = whatsapp("wamid.x").await;
    let anna = Subject::new(&ChannelKind::WhatsApp, &Address::phone("+4917612345678").unwrap());
    for (first, second) in [
        (
            text_at("wamid.stop", "STOP", 1_749_500_005),
            text_at("wamid.start", "START", 1_749_500_000),
        ),
        (
            text_at("wamid.stop2", "STOP", 1_749_600_000),
            text_at("wamid.start2", "START", 1_749_600_000),
        ),
        (
            text_at("wamid.start3", "START", 1_749_700_000),
            text_at("wamid.stop3", "STOP", 1_749_700_000),
        ),
    ] {
        let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
        let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));
        interceptor.process(&first, &client).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        interceptor.process(&second, &client).await.unwrap();
        assert!(
            ledger.state(&anna, None).await.unwrap().is_opted_out(),
            "{first:?} then {second:?}"
        );
    }
}

/// A provider timestamp from the future (here the year 2286) must not become the newest
/// record forever: it is clamped to the time of receipt, so a STOP said after it wins.
#[tokio::test]
async fn a_timestamp_from_the_future_does_not_outrank_a_later_stop() {
    let (_server, client) = whatsapp("wamid.x").await;
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));
    let guarded = ConsentGuard::new(client.clone(), Arc::clone(&ledger));
    let anna = Address::phone("+4917612345678").unwrap();

    // WhatsApp says "resume marketing" with a timestamp in 2286.
    let resume = marketing_signal("resume", 9_999_999_999);
    let InboundEvent::Consent(signal) = &resume else {
        panic!("{resume:?}")
    };
    assert_eq!(
        signal.timestamp,
        Some(9_999_999_999),
        "parse keeps what the provider said"
    );
    interceptor.process(&resume, &client).await.unwrap();
    let recorded = ledger
        .records(&Subject::new(&ChannelKind::WhatsApp, &anna))
        .await
        .unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        recorded[0].at_ms <= now_ms,
        "clamped to receipt: {}",
        recorded[0].at_ms
    );

    // A moment later, Anna writes STOP: nothing may go out.
    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    let stop = InboundEvent::Message(switchboard::InboundMessage::new(
        ChannelKind::WhatsApp,
        "wamid.stop",
        switchboard::Sender::phone(switchboard::PhoneNumber::parse("+4917612345678").unwrap()),
        switchboard::InboundContent::Text("STOP".into()),
    ));
    interceptor.process(&stop, &client).await.unwrap();
    let service = OutboundMessage::text(anna.clone(), "Ihre Rechnung");
    assert!(guarded.send(&service).await.is_err(), "the STOP wins");

    // Through the verifier: a signed notification dated 2286 arrives clamped.
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"metadata": {"phone_number_id": "106540352242922"},
            "messages": [{"from": "4917612345678", "id": "wamid.f", "timestamp": "9999999999", "type": "text", "text": {"body": "hi"}}]}}]}]})
    .to_string();
    let verifier = switchboard::whatsapp::webhook::WebhookVerifier::new("test_app_secret");
    let mut headers = http::HeaderMap::new();
    headers.insert(
        switchboard::whatsapp::webhook::SIGNATURE_HEADER,
        format!(
            "sha256={}",
            hex::encode(hmac_sha256(b"test_app_secret", body.as_bytes()))
        )
        .parse()
        .unwrap(),
    );
    let request =
        switchboard::WebhookRequest::new(http::Method::POST, "https://example.com/wa", headers, body);
    let switchboard::WebhookOutcome::Events(events) = verifier.handle(&request).unwrap() else {
        panic!()
    };
    let received = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        events[0].timestamp().unwrap() <= received,
        "{:?}",
        events[0].timestamp()
    );
}

fn hmac_sha256(key: &[u8], body: &[u8]) -> Vec<u8> {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

#[tokio::test]
async fn keywords_and_signals_drive_the_guard() {
    let (server, client) = whatsapp("wamid.reply").await;
    let store = Arc::new(MemoryStore::new());
    let ledger: Arc<dyn ConsentStore> = store.clone();
    let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));
    let guarded = ConsentGuard::new(client.clone(), Arc::clone(&ledger));
    let anna = Address::phone("+4917612345678").unwrap();
    let subject = Subject::new(&ChannelKind::WhatsApp, &anna);
    let service = OutboundMessage::text(anna.clone(), "Ihre Rechnung");
    let news = OutboundMessage::text(anna.clone(), "News")
        .category(MessageCategory::Marketing)
        .topic("news");

    // STOPP: recorded with its evidence, confirmed once, in German, quoting the STOP.
    let handled = interceptor
        .process(&text_event("wamid.stop", "Stopp!"), &client)
        .await
        .unwrap();
    assert_eq!(
        handled,
        Handled::Yes {
            action: Some(ConsentAction::OptOut),
            topic: None
        }
    );
    let records = ledger.records(&subject).await.unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].source, Source::Keyword);
    assert_eq!(records[0].evidence.message_id.as_deref(), Some("wamid.stop"));
    let sent = server.received_requests().await.unwrap();
    assert_eq!(sent.len(), 1, "exactly one confirmation");
    let reply: serde_json::Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert!(
        reply["text"]["body"]
            .as_str()
            .unwrap()
            .starts_with("Sie wurden abgemeldet")
    );
    assert_eq!(reply["context"]["message_id"], "wamid.stop");
    assert!(
        guarded.send(&service).await.is_err(),
        "nothing goes out after STOP"
    );

    // START: opted in to everything again.
    interceptor
        .process(&text_event("wamid.start", "START"), &client)
        .await
        .unwrap();
    guarded.send(&service).await.unwrap();
    guarded.send(&news).await.unwrap();

    // HELP: answered, nothing recorded.
    let before = ledger.records(&subject).await.unwrap().len();
    let handled = interceptor
        .process(&text_event("wamid.help", "help"), &client)
        .await
        .unwrap();
    assert_eq!(
        handled,
        Handled::Yes {
            action: None,
            topic: None
        }
    );
    assert_eq!(ledger.records(&subject).await.unwrap().len(), before);

    // An ordinary message is the app's.
    assert_eq!(
        interceptor
            .process(&text_event("wamid.q", "Wann kommt mein Paket?"), &client)
            .await
            .unwrap(),
        Handled::No
    );

    // WhatsApp's own marketing stop: marketing refused, service still fine; resume lifts it.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    interceptor
        .process(&marketing_signal("stop", now + 10), &client)
        .await
        .unwrap();
    let last = ledger.records(&subject).await.unwrap().pop().unwrap();
    assert_eq!(
        (last.source, last.topic.as_deref()),
        (Source::Provider, Some(MARKETING))
    );
    assert!(guarded.send(&news).await.is_err());
    guarded.send(&service).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    interceptor
        .process(&marketing_signal("resume", now + 20), &client)
        .await
        .unwrap();
    guarded.send(&news).await.unwrap();
}

fn failed_status(code: i64, at: i64) -> InboundEvent {
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"metadata": {"phone_number_id": "106540352242922"},
            "statuses": [{"id": "wamid.news1", "status": "failed", "timestamp": at.to_string(),
                "recipient_id": "4917612345678",
                "errors": [{"code": code, "title": "Message failed to send because the user has opted out of marketing messages"}]}]}}]}]});
    parse(payload.to_string().as_bytes())
        .unwrap()
        .into_events()
        .remove(0)
}

#[tokio::test]
async fn a_failed_delivery_with_131050_records_a_marketing_opt_out() {
    let (server, client) = whatsapp("wamid.x").await;
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));
    let anna = Address::phone("+4917612345678").unwrap();
    let subject = Subject::new(&ChannelKind::WhatsApp, &anna);
    let news = OutboundMessage::text(anna.clone(), "News")
        .category(MessageCategory::Marketing)
        .topic("news");
    let guarded = ConsentGuard::new(client.clone(), Arc::clone(&ledger));

    ledger
        .append(
            &switchboard::consent::ConsentRecord::new(
                subject.clone(),
                Some("news"),
                ConsentAction::OptIn,
                Source::WebForm,
                switchboard::consent::Evidence::web_form("https://shop.example/news", "192.0.2.1"),
            )
            .at(1_000),
        )
        .await
        .unwrap();
    guarded.send(&news).await.unwrap();

    // Another failure code is the app's business only.
    assert_eq!(
        interceptor
            .process(&failed_status(131026, 2), &client)
            .await
            .unwrap(),
        Handled::No
    );
    let handled = interceptor
        .process(&failed_status(131050, 2), &client)
        .await
        .unwrap();
    assert_eq!(
        handled,
        Handled::Recorded {
            topic: Some(MARKETING.to_owned())
        }
    );
    let last = ledger.records(&subject).await.unwrap().pop().unwrap();
    assert_eq!(last.source, Source::Provider);
    assert_eq!(last.evidence.message_id.as_deref(), Some("wamid.news1"));
    let before = server.received_requests().await.unwrap().len();
    assert!(guarded.send(&news).await.is_err());
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn the_guard_records_twilio_21610_and_refuses_the_next_send_locally() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"code": 21610,
            "message": "Attempt to send to unsubscribed recipient", "status": 400})))
        .mount(&server)
        .await;
    let twilio = switchboard::sms::twilio::Client::builder()
        .account_sid("AC00000000000000000000000000000000")
        .auth_token("token")
        .base_url(server.uri())
        .default_sender("+14155552345")
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let guarded = ConsentGuard::new(twilio, Arc::clone(&ledger));
    let ben = Address::phone("+4915112345678").unwrap();
    let code =
        OutboundMessage::text(ben.clone(), "Your code is 123456").category(MessageCategory::Transactional);

    let first = guarded.send(&code).await.unwrap_err();
    assert_eq!(
        first.provider_code(),
        Some(21610),
        "the provider's error is returned as is"
    );
    let records = ledger
        .records(&Subject::new(&ChannelKind::Sms, &ben))
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(
        (records[0].source, records[0].topic.as_deref()),
        (Source::Provider, None)
    );

    let second = guarded.send(&code).await.unwrap_err();
    assert!(matches!(
        second.kind(),
        switchboard::ErrorKind::ConsentDenied { .. }
    ));
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "refused without a request"
    );
}
