//! The witness: checks an `add-checkpoint` request against the recorded state of its log and,
//! if it extends that state, records the checkpoint and cosigns it.

use std::time::{SystemTime, UNIX_EPOCH};

use hotline_tlog::cosignature::CosignerV1;
use hotline_tlog::note::{NoteError, NoteSignature};
use hotline_tlog::tree::{VerifyError, verify_consistency};
use hotline_tlog::{Hash, Note};
use thiserror::Error;

use crate::config::KnownLogs;
use crate::request::{AddCheckpointRequest, RequestError};
use crate::store::{Equivocation, LogState, Store, StoreError};

/// Why a checkpoint was not cosigned. [`AddError::status`] is the HTTP status code the spec
/// assigns to each case.
#[derive(Debug, Error)]
pub enum AddError {
    /// The body is malformed (400).
    #[error("malformed request: {0}")]
    Malformed(#[from] RequestError),
    /// The old size is larger than the checkpoint's size (400).
    #[error("old size {old} is larger than the checkpoint size {size}")]
    OldSizeTooLarge {
        /// The request's old size.
        old: u64,
        /// The checkpoint's size.
        size: u64,
    },
    /// The checkpoint's size cannot be stored (above 2^63 - 1) (400).
    #[error("checkpoint size {0} is too large")]
    SizeTooLarge(u64),
    /// The witness does not know the checkpoint's origin (404).
    #[error("unknown log origin {0:?}")]
    UnknownOrigin(String),
    /// No valid signature by a trusted key of the log, or a trusted key's signature does not
    /// verify (403).
    #[error("checkpoint signature: {0}")]
    NotSigned(#[source] NoteError),
    /// The old size is not the size of the latest checkpoint the witness cosigned (409). The
    /// response body is that size.
    #[error("old size {old} does not match the recorded size {recorded}")]
    Conflict {
        /// The request's old size.
        old: u64,
        /// The size of the latest checkpoint the witness cosigned for this log (0 if none).
        recorded: u64,
    },
    /// A checkpoint of size zero whose root is not the empty tree's (422).
    #[error("a checkpoint of size 0 must have the root hash of the empty tree")]
    BadEmptyRoot,
    /// A consistency proof was sent with old size zero (422).
    #[error("the consistency proof must be empty when the old size is 0")]
    ProofFromEmptyTree,
    /// The checkpoint has the recorded size but another root hash (422): evidence of a split
    /// view, recorded as an [`Equivocation`].
    #[error("checkpoint of size {size} has a different root than the one already cosigned")]
    RootMismatch {
        /// The tree size.
        size: u64,
    },
    /// The consistency proof does not verify (422).
    #[error("consistency proof does not verify: {0}")]
    BadProof(#[source] VerifyError),
    /// The witness's storage failed (500).
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl AddError {
    /// The HTTP status code for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            AddError::Malformed(_)
            | AddError::OldSizeTooLarge { .. }
            | AddError::SizeTooLarge(_) => 400,
            AddError::NotSigned(_) => 403,
            AddError::UnknownOrigin(_) => 404,
            AddError::Conflict { .. } => 409,
            AddError::BadEmptyRoot
            | AddError::ProofFromEmptyTree
            | AddError::RootMismatch { .. }
            | AddError::BadProof(_) => 422,
            AddError::Storage(_) => 500,
        }
    }
}

/// A successful `add-checkpoint`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cosigned {
    /// The log.
    pub origin: String,
    /// The cosigned tree size.
    pub size: u64,
    /// The witness's cosignature (cosignature/v1) on the checkpoint.
    pub cosignature: NoteSignature,
}

impl Cosigned {
    /// The response body: the cosignature as a signed-note signature line, with its newline.
    pub fn body(&self) -> String {
        let mut s = self.cosignature.line();
        s.push('\n');
        s
    }
}

/// A tlog-witness: its cosigning key, the logs it knows and its database.
#[derive(Debug)]
pub struct Witness {
    cosigner: CosignerV1,
    logs: KnownLogs,
    store: Store,
}

/// Seconds since the Unix epoch by the system clock, at least 1 (a cosignature's timestamp
/// must not be zero).
pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_secs())
        .max(1)
}

impl Witness {
    /// A witness with its key, known logs and opened database.
    pub fn new(cosigner: CosignerV1, logs: KnownLogs, store: Store) -> Witness {
        Witness {
            cosigner,
            logs,
            store,
        }
    }

    /// The witness's cosigning key.
    pub fn cosigner(&self) -> &CosignerV1 {
        &self.cosigner
    }

    /// The known logs.
    pub fn logs(&self) -> &KnownLogs {
        &self.logs
    }

