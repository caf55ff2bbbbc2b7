//! `cargo xtask bench-taxii`: hotline's TAXII 2.1 server and medallion 3.0 (OASIS's reference
//! server, memory backend) side by side, in one run, on loopback.
//!
//! For each size N (`--sizes`, default 1,000, 2,000, 5,000, 10,000), each server starts empty
//! and the same Rust client (one connection, HTTP/1.1) POSTs N indicators in bundles of
//! `--bundle` (500), then pages through all of them with `limit=--page` (1,000) following
//! `next`, `--passes` times on hotline (`--medallion-passes` on medallion). Reported per server
//! and size: objects/s ingested, objects/s paged (first pass), and the median, p99 and maximum
//! of a page GET over all passes with the slowest pages and when they came. For hotline, in the
//! same passes, two baselines are timed after every page — a page of one object (same route,
//! credentials and query) and `GET /healthz` (HTTP alone) — and the cores other processes kept
//! busy meanwhile (from /proc/stat), so that a slow page can be told from a busy machine; then
//! extra passes (at least 500 pages) measure the server's CPU time per page from /proc.
//! medallion's memory backend pages quadratically: when one of its phases takes longer than
//! `--budget-secs`, its larger sizes are skipped and the ratio is reported at the largest size
//! it completed. `--large N` adds a hotline-only run at N (e.g. 1,000,000); `--hotline-only`
//! measures hotline alone at every size. Nothing but loopback is used; both servers are killed
//! and their data directories deleted when the run ends or fails.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;

use crate::interop;

/// Options.
#[derive(clap::Args)]
pub struct Args {
    /// Collection sizes to measure on both servers.
    #[arg(long, value_delimiter = ',', default_value = "1000,2000,5000,10000")]
    pub sizes: Vec<usize>,
    /// Objects per POST.
    #[arg(long, default_value_t = 500)]
    pub bundle: usize,
    /// Objects per page.
    #[arg(long, default_value_t = 1000)]
    pub page: usize,
    /// Paging passes per size on hotline (for the page latency percentiles).
    #[arg(long, default_value_t = 5)]
    pub passes: usize,
    /// Paging passes per size on medallion (its pages take seconds: more passes only make
    /// the run longer).
    #[arg(long, default_value_t = 2)]
    pub medallion_passes: usize,
    /// Longest one phase of medallion may take before its larger sizes are skipped, seconds.
    #[arg(long, default_value_t = 60)]
    pub budget_secs: u64,
    /// Also measure hotline alone at this size.
    #[arg(long)]
    pub large: Option<usize>,
    /// Measure hotline only (no medallion), at every size of `--sizes`.
    #[arg(long)]
    pub hotline_only: bool,
    /// Wait this long between the last POST and the first page GET, milliseconds (0: page
    /// at once, as a client that reads right after a publication does).
    #[arg(long, default_value_t = 0)]
    pub settle_ms: u64,
    /// Also print each size's figures as one JSON line.
    #[arg(long)]
    pub json: bool,
    /// Use this hotline binary (default: build the release profile).
    #[arg(long)]
    pub hotline: Option<PathBuf>,
    /// The Python with medallion (default: target/taxii-venv/bin/python).
    #[arg(long)]
    pub python: Option<PathBuf>,
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One server under test: where its collection is and how to authenticate.
struct Target {
    objects_url: String,
    /// A request that does no TAXII work, timed between page GETs as a baseline of the
    /// machine's noise (`/healthz` for hotline); `None`: no baselines.
    baseline_url: Option<String>,
    auth: String,
    process: Killed,
    _dir: tempfile::TempDir,
}

/// CPU seconds the whole machine spent busy so far (every state of `/proc/stat`'s `cpu` line
/// but idle and iowait), summed over all cores.
fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = line
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy: f64 = v.iter().take(8).sum::<f64>() - v.get(3)? - v.get(4)?;
    Some(busy / 100.0)
}

/// CPU seconds (user + system) of a process so far, from /proc (clock ticks of 1/100 s).
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the command: state is field 3; utime and stime are fields 14 and 15.
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

