//! age payload encryption: several recipients, the wrong key, tampering, truncation, limits.

#![allow(clippy::unwrap_used)]

use age::x25519::Identity;
use hotline_crypto::payload::{MAX_HEADER_SIZE, max_ciphertext_size};
use hotline_crypto::{
    AgeRecipient, CryptoError, MAX_CIPHERTEXT_SIZE, MAX_PAYLOAD_SIZE, MAX_RECIPIENTS, decrypt,
    decrypt_with, encrypt, encrypted_size_bound,
};

fn recipient(id: &Identity) -> AgeRecipient {
    AgeRecipient::from(id.to_public())
}

/// A deterministic, incompressible-looking plaintext.
fn plaintext(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect()
}

#[test]
fn two_recipients_each_decrypt_a_third_cannot() {
    let alice = Identity::generate();
    let bob = Identity::generate();
    let eve = Identity::generate();
    for len in [0, 1, 1000, 65_535, 65_536, 65_537, 200_000] {
        let pt = plaintext(len);
        let ct = encrypt(&pt, &[recipient(&alice), recipient(&bob)]).unwrap();
        assert!(ct.starts_with(b"age-encryption.org/v1\n-> X25519 "));
        assert!(ct.len() <= encrypted_size_bound(len, 2));
        assert_eq!(decrypt(&ct, &alice).unwrap(), pt, "alice, len {len}");
        assert_eq!(decrypt(&ct, &bob).unwrap(), pt, "bob, len {len}");

        let err = decrypt(&ct, &eve).unwrap_err();
        assert!(
            matches!(err, CryptoError::NotEncryptedToYou { .. }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "this payload is not encrypted to your key ({})",
                eve.to_public()
            )
        );
    }
    // Several identities: any one that matches will do.
    let ct = encrypt(b"rotated", &[recipient(&bob)]).unwrap();
    assert_eq!(
        decrypt_with(&ct, &[&eve, &bob], MAX_PAYLOAD_SIZE).unwrap(),
        b"rotated"
    );
    let msg = decrypt_with(&ct, &[&eve, &alice], MAX_PAYLOAD_SIZE)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains(&format!("({}, {})", eve.to_public(), alice.to_public())),
        "{msg}"
    );
}

#[test]
fn encryption_is_randomised() {
    let alice = Identity::generate();
    let a = encrypt(b"same", &[recipient(&alice)]).unwrap();
    let b = encrypt(b"same", &[recipient(&alice)]).unwrap();
    assert_ne!(a, b);
}

#[test]
fn empty_recipient_list_is_refused() {
    let err = encrypt(b"secret", &[]).unwrap_err();
    assert!(matches!(err, CryptoError::NoRecipients), "{err:?}");
    assert!(err.to_string().contains("at least one"), "{err}");
}

#[test]
fn too_many_recipients_are_refused() {
    let ids: Vec<Identity> = (0..=MAX_RECIPIENTS).map(|_| Identity::generate()).collect();
    let rs: Vec<AgeRecipient> = ids.iter().map(recipient).collect();
    let err = encrypt(b"x", &rs).unwrap_err();
    assert!(
        matches!(err, CryptoError::TooManyRecipients { .. }),
        "{err:?}"
    );
    let ct = encrypt(b"x", &rs[..MAX_RECIPIENTS]).unwrap();
    assert!(ct.len() <= max_ciphertext_size(1));
    assert_eq!(decrypt(&ct, &ids[MAX_RECIPIENTS - 1]).unwrap(), b"x");
}

