//! The WhatsApp client against a real HTTP server on 127.0.0.1: the exact request Meta
//! documents for every message type, and how answers and failures are handled.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use switchboard::whatsapp::{
    Client, Contact, ContactName, ContactPhone, Flow, FlowMode, Header, Interactive, MarkRead,
    MessageRequest, Parameter, ReplyButton, Row, Section, Template, TemplateButton, Text,
};
use switchboard::{
    Address, Button, Buttons, Channel, Content, ErrorClass, ErrorKind, Location, Media, MediaSource,
    OutboundMessage, PhoneNumber, Problem, RateLimitScope, Reaction, RetryPolicy, UserId,
};
use url::Url;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PNID: &str = "106540352242922";
const TOKEN: &str = "EAAJB-test-token";
const MESSAGES: &str = "/v26.0/106540352242922/messages";

fn accepted() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
        "messages": [{"id": "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]
    }))
}

fn client(server: &MockServer) -> Client {
    Client::builder()
        .access_token(TOKEN)
        .phone_number_id(PNID)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap()
}

fn to() -> PhoneNumber {
    "+16505551234".parse().unwrap()
}

fn envelope(to: &str, kind: &str, payload: Value) -> Value {
    let mut v =
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": kind});
    v[kind] = payload;
    v
}

/// Sends `request` and checks method, path, auth, content type and the exact JSON body.
async fn assert_sends(request: MessageRequest, expected: Value) {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(&expected))
        .respond_with(accepted())
        .expect(1)
        .mount(&server)
        .await;
    let sent = client(&server).send_request(&request).await;
    if sent.is_err() {
        let got: Vec<Value> = server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|r| serde_json::from_slice(&r.body).unwrap())
            .collect();
        panic!("send failed: {sent:?}\nexpected {expected:#}\ngot {got:#?}");
    }
    let sent = sent.unwrap();
    assert_eq!(
        sent.message_id(),
        Some("wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA")
    );
    assert_eq!(sent.contacts[0].wa_id.as_deref(), Some("16505551234"));
}

#[tokio::test]
async fn text_with_preview_url() {
    let body = "As requested, here's the link to our latest product: https://www.meta.com/quest/quest-3/";
    assert_sends(
        MessageRequest::new(to(), Text::new(body).preview_url(true)),
        envelope("+16505551234", "text", json!({"preview_url": true, "body": body})),
    )
    .await;
}

#[tokio::test]
async fn contextual_reply_and_callback_data() {
    let mut expected = envelope(
        "+16505551234",
        "text",
        json!({"preview_url": false, "body": "Yes, in blue."}),
    );
    expected["context"] = json!({"message_id": "wamid.PREV"});
    expected["biz_opaque_callback_data"] = json!("campaign-42");
    assert_sends(
        MessageRequest::text(to(), "Yes, in blue.")
            .reply_to("wamid.PREV")
            .biz_opaque_callback_data("campaign-42"),
        expected,
    )
    .await;
}

#[tokio::test]
async fn to_a_business_scoped_user_id() {
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual",
        "recipient": "US.13491208655302741918", "type": "text", "text": {"preview_url": false, "body": "Hi"}});
    let user = UserId::new("US.13491208655302741918").unwrap();
    assert_sends(MessageRequest::text(user, "Hi"), expected).await;
}

