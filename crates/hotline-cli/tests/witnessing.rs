//! The log asking real witnesses for cosignatures, end to end: two `hotline witness serve`
//! processes, a hotline whose `DIR/witnesses.toml` requires both, `/log/checkpoint` serving the
//! checkpoint with their two cosignature lines, `hotline log verify --witness-policy` accepting
//! a 2-of-2 policy and refusing a 3-of-3 one naming a witness that never cosigned; with one
//! witness stopped the hotline keeps sequencing (a statement gets its receipt) while the
//! published cosigned checkpoint lags behind. A receipt fetched with `?cosigned=1` once the
//! cosigned checkpoint covers its statement passes `hotline verify --witness-policy` (2-of-2)
//! and fails a 3-of-3 policy; the cosigned checkpoint survives a restart
//! (`DIR/cosigned.checkpoint`), served at once.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use hotline_tlog::cosignature::CosignatureV1Verifier;
use hotline_tlog::note::NoteVerifier as _;
use hotline_tlog::{Note, TlogProof};
use util::Sandbox;

const ORIGIN: &str = "witnessing-test.example/log";

/// A running `hotline witness serve`, killed when dropped.
struct WitnessGuard {
    child: Child,
    url: String,
}

impl Drop for WitnessGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes witness `name` in directory `dir` (key and configuration knowing the hotline `hl`)
/// and returns its verifier key.
fn make_witness(sb: &Sandbox, dir: &str, name: &str) -> String {
    std::fs::create_dir_all(sb.path(dir)).unwrap();
    let vkey = sb
        .run_ok(&[
            "witness",
            "keygen",
            "--name",
            name,
            "--out",
            &format!("{dir}/witness.key"),
        ])
        .trim()
        .to_owned();
    let log_vkey = std::fs::read_to_string(sb.path("hl/log.vkey")).unwrap();
    std::fs::write(
        sb.path(&format!("{dir}/witness.toml")),
        format!(
            "key_file = \"witness.key\"\ndatabase = \"witness.db\"\n\n[[log]]\norigin = \
             \"{ORIGIN}\"\nkeys = [\"{}\"]\n",
            log_vkey.trim()
        ),
    )
    .unwrap();
    vkey
}

