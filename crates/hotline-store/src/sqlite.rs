//! The embedded SQLite store: one file, WAL journal, one writer, nothing acknowledged before
//! an fsync of the WAL.
//!
//! Durability: readers and `create` run with `synchronous=FULL`. The writer commits with
//! `synchronous=NORMAL` — SQLite then writes the transaction's WAL frames without its own fsync
//! — and [`SqliteSyncer`] fdatasyncs the WAL file from another thread before the sequencer
//! acknowledges anything. That is the durability of `synchronous=FULL` for everything
//! acknowledged (the WAL's checksummed frames make any crash recover to a prefix of committed
//! transactions, and only transactions followed by a completed fdatasync were acknowledged),
//! while batch N+1 is written during batch N's fsync.
//!
//! Layout (schema version 3):
//!
//! - `meta(key, value)`: `schema_version`, `origin`, `log_vkey`, settings fixed at `init`;
//! - `bundles(idx, data)`: entry bundle `idx`, full or the current partial one;
//! - `tiles(id, level, idx, data)`: hash tiles, full or partial, `id = level << 56 | idx`;
//! - `checkpoints(size, note, created_ms)`: every checkpoint the log ever signed;
//! - `payloads(idx, id, data)`: the encrypted payload stored with the entry at log index `idx`
//!   whose leaf hash is `id` (version 2 keyed them by `id`);
//! - `credentials(token_hash, party, idx)`: API credentials granted with entry `idx`;
//! - the TAXII tables ([`crate::taxii`]) and the webhook tables ([`crate::webhooks`]), each
//!   versioned on its own and created when missing.
//!
//! The file is created mode 0600 (it holds the webhooks' secrets; SQLite gives the WAL and
//! shared-memory files the database file's mode), and a writer takes group and other
//! permissions off a database created before that.
//!
//! Partial tiles and bundles are rewritten in place as they grow; a narrower version is always
//! a prefix of a wider one, so readers cut any published partial width from the stored one.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::error::{Result, StoreError};
use crate::{BatchWrite, LogReader, LogWriter, StoredCheckpoint};

/// Page size of new databases. A full entry bundle of 400-byte entries is about 100 KiB: with
/// 32 KiB pages it fills three overflow pages almost exactly and leaves a small remainder on a
/// shared leaf page; with 64 KiB pages each bundle wasted a quarter of its second page (measured:
/// 514 MB instead of 404 MB for the same 1,000,000 entries, and slower).
pub const PAGE_SIZE: i64 = 32_768;

/// Schema version written by this build. Versions 1 (the log alone) and 2 (payloads keyed by
/// statement id) are migrated on opening for writing.
pub const SCHEMA_VERSION: u32 = 3;
/// The database file inside a data directory.
pub const DB_FILE: &str = "hotline.db";

const SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE bundles (
    idx  INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE tiles (
    id    INTEGER PRIMARY KEY,
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    data  BLOB NOT NULL,
    CHECK (id = (level << 56) | idx)
);
CREATE TABLE checkpoints (
    size       INTEGER PRIMARY KEY,
    note       BLOB NOT NULL,
    created_ms INTEGER NOT NULL
);
";

/// Data stored with log entries in the same commit (schema version 3).
///
/// Payloads are keyed by log index, so a batch appends them to the end of one b-tree. Version 2
/// keyed them by statement id (a hash) with a unique index: every insert dirtied a random
/// 32 KiB index page, and under 64 concurrent clients that was half of all bytes written
/// (measured with `hotline bench submit`: 1.09 GB written for 30,000 statements with the
/// payloads, 0.51 GB without). The id is kept, unindexed, to check a lookup by index.
const SCHEMA_PAYLOADS: &str = "
CREATE TABLE payloads (
    idx  INTEGER PRIMARY KEY,
    id   BLOB NOT NULL,
    data BLOB NOT NULL
);
";

/// Credentials (schema version 2 and later).
const SCHEMA_CREDENTIALS: &str = "
CREATE TABLE credentials (
    token_hash BLOB PRIMARY KEY,
    party      TEXT NOT NULL,
    idx        INTEGER NOT NULL
);
";

/// The TAXII tables ([`crate::taxii`]), created when missing by [`create`] and
/// [`SqliteWriter::open`]; versioned on their own (`meta` key `taxii_schema_version`).
/// `taxii_objects` is keyed by `date_added`, which grows with the log index, so a batch appends
/// at the end of its b-tree; the unique index refuses a second copy of a version.
const SCHEMA_TAXII: &str = "
CREATE TABLE IF NOT EXISTS taxii_publications (
    idx        INTEGER PRIMARY KEY,
    status_id  TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    body       BLOB NOT NULL,
    status     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS taxii_objects (
    date_added   INTEGER PRIMARY KEY,
    idx          INTEGER NOT NULL,
    collection   TEXT NOT NULL,
    obj_id       TEXT NOT NULL,
    obj_type     TEXT NOT NULL,
    version      TEXT NOT NULL,
    version_key  TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    json         BLOB NOT NULL,
    superseded_at INTEGER,
    preceded_at   INTEGER,
    UNIQUE (collection, obj_id, version_key)
);
CREATE INDEX IF NOT EXISTS taxii_objects_by_collection ON taxii_objects(collection, date_added);
CREATE INDEX IF NOT EXISTS taxii_objects_by_entry ON taxii_objects(idx);
INSERT OR IGNORE INTO meta(key, value) VALUES ('taxii_schema_version', '2');
";

/// Upgrades version-1 TAXII tables to version 2 (the version marks, [`crate::taxii`]) in one
/// transaction; refuses TAXII tables of a version this build does not know.
fn migrate_taxii(conn: &mut Connection, path: &Path) -> Result<()> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'taxii_schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err(path))?;
    match version.as_deref() {
        Some("2") => Ok(()),
        Some("1") => {
            let tx = conn.transaction().map_err(db_err(path))?;
            tx.execute_batch(
                "ALTER TABLE taxii_objects ADD COLUMN superseded_at INTEGER;
                 ALTER TABLE taxii_objects ADD COLUMN preceded_at INTEGER;",
            )
            .map_err(db_err(path))?;
            tx.execute_batch(crate::taxii::MIGRATE_V1_MARKS)
                .map_err(db_err(path))?;
            tx.commit().map_err(db_err(path))?;
            tracing::info!(path = %path.display(), "migrated the TAXII tables from version 1 to 2");
            Ok(())
        }
        other => Err(StoreError::SchemaVersion {
            path: format!("{} (TAXII tables)", path.display()),
            found: other.unwrap_or("none").to_owned(),
            expected: crate::taxii::SCHEMA_VERSION,
        }),
    }
}

/// Writes the TAXII side data of some entries (in log order, after everything stored) with
/// their version marks ([`crate::taxii::plan_marks`]); the caller's transaction makes it
/// atomic. Shared by [`SqliteWriter`]'s commit and the copy into a new SQLite database.
pub(crate) fn write_taxii(
    conn: &Connection,
    publications: &[(i64, &crate::taxii::TaxiiPublication)],
) -> rusqlite::Result<()> {
    if publications.is_empty() {
        return Ok(());
    }
    let mut put_publication = conn.prepare_cached(
        "INSERT INTO taxii_publications(idx, status_id, collection, body, status) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut range = conn.prepare_cached(
        "SELECT min(version_key), max(version_key) FROM taxii_objects \
         WHERE collection = ?1 AND obj_id = ?2",
    )?;
    let mut stored = crate::taxii::StoredRanges::new();
    let mut looked_up = std::collections::HashSet::new();
    let mut rows = Vec::new();
    for (idx, t) in publications {
        put_publication.execute(params![*idx, t.status_id, t.collection, t.body, t.status])?;
        for o in &t.objects {
            if looked_up.insert((t.collection.as_str(), o.id.as_str())) {
                let (min, max): (Option<String>, Option<String>) =
                    range.query_row(params![t.collection, o.id], |r| Ok((r.get(0)?, r.get(1)?)))?;
                if let (Some(min), Some(max)) = (min, max) {
                    stored.insert((t.collection.clone(), o.id.clone()), (min, max));
                }
            }
            rows.push((
                *idx,
                t.collection.as_str(),
                o.id.as_str(),
                o.version_key.as_str(),
            ));
        }
    }
    let plan = crate::taxii::plan_marks(&rows, &stored);
    let mut put_object = conn.prepare_cached(
        "INSERT OR IGNORE INTO taxii_objects(date_added, idx, collection, obj_id, obj_type, \
         version, version_key, spec_version, json, superseded_at, preceded_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?;
    let mut marks = plan.rows.iter();
    for (idx, t) in publications {
        for o in &t.objects {
            let Some(Some((superseded, preceded))) = marks.next() else {
                continue;
            };
            put_object.execute(params![
                o.date_added_us,
                *idx,
                t.collection,
                o.id,
                o.object_type,
                o.version,
                o.version_key,
                o.spec_version,
                o.json,
                superseded,
                preceded
            ])?;
        }
    }
    for (column, list) in [
        ("superseded_at", &plan.supersede),
        ("preceded_at", &plan.precede),
    ] {
        let mut mark = conn.prepare_cached(&format!(
            "UPDATE taxii_objects SET {column} = ?4 WHERE collection = ?1 AND obj_id = ?2 \
             AND version_key = ?3 AND {column} IS NULL"
        ))?;
        for (c, id, k, idx) in list {
            mark.execute(params![c, id, k, idx])?;
        }
    }
    Ok(())
}

fn tile_key(level: u8, index: u64) -> i64 {
    ((u64::from(level) << 56) | index) as i64
}

fn db_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Database {
        path: path.display().to_string(),
        source,
    }
}

fn configure(conn: &Connection, path: &Path) -> Result<()> {
    configure_with(conn, path, "FULL")
}

fn configure_with(conn: &Connection, path: &Path, synchronous: &str) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db_err(path))?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .map_err(db_err(path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::Corrupt(format!(
            "{}: could not switch to WAL journal mode (got {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", synchronous)
        .map_err(db_err(path))?;
    // 64 MiB of page cache per connection.
    conn.pragma_update(None, "cache_size", -65_536i64)
        .map_err(db_err(path))?;
    Ok(())
}

/// Creates a new log database at `path` for `origin` with the log's verifier key.
/// Fails if the file exists.
pub fn create(path: &Path, origin: &str, log_vkey: &str) -> Result<()> {
    if path.exists() {
        return Err(StoreError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a database already exists here; refusing to overwrite it",
            ),
        });
    }
    // Readable by its owner only, from its first byte: it holds webhook secrets (and SQLite
    // gives the WAL and shared-memory files the database file's mode).
    create_private(path)?;
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE,
    )
    .map_err(db_err(path))?;
    // The page size must be set before the first table exists.
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(db_err(path))?;
    configure(&conn, path)?;
    let mut conn = conn;
    let tx = conn.transaction().map_err(db_err(path))?;
    tx.execute_batch(SCHEMA).map_err(db_err(path))?;
    tx.execute_batch(SCHEMA_PAYLOADS).map_err(db_err(path))?;
    tx.execute_batch(SCHEMA_CREDENTIALS).map_err(db_err(path))?;
    tx.execute_batch(SCHEMA_TAXII).map_err(db_err(path))?;
    tx.execute_batch(SCHEMA_WEBHOOKS).map_err(db_err(path))?;
    for (k, v) in [
        ("schema_version", SCHEMA_VERSION.to_string()),
        ("origin", origin.to_owned()),
        ("log_vkey", log_vkey.to_owned()),
    ] {
        tx.execute(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)",
            params![k, v],
        )
        .map_err(db_err(path))?;
    }
    tx.commit().map_err(db_err(path))?;
    Ok(())
}

/// Creates an empty file at `path` that only its owner may read or write.
fn create_private(path: &Path) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    opts.open(path).map(drop).map_err(|source| StoreError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Takes group and other permissions off the database file and its WAL and shared-memory
/// files (a database created before [`create`] made them private).
fn restrict_to_owner(path: &Path) -> Result<()> {
    #[cfg(unix)]
    for suffix in ["", "-wal", "-shm"] {
        use std::os::unix::fs::PermissionsExt as _;
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = PathBuf::from(file);
        let Ok(meta) = std::fs::metadata(&file) else {
            continue;
        };
        let mode = meta.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode & 0o700))
                .map_err(|source| StoreError::Io {
                    path: file.display().to_string(),
                    source,
                })?;
            tracing::info!(path = %file.display(), "made the database file private to its owner");
        }
    }
    Ok(())
}

/// Records a setting of a new hotline (before its first statement); existing settings are
/// never changed.
pub fn set_meta(path: &Path, key: &str, value: &str) -> Result<()> {
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
        .map_err(db_err(path))?;
    configure(&conn, path)?;
    conn.execute(
        "INSERT INTO meta(key, value) VALUES (?1, ?2)",
        params![key, value],
    )
    .map_err(|e| match e {
        rusqlite::Error::SqliteFailure(f, _)
            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
        {
            StoreError::Corrupt(format!(
                "{}: the setting {key} is already fixed",
                path.display()
            ))
        }
        other => db_err(path)(other),
    })?;
    Ok(())
}

/// Identity of an opened database.
#[derive(Clone, Debug)]
struct Meta {
    origin: String,
    log_vkey: String,
}

fn open_existing(path: &Path, read_only: bool) -> Result<(Connection, Meta)> {
    open_existing_with(path, read_only, "FULL")
}

fn open_existing_with(
    path: &Path,
    read_only: bool,
    synchronous: &str,
) -> Result<(Connection, Meta)> {
    if !path.exists() {
        return Err(StoreError::NotInitialised(path.display().to_string()));
    }
    // NO_MUTEX: a rusqlite `Connection` is used by one thread at a time (it is `!Sync`), so
    // SQLite's per-connection mutex, taken on every API call (each column of each row), only
    // costs (~10 % of a TAXII page's CPU under `perf`).
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db_err(path))?;
    configure_with(&conn, path, synchronous)?;
    if read_only {
        conn.pragma_update(None, "query_only", true)
            .map_err(db_err(path))?;
    }
    let meta = read_meta(&conn, path)?;
    Ok((conn, meta))
}

