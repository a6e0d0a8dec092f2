//! No message reaches a provider for someone who has not consented, whatever the channel
//! and the decorator order.

use std::sync::Arc;

use serde_json::json;
use switchboard::consent::{ConsentRecord, ConsentStore, Evidence, MemoryStore, Source, Subject};
use switchboard::{
    Address, Channel, ChannelExt, ChannelKind, ConsentAction, ConsentDenial, ErrorKind, MessageCategory,
    OutboundMessage, RetryPolicy, ThrottleLimits,
};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn whatsapp(server: &MockServer) -> switchboard::whatsapp::Client {
    switchboard::whatsapp::Client::builder()
        .access_token("t")
        .phone_number_id("106540352242922")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
}

fn twilio(server: &MockServer) -> switchboard::sms::twilio::Client {
    switchboard::sms::twilio::Client::builder()
        .account_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
        .auth_token("test-auth-token")
        .default_sender("+14155552345")
        .base_url(server.uri())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
}

async fn provider() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SM1", "status": "queued",
            "messaging_product": "whatsapp", "contacts": [{"wa_id": "4917612345678"}], "messages": [{"id": "wamid.1"}]})))
        .mount(&server)
        .await;
    server
}

async fn record(
    store: &dyn ConsentStore,
    channel: ChannelKind,
    to: &Address,
    topic: Option<&str>,
    action: ConsentAction,
    at: i64,
) {
    let r = ConsentRecord::new(
        Subject::new(&channel, to),
        topic,
        action,
        Source::Keyword,
        Evidence::message("m", "STOP"),
    )
    .at(at);
    store.append(&r).await.unwrap();
}

fn denied(result: switchboard::Result<switchboard::SendReceipt>) -> ConsentDenial {
    match result.map_err(|e| e.into_parts().0) {
        Err(ErrorKind::ConsentDenied { reason }) => reason,
        other => panic!("expected a consent denial, got {other:?}"),
    }
}

#[tokio::test]
async fn opted_out_people_are_never_messaged() {
    let anna = Address::phone("+4917612345678").unwrap();
    let ben = Address::phone("+4917698765432").unwrap();
    let store: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    for channel in [ChannelKind::WhatsApp, ChannelKind::Sms] {
        record(
            store.as_ref(),
            channel.clone(),
            &anna,
            None,
            ConsentAction::OptIn,
            1,
        )
        .await;
        record(
            store.as_ref(),
            channel.clone(),
            &anna,
            None,
            ConsentAction::OptOut,
            2,
        )
        .await;
        record(
            store.as_ref(),
            channel,
            &ben,
            Some("news"),
            ConsentAction::OptIn,
            1,
        )
        .await;
    }

    let wa_server = provider().await;
    let sms_server = provider().await;
    let channels: Vec<Arc<dyn Channel>> = vec![
        Arc::new(whatsapp(&wa_server).consent_guard(Arc::clone(&store))),
        Arc::new(
            whatsapp(&wa_server)
                .consent_guard(Arc::clone(&store))
                .throttle(ThrottleLimits::whatsapp()),
        ),
        Arc::new(
            whatsapp(&wa_server)
                .throttle(ThrottleLimits::whatsapp())
                .consent_guard(Arc::clone(&store)),
        ),
        Arc::new(twilio(&sms_server).consent_guard(Arc::clone(&store))),
        Arc::new(
            twilio(&sms_server)
                .throttle(ThrottleLimits::new())
                .consent_guard(Arc::clone(&store)),
        ),
    ];
    for channel in &channels {
        for category in [
            MessageCategory::Service,
            MessageCategory::Transactional,
            MessageCategory::Marketing,
        ] {
            let message = OutboundMessage::text(anna.clone(), "Hallo")
                .category(category)
                .topic("news");
            assert!(matches!(
                denied(channel.send(&message).await),
                ConsentDenial::OptedOut { .. }
            ));
        }
        // Marketing needs an opt-in for the topic.
        let offers = OutboundMessage::text(ben.clone(), "Offers")
            .category(MessageCategory::Marketing)
            .topic("offers");
        assert_eq!(
            denied(channel.send(&offers).await),
            ConsentDenial::NoOptIn {
                topic: Some("offers".into())
            }
        );
    }
    assert!(
        wa_server.received_requests().await.unwrap().is_empty(),
        "nothing reached WhatsApp"
    );
    assert!(
        sms_server.received_requests().await.unwrap().is_empty(),
        "nothing reached Twilio"
    );

    // What is allowed goes through: Ben's news, and a one-time code to someone unknown.
    for channel in &channels {
        let news = OutboundMessage::text(ben.clone(), "News")
            .category(MessageCategory::Marketing)
            .topic("news");
        channel.send(&news).await.unwrap();
        let code = OutboundMessage::text(Address::phone("+4915100000000").unwrap(), "Code 4711")
            .category(MessageCategory::Transactional);
        channel.send(&code).await.unwrap();
    }
    let total = wa_server.received_requests().await.unwrap().len()
        + sms_server.received_requests().await.unwrap().len();
    assert_eq!(total, channels.len() * 2);
}

