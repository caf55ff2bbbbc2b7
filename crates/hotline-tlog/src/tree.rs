//! Merkle tree proofs (RFC 6962 §2.1.1–2.1.2, RFC 9162 §2.1.3–2.1.4) over any source of
//! perfect-subtree hashes, and their verification.
//!
//! A *node* `(level, index)` is the root of the perfect subtree covering leaves
//! `index·2^level .. (index+1)·2^level`. Tiles store exactly such nodes, so proofs are
//! computed by asking a [`NodeSource`] for a few of them; nothing here needs the whole tree.

use thiserror::Error;

use crate::hash::{Hash, largest_power_of_two_below, node_hash};

/// Gives the hash of any complete (perfect) subtree of a tree.
pub trait NodeSource {
    /// Error returned when a node cannot be read (missing tile, storage failure).
    type Error;

    /// The hash of the perfect subtree at `level` with `index` (leaves
    /// `index·2^level .. (index+1)·2^level`). Only called for subtrees that are complete in the
    /// tree being proved.
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;

    /// The hash of the leaves `lo..hi` if the source has it precomputed (for example the
    /// right-edge ranges of a tree, see [`right_edge_ranges`]); `None` to have it computed from
    /// nodes.
    fn cached_range(&self, _lo: u64, _hi: u64) -> Option<Hash> {
        None
    }
}

impl<S: NodeSource + ?Sized> NodeSource for &S {
    type Error = S::Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash, Self::Error> {
        (**self).node(level, index)
    }
    fn cached_range(&self, lo: u64, hi: u64) -> Option<Hash> {
        (**self).cached_range(lo, hi)
    }
}

/// Why a proof could not be produced.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum ProofError<E> {
    /// The leaf index is not in the tree.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// Requested leaf index.
        index: u64,
        /// Tree size the proof was asked for.
        size: u64,
    },
    /// The older size is larger than the newer one.
    #[error("cannot prove consistency from size {old} to the smaller size {new}")]
    SizesOutOfOrder {
        /// Older tree size.
        old: u64,
        /// Newer tree size.
        new: u64,
    },
    /// The node source failed.
    #[error(transparent)]
    Source(E),
}

/// Why a proof did not verify.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum VerifyError {
    /// The leaf index is not in the tree.
    #[error("leaf index {index} is out of range for a tree of size {size}")]
    IndexOutOfRange {
        /// Claimed leaf index.
        index: u64,
        /// Claimed tree size.
        size: u64,
    },
    /// The proof has the wrong number of hashes for these sizes.
    #[error("proof has {got} hashes, but {expected} are needed")]
    WrongProofLength {
        /// Hashes the proof should have.
        expected: usize,
        /// Hashes it has.
        got: usize,
    },
    /// The proof does not lead to the expected root.
    #[error("proof does not lead to the expected root hash")]
    RootMismatch,
    /// The older size is larger than the newer one.
    #[error("old size {old} is larger than new size {new}")]
    SizesOutOfOrder {
        /// Older tree size.
        old: u64,
        /// Newer tree size.
        new: u64,
    },
}

/// The RFC 6962 Merkle tree hash of the leaves `lo..hi`, for ranges that arise when RFC 6962
/// splits a tree starting at leaf 0 (`lo` is a multiple of the largest power of two not larger
/// than `hi - lo`, which always holds for such ranges).
pub fn range_hash<S: NodeSource>(src: &S, lo: u64, hi: u64) -> Result<Hash, S::Error> {
    if lo == hi {
        return Ok(Hash::empty_root());
    }
    if let Some(h) = src.cached_range(lo, hi) {
        return Ok(h);
    }
    // lo..hi is a run of perfect subtrees of decreasing size, one per set bit of hi - lo
    // (lo is aligned). Walk them from the right, smallest first, folding as RFC 6962 does:
    // MTH(lo..hi) = H(perfect(lo..lo+k), MTH(lo+k..hi)).
    let mut bits = hi - lo;
    let mut end = hi;
    let mut acc: Option<Hash> = None;
    while bits != 0 {
        let level = bits.trailing_zeros();
        end -= 1u64 << level;
        let node = src.node(level, end >> level)?;
        acc = Some(match acc {
            None => node,
            Some(right) => node_hash(&node, &right),
        });
        bits &= bits - 1;
    }
    Ok(acc.unwrap_or_else(Hash::empty_root))
}

