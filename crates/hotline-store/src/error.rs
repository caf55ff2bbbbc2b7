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
    /// The data directory or database has not been initialised.
    #[error("{0} is not a hotline database (run `hotline init` first)")]
    NotInitialised(String),
    /// The database was written by an incompatible version.
    #[error("database {path} has schema version {found}, this hotline understands {expected}")]
    SchemaVersion {
        /// Database file.
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

/// Result alias for the storage layer.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
