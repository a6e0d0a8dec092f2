//! The X DM client against a real HTTP server on 127.0.0.1: every endpoint, pagination,
//! OAuth 1.0a headers, OAuth 2.0 refresh, chunked media upload, errors and rate limits.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde_json::json;
use switchboard::twitter::oauth1::Credentials;
use switchboard::twitter::oauth2::{OAuth2App, TokenPair};
use switchboard::twitter::{Client, EventQuery, MediaCategory, NewMessage};
use switchboard::{Address, Channel, ErrorClass, ErrorKind, OutboundMessage, RetryPolicy};
use wiremock::matchers::{body_json, body_string_contains, header, header_regex, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

fn oauth1(server: &MockServer) -> Client {
    Client::builder()
        .oauth1(Credentials::new("ckey", "csecret", "1-token", "tsecret"))
        .user_id("1111111111")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
}

fn reset_in(seconds: u64) -> String {
    (SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + seconds).to_string()
}

fn sent() -> ResponseTemplate {
    ResponseTemplate::new(201)
        .insert_header("x-rate-limit-limit", "15")
        .insert_header("x-rate-limit-remaining", "14")
        .insert_header("x-rate-limit-reset", reset_in(900).as_str())
        .insert_header("x-user-limit-24hour-limit", "1440")
        .insert_header("x-user-limit-24hour-remaining", "1439")
        .insert_header("x-user-limit-24hour-reset", reset_in(86_400).as_str())
        .set_body_json(json!({"data": {"dm_conversation_id": "1111111111-9876543210", "dm_event_id": "1122334455667788990"}}))
}

#[tokio::test]
async fn sends_are_signed_with_oauth1_and_report_quotas() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/9876543210/messages"))
        .and(header_regex("authorization", r#"^OAuth oauth_consumer_key="ckey", oauth_nonce="[A-Za-z0-9]{32}", oauth_signature="[^"]+", oauth_signature_method="HMAC-SHA1", oauth_timestamp="\d+", oauth_token="1-token", oauth_version="1.0"$"#))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"text": "Thanks, we are on it."})))
        .respond_with(sent())
        .expect(1)
        .mount(&server)
        .await;
    let answer = oauth1(&server)
        .send_to_participant("9876543210", &NewMessage::text("Thanks, we are on it."))
        .await
        .unwrap();
    assert_eq!(answer.data.dm_event_id, "1122334455667788990");
    assert_eq!(answer.data.dm_conversation_id, "1111111111-9876543210");
    let window = answer.rate_limits.window.unwrap();
    assert_eq!((window.limit, window.remaining), (15, 14));
    assert_eq!(answer.rate_limits.user_day.unwrap().limit, 1440);
    assert!(answer.partial_errors.is_empty());
}

#[tokio::test]
async fn conversations_groups_and_local_validation() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/1111111111-9876543210/messages"))
        .and(body_json(
            json!({"attachments": [{"media_id": "1583157113245011970"}]}),
        ))
        .respond_with(sent())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations"))
        .and(body_json(
            json!({"conversation_type": "Group", "participant_ids": ["944480690", "906948460078698496"],
            "message": {"text": "Welcome to our group!"}}),
        ))
        .respond_with(sent())
        .expect(1)
        .mount(&server)
        .await;
    let x = oauth1(&server);
    x.send_to_conversation("1111111111-9876543210", &NewMessage::media("1583157113245011970"))
        .await
        .unwrap();
    x.create_group(
        &["944480690", "906948460078698496"],
        &NewMessage::text("Welcome to our group!"),
    )
    .await
    .unwrap();

    // Refused before any request: too long, two attachments, bad ids, a group of one.
    for err in [
        x.send_to_participant("9876543210", &NewMessage::text("x".repeat(10_001)))
            .await,
        x.send_to_participant("9876543210", &NewMessage::media("1").with_media("2"))
            .await,
        x.send_to_participant("@someone", &NewMessage::text("hi")).await,
        x.send_to_conversation("12", &NewMessage::text("hi")).await,
        x.create_group(&["944480690"], &NewMessage::text("hi")).await,
    ] {
        assert!(matches!(err.unwrap_err().kind(), ErrorKind::Validation(_)));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn events_are_typed_and_paginated() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/2/dm_conversations/with/9876543210/dm_events"))
        .and(query_param("max_results", "2"))
        .and(query_param("expansions", "sender_id,attachments.media_keys,participant_ids"))
        .respond_with(move |request: &Request| {
            let second = request.url.query_pairs().any(|(k, v)| k == "pagination_token" && v == "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i");
            if second {
                ResponseTemplate::new(200).set_body_json(json!({
                    "data": [{"id": "1582835469712138240", "event_type": "ParticipantsJoin", "participant_ids": ["944480690"],
                        "sender_id": "17200003", "dm_conversation_id": "1578398451921985538", "created_at": "2022-10-19T20:45:58.000Z"}],
                    "meta": {"result_count": 1, "previous_token": "77qp8"}}))
            } else {
                ResponseTemplate::new(200).set_body_json(json!({
                    "data": [
                        {"id": "1582838499983564806", "event_type": "MessageCreate", "text": "Hi everyone.",
                         "sender_id": "944480690", "dm_conversation_id": "1578398451921985538", "created_at": "2022-10-19T20:58:00.000Z",
                         "attachments": {"media_keys": ["3_1583157113245011970"]}, "referenced_tweets": [{"id": "1580559079470145536"}]},
                        {"id": "2", "event_type": "MessageReaction", "text": "👍"}
                    ],
                    "includes": {"users": [{"id": "944480690", "username": "anna", "name": "Anna"}],
                                 "media": [{"media_key": "3_1583157113245011970", "type": "photo", "url": "https://pbs.twimg.com/x.jpg"}]},
                    "meta": {"result_count": 2, "next_token": "7140dibdnow9c7btw3w29grvxfcgvpb9n9coehpk7xz5i"},
                    "errors": [{"title": "Field Authorization Error", "detail": "Sorry, you are not authorized to access a field", "type": "https://api.x.com/2/problems/not-authorized-for-field", "resource_id": "1"}]}))
            }
        })
        .mount(&server)
        .await;
    let x = oauth1(&server);
    let first = x
        .events(&EventQuery::with_participant("9876543210").max_results(2))
        .await
        .unwrap();
    let page = &first.data;
    assert_eq!(page.events.len(), 2);
    assert_eq!(page.events[0].text.as_deref(), Some("Hi everyone."));
    assert_eq!(
        page.events[0].attachments.as_ref().unwrap().media_keys,
        ["3_1583157113245011970"]
    );
    assert_eq!(page.events[0].referenced_tweets[0].id, "1580559079470145536");
    assert_eq!(page.user("944480690").unwrap().username.as_deref(), Some("anna"));
    assert_eq!(page.includes.media[0].media_type.as_deref(), Some("photo"));
    assert_eq!(
        page.events[1].event_type,
        switchboard::twitter::DmEventKind::Unknown("MessageReaction".into())
    );
    assert_eq!(first.partial_errors.len(), 1, "partial errors are surfaced");
    let second = x.events(&page.next_query().unwrap()).await.unwrap();
    assert_eq!(second.data.events[0].participant_ids, ["944480690"]);
    assert!(second.data.next_query().is_none());
}

#[tokio::test]
async fn delete_and_errors() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .and(path("/2/dm_events/1582838499983564806"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"deleted": true}})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/1/messages"))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"errors": [{"code": 349, "message": "You cannot send messages to this user."}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/2/messages"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("x-rate-limit-limit", "15")
                .insert_header("x-rate-limit-remaining", "0")
                .insert_header("x-rate-limit-reset", reset_in(600).as_str())
                .set_body_json(json!({"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank", "status": 429})),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/3/messages"))
        .respond_with(ResponseTemplate::new(429).set_body_json(json!({"title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Monthly product cap", "type": "https://api.twitter.com/2/problems/usage-capped",
            "period": "Monthly", "scope": "Product"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/4/messages"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errors": [{"title": "Forbidden",
            "detail": "You are not permitted to attach this media to a DM event.", "type": "about:blank"}]})),
        )
        .mount(&server)
        .await;
    let x = oauth1(&server);
    assert!(x.delete_event("1582838499983564806").await.unwrap().data);
    let hi = NewMessage::text("hi");
    let blocked = x.send_to_participant("1", &hi).await.unwrap_err();
    assert_eq!(
        (blocked.provider_code(), blocked.class()),
        (Some(349), Some(ErrorClass::Undeliverable))
    );
    let limited = x.send_to_participant("2", &hi).await.unwrap_err();
    assert!(matches!(limited.kind(), ErrorKind::RateLimited { .. }));
    let wait = limited.retry_after().unwrap();
    assert!(
        wait > Duration::from_secs(500) && wait <= Duration::from_secs(600),
        "{wait:?}"
    );
    assert_eq!(
        limited
            .api_error()
            .unwrap()
            .rate_limits
            .unwrap()
            .window
            .unwrap()
            .remaining,
        0
    );
    let capped = x.send_to_participant("3", &hi).await.unwrap_err();
    assert_eq!(capped.class(), Some(ErrorClass::Account));
    assert!(!capped.is_retryable(), "a usage cap is not a rate limit");
    let only_errors = x.send_to_participant("4", &hi).await.unwrap_err();
    assert!(only_errors.to_string().contains("Forbidden"), "{only_errors}");
}

