//! `hotline bench submit`: signed, encrypted statements over HTTP to a running hotline, from many
//! concurrent clients, measuring statements/s and receipt latency.
//!
//! What one run does:
//!
//! 1. *Setup* (once): register `--parties` fresh parties through the API as the operator.
//! 2. *Preparation* (before the clock): for every statement, a case document with a fresh salt
//!    padded to `--payload-size` bytes, encrypted with age to the recipient and the author,
//!    a `notice` or `request` opening a new case that commits to it, signed by the author's
//!    key, and the JSON request body. Client and server share the machine's cores, so only the
//!    sending is timed.
//! 3. *Baselines* (same invocation, same bodies): the same HTTP requests to a no-op handler in
//!    this process (HTTP, JSON and base64 only: what the stack costs without the hotline), and
//!    Ed25519 verification of the statements alone (what the signatures cost).
//! 4. *Timed run*: `--clients` connections (HTTP/1.1 keep-alive, one per client, all on one
//!    client thread) each send their share one request at a time and wait for its receipt.
//!    Latency is request sent → receipt received.
//! 5. *Checks*: every answer must be `201 Created`; every `--verify-every`-th receipt is
//!    verified against the log's key (inclusion proof under a signed checkpoint); the log must
//!    have grown by exactly the number of statements sent.
//!
//! The client is hyper's bare HTTP/1.1 connection (no pool, no redirects) on a single-threaded
//! runtime, so that it takes as little of the shared CPU as possible; its CPU time is reported.

use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::IntoResponse;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::payload::{CaseDocument, sha256};
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{
    Handling, Kind, PartyId, PartyKind, Priority, RequestType, Timestamp, Tlp,
};
use hotline_core::{CaseId, DeadlinePolicy};
use hotline_crypto::{AgeRecipient, PartyKeys};
use hotline_server::api::{HotlineDto, ReceiptDto, SubmitDto};
use hotline_tlog::note::{NoteSigner, NoteVerifier};
use hotline_tlog::{Ed25519Verifier, Hash, TlogProof};
use http_body_util::{BodyExt as _, Full};
use serde::Serialize;

use crate::bench::{Percentiles, SequencerTime, median};
use crate::client::ApiClient;
use crate::datadir::{self, DataDir};
use crate::serve::{BatchArgs, OpenLog};

/// Options of `hotline bench submit`.
#[derive(clap::Args, Debug)]
pub struct BenchSubmitArgs {
    /// The hotline to send to, e.g. http://127.0.0.1:8080 (a running `hotline serve`).
    #[arg(long, required_unless_present = "dir", conflicts_with = "dir")]
    pub server: Option<String>,
    /// The operator's API token file (DIR/operator.token of the server's data directory), to
    /// register the benchmark's parties.
    #[arg(long, requires = "server")]
    pub operator_token_file: Option<PathBuf>,
    /// Instead of --server: serve this data directory in this process on a loopback port
    /// (created as a new hotline if it holds none), as `hotline serve` would.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Concurrent clients, each with its own keep-alive connection and one request in flight.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Statements to send per run.
    #[arg(long, default_value_t = 50_000)]
    pub statements: usize,
    /// Parties to register; statements go from party to party (each client signs as one).
    #[arg(long, default_value_t = 16)]
    pub parties: usize,
    /// Plaintext bytes of each statement's case document (encrypted to both parties).
    #[arg(long, default_value_t = 1024)]
    pub payload_size: usize,
    /// Timed runs, each with freshly prepared statements; medians are reported.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Verify every Nth receipt (inclusion proof and checkpoint signature) after the clock.
    #[arg(long, default_value_t = 64)]
    pub verify_every: usize,
    /// Skip the baselines (no-op HTTP handler, signature verification alone).
    #[arg(long)]
    pub no_baseline: bool,
    /// The server's process id, to report its CPU time (with --server on this machine).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Batching of the in-process server (with --dir).
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Print the result as JSON (set from the global --json).
    #[arg(skip)]
    pub json: bool,
}

/// Result of `hotline bench submit`.
#[derive(Serialize, Debug)]
pub struct SubmitReport {
    /// `--server` URL, or `in-process` with --dir.
    pub server: String,
    /// Concurrent clients.
    pub clients: usize,
    /// Statements per run.
    pub statements: usize,
    /// Parties registered.
    pub parties: usize,
    /// Plaintext bytes per payload.
    pub payload_size: usize,
    /// Mean ciphertext bytes per payload.
    pub ciphertext_bytes: usize,
    /// Mean signed statement bytes.
    pub statement_bytes: usize,
    /// Mean request body bytes.
    pub body_bytes: usize,
    /// Every run, in order.
    pub runs: Vec<SubmitRun>,
    /// Median statements/s over the runs.
    pub median_statements_per_sec: f64,
    /// Median receipt latency p50 and p99 over the runs, ms.
    pub median_latency_ms: (f64, f64),
    /// Median requests/s of the no-op HTTP baseline, if measured.
    pub median_noop_http_per_sec: Option<f64>,
    /// Median Ed25519 verifications/s on all cores (the server's rule), if measured.
    pub median_verify_per_sec: Option<f64>,
}

