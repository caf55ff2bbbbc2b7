//! The storage conformance suite: what every backend of the store must do, checked through the
//! sequencer and the `LogReader`/`LogWriter` contract alone (ARCHITECTURE.md, "The backend
//! contract"). Each backend has a test file (`conformance_sqlite.rs`, `conformance_postgres.rs`)
//! that implements [`Backend`] and expands [`conformance_tests!`] with a function making a fresh,
//! empty log; every test of the suite then runs against that backend.
//!
//! Tests that need to reach under the contract (byte-level damage of an SQLite file, WAL
//! handling, schema migrations, fsync fault injection) stay with their backend.
#![allow(dead_code, clippy::unwrap_used, missing_docs)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};

use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, AppendError, SequencerConfig, SequencerHandle};
use hotline_store::webhooks::{
    Announcement, Delivery, Pending, Webhook, WebhookData, WebhookStore,
};
use hotline_store::{BatchWrite, LogReader, LogSyncer, LogWriter, StoreError, StoredCheckpoint};
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tree::verify_consistency;
use hotline_tlog::{Ed25519Signer, TlogProof, leaf_hash};

pub const ORIGIN: &str = "test.example/log";

/// One backend holding one log: opens readers and writers on it (each call a new connection
/// or file handle, as a restarted process would).
pub trait Backend: Send + Sync {
    /// A new reader of the log.
    fn reader(&self) -> Result<Arc<dyn LogReader>, StoreError>;
    /// A new writer of the log.
    fn writer(&self) -> Result<Box<dyn LogWriter>, StoreError>;
    /// Runs SQL that both backends understand on the log's database, under the contract (to
    /// damage or downgrade the TAXII tables, which have the same columns in both).
    fn execute(&self, sql: &str);
    /// A new handle on the log's webhook tables (a connection of its own, as another
    /// frontend's would be).
    fn webhooks(&self) -> Result<Arc<dyn WebhookStore>, StoreError>;
}

/// Makes a fresh, empty log for `(origin, log_vkey)`, or `None` (after printing why) when the
/// backend cannot run here, so the test passes as skipped.
pub type Fresh = fn(&str, &str) -> Option<Box<dyn Backend>>;

/// A log under test and its signing key.
pub struct Log {
    pub backend: Box<dyn Backend>,
    skey: String,
}

impl Log {
    pub fn new(fresh: Fresh) -> Option<Log> {
        let signer = Ed25519Signer::generate(ORIGIN).unwrap();
        let backend = fresh(ORIGIN, &signer.verifier().to_vkey())?;
        Some(Log {
            backend,
            skey: signer.to_skey(),
        })
    }

    pub fn signer(&self) -> Ed25519Signer {
        Ed25519Signer::from_skey(&self.skey).unwrap()
    }

    pub fn reader(&self) -> Arc<dyn LogReader> {
        self.backend.reader().unwrap()
    }

    pub fn start(&self) -> Result<SequencerHandle, StoreError> {
        self.start_with(self.signer(), SequencerConfig::default())
    }

    pub fn start_with(
        &self,
        signer: Ed25519Signer,
        config: SequencerConfig,
    ) -> Result<SequencerHandle, StoreError> {
        let writer = self.backend.writer()?;
        self.start_writer(writer, signer, config)
    }

    pub fn start_writer(
        &self,
        writer: Box<dyn LogWriter>,
        signer: Ed25519Signer,
        config: SequencerConfig,
    ) -> Result<SequencerHandle, StoreError> {
        let view = Arc::new(LogView::new(self.backend.reader()?)?);
        sequencer::start(writer, view, signer, config)
    }
}

/// Expands to one `#[test]` per test of the suite, each running against the logs `$fresh`
/// makes (and passing without doing anything when it returns `None`).
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:path) => {
        $crate::conformance_tests!(@each $fresh;
            receipts_verify_and_duplicates_append_nothing,
            concurrent_appends_get_distinct_indexes_and_valid_receipts,
            duplicates_of_entries_still_in_flight_get_the_same_index,
            state_survives_restart_and_duplicates_are_found_after_it,
            a_log_spanning_three_tile_levels_recovers_and_proves,
            consistency_proofs_between_all_stored_checkpoints_verify,
            bulk_submissions_get_one_outcome_per_entry,
            entry_size_limit_is_65535_bytes,
            wrong_log_key_is_refused,
            a_second_writer_cannot_fork_the_log,
            two_writers_racing_on_two_connections_commit_exactly_once,
            a_stale_sequencer_stops_when_another_one_committed,
            side_data_is_stored_with_new_entries_only,
            taxii_objects_are_stored_with_their_entry_and_queried_by_filters,
            taxii_last_and_first_are_right_at_every_published_size,
            taxii_tables_of_version_1_are_upgraded_by_a_writer,
            taxii_integrity_names_damaged_rows,
            a_duplicate_credential_fails_the_whole_batch,
            reader_contract_on_an_empty_and_a_growing_log,
            a_failed_write_stops_the_sequencer_for_good,
            under_load_a_batch_lingers_to_gather_more_and_a_quiet_log_does_not,
            a_follower_keeps_its_view_in_step_with_the_sequencer,
            webhook_registrations_progress_and_outbox,
            webhook_notifiers_racing_queue_and_record_each_event_once,
            webhook_delivery_log_keeps_the_latest_per_party,
            webhook_import_happens_once_and_export_reads_everything,
            webhook_tables_are_created_when_missing_and_other_versions_refused,
            the_sequencer_commits_while_a_webhook_notifier_writes,
        );
    };
    (@each $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                if let Some(log) = conformance::Log::new($fresh) {
                    conformance::$name(log);
                }
            }
        )*
    };
}

pub fn entry(i: u64) -> Vec<u8> {
    format!("entry {i:08}\n").into_bytes()
}

pub fn check_receipt(
    h: &SequencerHandle,
    signer: &Ed25519Signer,
    e: &[u8],
    a: &sequencer::Appended,
) {
    let r = a.receipt(h.view()).unwrap();
    let proof = TlogProof::parse(&r.to_tlog_proof().to_bytes()).unwrap();
    let v = signer.verifier();
    proof
        .verify(&leaf_hash(e), ORIGIN, &[&v as &dyn NoteVerifier])
        .unwrap();
}

/// Fills the log with entries `0..=n` (the last one waited for) and stops the sequencer.
pub fn fill(log: &Log, n: u64) {
    let h = log.start().unwrap();
    for i in 0..n {
        h.submit(entry(i)).unwrap();
    }
    h.append(entry(n)).unwrap();
    h.shutdown();
}

