//! The real `hotline quickstart` (the REvil/Kaseya demo of scenario/kaseya-2021), audited from
//! outside as anyone could: `hotline audit --json` finds exactly the scenario's counts, a window
//! proof for a pair that exchanged nothing verifies offline with count 0, and one flipped byte
//! in an entry line or in the checkpoint makes `verify-package` refuse the package, saying what
//! failed.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use util::Sandbox;

/// The quickstart child, killed when dropped (also when an assertion fails).
struct Quickstart(Child);

impl Drop for Quickstart {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const DEMO: &str = "hotline-demo";
const VKEY: &str = "hotline-demo/log.vkey";

/// Starts `hotline quickstart` on a free port and waits (at most 90 s) until it has walked
/// through the scenario and serves: it prints `serving on URL` only after the walk-through and
/// the summary, and writes `.quickstart-done` after the walk-through.
fn start(sb: &Sandbox) -> (Quickstart, String) {
    let mut child = sb
        .cmd(&["quickstart", "--dir", DEMO, "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut child = Quickstart(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            eprintln!("[quickstart] {line}");
            if let Some(rest) = line.strip_prefix("serving on ") {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let _ = tx.send(url);
            }
        }
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[quickstart stderr] {line}");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if let Ok(url) = rx.recv_timeout(Duration::from_millis(100)) {
            assert!(url.starts_with("http://127.0.0.1:"), "{url}");
            assert!(sb.path(DEMO).join(".quickstart-done").exists());
            return (child, url);
        }
        if let Ok(Some(status)) = child.0.try_wait() {
            panic!("hotline quickstart exited with {status} before serving (output above)");
        }
        assert!(
            Instant::now() < deadline,
            "hotline quickstart did not finish its walk-through and serve within 90 s"
        );
    }
}

fn audit(sb: &Sandbox, url: &str) -> serde_json::Value {
    let out = sb.run_ok(&["--json", "audit", "--url", url, "--vkey", VKEY]);
    serde_json::from_str(&out).unwrap()
}

fn row<'a>(report: &'a serde_json::Value, from: &str, to: &str) -> &'a serde_json::Value {
    report["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requester"] == from && r["responder"] == to)
        .unwrap_or_else(|| panic!("no row {from} → {to}: {report:#}"))
}

/// `YYYY-MM` of the month after `month`.
fn next_month(month: &str) -> String {
    let (y, m) = month.split_once('-').unwrap();
    let (y, m): (u32, u32) = (y.parse().unwrap(), m.parse().unwrap());
    if m == 12 {
        format!("{:04}-01", y + 1)
    } else {
        format!("{y:04}-{:02}", m + 1)
    }
}

/// Runs verify-package on `bytes` and returns its error output.
fn refused(sb: &Sandbox, name: &str, bytes: &[u8]) -> String {
    std::fs::write(sb.path(name), bytes).unwrap();
    let err = sb.run_err(&["verify-package", name, "--vkey", VKEY]);
    assert!(err.contains("EVIDENCE PACKAGE REJECTED"), "{err}");
    err
}

/// The package with the byte at `at` replaced by another base64 character.
fn flipped(pkg: &[u8], at: usize) -> Vec<u8> {
    let mut out = pkg.to_vec();
    out[at] = if out[at] == b'A' { b'B' } else { b'A' };
    out
}

