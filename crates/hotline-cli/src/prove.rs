//! `hotline prove`: download and verify a hotline's whole log (as `hotline audit` does), pick
//! every statement of one case and the directory statements establishing the keys of its
//! parties and of the operator, prove each included in the verified checkpoint, and write them
//! as an evidence package (`docs/evidence-package.md`) that `hotline verify-package` checks
//! offline. The package is verified before it is written. With `--from A --to B --since T1
//! --until T2` instead of `--case`, a window package: the complete, bounded run of entries that
//! may fall in the window, proving every statement from A to B in it and that there is no other.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::{CaseId, PartyId, SignedStatement, Timestamp};
use hotline_tlog::tree::{LeafHashes, inclusion_proof};
use hotline_tlog::{Hash, leaf_hash};
use serde::Serialize;

use crate::logsync::{SyncOptions, sync_log};
use crate::package::{
    MAX_DISORDER, Package, PackageEntry, Subject, Verified, WindowSpec, verify_package,
};
use crate::verify::{load_vkey, load_witness_policy};

/// Arguments of `hotline prove`.
#[derive(clap::Args, Debug)]
pub struct ProveArgs {
    /// Server URL (e.g. http://127.0.0.1:8080) or log prefix (…/log).
    #[arg(long)]
    pub url: String,
    /// The log's verifier key, or a file holding it (e.g. DIR/log.vkey).
    #[arg(long)]
    pub vkey: String,
    /// The case to prove (or a window: --from, --to, --since, --until; or, with --format
    /// scitt, one --statement).
    #[arg(long, required_unless_present_any = ["from", "statement"], conflicts_with_all = ["from", "to", "since", "until", "statement"])]
    pub case: Option<String>,
    /// With --format scitt: the one statement to prove (its id: hex or base64 leaf hash).
    #[arg(long, conflicts_with_all = ["from", "to", "since", "until"])]
    pub statement: Option<String>,
    /// Output: `package`, an evidence package file (the default); `scitt`, a directory of
    /// statements with their RFC 9942 COSE receipts of inclusion (needs --token-file).
    #[arg(long, value_enum, default_value_t = ProveFormat::Package)]
    pub format: ProveFormat,
    /// With --format scitt: file holding a party's API token (receipts are fetched from the
    /// API; the party must see the statements).
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Window mode: the author party A of the statements to prove complete.
    #[arg(long, requires_all = ["to", "since", "until"])]
    pub from: Option<String>,
    /// Window mode: the recipient party B.
    #[arg(long, requires = "from")]
    pub to: Option<String>,
    /// Window mode: start of the window (RFC 3339, inclusive), by the statements' `time` line.
    #[arg(long, requires = "from")]
    pub since: Option<String>,
    /// Window mode: end of the window (RFC 3339, exclusive).
    #[arg(long, requires = "from")]
    pub until: Option<String>,
    /// Witness policy the checkpoint must satisfy (as `hotline audit --witness-policy`).
    #[arg(long)]
    pub witness_policy: Option<PathBuf>,
    /// Where to write the package (refused if it exists).
    #[arg(long)]
    pub out: PathBuf,
}

/// What `hotline prove` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProveFormat {
    /// An evidence package file (`docs/evidence-package.md`).
    Package,
    /// A directory of statements and their COSE receipts of inclusion (RFC 9942).
    Scitt,
}

/// What `hotline prove` wrote.
#[derive(Serialize, Debug)]
pub struct ProveReport {
    /// Always true in a report.
    pub ok: bool,
    /// The package file.
    pub out: String,
    /// The case.
    pub case: String,
    /// Checkpoint size the proofs are against.
    pub size: u64,
    /// Its root, base64.
    pub root: String,
    /// Statements of the case.
    pub case_statements: usize,
    /// Directory statements included.
    pub directory_statements: usize,
    /// Bytes of the package.
    pub bytes: usize,
}

