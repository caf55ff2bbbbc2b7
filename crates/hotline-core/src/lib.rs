//! # hotline-core
//!
//! The domain of hotline, with no HTTP and no SQL:
//!
//! - [`vocab`]: party and case ids, times, and the closed code lists of the format;
//! - [`statement`]: statements as signed notes (format in `docs/statements.md`);
//! - [`lifecycle`]: the case lifecycle and the errors that say what is allowed instead;
//! - [`directory`]: parties and their keys over the log's history;
//! - [`hotline`]: the whole state, applying statements in log order with every check;
//! - [`payload`]: the case document that travels encrypted;
//! - [`stats`]: per pair of parties and month, what an auditor counts in a replayed log;
//! - [`replay`]: replaying a long log with signatures verified ahead on several threads.

pub mod directory;
pub mod hotline;
pub mod lifecycle;
pub mod payload;
pub mod replay;
pub mod statement;
pub mod stats;
pub mod vocab;

pub use hotline::{DeadlinePolicy, DomainError, Hotline};
pub use statement::{SignedStatement, Statement, StatementError};
pub use vocab::{CaseId, Kind, PartyId, Timestamp};
