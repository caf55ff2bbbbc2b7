//! `hotline bench witness`: how long after its submission a statement's receipt can carry the
//! witnesses' cosignatures (DESIGN.md §9: p99 ≤ 1 s with two local witnesses).
//!
//! What one run does:
//!
//! 1. A fresh hotline in a temporary directory (or `--dir`), `--witnesses` real witnesses
//!    (`hotline_witness`, each with its own key and SQLite state) served over HTTP on loopback
//!    ports by this process, and `DIR/witnesses.toml` requiring all of them; the hotline is
//!    served as `hotline serve` serves it, asking them to cosign every checkpoint.
//! 2. Parties registered through the API; notices prepared (signed, payload encrypted)
//!    before the clock starts.
//! 3. *Timed*: `--clients` threads submit `--statements` notices over HTTP, paced to `--rate`
//!    per second in all, each noting when it sent and when its receipt came back; meanwhile a
//!    watcher reads `GET /log/checkpoint` (which serves only checkpoints cosigned under the
//!    policy) every 2 ms and notes when each size first appeared.
//! 4. For each statement: *cosigned latency* = from sending it to the first served cosigned
//!    checkpoint that covers it — from then on `GET …/receipt?cosigned=1` gives its receipt
//!    with the cosignatures (the watcher's period, 2 ms, is the measurement's resolution).
//! 5. *Checks*: a sample of statements' cosigned receipts fetched and verified (inclusion under
//!    the log key, every witness's cosignature valid under the policy).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::CaseId;
use hotline_core::payload::{CaseDocument, sha256};
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{Handling, Kind, PartyId, PartyKind, Priority, Timestamp, Tlp};
use hotline_crypto::PartyKeys;
use hotline_server::witnessing::WitnessPolicy;
use hotline_tlog::cosignature::CosignerV1;
use hotline_tlog::note::NoteSigner;
use hotline_tlog::{Checkpoint, Ed25519Verifier, Note, TlogProof};
use serde::Serialize;

use crate::bench::Percentiles;
use crate::bench_audit::InProcessServer;
use crate::client::ApiClient;
use crate::datadir::{self, DataDir};
use crate::serve::OpenLog;

/// The target (DESIGN.md §9): cosigned receipts within this many milliseconds at p99.
pub const TARGET_P99_MS: f64 = 1000.0;

/// Options of `hotline bench witness`.
#[derive(clap::Args, Debug)]
pub struct BenchWitnessArgs {
    /// A new directory for the benchmark's hotline (default: a temporary one, removed after).
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Local witnesses, all required by the policy.
    #[arg(long, default_value_t = 2)]
    pub witnesses: usize,
    /// Statements to submit.
    #[arg(long, default_value_t = 5_000)]
    pub statements: usize,
    /// Statements per second in all (paced).
    #[arg(long, default_value_t = 500)]
    pub rate: u64,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    pub clients: usize,
    /// Print the report as JSON.
    #[arg(skip)]
    pub json: bool,
}

/// The benchmark's result.
#[derive(Serialize, Debug)]
pub struct WitnessBenchReport {
    /// Witnesses (all required).
    pub witnesses: usize,
    /// Statements submitted.
    pub statements: usize,
    /// Statements per second achieved.
    pub rate: f64,
    /// Submission to receipt (the log's own signature), milliseconds.
    pub receipt_ms: Percentiles,
    /// Submission to a served cosigned checkpoint covering the statement, milliseconds.
    pub cosigned_ms: Percentiles,
    /// Cosigned checkpoints served during the run.
    pub cosigned_checkpoints: usize,
    /// Cosigned receipts fetched and verified under the policy.
    pub verified_receipts: usize,
    /// Whether p99 of `cosigned_ms` is within the target.
    pub within_target: bool,
}

