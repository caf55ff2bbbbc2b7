//! Replaying a long log fast: the costly part of [`Hotline::apply`] — verifying each case
//! statement's signature — done ahead, on as many threads as the caller runs, while the rules
//! stay sequential and authoritative.
//!
//! A caller cuts the log into chunks, has any thread run [`preverify`] on a chunk with the
//! authors' keys as the replay last published them ([`Hotline::current_keys`]), and feeds the
//! results in log order to [`Hotline::apply_preverified`]. A preverification is only a cached
//! fact "these signature bytes verify under this key": `apply_preverified` uses it only when
//! that key is still the author's current key at the statement's position in the log, and
//! otherwise (the key was rotated or registered within the last chunks, a signature failed,
//! a directory statement) verifies the statement exactly as [`Hotline::apply`] does, naming
//! the culprit. So the outcome — every statement accepted or the first one refused, with the
//! same error — is that of applying the log one statement at a time.
//!
//! A chunk's signatures are verified in one batch ([`verify_batch`]: the answers of the same
//! verification rule one by one, several times faster; each key's preparation is shared
//! between threads by [`KeyTables`]). The server's own one-at-a-time checks use
//! [`PrecomputedVerifier`] tables of the keys that sign the most, also kept by [`KeyTables`].
//!
//! [`replay_in_parallel`] runs that pipeline (scoped threads, no I/O of its own: the caller's
//! `feed` reads the log); `hotline audit` and the server's start-up use it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hotline_tlog::note::NoteVerifier as _;
use hotline_tlog::{BatchItem, BatchKey, Ed25519Verifier, PrecomputedVerifier, verify_batch};

use crate::hotline::{DomainError, Hotline};
use crate::statement::{SignedStatement, StatementError};
use crate::vocab::PartyId;

/// Each party's current signing key, as of some position of the log.
#[derive(Clone, Debug, Default)]
pub struct CurrentKeys(HashMap<PartyId, Arc<Ed25519Verifier>>);

impl CurrentKeys {
    /// The current key of `party`, if registered and not revoked.
    pub fn get(&self, party: &PartyId) -> Option<&Ed25519Verifier> {
        self.0.get(party).map(|k| &**k)
    }
}

/// A log entry parsed, with its author's signature verified ahead if that could be done.
#[derive(Debug)]
pub struct Preverified {
    /// The parsed statement, or why the entry is not one.
    pub statement: Result<SignedStatement, StatementError>,
    /// The key the author's signatures were verified with, if they all verified.
    pub verified_with: Option<Arc<Ed25519Verifier>>,
}

/// A key must have signed this many statements of a replay before its tables are built
/// (building costs about as much as 60 verifications).
const TABLE_AFTER: u64 = 64;
/// Tables kept at most (640 KiB each): the busiest keys of a log.
const MAX_TABLES: usize = 256;

/// Per key, shared by threads: its preparation for batches, and precomputed verification tables
/// for the keys that sign the most.
pub struct KeyTables {
    inner: Mutex<TablesInner>,
    max_tables: usize,
}

impl Default for KeyTables {
    fn default() -> Self {
        KeyTables::with_limit(MAX_TABLES)
    }
}

#[derive(Default)]
struct TablesInner {
    tables: HashMap<[u8; 32], Arc<PrecomputedVerifier>>,
    seen: HashMap<[u8; 32], u64>,
    batch_keys: HashMap<[u8; 32], Arc<BatchKey>>,
}

impl std::fmt::Debug for KeyTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyTables")
    }
}

impl KeyTables {
    /// No tables yet; at most 256 will be built (160 MiB).
    pub fn new() -> KeyTables {
        KeyTables::default()
    }

    /// No tables yet; at most `max_tables` will be built (640 KiB each), for the keys that
    /// first sign enough statements.
    pub fn with_limit(max_tables: usize) -> KeyTables {
        KeyTables {
            inner: Mutex::new(TablesInner::default()),
            max_tables,
        }
    }

