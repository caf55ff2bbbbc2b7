//! c2sp.org/tlog-proof: an offline-verifiable proof that an entry is in a log — the entry's
//! index, its inclusion proof, and the signed checkpoint it is proved against.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use thiserror::Error;

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::hash::Hash;
use crate::note::{Note, NoteError, NoteVerifier};
use crate::tree::{VerifyError, verify_inclusion};

/// First line of every tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";

/// A decoded tlog-proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlogProof {
    /// Optional, unauthenticated application data.
    pub extra: Option<Vec<u8>>,
    /// Index of the entry in the log.
    pub index: u64,
    /// Inclusion proof, from the leaf's sibling up.
    pub path: Vec<Hash>,
    /// The signed checkpoint, verbatim.
    pub checkpoint: Vec<u8>,
}

/// Why a tlog-proof was refused.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum TlogProofError {
    /// The proof is not UTF-8 text.
    #[error("tlog-proof is not valid UTF-8 text")]
    NotText,
    /// The first line is not the expected header.
    #[error("tlog-proof does not start with {TLOG_PROOF_HEADER}")]
    BadHeader,
    /// The `extra` line is not valid base64.
    #[error("tlog-proof extra line is not valid base64")]
    BadExtra,
    /// The `index` line is missing or not a canonical decimal.
    #[error("tlog-proof index line is missing or not a decimal without leading zeros")]
    BadIndex,
    /// A proof line is not the base64 of a 32-byte hash.
    #[error("tlog-proof line {0} is not the base64 of a 32-byte hash")]
    BadHash(usize),
    /// No blank line before the checkpoint.
    #[error("tlog-proof has no checkpoint after its proof lines")]
    MissingCheckpoint,
    /// The checkpoint note is malformed or not signed by the log.
    #[error("checkpoint in the proof: {0}")]
    Note(#[from] NoteError),
    /// The checkpoint text is malformed.
    #[error("checkpoint in the proof: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// The checkpoint is from another log.
    #[error("checkpoint is for origin {got:?}, expected {expected:?}")]
    WrongOrigin {
        /// Expected origin.
        expected: String,
        /// Origin in the checkpoint.
        got: String,
    },
    /// The inclusion proof does not hold.
    #[error("inclusion proof: {0}")]
    Inclusion(#[from] VerifyError),
}

impl TlogProof {
    /// Encodes the proof.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::from(TLOG_PROOF_HEADER);
        s.push('\n');
        if let Some(extra) = &self.extra {
            s.push_str("extra ");
            s.push_str(&B64.encode(extra));
            s.push('\n');
        }
        s.push_str(&format!("index {}\n", self.index));
        for h in &self.path {
            s.push_str(&h.to_base64());
            s.push('\n');
        }
        s.push('\n');
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.checkpoint);
        out
    }

    /// Decodes a proof (structure only; see [`TlogProof::verify`]).
    pub fn parse(bytes: &[u8]) -> Result<TlogProof, TlogProofError> {
        let s = std::str::from_utf8(bytes).map_err(|_| TlogProofError::NotText)?;
        let mut rest = s
            .strip_prefix(TLOG_PROOF_HEADER)
            .and_then(|r| r.strip_prefix('\n'))
            .ok_or(TlogProofError::BadHeader)?;
        let mut extra = None;
        if let Some(r) = rest.strip_prefix("extra ") {
            let (line, after) = r.split_once('\n').ok_or(TlogProofError::BadExtra)?;
            extra = Some(B64.decode(line).map_err(|_| TlogProofError::BadExtra)?);
            rest = after;
        }
        let r = rest
            .strip_prefix("index ")
            .ok_or(TlogProofError::BadIndex)?;
        let (line, after) = r.split_once('\n').ok_or(TlogProofError::BadIndex)?;
        let canonical = !line.is_empty()
            && line.bytes().all(|b| b.is_ascii_digit())
            && (line == "0" || !line.starts_with('0'));
        let index: u64 = line
            .parse()
            .ok()
            .filter(|_| canonical)
            .ok_or(TlogProofError::BadIndex)?;
        rest = after;
        let mut path = Vec::new();
        let mut line_no = if extra.is_some() { 4 } else { 3 };
        loop {
            let (line, after) = rest
                .split_once('\n')
                .ok_or(TlogProofError::MissingCheckpoint)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            path.push(Hash::from_base64(line).ok_or(TlogProofError::BadHash(line_no))?);
            line_no += 1;
        }
        if rest.is_empty() {
            return Err(TlogProofError::MissingCheckpoint);
        }
        Ok(TlogProof {
            extra,
            index,
            path,
            checkpoint: rest.as_bytes().to_vec(),
        })
    }

    /// Verifies the proof for the entry with leaf hash `leaf`: the checkpoint is signed by one
    /// of `log_keys` (other signatures are ignored), names `origin`, and the inclusion proof
    /// binds the leaf to its root. Returns the checkpoint and its note.
    pub fn verify(
        &self,
        leaf: &Hash,
        origin: &str,
        log_keys: &[&dyn NoteVerifier],
    ) -> Result<(Checkpoint, Note), TlogProofError> {
        let note = Note::parse(&self.checkpoint)?;
        note.verify(log_keys)?;
        let cp = Checkpoint::parse(note.text())?;
        if cp.origin != origin {
            return Err(TlogProofError::WrongOrigin {
                expected: origin.to_owned(),
                got: cp.origin,
            });
        }
        verify_inclusion(leaf, self.index, cp.size, &self.path, &cp.root)?;
        Ok((cp, note))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::leaf_hash;
    use crate::note::Ed25519Signer;
    use crate::tree::{LeafHashes, inclusion_proof, root};

    fn fixture() -> (Ed25519Signer, Vec<Hash>, TlogProof) {
        let log = Ed25519Signer::generate("example.com/log").unwrap();
        let leaves: Vec<Hash> = (0..11u8).map(|i| leaf_hash(&[i])).collect();
        let src = LeafHashes(&leaves);
        let cp = Checkpoint {
            origin: "example.com/log".into(),
            size: 11,
            root: root(&src, 11).unwrap(),
            extensions: vec![],
        };
        let mut note = Note::new(cp.to_text()).unwrap();
        note.sign(&log);
        let proof = TlogProof {
            extra: Some(b"hello".to_vec()),
            index: 7,
            path: inclusion_proof(&src, 7, 11).unwrap(),
            checkpoint: note.to_bytes(),
        };
        (log, leaves, proof)
    }

    #[test]
    fn round_trip_and_verify() {
        let (log, leaves, proof) = fixture();
        let bytes = proof.to_bytes();
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(text.starts_with("c2sp.org/tlog-proof@v1\nextra aGVsbG8=\nindex 7\n"));
        let parsed = TlogProof::parse(&bytes).unwrap();
        assert_eq!(parsed, proof);
        let (cp, _) = parsed
            .verify(&leaves[7], "example.com/log", &[&log.verifier()])
            .unwrap();
        assert_eq!(cp.size, 11);
        assert!(matches!(
            parsed.verify(&leaves[6], "example.com/log", &[&log.verifier()]),
            Err(TlogProofError::Inclusion(_))
        ));
        assert!(matches!(
            parsed.verify(&leaves[7], "other.example", &[&log.verifier()]),
            Err(TlogProofError::WrongOrigin { .. })
        ));
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let (log, leaves, proof) = fixture();
        let bytes = proof.to_bytes();
        let extra_line = bytes.windows(6).position(|w| w == b"extra ").unwrap();
        let extra_end = extra_line
            + bytes[extra_line..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap();
        for i in 0..bytes.len() {
            if (extra_line..extra_end).contains(&i) {
                continue; // extra data is unauthenticated by design
            }
            let mut b = bytes.clone();
            b[i] ^= 0x01;
            let ok = TlogProof::parse(&b)
                .and_then(|p| p.verify(&leaves[7], "example.com/log", &[&log.verifier()]));
            assert!(ok.is_err(), "flipping byte {i} went unnoticed");
        }
    }

    #[test]
    fn malformed_proofs_are_refused() {
        assert_eq!(TlogProof::parse(b"nope\n"), Err(TlogProofError::BadHeader));
        assert_eq!(
            TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 01\n\nx"),
            Err(TlogProofError::BadIndex)
        );
        assert_eq!(
            TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 1\nAAAA\n\nx"),
            Err(TlogProofError::BadHash(3))
        );
        assert_eq!(
            TlogProof::parse(b"c2sp.org/tlog-proof@v1\nindex 1\n"),
            Err(TlogProofError::MissingCheckpoint)
        );
    }
}
