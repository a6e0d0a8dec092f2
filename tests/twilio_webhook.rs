//! Twilio messaging webhooks with the reference's signed payloads.

use http::{HeaderMap, Method};
use proptest::prelude::*;
use switchboard::sms::twilio::signature::compute;
use switchboard::sms::twilio::webhook::{Notification, OptOutType, WebhookVerifier, parse};
use switchboard::sms::twilio::{MessageStatus, signature::SignatureValidator};
use switchboard::{
    ConsentAction, DeliveryStatus, ErrorClass, InboundContent, InboundEvent, MediaKind, WebhookError,
    WebhookOutcome, WebhookRequest,
};

const TOKEN: &str = "12345";
const INBOUND_URL: &str = "https://example.com/twilio/sms/inbound";
const INBOUND_STOP: &str = "ToCountry=DE&ToState=&SmsMessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&NumMedia=0&ToCity=&FromZip=&SmsSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&FromState=&SmsStatus=received&FromCity=&Body=STOP&FromCountry=DE&To=%2B4915112345678&MessagingServiceSid=MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&ToZip=&NumSegments=1&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&AccountSid=AC00000000000000000000000000000001&From=%2B4917612345678&ApiVersion=2010-04-01";
const STATUS_URL: &str = "https://example.com/twilio/sms/status?tenant=acme";
const STATUS: &str = "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01&ErrorCode=30003&From=%2B4915112345678&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=undelivered&MessagingServiceSid=MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&SmsSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&SmsStatus=undelivered&To=%2B4917612345678";

fn request(method: Method, url: &str, body: &str, signature: &str) -> WebhookRequest {
    let mut headers = HeaderMap::new();
    headers.insert("x-twilio-signature", signature.parse().unwrap());
    WebhookRequest::new(method, url, headers, body.to_owned())
}

fn events_of(req: &WebhookRequest) -> Vec<InboundEvent> {
    match WebhookVerifier::new(TOKEN).handle(req) {
        Ok(WebhookOutcome::Events(events)) => events,
        other => panic!("{other:?}"),
    }
}

fn signed(url: &str, params: &[(&str, &str)]) -> WebhookRequest {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    request(Method::POST, url, &body, &compute(TOKEN, url, params))
}

