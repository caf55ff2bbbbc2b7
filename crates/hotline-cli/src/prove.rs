//! `hotline prove`: download and verify a hotline's whole log (as `hotline audit` does), pick
//! every statement of one case and the directory statements establishing the keys of its
//! parties and of the operator, prove each included in the verified checkpoint, and write them
//! as an evidence package (`docs/evidence-package.md`) that `hotline verify-package` checks
//! offline. The package is verified before it is written.

use std::path::PathBuf;

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::{CaseId, PartyId, SignedStatement};
use hotline_tlog::tree::{LeafHashes, inclusion_proof};
use hotline_tlog::{Hash, leaf_hash};
use serde::Serialize;

use crate::logsync::{SyncOptions, sync_log};
use crate::package::{Package, PackageEntry, verify_package};
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
    /// The case to prove.
    #[arg(long)]
    pub case: String,
    /// Witness policy the checkpoint must satisfy (as `hotline audit --witness-policy`).
    #[arg(long)]
    pub witness_policy: Option<PathBuf>,
    /// Where to write the package (refused if it exists).
    #[arg(long)]
    pub out: PathBuf,
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
    let case: CaseId = args
        .case
        .parse()
        .map_err(|e| anyhow!("--case {:?}: {e}", args.case))?;
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
        case: case.to_string(),
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
