//! The `/log/` endpoints over real HTTP on loopback, backed by a real SQLite log: content types
//! and caching as c2sp.org/tlog-tiles asks, partial tiles cut from wider ones, JSON proofs that
//! verify, and a clear 4xx (never a 500) for every malformed request.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;

use hotline_server::{AppState, ConsistencyProofDto, InclusionProofDto};
use hotline_store::LogReader;
use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig, SequencerHandle};
use hotline_store::sqlite::{self, SqliteReader, SqliteWriter};
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tree::{verify_consistency, verify_inclusion};
use hotline_tlog::{Checkpoint, Ed25519Signer, Hash, Note, leaf_hash};
use reqwest::blocking::Client;

const ORIGIN: &str = "http-test.example/log";

struct Server {
    addr: SocketAddr,
    signer: Ed25519Signer,
    seq: SequencerHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn entry(i: u64) -> Vec<u8> {
    format!("http test entry {i}\n").into_bytes()
}

fn server(entries: u64) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hotline.db");
    let signer = Ed25519Signer::generate(ORIGIN).unwrap();
    sqlite::create(&db, ORIGIN, &signer.verifier().to_vkey()).unwrap();
    let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(&db).unwrap());
    let view = Arc::new(LogView::new(reader).unwrap());
    let seq = sequencer::start(
        Box::new(SqliteWriter::open(&db).unwrap()),
        view.clone(),
        Ed25519Signer::from_skey(&signer.to_skey()).unwrap(),
        SequencerConfig::default(),
    )
    .unwrap();
    let mut last = None;
    for i in 0..entries {
        last = Some(seq.submit(entry(i)).unwrap());
    }
    if let Some(p) = last {
        p.wait().unwrap();
    }
    let state = Arc::new(AppState {
        view,
        sequencer: Some(seq.clone()),
        service: None,
        witnessing: None,
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready_tx.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, hotline_server::router(state))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    Server {
        addr: ready_rx.recv().unwrap(),
        signer,
        seq,
        stop: Some(stop),
        thread: Some(thread),
        _dir: dir,
    }
}

fn get(s: &Server, path: &str) -> reqwest::blocking::Response {
    Client::new()
        .get(format!("http://{}{path}", s.addr))
        .send()
        .unwrap()
}

fn checkpoint(s: &Server) -> Checkpoint {
    let r = get(s, "/log/checkpoint");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(r.headers()["cache-control"], "no-cache");
    let note = Note::parse(&r.bytes().unwrap()).unwrap();
    let v = s.signer.verifier();
    note.verify(&[&v as &dyn NoteVerifier]).unwrap();
    Checkpoint::parse(note.text()).unwrap()
}

#[test]
fn checkpoint_and_tiles_follow_tlog_tiles() {
    let s = server(70_000);
    let cp = checkpoint(&s);
    assert_eq!((cp.origin.as_str(), cp.size), (ORIGIN, 70_000));

    let full = get(&s, "/log/tile/0/000");
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "application/octet-stream");
    assert_eq!(
        full.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let full = full.bytes().unwrap();
    assert_eq!(full.len(), 8192);
    assert_eq!(&full[..32], &leaf_hash(&entry(0)).0);

    // The spec's example sizes: partial level-0 width 112, level-1 width 17, level-2 width 1.
    for (path, len) in [
        ("/log/tile/0/273.p/112", 112 * 32),
        ("/log/tile/1/001.p/17", 17 * 32),
        ("/log/tile/2/000.p/1", 32),
        ("/log/tile/1/000", 8192),
        // A narrower partial tile is a prefix of the wider one (older checkpoints' widths).
        ("/log/tile/0/273.p/5", 5 * 32),
        ("/log/tile/0/000.p/7", 7 * 32),
    ] {
        let r = get(&s, path);
        assert_eq!(r.status(), 200, "{path}");
        assert_eq!(r.bytes().unwrap().len(), len, "{path}");
    }
    let narrow = get(&s, "/log/tile/0/273.p/5").bytes().unwrap();
    let wide = get(&s, "/log/tile/0/273.p/112").bytes().unwrap();
    assert_eq!(&wide[..narrow.len()], &narrow[..]);

    let bundle = get(&s, "/log/tile/entries/273.p/112").bytes().unwrap();
    let entries = hotline_tlog::bundle::decode_bundle(&bundle).unwrap();
    assert_eq!(entries.len(), 112);
    assert_eq!(entries[0], entry(273 * 256).as_slice());
}

#[test]
fn entry_bundles_are_gzip_compressed_on_request() {
    let s = server(300);
    let r = Client::builder()
        .no_gzip()
        .build()
        .unwrap()
        .get(format!("http://{}/log/tile/entries/000", s.addr))
        .header("accept-encoding", "gzip")
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
}