    /// The database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Handles an `add-checkpoint` body, timestamping the cosignature with the system clock.
    /// Blocking (SQLite, with an fsync on success).
    pub fn add_checkpoint(&self, body: &[u8]) -> Result<Cosigned, AddError> {
        self.add_checkpoint_at(body, now_seconds())
    }

    /// Handles an `add-checkpoint` body with `now` (seconds since the Unix epoch, not zero) as
    /// the cosignature's timestamp.
    ///
    /// The checks, in the order the spec states them: the body's syntax (400); the origin is
    /// known (404); a trusted key signed the checkpoint and no trusted key's signature fails
    /// (403); the old size is not above the checkpoint's (400). Then, in one `BEGIN IMMEDIATE`
    /// transaction with the update: the old size is the recorded size (409); a size-0
    /// checkpoint has the empty tree's root (422); no proof with old size 0 (422); equal sizes
    /// have equal roots (422, and the checkpoint is kept as equivocation evidence); the
    /// consistency proof verifies from the recorded root (422). A checkpoint of the recorded
    /// size with another root is recorded as evidence whichever of these refusals it gets.
    pub fn add_checkpoint_at(&self, body: &[u8], now: u64) -> Result<Cosigned, AddError> {
        let req = AddCheckpointRequest::parse(body)?;
        let cp = &req.checkpoint;
        let verifiers = self
            .logs
            .verifiers(&cp.origin)
            .ok_or_else(|| AddError::UnknownOrigin(cp.origin.clone()))?;
        req.note.verify(&verifiers).map_err(AddError::NotSigned)?;
        if req.old_size > cp.size {
            return Err(AddError::OldSizeTooLarge {
                old: req.old_size,
                size: cp.size,
            });
        }
        if i64::try_from(cp.size).is_err() {
            return Err(AddError::SizeTooLarge(cp.size));
        }

        // What the witness keeps: the checkpoint with the log signatures it verified (the first
        // line of each trusted key: `Note::verify` skips repeated lines) and its cosignature.
        let cosignature = self.cosigner.cosign(req.note.text(), now);
        let mut kept =
            Note::new(req.note.text()).map_err(|e| AddError::Malformed(RequestError::Note(e)))?;
        for sig in req.note.signatures() {
            let trusted = verifiers
                .iter()
                .any(|v| v.name() == sig.name && v.key_id() == sig.key_id);
            if trusted && kept.signature_by(&sig.name, sig.key_id).is_none() {
                kept.add_signature(sig.clone());
            }
        }
        kept.add_signature(cosignature.clone());
        let kept = kept.to_bytes();

        self.store.transact(|tx| {
            let recorded = tx.latest(&cp.origin)?;
            if let Some(r) = &recorded
                && r.size == cp.size
                && r.root != cp.root
            {
                tx.record_equivocation(&Equivocation {
                    origin: cp.origin.clone(),
                    size: cp.size,
                    recorded_root: r.root,
                    recorded_note: r.note.clone(),
                    refused_root: cp.root,
                    refused_note: req.note.to_bytes(),
                    received_at: now,
                })?;
                tracing::warn!(
                    origin = %cp.origin,
                    size = cp.size,
                    "log signed two checkpoints of the same size with different roots"
                );
            }
            let recorded_size = recorded.as_ref().map_or(0, |r| r.size);
            if req.old_size != recorded_size {
                return Ok(Err(AddError::Conflict {
                    old: req.old_size,
                    recorded: recorded_size,
                }));
            }
            if cp.size == 0 && cp.root != Hash::empty_root() {
                return Ok(Err(AddError::BadEmptyRoot));
            }
            if req.old_size == 0 && !req.proof.is_empty() {
                return Ok(Err(AddError::ProofFromEmptyTree));
            }
            if let Some(r) = &recorded
                && req.old_size > 0
            {
                if r.size == cp.size && r.root != cp.root {
                    return Ok(Err(AddError::RootMismatch { size: cp.size }));
                }
                if let Err(e) = verify_consistency(r.size, cp.size, &r.root, &cp.root, &req.proof) {
                    return Ok(Err(AddError::BadProof(e)));
                }
            }
            tx.set_latest(
                &cp.origin,
                &LogState {
                    size: cp.size,
                    root: cp.root,
                    note: kept,
                    cosigned_at: now,
                },
            )?;
            Ok(Ok(()))
        })??;
        Ok(Cosigned {
            origin: cp.origin.clone(),
            size: cp.size,
            cosignature,
        })
    }

    /// The latest cosigned checkpoint of the log whose origin has this SHA-256, as a signed
    /// note with the log signatures the witness verified and its own cosignature.
    pub fn latest_checkpoint_by_origin_hash(
        &self,
        origin_hash: &[u8; 32],
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(origin) = self.logs.origin_by_hash(origin_hash) else {
            return Ok(None);
        };
        Ok(self.store.latest(origin)?.map(|s| s.note))
    }
}
