//! Vonage's `sig` webhook signature.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

/// How Vonage signs webhooks (`sig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureMethod {
    /// `md5hash`: MD5 of the parameters followed by the secret (the dashboard default).
    Md5Hash,
    /// HMAC-MD5.
    Md5Hmac,
    /// HMAC-SHA1.
    Sha1Hmac,
    /// HMAC-SHA256.
    Sha256Hmac,
    /// HMAC-SHA512.
    Sha512Hmac,
}

/// The `sig` for these parameters: the string `&key=value…` over the sorted parameters
/// (without `sig`; `&` and `=` in values replaced by `_`), hashed as `method` says,
/// lower-case hex.
///
/// ```
/// use switchboard::sms::vonage::{sign, SignatureMethod};
///
/// let params = [("message-timestamp", "2013-11-21 15:27:30"), ("messageId", "020000001B0FE827"),
///     ("msisdn", "14843472194"), ("text", "Test again"), ("timestamp", "1385047698"),
///     ("to", "13239877404"), ("type", "text")];
/// assert_eq!(sign(&params, "my_secret_key_for_testing", SignatureMethod::Md5Hash),
///     "d2e7b1dc968737c5998ad624e02f90b7");
/// ```
pub fn sign<K: AsRef<str>, V: AsRef<str>>(
    params: &[(K, V)],
    secret: &str,
    method: SignatureMethod,
) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_ref(), v.as_ref()))
        .filter(|(k, _)| *k != "sig")
        .collect();
    sorted.sort_unstable();
    let mut signed = String::new();
    for (key, value) in sorted {
        signed.push('&');
        signed.push_str(key);
        signed.push('=');
        signed.extend(value.chars().map(|c| if c == '&' || c == '=' { '_' } else { c }));
    }
    fn hmac<M: Mac + KeyInit>(secret: &str, data: &str) -> String {
        let mut mac =
            <M as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(data.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
    match method {
        SignatureMethod::Md5Hash => hex::encode(Md5::digest(format!("{signed}{secret}"))),
        SignatureMethod::Md5Hmac => hmac::<Hmac<Md5>>(secret, &signed),
        SignatureMethod::Sha1Hmac => hmac::<Hmac<Sha1>>(secret, &signed),
        SignatureMethod::Sha256Hmac => hmac::<Hmac<Sha256>>(secret, &signed),
        SignatureMethod::Sha512Hmac => hmac::<Hmac<Sha512>>(secret, &signed),
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub(crate) const PARAMS: [(&str, &str); 7] = [
        ("message-timestamp", "2013-11-21 15:27:30"),
        ("messageId", "020000001B0FE827"),
        ("msisdn", "14843472194"),
        ("text", "Test again"),
        ("timestamp", "1385047698"),
        ("to", "13239877404"),
        ("type", "text"),
    ];
    pub(crate) const SECRET: &str = "my_secret_key_for_testing";

    #[test]
    fn official_signature_vectors() {
        use SignatureMethod::*;
        assert_eq!(sign(&PARAMS, SECRET, Md5Hash), "d2e7b1dc968737c5998ad624e02f90b7");
        assert_eq!(sign(&PARAMS, SECRET, Md5Hmac), "ddebd46008c2d4e93cce578a332a52d5");
        assert_eq!(
            sign(&PARAMS, SECRET, Sha1Hmac),
            "27d0d05c2876c7cb1720dbcdba4d492e1e55c09a"
        );
        assert_eq!(
            sign(&PARAMS, SECRET, Sha256Hmac),
            "ddb8397c2b90aac7f3882d306475c9a5058c92322eef43c92b298b6e0fc0d330"
        );
        assert_eq!(
            sign(&PARAMS, SECRET, Sha512Hmac),
            "e0d3c650f8c9d1a5c174d10dddbfb003e561f59b265616208b0487c5d819481cd3c311d59cf6165ecd1139622d5ba3a256c0d763ac4a9ad9144b5a426b94fe82"
        );
        let python = [
            ("param1", "value1"),
            ("param2", "value2"),
            ("timestamp", "1234567890"),
        ];
        assert_eq!(
            sign(&python, "signature_secret", Sha256Hmac),
            "280c4320703dbc98bfa22db676655ed2acfbfe8792b062ff7622e67f1183c287"
        );
        assert_eq!(
            sign(&python, "signature_secret", Md5Hmac),
            "724c2bf6ca423c36e20631b11d1c5753"
        );
        let escaped = [
            ("param1", "value&1"),
            ("param2", "value=2"),
            ("timestamp", "1234567890"),
        ];
        assert_eq!(
            sign(&escaped, "signature_secret", Md5Hmac),
            "2bbf0abafb2c55e5af6231513896a2ac"
        );
        let with_sig = [
            ("param", "value"),
            ("timestamp", "1234567890"),
            ("sig", "655a4d0b7f064dff438defc52b012cf5"),
        ];
        assert_eq!(
            sign(&with_sig, "signature_secret", Md5Hmac),
            "655a4d0b7f064dff438defc52b012cf5"
        );
    }
}
