//! Broadcasts against the sandbox: each opted-in subscriber exactly once, opt-outs honoured
//! at send time (also mid-broadcast), per-channel content, the report with codes and
//! costs, statuses and replies linked back, resuming, faults, and a SIGKILL mid-run.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use switchboard::broadcast::{Broadcast, Broadcaster, Linked, PriceTable, Progress, RecipientState};
use switchboard::consent::sqlite::SqliteStore;
use switchboard::consent::{
    ConsentRecord, ConsentStore, Evidence, MARKETING, Source, Subject, SubscriberQuery,
};
use switchboard::sandbox::{Faults, Provider, Sandbox, credentials};
use switchboard::{
    Address, ChannelKind, ConsentAction, Content, InboundEvent, MessageCategory, Rate, Template,
};

fn whatsapp_number(n: usize) -> String {
    format!("+491520000{n:04}")
}

fn sms_number(n: usize) -> String {
    format!("+491630000{n:04}")
}

fn subject(channel: &ChannelKind, number: &str) -> Subject {
    Subject::new(channel, &Address::phone(number).unwrap())
}

async fn consent(store: &dyn ConsentStore, subject: &Subject, topic: &str, action: ConsentAction) {
    let record = ConsentRecord::new(
        subject.clone(),
        Some(topic),
        action,
        Source::WebForm,
        Evidence::default(),
    );
    store.append(&record).await.unwrap();
}

