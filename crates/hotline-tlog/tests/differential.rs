//! Differential tests: hotline-tlog against independent implementations, used as
//! dev-dependencies.
//!
//! - **ct-merkle 0.3** (an in-memory RFC 6962 tree): roots, inclusion and consistency proofs,
//!   compared byte for byte and each side verifying the other's proofs.
//! - **tlog_tiles 0.2** (Cloudflare's Rust port of golang.org/x/mod/sumdb/tlog): tree hashes and
//!   record/tree proofs computed by tlog_tiles *reading hotline's tiles* (through its
//!   `HashReader`, and through its `TileHashReader`, which authenticates every tile it reads
//!   against the root), cross-verification, tile paths (tlog_tiles writes the sumdb form
//!   `tile/8/<L>/<N>`, which is the c2sp.org/tlog-tiles path with the tile height added, and
//!   `data` for `entries`), `Tile::new_tiles` against `TreeEdge::append`, and checkpoint
//!   formatting and parsing, including agreement on which mutated checkpoints are accepted.
//! - **signed_note 0.2** (Cloudflare's port of golang.org/x/mod/sumdb/note): notes signed by
//!   hotline verify with signed_note and vice versa (and are byte-identical, Ed25519 being
//!   deterministic), vkey/skey encodings (from signed_note's `generate_key`), key IDs for signature
//!   types 0x01 and 0x04, and agreement on accept/reject for multi-signature and mutated notes.
//! - **cosignature/v1**: neither crate implements it (signed_note refuses type-0x04 keys, checked
//!   below), so hotline's cosignatures are checked with signed_note's signature-line parser and
//!   key-ID function, and with ed25519-dalek over the message c2sp.org/tlog-cosignature defines,
//!   built here from the spec's text.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ct_merkle::mem_backed_tree::MemoryBackedTree;
use ct_merkle::{ConsistencyProof, InclusionProof, RootHash};
use hotline_tlog::checkpoint::Checkpoint;
use hotline_tlog::cosignature::{CosignatureV1Verifier, CosignerV1};
use hotline_tlog::hash::{Hash, leaf_hash};
use hotline_tlog::note::{
    self, ALG_COSIGNATURE_V1, ALG_ED25519, Ed25519Signer, Ed25519Verifier, Note, NoteVerifier,
};
use hotline_tlog::tile::{TileId, TileKind, TileSet, TreeEdge, tile_bytes, tiles_for_size};
use hotline_tlog::tree::{
    NodeSource, consistency_proof, inclusion_proof, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;
use sha2::Sha256;
use signed_note::{Signer as _, Verifier as _};

fn entry(i: u64) -> Vec<u8> {
    format!("differential entry {i}").into_bytes()
}

fn concat(hashes: &[Hash]) -> Vec<u8> {
    hashes.iter().flat_map(|h| h.0).collect()
}

fn split(bytes: &[u8]) -> Vec<Hash> {
    assert_eq!(bytes.len() % 32, 0);
    bytes
        .chunks_exact(32)
        .map(|c| Hash::from_slice(c).unwrap())
        .collect()
}

/// A tree of `n` entries built by hotline: the right edge and every tile it wrote.
struct Built {
    leaves: Vec<Hash>,
    edge: TreeEdge,
    tiles: TileSet,
}

fn build(n: u64) -> Built {
    let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&entry(i))).collect();
    let mut edge = TreeEdge::empty();
    let mut tiles = TileSet::new();
    let mut done = 0usize;
    for chunk in [1usize, 2, 5, 300, 4000].into_iter().cycle() {
        if done == leaves.len() {
            break;
        }
        let end = (done + chunk).min(leaves.len());
        for (l, i, t) in edge.append(&leaves[done..end]).tiles {
            tiles.insert(l, i, t);
        }
        done = end;
    }
    Built {
        leaves,
        edge,
        tiles,
    }
}

/// The tree of c2sp.org/tlog-tiles' example size, built once.
fn tree_70000() -> &'static Built {
    static TREE: OnceLock<Built> = OnceLock::new();
    TREE.get_or_init(|| build(70_000))
}

// =============================================================================================
// ct-merkle
// =============================================================================================

type CtTree = MemoryBackedTree<Sha256, Vec<u8>>;

fn ct_root_bytes(r: &RootHash<Sha256>) -> [u8; 32] {
    r.as_bytes().as_slice().try_into().unwrap()
}

