//! `cargo xtask interop-statements`: the interop acceptance test of the hotline itself.
//!
//! Every statement of a real hotline's log must verify with golang.org/x/mod/sumdb/note, and
//! every payload must decrypt with an age implementation hotline did not write, given the
//! recipient's identity. Nothing of hotline's own checks a result here: the log is read by
//! `interop/go/hotline-check -statements` (x/mod's note and tlog only), the payloads by the `age`
//! binary (Debian's, which is Go's filippo.io/age; or `rage`).
//!
//! Steps:
//!
//! 1. build `hotline` (dev profile unless `--release`, or take `--hotline PATH`) and the Go
//!    checker (GOPATH mode, against Debian's golang-golang-x-mod-dev: nothing downloaded);
//! 2. `hotline init` a hotline in a temporary directory (routine deadlines of 2 s to
//!    acknowledge, so an `overdue` appears quickly) and `hotline serve` it on 127.0.0.1:0;
//! 3. register us-cisa, ru-nkcki and de-bsi with `hotline keygen`, `party request` and `party
//!    add`, each with its own config file;
//! 4. case 1, with the scenario's STIX evidence: us-cisa's emergency request to ru-nkcki →
//!    ack (the `delivered` comes first, by itself) → need-info → update → answer; us-cisa's key
//!    is rotated (`party rotation` + `party rotate`) and the new key closes the case;
//!    case 2: ru-nkcki's routine request to us-cisa goes overdue, then us-cisa declines it;
//!    case 3: us-cisa's notice to de-bsi, withdrawn;
//! 5. every payload of the three cases: the ciphertext is downloaded through the API as its
//!    recipient, its SHA-256 and size checked against the statement's `payload-sha256` and
//!    `payload-size`, and decrypted with `age -d -i` with the recipient's identity (the
//!    `age-identity` line of its key file) and with the author's; the plaintext's SHA-256 must be
//!    the statement's `plaintext-sha256` and the plaintext the case document sent (format,
//!    salt, title, message, evidence). A third party's identity — and us-cisa's replaced one,
//!    for what was sent after the rotation — must make `age` fail;
//! 6. ru-nkcki publishes over TAXII with `hotline share` (its own signed `shared` statement) and
//!    de-bsi with a plain TAXII POST (a `shared` statement by the operator naming it);
//!    de-bsi is revoked (`party revoke`), and the Go checker audits the whole log with
//!    `-statements`: every statement verifies against its author's key at that point;
//! 7. tamper cases: copies of log entries, altered, fed to the checker with `-statement-file`
//!    in place of the original entry (or appended), must each fail with a message naming the
//!    problem; the unaltered copy in place passes.
//!
//! Every process started here is owned by a guard that kills it when dropped and the temporary
//! directory is removed (unless `--keep`), so nothing outlives a failure.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest as _, Sha256};

use crate::interop::{self, Captured, MissingPrerequisite, Server};

/// The origin of the test hotline (a name under .invalid: it must never resolve).
const ORIGIN: &str = "statements.interop.hotline.invalid/log";
/// The hotline's deadlines: routine requests go overdue 2 s after they are sent.
const DEADLINES: &str = "routine=2s:60s";
/// Longest a CLI, `age` or checker run may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(60);
/// Longest to wait for the operator's `overdue` statement.
const OVERDUE_TIMEOUT: Duration = Duration::from_secs(30);
/// The Debian packages the test needs.
const PACKAGES: &str = "golang-go golang-golang-x-mod-dev age";

/// Options.
#[derive(clap::Args)]
pub struct Args {
    /// Keep the temporary directory (hotline, keys, ciphertexts, plaintexts).
    #[arg(long)]
    pub keep: bool,
    /// Build hotline with the release profile instead of the dev one.
    #[arg(long)]
    pub release: bool,
    /// Use this hotline binary instead of building one.
    #[arg(long, value_name = "PATH")]
    pub hotline: Option<PathBuf>,
}

