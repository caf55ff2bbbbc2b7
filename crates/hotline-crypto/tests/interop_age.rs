//! Interop with an age implementation we did not write: the `age` and `age-keygen` binaries
//! (Go's reference implementation, Debian package `age`).
//!
//! hotline encrypts, `age -d -i` decrypts; `age -r` encrypts, hotline decrypts; an identity made
//! by `age-keygen` goes into a hotline key file. Without the binaries the test says what to
//! install and passes, unless HOTLINE_REQUIRE_EXTERNAL=1 (as in CI), where it fails.

#![allow(clippy::unwrap_used)]

use std::fs;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

use hotline_crypto::{
    AgeRecipient, CryptoError, PartyKeys, decrypt, encrypt, parse_recipient, write_secret,
};

/// Whether the `age` binaries can run; otherwise skip (or fail when required).
fn age_available() -> bool {
    let ok = |bin: &str| {
        Command::new(bin)
            .arg("--version")
            .stdin(Stdio::null())
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ok("age") && ok("age-keygen") {
        return true;
    }
    let required = std::env::var("HOTLINE_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "HOTLINE_REQUIRE_EXTERNAL=1 but age not found; install the Debian package age"
    );
    println!("skipping: age not found; install the Debian package age");
    false
}

fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn plaintext(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Writes `keys`' age identity where `age -i` can read it.
fn identity_file(dir: &Path, keys: &PartyKeys) -> std::path::PathBuf {
    let path = dir.join(format!("{}.age-identity", keys.party()));
    write_secret(&path, keys.age_identity_file().trim_end()).unwrap();
    path
}

#[test]
fn age_binary_decrypts_what_hotline_encrypts() {
    if !age_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let us = PartyKeys::generate("us-cisa").unwrap();
    let de = PartyKeys::generate("de-bsi").unwrap();
    let eve = PartyKeys::generate("eve").unwrap();
    let us_id = identity_file(dir.path(), &us);
    let de_id = identity_file(dir.path(), &de);
    let eve_id = identity_file(dir.path(), &eve);
    for len in [0, 1, 65_536, 200_003] {
        let pt = plaintext(len);
        let ct = encrypt(&pt, &[us.recipient(), de.recipient()]).unwrap();
        let ct_path = dir.path().join(format!("payload-{len}.age"));
        fs::write(&ct_path, &ct).unwrap();
        for id in [&us_id, &de_id] {
            let got = run(Command::new("age")
                .arg("-d")
                .arg("-i")
                .arg(id)
                .arg(&ct_path));
            assert_eq!(
                got,
                pt,
                "age -d -i {} on a {len}-byte payload",
                id.display()
            );
        }
        // The reference refuses the wrong key and a tampered file, as hotline does.
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&eve_id)
            .arg(&ct_path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "age decrypted with the wrong key");
        let mut bad = ct.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        fs::write(&ct_path, &bad).unwrap();
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&us_id)
            .arg(&ct_path)
            .output()
            .unwrap();
        assert!(!out.status.success(), "age accepted a tampered payload");
    }
}

#[test]
fn hotline_decrypts_what_the_age_binary_encrypts() {
    if !age_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let us = PartyKeys::generate("us-cisa").unwrap();
    let de = PartyKeys::generate("de-bsi").unwrap();
    let eve = PartyKeys::generate("eve").unwrap();
    for len in [0, 1, 65_536, 200_003] {
        let pt = plaintext(len);
        let pt_path = dir.path().join(format!("plain-{len}"));
        let ct_path = dir.path().join(format!("plain-{len}.age"));
        fs::write(&pt_path, &pt).unwrap();
        run(Command::new("age")
            .arg("-r")
            .arg(us.recipient().to_string())
            .arg("-r")
            .arg(de.public().age_recipient)
            .arg("-o")
            .arg(&ct_path)
            .arg(&pt_path));
        let ct = fs::read(&ct_path).unwrap();
        assert!(
            ct.starts_with(b"age-encryption.org/v1\n"),
            "age wrote armor?"
        );
        // The server's keyless format check accepts what the reference implementation wrote.
        hotline_crypto::check_age_format(&ct)
            .unwrap_or_else(|e| panic!("{len} bytes from the age binary: {e}"));
        assert_eq!(
            decrypt(&ct, us.age_identity()).unwrap(),
            pt,
            "us, {len} bytes"
        );
        assert_eq!(
            decrypt(&ct, de.age_identity()).unwrap(),
            pt,
            "de, {len} bytes"
        );
        let err = decrypt(&ct, eve.age_identity()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "this payload is not encrypted to your key ({})",
                eve.recipient()
            )
        );
    }
    // Armored output (age -a) is recognised and refused with a clear message.
    let ct = run(Command::new("age")
        .arg("-a")
        .arg("-r")
        .arg(us.recipient().to_string())
        .arg(dir.path().join("plain-1")));
    let err = decrypt(&ct, us.age_identity()).unwrap_err();
    assert!(matches!(err, CryptoError::NotAgeFile(_)), "{err:?}");
    assert!(err.to_string().contains("ASCII-armored"), "{err}");
}

#[test]
fn age_keygen_identities_fit_hotline_key_files() {
    if !age_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let id_path = dir.path().join("keygen.txt");
    run(Command::new("age-keygen").arg("-o").arg(&id_path));
    assert_eq!(
        fs::metadata(&id_path).unwrap().permissions().mode() & 0o077,
        0
    );
    let text = fs::read_to_string(&id_path).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    let public = run(Command::new("age-keygen").arg("-y").arg(&id_path));
    let public = String::from_utf8(public).unwrap().trim().to_owned();
    let recipient: AgeRecipient = parse_recipient(&public).unwrap();

    // A hotline key file holding the age-keygen identity.
    let signing = PartyKeys::generate("fr-anssi").unwrap();
    let key_file = signing
        .to_key_file()
        .lines()
        .map(|l| {
            if l.starts_with("age-identity ") {
                format!("age-identity {secret}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let keys = PartyKeys::from_key_file(&key_file).unwrap();
    assert_eq!(keys.public().age_recipient, public);
    assert_eq!(keys.recipient(), recipient);

    // hotline encrypts to the recipient age-keygen printed; age decrypts with its own file.
    let ct = encrypt(b"from hotline", &[recipient]).unwrap();
    let ct_path = dir.path().join("x.age");
    fs::write(&ct_path, &ct).unwrap();
    let got = run(Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&id_path)
        .arg(&ct_path));
    assert_eq!(got, b"from hotline");
    assert_eq!(decrypt(&ct, keys.age_identity()).unwrap(), b"from hotline");
}