#[tokio::test]
async fn every_media_kind_by_id_and_by_link() {
    let link = Url::parse("https://example.com/video.mp4").unwrap();
    let cases = [
        (
            Media::image(MediaSource::ProviderId("1234".into())),
            "image",
            json!({"id": "1234"}),
        ),
        (
            Media::document(MediaSource::ProviderId("55".into()))
                .caption("Q3 report")
                .filename("q3.pdf"),
            "document",
            json!({"id": "55", "caption": "Q3 report", "filename": "q3.pdf"}),
        ),
        (
            Media::video(MediaSource::Url(link)).caption("Watch"),
            "video",
            json!({"link": "https://example.com/video.mp4", "caption": "Watch"}),
        ),
        (
            Media::sticker(MediaSource::Url(
                Url::parse("https://example.com/s.webp").unwrap(),
            )),
            "sticker",
            json!({"link": "https://example.com/s.webp"}),
        ),
        (
            Media::audio(MediaSource::ProviderId("77".into())),
            "audio",
            json!({"id": "77"}),
        ),
    ];
    for (media, kind, payload) in cases {
        assert_sends(
            MessageRequest::new(to(), media),
            envelope("+16505551234", kind, payload),
        )
        .await;
    }
}

#[tokio::test]
async fn location() {
    let pin = Location::new(37.758056, -122.425332)
        .name("META HQ")
        .address("1 Hacker Way, Menlo Park, CA 94025");
    assert_sends(
        MessageRequest::new(to(), pin),
        envelope(
            "+16505551234",
            "location",
            json!({"latitude": 37.758056, "longitude": -122.425332, "name": "META HQ",
                   "address": "1 Hacker Way, Menlo Park, CA 94025"}),
        ),
    )
    .await;
}

#[tokio::test]
async fn contacts() {
    let card = Contact {
        name: ContactName {
            formatted_name: "John Smith".into(),
            first_name: Some("John".into()),
            ..Default::default()
        },
        phones: vec![ContactPhone {
            phone: "+1 (940) 555-1234".into(),
            kind: Some("HOME".into()),
            wa_id: Some("19405551234".into()),
        }],
        birthday: Some("1999-01-23".into()),
        ..Default::default()
    };
    assert_sends(
        MessageRequest::new(to(), vec![card]),
        envelope(
            "+16505551234",
            "contacts",
            json!([{"name": {"formatted_name": "John Smith", "first_name": "John"},
                    "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}],
                    "birthday": "1999-01-23"}]),
        ),
    )
    .await;
}

#[tokio::test]
async fn reaction_and_removing_it() {
    assert_sends(
        MessageRequest::new(to(), Reaction::new("wamid.HBgLM", "😀")),
        envelope(
            "+16505551234",
            "reaction",
            json!({"message_id": "wamid.HBgLM", "emoji": "😀"}),
        ),
    )
    .await;
    assert_sends(
        MessageRequest::new(to(), Reaction::new("wamid.HBgLM", "")),
        envelope(
            "+16505551234",
            "reaction",
            json!({"message_id": "wamid.HBgLM", "emoji": ""}),
        ),
    )
    .await;
}

#[tokio::test]
async fn interactive_reply_buttons() {
    let buttons = Interactive::buttons(
        "<BUTTON_TEXT>",
        [
            ReplyButton::new("<UNIQUE_BUTTON_ID_1>", "<BUTTON_TITLE_1>"),
            ReplyButton::new("id2", "Second"),
        ],
    );
    assert_sends(
        MessageRequest::new(to(), buttons),
        envelope(
            "+16505551234",
            "interactive",
            json!({"type": "button", "body": {"text": "<BUTTON_TEXT>"},
                "action": {"buttons": [
                    {"type": "reply", "reply": {"id": "<UNIQUE_BUTTON_ID_1>", "title": "<BUTTON_TITLE_1>"}},
                    {"type": "reply", "reply": {"id": "id2", "title": "Second"}}]}}),
        ),
    )
    .await;
}

