//! The behaviour every consent store must have, shared by the backends' tests.

use std::sync::Arc;

use switchboard::consent::{
    ConsentExport, ConsentRecord, ConsentState, ConsentStore, ErasureKey, Evidence, Source, Subject,
};
use switchboard::webhook::Deduplicator;
use switchboard::{Address, ChannelKind, ConsentAction};

pub fn subject(n: u32) -> Subject {
    Subject::new(
        &ChannelKind::Sms,
        &Address::phone(&format!("+49151{n:07}")).unwrap(),
    )
}

pub fn record(s: &Subject, topic: Option<&str>, action: ConsentAction, at_ms: i64) -> ConsentRecord {
    ConsentRecord::new(
        s.clone(),
        topic,
        action,
        Source::Keyword,
        Evidence::message(format!("SM{at_ms}"), "STOP"),
    )
    .at(at_ms)
}

use ConsentAction::{OptIn, OptOut};

pub async fn behaviour(store: &dyn ConsentStore) {
    let anna = subject(1);
    assert_eq!(store.state(&anna, None).await.unwrap(), ConsentState::Unknown);

    store.append(&record(&anna, None, OptIn, 1_000)).await.unwrap();
    assert!(store.state(&anna, None).await.unwrap().is_opted_in());
    assert!(
        store.state(&anna, Some("news")).await.unwrap().is_opted_in(),
        "everything covers each topic"
    );

    store
        .append(&record(&anna, Some("news"), OptOut, 2_000))
        .await
        .unwrap();
    assert!(
        store.state(&anna, Some("news")).await.unwrap().is_opted_out(),
        "STOP NEWS"
    );
    assert!(store.state(&anna, Some("offers")).await.unwrap().is_opted_in());
    assert!(store.state(&anna, None).await.unwrap().is_opted_in());

    store.append(&record(&anna, None, OptOut, 3_000)).await.unwrap();
    for topic in [None, Some("news"), Some("offers")] {
        assert_eq!(
            store.state(&anna, topic).await.unwrap(),
            ConsentState::OptedOut { since_ms: 3_000 },
            "STOP stops all"
        );
    }

    store
        .append(&record(&anna, Some("news"), OptIn, 4_000))
        .await
        .unwrap();
    assert!(
        store.state(&anna, Some("news")).await.unwrap().is_opted_in(),
        "START NEWS resumes the news"
    );
    assert!(store.state(&anna, Some("offers")).await.unwrap().is_opted_out());
    assert!(store.state(&anna, None).await.unwrap().is_opted_out());

    // At the same instant, the opt-out wins.
    let ben = subject(2);
    store.append(&record(&ben, None, OptIn, 5_000)).await.unwrap();
    store.append(&record(&ben, None, OptOut, 5_000)).await.unwrap();
    assert!(store.state(&ben, None).await.unwrap().is_opted_out());

    // The export proves what happened, in order.
    let records = store.records(&anna).await.unwrap();
    assert_eq!(
        records.iter().map(|r| r.at_ms).collect::<Vec<_>>(),
        vec![1_000, 2_000, 3_000, 4_000]
    );
    assert_eq!(records[1].topic.as_deref(), Some("news"));
    assert_eq!(records[1].evidence.message_id.as_deref(), Some("SM2000"));
    assert_eq!(records[1].source, Source::Keyword);
    assert!(store.records(&subject(99)).await.unwrap().is_empty());

    // A batch import is appended whole.
    let imported: Vec<ConsentRecord> = (200..203)
        .map(|n| record(&subject(n), None, OptIn, 6_000 + i64::from(n)))
        .collect();
    store.append_all(&imported).await.unwrap();
    for n in 200..203 {
        assert_eq!(
            store.state(&subject(n), None).await.unwrap(),
            ConsentState::OptedIn {
                since_ms: 6_000 + i64::from(n)
            }
        );
    }

    // Another channel is another subject.
    let anna_whatsapp = Subject::new(&ChannelKind::WhatsApp, &Address::phone("+491510000001").unwrap());
    assert_eq!(
        store.state(&anna_whatsapp, None).await.unwrap(),
        ConsentState::Unknown
    );
}

pub async fn batch(store: &dyn ConsentStore) {
    let subjects: Vec<Subject> = (1_000..5_500).map(subject).collect();
    for (i, s) in subjects.iter().enumerate().step_by(10) {
        let action = if i % 20 == 0 { OptOut } else { OptIn };
        store.append(&record(s, None, action, i as i64)).await.unwrap();
        if i % 30 == 0 {
            store
                .append(&record(s, Some("news"), OptOut, i as i64 + 1))
                .await
                .unwrap();
        }
    }
    for topic in [None, Some("news")] {
        let batch = store.states(&subjects, topic).await.unwrap();
        assert_eq!(batch.len(), subjects.len());
        for (s, state) in subjects.iter().zip(&batch).step_by(7) {
            assert_eq!(*state, store.state(s, topic).await.unwrap(), "{s:?} {topic:?}");
        }
        assert!(batch.iter().any(|s| s.is_opted_out()) && batch.iter().any(|s| s.is_opted_in()));
        assert!(batch.contains(&ConsentState::Unknown));
    }
}

