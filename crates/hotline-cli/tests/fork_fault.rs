//! Seeded fault test: an operator who forks its log or restores an old backup at random
//! moments is caught, every time, by the witness or by the auditor; neither ever accepts a
//! checkpoint that does not extend the last one it accepted, and neither refuses one that does.
//!
//! Per seed (`HOTLINE_FORK_SEEDS`, default 100; `HOTLINE_FORK_SEED=N` replays one), with
//! real parts: one log key; *branches* of the log, each a real SQLite database appended to by
//! the real sequencer and served over HTTP by the real router; a witness (`hotline_witness`, its
//! SQLite state on disk) to which the operator submits each branch's checkpoints the way
//! `hotline serve` does (old size it believes the witness holds, retried from the size a 409
//! names); two auditors running the `hotline log verify --state` binary against whichever
//! branch the operator shows them. The operator's moves, chosen by the seed: append to a
//! branch; copy a branch's database (a backup, SQLite's `VACUUM INTO`); *fork* (a copy that then
//! appends other entries); *roll back* (restore an older backup and serve it); *catch up* (a
//! restored backup re-appends the original entries, after which it is consistent again).
//!
//! The expectation of every observation is computed from the ground truth (every branch's
//! leaf hashes): accepted iff the checkpoint extends the observer's last accepted one. Refusals
//! must say ROLLBACK (smaller) or FORK (another root at the observer's size), leave the
//! auditor's state file unchanged and write both signed checkpoints as evidence that verify
//! under the log key. Totals at the end make sure forks and rollbacks were actually met.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use hotline_server::AppState;
use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig, SequencerHandle};
use hotline_store::sqlite::{self, SqliteReader, SqliteWriter};
use hotline_tlog::cosignature::CosignerV1;
use hotline_tlog::tile::TreeEdge;
use hotline_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, Note, NoteVerifier};
use hotline_witness::{KnownLogs, Witness};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use util::Sandbox;

const ORIGIN: &str = "fork-fault.example/log";

/// A copy of a branch's database at some size, with the entries it holds.
#[derive(Clone)]
struct Backup {
    file: PathBuf,
    entries: Vec<Vec<u8>>,
    /// The branch it was taken from (what "catching up" replays).
    from: usize,
}

/// One history the operator keeps: a database, its sequencer, and a server for it.
struct Branch {
    dir: PathBuf,
    seq: Option<SequencerHandle>,
    entries: Vec<Vec<u8>>,
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// The branch this one was restored or forked from, and its size then.
    origin_branch: Option<(usize, usize)>,
    /// The witness size the operator believes this branch's witness holds.
    witness_hint: u64,
}

fn db(dir: &Path) -> PathBuf {
    dir.join(sqlite::DB_FILE)
}

/// Ground truth: the root of the first `n` entries.
fn root_of(entries: &[Vec<u8>], n: usize) -> Hash {
    let leaves: Vec<Hash> = entries[..n]
        .iter()
        .map(|e| hotline_tlog::leaf_hash(e))
        .collect();
    let mut edge = TreeEdge::empty();
    edge.append(&leaves);
    edge.root()
}

struct World {
    rt: tokio::runtime::Runtime,
    sb: Sandbox,
    signer: Ed25519Signer,
    vkey: Ed25519Verifier,
    branches: Vec<Branch>,
    backups: Vec<Backup>,
    witness: Witness,
    /// What the witness holds (size, root), by the ground truth of what it accepted.
    witness_holds: Option<(u64, Hash)>,
    /// What each auditor holds.
    auditor_holds: [Option<(u64, Hash)>; 2],
    rng: StdRng,
    next_entry: u64,
    seed: u64,
    tally: Tally,
}