/// Runs the statements and payloads interop check.
pub fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let root = interop::workspace_root();
    // Prerequisites first, all of them, so a machine without them learns every package at once.
    let (go, xmod, age) = prerequisites()?;
    let tmp = tempfile::Builder::new()
        .prefix("hotline-interop-statements-")
        .tempdir()
        .context("creating a temporary directory")?;
    let result = run_in(args, &root, &go, &xmod, &age, tmp.path());
    if args.keep {
        let kept = tmp.keep();
        println!("interop-statements: kept {}", kept.display());
    }
    result?;
    println!(
        "interop-statements: OK: every statement verifies with golang.org/x/mod/sumdb/note, every payload decrypts with {} ({:.1} s)",
        age.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Go, the x/mod sources and an age binary; every one missing is named in one error.
fn prerequisites() -> Result<(PathBuf, PathBuf, PathBuf)> {
    let mut missing = Vec::new();
    let mut note = |r: Result<PathBuf>| match r {
        Ok(p) => Some(Ok(p)),
        Err(e) => match e.downcast::<MissingPrerequisite>() {
            Ok(m) => {
                missing.push(m.what);
                None
            }
            Err(e) => Some(Err(e)),
        },
    };
    let go = note(interop::find_go()).transpose()?;
    let xmod = note(interop::find_xmod()).transpose()?;
    let age = note(find_age()).transpose()?;
    match (go, xmod, age) {
        (Some(go), Some(xmod), Some(age)) => Ok((go, xmod, age)),
        _ => Err(MissingPrerequisite::new(missing.join("; "), PACKAGES).into()),
    }
}

/// `age` (Debian's, Go's reference implementation) or `rage` on the PATH.
pub(crate) fn find_age() -> Result<PathBuf> {
    for name in ["age", "rage"] {
        if let Ok(out) = Command::new(name).arg("--version").output()
            && out.status.success()
        {
            return Ok(PathBuf::from(name));
        }
    }
    Err(MissingPrerequisite::new("neither age nor rage found", "age").into())
}

fn say(since: Instant, msg: &str) {
    println!(
        "interop-statements: {msg} [{:.1} s]",
        since.elapsed().as_secs_f64()
    );
}

fn run_in(args: &Args, root: &Path, go: &Path, xmod: &Path, age: &Path, tmp: &Path) -> Result<()> {
    let t = Instant::now();
    let hotline = match &args.hotline {
        Some(p) => p.clone(),
        None => interop::build_hotline(root, args.release)?,
    };
    let checker = interop::build_checker(go, xmod, root, tmp)?;
    say(
        t,
        &format!("built {} and {}", hotline.display(), checker.display()),
    );
    let evidence_file = root.join("scenario/kaseya-2021/evidence.json");
    let evidence: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&evidence_file)
            .with_context(|| format!("reading {}", evidence_file.display()))?,
    )
    .with_context(|| format!("{} is not JSON", evidence_file.display()))?;

    let t = Instant::now();
    let data = tmp.join("hotline");
    let h = Hotline {
        bin: hotline,
        work: tmp.to_owned(),
    };
    h.ok(&[
        "init".as_ref(),
        "--dir".as_ref(),
        data.as_os_str(),
        "--origin".as_ref(),
        ORIGIN.as_ref(),
        "--deadlines".as_ref(),
        DEADLINES.as_ref(),
    ])?;
    let server = Server::start(&h.bin, &data)?;
    let base = server
        .log_url
        .strip_suffix("/log")
        .ok_or_else(|| anyhow!("unexpected log URL {}", server.log_url))?
        .to_owned();
    let api = Api::new(&base)?;
    let op_token = data.join("operator.token");

    // Parties.
    let mut officers = BTreeMap::new();
    for (id, name, cc) in [
        ("us-cisa", "US CISA", "US"),
        ("ru-nkcki", "NKTsKI", "RU"),
        ("de-bsi", "BSI", "DE"),
    ] {
        let o = h.register(&base, &op_token, id, name, cc, &api)?;
        officers.insert(id, o);
    }
    say(t, &format!("hotline on {base}; 3 parties registered"));

    // Case 1: the emergency request, through its whole lifecycle; us-cisa's key rotated before
    // it closes the case.
    let t = Instant::now();
    let mut sent: Vec<Sent> = Vec::new();
    let us = officers["us-cisa"].clone();
    let ru = officers["ru-nkcki"].clone();
    let de = officers["de-bsi"].clone();
    let case1 = h.send(
        &us,
        &ru,
        &[
            "--request",
            "emergency",
            "--justification",
            "imminent-risk-to-life",
            "--priority",
            "emergency",
        ],
        "REvil ransomware pushed through Kaseya VSA",
        "Ransomware deployed through a Kaseya VSA update; please preserve and share what your \
         infrastructure holds about the C2 servers listed in the evidence.",
        Some((&evidence_file, &evidence)),
        &mut sent,
    )?;
    h.follow(
        &ru,
        &us,
        &case1,
        "ack",
        &[],
        "Received — on it",
        None,
        &mut sent,
    )?;
    h.follow(
        &ru,
        &us,
        &case1,
        "need-info",
        &[],
        "Which of the IP addresses were seen in the last 24 hours?",
        None,
        &mut sent,
    )?;
    h.follow(
        &us,
        &ru,
        &case1,
        "update",
        &[],
        "All of them; the bundle again, with sightings.",
        Some((&evidence_file, &evidence)),
        &mut sent,
    )?;
    h.follow(
        &ru,
        &us,
        &case1,
        "answer",
        &[],
        "Two servers preserved and taken down; images attached to the MLA follow-up.",
        None,
        &mut sent,
    )?;
    let us = h.rotate(&base, &op_token, &us, &api)?;
    officers.insert("us-cisa", us.clone());
    h.follow(
        &us,
        &ru,
        &case1,
        "close",
        &[],
        "Thank you; closing.",
        None,
        &mut sent,
    )?;
    say(
        t,
        &format!("case {case1}: request → ack → need-info → update → answer; key rotated; closed"),
    );

    // Case 2: a routine request that goes overdue, then is declined.
    let t = Instant::now();
    let case2 = h.send(
        &ru,
        &us,
        &["--request", "preservation", "--priority", "routine"],
        "Preserve logs of a relay",
        "Please preserve the logs of the relay named in our earlier notice.",
        None,
        &mut sent,
    )?;
    api.wait_for_overdue(&ru.token, &case2)?;
    h.follow(
        &us,
        &ru,
        &case2,
        "decline",
        &["--reason", "resources"],
        "Not within our means this week.",
        None,
        &mut sent,
    )?;
    // Case 3: a notice, withdrawn.
    let case3 = h.send(
        &us,
        &de,
        &[],
        "Heads-up: affected MSPs in Germany",
        "Three German MSPs run the affected VSA version.",
        None,
        &mut sent,
    )?;
    h.follow(
        &us,
        &de,
        &case3,
        "withdraw",
        &[],
        "Sent to the wrong contact point; withdrawn.",
        None,
        &mut sent,
    )?;
    say(
        t,
        &format!("case {case2}: overdue, declined; case {case3}: notice withdrawn"),
    );

    // Every payload, through the API as its recipient, decrypted by age.
    let t = Instant::now();
    let payload_dir = tmp.join("payloads");
    std::fs::create_dir(&payload_dir).context("creating the payload directory")?;
    let everyone = [
        officers["us-cisa"].clone(),
        officers["ru-nkcki"].clone(),
        officers["de-bsi"].clone(),
    ];
    let old_us = sent
        .iter()
        .find(|s| s.author.id == "us-cisa")
        .map(|s| s.author.clone())
        .ok_or_else(|| anyhow!("us-cisa sent nothing"))?;
    let mut checked = 0;
    for s in sent.iter().filter(|s| s.message.is_some()) {
        check_payload(&api, age, &payload_dir, s, &everyone, &old_us)?;
        checked += 1;
    }
    say(
        t,
        &format!(
            "{checked} payloads: downloaded as the recipient, commitments match, decrypted by {} with the recipient's and the author's identity, refused with a third party's",
            age.display()
        ),
    );

    // Publications over TAXII 2.1: ru-nkcki's own signed `shared` statement (`hotline share`),
    // and a plain TAXII POST with de-bsi's credential, which the operator records naming it.
    let indicators = root.join("interop/taxii/cases/indicator-tlp2-green.json");
    h.ok(&[
        "--config".as_ref(),
        ru.config.as_os_str(),
        "share".as_ref(),
        indicators.as_os_str(),
    ])?;
    let list = api.get_json(Some(&de.token), "/taxii2/hotline/collections/")?;
    let shared = list["collections"]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["alias"] == "shared"))
        .and_then(|c| c["id"].as_str())
        .ok_or_else(|| anyhow!("no shared TAXII collection: {list}"))?
        .to_owned();
    let posted = reqwest::blocking::Client::new()
        .post(format!(
            "{base}/taxii2/hotline/collections/{shared}/objects/"
        ))
        .basic_auth(&de.id, Some(&de.token))
        .header("content-type", "application/taxii+json;version=2.1")
        .header("accept", "application/taxii+json;version=2.1")
        .body(std::fs::read(&indicators)?)
        .send()?;
    ensure!(
        posted.status().as_u16() == 202,
        "a plain TAXII POST answered {}",
        posted.status()
    );

    // A revocation, so the log holds every directory kind.
    h.ok(&[
        "party".as_ref(),
        "revoke".as_ref(),
        "--server".as_ref(),
        base.as_ref(),
        "--token-file".as_ref(),
        op_token.as_os_str(),
        "de-bsi".as_ref(),
        "--reason".as_ref(),
        "retired".as_ref(),
    ])?;

    // The Go checker over the whole log.
    let t = Instant::now();
    let checker = GoChecker {
        path: checker,
        log_url: server.log_url.clone(),
        vkey: data.join("log.vkey"),
    };
    let out = checker.run(&[])?;
    if !out.status.success() {
        bail!(
            "the Go checker rejected hotline's statements ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    let entries = api.entries(&server.log_url)?;
    let summary = out.stdout.trim();
    ensure!(
        summary.contains(&format!("; {} statements (", entries.len())),
        "the checker did not verify all {} entries as statements: {summary}",
        entries.len()
    );
    for kind in [
        "party-registered",
        "key-rotated",
        "party-revoked",
        "request",
        "notice",
        "delivered",
        "acknowledged",
        "need-info",
        "update",
        "answer",
        "closed",
        "overdue",
        "declined",
        "withdrawn",
        "shared",
    ] {
        ensure!(
            summary.contains(&format!(" {kind},")) || summary.contains(&format!(" {kind})")),
            "the log holds no {kind} statement: {summary}"
        );
    }
    say(t, summary);

    let t = Instant::now();
    let n = tamper_cases(&checker, &entries, tmp, &case1)?;
    say(
        t,
        &format!("{n} tampered statements rejected by the Go checker, the unaltered one accepted"),
    );
    server.stop()?;
    Ok(())
}

/// The Go checker in -statements mode, pointed at the test hotline.
struct GoChecker {
    path: PathBuf,
    log_url: String,
    vkey: PathBuf,
}

impl GoChecker {
    fn run(&self, extra: &[&OsStr]) -> Result<Captured> {
        let mut cmd = Command::new(&self.path);
        cmd.args(["-url", &self.log_url, "-statements"])
            .arg("-vkey")
            .arg(&self.vkey)
            .args(extra);
        interop::run_captured(&mut cmd, "hotline-check", STEP_TIMEOUT, Stdio::piped())
    }
}

/// An altered copy of a log entry, and what the checker must say about it.
struct StatementTamper {
    what: String,
    bytes: Vec<u8>,
    /// The entry it stands in for; `None`: appended after the log.
    at: Option<usize>,
    /// Substrings the checker's message must contain.
    expect: Vec<String>,
}

/// Feeds the checker altered copies of log entries with -statement-file, in place of the
/// original (or appended): each must fail with a message naming the problem. The unaltered
/// request in its own place must pass, so the alteration is what fails. Returns the number of
/// tamper cases.
fn tamper_cases(
    checker: &GoChecker,
    entries: &[Vec<u8>],
    tmp: &Path,
    case1: &str,
) -> Result<usize> {
    let texts: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8(e.clone()).context("a log entry is not UTF-8"))
        .collect::<Result<_>>()?;
    let find = |pred: &dyn Fn(&str) -> bool, what: &str| -> Result<usize> {
        texts
            .iter()
            .position(|t| pred(t))
            .ok_or_else(|| anyhow!("no {what} in the log"))
    };
    let in_case1 = format!("\ncase {case1}\n");
    let request = find(
        &|t| t.contains("\nkind request\n") && t.contains(&in_case1),
        "case 1 request",
    )?;
    let registration = find(
        &|t| t.contains("\nkind party-registered\n") && t.contains("\nparty us-cisa\n"),
        "us-cisa registration",
    )?;
    let rotation = find(&|t| t.contains("\nkind key-rotated\n"), "key rotation")?;
    let update = find(
        &|t| t.contains("\nkind update\n") && t.contains(&in_case1),
        "case 1 update",
    )?;
    let delivered = find(&|t| t.contains("\nkind delivered\n"), "delivered")?;
    let shared = find(
        &|t| t.contains("\nkind shared\n") && t.contains("\nauthor operator\n"),
        "shared statement recorded by the operator",
    )?;
    // Keys as note names them in errors: name+hash.
    let key_id = |text: &str| -> Result<String> {
        let vkey = key_line(text, "party-key")?;
        Ok(vkey.split('+').take(2).collect::<Vec<_>>().join("+"))
    };
    let us_old = key_id(&texts[registration])?;
    let us_new = key_id(&texts[rotation])?;
    let operator = key_id(&texts[0])?;

    let control = tmp.join("statement-unaltered");
    std::fs::write(&control, &entries[request]).context("writing a statement file")?;
    let at = request.to_string();
    let out = checker.run(&[
        "-statement-file".as_ref(),
        control.as_os_str(),
        "-statement-at".as_ref(),
        at.as_ref(),
    ])?;
    ensure!(
        out.status.success(),
        "the unaltered request checked in its own place was rejected ({}): {}{}",
        out.status,
        out.stdout,
        out.stderr
    );

    let cases = [
        StatementTamper {
            what: format!("entry {request} (the emergency request) with its priority lowered"),
            bytes: replace_once(
                &texts[request],
                "\npriority emergency\n",
                "\npriority routine\n",
            )?,
            at: Some(request),
            expect: vec![format!("invalid signature for key {us_old}")],
        },
        StatementTamper {
            what: format!("entry {request} (the emergency request) claimed by de-bsi"),
            bytes: replace_once(&texts[request], "\nauthor us-cisa\n", "\nauthor de-bsi\n")?,
            at: Some(request),
            expect: vec![
                "no signature by de-bsi+".to_owned(),
                format!("signatures by: {us_old}"),
            ],
        },
        StatementTamper {
            what: format!(
                "entry {registration} (us-cisa's registration) without its countersignature"
            ),
            bytes: drop_signature(&texts[registration], "us-cisa")?,
            at: Some(registration),
            expect: vec![format!("no signature by {us_old}")],
        },
        StatementTamper {
            what: format!("entry {delivered} (a delivered) with a flipped signature bit"),
            bytes: flip_signature(&texts[delivered], "operator")?,
            at: Some(delivered),
            expect: vec![format!("invalid signature for key {operator}")],
        },
        // Zero objects are no publication and an age file is never empty: hotline-core
        // refuses these values too (crates/hotline-core/tests/hotline.rs), and the checker
        // judges the text before the signatures, so the message names the value.
        StatementTamper {
            what: format!("entry {shared} (a TAXII publication) with objects-count 0"),
            bytes: with_value(&texts[shared], "objects-count", "0")?,
            at: Some(shared),
            expect: vec!["objects-count \"0\" is not a positive canonical decimal".to_owned()],
        },
        StatementTamper {
            what: format!("entry {shared} (a TAXII publication) with objects-size 0"),
            bytes: with_value(&texts[shared], "objects-size", "0")?,
            at: Some(shared),
            expect: vec!["objects-size \"0\" is not a positive canonical decimal".to_owned()],
        },
        StatementTamper {
            what: format!("entry {request} (the emergency request) with payload-size 0"),
            bytes: with_value(&texts[request], "payload-size", "0")?,
            at: Some(request),
            expect: vec!["payload-size \"0\" is not a positive canonical decimal".to_owned()],
        },
        StatementTamper {
            what: format!(
                "entry {update} (an update signed with us-cisa's old key) replayed after the rotation"
            ),
            bytes: entries[update].clone(),
            at: None,
            expect: vec![
                format!("no signature by {us_new}"),
                format!("{us_old} is us-cisa's key replaced at entry {rotation}"),
            ],
        },
    ];
    for (n, case) in cases.iter().enumerate() {
        let file = tmp.join(format!("statement-tampered-{n}"));
        std::fs::write(&file, &case.bytes).context("writing a statement file")?;
        let mut extra: Vec<&OsStr> = vec!["-statement-file".as_ref(), file.as_os_str()];
        let at = case.at.map(|i| i.to_string());
        if let Some(at) = &at {
            extra.extend([OsStr::new("-statement-at"), OsStr::new(at)]);
        }
        let out = checker.run(&extra)?;
        let expect: Vec<&str> = case.expect.iter().map(String::as_str).collect();
        interop::expect_failure(&out, &case.what, &expect)?;
    }
    Ok(cases.len())
}

