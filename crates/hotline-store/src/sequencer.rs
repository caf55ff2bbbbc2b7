//! The sequencer: the single writer that turns queued entries into durable, signed log state.
//!
//! Write path for one batch (see ARCHITECTURE.md for what a crash leaves at each step):
//!
//! 1. Collect queued entries: stop at `batch_size` entries, at `batch_age` after the first one,
//!    or as soon as the queue is empty while no earlier batch is still being written or synced
//!    (group commit: a lone entry is not held back, and under load batches grow by themselves).
//! 2. Drop entries already in the log or earlier in the batch; they get the existing index.
//! 3. Append the new leaf hashes to the in-memory right edge; build the tiles and entry bundles
//!    they complete or extend.
//! 4. Check the new tree is consistent with the last signed checkpoint (a consistency proof
//!    computed from the tiles and verified); sign the new checkpoint.
//! 5. Write bundles, tiles and checkpoint in one transaction and wait for it to be durable.
//! 6. Only then: publish the snapshot to readers, index the leaves, reply to every caller.
//!
//! Steps 1–4 run on the sequencer thread; step 5 is split between a commit thread (the
//! transaction's writes) and a sync thread (the fsync, one for every batch waiting), which also
//! does step 6. So one batch is integrated while the previous one is written and the one before
//! it is synced. Nothing of a batch is visible to anyone before its fsync has returned.
//!
//! A failed commit stops the sequencer for good: the error is reported to every waiting and
//! future caller, and nothing is retried (after a failed fsync the page cache can no longer be
//! trusted).

use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hotline_tlog::bundle::{MAX_ENTRY_SIZE, decode_bundle, push_entry};
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tile::{TILE_HEIGHT, TILE_WIDTH, TileKind, TileNodes, TileSet, TreeEdge};
use hotline_tlog::tree::{consistency_proof, range_hash, verify_consistency};
use hotline_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, Note, TlogProof, leaf_hash};
use tokio::sync::oneshot;

use crate::error::{Result, StoreError};
use crate::leaf_index::LeafIndex;
use crate::reader::{LogSnapshot, LogView, SignedCheckpoint};
use crate::{BatchWrite, EntrySide, LogWriter, StoredCheckpoint};

/// How the sequencer forms batches.
#[derive(Clone, Debug)]
pub struct SequencerConfig {
    /// Most entries in one commit.
    pub batch_size: usize,
    /// Longest time the first entry of a batch waits for others before the batch is committed.
    pub batch_age: Duration,
    /// Longest a gathering batch sleeps before checking again whether the previous one is
    /// durable (the syncer also wakes it as soon as it is).
    pub poll_interval: Duration,
    /// Entries that may wait in the queue; callers wait for room beyond that.
    pub queue_depth: usize,
    /// Under load (the previous batch had more than one entry), the least time a batch keeps
    /// gathering even when the pipeline is idle: fewer, larger commits (each costs a checkpoint
    /// signature, a transaction and an fsync) for at most this much more latency. On a quiet log
    /// (the previous batch was a lone entry) nothing is held back.
    pub linger: Duration,
}

impl Default for SequencerConfig {
    fn default() -> Self {
        SequencerConfig {
            batch_size: 4096,
            batch_age: Duration::from_millis(50),
            poll_interval: Duration::from_micros(200),
            queue_depth: 65_536,
            linger: Duration::ZERO,
        }
    }
}

/// Counters of the sequencer's work, for benchmarks and operators: where the time goes.
#[derive(Debug, Default)]
pub struct SequencerStats {
    /// Batches committed.
    pub batches: std::sync::atomic::AtomicU64,
    /// New entries committed.
    pub entries: std::sync::atomic::AtomicU64,
    /// Nanoseconds the integrator spent integrating batches (dedup, tiles, bundles, signing).
    pub integrate_ns: std::sync::atomic::AtomicU64,
    /// Nanoseconds the committer spent writing batches (SQLite work, without fsync).
    pub commit_ns: std::sync::atomic::AtomicU64,
    /// Nanoseconds the syncer spent making written batches durable (fsync).
    pub sync_ns: std::sync::atomic::AtomicU64,
    /// Nanoseconds the integrator waited for the committer to take a batch.
    pub handoff_wait_ns: std::sync::atomic::AtomicU64,
}

impl SequencerStats {
    fn add(counter: &std::sync::atomic::AtomicU64, since: Instant) {
        counter.fetch_add(
            since.elapsed().as_nanos().min(u128::from(u64::MAX)) as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    /// A plain copy of the counters, times in seconds.
    pub fn snapshot(&self) -> StatsSnapshot {
        use std::sync::atomic::Ordering::Relaxed;
        let secs = |c: &std::sync::atomic::AtomicU64| c.load(Relaxed) as f64 / 1e9;
        StatsSnapshot {
            batches: self.batches.load(Relaxed),
            entries: self.entries.load(Relaxed),
            integrate_s: secs(&self.integrate_ns),
            commit_s: secs(&self.commit_ns),
            sync_s: secs(&self.sync_ns),
            handoff_wait_s: secs(&self.handoff_wait_ns),
        }
    }
}

/// A copy of [`SequencerStats`], times in seconds of wall-clock time per stage.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatsSnapshot {
    /// Batches made durable.
    pub batches: u64,
    /// New entries made durable.
    pub entries: u64,
    /// Integrating (dedup, tiles, bundles, consistency check, signature).
    pub integrate_s: f64,
    /// Writing batches (SQLite work).
    pub commit_s: f64,
    /// Making them durable (fsync).
    pub sync_s: f64,
    /// Integrator waiting for the committer to take a batch.
    pub handoff_wait_s: f64,
}

/// Why an entry was not appended.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum AppendError {
    /// The entry is larger than a log entry may be.
    #[error("entry of {size} bytes is larger than the {MAX_ENTRY_SIZE} bytes a log entry may have")]
    TooLarge {
        /// Size of the refused entry.
        size: usize,
    },
    /// A bulk submission with no entries.
    #[error("no entries to append")]
    Empty,
    /// The sequencer stopped after a storage failure or shut down.
    #[error("the log sequencer has stopped: {0}")]
    Stopped(Arc<str>),
}