pub fn receipts_verify_and_duplicates_append_nothing(log: Log) {
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

pub fn concurrent_appends_get_distinct_indexes_and_valid_receipts(log: Log) {
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

pub fn duplicates_of_entries_still_in_flight_get_the_same_index(log: Log) {
    // Small batches and many entries in flight: a repeat often arrives while its first copy is
    // integrated, written or being synced but not yet published.
    let h = log
        .start_with(
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

pub fn state_survives_restart_and_duplicates_are_found_after_it(log: Log) {
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
    let reader = log.reader();
    let cps = reader.checkpoints_after(0, 10_000).unwrap();
    assert!(cps.windows(2).all(|w| w[0].size < w[1].size));
    assert_eq!(cps.last().unwrap().size, 1001);
    h.shutdown();
}

pub fn a_log_spanning_three_tile_levels_recovers_and_proves(log: Log) {
    // More than 256 * 256 entries: full tiles at levels 0 and 1, a partial one at level 2.
    const N: u64 = 66_000;
    let h = log.start().unwrap();
    let mut next = 0u64;
    while next < N {
        let end = (next + 4096).min(N);
        h.submit_many((next..end).map(entry).collect())
            .unwrap()
            .wait()
            .unwrap();
        next = end;
    }
    let before = h.view().snapshot().checkpoint.clone().unwrap();
    h.shutdown();
    let reader = log.reader();
    assert!(reader.tile(2, 0).unwrap().is_some(), "no level-2 tile");
    assert_eq!(reader.tile(1, 0).unwrap().unwrap().len(), 256 * 32);

    let h = log.start().unwrap();
    assert_eq!(h.view().snapshot().checkpoint.as_deref(), Some(&*before));
    for i in [0, 255, 256, 65_535, 65_536, N - 1] {
        let a = h.append(entry(i)).unwrap();
        assert_eq!((a.index, a.new), (i, false), "entry {i}");
        check_receipt(&h, &log.signer(), &entry(i), &a);
    }
    let a = h.append(entry(N)).unwrap();
    assert_eq!((a.index, a.new), (N, true));
    check_receipt(&h, &log.signer(), &entry(N), &a);
    // Entries read back from the bundles, across a full and the partial one.
    let snap = h.view().snapshot();
    let mut seen = Vec::new();
    h.view()
        .for_each_entry(&snap, 65_530, N + 1, |i, e| {
            seen.push((i, e.to_vec()));
            Ok(())
        })
        .unwrap();
    let want: Vec<_> = (65_530..=N).map(|i| (i, entry(i))).collect();
    assert_eq!(seen, want);
    h.shutdown();
}

pub fn consistency_proofs_between_all_stored_checkpoints_verify(log: Log) {
    let h = log.start().unwrap();
    for round in 0..12u64 {
        let n = 1 + round * 37;
        h.submit_many((0..n).map(|i| entry(round * 1000 + i)).collect())
            .unwrap()
            .wait()
            .unwrap();
    }
    let snap = h.view().snapshot();
    let cps: Vec<_> = log
        .reader()
        .checkpoints_after(0, 1000)
        .unwrap()
        .iter()
        .map(|c| hotline_store::reader::SignedCheckpoint::from_stored(c).unwrap())
        .collect();
    assert_eq!(cps.last().unwrap().size(), snap.size());
    for old in &cps {
        for new in cps.iter().filter(|c| c.size() >= old.size()) {
            let proof = h
                .view()
                .consistency_proof(&snap, old.size(), new.size())
                .unwrap();
            verify_consistency(
                old.size(),
                new.size(),
                &old.checkpoint.root,
                &new.checkpoint.root,
                &proof,
            )
            .unwrap();
        }
    }
    h.shutdown();
}

pub fn bulk_submissions_get_one_outcome_per_entry(log: Log) {
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

pub fn entry_size_limit_is_65535_bytes(log: Log) {
    let h = log.start().unwrap();
    let ok = h.append(vec![b'a'; 65_535]).unwrap();
    assert_eq!(ok.index, 0);
    let err = h.append(vec![b'a'; 65_536]).unwrap_err();
    assert_eq!(err, AppendError::TooLarge { size: 65_536 });
    assert!(err.to_string().contains("65536 bytes"));
    assert_eq!(h.view().snapshot().size(), 1);
    h.shutdown();
    // The largest entry survives a restart byte for byte.
    let h = log.start().unwrap();
    let again = h.append(vec![b'a'; 65_535]).unwrap();
    assert_eq!((again.index, again.new), (0, false));
    h.shutdown();
}

pub fn wrong_log_key_is_refused(log: Log) {
    fill(&log, 5);
    let err = log
        .start_with(
            Ed25519Signer::generate(ORIGIN).unwrap(),
            SequencerConfig::default(),
        )
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("is not the key this log was created with"),
        "{err}"
    );
}

pub fn a_second_writer_cannot_fork_the_log(log: Log) {
    fill(&log, 5);
    let mut w = log.backend.writer().unwrap();
    let stale = BatchWrite {
        old_size: 3,
        new_size: 4,
        ..Default::default()
    };
    let err = w.commit(&stale).unwrap_err().to_string();
    assert!(err.contains("latest stored checkpoint has size 6"), "{err}");
    // Nothing of the refused batch was stored.
    assert_eq!(log.reader().latest_checkpoint().unwrap().unwrap().size, 6);
}

/// A batch from `old` to `new` whose checkpoint row and bundle are markers naming the writer.
fn marker_batch(old: u64, new: u64, who: &str) -> BatchWrite {
    BatchWrite {
        old_size: old,
        new_size: new,
        checkpoint: StoredCheckpoint {
            size: new,
            note: format!("{who} {old}").into_bytes(),
            created_ms: 1,
        },
        bundles: vec![(old, who.as_bytes().to_vec())],
        ..Default::default()
    }
}

pub fn two_writers_racing_on_two_connections_commit_exactly_once(log: Log) {
    // Raw commits through the contract (no sequencer): both writers extend the same size at
    // the same moment, writer k by k + 1 entries (so their checkpoints do not even collide on
    // the size); the compare-and-set must let exactly one through, every round.
    let barrier = Arc::new(Barrier::new(2));
    const ROUNDS: usize = 25;
    let threads: Vec<_> = (0..2u64)
        .map(|k| {
            let mut w = log.backend.writer().unwrap();
            let reader = log.reader();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let mut rounds = Vec::new();
                for _ in 0..ROUNDS {
                    let old = reader.latest_checkpoint().unwrap().map_or(0, |c| c.size);
                    barrier.wait();
                    let ok = w
                        .commit(&marker_batch(old, old + 1 + k, &format!("w{k}")))
                        .is_ok();
                    rounds.push((old, ok));
                    // Both see the outcome before the next round starts.
                    barrier.wait();
                }
                rounds
            })
        })
        .collect();
    let results: Vec<Vec<(u64, bool)>> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let reader = log.reader();
    let mut size = 0u64;
    for (round, (&(old0, ok0), &(old1, ok1))) in results[0].iter().zip(&results[1]).enumerate() {
        assert_eq!((old0, old1), (size, size), "round {round}");
        let winners: Vec<u64> = [(0, ok0), (1, ok1)]
            .into_iter()
            .filter_map(|(k, ok)| ok.then_some(k))
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: winners {winners:?}");
        let (winner, loser) = (winners[0], 1 - winners[0]);
        let stored = reader.checkpoint(size + 1 + winner).unwrap().unwrap();
        assert_eq!(
            stored.note,
            format!("w{winner} {size}").into_bytes(),
            "round {round}: the stored checkpoint is not the winner's"
        );
        assert_eq!(
            reader.bundle(size).unwrap().unwrap(),
            format!("w{winner}").into_bytes(),
            "round {round}: the loser's bundle was stored"
        );
        if let Some(c) = reader.checkpoint(size + 1 + loser).unwrap() {
            assert!(
                !c.note.starts_with(format!("w{loser} {size}").as_bytes()),
                "round {round}: the loser's checkpoint was stored: the log forked"
            );
        }
        size += 1 + winner;
    }
    let all = reader.checkpoints_after(0, 1000).unwrap();
    assert_eq!(all.len(), ROUNDS, "one checkpoint per round");
    assert_eq!(all.last().unwrap().size, size);
}

pub fn a_stale_sequencer_stops_when_another_one_committed(log: Log) {
    fill(&log, 4);
    // Two sequencers on one log (two processes, say): both recovered size 5.
    let first = log.start().unwrap();
    let second = log.start().unwrap();
    let a = second.append(entry(100)).unwrap();
    assert_eq!(a.index, 5);
    let err = first.append(entry(200)).unwrap_err();
    assert!(
        matches!(&err, AppendError::Stopped(r) if r.contains("latest stored checkpoint has size 6")),
        "{err}"
    );
    assert_eq!(first.view().snapshot().size(), 5);
    first.shutdown();
    second.shutdown();
    // The log holds the second sequencer's entry and not the first's.
    let h = log.start().unwrap();
    assert_eq!(h.view().snapshot().size(), 6);
    assert_eq!(h.append(entry(100)).unwrap().index, 5);
    let b = h.append(entry(200)).unwrap();
    assert_eq!((b.index, b.new), (6, true));
    h.shutdown();
}

pub fn side_data_is_stored_with_new_entries_only(log: Log) {
    let h = log.start().unwrap();
    let side = hotline_store::EntrySide {
        payload: Some(b"ciphertext one".to_vec()),
        credential: Some(hotline_store::Credential {
            token_hash: [7u8; 32],
            party: "us-cisa".into(),
        }),
        taxii: None,
    };
    let a = h.submit_with(entry(1), side).unwrap().wait().unwrap();
    assert!(a.new);
    // The same entry again with other side data: nothing new is stored.
    let again = hotline_store::EntrySide {
        payload: Some(b"ciphertext two".to_vec()),
        credential: None,
        taxii: None,
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
    // A large payload (every byte value) and many credentials in one batch, read back exactly
    // and in log order, also after a restart.
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let group: Vec<_> = (10..40u64)
        .map(|i| {
            let side = hotline_store::EntrySide {
                payload: (i == 20).then(|| big.clone()),
                credential: Some(hotline_store::Credential {
                    token_hash: [i as u8; 32],
                    party: format!("party-{i}"),
                }),
                taxii: None,
            };
            h.submit_with(entry(i), side).unwrap()
        })
        .collect();
    let indexes: Vec<u64> = group.into_iter().map(|p| p.wait().unwrap().index).collect();
    h.shutdown();
    let h = log.start().unwrap();
    let reader = h.view().reader().clone();
    assert_eq!(
        reader.payload(indexes[10], &leaf_hash(&entry(20))).unwrap(),
        Some(big)
    );
    let parties: Vec<String> = reader
        .credentials()
        .unwrap()
        .into_iter()
        .map(|c| c.party)
        .collect();
    let mut want = vec!["us-cisa".to_owned()];
    want.extend((10..40).map(|i| format!("party-{i}")));
    assert_eq!(parties, want);
    h.shutdown();
}

pub fn a_duplicate_credential_fails_the_whole_batch(log: Log) {
    fill(&log, 2);
    let mut w = log.backend.writer().unwrap();
    let cred = |party: &str| hotline_store::EntrySide {
        payload: Some(b"p".to_vec()),
        credential: Some(hotline_store::Credential {
            token_hash: [9u8; 32],
            party: party.into(),
        }),
        taxii: None,
    };
    let mut batch = marker_batch(3, 5, "w");
    batch.sides = vec![
        (3, leaf_hash(b"a"), cred("one")),
        (4, leaf_hash(b"b"), cred("two")),
    ];
    let err = w.commit(&batch).unwrap_err().to_string();
    eprintln!("duplicate credential: {err}");
    assert!(
        err.to_lowercase().contains("unique"),
        "the error does not say what is wrong: {err}"
    );
    // Atomic: nothing of the batch is stored.
    let reader = log.reader();
    assert_eq!(reader.latest_checkpoint().unwrap().unwrap().size, 3);
    assert_eq!(reader.credentials().unwrap(), vec![]);
    assert_eq!(reader.payload(3, &leaf_hash(b"a")).unwrap(), None);
    assert_eq!(reader.checkpoint(5).unwrap(), None);
}

pub fn reader_contract_on_an_empty_and_a_growing_log(log: Log) {
    let reader = log.reader();
    assert_eq!(reader.origin(), ORIGIN);
    assert_eq!(reader.log_vkey(), log.signer().verifier().to_vkey());
    assert_eq!(reader.meta("origin").unwrap().as_deref(), Some(ORIGIN));
    assert_eq!(reader.meta("no such key").unwrap(), None);
    assert_eq!(reader.latest_checkpoint().unwrap(), None);
    assert_eq!(reader.checkpoint(0).unwrap(), None);
    assert_eq!(reader.checkpoints_after(0, 10).unwrap(), vec![]);
    assert_eq!(reader.tile(0, 0).unwrap(), None);
    assert_eq!(reader.bundle(0).unwrap(), None);
    assert_eq!(reader.tiles_from(0, 0, 10).unwrap(), vec![]);
    assert_eq!(reader.credentials().unwrap(), vec![]);
    assert_eq!(reader.payload(0, &leaf_hash(b"x")).unwrap(), None);
    // Indexes beyond what any backend can store are simply absent.
    assert_eq!(reader.tile(0, u64::MAX).unwrap(), None);
    assert_eq!(reader.bundle(u64::MAX).unwrap(), None);
    assert_eq!(reader.checkpoint(u64::MAX).unwrap(), None);

    let h = log.start().unwrap();
    // Six batches inside bundle 0, then three larger ones: sizes 40, 80, …, 240, 360, 480, 600.
    let mut sizes = Vec::new();
    let mut partial = Vec::new();
    let mut next = 0u64;
    for n in [40, 40, 40, 40, 40, 40, 120, 120, 120] {
        h.submit_many((next..next + n).map(entry).collect())
            .unwrap()
            .wait()
            .unwrap();
        next += n;
        sizes.push(next);
        if next < 256 {
            partial.push(reader.bundle(0).unwrap().unwrap());
        }
    }
    // The same reader (opened before the first commit) sees every batch.
    let latest = reader.latest_checkpoint().unwrap().unwrap();
    assert_eq!(latest.size, 600);
    assert_eq!(reader.checkpoint(600).unwrap().unwrap(), latest);
    let stored: Vec<u64> = reader
        .checkpoints_after(0, 100)
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(stored, sizes, "one checkpoint per batch, in order");
    for &size in &sizes {
        assert_eq!(reader.checkpoint(size).unwrap().unwrap().size, size);
    }
    assert_eq!(reader.checkpoint(150).unwrap(), None);
    let page: Vec<u64> = reader
        .checkpoints_after(100, 2)
        .unwrap()
        .iter()
        .map(|c| c.size)
        .collect();
    assert_eq!(page, vec![120, 160]);
    // Tiles: two full level-0 tiles and a partial one, in order, limit respected.
    let tiles = reader.tiles_from(0, 0, 10).unwrap();
    let widths: Vec<(u64, usize)> = tiles.iter().map(|(i, d)| (*i, d.len() / 32)).collect();
    assert_eq!(widths, vec![(0, 256), (1, 256), (2, 88)]);
    assert_eq!(reader.tiles_from(0, 1, 1).unwrap().len(), 1);
    assert_eq!(reader.tiles_from(0, 1, 1).unwrap()[0].0, 1);
    assert_eq!(reader.tiles_from(1, 0, 10).unwrap().len(), 1);
    assert_eq!(reader.tile(0, 2).unwrap().unwrap(), tiles[2].1);
    // The partial bundle was rewritten as it grew, each version a prefix of the next.
    assert_eq!(partial.len(), 6);
    assert!(
        partial
            .windows(2)
            .all(|w| w[1].starts_with(&w[0]) && w[1].len() > w[0].len())
    );
    assert!(reader.bundle(0).unwrap().unwrap().starts_with(&partial[5]));
    // Readers opened later see the same.
    let other = log.reader();
    assert_eq!(other.latest_checkpoint().unwrap().unwrap(), latest);
    h.shutdown();
}

/// Wraps a backend's writer and fails the commit of a chosen batch, as a full disk would.
struct FaultyWriter {
    inner: Box<dyn LogWriter>,
    commits: Arc<AtomicU64>,
    fail_commit_at: u64,
}

impl LogWriter for FaultyWriter {
    fn commit(&mut self, batch: &BatchWrite) -> Result<(), StoreError> {
        let n = self.commits.fetch_add(1, Ordering::SeqCst);
        if n == self.fail_commit_at {
            return Err(StoreError::Io {
                path: "the database".into(),
                source: std::io::Error::other("injected write failure"),
            });
        }
        self.inner.commit(batch)
    }

    fn syncer(&self) -> Result<Box<dyn LogSyncer>, StoreError> {
        self.inner.syncer()
    }
}

pub fn a_failed_write_stops_the_sequencer_for_good(log: Log) {
    let writer = FaultyWriter {
        inner: log.backend.writer().unwrap(),
        commits: Arc::new(AtomicU64::new(0)),
        fail_commit_at: 3,
    };
    let h = log
        .start_writer(Box::new(writer), log.signer(), SequencerConfig::default())
        .unwrap();
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

pub fn under_load_a_batch_lingers_to_gather_more_and_a_quiet_log_does_not(log: Log) {
    let config = SequencerConfig {
        // Long enough that entries submitted one after another in this thread all arrive
        // within it, however slow the machine.
        linger: std::time::Duration::from_millis(300),
        ..SequencerConfig::default()
    };
    let h = log.start_with(log.signer(), config).unwrap();
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

fn taxii_object(id: &str, version: &str, date_added_us: i64) -> hotline_store::taxii::TaxiiObject {
    hotline_store::taxii::TaxiiObject {
        id: id.into(),
        object_type: id.split("--").next().unwrap().into(),
        version: version.into(),
        version_key: hotline_store::taxii::version_key(version),
        spec_version: "2.1".into(),
        date_added_us,
        json: format!("{{\"id\":\"{id}\",\"modified\":\"{version}\"}}").into_bytes(),
    }
}

fn publication(
    collection: &str,
    status: &str,
    objects: Vec<hotline_store::taxii::TaxiiObject>,
) -> hotline_store::EntrySide {
    hotline_store::EntrySide {
        payload: None,
        credential: None,
        taxii: Some(Box::new(hotline_store::taxii::TaxiiPublication {
            collection: collection.into(),
            status_id: status.into(),
            body: format!("body of {status}").into_bytes(),
            status: format!("{{\"id\":\"{status}\"}}").into_bytes(),
            objects,
        })),
    }
}

pub fn taxii_objects_are_stored_with_their_entry_and_queried_by_filters(log: Log) {
    use hotline_store::taxii::{TaxiiQuery, VersionFilter};
    let h = log.start().unwrap();
    let (ind, mal) = ("indicator--1", "malware--2");
    let v1 = "2021-07-03T10:00:00Z";
    let v2 = "2021-07-03T10:00:00.5Z";
    let a = h
        .submit_with(
            entry(1),
            publication(
                "c1",
                "s1",
                vec![taxii_object(ind, v1, 100), taxii_object(mal, v1, 101)],
            ),
        )
        .unwrap()
        .wait()
        .unwrap();
    // A newer version of the indicator, and the old one again (kept once).
    let b = h
        .submit_with(
            entry(2),
            publication(
                "c1",
                "s2",
                vec![taxii_object(ind, v2, 200), taxii_object(ind, v1, 201)],
            ),
        )
        .unwrap()
        .wait()
        .unwrap();
    // The same entry again: its side data is dropped.
    let again = h
        .submit_with(
            entry(2),
            publication("c1", "s3", vec![taxii_object(mal, v2, 300)]),
        )
        .unwrap()
        .wait()
        .unwrap();
    assert!(!again.new);
    let reader = h.view().reader().clone();
    let t = reader.taxii().expect("the backend keeps TAXII collections");
    let q = |f: &dyn Fn(&mut TaxiiQuery)| {
        let mut q = TaxiiQuery {
            collection: "c1".into(),
            below_index: b.index + 1,
            limit: 100,
            ..TaxiiQuery::default()
        };
        f(&mut q);
        t.taxii_objects(&q, true)
            .unwrap()
            .into_iter()
            .map(|r| (r.id, r.version, r.date_added_us))
            .collect::<Vec<_>>()
    };
    // Default: the last version of each object, in date_added order.
    assert_eq!(
        q(&|_| {}),
        vec![(mal.into(), v1.into(), 101), (ind.into(), v2.into(), 200)]
    );
    let all = q(&|q| {
        q.versions = VersionFilter {
            all: true,
            ..Default::default()
        }
    });
    assert_eq!(all.len(), 3, "{all:?}");
    let first = q(&|q| {
        q.versions = VersionFilter {
            first: true,
            ..Default::default()
        }
    });
    assert_eq!(
        first,
        vec![(ind.into(), v1.into(), 100), (mal.into(), v1.into(), 101)]
    );
    let exact = q(&|q| {
        q.versions = VersionFilter {
            exact: vec![hotline_store::taxii::version_key(v1)],
            ..Default::default()
        }
    });
    assert_eq!(exact.len(), 2);
    // added_after is strict; ids, types and spec versions filter.
    assert_eq!(
        q(&|q| q.after_us = Some(101)),
        vec![(ind.into(), v2.into(), 200)]
    );
    assert_eq!(q(&|q| q.after_us = Some(200)), vec![]);
    assert_eq!(q(&|q| q.types = vec!["malware".into()]).len(), 1);
    assert_eq!(
        q(&|q| q.ids = vec![ind.into()]),
        vec![(ind.into(), v2.into(), 200)]
    );
    assert_eq!(q(&|q| q.spec_versions = vec!["2.0".into()]), vec![]);
    // Rows of entries not yet published are invisible, and "last" ignores them.
    assert_eq!(
        q(&|q| q.below_index = a.index + 1),
        vec![(ind.into(), v1.into(), 100), (mal.into(), v1.into(), 101)]
    );
    // Other collections are apart; the limit holds.
    assert_eq!(q(&|q| q.collection = "c2".into()), vec![]);
    assert_eq!(q(&|q| q.limit = 1).len(), 1);
    // Manifest rows carry no JSON.
    let m = t
        .taxii_objects(
            &TaxiiQuery {
                collection: "c1".into(),
                below_index: 10,
                limit: 10,
                ..TaxiiQuery::default()
            },
            false,
        )
        .unwrap();
    assert!(m.iter().all(|r| r.json.is_empty()));
    assert_eq!(
        t.taxii_status("s2").unwrap(),
        Some(hotline_store::taxii::TaxiiStatus {
            index: b.index,
            collection: "c1".into(),
            status: b"{\"id\":\"s2\"}".to_vec()
        })
    );
    assert_eq!(t.taxii_status("s3").unwrap(), None);
    assert_eq!(t.taxii_body(a.index).unwrap(), Some(b"body of s1".to_vec()));
    assert_eq!(t.taxii_last_date_added().unwrap(), Some(200));
    let pubs = t.taxii_publications_from(0, 10).unwrap();
    assert_eq!(pubs.len(), 2);
    assert_eq!(
        pubs[1].1.objects.len(),
        1,
        "the duplicate version was not stored"
    );
}

/// A process that does not sequence (another frontend) follows the log through a reader of
/// its own: every entry handed over once, in order, a large gap in bounded steps each up to a
/// signed checkpoint, and the follower's view proves what the sequencer's does.
pub fn a_follower_keeps_its_view_in_step_with_the_sequencer(log: Log) {
    use hotline_store::follow::{LogFollower, MAX_STEP_ENTRIES};
    let h = log.start().unwrap();
    let signer = log.signer();
    for i in 0..10 {
        h.append(entry(i)).unwrap();
    }
    let view = Arc::new(LogView::new(log.reader()).unwrap());
    let mut follower = LogFollower::start(view.clone(), signer.verifier()).unwrap();
    assert_eq!(follower.size(), 10);
    assert_eq!(view.snapshot().size(), 10);
    assert!(
        follower
            .step(|i, _| panic!("entry {i} handed over twice"))
            .unwrap()
            .is_none()
    );
    let mut next = 10u64;
    let mut seen: Vec<(u64, Vec<u8>)> = Vec::new();
    // Within a tile, across a tile boundary, and a gap of several steps.
    for n in [5u64, 600, MAX_STEP_ENTRIES + 3_000] {
        // Groups of 1,000: one group is never split over batches, and a step ends at a
        // checkpoint the log signed.
        let pending: Vec<_> = (next..next + n)
            .collect::<Vec<u64>>()
            .chunks(1000)
            .map(|c| {
                h.submit_many(c.iter().map(|i| entry(*i)).collect())
                    .unwrap()
            })
            .collect();
        for p in pending {
            p.wait().unwrap();
        }
        next += n;
        let mut steps = 0;
        while let Some(f) = follower
            .step(|i, e| {
                seen.push((i, e.to_vec()));
                Ok(())
            })
            .unwrap()
        {
            assert!(f.new - f.old <= MAX_STEP_ENTRIES, "{f:?}");
            assert_eq!(view.snapshot().size(), f.new);
            steps += 1;
            assert!(steps < 100, "the follower does not converge");
        }
        assert_eq!(follower.size(), next);
        if n > MAX_STEP_ENTRIES {
            assert!(
                steps >= 2,
                "a gap of {n} entries was followed in {steps} step"
            );
        }
    }
    assert_eq!(seen.len() as u64, next - 10);
    for (k, (i, e)) in seen.iter().enumerate() {
        assert_eq!(*i, 10 + k as u64);
        assert_eq!(*e, entry(*i), "entry {i}");
    }
    // Followers start while the sequencer appends: tiles and bundles wider than the
    // checkpoint they read are later commits, not damage.
    let appender = {
        let h = h.clone();
        std::thread::spawn(move || {
            for g in 0..40u64 {
                let first = 1_000_000 + g * 50;
                h.submit_many((first..first + 50).map(entry).collect())
                    .unwrap()
                    .wait()
                    .unwrap();
            }
        })
    };
    let mut started = 0;
    while !appender.is_finished() || started == 0 {
        let v = Arc::new(LogView::new(log.reader()).unwrap());
        let mut f = LogFollower::start(v, signer.verifier()).unwrap();
        while f.step(|_, _| Ok(())).unwrap().is_some() {}
        started += 1;
    }
    appender.join().unwrap();
    while follower
        .step(|i, e| {
            seen.push((i, e.to_vec()));
            Ok(())
        })
        .unwrap()
        .is_some()
    {}
    assert_eq!(seen.len() as u64, next + 2000 - 10);
    for (k, (_, e)) in seen[(next - 10) as usize..].iter().enumerate() {
        assert_eq!(*e, entry(1_000_000 + k as u64));
    }
    // What a follower reads of a bundle it read before: the rest of it.
    let reader = log.reader();
    let last = (next + 2000 - 1) / 256;
    for b in [0, last] {
        let whole = reader.bundle(b).unwrap().unwrap();
        for from in [0, 1, 100, whole.len() - 1, whole.len(), whole.len() + 5] {
            let tail = reader.bundle_tail(b, from).unwrap().unwrap();
            assert_eq!(
                tail,
                whole.get(from..).unwrap_or_default(),
                "bundle {b} from {from}"
            );
        }
    }
    assert_eq!(reader.bundle_tail(last + 1, 0).unwrap(), None);
    let (ours, theirs) = (view.snapshot(), h.view().snapshot());
    assert_eq!(ours.root(), theirs.root());
    for i in [0u64, 9, 10, 255, 256, next - 1] {
        let leaf = leaf_hash(&entry(i));
        assert_eq!(view.find_leaf(&ours, &leaf).unwrap(), Some(i));
        assert_eq!(
            view.inclusion_proof(&ours, i, ours.size()).unwrap(),
            h.view().inclusion_proof(&theirs, i, theirs.size()).unwrap()
        );
    }
    h.shutdown();
}

/// A row the model keeps: (id, version key, entry index, date_added).
type ModelObject = (String, String, u64, i64);

/// Fills a log with publications of a few objects in many versions, out of time order and
/// several in one entry or one batch (a small deterministic generator); returns the stored
/// rows as the model sees them (a version's first row wins) and the log's size.
fn fill_versions(log: &Log, entries: u64) -> (Vec<ModelObject>, u64) {
    let h = log.start().unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let mut model: Vec<ModelObject> = Vec::new();
    let mut date_added = 1_000i64;
    let mut i = 0;
    while i < entries {
        // 1-3 entries submitted together, so that some share a batch.
        let together = (1 + next(3)).min(entries - i);
        let mut pending = Vec::new();
        let mut planned = Vec::new();
        for _ in 0..together {
            let mut objects = Vec::new();
            for _ in 0..1 + next(4) {
                let id = format!("indicator--{}", next(5));
                let version = format!("2021-07-03T10:00:0{}Z", next(8));
                date_added += 1;
                objects.push(taxii_object(&id, &version, date_added));
            }
            planned.push(objects.clone());
            pending.push(
                h.submit_with(
                    entry(10_000 + i),
                    publication("c1", &format!("s{i}"), objects),
                )
                .unwrap(),
            );
            i += 1;
        }
        for (p, objects) in pending.into_iter().zip(planned) {
            let a = p.wait().unwrap();
            assert!(a.new);
            for o in objects {
                if !model.iter().any(|m| m.0 == o.id && m.1 == o.version_key) {
                    model.push((o.id, o.version_key, a.index, o.date_added_us));
                }
            }
        }
    }
    let size = h.view().snapshot().size();
    h.shutdown();
    (model, size)
}

/// Checks `last`, `first` and `all` at every published size against the model.
fn check_versions_at_every_size(
    t: &dyn hotline_store::taxii::TaxiiReader,
    model: &[ModelObject],
    size: u64,
) {
    use hotline_store::taxii::{TaxiiQuery, VersionFilter};
    for below in 0..=size + 1 {
        let seen: Vec<&ModelObject> = model.iter().filter(|m| m.2 < below).collect();
        for (name, versions) in [
            (
                "last",
                VersionFilter {
                    last: true,
                    ..Default::default()
                },
            ),
            (
                "first",
                VersionFilter {
                    first: true,
                    ..Default::default()
                },
            ),
            ("default", VersionFilter::default()),
            (
                "first,last",
                VersionFilter {
                    first: true,
                    last: true,
                    ..Default::default()
                },
            ),
        ] {
            let got: Vec<i64> = t
                .taxii_objects(
                    &TaxiiQuery {
                        collection: "c1".into(),
                        below_index: below,
                        versions: versions.clone(),
                        limit: 1000,
                        ..TaxiiQuery::default()
                    },
                    false,
                )
                .unwrap()
                .iter()
                .map(|r| r.date_added_us)
                .collect();
            let mut want: Vec<i64> = seen
                .iter()
                .filter(|m| {
                    let same = || seen.iter().filter(|n| n.0 == m.0);
                    let is_last = !same().any(|n| n.1 > m.1);
                    let is_first = !same().any(|n| n.1 < m.1);
                    (versions.last || !versions.first) && is_last || versions.first && is_first
                })
                .map(|m| m.3)
                .collect();
            want.sort_unstable();
            assert_eq!(got, want, "{name} below {below}");
        }
    }
}

pub fn taxii_last_and_first_are_right_at_every_published_size(log: Log) {
    let (model, size) = fill_versions(&log, 40);
    assert!(model.len() > 20 && model.len() < 40 * 4, "{}", model.len());
    let reader = log.reader();
    let t = reader.taxii().unwrap();
    check_versions_at_every_size(t, &model, size);
    let found = t.taxii_integrity(size).unwrap();
    assert_eq!(found.problems, Vec::<String>::new());
    assert_eq!(found.publications, 40);
    assert_eq!(found.objects, model.len() as u64);
}

pub fn taxii_tables_of_version_1_are_upgraded_by_a_writer(log: Log) {
    let (model, size) = fill_versions(&log, 12);
    // As a build before the version marks left them.
    log.backend.execute(
        "ALTER TABLE taxii_objects DROP COLUMN superseded_at; \
         ALTER TABLE taxii_objects DROP COLUMN preceded_at; \
         UPDATE meta SET value = '1' WHERE key = 'taxii_schema_version'",
    );
    let old = log.reader();
    let err = old
        .taxii()
        .unwrap()
        .taxii_objects(
            &hotline_store::taxii::TaxiiQuery {
                collection: "c1".into(),
                below_index: size,
                limit: 10,
                ..Default::default()
            },
            true,
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("TAXII tables") && err.contains("version 1"),
        "{err}"
    );
    // Copying and checking read version-1 tables as they are.
    assert_eq!(
        old.taxii().unwrap().taxii_integrity(size).unwrap().problems,
        Vec::<String>::new()
    );
    drop(old);
    drop(log.backend.writer().unwrap());
    let reader = log.reader();
    let t = reader.taxii().unwrap();
    check_versions_at_every_size(t, &model, size);
    assert_eq!(
        t.taxii_integrity(size).unwrap().problems,
        Vec::<String>::new()
    );
    assert_eq!(
        reader
            .meta_all()
            .unwrap()
            .into_iter()
            .find(|(k, _)| k == "taxii_schema_version")
            .map(|(_, v)| v),
        Some("2".to_owned())
    );
}

pub fn taxii_integrity_names_damaged_rows(log: Log) {
    let (_, size) = fill_versions(&log, 12);
    let reader = log.reader();
    assert_eq!(
        reader
            .taxii()
            .unwrap()
            .taxii_integrity(size)
            .unwrap()
            .problems,
        Vec::<String>::new()
    );
    // A lost mark: an old version would be served as the last one.
    log.backend.execute(
        "UPDATE taxii_objects SET superseded_at = NULL WHERE date_added = \
         (SELECT min(date_added) FROM taxii_objects WHERE superseded_at IS NOT NULL)",
    );
    // An object row whose entry published nothing, and a publication beyond the tree.
    log.backend.execute(
        "INSERT INTO taxii_objects(date_added, idx, collection, obj_id, obj_type, version, \
         version_key, spec_version, json) VALUES (1, 999999, 'c1', 'indicator--x', \
         'indicator', 'v', 'v', '2.1', '{}')",
    );
    log.backend.execute(&format!(
        "INSERT INTO taxii_publications(idx, status_id, collection, body, status) \
         VALUES ({size}, 'sx', 'c1', '', '')"
    ));
    let reader = log.reader();
    let problems = reader
        .taxii()
        .unwrap()
        .taxii_integrity(size)
        .unwrap()
        .problems;
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&format!("entry {size} lies beyond"))),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("indicator--x") && p.contains("entry 999999")),
        "{problems:#?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("version marks superseded_at none")),
        "{problems:#?}"
    );
}

fn hook(id: &str, party: &str) -> Webhook {
    Webhook {
        id: id.into(),
        party: party.into(),
        url: format!("https://{party}.example/{id}"),
        secret: format!("whsec_secret-of-{id}"),
        created: "2021-07-03T10:00:00Z".into(),
    }
}

fn pending(event: &str, webhook: &str, party: &str, at: i64) -> Pending {
    Pending {
        event_id: event.into(),
        webhook: webhook.into(),
        party: party.into(),
        event: "statement.arrived".into(),
        case_id: "20210703-3f9a1c2b7d4e".into(),
        body: format!("{{\"event\":\"{event}\"}}").into_bytes(),
        attempts: 0,
        next_at_ms: at,
    }
}

fn attempt(p: &Pending, n: u32, delivered: bool, will_retry: bool) -> Delivery {
    Delivery {
        webhook: p.webhook.clone(),
        party: p.party.clone(),
        event_id: p.event_id.clone(),
        event: p.event.clone(),
        case_id: p.case_id.clone(),
        attempt: n,
        time: format!("2021-07-03T10:00:0{n}Z"),
        status: Some(if delivered { 204 } else { 500 }),
        error: (!delivered).then(|| "the receiver answered 500".to_owned()),
        delivered,
        will_retry,
    }
}

pub fn webhook_registrations_progress_and_outbox(log: Log) {
    let store = log.backend.webhooks().unwrap();
    assert_eq!(store.hooks(None).unwrap(), Vec::<Webhook>::new());
    assert_eq!(store.next_index().unwrap(), None);
    assert_eq!(store.due(i64::MAX, 10).unwrap(), Vec::<Pending>::new());

    // Registrations, in order, at most `max` per party; the secret never in Debug.
    for (id, party) in [("wh_a1", "alpha"), ("wh_b1", "bravo"), ("wh_a2", "alpha")] {
        assert!(store.add_hook(&hook(id, party), 2).unwrap());
    }
    assert!(!store.add_hook(&hook("wh_a3", "alpha"), 2).unwrap());
    let ids = |party| -> Vec<String> {
        store
            .hooks(party)
            .unwrap()
            .into_iter()
            .map(|h| h.id)
            .collect()
    };
    assert_eq!(ids(Some("alpha")), ["wh_a1", "wh_a2"]);
    assert_eq!(ids(None), ["wh_a1", "wh_b1", "wh_a2"]);
    assert_eq!(
        store.hooks(Some("alpha")).unwrap()[0],
        hook("wh_a1", "alpha")
    );
    let shown = format!("{:?}", store.hooks(None).unwrap());
    assert!(!shown.contains("whsec_"), "{shown}");

    // The progress: set once from nothing, then moved only from where it stands.
    assert!(store.advance(None, 5, &[]).unwrap());
    assert!(!store.advance(None, 9, &[]).unwrap());
    assert!(!store.advance(Some(4), 9, &[]).unwrap());
    assert_eq!(store.next_index().unwrap(), Some(5));
    let e1a1 = pending("evt_arrived_6", "wh_a1", "alpha", 1_000);
    let e1a2 = pending("evt_arrived_6", "wh_a2", "alpha", 1_000);
    let e2b1 = pending("evt_arrived_7", "wh_b1", "bravo", 2_000);
    assert!(
        store
            .advance(Some(5), 8, &[e1a1.clone(), e1a2.clone(), e2b1.clone()])
            .unwrap()
    );
    // A notifier that examined the same entries queues nothing twice.
    assert!(
        !store
            .advance(Some(5), 8, std::slice::from_ref(&e1a1))
            .unwrap()
    );
    assert!(
        store
            .advance(Some(8), 9, std::slice::from_ref(&e1a1))
            .unwrap()
    );
    assert_eq!(store.next_index().unwrap(), Some(9));
    assert_eq!(store.due(999, 10).unwrap(), Vec::<Pending>::new());
    assert_eq!(
        store.due(1_000, 10).unwrap(),
        vec![e1a1.clone(), e1a2.clone()]
    );
    assert_eq!(
        store.due(5_000, 10).unwrap(),
        vec![e1a1.clone(), e1a2.clone(), e2b1.clone()]
    );
    assert_eq!(store.due(5_000, 1).unwrap(), vec![e1a1.clone()]);

    // A failed attempt reschedules its event; recording it again changes nothing.
    assert!(
        store
            .attempted(&attempt(&e1a1, 1, false, true), Some(3_000))
            .unwrap()
    );
    assert!(
        !store
            .attempted(&attempt(&e1a1, 1, false, true), Some(4_000))
            .unwrap()
    );
    let mut rescheduled = e1a1.clone();
    rescheduled.attempts = 1;
    rescheduled.next_at_ms = 3_000;
    assert_eq!(
        store.due(2_500, 10).unwrap(),
        vec![e1a2.clone(), e2b1.clone()]
    );
    assert_eq!(
        store.due(3_000, 10).unwrap(),
        vec![e1a2.clone(), e2b1.clone(), rescheduled.clone()]
    );
    // Delivered: dequeued.
    assert!(
        store
            .attempted(&attempt(&e1a1, 2, true, false), None)
            .unwrap()
    );
    assert_eq!(
        store.due(i64::MAX, 10).unwrap(),
        vec![e1a2.clone(), e2b1.clone()]
    );
    let log_a = store.deliveries("alpha", 10).unwrap();
    assert_eq!(
        log_a,
        vec![
            attempt(&e1a1, 2, true, false),
            attempt(&e1a1, 1, false, true),
            attempt(&e1a1, 1, false, true),
        ],
        "latest first, every attempt recorded"
    );
    assert_eq!(store.deliveries("alpha", 1).unwrap().len(), 1);
    assert_eq!(
        store.deliveries("bravo", 10).unwrap(),
        Vec::<Delivery>::new()
    );

    // Deleting: only the party's own; its queued events go with it.
    assert!(!store.delete_hook("bravo", "wh_a2").unwrap());
    assert!(store.delete_hook("alpha", "wh_a2").unwrap());
    assert!(!store.delete_hook("alpha", "wh_a2").unwrap());
    assert_eq!(store.due(i64::MAX, 10).unwrap(), vec![e2b1.clone()]);
    assert_eq!(ids(Some("alpha")), ["wh_a1"]);

    // Deadlines: announced once, their events queued with them; long past ones forgotten.
    let d = |key: &str, due: i64, events: Vec<Pending>| Announcement {
        key: key.into(),
        due,
        events,
    };
    let n1 = pending("evt_deadline_c1_ack_100", "wh_b1", "bravo", 10);
    let n2 = pending("evt_deadline_c2_ack_200", "wh_b1", "bravo", 10);
    assert_eq!(
        store
            .announce(
                &[
                    d("c1/ack/100", 100, vec![n1.clone()]),
                    d("c2/ack/200", 200, vec![n2.clone()])
                ],
                0
            )
            .unwrap(),
        ["c1/ack/100", "c2/ack/200"]
    );
    assert_eq!(
        store
            .announce(
                &[
                    d("c1/ack/100", 100, vec![n1.clone()]),
                    d("c2/ack/200", 200, vec![])
                ],
                0
            )
            .unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(store.due(10, 10).unwrap(), vec![n1.clone(), n2.clone()]);
    assert_eq!(store.announce(&[], 150).unwrap(), Vec::<String>::new());
    let data = store.export().unwrap();
    assert_eq!(data.announced, vec![("c2/ack/200".to_owned(), 200)]);

    // Another connection (another frontend, a restart) sees all of it.
    let other = log.backend.webhooks().unwrap();
    assert_eq!(other.export().unwrap(), data);
    assert_eq!(other.next_index().unwrap(), Some(9));
    assert_eq!(log.reader().webhook_data().unwrap(), Some(data));
}

pub fn webhook_notifiers_racing_queue_and_record_each_event_once(log: Log) {
    let stores: Vec<Arc<dyn WebhookStore>> =
        (0..4).map(|_| log.backend.webhooks().unwrap()).collect();
    assert!(stores[0].add_hook(&hook("wh_1", "alpha"), 10).unwrap());
    assert!(stores[0].advance(None, 0, &[]).unwrap());
    for round in 0..20u64 {
        let barrier = Barrier::new(stores.len());
        let won: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = stores
                .iter()
                .map(|st| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        let e = pending(&format!("evt_arrived_{round}"), "wh_1", "alpha", 0);
                        barrier.wait();
                        st.advance(Some(round), round + 1, &[e]).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "round {round}: {won:?}"
        );
    }
    let queued = stores[1].due(i64::MAX, 100).unwrap();
    assert_eq!(queued.len(), 20);
    // Every sender records the same first attempt of each event: one wins.
    for p in &queued {
        let barrier = Barrier::new(stores.len());
        let won: Vec<bool> = std::thread::scope(|s| {
            let handles: Vec<_> = stores
                .iter()
                .map(|st| {
                    let barrier = &barrier;
                    s.spawn(move || {
                        barrier.wait();
                        st.attempted(&attempt(p, 1, true, false), None).unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert_eq!(
            won.iter().filter(|w| **w).count(),
            1,
            "{}: {won:?}",
            p.event_id
        );
    }
    assert_eq!(stores[2].due(i64::MAX, 100).unwrap(), Vec::<Pending>::new());
    assert_eq!(stores[3].next_index().unwrap(), Some(20));
}

pub fn webhook_delivery_log_keeps_the_latest_per_party(log: Log) {
    let kept = hotline_store::webhooks::DELIVERIES_KEPT;
    let store = log.backend.webhooks().unwrap();
    let p = pending("evt_arrived_1", "wh_1", "alpha", 0);
    let q = pending("evt_arrived_2", "wh_2", "bravo", 0);
    let mut deliveries: Vec<Delivery> = (0..kept as u32 + 5)
        .map(|n| attempt(&p, n + 1, false, true))
        .collect();
    deliveries.extend((0..3).map(|n| attempt(&q, n + 1, false, true)));
    let data = WebhookData {
        deliveries,
        ..Default::default()
    };
    assert!(store.import("sha256:many", &data).unwrap());
    let a = store.deliveries("alpha", usize::MAX).unwrap();
    assert_eq!(a.len(), kept);
    assert_eq!(a[0].attempt, kept as u32 + 5, "latest first");
    assert_eq!(a[kept - 1].attempt, 6, "the oldest five went");
    assert_eq!(store.deliveries("bravo", usize::MAX).unwrap().len(), 3);
    // Recording keeps the bound.
    assert!(
        !store
            .attempted(&attempt(&p, 9_999, true, false), None)
            .unwrap()
    );
    let a = store.deliveries("alpha", usize::MAX).unwrap();
    assert_eq!(a.len(), kept);
    assert_eq!(a[0].attempt, 9_999);
    assert_eq!(a[kept - 1].attempt, 7);
    assert_eq!(store.deliveries("bravo", usize::MAX).unwrap().len(), 3);
}

pub fn webhook_import_happens_once_and_export_reads_everything(log: Log) {
    let store = log.backend.webhooks().unwrap();
    // What the hotline already keeps.
    assert!(store.add_hook(&hook("wh_kept", "alpha"), 10).unwrap());
    assert!(store.advance(None, 40, &[]).unwrap());
    let p = pending("evt_arrived_3", "wh_old", "bravo", 7);
    let data = WebhookData {
        hooks: vec![hook("wh_old", "bravo"), hook("wh_kept", "alpha")],
        next_index: Some(12),
        announced: vec![("c/ack/77".into(), 77)],
        pending: vec![p.clone()],
        deliveries: vec![attempt(&p, 1, false, true)],
        imports: vec![],
    };
    assert!(store.import("sha256:one", &data).unwrap());
    assert!(
        !store.import("sha256:one", &data).unwrap(),
        "imported twice"
    );
    let got = store.export().unwrap();
    assert_eq!(
        got,
        WebhookData {
            hooks: vec![hook("wh_kept", "alpha"), hook("wh_old", "bravo")],
            next_index: Some(40),
            announced: vec![("c/ack/77".into(), 77)],
            pending: vec![p.clone()],
            deliveries: vec![attempt(&p, 1, false, true)],
            imports: vec!["sha256:one".into()],
        },
        "kept what was there, added the rest once"
    );
    // A reader (the source of a copy) reads the same.
    assert_eq!(log.reader().webhook_data().unwrap(), Some(got));
}

pub fn webhook_tables_are_created_when_missing_and_other_versions_refused(log: Log) {
    // As a build before webhooks were kept in the store left the log.
    log.backend.execute(
        "DROP TABLE webhooks; DROP TABLE webhook_progress; DROP TABLE webhook_announced; \
         DROP TABLE webhook_pending; DROP TABLE webhook_deliveries; DROP TABLE webhook_imports; \
         DELETE FROM meta WHERE key = 'webhooks_schema_version'",
    );
    assert_eq!(log.reader().webhook_data().unwrap(), None);
    drop(log.backend.writer().unwrap());
    assert_eq!(
        log.reader().webhook_data().unwrap(),
        Some(WebhookData::default())
    );
    let store = log.backend.webhooks().unwrap();
    assert!(store.add_hook(&hook("wh_1", "alpha"), 10).unwrap());
    drop(store);
    // Tables of a version this build does not know are refused by name, and left alone.
    log.backend
        .execute("UPDATE meta SET value = '7' WHERE key = 'webhooks_schema_version'");
    let err = match log.backend.webhooks() {
        Ok(_) => panic!("webhook tables of version 7 were opened"),
        Err(e) => e.to_string(),
    };
    assert!(
        err.contains("webhook tables") && err.contains("version 7"),
        "{err}"
    );
    let err = match log.backend.writer() {
        Ok(_) => panic!("a writer opened a log with webhook tables of version 7"),
        Err(e) => e.to_string(),
    };
    assert!(err.contains("webhook tables"), "{err}");
    assert_eq!(
        log.reader().webhook_data().unwrap().unwrap().hooks,
        vec![hook("wh_1", "alpha")]
    );
}

/// The webhook notifier writes the same database on a connection of its own while the sequencer
/// commits batches: neither may fail for the other (on SQLite a commit that began by reading
/// and then found a newer commit used to fail at once with "database is locked" and stop the
/// sequencer).
pub fn the_sequencer_commits_while_a_webhook_notifier_writes(log: Log) {
    let h = log
        .start_with(
            log.signer(),
            SequencerConfig {
                batch_size: 4,
                ..SequencerConfig::default()
            },
        )
        .unwrap();
    let store = log.backend.webhooks().unwrap();
    assert!(store.add_hook(&hook("wh_1", "alpha"), 10).unwrap());
    assert!(store.advance(None, 0, &[]).unwrap());
    let stop = std::sync::atomic::AtomicBool::new(false);
    let rounds = std::thread::scope(|s| {
        let notifier = s.spawn(|| {
            let mut at = 0u64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) && at < 5_000 {
                let e = pending(&format!("evt_arrived_{at}"), "wh_1", "alpha", 0);
                assert!(store.advance(Some(at), at + 1, &[e]).unwrap());
                at += 1;
                // The notifier writes once a tick (1 s); 2 ms is hundreds of times as often.
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            at
        });
        for i in 0..400u64 {
            let e = entry(i);
            let a = h.submit(e.clone()).unwrap().wait().unwrap();
            assert_eq!(a.index, i, "entry {i}");
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        notifier.join().unwrap()
    });
    assert!(
        rounds > 0,
        "the notifier wrote nothing while the sequencer ran"
    );
    assert_eq!(store.next_index().unwrap(), Some(rounds));
    assert_eq!(h.view().snapshot().size(), 400);
    h.shutdown();
}