    /// [`crate::hotline::verify_author_signature`], with the key's table once the key has
    /// signed enough statements (same rule, same answer; a failure is explained by the
    /// one-by-one check, so its message is the same too).
    pub fn verify_author_signature(
        &self,
        s: &SignedStatement,
        key: &Ed25519Verifier,
    ) -> Result<(), DomainError> {
        let sigs: Vec<&[u8]> = author_signatures(s, key).collect();
        if let (false, Some(table)) = (sigs.is_empty(), self.table_for(key, sigs.len() as u64)) {
            let text = s.note.text().as_bytes();
            let items: Vec<(&[u8], &[u8])> = sigs.iter().map(|sig| (text, *sig)).collect();
            if table.verify_all(&items).into_iter().all(|ok| ok) {
                return Ok(());
            }
        }
        crate::hotline::verify_author_signature(s, key)
    }

    /// `key` prepared for [`verify_batch`] (once per key: a multiplication by ℓ).
    pub fn batch_key(&self, key: &Ed25519Verifier) -> Arc<BatchKey> {
        let bytes = *key.public_key().as_bytes();
        {
            let inner = match self.inner.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(k) = inner.batch_keys.get(&bytes) {
                return k.clone();
            }
        }
        let prepared = Arc::new(BatchKey::new(key));
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        inner.batch_keys.entry(bytes).or_insert(prepared).clone()
    }

    /// The table of `key` if it has signed enough statements to be worth one (counting
    /// `signatures` more now).
    fn table_for(
        &self,
        key: &Ed25519Verifier,
        signatures: u64,
    ) -> Option<Arc<PrecomputedVerifier>> {
        let bytes = *key.public_key().as_bytes();
        {
            let mut inner = match self.inner.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(t) = inner.tables.get(&bytes) {
                return Some(t.clone());
            }
            let seen = inner.seen.entry(bytes).or_insert(0);
            *seen += signatures;
            if *seen < TABLE_AFTER || inner.tables.len() >= self.max_tables {
                return None;
            }
        }
        // Built outside the lock; two threads may build the same table once, harmlessly.
        let table = Arc::new(PrecomputedVerifier::new(key));
        let mut inner = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        Some(inner.tables.entry(bytes).or_insert(table).clone())
    }
}

/// Parses a chunk of log entries and verifies each case statement's author signatures with
/// the author's key in `keys`, all in one batch ([`verify_batch`]: the answers of verifying
/// them one by one). Directory statements, statements by authors `keys` does not know and
/// statements whose signature fails are returned without `verified_with`:
/// [`Hotline::apply_preverified`] then checks them fully.
pub fn preverify(entries: &[&[u8]], keys: &CurrentKeys, tables: &KeyTables) -> Vec<Preverified> {
    let mut out = Vec::new();
    preverify_into(entries, keys, tables, &mut out);
    out
}

/// [`preverify`] into `out` (cleared first): a replay hands back the vector of a chunk it has
/// applied, so that each chunk reuses an allocation instead of taking megabytes of fresh
/// memory from the system.
pub fn preverify_into(
    entries: &[&[u8]],
    keys: &CurrentKeys,
    tables: &KeyTables,
    out: &mut Vec<Preverified>,
) {
    out.clear();
    out.extend(entries.iter().map(|e| Preverified {
        statement: SignedStatement::parse(e),
        verified_with: None,
    }));
    // (statement number, key, signature bytes) of every signature to verify.
    let mut wanted: Vec<(usize, &Arc<Ed25519Verifier>, &[u8])> = Vec::with_capacity(out.len());
    let mut pending = vec![0u32; out.len()];
    for (i, p) in out.iter().enumerate() {
        let Ok(s) = &p.statement else { continue };
        if s.statement.kind.is_directory_kind() {
            continue;
        }
        let Some(key) = keys.0.get(&s.statement.author) else {
            continue;
        };
        for sig in author_signatures(s, key) {
            wanted.push((i, key, sig));
            pending[i] += 1;
        }
    }
    // Keyed by public keys the directory holds: foldhash, seeded per process, is enough.
    let mut batch_keys: HashMap<[u8; 32], Arc<BatchKey>, foldhash::fast::RandomState> =
        HashMap::default();
    let prepared: Vec<Arc<BatchKey>> = wanted
        .iter()
        .map(|(_, key, _)| {
            batch_keys
                .entry(*key.public_key().as_bytes())
                .or_insert_with(|| tables.batch_key(key))
                .clone()
        })
        .collect();
    // One item per wanted signature, in order: `results` lines up with `wanted`.
    let items: Vec<BatchItem<'_>> = wanted
        .iter()
        .zip(&prepared)
        .map(|((i, _, sig), key)| BatchItem {
            key,
            message: note_text(&out[*i].statement),
            signature: sig,
        })
        .collect();
    let results = verify_batch(&mut rand::rng(), &items);
    let mut verified = vec![0u32; out.len()];
    for ((i, _, _), ok) in wanted.iter().zip(results) {
        verified[*i] += u32::from(ok);
    }
    for (i, p) in out.iter_mut().enumerate() {
        let Preverified {
            statement: Ok(s),
            verified_with,
        } = p
        else {
            continue;
        };
        if pending[i] > 0 && verified[i] == pending[i] {
            *verified_with = keys.0.get(&s.statement.author).cloned();
        }
    }
}

