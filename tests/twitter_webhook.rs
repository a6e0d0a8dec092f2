//! X webhooks end to end: CRC, signatures, Account Activity and X Activity deliveries into
//! neutral events, echoes, blocks as consent.

use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use hmac::{KeyInit, Mac};
use http::{HeaderMap, Method};
use serde_json::json;
use switchboard::consent::{ConsentInterceptor, ConsentStore, Handled, MemoryStore, Subject};
use switchboard::twitter::Client;
use switchboard::twitter::oauth1::Credentials;
use switchboard::twitter::webhook::{Delivery, SIGNATURE_HEADER, WebhookVerifier, parse};
use switchboard::{
    Address, Channel, ChannelKind, DeliveryStatus, InboundContent, InboundEvent, WebhookError,
    WebhookOutcome, WebhookRequest,
};

const SECRET: &str = "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw";
const BUSINESS: &str = "4337869213";

fn sign(body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!(
        "sha256={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    )
}

fn post(body: &serde_json::Value) -> WebhookRequest {
    let body = Bytes::from(body.to_string());
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, sign(&body).parse().unwrap());
    WebhookRequest::new(Method::POST, "https://example.com/x", headers, body)
}

fn channel() -> Client {
    Client::builder()
        .oauth1(Credentials::new("ckey", SECRET, "t", "ts"))
        .build()
        .unwrap()
}

fn events_of(outcome: WebhookOutcome) -> Vec<InboundEvent> {
    match outcome {
        WebhookOutcome::Events(events) => events,
        other => panic!("{other:?}"),
    }
}

/// The CRC answer is HMAC-SHA256(consumer secret, token), the same construction as the
/// delivery signature: an endpoint that answers any token signs forged deliveries.
#[test]
fn the_crc_handshake_is_not_a_signing_oracle() {
    let forged = json!({
        "for_user_id": BUSINESS,
        "direct_message_events": [{
            "type": "message_create", "id": "1", "created_timestamp": "1700000000000",
            "message_create": {"target": {"recipient_id": BUSINESS}, "sender_id": "666",
                "message_data": {"text": "START"}}
        }]
    })
    .to_string();
    let channel = channel();
    for token in [
        forged.as_str(),
        "[1,2]",
        "a\"b",
        "tab\there",
        "new\nline",
        "",
        &"x".repeat(257),
    ] {
        let url = format!(
            "https://example.com/x?crc_token={}",
            url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
        );
        let request = WebhookRequest::new(Method::GET, url, HeaderMap::new(), Bytes::new());
        match channel.handle_webhook(&request) {
            Err(WebhookError::InvalidChallenge { .. }) => {}
            Err(WebhookError::HandshakeMismatch { .. }) if token.is_empty() => {}
            Ok(WebhookOutcome::Handshake(answer)) => {
                // Had it answered, the answer would sign the forged body: prove it is refused.
                let answer: serde_json::Value = serde_json::from_slice(&answer.body).unwrap();
                let mut headers = HeaderMap::new();
                headers.insert(
                    SIGNATURE_HEADER,
                    answer["response_token"].as_str().unwrap().parse().unwrap(),
                );
                let post =
                    WebhookRequest::new(Method::POST, "https://example.com/x", headers, token.to_owned());
                let accepted = channel.handle_webhook(&post);
                panic!("token {token:?} was answered; the forged POST gave {accepted:?}");
            }
            other => panic!("token {token:?}: {other:?}"),
        }
    }
    // Refused with 400, and real tokens (opaque, URL-safe, up to 256 bytes) still pass.
    assert_eq!(
        WebhookError::InvalidChallenge { reason: "x" }.status(),
        http::StatusCode::BAD_REQUEST
    );
    for token in [
        "challenge_string",
        "NjM1MTQwNzM0MjM0NTY3ODk=",
        "a-b_c.d~e",
        &"y".repeat(256),
    ] {
        let request = WebhookRequest::new(
            Method::GET,
            format!("https://example.com/x?crc_token={token}"),
            HeaderMap::new(),
            Bytes::new(),
        );
        assert!(matches!(
            channel.handle_webhook(&request),
            Ok(WebhookOutcome::Handshake(_))
        ));
    }
}