pub fn key() -> ErasureKey {
    ErasureKey::new(b"0123456789abcdef0123456789abcdef").unwrap()
}

/// `store` must have the erasure key [`key`].
pub async fn erasure(store: &dyn ConsentStore) {
    // Anna: in to everything, then out of the news only.
    let anna = subject(501);
    store.append(&record(&anna, None, OptIn, 1_000)).await.unwrap();
    store
        .append(&record(&anna, Some("news"), OptOut, 2_000))
        .await
        .unwrap();
    let export = store.export(&anna).await.unwrap();
    assert_eq!(export.format, ConsentExport::FORMAT);
    assert_eq!(export.records.len(), 2);
    let json: serde_json::Value = serde_json::from_str(&export.to_json()).unwrap();
    assert_eq!(json["subject"]["address"], "+491510000501");
    assert_eq!(json["records"][1]["action"], "opt_out");
    assert_eq!(json["records"][1]["evidence"]["text"], "STOP");

    let done = store.erase(&anna).await.unwrap();
    assert_eq!((done.records_erased, done.opt_outs_kept), (2, 1));
    assert!(
        store.records(&anna).await.unwrap().is_empty(),
        "no record names her"
    );
    assert_eq!(
        store.state(&anna, Some("news")).await.unwrap(),
        ConsentState::OptedOut { since_ms: 2_000 },
        "her opt-out of the news stays in force"
    );
    assert_eq!(
        store.state(&anna, None).await.unwrap(),
        ConsentState::Unknown,
        "her opt-in went with the records"
    );

    // Ben: out of everything; erased; in the batch still out; a later START counts.
    let ben = subject(502);
    store.append(&record(&ben, None, OptIn, 2_500)).await.unwrap();
    store.append(&record(&ben, None, OptOut, 3_000)).await.unwrap();
    assert_eq!(store.erase(&ben).await.unwrap().opt_outs_kept, 1);
    let batch = store
        .states(&[subject(503), ben.clone(), anna.clone()], Some("news"))
        .await
        .unwrap();
    assert_eq!(
        batch,
        vec![
            ConsentState::Unknown,
            ConsentState::OptedOut { since_ms: 3_000 },
            ConsentState::OptedOut { since_ms: 2_000 }
        ]
    );
    store.append(&record(&ben, None, OptIn, 4_000)).await.unwrap();
    assert!(store.state(&ben, Some("news")).await.unwrap().is_opted_in());

    // Carl only ever opted in: nothing is kept. Erasing nobody is harmless.
    let carl = subject(504);
    store.append(&record(&carl, None, OptIn, 1_000)).await.unwrap();
    assert_eq!(store.erase(&carl).await.unwrap().opt_outs_kept, 0);
    assert_eq!(store.state(&carl, None).await.unwrap(), ConsentState::Unknown);
    assert_eq!(store.erase(&subject(505)).await.unwrap().records_erased, 0);
}

/// A store without an erasure key refuses to erase and keeps the records.
pub async fn erasure_needs_a_key(store: &dyn ConsentStore) {
    let dora = subject(601);
    store.append(&record(&dora, None, OptOut, 1_000)).await.unwrap();
    let err = store.erase(&dora).await.unwrap_err();
    assert!(
        matches!(err.kind(), switchboard::ErrorKind::Config { .. }),
        "{err}"
    );
    assert_eq!(store.records(&dora).await.unwrap().len(), 1);
}

/// `dedup` must remember keys for at least a minute; `short` for 1 ms.
pub async fn deduplication(dedup: Arc<dyn Deduplicator>, short: &dyn Deduplicator) {
    assert!(dedup.first_sighting("whatsapp:wamid.1").await.unwrap());
    assert!(!dedup.first_sighting("whatsapp:wamid.1").await.unwrap());
    assert!(dedup.first_sighting("whatsapp:wamid.2").await.unwrap());

    // Of many concurrent sightings of one key, exactly one is the first.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let dedup = Arc::clone(&dedup);
            tokio::spawn(async move { dedup.first_sighting("sms:SM42").await.unwrap() })
        })
        .collect();
    let mut firsts = 0;
    for task in tasks {
        firsts += usize::from(task.await.unwrap());
    }
    assert_eq!(firsts, 1);

    // After the retention, a key is new again.
    assert!(short.first_sighting("whatsapp:wamid.3").await.unwrap());
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    assert!(short.first_sighting("whatsapp:wamid.3").await.unwrap());
}

