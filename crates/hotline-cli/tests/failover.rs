//! Fail-over acceptance test of several frontends on one PostgreSQL database: three `hotline
//! serve` processes, each from its own copy of the data directory (as on three machines), under
//! concurrent load; the one that sequences is SIGKILLed again and again
//! (`HOTLINE_FAILOVER_KILLS`, default 20) and restarted, and everything every frontend ever
//! promised is checked.
//!
//! Set-up: `hotline init --database` in a PostgreSQL schema of its own (dropped at the end),
//! with deadlines of seconds (`routine=2s:4s`) so that requests go overdue during the run; the
//! directory is copied three times and each copy served (`--lease-ms 1500`). Four parties are
//! registered through a frontend that does not sequence (forwarded to the one that does).
//!
//! Load, all the time: one client per party sends `notice` and `request` statements (each with
//! an age-encrypted payload, signed by the party, as an officer's client makes them), each to
//! the next frontend in turn; a downloader fetches payloads as their recipient from any
//! frontend (the first download makes the sequencer sign `delivered`, forwarded there by a
//! frontend that does not sequence). A request that fails (connection cut by the kill, or 503
//! while the lease changes hands) is sent again to the next frontend until it is answered
//! (30 s at most): resubmitting the same statement is idempotent. Every 200/201 answer must be
//! a receipt for exactly that statement whose c2sp.org/tlog-proof verifies under the log key.
//!
//! Kills: at a seeded random moment (250–800 ms of load), the frontend whose `/healthz` says it
//! sequences is SIGKILLed; the time until another one says it sequences, in a higher lease
//! epoch, is the fail-over time (at most 10 s allowed); the killed one is restarted from its
//! directory and must come back as a follower.
//!
//! Then, the load stopped and the last deadlines passed, the log is read from PostgreSQL and:
//!
//! - every receipt returned survives: its statement at its receipted index, byte for byte, its
//!   payload stored with it; every receipted checkpoint is the one stored for its size and is
//!   consistent with the latest (a consistency proof from the stored tiles);
//! - nothing is duplicated: every entry is a registration, a statement the clients sent, a
//!   `delivered` for a download they attempted or an `overdue` for a request they sent; no
//!   statement twice, at most one `delivered` per statement (exactly one for every download
//!   answered 200), at most one `overdue` per missed deadline, and every passed deadline has
//!   one (only the sequencer ticks);
//! - the three frontends agree with the log: the same size, and for a sample of receipts each
//!   serves the statement at its index with its bytes and the same delivery flag;
//! - `hotline fsck` passes (every tile and the root recomputed from the entries, every stored
//!   checkpoint verified and proved consistent with the latest), `hotline audit` replays every
//!   statement through the rules, and the Go reference checker (golang.org/x/mod/sumdb/note and
//!   tlog) accepts the log, every statement checked with note.Open (skipped with a message if Go
//!   is not installed, a failure under HOTLINE_REQUIRE_EXTERNAL=1).
//!
//! Without a PostgreSQL server the test says why and passes, unless HOTLINE_REQUIRE_EXTERNAL=1.
//! Knobs: `HOTLINE_FAILOVER_KILLS` (default 20), `HOTLINE_FAILOVER_SEED`,
//! `HOTLINE_FAILOVER_DEADLINE_SECS` (default 150 + 5 per kill). Every loop is bounded in count
//! and every request in time.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use hotline_core::Hotline;
use hotline_core::statement::SignedStatement;
use hotline_core::vocab::{Deadline, Kind, Timestamp};
use hotline_server::api::{ReceiptDto, StatementDto};
use hotline_store::LogReader;
use hotline_store::postgres::PgReader;
use hotline_store::reader::LogView;
use hotline_tlog::tree::verify_consistency;
use hotline_tlog::{Ed25519Verifier, Hash, leaf_hash};
use rand::rngs::StdRng;
use rand::{Rng as _, SeedableRng as _};
use util::Sandbox;
use util::frontends::{
    Checked, DEADLINES, FrontendProc, ORIGIN, Party, Sent, check_receipt, hotline_size,
    http_client, register, start_frontend, wait_for_sequencer,
};
use util::pg::Schema;

