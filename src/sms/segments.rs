//! How an SMS text is encoded and split into billable segments, the way Twilio's
//! open-source segment calculator counts them.
//!
//! - GSM-7 when every character is in the GSM 03.38 basic or extension table (the extension
//!   characters `^ { } \ [ ~ ] |` `€` and form feed cost two septets); otherwise UCS-2, where
//!   every character costs its UTF-16 code units (most emoji count two).
//! - One segment holds 160 septets or 70 units; a longer text needs a 6-byte header in every
//!   part, leaving 153 septets or 67 units each.
//! - A character (a grapheme: an escape pair, a surrogate pair, an emoji sequence) is never
//!   split across two parts; it moves on whole, so a part may hold 152 septets or 66 units.
//!
//! ```
//! use switchboard::sms::segments::{analyze, Encoding};
//!
//! let a = analyze("Grüße aus München! Ihr Termin ist am 12.03. um 14:30 Uhr.");
//! assert_eq!((a.encoding, a.segments, a.units), (Encoding::Gsm7, 1, 57));
//!
//! let b = analyze("„Hallo“ 👋");
//! assert_eq!(b.encoding, Encoding::Ucs2);
//! assert_eq!(b.non_gsm, vec!['„', '“', '👋']);
//! ```

use std::borrow::Cow;
use std::fmt;

use unicode_segmentation::UnicodeSegmentation;

/// The encoding a text needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// The GSM 7-bit default alphabet: 160 characters in one segment.
    Gsm7,
    /// UCS-2 (UTF-16 code units): 70 units in one segment.
    Ucs2,
}

impl Encoding {
    /// Units that fit one segment when the text is a single segment (160 or 70).
    pub fn single_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 160,
            Self::Ucs2 => 70,
        }
    }

    /// Units that fit each part of a multi-part text (153 or 67).
    pub fn part_capacity(self) -> usize {
        match self {
            Self::Gsm7 => 153,
            Self::Ucs2 => 67,
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Gsm7 => "GSM-7",
            Self::Ucs2 => "UCS-2",
        })
    }
}

/// The analysis of a text.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Analysis {
    /// The encoding needed.
    pub encoding: Encoding,
    /// How many segments (billable parts) it takes; 0 for an empty text.
    pub segments: usize,
    /// Units used: septets for GSM-7, UTF-16 code units for UCS-2.
    pub units: usize,
    /// Units per segment for this text: 160/70 for one segment, 153/67 for several.
    pub units_per_segment: usize,
    /// Units still free in the last segment before another one is needed.
    pub units_left: usize,
    /// The characters that forced UCS-2, each once, in order of appearance.
    pub non_gsm: Vec<char>,
}

/// Analyses `text`.
pub fn analyze(text: &str) -> Analysis {
    let mut non_gsm: Vec<char> = Vec::new();
    for c in text.chars() {
        if gsm_septets(c).is_none() && !non_gsm.contains(&c) {
            non_gsm.push(c);
        }
    }
    // GSM-7 has no combining or joining characters, so all-GSM text has exactly one
    // character per grapheme and needs no grapheme segmentation.
    let encoding = if non_gsm.is_empty() {
        Encoding::Gsm7
    } else {
        Encoding::Ucs2
    };
    // One walk: the total, and the fill of parts as if the text needed several.
    let (mut units, mut segments, mut fill) = (0, 1, 0);
    walk(text, encoding, |_, cost| {
        units += cost;
        if fill + cost > encoding.part_capacity() {
            segments += 1;
            fill = 0;
        }
        fill += cost;
    });
    let (segments, last_fill) = match units {
        0 => (0, 0),
        u if u <= encoding.single_capacity() => (1, u),
        _ => (segments, fill),
    };
    let units_per_segment = if segments > 1 {
        encoding.part_capacity()
    } else {
        encoding.single_capacity()
    };
    Analysis {
        encoding,
        segments,
        units,
        units_per_segment,
        units_left: units_per_segment - last_fill,
        non_gsm,
    }
}

