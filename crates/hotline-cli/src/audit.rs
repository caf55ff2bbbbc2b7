//! `hotline audit`: download and verify a hotline's whole log (as `hotline log verify`), replay
//! every entry as a statement through the same rules the server applies (each signature against
//! the party directory as it stood at that point of the log, the lifecycle of every case), then
//! print statistics per pair of parties and month (`hotline_core::stats`, where every figure is
//! defined).
//!
//! JSON shape (`--json`), stable; fields are only ever added:
//!
//! ```text
//! { "ok": true, "origin": str, "size": int, "root": base64,
//!   "consistent_with": null | { "size": int, "root": base64 },
//!   "statements_replayed": int, "cases": int (in the whole log),
//!   "since": null | RFC 3339, "until": null | RFC 3339,
//!   "tiles_checked": int, "requests": int, "checkpoint_bytes": int,
//!   "downloaded_tiles": int, "downloaded_bytes": int (tiles and bundles, not the checkpoint),
//!   "cached_tiles": int, "cached_bytes": int, "seconds": float,
//!   "times": str (what the durations are over),
//!   "rows": [ { "requester", "responder", "month": "YYYY-MM", "notices", "requests",
//!               "requests_by_type": { type: int, … every request type },
//!               "delivered", "acknowledged", "answered", "declined",
//!               "overdue", "overdue_ack", "overdue_answer",
//!               "time_to_ack": { "cases", "median_seconds": int|null, "p90_seconds": int|null },
//!               "time_to_answer": { same } } … ] }
//! ```
//!
//! `--csv` prints [`CSV_HEADER`] and one line per row, durations in seconds (empty when no
//! case).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, anyhow, bail};
use hotline_core::replay::Refused;
use hotline_core::stats::{self, Period, Row};
use hotline_core::vocab::RequestType;
use hotline_core::{DeadlinePolicy, Hotline, Timestamp};
use serde::Serialize;

use crate::logsync::{SyncOptions, sync_log};
use crate::verify::{EarlierCheckpoint, load_vkey};

/// Arguments of `hotline audit`.
#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Server URL (e.g. http://127.0.0.1:8080) or log prefix (…/log).
    #[arg(long)]
    pub url: String,
    /// The log's verifier key, or a file holding it (e.g. DIR/log.vkey).
    #[arg(long)]
    pub vkey: String,
    /// File keeping the last verified checkpoint: the new one must extend it, and then
    /// replaces it.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Directory caching downloaded tiles and entry bundles (verified again on every run), so
    /// a later run downloads only what is new. Default with --state: STATE.cache next to it.
    #[arg(long)]
    pub cache: Option<PathBuf>,
    /// Witness policy (TOML: `required = k` and `[[witness]]` tables with `name` and `vkey`):
    /// the checkpoint must carry at least k valid cosignatures by distinct listed witnesses.
    #[arg(long)]
    pub witness_policy: Option<PathBuf>,
    /// On ROLLBACK or FORK (the log no longer extends the checkpoint in --state), write both
    /// signed checkpoints to this file as proof (the format of `hotline log verify`'s
    /// --evidence-out).
    #[arg(long)]
    pub evidence_out: Option<PathBuf>,
    /// Count cases opened at or after this time (YYYY-MM, YYYY-MM-DD or
    /// YYYY-MM-DDTHH:MM:SSZ, UTC).
    #[arg(long)]
    pub since: Option<String>,
    /// Count cases opened before this time (same formats).
    #[arg(long)]
    pub until: Option<String>,
    /// Print the statistics as CSV: a header line, then one line per pair and month.
    #[arg(long)]
    pub csv: bool,
}

/// The CSV header: one column per figure, `requests_<type>` per request type.
pub const CSV_HEADER: &str = "requester,responder,month,notices,requests,\
requests_preservation,requests_subscriber-info,requests_traffic-data,requests_takedown,\
requests_investigation,requests_emergency,requests_mla-follow-up,\
delivered,acknowledged,answered,declined,overdue,overdue_ack,overdue_answer,\
ack_cases,ack_median_seconds,ack_p90_seconds,answer_cases,answer_median_seconds,answer_p90_seconds";

