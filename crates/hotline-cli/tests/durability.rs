//! Durability acceptance test of the transparency log (issue "Transparency log core").
//!
//! A real `hotline bench log` appends concurrently through the real sequencer and SQLite store
//! and prints every receipt the moment it hands it out (`--receipts -`). The harness SIGKILLs
//! it at random moments, checks the database it left behind, and restarts it on the same
//! directory (which runs the sequencer's start-up recovery). After every kill:
//!
//! - every index ever receipted holds the receipted entry: the entry bytes read back from the
//!   stored bundle equal the receipted bytes, and its leaf hash the receipted leaf hash;
//! - every checkpoint ever receipted verifies under the log key, is the very checkpoint the
//!   store holds for its size, and is consistent with the latest stored checkpoint (a
//!   consistency proof from the store's `LogView`, checked with `verify_consistency`);
//! - the root recomputed from all stored entry bundles equals the latest signed checkpoint's,
//!   and every stored hash tile equals the one recomputed from the entries;
//! - entries stored without a receipt (committed, but the process died before replying) are
//!   genuine entries of the killed run, and nothing stored earlier changed.
//!
//! Knobs (environment): `HOTLINE_CRASH_CYCLES` (default 50), `HOTLINE_CRASH_SEED` (default
//! random; printed so a failure can be replayed, as far as kill timing can be),
//! `HOTLINE_CRASH_DEADLINE_SECS` (overall time limit), `HOTLINE_CRASH_MAX_SIZE` (entries after
//! which the harness starts a fresh log, so each check stays cheap over 1,000 cycles).
//! `cargo xtask crash --cycles 1000` runs 1,000 cycles in release mode.
//!
//! A SIGKILL stops the process at an arbitrary instruction, but the kernel keeps every page it
//! wrote; this is a process-crash test. Power loss (what `synchronous=FULL` guards against)
//! needs a fault-injecting file system or VM and is not simulated here.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead as _, BufReader, Read as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_store::LogReader;
use hotline_store::reader::LogView;
use hotline_store::sqlite::{DB_FILE, SqliteReader};
use hotline_tlog::bundle::decode_bundle;
use hotline_tlog::tile::{TILE_HEIGHT, TILE_WIDTH, TreeEdge};
use hotline_tlog::tree::{verify_consistency, verify_inclusion};
use hotline_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, NoteVerifier, TlogProof, leaf_hash};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};

const HOTLINE: &str = env!("CARGO_BIN_EXE_hotline");
const ORIGIN: &str = "crash.hotline.invalid/log";
/// More entries than any cycle gets through before its kill: the bench never ends by itself.
const ENTRIES: u64 = 1_000_000;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn seed() -> u64 {
    let s = env_u64("HOTLINE_CRASH_SEED", rand::random::<u64>() >> 1);
    println!("durability: seed {s} (replay with HOTLINE_CRASH_SEED={s})");
    s
}

/// A child process that is always killed and reaped, whatever happens to the test.
struct Proc(Option<Child>);

impl Proc {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    /// SIGKILL (what `Child::kill` sends on Unix) and reap; `None` if it had already exited.
    fn kill(&mut self) -> Result<Option<ExitStatus>> {
        let mut c = self.0.take().ok_or_else(|| anyhow!("no child"))?;
        if let Some(status) = c.try_wait()? {
            return Ok(Some(status));
        }
        c.kill()?;
        c.wait()?;
        Ok(None)
    }

    /// Waits for a normal exit within `limit`, killing the child if it overruns.
    fn wait_for(&mut self, limit: Duration) -> Result<ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.child().try_wait()? {
                self.0 = None;
                return Ok(status);
            }
            if Instant::now() >= until {
                self.kill()?;
                bail!("a hotline child did not finish within {limit:?}; killed it");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `hotline args…` to completion within `limit`; returns stdout, fails with stderr.
fn hotline(args: &[&str], scratch: &Path, limit: Duration) -> Result<String> {
    let out_path = scratch.join("cmd.stdout");
    let err_path = scratch.join("cmd.stderr");
    let mut p = Proc(Some(
        Command::new(HOTLINE)
            .args(args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&out_path)?)
            .stderr(std::fs::File::create(&err_path)?)
            .spawn()?,
    ));
    let status = p.wait_for(limit)?;
    let out = std::fs::read_to_string(&out_path)?;
    if !status.success() {
        bail!(
            "hotline {args:?} failed ({status}):\n{out}\n{}",
            std::fs::read_to_string(&err_path)?
        );
    }
    Ok(out)
}

/// When a cycle's child is killed.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// This long after it was started: in start-up and recovery, or (for a child that ends by
    /// itself) a time limit.
    AtStart(Duration),
    /// This long after it handed out its first receipt: in the middle of appending, whatever
    /// start-up took.
    Appending(Duration),
    /// As soon as it handed out this many receipts.
    AfterReceipts(usize),
}

