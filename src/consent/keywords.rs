//! Opt-out, opt-in and help keywords in inbound messages.
//!
//! A text is normalised (compatibility forms folded with NFKC, so fullwidth `ＳＴＯＰ` is
//! `stop`; lower-cased with Unicode rules; surrounding punctuation and emoji stripped; inner
//! whitespace collapsed) and matched against whole messages, as Twilio does: "STOP" and
//! "stop!" opt out, "please stop" does not. With topics configured, "STOP NEWS" opts out of
//! the topic "news" only; an opt-out followed by a word that is no topic ("STOP WEATHER",
//! "STOP PLEASE") opts out of everything, never of nothing.
//!
//! ```
//! use switchboard::consent::keywords::{Intent, Keywords};
//!
//! let keywords = Keywords::default().topics(["news", "offers"]);
//! let m = keywords.classify("  Stopp! 🙏").unwrap();
//! assert_eq!((m.intent, m.language.as_ref(), m.topic), (Intent::OptOut, "de", None));
//!
//! let m = keywords.classify("STOP NEWS").unwrap();
//! assert_eq!((m.intent, m.topic.as_deref()), (Intent::OptOut, Some("news")));
//!
//! assert!(keywords.classify("please stop calling me").is_none());
//! ```

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// What a keyword asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Intent {
    /// Stop messaging me (STOP, UNSUBSCRIBE, ABMELDEN…).
    OptOut,
    /// Message me again (START, UNSTOP, ANMELDEN…).
    OptIn,
    /// How do I control these messages (HELP, INFO, HILFE)?
    Help,
}

/// A recognised keyword.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeywordMatch {
    /// What it asks for.
    pub intent: Intent,
    /// The keyword as normalised (`stop all`).
    pub keyword: String,
    /// The topic it is limited to ("STOP NEWS"), or `None` for everything.
    pub topic: Option<String>,
    /// The language of the list it matched (`en`, `de`, or a custom code), to answer in.
    pub language: Cow<'static, str>,
}

/// The keywords of one language.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeywordList {
    /// A language code (`en`, `de`).
    pub language: Cow<'static, str>,
    /// Opt-out keywords.
    pub opt_out: Vec<String>,
    /// Opt-in keywords.
    pub opt_in: Vec<String>,
    /// Help keywords.
    pub help: Vec<String>,
}

impl KeywordList {
    /// A list for `language` with these words (normalised on the way in).
    pub fn new<'a>(
        language: impl Into<Cow<'static, str>>,
        opt_out: impl IntoIterator<Item = &'a str>,
        opt_in: impl IntoIterator<Item = &'a str>,
        help: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let words = |w: &'a str| normalize(w).into_owned();
        Self {
            language: language.into(),
            opt_out: opt_out.into_iter().map(words).collect(),
            opt_in: opt_in.into_iter().map(words).collect(),
            help: help.into_iter().map(words).collect(),
        }
    }

    /// Twilio's English defaults: STOP, STOPALL, STOP ALL, UNSUBSCRIBE, CANCEL, END, QUIT,
    /// REVOKE, OPTOUT (and OPT OUT, OPT-OUT); START, YES, UNSTOP; HELP, INFO.
    pub fn english() -> Self {
        Self::new(
            "en",
            [
                "stop",
                "stopall",
                "stop all",
                "unsubscribe",
                "cancel",
                "end",
                "quit",
                "revoke",
                "optout",
                "opt out",
                "opt-out",
            ],
            ["start", "yes", "unstop"],
            ["help", "info"],
        )
    }

    /// German defaults: STOPP, STOP, ABMELDEN, ABBESTELLEN, AUSTRAGEN, KÜNDIGEN; START,
    /// ANMELDEN; HILFE, INFO. "JA" is not an opt-in here: it answers too many questions.
    pub fn german() -> Self {
        Self::new(
            "de",
            [
                "stopp",
                "stop",
                "abmelden",
                "abbestellen",
                "austragen",
                "kündigen",
            ],
            ["start", "anmelden"],
            ["hilfe", "info"],
        )
    }

    fn intent_of(&self, word: &str) -> Option<Intent> {
        let has = |list: &[String]| list.iter().any(|w| w == word);
        if has(&self.opt_out) {
            Some(Intent::OptOut)
        } else if has(&self.opt_in) {
            Some(Intent::OptIn)
        } else if has(&self.help) {
            Some(Intent::Help)
        } else {
            None
        }
    }
}

/// Keyword lists in one or more languages, and optional topics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keywords {
    lists: Vec<KeywordList>,
    topics: Vec<String>,
}

