//! Ed25519 verification of many signatures by one key, about three times faster than one by
//! one, by **exactly** the rule of [`Ed25519Verifier`]'s `verify` (Go's crypto/ed25519: a
//! canonical `s`, then `R' = [s]B − [k]A` with `k = SHA-512(R ‖ A ‖ M) mod ℓ`, accepted iff the
//! encoding of `R'` equals the signature's `R` bytes).
//!
//! The server's checks of statements one at a time use it; audits, which verify thousands of
//! signatures at once, use [`crate::batch`] (faster still, with the same answers except with
//! probability 2⁻⁶⁴). Here every signature's `R'` is computed exactly; only the *algorithm*
//! differs from [`ed25519_dalek`]'s `verify`:
//!
//! - `[s]B` and `[k](−A)` are fixed-base multiplications with precomputed tables of
//!   `[d·2⁸ʲ]P` (`d` in 1..=128, `j` in 0..32) and signed radix-2⁸ digits: one sum of at most
//!   64 table entries (fetched all at once before adding) and no doublings, where a
//!   variable-base double-scalar multiplication does ~253 doublings. The table of `B` is built
//!   once per process, the table of a key once per key (~2 ms, 640 KiB): worth it for a key
//!   that signs more than ~60 statements, which is every party of a busy log.
//! - The encodings of all `R'` of a call share one field inversion (Montgomery's trick,
//!   [`EdwardsPoint::compress_batch_alloc`]).
//!
//! Variable time: verification only handles public values. `tests/precomputed.rs` checks that
//! it gives `verify`'s answer on valid, tampered and hand-crafted edge-case signatures
//! (small-order and mixed-order `R`, non-canonical `s` and `R`, mixed-order keys).

use std::sync::OnceLock;

use curve25519_dalek::constants::ED25519_BASEPOINT_POINT;
use curve25519_dalek::edwards::EdwardsPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity as _;
use sha2::{Digest as _, Sha512};

use crate::note::Ed25519Verifier;

/// Digits per scalar: radix 2⁸ over 256 bits. A reduced scalar is below 2²⁵³, so the last
/// digit plus its carry stays at most 33 and nothing carries out.
const WINDOWS: usize = 32;
/// Largest digit magnitude: signed digits lie in −127..=128.
const HALF: usize = 128;

/// `[d · 2⁸ʲ]P` for `j` in `0..WINDOWS` and `d` in `1..=HALF`, row-major by `j`.
struct FixedBaseTable(Box<[EdwardsPoint]>);

impl FixedBaseTable {
    fn new(p: &EdwardsPoint) -> FixedBaseTable {
        let mut points = Vec::with_capacity(WINDOWS * HALF);
        let mut base = *p;
        for _ in 0..WINDOWS {
            let mut multiple = base;
            for _ in 0..HALF {
                points.push(multiple);
                multiple += &base;
            }
            // `multiple` is now [HALF + 1]base; the next window's base is [2 · HALF]base.
            let last = points[points.len() - 1];
            base = last + last;
        }
        FixedBaseTable(points.into_boxed_slice())
    }

    /// The signed radix-2⁸ digits of a reduced scalar (any `Scalar`: they are all below
    /// ℓ < 2²⁵³), each in −127..=128, least significant first.
    fn digits(s: &Scalar) -> [i16; WINDOWS] {
        let mut digits = [0i16; WINDOWS];
        let mut carry = 0i16;
        for (digit, byte) in digits.iter_mut().zip(s.as_bytes()) {
            let mut d = i16::from(*byte) + carry;
            carry = 0;
            if d > HALF as i16 {
                d -= 256;
                carry = 1;
            }
            *digit = d;
        }
        debug_assert_eq!(
            carry, 0,
            "a reduced scalar never carries out of its last digit"
        );
        digits
    }

    /// Copies the table entry of each nonzero digit into `out` (entry `j` for digit `j`).
    ///
    /// Why copy: the entries of a key's table are scattered over 640 KiB that another key's
    /// verifications have just evicted from the core's caches. Fetched here, all at once and
    /// before any addition, their cache misses overlap; fetched by the additions that need them,
    /// one addition after the other, each miss would stall the chain (BENCHMARKS.md, "Audit":
    /// a fifth more statements audited per CPU-second).
    fn pick(&self, digits: &[i16; WINDOWS], out: &mut [EdwardsPoint]) {
        for ((j, d), slot) in digits.iter().enumerate().zip(out) {
            if *d != 0 {
                *slot = self.0[j * HALF + usize::from(d.unsigned_abs()) - 1];
            }
        }
    }

