//! Asking witnesses to cosign the log's checkpoints (c2sp.org/tlog-witness), and a k-of-n
//! witness policy.
//!
//! ## `DIR/witnesses.toml`
//!
//! The same TOML shape serves the log (`hotline serve` reads it from its data directory) and
//! auditors (`hotline log verify --witness-policy FILE`, `hotline audit --witness-policy
//! FILE`, where `url` may be left out):
//!
//! ```toml
//! # How many of the listed witnesses must have cosigned a checkpoint (1 ≤ required ≤ n).
//! required = 2
//!
//! [[witness]]
//! # The witness's key name, exactly the name in its verifier key.
//! name = "witness1.example.org"
//! # Where it serves c2sp.org/tlog-witness: the log POSTs to {url}/add-checkpoint.
//! url = "http://witness1.example.org:7380"
//! # Its cosignature/v1 verifier key (`hotline witness keygen` prints it).
//! vkey = "witness1.example.org+8a3ef4c2+BF…"
//!
//! [[witness]]
//! name = "witness2.example.org"
//! url = "http://witness2.example.org:7380"
//! vkey = "witness2.example.org+0c1d5e77+BK…"
//! ```
//!
//! ## What the log does with it
//!
//! [`spawn`] starts one background task that polls the published snapshot every
//! [`POLL_INTERVAL`]. For each new checkpoint it sends every witness, concurrently,
//! `POST {url}/add-checkpoint` with `old <size the witness last cosigned>` and the consistency
//! proof from that size (computed from the published snapshot; `old 0` and no proof for a
//! witness not yet heard from in this process). On `409 Conflict` it reads the witness's size
//! from the body and, if it is not beyond the checkpoint's, retries once with the proof from
//! there. Each request times out after [`REQUEST_TIMEOUT`]; a witness that failed is not asked
//! again before a back-off (doubling from 0.5 s up to 30 s) has passed. Every cosignature
//! returned is verified under the witness's `vkey` before it is kept. The task only reads
//! snapshots: sequencing never waits for a witness.
//!
//! Once `required` witnesses have cosigned one checkpoint, the log's note with their
//! cosignature lines appended (signed-note: extra signature lines after the log's own) becomes
//! [`Witnessing::latest`], which `GET /log/checkpoint` serves instead of the plain latest
//! checkpoint. The trade-off: a client sees a slightly older checkpoint (by one witnessing round
//! trip while all is well, by however long `required` witnesses are unreachable otherwise),
//! but one that independent witnesses have checked to be consistent with everything they saw.
//! Receipts, tiles and the JSON proofs keep using the latest sequenced tree; a party that wants
//! a receipt proved against the cosigned checkpoint asks
//! `GET /api/v1/statements/{id}/receipt?cosigned=1` once that checkpoint covers the statement.
//!
//! Each newly published cosigned checkpoint is also written to `DIR/cosigned.checkpoint`
//! ([`COSIGNED_FILE`]; a temporary file, synced, then renamed over it). When the log starts,
//! [`Witnessing::restore`] loads it back after checking it again — signed by the log's key,
//! cosigned by `required` witnesses of the current policy, and a checkpoint of this log (its
//! root is the log's root at its size) — so `/log/checkpoint` serves it at once instead of
//! answering 503 until the first round completes. A file that fails a check is ignored (with
//! a warning) and overwritten by the next round.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use hotline_store::reader::{LogSnapshot, LogView, SignedCheckpoint};
use hotline_tlog::cosignature::CosignatureV1Verifier;
use hotline_tlog::note::{NoteSignature, NoteVerifier as _};
use hotline_tlog::{Hash, Note};
use serde::Deserialize;

/// How often the task looks for a new checkpoint. Looking costs one pointer read; the
/// interval bounds how long a new checkpoint waits before witnesses are asked: `hotline bench
/// witness` measured p99 submit → cosigned 205 ms with 200 ms, 76–139 ms with 25 ms
/// (BENCHMARKS.md).
pub const POLL_INTERVAL: Duration = Duration::from_millis(25);
/// Timeout of one `add-checkpoint` request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// The file name of the witness configuration in a data directory.
pub const WITNESSES_FILE: &str = "witnesses.toml";
/// The file name of the persisted cosigned checkpoint in a data directory.
pub const COSIGNED_FILE: &str = "cosigned.checkpoint";

const BACKOFF_MIN: Duration = Duration::from_millis(500);
const BACKOFF_MAX: Duration = Duration::from_secs(30);

