//! `hotline bench audit`: how fast `hotline audit` verifies a large log, signatures included.
//!
//! What one invocation does:
//!
//! 1. *Log* (once per `--dir`, kept for later invocations): a bare log filled through the real
//!    sequencer and SQLite store with `--statements` signed statements of a synthetic hotline —
//!    the operator, `--parties` registered parties, and cases between them walked through the
//!    lifecycle (requests of every priority and type, notices, delivered, acknowledged,
//!    need-info, update, answer, declined, withdrawn, closed, overdue of both deadlines),
//!    with times spread over a year. Statements are signed on every core; the audit must
//!    accept every one of them.
//! 2. *Serving*: the log is served over HTTP on a loopback port from this process, as
//!    `hotline serve` serves it.
//! 3. *Per-core figures* (same invocation): Ed25519 verification of statement-sized messages
//!    one by one (the rule every verifier uses) and in one batch, as audits verify them.
//! 4. *Timed runs*, interleaved: `hotline log verify` (download, every tile and the root
//!    recomputed: the floor under any audit); `hotline audit` downloading into an empty cache
//!    (the same, plus every statement parsed, its signatures verified against the directory as
//!    it stood and replayed through the case lifecycle, plus the statistics); then `hotline
//!    audit` of the downloaded log (DESIGN.md §9's measure: the same checks, every tile and
//!    entry read back from the cache and verified again, only the checkpoint fetched, so the
//!    serving process no longer shares the cores). The figures are statements per second of
//!    wall-clock time, median over `--runs`, and for the last also per CPU-second (this
//!    machine may be running other work).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::payload::sha256;
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{
    Deadline, DeclineReason, Handling, Justification, Kind, PartyId, PartyKind, Priority,
    RequestType, Timestamp, Tlp,
};
use hotline_core::{CaseId, DeadlinePolicy};
use hotline_crypto::PartyKeys;
use hotline_store::sequencer::SequencerConfig;
use hotline_tlog::note::{NoteSigner, NoteVerifier as _};
use hotline_tlog::{BatchItem, BatchKey, Hash, verify_batch};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::bench::median;
use crate::datadir::DataDir;
use crate::serve::OpenLog;

/// The benchmark's target (DESIGN.md §9): statements audited per second on 2 cores.
pub const TARGET_PER_SECOND: f64 = 100_000.0;

/// Options of `hotline bench audit`.
#[derive(clap::Args, Debug)]
pub struct BenchAuditArgs {
    /// Directory of the benchmark log: created and filled if new, reused as it is otherwise
    /// (so that repeated invocations audit the same log).
    #[arg(long)]
    pub dir: PathBuf,
    /// Statements in a new log.
    #[arg(long, default_value_t = 1_000_000)]
    pub statements: u64,
    /// Parties of a new log (statements go between them).
    #[arg(long, default_value_t = 32)]
    pub parties: usize,
    /// Timed runs of each measurement.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Print the report as JSON.
    #[arg(skip)]
    pub json: bool,
}

/// The benchmark's result.
#[derive(Serialize, Debug)]
pub struct AuditBenchReport {
    /// Statements in the log.
    pub statements: u64,
    /// Seconds spent creating the log, if this invocation created it.
    pub created_in_seconds: Option<f64>,
    /// Cores of this machine.
    pub cores: usize,
    /// Ed25519 verifications per second on one core, one by one (Go's rule, as every
    /// verifier of hotline).
    pub ed25519_one_by_one_per_core: f64,
    /// The same, in batches of a replay chunk (8192) by 32 keys (what audits do).
    pub ed25519_batch_per_core: f64,
    /// Seconds of each `hotline log verify` run (download and tiles only).
    pub log_verify_seconds: Vec<f64>,
    /// Seconds of each `hotline audit` run that downloaded the log into an empty cache.
    pub audit_download_seconds: Vec<f64>,
    /// Median statements per second of those runs.
    pub audit_download_per_second: f64,
    /// Seconds of each `hotline audit` run of the downloaded log (every tile and entry read
    /// from the cache and verified again; only the checkpoint fetched): the target's measure.
    pub audit_seconds: Vec<f64>,
    /// Median statements per second of `hotline log verify` (the floor).
    pub log_verify_per_second: f64,
    /// Median statements per second of `hotline audit` of the downloaded log.
    pub audit_per_second: f64,
    /// CPU seconds (user + system, every thread) of each `hotline audit` run, the in-process
    /// server's threads excepted.
    pub audit_cpu_seconds: Vec<f64>,
    /// Median statements per CPU-second of `hotline audit`: what one core does, whatever else
    /// the machine is running.
    pub audit_per_cpu_second: f64,
    /// Median of CPU seconds / wall seconds of the audit runs: how many cores it kept busy.
    pub audit_cores_used: f64,
    /// `audit_per_second` / the target of 100,000.
    pub ratio_to_target: f64,
    /// Cases the audit found, and statistics rows it printed.
    pub cases: u64,
    /// Rows of statistics (pair of parties × month).
    pub rows: usize,
}

