//! `hotline bench frontends`: the same signed, encrypted statements over HTTP (as `hotline
//! bench submit` sends them) to a hotline on SQLite, on PostgreSQL with one frontend, and on
//! PostgreSQL with several frontends, alternated within one invocation so that the three are
//! measured on the same machine in the same state.
//!
//! Every configuration runs as `hotline serve` processes (this executable), started for each
//! run and stopped after it (SIGTERM: a sequencing frontend releases its lease on the way
//! out): `DIR/sqlite` alone; `DIR/pg-0` alone; `DIR/pg-0` … `DIR/pg-N-1`, copies of one data
//! directory whose log is in the PostgreSQL database given. With several frontends the clients
//! are spread over all of them, so most statements reach a frontend that does not sequence and
//! is forwarded (one more HTTP hop, and the forwarding frontend answers once it has followed
//! the log that far). Each run registers fresh parties, prepares its statements before the clock
//! (encrypting and signing are the clients' work), then times `--clients` keep-alive
//! connections sending one statement at a time; every answer must be `201 Created`, every
//! `--verify-every`-th receipt is verified, and the log must have grown by exactly the number
//! sent. The order of the configurations rotates from run to run; medians are reported, with
//! the ratio to SQLite's median.

use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use axum::http::HeaderValue;
use hotline_core::DeadlinePolicy;
use serde::Serialize;

use crate::bench::{Percentiles, median};
use crate::bench_submit::{self, BenchSubmitArgs};
use crate::client::ApiClient;
use crate::datadir::{self, DataDir};
use crate::serve::BatchArgs;

/// Options of `hotline bench frontends`.
#[derive(clap::Args, Debug)]
pub struct BenchFrontendsArgs {
    /// An empty PostgreSQL database, or schema (`?options=-csearch_path%3DNAME`), for the
    /// hotline measured on PostgreSQL.
    #[arg(long)]
    pub database: String,
    /// Working directory for the data directories (created; must not hold a hotline).
    /// Default: a temporary directory, removed afterwards.
    #[arg(long)]
    pub work: Option<PathBuf>,
    /// Frontends of the several-frontend configuration.
    #[arg(long, default_value_t = 3)]
    pub frontends: usize,
    /// Concurrent clients, each with its own keep-alive connection and one request in flight.
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Statements per run.
    #[arg(long, default_value_t = 20_000)]
    pub statements: usize,
    /// Parties registered per run.
    #[arg(long, default_value_t = 16)]
    pub parties: usize,
    /// Plaintext bytes of each statement's case document.
    #[arg(long, default_value_t = 1024)]
    pub payload_size: usize,
    /// Runs of each configuration.
    #[arg(long, default_value_t = 3)]
    pub runs: usize,
    /// Verify every Nth receipt after the clock.
    #[arg(long, default_value_t = 64)]
    pub verify_every: usize,
    /// Print the result as JSON (set from the global --json).
    #[arg(skip)]
    pub json: bool,
}

/// One configuration's runs.
#[derive(Serialize, Debug)]
pub struct ConfigReport {
    /// `sqlite`, `postgres×1`, `postgres×N`.
    pub config: String,
    /// Frontends the clients were spread over.
    pub frontends: usize,
    /// Every run, in order.
    pub runs: Vec<ConfigRun>,
    /// Median statements/s.
    pub median_statements_per_sec: f64,
    /// Median receipt latency p50, p99 (ms).
    pub median_latency_ms: (f64, f64),
    /// Median CPU of all hotline processes per statement (µs).
    pub median_cpu_us_per_statement: Option<f64>,
    /// Median CPU of the sequencing frontend per statement (µs).
    pub median_sequencer_cpu_us_per_statement: Option<f64>,
    /// Median statements/s over SQLite's.
    pub ratio_to_sqlite: f64,
}

/// One timed run of one configuration.
#[derive(Serialize, Debug)]
pub struct ConfigRun {
    /// Statements accepted per second.
    pub statements_per_sec: f64,
    /// Receipt latency, ms.
    pub latency_ms: Percentiles,
    /// CPU seconds of every hotline process of the configuration during the run.
    pub server_cpu_s: Option<f64>,
    /// Of which the sequencing frontend's.
    pub sequencer_cpu_s: Option<f64>,
    /// Receipts verified.
    pub receipts_verified: usize,
}

