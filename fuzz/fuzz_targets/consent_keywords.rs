//! Consent keywords: normalising is idempotent for every string, and classifying never
//! panics (with and without topics).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::consent::keywords::{Keywords, normalize};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let once = normalize(&text).into_owned();
    assert_eq!(normalize(&once), once.as_str(), "normalize is not idempotent");
    let _ = Keywords::default().classify(&text);
    let _ = Keywords::default().topics(["news", "angebote"]).classify(&text);
});
