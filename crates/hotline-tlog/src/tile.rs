//! c2sp.org/tlog-tiles: tile coordinates and paths, tiles with their interior nodes, and the
//! right edge of a tiled tree that grows by appending leaf hashes.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use thiserror::Error;

use crate::hash::{HASH_SIZE, Hash, node_hash};
use crate::tree::{NodeSource, range_hash};

/// Tree levels covered by one tile (tiles are 2^8 = 256 hashes wide).
pub const TILE_HEIGHT: u32 = 8;
/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 1 << TILE_HEIGHT;
/// Bytes in a full hash tile.
pub const FULL_TILE_BYTES: usize = TILE_WIDTH as usize * HASH_SIZE;
/// Highest tile level the spec allows.
pub const MAX_TILE_LEVEL: u8 = 63;

/// What a tile resource holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TileKind {
    /// Merkle tree hashes at tile level `level` (tree level `8·level`).
    Hashes {
        /// Tile level, 0..=63.
        level: u8,
    },
    /// An entry bundle: the entries whose leaf hashes form the level-0 tile of the same index.
    Entries,
}

/// One tile resource: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TileId {
    /// Hash tile or entry bundle.
    pub kind: TileKind,
    /// Index of the tile within its level.
    pub index: u64,
    /// Number of hashes or entries, 1..=256; 256 is a full tile.
    pub width: u16,
}

/// A tile path that does not follow c2sp.org/tlog-tiles.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("malformed tile path {path:?}: {reason}")]
pub struct TilePathError {
    /// The path as given.
    pub path: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl TileId {
    /// A full hash tile.
    pub fn hashes(level: u8, index: u64) -> TileId {
        TileId {
            kind: TileKind::Hashes { level },
            index,
            width: TILE_WIDTH as u16,
        }
    }

    /// Whether the tile is full (256 wide).
    pub fn is_full(&self) -> bool {
        u64::from(self.width) == TILE_WIDTH
    }

    /// The path of the tile below the log prefix, e.g. `tile/0/x001/234` or
    /// `tile/entries/067.p/5`.
    pub fn path(&self) -> String {
        let mut s = String::from("tile/");
        match self.kind {
            TileKind::Hashes { level } => s.push_str(&level.to_string()),
            TileKind::Entries => s.push_str("entries"),
        }
        s.push('/');
        s.push_str(&encode_index(self.index));
        if !self.is_full() {
            s.push_str(".p/");
            s.push_str(&self.width.to_string());
        }
        s
    }

    /// Parses a tile path below the log prefix (`tile/...`), accepting only the canonical
    /// encoding: no leading zeros in the level or width, 3-digit elements, `x` on all but the last.
    pub fn parse(path: &str) -> Result<TileId, TilePathError> {
        let err = |reason| TilePathError {
            path: path.chars().take(200).collect(),
            reason,
        };
        let rest = path
            .strip_prefix("tile/")
            .ok_or_else(|| err("does not start with tile/"))?;
        let (kind_str, rest) = rest
            .split_once('/')
            .ok_or_else(|| err("missing tile index"))?;
        let kind = if kind_str == "entries" {
            TileKind::Entries
        } else {
            let level = parse_decimal(kind_str)
                .filter(|&l| l <= u64::from(MAX_TILE_LEVEL))
                .ok_or_else(|| err("level must be a decimal 0..63 without leading zeros"))?;
            TileKind::Hashes { level: level as u8 }
        };
        let (index_str, width) = match rest.split_once(".p/") {
            Some((idx, w)) => {
                let w = parse_decimal(w)
                    .filter(|&w| (1..TILE_WIDTH).contains(&w))
                    .ok_or_else(|| err("partial width must be a decimal 1..255"))?;
                (idx, w as u16)
            }
            None => (rest, TILE_WIDTH as u16),
        };
        let index = decode_index(index_str).ok_or_else(|| {
            err("index must be 3-digit elements, all but the last prefixed with x")
        })?;
        Ok(TileId { kind, index, width })
    }
}

impl fmt::Display for TileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 20 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    s.parse().ok()
}

fn encode_index(mut n: u64) -> String {
    let mut parts = vec![format!("{:03}", n % 1000)];
    n /= 1000;
    while n > 0 {
        parts.push(format!("x{:03}", n % 1000));
        n /= 1000;
    }
    parts.reverse();
    parts.join("/")
}

