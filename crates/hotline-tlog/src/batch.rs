//! Batch verification of many Ed25519 signatures, giving the answers of
//! [`Ed25519Verifier`]'s `verify` (Go's crypto/ed25519 rule: a canonical `s`, then
//! `R' = [s]B − [k]A` with `k = SHA-512(R ‖ A ‖ M) mod ℓ`, accepted iff the encoding of `R'`
//! equals the signature's `R` bytes) except with probability at most 2⁻⁶⁴ per call, and only
//! for a signature crafted with its signer's private key.
//!
//! Each signature is first checked on its own for what costs nothing: 64 bytes, a canonical
//! `s`, and `R` bytes that are the canonical encoding of a curve point. A signature failing
//! those is refused, as `verify` refuses it. The others are checked together:
//!
//! 1. **One equation for all** (random 128-bit `zᵢ` from the caller's CSPRNG):
//!    `Σ zᵢ·Rᵢ − [Σ zᵢ·sᵢ]B + Σ_keys [Σ_{i by key} zᵢ·kᵢ]A = 0`, one variable-time
//!    multiscalar multiplication (Pippenger) instead of one double-scalar multiplication per
//!    signature. Signatures by one key share its term. If some `Rᵢ ≠ [sᵢ]B − [kᵢ]A` in the
//!    prime-order part, the sum is not 0 except with probability ≤ 2⁻¹²⁷.
//! 2. **No small-order component in any `Rᵢ`.** The equation above cannot see such a
//!    component reliably (the torsion group has 8 elements, so a random combination of them
//!    vanishes with probability up to ½), and the usual *cofactored* batch equation ignores it
//!    altogether — that is why batch verification is normally looser than Go's rule. Keys are
//!    required to be torsion-free (checked once per [`BatchKey`]; a key that is not is
//!    verified one signature at a time), so `[s]B − [k]A` is torsion-free and a signature
//!    whose `R` has a small-order component is one `verify` refuses. 64 independent random
//!    subsets of the `Rᵢ` are summed and each sum multiplied by ℓ: a nonzero result means some
//!    `R` has such a component; each subset misses a nonzero component with probability ≤ ½.
//!    The sums share work (each group of 4 points has its 15 subset sums computed once).
//!
//! If either check fails, every signature of the batch is verified one by one with `verify`,
//! so the answer for each — and the culprit a caller names — is exact. Only a signer can make
//! a signature that passes 2. wrongly (it needs its private key to put a small-order
//! component in `R` and still satisfy 1.), and an honest hotline never sequences one (the
//! server verifies each statement with `verify`): the 2⁻⁶⁴ bounds a signer and an operator
//! colluding against one audit, whose randomness they do not know.
//!
//! Why not `ed25519_dalek::verify_batch`: it has no key sharing, the cofactorless equation
//! alone (so it can accept a small-order `R` that Go refuses, with probability up to ½), and
//! it does not check the encodings the way Go does. Everything here is curve25519-dalek's
//! public API (decompression, multiscalar multiplication, point addition, `is_torsion_free`).
//! `tests/batch.rs` checks the answers against `verify` on valid, tampered and hand-crafted
//! edge cases (small-order and mixed-order `R`, several bad `R` that cancel out, non-canonical
//! encodings, keys with a small-order component).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity as _, IsIdentity as _, VartimeMultiscalarMul as _};
use rand::{CryptoRng, RngCore};
use sha2::{Digest as _, Sha512};

use crate::note::{Ed25519Verifier, NoteVerifier as _};

/// Random subsets summed to find a small-order component in some `R`: the chance of missing
/// one is at most 2⁻ᵀᴼᴿˢᴵᴼᴺ_ᴿᴼᵁᴺᴰˢ.
const TORSION_ROUNDS: usize = 64;

/// Below this many signatures a call verifies them one by one: the fixed cost of a batch
/// (64 multiplications by ℓ, ~1 ms) is then more than it saves.
pub const MIN_BATCH: usize = 256;

