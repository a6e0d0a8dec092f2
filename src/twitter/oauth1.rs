//! OAuth 1.0a user context (HMAC-SHA1), exactly as X documents it: the query and
//! form parameters are signed, a JSON body is not (RFC 5849 §3.4.1.3.1).
//!
//! [`Credentials::sign`] is sans-IO and takes the nonce and timestamp, so the official
//! "Creating a signature" example is a unit test; [`Credentials::authorization`] picks a
//! fresh nonce and the current time.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use url::Url;

/// An app's consumer key and secret with a user's access token and secret. `Debug` shows
/// none of them.
#[derive(Clone)]
pub struct Credentials {
    consumer_key: String,
    consumer_secret: String,
    token: String,
    token_secret: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials([redacted])")
    }
}

impl Credentials {
    /// The app's consumer key and secret ("API key and secret") and the user's access
    /// token and secret; the app needs the "Read, write, and Direct Messages" permission.
    pub fn new(
        consumer_key: impl Into<String>,
        consumer_secret: impl Into<String>,
        token: impl Into<String>,
        token_secret: impl Into<String>,
    ) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            consumer_secret: consumer_secret.into(),
            token: token.into(),
            token_secret: token_secret.into(),
        }
    }

    /// The consumer secret, which also signs webhooks.
    pub(crate) fn consumer_secret(&self) -> &str {
        &self.consumer_secret
    }

    /// The `Authorization` header for a request, with a fresh nonce and the current time.
    /// `form` holds the decoded parameters of a form-encoded body (empty for JSON).
    pub fn authorization(&self, method: &http::Method, url: &Url, form: &[(&str, &str)]) -> String {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let nonce: String = std::iter::repeat_with(fastrand::alphanumeric).take(32).collect();
        self.sign(method, url, form, &nonce, timestamp).header
    }

    /// Signs a request with this nonce and timestamp (sans-IO, for tests and replays).
    pub fn sign(
        &self,
        method: &http::Method,
        url: &Url,
        form: &[(&str, &str)],
        nonce: &str,
        timestamp: u64,
    ) -> Signed {
        let timestamp = timestamp.to_string();
        let oauth = [
            ("oauth_consumer_key", self.consumer_key.as_str()),
            ("oauth_nonce", nonce),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", timestamp.as_str()),
            ("oauth_token", self.token.as_str()),
            ("oauth_version", "1.0"),
        ];
        let query: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut params: Vec<(String, String)> = query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(form.iter().copied())
            .chain(oauth.iter().copied())
            .map(|(k, v)| (percent_encode(k), percent_encode(v)))
            .collect();
        params.sort();
        let parameter_string = params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("&");
        let base_string = format!(
            "{}&{}&{}",
            method.as_str().to_ascii_uppercase(),
            percent_encode(&base_url(url)),
            percent_encode(&parameter_string)
        );
        let key = format!(
            "{}&{}",
            percent_encode(&self.consumer_secret),
            percent_encode(&self.token_secret)
        );
        let mut mac = Hmac::<Sha1>::new_from_slice(key.as_bytes()).expect("HMAC accepts keys of any length");
        mac.update(base_string.as_bytes());
        let signature = BASE64.encode(mac.finalize().into_bytes());
        let mut fields: Vec<(&str, &str)> = oauth.to_vec();
        fields.push(("oauth_signature", signature.as_str()));
        fields.sort();
        let header = format!(
            "OAuth {}",
            fields
                .iter()
                .map(|(k, v)| format!("{}=\"{}\"", percent_encode(k), percent_encode(v)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        Signed {
            base_string,
            signature,
            header,
        }
    }
}

/// A signed request: what was signed and the resulting header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Signed {
    /// The signature base string (method, base URL and parameters).
    pub base_string: String,
    /// The base64 HMAC-SHA1 signature.
    pub signature: String,
    /// The `Authorization` header value (`OAuth oauth_consumer_key="…", …`).
    pub header: String,
}

/// Scheme, host, non-default port and path: the URL as signed, without query or fragment.
fn base_url(url: &Url) -> String {
    let mut base = format!("{}://{}", url.scheme(), url.host_str().unwrap_or_default());
    if let Some(port) = url.port() {
        base.push_str(&format!(":{port}"));
    }
    base.push_str(url.path());
    base
}

/// RFC 3986 percent-encoding as OAuth 1.0a requires: the unreserved characters
/// `A-Z a-z 0-9 - . _ ~` stay, every other byte of the UTF-8 encoding becomes `%XX`
/// (upper-case hex; a space is `%20`, never `+`).
pub fn percent_encode(input: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(input.len());
    for &byte in input.as_bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 0xF)] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs_credentials() -> Credentials {
        Credentials::new(
            "xvz1evFS4wEEPTGEFPHBog",
            "kAcSOqF21Fu85e7zjz7ZN2U4ZRhfV3WpwPAoE3Z7kBw",
            "370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb",
            "LswwdoUaIvS8ltyTt5jkRh4J50vUPVVHtR2YPi5kE",
        )
    }

    const NONCE: &str = "kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg";
    const STATUS: &str = "Hello Ladies + Gentlemen, a signed OAuth request!";

    #[test]
    fn percent_encoding_matches_the_docs() {
        assert_eq!(percent_encode("Ladies + Gentlemen"), "Ladies%20%2B%20Gentlemen");
        assert_eq!(percent_encode("An encoded string!"), "An%20encoded%20string%21");
        assert_eq!(percent_encode("Dogs, Cats & Mice"), "Dogs%2C%20Cats%20%26%20Mice");
        assert_eq!(percent_encode("☃"), "%E2%98%83");
    }

    #[test]
    fn creating_a_signature_example() {
        let signed = docs_credentials().sign(
            &http::Method::POST,
            &Url::parse("https://api.x.com/1.1/statuses/update.json?include_entities=true").unwrap(),
            &[("status", STATUS)],
            NONCE,
            1_318_622_958,
        );
        assert_eq!(
            signed.base_string,
            "POST&https%3A%2F%2Fapi.x.com%2F1.1%2Fstatuses%2Fupdate.json&include_entities%3Dtrue%26oauth_consumer_key%3Dxvz1evFS4wEEPTGEFPHBog%26oauth_nonce%3DkYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1318622958%26oauth_token%3D370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb%26oauth_version%3D1.0%26status%3DHello%2520Ladies%2520%252B%2520Gentlemen%252C%2520a%2520signed%2520OAuth%2520request%2521"
        );
        assert_eq!(signed.signature, "Ls93hJiZbQ3akF3HF3x1Bz8/zU4=");
        assert_eq!(
            signed.header,
            r#"OAuth oauth_consumer_key="xvz1evFS4wEEPTGEFPHBog", oauth_nonce="kYjzVBB8Y0ZFabxSWbWovY3uYSQ2pTgmZeNu2VS4cg", oauth_signature="Ls93hJiZbQ3akF3HF3x1Bz8%2FzU4%3D", oauth_signature_method="HMAC-SHA1", oauth_timestamp="1318622958", oauth_token="370773112-GmHxMAgYyLbNEtIKZeRNFsMKPR9EyMZeS9weJAEb", oauth_version="1.0""#
        );
        // The classic api.twitter.com page's value for the same request.
        let classic = docs_credentials().sign(
            &http::Method::POST,
            &Url::parse("https://api.twitter.com/1.1/statuses/update.json?include_entities=true").unwrap(),
            &[("status", STATUS)],
            NONCE,
            1_318_622_958,
        );
        assert_eq!(classic.signature, "hCtSmYh+iHYCEqBWrE7C7hYmtUk=");
    }

    #[test]
    fn json_bodies_are_not_signed_and_query_commas_are() {
        let c = docs_credentials();
        let dm = c.sign(
            &http::Method::POST,
            &Url::parse("https://api.x.com/2/dm_conversations/with/9876543210/messages").unwrap(),
            &[],
            NONCE,
            1_318_622_958,
        );
        assert_eq!(dm.signature, "k9oKAc/6+m9zK24BJvwiQZWMMDc=");
        let list = c.sign(
            &http::Method::GET,
            &Url::parse("https://api.x.com/2/dm_events?dm_event.fields=created_at,sender_id&max_results=50")
                .unwrap(),
            &[],
            NONCE,
            1_318_622_958,
        );
        assert!(
            list.base_string
                .contains("dm_event.fields%3Dcreated_at%252Csender_id")
        );
        assert_eq!(list.signature, "tmMZ/OuJ3nSYkPFCevAwhDz0XFo=");
    }

    #[test]
    fn nonces_are_fresh_and_debug_is_redacted() {
        let c = docs_credentials();
        let url = Url::parse("https://api.x.com/2/dm_events").unwrap();
        assert_ne!(
            c.authorization(&http::Method::GET, &url, &[]),
            c.authorization(&http::Method::GET, &url, &[])
        );
        assert_eq!(format!("{c:?}"), "Credentials([redacted])");
    }
}
