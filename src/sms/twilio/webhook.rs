//! Twilio messaging webhooks: inbound messages and status callbacks, verified with
//! `X-Twilio-Signature` and normalized into [`InboundEvent`]s.
//!
//! ```
//! use http::{HeaderMap, Method};
//! use switchboard::{InboundContent, InboundEvent, WebhookOutcome, WebhookRequest};
//! use switchboard::sms::twilio::signature::compute;
//! use switchboard::sms::twilio::webhook::WebhookVerifier;
//!
//! let url = "https://example.com/twilio/sms/inbound";
//! let params = [("MessageSid", "SMaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), ("From", "+4917612345678"),
//!     ("To", "+4915112345678"), ("Body", "Hallo"), ("NumMedia", "0")];
//! let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(&params).finish();
//! let mut headers = HeaderMap::new();
//! headers.insert("x-twilio-signature", compute("auth-token", url, &params).parse()?);
//!
//! let verifier = WebhookVerifier::new("auth-token");
//! let request = WebhookRequest::new(Method::POST, url, headers, body);
//! let WebhookOutcome::Events(events) = verifier.handle(&request)? else { unreachable!() };
//! let InboundEvent::Message(m) = &events[0] else { unreachable!() };
//! assert_eq!(m.content, InboundContent::Text("Hallo".into()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::borrow::Cow;
use std::fmt;

use http::Method;

use super::message::MessageStatus;
use super::signature::SignatureValidator;
use crate::channel::ChannelKind;
use crate::error::RawBody;
use crate::model::address::{MaskedParams, PhoneNumber, UserId};
use crate::model::inbound::{
    ConsentAction, ConsentSignal, DeliveryError, DeliveryStatus, InboundContent, InboundEvent, InboundMedia,
    InboundMessage, Sender, StatusUpdate,
};
use crate::model::message::MediaKind;
use crate::webhook::{DEFAULT_MAX_BODY_BYTES, WebhookError, WebhookOutcome, WebhookRequest};

/// Verifies and parses Twilio messaging webhooks.
#[derive(Debug, Clone)]
pub struct WebhookVerifier {
    validator: SignatureValidator,
    max_body_bytes: usize,
}

impl WebhookVerifier {
    /// A verifier with the account's primary auth token.
    pub fn new(auth_token: &str) -> Self {
        Self::from_validator(SignatureValidator::new(auth_token))
    }

    /// The verifier, or the configuration error of an auth token or shared key it was given
    /// (empty, or shorter than [`MIN_SECRET_BYTES`](crate::webhook::MIN_SECRET_BYTES)).
    /// Such a verifier refuses every request anyway; call this at start-up to fail there.
    pub fn configured(mut self) -> crate::Result<Self> {
        self.validator = self.validator.configured()?;
        Ok(self)
    }

    /// A verifier with a configured validator (for example with a secondary token).
    pub fn from_validator(validator: SignatureValidator) -> Self {
        Self {
            validator,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The largest body accepted.
    #[must_use]
    pub fn max_body_bytes(mut self, limit: usize) -> Self {
        self.max_body_bytes = limit;
        self
    }

    /// Verifies the signature, then parses the inbound message or status callback (form
    /// body for POST, query string for GET) into events.
    pub fn handle(&self, request: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if !matches!(*request.method(), Method::POST | Method::GET) {
            return Err(WebhookError::MethodNotAllowed);
        }
        request.check_size(self.max_body_bytes)?;
        self.validator.verify(request)?;
        let form: Cow<'_, [u8]> = if request.method() == Method::GET {
            let query = request.url().split_once('?').map_or("", |(_, q)| q);
            Cow::Owned(query.split('#').next().unwrap_or_default().as_bytes().to_vec())
        } else {
            Cow::Borrowed(request.body())
        };
        let notification = parse(&form)?;
        Ok(WebhookOutcome::received(notification.into_events(&form)))
    }
}

/// A Twilio messaging webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notification {
    /// A message someone sent to one of your numbers.
    Inbound(Box<InboundSms>),
    /// A state change of a message you sent.
    Status(StatusCallback),
}