#[test]
fn every_truncation_and_every_bit_flip_is_refused() {
    let alice = Identity::generate();
    // Two full chunks and a partial one, so truncation at a chunk boundary is covered.
    let pt = plaintext(2 * 65_536 + 10);
    let ct = encrypt(&pt, &[recipient(&alice)]).unwrap();
    let header_len = ct.windows(4).position(|w| w == b"--- ").unwrap();

    // Truncations: inside the header, right after it, at chunk boundaries, one byte short.
    let chunk = 65_536 + 16;
    let body_start = ct.len() - (pt.len() + 3 * 16);
    let mut cuts = vec![
        0,
        5,
        header_len,
        header_len + 10,
        body_start - 8,
        body_start,
        body_start + chunk,
        body_start + 2 * chunk,
        ct.len() - 1,
    ];
    cuts.extend((1..40).map(|i| ct.len() * i / 40));
    for cut in cuts {
        let err = decrypt(&ct[..cut], &alice).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::DamagedPayload(_) | CryptoError::NotAgeFile(_)
            ),
            "cut at {cut}: {err:?}"
        );
    }
    // Appended bytes.
    let mut longer = ct.clone();
    longer.push(0);
    assert!(matches!(
        decrypt(&longer, &alice),
        Err(CryptoError::DamagedPayload(_))
    ));
    // One flipped bit anywhere past the magic line: header, MAC, nonce, every chunk, last tag.
    let mut positions: Vec<usize> = (22..ct.len()).step_by(4099).collect();
    positions.extend([header_len + 5, body_start - 1, body_start, ct.len() - 1]);
    for pos in positions {
        let mut bad = ct.clone();
        bad[pos] ^= 0x01;
        let err = decrypt(&bad, &alice).unwrap_err();
        assert!(
            matches!(
                err,
                CryptoError::DamagedPayload(_) | CryptoError::NotEncryptedToYou { .. }
            ),
            "flip at {pos}: {err:?}"
        );
        if pos >= header_len {
            assert!(
                matches!(err, CryptoError::DamagedPayload(_)),
                "flip at {pos}: {err:?}"
            );
            assert!(
                err.to_string().starts_with("the payload is damaged"),
                "{err}"
            );
        }
    }
    // The original still decrypts.
    assert_eq!(decrypt(&ct, &alice).unwrap(), pt);
}

#[test]
fn non_age_input_is_named() {
    let alice = Identity::generate();
    let msg = decrypt(b"{\"title\":\"plain JSON\"}", &alice)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("not an age-encryption.org/v1 file"), "{msg}");
    let msg = decrypt(b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdl\n", &alice)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("ASCII-armored"), "{msg}");
    let msg = decrypt(b"age-encryption.org/v2\n", &alice)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("later version"), "{msg}");
    let msg = decrypt(b"", &alice).unwrap_err().to_string();
    assert!(msg.contains("not an age-encryption.org/v1 file"), "{msg}");
}