/// One timed run.
#[derive(Serialize, Debug)]
pub struct SubmitRun {
    /// Seconds preparing (encrypting and signing) the statements, not timed.
    pub prepare_s: f64,
    /// Wall-clock seconds from the first request to the last receipt.
    pub seconds: f64,
    /// Statements accepted per second.
    pub statements_per_sec: f64,
    /// Receipt latency (request sent → receipt received), ms.
    pub latency_ms: Percentiles,
    /// Receipts verified (inclusion proof under a checkpoint signed by the log key).
    pub receipts_verified: usize,
    /// Statements the log grew by.
    pub appended: u64,
    /// CPU seconds of the client thread.
    pub client_cpu_s: Option<f64>,
    /// CPU seconds of the server (in-process: the process minus the client thread).
    pub server_cpu_s: Option<f64>,
    /// The sequencer's time (in-process only).
    pub sequencer: Option<SequencerTime>,
    /// Baselines measured just before this run.
    pub baseline: Option<Baseline>,
}

/// Baselines measured in the same invocation with the same statements.
#[derive(Serialize, Debug)]
pub struct Baseline {
    /// The same requests to a no-op handler (parses the JSON and the base64 payload, answers a
    /// canned receipt of the same size) served in this process: requests/s.
    pub noop_http_per_sec: f64,
    /// Its latency, ms.
    pub noop_http_latency_ms: Percentiles,
    /// Client CPU seconds during it.
    pub noop_client_cpu_s: Option<f64>,
    /// Strict Ed25519 verification of the statements' author signatures alone, one thread.
    pub verify_one_thread_per_sec: f64,
    /// The same on every core.
    pub verify_all_threads_per_sec: f64,
    /// Signatures verified (a sample of the run's statements).
    pub verified: usize,
}

/// A registered party of the benchmark.
pub(crate) struct BenchParty {
    id: PartyId,
    keys: PartyKeys,
    recipient: AgeRecipient,
    auth: HeaderValue,
}

/// A prepared request.
struct Prepared {
    body: Bytes,
    id: Hash,
}

/// The statements of one client (which signs as party `client % parties`) and what it sends.
pub(crate) struct ClientWork {
    client: usize,
    requests: Vec<Prepared>,
}

/// Where the server is.
struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    operator_token: String,
    url: String,
    in_process: Option<InProcess>,
}