#[tokio::test]
async fn interactive_list() {
    let list = Interactive::list(
        "<BODY_TEXT>",
        "<BUTTON_TEXT>",
        [Section::new(
            Some("<SECTION_1_TITLE>".into()),
            [Row::new("<ROW_1_ID>", "<ROW_1_TITLE>").description("<ROW_1_DESC>")],
        )],
    )
    .header(Header::text("<HEADER_TEXT>"))
    .footer("<FOOTER_TEXT>");
    assert_sends(
        MessageRequest::new(to(), list),
        envelope(
            "+16505551234",
            "interactive",
            json!({"type": "list", "header": {"type": "text", "text": "<HEADER_TEXT>"},
                "body": {"text": "<BODY_TEXT>"}, "footer": {"text": "<FOOTER_TEXT>"},
                "action": {"button": "<BUTTON_TEXT>", "sections": [{"title": "<SECTION_1_TITLE>", "rows": [
                    {"id": "<ROW_1_ID>", "title": "<ROW_1_TITLE>", "description": "<ROW_1_DESC>"}]}]}}),
        ),
    )
    .await;
}

#[tokio::test]
async fn interactive_cta_url_with_image_header() {
    let banner = Url::parse("https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png").unwrap();
    let target =
        Url::parse("https://www.luckyshrub.com?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4")
            .unwrap();
    let cta = Interactive::cta_url(
        "Tap the button below to see available dates.",
        "See Dates",
        target,
    )
    .header(Header::Image(MediaSource::Url(banner)))
    .footer("Dates subject to change.");
    assert_sends(
        MessageRequest::new(to(), cta),
        envelope(
            "+16505551234",
            "interactive",
            json!({"type": "cta_url",
                "header": {"type": "image", "image": {"link": "https://www.luckyshrub.com/assets/lucky-shrub-banner-logo-v1.png"}},
                "body": {"text": "Tap the button below to see available dates."},
                "action": {"name": "cta_url", "parameters": {"display_text": "See Dates",
                    "url": "https://www.luckyshrub.com/?clickID=kqDGWd24Q5TRwoEQTICY7W1JKoXvaZOXWAS7h1P76s0R7Paec4"}},
                "footer": {"text": "Dates subject to change."}}),
        ),
    )
    .await;
}

#[tokio::test]
async fn interactive_flow() {
    let flow = Flow::by_id("1234567", "Open Flow!")
        .token("<FLOW_TOKEN>")
        .mode(FlowMode::Published)
        .navigate("<SCREEN_ID>", Some(json!({"<CUSTOM_KEY>": "<CUSTOM_VALUE>"})));
    let message = Interactive::flow("<BODY_TEXT>", flow)
        .header(Header::text("<HEADER_TEXT>"))
        .footer("<FOOTER_TEXT>");
    assert_sends(
        MessageRequest::new(to(), message),
        envelope(
            "+16505551234",
            "interactive",
            json!({"type": "flow", "header": {"type": "text", "text": "<HEADER_TEXT>"},
                "body": {"text": "<BODY_TEXT>"}, "footer": {"text": "<FOOTER_TEXT>"},
                "action": {"name": "flow", "parameters": {"flow_message_version": "3", "flow_id": "1234567",
                    "flow_token": "<FLOW_TOKEN>", "flow_cta": "Open Flow!", "mode": "published", "flow_action": "navigate",
                    "flow_action_payload": {"screen": "<SCREEN_ID>", "data": {"<CUSTOM_KEY>": "<CUSTOM_VALUE>"}}}}}),
        ),
    )
    .await;
}

#[tokio::test]
async fn template_with_named_parameters_and_image_header() {
    // Meta's utility-template example, verbatim.
    let template = Template::new("reservation_confirmation", "en_US")
        .header([Parameter::Image(MediaSource::ProviderId(
            "2871834006348767".into(),
        ))])
        .body([
            Parameter::named("number_of_guests", "4"),
            Parameter::named("day", "Saturday"),
            Parameter::named("date", "August 30th, 2025"),
            Parameter::named("time", "7:30 pm"),
        ]);
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
        "type": "template", "template": {"name": "reservation_confirmation", "language": {"code": "en_US"},
        "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"id": "2871834006348767"}}]},
            {"type": "body", "parameters": [
                {"type": "text", "parameter_name": "number_of_guests", "text": "4"},
                {"type": "text", "parameter_name": "day", "text": "Saturday"},
                {"type": "text", "parameter_name": "date", "text": "August 30th, 2025"},
                {"type": "text", "parameter_name": "time", "text": "7:30 pm"}]}]}});
    assert_sends(MessageRequest::new(to(), template), expected).await;
}

