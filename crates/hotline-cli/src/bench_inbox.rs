//! `hotline bench inbox`: how fast the officer console's inbox page renders with many cases.
//!
//! 1. *Setup*: a fresh hotline served by this process on a loopback port (as `hotline serve`),
//!    two parties registered through the API, and `--cases` requests from one to the other —
//!    each signed and its payload encrypted here, submitted over HTTP from a few threads.
//! 2. *Server side*, timed over HTTP on loopback with one keep-alive connection: the data the
//!    inbox page loads (`GET /api/v1/inbox?role=responder&page=1&per_page=25`, the recipient's
//!    most urgent cases first, out of all of them), the page itself (`GET /officer`), and as
//!    baselines in the same invocation `GET /healthz` (what HTTP alone costs) and the unpaged
//!    inbox (every case as JSON, what the page would cost without pagination).
//! 3. *In the browser* (`--browser`, needs Debian's chromium and the console's npm packages):
//!    `console/tests/inbox-bench.mjs` logs in once, then shows the inbox page again and again;
//!    each sample is from the hash change to the table of cases in the DOM (request, JSON
//!    parsing and rendering of the rows), measured in the page with `performance.now()`.
//!
//! The target (issue 7): the inbox page with 10,000 cases renders in ≤ 200 ms at p95.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::payload::{CaseDocument, sha256};
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{
    Handling, Kind, PartyId, PartyKind, Priority, RequestType, Timestamp, Tlp,
};
use hotline_core::{CaseId, DeadlinePolicy};
use hotline_crypto::PartyKeys;
use hotline_tlog::note::NoteSigner;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::bench::Percentiles;
use crate::client::ApiClient;
use crate::datadir::{self, DataDir};
use crate::serve::OpenLog;

/// Options of `hotline bench inbox`.
#[derive(clap::Args, Debug)]
pub struct BenchInboxArgs {
    /// A fresh directory for the benchmark's hotline (default: a temporary one, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Cases in the recipient's inbox.
    #[arg(long, default_value_t = 10_000)]
    pub cases: usize,
    /// Timed page loads of each kind.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// Cases per inbox page, as the console asks.
    #[arg(long, default_value_t = 25)]
    pub per_page: usize,
    /// Also time the page's rendering in Debian's chromium (needs node and the console's npm
    /// packages in CONSOLE_DIR/node_modules).
    #[arg(long)]
    pub browser: bool,
    /// The console's npm project (for --browser).
    #[arg(long, default_value = "crates/hotline-server/console")]
    pub console_dir: PathBuf,
    /// Output as JSON.
    #[arg(skip)]
    pub json: bool,
}

/// What one run measured, in milliseconds.
#[derive(Serialize, Debug)]
pub struct InboxReport {
    /// Cases in the inbox.
    pub cases: usize,
    /// Samples of each kind.
    pub samples: usize,
    /// Setup time (registering, signing, encrypting, submitting), seconds.
    pub setup_seconds: f64,
    /// `GET /api/v1/inbox?role=responder&page=1&per_page=N`.
    pub inbox_page: Percentiles,
    /// Its 95th percentile.
    pub inbox_page_p95: f64,
    /// `GET /officer`.
    pub officer_page: Percentiles,
    /// Baseline: `GET /healthz`.
    pub healthz: Percentiles,
    /// Baseline: the unpaged inbox (every case).
    pub unpaged_inbox: Percentiles,
    /// In chromium: hash change to the rendered table, if `--browser`.
    pub browser_render: Option<Percentiles>,
    /// Its 95th percentile.
    pub browser_render_p95: Option<f64>,
    /// The target: p95 of the page's render (browser if measured, else the data request) ≤ 200 ms.
    pub p95_target_ms: f64,
    /// p95 of what the target is checked on.
    pub p95_ms: f64,
    /// Whether the target was met.
    pub target_met: bool,
}

struct Party {
    keys: PartyKeys,
    token: String,
}

