//! Equivocation and rollback end to end, with real processes: an operator who shows two
//! different trees under one log key (two data directories copied from one), or serves an old
//! backup after the log grew, is caught by a witness (`hotline witness serve`: 422 / 409, the
//! conflicting checkpoints kept in its database) and by an auditor (`hotline log verify` and
//! `hotline audit` with `--state`: FORK / ROLLBACK, both signed checkpoints written to
//! `--evidence-out` and checked here under the log key).
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::time::{Duration, Instant};

use hotline_tlog::tree::verify_consistency;
use hotline_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, NoteVerifier};
use util::{ListeningGuard, Sandbox, copy_dir};

const ORIGIN: &str = "equivocation-test.example/log";

/// Makes a witness in `w/` that knows the log of `hl/log.vkey` and starts it.
fn start_witness(sb: &Sandbox) -> ListeningGuard {
    std::fs::create_dir_all(sb.path("w")).unwrap();
    sb.run_ok(&[
        "witness",
        "keygen",
        "--name",
        "witness.test.example",
        "--out",
        "w/witness.key",
    ]);
    let log_vkey = std::fs::read_to_string(sb.path("hl/log.vkey")).unwrap();
    std::fs::write(
        sb.path("w/witness.toml"),
        format!(
            "key_file = \"witness.key\"\ndatabase = \"witness.db\"\n\n[[log]]\norigin = \
             \"{ORIGIN}\"\nkeys = [\"{}\"]\n",
            log_vkey.trim()
        ),
    )
    .unwrap();
    sb.start_listening(&[
        "witness",
        "serve",
        "--config",
        "w/witness.toml",
        "--listen",
        "127.0.0.1:0",
    ])
}

/// POSTs add-checkpoint; returns the status and the body.
fn add_checkpoint(witness: &str, old: u64, proof: &[Hash], note: &[u8]) -> (u16, String) {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{witness}/add-checkpoint"))
        .body(hotline_witness::encode_request(old, proof, note))
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.text().unwrap())
}