#[tokio::test]
async fn template_with_currency_date_time_and_buttons() {
    let template = Template::new("template_name", "en_US")
        .header([Parameter::Image(MediaSource::Url(
            Url::parse("https://example.com/the-image.png").unwrap(),
        ))])
        .body([
            Parameter::text("text-string"),
            Parameter::currency("$100.99", "USD", 100_990),
            Parameter::date_time("February 25, 1977"),
        ])
        .button(TemplateButton::quick_reply(0, "aGlzIHRoaXMgaXMgY29v"))
        .button(TemplateButton::url(1, "order/123"))
        .button(TemplateButton::copy_code(2, "SPRING25"))
        .button(TemplateButton::flow(
            3,
            Some("<FLOW_TOKEN>".into()),
            Some(json!({"k": "v"})),
        ));
    let expected = json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
        "type": "template", "template": {"name": "template_name", "language": {"code": "en_US"}, "components": [
            {"type": "header", "parameters": [{"type": "image", "image": {"link": "https://example.com/the-image.png"}}]},
            {"type": "body", "parameters": [
                {"type": "text", "text": "text-string"},
                {"type": "currency", "currency": {"fallback_value": "$100.99", "code": "USD", "amount_1000": 100990}},
                {"type": "date_time", "date_time": {"fallback_value": "February 25, 1977"}}]},
            {"type": "button", "sub_type": "quick_reply", "index": "0",
             "parameters": [{"type": "payload", "payload": "aGlzIHRoaXMgaXMgY29v"}]},
            {"type": "button", "sub_type": "url", "index": "1", "parameters": [{"type": "text", "text": "order/123"}]},
            {"type": "button", "sub_type": "copy_code", "index": "2",
             "parameters": [{"type": "coupon_code", "coupon_code": "SPRING25"}]},
            {"type": "button", "sub_type": "flow", "index": "3", "parameters": [{"type": "action",
             "action": {"flow_token": "<FLOW_TOKEN>", "flow_action_data": {"k": "v"}}}]}]}});
    assert_sends(MessageRequest::new(to(), template), expected).await;
}

