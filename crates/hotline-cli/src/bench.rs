//! `hotline bench log`: synthetic entries through the real sequencer and SQLite store,
//! measuring throughput, commits and receipt latency.

use std::collections::VecDeque;
use std::io::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_store::sequencer::Receipt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::datadir::DataDir;
use crate::serve::{BatchArgs, OpenLog};

/// Options of `hotline bench log`.
#[derive(clap::Args, Debug)]
pub struct BenchLogArgs {
    /// Data directory; initialised if it does not hold a hotline yet.
    #[arg(long)]
    pub dir: std::path::PathBuf,
    /// Entries to append.
    #[arg(long, default_value_t = 1_000_000)]
    pub entries: u64,
    /// Bytes per entry (at most 65,535).
    #[arg(long, default_value_t = 400)]
    pub entry_size: usize,
    /// Threads submitting entries and building receipts.
    #[arg(long, default_value_t = 2)]
    pub producers: usize,
    /// Entries each producer keeps in flight.
    #[arg(long, default_value_t = 8192)]
    pub window: usize,
    /// Submit at most this many entries per second in total (default: as fast as possible).
    /// Latency is only meaningful below saturation: at full speed it measures the queue.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Entries each producer submits together (one queue slot and one reply for the group),
    /// as a bulk importer would; 1 submits entry by entry, as independent callers do.
    #[arg(long, default_value_t = 1)]
    pub group: usize,
    /// Build the receipt's inclusion proof for every Nth entry only (1: every entry). The other
    /// callers stop at the durable commit, when index and signed checkpoint are known and the
    /// proof is a pure function of them; see BENCHMARKS.md for both figures.
    #[arg(long, default_value_t = 1)]
    pub proof_every: u64,
    /// Repeat the run this many times, each on a fresh log under DIR, alternating with a
    /// baseline (the same bytes written by SQLite alone, same pragmas and transaction size),
    /// and report medians and the ratio to the baseline.
    #[arg(long, default_value_t = 1)]
    pub runs: usize,
    /// Batching.
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Print the result as JSON (set from the global --json).
    #[arg(skip)]
    pub json: bool,
    /// Write one JSON line per receipt to this file ("-": standard output, before the report)
    /// as soon as it is built, flushed line by line: index, leaf_hash, new, entry (base64),
    /// checkpoint {size, root} and the receipt as tlog_proof text. A crash harness reading it
    /// knows every receipt handed out before the process died.
    #[arg(long)]
    pub receipts: Option<std::path::PathBuf>,
}

/// The benchmark's entry number `n` of one run: the filler stamped with the run id and `n`, so
/// entries are unique and the receipt log can rebuild them without keeping them in flight.
fn bench_entry(filler: &[u8], run_id: u64, n: u64) -> Vec<u8> {
    let mut e = filler.to_vec();
    e[..8].copy_from_slice(&run_id.to_be_bytes());
    e[8..16].copy_from_slice(&n.to_be_bytes());
    e
}

/// Where `--receipts` lines go. One lock per line keeps lines whole when producers race.
struct ReceiptLog<'a> {
    out: Mutex<Box<dyn std::io::Write + Send>>,
    filler: &'a [u8],
    run_id: u64,
}

impl ReceiptLog<'_> {
    /// Writes and flushes the line of the receipt for entry number `n`.
    fn record(&self, n: u64, r: &Receipt) -> Result<()> {
        let line = serde_json::json!({
            "index": r.index,
            "leaf_hash": r.leaf_hash.to_base64(),
            "new": r.new,
            "entry": B64.encode(bench_entry(self.filler, self.run_id, n)),
            "checkpoint": {
                "size": r.checkpoint.size(),
                "root": r.checkpoint.checkpoint.root.to_base64(),
            },
            "tlog_proof": String::from_utf8_lossy(&r.to_tlog_proof().to_bytes()),
        });
        let mut text = line.to_string();
        text.push('\n');
        let mut out = self
            .out
            .lock()
            .map_err(|_| anyhow!("receipt log poisoned"))?;
        // Flushed per line: a receipt counts as handed out once its line has left the process.
        out.write_all(text.as_bytes())
            .and_then(|()| out.flush())
            .context("writing --receipts")
    }
}

