//! The `add-checkpoint` request body of c2sp.org/tlog-witness: an `old <size>` line, zero to
//! 63 consistency proof lines (base64 hashes), an empty line, then a signed checkpoint note.

use hotline_tlog::checkpoint::CheckpointError;
use hotline_tlog::note::NoteError;
use hotline_tlog::{Checkpoint, Hash, Note};
use thiserror::Error;

/// Most consistency proof lines a request may carry ("The client MUST NOT send more than 63
/// consistency proof lines").
pub const MAX_PROOF_LINES: usize = 63;

/// A parsed `add-checkpoint` request. Parsing checks the syntax only: signatures, sizes and the
/// proof are checked by [`crate::Witness::add_checkpoint`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddCheckpointRequest {
    /// The tree size of the previous checkpoint, as the client believes the witness recorded it.
    pub old_size: u64,
    /// The consistency proof from `old_size` to the checkpoint's size.
    pub proof: Vec<Hash>,
    /// The signed checkpoint note, with all its signature lines.
    pub note: Note,
    /// The checkpoint (the note's text).
    pub checkpoint: Checkpoint,
}

/// Why an `add-checkpoint` body is malformed (answered with 400 Bad Request).
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    /// The first line is not `old <size>` terminated by a newline.
    #[error("the first line must be \"old <size>\" (a decimal without leading zeros)")]
    BadOldLine,
    /// A consistency proof line is not the base64 of a 32-byte hash.
    #[error("consistency proof line {0} is not the base64 of a 32-byte hash")]
    BadProofLine(usize),
    /// More than [`MAX_PROOF_LINES`] proof lines.
    #[error("more than {MAX_PROOF_LINES} consistency proof lines")]
    TooManyProofLines,
    /// No empty line separates the proof from the checkpoint.
    #[error("missing the empty line between the consistency proof and the checkpoint")]
    MissingEmptyLine,
    /// The checkpoint is not a well-formed signed note.
    #[error("the checkpoint is not a well-formed signed note: {0}")]
    Note(#[source] NoteError),
    /// The note's text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    Checkpoint(#[source] CheckpointError),
}

/// Parses a decimal without leading zeros (`0` alone for zero), as the spec's sizes are encoded.
pub(crate) fn parse_canonical_decimal(s: &str) -> Option<u64> {
    let canonical = !s.is_empty()
        && s.len() <= 20
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return None;
    }
    s.parse().ok()
}

impl AddCheckpointRequest {
    /// Parses a request body.
    pub fn parse(body: &[u8]) -> Result<AddCheckpointRequest, RequestError> {
        let (old_line, mut rest) = split_line(body).ok_or(RequestError::BadOldLine)?;
        let old_size = std::str::from_utf8(old_line)
            .ok()
            .and_then(|l| l.strip_prefix("old "))
            .and_then(parse_canonical_decimal)
            .ok_or(RequestError::BadOldLine)?;
        let mut proof = Vec::new();
        loop {
            let (line, after) = split_line(rest).ok_or(RequestError::MissingEmptyLine)?;
            rest = after;
            if line.is_empty() {
                break;
            }
            if proof.len() == MAX_PROOF_LINES {
                return Err(RequestError::TooManyProofLines);
            }
            let hash = std::str::from_utf8(line)
                .ok()
                .and_then(Hash::from_base64)
                .ok_or(RequestError::BadProofLine(proof.len() + 1))?;
            proof.push(hash);
        }
        let note = Note::parse(rest).map_err(RequestError::Note)?;
        let checkpoint = Checkpoint::parse(note.text()).map_err(RequestError::Checkpoint)?;
        Ok(AddCheckpointRequest {
            old_size,
            proof,
            note,
            checkpoint,
        })
    }

    /// Encodes the request body (what a log sends to a witness).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_request(self.old_size, &self.proof, &self.note.to_bytes())
    }
}

/// Encodes an `add-checkpoint` body from its parts: `note` is the signed checkpoint note as
/// sent by the log.
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

/// The bytes before the first newline and those after it; `None` without a newline.
fn split_line(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let i = bytes.iter().position(|&b| b == b'\n')?;
    Some((&bytes[..i], &bytes[i + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE: &str = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n";

    #[test]
    fn parses_the_spec_example() {
        let body = format!(
            "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n\n{NOTE}"
        );
        let r = AddCheckpointRequest::parse(body.as_bytes()).unwrap();
        assert_eq!(r.old_size, 20852014);
        assert_eq!(r.proof.len(), 2);
        assert_eq!(r.checkpoint.size, 20852163);
        assert_eq!(r.to_bytes(), body.as_bytes());
    }

    #[test]
    fn refuses_malformed_bodies() {
        let parse = |s: &str| AddCheckpointRequest::parse(s.as_bytes());
        assert_eq!(parse(""), Err(RequestError::BadOldLine));
        assert_eq!(parse("old 01\n\n"), Err(RequestError::BadOldLine));
        assert_eq!(parse("old -1\n\n"), Err(RequestError::BadOldLine));
        assert_eq!(parse("old  1\n\n"), Err(RequestError::BadOldLine));
        assert_eq!(parse("old 1"), Err(RequestError::BadOldLine));
        assert_eq!(parse("new 1\n\n"), Err(RequestError::BadOldLine));
        assert_eq!(parse("old 0\nAAAA\n\n"), Err(RequestError::BadProofLine(1)));
        assert_eq!(parse("old 0\n"), Err(RequestError::MissingEmptyLine));
        let h = "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n";
        assert_eq!(
            parse(&format!("old 0\n{}\n{NOTE}", h.repeat(64))),
            Err(RequestError::TooManyProofLines)
        );
        assert!(parse(&format!("old 0\n{}\n{NOTE}", h.repeat(63))).is_ok());
        assert!(matches!(
            parse("old 0\n\nno signatures\n"),
            Err(RequestError::Note(_))
        ));
        assert!(matches!(
            parse("old 0\n\norigin\nx\ny\n\n\u{2014} k AAAAAAAA\n"),
            Err(RequestError::Checkpoint(_))
        ));
        assert_eq!(parse_canonical_decimal("0"), Some(0));
        assert_eq!(
            parse_canonical_decimal("18446744073709551615"),
            Some(u64::MAX)
        );
        assert_eq!(parse_canonical_decimal("18446744073709551616"), None);
    }
}