#[derive(Debug, Clone, serde::Serialize)]
struct Figures {
    server: &'static str,
    objects: usize,
    post_secs: f64,
    post_per_sec: f64,
    page_secs: f64,
    page_per_sec: f64,
    page_p50_ms: f64,
    page_p99_ms: f64,
    page_max_ms: f64,
    pages_timed: usize,
    /// A page of one object (`limit=1`), timed after each full page: the same route, auth
    /// and query, with almost no rows.
    tiny_page_p50_ms: Option<f64>,
    tiny_page_p99_ms: Option<f64>,
    /// `GET /healthz`, timed after each full page: HTTP on loopback alone.
    baseline_p50_ms: Option<f64>,
    baseline_p99_ms: Option<f64>,
    /// Cores kept busy by other processes (neither the server nor this client) during the
    /// timed passes, on average: the noise the latencies were measured in.
    others_busy_cores: Option<f64>,
    /// The server's CPU time (user + system) per full page, ms, over passes without
    /// baselines run after the timed ones (at least 500 pages).
    server_cpu_per_page_ms: Option<f64>,
    /// The slowest full pages: (pass, page in the pass, ms since paging began, latency ms).
    slowest: Vec<(usize, usize, f64, f64)>,
}

/// The p-th percentile (nearest rank) of sorted latencies, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1].as_secs_f64() * 1000.0
}

fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

fn wait_listening(port: u16, what: &str) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    bail!("{what} did not listen on 127.0.0.1:{port} within 60 s")
}

fn run_ok(cmd: &mut Command, what: &str) -> Result<String> {
    let out = cmd.output().with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn start_hotline(bin: &Path) -> Result<Target> {
    let dir = tempfile::Builder::new()
        .prefix("hotline-bench-taxii-")
        .tempdir()?;
    let w = dir.path();
    let h = |args: &[&str]| {
        let mut c = Command::new(bin);
        c.current_dir(w).args(args);
        run_ok(&mut c, &format!("hotline {}", args.join(" ")))
    };
    h(&["init", "--dir", "hl", "--origin", "bench-taxii.invalid/log"])?;
    let port = free_port()?;
    let child = Command::new(bin)
        .current_dir(w)
        .args([
            "serve",
            "--dir",
            "hl",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--taxii-max-content-length",
            "104857600",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting hotline serve")?;
    let process = Killed(child);
    wait_listening(port, "hotline serve")?;
    let url = format!("http://127.0.0.1:{port}");
    h(&["keygen", "--party", "bench", "--out", "bench.key"])?;
    h(&[
        "party",
        "request",
        "--key",
        "bench.key",
        "--server",
        &url,
        "--name",
        "Bench",
        "--jurisdiction",
        "XX",
        "--kind",
        "other",
        "--contact",
        "bench@x.invalid",
        "--out",
        "bench.reg",
    ])?;
    h(&[
        "party",
        "add",
        "--server",
        &url,
        "--token-file",
        "hl/operator.token",
        "bench.reg",
        "--token-out",
        "bench.token",
    ])?;
    let token = std::fs::read_to_string(w.join("bench.token"))?
        .trim()
        .to_owned();
    let list: serde_json::Value = reqwest::blocking::Client::new()
        .get(format!("{url}/taxii2/hotline/collections/"))
        .basic_auth("bench", Some(&token))
        .header("accept", "application/taxii+json;version=2.1")
        .send()?
        .json()?;
    let id = list["collections"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["alias"] == "shared"))
        .and_then(|c| c["id"].as_str())
        .ok_or_else(|| anyhow!("hotline lists no shared collection: {list}"))?
        .to_owned();
    Ok(Target {
        objects_url: format!("{url}/taxii2/hotline/collections/{id}/objects/"),
        baseline_url: Some(format!("{url}/healthz")),
        auth: basic("bench", &token),
        process,
        _dir: dir,
    })
}

fn basic(user: &str, pass: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))
    )
}

const COLLECTION: &str = "91a7b528-80eb-42ed-a74d-c6fbd5a26116";

fn start_medallion(python: &Path, page: usize) -> Result<Target> {
    let dir = tempfile::Builder::new()
        .prefix("medallion-bench-")
        .tempdir()?;
    let data = serde_json::json!({
        "/discovery": {
            "title": "medallion (benchmark)",
            "default": "http://127.0.0.1/api1/",
            "api_roots": ["http://127.0.0.1/api1/"]
        },
        "api1": {
            "information": {
                "title": "bench",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 104857600
            },
            "status": [],
            "collections": [{
                "id": COLLECTION,
                "title": "bench",
                "can_read": true,
                "can_write": true,
                "media_types": ["application/stix+json;version=2.1"],
                "objects": [],
                "manifest": []
            }]
        }
    });
    let data_file = dir.path().join("data.json");
    std::fs::write(&data_file, serde_json::to_vec(&data)?)?;
    let config = serde_json::json!({
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": data_file,
        },
        "users": { "bench": "bench" },
        "taxii": { "max_page_size": page },
    });
    let config_file = dir.path().join("config.json");
    std::fs::write(&config_file, serde_json::to_vec(&config)?)?;
    let port = free_port()?;
    let medallion = python
        .parent()
        .map(|p| p.join("medallion"))
        .ok_or_else(|| anyhow!("no medallion next to {}", python.display()))?;
    // Run the entry script through the venv's interpreter rather than by its `#!` line: a
    // venv that was moved (or a copied target/) keeps a shebang naming its old place.
    let child = Command::new(python)
        .arg(&medallion)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--log-level",
            "ERROR",
        ])
        .arg(&config_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", medallion.display()))?;
    let process = Killed(child);
    wait_listening(port, "medallion")?;
    Ok(Target {
        objects_url: format!("http://127.0.0.1:{port}/api1/collections/{COLLECTION}/objects/"),
        // Its pages take seconds: a baseline between them would only double the run.
        baseline_url: None,
        auth: basic("bench", "bench"),
        process,
        _dir: dir,
    })
}

