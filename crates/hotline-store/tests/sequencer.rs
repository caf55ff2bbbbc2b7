//! The sequencer on a real SQLite file, where the test reaches under the backend contract: a
//! damaged database is refused at start-up with a precise reason and left untouched, a failed
//! fsync acknowledges nothing, and old schema versions are migrated. What every backend must do
//! (receipts, duplicates, restarts, a second writer, side data, batching) is the conformance
//! suite in `conformance/`, run against SQLite by `conformance_sqlite.rs`.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, AppendError, SequencerConfig, SequencerHandle};
use hotline_store::sqlite::{self, SqliteReader, SqliteWriter};
use hotline_store::{LogReader, StoreError};
use hotline_tlog::{Ed25519Signer, leaf_hash};

const ORIGIN: &str = "test.example/log";

struct Log {
    _dir: tempfile::TempDir,
    db: PathBuf,
    skey: String,
}

impl Log {
    fn new() -> Log {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("hotline.db");
        let signer = Ed25519Signer::generate(ORIGIN).unwrap();
        sqlite::create(&db, ORIGIN, &signer.verifier().to_vkey()).unwrap();
        Log {
            _dir: dir,
            db,
            skey: signer.to_skey(),
        }
    }

    fn signer(&self) -> Ed25519Signer {
        Ed25519Signer::from_skey(&self.skey).unwrap()
    }

    fn start(&self) -> Result<SequencerHandle, StoreError> {
        start_at(&self.db, self.signer())
    }
}

fn start_at(db: &Path, signer: Ed25519Signer) -> Result<SequencerHandle, StoreError> {
    let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(db)?);
    let view = Arc::new(LogView::new(reader)?);
    let writer = SqliteWriter::open(db)?;
    sequencer::start(Box::new(writer), view, signer, SequencerConfig::default())
}

fn entry(i: u64) -> Vec<u8> {
    format!("entry {i:08}\n").into_bytes()
}

fn file_digest(p: &Path) -> Vec<u8> {
    let mut all = std::fs::read(p).unwrap();
    let wal = p.with_extension("db-wal");
    if let Ok(w) = std::fs::read(&wal) {
        all.extend(w);
    }
    leaf_hash(&all).0.to_vec()
}

fn filled_log(n: u64) -> Log {
    let log = Log::new();
    let h = log.start().unwrap();
    for i in 0..n {
        h.submit(entry(i)).unwrap();
    }
    h.append(entry(n)).unwrap();
    h.shutdown();
    // Fold the WAL into the main file so byte-level damage lands where we aim it.
    let c = rusqlite::Connection::open(&log.db).unwrap();
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)").unwrap();
    log
}

fn expect_refused(log: &Log, needle: &str) {
    let before = file_digest(&log.db);
    let err = match log.start() {
        Ok(_) => panic!("a damaged log was accepted (expected an error mentioning {needle:?})"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains(needle),
        "error {err:?} does not mention {needle:?}"
    );
    assert_eq!(
        file_digest(&log.db),
        before,
        "a refused start-up changed the database"
    );
}

#[test]
fn damaged_tile_is_named_at_start_up() {
    let log = filled_log(70_000);
    let c = rusqlite::Connection::open(&log.db).unwrap();
    c.execute(
        "UPDATE tiles SET data = zeroblob(8192) WHERE level = 0 AND idx = 5",
        [],
    )
    .unwrap();
    drop(c);
    expect_refused(&log, "tile/1/0 does not match");
}

#[test]
fn damaged_partial_bundle_is_named_at_start_up() {
    let log = filled_log(300);
    let c = rusqlite::Connection::open(&log.db).unwrap();
    c.execute(
        "UPDATE bundles SET data = CAST(replace(CAST(data AS TEXT), 'entry 00000299', 'entry 0000029X') AS BLOB) WHERE idx = 1",
        [],
    )
    .unwrap();
    drop(c);
    expect_refused(&log, "entry 299 does not hash");
}

#[test]
fn forged_checkpoint_is_refused_at_start_up() {
    let log = filled_log(10);
    let c = rusqlite::Connection::open(&log.db).unwrap();
    let other = Ed25519Signer::generate(ORIGIN).unwrap();
    let mut note =
        hotline_tlog::Note::new(format!("{ORIGIN}\n11\n{}\n", leaf_hash(b"x").to_base64()))
            .unwrap();
    note.sign(&other);
    c.execute(
        "UPDATE checkpoints SET note = ?1 WHERE size = 11",
        [note.to_bytes()],
    )
    .unwrap();
    drop(c);
    expect_refused(&log, "not signed by any of the expected keys");
}

#[test]
fn truncated_database_is_refused_with_a_clear_error() {
    let log = filled_log(3000);
    let len = std::fs::metadata(&log.db).unwrap().len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&log.db)
        .unwrap();
    f.set_len(len / 2).unwrap();
    drop(f);
    let before = file_digest(&log.db);
    let err = log
        .start()
        .err()
        .expect("a truncated database was accepted");
    let msg = err.to_string();
    eprintln!("truncated database error: {msg}");
    assert!(
        msg.contains("hotline.db"),
        "error does not name the file: {msg}"
    );
    assert!(
        msg.contains("malformed") || msg.contains("corrupt") || msg.contains("missing"),
        "error does not say what is wrong: {msg}"
    );
    assert_eq!(file_digest(&log.db), before);
}