/// The hashes of the right-edge ranges `start..size` of the tree of `size` leaves: the ranges
/// RFC 6962 forms when it splits a tree and then its right part again and again. Every range
/// an inclusion or consistency proof at `size` needs is either a perfect subtree or one of
/// these, so with them cached a proof costs node lookups only. Sorted by `start`; the first is
/// `0..size` (the root).
pub fn right_edge_ranges<S: NodeSource>(src: &S, size: u64) -> Result<Vec<(u64, Hash)>, S::Error> {
    // Perfect subtrees of decreasing size tiling 0..size.
    let mut parts: Vec<(u32, u64, u64)> = Vec::with_capacity(64); // (level, index, start)
    let mut start = 0u64;
    while start < size {
        let level = 63 - (size - start).leading_zeros();
        parts.push((level, start >> level, start));
        start += 1u64 << level;
    }
    let mut out = Vec::with_capacity(parts.len());
    let mut acc: Option<Hash> = None;
    for &(level, index, start) in parts.iter().rev() {
        let node = src.node(level, index)?;
        let h = match acc {
            None => node,
            Some(right) => node_hash(&node, &right),
        };
        out.push((start, h));
        acc = Some(h);
    }
    out.reverse();
    Ok(out)
}

/// The root hash of the tree of `size` leaves.
pub fn root<S: NodeSource>(src: &S, size: u64) -> Result<Hash, S::Error> {
    range_hash(src, 0, size)
}

