//! Empty (and implausibly short) secrets fail closed: a client with one refuses to build,
//! naming the setting, and a verifier given one verifies nothing, not even a request signed
//! with the empty key (which an HMAC would otherwise accept).

use bytes::Bytes;
use http::{HeaderMap, Method};
use switchboard::{ErrorKind, WebhookError, WebhookOutcome, WebhookRequest};

fn config_message(err: switchboard::Error) -> String {
    match err.kind() {
        ErrorKind::Config { message } => message.to_string(),
        other => panic!("not a config error: {other:?}"),
    }
}

fn refused(outcome: Result<WebhookOutcome, WebhookError>) {
    match outcome {
        Err(WebhookError::NotConfigured | WebhookError::SignatureMismatch) => {}
        other => panic!("a request signed with the empty key was not refused: {other:?}"),
    }
}

const BODY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},"messages":[{"from":"4917612345678","id":"wamid.f","timestamp":"1","type":"text","text":{"body":"START"}}]}}]}]}"#;

#[test]
fn whatsapp_refuses_empty_app_secrets_and_verify_tokens() {
    use switchboard::whatsapp::Client;
    use switchboard::whatsapp::webhook::{WebhookVerifier, signature_header};
    for (secret, token, setting) in [
        ("", "verify-me", "app_secret"),
        ("  ", "verify-me", "app_secret"),
        ("abc", "verify-me", "app_secret"),
        ("0123456789abcdef", "", "verify_token"),
    ] {
        let err = Client::builder()
            .access_token("EAAJB-token")
            .phone_number_id("106540352242922")
            .app_secret(secret)
            .verify_token(token)
            .build()
            .unwrap_err();
        assert!(config_message(err).contains(setting), "{secret:?} {token:?}");
    }
    // The README's `unwrap_or_default()` pattern with the variable unset.
    let verifier = WebhookVerifier::new(std::env::var("SWITCHBOARD_UNSET_SECRET").unwrap_or_default());
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-hub-signature-256",
        signature_header("", BODY.as_bytes()).parse().unwrap(),
    );
    refused(verifier.handle(&WebhookRequest::new(
        Method::POST,
        "https://example.com/wa",
        headers,
        BODY,
    )));
    assert!(verifier.clone().configured().is_err());
    // Rotation does not help: one empty secret poisons the verifier.
    let rotated = WebhookVerifier::new("0123456789abcdef").app_secret("");
    assert!(rotated.configured().is_err());
}

#[test]
fn twilio_refuses_empty_auth_tokens() {
    use switchboard::sms::twilio::Client;
    use switchboard::sms::twilio::signature::compute;
    for (primary, secondary) in [("", None), ("0123456789abcdef0123456789abcdef", Some(""))] {
        let mut builder = Client::builder()
            .account_sid("ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
            .api_key("SKaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "api-key-secret")
            .auth_token(primary);
        if let Some(secondary) = secondary {
            builder = builder.secondary_auth_token(secondary);
        }
        let err = builder.build().unwrap_err();
        assert!(config_message(err).contains("auth_token"));
    }
    let verifier = switchboard::sms::twilio::WebhookVerifier::new("");
    let url = "https://example.com/sms";
    let form = "Body=START&From=%2B4917612345678&MessageSid=SM1&To=%2B4915112345678";
    let params = [
        ("Body", "START"),
        ("From", "+4917612345678"),
        ("MessageSid", "SM1"),
        ("To", "+4915112345678"),
    ];
    let mut headers = HeaderMap::new();
    headers.insert("x-twilio-signature", compute("", url, &params).parse().unwrap());
    headers.insert(
        "content-type",
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    refused(verifier.handle(&WebhookRequest::new(
        Method::POST,
        url,
        headers,
        Bytes::from(form),
    )));
    assert!(verifier.configured().is_err());
}

#[test]
fn x_refuses_an_empty_consumer_secret() {
    use switchboard::twitter::Client;
    use switchboard::twitter::oauth1::Credentials;
    use switchboard::twitter::webhook::{WebhookVerifier, signature_header};
    let err = Client::builder()
        .oauth1(Credentials::new("ckey", "", "token", "token-secret"))
        .build()
        .unwrap_err();
    assert!(config_message(err).contains("consumer_secret"));
    let verifier = WebhookVerifier::new("");
    let body = r#"{"for_user_id":"1","direct_message_events":[]}"#;
    let mut headers = HeaderMap::new();
    headers.insert(
        "x-twitter-webhooks-signature",
        signature_header(b"", body.as_bytes()).parse().unwrap(),
    );
    refused(verifier.handle(&WebhookRequest::new(
        Method::POST,
        "https://example.com/x",
        headers,
        body,
    )));
    let crc = WebhookRequest::new(
        Method::GET,
        "https://example.com/x?crc_token=abc",
        HeaderMap::new(),
        Bytes::new(),
    );
    assert!(verifier.handle(&crc).is_err(), "no CRC answer under an empty key");
}

#[test]
fn vonage_refuses_an_empty_signature_secret() {
    use switchboard::sms::vonage::{Client, SignatureMethod, WebhookVerifier, sign};
    let err = Client::builder()
        .api_key("key")
        .api_secret("secret")
        .signature_secret("", SignatureMethod::Sha256Hmac)
        .build()
        .unwrap_err();
    assert!(config_message(err).contains("signature_secret"));
    let verifier = WebhookVerifier::new("", SignatureMethod::Sha256Hmac);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    let mut params = vec![
        ("messageId", "0A00000012345678".to_owned()),
        ("msisdn", "4917612345678".to_owned()),
        ("text", "START".to_owned()),
        ("timestamp", now),
        ("to", "4915112345678".to_owned()),
        ("type", "text".to_owned()),
    ];
    let sig = sign(&params, "", SignatureMethod::Sha256Hmac);
    params.push(("sig", sig));
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let request = WebhookRequest::new(
        Method::GET,
        format!("https://example.com/vonage?{query}"),
        HeaderMap::new(),
        Bytes::new(),
    );
    refused(verifier.handle(&request));
    assert!(verifier.configured().is_err());
}

#[test]
fn standard_webhooks_refuse_an_empty_secret() {
    assert!(switchboard::webhook::standard::StandardWebhook::new("whsec_").is_err());
    assert!(
        switchboard::webhook::standard::StandardWebhook::new("whsec_AAA=").is_err(),
        "two bytes"
    );
}
