//! Evidence packages (`docs/evidence-package.md`): the text format and `hotline verify-package`,
//! which checks one offline, with nothing but the log's verifier key (and optionally a witness
//! policy): the checkpoint's signature, every inclusion proof against that one checkpoint,
//! every statement's signatures against the keys the package's directory statements establish
//! as of the statement's index, that every case statement belongs to the case, and the case's
//! lifecycle (a replay through `hotline_core::Hotline`). A window package (`window A B T1 T2`)
//! instead proves every statement from A to B in a time window and that there is no other: a
//! contiguous, bounded run of entries (`docs/evidence-package.md`, "Window packages").
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

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::hotline::verify_author_signature;
use hotline_core::{CaseId, DeadlinePolicy, Hotline, PartyId, SignedStatement, Timestamp};
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

/// What a package is about: one case (line 2 `case CASE-ID`) or a window of the log (line 2
/// `window A B T1 T2`, line 3 `run LO HI`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// Every statement of one case.
    Case(String),
    /// Every statement from one party to another sequenced in a time window.
    Window(WindowSpec),
}

/// The `window` and `run` lines of a window package, as written (checked by
/// [`verify_package`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowSpec {
    /// The author party (A).
    pub from: String,
    /// The recipient party (B).
    pub to: String,
    /// Start of the window (T1, inclusive), RFC 3339.
    pub since: String,
    /// End of the window (T2, exclusive), RFC 3339.
    pub until: String,
    /// First index of the run (its lower bounding entry unless 0).
    pub lo: u64,
    /// Last index of the run (its upper bounding entry unless the checkpoint's last).
    pub hi: u64,
}

/// How far apart, in seconds, two statements' `time` lines can be in the wrong order: each is
/// within ±300 s of the server's clock when logged (`docs/statements.md`), so an entry's time is
/// at most 600 s earlier than the time of any entry before it.
pub const MAX_DISORDER: i64 = 600;

/// A decoded evidence package (structure only; see [`verify_package`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Package {
    /// What the package is about.
    pub subject: Subject,
    /// Entries in strictly increasing index order.
    pub entries: Vec<PackageEntry>,
    /// The signed checkpoint every proof is against, verbatim.
    pub checkpoint: Vec<u8>,
}

impl Package {
    /// Encodes the package.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = match &self.subject {
            Subject::Case(case) => format!("{PACKAGE_HEADER}\ncase {case}\n"),
            Subject::Window(w) => format!(
                "{PACKAGE_HEADER}\nwindow {} {} {} {}\nrun {} {}\n",
                w.from, w.to, w.since, w.until, w.lo, w.hi
            ),
        };
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
        let subject = match lines.next() {
            Some((_, l)) if l.starts_with("case ") => Subject::Case(l["case ".len()..].to_owned()),
            Some((_, l)) if l.starts_with("window ") => {
                let f: Vec<&str> = l["window ".len()..].split(' ').collect();
                let [from, to, since, until] = f[..] else {
                    bail!("line 2 of the package is not `window A B T1 T2`");
                };
                let run = match lines.next() {
                    Some((_, l)) => l.strip_prefix("run ").and_then(|r| r.split_once(' ')),
                    None => None,
                };
                let (lo, hi) =
                    run.ok_or_else(|| anyhow!("line 3 of the package is not `run LO HI`"))?;
                Subject::Window(WindowSpec {
                    from: from.to_owned(),
                    to: to.to_owned(),
                    since: since.to_owned(),
                    until: until.to_owned(),
                    lo: canonical_u64(lo)
                        .ok_or_else(|| anyhow!("line 3: run start {lo:?} is not canonical"))?,
                    hi: canonical_u64(hi)
                        .ok_or_else(|| anyhow!("line 3: run end {hi:?} is not canonical"))?,
                })
            }
            _ => bail!("line 2 of the package is not `case CASE-ID` or `window A B T1 T2`"),
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
                let index = canonical_u64(idx)
                    .ok_or_else(|| anyhow!("line {no}: entry index {idx:?} is not canonical"))?;
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
            subject,
            entries,
            checkpoint: checkpoint.as_bytes().to_vec(),
        })
    }
}

