//! Nothing a person wrote, and no full phone number, reaches `Debug` or `Display`: provider
//! error texts, transport errors, webhook models, neutral events, consent evidence.

use serde_json::json;
use switchboard::consent::Evidence;
use switchboard::sms::twilio::{Client, ListMessages};
use switchboard::whatsapp::webhook::{Change, parse};
use switchboard::{Address, Channel, InboundEvent, OutboundMessage, RetryPolicy, Transport};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const NUMBER: &str = "4917612345678";

fn assert_clean(what: &str, text: &str) {
    assert!(!text.contains(NUMBER), "{what} shows the number: {text}");
    assert!(
        !text.contains("Gruesse aus Berlin"),
        "{what} shows the text: {text}"
    );
}

#[tokio::test]
async fn provider_error_texts_are_masked_and_kept_raw() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "code": 21211, "message": format!("The 'To' number +{NUMBER} is not a valid phone number."),
            "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})))
        .mount(&server)
        .await;
    let client = Client::builder()
        .account_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .auth_token("0123456789abcdef0123456789abcdef")
        .base_url(server.uri())
        .default_sender("+14155552345")
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client
        .send(&OutboundMessage::text(
            Address::phone(&format!("+{NUMBER}")).unwrap(),
            "Gruesse aus Berlin",
        ))
        .await
        .unwrap_err();
    assert_clean("Display", &err.to_string());
    assert_clean("Debug", &format!("{err:?}"));
    assert!(err.to_string().contains("+49*********78"), "{err}");
    // The raw text stays available to code that asks for it.
    let api = err.api_error().unwrap();
    assert!(api.message.contains(NUMBER));
    assert_eq!(api.code, Some(21211));
}

#[tokio::test]
async fn transport_errors_do_not_keep_the_url() {
    // Nothing listens on port 9: the request fails before any answer.
    let transport = switchboard::ReqwestTransport::new(std::time::Duration::from_secs(2)).unwrap();
    let request = http::Request::get(format!(
        "http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json?To=%2B{NUMBER}"
    ))
    .body(bytes::Bytes::new())
    .unwrap();
    let err = transport.send(request).await.unwrap_err();
    assert_clean("Display", &err.to_string());
    assert_clean("Debug", &format!("{err:?}"));
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        assert_clean("a source", &format!("{cause} {cause:?}"));
        source = cause.source();
    }
    // And through a client listing messages to a number.
    let client = Client::builder()
        .account_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .auth_token("0123456789abcdef0123456789abcdef")
        .base_url("http://127.0.0.1:9")
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client
        .list(&ListMessages::new().to(format!("+{NUMBER}")))
        .await
        .unwrap_err();
    assert_clean("Debug", &format!("{err:?}"));
}

#[test]
fn webhook_models_and_events_mask_numbers_and_text() {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"metadata": {"phone_number_id": "106540352242922"},
            "messages": [{"from": NUMBER, "id": "wamid.1", "timestamp": "1749416383", "type": "text", "text": {"body": "Gruesse aus Berlin"}}],
            "statuses": [{"id": "wamid.2", "status": "failed", "timestamp": "1749416383", "recipient_id": NUMBER,
                "errors": [{"code": 131026, "title": format!("Message to {NUMBER} undeliverable")}]}]}}]}]})
    .to_string();
    let notification = parse(body.as_bytes()).unwrap();
    let Change::Messages(value) = &notification.entries[0].changes[0] else {
        panic!()
    };
    assert_clean("webhook Message", &format!("{:?}", value.messages[0]));
    assert_clean("webhook Status", &format!("{:?}", value.statuses[0]));
    let events = notification.into_events();
    for event in &events {
        assert_clean("event", &format!("{event:?}"));
    }
    let InboundEvent::Status(status) = &events[1] else {
        panic!()
    };
    assert_eq!(
        status.recipient.as_deref(),
        Some(NUMBER),
        "the value itself is kept"
    );
}

#[test]
fn consent_evidence_hides_text_and_address() {
    let evidence = Evidence::web_form(
        "https://example.com/signup?phone=%2B4917612345678",
        "203.0.113.77",
    );
    let shown = format!("{evidence:?}");
    assert!(!shown.contains("113.77"), "{shown}");
    assert_clean("Evidence", &shown);
    let evidence = Evidence::message("wamid.1", "Gruesse aus Berlin, STOP");
    assert_clean("Evidence", &format!("{evidence:?}"));
}

#[test]
fn sms_requests_and_callbacks_mask_numbers() {
    use switchboard::sms::twilio::SendMessage;
    let send = SendMessage::new(format!("+{NUMBER}"), "Gruesse aus Berlin");
    assert_clean("SendMessage", &format!("{send:?}"));
    let list = ListMessages::new().to(format!("+{NUMBER}"));
    assert_clean("ListMessages", &format!("{list:?}"));

    let form = format!(
        "MessageSid=SMa&MessageStatus=undelivered&ErrorCode=30003&To=%2B{NUMBER}&From=%2B4915112345678&AccountSid=AC1"
    );
    let notification = switchboard::sms::twilio::webhook::parse(form.as_bytes()).unwrap();
    assert_clean("Twilio StatusCallback", &format!("{notification:?}"));

    let params = vec![
        ("messageId".to_owned(), "0A0000000123ABCD1".to_owned()),
        ("msisdn".to_owned(), NUMBER.to_owned()),
        ("to".to_owned(), "4915112345678".to_owned()),
        ("status".to_owned(), "delivered".to_owned()),
        ("err-code".to_owned(), "0".to_owned()),
    ];
    let receipt = switchboard::sms::vonage::parse(params).unwrap();
    assert_clean("Vonage DeliveryReceipt", &format!("{receipt:?}"));
}