/// A child that handed out no receipt by then is stuck (start-up never finishes): a failure.
const STUCK: Duration = Duration::from_secs(60);

/// One cycle: how the child appends and when it dies.
#[derive(Clone, Debug)]
struct Plan {
    kill: Kill,
    entries: u64,
    entry_size: usize,
    producers: usize,
    window: usize,
    batch_size: usize,
    batch_age_ms: u64,
}

impl Plan {
    /// A random cycle; `startup` is how long the last start-up took (to the first receipt), so
    /// that start-up kills land inside it in debug and release builds alike.
    fn random(rng: &mut StdRng, startup: Duration) -> Plan {
        let roll = rng.random_range(0..100);
        let kill = if roll < 15 {
            Kill::AtStart(startup.mul_f64(rng.random_range(0.0..1.1)))
        } else if roll < 25 {
            Kill::AfterReceipts(rng.random_range(1..=50))
        } else {
            Kill::Appending(Duration::from_millis(rng.random_range(0..=400)))
        };
        Plan {
            kill,
            entries: ENTRIES,
            entry_size: rng.random_range(16..=600),
            producers: rng.random_range(2..=4),
            // Mostly many entries in flight and batches of many sizes; now and then one entry
            // per commit, or one in flight per producer, for many small commits.
            window: [1, 16, 64, 256, 1024, 1024][rng.random_range(0..6)],
            batch_size: [1, 16, 64, 64, 256, 4096][rng.random_range(0..6)],
            batch_age_ms: rng.random_range(0..=10),
        }
    }
}

/// A receipt line, checked on arrival against its own tlog-proof and the log key.
struct Receipt {
    index: u64,
    leaf: Hash,
    entry: Vec<u8>,
    size: u64,
}

/// Counters for the summary.
#[derive(Default, Debug)]
struct Stats {
    cycles: u64,
    receipts: u64,
    checkpoints_receipted: u64,
    stored_checkpoints_checked: u64,
    /// Entries found committed although their receipt was never handed out.
    unreceipted_present: u64,
    /// Kills before the child handed out its first receipt (start-up, recovery, first batch).
    kills_before_first_receipt: u64,
    /// Children that exited by themselves before their kill (only expected with `--entries 0`).
    exited_early: u64,
    generations: u64,
    entries_rechecked: u64,
}

/// One data directory under test and everything ever receipted from it.
struct Log {
    dir: PathBuf,
    scratch: PathBuf,
    verifier: Ed25519Verifier,
    /// Leaf hashes of every stored entry, as of the last check.
    leaves: Vec<Hash>,
    /// Every receipted index and its leaf hash.
    receipted: HashMap<u64, Hash>,
    /// Every receipted checkpoint: size → (root, signed note).
    checkpoints: BTreeMap<u64, (Hash, Vec<u8>)>,
    /// Notes already verified, so each checkpoint's signature is checked once.
    notes: HashMap<Vec<u8>, Checkpoint>,
    /// Stderr of the latest child, shown when a check fails.
    stderr: PathBuf,
    /// How long the latest child lived, from spawn to exit or kill.
    lifetime: Duration,
    /// How long the latest child that handed out a receipt took to hand out the first.
    startup: Duration,
}