/// Outcome of one append, after the durable commit.
#[derive(Clone, Debug)]
pub struct Appended {
    /// Index of the entry in the log.
    pub index: u64,
    /// Leaf hash of the entry.
    pub leaf_hash: Hash,
    /// False when the entry was already in the log (nothing was appended).
    pub new: bool,
    /// The committed state that contains the entry.
    pub snapshot: Arc<LogSnapshot>,
}

/// A receipt: the entry's index and inclusion proof under a signed checkpoint.
#[derive(Clone, Debug)]
pub struct Receipt {
    /// Index of the entry.
    pub index: u64,
    /// Leaf hash of the entry.
    pub leaf_hash: Hash,
    /// Whether this call appended the entry (false: it was already logged).
    pub new: bool,
    /// Inclusion proof in the checkpoint's tree.
    pub proof: Vec<Hash>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: Arc<SignedCheckpoint>,
}

impl Receipt {
    /// The receipt in c2sp.org/tlog-proof form.
    pub fn to_tlog_proof(&self) -> TlogProof {
        TlogProof {
            extra: None,
            index: self.index,
            path: self.proof.clone(),
            checkpoint: self.checkpoint.note.clone(),
        }
    }
}

impl Appended {
    /// The receipt if its proof needs no storage read (see
    /// [`LogView::inclusion_proof_in_memory`]); `None` otherwise: then call [`Appended::receipt`]
    /// where blocking is allowed.
    pub fn receipt_in_memory(&self, view: &LogView) -> Option<Receipt> {
        let checkpoint = self.snapshot.checkpoint.clone()?;
        let proof =
            view.inclusion_proof_in_memory(&self.snapshot, self.index, checkpoint.size())?;
        Some(Receipt {
            index: self.index,
            leaf_hash: self.leaf_hash,
            new: self.new,
            proof,
            checkpoint,
        })
    }

    /// Builds the receipt (the inclusion proof is computed here, in the caller's thread, and
    /// may read tiles from storage).
    pub fn receipt(&self, view: &LogView) -> Result<Receipt> {
        let checkpoint =
            self.snapshot.checkpoint.clone().ok_or_else(|| {
                StoreError::Corrupt("an appended entry has no checkpoint".to_owned())
            })?;
        let proof = view
            .inclusion_proof(&self.snapshot, self.index, checkpoint.size())
            .map_err(|e| match e {
                hotline_tlog::tree::ProofError::Source(s) => s,
                other => StoreError::Corrupt(other.to_string()),
            })?;
        Ok(Receipt {
            index: self.index,
            leaf_hash: self.leaf_hash,
            new: self.new,
            proof,
            checkpoint,
        })
    }
}

/// Outcome of entries submitted together, after their durable commit.
#[derive(Clone, Debug)]
pub struct AppendedGroup {
    /// Per entry, in submission order: index, leaf hash, and whether it was new.
    pub entries: Vec<(u64, Hash, bool)>,
    /// The committed state that contains them.
    pub snapshot: Arc<LogSnapshot>,
}

impl AppendedGroup {
    /// The outcome of the `i`-th entry of the group.
    pub fn get(&self, i: usize) -> Option<Appended> {
        self.entries
            .get(i)
            .map(|&(index, leaf_hash, new)| Appended {
                index,
                leaf_hash,
                new,
                snapshot: self.snapshot.clone(),
            })
    }
}

/// One entry of a request: bytes, leaf hash, and data to store with it if it is new.
struct Item {
    entry: Vec<u8>,
    leaf: Hash,
    side: Option<Box<EntrySide>>,
}

/// Entries submitted together (one for a plain submit).
struct Request {
    items: Vec<Item>,
    reply: oneshot::Sender<Result<AppendedGroup, AppendError>>,
}

/// A running sequencer. Cloneable handles share it; dropping the last one (or calling
/// [`SequencerHandle::shutdown`]) lets it finish the queue and stop.
#[derive(Clone)]
pub struct SequencerHandle {
    tx: flume::Sender<Request>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    stats: Arc<SequencerStats>,
    stopped: Arc<OnceLock<Arc<str>>>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    view: Arc<LogView>,
    /// The log key (a copy of the one the integrator signs checkpoints with), for signatures
    /// over roots the log committed to, such as COSE receipts of inclusion.
    signer: Ed25519Signer,
}

/// Pending reply to entries submitted together.
pub struct PendingGroup {
    rx: oneshot::Receiver<Result<AppendedGroup, AppendError>>,
    stopped: Arc<OnceLock<Arc<str>>>,
}

/// The error for a caller who finds the sequencer gone: its recorded reason, if any.
fn stopped_error(stopped: &OnceLock<Arc<str>>) -> AppendError {
    AppendError::Stopped(
        stopped
            .get()
            .cloned()
            .unwrap_or_else(|| Arc::from("shut down")),
    )
}

impl PendingGroup {
    fn stopped_error(&self) -> AppendError {
        stopped_error(&self.stopped)
    }

