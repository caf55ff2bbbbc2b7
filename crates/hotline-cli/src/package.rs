//! Evidence packages (`docs/evidence-package.md`): the text format and `hotline verify-package`,
//! which checks one offline, with nothing but the log's verifier key (and optionally a witness
//! policy): the checkpoint's signature, every inclusion proof against that one checkpoint,
//! every statement's signatures against the keys the package's directory statements establish
//! as of the statement's index, that every case statement belongs to the case, and the case's
//! lifecycle (a replay through `hotline_core::Hotline`).
//!
//! JSON shape (`--json`), stable; fields are only ever added:
//!
//! ```text
//! { "ok": true, "origin": str, "size": int, "root": base64, "cosigners": [str],
//!   "case": str, "kind": str, "requester": str, "responder": str, "phase": str,
//!   "entries": [ { "index": int, "id": base64, "kind": str, "author": str,
//!                  "recipient": str|null, "party": str|null, "time": RFC 3339,
//!                  "case": str|null } … ] }
//! ```

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::{CaseId, DeadlinePolicy, Hotline, SignedStatement};
use hotline_tlog::tree::verify_inclusion;
use hotline_tlog::{Ed25519Verifier, Hash, leaf_hash};
use serde::Serialize;

use crate::verify::{load_vkey, load_witness_policy, open_checkpoint};

/// First line of every evidence package.
pub const PACKAGE_HEADER: &str = "hotline evidence package v1";

/// One log entry of a package with its inclusion proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageEntry {
    /// Log index.
    pub index: u64,
    /// The entry (a signed statement), verbatim.
    pub entry: Vec<u8>,
    /// Inclusion proof, from the leaf's sibling up.
    pub path: Vec<Hash>,
}

/// A decoded evidence package (structure only; see [`verify_package`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// The case the package is about.
    pub case: String,
    /// Entries in strictly increasing index order.
    pub entries: Vec<PackageEntry>,
    /// The signed checkpoint every proof is against, verbatim.
    pub checkpoint: Vec<u8>,
}