impl Log {
    fn create(root: &Path, name: &str) -> Result<Log> {
        let dir = root.join(name);
        let scratch = root.join(format!("{name}.scratch"));
        std::fs::create_dir_all(&scratch)?;
        // Created by `init`, never killed: a kill inside `init` is not what this test is about.
        hotline(
            &[
                "init",
                "--log-only",
                "--dir",
                dir.to_str().unwrap(),
                "--origin",
                ORIGIN,
            ],
            &scratch,
            Duration::from_secs(60),
        )?;
        let vkey = std::fs::read_to_string(dir.join("log.vkey"))?;
        Ok(Log {
            verifier: Ed25519Verifier::from_vkey(vkey.trim())?,
            stderr: scratch.join("bench.stderr"),
            dir,
            scratch,
            leaves: Vec::new(),
            receipted: HashMap::new(),
            checkpoints: BTreeMap::new(),
            notes: HashMap::new(),
            lifetime: Duration::ZERO,
            startup: Duration::from_millis(100),
        })
    }

    fn stderr_tail(&self) -> String {
        let s = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let start = s.len().saturating_sub(4000);
        s.get(start..).unwrap_or(&s).to_owned()
    }

    /// Starts `bench log` per `plan`, collects every receipt line it writes until the kill, and
    /// checks the directory it leaves behind. Returns the receipts handed out.
    fn cycle(&mut self, plan: &Plan, stats: &mut Stats) -> Result<Vec<Receipt>> {
        let args: Vec<String> = vec![
            "bench".into(),
            "log".into(),
            "--dir".into(),
            self.dir.to_str().unwrap().into(),
            "--entries".into(),
            plan.entries.to_string(),
            "--entry-size".into(),
            plan.entry_size.to_string(),
            "--producers".into(),
            plan.producers.to_string(),
            "--window".into(),
            plan.window.to_string(),
            "--batch-size".into(),
            plan.batch_size.to_string(),
            "--batch-age-ms".into(),
            plan.batch_age_ms.to_string(),
            "--receipts".into(),
            "-".into(),
            "--json".into(),
        ];
        let started = Instant::now();
        let mut proc = Proc(Some(
            Command::new(HOTLINE)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&self.stderr)?)
                .spawn()?,
        ));
        let stdout = proc.child().stdout.take().unwrap();
        // Whole lines only: a line cut by the kill was never handed out.
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let reader = std::thread::spawn(move || {
            let mut r = BufReader::with_capacity(1 << 16, stdout);
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if line.ends_with(b"\n") => {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                    Ok(_) => break,
                }
            }
            // Drain so a child that is still writing never blocks on a full pipe.
            let _ = r.read_to_end(&mut Vec::new());
        });
        let mut lines: Vec<Vec<u8>> = Vec::new();
        let mut first_receipt: Option<Duration> = None;
        let mut exited = None;
        loop {
            let now = started.elapsed();
            let limit = match (plan.kill, first_receipt) {
                (Kill::AtStart(d), _) => d,
                (Kill::Appending(d), Some(first)) => first + d,
                (Kill::AfterReceipts(n), Some(_)) if lines.len() >= n => now,
                (_, _) => {
                    ensure!(
                        now < STUCK,
                        "no receipt {STUCK:?} after start-up\n{}",
                        self.stderr_tail()
                    );
                    STUCK
                }
            };
            if now >= limit {
                break;
            }
            match rx.recv_timeout((limit - now).min(Duration::from_millis(2))) {
                Ok(l) => {
                    first_receipt.get_or_insert_with(|| started.elapsed());
                    lines.push(l);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // Stdout closed: the child exited (or is exiting) by itself.
                    exited = Some(proc.wait_for(Duration::from_secs(30))?);
                    break;
                }
            }
            if let Some(status) = proc.child().try_wait()? {
                proc.0 = None;
                exited = Some(status);
                break;
            }
        }
        if exited.is_none() {
            exited = proc.kill()?;
        }
        self.lifetime = started.elapsed();
        if let Some(first) = first_receipt {
            self.startup = first;
        }
        // The child is gone: everything it wrote is in the pipe. Take all of it.
        reader
            .join()
            .map_err(|_| anyhow!("the receipt reader panicked"))?;
        lines.extend(rx.try_iter());
        if let Some(status) = exited {
            stats.exited_early += 1;
            if !status.success() {
                bail!(
                    "hotline bench log exited by itself with {status} (start-up recovery \
                     failed?)\n{}",
                    self.stderr_tail()
                );
            }
        }
        let mut receipts = Vec::with_capacity(lines.len());
        for line in &lines {
            // Anything not starting like a JSON object is the final report (only when the
            // child finished by itself); every receipt line must parse and verify.
            if !line.starts_with(b"{\"") {
                continue;
            }
            receipts
                .push(self.receipt(line).with_context(|| {
                    format!("receipt line {:?}", String::from_utf8_lossy(line))
                })?);
        }
        if receipts.is_empty() {
            stats.kills_before_first_receipt += 1;
        }
        stats.receipts += receipts.len() as u64;
        self.check(&receipts, plan, stats)?;
        stats.cycles += 1;
        Ok(receipts)
    }

    /// Parses and verifies one receipt line: entry ↔ leaf hash, the tlog-proof's inclusion
    /// proof and checkpoint signature, and no second root for a size.
    fn receipt(&mut self, line: &[u8]) -> Result<Receipt> {
        let v: serde_json::Value = serde_json::from_slice(line)?;
        let field = |k: &str| v.get(k).ok_or_else(|| anyhow!("no field {k}"));
        let index = field("index")?
            .as_u64()
            .ok_or_else(|| anyhow!("bad index"))?;
        let leaf = Hash::from_base64(field("leaf_hash")?.as_str().unwrap_or_default())
            .ok_or_else(|| anyhow!("bad leaf_hash"))?;
        let entry = B64.decode(field("entry")?.as_str().unwrap_or_default())?;
        ensure!(leaf_hash(&entry) == leaf, "leaf_hash is not the entry's");
        // Bench entries are unique, so every receipt must report a new append.
        ensure!(
            field("new")?.as_bool() == Some(true),
            "receipt for a duplicate"
        );
        let proof = TlogProof::parse(field("tlog_proof")?.as_str().unwrap_or_default().as_bytes())?;
        ensure!(
            proof.index == index,
            "tlog-proof index {} ≠ {index}",
            proof.index
        );
        let cp = match self.notes.get(&proof.checkpoint) {
            Some(cp) => {
                verify_inclusion(&leaf, index, cp.size, &proof.path, &cp.root)?;
                cp.clone()
            }
            None => {
                // First receipt under this checkpoint: the full c2sp.org/tlog-proof check.
                let (cp, _) =
                    proof.verify(&leaf, ORIGIN, &[&self.verifier as &dyn NoteVerifier])?;
                self.notes.insert(proof.checkpoint.clone(), cp.clone());
                cp
            }
        };
        let c = field("checkpoint")?;
        ensure!(
            c.get("size").and_then(|s| s.as_u64()) == Some(cp.size)
                && c.get("root").and_then(|r| r.as_str()) == Some(&cp.root.to_base64()),
            "checkpoint field differs from the tlog-proof's checkpoint"
        );
        match self.checkpoints.get(&cp.size) {
            Some((root, _)) if *root != cp.root => {
                bail!(
                    "FORK: two receipted checkpoints for size {} differ",
                    cp.size
                )
            }
            Some(_) => {}
            None => {
                self.checkpoints
                    .insert(cp.size, (cp.root, proof.checkpoint.clone()));
            }
        }
        if let Some(old) = self.receipted.insert(index, leaf) {
            ensure!(
                old == leaf,
                "LOST RECEIPT: index {index} was receipted for leaf {old} and now for {leaf}"
            );
        }
        Ok(Receipt {
            index,
            leaf,
            entry,
            size: cp.size,
        })
    }

    /// Checks the data directory as the killed process left it (see the module comment).
    fn check(&mut self, fresh: &[Receipt], plan: &Plan, stats: &mut Stats) -> Result<()> {
        // Check a copy: opening the live files here would let SQLite fold the WAL into the
        // database on close, and the next start-up must meet exactly what the kill left.
        let copy = self.scratch.join("check");
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy)?;
        for suffix in ["", "-wal"] {
            let from = self.dir.join(format!("{DB_FILE}{suffix}"));
            if from.exists() {
                std::fs::copy(&from, copy.join(format!("{DB_FILE}{suffix}")))?;
            }
        }
        let reader = Arc::new(SqliteReader::open(&copy.join(DB_FILE))?);
        reader.quick_check()?;
        ensure!(reader.origin() == ORIGIN, "origin changed");
        ensure!(
            reader.log_vkey() == self.verifier.to_vkey(),
            "the stored log key is not log.vkey"
        );

        let prev_size = self.leaves.len() as u64;
        let (size, root) = match reader.latest_checkpoint()? {
            None => (0, Hash::empty_root()),
            Some(stored) => {
                let note = Note::parse(&stored.note)?;
                note.verify(&[&self.verifier as &dyn NoteVerifier])
                    .context("latest stored checkpoint")?;
                let cp = Checkpoint::parse(note.text())?;
                ensure!(
                    cp.origin == ORIGIN && cp.size == stored.size,
                    "bad latest checkpoint"
                );
                (cp.size, cp.root)
            }
        };
        ensure!(
            size >= prev_size,
            "ROLLBACK: the log had {prev_size} entries, now its latest checkpoint says {size}"
        );
        if let Some((&largest, _)) = self.checkpoints.last_key_value() {
            ensure!(
                largest <= size,
                "LOST CHECKPOINT: size {largest} was receipted, the latest stored is {size}"
            );
        }

        // Recompute the whole tree from the stored entries.
        let fresh_by_index: HashMap<u64, &Receipt> = fresh.iter().map(|r| (r.index, r)).collect();
        let run_id = fresh.first().map(|r| r.entry[..8].to_vec());
        let mut edge = TreeEdge::empty();
        let mut leaves: Vec<Hash> = Vec::with_capacity(size as usize);
        let mut unreceipted = 0u64;
        for n in 0..size.div_ceil(TILE_WIDTH) {
            let data = reader
                .bundle(n)?
                .ok_or_else(|| anyhow!("entry bundle {n} is missing at size {size}"))?;
            let entries = decode_bundle(&data).map_err(|e| anyhow!("bundle {n}: {e}"))?;
            let want = (size - n * TILE_WIDTH).min(TILE_WIDTH) as usize;
            ensure!(
                entries.len() == want,
                "bundle {n} holds {} entries, size {size} needs {want}",
                entries.len()
            );
            let first = leaves.len();
            for (i, e) in entries.iter().enumerate() {
                let index = n * TILE_WIDTH + i as u64;
                let h = leaf_hash(e);
                if let Some(r) = fresh_by_index.get(&index) {
                    ensure!(
                        *e == r.entry.as_slice() && h == r.leaf,
                        "LOST RECEIPT: index {index} holds other bytes than the receipted entry"
                    );
                }
                if let Some(l) = self.receipted.get(&index) {
                    ensure!(*l == h, "LOST RECEIPT: index {index} holds another entry");
                }
                if let Some(old) = self.leaves.get(index as usize) {
                    ensure!(*old == h, "index {index} changed since the previous check");
                } else if !self.receipted.contains_key(&index) {
                    // Committed but never receipted: allowed, but it must be one of the
                    // killed run's own entries, not garbage.
                    unreceipted += 1;
                    ensure!(
                        e.len() == plan.entry_size
                            && run_id.as_ref().is_none_or(|id| e[..8] == id[..])
                            && u64::from_be_bytes(e[8..16].try_into()?) < plan.entries,
                        "index {index} holds an entry the run did not submit"
                    );
                }
                leaves.push(h);
            }
            for (level, index, nodes) in edge.append(&leaves[first..]).tiles {
                if nodes.width() as u64 == TILE_WIDTH {
                    let stored = reader.tile(level, index)?;
                    ensure!(
                        stored.as_deref() == Some(&nodes.to_bytes()[..]),
                        "full tile {level}/{index} differs from the one recomputed"
                    );
                }
            }
        }
        ensure!(
            reader.bundle(size.div_ceil(TILE_WIDTH))?.is_none(),
            "an entry bundle exists beyond size {size}"
        );
        ensure!(
            edge.root() == root,
            "the root recomputed from storage differs from the latest checkpoint's"
        );
        for ((level, index), nodes) in edge.tile_set().iter() {
            let stored = reader.tile(*level, *index)?;
            ensure!(
                stored.as_deref() == Some(&nodes.to_bytes()[..]),
                "partial tile {level}/{index} differs from the one recomputed"
            );
        }
        // No tile beyond those the size needs, at any level.
        for level in 0u8..8 {
            let hashes = size >> (TILE_HEIGHT * u32::from(level));
            let extra = reader.tiles_from(level, hashes.div_ceil(TILE_WIDTH), 1)?;
            ensure!(
                extra.is_empty(),
                "tile {level}/{} is beyond size {size}",
                extra[0].0
            );
        }
        for r in fresh {
            ensure!(
                r.index >= prev_size && r.index < size && r.size <= size,
                "receipt out of range"
            );
        }

        // Every receipted checkpoint is the stored one and a prefix of the latest.
        let view = LogView::new(reader.clone())?;
        let snap = view.snapshot();
        ensure!(snap.size() == size, "LogView sees size {}", snap.size());
        for (&s, (r, note)) in &self.checkpoints {
            let stored = reader
                .checkpoint(s)?
                .ok_or_else(|| anyhow!("LOST CHECKPOINT: receipted size {s} is not stored"))?;
            ensure!(
                stored.note == *note,
                "the stored checkpoint for size {s} differs"
            );
            let proof = view
                .consistency_proof(&snap, s, size)
                .map_err(|e| anyhow!("consistency proof {s} → {size}: {e}"))?;
            verify_consistency(s, size, r, &root, &proof)
                .with_context(|| format!("checkpoint {s} is not a prefix of {size}"))?;
        }
        stats.checkpoints_receipted = stats
            .checkpoints_receipted
            .max(self.checkpoints.len() as u64);
        stats.unreceipted_present += unreceipted;
        stats.entries_rechecked += size;
        self.leaves = leaves;
        Ok(())
    }

    /// The end of a log's life: every checkpoint the store ever signed (published or not)
    /// verifies and is consistent with the latest one.
    fn check_stored_checkpoints(&self, stats: &mut Stats) -> Result<()> {
        let db = self.scratch.join("check").join(DB_FILE);
        let reader = Arc::new(SqliteReader::open(&db)?);
        let view = LogView::new(reader.clone())?;
        let snap = view.snapshot();
        let size = snap.size();
        let root = snap.root();
        let mut after = 0;
        loop {
            let page = reader.checkpoints_after(after, 1000)?;
            let Some(last) = page.last() else { break };
            after = last.size;
            for stored in &page {
                let note = Note::parse(&stored.note)?;
                note.verify(&[&self.verifier as &dyn NoteVerifier])?;
                let cp = Checkpoint::parse(note.text())?;
                ensure!(
                    cp.size == stored.size,
                    "checkpoint row {} mislabelled",
                    stored.size
                );
                let proof = view
                    .consistency_proof(&snap, cp.size, size)
                    .map_err(|e| anyhow!("consistency proof {} → {size}: {e}", cp.size))?;
                verify_consistency(cp.size, size, &cp.root, &root, &proof).with_context(|| {
                    format!("stored checkpoint {} is not a prefix of {size}", cp.size)
                })?;
                stats.stored_checkpoints_checked += 1;
            }
        }
        ensure!(
            after == size,
            "the latest stored checkpoint is not the view's"
        );
        Ok(())
    }

    /// `hotline serve` on the directory (one more recovery) and `hotline log verify` over
    /// HTTP on 127.0.0.1: the auditor's view must agree with the harness.
    fn serve_and_verify(&self) -> Result<serde_json::Value> {
        let mut serve = Proc(Some(
            Command::new(HOTLINE)
                .args(["serve", "--dir", self.dir.to_str().unwrap()])
                .args(["--listen", "127.0.0.1:0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(std::fs::File::create(&self.stderr)?)
                .spawn()?,
        ));
        let stdout = serve.child().stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let mut r = BufReader::new(stdout);
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
            let _ = r.read_to_end(&mut Vec::new());
        });
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| anyhow!("hotline serve did not start:\n{}", self.stderr_tail()))?;
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://127.0.0.1:"))
            .ok_or_else(|| anyhow!("no URL in {line:?}\n{}", self.stderr_tail()))?
            .trim_end_matches('/')
            .trim_end_matches("/log")
            .to_owned();
        let vkey = self.dir.join("log.vkey");
        let out = hotline(
            &[
                "log",
                "verify",
                "--url",
                &url,
                "--vkey",
                vkey.to_str().unwrap(),
                "--json",
            ],
            &self.scratch,
            Duration::from_secs(300),
        )?;
        serve.kill()?;
        let report: serde_json::Value = serde_json::from_str(&out)?;
        ensure!(report["ok"] == true, "log verify: {out}");
        ensure!(
            report["size"].as_u64() == Some(self.leaves.len() as u64),
            "log verify saw size {}, the store holds {}",
            report["size"],
            self.leaves.len()
        );
        Ok(report)
    }
}

