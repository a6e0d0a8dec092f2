//! Twilio form webhooks: a body signed over its own parameters (SHA-1 with the auth token,
//! or SHA-256 with a shared key under a Webhooks Rule) always verifies and parses to events
//! or a verified malformed-payload error; the other algorithm's signature is refused.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use switchboard::sms::twilio::signature::{
    Algorithm, SETTINGS_HEADER, SIGNATURE_HEADER, SignatureValidator, compute, compute_with,
};
use switchboard::sms::twilio::webhook::{WebhookVerifier, parse};
use switchboard::{WebhookError, WebhookOutcome, WebhookRequest};

const URL: &str = "https://example.com/twilio/sms/inbound?tenant=acme";

fuzz_target!(|body: &[u8]| {
    let _ = parse(body);
    let params: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let verifier = WebhookVerifier::from_validator(SignatureValidator::new("token").with_shared_key("shared"));
    let request = |signature: String, rule: bool| {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, HeaderValue::try_from(signature).unwrap());
        if rule {
            headers.insert(SETTINGS_HEADER, HeaderValue::from_static("key=KS1,algorithm=HMAC_SHA256"));
        }
        WebhookRequest::new(Method::POST, URL, headers, body.to_vec())
    };
    for signed in [
        request(compute("token", URL, &pairs), false),
        request(compute_with(Algorithm::HmacSha256, "shared", URL, &pairs), true),
    ] {
        match verifier.handle(&signed) {
            Ok(WebhookOutcome::Events(_)) | Err(WebhookError::MalformedPayload { .. }) => {}
            other => panic!("a signed form gave {other:?}"),
        }
    }
    // No downgrade: a SHA-1 signature under a SHA-256 announcement.
    let downgraded = request(compute_with(Algorithm::HmacSha1, "shared", URL, &pairs), true);
    assert!(matches!(
        verifier.handle(&downgraded),
        Err(WebhookError::MalformedSignature { .. })
    ));
});
