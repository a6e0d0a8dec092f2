//! The SMS API client: [`Sms`], [`Client::send_sms`] and the per-part answer.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method, StatusCode, Uri};
use serde::Deserialize;

use super::{DEFAULT_BASE_URL, SignatureMethod, WebhookVerifier, classify};
use crate::error::{
    AcceptedPart, ApiError, Error, ErrorClass, ErrorKind, Problem, RateLimitScope, RawBody, Result,
    ValidationError,
};
use crate::http::executor::{Executor, HttpOptions, Operation, decode_json};
use crate::model::address::PhoneNumber;
use crate::sms::segments::{self, Encoding};

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    to: PhoneNumber,
    from: String,
    text: String,
    client_ref: Option<String>,
    callback: Option<String>,
    ttl_ms: Option<u64>,
}

impl Sms {
    /// A text from `from` (a number or an alphanumeric sender id of up to 11 characters).
    pub fn new(to: PhoneNumber, from: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            to,
            from: from.into(),
            text: text.into(),
            client_ref: None,
            callback: None,
            ttl_ms: None,
        }
    }

    /// Your reference, echoed in delivery receipts (up to 100 characters).
    #[must_use]
    pub fn client_ref(mut self, reference: impl Into<String>) -> Self {
        self.client_ref = Some(reference.into());
        self
    }

    /// Where delivery receipts go, overriding the account setting.
    #[must_use]
    pub fn callback(mut self, url: impl Into<String>) -> Self {
        self.callback = Some(url.into());
        self
    }

    /// How long delivery may be attempted, in milliseconds.
    #[must_use]
    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl_ms = Some(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
        self
    }

    fn validate(&self) -> Result<(), ValidationError> {
        if self.from.trim().is_empty() {
            return Err(ValidationError::new("from", Problem::Empty));
        }
        let alphanumeric = self.from.bytes().any(|b| b.is_ascii_alphabetic());
        if alphanumeric && self.from.chars().count() > 11 {
            return Err(ValidationError::new(
                "from",
                Problem::TooLong {
                    max: 11,
                    actual: self.from.chars().count(),
                },
            ));
        }
        if self.text.is_empty() {
            return Err(ValidationError::new("text", Problem::Empty));
        }
        if let Some(r) = &self.client_ref {
            crate::http::validate::check_max_chars("client-ref", r, 100)?;
        }
        Ok(())
    }

    /// The form body, with `type=unicode` when the text needs UCS-2.
    fn to_form(&self, api_key: &str, api_secret: &str) -> String {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("api_key", api_key)
            .append_pair("api_secret", api_secret)
            .append_pair("from", &self.from)
            .append_pair("to", self.to.digits())
            .append_pair("text", &self.text);
        if segments::analyze(&self.text).encoding == Encoding::Ucs2 {
            form.append_pair("type", "unicode");
        }
        if let Some(r) = &self.client_ref {
            form.append_pair("client-ref", r);
        }
        if let Some(c) = &self.callback {
            form.append_pair("callback", c);
            form.append_pair("status-report-req", "1");
        }
        if let Some(ttl) = self.ttl_ms {
            form.append_pair("ttl", &ttl.to_string());
        }
        form.finish()
    }
}

/// Vonage's answer to a send: one entry per part.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SendResponse {
    /// How many parts.
    #[serde(
        rename = "message-count",
        default,
        deserialize_with = "crate::http::loose::opt_u32"
    )]
    pub message_count: Option<u32>,
    /// The parts.
    #[serde(default)]
    pub messages: Vec<SentPart>,
}

/// One part of a sent message.
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct SentPart {
    /// `0` for success; anything else is an error code.
    #[serde(default, deserialize_with = "crate::http::loose::opt_i64")]
    pub status: Option<i64>,
    /// The part's id.
    #[serde(rename = "message-id", default)]
    pub message_id: Option<String>,
    /// The recipient (digits).
    #[serde(default)]
    pub to: Option<String>,
    /// The price of this part.
    #[serde(rename = "message-price", default)]
    pub message_price: Option<String>,
    /// The balance left.
    #[serde(rename = "remaining-balance", default)]
    pub remaining_balance: Option<String>,
    /// The recipient's network code.
    #[serde(default)]
    pub network: Option<String>,
    /// Vonage's description of an error.
    #[serde(rename = "error-text", default)]
    pub error_text: Option<String>,
}

impl fmt::Debug for SentPart {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SentPart")
            .field("status", &self.status)
            .field("message_id", &self.message_id)
            .field("to", &self.to.as_deref().map(crate::model::address::mask))
            .field("message_price", &self.message_price)
            .field("error_text", &self.error_text)
            .finish_non_exhaustive()
    }
}

/// The Vonage SMS API client. Credentials never appear in `Debug`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    api_key: String,
    api_secret: String,
    sms_uri: Uri,
    exec: Executor,
    default_from: Option<String>,
    webhook: WebhookVerifier,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("api_key", &self.inner.api_key)
            .field("api_secret", &"[redacted]")
            .field("sms_uri", &self.inner.sms_uri)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The webhook verifier (configured with [`ClientBuilder::signature_secret`]).
    pub fn webhook(&self) -> &WebhookVerifier {
        &self.inner.webhook
    }

    /// The sender the `Channel` impl uses when a message names none.
    pub(super) fn default_from(&self) -> Option<&str> {
        self.inner.default_from.as_deref()
    }

    /// Sends a message; a part Vonage refused (HTTP 200 with a non-zero `status`) is an
    /// error with that status as its code. Never resent once it may have reached Vonage:
    /// if other parts were accepted, the error is [`ErrorKind::PartlySent`], naming them.
    pub async fn send_sms(&self, sms: &Sms) -> Result<SendResponse> {
        sms.validate()?;
        let body = Bytes::from(sms.to_form(&self.inner.api_key, &self.inner.api_secret));
        let op = Operation {
            name: "send_sms",
            idempotent: false,
        };
        let uri = &self.inner.sms_uri;
        self.inner
            .exec
            .execute(
                op,
                &|| {
                    let mut request = http::Request::new(body.clone());
                    *request.method_mut() = Method::POST;
                    *request.uri_mut() = uri.clone();
                    request.headers_mut().insert(
                        CONTENT_TYPE,
                        HeaderValue::from_static("application/x-www-form-urlencoded"),
                    );
                    Ok(request)
                },
                &decode_send,
            )
            .await
    }
}

