//! The PostgreSQL outbox with several workers: each recipient claimed by exactly one of
//! them (`FOR UPDATE SKIP LOCKED`), every recipient messaged exactly once.

use std::collections::HashMap;
use std::sync::Arc;

use switchboard::broadcast::{Broadcast, Broadcaster, Linked, RecipientState};
use switchboard::consent::postgres::PostgresStore;
use switchboard::consent::{ConsentRecord, ConsentStore, Evidence, Source, Subject, SubscriberQuery};
use switchboard::sandbox::Sandbox;
use switchboard::{Address, ChannelKind, ConsentAction, Content, InboundEvent, Rate, Template};

fn url() -> String {
    std::env::var("SWITCHBOARD_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_one_broadcast() {
    let schema = format!("switchboard_test_broadcast_{}", std::process::id());
    let ledger = match PostgresStore::connect_in_schema(&url(), Some(&schema)).await {
        Ok(store) => Arc::new(store),
        Err(err) => panic!("no PostgreSQL at {} ({err}); set SWITCHBOARD_POSTGRES_URL", url()),
    };
    let sandbox = Sandbox::builder()
        .whatsapp_throughput(1000)
        .marketing_template("newsletter")
        .start()
        .await
        .unwrap();
    let subscribers: Vec<ConsentRecord> = (0..400)
        .map(|n| {
            let number = Address::phone(&format!("+491520000{n:04}")).unwrap();
            ConsentRecord::new(
                Subject::new(&ChannelKind::WhatsApp, &number),
                Some("news"),
                ConsentAction::OptIn,
                Source::WebForm,
                Evidence::default(),
            )
        })
        .collect();
    ledger.append_all(&subscribers).await.unwrap();

    let worker = |name: &str| {
        let ledger = ledger.clone();
        let client = sandbox.whatsapp();
        let name = name.to_owned();
        async move {
            Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger)
                .channel(client, Rate::per_second(400).burst(20))
                .worker(name)
        }
    };
    let (a, b) = (worker("a").await, worker("b").await);
    let news = Broadcast::to_subscribers(
        "pg-news",
        SubscriberQuery::topic("news"),
        Content::Template(Template::new("newsletter", "de")),
    );
    let (mut sent_a, mut sent_b) = (0, 0);
    let (ra, rb) = tokio::join!(
        a.run(&news, |p| sent_a = p.sent),
        b.run(&news, |p| sent_b = p.sent)
    );
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert!(ra.is_finished() && rb.is_finished());
    assert_eq!(ra.count(RecipientState::Sent), 400, "{ra}");
    assert_eq!(rb.count(RecipientState::Sent), 400, "{rb}");
    assert!(sent_a > 0 && sent_b > 0, "both workers sent: {sent_a}, {sent_b}");

    let mut per_recipient: HashMap<String, usize> = HashMap::new();
    for d in sandbox.delivered() {
        *per_recipient.entry(d.to).or_default() += 1;
    }
    assert_eq!(per_recipient.len(), 400);
    assert!(per_recipient.values().all(|n| *n == 1), "nobody twice");

    // Statuses and replies link back through the shared outbox.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let client = sandbox.whatsapp();
    sandbox.whatsapp_user("+4915200000007").sends_text("Thanks!");
    let mut statuses = 0;
    let mut replies = 0;
    for event in sandbox.events(&client) {
        match (a.observe(&event).await.unwrap(), &event) {
            (Some(Linked::Status(_)), _) => statuses += 1,
            (Some(Linked::Reply { to, .. }), InboundEvent::Message(_)) => {
                assert_eq!(to.broadcast, "pg-news");
                replies += 1;
            }
            _ => {}
        }
    }
    assert!(statuses >= 400 && replies == 1, "{statuses} {replies}");
    assert_eq!(b.report("pg-news").await.unwrap().deliveries["read"], 400);

    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&url()).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&mut conn)
        .await
        .unwrap();
}
