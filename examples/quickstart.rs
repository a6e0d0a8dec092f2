//! The quickstart: `cargo run --example quickstart`. Offline, no accounts, no setup.
//!
//! It starts the sandbox (a local emulator of the WhatsApp, Twilio, Vonage and X APIs),
//! points the channels at it and plays a short story, printing a transcript:
//!
//! 1. Three people subscribe to the newsletter on WhatsApp (START NEWS); the consent
//!    ledger records it and confirms.
//! 2. A news item goes out as a marketing template, through the consent guard.
//! 3. Ben answers it; the business replies 1:1: only Ben receives the answer.
//! 4. Chris sends STOP and is left out of the next news item.
//! 5. A one-time code goes by SMS to Dora, who has no WhatsApp.
//! 6. A customer asks on X and gets an answer in their DMs.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard::consent::keywords::Keywords;
use switchboard::consent::{ConsentGuard, ConsentInterceptor, ConsentStore, Handled, MemoryStore};
use switchboard::sandbox::Sandbox;
use switchboard::{
    Address, Channel, ChannelExt, Content, ErrorKind, InboundContent, InboundEvent, MessageCategory,
    OutboundMessage, Template, ThrottleLimits, WebhookOutcome,
};

/// The app: its channels, its consent ledger, and who is who (for the transcript).
struct App {
    sandbox: Sandbox,
    whatsapp: switchboard::whatsapp::Client,
    sms: switchboard::sms::twilio::Client,
    x: switchboard::twitter::Client,
    interceptor: ConsentInterceptor,
    names: HashMap<String, &'static str>,
}

impl App {
    fn name(&self, key: &str) -> &str {
        self.names.get(key).copied().unwrap_or("someone")
    }