const FRONTENDS: usize = 3;
const PARTIES: usize = 4;
/// Longest the answer deadline of a request lies after its time (`DEADLINES`).
const ANSWER_AFTER: i64 = 4;
/// Longest a statement or download may take to be answered, retries included.
const PATIENCE: Duration = Duration::from_secs(30);
/// Longest a fail-over may take.
const FAILOVER_LIMIT: Duration = Duration::from_secs(10);
const SAMPLE_PER_FRONTEND: usize = 24;

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// What the load shares.
struct Load<'a> {
    urls: &'a RwLock<Vec<String>>,
    parties: &'a [Party],
    log_key: &'a Ed25519Verifier,
    stop: AtomicBool,
    /// Receipted statements for the downloader: (index into `sent`, the statement).
    downloads: Mutex<Vec<Sent>>,
    failure: Mutex<Option<String>>,
    retries: AtomicU64,
    answered_after_retry_as_committed: AtomicU64,
    not_yet_followed: AtomicU64,
}

impl Load<'_> {
    fn url(&self, k: usize) -> String {
        let urls = self.urls.read().unwrap();
        urls[k % urls.len()].clone()
    }

    fn fail(&self, why: String) {
        let mut f = self.failure.lock().unwrap();
        if f.is_none() {
            *f = Some(why);
        }
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// One party's client: sends statements one at a time, each to the next frontend, until told
/// to stop; returns every receipt.
fn client(load: &Load<'_>, me: usize) -> Vec<(Sent, Checked)> {
    let http = http_client();
    let mut out = Vec::new();
    let mut k = me;
    while !load.stop.load(Ordering::SeqCst) {
        let to = (me + 1 + out.len() % (PARTIES - 1)) % PARTIES;
        let sent = match Sent::build(load.parties, me, to, out.len() % 2 == 1) {
            Ok(s) => s,
            Err(e) => {
                load.fail(format!("building a statement: {e:#}"));
                break;
            }
        };
        let started = Instant::now();
        let mut attempts = 0u64;
        let receipt = loop {
            if started.elapsed() > PATIENCE {
                load.fail(format!(
                    "a statement of party {me} was not accepted within {PATIENCE:?} \
                     ({attempts} attempts)"
                ));
                return out;
            }
            k += 1;
            let url = format!("{}/api/v1/statements", load.url(k));
            attempts += 1;
            let answer = http
                .post(&url)
                .bearer_auth(&load.parties[me].token)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(sent.body())
                .send()
                .and_then(|r| {
                    let s = r.status().as_u16();
                    r.bytes().map(|b| (s, b))
                });
            match answer {
                Ok((200 | 201, body)) => break (body, attempts),
                Ok((503, _)) | Err(_) => {
                    load.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(30));
                }
                Ok((status, body)) => {
                    load.fail(format!(
                        "{url}: status {status}: {}",
                        String::from_utf8_lossy(&body)
                    ));
                    return out;
                }
            }
        };
        let (body, attempts) = receipt;
        let checked = serde_json::from_slice::<ReceiptDto>(&body)
            .map_err(anyhow::Error::from)
            .and_then(|r| {
                if !r.new && attempts > 1 {
                    load.answered_after_retry_as_committed
                        .fetch_add(1, Ordering::Relaxed);
                }
                check_receipt(&r, &sent.id, load.log_key)
            });
        match checked {
            Ok(c) => {
                load.downloads.lock().unwrap().push(sent.clone());
                out.push((sent, c));
            }
            Err(e) => {
                load.fail(format!("a bad receipt: {e:#}"));
                break;
            }
        }
    }
    out
}

