//! [`Client`]: the typed X Direct Messages client.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use serde::de::DeserializeOwned;
use url::Url;

use super::dm::{
    DmSent, Envelope, EventPage, EventQuery, NewMessage, Response, check_conversation_id, check_id,
};
use super::errors::{error_from, parse_rate_limits};
use super::media::{MediaCategory, UploadedMedia};
use super::oauth1::Credentials;
use super::oauth2::UserSession;
use super::webhook::WebhookVerifier;
use crate::error::{ApiError, Error, ErrorClass, ErrorKind, Problem, Result, ValidationError};
use crate::http::executor::{Executor, HttpOptions, Operation, decode_json, http_builder_methods};

/// The API host.
pub const DEFAULT_BASE_URL: &str = "https://api.x.com";

/// Bytes per append request of a chunked upload.
const CHUNK: usize = 4 * 1024 * 1024;

const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// How the client authenticates: X's DM endpoints need a user context.
#[derive(Clone)]
enum Auth {
    OAuth1(Credentials),
    OAuth2(UserSession),
}

/// The X Direct Messages client for one account (the business's). Cheap to clone; no
/// credential appears in `Debug` or traces.
///
/// ```no_run
/// use switchboard::twitter::{Client, NewMessage, oauth1::Credentials};
///
/// # async fn run() -> switchboard::Result<()> {
/// let x = Client::builder()
///     .oauth1(Credentials::new("consumer key", "consumer secret", "access token", "token secret"))
///     .build()?;
/// let sent = x.send_to_participant("9876543210", &NewMessage::text("Thanks, we are on it.")).await?;
/// println!("event {} in {}", sent.data.dm_event_id, sent.data.dm_conversation_id);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    auth: Auth,
    base: String,
    exec: Executor,
    user_id: Option<String>,
    webhook: Option<WebhookVerifier>,
    upload_wait: Duration,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field(
                "auth",
                &match self.inner.auth {
                    Auth::OAuth1(_) => "oauth1 [redacted]",
                    Auth::OAuth2(_) => "oauth2 [redacted]",
                },
            )
            .field("base", &self.inner.base)
            .field("user_id", &self.inner.user_id)
            .field("executor", &self.inner.exec)
            .finish_non_exhaustive()
    }
}

/// A prepared request: what an attempt needs to build it again (OAuth 1.0a signs each
/// attempt with a fresh nonce).
struct Call {
    name: &'static str,
    idempotent: bool,
    method: Method,
    url: Url,
    content_type: HeaderValue,
    body: Bytes,
}

