//! Errors of the storage layer.

use thiserror::Error;

/// A storage failure. Messages name the file or object involved so an operator can act.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The database engine failed.
    #[error("database error in {path}: {source}")]
    Database {
        /// Database file or URL.
        path: String,
        /// Underlying error.
        #[source]
        source: rusqlite::Error,
    },
    /// The PostgreSQL server failed or refused a statement, or could not be reached.
    #[error("PostgreSQL error on {target}: {}", with_sources(.source))]
    Postgres {
        /// The server and database, as `user@host:port/dbname` (never the password).
        target: String,
        /// Underlying error.
        #[source]
        source: postgres::Error,
    },
    /// The data directory or database has not been initialised.
    #[error("{0} is not a hotline database (run `hotline init` first)")]
    NotInitialised(String),
    /// The database was written by an incompatible version.
    #[error("database {path} has schema version {found}, this hotline understands {expected}")]
    SchemaVersion {
        /// Database file (or PostgreSQL target).
        path: String,
        /// Version found.
        found: String,
        /// Version expected.
        expected: u32,
    },
    /// Stored data is inconsistent with itself or with the signed checkpoint.
    #[error("stored log is corrupt: {0}")]
    Corrupt(String),
    /// Another process holds the database.
    #[error("{0} is in use by another hotline process")]
    Locked(String),
    /// This process no longer holds the sequencer lease of a shared database: another frontend
    /// took over (see `postgres::PgLease`).
    #[error("lost the sequencer lease: {0}")]
    LeaseLost(String),
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// File involved.
        path: String,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// An error and its sources, joined by ": ". The `postgres` crate keeps the server's own message
/// (or the I/O error of a failed connection) in the source, its text alone says only "db error".
fn with_sources(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// Result alias for the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
