//! WhatsApp webhooks end to end: Meta's documented example payloads, signed as Meta signs
//! them, through `Channel::handle_webhook`.

use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderMap, Method};
use proptest::prelude::*;
use switchboard::webhook::{MemoryDeduplicator, dedup};
use switchboard::whatsapp::Client;
use switchboard::whatsapp::webhook::{self as wa, Change, Received, signature_header};
use switchboard::{
    Channel, ConsentAction, DeliveryStatus, ErrorClass, InboundContent, InboundEvent, MediaKind,
    WebhookError, WebhookOutcome, WebhookRequest,
};

const SECRET: &str = "test_app_secret";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/whatsapp/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// One client for all tests: building one loads TLS roots, which is slow to repeat.
fn channel() -> Arc<dyn Channel> {
    static CHANNEL: std::sync::OnceLock<Arc<dyn Channel>> = std::sync::OnceLock::new();
    Arc::clone(CHANNEL.get_or_init(new_channel))
}

fn new_channel() -> Arc<dyn Channel> {
    let client = Client::builder()
        .access_token("EAAJB-token")
        .phone_number_id("106540352242922")
        .app_secret("an-old-secret")
        .app_secret(SECRET)
        .verify_token("verify-me")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    Arc::new(client)
}

fn signed(body: impl Into<Bytes>) -> WebhookRequest {
    let body = body.into();
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hub-signature-256",
        signature_header(SECRET, &body).parse().unwrap(),
    );
    WebhookRequest::new(
        Method::POST,
        "https://example.com/webhooks/whatsapp",
        headers,
        body,
    )
}

fn events_of(name: &str) -> Vec<InboundEvent> {
    match channel().handle_webhook(&signed(fixture(name))) {
        Ok(WebhookOutcome::Events(events)) => events,
        other => panic!("{name}: {other:?}"),
    }
}

fn only_message(name: &str) -> switchboard::InboundMessage {
    let mut events = events_of(name);
    assert_eq!(events.len(), 1, "{name}: {events:?}");
    match events.remove(0) {
        InboundEvent::Message(m) => m,
        other => panic!("{name}: {other:?}"),
    }
}