/// Runs the benchmark and prints its report.
pub fn run_and_print(args: &BenchAuditArgs) -> Result<()> {
    let report = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// Runs the benchmark.
pub fn run(args: &BenchAuditArgs) -> Result<AuditBenchReport> {
    if args.runs == 0 {
        bail!("--runs must be at least 1");
    }
    let dir = DataDir::new(&args.dir);
    let mut created_in_seconds = None;
    if !dir.is_initialised() {
        if args.parties < 2 {
            bail!("--parties must be at least 2 (cases go between two parties)");
        }
        let started = Instant::now();
        create_log(&dir, args.statements, args.parties, !args.json)?;
        created_in_seconds = Some(started.elapsed().as_secs_f64());
    } else if dir.is_hotline() {
        bail!(
            "{} holds a hotline: bench audit writes its own synthetic log, use a fresh directory",
            args.dir.display()
        );
    }
    let log = OpenLog::open(&dir, SequencerConfig::default())?;
    let statements = log.view().snapshot().size();
    if statements == 0 {
        bail!("{} holds an empty log", args.dir.display());
    }
    let vkey = dir.log_signer()?.verifier().to_vkey();
    let server = InProcessServer::start(log)?;
    let (one_by_one, batched) = per_core_rates();

    let mut verify_s = Vec::new();
    let mut download_s = Vec::new();
    let mut audit_s = Vec::new();
    let mut audit_cpu = Vec::new();
    let mut last = None;
    let cache = args.dir.join("audit-cache");
    let audit_args = |cache: &Path| crate::audit::AuditArgs {
        url: server.url.clone(),
        vkey: vkey.clone(),
        state: None,
        cache: Some(cache.to_path_buf()),
        witness_policy: None,
        evidence_out: None,
        since: None,
        until: None,
        csv: false,
    };
    let check = |what: &str, r: &crate::audit::AuditReport| -> Result<()> {
        if r.statements_replayed != statements {
            bail!(
                "the audit ({what}) replayed {} statements, the log has {statements}",
                r.statements_replayed
            );
        }
        Ok(())
    };
    for run in 0..args.runs {
        if !args.json {
            eprintln!(
                "run {}/{}: log verify; audit downloading into an empty cache; audit of the \
                 downloaded log",
                run + 1,
                args.runs
            );
        }
        let t = Instant::now();
        let verified = crate::verify::verify_log(
            &server.url,
            &crate::verify::load_vkey(&vkey)?,
            None,
            None,
            None,
            false,
        )?;
        verify_s.push(t.elapsed().as_secs_f64());
        if verified.size != statements {
            bail!(
                "log verify saw {} entries, the log has {statements}",
                verified.size
            );
        }
        if cache.exists() {
            std::fs::remove_dir_all(&cache)
                .with_context(|| format!("removing {}", cache.display()))?;
        }
        let t = Instant::now();
        let (cold, state) = crate::audit::audit_keeping_state(&audit_args(&cache), false)?;
        download_s.push(t.elapsed().as_secs_f64());
        drop(state);
        check("downloading", &cold)?;
        let cpu0 = audit_cpu_seconds();
        let t = Instant::now();
        let (warm, state) = crate::audit::audit_keeping_state(&audit_args(&cache), false)?;
        audit_s.push(t.elapsed().as_secs_f64());
        // The report is out when `hotline audit` prints it, which frees the replayed state
        // in the background; freeing it is still the audit's CPU time.
        drop(state);
        if let (Some(a), Some(b)) = (cpu0, audit_cpu_seconds()) {
            audit_cpu.push(b - a);
        }
        check("downloaded", &warm)?;
        if warm.downloaded_tiles != 0 {
            bail!(
                "the audit of the downloaded log still downloaded {} tiles",
                warm.downloaded_tiles
            );
        }
        last = Some(warm);
    }
    let _ = std::fs::remove_dir_all(&cache);
    server.stop()?;
    let report = last.ok_or_else(|| anyhow!("no run"))?;
    let per_second = |secs: &[f64]| statements as f64 / median(secs.to_vec());
    let audit_per_second = per_second(&audit_s);
    let (audit_per_cpu_second, audit_cores_used) = if audit_cpu.len() == audit_s.len() {
        (
            per_second(&audit_cpu),
            median(audit_cpu.iter().zip(&audit_s).map(|(c, w)| c / w).collect()),
        )
    } else {
        (0.0, 0.0)
    };
    Ok(AuditBenchReport {
        statements,
        created_in_seconds,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        ed25519_one_by_one_per_core: one_by_one,
        ed25519_batch_per_core: batched,
        log_verify_per_second: per_second(&verify_s),
        log_verify_seconds: verify_s,
        audit_download_per_second: per_second(&download_s),
        audit_download_seconds: download_s,
        audit_per_second,
        audit_seconds: audit_s,
        audit_cpu_seconds: audit_cpu,
        audit_per_cpu_second,
        audit_cores_used,
        ratio_to_target: audit_per_second / TARGET_PER_SECOND,
        cases: report.cases,
        rows: report.rows.len(),
    })
}

/// Prints the report for people.
pub fn print_report(r: &AuditBenchReport) {
    let list = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "hotline bench audit: {} statements, {} cores",
        r.statements, r.cores
    );
    if let Some(s) = r.created_in_seconds {
        println!("  log created in {s:.1} s");
    }
    println!(
        "  Ed25519 per core: {:.0}/s one by one, {:.0}/s in batches ({:.2}x)",
        r.ed25519_one_by_one_per_core,
        r.ed25519_batch_per_core,
        r.ed25519_batch_per_core / r.ed25519_one_by_one_per_core
    );
    println!(
        "  log verify (download, tiles, root): {:.0} statements/s median (runs: {} s)",
        r.log_verify_per_second,
        list(&r.log_verify_seconds)
    );
    println!(
        "  audit downloading into an empty cache: {:.0} statements/s median (runs: {} s)",
        r.audit_download_per_second,
        list(&r.audit_download_seconds)
    );
    println!(
        "  audit of the downloaded log (tiles, root, signatures, directory, lifecycle, \
         statistics): {:.0} statements/s median (runs: {} s)",
        r.audit_per_second,
        list(&r.audit_seconds)
    );
    println!(
        "  audit CPU: {:.0} statements per CPU-second median, {:.2} cores kept busy (runs: {} CPU-s)",
        r.audit_per_cpu_second,
        r.audit_cores_used,
        list(&r.audit_cpu_seconds)
    );
    println!(
        "  target {:.0}/s: {:.2}x; {} cases, {} statistics rows",
        TARGET_PER_SECOND, r.ratio_to_target, r.cases, r.rows
    );
}

