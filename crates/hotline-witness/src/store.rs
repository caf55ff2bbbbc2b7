//! The witness's SQLite state: per log origin the latest cosigned checkpoint, and the refused
//! checkpoints that are evidence of a log's equivocation.
//!
//! Schema (`PRAGMA user_version = 1`):
//!
//! - `logs(origin TEXT PRIMARY KEY, size INTEGER, root BLOB(32), note BLOB, cosigned_at INTEGER)`:
//!   the latest checkpoint the witness cosigned for each origin. `note` is that checkpoint as a
//!   signed note carrying the log signatures the witness verified and the witness's own
//!   cosignature (what the monitoring API serves). `cosigned_at` is the cosignature's timestamp.
//! - `equivocations(id, origin, size, recorded_root, recorded_note, refused_root, refused_note,
//!   received_at)`: a validly signed checkpoint refused because the witness had already
//!   cosigned a checkpoint of the same size with another root; both signed notes are kept.
//!   One row per (origin, size, refused root).
//!
//! The database runs in WAL mode with `synchronous = FULL`: a commit is on disk before the
//! witness answers, as the spec requires ("The witness MUST persist the new checkpoint before
//! responding").

use std::path::Path;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use hotline_tlog::Hash;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use thiserror::Error;

const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS logs (
    origin TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL CHECK (size >= 0),
    root BLOB NOT NULL CHECK (length(root) = 32),
    note BLOB NOT NULL,
    cosigned_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS equivocations (
    id INTEGER PRIMARY KEY,
    origin TEXT NOT NULL,
    size INTEGER NOT NULL,
    recorded_root BLOB NOT NULL,
    recorded_note BLOB NOT NULL,
    refused_root BLOB NOT NULL,
    refused_note BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (origin, size, refused_root)
);
";

/// A storage failure.
#[derive(Debug, Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("witness database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The database was written by a newer version of the witness.
    #[error("witness database has schema version {0}, this witness knows version {SCHEMA_VERSION}")]
    UnknownSchema(i64),
    /// A stored value is not what this witness writes.
    #[error("witness database holds a corrupt row for log {0:?}")]
    Corrupt(String),
}

/// The latest checkpoint the witness cosigned for one log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogState {
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// The checkpoint as a signed note: the verified log signatures and the witness's
    /// cosignature.
    pub note: Vec<u8>,
    /// Timestamp of the witness's cosignature (seconds since the Unix epoch).
    pub cosigned_at: u64,
}

/// A refused checkpoint of the same size as a cosigned one but with another root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Equivocation {
    /// The log.
    pub origin: String,
    /// The tree size both checkpoints claim.
    pub size: u64,
    /// Root of the checkpoint the witness had cosigned.
    pub recorded_root: Hash,
    /// That checkpoint's signed note.
    pub recorded_note: Vec<u8>,
    /// Root of the refused checkpoint.
    pub refused_root: Hash,
    /// The refused checkpoint's signed note, as submitted.
    pub refused_note: Vec<u8>,
    /// When the witness received it (seconds since the Unix epoch).
    pub received_at: u64,
}

/// The witness database. One connection, used under a lock; every update runs in one
/// `BEGIN IMMEDIATE` transaction, so that concurrent writers (other threads, or another process
/// on the same file) are serialised.
#[derive(Debug)]
pub struct Store {
    conn: Mutex<Connection>,
}