#[tokio::test]
async fn the_denial_says_why_without_the_number() {
    let anna = Address::phone("+4917612345678").unwrap();
    let store: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    record(
        store.as_ref(),
        ChannelKind::WhatsApp,
        &anna,
        None,
        ConsentAction::OptOut,
        7,
    )
    .await;
    let server = provider().await;
    let err = whatsapp(&server)
        .consent_guard(store)
        .send(&OutboundMessage::text(anna, "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "not sent: the recipient opted out of all messages"
    );
    assert!(!format!("{err:?}").contains("4917612345678"));
}

#[tokio::test]
async fn x_and_vonage_too_in_either_decorator_order() {
    let store: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    // An X user who blocked the account (recorded from the block webhook) and a number that
    // texted STOP to the Vonage number.
    let x_user = Address::user("3284025577").unwrap();
    let number = Address::phone("+447700900000").unwrap();
    record(
        store.as_ref(),
        ChannelKind::Twitter,
        &x_user,
        None,
        ConsentAction::OptOut,
        1,
    )
    .await;
    record(
        store.as_ref(),
        ChannelKind::Sms,
        &number,
        None,
        ConsentAction::OptOut,
        1,
    )
    .await;

    let x_server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"data": {"dm_conversation_id": "1-2", "dm_event_id": "3"}})),
        )
        .mount(&x_server)
        .await;
    let vonage_server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"message-count": "1", "messages": [{"to": "447700900000",
            "message-id": "0C000000217B7F02", "status": "0", "remaining-balance": "15.5", "message-price": "0.0333", "network": "23410"}]})))
        .mount(&vonage_server)
        .await;
    let x = || {
        switchboard::twitter::Client::builder()
            .oauth1(switchboard::twitter::oauth1::Credentials::new(
                "k",
                "consumer-secret",
                "t",
                "ts",
            ))
            .base_url(x_server.uri())
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap()
    };
    let vonage = || {
        switchboard::sms::vonage::Client::builder()
            .api_key("abcd1234")
            .api_secret("secret-value")
            .default_from("Acme")
            .base_url(vonage_server.uri())
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap()
    };
    let channels: Vec<(Arc<dyn Channel>, Address)> = vec![
        (
            Arc::new(
                x().consent_guard(Arc::clone(&store))
                    .throttle(ThrottleLimits::x_dms()),
            ),
            x_user.clone(),
        ),
        (
            Arc::new(
                x().throttle(ThrottleLimits::x_dms())
                    .consent_guard(Arc::clone(&store)),
            ),
            x_user.clone(),
        ),
        (
            Arc::new(
                vonage()
                    .consent_guard(Arc::clone(&store))
                    .throttle(ThrottleLimits::new()),
            ),
            number.clone(),
        ),
        (
            Arc::new(
                vonage()
                    .throttle(ThrottleLimits::new())
                    .consent_guard(Arc::clone(&store)),
            ),
            number.clone(),
        ),
    ];
    for (channel, to) in &channels {
        for category in [MessageCategory::Service, MessageCategory::Marketing] {
            let message = OutboundMessage::text(to.clone(), "Hello").category(category);
            assert!(matches!(
                denied(channel.send(&message).await),
                ConsentDenial::OptedOut { .. }
            ));
        }
    }
    assert!(
        x_server.received_requests().await.unwrap().is_empty(),
        "nothing reached X"
    );
    assert!(
        vonage_server.received_requests().await.unwrap().is_empty(),
        "nothing reached Vonage"
    );
    // Someone else is served.
    let (x_channel, _) = &channels[0];
    x_channel
        .send(&OutboundMessage::text(
            Address::user("9876543210").unwrap(),
            "Your ticket is answered.",
        ))
        .await
        .unwrap();
    assert_eq!(x_server.received_requests().await.unwrap().len(), 1);
}

