//! c2sp.org/tlog-witness `add-checkpoint` over real HTTP on loopback, against a real SQLite
//! database: cosignatures that verify, and the spec's status code for every refusal.
#![allow(clippy::unwrap_used, missing_docs)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotline_tlog::cosignature::{CosignatureV1Verifier, CosignerV1};
use hotline_tlog::hash::root_of_leaves;
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tree::{LeafHashes, consistency_proof};
use hotline_tlog::{Checkpoint, Ed25519Signer, Hash, Note, leaf_hash};
use hotline_witness::{KnownLogs, Store, Witness, WitnessConfig, encode_request};
use sha2::{Digest, Sha256};

const ORIGIN: &str = "log.example/witness-test";
const WITNESS: &str = "witness.example/w1";

/// A log: its signing key and leaves.
struct Log {
    signer: Ed25519Signer,
    leaves: Vec<Hash>,
}

impl Log {
    fn new(origin: &str, n: u64) -> Log {
        Log {
            signer: Ed25519Signer::generate(origin).unwrap(),
            leaves: (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect(),
        }
    }

    fn origin(&self) -> &str {
        hotline_tlog::NoteSigner::name(&self.signer)
    }

    fn checkpoint_with_root(&self, size: u64, root: Hash) -> Vec<u8> {
        let cp = Checkpoint {
            origin: self.origin().to_owned(),
            size,
            root,
            extensions: vec![],
        };
        let mut note = Note::new(cp.to_text()).unwrap();
        note.sign(&self.signer);
        note.to_bytes()
    }

    fn checkpoint(&self, size: u64) -> Vec<u8> {
        self.checkpoint_with_root(size, root_of_leaves(&self.leaves[..size as usize]))
    }

    fn proof(&self, old: u64, new: u64) -> Vec<Hash> {
        consistency_proof(&LeafHashes(&self.leaves[..new as usize]), old, new).unwrap()
    }

    /// A valid request from `old` to `new`.
    fn request(&self, old: u64, new: u64) -> Vec<u8> {
        encode_request(old, &self.proof(old, new), &self.checkpoint(new))
    }
}

struct Server {
    addr: SocketAddr,
    witness: Arc<Witness>,
    verifier: CosignatureV1Verifier,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    async fn start(witness: Witness) -> Server {
        let verifier =
            CosignatureV1Verifier::from_vkey(&witness.cosigner().verifier().to_vkey()).unwrap();
        let witness = Arc::new(witness);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = hotline_witness::router(witness.clone());
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Server {
            addr,
            witness,
            verifier,
            stop: Some(stop),
            task: Some(task),
        }
    }

    async fn shutdown(mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
    }

