//! The `hotline` binary end to end: init, serve, bench log and log verify on real files and
//! real HTTP, including tampered, rolled-back and forked logs.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::os::unix::fs::PermissionsExt as _;

use util::{Sandbox, copy_dir};

fn mode(p: &std::path::Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn fill(sb: &Sandbox, dir: &str, n: u64) {
    sb.run_ok(&[
        "bench",
        "log",
        "--dir",
        dir,
        "--entries",
        &n.to_string(),
        "--json",
    ]);
}

#[test]
fn init_creates_private_keys_and_refuses_to_overwrite() {
    let sb = Sandbox::new();
    let out = sb.run_ok(&["init", "--dir", "d", "--origin", "hotline.test/log"]);
    assert!(out.contains("log verifier key: hotline.test/log+"), "{out}");
    assert_eq!(mode(&sb.path("d")), 0o700);
    assert_eq!(mode(&sb.path("d/log.key")), 0o600);
    let vkey = std::fs::read_to_string(sb.path("d/log.vkey")).unwrap();
    assert!(out.contains(vkey.trim()));
    let err = sb.run_err(&["init", "--dir", "d"]);
    assert!(
        err.contains("already holds a hotline; refusing to overwrite"),
        "{err}"
    );
    let err = sb.run_err(&["init", "--dir", "e", "--origin", "has space"]);
    assert!(err.contains("cannot be a key name"), "{err}");
}

#[test]
fn an_interrupted_init_can_be_run_again() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "d", "--log-only"]);
    // As if init had died after writing the key but before the database was in place.
    std::fs::remove_file(sb.path("d/hotline.db")).unwrap();
    std::fs::write(sb.path("d/hotline.db.tmp"), b"half").unwrap();
    let out = sb
        .cmd(&["init", "--dir", "d", "--log-only"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        util::describe(&["init"], &out, "re-init")
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("an interrupted init"), "{err}");
    let kept: Vec<_> = std::fs::read_dir(sb.path("d"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with("log.key.interrupted-"))
        .collect();
    assert_eq!(kept.len(), 1);
    sb.run_ok(&["bench", "log", "--dir", "d", "--entries", "10", "--json"]);
    // An interrupted init also leaves bench log able to initialise the directory.
    sb.run_ok(&["init", "--dir", "e", "--log-only"]);
    std::fs::remove_file(sb.path("e/hotline.db")).unwrap();
    sb.run_ok(&["bench", "log", "--dir", "e", "--entries", "10", "--json"]);
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "d"]);
    std::fs::set_permissions(sb.path("d/log.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = sb.run_err(&["serve", "--dir", "d", "--listen", "127.0.0.1:0"]);
    assert!(err.contains("readable by other users"), "{err}");
    assert!(err.contains("chmod 600"), "{err}");
}

#[test]
fn serve_on_an_uninitialised_dir_says_what_to_do() {
    let sb = Sandbox::new();
    let err = sb.run_err(&["serve", "--dir", "nowhere", "--listen", "127.0.0.1:0"]);
    assert!(
        err.contains("run `hotline init --dir nowhere` first"),
        "{err}"
    );
}

#[test]
fn one_data_directory_one_process() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "d", "--log-only"]);
    let _server = sb.serve("d");
    let err = sb.run_err(&["serve", "--dir", "d", "--listen", "127.0.0.1:0"]);
    assert!(err.contains("in use by another hotline process"), "{err}");
    let err = sb.run_err(&["bench", "log", "--dir", "d", "--entries", "1"]);
    assert!(err.contains("in use by another hotline process"), "{err}");
}

#[test]
fn verify_accepts_a_good_log_and_tracks_state() {
    let sb = Sandbox::new();
    fill(&sb, "d", 3000);
    let server = sb.serve("d");
    let out = sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d/log.vkey",
        "--state",
        "seen",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["size"], 3000);
    assert_eq!(v["entries_checked"], 3000);
    assert!(v["consistent_with"].is_null());
    server.stop();

    fill(&sb, "d", 1000);
    let server = sb.serve("d");
    let out = sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d/log.vkey",
        "--state",
        "seen",
    ]);
    assert!(
        out.contains("verified log bench.hotline.invalid/log at size 4000"),
        "{out}"
    );
    assert!(
        out.contains("extends the checkpoint seen before (size 3000"),
        "{out}"
    );
}

