//! Party key files and public key files: round trips, strict parsing with errors that name
//! the line (and never echo a secret), permissions, and no overwriting.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;

use age::secrecy::ExposeSecret as _;
use hotline_crypto::{
    CryptoError, PartyKeys, PartyPublicKeys, read_key_file, read_public_file, read_secret,
    write_key_file, write_public_file, write_secret,
};
use hotline_tlog::Note;
use hotline_tlog::note::NoteVerifier;

fn mode(p: &std::path::Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

/// The secret strings of `keys`, which must never appear in an error message.
fn secrets(keys: &PartyKeys) -> Vec<String> {
    let skey = keys.signer().to_skey();
    let id = keys.age_identity().to_string().expose_secret().to_owned();
    // The distinctive tails (the prefixes are public knowledge).
    vec![skey[skey.len() - 40..].to_owned(), id[20..].to_owned()]
}

#[test]
fn key_file_round_trip() {
    let keys = PartyKeys::generate("us-cisa").unwrap();
    let text = keys.to_key_file();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].starts_with("# hotline party key"));
    assert_eq!(lines[1], "party us-cisa");
    assert!(lines[2].starts_with("signing-key PRIVATE+KEY+us-cisa+"));
    assert!(lines[3].starts_with("age-identity AGE-SECRET-KEY-1"));

    let back = PartyKeys::from_key_file(&text).unwrap();
    assert_eq!(back.party(), "us-cisa");
    assert_eq!(back.public(), keys.public());
    assert_eq!(*back.to_key_file(), *text);

    // The parsed keys work: a note signed by one verifies under the other's verifier.
    let mut note = Note::new("hello\n").unwrap();
    note.sign(back.signer());
    let v = keys.verifier();
    assert_eq!(
        note.verify(&[&v as &dyn NoteVerifier]).unwrap(),
        ["us-cisa"]
    );
    let ct = hotline_crypto::encrypt(b"payload", &[keys.recipient()]).unwrap();
    assert_eq!(
        hotline_crypto::decrypt(&ct, back.age_identity()).unwrap(),
        b"payload"
    );
}

#[test]
fn key_file_accepts_comments_blank_lines_crlf_and_any_order() {
    let keys = PartyKeys::generate("de-bsi").unwrap();
    let text = keys.to_key_file();
    let lines: Vec<&str> = text.lines().collect();
    let shuffled = format!(
        "# my key\r\n\r\n{}\r\n  \n{}   \n# note\n{}\n",
        lines[3], lines[1], lines[2]
    );
    let back = PartyKeys::from_key_file(&shuffled).unwrap();
    assert_eq!(back.public(), keys.public());
}

#[test]
fn public_file_round_trip() {
    let keys = PartyKeys::generate("nl-ncsc").unwrap();
    let public = keys.public();
    assert!(public.vkey.starts_with("nl-ncsc+"));
    assert!(public.age_recipient.starts_with("age1"));
    let text = public.to_public_file();
    assert!(!text.contains("PRIVATE"));
    assert!(!text.contains("AGE-SECRET-KEY"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[1], "party nl-ncsc");
    assert_eq!(lines[2], format!("vkey {}", public.vkey));
    assert_eq!(lines[3], format!("age-recipient {}", public.age_recipient));
    let back = PartyPublicKeys::from_public_file(&text).unwrap();
    assert_eq!(back, public);
    assert_eq!(back.verifier().unwrap(), keys.verifier());
    assert_eq!(back.recipient().unwrap(), keys.recipient());
    assert_eq!(
        PartyPublicKeys::new(&public.party, &public.vkey, &public.age_recipient).unwrap(),
        public
    );
}

/// Replaces line `n` (1-based) of `text`.
fn with_line(text: &str, n: usize, new: &str) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[n - 1] = new.to_owned();
    lines.join("\n") + "\n"
}

fn key_file_error(text: &str) -> String {
    match PartyKeys::from_key_file(text) {
        Ok(k) => panic!("accepted a malformed key file: {k:?}\n{text}"),
        Err(e) => {
            assert!(matches!(e, CryptoError::KeyFile { .. }), "{e:?}");
            e.to_string()
        }
    }
}