/// A hotline served by this process (--dir).
struct InProcess {
    sequencer: hotline_store::sequencer::SequencerHandle,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl InProcess {
    fn stop(&mut self) -> Result<()> {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        match self.thread.take() {
            Some(t) => t
                .join()
                .map_err(|_| anyhow!("the in-process server panicked"))?,
            None => Ok(()),
        }
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Runs the benchmark and prints its report.
pub fn run_and_print(args: &BenchSubmitArgs) -> Result<()> {
    let report = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

/// Runs the benchmark.
pub fn run(args: &BenchSubmitArgs) -> Result<SubmitReport> {
    if args.parties < 2 {
        bail!("--parties must be at least 2: statements go from one party to another");
    }
    if args.clients == 0 || args.statements < args.clients {
        bail!("--clients must be at least 1 and --statements at least --clients");
    }
    if args.payload_size > hotline_crypto::MAX_PAYLOAD_SIZE {
        bail!(
            "--payload-size must be at most {} bytes",
            hotline_crypto::MAX_PAYLOAD_SIZE
        );
    }
    let mut target = connect_target(args)?;
    let api = ApiClient::new(&target.url, Some(target.operator_token.clone()))?;
    let info = api.hotline()?;
    let log_key = Ed25519Verifier::from_vkey(&info.log_vkey)
        .map_err(|e| anyhow!("the hotline's log key: {e}"))?;
    let parties = register_parties(&api, &info, args.parties)?;
    let policy = DeadlinePolicy {
        emergency: (info.policy.emergency[0], info.policy.emergency[1]),
        urgent: (info.policy.urgent[0], info.policy.urgent[1]),
        routine: (info.policy.routine[0], info.policy.routine[1]),
    };
    let progress = !args.json;
    let mut runs = Vec::new();
    let mut sizes = (0, 0, 0);
    for r in 0..args.runs.max(1) {
        let t = Instant::now();
        let (work, sample, s) = prepare(args, &info.origin, &policy, &parties)?;
        sizes = s;
        let prepare_s = t.elapsed().as_secs_f64();
        if progress {
            eprintln!(
                "run {}/{}: prepared {} statements in {prepare_s:.1} s",
                r + 1,
                args.runs.max(1),
                args.statements
            );
        }
        let baseline = if args.no_baseline {
            None
        } else {
            let b = baseline(&work, &sample, &parties)?;
            if progress {
                eprintln!(
                    "  baseline: no-op HTTP {:.0} requests/s (p99 {:.1} ms); Ed25519 \
                     alone {:.0}/s on one thread, {:.0}/s on all",
                    b.noop_http_per_sec,
                    b.noop_http_latency_ms.p99,
                    b.verify_one_thread_per_sec,
                    b.verify_all_threads_per_sec
                );
            }
            Some(b)
        };
        let before_size = api.hotline()?.size;
        let seq_before = target
            .in_process
            .as_ref()
            .map(|p| p.sequencer.stats().snapshot());
        let server_cpu_before = server_cpu(&target, args);
        let driven = drive_to(
            target.addr,
            &target.host,
            &parties,
            &work,
            Some(args.verify_every.max(1)),
        )?;
        let server_cpu_after = server_cpu(&target, args);
        let seq_after = target
            .in_process
            .as_ref()
            .map(|p| p.sequencer.stats().snapshot());
        if let Some(e) = &driven.first_error {
            bail!(
                "{} of {} statements were refused; the first: {e}",
                driven.errors,
                args.statements
            );
        }
        let appended = api.hotline()?.size - before_size;
        let receipts_verified = verify_receipts(&driven.kept, &info.origin, &log_key)?;
        if appended != args.statements as u64 {
            bail!(
                "the log grew by {appended} statements, {} were sent (is someone else writing \
                 to this hotline?)",
                args.statements
            );
        }
        let seconds = driven.seconds.max(f64::EPSILON);
        let client_cpu = driven.client_cpu_s;
        let server_cpu_s = match (server_cpu_before, server_cpu_after) {
            (Some(a), Some(b)) => {
                let total = b - a;
                // In-process: the process's time includes the client thread's.
                Some(if target.in_process.is_some() {
                    total - client_cpu.unwrap_or(0.0)
                } else {
                    total
                })
            }
            _ => None,
        };
        let run = SubmitRun {
            prepare_s,
            seconds,
            statements_per_sec: args.statements as f64 / seconds,
            latency_ms: Percentiles::from_micros(driven.latencies),
            receipts_verified,
            appended,
            client_cpu_s: client_cpu,
            server_cpu_s,
            sequencer: match (seq_before, seq_after) {
                (Some(a), Some(b)) => Some(SequencerTime {
                    batches: b.batches - a.batches,
                    integrate_s: b.integrate_s - a.integrate_s,
                    commit_s: b.commit_s - a.commit_s,
                    sync_s: b.sync_s - a.sync_s,
                    handoff_wait_s: b.handoff_wait_s - a.handoff_wait_s,
                }),
                _ => None,
            },
            baseline,
        };
        if progress {
            eprintln!(
                "  hotline: {:.0} statements/s; receipt p50 {:.1} ms, p99 {:.1} ms",
                run.statements_per_sec, run.latency_ms.p50, run.latency_ms.p99
            );
        }
        runs.push(run);
    }
    if let Some(p) = target.in_process.as_mut() {
        p.stop()?;
    }
    let baselines: Vec<&Baseline> = runs.iter().filter_map(|r| r.baseline.as_ref()).collect();
    let (noop, verify) = if baselines.is_empty() {
        (None, None)
    } else {
        (
            Some(median(
                baselines.iter().map(|b| b.noop_http_per_sec).collect(),
            )),
            Some(median(
                baselines
                    .iter()
                    .map(|b| b.verify_all_threads_per_sec)
                    .collect(),
            )),
        )
    };
    Ok(SubmitReport {
        server: if target.in_process.is_some() {
            "in-process".to_owned()
        } else {
            target.url.clone()
        },
        clients: args.clients,
        statements: args.statements,
        parties: args.parties,
        payload_size: args.payload_size,
        ciphertext_bytes: sizes.0,
        statement_bytes: sizes.1,
        body_bytes: sizes.2,
        median_statements_per_sec: median(runs.iter().map(|r| r.statements_per_sec).collect()),
        median_latency_ms: (
            median(runs.iter().map(|r| r.latency_ms.p50).collect()),
            median(runs.iter().map(|r| r.latency_ms.p99).collect()),
        ),
        median_noop_http_per_sec: noop,
        median_verify_per_sec: verify,
        runs,
    })
}

/// Prints a report for people.
pub fn print_report(r: &SubmitReport) {
    println!(
        "{} statements × {} runs from {} clients as {} parties to {}; payload {} bytes \
         (ciphertext {} bytes), statement {} bytes, request body {} bytes",
        r.statements,
        r.runs.len(),
        r.clients,
        r.parties,
        r.server,
        r.payload_size,
        r.ciphertext_bytes,
        r.statement_bytes,
        r.body_bytes
    );
    for (i, run) in r.runs.iter().enumerate() {
        let cpu = |c: Option<f64>| {
            c.map_or("?".to_owned(), |c| {
                format!("{:.1} µs", c * 1e6 / r.statements as f64)
            })
        };
        println!(
            "run {}: {:.0} statements/s ({:.2} s); receipt p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} \
             ms, max {:.2} ms; CPU per statement: client {}, server {}; {} receipts verified",
            i + 1,
            run.statements_per_sec,
            run.seconds,
            run.latency_ms.p50,
            run.latency_ms.p90,
            run.latency_ms.p99,
            run.latency_ms.max,
            cpu(run.client_cpu_s),
            cpu(run.server_cpu_s),
            run.receipts_verified
        );
        if let Some(s) = &run.sequencer {
            println!(
                "  sequencer: {} batches (mean {:.0} statements); integrating {:.2} s, writing \
                 {:.2} s, syncing {:.2} s",
                s.batches,
                r.statements as f64 / s.batches.max(1) as f64,
                s.integrate_s,
                s.commit_s,
                s.sync_s
            );
        }
        if let Some(b) = &run.baseline {
            println!(
                "  baseline: no-op HTTP {:.0} requests/s (p50 {:.2} ms, p99 {:.2} ms); \
                 Ed25519 alone {:.0}/s on one thread, {:.0}/s on all",
                b.noop_http_per_sec,
                b.noop_http_latency_ms.p50,
                b.noop_http_latency_ms.p99,
                b.verify_one_thread_per_sec,
                b.verify_all_threads_per_sec
            );
        }
    }
    println!(
        "median: {:.0} statements/s; receipt p50 {:.2} ms, p99 {:.2} ms",
        r.median_statements_per_sec, r.median_latency_ms.0, r.median_latency_ms.1
    );
    if let (Some(n), Some(v)) = (r.median_noop_http_per_sec, r.median_verify_per_sec) {
        println!(
            "median baselines: no-op HTTP {n:.0} requests/s; Ed25519 verification alone \
             {v:.0}/s on all cores"
        );
    }
}

fn connect_target(args: &BenchSubmitArgs) -> Result<Target> {
    match (&args.server, &args.dir) {
        (Some(url), _) => {
            let file = args
                .operator_token_file
                .as_ref()
                .ok_or_else(|| anyhow!("--server needs --operator-token-file"))?;
            let token = hotline_crypto::read_secret(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let uri: Uri = url
                .parse()
                .with_context(|| format!("--server {url:?} is not a URL"))?;
            if uri.scheme_str() != Some("http") {
                bail!("--server must be an http:// URL (the benchmark speaks plain HTTP/1.1)");
            }
            let authority = uri
                .authority()
                .ok_or_else(|| anyhow!("--server {url:?} names no host"))?;
            let port = authority.port_u16().unwrap_or(80);
            let addr = (authority.host(), port)
                .to_socket_addrs()
                .with_context(|| format!("resolving {}", authority.host()))?
                .next()
                .ok_or_else(|| anyhow!("{} resolves to no address", authority.host()))?;
            Ok(Target {
                addr,
                host: HeaderValue::from_str(authority.as_str())?,
                operator_token: token.to_string(),
                url: url.trim_end_matches('/').to_owned(),
                in_process: None,
            })
        }
        (None, Some(dir)) => serve_in_process(dir, args),
        (None, None) => bail!("give --server URL (with --operator-token-file) or --dir DIR"),
    }
}

/// Serves `dir` (a new hotline if it holds none) on a loopback port in a thread of its own,
/// with its own runtime, as `hotline serve` would.
fn serve_in_process(dir: &std::path::Path, args: &BenchSubmitArgs) -> Result<Target> {
    let d = DataDir::new(dir);
    if !d.is_hotline() {
        if d.is_initialised() {
            bail!(
                "{} holds a bare log, not a hotline: give a fresh directory",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        crate::admin::init_hotline(
            &d,
            "bench.hotline.invalid/log",
            &crate::admin::OperatorArgs {
                name: "hotline operator".into(),
                jurisdiction: "CH".into(),
                contact: "operator@hotline.invalid".into(),
                deadlines: None,
            },
        )?;
    }
    let token = hotline_crypto::read_secret(&dir.join(datadir::OPERATOR_TOKEN))?.to_string();
    let log = OpenLog::open(&d, args.batch.config())?;
    let sequencer = log.sequencer.clone();
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
    let mut in_process = InProcess {
        sequencer,
        stop: Some(stop_tx),
        thread: Some(thread),
    };
    let addr = match ready_rx.recv_timeout(Duration::from_secs(60)) {
        Ok(a) => a,
        Err(_) => {
            in_process.stop()?;
            bail!("the in-process server did not start");
        }
    };
    Ok(Target {
        addr,
        host: HeaderValue::from_str(&addr.to_string())?,
        operator_token: token,
        url: format!("http://{addr}"),
        in_process: Some(in_process),
    })
}

/// Registers `n` fresh parties (keys made here) through the API as the operator.
pub(crate) fn register_parties(
    api: &ApiClient,
    info: &HotlineDto,
    n: usize,
) -> Result<Vec<BenchParty>> {
    let tag: u32 = rand::random::<u32>() & 0xff_ffff;
    (0..n)
        .map(|i| {
            let id = format!("bench-{tag:06x}-{i}");
            let keys = PartyKeys::generate(&id)?;
            let party = PartyId::new(&id).map_err(|e| anyhow!("{e}"))?;
            let mut st = Statement::new(
                &info.origin,
                Kind::PartyRegistered,
                PartyId::operator(),
                Timestamp::now(),
            );
            st.party = Some(party.clone());
            st.party_fields = PartyFields {
                name: Some(format!("Benchmark party {i}")),
                jurisdiction: Some("CH".into()),
                kind: Some(PartyKind::Other),
                key: Some(keys.verifier().to_vkey()),
                recipients: vec![keys.recipient().to_string()],
                contact: Some("bench@hotline.invalid".into()),
            };
            let signed = SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner])?;
            let registered = api
                .register(&signed.bytes)
                .with_context(|| format!("registering {id}"))?;
            Ok(BenchParty {
                id: party,
                recipient: keys.recipient(),
                auth: HeaderValue::from_str(&format!("Bearer {}", registered.token))?,
                keys,
            })
        })
        .collect()
}

/// A signed statement kept for the verification baseline, with its author's party index.
pub(crate) type SampleStatement = (usize, SignedStatement);
/// Summed sizes in bytes: (ciphertexts, statements, request bodies).
pub(crate) type Sizes = (usize, usize, usize);
/// One client's prepared requests, its baseline sample and its summed sizes.
type PreparedClient = (ClientWork, Vec<SampleStatement>, Sizes);

/// Encrypts, signs and serialises one run's statements, spread over the clients; also returns
/// a sample of the signed statements (for the verification baseline) and mean sizes
/// (ciphertext, statement, body).
pub(crate) fn prepare(
    args: &BenchSubmitArgs,
    origin: &str,
    policy: &DeadlinePolicy,
    parties: &[BenchParty],
) -> Result<(Vec<ClientWork>, Vec<SampleStatement>, Sizes)> {
    let clients = args.clients;
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let per_client =
        |c: usize| args.statements / clients + usize::from(c < args.statements % clients);
    // A few hundred signed statements per client for the verification baseline.
    let sample_per_client = (20_000 / clients).max(1);
    let now = Timestamp::now();
    let filler = "x".repeat(args.payload_size);
    let results: Vec<Result<PreparedClient>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let filler = &filler;
                s.spawn(move || {
                    (t..clients)
                        .step_by(threads)
                        .map(|c| {
                            prepare_client(
                                c,
                                per_client(c),
                                sample_per_client,
                                origin,
                                policy,
                                parties,
                                filler,
                                args.payload_size,
                                now,
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut out: Vec<_> = handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|_| vec![Err(anyhow!("a preparing thread panicked"))])
            })
            .collect();
        // Threads took clients t, t + threads, …: put them back in client order.
        out.sort_by_key(|r| r.as_ref().map_or(0, |(w, _, _)| w.client));
        out
    });
    let mut work = Vec::with_capacity(clients);
    let mut sample = Vec::new();
    let mut totals = (0usize, 0usize, 0usize);
    for r in results {
        let (w, s, sz) = r?;
        totals = (totals.0 + sz.0, totals.1 + sz.1, totals.2 + sz.2);
        work.push(w);
        sample.extend(s);
    }
    let n = args.statements.max(1);
    Ok((work, sample, (totals.0 / n, totals.1 / n, totals.2 / n)))
}

#[allow(clippy::too_many_arguments)]
fn prepare_client(
    client: usize,
    count: usize,
    sample: usize,
    origin: &str,
    policy: &DeadlinePolicy,
    parties: &[BenchParty],
    filler: &str,
    payload_size: usize,
    now: Timestamp,
) -> Result<PreparedClient> {
    let p = parties.len();
    let author = &parties[client % p];
    let mut requests = Vec::with_capacity(count);
    let mut kept = Vec::new();
    let mut sizes = (0usize, 0usize, 0usize);
    for k in 0..count {
        let to = &parties[(client % p + 1 + k % (p - 1)) % p];
        let mut doc = CaseDocument::new("benchmark", "");
        // Pad the JSON plaintext to the requested size with the summary.
        let bare = doc.to_plaintext().len();
        doc.summary = filler[..payload_size.saturating_sub(bare).min(filler.len())].to_owned();
        let plaintext = doc.to_plaintext();
        let ciphertext = hotline_crypto::encrypt(
            &plaintext,
            &[to.recipient.clone(), author.recipient.clone()],
        )?;
        let kind = if k % 2 == 0 {
            Kind::Notice
        } else {
            Kind::Request
        };
        let mut st = Statement::new(origin, kind, author.id.clone(), now);
        st.case = Some(CaseId::generate(now));
        st.recipient = Some(to.id.clone());
        st.priority = Some(Priority::Routine);
        st.handling = Some(Handling::H2);
        st.tlp = Some(Tlp::Amber);
        if kind == Kind::Request {
            st.request_type = Some(RequestType::Preservation);
            let (ack, answer) = policy.deadlines(Priority::Routine, now);
            st.ack_by = Some(ack);
            st.answer_by = Some(answer);
        }
        st.payload = Some(PayloadCommitment {
            sha256: sha256(&ciphertext),
            size: ciphertext.len() as u64,
            plaintext_sha256: sha256(&plaintext),
        });
        let signed = SignedStatement::sign(st, &[author.keys.signer() as &dyn NoteSigner])?;
        let body = serde_json::to_vec(&SubmitDto {
            statement: String::from_utf8(signed.bytes.clone())?,
            payload: Some(B64.encode(&ciphertext)),
        })?;
        sizes = (
            sizes.0 + ciphertext.len(),
            sizes.1 + signed.bytes.len(),
            sizes.2 + body.len(),
        );
        requests.push(Prepared {
            body: Bytes::from(body),
            id: signed.id,
        });
        if k < sample {
            kept.push((client % p, signed));
        }
    }
    Ok((ClientWork { client, requests }, kept, sizes))
}

/// What the clients saw.
pub(crate) struct Driven {
    pub(crate) seconds: f64,
    pub(crate) latencies: Vec<u32>,
    pub(crate) errors: usize,
    pub(crate) first_error: Option<String>,
    /// (statement id, response body) of every `verify_every`-th request.
    pub(crate) kept: Vec<(Hash, Bytes)>,
    pub(crate) client_cpu_s: Option<f64>,
}

/// What one client saw.
#[derive(Default)]
struct ClientOutcome {
    latencies: Vec<u32>,
    errors: usize,
    first_error: Option<String>,
    kept: Vec<(Hash, Bytes)>,
}

/// Sends every client's requests over its own keep-alive connection, all clients on one thread
/// (a single-threaded runtime); the clock runs from the moment every connection is open until
/// the last receipt. `keep_every` keeps every Nth answer for checking.
fn drive_to(
    addr: SocketAddr,
    host: &HeaderValue,
    parties: &[BenchParty],
    work: &[ClientWork],
    keep_every: Option<usize>,
) -> Result<Driven> {
    drive_to_all(&[(addr, host.clone())], parties, work, keep_every)
}

/// [`drive_to`] several servers (frontends of one hotline): client `i` sends to `targets[i %
/// targets.len()]`.
pub(crate) fn drive_to_all(
    targets: &[(SocketAddr, HeaderValue)],
    parties: &[BenchParty],
    work: &[ClientWork],
    keep_every: Option<usize>,
) -> Result<Driven> {
    // Per client: its credential, its requests, and the server it sends them to.
    type Job = (HeaderValue, Vec<(Hash, Bytes)>, SocketAddr, HeaderValue);
    let jobs: Vec<Job> = work
        .iter()
        .map(|w| {
            let (addr, host) = targets[w.client % targets.len()].clone();
            (
                parties[w.client % parties.len()].auth.clone(),
                w.requests.iter().map(|r| (r.id, r.body.clone())).collect(),
                addr,
                host,
            )
        })
        .collect();
    std::thread::Builder::new()
        .name("bench-client".into())
        .spawn(move || -> Result<Driven> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the client runtime")?;
            rt.block_on(async move {
                let n = jobs.len();
                let start = Arc::new(tokio::sync::Barrier::new(n + 1));
                let mut tasks = Vec::with_capacity(n);
                for (auth, requests, addr, host) in jobs {
                    let start = start.clone();
                    tasks.push(tokio::spawn(async move {
                        client(addr, host, auth, requests, keep_every, start).await
                    }));
                }
                // Every connection is open: start the clock.
                start.wait().await;
                let cpu0 = thread_cpu_seconds();
                let t0 = Instant::now();
                let mut outcomes = Vec::with_capacity(n);
                for t in tasks {
                    outcomes.push(
                        t.await
                            .map_err(|e| anyhow!("a client task failed: {e}"))??,
                    );
                }
                let seconds = t0.elapsed().as_secs_f64();
                let cpu1 = thread_cpu_seconds();
                let mut d = Driven {
                    seconds,
                    latencies: Vec::new(),
                    errors: 0,
                    first_error: None,
                    kept: Vec::new(),
                    client_cpu_s: cpu0.zip(cpu1).map(|(a, b)| b - a),
                };
                for o in outcomes {
                    d.latencies.extend(o.latencies);
                    d.errors += o.errors;
                    if d.first_error.is_none() {
                        d.first_error = o.first_error;
                    }
                    d.kept.extend(o.kept);
                }
                Ok(d)
            })
        })
        .context("starting the client thread")?
        .join()
        .map_err(|_| anyhow!("the client thread panicked"))?
}

/// One client: a keep-alive HTTP/1.1 connection, one request in flight.
async fn client(
    addr: SocketAddr,
    host: HeaderValue,
    auth: HeaderValue,
    requests: Vec<(Hash, Bytes)>,
    keep_every: Option<usize>,
    start: Arc<tokio::sync::Barrier>,
) -> Result<ClientOutcome> {
    let connected = async {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = hyper::client::conn::http1::handshake::<_, Full<Bytes>>(
            hyper_util::rt::TokioIo::new(stream),
        )
        .await?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        anyhow::Ok(sender)
    }
    .await
    .with_context(|| format!("connecting to {addr}"));
    start.wait().await;
    let mut sender = connected?;
    let uri = Uri::from_static("/api/v1/statements");
    let json = HeaderValue::from_static("application/json");
    let mut out = ClientOutcome {
        latencies: Vec::with_capacity(requests.len()),
        ..ClientOutcome::default()
    };
    for (k, (id, body)) in requests.into_iter().enumerate() {
        let mut req = hyper::Request::new(Full::new(body));
        *req.method_mut() = Method::POST;
        *req.uri_mut() = uri.clone();
        let h = req.headers_mut();
        h.insert(header::HOST, host.clone());
        h.insert(header::AUTHORIZATION, auth.clone());
        h.insert(header::CONTENT_TYPE, json.clone());
        let t0 = Instant::now();
        sender.ready().await.context("the connection closed")?;
        let resp = sender
            .send_request(req)
            .await
            .context("sending a statement")?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .context("reading a receipt")?
            .to_bytes();
        out.latencies
            .push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
        if status != StatusCode::CREATED {
            out.errors += 1;
            if out.first_error.is_none() {
                out.first_error = Some(format!(
                    "{status}: {}",
                    String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                ));
            }
        } else if keep_every.is_some_and(|n| k % n.max(1) == 0) {
            out.kept.push((id, bytes));
        }
    }
    Ok(out)
}

/// Checks kept receipts: each proves its statement's inclusion under a checkpoint signed by
/// the log key.
pub(crate) fn verify_receipts(
    kept: &[(Hash, Bytes)],
    origin: &str,
    log_key: &Ed25519Verifier,
) -> Result<usize> {
    for (id, body) in kept {
        let r: ReceiptDto =
            serde_json::from_slice(body).context("the server's answer is not a receipt")?;
        if !r.new || r.id != id.to_base64() {
            bail!("receipt for {} is not the new statement sent", r.id);
        }
        let proof = TlogProof::parse(r.receipt.as_bytes())
            .map_err(|e| anyhow!("receipt {}: {e}", r.index))?;
        proof
            .verify(id, origin, &[log_key as &dyn NoteVerifier])
            .map_err(|e| anyhow!("receipt {} does not verify: {e}", r.index))?;
    }
    Ok(kept.len())
}

/// The baselines: the same requests to a no-op handler in this process, and signature
/// verification alone.
fn baseline(
    work: &[ClientWork],
    sample: &[(usize, SignedStatement)],
    parties: &[BenchParty],
) -> Result<Baseline> {
    let noop = noop_http(work, parties)?;
    let keys: Vec<Ed25519Verifier> = parties.iter().map(|p| p.keys.verifier()).collect();
    let verify_all = |threads: usize| -> Result<f64> {
        let t0 = Instant::now();
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let keys = &keys;
                    s.spawn(move || {
                        sample.iter().skip(t).step_by(threads).all(|(p, st)| {
                            hotline_core::hotline::verify_author_signature(st, &keys[*p]).is_ok()
                        })
                    })
                })
                .collect();
            for h in handles {
                if !h.join().unwrap_or(false) {
                    bail!("a prepared statement's signature does not verify");
                }
            }
            Ok(())
        })?;
        Ok(sample.len() as f64 / t0.elapsed().as_secs_f64().max(f64::EPSILON))
    };
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    Ok(Baseline {
        noop_http_per_sec: noop.0,
        noop_http_latency_ms: noop.1,
        noop_client_cpu_s: noop.2,
        verify_one_thread_per_sec: verify_all(1)?,
        verify_all_threads_per_sec: verify_all(threads)?,
        verified: sample.len(),
    })
}

