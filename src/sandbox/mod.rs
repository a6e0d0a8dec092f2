//! An offline emulator of the provider APIs (feature `sandbox`): WhatsApp Cloud API
//! (messages, media), Twilio Messages, Vonage SMS and X Direct Messages on one local HTTP
//! server, with simulated people who write back through correctly signed webhooks.
//!
//! The clients, pointed at [`Sandbox::url`], cannot tell it from the real APIs: it checks
//! the auth header (it recomputes X's OAuth 1.0a signature), required fields and limits,
//! and answers with each provider's real error envelopes and codes:
//!
//! - WhatsApp: a free-form message outside the 24-hour window fails with 131047 and a
//!   marketing template to someone who stopped marketing with 131050 (both as failed
//!   status webhooks, as Meta does); throughput (130429) and the pair rate (131056) are
//!   refused at once.
//! - Twilio: 21610 to a number that texted STOP, 21211 for an invalid `To`, 20003 for bad
//!   credentials.
//! - X: 429 with `x-rate-limit-*` headers beyond the per-user window, 349 after a block.
//!
//! Every accepted message produces signed status webhooks (sent, delivered, read, or
//! failed). Webhooks queue up in process ([`Sandbox::webhooks`]) or are posted to your URL
//! ([`SandboxBuilder::deliver_to`]). Every request is recorded ([`Sandbox::requests`]) and
//! faults can be injected ([`Faults`]).
//!
//! ```
//! # tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap().block_on(async {
//! use switchboard::sandbox::Sandbox;
//! use switchboard::{Address, Channel, InboundEvent, OutboundMessage, WebhookOutcome};
//!
//! let sandbox = Sandbox::start().await?;
//! let whatsapp = sandbox.whatsapp();
//! let anna = sandbox.whatsapp_user("+4917612345678");
//! anna.sends_text("Hi, is my parcel on its way?");
//! for request in sandbox.webhooks() {
//!     if let WebhookOutcome::Events(events) = whatsapp.handle_webhook(&request).unwrap() {
//!         assert!(matches!(events[0], InboundEvent::Message(_)));
//!     }
//! }
//! let to = Address::phone("+4917612345678")?;
//! whatsapp.send(&OutboundMessage::text(to, "Yes, it arrives tomorrow.")).await?;
//! assert_eq!(anna.inbox()[0].text.as_deref(), Some("Yes, it arrives tomorrow."));
//! # Ok::<(), switchboard::Error>(())
//! # }).unwrap();
//! ```

mod people;
mod server;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{HeaderMap, Method};

pub use people::Person;

use crate::error::{Error, Result};
use crate::webhook::WebhookRequest;

/// The sandbox's fixed credentials; the ready-made clients use them.
pub mod credentials {
    /// WhatsApp access token.
    pub const WHATSAPP_TOKEN: &str = "sandbox-whatsapp-token";
    /// WhatsApp business phone number id.
    pub const WHATSAPP_PHONE_NUMBER_ID: &str = "100000000000001";
    /// WhatsApp business number.
    pub const WHATSAPP_NUMBER: &str = "+15550000001";
    /// WhatsApp app secret (signs webhooks).
    pub const WHATSAPP_APP_SECRET: &str = "sandbox-whatsapp-app-secret";
    /// Twilio Account SID.
    pub const TWILIO_ACCOUNT_SID: &str = "AC00000000000000000000000000000000";
    /// Twilio auth token (signs webhooks).
    pub const TWILIO_AUTH_TOKEN: &str = "sandbox-twilio-auth-token";
    /// Twilio sending number.
    pub const TWILIO_NUMBER: &str = "+15550000002";
    /// Vonage API key.
    pub const VONAGE_API_KEY: &str = "sandboxkey";
    /// Vonage API secret.
    pub const VONAGE_API_SECRET: &str = "sandbox-vonage-secret";
    /// Vonage signature secret (signs webhooks with HMAC-SHA256).
    pub const VONAGE_SIGNATURE_SECRET: &str = "sandbox-vonage-signature-secret";
    /// X consumer key.
    pub const X_CONSUMER_KEY: &str = "sandbox-x-consumer-key";
    /// X consumer secret (signs webhooks).
    pub const X_CONSUMER_SECRET: &str = "sandbox-x-consumer-secret";
    /// X access token of the business account.
    pub const X_ACCESS_TOKEN: &str = "2000000000-sandbox-x-access-token";
    /// X access token secret.
    pub const X_TOKEN_SECRET: &str = "sandbox-x-token-secret";
    /// The business account's X user id.
    pub const X_BUSINESS_ID: &str = "2000000000";
    /// An OAuth 2.0 user token the X emulation accepts as `Bearer`.
    pub const X_BEARER_TOKEN: &str = "sandbox-x-user-token";
}

