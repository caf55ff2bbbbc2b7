//! Benchmarks of hotline-tlog's hot paths: leaf hashing of 400-byte entries, appending 4,096
//! leaf hashes to a `TreeEdge`, inclusion proof generation from a `TileSet`, `verify_inclusion`,
//! and Ed25519 note signature verification. Measurement times are kept short so that
//! `cargo bench -p hotline-tlog` finishes in well under two minutes.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hotline_tlog::checkpoint::Checkpoint;
use hotline_tlog::hash::{Hash, leaf_hash};
use hotline_tlog::note::{Ed25519Signer, Note};
use hotline_tlog::tile::{TileSet, TreeEdge};
use hotline_tlog::tree::{inclusion_proof, verify_inclusion};

/// Entries of about the size of a hotline statement.
const ENTRY_SIZE: usize = 400;
/// Leaves in the tree the proof benchmarks run against.
const TREE_SIZE: u64 = 1 << 20;

fn entry(i: u64) -> Vec<u8> {
    let mut e = vec![0u8; ENTRY_SIZE];
    e[..8].copy_from_slice(&i.to_be_bytes());
    e
}

/// A tree of `TREE_SIZE` leaves: its leaf hashes, every tile, and its root.
fn tree() -> (Vec<Hash>, TileSet, Hash) {
    let leaves: Vec<Hash> = (0..TREE_SIZE)
        .map(|i| leaf_hash(&i.to_be_bytes()))
        .collect();
    let mut edge = TreeEdge::empty();
    let mut tiles = TileSet::new();
    for chunk in leaves.chunks(4096) {
        for (level, index, tile) in edge.append(chunk).tiles {
            tiles.insert(level, index, tile);
        }
    }
    (leaves, tiles, edge.root())
}

/// Leaf indexes spread over the tree (a fixed odd stride visits them all).
fn indexes() -> impl Iterator<Item = u64> {
    (0u64..).map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15) % TREE_SIZE)
}

fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Bytes(ENTRY_SIZE as u64));
    let e = entry(7);
    g.bench_function("leaf_hash/400B", |b| b.iter(|| leaf_hash(black_box(&e))));
    g.finish();

    let mut g = c.benchmark_group("tree_edge");
    let batch: Vec<Hash> = (0..4096u64).map(|i| leaf_hash(&entry(i))).collect();
    // An edge with a partial tile at every level, so the append finishes tiles and carries.
    let mut start = TreeEdge::empty();
    let prefix: Vec<Hash> = (0..70_000u64)
        .map(|i| leaf_hash(&i.to_le_bytes()))
        .collect();
    start.append(&prefix);
    g.throughput(Throughput::Elements(batch.len() as u64));
    g.bench_function("append/4096", |b| {
        b.iter_batched(
            || start.clone(),
            |mut edge| edge.append(black_box(&batch)),
            BatchSize::SmallInput,
        )
    });
    g.finish();

    let (leaves, tiles, root) = tree();
    let mut g = c.benchmark_group("proof");
    let mut next = indexes();
    g.bench_function("inclusion_proof/2^20", |b| {
        b.iter(|| {
            let i = next.next().unwrap_or(0);
            inclusion_proof(&tiles, black_box(i), TREE_SIZE)
        })
    });
    let proofs: Vec<(u64, Vec<Hash>)> = indexes()
        .take(1024)
        .map(|i| (i, inclusion_proof(&tiles, i, TREE_SIZE).unwrap_or_default()))
        .collect();
    let mut k = 0usize;
    g.bench_function("verify_inclusion/2^20", |b| {
        b.iter(|| {
            let (i, p) = &proofs[k % proofs.len()];
            k += 1;
            verify_inclusion(&leaves[*i as usize], *i, TREE_SIZE, black_box(p), &root)
        })
    });
    g.finish();

    let mut g = c.benchmark_group("note");
    let log = Ed25519Signer::new(
        "log.example/hotline",
        ed25519_dalek::SigningKey::from_bytes(&[1; 32]),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let checkpoint = Checkpoint {
        origin: "log.example/hotline".into(),
        size: TREE_SIZE,
        root,
        extensions: vec![],
    };
    let mut note = Note::new(checkpoint.to_text()).unwrap_or_else(|e| panic!("{e}"));
    note.sign(&log);
    let bytes = note.to_bytes();
    let verifier = log.verifier();
    g.bench_function("verify_ed25519", |b| {
        b.iter(|| black_box(&note).verify(&[&verifier]))
    });
    g.bench_function("parse_and_verify_checkpoint", |b| {
        b.iter(|| {
            let n = Note::parse(black_box(&bytes)).unwrap_or_else(|e| panic!("{e}"));
            n.verify(&[&verifier]).unwrap_or_else(|e| panic!("{e}"));
            Checkpoint::parse(n.text()).unwrap_or_else(|e| panic!("{e}"))
        })
    });
    g.finish();
}

criterion_group! {
    name = tlog;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = benches
}
criterion_main!(tlog);