fn decode_send(response: http::Response<Bytes>) -> Result<SendResponse> {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let class = match parts.status.as_u16() {
            401 => ErrorClass::Auth,
            429 => ErrorClass::RateLimited,
            400..=499 => ErrorClass::InvalidRequest,
            _ => ErrorClass::Unknown,
        };
        let api = ApiError::new(
            "vonage",
            parts.status,
            class,
            parts.status.canonical_reason().unwrap_or("error"),
        )
        .with_raw(body);
        return Err(if class == ErrorClass::RateLimited {
            Error::new(ErrorKind::RateLimited {
                retry_after: crate::http::executor::retry_after(&parts.headers),
                scope: RateLimitScope::Account,
                api: Some(Box::new(api)),
            })
        } else {
            Error::new(ErrorKind::Api(Box::new(api)))
        });
    }
    let response: SendResponse = decode_json(body.clone())?;
    let failed = response.messages.iter().find(|p| p.status.unwrap_or(0) != 0);
    let Some(part) = failed else {
        return Ok(response);
    };
    let code = part.status.unwrap_or_default();
    let class = classify(code);
    let mut api = ApiError::new(
        "vonage",
        StatusCode::OK,
        class,
        part.error_text
            .clone()
            .unwrap_or_else(|| format!("status {code}")),
    );
    api.code = Some(code);
    api.raw = RawBody::new(body);
    // Parts already accepted are on their way: resending the message would deliver them
    // twice, so this is never retried, whatever the refused part's status.
    let accepted: Vec<AcceptedPart> = response
        .messages
        .iter()
        .enumerate()
        .filter(|(_, p)| p.status.unwrap_or(0) == 0)
        .map(|(i, p)| AcceptedPart::new(i, p.message_id.clone()))
        .collect();
    if !accepted.is_empty() {
        return Err(Error::new(ErrorKind::PartlySent {
            accepted,
            api: Box::new(api),
        }));
    }
    Err(if class == ErrorClass::RateLimited {
        Error::new(ErrorKind::RateLimited {
            retry_after: None,
            scope: RateLimitScope::Account,
            api: Some(Box::new(api)),
        })
    } else {
        Error::new(ErrorKind::Api(Box::new(api)))
    })
}

/// Configures a [`Client`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    api_key: Option<String>,
    api_secret: Option<String>,
    base_url: String,
    http: HttpOptions,
    default_from: Option<String>,
    webhook: WebhookVerifier,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            api_secret: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            http: HttpOptions::default(),
            default_from: None,
            webhook: WebhookVerifier::default(),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("api_key", &self.api_key)
            .field("api_secret", &self.api_secret.as_ref().map(|_| "[redacted]"))
            .field("base_url", &self.base_url)
            .field("webhook", &self.webhook)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API key.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// The API secret.
    pub fn api_secret(mut self, secret: impl Into<String>) -> Self {
        self.api_secret = Some(secret.into());
        self
    }

    /// Where the SMS API is (default [`DEFAULT_BASE_URL`]).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    crate::http::executor::http_builder_methods!();

    /// The sender the `Channel` impl uses when a message names none.
    pub fn default_from(mut self, from: impl Into<String>) -> Self {
        self.default_from = Some(from.into());
        self
    }

    /// The signature secret and method that sign webhooks (Dashboard › Settings).
    pub fn signature_secret(mut self, secret: impl Into<String>, method: SignatureMethod) -> Self {
        self.webhook = WebhookVerifier::new(secret, method);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        if let Some(problem) = self.webhook.problem() {
            return Err(problem);
        }
        let api_key = self
            .api_key
            .filter(|k| !k.is_empty())
            .ok_or_else(|| Error::config("an API key is required"))?;
        let api_secret = self
            .api_secret
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::config("an API secret is required"))?;
        let sms_uri = Uri::try_from(format!("{}/sms/json", self.base_url.trim_end_matches('/')))
            .map_err(|e| Error::config("the base URL is not valid").with_source(e))?;
        let exec = self.http.executor("vonage")?;
        Ok(Client {
            inner: Arc::new(Inner {
                api_key,
                api_secret,
                sms_uri,
                exec,
                default_from: self.default_from,
                webhook: self.webhook,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_is_chosen_from_the_segment_analysis() {
        let to: PhoneNumber = "+447700900000".parse().unwrap();
        let gsm = Sms::new(to.clone(), "Acme", "Grüße").to_form("k", "s");
        assert!(!gsm.contains("type=unicode"));
        assert!(gsm.contains("to=447700900000"));
        assert!(
            Sms::new(to.clone(), "Acme", "Danke 👍")
                .to_form("k", "s")
                .contains("type=unicode")
        );
        assert!(Sms::new(to, "A very long sender", "x").validate().is_err());
    }
}