/// Which provider API a request or webhook belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// WhatsApp Cloud API.
    WhatsApp,
    /// Twilio Messages.
    Twilio,
    /// Vonage SMS API.
    Vonage,
    /// X Direct Messages.
    X,
}

impl Provider {
    /// A lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WhatsApp => "whatsapp",
            Self::Twilio => "twilio",
            Self::Vonage => "vonage",
            Self::X => "x",
        }
    }
}

/// Faults to inject into API answers, for reliability tests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[non_exhaustive]
pub struct Faults {
    /// Share of requests (0.0 to 1.0) answered with the provider's transient server error,
    /// without processing them.
    pub error_rate: f64,
    /// Share of requests processed and then answered with a connection that breaks before
    /// the answer is complete: the message went out, the client cannot know.
    pub drop_rate: f64,
    /// Delay before every answer.
    pub latency: Duration,
}

impl Faults {
    /// No faults.
    pub fn none() -> Self {
        Self::default()
    }

    /// Answers this share of requests with a server error.
    #[must_use]
    pub fn error_rate(mut self, rate: f64) -> Self {
        self.error_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Breaks the connection after processing this share of requests.
    #[must_use]
    pub fn drop_rate(mut self, rate: f64) -> Self {
        self.drop_rate = rate.clamp(0.0, 1.0);
        self
    }

    /// Delays every answer.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

/// One API request the sandbox received, as received, with the status it answered.
#[derive(Clone)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The provider API, if the path belongs to one.
    pub provider: Option<Provider>,
    /// The method.
    pub method: Method,
    /// Path and query.
    pub path: String,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
    /// The status answered.
    pub status: u16,
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Headers carry credentials; bodies carry numbers.
        f.debug_struct("RecordedRequest")
            .field("provider", &self.provider)
            .field("method", &self.method)
            .field("path", &self.path)
            .field("body_bytes", &self.body.len())
            .field("status", &self.status)
            .finish()
    }
}

/// A message a provider accepted for a person.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivered {
    /// Through which provider.
    pub provider: Provider,
    /// The provider's message id.
    pub id: String,
    /// The recipient: E.164 for phone numbers, else the user id.
    pub to: String,
    /// `text`, `template`, `image`, `interactive`…
    pub kind: String,
    /// The text, for text messages (or a template's name).
    pub text: Option<String>,
    /// Whether the person's phone received it (a failed status otherwise).
    pub delivered: bool,
}

/// Configures a [`Sandbox`].
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until `start` is called"]
pub struct SandboxBuilder {
    whatsapp_mps: u32,
    x_window: (u32, Duration),
    marketing_templates: Vec<String>,
    pub(crate) without_whatsapp: Vec<String>,
    auto_read: bool,
    faults: Faults,
    deliver_to: Option<String>,
}

impl Default for SandboxBuilder {
    fn default() -> Self {
        Self {
            whatsapp_mps: 80,
            x_window: (15, Duration::from_secs(15 * 60)),
            marketing_templates: Vec::new(),
            without_whatsapp: Vec::new(),
            auto_read: true,
            faults: Faults::none(),
            deliver_to: None,
        }
    }
}

impl SandboxBuilder {
    /// WhatsApp throughput per business number (default 80 messages per second; beyond
    /// it, 130429).
    pub fn whatsapp_throughput(mut self, mps: u32) -> Self {
        self.whatsapp_mps = mps.max(1);
        self
    }

    /// X sends allowed per window (default 15 per 15 minutes; beyond it, 429).
    pub fn x_rate_limit(mut self, sends: u32, window: Duration) -> Self {
        self.x_window = (sends.max(1), window);
        self
    }

    /// A WhatsApp template of category marketing: refused (131050) for people who stopped
    /// marketing messages. Other templates are utility.
    pub fn marketing_template(mut self, name: impl Into<String>) -> Self {
        self.marketing_templates.push(name.into());
        self
    }

    /// A number with no WhatsApp account: messages to it are accepted, then fail in a
    /// status webhook with 131026 ("message undeliverable"), as Meta does.
    pub fn without_whatsapp(mut self, number: impl Into<String>) -> Self {
        self.without_whatsapp.push(number.into());
        self
    }

    /// Whether people read what they receive (a `read` status after `delivered`; default on).
    pub fn auto_read(mut self, on: bool) -> Self {
        self.auto_read = on;
        self
    }

    /// Injects these faults from the start.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Posts webhooks to `{url}/whatsapp`, `{url}/twilio`, `{url}/vonage` or `{url}/x`
    /// instead of queueing them in process.
    pub fn deliver_to(mut self, url: impl Into<String>) -> Self {
        self.deliver_to = Some(url.into().trim_end_matches('/').to_owned());
        self
    }

