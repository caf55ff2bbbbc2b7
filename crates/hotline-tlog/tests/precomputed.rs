//! `PrecomputedVerifier::verify_all` and `verify_batch` give exactly `Ed25519Verifier::verify`'s
//! answer (Go's crypto/ed25519 rule, `tests/ed25519_rule.rs`) on valid, tampered and
//! hand-crafted edge-case signatures: the fast paths of audits and of the server must never
//! accept what a Go-based verifier refuses, nor refuse what it accepts.
#![allow(clippy::unwrap_used)]

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity as _;
use ed25519_dalek::{SigningKey, VerifyingKey};
use hotline_tlog::note::NoteVerifier as _;
use hotline_tlog::{BatchItem, BatchKey, Ed25519Verifier, PrecomputedVerifier, verify_batch};
use proptest::prelude::*;
use sha2::{Digest as _, Sha512};

/// A point of order 8.
fn order8() -> EdwardsPoint {
    let bytes: [u8; 32] =
        hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
            .unwrap()
            .try_into()
            .unwrap();
    let p = CompressedEdwardsY(bytes).decompress().unwrap();
    let four_p = p + p + p + p;
    assert!(p.is_small_order() && !four_p.is_identity());
    p
}

fn k_of(r: &[u8], a: &[u8], msg: &[u8]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r)
            .chain_update(a)
            .chain_update(msg)
            .finalize()
            .into(),
    )
}

/// A signature with any chosen `R` bytes, nonce scalar `r` (so that the honest part of R is
/// [r]B) and secret scalar `a`: s = r + k·a with k hashed over the chosen bytes.
fn sign_with_r(r_bytes: [u8; 32], r: Scalar, a: Scalar, a_bytes: &[u8], msg: &[u8]) -> [u8; 64] {
    let k = k_of(&r_bytes, a_bytes, msg);
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    sig
}

fn check(v: &Ed25519Verifier, items: &[(Vec<u8>, Vec<u8>)]) -> Vec<bool> {
    let p = PrecomputedVerifier::new(v);
    let refs: Vec<(&[u8], &[u8])> = items
        .iter()
        .map(|(m, s)| (m.as_slice(), s.as_slice()))
        .collect();
    let fast = p.verify_all(&refs);
    let one_by_one: Vec<bool> = items.iter().map(|(m, s)| v.verify(m, s)).collect();
    assert_eq!(fast, one_by_one, "the fast path must give verify's answers");
    assert_eq!(
        batched(v, &refs),
        one_by_one,
        "the batch must give verify's answers"
    );
    fast
}

/// `verify_batch`'s answers for `items`, within a batch padded to its minimum size with
/// honest signatures by another key.
fn batched(v: &Ed25519Verifier, items: &[(&[u8], &[u8])]) -> Vec<bool> {
    let (other_sk, other) = key(200);
    let padding: Vec<(Vec<u8>, Vec<u8>)> = (0..hotline_tlog::batch::MIN_BATCH)
        .map(|i| {
            let msg = format!("padding {i}\n").into_bytes();
            let sig = ed25519_dalek::Signer::sign(&other_sk, &msg)
                .to_bytes()
                .to_vec();
            (msg, sig)
        })
        .collect();
    let (key, other) = (BatchKey::new(v), BatchKey::new(&other));
    let mut batch = items_by(&key, items.iter().map(|(m, s)| (*m, *s)));
    batch.extend(items_by(
        &other,
        padding.iter().map(|(m, s)| (m.as_slice(), s.as_slice())),
    ));
    let got = verify_batch(&mut rand::rng(), &batch);
    assert!(
        got[items.len()..].iter().all(|ok| *ok),
        "the padding verifies"
    );
    got[..items.len()].to_vec()
}

/// Batch items: each (message, signature) by `key`.
fn items_by<'a>(
    key: &'a BatchKey,
    pairs: impl Iterator<Item = (&'a [u8], &'a [u8])>,
) -> Vec<BatchItem<'a>> {
    pairs
        .map(|(message, signature)| BatchItem {
            key,
            message,
            signature,
        })
        .collect()
}

/// A key from `seed` with its secret scalar `a` (RFC 8032 §5.1.5), to sign with any chosen R.
fn key_with_secret(seed: [u8; 32]) -> (VerifyingKey, Ed25519Verifier, Scalar) {
    let vk = SigningKey::from_bytes(&seed).verifying_key();
    let v = Ed25519Verifier::new("example.org/key", vk).unwrap();
    let h = Sha512::digest(seed);
    let mut b = [0u8; 32];
    b.copy_from_slice(&h[..32]);
    b[0] &= 248;
    b[31] &= 127;
    b[31] |= 64;
    (vk, v, Scalar::from_bytes_mod_order(b))
}

fn key(seed: u8) -> (SigningKey, Ed25519Verifier) {
    let sk = SigningKey::from_bytes(&[seed; 32]);
    let v = Ed25519Verifier::new("example.org/key", sk.verifying_key()).unwrap();
    (sk, v)
}