#[test]
fn tiles_that_do_not_exist_or_are_malformed_are_404_with_a_reason() {
    let s = server(300);
    for (path, reason) in [
        ("/log/tile/0/001", "does not exist in the tree of size 300"),
        (
            "/log/tile/0/001.p/45",
            "does not exist in the tree of size 300",
        ),
        ("/log/tile/0/002", "does not exist"),
        ("/log/tile/1/000", "does not exist"),
        ("/log/tile/entries/001.p/45", "does not exist"),
        ("/log/tile/00/000", "malformed tile path"),
        ("/log/tile/0/1", "malformed tile path"),
        ("/log/tile/0/x000/001", "malformed tile path"),
        ("/log/tile/64/000", "malformed tile path"),
        ("/log/tile/0/000.p/256", "malformed tile path"),
        ("/log/tile/0/000.p/0", "malformed tile path"),
        ("/log/tile/entries/abc", "malformed tile path"),
        ("/log/tile/0/000/", "malformed tile path"),
        ("/log/tile/0/%ff", "malformed tile path"),
        ("/log/nothing-here", "not found"),
    ] {
        let r = get(&s, path);
        assert_eq!(r.status(), 404, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains(reason), "{path}: {body:?} lacks {reason:?}");
    }
}

#[test]
fn json_proofs_verify() {
    let s = server(1000);
    let cp = checkpoint(&s);
    for index in [0u64, 1, 255, 256, 999] {
        let p: InclusionProofDto = get(&s, &format!("/log/proof/inclusion?index={index}"))
            .json()
            .unwrap();
        let proof: Vec<Hash> = p
            .proof
            .iter()
            .map(|h| Hash::from_base64(h).unwrap())
            .collect();
        verify_inclusion(&leaf_hash(&entry(index)), index, cp.size, &proof, &cp.root).unwrap();
    }
    // By leaf hash, hex or base64 (URL-safe too), and at an older size.
    let leaf = leaf_hash(&entry(42));
    for q in [
        leaf.to_hex(),
        leaf.to_base64().replace('+', "-").replace('/', "_"),
    ] {
        let p: InclusionProofDto = get(&s, &format!("/log/proof/inclusion?leaf_hash={q}&size=500"))
            .json()
            .unwrap();
        assert_eq!((p.index, p.tree_size), (42, 500));
    }
    let c: ConsistencyProofDto = get(&s, "/log/proof/consistency?old=300").json().unwrap();
    assert_eq!(c.new, 1000);
    let proof: Vec<Hash> = c
        .proof
        .iter()
        .map(|h| Hash::from_base64(h).unwrap())
        .collect();
    let old_root = hotline_tlog::hash::root_of_leaves(
        &(0..300).map(|i| leaf_hash(&entry(i))).collect::<Vec<_>>(),
    );
    verify_consistency(300, 1000, &old_root, &cp.root, &proof).unwrap();
}

#[test]
fn bad_proof_requests_are_400_or_404_with_a_reason() {
    let s = server(10);
    for (path, status, reason) in [
        ("/log/proof/inclusion?index=10", 400, "out of range"),
        (
            "/log/proof/inclusion?index=3&size=11",
            400,
            "beyond the latest checkpoint",
        ),
        ("/log/proof/inclusion?index=abc", 400, "index"),
        (
            "/log/proof/inclusion",
            400,
            "exactly one of index or leaf_hash",
        ),
        (
            "/log/proof/inclusion?index=1&leaf_hash=00",
            400,
            "exactly one",
        ),
        ("/log/proof/inclusion?leaf_hash=zz", 400, "SHA-256 hash"),
        (
            &format!(
                "/log/proof/inclusion?leaf_hash={}",
                leaf_hash(b"absent").to_hex()
            ),
            404,
            "no entry with leaf hash",
        ),
        (
            "/log/proof/consistency?old=11",
            400,
            "to the smaller size 10",
        ),
        (
            "/log/proof/consistency?old=3&new=20",
            400,
            "beyond the latest checkpoint",
        ),
        ("/log/proof/consistency", 400, "old"),
        ("/log/proof/consistency?old=-1", 400, "old"),
    ] {
        let r = get(&s, path);
        assert_eq!(r.status().as_u16(), status, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains(reason), "{path}: {body:?} lacks {reason:?}");
    }
    // Nothing changed.
    assert_eq!(s.seq.view().snapshot().size(), 10);
}

#[test]
fn empty_log_says_so() {
    let s = server(0);
    let r = get(&s, "/log/checkpoint");
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().contains("the log is empty"));
    assert_eq!(get(&s, "/log/tile/0/000.p/1").status(), 404);
    assert_eq!(get(&s, "/healthz").status(), 200);
}