/// Runs `hotline prove`.
pub fn run(args: &ProveArgs, json: bool) -> Result<()> {
    if args.format == ProveFormat::Scitt {
        return crate::scitt::run(args, json);
    }
    if args.token_file.is_some() || args.statement.is_some() {
        bail!("--token-file and --statement are for --format scitt");
    }
    let Some(case) = &args.case else {
        return prove_window(args, json);
    };
    let case: CaseId = case.parse().map_err(|e| anyhow!("--case {case:?}: {e}"))?;
    if args.out.exists() {
        bail!("{} exists; choose another --out", args.out.display());
    }
    let vkey = load_vkey(&args.vkey)?;
    let policy = load_witness_policy(args.witness_policy.as_deref())?;
    let mut leaves: Vec<Hash> = Vec::new();
    // (index, entry, party) of every directory statement; (index, entry) of the case's.
    let mut directory: Vec<(u64, Vec<u8>, PartyId)> = Vec::new();
    let mut case_entries: Vec<(u64, Vec<u8>)> = Vec::new();
    let mut parties: Vec<PartyId> = vec![PartyId::operator()];
    let synced = sync_log(
        &SyncOptions {
            url: &args.url,
            vkey: &vkey,
            state: None,
            cache: None,
            progress: !json,
            verb: "proving",
            witness_policy: policy.as_ref(),
        },
        |_, index, entry| {
            leaves.push(leaf_hash(entry));
            let s = SignedStatement::parse(entry)
                .with_context(|| format!("entry {index} is not a statement"))?;
            let st = &s.statement;
            if st.kind.is_directory_kind() {
                if let Some(p) = &st.party {
                    directory.push((index, entry.to_vec(), p.clone()));
                }
            } else if st.case.as_ref() == Some(&case) {
                for p in [Some(&st.author), st.recipient.as_ref()]
                    .into_iter()
                    .flatten()
                {
                    if !parties.contains(p) {
                        parties.push(p.clone());
                    }
                }
                case_entries.push((index, entry.to_vec()));
            }
            Ok(())
        },
    )?;
    if case_entries.is_empty() {
        bail!(
            "case {case} has no statement in the log at size {}",
            synced.checkpoint.size
        );
    }
    let size = synced.checkpoint.size;
    let src = LeafHashes(&leaves);
    let mut picked: Vec<(u64, Vec<u8>)> = directory
        .into_iter()
        .filter(|(_, _, p)| parties.contains(p))
        .map(|(i, e, _)| (i, e))
        .collect();
    let directory_statements = picked.len();
    picked.extend(case_entries);
    picked.sort_by_key(|(i, _)| *i);
    let mut entries = Vec::with_capacity(picked.len());
    for (index, entry) in picked {
        let path = inclusion_proof(&src, index, size)
            .map_err(|e| anyhow!("inclusion proof of entry {index}: {e:?}"))?;
        entries.push(PackageEntry { index, entry, path });
    }
    let pkg = Package {
        subject: Subject::Case(case.to_string()),
        entries,
        checkpoint: synced.checkpoint_note,
    };
    let bytes = pkg.to_bytes();
    verify_package(&bytes, &vkey, args.witness_policy.as_deref())
        .context("the package built from the log does not verify")?;
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    let report = ProveReport {
        ok: true,
        out: args.out.display().to_string(),
        case: case.to_string(),
        size,
        root: synced.checkpoint.root.to_base64(),
        case_statements: pkg.entries.len() - directory_statements,
        directory_statements,
        bytes: bytes.len(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "wrote {}: case {} ({} statements) and {} directory statements, each with its \
             inclusion proof against the checkpoint of size {} (root {}); check it offline \
             with `hotline verify-package {} --vkey VKEY`",
            report.out,
            report.case,
            report.case_statements,
            report.directory_statements,
            report.size,
            report.root,
            report.out
        );
    }
    Ok(())
}

/// What `hotline prove` wrote for a window.
#[derive(Serialize, Debug)]
pub struct WindowProveReport {
    /// Always true in a report.
    pub ok: bool,
    /// The package file.
    pub out: String,
    /// Checkpoint size the proofs are against.
    pub size: u64,
    /// Its root, base64.
    pub root: String,
    /// First index of the run.
    pub run_start: u64,
    /// Last index of the run.
    pub run_end: u64,
    /// Directory statements before the run (keys of the operator, A and B).
    pub directory_statements: usize,
    /// Statements from A to B in the window.
    pub count: usize,
    /// Bytes of the package.
    pub bytes: usize,
}

