//! `hotline log verify`: download a log over HTTP and check all of it against its signed
//! checkpoint, recomputing every tile and the root from the entries themselves.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_tlog::bundle::decode_bundle;
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tile::TreeEdge;
use hotline_tlog::tile::{TILE_WIDTH, TileId, TileKind, partial_tiles_for_size, tile_bytes};
use hotline_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, leaf_hash};
use indicatif::{ProgressBar, ProgressStyle};
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

    fn must_get(&mut self, path: &str) -> Result<Vec<u8>> {
        self.get(path)?
            .ok_or_else(|| anyhow!("{}/{path} is missing (404)", self.base))
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
/// the one stored there and then stores the new one.
pub fn verify_log(
    url: &str,
    vkey: &Ed25519Verifier,
    state: Option<&PathBuf>,
    progress: bool,
) -> Result<VerifyReport> {
    let started = Instant::now();
    let mut log = HttpLog::new(url)?;
    let note_bytes = log
        .get("checkpoint")?
        .ok_or_else(|| anyhow!("{url} has no checkpoint yet (the log is empty or not a log)"))?;
    let (cp, _) = open_checkpoint(&note_bytes, vkey).context("the log's checkpoint")?;

    let earlier = match state {
        Some(path) if path.exists() => {
            let old = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let (old_cp, _) = open_checkpoint(&old, vkey)
                .with_context(|| format!("the checkpoint stored in {}", path.display()))?;
            if old_cp.origin != cp.origin {
                bail!(
                    "{} holds a checkpoint of origin {:?}, the log at {url} is {:?}",
                    path.display(),
                    old_cp.origin,
                    cp.origin
                );
            }
            if old_cp.size > cp.size {
                bail!(
                    "ROLLBACK: the log now shows size {} but earlier signed size {} ({}); \
                     both checkpoints are signed by the log key",
                    cp.size,
                    old_cp.size,
                    path.display()
                );
            }
            Some(old_cp)
        }
        _ => None,
    };

    let bar = if progress {
        let b = ProgressBar::new(cp.size);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} verifying {pos}/{len} entries [{bar:30}] {per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };

    let mut edge = TreeEdge::empty();
    let mut tiles_checked = 0u64;
    let mut earlier_root: Option<Hash> = earlier
        .as_ref()
        .filter(|c| c.size == 0)
        .map(|_| Hash::empty_root());
    let bundles = cp.size.div_ceil(TILE_WIDTH);
    for n in 0..bundles {
        let width = (cp.size - n * TILE_WIDTH).min(TILE_WIDTH) as u16;
        let id = TileId {
            kind: TileKind::Entries,
            index: n,
            width,
        };
        let data = log.must_get(&id.path())?;
        let entries = decode_bundle(&data).map_err(|e| anyhow!("{}: {e}", id.path()))?;
        if entries.len() != usize::from(width) {
            bail!(
                "{} holds {} entries, the checkpoint's size {} needs {width}",
                id.path(),
                entries.len(),
                cp.size
            );
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        // Stop exactly at the earlier checkpoint's size to recompute its root.
        let mut done = 0usize;
        if let Some(old) = &earlier {
            let start = n * TILE_WIDTH;
            if old.size > start && old.size <= start + u64::from(width) {
                let k = (old.size - start) as usize;
                let touched = edge.append(&leaves[..k]);
                tiles_checked += check_full_tiles(&mut log, &touched)?;
                earlier_root = Some(edge.root());
                done = k;
            }
        }
        let touched = edge.append(&leaves[done..]);
        tiles_checked += check_full_tiles(&mut log, &touched)?;
        bar.inc(u64::from(width));
    }
    bar.finish_and_clear();

    // The right-edge partial tiles, then the root.
    for id in partial_tiles_for_size(cp.size) {
        let TileKind::Hashes { level } = id.kind else {
            continue;
        };
        let got = log.must_get(&id.path())?;
        let want = tile_bytes(&edge.partial_tiles()[usize::from(level)]);
        if got != want {
            bail!(
                "{} does not match the hashes recomputed from the entries",
                id.path()
            );
        }
        tiles_checked += 1;
    }
    if edge.root() != cp.root {
        bail!(
            "the root recomputed from the entries ({}) is not the checkpoint's root ({})",
            edge.root(),
            cp.root
        );
    }
    let consistent_with = match (&earlier, earlier_root) {
        (Some(old), Some(root)) => {
            if root != old.root {
                bail!(
                    "FORK: the log's first {} entries have root {root}, but the log earlier \
                     signed root {} for that size",
                    old.size,
                    old.root
                );
            }
            Some(EarlierCheckpoint {
                size: old.size,
                root: old.root.to_base64(),
            })
        }
        _ => None,
    };
    if let Some(path) = state {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &note_bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(VerifyReport {
        ok: true,
        origin: cp.origin,
        size: cp.size,
        root: cp.root.to_base64(),
        entries_checked: cp.size,
        tiles_checked,
        consistent_with,
        requests: log.requests,
        bytes: log.bytes,
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

fn check_full_tiles(log: &mut HttpLog, touched: &hotline_tlog::tile::TouchedTiles) -> Result<u64> {
    let mut checked = 0;
    for (level, index, nodes) in &touched.tiles {
        if nodes.width() as u64 != TILE_WIDTH {
            continue; // partial: checked once at the end, at the checkpoint's size
        }
        let id = TileId::hashes(*level, *index);
        let got = log.must_get(&id.path())?;
        if got != nodes.to_bytes() {
            bail!(
                "{} does not match the hashes recomputed from the entries",
                id.path()
            );
        }
        checked += 1;
    }
    Ok(checked)
}