/// Why a witness policy file was refused.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The file could not be read.
    #[error("reading {0}: {1}")]
    Io(String, #[source] std::io::Error),
    /// Not the TOML shape described in the module documentation.
    #[error("{0}")]
    Syntax(String),
    /// A rule of the policy is broken.
    #[error("{0}")]
    Invalid(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    required: usize,
    #[serde(default)]
    witness: Vec<WitnessFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WitnessFile {
    name: String,
    url: Option<String>,
    vkey: String,
}

/// One witness of a policy.
#[derive(Clone, Debug)]
pub struct WitnessSpec {
    /// Its key name.
    pub name: String,
    /// Its c2sp.org/tlog-witness URL prefix, if given (required for the log, not for auditors).
    pub url: Option<String>,
    /// Its cosignature/v1 verifier.
    pub verifier: CosignatureV1Verifier,
}

/// A k-of-n witness policy: the witnesses and how many of them must cosign.
#[derive(Clone, Debug)]
pub struct WitnessPolicy {
    /// The listed witnesses (distinct names).
    pub witnesses: Vec<WitnessSpec>,
    /// How many of them must have cosigned a checkpoint.
    pub required: usize,
}

impl WitnessPolicy {
    /// Parses the TOML text of a policy.
    pub fn parse(text: &str) -> Result<WitnessPolicy, PolicyError> {
        let file: PolicyFile =
            toml::from_str(text).map_err(|e| PolicyError::Syntax(e.to_string()))?;
        let mut witnesses: Vec<WitnessSpec> = Vec::new();
        for w in file.witness {
            let verifier = CosignatureV1Verifier::from_vkey(w.vkey.trim()).map_err(|e| {
                PolicyError::Invalid(format!(
                    "witness {:?}: vkey is not a cosignature/v1 verifier key: {e}",
                    w.name
                ))
            })?;
            if verifier.name() != w.name {
                return Err(PolicyError::Invalid(format!(
                    "witness {:?}: its vkey is named {:?}; name must be the vkey's key name",
                    w.name,
                    verifier.name()
                )));
            }
            if witnesses.iter().any(|o| o.name == w.name) {
                return Err(PolicyError::Invalid(format!(
                    "witness {:?} is listed twice",
                    w.name
                )));
            }
            let url = w.url.map(|u| u.trim_end_matches('/').to_owned());
            if let Some(u) = &url
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                return Err(PolicyError::Invalid(format!(
                    "witness {:?}: url {u:?} must start with http:// or https://",
                    w.name
                )));
            }
            witnesses.push(WitnessSpec {
                name: w.name,
                url,
                verifier,
            });
        }
        if file.required == 0 || file.required > witnesses.len() {
            return Err(PolicyError::Invalid(format!(
                "required = {} must be between 1 and the number of witnesses listed ({})",
                file.required,
                witnesses.len()
            )));
        }
        Ok(WitnessPolicy {
            witnesses,
            required: file.required,
        })
    }

    /// Reads and parses a policy file.
    pub fn load(path: &Path) -> Result<WitnessPolicy, PolicyError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| PolicyError::Io(path.display().to_string(), e))?;
        WitnessPolicy::parse(&text)
            .map_err(|e| PolicyError::Invalid(format!("{}: {e}", path.display())))
    }

    /// The names of the listed witnesses whose cosignature on `note` verifies (each counted
    /// once, whatever lines the note repeats).
    pub fn valid_cosigners(&self, note: &Note) -> Vec<String> {
        self.witnesses
            .iter()
            .filter(|w| {
                note.signatures().iter().any(|s| {
                    s.name == w.verifier.name()
                        && s.key_id == w.verifier.key_id()
                        && w.verifier
                            .verified_timestamp(note.text(), &s.signature)
                            .is_some()
                })
            })
            .map(|w| w.name.clone())
            .collect()
    }
}

/// A checkpoint with its witnesses' cosignatures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CosignedCheckpoint {
    /// Its tree size.
    pub size: u64,
    /// The log's signed note with the cosignature lines appended.
    pub note: Vec<u8>,
    /// The witnesses whose cosignatures it carries.
    pub witnesses: Vec<String>,
}

/// The log's side of witnessing: the policy and the latest checkpoint that satisfies it.
#[derive(Debug)]
pub struct Witnessing {
    policy: WitnessPolicy,
    latest: RwLock<Option<Arc<CosignedCheckpoint>>>,
    /// Where each published cosigned checkpoint is written, if anywhere.
    persist: Option<PathBuf>,
}