/// The parts the text is sent as, in order; joined they give the text back.
///
/// ```
/// use switchboard::sms::segments::split;
///
/// let text = "a".repeat(161);
/// let parts = split(&text);
/// assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), vec![153, 8]);
/// ```
pub fn split(text: &str) -> Vec<&str> {
    let analysis = analyze(text);
    if analysis.segments <= 1 {
        return if text.is_empty() { Vec::new() } else { vec![text] };
    }
    let encoding = analysis.encoding;
    let mut parts = Vec::with_capacity(analysis.segments);
    let (mut start, mut offset, mut fill) = (0, 0, 0);
    walk(text, encoding, |len, cost| {
        if fill + cost > encoding.part_capacity() {
            parts.push(&text[start..offset]);
            start = offset;
            fill = 0;
        }
        fill += cost;
        offset += len;
    });
    parts.push(&text[start..]);
    parts
}

/// Walks the pieces that move between parts whole, calling `f(bytes, units)` for each:
/// characters in GSM-7, graphemes in UCS-2 (with `\r\n` as two, and a grapheme larger
/// than a part split between its characters, never inside a surrogate pair).
fn walk(text: &str, encoding: Encoding, mut f: impl FnMut(usize, usize)) {
    match encoding {
        Encoding::Gsm7 => {
            for c in text.chars() {
                f(c.len_utf8(), gsm_septets(c).unwrap_or(1));
            }
        }
        Encoding::Ucs2 => {
            for grapheme in text.graphemes(true) {
                let units: usize = grapheme.chars().map(char::len_utf16).sum();
                if grapheme == "\r\n" || units > Encoding::Ucs2.part_capacity() {
                    for c in grapheme.chars() {
                        f(c.len_utf8(), c.len_utf16());
                    }
                } else {
                    f(grapheme.len(), units);
                }
            }
        }
    }
}

/// Septets a character takes in GSM-7, or `None` if it has no GSM-7 encoding.
pub fn gsm_septets(c: char) -> Option<usize> {
    match c {
        // Extension table: escape + character.
        '^' | '{' | '}' | '\\' | '[' | '~' | ']' | '|' | '€' | '\u{0C}' => Some(2),
        ' '..='#' | '%'..='?' | 'A'..='Z' | 'a'..='z' => Some(1),
        '@' | '£' | '$' | '¥' | 'è' | 'é' | 'ù' | 'ì' | 'ò' | 'Ç' | '\n' | 'Ø' | 'ø' | '\r' | 'Å' | 'å'
        | 'Δ' | '_' | 'Φ' | 'Γ' | 'Λ' | 'Ω' | 'Π' | 'Ψ' | 'Σ' | 'Θ' | 'Ξ' | 'Æ' | 'æ' | 'ß' | 'É' | '¤'
        | '¡' | 'Ä' | 'Ö' | 'Ñ' | 'Ü' | '§' | '¿' | 'ä' | 'ö' | 'ñ' | 'ü' | 'à' => Some(1),
        _ => None,
    }
}

/// The result of [`smart_encode`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmartEncoded<'a> {
    /// The text with look-alikes replaced (borrowed when nothing changed).
    pub text: Cow<'a, str>,
    /// Each replaced character and what replaced it, once per character, in order.
    pub replaced: Vec<(char, &'static str)>,
    /// Segments before the replacement.
    pub segments_before: usize,
    /// Segments after it.
    pub segments_after: usize,
}

impl SmartEncoded<'_> {
    /// Segments saved (each one is a billed message).
    pub fn segments_saved(&self) -> usize {
        self.segments_before.saturating_sub(self.segments_after)
    }
}

