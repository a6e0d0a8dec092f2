//! Who a message goes to: a phone number or a platform user id.
//!
//! Phone numbers are personal data, so [`PhoneNumber`] shows only its first and last two
//! digits in `Debug` and `Display`; [`PhoneNumber::as_str`] gives the full number when you
//! choose to use it.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Problem, ValidationError};

/// A phone number in E.164 form (`+` and 7 to 15 digits, no leading zero).
///
/// Parsing accepts the usual separators (spaces, `-`, `.`, `(`, `)`) and the `00`
/// international prefix, and refuses numbers without a country code: a provider would
/// otherwise guess one, and a guess sends messages to the wrong person.
///
/// ```
/// use switchboard::PhoneNumber;
///
/// let number: PhoneNumber = "+49 (151) 234-5678".parse()?;
/// assert_eq!(number.as_str(), "+491512345678");
/// assert_eq!(number.to_string(), "+49********78");
/// assert!("0151 2345678".parse::<PhoneNumber>().is_err());
/// # Ok::<(), switchboard::ValidationError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

/// The two-digit country codes; `1` and `7` are the one-digit ones, and every other code has
/// three digits (ITU-T E.164 codes are prefix-free, so the first match is the code).
const TWO_DIGIT_CODES: &[&str] = &[
    "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46", "47", "48",
    "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63", "64", "65", "66", "81",
    "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
];

/// Countries whose national numbers keep their leading 0 in international format (Italy,
/// Côte d'Ivoire, San Marino).
const KEEP_LEADING_ZERO: &[&str] = &["39", "225", "378"];

/// The country code at the start of E.164 digits.
fn country_code(digits: &str) -> &str {
    let len = if digits.starts_with(['1', '7']) {
        1
    } else if TWO_DIGIT_CODES.iter().any(|code| digits.starts_with(code)) {
        2
    } else {
        3
    };
    &digits[..len.min(digits.len())]
}

impl PhoneNumber {
    /// Parses and normalises a number to E.164.
    pub fn parse(input: &str) -> Result<Self, ValidationError> {
        let invalid = |why: &'static str| ValidationError::new("phone_number", Problem::Invalid(why.into()));
        let trimmed = input.trim();
        let rest = if let Some(rest) = trimmed.strip_prefix('+') {
            rest
        } else if let Some(rest) = trimmed.strip_prefix("00") {
            rest
        } else if trimmed.is_empty() {
            return Err(ValidationError::new("phone_number", Problem::Empty));
        } else {
            return Err(invalid("must start with + and the country code"));
        };
        // `+49 (0)151 …`: the `(0)` is the national trunk prefix, dialled only from inside
        // the country; kept, it would make a second identity for the same person.
        let rest = rest.replacen("(0)", "", 1);
        let mut normalized = String::with_capacity(16);
        normalized.push('+');
        for c in rest.chars() {
            match c {
                '0'..='9' => normalized.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => {
                    return Err(invalid(
                        "may contain only digits and the separators space - . ( )",
                    ));
                }
            }
        }
        let digits = normalized.len() - 1;
        if !(7..=15).contains(&digits) {
            return Err(invalid("must have 7 to 15 digits"));
        }
        if normalized.as_bytes()[1] == b'0' {
            return Err(invalid("country code cannot start with 0"));
        }
        let digits = &normalized[1..];
        let code = country_code(digits);
        if digits[code.len()..].starts_with('0') && !KEEP_LEADING_ZERO.contains(&code) {
            return Err(invalid(
                "the national number cannot start with 0 after the country code: drop the trunk prefix",
            ));
        }
        Ok(Self(normalized))
    }

    /// A number from its digits without `+` (as WhatsApp's `wa_id`), if they form one.
    pub fn from_digits(digits: &str) -> Option<Self> {
        let valid = (7..=15).contains(&digits.len())
            && !digits.starts_with('0')
            && digits.bytes().all(|b| b.is_ascii_digit());
        valid.then(|| {
            let mut number = String::with_capacity(digits.len() + 1);
            number.push('+');
            number.push_str(digits);
            Self(number)
        })
    }