#[tokio::test]
async fn oauth2_refreshes_before_expiry_and_after_a_401() {
    let server = MockServer::start().await;
    let refreshes = Arc::new(Mutex::new(0u32));
    let counter = Arc::clone(&refreshes);
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string_contains("grant_type=refresh_token"))
        .and(body_string_contains("client_id=cid"))
        .respond_with(move |request: &Request| {
            let mut n = counter.lock().unwrap();
            *n += 1;
            let body = String::from_utf8_lossy(&request.body).into_owned();
            assert!(body.contains(&format!("refresh_token=refresh{}", *n - 1)), "{body}");
            ResponseTemplate::new(200).set_body_json(json!({"token_type": "bearer", "expires_in": 7200,
                "access_token": format!("access{n}"), "refresh_token": format!("refresh{n}"), "scope": "dm.read dm.write"}))
        })
        .mount(&server)
        .await;
    // access1 is accepted once, then X revokes it; access2 works.
    let access1_uses = Arc::new(Mutex::new(0u32));
    let uses = Arc::clone(&access1_uses);
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/9876543210/messages"))
        .respond_with(move |request: &Request| {
            let auth = request.headers.get("authorization").unwrap().to_str().unwrap().to_owned();
            match auth.as_str() {
                "Bearer access1" if { let mut u = uses.lock().unwrap(); *u += 1; *u == 1 } => sent(),
                "Bearer access2" => sent(),
                _ => ResponseTemplate::new(401).set_body_json(json!({"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"})),
            }
        })
        .mount(&server)
        .await;
    let app = OAuth2App::builder()
        .client_id("cid")
        .redirect_uri("https://example.com/cb".parse().unwrap())
        .base_url(server.uri())
        .build()
        .unwrap();
    let stored = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&stored);
    // Expired a minute ago: refreshed before the first call.
    let expired = TokenPair::new(
        "access0",
        Some("refresh0".into()),
        Some(SystemTime::now() - Duration::from_secs(60)),
    );
    let session = app
        .session(expired)
        .on_refresh(move |pair| sink.lock().unwrap().push(pair.refresh_token.clone().unwrap()));
    let x = Client::builder()
        .oauth2(session.clone())
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    let hi = NewMessage::text("hi");
    x.send_to_participant("9876543210", &hi).await.unwrap();
    // access1 is now refused: one refresh, the same call again, success.
    x.send_to_participant("9876543210", &hi).await.unwrap();
    assert_eq!(*refreshes.lock().unwrap(), 2);
    assert_eq!(
        *stored.lock().unwrap(),
        ["refresh1", "refresh2"],
        "every new pair reached the hook"
    );
    assert_eq!(session.tokens().await.access_token, "access2");
    assert!(!format!("{:?}", session.tokens().await).contains("access2"));
}