/// What the durations are over, said with every output.
pub const TIMES_NOTE: &str = "time to acknowledge / answer: from the opening statement's time to \
the first acknowledged / the answer statement's time, over only the cases where it happened \
(ack_cases / answer_cases); median and p90 by nearest rank, in seconds";

/// The audit's result.
#[derive(Serialize, Debug)]
pub struct AuditReport {
    /// Always true in a report (failures are errors).
    pub ok: bool,
    /// The log's origin.
    pub origin: String,
    /// Verified tree size.
    pub size: u64,
    /// Verified root hash, base64.
    pub root: String,
    /// The earlier checkpoint proved to be a prefix of this one, if `--state` held one.
    pub consistent_with: Option<EarlierCheckpoint>,
    /// Statements replayed (every entry).
    pub statements_replayed: u64,
    /// Cases in the whole log.
    pub cases: u64,
    /// Lower bound of the period, if any.
    pub since: Option<String>,
    /// Upper bound of the period, if any.
    pub until: Option<String>,
    /// Hash tiles compared with the recomputed ones.
    pub tiles_checked: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Bytes of the checkpoint.
    pub checkpoint_bytes: u64,
    /// Tiles and bundles downloaded.
    pub downloaded_tiles: u64,
    /// Their bytes.
    pub downloaded_bytes: u64,
    /// Tiles and bundles read from the cache.
    pub cached_tiles: u64,
    /// Their bytes.
    pub cached_bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// What the durations are over.
    pub times: &'static str,
    /// One per pair of parties and month.
    pub rows: Vec<Row>,
}

