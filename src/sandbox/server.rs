//! The emulated provider endpoints, behind one fallback handler that records every request.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::extract::State;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use super::people::{TINY_JPEG, digits, metadata, twilio_webhook, whatsapp_webhook, x_webhook};
use super::{Delivered, Provider, RecordedRequest, SandboxState, credentials};
use crate::model::address::PhoneNumber;

/// What an endpoint answers.
struct Answer {
    status: StatusCode,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Bytes,
}

impl Answer {
    fn json(status: StatusCode, body: &Value) -> Self {
        Self {
            status,
            content_type: "application/json",
            headers: Vec::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

/// Every request lands here: faults, dispatch, recording.
pub(crate) async fn handle(
    State(state): State<Arc<SandboxState>>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, 600 << 20).await.unwrap_or_default();
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(String::new, |p| p.as_str().to_owned());
    let segments: Vec<&str> = parts.uri.path().trim_matches('/').split('/').collect();
    let provider = provider_of(&segments);
    let faults = *state.faults.lock().unwrap_or_else(|p| p.into_inner());
    if !faults.latency.is_zero() {
        tokio::time::sleep(faults.latency).await;
    }
    let (answer, drop) = match provider {
        Some(p) if fastrand::f64() < faults.error_rate => (server_error(p), false),
        _ => {
            let answer = dispatch(
                &state,
                &parts.method,
                &segments,
                &parts.uri,
                &parts.headers,
                &body,
            );
            (answer, provider.is_some() && fastrand::f64() < faults.drop_rate)
        }
    };
    state.ledger().requests.push(RecordedRequest {
        provider,
        method: parts.method.clone(),
        path,
        headers: parts.headers.clone(),
        body,
        status: answer.status.as_u16(),
    });
    let mut response = if drop {
        // The request was processed; the answer breaks off: the client cannot know.
        let broken = futures_util::stream::iter([Err::<Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox: connection dropped",
        ))]);
        Response::new(Body::from_stream(broken))
    } else {
        Response::new(Body::from(answer.body))
    };
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(answer.content_type),
    );
    for (name, value) in answer.headers {
        if let Ok(value) = http::HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    }
    response
}

fn provider_of(segments: &[&str]) -> Option<Provider> {
    match segments {
        [version, ..]
            if version.starts_with('v') && version[1..].starts_with(|c: char| c.is_ascii_digit()) =>
        {
            Some(Provider::WhatsApp)
        }
        ["2010-04-01", ..] => Some(Provider::Twilio),
        ["sms", "json"] => Some(Provider::Vonage),
        ["2", ..] => Some(Provider::X),
        _ => None,
    }
}