/// A verifier key prepared for batches: its point, and whether it is torsion-free (only then
/// are its signatures batched).
#[derive(Clone, Debug)]
pub struct BatchKey {
    verifier: Ed25519Verifier,
    point: EdwardsPoint,
    torsion_free: bool,
}

impl BatchKey {
    /// Prepares `verifier` (one multiplication by ℓ: about as costly as one verification).
    pub fn new(verifier: &Ed25519Verifier) -> BatchKey {
        let point = verifier.public_key().to_edwards();
        BatchKey {
            verifier: verifier.clone(),
            torsion_free: point.is_torsion_free(),
            point,
        }
    }
}

/// One signature to verify: by `key`, over `message`.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    /// The signer's key.
    pub key: &'a BatchKey,
    /// The signed message.
    pub message: &'a [u8],
    /// The signature bytes (any length: only 64 can verify).
    pub signature: &'a [u8],
}

/// A signature that passed the per-signature checks and joins the batch.
struct Prepared {
    item: usize,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
}

/// For each item, whether its signature verifies: `Ed25519Verifier::verify`'s answers (see
/// the module documentation for the one, bounded, exception). `rng` draws the batch's random
/// coefficients; it must be a CSPRNG the signers cannot predict.
pub fn verify_batch<R: CryptoRng + RngCore + ?Sized>(
    rng: &mut R,
    items: &[BatchItem<'_>],
) -> Vec<bool> {
    if items.len() < MIN_BATCH {
        return items.iter().map(one_by_one).collect();
    }
    let mut ok = vec![false; items.len()];
    let mut batch = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !item.key.torsion_free {
            ok[i] = one_by_one(item);
            continue;
        }
        if let Some(p) = prepare(i, item) {
            batch.push(p);
        }
    }
    let passed = equation_holds(rng, items, &batch) && no_small_order_components(rng, &batch);
    for p in &batch {
        ok[p.item] = passed || one_by_one(&items[p.item]);
    }
    ok
}

fn one_by_one(item: &BatchItem<'_>) -> bool {
    item.key.verifier.verify(item.message, item.signature)
}

/// The per-signature checks; `None` for a signature `verify` refuses for its encoding alone.
fn prepare(i: usize, item: &BatchItem<'_>) -> Option<Prepared> {
    let signature = <&[u8; 64]>::try_from(item.signature).ok()?;
    let (r_bytes, s_bytes) = signature.split_at(32);
    let r_bytes = <[u8; 32]>::try_from(r_bytes).ok()?;
    let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(
        <[u8; 32]>::try_from(s_bytes).ok()?,
    ))?;
    // `verify` compares bytes with the canonical encoding of R', so R bytes that are not a
    // canonical encoding never verify; decompression alone would accept some of them.
    if !is_canonical_encoding(&r_bytes) {
        return None;
    }
    let r = CompressedEdwardsY(r_bytes).decompress()?;
    let k = Scalar::from_bytes_mod_order_wide(
        &Sha512::new()
            .chain_update(r_bytes)
            .chain_update(item.key.verifier.public_key().as_bytes())
            .chain_update(item.message)
            .finalize()
            .into(),
    );
    Some(Prepared { item: i, r, s, k })
}

/// Whether `bytes` can be the encoding `compress` gives (if they decode at all): `y` below
/// p = 2²⁵⁵ − 19, and no sign bit on `x = 0` (the points with `y = ±1`).
fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let mut y = *bytes;
    let sign = y[31] >> 7;
    y[31] &= 0x7f;
    // y ≥ p iff y is one of p..=2²⁵⁵−1: bytes ed..ff, ff × 30, 7f.
    let at_least_p = y[0] >= 0xed && y[1..31].iter().all(|b| *b == 0xff) && y[31] == 0x7f;
    if at_least_p {
        return false;
    }
    let mut one = [0u8; 32];
    one[0] = 1;
    let mut minus_one = [0xffu8; 32];
    minus_one[0] = 0xec;
    minus_one[31] = 0x7f;
    !(sign == 1 && (y == one || y == minus_one))
}

