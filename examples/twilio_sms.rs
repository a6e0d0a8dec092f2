//! Sends one SMS through Twilio: `cargo run --example twilio_sms -- "Your text"`.
//!
//! Needs `TWILIO_ACCOUNT_SID`, `TWILIO_AUTH_TOKEN`, `TWILIO_FROM` (a Twilio number or a
//! Messaging Service SID `MG…`) and `SMS_TO` (E.164). It shows how the text will be billed
//! before sending. Without a Twilio account, use the offline quickstart instead.

use switchboard::sms::segments::analyze;
use switchboard::sms::twilio::{Client, SendMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vars = ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "SMS_TO"];
    let missing: Vec<&str> = vars
        .iter()
        .copied()
        .filter(|v| std::env::var(v).is_err())
        .collect();
    if !missing.is_empty() {
        eprintln!("Set {} to send a real SMS through Twilio.", missing.join(", "));
        eprintln!("Without an account, try the offline demo: cargo run --example quickstart");
        std::process::exit(2);
    }
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let (sid, token, from, to) = (
        var("TWILIO_ACCOUNT_SID"),
        var("TWILIO_AUTH_TOKEN"),
        var("TWILIO_FROM"),
        var("SMS_TO"),
    );
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Hello from switchboard 👋".into());
    let analysis = analyze(&text);
    println!(
        "{} characters → {}, {} segment(s), {} units left in the last one",
        text.chars().count(),
        analysis.encoding,
        analysis.segments,
        analysis.units_left
    );
    if !analysis.non_gsm.is_empty() {
        println!("UCS-2 because of: {:?}", analysis.non_gsm);
    }

    let client = Client::builder().account_sid(sid).auth_token(token).build()?;
    let message = SendMessage::new(&to, text);
    let message = if from.starts_with("MG") {
        message.messaging_service(from)
    } else {
        message.from(from)
    };
    let sent = client.send_message(&message).await?;
    println!(
        "sent {} ({}), {} segment(s) billed",
        sent.sid,
        sent.status,
        sent.num_segments.unwrap_or(0)
    );
    Ok(())
}
