//! The officer's and operator's commands against a real `hotline serve`, through every
//! lifecycle transition: each allowed step succeeds and shows up in the case, each refused one
//! fails with the case's state and what is allowed, and nothing is appended by a refusal.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::path::PathBuf;

use util::{Sandbox, ServerGuard};

/// A hotline with three parties, each with its configuration file.
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
            "hotline.test.example/log",
            "--deadlines",
            "routine=3s:6s",
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

    fn cfg(party: &str) -> String {
        format!("{party}/config.toml")
    }

    /// Runs an officer command as `party`.
    fn ok(&self, party: &str, args: &[&str]) -> String {
        let cfg = Self::cfg(party);
        let mut all = vec!["--config", cfg.as_str()];
        all.extend_from_slice(args);
        self.sb.run_ok(&all)
    }

    fn err(&self, party: &str, args: &[&str]) -> String {
        let cfg = Self::cfg(party);
        let mut all = vec!["--config", cfg.as_str()];
        all.extend_from_slice(args);
        self.sb.run_err(&all)
    }

    fn json(&self, party: &str, args: &[&str]) -> serde_json::Value {
        let cfg = Self::cfg(party);
        let mut all = vec!["--config", cfg.as_str(), "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.sb.run_ok(&all)).unwrap()
    }

    fn log_size(&self) -> u64 {
        let text = reqwest::blocking::get(format!("{}/log/checkpoint", self.url()))
            .unwrap()
            .text()
            .unwrap();
        text.lines().nth(1).unwrap().parse().unwrap()
    }

    fn phase(&self, party: &str, case: &str) -> String {
        self.json(party, &["show", case])["case"]["phase"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn request(&self, from: &str, to: &str, priority: &str) -> String {
        let sent = self.json(
            from,
            &[
                "send",
                "--to",
                to,
                "--request",
                "investigation",
                "--priority",
                priority,
                "--title",
                "REvil infrastructure",
                "-m",
                "identify the operators",
                "--evidence",
                &evidence(),
            ],
        );
        sent["case"].as_str().unwrap().to_owned()
    }
}

fn evidence() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenario/kaseya-2021/evidence.json")
        .display()
        .to_string()
}

/// A refused step: non-zero exit, a 409 naming the phase and what is allowed, nothing appended.
fn refused(h: &Hotline, party: &str, args: &[&str], phase: &str) {
    let before = h.log_size();
    let err = h.err(party, args);
    assert!(err.contains("409"), "{args:?}: {err}");
    assert!(err.contains(&format!("is {phase}")), "{args:?}: {err}");
    assert!(
        err.contains("Allowed now") || err.contains("Nothing more can be said"),
        "{args:?}: {err}"
    );
    assert_eq!(
        h.log_size(),
        before,
        "a refused statement must append nothing"
    );
}

#[test]
fn a_request_through_every_step_with_refusals_on_the_way() {
    let h = Hotline::new();
    let case = h.request("us-cisa", "ru-nkcki", "urgent");
    assert_eq!(h.phase("us-cisa", &case), "sent");
    // Nobody may answer or close what was not even delivered, except the requester withdrawing.
    refused(&h, "us-cisa", &["answer", &case, "-m", "x"], "sent");
    // The responder's ack downloads the request first: the operator records the delivery.
    h.ok("ru-nkcki", &["ack", &case, "-m", "received"]);
    let shown = h.json("ru-nkcki", &["show", &case]);
    let kinds: Vec<&str> = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["request", "delivered", "acknowledged"]);
    assert!(
        shown["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["proof"].as_str().unwrap().starts_with("included")),
        "{shown}"
    );
    // The requester cannot acknowledge or answer its own request.
    refused(&h, "us-cisa", &["ack", &case], "acknowledged");
    refused(&h, "us-cisa", &["answer", &case, "-m", "x"], "acknowledged");
    h.ok(
        "ru-nkcki",
        &["need-info", &case, "-m", "which hosting provider?"],
    );
    assert_eq!(h.phase("us-cisa", &case), "info-requested");
    refused(&h, "ru-nkcki", &["close", &case], "info-requested");
    h.ok("us-cisa", &["update", &case, "-m", "AS64500"]);
    assert_eq!(h.phase("us-cisa", &case), "acknowledged");
    h.ok("ru-nkcki", &["answer", &case, "-m", "operators identified"]);
    assert_eq!(h.phase("us-cisa", &case), "answered");
    refused(
        &h,
        "ru-nkcki",
        &["decline", &case, "--reason", "resources"],
        "answered",
    );
    refused(&h, "us-cisa", &["withdraw", &case], "answered");
    h.ok("us-cisa", &["close", &case]);
    assert_eq!(h.phase("us-cisa", &case), "closed");
    refused(&h, "us-cisa", &["update", &case, "-m", "more"], "closed");
    // Both sides decrypt every payload and the commitments hold.
    let fetched = h.json("us-cisa", &["fetch", &case]);
    let docs = fetched["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 5, "{fetched}");
    assert!(docs.iter().all(|d| d["commitments_checked"] == true));
    assert_eq!(docs[0]["document"]["title"], "REvil infrastructure");
    assert!(docs[0]["document"]["evidence"]["objects"].is_array());
    // A third party does not even learn the case exists.
    let err = h.err("us-fbi", &["show", &case]);
    assert!(err.contains("404") && err.contains("no case"), "{err}");
}

#[test]
fn decline_withdraw_and_notices() {
    let h = Hotline::new();
    // Decline needs a reason code.
    let case = h.request("us-fbi", "ru-nkcki", "urgent");
    h.ok("ru-nkcki", &["ack", &case]);
    let err = h.err("ru-nkcki", &["decline", &case, "--reason", "busy"]);
    assert!(
        err.contains("decline reason") && err.contains("not-competent"),
        "{err}"
    );
    h.ok(
        "ru-nkcki",
        &[
            "decline",
            &case,
            "--reason",
            "legal-obstacle",
            "-m",
            "needs MLA",
        ],
    );
    assert_eq!(h.phase("us-fbi", &case), "declined");
    h.ok("us-fbi", &["close", &case]);
    // A request can be withdrawn before anything happens.
    let case = h.request("us-cisa", "us-fbi", "urgent");
    refused(&h, "us-fbi", &["withdraw", &case], "sent");
    h.ok(
        "us-cisa",
        &["withdraw", &case, "-m", "sent to the wrong party"],
    );
    assert_eq!(h.phase("us-cisa", &case), "withdrawn");
    // A notice needs only delivery; it is never answered.
    let sent = h.json(
        "us-cisa",
        &[
            "send",
            "--to",
            "ru-nkcki",
            "--title",
            "for your information",
            "-m",
            "heads up",
        ],
    );
    let notice = sent["case"].as_str().unwrap().to_owned();
    assert_eq!(sent["kind"], "notice");
    h.ok("ru-nkcki", &["ack", &notice]);
    refused(
        &h,
        "ru-nkcki",
        &["answer", &notice, "-m", "x"],
        "acknowledged",
    );
    let inbox = h.json("ru-nkcki", &["inbox"]);
    assert!(inbox["cases"].as_array().unwrap().len() >= 2);
}

#[test]
fn a_missed_deadline_is_recorded_by_the_operator() {
    let h = Hotline::new();
    let case = h.request("us-cisa", "ru-nkcki", "routine");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let shown = h.json("us-cisa", &["show", &case]);
        if shown["case"]["overdue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "ack")
        {
            let last = shown["timeline"]
                .as_array()
                .unwrap()
                .last()
                .unwrap()
                .clone();
            assert_eq!(last["kind"], "overdue");
            assert_eq!(last["author"], "operator");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no overdue after 30 s: {shown}"
        );
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    // A late acknowledgement is still accepted, and the lateness stays on record.
    h.ok("ru-nkcki", &["ack", &case]);
    let shown = h.json("ru-nkcki", &["show", &case]);
    assert_eq!(shown["case"]["phase"], "acknowledged");
    assert!(
        shown["case"]["overdue"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d == "ack")
    );
}

#[test]
fn receipts_verify_offline_and_name_what_failed() {
    let h = Hotline::new();
    let case = h.request("us-cisa", "ru-nkcki", "urgent");
    let receipts = h.sb.path("us-cisa/receipts").join(&case);
    let file = std::fs::read_dir(&receipts)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let file = file.to_str().unwrap().to_owned();
    let pubfile = std::fs::read_to_string(h.sb.path("us-cisa/us-cisa.pub")).unwrap();
    let vkey = pubfile
        .lines()
        .find_map(|l| l.strip_prefix("vkey "))
        .unwrap()
        .to_owned();
    let out = h.sb.run_ok(&[
        "verify",
        &file,
        "--vkey",
        "hl/log.vkey",
        "--party-key",
        &vkey,
    ]);
    assert!(
        out.contains("verified: request by us-cisa to ru-nkcki"),
        "{out}"
    );
    assert!(out.contains("author's signature: verified"), "{out}");
    // Any changed byte makes it fail with a reason.
    let original = std::fs::read(&file).unwrap();
    let mut bad = original.clone();
    let pos = original.len() - 30;
    bad[pos] = if bad[pos] == b'A' { b'B' } else { b'A' };
    std::fs::write(&file, &bad).unwrap();
    let err = h.sb.run_err(&["verify", &file, "--vkey", "hl/log.vkey"]);
    assert!(
        err.contains("receipt does not verify") || err.contains("signature"),
        "{err}"
    );
    std::fs::write(&file, &original).unwrap();
    // The wrong log key.
    h.sb.run_ok(&[
        "init",
        "--dir",
        "other",
        "--log-only",
        "--origin",
        "hotline.test.example/log",
    ]);
    let err = h.sb.run_err(&["verify", &file, "--vkey", "other/log.vkey"]);
    assert!(
        err.contains("not signed by any of the expected keys"),
        "{err}"
    );
}

#[test]
fn rotated_keys_sign_from_then_on_and_revoked_parties_are_locked_out() {
    let h = Hotline::new();
    let case = h.request("us-cisa", "ru-nkcki", "urgent");
    // us-cisa rotates: a new key file, a rotation signed by the new and the old key.
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
    // The old key no longer signs.
    let err = h.err("us-cisa", &["update", &case, "-m", "with the old key"]);
    assert!(
        err.contains("400") && err.contains("not signed by us-cisa"),
        "{err}"
    );
    // With the new key it does (a configuration pointing at the new key file).
    h.sb.run_ok(&[
        "--config",
        "us-cisa/new.toml",
        "config",
        "init",
        "--server",
        h.url(),
        "--party",
        "us-cisa",
        "--key",
        "us-cisa/new.key",
        "--token",
        "us-cisa/token",
    ]);
    h.sb.run_ok(&[
        "--config",
        "us-cisa/new.toml",
        "withdraw",
        &case,
        "-m",
        "new key",
    ]);
    // The old receipt still verifies, with the old key.
    let receipts = h.sb.path("us-cisa/receipts").join(&case);
    let mut files: Vec<_> = std::fs::read_dir(&receipts)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let old_pub = std::fs::read_to_string(h.sb.path("us-cisa/us-cisa.pub")).unwrap();
    let old_vkey = old_pub
        .lines()
        .find_map(|l| l.strip_prefix("vkey "))
        .unwrap();
    let first = files[0].to_str().unwrap();
    let out = h.sb.run_ok(&[
        "verify",
        first,
        "--vkey",
        "hl/log.vkey",
        "--party-key",
        old_vkey,
    ]);
    assert!(out.contains("author's signature: verified"), "{out}");
    // Only the operator revokes.
    let err = h.sb.run_err(&[
        "party",
        "revoke",
        "--server",
        h.url(),
        "--token-file",
        "us-cisa/token",
        "ru-nkcki",
        "--reason",
        "retired",
    ]);
    assert!(err.contains("403"), "{err}");
    h.sb.run_ok(&[
        "party",
        "revoke",
        "--server",
        h.url(),
        "--token-file",
        "hl/operator.token",
        "us-fbi",
        "--reason",
        "retired",
    ]);
    let list = h.sb.run_ok(&["party", "list", "--server", h.url()]);
    assert!(list.contains("revoked at"), "{list}");
    // A revoked party's token no longer authenticates, and nobody can send to it.
    let err = h.err("us-fbi", &["inbox"]);
    assert!(err.contains("401"), "{err}");
    let err = h.err(
        "us-cisa",
        &["send", "--to", "us-fbi", "--title", "x", "-m", "y"],
    );
    assert!(err.contains("revoked"), "{err}");
}