#[test]
fn an_inbound_stop_is_a_message_and_a_consent_signal() {
    let events = events_of(&request(
        Method::POST,
        INBOUND_URL,
        INBOUND_STOP,
        "huR9PPonRwQwAzMGjQbDZPee84Y=",
    ));
    assert_eq!(events.len(), 1, "OptOutType is absent here, so only the message");
    let InboundEvent::Message(m) = &events[0] else {
        panic!()
    };
    assert_eq!(m.content, InboundContent::Text("STOP".into()));
    assert_eq!(m.id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(m.from.phone.as_ref().unwrap().as_str(), "+4917612345678");
    let Notification::Inbound(sms) = parse(INBOUND_STOP.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(sms.geo.from_country.as_deref(), Some("DE"));
    assert_eq!(sms.geo.to_city, None, "empty values are absent");
    assert_eq!(sms.num_segments, Some(1));
    assert!(!format!("{sms:?}").contains("4917612345678"));

    let with_opt_out = signed(
        INBOUND_URL,
        &[
            ("MessageSid", "SM1"),
            ("From", "+4917612345678"),
            ("To", "+4915112345678"),
            ("Body", "Stopp"),
            ("OptOutType", "STOP"),
        ],
    );
    let events = events_of(&with_opt_out);
    assert_eq!(events.len(), 2);
    let InboundEvent::Consent(c) = &events[1] else {
        panic!("{events:?}")
    };
    assert_eq!(c.action, ConsentAction::OptOut);
    let Notification::Inbound(sms) = parse(with_opt_out.body()).unwrap() else {
        panic!()
    };
    assert_eq!(sms.opt_out_type, Some(OptOutType::Stop));
}

#[test]
fn a_status_callback_with_a_delivery_error() {
    let events = events_of(&request(
        Method::POST,
        STATUS_URL,
        STATUS,
        "uIhlqOZj1zCf9TYbnVqW/j9xabc=",
    ));
    let InboundEvent::Status(s) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(s.status, DeliveryStatus::Failed);
    assert_eq!(s.message_id, "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    assert_eq!(s.errors[0].code, Some(30003));
    assert_eq!(s.errors[0].class, ErrorClass::Transient);
    let Notification::Status(callback) = parse(STATUS.as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(callback.status, MessageStatus::Undelivered);
    assert!(
        callback.params.iter().any(|(k, _)| k == "ApiVersion"),
        "every parameter is kept"
    );
}

#[test]
fn utf8_bodies_and_mms() {
    let events = events_of(&request(
        Method::POST,
        INBOUND_URL,
        "Body=Gr%C3%BC%C3%9Fe+%F0%9F%91%8D&From=%2B4917612345678&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "/qsAXeZv/PS7mGx5HgyXqE6jQZ8=",
    ));
    let InboundEvent::Message(m) = &events[0] else {
        panic!()
    };
    assert_eq!(m.content, InboundContent::Text("Grüße 👍".into()));

    let photo = signed(
        INBOUND_URL,
        &[
            ("MessageSid", "MM1"),
            ("From", "+4917612345678"),
            ("NumMedia", "1"),
            ("Body", ""),
            ("MediaUrl0", "https://api.twilio.com/media/ME1"),
            ("MediaContentType0", "image/jpeg"),
        ],
    );
    let InboundEvent::Message(m) = &events_of(&photo)[0] else {
        panic!()
    };
    let InboundContent::Media(media) = &m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!(media.kind, MediaKind::Image);
    assert_eq!(media.url.as_deref(), Some("https://api.twilio.com/media/ME1"));

    let album = signed(
        INBOUND_URL,
        &[
            ("MessageSid", "MM2"),
            ("From", "+4917612345678"),
            ("NumMedia", "2"),
            ("Body", "Two photos"),
            ("MediaUrl0", "https://x/1"),
            ("MediaContentType0", "image/png"),
            ("MediaUrl1", "https://x/2"),
            ("MediaContentType1", "video/mp4"),
        ],
    );
    let InboundEvent::Message(m) = &events_of(&album)[0] else {
        panic!()
    };
    let InboundContent::Other { kind, raw } = &m.content else {
        panic!("{:?}", m.content)
    };
    assert_eq!(kind, "mms");
    assert!(raw.as_str_lossy().contains("Two+photos"), "kept raw, not dropped");
    let Notification::Inbound(sms) = parse(album.body()).unwrap() else {
        panic!()
    };
    assert_eq!(sms.media.len(), 2);
}

#[test]
fn a_huge_num_media_is_bounded_by_the_media_present() {
    let form = signed(
        INBOUND_URL,
        &[
            ("MessageSid", "MM3"),
            ("From", "+4917612345678"),
            ("NumMedia", "99999999999"),
            ("MediaUrl1", "https://x/2"),
            ("MediaContentType1", "video/mp4"),
            ("MediaUrl0", "https://x/1"),
            ("MediaUrl01", "https://x/not-an-index"),
            ("MediaUrl+2", "https://x/not-an-index"),
        ],
    );
    let body = form.body().to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    // Parsed on another thread so that a parser looping over the claimed count fails the
    // test instead of hanging it.
    std::thread::spawn(move || {
        let _ = tx.send(parse(&body));
    });
    let parsed = rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("parsing took longer than 10 s");
    let Ok(Notification::Inbound(sms)) = parsed else {
        panic!("{parsed:?}")
    };
    let media: Vec<(&str, Option<&str>)> = sms
        .media
        .iter()
        .map(|m| (m.url.as_str(), m.content_type.as_deref()))
        .collect();
    assert_eq!(media, [("https://x/1", None), ("https://x/2", Some("video/mp4"))]);
    assert!(matches!(
        WebhookVerifier::new(TOKEN).handle(&form),
        Ok(WebhookOutcome::Events(_))
    ));
}

#[test]
fn webhooks_signed_with_hmac_sha256_by_a_rule_and_with_sha1_by_default() {
    let params = [
        ("MessageSid", "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
        ("From", "+4917612345678"),
        ("Body", "Hallo"),
        ("NumMedia", "0"),
    ];
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let verifier =
        WebhookVerifier::from_validator(SignatureValidator::new(TOKEN).with_shared_key("shared-key-secret"));
    // HMAC-SHA256 with the shared key (computed independently with Python's hmac).
    let mut sha256 = request(
        Method::POST,
        INBOUND_URL,
        &body,
        "wP++FetglUEZAMcdKO8ELBGmQV+FGTglPx4w+7QQPQ4=",
    );
    let mut headers = sha256.headers().clone();
    headers.insert(
        "x-twilio-webhooks-signature-settings",
        "key=KS00000000000000000000000000000000,algorithm=HMAC_SHA256"
            .parse()
            .unwrap(),
    );
    sha256 = WebhookRequest::new(Method::POST, INBOUND_URL, headers.clone(), body.clone());
    assert!(matches!(verifier.handle(&sha256), Ok(WebhookOutcome::Events(_))));
    // The same request signed the default way.
    assert!(matches!(
        verifier.handle(&signed(INBOUND_URL, &params)),
        Ok(WebhookOutcome::Events(_))
    ));
    // A SHA-1 signature under a SHA-256 announcement is refused.
    headers.insert(
        "x-twilio-signature",
        compute(TOKEN, INBOUND_URL, &params).parse().unwrap(),
    );
    let downgraded = WebhookRequest::new(Method::POST, INBOUND_URL, headers, body);
    assert!(matches!(
        verifier.handle(&downgraded),
        Err(WebhookError::MalformedSignature { .. })
    ));
}

#[test]
fn get_webhooks_sign_the_query() {
    let url = "https://example.com/twilio/sms/inbound?MessageSid=SM9&From=%2B4917612345678&Body=Hi";
    let req = request(Method::GET, url, "", &compute(TOKEN, url, &[]));
    let InboundEvent::Message(m) = &events_of(&req)[0] else {
        panic!()
    };
    assert_eq!(m.content, InboundContent::Text("Hi".into()));
}

#[test]
fn refusals() {
    let v = WebhookVerifier::new(TOKEN);
    let forged = request(
        Method::POST,
        INBOUND_URL,
        INBOUND_STOP,
        &compute("other", INBOUND_URL, &[]),
    );
    assert_eq!(v.handle(&forged).unwrap_err(), WebhookError::SignatureMismatch);
    // The same bytes at another URL (a proxy rewrote it): refused, as it must be.
    let moved = request(
        Method::POST,
        "https://internal:8080/inbound",
        INBOUND_STOP,
        "huR9PPonRwQwAzMGjQbDZPee84Y=",
    );
    assert_eq!(v.handle(&moved).unwrap_err(), WebhookError::SignatureMismatch);
    let no_sid = signed(INBOUND_URL, &[("Body", "hi")]);
    assert!(
        matches!(v.handle(&no_sid), Err(WebhookError::MalformedPayload { path, .. }) if path == "MessageSid")
    );
    let put = request(
        Method::PUT,
        INBOUND_URL,
        INBOUND_STOP,
        "huR9PPonRwQwAzMGjQbDZPee84Y=",
    );
    assert_eq!(v.handle(&put).unwrap_err(), WebhookError::MethodNotAllowed);
    let secondary = WebhookVerifier::from_validator(SignatureValidator::new("rotated").with_token(TOKEN));
    assert!(
        secondary
            .handle(&request(
                Method::POST,
                INBOUND_URL,
                INBOUND_STOP,
                "huR9PPonRwQwAzMGjQbDZPee84Y="
            ))
            .is_ok()
    );
}

proptest! {
    #[test]
    fn arbitrary_signed_forms_never_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
        let body_string = String::from_utf8_lossy(&body).into_owned();
        let params: Vec<(String, String)> = url::form_urlencoded::parse(body_string.as_bytes()).into_owned().collect();
        let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let req = request(Method::POST, INBOUND_URL, &body_string, &compute(TOKEN, INBOUND_URL, &pairs));
        let outcome = WebhookVerifier::new(TOKEN).handle(&req);
        prop_assert!(matches!(outcome, Ok(WebhookOutcome::Events(_)) | Err(WebhookError::MalformedPayload { .. })), "{:?}", outcome);
    }
}