#[test]
fn honest_and_tampered_signatures() {
    let (sk, v) = key(3);
    let mut items = Vec::new();
    for i in 0..200u32 {
        let msg = format!("hotline/statement/v1\nnumber {i}\n").into_bytes();
        let sig = ed25519_dalek::Signer::sign(&sk, &msg).to_bytes().to_vec();
        let mut bad_r = sig.clone();
        bad_r[(i as usize) % 32] ^= 1 << (i % 8);
        let mut bad_s = sig.clone();
        bad_s[32 + (i as usize) % 31] ^= 1 << (i % 8);
        let mut other_msg = msg.clone();
        other_msg[0] ^= 0x20;
        items.push((msg.clone(), sig.clone()));
        items.push((msg.clone(), bad_r));
        items.push((msg.clone(), bad_s));
        items.push((other_msg, sig.clone()));
        items.push((msg.clone(), sig[..63].to_vec()));
        items.push((msg, Vec::new()));
    }
    let got = check(&v, &items);
    assert_eq!(
        got.iter().filter(|ok| **ok).count(),
        200,
        "exactly the honest ones"
    );
}

#[test]
fn edge_cases_of_the_verification_rule() {
    let (vk, v, a) = key_with_secret([11u8; 32]);
    let a_bytes = vk.as_bytes().to_vec();
    let t8 = order8();
    let msg = b"hotline/statement/v1\nedge\n".to_vec();
    let r = Scalar::from(123_456_789u64);
    let rb = ED25519_BASEPOINT_POINT * r;
    let identity = {
        let mut b = [0u8; 32];
        b[0] = 1;
        b
    };
    let mut cases: Vec<(&str, [u8; 64], bool)> = Vec::new();
    // Honest.
    cases.push((
        "honest",
        sign_with_r(rb.compress().0, r, a, &a_bytes, &msg),
        true,
    ));
    // R with a small-order component: [s]B − [k]A = [r]B ≠ R. Batch verification with the
    // cofactor accepts this; Go does not.
    let mixed = (rb + t8).compress().0;
    cases.push(("R + T8", sign_with_r(mixed, r, a, &a_bytes, &msg), false));
    // R of small order with s = k·a: R' = identity. Go accepts R = identity, refuses T8.
    cases.push((
        "R = identity",
        sign_with_r(identity, Scalar::ZERO, a, &a_bytes, &msg),
        true,
    ));
    cases.push((
        "R = T8",
        sign_with_r(t8.compress().0, Scalar::ZERO, a, &a_bytes, &msg),
        false,
    ));
    // Non-canonical encodings of the identity as R: y = p + 1, and x = 0 with the sign bit.
    let mut y_p_plus_1 = [0xffu8; 32];
    y_p_plus_1[0] = 0xee;
    y_p_plus_1[31] = 0x7f;
    let mut negative_zero = identity;
    negative_zero[31] |= 0x80;
    for (name, bytes) in [("R = p+1", y_p_plus_1), ("R = -0", negative_zero)] {
        cases.push((
            name,
            sign_with_r(bytes, Scalar::ZERO, a, &a_bytes, &msg),
            false,
        ));
    }
    // s + ℓ (non-canonical s).
    let honest = sign_with_r(rb.compress().0, r, a, &a_bytes, &msg);
    let ell: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut plus_ell = honest;
    let mut carry = 0u16;
    for i in 0..32 {
        let t = u16::from(honest[32 + i]) + u16::from(ell[i]) + carry;
        plus_ell[32 + i] = t as u8;
        carry = t >> 8;
    }
    cases.push(("s + l", plus_ell, false));
    let items: Vec<(Vec<u8>, Vec<u8>)> = cases
        .iter()
        .map(|(_, sig, _)| (msg.clone(), sig.to_vec()))
        .collect();
    let got = check(&v, &items);
    for ((name, _, expected), got) in cases.iter().zip(got) {
        assert_eq!(got, *expected, "{name}");
    }
}

#[test]
fn small_order_components_that_cancel_out_in_the_batch_equation_are_refused() {
    // Several signatures whose R carry the same order-2 component T2 = (0, −1), each otherwise
    // valid: in the batch's random combination Σ zᵢ·Rᵢ their components cancel whenever the
    // zᵢ have an even sum — half the time — so only the separate search for small-order
    // components refuses them every time. Go refuses each ([s]B − [k]A = [r]B ≠ R).
    let (vk, v, a) = key_with_secret([12u8; 32]);
    let t2 = order8() + order8() + order8() + order8();
    assert!(!t2.is_identity() && (t2 + t2).is_identity());
    for round in 0..24u64 {
        let bad = 2 + (round % 3) as usize;
        let items: Vec<(Vec<u8>, Vec<u8>)> = (0..bad as u64)
            .map(|j| {
                let msg = format!("round {round} bad {j}\n").into_bytes();
                let r = Scalar::from(7 + 1000 * round + j);
                let r_bytes = (ED25519_BASEPOINT_POINT * r + t2).compress().0;
                (
                    msg.clone(),
                    sign_with_r(r_bytes, r, a, vk.as_bytes(), &msg).to_vec(),
                )
            })
            .collect();
        let got = check(&v, &items);
        assert!(got.iter().all(|ok| !ok), "round {round}: {got:?}");
    }
}