    /// The outcome if it is already known, without waiting.
    pub fn try_wait(&mut self) -> Option<Result<AppendedGroup, AppendError>> {
        match self.rx.try_recv() {
            Ok(r) => Some(r),
            Err(oneshot::error::TryRecvError::Empty) => None,
            Err(oneshot::error::TryRecvError::Closed) => Some(Err(self.stopped_error())),
        }
    }

    /// Waits for the outcome, blocking the thread (not for use inside an async runtime).
    pub fn wait(self) -> Result<AppendedGroup, AppendError> {
        let stopped = self.stopped_error();
        self.rx.blocking_recv().unwrap_or(Err(stopped))
    }

    /// Waits for the outcome asynchronously.
    pub async fn wait_async(self) -> Result<AppendedGroup, AppendError> {
        let stopped = self.stopped_error();
        self.rx.await.unwrap_or(Err(stopped))
    }
}

/// Pending reply to one submitted entry.
pub struct PendingAppend(PendingGroup);

fn first_of(group: Result<AppendedGroup, AppendError>) -> Result<Appended, AppendError> {
    group?
        .get(0)
        .ok_or_else(|| AppendError::Stopped(Arc::from("the sequencer replied without an outcome")))
}

impl PendingAppend {
    /// The outcome if it is already known, without waiting.
    pub fn try_wait(&mut self) -> Option<Result<Appended, AppendError>> {
        self.0.try_wait().map(first_of)
    }

    /// Waits for the outcome, blocking the thread (not for use inside an async runtime).
    pub fn wait(self) -> Result<Appended, AppendError> {
        first_of(self.0.wait())
    }

    /// Waits for the outcome asynchronously.
    pub async fn wait_async(self) -> Result<Appended, AppendError> {
        first_of(self.0.wait_async().await)
    }
}

impl SequencerHandle {
    /// The read view the sequencer publishes to.
    pub fn view(&self) -> &Arc<LogView> {
        &self.view
    }

    /// The log key the sequencer signs checkpoints with.
    pub fn signer(&self) -> &Ed25519Signer {
        &self.signer
    }

    /// Work counters.
    pub fn stats(&self) -> &SequencerStats {
        &self.stats
    }

    /// Why the sequencer stopped, if it did.
    pub fn stopped_reason(&self) -> Option<Arc<str>> {
        self.stopped.get().cloned()
    }

    fn request(
        &self,
        entries: Vec<(Vec<u8>, Option<EntrySide>)>,
    ) -> Result<(Request, PendingGroup), AppendError> {
        if let Some((e, _)) = entries.iter().find(|(e, _)| e.len() > MAX_ENTRY_SIZE) {
            return Err(AppendError::TooLarge { size: e.len() });
        }
        if entries.is_empty() {
            return Err(AppendError::Empty);
        }
        if let Some(reason) = self.stopped.get() {
            return Err(AppendError::Stopped(reason.clone()));
        }
        if self.closing.load(std::sync::atomic::Ordering::Acquire) {
            return Err(AppendError::Stopped(Arc::from("shutting down")));
        }
        let items = entries
            .into_iter()
            .map(|(entry, side)| Item {
                leaf: leaf_hash(&entry),
                entry,
                side: side.map(Box::new),
            })
            .collect();
        let (reply, rx) = oneshot::channel();
        Ok((
            Request { items, reply },
            PendingGroup {
                rx,
                stopped: self.stopped.clone(),
            },
        ))
    }

    /// Queues an entry (blocking while the queue is full) and returns a pending reply.
    pub fn submit(&self, entry: Vec<u8>) -> Result<PendingAppend, AppendError> {
        self.submit_many(vec![entry]).map(PendingAppend)
    }

    /// Queues several entries at once, for callers that append in bulk (one queue slot and
    /// one reply for all of them; each still gets its own index and outcome).
    pub fn submit_many(&self, entries: Vec<Vec<u8>>) -> Result<PendingGroup, AppendError> {
        let (req, pending) = self.request(entries.into_iter().map(|e| (e, None)).collect())?;
        self.tx
            .send(req)
            .map_err(|_| stopped_error(&self.stopped))?;
        Ok(pending)
    }

    /// Queues an entry with data to store alongside it if it is new (blocking while the queue
    /// is full).
    pub fn submit_with(
        &self,
        entry: Vec<u8>,
        side: EntrySide,
    ) -> Result<PendingAppend, AppendError> {
        let (req, pending) = self.request(vec![(entry, Some(side))])?;
        self.tx
            .send(req)
            .map_err(|_| stopped_error(&self.stopped))?;
        Ok(PendingAppend(pending))
    }

    /// Queues an entry and its side data without blocking the async runtime.
    pub async fn submit_with_async(
        &self,
        entry: Vec<u8>,
        side: EntrySide,
    ) -> Result<PendingAppend, AppendError> {
        let (req, pending) = self.request(vec![(entry, Some(side))])?;
        self.tx
            .send_async(req)
            .await
            .map_err(|_| stopped_error(&self.stopped))?;
        Ok(PendingAppend(pending))
    }

    /// Queues an entry without blocking the async runtime and returns a pending reply.
    pub async fn submit_async(&self, entry: Vec<u8>) -> Result<PendingAppend, AppendError> {
        let (req, pending) = self.request(vec![(entry, None)])?;
        self.tx
            .send_async(req)
            .await
            .map_err(|_| stopped_error(&self.stopped))?;
        Ok(PendingAppend(pending))
    }

    /// Appends an entry and waits until it is durably committed.
    pub fn append(&self, entry: Vec<u8>) -> Result<Appended, AppendError> {
        self.submit(entry)?.wait()
    }