/// An inbound SMS or MMS. `Debug` masks the numbers.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InboundSms {
    /// `MessageSid`.
    pub message_sid: String,
    /// `AccountSid`.
    pub account_sid: Option<String>,
    /// `MessagingServiceSid`.
    pub messaging_service_sid: Option<String>,
    /// `From`: the sender (E.164, or a channel address such as `whatsapp:+…`).
    pub from: String,
    /// `To`: your number.
    pub to: String,
    /// `Body`.
    pub body: String,
    /// `ButtonText`: the title of a WhatsApp quick-reply button the person tapped.
    pub button_text: Option<String>,
    /// `ButtonPayload`: the payload set on that button.
    pub button_payload: Option<String>,
    /// `ExternalUserId`: the WhatsApp business-scoped user id (`whatsapp:US.…`), sent
    /// beside or instead of a phone number in `From`.
    pub external_user_id: Option<String>,
    /// The attached media (`MediaUrlN`, `MediaContentTypeN`).
    pub media: Vec<MediaItem>,
    /// `NumSegments`.
    pub num_segments: Option<u32>,
    /// `OptOutType`: set when Advanced Opt-Out recognised a keyword.
    pub opt_out_type: Option<OptOutType>,
    /// Best-effort geography of the sender and recipient (`FromCountry`, `ToCity`…).
    pub geo: Geo,
    /// Every parameter as received, including ones this version does not model.
    pub params: Vec<(String, String)>,
}

impl std::fmt::Debug for InboundSms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InboundSms")
            .field("message_sid", &self.message_sid)
            .field("from", &crate::model::address::mask(&self.from))
            .field("to", &crate::model::address::mask(&self.to))
            .field("media", &self.media.len())
            .field("num_segments", &self.num_segments)
            .field("opt_out_type", &self.opt_out_type)
            .finish_non_exhaustive()
    }
}

/// An attached media file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MediaItem {
    /// `MediaUrlN`: fetch it with the account's credentials.
    pub url: String,
    /// `MediaContentTypeN`.
    pub content_type: Option<String>,
}

/// The keyword class Twilio's Advanced Opt-Out recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptOutType {
    /// STOP and its synonyms: Twilio now blocks messages to this sender (error 21610).
    Stop,
    /// START and its synonyms.
    Start,
    /// HELP and its synonyms.
    Help,
    /// Another value, as sent.
    Unknown(String),
}

/// Best-effort geography Twilio adds to inbound messages; any part may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Geo {
    /// `FromCountry`.
    pub from_country: Option<String>,
    /// `FromState`.
    pub from_state: Option<String>,
    /// `FromCity`.
    pub from_city: Option<String>,
    /// `FromZip`.
    pub from_zip: Option<String>,
    /// `ToCountry`.
    pub to_country: Option<String>,
    /// `ToState`.
    pub to_state: Option<String>,
    /// `ToCity`.
    pub to_city: Option<String>,
    /// `ToZip`.
    pub to_zip: Option<String>,
}

/// A status callback. `Debug` masks the numbers in the parameters.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StatusCallback {
    /// `MessageSid`.
    pub message_sid: String,
    /// `MessageStatus`.
    pub status: MessageStatus,
    /// `ErrorCode`, for failed and undelivered messages.
    pub error_code: Option<i64>,
    /// `RawDlrDoneDate`: the carrier's delivery-report time, `YYMMDDhhmm`.
    pub raw_dlr_done_date: Option<String>,
    /// `AccountSid`.
    pub account_sid: Option<String>,
    /// `MessagingServiceSid`.
    pub messaging_service_sid: Option<String>,
    /// Every parameter as received.
    pub params: Vec<(String, String)>,
}

impl fmt::Debug for StatusCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StatusCallback")
            .field("message_sid", &self.message_sid)
            .field("status", &self.status)
            .field("error_code", &self.error_code)
            .field("raw_dlr_done_date", &self.raw_dlr_done_date)
            .field("account_sid", &self.account_sid)
            .field("messaging_service_sid", &self.messaging_service_sid)
            .field("params", &MaskedParams(&self.params))
            .finish()
    }
}