impl Client {
    /// Configures a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            auth: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            user_id: None,
            consumer_secret: None,
            upload_wait: Duration::from_secs(300),
            http: HttpOptions::default(),
        }
    }

    /// The business account's user id, if configured.
    pub fn user_id(&self) -> Option<&str> {
        self.inner.user_id.as_deref()
    }

    /// The webhook verifier, if the consumer secret is known (OAuth 1.0a credentials or
    /// [`ClientBuilder::consumer_secret`]).
    pub fn webhook(&self) -> Option<&WebhookVerifier> {
        self.inner.webhook.as_ref()
    }

    /// Sends a DM to one user (the one-to-one conversation is created if needed).
    pub async fn send_to_participant(
        &self,
        participant_id: &str,
        message: &NewMessage,
    ) -> Result<Response<DmSent>> {
        check_id("participant_id", participant_id)?;
        message.validate()?;
        self.post_json(
            "twitter.send_to_participant",
            &format!("/2/dm_conversations/with/{participant_id}/messages"),
            message,
        )
        .await
    }

    /// Sends a DM into an existing conversation (one-to-one or group).
    pub async fn send_to_conversation(
        &self,
        conversation_id: &str,
        message: &NewMessage,
    ) -> Result<Response<DmSent>> {
        check_conversation_id(conversation_id)?;
        message.validate()?;
        self.post_json(
            "twitter.send_to_conversation",
            &format!("/2/dm_conversations/{conversation_id}/messages"),
            message,
        )
        .await
    }

    /// Creates a group conversation with 2 to 49 other users and its first message. Every
    /// call creates a new group, even with the same people.
    pub async fn create_group(
        &self,
        participant_ids: &[&str],
        message: &NewMessage,
    ) -> Result<Response<DmSent>> {
        if !(2..=super::dm::MAX_GROUP_PARTICIPANTS).contains(&participant_ids.len()) {
            return Err(ValidationError::new(
                "participant_ids",
                Problem::Invalid("a group needs 2 to 49 participants".into()),
            )
            .into());
        }
        for id in participant_ids {
            check_id("participant_ids", id)?;
        }
        message.validate()?;
        let body = serde_json::json!({
            "conversation_type": "Group",
            "participant_ids": participant_ids,
            "message": message,
        });
        self.post_json("twitter.create_group", "/2/dm_conversations", &body)
            .await
    }

    /// One page of DM events; follow [`EventPage::next_query`] for more.
    pub async fn events(&self, query: &EventQuery) -> Result<Response<EventPage>> {
        query.validate()?;
        let url = self.url(&query.path_and_query())?;
        let call = Call {
            name: "twitter.events",
            idempotent: true,
            method: Method::GET,
            url,
            content_type: JSON,
            body: Bytes::new(),
        };
        let answer = self.call::<Envelope<Vec<super::dm::DmEvent>>>(call).await?;
        let (envelope, rate_limits) = answer;
        let meta = envelope.meta;
        Ok(Response {
            data: EventPage {
                events: envelope.data.unwrap_or_default(),
                includes: envelope.includes.unwrap_or_default(),
                next_token: meta.as_ref().and_then(|m| m.next_token.clone()),
                previous_token: meta.as_ref().and_then(|m| m.previous_token.clone()),
                result_count: meta.as_ref().and_then(|m| m.result_count),
                query: query.clone(),
            },
            rate_limits,
            partial_errors: envelope.errors,
        })
    }

    /// Deletes a DM event the account sent (for the account only).
    pub async fn delete_event(&self, event_id: &str) -> Result<Response<bool>> {
        check_id("event_id", event_id)?;
        #[derive(serde::Deserialize)]
        struct Deleted {
            deleted: bool,
        }
        let call = Call {
            name: "twitter.delete_event",
            idempotent: true,
            method: Method::DELETE,
            url: self.url(&format!("/2/dm_events/{event_id}"))?,
            content_type: JSON,
            body: Bytes::new(),
        };
        let response = self.data::<Deleted>(call).await?;
        Ok(Response {
            data: response.data.deleted,
            rate_limits: response.rate_limits,
            partial_errors: response.partial_errors,
        })
    }

    /// Uploads a file for a DM attachment in chunks (initialize, append, finalize) and waits
    /// while X processes it (videos), up to the builder's `upload_wait`. The type and size
    /// are checked against the category first.
    pub async fn upload_media(
        &self,
        data: Bytes,
        media_type: &str,
        category: MediaCategory,
    ) -> Result<UploadedMedia> {
        category.check(media_type, data.len() as u64)?;
        let init = serde_json::json!({
            "media_type": media_type,
            "total_bytes": data.len(),
            "media_category": category.as_str(),
        });
        let started: UploadedMedia = self
            .post_json_as(
                "twitter.media.initialize",
                "/2/media/upload/initialize",
                &init,
                true,
            )
            .await?
            .data;
        let id = started.id;
        check_id("media_id", &id)?;
        for (index, chunk) in data.chunks(CHUNK).enumerate() {
            let (boundary, body) = crate::http::multipart::form(
                &[("segment_index", &index.to_string())],
                ("media", "chunk", "application/octet-stream", chunk),
            );
            let call = Call {
                name: "twitter.media.append",
                idempotent: true,
                method: Method::POST,
                url: self.url(&format!("/2/media/upload/{id}/append"))?,
                content_type: HeaderValue::try_from(format!("multipart/form-data; boundary={boundary}"))
                    .map_err(|_| Error::config("invalid multipart boundary"))?,
                body,
            };
            // The append answer carries no data worth keeping.
            self.call::<serde_json::Value>(call).await?;
        }
        let call = Call {
            name: "twitter.media.finalize",
            idempotent: true,
            method: Method::POST,
            url: self.url(&format!("/2/media/upload/{id}/finalize"))?,
            content_type: JSON,
            body: Bytes::new(),
        };
        let mut media = self.data::<UploadedMedia>(call).await?.data;
        let deadline = tokio::time::Instant::now() + self.inner.upload_wait;
        while let Some(info) = media.processing_info.as_ref().filter(|i| i.is_pending()) {
            let wait = Duration::from_secs(info.check_after_secs.unwrap_or(1).clamp(1, 60));
            if tokio::time::Instant::now() + wait > deadline {
                return Err(media_error(&format!(
                    "X is still processing media {id}; ask again later"
                )));
            }
            tokio::time::sleep(wait).await;
            media = self.media_status(&id).await?;
        }
        if let Some(info) = &media.processing_info
            && info.state == "failed"
        {
            return Err(media_error(&format!("X could not process media {id}")));
        }
        Ok(media)
    }

    /// The processing state of an upload.
    pub async fn media_status(&self, media_id: &str) -> Result<UploadedMedia> {
        check_id("media_id", media_id)?;
        let call = Call {
            name: "twitter.media.status",
            idempotent: true,
            method: Method::GET,
            url: self.url(&format!("/2/media/upload?command=STATUS&media_id={media_id}"))?,
            content_type: JSON,
            body: Bytes::new(),
        };
        Ok(self.data::<UploadedMedia>(call).await?.data)
    }

    fn url(&self, path_and_query: &str) -> Result<Url> {
        Url::parse(&format!("{}{path_and_query}", self.inner.base))
            .map_err(|_| Error::config("invalid base URL"))
    }

    async fn post_json<T: DeserializeOwned + Send>(
        &self,
        name: &'static str,
        path: &str,
        body: &impl serde::Serialize,
    ) -> Result<Response<T>> {
        // A DM that may have reached X is never sent twice.
        self.post_json_as(name, path, body, false).await
    }

    async fn post_json_as<T: DeserializeOwned + Send>(
        &self,
        name: &'static str,
        path: &str,
        body: &impl serde::Serialize,
        idempotent: bool,
    ) -> Result<Response<T>> {
        let body = Bytes::from(
            serde_json::to_vec(body)
                .map_err(|e| Error::config("could not serialize the request").with_source(e))?,
        );
        let call = Call {
            name,
            idempotent,
            method: Method::POST,
            url: self.url(path)?,
            content_type: JSON,
            body,
        };
        self.data(call).await
    }

    /// Runs a call whose answer must carry `data`.
    async fn data<T: DeserializeOwned + Send>(&self, call: Call) -> Result<Response<T>> {
        let (envelope, rate_limits) = self.call::<Envelope<T>>(call).await?;
        match envelope.data {
            Some(data) => Ok(Response {
                data,
                rate_limits,
                partial_errors: envelope.errors,
            }),
            // Only errors in a 2xx: the request failed after all.
            None => {
                let first = envelope.errors.into_iter().next();
                let mut api = ApiError::new(
                    "twitter",
                    http::StatusCode::OK,
                    ErrorClass::Unknown,
                    first
                        .as_ref()
                        .and_then(|e| e.title.clone().or(e.message.clone()))
                        .unwrap_or_else(|| "an answer without data".into()),
                );
                api.details = first.as_ref().and_then(|e| e.detail.clone());
                api.error_type = first.and_then(|e| e.problem_type);
                Err(Error::new(ErrorKind::Api(Box::new(api))))
            }
        }
    }

    /// Runs a call with the client's auth; with OAuth 2.0, a `401` refreshes the token once
    /// and repeats the call (X refused it, so nothing was sent).
    async fn call<T: DeserializeOwned + Send>(&self, call: Call) -> Result<(T, crate::error::RateLimits)> {
        match &self.inner.auth {
            Auth::OAuth1(credentials) => {
                let sign =
                    |c: &Call| HeaderValue::try_from(credentials.authorization(&c.method, &c.url, &[]));
                self.run(&call, &sign).await
            }
            Auth::OAuth2(session) => {
                let token = session.bearer().await?;
                let bearer = |_: &Call| HeaderValue::try_from(format!("Bearer {token}"));
                match self.run(&call, &bearer).await {
                    Err(err)
                        if err
                            .api_error()
                            .is_some_and(|a| a.status == http::StatusCode::UNAUTHORIZED) =>
                    {
                        let fresh = session.refresh_after_401(&token).await?;
                        let bearer = |_: &Call| HeaderValue::try_from(format!("Bearer {fresh}"));
                        self.run(&call, &bearer).await
                    }
                    other => other,
                }
            }
        }
    }

    async fn run<T: DeserializeOwned + Send>(
        &self,
        call: &Call,
        authorize: &(
             dyn Fn(&Call) -> std::result::Result<HeaderValue, http::header::InvalidHeaderValue> + Send + Sync
         ),
    ) -> Result<(T, crate::error::RateLimits)> {
        let uri: http::Uri = call
            .url
            .as_str()
            .parse()
            .map_err(|_| Error::config("invalid request URL"))?;
        let build = || {
            let mut request = http::Request::new(call.body.clone());
            *request.method_mut() = call.method.clone();
            *request.uri_mut() = uri.clone();
            let auth = authorize(call).map_err(|_| Error::config("credentials are not valid in a header"))?;
            request.headers_mut().insert(AUTHORIZATION, auth);
            if !call.body.is_empty() {
                request
                    .headers_mut()
                    .insert(CONTENT_TYPE, call.content_type.clone());
            }
            Ok(request)
        };
        let handle = |response: http::Response<Bytes>| {
            let (parts, body) = response.into_parts();
            if !parts.status.is_success() {
                return Err(error_from(parts.status, &parts.headers, body));
            }
            let limits = parse_rate_limits(&parts.headers);
            // Some answers (an append) have an empty body.
            let body = if body.is_empty() {
                Bytes::from_static(b"null")
            } else {
                body
            };
            Ok((decode_json::<T>(body)?, limits))
        };
        let op = Operation {
            name: call.name,
            idempotent: call.idempotent,
        };
        self.inner.exec.execute(op, &build, &handle).await
    }
}