#[test]
fn text() {
    let m = only_message("text_message");
    assert_eq!(
        m.content,
        InboundContent::Text("Does it come in another color?".into())
    );
    assert_eq!(
        m.id,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
    );
    assert_eq!(m.from.phone.as_ref().unwrap().as_str(), "+16505551234");
    assert_eq!(m.from.name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(m.to.as_deref(), Some("106540352242922"));
    assert_eq!(m.timestamp, Some(1749416383));
    assert_eq!(m.reply_to, None);
}

#[test]
fn text_from_a_username_user_without_phone_number() {
    let m = only_message("text_message_bsuid");
    assert!(m.from.phone.is_none());
    assert_eq!(
        m.from.user_id.as_ref().unwrap().as_str(),
        "US.13491208655302741918"
    );
    assert_eq!(m.from.username.as_deref(), Some("@realsheenanelson"));
    assert_eq!(m.from.key(), Some("US.13491208655302741918"));
}

#[test]
fn product_inquiry_context_and_ad_referral() {
    let body = fixture("text_message_with_context_product_inquiry");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    assert!(v.messages[0].context.is_some());

    let body = fixture("text_message_from_click_to_whatsapp_ad");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    let referral = v.messages[0].referral.as_ref().expect("referral");
    assert_eq!(referral.source_type.as_deref(), Some("ad"));
    assert!(referral.ctwa_clid.is_some());
}

#[test]
fn image() {
    let m = only_message("image_message");
    let InboundContent::Media(media) = m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!(media.kind, MediaKind::Image);
    assert_eq!(media.id.as_deref(), Some("1003383421387256"));
    assert_eq!(media.caption.as_deref(), Some("Taj Mahal"));
    assert_eq!(media.mime_type.as_deref(), Some("image/jpeg"));
}

#[test]
fn every_media_kind_and_voice_notes() {
    let template = String::from_utf8(fixture("image_message")).unwrap();
    for (kind, expected) in [
        ("video", MediaKind::Video),
        ("audio", MediaKind::Audio),
        ("document", MediaKind::Document),
        ("sticker", MediaKind::Sticker),
    ] {
        let body = template
            .replace("\"type\": \"image\"", &format!("\"type\": \"{kind}\""))
            .replace(
                "\"image\": {",
                &format!("\"{kind}\": {{\"voice\": true, \"filename\": \"f.bin\","),
            );
        let WebhookOutcome::Events(events) = channel().handle_webhook(&signed(body)).unwrap() else {
            panic!()
        };
        let InboundEvent::Message(m) = &events[0] else {
            panic!()
        };
        let InboundContent::Media(media) = &m.content else {
            panic!("{kind}: {:?}", m.content)
        };
        assert_eq!(media.kind, expected);
        assert!(media.voice);
        assert_eq!(media.filename.as_deref(), Some("f.bin"));
    }
}

#[test]
fn location() {
    let m = only_message("location_message");
    let InboundContent::Location(l) = m.content else {
        panic!("{:?}", m.content)
    };
    assert!(l.latitude != 0.0 && l.longitude != 0.0);
}

#[test]
fn contacts_are_typed_in_the_provider_model_and_kept_raw_in_the_neutral_one() {
    let body = fixture("contact_sharing_message");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    let Received::Contacts(cards) = &v.messages[0].content else {
        panic!("{:?}", v.messages[0].content)
    };
    assert!(!cards[0].name.formatted_name.is_empty());
    let m = only_message("contact_sharing_message");
    let InboundContent::Other { kind, raw } = m.content else {
        panic!()
    };
    assert_eq!(kind, "contacts");
    assert!(raw.as_str_lossy().contains("formatted_name"));
}

#[test]
fn button_replies_list_replies_and_template_buttons() {
    let m = only_message("interactive_button_reply_message");
    assert_eq!(
        m.content,
        InboundContent::ButtonReply {
            id: "cancel-button".into(),
            title: "Cancel".into()
        }
    );
    assert_eq!(
        m.reply_to.as_deref(),
        Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA")
    );

    let m = only_message("interactive_list_reply_message");
    let InboundContent::ButtonReply { id, .. } = &m.content else {
        panic!("{:?}", m.content)
    };
    assert!(!id.is_empty());

    let m = only_message("button_message");
    let InboundContent::ButtonReply { id, title } = &m.content else {
        panic!("{:?}", m.content)
    };
    assert!(!id.is_empty() && !title.is_empty());
}

#[test]
fn flow_replies_keep_the_response_json() {
    let body = fixture("interactive_flow_reply");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    let Received::Interactive(wa::InteractiveReply::FlowReply(flow)) = &v.messages[0].content else {
        panic!("{:?}", v.messages[0].content)
    };
    assert!(flow.response_json.as_deref().unwrap().contains("flow_token"));
    let m = only_message("interactive_flow_reply");
    assert!(matches!(m.content, InboundContent::Other { ref kind, .. } if kind == "interactive"));
    assert_eq!(m.reply_to.as_deref(), Some("wamid.FLOWMSG"));
}

#[test]
fn reactions() {
    let events = events_of("reaction_message");
    let InboundEvent::Reaction(r) = &events[0] else {
        panic!("{events:?}")
    };
    assert!(r.emoji.is_some());
    assert!(!r.message_id.is_empty());
    // A removed reaction arrives without an emoji (or with an empty one).
    let removed = String::from_utf8(fixture("reaction_message")).unwrap().replace(
        &format!("\"emoji\": \"{}\"", r.emoji.as_deref().unwrap()),
        "\"emoji\": \"\"",
    );
    let WebhookOutcome::Events(events) = channel().handle_webhook(&signed(removed)).unwrap() else {
        panic!()
    };
    let InboundEvent::Reaction(r) = &events[0] else {
        panic!()
    };
    assert_eq!(r.emoji, None);
}

#[test]
fn order_system_and_unsupported() {
    let body = fixture("order_message");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    let Received::Order(order) = &v.messages[0].content else {
        panic!()
    };
    assert_eq!(order.product_items.len(), 2);

    let body = fixture("system_message");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    let Received::System(system) = &v.messages[0].content else {
        panic!()
    };
    assert_eq!(system.kind.as_deref(), Some("user_changed_number"));
    assert_eq!(system.wa_id.as_deref(), Some("12195555358"));

    let body = fixture("unsupported_message");
    let n = wa::parse(&body).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    assert_eq!(v.messages[0].content, Received::Unsupported);
    assert_eq!(v.messages[0].errors[0].code, Some(131051));
    for name in ["order_message", "system_message", "unsupported_message"] {
        assert!(
            matches!(only_message(name).content, InboundContent::Other { .. }),
            "{name}"
        );
    }
}

#[test]
fn statuses_with_pricing_and_failures() {
    let events = events_of("status_sent_with_pricing");
    let InboundEvent::Status(s) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(s.status, DeliveryStatus::Sent);
    assert_eq!(
        s.message_id,
        "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
    );
    assert_eq!(s.recipient.as_deref(), Some("16505551234"));
    let pricing = s.pricing.as_ref().unwrap();
    assert_eq!(pricing.category.as_deref(), Some("marketing"));
    assert_eq!(pricing.model.as_deref(), Some("PMP"));
    assert_eq!(pricing.kind.as_deref(), Some("regular"));
    assert_eq!(pricing.billable, Some(true));
    let n = wa::parse(&fixture("status_sent_with_pricing")).unwrap();
    let Change::Messages(v) = &n.entries[0].changes[0] else {
        panic!()
    };
    assert!(
        v.statuses[0].conversation.is_some(),
        "the legacy conversation object is kept"
    );

    let events = events_of("status_failed");
    let InboundEvent::Status(s) = &events[0] else {
        panic!()
    };
    assert_eq!(s.status, DeliveryStatus::Failed);
    assert_eq!(s.errors[0].code, Some(131049));
    assert_eq!(s.errors[0].class, ErrorClass::Quality);
    assert!(s.pricing.is_none());
}

#[test]
fn marketing_stop_is_a_consent_signal() {
    let events = events_of("user_preferences_stop");
    let InboundEvent::Consent(c) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(c.action, ConsentAction::OptOut);
    assert_eq!(c.scope.as_deref(), Some("marketing_messages"));
    assert_eq!(c.from.phone.as_ref().unwrap().as_str(), "+16505551234");
    let resume = String::from_utf8(fixture("user_preferences_stop"))
        .unwrap()
        .replace("\"stop\"", "\"resume\"");
    let WebhookOutcome::Events(events) = channel().handle_webhook(&signed(resume)).unwrap() else {
        panic!()
    };
    assert!(matches!(&events[0], InboundEvent::Consent(c) if c.action == ConsentAction::OptIn));
}

#[test]
fn unknown_fields_are_kept_raw() {
    for name in [
        "group_create_message",
        "group_settings_update",
        "group_remove_participants",
    ] {
        let events = events_of(name);
        let InboundEvent::Unknown(u) = &events[0] else {
            panic!("{name}: {events:?}")
        };
        assert!(u.kind.starts_with("group_"), "{}", u.kind);
        let raw: serde_json::Value = serde_json::from_slice(u.raw.as_bytes()).unwrap();
        let original: serde_json::Value = serde_json::from_slice(&fixture(name)).unwrap();
        assert_eq!(raw, original["entry"][0]["changes"][0]["value"]);
    }
}

#[test]
fn an_odd_status_does_not_take_its_neighbours_down() {
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{
        "metadata":{"phone_number_id":"106540352242922"},
        "messages":[{"from":"16505551234","id":"wamid.M","timestamp":"1","type":"text","text":{"body":"hi"}}],
        "statuses":[{"timestamp":"2"},{"id":"wamid.S","status":"deleted","timestamp":"3"}]}}]}]}"#;
    let WebhookOutcome::Events(events) = channel().handle_webhook(&signed(body)).unwrap() else {
        panic!()
    };
    assert_eq!(events.len(), 3);
    assert!(matches!(&events[0], InboundEvent::Message(m) if m.id == "wamid.M"));
    assert!(
        matches!(&events[2], InboundEvent::Status(s) if s.status == DeliveryStatus::Unknown("deleted".into()))
    );
}

