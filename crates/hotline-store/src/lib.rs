//! # hotline-store
//!
//! Durable storage of the transparency log and the sequencer that appends to it.
//!
//! - [`LogWriter`] / [`LogReader`]: what any backend (SQLite, PostgreSQL) promises; see
//!   ARCHITECTURE.md for the contract in prose, and `tests/conformance/` for the one test suite
//!   every backend passes.
//! - [`sqlite`]: the embedded default, one file, WAL, `synchronous=FULL`.
//! - [`postgres`]: a PostgreSQL server, so several processes can share one log.
//! - [`sequencer`]: batches appends, integrates them into tiles, signs a checkpoint and commits
//!   everything in one durable write before any caller learns its index.
//! - [`reader`]: proofs and tiles for readers, with a cache of immutable full tiles.
//! - [`webhooks`]: webhook registrations, the notifier's progress and its delivery log.
//! - [`follow`]: a process that does not sequence keeps its [`reader::LogView`] in step with
//!   the log another one sequences (several frontends on one PostgreSQL database).

pub mod copy;
pub mod error;
pub mod follow;
pub mod fsck;
pub mod leaf_index;
pub mod postgres;
pub mod reader;
pub mod sequencer;
pub mod sqlite;
pub mod taxii;
pub mod webhooks;

pub use error::{Result, StoreError};

/// A signed checkpoint as stored: the note bytes exactly as signed and published.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// Tree size the checkpoint commits to.
    pub size: u64,
    /// The signed note (checkpoint text and signatures).
    pub note: Vec<u8>,
    /// When the sequencer signed it, milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// A stored payload row: `(log index, id as stored, data)`.
pub type PayloadRow = (u64, Vec<u8>, Vec<u8>);

/// An API credential: the SHA-256 of a bearer token and the party it authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// SHA-256 of the token (the token itself is never stored).
    pub token_hash: [u8; 32],
    /// The party the token authenticates.
    pub party: String,
}

/// Data stored with a log entry in the same durable commit, if and only if the entry is new
/// (a duplicate's side data is dropped).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EntrySide {
    /// The encrypted payload the entry commits to.
    pub payload: Option<Vec<u8>>,
    /// A credential granted together with the entry (a party's registration).
    pub credential: Option<Credential>,
    /// The STIX objects a `shared` entry publishes to a TAXII collection.
    pub taxii: Option<Box<taxii::TaxiiPublication>>,
}

/// Everything one batch adds to the log, written atomically by [`LogWriter::commit`].
#[derive(Clone, Debug, Default)]
pub struct BatchWrite {
    /// Tree size before the batch (the size of the latest stored checkpoint).
    pub old_size: u64,
    /// Tree size after the batch.
    pub new_size: u64,
    /// Entry bundles to write: those the batch completed and the new partial bundle, each
    /// replacing any narrower stored version.
    pub bundles: Vec<(u64, Vec<u8>)>,
    /// Hash tiles to write, `(level, index, bytes)`, each replacing any narrower stored version.
    pub tiles: Vec<(u8, u64, Vec<u8>)>,
    /// The new signed checkpoint, for `new_size`.
    pub checkpoint: StoredCheckpoint,
    /// Side data of new entries: (log index, leaf hash, data).
    pub sides: Vec<(u64, hotline_tlog::Hash, EntrySide)>,
}

/// The sequencer's write side of a store. Exactly one writer exists at a time.
///
/// Contract: `commit` writes one batch atomically — every bundle, tile and the checkpoint, or
/// none of them — and refuses a batch whose `old_size` is not the size of the latest stored
/// checkpoint, so a second writer can never fork the log. A batch is durable once a
/// [`LogSyncer::sync`] that *started after* its `commit` returned has succeeded; nothing of a
/// batch may be shown to anyone before that. (A backend whose `commit` is itself durable has a
/// syncer that does nothing.) After any error the caller must stop: a failed fsync is never
/// retried.
pub trait LogWriter: Send {
    /// Writes one batch atomically.
    fn commit(&mut self, batch: &BatchWrite) -> Result<()>;
    /// A handle that makes committed batches durable, usable from another thread so the next
    /// batch can be written while the previous one is being synced.
    fn syncer(&self) -> Result<Box<dyn LogSyncer>>;
}

/// Makes everything committed so far durable (see [`LogWriter`]).
pub trait LogSyncer: Send {
    /// Blocks until every batch committed before this call is on stable storage.
    fn sync(&mut self) -> Result<()>;
}

/// The read side of a store, shared by any number of threads (and, for a networked database,
/// processes). Reads see only committed batches.
pub trait LogReader: Send + Sync {
    /// The log's origin line, fixed at initialisation.
    fn origin(&self) -> &str;
    /// The log's verifier key, fixed at initialisation.
    fn log_vkey(&self) -> &str;
    /// The checkpoint with the largest size, if any batch was committed.
    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>>;
    /// The checkpoint signed for exactly `size`, if one was.
    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>>;
    /// Up to `limit` checkpoints with size greater than `after`, smallest first.
    fn checkpoints_after(&self, after: u64, limit: usize) -> Result<Vec<StoredCheckpoint>>;
    /// The widest stored version of hash tile (`level`, `index`).
    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>>;
    /// The widest stored version of entry bundle `index`.
    fn bundle(&self, index: u64) -> Result<Option<Vec<u8>>>;
    /// The bytes of entry bundle `index` from byte `from` on (empty if it is not longer): what
    /// a follower that already read a narrower version still needs. A backend across a network
    /// sends only these.
    fn bundle_tail(&self, index: u64, from: usize) -> Result<Option<Vec<u8>>> {
        Ok(self
            .bundle(index)?
            .map(|b| b.get(from..).map(<[u8]>::to_vec).unwrap_or_default()))
    }
    /// Up to `limit` hash tiles of `level` with index at least `from`, in index order.
    fn tiles_from(&self, level: u8, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>>;
    /// A setting fixed at initialisation (`meta` table), such as the deadline policy.
    fn meta(&self, key: &str) -> Result<Option<String>>;
    /// The payload stored with the entry at `index` whose leaf hash is `id` (`None` if there
    /// is none, or the entry at `index` is another).
    fn payload(&self, index: u64, id: &hotline_tlog::Hash) -> Result<Option<Vec<u8>>>;
    /// Every credential granted, in log order.
    fn credentials(&self) -> Result<Vec<Credential>>;
    /// Up to `limit` stored payload rows with log index at least `from`, in index order, as
    /// stored: `(index, id, data)` (the id is meant to be the entry's leaf hash; checkers such
    /// as [`fsck`] want to see it even when it is not 32 bytes).
    fn payloads_from(&self, from: u64, limit: usize) -> Result<Vec<PayloadRow>>;
    /// Every setting of the `meta` table, `(key, value)`, in key order (for copying a log).
    fn meta_all(&self) -> Result<Vec<(String, String)>>;
    /// Every credential with the log index of the entry it was granted with, in log order.
    fn credentials_indexed(&self) -> Result<Vec<(u64, Credential)>>;
    /// The TAXII collections kept beside the log, if this backend keeps them.
    fn taxii(&self) -> Option<&dyn taxii::TaxiiReader> {
        None
    }
    /// Everything the webhook tables hold, read at one moment (for copying a log), if this
    /// backend keeps them and the log has them.
    fn webhook_data(&self) -> Result<Option<webhooks::WebhookData>> {
        Ok(None)
    }
}
