//! The Twilio client against a real HTTP server on 127.0.0.1.

use std::time::Duration;

use base64::Engine;
use serde_json::json;
use switchboard::sms::twilio::{Client, ListMessages, MessageStatus, SendMessage};
use switchboard::{
    Address, Button, Buttons, Channel, Content, ErrorClass, ErrorKind, OutboundMessage, RetryPolicy,
};
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SID: &str = "ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const MESSAGES: &str = "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages.json";

fn created() -> serde_json::Value {
    json!({"account_sid": SID, "api_version": "2010-04-01", "body": "Hello! 👍",
        "date_created": "Thu, 24 Aug 2023 05:01:45 +0000", "date_sent": "Thu, 24 Aug 2023 05:01:45 +0000",
        "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000", "direction": "outbound-api", "error_code": null,
        "error_message": null, "from": "+14155552345", "num_media": "0", "num_segments": "1", "price": null,
        "price_unit": null, "messaging_service_sid": "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "sid": "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "status": "queued",
        "subresource_uris": {"media": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Media.json"},
        "to": "+14155552345", "uri": "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json"})
}

fn client(server: &MockServer) -> Client {
    Client::builder()
        .account_sid(SID)
        .auth_token("token")
        .base_url(server.uri())
        .default_sender("+14155552345")
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

#[tokio::test]
async fn send_posts_the_exact_form_and_parses_the_resource() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(header("authorization", basic(SID, "token").as_str()))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string("To=%2B4917612345678&From=%2B14155552345&Body=Hello%21+%F0%9F%91%8D&StatusCallback=https%3A%2F%2Fexample.com%2Fstatus"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created()))
        .expect(1)
        .mount(&server)
        .await;
    let sent = client(&server)
        .send_message(
            &SendMessage::new("+4917612345678", "Hello! 👍")
                .from("+14155552345")
                .status_callback("https://example.com/status".parse().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(sent.sid, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(sent.status, MessageStatus::Queued);
    assert_eq!(sent.num_segments, Some(1));
    assert_eq!(sent.num_media, Some(0));
    assert!(!format!("{sent:?}").contains("4155552345"));
}

#[tokio::test]
async fn api_keys_authenticate_as_the_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(header("authorization", basic("SKxxxx", "key-secret").as_str()))
        .respond_with(ResponseTemplate::new(201).set_body_json(created()))
        .expect(1)
        .mount(&server)
        .await;
    let c = Client::builder()
        .account_sid(SID)
        .api_key("SKxxxx", "key-secret")
        .base_url(server.uri())
        .build()
        .unwrap();
    c.send_message(&SendMessage::new("+4917612345678", "hi").from("+1415"))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stop_reply_is_an_opt_out_and_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"code": 21610,
            "message": "Attempt to send to unsubscribed recipient", "more_info": "https://www.twilio.com/docs/errors/21610", "status": 400})))
        .mount(&server)
        .await;
    let err = client(&server)
        .send_message(&SendMessage::new("+4917612345678", "hi").from("+1"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::OptedOut));
    assert_eq!(err.provider_code(), Some(21610));
    assert_eq!(
        err.api_error().unwrap().details.as_deref(),
        Some("https://www.twilio.com/docs/errors/21610")
    );
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn rate_limits_are_retried_after_the_servers_delay() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"code": 20429,
            "message": "Too Many Requests", "status": 429})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(created()))
        .mount(&server)
        .await;
    let sent = client(&server)
        .send_message(&SendMessage::new("+4917612345678", "hi").from("+1"))
        .await
        .unwrap();
    assert_eq!(sent.sid, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn problem_json_errors_are_understood() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"type": "https://www.twilio.com/docs/errors/21211",
            "title": "Invalid 'To' Phone Number", "status": 400, "code": 21211, "detail": "The number is not valid."})))
        .mount(&server)
        .await;
    let err = client(&server)
        .send_message(&SendMessage::new("+4917612345678", "hi").from("+1"))
        .await
        .unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::InvalidRequest));
    let api = err.api_error().unwrap();
    assert_eq!(api.message, "Invalid 'To' Phone Number");
    assert_eq!(api.details.as_deref(), Some("The number is not valid."));
}

