//! Download a whole log and verify it, as `hotline log verify` does, with two additions an
//! auditor needs: every entry is handed to a callback in log order, and tiles and entry bundles
//! can come from a local cache so that a second run downloads only what is new.
//!
//! Every byte read from the cache is checked exactly like a downloaded one (entries hashed,
//! every tile and the root recomputed and compared), so the cache needs no trust: a damaged or
//! edited cache file fails the run, named. Tiles are immutable once the log has them (a full
//! tile forever; a partial tile of width W too, since its hashes are those of the log's first
//! entries), so they are cached by their tlog-tiles path, under a directory per log origin;
//! partial tiles are dropped once a wider one is cached. Files written by a run that then fails
//! verification are removed again.
//!
//! The checks, the `--state` semantics and their messages (ROLLBACK, FORK) are those of
//! [`crate::verify::verify_log`]. A ROLLBACK or FORK fails the run with an [`Equivocation`]
//! error carrying both signed checkpoints, which [`with_evidence`] writes out as proof
//! (`--evidence-out`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_server::witnessing::WitnessPolicy;
use hotline_tlog::bundle::decode_bundle;
use hotline_tlog::tile::{
    TILE_WIDTH, TileId, TileKind, TouchedTiles, TreeEdge, partial_tiles_for_size, tile_bytes,
};
use hotline_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, leaf_hash};
use indicatif::{ProgressBar, ProgressStyle};

use crate::verify::{EarlierCheckpoint, HttpLog, open_checkpoint};

/// What to download and how.
pub struct SyncOptions<'a> {
    /// Server URL or log prefix.
    pub url: &'a str,
    /// The log's verifier key.
    pub vkey: &'a Ed25519Verifier,
    /// File keeping the last verified checkpoint (read, checked against, then replaced).
    pub state: Option<&'a Path>,
    /// Directory of cached tiles and bundles.
    pub cache: Option<&'a Path>,
    /// Show a progress bar.
    pub progress: bool,
    /// Verb for the progress bar ("verifying", "auditing").
    pub verb: &'a str,
    /// Witness policy the checkpoint must satisfy (`--witness-policy`): at least `required`
    /// valid cosignatures by distinct listed witnesses.
    pub witness_policy: Option<&'a WitnessPolicy>,
}

/// What a successful run established and cost.
#[derive(Debug)]
pub struct Synced {
    /// The verified checkpoint.
    pub checkpoint: Checkpoint,
    /// The signed checkpoint note, verbatim (with any cosignatures).
    pub checkpoint_note: Vec<u8>,
    /// The earlier checkpoint proved to be a prefix, if `state` held one.
    pub consistent_with: Option<EarlierCheckpoint>,
    /// Hash tiles compared with the recomputed ones.
    pub tiles_checked: u64,
    /// HTTP requests made (the checkpoint included).
    pub requests: u64,
    /// Bytes of the checkpoint.
    pub checkpoint_bytes: u64,
    /// Tiles and bundles downloaded.
    pub downloaded_tiles: u64,
    /// Their bytes.
    pub downloaded_bytes: u64,
    /// Tiles and bundles read from the cache.
    pub cached_tiles: u64,
    /// Their bytes.
    pub cached_bytes: u64,
}

/// A tile or bundle and where it came from.
struct Fetched {
    bytes: Vec<u8>,
    /// The cache file it was read from, if it was.
    cached: Option<PathBuf>,
}

impl Fetched {
    fn origin(&self, path: &str) -> String {
        match &self.cached {
            Some(f) => format!("{path} (read from the cache file {})", f.display()),
            None => path.to_owned(),
        }
    }
}

struct Source {
    http: HttpLog,
    cache: Option<PathBuf>,
    written: Vec<PathBuf>,
    downloaded_tiles: u64,
    downloaded_bytes: u64,
    cached_tiles: u64,
    cached_bytes: u64,
}