impl Package {
    /// Encodes the package.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = format!("{PACKAGE_HEADER}\ncase {}\n", self.case);
        for e in &self.entries {
            s.push_str(&format!("entry {} {}\n", e.index, B64.encode(&e.entry)));
            for h in &e.path {
                s.push_str(&format!("proof {}\n", h.to_base64()));
            }
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Decodes a package; errors name the line.
    pub fn parse(bytes: &[u8]) -> Result<Package> {
        let text = std::str::from_utf8(bytes).map_err(|_| anyhow!("the package is not UTF-8"))?;
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| anyhow!("the package has no blank line before its checkpoint"))?;
        let mut lines = head.split('\n').enumerate().map(|(i, l)| (i + 1, l));
        match lines.next() {
            Some((_, PACKAGE_HEADER)) => {}
            _ => bail!("the package does not start with {PACKAGE_HEADER:?}"),
        }
        let case = match lines.next() {
            Some((_, l)) if l.starts_with("case ") => l["case ".len()..].to_owned(),
            _ => bail!("line 2 of the package is not `case CASE-ID`"),
        };
        let mut entries: Vec<PackageEntry> = Vec::new();
        for (no, line) in lines {
            if let Some(h) = line.strip_prefix("proof ") {
                let hash = Hash::from_base64(h).ok_or_else(|| {
                    anyhow!("line {no}: proof line is not the base64 of a 32-byte hash")
                })?;
                entries
                    .last_mut()
                    .ok_or_else(|| anyhow!("line {no}: proof line before any entry line"))?
                    .path
                    .push(hash);
            } else if let Some(rest) = line.strip_prefix("entry ") {
                let (idx, b64) = rest
                    .split_once(' ')
                    .ok_or_else(|| anyhow!("line {no}: expected `entry INDEX BASE64`"))?;
                let canonical = !idx.is_empty()
                    && idx.bytes().all(|b| b.is_ascii_digit())
                    && (idx == "0" || !idx.starts_with('0'));
                let index: u64 =
                    idx.parse().ok().filter(|_| canonical).ok_or_else(|| {
                        anyhow!("line {no}: entry index {idx:?} is not canonical")
                    })?;
                if let Some(prev) = entries.last()
                    && prev.index >= index
                {
                    bail!(
                        "line {no}: entry {index} follows entry {}: entries must be in \
                         strictly increasing index order",
                        prev.index
                    );
                }
                let entry = B64
                    .decode(b64)
                    .map_err(|_| anyhow!("line {no}: entry {index} is not valid base64"))?;
                entries.push(PackageEntry {
                    index,
                    entry,
                    path: Vec::new(),
                });
            } else {
                bail!("line {no}: expected an `entry` or `proof` line");
            }
        }
        Ok(Package {
            case,
            entries,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }
}

/// Arguments of `hotline verify-package`.
#[derive(clap::Args, Debug)]
pub struct VerifyPackageArgs {
    /// The evidence package (written by `hotline prove`).
    pub package: PathBuf,
    /// The log's verifier key, or a file holding it.
    #[arg(long)]
    pub vkey: String,
    /// Witness policy (TOML: `required = k` and `[[witness]]` tables with `name` and `vkey`):
    /// the checkpoint must carry at least k valid cosignatures by distinct listed witnesses.
    #[arg(long)]
    pub witness_policy: Option<PathBuf>,
}

/// One verified statement of a package.
#[derive(Serialize, Debug, Clone)]
pub struct TimelineEntry {
    /// Log index.
    pub index: u64,
    /// Statement id (leaf hash), base64.
    pub id: String,
    /// Kind.
    pub kind: String,
    /// Author.
    pub author: String,
    /// Recipient (case statements).
    pub recipient: Option<String>,
    /// Party (directory statements).
    pub party: Option<String>,
    /// The author's time.
    pub time: String,
    /// Case (case statements).
    pub case: Option<String>,
}

/// What a verified package established.
#[derive(Serialize, Debug)]
pub struct PackageReport {
    /// Always true in a report (failures are errors).
    pub ok: bool,
    /// The log's origin.
    pub origin: String,
    /// Size of the checkpoint every proof is against.
    pub size: u64,
    /// Its root, base64.
    pub root: String,
    /// Witnesses of the policy whose cosignatures verified (empty without a policy).
    pub cosigners: Vec<String>,
    /// The case.
    pub case: String,
    /// `notice` or `request`.
    pub kind: String,
    /// Who opened it.
    pub requester: String,
    /// With whom.
    pub responder: String,
    /// Its phase after the package's last statement.
    pub phase: String,
    /// Every statement, in log order.
    pub entries: Vec<TimelineEntry>,
}

/// Runs `hotline verify-package` and prints its result.
pub fn run(args: &VerifyPackageArgs, json: bool) -> Result<()> {
    let vkey = load_vkey(&args.vkey)?;
    let bytes = std::fs::read(&args.package)
        .with_context(|| format!("reading {}", args.package.display()))?;
    let report = verify_package(&bytes, &vkey, args.witness_policy.as_deref())
        .with_context(|| format!("EVIDENCE PACKAGE REJECTED: {}", args.package.display()))?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", timeline(&report));
    }
    Ok(())
}

/// Verifies an encoded package (see the module documentation for what is checked).
pub fn verify_package(
    bytes: &[u8],
    vkey: &Ed25519Verifier,
    witness_policy: Option<&Path>,
) -> Result<PackageReport> {
    let pkg = Package::parse(bytes)?;
    let case: CaseId = pkg
        .case
        .parse()
        .map_err(|e| anyhow!("the package's case line: {e}"))?;
    let (cp, note) = open_checkpoint(&pkg.checkpoint, vkey)
        .context("the package's checkpoint is not signed by the log key")?;
    let mut cosigners = Vec::new();
    if let Some(policy) = load_witness_policy(witness_policy)? {
        crate::logsync::check_witnesses(&policy, &note, &cp)?;
        cosigners = policy.valid_cosigners(&note);
    }
    if pkg.entries.first().map(|e| e.index) != Some(0) {
        bail!(
            "the package does not hold entry 0, the registration of the operator that every \
             other key is established from"
        );
    }
    // The deadline policy is not in the log: replay with the least one, as `hotline audit`.
    let policy = DeadlinePolicy {
        emergency: (0, 0),
        urgent: (0, 0),
        routine: (0, 0),
    };
    let mut hotline = Hotline::new(&cp.origin, policy);
    let mut entries = Vec::new();
    for e in &pkg.entries {
        let id = leaf_hash(&e.entry);
        let what = format!("entry {} (statement {})", e.index, id.to_base64());
        if e.index >= cp.size {
            bail!("{what}: index beyond the checkpoint's size {}", cp.size);
        }
        verify_inclusion(&id, e.index, cp.size, &e.path, &cp.root).map_err(|err| {
            anyhow!(
                "{what}: inclusion proof does not hold against the checkpoint (size {}, root \
                 {}): {err}",
                cp.size,
                cp.root
            )
        })?;
        let s = SignedStatement::parse(&e.entry)
            .map_err(|err| anyhow!("{what}: not a statement: {err}"))?;
        let st = &s.statement;
        if !st.kind.is_directory_kind() && st.case.as_ref() != Some(&case) {
            bail!(
                "{what}: a {} statement of case {}, not of the package's case {case}",
                st.kind,
                st.case
                    .as_ref()
                    .map_or("(none)".to_owned(), ToString::to_string)
            );
        }
        hotline.apply(&s).map_err(|err| {
            anyhow!(
                "{what}: {err} — checked against the keys and case state established by the \
                 package's earlier entries"
            )
        })?;
        entries.push(TimelineEntry {
            index: e.index,
            id: id.to_base64(),
            kind: st.kind.to_string(),
            author: st.author.to_string(),
            recipient: st.recipient.as_ref().map(ToString::to_string),
            party: st.party.as_ref().map(ToString::to_string),
            time: st.time.to_rfc3339(),
            case: st.case.as_ref().map(ToString::to_string),
        });
    }
    let c = hotline
        .case(&case)
        .ok_or_else(|| anyhow!("the package holds no statement of case {case}"))?;
    Ok(PackageReport {
        ok: true,
        origin: cp.origin.clone(),
        size: cp.size,
        root: cp.root.to_base64(),
        cosigners,
        case: case.to_string(),
        kind: c.kind.to_string(),
        requester: c.requester.to_string(),
        responder: c.responder.to_string(),
        phase: c.phase.to_string(),
        entries,
    })
}

/// The human timeline.
fn timeline(r: &PackageReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "evidence package verified: case {} ({} from {} to {}), now {}",
        r.case, r.kind, r.requester, r.responder, r.phase
    );
    let _ = writeln!(
        out,
        "  every entry is proved included in log {} at size {} (root {}){}",
        r.origin,
        r.size,
        r.root,
        if r.cosigners.is_empty() {
            String::new()
        } else {
            format!(", cosigned by {}", r.cosigners.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "  every signature checked against the keys the log established before it\n"
    );
    for e in &r.entries {
        let who = match (&e.recipient, &e.party) {
            (Some(to), _) => format!("{} → {to}", e.author),
            (None, Some(p)) => format!("{} about {p}", e.author),
            (None, None) => e.author.clone(),
        };
        let _ = writeln!(
            out,
            "  {:>6}  {}  {:<17} {:<30} {}",
            e.index, e.time, e.kind, who, e.id
        );
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip() {
        let p = Package {
            case: "20210703-3f9a1c2b7d4e".into(),
            entries: vec![
                PackageEntry {
                    index: 0,
                    entry: b"a\n".to_vec(),
                    path: vec![leaf_hash(b"x")],
                },
                PackageEntry {
                    index: 3,
                    entry: b"b\n".to_vec(),
                    path: vec![],
                },
            ],
            checkpoint: b"o\n1\nroot\n\n- sig\n".to_vec(),
        };
        assert_eq!(Package::parse(&p.to_bytes()).unwrap(), p);
        let mut swapped = p.clone();
        swapped.entries.reverse();
        let err = Package::parse(&swapped.to_bytes()).unwrap_err().to_string();
        assert!(err.contains("strictly increasing"), "{err}");
    }
}
