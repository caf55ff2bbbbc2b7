//! `hotline fsck`: a read-only integrity check of a stored log (SQLite data directory or
//! PostgreSQL database), see [`hotline_store::fsck`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use hotline_store::LogReader;
use hotline_store::fsck::FsckReport;

use crate::datadir::{DATABASE_URL, DataDir, LOG_VKEY, Store};

/// Logs at least this large get a progress bar.
const PROGRESS_FROM: u64 = 100_000;

/// Where the log to check is.
#[derive(clap::Args, Debug)]
pub struct FsckArgs {
    /// Data directory created by `hotline init` (checked against DIR/log.vkey; its log in
    /// DIR/hotline.db or in the PostgreSQL database recorded in DIR/database.url).
    #[arg(
        long,
        required_unless_present = "database",
        conflicts_with = "database"
    )]
    pub dir: Option<PathBuf>,
    /// A PostgreSQL log, postgres://… (checked against the key stored with it).
    #[arg(long)]
    pub database: Option<String>,
}

/// Opens the log `args` names for reading only (no lock, no writer) with its verifier key.
pub fn open(dir: Option<&PathBuf>, database: Option<&str>) -> Result<(Arc<dyn LogReader>, String)> {
    if let Some(dir) = dir {
        let dd = DataDir::new(dir);
        let store = dd.store()?;
        if let Store::Sqlite(db) = &store
            && !db.exists()
        {
            bail!(
                "{} is not a hotline data directory (no {} or {})",
                dir.display(),
                db.display(),
                dir.join(DATABASE_URL).display()
            );
        }
        let vkey_path = dir.join(LOG_VKEY);
        let vkey = std::fs::read_to_string(&vkey_path)
            .with_context(|| format!("reading {}", vkey_path.display()))?;
        // Checked against DIR/log.vkey, also when the log is in PostgreSQL.
        let reader: Arc<dyn LogReader> = match store {
            Store::Sqlite(db) => Arc::new(hotline_store::sqlite::SqliteReader::open(&db)?),
            Store::Postgres(url) => Arc::new(hotline_store::postgres::PgReader::open(&url)?),
        };
        Ok((reader, vkey.trim().to_owned()))
    } else if let Some(url) = database {
        let reader = hotline_store::postgres::PgReader::open(url)?;
        let vkey = reader.log_vkey().to_owned();
        Ok((Arc::new(reader), vkey))
    } else {
        bail!("give --dir or --database")
    }
}

/// Checks the log and prints the report; fails (non-zero exit) on any problem.
pub fn run(args: &FsckArgs, json: bool) -> Result<()> {
    let (reader, vkey) = open(args.dir.as_ref(), args.database.as_deref())?;
    let what = match (&args.dir, &args.database) {
        (Some(d), _) => d.display().to_string(),
        (None, Some(url)) => hotline_store::postgres::target_of(url),
        _ => String::new(),
    };
    let started = Instant::now();
    let report = check(reader, &vkey, !json)?;
    let seconds = started.elapsed().as_secs_f64();
    print(&what, &report, seconds, json);
    if !report.ok() {
        let n = report.problems.len() as u64 + report.more_problems;
        if json {
            // The report above is the answer; no second JSON object.
            std::process::exit(1);
        }
        bail!(
            "{what}: {n} problem(s) found; the first: {}",
            report.problems[0]
        );
    }
    Ok(())
}

/// Runs the check with a progress bar on large logs when `show_progress`.
pub fn check(reader: Arc<dyn LogReader>, vkey: &str, show_progress: bool) -> Result<FsckReport> {
    let size = reader.latest_checkpoint()?.map_or(0, |c| c.size);
    let bar = (show_progress && size >= PROGRESS_FROM).then(|| {
        let bar = indicatif::ProgressBar::new(size);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "fsck {bar:40} {pos}/{len} entries ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let progress = |n: u64| {
        if let Some(b) = &bar {
            b.set_position(n);
        }
    };
    let report = hotline_store::fsck::fsck(reader, vkey, &progress)?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(report)
}

fn print(what: &str, r: &FsckReport, seconds: f64, json: bool) {
    let root = r.root.map(|h| h.to_base64());
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": r.ok(),
                "log": what,
                "entries": r.entries,
                "bundles": r.bundles,
                "tiles": r.tiles,
                "checkpoints": r.checkpoints,
                "payloads": r.payloads,
                "taxii_publications": r.taxii_publications,
                "taxii_objects": r.taxii_objects,
                "root": root,
                "seconds": seconds,
                "problems": r.problems,
                "more_problems": r.more_problems,
            })
        );
        return;
    }
    for p in &r.problems {
        println!("problem: {p}");
    }
    if r.more_problems > 0 {
        println!("… and {} more problem(s)", r.more_problems);
    }
    println!(
        "{} {what}: {} entries, {} bundles, {} tiles, {} checkpoints, {} payloads{} checked \
         in {seconds:.2}s{}",
        if r.ok() { "ok" } else { "FAILED" },
        r.entries,
        r.bundles,
        r.tiles,
        r.checkpoints,
        r.payloads,
        if r.taxii_publications + r.taxii_objects > 0 {
            format!(
                ", {} TAXII publications, {} TAXII objects",
                r.taxii_publications, r.taxii_objects
            )
        } else {
            String::new()
        },
        root.map(|r| format!("; root {r}")).unwrap_or_default()
    );
}
