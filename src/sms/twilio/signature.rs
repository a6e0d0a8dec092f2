//! `X-Twilio-Signature`: Base64 HMAC-SHA1, keyed with the account's auth token, over the
//! full URL Twilio called followed by the POST parameters sorted by name (`name` + `value`,
//! no separators). JSON webhooks instead carry a `bodySHA256` query parameter, the hex
//! SHA-256 of the body, and sign the URL alone.
//!
//! When a Webhooks Rule matches the URL, Twilio signs the same string with the rule's
//! SharedKey and algorithm instead (HMAC-SHA256 or HMAC-SHA1), and says so in
//! `X-Twilio-Webhooks-Signature-Settings: key=…,algorithm=HMAC_SHA256`. With that header
//! only the shared keys ([`SignatureValidator::with_shared_key`]) and only the named
//! algorithm are tried: a SHA-1 signature never passes where SHA-256 is announced.
//!
//! Twilio is inconsistent about ports, so, like the official validators, a signature over
//! the URL with or without the default port is accepted, and `'` and `%27` in the query are
//! tried both ways. The URL must be the public one Twilio called: pass it in, never rebuild
//! it from `Host` (proxies and TLS termination change it).

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::webhook::{Secrets, WebhookError, WebhookRequest};

/// The signature header.
pub const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// The header naming the shared key and algorithm when a Webhooks Rule signed the request.
pub const SETTINGS_HEADER: &str = "x-twilio-webhooks-signature-settings";

/// The HMAC a signature is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// HMAC-SHA1 (20 bytes): the default, with the auth token.
    HmacSha1,
    /// HMAC-SHA256 (32 bytes): with a Webhooks Rule's shared key.
    HmacSha256,
}

impl Algorithm {
    /// The algorithm named in a `X-Twilio-Webhooks-Signature-Settings` value
    /// (`key=…,algorithm=HMAC_SHA256`), or `None` if it names none or an unknown one.
    pub fn from_settings(settings: &str) -> Option<Self> {
        let mut named = settings
            .split(',')
            .filter_map(|field| field.split_once('='))
            .filter(|(name, _)| name.trim().eq_ignore_ascii_case("algorithm"))
            .map(|(_, value)| value.trim());
        let algorithm = match named.next()? {
            a if a.eq_ignore_ascii_case("HMAC_SHA256") => Self::HmacSha256,
            a if a.eq_ignore_ascii_case("HMAC_SHA1") => Self::HmacSha1,
            _ => return None,
        };
        // Two algorithm fields are ambiguous: refuse rather than pick one.
        named.next().is_none().then_some(algorithm)
    }

    fn len(self) -> usize {
        match self {
            Self::HmacSha1 => 20,
            Self::HmacSha256 => 32,
        }
    }
}

/// The signature Twilio computes for `url` and form `params`, Base64-encoded: for tests and
/// for replaying a webhook against your own endpoint.
///
/// ```
/// use switchboard::sms::twilio::signature::compute;
///
/// // Twilio's documented example.
/// let params = [("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"),
///     ("From", "+12349013030"), ("To", "+18005551212")];
/// assert_eq!(compute("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params),
///     "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
/// ```
pub fn compute(auth_token: &str, url: &str, params: &[(&str, &str)]) -> String {
    compute_with(Algorithm::HmacSha1, auth_token, url, params)
}

/// [`compute`] with another algorithm and key: a Webhooks Rule's shared key and its
/// algorithm.
pub fn compute_with(algorithm: Algorithm, key: &str, url: &str, params: &[(&str, &str)]) -> String {
    BASE64.encode(match algorithm {
        Algorithm::HmacSha1 => mac::<Hmac<Sha1>, _, _>(key.as_bytes(), url, params)
            .finalize()
            .into_bytes()
            .to_vec(),
        Algorithm::HmacSha256 => mac::<Hmac<Sha256>, _, _>(key.as_bytes(), url, params)
            .finalize()
            .into_bytes()
            .to_vec(),
    })
}

