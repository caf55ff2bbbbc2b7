//! `hotline prove` and `hotline verify-package` against a real `hotline serve`: a request
//! acknowledged, the responder's key rotated, then answered under the new key; the package
//! verifies offline (server stopped), and each tampering is refused, named: a flipped byte in a
//! statement, a removed proof line, a checkpoint signed by another key, a statement of another
//! case added.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_tlog::{Checkpoint, Ed25519Signer, Note};
use util::{Sandbox, ServerGuard};

const ORIGIN: &str = "hotline.prove.example/log";

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
        for (party, cc) in [("us-cisa", "US"), ("ru-nkcki", "RU")] {
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

    fn config(&self, party: &str, cfg: &str, key: &str) {
        self.sb.run_ok(&[
            "--config",
            cfg,
            "config",
            "init",
            "--server",
            &self.url(),
            "--party",
            party,
            "--key",
            key,
            "--token",
            &format!("{party}/token"),
        ]);
    }

    fn ok(&self, cfg: &str, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--config", cfg, "--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&self.sb.run_ok(&all)).unwrap()
    }

    fn request(&self) -> String {
        let sent = self.ok(
            "us-cisa/config.toml",
            &[
                "send",
                "--to",
                "ru-nkcki",
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

    fn rotate(&self, party: &str) {
        let url = self.url();
        let new = format!("{party}/new.key");
        self.sb.run_ok(&["keygen", "--party", party, "--out", &new]);
        let rotation = format!("{party}/rotation");
        self.sb.run_ok(&[
            "party",
            "rotation",
            "--new-key",
            &new,
            "--old-key",
            &format!("{party}/{party}.key"),
            "--server",
            &url,
            "--out",
            &rotation,
        ]);
        self.sb.run_ok(&[
            "party",
            "rotate",
            "--server",
            &url,
            "--token-file",
            "hl/operator.token",
            party,
            &rotation,
        ]);
        self.config(party, &format!("{party}/new.toml"), &new);
    }

    fn prove(&self, case: &str, out: &str) -> serde_json::Value {
        let url = self.url();
        let args = [
            "--json",
            "prove",
            "--url",
            &url,
            "--vkey",
            "hl/log.vkey",
            "--case",
            case,
            "--out",
            out,
        ];
        serde_json::from_str(&self.sb.run_ok(&args)).unwrap()
    }
}

/// Statement times are whole seconds: wait so the next one is strictly later.
fn tick() {
    std::thread::sleep(Duration::from_millis(1100));
}

/// The package's lines before its checkpoint, and the checkpoint.
fn split(pkg: &str) -> (Vec<String>, String) {
    let (head, cp) = pkg.split_once("\n\n").unwrap();
    (head.lines().map(str::to_owned).collect(), cp.to_owned())
}

fn join(lines: &[String], cp: &str) -> String {
    format!("{}\n\n{cp}", lines.join("\n"))
}

/// Runs verify-package on `text` and returns its error output.
fn refused(sb: &Sandbox, name: &str, text: &str) -> String {
    std::fs::write(sb.path(name), text).unwrap();
    let err = sb.run_err(&["verify-package", name, "--vkey", "hl/log.vkey"]);
    assert!(err.contains("EVIDENCE PACKAGE REJECTED"), "{err}");
    err
}

#[test]
fn a_case_is_proved_and_checked_offline_and_tampering_is_named() {
    let h = Hotline::new();
    let case = h.request();
    tick();
    h.ok("ru-nkcki/config.toml", &["ack", &case, "-m", "received"]);
    // The responder's key is rotated: the answer verifies only under the new key.
    h.rotate("ru-nkcki");
    tick();
    h.ok(
        "ru-nkcki/new.toml",
        &["answer", &case, "-m", "operators identified"],
    );
    // Another case between the same parties.
    let other = h.request();

    let proved = h.prove(&case, "case.package");
    assert_eq!(proved["ok"], true, "{proved:#}");
    assert!(
        proved["case_statements"].as_u64().unwrap() >= 3,
        "{proved:#}"
    );
    // The operator, both registrations and the rotation.
    assert_eq!(proved["directory_statements"], 4, "{proved:#}");
    let proved_other = h.prove(&other, "other.package");
    assert_eq!(proved_other["size"], proved["size"], "{proved_other:#}");
    // The output file is never overwritten.
    let url = h.url();
    let err = h.sb.run_err(&[
        "prove",
        "--url",
        &url,
        "--vkey",
        "hl/log.vkey",
        "--case",
        &case,
        "--out",
        "case.package",
    ]);
    assert!(err.contains("exists"), "{err}");
    scitt_receipts(&h, &case);
    h.server.stop();

    // Offline.
    let sb = &h.sb;
    let out = sb.run_ok(&[
        "--json",
        "verify-package",
        "case.package",
        "--vkey",
        "hl/log.vkey",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true, "{v:#}");
    assert_eq!(v["case"], case.as_str());
    assert_eq!(v["requester"], "us-cisa");
    assert_eq!(v["responder"], "ru-nkcki");
    assert_eq!(v["phase"], "answered", "{v:#}");
    let kinds: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    for k in [
        "party-registered",
        "request",
        "acknowledged",
        "key-rotated",
        "answer",
    ] {
        assert!(kinds.contains(&k), "{k} missing: {kinds:?}");
    }
    let human = sb.run_ok(&["verify-package", "case.package", "--vkey", "hl/log.vkey"]);
    assert!(human.contains("evidence package verified"), "{human}");
    assert!(human.contains("key-rotated"), "{human}");

    let pkg = std::fs::read_to_string(sb.path("case.package")).unwrap();
    assert!(pkg.starts_with("hotline evidence package v1\ncase "));
    let (lines, cp) = split(&pkg);

    // A flipped byte in a statement (the answer's text).
    let mut t = lines.clone();
    let (i, idx) = t
        .iter()
        .enumerate()
        .find_map(|(i, l)| {
            let rest = l.strip_prefix("entry ")?;
            let (idx, b64) = rest.split_once(' ')?;
            let text = B64.decode(b64).unwrap();
            String::from_utf8(text)
                .unwrap()
                .contains("kind answer")
                .then(|| (i, idx.to_owned()))
        })
        .unwrap();
    let mut bytes = B64.decode(t[i].rsplit(' ').next().unwrap()).unwrap();
    let pos = String::from_utf8(bytes.clone())
        .unwrap()
        .find("kind answer")
        .unwrap();
    bytes[pos + 5] ^= 0x01;
    t[i] = format!("entry {idx} {}", B64.encode(&bytes));
    let err = refused(sb, "flipped.package", &join(&t, &cp));
    assert!(
        err.contains(&format!("entry {idx} ")) && err.contains("inclusion proof does not hold"),
        "{err}"
    );

    // A removed proof line.
    let mut t = lines.clone();
    let p = t.iter().position(|l| l.starts_with("proof ")).unwrap();
    let owner = t[..p]
        .iter()
        .rev()
        .find(|l| l.starts_with("entry "))
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .to_owned();
    t.remove(p);
    let err = refused(sb, "short.package", &join(&t, &cp));
    assert!(
        err.contains(&format!("entry {owner} ")) && err.contains("inclusion proof does not hold"),
        "{err}"
    );

    // A checkpoint signed by another key, for the same origin and tree.
    let note = Note::parse(cp.as_bytes()).unwrap();
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    let mut forged = Note::new(checkpoint.to_text()).unwrap();
    forged.sign(&Ed25519Signer::generate(ORIGIN).unwrap());
    let forged = String::from_utf8(forged.to_bytes()).unwrap();
    let err = refused(sb, "forged.package", &join(&lines, &forged));
    assert!(err.contains("not signed by the log key"), "{err}");

    // A statement of another case, with its valid proof, added in index order.
    let other_pkg = std::fs::read_to_string(sb.path("other.package")).unwrap();
    let (other_lines, other_cp) = split(&other_pkg);
    assert_eq!(other_cp, cp);
    let start = other_lines
        .iter()
        .rposition(|l| l.starts_with("entry "))
        .unwrap();
    let block = &other_lines[start..];
    let foreign_idx: u64 = block[0].split(' ').nth(1).unwrap().parse().unwrap();
    let mut t = lines.clone();
    let at = t
        .iter()
        .position(|l| {
            l.strip_prefix("entry ")
                .and_then(|r| r.split(' ').next())
                .is_some_and(|i| i.parse::<u64>().unwrap() > foreign_idx)
        })
        .unwrap_or(t.len());
    t.splice(at..at, block.iter().cloned());
    let err = refused(sb, "mixed.package", &join(&t, &cp));
    assert!(
        err.contains(&format!("entry {foreign_idx} "))
            && err.contains(&format!(
                "of case {other}, not of the package's case {case}"
            )),
        "{err}"
    );
}

/// `hotline prove --format scitt`: each statement of the case with its COSE receipt, which
/// verifies under the log key against the statement's leaf hash and the verified checkpoint.
fn scitt_receipts(h: &Hotline, case: &str) {
    use hotline_tlog::cose::{receipt_kid, verify_inclusion_receipt};
    let url = h.url();
    let sb = &h.sb;
    let vkey = hotline_tlog::Ed25519Verifier::from_vkey(
        std::fs::read_to_string(sb.path("hl/log.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap();
    let run = |pick: &[&str], out: &str| -> serde_json::Value {
        let mut args = vec![
            "--json",
            "prove",
            "--format",
            "scitt",
            "--url",
            &url,
            "--vkey",
            "hl/log.vkey",
            "--token-file",
            "us-cisa/token",
            "--out",
            out,
        ];
        args.extend_from_slice(pick);
        serde_json::from_str(&sb.run_ok(&args)).unwrap()
    };
    let check = |v: &serde_json::Value, out: &str| -> Vec<String> {
        assert_eq!(v["ok"], true, "{v:#}");
        let note = std::fs::read(sb.path(&format!("{out}/checkpoint"))).unwrap();
        let note = Note::parse(&note).unwrap();
        let cp = Checkpoint::parse(note.text()).unwrap();
        assert_eq!(v["size"].as_u64().unwrap(), cp.size);
        let mut ids = Vec::new();
        for e in v["entries"].as_array().unwrap() {
            let index = e["index"].as_u64().unwrap();
            let statement = std::fs::read(sb.path(&format!("{out}/{index}.statement"))).unwrap();
            let cose = std::fs::read(sb.path(&format!("{out}/{index}.receipt.cose"))).unwrap();
            let leaf = hotline_tlog::leaf_hash(&statement);
            assert_eq!(e["id"].as_str().unwrap(), leaf.to_hex());
            assert!(String::from_utf8_lossy(&statement).contains(&format!("case {case}")));
            let rec = verify_inclusion_receipt(&cose, &leaf, &vkey).unwrap();
            assert_eq!(rec.leaf_index, index);
            assert_eq!(rec.kid, receipt_kid(&vkey).to_vec());
            assert_eq!((rec.tree_size, rec.root), (cp.size, cp.root));
            // Not a receipt for another statement.
            assert!(
                verify_inclusion_receipt(&cose, &hotline_tlog::leaf_hash(b"x"), &vkey).is_err()
            );
            ids.push(leaf.to_hex());
        }
        ids
    };
    let v = run(&["--case", case], "scitt");
    let ids = check(&v, "scitt");
    assert!(ids.len() >= 3, "{v:#}");
    // One statement by its id.
    let v = run(&["--statement", &ids[0]], "scitt-one");
    assert_eq!(check(&v, "scitt-one"), vec![ids[0].clone()]);
    // A package is not written without --format scitt.
    let err = sb.run_err(&[
        "prove",
        "--url",
        &url,
        "--vkey",
        "hl/log.vkey",
        "--statement",
        &ids[0],
        "--out",
        "x",
    ]);
    assert!(err.contains("scitt"), "{err}");
}