    /// Handles every webhook the sandbox has for us: verify, parse, consent, print.
    async fn pump(&self) -> switchboard::Result<Vec<InboundEvent>> {
        let mut app_events = Vec::new();
        let mut statuses: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        for request in self.sandbox.webhooks() {
            let (channel, label): (&dyn Channel, &str) = match request.url().rsplit('/').next() {
                Some("whatsapp") => (&self.whatsapp, "WhatsApp"),
                Some("twilio") => (&self.sms, "SMS"),
                _ => (&self.x, "X"),
            };
            let WebhookOutcome::Events(events) =
                channel.handle_webhook(&request).expect("signed by the sandbox")
            else {
                continue;
            };
            for event in events {
                match &event {
                    InboundEvent::Message(m) => {
                        let who = m.from.key().map_or("someone", |k| self.name(k));
                        if let InboundContent::Text(text) = &m.content {
                            println!("  [{label}] {who} → business: {text}");
                        }
                    }
                    InboundEvent::Status(s) => {
                        *statuses.entry(s.status.as_str().to_owned()).or_insert(0) += 1;
                    }
                    _ => {}
                }
                // The interceptor records STOP/START and answers them (through the
                // unguarded channel: the confirmation of a STOP must still go out).
                match self.interceptor.process(&event, channel).await? {
                    Handled::Yes {
                        action: Some(action),
                        topic,
                    } => {
                        let topic = topic.map_or("everything".to_owned(), |t| format!("\"{t}\""));
                        println!("  [consent] recorded {action:?} for {topic}, confirmation sent");
                    }
                    Handled::No if matches!(event, InboundEvent::Message(_)) => app_events.push(event),
                    _ => {}
                }
            }
        }
        if !statuses.is_empty() {
            let counts: Vec<String> = statuses.iter().map(|(s, n)| format!("{n} {s}")).collect();
            println!("  [status webhooks] {}", counts.join(", "));
        }
        Ok(app_events)
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sandbox = Sandbox::builder()
        .marketing_template("weekly_news")
        .start()
        .await?;
    println!(
        "switchboard quickstart, against the offline sandbox at {}\n",
        sandbox.url()
    );

    let ledger: Arc<dyn ConsentStore> = Arc::new(MemoryStore::new()); // SqliteStore::open in production
    let app = App {
        whatsapp: sandbox.whatsapp(),
        sms: sandbox.twilio(),
        x: sandbox.x(),
        interceptor: ConsentInterceptor::new(Arc::clone(&ledger))
            .keywords(Keywords::default().topics(["news"])),
        names: HashMap::from([
            ("4917611111111".to_owned(), "Anna"),
            ("4917622222222".to_owned(), "Ben"),
            ("4917633333333".to_owned(), "Chris"),
            ("+4917611111111".to_owned(), "Anna"),
            ("+4917622222222".to_owned(), "Ben"),
            ("+4917633333333".to_owned(), "Chris"),
            ("+4915144444444".to_owned(), "Dora"),
            ("3284025577".to_owned(), "@erik"),
        ]),
        sandbox: sandbox.clone(),
    };
    // Marketing goes through the consent guard and WhatsApp's throughput limits.
    let newsletter =
        ConsentGuard::new(app.whatsapp.clone(), Arc::clone(&ledger)).throttle(ThrottleLimits::whatsapp());

    println!("1. Three people subscribe on WhatsApp");
    let people: Vec<_> = ["+4917611111111", "+4917622222222", "+4917633333333"]
        .into_iter()
        .map(|n| sandbox.whatsapp_user(n))
        .collect();
    for person in &people {
        person.sends_text("START NEWS");
    }
    app.pump().await?;

    println!("\n2. This week's news goes out (a marketing template, consent checked)");
    let news = |to: &str| {
        OutboundMessage::new(
            Address::phone(to).expect("a valid number"),
            Content::Template(
                Template::new("weekly_news", "en").param("Fibre arrives in your street in May"),
            ),
        )
        .category(MessageCategory::Marketing)
        .topic("news")
    };
    for person in &people {
        newsletter.send(&news(person.address())).await?;
        println!(
            "  [WhatsApp] business → {}: weekly_news",
            app.name(person.address())
        );
    }
    app.pump().await?;

    println!("\n3. Ben answers; the business replies to him alone");
    people[1].sends_text("Does that include Kastanienallee?");
    for event in app.pump().await? {
        if let InboundEvent::Message(question) = event {
            let answer = OutboundMessage::text(
                Address::phone(question.from.key().unwrap_or_default())?,
                "Yes: Kastanienallee is in the first phase. We will write when you can book.",
            )
            .reply_to(question.id);
            app.whatsapp.send(&answer).await?;
            println!("  [WhatsApp] business → Ben: Yes: Kastanienallee is in the first phase.");
        }
    }
    app.pump().await?;
    let answer_seen_by: Vec<&str> = people
        .iter()
        .filter(|p| {
            p.inbox()
                .iter()
                .any(|m| m.kind == "text" && m.text.as_deref().is_some_and(|t| t.contains("Kastanienallee")))
        })
        .map(|p| app.name(p.address()))
        .collect();
    println!("  the answer reached: {answer_seen_by:?}");
    assert_eq!(
        answer_seen_by,
        ["Ben"],
        "a 1:1 answer reaches only the person who asked"
    );

    println!("\n4. Chris sends STOP, and is left out of the next news item");
    people[2].sends_text("STOP");
    app.pump().await?;
    for person in &people {
        match newsletter.send(&news(person.address())).await {
            Ok(_) => println!(
                "  [WhatsApp] business → {}: weekly_news",
                app.name(person.address())
            ),
            Err(err) if matches!(err.kind(), ErrorKind::ConsentDenied { .. }) => {
                println!("  [consent] not sent to {}: {err}", app.name(person.address()));
            }
            Err(err) => return Err(err.into()),
        }
    }
    app.pump().await?;
    let chris_news = people[2].inbox().iter().filter(|m| m.kind == "template").count();
    assert_eq!(chris_news, 1, "Chris got the first news item only");

    println!("\n5. A one-time code by SMS to Dora, who has no WhatsApp");
    let dora = sandbox.sms_user("+4915144444444");
    let code = OutboundMessage::text(
        Address::phone(dora.address())?,
        "Your code: 481 516. It expires in 10 minutes.",
    )
    .category(MessageCategory::Transactional);
    let receipt = ConsentGuard::new(app.sms.clone(), Arc::clone(&ledger))
        .send(&code)
        .await?;
    println!(
        "  [SMS] business → Dora: Your code: 481 516 ({} segment, {})",
        receipt.segments.unwrap_or(1),
        receipt.message_id
    );
    app.pump().await?;
    assert_eq!(dora.inbox().len(), 1);

    println!("\n6. A customer asks on X");
    let erik = sandbox.x_user("3284025577").named("Erik");
    erik.sends_text("My router blinks red since this morning");
    for event in app.pump().await? {
        if let InboundEvent::Message(question) = event {
            let to = Address::user(question.from.key().unwrap_or_default())?;
            let answer = OutboundMessage::text(
                to,
                "Sorry about that! A restart usually helps; if not, reply here and we call you.",
            );
            app.x.send(&answer).await?;
            println!("  [X] business → @erik: Sorry about that! A restart usually helps.");
        }
    }
    app.pump().await?;
    assert_eq!(erik.inbox().len(), 1);

    let requests = sandbox.requests();
    println!(
        "\nDone: {} API requests, {} messages delivered, nobody who said STOP was messaged.",
        requests.len(),
        sandbox.delivered().iter().filter(|d| d.delivered).count()
    );
    Ok(())
}