    /// `[s]P` for a reduced scalar.
    #[cfg(test)]
    fn mul(&self, s: &Scalar) -> EdwardsPoint {
        let digits = Self::digits(s);
        let mut picked = [EdwardsPoint::identity(); WINDOWS];
        self.pick(&digits, &mut picked);
        sum_signed(&picked, &digits)
    }
}

/// `Σ sign(dᵢ)·pᵢ` over the nonzero digits `dᵢ`.
fn sum_signed<'a>(
    points: impl IntoIterator<Item = &'a EdwardsPoint>,
    digits: impl IntoIterator<Item = &'a i16>,
) -> EdwardsPoint {
    let mut acc = EdwardsPoint::identity();
    for (p, d) in points.into_iter().zip(digits) {
        match d.signum() {
            1 => acc += p,
            -1 => acc -= p,
            _ => {}
        }
    }
    acc
}

fn basepoint_table() -> &'static FixedBaseTable {
    static TABLE: OnceLock<FixedBaseTable> = OnceLock::new();
    TABLE.get_or_init(|| FixedBaseTable::new(&ED25519_BASEPOINT_POINT))
}

/// A verifier key with precomputed multiples of its point, for verifying many signatures.
pub struct PrecomputedVerifier {
    verifier: Ed25519Verifier,
    minus_a: FixedBaseTable,
}

impl std::fmt::Debug for PrecomputedVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PrecomputedVerifier({})", self.verifier.to_vkey())
    }
}

impl PrecomputedVerifier {
    /// Precomputes the tables of `verifier`'s key (about 2 ms; 640 KiB held).
    pub fn new(verifier: &Ed25519Verifier) -> PrecomputedVerifier {
        let a = verifier.public_key().to_edwards();
        PrecomputedVerifier {
            verifier: verifier.clone(),
            minus_a: FixedBaseTable::new(&-a),
        }
    }

    /// The verifier key these tables are for.
    pub fn verifier(&self) -> &Ed25519Verifier {
        &self.verifier
    }

    /// For each `(message, signature)`, whether the signature verifies: the answers
    /// `Ed25519Verifier::verify` gives one by one.
    pub fn verify_all(&self, items: &[(&[u8], &[u8])]) -> Vec<bool> {
        let b = basepoint_table();
        let a_bytes = self.verifier.public_key().as_bytes();
        let mut ok = vec![false; items.len()];
        let mut computed = Vec::with_capacity(items.len());
        let mut which = Vec::with_capacity(items.len());
        for (i, (message, signature)) in items.iter().enumerate() {
            let Ok(signature) = <&[u8; 64]>::try_from(*signature) else {
                continue;
            };
            let (r, s) = signature.split_at(32);
            let Ok(s) = <[u8; 32]>::try_from(s) else {
                continue;
            };
            let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s)) else {
                continue;
            };
            let k = Scalar::from_bytes_mod_order_wide(
                &Sha512::new()
                    .chain_update(r)
                    .chain_update(a_bytes)
                    .chain_update(message)
                    .finalize()
                    .into(),
            );
            // [s]B + [k](−A), from the picked multiples of both tables into one sum.
            let (ds, dk) = (FixedBaseTable::digits(&s), FixedBaseTable::digits(&k));
            let mut picked = [EdwardsPoint::identity(); 2 * WINDOWS];
            let (from_b, from_a) = picked.split_at_mut(WINDOWS);
            b.pick(&ds, from_b);
            self.minus_a.pick(&dk, from_a);
            computed.push(sum_signed(&picked, ds.iter().chain(&dk)));
            which.push(i);
        }
        let encoded = EdwardsPoint::compress_batch_alloc(&computed);
        for (i, r_prime) in which.into_iter().zip(encoded) {
            ok[i] = items[i].1.get(..32) == Some(r_prime.as_bytes().as_slice());
        }
        ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_multiplies_like_the_group_law() {
        let t = FixedBaseTable::new(&ED25519_BASEPOINT_POINT);
        for s in [
            Scalar::ZERO,
            Scalar::ONE,
            Scalar::from(128u64),
            Scalar::from(129u64),
            Scalar::from(255u64),
            Scalar::from(256u64),
            -Scalar::ONE,
            Scalar::from_bytes_mod_order([0x80; 32]),
            Scalar::from_bytes_mod_order([0xff; 32]),
        ] {
            assert_eq!(
                t.mul(&s).compress(),
                EdwardsPoint::mul_base(&s).compress(),
                "{:?}",
                s.as_bytes()
            );
        }
    }
}