/// Result of a log benchmark.
#[derive(Serialize, Debug)]
pub struct BenchLogReport {
    /// Entries appended.
    pub entries: u64,
    /// Bytes per entry.
    pub entry_size: usize,
    /// Wall-clock seconds from first submit to last receipt.
    pub seconds: f64,
    /// Entries per second.
    pub entries_per_sec: f64,
    /// Durable commits (signed checkpoints) made.
    pub commits: u64,
    /// Mean entries per commit.
    pub mean_batch: f64,
    /// Configured batch size.
    pub batch_size: usize,
    /// Configured batch age, milliseconds.
    pub batch_age_ms: u64,
    /// Receipt latency percentiles (submit → inclusion proof under a signed checkpoint), ms.
    pub latency_ms: Percentiles,
    /// Tree size after the run.
    pub final_size: u64,
    /// Where the sequencer's time went.
    pub sequencer: SequencerTime,
}

/// Time the sequencer's two stages spent, in seconds of wall-clock time.
#[derive(Serialize, Debug)]
pub struct SequencerTime {
    /// Batches committed in this run.
    pub batches: u64,
    /// Integrating batches (dedup, tiles, bundles, consistency check, signature).
    pub integrate_s: f64,
    /// Writing batches (SQLite work).
    pub commit_s: f64,
    /// Making them durable (fsync of the WAL).
    pub sync_s: f64,
    /// Integrator waiting for the committer to take the next batch.
    pub handoff_wait_s: f64,
}

/// Latency percentiles in milliseconds.
#[derive(Serialize, Debug)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Maximum.
    pub max: f64,
}

impl Percentiles {
    /// Percentiles of durations in microseconds.
    pub fn from_micros(mut v: Vec<u32>) -> Percentiles {
        v.sort_unstable();
        let at = |q: f64| -> f64 {
            if v.is_empty() {
                return 0.0;
            }
            let i = ((v.len() as f64 - 1.0) * q).round() as usize;
            f64::from(v[i]) / 1000.0
        };
        Percentiles {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: at(1.0),
        }
    }
}

/// Medians of repeated runs against a baseline measured in the same invocation.
#[derive(Serialize, Debug)]
pub struct BenchCompareReport {
    /// Every run, in order.
    pub runs: Vec<BenchLogReport>,
    /// Baseline entries/s of each run (SQLite alone writing the same bytes).
    pub baseline_entries_per_sec: Vec<f64>,
    /// Median entries/s of hotline.
    pub median_entries_per_sec: f64,
    /// Median entries/s of the baseline.
    pub median_baseline_entries_per_sec: f64,
    /// hotline's median divided by the baseline's.
    pub ratio_to_baseline: f64,
    /// Median receipt latency p50 / p99 over the runs, milliseconds.
    pub median_latency_ms: (f64, f64),
}

/// The median of `v` (0 when empty).
pub(crate) fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Runs `args.runs` fresh runs under `args.dir`, each after a baseline run, and compares.
pub fn bench_log_compare(args: &BenchLogArgs) -> Result<BenchCompareReport> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("creating {}", args.dir.display()))?;
    let mut runs = Vec::new();
    let mut baselines = Vec::new();
    for i in 0..args.runs {
        let base = args.dir.join(format!("baseline-{i}.db"));
        let _ = std::fs::remove_file(&base);
        // Let the previous run's writeback settle so runs do not pay for each other.
        std::thread::sleep(std::time::Duration::from_secs(2));
        let took = hotline_store::sqlite::baseline_bundle_writes(
            &base,
            args.entries,
            args.entry_size,
            args.batch.batch_size,
        )?;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", base.display()));
        }
        baselines.push(args.entries as f64 / took.as_secs_f64().max(f64::EPSILON));
        std::thread::sleep(std::time::Duration::from_secs(2));
        let run_dir = args.dir.join(format!("run-{i}"));
        if run_dir.exists() {
            std::fs::remove_dir_all(&run_dir)
                .with_context(|| format!("removing {}", run_dir.display()))?;
        }
        let one = BenchLogArgs {
            dir: run_dir.clone(),
            entries: args.entries,
            entry_size: args.entry_size,
            producers: args.producers,
            window: args.window,
            rate: args.rate,
            proof_every: args.proof_every,
            group: args.group,
            runs: 1,
            batch: args.batch.clone(),
            json: true,
            receipts: None,
        };
        let report = bench_log(&one)?;
        std::fs::remove_dir_all(&run_dir)
            .with_context(|| format!("removing {}", run_dir.display()))?;
        if !args.json {
            eprintln!(
                "run {}/{}: hotline {:.0} entries/s, SQLite alone {:.0} entries/s",
                i + 1,
                args.runs,
                report.entries_per_sec,
                baselines[i]
            );
        }
        runs.push(report);
    }
    let m = median(runs.iter().map(|r| r.entries_per_sec).collect());
    let b = median(baselines.clone());
    Ok(BenchCompareReport {
        median_latency_ms: (
            median(runs.iter().map(|r| r.latency_ms.p50).collect()),
            median(runs.iter().map(|r| r.latency_ms.p99).collect()),
        ),
        runs,
        baseline_entries_per_sec: baselines,
        median_entries_per_sec: m,
        median_baseline_entries_per_sec: b,
        ratio_to_baseline: if b > 0.0 { m / b } else { 0.0 },
    })
}