impl Witnessing {
    /// Witnessing under `policy`; every witness must have a URL.
    pub fn new(policy: WitnessPolicy) -> Result<Witnessing, PolicyError> {
        if let Some(w) = policy.witnesses.iter().find(|w| w.url.is_none()) {
            return Err(PolicyError::Invalid(format!(
                "witness {:?} has no url: the log cannot ask it to cosign",
                w.name
            )));
        }
        Ok(Witnessing {
            policy,
            latest: RwLock::new(None),
            persist: None,
        })
    }

    /// Writes each published cosigned checkpoint to `path` (atomically: temporary file, sync,
    /// rename); [`Witnessing::restore`] reads it back.
    pub fn persisting_to(mut self, path: PathBuf) -> Witnessing {
        self.persist = Some(path);
        self
    }

    /// Loads the persisted cosigned checkpoint, if there is one, after checking it: signed by
    /// `log_key`, with `required` valid cosignatures under the current policy, and a checkpoint
    /// of the log `view` holds (same origin, size within the log, the log's root at that
    /// size). Returns its size; `Ok(None)` without a file; an error (the caller logs it and
    /// goes on without) if the file does not pass.
    pub fn restore(
        &self,
        log_key: &dyn hotline_tlog::note::NoteVerifier,
        view: &LogView,
    ) -> Result<Option<u64>, String> {
        let Some(path) = &self.persist else {
            return Ok(None);
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        };
        let what = path.display();
        let note = Note::parse(&bytes).map_err(|e| format!("{what}: {e}"))?;
        note.verify(&[log_key])
            .map_err(|e| format!("{what}: not signed by the log's key: {e}"))?;
        let cp = hotline_tlog::Checkpoint::parse(note.text())
            .map_err(|e| format!("{what}: not a checkpoint: {e}"))?;
        let origin = view.reader().origin();
        if cp.origin != origin {
            return Err(format!(
                "{what}: a checkpoint of {:?}, not of this log ({origin:?})",
                cp.origin
            ));
        }
        let witnesses = self.policy.valid_cosigners(&note);
        if witnesses.len() < self.policy.required {
            return Err(format!(
                "{what}: carries {} valid cosignature(s) from the policy's witnesses, {} required",
                witnesses.len(),
                self.policy.required
            ));
        }
        let snap = view.snapshot();
        if cp.size > snap.size() {
            return Err(format!(
                "{what}: size {} is beyond the log's size {}",
                cp.size,
                snap.size()
            ));
        }
        let root = hotline_tlog::tree::root(&view.nodes(&snap), cp.size)
            .map_err(|e| format!("{what}: computing the log's root at size {}: {e}", cp.size))?;
        if root != cp.root {
            return Err(format!(
                "{what}: its root is not the log's root at size {}",
                cp.size
            ));
        }
        let size = cp.size;
        self.set_latest(CosignedCheckpoint {
            size,
            note: bytes,
            witnesses,
        });
        Ok(Some(size))
    }

    /// The policy.
    pub fn policy(&self) -> &WitnessPolicy {
        &self.policy
    }