/// The same requests, from the same client, to a handler that parses them (JSON, base64 of the
/// payload, bearer token hash) and answers a canned receipt of realistic size, served by axum
/// on its own multi-threaded runtime in this process: what HTTP costs without the hotline.
fn noop_http(
    work: &[ClientWork],
    parties: &[BenchParty],
) -> Result<(f64, Percentiles, Option<f64>)> {
    let rt = tokio::runtime::Runtime::new().context("starting the baseline server's runtime")?;
    let listener = rt
        .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
            [127, 0, 0, 1],
            0,
        ))))
        .context("listening for the baseline")?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route("/api/v1/statements", axum::routing::post(noop_submit));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop_rx.await;
            })
            .await
    });
    let host = HeaderValue::from_str(&addr.to_string())?;
    let driven = drive_to(addr, &host, parties, work, None);
    let _ = stop_tx.send(());
    let _ = rt.block_on(server);
    rt.shutdown_timeout(Duration::from_secs(5));
    let d = driven?;
    if let Some(e) = d.first_error {
        bail!("the no-op baseline refused a request: {e}");
    }
    let n = d.latencies.len() as f64;
    Ok((
        n / d.seconds.max(f64::EPSILON),
        Percentiles::from_micros(d.latencies),
        d.client_cpu_s,
    ))
}