impl Source {
    fn fetch(&mut self, id: &TileId) -> Result<Fetched> {
        let path = id.path();
        if let Some(dir) = &self.cache {
            let file = dir.join(&path);
            match std::fs::read(&file) {
                Ok(bytes) => {
                    self.cached_tiles += 1;
                    self.cached_bytes += bytes.len() as u64;
                    return Ok(Fetched {
                        bytes,
                        cached: Some(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(e).with_context(|| format!("reading {}", file.display())),
            }
        }
        let bytes = self
            .http
            .get(&path)?
            .ok_or_else(|| anyhow!("{path} is missing from the log (404)"))?;
        self.downloaded_tiles += 1;
        self.downloaded_bytes += bytes.len() as u64;
        if let Some(dir) = &self.cache {
            let file = dir.join(&path);
            store(&file, &bytes)?;
            self.written.push(file.clone());
            prune_partials(&file, id);
        }
        Ok(Fetched {
            bytes,
            cached: None,
        })
    }

    /// Removes what this run wrote to the cache (after a failed verification).
    fn forget_written(&mut self) {
        for f in self.written.drain(..) {
            let _ = std::fs::remove_file(f);
        }
    }
}

fn store(file: &Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    let mut tmp = file.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", file.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("writing {}", file.display()))
}

/// Drops the narrower partial versions of a tile just cached (`X.p/W` when `X` or a wider
/// `X.p/W'` arrives); they will never be asked for again.
fn prune_partials(file: &Path, id: &TileId) {
    let partial_dir = if id.is_full() {
        let mut d = file.as_os_str().to_owned();
        d.push(".p");
        PathBuf::from(d)
    } else {
        match file.parent() {
            Some(p) => p.to_owned(),
            None => return,
        }
    };
    let Ok(dir) = std::fs::read_dir(&partial_dir) else {
        return;
    };
    for e in dir.flatten() {
        let narrower = e
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u16>().ok())
            .is_some_and(|w| id.is_full() || w < id.width);
        if narrower {
            let _ = std::fs::remove_file(e.path());
        }
    }
    if id.is_full() {
        let _ = std::fs::remove_dir(&partial_dir);
    }
}

/// The cache directory of one log origin under `cache`.
fn origin_dir(cache: &Path, origin: &str) -> PathBuf {
    let safe: String = origin
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    cache.join(safe)
}

/// Fetches and verifies the whole log, calling `on_entry(checkpoint, index, entry)` for every
/// entry in log order; with `state`, also proves the new checkpoint extends the one stored
/// there and then stores the new one. An error of `on_entry` stops the run.
pub fn sync_log(
    opts: &SyncOptions<'_>,
    mut on_entry: impl FnMut(&Checkpoint, u64, &[u8]) -> Result<()>,
) -> Result<Synced> {
    let url = opts.url;
    let mut http = HttpLog::new(url)?;
    let note_bytes = http
        .get("checkpoint")?
        .ok_or_else(|| anyhow!("{url} has no checkpoint yet (the log is empty or not a log)"))?;
    let checkpoint_bytes = note_bytes.len() as u64;
    let (cp, note) = open_checkpoint(&note_bytes, opts.vkey).context("the log's checkpoint")?;
    if let Some(policy) = opts.witness_policy {
        check_witnesses(policy, &note, &cp)?;
    }
    let earlier = match opts.state {
        Some(path) if path.exists() => Some(read_state(path, &cp, &note_bytes, url, opts.vkey)?),
        _ => None,
    };
    let mut src = Source {
        http,
        cache: opts.cache.map(|c| origin_dir(c, &cp.origin)),
        written: Vec::new(),
        downloaded_tiles: 0,
        downloaded_bytes: 0,
        cached_tiles: 0,
        cached_bytes: 0,
    };
    let earlier_cp = earlier.as_ref().map(|(c, _)| c);
    let verified = verify_tiles(opts, &cp, earlier_cp, &mut src, &mut on_entry);
    let (tiles_checked, earlier_root) = match verified {
        Ok(v) => v,
        Err(e) => {
            src.forget_written();
            return Err(e);
        }
    };
    let consistent_with = match (earlier, earlier_root) {
        (Some((old, old_note)), Some(root)) => {
            if root != old.root {
                src.forget_written();
                return Err(Equivocation {
                    message: format!(
                        "FORK: the log's first {} entries have root {root}, but the log earlier \
                         signed root {} for that size",
                        old.size, old.root
                    ),
                    earlier_note: old_note,
                    current_note: note_bytes,
                }
                .into());
            }
            Some(EarlierCheckpoint {
                size: old.size,
                root: old.root.to_base64(),
            })
        }
        _ => None,
    };
    if let Some(path) = opts.state {
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &note_bytes).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Synced {
        checkpoint: cp,
        checkpoint_note: note_bytes,
        consistent_with,
        tiles_checked,
        requests: src.http.requests,
        checkpoint_bytes,
        downloaded_tiles: src.downloaded_tiles,
        downloaded_bytes: src.downloaded_bytes,
        cached_tiles: src.cached_tiles,
        cached_bytes: src.cached_bytes,
    })
}

/// Checks that the checkpoint carries at least `policy.required` valid cosignatures by
/// distinct witnesses of the policy.
pub fn check_witnesses(policy: &WitnessPolicy, note: &Note, cp: &Checkpoint) -> Result<()> {
    let found = policy.valid_cosigners(note);
    if found.len() < policy.required {
        bail!(
            "WITNESS POLICY NOT MET: the checkpoint of size {} carries {} valid cosignature(s) \
             from the policy's witnesses ({}), {} required",
            cp.size,
            found.len(),
            if found.is_empty() {
                "none".to_owned()
            } else {
                found.join(", ")
            },
            policy.required
        );
    }
    Ok(())
}

/// First line of an equivocation evidence file (see [`Equivocation::evidence`]).
pub const EVIDENCE_HEADER: &str = "hotline equivocation evidence v1";

/// Two checkpoints, both signed by the log key, that one honest log cannot both have signed
/// in this order: the one an earlier run stored (`--state`) and the one the log serves now,
/// which is either smaller (ROLLBACK) or does not extend it (FORK: at the stored size the
/// log's entries have another root). The error of such a run; its message names the kind.
#[derive(Debug)]
pub struct Equivocation {
    message: String,
    /// The stored checkpoint's signed note, verbatim (with any cosignatures).
    pub earlier_note: Vec<u8>,
    /// The log's current checkpoint's signed note, verbatim.
    pub current_note: Vec<u8>,
}

impl std::fmt::Display for Equivocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Equivocation {}

impl Equivocation {
    /// The evidence file: the line `hotline equivocation evidence v1`, a blank line, the
    /// stored (earlier) checkpoint note, a blank line, the current checkpoint note. Each note
    /// is a c2sp.org/signed-note (checkpoint text, a blank line, signature lines, ending in a
    /// newline) exactly as the log served it, so both verify under the log's key; splitting
    /// the file at blank lines gives the header, then text and signatures of each note.
    pub fn evidence(&self) -> Vec<u8> {
        let mut out = format!("{EVIDENCE_HEADER}\n\n").into_bytes();
        out.extend_from_slice(&self.earlier_note);
        if !self.earlier_note.ends_with(b"\n") {
            out.push(b'\n');
        }
        out.push(b'\n');
        out.extend_from_slice(&self.current_note);
        if !self.current_note.ends_with(b"\n") {
            out.push(b'\n');
        }
        out
    }
}

/// Passes `result` through, except that an [`Equivocation`] error is also written to
/// `evidence_out` (if given) as [`Equivocation::evidence`], and the error then says where.
pub fn with_evidence<T>(result: Result<T>, evidence_out: Option<&Path>) -> Result<T> {
    let (Err(e), Some(out)) = (&result, evidence_out) else {
        return result;
    };
    let Some(eq) = e.downcast_ref::<Equivocation>() else {
        return result;
    };
    std::fs::write(out, eq.evidence())
        .with_context(|| format!("{eq}; writing the evidence to {}", out.display()))?;
    bail!(
        "{eq}; both signed checkpoints are written to {}",
        out.display()
    )
}

/// Reads the checkpoint of an earlier run (and its note) and checks it is not ahead of `cp`
/// (ROLLBACK).
fn read_state(
    path: &Path,
    cp: &Checkpoint,
    note_bytes: &[u8],
    url: &str,
    vkey: &Ed25519Verifier,
) -> Result<(Checkpoint, Vec<u8>)> {
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
        return Err(Equivocation {
            message: format!(
                "ROLLBACK: the log now shows size {} but earlier signed size {} ({}); \
                 both checkpoints are signed by the log key",
                cp.size,
                old_cp.size,
                path.display()
            ),
            earlier_note: old,
            current_note: note_bytes.to_vec(),
        }
        .into());
    }
    Ok((old_cp, old))
}

/// Hash tiles checked, and the root recomputed at the earlier checkpoint's size.
type Verified = (u64, Option<Hash>);

fn verify_tiles(
    opts: &SyncOptions<'_>,
    cp: &Checkpoint,
    earlier: Option<&Checkpoint>,
    src: &mut Source,
    on_entry: &mut impl FnMut(&Checkpoint, u64, &[u8]) -> Result<()>,
) -> Result<Verified> {
    let bar = if opts.progress {
        let b = ProgressBar::new(cp.size);
        b.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {} {{pos}}/{{len}} entries [{{bar:30}}] {{per_sec}} eta {{eta}}",
                opts.verb
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b
    } else {
        ProgressBar::hidden()
    };
    let mut edge = TreeEdge::empty();
    let mut tiles_checked = 0u64;
    let mut any_cached = false;
    let mut earlier_root: Option<Hash> =
        earlier.filter(|c| c.size == 0).map(|_| Hash::empty_root());
    // Where the last bundle came from: the entries of the right-edge level-0 tile.
    let mut last_bundle = String::new();
    for n in 0..cp.size.div_ceil(TILE_WIDTH) {
        let start = n * TILE_WIDTH;
        let width = (cp.size - start).min(TILE_WIDTH) as u16;
        let id = TileId {
            kind: TileKind::Entries,
            index: n,
            width,
        };
        let path = id.path();
        let bundle = src.fetch(&id)?;
        any_cached |= bundle.cached.is_some();
        let entries =
            decode_bundle(&bundle.bytes).map_err(|e| anyhow!("{}: {e}", bundle.origin(&path)))?;
        if entries.len() != usize::from(width) {
            bail!(
                "{} holds {} entries, the checkpoint's size {} needs {width}",
                bundle.origin(&path),
                entries.len(),
                cp.size
            );
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        // Stop exactly at the earlier checkpoint's size to recompute its root.
        let mut done = 0usize;
        if let Some(old) = earlier
            && old.size > start
            && old.size <= start + u64::from(width)
        {
            let k = (old.size - start) as usize;
            let touched = edge.append(&leaves[..k]);
            tiles_checked += check_full_tiles(src, &touched, &bundle, &path, &mut any_cached)?;
            earlier_root = Some(edge.root());
            done = k;
        }
        let touched = edge.append(&leaves[done..]);
        tiles_checked += check_full_tiles(src, &touched, &bundle, &path, &mut any_cached)?;
        for (i, e) in entries.iter().enumerate() {
            on_entry(cp, start + i as u64, e)?;
        }
        last_bundle = bundle.origin(&path);
        bar.inc(u64::from(width));
    }
    bar.finish_and_clear();

    // The right-edge partial tiles, then the root.
    for id in partial_tiles_for_size(cp.size) {
        let TileKind::Hashes { level } = id.kind else {
            continue;
        };
        let got = src.fetch(&id)?;
        any_cached |= got.cached.is_some();
        let want = tile_bytes(&edge.partial_tiles()[usize::from(level)]);
        if got.bytes != want {
            let from = if level == 0 {
                format!("entry bundle {last_bundle}")
            } else {
                "the entries".to_owned()
            };
            bail!(
                "{} does not match the hashes recomputed from {from}",
                got.origin(&id.path())
            );
        }
        tiles_checked += 1;
    }
    let hint = if any_cached {
        " (some tiles came from the cache: one of its files is damaged or was changed)"
    } else {
        ""
    };
    if edge.root() != cp.root {
        bail!(
            "the root recomputed from the entries ({}) is not the checkpoint's root ({}){hint}",
            edge.root(),
            cp.root
        );
    }
    Ok((tiles_checked, earlier_root))
}

/// Compares the full tiles an append completed with the log's (or the cache's).
fn check_full_tiles(
    src: &mut Source,
    touched: &TouchedTiles,
    bundle: &Fetched,
    bundle_path: &str,
    any_cached: &mut bool,
) -> Result<u64> {
    let mut checked = 0;
    for (level, index, nodes) in &touched.tiles {
        if nodes.width() as u64 != TILE_WIDTH {
            continue; // partial: checked once at the end, at the checkpoint's size
        }
        let id = TileId::hashes(*level, *index);
        let got = src.fetch(&id)?;
        *any_cached |= got.cached.is_some();
        if got.bytes != nodes.to_bytes() {
            let from = if *level == 0 {
                format!("entry bundle {}", bundle.origin(bundle_path))
            } else {
                "the entries".to_owned()
            };
            bail!(
                "{} does not match the hashes recomputed from {from}",
                got.origin(&id.path())
            );
        }
        checked += 1;
    }
    Ok(checked)
}