/// An integrator's channel that refuses with `ErrorClass::OptedOut` (the class the
/// `Channel` docs ask for) gets the refusal recorded like a provider code: the next message
/// to that person is refused locally and never reaches the channel.
#[tokio::test]
async fn a_custom_channels_opt_out_is_recorded_by_class() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use switchboard::{
        ApiError, Capabilities, ErrorClass, SendReceipt, WebhookError, WebhookOutcome, WebhookRequest,
    };

    /// A gateway whose users have all blocked the business.
    struct Blocked(AtomicUsize);

    #[switchboard::async_trait]
    impl Channel for Blocked {
        fn kind(&self) -> ChannelKind {
            ChannelKind::custom("gateway")
        }
        fn capabilities(&self) -> Capabilities {
            Capabilities::new().with_text(1000)
        }
        async fn send(&self, _: &OutboundMessage) -> switchboard::Result<SendReceipt> {
            self.0.fetch_add(1, Ordering::SeqCst);
            let api = ApiError::new(
                "gateway",
                http::StatusCode::FORBIDDEN,
                ErrorClass::OptedOut,
                "blocked",
            );
            Err(switchboard::Error::new(ErrorKind::Api(Box::new(api))))
        }
        fn handle_webhook(&self, _: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
            Err(WebhookError::NotConfigured)
        }
    }

    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let channel = Arc::new(Blocked(AtomicUsize::new(0)));
    let guarded = Arc::clone(&channel).consent_guard(Arc::clone(&ledger));
    let to = Address::user("user-7").unwrap();
    let message = OutboundMessage::text(to.clone(), "Your code is 1234");
    assert!(guarded.send(&message).await.is_err());
    assert_eq!(channel.0.load(Ordering::SeqCst), 1);
    let subject = Subject::new(&ChannelKind::custom("gateway"), &to);
    assert!(ledger.state(&subject, None).await.unwrap().is_opted_out());
    let err = guarded.send(&message).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::ConsentDenied { .. }), "{err:?}");
    assert_eq!(channel.0.load(Ordering::SeqCst), 1, "refused locally");
}

/// "STOP NEWS" stops every message that declares the topic `news`, whatever its category;
/// other messages still go.
#[tokio::test]
async fn a_topic_opt_out_stops_service_messages_about_it() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"messages": [{"id": "wamid.1"}]})))
        .mount(&server)
        .await;
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let guarded = whatsapp(&server).consent_guard(Arc::clone(&ledger));
    let anna = Address::phone("+4917612345678").unwrap();
    ledger
        .append(&ConsentRecord::new(
            Subject::new(&ChannelKind::WhatsApp, &anna),
            Some("news"),
            ConsentAction::OptOut,
            Source::Keyword,
            Evidence::message("wamid.stop", "STOP NEWS"),
        ))
        .await
        .unwrap();
    let about_news = OutboundMessage::text(anna.clone(), "The news digest moved to Fridays")
        .category(MessageCategory::Service)
        .topic("news");
    let err = guarded.send(&about_news).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ConsentDenied { reason: ConsentDenial::OptedOut { topic: Some(t), .. } } if t == "news"),
        "{err:?}"
    );
    guarded
        .send(&OutboundMessage::text(anna, "Your invoice").category(MessageCategory::Service))
        .await
        .unwrap();
    assert_eq!(
        server.received_requests().await.unwrap().len(),
        1,
        "only the invoice went out"
    );
}