fn deliveries_per_recipient(sandbox: &Sandbox) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for d in sandbox.delivered() {
        *counts.entry(d.to).or_default() += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newsletter_reaches_each_subscriber_once() {
    let sandbox = Sandbox::builder()
        .marketing_template("newsletter")
        .start()
        .await
        .unwrap();
    let ledger = Arc::new(SqliteStore::in_memory().await.unwrap());
    let whatsapp = ChannelKind::WhatsApp;
    // 40 WhatsApp subscribers of `news`; 2 more who opted out again (not in the audience).
    for n in 0..42 {
        let s = subject(&whatsapp, &whatsapp_number(n));
        consent(&*ledger, &s, "news", ConsentAction::OptIn).await;
        if n >= 40 {
            consent(&*ledger, &s, "news", ConsentAction::OptOut).await;
        }
    }
    // Three stopped marketing messages altogether (WhatsApp's own switch, recorded by the
    // interceptor): still subscribers of `news`, but never sent a marketing message.
    for n in [3, 4, 5] {
        consent(
            &*ledger,
            &subject(&whatsapp, &whatsapp_number(n)),
            MARKETING,
            ConsentAction::OptOut,
        )
        .await;
    }
    // One stopped marketing in WhatsApp only, which the ledger never heard of: Meta takes
    // the message and fails it with 131050.
    sandbox.whatsapp_user(&whatsapp_number(6)).stops_marketing();
    sandbox.webhooks(); // that notice is not the point here
    // 10 SMS subscribers, half of them in the north.
    for n in 0..10 {
        let s = subject(&ChannelKind::Sms, &sms_number(n));
        consent(&*ledger, &s, "news", ConsentAction::OptIn).await;
        if n % 2 == 0 {
            ledger.set_tags(&s, &["region:north"]).await.unwrap();
        }
    }

    let client = sandbox.whatsapp();
    let prices = PriceTable::new("EUR")
        .whatsapp(MessageCategory::Marketing, "+49", 0.1131)
        .sms("+49", 0.075);
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger.clone())
        .channel(client.clone(), Rate::per_second(20).burst(5))
        .channel(sandbox.twilio(), Rate::per_second(20).burst(5))
        .prices(prices);
    let news = Broadcast::to_subscribers(
        "2026-11-news",
        SubscriberQuery::topic("news"),
        Content::Template(Template::new("newsletter", "de")),
    )
    .content_for(
        ChannelKind::Sms,
        Content::Text("November news: our new branch opens.".into()),
    );

    // Ten subscribers at the end of the list opt out while the broadcast runs.
    let late = (30..40)
        .map(|n| subject(&whatsapp, &whatsapp_number(n)))
        .collect::<Vec<_>>();
    let first_chunk = Arc::new(tokio::sync::Notify::new());
    let opt_outs = {
        let (ledger, late, first_chunk) = (ledger.clone(), late.clone(), first_chunk.clone());
        tokio::spawn(async move {
            first_chunk.notified().await;
            for s in &late {
                consent(&*ledger, s, "news", ConsentAction::OptOut).await;
            }
        })
    };
    let mut seen: Vec<Progress> = Vec::new();
    let report = broadcaster
        .run(&news, |p| {
            if seen.is_empty() {
                first_chunk.notify_one();
            }
            seen.push(p.clone());
        })
        .await
        .unwrap();
    opt_outs.await.unwrap();

    // 40 + 10 recipients; 3 + 10 skipped for consent; 37 sent in all.
    assert_eq!(report.total, 50, "{report}");
    assert!(report.is_finished());
    assert_eq!(report.count(RecipientState::Sent), 37, "{report}");
    assert_eq!(report.count(RecipientState::Skipped), 13, "{report}");
    assert_eq!(report.codes["opted_out"], 13);
    assert_eq!(report.channels["sms"][&RecipientState::Sent], 10);
    let last = seen.last().unwrap();
    assert_eq!((last.total, last.done, last.sent), (50, 50, 37));
    assert!(seen.len() >= 10, "a progress event per chunk of at most 5");

    // The provider saw each recipient at most once, and no one who opted out.
    let delivered = deliveries_per_recipient(&sandbox);
    assert_eq!(delivered.len(), 37);
    assert!(delivered.values().all(|n| *n == 1), "{delivered:?}");
    for n in [3, 4, 5].into_iter().chain(30..40) {
        assert!(!delivered.contains_key(&whatsapp_number(n)), "{n} opted out");
    }
    let sms: Vec<_> = sandbox
        .delivered()
        .into_iter()
        .filter(|d| d.provider == Provider::Twilio)
        .collect();
    assert_eq!(sms.len(), 10);
    assert!(
        sms.iter()
            .all(|d| d.text.as_deref() == Some("November news: our new branch opens."))
    );

    // SMS are billed on acceptance; WhatsApp once delivered, which no status said yet.
    let cost = report.cost.clone().unwrap();
    assert!((cost.billed - 0.75).abs() < 1e-9, "{cost:?}");
    assert!(
        (cost.if_all_delivered - (0.75 + 27.0 * 0.1131)).abs() < 1e-9,
        "{cost:?}"
    );

    // Statuses come back through the webhook and are recorded.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut linked_statuses = 0;
    for event in sandbox.events(&client) {
        if let Some(Linked::Status(sent)) = broadcaster.observe(&event).await.unwrap() {
            assert_eq!(sent.broadcast, "2026-11-news");
            linked_statuses += 1;
        }
    }
    assert!(linked_statuses >= 27, "{linked_statuses}");
    let report = broadcaster.report("2026-11-news").await.unwrap();
    assert_eq!(report.deliveries["read"], 26, "{report:?}");
    assert_eq!(
        report.deliveries["failed"], 1,
        "number 6 stopped marketing at Meta"
    );
    assert_eq!(report.codes["131050"], 1);
    let cost = report.cost.clone().unwrap();
    assert!((cost.billed - (0.75 + 26.0 * 0.1131)).abs() < 1e-9, "{cost:?}");

    // A subscriber answers: the reply is linked to the newsletter, for a 1:1 answer.
    sandbox
        .whatsapp_user(&whatsapp_number(7))
        .sends_text("Is the new branch open on Sundays?");
    sandbox.whatsapp_user("+4915299999999").sends_text("Hello?");
    let mut replies = Vec::new();
    for event in sandbox.events(&client) {
        if let InboundEvent::Message(message) = &event {
            replies.push((
                message.from.key().unwrap().to_owned(),
                broadcaster.observe(&event).await.unwrap(),
            ));
        }
    }
    assert_eq!(replies.len(), 2);
    match &replies[0] {
        (from, Some(Linked::Reply { to, quoted: false })) => {
            assert_eq!(from, &whatsapp_number(7));
            assert_eq!(to.broadcast, "2026-11-news");
            assert_eq!(to.subject, subject(&whatsapp, &whatsapp_number(7)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(replies[1].1, None, "not a recipient");

    // Running it again resumes a finished broadcast: nobody gets it twice.
    let again = broadcaster.run(&news, |_| {}).await.unwrap();
    assert_eq!(again.count(RecipientState::Sent), 37);
    assert_eq!(sandbox.delivered().len(), 37);

    // A second broadcast to the north only (SMS).
    let north = Broadcast::to_subscribers(
        "2026-11-north",
        SubscriberQuery::topic("news").tagged("region:north"),
        Content::Text("Network expansion in the north".into()),
    );
    let report = broadcaster.run(&north, |_| {}).await.unwrap();
    assert_eq!(report.count(RecipientState::Sent), 5, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_leave_every_recipient_in_a_final_state() {
    // 5xx answers, answers cut off after the message was taken, and a number whose
    // throughput is below the broadcaster's rate (130429).
    let sandbox = Sandbox::builder()
        .whatsapp_throughput(30)
        .faults(Faults::none().error_rate(0.15).drop_rate(0.05))
        .start()
        .await
        .unwrap();
    let ledger = Arc::new(SqliteStore::in_memory().await.unwrap());
    let mut recipients = Vec::new();
    for n in 0..150 {
        let number = whatsapp_number(n);
        let s = subject(&ChannelKind::WhatsApp, &number);
        // Every tenth opted out: listed anyway, never messaged.
        let action = if n % 10 == 0 {
            ConsentAction::OptOut
        } else {
            ConsentAction::OptIn
        };
        consent(&*ledger, &s, "offers", action).await;
        recipients.push((ChannelKind::WhatsApp, Address::phone(&number).unwrap()));
    }
    // No retries in the client: the broadcaster's own retries are under test.
    let client = switchboard::whatsapp::Client::builder()
        .access_token(credentials::WHATSAPP_TOKEN)
        .phone_number_id(credentials::WHATSAPP_PHONE_NUMBER_ID)
        .base_url(sandbox.url())
        .retry_policy(switchboard::RetryPolicy::disabled())
        .build()
        .unwrap();
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger.clone())
        .channel(client, Rate::per_second(60).burst(10))
        .max_attempts(8);
    let offers = Broadcast::to_list(
        "offers",
        recipients,
        Content::Template(Template::new("offers", "en")),
    )
    .topic("offers");
    let mut retries = 0;
    let report = broadcaster.run(&offers, |p| retries = p.retries).await.unwrap();
    eprintln!("{report}, {retries} retries");

    // The faults did happen: throughput refusals (130429) and injected 5xx, each retried.
    let requests = sandbox.requests();
    let throttled = requests.iter().filter(|r| r.status == 400).count();
    let failed = requests.iter().filter(|r| r.status >= 500).count();
    assert!(failed > 0 && throttled > 0, "{failed} 5xx, {throttled} refusals");
    // Retried (or, after the last attempt, failed); a refusal whose answer was also cut
    // off counts as ambiguous instead.
    assert!(retries > 0, "{report}");
    assert!(
        retries + report.count(RecipientState::Failed) <= (failed + throttled) as u64,
        "{report}"
    );

    assert_eq!(report.total, 150);
    assert!(report.is_finished(), "{report}");
    assert_eq!(report.count(RecipientState::Skipped), 15, "{report}");
    let sent = report.count(RecipientState::Sent);
    let ambiguous = report.count(RecipientState::Ambiguous);
    let failed = report.count(RecipientState::Failed);
    assert_eq!(sent + ambiguous + failed, 135, "{report}");
    // A 5xx on a send may have been processed, so it is ambiguous and never retried: about
    // a fifth of the 135 (15% 5xx, 5% dropped answers) end ambiguous; 80 leaves six standard
    // deviations of room.
    assert!(ambiguous > 0 && sent > 80, "{report}");

    let delivered = deliveries_per_recipient(&sandbox);
    for n in (0..150).step_by(10) {
        assert!(!delivered.contains_key(&whatsapp_number(n)), "{n} opted out");
    }
    assert!(delivered.values().all(|n| *n == 1), "nobody twice: {delivered:?}");
    // Every sent recipient got it; an ambiguous one may or may not have.
    let outbox = broadcaster.outbox();
    for s in outbox
        .recipients("offers", RecipientState::Sent, 1000)
        .await
        .unwrap()
    {
        assert_eq!(delivered.get(&s.address), Some(&1));
    }
    for s in outbox
        .recipients("offers", RecipientState::Failed, 1000)
        .await
        .unwrap()
    {
        assert!(!delivered.contains_key(&s.address));
    }
    assert_eq!(
        delivered.len() as u64,
        sent + outbox
            .recipients("offers", RecipientState::Ambiguous, 1000)
            .await
            .unwrap()
            .iter()
            .filter(|s| delivered.contains_key(&s.address))
            .count() as u64
    );
}

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "switchboard-broadcast-{name}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("switchboard.db")
}

fn crash_broadcast() -> Broadcast {
    Broadcast::to_subscribers(
        "crash",
        SubscriberQuery::topic("news"),
        Content::Template(Template::new("newsletter", "de")),
    )
}

const CRASH_RECIPIENTS: usize = 300;

/// The child half of the crash test: broadcasts against the parent's sandbox, printing its
/// progress, until the parent kills it. Not a test of its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child process of a_broadcast_survives_sigkill"]
async fn broadcast_crash_child() {
    use std::io::Write;
    let path = std::env::var("SWITCHBOARD_CRASH_DB").expect("started by a_broadcast_survives_sigkill");
    let url = std::env::var("SWITCHBOARD_SANDBOX_URL").unwrap();
    let ledger = Arc::new(SqliteStore::open(&path).await.unwrap());
    let client = switchboard::whatsapp::Client::builder()
        .access_token(credentials::WHATSAPP_TOKEN)
        .phone_number_id(credentials::WHATSAPP_PHONE_NUMBER_ID)
        .base_url(url)
        .build()
        .unwrap();
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger.clone())
        .channel(client, Rate::per_second(200).burst(20));
    broadcaster
        .run(&crash_broadcast(), |p| {
            println!("DONE {}", p.done);
            std::io::stdout().flush().unwrap();
        })
        .await
        .unwrap();
    println!("FINISHED");
    std::io::stdout().flush().unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_survives_sigkill() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    // Slow answers keep requests in flight when the kill lands.
    let sandbox = Sandbox::builder()
        .whatsapp_throughput(1000)
        .faults(Faults::none().latency(Duration::from_millis(150)))
        .start()
        .await
        .unwrap();
    let path = temp_db("crash");
    let ledger = Arc::new(SqliteStore::open(&path).await.unwrap());
    for n in 0..CRASH_RECIPIENTS {
        consent(
            &*ledger,
            &subject(&ChannelKind::WhatsApp, &whatsapp_number(n)),
            "news",
            ConsentAction::OptIn,
        )
        .await;
    }

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "broadcast_crash_child",
            "--exact",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("SWITCHBOARD_CRASH_DB", &path)
        .env("SWITCHBOARD_SANDBOX_URL", sandbox.url())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut done_at_kill = None;
    for line in BufReader::new(stdout).lines().map_while(Result::ok) {
        if let Some(done) = line.strip_prefix("DONE ").and_then(|d| d.parse::<usize>().ok())
            && done >= CRASH_RECIPIENTS / 3
        {
            done_at_kill = Some(done);
            break;
        }
        assert!(!line.contains("FINISHED"), "the child finished before the kill");
    }
    // SIGKILL mid-run: no destructor, no flush, requests in flight.
    child.kill().unwrap();
    child.wait().unwrap();
    let done_at_kill = done_at_kill.expect("the child never made progress");
    let before_resume = sandbox.delivered().len();
    assert!(
        before_resume >= done_at_kill && before_resume < CRASH_RECIPIENTS,
        "{before_resume}"
    );

    // Resume in this process with the same outbox.
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger.clone())
        .channel(sandbox.whatsapp(), Rate::per_second(500).burst(50));
    let report = broadcaster.run(&crash_broadcast(), |_| {}).await.unwrap();
    eprintln!("{report} (killed at {done_at_kill} done, {before_resume} at the provider)");

    assert_eq!(report.total, CRASH_RECIPIENTS as u64);
    assert!(report.is_finished(), "{report}");
    let sent = report.count(RecipientState::Sent);
    let ambiguous = report.count(RecipientState::Ambiguous);
    assert_eq!(sent + ambiguous, CRASH_RECIPIENTS as u64, "{report}");
    // At most the two chunks in flight at the kill are ambiguous.
    assert!(ambiguous <= 40, "{report}");

    // Nobody twice; everyone sent exactly once; ambiguous ones at most once.
    let delivered = deliveries_per_recipient(&sandbox);
    assert!(delivered.values().all(|n| *n == 1), "duplicates: {delivered:?}");
    let outbox = broadcaster.outbox();
    for s in outbox
        .recipients("crash", RecipientState::Sent, 1000)
        .await
        .unwrap()
    {
        assert_eq!(delivered.get(&s.address), Some(&1), "a sent recipient has it");
    }
    let ambiguous_delivered = outbox
        .recipients("crash", RecipientState::Ambiguous, 1000)
        .await
        .unwrap()
        .iter()
        .filter(|s| delivered.contains_key(&s.address))
        .count() as u64;
    assert_eq!(delivered.len() as u64, sent + ambiguous_delivered);
    std::fs::remove_dir_all(path.parent().unwrap()).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn people_without_whatsapp_get_the_sms_instead() {
    let sandbox = Sandbox::builder()
        .marketing_template("newsletter")
        .without_whatsapp(whatsapp_number(2))
        .without_whatsapp(whatsapp_number(3))
        .start()
        .await
        .unwrap();
    let ledger = SqliteStore::in_memory().await.unwrap();
    for n in 0..5 {
        consent(
            &ledger,
            &subject(&ChannelKind::WhatsApp, &whatsapp_number(n)),
            "news",
            ConsentAction::OptIn,
        )
        .await;
    }
    // The opt-in given for WhatsApp covers SMS to the same number: the linking policy.
    let linked = Arc::new(switchboard::consent::LinkedStore::by_phone(ledger.clone()));
    let whatsapp = sandbox.whatsapp();
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), linked)
        .channel(whatsapp.clone(), Rate::per_second(50))
        .channel(sandbox.twilio(), Rate::per_second(10))
        .channel(sandbox.x(), Rate::per_second(10));
    let news = Broadcast::to_subscribers(
        "fallback-news",
        SubscriberQuery::topic("news"),
        Content::Template(Template::new("newsletter", "de")),
    )
    .content_for(ChannelKind::Sms, Content::Text("News by SMS".into()))
    .fallback(ChannelKind::WhatsApp, ChannelKind::Sms);
    let report = broadcaster.run(&news, |_| {}).await.unwrap();
    assert_eq!(
        report.count(RecipientState::Sent),
        5,
        "WhatsApp accepts all five: {report}"
    );

    // Meta reports two of them as undeliverable (131026) later: they are queued for SMS...
    tokio::time::sleep(Duration::from_millis(300)).await;
    let events = sandbox.events(&whatsapp);
    let mut queued = Vec::new();
    for event in &events {
        if let Some(Linked::Fallback { failed, queued: to }) = broadcaster.observe(event).await.unwrap() {
            assert_eq!(failed.subject.channel, "whatsapp");
            queued.push(to.address);
        }
    }
    queued.sort();
    assert_eq!(queued, [whatsapp_number(2), whatsapp_number(3)]);
    // ...and a webhook delivered twice queues nothing twice.
    for event in &events {
        broadcaster.observe(event).await.unwrap();
    }
    // The next run sends them, once.
    let report = broadcaster.run(&news, |_| {}).await.unwrap();
    assert_eq!(report.channels["sms"][&RecipientState::Sent], 2, "{report}");
    assert_eq!(report.codes["131026"], 2);
    broadcaster.run(&news, |_| {}).await.unwrap();
    let mut sms: Vec<String> = sandbox
        .delivered()
        .into_iter()
        .filter(|d| d.provider == Provider::Twilio)
        .map(|d| d.to)
        .collect();
    sms.sort(); // sent concurrently
    assert_eq!(sms, [whatsapp_number(2), whatsapp_number(3)]);

    // A failure known at once (X cannot message a phone number) falls back in the same run.
    let notice = Broadcast::to_list(
        "fallback-notice",
        [(ChannelKind::Twitter, Address::phone(&whatsapp_number(4)).unwrap())],
        Content::Text("Maintenance tonight from 22:00".into()),
    )
    .category(MessageCategory::Transactional)
    .fallback(ChannelKind::Twitter, ChannelKind::Sms);
    let report = broadcaster.run(&notice, |_| {}).await.unwrap();
    assert_eq!(report.channels["twitter"][&RecipientState::Failed], 1, "{report}");
    assert_eq!(report.codes["unsupported"], 1);
    assert_eq!(report.channels["sms"][&RecipientState::Sent], 1, "{report}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broadcast_pauses_gracefully_and_can_be_cancelled() {
    let sandbox = Sandbox::builder()
        .marketing_template("newsletter")
        .start()
        .await
        .unwrap();
    let ledger = Arc::new(SqliteStore::in_memory().await.unwrap());
    for n in 0..200 {
        consent(
            &*ledger,
            &subject(&ChannelKind::WhatsApp, &whatsapp_number(n)),
            "news",
            ConsentAction::OptIn,
        )
        .await;
    }
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger.clone())
        .channel(sandbox.whatsapp(), Rate::per_second(100).burst(10));
    let news = Broadcast::to_subscribers(
        "pause",
        SubscriberQuery::topic("news"),
        Content::Template(Template::new("newsletter", "de")),
    );

    // Stop (a shutdown signal) once 40 are done: the chunks in flight finish, nothing more.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let mut stop = Some(stop);
    let paused = broadcaster
        .run_until(
            &news,
            |p| {
                if p.done >= 40
                    && let Some(stop) = stop.take()
                {
                    stop.send(()).unwrap();
                }
            },
            async {
                stopped.await.ok();
            },
        )
        .await
        .unwrap();
    assert!(!paused.is_finished(), "{paused}");
    let sent = paused.count(RecipientState::Sent);
    assert!((40..200).contains(&sent), "{paused}");
    assert_eq!(
        paused.count(RecipientState::Ambiguous),
        0,
        "a graceful stop leaves nothing in flight"
    );
    assert_eq!(sandbox.delivered().len() as u64, sent);

    // Cancel the rest: the next run only reports.
    let cancelled = broadcaster.cancel("pause").await.unwrap();
    assert_eq!(cancelled, 200 - sent);
    let report = broadcaster.run(&news, |_| {}).await.unwrap();
    assert!(report.is_finished());
    assert_eq!(report.codes["cancelled"], 200 - sent);
    assert_eq!(
        sandbox.delivered().len() as u64,
        sent,
        "nothing sent after the cancel"
    );
}

/// A service broadcast needs no opt-in, but an opt-out of its topic (or of everything)
/// still skips the person.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_broadcast_skips_opt_outs_of_its_topic() {
    let sandbox = Sandbox::start().await.unwrap();
    let ledger = Arc::new(SqliteStore::in_memory().await.unwrap());
    consent(
        &*ledger,
        &subject(&ChannelKind::Sms, &sms_number(1)),
        "outages",
        ConsentAction::OptOut,
    )
    .await;
    ledger
        .append(&ConsentRecord::new(
            subject(&ChannelKind::Sms, &sms_number(2)),
            None,
            ConsentAction::OptOut,
            Source::Keyword,
            Evidence::message("SM2", "STOP"),
        ))
        .await
        .unwrap();
    let broadcaster = Broadcaster::new(Arc::new(ledger.outbox().await.unwrap()), ledger.clone())
        .channel(sandbox.twilio(), Rate::per_second(20));
    let notice = Broadcast::to_list(
        "outage-notice",
        (0..3).map(|n| (ChannelKind::Sms, Address::phone(&sms_number(n)).unwrap())),
        Content::Text("Planned outage tonight 22:00-23:00".into()),
    )
    .category(MessageCategory::Service)
    .topic("outages");
    let report = broadcaster.run(&notice, |_| {}).await.unwrap();
    assert_eq!(report.count(RecipientState::Sent), 1, "{report}");
    assert_eq!(report.count(RecipientState::Skipped), 2, "{report}");
    let delivered: Vec<String> = sandbox.delivered().into_iter().map(|d| d.to).collect();
    assert_eq!(delivered, [sms_number(0)]);
}
