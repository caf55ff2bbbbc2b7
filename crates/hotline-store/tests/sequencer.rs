//! The sequencer on a real SQLite file: receipts verify, duplicates append nothing, state
//! survives restarts, and a damaged database is refused at start-up with a precise reason and
//! left untouched.
#![allow(clippy::unwrap_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, AppendError, SequencerConfig, SequencerHandle};
use hotline_store::sqlite::{self, SqliteReader, SqliteWriter};
use hotline_store::{LogReader, StoreError};
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::{Ed25519Signer, TlogProof, leaf_hash};

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

fn check_receipt(h: &SequencerHandle, signer: &Ed25519Signer, e: &[u8], a: &sequencer::Appended) {
    let r = a.receipt(h.view()).unwrap();
    let proof = TlogProof::parse(&r.to_tlog_proof().to_bytes()).unwrap();
    let v = signer.verifier();
    proof
        .verify(&leaf_hash(e), ORIGIN, &[&v as &dyn NoteVerifier])
        .unwrap();
}

#[test]
fn receipts_verify_and_duplicates_append_nothing() {
    let log = Log::new();
    let h = log.start().unwrap();
    let signer = log.signer();
    for i in 0..300 {
        let a = h.append(entry(i)).unwrap();
        assert_eq!(a.index, i);
        assert!(a.new);
        check_receipt(&h, &signer, &entry(i), &a);
    }
    let again = h.append(entry(17)).unwrap();
    assert_eq!((again.index, again.new), (17, false));
    check_receipt(&h, &signer, &entry(17), &again);
    assert_eq!(h.view().snapshot().size(), 300);
    h.shutdown();
}

