//! # hotline-witness
//!
//! A [c2sp.org/tlog-witness](https://c2sp.org/tlog-witness) witness: logs submit their new
//! checkpoints with a consistency proof from the last checkpoint the witness cosigned, and the
//! witness answers with a timestamped `cosignature/v1`
//! ([c2sp.org/tlog-cosignature](https://c2sp.org/tlog-cosignature)) once it has checked that
//! the new tree extends the old one and recorded it.
//!
//! - [`request`]: the `add-checkpoint` body;
//! - [`witness`]: the checks and the cosignature ([`Witness::add_checkpoint`]);
//! - [`store`]: the SQLite state (latest checkpoint per log, equivocation evidence);
//! - [`config`]: the configuration file and the known logs;
//! - [`http`]: the axum [`router`] (it binds nothing; the CLI serves it).
//!
//! ## HTTP
//!
//! `POST /add-checkpoint` with the body `old <size>\n`, zero to 63 base64 consistency proof
//! lines, an empty line, then the signed checkpoint note (bodies above [`http::MAX_BODY`] get
//! 413). Answers, in the order the checks run:
//!
//! | status | when |
//! |---|---|
//! | 400 | malformed body, or old size larger than the checkpoint size |
//! | 404 | unknown checkpoint origin |
//! | 403 | no valid signature by a trusted key of the log, or a trusted key's signature fails |
//! | 409 | old size is not the size of the latest cosigned checkpoint (0 if none); body: that size and a newline, `Content-Type: text/x.tlog.size` |
//! | 422 | size-0 checkpoint without the empty tree's root; a proof with old size 0; same size as the recorded checkpoint but another root (kept as equivocation evidence); consistency proof does not verify |
//! | 200 | body: the witness's cosignature line (`— <name> <base64>\n`) |
//!
//! The 409, 422 and 200 checks and the update run in one SQLite `BEGIN IMMEDIATE`
//! transaction, committed (with an fsync) before the answer: two concurrent requests with the
//! same old size cannot both be cosigned, and a cosigned checkpoint is never forgotten.
//!
//! `GET /<hex(SHA-256(origin))>/checkpoint` serves the latest cosigned checkpoint of a log with
//! the log signatures the witness verified and its cosignature, or 404.
//!
//! ## Configuration
//!
//! [`WitnessConfig`] is read from TOML; relative paths are resolved against the configuration
//! file's directory by [`WitnessConfig::load`]:
//!
//! ```toml
//! # One line: the witness's cosignature/v1 private key,
//! # PRIVATE+KEY+<name>+<key id>+<base64(0x04 || seed)>. Mode 0600 (refused otherwise).
//! key_file = "witness.key"
//! # The witness's SQLite database, created if missing.
//! database = "witness.db"
//!
//! # One table per known log: its origin line and its Ed25519 signed-note verifier keys
//! # (any of them may sign; signatures by other keys are ignored).
//! [[log]]
//! origin = "example.com/behind-the-sofa"
//! keys = ["example.com/behind-the-sofa+31ea3094+AffSsFu6R2jUBP7SfPk+JmRdXplhKugc0S/F2RiEXUgX"]
//! ```

// Unit tests may unwrap (the workspace warns on `unwrap_used`).
#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod config;
pub mod http;
pub mod request;
pub mod store;
pub mod witness;

pub use config::{ConfigError, KnownLogs, LogConfig, WitnessConfig};
pub use http::router;
pub use request::{AddCheckpointRequest, RequestError, encode_request};
pub use store::{Equivocation, LogState, Store, StoreError};
pub use witness::{AddError, Cosigned, Witness, now_seconds};
