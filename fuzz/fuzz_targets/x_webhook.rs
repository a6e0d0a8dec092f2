//! X webhooks: a body signed with the consumer secret verifies and parses to events or a
//! verified malformed-payload error; an unsigned one is refused; a CRC `GET` with any token
//! is answered with that token's HMAC.
#![no_main]

use http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use switchboard::twitter::webhook::{WebhookVerifier, crc_response_token, signature_header};
use switchboard::{WebhookError, WebhookOutcome, WebhookRequest};

const SECRET: &[u8] = b"consumer-secret";

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let verifier = WebhookVerifier::new(SECRET).for_user("2244994945");
    let mut headers = HeaderMap::new();
    match mode % 3 {
        0 => {
            let signature = HeaderValue::try_from(signature_header(SECRET, body)).unwrap();
            headers.insert("x-twitter-webhooks-signature", signature);
            let request = WebhookRequest::new(Method::POST, "https://example.com/x", headers, body.to_vec());
            match verifier.handle(&request) {
                Ok(WebhookOutcome::Events(_)) | Err(WebhookError::MalformedPayload { .. }) => {}
                other => panic!("a signed body gave {other:?}"),
            }
        }
        1 => {
            if let Ok(value) = HeaderValue::from_bytes(body) {
                headers.insert("x-twitter-webhooks-signature", value);
            }
            let request = WebhookRequest::new(Method::POST, "https://example.com/x", headers, body.to_vec());
            assert!(verifier.handle(&request).is_err(), "an unsigned body was accepted");
        }
        _ => {
            let token = String::from_utf8_lossy(body);
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("crc_token", &token)
                .finish();
            let request = WebhookRequest::new(Method::GET, format!("https://example.com/x?{query}"), headers, Vec::new());
            // A token that could be a delivery body is refused (no signing oracle); any other
            // is answered with its HMAC, and never with a signature over a JSON body.
            match (crc_response_token(SECRET, &token), verifier.handle(&request)) {
                (Ok(expected), Ok(WebhookOutcome::Handshake(answer))) => {
                    assert!(String::from_utf8_lossy(&answer.body).contains(&expected));
                    assert!(serde_json::from_str::<serde_json::Value>(&token).map_or(true, |v| !v.is_object() && !v.is_array()));
                }
                (Err(_), Err(WebhookError::InvalidChallenge { .. } | WebhookError::HandshakeMismatch { .. })) => {}
                other => panic!("CRC answer and token check disagree: {other:?}"),
            }
        }
    }
});