/// Result of `hotline bench frontends`.
#[derive(Serialize, Debug)]
pub struct FrontendsReport {
    /// Statements per run.
    pub statements: usize,
    /// Clients.
    pub clients: usize,
    /// Payload plaintext bytes.
    pub payload_size: usize,
    /// The configurations, SQLite first.
    pub configs: Vec<ConfigReport>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Config {
    Sqlite,
    Postgres(usize),
}

impl Config {
    fn name(self) -> String {
        match self {
            Config::Sqlite => "sqlite".into(),
            Config::Postgres(n) => format!("postgres×{n}"),
        }
    }
}

/// A `hotline serve` process of the benchmark, stopped (SIGTERM, then SIGKILL) when dropped.
struct Server {
    child: Child,
    addr: SocketAddr,
    url: String,
}

impl Server {
    fn start(dir: &Path) -> Result<Server> {
        let exe = std::env::current_exe().context("finding this executable")?;
        let mut child = Command::new(exe)
            .arg("serve")
            .arg("--dir")
            .arg(dir)
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting hotline serve")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
        let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        let (etx, erx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = etx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
                let sock = addr
                    .to_socket_addrs()?
                    .next()
                    .ok_or_else(|| anyhow!("hotline serve announced {addr}"))?;
                return Ok(Server {
                    child,
                    addr: sock,
                    url: format!("http://{addr}"),
                });
            }
            if let Some(status) = child.try_wait()? {
                let err: Vec<String> = erx.try_iter().collect();
                bail!(
                    "hotline serve --dir {} exited with {status}: {}",
                    dir.display(),
                    err.join("\n")
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "hotline serve --dir {} did not start in 120 s",
                    dir.display()
                );
            }
        }
    }

    fn cpu_seconds(&self) -> Option<f64> {
        bench_submit::proc_cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    fn health(&self) -> String {
        reqwest::blocking::Client::new()
            .get(format!("{}/healthz", self.url))
            .timeout(Duration::from_secs(5))
            .send()
            .and_then(|r| r.text())
            .unwrap_or_default()
    }

    /// SIGTERM, then up to 30 s for it to exit.
    fn stop(mut self) -> Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        bail!("hotline serve did not stop within 30 s of SIGTERM")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the benchmark and prints its report.
pub fn run_and_print(args: &BenchFrontendsArgs) -> Result<()> {
    let report = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report);
    }
    Ok(())
}

fn operator_args() -> crate::admin::OperatorArgs {
    crate::admin::OperatorArgs {
        name: "hotline operator".into(),
        jurisdiction: "CH".into(),
        contact: "operator@hotline.invalid".into(),
        deadlines: None,
    }
}