/// Runs `f`, printing what is needed to replay a failure.
fn with_replay_info<T>(seed: u64, log: Option<&Log>, r: Result<T>) -> Result<T> {
    if let Err(e) = &r {
        eprintln!("durability FAILED (seed {seed}; replay with HOTLINE_CRASH_SEED={seed}): {e:#}");
        if let Some(log) = log {
            eprintln!("stderr of the last hotline child:\n{}", log.stderr_tail());
        }
    }
    r
}

/// The acceptance test: `HOTLINE_CRASH_CYCLES` kill cycles (default 50) of concurrent appends.
#[test]
fn receipted_entries_survive_sigkill() -> Result<()> {
    let cycles = env_u64("HOTLINE_CRASH_CYCLES", 50);
    let max_size = env_u64("HOTLINE_CRASH_MAX_SIZE", 60_000);
    let deadline = Duration::from_secs(env_u64(
        "HOTLINE_CRASH_DEADLINE_SECS",
        300 + cycles.saturating_mul(3),
    ));
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir()?;
    let started = Instant::now();
    let mut stats = Stats::default();
    let mut log = Log::create(tmp.path(), "gen0")?;
    stats.generations = 1;
    let mut final_size = 0;
    while stats.cycles < cycles {
        ensure!(
            started.elapsed() < deadline,
            "deadline of {deadline:?} reached after {} of {cycles} cycles (seed {seed})",
            stats.cycles
        );
        let plan = Plan::random(&mut rng, log.startup);
        let before = (log.leaves.len(), stats.unreceipted_present);
        let t0 = Instant::now();
        let r = log.cycle(&plan, &mut stats);
        let r = r.with_context(|| format!("cycle {} ({plan:?})", stats.cycles));
        let receipts = with_replay_info(seed, Some(&log), r)?;
        println!(
            "cycle {:>4}: {:>5} receipts, size {:>6} (+{}, {} without receipt), {:?}, batch {} \
             window {} × {}, {:.0} ms",
            stats.cycles,
            receipts.len(),
            log.leaves.len(),
            log.leaves.len() - before.0,
            stats.unreceipted_present - before.1,
            plan.kill,
            plan.batch_size,
            plan.window,
            plan.producers,
            t0.elapsed().as_secs_f64() * 1000.0
        );
        final_size = final_size.max(log.leaves.len() as u64);
        if log.leaves.len() as u64 > max_size && stats.cycles < cycles {
            // Keep each check's full recomputation bounded: close this log, start another.
            let r = log.check_stored_checkpoints(&mut stats);
            with_replay_info(seed, Some(&log), r)?;
            log = Log::create(tmp.path(), &format!("gen{}", stats.generations))?;
            stats.generations += 1;
        }
    }
    let r = log.check_stored_checkpoints(&mut stats);
    with_replay_info(seed, Some(&log), r)?;
    let r = log.serve_and_verify();
    let report = with_replay_info(seed, Some(&log), r)?;
    println!(
        "durability: {} kill cycles in {:.1} s, seed {seed}: {} receipts checked, {} receipted \
         checkpoints (max per log) and {} stored checkpoints proved consistent, {} entries \
         recomputed over all checks; {} kills before the first receipt, {} committed entries \
         never receipted; {} logs, largest size {final_size}, final size {} (log verify: {} \
         entries, {} tiles)",
        stats.cycles,
        started.elapsed().as_secs_f64(),
        stats.receipts,
        stats.checkpoints_receipted,
        stats.stored_checkpoints_checked,
        stats.entries_rechecked,
        stats.kills_before_first_receipt,
        stats.unreceipted_present,
        stats.generations,
        log.leaves.len(),
        report["entries_checked"],
        report["tiles_checked"],
    );
    ensure!(stats.receipts > 0, "no receipt was ever handed out");
    Ok(())
}

