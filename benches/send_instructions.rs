//! Repeatable cost of a send, in instructions rather than seconds: runs 2,048 sends (64 at a
//! time) one way, against an in-process local server, on one thread. Run it under callgrind
//! once per way and subtract the `none` run (startup only):
//!
//! ```sh
//! cargo bench --bench send_instructions --no-run
//! for way in none raw hand_written switchboard; do
//!   valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!     target/release/deps/send_instructions-* $way 2>&1 | grep Collected
//! done
//! ```
//!
//! `cargo bench --bench send_instructions` without a way runs all three and prints their
//! wall-clock time.

mod common;

use std::time::Instant;

use futures_util::future::join_all;

const SENDS: usize = 2048;
const CONCURRENCY: usize = 64;
const WAYS: [&str; 3] = ["raw", "hand_written", "switchboard"];

async fn run(senders: &common::Senders, way: &str) {
    for _ in 0..SENDS / CONCURRENCY {
        match way {
            "raw" => drop(join_all((0..CONCURRENCY).map(|_| senders.raw())).await),
            "hand_written" => drop(join_all((0..CONCURRENCY).map(|_| senders.hand_written())).await),
            "switchboard" => drop(join_all((0..CONCURRENCY).map(|_| senders.switchboard())).await),
            _ => return,
        }
    }
}

fn main() {
    let way = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let senders = common::Senders::new(common::serve().await);
        match way.as_deref() {
            Some(way) => run(&senders, way).await,
            None => {
                for way in WAYS {
                    let started = Instant::now();
                    run(&senders, way).await;
                    let per_send = started.elapsed() / SENDS as u32;
                    println!("{way:>13}: {per_send:?} per send ({SENDS} sends, {CONCURRENCY} at a time)");
                }
            }
        }
    });
}