/// A decimal without leading zeros.
fn canonical_u64(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    s.parse().ok().filter(|_| canonical)
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
        match &report {
            Verified::Case(r) => print!("{}", timeline(r)),
            Verified::Window(r) => print!("{}", window_summary(r)),
        }
    }
    Ok(())
}

/// What a verified package established: a case's history, or a window's statements.
#[derive(Serialize, Debug)]
#[serde(untagged)]
pub enum Verified {
    /// A case package.
    Case(PackageReport),
    /// A window package.
    Window(WindowReport),
}

/// What a verified window package established.
#[derive(Serialize, Debug)]
pub struct WindowReport {
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
    /// The author party (A).
    pub from: String,
    /// The recipient party (B).
    pub to: String,
    /// Start of the window, inclusive.
    pub since: String,
    /// End of the window, exclusive.
    pub until: String,
    /// First index of the complete run.
    pub run_start: u64,
    /// Last index of the complete run.
    pub run_end: u64,
    /// Whether the run starts at entry 0 (else its first entry is the lower bound).
    pub run_from_start: bool,
    /// Whether the run ends at the checkpoint's last entry (else its last is the upper bound).
    pub run_to_end: bool,
    /// Number of statements from A to B in the window (0 is a proved answer).
    pub count: usize,
    /// Their number by kind.
    pub kinds: BTreeMap<String, usize>,
    /// The statements from A to B in the window, in log order.
    pub statements: Vec<TimelineEntry>,
}

/// The `window` and `run` lines, parsed.
struct Window {
    from: PartyId,
    to: PartyId,
    since: Timestamp,
    until: Timestamp,
    lo: u64,
    hi: u64,
}

impl Window {
    fn check(w: &WindowSpec) -> Result<Window> {
        let party = |s: &str| -> Result<PartyId> {
            s.parse()
                .map_err(|e| anyhow!("the package's window line: party {s:?}: {e}"))
        };
        let time = |s: &str| -> Result<Timestamp> {
            Timestamp::parse(s).map_err(|e| anyhow!("the package's window line: time {s:?}: {e}"))
        };
        let out = Window {
            from: party(&w.from)?,
            to: party(&w.to)?,
            since: time(&w.since)?,
            until: time(&w.until)?,
            lo: w.lo,
            hi: w.hi,
        };
        if out.since >= out.until {
            bail!(
                "the package's window is empty: {} is not before {}",
                w.since,
                w.until
            );
        }
        if out.lo > out.hi {
            bail!("the package's run {}..{} is empty", w.lo, w.hi);
        }
        Ok(out)
    }
}

/// One entry whose inclusion proof verified.
struct Proved {
    index: u64,
    id: Hash,
    what: String,
    s: SignedStatement,
}

fn timeline_entry(index: u64, id: &Hash, st: &hotline_core::Statement) -> TimelineEntry {
    TimelineEntry {
        index,
        id: id.to_base64(),
        kind: st.kind.to_string(),
        author: st.author.to_string(),
        recipient: st.recipient.as_ref().map(ToString::to_string),
        party: st.party.as_ref().map(ToString::to_string),
        time: st.time.to_rfc3339(),
        case: st.case.as_ref().map(ToString::to_string),
    }
}