fn media_error(message: &str) -> Error {
    Error::new(ErrorKind::Api(Box::new(ApiError::new(
        "twitter",
        http::StatusCode::OK,
        ErrorClass::Media,
        message,
    ))))
}

/// Configures a [`Client`].
#[must_use = "a builder does nothing until `build` is called"]
pub struct ClientBuilder {
    auth: Option<Auth>,
    base_url: String,
    user_id: Option<String>,
    consumer_secret: Option<String>,
    upload_wait: Duration,
    http: HttpOptions,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("user_id", &self.user_id)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// Authenticates with OAuth 1.0a user credentials (the consumer secret then also
    /// verifies webhooks).
    pub fn oauth1(mut self, credentials: Credentials) -> Self {
        if self.consumer_secret.is_none() {
            self.consumer_secret = Some(credentials.consumer_secret().to_owned());
        }
        self.auth = Some(Auth::OAuth1(credentials));
        self
    }

    /// Authenticates with an OAuth 2.0 user session, refreshed as needed.
    pub fn oauth2(mut self, session: UserSession) -> Self {
        self.auth = Some(Auth::OAuth2(session));
        self
    }

    /// The app's consumer secret, which signs webhooks and answers CRC checks.
    pub fn consumer_secret(mut self, secret: impl Into<String>) -> Self {
        self.consumer_secret = Some(secret.into());
        self
    }