fn dispatch(
    state: &SandboxState,
    method: &Method,
    segments: &[&str],
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> Answer {
    // Every WhatsApp and X endpoint needs the provider's auth; check it once.
    match provider_of(segments) {
        Some(Provider::WhatsApp) => {
            if let Some(refused) = whatsapp_auth(headers) {
                return refused;
            }
        }
        Some(Provider::X) if !x_authorized(state, method, uri, headers) => {
            return x_problem(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
        }
        _ => {}
    }
    match (method, segments) {
        (&Method::POST, [_, phone_number_id, "messages"])
            if provider_of(segments) == Some(Provider::WhatsApp) =>
        {
            whatsapp_send(state, phone_number_id, body)
        }
        (&Method::POST, [_, phone_number_id, "media"])
            if provider_of(segments) == Some(Provider::WhatsApp) =>
        {
            whatsapp_upload(state, phone_number_id, headers, body)
        }
        (&Method::GET | &Method::DELETE, [_, media_id])
            if provider_of(segments) == Some(Provider::WhatsApp) =>
        {
            whatsapp_media(state, method, media_id)
        }
        (&Method::GET, ["sandbox", "media", file]) => media_bytes(state, file),
        (&Method::POST, ["2010-04-01", "Accounts", sid, "Messages.json"]) => {
            twilio_send(state, sid, headers, body)
        }
        (&Method::POST, ["sms", "json"]) => vonage_send(state, body),
        (&Method::POST, ["2", "dm_conversations", "with", participant, "messages"]) => {
            x_send(state, participant, body)
        }
        (&Method::GET, ["2", "dm_events"]) => x_events(state, uri, None),
        (&Method::GET, ["2", "dm_conversations", "with", participant, "dm_events"]) => {
            x_events(state, uri, Some(participant))
        }
        (&Method::POST, ["2", "media", "upload", "initialize"]) => x_upload_init(state, body),
        (&Method::POST, ["2", "media", "upload", id, step @ ("append" | "finalize")]) => {
            x_upload_step(state, headers, body, id, step)
        }
        (&Method::GET, ["2", "media", "upload"]) => x_upload_status(state, uri),
        _ => Answer::json(
            StatusCode::NOT_FOUND,
            &json!({"error": "the sandbox does not emulate this endpoint"}),
        ),
    }
}

fn server_error(provider: Provider) -> Answer {
    match provider {
        Provider::WhatsApp => Answer::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": {"message": "Service temporarily unavailable", "type": "OAuthException", "code": 2,
                "is_transient": true, "fbtrace_id": "Sandbox"}}),
        ),
        Provider::Twilio => Answer::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"code": 20500, "message": "Internal Server Error", "status": 500}),
        ),
        Provider::Vonage => Answer::json(
            StatusCode::INTERNAL_SERVER_ERROR,
            &json!({"error": "internal error"}),
        ),
        Provider::X => Answer::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"title": "Service Unavailable", "type": "about:blank", "status": 503, "detail": "Service Unavailable"}),
        ),
    }
}

pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A token bucket: `capacity` at once, refilled at `per_second`.
pub(crate) struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn take(slot: &mut Option<Bucket>, capacity: f64, per_second: f64) -> bool {
        let now = Instant::now();
        let bucket = slot.get_or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        bucket.tokens =
            (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second).min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

// ---- WhatsApp ----

fn graph_error(status: StatusCode, code: i64, message: &str, details: Option<&str>) -> Answer {
    let mut error =
        json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "Sandbox"});
    if let Some(details) = details {
        error["error_data"] = json!({"messaging_product": "whatsapp", "details": details});
    }
    Answer::json(status, &json!({"error": error}))
}

fn whatsapp_auth(headers: &HeaderMap) -> Option<Answer> {
    let expected = format!("Bearer {}", credentials::WHATSAPP_TOKEN);
    let ok = headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    (!ok).then(|| {
        graph_error(
            StatusCode::UNAUTHORIZED,
            190,
            "Invalid OAuth access token - Cannot parse access token",
            None,
        )
    })
}