/// Whether `signature` is `algorithm`'s HMAC with `key` over `url` and `params`.
fn matches<K: AsRef<str>, V: AsRef<str>>(
    algorithm: Algorithm,
    key: &[u8],
    url: &str,
    params: &[(K, V)],
    signature: &[u8],
) -> bool {
    match algorithm {
        Algorithm::HmacSha1 => mac::<Hmac<Sha1>, _, _>(key, url, params).verify_slice(signature),
        Algorithm::HmacSha256 => mac::<Hmac<Sha256>, _, _>(key, url, params).verify_slice(signature),
    }
    .is_ok()
}

fn mac<M: Mac + KeyInit, K: AsRef<str>, V: AsRef<str>>(key: &[u8], url: &str, params: &[(K, V)]) -> M {
    let mut mac = <M as KeyInit>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(url.as_bytes());
    // Sorted by name, then value; a repeated name+value pair counts once, as in the
    // official validators.
    let mut sorted: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_ref(), v.as_ref())).collect();
    sorted.sort_unstable();
    sorted.dedup();
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    mac
}

/// Verifies Twilio signatures with the primary and, during rotation, secondary auth token,
/// and with the shared keys of Webhooks Rules. `Debug` shows none of them.
#[derive(Debug, Clone, Default)]
pub struct SignatureValidator {
    tokens: Secrets,
    shared_keys: Secrets,
}

impl SignatureValidator {
    /// A validator with the account's primary auth token (never an API key secret: Twilio
    /// signs with the auth token).
    pub fn new(auth_token: &str) -> Self {
        Self::default().with_token(auth_token)
    }

    /// Also accepts signatures made with this token (the secondary one, during rotation).
    #[must_use]
    pub fn with_token(mut self, auth_token: &str) -> Self {
        self.tokens.push("auth_token", auth_token.as_bytes());
        self
    }

    /// Also accepts requests a Webhooks Rule signed with this shared key (the SharedKey
    /// secret, used only when `X-Twilio-Webhooks-Signature-Settings` is present).
    #[must_use]
    pub fn with_shared_key(mut self, secret: &str) -> Self {
        self.shared_keys.push("shared_key", secret.as_bytes());
        self
    }

    /// The verifier, or the configuration error of a secret it was given (empty, or shorter
    /// than [`MIN_SECRET_BYTES`](crate::webhook::MIN_SECRET_BYTES)). Such a verifier
    /// refuses every request anyway; call this at start-up to fail there instead.
    pub fn configured(self) -> crate::Result<Self> {
        self.problem().map_or(Ok(self), Err)
    }

    /// The configuration error of an auth token or shared key, if any.
    pub(crate) fn problem(&self) -> Option<crate::Error> {
        self.tokens.problem().or_else(|| self.shared_keys.problem())
    }

    /// Verifies a request: the `X-Twilio-Signature` over the request's URL and either its
    /// form parameters or, for JSON bodies, the `bodySHA256` query parameter. With
    /// `X-Twilio-Webhooks-Signature-Settings`, only the shared keys and the algorithm it
    /// names are tried; without it, only the auth tokens and HMAC-SHA1.
    pub fn verify(&self, request: &WebhookRequest) -> Result<(), WebhookError> {
        let (algorithm, keys) = match request.header(SETTINGS_HEADER) {
            None => (Algorithm::HmacSha1, &self.tokens),
            Some(settings) => (
                Algorithm::from_settings(settings).ok_or(WebhookError::MalformedSignature {
                    header: SETTINGS_HEADER,
                })?,
                &self.shared_keys,
            ),
        };
        if keys.is_empty() {
            return Err(WebhookError::NotConfigured);
        }
        let header = request
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::MissingSignature {
                header: SIGNATURE_HEADER,
            })?;
        // The length must be the announced algorithm's: no downgrade to SHA-1.
        let signature = BASE64
            .decode(header.trim())
            .ok()
            .filter(|s| s.len() == algorithm.len())
            .ok_or(WebhookError::MalformedSignature {
                header: SIGNATURE_HEADER,
            })?;
        let params: Vec<(Cow<'_, str>, Cow<'_, str>)> = match request.query_param("bodySHA256") {
            Some(expected) => {
                let actual = hex::encode(Sha256::digest(request.body()));
                if !bool::from(actual.as_bytes().ct_eq(expected.to_ascii_lowercase().as_bytes())) {
                    return Err(WebhookError::SignatureMismatch);
                }
                Vec::new()
            }
            None if request.method() == http::Method::POST => {
                url::form_urlencoded::parse(request.body()).collect()
            }
            None => Vec::new(),
        };
        let matches = url_variants(request.url()).iter().any(|url| {
            keys.iter()
                .any(|key| matches(algorithm, key, url, &params, &signature))
        });
        if matches {
            Ok(())
        } else {
            Err(WebhookError::SignatureMismatch)
        }
    }
}