#[test]
fn garbage_file_is_not_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hotline.db");
    std::fs::write(&db, vec![0x42u8; 100_000]).unwrap();
    let err = SqliteReader::open(&db).err().unwrap().to_string();
    assert!(err.contains("not a database"), "{err}");
}

/// Wraps the real SQLite writer and fails on command: the commit of a chosen batch, or the sync
/// after it, as a full disk or a failing fsync would.
struct FaultyWriter {
    inner: SqliteWriter,
    commits: Arc<std::sync::atomic::AtomicU64>,
    fail_commit_at: u64,
    fail_sync: Arc<std::sync::atomic::AtomicBool>,
}

struct FaultySyncer {
    inner: Box<dyn hotline_store::LogSyncer>,
    fail: Arc<std::sync::atomic::AtomicBool>,
}

impl hotline_store::LogSyncer for FaultySyncer {
    fn sync(&mut self) -> Result<(), StoreError> {
        if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::Io {
                path: "hotline.db-wal".into(),
                source: std::io::Error::other("injected fsync failure"),
            });
        }
        self.inner.sync()
    }
}

impl hotline_store::LogWriter for FaultyWriter {
    fn commit(&mut self, batch: &hotline_store::BatchWrite) -> Result<(), StoreError> {
        let n = self
            .commits
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if n == self.fail_commit_at {
            return Err(StoreError::Io {
                path: "hotline.db".into(),
                source: std::io::Error::other("injected write failure"),
            });
        }
        self.inner.commit(batch)
    }

    fn syncer(&self) -> Result<Box<dyn hotline_store::LogSyncer>, StoreError> {
        Ok(Box::new(FaultySyncer {
            inner: self.inner.syncer()?,
            fail: self.fail_sync.clone(),
        }))
    }
}

fn start_faulty(
    log: &Log,
    fail_commit_at: u64,
) -> (SequencerHandle, Arc<std::sync::atomic::AtomicBool>) {
    let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(&log.db).unwrap());
    let view = Arc::new(LogView::new(reader).unwrap());
    let fail_sync = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = FaultyWriter {
        inner: SqliteWriter::open(&log.db).unwrap(),
        commits: Arc::new(std::sync::atomic::AtomicU64::new(0)),
        fail_commit_at,
        fail_sync: fail_sync.clone(),
    };
    let h = sequencer::start(
        Box::new(writer),
        view,
        log.signer(),
        SequencerConfig::default(),
    )
    .unwrap();
    (h, fail_sync)
}

#[test]
fn a_failed_fsync_stops_the_sequencer_and_acknowledges_nothing() {
    let log = Log::new();
    let (h, fail_sync) = start_faulty(&log, u64::MAX);
    h.append(entry(0)).unwrap();
    fail_sync.store(true, std::sync::atomic::Ordering::SeqCst);
    let err = h.append(entry(1)).unwrap_err();
    assert!(
        matches!(&err, AppendError::Stopped(r) if r.contains("injected fsync failure")),
        "{err}"
    );
    // The written but unsynced batch is never published or acknowledged.
    assert_eq!(h.view().snapshot().size(), 1);
    fail_sync.store(false, std::sync::atomic::Ordering::SeqCst);
    let later = h.append(entry(2)).unwrap_err();
    assert!(
        matches!(&later, AppendError::Stopped(_)),
        "a failed fsync is never retried"
    );
    h.shutdown();
}