fn whatsapp_send(state: &SandboxState, phone_number_id: &str, body: &Bytes) -> Answer {
    let bad = |message: &str| graph_error(StatusCode::BAD_REQUEST, 100, message, None);
    if phone_number_id != credentials::WHATSAPP_PHONE_NUMBER_ID {
        return bad(&format!(
            "Unsupported post request. Object with ID '{phone_number_id}' does not exist"
        ));
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return bad("(#100) Invalid parameter");
    };
    if request["messaging_product"] != "whatsapp" {
        return bad("(#100) The parameter messaging_product is required.");
    }
    let Some(to) = request["to"].as_str().or(request["recipient"].as_str()) else {
        return bad("(#100) The parameter to is required.");
    };
    let to = format!("+{}", digits(to));
    let kind = request["type"].as_str().unwrap_or("text").to_owned();
    let text = match kind.as_str() {
        "text" => match request["text"]["body"].as_str() {
            Some(body) if !body.is_empty() && body.chars().count() <= 4096 => Some(body.to_owned()),
            _ => return bad("(#100) Param text['body'] is required and must be at most 4096 characters"),
        },
        "template" => match request["template"]["name"].as_str() {
            Some(name) => Some(name.to_owned()),
            None => return bad("(#100) The parameter template['name'] is required."),
        },
        "interactive" => request["interactive"]["body"]["text"].as_str().map(str::to_owned),
        other => request[other]["caption"].as_str().map(str::to_owned),
    };
    let mps = f64::from(state.config.whatsapp_mps);
    let mut ledger = state.ledger();
    let mut number_bucket = ledger.whatsapp_bucket.take();
    let allowed = Bucket::take(&mut number_bucket, mps, mps);
    ledger.whatsapp_bucket = number_bucket;
    if !allowed {
        return graph_error(
            StatusCode::BAD_REQUEST,
            130429,
            "(#130429) Rate limit hit",
            Some("Cloud API message throughput has been reached."),
        );
    }
    // The pair rate: bursts of up to 45, then one message every 6 seconds.
    let mut pair = ledger.pair_buckets.remove(&to);
    let pair_ok = Bucket::take(&mut pair, 45.0, 1.0 / 6.0);
    if let Some(pair) = pair {
        ledger.pair_buckets.insert(to.clone(), pair);
    }
    if !pair_ok {
        return graph_error(
            StatusCode::BAD_REQUEST,
            131056,
            "(#131056) (Business Account, Consumer Account) pair rate limit hit",
            Some(
                "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
            ),
        );
    }
    let window_open = ledger
        .last_inbound
        .get(&to)
        .is_some_and(|at| at.elapsed() < Duration::from_secs(24 * 3600));
    let marketing = kind == "template"
        && text
            .as_ref()
            .is_some_and(|name| state.config.marketing_templates.contains(name));
    let failure = if state.config.without_whatsapp.contains(&to) {
        Some((
            131026,
            "Message undeliverable",
            "Unable to deliver message. The recipient's phone number is not a WhatsApp phone number.",
        ))
    } else if kind != "template" && !window_open {
        Some((
            131047,
            "Re-engagement message",
            "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
        ))
    } else if marketing && ledger.marketing_stopped.get(&to).copied().unwrap_or(false) {
        Some((
            131050,
            "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business",
            "Marketing messages are not sent to users who stopped them.",
        ))
    } else {
        None
    };
    let id = format!("wamid.SBX{:020}", state.next_id());
    ledger.delivered.push(Delivered {
        provider: Provider::WhatsApp,
        id: id.clone(),
        to: to.clone(),
        kind: kind.clone(),
        text,
        delivered: failure.is_none(),
    });
    drop(ledger);
    let status = |name: &str| {
        let mut status = json!({"id": id, "status": name, "timestamp": now_secs().to_string(), "recipient_id": digits(&to)});
        if let Some(data) = request["biz_opaque_callback_data"].as_str() {
            status["biz_opaque_callback_data"] = data.into();
        }
        status
    };
    let mut statuses = Vec::new();
    match failure {
        Some((code, title, details)) => {
            let mut failed = status("failed");
            failed["errors"] =
                json!([{"code": code, "title": title, "message": title, "error_data": {"details": details}}]);
            statuses.push(failed);
        }
        None => {
            statuses.push(status("sent"));
            statuses.push(status("delivered"));
            if state.config.auto_read {
                statuses.push(status("read"));
            }
        }
    }
    for s in statuses {
        let value = json!({"messaging_product": "whatsapp", "metadata": metadata(), "statuses": [s]});
        state.deliver(whatsapp_webhook(state, "messages", &value));
    }
    Answer::json(
        StatusCode::OK,
        &json!({"messaging_product": "whatsapp", "contacts": [{"input": request["to"], "wa_id": digits(&to)}],
            "messages": [{"id": id, "message_status": "accepted"}]}),
    )
}