/// `hotline prove --from A --to B --since T1 --until T2`: the complete run of entries that may
/// be in the window, bounded (`docs/evidence-package.md`, "Window packages").
fn prove_window(args: &ProveArgs, json: bool) -> Result<()> {
    let (Some(from), Some(to), Some(since), Some(until)) =
        (&args.from, &args.to, &args.since, &args.until)
    else {
        bail!("give --case, or all of --from, --to, --since and --until");
    };
    let from: PartyId = from.parse().map_err(|e| anyhow!("--from {from:?}: {e}"))?;
    let to: PartyId = to.parse().map_err(|e| anyhow!("--to {to:?}: {e}"))?;
    let t1 = Timestamp::parse(since).map_err(|e| anyhow!("--since {since:?}: {e}"))?;
    let t2 = Timestamp::parse(until).map_err(|e| anyhow!("--until {until:?}: {e}"))?;
    if t1 >= t2 {
        bail!("--since {t1} is not before --until {t2}");
    }
    if args.out.exists() {
        bail!("{} exists; choose another --out", args.out.display());
    }
    let vkey = load_vkey(&args.vkey)?;
    let policy = load_witness_policy(args.witness_policy.as_deref())?;
    let keyed = |p: &PartyId| *p == PartyId::operator() || *p == from || *p == to;
    let mut leaves: Vec<Hash> = Vec::new();
    // Every entry with its time and whether it is a directory statement about the operator, A
    // or B (the run is only known at the end).
    let mut all: Vec<(Vec<u8>, i64, bool)> = Vec::new();
    let synced = sync_log(
        &SyncOptions {
            url: &args.url,
            vkey: &vkey,
            state: None,
            cache: None,
            progress: !json,
            verb: "proving",
            witness_policy: policy.as_ref(),
        },
        |_, index, entry| {
            leaves.push(leaf_hash(entry));
            let s = SignedStatement::parse(entry)
                .with_context(|| format!("entry {index} is not a statement"))?;
            let st = &s.statement;
            let key = st.kind.is_directory_kind() && st.party.as_ref().is_some_and(keyed);
            all.push((entry.to_vec(), st.time.unix(), key));
            Ok(())
        },
    )?;
    let size = synced.checkpoint.size;
    if all.len() as u64 != size || size == 0 {
        bail!(
            "the log synced {} entries for a checkpoint of size {size}",
            all.len()
        );
    }
    let n = all.len();
    // f: the first entry at or after T1; every entry before it is before the window. The run
    // starts at the last entry before f whose time is more than MAX_DISORDER before T1 (no
    // earlier entry can then be at or after T1), else at 0.
    let f = all.iter().position(|e| e.1 >= t1.unix()).unwrap_or(n);
    let lo = (0..f)
        .rev()
        .find(|&i| all[i].1 < t1.unix() - MAX_DISORDER)
        .unwrap_or(0);
    // l: the last entry before T2. The run ends at the first entry after l whose time is at
    // least MAX_DISORDER after T2, else at the checkpoint's last entry.
    let after = all
        .iter()
        .rposition(|e| e.1 < t2.unix())
        .map_or(0, |l| l + 1);
    let hi = (after..n)
        .find(|&i| all[i].1 >= t2.unix() + MAX_DISORDER)
        .unwrap_or(n - 1)
        .max(lo);
    let src = LeafHashes(&leaves);
    let mut entries = Vec::new();
    let mut directory_statements = 0;
    for (i, (entry, _, key)) in all.into_iter().enumerate() {
        let index = i as u64;
        if !((lo..=hi).contains(&i) || (i < lo && key)) {
            continue;
        }
        directory_statements += usize::from(i < lo);
        let path = inclusion_proof(&src, index, size)
            .map_err(|e| anyhow!("inclusion proof of entry {index}: {e:?}"))?;
        entries.push(PackageEntry { index, entry, path });
    }
    let pkg = Package {
        subject: Subject::Window(WindowSpec {
            from: from.to_string(),
            to: to.to_string(),
            since: t1.to_rfc3339(),
            until: t2.to_rfc3339(),
            lo: lo as u64,
            hi: hi as u64,
        }),
        entries,
        checkpoint: synced.checkpoint_note,
    };
    let bytes = pkg.to_bytes();
    let verified = verify_package(&bytes, &vkey, args.witness_policy.as_deref())
        .context("the package built from the log does not verify")?;
    let Verified::Window(w) = verified else {
        bail!("the package built from the log is not a window package");
    };
    std::fs::write(&args.out, &bytes).with_context(|| format!("writing {}", args.out.display()))?;
    let report = WindowProveReport {
        ok: true,
        out: args.out.display().to_string(),
        size,
        root: synced.checkpoint.root.to_base64(),
        run_start: lo as u64,
        run_end: hi as u64,
        directory_statements,
        count: w.count,
        bytes: bytes.len(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "wrote {}: {} statements from {from} to {to} in [{t1}, {t2}), and the complete run \
             of entries {}..{} that proves there are no others, each with its inclusion proof \
             against the checkpoint of size {} (root {}); check it offline with \
             `hotline verify-package {} --vkey VKEY`",
            report.out,
            report.count,
            report.run_start,
            report.run_end,
            report.size,
            report.root,
            report.out
        );
    }
    Ok(())
}
