//! `hotline migrate`: copy a whole log between a data directory (SQLite) and a PostgreSQL
//! database, then check the copy with fsck (see [`hotline_store::copy`]).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use hotline_store::LogReader;
use hotline_store::copy::{CopyStats, Destination, copy_log};
use hotline_store::reader::SignedCheckpoint;

use crate::datadir::{DataDir, LOG_VKEY};

/// Source and destination of a copy.
#[derive(clap::Args, Debug)]
pub struct MigrateArgs {
    /// The log to copy: a data directory, or postgres://… (stop its server first).
    #[arg(long)]
    pub from: String,
    /// Where to copy it: a new data directory, or postgres://… with no log in it.
    #[arg(long)]
    pub to: String,
}

fn is_url(s: &str) -> bool {
    s.starts_with("postgres://") || s.starts_with("postgresql://")
}

fn describe(s: &str) -> String {
    if is_url(s) {
        hotline_store::postgres::target_of(s)
    } else {
        s.to_owned()
    }
}

fn root_of(reader: &dyn LogReader) -> Result<Option<(u64, String)>> {
    reader
        .latest_checkpoint()?
        .map(|stored| {
            let cp = SignedCheckpoint::from_stored(&stored)?;
            Ok((cp.size(), cp.checkpoint.root.to_base64()))
        })
        .transpose()
}