#[test]
fn the_quickstart_demo_audits_to_the_scenarios_counts_and_proves_an_empty_window() {
    let started = Instant::now();
    let sb = Sandbox::new();
    let (child, url) = start(&sb);

    // The demo's routine deadlines are 8 s to acknowledge and 20 s to answer (DEMO_DEADLINES
    // in quickstart.rs); the walk-through stops waiting once the acknowledgement is overdue, so
    // wait (bounded) for the operator's second overdue statement, the missed answer.
    let deadline = Instant::now() + Duration::from_secs(60);
    let report = loop {
        let r = audit(&sb, &url);
        if row(&r, "us-fbi", "ru-mvd")["overdue_answer"] == 1 {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "the answer deadline of us-fbi's routine request was not recorded as missed: {r:#}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    eprintln!("audit: {report:#}");
    assert_eq!(report["ok"], true, "{report:#}");
    assert_eq!(report["origin"], "hotline.geneva.example/log"); // parties.json "hotline.origin"
    assert_eq!(
        report["statements_replayed"].as_u64(),
        report["size"].as_u64()
    );
    // Two cases in the whole log: the emergency request and the preservation request
    // (quickstart.rs walk_through; scenario README "What hotline should make of it", 1 and 3).
    assert_eq!(report["cases"], 2, "{report:#}");
    // One row per pair that opened a case (and month): every other pair of the six parties in
    // parties.json has no row, i.e. zero of everything.
    let rows = report["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{report:#}");
    let month = rows[0]["month"].as_str().unwrap().to_owned();
    assert!(
        rows.iter().all(|r| r["month"] == month.as_str()),
        "{report:#}"
    );

    // us-cisa → ru-nkcki (README step 1-2; quickstart.rs: `cisa.send` with request
    // "emergency", then ru-nkcki's follow-ups: its download makes it delivered, then
    // acknowledged, need-info, us-cisa's update, and ru-nkcki's answer; priority emergency, so
    // the default 1 h / 24 h deadlines are not missed).
    let r = row(&report, "us-cisa", "ru-nkcki");
    for (k, want) in [
        ("notices", 0),
        ("requests", 1),
        ("delivered", 1),
        ("acknowledged", 1),
        ("answered", 1),
        ("declined", 0),
        ("overdue", 0),
        ("overdue_ack", 0),
        ("overdue_answer", 0),
    ] {
        assert_eq!(r[k], want, "us-cisa → ru-nkcki {k}: {r:#}");
    }
    assert_eq!(r["requests_by_type"]["emergency"], 1, "{r:#}");
    assert_eq!(r["requests_by_type"]["preservation"], 0, "{r:#}");
    assert_eq!(r["time_to_ack"]["cases"], 1, "{r:#}");
    assert_eq!(r["time_to_answer"]["cases"], 1, "{r:#}");

    // us-fbi → ru-mvd (README step 3; quickstart.rs: `fbi.send` with request "preservation",
    // priority routine; "Nobody at ru-mvd reacts": never downloaded, so not delivered, and
    // both demo deadlines, 8 s and 20 s, are missed: one case overdue on both counts).
    let r = row(&report, "us-fbi", "ru-mvd");
    for (k, want) in [
        ("notices", 0),
        ("requests", 1),
        ("delivered", 0),
        ("acknowledged", 0),
        ("answered", 0),
        ("declined", 0),
        ("overdue", 1),
        ("overdue_ack", 1),
        ("overdue_answer", 1),
    ] {
        assert_eq!(r[k], want, "us-fbi → ru-mvd {k}: {r:#}");
    }
    assert_eq!(r["requests_by_type"]["preservation"], 1, "{r:#}");
    assert_eq!(r["requests_by_type"]["emergency"], 0, "{r:#}");
    assert_eq!(r["time_to_ack"]["cases"], 0, "{r:#}");
    assert_eq!(r["time_to_answer"]["cases"], 0, "{r:#}");

    // A window proof for a pair with no traffic: us-cisa never wrote to ru-mvd, over the
    // calendar month of the demo.
    let (since, until) = (
        format!("{month}-01T00:00:00Z"),
        format!("{}-01T00:00:00Z", next_month(&month)),
    );
    let proved: serde_json::Value = serde_json::from_str(&sb.run_ok(&[
        "--json", "prove", "--url", &url, "--vkey", VKEY, "--from", "us-cisa", "--to", "ru-mvd",
        "--since", &since, "--until", &until, "--out", "pkg",
    ]))
    .unwrap();
    assert_eq!(proved["count"], 0, "{proved:#}");
    drop(child); // the rest is offline

    let out = sb.run_ok(&["--json", "verify-package", "pkg", "--vkey", VKEY]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(
        (v["from"].as_str(), v["to"].as_str()),
        (Some("us-cisa"), Some("ru-mvd"))
    );
    assert_eq!(v["count"], 0, "{v:#}");

    // One byte flipped in an entry line (inside its base64, away from the padded end): that
    // entry's inclusion proof no longer holds, and the error names the entry.
    let pkg = std::fs::read(sb.path("pkg")).unwrap();
    let text = String::from_utf8(pkg.clone()).unwrap();
    let line_at = text.find("\nentry ").unwrap() + 1;
    let line = text[line_at..].lines().next().unwrap();
    let mut words = line.split(' ');
    let (_, index, b64) = (words.next(), words.next().unwrap(), words.next().unwrap());
    let at = line_at + line.len() - b64.len() + b64.len() / 2;
    let err = refused(&sb, "entry.package", &flipped(&pkg, at));
    assert!(
        err.contains(&format!("entry {index} (statement "))
            && err.contains("inclusion proof does not hold"),
        "{err}"
    );

    // One byte flipped in the checkpoint (its root hash, the third line after the blank one):
    // its signature no longer verifies.
    let cp_at = text.find("\n\n").unwrap() + 2;
    let mut lines = text[cp_at..].split_inclusive('\n');
    let root_at = cp_at + lines.next().unwrap().len() + lines.next().unwrap().len();
    let err = refused(&sb, "checkpoint.package", &flipped(&pkg, root_at + 4));
    assert!(
        err.contains("the package's checkpoint is not signed by the log key"),
        "{err}"
    );
    eprintln!("took {:?}", started.elapsed());
}
