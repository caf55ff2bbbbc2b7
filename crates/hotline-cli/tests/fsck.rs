//! `hotline fsck`: a good log passes (SQLite and PostgreSQL); damage to a tile, an entry
//! bundle or a payload id is named.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::sync::Arc;

use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig};
use hotline_store::{EntrySide, LogReader, LogWriter};
use hotline_tlog::Ed25519Signer;
use util::Sandbox;
use util::pg::Schema;

/// Entries written by [`fill`]: two full bundles and a partial one, so there are full and
/// partial tiles at level 0 and a partial one at level 1.
const ENTRIES: usize = 600;

fn entry(i: usize) -> Vec<u8> {
    format!("entry {i:05} of the fsck test log, padded....").into_bytes()
}

/// Appends [`ENTRIES`] entries in several batches through the sequencer; every third entry
/// gets a payload.
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
                seq.submit_with(entry(i), side).unwrap()
            })
            .collect();
        for p in pending {
            p.wait().unwrap();
        }
    }
    seq.shutdown();
}

/// A log-only data directory `d` holding [`ENTRIES`] entries with payloads.
fn sqlite_log(sb: &Sandbox) {
    sb.run_ok(&[
        "init",
        "--dir",
        "d",
        "--log-only",
        "--origin",
        "fsck.test/log",
    ]);
    let skey = std::fs::read_to_string(sb.path("d/log.key")).unwrap();
    let signer = Ed25519Signer::from_skey(skey.trim()).unwrap();
    let db = sb.path("d/hotline.db");
    let writer = hotline_store::sqlite::SqliteWriter::open(&db).unwrap();
    let reader = hotline_store::sqlite::SqliteReader::open(&db).unwrap();
    fill(Arc::new(reader), Box::new(writer), signer);
}

#[test]
fn a_good_sqlite_log_passes() {
    let sb = Sandbox::new();
    sqlite_log(&sb);
    let out = sb.run_ok(&["fsck", "--dir", "d", "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], true, "{out}");
    assert_eq!(v["entries"], ENTRIES as u64, "{out}");
    assert_eq!(v["bundles"], 3, "{out}");
    // tile/0/000, tile/0/001, tile/0/002.p, tile/1/000.p
    assert_eq!(v["tiles"], 4, "{out}");
    assert_eq!(v["payloads"], ENTRIES.div_ceil(3) as u64, "{out}");
    assert!(v["checkpoints"].as_u64().unwrap() >= 6, "{out}");
    let text = sb.run_ok(&["fsck", "--dir", "d"]);
    assert!(text.starts_with("ok d: 600 entries"), "{text}");
}

#[test]
fn fsck_names_a_damaged_tile_bundle_or_payload_id() {
    let sb = Sandbox::new();
    sqlite_log(&sb);
    let db = rusqlite::Connection::open(sb.path("d/hotline.db")).unwrap();
    let flip = |table: &str, col: &str, key_col: &str, key: i64, at: usize| -> Vec<u8> {
        let get = format!("SELECT {col} FROM {table} WHERE {key_col} = ?1");
        let original: Vec<u8> = db.query_row(&get, [key], |r| r.get(0)).unwrap();
        let mut bad = original.clone();
        bad[at] ^= 1;
        let put = format!("UPDATE {table} SET {col} = ?1 WHERE {key_col} = ?2");
        db.execute(&put, rusqlite::params![bad, key]).unwrap();
        original
    };
    let restore = |table: &str, col: &str, key_col: &str, key: i64, data: Vec<u8>| {
        let put = format!("UPDATE {table} SET {col} = ?1 WHERE {key_col} = ?2");
        db.execute(&put, rusqlite::params![data, key]).unwrap();
    };

    // A full level-0 tile: hash 3 (entry 3).
    let original = flip("tiles", "data", "id", 0, 3 * 32 + 5);
    let err = sb.run_err(&["fsck", "--dir", "d"]);
    assert!(
        err.contains("tile/0/000 does not match the tile recomputed from the entries"),
        "{err}"
    );
    assert!(err.contains("entry 3 in entry bundle 0"), "{err}");
    restore("tiles", "data", "id", 0, original);

    // The partial level-1 tile.
    let level1 = 1i64 << 56;
    let original = flip("tiles", "data", "id", level1, 40);
    let err = sb.run_err(&["fsck", "--dir", "d"]);
    assert!(err.contains("tile/1/000 does not match"), "{err}");
    restore("tiles", "data", "id", level1, original);

    // An entry of bundle 1: entries are 2 + 44 bytes, so byte 100 is in entry 256 + 2.
    let original = flip("bundles", "data", "idx", 1, 100);
    let err = sb.run_err(&["fsck", "--dir", "d"]);
    assert!(err.contains("entry 258 in entry bundle 1"), "{err}");
    assert!(
        err.contains("some entry differs from what was signed"),
        "{err}"
    );
    restore("bundles", "data", "idx", 1, original);

    // A payload's id.
    let original = flip("payloads", "id", "idx", 300, 7);
    let out = sb.cmd(&["fsck", "--dir", "d", "--json"]).output().unwrap();
    assert!(!out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["ok"], false);
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("the payload of entry 300 has id"),
        "{problems}"
    );
    restore("payloads", "id", "idx", 300, original);

    sb.run_ok(&["fsck", "--dir", "d"]);
}

// PostgreSQL: the server of HOTLINE_TEST_POSTGRES, each test in a schema of its own (as in
// crates/hotline-store/tests/conformance_postgres.rs).

#[test]
fn a_good_postgres_log_passes() {
    let Some(schema) = Schema::new() else { return };
    let signer = Ed25519Signer::generate("fsck.test/log").unwrap();
    let vkey = signer.verifier().to_vkey();
    hotline_store::postgres::create(&schema.url, "fsck.test/log", &vkey).unwrap();
    let writer = hotline_store::postgres::PgWriter::open(&schema.url).unwrap();
    let reader = hotline_store::postgres::PgReader::open(&schema.url).unwrap();
    fill(Arc::new(reader), Box::new(writer), signer);
    let sb = Sandbox::new();
    let out = sb.run_ok(&["fsck", "--database", &schema.url, "--json"]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["ok"], true, "{out}");
    assert_eq!(v["entries"], ENTRIES as u64, "{out}");
    assert_eq!(v["tiles"], 4, "{out}");
    assert_eq!(v["payloads"], ENTRIES.div_ceil(3) as u64, "{out}");
}
