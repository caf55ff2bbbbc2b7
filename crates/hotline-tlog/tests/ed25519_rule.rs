//! The Ed25519 verification rule of signed notes: exactly Go's crypto/ed25519.Verify (which
//! golang.org/x/mod/sumdb/note, our interop oracle, uses): cofactorless, canonical `s`, the
//! recomputed R compared by encoding — and keys of small order refused when parsed.
#![allow(clippy::unwrap_used)]

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::scalar::Scalar;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hotline_tlog::Ed25519Verifier;
use hotline_tlog::note::{NoteError, NoteVerifier};
use sha2::{Digest as _, Sha512};

/// A valid signature whose R is the identity point (small order): the signer picks
/// s = H(R ‖ A ‖ M)·a, so that [s]B − [H]A = identity. Go's Verify accepts it; dalek's
/// `verify_strict` refuses it.
fn identity_r_signature(seed: [u8; 32], msg: &[u8]) -> (VerifyingKey, [u8; 64]) {
    let sk = SigningKey::from_bytes(&seed);
    let vk = sk.verifying_key();
    let h = Sha512::digest(seed);
    let mut a_bytes = [0u8; 32];
    a_bytes.copy_from_slice(&h[..32]);
    a_bytes[0] &= 248;
    a_bytes[31] &= 127;
    a_bytes[31] |= 64;
    let a = Scalar::from_bytes_mod_order(a_bytes);
    let r = CompressedEdwardsY::from_slice(&{
        let mut id = [0u8; 32];
        id[0] = 1;
        id
    })
    .unwrap();
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r.as_bytes())
            .chain_update(vk.as_bytes())
            .chain_update(msg)
            .finalize()
            .into(),
    );
    let s = k * a;
    // Sanity: the equation holds.
    let lhs = ED25519_BASEPOINT_POINT * s - vk.to_edwards() * k;
    assert_eq!(lhs.compress(), r);
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(r.as_bytes());
    sig[32..].copy_from_slice(s.as_bytes());
    (vk, sig)
}

#[test]
fn a_signature_with_a_small_order_r_verifies_as_in_go() {
    let msg = b"hotline statement text\n";
    let (vk, sig) = identity_r_signature([7u8; 32], msg);
    let v = Ed25519Verifier::new("example.com/log", vk).unwrap();
    assert!(
        v.verify(msg, &sig),
        "Go's crypto/ed25519 accepts this signature"
    );
    assert!(!v.verify(b"another text\n", &sig));
    // The difference from the strict rule, on purpose.
    let strict = vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig));
    assert!(strict.is_err());
}

#[test]
fn a_non_canonical_s_is_refused() {
    let msg = b"text\n";
    let sk = SigningKey::from_bytes(&[9u8; 32]);
    let v = Ed25519Verifier::new("k", sk.verifying_key()).unwrap();
    let good = ed25519_dalek::Signer::sign(&sk, msg).to_bytes();
    assert!(v.verify(msg, &good));
    // s + ℓ encodes the same scalar non-canonically (Go refuses it too).
    let s = Scalar::from_canonical_bytes(good[32..].try_into().unwrap()).unwrap();
    let ell: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut sum = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let t = u16::from(s.as_bytes()[i]) + u16::from(ell[i]) + carry;
        sum[i] = t as u8;
        carry = t >> 8;
    }
    assert_eq!(carry, 0);
    let mut bad = good;
    bad[32..].copy_from_slice(&sum);
    assert!(!v.verify(msg, &bad));
}

#[test]
fn keys_of_small_order_are_refused() {
    // The identity point, and a point of order 8.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let order8 =
        hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a").unwrap();
    for bytes in [identity.to_vec(), order8] {
        let vk = VerifyingKey::from_bytes(&bytes.clone().try_into().unwrap()).unwrap();
        assert!(vk.is_weak());
        assert_eq!(
            Ed25519Verifier::new("weak", vk).err(),
            Some(NoteError::WeakKey("weak".into())),
            "{}",
            hex::encode(&bytes)
        );
    }
}