fn decode_index(s: &str) -> Option<u64> {
    let elems: Vec<&str> = s.split('/').collect();
    let mut n: u64 = 0;
    for (i, e) in elems.iter().enumerate() {
        let last = i == elems.len() - 1;
        let digits = if last { *e } else { e.strip_prefix('x')? };
        if digits.len() != 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // The first element of a multi-element index must not be zero (x000/...).
        if i == 0 && !last && digits == "000" {
            return None;
        }
        n = n
            .checked_mul(1000)?
            .checked_add(digits.parse::<u64>().ok()?)?;
    }
    Some(n)
}

/// Number of hashes at tile level `level` (tree level `8·level`) of a tree of `size` leaves:
/// `size >> 8·level`, and 0 once the shift reaches 64 bits (tile levels 8 and up of any tree,
/// which a plain `>>` would reject or wrap for trees of 2^56 leaves or more).
fn hashes_at_tile_level(size: u64, level: u32) -> u64 {
    size.checked_shr(TILE_HEIGHT * level).unwrap_or(0)
}

/// Width of the hash tile (`level`, `index`) in a tree of `size` leaves: 256 if full, the
/// partial width, or 0 if the tile does not exist at that size.
pub fn tile_width(level: u8, index: u64, size: u64) -> u16 {
    let shift = TILE_HEIGHT * u32::from(level);
    let hashes = if shift >= 64 { 0 } else { size >> shift };
    let start = index.saturating_mul(TILE_WIDTH);
    if hashes <= start {
        0
    } else {
        (hashes - start).min(TILE_WIDTH) as u16
    }
}

/// Every hash tile of a tree of `size` leaves (full ones and the right-edge partial ones), level
/// by level. The entry bundles are the level-0 tiles with [`TileKind::Entries`].
pub fn tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let hashes = hashes_at_tile_level(size, u32::from(level));
        if hashes == 0 {
            break;
        }
        for index in 0..hashes / TILE_WIDTH {
            out.push(TileId::hashes(level, index));
        }
        let w = hashes % TILE_WIDTH;
        if w > 0 {
            out.push(TileId {
                kind: TileKind::Hashes { level },
                index: hashes / TILE_WIDTH,
                width: w as u16,
            });
        }
        level += 1;
    }
    out
}

/// The partial (right-edge) hash tiles of a tree of `size` leaves, one per level that has one.
pub fn partial_tiles_for_size(size: u64) -> Vec<TileId> {
    let mut out = Vec::new();
    let mut level = 0u8;
    loop {
        let hashes = hashes_at_tile_level(size, u32::from(level));
        if hashes == 0 {
            break;
        }
        let w = hashes % TILE_WIDTH;
        if w > 0 {
            out.push(TileId {
                kind: TileKind::Hashes { level },
                index: hashes / TILE_WIDTH,
                width: w as u16,
            });
        }
        level += 1;
    }
    out
}

/// Splits the bytes of a hash tile into hashes.
pub fn tile_hashes(data: &[u8]) -> Option<Vec<Hash>> {
    if data.is_empty() || !data.len().is_multiple_of(HASH_SIZE) || data.len() > FULL_TILE_BYTES {
        return None;
    }
    Some(
        data.chunks_exact(HASH_SIZE)
            .filter_map(Hash::from_slice)
            .collect(),
    )
}

/// Serialises hashes as tile bytes.
pub fn tile_bytes(hashes: &[Hash]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hashes.len() * HASH_SIZE);
    for h in hashes {
        out.extend_from_slice(&h.0);
    }
    out
}

/// A hash tile with every complete interior node computed: `levels[r]` holds the nodes `r`
/// tree levels above the tile's base (so `levels[0]` are the tile's own hashes and
/// `levels[8][0]`, for a full tile, is the hash stored one tile level up).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TileNodes {
    levels: Vec<Vec<Hash>>,
}

impl TileNodes {
    /// Computes the interior nodes of a tile from its hashes (at most 256).
    pub fn new(hashes: Vec<Hash>) -> TileNodes {
        debug_assert!(hashes.len() as u64 <= TILE_WIDTH);
        let mut levels = Vec::with_capacity(TILE_HEIGHT as usize + 1);
        levels.push(hashes);
        for r in 1..=TILE_HEIGHT as usize {
            let below = &levels[r - 1];
            let next: Vec<Hash> = below
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(next);
        }
        TileNodes { levels }
    }