/// Upgrades a version-1 database (the log alone) or a version-2 one (payloads keyed by
/// statement id) to version 3, in one transaction: nothing changes unless all of it does.
fn migrate(conn: &mut Connection, path: &Path) -> Result<()> {
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err(path))?;
    let steps = match version.as_deref() {
        Some("1") => [SCHEMA_PAYLOADS, SCHEMA_CREDENTIALS].as_slice(),
        Some("2") => ["CREATE TABLE payloads_v3 (
                idx  INTEGER PRIMARY KEY,
                id   BLOB NOT NULL,
                data BLOB NOT NULL
            );
            INSERT INTO payloads_v3(idx, id, data) SELECT idx, id, data FROM payloads ORDER BY idx;
            DROP TABLE payloads;
            ALTER TABLE payloads_v3 RENAME TO payloads;"]
        .as_slice(),
        _ => return Ok(()),
    };
    let from = version.unwrap_or_default();
    let tx = conn.transaction().map_err(db_err(path))?;
    for step in steps {
        tx.execute_batch(step).map_err(db_err(path))?;
    }
    tx.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'schema_version'",
        [SCHEMA_VERSION.to_string()],
    )
    .map_err(db_err(path))?;
    tx.commit().map_err(db_err(path))?;
    tracing::info!(
        path = %path.display(),
        from = %from,
        to = SCHEMA_VERSION,
        "migrated the database schema"
    );
    Ok(())
}

fn read_meta(conn: &Connection, path: &Path) -> Result<Meta> {
    let has_meta: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
            [],
            |r| r.get::<_, i64>(0).map(|n| n > 0),
        )
        .map_err(db_err(path))?;
    if !has_meta {
        return Err(StoreError::NotInitialised(path.display().to_string()));
    }
    let get = |k: &str| -> Result<Option<String>> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()
            .map_err(db_err(path))
    };
    let version = get("schema_version")?.unwrap_or_default();
    if version != SCHEMA_VERSION.to_string() {
        return Err(StoreError::SchemaVersion {
            path: path.display().to_string(),
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    let origin = get("origin")?
        .ok_or_else(|| StoreError::Corrupt(format!("{}: meta has no origin", path.display())))?;
    let log_vkey = get("log_vkey")?
        .ok_or_else(|| StoreError::Corrupt(format!("{}: meta has no log_vkey", path.display())))?;
    Ok(Meta { origin, log_vkey })
}

/// WAL pages after which the writer itself checkpoints, blocking, if the background
/// checkpointer has fallen behind (32 KiB pages: 64 MiB). A bounded WAL is reused from its
/// start after each complete checkpoint instead of growing (growth costs block allocation).
const WAL_SAFETY_PAGES: i64 = 2048;

/// The single writer of a SQLite log database.
///
/// Copying the WAL back into the database file (a checkpoint) is done by a background thread
/// with its own connection, so the sequencer's commits only append to the WAL and fsync it.
/// A checkpoint failure is reported by the next commit, which then fails: the sequencer stops.
pub struct SqliteWriter {
    conn: Connection,
    path: PathBuf,
    checkpointer: Option<Checkpointer>,
}

/// Bytes committed to the WAL after which the checkpointer is woken. Checkpointing after every
/// commit would add an fsync of the database file per batch; this many bytes keeps the WAL
/// small while paying that fsync rarely. Smaller is gentler on receipt latency: each checkpoint's
/// database fsync competes with the WAL fsync that receipts wait for. Measured with `hotline
/// bench submit` (5 × 50,000 statements into one growing log): 32 MiB gave p99 8.4–9.0 ms with
/// maxima to 110 ms and throughput falling run by run; 8 MiB gave p99 6.7–7.3 ms, steady
/// throughput, and the same bulk rate under `hotline bench log`.
const CHECKPOINT_EVERY_BYTES: u64 = 8 << 20;
/// When commits stop, the WAL is folded into the database after this long.
const CHECKPOINT_WHEN_IDLE: std::time::Duration = std::time::Duration::from_millis(500);

struct Checkpointer {
    wake: std::sync::mpsc::SyncSender<()>,
    /// Bytes committed since the last checkpoint started.
    pending: std::sync::Arc<std::sync::atomic::AtomicU64>,
    failure: std::sync::Arc<Mutex<Option<String>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Checkpointer {
    fn start(path: &Path) -> Result<Checkpointer> {
        let (conn, _) = open_existing(path, false)?;
        let (wake, woken) = std::sync::mpsc::sync_channel::<()>(1);
        let pending = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let unfolded = pending.clone();
        let failure = std::sync::Arc::new(Mutex::new(None));
        let fail = failure.clone();
        let p = path.to_owned();
        let thread = std::thread::Builder::new()
            .name("hotline-wal-checkpoint".into())
            .spawn(move || {
                // Each wake-up runs one passive checkpoint: it copies what it can without ever
                // blocking the writer or readers. A quiet spell after commits runs one too.
                use std::sync::atomic::Ordering::Relaxed;
                use std::sync::mpsc::RecvTimeoutError;
                loop {
                    match woken.recv_timeout(CHECKPOINT_WHEN_IDLE) {
                        Ok(()) => {}
                        Err(RecvTimeoutError::Timeout) if unfolded.load(Relaxed) > 0 => {}
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => break,
                    }
                    unfolded.store(0, Relaxed);
                    let r: rusqlite::Result<(i64, i64, i64)> =
                        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
                            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                        });
                    if let Err(e) = r {
                        if let Ok(mut f) = fail.lock() {
                            *f = Some(format!("checkpointing {}: {e}", p.display()));
                        }
                        return;
                    }
                }
                // Writer gone: fold the WAL into the database so the file stands alone.
                let _ = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
            })
            .map_err(|e| StoreError::Io {
                path: path.display().to_string(),
                source: e,
            })?;
        Ok(Checkpointer {
            wake,
            pending,
            failure,
            thread: Some(thread),
        })
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        if let Some(mut c) = self.checkpointer.take() {
            drop(c.wake);
            if let Some(t) = c.thread.take() {
                let _ = t.join();
            }
        }
    }
}

impl SqliteWriter {
    /// Opens the database for writing.
    pub fn open(path: &Path) -> Result<SqliteWriter> {
        if !path.exists() {
            return Err(StoreError::NotInitialised(path.display().to_string()));
        }
        {
            let mut conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE)
                .map_err(db_err(path))?;
            configure(&conn, path)?;
            let has_meta: bool = conn
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
                    [],
                    |r| r.get::<_, i64>(0).map(|n| n > 0),
                )
                .map_err(db_err(path))?;
            if has_meta {
                migrate(&mut conn, path)?;
                conn.execute_batch(SCHEMA_TAXII).map_err(db_err(path))?;
                migrate_taxii(&mut conn, path)?;
                ensure_webhooks(&conn, path)?;
            }
            restrict_to_owner(path)?;
        }
        // NORMAL: the commit does not fsync; SqliteSyncer does, before anything is acknowledged.
        let (conn, _) = open_existing_with(path, false, "NORMAL")?;
        conn.pragma_update(None, "wal_autocheckpoint", WAL_SAFETY_PAGES)
            .map_err(db_err(path))?;
        Ok(SqliteWriter {
            conn,
            path: path.to_owned(),
            checkpointer: Some(Checkpointer::start(path)?),
        })
    }
}

