//! Twilio JSON webhooks (`bodySHA256`): a body signed with its hash verifies, any other
//! body under the same URL and signature is refused, and arbitrary signature headers never
//! panic.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};
use switchboard::WebhookRequest;
use switchboard::sms::twilio::signature::{SIGNATURE_HEADER, SignatureValidator, compute};

fuzz_target!(|data: &[u8]| {
    let (signature_bytes, body) = data.split_at(data.len().min(usize::from(data.first().copied().unwrap_or(0) % 40)));
    let url = format!(
        "https://example.com/twilio/json?bodySHA256={}",
        hex::encode(Sha256::digest(body))
    );
    let validator = SignatureValidator::new("token");
    let request = |signature: HeaderValue, body: Vec<u8>| {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature);
        WebhookRequest::new(Method::POST, url.as_str(), headers, body)
    };
    let signature = HeaderValue::try_from(compute("token", &url, &[])).unwrap();
    assert_eq!(validator.verify(&request(signature.clone(), body.to_vec())), Ok(()));
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert!(validator.verify(&request(signature, tampered)).is_err());
    if let Ok(arbitrary) = HeaderValue::from_bytes(signature_bytes) {
        let _ = validator.verify(&request(arbitrary, body.to_vec()));
    }
});
