//! The storage conformance suite (`conformance/mod.rs`) against the SQLite backend: a fresh
//! database file in a temporary directory per test.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod conformance;

use std::path::PathBuf;
use std::sync::Arc;

use hotline_store::sqlite::{self, SqliteReader, SqliteWebhooks, SqliteWriter};
use hotline_store::webhooks::WebhookStore;
use hotline_store::{LogReader, LogWriter, StoreError};

struct Sqlite {
    _dir: tempfile::TempDir,
    db: PathBuf,
}

impl conformance::Backend for Sqlite {
    fn reader(&self) -> Result<Arc<dyn LogReader>, StoreError> {
        Ok(Arc::new(SqliteReader::open(&self.db)?))
    }

    fn writer(&self) -> Result<Box<dyn LogWriter>, StoreError> {
        Ok(Box::new(SqliteWriter::open(&self.db)?))
    }

    fn execute(&self, sql: &str) {
        rusqlite::Connection::open(&self.db)
            .unwrap()
            .execute_batch(sql)
            .unwrap();
    }

    fn webhooks(&self) -> Result<Arc<dyn WebhookStore>, StoreError> {
        Ok(Arc::new(SqliteWebhooks::open(&self.db)?))
    }
}

fn fresh(origin: &str, log_vkey: &str) -> Option<Box<dyn conformance::Backend>> {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join(sqlite::DB_FILE);
    sqlite::create(&db, origin, log_vkey).unwrap();
    Some(Box::new(Sqlite { _dir: dir, db }))
}

conformance_tests!(fresh);
