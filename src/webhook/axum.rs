//! A ready axum endpoint for any [`Channel`]'s webhooks (feature `axum`).
//!
//! It reads the raw body up to the limit, answers handshakes, returns `401` on a bad
//! signature, and `200` as soon as a verified request is parsed; then it hands the events
//! to your async callback on a separate task, so the provider never waits for your app.
//! A verified but unparseable payload is acknowledged too (or the provider would retry it
//! for days) and reaches the callback as an [`InboundEvent::Unknown`] with the raw body.
//!
//! ```no_run
//! use std::sync::Arc;
//! use switchboard::webhook::MemoryDeduplicator;
//! use switchboard::webhook::axum::WebhookEndpoint;
//! use switchboard::whatsapp::Client;
//!
//! # async fn run(client: Client) -> std::io::Result<()> {
//! let endpoint = WebhookEndpoint::new(Arc::new(client), |events| async move {
//!     for event in events {
//!         println!("{event:?}");
//!     }
//! })
//! .deduplicator(Arc::new(MemoryDeduplicator::default()));
//! let app = axum::Router::new().nest("/webhooks/whatsapp", endpoint.into_router());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await
//! # }
//! ```

use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;

use super::{DEFAULT_MAX_BODY_BYTES, Deduplicator, WebhookError, WebhookOutcome, WebhookRequest, dedup};
use crate::channel::Channel;
use crate::model::inbound::{InboundEvent, UnknownEvent};

/// The events callback: an async function of the events, run after the response is sent.
type Callback = dyn Fn(Vec<InboundEvent>) -> futures_util::future::BoxFuture<'static, ()> + Send + Sync;

/// A webhook endpoint for one channel. Build it, then mount [`into_router`](Self::into_router).
pub struct WebhookEndpoint {
    channel: Arc<dyn Channel>,
    on_events: Arc<Callback>,
    deduplicator: Option<Arc<dyn Deduplicator>>,
    public_base_url: Option<String>,
    max_body_bytes: usize,
}

impl WebhookEndpoint {
    /// An endpoint that verifies with `channel` and passes events to `on_events`.
    pub fn new<F, Fut>(channel: Arc<dyn Channel>, on_events: F) -> Self
    where
        F: Fn(Vec<InboundEvent>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        Self {
            channel,
            on_events: Arc::new(move |events| Box::pin(on_events(events))),
            deduplicator: None,
            public_base_url: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// Drops events already delivered (providers retry, and Meta delivers to every
    /// subscribed app). A deduplicator failure is logged and the events are delivered.
    #[must_use]
    pub fn deduplicator(mut self, deduplicator: Arc<dyn Deduplicator>) -> Self {
        self.deduplicator = Some(deduplicator);
        self
    }

    /// The public scheme and host the provider calls (`https://example.com`), for providers
    /// that sign the full URL (Twilio). The request's path and query are appended.
    #[must_use]
    pub fn public_base_url(mut self, url: impl Into<String>) -> Self {
        self.public_base_url = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// The largest body read (default [`DEFAULT_MAX_BODY_BYTES`]); larger ones get `413`.
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// A router answering every method at its root; mount it with `Router::nest`.
    pub fn into_router(self) -> Router {
        Router::new().route("/", any(handle)).with_state(Arc::new(self))
    }
}

async fn handle(
    State(endpoint): State<Arc<WebhookEndpoint>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let Ok(body) = to_bytes(body, endpoint.max_body_bytes).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response();
    };
    let path_and_query = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let url = match &endpoint.public_base_url {
        Some(base) => format!("{base}{path_and_query}"),
        None => uri.to_string(),
    };
    let request = WebhookRequest::new(method, url, headers, body);
    let events = match endpoint.channel.handle_webhook(&request) {
        Ok(WebhookOutcome::Handshake(handshake)) => return handshake.into_response().map(Body::from),
        Ok(WebhookOutcome::Events(events)) => events,
        Err(WebhookError::MalformedPayload { path, raw }) => {
            tracing::warn!(channel = %endpoint.channel.kind(), path, "verified webhook payload could not be parsed; kept raw");
            vec![InboundEvent::Unknown(UnknownEvent {
                channel: endpoint.channel.kind(),
                kind: "malformed_payload".into(),
                raw,
            })]
        }
        Err(err) => {
            tracing::warn!(channel = %endpoint.channel.kind(), error = %err, "webhook refused");
            return (err.status(), err.to_string()).into_response();
        }
    };
    let endpoint = Arc::clone(&endpoint);
    tokio::spawn(async move {
        let mut events = events;
        if let Some(deduplicator) = &endpoint.deduplicator
            && let Err(err) = dedup(&mut events, deduplicator.as_ref()).await
        {
            tracing::error!(error = %err, "deduplicator failed; delivering the unchecked events");
        }
        if !events.is_empty() {
            (endpoint.on_events)(events).await;
        }
    });
    StatusCode::OK.into_response()
}