#[derive(Default, Debug, Clone, Copy)]
struct Tally {
    witness_accepted: u64,
    witness_refused_fork: u64,
    witness_refused_rollback: u64,
    auditor_accepted: u64,
    auditor_fork: u64,
    auditor_rollback: u64,
    forks: u64,
    rollbacks: u64,
    catch_ups: u64,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.witness_accepted += o.witness_accepted;
        self.witness_refused_fork += o.witness_refused_fork;
        self.witness_refused_rollback += o.witness_refused_rollback;
        self.auditor_accepted += o.auditor_accepted;
        self.auditor_fork += o.auditor_fork;
        self.auditor_rollback += o.auditor_rollback;
        self.forks += o.forks;
        self.rollbacks += o.rollbacks;
        self.catch_ups += o.catch_ups;
    }
}

impl World {
    fn new(seed: u64) -> World {
        let sb = Sandbox::new();
        let signer = Ed25519Signer::generate(ORIGIN).unwrap();
        let vkey = signer.verifier();
        std::fs::write(sb.path("log.vkey"), vkey.to_vkey()).unwrap();
        let mut logs = KnownLogs::default();
        logs.insert(ORIGIN, vec![vkey.clone()]);
        let witness = Witness::new(
            CosignerV1::generate("witness.fork-fault.example").unwrap(),
            logs,
            hotline_witness::Store::open(&sb.path("witness.db")).unwrap(),
        );
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let mut w = World {
            rt,
            sb,
            signer,
            vkey,
            branches: Vec::new(),
            backups: Vec::new(),
            witness,
            witness_holds: None,
            auditor_holds: [None, None],
            rng: StdRng::seed_from_u64(seed),
            next_entry: 0,
            seed,
            tally: Tally::default(),
        };
        let dir = w.sb.path("branch-0");
        std::fs::create_dir_all(&dir).unwrap();
        sqlite::create(&db(&dir), ORIGIN, &w.vkey.to_vkey()).unwrap();
        w.open_branch(dir, Vec::new(), None);
        w
    }

    fn ctx(&self) -> String {
        format!(
            "(seed {}: replay it with HOTLINE_FORK_SEED={})",
            self.seed, self.seed
        )
    }