/// Prints a comparison for people.
pub fn print_compare(r: &BenchCompareReport) {
    println!(
        "median of {} runs: hotline {:.0} entries/s; SQLite alone (same bytes, same \
         transactions) {:.0} entries/s; ratio {:.2}",
        r.runs.len(),
        r.median_entries_per_sec,
        r.median_baseline_entries_per_sec,
        r.ratio_to_baseline
    );
    println!(
        "median receipt latency: p50 {:.2} ms, p99 {:.2} ms",
        r.median_latency_ms.0, r.median_latency_ms.1
    );
}

/// Runs the benchmark.
pub fn bench_log(args: &BenchLogArgs) -> Result<BenchLogReport> {
    if args.entry_size < 16 || args.entry_size > hotline_tlog::bundle::MAX_ENTRY_SIZE {
        return Err(anyhow!(
            "--entry-size must be between 16 and 65535 bytes (got {})",
            args.entry_size
        ));
    }
    let dir = DataDir::new(&args.dir);
    if dir.is_hotline() {
        return Err(anyhow!(
            "{} holds a hotline: bench log writes synthetic entries, use a fresh directory",
            args.dir.display()
        ));
    }
    if !dir.is_initialised() {
        dir.init("bench.hotline.invalid/log")?;
    }
    let log = OpenLog::open(&dir, args.batch.config())?;
    let start_size = log.view().snapshot().size();
    let run_id: u64 = rand::random();
    let mut filler = vec![0u8; args.entry_size];
    rand::fill(&mut filler[..]);
    let receipt_log = match &args.receipts {
        None => None,
        Some(p) => {
            let out: Box<dyn std::io::Write + Send> = if p.as_os_str() == "-" {
                Box::new(std::io::stdout())
            } else {
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p)
                        .with_context(|| format!("creating {}", p.display()))?,
                ))
            };
            Some(ReceiptLog {
                out: Mutex::new(out),
                filler: &filler,
                run_id,
            })
        }
    };

    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(args.entries).with_style(
            ProgressStyle::with_template("{spinner} {pos}/{len} entries [{bar:30}] {per_sec}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        )
    };
    let producers = args.producers.max(1) as u64;
    let started = Instant::now();
    let latencies: Vec<Vec<u32>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..producers)
            .map(|p| {
                let seq = log.sequencer.clone();
                let filler = &filler;
                let bar = &bar;
                let receipt_log = receipt_log.as_ref();
                let proof_every = args.proof_every.max(1);
                let window = args.window.max(1);
                let count = args.entries / producers + u64::from(p < args.entries % producers);
                // Seconds between two submissions of this producer, when paced.
                let pace = args.rate.map(|r| producers as f64 / r.max(1) as f64);
                s.spawn(move || -> Result<Vec<u32>> {
                    let mut lat = Vec::with_capacity(count as usize);
                    let mut inflight = VecDeque::with_capacity(window);
                    let mut inflight_entries = 0usize;
                    let group = args.group.max(1);
                    // Latency is taken when the producer sees the outcome; it looks after every
                    // submission, so that is within one submission of its arrival. Entries
                    // submitted together share their group's latency.
                    let finish = |t0: Instant,
                                  first_i: u64,
                                  outcome: Result<
                        hotline_store::sequencer::AppendedGroup,
                        hotline_store::sequencer::AppendError,
                    >,
                                  lat: &mut Vec<u32>|
                     -> Result<usize> {
                        let outcome = outcome?;
                        for k in 0..outcome.entries.len() {
                            let n = (first_i + k as u64) * producers + p;
                            if receipt_log.is_some() || n.is_multiple_of(proof_every) {
                                let appended = outcome
                                    .get(k)
                                    .ok_or_else(|| anyhow!("missing outcome {k}"))?;
                                let receipt = appended.receipt(seq.view())?;
                                if let Some(log) = receipt_log {
                                    log.record(n, &receipt)?;
                                }
                            }
                        }
                        let micros = t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32;
                        lat.extend(std::iter::repeat_n(micros, outcome.entries.len()));
                        Ok(outcome.entries.len())
                    };
                    let paced_from = Instant::now();
                    let mut i = 0u64;
                    while i < count {
                        if let Some(pace) = pace {
                            let due =
                                paced_from + std::time::Duration::from_secs_f64(pace * i as f64);
                            let now = Instant::now();
                            if due > now {
                                std::thread::sleep(due - now);
                            }
                        }
                        let len = (group as u64).min(count - i);
                        let entries: Vec<Vec<u8>> = (i..i + len)
                            .map(|k| bench_entry(filler, run_id, k * producers + p))
                            .collect();
                        let t0 = Instant::now();
                        inflight.push_back((t0, i, seq.submit_many(entries)?));
                        inflight_entries += len as usize;
                        i += len;
                        if inflight_entries >= window
                            && let Some((t0, first_i, pending)) = inflight.pop_front()
                        {
                            inflight_entries -= finish(t0, first_i, pending.wait(), &mut lat)?;
                        }
                        while let Some(front) = inflight.front_mut() {
                            let Some(outcome) = front.2.try_wait() else {
                                break;
                            };
                            let (t0, first_i) = (front.0, front.1);
                            inflight.pop_front();
                            inflight_entries -= finish(t0, first_i, outcome, &mut lat)?;
                        }
                        if i % 4096 < len {
                            bar.set_position(bar.position().max(i * producers));
                        }
                    }
                    while let Some((t0, first_i, pending)) = inflight.pop_front() {
                        finish(t0, first_i, pending.wait(), &mut lat)?;
                    }
                    Ok(lat)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow!("a producer thread panicked"))?
            })
            .collect::<Result<Vec<_>>>()
    })?;
    let elapsed = started.elapsed();
    bar.finish_and_clear();
    let stats = log.sequencer.stats().snapshot();
    let final_size = log.view().snapshot().size();
    let commits = log
        .view()
        .reader()
        .checkpoints_after(start_size, usize::MAX >> 1)?
        .len() as u64;
    let seconds = elapsed.as_secs_f64().max(f64::EPSILON);
    let all: Vec<u32> = latencies.into_iter().flatten().collect();
    let OpenLog { sequencer, .. } = log;
    sequencer.shutdown();
    Ok(BenchLogReport {
        entries: args.entries,
        entry_size: args.entry_size,
        seconds,
        entries_per_sec: args.entries as f64 / seconds,
        commits,
        mean_batch: if commits == 0 {
            0.0
        } else {
            (final_size - start_size) as f64 / commits as f64
        },
        batch_size: args.batch.batch_size,
        batch_age_ms: args.batch.batch_age_ms,
        latency_ms: Percentiles::from_micros(all),
        final_size,
        sequencer: SequencerTime {
            batches: stats.batches,
            integrate_s: stats.integrate_s,
            commit_s: stats.commit_s,
            sync_s: stats.sync_s,
            handoff_wait_s: stats.handoff_wait_s,
        },
    })
}

/// Prints a report for people.
pub fn print_report(r: &BenchLogReport) {
    println!(
        "appended {} entries of {} bytes in {:.2} s: {:.0} entries/s",
        r.entries, r.entry_size, r.seconds, r.entries_per_sec
    );
    println!(
        "commits: {} (mean {:.0} entries per commit; batch size {}, age {} ms)",
        r.commits, r.mean_batch, r.batch_size, r.batch_age_ms
    );
    println!(
        "receipt latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        r.latency_ms.p50, r.latency_ms.p90, r.latency_ms.p99, r.latency_ms.max
    );
    println!(
        "sequencer: {} batches; integrating {:.2} s, writing {:.2} s, syncing {:.2} s, \
         integrator waiting on the writer {:.2} s",
        r.sequencer.batches,
        r.sequencer.integrate_s,
        r.sequencer.commit_s,
        r.sequencer.sync_s,
        r.sequencer.handoff_wait_s
    );
    println!("tree size now {}", r.final_size);
}
