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
//!    The sums share work: the rounds go in passes of `b` rounds (`b` = 8 for a batch of
//!    4096); in a pass each point draws `b` random bits and is added to the one bucket of
//!    those bits, and each round's sum is then the sum of the buckets whose bit it is — about
//!    `n + 2^(b+1)` point additions per pass instead of `n` per round.
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
use curve25519_dalek::traits::{IsIdentity as _, VartimeMultiscalarMul as _};
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
    if batch.is_empty() {
        return true;
    }
    let bits = bits_per_pass(batch.len());
    let mask = (1u64 << bits) - 1;
    let mut draws = vec![0u64; batch.len()];
    for _pass in 0..TORSION_ROUNDS.div_ceil(bits) {
        // Bit j of draws[i]: whether this pass's round j takes point i.
        for d in &mut draws {
            *d = rng.next_u64() & mask;
        }
        let sums = round_sums(bits, batch.iter().map(|p| &p.r).zip(draws.iter().copied()));
        if sums.iter().flatten().any(|sum| !sum.is_torsion_free()) {
            return false;
        }
    }
    true
}

/// For each round `j < bits`, the sum of the points whose draw has bit `j` set (`None`: no
/// point), with about `n + 2^(bits+1)` point additions.
fn round_sums<'a>(
    bits: usize,
    points: impl Iterator<Item = (&'a EdwardsPoint, u64)>,
) -> Vec<Option<EdwardsPoint>> {
    // buckets[v]: Σ of the points that drew v.
    let mut buckets: Vec<Option<EdwardsPoint>> = vec![None; 1 << bits];
    for (point, v) in points {
        if let Some(bucket) = buckets.get_mut(v as usize).filter(|_| v != 0) {
            add_into(bucket, point);
        }
    }
    // Round j's sum is that of the buckets with bit j set. From the highest bit down: when
    // the bits above j have been folded away (each bucket added onto the one without that
    // bit), the buckets with bit j set are buckets[2^j..2^(j+1)]; their sum is round j's, and
    // adding each onto buckets[0..2^j] folds bit j away.
    let mut sums = vec![None; bits];
    for round in (0..bits).rev() {
        let half = 1usize << round;
        let (low, high) = buckets.split_at_mut(half);
        for (low, high) in low.iter_mut().zip(&high[..half]) {
            let Some(high) = high else { continue };
            add_into(&mut sums[round], high);
            add_into(low, high);
        }
    }
    sums
}

fn add_into(sum: &mut Option<EdwardsPoint>, point: &EdwardsPoint) {
    match sum {
        Some(sum) => *sum += point,
        None => *sum = Some(*point),
    }
}

/// The bits `b` per pass that make [`no_small_order_components`] cheapest for `n` points:
/// ⌈64 / b⌉ passes of `n` bucket additions and ~2^(b+1) additions to sum the buckets.
fn bits_per_pass(n: usize) -> usize {
    (1..=12)
        .min_by_key(|bits| {
            TORSION_ROUNDS
                .div_ceil(*bits)
                .saturating_mul(n.saturating_add(2 << bits))
        })
        .unwrap_or(8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_search_finds_one_small_order_component_among_many_points() {
        // Order 8: the torsion of y = 0x7a03ac92… (a point of the curve's 8-torsion).
        let t8 = CompressedEdwardsY(
            <[u8; 32]>::try_from(
                &hex::decode("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a")
                    .unwrap_or_default()[..],
            )
            .unwrap_or_default(),
        )
        .decompress()
        .unwrap_or_default();
        let t4 = t8 + t8;
        let t2 = t4 + t4;
        assert!(!t2.is_identity() && (t2 + t2).is_identity());
        let mut rng = rand::rng();
        for n in [1, MIN_BATCH, 1000, 4096] {
            let mut batch: Vec<Prepared> = (0..n)
                .map(|i| Prepared {
                    item: i,
                    r: ED25519_BASEPOINT_POINT * Scalar::from(i as u64 + 1),
                    s: Scalar::ZERO,
                    k: Scalar::ZERO,
                })
                .collect();
            assert!(no_small_order_components(&mut rng, &batch), "n = {n}");
            for t in [t2, t4, t8] {
                let at = (rng.next_u64() % n as u64) as usize;
                batch[at].r += t;
                assert!(
                    !no_small_order_components(&mut rng, &batch),
                    "n = {n}, at {at}"
                );
                batch[at].r -= t;
            }
        }
    }

    #[test]
    fn round_sums_are_the_sums_of_the_rounds_points() {
        let mut rng = rand::rng();
        for (bits, n) in [(1, 3), (5, 256), (8, 4096), (3, 0)] {
            let points: Vec<EdwardsPoint> = (0..n)
                .map(|i| ED25519_BASEPOINT_POINT * Scalar::from(rng.next_u64() ^ i))
                .collect();
            let draws: Vec<u64> = (0..n).map(|_| rng.next_u64() & ((1 << bits) - 1)).collect();
            let got = round_sums(bits, points.iter().zip(draws.iter().copied()));
            assert_eq!(got.len(), bits);
            for (round, sum) in got.iter().enumerate() {
                let taken: Vec<&EdwardsPoint> = points
                    .iter()
                    .zip(&draws)
                    .filter(|(_, d)| *d >> round & 1 == 1)
                    .map(|(p, _)| p)
                    .collect();
                let expected = taken.iter().copied().copied().reduce(|a, b| a + b);
                assert_eq!(*sum, expected, "bits {bits}, n {n}, round {round}");
            }
        }
    }

    #[test]
    fn passes_fit_the_batch() {
        assert_eq!(bits_per_pass(4096), 8, "8 passes of 8 rounds");
        assert_eq!(bits_per_pass(MIN_BATCH), 5);
        assert!(bits_per_pass(1) >= 1);
        assert_eq!(bits_per_pass(1 << 20), 11);
        assert!((1..=12).contains(&bits_per_pass(usize::MAX)));
    }

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