    /// Appends an entry and waits asynchronously until it is durably committed.
    pub async fn append_async(&self, entry: Vec<u8>) -> Result<Appended, AppendError> {
        self.submit_async(entry).await?.wait_async().await
    }

    /// Stops the sequencer at once, committing nothing more: every waiting and future caller
    /// gets `reason` (a batch whose commit already returned stays committed, but its callers
    /// get the error too: their statements are in the log without a receipt, as after a
    /// crash). For a frontend that lost the sequencer lease, or its database: unlike
    /// [`SequencerHandle::shutdown`] it neither waits for the queue nor for a commit that
    /// may never return.
    pub fn abort(&self, reason: &str) {
        let _ = self.stopped.set(Arc::from(reason));
        self.closing
            .store(true, std::sync::atomic::Ordering::Release);
        // Wake an idle integrator; a busy one sees `stopped` before its next batch.
        let (reply, _) = oneshot::channel();
        let _ = self.tx.try_send(Request {
            items: Vec::new(),
            reply,
        });
    }

    /// Stops accepting entries, lets the sequencer commit what is queued, and waits for it.
    /// Other handles to the same sequencer get "shutting down" from then on.
    pub fn shutdown(self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::Release);
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        // An empty request marks the end of the queue.
        let (reply, _) = oneshot::channel();
        let _ = self.tx.send(Request {
            items: Vec::new(),
            reply,
        });
        drop(self.tx);
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

/// Starts the sequencer for the log behind `view`, writing with `writer` and signing with
/// `signer`. Recovers and checks the stored state first (see [`recover`]).
pub fn start(
    writer: Box<dyn LogWriter>,
    view: Arc<LogView>,
    signer: Ed25519Signer,
    config: SequencerConfig,
) -> Result<SequencerHandle> {
    let state = recover(&view, &signer)?;
    let handle_signer = signer.clone();
    let (tx, rx) = flume::bounded(config.queue_depth.max(1));
    let stopped = Arc::new(OnceLock::new());
    let stats = Arc::new(SequencerStats::default());
    let downstream = Arc::new(Downstream::default());
    let integrator = Integrator {
        downstream: downstream.clone(),
        stats: stats.clone(),
        view: view.clone(),
        signer,
        config,
        state,
        stopped: stopped.clone(),
        in_flight: std::collections::VecDeque::new(),
    };
    let committer = Committer {
        downstream,
        stats: stats.clone(),
        writer,
        view: view.clone(),
        stopped: stopped.clone(),
    };
    let thread = std::thread::Builder::new()
        .name("hotline-sequencer".into())
        .spawn(move || integrator.run(rx, committer))
        .map_err(|e| StoreError::Io {
            path: "sequencer thread".into(),
            source: e,
        })?;
    Ok(SequencerHandle {
        tx,
        closing: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        stats,
        stopped,
        thread: Arc::new(Mutex::new(Some(thread))),
        view,
        signer: handle_signer,
    })
}

/// The in-memory state the sequencer resumes from.
pub struct RecoveredState {
    pub(crate) edge: TreeEdge,
    edge_tiles: TileSet,
    partial_bundle: Vec<u8>,
    checkpoint: Option<Arc<SignedCheckpoint>>,
}

impl RecoveredState {
    /// Tree size recovered.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }
}

/// Loads and checks the stored log before sequencing resumes: the latest checkpoint verifies
/// under the log key and names the log's origin; every stored hash tile is recomputed from the
/// level-0 tiles and compared; the root equals the checkpoint's; the partial entry bundle
/// hashes to the partial level-0 tile. Rebuilds the leaf index and installs it in `view`.
pub fn recover(view: &LogView, signer: &Ed25519Signer) -> Result<RecoveredState> {
    recover_inner(view, &signer.verifier(), false)
}

/// [`recover`] for a process that only reads a log another process may be appending to at
/// the same time (a frontend starting to follow it): the same checks of the tree at the
/// latest checkpoint read, except that tiles and entry bundles stored wider than that tree,
/// or beyond it, are taken as the later commits they are (cut to the tree read) rather than
/// refused.
pub fn recover_following(view: &LogView, verifier: &Ed25519Verifier) -> Result<RecoveredState> {
    recover_inner(view, verifier, true)
}

fn recover_inner(
    view: &LogView,
    verifier: &Ed25519Verifier,
    concurrent: bool,
) -> Result<RecoveredState> {
    let reader = view.reader().clone();
    if verifier.to_vkey() != reader.log_vkey() {
        return Err(StoreError::Corrupt(format!(
            "the log key given ({}) is not the key this log was created with ({})",
            verifier.to_vkey(),
            reader.log_vkey()
        )));
    }
    let snap = view.refresh()?;
    let size = snap.size();
    if let Some(cp) = &snap.checkpoint {
        let note = Note::parse(&cp.note)
            .map_err(|e| StoreError::Corrupt(format!("latest checkpoint: {e}")))?;
        note.verify(&[verifier as &dyn NoteVerifier])
            .map_err(|e| StoreError::Corrupt(format!("latest checkpoint (size {size}): {e}")))?;
        if cp.checkpoint.origin != reader.origin() {
            return Err(StoreError::Corrupt(format!(
                "latest checkpoint names origin {:?}, the log's origin is {:?}",
                cp.checkpoint.origin,
                reader.origin()
            )));
        }
    }
    let mut partial: Vec<Vec<Hash>> = Vec::new();
    for level in 0u8.. {
        let hashes = size >> (TILE_HEIGHT * u32::from(level));
        if hashes == 0 {
            break;
        }
        let index = hashes / TILE_WIDTH;
        partial.push(
            snap.tiles
                .get(level, index)
                .map(|t| t.hashes().to_vec())
                .unwrap_or_default(),
        );
    }
    let edge = TreeEdge::from_partial_tiles(size, partial)
        .map_err(|e| StoreError::Corrupt(e.to_string()))?;
    if let Some(cp) = &snap.checkpoint
        && edge.root() != cp.checkpoint.root
    {
        return Err(StoreError::Corrupt(format!(
            "the right-edge tiles give root {} but the checkpoint for size {size} says {}",
            edge.root(),
            cp.checkpoint.root
        )));
    }
    let leaves = scan_tiles(&*reader, size, concurrent)?;
    view.install_leaf_index(leaves);

    // The partial entry bundle must match the partial level-0 tile.
    let width = (size % TILE_WIDTH) as usize;
    let mut partial_bundle = Vec::new();
    if width > 0 {
        let index = size / TILE_WIDTH;
        let data = reader.bundle(index)?.ok_or_else(|| {
            StoreError::Corrupt(format!("entry bundle {index} is missing for size {size}"))
        })?;
        let mut entries = decode_bundle(&data)
            .map_err(|e| StoreError::Corrupt(format!("entry bundle {index}: {e}")))?;
        if concurrent && entries.len() > width {
            // A later commit widened it: the tree read is its prefix.
            entries.truncate(width);
        }
        if entries.len() != width {
            return Err(StoreError::Corrupt(format!(
                "entry bundle {index} holds {} entries, tree size {size} needs {width}",
                entries.len()
            )));
        }
        let tile = snap
            .tiles
            .get(0, index)
            .map(|t| t.hashes().to_vec())
            .unwrap_or_default();
        for (i, e) in entries.iter().enumerate() {
            if tile.get(i) != Some(&leaf_hash(e)) {
                return Err(StoreError::Corrupt(format!(
                    "entry {} does not hash to its leaf hash in tile/0/{index}",
                    index * TILE_WIDTH + i as u64
                )));
            }
        }
        partial_bundle = match hotline_tlog::bundle::bundle_prefix_len(&data, width) {
            Some(n) if concurrent => data[..n].to_vec(),
            _ => data,
        };
    }
    if !concurrent && reader.bundle(size.div_ceil(TILE_WIDTH))?.is_some() {
        return Err(StoreError::Corrupt(format!(
            "entry bundle {} exists beyond the signed tree size {size}",
            size.div_ceil(TILE_WIDTH)
        )));
    }
    Ok(RecoveredState {
        edge_tiles: snap.tiles.clone(),
        edge,
        partial_bundle,
        checkpoint: snap.checkpoint.clone(),
    })
}

/// Reads every hash tile level by level, checks each full tile's root against the level above
/// and every width against `size`, and returns the leaf index built from level 0.
fn scan_tiles(reader: &dyn crate::LogReader, size: u64, concurrent: bool) -> Result<LeafIndex> {
    let mut leaves = LeafIndex::new();
    leaves.reserve(usize::try_from(size).unwrap_or(0));
    // Hashes the level above must hold, computed from full tiles of the level below.
    let mut expected_above: Vec<Hash> = Vec::new();
    for level in 0u8..=hotline_tlog::tile::MAX_TILE_LEVEL {
        let hashes_here = if u32::from(level) * TILE_HEIGHT >= 64 {
            0
        } else {
            size >> (TILE_HEIGHT * u32::from(level))
        };
        let expected_here = std::mem::take(&mut expected_above);
        let tiles_here = hashes_here.div_ceil(TILE_WIDTH);
        let mut next = 0u64;
        'level: loop {
            let page = reader.tiles_from(level, next, 512)?;
            if page.is_empty() {
                break;
            }
            for (index, data) in page {
                let path = format!("tile/{level}/{index}");
                if index != next {
                    return Err(StoreError::Corrupt(format!(
                        "{path} follows tile {} of the same level: tiles are missing",
                        next.wrapping_sub(1)
                    )));
                }
                if index >= tiles_here {
                    if concurrent {
                        // Written by a commit after the checkpoint read.
                        break 'level;
                    }
                    return Err(StoreError::Corrupt(format!(
                        "{path} exists beyond the signed tree size {size}"
                    )));
                }
                let want = (hashes_here - index * TILE_WIDTH).min(TILE_WIDTH) as usize;
                let hashes = hotline_tlog::tile::tile_hashes(&data)
                    .map(|mut h| {
                        if concurrent {
                            h.truncate(want);
                        }
                        h
                    })
                    .filter(|h| h.len() == want)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "{path} holds {} bytes, tree size {size} needs {} hashes",
                            data.len(),
                            want
                        ))
                    })?;
                if level > 0 {
                    let start = (index * TILE_WIDTH) as usize;
                    if expected_here.get(start..start + want) != Some(&hashes[..]) {
                        return Err(StoreError::Corrupt(format!(
                            "{path} does not match the tiles below it"
                        )));
                    }
                } else {
                    for (i, h) in hashes.iter().enumerate() {
                        leaves.insert(h, index * TILE_WIDTH + i as u64);
                    }
                }
                if want as u64 == TILE_WIDTH {
                    let nodes = TileNodes::new(hashes);
                    expected_above.push(nodes.full_root().unwrap_or_default());
                }
                next = index + 1;
            }
        }
        if next != tiles_here {
            return Err(StoreError::Corrupt(format!(
                "level {level} holds {next} tiles, tree size {size} needs {tiles_here}"
            )));
        }
        if hashes_here == 0 {
            break;
        }
    }
    Ok(leaves)
}