#[test]
fn crc_challenge_is_answered_with_the_consumer_secret() {
    let request = WebhookRequest::new(
        Method::GET,
        "https://example.com/x?crc_token=challenge_string",
        HeaderMap::new(),
        Bytes::new(),
    );
    let WebhookOutcome::Handshake(answer) = channel().handle_webhook(&request).unwrap() else {
        panic!("not a handshake")
    };
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&answer.body).unwrap(),
        json!({"response_token": "sha256=nlBfoc+sYi739ivT57rTKKl7OQM8PcJSNybJqfjoBUk="})
    );
    let no_token = WebhookRequest::new(
        Method::GET,
        "https://example.com/x",
        HeaderMap::new(),
        Bytes::new(),
    );
    assert!(matches!(
        channel().handle_webhook(&no_token),
        Err(WebhookError::HandshakeMismatch { .. })
    ));
}

#[test]
fn account_activity_messages_with_users_attachments_and_quick_replies() {
    let body = json!({
        "for_user_id": BUSINESS,
        "direct_message_events": [
            {"type": "message_create", "id": "954491830116155396", "created_timestamp": "1516403560557",
             "message_create": {"target": {"recipient_id": BUSINESS}, "sender_id": "3001969357", "source_app_id": "13090192",
                "message_data": {"text": "Hello World!", "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}}}},
            {"type": "message_create", "id": "954491830116155397", "created_timestamp": "1516403560600",
             "message_create": {"target": {"recipient_id": BUSINESS}, "sender_id": "3001969357",
                "message_data": {"text": "Blue Bird", "quick_reply_response": {"type": "options", "metadata": "external_id_2"}}}},
            {"type": "message_create", "id": "954491830116155398", "created_timestamp": "1516403560700",
             "message_create": {"target": {"recipient_id": BUSINESS}, "sender_id": "3001969357",
                "message_data": {"text": "My broken parcel https://t.co/abc",
                  "attachment": {"type": "media", "media": {"id_str": "951", "type": "photo", "url": "https://t.co/abc",
                     "media_url_https": "https://ton.twitter.com/1.1/ton/data/dm/954491830116155398/951/x.jpg"}}}}},
            {"type": "message_create", "id": "954491830116155399", "created_timestamp": "1516403561000",
             "message_create": {"target": {"recipient_id": "3001969357"}, "sender_id": BUSINESS,
                "message_data": {"text": "Sorry to hear that, a replacement is on its way."}}},
            {"type": "message_create", "broken": true}
        ],
        "apps": {"13090192": {"id": "13090192", "name": "FuriousCamperTestApp1", "url": "https://x.com/furiouscamper"}},
        "users": {
            "3001969357": {"id": "3001969357", "created_timestamp": "1422556069340", "name": "Jordan Brinks", "screen_name": "furiouscamper"},
            "4337869213": {"id": "4337869213", "name": "Harrison Test", "screen_name": "Harris_0ff"}
        }
    });
    let events = events_of(channel().handle_webhook(&post(&body)).unwrap());
    assert_eq!(events.len(), 5);
    let InboundEvent::Message(hello) = &events[0] else {
        panic!("{:?}", events[0])
    };
    assert_eq!(hello.channel, ChannelKind::Twitter);
    assert_eq!(hello.id, "954491830116155396");
    assert_eq!(hello.content, InboundContent::Text("Hello World!".into()));
    assert_eq!(hello.from.user_id.as_ref().unwrap().as_str(), "3001969357");
    assert_eq!(hello.from.username.as_deref(), Some("furiouscamper"));
    assert_eq!(hello.from.name.as_deref(), Some("Jordan Brinks"));
    assert_eq!(hello.timestamp, Some(1_516_403_560));
    let InboundEvent::Message(choice) = &events[1] else {
        panic!()
    };
    assert_eq!(
        choice.content,
        InboundContent::ButtonReply {
            id: "external_id_2".into(),
            title: "Blue Bird".into()
        }
    );
    let InboundEvent::Message(photo) = &events[2] else {
        panic!()
    };
    let InboundContent::Media(media) = &photo.content else {
        panic!()
    };
    assert_eq!(media.caption.as_deref(), Some("My broken parcel"));
    assert!(
        media
            .url
            .as_deref()
            .unwrap()
            .starts_with("https://ton.twitter.com/")
    );
    // The business's own reply is an echo: a sent status, not an inbound message.
    let InboundEvent::Status(echo) = &events[3] else {
        panic!("{:?}", events[3])
    };
    assert_eq!(
        (echo.message_id.as_str(), &echo.status),
        ("954491830116155399", &DeliveryStatus::Sent)
    );
    assert_eq!(echo.recipient.as_deref(), Some("3001969357"));
    // The malformed item is kept raw.
    let InboundEvent::Unknown(broken) = &events[4] else {
        panic!()
    };
    assert!(broken.raw.as_str_lossy().contains("broken"));
}

#[test]
fn x_activity_deliveries_received_and_sent() {
    let received = json!({"data": {"event_uuid": "-6850472171600526495", "filter": {"user_id": "1111111111111111111"},
        "event_type": "dm.received", "tag": "dm-inbound",
        "payload": {"direct_message_events": [{"type": "message_create", "id": "2080765901528535096", "created_timestamp": "1784928224372",
            "message_create": {"target": {"recipient_id": "1111111111111111111"}, "sender_id": "2222222222222222222",
                "message_data": {"text": "hello!", "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}}}}],
            "users": {"2222222222222222222": {"data": {"id": "2222222222222222222", "username": "OtherUser", "name": "OtherUser",
                "public_metrics": {"followers_count": 97}}}}}}});
    let Delivery::Activity(activity) = parse(received.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(activity.event_uuid.as_deref(), Some("-6850472171600526495"));
    assert_eq!(activity.user_id(), Some("1111111111111111111"));
    let events = events_of(channel().handle_webhook(&post(&received)).unwrap());
    let InboundEvent::Message(hello) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(hello.content, InboundContent::Text("hello!".into()));
    assert_eq!(hello.from.username.as_deref(), Some("OtherUser"));

    let sent = json!({"data": {"event_uuid": "5", "filter": {"user_id": "1111111111111111111"}, "event_type": "dm.sent", "tag": "dm-outbound",
        "payload": {"direct_message_events": [{"type": "message_create", "id": "2080765901528535100", "created_timestamp": "1784928224999",
            "message_create": {"target": {"recipient_id": "2222222222222222222"}, "sender_id": "1111111111111111111",
                "message_data": {"text": "Thanks for the update!"}}}]}}});
    let events = events_of(channel().handle_webhook(&post(&sent)).unwrap());
    assert!(matches!(&events[0], InboundEvent::Status(s) if s.status == DeliveryStatus::Sent));

    // Other event types are kept whole.
    let follow = json!({"data": {"event_uuid": "6", "event_type": "follow.follow", "filter": {"user_id": "1"}, "payload": {"x": 1}}});
    let events = events_of(channel().handle_webhook(&post(&follow)).unwrap());
    let InboundEvent::Unknown(unknown) = &events[0] else {
        panic!()
    };
    assert_eq!(unknown.kind, "follow.follow");
    assert!(unknown.raw.as_str_lossy().contains("\"x\":1"));
}

#[test]
fn read_typing_blocks_and_unknown_keys() {
    let body = json!({
        "for_user_id": BUSINESS,
        "direct_message_mark_read_events": [{"created_timestamp": "1518452444662", "sender_id": "199566737",
            "target": {"recipient_id": BUSINESS}, "last_read_event_id": "963085315333238788"}],
        "direct_message_indicate_typing_events": [{"created_timestamp": "1518127183443", "sender_id": "3284025577",
            "target": {"recipient_id": BUSINESS}}],
        "block_events": [{"type": "block", "created_timestamp": "1518127183443",
            "source": {"id": "3284025577", "screen_name": "bogusbogart"}, "target": {"id": BUSINESS, "screen_name": "Harris_0ff"}}],
        "tweet_create_events": [{"id_str": "1"}]
    });
    let events = events_of(channel().handle_webhook(&post(&body)).unwrap());
    let InboundEvent::Status(read) = &events[0] else {
        panic!()
    };
    assert_eq!(
        (read.message_id.as_str(), &read.status),
        ("963085315333238788", &DeliveryStatus::Read)
    );
    assert!(
        matches!(&events[1], InboundEvent::Unknown(u) if u.kind == "direct_message_indicate_typing_events")
    );
    let InboundEvent::Consent(block) = &events[2] else {
        panic!()
    };
    assert_eq!(block.from.user_id.as_ref().unwrap().as_str(), "3284025577");
    assert!(matches!(&events[3], InboundEvent::Unknown(u) if u.kind == "tweet_create_events"));
}

#[tokio::test]
async fn a_block_becomes_an_opt_out_in_the_ledger() {
    let body = json!({"for_user_id": BUSINESS, "block_events": [{"type": "block", "created_timestamp": "1518127183443",
        "source": {"id": "3284025577"}, "target": {"id": BUSINESS}}]});
    let x = channel();
    let events = events_of(x.handle_webhook(&post(&body)).unwrap());
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));
    assert!(matches!(
        interceptor.process(&events[0], &x).await.unwrap(),
        Handled::Yes { .. }
    ));
    let subject = Subject::new(&ChannelKind::Twitter, &Address::user("3284025577").unwrap());
    assert!(ledger.state(&subject, None).await.unwrap().is_opted_out());
}

#[test]
fn refusals() {
    let x = channel();
    let body = json!({"for_user_id": BUSINESS});
    let mut forged = post(&body);
    forged = WebhookRequest::new(
        Method::POST,
        "https://example.com/x",
        {
            let mut h = HeaderMap::new();
            h.insert(SIGNATURE_HEADER, sign(b"something else").parse().unwrap());
            h
        },
        forged.body().clone(),
    );
    assert_eq!(
        x.handle_webhook(&forged).unwrap_err(),
        WebhookError::SignatureMismatch
    );
    let unsigned = WebhookRequest::new(
        Method::POST,
        "https://example.com/x",
        HeaderMap::new(),
        Bytes::from_static(b"{}"),
    );
    assert!(matches!(
        x.handle_webhook(&unsigned),
        Err(WebhookError::MissingSignature { .. })
    ));
    // Signed but not JSON: verified, answered 200, the body kept.
    let mut headers = HeaderMap::new();
    headers.insert(SIGNATURE_HEADER, sign(b"not json").parse().unwrap());
    let garbage = WebhookRequest::new(
        Method::POST,
        "https://example.com/x",
        headers,
        Bytes::from_static(b"not json"),
    );
    let err = x.handle_webhook(&garbage).unwrap_err();
    assert_eq!(err.status(), 200);
    assert!(matches!(err, WebhookError::MalformedPayload { raw, .. } if raw.as_bytes() == b"not json"));
    // Oversize bodies are refused before hashing.
    let small = WebhookVerifier::new(SECRET).max_body_bytes(10);
    assert!(matches!(
        small.handle(&post(&body)),
        Err(WebhookError::BodyTooLarge { .. })
    ));
    // Without a consumer secret the channel refuses everything.
    let no_secret = Client::builder()
        .oauth2(
            switchboard::twitter::oauth2::OAuth2App::builder()
                .client_id("c")
                .redirect_uri("https://example.com/cb".parse().unwrap())
                .build()
                .unwrap()
                .session(switchboard::twitter::oauth2::TokenPair::new("a", None, None)),
        )
        .build()
        .unwrap();
    assert_eq!(
        no_secret.handle_webhook(&post(&body)).unwrap_err(),
        WebhookError::NotConfigured
    );
}