/// Copies, checks the copy, and prints the roots before and after.
pub fn run(args: &MigrateArgs, json: bool) -> Result<()> {
    if args.from == args.to {
        bail!("--from and --to name the same log");
    }
    let started = Instant::now();
    // The source: a data directory is locked so no server writes it meanwhile.
    let (_lock, src): (Option<std::fs::File>, Arc<dyn LogReader>) = if is_url(&args.from) {
        let r = hotline_store::postgres::PgReader::open(&args.from)?;
        (None, Arc::new(r))
    } else {
        let dd = DataDir::new(Path::new(&args.from));
        let lock = dd.lock()?;
        let r: Arc<dyn LogReader> = match dd.store()? {
            crate::datadir::Store::Sqlite(db) => {
                Arc::new(hotline_store::sqlite::SqliteReader::open(&db)?)
            }
            crate::datadir::Store::Postgres(url) => {
                Arc::new(hotline_store::postgres::PgReader::open(&url)?)
            }
        };
        (Some(lock), r)
    };
    let before = root_of(&*src)?;
    let stats: CopyStats = if is_url(&args.to) {
        copy_log(&*src, Destination::Postgres(&args.to))?
    } else {
        let dir = PathBuf::from(&args.to);
        let dd = DataDir::new(&dir);
        if dd.db().exists() || dir.join(crate::datadir::DATABASE_URL).exists() {
            bail!(
                "{} already holds a hotline database; refusing to copy over it",
                dir.display()
            );
        }
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("restricting {} to its owner", dir.display()))?;
        let vkey_path = dir.join(LOG_VKEY);
        if !vkey_path.exists() {
            std::fs::write(&vkey_path, format!("{}\n", src.log_vkey()))
                .with_context(|| format!("writing {}", vkey_path.display()))?;
        }
        copy_log(&*src, Destination::Sqlite(&dd.db()))?
    };
    drop(src);
    // Webhooks an older build kept in files of the source directory (never started since)
    // go into the copy too; the source's files stay, for the source's own next start.
    let imported = if is_url(&args.from) {
        None
    } else {
        import_legacy_webhooks(Path::new(&args.from), &args.to)?
    };

    // Check the copy, read-only, against its own key.
    let (dst, vkey) = if is_url(&args.to) {
        crate::fsck::open(None, Some(&args.to))?
    } else {
        crate::fsck::open(Some(&PathBuf::from(&args.to)), None)?
    };
    let after_cp = root_of(&*dst)?;
    let report = crate::fsck::check(dst, &vkey, !json)?;
    let seconds = started.elapsed().as_secs_f64();
    let after = report.root.map(|r| r.to_base64());
    let needs_keys = !is_url(&args.to);
    if json {
        println!(
            "{}",
            serde_json::json!({
                "ok": report.ok() && before.as_ref().map(|b| &b.1) == after.as_ref()
                    && before == after_cp,
                "from": describe(&args.from),
                "to": describe(&args.to),
                "size": stats.size,
                "meta": stats.meta,
                "bundles": stats.bundles,
                "tiles": stats.tiles,
                "checkpoints": stats.checkpoints,
                "payloads": stats.payloads,
                "credentials": stats.credentials,
                "taxii_publications": stats.taxii_publications,
                "taxii_objects": stats.taxii_objects,
                "webhooks": stats.webhooks,
                "webhook_pending": stats.webhook_pending,
                "webhook_deliveries": stats.webhook_deliveries,
                "webhook_next_index": stats.webhook_next_index,
                "webhooks_imported_from_files": imported.as_ref().map(|i| i.hooks),
                "root_before": before.as_ref().map(|b| &b.1),
                "root_after": after,
                "problems": report.problems,
                "seconds": seconds,
            })
        );
    } else {
        println!(
            "copied {} → {}: {} entries, {} bundles, {} tiles, {} checkpoints, {} payloads, {} \
             credentials, {} TAXII publications with {} objects, {} webhooks ({} events \
             queued, {} delivery attempts) in {seconds:.2}s",
            describe(&args.from),
            describe(&args.to),
            stats.size,
            stats.bundles,
            stats.tiles,
            stats.checkpoints,
            stats.payloads,
            stats.credentials,
            stats.taxii_publications,
            stats.taxii_objects,
            stats.webhooks,
            stats.webhook_pending,
            stats.webhook_deliveries
        );
        if let Some(i) = &imported {
            println!(
                "imported {} webhooks and {} delivery attempts from {} into the copy",
                i.hooks,
                i.deliveries,
                Path::new(&args.from)
                    .join(hotline_server::webhooks::LEGACY_FILE)
                    .display()
            );
        }
        println!(
            "root before: {}",
            before.as_ref().map_or("(empty log)", |b| b.1.as_str())
        );
        println!(
            "root after:  {}",
            after.as_deref().unwrap_or("(not computed)")
        );
        for p in &report.problems {
            println!("problem: {p}");
        }
        if needs_keys {
            eprintln!(
                "note: keys are not kept in the database: copy log.key (and, for a hotline, \
                 operator.key and operator.token) into {} before `hotline serve`",
                args.to
            );
        }
    }
    if !report.ok() {
        bail!(
            "the copy in {} fails fsck: {}",
            describe(&args.to),
            report.problems[0]
        );
    }
    if before.as_ref().map(|b| &b.1) != after.as_ref() || before != after_cp {
        bail!("the copy's root differs from the source's");
    }
    Ok(())
}

/// Imports into the copy at `to` the webhooks the data directory `from` still keeps in files
/// (an older build's `webhooks.json`), leaving the files in place.
fn import_legacy_webhooks(
    from: &Path,
    to: &str,
) -> Result<Option<hotline_server::webhooks::Imported>> {
    if !from.join(hotline_server::webhooks::LEGACY_FILE).exists() {
        return Ok(None);
    }
    let store: Arc<dyn hotline_store::webhooks::WebhookStore> = if is_url(to) {
        Arc::new(hotline_store::postgres::PgWebhooks::open(to)?)
    } else {
        Arc::new(hotline_store::sqlite::SqliteWebhooks::open(
            &DataDir::new(Path::new(to)).db(),
        )?)
    };
    let webhooks = hotline_server::webhooks::Webhooks::open(
        store,
        hotline_server::webhooks::RetryPolicy::default(),
    )
    .map_err(|e| anyhow::anyhow!("opening the copy's webhooks: {e}"))?;
    webhooks
        .import_files(from, false)
        .map_err(|e| anyhow::anyhow!("importing the webhooks of {}: {e}", from.display()))
}
