//! `hotline prove --from A --to B --since T1 --until T2` and `hotline verify-package` against a
//! real `hotline serve`: a window with two requests from A to B proves 2; windows with none
//! prove 0 with their run and bounding entries; an entry removed from the run is named; a
//! window claimed wider than its bounding entries allow is refused.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use util::{Sandbox, ServerGuard};

const ORIGIN: &str = "hotline.window.example/log";
const A: &str = "us-cisa";
const B: &str = "ru-nkcki";

struct Hotline {
    sb: Sandbox,
    server: ServerGuard,
}

impl Hotline {
    fn new() -> Hotline {
        let sb = Sandbox::new();
        sb.run_ok(&["init", "--dir", "hl", "--origin", ORIGIN]);
        let server = sb.serve("hl");
        let h = Hotline { sb, server };
        for (party, cc) in [(A, "US"), (B, "RU")] {
            h.register(party, cc);
        }
        h
    }

    fn url(&self) -> String {
        self.server.url.clone()
    }

    fn register(&self, party: &str, cc: &str) {
        util::register_party(&self.sb, &self.url(), party, cc);
    }

    fn ok(&self, party: &str, args: &[&str]) -> serde_json::Value {
        let cfg = format!("{party}/config.toml");
        let mut all = vec!["--config", &cfg, "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.sb.run_ok(&all)).unwrap()
    }

    fn request(&self, from: &str, to: &str) -> String {
        let sent = self.ok(
            from,
            &[
                "send",
                "--to",
                to,
                "--request",
                "investigation",
                "--priority",
                "urgent",
                "--title",
                "REvil infrastructure",
                "-m",
                "identify the operators",
            ],
        );
        sent["case"].as_str().unwrap().to_owned()
    }

    fn prove(&self, since: &str, until: &str, out: &str) -> serde_json::Value {
        let url = self.url();
        let args = [
            "--json",
            "prove",
            "--url",
            &url,
            "--vkey",
            "hl/log.vkey",
            "--from",
            A,
            "--to",
            B,
            "--since",
            since,
            "--until",
            until,
            "--out",
            out,
        ];
        serde_json::from_str(&self.sb.run_ok(&args)).unwrap()
    }
}

fn verify(sb: &Sandbox, name: &str) -> serde_json::Value {
    let out = sb.run_ok(&["--json", "verify-package", name, "--vkey", "hl/log.vkey"]);
    serde_json::from_str(&out).unwrap()
}

/// Runs verify-package on `text` and returns its error output.
fn refused(sb: &Sandbox, name: &str, text: &str) -> String {
    std::fs::write(sb.path(name), text).unwrap();
    let err = sb.run_err(&["verify-package", name, "--vkey", "hl/log.vkey"]);
    assert!(err.contains("EVIDENCE PACKAGE REJECTED"), "{err}");
    err
}

/// The package with the `entry INDEX` block (entry line and its proof lines) removed.
fn without_entry(pkg: &str, index: u64) -> String {
    let (head, cp) = pkg.split_once("\n\n").unwrap();
    let prefix = format!("entry {index} ");
    let mut out = Vec::new();
    let mut skipping = false;
    for l in head.lines() {
        if l.starts_with("entry ") {
            skipping = l.starts_with(&prefix);
        }
        if !skipping {
            out.push(l);
        }
    }
    format!("{}\n\n{cp}", out.join("\n"))
}

const PAST: (&str, &str) = ("2001-01-01T00:00:00Z", "2001-02-01T00:00:00Z");
const FUTURE: (&str, &str) = ("2099-01-01T00:00:00Z", "2099-02-01T00:00:00Z");
const ALL: (&str, &str) = ("2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z");

#[test]
fn a_window_proves_every_statement_from_a_to_b_and_that_there_are_no_others() {
    let h = Hotline::new();
    // Entries 0-2: the operator and the two parties. Then two requests from A to B, B's
    // acknowledgement of the first, and a request from B to A (neither counts).
    let first = h.request(A, B);
    h.ok(B, &["ack", &first, "-m", "received"]);
    h.request(A, B);
    h.request(B, A);

    let proved = h.prove(ALL.0, ALL.1, "all.package");
    assert_eq!(proved["count"], 2, "{proved:#}");
    let size = proved["size"].as_u64().unwrap();
    assert!(size >= 7, "{proved:#}");
    let past = h.prove(PAST.0, PAST.1, "past.package");
    let future = h.prove(FUTURE.0, FUTURE.1, "future.package");
    assert_eq!(past["count"], 0, "{past:#}");
    assert_eq!(future["count"], 0, "{future:#}");
    h.server.stop();

    // Offline.
    let sb = &h.sb;
    let v = verify(sb, "all.package");
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!((v["from"].as_str(), v["to"].as_str()), (Some(A), Some(B)));
    assert_eq!(v["count"], 2, "{v:#}");
    assert_eq!(v["kinds"], serde_json::json!({ "request": 2 }), "{v:#}");
    assert_eq!(
        (v["run_start"].as_u64(), v["run_end"].as_u64()),
        (Some(0), Some(size - 1))
    );
    assert_eq!(v["run_from_start"], true);
    assert_eq!(v["run_to_end"], true);
    let human = sb.run_ok(&["verify-package", "all.package", "--vkey", "hl/log.vkey"]);
    assert!(
        human.contains("2 statements from us-cisa to ru-nkcki"),
        "{human}"
    );

    // A window before the log: zero, proved by a run of entry 0 alone, which bounds it after
    // (its time is more than the disorder bound after the window's end).
    let v = verify(sb, "past.package");
    assert_eq!(v["count"], 0, "{v:#}");
    assert_eq!(
        (v["run_start"].as_u64(), v["run_end"].as_u64()),
        (Some(0), Some(0)),
        "{v:#}"
    );
    assert_eq!(v["run_to_end"], false, "{v:#}");
    let human = sb.run_ok(&["verify-package", "past.package", "--vkey", "hl/log.vkey"]);
    assert!(
        human.contains("no statement from us-cisa to ru-nkcki in the window"),
        "{human}"
    );
    // A window after the log: zero, proved by the last entry bounding the run before, the run
    // reaching the checkpoint's end, and the keys' directory statements before it.
    let v = verify(sb, "future.package");
    assert_eq!(v["count"], 0, "{v:#}");
    assert_eq!(
        (v["run_start"].as_u64(), v["run_end"].as_u64()),
        (Some(size - 1), Some(size - 1)),
        "{v:#}"
    );
    assert_eq!(v["run_from_start"], false, "{v:#}");
    assert_eq!(v["run_to_end"], true, "{v:#}");
    let pkg = std::fs::read_to_string(sb.path("future.package")).unwrap();
    assert!(pkg.starts_with(&format!(
        "hotline evidence package v1\nwindow {A} {B} {} {}\nrun {} {}\nentry 0 ",
        FUTURE.0,
        FUTURE.1,
        size - 1,
        size - 1
    )));

    // One entry removed from the run is named.
    let pkg = std::fs::read_to_string(sb.path("all.package")).unwrap();
    let err = refused(sb, "gap.package", &without_entry(&pkg, 4));
    assert!(
        err.contains(&format!("entry 4 of the run 0..{} is missing", size - 1)),
        "{err}"
    );
    // So is the run's last.
    let err = refused(sb, "short.package", &without_entry(&pkg, size - 1));
    assert!(
        err.contains(&format!("entry {} of the run", size - 1)) && err.contains("missing"),
        "{err}"
    );

    // A window claimed wider than its bounding entries allow.
    let pkg = std::fs::read_to_string(sb.path("past.package")).unwrap();
    let wider = pkg.replace(
        &format!("window {A} {B} {} {}", PAST.0, PAST.1),
        &format!("window {A} {B} {} {}", PAST.0, ALL.1),
    );
    assert_ne!(wider, pkg);
    let err = refused(sb, "wider-end.package", &wider);
    assert!(
        err.contains("entry 0 ") && err.contains(&format!("claims to end at {}", ALL.1)),
        "{err}"
    );
    let pkg = std::fs::read_to_string(sb.path("future.package")).unwrap();
    let wider = pkg.replace(
        &format!("window {A} {B} {} {}", FUTURE.0, FUTURE.1),
        &format!("window {A} {B} {} {}", ALL.0, FUTURE.1),
    );
    let err = refused(sb, "wider-start.package", &wider);
    assert!(
        err.contains(&format!("entry {} ", size - 1))
            && err.contains(&format!("claims to start at {}", ALL.0)),
        "{err}"
    );
    // Or a run claimed to end before the checkpoint without a bounding entry.
    let pkg = std::fs::read_to_string(sb.path("all.package")).unwrap();
    let shorter = without_entry(&pkg, size - 1).replace(
        &format!("run 0 {}", size - 1),
        &format!("run 0 {}", size - 2),
    );
    let err = refused(sb, "cut.package", &shorter);
    assert!(
        err.contains(&format!("entry {} ", size - 2)) && err.contains("claims to end at"),
        "{err}"
    );
}