/// Verifies an encoded package (see the module documentation for what is checked).
pub fn verify_package(
    bytes: &[u8],
    vkey: &Ed25519Verifier,
    witness_policy: Option<&Path>,
) -> Result<Verified> {
    let pkg = Package::parse(bytes)?;
    let (case, window) = match &pkg.subject {
        Subject::Case(c) => {
            let case: CaseId = c
                .parse()
                .map_err(|e| anyhow!("the package's case line: {e}"))?;
            (Some(case), None)
        }
        Subject::Window(w) => (None, Some(Window::check(w)?)),
    };
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
    let mut proved = Vec::with_capacity(pkg.entries.len());
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
        if s.statement.origin != cp.origin {
            bail!(
                "{what}: statement of origin {:?}, not the checkpoint's {:?}",
                s.statement.origin,
                cp.origin
            );
        }
        proved.push(Proved {
            index: e.index,
            id,
            what,
            s,
        });
    }
    if let Some(w) = window {
        return verify_window(&w, &proved, cp, cosigners).map(Verified::Window);
    }
    let Some(case) = case else {
        bail!("the package is about neither a case nor a window");
    };
    // The deadline policy is not in the log: replay with the least one, as `hotline audit`.
    let policy = DeadlinePolicy {
        emergency: (0, 0),
        urgent: (0, 0),
        routine: (0, 0),
    };
    let mut hotline = Hotline::new(&cp.origin, policy);
    let mut entries = Vec::new();
    for p in &proved {
        let st = &p.s.statement;
        let what = &p.what;
        if !st.kind.is_directory_kind() && st.case.as_ref() != Some(&case) {
            bail!(
                "{what}: a {} statement of case {}, not of the package's case {case}",
                st.kind,
                st.case
                    .as_ref()
                    .map_or("(none)".to_owned(), ToString::to_string)
            );
        }
        hotline.apply(&p.s).map_err(|err| {
            anyhow!(
                "{what}: {err} — checked against the keys and case state established by the \
                 package's earlier entries"
            )
        })?;
        entries.push(timeline_entry(p.index, &p.id, st));
    }
    let c = hotline
        .case(&case)
        .ok_or_else(|| anyhow!("the package holds no statement of case {case}"))?;
    Ok(Verified::Case(PackageReport {
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
    }))
}

/// The window checks (`docs/evidence-package.md`, "Window packages").
fn verify_window(
    w: &Window,
    proved: &[Proved],
    cp: hotline_tlog::Checkpoint,
    cosigners: Vec<String>,
) -> Result<WindowReport> {
    let (lo, hi) = (w.lo, w.hi);
    if hi >= cp.size {
        bail!(
            "the run {lo}..{hi} goes beyond the checkpoint's size {}",
            cp.size
        );
    }
    let keyed = |p: &PartyId| *p == PartyId::operator() || *p == w.from || *p == w.to;
    // Entries before the run: only directory statements about the operator, A or B.
    let split = proved.partition_point(|p| p.index < lo);
    let (before, run) = proved.split_at(split);
    for p in before {
        let st = &p.s.statement;
        if !(st.kind.is_directory_kind() && st.party.as_ref().is_some_and(keyed)) {
            bail!(
                "{}: before the run {lo}..{hi}, a package holds only directory statements about \
                 the operator, {} and {}, not a {} statement",
                p.what,
                w.from,
                w.to,
                st.kind
            );
        }
    }
    // The run: every index from lo to hi, nothing after.
    for (expected, p) in (lo..=hi).zip(run.iter()) {
        if p.index != expected {
            bail!(
                "entry {expected} of the run {lo}..{hi} is missing: the run must hold every \
                 index from {lo} to {hi} (found entry {} next)",
                p.index
            );
        }
    }
    let held = run.len() as u64;
    if held < hi - lo + 1 {
        bail!(
            "entry {} of the run {lo}..{hi} is missing: the run must hold every index from \
             {lo} to {hi}",
            lo + held
        );
    }
    if held > hi - lo + 1 {
        bail!(
            "{}: after the run {lo}..{hi}, which is the package's last entry",
            run[(hi - lo + 1) as usize].what
        );
    }
    // The bounds.
    let first = &run[0];
    if lo > 0 && first.s.statement.time.unix() >= w.since.unix() - MAX_DISORDER {
        bail!(
            "{}: the window claims to start at {} but the run's first entry, which must bound \
             it, has time {}, not before {} ({MAX_DISORDER} s earlier): entries before it may \
             fall in the window",
            first.what,
            w.since,
            first.s.statement.time,
            w.since.plus(-MAX_DISORDER)
        );
    }
    let last = &run[run.len() - 1];
    if hi + 1 < cp.size && last.s.statement.time.unix() < w.until.unix() + MAX_DISORDER {
        bail!(
            "{}: the window claims to end at {} but the run ends before the checkpoint's last \
             entry ({}) and its last entry, which must bound it, has time {}, not at or after \
             {} ({MAX_DISORDER} s later): entries after it may fall in the window",
            last.what,
            w.until,
            cp.size - 1,
            last.s.statement.time,
            w.until.plus(MAX_DISORDER)
        );
    }
    // Keys: replay the directory statements about the operator, A and B in index order; check
    // each statement from A to B in the window against A's key at its point of the log.
    let mut hotline = Hotline::new(
        &cp.origin,
        DeadlinePolicy {
            emergency: (0, 0),
            urgent: (0, 0),
            routine: (0, 0),
        },
    );
    let mut statements = Vec::new();
    let mut kinds = BTreeMap::new();
    for p in proved {
        let st = &p.s.statement;
        if st.kind.is_directory_kind() {
            if st.party.as_ref().is_some_and(keyed) {
                hotline.apply(&p.s).map_err(|err| {
                    anyhow!(
                        "{}: {err} — checked against the keys established by the package's \
                         earlier entries",
                        p.what
                    )
                })?;
            }
            continue;
        }
        let in_window = st.time >= w.since && st.time < w.until;
        if p.index < lo || st.author != w.from || st.recipient.as_ref() != Some(&w.to) || !in_window
        {
            continue;
        }
        let key = hotline
            .current_key(&w.from)
            .map_err(|err| anyhow!("{}: {err} at this point of the log", p.what))?;
        verify_author_signature(&p.s, &key.verifier).map_err(|err| {
            anyhow!(
                "{}: {err} — checked against {}'s key at this point of the log",
                p.what,
                w.from
            )
        })?;
        *kinds.entry(st.kind.to_string()).or_insert(0) += 1;
        statements.push(timeline_entry(p.index, &p.id, st));
    }
    Ok(WindowReport {
        ok: true,
        origin: cp.origin.clone(),
        size: cp.size,
        root: cp.root.to_base64(),
        cosigners,
        from: w.from.to_string(),
        to: w.to.to_string(),
        since: w.since.to_rfc3339(),
        until: w.until.to_rfc3339(),
        run_start: lo,
        run_end: hi,
        run_from_start: lo == 0,
        run_to_end: hi + 1 == cp.size,
        count: statements.len(),
        kinds,
        statements,
    })
}

