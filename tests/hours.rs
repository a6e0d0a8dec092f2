//! The after-hours auto-reply against the sandbox: once per person per closed period,
//! never while open, and durable in the SQLite deduplicator.

use std::sync::Arc;
use std::time::SystemTime;

use switchboard::InboundEvent;
use switchboard::consent::sqlite::SqliteStore;
use switchboard::conversation::{AfterHours, BusinessHours, Weekday};
use switchboard::sandbox::Sandbox;

fn at(rfc3339: &str) -> SystemTime {
    SystemTime::from(rfc3339.parse::<jiff::Timestamp>().unwrap())
}

#[tokio::test]
async fn the_auto_reply_goes_once_per_closed_period() {
    let sandbox = Sandbox::start().await.unwrap();
    let whatsapp = sandbox.whatsapp();
    let ledger = SqliteStore::in_memory().await.unwrap();
    let hours = BusinessHours::new("Europe/Berlin")
        .unwrap()
        .weekdays("08:00", "20:00")
        .unwrap()
        .on(Weekday::Saturday, "10:00", "14:00")
        .unwrap()
        .holiday("2026-12-25")
        .unwrap();
    let auto_reply = AfterHours::new(
        hours,
        Arc::new(ledger.deduplicator()),
        "Thanks for your message! We are back {opens} (Berlin time).",
    );
    let anna = sandbox.whatsapp_user("+4917612345678");
    let ask = |text: &str| {
        anna.sends_text(text);
        sandbox
            .events(&whatsapp)
            .into_iter()
            .rfind(|e| matches!(e, InboundEvent::Message(_)))
            .expect("the message arrives")
    };

    // An opt-out at night gets its confirmation from the consent layer, never "we are
    // closed": no automatic reply answers a consent keyword (and it uses up no reply).
    let stop = ask("ABMELDEN");
    assert!(
        auto_reply
            .handle_at(&whatsapp, &stop, at("2026-11-27T20:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );

    // Friday 27 November 2026, 21:30 in Berlin (20:30 UTC): closed until Saturday 10:00.
    let friday_night = ask("My router is blinking red");
    let sent = auto_reply
        .handle_at(&whatsapp, &friday_night, at("2026-11-27T20:30:00Z"))
        .await
        .unwrap();
    assert!(sent.is_some());
    // A second message the same night: no second auto-reply.
    let again = ask("Hello?");
    assert!(
        auto_reply
            .handle_at(&whatsapp, &again, at("2026-11-27T22:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    // Saturday 11:00 Berlin: open, no auto-reply (a person answers).
    let saturday = ask("Still blinking");
    assert!(
        auto_reply
            .handle_at(&whatsapp, &saturday, at("2026-11-28T10:00:00Z"))
            .await
            .unwrap()
            .is_none()
    );
    // Saturday 15:00 Berlin: a new closed period (until Monday 08:00): one more auto-reply.
    let later = ask("Anyone?");
    assert!(
        auto_reply
            .handle_at(&whatsapp, &later, at("2026-11-28T14:00:00Z"))
            .await
            .unwrap()
            .is_some()
    );
    // Christmas (a Friday) is closed all day, until Saturday 26 December 10:00.
    let christmas = ask("Merry Christmas, my router is down");
    assert!(
        auto_reply
            .handle_at(&whatsapp, &christmas, at("2026-12-25T09:00:00Z"))
            .await
            .unwrap()
            .is_some()
    );

    let replies: Vec<String> = anna.inbox().into_iter().filter_map(|d| d.text).collect();
    assert_eq!(
        replies,
        [
            "Thanks for your message! We are back Saturday 10:00 (Berlin time).",
            "Thanks for your message! We are back Monday 08:00 (Berlin time).",
            "Thanks for your message! We are back Saturday 10:00 (Berlin time).",
        ]
    );
    // Events that are not messages are left alone.
    let status = InboundEvent::Status(switchboard::StatusUpdate::new(
        switchboard::ChannelKind::WhatsApp,
        "wamid.1",
        switchboard::DeliveryStatus::Read,
    ));
    assert!(
        auto_reply
            .handle_at(&whatsapp, &status, at("2026-11-27T20:30:00Z"))
            .await
            .unwrap()
            .is_none()
    );
}