    /// The tile's own hashes.
    pub fn hashes(&self) -> &[Hash] {
        &self.levels[0]
    }

    /// Width of the tile.
    pub fn width(&self) -> usize {
        self.levels[0].len()
    }

    /// The Merkle root of a full tile (the hash that goes into the tile above).
    pub fn full_root(&self) -> Option<Hash> {
        self.levels[TILE_HEIGHT as usize].first().copied()
    }

    /// The interior node `r` levels above the base, `j`-th from the left.
    pub fn node(&self, r: u32, j: usize) -> Option<Hash> {
        self.levels.get(r as usize)?.get(j).copied()
    }

    /// The tile as bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        tile_bytes(self.hashes())
    }
}

/// A node was asked of a [`TileSet`] that does not hold it.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("tile {tile_level}/{tile_index} needed for node ({level}, {index}) is not available")]
pub struct MissingTile {
    /// Tile level that would hold the node.
    pub tile_level: u8,
    /// Tile index that would hold the node.
    pub tile_index: u64,
    /// Node level.
    pub level: u32,
    /// Node index.
    pub index: u64,
}

/// Where in the tiles the node `(level, index)` lives: tile level, tile index, interior
/// level within the tile and position within that interior level.
pub fn node_location(level: u32, index: u64) -> (u8, u64, u32, usize) {
    let tile_level = level / TILE_HEIGHT;
    let r = level % TILE_HEIGHT;
    let per_tile = TILE_HEIGHT - r; // log2 of nodes of this level per tile
    let tile_index = index >> per_tile;
    let j = (index & ((1u64 << per_tile) - 1)) as usize;
    (tile_level as u8, tile_index, r, j)
}

/// An in-memory set of hash tiles that answers node queries; used for the right edge of the
/// tree and for the tiles a batch touched.
#[derive(Clone, Debug, Default)]
pub struct TileSet {
    tiles: HashMap<(u8, u64), Arc<TileNodes>, foldhash::fast::RandomState>,
}

impl TileSet {
    /// An empty set.
    pub fn new() -> TileSet {
        TileSet::default()
    }

    /// Adds or replaces a tile (a wider version of a tile replaces a narrower one).
    pub fn insert(&mut self, level: u8, index: u64, tile: Arc<TileNodes>) {
        match self.tiles.get(&(level, index)) {
            Some(old) if old.width() >= tile.width() => {}
            _ => {
                self.tiles.insert((level, index), tile);
            }
        }
    }

    /// The tile at (`level`, `index`), if held.
    pub fn get(&self, level: u8, index: u64) -> Option<&Arc<TileNodes>> {
        self.tiles.get(&(level, index))
    }

    /// Iterates over the held tiles.
    pub fn iter(&self) -> impl Iterator<Item = (&(u8, u64), &Arc<TileNodes>)> {
        self.tiles.iter()
    }
}

impl NodeSource for TileSet {
    type Error = MissingTile;
    fn node(&self, level: u32, index: u64) -> Result<Hash, MissingTile> {
        let (tile_level, tile_index, r, j) = node_location(level, index);
        self.tiles
            .get(&(tile_level, tile_index))
            .and_then(|t| t.node(r, j))
            .ok_or(MissingTile {
                tile_level,
                tile_index,
                level,
                index,
            })
    }
}

/// Tiles the tree has to (re)write after appending leaves: every tile that became full and
/// every right-edge partial tile whose content changed.
#[derive(Clone, Debug, Default)]
pub struct TouchedTiles {
    /// (tile level, tile index, tile with its interior nodes), in the order they were finished.
    pub tiles: Vec<(u8, u64, Arc<TileNodes>)>,
}

/// The right edge of a tiled tree: the partial tile at every level. This is all the state
/// needed to append leaves, compute the root, and prove inclusion of the newest leaves.
#[derive(Clone, Debug)]
pub struct TreeEdge {
    size: u64,
    /// `partial[L]` holds the hashes of the partial tile at level `L` (fewer than 256).
    partial: Vec<Vec<Hash>>,
}

/// The stored right-edge tiles do not describe a tree of the claimed size.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("right-edge tile at level {level} has width {got}, a tree of size {size} needs {expected}")]
pub struct EdgeMismatch {
    /// Tree size claimed.
    pub size: u64,
    /// Level of the offending tile.
    pub level: u8,
    /// Width expected from the size.
    pub expected: usize,
    /// Width found.
    pub got: usize,
}