fn vkey(sb: &Sandbox) -> Ed25519Verifier {
    Ed25519Verifier::from_vkey(
        std::fs::read_to_string(sb.path("hl/log.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap()
}

/// Verifies a checkpoint note under the log key and parses it.
fn open(note: &[u8], key: &Ed25519Verifier) -> Checkpoint {
    let n = Note::parse(note).unwrap();
    n.verify(&[key as &dyn NoteVerifier]).unwrap();
    Checkpoint::parse(n.text()).unwrap()
}

/// The server's checkpoint note.
fn checkpoint(url: &str) -> Vec<u8> {
    reqwest::blocking::get(format!("{url}/log/checkpoint"))
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec()
}

fn size_of(note: &[u8]) -> u64 {
    String::from_utf8_lossy(note)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

/// The consistency proof from `old` to the server's latest checkpoint.
fn consistency(url: &str, old: u64) -> Vec<Hash> {
    let v: serde_json::Value =
        reqwest::blocking::get(format!("{url}/log/proof/consistency?old={old}"))
            .unwrap()
            .json()
            .unwrap();
    v["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_base64(h.as_str().unwrap()).unwrap())
        .collect()
}

/// Registers a party through the server at `url` (operator token of `dir`) and waits until
/// the log's checkpoint has grown past `before`; returns the new checkpoint note.
fn register(sb: &Sandbox, url: &str, dir: &str, party: &str, before: u64) -> Vec<u8> {
    let key = format!("{dir}-{party}/{party}.key");
    sb.run_ok(&["keygen", "--party", party, "--out", &key]);
    let reg = format!("{dir}-{party}/registration");
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
        "FR",
        "--kind",
        "national-cert",
        "--contact",
        "duty@x.example",
        "--out",
        &reg,
    ]);
    sb.run_ok(&[
        "party",
        "add",
        "--server",
        url,
        "--token-file",
        &format!("{dir}/operator.token"),
        &reg,
        "--token-out",
        &format!("{dir}-{party}/token"),
    ]);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let note = checkpoint(url);
        if size_of(&note) > before {
            return note;
        }
        assert!(Instant::now() < deadline, "the checkpoint did not grow");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `hotline log verify --state FILE` against `url`, plus extra arguments.
fn verify(url: &str, state: &str, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "log",
        "verify",
        "--url",
        url,
        "--vkey",
        "hl/log.vkey",
        "--state",
        state,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Splits an evidence file into its two notes, checking the header.
fn evidence_notes(bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let parts: Vec<&str> = text.split("\n\n").collect();
    assert_eq!(parts.len(), 5, "{text}");
    assert_eq!(parts[0], "hotline equivocation evidence v1");
    let first = format!("{}\n\n{}\n", parts[1], parts[2]);
    let second = format!("{}\n\n{}", parts[3], parts[4]);
    assert!(second.ends_with('\n'), "{text}");
    (first.into_bytes(), second.into_bytes())
}

#[test]
fn a_forked_log_is_refused_by_the_witness_and_proved_by_the_auditor() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "hl", "--origin", ORIGIN]);
    // The operator copies the stopped hotline, keys and database: one key, two logs.
    copy_dir(&sb.path("hl"), &sb.path("fork"));
    let key = vkey(&sb);

    // The first log: one more party; an auditor and a witness see it.
    let server = sb.serve("hl");
    let start = size_of(&checkpoint(&server.url));
    let first = register(&sb, &server.url, "hl", "a-cert", start);
    let size = size_of(&first);
    sb.run_ok(&strs(&verify(&server.url, "seen", &[])));
    assert_eq!(std::fs::read(sb.path("seen")).unwrap(), first);
    let witness = start_witness(&sb);
    assert_eq!(add_checkpoint(&witness.url, 0, &[], &first).0, 200);
    server.stop();

    // The second log, under the same key: another party at the same size, then one more.
    let server = sb.serve("fork");
    let same = register(&sb, &server.url, "fork", "b-cert", start);
    assert_eq!(
        size_of(&same),
        size,
        "one registration each: a fork at the same size"
    );
    let same_cp = open(&same, &key);
    assert_ne!(same_cp.root, open(&first, &key).root);

    // (a) The witness refuses the same size with another root (422) and keeps both notes.
    let (status, body) = add_checkpoint(&witness.url, size, &[], &same);
    assert_eq!(status, 422, "{body}");
    let store = hotline_witness::Store::open(&sb.path("w/witness.db")).unwrap();
    let evidence = store.equivocations(ORIGIN).unwrap();
    assert_eq!(evidence.len(), 1, "{evidence:?}");
    assert_eq!(evidence[0].size, size);
    assert_eq!(evidence[0].recorded_root, open(&first, &key).root);
    assert_eq!(evidence[0].refused_root, same_cp.root);
    assert_eq!(evidence[0].refused_note, same);
    assert!(
        evidence[0]
            .recorded_note
            .starts_with(&first[..first.len() - 1]),
        "the recorded note is the first log's checkpoint with the witness's cosignature"
    );
    assert_eq!(
        open(&evidence[0].recorded_note, &key).root,
        evidence[0].recorded_root
    );
    assert_eq!(
        open(&evidence[0].refused_note, &key).root,
        evidence[0].refused_root
    );

    // The fork grows: a larger checkpoint whose proof from the recorded size (computed by the
    // fork's own server) does not verify from the root the witness cosigned (422).
    let bigger = register(&sb, &server.url, "fork", "c-cert", size);
    let proof = consistency(&server.url, size);
    let (status, body) = add_checkpoint(&witness.url, size, &proof, &bigger);
    assert_eq!(status, 422, "{body}");
    // Without a proof at all the witness refuses too.
    let (status, body) = add_checkpoint(&witness.url, size, &[], &bigger);
    assert!(status == 422 || status == 400, "{status} {body}");
    // Its cosigned state is still the first log's.
    let latest = store.latest(ORIGIN).unwrap().unwrap();
    assert_eq!(latest.size, size);
    assert_eq!(latest.root, open(&first, &key).root);

    // (b) The auditor that saw the first log: FORK, and both signed checkpoints written out.
    std::fs::copy(sb.path("seen"), sb.path("seen-audit")).unwrap();
    let err = sb.run_err(&strs(&verify(
        &server.url,
        "seen",
        &["--evidence-out", "fork.evidence"],
    )));
    assert!(err.contains("FORK"), "{err}");
    assert!(err.contains("fork.evidence"), "{err}");
    let (earlier, current) = evidence_notes(&std::fs::read(sb.path("fork.evidence")).unwrap());
    assert_eq!(earlier, first);
    assert_eq!(current, bigger);
    let (old_cp, new_cp) = (open(&earlier, &key), open(&current, &key));
    assert_eq!(old_cp.origin, new_cp.origin);
    assert!(old_cp.size < new_cp.size);
    // The later tree cannot extend the earlier one: the log's own proof fails.
    assert!(
        verify_consistency(old_cp.size, new_cp.size, &old_cp.root, &new_cp.root, &proof).is_err()
    );
    // The state still holds the first log's checkpoint.
    assert_eq!(std::fs::read(sb.path("seen")).unwrap(), first);

    // `hotline audit` writes the same evidence.
    let err = sb.run_err(&[
        "audit",
        "--url",
        &server.url,
        "--vkey",
        "hl/log.vkey",
        "--state",
        "seen-audit",
        "--evidence-out",
        "audit.evidence",
    ]);
    assert!(err.contains("FORK"), "{err}");
    assert_eq!(
        std::fs::read(sb.path("audit.evidence")).unwrap(),
        std::fs::read(sb.path("fork.evidence")).unwrap()
    );
    server.stop();

    // A same-size fork seen by an auditor: FORK with two roots for one size.
    let server = sb.serve("hl");
    std::fs::write(sb.path("seen-same"), &same).unwrap();
    let err = sb.run_err(&strs(&verify(
        &server.url,
        "seen-same",
        &["--evidence-out", "same.evidence"],
    )));
    assert!(err.contains("FORK"), "{err}");
    let (earlier, current) = evidence_notes(&std::fs::read(sb.path("same.evidence")).unwrap());
    let (old_cp, new_cp) = (open(&earlier, &key), open(&current, &key));
    assert_eq!(old_cp.size, new_cp.size);
    assert_ne!(old_cp.root, new_cp.root);
}

#[test]
fn a_restored_backup_is_a_rollback_until_the_log_is_back() {
    let sb = Sandbox::new();
    sb.run_ok(&["init", "--dir", "hl", "--origin", ORIGIN]);
    copy_dir(&sb.path("hl"), &sb.path("backup"));
    let key = vkey(&sb);

    let server = sb.serve("hl");
    let start = size_of(&checkpoint(&server.url));
    let newer = register(&sb, &server.url, "hl", "a-cert", start);
    let size = size_of(&newer);
    sb.run_ok(&strs(&verify(&server.url, "seen", &[])));
    let witness = start_witness(&sb);
    assert_eq!(add_checkpoint(&witness.url, 0, &[], &newer).0, 200);
    server.stop();

    // The operator restores the backup taken before the log grew.
    let server = sb.serve("backup");
    let older = checkpoint(&server.url);
    assert_eq!(size_of(&older), start);
    let err = sb.run_err(&strs(&verify(
        &server.url,
        "seen",
        &["--evidence-out", "rollback.evidence"],
    )));
    assert!(err.contains("ROLLBACK"), "{err}");
    let (earlier, current) = evidence_notes(&std::fs::read(sb.path("rollback.evidence")).unwrap());
    assert_eq!(earlier, newer);
    assert_eq!(current, older);
    let (old_cp, new_cp) = (open(&earlier, &key), open(&current, &key));
    assert!(new_cp.size < old_cp.size);
    assert_eq!(std::fs::read(sb.path("seen")).unwrap(), newer);

    // The witness that cosigned the newer checkpoint answers 409 with its size, whatever old
    // size the restored server claims.
    for old in [0, start] {
        let (status, body) = add_checkpoint(&witness.url, old, &[], &older);
        assert_eq!(status, 409, "{body}");
        assert_eq!(body, format!("{size}\n"));
    }
    server.stop();

    // The log is back (the newer directory restored): the auditor accepts it again.
    let server = sb.serve("hl");
    let out = sb.run_ok(&strs(&verify(&server.url, "seen", &["--json"])));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["consistent_with"]["size"], size);
    assert_eq!(add_checkpoint(&witness.url, size, &[], &newer).0, 200);
}
