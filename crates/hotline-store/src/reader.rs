//! The read side used by servers and by the sequencer: the latest published snapshot, node
//! hashes for proofs (right edge from memory, full tiles from a cache or the store), and tile
//! resources cut to the width a client asked for.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use hotline_tlog::bundle::bundle_prefix_len;
use hotline_tlog::tile::{
    TILE_HEIGHT, TILE_WIDTH, TileId, TileKind, TileNodes, TileSet, node_location, tile_hashes,
    tile_width,
};
use hotline_tlog::tree::{self, NodeSource, ProofError};
use hotline_tlog::{Checkpoint, Hash, Note};

use crate::error::{Result, StoreError};
use crate::leaf_index::LeafIndex;
use crate::{LogReader, StoredCheckpoint};

/// A checkpoint the log signed, parsed, with its note bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// The checkpoint body.
    pub checkpoint: Checkpoint,
    /// The signed note exactly as published.
    pub note: Vec<u8>,
    /// When it was signed, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

impl SignedCheckpoint {
    /// Parses a stored checkpoint (signature checks are the caller's business).
    pub fn from_stored(stored: &StoredCheckpoint) -> Result<SignedCheckpoint> {
        let note = Note::parse(&stored.note).map_err(|e| {
            StoreError::Corrupt(format!("checkpoint for size {}: {e}", stored.size))
        })?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(|e| {
            StoreError::Corrupt(format!("checkpoint for size {}: {e}", stored.size))
        })?;
        if checkpoint.size != stored.size {
            return Err(StoreError::Corrupt(format!(
                "checkpoint row for size {} holds a checkpoint of size {}",
                stored.size, checkpoint.size
            )));
        }
        Ok(SignedCheckpoint {
            checkpoint,
            note: stored.note.clone(),
            created_ms: stored.created_ms,
        })
    }

    /// Tree size.
    pub fn size(&self) -> u64 {
        self.checkpoint.size
    }
}

/// A committed state of the log: its checkpoint and the tiles needed to prove anything near
/// its right edge (every partial tile at that size, and the tiles the last batch touched).
#[derive(Clone, Debug)]
pub struct LogSnapshot {
    /// The signed checkpoint; `None` for a log with no batch yet.
    pub checkpoint: Option<Arc<SignedCheckpoint>>,
    /// Right-edge tiles at that size (and possibly recently completed ones).
    pub tiles: TileSet,
    /// Hashes of the right-edge ranges `start..size`, so proofs need no hashing.
    right_edge: Vec<(u64, Hash)>,
}

impl LogSnapshot {
    /// A snapshot of the tree `checkpoint` describes, with `tiles` holding at least its
    /// right-edge partial tiles. Fails if a right-edge node is missing.
    pub fn new(checkpoint: Option<Arc<SignedCheckpoint>>, tiles: TileSet) -> Result<LogSnapshot> {
        let size = checkpoint.as_ref().map_or(0, |c| c.size());
        let right_edge = tree::right_edge_ranges(&tiles, size).map_err(|e| {
            StoreError::Corrupt(format!("right edge of the tree of size {size}: {e}"))
        })?;
        Ok(LogSnapshot {
            checkpoint,
            tiles,
            right_edge,
        })
    }

    /// The root hash of the snapshot's tree.
    pub fn root(&self) -> Hash {
        self.right_edge
            .first()
            .map_or_else(Hash::empty_root, |(_, h)| *h)
    }

    /// Tree size of the snapshot.
    pub fn size(&self) -> u64 {
        self.checkpoint.as_ref().map_or(0, |c| c.size())
    }
}

/// Why a tile resource was not served.
#[derive(Debug, thiserror::Error)]
pub enum TileReadError {
    /// The tile does not exist at the published tree size (or not at that width).
    #[error("{0} does not exist in the tree of size {1}")]
    NotFound(String, u64),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Bounded cache of full tiles with their interior nodes. Full tiles never change.
#[derive(Debug)]
struct FullTileCache {
    map: Mutex<HashMap<(u8, u64), Arc<TileNodes>>>,
    capacity: usize,
}

impl FullTileCache {
    fn get(&self, key: (u8, u64)) -> Option<Arc<TileNodes>> {
        self.map.lock().ok()?.get(&key).cloned()
    }