#[test]
fn concurrent_appends_get_distinct_indexes_and_valid_receipts() {
    let log = Log::new();
    let h = log.start().unwrap();
    let signer = log.signer();
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let h = h.clone();
            std::thread::spawn(move || {
                let pending: Vec<_> = (0..500)
                    .map(|i| {
                        let e = entry(t * 1000 + i);
                        (e.clone(), h.submit(e).unwrap())
                    })
                    .collect();
                pending
                    .into_iter()
                    .map(|(e, p)| (e, p.wait().unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for t in threads {
        for (e, a) in t.join().unwrap() {
            assert!(a.new);
            assert!(seen.insert(a.index), "index {} handed out twice", a.index);
            check_receipt(&h, &signer, &e, &a);
        }
    }
    assert_eq!(seen.len(), 4000);
    assert_eq!(*seen.iter().max().unwrap(), 3999);
    h.shutdown();
}

#[test]
fn duplicates_of_entries_still_in_flight_get_the_same_index() {
    // Small batches and many entries in flight: a repeat often arrives while its first copy is
    // integrated, written or being synced but not yet published.
    let log = Log::new();
    let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(&log.db).unwrap());
    let view = Arc::new(LogView::new(reader).unwrap());
    let h = sequencer::start(
        Box::new(SqliteWriter::open(&log.db).unwrap()),
        view,
        log.signer(),
        SequencerConfig {
            batch_size: 16,
            ..SequencerConfig::default()
        },
    )
    .unwrap();
    let repeated: Vec<Vec<u8>> = (0..20)
        .map(|i| format!("repeated {i}\n").into_bytes())
        .collect();
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let h = h.clone();
            let repeated = repeated.clone();
            std::thread::spawn(move || {
                let pending: Vec<_> = (0..3000u64)
                    .map(|i| {
                        let e = if i % 7 == 0 {
                            repeated[(i / 7 % 20) as usize].clone()
                        } else {
                            entry(t * 100_000 + i)
                        };
                        (e.clone(), h.submit(e).unwrap())
                    })
                    .collect();
                pending
                    .into_iter()
                    .map(|(e, p)| (e, p.wait().unwrap()))
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut index_of: std::collections::HashMap<Vec<u8>, u64> = Default::default();
    let mut new_count = 0u64;
    for t in threads {
        for (e, a) in t.join().unwrap() {
            if a.new {
                new_count += 1;
            }
            let first = *index_of.entry(e.clone()).or_insert(a.index);
            assert_eq!(first, a.index, "one entry got two indexes");
            check_receipt(&h, &log.signer(), &e, &a);
        }
    }
    let unique = index_of.len() as u64;
    assert_eq!(
        new_count, unique,
        "every distinct entry is appended exactly once"
    );
    assert_eq!(h.view().snapshot().size(), unique);
    h.shutdown();
}

#[test]
fn state_survives_restart_and_duplicates_are_found_after_it() {
    let log = Log::new();
    let h = log.start().unwrap();
    for i in 0..1000 {
        h.append(entry(i)).unwrap();
    }
    let before = h.view().snapshot().checkpoint.clone().unwrap();
    h.shutdown();

    let h = log.start().unwrap();
    let snap = h.view().snapshot();
    assert_eq!(snap.checkpoint.as_deref(), Some(&*before));
    let dup = h.append(entry(999)).unwrap();
    assert_eq!((dup.index, dup.new), (999, false));
    let dup = h.append(entry(3)).unwrap();
    assert_eq!((dup.index, dup.new), (3, false));
    let a = h.append(entry(5000)).unwrap();
    assert_eq!((a.index, a.new), (1000, true));
    check_receipt(&h, &log.signer(), &entry(5000), &a);
    // Every checkpoint ever signed is stored, in order.
    let reader = SqliteReader::open(&log.db).unwrap();
    let cps = reader.checkpoints_after(0, 10_000).unwrap();
    assert!(cps.windows(2).all(|w| w[0].size < w[1].size));
    assert_eq!(cps.last().unwrap().size, 1001);
    h.shutdown();
}

#[test]
fn bulk_submissions_get_one_outcome_per_entry() {
    let log = Log::new();
    let h = log.start().unwrap();
    h.append(entry(1)).unwrap();
    let group = vec![entry(0), entry(1), entry(2), entry(0)];
    let out = h.submit_many(group.clone()).unwrap().wait().unwrap();
    let got: Vec<(u64, bool)> = out.entries.iter().map(|&(i, _, new)| (i, new)).collect();
    // entry(1) was logged before; entry(0) repeats inside the group.
    assert_eq!(got, vec![(1, true), (0, false), (2, true), (1, false)]);
    for (k, e) in group.iter().enumerate() {
        check_receipt(&h, &log.signer(), e, &out.get(k).unwrap());
    }
    assert_eq!(h.submit_many(vec![]).err(), Some(AppendError::Empty));
    let too_big = h.submit_many(vec![entry(9), vec![0; 65_536]]).err();
    assert_eq!(too_big, Some(AppendError::TooLarge { size: 65_536 }));
    assert_eq!(
        h.view().snapshot().size(),
        3,
        "a refused group appends nothing"
    );
    h.shutdown();
}

#[test]
fn entry_size_limit_is_65535_bytes() {
    let log = Log::new();
    let h = log.start().unwrap();
    let ok = h.append(vec![b'a'; 65_535]).unwrap();
    assert_eq!(ok.index, 0);
    let err = h.append(vec![b'a'; 65_536]).unwrap_err();
    assert_eq!(err, AppendError::TooLarge { size: 65_536 });
    assert!(err.to_string().contains("65536 bytes"));
    assert_eq!(h.view().snapshot().size(), 1);
    h.shutdown();
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

#[test]
fn wrong_log_key_is_refused() {
    let log = filled_log(5);
    let err = start_at(&log.db, Ed25519Signer::generate(ORIGIN).unwrap())
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("is not the key this log was created with"),
        "{err}"
    );
}

#[test]
fn a_second_writer_cannot_fork_the_log() {
    let log = filled_log(5);
    let mut w = SqliteWriter::open(&log.db).unwrap();
    use hotline_store::LogWriter;
    let stale = hotline_store::BatchWrite {
        old_size: 3,
        new_size: 4,
        ..Default::default()
    };
    let err = w.commit(&stale).unwrap_err().to_string();
    assert!(err.contains("latest stored checkpoint has size 6"), "{err}");
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
fn a_failed_write_stops_the_sequencer_for_good() {
    let log = Log::new();
    let (h, _) = start_faulty(&log, 3);
    for i in 0..3 {
        h.append(entry(i)).unwrap();
    }
    let err = h.append(entry(3)).unwrap_err();
    assert!(
        matches!(&err, AppendError::Stopped(r) if r.contains("injected write failure")),
        "{err}"
    );
    // Never retried: later appends fail at once with the same reason, nothing is published.
    let later = h.append(entry(4)).unwrap_err();
    assert!(matches!(&later, AppendError::Stopped(r) if r.contains("injected write failure")));
    assert_eq!(h.view().snapshot().size(), 3);
    assert!(h.stopped_reason().unwrap().contains("restart the server"));
    h.shutdown();
    // What was acknowledged is there after a restart; the failed batch is not.
    let h = log.start().unwrap();
    assert_eq!(h.view().snapshot().size(), 3);
    assert_eq!(h.append(entry(3)).unwrap().index, 3);
    h.shutdown();
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
fn side_data_is_stored_with_new_entries_only() {
    let log = Log::new();
    let h = log.start().unwrap();
    let side = hotline_store::EntrySide {
        payload: Some(b"ciphertext one".to_vec()),
        credential: Some(hotline_store::Credential {
            token_hash: [7u8; 32],
            party: "us-cisa".into(),
        }),
    };
    let a = h.submit_with(entry(1), side).unwrap().wait().unwrap();
    assert!(a.new);
    // The same entry again with other side data: nothing new is stored.
    let again = hotline_store::EntrySide {
        payload: Some(b"ciphertext two".to_vec()),
        credential: None,
    };
    let b = h.submit_with(entry(1), again).unwrap().wait().unwrap();
    assert!(!b.new);
    let reader = h.view().reader().clone();
    assert_eq!(
        reader
            .payload(a.index, &leaf_hash(&entry(1)))
            .unwrap()
            .as_deref(),
        Some(&b"ciphertext one"[..])
    );
    // Another entry's id at that index, or an index with no payload: nothing.
    assert_eq!(
        reader.payload(a.index, &leaf_hash(&entry(2))).unwrap(),
        None
    );
    assert_eq!(
        reader.payload(a.index + 1, &leaf_hash(&entry(1))).unwrap(),
        None
    );
    let creds = reader.credentials().unwrap();
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].party, "us-cisa");
    // Entries read back in order.
    h.append(entry(2)).unwrap();
    let snap = h.view().snapshot();
    let mut seen = Vec::new();
    h.view()
        .for_each_entry(&snap, 0, 10, |i, e| {
            seen.push((i, e.to_vec()));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, vec![(0, entry(1)), (1, entry(2))]);
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
    };
    let a = h.submit_with(entry(1000), side).unwrap().wait().unwrap();
    assert_eq!(
        reader.payload(a.index, &leaf_hash(&entry(1000))).unwrap(),
        Some(b"after".to_vec())
    );
    h.shutdown();
}

#[test]
fn under_load_a_batch_lingers_to_gather_more_and_a_quiet_log_does_not() {
    let log = Log::new();
    let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(&log.db).unwrap());
    let view = Arc::new(LogView::new(reader).unwrap());
    let config = SequencerConfig {
        // Long enough that entries submitted one after another in this thread all arrive
        // within it, however slow the machine.
        linger: std::time::Duration::from_millis(300),
        ..SequencerConfig::default()
    };
    let h = sequencer::start(
        Box::new(SqliteWriter::open(&log.db).unwrap()),
        view,
        log.signer(),
        config,
    )
    .unwrap();
    let batches = || h.stats().snapshot().batches;
    // A quiet log: each lone entry is its own batch (nothing to linger for).
    for i in 0..3 {
        h.append(entry(i)).unwrap();
    }
    assert_eq!(batches(), 3);
    // A burst: the first batch carries what was queued, then the pipeline is under load and
    // the next batch lingers, gathering every entry submitted meanwhile.
    h.submit_many((3..6).map(entry).collect())
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(batches(), 4);
    let pending: Vec<_> = (6..26).map(|i| h.submit(entry(i)).unwrap()).collect();
    for p in pending {
        p.wait().unwrap();
    }
    assert_eq!(
        batches(),
        5,
        "20 entries submitted within the linger went into one batch"
    );
    assert_eq!(h.view().snapshot().size(), 26);
    h.shutdown();
}
