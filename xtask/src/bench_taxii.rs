//! `cargo xtask bench-taxii`: hotline's TAXII 2.1 server and medallion 3.0 (OASIS's reference
//! server, memory backend) side by side, in one run, on loopback.
//!
//! For each size N (`--sizes`, default 1,000, 2,000, 5,000, 10,000), each server starts empty
//! and the same Rust client (one connection, HTTP/1.1) POSTs N indicators in bundles of
//! `--bundle` (500), then pages through all of them with `limit=--page` (1,000) following
//! `next`, `--passes` times. Reported per server and size: objects/s ingested, objects/s paged
//! (first pass), and the median and p99 of a page GET over all passes. medallion's memory
//! backend pages quadratically: when one of its phases takes longer than `--budget-secs`, its
//! larger sizes are skipped and the ratio is reported at the largest size it completed.
//! `--large N` adds a hotline-only run at N (e.g. 1,000,000). Nothing but loopback is used;
//! both servers are killed when the run ends or fails.

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
    /// Paging passes per size (for the page latency percentiles).
    #[arg(long, default_value_t = 5)]
    pub passes: usize,
    /// Longest one phase of medallion may take before its larger sizes are skipped, seconds.
    #[arg(long, default_value_t = 60)]
    pub budget_secs: u64,
    /// Also measure hotline alone at this size.
    #[arg(long)]
    pub large: Option<usize>,
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
    auth: String,
    _process: Killed,
    _dir: tempfile::TempDir,
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
    pages_timed: usize,
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
        auth: basic("bench", &token),
        _process: process,
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
    let child = Command::new(&medallion)
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
        auth: basic("bench", "bench"),
        _process: process,
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
        if budget.is_some_and(|b| started.elapsed() > b) {
            bail!("{name}: ingesting {n} objects took longer than the budget");
        }
    }
    let post = started.elapsed();
    let mut latencies = Vec::new();
    let mut first_pass = Duration::ZERO;
    for pass in 0..args.passes {
        let t0 = Instant::now();
        let mut seen = 0;
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
            latencies.push(p0.elapsed());
            let v: serde_json::Value = serde_json::from_slice(&body)?;
            seen += v["objects"].as_array().map_or(0, Vec::len);
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
    }
    latencies.sort();
    let pct = |p: f64| {
        let rank = ((p / 100.0) * latencies.len() as f64).ceil().max(1.0) as usize;
        latencies[rank - 1].as_secs_f64() * 1000.0
    };
    Ok(Figures {
        server: name,
        objects: n,
        post_secs: post.as_secs_f64(),
        post_per_sec: n as f64 / post.as_secs_f64(),
        page_secs: first_pass.as_secs_f64(),
        page_per_sec: n as f64 / first_pass.as_secs_f64(),
        page_p50_ms: pct(50.0),
        page_p99_ms: pct(99.0),
        pages_timed: latencies.len(),
    })
}

fn show(f: &Figures) {
    println!(
        "{:<9} {:>9} objects: POST {:>8.2} s ({:>9.0} obj/s)  page {:>8.2} s ({:>9.0} obj/s)  page GET p50 {:>8.1} ms p99 {:>8.1} ms ({} pages)",
        f.server,
        f.objects,
        f.post_secs,
        f.post_per_sec,
        f.page_secs,
        f.page_per_sec,
        f.page_p50_ms,
        f.page_p99_ms,
        f.pages_timed
    );
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
    if !python.exists() {
        return Err(interop::MissingPrerequisite::new(
            format!("{} (medallion 3.0, installed by .ci/run)", python.display()),
            "python3-venv",
        )
        .into());
    }
    let budget = Duration::from_secs(args.budget_secs);
    let mut medallion_ok = true;
    let mut last_pair: Option<(Figures, Figures)> = None;
    for &n in &args.sizes {
        let h = measure("hotline", &start_hotline(&hotline)?, n, args, None)?;
        show(&h);
        if medallion_ok {
            match measure(
                "medallion",
                &start_medallion(&python, args.page)?,
                n,
                args,
                Some(budget),
            ) {
                Ok(m) => {
                    show(&m);
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
        show(&measure(
            "hotline",
            &start_hotline(&hotline)?,
            n,
            args,
            None,
        )?);
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