    /// The business account's own user id: its messages in webhooks are echoes.
    pub fn user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// The API host (default `https://api.x.com`): a sandbox or mock server in tests.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// How long [`Client::upload_media`] waits for X to process a video (default 5 minutes).
    pub fn upload_wait(mut self, wait: Duration) -> Self {
        self.upload_wait = wait;
        self
    }

    http_builder_methods!();

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client> {
        let auth = self.auth.ok_or_else(|| {
            Error::config("X DMs need user credentials: `.oauth1(Credentials)` or `.oauth2(UserSession)`")
        })?;
        if matches!(&auth, Auth::OAuth1(credentials) if !credentials.has_token()) {
            return Err(Error::config(
                "X DMs need a user's access token: `Credentials::consumer` only signs app requests",
            ));
        }
        let base = self.base_url.trim_end_matches('/').to_owned();
        Url::parse(&base).map_err(|_| Error::config("invalid base URL"))?;
        if let Some(id) = &self.user_id {
            check_id("user_id", id)?;
        }
        let webhook = self
            .consumer_secret
            .map(|secret| {
                let verifier = WebhookVerifier::new(secret).configured()?;
                Ok::<_, Error>(match &self.user_id {
                    Some(id) => verifier.for_user(id.clone()),
                    None => verifier,
                })
            })
            .transpose()?;
        Ok(Client {
            inner: Arc::new(Inner {
                auth,
                base,
                exec: self.http.executor("twitter")?,
                user_id: self.user_id,
                webhook,
                upload_wait: self.upload_wait,
            }),
        })
    }
}