/// Runs the benchmark and prints its report.
pub fn run_and_print(args: &BenchInboxArgs) -> Result<()> {
    let r = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    let row = |name: &str, p: &Percentiles| {
        println!(
            "  {name:<44} p50 {:>8.2} ms   p90 {:>8.2} ms   p99 {:>8.2} ms   max {:>8.2} ms",
            p.p50, p.p90, p.p99, p.max
        );
    };
    println!(
        "hotline bench inbox: {} cases in the inbox, {} samples each (setup {:.1} s)",
        r.cases, r.samples, r.setup_seconds
    );
    row("GET /api/v1/inbox (one page, most urgent)", &r.inbox_page);
    println!("  {:<44} p95 {:>8.2} ms", "", r.inbox_page_p95);
    row("GET /officer (the page)", &r.officer_page);
    row("baseline: GET /healthz", &r.healthz);
    row("baseline: GET /api/v1/inbox (every case)", &r.unpaged_inbox);
    if let (Some(b), Some(p95)) = (&r.browser_render, r.browser_render_p95) {
        row("chromium: inbox shown (fetch + render)", b);
        println!("  {:<44} p95 {:>8.2} ms", "", p95);
    }
    println!(
        "  p95 {:.2} ms against the target of {:.0} ms: {}",
        r.p95_ms,
        r.p95_target_ms,
        if r.target_met { "met" } else { "NOT met" }
    );
    Ok(())
}

/// Runs the benchmark.
pub fn run(args: &BenchInboxArgs) -> Result<InboxReport> {
    if args.cases == 0 || args.samples == 0 {
        bail!("--cases and --samples must be at least 1");
    }
    let tmp;
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => {
            tmp = tempfile_dir()?;
            tmp.join("hotline")
        }
    };
    let started = Instant::now();
    let server = InProcess::start(&dir)?;
    let api_op = ApiClient::new(&server.url, Some(server.operator_token.clone()))?;
    let info = api_op.hotline()?;
    let from = register(&api_op, &info.origin, "inbox-bench-from")?;
    let to = register(&api_op, &info.origin, "inbox-bench-to")?;
    let policy = DeadlinePolicy::default();
    fill(&server.url, &info.origin, &policy, &from, &to, args.cases)?;
    let setup_seconds = started.elapsed().as_secs_f64();

    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let time = |path: &str,
                token: Option<&str>,
                check: &dyn Fn(&[u8]) -> Result<()>|
     -> Result<(Percentiles, f64)> {
        let url = format!("{}{path}", server.url);
        let mut micros = Vec::with_capacity(args.samples);
        // One warm-up request, untimed.
        for i in 0..=args.samples {
            let mut req = http
                .get(&url)
                .header("accept", "text/html,application/json");
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let t0 = Instant::now();
            let resp = req.send().with_context(|| format!("GET {path}"))?;
            let status = resp.status();
            let body = resp.bytes()?;
            let took = t0.elapsed();
            if !status.is_success() {
                bail!("GET {path}: {status}: {}", String::from_utf8_lossy(&body));
            }
            check(&body)?;
            if i > 0 {
                micros.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
            }
        }
        let p95 = p95_ms(&micros);
        Ok((Percentiles::from_micros(micros), p95))
    };
    let cases = args.cases;
    let per_page = args.per_page;
    let (inbox_page, inbox_page_p95) = time(
        &format!("/api/v1/inbox?role=responder&page=1&per_page={per_page}"),
        Some(&to.token),
        &|b| {
            let v: serde_json::Value = serde_json::from_slice(b)?;
            let n = v["cases"].as_array().map_or(0, Vec::len);
            if v["total"].as_u64() != Some(cases as u64) || n != per_page.min(cases) {
                bail!(
                    "the inbox page holds {n} of {} cases, expected {} of {cases}",
                    v["total"],
                    per_page.min(cases)
                );
            }
            Ok(())
        },
    )?;
    let (officer_page, _) = time("/officer", None, &|b| {
        if !String::from_utf8_lossy(b).contains("id=\"officer\"") {
            bail!("/officer is not the officer page");
        }
        Ok(())
    })?;
    let (healthz, _) = time("/healthz", None, &|_| Ok(()))?;
    let (unpaged_inbox, _) = time("/api/v1/inbox?role=responder", Some(&to.token), &|b| {
        let v: serde_json::Value = serde_json::from_slice(b)?;
        if v["cases"].as_array().map_or(0, Vec::len) != cases {
            bail!("the unpaged inbox does not hold every case");
        }
        Ok(())
    })?;
    let browser_render = if args.browser {
        Some(browser(args, &server.url, &dir, &to)?)
    } else {
        None
    };
    let p95_ms = browser_render
        .as_ref()
        .map_or(inbox_page_p95, |(_, p95)| *p95);
    let browser_render_p95 = browser_render.as_ref().map(|(_, p)| *p);
    let browser_render = browser_render.map(|(p, _)| p);
    drop(server);
    Ok(InboxReport {
        cases,
        samples: args.samples,
        setup_seconds,
        inbox_page,
        inbox_page_p95,
        officer_page,
        healthz,
        unpaged_inbox,
        browser_render,
        browser_render_p95,
        p95_target_ms: 200.0,
        p95_ms,
        target_met: p95_ms <= 200.0,
    })
}

