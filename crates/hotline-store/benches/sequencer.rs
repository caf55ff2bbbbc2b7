//! In-process append, integrate and store through the real sequencer and SQLite store (one
//! submitting thread that also hashes; callers wait for the durable commit, proofs are not
//! built), entry by entry and in groups of 64, with a baseline in the same run: the same bytes written as plain 256-entry rows by SQLite alone,
//! in transactions of the same size. Compare the two medians, not absolute numbers: these
//! machines are noisy.
#![allow(clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hotline_store::LogReader;
use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig};
use hotline_store::sqlite::{self, SqliteReader, SqliteWriter};
use hotline_tlog::Ed25519Signer;

const ENTRIES: u64 = 65_536;
const ENTRY_SIZE: usize = 400;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("append_400B");
    g.throughput(Throughput::Elements(ENTRIES));
    g.sample_size(10);
    g.measurement_time(Duration::from_secs(20));

    g.bench_function("sqlite_rows_baseline", |b| {
        let dir = tempfile::tempdir().unwrap();
        let conn = rusqlite::Connection::open(dir.path().join("b.db")).unwrap();
        conn.pragma_update(None, "page_size", sqlite::PAGE_SIZE)
            .unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "synchronous", "FULL").unwrap();
        conn.execute_batch("CREATE TABLE b(idx INTEGER PRIMARY KEY, data BLOB)")
            .unwrap();
        let row = vec![7u8; 256 * (ENTRY_SIZE + 2)];
        let mut next = 0i64;
        let mut conn = conn;
        b.iter_custom(|iters| {
            let t = Instant::now();
            for _ in 0..iters {
                // 4096-entry transactions, like the sequencer's default batch.
                for _ in 0..ENTRIES / 4096 {
                    let tx = conn.transaction().unwrap();
                    for _ in 0..16 {
                        tx.execute(
                            "INSERT INTO b VALUES (?1, ?2)",
                            rusqlite::params![next, row],
                        )
                        .unwrap();
                        next += 1;
                    }
                    tx.commit().unwrap();
                }
            }
            t.elapsed()
        });
    });

    for group in [1usize, 64] {
        let name = if group == 1 {
            "sequencer_one_per_submission".to_owned()
        } else {
            format!("sequencer_groups_of_{group}")
        };
        g.bench_function(name, |b| {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("hotline.db");
            let signer = Ed25519Signer::generate("bench.example/log").unwrap();
            sqlite::create(&db, "bench.example/log", &signer.verifier().to_vkey()).unwrap();
            let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(&db).unwrap());
            let view = Arc::new(LogView::new(reader).unwrap());
            let seq = sequencer::start(
                Box::new(SqliteWriter::open(&db).unwrap()),
                view,
                signer,
                SequencerConfig::default(),
            )
            .unwrap();
            let mut counter = 0u64;
            let filler = vec![9u8; ENTRY_SIZE];
            b.iter_custom(|iters| {
                let t = Instant::now();
                for _ in 0..iters {
                    let mut pending = Vec::new();
                    for _ in 0..ENTRIES / group as u64 {
                        let entries: Vec<Vec<u8>> = (0..group)
                            .map(|_| {
                                let mut e = filler.clone();
                                e[..8].copy_from_slice(&counter.to_be_bytes());
                                counter += 1;
                                e
                            })
                            .collect();
                        pending.push(seq.submit_many(entries).unwrap());
                    }
                    for p in pending {
                        p.wait().unwrap();
                    }
                }
                t.elapsed()
            });
            seq.shutdown();
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
