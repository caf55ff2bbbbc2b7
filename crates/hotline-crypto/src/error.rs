//! [`CryptoError`]: every way this crate refuses something, worded for the officer who has to
//! act on it. No message ever contains private key material.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Why a key, a key file, a payload or a credential was refused.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A party id does not follow the rules of [`crate::is_valid_party_id`].
    #[error(
        "invalid party id {0:?}: use 1-63 lowercase ASCII letters, digits and '-', \
         starting with a letter or digit (e.g. us-cisa)"
    )]
    InvalidPartyId(String),

    /// A key file or public key file is malformed. `line` is 1-based; `None` when the problem
    /// is the file as a whole (a required line is missing).
    #[error("{}{}: {reason}", .file, .line.map(|l| format!(", line {l}")).unwrap_or_default())]
    KeyFile {
        /// The file's path, or a description such as "key file" when parsed from a string.
        file: String,
        /// The offending line, 1-based.
        line: Option<usize>,
        /// What is wrong and, where it helps, what to do.
        reason: String,
    },

    /// A file to be created already exists.
    #[error("{} already exists; refusing to overwrite it (move it away or choose another path)", .path.display())]
    AlreadyExists {
        /// The existing file.
        path: PathBuf,
    },

    /// A secret file can be read (or written) by users other than its owner.
    #[error(
        "{} is readable by other users (mode {mode:03o}); run `chmod 600 {}`",
        .path.display(),
        .path.display()
    )]
    InsecurePermissions {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },

    /// Reading or writing a file failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done ("creating", "reading", ...).
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A secret file is larger than any secret this crate writes.
    #[error("{} is {size} bytes, too large to be a hotline secret file (at most {limit})", .path.display())]
    SecretFileTooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },

    /// A string is not an age X25519 recipient (`age1...`).
    #[error(
        "invalid age recipient {recipient:?}: {reason} (expected an X25519 recipient, age1...)"
    )]
    InvalidRecipient {
        /// The string as given (recipients are public).
        recipient: String,
        /// What is wrong.
        reason: &'static str,
    },

    /// Encryption was asked for no recipient at all.
    #[error("no age recipients given: a payload must be encrypted to at least one key")]
    NoRecipients,

    /// Encryption was asked for more distinct recipients than [`crate::MAX_RECIPIENTS`].
    #[error("{count} age recipients given; at most {limit} are allowed")]
    TooManyRecipients {
        /// Distinct recipients given.
        count: usize,
        /// The limit.
        limit: usize,
    },

    /// A payload (plaintext or ciphertext) is larger than allowed.
    #[error("{what} is {size} bytes; the limit is {limit} bytes")]
    PayloadTooLarge {
        /// "plaintext" or "ciphertext".
        what: &'static str,
        /// Its size, or a lower bound when reading stopped at the limit.
        size: usize,
        /// The limit.
        limit: usize,
    },

    /// The payload is a valid age file, but none of its recipient stanzas is for this key.
    #[error("this payload is not encrypted to your key ({recipient})")]
    NotEncryptedToYou {
        /// The age recipient(s) of the identity (identities) tried, comma-separated.
        recipient: String,
    },

    /// The bytes are not an age-encryption.org/v1 file (binary format).
    #[error("the payload is not an age-encryption.org/v1 file: {0}")]
    NotAgeFile(&'static str),

    /// The payload is an age file that does not decrypt: truncated, altered or malformed.
    #[error("the payload is damaged or was altered after encryption: {0}")]
    DamagedPayload(String),

    /// The age library refused to encrypt (should not happen with X25519 recipients).
    #[error("encryption failed: {0}")]
    Encrypt(String),

    /// A string is not a hotline API token.
    #[error("not a hotline API token: {0}")]
    InvalidToken(&'static str),
}

impl CryptoError {
    pub(crate) fn io(action: &'static str, path: &std::path::Path, source: io::Error) -> Self {
        CryptoError::Io {
            action,
            path: path.to_owned(),
            source,
        }
    }
}