#[test]
fn malformed_key_files_name_the_line() {
    let keys = PartyKeys::generate("us-cisa").unwrap();
    let other = PartyKeys::generate("de-bsi").unwrap();
    let good_text = keys.to_key_file();
    let good: &str = &good_text;
    let lines: Vec<&str> = good.lines().collect();
    let identity = keys.age_identity().to_string().expose_secret().to_owned();

    // (text, expected line, words the message must contain)
    let cases: Vec<(String, Option<usize>, &str)> = vec![
        (
            with_line(good, 2, "party US-CISA"),
            Some(2),
            "party id \"US-CISA\" is invalid",
        ),
        (
            with_line(good, 2, "party us cisa"),
            Some(2),
            "contains spaces",
        ),
        (with_line(good, 2, "party"), Some(2), "`party` has no value"),
        (
            with_line(good, 2, "party de-bsi"),
            Some(3),
            "belongs to \"us-cisa\"",
        ),
        (
            with_line(good, 3, other.to_key_file().lines().nth(2).unwrap()),
            Some(3),
            "belongs to \"de-bsi\", but this file is for party \"us-cisa\"",
        ),
        (
            with_line(good, 3, "signing-key PRIVATE+KEY+us-cisa+00000000+AQ"),
            Some(3),
            "signing-key is not an Ed25519 signed-note private key",
        ),
        (
            with_line(good, 3, &format!("signing-key {}", keys.public().vkey)),
            Some(3),
            "signing-key is not an Ed25519 signed-note private key",
        ),
        (
            with_line(good, 4, "age-identity AGE-SECRET-KEY-1QQQQ"),
            Some(4),
            "age-identity is not an age X25519 identity",
        ),
        (
            with_line(
                good,
                4,
                &format!("age-identity {}", keys.public().age_recipient),
            ),
            Some(4),
            "age-identity is not an age X25519 identity",
        ),
        (
            format!("{good}vkey {}\n", keys.public().vkey),
            Some(5),
            "unknown keyword `vkey`",
        ),
        (
            format!("{good}party us-cisa\n"),
            Some(5),
            "second `party` line (the first is line 2)",
        ),
        (
            format!("{good}{}\n", lines[3]),
            Some(5),
            "second `age-identity` line (the first is line 4)",
        ),
        // A secret pasted without its keyword: refused, and not echoed.
        (
            format!("{good}{identity}\n"),
            Some(5),
            "unrecognised line (not shown",
        ),
        (with_line(good, 4, "# gone"), None, "no `age-identity` line"),
        (with_line(good, 3, "# gone"), None, "no `signing-key` line"),
        (String::new(), None, "no `party` line"),
        (
            with_line(good, 2, " party us-cisa"),
            Some(2),
            "the line starts with a space",
        ),
    ];
    for (text, line, words) in cases {
        let msg = key_file_error(&text);
        match line {
            Some(n) => assert!(msg.starts_with(&format!("key file, line {n}: ")), "{msg}"),
            None => assert!(msg.starts_with("key file: "), "{msg}"),
        }
        assert!(msg.contains(words), "expected {words:?} in: {msg}");
        for s in secrets(&keys).iter().chain(&secrets(&other)) {
            assert!(!msg.contains(s.as_str()), "error leaks a secret: {msg}");
        }
    }
}

#[test]
fn malformed_public_files_name_the_line() {
    let keys = PartyKeys::generate("us-cisa").unwrap();
    let other = PartyKeys::generate("de-bsi").unwrap();
    let good_text = keys.public().to_public_file();
    let good: &str = &good_text;
    let cases: Vec<(String, Option<usize>, &str)> = vec![
        (
            with_line(good, 2, "party -x"),
            Some(2),
            "party id \"-x\" is invalid",
        ),
        (
            with_line(good, 3, &format!("vkey {}", other.public().vkey)),
            Some(3),
            "vkey belongs to \"de-bsi\"",
        ),
        (
            with_line(good, 3, "vkey us-cisa+1234+AQ"),
            Some(3),
            "not an Ed25519 signed-note verifier key",
        ),
        (
            with_line(good, 4, "age-recipient age1nope"),
            Some(4),
            "invalid age recipient",
        ),
        (
            with_line(good, 4, &format!("age-recipient {}", keys.public().vkey)),
            Some(4),
            "does not start with age1",
        ),
        (
            format!("{good}{}\n", keys.to_key_file().lines().nth(3).unwrap()),
            Some(5),
            "`age-identity` is a private key and has no place in this file",
        ),
        (
            format!("{good}contact soc@example.org\n"),
            Some(5),
            "unknown keyword `contact`",
        ),
        (with_line(good, 3, "# no vkey"), None, "no `vkey` line"),
    ];
    for (text, line, words) in cases {
        let msg = PartyPublicKeys::from_public_file(&text)
            .expect_err(&text)
            .to_string();
        match line {
            Some(n) => assert!(
                msg.starts_with(&format!("public key file, line {n}: ")),
                "{msg}"
            ),
            None => assert!(msg.starts_with("public key file: "), "{msg}"),
        }
        assert!(msg.contains(words), "expected {words:?} in: {msg}");
        for s in secrets(&keys) {
            assert!(!msg.contains(s.as_str()), "error leaks a secret: {msg}");
        }
    }
    // The checked constructor refuses the same mismatches.
    let p = keys.public();
    assert!(PartyPublicKeys::new("de-bsi", &p.vkey, &p.age_recipient).is_err());
    assert!(PartyPublicKeys::new(&p.party, &p.vkey, "age1x").is_err());
    assert!(PartyPublicKeys::new("Bad", &p.vkey, &p.age_recipient).is_err());
}