/// The 95th percentile (nearest rank) of durations in microseconds, in milliseconds.
fn p95_ms(micros: &[u32]) -> f64 {
    let mut v = micros.to_vec();
    v.sort_unstable();
    let rank = (95 * v.len()).div_ceil(100).clamp(1, v.len().max(1));
    v.get(rank - 1).map_or(0.0, |x| f64::from(*x) / 1000.0)
}

fn tempfile_dir() -> Result<PathBuf> {
    let base = std::env::temp_dir().join(format!(
        "hotline-bench-inbox-{}-{}",
        std::process::id(),
        Timestamp::now().unix()
    ));
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    Ok(base)
}

fn register(api: &ApiClient, origin: &str, id: &str) -> Result<Party> {
    let keys = PartyKeys::generate(id)?;
    let party = PartyId::new(id).map_err(|e| anyhow!("{e}"))?;
    let mut st = Statement::new(
        origin,
        Kind::PartyRegistered,
        PartyId::operator(),
        Timestamp::now(),
    );
    st.party = Some(party);
    st.party_fields = PartyFields {
        name: Some(format!("Inbox benchmark {id}")),
        jurisdiction: Some("CH".into()),
        kind: Some(PartyKind::Other),
        key: Some(keys.verifier().to_vkey()),
        recipients: vec![keys.recipient().to_string()],
        contact: Some("bench@hotline.invalid".into()),
    };
    let signed = SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner])?;
    let r = api
        .register(&signed.bytes)
        .with_context(|| format!("registering {id}"))?;
    Ok(Party {
        keys,
        token: r.token,
    })
}

/// Submits `n` requests from `from` to `to`, with progress.
fn fill(
    url: &str,
    origin: &str,
    policy: &DeadlinePolicy,
    from: &Party,
    to: &Party,
    n: usize,
) -> Result<()> {
    let bar = ProgressBar::new(n as u64).with_style(
        ProgressStyle::with_template(
            "  filling the inbox {bar:40} {pos}/{len} cases ({per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let threads = 4usize;
    let to_id = PartyId::new(to.keys.party()).map_err(|e| anyhow!("{e}"))?;
    let from_id = PartyId::new(from.keys.party()).map_err(|e| anyhow!("{e}"))?;
    let recipients = [to.keys.recipient(), from.keys.recipient()];
    let priorities = [Priority::Emergency, Priority::Urgent, Priority::Routine];
    std::thread::scope(|s| -> Result<()> {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let bar = bar.clone();
                let (to_id, from_id, recipients) = (&to_id, &from_id, &recipients);
                s.spawn(move || -> Result<()> {
                    let api = ApiClient::new(url, Some(from.token.clone()))?;
                    for k in (t..n).step_by(threads) {
                        let now = Timestamp::now();
                        let priority = priorities[k % 3];
                        let mut st = Statement::new(origin, Kind::Request, from_id.clone(), now);
                        st.case = Some(CaseId::generate(now));
                        st.recipient = Some(to_id.clone());
                        st.priority = Some(priority);
                        st.request_type = Some(RequestType::Preservation);
                        st.handling = Some(Handling::H2);
                        st.tlp = Some(Tlp::Amber);
                        let (ack, answer) = policy.for_priority(priority);
                        // Spread the deadlines so the urgency order has work to do.
                        st.ack_by = Some(now.plus(ack + (k as i64 * 37) % 86_400));
                        st.answer_by = Some(now.plus(answer + (k as i64 * 37) % 86_400));
                        let doc = CaseDocument::new(&format!("benchmark case {k}"), "");
                        let plaintext = doc.to_plaintext();
                        let ciphertext = hotline_crypto::encrypt(&plaintext, recipients)?;
                        st.payload = Some(PayloadCommitment {
                            sha256: sha256(&ciphertext),
                            size: ciphertext.len() as u64,
                            plaintext_sha256: sha256(&plaintext),
                        });
                        let signed =
                            SignedStatement::sign(st, &[from.keys.signer() as &dyn NoteSigner])?;
                        api.submit(&signed.bytes, Some(&ciphertext))?;
                        bar.inc(1);
                    }
                    Ok(())
                })
            })
            .collect();
        for h in handles {
            h.join()
                .map_err(|_| anyhow!("a filling thread panicked"))??;
        }
        Ok(())
    })?;
    bar.finish_and_clear();
    Ok(())
}