/// The human summary of a window package.
fn window_summary(r: &WindowReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if r.count == 0 {
        let _ = writeln!(
            out,
            "window package verified: no statement from {} to {} in the window [{}, {})",
            r.from, r.to, r.since, r.until
        );
    } else {
        let kinds: Vec<String> = r.kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
        let _ = writeln!(
            out,
            "window package verified: {} statements from {} to {} in the window [{}, {}): {}",
            r.count,
            r.from,
            r.to,
            r.since,
            r.until,
            kinds.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "  complete run of entries {}..{} ({}; {}), every entry proved included in log {} at \
         size {} (root {}){}",
        r.run_start,
        r.run_end,
        if r.run_from_start {
            "from the log's first entry".to_owned()
        } else {
            format!("entry {} bounds it before", r.run_start)
        },
        if r.run_to_end {
            "to the checkpoint's last entry".to_owned()
        } else {
            format!("entry {} bounds it after", r.run_end)
        },
        r.origin,
        r.size,
        r.root,
        if r.cosigners.is_empty() {
            String::new()
        } else {
            format!(", cosigned by {}", r.cosigners.join(", "))
        }
    );
    for e in &r.statements {
        let _ = writeln!(
            out,
            "  {:>6}  {}  {:<17} {} → {}  {}",
            e.index,
            e.time,
            e.kind,
            e.author,
            e.recipient.as_deref().unwrap_or(""),
            e.id
        );
    }
    out
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
            subject: Subject::Case("20210703-3f9a1c2b7d4e".into()),
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
        let w = Package {
            subject: Subject::Window(WindowSpec {
                from: "us-cisa".into(),
                to: "ru-nkcki".into(),
                since: "2021-07-01T00:00:00Z".into(),
                until: "2021-08-01T00:00:00Z".into(),
                lo: 3,
                hi: 3,
            }),
            ..p.clone()
        };
        assert_eq!(Package::parse(&w.to_bytes()).unwrap(), w);
        let mut swapped = p.clone();
        swapped.entries.reverse();
        let err = Package::parse(&swapped.to_bytes()).unwrap_err().to_string();
        assert!(err.contains("strictly increasing"), "{err}");
    }
}