/// Runs the benchmark and prints its report.
pub fn run_and_print(args: &BenchWitnessArgs) -> Result<()> {
    let r = run(args)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "hotline bench witness: {} statements at {:.0}/s, {} local witnesses (all required)",
        r.statements, r.rate, r.witnesses
    );
    let line = |what: &str, p: &Percentiles| {
        println!(
            "  {what}: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            p.p50, p.p90, p.p99, p.max
        );
    };
    line("submit -> receipt          ", &r.receipt_ms);
    line("submit -> cosigned receipt ", &r.cosigned_ms);
    println!(
        "  {} cosigned checkpoints served; {} cosigned receipts verified under the policy; \
         target p99 <= {TARGET_P99_MS:.0} ms: {}",
        r.cosigned_checkpoints,
        r.verified_receipts,
        if r.within_target { "met" } else { "NOT met" }
    );
    Ok(())
}

/// A running witness served by this process.
struct LocalWitness {
    name: String,
    vkey: String,
    url: String,
}

/// Runs the benchmark.
pub fn run(args: &BenchWitnessArgs) -> Result<WitnessBenchReport> {
    if args.witnesses == 0 || args.clients == 0 || args.statements == 0 || args.rate == 0 {
        bail!("--witnesses, --clients, --statements and --rate must be at least 1");
    }
    let temp;
    let path: &Path = match &args.dir {
        Some(d) => d,
        None => {
            temp = tempdir()?;
            &temp.0
        }
    };
    let dir = DataDir::new(path);
    if dir.is_initialised() {
        bail!(
            "{} already holds a log: give a new directory",
            path.display()
        );
    }
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    let origin = "bench-witness.hotline.invalid/log";
    crate::admin::init_hotline(
        &dir,
        origin,
        &crate::admin::OperatorArgs {
            name: "hotline operator".into(),
            jurisdiction: "CH".into(),
            contact: "operator@hotline.invalid".into(),
            deadlines: None,
        },
    )?;
    let log_vkey = dir.log_signer()?.verifier();

    // The witnesses, on a runtime of their own.
    let witness_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .context("starting the witnesses' runtime")?;
    let mut witnesses = Vec::new();
    for i in 0..args.witnesses {
        let name = format!("witness{i}.bench.invalid");
        let cosigner = CosignerV1::generate(&name).map_err(|e| anyhow!("{e}"))?;
        let vkey = cosigner.verifier().to_vkey();
        let mut logs = hotline_witness::KnownLogs::default();
        logs.insert(origin, vec![log_vkey.clone()]);
        let store = hotline_witness::Store::open(&path.join(format!("witness{i}.db")))?;
        let witness = Arc::new(hotline_witness::Witness::new(cosigner, logs, store));
        let listener = witness_rt
            .block_on(tokio::net::TcpListener::bind(SocketAddr::from((
                [127, 0, 0, 1],
                0,
            ))))
            .context("listening for a witness")?;
        let url = format!("http://{}", listener.local_addr()?);
        witness_rt.spawn(async move {
            let _ = axum::serve(listener, hotline_witness::router(witness)).await;
        });
        witnesses.push(LocalWitness { name, vkey, url });
    }
    let mut policy_toml = format!("required = {}\n", witnesses.len());
    for w in &witnesses {
        policy_toml.push_str(&format!(
            "\n[[witness]]\nname = \"{}\"\nurl = \"{}\"\nvkey = \"{}\"\n",
            w.name, w.url, w.vkey
        ));
    }
    std::fs::write(path.join("witnesses.toml"), &policy_toml).context("writing witnesses.toml")?;
    let policy = WitnessPolicy::parse(&policy_toml).map_err(|e| anyhow!("{e}"))?;

    // As `hotline serve` runs by default (its --batch-* defaults).
    let config = hotline_store::sequencer::SequencerConfig {
        linger: Duration::from_millis(1),
        ..Default::default()
    };
    let log = OpenLog::open(&dir, config)?;
    let server = InProcessServer::start(log)?;
    let url = server.url.clone();
    let result = measure(args, &url, origin, &dir, &log_vkey, &policy);
    server.stop()?;
    drop(witness_rt);
    result
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn tempdir() -> Result<TempDir> {
    let p = std::env::temp_dir().join(format!(
        "hotline-bench-witness-{}-{:08x}",
        std::process::id(),
        rand::random::<u32>()
    ));
    Ok(TempDir(p))
}

/// One prepared submission.
struct Prepared {
    body: Vec<u8>,
    token: String,
    id_hex: String,
}

fn measure(
    args: &BenchWitnessArgs,
    url: &str,
    origin: &str,
    dir: &DataDir,
    log_vkey: &Ed25519Verifier,
    policy: &WitnessPolicy,
) -> Result<WitnessBenchReport> {
    let operator_token =
        hotline_crypto::read_secret(&dir.path().join(datadir::OPERATOR_TOKEN))?.to_string();
    let api = ApiClient::new(url, Some(operator_token.clone()))?;
    // Parties, then the notices, all before the clock.
    let parties: Vec<(PartyId, PartyKeys, String)> = (0..4)
        .map(|i| {
            let id = format!("bench-{i}");
            let keys = PartyKeys::generate(&id)?;
            let party = PartyId::new(&id).map_err(|e| anyhow!("{e}"))?;
            let mut st = Statement::new(
                origin,
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
            let token = api.register(&signed.bytes)?.token;
            Ok((party, keys, token))
        })
        .collect::<Result<_>>()?;
    let now = Timestamp::now();
    let prepared: Vec<Prepared> = (0..args.statements)
        .map(|k| {
            let (from, keys, token) = &parties[k % parties.len()];
            let (to, to_keys, _) = &parties[(k + 1) % parties.len()];
            let doc = CaseDocument::new("benchmark", "a notice");
            let plaintext = doc.to_plaintext();
            let ciphertext =
                hotline_crypto::encrypt(&plaintext, &[to_keys.recipient(), keys.recipient()])?;
            let mut st = Statement::new(origin, Kind::Notice, from.clone(), now);
            st.case = Some(CaseId::generate(now));
            st.recipient = Some(to.clone());
            st.priority = Some(Priority::Routine);
            st.handling = Some(Handling::H2);
            st.tlp = Some(Tlp::Green);
            st.payload = Some(PayloadCommitment {
                sha256: sha256(&ciphertext),
                size: ciphertext.len() as u64,
                plaintext_sha256: sha256(&plaintext),
            });
            let signed = SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner])?;
            let body = serde_json::to_vec(&hotline_server::api::SubmitDto {
                statement: String::from_utf8(signed.bytes.clone())?,
                payload: Some(base64::Engine::encode(
                    &base64::engine::general_purpose::STANDARD,
                    &ciphertext,
                )),
            })?;
            Ok(Prepared {
                body,
                token: token.clone(),
                id_hex: signed.id.to_hex(),
            })
        })
        .collect::<Result<_>>()?;

    // The watcher: when each cosigned size was first served.
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (sent, cosigned_sizes) = std::thread::scope(|s| -> Result<_> {
        let watcher = s.spawn(|| -> Result<Vec<(Duration, u64)>> {
            let http = reqwest::blocking::Client::new();
            let mut seen: Vec<(Duration, u64)> = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let resp = http.get(format!("{url}/log/checkpoint")).send();
                if let Ok(r) = resp
                    && r.status().is_success()
                    && let Ok(bytes) = r.bytes()
                    && let Some(size) = checkpoint_size(&bytes)
                    && seen.last().is_none_or(|(_, last)| size > *last)
                {
                    seen.push((started.elapsed(), size));
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            Ok(seen)
        });
        let per_client = |c: usize| {
            prepared
                .iter()
                .enumerate()
                .filter(move |(k, _)| k % args.clients == c)
        };
        let interval = Duration::from_secs_f64(args.clients as f64 / args.rate as f64);
        let clients: Vec<_> = (0..args.clients)
            .map(|c| {
                let mine: Vec<(usize, &Prepared)> = per_client(c).collect();
                s.spawn(move || -> Result<Vec<(usize, Duration, Duration, u64)>> {
                    let http = reqwest::blocking::Client::new();
                    let mut out = Vec::with_capacity(mine.len());
                    // Clients start spread over one interval.
                    let offset = interval.mul_f64(c as f64 / args.clients as f64);
                    for (n, (k, p)) in mine.into_iter().enumerate() {
                        let due = offset + interval.mul_f64(n as f64);
                        let now = started.elapsed();
                        if due > now {
                            std::thread::sleep(due - now);
                        }
                        let t0 = started.elapsed();
                        let resp = http
                            .post(format!("{url}/api/v1/statements"))
                            .bearer_auth(&p.token)
                            .header("content-type", "application/json")
                            .body(p.body.clone())
                            .send()
                            .context("submitting")?;
                        let status = resp.status();
                        let body: serde_json::Value = resp.json().context("reading a receipt")?;
                        if !status.is_success() {
                            bail!("submission refused: {status} {body}");
                        }
                        let index = body["index"]
                            .as_u64()
                            .ok_or_else(|| anyhow!("a receipt without index: {body}"))?;
                        out.push((k, t0, started.elapsed(), index));
                    }
                    Ok(out)
                })
            })
            .collect();
        let mut sent = Vec::new();
        for c in clients {
            sent.extend(c.join().map_err(|_| anyhow!("a client panicked"))??);
        }
        // Wait (30 s at most) until a cosigned checkpoint covers everything.
        let last = sent.iter().map(|(_, _, _, i)| *i).max().unwrap_or(0);
        let deadline = Instant::now() + Duration::from_secs(30);
        let http = reqwest::blocking::Client::new();
        while Instant::now() < deadline {
            let covered = http
                .get(format!("{url}/log/checkpoint"))
                .send()
                .ok()
                .and_then(|r| r.bytes().ok())
                .and_then(|b| checkpoint_size(&b))
                .is_some_and(|s| s > last);
            if covered {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        std::thread::sleep(Duration::from_millis(20));
        stop.store(true, Ordering::Relaxed);
        let seen = watcher
            .join()
            .map_err(|_| anyhow!("the watcher panicked"))??;
        Ok((sent, seen))
    })?;
    let elapsed = sent
        .iter()
        .map(|(_, _, t, _)| *t)
        .max()
        .unwrap_or_default()
        .as_secs_f64();
    let mut receipt_ms = Vec::with_capacity(sent.len());
    let mut cosigned_ms = Vec::with_capacity(sent.len());
    for (_, t0, t1, index) in &sent {
        receipt_ms.push(*t1 - *t0);
        let at = cosigned_sizes
            .iter()
            .find(|(_, size)| *size > *index)
            .map(|(t, _)| *t)
            .ok_or_else(|| {
                anyhow!("no cosigned checkpoint covered statement {index} within 30 s")
            })?;
        cosigned_ms.push(at.saturating_sub(*t0));
    }
    // Check a sample of cosigned receipts for real.
    let mut verified = 0;
    let step = (sent.len() / 20).max(1);
    for (k, _, _, _) in sent.iter().step_by(step) {
        let p = &prepared[*k];
        let client = ApiClient::new(url, Some(p.token.clone()))?;
        let r = client
            .receipt(&p.id_hex, true)?
            .ok_or_else(|| anyhow!("a covered statement has no cosigned receipt"))?;
        let proof = TlogProof::parse(r.receipt.as_bytes()).map_err(|e| anyhow!("{e}"))?;
        let id = hotline_tlog::Hash::from_base64(&r.id).ok_or_else(|| anyhow!("bad id"))?;
        let (cp, note) = proof
            .verify(&id, origin, &[log_vkey as &dyn hotline_tlog::NoteVerifier])
            .map_err(|e| anyhow!("a cosigned receipt does not verify: {e}"))?;
        crate::logsync::check_witnesses(policy, &note, &cp)?;
        verified += 1;
    }
    let cosigned = Percentiles::from_micros(micros(cosigned_ms));
    Ok(WitnessBenchReport {
        witnesses: args.witnesses,
        statements: sent.len(),
        rate: sent.len() as f64 / elapsed.max(1e-9),
        receipt_ms: Percentiles::from_micros(micros(receipt_ms)),
        within_target: cosigned.p99 <= TARGET_P99_MS,
        cosigned_ms: cosigned,
        cosigned_checkpoints: cosigned_sizes.len(),
        verified_receipts: verified,
    })
}

fn micros(v: Vec<Duration>) -> Vec<u32> {
    v.into_iter()
        .map(|d| d.as_micros().min(u128::from(u32::MAX)) as u32)
        .collect()
}

/// The tree size of a served checkpoint note.
fn checkpoint_size(note: &[u8]) -> Option<u64> {
    let n = Note::parse(note).ok()?;
    Checkpoint::parse(n.text()).ok().map(|c| c.size)
}