    /// The latest checkpoint with at least `required` cosignatures, if any yet.
    pub fn latest(&self) -> Option<Arc<CosignedCheckpoint>> {
        match self.latest.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Makes `cp` the latest if it is newer; whether it was.
    fn set_latest(&self, cp: CosignedCheckpoint) -> bool {
        let mut g = match self.latest.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if g.as_ref().is_none_or(|old| cp.size > old.size) {
            *g = Some(Arc::new(cp));
            true
        } else {
            false
        }
    }

    /// Publishes `cp` (if newer) and persists it.
    async fn publish(&self, cp: CosignedCheckpoint) {
        let note = cp.note.clone();
        if !self.set_latest(cp) {
            return;
        }
        let Some(path) = self.persist.clone() else {
            return;
        };
        let written = tokio::task::spawn_blocking(move || write_atomically(&path, &note)).await;
        match written {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "could not persist the cosigned checkpoint"),
            Err(e) => tracing::warn!(error = %e, "could not persist the cosigned checkpoint"),
        }
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory: written, synced,
/// then renamed over `path`, so a reader sees the old file or the new one, never a part.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}

/// What the task remembers of one witness.
struct WitnessState {
    /// The size it last cosigned (or told us in a 409), if known.
    size: Option<u64>,
    /// Not asked again before this.
    next_attempt: Instant,
    backoff: Duration,
}

/// The checkpoint of the current round and the cosignatures gathered for it.
struct Round {
    checkpoint: Arc<SignedCheckpoint>,
    snapshot: Arc<LogSnapshot>,
    cosignatures: Vec<Option<NoteSignature>>,
}

/// Starts the witnessing task on the current tokio runtime; it runs until aborted.
pub fn spawn(witnessing: Arc<Witnessing>, view: Arc<LogView>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(run(witnessing, view))
}

async fn run(witnessing: Arc<Witnessing>, view: Arc<LogView>) {
    let client = match reqwest::Client::builder().timeout(REQUEST_TIMEOUT).build() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "witnessing disabled: no HTTP client");
            return;
        }
    };
    let n = witnessing.policy.witnesses.len();
    let mut states: Vec<WitnessState> = (0..n)
        .map(|_| WitnessState {
            size: None,
            next_attempt: Instant::now(),
            backoff: BACKOFF_MIN,
        })
        .collect();
    let mut round: Option<Round> = None;
    let mut every = tokio::time::interval(POLL_INTERVAL);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        let snap = view.snapshot();
        let Some(cp) = snap.checkpoint.clone() else {
            continue;
        };
        if round
            .as_ref()
            .is_none_or(|r| r.checkpoint.size() < cp.size())
        {
            round = Some(Round {
                checkpoint: cp,
                snapshot: snap,
                cosignatures: vec![None; n],
            });
        }
        let Some(r) = round.as_mut() else {
            continue;
        };
        let now = Instant::now();
        let mut tasks = tokio::task::JoinSet::new();
        for (i, state) in states.iter().enumerate() {
            if r.cosignatures[i].is_some() || state.next_attempt > now {
                continue;
            }
            let spec = witnessing.policy.witnesses[i].clone();
            let (client, view) = (client.clone(), view.clone());
            let (checkpoint, snapshot, old) =
                (r.checkpoint.clone(), r.snapshot.clone(), state.size);
            tasks.spawn(async move {
                let result = ask(&client, &view, &spec, &snapshot, &checkpoint, old).await;
                (i, result)
            });
        }
        if tasks.is_empty() {
            continue;
        }
        while let Some(joined) = tasks.join_next().await {
            let Ok((i, result)) = joined else { continue };
            let spec = &witnessing.policy.witnesses[i];
            let state = &mut states[i];
            match result {
                Ok(sig) => {
                    state.size = Some(r.checkpoint.size());
                    state.backoff = BACKOFF_MIN;
                    state.next_attempt = Instant::now();
                    r.cosignatures[i] = Some(sig);
                }
                Err(failure) => {
                    if let Some(size) = failure.witness_size {
                        state.size = Some(size);
                    }
                    tracing::warn!(
                        witness = %spec.name,
                        size = r.checkpoint.size(),
                        error = %failure.message,
                        retry_in_ms = state.backoff.as_millis() as u64,
                        "witness did not cosign"
                    );
                    state.next_attempt = Instant::now() + state.backoff;
                    state.backoff = (state.backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
        let count = r.cosignatures.iter().flatten().count();
        let fresh = witnessing
            .latest()
            .is_none_or(|c| r.checkpoint.size() > c.size);
        if count >= witnessing.policy.required && fresh {
            match cosigned_note(&r.checkpoint, &r.cosignatures, &witnessing.policy) {
                Ok(c) => {
                    tracing::info!(size = c.size, witnesses = ?c.witnesses, "checkpoint cosigned");
                    witnessing.publish(c).await;
                }
                Err(e) => tracing::error!(error = %e, "could not assemble the cosigned checkpoint"),
            }
        }
    }
}

fn cosigned_note(
    cp: &SignedCheckpoint,
    sigs: &[Option<NoteSignature>],
    policy: &WitnessPolicy,
) -> Result<CosignedCheckpoint, hotline_tlog::note::NoteError> {
    let mut note = Note::parse(&cp.note)?;
    let mut witnesses = Vec::new();
    for (sig, spec) in sigs.iter().zip(&policy.witnesses) {
        if let Some(sig) = sig {
            note.add_signature(sig.clone());
            witnesses.push(spec.name.clone());
        }
    }
    Ok(CosignedCheckpoint {
        size: cp.size(),
        note: note.to_bytes(),
        witnesses,
    })
}

/// Why a witness did not cosign, and its size if it told us.
struct Failure {
    message: String,
    witness_size: Option<u64>,
}

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            witness_size: None,
        }
    }
}

