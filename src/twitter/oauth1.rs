//! OAuth 1.0a (HMAC-SHA1), exactly as X documents it: the query and form parameters are
//! signed, a JSON body is not (RFC 5849 §3.4.1.3.1). User context signs with an access
//! token; [`Credentials::consumer`] signs without one (app requests and the request-token
//! step, with [`Protocol::Callback`]): no `oauth_token`, signing key `consumer_secret&`.
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

/// An app's consumer key and secret, with a user's access token and secret or without a
/// token. `Debug` shows none of them.
#[derive(Clone)]
pub struct Credentials {
    consumer_key: String,
    consumer_secret: String,
    /// `None` for requests without a token: the signing key's token part is then empty.
    token: Option<String>,
    token_secret: String,
    /// Whether `oauth_version="1.0"` is sent; RFC 5849 makes it optional, X sends it.
    version: bool,
}

/// A protocol parameter of the token steps, signed and sent in the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Protocol<'a> {
    /// `oauth_callback`: where the user returns, or `oob` (request-token step).
    Callback(&'a str),
    /// `oauth_verifier`: the code the callback carried (access-token step).
    Verifier(&'a str),
}

impl Protocol<'_> {
    fn pair(&self) -> (&'static str, &str) {
        match *self {
            Self::Callback(url) => ("oauth_callback", url),
            Self::Verifier(code) => ("oauth_verifier", code),
        }
    }
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
            token: Some(token.into()),
            token_secret: token_secret.into(),
            version: true,
        }
    }

    /// The app's consumer key and secret alone, for requests without an access token: the
    /// request-token step (`POST /oauth/request_token` with [`Protocol::Callback`]) and
    /// app-level calls. No `oauth_token` is sent and the signing key is `consumer_secret&`.
    /// DMs need a user's token: [`Client`](super::Client) refuses these credentials.
    pub fn consumer(consumer_key: impl Into<String>, consumer_secret: impl Into<String>) -> Self {
        Self {
            consumer_key: consumer_key.into(),
            consumer_secret: consumer_secret.into(),
            token: None,
            token_secret: String::new(),
            version: true,
        }
    }

    /// Leaves out `oauth_version`, which RFC 5849 makes optional, for servers that sign
    /// without it (X sends it, the default).
    #[must_use]
    pub fn without_version(mut self) -> Self {
        self.version = false;
        self
    }

    /// Whether these credentials carry an access token (user context).
    pub(crate) fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The consumer secret, which also signs webhooks.
    pub(crate) fn consumer_secret(&self) -> &str {
        &self.consumer_secret
    }

    /// The `Authorization` header for a request, with a fresh nonce and the current time.
    /// `form` holds the decoded parameters of a form-encoded body (empty for JSON).
    pub fn authorization(&self, method: &http::Method, url: &Url, form: &[(&str, &str)]) -> String {
        self.authorization_with(method, url, form, &[])
    }

    /// [`authorization`](Self::authorization) with protocol parameters of the token steps
    /// (`oauth_callback`, `oauth_verifier`).
    pub fn authorization_with(
        &self,
        method: &http::Method,
        url: &Url,
        form: &[(&str, &str)],
        protocol: &[Protocol<'_>],
    ) -> String {
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let nonce: String = std::iter::repeat_with(fastrand::alphanumeric).take(32).collect();
        self.sign_with(method, url, form, protocol, &nonce, timestamp)
            .header
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
        self.sign_with(method, url, form, &[], nonce, timestamp)
    }

    /// [`sign`](Self::sign) with protocol parameters of the token steps.
    pub fn sign_with(
        &self,
        method: &http::Method,
        url: &Url,
        form: &[(&str, &str)],
        protocol: &[Protocol<'_>],
        nonce: &str,
        timestamp: u64,
    ) -> Signed {
        let timestamp = timestamp.to_string();
        let mut oauth: Vec<(&str, &str)> = vec![
            ("oauth_consumer_key", self.consumer_key.as_str()),
            ("oauth_nonce", nonce),
            ("oauth_signature_method", "HMAC-SHA1"),
            ("oauth_timestamp", timestamp.as_str()),
        ];
        if let Some(token) = &self.token {
            oauth.push(("oauth_token", token.as_str()));
        }
        if self.version {
            oauth.push(("oauth_version", "1.0"));
        }
        oauth.extend(protocol.iter().map(Protocol::pair));
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
        let mut fields = oauth;
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

    /// RFC 5849 §1.2: the printer-and-photos example, which sends no `oauth_version`.
    fn rfc_consumer() -> Credentials {
        Credentials::consumer("dpf43f3p2l4k3l03", "kd94hf93k423kf44").without_version()
    }

    #[test]
    fn rfc_5849_temporary_credentials_are_signed_without_a_token() {
        let signed = rfc_consumer().sign_with(
            &http::Method::POST,
            &Url::parse("https://photos.example.net/initiate").unwrap(),
            &[],
            &[Protocol::Callback("http://printer.example.com/ready")],
            "wIjqoS",
            137_131_200,
        );
        assert_eq!(
            signed.base_string,
            "POST&https%3A%2F%2Fphotos.example.net%2Finitiate&oauth_callback%3Dhttp%253A%252F%252Fprinter.example.com%252Fready%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3DwIjqoS%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131200"
        );
        assert_eq!(signed.signature, "74KNZJeDHnMBp0EMJ9ZHt/XKycU=");
        assert!(!signed.header.contains("oauth_token"), "{}", signed.header);
        assert!(
            signed
                .header
                .contains(r#"oauth_callback="http%3A%2F%2Fprinter.example.com%2Fready""#)
        );
    }

    #[test]
    fn rfc_5849_token_and_resource_requests() {
        let token = Credentials::new(
            "dpf43f3p2l4k3l03",
            "kd94hf93k423kf44",
            "hh5s93j4hdidpola",
            "hdhd0244k9j7ao03",
        )
        .without_version()
        .sign_with(
            &http::Method::POST,
            &Url::parse("https://photos.example.net/token").unwrap(),
            &[],
            &[Protocol::Verifier("hfdp7dh39dks9884")],
            "walatlh",
            137_131_201,
        );
        assert_eq!(token.signature, "gKgrFCywp7rO0OXSjdot/IHF7IU=");
        let photo = Credentials::new(
            "dpf43f3p2l4k3l03",
            "kd94hf93k423kf44",
            "nnch734d00sl2jdk",
            "pfkkdhi9sl3r4s00",
        )
        .without_version()
        .sign(
            &http::Method::GET,
            &Url::parse("http://photos.example.net/photos?file=vacation.jpg&size=original").unwrap(),
            &[],
            "chapoH",
            137_131_202,
        );
        assert_eq!(photo.signature, "MdpQcU8iPSUjWoN/UDMsK2sui9I=");
    }

    #[test]
    fn x_request_token_step_sends_the_version_and_no_token() {
        // The RFC example as X signs it, with `oauth_version="1.0"` (value computed
        // independently with Python's hmac).
        let signed = Credentials::consumer("dpf43f3p2l4k3l03", "kd94hf93k423kf44").sign_with(
            &http::Method::POST,
            &Url::parse("https://photos.example.net/initiate").unwrap(),
            &[],
            &[Protocol::Callback("http://printer.example.com/ready")],
            "wIjqoS",
            137_131_200,
        );
        assert!(signed.base_string.ends_with("%26oauth_version%3D1.0"));
        assert_eq!(signed.signature, "msrTmwtDEKqeVXeJaufuiXOpbJI=");
        assert!(!signed.header.contains("oauth_token"));
        assert!(!Credentials::consumer("k", "s").has_token());
        assert!(docs_credentials().has_token());
        // DMs are user context: a client with consumer-only credentials is refused.
        let dm_client = super::super::Client::builder()
            .oauth1(Credentials::consumer("k", "s"))
            .build();
        let refused = dm_client.expect_err("consumer-only credentials refused");
        assert!(refused.to_string().contains("access token"), "{refused}");
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
