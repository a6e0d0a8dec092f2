//! Sends one SMS through Vonage: `cargo run --example vonage_sms -- "Your text"`.
//!
//! Needs `VONAGE_API_KEY`, `VONAGE_API_SECRET`, `VONAGE_FROM` (a number or an alphanumeric
//! sender id of up to 11 characters) and `SMS_TO` (E.164). The client picks `type=unicode`
//! by itself when the text needs it.

use switchboard::PhoneNumber;
use switchboard::sms::segments::analyze;
use switchboard::sms::vonage::{Client, Sms};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let vars = ["VONAGE_API_KEY", "VONAGE_API_SECRET", "VONAGE_FROM", "SMS_TO"];
    let missing: Vec<&str> = vars
        .iter()
        .copied()
        .filter(|v| std::env::var(v).is_err())
        .collect();
    if !missing.is_empty() {
        eprintln!("Set {} to send a real SMS through Vonage.", missing.join(", "));
        eprintln!("Without an account, try the offline demo: cargo run --example quickstart");
        std::process::exit(2);
    }
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let to: PhoneNumber = var("SMS_TO").parse()?;
    let text = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "Hello from switchboard 👋".into());
    let analysis = analyze(&text);
    println!(
        "{} → {} segment(s) as {}",
        text, analysis.segments, analysis.encoding
    );

    let client = Client::builder()
        .api_key(var("VONAGE_API_KEY"))
        .api_secret(var("VONAGE_API_SECRET"))
        .build()?;
    let sent = client.send_sms(&Sms::new(to, var("VONAGE_FROM"), text)).await?;
    for part in &sent.messages {
        println!(
            "part {:?} accepted, price {:?}",
            part.message_id, part.message_price
        );
    }
    Ok(())
}