async fn noop_submit(
    headers: HeaderMap,
    body: Result<Json<SubmitDto>, JsonRejection>,
) -> axum::response::Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return StatusCode::UNAUTHORIZED.into_response();
    };
    let token_hash = hotline_crypto::hash_token(token.trim());
    let Ok(Json(body)) = body else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    let payload = body.payload.map(|p| B64.decode(p.trim()));
    if matches!(payload, Some(Err(_))) {
        return StatusCode::BAD_REQUEST.into_response();
    }
    // A receipt as long as a real one: 17 proof hashes and a signed checkpoint.
    let h = Hash(token_hash).to_base64();
    let mut receipt = String::from("c2sp.org/tlog-proof@v1\nindex 123456\n");
    for _ in 0..17 {
        receipt.push_str(&h);
        receipt.push('\n');
    }
    receipt.push_str("\nbench.hotline.invalid/log\n123457\n");
    receipt.push_str(&h);
    receipt.push_str("\n\n— bench.hotline.invalid/log AAAAAA");
    receipt.push_str(&"A".repeat(88));
    receipt.push('\n');
    (
        StatusCode::CREATED,
        Json(ReceiptDto {
            id: h.clone(),
            id_hex: Hash(token_hash).to_hex(),
            index: 123_456,
            new: true,
            case: Some("20250101-0123456789ab".into()),
            receipt,
        }),
    )
        .into_response()
}

/// CPU seconds (user + system) of the calling thread, from /proc.
fn thread_cpu_seconds() -> Option<f64> {
    proc_cpu_seconds("/proc/thread-self/stat")
}

/// CPU seconds (user + system) of a process or thread from its /proc stat file (clock ticks
/// of 1/100 s, as on every Linux configuration we run on).
pub(crate) fn proc_cpu_seconds(path: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(path).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// The server's CPU seconds so far: this process (--dir) or `--server-pid`.
fn server_cpu(target: &Target, args: &BenchSubmitArgs) -> Option<f64> {
    if target.in_process.is_some() {
        proc_cpu_seconds("/proc/self/stat")
    } else {
        args.server_pid
            .and_then(|pid| proc_cpu_seconds(&format!("/proc/{pid}/stat")))
    }
}