#[tokio::test]
async fn mark_as_read_with_typing_indicator() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .and(body_json(
            json!({"messaging_product": "whatsapp", "status": "read",
            "message_id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=",
            "typing_indicator": {"type": "text"}}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .mark_as_read(
            &MarkRead::new("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUYzMjEzNDM2RTZGQ0MzMDJBRgA=")
                .typing_indicator(true),
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn invalid_requests_fail_locally_and_name_the_field() {
    let server = MockServer::start().await;
    let c = client(&server);
    let four = Interactive::buttons(
        "Pick",
        (0..4).map(|i| ReplyButton::new(format!("b{i}"), format!("B{i}"))),
    );
    let err = c
        .send_request(&MessageRequest::new(to(), four))
        .await
        .unwrap_err();
    let ErrorKind::Validation(v) = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(v.field, "interactive.action.buttons");
    assert_eq!(v.problem, Problem::TooMany { max: 3, actual: 4 });

    let cases: Vec<(MessageRequest, &str)> = vec![
        (MessageRequest::text(to(), "x".repeat(4097)), "text.body"),
        (
            MessageRequest::new(
                to(),
                Media::image(MediaSource::ProviderId("1".into())).caption("c".repeat(1025)),
            ),
            "image.caption",
        ),
        (
            MessageRequest::new(
                to(),
                Interactive::buttons("b", [ReplyButton::new("1", "twenty-one characters")]),
            ),
            "interactive.action.buttons[0].reply.title",
        ),
        (
            MessageRequest::new(
                to(),
                Interactive::list(
                    "b",
                    "Menu",
                    [Section::new(None, (0..11).map(|i| Row::new(i.to_string(), "r")))],
                ),
            ),
            "interactive.action.sections[].rows",
        ),
        (
            MessageRequest::new(to(), Template::new("Bad Name", "en_US")),
            "template.name",
        ),
        (
            MessageRequest::new(
                to(),
                Template::new("mixed", "en").body([Parameter::text("a"), Parameter::named("n", "b")]),
            ),
            "template.components[0].parameters",
        ),
        (
            MessageRequest::new(to(), Reaction::new("wamid.1", "👍")).reply_to("wamid.0"),
            "context",
        ),
        (
            MessageRequest::new(to(), Location::new(91.0, 0.0)),
            "location.latitude",
        ),
    ];
    for (request, field) in cases {
        let err = c.send_request(&request).await.unwrap_err();
        match err.kind() {
            ErrorKind::Validation(v) => assert_eq!(v.field, field, "{v}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing may be sent"
    );
}

async fn error_for(status: u16, code: i64, details: &str) -> switchboard::Error {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES))
        .respond_with(ResponseTemplate::new(status).set_body_json(json!({"error": {
            "message": format!("(#{code}) title"), "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": details},
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}})))
        .mount(&server)
        .await;
    client(&server).send_text(to(), "hello").await.unwrap_err()
}

#[tokio::test]
async fn error_envelopes_are_classified_by_code() {
    let cases = [
        (400, 131047, ErrorClass::NeedsTemplate),
        (400, 131050, ErrorClass::OptedOut),
        (401, 190, ErrorClass::Auth),
        (403, 10, ErrorClass::Permission),
        (404, 132001, ErrorClass::Template),
        (400, 131026, ErrorClass::Undeliverable),
        (400, 100, ErrorClass::InvalidRequest),
        (400, 131049, ErrorClass::Quality),
        (400, 131053, ErrorClass::Media),
        (400, 131042, ErrorClass::Account),
    ];
    for (status, code, class) in cases {
        let err = error_for(status, code, "details here").await;
        assert_eq!(err.class(), Some(class), "code {code}");
        assert_eq!(err.provider_code(), Some(code));
        assert!(!err.is_retryable(), "code {code}");
        let api = err.api_error().unwrap();
        assert_eq!(api.status.as_u16(), status);
        assert_eq!(api.details.as_deref(), Some("details here"));
        assert_eq!(api.trace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
        assert!(err.to_string().contains(&code.to_string()), "{err}");
    }
}

#[tokio::test]
async fn pair_rate_limit_is_a_recipient_scoped_rate_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_json(json!({"error": {"message": "(#131056) pair rate limit",
            "code": 131056}})),
        )
        .mount(&server)
        .await;
    let c = Client::builder()
        .access_token(TOKEN)
        .phone_number_id(PNID)
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = c.send_text(to(), "again").await.unwrap_err();
    assert!(matches!(
        err.kind(),
        ErrorKind::RateLimited {
            scope: RateLimitScope::Recipient,
            ..
        }
    ));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn rate_limit_with_retry_after_then_success() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"message": "(#130429) Rate limit hit", "code": 130429}})),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(accepted())
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let sent = client(&server).send_text(to(), "hello").await.unwrap();
    assert!(sent.message_id().is_some());
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    // The second attempt came after the server's Retry-After, not after the 5 ms backoff.
    assert!(started.elapsed() >= Duration::from_secs(1));
}