    fn put(&self, key: (u8, u64), tile: Arc<TileNodes>) {
        if let Ok(mut m) = self.map.lock() {
            if m.len() >= self.capacity {
                // Cheap eviction: drop an arbitrary half. Upper levels are re-read rarely.
                let drop: Vec<_> = m.keys().step_by(2).copied().collect();
                for k in drop {
                    m.remove(&k);
                }
            }
            m.insert(key, tile);
        }
    }
}

/// Read access to the log for servers: snapshot, proofs and tiles.
pub struct LogView {
    reader: Arc<dyn LogReader>,
    snapshot: RwLock<Arc<LogSnapshot>>,
    cache: FullTileCache,
    leaves: RwLock<LeafIndex>,
}

impl LogView {
    /// A view over `reader`, starting from its latest stored checkpoint.
    pub fn new(reader: Arc<dyn LogReader>) -> Result<LogView> {
        let view = LogView {
            reader,
            snapshot: RwLock::new(Arc::new(LogSnapshot::new(None, TileSet::new())?)),
            cache: FullTileCache {
                map: Mutex::new(HashMap::new()),
                capacity: 4096,
            },
            leaves: RwLock::new(LeafIndex::new()),
        };
        view.refresh()?;
        Ok(view)
    }

    /// The underlying store.
    pub fn reader(&self) -> &Arc<dyn LogReader> {
        &self.reader
    }

    /// Reloads the latest checkpoint and its edge tiles from the store (used at start-up and by
    /// processes that do not sequence themselves).
    pub fn refresh(&self) -> Result<Arc<LogSnapshot>> {
        let Some(stored) = self.reader.latest_checkpoint()? else {
            return Ok(self.snapshot());
        };
        if stored.size == self.snapshot().size() {
            return Ok(self.snapshot());
        }
        let cp = SignedCheckpoint::from_stored(&stored)?;
        let tiles = self.edge_tiles(cp.size())?;
        let snap = Arc::new(LogSnapshot::new(Some(Arc::new(cp)), tiles)?);
        self.publish(snap.clone());
        Ok(snap)
    }