impl TreeEdge {
    /// The empty tree.
    pub fn empty() -> TreeEdge {
        TreeEdge {
            size: 0,
            partial: Vec::new(),
        }
    }

    /// Rebuilds the edge of a tree of `size` leaves from its partial tiles (level by level,
    /// as returned by [`partial_tiles_for_size`]; a level with no partial tile is empty).
    pub fn from_partial_tiles(
        size: u64,
        partial: Vec<Vec<Hash>>,
    ) -> Result<TreeEdge, EdgeMismatch> {
        let mut partial = partial;
        let mut level = 0u8;
        loop {
            let hashes = hashes_at_tile_level(size, u32::from(level));
            let expected = (hashes % TILE_WIDTH) as usize;
            let got = partial.get(level as usize).map_or(0, Vec::len);
            if expected != got {
                return Err(EdgeMismatch {
                    size,
                    level,
                    expected,
                    got,
                });
            }
            if hashes == 0 {
                if partial.len() > level as usize + 1 {
                    let got = partial[level as usize + 1].len();
                    return Err(EdgeMismatch {
                        size,
                        level: level + 1,
                        expected: 0,
                        got,
                    });
                }
                break;
            }
            level += 1;
        }
        partial.truncate(level as usize);
        Ok(TreeEdge { size, partial })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The partial tiles, level by level (some may be empty).
    pub fn partial_tiles(&self) -> &[Vec<Hash>] {
        &self.partial
    }

    /// The edge as a node source (partial tiles with their interior nodes).
    pub fn tile_set(&self) -> TileSet {
        let mut set = TileSet::new();
        for (level, hashes) in self.partial.iter().enumerate() {
            if hashes.is_empty() {
                continue;
            }
            let index = hashes_at_tile_level(self.size, level as u32 + 1);
            set.insert(level as u8, index, Arc::new(TileNodes::new(hashes.clone())));
        }
        set
    }

    /// The root hash of the tree.
    pub fn root(&self) -> Hash {
        // Every node of the tree's compact range lies in a right-edge partial tile.
        range_hash(&self.tile_set(), 0, self.size)
            .unwrap_or_else(|_| unreachable!("the right edge holds the whole compact range"))
    }

    /// Appends leaf hashes; returns every tile that became full and, at the end, the new
    /// partial tiles of every level whose content changed. The returned set together with
    /// [`TreeEdge::tile_set`] answers every node needed to prove the new leaves.
    pub fn append(&mut self, leaves: &[Hash]) -> TouchedTiles {
        let mut touched = TouchedTiles::default();
        let mut changed: Vec<bool> = vec![false; self.partial.len()];
        for leaf in leaves {
            let mut carry = *leaf;
            let mut level = 0usize;
            let mut position = self.size; // index of `carry` at this level
            loop {
                if self.partial.len() <= level {
                    self.partial.push(Vec::with_capacity(TILE_WIDTH as usize));
                    changed.push(false);
                }
                self.partial[level].push(carry);
                changed[level] = true;
                if self.partial[level].len() as u64 == TILE_WIDTH {
                    let full = std::mem::take(&mut self.partial[level]);
                    let nodes = Arc::new(TileNodes::new(full));
                    let root = nodes.full_root().unwrap_or_else(|| unreachable!());
                    touched
                        .tiles
                        .push((level as u8, position / TILE_WIDTH, nodes));
                    changed[level] = false;
                    carry = root;
                    position /= TILE_WIDTH;
                    level += 1;
                } else {
                    break;
                }
            }
            self.size += 1;
        }
        for (level, was_changed) in changed.into_iter().enumerate() {
            if was_changed && !self.partial[level].is_empty() {
                let index = hashes_at_tile_level(self.size, level as u32 + 1);
                touched.tiles.push((
                    level as u8,
                    index,
                    Arc::new(TileNodes::new(self.partial[level].clone())),
                ));
            }
        }
        touched
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{leaf_hash, root_of_leaves};
    use crate::tree::{LeafHashes, inclusion_proof, verify_inclusion};

    #[test]
    fn paths_follow_the_spec_examples() {
        assert_eq!(TileId::hashes(0, 1234067).path(), "tile/0/x001/x234/067");
        assert_eq!(TileId::hashes(2, 0).path(), "tile/2/000");
        let p = TileId {
            kind: TileKind::Entries,
            index: 1000,
            width: 5,
        };
        assert_eq!(p.path(), "tile/entries/x001/000.p/5");
        for path in [
            "tile/0/x001/x234/067",
            "tile/entries/x001/000.p/5",
            "tile/63/000",
            "tile/1/999.p/255",
        ] {
            assert_eq!(TileId::parse(path).unwrap().path(), path);
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for bad in [
            "tile/0/1",
            "tile/00/000",
            "tile/64/000",
            "tile/0/x000/001",
            "tile/0/001/002",
            "tile/0/x1/002",
            "tile/0/000.p/0",
            "tile/0/000.p/256",
            "tile/0/000.p/05",
            "tile/0/000.p/",
            "tile/0/",
            "tile/entries",
            "tiles/0/000",
            "tile/-1/000",
            "tile/0/x018/x446/x744/x073/x709/x551/616",
        ] {
            assert!(TileId::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn tiles_for_size_matches_the_spec_example() {
        // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one partial
        // level 0 tile of width 112, one full level 1 tile, one partial level 1 tile of width 17,
        // and one partial level 2 tile of width 1."
        let tiles = tiles_for_size(70_000);
        let full0 = tiles
            .iter()
            .filter(|t| t.kind == TileKind::Hashes { level: 0 } && t.is_full())
            .count();
        assert_eq!(full0, 273);
        let partial: Vec<String> = partial_tiles_for_size(70_000)
            .iter()
            .map(TileId::path)
            .collect();
        assert_eq!(
            partial,
            ["tile/0/273.p/112", "tile/1/001.p/17", "tile/2/000.p/1"]
        );
        assert_eq!(tiles.len(), 273 + 1 + 1 + 1 + 1);
        // "a tree of size 256 will be represented by a full level 0 tile and a partial level 1
        // tile of width 1."
        let t: Vec<String> = tiles_for_size(256).iter().map(TileId::path).collect();
        assert_eq!(t, ["tile/0/000", "tile/1/000.p/1"]);
        assert!(tiles_for_size(0).is_empty());
        assert_eq!(tile_width(0, 273, 70_000), 112);
        assert_eq!(tile_width(0, 272, 70_000), 256);
        assert_eq!(tile_width(0, 274, 70_000), 0);
        assert_eq!(tile_width(2, 0, 70_000), 1);
        assert_eq!(tile_width(3, 0, 70_000), 0);
    }

    #[test]
    fn edge_grows_like_the_naive_tree() {
        let leaves: Vec<Hash> = (0..70_000u64)
            .map(|i| leaf_hash(&i.to_le_bytes()))
            .collect();
        let mut edge = TreeEdge::empty();
        let mut all_tiles = TileSet::new();
        let mut done = 0usize;
        for chunk in [1usize, 2, 253, 256, 1000, 65_536, 2952] {
            let touched = edge.append(&leaves[done..done + chunk]);
            done += chunk;
            for (l, i, t) in touched.tiles {
                all_tiles.insert(l, i, t);
            }
            assert_eq!(edge.size(), done as u64);
            assert_eq!(edge.root(), root_of_leaves(&leaves[..done]), "size {done}");
            // The edge can be rebuilt from its own partial tiles.
            let again =
                TreeEdge::from_partial_tiles(edge.size(), edge.partial_tiles().to_vec()).unwrap();
            assert_eq!(again.root(), edge.root());
        }
        assert_eq!(done, 70_000);
        // Proofs from the accumulated tiles match proofs from the leaves.
        let naive = LeafHashes(&leaves);
        let root = edge.root();
        for index in [0u64, 1, 255, 256, 65_535, 65_536, 69_999] {
            let p = inclusion_proof(&all_tiles, index, 70_000).unwrap();
            assert_eq!(p, inclusion_proof(&naive, index, 70_000).unwrap());
            verify_inclusion(&leaves[index as usize], index, 70_000, &p, &root).unwrap();
        }
    }

    #[test]
    fn edge_with_wrong_widths_is_refused() {
        let h = leaf_hash(b"");
        assert!(TreeEdge::from_partial_tiles(3, vec![vec![h; 2]]).is_err());
        assert!(TreeEdge::from_partial_tiles(3, vec![vec![h; 3], vec![h]]).is_err());
        assert!(TreeEdge::from_partial_tiles(256, vec![vec![], vec![h]]).is_ok());
        assert!(TreeEdge::from_partial_tiles(0, vec![]).is_ok());
    }
}
