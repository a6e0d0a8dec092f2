//! Fallback between channels against the sandbox: the second channel is used only when the
//! first cannot deliver and sent nothing.

use std::sync::Arc;

use switchboard::consent::{
    ConsentGuard, ConsentRecord, ConsentStore, Evidence, MemoryStore, Source, Subject,
};
use switchboard::sandbox::{Faults, Provider, Sandbox, credentials};
use switchboard::{
    Address, Channel, ChannelExt, ChannelKind, ConsentAction, ErrorClass, ErrorKind, OutboundMessage,
    RetryPolicy, WebhookOutcome,
};

fn whatsapp_without_retries(sandbox: &Sandbox) -> switchboard::whatsapp::Client {
    switchboard::whatsapp::Client::builder()
        .access_token(credentials::WHATSAPP_TOKEN)
        .phone_number_id(credentials::WHATSAPP_PHONE_NUMBER_ID)
        .app_secret(credentials::WHATSAPP_APP_SECRET)
        .base_url(sandbox.url())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_secondary_is_used_only_when_the_primary_cannot_deliver() {
    let sandbox = Sandbox::start().await.unwrap();
    let phone = Address::phone("+4917612345678").unwrap();

    // WhatsApp takes it: SMS stays silent.
    let reach = sandbox.whatsapp().fallback(sandbox.twilio());
    let receipt = reach
        .send(&OutboundMessage::new(
            phone.clone(),
            switchboard::Content::Template(switchboard::Template::new("hello_world", "en")),
        ))
        .await
        .unwrap();
    assert_eq!(receipt.channel, ChannelKind::WhatsApp);

    // X cannot address a phone number: the SMS goes out instead, once.
    let reach = sandbox.x().fallback(sandbox.twilio());
    let receipt = reach
        .send(&OutboundMessage::text(phone.clone(), "Your code: 4711"))
        .await
        .unwrap();
    assert_eq!(receipt.channel, ChannelKind::Sms);
    // 349 (a user who blocked the account) is undeliverable, so the secondary is tried;
    // when it refuses too, its error is what the caller gets.
    let blocked = sandbox.x_user("3284025577");
    blocked.blocks();
    let x_twice = sandbox.x().fallback(sandbox.x());
    let err = x_twice
        .send(&OutboundMessage::text(Address::user("3284025577").unwrap(), "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        err.class(),
        Some(ErrorClass::Undeliverable),
        "both refused: the secondary's error"
    );

    let delivered = sandbox.delivered();
    let providers: Vec<Provider> = delivered.iter().map(|d| d.provider).collect();
    assert_eq!(providers, [Provider::WhatsApp, Provider::Twilio]);

    // The fallback answers the webhooks of both channels.
    sandbox.webhooks();
    sandbox.sms_user("+4917612345678").sends_text("thanks");
    for request in sandbox.webhooks() {
        assert!(matches!(
            reach.handle_webhook(&request),
            Ok(WebhookOutcome::Events(_))
        ));
    }
}

#[tokio::test]
async fn never_after_a_send_that_may_have_happened_or_a_refusal() {
    let flaky = Sandbox::builder()
        .faults(Faults::none().drop_rate(1.0))
        .start()
        .await
        .unwrap();
    let backup = Sandbox::start().await.unwrap();
    let phone = Address::phone("+4917612345678").unwrap();
    let template = OutboundMessage::new(
        phone.clone(),
        switchboard::Content::Template(switchboard::Template::new("hello_world", "en")),
    );

    // The answer broke off after WhatsApp accepted the message: no SMS, the error says so.
    let reach = whatsapp_without_retries(&flaky).fallback(backup.twilio());
    let err = reach.send(&template).await.unwrap_err();
    assert!(err.may_have_been_sent());
    assert_eq!(flaky.delivered().len(), 1);
    assert!(backup.delivered().is_empty(), "never sent twice");

    // An outage is retried later on the same channel, not moved to another.
    flaky.set_faults(Faults::none().error_rate(1.0));
    let err = reach.send(&template).await.unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::Transient));
    assert!(backup.delivered().is_empty());

    // A consent refusal is final, whatever channel would come next.
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    ledger
        .append(&ConsentRecord::new(
            Subject::new(&ChannelKind::WhatsApp, &phone),
            None,
            ConsentAction::OptOut,
            Source::Keyword,
            Evidence::message("wamid.1", "STOP"),
        ))
        .await
        .unwrap();
    let guarded = ConsentGuard::new(backup.whatsapp(), Arc::clone(&ledger)).fallback(backup.twilio());
    let err = guarded
        .send(&OutboundMessage::text(phone, "News"))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::ConsentDenied { .. }));
    assert!(backup.delivered().is_empty());
}
