//! SMS segments: the parts re-join to the text, their count is the analysis's, and each
//! fits a part; the same holds for the smart-encoded text, which is GSM-7 or unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::sms::segments::{Encoding, analyze, smart_encode, split};

fn check(text: &str) {
    let analysis = analyze(text);
    let parts = split(text);
    assert_eq!(parts.concat(), text);
    assert_eq!(parts.len(), analysis.segments);
    let capacity = if analysis.segments > 1 {
        analysis.encoding.part_capacity()
    } else {
        analysis.encoding.single_capacity()
    };
    for part in &parts {
        let units: usize = match analysis.encoding {
            Encoding::Gsm7 => part.chars().map(|c| switchboard::sms::segments::gsm_septets(c).unwrap()).sum(),
            Encoding::Ucs2 => part.encode_utf16().count(),
        };
        assert!(units <= capacity, "a part of {units} units over {capacity}");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    check(&text);
    let smart = smart_encode(&text);
    check(&smart.text);
    if smart.text != text {
        assert_eq!(analyze(&smart.text).encoding, Encoding::Gsm7);
        assert!(smart.segments_after <= smart.segments_before);
    }
    assert_eq!(smart.text.contains('\u{200D}'), text.contains('\u{200D}'));
});