/// A version-4 UUID from a counter (deterministic, distinct).
fn uuid4(n: u64, salt: u64) -> String {
    let a = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ salt;
    let b = (n ^ 0xA5A5_5A5A_1234_5678).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48 & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn bundle(from: usize, n: usize, salt: u64) -> Vec<u8> {
    let mut objects = Vec::with_capacity(n);
    for i in from..from + n {
        objects.push(serde_json::json!({
            "type": "indicator",
            "spec_version": "2.1",
            "id": format!("indicator--{}", uuid4(i as u64, salt)),
            "created": "2021-07-03T10:00:00.000Z",
            "modified": "2021-07-03T10:00:00.000Z",
            "name": format!("REvil C2 {i}"),
            "indicator_types": ["malicious-activity"],
            "pattern": format!("[ipv4-addr:value = '10.{}.{}.{}']", i >> 16 & 255, i >> 8 & 255, i & 255),
            "pattern_type": "stix",
            "valid_from": "2021-07-03T10:00:00Z",
            "object_marking_refs": ["marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"],
        }));
    }
    serde_json::to_vec(&serde_json::json!({ "objects": objects })).unwrap_or_default()
}

const MEDIA: &str = "application/taxii+json;version=2.1";

fn measure(
    name: &'static str,
    t: &Target,
    n: usize,
    args: &Args,
    budget: Option<Duration>,
) -> Result<Figures> {
    let http = reqwest::blocking::Client::builder()
        .timeout(budget.unwrap_or(Duration::from_secs(3600)))
        .build()?;
    let salt = n as u64;
    let started = Instant::now();
    let mut done = 0;
    while done < n {
        let k = args.bundle.min(n - done);
        let body = bundle(done, k, salt);
        let r = http
            .post(&t.objects_url)
            .header("authorization", &t.auth)
            .header("content-type", MEDIA)
            .header("accept", MEDIA)
            .body(body)
            .send()
            .with_context(|| format!("{name}: POST after {done} objects"))?;
        if !r.status().is_success() {
            bail!(
                "{name}: POST answered {}: {}",
                r.status(),
                r.text().unwrap_or_default()
            );
        }
        done += k;
        if n >= 100_000 && done % (n / 10).max(1) < k {
            eprintln!(
                "{name}: {done} of {n} objects posted in {:.1} s",
                started.elapsed().as_secs_f64()
            );
        }
        if budget.is_some_and(|b| started.elapsed() > b) {
            bail!("{name}: ingesting {n} objects took longer than the budget");
        }
    }
    let post = started.elapsed();
    std::thread::sleep(Duration::from_millis(args.settle_ms));
    let mut latencies = Vec::new();
    // (pass, page, started since paging began, latency)
    let mut samples: Vec<(usize, usize, Duration, Duration)> = Vec::new();
    let mut tiny = Vec::new();
    let mut baseline = Vec::new();
    let mut first_pass = Duration::ZERO;
    let paging = Instant::now();
    let pid = t.process.0.id();
    let usage = || {
        Some((
            machine_busy_seconds()?,
            cpu_seconds(pid)?,
            cpu_seconds(std::process::id())?,
        ))
    };
    let usage_before = usage();
    let passes = if t.baseline_url.is_some() {
        args.passes
    } else {
        args.medallion_passes
    };
    for pass in 0..passes {
        let t0 = Instant::now();
        let mut seen = 0;
        let mut page = 0;
        let mut next: Option<String> = None;
        loop {
            // Cursors are base64url: safe in a query string as they are.
            let url = match &next {
                None => format!("{}?limit={}", t.objects_url, args.page),
                Some(c) => format!("{}?limit={}&next={c}", t.objects_url, args.page),
            };
            let req = http
                .get(url)
                .header("authorization", &t.auth)
                .header("accept", MEDIA);
            let p0 = Instant::now();
            let r = req
                .send()
                .with_context(|| format!("{name}: GET after {seen} objects"))?;
            if !r.status().is_success() {
                bail!("{name}: GET answered {}", r.status());
            }
            let body = r.bytes()?;
            let took = p0.elapsed();
            latencies.push(took);
            samples.push((pass, page, p0 - paging, took));
            page += 1;
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            seen += v["objects"].as_array().map_or(0, Vec::len);
            if let Some(b) = &t.baseline_url {
                tiny.push(timed_get(
                    &http,
                    &format!("{}?limit=1", t.objects_url),
                    &t.auth,
                )?);
                baseline.push(timed_get(&http, b, &t.auth)?);
            }
            if v["more"] == true {
                next = v["next"].as_str().map(str::to_owned);
                if next.is_none() {
                    bail!("{name}: more is true but there is no next");
                }
            } else {
                break;
            }
            if budget.is_some_and(|b| t0.elapsed() > b) {
                bail!("{name}: paging {n} objects took longer than the budget");
            }
        }
        if seen != n {
            bail!("{name}: paging returned {seen} objects, {n} were added");
        }
        if pass == 0 {
            first_pass = t0.elapsed();
        }
        if n >= 100_000 {
            eprintln!(
                "{name}: paging pass {} of {passes} done in {:.1} s",
                pass + 1,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    let timed = paging.elapsed().as_secs_f64();
    let others_busy_cores = usage_before
        .zip(usage())
        .map(|(a, b)| ((b.0 - a.0) - (b.1 - a.1) - (b.2 - a.2)).max(0.0) / timed);
    // The server's CPU per page: extra passes without baselines, at least 500 pages, so the
    // 10 ms clock ticks of /proc are small against the total.
    let pages_per_pass = n.div_ceil(args.page).max(1);
    // (Not for medallion, whose pages take seconds.)
    let cpu_passes = if t.baseline_url.is_some() {
        500usize.div_ceil(pages_per_pass)
    } else {
        0
    };
    let cpu_before = cpu_seconds(pid);
    for _ in 0..cpu_passes {
        let mut next: Option<String> = None;
        loop {
            let url = match &next {
                None => format!("{}?limit={}", t.objects_url, args.page),
                Some(c) => format!("{}?limit={}&next={c}", t.objects_url, args.page),
            };
            let body = http
                .get(url)
                .header("authorization", &t.auth)
                .header("accept", MEDIA)
                .send()?
                .error_for_status()?
                .bytes()?;
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            match (v["more"] == true, v["next"].as_str()) {
                (true, Some(c)) => next = Some(c.to_owned()),
                _ => break,
            }
        }
        if budget.is_some_and(|b| paging.elapsed() > 2 * b) {
            break;
        }
    }
    let cpu_after = cpu_seconds(pid);
    let server_cpu_per_page_ms = cpu_before
        .zip(cpu_after)
        .filter(|_| cpu_passes > 0)
        .map(|(a, b)| (b - a) * 1000.0 / (cpu_passes * pages_per_pass) as f64);
    latencies.sort();
    tiny.sort();
    baseline.sort();
    samples.sort_by_key(|s| std::cmp::Reverse(s.3));
    let opt = |v: &[Duration], p: f64| (!v.is_empty()).then(|| percentile(v, p));
    Ok(Figures {
        server: name,
        objects: n,
        post_secs: post.as_secs_f64(),
        post_per_sec: n as f64 / post.as_secs_f64(),
        page_secs: first_pass.as_secs_f64(),
        page_per_sec: n as f64 / first_pass.as_secs_f64(),
        page_p50_ms: percentile(&latencies, 50.0),
        page_p99_ms: percentile(&latencies, 99.0),
        page_max_ms: percentile(&latencies, 100.0),
        pages_timed: latencies.len(),
        tiny_page_p50_ms: opt(&tiny, 50.0),
        tiny_page_p99_ms: opt(&tiny, 99.0),
        baseline_p50_ms: opt(&baseline, 50.0),
        baseline_p99_ms: opt(&baseline, 99.0),
        server_cpu_per_page_ms,
        others_busy_cores,
        slowest: samples
            .iter()
            .take(5)
            .map(|(pass, page, at, took)| {
                (
                    *pass,
                    *page,
                    at.as_secs_f64() * 1000.0,
                    took.as_secs_f64() * 1000.0,
                )
            })
            .collect(),
    })
}

/// One timed GET whose body is read completely; fails unless it answers 2xx.
fn timed_get(http: &reqwest::blocking::Client, url: &str, auth: &str) -> Result<Duration> {
    let t0 = Instant::now();
    let r = http
        .get(url)
        .header("authorization", auth)
        .header("accept", MEDIA)
        .send()
        .with_context(|| format!("GET {url}"))?;
    if !r.status().is_success() {
        bail!("GET {url} answered {}", r.status());
    }
    r.bytes()?;
    Ok(t0.elapsed())
}

fn show(f: &Figures, json: bool) {
    println!(
        "{:<9} {:>9} objects: POST {:>8.2} s ({:>9.0} obj/s)  page {:>8.2} s ({:>9.0} obj/s)  page GET p50 {:>8.1} ms p99 {:>8.1} ms max {:>8.1} ms ({} pages)",
        f.server,
        f.objects,
        f.post_secs,
        f.post_per_sec,
        f.page_secs,
        f.page_per_sec,
        f.page_p50_ms,
        f.page_p99_ms,
        f.page_max_ms,
        f.pages_timed
    );
    if let (Some(t50), Some(t99), Some(b50), Some(b99)) = (
        f.tiny_page_p50_ms,
        f.tiny_page_p99_ms,
        f.baseline_p50_ms,
        f.baseline_p99_ms,
    ) {
        println!(
            "{:<9} {:>9} baselines after each page: 1-object page p50 {t50:.2} ms p99 {t99:.2} ms; GET /healthz p50 {b50:.2} ms p99 {b99:.2} ms",
            "", ""
        );
    }
    if let Some(c) = f.server_cpu_per_page_ms {
        println!(
            "{:<9} {:>9} server CPU per page: {c:.2} ms; other processes kept {:.2} of the machine's cores busy meanwhile",
            "",
            "",
            f.others_busy_cores.unwrap_or(f64::NAN)
        );
    }
    let slow: Vec<String> = f
        .slowest
        .iter()
        .map(|(pass, page, at, ms)| format!("{ms:.1} ms (pass {pass}, page {page}, at {at:.0} ms)"))
        .collect();
    println!("{:<9} {:>9} slowest pages: {}", "", "", slow.join(", "));
    if json {
        println!("{}", serde_json::to_string(f).unwrap_or_default());
    }
}

/// Runs the comparison.
pub fn run(args: &Args) -> Result<()> {
    let root = interop::workspace_root();
    let hotline = match &args.hotline {
        Some(p) => p.clone(),
        None => interop::build_hotline(&root, true)?,
    };
    let python = args
        .python
        .clone()
        .unwrap_or_else(|| root.join("target/taxii-venv/bin/python"));
    if !args.hotline_only && !python.exists() {
        return Err(interop::MissingPrerequisite::new(
            format!("{} (medallion 3.0, installed by .ci/run)", python.display()),
            "python3-venv",
        )
        .into());
    }
    let budget = Duration::from_secs(args.budget_secs);
    let mut medallion_ok = !args.hotline_only;
    let mut last_pair: Option<(Figures, Figures)> = None;
    for &n in &args.sizes {
        let h = measure("hotline", &start_hotline(&hotline)?, n, args, None)?;
        show(&h, args.json);
        if medallion_ok {
            match measure(
                "medallion",
                &start_medallion(&python, args.page)?,
                n,
                args,
                Some(budget),
            ) {
                Ok(m) => {
                    show(&m, args.json);
                    last_pair = Some((h.clone(), m));
                }
                Err(e) => {
                    println!(
                        "medallion {n:>9} objects: did not finish within the budget ({e:#}); larger sizes skipped"
                    );
                    medallion_ok = false;
                }
            }
        }
    }
    if let Some(n) = args.large {
        show(
            &measure("hotline", &start_hotline(&hotline)?, n, args, None)?,
            args.json,
        );
    }
    if args.hotline_only {
        return Ok(());
    }
    match last_pair {
        Some((h, m)) => {
            let total_h = h.post_secs + h.page_secs;
            let total_m = m.post_secs + m.page_secs;
            println!(
                "ratio at {} objects (largest size medallion completed): ingest {:.0}x, paging {:.0}x, ingest+paging {:.0}x hotline/medallion throughput",
                h.objects,
                h.post_per_sec / m.post_per_sec,
                h.page_per_sec / m.page_per_sec,
                total_m / total_h
            );
        }
        None => println!("medallion completed no size within the budget"),
    }
    Ok(())
}