/// Appends still in flight at the kill may or may not be in the log afterwards; either way the
/// database is whole and the next start-up recovers it. Killing right after the first receipt,
/// with thousands of entries queued, makes that the common case.
#[test]
fn unreceipted_appends_may_vanish_but_never_corrupt() -> Result<()> {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir()?;
    let mut log = Log::create(tmp.path(), "log")?;
    let mut stats = Stats::default();
    for _ in 0..12 {
        let plan = Plan {
            kill: Kill::AfterReceipts(rng.random_range(1..=3)),
            entries: ENTRIES,
            entry_size: rng.random_range(16..=200),
            producers: 4,
            window: 1024,
            batch_size: [16, 64, 256][rng.random_range(0..3)],
            batch_age_ms: rng.random_range(0..=5),
        };
        let r = log.cycle(&plan, &mut stats);
        with_replay_info(seed, Some(&log), r)?;
    }
    with_replay_info(seed, Some(&log), log.check_stored_checkpoints(&mut stats))?;
    println!(
        "unreceipted appends: {} cycles, {} receipts, {} entries committed without a receipt, \
         final size {}",
        stats.cycles,
        stats.receipts,
        stats.unreceipted_present,
        log.leaves.len()
    );
    ensure!(stats.receipts > 0, "no receipt was ever handed out");
    Ok(())
}

