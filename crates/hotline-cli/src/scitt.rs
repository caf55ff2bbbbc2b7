//! `hotline prove --format scitt`: for one case's statements (or one statement), download and
//! verify the whole log (as `hotline prove` does), fetch each statement's RFC 9942 COSE receipt
//! of inclusion from the server (`GET /api/v1/statements/{id}/receipt.cose`, with a party's
//! token), check it against the verified log, and write the statements and their receipts to a
//! directory (`docs/evidence-package.md`, "SCITT receipts").

use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::{CaseId, SignedStatement};
use hotline_tlog::cose::verify_inclusion_receipt;
use hotline_tlog::tree::{LeafHashes, root};
use hotline_tlog::{Ed25519Verifier, Hash, leaf_hash};
use serde::Serialize;

use crate::logsync::{SyncOptions, sync_log};
use crate::prove::ProveArgs;
use crate::verify::{load_vkey, load_witness_policy};

/// One statement written with its receipt.
#[derive(Serialize, Debug)]
pub struct ScittEntry {
    /// Log index.
    pub index: u64,
    /// Statement id (leaf hash), hex.
    pub id: String,
    /// The statement file.
    pub statement: String,
    /// The COSE receipt file.
    pub receipt: String,
}

/// What `hotline prove --format scitt` wrote.
#[derive(Serialize, Debug)]
pub struct ScittReport {
    /// Always true in a report.
    pub ok: bool,
    /// The directory written.
    pub out: String,
    /// Size of the verified checkpoint the receipts are against.
    pub size: u64,
    /// Its root, base64.
    pub root: String,
    /// The statements and receipts.
    pub entries: Vec<ScittEntry>,
}

/// Which statements to prove.
enum Pick {
    Case(CaseId),
    Statement(Hash),
}

/// The API base of `url` (a server URL or its log prefix `…/log`).
fn api_base(url: &str) -> &str {
    let u = url.trim_end_matches('/');
    u.strip_suffix("/log").unwrap_or(u)
}

fn parse_id(s: &str) -> Result<Hash> {
    Hash::from_hex(s)
        .or_else(|| Hash::from_base64(s))
        .ok_or_else(|| anyhow!("--statement {s:?}: not a statement id (hex or base64 leaf hash)"))
}

/// The verified log: checkpoint size and root, its note, every leaf hash, and the picked
/// statements as (index, leaf hash, entry).
struct Synced {
    size: u64,
    root: Hash,
    note: Vec<u8>,
    leaves: Vec<Hash>,
    picked: Vec<(u64, Hash, Vec<u8>)>,
}

fn sync(args: &ProveArgs, vkey: &Ed25519Verifier, pick: &Pick, json: bool) -> Result<Synced> {
    let policy = load_witness_policy(args.witness_policy.as_deref())?;
    let mut leaves = Vec::new();
    let mut picked = Vec::new();
    let synced = sync_log(
        &SyncOptions {
            url: &args.url,
            vkey,
            state: None,
            cache: None,
            progress: !json,
            verb: "proving",
            witness_policy: policy.as_ref(),
        },
        |_, index, entry| {
            let leaf = leaf_hash(entry);
            leaves.push(leaf);
            let wanted = match pick {
                Pick::Statement(id) => leaf == *id,
                Pick::Case(case) => {
                    let s = SignedStatement::parse(entry)
                        .with_context(|| format!("entry {index} is not a statement"))?;
                    s.statement.case.as_ref() == Some(case)
                }
            };
            if wanted {
                picked.push((index, leaf, entry.to_vec()));
            }
            Ok(())
        },
    )?;
    Ok(Synced {
        size: synced.checkpoint.size,
        root: synced.checkpoint.root,
        note: synced.checkpoint_note,
        leaves,
        picked,
    })
}