#[test]
fn size_limits() {
    let alice = Identity::generate();
    let r = [recipient(&alice)];

    // The largest payload goes through; one byte more is refused before any work.
    let pt = plaintext(MAX_PAYLOAD_SIZE);
    let ct = encrypt(&pt, &r).unwrap();
    assert!(ct.len() <= MAX_CIPHERTEXT_SIZE);
    assert_eq!(decrypt(&ct, &alice).unwrap().len(), MAX_PAYLOAD_SIZE);
    let mut big = pt;
    big.push(0);
    let err = encrypt(&big, &r).unwrap_err();
    assert!(
        matches!(
            err,
            CryptoError::PayloadTooLarge {
                what: "plaintext",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&MAX_PAYLOAD_SIZE.to_string()),
        "{err}"
    );

    // A smaller limit on decryption: refused, not truncated.
    let ct = encrypt(&plaintext(1001), &r).unwrap();
    let err = decrypt_with(&ct, &[&alice], 1000).unwrap_err();
    assert!(
        matches!(
            err,
            CryptoError::PayloadTooLarge {
                what: "plaintext",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(decrypt_with(&ct, &[&alice], 1001).unwrap().len(), 1001);
    // A ciphertext too large for the limit is refused before it is parsed.
    let ct = encrypt(&plaintext(70_000), &r).unwrap();
    let err = decrypt_with(&ct, &[&alice], 10).unwrap_err();
    assert!(
        matches!(
            err,
            CryptoError::PayloadTooLarge {
                what: "ciphertext",
                ..
            }
        ),
        "{err:?}"
    );
    let mut huge = b"age-encryption.org/v1\n".to_vec();
    huge.resize(MAX_CIPHERTEXT_SIZE + 1, b'A');
    let err = decrypt(&huge, &alice).unwrap_err();
    assert!(
        matches!(
            err,
            CryptoError::PayloadTooLarge {
                what: "ciphertext",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        MAX_CIPHERTEXT_SIZE,
        MAX_HEADER_SIZE + 16 + MAX_PAYLOAD_SIZE + 256 * 16
    );
}

#[test]
fn random_damage_never_panics_nor_decrypts() {
    let alice = Identity::generate();
    let bob = Identity::generate();
    let pt = plaintext(70_000);
    let ct = encrypt(&pt, &[recipient(&alice), recipient(&bob)]).unwrap();
    // xorshift: deterministic, no extra dependency.
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let mut bad = ct.clone();
        match round % 4 {
            // A few random bytes anywhere, the header most often.
            0 | 1 => {
                let span = if round % 4 == 0 { 400 } else { bad.len() };
                for _ in 0..=(next() % 4) {
                    let pos = (next() as usize) % span;
                    bad[pos] = next() as u8;
                }
            }
            // A random cut.
            2 => bad.truncate((next() as usize) % bad.len()),
            // A random slice removed from the middle.
            _ => {
                let a = (next() as usize) % bad.len();
                let b = (a + 1 + (next() as usize) % 100).min(bad.len());
                bad.drain(a..b);
            }
        }
        if bad == ct {
            continue;
        }
        if let Ok(got) = decrypt(&bad, &alice) {
            // The header MAC covers every stanza (grease too), the nonce feeds the payload
            // key and every chunk is authenticated: no change may decrypt.
            panic!(
                "round {round}: damaged ciphertext decrypted ({} bytes)",
                got.len()
            );
        }
    }
}

#[test]
fn format_check_without_a_key() {
    use hotline_crypto::check_age_format;
    let alice = Identity::generate();
    for len in [0, 1, 65_535, 65_536, 65_537, 2 * 65_536, 150_000] {
        let ct = encrypt(&plaintext(len), &[recipient(&alice)]).unwrap();
        check_age_format(&ct).unwrap_or_else(|e| panic!("{len}: {e}"));
        // Cut anywhere in the header, nonce or at a chunk boundary: refused.
        let body = len + len.div_ceil(65_536).max(1) * 16;
        let header_and_nonce = ct.len() - body;
        for cut in [
            10,
            header_and_nonce - 20,
            header_and_nonce - 1,
            header_and_nonce,
        ] {
            let err = check_age_format(&ct[..cut]).unwrap_err();
            assert!(
                matches!(
                    err,
                    CryptoError::DamagedPayload(_) | CryptoError::NotAgeFile(_)
                ),
                "{len} cut at {cut}: {err:?}"
            );
        }
        if len > 65_536 {
            // Cut after the first full chunk: the "last" chunk is then a full one, which is
            // well-formed as far as a keyless check can tell; one byte more is not.
            let cut = header_and_nonce + 65_536 + 16;
            check_age_format(&ct[..cut]).unwrap();
            assert!(check_age_format(&ct[..cut + 5]).is_err(), "{len}");
            assert!(check_age_format(&ct[..cut + 16]).is_err(), "{len}");
        }
    }
    assert!(matches!(
        check_age_format(b"{\"title\":1}"),
        Err(CryptoError::NotAgeFile(_))
    ));
    // Encrypted to a passphrase (cheap work factor): refused.
    let mut r = age::scrypt::Recipient::new(age::secrecy::SecretString::from("pw".to_owned()));
    r.set_work_factor(2);
    let ct = age::encrypt(&r, b"x").unwrap();
    let err = check_age_format(&ct).unwrap_err();
    assert!(err.to_string().contains("passphrase"), "{err}");
    // Too large.
    let mut huge = b"age-encryption.org/v1\n".to_vec();
    huge.resize(MAX_CIPHERTEXT_SIZE + 1, b'A');
    assert!(matches!(
        check_age_format(&huge),
        Err(CryptoError::PayloadTooLarge { .. })
    ));
}
