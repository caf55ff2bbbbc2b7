//! `hotline migrate`: SQLite → PostgreSQL → SQLite keeps every row and the root, and the copy
//! serves.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::sync::Arc;

use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig};
use hotline_store::{EntrySide, LogReader, LogWriter};
use hotline_tlog::Ed25519Signer;
use util::Sandbox;
use util::pg::Schema;

/// More payload rows than one batch of the copy to PostgreSQL holds.
const ENTRIES: usize = 2_000;

/// Appends [`ENTRIES`] entries in several batches; every third has a payload.
fn fill(reader: Arc<dyn LogReader>, writer: Box<dyn LogWriter>, signer: Ed25519Signer) {
    let view = Arc::new(LogView::new(reader).unwrap());
    let seq = sequencer::start(writer, view, signer, SequencerConfig::default()).unwrap();
    for chunk in (0..ENTRIES).collect::<Vec<_>>().chunks(100) {
        let pending: Vec<_> = chunk
            .iter()
            .map(|&i| {
                let side = EntrySide {
                    payload: (i % 3 == 0).then(|| format!("payload {i}").into_bytes()),
                    credential: None,
                    taxii: None,
                };
                seq.submit_with(format!("migrated entry {i:05}").into_bytes(), side)
                    .unwrap()
            })
            .collect();
        for p in pending {
            p.wait().unwrap();
        }
    }
    seq.shutdown();
}

#[test]
fn sqlite_to_postgres_to_sqlite_keeps_the_root_and_serves() {
    let Some(schema) = Schema::new() else { return };
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "d",
        "--log-only",
        "--origin",
        "migrate.test/log",
    ]);
    let skey = std::fs::read_to_string(sb.path("d/log.key")).unwrap();
    let signer = Ed25519Signer::from_skey(skey.trim()).unwrap();
    let db = sb.path("d/hotline.db");
    fill(
        Arc::new(hotline_store::sqlite::SqliteReader::open(&db).unwrap()),
        Box::new(hotline_store::sqlite::SqliteWriter::open(&db).unwrap()),
        signer,
    );

    let there = sb.run_ok(&["migrate", "--from", "d", "--to", &schema.url, "--json"]);
    let v: serde_json::Value = serde_json::from_str(there.trim()).unwrap();
    assert_eq!(v["ok"], true, "{there}");
    assert_eq!(v["size"], ENTRIES as u64, "{there}");
    assert_eq!(v["payloads"], ENTRIES.div_ceil(3) as u64, "{there}");
    let root = v["root_before"].as_str().unwrap().to_owned();
    assert_eq!(v["root_after"], root.as_str(), "{there}");

    // A destination that holds a log is refused.
    let err = sb.run_err(&["migrate", "--from", "d", "--to", &schema.url]);
    assert!(err.contains("already holds a hotline log"), "{err}");

    let back = sb.run_ok(&["migrate", "--from", &schema.url, "--to", "d2"]);
    assert!(back.contains(&format!("root before: {root}")), "{back}");
    assert!(back.contains(&format!("root after:  {root}")), "{back}");
    let err = sb.run_err(&["migrate", "--from", &schema.url, "--to", "d2"]);
    assert!(err.contains("already holds a hotline database"), "{err}");

    // Same rows: the fsck reports agree, and the copy serves once it has the log key.
    let a = sb.run_ok(&["fsck", "--dir", "d", "--json"]);
    let b = sb.run_ok(&["fsck", "--dir", "d2", "--json"]);
    let (a, b): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(a.trim()).unwrap(),
        serde_json::from_str(b.trim()).unwrap(),
    );
    for k in [
        "entries",
        "bundles",
        "tiles",
        "checkpoints",
        "payloads",
        "root",
    ] {
        assert_eq!(a[k], b[k], "{k}");
    }
    std::fs::copy(sb.path("d/log.key"), sb.path("d2/log.key")).unwrap();
    let server = sb.serve("d2");
    let out = sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d2/log.vkey",
    ]);
    assert!(out.contains(&format!("size {ENTRIES}")), "{out}");
}