/// Downloads receipted payloads as their recipient from any frontend until told to stop;
/// returns the statements whose download was answered 200 and those it attempted.
fn downloader(load: &Load<'_>, seed: u64) -> (Vec<Hash>, Vec<Hash>) {
    let http = http_client();
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut delivered, mut attempted) = (Vec::new(), Vec::new());
    while !load.stop.load(Ordering::SeqCst) {
        let next = {
            let mut q = load.downloads.lock().unwrap();
            if q.is_empty() {
                None
            } else {
                let i = rng.random_range(0..q.len());
                Some(q.swap_remove(i))
            }
        };
        let Some(s) = next else {
            std::thread::sleep(Duration::from_millis(5));
            continue;
        };
        attempted.push(s.id);
        let started = Instant::now();
        let mut k = rng.random_range(0..FRONTENDS);
        loop {
            if started.elapsed() > PATIENCE {
                load.fail(format!("the download of {} never succeeded", s.id));
                return (delivered, attempted);
            }
            k += 1;
            let url = format!(
                "{}/api/v1/statements/{}/payload",
                load.url(k),
                s.id.to_hex()
            );
            let answer = http
                .get(&url)
                .bearer_auth(&load.parties[s.recipient].token)
                .send()
                .and_then(|r| {
                    let st = r.status().as_u16();
                    r.bytes().map(|b| (st, b))
                });
            match answer {
                Ok((200, body)) if body == s.ciphertext => {
                    delivered.push(s.id);
                    break;
                }
                // Not followed yet by that frontend: it knows the statement a moment later.
                Ok((404, _)) => {
                    load.not_yet_followed.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(20));
                }
                Ok((503, _)) | Err(_) => {
                    load.retries.fetch_add(1, Ordering::Relaxed);
                    std::thread::sleep(Duration::from_millis(30));
                }
                Ok((status, body)) => {
                    load.fail(format!(
                        "{url}: status {status}: {}",
                        String::from_utf8_lossy(&body[..body.len().min(300)])
                    ));
                    return (delivered, attempted);
                }
            }
        }
    }
    (delivered, attempted)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

