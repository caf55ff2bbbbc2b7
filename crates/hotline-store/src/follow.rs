//! Following a log that another process sequences: a frontend that does not hold the sequencer
//! lease keeps its [`LogView`] (snapshot, leaf index) and, through a callback, its domain state
//! in step with what the sequencer commits to the shared database.
//!
//! A follower trusts the database no more than a sequencer recovering from it does. It starts
//! with the sequencer's own start-up checks ([`crate::sequencer::recover_following`]: the latest
//! checkpoint verifies under the log key, every stored tile matches the level-0 tiles, the
//! right edge gives the checkpoint's root) and then, at every [`LogFollower::step`]:
//!
//! - the new latest checkpoint must verify under the log key and name the log's origin, and
//!   never be smaller than the one followed (a database restored from a backup is refused,
//!   not followed backwards), nor another checkpoint for the same size;
//! - the new entries, read from the entry bundles, are hashed and appended to the in-memory
//!   right edge of the tree followed so far; the root this gives must be the signed root, so
//!   every new entry is bound to the signature and the new tree extends the old one;
//! - every tile the new entries complete or extend must be stored as computed (or as a wider
//!   version of it), so the tiles and proofs the frontend serves are the ones the signed root
//!   covers.
//!
//! Only then are the entries handed to the callback (in log order, each exactly once), the
//! leaves indexed and the new snapshot published. A step that finds anything wrong changes
//! nothing and returns [`StoreError::Corrupt`]. A large gap is followed in steps of at most
//! [`MAX_STEP_ENTRIES`] entries, each up to a checkpoint the log signed.

use std::sync::Arc;

use hotline_tlog::bundle::{bundle_prefix_len, decode_bundle};
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tile::{TILE_WIDTH, TreeEdge};
use hotline_tlog::{Ed25519Verifier, Hash, Note, leaf_hash};

use crate::error::{Result, StoreError};
use crate::reader::{LogSnapshot, LogView, SignedCheckpoint};
use crate::{LogReader, StoredCheckpoint};

/// Most entries one [`LogFollower::step`] reads and applies.
pub const MAX_STEP_ENTRIES: u64 = 16_384;

/// What one step followed: the tree grew from `old` to `new` entries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Followed {
    /// Size before the step.
    pub old: u64,
    /// Size after it (the signed checkpoint now published).
    pub new: u64,
}

/// Keeps a [`LogView`] in step with a log another process sequences (see the module docs).
pub struct LogFollower {
    view: Arc<LogView>,
    verifier: Ed25519Verifier,
    edge: TreeEdge,
    /// The partial entry bundle as far as it was read, so that the next step reads only what
    /// was appended to it.
    tail: Option<BundleTail>,
}

/// A partial entry bundle as far as a follower read it: (index, bytes of the entries followed).
type BundleTail = (u64, Vec<u8>);

impl LogFollower {
    /// Checks the stored log as the sequencer's start-up does, publishes its latest checkpoint
    /// to `view` and rebuilds the view's leaf index; the follower then stands at that size.
    pub fn start(view: Arc<LogView>, verifier: Ed25519Verifier) -> Result<LogFollower> {
        let state = crate::sequencer::recover_following(&view, &verifier)?;
        Ok(LogFollower {
            view,
            verifier,
            edge: state.edge,
            tail: None,
        })
    }

    /// The size of the tree followed (and published to the view).
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// The view this follower publishes to.
    pub fn view(&self) -> &Arc<LogView> {
        &self.view
    }

    /// Follows the log to its latest stored checkpoint (or [`MAX_STEP_ENTRIES`] towards it),
    /// checking it (module docs). `apply(index, entry)` is called for every new entry, in
    /// order, before the new snapshot is published; an error from it ends the step (the
    /// entries before it were applied, the snapshot is not published: the caller must treat
    /// its own state as broken). Returns `None` when the log has not grown.
    pub fn step(
        &mut self,
        mut apply: impl FnMut(u64, &[u8]) -> Result<()>,
    ) -> Result<Option<Followed>> {
        let reader = self.view.reader().clone();
        let Some(latest) = reader.latest_checkpoint()? else {
            return Ok(None);
        };
        let old = self.edge.size();
        if latest.size < old {
            return Err(StoreError::Corrupt(format!(
                "the database's latest checkpoint has size {}, smaller than the {old} entries \
                 this frontend already follows: the log was rolled back (a restored backup?); \
                 refusing to follow it",
                latest.size
            )));
        }
        if latest.size == old {
            let held = self.view.snapshot();
            if let Some(cp) = &held.checkpoint
                && cp.note != latest.note
            {
                return Err(StoreError::Corrupt(format!(
                    "the database holds another checkpoint for size {old} than the one this \
                     frontend follows: the log was replaced; refusing to follow it"
                )));
            }
            return Ok(None);
        }
        let target = if latest.size - old > MAX_STEP_ENTRIES {
            intermediate(&*reader, old)?.unwrap_or(latest)
        } else {
            latest
        };
        let cp = self.check_checkpoint(&*reader, &target)?;
        let new = cp.size();
        let (entries, tail) = read_entries(&*reader, old, new, self.tail.take())?;
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let mut edge = self.edge.clone();
        let touched = edge.append(&leaves);
        if edge.root() != cp.checkpoint.root {
            return Err(StoreError::Corrupt(format!(
                "entries {old}..{new} do not hash to the root of the signed checkpoint for size \
                 {new}: the entry bundles in the database are not the ones the log signed"
            )));
        }
        for (level, index, nodes) in &touched.tiles {
            let want = nodes.to_bytes();
            let path = hotline_tlog::tile::TileId::hashes(*level, *index).path();
            let stored = reader.tile(*level, *index)?.ok_or_else(|| {
                StoreError::Corrupt(format!("{path} is missing for tree size {new}"))
            })?;
            if !stored.starts_with(&want) {
                return Err(StoreError::Corrupt(format!(
                    "{path} in the database does not match the entries it covers (tree size \
                     {new})"
                )));
            }
        }
        let mut tiles = edge.tile_set();
        for (level, index, nodes) in touched.tiles {
            tiles.insert(level, index, nodes);
        }
        let snap = Arc::new(LogSnapshot::new(Some(Arc::new(cp)), tiles)?);
        {
            let mut index = self.view.leaf_index_mut();
            index.reserve(leaves.len());
            for (k, leaf) in leaves.iter().enumerate() {
                index.insert(leaf, old + k as u64);
            }
        }
        for (k, entry) in entries.iter().enumerate() {
            apply(old + k as u64, entry)?;
        }
        self.view.publish(snap);
        self.edge = edge;
        self.tail = tail;
        Ok(Some(Followed { old, new }))
    }