/// Every pair of a tree grown to 160 entries: ct-merkle and hotline agree on roots and proofs,
/// and each accepts the other's proofs.
#[test]
fn ct_merkle_every_pair_up_to_160() {
    const N: u64 = 160;
    let mut ct = CtTree::new();
    assert_eq!(ct_root_bytes(&ct.root()), Hash::empty_root().0);
    let mut edge = TreeEdge::empty();
    let mut tiles = TileSet::new();
    let mut ct_roots = vec![ct.root()];
    let mut leaves = Vec::new();
    for n in 1..=N {
        let e = entry(n - 1);
        ct.push(e.clone());
        leaves.push(leaf_hash(&e));
        for (l, i, t) in edge.append(&leaves[leaves.len() - 1..]).tiles {
            tiles.insert(l, i, t);
        }
        let ct_root = ct.root();
        ct_roots.push(ct_root.clone());
        let root = edge.root();
        assert_eq!(ct_root_bytes(&ct_root), root.0, "root at size {n}");
        for i in 0..n {
            let ours = inclusion_proof(&tiles, i, n).unwrap();
            let theirs = ct.prove_inclusion(i as usize);
            assert_eq!(theirs.as_bytes(), concat(&ours), "inclusion {i} in {n}");
            ct_root
                .verify_inclusion(
                    &entry(i),
                    i,
                    &InclusionProof::<Sha256>::try_from_bytes(concat(&ours)).unwrap(),
                )
                .unwrap();
            verify_inclusion(&leaves[i as usize], i, n, &split(theirs.as_bytes()), &root).unwrap();
        }
        // ct-merkle proves consistency from non-empty prefixes only.
        for m in 1..=n {
            let ours = consistency_proof(&tiles, m, n).unwrap();
            let theirs = ct.prove_consistency((n - m) as usize);
            assert_eq!(theirs.as_bytes(), concat(&ours), "consistency {m} -> {n}");
            ct_root
                .verify_consistency(
                    &ct_roots[m as usize],
                    &ConsistencyProof::<Sha256>::try_from_bytes(concat(&ours)).unwrap(),
                )
                .unwrap();
            let old_root = Hash(ct_root_bytes(&ct_roots[m as usize]));
            verify_consistency(m, n, &old_root, &root, &split(theirs.as_bytes())).unwrap();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Random pairs in a 70,000-entry tree (ct-merkle proves at its current size only, so the
    /// new size is always 70,000).
    #[test]
    fn ct_merkle_random_pairs_at_70000(index in 0u64..70_000, old in 1u64..=70_000) {
        static CT: OnceLock<CtTree> = OnceLock::new();
        let ct = CT.get_or_init(|| {
            let mut t = CtTree::new();
            for i in 0..70_000 {
                t.push(entry(i));
            }
            t
        });
        let built = tree_70000();
        let root = built.edge.root();
        prop_assert_eq!(ct_root_bytes(&ct.root()), root.0);
        let ours = inclusion_proof(&built.tiles, index, 70_000).unwrap();
        let theirs = ct.prove_inclusion(index as usize);
        prop_assert_eq!(theirs.as_bytes(), &concat(&ours)[..]);
        let ours = consistency_proof(&built.tiles, old, 70_000).unwrap();
        let theirs = ct.prove_consistency((70_000 - old) as usize);
        prop_assert_eq!(theirs.as_bytes(), &concat(&ours)[..]);
        // Cross-verify against ct-merkle's own notion of the old root.
        let mut old_tree = CtTree::new();
        if old <= 600 {
            for i in 0..old {
                old_tree.push(entry(i));
            }
            ct.root()
                .verify_consistency(
                    &old_tree.root(),
                    &ConsistencyProof::<Sha256>::try_from_bytes(concat(&ours)).unwrap(),
                )
                .unwrap();
        }
    }
}

// =============================================================================================
// tlog_tiles
// =============================================================================================

fn th(h: &Hash) -> tlog_tiles::Hash {
    tlog_tiles::Hash(h.0)
}

fn from_th(h: &tlog_tiles::Hash) -> Hash {
    Hash(h.0)
}

/// tlog_tiles reads stored hashes (its Crosby–Wallach numbering) from hotline's tiles.
struct StoredHashes<'a>(&'a TileSet);

impl tlog_tiles::HashReader for StoredHashes<'_> {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<tlog_tiles::Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|&x| {
                let (level, n) = tlog_tiles::split_stored_hash_index(x);
                self.0
                    .node(u32::from(level), n)
                    .map(|h| th(&h))
                    .map_err(|_| tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// tlog_tiles reads height-8 tiles, as bytes, from hotline's tile set; a partial tile is the
/// first `W` hashes of the (wider) tile held.
struct TileBytes<'a>(&'a TileSet);

impl tlog_tiles::TileReader for TileBytes<'_> {
    fn height(&self) -> u8 {
        8
    }
    fn read_tiles(&self, tiles: &[tlog_tiles::Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles
            .iter()
            .map(|t| {
                assert_eq!(t.height(), 8);
                assert!(!t.is_data());
                let ours = self
                    .0
                    .get(t.level(), t.level_index())
                    .ok_or(tlog_tiles::Error::InvalidTile)?;
                let w = t.width() as usize;
                if ours.width() < w {
                    return Err(tlog_tiles::Error::InvalidTile);
                }
                Ok(tile_bytes(&ours.hashes()[..w]))
            })
            .collect()
    }
    fn save_tiles(&self, _tiles: &[tlog_tiles::Tile], _data: &[Vec<u8>]) {}
}

fn check_against_tlog_tiles(built: &Built, n: u64, indexes: &[u64], olds: &[u64]) {
    let hashes = StoredHashes(&built.tiles);
    let root = hotline_tlog::tree::root(&built.tiles, n).unwrap();
    let their_root = tlog_tiles::tree_hash(n, &hashes).unwrap();
    assert_eq!(from_th(&their_root), root, "tree hash at {n}");
    let tile_bytes = TileBytes(&built.tiles);
    let authenticated = tlog_tiles::TileHashReader::new(n, their_root, &tile_bytes);
    for &i in indexes {
        let ours = inclusion_proof(&built.tiles, i, n).unwrap();
        let theirs = tlog_tiles::prove_record(n, i, &hashes).unwrap();
        assert_eq!(
            ours,
            theirs.iter().map(from_th).collect::<Vec<_>>(),
            "record {i} in {n}"
        );
        let via_tiles = tlog_tiles::prove_record(n, i, &authenticated).unwrap();
        assert_eq!(ours, via_tiles.iter().map(from_th).collect::<Vec<_>>());
        let ours_t: Vec<_> = ours.iter().map(th).collect();
        tlog_tiles::check_record(&ours_t, n, their_root, i, th(&built.leaves[i as usize])).unwrap();
        verify_inclusion(
            &built.leaves[i as usize],
            i,
            n,
            &theirs.iter().map(from_th).collect::<Vec<_>>(),
            &root,
        )
        .unwrap();
    }
    for &m in olds {
        // tlog_tiles proves from non-empty trees only.
        let ours = consistency_proof(&built.tiles, m, n).unwrap();
        let theirs = tlog_tiles::prove_tree(n, m, &hashes).unwrap();
        assert_eq!(
            ours,
            theirs.iter().map(from_th).collect::<Vec<_>>(),
            "tree {m} -> {n}"
        );
        let via_tiles = tlog_tiles::prove_tree(n, m, &authenticated).unwrap();
        assert_eq!(ours, via_tiles.iter().map(from_th).collect::<Vec<_>>());
        let old_root = tlog_tiles::tree_hash(m, &hashes).unwrap();
        let ours_t: Vec<_> = ours.iter().map(th).collect();
        tlog_tiles::check_tree(&ours_t, n, their_root, m, old_root).unwrap();
        verify_consistency(
            m,
            n,
            &from_th(&old_root),
            &root,
            &theirs.iter().map(from_th).collect::<Vec<_>>(),
        )
        .unwrap();
    }
}

#[test]
fn tlog_tiles_every_pair_up_to_96() {
    let built = tree_70000();
    for n in 1..=96u64 {
        let indexes: Vec<u64> = (0..n).collect();
        let olds: Vec<u64> = (1..=n).collect();
        check_against_tlog_tiles(built, n, &indexes, &olds);
    }
}

fn tile_id(level: Option<u8>, index: u64, width: u16) -> TileId {
    TileId {
        kind: level.map_or(TileKind::Entries, |level| TileKind::Hashes { level }),
        index,
        width,
    }
}

fn their_tile(id: &TileId) -> tlog_tiles::Tile {
    match id.kind {
        TileKind::Hashes { level } => {
            tlog_tiles::Tile::new(8, level, id.index, u32::from(id.width), false)
        }
        TileKind::Entries => tlog_tiles::Tile::new(8, 0, id.index, u32::from(id.width), true),
    }
}

/// A c2sp.org/tlog-tiles path as tlog_tiles writes it for height 8: `tile/8/...`, with `data`
/// for `entries`. `None` if there is no unambiguous counterpart.
fn their_path(ours: &str) -> Option<String> {
    let rest = ours.strip_prefix("tile/")?;
    if rest.starts_with("data/") || rest == "data" {
        return None;
    }
    Some(match rest.strip_prefix("entries/") {
        Some(r) => format!("tile/8/data/{r}"),
        None => format!("tile/8/{rest}"),
    })
}

/// Inputs on which tlog_tiles 0.2 panics instead of returning an error (its `Tile::new`
/// asserts a level below 64 and a width of at least 1), or that it refuses for their length
/// alone (it caps paths at 52 bytes, enough for its own output but not for ours plus `8/`).
fn tlog_tiles_cannot_judge(theirs: &str) -> bool {
    let parts: Vec<&str> = theirs.split('/').collect();
    theirs.len() > 52
        || parts
            .get(2)
            .and_then(|l| l.parse::<u8>().ok())
            .is_some_and(|l| l >= 64)
        || (parts.len() >= 5
            && parts[parts.len() - 2].ends_with(".p")
            && parts[parts.len() - 1].parse::<u32>().ok() == Some(0))
}

fn any_tile_id() -> impl Strategy<Value = TileId> {
    (
        prop_oneof![3 => (0u8..=63).prop_map(Some), 1 => Just(None)],
        prop_oneof![
            any::<u64>(),
            0u64..2000,
            Just(u64::MAX),
            Just(999),
            Just(1000)
        ],
        prop_oneof![Just(256u16), 1u16..=255],
    )
        .prop_map(|(level, index, width)| tile_id(level, index, width))
}

fn mutate(s: &str, edits: &[(usize, u8, char)]) -> String {
    const ALPHABET: &[char] = &['0', '1', '5', '9', 'x', '/', '.', 'p', 'e', '-', '+', ' '];
    let mut chars: Vec<char> = s.chars().collect();
    for &(pos, op, c) in edits {
        let c = ALPHABET[(c as usize) % ALPHABET.len()];
        match op % 3 {
            0 if !chars.is_empty() => {
                chars.remove(pos % chars.len());
            }
            1 => chars.insert(pos % (chars.len() + 1), c),
            _ if !chars.is_empty() => {
                let p = pos % chars.len();
                chars[p] = c;
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn tlog_tiles_random_pairs_at_random_sizes(
        (n, index, old) in (1u64..=70_000).prop_flat_map(|n| (Just(n), 0..n, 1..=n))
    ) {
        check_against_tlog_tiles(tree_70000(), n, &[index, n - 1], &[old, n]);
    }

    #[test]
    fn tile_paths_agree_with_tlog_tiles(id in any_tile_id()) {
        let ours = id.path();
        let theirs = their_tile(&id);
        prop_assert_eq!(their_path(&ours), Some(theirs.path()));
        prop_assert_eq!(TileId::parse(&ours), Ok(id));
        if theirs.path().len() <= 52 {
            prop_assert_eq!(tlog_tiles::Tile::from_path(&theirs.path()).unwrap(), theirs);
        }
    }

    /// Mutated paths: hotline accepts exactly what tlog_tiles accepts (where tlog_tiles can
    /// judge), and both read the same tile.
    #[test]
    fn mutated_tile_paths_are_judged_alike(
        id in any_tile_id(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<char>()), 1..4),
    ) {
        let path = mutate(&id.path(), &edits);
        let ours = TileId::parse(&path);
        match their_path(&path) {
            Some(theirs) if !tlog_tiles_cannot_judge(&theirs) => {
                let t = tlog_tiles::Tile::from_path(&theirs);
                prop_assert_eq!(ours.is_ok(), t.is_ok(), "{} / {}: {:?}", path, theirs, ours);
                if let (Ok(o), Ok(t)) = (ours, t) {
                    prop_assert_eq!(their_tile(&o), t);
                }
            }
            Some(_) => {}
            None => prop_assert!(ours.is_err(), "{} accepted", path),
        }
    }

    /// `TreeEdge::append` from `old` to `new` reports exactly the tiles Go's `NewTiles` (as
    /// ported by tlog_tiles) says must be published, and `tiles_for_size` lists what
    /// `NewTiles(8, 0, size)` lists.
    #[test]
    fn appended_tiles_are_tlog_tiles_new_tiles(old in 0u64..66_000, more in 1u64..=4_000) {
        let built = tree_70000();
        let new = old + more;
        // The edge at `old`, rebuilt from the partial tiles a server would have stored.
        let mut partial = Vec::new();
        for level in 0..3u32 {
            let hashes_at_level = old >> (8 * level);
            let w = (hashes_at_level % 256) as usize;
            let index = hashes_at_level / 256;
            partial.push(match built.tiles.get(level as u8, index) {
                Some(t) if w > 0 => t.hashes()[..w].to_vec(),
                _ => vec![],
            });
        }
        while partial.last().is_some_and(Vec::is_empty) {
            partial.pop();
        }
        let mut edge = TreeEdge::from_partial_tiles(old, partial).unwrap();
        let touched = edge.append(&built.leaves[old as usize..new as usize]);
        let ours: BTreeSet<(u8, u64, u32)> = touched
            .tiles
            .iter()
            .map(|(l, i, t)| (*l, *i, t.width() as u32))
            .collect();
        let theirs: BTreeSet<(u8, u64, u32)> = tlog_tiles::Tile::new_tiles(8, old, new)
            .iter()
            .map(|t| (t.level(), t.level_index(), t.width()))
            .collect();
        prop_assert_eq!(ours, theirs);
        // Whole trees.
        let ours: Vec<String> = tiles_for_size(new).iter().map(TileId::path).collect();
        let theirs: Vec<String> = tlog_tiles::Tile::new_tiles(8, 0, new)
            .iter()
            .map(|t| t.path().replacen("tile/8/", "tile/", 1))
            .collect();
        prop_assert_eq!(ours, theirs);
    }
}

// --- Checkpoints ------------------------------------------------------------------------------

fn any_checkpoint() -> impl Strategy<Value = Checkpoint> {
    (
        "[^\n]{1,40}",
        prop_oneof![any::<u64>(), 0u64..1000],
        any::<[u8; 32]>(),
        prop::collection::vec("[^\n]{1,30}", 0..3),
    )
        .prop_map(|(origin, size, root, extensions)| Checkpoint {
            origin,
            size,
            root: Hash(root),
            extensions,
        })
}

fn their_checkpoint(c: &Checkpoint) -> tlog_tiles::Checkpoint {
    let ext: String = c.extensions.iter().map(|e| format!("{e}\n")).collect();
    tlog_tiles::Checkpoint::new(&c.origin, c.size, tlog_tiles::Hash(c.root.0), &ext).unwrap()
}

fn same_checkpoint(ours: &Checkpoint, theirs: &tlog_tiles::Checkpoint) -> bool {
    let ext: String = ours.extensions.iter().map(|e| format!("{e}\n")).collect();
    ours.origin == theirs.origin()
        && ours.size == theirs.size()
        && ours.root.0 == theirs.hash().0
        && ext == theirs.extension()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn checkpoints_format_and_parse_alike(c in any_checkpoint()) {
        let theirs = their_checkpoint(&c);
        let text = c.to_text();
        prop_assert_eq!(text.as_bytes(), &theirs.to_bytes()[..]);
        let parsed_by_them = tlog_tiles::Checkpoint::from_bytes(c.to_text().as_bytes()).unwrap();
        prop_assert!(same_checkpoint(&c, &parsed_by_them));
        let text = String::from_utf8(theirs.to_bytes()).unwrap();
        prop_assert_eq!(Checkpoint::parse(&text).unwrap(), c);
    }

    /// Mutated checkpoint texts are accepted by hotline exactly when tlog_tiles accepts them,
    /// with the same reading.
    #[test]
    fn mutated_checkpoints_are_judged_alike(
        c in any_checkpoint(),
        edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<char>()), 1..4),
    ) {
        const ALPHABET: &[char] = &['\n', '0', '1', '+', '-', '=', 'A', '/', ' ', 'x'];
        let mut chars: Vec<char> = c.to_text().chars().collect();
        for (pos, op, ch) in edits {
            let ch = ALPHABET[(ch as usize) % ALPHABET.len()];
            match op % 3 {
                0 if !chars.is_empty() => {
                    chars.remove(pos % chars.len());
                }
                1 => chars.insert(pos % (chars.len() + 1), ch),
                _ if !chars.is_empty() => {
                    let p = pos % chars.len();
                    chars[p] = ch;
                }
                _ => {}
            }
        }
        let text: String = chars.into_iter().collect();
        let ours = Checkpoint::parse(&text);
        let theirs = tlog_tiles::Checkpoint::from_bytes(text.as_bytes());
        prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:?}: {:?}", text, ours);
        if let (Ok(o), Ok(t)) = (&ours, &theirs) {
            prop_assert!(same_checkpoint(o, t));
        }
    }
}

// =============================================================================================
// signed_note
// =============================================================================================

/// A deterministic RNG for signed_note's `generate_key` (rand_core 0.6 traits).
struct CountingRng(u8);

impl rand_core_06::RngCore for CountingRng {
    fn next_u32(&mut self) -> u32 {
        rand_core_06::impls::next_u32_via_fill(self)
    }
    fn next_u64(&mut self) -> u64 {
        rand_core_06::impls::next_u64_via_fill(self)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = self.0;
            self.0 = self.0.wrapping_mul(31).wrapping_add(7);
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core_06::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core_06::CryptoRng for CountingRng {}

fn signer(name: &str, seed: u8) -> Ed25519Signer {
    Ed25519Signer::new(name, ed25519_dalek::SigningKey::from_bytes(&[seed; 32])).unwrap()
}

fn their_verifiers(vkeys: &[String]) -> signed_note::VerifierList {
    signed_note::VerifierList::new(
        vkeys
            .iter()
            .map(|v| {
                Box::new(signed_note::StandardVerifier::new(v).unwrap())
                    as Box<dyn signed_note::Verifier>
            })
            .collect(),
    )
}

/// Key names: non-empty, no Unicode space, no `+`, and (so that notes can carry them) no
/// control characters.
const KEY_NAME: &str = "[\\PC&&[^\\s+]]{1,20}";
/// Note texts: lines of non-control characters, possibly empty, each ending in a newline.
const NOTE_TEXT: &str = "(\\PC{0,30}\n){1,5}";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// signed_note's `generate_key` and hotline read and write the same skey and vkey strings.
    #[test]
    fn keys_round_trip_through_signed_note(name in KEY_NAME, seed in any::<u8>()) {
        let (skey, vkey) = signed_note::generate_key(&mut CountingRng(seed), &name);
        let ours = Ed25519Signer::from_skey(&skey).unwrap();
        prop_assert_eq!(ours.to_skey(), skey);
        prop_assert_eq!(ours.verifier().to_vkey(), vkey.clone());
        prop_assert_eq!(Ed25519Verifier::from_vkey(&vkey).unwrap().to_vkey(), vkey);
        // And the other way round.
        let ours = signer(&name, seed);
        let theirs = signed_note::StandardSigner::new(&ours.to_skey()).unwrap();
        prop_assert_eq!(theirs.name(), name.as_str());
        prop_assert_eq!(theirs.key_id(), hotline_tlog::NoteSigner::key_id(&ours));
        let v = signed_note::StandardVerifier::new(&ours.verifier().to_vkey()).unwrap();
        prop_assert_eq!(v.key_id(), ours.verifier().key_id());
    }

    #[test]
    fn key_ids_agree(name in KEY_NAME, alg in prop_oneof![Just(ALG_ED25519), Just(ALG_COSIGNATURE_V1), any::<u8>()], key in any::<[u8; 32]>()) {
        let mut material = vec![alg];
        material.extend_from_slice(&key);
        prop_assert_eq!(note::key_id(&name, alg, &key), signed_note::key_id(&name, &material));
    }

    /// Notes signed by either implementation are byte-identical and verify with the other.
    #[test]
    fn notes_sign_and_verify_both_ways(name in KEY_NAME, seed in any::<u8>(), text in NOTE_TEXT) {
        let ours_signer = signer(&name, seed);
        let mut ours = Note::new(text.clone()).unwrap();
        ours.sign(&ours_signer);
        let ours = ours.to_bytes();

        let their_signer = signed_note::StandardSigner::new(&ours_signer.to_skey()).unwrap();
        let mut theirs = signed_note::Note::new(text.as_bytes(), &[]).unwrap();
        theirs.add_sigs(&[&their_signer]).unwrap();
        let theirs = theirs.to_bytes();
        prop_assert_eq!(&ours, &theirs);

        let vkey = ours_signer.verifier().to_vkey();
        let (verified, unverified) = signed_note::Note::from_bytes(&ours)
            .unwrap()
            .verify(&their_verifiers(&[vkey]))
            .unwrap();
        prop_assert_eq!(verified.len(), 1);
        prop_assert!(unverified.is_empty());
        let parsed = Note::parse(&theirs).unwrap();
        prop_assert_eq!(parsed.text(), text.as_str());
        prop_assert_eq!(parsed.verify(&[&ours_signer.verifier()]).unwrap(), vec![name]);
    }
}

/// One signature line of a generated multi-signature note.
#[derive(Clone, Debug)]
struct SigPlan {
    /// Which of the five keys signs (keys 3 and 4 share key 0's name: a rotated log key).
    key: usize,
    /// Corrupt the signature bytes.
    corrupt: bool,
}

fn plan_keys() -> Vec<Ed25519Signer> {
    vec![
        signer("log.example/a", 1),
        signer("witness.example/b", 2),
        signer("witness.example/c", 3),
        signer("log.example/a", 4),
        signer("log.example/a", 5),
    ]
}

fn build_note(text: &str, plan: &[SigPlan]) -> Vec<u8> {
    let keys = plan_keys();
    let mut out = format!("{text}\n").into_bytes();
    for p in plan {
        let mut n = Note::new(text).unwrap();
        n.sign(&keys[p.key]);
        let mut sig = n.signatures()[0].clone();
        if p.corrupt {
            sig.signature[7] ^= 0x20;
        }
        out.extend_from_slice(sig.line().as_bytes());
        out.push(b'\n');
    }
    out
}

/// Hotline's and signed_note's verdicts on one note: `Some(verified key names)` or `None`.
fn verdicts(note: &[u8], known: &[usize]) -> (Option<BTreeSet<String>>, Option<BTreeSet<String>>) {
    let keys = plan_keys();
    let verifiers: Vec<Ed25519Verifier> = known.iter().map(|&k| keys[k].verifier()).collect();
    let refs: Vec<&dyn NoteVerifier> = verifiers.iter().map(|v| v as &dyn NoteVerifier).collect();
    let ours = Note::parse(note)
        .and_then(|n| n.verify(&refs))
        .ok()
        .map(|names| names.into_iter().collect());
    let vkeys: Vec<String> = verifiers.iter().map(Ed25519Verifier::to_vkey).collect();
    let theirs = signed_note::Note::from_bytes(note)
        .and_then(|n| n.verify(&their_verifiers(&vkeys)))
        .ok()
        .map(|(verified, _)| verified.iter().map(|s| s.name().to_owned()).collect());
    (ours, theirs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Notes with up to six signature lines by five keys (two of them rotations of the first,
    /// under the same name), some corrupted, checked against a random set of known keys: both
    /// implementations accept the same notes and verify the same key names.
    #[test]
    fn multi_signature_notes_are_judged_alike(
        plan in prop::collection::vec((0usize..5, prop::bool::weighted(0.2)).prop_map(|(key, corrupt)| SigPlan { key, corrupt }), 1..7),
        known in prop::sample::subsequence(vec![0usize, 1, 2, 3, 4], 0..=5),
    ) {
        let note = build_note("log.example/a\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", &plan);
        let (ours, theirs) = verdicts(&note, &known);
        prop_assert_eq!(ours, theirs, "{}", String::from_utf8_lossy(&note));
    }

    /// Byte-level mutations of a note signed by a known and an unknown key: accepted by
    /// hotline exactly when signed_note accepts them.
    #[test]
    fn mutated_notes_are_judged_alike(
        edits in prop::collection::vec((any::<usize>(), 0u8..3, prop::sample::select(vec![b'\n', b' ', b'A', b'+', b'=', b'/', 0xe2, 0x80, 0x94, b'x', 0x01])), 1..3),
        flip_bit in any::<bool>(),
        bit_pos in any::<usize>(),
    ) {
        let mut note = build_note(
            "example.com/log\n7\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
            &[SigPlan { key: 0, corrupt: false }, SigPlan { key: 1, corrupt: false }],
        );
        if flip_bit {
            let p = bit_pos % (note.len() * 8);
            note[p / 8] ^= 1 << (p % 8);
        } else {
            for (pos, op, byte) in edits {
                match op {
                    0 => {
                        note.remove(pos % note.len());
                    }
                    1 => note.insert(pos % (note.len() + 1), byte),
                    _ => {
                        let p = pos % note.len();
                        note[p] = byte;
                    }
                }
            }
        }
        let (ours, theirs) = verdicts(&note, &[0]);
        prop_assert_eq!(ours, theirs, "{:?}", String::from_utf8_lossy(&note));
    }
}

/// Regression: hotline skipped the signature of a second known key once a signature under the
/// same name had verified (a rotated log key has the same name and another key ID), so a note
/// with one good and one bad signature by known keys was accepted. c2sp.org/signed-note: "If
/// the key name and ID match a known key, verifiers MUST verify the signature"; signed_note and
/// Go's note.Open reject such a note.
#[test]
fn regression_a_rotated_key_with_a_bad_signature_is_rejected() {
    const TEXT: &str = "log.example/a\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let keys = plan_keys();
    let good_then_bad = build_note(
        TEXT,
        &[
            SigPlan {
                key: 0,
                corrupt: false,
            },
            SigPlan {
                key: 3,
                corrupt: true,
            },
        ],
    );
    assert_eq!(verdicts(&good_then_bad, &[0, 3]), (None, None));
    assert_eq!(
        Note::parse(&good_then_bad)
            .unwrap()
            .verify(&[&keys[0].verifier(), &keys[3].verifier()]),
        Err(note::NoteError::BadSignature {
            name: "log.example/a".into(),
            key_id: keys[3].verifier().key_id()
        })
    );
    // Both good: accepted, the name reported once.
    let both_good = build_note(
        TEXT,
        &[
            SigPlan {
                key: 0,
                corrupt: false,
            },
            SigPlan {
                key: 3,
                corrupt: false,
            },
        ],
    );
    let names: BTreeSet<String> = ["log.example/a".to_owned()].into();
    assert_eq!(
        verdicts(&both_good, &[0, 3]),
        (Some(names.clone()), Some(names))
    );
    assert_eq!(
        Note::parse(&both_good)
            .unwrap()
            .verify(&[&keys[0].verifier(), &keys[3].verifier()])
            .unwrap(),
        ["log.example/a"]
    );
    // A repeated line by the same key is checked once (as Go does), even if the repeat is bad.
    let repeated = build_note(
        TEXT,
        &[
            SigPlan {
                key: 0,
                corrupt: false,
            },
            SigPlan {
                key: 0,
                corrupt: true,
            },
        ],
    );
    let names: BTreeSet<String> = ["log.example/a".to_owned()].into();
    assert_eq!(
        verdicts(&repeated, &[0]),
        (Some(names.clone()), Some(names))
    );
}

// --- cosignature/v1 ---------------------------------------------------------------------------

#[test]
fn signed_note_does_not_implement_cosignature_v1() {
    let w = CosignerV1::new(
        "witness.example/w1",
        ed25519_dalek::SigningKey::from_bytes(&[9; 32]),
    )
    .unwrap();
    assert!(matches!(
        signed_note::StandardVerifier::new(&w.verifier().to_vkey()),
        Err(signed_note::VerifierError::Alg)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Hotline's cosignatures, taken apart with signed_note and checked with ed25519-dalek over
    /// the message c2sp.org/tlog-cosignature defines.
    #[test]
    fn cosignatures_follow_the_spec(
        seed in any::<[u8; 32]>(),
        name in KEY_NAME,
        checkpoint in any_checkpoint().prop_filter("note text", |c| !c.to_text().chars().any(|ch| ch < ' ' && ch != '\n')),
        timestamp in prop_oneof![any::<u64>(), 0u64..2_000_000_000],
    ) {
        let text = checkpoint.to_text();
        let w = CosignerV1::new(&name, ed25519_dalek::SigningKey::from_bytes(&seed)).unwrap();
        let pk = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key();
        // The vkey: name+id+base64(0x04 || key), with signed_note's key ID.
        let vkey = w.verifier().to_vkey();
        let mut material = vec![0x04u8];
        material.extend_from_slice(pk.as_bytes());
        let id = signed_note::key_id(&name, &material);
        prop_assert_eq!(&vkey, &format!("{name}+{id:08x}+{}", B64.encode(&material)));

        let sig = w.cosign(&text, timestamp);
        let line = signed_note::Signature::from_bytes(sig.line().as_bytes()).unwrap();
        prop_assert_eq!(line.name(), name.as_str());
        prop_assert_eq!(line.id(), id);
        let raw = line.signature();
        prop_assert_eq!(raw.len(), 72);
        let ts = u64::from_be_bytes(raw[..8].try_into().unwrap());
        // The spec caps timestamps at 2^63 - 1.
        prop_assert!(ts < 1 << 63);
        if timestamp < 1 << 63 {
            prop_assert_eq!(ts, timestamp);
        }
        let message = format!("cosignature/v1\ntime {ts}\n{text}");
        let signature = ed25519_dalek::Signature::from_slice(&raw[8..]).unwrap();
        prop_assert!(pk.verify_strict(message.as_bytes(), &signature).is_ok());
        prop_assert_eq!(
            CosignatureV1Verifier::from_vkey(&vkey).unwrap().verified_timestamp(&text, raw),
            Some(ts)
        );

        // In a checkpoint note signed by a log: signed_note verifies the log signature and
        // reports the cosignature as unverified (unknown key type), hotline verifies both.
        let log = signer("log.example", 7);
        let mut n = Note::new(text.clone()).unwrap();
        n.sign(&log);
        n.add_signature(sig);
        let bytes = n.to_bytes();
        let (verified, unverified) = signed_note::Note::from_bytes(&bytes)
            .unwrap()
            .verify(&their_verifiers(&[log.verifier().to_vkey()]))
            .unwrap();
        prop_assert_eq!(verified.len(), 1);
        prop_assert_eq!(unverified.len(), 1);
        let wv = CosignatureV1Verifier::from_vkey(&vkey).unwrap();
        let names = Note::parse(&bytes).unwrap().verify(&[&log.verifier(), &wv]).unwrap();
        prop_assert!(names.contains(&"log.example".to_owned()));
        prop_assert!(names.contains(&name));
    }
}
