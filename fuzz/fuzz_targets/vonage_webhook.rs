//! Vonage signed webhooks: any form signed with each method verifies and parses to an
//! event or a verified malformed-payload error, unless its parameter names could re-split
//! the signed string (they hold `&` or `=`, or repeat), which is refused; a wrong `sig` is
//! refused.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use http::{HeaderMap, Method};
use libfuzzer_sys::fuzz_target;
use switchboard::sms::vonage::{SignatureMethod, WebhookVerifier, sign};
use switchboard::{WebhookError, WebhookOutcome, WebhookRequest};

const NOW: u64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, body)) = data.split_first() else {
        return;
    };
    let method = [
        SignatureMethod::Md5Hash,
        SignatureMethod::Md5Hmac,
        SignatureMethod::Sha1Hmac,
        SignatureMethod::Sha256Hmac,
        SignatureMethod::Sha512Hmac,
    ][usize::from(mode) % 5];
    let verifier = WebhookVerifier::new("secret", method);
    let at = UNIX_EPOCH + Duration::from_secs(NOW);
    let post = |body: Vec<u8>| WebhookRequest::new(Method::POST, "https://example.com/vonage", HeaderMap::new(), body);
    // Arbitrary bodies (form or JSON) never panic.
    let _ = verifier.handle_at(&post(body.to_vec()), at);
    let mut params: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .into_owned()
        .filter(|(k, _)| k != "sig" && k != "timestamp")
        .collect();
    params.push(("timestamp".into(), NOW.to_string()));
    let sig = sign(&params, "secret", method);
    let form = |sig: &str| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .append_pair("sig", sig)
            .finish()
            .into_bytes()
    };
    let mut names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
    names.sort_unstable();
    let ambiguous = names.iter().any(|k| k.contains(['&', '='])) || names.windows(2).any(|w| w[0] == w[1]);
    match verifier.handle_at(&post(form(&sig)), at) {
        Err(WebhookError::MalformedSignature { header: "sig" }) if ambiguous => return,
        Ok(WebhookOutcome::Events(_)) | Err(WebhookError::MalformedPayload { .. }) if !ambiguous => {}
        other => panic!("a signed form gave {other:?} (ambiguous names: {ambiguous})"),
    }
    let wrong = if sig.starts_with('0') { sig.replacen('0', "1", 1) } else { format!("0{}", &sig[1..]) };
    assert_eq!(
        verifier.handle_at(&post(form(&wrong)), at).err(),
        Some(WebhookError::SignatureMismatch)
    );
});