/// The value of the first `key value` line of a statement.
fn key_line(text: &str, key: &str) -> Result<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(key).and_then(|v| v.strip_prefix(' ')))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no {key} line in {text:?}"))
}

/// The statement with the value of its `key` line replaced by `value`.
fn with_value(text: &str, key: &str, value: &str) -> Result<Vec<u8>> {
    let old = key_line(text, key)?;
    replace_once(
        text,
        &format!("\n{key} {old}\n"),
        &format!("\n{key} {value}\n"),
    )
}

fn replace_once(text: &str, from: &str, to: &str) -> Result<Vec<u8>> {
    ensure!(
        text.matches(from).count() == 1,
        "{from:?} is not in the statement exactly once"
    );
    Ok(text.replacen(from, to, 1).into_bytes())
}

/// The statement without `name`'s signature line.
fn drop_signature(text: &str, name: &str) -> Result<Vec<u8>> {
    let prefix = format!("— {name} ");
    let kept: Vec<&str> = text
        .split_inclusive('\n')
        .filter(|l| !l.starts_with(&prefix))
        .collect();
    ensure!(
        kept.len() + 1 == text.split_inclusive('\n').count(),
        "no single signature line by {name}"
    );
    Ok(kept.concat().into_bytes())
}

/// The statement with one bit of `name`'s Ed25519 signature flipped (past the key hash, so
/// the key is still recognised and the signature must be checked).
fn flip_signature(text: &str, name: &str) -> Result<Vec<u8>> {
    let prefix = format!("— {name} ");
    let mut out = String::new();
    let mut flipped = false;
    for l in text.split_inclusive('\n') {
        match l.strip_prefix(&prefix) {
            Some(b64) if !flipped => {
                let mut sig = B64
                    .decode(b64.trim_end())
                    .context("signature is not base64")?;
                ensure!(sig.len() == 68, "not an Ed25519 note signature");
                sig[4 + 20] ^= 0x01;
                out.push_str(&format!("{prefix}{}\n", B64.encode(&sig)));
                flipped = true;
            }
            _ => out.push_str(l),
        }
    }
    ensure!(flipped, "no signature line by {name}");
    Ok(out.into_bytes())
}