/// CPU seconds so far of this process minus its server threads (the in-process server's tokio
/// workers and blocking threads): the audit's own CPU, read from /proc.
fn audit_cpu_seconds() -> Option<f64> {
    let process = crate::bench_submit::proc_cpu_seconds("/proc/self/stat")?;
    let mut server = 0.0;
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let stat = task.path().join("stat");
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.starts_with("tokio-runtime") || comm.trim() == "bench-server" {
            server += crate::bench_submit::proc_cpu_seconds(&stat.to_string_lossy()).unwrap_or(0.0);
        }
    }
    Some(process - server)
}

/// Verifications per second on one core: one by one, and in one batch as audits verify
/// them (a replay chunk of statement-sized messages signed by 32 keys, as in the benchmark's
/// log).
fn per_core_rates() -> (f64, f64) {
    let Ok(keys) = (0..32)
        .map(|_| PartyKeys::generate("bench-party"))
        .collect::<Result<Vec<_>, _>>()
    else {
        return (0.0, 0.0);
    };
    let messages: Vec<Vec<u8>> = (0..hotline_core::replay::CHUNK)
        .map(|i| format!("hotline/statement/v1\n{i:0>400}\n").into_bytes())
        .collect();
    let signatures: Vec<Vec<u8>> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| keys[i % keys.len()].signer().sign(m))
        .collect();
    let verifiers: Vec<_> = keys.iter().map(PartyKeys::verifier).collect();
    // Median of 5 passes over the same signatures: one pass is ~0.1 s, short enough for
    // another tenant of the machine to halve it.
    let median_rate = |pass: &dyn Fn() -> usize| {
        median(
            (0..5)
                .map(|_| {
                    let t = Instant::now();
                    let ok = pass();
                    ok as f64 / t.elapsed().as_secs_f64()
                })
                .collect(),
        )
    };
    let one = median_rate(&|| {
        messages
            .iter()
            .zip(&signatures)
            .enumerate()
            .filter(|(i, (m, s))| verifiers[i % keys.len()].verify(m, s))
            .count()
    });
    let batch_keys: Vec<BatchKey> = verifiers.iter().map(BatchKey::new).collect();
    let items: Vec<BatchItem<'_>> = messages
        .iter()
        .zip(&signatures)
        .enumerate()
        .map(|(i, (message, signature))| BatchItem {
            key: &batch_keys[i % keys.len()],
            message,
            signature,
        })
        .collect();
    let batched = median_rate(&|| {
        verify_batch(&mut rand::rng(), &items)
            .into_iter()
            .filter(|b| *b)
            .count()
    });
    (one, batched)
}

