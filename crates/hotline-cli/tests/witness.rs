//! `hotline witness keygen|serve` end to end: a real hotline's checkpoint, fetched from its
//! server, is cosigned by a real witness process over HTTP; the cosignature verifies under the
//! witness's verifier key; the witness refuses a stale `old` size with 409 and keeps its state
//! across a restart. (The protocol's every status code is tested in crates/hotline-witness.)
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use hotline_tlog::Note;
use hotline_tlog::cosignature::CosignatureV1Verifier;
use util::{ListeningGuard, Sandbox};

fn start_witness(sb: &Sandbox) -> ListeningGuard {
    sb.start_listening(&[
        "witness",
        "serve",
        "--config",
        "w/witness.toml",
        "--listen",
        "127.0.0.1:0",
    ])
}

#[test]
fn a_witness_cosigns_a_hotline_checkpoint_and_remembers_it() {
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--origin",
        "witness-test.example/log",
    ]);
    let server = sb.serve("hl");
    let checkpoint = reqwest::blocking::get(format!("{}/log/checkpoint", server.url))
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let size: u64 = String::from_utf8_lossy(&checkpoint)
        .lines()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert!(size >= 1, "a new hotline holds its operator's registration");

    std::fs::create_dir_all(sb.path("w")).unwrap();
    let vkey = sb
        .run_ok(&[
            "witness",
            "keygen",
            "--name",
            "witness.test.example",
            "--out",
            "w/witness.key",
        ])
        .trim()
        .to_owned();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(sb.path("w/witness.key"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o077, 0, "the witness key must be private");
    let err = sb.run_err(&[
        "witness",
        "keygen",
        "--name",
        "witness.test.example",
        "--out",
        "w/witness.key",
    ]);
    assert!(err.contains("refusing to overwrite"), "{err}");

    let log_vkey = std::fs::read_to_string(sb.path("hl/log.vkey")).unwrap();
    std::fs::write(
        sb.path("w/witness.toml"),
        format!(
            "key_file = \"witness.key\"\ndatabase = \"witness.db\"\n\n[[log]]\norigin = \
             \"witness-test.example/log\"\nkeys = [\"{}\"]\n",
            log_vkey.trim()
        ),
    )
    .unwrap();

    let add = |url: &str, old: u64| {
        let mut body = format!("old {old}\n\n").into_bytes();
        body.extend_from_slice(&checkpoint);
        reqwest::blocking::Client::new()
            .post(format!("{url}/add-checkpoint"))
            .body(body)
            .send()
            .unwrap()
    };

    let witness = start_witness(&sb);
    let resp = add(&witness.url, 0);
    assert_eq!(resp.status().as_u16(), 200);
    let cosignature = resp.bytes().unwrap();
    // The cosigned checkpoint: the log's note with the witness's signature line added.
    let mut cosigned = checkpoint.clone();
    cosigned.extend_from_slice(&cosignature);
    let note = Note::parse(&cosigned).unwrap();
    let verifier = CosignatureV1Verifier::from_vkey(&vkey).unwrap();
    assert_eq!(
        note.verify(&[&verifier]).unwrap(),
        vec!["witness.test.example"]
    );

    // The witness now holds this size: a client claiming it has seen nothing is told so.
    let resp = add(&witness.url, 0);
    assert_eq!(resp.status().as_u16(), 409);
    assert_eq!(resp.text().unwrap(), format!("{size}\n"));

    // Its state survives a restart.
    drop(witness);
    let witness = start_witness(&sb);
    assert_eq!(add(&witness.url, 0).status().as_u16(), 409);
    assert_eq!(add(&witness.url, size).status().as_u16(), 200);
}
