//! Hotline's Merkle tree code checked against a naive reference tree written in this file straight
//! from the RFC 6962 §2.1 recursive definitions of MTH, PATH and PROOF/SUBPROOF, hashing with
//! `sha2` directly (nothing of `hotline_tlog` is used to compute an expected value):
//!
//! - every (index, size) inclusion pair and every (old, new) consistency pair for trees of up to
//!   1,024 entries, with the proofs generated from tiles that `TreeEdge::append` built into a
//!   `TileSet`, compared hash for hash and verified with `verify_inclusion` / `verify_consistency`;
//! - proptest cases over a 2^20-entry tree (random size, index and old size), from per-size tile
//!   sets laid out as c2sp.org/tlog-tiles prescribes and from the full tile set;
//! - proptest cases with sizes up to 2^64 - 1 over a tree of identical leaves (whose perfect
//!   subtrees are cheap to know), for overflow and shape bugs that only show in huge trees;
//! - `right_edge_ranges` and the `NodeSource::cached_range` shortcut a server uses: the ranges
//!   are the reference's `MTH(D[start:n])`, proofs stay the same, and no other non-perfect range
//!   is ever asked for;
//! - `TreeEdge::append`: the tiles it reports are exactly those c2sp.org/tlog-tiles requires for
//!   the new size, and each holds the hashes the spec's `MTH(D[(n·256+i)·256^l : …])` formula gives;
//! - tile widths and partial tiles against the spec's `floor(s / 256^l) mod 256`, for any size;
//! - mutated proofs (one hash flipped, a hash added or removed, a wrong leaf, index or size) fail,
//!   and the verifiers never panic on arbitrary input.
//!
//! The reference memoises only the roots of perfect subtrees (a table built bottom-up by the same
//! MTH recurrence), so it stays fast for 2^20 entries.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::collections::BTreeSet;
use std::sync::{Arc, OnceLock};