    /// Reads the right-edge partial tiles of a tree of `size` from the store.
    pub fn edge_tiles(&self, size: u64) -> Result<TileSet> {
        let mut set = TileSet::new();
        for id in hotline_tlog::tile::partial_tiles_for_size(size) {
            let TileKind::Hashes { level } = id.kind else {
                continue;
            };
            let data = self.reader.tile(level, id.index)?.ok_or_else(|| {
                StoreError::Corrupt(format!("{} is missing for tree size {size}", id.path()))
            })?;
            let hashes = tile_hashes(&data)
                .filter(|h| h.len() >= usize::from(id.width))
                .ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "{} holds {} bytes, fewer than the {} hashes tree size {size} needs",
                        id.path(),
                        data.len(),
                        id.width
                    ))
                })?;
            set.insert(
                level,
                id.index,
                Arc::new(TileNodes::new(hashes[..usize::from(id.width)].to_vec())),
            );
        }
        Ok(set)
    }

    /// The latest published snapshot.
    pub fn snapshot(&self) -> Arc<LogSnapshot> {
        match self.snapshot.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Publishes a newer snapshot (called by the sequencer after each durable commit). An
    /// older snapshot never replaces a newer one.
    pub fn publish(&self, snap: Arc<LogSnapshot>) {
        let mut guard = match self.snapshot.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        if snap.size() >= guard.size() {
            *guard = snap;
        }
    }

    /// Replaces the leaf index (after it was rebuilt from the level-0 tiles).
    pub fn install_leaf_index(&self, index: LeafIndex) {
        match self.leaves.write() {
            Ok(mut g) => *g = index,
            Err(poisoned) => *poisoned.into_inner() = index,
        }
    }

    /// Write access to the leaf index, for the sequencer. It may record leaves before they are
    /// durable: readers only accept an index below the size of the snapshot they hold.
    pub fn leaf_index_mut(&self) -> std::sync::RwLockWriteGuard<'_, LeafIndex> {
        match self.leaves.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The index of the entry with leaf hash `leaf` in the snapshot's tree, if it is there.
    pub fn find_leaf(&self, snap: &LogSnapshot, leaf: &Hash) -> Result<Option<u64>> {
        let candidates: Vec<u64> = {
            let g = match self.leaves.read() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            g.candidates(leaf).collect()
        };
        for c in candidates {
            if c < snap.size() && self.leaf_hash(snap, c)? == *leaf {
                return Ok(Some(c));
            }
        }
        Ok(None)
    }

    /// A node source for proofs in the tree of `snap`.
    pub fn nodes<'a>(&'a self, snap: &'a LogSnapshot) -> ViewNodes<'a> {
        ViewNodes {
            view: self,
            snap,
            last: std::cell::Cell::new(None),
            memory_only: None,
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size` (at most the snapshot's size)
    /// if every node it needs is in memory (the snapshot or the tile cache), without touching
    /// storage; `None` if some node would have to be read, or on any error (the caller then
    /// uses [`LogView::inclusion_proof`] where blocking is allowed, which reports errors).
    ///
    /// This is what lets a server answer a fresh append from an async task: the proof of an
    /// entry of the last batches lies in the right-edge tiles of the snapshot that contains it.
    pub fn inclusion_proof_in_memory(
        &self,
        snap: &LogSnapshot,
        index: u64,
        size: u64,
    ) -> Option<Vec<Hash>> {
        if size > snap.size() {
            return None;
        }
        let nodes = ViewNodes {
            view: self,
            snap,
            last: std::cell::Cell::new(None),
            memory_only: Some(std::cell::Cell::new(false)),
        };
        let proof = tree::inclusion_proof(&nodes, index, size).ok()?;
        Some(proof)
    }

    fn full_tile(&self, level: u8, index: u64) -> Result<Arc<TileNodes>> {
        if let Some(t) = self.cache.get((level, index)) {
            return Ok(t);
        }
        let id = TileId::hashes(level, index);
        let data = self
            .reader
            .tile(level, index)?
            .ok_or_else(|| StoreError::Corrupt(format!("{} is missing", id.path())))?;
        let hashes = tile_hashes(&data)
            .filter(|h| h.len() as u64 == TILE_WIDTH)
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "{} should be full but holds {} bytes",
                    id.path(),
                    data.len()
                ))
            })?;
        let t = Arc::new(TileNodes::new(hashes));
        self.cache.put((level, index), t.clone());
        Ok(t)
    }

    /// Inclusion proof for leaf `index` in the tree of `size` (at most the snapshot's size).
    pub fn inclusion_proof(
        &self,
        snap: &LogSnapshot,
        index: u64,
        size: u64,
    ) -> std::result::Result<Vec<Hash>, ProofError<StoreError>> {
        if size > snap.size() {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                size: snap.size(),
            });
        }
        tree::inclusion_proof(&self.nodes(snap), index, size)
    }

    /// Consistency proof between sizes `old` and `new` (at most the snapshot's size).
    pub fn consistency_proof(
        &self,
        snap: &LogSnapshot,
        old: u64,
        new: u64,
    ) -> std::result::Result<Vec<Hash>, ProofError<StoreError>> {
        if new > snap.size() {
            return Err(ProofError::SizesOutOfOrder {
                old: new,
                new: snap.size(),
            });
        }
        tree::consistency_proof(&self.nodes(snap), old, new)
    }

    /// The leaf hash at `index` in the snapshot's tree.
    pub fn leaf_hash(&self, snap: &LogSnapshot, index: u64) -> Result<Hash> {
        self.nodes(snap).node(0, index)
    }

    /// Calls `f(index, entry)` for every entry with index in `from..to` (at most the
    /// snapshot's size), in order, reading whole bundles.
    pub fn for_each_entry(
        &self,
        snap: &LogSnapshot,
        from: u64,
        to: u64,
        mut f: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<()> {
        let to = to.min(snap.size());
        let mut index = from;
        while index < to {
            let bundle_index = index / TILE_WIDTH;
            let data = self.reader.bundle(bundle_index)?.ok_or_else(|| {
                StoreError::Corrupt(format!("entry bundle {bundle_index} is missing"))
            })?;
            let entries = hotline_tlog::bundle::decode_bundle(&data)
                .map_err(|e| StoreError::Corrupt(format!("entry bundle {bundle_index}: {e}")))?;
            let first = bundle_index * TILE_WIDTH;
            for (k, e) in entries.iter().enumerate() {
                let i = first + k as u64;
                if i >= index && i < to {
                    f(i, e)?;
                }
            }
            index = first + TILE_WIDTH;
        }
        Ok(())
    }

    /// The bytes of a hash tile or entry bundle, cut to the requested width, if it exists in
    /// the snapshot's tree.
    pub fn tile_resource(
        &self,
        snap: &LogSnapshot,
        id: &TileId,
    ) -> std::result::Result<Vec<u8>, TileReadError> {
        let size = snap.size();
        let not_found = || TileReadError::NotFound(id.path(), size);
        let level = match id.kind {
            TileKind::Hashes { level } => level,
            TileKind::Entries => 0,
        };
        let available = tile_width(level, id.index, size);
        if available == 0 || id.width > available {
            return Err(not_found());
        }
        let want = usize::from(id.width);
        match id.kind {
            TileKind::Hashes { level } => {
                if id.is_full()
                    && let Some(t) = self.cache.get((level, id.index))
                {
                    return Ok(t.to_bytes());
                }
                let data = self.reader.tile(level, id.index)?.ok_or_else(not_found)?;
                let n = want * hotline_tlog::hash::HASH_SIZE;
                if data.len() < n {
                    return Err(StoreError::Corrupt(format!(
                        "{} holds {} bytes, fewer than the {n} a tree of size {size} needs",
                        id.path(),
                        data.len()
                    ))
                    .into());
                }
                Ok(data[..n].to_vec())
            }
            TileKind::Entries => {
                let data = self.reader.bundle(id.index)?.ok_or_else(not_found)?;
                let n = bundle_prefix_len(&data, want).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "entry bundle {} holds fewer than {want} entries or is malformed",
                        id.index
                    ))
                })?;
                let mut data = data;
                data.truncate(n);
                Ok(data)
            }
        }
    }
}

/// Node hashes for proofs: right-edge and recently touched tiles from the snapshot, full tiles
/// from the cache or the store.
pub struct ViewNodes<'a> {
    view: &'a LogView,
    snap: &'a LogSnapshot,
    /// The snapshot tile used last: a proof asks for up to eight nodes of one tile in a row.
    last: std::cell::Cell<Option<(u8, u64, &'a TileNodes)>>,
    /// `Some` when storage must not be read: set to `true` when a node was not in memory.
    memory_only: Option<std::cell::Cell<bool>>,
}

impl<'a> NodeSource for ViewNodes<'a> {
    type Error = StoreError;

    fn cached_range(&self, lo: u64, hi: u64) -> Option<Hash> {
        if hi != self.snap.size() {
            return None;
        }
        let edge = &self.snap.right_edge;
        edge.binary_search_by_key(&lo, |(start, _)| *start)
            .ok()
            .map(|i| edge[i].1)
    }

    fn node(&self, level: u32, index: u64) -> Result<Hash> {
        let (tile_level, tile_index, r, j) = node_location(level, index);
        let tile = match self.last.get() {
            Some((l, i, t)) if (l, i) == (tile_level, tile_index) => Some(t),
            _ => {
                let snap: &'a LogSnapshot = self.snap;
                let t = snap.tiles.get(tile_level, tile_index).map(|t| &**t);
                if let Some(t) = t {
                    self.last.set(Some((tile_level, tile_index, t)));
                }
                t
            }
        };
        if let Some(h) = tile.and_then(|t| t.node(r, j)) {
            return Ok(h);
        }
        // Outside the edge the node must lie in a full tile.
        let size = self.snap.size();
        if end_of(index, level) > u128::from(size) {
            return Err(StoreError::Corrupt(format!(
                "node ({level}, {index}) is not complete in the tree of size {size}"
            )));
        }
        if end_of(tile_index, TILE_HEIGHT * (u32::from(tile_level) + 1)) > u128::from(size) {
            return Err(StoreError::Corrupt(format!(
                "right-edge tile {tile_level}/{tile_index} is missing from the snapshot"
            )));
        }
        let t = match &self.memory_only {
            None => self.view.full_tile(tile_level, tile_index)?,
            Some(missed) => match self.view.cache.get((tile_level, tile_index)) {
                Some(t) => t,
                None => {
                    missed.set(true);
                    return Err(StoreError::Corrupt(format!(
                        "tile {tile_level}/{tile_index} is not in memory"
                    )));
                }
            },
        };
        t.node(r, j).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "tile {tile_level}/{tile_index} lacks node ({level}, {index})"
            ))
        })
    }
}

/// The leaf index just past the subtree `index` at `level` (`(index + 1) · 2^level`), without
/// overflow.
fn end_of(index: u64, level: u32) -> u128 {
    if level >= 64 {
        u128::MAX
    } else {
        (u128::from(index) + 1) << level
    }
}
