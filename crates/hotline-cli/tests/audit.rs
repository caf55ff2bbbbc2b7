//! `hotline audit` against a real `hotline serve`: cases walked through acknowledgement,
//! answer, decline, missed deadlines and a key rotation, then the audit's exact counts, its
//! CSV, a second run that downloads nothing (state and cache), one that downloads only what is
//! new, a damaged cache file named, and a log whose entries are not statements refused.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use util::{Sandbox, ServerGuard};

struct Hotline {
    sb: Sandbox,
    server: ServerGuard,
}

impl Hotline {
    fn new() -> Hotline {
        let sb = Sandbox::new();
        sb.run_ok(&[
            "init",
            "--dir",
            "hl",
            "--origin",
            "hotline.audit.example/log",
            "--deadlines",
            "routine=2s:4s",
        ]);
        let server = sb.serve("hl");
        let h = Hotline { sb, server };
        for (party, cc) in [("us-cisa", "US"), ("ru-nkcki", "RU"), ("us-fbi", "US")] {
            h.register(party, cc);
        }
        h
    }

    fn url(&self) -> &str {
        &self.server.url
    }

    fn register(&self, party: &str, cc: &str) {
        util::register_party(&self.sb, self.url(), party, cc);
    }

    fn config(&self, party: &str, cfg: &str, key: &str) {
        self.sb.run_ok(&[
            "--config",
            cfg,
            "config",
            "init",
            "--server",
            self.url(),
            "--party",
            party,
            "--key",
            key,
            "--token",
            &format!("{party}/token"),
        ]);
    }

    /// Runs an officer command with a configuration file (`us-cisa` means
    /// `us-cisa/config.toml`; a path with a slash is used as is).
    fn ok(&self, who: &str, args: &[&str]) -> serde_json::Value {
        let cfg = if who.contains('/') {
            who.to_owned()
        } else {
            format!("{who}/config.toml")
        };
        let mut all = vec!["--config", cfg.as_str(), "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.sb.run_ok(&all)).unwrap()
    }

    fn request(&self, from: &str, to: &str, ty: &str, priority: &str) -> String {
        let sent = self.ok(
            from,
            &[
                "send",
                "--to",
                to,
                "--request",
                ty,
                "--priority",
                priority,
                "--title",
                "REvil infrastructure",
                "-m",
                "identify the operators",
            ],
        );
        sent["case"].as_str().unwrap().to_owned()
    }

    fn audit(&self, extra: &[&str]) -> serde_json::Value {
        let mut args = vec![
            "--json",
            "audit",
            "--url",
            self.url(),
            "--vkey",
            "hl/log.vkey",
        ];
        args.extend_from_slice(extra);
        serde_json::from_str(&self.sb.run_ok(&args)).unwrap()
    }
}

/// Statement times are whole seconds: wait so the next one is strictly later.
fn tick() {
    std::thread::sleep(Duration::from_millis(1100));
}

fn row<'a>(v: &'a serde_json::Value, requester: &str, responder: &str) -> &'a serde_json::Value {
    v["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["requester"] == requester && r["responder"] == responder)
        .unwrap_or_else(|| panic!("no row {requester} → {responder}: {v:#}"))
}

fn positive(v: &serde_json::Value) -> bool {
    v.as_i64().is_some_and(|n| n > 0)
}

