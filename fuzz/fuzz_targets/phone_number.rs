//! Phone number parsing: never panics, and a parsed number parses back to itself (from its
//! E.164 form and from its digits), and its `Debug` never shows the digits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::PhoneNumber;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(number) = PhoneNumber::parse(text) else {
        return;
    };
    assert_eq!(PhoneNumber::parse(number.as_str()).as_ref(), Ok(&number));
    assert_eq!(PhoneNumber::from_digits(number.digits()).as_ref(), Some(&number));
    if number.digits().len() > 4 {
        assert!(!format!("{number:?}").contains(number.digits()));
    }
});
