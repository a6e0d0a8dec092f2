//! Deserializers for values providers send sometimes as strings, sometimes as numbers
//! (timestamps, sizes, ids). A value of another type becomes `None` instead of failing the
//! whole object.

use std::fmt;

use serde::Deserializer;

/// A small non-negative number sent as a string or a number (Twilio's `num_segments`).
#[cfg(feature = "sms")]
pub(crate) fn opt_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    opt_i64(deserializer).map(|v| v.and_then(|n| u32::try_from(n).ok()))
}

/// A non-negative number sent as a string or a number.
#[cfg(feature = "whatsapp")]
pub(crate) fn opt_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    opt_i64(deserializer).map(|v| v.and_then(|n| u64::try_from(n).ok()))
}

/// A number Meta sends sometimes as a string, sometimes as a number. A value that is
/// neither becomes `None` rather than failing the message.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    deserializer.deserialize_any(Loose).map(|v| match v {
        LooseValue::Int(n) => Some(n),
        LooseValue::Text(s) => s.trim().parse().ok(),
        LooseValue::Other => None,
    })
}

/// An id sent sometimes as a number, sometimes as a string.
#[cfg(any(feature = "whatsapp", feature = "twitter"))]
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    deserializer.deserialize_any(Loose).map(|v| match v {
        LooseValue::Int(n) => Some(n.to_string()),
        LooseValue::Text(s) => Some(s),
        LooseValue::Other => None,
    })
}

/// Accepts a string or an integer without trying one and failing over to the other (an
/// untagged enum would build and discard an error for every string timestamp).
struct Loose;

enum LooseValue {
    Int(i64),
    Text(String),
    Other,
}

impl<'de> serde::de::Visitor<'de> for Loose {
    type Value = LooseValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an integer")
    }
    fn visit_i64<E>(self, v: i64) -> Result<LooseValue, E> {
        Ok(LooseValue::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<LooseValue, E> {
        Ok(i64::try_from(v).map_or(LooseValue::Other, LooseValue::Int))
    }
    fn visit_f64<E>(self, _: f64) -> Result<LooseValue, E> {
        Ok(LooseValue::Other)
    }
    fn visit_str<E>(self, v: &str) -> Result<LooseValue, E> {
        Ok(LooseValue::Text(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<LooseValue, E> {
        Ok(LooseValue::Text(v))
    }
    fn visit_bool<E>(self, _: bool) -> Result<LooseValue, E> {
        Ok(LooseValue::Other)
    }
    fn visit_unit<E>(self) -> Result<LooseValue, E> {
        Ok(LooseValue::Other)
    }
    fn visit_none<E>(self) -> Result<LooseValue, E> {
        Ok(LooseValue::Other)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<LooseValue, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(LooseValue::Other)
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<LooseValue, A::Error> {
        while map
            .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
            .is_some()
        {}
        Ok(LooseValue::Other)
    }
}