#[tokio::test]
async fn fetch_cancel_and_list_with_paging() {
    let server = MockServer::start().await;
    let one = "/2010-04-01/Accounts/ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/Messages/SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.json";
    Mock::given(method("GET"))
        .and(path(one))
        .respond_with(ResponseTemplate::new(200).set_body_json(created()))
        .mount(&server)
        .await;
    let mut canceled = created();
    canceled["status"] = json!("canceled");
    Mock::given(method("POST"))
        .and(path(one))
        .and(body_string("Status=canceled"))
        .respond_with(ResponseTemplate::new(200).set_body_json(canceled))
        .mount(&server)
        .await;
    let next = format!("{MESSAGES}?PageSize=1&Page=1&PageToken=PAtoken");
    Mock::given(method("GET"))
        .and(path(MESSAGES))
        .and(wiremock::matchers::query_param("PageToken", "PAtoken"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [created()], "next_page_uri": null})),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(MESSAGES))
        .and(wiremock::matchers::query_param("To", "+4917612345678"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [created()], "next_page_uri": next})),
        )
        .mount(&server)
        .await;

    let c = client(&server);
    assert_eq!(
        c.fetch("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .await
            .unwrap()
            .status,
        MessageStatus::Queued
    );
    assert_eq!(
        c.cancel("SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .await
            .unwrap()
            .status,
        MessageStatus::Canceled
    );
    assert!(c.fetch("../other").await.is_err());
    let filter = ListMessages::new().to("+4917612345678").page_size(1);
    let first = c.list(&filter).await.unwrap();
    assert_eq!(first.messages.len(), 1);
    let second = c.next_page(&first).await.unwrap().expect("a second page");
    assert_eq!(second.messages.len(), 1);
    assert!(c.next_page(&second).await.unwrap().is_none());
}

#[tokio::test]
async fn the_channel_sends_numbered_options_and_reports_segments() {
    let server = MockServer::start().await;
    let mut pending = created();
    pending["num_segments"] = json!("0");
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(pending))
        .mount(&server)
        .await;
    let channel: std::sync::Arc<dyn Channel> = std::sync::Arc::new(client(&server));
    let to = Address::phone("+4917612345678").unwrap();
    let ask = Buttons::new(
        "Newsletter abonnieren?",
        [Button::new("yes", "Ja"), Button::new("no", "Nein")],
    );
    let receipt = channel
        .send(&OutboundMessage::new(to.clone(), Content::Buttons(ask)))
        .await
        .unwrap();
    assert_eq!(receipt.segments, Some(1));
    let long = channel
        .send(&OutboundMessage::text(to, "„".repeat(71)))
        .await
        .unwrap();
    assert_eq!(long.segments, Some(2), "UCS-2, 71 units");
    let bodies: Vec<String> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| String::from_utf8(r.body.clone()).unwrap())
        .collect();
    assert!(
        bodies[0].contains("Reply+1+for+Ja%0AReply+2+for+Nein"),
        "{}",
        bodies[0]
    );
    assert!(matches!(
        channel
            .send(&OutboundMessage::text(Address::user("US.1").unwrap(), "x"))
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::Unsupported { .. }
    ));
}

#[tokio::test]
async fn a_5xx_with_a_twilio_error_on_send_is_ambiguous_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"code": 20500, "message": "Internal Server Error", "status": 500})),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .send_message(&SendMessage::new("+4917612345678", "hi").from("+14155552345"))
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn paging_links_stay_on_the_api_origin() {
    let api = MockServer::start().await;
    let other = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"messages": [], "next_page_uri": null})),
        )
        .mount(&other)
        .await;
    let other_authority = other.uri().trim_start_matches("http://").to_owned();
    let c = client(&api);
    for (next, refused) in [
        // Joined as text, this puts the API host in the user-info of another host.
        (format!("@{other_authority}{MESSAGES}"), true),
        (format!("{}{MESSAGES}", other.uri()), true),
        // These resolve to paths on the API host (which answers 404 here).
        (format!("//{other_authority}{MESSAGES}"), false),
        (format!("/\\{other_authority}{MESSAGES}"), false),
    ] {
        Mock::given(method("GET"))
            .and(path(MESSAGES))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"messages": [], "next_page_uri": next})),
            )
            .up_to_n_times(1)
            .mount(&api)
            .await;
        let first = c.list(&ListMessages::new()).await.unwrap();
        let err = c.next_page(&first).await.unwrap_err();
        assert_eq!(
            matches!(err.kind(), ErrorKind::Validation(_)),
            refused,
            "{next}: {err:?}"
        );
    }
    assert!(
        other.received_requests().await.unwrap().is_empty(),
        "the credentials went to another host"
    );
}