#[test]
fn verify_names_a_tampered_tile_bundle_or_checkpoint() {
    let sb = Sandbox::new();
    fill(&sb, "d", 70_000);
    let server = sb.serve("d");
    let verify = |vkey: &str| sb.run_err(&["log", "verify", "--url", &server.url, "--vkey", vkey]);
    let db = rusqlite::Connection::open(sb.path("d/hotline.db")).unwrap();
    // Flips one byte of a row and returns the original, to put back afterwards.
    let flip = |table: &str, key_col: &str, key: i64| -> Vec<u8> {
        let get = format!("SELECT data FROM {table} WHERE {key_col} = ?1");
        let original: Vec<u8> = db.query_row(&get, [key], |r| r.get(0)).unwrap();
        let mut bad = original.clone();
        bad[100] ^= 1;
        let put = format!("UPDATE {table} SET data = ?1 WHERE {key_col} = ?2");
        db.execute(&put, rusqlite::params![bad, key]).unwrap();
        original
    };
    let restore = |table: &str, key_col: &str, key: i64, data: Vec<u8>| {
        let put = format!("UPDATE {table} SET data = ?1 WHERE {key_col} = ?2");
        db.execute(&put, rusqlite::params![data, key]).unwrap();
    };

    // A level-1 tile (the server reads tiles from the database on every request).
    let level1 = 1i64 << 56;
    let original = flip("tiles", "id", level1);
    let err = verify("d/log.vkey");
    assert!(err.contains("tile/1/000 does not match"), "{err}");
    restore("tiles", "id", level1, original);

    // An entry bundle in the middle of the log.
    let original = flip("bundles", "idx", 100);
    let err = verify("d/log.vkey");
    assert!(
        err.contains("tile/0/100 does not match") || err.contains("tile/entries/100"),
        "{err}"
    );
    restore("bundles", "idx", 100, original);

    // Back to good.
    sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d/log.vkey",
    ]);

    // Another key with the same name: the checkpoint's signature does not verify.
    sb.run_ok(&[
        "init",
        "--dir",
        "other",
        "--origin",
        "bench.hotline.invalid/log",
    ]);
    let err = verify("other/log.vkey");
    assert!(
        err.contains("not signed by any of the expected keys"),
        "{err}"
    );
    let err = verify("not-a-key");
    assert!(
        err.contains("neither a verifier key file nor a verifier key"),
        "{err}"
    );
}

#[test]
fn verify_detects_rollback_and_fork() {
    let sb = Sandbox::new();
    fill(&sb, "d", 1000);
    copy_dir(&sb.path("d"), &sb.path("backup"));
    copy_dir(&sb.path("d"), &sb.path("fork"));
    fill(&sb, "d", 500);
    let server = sb.serve("d");
    sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d/log.vkey",
        "--state",
        "seen",
    ]);
    server.stop();

    // The operator restores the old backup: the auditor's state is ahead of it.
    let server = sb.serve("backup");
    let err = sb.run_err(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d/log.vkey",
        "--state",
        "seen",
    ]);
    assert!(err.contains("ROLLBACK"), "{err}");
    server.stop();

    // The same key signs a different history of at least the same size.
    fill(&sb, "fork", 800);
    let server = sb.serve("fork");
    let err = sb.run_err(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "d/log.vkey",
        "--state",
        "seen",
        "--json",
    ]);
    let v: serde_json::Value = serde_json::from_str(err.lines().next().unwrap()).unwrap();
    assert_eq!(v["ok"], false);
    assert!(v["error"].as_str().unwrap().contains("FORK"), "{err}");
    // The state file still holds the checkpoint seen before the fork.
    let seen = std::fs::read_to_string(sb.path("seen")).unwrap();
    assert!(seen.contains("\n1500\n"), "{seen}");
}

#[test]
fn bench_log_reports_figures() {
    let sb = Sandbox::new();
    let out = sb.run_ok(&["bench", "log", "--dir", "b", "--entries", "5000", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["entries"], 5000);
    assert_eq!(v["final_size"], 5000);
    assert!(v["commits"].as_u64().unwrap() >= 2, "{out}");
    assert!(v["latency_ms"]["p99"].as_f64().unwrap() > 0.0);
    let err = sb.run_err(&[
        "bench",
        "log",
        "--dir",
        "b",
        "--entries",
        "1",
        "--entry-size",
        "65536",
    ]);
    assert!(
        err.contains("--entry-size must be between 16 and 65535"),
        "{err}"
    );
}

#[test]
fn bench_submit_sends_statements_over_http_and_checks_every_receipt_it_keeps() {
    let sb = Sandbox::new();
    let out = sb.run_ok(&[
        "--json",
        "bench",
        "submit",
        "--dir",
        "s",
        "--statements",
        "300",
        "--clients",
        "8",
        "--parties",
        "3",
        "--verify-every",
        "10",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["statements"], 300, "{out}");
    let run = &v["runs"][0];
    assert_eq!(run["appended"], 300, "{out}");
    // Every 10th receipt of each client: clients 0–3 send 38 statements, 4–7 send 37.
    let kept: u64 = (0..8u64)
        .map(|c| (300 / 8 + u64::from(c < 300 % 8)).div_ceil(10))
        .sum();
    assert_eq!(run["receipts_verified"], kept, "{out}");
    assert!(run["statements_per_sec"].as_f64().unwrap() > 0.0, "{out}");
    assert!(run["latency_ms"]["p99"].as_f64().unwrap() > 0.0, "{out}");
    assert!(
        run["baseline"]["noop_http_per_sec"].as_f64().unwrap() > 0.0,
        "{out}"
    );
}
