//! [`Client`]: the typed WhatsApp Cloud API client.

use std::fmt;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method, Uri};
use serde::de::DeserializeOwned;
use url::Url;

use super::errors;
use super::media::{MediaDownload, MediaInfo, MediaUpload};
use super::messages::{MarkRead, MessageRequest, Recipient, SendResponse, Success};
use super::webhook::WebhookVerifier;
use crate::error::{ApiError, Error, ErrorClass, ErrorKind, Problem, Result, ValidationError};
use crate::http::executor::{Executor, HttpOptions, Operation, decode_json};

/// The Graph API version used unless you choose another.
pub const DEFAULT_API_VERSION: &str = "v26.0";
/// Meta's Graph API host.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// The WhatsApp Cloud API client for one business phone number.
///
/// Cheap to clone (an `Arc` inside), `Send + Sync`; the access token never appears in its
/// `Debug` output or in traces.
///
/// ```no_run
/// use switchboard::PhoneNumber;
/// use switchboard::whatsapp::{Client, MessageRequest};
///
/// # async fn run() -> switchboard::Result<()> {
/// let client = Client::builder()
///     .access_token(std::env::var("WHATSAPP_TOKEN").unwrap_or_default())
///     .phone_number_id("106540352242922")
///     .build()?;
/// let to: PhoneNumber = "+16505551234".parse()?;
/// let sent = client.send_request(&MessageRequest::text(to, "Your table is booked for 7:30 pm.")).await?;
/// println!("accepted as {:?}", sent.message_id());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    auth: HeaderValue,
    phone_number_id: String,
    /// Base URL with the version and no trailing slash: `https://graph.facebook.com/v26.0`.
    versioned_base: String,
    /// The configured base URL, whose origin media downloads may use.
    base: Url,
    messages_uri: Uri,
    media_uri: Uri,
    exec: Executor,
    webhook: WebhookVerifier,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("access_token", &"[redacted]")
            .field("phone_number_id", &self.inner.phone_number_id)
            .field("base_url", &self.inner.versioned_base)
            .field("executor", &self.inner.exec)
            .field("webhook", &self.inner.webhook)
            .finish()
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The business phone number id this client sends from.
    pub fn phone_number_id(&self) -> &str {
        &self.inner.phone_number_id
    }

    /// The webhook verifier configured with [`ClientBuilder::app_secret`] and
    /// [`ClientBuilder::verify_token`]; the `Channel` impl uses it for inbound requests.
    pub fn webhook(&self) -> &WebhookVerifier {
        &self.inner.webhook
    }

    /// Sends a message after checking it against Meta's documented limits.
    ///
    /// A send is never repeated once the request may have reached Meta: if it fails that
    /// way, the error says so ([`Error::may_have_been_sent`]).
    pub async fn send_request(&self, request: &MessageRequest) -> Result<SendResponse> {
        request.validate()?;
        let body = to_json(request)?;
        let op = Operation {
            name: "send_message",
            idempotent: false,
        };
        self.inner
            .exec
            .execute(
                op,
                &|| Ok(self.json_request(&self.inner.messages_uri, body.clone())),
                &decode,
            )
            .await
    }

    /// Sends a text message.
    pub async fn send_text(&self, to: impl Into<Recipient>, body: impl Into<String>) -> Result<SendResponse> {
        self.send_request(&MessageRequest::text(to, body)).await
    }

    /// Marks a received message (and the ones before it) as read, optionally with a typing
    /// indicator.
    pub async fn mark_as_read(&self, request: &MarkRead) -> Result<()> {
        request.validate()?;
        let body = to_json(request)?;
        let op = Operation {
            name: "mark_as_read",
            idempotent: true,
        };
        self.inner
            .exec
            .execute(
                op,
                &|| Ok(self.json_request(&self.inner.messages_uri, body.clone())),
                &|r| success(r, "mark_as_read"),
            )
            .await
    }

    /// Uploads a file and returns its media id, to send by id. The MIME type and size are
    /// checked against WhatsApp's limits first.
    pub async fn upload_media(&self, upload: &MediaUpload) -> Result<String> {
        #[derive(serde::Deserialize)]
        struct Uploaded {
            id: String,
        }
        upload.validate()?;
        let (boundary, body) = upload.to_multipart();
        let content_type = HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}"))
            .map_err(|e| Error::config("invalid multipart boundary").with_source(e))?;
        let op = Operation {
            name: "upload_media",
            idempotent: true,
        };
        let uploaded: Uploaded = self
            .inner
            .exec
            .execute(
                op,
                &|| {
                    Ok(self.request(
                        Method::POST,
                        self.inner.media_uri.clone(),
                        Some(content_type.clone()),
                        body.clone(),
                    ))
                },
                &decode,
            )
            .await?;
        Ok(uploaded.id)
    }

    /// Looks up a media file: its download URL (valid 5 minutes), MIME type, hash, size.
    pub async fn media_info(&self, media_id: &str) -> Result<MediaInfo> {
        let uri = self.media_id_uri(media_id)?;
        let op = Operation {
            name: "media_info",
            idempotent: true,
        };
        self.inner
            .exec
            .execute(
                op,
                &|| Ok(self.request(Method::GET, uri.clone(), None, Bytes::new())),
                &decode,
            )
            .await
    }

    /// Deletes an uploaded media file.
    pub async fn delete_media(&self, media_id: &str) -> Result<()> {
        let uri = self.media_id_uri(media_id)?;
        let op = Operation {
            name: "delete_media",
            idempotent: true,
        };
        self.inner
            .exec
            .execute(
                op,
                &|| Ok(self.request(Method::DELETE, uri.clone(), None, Bytes::new())),
                &|r| success(r, "delete_media"),
            )
            .await
    }

    /// Starts downloading a media file from its URL ([`MediaInfo::url`], or the `url` of an
    /// inbound media webhook); the body streams.
    ///
    /// The access token is sent only over https on the default port to Meta's media hosts
    /// or the configured base URL's host, or to the configured base URL's own scheme, host
    /// and port; any other URL is refused with a validation error and nothing is sent.
    pub async fn download_media(&self, url: &str) -> Result<MediaDownload> {
        let uri = self.download_uri(url)?;
        let op = Operation {
            name: "download_media",
            idempotent: true,
        };
        let response = self
            .inner
            .exec
            .execute_streaming(
                op,
                &|| Ok(self.request(Method::GET, uri.clone(), None, Bytes::new())),
                &|r| {
                    let (parts, body) = r.into_parts();
                    Ok(errors::from_response(parts.status, &parts.headers, body))
                },
            )
            .await?;
        Ok(MediaDownload::new(response))
    }

    fn request(
        &self,
        method: Method,
        uri: Uri,
        content_type: Option<HeaderValue>,
        body: Bytes,
    ) -> http::Request<Bytes> {
        let mut request = http::Request::new(body);
        *request.method_mut() = method;
        *request.uri_mut() = uri;
        let headers = request.headers_mut();
        headers.insert(AUTHORIZATION, self.inner.auth.clone());
        if let Some(content_type) = content_type {
            headers.insert(CONTENT_TYPE, content_type);
        }
        request
    }

    fn json_request(&self, uri: &Uri, body: Bytes) -> http::Request<Bytes> {
        self.request(Method::POST, uri.clone(), Some(JSON), body)
    }

    fn media_id_uri(&self, media_id: &str) -> Result<Uri> {
        if media_id.is_empty()
            || !media_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(ValidationError::new(
                "media_id",
                Problem::Invalid("must be a non-empty media id of letters, digits, _ or -".into()),
            )
            .into());
        }
        parse_uri(&format!("{}/{media_id}", self.inner.versioned_base))
    }

    /// The URL to download from, if it may carry the access token: the configured base
    /// URL's own scheme, host and port, or https on the default port on Meta's media hosts
    /// or the configured host. Anything else (plain http, another port) could hand the
    /// token to whoever listens there, so it is refused before any request is made.
    fn download_uri(&self, url: &str) -> Result<Uri> {
        let invalid =
            |why: &'static str| Error::from(ValidationError::new("url", Problem::Invalid(why.into())));
        let parsed = Url::parse(url).map_err(|_| invalid("not a valid URL"))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid("a media URL has no user name or password"));
        }
        let host = parsed.host_str().unwrap_or_default();
        let https_default_port = parsed.scheme() == "https" && parsed.port().is_none();
        let meta_host = ["fbsbx.com", "facebook.com", "whatsapp.net", "fbcdn.net"]
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")));
        let configured_host = self.inner.base.host_str() == Some(host);
        let trusted = parsed.origin() == self.inner.base.origin()
            || (https_default_port && (meta_host || configured_host));
        if !trusted {
            return Err(invalid(
                "not a WhatsApp media URL; the access token is only sent over https to Meta's media hosts",
            ));
        }
        parse_uri(parsed.as_str())
    }
}