/// Removes a temporary working directory when dropped.
struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the benchmark.
pub fn run(args: &BenchFrontendsArgs) -> Result<FrontendsReport> {
    if args.frontends < 2 {
        bail!("--frontends must be at least 2 (one frontend is measured anyway)");
    }
    if args.parties < 2 || args.clients == 0 || args.statements < args.clients {
        bail!(
            "--parties must be at least 2, --clients at least 1 and --statements at least \
             --clients"
        );
    }
    let _cleanup;
    let work = match &args.work {
        Some(w) => w.clone(),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "hotline-bench-frontends-{}-{:08x}",
                std::process::id(),
                rand::random::<u32>()
            ));
            _cleanup = RemoveOnDrop(dir.clone());
            dir
        }
    };
    let progress = !args.json;
    let origin = "bench.hotline.invalid/log";
    let sqlite = work.join("sqlite");
    crate::admin::init_hotline(&DataDir::new(&sqlite), origin, &operator_args())
        .with_context(|| format!("creating the SQLite hotline in {}", sqlite.display()))?;
    let pg = work.join("pg");
    crate::admin::init_hotline(
        &DataDir::new(&pg).with_database(Some(args.database.clone())),
        origin,
        &operator_args(),
    )
    .context("creating the PostgreSQL hotline (the database or schema must hold none)")?;
    let pg_dirs: Vec<PathBuf> = (0..args.frontends)
        .map(|i| work.join(format!("pg-{i}")))
        .collect();
    for d in &pg_dirs {
        copy_files(&pg, d)?;
    }
    let configs = [
        Config::Sqlite,
        Config::Postgres(1),
        Config::Postgres(args.frontends),
    ];
    let submit = BenchSubmitArgs {
        server: None,
        operator_token_file: None,
        dir: None,
        clients: args.clients,
        statements: args.statements,
        parties: args.parties,
        payload_size: args.payload_size,
        runs: 1,
        verify_every: args.verify_every,
        no_baseline: true,
        server_pid: None,
        batch: BatchArgs {
            batch_size: 4096,
            batch_age_ms: 50,
            batch_linger_us: 1000,
        },
        json: false,
    };
    let mut results: Vec<Vec<ConfigRun>> = configs.iter().map(|_| Vec::new()).collect();
    for run in 0..args.runs.max(1) {
        for k in 0..configs.len() {
            let c = (k + run) % configs.len();
            let config = configs[c];
            let dirs: Vec<&Path> = match config {
                Config::Sqlite => vec![sqlite.as_path()],
                Config::Postgres(n) => pg_dirs[..n].iter().map(PathBuf::as_path).collect(),
            };
            let r = run_config(&submit, &dirs, &sqlite, &pg)
                .with_context(|| format!("run {} of {}", run + 1, config.name()))?;
            if progress {
                eprintln!(
                    "run {}/{} {:<12} {:>7.0} statements/s; receipt p50 {:.2} ms, p99 {:.2} ms",
                    run + 1,
                    args.runs.max(1),
                    config.name(),
                    r.statements_per_sec,
                    r.latency_ms.p50,
                    r.latency_ms.p99
                );
            }
            results[c].push(r);
        }
    }
    let sqlite_median = median(results[0].iter().map(|r| r.statements_per_sec).collect());
    let configs = configs
        .iter()
        .zip(results)
        .map(|(c, runs)| {
            let m = median(runs.iter().map(|r| r.statements_per_sec).collect());
            let cpu: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.server_cpu_s)
                .map(|s| s * 1e6 / args.statements as f64)
                .collect();
            let seq_cpu: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.sequencer_cpu_s)
                .map(|s| s * 1e6 / args.statements as f64)
                .collect();
            ConfigReport {
                median_sequencer_cpu_us_per_statement: (!seq_cpu.is_empty())
                    .then(|| median(seq_cpu)),
                config: c.name(),
                frontends: match c {
                    Config::Sqlite => 1,
                    Config::Postgres(n) => *n,
                },
                median_statements_per_sec: m,
                median_latency_ms: (
                    median(runs.iter().map(|r| r.latency_ms.p50).collect()),
                    median(runs.iter().map(|r| r.latency_ms.p99).collect()),
                ),
                median_cpu_us_per_statement: (!cpu.is_empty()).then(|| median(cpu)),
                ratio_to_sqlite: m / sqlite_median.max(f64::EPSILON),
                runs,
            }
        })
        .collect();
    Ok(FrontendsReport {
        statements: args.statements,
        clients: args.clients,
        payload_size: args.payload_size,
        configs,
    })
}