impl Default for Keywords {
    /// English, then German.
    fn default() -> Self {
        Self {
            lists: vec![KeywordList::english(), KeywordList::german()],
            topics: Vec::new(),
        }
    }
}

impl Keywords {
    /// No lists yet; add them with [`list`](Self::list).
    pub fn empty() -> Self {
        Self {
            lists: Vec::new(),
            topics: Vec::new(),
        }
    }

    /// Adds a language's list. Lists are tried in the order added.
    #[must_use]
    pub fn list(mut self, list: KeywordList) -> Self {
        self.lists.push(list);
        self
    }

    /// Topics a keyword may be followed by ("STOP NEWS"). Without topics, only whole
    /// keywords match.
    #[must_use]
    pub fn topics<'a>(mut self, topics: impl IntoIterator<Item = &'a str>) -> Self {
        self.topics = topics.into_iter().map(|t| normalize(t).into_owned()).collect();
        self
    }

    /// Classifies an inbound text: `None` if it is not a keyword message.
    pub fn classify(&self, text: &str) -> Option<KeywordMatch> {
        let normalized = normalize(text);
        if normalized.is_empty() || normalized.len() > 64 {
            return None;
        }
        let found = |word: &str| {
            self.lists
                .iter()
                .find_map(|list| list.intent_of(word).map(|intent| (intent, list.language.clone())))
        };
        if let Some((intent, language)) = found(&normalized) {
            return Some(KeywordMatch {
                intent,
                keyword: normalized.into_owned(),
                topic: None,
                language,
            });
        }
        // "STOP NEWS": a keyword, then one configured topic. An opt-out followed by a word
        // that is no topic ("STOP WEATHER", "STOP PLEASE") still says stop: of everything,
        // since the person cannot be held to a topic list they do not know.
        let (word, topic) = normalized.rsplit_once(' ')?;
        if word.contains(' ') {
            return None;
        }
        let (intent, language) = found(word).filter(|(intent, _)| *intent != Intent::Help)?;
        let known = self.topics.iter().any(|t| t == topic);
        if !known && intent != Intent::OptOut {
            return None;
        }
        Some(KeywordMatch {
            intent,
            keyword: word.to_owned(),
            topic: known.then(|| topic.to_owned()),
            language,
        })
    }
}