/// An officer: party id, config file, API token, key file and age identity file.
#[derive(Clone, Debug)]
pub(crate) struct Officer {
    pub(crate) id: String,
    pub(crate) config: PathBuf,
    pub(crate) token: String,
    pub(crate) identity: PathBuf,
}

/// A statement sent through the CLI, with what its payload should hold.
pub(crate) struct Sent {
    kind: String,
    id: String,
    author: Officer,
    recipient: Officer,
    title: String,
    /// The message, if the statement carries a payload.
    message: Option<String>,
    evidence: Option<serde_json::Value>,
}

/// The hotline binary, run in the work directory.
pub(crate) struct Hotline {
    pub(crate) bin: PathBuf,
    pub(crate) work: PathBuf,
}

impl Hotline {
    /// Runs `hotline ARGS` to success; returns stdout.
    pub(crate) fn ok(&self, args: &[&OsStr]) -> Result<String> {
        let mut cmd = Command::new(&self.bin);
        cmd.current_dir(&self.work).args(args);
        let what = format!(
            "hotline {}",
            args.iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let out = interop::run_captured(&mut cmd, &what, STEP_TIMEOUT, Stdio::piped())?;
        if !out.status.success() {
            bail!(
                "{what} failed ({}):\n{}{}",
                out.status,
                out.stdout,
                out.stderr
            );
        }
        Ok(out.stdout)
    }

    pub(crate) fn ok_str(&self, args: &[&str]) -> Result<String> {
        let args: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        self.ok(&args)
    }

    /// keygen, party request, party add, config init; and the age identity file.
    pub(crate) fn register(
        &self,
        base: &str,
        op_token: &Path,
        id: &str,
        name: &str,
        cc: &str,
        api: &Api,
    ) -> Result<Officer> {
        let key = format!("{id}.key");
        let reg = format!("{id}.registration");
        let token = format!("{id}.token");
        let config = format!("{id}.toml");
        self.ok_str(&["keygen", "--party", id, "--out", &key])?;
        self.ok_str(&[
            "party",
            "request",
            "--key",
            &key,
            "--server",
            base,
            "--name",
            name,
            "--jurisdiction",
            cc,
            "--kind",
            "national-cert",
            "--contact",
            &format!("duty@{id}.example"),
            "--out",
            &reg,
        ])?;
        self.ok_str(&[
            "party",
            "add",
            "--server",
            base,
            "--token-file",
            &op_token.to_string_lossy(),
            &reg,
            "--token-out",
            &token,
        ])?;
        self.ok_str(&[
            "--config", &config, "config", "init", "--server", base, "--party", id, "--key", &key,
            "--token", &token,
        ])?;
        let token = read_trimmed(&self.work.join(&token))?;
        // The directory lists the party, as the operator registered it.
        let dir = api.get_json(None, "/api/v1/parties")?;
        ensure!(
            dir.as_array()
                .is_some_and(|a| a.iter().any(|p| p["id"] == id)),
            "{id} is not in the directory after party add: {dir}"
        );
        Ok(Officer {
            id: id.to_owned(),
            config: self.work.join(config),
            token,
            identity: self.identity_file(&key)?,
        })
    }

    /// Writes the `age-identity` line of a key file to a file of its own, as `age -i` reads.
    fn identity_file(&self, key: &str) -> Result<PathBuf> {
        let text = read_trimmed(&self.work.join(key))?;
        let identity = text
            .lines()
            .find_map(|l| l.strip_prefix("age-identity "))
            .ok_or_else(|| anyhow!("{key} has no age-identity line"))?;
        ensure!(
            identity.starts_with("AGE-SECRET-KEY-1"),
            "{key}: the age-identity is not an age X25519 identity"
        );
        let path = self.work.join(format!("{key}.age-identity"));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("creating {}", path.display()))?;
        writeln!(f, "{identity}")?;
        Ok(path)
    }

