//! A read-only integrity check of a stored log, for any backend (through [`LogReader`]).
//!
//! [`fsck`] recomputes every hash tile and the root from the stored entry bundles and compares
//! them byte for byte with the stored tiles (full and right-edge partial ones); checks that
//! every bundle decodes and has the width the tree size implies; that every stored checkpoint
//! parses, names the log's origin, verifies under the log key and has the root the entries
//! give at its size; that every older checkpoint is consistent with the latest (a consistency
//! proof from the tiles, once they are known to equal the recomputed ones); that no tile or
//! bundle lies beyond the tree; that every payload row belongs to an existing entry with the
//! entry's leaf hash as its id; and that the TAXII tables hold no publication beyond the tree,
//! no object row outside a publication of its entry and collection, and version marks as the
//! rows define them ([`crate::taxii`]).
//!
//! It only reads: it never opens a writer, so it is safe while a server runs (it checks the
//! tree of the latest checkpoint it finds when it starts; a batch committed meanwhile only adds
//! rows beyond that size, which are then reported as lying beyond the tree).

use std::sync::Arc;

use hotline_tlog::bundle::decode_bundle;
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::tile::{MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, TileId, TreeEdge, tile_bytes};
use hotline_tlog::tree::verify_consistency;
use hotline_tlog::{Ed25519Verifier, Hash, Note, leaf_hash};

use crate::error::{Result, StoreError};
use crate::reader::{LogView, SignedCheckpoint};
use crate::{LogReader, StoredCheckpoint};

/// At most this many problems are listed; the rest are only counted.
const MAX_PROBLEMS: usize = 1000;

/// What [`fsck`] checked and found.
#[derive(Clone, Debug, Default)]
pub struct FsckReport {
    /// Tree size of the latest stored checkpoint (entries checked).
    pub entries: u64,
    /// Entry bundles decoded.
    pub bundles: u64,
    /// Stored hash tiles compared with the recomputed ones.
    pub tiles: u64,
    /// Stored checkpoints checked.
    pub checkpoints: u64,
    /// Payload rows checked.
    pub payloads: u64,
    /// TAXII publication rows checked.
    pub taxii_publications: u64,
    /// TAXII object rows checked.
    pub taxii_objects: u64,
    /// The root recomputed from the entries (`None` if they could not all be read).
    pub root: Option<Hash>,
    /// The root of the latest stored checkpoint, if there is one and it parses.
    pub checkpoint_root: Option<Hash>,
    /// Every problem found (at most [`MAX_PROBLEMS`]), each naming the tile, bundle, entry or
    /// checkpoint concerned.
    pub problems: Vec<String>,
    /// Problems found beyond those listed.
    pub more_problems: u64,
}

impl FsckReport {
    /// Whether nothing was wrong.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, msg: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(msg);
        } else {
            self.more_problems += 1;
        }
    }
}

/// Number of hashes at tile level `level` of a tree of `size` leaves.
fn hashes_at(size: u64, level: u8) -> u64 {
    size.checked_shr(TILE_HEIGHT * u32::from(level))
        .unwrap_or(0)
}