/// Times the inbox page in chromium through `console/tests/inbox-bench.mjs`.
fn browser(args: &BenchInboxArgs, url: &str, dir: &Path, to: &Party) -> Result<(Percentiles, f64)> {
    let script = args.console_dir.join("tests/inbox-bench.mjs");
    if !script.exists()
        || !args
            .console_dir
            .join("node_modules/playwright-core")
            .exists()
    {
        bail!(
            "--browser needs {} and the console's npm packages (npm ci in {})",
            script.display(),
            args.console_dir.display()
        );
    }
    let script =
        std::fs::canonicalize(&script).with_context(|| format!("finding {}", script.display()))?;
    let key_file = dir.join("inbox-bench-to.key");
    hotline_crypto::write_key_file(&key_file, &to.keys)
        .with_context(|| format!("writing {}", key_file.display()))?;
    let out = std::process::Command::new("node")
        .arg(&script)
        .env("BASE", url)
        .env("KEY_FILE", &key_file)
        .env("TOKEN", &to.token)
        .env("SAMPLES", args.samples.to_string())
        .env(
            "CHROMIUM",
            std::env::var("HOTLINE_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()),
        )
        .current_dir(&args.console_dir)
        .output()
        .context("running node")?;
    if !out.status.success() {
        bail!(
            "the browser benchmark failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).with_context(|| {
        format!(
            "the browser benchmark printed {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })?;
    let micros: Vec<u32> = v["micros"]
        .as_array()
        .ok_or_else(|| anyhow!("no samples from the browser"))?
        .iter()
        .filter_map(|x| x.as_u64().and_then(|x| u32::try_from(x).ok()))
        .collect();
    if micros.len() != args.samples {
        bail!(
            "the browser took {} samples, not {}",
            micros.len(),
            args.samples
        );
    }
    let p95 = p95_ms(&micros);
    Ok((Percentiles::from_micros(micros), p95))
}

/// A hotline served by this process.
struct InProcess {
    url: String,
    operator_token: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
}

impl InProcess {
    fn start(dir: &Path) -> Result<InProcess> {
        let d = DataDir::new(dir);
        if d.is_initialised() {
            bail!(
                "{} already holds a log: give a fresh directory",
                dir.display()
            );
        }
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        crate::admin::init_hotline(
            &d,
            "inbox-bench.hotline.invalid/log",
            &crate::admin::OperatorArgs {
                name: "hotline operator".into(),
                jurisdiction: "CH".into(),
                contact: "operator@hotline.invalid".into(),
                deadlines: None,
            },
        )?;
        let token = hotline_crypto::read_secret(&dir.join(datadir::OPERATOR_TOKEN))?.to_string();
        let log = OpenLog::open(&d, hotline_store::sequencer::SequencerConfig::default())?;
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bench-inbox-server".into())
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
        let mut p = InProcess {
            url: String::new(),
            operator_token: token,
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => p.url = format!("http://{addr}"),
            Err(_) => bail!("the in-process server did not start"),
        }
        Ok(p)
    }
}

impl Drop for InProcess {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