#[test]
fn small_order_components_in_a_batch_of_audit_size_are_found_wherever_they_are() {
    // A batch of the size audits verify (4096 signatures here, where the search for
    // small-order components goes in passes of 8 rounds): three otherwise valid signatures whose R
    // carry an order-2, -4 and -8 component, at positions that change with each run, and
    // two whose order-2 components cancel in any sum holding both. Only they are refused.
    let (vk, v, a) = key_with_secret([14u8; 32]);
    let key = BatchKey::new(&v);
    let t8 = order8();
    let t4 = t8 + t8;
    let t2 = t4 + t4;
    let n = 4096usize;
    let mut bad_at: Vec<(usize, EdwardsPoint)> = [t2, t4, t8, t2, t2]
        .into_iter()
        .enumerate()
        .map(|(j, t)| ((rand::random::<u64>() as usize % (n / 5)) + j * (n / 5), t))
        .collect();
    bad_at.sort_by_key(|(i, _)| *i);
    let items: Vec<(Vec<u8>, [u8; 64])> = (0..n)
        .map(|i| {
            let msg = format!("statement {i}\n").into_bytes();
            let r = Scalar::from(100_000 + i as u64);
            let mut point = ED25519_BASEPOINT_POINT * r;
            if let Some((_, t)) = bad_at.iter().find(|(at, _)| *at == i) {
                point += t;
            }
            let sig = sign_with_r(point.compress().0, r, a, vk.as_bytes(), &msg);
            (msg, sig)
        })
        .collect();
    let batch = items_by(
        &key,
        items.iter().map(|(m, s)| (m.as_slice(), s.as_slice())),
    );
    let got = verify_batch(&mut rand::rng(), &batch);
    let refused: Vec<usize> = (0..n).filter(|i| !got[*i]).collect();
    let expected: Vec<usize> = bad_at.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        refused, expected,
        "exactly the signatures whose R has a small-order component"
    );
    for (i, (message, signature)) in items.iter().enumerate().step_by(509) {
        assert_eq!(
            got[i],
            v.verify(message, signature),
            "item {i} as verify answers"
        );
    }
}

#[test]
fn a_key_with_a_small_order_component() {
    // A = [a]B + T8 (not of small order, so a verifier key may hold it): whether an honest
    // signature verifies depends on k mod 8; the fast path must agree either way.
    let a = Scalar::from(987_654_321u64);
    let point = ED25519_BASEPOINT_POINT * a + order8();
    let vk = VerifyingKey::from_bytes(&point.compress().0).unwrap();
    let v = Ed25519Verifier::new("example.org/mixed", vk).unwrap();
    let mut items = Vec::new();
    for i in 0..64u64 {
        let msg = format!("message {i}\n").into_bytes();
        let r = Scalar::from(1000 + i);
        let sig = sign_with_r(
            (ED25519_BASEPOINT_POINT * r).compress().0,
            r,
            a,
            vk.as_bytes(),
            &msg,
        );
        items.push((msg, sig.to_vec()));
    }
    let got = check(&v, &items);
    let accepted = got.iter().filter(|ok| **ok).count();
    assert!(
        accepted > 0 && accepted < 64,
        "some k are multiples of 8, most not: {accepted}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn random_keys_messages_and_bit_flips(
        seed in any::<[u8; 32]>(),
        msgs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..12),
        flips in proptest::collection::vec((any::<usize>(), 0u8..8, any::<bool>()), 0..12),
    ) {
        let sk = SigningKey::from_bytes(&seed);
        let Ok(v) = Ed25519Verifier::new("k", sk.verifying_key()) else {
            return Ok(());
        };
        let mut items: Vec<(Vec<u8>, Vec<u8>)> = msgs
            .iter()
            .map(|m| (m.clone(), ed25519_dalek::Signer::sign(&sk, m).to_bytes().to_vec()))
            .collect();
        let n = items.len();
        for (i, bit, in_sig) in flips {
            let (m, s) = &mut items[i % n];
            let target = if in_sig || m.is_empty() { s } else { m };
            let j = i % target.len();
            target[j] ^= 1 << bit;
        }
        let p = PrecomputedVerifier::new(&v);
        let refs: Vec<(&[u8], &[u8])> = items.iter().map(|(m, s)| (m.as_slice(), s.as_slice())).collect();
        let fast = p.verify_all(&refs);
        let slow: Vec<bool> = items.iter().map(|(m, s)| v.verify(m, s)).collect();
        prop_assert_eq!(&fast, &slow);
        prop_assert_eq!(batched(&v, &refs), slow);
    }
}