/// Parses a form-encoded Twilio messaging webhook (without verifying it).
pub fn parse(form: &[u8]) -> Result<Notification, WebhookError> {
    let params: Vec<(String, String)> = url::form_urlencoded::parse(form).into_owned().collect();
    let get = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let non_empty = |name: &str| get(name).filter(|v| !v.is_empty()).map(str::to_owned);
    let Some(message_sid) = non_empty("MessageSid").or_else(|| non_empty("SmsMessageSid")) else {
        return Err(WebhookError::MalformedPayload {
            path: "MessageSid".into(),
            raw: RawBody::new(form.to_vec()),
        });
    };
    let account_sid = non_empty("AccountSid");
    let messaging_service_sid = non_empty("MessagingServiceSid");
    match get("MessageStatus").or(get("SmsStatus")) {
        Some(status) if status != "received" && status != "receiving" => {
            Ok(Notification::Status(StatusCallback {
                status: MessageStatus::from(status.to_owned()),
                error_code: get("ErrorCode").and_then(|c| c.trim().parse().ok()),
                raw_dlr_done_date: non_empty("RawDlrDoneDate"),
                message_sid,
                account_sid,
                messaging_service_sid,
                params,
            }))
        }
        _ => {
            let num_media: usize = get("NumMedia").and_then(|n| n.parse().ok()).unwrap_or(0);
            let media = media_items(&params, num_media);
            let opt_out_type = non_empty("OptOutType").map(|t| match t.to_ascii_uppercase().as_str() {
                "STOP" => OptOutType::Stop,
                "START" => OptOutType::Start,
                "HELP" => OptOutType::Help,
                _ => OptOutType::Unknown(t),
            });
            let geo = Geo {
                from_country: non_empty("FromCountry"),
                from_state: non_empty("FromState"),
                from_city: non_empty("FromCity"),
                from_zip: non_empty("FromZip"),
                to_country: non_empty("ToCountry"),
                to_state: non_empty("ToState"),
                to_city: non_empty("ToCity"),
                to_zip: non_empty("ToZip"),
            };
            Ok(Notification::Inbound(Box::new(InboundSms {
                from: get("From").unwrap_or_default().to_owned(),
                to: get("To").unwrap_or_default().to_owned(),
                body: get("Body").unwrap_or_default().to_owned(),
                button_text: non_empty("ButtonText"),
                button_payload: non_empty("ButtonPayload"),
                external_user_id: non_empty("ExternalUserId"),
                num_segments: get("NumSegments").and_then(|n| n.parse().ok()),
                media,
                opt_out_type,
                geo,
                message_sid,
                account_sid,
                messaging_service_sid,
                params,
            })))
        }
    }
}

/// The `MediaUrl{i}` / `MediaContentType{i}` pairs with `i < num_media`, in index order.
/// The work is bounded by the parameters present, never by the claimed `NumMedia`: a forged
/// or garbled `NumMedia=99999999999` costs nothing.
fn media_items(params: &[(String, String)], num_media: usize) -> Vec<MediaItem> {
    // The first occurrence of a name wins, as everywhere else in the form.
    let indexed = |prefix: &str| {
        let mut found: Vec<(usize, &str)> = params
            .iter()
            .filter_map(|(k, v)| Some((media_index(k, prefix)?, v.as_str())))
            .filter(|&(i, _)| i < num_media)
            .collect();
        found.sort_by_key(|&(i, _)| i);
        found.dedup_by_key(|&mut (i, _)| i);
        found
    };
    let types = indexed("MediaContentType");
    indexed("MediaUrl")
        .into_iter()
        .filter(|(_, url)| !url.is_empty())
        .map(|(i, url)| MediaItem {
            url: url.to_owned(),
            content_type: types
                .binary_search_by_key(&i, |&(j, _)| j)
                .ok()
                .map(|at| types[at].1)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        })
        .collect()
}