/// A data directory served over HTTP (`hotline serve`) by a thread of this process.
pub(crate) struct InProcessServer {
    /// Its base URL.
    pub(crate) url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl InProcessServer {
    /// Serves `log` on a loopback port.
    pub(crate) fn start(log: OpenLog) -> Result<InProcessServer> {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || -> Result<()> {
                let rt = tokio::runtime::Runtime::new().context("starting the server's runtime")?;
                rt.block_on(crate::serve::serve(
                    log,
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    move |addr| {
                        let _ = ready_tx.send(addr);
                    },
                    async move {
                        let _ = stop_rx.await;
                    },
                ))
            })
            .context("starting the server thread")?;
        let mut server = InProcessServer {
            url: String::new(),
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => {
                server.url = format!("http://{addr}");
                Ok(server)
            }
            Err(_) => {
                server.stop()?;
                bail!("the in-process server did not start")
            }
        }
    }

    /// Stops serving and shuts the sequencer down.
    pub(crate) fn stop(mut self) -> Result<()> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(anyhow!("the server thread panicked")),
            None => Ok(()),
        }
    }
}

/// The synthetic hotline's keys.
struct Cast {
    origin: String,
    operator: PartyKeys,
    parties: Vec<(PartyId, PartyKeys)>,
}

/// 2025-01-01T00:00:00Z: the synthetic cases spread over the year that follows.
const YEAR_START: i64 = 1_735_689_600;
const YEAR: i64 = 365 * 24 * 3600;
/// Mean statements per case of [`case_statements`] (over its ten shapes).
const PER_CASE: u64 = 4;

