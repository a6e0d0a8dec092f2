//! Simulated people, and the signed webhooks the sandbox sends for them and for the
//! messages it accepted.

use std::time::Instant;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use serde_json::{Value, json};

use super::server::now_secs;
use super::{Delivered, Provider, Sandbox, SandboxState, credentials};
use crate::webhook::WebhookRequest;

/// A simulated person on one provider: what they do arrives at your app as that provider's
/// signed webhook.
#[derive(Debug, Clone)]
pub struct Person {
    sandbox: Sandbox,
    provider: Provider,
    address: String,
    name: String,
}

impl Person {
    pub(crate) fn new(sandbox: Sandbox, provider: Provider, address: &str) -> Self {
        let tail: String = address
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        Self {
            sandbox,
            provider,
            address: address.to_owned(),
            name: format!("Person {tail}"),
        }
    }

    /// Sets the profile name their messages carry.
    #[must_use]
    pub fn named(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Their number (E.164) or user id.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The messages providers accepted for this person, oldest first.
    pub fn inbox(&self) -> Vec<Delivered> {
        self.sandbox
            .delivered()
            .into_iter()
            .filter(|d| d.to == self.address && same_network(d.provider, self.provider))
            .collect()
    }

    /// Sends a text; returns the provider's message id. On WhatsApp it opens the 24-hour
    /// window; on SMS, STOP (and the other opt-out words) makes Twilio refuse further
    /// messages with 21610 until START.
    pub fn sends_text(&self, text: &str) -> String {
        self.message(Content::Text(text))
    }

    /// Taps a reply button (WhatsApp), or picks a quick-reply option (X); on SMS it
    /// answers with the button's title.
    pub fn taps_button(&self, id: &str, title: &str) -> String {
        self.message(Content::Button(id, title))
    }

    /// Sends a photo with an optional caption (stored in the sandbox, downloadable through
    /// the WhatsApp media API).
    pub fn sends_image(&self, caption: Option<&str>) -> String {
        self.message(Content::Image(caption))
    }

    /// Stops marketing messages in WhatsApp (a `user_preferences` webhook); further
    /// marketing templates fail with 131050.
    pub fn stops_marketing(&self) {
        let state = self.sandbox.state();
        state
            .ledger()
            .marketing_stopped
            .insert(self.address.clone(), true);
        let value = json!({"messaging_product": "whatsapp", "metadata": metadata(),
            "contacts": [{"profile": {"name": self.name}, "wa_id": digits(&self.address)}],
            "user_preferences": [{"wa_id": digits(&self.address), "detail": "User requested to stop marketing messages",
                "category": "marketing_messages", "value": "stop", "timestamp": now_secs()}]});
        state.deliver(whatsapp_webhook(state, "user_preferences", &value));
    }

    /// Blocks the business on X (a `block_events` webhook); further DMs fail with 349.
    pub fn blocks(&self) {
        let state = self.sandbox.state();
        state.ledger().x_blocked.insert(self.address.clone(), true);
        let body = json!({"for_user_id": credentials::X_BUSINESS_ID, "block_events": [{"type": "block",
            "created_timestamp": (now_secs() * 1000).to_string(),
            "source": {"id": self.address, "name": self.name}, "target": {"id": credentials::X_BUSINESS_ID}}]});
        state.deliver(x_webhook(state, &body));
    }

    fn message(&self, content: Content<'_>) -> String {
        let state = self.sandbox.state();
        let n = state.next_id();
        match self.provider {
            Provider::WhatsApp => {
                state
                    .ledger()
                    .last_inbound
                    .insert(self.address.clone(), Instant::now());
                let id = format!("wamid.SBX{n:020}");
                let mut message =
                    json!({"from": digits(&self.address), "id": id, "timestamp": now_secs().to_string()});
                match content {
                    Content::Text(text) => {
                        message["type"] = "text".into();
                        message["text"] = json!({"body": text});
                    }
                    Content::Button(button, title) => {
                        message["type"] = "interactive".into();
                        message["interactive"] =
                            json!({"type": "button_reply", "button_reply": {"id": button, "title": title}});
                    }
                    Content::Image(caption) => {
                        let media_id = format!("{}", 900_000_000_000_000 + n);
                        state.ledger().media.insert(
                            media_id.clone(),
                            ("image/jpeg".into(), Bytes::from_static(TINY_JPEG)),
                        );
                        message["type"] = "image".into();
                        message["image"] = json!({"id": media_id, "mime_type": "image/jpeg", "caption": caption,
                            "sha256": "sandbox"});
                    }
                }
                let value = json!({"messaging_product": "whatsapp", "metadata": metadata(),
                    "contacts": [{"profile": {"name": self.name}, "wa_id": digits(&self.address)}],
                    "messages": [message]});
                state.deliver(whatsapp_webhook(state, "messages", &value));
                id
            }
            Provider::Twilio | Provider::Vonage => {
                let sid = format!("SM{n:032x}");
                let body = match content {
                    Content::Text(text) => text.to_owned(),
                    Content::Button(_, title) => title.to_owned(),
                    Content::Image(caption) => caption.unwrap_or_default().to_owned(),
                };
                let mut params = vec![
                    ("MessageSid".to_owned(), sid.clone()),
                    ("SmsSid".to_owned(), sid.clone()),
                    (
                        "AccountSid".to_owned(),
                        credentials::TWILIO_ACCOUNT_SID.to_owned(),
                    ),
                    ("From".to_owned(), self.address.clone()),
                    ("To".to_owned(), credentials::TWILIO_NUMBER.to_owned()),
                    ("Body".to_owned(), body.clone()),
                    ("NumSegments".to_owned(), "1".to_owned()),
                    ("ApiVersion".to_owned(), "2010-04-01".to_owned()),
                ];
                if let Content::Image(_) = content {
                    params.push(("NumMedia".into(), "1".into()));
                    params.push((
                        "MediaUrl0".into(),
                        format!("{}/sandbox/media/{sid}.jpg", state.url),
                    ));
                    params.push(("MediaContentType0".into(), "image/jpeg".into()));
                } else {
                    params.push(("NumMedia".into(), "0".into()));
                }
                // Twilio's Advanced Opt-Out: the default keyword lists.
                let word = body.trim().to_ascii_uppercase();
                let opt = if [
                    "STOP",
                    "STOPALL",
                    "UNSUBSCRIBE",
                    "CANCEL",
                    "END",
                    "QUIT",
                    "REVOKE",
                    "OPTOUT",
                ]
                .contains(&word.as_str())
                {
                    state.ledger().sms_stopped.insert(self.address.clone(), true);
                    Some("STOP")
                } else if ["START", "YES", "UNSTOP"].contains(&word.as_str()) {
                    state.ledger().sms_stopped.remove(&self.address);
                    Some("START")
                } else if ["HELP", "INFO"].contains(&word.as_str()) {
                    Some("HELP")
                } else {
                    None
                };
                if let Some(opt) = opt {
                    params.push(("OptOutType".into(), opt.into()));
                }
                state.deliver(twilio_webhook(state, None, &params));
                sid
            }
            Provider::X => {
                let id = format!("{}", 1_900_000_000_000_000_000u64 + n);
                let mut data = json!({});
                match content {
                    Content::Text(text) => data["text"] = text.into(),
                    Content::Button(metadata, title) => {
                        data["text"] = title.into();
                        data["quick_reply_response"] = json!({"type": "options", "metadata": metadata});
                    }
                    Content::Image(caption) => {
                        let link = format!("https://t.co/sbx{n}");
                        data["text"] = format!("{} {link}", caption.unwrap_or_default()).trim().into();
                        data["attachment"] = json!({"type": "media", "media": {"id_str": id, "type": "photo", "url": link,
                            "media_url_https": format!("{}/sandbox/media/{id}.jpg", state.url)}});
                    }
                }
                state.ledger().x_events.push(super::server::x_event(
                    &id,
                    &self.address,
                    credentials::X_BUSINESS_ID,
                    data["text"].as_str(),
                ));
                let body = json!({"for_user_id": credentials::X_BUSINESS_ID,
                    "direct_message_events": [{"type": "message_create", "id": id,
                        "created_timestamp": (now_secs() * 1000).to_string(),
                        "message_create": {"target": {"recipient_id": credentials::X_BUSINESS_ID},
                            "sender_id": self.address, "message_data": data}}],
                    "users": {self.address.clone(): {"id": self.address, "name": self.name, "screen_name": self.name.replace(' ', "_")}}});
                state.deliver(x_webhook(state, &body));
                id
            }
        }
    }
}

enum Content<'a> {
    Text(&'a str),
    Button(&'a str, &'a str),
    Image(Option<&'a str>),
}

/// Twilio and Vonage reach the same phones.
fn same_network(a: Provider, b: Provider) -> bool {
    let sms = |p| matches!(p, Provider::Twilio | Provider::Vonage);
    a == b || (sms(a) && sms(b))
}

/// A 1×1 JPEG for simulated photos.
pub(crate) const TINY_JPEG: &[u8] = &[
    0xFF, 0xD8, 0xFF, 0xDB, 0x00, 0x43, 0x00, 0x08, 0x06, 0x06, 0x07, 0x06, 0x05, 0x08, 0x07, 0x07, 0x07,
    0x09, 0x09, 0x08, 0x0A, 0x0C, 0x14, 0x0D, 0x0C, 0x0B, 0x0B, 0x0C, 0x19, 0x12, 0x13, 0x0F, 0xFF, 0xD9,
];

pub(crate) fn digits(number: &str) -> String {
    number.trim_start_matches('+').to_owned()
}

pub(crate) fn metadata() -> Value {
    json!({"display_phone_number": digits(credentials::WHATSAPP_NUMBER),
        "phone_number_id": credentials::WHATSAPP_PHONE_NUMBER_ID})
}

fn request(url: String, headers: HeaderMap, body: Vec<u8>) -> WebhookRequest {
    WebhookRequest::new(Method::POST, url, headers, Bytes::from(body))
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// A WhatsApp notification with one change, signed with the app secret.
pub(crate) fn whatsapp_webhook(state: &SandboxState, field: &str, value: &Value) -> WebhookRequest {
    let body = json!({"object": "whatsapp_business_account",
        "entry": [{"id": "100000000000000", "changes": [{"field": field, "value": value}]}]})
    .to_string()
    .into_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let signature = crate::whatsapp::webhook::signature_header(credentials::WHATSAPP_APP_SECRET, &body);
    headers.insert(crate::whatsapp::webhook::SIGNATURE_HEADER, header(&signature));
    request(state.webhook_url(Provider::WhatsApp), headers, body)
}

/// A Twilio form webhook, signed with the auth token over the URL and parameters.
pub(crate) fn twilio_webhook(
    state: &SandboxState,
    url: Option<&str>,
    params: &[(String, String)],
) -> WebhookRequest {
    let url = url.map_or_else(|| state.webhook_url(Provider::Twilio), str::to_owned);
    let pairs: Vec<(&str, &str)> = params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let signature = crate::sms::twilio::signature::compute(credentials::TWILIO_AUTH_TOKEN, &url, &pairs);
    form_webhook(
        state,
        Provider::Twilio,
        Some(url),
        params,
        &[("x-twilio-signature", &signature)],
    )
}

/// A form-encoded webhook with these extra headers.
pub(crate) fn form_webhook(
    state: &SandboxState,
    provider: Provider,
    url: Option<String>,
    params: &[(String, String)],
    extra: &[(&'static str, &str)],
) -> WebhookRequest {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish()
        .into_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-www-form-urlencoded"),
    );
    for (name, value) in extra {
        headers.insert(*name, header(value));
    }
    request(url.unwrap_or_else(|| state.webhook_url(provider)), headers, body)
}

/// An X Account Activity delivery, signed with the consumer secret.
pub(crate) fn x_webhook(state: &SandboxState, body: &Value) -> WebhookRequest {
    let body = body.to_string().into_bytes();
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let signature =
        crate::twitter::webhook::signature_header(credentials::X_CONSUMER_SECRET.as_bytes(), &body);
    headers.insert(crate::twitter::webhook::SIGNATURE_HEADER, header(&signature));
    request(state.webhook_url(Provider::X), headers, body)
}
