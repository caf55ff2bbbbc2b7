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
//! Keys that sign many statements are verified with [`PrecomputedVerifier`] tables (the same
//! verification rule, about three times faster), shared between threads by [`KeyTables`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hotline_tlog::note::NoteVerifier as _;
use hotline_tlog::{Ed25519Verifier, PrecomputedVerifier};

use crate::hotline::{DomainError, Hotline};
use crate::statement::{SignedStatement, StatementError};
use crate::vocab::PartyId;

/// Each party's current signing key, as of some position of the log.
#[derive(Clone, Debug, Default)]
pub struct CurrentKeys(HashMap<PartyId, Ed25519Verifier>);

impl CurrentKeys {
    /// The current key of `party`, if registered and not revoked.
    pub fn get(&self, party: &PartyId) -> Option<&Ed25519Verifier> {
        self.0.get(party)
    }
}

/// A log entry parsed, with its author's signature verified ahead if that could be done.
#[derive(Debug)]
pub struct Preverified {
    /// The parsed statement, or why the entry is not one.
    pub statement: Result<SignedStatement, StatementError>,
    /// The key the author's signatures were verified with, if they all verified.
    pub verified_with: Option<Ed25519Verifier>,
}

/// A key must have signed this many statements of a replay before its tables are built
/// (building costs about as much as 60 verifications).
const TABLE_AFTER: u64 = 64;
/// Tables kept at most (640 KiB each): the busiest keys of a log.
const MAX_TABLES: usize = 256;

/// Precomputed verification tables of the keys that sign the most, shared by threads.
#[derive(Default)]
pub struct KeyTables {
    inner: Mutex<TablesInner>,
}

#[derive(Default)]
struct TablesInner {
    tables: HashMap<[u8; 32], Arc<PrecomputedVerifier>>,
    seen: HashMap<[u8; 32], u64>,
}

impl std::fmt::Debug for KeyTables {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyTables")
    }
}

impl KeyTables {
    /// No tables yet.
    pub fn new() -> KeyTables {
        KeyTables::default()
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
            if *seen < TABLE_AFTER || inner.tables.len() >= MAX_TABLES {
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

/// Per public key: the key, and (statement number, signature bytes) to verify with it.
type KeyedSignatures<'a> =
    HashMap<[u8; 32], (&'a Ed25519Verifier, Vec<(usize, &'a [u8])>), foldhash::fast::RandomState>;

/// Parses a chunk of log entries and verifies each case statement's author signatures with
/// the author's key in `keys`. Directory statements, statements by authors `keys` does not
/// know and statements whose signature fails are returned without `verified_with`:
/// [`Hotline::apply_preverified`] then checks them fully.
pub fn preverify(entries: &[&[u8]], keys: &CurrentKeys, tables: &KeyTables) -> Vec<Preverified> {
    let statements: Vec<Result<SignedStatement, StatementError>> =
        entries.iter().map(|e| SignedStatement::parse(e)).collect();
    // Per key: (statement number, signature bytes) of every signature to verify. Keyed by
    // public keys the directory holds: foldhash, seeded per process, is enough.
    let mut by_key: KeyedSignatures<'_> = HashMap::default();
    let mut pending = vec![0usize; statements.len()];
    for (i, s) in statements.iter().enumerate() {
        let Ok(s) = s else { continue };
        if s.statement.kind.is_directory_kind() {
            continue;
        }
        let Some(key) = keys.get(&s.statement.author) else {
            continue;
        };
        let entry = by_key
            .entry(*key.public_key().as_bytes())
            .or_insert_with(|| (key, Vec::new()));
        for sig in author_signatures(s, key) {
            entry.1.push((i, sig));
            pending[i] += 1;
        }
    }
    let mut verified = vec![0usize; statements.len()];
    for (key, sigs) in by_key.into_values() {
        let results: Vec<bool> = match tables.table_for(key, sigs.len() as u64) {
            Some(table) => {
                let items: Vec<(&[u8], &[u8])> = sigs
                    .iter()
                    .map(|(i, sig)| (note_text(&statements[*i]), *sig))
                    .collect();
                table.verify_all(&items)
            }
            None => sigs
                .iter()
                .map(|(i, sig)| key.verify(note_text(&statements[*i]), sig))
                .collect(),
        };
        for ((i, _), ok) in sigs.iter().zip(results) {
            if ok {
                verified[*i] += 1;
            }
        }
    }
    statements
        .into_iter()
        .enumerate()
        .map(|(i, statement)| {
            let verified_with = match &statement {
                Ok(s) if pending[i] > 0 && verified[i] == pending[i] => {
                    keys.get(&s.statement.author).cloned()
                }
                _ => None,
            };
            Preverified {
                statement,
                verified_with,
            }
        })
        .collect()
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
                .filter_map(|p| p.current().map(|k| (p.id.clone(), k.verifier.clone())))
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
        let still_current = p.verified_with.as_ref().filter(|k| {
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