fn start_witness(sb: &Sandbox, dir: &str) -> WitnessGuard {
    let mut child = sb
        .cmd(&[
            "witness",
            "serve",
            "--config",
            &format!("{dir}/witness.toml"),
            "--listen",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(" on http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(addr) = rx.recv_timeout(Duration::from_millis(100)) {
            return WitnessGuard {
                child,
                url: format!("http://{addr}"),
            };
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!("hotline witness serve exited with {status} before it was ready");
        }
        assert!(
            Instant::now() < deadline,
            "the witness did not start in 30 s"
        );
    }
}

/// `(status, body)` of `GET {url}/log/checkpoint`.
fn get_checkpoint(url: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::blocking::get(format!("{url}/log/checkpoint")).unwrap();
    (resp.status().as_u16(), resp.bytes().unwrap().to_vec())
}

fn size_of(note: &[u8]) -> u64 {
    String::from_utf8_lossy(note)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// The size of the latest sequenced checkpoint (the JSON proofs carry it, cosigned or not).
fn sequenced_size(url: &str) -> u64 {
    let v: serde_json::Value = reqwest::blocking::get(format!("{url}/log/proof/consistency?old=0"))
        .unwrap()
        .json()
        .unwrap();
    size_of(v["checkpoint"].as_str().unwrap().as_bytes())
}

/// Polls `/log/checkpoint` until it carries valid cosignatures by all of `verifiers` at a size
/// of at least `min_size` (bounded wait); returns the note.
fn wait_cosigned(url: &str, verifiers: &[&CosignatureV1Verifier], min_size: u64) -> Vec<u8> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, body) = get_checkpoint(url);
        if status == 200 && size_of(&body) >= min_size {
            let note = Note::parse(&body).unwrap();
            let ok = verifiers.iter().all(|v| {
                note.signature_by(v.name(), v.key_id())
                    .is_some_and(|s| v.verified_timestamp(note.text(), &s.signature).is_some())
            });
            if ok {
                return body;
            }
        } else {
            assert!(status == 200 || status == 503, "unexpected status {status}");
        }
        assert!(
            Instant::now() < deadline,
            "no checkpoint of size ≥ {min_size} cosigned by all witnesses in 30 s (last answer \
             {status}: {})",
            String::from_utf8_lossy(&body)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn policy(witnesses: &[(&str, &str, Option<&str>)], required: usize) -> String {
    let mut s = format!("required = {required}\n");
    for (name, vkey, url) in witnesses {
        s.push_str(&format!(
            "\n[[witness]]\nname = \"{name}\"\nvkey = \"{vkey}\"\n"
        ));
        if let Some(url) = url {
            s.push_str(&format!("url = \"{url}\"\n"));
        }
    }
    s
}

/// Registers party `party` through the server (an operator-signed statement, sequenced);
/// returns the registration's statement id (hex).
fn add_party(sb: &Sandbox, url: &str, party: &str) -> String {
    let key = format!("{party}/{party}.key");
    sb.run_ok(&["keygen", "--party", party, "--out", &key]);
    let reg = format!("{party}/registration");
    sb.run_ok(&[
        "party",
        "request",
        "--key",
        &key,
        "--server",
        url,
        "--name",
        party,
        "--jurisdiction",
        "US",
        "--kind",
        "national-cert",
        "--contact",
        "duty@x.example",
        "--out",
        &reg,
    ]);
    let out = sb.run_ok(&[
        "--json",
        "party",
        "add",
        "--server",
        url,
        "--token-file",
        "hl/operator.token",
        &reg,
        "--token-out",
        &format!("{party}/token"),
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["receipt"]["id_hex"].as_str().unwrap().to_owned()
}

/// `(status, body)` of the operator's `GET /api/v1/statements/{id}/receipt{query}`.
fn get_receipt(sb: &Sandbox, url: &str, id: &str, query: &str) -> (u16, serde_json::Value) {
    let token = std::fs::read_to_string(sb.path("hl/operator.token")).unwrap();
    let resp = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/statements/{id}/receipt{query}"))
        .bearer_auth(token.trim())
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.json().unwrap())
}

/// Saves the receipt of statement `id` fetched with `query` as a standalone .tlog-proof
/// (the statement in its extra line, as `hotline send` saves receipts) at `file`.
fn save_receipt(sb: &Sandbox, url: &str, id: &str, query: &str, file: &str) -> u64 {
    let (status, rec) = get_receipt(sb, url, id, query);
    assert_eq!(status, 200, "{rec}");
    let token = std::fs::read_to_string(sb.path("hl/operator.token")).unwrap();
    let st: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{url}/api/v1/statements/{id}"))
        .bearer_auth(token.trim())
        .send()
        .unwrap()
        .json()
        .unwrap();
    let mut proof = TlogProof::parse(rec["receipt"].as_str().unwrap().as_bytes()).unwrap();
    proof.extra = Some(st["statement"].as_str().unwrap().as_bytes().to_vec());
    std::fs::write(sb.path(file), proof.to_bytes()).unwrap();
    size_of(&proof.checkpoint)
}

#[test]
fn two_witnesses_cosign_and_verify_enforces_the_policy() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "hl", "--origin", ORIGIN]);
    let vkey1 = make_witness(&sb, "w1", "witness1.test.example");
    let vkey2 = make_witness(&sb, "w2", "witness2.test.example");
    let vkey3 = make_witness(&sb, "w3", "witness3.test.example");
    let v1 = CosignatureV1Verifier::from_vkey(&vkey1).unwrap();
    let v2 = CosignatureV1Verifier::from_vkey(&vkey2).unwrap();
    let w1 = start_witness(&sb, "w1");
    let w2 = start_witness(&sb, "w2");
    std::fs::write(
        sb.path("hl/witnesses.toml"),
        policy(
            &[
                ("witness1.test.example", &vkey1, Some(&w1.url)),
                ("witness2.test.example", &vkey2, Some(&w2.url)),
            ],
            2,
        ),
    )
    .unwrap();
    let server = sb.serve("hl");
    let url = server.url.clone();

    // The bootstrap checkpoint (the operator's registration) gets both cosignatures.
    let note = wait_cosigned(&url, &[&v1, &v2], 1);
    let parsed = Note::parse(&note).unwrap();
    assert_eq!(
        parsed.signatures().len(),
        3,
        "the log's signature and two cosignatures"
    );
    assert_eq!(
        parsed.signatures()[0].name,
        ORIGIN,
        "the log's signature comes first"
    );

    // The console's status page names both witnesses with their verified cosignatures.
    let status = reqwest::blocking::Client::new()
        .get(format!("{url}/status"))
        .header("Accept", "text/html")
        .header("Accept-Language", "en")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        status.contains("2 of these 2 witnesses"),
        "the policy is not shown: {status}"
    );
    for name in ["witness1.test.example", "witness2.test.example"] {
        assert!(status.contains(name), "{name} is not listed");
    }
    assert_eq!(
        status.matches("at size").count(),
        2,
        "each witness's latest cosignature is shown: {status}"
    );
    assert!(!status.contains("no cosignature on the served checkpoint"));

    // An auditor's 2-of-2 policy (no urls) passes.
    std::fs::write(
        sb.path("policy2.toml"),
        policy(
            &[
                ("witness1.test.example", &vkey1, None),
                ("witness2.test.example", &vkey2, None),
            ],
            2,
        ),
    )
    .unwrap();
    let out = sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &url,
        "--vkey",
        "hl/log.vkey",
        "--witness-policy",
        "policy2.toml",
    ]);
    assert!(!out.is_empty());

    // A 3-of-3 policy with a witness that never cosigned fails, saying how many were found.
    std::fs::write(
        sb.path("policy3.toml"),
        policy(
            &[
                ("witness1.test.example", &vkey1, None),
                ("witness2.test.example", &vkey2, None),
                ("witness3.test.example", &vkey3, None),
            ],
            3,
        ),
    )
    .unwrap();
    let err = sb.run_err(&[
        "log",
        "verify",
        "--url",
        &url,
        "--vkey",
        "hl/log.vkey",
        "--witness-policy",
        "policy3.toml",
    ]);
    assert!(
        err.contains("carries 2 valid cosignature(s)") && err.contains("3 required"),
        "{err}"
    );
    // `audit` takes the same flag.
    let err = sb.run_err(&[
        "audit",
        "--url",
        &url,
        "--vkey",
        "hl/log.vkey",
        "--witness-policy",
        "policy3.toml",
    ]);
    assert!(err.contains("carries 2 valid cosignature(s)"), "{err}");

    // A new statement is cosigned by both while both run.
    let cisa = add_party(&sb, &url, "us-cisa");
    let size = sequenced_size(&url);
    let note = wait_cosigned(&url, &[&v1, &v2], size);
    assert_eq!(size_of(&note), size);

    // Its receipt against the cosigned checkpoint carries both cosignatures: it passes
    // `hotline verify` under the 2-of-2 policy and fails the 3-of-3 one, naming the count.
    let at = save_receipt(&sb, &url, &cisa, "?cosigned=1", "cisa.tlog-proof");
    assert_eq!(at, size, "proved against the cosigned checkpoint");
    let out = sb.run_ok(&[
        "verify",
        "cisa.tlog-proof",
        "--vkey",
        "hl/log.vkey",
        "--witness-policy",
        "policy2.toml",
    ]);
    assert!(out.contains("witness policy met: cosigned by 2"), "{out}");
    let err = sb.run_err(&[
        "verify",
        "cisa.tlog-proof",
        "--vkey",
        "hl/log.vkey",
        "--witness-policy",
        "policy3.toml",
    ]);
    assert!(
        err.contains("carries 2 valid cosignature(s)") && err.contains("3 required"),
        "{err}"
    );
    // The plain receipt's checkpoint has no cosignatures: it verifies, but not under a policy.
    save_receipt(&sb, &url, &cisa, "", "cisa-plain.tlog-proof");
    sb.run_ok(&["verify", "cisa-plain.tlog-proof", "--vkey", "hl/log.vkey"]);
    let err = sb.run_err(&[
        "verify",
        "cisa-plain.tlog-proof",
        "--vkey",
        "hl/log.vkey",
        "--witness-policy",
        "policy2.toml",
    ]);
    assert!(err.contains("carries 0 valid cosignature(s)"), "{err}");

    // After a restart the persisted cosigned checkpoint is served at once (no 503 until the
    // first round). The log knows nothing of the witnesses' state: each answers `old 0` with
    // 409 and its size, and the log retries from there.
    server.stop();
    assert!(sb.path("hl/cosigned.checkpoint").exists());
    let server = sb.serve("hl");
    let url = server.url.clone();
    let (status, body) = get_checkpoint(&url);
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(size_of(&body), size);
    let restored = Note::parse(&body).unwrap();
    for v in [&v1, &v2] {
        let s = restored.signature_by(v.name(), v.key_id()).unwrap();
        assert!(
            v.verified_timestamp(restored.text(), &s.signature)
                .is_some()
        );
    }
    let note = wait_cosigned(&url, &[&v1, &v2], size);
    assert_eq!(size_of(&note), size);

    // One witness down: sequencing goes on, the cosigned checkpoint lags.
    drop(w2);
    let fbi = add_party(&sb, &url, "us-fbi");
    let newer = sequenced_size(&url);
    assert!(newer > size, "the statement was sequenced");
    std::thread::sleep(Duration::from_millis(1500));
    let (status, body) = get_checkpoint(&url);
    assert_eq!(status, 200, "the server keeps serving");
    assert_eq!(
        size_of(&body),
        size,
        "the published checkpoint is the last 2-of-2 one"
    );
    // The new statement got its plain receipt at once; no cosigned checkpoint covers it yet.
    let (status, e) = get_receipt(&sb, &url, &fbi, "?cosigned=1");
    assert_eq!(status, 409, "{e}");
    assert!(
        e["error"]
            .as_str()
            .unwrap()
            .contains("not yet under a cosigned checkpoint"),
        "{e}"
    );
    let (status, _) = get_receipt(&sb, &url, &fbi, "");
    assert_eq!(status, 200);
    let healthz = reqwest::blocking::get(format!("{url}/healthz")).unwrap();
    assert_eq!(healthz.status().as_u16(), 200);
    // A persisted checkpoint that fails the checks on load (here: one cosignature line
    // dropped, so 1 of the 2 required) is ignored: with w2 down no round completes, 503.
    server.stop();
    let file = sb.path("hl/cosigned.checkpoint");
    let text = std::fs::read_to_string(&file).unwrap();
    let cut = text.trim_end_matches('\n').rfind('\n').unwrap();
    std::fs::write(&file, format!("{}\n", &text[..cut])).unwrap();
    let server = sb.serve("hl");
    let (status, body) = get_checkpoint(&server.url);
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    drop(w1);
    server.stop();
}

