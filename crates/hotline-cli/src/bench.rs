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
    /// Batching.
    #[command(flatten)]
    pub batch: BatchArgs,
    /// Print the result as JSON.
    #[arg(long)]
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

/// Runs the benchmark.
pub fn bench_log(args: &BenchLogArgs) -> Result<BenchLogReport> {
    if args.entry_size < 16 || args.entry_size > hotline_tlog::bundle::MAX_ENTRY_SIZE {
        return Err(anyhow!(
            "--entry-size must be between 16 and 65535 bytes (got {})",
            args.entry_size
        ));
    }
    let dir = DataDir::new(&args.dir);
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
                let window = args.window.max(1);
                let count = args.entries / producers + u64::from(p < args.entries % producers);
                s.spawn(move || -> Result<Vec<u32>> {
                    let mut lat = Vec::with_capacity(count as usize);
                    let mut inflight = VecDeque::with_capacity(window);
                    let finish = |(t0, n, pending): (
                        Instant,
                        u64,
                        hotline_store::sequencer::PendingAppend,
                    ),
                                  lat: &mut Vec<u32>|
                     -> Result<()> {
                        let appended = pending.wait()?;
                        let receipt = appended.receipt(seq.view())?;
                        if let Some(log) = receipt_log {
                            log.record(n, &receipt)?;
                        }
                        lat.push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                        Ok(())
                    };
                    for i in 0..count {
                        let n = i * producers + p;
                        let e = bench_entry(filler, run_id, n);
                        let t0 = Instant::now();
                        inflight.push_back((t0, n, seq.submit(e)?));
                        if inflight.len() >= window
                            && let Some(x) = inflight.pop_front()
                        {
                            finish(x, &mut lat)?;
                        }
                        if i % 4096 == 0 {
                            bar.set_position(bar.position().max(i * producers));
                        }
                    }
                    while let Some(x) = inflight.pop_front() {
                        finish(x, &mut lat)?;
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
    println!("tree size now {}", r.final_size);
}