#[tokio::test]
async fn a_5xx_with_a_graph_error_on_send_is_ambiguous_and_not_retried() {
    // Meta may have queued the message before answering 500 (131000, "Something went wrong").
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"message": "(#131000) Something went wrong",
            "code": 131000, "is_transient": true}})),
        )
        .mount(&server)
        .await;
    let err = client(&server).send_text(to(), "hello").await.unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert!(!err.is_retryable());
    assert_eq!(err.class(), Some(ErrorClass::Transient));
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn transient_errors_on_reads_are_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"message": "(#131000) Something went wrong",
            "code": 131000}})),
        )
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "1", "url": "https://lookaside.fbsbx.com/x"})),
        )
        .mount(&server)
        .await;
    client(&server).media_info("1").await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_send_that_times_out_after_going_out_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(accepted().set_delay(Duration::from_secs(3)))
        .mount(&server)
        .await;
    let c = Client::builder()
        .access_token(TOKEN)
        .phone_number_id(PNID)
        .base_url(server.uri())
        .timeout(Some(Duration::from_millis(300)))
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(5)))
        .build()
        .unwrap();
    let err = c.send_text(to(), "hello").await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Timeout {
                may_have_been_sent: true
            }
        ),
        "{err:?}"
    );
    assert!(err.may_have_been_sent());
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "exactly one send"
    );
}

#[tokio::test]
async fn a_bare_5xx_on_send_is_not_retried_but_says_it_may_have_been_sent() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(502).set_body_string("<html>Bad Gateway</html>"))
        .mount(&server)
        .await;
    let err = client(&server).send_text(to(), "hello").await.unwrap_err();
    assert!(err.may_have_been_sent());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn connect_failures_are_retried_and_reported_as_not_sent() {
    // Bind then drop a listener: the port is closed, connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder()
        .access_token(TOKEN)
        .phone_number_id(PNID)
        .base_url(format!("http://127.0.0.1:{port}"))
        .retry_policy(
            RetryPolicy::default()
                .max_retries(2)
                .base_delay(Duration::from_millis(1)),
        )
        .build()
        .unwrap();
    let err = c.send_text(to(), "hello").await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Transport {
                may_have_been_sent: false
            }
        ),
        "{err:?}"
    );
    assert!(!err.may_have_been_sent());
}

#[tokio::test]
async fn a_success_body_that_does_not_decode_names_the_path() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": 7}]})))
        .mount(&server)
        .await;
    let err = client(&server).send_text(to(), "hello").await.unwrap_err();
    let ErrorKind::Decode { path, body } = err.kind() else {
        panic!("{err:?}")
    };
    assert_eq!(path, "messages[0].id");
    assert!(!body.is_empty());
    assert!(err.may_have_been_sent());
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn media_upload_info_download_and_delete_round_trip() {
    let server = MockServer::start().await;
    let file: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    Mock::given(method("POST"))
        .and(path(format!("/v26.0/{PNID}/media")))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(|req: &Request| {
            let content_type = req
                .headers
                .get("content-type")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            let ok = content_type.starts_with("multipart/form-data; boundary=")
                && twoway(&req.body, b"name=\"messaging_product\"\r\n\r\nwhatsapp")
                && twoway(&req.body, b"filename=\"chart.png\"\r\nContent-Type: image/png");
            if ok {
                ResponseTemplate::new(200).set_body_json(json!({"id": "1037543291543636"}))
            } else {
                ResponseTemplate::new(400)
                    .set_body_json(json!({"error": {"message": "bad multipart", "code": 100}}))
            }
        })
        .expect(1)
        .mount(&server)
        .await;
    let download_url = format!(
        "{}/whatsapp_business/attachments/?mid=1037543291543636",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path("/v26.0/1037543291543636"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messaging_product": "whatsapp",
            "url": download_url, "mime_type": "image/png", "sha256": "abc", "file_size": file.len().to_string(),
            "id": "1037543291543636"})))
        .mount(&server)
        .await;
    let stored = file.clone();
    Mock::given(method("GET"))
        .and(path("/whatsapp_business/attachments/"))
        .and(header("authorization", format!("Bearer {TOKEN}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(stored, "image/png"))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v26.0/1037543291543636"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;

    let c = client(&server);
    let id = c
        .upload_media(&switchboard::whatsapp::MediaUpload::new(
            file.clone(),
            "image/png",
            "chart.png",
        ))
        .await
        .unwrap();
    assert_eq!(id, "1037543291543636");
    let info = c.media_info(&id).await.unwrap();
    assert_eq!(info.file_size, Some(file.len() as u64));
    let mut download = c.download_media(&info.url).await.unwrap();
    assert_eq!(download.content_type.as_deref(), Some("image/png"));
    let mut received = Vec::new();
    while let Some(chunk) = download.next_chunk().await {
        received.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(received, file);
    // Whole-body reads are bounded.
    let err = c
        .download_media(&info.url)
        .await
        .unwrap()
        .bytes(1000)
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Validation(_)));
    c.delete_media(&id).await.unwrap();
}

#[tokio::test]
async fn download_errors_are_graph_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(json!({"error": {"message": "gone", "code": 100}})),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .download_media(&format!("{}/media/1", server.uri()))
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some(100));
}

