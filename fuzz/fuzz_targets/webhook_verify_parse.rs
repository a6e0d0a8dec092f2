//! Verify + parse never panics, and its outcome is always typed:
//! - a correctly signed WhatsApp body gives events or a verified malformed-payload error;
//! - an arbitrary signature header is refused;
//! - Standard Webhooks verification with arbitrary headers returns an error or a match;
//! - a handshake with an arbitrary query string is answered or refused.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use switchboard::webhook::standard::StandardWebhook;
use switchboard::whatsapp::webhook::{WebhookVerifier, signature_header};
use switchboard::{WebhookError, WebhookOutcome, WebhookRequest};

const SECRET: &str = "fuzz-app-secret";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let verifier = WebhookVerifier::new(SECRET).verify_token("fuzz-token");
    let mut headers = HeaderMap::new();
    match mode % 4 {
        0 => {
            let signature = signature_header(SECRET, body);
            headers.insert("x-hub-signature-256", HeaderValue::try_from(signature).unwrap());
            let request = WebhookRequest::new(Method::POST, "https://example.com/wa", headers, body.to_vec());
            match verifier.handle(&request) {
                Ok(WebhookOutcome::Events(_)) | Err(WebhookError::MalformedPayload { .. }) => {}
                other => panic!("a signed body gave {other:?}"),
            }
        }
        1 => {
            if let Ok(value) = HeaderValue::from_bytes(body) {
                headers.insert("x-hub-signature-256", value);
            }
            let request = WebhookRequest::new(Method::POST, "https://example.com/wa", headers, body.to_vec());
            assert!(verifier.handle(&request).is_err(), "an unsigned body was accepted");
        }
        2 => {
            let hook = StandardWebhook::new("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap();
            let mut parts = body.splitn(4, |&b| b == b'\n');
            for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
                if let Some(value) = parts.next().and_then(|p| HeaderValue::from_bytes(p).ok()) {
                    headers.insert(name, value);
                }
            }
            let payload = parts.next().unwrap_or_default();
            let _ = hook.verify_at(&headers, payload, UNIX_EPOCH + Duration::from_secs(1_649_367_553));
        }
        _ => {
            let query = String::from_utf8_lossy(body);
            let request = WebhookRequest::new(Method::GET, format!("https://example.com/wa?{query}"), headers, Vec::new());
            match verifier.handle(&request) {
                Ok(WebhookOutcome::Handshake(_)) | Err(WebhookError::HandshakeMismatch { .. }) => {}
                other => panic!("a handshake gave {other:?}"),
            }
        }
    }
});