fn note_text(s: &Result<SignedStatement, StatementError>) -> &[u8] {
    match s {
        Ok(s) => s.note.text().as_bytes(),
        Err(_) => &[],
    }
}

/// Whether a log entry looks like a directory statement (its third line is `kind
/// party-registered`, `kind key-rotated` or `kind party-revoked`), without parsing it: for
/// scheduling only (a replay lets the statements after one wait for the keys it changes),
/// never for a decision — a wrong guess costs time, not correctness.
pub fn changes_directory(entry: &[u8]) -> bool {
    let mut lines = entry.splitn(4, |b| *b == b'\n');
    let (Some(format), Some(_origin), Some(kind)) = (lines.next(), lines.next(), lines.next())
    else {
        return false;
    };
    format == crate::statement::FORMAT_LINE.as_bytes()
        && kind
            .strip_prefix(b"kind ")
            .and_then(|k| std::str::from_utf8(k).ok())
            .and_then(|k| k.parse::<crate::vocab::Kind>().ok())
            .is_some_and(crate::vocab::Kind::is_directory_kind)
}

/// The signatures [`crate::hotline::verify_author_signature`] checks: those of the note by a
/// key with `key`'s name and key id. It succeeds iff there is at least one and all verify.
pub fn author_signatures<'a>(
    s: &'a SignedStatement,
    key: &'a Ed25519Verifier,
) -> impl Iterator<Item = &'a [u8]> + 'a {
    s.note
        .signatures()
        .iter()
        .filter(move |sig| sig.name == key.name() && sig.key_id == key.key_id())
        .map(|sig| sig.signature.as_slice())
}

impl Hotline {
    /// Every party's current signing key (for [`preverify`]).
    pub fn current_keys(&self) -> CurrentKeys {
        CurrentKeys(
            self.directory()
                .iter()
                .filter_map(|p| {
                    p.current()
                        .map(|k| (p.id.clone(), Arc::new(k.verifier.clone())))
                })
                .collect(),
        )
    }

    /// Applies the next statement of the log from [`preverify`]'s result: with the checks of
    /// [`Hotline::apply`], except that an author signature verified ahead with the key that is
    /// still the author's current one is not verified again. Same outcome as `apply`.
    pub fn apply_preverified(&mut self, p: &Preverified) -> Result<(), PreverifiedError> {
        let s = p
            .statement
            .as_ref()
            .map_err(|e| PreverifiedError::Parse(e.clone()))?;
        let still_current = p.verified_with.as_deref().filter(|k| {
            self.current_key(&s.statement.author)
                .is_ok_and(|current| current.verifier == **k)
        });
        match still_current {
            Some(k) => self.check_preverified(s, k)?,
            None => self.check(s)?,
        }
        self.apply_checked(s);
        Ok(())
    }
}