use hotline_tlog::hash::{Hash, leaf_hash};
use hotline_tlog::tile::{
    TileKind, TileNodes, TileSet, TreeEdge, partial_tiles_for_size, tile_width, tiles_for_size,
};
use hotline_tlog::tree::{
    NodeSource, ProofError, VerifyError, consistency_proof, inclusion_proof, right_edge_ranges,
    root, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::{Digest as _, Sha256};

// ---------------------------------------------------------------------------------------------
// The reference: RFC 6962 §2.1, written from the text.
// ---------------------------------------------------------------------------------------------

type D = [u8; 32];

const SHA256_IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

/// SHA-256 (FIPS 180-4) of the concatenated parts: padding written here around sha2's raw
/// compression function. (The generic `Digest` API runs unoptimised in this opt-level-0 test
/// crate and would dominate the run time; `compress256` is compiled with the dependency.)
fn sha256(parts: &[&[u8]]) -> D {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let padded = (len + 9).div_ceil(64) * 64;
    let mut blocks = vec![[0u8; 64]; padded / 64];
    let mut pos = 0;
    for part in parts {
        for &byte in *part {
            blocks[pos / 64][pos % 64] = byte;
            pos += 1;
        }
    }
    blocks[pos / 64][pos % 64] = 0x80;
    let last = blocks.len() - 1;
    blocks[last][56..].copy_from_slice(&((len as u64) * 8).to_be_bytes());
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

#[test]
fn reference_sha256_is_sha256() {
    // FIPS 180-2 appendix B.1 and the empty string.
    assert_eq!(
        hex::encode(sha256(&[b"abc"])),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!(
        hex::encode(sha256(&[])),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let (l, r) = (sha256(&[b"left"]), sha256(&[b"right"]));
    let want: D = Sha256::digest([&[1u8][..], &l, &r].concat()).into();
    assert_eq!(ref_node(&l, &r), want);
    for len in 0..200usize {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 + len) as u8).collect();
        let want: D = Sha256::digest(&data).into();
        assert_eq!(
            sha256(&[&data[..len / 3], &data[len / 3..]]),
            want,
            "length {len}"
        );
    }
}

/// MTH({d(0)}) = SHA-256(0x00 || d(0)).
fn ref_leaf(entry: &[u8]) -> D {
    sha256(&[&[0x00], entry])
}

/// SHA-256(0x01 || left || right): 65 bytes, so two blocks, laid out by hand for speed.
fn ref_node(left: &D, right: &D) -> D {
    let mut blocks = [[0u8; 64]; 2];
    blocks[0][0] = 0x01;
    blocks[0][1..33].copy_from_slice(left);
    blocks[0][33..].copy_from_slice(&right[..31]);
    blocks[1][0] = right[31];
    blocks[1][1] = 0x80;
    blocks[1][56..].copy_from_slice(&(65u64 * 8).to_be_bytes());
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, &blocks);
    let mut out = [0u8; 32];
    for (o, w) in out.chunks_exact_mut(4).zip(state) {
        o.copy_from_slice(&w.to_be_bytes());
    }
    out
}

/// "k is the largest power of two smaller than n" (n > 1), found by counting up rather than
/// with the bit tricks the implementation uses.
fn split_point(n: u64) -> u64 {
    assert!(n > 1);
    let mut k = 1u64;
    while k < n - k {
        k *= 2;
    }
    k
}

/// Roots of perfect subtrees: `perfect(l, i)` = MTH(D[i·2^l : (i+1)·2^l]).
trait Perfect: Sync {
    fn perfect(&self, level: u32, index: u64) -> D;
}

/// Perfect-subtree roots of a concrete list of entries, memoised level by level.
struct Table {
    levels: Vec<Vec<D>>,
}

impl Table {
    fn new(leaves: Vec<D>) -> Table {
        let mut levels = vec![leaves];
        while levels.last().unwrap().len() > 1 {
            let next = levels
                .last()
                .unwrap()
                .chunks_exact(2)
                .map(|p| ref_node(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        Table { levels }
    }
}

impl Perfect for Table {
    fn perfect(&self, level: u32, index: u64) -> D {
        self.levels[level as usize][index as usize]
    }
}

/// A tree of up to 2^64 - 1 identical entries: every perfect subtree of a level has the same root.
struct Uniform {
    by_level: Vec<D>,
}

impl Uniform {
    fn new() -> Uniform {
        let mut by_level = vec![ref_leaf(b"the same entry, again and again")];
        for _ in 0..64 {
            let last = *by_level.last().unwrap();
            by_level.push(ref_node(&last, &last));
        }
        Uniform { by_level }
    }
}

impl Perfect for Uniform {
    fn perfect(&self, level: u32, _index: u64) -> D {
        self.by_level[level as usize]
    }
}

/// MTH(D[lo:hi]) (RFC 6962 §2.1): the empty hash, a leaf, or the node over the split at the
/// largest power of two smaller than the size. Perfect, aligned ranges come from the table.
fn mth<P: Perfect + ?Sized>(p: &P, lo: u64, hi: u64) -> D {
    let n = hi - lo;
    if n == 0 {
        return sha256(&[]);
    }
    if n.is_power_of_two() && lo.is_multiple_of(n) {
        return p.perfect(n.trailing_zeros(), lo / n);
    }
    let k = split_point(n);
    ref_node(&mth(p, lo, lo + k), &mth(p, lo + k, hi))
}

/// PATH(m, D[lo:hi]) (RFC 6962 §2.1.1), `m` relative to `lo`.
fn path<P: Perfect + ?Sized>(p: &P, m: u64, lo: u64, hi: u64) -> Vec<D> {
    let n = hi - lo;
    if n == 1 {
        return Vec::new();
    }
    let k = split_point(n);
    if m < k {
        let mut v = path(p, m, lo, lo + k);
        v.push(mth(p, lo + k, hi));
        v
    } else {
        let mut v = path(p, m - k, lo + k, hi);
        v.push(mth(p, lo, lo + k));
        v
    }
}

/// SUBPROOF(m, D[lo:hi], b) (RFC 6962 §2.1.2), `m` a count of leaves from `lo`.
fn subproof<P: Perfect + ?Sized>(p: &P, m: u64, lo: u64, hi: u64, b: bool) -> Vec<D> {
    let n = hi - lo;
    if m == n {
        return if b { Vec::new() } else { vec![mth(p, lo, hi)] };
    }
    let k = split_point(n);
    if m <= k {
        let mut v = subproof(p, m, lo, lo + k, b);
        v.push(mth(p, lo + k, hi));
        v
    } else {
        let mut v = subproof(p, m - k, lo + k, hi, false);
        v.push(mth(p, lo, lo + k));
        v
    }
}

/// PROOF(m, D[n]) = SUBPROOF(m, D[n], true) for 0 < m < n; empty for m = 0 or m = n (nothing to
/// prove), as RFC 9162 §2.1.4 and c2sp.org/tlog-checkpoint clients expect.
fn proof<P: Perfect + ?Sized>(p: &P, m: u64, n: u64) -> Vec<D> {
    if m == 0 || m == n {
        return Vec::new();
    }
    subproof(p, m, 0, n, true)
}

fn hashes(v: Vec<D>) -> Vec<Hash> {
    v.into_iter().map(Hash).collect()
}

/// The entry at position `i` of every test tree here.
fn entry(i: u64) -> Vec<u8> {
    let mut e = b"hotline reference entry ".to_vec();
    e.extend_from_slice(&i.to_be_bytes());
    e
}

// ---------------------------------------------------------------------------------------------
// Mutation checks.
// ---------------------------------------------------------------------------------------------

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut out = *h;
    out.0[(bit / 8) % 32] ^= 1 << (bit % 8);
    out
}

/// A valid inclusion proof, mutated in every way the brief lists, must stop verifying.
/// `root_of` gives the honest root of another tree size (for the wrong-size checks).
#[allow(clippy::too_many_arguments)]
fn assert_inclusion_mutants_fail(
    leaf: &Hash,
    other_leaf: &Hash,
    index: u64,
    size: u64,
    p: &[Hash],
    root_hash: &Hash,
    root_of: &dyn Fn(u64) -> Option<Hash>,
    all_positions: bool,
) {
    let ctx = format!("index {index}, size {size}");
    let positions: Vec<usize> = if all_positions {
        (0..p.len()).collect()
    } else {
        p.len()
            .checked_sub(1)
            .map(|last| vec![(index as usize) % p.len(), last])
            .unwrap_or_default()
    };
    for k in positions {
        let mut bad = p.to_vec();
        bad[k] = flip(&bad[k], k * 37 + 5);
        assert_eq!(
            verify_inclusion(leaf, index, size, &bad, root_hash),
            Err(VerifyError::RootMismatch),
            "{ctx}: hash {k} flipped"
        );
    }
    let mut longer = p.to_vec();
    longer.push(*leaf);
    assert!(
        verify_inclusion(leaf, index, size, &longer, root_hash).is_err(),
        "{ctx}: hash added"
    );
    let mut longer = p.to_vec();
    longer.insert(0, *other_leaf);
    assert!(
        verify_inclusion(leaf, index, size, &longer, root_hash).is_err(),
        "{ctx}: hash prepended"
    );
    if !p.is_empty() {
        assert!(
            verify_inclusion(leaf, index, size, &p[1..], root_hash).is_err(),
            "{ctx}: first hash removed"
        );
        assert!(
            verify_inclusion(leaf, index, size, &p[..p.len() - 1], root_hash).is_err(),
            "{ctx}: last hash removed"
        );
    }
    assert!(
        verify_inclusion(other_leaf, index, size, p, root_hash).is_err(),
        "{ctx}: wrong leaf"
    );
    assert!(
        verify_inclusion(leaf, index, size, p, &flip(root_hash, 3)).is_err(),
        "{ctx}: wrong root"
    );
    if size > 1 {
        for wrong in [(index + 1) % size, (index + size - 1) % size] {
            assert!(
                verify_inclusion(leaf, wrong, size, p, root_hash).is_err(),
                "{ctx}: wrong index {wrong}"
            );
        }
    }
    assert!(
        verify_inclusion(leaf, size, size, p, root_hash).is_err(),
        "{ctx}: index = size"
    );
    // A wrong size, with that size's honest root: the proof is for another tree.
    for wrong in [
        size.checked_add(1),
        size.checked_sub(1),
        size.checked_mul(2),
    ]
    .into_iter()
    .flatten()
    {
        if wrong <= index || wrong == size {
            continue;
        }
        if let Some(r) = root_of(wrong) {
            assert!(
                verify_inclusion(leaf, index, wrong, p, &r).is_err(),
                "{ctx}: wrong size {wrong}"
            );
        }
    }
}

/// A valid consistency proof (0 < old < new), mutated, must stop verifying.
fn assert_consistency_mutants_fail(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    p: &[Hash],
    root_of: &dyn Fn(u64) -> Option<Hash>,
    all_positions: bool,
) {
    let ctx = format!("old {old}, new {new}");
    let positions: Vec<usize> = if all_positions {
        (0..p.len()).collect()
    } else {
        vec![(old as usize) % p.len(), p.len() - 1]
    };
    for k in positions {
        let mut bad = p.to_vec();
        bad[k] = flip(&bad[k], k * 41 + 1);
        assert!(
            verify_consistency(old, new, old_root, new_root, &bad).is_err(),
            "{ctx}: hash {k} flipped"
        );
    }
    let mut longer = p.to_vec();
    longer.push(*old_root);
    assert!(
        verify_consistency(old, new, old_root, new_root, &longer).is_err(),
        "{ctx}: hash added"
    );
    let mut longer = p.to_vec();
    longer.insert(0, *old_root);
    assert!(
        verify_consistency(old, new, old_root, new_root, &longer).is_err(),
        "{ctx}: hash prepended"
    );
    assert!(
        verify_consistency(old, new, old_root, new_root, &p[1..]).is_err(),
        "{ctx}: first hash removed"
    );
    assert!(
        verify_consistency(old, new, old_root, new_root, &p[..p.len() - 1]).is_err(),
        "{ctx}: last hash removed"
    );
    assert!(
        verify_consistency(old, new, &flip(old_root, 9), new_root, p).is_err(),
        "{ctx}: wrong old root"
    );
    assert!(
        verify_consistency(old, new, old_root, &flip(new_root, 9), p).is_err(),
        "{ctx}: wrong new root"
    );
    assert!(
        verify_consistency(new, old, new_root, old_root, p).is_err(),
        "{ctx}: sizes swapped"
    );
    // Wrong sizes, each with its honest root.
    for wrong_old in [old - 1, old + 1] {
        if wrong_old == 0 || wrong_old >= new {
            continue;
        }
        if let Some(r) = root_of(wrong_old) {
            assert!(
                verify_consistency(wrong_old, new, &r, new_root, p).is_err(),
                "{ctx}: wrong old size {wrong_old}"
            );
        }
    }
    for wrong_new in [new.checked_add(1), Some(new - 1)].into_iter().flatten() {
        if wrong_new <= old {
            continue;
        }
        if let Some(r) = root_of(wrong_new) {
            assert!(
                verify_consistency(old, wrong_new, old_root, &r, p).is_err(),
                "{ctx}: wrong new size {wrong_new}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive: every pair up to 1,024 entries.
// ---------------------------------------------------------------------------------------------

const EXHAUSTIVE: u64 = 1024;

fn check_every_pair_at(
    n: u64,
    tiles: &TileSet,
    edge_root: &Hash,
    table: &Table,
    roots: &[Hash],
    leaves: &[Hash],
) {
    let root_of = |s: u64| roots.get(s as usize).copied();
    let expected_root = roots[n as usize];
    assert_eq!(*edge_root, expected_root, "TreeEdge::root at size {n}");
    assert_eq!(
        root(tiles, n).unwrap(),
        expected_root,
        "root from tiles at size {n}"
    );
    // Mutations on every pair of the small trees, on a deterministic sample of the larger ones.
    let mutate_all = n <= 48;
    for index in 0..n {
        let p = inclusion_proof(tiles, index, n).unwrap();
        assert_eq!(
            p,
            hashes(path(table, index, 0, n)),
            "inclusion proof for index {index} at size {n}"
        );
        let leaf = &leaves[index as usize];
        verify_inclusion(leaf, index, n, &p, &expected_root)
            .unwrap_or_else(|e| panic!("inclusion {index}/{n} does not verify: {e}"));
        if mutate_all || (index * 31 + n * 17).is_multiple_of(199) {
            let other = &leaves[((index + 1) % n.max(2)) as usize];
            assert_inclusion_mutants_fail(
                leaf,
                other,
                index,
                n,
                &p,
                &expected_root,
                &root_of,
                mutate_all,
            );
        }
    }
    for old in 0..=n {
        let p = consistency_proof(tiles, old, n).unwrap();
        assert_eq!(
            p,
            hashes(proof(table, old, n)),
            "consistency proof {old} -> {n}"
        );
        let old_root = roots[old as usize];
        verify_consistency(old, n, &old_root, &expected_root, &p)
            .unwrap_or_else(|e| panic!("consistency {old} -> {n} does not verify: {e}"));
        if old > 0 && old < n && (mutate_all || (old * 13 + n * 7).is_multiple_of(197)) {
            assert_consistency_mutants_fail(
                old,
                n,
                &old_root,
                &expected_root,
                &p,
                &root_of,
                mutate_all,
            );
        }
    }
}

#[test]
fn every_inclusion_and_consistency_pair_up_to_1024_entries() {
    let entries: Vec<Vec<u8>> = (0..EXHAUSTIVE).map(entry).collect();
    let table = Table::new(entries.iter().map(|e| ref_leaf(e)).collect());
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    assert_eq!(leaves, hashes(table.levels[0].clone()), "leaf hashes");
    let roots: Vec<Hash> = (0..=EXHAUSTIVE).map(|s| Hash(mth(&table, 0, s))).collect();

    // Grow the tree one entry at a time, keeping the tile set of every size (cheap: the tiles
    // are shared behind Arcs).
    let mut edge = TreeEdge::empty();
    let mut tiles = TileSet::new();
    let mut snapshots: Vec<(Hash, TileSet)> = Vec::with_capacity(EXHAUSTIVE as usize);
    for leaf in &leaves {
        for (level, index, tile) in edge.append(std::slice::from_ref(leaf)).tiles {
            tiles.insert(level, index, tile);
        }
        snapshots.push((edge.root(), tiles.clone()));
    }

    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().clamp(1, 4));
    std::thread::scope(|s| {
        for t in 0..threads {
            let (snapshots, table, roots, leaves) = (&snapshots, &table, &roots, &leaves);
            s.spawn(move || {
                for n in (1 + t as u64..=EXHAUSTIVE).step_by(threads) {
                    let (edge_root, tiles) = &snapshots[n as usize - 1];
                    check_every_pair_at(n, tiles, edge_root, table, roots, leaves);
                }
            });
        }
    });

    // The empty tree.
    assert_eq!(TreeEdge::empty().root(), Hash(sha256(&[])));
    assert_eq!(root(&TileSet::new(), 0).unwrap(), Hash(sha256(&[])));
    assert_eq!(consistency_proof(&TileSet::new(), 0, 0).unwrap(), vec![]);
    assert!(matches!(
        inclusion_proof(&TileSet::new(), 0, 0),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    ));
}

// ---------------------------------------------------------------------------------------------
// Random sizes up to 2^20.
// ---------------------------------------------------------------------------------------------

const BIG: u64 = 1 << 20;

struct BigTree {
    table: Table,
    leaves: Vec<Hash>,
    /// Every tile of the 2^20-entry tree, as `TreeEdge::append` produced them.
    tiles: TileSet,
}

fn big_tree() -> &'static BigTree {
    static TREE: OnceLock<BigTree> = OnceLock::new();
    TREE.get_or_init(|| {
        // Leaf hashing is checked against the reference in the exhaustive test; here the
        // reference's leaf hashes feed `TreeEdge::append` directly (hashing 2^20 entries with
        // the unoptimised debug build of hotline-tlog would dominate the run time).
        let table = Table::new((0..BIG).map(|i| ref_leaf(&entry(i))).collect());
        let leaves: Vec<Hash> = table.levels[0].iter().copied().map(Hash).collect();
        // Append in irregular batches.
        let mut edge = TreeEdge::empty();
        let mut tiles = TileSet::new();
        let mut done = 0usize;
        let mut x = 12345u64;
        while done < leaves.len() {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let chunk = ((x >> 33) % 5000 + 1) as usize;
            let end = (done + chunk).min(leaves.len());
            for (level, index, tile) in edge.append(&leaves[done..end]).tiles {
                tiles.insert(level, index, tile);
            }
            done = end;
        }
        assert_eq!(edge.root(), Hash(mth(&table, 0, BIG)));
        BigTree {
            table,
            leaves,
            tiles,
        }
    })
}

/// The tiles a server would publish for a tree of `size` entries, per c2sp.org/tlog-tiles:
/// full tiles as they are, the right-edge partial tiles as the first `W` hashes of the full
/// tile at the same position.
fn published_tiles(all: &TileSet, size: u64) -> TileSet {
    let mut set = TileSet::new();
    for id in tiles_for_size(size) {
        let TileKind::Hashes { level } = id.kind else {
            panic!("tiles_for_size returned an entry bundle: {id}");
        };
        let full = all
            .get(level, id.index)
            .unwrap_or_else(|| panic!("tile {id} was never written"));
        let tile = if id.is_full() {
            assert_eq!(full.width(), 256, "{id}");
            full.clone()
        } else {
            Arc::new(TileNodes::new(
                full.hashes()[..usize::from(id.width)].to_vec(),
            ))
        };
        set.insert(level, id.index, tile);
    }
    set
}

/// A node source that also answers the right-edge ranges `start..size` from
/// [`right_edge_ranges`] (as a server caches them), and counts the requests for ranges that are
/// neither cached nor perfect: `right_edge_ranges` promises there are none.
struct CachedEdge<S> {
    inner: S,
    size: u64,
    edge: Vec<(u64, Hash)>,
    misses: Cell<u32>,
}

impl<S: NodeSource> CachedEdge<S> {
    fn new(inner: S, size: u64) -> CachedEdge<S>
    where
        S::Error: std::fmt::Debug,
    {
        let edge = right_edge_ranges(&inner, size).unwrap();
        CachedEdge {
            inner,
            size,
            edge,
            misses: Cell::new(0),
        }
    }
}

impl<S: NodeSource> NodeSource for CachedEdge<S> {
    type Error = S::Error;
    fn node(&self, level: u32, index: u64) -> Result<Hash, S::Error> {
        self.inner.node(level, index)
    }
    fn cached_range(&self, lo: u64, hi: u64) -> Option<Hash> {
        let hit = if hi == self.size {
            self.edge
                .binary_search_by_key(&lo, |(start, _)| *start)
                .ok()
                .map(|i| self.edge[i].1)
        } else {
            None
        };
        if hit.is_none() && !(hi - lo).is_power_of_two() {
            self.misses.set(self.misses.get() + 1);
        }
        hit
    }
}

/// The right-edge ranges of a tree of `n` entries, from the reference: `start..n` for every
/// start of the perfect subtrees (largest first) that tile `0..n`.
fn reference_right_edge<P: Perfect + ?Sized>(p: &P, n: u64) -> Vec<(u64, Hash)> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < n {
        out.push((start, Hash(mth(p, start, n))));
        let mut k = 1;
        while k <= (n - start) / 2 {
            k *= 2;
        }
        start += k;
    }
    out
}

/// Sizes with a bias towards the edges of perfect subtrees and tiles.
fn size_up_to(max_exp: u32, max: u64) -> impl Strategy<Value = u64> {
    prop_oneof![
        3 => 1..=max,
        1 => (0..=max_exp).prop_map(move |e| (1u64 << e).min(max)),
        1 => (1..=max_exp).prop_map(move |e| ((1u64 << e) - 1).clamp(1, max)),
        1 => (0..max_exp).prop_map(move |e| ((1u64 << e) + 1).min(max)),
    ]
}

fn size_index_old(max_exp: u32, max: u64) -> impl Strategy<Value = (u64, u64, u64)> {
    size_up_to(max_exp, max).prop_flat_map(|n| {
        (
            Just(n),
            prop_oneof![0..n, Just(0), Just(n - 1)],
            prop_oneof![0..=n, Just(1.min(n)), Just(n), Just(n / 2)],
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn random_pairs_in_a_tree_of_2_pow_20_entries((n, index, old) in size_index_old(20, BIG)) {
        let big = big_tree();
        let table = &big.table;
        let root_of = |s: u64| (s <= BIG).then(|| Hash(mth(table, 0, s)));
        let expected_root = Hash(mth(table, 0, n));
        let published = published_tiles(&big.tiles, n);
        for (what, tiles) in [("published tiles", &published), ("all tiles", &big.tiles)] {
            prop_assert_eq!(root(tiles, n).unwrap(), expected_root, "{} root", what);
            let p = inclusion_proof(tiles, index, n).unwrap();
            prop_assert_eq!(&p, &hashes(path(table, index, 0, n)), "{} inclusion", what);
            let c = consistency_proof(tiles, old, n).unwrap();
            prop_assert_eq!(&c, &hashes(proof(table, old, n)), "{} consistency", what);
        }
        // With the right-edge ranges cached, as a server does: same proofs, and no range
        // outside the cache has to be folded from nodes.
        let cached = CachedEdge::new(&published, n);
        prop_assert_eq!(&cached.edge, &reference_right_edge(table, n));
        prop_assert_eq!(root(&cached, n).unwrap(), expected_root);
        prop_assert_eq!(inclusion_proof(&cached, index, n).unwrap(), hashes(path(table, index, 0, n)));
        prop_assert_eq!(consistency_proof(&cached, old, n).unwrap(), hashes(proof(table, old, n)));
        prop_assert_eq!(cached.misses.get(), 0, "uncached non-perfect ranges");

        let p = inclusion_proof(&published, index, n).unwrap();
        let leaf = &big.leaves[index as usize];
        verify_inclusion(leaf, index, n, &p, &expected_root).unwrap();
        let other = &big.leaves[((index + 1) % n.max(2)) as usize];
        assert_inclusion_mutants_fail(leaf, other, index, n, &p, &expected_root, &root_of, true);

        let c = consistency_proof(&published, old, n).unwrap();
        let old_root = Hash(mth(table, 0, old));
        verify_consistency(old, n, &old_root, &expected_root, &c).unwrap();
        if old > 0 && old < n {
            assert_consistency_mutants_fail(old, n, &old_root, &expected_root, &c, &root_of, true);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Huge trees of identical entries.
// ---------------------------------------------------------------------------------------------

/// A node source for the uniform tree that refuses nodes not complete in a tree of `size`
/// (the [`NodeSource`] contract), so proofs that look past the end of the tree fail.
struct UniformSource<'a> {
    uniform: &'a Uniform,
    size: u64,
}

impl NodeSource for UniformSource<'_> {
    type Error = String;
    fn node(&self, level: u32, index: u64) -> Result<Hash, String> {
        let end = index
            .checked_add(1)
            .and_then(|i| i.checked_mul(1u64.checked_shl(level)?));
        match end {
            Some(end) if level < 64 && end <= self.size => {
                Ok(Hash(self.uniform.by_level[level as usize]))
            }
            _ => Err(format!(
                "node ({level}, {index}) is not complete in a tree of size {}",
                self.size
            )),
        }
    }
}

fn any_size() -> impl Strategy<Value = u64> {
    prop_oneof![
        2 => 1..=u64::MAX,
        1 => (0u32..64).prop_map(|e| 1u64 << e),
        1 => (1u32..=64).prop_map(|e| if e == 64 { u64::MAX } else { (1u64 << e) - 1 }),
        1 => (0u32..63).prop_map(|e| (1u64 << e) + 1),
        1 => Just(u64::MAX),
        1 => Just(u64::MAX - 1),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn proofs_in_huge_trees_of_identical_entries(
        (n, index, old) in any_size().prop_flat_map(|n| (
            Just(n),
            prop_oneof![0..n, Just(0), Just(n - 1)],
            prop_oneof![0..=n, Just(1), Just(n - 1), Just(n)],
        ))
    ) {
        let uniform = Uniform::new();
        let src = UniformSource { uniform: &uniform, size: n };
        let expected_root = Hash(mth(&uniform, 0, n));
        prop_assert_eq!(root(&src, n).unwrap(), expected_root);
        let cached = CachedEdge::new(&src, n);
        prop_assert_eq!(&cached.edge, &reference_right_edge(&uniform, n));
        prop_assert_eq!(inclusion_proof(&cached, index, n).unwrap(), hashes(path(&uniform, index, 0, n)));
        prop_assert_eq!(consistency_proof(&cached, old, n).unwrap(), hashes(proof(&uniform, old, n)));
        prop_assert_eq!(cached.misses.get(), 0, "uncached non-perfect ranges");
        let p = inclusion_proof(&src, index, n).unwrap();
        prop_assert_eq!(&p, &hashes(path(&uniform, index, 0, n)));
        let leaf = Hash(uniform.by_level[0]);
        verify_inclusion(&leaf, index, n, &p, &expected_root).unwrap();
        for k in [0, p.len() / 2, p.len().wrapping_sub(1)] {
            if let Some(h) = p.get(k) {
                let mut bad = p.clone();
                bad[k] = flip(h, k);
                prop_assert!(verify_inclusion(&leaf, index, n, &bad, &expected_root).is_err());
            }
        }
        let c = consistency_proof(&src, old, n).unwrap();
        prop_assert_eq!(&c, &hashes(proof(&uniform, old, n)));
        let old_root = Hash(mth(&uniform, 0, old));
        verify_consistency(old, n, &old_root, &expected_root, &c).unwrap();
        for k in [0, c.len() / 2, c.len().wrapping_sub(1)] {
            if let Some(h) = c.get(k) {
                let mut bad = c.clone();
                bad[k] = flip(h, k);
                prop_assert!(verify_consistency(old, n, &old_root, &expected_root, &bad).is_err());
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The right edge of any tree, however large, rebuilt from its partial tiles, gives the
    /// reference root, and keeps giving it as entries are appended.
    #[test]
    fn edge_of_huge_trees(n in prop_oneof![0..=u64::MAX - 600, Just(1u64 << 56), Just((1u64 << 63) - 1), Just(u64::MAX - 600)], more in 0usize..600) {
        let uniform = Uniform::new();
        // Partial tile at level l: floor(n / 256^l) mod 256 hashes, each the root of a perfect
        // subtree of 256^l entries.
        let mut partial = Vec::new();
        for l in 0..8u32 {
            let width = (u128::from(n) / 256u128.pow(l)) % 256;
            partial.push(vec![Hash(uniform.by_level[(8 * l) as usize]); width as usize]);
        }
        while partial.last().is_some_and(Vec::is_empty) {
            partial.pop();
        }
        let mut edge = TreeEdge::from_partial_tiles(n, partial).unwrap();
        prop_assert_eq!(edge.size(), n);
        prop_assert_eq!(edge.root(), Hash(mth(&uniform, 0, n)));
        let leaf = Hash(uniform.by_level[0]);
        let touched = edge.append(&vec![leaf; more]);
        let new = n + more as u64;
        prop_assert_eq!(edge.root(), Hash(mth(&uniform, 0, new)));
        // The reported tiles are those of the new size that did not exist (or were narrower)
        // at the old size.
        let got: BTreeSet<(u8, u64, usize)> =
            touched.tiles.iter().map(|(l, i, t)| (*l, *i, t.width())).collect();
        prop_assert_eq!(got.len(), touched.tiles.len(), "a tile was reported twice");
        prop_assert_eq!(got, expected_new_tiles(n, new));
        // The partial tiles of the new size.
        let partial_ids: Vec<(u8, u64, u16)> = partial_tiles_for_size(new)
            .iter()
            .map(|t| match t.kind {
                TileKind::Hashes { level } => (level, t.index, t.width),
                TileKind::Entries => panic!("entry bundle among hash tiles"),
            })
            .collect();
        prop_assert_eq!(partial_ids, spec_partial_tiles(new));
    }
}

// ---------------------------------------------------------------------------------------------
// Tiles against the c2sp.org/tlog-tiles formulas.
// ---------------------------------------------------------------------------------------------

/// "The partial tile at level l for a tree of size s has floor(s / 256**l) mod 256 entries",
/// at index floor(s / 256**(l+1)); computed in u128 so that no shift can overflow.
fn spec_partial_tiles(size: u64) -> Vec<(u8, u64, u16)> {
    let s = u128::from(size);
    (0..64u32)
        .filter_map(|l| {
            let span = 256u128.checked_pow(l)?;
            let w = (s / span) % 256;
            let index = s / span / 256;
            (w > 0).then_some((l as u8, index as u64, w as u16))
        })
        .collect()
}

/// Tiles (level, index, width) a tree of `new` entries has that a tree of `old` entries did not
/// have at that width: tiles that became full, and right-edge partial tiles that changed.
fn expected_new_tiles(old: u64, new: u64) -> BTreeSet<(u8, u64, usize)> {
    let mut out = BTreeSet::new();
    for l in 0..8u32 {
        let span = 256u128.pow(l);
        let (old_n, new_n) = (u128::from(old) / span, u128::from(new) / span);
        for index in old_n / 256..new_n / 256 {
            out.insert((l as u8, index as u64, 256));
        }
        if new_n != old_n && new_n % 256 != 0 {
            out.insert((l as u8, (new_n / 256) as u64, (new_n % 256) as usize));
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10))]

    /// `TreeEdge::append` in random batches: the tiles it reports are exactly the new ones, each
    /// holds `MTH(D[(n·256+i)·256^l : (n·256+i+1)·256^l])` for i in 0..W, the root matches, the
    /// edge survives a rebuild from its partial tiles, and the new entries can be proved from
    /// the edge plus the reported tiles.
    #[test]
    fn append_reports_exactly_the_new_tiles_with_spec_contents(
        batches in prop::collection::vec(prop_oneof![4 => 1usize..=300, 4 => 1usize..=3000, 1 => Just(256), 1 => Just(40_000)], 1..25)
    ) {
        let big = big_tree();
        let table = &big.table;
        let mut edge = TreeEdge::empty();
        for batch in batches {
            let old = edge.size();
            let new = (old + batch as u64).min(1 << 17);
            if new == old {
                break;
            }
            let touched = edge.append(&big.leaves[old as usize..new as usize]);
            prop_assert_eq!(edge.size(), new);
            prop_assert_eq!(edge.root(), Hash(mth(table, 0, new)), "root at {}", new);
            let got: BTreeSet<(u8, u64, usize)> =
                touched.tiles.iter().map(|(l, i, t)| (*l, *i, t.width())).collect();
            prop_assert_eq!(got.len(), touched.tiles.len(), "a tile was reported twice");
            prop_assert_eq!(&got, &expected_new_tiles(old, new), "tiles for {} -> {}", old, new);
            for (l, n, tile) in &touched.tiles {
                let span = 256u64.pow(u32::from(*l));
                for (i, h) in tile.hashes().iter().enumerate() {
                    let start = (n * 256 + i as u64) * span;
                    prop_assert_eq!(*h, Hash(mth(table, start, start + span)),
                        "tile {}/{} hash {}", l, n, i);
                }
                // Interior nodes of the tile are the perfect subtrees above its hashes.
                for r in 1..=8u32 {
                    for j in 0..(tile.width() >> r) {
                        let width = span << r;
                        let start = n * 256 * span + j as u64 * width;
                        prop_assert_eq!(tile.node(r, j), Some(Hash(mth(table, start, start + width))));
                    }
                    prop_assert_eq!(tile.node(r, tile.width() >> r), None);
                }
            }
            // Partial tiles of the edge.
            let spec = spec_partial_tiles(new);
            for (l, hashes_at_l) in edge.partial_tiles().iter().enumerate() {
                let want = spec.iter().find(|t| usize::from(t.0) == l).map_or(0, |t| usize::from(t.2));
                prop_assert_eq!(hashes_at_l.len(), want, "partial tile width at level {}", l);
            }
            let again = TreeEdge::from_partial_tiles(new, edge.partial_tiles().to_vec()).unwrap();
            prop_assert_eq!(again.root(), edge.root());
            // Prove the new entries from the edge and the reported tiles only.
            let mut set = edge.tile_set();
            for (l, i, t) in touched.tiles {
                set.insert(l, i, t);
            }
            for index in [old, old + (new - old) / 2, new - 1] {
                let p = inclusion_proof(&set, index, new).unwrap();
                prop_assert_eq!(&p, &hashes(path(table, index, 0, new)));
            }
        }
    }

}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn tile_widths_follow_the_spec(size in any_size(), level in 0u8..=63, delta in -2i64..=2) {
        let spec = spec_partial_tiles(size);
        let span_l = 256u128.checked_pow(u32::from(level));
        let at_level = span_l.map_or(0, |s| u128::from(size) / s);
        let edge_index = (at_level / 256) as u64;
        let index = edge_index.saturating_add_signed(delta);
        let expected = if u128::from(index) < at_level / 256 {
            256
        } else if u128::from(index) == at_level / 256 {
            (at_level % 256) as u16
        } else {
            0
        };
        prop_assert_eq!(tile_width(level, index, size), expected);
        let partial: Vec<(u8, u64, u16)> = partial_tiles_for_size(size)
            .iter()
            .map(|t| match t.kind {
                TileKind::Hashes { level } => (level, t.index, t.width),
                TileKind::Entries => panic!("entry bundle among hash tiles"),
            })
            .collect();
        prop_assert_eq!(partial, spec);
    }

    #[test]
    fn tiles_for_size_lists_every_full_and_partial_tile(size in size_up_to(24, 1 << 24)) {
        let mut expected = Vec::new();
        for l in 0..8u32 {
            let n = u128::from(size) / 256u128.pow(l);
            for index in 0..n / 256 {
                expected.push((l as u8, index as u64, 256u16));
            }
            if n % 256 != 0 {
                expected.push((l as u8, (n / 256) as u64, (n % 256) as u16));
            }
        }
        let got: Vec<(u8, u64, u16)> = tiles_for_size(size)
            .iter()
            .map(|t| match t.kind {
                TileKind::Hashes { level } => (level, t.index, t.width),
                TileKind::Entries => panic!("entry bundle among hash tiles"),
            })
            .collect();
        prop_assert_eq!(got, expected);
    }
}

/// Regression: `tiles_for_size`, `partial_tiles_for_size`, `TreeEdge::from_partial_tiles`,
/// `TreeEdge::tile_set` and `TreeEdge::append` computed `size >> 8·level` with shifts reaching
/// 64 bits for trees of 2^56 entries or more: a panic in debug builds and, in release builds, a
/// wrong tile index or a loop that never ends (`partial_tiles_for_size` of a size an untrusted
/// checkpoint can claim).
#[test]
fn regression_tile_arithmetic_for_trees_of_2_pow_56_entries_and_more() {
    let ids = |size: u64| -> Vec<(u8, u64, u16)> {
        partial_tiles_for_size(size)
            .iter()
            .map(|t| match t.kind {
                TileKind::Hashes { level } => (level, t.index, t.width),
                TileKind::Entries => panic!("entry bundle among hash tiles"),
            })
            .collect()
    };
    assert_eq!(ids(1 << 56), [(7, 0, 1)]);
    assert_eq!(ids(u64::MAX), spec_partial_tiles(u64::MAX));
    assert_eq!(ids(u64::MAX).len(), 8);
    let uniform = Uniform::new();
    let n = (1u64 << 56) - 1;
    let partial: Vec<Vec<Hash>> = (0..7)
        .map(|l| vec![Hash(uniform.by_level[8 * l]); 255])
        .collect();
    let mut edge = TreeEdge::from_partial_tiles(n, partial).unwrap();
    assert_eq!(edge.root(), Hash(mth(&uniform, 0, n)));
    let touched = edge.append(&[Hash(uniform.by_level[0])]);
    assert_eq!(edge.size(), 1 << 56);
    assert_eq!(edge.root(), Hash(uniform.by_level[56]));
    let got: BTreeSet<(u8, u64, usize)> = touched
        .tiles
        .iter()
        .map(|(l, i, t)| (*l, *i, t.width()))
        .collect();
    assert_eq!(got, expected_new_tiles(n, 1 << 56));
    assert!(got.contains(&(7, 0, 1)));
    let again = TreeEdge::from_partial_tiles(1 << 56, edge.partial_tiles().to_vec()).unwrap();
    assert_eq!(again.root(), edge.root());
    assert_eq!(
        root(&edge.tile_set(), 1 << 56).unwrap(),
        Hash(uniform.by_level[56])
    );
}

// ---------------------------------------------------------------------------------------------
// Verifiers on arbitrary input.
// ---------------------------------------------------------------------------------------------

fn any_hash() -> impl Strategy<Value = Hash> {
    any::<[u8; 32]>().prop_map(Hash)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Garbage never verifies and never panics (no overflow on any size or index).
    #[test]
    fn verifiers_reject_garbage_without_panicking(
        leaf in any_hash(),
        root_hash in any_hash(),
        index in prop_oneof![any::<u64>(), 0u64..70],
        size in prop_oneof![any::<u64>(), 0u64..70, Just(u64::MAX)],
        old in prop_oneof![any::<u64>(), 0u64..70, Just(u64::MAX)],
        p in prop::collection::vec(any_hash(), 0..70),
    ) {
        prop_assert!(verify_inclusion(&leaf, index, size, &p, &root_hash).is_err());
        let r = verify_consistency(old, size, &leaf, &root_hash, &p);
        // Only the trivial proofs (from the empty tree, or between equal roots) may pass.
        if r.is_ok() {
            prop_assert!(p.is_empty() && (old == 0 || (old == size && leaf == root_hash)));
        }
        prop_assert!(verify_consistency(old, size, &leaf, &leaf, &p).is_ok() == (p.is_empty() && old <= size && (old == 0 || old == size)));
    }
}