#[test]
fn unknown_message_types_are_kept_raw() {
    let body = String::from_utf8(fixture("text_message"))
        .unwrap()
        .replace("\"type\": \"text\"", "\"type\": \"hologram\"");
    let m = match channel().handle_webhook(&signed(body)).unwrap() {
        WebhookOutcome::Events(mut e) => match e.remove(0) {
            InboundEvent::Message(m) => m,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let InboundContent::Other { kind, raw } = m.content else {
        panic!()
    };
    assert_eq!(kind, "hologram");
    assert!(raw.as_str_lossy().contains("Does it come in another color?"));
}

/// Meta batches up to 1,000 changes into one request.
fn batch(n: usize) -> String {
    let changes: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"field":"messages","value":{{"messaging_product":"whatsapp","metadata":{{"display_phone_number":"15550783881","phone_number_id":"106540352242922"}},"contacts":[{{"profile":{{"name":"P{i}"}},"wa_id":"1650555{i:04}"}}],"messages":[{{"from":"1650555{i:04}","id":"wamid.{i}","timestamp":"1749416383","type":"text","text":{{"body":"message {i}"}}}}]}}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"419561257915477","changes":[{}]}}]}}"#,
        changes.join(",")
    )
}

#[test]
fn a_batch_of_1000_yields_every_event_in_order() {
    let WebhookOutcome::Events(events) = channel().handle_webhook(&signed(batch(1000))).unwrap() else {
        panic!()
    };
    assert_eq!(events.len(), 1000);
    for (i, event) in events.iter().enumerate() {
        let InboundEvent::Message(m) = event else { panic!() };
        assert_eq!(m.id, format!("wamid.{i}"));
        assert_eq!(m.from.name.as_deref(), Some(format!("P{i}").as_str()));
    }
}