    /// Starts the server on 127.0.0.1, on a free port.
    pub async fn start(self) -> Result<Sandbox> {
        self.start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts the server on this address (standalone use).
    pub async fn start_on(self, addr: SocketAddr) -> Result<Sandbox> {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| Error::config("the sandbox could not listen").with_source(e))?;
        let addr = listener
            .local_addr()
            .map_err(|e| Error::config("the sandbox has no address").with_source(e))?;
        let webhook_client = match &self.deliver_to {
            Some(_) => Some(
                reqwest::Client::builder()
                    .build()
                    .map_err(|e| Error::config("no HTTP client for webhooks").with_source(e))?,
            ),
            None => None,
        };
        let state = Arc::new(SandboxState {
            url: format!("http://{addr}"),
            faults: Mutex::new(self.faults),
            config: self,
            webhook_client,
            ledger: Mutex::new(Ledger::default()),
            notify: tokio::sync::Notify::new(),
            ids: AtomicU64::new(1),
        });
        let router = axum::Router::new()
            .fallback(server::handle)
            .with_state(Arc::clone(&state));
        let task = tokio::spawn(async move {
            // The server runs until the sandbox is dropped and the task aborted.
            let _ = axum::serve(listener, router).await;
        });
        Ok(Sandbox {
            state,
            _task: Arc::new(AbortOnDrop(task)),
        })
    }
}

/// What the sandbox remembers.
#[derive(Default)]
pub(crate) struct Ledger {
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) delivered: Vec<Delivered>,
    pub(crate) webhooks: VecDeque<WebhookRequest>,
    /// When each WhatsApp user last wrote (the 24-hour window).
    pub(crate) last_inbound: HashMap<String, Instant>,
    /// WhatsApp users who stopped marketing messages.
    pub(crate) marketing_stopped: HashMap<String, bool>,
    /// SMS numbers that texted STOP.
    pub(crate) sms_stopped: HashMap<String, bool>,
    /// X users who blocked the business.
    pub(crate) x_blocked: HashMap<String, bool>,
    /// WhatsApp throughput of the business number, and the pair rate per recipient.
    pub(crate) whatsapp_bucket: Option<server::Bucket>,
    pub(crate) pair_buckets: HashMap<String, server::Bucket>,
    /// X sends in the current window.
    pub(crate) x_sends: VecDeque<Instant>,
    /// X DM events (v2 shape), oldest first, for the lookup endpoints.
    pub(crate) x_events: Vec<serde_json::Value>,
    /// X uploads in progress: id → (MIME type, declared size, bytes so far, finalized).
    pub(crate) x_uploads: HashMap<String, (String, u64, Vec<u8>, bool)>,
    /// Uploaded WhatsApp media: id → (MIME type, bytes).
    pub(crate) media: HashMap<String, (String, Bytes)>,
}

pub(crate) struct SandboxState {
    pub(crate) url: String,
    pub(crate) config: SandboxBuilder,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) webhook_client: Option<reqwest::Client>,
    pub(crate) ledger: Mutex<Ledger>,
    pub(crate) notify: tokio::sync::Notify,
    pub(crate) ids: AtomicU64,
}

impl SandboxState {
    pub(crate) fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh number for ids.
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Queues a webhook or posts it to the configured URL.
    pub(crate) fn deliver(&self, request: WebhookRequest) {
        match (&self.webhook_client, &self.config.deliver_to) {
            (Some(client), Some(_)) => {
                let mut http = client.request(request.method().clone(), request.url());
                for (name, value) in request.headers() {
                    http = http.header(name, value);
                }
                let http = http.body(request.body().clone());
                tokio::spawn(async move {
                    if let Err(error) = http.send().await {
                        tracing::warn!(%error, "the sandbox could not deliver a webhook");
                    }
                });
            }
            _ => {
                self.ledger().webhooks.push_back(request);
                self.notify.notify_waiters();
            }
        }
    }

    /// Where a provider's webhooks go: the configured URL, or a stand-in for signing.
    pub(crate) fn webhook_url(&self, provider: Provider) -> String {
        let base = self
            .config
            .deliver_to
            .clone()
            .unwrap_or_else(|| "https://app.example/webhooks".to_owned());
        format!("{base}/{}", provider.as_str())
    }
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// A running sandbox. Cheap to clone; the server stops when the last clone is dropped.
#[derive(Clone)]
pub struct Sandbox {
    state: Arc<SandboxState>,
    _task: Arc<AbortOnDrop>,
}

impl fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sandbox")
            .field("url", &self.state.url)
            .finish_non_exhaustive()
    }
}