/// `hotline receipts CASE --cosigned`: an officer fetches, verifies and saves the receipt of
/// every statement of a case against the checkpoint both witnesses cosigned; each saved file
/// passes `hotline verify` under the 2-of-2 policy. With a witness down, a new statement is
/// never covered: the command gives up after --wait naming the statement, while plain
/// receipts still come at once.
#[test]
fn an_officer_fetches_cosigned_receipts_of_a_case() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "hl", "--origin", ORIGIN]);
    let vkey1 = make_witness(&sb, "w1", "witness1.test.example");
    let vkey2 = make_witness(&sb, "w2", "witness2.test.example");
    let w1 = start_witness(&sb, "w1");
    let w2 = start_witness(&sb, "w2");
    std::fs::write(
        sb.path("hl/witnesses.toml"),
        policy(
            &[
                ("witness1.test.example", &vkey1, Some(&w1.url)),
                ("witness2.test.example", &vkey2, Some(&w2.url)),
            ],
            2,
        ),
    )
    .unwrap();
    std::fs::write(
        sb.path("policy2.toml"),
        policy(
            &[
                ("witness1.test.example", &vkey1, None),
                ("witness2.test.example", &vkey2, None),
            ],
            2,
        ),
    )
    .unwrap();
    let server = sb.serve("hl");
    let url = server.url.clone();
    util::register_party(&sb, &url, "us-cisa", "US");
    util::register_party(&sb, &url, "ru-nkcki", "RU");
    let cisa = ["--config", "us-cisa/config.toml"];
    let sent: serde_json::Value = serde_json::from_str(&sb.run_ok(&[
        cisa[0],
        cisa[1],
        "--json",
        "send",
        "--to",
        "ru-nkcki",
        "--priority",
        "routine",
        "--title",
        "t",
        "-m",
        "a notice",
    ]))
    .unwrap();
    let case = sent["case"].as_str().unwrap().to_owned();
    let nkcki = ["--config", "ru-nkcki/config.toml"];
    sb.run_ok(&[nkcki[0], nkcki[1], "ack", &case, "-m", "seen"]);

    let out = sb.run_ok(&[
        cisa[0],
        cisa[1],
        "--json",
        "receipts",
        &case,
        "--cosigned",
        "--witness-policy",
        "policy2.toml",
    ]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let receipts = v["receipts"].as_array().unwrap();
    let kinds: Vec<&str> = receipts
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["notice", "delivered", "acknowledged"], "{out}");
    for r in receipts {
        assert_eq!(r["witnesses"].as_array().unwrap().len(), 2, "{r}");
        let file = r["file"].as_str().unwrap();
        assert!(file.ends_with(".cosigned.tlog-proof"), "{file}");
        let verified = sb.run_ok(&[
            "verify",
            file,
            "--vkey",
            "hl/log.vkey",
            "--witness-policy",
            "policy2.toml",
        ]);
        assert!(
            verified.contains("witness policy met: cosigned by 2"),
            "{verified}"
        );
    }

    // One witness down: the new update is never under a 2-of-2 checkpoint.
    drop(w2);
    sb.run_ok(&[cisa[0], cisa[1], "update", &case, "-m", "more"]);
    let started = Instant::now();
    let err = sb.run_err(&[
        cisa[0],
        cisa[1],
        "receipts",
        &case,
        "--cosigned",
        "--wait",
        "2",
    ]);
    assert!(
        err.contains("no checkpoint cosigned by the log's witnesses covers statement")
            && err.contains("(update)"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let out = sb.run_ok(&[cisa[0], cisa[1], "--json", "receipts", &case]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["receipts"].as_array().unwrap().len(), 4, "{out}");
    drop(w1);
    server.stop();
}
