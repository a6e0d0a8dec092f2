//! The 24-hour window, kept from inbound messages and enforced before WhatsApp is called.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use switchboard::channel::{MemoryWindowStore, WindowGuard, WindowStore};
use switchboard::consent::sqlite::SqliteStore;
use switchboard::consent::{ConsentStore, ErasureKey, Subject};
use switchboard::sandbox::Sandbox;
use switchboard::{
    Address, Channel, ChannelKind, ErrorClass, ErrorKind, OutboundMessage, Template, WebhookOutcome,
};

async fn observe_all(guard: &WindowGuard<switchboard::whatsapp::Client>, sandbox: &Sandbox) {
    for request in sandbox.webhooks() {
        if let Ok(WebhookOutcome::Events(events)) = guard.handle_webhook(&request) {
            for event in &events {
                guard.observe(event).await.unwrap();
            }
        }
    }
}

#[tokio::test]
async fn free_form_needs_an_open_window() {
    let sandbox = Sandbox::start().await.unwrap();
    let store = Arc::new(SqliteStore::in_memory().await.unwrap());
    let guard = WindowGuard::new(sandbox.whatsapp(), store.clone());
    let anna = Address::phone("+4917612345678").unwrap();
    let hello = OutboundMessage::text(anna.clone(), "Your order shipped.");

    // Never wrote: refused here, WhatsApp never called.
    let err = guard.send(&hello).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::OutsideWindow {
                last_inbound_ms: None
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), Some(ErrorClass::NeedsTemplate));
    assert!(sandbox.requests().is_empty());
    // A template is always fine.
    let template = OutboundMessage::new(
        anna.clone(),
        switchboard::Content::Template(Template::new("order_update", "de")),
    );
    guard.send(&template).await.unwrap();

    // She writes: the window is open for 24 hours.
    sandbox.whatsapp_user("+4917612345678").sends_text("Danke!");
    observe_all(&guard, &sandbox).await;
    let closes = guard.closes_at(&hello).await.unwrap().unwrap();
    assert!(closes > SystemTime::now() + Duration::from_secs(23 * 3600));
    guard.send(&hello).await.unwrap();
    observe_all(&guard, &sandbox).await;
    assert!(
        sandbox.delivered().iter().all(|d| d.delivered),
        "no 131047 from WhatsApp"
    );

    // 25 hours later (an old message recorded directly): closed again.
    let ben = Address::phone("+4915112345678").unwrap();
    let old = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64 - 25 * 3600 * 1000;
    let ben_subject = Subject::new(&ChannelKind::WhatsApp, &ben);
    store.touch(&ben_subject, old).await.unwrap();
    let err = guard
        .send(&OutboundMessage::text(ben.clone(), "Hi"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::OutsideWindow { last_inbound_ms: Some(ms) } if *ms == old));

    // Erasing a person removes their window too.
    let keyed = SqliteStore::in_memory()
        .await
        .unwrap()
        .erasure_key(ErasureKey::new([9u8; 32]).unwrap());
    keyed.touch(&ben_subject, old).await.unwrap();
    keyed.erase(&ben_subject).await.unwrap();
    assert_eq!(keyed.last_inbound(&ben_subject).await.unwrap(), None);
}

#[tokio::test]
async fn a_template_can_replace_the_free_form_message() {
    let sandbox = Sandbox::start().await.unwrap();
    let guard = WindowGuard::new(sandbox.whatsapp(), Arc::new(MemoryWindowStore::default()))
        .or_template(Template::new("reopen_conversation", "de"));
    let to = Address::phone("+4917612345678").unwrap();
    guard
        .send(&OutboundMessage::text(to, "Are you still interested?"))
        .await
        .unwrap();
    let sent = sandbox.delivered();
    assert_eq!(
        (sent[0].kind.as_str(), sent[0].text.as_deref()),
        ("template", Some("reopen_conversation"))
    );
}