/// Runs `hotline audit` and prints its result.
pub fn run(args: &AuditArgs, json: bool) -> Result<()> {
    if json && args.csv {
        bail!("--json and --csv: choose one");
    }
    let report = audit(args, !json && !args.csv)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else if args.csv {
        print!("{}", csv(&report.rows));
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

/// Downloads, verifies and replays the log, and computes the statistics.
pub fn audit(args: &AuditArgs, progress: bool) -> Result<AuditReport> {
    let (report, state) = audit_keeping_state(args, progress)?;
    // The replayed state is millions of allocations of the replay's applying thread, which
    // has ended: freeing them took ~0.8 s of a 1,000,000-statement audit (BENCHMARKS.md,
    // "Audit") after the report was known. Freed on another thread; `hotline audit` exits
    // without waiting.
    if let Some(h) = state {
        let _ = std::thread::Builder::new()
            .name("audit-free".into())
            .spawn(move || drop(h));
    }
    Ok(report)
}

/// [`audit`], also returning the replayed state (`None` for an empty log) for the caller to
/// free.
pub(crate) fn audit_keeping_state(
    args: &AuditArgs,
    progress: bool,
) -> Result<(AuditReport, Option<Hotline>)> {
    let started = Instant::now();
    let bound = |s: &Option<String>, what: &str| {
        s.as_deref()
            .map(|s| stats::parse_bound(s).map_err(|e| anyhow!("--{what}: {e}")))
            .transpose()
    };
    let period = Period {
        since: bound(&args.since, "since")?,
        until: bound(&args.until, "until")?,
    };
    let vkey = load_vkey(&args.vkey)?;
    let default_cache = args.state.as_ref().map(|s| {
        let mut p = s.as_os_str().to_owned();
        p.push(".cache");
        PathBuf::from(p)
    });
    let cache = args.cache.clone().or(default_cache);
    let witness_policy = crate::verify::load_witness_policy(args.witness_policy.as_deref())?;
    let opts = SyncOptions {
        url: &args.url,
        vkey: &vkey,
        state: args.state.as_deref(),
        cache: cache.as_deref(),
        progress,
        verb: "auditing",
        witness_policy: witness_policy.as_ref(),
    };
    // The deadline policy is not in the log (it is the server's configuration): replay with
    // the least one, so that only deadlines before their request's own time are refused.
    let policy = DeadlinePolicy {
        emergency: (0, 0),
        urgent: (0, 0),
        routine: (0, 0),
    };
    let (synced, hotline, failed) = replay_while_syncing(&opts, policy);
    let synced = crate::logsync::with_evidence(synced, args.evidence_out.as_deref())?;
    if let Some(f) = failed {
        bail!(
            "the log verifies (size {}, root {}) but its statements do not: entry {} \
             (statement {}): {} — checked against the party directory and cases as they stood \
             at that point of the log; nothing after it was replayed",
            synced.checkpoint.size,
            synced.checkpoint.root,
            f.index,
            f.id,
            f.error
        );
    }
    let (cases, rows, replayed) = match &hotline {
        Some(h) => (
            h.cases().count() as u64,
            stats::rows(&stats::facts(h), period),
            h.size(),
        ),
        None => (0, Vec::new(), 0),
    };
    let cp = synced.checkpoint;
    let report = AuditReport {
        ok: true,
        origin: cp.origin,
        size: cp.size,
        root: cp.root.to_base64(),
        consistent_with: synced.consistent_with,
        statements_replayed: replayed,
        cases,
        since: period.since.map(Timestamp::to_rfc3339),
        until: period.until.map(Timestamp::to_rfc3339),
        tiles_checked: synced.tiles_checked,
        requests: synced.requests,
        checkpoint_bytes: synced.checkpoint_bytes,
        downloaded_tiles: synced.downloaded_tiles,
        downloaded_bytes: synced.downloaded_bytes,
        cached_tiles: synced.cached_tiles,
        cached_bytes: synced.cached_bytes,
        seconds: started.elapsed().as_secs_f64(),
        times: TIMES_NOTE,
        rows,
    };
    Ok((report, hotline))
}

/// Runs [`sync_log`] and replays every entry it verifies through [`Hotline`] (the audit's
/// statement checks), pipelined ([`hotline_core::replay::replay_in_parallel`]): this thread
/// downloads and checks tiles while one thread per core verifies signatures ahead and one
/// applies the statements in log order. Returns the sync's result, the replayed hotline (if
/// the log has entries) and the first entry that did not fit.
fn replay_while_syncing(
    opts: &SyncOptions<'_>,
    policy: DeadlinePolicy,
) -> (
    Result<crate::logsync::Synced>,
    Option<Hotline>,
    Option<Refused>,
) {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    hotline_core::replay::replay_in_parallel(policy, threads, |feeder| {
        sync_log(opts, |cp, index, entry| {
            feeder.expect(cp.size);
            feeder.push(&cp.origin, index, entry);
            Ok(())
        })
    })
}

fn opt(v: Option<i64>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// The CSV text: [`CSV_HEADER`], then one line per row. Party ids and months need no quoting
/// (party ids are `a-z 0-9 -`).
pub fn csv(rows: &[Row]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for r in rows {
        let mut cells = vec![
            r.requester.clone(),
            r.responder.clone(),
            r.month.clone(),
            r.notices.to_string(),
            r.requests.to_string(),
        ];
        for t in RequestType::ALL {
            cells.push(
                r.requests_by_type
                    .get(t.as_str())
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            );
        }
        for n in [
            r.delivered,
            r.acknowledged,
            r.answered,
            r.declined,
            r.overdue,
            r.overdue_ack,
            r.overdue_answer,
        ] {
            cells.push(n.to_string());
        }
        for d in [&r.time_to_ack, &r.time_to_answer] {
            cells.push(d.cases.to_string());
            cells.push(opt(d.median_seconds));
            cells.push(opt(d.p90_seconds));
        }
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}

/// A duration for people: `45s`, `12m`, `3.5h`, `2.0d`.
fn human(secs: Option<i64>) -> String {
    match secs {
        None => "-".to_owned(),
        Some(s) if s.abs() < 120 => format!("{s}s"),
        Some(s) if s.abs() < 7200 => format!("{}m", s / 60),
        Some(s) if s.abs() < 2 * 86_400 => format!("{:.1}h", s as f64 / 3600.0),
        Some(s) => format!("{:.1}d", s as f64 / 86_400.0),
    }
}

/// The human table: a summary, then one line per pair and month.
fn table(r: &AuditReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "audited log {} at size {}: root {}",
        r.origin, r.size, r.root
    );
    let _ = writeln!(
        out,
        "  {} statements replayed against the directory as it stood at each entry, {} cases, \
         every lifecycle consistent",
        r.statements_replayed, r.cases
    );
    let _ = writeln!(
        out,
        "  {} tiles recomputed and compared; {} tiles downloaded ({} bytes), {} from the cache; \
         {} requests, {:.2} s",
        r.tiles_checked,
        r.downloaded_tiles,
        r.downloaded_bytes,
        r.cached_tiles,
        r.requests,
        r.seconds
    );
    if let Some(c) = &r.consistent_with {
        let _ = writeln!(
            out,
            "  extends the checkpoint seen before (size {}, root {})",
            c.size, c.root
        );
    }
    let period = match (&r.since, &r.until) {
        (None, None) => "all cases".to_owned(),
        (s, u) => format!(
            "cases opened in [{}, {})",
            s.as_deref().unwrap_or("start"),
            u.as_deref().unwrap_or("now")
        ),
    };
    let _ = writeln!(
        out,
        "\n{period}, per requester → responder and month (UTC):"
    );
    if r.rows.is_empty() {
        let _ = writeln!(out, "  (none)");
        return out;
    }
    let header = [
        "requester → responder",
        "month",
        "notices",
        "requests",
        "delivered",
        "acked",
        "answered",
        "declined",
        "overdue",
        "ack p50",
        "ack p90",
        "answer p50",
        "answer p90",
        "request types",
    ];
    let mut lines: Vec<Vec<String>> = vec![header.iter().map(|s| (*s).to_owned()).collect()];
    for row in &r.rows {
        let types: Vec<String> = row
            .requests_by_type
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("{t}:{n}"))
            .collect();
        lines.push(vec![
            format!("{} → {}", row.requester, row.responder),
            row.month.clone(),
            row.notices.to_string(),
            row.requests.to_string(),
            row.delivered.to_string(),
            row.acknowledged.to_string(),
            row.answered.to_string(),
            row.declined.to_string(),
            row.overdue.to_string(),
            human(row.time_to_ack.median_seconds),
            human(row.time_to_ack.p90_seconds),
            human(row.time_to_answer.median_seconds),
            human(row.time_to_answer.p90_seconds),
            types.join(" "),
        ]);
    }
    let cols = header.len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for l in &lines {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pad = widths[i] - c.chars().count();
                if i == 0 || i == cols - 1 {
                    format!("{c}{}", " ".repeat(pad))
                } else {
                    format!("{}{c}", " ".repeat(pad))
                }
            })
            .collect();
        let _ = writeln!(out, "  {}", cells.join("  ").trim_end());
    }
    let _ = writeln!(out, "\n{TIMES_NOTE}");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_csv_header_lists_every_request_type_in_order() {
        let cols: Vec<&str> = CSV_HEADER.split(',').collect();
        let types: Vec<String> = RequestType::ALL
            .iter()
            .map(|t| format!("requests_{}", t.as_str()))
            .collect();
        assert_eq!(&cols[5..5 + types.len()], types.as_slice());
        assert_eq!(cols.len(), 5 + types.len() + 7 + 6);
        let row = stats::rows(&[], Period::default());
        assert_eq!(csv(&row), format!("{CSV_HEADER}\n"));
    }
}
