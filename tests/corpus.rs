//! Runs a corpus of real payloads (other projects' test fixtures and the providers' docs)
//! through the public parsers and reports what each became. The corpus is not part of the
//! project: point `SWITCHBOARD_PAYLOAD_CORPUS` at a folder with `whatsapp/*.json`,
//! `x/*.json`, `twilio/*.http` and `vonage/*.http`, and run
//! `cargo test --all-features --test corpus -- --ignored --nocapture`.
//!
//! It fails if a parser panics; it prints, per provider, how many events were typed and
//! how many kept raw as `Unknown`, and lists the payloads refused whole (which should be
//! only the corpus's deliberately invalid ones).

use std::path::Path;

use switchboard::InboundEvent;

#[derive(Default, Debug)]
struct Tally {
    payloads: usize,
    typed: usize,
    unknown: usize,
    refused: Vec<String>,
}

impl Tally {
    fn count(&mut self, events: &[InboundEvent]) {
        self.payloads += 1;
        for event in events {
            match event {
                InboundEvent::Unknown(_) => self.unknown += 1,
                _ => self.typed += 1,
            }
        }
    }
}

fn files(dir: &Path, ext: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == ext))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The request line's query and the body of a stored `.http` request.
fn http_parts(text: &str) -> (String, String) {
    let (head, body) = text
        .split_once("\n\n")
        .or_else(|| text.split_once("\r\n\r\n"))
        .unwrap_or((text, ""));
    let target = head
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .nth(1)
        .unwrap_or_default();
    let query = target.split_once('?').map_or("", |(_, q)| q).to_owned();
    (query, body.trim().to_owned())
}

#[test]
#[ignore = "needs SWITCHBOARD_PAYLOAD_CORPUS"]
fn every_corpus_payload_is_parsed() {
    let root = std::env::var("SWITCHBOARD_PAYLOAD_CORPUS").expect("set SWITCHBOARD_PAYLOAD_CORPUS");
    let root = Path::new(&root);
    let mut report = Vec::new();

    let mut wa = Tally::default();
    for path in files(&root.join("whatsapp"), "json") {
        let body = std::fs::read(&path).unwrap();
        match switchboard::whatsapp::webhook::parse(&body) {
            Ok(n) => wa.count(&n.into_events()),
            Err(e) => wa.refused.push(format!("{}: {e}", path.display())),
        }
    }
    report.push(("whatsapp", wa));

    let mut x = Tally::default();
    for path in files(&root.join("x"), "json") {
        let body = std::fs::read(&path).unwrap();
        match switchboard::twitter::webhook::parse(&body) {
            Ok(delivery) => x.count(&delivery.into_events(None)),
            Err(e) => x.refused.push(format!("{}: {e}", path.display())),
        }
    }
    report.push(("x", x));

    let mut twilio = Tally::default();
    for path in files(&root.join("twilio"), "http") {
        let (query, body) = http_parts(&std::fs::read_to_string(&path).unwrap());
        let form = if body.is_empty() { query } else { body };
        if form.trim_start().starts_with('{') {
            continue; // A JSON body (Twilio's Event Streams), not a messaging webhook.
        }
        match switchboard::sms::twilio::webhook::parse(form.as_bytes()) {
            Ok(n) => twilio.count(&n.into_events(form.as_bytes())),
            Err(e) => twilio.refused.push(format!("{}: {e}", path.display())),
        }
    }
    report.push(("twilio", twilio));

    let mut vonage = Tally::default();
    for path in files(&root.join("vonage"), "http") {
        let (query, body) = http_parts(&std::fs::read_to_string(&path).unwrap());
        let params: Vec<(String, String)> = if body.trim_start().starts_with('{') {
            let map: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&body).unwrap_or_default();
            map.into_iter()
                .map(|(k, v)| (k, v.as_str().map_or_else(|| v.to_string(), str::to_owned)))
                .collect()
        } else {
            let form = if body.is_empty() { query } else { body };
            url::form_urlencoded::parse(form.as_bytes())
                .into_owned()
                .collect()
        };
        match switchboard::sms::vonage::parse(params) {
            Ok(n) => vonage.count(&[n.into_event()]),
            Err(e) => vonage.refused.push(format!("{}: {e}", path.display())),
        }
    }
    report.push(("vonage", vonage));

    let mut refused = Vec::new();
    for (provider, tally) in &report {
        println!(
            "{provider}: {} payloads, {} typed events, {} kept raw, {} refused",
            tally.payloads,
            tally.typed,
            tally.unknown,
            tally.refused.len()
        );
        refused.extend(tally.refused.iter().cloned());
    }
    for line in &refused {
        println!("  refused: {line}");
    }
}