/// Stage one of the pipeline: forms batches and integrates them in memory (dedup, tiles,
/// bundles, consistency check, signature). Runs one batch ahead of the committer, so the next
/// batch is prepared while the previous one is being made durable.
/// Batches handed on by the integrator and not yet published (written, or being synced), and
/// the integrator's thread, woken when that count drops to zero.
#[derive(Default)]
struct Downstream {
    count: std::sync::atomic::AtomicUsize,
    integrator: OnceLock<std::thread::Thread>,
}

impl Downstream {
    fn acquire(&self) {
        self.count.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn release(&self) {
        let before = self.count.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
        if before == 1
            && let Some(t) = self.integrator.get()
        {
            t.unpark();
        }
    }

    fn is_idle(&self) -> bool {
        self.count.load(std::sync::atomic::Ordering::Acquire) == 0
    }
}

struct Integrator {
    /// Batches handed on and not yet published (written, or being synced).
    downstream: Arc<Downstream>,
    stats: Arc<SequencerStats>,
    view: Arc<LogView>,
    signer: Ed25519Signer,
    config: SequencerConfig,
    state: RecoveredState,
    stopped: Arc<OnceLock<Arc<str>>>,
    /// Leaves of the batches handed to the committer that were not published yet when the
    /// current batch started, as (index of the first, leaf hashes).
    in_flight: std::collections::VecDeque<(u64, Vec<Hash>)>,
}

/// One integrated batch on its way to the committer.
struct Integrated {
    requests: Vec<Request>,
    outcomes: Vec<(u64, bool)>,
    /// `None` when every entry was a duplicate: nothing to write.
    write: Option<(BatchWrite, Arc<LogSnapshot>)>,
}

/// Stage two: makes each batch durable, then publishes it and replies.
struct Committer {
    downstream: Arc<Downstream>,
    stats: Arc<SequencerStats>,
    writer: Box<dyn LogWriter>,
    view: Arc<LogView>,
    stopped: Arc<OnceLock<Arc<str>>>,
}

fn fail_all(requests: Vec<Request>, reason: &Arc<str>) {
    for r in requests {
        let _ = r.reply.send(Err(AppendError::Stopped(reason.clone())));
    }
}

fn stop_reason(e: &StoreError) -> Arc<str> {
    Arc::from(format!(
        "{e}; nothing of the failed batch was published, restart the server once the cause is \
         fixed"
    ))
}

/// A committed batch on its way to the syncer.
struct Committed {
    requests: Vec<Request>,
    outcomes: Vec<(u64, bool)>,
    /// The snapshot to publish once durable, and how many entries the batch added.
    snapshot: Option<(Arc<LogSnapshot>, u64)>,
}

impl Committer {
    fn run(mut self, rx: std::sync::mpsc::Receiver<Integrated>) {
        let syncer = match self.writer.syncer() {
            Ok(s) => s,
            Err(e) => {
                let reason = stop_reason(&e);
                let _ = self.stopped.set(reason.clone());
                while let Ok(batch) = rx.recv() {
                    fail_all(batch.requests, &reason);
                }
                return;
            }
        };
        // Unbounded on purpose: the integrator already bounds batches in flight, and the
        // committer must never wait for the syncer (that would serialise write and fsync again).
        let (tx, srx) = std::sync::mpsc::channel::<Committed>();
        let stage = Syncer {
            downstream: self.downstream.clone(),
            syncer,
            view: self.view.clone(),
            stopped: self.stopped.clone(),
            stats: self.stats.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("hotline-sync".into())
            .spawn(move || stage.run(srx));
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                let reason: Arc<str> = Arc::from(format!("cannot start the sync thread: {e}"));
                let _ = self.stopped.set(reason.clone());
                while let Ok(batch) = rx.recv() {
                    fail_all(batch.requests, &reason);
                }
                return;
            }
        };
        while let Ok(batch) = rx.recv() {
            if let Some(reason) = self.stopped.get().cloned() {
                fail_all(batch.requests, &reason);
                continue;
            }
            let snapshot = match batch.write {
                None => None,
                Some((write, snap)) => {
                    let started = Instant::now();
                    let committed = self.writer.commit(&write);
                    SequencerStats::add(&self.stats.commit_ns, started);
                    if let Err(e) = committed {
                        let reason = stop_reason(&e);
                        tracing::error!(%reason, "sequencer stopped");
                        let _ = self.stopped.set(reason.clone());
                        fail_all(batch.requests, &reason);
                        continue;
                    }
                    Some((snap, write.new_size - write.old_size))
                }
            };
            let item = Committed {
                requests: batch.requests,
                outcomes: batch.outcomes,
                snapshot,
            };
            if let Err(unsent) = tx.send(item) {
                let reason = self
                    .stopped
                    .get()
                    .cloned()
                    .unwrap_or_else(|| Arc::from("the sync thread exited"));
                fail_all(unsent.0.requests, &reason);
            }
        }
        drop(tx);
        let _ = thread.join();
    }
}

