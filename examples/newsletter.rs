//! A newsletter to every subscriber of a topic, on WhatsApp and SMS, with a progress bar,
//! the final report, and a subscriber's reply linked back to it for a 1:1 answer.
//!
//! Runs against the embedded sandbox, so it needs no accounts and no network:
//!
//! ```text
//! cargo run --example newsletter
//! ```
//!
//! Run it twice with the same `--db` file and the second run resumes (and finds nothing left
//! to send); kill it mid-run and the next run carries on without sending anyone the
//! newsletter twice.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use switchboard::broadcast::{Broadcast, Broadcaster, Linked, PriceTable};
use switchboard::consent::sqlite::SqliteStore;
use switchboard::consent::{ConsentRecord, ConsentStore, Evidence, Source, Subject, SubscriberQuery};
use switchboard::sandbox::Sandbox;
use switchboard::{
    Address, Channel, ChannelKind, ConsentAction, Content, InboundEvent, MessageCategory, OutboundMessage,
    Rate, Template,
};

const WHATSAPP_SUBSCRIBERS: u32 = 2_000;
const SMS_SUBSCRIBERS: u32 = 300;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let db = std::env::args().skip_while(|a| a != "--db").nth(1).map_or_else(
        || std::env::temp_dir().join(format!("newsletter-{}.db", std::process::id())),
        PathBuf::from,
    );

    // A WhatsApp number on the 500-messages-per-second tier, and Twilio.
    let sandbox = Sandbox::builder()
        .whatsapp_throughput(500)
        .marketing_template("newsletter_november")
        .start()
        .await?;
    let ledger = Arc::new(SqliteStore::open(&db).await?);
    subscribe_everyone(&ledger).await?;

    let whatsapp = sandbox.whatsapp();
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await?), ledger.clone())
        .channel(whatsapp.clone(), Rate::per_second(500))
        .channel(sandbox.twilio(), Rate::per_second(100))
        .prices(
            PriceTable::new("EUR")
                .whatsapp(MessageCategory::Marketing, "+49", 0.1131)
                .sms("+49", 0.0750),
        );
    let newsletter = Broadcast::to_subscribers(
        "newsletter-2026-11",
        SubscriberQuery::topic("news"),
        Content::Template(Template::new("newsletter_november", "de").param("Anna")),
    )
    .content_for(
        ChannelKind::Sms,
        Content::Text(
            "Our November news: the new branch in Hamburg opens on the 28th. Reply STOP to unsubscribe."
                .into(),
        ),
    );

    let bar = ProgressBar::new(u64::from(WHATSAPP_SUBSCRIBERS + SMS_SUBSCRIBERS));
    bar.set_style(ProgressStyle::with_template(
        "{spinner} [{bar:40}] {pos}/{len} {per_sec} {msg}",
    )?);
    let report = broadcaster
        .run(&newsletter, |p| {
            bar.set_length(p.total);
            bar.set_position(p.done);
            bar.set_message(format!(
                "sent {} skipped {} failed {}",
                p.sent, p.skipped, p.failed
            ));
        })
        .await?;
    bar.finish();
    println!("{report}");

    // Statuses come back as webhooks; the broadcaster records them in the outbox.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for event in sandbox.events(&whatsapp) {
        broadcaster.observe(&event).await?;
    }
    // A subscriber answers the newsletter: linked to it, answered 1:1 (nobody else sees it).
    let anna = sandbox.whatsapp_user(&whatsapp_number(7)).named("Anna");
    anna.sends_text("Will the Hamburg branch be open on Saturdays?");
    for event in sandbox.events(&whatsapp) {
        if let (Some(Linked::Reply { to, .. }), InboundEvent::Message(message)) =
            (broadcaster.observe(&event).await?, &event)
        {
            println!(
                "reply to {} from {:?}",
                to.broadcast,
                message.from.name.as_deref().unwrap_or("?")
            );
            let answer = OutboundMessage::text(Address::phone(&whatsapp_number(7))?, "Yes, 9:00 to 14:00.")
                .reply_to(message.id.clone());
            whatsapp.send(&answer).await?;
        }
    }
    println!("{}", broadcaster.report("newsletter-2026-11").await?);
    println!("Anna's inbox: {} messages", anna.inbox().len());
    Ok(())
}

fn whatsapp_number(n: u32) -> String {
    format!("+4915200{n:06}")
}

/// Everyone signed up on the website for the news; one in twenty unsubscribed again.
async fn subscribe_everyone(ledger: &SqliteStore) -> switchboard::Result<()> {
    let mut records = Vec::new();
    let people = (0..WHATSAPP_SUBSCRIBERS)
        .map(|n| (ChannelKind::WhatsApp, whatsapp_number(n)))
        .chain((0..SMS_SUBSCRIBERS).map(|n| (ChannelKind::Sms, format!("+4916300{n:06}"))));
    for (i, (channel, number)) in people.enumerate() {
        let subject = Subject::new(&channel, &Address::phone(&number)?);
        let signup = Evidence::web_form("https://example.com/newsletter", "203.0.113.7");
        records.push(ConsentRecord::new(
            subject.clone(),
            Some("news"),
            ConsentAction::OptIn,
            Source::WebForm,
            signup,
        ));
        if i % 20 == 19 {
            let stop = Evidence::message(format!("wamid.stop{i}"), "STOP NEWS");
            records.push(ConsentRecord::new(
                subject,
                Some("news"),
                ConsentAction::OptOut,
                Source::Keyword,
                stop,
            ));
        }
    }
    ledger.append_all(&records).await
}
