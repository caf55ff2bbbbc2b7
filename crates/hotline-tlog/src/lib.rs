//! # hotline-tlog
//!
//! The transparency-log formats hotline speaks, with no I/O, no async and no serialisation
//! framework on the core types:
//!
//! - [`hash`]: RFC 6962 / RFC 9162 leaf and node hashing;
//! - [`tree`]: inclusion and consistency proofs over any [`tree::NodeSource`], and their
//!   verification;
//! - [`tile`]: c2sp.org/tlog-tiles coordinates, paths and the growing right edge of a tree;
//! - [`bundle`]: entry bundles;
//! - [`note`]: c2sp.org/signed-note with Ed25519;
//! - [`checkpoint`][]: c2sp.org/tlog-checkpoint;
//! - [`cosignature`]: c2sp.org/tlog-cosignature (`cosignature/v1`);
//! - [`proof`][]: c2sp.org/tlog-proof;
//! - [`cose`]: RFC 9942 COSE Receipts of inclusion (RFC9162_SHA256);
//! - [`precomputed`]: fast verification of many Ed25519 signatures by one key, by the same
//!   rule as [`note::Ed25519Verifier`];
//! - [`batch`]: batch verification of many Ed25519 signatures by many keys, with the same
//!   answers (the audit's).

// Unit tests may unwrap (the workspace warns on `unwrap_used`).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod batch;
pub mod bundle;
pub mod checkpoint;
pub mod cose;
pub mod cosignature;
pub mod hash;
pub mod note;
pub mod precomputed;
pub mod proof;
pub mod tile;
pub mod tree;

pub use batch::{BatchItem, BatchKey, verify_batch};
pub use checkpoint::Checkpoint;
pub use hash::{Hash, leaf_hash, node_hash};
pub use note::{Ed25519Signer, Ed25519Verifier, Note, NoteSigner, NoteVerifier};
pub use precomputed::PrecomputedVerifier;
pub use proof::TlogProof;