/// Check 1 of the module documentation.
fn equation_holds<R: CryptoRng + RngCore + ?Sized>(
    rng: &mut R,
    items: &[BatchItem<'_>],
    batch: &[Prepared],
) -> bool {
    if batch.is_empty() {
        return true;
    }
    // Per distinct key: Σ zᵢ·kᵢ. Keys are told apart by address (two `BatchKey`s of one key
    // would each get a term: correct, only less shared).
    let mut keys: Vec<(&BatchKey, Scalar)> = Vec::new();
    let mut key_slot: HashMap<*const BatchKey, usize, foldhash::fast::FixedState> =
        HashMap::default();
    let mut scalars = Vec::with_capacity(batch.len() + 8);
    let mut points = Vec::with_capacity(batch.len() + 8);
    let mut s_sum = Scalar::ZERO;
    for p in batch {
        let mut z = [0u8; 16];
        rng.fill_bytes(&mut z);
        let z = Scalar::from(u128::from_le_bytes(z));
        s_sum += z * p.s;
        let key = items[p.item].key;
        let zk = z * p.k;
        match key_slot.entry(std::ptr::from_ref(key)) {
            Entry::Occupied(slot) => keys[*slot.get()].1 += zk,
            Entry::Vacant(slot) => {
                slot.insert(keys.len());
                keys.push((key, zk));
            }
        }
        scalars.push(z);
        points.push(p.r);
    }
    scalars.push(-s_sum);
    points.push(ED25519_BASEPOINT_POINT);
    for (key, sum) in keys {
        scalars.push(sum);
        points.push(key.point);
    }
    EdwardsPoint::vartime_multiscalar_mul(&scalars, &points).is_identity()
}

/// Check 2 of the module documentation.
fn no_small_order_components<R: CryptoRng + RngCore + ?Sized>(
    rng: &mut R,
    batch: &[Prepared],
) -> bool {
    let mut sums = [EdwardsPoint::identity(); TORSION_ROUNDS];
    for group in batch.chunks(4) {
        // subsets[m] = Σ of the group's points whose bit is set in m.
        let mut subsets = [EdwardsPoint::identity(); 16];
        for m in 1..16usize {
            let low = m.trailing_zeros() as usize;
            let rest = m & (m - 1);
            subsets[m] = match group.get(low) {
                Some(p) if rest == 0 => p.r,
                Some(p) => subsets[rest] + p.r,
                None => subsets[rest],
            };
        }
        // Four random bits per round: which of the group's points that round's subset takes.
        let mut choices = [0u64; TORSION_ROUNDS / 16];
        for c in &mut choices {
            *c = rng.next_u64();
        }
        for (round, sum) in sums.iter_mut().enumerate() {
            let m = (choices[round / 16] >> (4 * (round % 16))) & 0xf;
            if m != 0 {
                *sum += subsets[m as usize];
            }
        }
    }
    sums.iter().all(EdwardsPoint::is_torsion_free)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_encodings() {
        let mut b = [0u8; 32];
        assert!(is_canonical_encoding(&b));
        b[0] = 1;
        assert!(is_canonical_encoding(&b), "identity");
        b[31] = 0x80;
        assert!(!is_canonical_encoding(&b), "identity with the sign bit");
        let mut p_minus_1 = [0xffu8; 32];
        p_minus_1[0] = 0xec;
        p_minus_1[31] = 0x7f;
        assert!(is_canonical_encoding(&p_minus_1), "y = p − 1");
        p_minus_1[31] = 0xff;
        assert!(
            !is_canonical_encoding(&p_minus_1),
            "y = p − 1 with the sign bit"
        );
        for low in [0xedu8, 0xee, 0xff] {
            let mut y = [0xffu8; 32];
            y[0] = low;
            y[31] = 0x7f;
            assert!(!is_canonical_encoding(&y), "y = p + {}", low - 0xed);
        }
        let mut y = [0xffu8; 32];
        y[1] = 0xfe;
        y[31] = 0x7f;
        assert!(is_canonical_encoding(&y), "below p");
    }
}