impl Sandbox {
    /// Starts a sandbox with the defaults on a free local port.
    pub async fn start() -> Result<Self> {
        SandboxBuilder::default().start().await
    }

    /// Configures a sandbox.
    pub fn builder() -> SandboxBuilder {
        SandboxBuilder::default()
    }

    /// The base URL of every emulated API (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> &str {
        &self.state.url
    }

    /// A WhatsApp client for the sandbox's business number, with its app secret for webhooks.
    pub fn whatsapp(&self) -> crate::whatsapp::Client {
        crate::whatsapp::Client::builder()
            .access_token(credentials::WHATSAPP_TOKEN)
            .phone_number_id(credentials::WHATSAPP_PHONE_NUMBER_ID)
            .app_secret(credentials::WHATSAPP_APP_SECRET)
            .base_url(self.url())
            .build()
            .expect("the sandbox's WhatsApp settings are valid")
    }

    /// A Twilio client sending from the sandbox's number.
    pub fn twilio(&self) -> crate::sms::twilio::Client {
        crate::sms::twilio::Client::builder()
            .account_sid(credentials::TWILIO_ACCOUNT_SID)
            .auth_token(credentials::TWILIO_AUTH_TOKEN)
            .default_sender(credentials::TWILIO_NUMBER)
            .base_url(self.url())
            .build()
            .expect("the sandbox's Twilio settings are valid")
    }

    /// A Vonage client sending as "Sandbox".
    pub fn vonage(&self) -> crate::sms::vonage::Client {
        crate::sms::vonage::Client::builder()
            .api_key(credentials::VONAGE_API_KEY)
            .api_secret(credentials::VONAGE_API_SECRET)
            .signature_secret(
                credentials::VONAGE_SIGNATURE_SECRET,
                crate::sms::vonage::SignatureMethod::Sha256Hmac,
            )
            .default_from("Sandbox")
            .base_url(self.url())
            .build()
            .expect("the sandbox's Vonage settings are valid")
    }

    /// An X client for the sandbox's business account (OAuth 1.0a).
    pub fn x(&self) -> crate::twitter::Client {
        crate::twitter::Client::builder()
            .oauth1(crate::twitter::oauth1::Credentials::new(
                credentials::X_CONSUMER_KEY,
                credentials::X_CONSUMER_SECRET,
                credentials::X_ACCESS_TOKEN,
                credentials::X_TOKEN_SECRET,
            ))
            .user_id(credentials::X_BUSINESS_ID)
            .base_url(self.url())
            .build()
            .expect("the sandbox's X settings are valid")
    }

    /// A person on WhatsApp with this number.
    pub fn whatsapp_user(&self, number: &str) -> Person {
        Person::new(self.clone(), Provider::WhatsApp, number)
    }

    /// A person who texts the Twilio number from this number.
    pub fn sms_user(&self, number: &str) -> Person {
        Person::new(self.clone(), Provider::Twilio, number)
    }

    /// A person on X with this user id.
    pub fn x_user(&self, user_id: &str) -> Person {
        Person::new(self.clone(), Provider::X, user_id)
    }

    /// The webhooks queued so far, oldest first, taking them out of the queue.
    pub fn webhooks(&self) -> Vec<WebhookRequest> {
        self.state.ledger().webhooks.drain(..).collect()
    }

    /// Takes the queued webhooks `channel` accepts (verifies and parses) and returns their
    /// events, oldest first; the other webhooks (another provider's) stay queued.
    pub fn events(&self, channel: &dyn crate::Channel) -> Vec<crate::InboundEvent> {
        let mut ledger = self.state.ledger();
        let mut events = Vec::new();
        let queued = std::mem::take(&mut ledger.webhooks);
        for request in queued {
            match channel.handle_webhook(&request) {
                Ok(crate::WebhookOutcome::Events(mut parsed)) => events.append(&mut parsed),
                _ => ledger.webhooks.push_back(request),
            }
        }
        events
    }

    /// Waits up to `timeout` for the next webhook.
    pub async fn next_webhook(&self, timeout: Duration) -> Option<WebhookRequest> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.state.notify.notified();
            if let Some(request) = self.state.ledger().webhooks.pop_front() {
                return Some(request);
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    /// Every API request received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.ledger().requests.clone()
    }

    /// Every message accepted so far, in order.
    pub fn delivered(&self) -> Vec<Delivered> {
        self.state.ledger().delivered.clone()
    }

    /// Changes the injected faults.
    pub fn set_faults(&self, faults: Faults) {
        *self.state.faults.lock().unwrap_or_else(|p| p.into_inner()) = faults;
    }

    pub(crate) fn state(&self) -> &SandboxState {
        &self.state
    }
}