    /// Starts the sequencer and a server on the database in `dir`.
    fn open_branch(&mut self, dir: PathBuf, entries: Vec<Vec<u8>>, from: Option<(usize, usize)>) {
        let path = db(&dir);
        let writer = SqliteWriter::open(&path).unwrap();
        let view = Arc::new(LogView::new(Arc::new(SqliteReader::open(&path).unwrap())).unwrap());
        let seq = sequencer::start(
            Box::new(writer),
            view.clone(),
            self.signer.clone(),
            SequencerConfig::default(),
        )
        .unwrap();
        assert_eq!(
            view.snapshot().size(),
            entries.len() as u64,
            "{}",
            self.ctx()
        );
        let state = Arc::new(AppState {
            view,
            sequencer: None,
            service: None,
            witnessing: None,
        });
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let listener = self
            .rt
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
                [127, 0, 0, 1],
                0,
            ))))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        self.rt.spawn(async move {
            let _ = axum::serve(listener, hotline_server::router(state))
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await;
        });
        self.branches.push(Branch {
            dir,
            seq: Some(seq),
            entries,
            url: format!("http://{addr}"),
            stop: Some(stop_tx),
            origin_branch: from,
            witness_hint: 0,
        });
    }

    fn entry(&mut self, branch: usize) -> Vec<u8> {
        self.next_entry += 1;
        format!(
            "seed {} branch {branch} entry {} {:016x}\n",
            self.seed,
            self.next_entry,
            self.rng.random::<u64>()
        )
        .into_bytes()
    }

    fn append(&mut self, b: usize, entries: Vec<Vec<u8>>) {
        if entries.is_empty() {
            return;
        }
        let seq = self.branches[b].seq.as_ref().unwrap();
        let group = seq.submit_many(entries.clone()).unwrap().wait().unwrap();
        assert!(
            group.entries.iter().all(|(_, _, new)| *new),
            "{}",
            self.ctx()
        );
        self.branches[b].entries.extend(entries);
        let size = self.branches[b]
            .seq
            .as_ref()
            .unwrap()
            .view()
            .snapshot()
            .size();
        assert_eq!(
            size,
            self.branches[b].entries.len() as u64,
            "{}",
            self.ctx()
        );
    }

    fn append_new(&mut self, b: usize) {
        let n = self.rng.random_range(1..40);
        let entries: Vec<Vec<u8>> = (0..n).map(|_| self.entry(b)).collect();
        self.append(b, entries);
    }

    /// A consistent copy of branch `b`'s database (SQLite's `VACUUM INTO`, from a reader).
    fn backup(&mut self, b: usize) -> Backup {
        let file = self.sb.path(&format!("backup-{}.db", self.backups.len()));
        let conn = rusqlite::Connection::open(db(&self.branches[b].dir)).unwrap();
        conn.execute("VACUUM INTO ?1", [file.to_str().unwrap()])
            .unwrap();
        let backup = Backup {
            file,
            entries: self.branches[b].entries.clone(),
            from: b,
        };
        self.backups.push(backup.clone());
        backup
    }

    /// A new branch restored from a backup.
    fn restore(&mut self, backup: &Backup) -> usize {
        let dir = self.sb.path(&format!("branch-{}", self.branches.len()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&backup.file, db(&dir)).unwrap();
        let from = Some((backup.from, backup.entries.len()));
        self.open_branch(dir, backup.entries.clone(), from);
        self.branches.len() - 1
    }

    fn checkpoint(&self, b: usize) -> (Checkpoint, Vec<u8>) {
        let snap = self.branches[b].seq.as_ref().unwrap().view().snapshot();
        let cp = snap
            .checkpoint
            .as_ref()
            .expect("a branch with entries has a checkpoint");
        (cp.checkpoint.clone(), cp.note.clone())
    }

    /// Whether a checkpoint of branch `b` at its current size extends `held`.
    fn extends(&self, b: usize, held: Option<(u64, Hash)>) -> Result<(), &'static str> {
        let entries = &self.branches[b].entries;
        match held {
            None => Ok(()),
            Some((size, _)) if size > entries.len() as u64 => Err("ROLLBACK"),
            Some((size, root)) if root_of(entries, size as usize) != root => Err("FORK"),
            Some(_) => Ok(()),
        }
    }

    /// The operator submits branch `b`'s latest checkpoint to the witness, as `hotline serve`
    /// does: from the size it believes the witness holds, once more from the size a 409 names.
    fn witness_observes(&mut self, b: usize) {
        if self.branches[b].entries.is_empty() {
            return;
        }
        let (cp, note) = self.checkpoint(b);
        let expected = self.extends(b, self.witness_holds);
        let mut old = self.branches[b].witness_hint.min(cp.size);
        let mut outcome = None;
        for _attempt in 0..2 {
            let proof = if old == 0 || old == cp.size {
                Vec::new()
            } else {
                let view = self.branches[b].seq.as_ref().unwrap().view().clone();
                let snap = view.snapshot();
                view.consistency_proof(&snap, old, cp.size).unwrap()
            };
            let body = hotline_witness::encode_request(old, &proof, &note);
            match self.witness.add_checkpoint(&body) {
                Ok(cosigned) => {
                    outcome = Some(Ok(cosigned));
                    break;
                }
                Err(hotline_witness::AddError::Conflict { recorded, .. })
                    if recorded <= cp.size && recorded != old =>
                {
                    old = recorded;
                    self.branches[b].witness_hint = recorded;
                }
                Err(e) => {
                    outcome = Some(Err(e));
                    break;
                }
            }
        }
        let outcome = outcome.expect("two attempts give an outcome");
        match (expected, outcome) {
            (Ok(()), Ok(cosigned)) => {
                assert_eq!(cosigned.size, cp.size, "{}", self.ctx());
                self.witness_holds = Some((cp.size, cp.root));
                self.branches[b].witness_hint = cp.size;
                self.tally.witness_accepted += 1;
            }
            (Err(kind), Err(e)) => {
                let status = e.status();
                assert!(
                    status == 409 || status == 422,
                    "a {kind} must be refused with 409 or 422, got {status} ({e}) {}",
                    self.ctx()
                );
                if kind == "FORK" {
                    self.tally.witness_refused_fork += 1;
                } else {
                    self.tally.witness_refused_rollback += 1;
                }
            }
            (Ok(()), Err(e)) => panic!(
                "the witness refused a checkpoint that extends what it holds: {e} {}",
                self.ctx()
            ),
            (Err(kind), Ok(_)) => panic!(
                "the witness COSIGNED a {kind} (size {} of branch {b}, it held {:?}) {}",
                cp.size,
                self.witness_holds,
                self.ctx()
            ),
        }
    }

    /// Auditor `a` runs `hotline log verify --state` against branch `b`.
    fn auditor_observes(&mut self, a: usize, b: usize) {
        if self.branches[b].entries.is_empty() {
            return;
        }
        let (cp, note) = self.checkpoint(b);
        let expected = self.extends(b, self.auditor_holds[a]);
        let state = self.sb.path(&format!("auditor-{a}.checkpoint"));
        let evidence = self.sb.path(&format!("auditor-{a}.evidence"));
        let _ = std::fs::remove_file(&evidence);
        let before = std::fs::read(&state).ok();
        let url = self.branches[b].url.clone();
        let args = [
            "log",
            "verify",
            "--url",
            url.as_str(),
            "--vkey",
            "log.vkey",
            "--state",
            state.to_str().unwrap(),
            "--evidence-out",
            evidence.to_str().unwrap(),
        ];
        let out = self.sb.cmd(&args).output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match expected {
            Ok(()) => {
                assert!(
                    out.status.success(),
                    "{} {}",
                    util::describe(
                        &args,
                        &out,
                        "the auditor must accept a checkpoint that extends its state"
                    ),
                    self.ctx()
                );
                assert_eq!(std::fs::read(&state).unwrap(), note, "{}", self.ctx());
                self.auditor_holds[a] = Some((cp.size, cp.root));
                self.tally.auditor_accepted += 1;
            }
            Err(kind) => {
                assert!(
                    !out.status.success() && text.contains(kind),
                    "{} {}",
                    util::describe(&args, &out, &format!("the auditor must report {kind}")),
                    self.ctx()
                );
                assert_eq!(
                    std::fs::read(&state).ok(),
                    before,
                    "a refused checkpoint must not replace the auditor's state {}",
                    self.ctx()
                );
                self.check_evidence(&evidence, before.as_deref().unwrap(), &note, b, kind);
                if kind == "FORK" {
                    self.tally.auditor_fork += 1;
                } else {
                    self.tally.auditor_rollback += 1;
                }
            }
        }
    }

    /// The evidence file holds both signed checkpoints, each verifying under the log key, and
    /// they cannot both come from one honest log: the earlier is larger (ROLLBACK), or branch
    /// `b`'s entries have another root at the earlier size (FORK).
    fn check_evidence(&self, file: &Path, earlier: &[u8], current: &[u8], b: usize, kind: &str) {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.starts_with("hotline equivocation evidence v1\n\n"),
            "{}",
            self.ctx()
        );
        let mut cps = Vec::new();
        for note in [earlier, current] {
            assert!(
                text.contains(std::str::from_utf8(note).unwrap()),
                "{}",
                self.ctx()
            );
            let n = Note::parse(note).unwrap();
            n.verify(&[&self.vkey as &dyn NoteVerifier]).unwrap();
            cps.push(Checkpoint::parse(n.text()).unwrap());
        }
        let (old, new) = (&cps[0], &cps[1]);
        match kind {
            "ROLLBACK" => assert!(old.size > new.size, "{}", self.ctx()),
            _ => assert_ne!(
                root_of(&self.branches[b].entries, old.size as usize),
                old.root,
                "{}",
                self.ctx()
            ),
        }
    }

    /// A branch to act on: the newest one half of the time (forks and restores are recent).
    fn live(&mut self) -> usize {
        if self.rng.random_bool(0.5) {
            self.branches.len() - 1
        } else {
            self.rng.random_range(0..self.branches.len())
        }
    }

    fn step(&mut self) {
        match self.rng.random_range(0..100) {
            0..30 => {
                let b = self.live();
                self.append_new(b);
            }
            30..48 => {
                let b = self.live();
                self.witness_observes(b);
            }
            48..68 => {
                let (a, b) = (self.rng.random_range(0..2), self.live());
                self.auditor_observes(a, b);
            }
            68..76 => {
                let b = self.live();
                self.backup(b);
            }
            76..86 => {
                // Fork: a copy of a branch as it is now, which then says something else.
                let b = self.live();
                let copy = self.backup(b);
                let f = self.restore(&copy);
                self.append_new(f);
                self.tally.forks += 1;
            }
            86..93 => {
                // Roll back: serve an older backup.
                if self.backups.is_empty() {
                    return;
                }
                let i = self.rng.random_range(0..self.backups.len());
                let backup = self.backups[i].clone();
                let r = self.restore(&backup);
                self.tally.rollbacks += 1;
                // Shown to an observer at once, half of the time.
                if self.rng.random_bool(0.5) {
                    self.witness_observes(r);
                } else {
                    let a = self.rng.random_range(0..2);
                    self.auditor_observes(a, r);
                }
            }
            _ => {
                // A restored branch catches up: re-appends the entries its source appended since.
                let restored: Vec<usize> = (0..self.branches.len())
                    .filter(|b| self.branches[*b].origin_branch.is_some())
                    .collect();
                if restored.is_empty() {
                    return;
                }
                let r = restored[self.rng.random_range(0..restored.len())];
                let (src, at) = self.branches[r].origin_branch.unwrap();
                if self.branches[r].entries.len() != at {
                    return; // it already said something else: it can never catch up
                }
                let missing = self.branches[src].entries[at..].to_vec();
                self.append(r, missing);
                self.tally.catch_ups += 1;
            }
        }
    }

    fn finish(mut self) -> Tally {
        for b in &mut self.branches {
            if let Some(s) = b.stop.take() {
                let _ = s.send(());
            }
            if let Some(seq) = b.seq.take() {
                seq.shutdown();
            }
        }
        self.tally
    }
}

