//! The storage conformance suite (`conformance/mod.rs`) against the PostgreSQL backend, and the
//! PostgreSQL-specific tests (creation, schema versions, messages).
//!
//! The server is the one `HOTLINE_TEST_POSTGRES` names (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test creates a schema of its own with a
//! unique name, keeps its log there (through the URL's `search_path` option) and drops it at
//! the end, so concurrent runs never collide. Without a reachable server every test prints why
//! it is skipped and passes, unless `HOTLINE_REQUIRE_EXTERNAL=1` (as in CI), where it fails.
#![allow(clippy::unwrap_used, missing_docs)]

#[macro_use]
mod conformance;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hotline_store::postgres::{self as pg, PgReader, PgWriter};
use hotline_store::{LogReader, LogWriter, StoreError};

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn base_url() -> String {
    std::env::var("HOTLINE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

fn admin() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = base_url().parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(postgres::NoTls)
}

/// Whether the server is reachable; the first caller prints the reason when it is not, and
/// fails when HOTLINE_REQUIRE_EXTERNAL=1.
fn available() -> bool {
    static PROBE: OnceLock<Result<(), String>> = OnceLock::new();
    let probe = PROBE.get_or_init(|| {
        admin()
            .and_then(|mut c| c.simple_query("SELECT 1").map(|_| ()))
            .map_err(|e| e.to_string())
    });
    match probe {
        Ok(()) => true,
        Err(e) => {
            let required = std::env::var("HOTLINE_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
            let why = format!(
                "no PostgreSQL server at {} ({e}); start one or set HOTLINE_TEST_POSTGRES \
                 to a postgres:// URL of a database the tests may create schemas in",
                pg::target_of(&base_url())
            );
            assert!(!required, "HOTLINE_REQUIRE_EXTERNAL=1 but {why}");
            println!("skipping: {why}");
            false
        }
    }
}

/// A schema of its own, dropped with everything in it when this is dropped.
struct Schema {
    name: String,
    url: String,
}

impl Schema {
    fn new() -> Option<Schema> {
        if !available() {
            return None;
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "hotline_test_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        admin()
            .unwrap()
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .unwrap();
        let base = base_url();
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-csearch_path%3D{name}");
        Some(Schema { name, url })
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        if let Ok(mut c) = admin() {
            let _ = c.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

struct Postgres {
    schema: Schema,
}

impl conformance::Backend for Postgres {
    fn reader(&self) -> Result<Arc<dyn LogReader>, StoreError> {
        Ok(Arc::new(PgReader::open(&self.schema.url)?))
    }

    fn writer(&self) -> Result<Box<dyn LogWriter>, StoreError> {
        Ok(Box::new(PgWriter::open(&self.schema.url)?))
    }
}

fn fresh(origin: &str, log_vkey: &str) -> Option<Box<dyn conformance::Backend>> {
    let schema = Schema::new()?;
    pg::create(&schema.url, origin, log_vkey).unwrap();
    Some(Box::new(Postgres { schema }))
}

conformance_tests!(fresh);

fn vkey() -> String {
    hotline_tlog::Ed25519Signer::generate(conformance::ORIGIN)
        .unwrap()
        .verifier()
        .to_vkey()
}

#[test]
fn create_refuses_to_overwrite_a_log() {
    let Some(schema) = Schema::new() else { return };
    pg::create(&schema.url, conformance::ORIGIN, &vkey()).unwrap();
    let err = pg::create(&schema.url, "other.example/log", &vkey())
        .unwrap_err()
        .to_string();
    assert!(err.contains("already exists"), "{err}");
    let reader = PgReader::open(&schema.url).unwrap();
    assert_eq!(reader.origin(), conformance::ORIGIN);
}

#[test]
fn an_empty_schema_is_not_a_log() {
    let Some(schema) = Schema::new() else { return };
    let err = PgReader::open(&schema.url).err().unwrap();
    assert!(matches!(err, StoreError::NotInitialised(_)), "{err}");
    assert!(err.to_string().contains("hotline init"), "{err}");
    let err = PgWriter::open(&schema.url).err().unwrap();
    assert!(matches!(err, StoreError::NotInitialised(_)), "{err}");
}

#[test]
fn a_newer_schema_version_is_refused_by_readers_and_writers() {
    let Some(schema) = Schema::new() else { return };
    pg::create(&schema.url, conformance::ORIGIN, &vkey()).unwrap();
    let mut c = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    c.batch_execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
        .unwrap();
    for err in [
        PgReader::open(&schema.url).err().unwrap().to_string(),
        PgWriter::open(&schema.url).err().unwrap().to_string(),
    ] {
        assert!(err.contains("schema version 99"), "{err}");
        assert!(err.contains("understands 1"), "{err}");
    }
    // Refused, not changed.
    let v: String = c
        .query_one("SELECT value FROM meta WHERE key = 'schema_version'", &[])
        .unwrap()
        .get(0);
    assert_eq!(v, "99");
}

#[test]
fn settings_are_fixed_once() {
    let Some(schema) = Schema::new() else { return };
    pg::create(&schema.url, conformance::ORIGIN, &vkey()).unwrap();
    pg::set_meta(&schema.url, "deadline_policy", "p1").unwrap();
    let err = pg::set_meta(&schema.url, "deadline_policy", "p2")
        .unwrap_err()
        .to_string();
    assert!(err.contains("already fixed"), "{err}");
    let reader = PgReader::open(&schema.url).unwrap();
    assert_eq!(
        reader.meta("deadline_policy").unwrap().as_deref(),
        Some("p1")
    );
}

#[test]
fn messages_name_the_server_but_never_the_password() {
    // Pure: no server needed.
    assert_eq!(
        pg::target_of("postgres://alice:s3cret@db.example:6543/logs?sslmode=disable"),
        "alice@db.example:6543/logs"
    );
    assert_eq!(
        pg::target_of("postgres://alice:s3cret@127.0.0.1/logs"),
        "alice@127.0.0.1:5432/logs"
    );
    assert!(!pg::target_of("postgres://alice:s3cret@[bad").contains("s3cret"));
    // A server that is not there: the error names it and keeps the password out.
    let err = PgReader::open("postgres://alice:s3cret@127.0.0.1:1/logs?connect_timeout=2")
        .err()
        .unwrap();
    let msg = err.to_string();
    assert!(matches!(err, StoreError::Postgres { .. }), "{msg}");
    assert!(msg.contains("alice@127.0.0.1:1/logs"), "{msg}");
    assert!(msg.contains("refused"), "the cause is not in {msg:?}");
    assert!(!msg.contains("s3cret"), "{msg}");
}

#[test]
fn readers_never_wait_for_a_writer_holding_the_lock() {
    let Some(schema) = Schema::new() else { return };
    pg::create(&schema.url, conformance::ORIGIN, &vkey()).unwrap();
    let reader = PgReader::open(&schema.url).unwrap();
    // Another session holds the writers' lock (as a committing writer does).
    let mut holder = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.query(
        "SELECT value FROM meta WHERE key = 'schema_version' FOR UPDATE",
        &[],
    )
    .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(reader.latest_checkpoint().unwrap(), None);
    assert_eq!(
        reader.meta("origin").unwrap().as_deref(),
        Some(conformance::ORIGIN)
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    // A writer's commit waits for the lock and then goes through (size 0 is still current).
    let url = schema.url.clone();
    let committer = std::thread::spawn(move || {
        let mut w = PgWriter::open(&url).unwrap();
        w.commit(&hotline_store::BatchWrite {
            old_size: 0,
            new_size: 1,
            checkpoint: hotline_store::StoredCheckpoint {
                size: 1,
                note: b"n".to_vec(),
                created_ms: 0,
            },
            ..Default::default()
        })
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        !committer.is_finished(),
        "the commit did not wait for the lock"
    );
    tx.rollback().unwrap();
    committer.join().unwrap().unwrap();
    assert_eq!(reader.latest_checkpoint().unwrap().unwrap().size, 1);
}
