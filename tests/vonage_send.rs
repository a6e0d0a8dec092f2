//! The Vonage SMS client against a real HTTP server on 127.0.0.1.

use serde_json::json;
use switchboard::sms::vonage::{Client, Sms};
use switchboard::{Address, Channel, ErrorClass, OutboundMessage, PhoneNumber, RetryPolicy};
use wiremock::matchers::{body_string, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(server: &MockServer) -> Client {
    Client::builder()
        .api_key("abcd1234")
        .api_secret("secret-value")
        .base_url(server.uri())
        .default_from("Acme")
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
}

fn ok_part(id: &str) -> serde_json::Value {
    json!({"to": "447700900000", "message-id": id, "status": "0", "remaining-balance": "15.53590000",
        "message-price": "0.03330000", "network": "23410"})
}

#[tokio::test]
async fn sends_the_form_and_picks_unicode_when_needed() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/sms/json"))
        .and(body_string("api_key=abcd1234&api_secret=secret-value&from=Acme&to=447700900000&text=Danke+%F0%9F%91%8D&type=unicode&client-ref=n-47"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message-count": "1", "messages": [ok_part("0C000000217B7F02")]})))
        .expect(1)
        .mount(&server)
        .await;
    let to: PhoneNumber = "+447700900000".parse().unwrap();
    let sent = client(&server)
        .send_sms(&Sms::new(to, "Acme", "Danke 👍").client_ref("n-47"))
        .await
        .unwrap();
    assert_eq!(sent.message_count, Some(1));
    assert_eq!(sent.messages[0].message_id.as_deref(), Some("0C000000217B7F02"));
    assert!(!format!("{sent:?}").contains("447700900000"));
    assert!(!format!("{:?}", client(&server)).contains("secret-value"));
}

#[tokio::test]
async fn a_failed_part_in_a_200_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"message-count": "1", "messages": [
            {"status": "9", "error-text": "Quota Exceeded - rejected"}]})),
        )
        .mount(&server)
        .await;
    let to: PhoneNumber = "+447700900000".parse().unwrap();
    let err = client(&server)
        .send_sms(&Sms::new(to, "Acme", "hi"))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some(9));
    assert_eq!(err.class(), Some(ErrorClass::Account));
    assert!(err.to_string().contains("Quota Exceeded"));
}

#[tokio::test]
async fn the_channel_reports_parts_and_refuses_media() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message-count": "2", "messages": [ok_part("A1"), ok_part("A2")]})),
        )
        .mount(&server)
        .await;
    let channel: std::sync::Arc<dyn Channel> = std::sync::Arc::new(client(&server));
    let to = Address::phone("+447700900000").unwrap();
    let receipt = channel
        .send(&OutboundMessage::text(to.clone(), "a".repeat(200)))
        .await
        .unwrap();
    assert_eq!(receipt.message_id, "A1");
    assert_eq!(receipt.segments, Some(2));
    let photo = switchboard::Media::image(switchboard::MediaSource::Url(
        "https://e.com/a.png".parse().unwrap(),
    ));
    let err = channel
        .send(&OutboundMessage::new(to, switchboard::Content::Media(photo)))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), switchboard::ErrorKind::Unsupported { .. }));
}

/// A client that retries quickly, to see whether it repeats a send.
fn retrying_client(server: &MockServer) -> Client {
    Client::builder()
        .api_key("abcd1234")
        .api_secret("secret-value")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default().base_delay(std::time::Duration::from_millis(1)))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_long_message_with_one_throttled_part_is_ambiguous_and_never_resent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"message-count": "2", "messages": [
            ok_part("A1"),
            {"to": "447700900000", "status": "1", "error-text": "Throughput Rate Exceeded"}]})),
        )
        .mount(&server)
        .await;
    let to: PhoneNumber = "+447700900000".parse().unwrap();
    let err = retrying_client(&server)
        .send_sms(&Sms::new(to, "Acme", "a".repeat(200)))
        .await
        .unwrap_err();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "part 1 went out: resending would deliver it twice"
    );
    assert!(err.may_have_been_sent(), "{err:?}");
    assert!(!err.is_retryable());
    let switchboard::ErrorKind::PartlySent { accepted, .. } = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(accepted.len(), 1);
    assert_eq!(
        (accepted[0].index, accepted[0].message_id.as_deref()),
        (0, Some("A1"))
    );
    assert_eq!(err.provider_code(), Some(1));
    for shown in [err.to_string(), format!("{err:?}")] {
        assert!(!shown.contains("447700900000"), "{shown}");
        assert!(shown.contains("A1"), "{shown}");
    }
}

#[tokio::test]
async fn throttling_of_every_part_is_retried_and_a_5xx_is_not() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"message-count": "1", "messages": [
            {"status": "1", "error-text": "Throughput Rate Exceeded"}]})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"message-count": "1", "messages": [ok_part("B1")]})),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500).set_body_string("internal error"))
        .with_priority(3)
        .mount(&server)
        .await;
    let to: PhoneNumber = "+447700900000".parse().unwrap();
    let c = retrying_client(&server);
    let sent = c.send_sms(&Sms::new(to.clone(), "Acme", "hi")).await.unwrap();
    assert_eq!(sent.messages[0].message_id.as_deref(), Some("B1"));
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    let err = c.send_sms(&Sms::new(to, "Acme", "hi")).await.unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        3,
        "the 5xx is not repeated"
    );
}