/// The parts of a `multipart/form-data` body: name → (content type, bytes).
fn multipart(headers: &HeaderMap, body: &Bytes) -> HashMap<String, (Option<String>, Bytes)> {
    let mut parts = HashMap::new();
    let Some(boundary) = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("boundary=").nth(1))
    else {
        return parts;
    };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let text = body.as_ref();
    let mut positions = Vec::new();
    let mut from = 0;
    while let Some(found) = find(&text[from..], delimiter.as_bytes()) {
        positions.push(from + found);
        from += found + delimiter.len();
    }
    for pair in positions.windows(2) {
        let part = &text[pair[0] + delimiter.len()..pair[1]];
        let Some(split) = find(part, b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&part[..split]);
        let content = &part[split + 4..part.len().saturating_sub(2).max(split + 4)];
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_default()
            .to_owned();
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Type: "))
            .map(str::to_owned);
        parts.insert(name, (content_type, body.slice_ref(content)));
    }
    parts
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn whatsapp_upload(state: &SandboxState, phone_number_id: &str, headers: &HeaderMap, body: &Bytes) -> Answer {
    if phone_number_id != credentials::WHATSAPP_PHONE_NUMBER_ID {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Unsupported post request", None);
    }
    let parts = multipart(headers, body);
    let Some((content_type, data)) = parts.get("file").cloned() else {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "(#100) The parameter file is required.",
            None,
        );
    };
    let mime = parts
        .get("type")
        .map(|(_, t)| String::from_utf8_lossy(t).into_owned())
        .or(content_type)
        .unwrap_or_else(|| "application/octet-stream".into());
    let id = format!("{}", 800_000_000_000_000 + state.next_id());
    state.ledger().media.insert(id.clone(), (mime, data));
    Answer::json(StatusCode::OK, &json!({"id": id}))
}

fn whatsapp_media(state: &SandboxState, method: &Method, media_id: &str) -> Answer {
    let mut ledger = state.ledger();
    if method == Method::DELETE {
        return match ledger.media.remove(media_id) {
            Some(_) => Answer::json(StatusCode::OK, &json!({"success": true})),
            None => graph_error(StatusCode::NOT_FOUND, 100, "(#100) Invalid media id", None),
        };
    }
    match ledger.media.get(media_id) {
        Some((mime, data)) => Answer::json(
            StatusCode::OK,
            &json!({"messaging_product": "whatsapp", "url": format!("{}/sandbox/media/{media_id}", state.url),
                "mime_type": mime, "sha256": hex::encode(sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(data))),
                "file_size": data.len(), "id": media_id}),
        ),
        None => graph_error(StatusCode::NOT_FOUND, 100, "(#100) Invalid media id", None),
    }
}

fn media_bytes(state: &SandboxState, file: &str) -> Answer {
    let id = file.split('.').next().unwrap_or_default();
    let (content_type, body) = match state.ledger().media.get(id) {
        Some((mime, data)) => (mime.clone(), data.clone()),
        // Simulated photos of SMS and X users.
        None => ("image/jpeg".to_owned(), Bytes::from_static(TINY_JPEG)),
    };
    Answer {
        status: StatusCode::OK,
        content_type: "application/octet-stream",
        headers: vec![("x-sandbox-content-type", content_type)],
        body,
    }
}

// ---- Twilio ----