    /// Rotates a party's key: new keygen, `party rotation` signed by both keys, `party rotate`
    /// by the operator; returns the officer with a config for the new key.
    fn rotate(&self, base: &str, op_token: &Path, o: &Officer, api: &Api) -> Result<Officer> {
        let id = &o.id;
        let new_key = format!("{id}-2.key");
        let rotation = format!("{id}.rotation");
        let config = format!("{id}-2.toml");
        self.ok_str(&["keygen", "--party", id, "--out", &new_key])?;
        self.ok_str(&[
            "party",
            "rotation",
            "--new-key",
            &new_key,
            "--old-key",
            &format!("{id}.key"),
            "--server",
            base,
            "--out",
            &rotation,
        ])?;
        self.ok_str(&[
            "party",
            "rotate",
            "--server",
            base,
            "--token-file",
            &op_token.to_string_lossy(),
            id,
            &rotation,
        ])?;
        self.ok_str(&[
            "--config",
            &config,
            "config",
            "init",
            "--server",
            base,
            "--party",
            id,
            "--key",
            &new_key,
            "--token",
            &format!("{id}.token"),
        ])?;
        let public = read_trimmed(&self.work.join(format!("{id}-2.pub")))?;
        let vkey = public
            .lines()
            .find_map(|l| l.strip_prefix("vkey "))
            .ok_or_else(|| anyhow!("{id}-2.pub has no vkey line"))?;
        let dir = api.get_json(None, "/api/v1/parties")?;
        ensure!(
            dir.as_array().is_some_and(|a| a
                .iter()
                .any(|p| p["id"] == id.as_str() && p["vkey"] == vkey)),
            "the directory does not list {id}'s new key after the rotation: {dir}"
        );
        Ok(Officer {
            id: id.clone(),
            config: self.work.join(config),
            token: o.token.clone(),
            identity: self.identity_file(&new_key)?,
        })
    }