fn run_seed(seed: u64, steps: usize) -> Tally {
    let mut w = World::new(seed);
    w.append_new(0);
    for _ in 0..steps {
        w.step();
    }
    // Finally every observer looks at every branch once more.
    for b in 0..w.branches.len() {
        w.witness_observes(b);
        w.auditor_observes(0, b);
        w.auditor_observes(1, b);
    }
    w.finish()
}

#[test]
fn every_fork_and_rollback_is_caught_and_nothing_consistent_is_refused() {
    let seeds: Vec<u64> = match std::env::var("HOTLINE_FORK_SEED") {
        Ok(s) => vec![s.parse().expect("HOTLINE_FORK_SEED is a number")],
        Err(_) => {
            let n: u64 = std::env::var("HOTLINE_FORK_SEEDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(100);
            (0..n).collect()
        }
    };
    let started = std::time::Instant::now();
    let mut total = Tally::default();
    for seed in &seeds {
        total.add(&run_seed(*seed, 16));
    }
    eprintln!(
        "{} seeds in {:.1} s: {total:?}",
        seeds.len(),
        started.elapsed().as_secs_f64()
    );
    if seeds.len() >= 50 {
        // Not a vacuous run: forks and rollbacks happened and were met by both observers.
        for (what, n) in [
            ("forks made", total.forks),
            ("rollbacks made", total.rollbacks),
            ("catch-ups made", total.catch_ups),
            ("witness refusals of a fork", total.witness_refused_fork),
            (
                "witness refusals of a rollback",
                total.witness_refused_rollback,
            ),
            ("auditor FORK reports", total.auditor_fork),
            ("auditor ROLLBACK reports", total.auditor_rollback),
            ("witness cosignatures", total.witness_accepted),
            ("auditor acceptances", total.auditor_accepted),
        ] {
            assert!(
                n >= 5,
                "only {n} {what} over {} seeds: {total:?}",
                seeds.len()
            );
        }
    }
}