#[tokio::test]
async fn a_redelivered_notification_reaches_the_app_once() {
    let seen = MemoryDeduplicator::default();
    let channel = channel();
    let mut delivered = 0;
    for _ in 0..3 {
        for name in [
            "text_message",
            "status_sent_with_pricing",
            "user_preferences_stop",
            "group_create_message",
        ] {
            let WebhookOutcome::Events(mut events) = channel.handle_webhook(&signed(fixture(name))).unwrap()
            else {
                panic!()
            };
            dedup(&mut events, &seen).await.unwrap();
            delivered += events.len();
        }
    }
    // Three fresh events the first time; the unknown one has no id and always passes.
    assert_eq!(delivered, 3 + 3);
}

#[test]
fn refusals_are_typed_and_fail_closed() {
    let body = fixture("text_message");
    let mut unsigned = signed(body.clone());
    let unsigned_headers = HeaderMap::new();
    unsigned = WebhookRequest::new(
        Method::POST,
        unsigned.url().to_owned(),
        unsigned_headers,
        body.clone(),
    );
    assert_eq!(
        channel().handle_webhook(&unsigned).unwrap_err(),
        WebhookError::MissingSignature {
            header: "x-hub-signature-256"
        }
    );
    let mut wrong = HeaderMap::new();
    wrong.insert(
        "x-hub-signature-256",
        signature_header("not-the-secret", &body).parse().unwrap(),
    );
    let forged = WebhookRequest::new(Method::POST, "https://example.com/", wrong, body.clone());
    let err = channel().handle_webhook(&forged).unwrap_err();
    assert_eq!(err, WebhookError::SignatureMismatch);
    assert_eq!(err.status(), http::StatusCode::UNAUTHORIZED);

    let unconfigured = Client::builder()
        .access_token("t")
        .phone_number_id("1")
        .base_url("http://127.0.0.1:9")
        .build()
        .unwrap();
    assert_eq!(
        unconfigured.handle_webhook(&signed(body)).unwrap_err(),
        WebhookError::NotConfigured
    );

    let err = channel().handle_webhook(&signed("{\"entry\": 5}")).unwrap_err();
    assert!(err.is_verified(), "verified but malformed: acknowledge and keep");
    assert_eq!(err.status(), http::StatusCode::OK);
    let WebhookError::MalformedPayload { path, raw } = err else {
        panic!()
    };
    assert_eq!(path, "entry");
    assert_eq!(raw.as_bytes(), b"{\"entry\": 5}");
}

#[test]
fn the_subscription_handshake() {
    let get = WebhookRequest::new(
        Method::GET,
        "https://example.com/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me",
        HeaderMap::new(),
        Bytes::new(),
    );
    let WebhookOutcome::Handshake(response) = channel().handle_webhook(&get).unwrap() else {
        panic!()
    };
    let response = response.into_response();
    assert_eq!(response.status(), 200);
    assert_eq!(response.body(), "1158201444");
}