/// Makes committed transactions durable by fdatasyncing the WAL file.
pub struct SqliteSyncer {
    wal: std::fs::File,
    path: PathBuf,
}

impl crate::LogSyncer for SqliteSyncer {
    fn sync(&mut self) -> Result<()> {
        // fdatasync covers every write to the file before the call, whichever descriptor made
        // it. The WAL file lives as long as any connection is open, and it is never unlinked
        // while the writer runs.
        self.wal.sync_data().map_err(|source| StoreError::Io {
            path: self.path.display().to_string(),
            source,
        })
    }
}

impl LogWriter for SqliteWriter {
    fn syncer(&self) -> Result<Box<dyn crate::LogSyncer>> {
        let mut wal = self.path.clone().into_os_string();
        wal.push("-wal");
        let wal = PathBuf::from(wal);
        // The WAL exists once the database was opened in WAL mode by a connection that read it.
        let file = std::fs::OpenOptions::new()
            .read(true)
            .open(&wal)
            .map_err(|source| StoreError::Io {
                path: wal.display().to_string(),
                source,
            })?;
        Ok(Box::new(SqliteSyncer {
            wal: file,
            path: wal,
        }))
    }

    fn commit(&mut self, batch: &BatchWrite) -> Result<()> {
        let path = self.path.clone();
        if let Some(c) = &self.checkpointer
            && let Some(msg) = c.failure.lock().ok().and_then(|f| f.clone())
        {
            return Err(StoreError::Corrupt(format!(
                "the database file could not be written: {msg}"
            )));
        }
        let e = db_err(&path);
        // IMMEDIATE: take the write lock at BEGIN (waiting up to the busy timeout). Other
        // connections write this file too (the webhook notifier's); a deferred transaction that
        // read first and then found another commit newer than its snapshot would fail at once
        // with SQLITE_BUSY, without waiting, and stop the sequencer.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&e)?;
        let latest: Option<i64> = tx
            .query_row("SELECT max(size) FROM checkpoints", [], |r| r.get(0))
            .map_err(&e)?;
        let latest = latest.unwrap_or(0) as u64;
        if latest != batch.old_size {
            return Err(StoreError::Corrupt(format!(
                "batch extends size {} but the latest stored checkpoint has size {latest}; \
                 another writer is active or the sequencer state is stale",
                batch.old_size
            )));
        }
        {
            let mut put_bundle = tx
                .prepare_cached("INSERT OR REPLACE INTO bundles(idx, data) VALUES (?1, ?2)")
                .map_err(&e)?;
            for (idx, data) in &batch.bundles {
                put_bundle.execute(params![*idx as i64, data]).map_err(&e)?;
            }
            let mut put_tile = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO tiles(id, level, idx, data) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&e)?;
            for (level, idx, data) in &batch.tiles {
                put_tile
                    .execute(params![tile_key(*level, *idx), level, *idx as i64, data])
                    .map_err(&e)?;
            }
            let mut put_payload = tx
                .prepare_cached("INSERT OR IGNORE INTO payloads(idx, id, data) VALUES (?1, ?2, ?3)")
                .map_err(&e)?;
            let mut put_credential = tx
                .prepare_cached(
                    "INSERT INTO credentials(token_hash, party, idx) VALUES (?1, ?2, ?3)",
                )
                .map_err(&e)?;
            for (idx, id, side) in &batch.sides {
                if let Some(p) = &side.payload {
                    put_payload
                        .execute(params![*idx as i64, &id.0[..], p])
                        .map_err(&e)?;
                }
                if let Some(c) = &side.credential {
                    put_credential
                        .execute(params![&c.token_hash[..], c.party, *idx as i64])
                        .map_err(&e)?;
                }
            }
            let publications: Vec<(i64, &crate::taxii::TaxiiPublication)> = batch
                .sides
                .iter()
                .filter_map(|(idx, _, side)| side.taxii.as_deref().map(|t| (*idx as i64, t)))
                .collect();
            write_taxii(&tx, &publications).map_err(&e)?;
            tx.execute(
                "INSERT INTO checkpoints(size, note, created_ms) VALUES (?1, ?2, ?3)",
                params![
                    batch.checkpoint.size as i64,
                    batch.checkpoint.note,
                    batch.checkpoint.created_ms
                ],
            )
            .map_err(&e)?;
        }
        tx.commit().map_err(&e)?;
        if let Some(c) = &self.checkpointer {
            let side = |s: &crate::EntrySide| {
                s.payload.as_ref().map_or(0, |p| p.len() as u64)
                    + s.taxii.as_ref().map_or(0, |t| {
                        2 * t.body.len() as u64 + t.objects.len() as u64 * 128
                    })
            };
            let bytes = batch
                .bundles
                .iter()
                .map(|(_, d)| d.len() as u64)
                .sum::<u64>()
                + batch
                    .tiles
                    .iter()
                    .map(|(_, _, d)| d.len() as u64)
                    .sum::<u64>()
                + batch.sides.iter().map(|(_, _, s)| side(s)).sum::<u64>();
            let pending = c
                .pending
                .fetch_add(bytes, std::sync::atomic::Ordering::Relaxed)
                + bytes;
            if pending >= CHECKPOINT_EVERY_BYTES {
                // Never blocks: if a wake-up is already pending, one checkpoint covers both.
                let _ = c.wake.try_send(());
            }
        }
        Ok(())
    }
}

/// Read access to a SQLite log database through a small pool of connections.
pub struct SqliteReader {
    path: PathBuf,
    meta: Meta,
    pool: Mutex<Vec<Connection>>,
    /// Whether the database has the TAXII tables (a log never opened by a writer of a build
    /// that knows TAXII has not).
    has_taxii: bool,
    /// The version of its TAXII tables (`meta` key `taxii_schema_version`).
    taxii_version: String,
}

