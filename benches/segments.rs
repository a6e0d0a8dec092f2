//! Segment analysis throughput on GSM-7 English, German with umlauts (still GSM-7), and
//! emoji-heavy text (UCS-2), each about three segments long.
//!
//! Run with `cargo bench --bench segments`.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use switchboard::sms::segments::{analyze, split};

fn bench(c: &mut Criterion) {
    let texts = [
        (
            "gsm7_english",
            "Your order #4711 has shipped and will arrive tomorrow between 9 and 12. Track it at example.com/t/4711. Reply STOP to unsubscribe. Questions? Call us on 0800 123 456, Mon-Fri 8-20. Thank you for shopping with us! ".repeat(2),
        ),
        (
            "german_umlauts",
            "Grüße aus München! Ihr Termin für die Glasfaser-Anschlussprüfung ist am 12.03. um 14:30 Uhr. Bitte sorgen Sie dafür, dass der Hausübergabepunkt zugänglich ist. Antworte STOPP zum Abmelden. Schöne Grüße, Ihr Team. ".repeat(2),
        ),
        (
            "emoji_heavy",
            "Danke 👍 Wir sehen uns morgen 🎉🎉 Bring gute Laune mit 😀🌞🍰 und deine Freunde 👨‍👩‍👧! ".repeat(2),
        ),
    ];
    let mut group = c.benchmark_group("segments");
    for (name, text) in &texts {
        let a = analyze(text);
        eprintln!(
            "{name}: {} bytes, {}, {} segments",
            text.len(),
            a.encoding,
            a.segments
        );
        group.throughput(Throughput::Bytes(text.len() as u64));
        group.bench_with_input(BenchmarkId::new("analyze", name), text, |b, t| {
            b.iter(|| analyze(t))
        });
        group.bench_with_input(BenchmarkId::new("split", name), text, |b, t| b.iter(|| split(t)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