fn create_log(dir: &DataDir, statements: u64, parties: usize, progress: bool) -> Result<()> {
    let origin = "bench-audit.hotline.invalid/log";
    dir.init(origin)?;
    let log = OpenLog::open(dir, SequencerConfig::default())?;
    let cast = Cast {
        origin: origin.to_owned(),
        operator: PartyKeys::generate("operator")?,
        parties: (0..parties)
            .map(|i| {
                let id = format!("party-{i:03}");
                Ok((
                    PartyId::new(&id).map_err(|e| anyhow!("{e}"))?,
                    PartyKeys::generate(&id)?,
                ))
            })
            .collect::<Result<_>>()?,
    };
    let bar = if progress {
        ProgressBar::new(statements).with_style(
            ProgressStyle::with_template(
                "{spinner} creating the benchmark log {pos}/{len} statements [{bar:30}] {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    } else {
        ProgressBar::hidden()
    };
    let append = |entries: Vec<Vec<u8>>| -> Result<u64> {
        let n = entries.len() as u64;
        log.sequencer.submit_many(entries)?.wait()?;
        bar.inc(n);
        Ok(n)
    };
    let mut written = append(directory_statements(&cast)?)?;
    let cases = statements.div_ceil(PER_CASE).max(1);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    const BLOCK: u64 = 8192;
    let mut first = 0u64;
    while written < statements {
        let block: Vec<u64> = (first..first + BLOCK).collect();
        first += BLOCK;
        let signed: Vec<Result<Vec<Vec<u8>>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (cast, block) = (&cast, &block);
                    s.spawn(move || {
                        block
                            .iter()
                            .skip(t)
                            .step_by(threads)
                            .map(|c| case_statements(cast, *c, cases))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let per_thread: Vec<Vec<Result<Vec<Vec<u8>>>>> = handles
                .into_iter()
                .map(|h| h.join().unwrap_or_default())
                .collect();
            // Back in case order: thread t made cases t, t + threads, …
            let mut out = Vec::with_capacity(block.len());
            let mut iters: Vec<_> = per_thread.into_iter().map(Vec::into_iter).collect();
            'cases: loop {
                for it in iters.iter_mut() {
                    match it.next() {
                        Some(c) => out.push(c),
                        None => break 'cases,
                    }
                }
            }
            out
        });
        let mut entries = Vec::new();
        for case in signed {
            entries.extend(case?);
        }
        // The last case may be cut short: a prefix of a lifecycle is a valid case too.
        entries.truncate((statements - written) as usize);
        written += append(entries)?;
    }
    bar.finish_and_clear();
    let OpenLog { sequencer, .. } = log;
    sequencer.shutdown();
    Ok(())
}

fn sign(st: Statement, signers: &[&dyn NoteSigner]) -> Result<SignedStatement> {
    SignedStatement::sign(st, signers).map_err(|e| anyhow!("signing a benchmark statement: {e}"))
}

/// The operator's registration (the first statement of every hotline), then every party's.
fn directory_statements(cast: &Cast) -> Result<Vec<Vec<u8>>> {
    let time = Timestamp::from_unix(YEAR_START - 3600);
    let register = |party: PartyId, keys: &PartyKeys, kind: PartyKind, countersign: bool| {
        let mut st = Statement::new(
            &cast.origin,
            Kind::PartyRegistered,
            PartyId::operator(),
            time,
        );
        st.party = Some(party.clone());
        st.party_fields = PartyFields {
            name: Some(format!("Benchmark {party}")),
            jurisdiction: Some("CH".into()),
            kind: Some(kind),
            key: Some(keys.verifier().to_vkey()),
            recipients: vec![keys.recipient().to_string()],
            contact: Some(format!("duty@{party}.invalid")),
        };
        let mut signers: Vec<&dyn NoteSigner> = vec![cast.operator.signer()];
        if countersign {
            signers.push(keys.signer());
        }
        Ok::<_, anyhow::Error>(sign(st, &signers)?.bytes)
    };
    let mut out = vec![register(
        PartyId::operator(),
        &cast.operator,
        PartyKind::Operator,
        false,
    )?];
    for (id, keys) in &cast.parties {
        out.push(register(id.clone(), keys, PartyKind::NationalCert, true)?);
    }
    Ok(out)
}

/// The signed statements of synthetic case `c` of `cases`, in log order. Ten shapes, by
/// `c % 10`, covering every case kind and both deadlines missed.
fn case_statements(cast: &Cast, c: u64, cases: u64) -> Result<Vec<Vec<u8>>> {
    let p = cast.parties.len() as u64;
    let (req_id, req_keys) = &cast.parties[(c % p) as usize];
    let (resp_id, resp_keys) = &cast.parties[((c % p + 1 + (c / p) % (p - 1)) % p) as usize];
    let t0 = Timestamp::from_unix(YEAR_START + (c as i64) * (YEAR / cases.max(1) as i64));
    let shape = c % 10;
    let case = CaseId::generate(t0);
    let priority = Priority::ALL[(c / 10 % 3) as usize];
    let (ack_by, answer_by) = DeadlinePolicy::default().deadlines(priority, t0);
    let commitment = |what: &str| {
        let bytes = format!("{c} {what}");
        PayloadCommitment {
            sha256: sha256(bytes.as_bytes()),
            size: 1024,
            plaintext_sha256: sha256(format!("plain {bytes}").as_bytes()),
        }
    };
    let mut run = Script {
        cast,
        case: &case,
        t0,
        req: (req_id, req_keys),
        resp: (resp_id, resp_keys),
        out: Vec::new(),
        ids: Vec::new(),
    };
    let opening = if matches!(shape, 4 | 5) {
        Kind::Notice
    } else {
        Kind::Request
    };
    let request_type = RequestType::ALL[(c / 30 % RequestType::ALL.len() as u64) as usize];
    run.follow(opening, true, 0, &|st| {
        st.priority = Some(priority);
        st.handling = Some(Handling::H2);
        st.tlp = Some(Tlp::Amber);
        st.payload = Some(commitment("opening"));
        if opening == Kind::Request {
            st.request_type = Some(request_type);
            if request_type == RequestType::Emergency {
                st.justification = Some(Justification::ImminentRiskToLife);
            }
            st.ack_by = Some(ack_by);
            st.answer_by = Some(answer_by);
        }
    })?;
    let with_payload = |what: &'static str| {
        let commitment = commitment(what);
        move |st: &mut Statement| {
            st.handling = Some(Handling::H2);
            st.tlp = Some(Tlp::Amber);
            st.payload = Some(commitment.clone());
        }
    };
    let nothing = |_: &mut Statement| {};
    match shape {
        0..=2 => {
            run.operator(Kind::Delivered, t0.plus(60), None)?;
            run.follow(Kind::Acknowledged, false, 600, &nothing)?;
            run.follow(Kind::Answer, false, 3000, &with_payload("answer"))?;
            run.follow(Kind::Closed, true, 3600, &nothing)?;
        }
        3 => {
            run.operator(Kind::Delivered, t0.plus(60), None)?;
            run.follow(Kind::Acknowledged, false, 600, &nothing)?;
            run.follow(Kind::NeedInfo, false, 1200, &with_payload("need-info"))?;
            run.follow(Kind::Update, true, 1800, &with_payload("update"))?;
            run.follow(Kind::Answer, false, 3000, &with_payload("answer"))?;
        }
        4 => run.operator(Kind::Delivered, t0.plus(60), None)?,
        5 => {
            run.operator(Kind::Delivered, t0.plus(60), None)?;
            run.follow(Kind::Acknowledged, false, 600, &nothing)?;
        }
        6 => {
            run.operator(Kind::Delivered, t0.plus(60), None)?;
            run.follow(Kind::Declined, false, 900, &|st| {
                st.decline_reason = Some(DeclineReason::ALL[(c / 10 % 7) as usize]);
            })?;
        }
        7 => {
            run.operator(Kind::Overdue, ack_by, Some(Deadline::Ack))?;
            run.operator(Kind::Delivered, ack_by.plus(60), None)?;
            let late = ack_by.unix() - t0.unix();
            run.follow(Kind::Acknowledged, false, late + 120, &nothing)?;
            run.follow(Kind::Answer, false, late + 600, &with_payload("answer"))?;
        }
        8 => {
            run.operator(Kind::Delivered, t0.plus(60), None)?;
            run.follow(Kind::Withdrawn, true, 300, &nothing)?;
        }
        _ => {
            run.operator(Kind::Delivered, t0.plus(60), None)?;
            run.follow(Kind::Acknowledged, false, 600, &nothing)?;
            run.operator(Kind::Overdue, answer_by, Some(Deadline::Answer))?;
            let late = answer_by.unix() - t0.unix();
            run.follow(Kind::Answer, false, late + 60, &with_payload("answer"))?;
        }
    }
    Ok(run.out)
}