/// Fetches and checks every receipt against the verified log. `Ok(None)` if a receipt is
/// against a larger tree than the verified one (the log grew meanwhile).
fn receipts(
    base: &str,
    token: &str,
    vkey: &Ed25519Verifier,
    log: &Synced,
) -> Result<Option<Vec<Vec<u8>>>> {
    let http = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .context("creating the HTTP client")?;
    let mut out = Vec::with_capacity(log.picked.len());
    for (index, leaf, _) in &log.picked {
        let url = format!("{base}/api/v1/statements/{}/receipt.cose", leaf.to_hex());
        let resp =
            http.get(&url).bearer_auth(token).send().with_context(|| {
                format!("fetching the COSE receipt of entry {index} from {url}")
            })?;
        let status = resp.status();
        let body = resp
            .bytes()
            .with_context(|| format!("fetching the COSE receipt of entry {index}"))?
            .to_vec();
        if !status.is_success() {
            bail!(
                "the COSE receipt of entry {index}: the hotline answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
        }
        let rec = verify_inclusion_receipt(&body, leaf, vkey)
            .with_context(|| format!("the COSE receipt of entry {index} does not verify"))?;
        if rec.leaf_index != *index {
            bail!(
                "the COSE receipt of entry {index} proves leaf index {}",
                rec.leaf_index
            );
        }
        if rec.tree_size > log.size {
            return Ok(None);
        }
        let expected = root(&LeafHashes(&log.leaves), rec.tree_size)
            .map_err(|e| anyhow!("root of the verified tree at size {}: {e:?}", rec.tree_size))?;
        if rec.root != expected {
            bail!(
                "the COSE receipt of entry {index} proves root {} at size {}, the verified log \
                 has root {} there",
                rec.root.to_base64(),
                rec.tree_size,
                expected.to_base64()
            );
        }
        out.push(body);
    }
    Ok(Some(out))
}

/// Runs `hotline prove --format scitt`.
pub fn run(args: &ProveArgs, json: bool) -> Result<()> {
    let pick = match (&args.case, &args.statement) {
        (Some(c), None) => Pick::Case(c.parse().map_err(|e| anyhow!("--case {c:?}: {e}"))?),
        (None, Some(s)) => Pick::Statement(parse_id(s)?),
        _ => bail!("--format scitt needs --case or --statement"),
    };
    let Some(token_file) = &args.token_file else {
        bail!(
            "--format scitt needs --token-file (a party's API token: receipts are per statement)"
        );
    };
    if args.out.exists() {
        bail!("{} exists; choose another --out", args.out.display());
    }
    let token = hotline_crypto::read_secret(token_file)
        .with_context(|| format!("reading {}", token_file.display()))?;
    let vkey = load_vkey(&args.vkey)?;
    let base = api_base(&args.url);
    let mut attempt = 0;
    let (log, cose) = loop {
        let log = sync(args, &vkey, &pick, json)?;
        if log.picked.is_empty() {
            match &pick {
                Pick::Case(c) => bail!("case {c} has no statement in the log at size {}", log.size),
                Pick::Statement(id) => bail!(
                    "statement {} is not in the log at size {}",
                    id.to_hex(),
                    log.size
                ),
            }
        }
        match receipts(base, &token, &vkey, &log)? {
            Some(cose) => break (log, cose),
            None if attempt == 0 => attempt += 1,
            None => bail!("the log keeps growing past the verified checkpoint; try again"),
        }
    };
    write(&args.out, &log, &cose, json)
}

fn write(out: &Path, log: &Synced, cose: &[Vec<u8>], json: bool) -> Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let put = |name: &str, bytes: &[u8]| {
        std::fs::write(out.join(name), bytes)
            .with_context(|| format!("writing {}", out.join(name).display()))
    };
    put("checkpoint", &log.note)?;
    let mut entries = Vec::with_capacity(cose.len());
    for ((index, leaf, entry), receipt) in log.picked.iter().zip(cose) {
        let statement = format!("{index}.statement");
        let rec = format!("{index}.receipt.cose");
        put(&statement, entry)?;
        put(&rec, receipt)?;
        entries.push(ScittEntry {
            index: *index,
            id: leaf.to_hex(),
            statement,
            receipt: rec,
        });
    }
    let report = ScittReport {
        ok: true,
        out: out.display().to_string(),
        size: log.size,
        root: log.root.to_base64(),
        entries,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "wrote {}: {} statements, each with its COSE receipt of inclusion (RFC 9942), \
             checked against the verified log of size {} (root {})",
            report.out,
            report.entries.len(),
            report.size,
            report.root
        );
    }
    Ok(())
}