impl SqliteReader {
    /// Opens the database for reading.
    pub fn open(path: &Path) -> Result<SqliteReader> {
        let (conn, meta) = open_existing(path, true)?;
        let has_taxii = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'taxii_objects'",
                [],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )
            .map_err(db_err(path))?;
        let taxii_version: String = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'taxii_schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(db_err(path))?
            .unwrap_or_default();
        Ok(SqliteReader {
            path: path.to_owned(),
            meta,
            pool: Mutex::new(vec![conn]),
            has_taxii,
            taxii_version,
        })
    }

    /// Path of the database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn with_conn<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = match self.pool.lock().ok().and_then(|mut p| p.pop()) {
            Some(c) => c,
            None => open_existing(&self.path, true)?.0,
        };
        let out = f(&conn).map_err(db_err(&self.path));
        if let Ok(mut p) = self.pool.lock()
            && p.len() < 16
        {
            p.push(conn);
        }
        out
    }

    /// Runs `PRAGMA quick_check` and reports the first problem SQLite finds.
    pub fn quick_check(&self) -> Result<()> {
        let msg: String =
            self.with_conn(|c| c.query_row("PRAGMA quick_check", [], |r| r.get(0)))?;
        if msg != "ok" {
            return Err(StoreError::Corrupt(format!(
                "{}: SQLite integrity check failed: {msg}",
                self.path.display()
            )));
        }
        Ok(())
    }
}

fn row_checkpoint(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: r.get::<_, i64>(0)? as u64,
        note: r.get(1)?,
        created_ms: r.get(2)?,
    })
}

impl LogReader for SqliteReader {
    fn origin(&self) -> &str {
        &self.meta.origin
    }

    fn taxii(&self) -> Option<&dyn crate::taxii::TaxiiReader> {
        if self.has_taxii { Some(self) } else { None }
    }

    fn webhook_data(&self) -> Result<Option<crate::webhooks::WebhookData>> {
        self.with_conn(|c| {
            if !has_webhook_tables(c)? {
                return Ok(None);
            }
            // One read transaction: a consistent snapshot of every table.
            let tx = c.unchecked_transaction()?;
            read_webhook_data(&tx).map(Some)
        })
    }

    fn log_vkey(&self) -> &str {
        &self.meta.log_vkey
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.with_conn(|c| {
            c.prepare_cached(
                "SELECT size, note, created_ms FROM checkpoints ORDER BY size DESC LIMIT 1",
            )?
            .query_row([], row_checkpoint)
            .optional()
        })
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT size, note, created_ms FROM checkpoints WHERE size = ?1")?
                .query_row([size as i64], row_checkpoint)
                .optional()
        })
    }

    fn checkpoints_after(&self, after: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        self.with_conn(|c| {
            c.prepare_cached(
                "SELECT size, note, created_ms FROM checkpoints WHERE size > ?1 \
                 ORDER BY size LIMIT ?2",
            )?
            .query_map(params![after as i64, limit as i64], row_checkpoint)?
            .collect()
        })
    }

    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT data FROM tiles WHERE id = ?1")?
                .query_row([tile_key(level, index)], |r| r.get(0))
                .optional()
        })
    }

    fn bundle(&self, index: u64) -> Result<Option<Vec<u8>>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT data FROM bundles WHERE idx = ?1")?
                .query_row([index as i64], |r| r.get(0))
                .optional()
        })
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()
        })
    }

    fn payload(&self, index: u64, id: &hotline_tlog::Hash) -> Result<Option<Vec<u8>>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT data FROM payloads WHERE idx = ?1 AND id = ?2")?
                .query_row(params![index as i64, &id.0[..]], |r| r.get(0))
                .optional()
        })
    }

    fn credentials(&self) -> Result<Vec<crate::Credential>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT token_hash, party FROM credentials ORDER BY idx")?
                .query_map([], |r| {
                    let h: Vec<u8> = r.get(0)?;
                    let mut token_hash = [0u8; 32];
                    if h.len() == 32 {
                        token_hash.copy_from_slice(&h);
                    }
                    Ok(crate::Credential {
                        token_hash,
                        party: r.get(1)?,
                    })
                })?
                .collect()
        })
    }

    fn meta_all(&self) -> Result<Vec<(String, String)>> {
        self.with_conn(|c| {
            c.prepare_cached("SELECT key, value FROM meta ORDER BY key")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
    }

    fn credentials_indexed(&self) -> Result<Vec<(u64, crate::Credential)>> {
        let rows: Vec<(Vec<u8>, String, i64)> = self.with_conn(|c| {
            c.prepare_cached("SELECT token_hash, party, idx FROM credentials ORDER BY idx")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })?;
        rows.into_iter()
            .map(|(h, party, idx)| {
                let token_hash = <[u8; 32]>::try_from(h.as_slice()).map_err(|_| {
                    StoreError::Corrupt(format!(
                        "{}: a credential's token hash has {} bytes, not 32",
                        self.path.display(),
                        h.len()
                    ))
                })?;
                Ok((idx as u64, crate::Credential { token_hash, party }))
            })
            .collect()
    }

    fn payloads_from(&self, from: u64, limit: usize) -> Result<Vec<crate::PayloadRow>> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        self.with_conn(|c| {
            c.prepare_cached(
                "SELECT idx, id, data FROM payloads WHERE idx >= ?1 ORDER BY idx LIMIT ?2",
            )?
            .query_map(params![from, limit as i64], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get(1)?, r.get(2)?))
            })?
            .collect()
        })
    }

    fn tiles_from(&self, level: u8, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        self.with_conn(|c| {
            c.prepare_cached(
                "SELECT idx, data FROM tiles WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT ?3",
            )?
            .query_map(
                params![
                    tile_key(level, from),
                    tile_key(level.saturating_add(1), 0),
                    limit as i64
                ],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )?
            .collect()
        })
    }
}

/// Benchmark baseline: writes `entries` entries of `entry_size` random bytes as plain 256-entry
/// rows into a fresh database at `path`, with the same pragmas as a log (same page size, WAL,
/// `synchronous=FULL`) and one transaction per `batch` entries — SQLite alone, no hashing, no
/// tiles, no signatures. Returns the elapsed time.
pub fn baseline_bundle_writes(
    path: &Path,
    entries: u64,
    entry_size: usize,
    batch: usize,
) -> Result<std::time::Duration> {
    let conn = Connection::open(path).map_err(db_err(path))?;
    conn.pragma_update(None, "page_size", PAGE_SIZE)
        .map_err(db_err(path))?;
    configure(&conn, path)?;
    conn.execute_batch("CREATE TABLE rows (idx INTEGER PRIMARY KEY, data BLOB NOT NULL)")
        .map_err(db_err(path))?;
    let mut row = vec![0u8; 256 * (entry_size + 2)];
    rand::fill(&mut row[..]);
    let rows = entries.div_ceil(256);
    let per_tx = (batch as u64).div_ceil(256).max(1);
    let mut conn = conn;
    let started = std::time::Instant::now();
    let mut next = 0u64;
    while next < rows {
        let tx = conn.transaction().map_err(db_err(path))?;
        {
            let mut put = tx
                .prepare_cached("INSERT INTO rows (idx, data) VALUES (?1, ?2)")
                .map_err(db_err(path))?;
            for _ in 0..per_tx.min(rows - next) {
                row[..8].copy_from_slice(&next.to_be_bytes());
                put.execute(params![next as i64, row])
                    .map_err(db_err(path))?;
                next += 1;
            }
        }
        tx.commit().map_err(db_err(path))?;
    }
    Ok(started.elapsed())
}