/// Stage three: makes committed batches durable (one fsync for all that are waiting), then
/// publishes them and replies, strictly in order.
struct Syncer {
    downstream: Arc<Downstream>,
    syncer: Box<dyn crate::LogSyncer>,
    view: Arc<LogView>,
    stopped: Arc<OnceLock<Arc<str>>>,
    stats: Arc<SequencerStats>,
}

impl Syncer {
    fn run(mut self, rx: std::sync::mpsc::Receiver<Committed>) {
        while let Ok(first) = rx.recv() {
            let mut ready = vec![first];
            while let Ok(more) = rx.try_recv() {
                ready.push(more);
            }
            if let Some(reason) = self.stopped.get().cloned() {
                for item in ready {
                    fail_all(item.requests, &reason);
                }
                continue;
            }
            if ready.iter().any(|c| c.snapshot.is_some()) {
                let started = Instant::now();
                let synced = self.syncer.sync();
                SequencerStats::add(&self.stats.sync_ns, started);
                if let Err(e) = synced {
                    let reason = stop_reason(&e);
                    tracing::error!(%reason, "sequencer stopped");
                    let _ = self.stopped.set(reason.clone());
                    for item in ready {
                        fail_all(item.requests, &reason);
                    }
                    continue;
                }
            }
            for item in ready {
                // Durable: publish, reply. (The integrator already indexed the leaves; readers
                // ignore indexes beyond the snapshot they hold.)
                let published = match item.snapshot {
                    Some((snap, added)) => {
                        self.view.publish(snap.clone());
                        use std::sync::atomic::Ordering::Relaxed;
                        self.stats.batches.fetch_add(1, Relaxed);
                        self.stats.entries.fetch_add(added, Relaxed);
                        snap
                    }
                    None => self.view.snapshot(),
                };
                let mut outcomes = item.outcomes.into_iter();
                for req in item.requests {
                    let entries = req
                        .items
                        .iter()
                        .zip(outcomes.by_ref())
                        .map(|(item, (index, new))| (index, item.leaf, new))
                        .collect();
                    let _ = req.reply.send(Ok(AppendedGroup {
                        entries,
                        snapshot: published.clone(),
                    }));
                }
                self.downstream.release();
            }
        }
    }
}