/// Replaces typographic look-alikes (curly quotes, dashes, exotic spaces, ellipsis,
/// full-width forms) with their GSM-7 equivalents, like Twilio's Smart Encoding, and says
/// what it changed. Opt-in: the text changes.
///
/// All or nothing: the replacements are applied only when they make the whole text GSM-7
/// in no more segments. A text that needs UCS-2 anyway (an emoji, a script outside GSM-7),
/// or that the longer replacements (`…` → `...`) would make cost more, comes back unchanged:
/// it would only look different.
///
/// ```
/// use switchboard::sms::segments::smart_encode;
///
/// let s = smart_encode("„Danke“ – bis bald…");
/// assert_eq!(s.text, "\"Danke\" - bis bald...");
/// assert_eq!(s.replaced, vec![('„', "\""), ('“', "\""), ('–', "-"), ('…', "...")]);
/// ```
pub fn smart_encode(text: &str) -> SmartEncoded<'_> {
    let segments_before = analyze(text).segments;
    if !text.chars().any(|c| look_alike(c).is_some()) {
        return SmartEncoded {
            text: Cow::Borrowed(text),
            replaced: Vec::new(),
            segments_before,
            segments_after: segments_before,
        };
    }
    let mut out = String::with_capacity(text.len());
    let mut replaced: Vec<(char, &'static str)> = Vec::new();
    for c in text.chars() {
        match look_alike(c) {
            Some(replacement) => {
                out.push_str(replacement);
                if !replaced.iter().any(|(r, _)| *r == c) {
                    replaced.push((c, replacement));
                }
            }
            None => out.push(c),
        }
    }
    let after = analyze(&out);
    if after.encoding == Encoding::Ucs2 || after.segments > segments_before {
        return SmartEncoded {
            text: Cow::Borrowed(text),
            replaced: Vec::new(),
            segments_before,
            segments_after: segments_before,
        };
    }
    let segments_after = after.segments;
    SmartEncoded {
        text: Cow::Owned(out),
        replaced,
        segments_before,
        segments_after,
    }
}

/// The GSM-7 replacement of a look-alike character.
fn look_alike(c: char) -> Option<&'static str> {
    Some(match c {
        '«' | '»' | '“' | '”' | '„' | '‟' | '″' | '〝' | '〞' | '＂' => "\"",
        '‘' | '’' | '‚' | '‛' | 'ʻ' | 'ˈ' | 'ʼ' | '′' | '´' | '`' | '＇' => "'",
        '‐' | '‑' | '‒' | '–' | '—' | '―' | '⁃' | '−' | '﹣' | '－' => "-",
        '\u{00A0}' | '\u{2000}'..='\u{200A}' | '\u{202F}' | '\u{205F}' | '\u{3000}' => " ",
        // Not U+200D (zero-width joiner): it joins emoji sequences (👩‍👩‍👧‍👦, 🏳️‍🌈) and has
        // no entry in Twilio's table either.
        '\u{200B}' | '\u{200C}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => "",
        '…' => "...",
        '‹' => "<",
        '›' => ">",
        '•' | '·' => "-",
        '½' => "1/2",
        '¼' => "1/4",
        '¾' => "3/4",
        '÷' => "/",
        '\u{2028}' | '\u{2029}' => "\n",
        // Full-width ASCII (！ to ～) maps to ASCII, where that is GSM-7.
        '\u{FF01}'..='\u{FF5E}' => {
            let ascii = char::from_u32(c as u32 - 0xFF01 + 0x21)?;
            gsm_septets(ascii)?;
            return FULL_WIDTH.get(ascii as usize - 0x21).copied();
        }
        _ => return None,
    })
}