/// Normalises a text for keyword matching: trimmed, lower-cased, surrounding punctuation,
/// symbols and emoji removed, inner whitespace collapsed to single spaces.
///
/// ```
/// use switchboard::consent::keywords::normalize;
///
/// assert_eq!(normalize("  ¡STOP  ALL!! 👋 "), "stop all");
/// ```
pub fn normalize(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim_matches(|c: char| !c.is_alphanumeric());
    let simple = trimmed
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !trimmed.contains("  ");
    if simple {
        return Cow::Borrowed(trimmed);
    }
    // Compatibility forms first (fullwidth `ＳＴＯＰ`, a decomposed `KÜNDIGEN`), so that
    // what looks like a keyword is one. Lower-case, then compose again: lower-casing can
    // decompose (`İ` becomes `i` + U+0307 COMBINING DOT ABOVE). Trim only after, so the
    // result is a fixed point and normalising twice changes nothing.
    let lowered: String = trimmed.nfkc().flat_map(char::to_lowercase).nfkc().collect();
    let lowered = lowered.trim_matches(|c: char| !c.is_alphanumeric());
    let mut out = String::with_capacity(lowered.len());
    for word in lowered.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn twilio_lists_and_german_defaults() {
        let k = Keywords::default();
        for word in [
            "STOP",
            "stopall",
            "Stop All",
            "UNSUBSCRIBE",
            "cancel",
            "END",
            "quit",
            "REVOKE",
            "OPTOUT",
            "opt-out",
        ] {
            assert_eq!(k.classify(word).map(|m| m.intent), Some(Intent::OptOut), "{word}");
        }
        for word in ["START", "yes", "UNSTOP", "Anmelden"] {
            assert_eq!(k.classify(word).map(|m| m.intent), Some(Intent::OptIn), "{word}");
        }
        for word in ["HELP", "info", "Hilfe"] {
            assert_eq!(k.classify(word).map(|m| m.intent), Some(Intent::Help), "{word}");
        }
        for word in ["STOPP", "ABMELDEN", "abbestellen", "KÜNDIGEN"] {
            let m = k.classify(word).unwrap();
            assert_eq!((m.intent, m.language.as_ref()), (Intent::OptOut, "de"), "{word}");
        }
        assert_eq!(k.classify("STOP").unwrap().language, "en");
    }

    #[test]
    fn only_whole_messages_match() {
        let k = Keywords::default();
        for text in [
            "please cancel",
            "I want to end this",
            "stopped",
            "",
            "🙂",
            "yes I would like that",
        ] {
            assert_eq!(k.classify(text), None, "{text}");
        }
        for text in ["stop.", "  STOP!!!  ", "\"Stop\"", "🛑 STOP 🛑", "(stop)"] {
            assert_eq!(k.classify(text).map(|m| m.intent), Some(Intent::OptOut), "{text}");
        }
    }

    #[test]
    fn topics_narrow_an_opt_out() {
        let k = Keywords::default().topics(["news", "Angebote"]);
        let m = k.classify("STOP NEWS").unwrap();
        assert_eq!(
            (m.intent, m.keyword.as_str(), m.topic.as_deref()),
            (Intent::OptOut, "stop", Some("news"))
        );
        let m = k.classify("Start Angebote").unwrap();
        assert_eq!((m.intent, m.topic.as_deref()), (Intent::OptIn, Some("angebote")));
        // An unknown topic after an opt-out means everything; after an opt-in, nothing.
        for (keywords, text) in [
            (&k, "STOP WEATHER"),
            (&Keywords::default(), "STOP NEWS"),
            (&k, "STOP PLEASE"),
        ] {
            let m = keywords.classify(text).unwrap();
            assert_eq!((m.intent, m.topic), (Intent::OptOut, None), "{text}");
        }
        assert_eq!(k.classify("START WEATHER"), None);
        assert_eq!(k.classify("HELP NEWS"), None, "help takes no topic");
        assert_eq!(
            k.classify("stop sending me this"),
            None,
            "a sentence is the app's"
        );
    }

    /// Compatibility forms, decomposed letters and the revocation words US rules name.
    #[test]
    fn lookalike_forms_and_revocation_words_are_recognised() {
        let k = Keywords::default();
        for text in [
            "ＳＴＯＰ",
            "KU\u{308}NDIGEN",
            "Kündigen",
            "REVOKE",
            "opt out",
            "Opt-Out",
            "OPTOUT",
            "ＡＢＭＥＬＤＥＮ",
        ] {
            assert_eq!(
                k.classify(text).map(|m| m.intent),
                Some(Intent::OptOut),
                "{text:?}"
            );
        }
    }

    #[test]
    fn custom_lists() {
        let k = Keywords::empty().list(KeywordList::new(
            "fr",
            ["arrêt", "arret"],
            ["commencer"],
            ["aide"],
        ));
        let m = k.classify("ARRÊT").unwrap();
        assert_eq!((m.intent, m.language.as_ref()), (Intent::OptOut, "fr"));
        assert_eq!(k.classify("STOP"), None);
    }

    #[test]
    fn normalizing_twice_changes_nothing_for_special_casings() {
        // `İ` lower-cases to `i` + U+0307, which the trim would remove on a second pass.
        assert_eq!(normalize("İ"), "i");
        assert_eq!(normalize(&normalize("İ")), "i");
        assert_eq!(normalize("İSTANBUL"), "i\u{307}stanbul");
        assert_eq!(normalize(&normalize("İSTANBUL")), "i\u{307}stanbul");
        // Every character that lower-casing changes, alone and between letters.
        let changed = (0..=0x10FFFF)
            .filter_map(char::from_u32)
            .filter(|&c| c.to_lowercase().ne([c]));
        for c in changed {
            for text in [c.to_string(), format!("a{c}b")] {
                let once = normalize(&text).into_owned();
                assert_eq!(normalize(&once), once, "U+{:04X}", u32::from(c));
            }
        }
    }

    proptest! {
        #[test]
        fn normalizing_special_casings_is_idempotent(text in "[İIıiΣσςẞßﬁǅ\u{307}\u{301} !.a-zA-Z]{0,40}") {
            let once = normalize(&text).into_owned();
            prop_assert_eq!(normalize(&once).into_owned(), once);
        }

        #[test]
        fn normalizing_is_idempotent_and_never_panics(text in "\\PC{0,80}") {
            let once = normalize(&text).into_owned();
            prop_assert_eq!(normalize(&once).into_owned(), once.clone());
            let _ = Keywords::default().topics(["news"]).classify(&text);
        }

        #[test]
        fn decoration_does_not_hide_a_stop(prefix in "[ !?.,*🛑\"()]{0,5}", suffix in "[ !?.,*🙏\"()]{0,5}") {
            let text = format!("{prefix}STOP{suffix}");
            prop_assert_eq!(Keywords::default().classify(&text).map(|m| m.intent), Some(Intent::OptOut));
        }
    }
}