    async fn post(&self, body: Vec<u8>) -> (u16, Option<String>, String) {
        let r = reqwest::Client::new()
            .post(format!("http://{}/add-checkpoint", self.addr))
            .body(body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        (status, ct, r.text().await.unwrap())
    }

    /// Posts a request that must be cosigned, and checks the cosignature.
    async fn cosign(&self, log: &Log, old: u64, new: u64) -> u64 {
        let (status, _, body) = self.post(log.request(old, new)).await;
        assert_eq!(status, 200, "{body}");
        self.check_cosignature(&log.checkpoint(new), &body)
    }

    /// Checks a 200 body as a client would: concatenated to the checkpoint, it verifies with the
    /// witness's key. Returns the cosignature's timestamp.
    fn check_cosignature(&self, checkpoint: &[u8], body: &str) -> u64 {
        assert!(
            body.starts_with('\u{2014}') && body.ends_with('\n'),
            "{body:?}"
        );
        assert_eq!(body.lines().count(), 1);
        let mut full = checkpoint.to_vec();
        full.extend_from_slice(body.as_bytes());
        let note = Note::parse(&full).unwrap();
        assert_eq!(note.verify(&[&self.verifier]).unwrap(), vec![WITNESS]);
        let sig = note.signature_by(WITNESS, self.verifier.key_id()).unwrap();
        let ts = self
            .verifier
            .verified_timestamp(note.text(), &sig.signature)
            .unwrap();
        let now = hotline_witness::now_seconds();
        assert!(
            ts > 0 && ts <= now && now - ts < 60,
            "timestamp {ts}, now {now}"
        );
        ts
    }
}

fn known(logs: &[&Log]) -> KnownLogs {
    let mut k = KnownLogs::default();
    for l in logs {
        k.insert(l.origin(), vec![l.signer.verifier()]);
    }
    k
}

async fn server(logs: &[&Log]) -> Server {
    let witness = Witness::new(
        CosignerV1::generate(WITNESS).unwrap(),
        known(logs),
        Store::open_in_memory().unwrap(),
    );
    Server::start(witness).await
}

fn assert_conflict(r: (u16, Option<String>, String), recorded: u64) {
    assert_eq!(r.0, 409, "{}", r.2);
    assert_eq!(r.1.as_deref(), Some("text/x.tlog.size"));
    assert_eq!(r.2, format!("{recorded}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn first_and_later_checkpoints_are_cosigned() {
    let log = Log::new(ORIGIN, 40);
    let s = server(&[&log]).await;
    let (status, ct, body) = s.post(log.request(0, 5)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(ct.as_deref(), Some("text/plain; charset=utf-8"));
    s.check_cosignature(&log.checkpoint(5), &body);
    // A later checkpoint with a consistency proof from the recorded size.
    s.cosign(&log, 5, 13).await;
    s.cosign(&log, 13, 32).await;
    // The same checkpoint again (old = size = recorded, same root): cosigned again.
    s.cosign(&log, 32, 32).await;
    s.cosign(&log, 32, 40).await;
    let state = s.witness.store().latest(ORIGIN).unwrap().unwrap();
    assert_eq!(state.size, 40);
    assert_eq!(state.root, root_of_leaves(&log.leaves));

    // The monitoring endpoint serves the checkpoint with the log's signature and the
    // cosignature.
    let hash = hex(&Sha256::digest(ORIGIN.as_bytes()));
    let r = reqwest::get(format!("http://{}/{hash}/checkpoint", s.addr))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let note = Note::parse(&r.bytes().await.unwrap()).unwrap();
    assert_eq!(Checkpoint::parse(note.text()).unwrap().size, 40);
    let log_v = log.signer.verifier();
    assert_eq!(
        note.verify(&[&log_v, &s.verifier]).unwrap(),
        vec![ORIGIN, WITNESS]
    );
    assert_eq!(note.signatures().len(), 2);
    let other = hex(&Sha256::digest(b"other.example/log"));
    for path in [other.as_str(), &hash.to_uppercase(), "xyz"] {
        let r = reqwest::get(format!("http://{}/{path}/checkpoint", s.addr))
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 404, "{path}");
    }
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_old_size_and_rollbacks_are_conflicts() {
    let log = Log::new(ORIGIN, 20);
    let s = server(&[&log]).await;
    // Nothing recorded: only old 0 is accepted, and 409 says 0.
    assert_conflict(s.post(log.request(3, 7)).await, 0);
    s.cosign(&log, 0, 10).await;
    assert_conflict(s.post(log.request(0, 12)).await, 10);
    // The 409 check comes before the 422 ones (the spec's order): a proof with old size 0 and a
    // size-0 checkpoint with a bad root are conflicts once something is recorded.
    assert_conflict(
        s.post(encode_request(0, &log.proof(3, 12), &log.checkpoint(12)))
            .await,
        10,
    );
    assert_conflict(
        s.post(encode_request(
            0,
            &[],
            &log.checkpoint_with_root(0, leaf_hash(b"x")),
        ))
        .await,
        10,
    );
    assert_conflict(s.post(log.request(7, 12)).await, 10);
    assert_conflict(s.post(log.request(11, 12)).await, 10);
    // Rollback: an older checkpoint, with a proof from an older size.
    assert_conflict(s.post(log.request(5, 8)).await, 10);
    assert_conflict(s.post(log.request(0, 8)).await, 10);
    // Rollback claiming the recorded size as old: the old size exceeds the checkpoint size,
    // which the spec answers with 400.
    let (status, _, body) = s.post(encode_request(10, &[], &log.checkpoint(8))).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(s.witness.store().latest(ORIGIN).unwrap().unwrap().size, 10);
    s.cosign(&log, 10, 12).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_proofs_are_unprocessable() {
    let log = Log::new(ORIGIN, 20);
    let s = server(&[&log]).await;
    // A proof with old size 0.
    let (status, _, body) = s
        .post(encode_request(0, &log.proof(3, 9), &log.checkpoint(9)))
        .await;
    assert_eq!(status, 422, "{body}");
    // A size-0 checkpoint must have the empty tree's root.
    let (status, _, _) = s
        .post(encode_request(
            0,
            &[],
            &log.checkpoint_with_root(0, leaf_hash(b"x")),
        ))
        .await;
    assert_eq!(status, 422);
    s.cosign(&log, 0, 0).await;
    s.cosign(&log, 0, 6).await;
    // A flipped bit, a missing hash, an extra hash, a proof for other sizes.
    let mut flipped = log.proof(6, 15);
    flipped[1].0[3] ^= 1;
    let mut short = log.proof(6, 15);
    short.pop();
    let mut long = log.proof(6, 15);
    long.push(leaf_hash(b"extra"));
    for proof in [flipped, short, long, log.proof(5, 15), vec![]] {
        let (status, ct, body) = s.post(encode_request(6, &proof, &log.checkpoint(15))).await;
        assert_eq!(status, 422, "{body}");
        assert_eq!(ct.as_deref(), Some("text/plain; charset=utf-8"));
    }
    // A checkpoint whose root is not the log's (signed by the log, but a different tree).
    let (status, _, _) = s
        .post(encode_request(
            6,
            &log.proof(6, 15),
            &log.checkpoint_with_root(15, leaf_hash(b"forged")),
        ))
        .await;
    assert_eq!(status, 422);
    // A non-empty proof for old = size.
    let (status, _, _) = s
        .post(encode_request(6, &log.proof(5, 6), &log.checkpoint(6)))
        .await;
    assert_eq!(status, 422);
    assert_eq!(s.witness.store().latest(ORIGIN).unwrap().unwrap().size, 6);
    s.cosign(&log, 6, 15).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_origins_and_keys_are_refused() {
    let log = Log::new(ORIGIN, 8);
    let stranger = Log::new("stranger.example/log", 8);
    let s = server(&[&log]).await;
    // Unknown origin: 404.
    let (status, _, body) = s.post(stranger.request(0, 4)).await;
    assert_eq!(status, 404, "{body}");
    // Known origin, signed by a key the witness does not trust for it: 403.
    let impostor = Log {
        signer: Ed25519Signer::generate(ORIGIN).unwrap(),
        leaves: log.leaves.clone(),
    };
    let (status, _, _) = s.post(impostor.request(0, 4)).await;
    assert_eq!(status, 403);
    // Known origin, key with another name (the stranger's) whose ID is unknown here: 403.
    let cp = Checkpoint {
        origin: ORIGIN.to_owned(),
        size: 4,
        root: root_of_leaves(&log.leaves[..4]),
        extensions: vec![],
    };
    let mut note = Note::new(cp.to_text()).unwrap();
    note.sign(&stranger.signer);
    let (status, _, _) = s.post(encode_request(0, &[], &note.to_bytes())).await;
    assert_eq!(status, 403);
    // A trusted key's signature that does not verify: 403, even next to a valid one of an
    // unknown key.
    let mut bad = Note::parse(&log.checkpoint(4)).unwrap();
    let mut sig = bad.signatures()[0].clone();
    sig.signature[0] ^= 1;
    bad.add_signature(sig);
    bad.sign(&stranger.signer);
    let (status, _, _) = s.post(encode_request(0, &[], &bad.to_bytes())).await;
    assert_eq!(status, 403);
    // Signatures by unknown keys are ignored next to a valid one.
    let mut extra = Note::parse(&log.checkpoint(4)).unwrap();
    extra.sign(&stranger.signer);
    let (status, _, body) = s.post(encode_request(0, &[], &extra.to_bytes())).await;
    assert_eq!(status, 200, "{body}");
    // Nothing was recorded for the refused requests' sake.
    assert!(
        s.witness
            .store()
            .latest("stranger.example/log")
            .unwrap()
            .is_none()
    );
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_bodies_are_bad_requests() {
    let log = Log::new(ORIGIN, 8);
    let s = server(&[&log]).await;
    let cp = String::from_utf8(log.checkpoint(4)).unwrap();
    let proof_line = format!("{}\n", leaf_hash(b"p").to_base64());
    let cases: Vec<Vec<u8>> = vec![
        vec![],
        b"old 0\n".to_vec(),
        cp.clone().into_bytes(),
        format!("old 00\n\n{cp}").into_bytes(),
        format!("old +1\n\n{cp}").into_bytes(),
        format!("old 1 \n\n{cp}").into_bytes(),
        format!("Old 0\n\n{cp}").into_bytes(),
        format!("old 0\r\n\r\n{cp}").into_bytes(),
        format!("old 0\nnot base64!\n\n{cp}").into_bytes(),
        format!("old 0\nAAAA\n\n{cp}").into_bytes(),
        format!("old 4\n{}\n{cp}", proof_line.repeat(64)).into_bytes(),
        format!("old 0\n{cp}").into_bytes(),
        b"old 0\n\nlog.example/witness-test\n4\n".to_vec(),
        format!("old 0\n\n{}", cp.replace('\u{2014}', "-")).into_bytes(),
        format!("old 0\n\n{}", cp.replace("\n4\n", "\n04\n")).into_bytes(),
        [b"old 0\n\n".as_slice(), &[0xff, 0xfe], cp.as_bytes()].concat(),
        // Old size above the checkpoint's size.
        format!("old 5\n\n{cp}").into_bytes(),
    ];
    for (i, body) in cases.into_iter().enumerate() {
        let (status, _, text) = s.post(body).await;
        assert_eq!(status, 400, "case {i}: {text}");
        assert!(text.ends_with('\n'), "case {i}: {text:?}");
    }
    // Too large a body.
    let (status, _, _) = s
        .post(vec![b'a'; hotline_witness::http::MAX_BODY + 1])
        .await;
    assert_eq!(status, 413);
    // Only POST.
    let r = reqwest::get(format!("http://{}/add-checkpoint", s.addr))
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert!(s.witness.store().latest(ORIGIN).unwrap().is_none());
    s.cosign(&log, 0, 4).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn equivocation_is_refused_and_recorded() {
    let log = Log::new(ORIGIN, 16);
    let s = server(&[&log]).await;
    s.cosign(&log, 0, 8).await;
    let recorded = s.witness.store().latest(ORIGIN).unwrap().unwrap();
    // The log signs another tree of size 8.
    let forked = log.checkpoint_with_root(8, leaf_hash(b"fork"));
    let (status, _, body) = s.post(encode_request(8, &[], &forked)).await;
    assert_eq!(status, 422, "{body}");
    // Sent again: refused again, recorded once.
    let (status, _, _) = s.post(encode_request(8, &[], &forked)).await;
    assert_eq!(status, 422);
    // A fork of the same size sent with another old size: 409, and still evidence.
    let forked2 = log.checkpoint_with_root(8, leaf_hash(b"fork 2"));
    assert_conflict(
        s.post(encode_request(4, &log.proof(4, 8), &forked2)).await,
        8,
    );
    let ev = s.witness.store().equivocations(ORIGIN).unwrap();
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].size, 8);
    assert_eq!(ev[0].recorded_root, recorded.root);
    assert_eq!(ev[0].recorded_note, recorded.note);
    assert_eq!(ev[0].refused_root, leaf_hash(b"fork"));
    assert_eq!(ev[0].refused_note, forked);
    assert_eq!(ev[1].refused_root, leaf_hash(b"fork 2"));
    // Both notes verify: the evidence stands on its own.
    let log_v = log.signer.verifier();
    for n in [&ev[0].recorded_note, &ev[0].refused_note] {
        Note::parse(n).unwrap().verify(&[&log_v]).unwrap();
    }
    // The recorded state is unchanged and the log can go on from it.
    assert_eq!(s.witness.store().latest(ORIGIN).unwrap().unwrap(), recorded);
    s.cosign(&log, 8, 16).await;
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_requests_with_the_same_old_size_cannot_both_win() {
    let log = Arc::new(Log::new(ORIGIN, 200));
    let s = Arc::new(server(&[&log]).await);
    let mut recorded = 0u64;
    for round in 0..10u64 {
        let sizes = [recorded + 1 + round, recorded + 2 + round * 2];
        let handles: Vec<_> = sizes
            .iter()
            .map(|&new| {
                let (s, body) = (s.clone(), log.request(recorded, new));
                tokio::spawn(async move { (new, s.post(body).await) })
            })
            .collect();
        let mut winners = Vec::new();
        let mut losers = Vec::new();
        for h in handles {
            let (new, r) = h.await.unwrap();
            match r.0 {
                200 => winners.push(new),
                409 => losers.push(r.2),
                other => panic!("round {round}: unexpected status {other}: {}", r.2),
            }
        }
        assert_eq!(winners.len(), 1, "round {round}: {winners:?}");
        assert_eq!(losers, vec![format!("{}\n", winners[0])]);
        recorded = winners[0];
        assert_eq!(
            s.witness.store().latest(ORIGIN).unwrap().unwrap().size,
            recorded
        );
    }
    Arc::into_inner(s).unwrap().shutdown().await;
}

fn write_config(dir: &Path, log: &Log, cosigner: &CosignerV1) -> PathBuf {
    let key = dir.join("witness.key");
    hotline_crypto::write_secret(&key, &cosigner.to_skey()).unwrap();
    let config = dir.join("witness.toml");
    std::fs::write(
        &config,
        format!(
            "key_file = \"witness.key\"\ndatabase = \"state/witness.db\"\n\n[[log]]\norigin = \"{}\"\nkeys = [\"{}\"]\n",
            log.origin(),
            log.signer.verifier().to_vkey()
        ),
    )
    .unwrap();
    std::fs::create_dir(dir.join("state")).unwrap();
    config
}

fn witness_from_config(path: &Path) -> Witness {
    let c = WitnessConfig::load(path).unwrap();
    Witness::new(
        c.load_cosigner().unwrap(),
        c.known_logs().unwrap(),
        Store::open(&c.database).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(ORIGIN, 30);
    let config = write_config(dir.path(), &log, &CosignerV1::generate(WITNESS).unwrap());

    let s = Server::start(witness_from_config(&config)).await;
    s.cosign(&log, 0, 7).await;
    s.cosign(&log, 7, 19).await;
    let forked = log.checkpoint_with_root(19, leaf_hash(b"fork"));
    assert_eq!(s.post(encode_request(19, &[], &forked)).await.0, 422);
    let before = s.witness.store().latest(ORIGIN).unwrap().unwrap();
    let key = s.verifier.to_vkey();
    s.shutdown().await;

    let s = Server::start(witness_from_config(&config)).await;
    assert_eq!(s.verifier.to_vkey(), key);
    assert_eq!(s.witness.store().latest(ORIGIN).unwrap().unwrap(), before);
    assert_eq!(s.witness.store().equivocations(ORIGIN).unwrap().len(), 1);
    assert_conflict(s.post(log.request(0, 25)).await, 19);
    assert_conflict(s.post(log.request(7, 25)).await, 19);
    s.cosign(&log, 19, 30).await;
    s.shutdown().await;
}

#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let log = Log::new(ORIGIN, 1);
    let config = write_config(dir.path(), &log, &CosignerV1::generate(WITNESS).unwrap());
    let c = WitnessConfig::load(&config).unwrap();
    assert_eq!(c.database, dir.path().join("state/witness.db"));
    std::fs::set_permissions(&c.key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(c.load_cosigner().is_err());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Two witness processes sharing one database (two connections): the `BEGIN IMMEDIATE`
/// transaction alone keeps them from both cosigning from the same old size.
#[test]
fn two_connections_to_one_database_cannot_both_win() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("witness.db");
    let log = Arc::new(Log::new(ORIGIN, 200));
    let witnesses: Vec<Arc<Witness>> = (0..2)
        .map(|_| {
            Arc::new(Witness::new(
                CosignerV1::generate(WITNESS).unwrap(),
                known(&[&log]),
                Store::open(&db).unwrap(),
            ))
        })
        .collect();
    let mut recorded = 0u64;
    for round in 0..20u64 {
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let threads: Vec<_> = witnesses
            .iter()
            .enumerate()
            .map(|(i, w)| {
                let new = recorded + 1 + i as u64 + round % 3;
                let (w, body, barrier) = (w.clone(), log.request(recorded, new), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    (new, w.add_checkpoint(&body))
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        let winners: Vec<u64> = results
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        for (_, r) in &results {
            if let Err(e) = r {
                assert!(
                    matches!(e, hotline_witness::AddError::Conflict { recorded: w, .. } if *w == winners[0]),
                    "round {round}: {e}"
                );
            }
        }
        recorded = winners[0];
    }
}