impl crate::taxii::TaxiiReader for SqliteReader {
    fn taxii_objects(
        &self,
        q: &crate::taxii::TaxiiQuery,
        with_json: bool,
    ) -> Result<Vec<crate::taxii::TaxiiRow>> {
        use crate::taxii::Param;
        crate::taxii::check_queryable(&self.path.display().to_string(), &self.taxii_version)?;
        let (clause, params) = crate::taxii::where_clause(q, |n| format!("?{n}"));
        let json = if with_json { "o.json" } else { "x''" };
        let sql = format!(
            "SELECT o.obj_id, o.version, o.date_added, {json} FROM taxii_objects o \
             WHERE {clause} ORDER BY o.date_added LIMIT {}",
            q.limit
        );
        let values: Vec<rusqlite::types::Value> = params
            .into_iter()
            .map(|p| match p {
                Param::Int(i) => rusqlite::types::Value::Integer(i),
                Param::Text(t) => rusqlite::types::Value::Text(t),
            })
            .collect();
        self.with_conn(|c| {
            c.prepare_cached(&sql)?
                .query_map(rusqlite::params_from_iter(values), |r| {
                    Ok(crate::taxii::TaxiiRow {
                        id: r.get(0)?,
                        version: r.get(1)?,
                        date_added_us: r.get(2)?,
                        json: r.get(3)?,
                    })
                })?
                .collect()
        })
    }

    fn taxii_status(&self, status_id: &str) -> Result<Option<crate::taxii::TaxiiStatus>> {
        self.with_conn(|c| {
            c.prepare_cached(
                "SELECT idx, collection, status FROM taxii_publications WHERE status_id = ?1",
            )?
            .query_row([status_id], |r| {
                Ok(crate::taxii::TaxiiStatus {
                    index: r.get::<_, i64>(0)? as u64,
                    collection: r.get(1)?,
                    status: r.get(2)?,
                })
            })
            .optional()
        })
    }