const FIXTURES: [&str; 12] = [
    "text_message",
    "image_message",
    "location_message",
    "contact_sharing_message",
    "interactive_button_reply_message",
    "interactive_list_reply_message",
    "reaction_message",
    "order_message",
    "system_message",
    "status_sent_with_pricing",
    "status_failed",
    "user_preferences_stop",
];

fn outcome_is_typed(result: Result<WebhookOutcome, WebhookError>) -> bool {
    matches!(
        result,
        Ok(WebhookOutcome::Events(_)) | Err(WebhookError::MalformedPayload { .. })
    )
}

proptest! {
    #[test]
    fn arbitrary_signed_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(outcome_is_typed(channel().handle_webhook(&signed(body))));
    }

    #[test]
    fn mutated_payloads_never_panic_and_never_lose_the_batch(
        fixture_index in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let mut body = fixture(FIXTURES[fixture_index]);
        for (at, byte) in edits {
            let i = at.index(body.len());
            body[i] = byte;
        }
        if truncate {
            body.truncate(cut.index(body.len()));
        }
        prop_assert!(outcome_is_typed(channel().handle_webhook(&signed(body))));
    }

    #[test]
    fn unsigned_or_forged_bytes_are_always_refused(body in proptest::collection::vec(any::<u8>(), 0..256), sig in "[0-9a-f]{64}") {
        let mut headers = HeaderMap::new();
        headers.insert("x-hub-signature-256", format!("sha256={sig}").parse().unwrap());
        let request = WebhookRequest::new(Method::POST, "https://example.com/", headers, body);
        prop_assert_eq!(channel().handle_webhook(&request).unwrap_err(), WebhookError::SignatureMismatch);
    }
}

/// One item of the wrong shape (here a status whose `errors` is not a list, and a contact
/// whose profile is a string) is kept raw on its own; the STOP beside it is still a typed
/// message, so the consent layer sees it, and a string error code is read as a number.
#[test]
fn one_odd_item_does_not_hide_its_siblings() {
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": 102290129340398_u64, "changes": [{"field": "messages",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Anna"}, "wa_id": "4917612345678"}, {"profile": "odd", "wa_id": "4917600000000"}],
            "messages": [{"from": "4917612345678", "id": "wamid.stop", "timestamp": "1749416383", "type": "text", "text": {"body": "STOP"}}],
            "statuses": [
                {"id": "wamid.a", "status": "failed", "timestamp": "1749416383", "recipient_id": "4917612345678",
                    "errors": [{"code": "131050", "title": "opted out"}]},
                {"id": "wamid.b", "status": "failed", "timestamp": "1749416383", "recipient_id": "4917612345678",
                    "errors": "not a list"}
            ]}}]}]})
    .to_string();
    let WebhookOutcome::Events(events) = channel().handle_webhook(&signed(body)).unwrap() else {
        panic!("not events")
    };
    let InboundEvent::Message(stop) = &events[0] else {
        panic!("{:?}", events[0])
    };
    assert_eq!(stop.content, InboundContent::Text("STOP".into()));
    assert_eq!(stop.from.name.as_deref(), Some("Anna"));
    let InboundEvent::Status(failed) = &events[1] else {
        panic!("{:?}", events[1])
    };
    assert_eq!(failed.errors[0].code, Some(131050));
    assert_eq!(failed.errors[0].class, ErrorClass::OptedOut);
    let unknown: Vec<(&str, String)> = events[2..]
        .iter()
        .map(|e| match e {
            InboundEvent::Unknown(u) => (u.kind.as_str(), u.raw.as_str_lossy().into_owned()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(unknown.len(), 2, "{unknown:?}");
    assert_eq!(unknown[0].0, "contacts");
    assert!(unknown[0].1.contains("4917600000000"), "kept as received");
    assert_eq!(unknown[1].0, "statuses");
    assert!(unknown[1].1.contains("wamid.b"));

    // The typed model says where each odd item was.
    let notification = wa::parse(
        serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
            "value": {"metadata": {"phone_number_id": "1"}, "statuses": [{"id": "x", "status": "sent", "timestamp": "1", "recipient_id": "1"}, {"id": ["odd"]}]}}]}]})
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let Change::Messages(value) = &notification.entries[0].changes[0] else {
        panic!()
    };
    assert_eq!(value.statuses.len(), 1);
    assert_eq!(
        (value.unparsed[0].field, value.unparsed[0].index),
        ("statuses", 1)
    );
}