/// The URL forms Twilio may have signed: as given, with the default port added or the
/// port removed, and with `'` / `%27` in the query swapped. The fragment is never sent, so
/// it is never signed.
fn url_variants(url: &str) -> Vec<String> {
    let url = url.split('#').next().unwrap_or_default();
    let mut variants = vec![url.to_owned()];
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(at) => authority.split_at(at + 1),
            None => ("", authority),
        };
        // A port follows the last ':' unless that ':' is inside an IPv6 literal.
        let port_at = hostport.rfind(':').filter(|&i| !hostport[i..].contains(']'));
        let other = match port_at {
            Some(i) => format!("{scheme}://{userinfo}{}{tail}", &hostport[..i]),
            None => {
                let port = if scheme.eq_ignore_ascii_case("http") {
                    80
                } else {
                    443
                };
                format!("{scheme}://{userinfo}{hostport}:{port}{tail}")
            }
        };
        variants.push(other);
    }
    for i in 0..variants.len() {
        let v = &variants[i];
        let Some(q) = v.find('?') else { continue };
        let (path, query) = v.split_at(q);
        let swapped = if query.contains('\'') {
            Some(query.replace('\'', "%27"))
        } else if query.contains("%27") {
            Some(query.replace("%27", "'"))
        } else {
            None
        };
        if let Some(query) = swapped {
            variants.push(format!("{path}{query}"));
        }
    }
    variants
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, Method};

    const U: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const P: [(&str, &str); 5] = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ];

    fn form(params: &[(&str, &str)]) -> String {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params)
            .finish()
    }

    fn request(method: Method, url: &str, body: impl Into<bytes::Bytes>, signature: &str) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        WebhookRequest::new(method, url, headers, body)
    }

    fn ok(url: &str, body: impl Into<bytes::Bytes>, signature: &str) -> bool {
        SignatureValidator::new("12345")
            .verify(&request(Method::POST, url, body, signature))
            .is_ok()
    }

    #[test]
    fn official_form_vectors() {
        assert_eq!(compute("12345", U, &P), "RSOYDt4T1cUTdK1PDd93/VVr8B8="); // T1
        assert!(ok(U, form(&P), "RSOYDt4T1cUTdK1PDd93/VVr8B8="));
        assert!(
            ok(U, form(&P), "kvajT1Ptam85bY51eRf/AJRuM3w="),
            "T2: signed with :443"
        );
        assert!(
            ok(
                "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                form(&P),
                "RSOYDt4T1cUTdK1PDd93/VVr8B8="
            ),
            "T3: port stripped"
        );
        assert!(ok(
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            form(&P),
            "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
        ));
        assert!(
            ok(
                "http://mycompany.com/myapp.php?foo=1&bar=2",
                form(&P),
                "0ZXoZLH/DfblKGATFgpif+LLRf4="
            ),
            "T5"
        );
        assert!(ok(
            "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
            form(&P),
            "CukzLTc1tT5dXEDIHm/tKBanW10="
        ));
        assert!(ok(
            "https://user@mycompany.com/myapp.php?foo=1&bar=2",
            form(&P),
            "2YRLlVAflCqxaNicjMpJcSTgzSs="
        ));
        assert!(ok(
            "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
            form(&P),
            "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="
        ));
        assert!(
            ok(
                &format!("{U}&Body=It's+amazing"),
                form(&P),
                "TfZzewPq8wqrGlMfyAud8+/IvJ0="
            ),
            "T9"
        );
    }

    #[test]
    fn repeated_parameters() {
        let t10 = [
            ("MessagingBinding.Address", "+1325xxxxxxx"),
            ("MessagingBinding.Address", "+1415xxxxxxx"),
        ];
        assert!(ok(U, form(&t10), "83O6e2vORAoJHUNzJjDWN1jz+BA="));
        let t10_reversed = [t10[1], t10[0]];
        assert!(ok(U, form(&t10_reversed), "83O6e2vORAoJHUNzJjDWN1jz+BA="));
        let t11 = [
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ];
        assert!(ok(U, form(&t11), "IK+Dwps556ElfBT0I3Rgjkr1wJU="));
    }

    #[test]
    fn official_json_vectors() {
        let body = r#"{"property": "value", "boolean": true}"#;
        let hash = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
        assert_eq!(hex::encode(Sha256::digest(body)), hash);
        assert!(
            ok(
                &format!("{U}&bodySHA256={hash}"),
                body,
                "a9nBmqA0ju/hNViExpshrM61xv4="
            ),
            "T13"
        );
        assert!(
            ok(
                &format!("https://mycompany.com/myapp.php?bodySHA256={hash}"),
                body,
                "y77kIzt2vzLz71DgmJGsen2scGs="
            ),
            "T15"
        );
        let empty = "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        assert!(
            ok(
                &format!("{U}&bodySHA256={empty}"),
                "{}",
                "Ldidvp12m26NI7eqEvxnEpkd9Hc="
            ),
            "T14: with :443"
        );
        // The body must match its hash.
        assert!(!ok(
            &format!("{U}&bodySHA256={hash}"),
            "{}",
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn documented_example_and_research_vectors() {
        let docs = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ];
        assert!(ok(U, form(&docs), "0/KCTR6DLpKmkAf8muzZqo1nDgQ="));
        let inbound = "ToCountry=DE&ToState=&SmsMessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&NumMedia=0&ToCity=&FromZip=&SmsSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&FromState=&SmsStatus=received&FromCity=&Body=STOP&FromCountry=DE&To=%2B4915112345678&MessagingServiceSid=MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&ToZip=&NumSegments=1&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&AccountSid=AC00000000000000000000000000000001&From=%2B4917612345678&ApiVersion=2010-04-01";
        assert!(ok(
            "https://example.com/twilio/sms/inbound",
            inbound,
            "huR9PPonRwQwAzMGjQbDZPee84Y="
        ));
        let status = "AccountSid=AC00000000000000000000000000000001&ApiVersion=2010-04-01&ErrorCode=30003&From=%2B4915112345678&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&MessageStatus=undelivered&MessagingServiceSid=MGbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb&SmsSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa&SmsStatus=undelivered&To=%2B4917612345678";
        assert!(ok(
            "https://example.com/twilio/sms/status?tenant=acme",
            status,
            "uIhlqOZj1zCf9TYbnVqW/j9xabc="
        ));
        let utf8 = "Body=Gr%C3%BC%C3%9Fe+%F0%9F%91%8D&From=%2B4917612345678&MessageSid=SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        assert!(ok(
            "https://example.com/twilio/sms/inbound",
            utf8,
            "/qsAXeZv/PS7mGx5HgyXqE6jQZ8="
        ));
    }

    fn with_settings(signature: &str, settings: &str) -> WebhookRequest {
        let mut headers = HeaderMap::new();
        headers.insert(SIGNATURE_HEADER, signature.parse().unwrap());
        headers.insert(SETTINGS_HEADER, settings.parse().unwrap());
        WebhookRequest::new(Method::POST, U, headers, form(&P))
    }

    #[test]
    fn hmac_sha256_from_a_webhooks_rule_and_no_downgrade() {
        // T1's URL and parameters signed with a shared key (computed independently with
        // Python's hmac): SHA-256 and SHA-1.
        let sha256 = "E5VnwNBwyz0tCHTP5Dkbb6TefPRbPKoGqFaaypGFqwI=";
        let sha1 = "JZ3+sKp4qI8PcVObzMqSfc13Puc=";
        assert_eq!(
            compute_with(Algorithm::HmacSha256, "shared-key-secret", U, &P),
            sha256
        );
        assert_eq!(
            compute_with(Algorithm::HmacSha1, "shared-key-secret", U, &P),
            sha1
        );
        let v = SignatureValidator::new("12345").with_shared_key("shared-key-secret");
        let rule = "key=KS00000000000000000000000000000000,algorithm=HMAC_SHA256";
        assert_eq!(v.verify(&with_settings(sha256, rule)), Ok(()));
        assert_eq!(
            v.verify(&with_settings(sha1, "key=KS1,algorithm=HMAC_SHA1")),
            Ok(())
        );
        // Without the header, SHA-1 with the auth token, as always.
        assert!(
            v.verify(&request(
                Method::POST,
                U,
                form(&P),
                "RSOYDt4T1cUTdK1PDd93/VVr8B8="
            ))
            .is_ok()
        );
        // SHA-256 announced: a SHA-1 signature (with either key) is refused, never tried.
        let malformed = Err(WebhookError::MalformedSignature {
            header: SIGNATURE_HEADER,
        });
        assert_eq!(v.verify(&with_settings(sha1, rule)), malformed);
        assert_eq!(
            v.verify(&with_settings("RSOYDt4T1cUTdK1PDd93/VVr8B8=", rule)),
            malformed
        );
        // A SHA-256 signature without the header is not SHA-1 either.
        assert_eq!(v.verify(&request(Method::POST, U, form(&P), sha256)), malformed);
        // The shared key, not the auth token, signs under a rule.
        let token_sha256 = compute_with(Algorithm::HmacSha256, "12345", U, &P);
        assert_eq!(
            v.verify(&with_settings(&token_sha256, rule)),
            Err(WebhookError::SignatureMismatch)
        );
        // An unknown or ambiguous algorithm is refused; no shared key configured is a
        // configuration error, not a fallback to the auth token.
        for settings in [
            "key=KS1,algorithm=HMAC_MD5",
            "key=KS1",
            "algorithm=HMAC_SHA1,algorithm=HMAC_SHA256",
        ] {
            assert_eq!(
                v.verify(&with_settings(sha256, settings)),
                Err(WebhookError::MalformedSignature {
                    header: SETTINGS_HEADER
                }),
                "{settings}"
            );
        }
        assert_eq!(
            SignatureValidator::new("12345").verify(&with_settings(sha256, rule)),
            Err(WebhookError::NotConfigured)
        );
        assert!(!format!("{v:?}").contains("shared-key-secret"));
    }

    #[test]
    fn refusals() {
        // N1: a signature over another URL.
        let sig = compute("s3cr3t", "https://example.com/?test=param", &[]);
        let v = SignatureValidator::new("s3cr3t");
        assert_eq!(
            v.verify(&request(
                Method::POST,
                "https://example.com/?test=param2",
                "",
                &sig
            )),
            Err(WebhookError::SignatureMismatch)
        );
        assert!(
            v.verify(&request(
                Method::POST,
                "https://example.com/?test=param",
                "",
                &sig
            ))
            .is_ok()
        );
        assert!(!ok(U, form(&P), "AAAAAAAAAAAAAAAAAAAAAAAAAAA="));
        assert!(!ok(
            &format!("{U}&somethingUnexpected=true"),
            form(&P),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let unsigned = WebhookRequest::new(Method::POST, U, HeaderMap::new(), form(&P));
        assert_eq!(
            SignatureValidator::new("12345").verify(&unsigned),
            Err(WebhookError::MissingSignature {
                header: SIGNATURE_HEADER
            })
        );
        assert_eq!(
            SignatureValidator::new("12345").verify(&request(Method::POST, U, form(&P), "not base64!")),
            Err(WebhookError::MalformedSignature {
                header: SIGNATURE_HEADER
            })
        );
        assert_eq!(
            SignatureValidator::default().verify(&request(
                Method::POST,
                U,
                form(&P),
                "RSOYDt4T1cUTdK1PDd93/VVr8B8="
            )),
            Err(WebhookError::NotConfigured)
        );
        // Secondary token during rotation.
        let rotated = SignatureValidator::new("new-token").with_token("12345");
        assert!(
            rotated
                .verify(&request(
                    Method::POST,
                    U,
                    form(&P),
                    "RSOYDt4T1cUTdK1PDd93/VVr8B8="
                ))
                .is_ok()
        );
        assert!(!format!("{rotated:?}").contains("12345"));
    }
}
