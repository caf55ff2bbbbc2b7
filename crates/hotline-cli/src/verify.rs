//! `hotline log verify`: download a log over HTTP and check all of it against its signed
//! checkpoint, recomputing every tile and the root from the entries themselves.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, bail};
use hotline_server::witnessing::WitnessPolicy;
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::{Checkpoint, Ed25519Verifier, Note};
use serde::Serialize;

/// Reads a verifier key given inline or as a file.
pub fn load_vkey(arg: &str) -> Result<Ed25519Verifier> {
    let text = if Path::new(arg).is_file() {
        std::fs::read_to_string(arg).with_context(|| format!("reading {arg}"))?
    } else {
        arg.to_owned()
    };
    Ed25519Verifier::from_vkey(text.trim())
        .with_context(|| format!("{arg:?} is neither a verifier key file nor a verifier key"))
}

/// Reads a `--witness-policy` file (the TOML of `DIR/witnesses.toml`; `url` optional).
pub fn load_witness_policy(path: Option<&Path>) -> Result<Option<WitnessPolicy>> {
    path.map(|p| WitnessPolicy::load(p).context("--witness-policy"))
        .transpose()
}

/// A log reachable over HTTP under a prefix such as `http://127.0.0.1:8080/log`.
pub struct HttpLog {
    base: String,
    client: reqwest::blocking::Client,
    /// Bytes downloaded so far.
    pub bytes: u64,
    /// Requests made so far.
    pub requests: u64,
}

impl HttpLog {
    /// A client for the log at `url` (with or without the trailing `/log`).
    pub fn new(url: &str) -> Result<HttpLog> {
        let mut base = url.trim_end_matches('/').to_owned();
        if !base.ends_with("/log") {
            base.push_str("/log");
        }
        let client = reqwest::blocking::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()?;
        Ok(HttpLog {
            base,
            client,
            bytes: 0,
            requests: 0,
        })
    }

    /// GETs `path` below the prefix; `Ok(None)` on 404.
    pub fn get(&mut self, path: &str) -> Result<Option<Vec<u8>>> {
        let url = format!("{}/{path}", self.base);
        let resp = self
            .client
            .get(&url)
            .send()
            .with_context(|| format!("fetching {url}"))?;
        self.requests += 1;
        if resp.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !resp.status().is_success() {
            bail!("fetching {url}: HTTP {}", resp.status());
        }
        let body = resp.bytes().with_context(|| format!("reading {url}"))?;
        self.bytes += body.len() as u64;
        Ok(Some(body.to_vec()))
    }
}

/// What a successful verification established.
#[derive(Serialize, Debug)]
pub struct VerifyReport {
    /// Always true in a report (failures are errors).
    pub ok: bool,
    /// The log's origin.
    pub origin: String,
    /// Verified tree size.
    pub size: u64,
    /// Verified root hash, base64.
    pub root: String,
    /// Entries downloaded and hashed.
    pub entries_checked: u64,
    /// Hash tiles downloaded and compared.
    pub tiles_checked: u64,
    /// The earlier checkpoint proved to be a prefix of this one, if `--state` held one.
    pub consistent_with: Option<EarlierCheckpoint>,
    /// HTTP requests made.
    pub requests: u64,
    /// Bytes downloaded.
    pub bytes: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// An earlier checkpoint that the verified tree extends.
#[derive(Serialize, Debug)]
pub struct EarlierCheckpoint {
    /// Its size.
    pub size: u64,
    /// Its root, base64.
    pub root: String,
}

/// Fetches and verifies the whole log; with `state`, also proves the new checkpoint extends
/// the one stored there and then stores the new one; with `witness_policy`, the checkpoint
/// must carry enough valid cosignatures. On ROLLBACK or FORK, with `evidence_out`, both
/// signed checkpoints are written there (see [`crate::logsync::Equivocation::evidence`]).
pub fn verify_log(
    url: &str,
    vkey: &Ed25519Verifier,
    state: Option<&PathBuf>,
    witness_policy: Option<&WitnessPolicy>,
    evidence_out: Option<&Path>,
    progress: bool,
) -> Result<VerifyReport> {
    let started = Instant::now();
    // The same download and checks as `hotline audit`, without a cache or the statements.
    let synced = crate::logsync::with_evidence(
        crate::logsync::sync_log(
            &crate::logsync::SyncOptions {
                url,
                vkey,
                state: state.map(PathBuf::as_path),
                cache: None,
                progress,
                verb: "verifying",
                witness_policy,
            },
            |_, _, _| Ok(()),
        ),
        evidence_out,
    )?;
    let cp = synced.checkpoint;
    Ok(VerifyReport {
        ok: true,
        origin: cp.origin,
        size: cp.size,
        root: cp.root.to_base64(),
        entries_checked: cp.size,
        tiles_checked: synced.tiles_checked,
        consistent_with: synced.consistent_with,
        requests: synced.requests,
        bytes: synced.checkpoint_bytes + synced.downloaded_bytes,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Parses and verifies a signed checkpoint.
pub fn open_checkpoint(note: &[u8], vkey: &Ed25519Verifier) -> Result<(Checkpoint, Note)> {
    let n = Note::parse(note)?;
    n.verify(&[vkey as &dyn NoteVerifier])?;
    let cp = Checkpoint::parse(n.text())?;
    Ok((cp, n))
}