/// One case being written: its statements so far and who takes part.
struct Script<'a> {
    cast: &'a Cast,
    case: &'a CaseId,
    t0: Timestamp,
    req: (&'a PartyId, &'a PartyKeys),
    resp: (&'a PartyId, &'a PartyKeys),
    out: Vec<Vec<u8>>,
    ids: Vec<Hash>,
}

impl Script<'_> {
    fn push(&mut self, signed: SignedStatement) {
        self.ids.push(signed.id);
        self.out.push(signed.bytes);
    }

    /// A follow-up by the requester (`by_requester`) or the responder at `t0 + after` s.
    fn follow(
        &mut self,
        kind: Kind,
        by_requester: bool,
        after: i64,
        set: &dyn Fn(&mut Statement),
    ) -> Result<()> {
        let ((author, keys), (to, _)) = if by_requester {
            (self.req, self.resp)
        } else {
            (self.resp, self.req)
        };
        let mut st = Statement::new(&self.cast.origin, kind, author.clone(), self.t0.plus(after));
        st.case = Some(self.case.clone());
        st.recipient = Some(to.clone());
        st.refs = match (kind, self.ids.first(), self.ids.last()) {
            (Kind::Acknowledged, Some(first), Some(last)) if first != last => vec![*first, *last],
            (_, _, Some(last)) => vec![*last],
            _ => Vec::new(),
        };
        set(&mut st);
        let signed = sign(st, &[keys.signer()])?;
        self.push(signed);
        Ok(())
    }

    /// An operator statement (`delivered` or `overdue`) about the opening statement.
    fn operator(&mut self, kind: Kind, at: Timestamp, deadline: Option<Deadline>) -> Result<()> {
        let mut st = Statement::new(&self.cast.origin, kind, PartyId::operator(), at);
        st.case = Some(self.case.clone());
        st.recipient = Some(self.resp.0.clone());
        st.deadline = deadline;
        st.refs = vec![self.ids[0]];
        let signed = sign(st, &[self.cast.operator.signer()])?;
        self.push(signed);
        Ok(())
    }
}