fn to_json(value: &impl serde::Serialize) -> Result<Bytes> {
    // Most requests fit in 256 bytes; `to_vec` starts at 128 and would reallocate.
    let mut buf = Vec::with_capacity(256);
    serde_json::to_writer(&mut buf, value)
        .map_err(|e| Error::config("could not serialize the request").with_source(e))?;
    Ok(Bytes::from(buf))
}

fn parse_uri(s: &str) -> Result<Uri> {
    Uri::try_from(s).map_err(|e| Error::config("invalid request URL").with_source(e))
}

fn decode<T: DeserializeOwned>(response: http::Response<Bytes>) -> Result<T> {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        return Err(errors::from_response(parts.status, &parts.headers, body));
    }
    decode_json(body)
}

fn success(response: http::Response<Bytes>, operation: &'static str) -> Result<()> {
    let status = response.status();
    let raw = response.body().clone();
    let answer: Success = decode(response)?;
    if answer.success {
        return Ok(());
    }
    let api = ApiError::new(
        "whatsapp",
        status,
        ErrorClass::Unknown,
        format!("{operation} answered success: false"),
    )
    .with_raw(raw);
    Err(Error::new(ErrorKind::Api(Box::new(api))))
}

/// Configures a [`Client`]. Access token and phone number id are required.
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    access_token: Option<String>,
    phone_number_id: Option<String>,
    api_version: String,
    base_url: String,
    http: HttpOptions,
    webhook: WebhookVerifier,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            access_token: None,
            phone_number_id: None,
            api_version: DEFAULT_API_VERSION.to_owned(),
            base_url: DEFAULT_BASE_URL.to_owned(),
            http: HttpOptions::default(),
            webhook: WebhookVerifier::default(),
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("access_token", &self.access_token.as_ref().map(|_| "[redacted]"))
            .field("phone_number_id", &self.phone_number_id)
            .field("api_version", &self.api_version)
            .field("base_url", &self.base_url)
            .field("http", &self.http)
            .field("webhook", &self.webhook)
            .finish()
    }
}