#[tokio::test]
async fn pkce_code_exchange() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/oauth2/token"))
        .and(body_string_contains("grant_type=authorization_code"))
        .and(body_string_contains("code=the-code"))
        .and(body_string_contains(
            "redirect_uri=https%3A%2F%2Fexample.com%2Fcb",
        ))
        .and(header("authorization", "Basic Y2lkOnNlY3JldA=="))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"token_type": "bearer", "expires_in": 7200,
            "access_token": "a", "refresh_token": "r", "scope": "dm.read offline.access"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let app = OAuth2App::builder()
        .client_id("cid")
        .client_secret("secret")
        .redirect_uri("https://example.com/cb".parse().unwrap())
        .base_url(server.uri())
        .build()
        .unwrap();
    let start = app.authorize(switchboard::twitter::oauth2::DM_SCOPES);
    let tokens = app.exchange_code("the-code", &start.pkce).await.unwrap();
    assert_eq!(tokens.refresh_token.as_deref(), Some("r"));
    assert!(tokens.expires_at.unwrap() > SystemTime::now() + Duration::from_secs(7000));
    let sent = &server.received_requests().await.unwrap()[0];
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(&sent.body).into_owned().collect();
    assert_eq!(form["code_verifier"], start.pkce.verifier());
}

#[tokio::test]
async fn chunked_media_upload_waits_for_processing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/initialize"))
        .and(body_json(json!({"media_type": "image/gif", "total_bytes": 6_000_000, "media_category": "dm_gif"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "1880028106020515840", "media_key": "16_1880028106020515840", "expires_after_secs": 86400}})))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/append"))
        .and(header_regex(
            "content-type",
            "^multipart/form-data; boundary=switchboard-",
        ))
        .respond_with(ResponseTemplate::new(200))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2/media/upload/1880028106020515840/finalize"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "1880028106020515840",
            "media_key": "16_1880028106020515840", "size": 6_000_000, "expires_after_secs": 86400,
            "processing_info": {"state": "pending", "check_after_secs": 1}}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/2/media/upload"))
        .and(query_param("command", "STATUS"))
        .and(query_param("media_id", "1880028106020515840"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": {"id": "1880028106020515840",
            "media_key": "16_1880028106020515840", "processing_info": {"state": "succeeded", "progress_percent": 100}}})))
        .expect(1)
        .mount(&server)
        .await;
    let x = oauth1(&server);
    let media = x
        .upload_media(
            Bytes::from(vec![7u8; 6_000_000]),
            "image/gif",
            MediaCategory::DmGif,
        )
        .await
        .unwrap();
    assert_eq!(media.id, "1880028106020515840");
    assert_eq!(media.processing_info.unwrap().state, "succeeded");
    // The chunks carry their index and, together, every byte.
    let appends: Vec<_> = server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().ends_with("/append"))
        .collect();
    assert!(String::from_utf8_lossy(&appends[1].body).contains("name=\"segment_index\"\r\n\r\n1\r\n"));
    assert!(appends.iter().map(|r| r.body.len()).sum::<usize>() > 6_000_000);

    // Wrong category or size: refused before any request.
    let before = server.received_requests().await.unwrap().len();
    for (data, kind, category) in [
        (vec![1u8; 10], "image/png", MediaCategory::DmGif),
        (vec![1u8; 6 * 1024 * 1024], "image/png", MediaCategory::DmImage),
    ] {
        let err = x
            .upload_media(Bytes::from(data), kind, category)
            .await
            .unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Validation(_)));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), before);
}