/// The inclusion proof (audit path) for leaf `index` in the tree of `size` leaves, ordered from
/// the leaf's sibling up to the root's child, as RFC 6962 §2.1.1 and c2sp.org/tlog-proof list it.
pub fn inclusion_proof<S: NodeSource>(
    src: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if index < lo + k {
            path.push(range_hash(src, lo + k, hi).map_err(ProofError::Source)?);
            hi = lo + k;
        } else {
            path.push(range_hash(src, lo, lo + k).map_err(ProofError::Source)?);
            lo += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The consistency proof between the trees of `old` and `new` leaves (RFC 6962 §2.1.2).
/// Empty when `old` is 0 or equals `new`.
pub fn consistency_proof<S: NodeSource>(
    src: &S,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if old > new {
        return Err(ProofError::SizesOutOfOrder { old, new });
    }
    if old == 0 || old == new {
        return Ok(Vec::new());
    }
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi, mut m, mut whole) = (0u64, new, old, true);
    loop {
        if m == hi - lo {
            if !whole {
                path.push(range_hash(src, lo, hi).map_err(ProofError::Source)?);
            }
            break;
        }
        let k = largest_power_of_two_below(hi - lo);
        if m <= k {
            path.push(range_hash(src, lo + k, hi).map_err(ProofError::Source)?);
            hi = lo + k;
        } else {
            path.push(range_hash(src, lo, lo + k).map_err(ProofError::Source)?);
            lo += k;
            m -= k;
            whole = false;
        }
    }
    path.reverse();
    Ok(path)
}

/// Number of hashes in an inclusion proof for `index` in a tree of `size` leaves.
pub fn inclusion_proof_len(index: u64, size: u64) -> usize {
    let (mut lo, mut hi, mut n) = (0u64, size, 0usize);
    while hi - lo > 1 {
        let k = largest_power_of_two_below(hi - lo);
        if index < lo + k {
            hi = lo + k;
        } else {
            lo += k;
        }
        n += 1;
    }
    n
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2): `leaf` is at `index` in the tree of `size`
/// leaves whose root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if root_from_inclusion_proof(leaf, index, size, proof)? != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2) from `leaf` at `index` in a tree of
/// `size` leaves; an error if the proof has the wrong shape. The root still has to be
/// authenticated (a signed checkpoint, a signed COSE receipt).
pub fn root_from_inclusion_proof(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_proof_len(index, size);
    if proof.len() != expected {
        return Err(VerifyError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(VerifyError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(VerifyError::RootMismatch);
    }
    Ok(r)
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): the tree of `old` leaves with root
/// `old_root` is a prefix of the tree of `new` leaves with root `new_root`.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old > new {
        return Err(VerifyError::SizesOutOfOrder { old, new });
    }
    if old == new || old == 0 {
        if !proof.is_empty() {
            return Err(VerifyError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if old == new && old_root != new_root {
            return Err(VerifyError::RootMismatch);
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::WrongProofLength {
            expected: 1,
            got: 0,
        });
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old - 1, new - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return Err(VerifyError::RootMismatch);
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 || fr != *old_root || sr != *new_root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// A [`NodeSource`] over a full list of leaf hashes held in memory; computes every node from
/// the leaves. Simple and slow: the reference the tiled implementations are checked against.
pub struct LeafHashes<'a>(pub &'a [Hash]);

/// The leaf list does not contain a requested node.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("node at level {level}, index {index} is not in the leaf list")]
pub struct MissingLeaves {
    /// Requested level.
    pub level: u32,
    /// Requested index.
    pub index: u64,
}

impl NodeSource for LeafHashes<'_> {
    type Error = MissingLeaves;
    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingLeaves> {
        let missing = MissingLeaves { level, index };
        let width = 1u64.checked_shl(level).ok_or(missing.clone())?;
        let start = index.checked_mul(width).ok_or(missing.clone())?;
        let end = start.checked_add(width).ok_or(missing.clone())?;
        if end > self.0.len() as u64 {
            return Err(missing);
        }
        Ok(crate::hash::root_of_leaves(
            &self.0[start as usize..end as usize],
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, root_of_leaves};

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn root_matches_naive_for_small_trees() {
        let all = leaves(70);
        for n in 0..=70 {
            let src = LeafHashes(&all[..n]);
            assert_eq!(
                root(&src, n as u64).unwrap(),
                root_of_leaves(&all[..n]),
                "size {n}"
            );
        }
    }

    #[test]
    fn every_inclusion_and_consistency_pair_up_to_64() {
        let all = leaves(64);
        for size in 1..=64u64 {
            let src = LeafHashes(&all[..size as usize]);
            let r = root(&src, size).unwrap();
            for index in 0..size {
                let p = inclusion_proof(&src, index, size).unwrap();
                verify_inclusion(&all[index as usize], index, size, &p, &r).unwrap();
                // Wrong leaf fails.
                assert_eq!(
                    verify_inclusion(&leaf_hash(b"x"), index, size, &p, &r),
                    Err(VerifyError::RootMismatch)
                );
            }
            for old in 0..=size {
                let p = consistency_proof(&src, old, size).unwrap();
                let old_root = root_of_leaves(&all[..old as usize]);
                verify_consistency(old, size, &old_root, &r, &p).unwrap();
                if old > 0 && old < size {
                    let mut bad = p.clone();
                    bad[0].0[0] ^= 1;
                    assert!(verify_consistency(old, size, &old_root, &r, &bad).is_err());
                }
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_refused() {
        let all = leaves(4);
        let src = LeafHashes(&all);
        assert_eq!(
            inclusion_proof(&src, 4, 4),
            Err(ProofError::IndexOutOfRange { index: 4, size: 4 })
        );
        assert_eq!(
            consistency_proof(&src, 5, 4),
            Err(ProofError::SizesOutOfOrder { old: 5, new: 4 })
        );
        let r = root(&src, 4).unwrap();
        assert_eq!(
            verify_inclusion(&all[0], 4, 4, &[], &r),
            Err(VerifyError::IndexOutOfRange { index: 4, size: 4 })
        );
    }
}