    fn taxii_body(&self, index: u64) -> Result<Option<Vec<u8>>> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        self.with_conn(|c| {
            c.prepare_cached("SELECT body FROM taxii_publications WHERE idx = ?1")?
                .query_row([index], |r| r.get(0))
                .optional()
        })
    }

    fn taxii_last_date_added(&self) -> Result<Option<i64>> {
        self.with_conn(|c| {
            c.query_row("SELECT max(date_added) FROM taxii_objects", [], |r| {
                r.get(0)
            })
        })
    }

    fn taxii_integrity(&self, size: u64) -> Result<crate::taxii::TaxiiIntegrity> {
        use crate::taxii::{MARKS_MISMATCH, ORPHAN_OBJECTS, PUBLICATIONS_BEYOND};
        let marks = self.taxii_version == crate::taxii::SCHEMA_VERSION.to_string();
        let mut out = crate::taxii::TaxiiIntegrity::default();
        let (beyond, orphans, mismatched) = self.with_conn(|c| {
            (out.publications, out.objects) = c.query_row(
                "SELECT (SELECT count(*) FROM taxii_publications), \
                 (SELECT count(*) FROM taxii_objects)",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
            )?;
            let beyond = c
                .prepare(&PUBLICATIONS_BEYOND.replace("{size}", "?1"))?
                .query_map([i64::try_from(size).unwrap_or(i64::MAX)], |r| r.get(0))?
                .collect::<rusqlite::Result<Vec<i64>>>()?;
            let orphans = c
                .prepare(ORPHAN_OBJECTS)?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mismatched = if marks {
                c.prepare(MARKS_MISMATCH)?
                    .query_map([], |r| {
                        Ok((
                            r.get(0)?,
                            r.get(1)?,
                            [r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?],
                        ))
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?
            } else {
                Vec::new()
            };
            Ok((beyond, orphans, mismatched))
        })?;
        out.describe(size, &beyond, &orphans, &mismatched);
        Ok(out)
    }

    fn taxii_publications_from(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, crate::taxii::TaxiiPublication)>> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        self.with_conn(|c| {
            let mut pubs = c
                .prepare_cached(
                    "SELECT idx, status_id, collection, body, status FROM taxii_publications \
                     WHERE idx >= ?1 ORDER BY idx LIMIT ?2",
                )?
                .query_map(params![from, limit as i64], |r| {
                    Ok((
                        r.get::<_, i64>(0)? as u64,
                        crate::taxii::TaxiiPublication {
                            status_id: r.get(1)?,
                            collection: r.get(2)?,
                            body: r.get(3)?,
                            status: r.get(4)?,
                            objects: Vec::new(),
                        },
                    ))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            let mut objects = c.prepare_cached(
                "SELECT obj_id, obj_type, version, version_key, spec_version, date_added, json \
                 FROM taxii_objects WHERE idx = ?1 ORDER BY date_added",
            )?;
            for (idx, p) in &mut pubs {
                p.objects = objects
                    .query_map([*idx as i64], |r| {
                        Ok(crate::taxii::TaxiiObject {
                            id: r.get(0)?,
                            object_type: r.get(1)?,
                            version: r.get(2)?,
                            version_key: r.get(3)?,
                            spec_version: r.get(4)?,
                            date_added_us: r.get(5)?,
                            json: r.get(6)?,
                        })
                    })?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
            }
            Ok(pubs)
        })
    }
}

/// The webhook tables ([`crate::webhooks`]), created when missing by [`create`],
/// [`SqliteWriter::open`] and [`SqliteWebhooks::open`]; versioned on their own (`meta` key
/// `webhooks_schema_version`). Each table is keyed so that what grows (deliveries) grows at
/// its end.
const SCHEMA_WEBHOOKS: &str = "
CREATE TABLE IF NOT EXISTS webhooks (
    seq     INTEGER PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    party   TEXT NOT NULL,
    url     TEXT NOT NULL,
    secret  TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_by_party ON webhooks(party, seq);
CREATE TABLE IF NOT EXISTS webhook_progress (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    next_index INTEGER CHECK (next_index >= 0)
);
INSERT OR IGNORE INTO webhook_progress(id, next_index) VALUES (1, NULL);
CREATE TABLE IF NOT EXISTS webhook_announced (
    key TEXT PRIMARY KEY,
    due INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_pending (
    event_id   TEXT NOT NULL,
    webhook    TEXT NOT NULL,
    party      TEXT NOT NULL,
    event      TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    body       BLOB NOT NULL,
    attempts   INTEGER NOT NULL CHECK (attempts >= 0),
    next_at_ms INTEGER NOT NULL,
    PRIMARY KEY (event_id, webhook)
);
CREATE INDEX IF NOT EXISTS webhook_pending_by_time ON webhook_pending(next_at_ms);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq        INTEGER PRIMARY KEY,
    party      TEXT NOT NULL,
    webhook    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    event      TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    time       TEXT NOT NULL,
    status     INTEGER,
    error      TEXT,
    delivered  INTEGER NOT NULL,
    will_retry INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_party ON webhook_deliveries(party, seq);
CREATE TABLE IF NOT EXISTS webhook_imports (
    digest      TEXT PRIMARY KEY,
    imported_ms INTEGER NOT NULL
);
INSERT OR IGNORE INTO meta(key, value) VALUES ('webhooks_schema_version', '1');
";

/// Creates the webhook tables if they are missing and refuses tables of another version.
fn ensure_webhooks(conn: &Connection, path: &Path) -> Result<()> {
    conn.execute_batch(SCHEMA_WEBHOOKS).map_err(db_err(path))?;
    let version: Option<String> = conn
        .query_row(
            "SELECT value FROM meta WHERE key = 'webhooks_schema_version'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(db_err(path))?;
    if version.as_deref() != Some("1") {
        return Err(StoreError::SchemaVersion {
            path: format!("{} (webhook tables)", path.display()),
            found: version.unwrap_or_else(|| "none".to_owned()),
            expected: crate::webhooks::SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Whether the webhook tables exist.
fn has_webhook_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'webhook_pending'",
        [],
        |r| r.get::<_, i64>(0).map(|n| n > 0),
    )
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

fn row_hook(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::webhooks::Webhook> {
    Ok(crate::webhooks::Webhook {
        id: r.get(0)?,
        party: r.get(1)?,
        url: r.get(2)?,
        secret: r.get(3)?,
        created: r.get(4)?,
    })
}

const PENDING_COLUMNS: &str =
    "event_id, webhook, party, event, case_id, body, attempts, next_at_ms";

fn row_pending(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::webhooks::Pending> {
    Ok(crate::webhooks::Pending {
        event_id: r.get(0)?,
        webhook: r.get(1)?,
        party: r.get(2)?,
        event: r.get(3)?,
        case_id: r.get(4)?,
        body: r.get(5)?,
        attempts: u32::try_from(r.get::<_, i64>(6)?).unwrap_or(u32::MAX),
        next_at_ms: r.get(7)?,
    })
}

const DELIVERY_COLUMNS: &str = "party, webhook, event_id, event, case_id, attempt, time, \
     status, error, delivered, will_retry";

fn row_delivery(r: &rusqlite::Row<'_>) -> rusqlite::Result<crate::webhooks::Delivery> {
    Ok(crate::webhooks::Delivery {
        party: r.get(0)?,
        webhook: r.get(1)?,
        event_id: r.get(2)?,
        event: r.get(3)?,
        case_id: r.get(4)?,
        attempt: u32::try_from(r.get::<_, i64>(5)?).unwrap_or(u32::MAX),
        time: r.get(6)?,
        status: r
            .get::<_, Option<i64>>(7)?
            .and_then(|s| u16::try_from(s).ok()),
        error: r.get(8)?,
        delivered: r.get(9)?,
        will_retry: r.get(10)?,
    })
}

fn put_pending(conn: &Connection, events: &[crate::webhooks::Pending]) -> rusqlite::Result<()> {
    let mut put = conn.prepare_cached(&format!(
        "INSERT OR IGNORE INTO webhook_pending({PENDING_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
    ))?;
    for p in events {
        put.execute(params![
            p.event_id,
            p.webhook,
            p.party,
            p.event,
            p.case_id,
            p.body,
            i64::from(p.attempts),
            p.next_at_ms
        ])?;
    }
    Ok(())
}

/// Appends one attempt to the delivery log and keeps the party's latest ones.
fn put_delivery(conn: &Connection, d: &crate::webhooks::Delivery) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT INTO webhook_deliveries({DELIVERY_COLUMNS}) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    ))?
    .execute(params![
        d.party,
        d.webhook,
        d.event_id,
        d.event,
        d.case_id,
        i64::from(d.attempt),
        d.time,
        d.status.map(i64::from),
        d.error,
        d.delivered,
        d.will_retry
    ])?;
    conn.prepare_cached(
        "DELETE FROM webhook_deliveries WHERE party = ?1 AND seq <= \
         (SELECT seq FROM webhook_deliveries WHERE party = ?1 ORDER BY seq DESC \
          LIMIT 1 OFFSET ?2)",
    )?
    .execute(params![d.party, crate::webhooks::DELIVERIES_KEPT as i64])?;
    Ok(())
}

/// Adds `data` to the webhook tables as [`crate::webhooks::WebhookStore::import`] describes;
/// the caller's transaction makes it atomic. Shared by the import and the copy into a new
/// SQLite database.
pub(crate) fn write_webhook_data(
    conn: &Connection,
    data: &crate::webhooks::WebhookData,
) -> rusqlite::Result<()> {
    {
        let mut put = conn.prepare_cached(
            "INSERT OR IGNORE INTO webhooks(id, party, url, secret, created) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for h in &data.hooks {
            put.execute(params![h.id, h.party, h.url, h.secret, h.created])?;
        }
    }
    if let Some(next) = data.next_index {
        conn.execute(
            "UPDATE webhook_progress SET next_index = ?1 WHERE id = 1 AND next_index IS NULL",
            [i64::try_from(next).unwrap_or(i64::MAX)],
        )?;
    }
    {
        let mut put = conn
            .prepare_cached("INSERT OR IGNORE INTO webhook_announced(key, due) VALUES (?1, ?2)")?;
        for (key, due) in &data.announced {
            put.execute(params![key, due])?;
        }
    }
    put_pending(conn, &data.pending)?;
    for d in &data.deliveries {
        put_delivery(conn, d)?;
    }
    let mut put = conn.prepare_cached(
        "INSERT OR IGNORE INTO webhook_imports(digest, imported_ms) VALUES (?1, ?2)",
    )?;
    for digest in &data.imports {
        put.execute(params![digest, now_ms()])?;
    }
    Ok(())
}

/// Everything the webhook tables hold, read in the caller's transaction.
fn read_webhook_data(conn: &Connection) -> rusqlite::Result<crate::webhooks::WebhookData> {
    let hooks = conn
        .prepare_cached("SELECT id, party, url, secret, created FROM webhooks ORDER BY seq")?
        .query_map([], row_hook)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let next_index: Option<i64> = conn.query_row(
        "SELECT next_index FROM webhook_progress WHERE id = 1",
        [],
        |r| r.get(0),
    )?;
    let announced = conn
        .prepare_cached("SELECT key, due FROM webhook_announced ORDER BY key")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let pending = conn
        .prepare_cached(&format!(
            "SELECT {PENDING_COLUMNS} FROM webhook_pending ORDER BY event_id, webhook"
        ))?
        .query_map([], row_pending)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let deliveries = conn
        .prepare_cached(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY seq"
        ))?
        .query_map([], row_delivery)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let imports = conn
        .prepare_cached("SELECT digest FROM webhook_imports ORDER BY digest")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(crate::webhooks::WebhookData {
        hooks,
        next_index: next_index.and_then(|i| u64::try_from(i).ok()),
        announced,
        pending,
        deliveries,
        imports,
    })
}

/// The webhook tables of a SQLite log ([`crate::webhooks`]), through a connection of their
/// own (`synchronous=FULL`: every change is on disk when its call returns). It shares the
/// database with the sequencer's writer, whose lock it takes for a few milliseconds per
/// change.
pub struct SqliteWebhooks {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl SqliteWebhooks {
    /// Opens the webhook tables of the log at `path`, creating them if missing.
    pub fn open(path: &Path) -> Result<SqliteWebhooks> {
        let (conn, _) = open_existing(path, false)?;
        ensure_webhooks(&conn, path)?;
        Ok(SqliteWebhooks {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed if it returns `Ok(Some)`,
    /// rolled back otherwise.
    fn tx<T>(
        &self,
        f: impl FnOnce(&rusqlite::Transaction<'_>) -> rusqlite::Result<Option<T>>,
    ) -> Result<Option<T>> {
        let mut conn = match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let e = db_err(&self.path);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(&e)?;
        match f(&tx).map_err(&e)? {
            Some(out) => {
                tx.commit().map_err(&e)?;
                Ok(Some(out))
            }
            None => Ok(None),
        }
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&conn).map_err(db_err(&self.path))
    }
}

impl crate::webhooks::WebhookStore for SqliteWebhooks {
    fn hooks(&self, party: Option<&str>) -> Result<Vec<crate::webhooks::Webhook>> {
        self.read(|c| match party {
            Some(p) => c
                .prepare_cached(
                    "SELECT id, party, url, secret, created FROM webhooks WHERE party = ?1 \
                     ORDER BY seq",
                )?
                .query_map([p], row_hook)?
                .collect(),
            None => c
                .prepare_cached(
                    "SELECT id, party, url, secret, created FROM webhooks ORDER BY seq",
                )?
                .query_map([], row_hook)?
                .collect(),
        })
    }

    fn add_hook(&self, hook: &crate::webhooks::Webhook, max_per_party: usize) -> Result<bool> {
        Ok(self
            .tx(|tx| {
                let n: i64 = tx.query_row(
                    "SELECT count(*) FROM webhooks WHERE party = ?1",
                    [&hook.party],
                    |r| r.get(0),
                )?;
                if usize::try_from(n).unwrap_or(usize::MAX) >= max_per_party {
                    return Ok(None);
                }
                tx.execute(
                    "INSERT INTO webhooks(id, party, url, secret, created) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![hook.id, hook.party, hook.url, hook.secret, hook.created],
                )?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn delete_hook(&self, party: &str, id: &str) -> Result<bool> {
        Ok(self
            .tx(|tx| {
                if tx.execute(
                    "DELETE FROM webhooks WHERE id = ?1 AND party = ?2",
                    [id, party],
                )? == 0
                {
                    return Ok(None);
                }
                tx.execute("DELETE FROM webhook_pending WHERE webhook = ?1", [id])?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn next_index(&self) -> Result<Option<u64>> {
        let v: Option<i64> = self.read(|c| {
            c.query_row(
                "SELECT next_index FROM webhook_progress WHERE id = 1",
                [],
                |r| r.get(0),
            )
        })?;
        Ok(v.and_then(|v| u64::try_from(v).ok()))
    }

    fn advance(
        &self,
        from: Option<u64>,
        to: u64,
        events: &[crate::webhooks::Pending],
    ) -> Result<bool> {
        let from = from.map(|f| i64::try_from(f).unwrap_or(i64::MAX));
        let to = i64::try_from(to).unwrap_or(i64::MAX);
        Ok(self
            .tx(|tx| {
                if tx.execute(
                    "UPDATE webhook_progress SET next_index = ?1 WHERE id = 1 AND next_index IS ?2",
                    params![to, from],
                )? != 1
                {
                    return Ok(None);
                }
                put_pending(tx, events)?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn announce(
        &self,
        deadlines: &[crate::webhooks::Announcement],
        forget_before: i64,
    ) -> Result<Vec<String>> {
        Ok(self
            .tx(|tx| {
                tx.execute(
                    "DELETE FROM webhook_announced WHERE due < ?1",
                    [forget_before],
                )?;
                let mut fresh = Vec::new();
                let mut put = tx.prepare_cached(
                    "INSERT OR IGNORE INTO webhook_announced(key, due) VALUES (?1, ?2)",
                )?;
                for a in deadlines {
                    if put.execute(params![a.key, a.due])? == 1 {
                        put_pending(tx, &a.events)?;
                        fresh.push(a.key.clone());
                    }
                }
                Ok(Some(fresh))
            })?
            .unwrap_or_default())
    }

    fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<crate::webhooks::Pending>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {PENDING_COLUMNS} FROM webhook_pending WHERE next_at_ms <= ?1 \
                 ORDER BY next_at_ms, event_id, webhook LIMIT ?2"
            ))?
            .query_map(
                params![now_ms, i64::try_from(limit).unwrap_or(i64::MAX)],
                row_pending,
            )?
            .collect()
        })
    }

    fn attempted(&self, d: &crate::webhooks::Delivery, next_at_ms: Option<i64>) -> Result<bool> {
        let before = i64::from(d.attempt) - 1;
        Ok(self
            .tx(|tx| {
                put_delivery(tx, d)?;
                let changed = match next_at_ms {
                    Some(at) => tx.execute(
                        "UPDATE webhook_pending SET attempts = ?1, next_at_ms = ?2 \
                         WHERE event_id = ?3 AND webhook = ?4 AND attempts = ?5",
                        params![i64::from(d.attempt), at, d.event_id, d.webhook, before],
                    )?,
                    None => tx.execute(
                        "DELETE FROM webhook_pending \
                         WHERE event_id = ?1 AND webhook = ?2 AND attempts = ?3",
                        params![d.event_id, d.webhook, before],
                    )?,
                };
                Ok(Some(changed == 1))
            })?
            .unwrap_or(false))
    }

    fn deliveries(&self, party: &str, limit: usize) -> Result<Vec<crate::webhooks::Delivery>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE party = ?1 \
                 ORDER BY seq DESC LIMIT ?2"
            ))?
            .query_map(
                params![party, i64::try_from(limit).unwrap_or(i64::MAX)],
                row_delivery,
            )?
            .collect()
        })
    }

    fn import(&self, digest: &str, data: &crate::webhooks::WebhookData) -> Result<bool> {
        Ok(self
            .tx(|tx| {
                let seen: bool = tx.query_row(
                    "SELECT count(*) FROM webhook_imports WHERE digest = ?1",
                    [digest],
                    |r| r.get::<_, i64>(0).map(|n| n > 0),
                )?;
                if seen {
                    return Ok(None);
                }
                let mut data = data.clone();
                data.imports = vec![digest.to_owned()];
                write_webhook_data(tx, &data)?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn export(&self) -> Result<crate::webhooks::WebhookData> {
        let mut conn = match self.conn.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let e = db_err(&self.path);
        let tx = conn.transaction().map_err(&e)?;
        read_webhook_data(&tx).map_err(&e)
    }
}