    /// `hotline send`: opens a case; returns its id.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn send(
        &self,
        from: &Officer,
        to: &Officer,
        extra: &[&str],
        title: &str,
        message: &str,
        evidence: Option<(&Path, &serde_json::Value)>,
        sent: &mut Vec<Sent>,
    ) -> Result<String> {
        let config = from.config.to_string_lossy();
        let mut args = vec![
            "--config", &config, "--json", "send", "--to", &to.id, "--title", title, "-m", message,
        ];
        args.extend_from_slice(extra);
        let ev = evidence.map(|(p, _)| p.to_string_lossy().into_owned());
        if let Some(ev) = &ev {
            args.extend(["--evidence", ev]);
        }
        let report = self.ok_str(&args)?;
        let r: serde_json::Value = serde_json::from_str(&report)
            .with_context(|| format!("hotline send --json printed {report:?}"))?;
        let case = r["case"]
            .as_str()
            .ok_or_else(|| anyhow!("no case in {report}"))?
            .to_owned();
        sent.push(Sent {
            kind: r["kind"].as_str().unwrap_or_default().to_owned(),
            id: r["id"]
                .as_str()
                .ok_or_else(|| anyhow!("no id in {report}"))?
                .to_owned(),
            author: from.clone(),
            recipient: to.clone(),
            title: title.to_owned(),
            message: Some(message.to_owned()),
            evidence: evidence.map(|(_, v)| v.clone()),
        });
        Ok(case)
    }

    /// A follow-up (`ack`, `need-info`, `update`, `answer`, `decline`, `close`, `withdraw`)
    /// with a title and message, hence a payload.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn follow(
        &self,
        from: &Officer,
        to: &Officer,
        case: &str,
        command: &str,
        extra: &[&str],
        message: &str,
        evidence: Option<(&Path, &serde_json::Value)>,
        sent: &mut Vec<Sent>,
    ) -> Result<()> {
        let config = from.config.to_string_lossy();
        let title = format!("{command} from {} in {case}", from.id);
        let mut args = vec![
            "--config", &config, "--json", command, case, "--title", &title, "-m", message,
        ];
        args.extend_from_slice(extra);
        let ev = evidence.map(|(p, _)| p.to_string_lossy().into_owned());
        if let Some(ev) = &ev {
            args.extend(["--evidence", ev]);
        }
        let report = self.ok_str(&args)?;
        let r: serde_json::Value = serde_json::from_str(&report)
            .with_context(|| format!("hotline {command} --json printed {report:?}"))?;
        ensure!(
            r["case"] == case && r["new"] == true,
            "hotline {command} reported {report}"
        );
        sent.push(Sent {
            kind: r["kind"].as_str().unwrap_or_default().to_owned(),
            id: r["id"]
                .as_str()
                .ok_or_else(|| anyhow!("no id in {report}"))?
                .to_owned(),
            author: from.clone(),
            recipient: to.clone(),
            title,
            message: Some(message.to_owned()),
            evidence: evidence.map(|(_, v)| v.clone()),
        });
        Ok(())
    }
}