#[test]
fn receipts_survive_repeated_sigkill_of_the_sequencing_frontend() -> Result<()> {
    let Some(schema) = Schema::new() else {
        return Ok(());
    };
    let kills = env_u64("HOTLINE_FAILOVER_KILLS", 20);
    let deadline = Duration::from_secs(env_u64(
        "HOTLINE_FAILOVER_DEADLINE_SECS",
        150 + kills.saturating_mul(5),
    ));
    let seed = env_u64("HOTLINE_FAILOVER_SEED", rand::random::<u64>() >> 1);
    println!("failover: seed {seed} (replay with HOTLINE_FAILOVER_SEED={seed}), {kills} kills");
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--origin",
        ORIGIN,
        "--database",
        &schema.url,
        "--deadlines",
        DEADLINES,
    ]);
    let dirs: Vec<String> = (0..FRONTENDS).map(|i| format!("f{i}")).collect();
    for d in &dirs {
        util::copy_dir(&sb.path("hl"), &sb.path(d));
    }
    let log_key =
        Ed25519Verifier::from_vkey(std::fs::read_to_string(sb.path("hl/log.vkey"))?.trim())?;
    let operator_token = std::fs::read_to_string(sb.path("hl/operator.token"))?
        .trim()
        .to_owned();
    let mut procs: Vec<FrontendProc> = Vec::new();
    for d in &dirs {
        procs.push(start_frontend(&sb, d)?);
    }
    let http = http_client();
    let urls = RwLock::new(procs.iter().map(|p| p.url.clone()).collect::<Vec<_>>());
    let wait_for_sequencer =
        |above: i64, urls: &[String]| wait_for_sequencer(&http, urls, above, FAILOVER_LIMIT);
    let (first, mut epoch) = wait_for_sequencer(0, &urls.read().unwrap())?;
    // Registrations through a frontend that does not sequence: forwarded.
    let follower_url = urls.read().unwrap()[(first + 1) % FRONTENDS].clone();
    let parties: Vec<Party> = (0..PARTIES)
        .map(|i| register(&http, &follower_url, &operator_token, &log_key, i))
        .collect::<Result<_>>()?;
    // Every frontend knows every party before the load starts.
    let registered = hotline_size(&http, &follower_url)?;
    for u in urls.read().unwrap().iter() {
        let t = Instant::now();
        while hotline_size(&http, u)? < registered {
            ensure!(t.elapsed() < Duration::from_secs(10), "{u} does not follow");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    let load = Load {
        urls: &urls,
        parties: &parties,
        log_key: &log_key,
        stop: AtomicBool::new(false),
        downloads: Mutex::new(Vec::new()),
        failure: Mutex::new(None),
        retries: AtomicU64::new(0),
        answered_after_retry_as_committed: AtomicU64::new(0),
        not_yet_followed: AtomicU64::new(0),
    };
    let mut failovers: Vec<Duration> = Vec::new();
    let (receipts, (delivered, attempted), killed) = std::thread::scope(|s| {
        let clients: Vec<_> = (0..PARTIES)
            .map(|me| {
                let load = &load;
                s.spawn(move || client(load, me))
            })
            .collect();
        let dl = {
            let load = &load;
            s.spawn(move || downloader(load, seed))
        };
        let killed = (|| -> Result<()> {
            for k in 0..kills {
                ensure!(
                    started.elapsed() < deadline,
                    "deadline of {deadline:?} reached after {k} of {kills} kills"
                );
                std::thread::sleep(Duration::from_millis(rng.random_range(250..=800)));
                if load.stop.load(Ordering::SeqCst) {
                    break;
                }
                let current = urls.read().unwrap().clone();
                let (victim, at) = wait_for_sequencer(epoch - 1, &current)?;
                ensure!(at >= epoch, "lease epoch went back from {epoch} to {at}");
                procs[victim].child.kill()?;
                procs[victim].child.wait()?;
                let t0 = Instant::now();
                let others: Vec<String> = current
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != victim)
                    .map(|(_, u)| u.clone())
                    .collect();
                let (_, next) = wait_for_sequencer(at, &others)?;
                failovers.push(t0.elapsed());
                epoch = next;
                // Back as a follower, from its own directory.
                let p = start_frontend(&sb, &dirs[victim])?;
                urls.write().unwrap()[victim] = p.url.clone();
                procs[victim] = p;
                println!(
                    "kill {:>2}: frontend {victim} (epoch {at}) killed, epoch {next} took over in \
                     {:.0} ms",
                    k + 1,
                    failovers.last().unwrap().as_secs_f64() * 1000.0
                );
            }
            Ok(())
        })();
        load.stop.store(true, Ordering::SeqCst);
        let receipts: Vec<(Sent, Checked)> = clients
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_default())
            .collect();
        let dl = dl.join().unwrap_or_default();
        (receipts, dl, killed)
    });
    killed?;
    if let Some(f) = load.failure.lock().unwrap().take() {
        bail!("under load: {f}");
    }
    ensure!(
        failovers.len() as u64 == kills,
        "{} fail-overs for {kills} kills",
        failovers.len()
    );
    ensure!(!receipts.is_empty(), "no receipt was ever handed out");

    // Quiesce: the last requests' deadlines pass and the sequencer records them.
    let last_time = receipts
        .iter()
        .map(|(s, _)| s.time.unix())
        .max()
        .unwrap_or(0);
    let urls_now = urls.read().unwrap().clone();
    let (seq_i, _) = wait_for_sequencer(epoch - 1, &urls_now)?;
    let settle = Instant::now();
    let mut stable = (hotline_size(&http, &urls_now[seq_i])?, Instant::now());
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = hotline_size(&http, &urls_now[seq_i])?;
        if now != stable.0 {
            stable = (now, Instant::now());
        }
        let past = Timestamp::now().unix() > last_time + ANSWER_AFTER + 2;
        if past && stable.1.elapsed() > Duration::from_millis(2500) {
            break;
        }
        ensure!(
            settle.elapsed() < Duration::from_secs(60),
            "the log does not settle"
        );
    }

    // The log as stored.
    let reader = Arc::new(PgReader::open(&schema.url)?);
    let view = LogView::new(reader.clone())?;
    let snap = view.snapshot();
    let size = snap.size();
    let latest = snap
        .checkpoint
        .clone()
        .ok_or_else(|| anyhow!("empty log"))?;
    let mut entries: Vec<Vec<u8>> = Vec::with_capacity(size as usize);
    view.for_each_entry(&snap, 0, size, |_, e| {
        entries.push(e.to_vec());
        Ok(())
    })?;
    ensure!(entries.len() as u64 == size, "the log has holes");
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
    let mut at: HashMap<Hash, u64> = HashMap::new();
    for (i, l) in leaves.iter().enumerate() {
        ensure!(
            at.insert(*l, i as u64).is_none(),
            "DUPLICATE: statement {l} is in the log twice"
        );
    }

    // Every receipt survives; every receipted checkpoint is stored and a prefix of the latest.
    let mut checkpoints: BTreeMap<u64, (Hash, Vec<u8>)> = BTreeMap::new();
    for (s, c) in &receipts {
        let i = c.index as usize;
        ensure!(
            entries.get(i) == Some(&s.bytes),
            "LOST RECEIPT: index {i} does not hold the receipted statement {}",
            s.id
        );
        let stored = reader
            .payload(c.index, &s.id)?
            .ok_or_else(|| anyhow!("LOST PAYLOAD of the statement at {i}"))?;
        ensure!(stored == s.ciphertext, "the payload at {i} changed");
        match checkpoints.get(&c.checkpoint.size) {
            Some((root, _)) => ensure!(
                *root == c.checkpoint.root,
                "FORK: two receipted checkpoints for size {}",
                c.checkpoint.size
            ),
            None => {
                checkpoints.insert(c.checkpoint.size, (c.checkpoint.root, c.note.clone()));
            }
        }
    }
    for (&s, (root, note)) in &checkpoints {
        let stored = reader
            .checkpoint(s)?
            .ok_or_else(|| anyhow!("LOST CHECKPOINT: receipted size {s} is not stored"))?;
        ensure!(
            stored.note == *note,
            "the stored checkpoint for size {s} is not the receipted one"
        );
        let proof = view
            .consistency_proof(&snap, s, size)
            .map_err(|e| anyhow!("consistency proof {s} → {size}: {e}"))?;
        verify_consistency(s, size, root, &latest.checkpoint.root, &proof)
            .with_context(|| format!("receipted checkpoint {s} is not a prefix of {size}"))?;
    }

    // Every entry accounted for, nothing twice, operator statements once each.
    let sent: HashMap<Hash, &Sent> = receipts.iter().map(|(s, _)| (s.id, s)).collect();
    let attempted: HashSet<Hash> = attempted.into_iter().collect();
    let mut deliveries: HashMap<Hash, u32> = HashMap::new();
    let mut overdues: HashMap<(Hash, Deadline), u32> = HashMap::new();
    let mut hotline = Hotline::new(ORIGIN, DEADLINES.parse().map_err(|e: String| anyhow!(e))?);
    for (i, e) in entries.iter().enumerate() {
        let st = SignedStatement::parse(e).map_err(|e| anyhow!("entry {i}: {e}"))?;
        hotline
            .apply(&st)
            .map_err(|e| anyhow!("entry {i} breaks the rules: {e}"))?;
        let s = &st.statement;
        match s.kind {
            Kind::PartyRegistered => {}
            Kind::Notice | Kind::Request => ensure!(
                sent.contains_key(&st.id),
                "entry {i}: a {} nobody received a receipt for",
                s.kind
            ),
            Kind::Delivered => {
                let r = s.refs.first().copied().unwrap_or_default();
                ensure!(
                    attempted.contains(&r),
                    "entry {i}: delivered for {r}, never downloaded"
                );
                *deliveries.entry(r).or_default() += 1;
            }
            Kind::Overdue => {
                let r = s.refs.first().copied().unwrap_or_default();
                ensure!(
                    sent.get(&r).is_some_and(|x| x.kind == Kind::Request),
                    "entry {i}: overdue for {r}, not a request sent"
                );
                let d = s
                    .deadline
                    .ok_or_else(|| anyhow!("overdue without deadline"))?;
                *overdues.entry((r, d)).or_default() += 1;
            }
            other => bail!("entry {i}: unexpected {other}"),
        }
    }
    for (r, n) in &deliveries {
        ensure!(*n == 1, "DUPLICATE DELIVERY: {r} delivered {n} times");
    }
    for r in &delivered {
        ensure!(
            deliveries.contains_key(r),
            "LOST DELIVERY: {r} was downloaded, no delivered is in the log"
        );
    }
    for ((r, d), n) in &overdues {
        ensure!(
            *n == 1,
            "DUPLICATE OVERDUE: {d} deadline of {r} recorded {n} times"
        );
    }
    let due = hotline.due_overdues(Timestamp::now().plus(-2));
    ensure!(
        due.is_empty(),
        "{} passed deadlines have no overdue (first: {:?})",
        due.len(),
        due.first()
    );
    let requests = receipts
        .iter()
        .filter(|(s, _)| s.kind == Kind::Request)
        .count();
    ensure!(
        overdues.len() >= requests,
        "{} overdue statements for {requests} requests that nobody acknowledged",
        overdues.len()
    );

    // Every frontend agrees with the log.
    let mut sample_rng = StdRng::seed_from_u64(seed ^ 1);
    for u in &urls_now {
        ensure!(
            hotline_size(&http, u)? == size,
            "{u} holds another size than the log's {size}"
        );
        for _ in 0..SAMPLE_PER_FRONTEND {
            let (s, c) = &receipts[sample_rng.random_range(0..receipts.len())];
            let got: StatementDto = http
                .get(format!("{u}/api/v1/statements/{}", s.id.to_hex()))
                .bearer_auth(&parties[s.author].token)
                .send()?
                .error_for_status()?
                .json()?;
            ensure!(
                got.receipt.index == c.index && got.statement.as_bytes() == s.bytes,
                "{u} shows the statement at {} with other bytes",
                got.receipt.index
            );
            ensure!(
                got.delivered == deliveries.contains_key(&s.id),
                "{u} disagrees with the log on the delivery of {}",
                s.id
            );
            check_receipt(&got.receipt, &s.id, &log_key)?;
        }
    }

    // The operator's and the auditor's tools, and the Go reference.
    let out = sb.run_ok(&["fsck", "--dir", "f0", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(report["ok"] == true, "fsck: {out}");
    let out = sb.run_ok(&[
        "audit",
        "--url",
        &urls_now[0],
        "--vkey",
        "f0/log.vkey",
        "--json",
    ]);
    let audit: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(
        audit["ok"] == true
            && audit["size"].as_u64() == Some(size)
            && audit["statements_replayed"].as_u64() == Some(size),
        "audit: {out}"
    );
    let go = util::go::build_checker(sb.dir.path());
    let go_summary = match go {
        Some(checker) => {
            let res = std::process::Command::new(&checker)
                .args(["-url", &format!("{}/log", urls_now[1]), "-vkey"])
                .arg(sb.path("f0/log.vkey"))
                .arg("-statements")
                .output()?;
            ensure!(
                res.status.success(),
                "the Go reference checker rejected the log ({}):\n{}{}",
                res.status,
                String::from_utf8_lossy(&res.stdout),
                String::from_utf8_lossy(&res.stderr)
            );
            String::from_utf8_lossy(&res.stdout).trim().to_owned()
        }
        None => "skipped (no Go)".to_owned(),
    };
    let longest = failovers.iter().max().copied().unwrap_or_default();
    ensure!(longest < FAILOVER_LIMIT, "a fail-over took {longest:?}");
    println!(
        "failover: {kills} SIGKILLs of the sequencing frontend in {:.1} s (seed {seed}); \
         fail-over median {:.0} ms, max {:.0} ms; {} receipts ({requests} requests), all at \
         their index with their payload; {} receipted checkpoints consistent with the final \
         one; {} deliveries, {} overdue, none twice; {} retries across fail-overs, {} answered \
         as already committed on retry, {} downloads retried until followed; final size \
         {size}; fsck ok; audit ok; Go reference: {go_summary}",
        started.elapsed().as_secs_f64(),
        median(failovers.clone()).as_secs_f64() * 1000.0,
        longest.as_secs_f64() * 1000.0,
        receipts.len(),
        checkpoints.len(),
        deliveries.len(),
        overdues.len(),
        load.retries.load(Ordering::Relaxed),
        load.answered_after_retry_as_committed
            .load(Ordering::Relaxed),
        load.not_yet_followed.load(Ordering::Relaxed),
    );
    drop(procs);
    Ok(())
}