/// A kill anywhere in start-up (lock, open, WAL recovery, the sequencer's tile scan and leaf
/// index rebuild) or in the shutdown's WAL checkpoint changes nothing: same size, same entries,
/// and the following start-up succeeds.
#[test]
fn kill_during_start_up_recovery_is_harmless() -> Result<()> {
    let seed = seed();
    let mut rng = StdRng::seed_from_u64(seed);
    let tmp = tempfile::tempdir()?;
    let mut log = Log::create(tmp.path(), "log")?;
    let mut stats = Stats::default();
    // A log big enough that recovery takes a while (several levels of tiles).
    let fill = Plan {
        kill: Kill::AtStart(Duration::from_secs(120)),
        entries: 70_000,
        entry_size: 32,
        producers: 2,
        window: 4096,
        batch_size: 4096,
        batch_age_ms: 20,
    };
    log.cycle(&fill, &mut stats)?;
    ensure!(log.leaves.len() == 70_000, "the fill did not complete");
    // `--entries 0`: start up (with recovery), append nothing, shut down.
    let idle = |kill| Plan {
        kill,
        entries: 0,
        ..fill.clone()
    };
    // How long an undisturbed start-up and shutdown takes (median of three).
    let mut runs = Vec::new();
    for _ in 0..3 {
        log.cycle(&idle(Kill::AtStart(Duration::from_secs(60))), &mut stats)?;
        runs.push(log.lifetime);
    }
    // The quickest, so that most kills land before the child is done.
    let startup = runs.iter().min().copied().unwrap_or_default();
    let size = log.leaves.len();
    let kills = 24u32;
    for k in 0..kills {
        // Sweep the whole start-up-and-shutdown time, with jitter so runs differ.
        let at = startup.mul_f64((f64::from(k) + rng.random_range(0.0..1.0)) / f64::from(kills));
        let r = log.cycle(&idle(Kill::AtStart(at)), &mut stats);
        with_replay_info(seed, Some(&log), r)?;
        ensure!(log.leaves.len() == size, "a start-up changed the log size");
    }
    log.cycle(&idle(Kill::AtStart(Duration::from_secs(60))), &mut stats)?;
    with_replay_info(seed, Some(&log), log.check_stored_checkpoints(&mut stats))?;
    println!(
        "start-up kills: {kills} kills over a start-up of {:.0} ms on a log of {size} entries; \
         {} of {} runs finished before their kill",
        startup.as_secs_f64() * 1000.0,
        stats.exited_early,
        stats.cycles
    );
    Ok(())
}