/// Why [`Hotline::apply_preverified`] refused an entry.
#[derive(Debug, thiserror::Error)]
pub enum PreverifiedError {
    /// The entry is not a statement.
    #[error("{0}")]
    Parse(StatementError),
    /// The statement does not fit the hotline.
    #[error("{0}")]
    Domain(#[from] DomainError),
}

/// The first entry a replay refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// Its log index.
    pub index: u64,
    /// Its id (leaf hash), base64.
    pub id: String,
    /// Why: the error [`Hotline::apply`] gives for it.
    pub error: String,
}

/// Entries per chunk handed to the verifying threads (at most: a directory statement ends its
/// chunk). Larger chunks spread a batch's fixed cost (64 small-order checks, the multiscalar
/// multiplication's buckets) over more signatures.
pub const CHUNK: usize = 8192;
/// Bytes reserved for the first chunk's entries (later ones: the most a chunk has held).
const FIRST_CHUNK_BYTES: usize = 256 * 1024;

/// A chunk of consecutive log entries for the verifying threads.
struct Chunk {
    seq: u64,
    /// [`Feeder::expect`] when the chunk was sent.
    expected: u64,
    origin: Arc<str>,
    first_index: u64,
    entries: Entries,
    /// Chunks that must have been applied before this one's signatures are verified: those up
    /// to the last one ending in a directory statement, whose keys this one may need.
    after: u64,
}

/// Entries back to back in one buffer: the feeding thread allocates it, the applying thread
/// frees it. One allocation per chunk instead of one per entry: an allocation freed by another
/// thread than its own costs the allocator more (it was ~6 % of an audit's CPU).
#[derive(Default)]
struct Entries {
    bytes: Vec<u8>,
    /// Where each entry ends in `bytes`.
    ends: Vec<usize>,
}

impl Entries {
    fn with_capacity(entries: usize, bytes: usize) -> Entries {
        Entries {
            bytes: Vec::with_capacity(bytes),
            ends: Vec::with_capacity(entries),
        }
    }

    fn push(&mut self, entry: &[u8]) {
        self.bytes.extend_from_slice(entry);
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).map(|i| self.get(i))
    }
}

/// What the applying thread publishes for the verifying threads.
struct Published {
    keys: Arc<CurrentKeys>,
    /// Chunks applied so far.
    applied: u64,
    /// The applying thread has ended: nobody waits for it any more.
    done: bool,
}

type Shared = (Mutex<Published>, std::sync::Condvar);

/// Marks [`Published::done`] when the applying thread ends, however it ends.
struct DoneOnDrop<'a>(&'a Shared);

impl Drop for DoneOnDrop<'_> {
    fn drop(&mut self) {
        let (m, cv) = self.0;
        lock(m).done = true;
        cv.notify_all();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Hands a replay its entries, in log order (see [`replay_in_parallel`]).
pub struct Feeder<'a> {
    tx: flume::Sender<Chunk>,
    /// Entries the caller expects to feed in all ([`Feeder::expect`]).
    expected: u64,
    /// Entry buffers of applied chunks, back from the applying thread for reuse.
    recycled: flume::Receiver<Entries>,
    chunk: Entries,
    /// Bytes to reserve for the next chunk: the most a chunk has held so far.
    chunk_bytes: usize,
    first_index: u64,
    next_index: Option<u64>,
    seq: u64,
    after: u64,
    origin: Option<Arc<str>>,
    _life: std::marker::PhantomData<&'a ()>,
}

