//! # hotline-crypto
//!
//! The keys and secrets of hotline's parties, and the encryption of case payloads:
//!
//! - [`party`]: party ids ([`is_valid_party_id`]), an officer's private keys ([`PartyKeys`]:
//!   an Ed25519 signed-note signer named after the party and an age X25519 identity), their
//!   public halves ([`PartyPublicKeys`]) and the text formats of private and public key files;
//! - [`files`]: creating and reading key and secret files (mode 0600 from the first byte,
//!   never overwritten, refused when others can read them);
//! - [`payload`]: age-encryption.org/v1 payload encryption to X25519 recipients
//!   ([`encrypt`], [`decrypt`], [`parse_recipient`]) with size limits;
//! - [`token`]: API credentials ([`ApiToken`], [`hash_token`]).
//!
//! Invariants: private keys never leave key files and the memory of their owner's processes
//! (`Debug` never shows them; they are zeroed on drop); secret files are 0600; no network and no
//! I/O other than key and secret files. The formats are documented in `docs/key-files.md`.

// Unit tests may unwrap (the workspace warns on `unwrap_used`).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod error;
pub mod files;
pub mod party;
pub mod payload;
pub mod token;

pub use age;
pub use error::CryptoError;
pub use files::{
    read_key_file, read_public_file, read_secret, write_key_file, write_public_file, write_secret,
};
pub use party::{PartyKeys, PartyPublicKeys, is_valid_party_id};
pub use payload::{
    AgeRecipient, MAX_CIPHERTEXT_SIZE, MAX_PAYLOAD_SIZE, MAX_RECIPIENTS, check_age_format, decrypt,
    decrypt_with, encrypt, encrypted_size_bound, parse_recipient,
};
pub use token::{ApiToken, hash_token, hashes_equal, token_matches};
pub use zeroize::Zeroizing;