/// ASCII `!` to `~` as static strings, for full-width replacements.
const FULL_WIDTH: [&str; 94] = [
    "!", "\"", "#", "$", "%", "&", "'", "(", ")", "*", "+", ",", "-", ".", "/", "0", "1", "2", "3", "4", "5",
    "6", "7", "8", "9", ":", ";", "<", "=", ">", "?", "@", "A", "B", "C", "D", "E", "F", "G", "H", "I", "J",
    "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V", "W", "X", "Y", "Z", "[", "\\", "]", "^", "_",
    "`", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t",
    "u", "v", "w", "x", "y", "z", "{", "|", "}", "~",
];

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Units a part costs in `encoding`, counted independently of `walk`.
    fn units_in(part: &str, encoding: Encoding) -> usize {
        match encoding {
            Encoding::Gsm7 => part.chars().map(|c| gsm_septets(c).unwrap()).sum(),
            Encoding::Ucs2 => part.encode_utf16().count(),
        }
    }

    fn check(text: &str, encoding: Encoding, segments: usize, parts: &[usize]) {
        let a = analyze(text);
        assert_eq!((a.encoding, a.segments), (encoding, segments), "{text:?}");
        let fills: Vec<usize> = split(text).iter().map(|p| analyze(p).units).collect();
        // A part analysed alone may change encoding; count units in the text's encoding.
        let fills: Vec<usize> = if encoding == Encoding::Ucs2 {
            split(text).iter().map(|p| p.encode_utf16().count()).collect()
        } else {
            fills
        };
        assert_eq!(fills, parts, "{text:?}");
    }

    #[test]
    fn reference_vectors() {
        let a = "a";
        check("Hello World", Encoding::Gsm7, 1, &[11]);
        check(&a.repeat(160), Encoding::Gsm7, 1, &[160]);
        check(&a.repeat(161), Encoding::Gsm7, 2, &[153, 8]);
        check(&a.repeat(306), Encoding::Gsm7, 2, &[153, 153]);
        check(&a.repeat(307), Encoding::Gsm7, 3, &[153, 153, 1]);
        check(&"€".repeat(80), Encoding::Gsm7, 1, &[160]);
        check(&"€".repeat(81), Encoding::Gsm7, 2, &[152, 10]);
        check(
            &format!("{}€{}", a.repeat(152), a.repeat(10)),
            Encoding::Gsm7,
            2,
            &[152, 12],
        );
        check(&"[".repeat(81), Encoding::Gsm7, 2, &[152, 10]);
        check(&"ä".repeat(160), Encoding::Gsm7, 1, &[160]);
        check(&"ä".repeat(161), Encoding::Gsm7, 2, &[153, 8]);
        check(
            "Grüße aus München! Ihr Termin ist am 12.03. um 14:30 Uhr.",
            Encoding::Gsm7,
            1,
            &[57],
        );
        check("Antworte STOP zum Abmelden", Encoding::Gsm7, 1, &[26]);
        check("„Hallo“", Encoding::Ucs2, 1, &[7]);
        check("Français", Encoding::Ucs2, 1, &[8]);
        check("Danke 👍", Encoding::Ucs2, 1, &[8]);
        check(&"ú".repeat(70), Encoding::Ucs2, 1, &[70]);
        check(&"ú".repeat(71), Encoding::Ucs2, 2, &[67, 4]);
        check(&format!("😜{}", a.repeat(68)), Encoding::Ucs2, 1, &[70]);
        check(&format!("😜{}", a.repeat(69)), Encoding::Ucs2, 2, &[67, 4]);
        check(&format!("😜{}", a.repeat(133)), Encoding::Ucs2, 3, &[67, 67, 1]);
        check(
            &format!("{}😀{}", a.repeat(66), a.repeat(10)),
            Encoding::Ucs2,
            2,
            &[66, 12],
        );
        check(&format!("🇮🇹{}", a.repeat(66)), Encoding::Ucs2, 1, &[70]);
        check(&format!("🏳️‍🌈{}", a.repeat(64)), Encoding::Ucs2, 1, &[70]);
        check(&format!("😀{}", "]".repeat(68)), Encoding::Ucs2, 1, &[70]);
    }

    #[test]
    fn units_left_and_capacity() {
        let a = analyze(&"a".repeat(161));
        assert_eq!((a.units, a.units_per_segment, a.units_left), (161, 153, 145));
        let e = analyze("");
        assert_eq!((e.segments, e.units, e.units_left), (0, 0, 160));
        assert!(split("").is_empty());
        let one = analyze("Hi 👋");
        assert_eq!((one.units, one.units_per_segment, one.units_left), (5, 70, 65));
    }

    #[test]
    fn combining_accents_force_ucs2_and_huge_graphemes_still_split() {
        assert_eq!(analyze("e\u{301}").encoding, Encoding::Ucs2);
        let zalgo = format!("a{}", "\u{301}".repeat(200));
        let parts = split(&zalgo);
        assert_eq!(parts.concat(), zalgo);
        assert_eq!(parts.len(), analyze(&zalgo).segments);
        assert!(parts.iter().all(|p| p.encode_utf16().count() <= 67));
    }

    #[test]
    fn smart_encoding_saves_segments() {
        let text = format!("„{}“", "a".repeat(100));
        let s = smart_encode(&text);
        assert_eq!(
            (s.segments_before, s.segments_after, s.segments_saved()),
            (2, 1, 1)
        );
        assert!(matches!(smart_encode("plain").text, Cow::Borrowed(_)));
        assert_eq!(smart_encode("ＡＢＣ\u{00A0}½").text, "ABC 1/2");
    }

    #[test]
    fn smart_encoding_keeps_joined_emoji_and_text_that_stays_ucs2() {
        for text in [
            "„Familie“ 👩\u{200D}👩\u{200D}👧\u{200D}👦 – bis bald…",
            "Pride 🏳\u{FE0F}\u{200D}🌈\u{00A0}!",
            "„Привет“ – до встречи",
            "a\u{200D}b",
            "…".repeat(67).as_str(),
        ] {
            let s = smart_encode(text);
            assert_eq!(s.text, text);
            assert!(matches!(s.text, Cow::Borrowed(_)), "{text:?}");
            assert!(s.replaced.is_empty(), "{text:?}");
            assert_eq!(s.segments_after, s.segments_before);
        }
        // Once the text becomes GSM-7, every look-alike is replaced.
        assert_eq!(smart_encode("„Hallo“\u{200B} – ok").text, "\"Hallo\" - ok");
    }

    proptest! {
        #[test]
        fn smart_encoding_gives_gsm7_or_the_text_unchanged(text in "[a-z „“–…\u{00A0}\u{200B}\u{200D}😀ú]{0,200}") {
            let s = smart_encode(&text);
            if s.text != text {
                prop_assert_eq!(analyze(&s.text).encoding, Encoding::Gsm7);
                prop_assert!(s.segments_after <= s.segments_before);
            }
            prop_assert_eq!(s.text.contains('\u{200D}'), text.contains('\u{200D}'));
        }

        #[test]
        fn parts_rejoin_fit_and_match_the_count(text in "\\PC{0,400}|[a-z€\\[\\]😀ä ]{0,400}") {
            let a = analyze(&text);
            let parts = split(&text);
            prop_assert_eq!(parts.concat(), text.clone());
            prop_assert_eq!(parts.len(), a.segments);
            let capacity = if a.segments > 1 { a.encoding.part_capacity() } else { a.encoding.single_capacity() };
            let mut total = 0;
            for part in &parts {
                let units = units_in(part, a.encoding);
                prop_assert!(units <= capacity, "part of {} units over {}", units, capacity);
                total += units;
            }
            prop_assert_eq!(total, a.units);
            prop_assert_eq!(a.units_per_segment - a.units_left, parts.last().map_or(0, |p| units_in(p, a.encoding)));
        }

        #[test]
        fn smart_encoding_never_adds_segments_on_gsm_look_alikes(text in "[a-z „“–…\u{00A0}]{0,300}") {
            let s = smart_encode(&text);
            prop_assert!(s.segments_after <= s.segments_before);
            prop_assert_eq!(analyze(&s.text).encoding, Encoding::Gsm7);
        }
    }
}