#[test]
fn audit_counts_every_case_and_caches_what_it_verified() {
    let h = Hotline::new();
    // A: answered after an acknowledgement.
    let a = h.request("us-cisa", "ru-nkcki", "investigation", "urgent");
    tick();
    h.ok("ru-nkcki", &["ack", &a, "-m", "received"]);
    tick();
    h.ok("ru-nkcki", &["answer", &a, "-m", "operators identified"]);
    // us-cisa rotates its key: its later statements verify only under the new key.
    h.sb.run_ok(&["keygen", "--party", "us-cisa", "--out", "us-cisa/new.key"]);
    h.sb.run_ok(&[
        "party",
        "rotation",
        "--new-key",
        "us-cisa/new.key",
        "--old-key",
        "us-cisa/us-cisa.key",
        "--server",
        h.url(),
        "--out",
        "us-cisa/rotation",
    ]);
    h.sb.run_ok(&[
        "party",
        "rotate",
        "--server",
        h.url(),
        "--token-file",
        "hl/operator.token",
        "us-cisa",
        "us-cisa/rotation",
    ]);
    h.config("us-cisa", "us-cisa/new.toml", "us-cisa/new.key");
    // B: declined after an acknowledgement.
    let b = h.request("us-cisa/new.toml", "ru-nkcki", "takedown", "urgent");
    tick();
    h.ok("ru-nkcki", &["ack", &b]);
    h.ok("ru-nkcki", &["decline", &b, "--reason", "resources"]);
    // C: never downloaded; both deadlines pass and the operator records them.
    let c = h.request("us-cisa/new.toml", "ru-nkcki", "investigation", "routine");
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        // `show` must succeed even while an overdue is being committed (the server's state has
        // it before the published log does; the server leaves it out until it is durable).
        let out =
            h.sb.cmd(&["--config", "us-cisa/new.toml", "--json", "show", &c])
                .output()
                .unwrap();
        assert!(
            out.status.success(),
            "show failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let shown: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if shown["case"]["overdue"]
            .as_array()
            .is_some_and(|o| o.len() == 2)
        {
            break;
        }
        assert!(Instant::now() < deadline, "no overdue after 40 s: {shown}");
        std::thread::sleep(Duration::from_millis(300));
    }
    // A notice the other way round, acknowledged by the new key's party.
    let sent = h.ok(
        "us-fbi",
        &[
            "send", "--to", "us-cisa", "--title", "heads up", "-m", "fyi",
        ],
    );
    let notice = sent["case"].as_str().unwrap().to_owned();
    tick();
    h.ok("us-cisa/new.toml", &["ack", &notice]);

    let state = ["--state", "st/checkpoint", "--cache", "st/cache"];
    let first = h.audit(&state);
    assert_eq!(first["ok"], true, "{first:#}");
    let size = first["size"].as_u64().unwrap();
    assert_eq!(first["statements_replayed"].as_u64(), Some(size));
    assert_eq!(first["cases"], 4);
    assert!(first["consistent_with"].is_null());
    assert!(positive(&first["downloaded_tiles"]), "{first:#}");
    assert!(positive(&first["downloaded_bytes"]), "{first:#}");
    assert_eq!(first["cached_tiles"], 0);
    assert_eq!(first["rows"].as_array().unwrap().len(), 2, "{first:#}");
    assert!(first["times"].as_str().unwrap().contains("only the cases"));

    let r = row(&first, "us-cisa", "ru-nkcki");
    let month = r["month"].as_str().unwrap();
    assert!(month.len() == 7 && month.as_bytes()[4] == b'-', "{month}");
    for (k, want) in [
        ("notices", 0),
        ("requests", 3),
        ("delivered", 2),
        ("acknowledged", 2),
        ("answered", 1),
        ("declined", 1),
        ("overdue", 1),
        ("overdue_ack", 1),
        ("overdue_answer", 1),
    ] {
        assert_eq!(r[k], want, "{k}: {r:#}");
    }
    assert_eq!(r["requests_by_type"]["investigation"], 2);
    assert_eq!(r["requests_by_type"]["takedown"], 1);
    assert_eq!(r["requests_by_type"]["preservation"], 0);
    assert_eq!(r["time_to_ack"]["cases"], 2);
    assert!(positive(&r["time_to_ack"]["median_seconds"]), "{r:#}");
    assert!(positive(&r["time_to_ack"]["p90_seconds"]), "{r:#}");
    assert_eq!(r["time_to_answer"]["cases"], 1);
    assert!(positive(&r["time_to_answer"]["median_seconds"]), "{r:#}");
    // A's answer came at least two ticks after its request.
    assert!(r["time_to_answer"]["median_seconds"].as_i64().unwrap() >= 2);

    let n = row(&first, "us-fbi", "us-cisa");
    for (k, want) in [
        ("notices", 1),
        ("requests", 0),
        ("delivered", 1),
        ("acknowledged", 1),
        ("answered", 0),
        ("overdue", 0),
    ] {
        assert_eq!(n[k], want, "{k}: {n:#}");
    }
    assert!(positive(&n["time_to_ack"]["median_seconds"]), "{n:#}");
    assert!(n["time_to_answer"]["median_seconds"].is_null());

    // CSV: the header, then one line per pair and month.
    let csv =
        h.sb.run_ok(&["audit", "--url", h.url(), "--vkey", "hl/log.vkey", "--csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[0].starts_with("requester,responder,month,notices,requests,"),
        "{csv}"
    );
    let cols = lines[0].split(',').count();
    assert!(lines.iter().all(|l| l.split(',').count() == cols), "{csv}");
    assert!(
        lines[1].starts_with(&format!("us-cisa,ru-nkcki,{month},0,3,")),
        "{csv}"
    );
    assert!(
        lines[2].starts_with(&format!("us-fbi,us-cisa,{month},1,0,")),
        "{csv}"
    );
    // The human table.
    let table =
        h.sb.run_ok(&["audit", "--url", h.url(), "--vkey", "hl/log.vkey"]);
    assert!(table.contains("us-cisa → ru-nkcki"), "{table}");
    assert!(table.contains("only the cases"), "{table}");
    // A period with nothing in it, and a bad bound.
    let none = h.audit(&["--since", "2999-01"]);
    assert_eq!(none["rows"].as_array().unwrap().len(), 0);
    assert_eq!(none["since"], "2999-01-01T00:00:00Z");
    let err = h.sb.run_err(&[
        "audit",
        "--url",
        h.url(),
        "--vkey",
        "hl/log.vkey",
        "--until",
        "yesterday",
    ]);
    assert!(err.contains("--until") && err.contains("YYYY-MM"), "{err}");

    // Second run: the log has not grown, everything comes from the cache and is verified again.
    let second = h.audit(&state);
    assert_eq!(second["size"].as_u64(), Some(size));
    assert_eq!(second["downloaded_tiles"], 0, "{second:#}");
    assert_eq!(second["downloaded_bytes"], 0, "{second:#}");
    assert_eq!(second["cached_tiles"], first["downloaded_tiles"]);
    assert_eq!(second["consistent_with"]["size"].as_u64(), Some(size));
    assert_eq!(second["rows"], first["rows"]);

    // The log grows: only the new right edge is downloaded.
    h.ok("us-cisa/new.toml", &["close", &a]);
    let third = h.audit(&state);
    assert_eq!(third["size"].as_u64(), Some(size + 1));
    assert_eq!(third["consistent_with"]["size"].as_u64(), Some(size));
    assert!(positive(&third["downloaded_tiles"]), "{third:#}");
    assert!(
        third["downloaded_tiles"].as_u64() < first["downloaded_tiles"].as_u64() || size < 256,
        "{third:#}"
    );

    // A damaged cache file is named.
    let bundle = find_bundle(&h.sb.path("st/cache"), size + 1);
    let mut bytes = std::fs::read(&bundle).unwrap();
    let pos = bytes.len() / 2;
    bytes[pos] ^= 0x01;
    std::fs::write(&bundle, &bytes).unwrap();
    let err = h.sb.run_err(&[
        "audit",
        "--url",
        h.url(),
        "--vkey",
        "hl/log.vkey",
        "--state",
        "st/checkpoint",
        "--cache",
        "st/cache",
    ]);
    assert!(
        err.contains(&format!(
            "entry bundle tile/entries/000.p/{n} (read from the cache file \
             st/cache/hotline.audit.example_log/tile/entries/000.p/{n})",
            n = size + 1
        )),
        "{err}"
    );
}

/// The cached entry bundle of a log of `size` (< 256) entries.
fn find_bundle(cache: &std::path::Path, size: u64) -> PathBuf {
    let origin = std::fs::read_dir(cache)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = origin.join(format!("tile/entries/000.p/{size}"));
    assert!(file.is_file(), "{} is not cached", file.display());
    file
}

#[test]
fn a_log_whose_entries_are_not_statements_fails_the_audit() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "bl", "--log-only"]);
    sb.run_ok(&["bench", "log", "--dir", "bl", "--entries", "300", "--json"]);
    let server = sb.serve("bl");
    let err = sb.run_err(&[
        "audit",
        "--url",
        &server.url,
        "--vkey",
        "bl/log.vkey",
        "--cache",
        "c",
    ]);
    assert!(
        err.contains("the log verifies (size 300") && err.contains("entry 0 (statement "),
        "{err}"
    );
    // The log itself verified, so its full tiles were cached.
    let origin = std::fs::read_dir(sb.path("c"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    assert!(origin.join("tile/entries/000").is_file());
    assert!(origin.join("tile/0/000").is_file());
}
