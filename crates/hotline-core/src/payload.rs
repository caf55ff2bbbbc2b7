//! The case document: the plaintext of a statement's payload, encrypted to both parties. The
//! log holds only commitments to it (see [`crate::statement::PayloadCommitment`]).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_tlog::Hash;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Format tag of the case document.
pub const DOCUMENT_FORMAT: &str = "hotline/case-document/v1";

/// A file attached to a statement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name as the sender had it.
    pub name: String,
    /// Media type.
    pub media_type: String,
    /// Contents, base64.
    pub data: String,
}

/// The plaintext of a payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDocument {
    /// Always [`DOCUMENT_FORMAT`].
    pub format: String,
    /// 32 random bytes, base64: keeps a short document from being guessed from its hash.
    pub salt: String,
    /// Short title.
    pub title: String,
    /// Narrative.
    #[serde(default)]
    pub summary: String,
    /// What the recipient is asked to do.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requested_actions: Vec<String>,
    /// Evidence as a STIX 2.1 bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<serde_json::Value>,
    /// Attachments.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
}

/// A payload plaintext that is not a case document.
#[derive(Debug, Error)]
pub enum DocumentError {
    /// Not JSON of the right shape.
    #[error("not a hotline case document: {0}")]
    Json(#[from] serde_json::Error),
    /// Wrong format tag.
    #[error("unknown case document format {0:?} (expected {DOCUMENT_FORMAT})")]
    Format(String),
}

impl CaseDocument {
    /// A document with a fresh salt.
    pub fn new(title: &str, summary: &str) -> CaseDocument {
        let mut salt = [0u8; 32];
        rand::fill(&mut salt);
        CaseDocument {
            format: DOCUMENT_FORMAT.to_owned(),
            salt: B64.encode(salt),
            title: title.to_owned(),
            summary: summary.to_owned(),
            requested_actions: Vec::new(),
            evidence: None,
            attachments: Vec::new(),
        }
    }

    /// The plaintext bytes (what is encrypted and committed to).
    pub fn to_plaintext(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Parses decrypted plaintext.
    pub fn from_plaintext(bytes: &[u8]) -> Result<CaseDocument, DocumentError> {
        let d: CaseDocument = serde_json::from_slice(bytes)?;
        if d.format != DOCUMENT_FORMAT {
            return Err(DocumentError::Format(d.format));
        }
        Ok(d)
    }
}

/// SHA-256 of bytes, as the statement header commits to payloads and plaintexts.
pub fn sha256(bytes: &[u8]) -> Hash {
    Hash(Sha256::digest(bytes).into())
}