/// Copies the files of a data directory (keys, the database URL) to a new one, private.
fn copy_files(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        if e.file_type()?.is_file() {
            let dst = to.join(e.file_name());
            std::fs::copy(e.path(), &dst)
                .with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// Starts the configuration's servers, times one run, stops them.
fn run_config(
    submit: &BenchSubmitArgs,
    dirs: &[&Path],
    sqlite: &Path,
    pg: &Path,
) -> Result<ConfigRun> {
    let mut servers = Vec::new();
    for d in dirs {
        servers.push(Server::start(d)?);
    }
    let several = dirs.len() > 1;
    // Registrations go to the frontend that sequences; with several, wait until all follow it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let sequencer = loop {
        if let Some(i) = servers
            .iter()
            .position(|s| !several || s.health().contains(" sequences the log"))
        {
            let others_follow = servers
                .iter()
                .enumerate()
                .all(|(j, s)| j == i || s.health().contains(" follows the log"));
            if others_follow {
                break i;
            }
        }
        if Instant::now() > deadline {
            bail!("the frontends did not settle (one sequencing, the others following) in 30 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let token_dir = if dirs[0] == sqlite { sqlite } else { pg };
    let token = hotline_crypto::read_secret(&token_dir.join(datadir::OPERATOR_TOKEN))?.to_string();
    let api = ApiClient::new(&servers[sequencer].url, Some(token))?;
    let info = api.hotline()?;
    let log_key = hotline_tlog::Ed25519Verifier::from_vkey(&info.log_vkey)
        .map_err(|e| anyhow!("the hotline's log key: {e}"))?;
    let parties = bench_submit::register_parties(&api, &info, submit.parties)?;
    // Every frontend knows the new parties before the clock starts.
    let registered = api.hotline()?.size;
    for s in &servers {
        let api = ApiClient::new(&s.url, None)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while api.hotline()?.size < registered {
            if Instant::now() > deadline {
                bail!("{} did not follow the registrations", s.url);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    let policy = DeadlinePolicy {
        emergency: (info.policy.emergency[0], info.policy.emergency[1]),
        urgent: (info.policy.urgent[0], info.policy.urgent[1]),
        routine: (info.policy.routine[0], info.policy.routine[1]),
    };
    let (work, _, _) = bench_submit::prepare(submit, &info.origin, &policy, &parties)?;
    let targets: Vec<(SocketAddr, HeaderValue)> = servers
        .iter()
        .map(|s| Ok((s.addr, HeaderValue::from_str(&s.addr.to_string())?)))
        .collect::<Result<_>>()?;
    let before = api.hotline()?.size;
    let cpu = |servers: &[Server]| -> Option<f64> { servers.iter().map(Server::cpu_seconds).sum() };
    let cpu_before = cpu(&servers);
    let seq_before = servers[sequencer].cpu_seconds();
    let driven =
        bench_submit::drive_to_all(&targets, &parties, &work, Some(submit.verify_every.max(1)))?;
    let cpu_after = cpu(&servers);
    let seq_after = servers[sequencer].cpu_seconds();
    if let Some(e) = &driven.first_error {
        bail!(
            "{} of {} statements were refused; the first: {e}",
            driven.errors,
            submit.statements
        );
    }
    let appended = api.hotline()?.size - before;
    if appended != submit.statements as u64 {
        bail!(
            "the log grew by {appended} statements, {} were sent",
            submit.statements
        );
    }
    let receipts_verified = bench_submit::verify_receipts(&driven.kept, &info.origin, &log_key)?;
    for s in servers {
        s.stop()?;
    }
    let seconds = driven.seconds.max(f64::EPSILON);
    Ok(ConfigRun {
        statements_per_sec: submit.statements as f64 / seconds,
        latency_ms: Percentiles::from_micros(driven.latencies),
        server_cpu_s: cpu_before.zip(cpu_after).map(|(a, b)| b - a),
        sequencer_cpu_s: seq_before.zip(seq_after).map(|(a, b)| b - a),
        receipts_verified,
    })
}

/// Prints the comparison for people.
pub fn print_report(r: &FrontendsReport) {
    println!(
        "{} statements per run from {} clients, payload {} bytes; hotline serve processes on \
         this machine",
        r.statements, r.clients, r.payload_size
    );
    println!(
        "{:<12} {:>36} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "config",
        "runs (statements/s)",
        "median",
        "p50 ms",
        "p99 ms",
        "CPU/stmt",
        "of which",
        "vs SQLite"
    );
    println!(
        "{:<12} {:>36} {:>9} {:>9} {:>9} {:>10} {:>10} {:>9}",
        "", "", "", "", "", "all", "sequencer", ""
    );
    for c in &r.configs {
        let runs: Vec<String> = c
            .runs
            .iter()
            .map(|x| format!("{:.0}", x.statements_per_sec))
            .collect();
        let us = |u: Option<f64>| u.map_or("?".to_owned(), |u| format!("{u:.0} µs"));
        println!(
            "{:<12} {:>36} {:>9.0} {:>9.2} {:>9.2} {:>10} {:>10} {:>9.2}",
            c.config,
            runs.join(", "),
            c.median_statements_per_sec,
            c.median_latency_ms.0,
            c.median_latency_ms.1,
            us(c.median_cpu_us_per_statement),
            us(c.median_sequencer_cpu_us_per_statement),
            c.ratio_to_sqlite
        );
    }
}