impl Store {
    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::init(Connection::open(path)?)
    }

    /// A fresh database in memory (for tests).
    pub fn open_in_memory() -> Result<Store, StoreError> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(conn: Connection) -> Result<Store, StoreError> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // Answers the mode now in force ("memory" for an in-memory database).
        let _mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::UnknownSchema(version));
        }
        if version < SCHEMA_VERSION {
            let tx = conn.unchecked_transaction()?;
            tx.execute_batch(SCHEMA)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
            tx.commit()?;
        }
        Ok(Store {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        // A panic while the lock was held dropped its transaction, which rolled back.
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The latest cosigned checkpoint of `origin`, if any.
    pub fn latest(&self, origin: &str) -> Result<Option<LogState>, StoreError> {
        latest(&self.lock(), origin)
    }

    /// The recorded equivocations of `origin`, oldest first.
    pub fn equivocations(&self, origin: &str) -> Result<Vec<Equivocation>, StoreError> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT size, recorded_root, recorded_note, refused_root, refused_note, received_at
             FROM equivocations WHERE origin = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map(params![origin], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, Vec<u8>>(3)?,
                r.get::<_, Vec<u8>>(4)?,
                r.get::<_, i64>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (size, rr, rn, fr, fnote, at) = row?;
            let corrupt = || StoreError::Corrupt(origin.to_owned());
            out.push(Equivocation {
                origin: origin.to_owned(),
                size: u64::try_from(size).map_err(|_| corrupt())?,
                recorded_root: Hash::from_slice(&rr).ok_or_else(corrupt)?,
                recorded_note: rn,
                refused_root: Hash::from_slice(&fr).ok_or_else(corrupt)?,
                refused_note: fnote,
                received_at: u64::try_from(at).map_err(|_| corrupt())?,
            });
        }
        Ok(out)
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction and commits whatever it wrote, whatever
    /// its verdict (`Ok` or `Err(E)`); a storage error rolls back.
    pub(crate) fn transact<T, E>(
        &self,
        f: impl FnOnce(&Tx<'_>) -> Result<Result<T, E>, StoreError>,
    ) -> Result<Result<T, E>, StoreError> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let verdict = f(&Tx(&tx))?;
        tx.commit()?;
        Ok(verdict)
    }
}

/// The operations available inside [`Store::transact`].
pub(crate) struct Tx<'a>(&'a Transaction<'a>);

impl Tx<'_> {
    pub(crate) fn latest(&self, origin: &str) -> Result<Option<LogState>, StoreError> {
        latest(self.0, origin)
    }

    pub(crate) fn set_latest(&self, origin: &str, state: &LogState) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT INTO logs (origin, size, root, note, cosigned_at) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,
                 note = excluded.note, cosigned_at = excluded.cosigned_at",
            params![
                origin,
                to_sql_int(state.size, origin)?,
                &state.root.0[..],
                &state.note,
                to_sql_int(state.cosigned_at, origin)?
            ],
        )?;
        Ok(())
    }

    pub(crate) fn record_equivocation(&self, e: &Equivocation) -> Result<(), StoreError> {
        self.0.execute(
            "INSERT OR IGNORE INTO equivocations (origin, size, recorded_root, recorded_note,
                 refused_root, refused_note, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                e.origin,
                to_sql_int(e.size, &e.origin)?,
                &e.recorded_root.0[..],
                &e.recorded_note,
                &e.refused_root.0[..],
                &e.refused_note,
                to_sql_int(e.received_at, &e.origin)?
            ],
        )?;
        Ok(())
    }
}

fn to_sql_int(v: u64, origin: &str) -> Result<i64, StoreError> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(origin.to_owned()))
}

fn latest(conn: &Connection, origin: &str) -> Result<Option<LogState>, StoreError> {
    let row = conn
        .query_row(
            "SELECT size, root, note, cosigned_at FROM logs WHERE origin = ?1",
            params![origin],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Vec<u8>>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            },
        )
        .optional()?;
    let Some((size, root, note, at)) = row else {
        return Ok(None);
    };
    let corrupt = || StoreError::Corrupt(origin.to_owned());
    Ok(Some(LogState {
        size: u64::try_from(size).map_err(|_| corrupt())?,
        root: Hash::from_slice(&root).ok_or_else(corrupt)?,
        note,
        cosigned_at: u64::try_from(at).map_err(|_| corrupt())?,
    }))
}