/// Listing a topic's subscribers page by page, by channel and by tag.
pub async fn subscribers(store: &dyn ConsentStore) {
    use switchboard::consent::SubscriberQuery;
    // 25 SMS subscribers of `news`; every third opted out later; every fifth tagged north.
    for n in 0..25 {
        let s = subject(100 + n);
        store
            .append(&record(&s, Some("news"), OptIn, 1_000))
            .await
            .unwrap();
        if n % 3 == 0 {
            store
                .append(&record(&s, Some("news"), OptOut, 2_000))
                .await
                .unwrap();
        }
        if n % 5 == 0 {
            store.set_tags(&s, &["region:north", "vip"]).await.unwrap();
        }
    }
    // An opt-in to everything counts; another topic does not.
    let everything = subject(200);
    store
        .append(&record(&everything, None, OptIn, 1_000))
        .await
        .unwrap();
    let other = subject(201);
    store
        .append(&record(&other, Some("offers"), OptIn, 1_000))
        .await
        .unwrap();
    let on_whatsapp = Subject::new(&ChannelKind::WhatsApp, &Address::phone("+4915100000999").unwrap());
    store
        .append(&record(&on_whatsapp, Some("news"), OptIn, 1_000))
        .await
        .unwrap();

    let all = collect(store, &SubscriberQuery::topic("news"), 4).await;
    let expected_sms: Vec<Subject> = (0..25)
        .filter(|n| n % 3 != 0)
        .map(|n| subject(100 + n))
        .chain([everything.clone()])
        .collect();
    let mut expected = expected_sms.clone();
    expected.push(on_whatsapp.clone());
    expected.sort_by(|a, b| (&a.channel, &a.address).cmp(&(&b.channel, &b.address)));
    assert_eq!(all, expected, "every opted-in subscriber once, in order");

    let sms = collect(store, &SubscriberQuery::topic("news").on(ChannelKind::Sms), 7).await;
    assert_eq!(sms, expected_sms);

    // Tagged north (n = 0, 5, 10, 15, 20) and still opted in (not 0 or 15).
    let north = collect(store, &SubscriberQuery::topic("news").tagged("region:north"), 2).await;
    assert_eq!(north, vec![subject(105), subject(110), subject(120)]);
    let both = collect(
        store,
        &SubscriberQuery::topic("news")
            .tagged("region:north")
            .tagged("vip"),
        100,
    )
    .await;
    assert_eq!(both, north, "every tag must match");
    assert!(
        collect(store, &SubscriberQuery::topic("news").tagged("region:south"), 10)
            .await
            .is_empty()
    );

    assert_eq!(
        store.tags(&subject(105)).await.unwrap(),
        vec!["region:north", "vip"]
    );
    store.set_tags(&subject(105), &["region:south"]).await.unwrap();
    assert_eq!(store.tags(&subject(105)).await.unwrap(), vec!["region:south"]);
    store.set_tags(&subject(105), &[]).await.unwrap();
    assert!(store.tags(&subject(105)).await.unwrap().is_empty());
}

async fn collect(
    store: &dyn ConsentStore,
    query: &switchboard::consent::SubscriberQuery,
    limit: usize,
) -> Vec<Subject> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = store.subscribers(query, after.as_ref(), limit).await.unwrap();
        assert!(page.subjects.len() <= limit);
        all.extend(page.subjects);
        match page.next {
            Some(next) => after = Some(next),
            None => return all,
        }
    }
}

/// Erasing a subject also removes the deduplication keys that name its address (the
/// after-hours reply's, a consent signal's) from the store's own deduplicator, and only
/// those: a longer number that starts with the same digits keeps its keys.
pub async fn erasure_reaches_the_deduplicator(store: &dyn ConsentStore, dedup: &dyn Deduplicator) {
    let s = Subject {
        channel: "sms".into(),
        address: "+4917612345678".into(),
    };
    store
        .append(&record(&s, None, ConsentAction::OptIn, 1))
        .await
        .unwrap();
    let keys = [
        "after-hours:sms:+4917612345678:1764000000000",
        "whatsapp:+4917612345678:stop:1764000000",
        "tail:+4917612345678",
    ];
    let others = [
        "after-hours:sms:+49176123456789:1764000000000",
        "whatsapp:wamid.HBgN4917612345678:",
    ];
    for key in keys.iter().chain(&others) {
        assert!(dedup.first_sighting(key).await.unwrap());
    }
    let done = store.erase(&s).await.unwrap();
    assert_eq!(done.dedup_keys_erased, 3, "{done:?}");
    for key in keys {
        assert!(dedup.first_sighting(key).await.unwrap(), "{key} was erased");
    }
    for key in others {
        assert!(
            !dedup.first_sighting(key).await.unwrap(),
            "{key} is another person's"
        );
    }
}