#[test]
fn key_file_on_disk_is_private_and_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("us-cisa.key");
    let keys = PartyKeys::generate("us-cisa").unwrap();
    write_key_file(&path, &keys).unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fs::read_to_string(&path).unwrap(), *keys.to_key_file());
    let back = read_key_file(&path).unwrap();
    assert_eq!(back.public(), keys.public());

    let pub_path = dir.path().join("us-cisa.pub");
    write_public_file(&pub_path, &keys.public()).unwrap();
    assert_eq!(read_public_file(&pub_path).unwrap(), keys.public());
}

#[test]
fn existing_files_are_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    let first = PartyKeys::generate("us-cisa").unwrap();
    write_key_file(&path, &first).unwrap();
    let second = PartyKeys::generate("us-cisa").unwrap();
    let err = write_key_file(&path, &second).unwrap_err();
    assert!(matches!(err, CryptoError::AlreadyExists { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("refusing to overwrite"), "{msg}");
    assert_eq!(read_key_file(&path).unwrap().public(), first.public());

    let err = write_secret(&path, "other").unwrap_err();
    assert!(matches!(err, CryptoError::AlreadyExists { .. }), "{err:?}");
    let err = write_public_file(&path, &second.public()).unwrap_err();
    assert!(matches!(err, CryptoError::AlreadyExists { .. }), "{err:?}");
    assert_eq!(read_key_file(&path).unwrap().public(), first.public());
}

#[test]
fn files_others_can_read_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k");
    write_key_file(&path, &PartyKeys::generate("us-cisa").unwrap()).unwrap();
    for bad in [0o640, 0o604, 0o644, 0o660, 0o602, 0o610] {
        fs::set_permissions(&path, fs::Permissions::from_mode(bad)).unwrap();
        let err = read_key_file(&path).unwrap_err();
        assert!(
            matches!(err, CryptoError::InsecurePermissions { .. }),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("readable by other users"), "{msg}");
        assert!(
            msg.contains(&format!("chmod 600 {}", path.display())),
            "{msg}"
        );
        assert!(read_secret(&path).is_err());
    }
    fs::set_permissions(&path, fs::Permissions::from_mode(0o400)).unwrap();
    read_key_file(&path).unwrap();
}

#[test]
fn secrets_round_trip_trimmed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    write_secret(&path, "PRIVATE+KEY+x+0+y").unwrap();
    assert_eq!(mode(&path), 0o600);
    assert_eq!(fs::read_to_string(&path).unwrap(), "PRIVATE+KEY+x+0+y\n");
    assert_eq!(*read_secret(&path).unwrap(), "PRIVATE+KEY+x+0+y");
}

#[test]
fn unreadable_or_odd_files_give_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.key");
    let msg = read_key_file(&missing).unwrap_err().to_string();
    assert!(msg.contains("missing.key"), "{msg}");

    // A malformed file on disk: the error names the path and the line.
    let path = dir.path().join("bad.key");
    let keys = PartyKeys::generate("us-cisa").unwrap();
    write_secret(&path, &with_line(&keys.to_key_file(), 3, "signing-key x")).unwrap();
    let msg = read_key_file(&path).unwrap_err().to_string();
    assert!(
        msg.starts_with(&format!("{}, line 3: ", path.display())),
        "{msg}"
    );

    // Not UTF-8.
    let path = dir.path().join("bin.key");
    fs::write(&path, [0xff, 0xfe, 0x00]).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let msg = read_key_file(&path).unwrap_err().to_string();
    assert!(msg.contains("bin.key"), "{msg}");

    // Too large to be a key file.
    let path = dir.path().join("big.key");
    fs::write(&path, vec![b'#'; 100_000]).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).unwrap();
    let err = read_key_file(&path).unwrap_err();
    assert!(
        matches!(err, CryptoError::SecretFileTooLarge { .. }),
        "{err:?}"
    );

    // A directory.
    let sub = dir.path().join("d");
    fs::create_dir(&sub).unwrap();
    fs::set_permissions(&sub, fs::Permissions::from_mode(0o700)).unwrap();
    assert!(read_key_file(&sub).is_err());

    // Writing into a directory that does not exist.
    let msg = write_secret(&dir.path().join("no/such/dir"), "x")
        .unwrap_err()
        .to_string();
    assert!(msg.starts_with("creating "), "{msg}");
}