    /// The full number, `+` and digits. This is personal data: log it only by choice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the `+`, as WhatsApp reports `wa_id`s.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

/// Masks all but the first and last two characters of an identifier.
pub(crate) fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let (head, tail) = match value.strip_prefix('+') {
        Some(_) => (3, 2),
        None => (2, 2),
    };
    if chars.len() <= head + tail {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..head].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// `text` with every run of 7 or more digits masked as [`PhoneNumber`] masks it (first and
/// last two digits kept), for provider messages shown in `Display` and `Debug` ("The 'To'
/// number +49*********78 is not a valid phone number"). Digits may be grouped by up to
/// three separators (spaces, tabs, no-break spaces, `-`, `–`, `.`, `/`, parentheses), which
/// are kept: `+1 (415) 555-1234` is one number. Runs glued to letters are masked too (a
/// `tel4917…` or `msisdn_4917…` is still a number); shorter runs (error codes, counts) and
/// ISO dates are left alone.
pub(crate) fn mask_numbers(text: &str) -> Cow<'_, str> {
    const SEPARATORS: &[char] = &[
        ' ', '\t', '\u{a0}', '\u{202f}', '-', '\u{2011}', '\u{2013}', '.', '/', '(', ')',
    ];
    const MAX_GAP: usize = 3;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let digit = |i: usize| chars.get(i).is_some_and(|&(_, c)| c.is_ascii_digit());
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < chars.len() {
        let starts = digit(i) || (chars[i].1 == '+' && digit(i + 1));
        if !starts {
            i += 1;
            continue;
        }
        // The run: digits, with short gaps of separators between them.
        let start = i;
        let mut end = i + usize::from(chars[i].1 == '+');
        let mut digits = 0;
        while end < chars.len() {
            if digit(end) {
                digits += 1;
                end += 1;
                continue;
            }
            let gap = chars[end..]
                .iter()
                .take(MAX_GAP + 1)
                .take_while(|(_, c)| SEPARATORS.contains(c))
                .count();
            if gap > 0 && gap <= MAX_GAP && digit(end + gap) {
                end += gap;
            } else {
                break;
            }
        }
        let byte = |k: usize| chars.get(k).map_or(text.len(), |&(b, _)| b);
        let run = &text[byte(start)..byte(end)];
        // An ISO date (2026-12-01) is no number worth hiding.
        let date = run.len() == 10 && run.as_bytes()[4] == b'-' && run.as_bytes()[7] == b'-';
        if digits >= 7 && !date {
            let out = out.get_or_insert_with(|| String::with_capacity(text.len()));
            out.push_str(&text[copied..byte(start)]);
            let mut seen = 0;
            for c in run.chars() {
                if c.is_ascii_digit() {
                    seen += 1;
                    out.push(if seen <= 2 || seen > digits - 2 { c } else { '*' });
                } else {
                    out.push(c);
                }
            }
            copied = byte(end);
        }
        i = end.max(i + 1);
    }
    match out {
        Some(mut out) => {
            out.push_str(&text[copied..]);
            Cow::Owned(out)
        }
        None => Cow::Borrowed(text),
    }
}

/// Shows text with its numbers masked ([`mask_numbers`]), quoted as `Debug` quotes strings.
pub(crate) struct MaskedText<'a>(pub(crate) &'a str);

impl fmt::Debug for MaskedText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(mask_numbers(self.0).as_ref(), f)
    }
}

/// Shows webhook or form parameters with numbers masked and free text (`Body`, `text`,
/// `ButtonText`) reduced to its length.
#[cfg(feature = "sms")]
pub(crate) struct MaskedParams<'a>(pub(crate) &'a [(String, String)]);

#[cfg(feature = "sms")]
impl fmt::Debug for MaskedParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const FREE_TEXT: &[&str] = &["Body", "body", "text", "ButtonText", "keyword"];
        let mut list = f.debug_list();
        for (key, value) in self.0 {
            if FREE_TEXT.contains(&key.as_str()) {
                list.entry(&(key, Redacted(value)));
            } else {
                list.entry(&(key, MaskedText(value)));
            }
        }
        list.finish()
    }
}

