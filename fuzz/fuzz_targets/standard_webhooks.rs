//! Standard Webhooks: every id the signer accepts round-trips sign → verify with the same
//! id; a changed body is refused; arbitrary headers never panic.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use switchboard::WebhookError;
use switchboard::webhook::standard::StandardWebhook;

fuzz_target!(|data: &[u8]| {
    let hook = StandardWebhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
    let at = UNIX_EPOCH + Duration::from_secs(1_649_367_553);
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let (id, rest) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    if let Ok(id) = std::str::from_utf8(id) {
        if let Ok(headers) = hook.headers(id, at, rest) {
            let verified = hook.verify_at(&headers, rest, at).expect("a signed message verifies");
            assert_eq!(verified.id, id);
            let mut tampered = rest.to_vec();
            tampered.push(b'!');
            assert_eq!(hook.verify_at(&headers, &tampered, at), Err(WebhookError::SignatureMismatch));
        } else {
            assert!(hook.sign(id, at, rest).is_err(), "sign and headers agree");
        }
    }
    // The same bytes as raw headers: id, timestamp, signature, then the body.
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let mut headers = HeaderMap::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        if let Some(value) = parts.next().and_then(|p| HeaderValue::from_bytes(p).ok()) {
            headers.insert(name, value);
        }
    }
    let _ = hook.verify_at(&headers, parts.next().unwrap_or_default(), at);
});