fn twoway(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn the_channel_maps_neutral_messages() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(accepted())
        .mount(&server)
        .await;
    let channel: Arc<dyn Channel> = Arc::new(client(&server));
    let to = Address::phone("+16505551234").unwrap();

    let receipt = channel
        .send(
            &OutboundMessage::text(to.clone(), "Hello")
                .reply_to("wamid.0")
                .tracking("news-7"),
        )
        .await
        .unwrap();
    assert_eq!(
        receipt.message_id,
        "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"
    );
    assert_eq!(receipt.provider_recipient.as_deref(), Some("16505551234"));

    let five = Buttons::new(
        "Which topic?",
        (1..=5).map(|i| Button::new(format!("t{i}"), format!("Topic {i}"))),
    );
    channel
        .send(&OutboundMessage::new(to.clone(), Content::Buttons(five)))
        .await
        .unwrap();
    let twelve = Buttons::new(
        "Which day?",
        (1..=12).map(|i| Button::new(format!("d{i}"), format!("Day {i}"))),
    );
    channel
        .send(&OutboundMessage::new(to.clone(), Content::Buttons(twelve)))
        .await
        .unwrap();
    let template = switchboard::Template::new("order_update", "de").param("4711");
    channel
        .send(&OutboundMessage::new(to, Content::Template(template)))
        .await
        .unwrap();

    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert_eq!(bodies[0]["context"]["message_id"], "wamid.0");
    assert_eq!(bodies[0]["biz_opaque_callback_data"], "news-7");
    assert_eq!(
        bodies[1]["interactive"]["type"], "list",
        "4 to 10 buttons become a list"
    );
    assert_eq!(
        bodies[1]["interactive"]["action"]["sections"][0]["rows"][4]["id"],
        "t5"
    );
    assert_eq!(bodies[2]["type"], "text", "more than 10 become numbered text");
    assert!(bodies[2]["text"]["body"].as_str().unwrap().contains("12. Day 12"));
    assert_eq!(
        bodies[3]["template"]["components"][0]["parameters"][0],
        json!({"type": "text", "text": "4711"})
    );
}

/// A writer that keeps everything the subscriber prints.
#[derive(Clone, Default)]
struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn traces_name_the_call_but_never_the_token_or_the_number() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(accepted())
        .mount(&server)
        .await;
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    client(&server).send_text(to(), "hello").await.unwrap();
    drop(_guard);

    let out = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(out.contains("switchboard.request"), "{out}");
    for field in [
        "provider=\"whatsapp\"",
        "operation=\"send_message\"",
        "http.status=200",
        "latency_ms=",
    ] {
        assert!(out.contains(field), "missing {field} in {out}");
    }
    assert!(!out.contains(TOKEN), "token leaked: {out}");
    assert!(!out.contains("6505551234"), "phone number leaked: {out}");
}