impl Feeder<'_> {
    /// Tells the replay how many entries will be fed in all (the log's size), so that it
    /// sizes its state once. Optional; a wrong figure costs memory or time, never correctness.
    pub fn expect(&mut self, entries: u64) {
        self.expected = entries;
    }

    /// The next entry of the log, at `index` (consecutive from the first one fed), of the log
    /// of `origin`.
    pub fn push(&mut self, origin: &str, index: u64, entry: &[u8]) {
        if self.origin.as_deref() != Some(origin) {
            self.origin = Some(Arc::from(origin));
        }
        if self.chunk.is_empty() {
            self.first_index = index;
        }
        debug_assert!(
            self.next_index.is_none_or(|n| n == index),
            "entries fed out of order"
        );
        self.next_index = Some(index + 1);
        self.chunk.push(entry);
        // A directory statement ends its chunk, so that the next one's signatures are verified
        // with the keys it registers or rotates.
        let directory = changes_directory(entry);
        if self.chunk.len() == CHUNK || directory {
            self.send(directory);
        }
    }

    /// An empty buffer for the next chunk: one the applying thread is done with, or a new one
    /// as large as the largest chunk so far.
    fn next_buffer(&mut self) -> Entries {
        match self.recycled.try_recv() {
            Ok(mut e) => {
                e.clear();
                e
            }
            Err(_) => Entries::with_capacity(CHUNK, self.chunk_bytes),
        }
    }

    fn send(&mut self, ends_in_directory: bool) {
        self.chunk_bytes = self.chunk_bytes.max(self.chunk.bytes.len());
        let next = self.next_buffer();
        let c = Chunk {
            seq: self.seq,
            origin: self.origin.clone().unwrap_or_else(|| Arc::from("")),
            first_index: self.first_index,
            expected: self.expected,
            entries: std::mem::replace(&mut self.chunk, next),
            after: self.after,
        };
        self.seq += 1;
        if ends_in_directory {
            self.after = self.seq;
        }
        // Fails only if every verifying thread is gone (a panic), which the replay reports.
        let _ = self.tx.send(c);
    }
}

