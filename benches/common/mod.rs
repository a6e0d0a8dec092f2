//! The local Graph API stand-in and the three ways of sending that the send benchmarks
//! compare.

use std::net::SocketAddr;

use axum::Router;
use axum::http::header;
use axum::routing::post;
use bytes::Bytes;
use switchboard::PhoneNumber;
use switchboard::whatsapp::{Client, MessageRequest, SendResponse};

const RESPONSE: &str = r#"{"messaging_product":"whatsapp","contacts":[{"input":"+16505551234","wa_id":"16505551234"}],"messages":[{"id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]}"#;
const TOKEN: &str = "EAAJB-bench-token";

/// Serves `POST /v26.0/{id}/messages` with a fixed success answer on 127.0.0.1.
pub async fn serve() -> SocketAddr {
    let app = Router::new().route(
        "/v26.0/{id}/messages",
        post(|| async { ([(header::CONTENT_TYPE, "application/json")], RESPONSE) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Starts [`serve`] on a runtime thread of its own, as a remote API would be: it does not
/// share the measured client's executor.
#[allow(dead_code)] // `send_instructions` counts instructions on one thread instead
pub fn serve_on_own_thread() -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            tx.send(serve().await).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// One text message sent three ways against the server at `addr`.
pub struct Senders {
    client: Client,
    request: MessageRequest,
    body: Bytes,
    url: String,
    raw: reqwest::Client,
}

impl Senders {
    pub fn new(addr: SocketAddr) -> Self {
        let base = format!("http://{addr}");
        let client = Client::builder()
            .access_token(TOKEN)
            .phone_number_id("106540352242922")
            .base_url(&base)
            .build()
            .unwrap();
        let to: PhoneNumber = "+16505551234".parse().unwrap();
        let request = MessageRequest::text(to, "Your order #4711 has shipped and arrives tomorrow.");
        let body = Bytes::from(serde_json::to_vec(&request).unwrap());
        let url = format!("{base}/v26.0/106540352242922/messages");
        Self {
            client,
            request,
            body,
            url,
            raw: reqwest::Client::new(),
        }
    }

    /// The SDK: validate, serialize, send with retry/timeout/span, decode the typed answer.
    pub async fn switchboard(&self) {
        self.client.send_request(&self.request).await.unwrap();
    }

    /// A raw reqwest POST of the same, already serialized bytes.
    pub async fn raw(&self) {
        let response = self.post(self.body.clone()).await;
        response.bytes().await.unwrap();
    }

    /// Hand-written reqwest code doing the SDK's job: serialize, POST, decode the answer.
    pub async fn hand_written(&self) {
        let response = self
            .post(Bytes::from(serde_json::to_vec(&self.request).unwrap()))
            .await;
        let body = response.bytes().await.unwrap();
        let sent: SendResponse = serde_json::from_slice(&body).unwrap();
        assert!(sent.message_id().is_some());
    }

    async fn post(&self, body: Bytes) -> reqwest::Response {
        let response = self
            .raw
            .post(&self.url)
            .bearer_auth(TOKEN)
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success());
        response
    }
}