fn twilio_error(status: StatusCode, code: i64, message: &str) -> Answer {
    Answer::json(
        status,
        &json!({"code": code, "message": message, "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16()}),
    )
}

fn twilio_send(state: &SandboxState, sid: &str, headers: &HeaderMap, body: &Bytes) -> Answer {
    let expected = format!(
        "Basic {}",
        BASE64.encode(format!(
            "{}:{}",
            credentials::TWILIO_ACCOUNT_SID,
            credentials::TWILIO_AUTH_TOKEN
        ))
    );
    let authorized = headers
        .get(http::header::AUTHORIZATION)
        .is_some_and(|v| v.as_bytes() == expected.as_bytes());
    if !authorized || sid != credentials::TWILIO_ACCOUNT_SID {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let get = |name: &str| form.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let Some(to) = get("To") else {
        return twilio_error(StatusCode::BAD_REQUEST, 21604, "A 'To' phone number is required.");
    };
    let Ok(number) = PhoneNumber::parse(&to) else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            "The 'To' number is not a valid phone number.",
        );
    };
    let from = get("From").or_else(|| get("MessagingServiceSid"));
    let Some(from) = from else {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21603,
            "A 'From' phone number is required.",
        );
    };
    let text = get("Body");
    if text.as_deref().is_none_or(str::is_empty) && get("MediaUrl").is_none() && get("ContentSid").is_none() {
        return twilio_error(StatusCode::BAD_REQUEST, 21602, "Message body is required.");
    }
    if text.as_ref().is_some_and(|t| t.chars().count() > 1600) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21617,
            "The concatenated message body exceeds the 1600 character limit.",
        );
    }
    let to = number.as_str().to_owned();
    let mut ledger = state.ledger();
    if ledger.sms_stopped.get(&to).copied().unwrap_or(false) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21610,
            "Attempt to send to unsubscribed recipient",
        );
    }
    let message_sid = format!("SM{:032x}", state.next_id());
    ledger.delivered.push(Delivered {
        provider: Provider::Twilio,
        id: message_sid.clone(),
        to: to.clone(),
        kind: if get("MediaUrl").is_some() { "mms" } else { "sms" }.to_owned(),
        text: text.clone(),
        delivered: true,
    });
    drop(ledger);
    let segments = crate::sms::segments::analyze(text.as_deref().unwrap_or_default()).segments;
    let callback = get("StatusCallback");
    for status in ["sent", "delivered"] {
        let params: Vec<(String, String)> = [
            ("MessageSid", message_sid.as_str()),
            ("SmsSid", message_sid.as_str()),
            ("MessageStatus", status),
            ("SmsStatus", status),
            ("To", to.as_str()),
            ("From", from.as_str()),
            ("AccountSid", credentials::TWILIO_ACCOUNT_SID),
            ("ApiVersion", "2010-04-01"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        state.deliver(twilio_webhook(state, callback.as_deref(), &params));
    }
    let now = httpdate::fmt_http_date(SystemTime::now()).replace("GMT", "+0000");
    Answer::json(
        StatusCode::CREATED,
        &json!({"account_sid": credentials::TWILIO_ACCOUNT_SID, "api_version": "2010-04-01", "body": text,
            "date_created": now, "date_sent": null, "date_updated": now, "direction": "outbound-api",
            "error_code": null, "error_message": null, "from": from, "messaging_service_sid": get("MessagingServiceSid"),
            "num_media": if get("MediaUrl").is_some() { "1" } else { "0" }, "num_segments": segments.to_string(),
            "price": null, "price_unit": "USD", "sid": message_sid, "status": "queued", "to": to,
            "uri": format!("/2010-04-01/Accounts/{sid}/Messages/{message_sid}.json")}),
    )
}

// ---- Vonage ----

fn vonage_send(state: &SandboxState, body: &Bytes) -> Answer {
    let form: HashMap<String, String> = url::form_urlencoded::parse(body).into_owned().collect();
    let refuse = |status: &str, text: &str| {
        Answer::json(
            StatusCode::OK,
            &json!({"message-count": "1", "messages": [{"status": status, "error-text": text}]}),
        )
    };
    if form.get("api_key").map(String::as_str) != Some(credentials::VONAGE_API_KEY)
        || form.get("api_secret").map(String::as_str) != Some(credentials::VONAGE_API_SECRET)
    {
        return refuse("4", "Bad Credentials");
    }
    let (Some(to), Some(from), Some(text)) = (form.get("to"), form.get("from"), form.get("text")) else {
        return refuse("2", "Missing to, from or text param");
    };
    let Some(number) = PhoneNumber::from_digits(to.trim_start_matches('+')) else {
        return refuse("3", "Invalid to param");
    };
    let id = format!("{:016X}", state.next_id());
    state.ledger().delivered.push(Delivered {
        provider: Provider::Vonage,
        id: id.clone(),
        to: number.as_str().to_owned(),
        kind: "sms".into(),
        text: Some(text.clone()),
        delivered: true,
    });
    // The delivery receipt, signed as Vonage does with a signature secret.
    let mut params: Vec<(String, String)> = [
        ("msisdn", to.as_str()),
        ("to", from.as_str()),
        ("network-code", "26201"),
        ("messageId", id.as_str()),
        ("price", "0.05000000"),
        ("status", "delivered"),
        ("err-code", "0"),
        ("api-key", credentials::VONAGE_API_KEY),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    if let Some(reference) = form.get("client-ref") {
        params.push(("client-ref".into(), reference.clone()));
    }
    params.push(("timestamp".into(), now_secs().to_string()));
    let sig = crate::sms::vonage::sign(
        &params,
        credentials::VONAGE_SIGNATURE_SECRET,
        crate::sms::vonage::SignatureMethod::Sha256Hmac,
    );
    params.push(("sig".into(), sig));
    state.deliver(super::people::form_webhook(
        state,
        Provider::Vonage,
        None,
        &params,
        &[],
    ));
    Answer::json(
        StatusCode::OK,
        &json!({"message-count": "1", "messages": [{"to": to, "message-id": id, "status": "0",
            "remaining-balance": "10.00000000", "message-price": "0.05000000", "network": "26201"}]}),
    )
}

// ---- X ----

fn x_problem(status: StatusCode, title: &str, detail: &str) -> Answer {
    Answer::json(
        status,
        &json!({"title": title, "detail": detail, "type": "about:blank", "status": status.as_u16()}),
    )
}

/// Checks an OAuth 1.0a header by signing the request again with the sandbox's secrets.
fn x_authorized(state: &SandboxState, method: &Method, uri: &http::Uri, headers: &HeaderMap) -> bool {
    let Some(header) = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    if let Some(token) = header.strip_prefix("Bearer ") {
        return token == credentials::X_BEARER_TOKEN;
    }
    let Some(fields) = header.strip_prefix("OAuth ") else {
        return false;
    };
    let params: HashMap<String, String> = fields
        .split(", ")
        .filter_map(|field| {
            let (k, v) = field.split_once('=')?;
            let v = v.trim_matches('"');
            Some((k.to_owned(), percent_decode(v)))
        })
        .collect();
    let (Some(key), Some(token), Some(nonce), Some(timestamp), Some(signature)) = (
        params.get("oauth_consumer_key"),
        params.get("oauth_token"),
        params.get("oauth_nonce"),
        params.get("oauth_timestamp").and_then(|t| t.parse::<u64>().ok()),
        params.get("oauth_signature"),
    ) else {
        return false;
    };
    if key != credentials::X_CONSUMER_KEY || token != credentials::X_ACCESS_TOKEN {
        return false;
    }
    let Ok(url) = url::Url::parse(&format!(
        "{}{}",
        state.url,
        uri.path_and_query().map_or("", |p| p.as_str())
    )) else {
        return false;
    };
    let expected = crate::twitter::oauth1::Credentials::new(
        credentials::X_CONSUMER_KEY,
        credentials::X_CONSUMER_SECRET,
        credentials::X_ACCESS_TOKEN,
        credentials::X_TOKEN_SECRET,
    )
    .sign(method, &url, &[], nonce, timestamp);
    expected.signature == *signature
}

fn percent_decode(value: &str) -> String {
    url::form_urlencoded::parse(format!("v={}", value.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn x_send(state: &SandboxState, participant: &str, body: &Bytes) -> Answer {
    if participant.is_empty() || participant.len() > 19 || !participant.bytes().all(|b| b.is_ascii_digit()) {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "The `participant_id` is not valid.",
        );
    }
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "The body is not valid JSON.",
        );
    };
    let text = request["text"].as_str().map(str::to_owned);
    let attachments = request["attachments"].as_array().map_or(0, Vec::len);
    if (text.is_none() && attachments == 0)
        || attachments > 1
        || text.as_ref().is_some_and(|t| t.chars().count() > 10_000)
    {
        return Answer::json(
            StatusCode::BAD_REQUEST,
            &json!({"title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                "type": "https://api.x.com/2/problems/invalid-request"}),
        );
    }
    let (limit, window) = state.config.x_window;
    let mut ledger = state.ledger();
    if ledger.x_blocked.get(participant).copied().unwrap_or(false) {
        return Answer::json(
            StatusCode::FORBIDDEN,
            &json!({"errors": [{"code": 349, "message": "You cannot send messages to this user."}]}),
        );
    }
    let now = Instant::now();
    while ledger
        .x_sends
        .front()
        .is_some_and(|t| now.duration_since(*t) >= window)
    {
        ledger.x_sends.pop_front();
    }
    let reset = ledger
        .x_sends
        .front()
        .map_or(window, |first| window.saturating_sub(now.duration_since(*first)));
    let reset_at = (now_secs() + reset.as_secs().max(1)).to_string();
    let used = ledger.x_sends.len() as u32;
    if used >= limit {
        return x_problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too Many Requests",
            "Too Many Requests",
        )
        .header("x-rate-limit-limit", limit.to_string())
        .header("x-rate-limit-remaining", "0")
        .header("x-rate-limit-reset", reset_at);
    }
    ledger.x_sends.push_back(now);
    let id = format!("{}", 1_800_000_000_000_000_000u64 + state.next_id());
    let conversation = conversation_id(participant);
    ledger.x_events.push(x_event(
        &id,
        credentials::X_BUSINESS_ID,
        participant,
        text.as_deref(),
    ));
    ledger.delivered.push(Delivered {
        provider: Provider::X,
        id: id.clone(),
        to: participant.to_owned(),
        kind: if attachments > 0 { "media" } else { "text" }.to_owned(),
        text: text.clone(),
        delivered: true,
    });
    drop(ledger);
    // X echoes the account's own message, then the person reads it.
    let ms = (now_secs() * 1000).to_string();
    let echo = json!({"for_user_id": credentials::X_BUSINESS_ID, "direct_message_events": [{"type": "message_create",
        "id": id, "created_timestamp": ms, "message_create": {"target": {"recipient_id": participant},
            "sender_id": credentials::X_BUSINESS_ID, "message_data": {"text": text.clone().unwrap_or_default()}}}]});
    state.deliver(x_webhook(state, &echo));
    if state.config.auto_read {
        let read = json!({"for_user_id": credentials::X_BUSINESS_ID, "direct_message_mark_read_events": [{
            "created_timestamp": ms, "sender_id": participant, "target": {"recipient_id": credentials::X_BUSINESS_ID},
            "last_read_event_id": id}]});
        state.deliver(x_webhook(state, &read));
    }
    Answer::json(
        StatusCode::CREATED,
        &json!({"data": {"dm_conversation_id": conversation, "dm_event_id": id}}),
    )
    .header("x-rate-limit-limit", limit.to_string())
    .header("x-rate-limit-remaining", (limit - used - 1).to_string())
    .header("x-rate-limit-reset", reset_at)
}

/// A v2 DM event between the business and someone else.
pub(crate) fn x_event(id: &str, sender: &str, recipient: &str, text: Option<&str>) -> Value {
    let other = if sender == credentials::X_BUSINESS_ID {
        recipient
    } else {
        sender
    };
    let conversation = conversation_id(other);
    let created = httpdate::fmt_http_date(SystemTime::now());
    json!({"id": id, "event_type": "MessageCreate", "text": text.unwrap_or_default(), "sender_id": sender,
        "dm_conversation_id": conversation, "created_at": created})
}

fn x_events(state: &SandboxState, uri: &http::Uri, with: Option<&str>) -> Answer {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let max = query
        .get("max_results")
        .and_then(|m| m.parse::<usize>().ok())
        .unwrap_or(100)
        .clamp(1, 100);
    let start = query
        .get("pagination_token")
        .and_then(|t| t.strip_prefix("page").and_then(|n| n.parse::<usize>().ok()))
        .unwrap_or(0);
    let ledger = state.ledger();
    // Newest first, as X lists them.
    let matching: Vec<&Value> = ledger
        .x_events
        .iter()
        .rev()
        .filter(|e| {
            with.is_none_or(|id| {
                e["dm_conversation_id"]
                    .as_str()
                    .is_some_and(|c| c.split('-').any(|p| p == id))
            })
        })
        .collect();
    let page: Vec<&Value> = matching.iter().skip(start).take(max).copied().collect();
    let mut meta = json!({"result_count": page.len()});
    if start + max < matching.len() {
        meta["next_token"] = format!("page{:016}", start + max).into();
    }
    let users: Vec<Value> = page
        .iter()
        .filter_map(|e| e["sender_id"].as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|id| json!({"id": id, "username": format!("user{id}"), "name": format!("User {id}")}))
        .collect();
    Answer::json(
        StatusCode::OK,
        &json!({"data": page, "includes": {"users": users}, "meta": meta}),
    )
}

fn x_upload_init(state: &SandboxState, body: &Bytes) -> Answer {
    let request: Value = serde_json::from_slice(body).unwrap_or_default();
    let (Some(media_type), Some(total), Some(category)) = (
        request["media_type"].as_str(),
        request["total_bytes"].as_u64(),
        request["media_category"].as_str(),
    ) else {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "media_type, total_bytes and media_category are required.",
        );
    };
    if !category.starts_with("dm_") && !category.starts_with("tweet_") {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "Unknown media_category.",
        );
    }
    let id = format!("{}", 1_700_000_000_000_000_000u64 + state.next_id());
    state
        .ledger()
        .x_uploads
        .insert(id.clone(), (media_type.to_owned(), total, Vec::new(), false));
    Answer::json(
        StatusCode::OK,
        &json!({"data": {"id": id, "media_key": format!("3_{id}"), "expires_after_secs": 86400}}),
    )
}

fn x_upload_step(state: &SandboxState, headers: &HeaderMap, body: &Bytes, id: &str, step: &str) -> Answer {
    let mut ledger = state.ledger();
    let Some((media_type, total, data, finalized)) = ledger.x_uploads.get_mut(id) else {
        return x_problem(StatusCode::BAD_REQUEST, "Invalid Request", "Unknown media id.");
    };
    if step == "append" {
        match multipart(headers, body).remove("media") {
            Some((_, chunk)) => data.extend_from_slice(&chunk),
            None => {
                return x_problem(
                    StatusCode::BAD_REQUEST,
                    "Invalid Request",
                    "The media part is required.",
                );
            }
        }
        return Answer {
            status: StatusCode::NO_CONTENT,
            content_type: "application/json",
            headers: Vec::new(),
            body: Bytes::new(),
        };
    }
    if data.len() as u64 != *total {
        return x_problem(
            StatusCode::BAD_REQUEST,
            "Invalid Request",
            "The uploaded size does not match total_bytes.",
        );
    }
    *finalized = true;
    // Videos are processed first; images are ready at once.
    let processing = media_type
        .starts_with("video/")
        .then(|| json!({"state": "pending", "check_after_secs": 1}));
    let mut data =
        json!({"id": id, "media_key": format!("3_{id}"), "size": *total, "expires_after_secs": 86400});
    if let Some(info) = processing {
        data["processing_info"] = info;
    }
    Answer::json(StatusCode::OK, &json!({"data": data}))
}

fn x_upload_status(state: &SandboxState, uri: &http::Uri) -> Answer {
    let query: HashMap<String, String> =
        url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .into_owned()
            .collect();
    let id = query.get("media_id").cloned().unwrap_or_default();
    match state.ledger().x_uploads.get(&id) {
        Some((_, _, _, true)) => Answer::json(
            StatusCode::OK,
            &json!({"data": {"id": id, "media_key": format!("3_{id}"), "processing_info": {"state": "succeeded", "progress_percent": 100}}}),
        ),
        _ => x_problem(StatusCode::BAD_REQUEST, "Invalid Request", "Unknown media id."),
    }
}

/// The one-to-one conversation id: the smaller user id first (by numeric value).
fn conversation_id(other: &str) -> String {
    let (a, b) = (credentials::X_BUSINESS_ID, other);
    if (a.len(), a) < (b.len(), b) {
        format!("{a}-{b}")
    } else {
        format!("{b}-{a}")
    }
}