/// Asks one witness to cosign `cp`, from `old` (0 if unknown), retrying once after a 409.
async fn ask(
    client: &reqwest::Client,
    view: &Arc<LogView>,
    spec: &WitnessSpec,
    snap: &Arc<LogSnapshot>,
    cp: &Arc<SignedCheckpoint>,
    old: Option<u64>,
) -> Result<NoteSignature, Failure> {
    let mut old = old.filter(|&o| o <= cp.size()).unwrap_or(0);
    let mut retried = false;
    loop {
        let proof = proof(view, snap, old, cp.size()).await?;
        let url = format!("{}/add-checkpoint", spec.url.as_deref().unwrap_or_default());
        let resp = client
            .post(&url)
            .body(encode_request(old, &proof, &cp.note))
            .send()
            .await
            .map_err(|e| Failure::new(format!("POST {url}: {e}")))?;
        let status = resp.status();
        let body = resp
            .bytes()
            .await
            .map_err(|e| Failure::new(format!("POST {url}: reading the answer: {e}")))?;
        if status == reqwest::StatusCode::CONFLICT {
            let size = std::str::from_utf8(&body)
                .ok()
                .and_then(|s| s.strip_suffix('\n'))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or_else(|| Failure::new(format!("POST {url}: 409 without a size")))?;
            if retried || size > cp.size() {
                return Err(Failure {
                    message: format!(
                        "POST {url}: 409, the witness holds size {size} (checkpoint size {})",
                        cp.size()
                    ),
                    witness_size: Some(size),
                });
            }
            old = size;
            retried = true;
            continue;
        }
        if !status.is_success() {
            let reason = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
            return Err(Failure::new(format!(
                "POST {url}: HTTP {status}: {}",
                reason.trim()
            )));
        }
        return verify_cosignature(spec, cp, &body)
            .ok_or_else(|| Failure::new(format!("POST {url}: the cosignature does not verify")));
    }
}

/// The witness's cosignature line in `body`, if it is one by the witness's key over `cp`.
fn verify_cosignature(
    spec: &WitnessSpec,
    cp: &SignedCheckpoint,
    body: &[u8],
) -> Option<NoteSignature> {
    let mut combined = cp.note.clone();
    combined.extend_from_slice(body);
    let note = Note::parse(&combined).ok()?;
    let sig = note.signature_by(spec.verifier.name(), spec.verifier.key_id())?;
    spec.verifier
        .verified_timestamp(note.text(), &sig.signature)
        .map(|_| sig.clone())
}

