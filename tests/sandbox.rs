//! The clients against the offline sandbox: it must be indistinguishable from the real
//! APIs for them, enforce the providers' rules, and talk back through signed webhooks.

use std::sync::Arc;
use std::time::Duration;

use switchboard::consent::{ConsentInterceptor, ConsentStore, Handled, MemoryStore, Subject};
use switchboard::sandbox::{Faults, Provider, Sandbox, credentials};
use switchboard::twitter::NewMessage;
use switchboard::{
    Address, Channel, ChannelKind, DeliveryStatus, ErrorClass, ErrorKind, InboundContent, InboundEvent,
    OutboundMessage, RetryPolicy, Template, WebhookOutcome, WebhookRequest,
};

fn events(channel: &dyn Channel, requests: Vec<WebhookRequest>) -> Vec<InboundEvent> {
    requests
        .iter()
        .flat_map(
            |r| match channel.handle_webhook(r).expect("a signed, valid webhook") {
                WebhookOutcome::Events(events) => events,
                other => panic!("{other:?}"),
            },
        )
        .collect()
}

fn statuses(events: &[InboundEvent]) -> Vec<(String, DeliveryStatus, Option<i64>)> {
    events
        .iter()
        .filter_map(|e| match e {
            InboundEvent::Status(s) => Some((
                s.message_id.clone(),
                s.status.clone(),
                s.errors.first().and_then(|e| e.code),
            )),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn whatsapp_conversation_window_and_marketing_rules() {
    let sandbox = Sandbox::builder()
        .marketing_template("spring_offers")
        .start()
        .await
        .unwrap();
    let whatsapp = sandbox.whatsapp();
    let anna = sandbox.whatsapp_user("+4917612345678").named("Anna");
    let to = Address::phone("+4917612345678").unwrap();

    // Outside the window: accepted, then a failed status with 131047, as Meta does.
    let early = whatsapp
        .send(&OutboundMessage::text(to.clone(), "Hello?"))
        .await
        .unwrap();
    let seen = statuses(&events(&whatsapp, sandbox.webhooks()));
    assert_eq!(
        seen,
        vec![(early.message_id.clone(), DeliveryStatus::Failed, Some(131047))]
    );
    assert!(!anna.inbox()[0].delivered);

    // She writes: the window opens, the event arrives signed and typed.
    let id = anna.sends_text("Hi, where is my parcel?");
    let inbound = events(&whatsapp, sandbox.webhooks());
    let InboundEvent::Message(message) = &inbound[0] else {
        panic!("{inbound:?}")
    };
    assert_eq!(
        (message.id.as_str(), message.from.name.as_deref()),
        (id.as_str(), Some("Anna"))
    );
    assert_eq!(
        message.content,
        InboundContent::Text("Hi, where is my parcel?".into())
    );

    let reply = Channel::send(
        &whatsapp,
        &OutboundMessage::text(to.clone(), "It arrives tomorrow."),
    )
    .await
    .unwrap();
    let seen = statuses(&events(&whatsapp, sandbox.webhooks()));
    assert_eq!(
        seen.iter().map(|(_, s, _)| s.clone()).collect::<Vec<_>>(),
        vec![
            DeliveryStatus::Sent,
            DeliveryStatus::Delivered,
            DeliveryStatus::Read
        ]
    );
    assert!(seen.iter().all(|(id, _, _)| *id == reply.message_id));

    // A button and a photo she sends; the photo downloads through the media API.
    anna.taps_button("track", "Track parcel");
    let photo_id = anna.sends_image(Some("Broken box"));
    let inbound = events(&whatsapp, sandbox.webhooks());
    assert!(
        matches!(&inbound[0], InboundEvent::Message(m) if m.content == InboundContent::ButtonReply { id: "track".into(), title: "Track parcel".into() })
    );
    let InboundEvent::Message(photo) = &inbound[1] else {
        panic!()
    };
    assert_eq!(photo.id, photo_id);
    let InboundContent::Media(media) = &photo.content else {
        panic!()
    };
    let info = whatsapp.media_info(media.id.as_deref().unwrap()).await.unwrap();
    assert_eq!(info.mime_type.as_deref(), Some("image/jpeg"));

    // She stops marketing: the consent signal is recorded, a marketing template fails 131050.
    anna.stops_marketing();
    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new());
    let interceptor = ConsentInterceptor::new(Arc::clone(&ledger));
    for event in events(&whatsapp, sandbox.webhooks()) {
        assert!(matches!(
            interceptor.process(&event, &whatsapp).await.unwrap(),
            Handled::Yes { .. }
        ));
    }
    let offers = Channel::send(
        &whatsapp,
        &OutboundMessage::new(
            to.clone(),
            switchboard::Content::Template(Template::new("spring_offers", "de")),
        ),
    )
    .await
    .unwrap();
    let failed = events(&whatsapp, sandbox.webhooks());
    assert_eq!(
        statuses(&failed),
        vec![(offers.message_id, DeliveryStatus::Failed, Some(131050))]
    );
    assert_eq!(
        interceptor.process(&failed[0], &whatsapp).await.unwrap(),
        Handled::Recorded {
            topic: Some("marketing".into())
        }
    );
    let subject = Subject::new(&ChannelKind::WhatsApp, &to);
    assert!(
        ledger
            .state(&subject, Some("marketing"))
            .await
            .unwrap()
            .is_opted_out()
    );
}

#[tokio::test]
async fn whatsapp_auth_limits_media_and_faults() {
    let sandbox = Sandbox::builder().whatsapp_throughput(2).start().await.unwrap();
    let client = |token: &str| {
        switchboard::whatsapp::Client::builder()
            .access_token(token)
            .phone_number_id(credentials::WHATSAPP_PHONE_NUMBER_ID)
            .base_url(sandbox.url())
            .retry_policy(RetryPolicy::disabled())
            .build()
            .unwrap()
    };
    let to = Address::phone("+4917612345678").unwrap();
    let wrong = Channel::send(&client("stolen"), &OutboundMessage::text(to.clone(), "hi"))
        .await
        .unwrap_err();
    assert_eq!(
        (wrong.provider_code(), wrong.class()),
        (Some(190), Some(ErrorClass::Auth))
    );

    let whatsapp = client(credentials::WHATSAPP_TOKEN);
    let template = || {
        OutboundMessage::new(
            to.clone(),
            switchboard::Content::Template(Template::new("hello_world", "en_US")),
        )
    };
    whatsapp.send(&template()).await.unwrap();
    whatsapp.send(&template()).await.unwrap();
    let limited = whatsapp.send(&template()).await.unwrap_err();
    assert!(matches!(limited.kind(), ErrorKind::RateLimited { .. }));
    assert_eq!(limited.provider_code(), Some(130429));

    // Upload, look up, delete.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let upload = switchboard::whatsapp::MediaUpload::new(&b"\x89PNG fake"[..], "image/png", "logo.png");
    let id = whatsapp.upload_media(&upload).await.unwrap();
    assert_eq!(whatsapp.media_info(&id).await.unwrap().file_size, Some(9));
    whatsapp.delete_media(&id).await.unwrap();
    assert!(whatsapp.media_info(&id).await.is_err());

    // Faults: a transient server error; a connection dropped after the send went out.
    tokio::time::sleep(Duration::from_millis(600)).await;
    sandbox.set_faults(Faults::none().error_rate(1.0));
    let err = whatsapp.send(&template()).await.unwrap_err();
    assert_eq!(err.class(), Some(ErrorClass::Transient));
    sandbox.set_faults(Faults::none().drop_rate(1.0));
    let before = sandbox.delivered().len();
    let err = whatsapp.send(&template()).await.unwrap_err();
    assert!(err.may_have_been_sent(), "{err:?}");
    assert_eq!(sandbox.delivered().len(), before + 1, "it did go out");
    sandbox.set_faults(Faults::none());
    assert!(
        sandbox
            .requests()
            .iter()
            .all(|r| r.provider == Some(Provider::WhatsApp))
    );
}

#[tokio::test]
async fn twilio_stop_21610_and_signed_callbacks() {
    let sandbox = Sandbox::start().await.unwrap();
    let twilio = sandbox.twilio();
    let ben = sandbox.sms_user("+4915112345678");
    let to = Address::phone("+4915112345678").unwrap();
    let receipt = twilio
        .send(&OutboundMessage::text(to.clone(), "Ihr Code: 481516"))
        .await
        .unwrap();
    assert_eq!(receipt.segments, Some(1));
    let seen = statuses(&events(&twilio, sandbox.webhooks()));
    assert_eq!(
        seen.iter().map(|(_, s, _)| s.clone()).collect::<Vec<_>>(),
        vec![DeliveryStatus::Sent, DeliveryStatus::Delivered]
    );
    assert_eq!(ben.inbox()[0].text.as_deref(), Some("Ihr Code: 481516"));

    ben.sends_text("STOP");
    let inbound = events(&twilio, sandbox.webhooks());
    assert!(
        inbound
            .iter()
            .any(|e| matches!(e, InboundEvent::Consent(c) if c.action == switchboard::ConsentAction::OptOut))
    );
    let refused = twilio
        .send(&OutboundMessage::text(to.clone(), "More news"))
        .await
        .unwrap_err();
    assert_eq!(
        (refused.provider_code(), refused.class()),
        (Some(21610), Some(ErrorClass::OptedOut))
    );
    ben.sends_text("START");
    sandbox.webhooks();
    twilio
        .send(&OutboundMessage::text(to, "Welcome back"))
        .await
        .unwrap();

    let raw = switchboard::sms::twilio::SendMessage::new("12", "hi").from(credentials::TWILIO_NUMBER);
    assert_eq!(
        twilio.send_message(&raw).await.unwrap_err().provider_code(),
        Some(21211)
    );
}

#[tokio::test]
async fn vonage_sends_and_refuses_bad_credentials() {
    let sandbox = Sandbox::start().await.unwrap();
    let to = Address::phone("+447700900000").unwrap();
    let vonage = sandbox.vonage();
    let receipt = vonage
        .send(&OutboundMessage::text(to.clone(), "Hallo"))
        .await
        .unwrap();
    assert_eq!(sandbox.delivered()[0].provider, Provider::Vonage);
    // The delivery receipt arrives signed (HMAC-SHA256 with the signature secret).
    let seen = statuses(&events(&vonage, sandbox.webhooks()));
    assert_eq!(seen, vec![(receipt.message_id, DeliveryStatus::Delivered, None)]);
    let wrong = switchboard::sms::vonage::Client::builder()
        .api_key(credentials::VONAGE_API_KEY)
        .api_secret("guess")
        .default_from("Sandbox")
        .base_url(sandbox.url())
        .build()
        .unwrap();
    assert!(wrong.send(&OutboundMessage::text(to, "Hallo")).await.is_err());
}

#[tokio::test]
async fn x_signatures_rate_limits_blocks_and_echoes() {
    let sandbox = Sandbox::builder()
        .x_rate_limit(2, Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let x = sandbox.x();
    let carla = sandbox.x_user("3284025577").named("Carla");
    carla.sends_text("My order never came");
    let inbound = events(&x, sandbox.webhooks());
    assert!(matches!(&inbound[0], InboundEvent::Message(m) if m.from.name.as_deref() == Some("Carla")));

    let sent = x
        .send_to_participant("3284025577", &NewMessage::text("Sorry! Sending a new one."))
        .await
        .unwrap();
    assert_eq!(sent.data.dm_conversation_id, "2000000000-3284025577");
    assert_eq!(sent.rate_limits.window.unwrap().remaining, 1);
    let seen = statuses(&events(&x, sandbox.webhooks()));
    assert_eq!(
        seen.iter().map(|(_, s, _)| s.clone()).collect::<Vec<_>>(),
        vec![DeliveryStatus::Sent, DeliveryStatus::Read]
    );

    // A wrong secret fails the sandbox's own signature check.
    let forged = switchboard::twitter::Client::builder()
        .oauth1(switchboard::twitter::oauth1::Credentials::new(
            credentials::X_CONSUMER_KEY,
            "wrong",
            credentials::X_ACCESS_TOKEN,
            credentials::X_TOKEN_SECRET,
        ))
        .base_url(sandbox.url())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap();
    assert_eq!(
        forged
            .send_to_participant("3284025577", &NewMessage::text("x"))
            .await
            .unwrap_err()
            .class(),
        Some(ErrorClass::Auth)
    );

    x.send_to_participant("3284025577", &NewMessage::text("Tracking: 123"))
        .await
        .unwrap();
    let limited = switchboard::twitter::Client::builder()
        .oauth1(switchboard::twitter::oauth1::Credentials::new(
            credentials::X_CONSUMER_KEY,
            credentials::X_CONSUMER_SECRET,
            credentials::X_ACCESS_TOKEN,
            credentials::X_TOKEN_SECRET,
        ))
        .base_url(sandbox.url())
        .retry_policy(RetryPolicy::disabled())
        .build()
        .unwrap()
        .send_to_participant("3284025577", &NewMessage::text("one more"))
        .await
        .unwrap_err();
    assert!(matches!(limited.kind(), ErrorKind::RateLimited { .. }));
    assert!(limited.retry_after().unwrap() <= Duration::from_secs(60));

    // The conversation is listed newest first, page by page.
    let first = x
        .events(&switchboard::twitter::EventQuery::with_participant("3284025577").max_results(2))
        .await
        .unwrap();
    let texts: Vec<_> = first
        .data
        .events
        .iter()
        .map(|e| e.text.clone().unwrap_or_default())
        .collect();
    assert_eq!(texts, ["Tracking: 123", "Sorry! Sending a new one."]);
    let older = x.events(&first.data.next_query().unwrap()).await.unwrap();
    assert_eq!(older.data.events[0].text.as_deref(), Some("My order never came"));
    assert!(older.data.next_query().is_none());

    // A video goes through the chunked upload and processing.
    let video = x
        .upload_media(
            bytes::Bytes::from(vec![0u8; 5 * 1024 * 1024]),
            "video/mp4",
            switchboard::twitter::MediaCategory::DmVideo,
        )
        .await
        .unwrap();
    assert_eq!(video.processing_info.unwrap().state, "succeeded");

    let dave = sandbox.x_user("4444444444");
    dave.blocks();
    let signals = events(&x, sandbox.webhooks());
    assert!(signals.iter().any(|e| matches!(e, InboundEvent::Consent(_))));
    let photo = sandbox.x_user("5555555555");
    photo.sends_image(Some("Look"));
    let inbound = events(&x, sandbox.webhooks());
    let InboundEvent::Message(m) = &inbound[0] else {
        panic!()
    };
    assert!(matches!(&m.content, InboundContent::Media(media) if media.caption.as_deref() == Some("Look")));
}

#[tokio::test]
async fn webhooks_can_be_posted_to_the_apps_url() {
    let app = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path("/hooks/whatsapp"))
        .and(wiremock::matchers::header_exists("x-hub-signature-256"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .expect(1)
        .mount(&app)
        .await;
    let sandbox = Sandbox::builder()
        .deliver_to(format!("{}/hooks", app.uri()))
        .start()
        .await
        .unwrap();
    sandbox.whatsapp_user("+4917612345678").sends_text("hello");
    for _ in 0..50 {
        if !app.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let received = &app.received_requests().await.unwrap()[0];
    let request = WebhookRequest::new(
        http::Method::POST,
        format!("{}/hooks/whatsapp", app.uri()),
        received.headers.clone(),
        received.body.clone(),
    );
    assert!(matches!(
        sandbox.whatsapp().handle_webhook(&request),
        Ok(WebhookOutcome::Events(_))
    ));
}
