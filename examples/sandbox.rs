//! The sandbox as a standalone server, for apps in any language or a manual session:
//! `cargo run --example sandbox` (listens on 127.0.0.1:8025, or `SANDBOX_ADDR`).
//!
//! Point your app's WhatsApp, Twilio, Vonage and X base URLs at it with the printed
//! credentials. Set `SANDBOX_WEBHOOK_URL` to receive the signed webhooks (posted to
//! `{url}/whatsapp`, `{url}/twilio`, `{url}/x`); type lines like `whatsapp +4917612345678 Hi`,
//! `sms +4915112345678 STOP` or `x 3284025577 Hello` to make simulated people write in.
//! With `--once` it prints the settings and exits (what CI runs).

use std::net::SocketAddr;

use switchboard::sandbox::{Sandbox, credentials};
use tokio::io::AsyncBufReadExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr: SocketAddr = std::env::var("SANDBOX_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:8025".into())
        .parse()?;
    let once = std::env::args().any(|a| a == "--once");
    let mut builder = Sandbox::builder();
    if let Ok(url) = std::env::var("SANDBOX_WEBHOOK_URL") {
        builder = builder.deliver_to(url);
    }
    let sandbox = if once {
        builder.start().await?
    } else {
        builder.start_on(addr).await?
    };
    println!("sandbox listening on {}", sandbox.url());
    println!(
        "  WhatsApp  token {}  phone number id {}  app secret {}",
        credentials::WHATSAPP_TOKEN,
        credentials::WHATSAPP_PHONE_NUMBER_ID,
        credentials::WHATSAPP_APP_SECRET
    );
    println!(
        "  Twilio    account {}  auth token {}  from {}",
        credentials::TWILIO_ACCOUNT_SID,
        credentials::TWILIO_AUTH_TOKEN,
        credentials::TWILIO_NUMBER
    );
    println!(
        "  Vonage    api key {}  api secret {}",
        credentials::VONAGE_API_KEY,
        credentials::VONAGE_API_SECRET
    );
    println!(
        "  X         consumer {} / {}  token {} / {}  business id {}",
        credentials::X_CONSUMER_KEY,
        credentials::X_CONSUMER_SECRET,
        credentials::X_ACCESS_TOKEN,
        credentials::X_TOKEN_SECRET,
        credentials::X_BUSINESS_ID
    );
    if once {
        return Ok(());
    }
    println!("type `whatsapp|sms|x <number or id> <text>` to send as a person; Ctrl-C to stop");
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => return Ok(()),
            line = lines.next_line() => {
                let Some(line) = line? else { return Ok(()) };
                let mut parts = line.splitn(3, ' ');
                let (Some(network), Some(who), Some(text)) = (parts.next(), parts.next(), parts.next()) else {
                    eprintln!("expected: whatsapp|sms|x <number or id> <text>");
                    continue;
                };
                let person = match network {
                    "whatsapp" => sandbox.whatsapp_user(who),
                    "sms" => sandbox.sms_user(who),
                    "x" => sandbox.x_user(who),
                    _ => { eprintln!("unknown network {network}"); continue; }
                };
                let id = person.sends_text(text);
                println!("sent as {who} on {network}: {id}");
                if std::env::var("SANDBOX_WEBHOOK_URL").is_err() {
                    for request in sandbox.webhooks() {
                        println!("  webhook for {} ({} bytes)", request.url(), request.body().len());
                    }
                }
            }
        }
    }
}