/// Shows only the length of what a person wrote.
pub(crate) struct Redacted<'a>(pub(crate) &'a str);

impl fmt::Debug for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{} chars]", self.0.chars().count())
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", mask(&self.0))
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&mask(&self.0))
    }
}

impl FromStr for PhoneNumber {
    type Err = ValidationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for PhoneNumber {
    type Error = ValidationError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl Serialize for PhoneNumber {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for PhoneNumber {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A platform's own id for a person: a WhatsApp business-scoped user id
/// (`US.13491208655302741918`), an X user id, a Telegram chat id.
///
/// Not everyone has a phone number the business may see, so this is a first-class way to
/// address someone.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserId(String);

impl UserId {
    /// Wraps a platform user id; it must not be empty.
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        if id.trim().is_empty() {
            return Err(ValidationError::new("user_id", Problem::Empty));
        }
        Ok(Self(id))
    }

    /// The id as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a message goes: a phone number or a platform user id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Address {
    /// A phone number (SMS, WhatsApp).
    Phone(PhoneNumber),
    /// A platform user id (WhatsApp BSUID, X user id, a custom channel's id).
    User(UserId),
}

impl Address {
    /// Parses a phone number into an address.
    pub fn phone(number: &str) -> Result<Self, ValidationError> {
        PhoneNumber::parse(number).map(Self::Phone)
    }

    /// A platform user id address.
    pub fn user(id: impl Into<String>) -> Result<Self, ValidationError> {
        UserId::new(id).map(Self::User)
    }

    /// The full address as a string (phone numbers unmasked): a key for maps and stores.
    pub fn as_key(&self) -> &str {
        match self {
            Self::Phone(p) => p.as_str(),
            Self::User(u) => u.as_str(),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Phone(p) => fmt::Display::fmt(p, f),
            Self::User(u) => fmt::Display::fmt(u, f),
        }
    }
}

impl From<PhoneNumber> for Address {
    fn from(p: PhoneNumber) -> Self {
        Self::Phone(p)
    }
}

impl From<UserId> for Address {
    fn from(u: UserId) -> Self {
        Self::User(u)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `+49 (0)151 2345678` is the usual German notation: one person, one identity.
    #[test]
    fn a_trunk_prefix_after_the_country_code_is_dropped_or_refused() {
        for input in [
            "+49 (0)151 2345678",
            "+49 151 2345678",
            "0049 (0)151-2345678",
            "+49(0)1512345678",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().as_str(),
                "+491512345678",
                "{input}"
            );
        }
        assert!(
            PhoneNumber::parse("+4901512345678").is_err(),
            "a 0 after +49 is a trunk prefix"
        );
        assert!(PhoneNumber::parse("+44 07700 900123").is_err());
        assert_eq!(
            PhoneNumber::parse("+44 (0)7700 900123").unwrap().as_str(),
            "+447700900123"
        );
        // Italian and Ivorian numbers keep their 0.
        assert_eq!(
            PhoneNumber::parse("+39 06 1234 5678").unwrap().as_str(),
            "+390612345678"
        );
        assert_eq!(
            PhoneNumber::parse("+225 07 12 34 56 78").unwrap().as_str(),
            "+2250712345678"
        );
        assert_eq!(
            PhoneNumber::parse("+1 650 555 1234").unwrap().as_str(),
            "+16505551234"
        );
        assert_eq!(
            PhoneNumber::parse("+7 912 345 67 89").unwrap().as_str(),
            "+79123456789"
        );
        assert_eq!(
            PhoneNumber::parse("+380 44 123 4567").unwrap().as_str(),
            "+380441234567"
        );
    }

    #[test]
    fn numbers_in_provider_text_are_masked() {
        let cases = [
            (
                "The 'To' number +4917612345678 is not a valid phone number.",
                "The 'To' number +49*********78 is not a valid phone number.",
            ),
            ("Call +49 176 1234-5678 now", "Call +49 *** ****-**78 now"),
            ("(4917612345678)", "(49*********78)"),
            ("Error 21211 at 2026-12-01", "Error 21211 at 2026-12-01"),
            (
                "id wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3",
                "id wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3",
            ),
            ("SM1234567890abcdef", "SM12******90abcdef"),
            ("+1 (415) 555-1234", "+1 (4**) ***-**34"),
            ("+1 415 555\t1234", "+1 4** ***\t**34"),
            ("+1 415\u{a0}555\u{a0}1234", "+1 4**\u{a0}***\u{a0}**34"),
            ("+1 415\u{2013}555\u{2013}1234", "+1 4**\u{2013}***\u{2013}**34"),
            ("+49 176  12345678", "+49 ***  ******78"),
            (
                "tel4917612345678 msisdn_4917612345678",
                "tel49*********78 msisdn_49*********78",
            ),
            ("wa_id 4917612345678,", "wa_id 49*********78,"),
            ("", ""),
            ("+", "+"),
            ("1234567", "12***67"),
        ];
        for (input, masked) in cases {
            assert_eq!(mask_numbers(input), masked, "{input}");
        }
        assert!(matches!(mask_numbers("nothing here"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        #[test]
        fn masking_keeps_the_text_around_numbers(text in "\\PC{0,60}") {
            let masked = mask_numbers(&text);
            proptest::prop_assert_eq!(masked.len(), text.len());
            let again = mask_numbers(&masked).into_owned();
            proptest::prop_assert_eq!(again.as_str(), masked.as_ref());
        }
    }

    #[test]
    fn parses_common_notations() {
        for input in [
            "+1 (650) 555-1234",
            "+16505551234",
            "0016505551234",
            " +1.650.555.1234 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).unwrap().as_str(),
                "+16505551234",
                "{input}"
            );
        }
    }

    #[test]
    fn refuses_ambiguous_or_malformed_numbers() {
        for input in [
            "",
            "6505551234",
            "+0123456789",
            "+12",
            "+1234567890123456",
            "+1650555x234",
            "++1650",
        ] {
            assert!(PhoneNumber::parse(input).is_err(), "{input}");
        }
    }

    #[test]
    fn debug_and_display_mask_the_number() {
        let p = PhoneNumber::parse("+16505551234").unwrap();
        assert_eq!(format!("{p:?}"), "PhoneNumber(+16*******34)");
        assert_eq!(Address::Phone(p).to_string(), "+16*******34");
        assert_eq!(mask("abc"), "***");
    }

    proptest::proptest! {
        #[test]
        fn parsing_never_panics_and_normal_forms_are_stable(input in "\\PC{0,24}") {
            if let Ok(p) = PhoneNumber::parse(&input) {
                proptest::prop_assert_eq!(PhoneNumber::parse(p.as_str()).unwrap(), p.clone());
                let masked = p.to_string();
                proptest::prop_assert_eq!(masked.chars().count(), p.as_str().len());
                proptest::prop_assert!(masked.contains('*'));
            }
            let _ = mask(&input);
        }

        #[test]
        fn formatted_numbers_parse(cc in 1u32..999, rest in "[0-9]{6,11}") {
            let digits = format!("{cc}{rest}");
            proptest::prop_assume!(digits.len() <= 15);
            // A national number starting with 0 is a trunk prefix (tested above).
            let code = country_code(&digits);
            proptest::prop_assume!(!digits[code.len()..].starts_with('0') || KEEP_LEADING_ZERO.contains(&code));
            let formatted = format!("+{cc} ({}) {}", &rest[..3], &rest[3..]);
            let parsed = PhoneNumber::parse(&formatted).unwrap();
            proptest::prop_assert_eq!(parsed.digits(), digits.as_str());
            proptest::prop_assert_eq!(PhoneNumber::from_digits(&digits), Some(parsed));
        }
    }

    #[test]
    fn serde_round_trip_validates() {
        let p: PhoneNumber = serde_json::from_str("\"+49 151 2345678\"").unwrap();
        assert_eq!(serde_json::to_string(&p).unwrap(), "\"+491512345678\"");
        assert!(serde_json::from_str::<PhoneNumber>("\"12\"").is_err());
    }
}