#[test]
fn a_version_1_database_is_migrated_when_opened_for_writing() {
    let log = filled_log(300);
    let c = rusqlite::Connection::open(&log.db).unwrap();
    c.execute_batch(
        "DROP TABLE payloads; DROP TABLE credentials; \
         UPDATE meta SET value = '1' WHERE key = 'schema_version';",
    )
    .unwrap();
    drop(c);
    // Readers refuse the old version with a clear message; the writer migrates it.
    let err = SqliteReader::open(&log.db).err().unwrap().to_string();
    assert!(err.contains("schema version 1"), "{err}");
    drop(SqliteWriter::open(&log.db).unwrap());
    let h = log.start().unwrap();
    assert_eq!(h.view().snapshot().size(), 301);
    assert_eq!(h.view().reader().credentials().unwrap(), vec![]);
    h.shutdown();
}

#[test]
fn a_version_2_database_keeps_every_payload_when_migrated() {
    let log = Log::new();
    let h = log.start().unwrap();
    let mut stored = Vec::new();
    for i in 0..40u64 {
        let side = hotline_store::EntrySide {
            payload: (i % 3 != 0).then(|| format!("ciphertext {i}").into_bytes()),
            credential: None,
            taxii: None,
        };
        let a = h.submit_with(entry(i), side).unwrap().wait().unwrap();
        stored.push((a.index, leaf_hash(&entry(i)), i % 3 != 0));
    }
    h.shutdown();
    // Rewrite the payloads as schema version 2 kept them: keyed by id, with a unique index.
    let c = rusqlite::Connection::open(&log.db).unwrap();
    c.execute_batch(
        "CREATE TABLE payloads_v2 (id BLOB PRIMARY KEY, idx INTEGER NOT NULL, data BLOB NOT NULL);
         INSERT INTO payloads_v2(id, idx, data) SELECT id, idx, data FROM payloads;
         DROP TABLE payloads;
         ALTER TABLE payloads_v2 RENAME TO payloads;
         UPDATE meta SET value = '2' WHERE key = 'schema_version';",
    )
    .unwrap();
    drop(c);
    let err = SqliteReader::open(&log.db).err().unwrap().to_string();
    assert!(err.contains("schema version 2"), "{err}");
    drop(SqliteWriter::open(&log.db).unwrap());
    let h = log.start().unwrap();
    let reader = h.view().reader().clone();
    for (i, (index, id, has)) in stored.iter().enumerate() {
        let want = has.then(|| format!("ciphertext {i}").into_bytes());
        assert_eq!(reader.payload(*index, id).unwrap(), want, "entry {i}");
    }
    // Appending goes on after the migration.
    let side = hotline_store::EntrySide {
        payload: Some(b"after".to_vec()),
        credential: None,
        taxii: None,
    };
    let a = h.submit_with(entry(1000), side).unwrap().wait().unwrap();
    assert_eq!(
        reader.payload(a.index, &leaf_hash(&entry(1000))).unwrap(),
        Some(b"after".to_vec())
    );
    h.shutdown();
}

#[test]
fn the_database_is_private_to_its_owner_and_an_older_one_is_made_so() {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let log = filled_log(3);
    let wal = PathBuf::from(format!("{}-wal", log.db.display()));
    // Created 0600 (it holds the webhooks' secrets); SQLite gives the WAL the same mode.
    assert_eq!(mode(&log.db), 0o600);
    let writer = SqliteWriter::open(&log.db).unwrap();
    assert_eq!(mode(&wal), 0o600);
    drop(writer);
    // A database an older build created readable by others: a writer takes that away.
    std::fs::set_permissions(&log.db, std::fs::Permissions::from_mode(0o644)).unwrap();
    drop(SqliteWriter::open(&log.db).unwrap());
    assert_eq!(mode(&log.db), 0o600);
}