/// `i` of a `{prefix}{i}` name, written as Twilio writes it (decimal, no sign, no leading zero).
fn media_index(name: &str, prefix: &str) -> Option<usize> {
    let digits = name.strip_prefix(prefix)?;
    let canonical = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// A Twilio address without its channel prefix (`whatsapp:+4917…` → `+4917…`).
fn unprefixed(address: &str) -> &str {
    address.rsplit_once(':').map_or(address, |(_, rest)| rest)
}

/// A Twilio address (`+4917…`, `whatsapp:+4917…`) as a phone number, if it is one.
fn phone(address: &str) -> Option<PhoneNumber> {
    PhoneNumber::parse(unprefixed(address)).ok()
}

impl Notification {
    /// The neutral events; `raw` is the form they were parsed from, kept for content the
    /// neutral model does not carry (an MMS with text and several files).
    pub fn into_events(self, raw: &[u8]) -> Vec<InboundEvent> {
        match self {
            Self::Inbound(sms) => {
                let sms = *sms;
                // A WhatsApp user without a shared number arrives as `From=whatsapp:US.…`
                // and `ExternalUserId`: keep the business-scoped id as the sender's id.
                let phone = phone(&sms.from);
                let user_id = sms
                    .external_user_id
                    .as_deref()
                    .map(|id| unprefixed(id).to_owned())
                    .or_else(|| phone.is_none().then(|| unprefixed(&sms.from).to_owned()))
                    .filter(|id| !id.is_empty())
                    .and_then(|id| UserId::new(id).ok());
                let from = Sender {
                    phone,
                    user_id,
                    ..Sender::default()
                };
                let button = sms.button_payload.clone().or_else(|| sms.button_text.clone());
                let content = match (sms.media.as_slice(), sms.body.is_empty()) {
                    _ if button.is_some() => InboundContent::ButtonReply {
                        id: button.unwrap_or_default(),
                        title: sms.button_text.clone().unwrap_or_else(|| sms.body.clone()),
                    },
                    ([], _) => InboundContent::Text(sms.body),
                    ([item], true) => InboundContent::Media(InboundMedia {
                        kind: media_kind(item.content_type.as_deref()),
                        id: None,
                        url: Some(item.url.clone()),
                        mime_type: item.content_type.clone(),
                        caption: None,
                        filename: None,
                        sha256: None,
                        voice: false,
                    }),
                    _ => InboundContent::Other {
                        kind: "mms".into(),
                        raw: RawBody::new(raw.to_vec()),
                    },
                };
                let consent = match &sms.opt_out_type {
                    Some(OptOutType::Stop) => Some(ConsentAction::OptOut),
                    Some(OptOutType::Start) => Some(ConsentAction::OptIn),
                    _ => None,
                };
                let mut events = vec![InboundEvent::Message(InboundMessage {
                    channel: ChannelKind::Sms,
                    id: sms.message_sid.clone(),
                    from: from.clone(),
                    to: Some(sms.to),
                    group: None,
                    timestamp: None,
                    content,
                    reply_to: None,
                    forwarded: false,
                    part: None,
                })];
                if let Some(action) = consent {
                    events.push(InboundEvent::Consent(ConsentSignal {
                        channel: ChannelKind::Sms,
                        id: Some(format!("{}:opt-out-type", sms.message_sid)),
                        from,
                        action,
                        scope: None,
                        detail: Some("Twilio Advanced Opt-Out keyword".into()),
                        timestamp: None,
                    }));
                }
                events
            }
            Self::Status(callback) => {
                let errors = callback
                    .error_code
                    .map(|code| DeliveryError {
                        code: Some(code),
                        class: super::classify(code),
                        message: String::new(),
                        details: None,
                    })
                    .into_iter()
                    .collect();
                // The recipient is what a 21610 ("replied STOP") must be recorded under.
                let recipient = callback
                    .params
                    .iter()
                    .find(|(k, _)| k == "To")
                    .map(|(_, to)| unprefixed(to).to_owned())
                    .filter(|to| !to.is_empty());
                vec![InboundEvent::Status(StatusUpdate {
                    channel: ChannelKind::Sms,
                    message_id: callback.message_sid,
                    status: callback.status.to_delivery_status(),
                    recipient,
                    group: None,
                    timestamp: None,
                    errors,
                    pricing: None,
                    tracking: None,
                })]
            }
        }
    }
}

fn media_kind(content_type: Option<&str>) -> MediaKind {
    match content_type.and_then(|t| t.split('/').next()) {
        Some("image") => MediaKind::Image,
        Some("video") => MediaKind::Video,
        Some("audio") => MediaKind::Audio,
        _ => MediaKind::Document,
    }
}

impl MessageStatus {
    /// The neutral delivery state.
    pub fn to_delivery_status(&self) -> DeliveryStatus {
        match self {
            Self::Queued | Self::Accepted | Self::Scheduled | Self::Sending => DeliveryStatus::Queued,
            Self::Sent => DeliveryStatus::Sent,
            Self::Delivered => DeliveryStatus::Delivered,
            Self::Read => DeliveryStatus::Read,
            Self::Failed | Self::Undelivered => DeliveryStatus::Failed,
            other => DeliveryStatus::Unknown(other.as_str().to_owned()),
        }
    }
}