impl Integrator {
    fn run(mut self, rx: flume::Receiver<Request>, committer: Committer) {
        let _ = self.downstream.integrator.set(std::thread::current());
        let (tx, crx) = std::sync::mpsc::sync_channel::<Integrated>(1);
        let committer = std::thread::Builder::new()
            .name("hotline-commit".into())
            .spawn(move || committer.run(crx));
        let committer = match committer {
            Ok(t) => t,
            Err(e) => {
                let _ = self
                    .stopped
                    .set(Arc::from(format!("cannot start the commit thread: {e}")));
                return;
            }
        };
        let mut previous_entries = 0usize;
        loop {
            let Ok(first) = rx.recv() else { break };
            if first.items.is_empty() {
                break; // shutdown marker: everything before it was committed
            }
            let mut closing = false;
            let mut batch: Vec<Request> = Vec::with_capacity(self.config.batch_size);
            let opened = Instant::now();
            let mut entries = first.items.len();
            batch.push(first);
            while entries < self.config.batch_size {
                // Take whatever is queued; then wait briefly for stragglers, within the age.
                match rx.try_recv() {
                    Ok(r) if r.items.is_empty() => {
                        closing = true;
                        break;
                    }
                    Ok(r) => {
                        entries += r.items.len();
                        batch.push(r);
                        continue;
                    }
                    Err(flume::TryRecvError::Disconnected) => break,
                    Err(flume::TryRecvError::Empty) => {}
                }
                // Queue drained. Nothing being written or synced: commit now, a lone entry is
                // not held back. Otherwise keep gathering while the previous batch is on its
                // way to disk, up to the batch age.
                if self.downstream.is_idle() {
                    let lingered = opened.elapsed();
                    if previous_entries < 2 || lingered >= self.config.linger {
                        break;
                    }
                    std::thread::park_timeout(self.config.linger - lingered);
                    continue;
                }
                let left = self.config.batch_age.saturating_sub(opened.elapsed());
                if left.is_zero() {
                    break;
                }
                // Sleep until the syncer reports the pipeline idle (it unparks this thread) or
                // the age runs out, then drain the queue above. Not `recv_timeout`: that woke
                // this thread once per arriving statement, a context switch each (measured:
                // the largest cost after signature verification under 64 concurrent clients).
                std::thread::park_timeout(left.min(self.config.poll_interval));
            }
            previous_entries = entries;
            if let Some(reason) = self.stopped.get().cloned() {
                fail_all(batch, &reason);
                break;
            }
            let started = Instant::now();
            let integrated = self.integrate(batch);
            SequencerStats::add(&self.stats.integrate_ns, started);
            let integrated = match integrated {
                Ok(i) => i,
                Err((e, requests)) => {
                    let reason = stop_reason(&e);
                    tracing::error!(%reason, "sequencer stopped");
                    let _ = self.stopped.set(reason.clone());
                    fail_all(requests, &reason);
                    break;
                }
            };
            let started = Instant::now();
            self.downstream.acquire();
            let sent = tx.send(integrated);
            SequencerStats::add(&self.stats.handoff_wait_ns, started);
            if let Err(unsent) = sent {
                let reason = self
                    .stopped
                    .get()
                    .cloned()
                    .unwrap_or_else(|| Arc::from("the commit thread exited"));
                fail_all(unsent.0.requests, &reason);
                break;
            }
            if closing {
                break;
            }
        }
        drop(tx);
        let _ = committer.join();
        let reason = self.stopped.get_or_init(|| Arc::from("shut down")).clone();
        while let Ok(r) = rx.try_recv() {
            let _ = r.reply.send(Err(AppendError::Stopped(reason.clone())));
        }
    }

    fn integrate(
        &mut self,
        mut batch: Vec<Request>,
    ) -> std::result::Result<Integrated, (StoreError, Vec<Request>)> {
        match self.integrate_inner(&mut batch) {
            Ok((outcomes, write)) => Ok(Integrated {
                requests: batch,
                outcomes,
                write,
            }),
            Err(e) => Err((e, batch)),
        }
    }