async fn proof(
    view: &Arc<LogView>,
    snap: &Arc<LogSnapshot>,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, Failure> {
    let (view, snap) = (view.clone(), snap.clone());
    tokio::task::spawn_blocking(move || view.consistency_proof(&snap, old, new))
        .await
        .map_err(|e| Failure::new(format!("consistency proof task: {e}")))?
        .map_err(|e| Failure::new(format!("consistency proof from {old} to {new}: {e}")))
}

/// Encodes an `add-checkpoint` body (c2sp.org/tlog-witness): `old <size>`, the proof lines,
/// an empty line, the signed note.
pub fn encode_request(old_size: u64, proof: &[Hash], note: &[u8]) -> Vec<u8> {
    let mut out = format!("old {old_size}\n").into_bytes();
    for h in proof {
        out.extend_from_slice(h.to_base64().as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
    out.extend_from_slice(note);
    out
}

/// Loads `dir/witnesses.toml` if it exists.
pub fn load_from_dir(dir: &Path) -> Result<Option<Witnessing>, PolicyError> {
    let path = dir.join(WITNESSES_FILE);
    if !path.exists() {
        return Ok(None);
    }
    Witnessing::new(WitnessPolicy::load(&path)?)
        .map(|w| Some(w.persisting_to(dir.join(COSIGNED_FILE))))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use hotline_tlog::cosignature::CosignerV1;
    use hotline_tlog::note::Ed25519Signer;

    fn policy_text(ws: &[&CosignerV1], required: usize) -> String {
        let mut s = format!("required = {required}\n");
        for w in ws {
            let v = w.verifier();
            s.push_str(&format!(
                "[[witness]]\nname = \"{}\"\nurl = \"http://127.0.0.1:1/\"\nvkey = \"{}\"\n",
                v.name(),
                v.to_vkey()
            ));
        }
        s
    }

    #[test]
    fn parses_and_refuses_policies() {
        let a = CosignerV1::generate("a.example").unwrap();
        let b = CosignerV1::generate("b.example").unwrap();
        let p = WitnessPolicy::parse(&policy_text(&[&a, &b], 2)).unwrap();
        assert_eq!(p.required, 2);
        assert_eq!(p.witnesses[0].url.as_deref(), Some("http://127.0.0.1:1"));
        for bad in [
            policy_text(&[&a, &b], 0),
            policy_text(&[&a, &b], 3),
            policy_text(&[&a, &a], 1),
            policy_text(&[&a], 1).replace("name = \"a.example\"", "name = \"other\""),
            policy_text(&[&a], 1).replace("http://", "ftp://"),
            policy_text(&[&a], 1) + "extra = 1\n",
        ] {
            assert!(WitnessPolicy::parse(&bad).is_err(), "{bad}");
        }
        // An Ed25519 (type 0x01) key is not a cosigner key.
        let log = Ed25519Signer::generate("a.example").unwrap();
        let text =
            policy_text(&[&a], 1).replace(&a.verifier().to_vkey(), &log.verifier().to_vkey());
        assert!(WitnessPolicy::parse(&text).is_err());
        // Auditors may leave out urls; the log may not.
        let no_url = policy_text(&[&a], 1).replace("url = \"http://127.0.0.1:1/\"\n", "");
        let p = WitnessPolicy::parse(&no_url).unwrap();
        assert!(Witnessing::new(p).is_err());
    }

    #[test]
    fn counts_valid_distinct_cosigners() {
        let log = Ed25519Signer::generate("log.example").unwrap();
        let a = CosignerV1::generate("a.example").unwrap();
        let b = CosignerV1::generate("b.example").unwrap();
        let c = CosignerV1::generate("c.example").unwrap();
        let p = WitnessPolicy::parse(&policy_text(&[&a, &b, &c], 2)).unwrap();
        let mut note =
            Note::new("log.example\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n").unwrap();
        note.sign(&log);
        assert!(p.valid_cosigners(&note).is_empty());
        note.add_signature(a.cosign(note.text(), 1_700_000_000));
        // A repeated line counts once.
        let mut bytes = note.to_bytes();
        let line = note.signatures()[1].line();
        bytes.extend_from_slice(format!("{line}\n").as_bytes());
        assert_eq!(
            p.valid_cosigners(&Note::parse(&bytes).unwrap()),
            vec!["a.example"]
        );
        // A cosignature over another checkpoint does not count.
        let other =
            Note::new("log.example\n2\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n").unwrap();
        note.add_signature(b.cosign(other.text(), 1_700_000_000));
        assert_eq!(p.valid_cosigners(&note), vec!["a.example"]);
        note.add_signature(b.cosign(note.text(), 1_700_000_001));
        assert_eq!(p.valid_cosigners(&note), vec!["a.example", "b.example"]);
    }

    #[test]
    fn verifies_a_witness_answer() {
        let log = Ed25519Signer::generate("log.example").unwrap();
        let a = CosignerV1::generate("a.example").unwrap();
        let b = CosignerV1::generate("b.example").unwrap();
        let p = WitnessPolicy::parse(&policy_text(&[&a, &b], 1)).unwrap();
        let mut note =
            Note::new("log.example\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n").unwrap();
        note.sign(&log);
        let cp = SignedCheckpoint {
            checkpoint: hotline_tlog::Checkpoint::parse(note.text()).unwrap(),
            note: note.to_bytes(),
            created_ms: 0,
        };
        let answer = format!("{}\n", a.cosign(note.text(), 5).line());
        let sig = verify_cosignature(&p.witnesses[0], &cp, answer.as_bytes()).unwrap();
        assert_eq!(sig.name, "a.example");
        // b's key does not verify a's answer, nor a garbled one.
        assert!(verify_cosignature(&p.witnesses[1], &cp, answer.as_bytes()).is_none());
        assert!(verify_cosignature(&p.witnesses[0], &cp, b"garbage\n").is_none());
        let c = cosigned_note(&cp, &[Some(sig), None], &p).unwrap();
        assert_eq!(c.witnesses, vec!["a.example"]);
        assert_eq!(
            p.valid_cosigners(&Note::parse(&c.note).unwrap()),
            vec!["a.example"]
        );
        assert_eq!(encode_request(3, &[], b"n\n"), b"old 3\n\nn\n".to_vec());
    }
}