/// Checks the log behind `reader` against the verifier key `vkey` (see the module docs).
/// `progress` is called with the number of entries checked so far. Integrity problems are
/// listed in the report; an error means storage could not be read at all.
pub fn fsck(reader: Arc<dyn LogReader>, vkey: &str, progress: &dyn Fn(u64)) -> Result<FsckReport> {
    let mut report = FsckReport::default();
    let verifier = Ed25519Verifier::from_vkey(vkey.trim())
        .map_err(|e| StoreError::Corrupt(format!("the log key {vkey:?} is not a vkey: {e}")))?;
    if vkey.trim() != reader.log_vkey() {
        report.problem(format!(
            "the log key given ({}) is not the key the log was created with ({})",
            vkey.trim(),
            reader.log_vkey()
        ));
    }
    let Some(latest) = reader.latest_checkpoint()? else {
        check_extra_rows(&*reader, 0, &mut report)?;
        check_payloads(&*reader, 0, &mut report, &mut None)?;
        check_taxii(&*reader, 0, &mut report)?;
        return Ok(report);
    };
    let size = latest.size;
    report.entries = size;

    // Every checkpoint: parse, origin, signature. Keep (size, root) for the tree walk.
    let mut roots: Vec<(u64, Hash)> = Vec::new();
    let mut check_cp = |stored: &StoredCheckpoint, report: &mut FsckReport| {
        report.checkpoints += 1;
        let cp = match SignedCheckpoint::from_stored(stored) {
            Ok(cp) => cp,
            Err(e) => {
                report.problem(format!("checkpoint for size {}: {e}", stored.size));
                return;
            }
        };
        if cp.checkpoint.origin != reader.origin() {
            report.problem(format!(
                "checkpoint for size {} names origin {:?}, the log's origin is {:?}",
                stored.size,
                cp.checkpoint.origin,
                reader.origin()
            ));
        }
        let verified = Note::parse(&stored.note)
            .map_err(|e| e.to_string())
            .and_then(|n| {
                n.verify(&[&verifier as &dyn NoteVerifier])
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = verified {
            report.problem(format!(
                "checkpoint for size {} does not verify under the log key: {e}",
                stored.size
            ));
        }
        roots.push((stored.size, cp.checkpoint.root));
    };
    if let Some(zero) = reader.checkpoint(0)? {
        check_cp(&zero, &mut report);
    }
    let mut after = 0u64;
    loop {
        let page = reader.checkpoints_after(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.size;
        for stored in &page {
            if stored.size > size {
                // Committed after we looked: beyond the tree checked.
                continue;
            }
            check_cp(stored, &mut report);
        }
    }
    report.checkpoint_root = roots.last().filter(|(s, _)| *s == size).map(|(_, r)| *r);

    // The tree walk: bundles → leaves → tiles and the root at every checkpoint size.
    let mut edge = TreeEdge::empty();
    let mut next_root = 0usize;
    let mut tiles_ok = true;
    let mut complete = true;
    let check_roots = |edge: &TreeEdge, next: &mut usize, report: &mut FsckReport| {
        while let Some(&(s, root)) = roots.get(*next) {
            if s != edge.size() {
                break;
            }
            let got = edge.root();
            if got != root {
                report.problem(format!(
                    "checkpoint for size {s} has root {}, the entries give {}",
                    root.to_base64(),
                    got.to_base64()
                ));
            }
            *next += 1;
        }
    };
    check_roots(&edge, &mut next_root, &mut report);
    let bundles = size.div_ceil(TILE_WIDTH);
    for b in 0..bundles {
        let want = (size - b * TILE_WIDTH).min(TILE_WIDTH) as usize;
        let Some(data) = reader.bundle(b)? else {
            report.problem(format!("entry bundle {b} is missing (tree size {size})"));
            complete = false;
            break;
        };
        let entries = match decode_bundle(&data) {
            Ok(e) => e,
            Err(e) => {
                report.problem(format!("entry bundle {b} does not decode: {e}"));
                complete = false;
                break;
            }
        };
        report.bundles += 1;
        if entries.len() != want {
            report.problem(format!(
                "entry bundle {b} holds {} entries, tree size {size} needs {want}",
                entries.len()
            ));
            complete = false;
            break;
        }
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let mut done = 0usize;
        while done < leaves.len() {
            // Stop at the next checkpoint size inside this bundle, to compare its root.
            let until = roots
                .get(next_root)
                .map(|&(s, _)| s.saturating_sub(edge.size()) as usize)
                .filter(|&n| n > 0 && done + n <= leaves.len())
                .map_or(leaves.len(), |n| done + n);
            let touched = edge.append(&leaves[done..until]);
            done = until;
            for (level, index, nodes) in touched.tiles {
                if nodes.width() as u64 != TILE_WIDTH {
                    continue; // Partial: compared at the end, at the tree's size.
                }
                if !compare_tile(&*reader, level, index, nodes.hashes(), &mut report)? {
                    tiles_ok = false;
                }
            }
            check_roots(&edge, &mut next_root, &mut report);
        }
        progress(edge.size());
    }
    if complete {
        for (level, hashes) in edge.partial_tiles().iter().enumerate() {
            if hashes.is_empty() {
                continue;
            }
            let level = level as u8;
            let index = hashes_at(size, level) / TILE_WIDTH;
            if !compare_tile(&*reader, level, index, hashes, &mut report)? {
                tiles_ok = false;
            }
        }
        let root = edge.root();
        report.root = Some(root);
        match report.checkpoint_root {
            Some(cp) if cp != root => report.problem(format!(
                "the root the entries give ({}) is not the root of the latest checkpoint \
                 (size {size}: {}): some entry differs from what was signed",
                root.to_base64(),
                cp.to_base64()
            )),
            _ => {}
        }
        if next_root < roots.len() {
            report.problem(format!(
                "checkpoint for size {} was not reached by the tree walk",
                roots[next_root].0
            ));
        }
    }
    check_extra_rows(&*reader, size, &mut report)?;

    // Consistency of every checkpoint with the latest, by proofs from the stored tiles (which
    // are then known to equal the recomputed ones).
    if complete
        && tiles_ok
        && let (Some(root), Some(latest_root)) = (report.root, report.checkpoint_root)
        && root == latest_root
    {
        match LogView::new(reader.clone()) {
            Ok(view) => {
                let snap = view.snapshot();
                if snap.size() == size {
                    for &(s, old_root) in &roots {
                        if s == 0 || s >= size {
                            continue;
                        }
                        let verdict = view
                            .consistency_proof(&snap, s, size)
                            .map_err(|e| e.to_string())
                            .and_then(|p| {
                                verify_consistency(s, size, &old_root, &root, &p)
                                    .map_err(|e| e.to_string())
                            });
                        if let Err(e) = verdict {
                            report.problem(format!(
                                "checkpoint for size {s} is not consistent with the latest \
                                 checkpoint (size {size}): {e}"
                            ));
                        }
                    }
                }
            }
            Err(e) => report.problem(format!("reading the tree of size {size}: {e}")),
        }
    }

    check_payloads(&*reader, size, &mut report, &mut None)?;
    check_taxii(&*reader, size, &mut report)?;
    Ok(report)
}

/// Checks the TAXII tables, if the log has them ([`crate::taxii::TaxiiReader::taxii_integrity`]).
fn check_taxii(reader: &dyn LogReader, size: u64, report: &mut FsckReport) -> Result<()> {
    if let Some(t) = reader.taxii() {
        let found = t.taxii_integrity(size)?;
        report.taxii_publications = found.publications;
        report.taxii_objects = found.objects;
        for p in found.problems {
            report.problem(p);
        }
    }
    Ok(())
}

/// Compares the stored tile (`level`, `index`) with the recomputed `hashes`; reports and
/// returns `false` on any difference.
fn compare_tile(
    reader: &dyn LogReader,
    level: u8,
    index: u64,
    hashes: &[Hash],
    report: &mut FsckReport,
) -> Result<bool> {
    report.tiles += 1;
    let path = TileId::hashes(level, index).path();
    let want = tile_bytes(hashes);
    let Some(stored) = reader.tile(level, index)? else {
        report.problem(format!("{path} is missing"));
        return Ok(false);
    };
    if stored == want {
        return Ok(true);
    }
    let first = stored
        .chunks(32)
        .zip(want.chunks(32))
        .position(|(a, b)| a != b)
        .unwrap_or(hashes.len().min(stored.len() / 32));
    let what = if level == 0 {
        format!(
            "entry {} in entry bundle {index}",
            index * TILE_WIDTH + first as u64
        )
    } else {
        format!("hash {first}")
    };
    report.problem(format!(
        "{path} does not match the tile recomputed from the entries ({} bytes stored, {} \
         expected; first difference at {what})",
        stored.len(),
        want.len()
    ));
    Ok(false)
}

/// Reports tiles and bundles stored beyond a tree of `size` leaves.
fn check_extra_rows(reader: &dyn LogReader, size: u64, report: &mut FsckReport) -> Result<()> {
    for level in 0..=MAX_TILE_LEVEL {
        let count = hashes_at(size, level).div_ceil(TILE_WIDTH);
        if let Some((index, _)) = reader.tiles_from(level, count, 1)?.first() {
            report.problem(format!(
                "{} exists beyond the tree of size {size}",
                TileId::hashes(level, *index).path()
            ));
        }
    }
    let next = size.div_ceil(TILE_WIDTH);
    if reader.bundle(next)?.is_some() {
        report.problem(format!(
            "entry bundle {next} exists beyond the tree of size {size}"
        ));
    }
    Ok(())
}

/// Checks every payload row: its entry exists and its id is that entry's leaf hash.
fn check_payloads(
    reader: &dyn LogReader,
    size: u64,
    report: &mut FsckReport,
    cache: &mut Option<(u64, Vec<Hash>)>,
) -> Result<()> {
    let mut from = 0u64;
    loop {
        let page = reader.payloads_from(from, 256)?;
        let Some(last) = page.last() else { break };
        from = last.0 + 1;
        for (index, id, _) in &page {
            report.payloads += 1;
            if *index >= size {
                report.problem(format!(
                    "the payload of entry {index} lies beyond the tree of size {size}"
                ));
                continue;
            }
            let b = index / TILE_WIDTH;
            if cache.as_ref().is_none_or(|(i, _)| *i != b) {
                let leaves = reader
                    .bundle(b)?
                    .and_then(|d| {
                        decode_bundle(&d)
                            .ok()
                            .map(|e| e.iter().map(|e| leaf_hash(e)).collect())
                    })
                    .unwrap_or_default();
                *cache = Some((b, leaves));
            }
            let leaf = cache
                .as_ref()
                .and_then(|(_, l)| l.get((index % TILE_WIDTH) as usize));
            match leaf {
                None => report.problem(format!(
                    "the payload of entry {index}: entry bundle {b} cannot be read to check it"
                )),
                Some(leaf) if leaf.0[..] != id[..] => report.problem(format!(
                    "the payload of entry {index} has id {}, not the entry's leaf hash {}",
                    hex(id),
                    leaf.to_hex()
                )),
                Some(_) => {}
            }
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