impl ClientBuilder {
    /// The access token (a system-user token in production).
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// The business phone number id to send from (not the phone number itself).
    pub fn phone_number_id(mut self, id: impl Into<String>) -> Self {
        self.phone_number_id = Some(id.into());
        self
    }

    /// The Graph API version, such as `v26.0` (default [`DEFAULT_API_VERSION`]).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = version.into();
        self
    }

    /// Where the Graph API is (default [`DEFAULT_BASE_URL`]): point it at a local server
    /// or the sandbox in tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    crate::http::executor::http_builder_methods!();

    /// The app secret that signs webhooks (App Dashboard › Settings › Basic). Call it again
    /// to accept a second secret during rotation. Without one, inbound requests are refused.
    pub fn app_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.webhook = self.webhook.app_secret(secret);
        self
    }

    /// The verify token for the webhook subscription handshake.
    pub fn verify_token(mut self, token: impl Into<String>) -> Self {
        self.webhook = self.webhook.verify_token(token);
        self
    }

    /// The largest webhook body accepted (default 4 MiB; Meta sends up to 3 MB).
    pub fn webhook_max_body_bytes(mut self, limit: usize) -> Self {
        self.webhook = self.webhook.max_body_bytes(limit);
        self
    }

    /// Checks the configuration and builds the client.
    pub fn build(self) -> Result<Client> {
        if let Some(problem) = self.webhook.problem() {
            return Err(problem);
        }
        let token = self
            .access_token
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| Error::config("an access token is required"))?;
        let mut auth = HeaderValue::try_from(format!("Bearer {token}"))
            .map_err(|_| Error::config("the access token contains characters not allowed in a header"))?;
        auth.set_sensitive(true);

        let phone_number_id = self
            .phone_number_id
            .filter(|id| !id.is_empty())
            .ok_or_else(|| Error::config("a phone number id is required"))?;
        if !phone_number_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::config(
                "the phone number id may contain only letters, digits, _ and -",
            ));
        }
        let version_ok = self
            .api_version
            .strip_prefix('v')
            .and_then(|v| v.split_once('.'))
            .is_some_and(|(major, minor)| {
                !major.is_empty()
                    && !minor.is_empty()
                    && major.bytes().all(|b| b.is_ascii_digit())
                    && minor.bytes().all(|b| b.is_ascii_digit())
            });
        if !version_ok {
            return Err(Error::config("the API version must look like v26.0"));
        }
        let base = Url::parse(&self.base_url)
            .map_err(|e| Error::config("the base URL is not valid").with_source(e))?;
        if !matches!(base.scheme(), "http" | "https") || base.query().is_some() || base.fragment().is_some() {
            return Err(Error::config(
                "the base URL must be http(s) without query or fragment",
            ));
        }
        let versioned_base = format!("{}/{}", base.as_str().trim_end_matches('/'), self.api_version);
        let messages_uri = parse_uri(&format!("{versioned_base}/{phone_number_id}/messages"))?;
        let media_uri = parse_uri(&format!("{versioned_base}/{phone_number_id}/media"))?;
        let exec = self.http.executor("whatsapp")?;
        Ok(Client {
            inner: Arc::new(Inner {
                auth,
                phone_number_id,
                versioned_base,
                base,
                messages_uri,
                media_uri,
                exec,
                webhook: self.webhook,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static_assertions::assert_impl_all!(Client: Send, Sync, Clone, fmt::Debug);
    static_assertions::assert_impl_all!(ClientBuilder: Send, fmt::Debug);

    fn builder() -> ClientBuilder {
        Client::builder()
            .access_token("EAAJB-secret-token")
            .phone_number_id("106540352242922")
    }

    #[test]
    fn debug_never_shows_the_token() {
        let b = builder()
            .app_secret("app-secret-value")
            .verify_token("verify-token-value");
        assert!(!format!("{b:?}").contains("value"));
        assert!(!format!("{b:?}").contains("EAAJB-secret-token"));
        let c = b.build().unwrap();
        assert!(!format!("{c:?}").contains("EAAJB-secret-token"));
        assert!(!format!("{c:?}").contains("value"));
        assert!(format!("{c:?}").contains("106540352242922"));
    }

    #[test]
    fn builds_versioned_urls() {
        let c = builder()
            .base_url("http://127.0.0.1:9/proxy/")
            .api_version("v23.0")
            .build()
            .unwrap();
        assert_eq!(
            c.inner.messages_uri,
            "http://127.0.0.1:9/proxy/v23.0/106540352242922/messages"
        );
        assert_eq!(
            c.media_id_uri("1037543291543636").unwrap(),
            "http://127.0.0.1:9/proxy/v23.0/1037543291543636"
        );
        assert!(c.media_id_uri("../me").is_err());
    }

    #[test]
    fn refuses_bad_configuration() {
        let config_error =
            |b: ClientBuilder| matches!(b.build().unwrap_err().kind(), ErrorKind::Config { .. });
        assert!(config_error(Client::builder().phone_number_id("1")));
        assert!(config_error(Client::builder().access_token("t")));
        assert!(config_error(builder().api_version("26")));
        assert!(config_error(builder().base_url("ftp://x")));
        assert!(config_error(builder().phone_number_id("1/2")));
        assert!(config_error(builder().access_token("bad\ntoken")));
    }

    #[test]
    fn the_token_goes_only_to_media_hosts() {
        let c = builder().base_url("http://127.0.0.1:9").build().unwrap();
        assert!(
            c.download_uri("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1")
                .is_ok()
        );
        assert!(c.download_uri("http://127.0.0.1:9/media/1").is_ok());
        assert!(c.download_uri("https://evil.example/fbsbx.com").is_err());
        assert!(
            c.download_uri("http://lookaside.fbsbx.com/x").is_err(),
            "plain http to Meta"
        );
        // The configured host, but another port or scheme than configured.
        assert!(c.download_uri("http://127.0.0.1:8080/media/1").is_err());
        assert!(c.download_uri("https://127.0.0.1:9/media/1").is_err());
        // https on the default port of the configured host is as trusted as Meta's hosts.
        assert!(c.download_uri("https://127.0.0.1/media/1").is_ok());
        assert!(
            c.download_uri("https://lookaside.fbsbx.com:8443/x").is_err(),
            "Meta host on another port"
        );
        let meta = builder().build().unwrap();
        for url in [
            "http://graph.facebook.com/v26.0/1/media",
            "https://graph.facebook.com:8080/v26.0/1/media",
            "http://graph.facebook.com:443/x",
        ] {
            let err = meta.download_uri(url).unwrap_err();
            assert!(matches!(err.kind(), ErrorKind::Validation(_)), "{url}: {err:?}");
        }
        assert!(
            meta.download_uri("https://graph.facebook.com/v26.0/1/media")
                .is_ok()
        );
        assert!(meta.download_uri("https://graph.facebook.com:443/x").is_ok());
    }
}