pub(crate) fn read_trimmed(p: &Path) -> Result<String> {
    Ok(std::fs::read_to_string(p)
        .with_context(|| format!("reading {}", p.display()))?
        .trim()
        .to_owned())
}

/// The hotline's JSON API and log, over HTTP.
pub(crate) struct Api {
    base: String,
    http: reqwest::blocking::Client,
}

impl Api {
    pub(crate) fn new(base: &str) -> Result<Api> {
        Ok(Api {
            base: base.to_owned(),
            http: reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()?,
        })
    }

    /// GET a URL (absolute, or a path under the server) with an optional bearer token.
    pub(crate) fn get(&self, token: Option<&str>, path: &str) -> Result<Vec<u8>> {
        let url = if path.starts_with("http://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self.http.get(&url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().with_context(|| format!("GET {url}"))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .with_context(|| format!("GET {url}: reading the body"))?;
        if !status.is_success() {
            bail!("GET {url}: {status}: {}", String::from_utf8_lossy(&body));
        }
        Ok(body.to_vec())
    }

    pub(crate) fn get_json(&self, token: Option<&str>, path: &str) -> Result<serde_json::Value> {
        let body = self.get(token, path)?;
        serde_json::from_slice(&body).with_context(|| format!("GET {path}: not JSON"))
    }

    /// Every entry of the log (a test log: one partial entry bundle).
    fn entries(&self, log_url: &str) -> Result<Vec<Vec<u8>>> {
        let cp = self.get(None, &format!("{log_url}/checkpoint"))?;
        let cp = String::from_utf8(cp).context("the checkpoint is not UTF-8")?;
        let size: usize = cp
            .lines()
            .nth(1)
            .and_then(|l| l.parse().ok())
            .ok_or_else(|| anyhow!("no size in the checkpoint {cp:?}"))?;
        ensure!(
            (1..256).contains(&size),
            "the test log has {size} entries, expected 1-255"
        );
        let bundle = self.get(None, &format!("{log_url}/tile/entries/000.p/{size}"))?;
        let mut entries = Vec::with_capacity(size);
        let mut rest = bundle.as_slice();
        while let [hi, lo, tail @ ..] = rest {
            let len = usize::from(u16::from_be_bytes([*hi, *lo]));
            ensure!(tail.len() >= len, "entry bundle truncated");
            entries.push(tail[..len].to_vec());
            rest = &tail[len..];
        }
        ensure!(rest.is_empty(), "entry bundle ends inside a length prefix");
        ensure!(
            entries.len() == size,
            "entry bundle holds {} entries, the checkpoint says {size}",
            entries.len()
        );
        Ok(entries)
    }

    /// Waits until the operator records a missed deadline in the case.
    fn wait_for_overdue(&self, token: &str, case: &str) -> Result<()> {
        let deadline = Instant::now() + OVERDUE_TIMEOUT;
        loop {
            let c = self.get_json(Some(token), &format!("/api/v1/cases/{case}"))?;
            let overdue = c["timeline"]
                .as_array()
                .is_some_and(|t| t.iter().any(|s| s["kind"] == "overdue"));
            if overdue {
                return Ok(());
            }
            ensure!(
                Instant::now() < deadline,
                "no overdue statement in case {case} within {} s of its 2 s deadline: {c}",
                OVERDUE_TIMEOUT.as_secs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

fn sha256(data: &[u8]) -> Vec<u8> {
    Sha256::digest(data).to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Downloads one statement's payload as its recipient, checks the commitments and decrypts it
/// with `age` — with the recipient's and the author's identity — and checks that every other
/// identity fails.
fn check_payload(
    api: &Api,
    age: &Path,
    dir: &Path,
    s: &Sent,
    everyone: &[Officer],
    old_us: &Officer,
) -> Result<()> {
    let what = format!("the {} statement {}", s.kind, s.id);
    let id = B64
        .decode(&s.id)
        .with_context(|| format!("{what}: the id is not base64"))?;
    let id_hex = hex(&id);
    let token = &s.recipient.token;
    let st = api.get_json(Some(token), &format!("/api/v1/statements/{id_hex}"))?;
    let text = st["statement"]
        .as_str()
        .ok_or_else(|| anyhow!("{what}: no statement text in {st}"))?;
    // The statement served is the one whose id the receipt gave: RFC 6962 leaf hash.
    let mut leaf = vec![0u8];
    leaf.extend_from_slice(text.as_bytes());
    ensure!(
        sha256(&leaf) == id,
        "{what}: the served text does not hash to its id"
    );
    let payload_sha = B64.decode(key_line(text, "payload-sha256")?)?;
    let payload_size: usize = key_line(text, "payload-size")?.parse()?;
    let plaintext_sha = B64.decode(key_line(text, "plaintext-sha256")?)?;

    let ciphertext = api.get(Some(token), &format!("/api/v1/statements/{id_hex}/payload"))?;
    ensure!(
        ciphertext.len() == payload_size && sha256(&ciphertext) == payload_sha,
        "{what}: the ciphertext served ({} bytes) is not the one the statement commits to ({payload_size} bytes)",
        ciphertext.len()
    );
    ensure!(
        ciphertext.starts_with(b"age-encryption.org/v1\n"),
        "{what}: the payload is not a binary age v1 file"
    );
    let file = dir.join(format!("{}-{}.age", s.kind, &id_hex[..12]));
    std::fs::write(&file, &ciphertext).with_context(|| format!("writing {}", file.display()))?;

    // Each party of the case decrypts it with age, and gets the same plaintext.
    let mut plaintext = None;
    for reader in [&s.recipient, &s.author] {
        let out = run_age(age, &reader.identity, &file)?;
        if !out.status.success() {
            bail!(
                "{what}: {} -d -i {} (the identity of {}, a party of the case) failed ({}): {}",
                age.display(),
                reader.identity.display(),
                reader.id,
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        match &plaintext {
            None => plaintext = Some(out.stdout),
            Some(p) => ensure!(
                *p == out.stdout,
                "{what}: recipient and author decrypt different plaintexts"
            ),
        }
    }
    let plaintext = plaintext.ok_or_else(|| anyhow!("{what}: nothing decrypted"))?;
    ensure!(
        sha256(&plaintext) == plaintext_sha,
        "{what}: the plaintext age decrypted does not hash to the statement's plaintext-sha256"
    );
    check_document(&what, &plaintext, s)?;

    // Identities that must not open it: every party outside the case, and us-cisa's replaced
    // key for what was encrypted to its new one.
    let mut outsiders: Vec<&Officer> = everyone
        .iter()
        .filter(|o| o.id != s.recipient.id && o.id != s.author.id)
        .collect();
    let for_new_us = [&s.recipient, &s.author]
        .iter()
        .any(|o| o.id == old_us.id && o.identity != old_us.identity);
    if for_new_us {
        outsiders.push(old_us);
    }
    for o in outsiders {
        let out = run_age(age, &o.identity, &file)?;
        let err = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            bail!(
                "{what}: age decrypted it with {}'s identity {}, which it was not encrypted to",
                o.id,
                o.identity.display()
            );
        }
        ensure!(
            out.stdout.is_empty(),
            "{what}: age printed output with the wrong identity"
        );
        ensure!(
            err.contains("no identity matched any of the recipients"),
            "{what}: age failed with {}'s identity, but not for the expected reason: {}",
            o.id,
            err.trim()
        );
    }
    Ok(())
}

fn run_age(age: &Path, identity: &Path, file: &Path) -> Result<AgeOutput> {
    let mut cmd = Command::new(age);
    cmd.arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd
        .spawn()
        .with_context(|| format!("starting {}", age.display()))?;
    let guard = interop::ChildGuard { child };
    wait_bounded(guard, STEP_TIMEOUT)
}

struct AgeOutput {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Waits for a child with piped stdout/stderr, killing it (through its guard) after `timeout`.
fn wait_bounded(mut guard: interop::ChildGuard, timeout: Duration) -> Result<AgeOutput> {
    use std::io::Read as _;
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut v = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut v);
            }
            v
        })
    };
    let out = drain(guard.child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(guard.child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = guard.child.try_wait()? {
            break s;
        }
        ensure!(
            Instant::now() < deadline,
            "age did not finish within {} s; killed it",
            timeout.as_secs()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    Ok(AgeOutput {
        status,
        stdout: out.join().map_err(|_| anyhow!("reading age's output"))?,
        stderr: err.join().map_err(|_| anyhow!("reading age's errors"))?,
    })
}

/// The plaintext is the case document sent: hotline/case-document/v1 with a 32-byte salt, the
/// title and message given, and the evidence bundle byte-for-byte as JSON.
fn check_document(what: &str, plaintext: &[u8], s: &Sent) -> Result<()> {
    let doc: serde_json::Value = serde_json::from_slice(plaintext)
        .with_context(|| format!("{what}: the plaintext is not JSON"))?;
    ensure!(
        doc["format"] == "hotline/case-document/v1",
        "{what}: the plaintext is not a hotline/case-document/v1: {doc}"
    );
    let salt = doc["salt"]
        .as_str()
        .and_then(|s| B64.decode(s).ok())
        .ok_or_else(|| anyhow!("{what}: no base64 salt in the document"))?;
    ensure!(
        salt.len() == 32,
        "{what}: the salt has {} bytes",
        salt.len()
    );
    ensure!(
        doc["title"] == s.title.as_str(),
        "{what}: title {} instead of {:?}",
        doc["title"],
        s.title
    );
    let message = s.message.as_deref().unwrap_or_default();
    ensure!(
        doc["summary"] == message,
        "{what}: summary {} instead of the message sent {message:?}",
        doc["summary"]
    );
    match &s.evidence {
        Some(e) => ensure!(
            doc["evidence"] == *e,
            "{what}: the evidence is not the scenario's STIX bundle"
        ),
        None => ensure!(
            doc.get("evidence").is_none_or(serde_json::Value::is_null),
            "{what}: evidence where none was sent"
        ),
    }
    Ok(())
}
