//! The crate's layers: the ground floor (`error`, `model`, `http`) imports nothing from the
//! layers built on it, so that a new provider or decorator can never create an import loop
//! with the types everything shares. Doc links may point upwards; code may not.

use std::path::Path;

const GROUND_FLOOR: &[&str] = &["src/error", "src/model", "src/http"];
const ABOVE: &[&str] = &[
    "channel",
    "webhook",
    "whatsapp",
    "sms",
    "twitter",
    "consent",
    "broadcast",
    "conversation",
    "sandbox",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source folder") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Paths such as `crate::channel::X`, `crate::Channel` (a root re-export of an upper layer
/// is an upward import too) in code, not in comments.
fn upward_imports(source: &str) -> Vec<(usize, String)> {
    let root_reexports_from_above = [
        "Channel",
        "ChannelExt",
        "Capabilities",
        "Throttle",
        "Fallback",
        "Router",
        "WebhookOutcome",
        "WebhookRequest",
    ];
    let mut found = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") {
            continue;
        }
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ABOVE.contains(&name.as_str()) || root_reexports_from_above.contains(&name.as_str()) {
                found.push((n + 1, line.trim().to_owned()));
            }
        }
    }
    found
}

#[test]
fn the_ground_floor_imports_nothing_from_above() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in GROUND_FLOOR {
        rust_files(&root.join(dir), &mut files);
    }
    assert!(files.len() >= 10, "the ground floor has its files: {files:?}");
    let offences: Vec<String> = files
        .iter()
        .flat_map(|file| {
            let source = std::fs::read_to_string(file).expect("readable source file");
            upward_imports(&source)
                .into_iter()
                .map(move |(line, text)| format!("{}:{line}: {text}", file.display()))
        })
        .collect();
    assert!(offences.is_empty(), "upward imports:\n{}", offences.join("\n"));
}

#[test]
fn the_checker_sees_an_upward_import() {
    let source = "//! [`Channel`](crate::Channel) in a doc link is fine\nuse crate::channel::ChannelKind;\n";
    assert_eq!(
        upward_imports(source),
        vec![(2, "use crate::channel::ChannelKind;".to_owned())]
    );
}