    /// The stored checkpoint, verified under the log key and naming the log's origin.
    fn check_checkpoint(
        &self,
        reader: &dyn LogReader,
        stored: &StoredCheckpoint,
    ) -> Result<SignedCheckpoint> {
        let size = stored.size;
        let note = Note::parse(&stored.note)
            .map_err(|e| StoreError::Corrupt(format!("checkpoint for size {size}: {e}")))?;
        note.verify(&[&self.verifier as &dyn NoteVerifier])
            .map_err(|e| StoreError::Corrupt(format!("checkpoint for size {size}: {e}")))?;
        let cp = SignedCheckpoint::from_stored(stored)?;
        if cp.checkpoint.origin != reader.origin() {
            return Err(StoreError::Corrupt(format!(
                "checkpoint for size {size} names origin {:?}, the log's origin is {:?}",
                cp.checkpoint.origin,
                reader.origin()
            )));
        }
        Ok(cp)
    }
}

/// The largest stored checkpoint at most [`MAX_STEP_ENTRIES`] beyond `old` (or the first one
/// after `old` if even that is further).
fn intermediate(reader: &dyn LogReader, old: u64) -> Result<Option<StoredCheckpoint>> {
    let page = reader.checkpoints_after(old, 4096)?;
    let mut best = None;
    for cp in page {
        if cp.size > old + MAX_STEP_ENTRIES && best.is_some() {
            break;
        }
        best = Some(cp);
    }
    Ok(best)
}

/// Entries `old..new`, read from the entry bundles (the last one may be stored wider), and the
/// bytes of the partial bundle at `new` for the next step. `tail` is what an earlier step read
/// of the bundle holding entry `old`: only what follows it is read.
fn read_entries(
    reader: &dyn LogReader,
    old: u64,
    new: u64,
    tail: Option<BundleTail>,
) -> Result<(Vec<Vec<u8>>, Option<BundleTail>)> {
    let mut entries = Vec::with_capacity(usize::try_from(new - old).unwrap_or(0));
    let mut next_tail = None;
    let mut bundle = old / TILE_WIDTH;
    let mut tail = tail.filter(|(i, _)| *i == bundle);
    while bundle * TILE_WIDTH < new {
        let missing = || {
            StoreError::Corrupt(format!(
                "entry bundle {bundle} is missing for tree size {new}"
            ))
        };
        let data = match tail.take() {
            Some((_, mut head)) => {
                let rest = reader
                    .bundle_tail(bundle, head.len())?
                    .ok_or_else(missing)?;
                head.extend_from_slice(&rest);
                head
            }
            None => reader.bundle(bundle)?.ok_or_else(missing)?,
        };
        let decoded = decode_bundle(&data)
            .map_err(|e| StoreError::Corrupt(format!("entry bundle {bundle}: {e}")))?;
        let first = bundle * TILE_WIDTH;
        entries.extend(
            decoded
                .iter()
                .enumerate()
                .filter(|(k, _)| (old..new).contains(&(first + *k as u64)))
                .map(|(_, e)| e.to_vec()),
        );
        let width = usize::try_from((new - first).min(TILE_WIDTH)).unwrap_or(0);
        if (width as u64) < TILE_WIDTH
            && let Some(n) = bundle_prefix_len(&data, width)
        {
            next_tail = Some((bundle, data[..n].to_vec()));
        }
        bundle += 1;
    }
    if entries.len() as u64 != new - old {
        return Err(StoreError::Corrupt(format!(
            "the entry bundles hold {} of entries {old}..{new}",
            entries.len()
        )));
    }
    Ok((entries, next_tail))
}
