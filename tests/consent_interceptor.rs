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

fn text_event(id: &str, body: &str) -> InboundEvent {
    let payload = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"metadata": {"phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Anna"}, "wa_id": "4917612345678"}],
            "messages": [{"from": "4917612345678", "id": id, "timestamp": "1749416383", "type": "text", "text": {"body": body}}]}}]}]});
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

#[tokio::test]
async fn keywords_and_signals_drive_the_guard() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "wamid.reply"}]})))
        .mount(&server)
        .await;
    let client = switchboard::whatsapp::Client::builder()
        .access_token("t")
        .phone_number_id("106540352242922")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
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
    interceptor
        .process(&marketing_signal("resume", now + 20), &client)
        .await
        .unwrap();
    guarded.send(&news).await.unwrap();
}