#[tokio::test]
async fn the_channel_sends_dms_and_refuses_phone_numbers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2/dm_conversations/with/9876543210/messages"))
        .and(body_json(json!({"text": "Your order ships today."})))
        .respond_with(sent())
        .expect(1)
        .mount(&server)
        .await;
    let client = oauth1(&server);
    let debug = format!("{client:?}");
    assert!(!debug.contains("csecret") && !debug.contains("tsecret") && !debug.contains("1-token"));
    let x: Arc<dyn Channel> = Arc::new(client);
    let receipt = x
        .send(&OutboundMessage::text(
            Address::user("9876543210").unwrap(),
            "Your order ships today.",
        ))
        .await
        .unwrap();
    assert_eq!(receipt.message_id, "1122334455667788990");
    assert_eq!(receipt.provider_recipient.as_deref(), Some("9876543210"));
    let err = x
        .send(&OutboundMessage::text(
            Address::phone("+4917612345678").unwrap(),
            "hi",
        ))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Unsupported { .. }));
}

#[tokio::test]
async fn a_5xx_on_send_is_ambiguous_and_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"title": "Service Unavailable", "type": "about:blank", "status": 503, "detail": "Service Unavailable"}),
        ))
        .mount(&server)
        .await;
    let x = Client::builder()
        .oauth1(Credentials::new("ckey", "csecret", "1-token", "tsecret"))
        .user_id("1111111111")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::default().base_delay(Duration::from_millis(1)))
        .build()
        .unwrap();
    let err = x
        .send_to_participant("9876543210", &NewMessage::text("hi"))
        .await
        .unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}