/// Replays a log through a fresh [`Hotline`]: the entries `feed` pushes, in log order, from
/// index 0. Signatures are verified ahead on `threads` threads ([`preverify`]), with the keys
/// as of each chunk's start (a chunk after a directory statement waits until that statement
/// is applied), and one thread applies them in order ([`Hotline::apply_preverified`]: the
/// outcome of applying them one by one). `feed` runs on the calling thread and may do I/O
/// while the others work. Returns what `feed` returned, the hotline (`None` if nothing was
/// fed) and the first entry refused, after which nothing more was applied.
pub fn replay_in_parallel<R>(
    policy: crate::DeadlinePolicy,
    threads: usize,
    feed: impl FnOnce(&mut Feeder<'_>) -> R,
) -> (R, Option<Hotline>, Option<Refused>) {
    use std::collections::BTreeMap;
    let threads = threads.max(1);
    let (work_tx, work_rx) = flume::bounded::<Chunk>(threads * 2);
    let (done_tx, done_rx) = flume::bounded::<(Chunk, Vec<Preverified>, usize)>(threads * 2);
    // The applying thread hands each applied chunk's statements back to the thread that
    // parsed them, to be freed there: freeing another thread's allocations costs the
    // allocator more (mimalloc collects them later, on the owner's next allocations).
    let (trash_tx, trash_rx): (Vec<_>, Vec<_>) = (0..threads)
        .map(|_| flume::unbounded::<Vec<Preverified>>())
        .unzip();
    // And each applied chunk's entry buffer back to the feeder, to be filled again.
    let (recycle_tx, recycle_rx) = flume::bounded::<Entries>(threads * 2);
    let published: Shared = (
        Mutex::new(Published {
            keys: Arc::new(CurrentKeys::default()),
            applied: 0,
            done: false,
        }),
        std::sync::Condvar::new(),
    );
    let tables = KeyTables::new();
    std::thread::scope(|scope| {
        let mut started = 0usize;
        for (thread, trash) in trash_rx.into_iter().enumerate() {
            let (work_rx, done_tx) = (work_rx.clone(), done_tx.clone());
            let (published, tables) = (&published, &tables);
            let spawned = std::thread::Builder::new()
                .name("replay-verify".into())
                .spawn_scoped(scope, move || {
                    // Vectors of applied chunks, to be reused (their statements are freed
                    // here, where they were allocated).
                    let mut spare: Vec<Vec<Preverified>> = Vec::new();
                    for chunk in work_rx {
                        spare.extend(trash.try_iter());
                        spare.truncate(2);
                        let current = {
                            let (m, cv) = published;
                            let mut p = lock(m);
                            while p.applied < chunk.after && !p.done {
                                p = match cv.wait(p) {
                                    Ok(g) => g,
                                    Err(poisoned) => poisoned.into_inner(),
                                };
                            }
                            p.keys.clone()
                        };
                        let refs: Vec<&[u8]> = chunk.entries.iter().collect();
                        let mut out = spare.pop().unwrap_or_default();
                        preverify_into(&refs, &current, tables, &mut out);
                        if done_tx.send((chunk, out, thread)).is_err() {
                            return;
                        }
                    }
                });
            started += usize::from(spawned.is_ok());
        }
        drop((work_rx, done_tx));
        let published = &published;
        let applier = move || {
            let _done = DoneOnDrop(published);
            let mut hotline: Option<Hotline> = None;
            let mut refused: Option<Refused> = None;
            let mut waiting: BTreeMap<u64, (Chunk, Vec<Preverified>, usize)> = BTreeMap::new();
            let mut next = 0u64;
            let mut apply = |chunk: &Chunk, out: &[Preverified], next: &mut u64| {
                *next += 1;
                let mut directory_changed = false;
                // After a refused statement the state means nothing: only count.
                if refused.is_none() {
                    let h = hotline.get_or_insert_with(|| {
                        let mut h = Hotline::new(&chunk.origin, policy.clone());
                        // Bounded: a checkpoint claiming a huge size gets no more memory
                        // reserved than a 4M-statement log needs (a larger log grows on).
                        let bound = 4 * 1024 * 1024;
                        h.reserve(usize::try_from(chunk.expected.min(bound)).unwrap_or(0));
                        h
                    });
                    for (i, p) in out.iter().enumerate() {
                        if let Err(e) = h.apply_preverified(p) {
                            refused = Some(Refused {
                                index: chunk.first_index + i as u64,
                                id: hotline_tlog::leaf_hash(chunk.entries.get(i)).to_base64(),
                                error: e.to_string(),
                            });
                            break;
                        }
                        directory_changed |= p
                            .statement
                            .as_ref()
                            .is_ok_and(|s| s.statement.kind.is_directory_kind());
                    }
                }
                let keys = match (&hotline, directory_changed) {
                    (Some(h), true) => Some(Arc::new(h.current_keys())),
                    _ => None,
                };
                let (m, cv) = published;
                let mut p = lock(m);
                if let Some(k) = keys {
                    p.keys = k;
                }
                p.applied = *next;
                drop(p);
                cv.notify_all();
            };
            for (chunk, out, thread) in done_rx {
                waiting.insert(chunk.seq, (chunk, out, thread));
                while let Some((chunk, out, thread)) = waiting.remove(&next) {
                    apply(&chunk, &out, &mut next);
                    // Fails only once that thread has ended; `out` is then freed here.
                    let _ = trash_tx[thread].send(out);
                    // Full (the feeder has enough) or gone: the buffer is freed here.
                    let _ = recycle_tx.try_send(chunk.entries);
                }
            }
            (hotline, refused)
        };
        let mut feeder = Feeder {
            tx: work_tx,
            expected: 0,
            recycled: recycle_rx,
            chunk: Entries::with_capacity(CHUNK, FIRST_CHUNK_BYTES),
            chunk_bytes: FIRST_CHUNK_BYTES,
            first_index: 0,
            next_index: None,
            seq: 0,
            after: 0,
            origin: None,
            _life: std::marker::PhantomData,
        };
        let applying = std::thread::Builder::new()
            .name("replay-apply".into())
            .spawn_scoped(scope, applier);
        let fed = feed(&mut feeder);
        if !feeder.chunk.is_empty() {
            feeder.send(false);
        }
        drop(feeder);
        let (hotline, refused) = match applying.map(|h| h.join()) {
            Ok(Ok(outcome)) if started > 0 => outcome,
            _ => (
                None,
                Some(Refused {
                    index: 0,
                    id: String::new(),
                    error: "could not start the replay's threads, or one of them panicked (a \
                            bug: please report it)"
                        .into(),
                }),
            ),
        };
        (fed, hotline, refused)
    })
}