    #[allow(clippy::type_complexity)]
    fn integrate_inner(
        &mut self,
        batch: &mut [Request],
    ) -> Result<(Vec<(u64, bool)>, Option<(BatchWrite, Arc<LogSnapshot>)>)> {
        let snap = self.view.snapshot();
        // Batches up to the published size are readable through the snapshot; keep the leaves
        // of the later ones (written or being synced, not yet published) at hand.
        self.in_flight
            .retain(|(first, l)| first + l.len() as u64 > snap.size());
        let old_size = self.state.edge.size();
        let count: usize = batch.iter().map(|r| r.items.len()).sum();
        let mut leaves: Vec<Hash> = Vec::with_capacity(count);
        let mut outcomes: Vec<(u64, bool)> = Vec::with_capacity(count);
        let mut bundles: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut sides = Vec::new();
        let mut bundle_changed = false;
        {
            // Leaves are indexed as they are assigned, so a duplicate later in the batch or in
            // the next batches is found; a candidate is confirmed against its full leaf hash.
            let mut index = self.view.leaf_index_mut();
            index.reserve(count);
            for item in batch.iter_mut().flat_map(|r| r.items.iter_mut()) {
                let leaf = item.leaf;
                let index_new = old_size + leaves.len() as u64;
                let in_flight = &self.in_flight;
                let view = &self.view;
                let snap = &snap;
                let leaves_so_far = &leaves;
                let earlier = index.find_or_insert(&leaf, index_new, |c| {
                    let leaf_at_c = if c >= old_size {
                        leaves_so_far.get((c - old_size) as usize).copied()
                    } else if c < snap.size() {
                        Some(view.leaf_hash(snap, c)?)
                    } else {
                        in_flight.iter().find_map(|(first, l)| {
                            c.checked_sub(*first)
                                .and_then(|i| l.get(i as usize))
                                .copied()
                        })
                    };
                    Ok::<_, StoreError>(leaf_at_c == Some(leaf))
                })?;
                if let Some(i) = earlier {
                    outcomes.push((i, false));
                    continue;
                }
                leaves.push(leaf);
                outcomes.push((index_new, true));
                // The entry's bytes now live in the bundle; free them here, not in the
                // committer, which is the busier thread.
                let entry = std::mem::take(&mut item.entry);
                if let Some(side) = item.side.take() {
                    sides.push((index_new, leaf, *side));
                }
                push_entry(&mut self.state.partial_bundle, &entry)
                    .map_err(|e| StoreError::Corrupt(e.to_string()))?;
                drop(entry);
                bundle_changed = true;
                if (index_new + 1).is_multiple_of(TILE_WIDTH) {
                    bundles.push((
                        index_new / TILE_WIDTH,
                        std::mem::take(&mut self.state.partial_bundle),
                    ));
                    bundle_changed = false;
                }
            }
        }
        if leaves.is_empty() {
            return Ok((outcomes, None));
        }
        let new_size = old_size + leaves.len() as u64;
        if bundle_changed {
            bundles.push((new_size / TILE_WIDTH, self.state.partial_bundle.clone()));
        }
        let touched = self.state.edge.append(&leaves);
        let mut tiles = self.state.edge_tiles.clone();
        let mut tile_writes = Vec::with_capacity(touched.tiles.len());
        for (level, index, nodes) in touched.tiles {
            tile_writes.push((level, index, nodes.to_bytes()));
            tiles.insert(level, index, nodes);
        }
        let root = range_hash(&tiles, 0, new_size)
            .map_err(|e| StoreError::Corrupt(format!("computing the new root: {e}")))?;
        if let Some(prev) = &self.state.checkpoint {
            let proof = consistency_proof(&tiles, old_size, new_size)
                .map_err(|e| StoreError::Corrupt(format!("consistency proof: {e}")))?;
            verify_consistency(old_size, new_size, &prev.checkpoint.root, &root, &proof).map_err(
                |e| {
                    StoreError::Corrupt(format!(
                        "refusing to sign size {new_size}: it is not consistent with the \
                         checkpoint for size {old_size}: {e}"
                    ))
                },
            )?;
        }
        let checkpoint = Checkpoint {
            origin: self.view.reader().origin().to_owned(),
            size: new_size,
            root,
            extensions: Vec::new(),
        };
        let mut note = Note::new(checkpoint.to_text())
            .map_err(|e| StoreError::Corrupt(format!("checkpoint text: {e}")))?;
        note.sign(&self.signer);
        let created_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let signed = Arc::new(SignedCheckpoint {
            checkpoint,
            note: note.to_bytes(),
            created_ms,
        });
        let write = BatchWrite {
            old_size,
            new_size,
            bundles,
            tiles: tile_writes,
            checkpoint: StoredCheckpoint {
                size: new_size,
                note: signed.note.clone(),
                created_ms,
            },
            sides,
        };
        let mut edge_tiles = TileSet::new();
        for id in hotline_tlog::tile::partial_tiles_for_size(new_size) {
            if let TileKind::Hashes { level } = id.kind
                && let Some(t) = tiles.get(level, id.index)
            {
                edge_tiles.insert(level, id.index, t.clone());
            }
        }
        self.state.edge_tiles = edge_tiles;
        self.state.checkpoint = Some(signed.clone());
        self.in_flight.push_back((old_size, leaves));
        let snap = Arc::new(LogSnapshot::new(Some(signed), tiles)?);
        Ok((outcomes, Some((write, snap))))
    }
}
