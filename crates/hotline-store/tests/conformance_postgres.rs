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

use hotline_store::postgres::{self as pg, PgLease, PgReader, PgWebhooks, PgWriter};
use hotline_store::webhooks::WebhookStore;
use hotline_store::{BatchWrite, LogReader, LogWriter, StoreError, StoredCheckpoint};

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

    fn execute(&self, sql: &str) {
        let mut config: postgres::Config = self.schema.url.parse().unwrap();
        config.connect_timeout(Duration::from_secs(3));
        config
            .connect(postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap();
    }

    fn webhooks(&self) -> Result<Arc<dyn WebhookStore>, StoreError> {
        Ok(Arc::new(PgWebhooks::open(&self.schema.url)?))
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
        assert!(err.contains("understands 2"), "{err}");
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

fn batch(old: u64, new: u64) -> BatchWrite {
    BatchWrite {
        old_size: old,
        new_size: new,
        checkpoint: StoredCheckpoint {
            size: new,
            note: format!("cp {new}").into_bytes(),
            created_ms: 0,
        },
        ..Default::default()
    }
}

fn latest_size(url: &str) -> u64 {
    PgReader::open(url)
        .unwrap()
        .latest_checkpoint()
        .unwrap()
        .map_or(0, |c| c.size)
}

/// One holder at a time; a holder whose process (connection) is gone is replaced at once, one
/// that stopped renewing when its lease runs out, one that released it at once; every takeover
/// fences the former holder's writer, which then writes nothing.
#[test]
fn the_sequencer_lease_has_one_holder_and_fences_the_former_one() {
    let Some(schema) = Schema::new() else { return };
    let url = &schema.url;
    pg::create(url, conformance::ORIGIN, &vkey()).unwrap();
    let long = Duration::from_secs(60);
    let mut a = PgLease::connect(url, "a", "http://a.invalid", long).unwrap();
    let mut b = PgLease::connect(url, "b", "http://b.invalid", long).unwrap();
    assert!(!a.read().unwrap().is_held(), "a new log has a free lease");
    let ea = a.try_acquire().unwrap().expect("a takes the free lease");
    assert_eq!(b.try_acquire().unwrap(), None, "b took a lease a holds");
    let state = b.read().unwrap();
    assert!(state.is_held(), "{state:?}");
    assert_eq!(
        (state.holder.as_str(), state.url.as_str()),
        ("a", "http://a.invalid")
    );
    assert_eq!(state.epoch, ea);
    assert!(state.remaining_ms > 50_000, "{state:?}");
    let mut wa = PgWriter::open_fenced(url, ea).unwrap();
    wa.commit(&batch(0, 1)).unwrap();
    assert!(a.renew(ea).unwrap());

    // a's process dies: its connections close, and b need not wait out the minute.
    drop(a);
    let eb = (0..50)
        .find_map(|_| {
            let got = b.try_acquire().unwrap();
            if got.is_none() {
                std::thread::sleep(Duration::from_millis(100));
            }
            got
        })
        .expect("b did not take over the lease of a holder whose connection is gone");
    assert!(eb > ea);
    // a's writer (its sequencer may still run somewhere) can no longer commit anything.
    let err = wa.commit(&batch(1, 2)).unwrap_err();
    assert!(matches!(err, StoreError::LeaseLost(_)), "{err}");
    assert!(
        err.to_string().contains("another frontend took over"),
        "{err}"
    );
    assert_eq!(latest_size(url), 1, "a fenced commit wrote something");
    let mut wb = PgWriter::open_fenced(url, eb).unwrap();
    wb.commit(&batch(1, 2)).unwrap();

    // A clean shutdown releases the lease: the next standby takes it at once.
    b.release(eb).unwrap();
    let mut c = PgLease::connect(url, "c", "http://c.invalid", Duration::from_millis(300)).unwrap();
    let ec = c.try_acquire().unwrap().expect("c takes a released lease");
    assert!(
        !b.renew(eb).unwrap(),
        "b renewed a lease it released and c took"
    );
    assert!(matches!(
        wb.commit(&batch(2, 3)).unwrap_err(),
        StoreError::LeaseLost(_)
    ));
    // c stops renewing (cut off from the database, say) while its connection stays open: the
    // lease runs out by the database's clock and d takes it; c's renewal then fails.
    let mut d = PgLease::connect(url, "d", "http://d.invalid", long).unwrap();
    assert_eq!(
        d.try_acquire().unwrap(),
        None,
        "d took a lease before it ran out"
    );
    std::thread::sleep(Duration::from_millis(450));
    let ed = d.try_acquire().unwrap().expect("d takes an expired lease");
    assert!(ed > ec);
    assert!(!c.renew(ec).unwrap());
    assert!(d.renew(ed).unwrap());
    assert_eq!(d.read().unwrap().holder, "d");
    assert_eq!(latest_size(url), 2);
}

/// A takeover waits for a commit in progress (it takes the writers' lock), for at most a
/// bounded time, and then goes through.
#[test]
fn a_takeover_waits_for_a_commit_in_progress() {
    let Some(schema) = Schema::new() else { return };
    pg::create(&schema.url, conformance::ORIGIN, &vkey()).unwrap();
    let mut holder = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    let mut tx = holder.transaction().unwrap();
    tx.query(
        "SELECT value FROM meta WHERE key = 'schema_version' FOR UPDATE",
        &[],
    )
    .unwrap();
    let mut lease = PgLease::connect(
        &schema.url,
        "s",
        "http://s.invalid",
        Duration::from_secs(60),
    )
    .unwrap();
    let started = std::time::Instant::now();
    assert_eq!(lease.try_acquire().unwrap(), None);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(10),
        "{waited:?}"
    );
    tx.rollback().unwrap();
    assert!(lease.try_acquire().unwrap().is_some());
}

/// A follower refuses entries that do not hash to the signed root and a log that went back,
/// and changes nothing when it does.
#[test]
fn a_follower_refuses_tampered_entries_and_a_rolled_back_log() {
    use hotline_store::follow::LogFollower;
    use hotline_store::reader::LogView;
    let Some(schema) = Schema::new() else { return };
    let signer = hotline_tlog::Ed25519Signer::generate(conformance::ORIGIN).unwrap();
    pg::create(
        &schema.url,
        conformance::ORIGIN,
        &signer.verifier().to_vkey(),
    )
    .unwrap();
    let view = Arc::new(LogView::new(Arc::new(PgReader::open(&schema.url).unwrap())).unwrap());
    let seq = hotline_store::sequencer::start(
        Box::new(PgWriter::open(&schema.url).unwrap()),
        view,
        signer.clone(),
        hotline_store::sequencer::SequencerConfig::default(),
    )
    .unwrap();
    for i in 0..300 {
        seq.submit(conformance::entry(i)).unwrap();
    }
    seq.append(conformance::entry(300)).unwrap();
    let fview = Arc::new(LogView::new(Arc::new(PgReader::open(&schema.url).unwrap())).unwrap());
    let mut follower = LogFollower::start(fview.clone(), signer.verifier()).unwrap();
    assert_eq!(follower.size(), 301);
    for i in 301..306 {
        seq.append(conformance::entry(i)).unwrap();
    }
    let mut c = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
    let original: Vec<u8> = c
        .query_one("SELECT data FROM bundles WHERE idx = 1", &[])
        .unwrap()
        .get(0);
    let mut flipped = original.clone();
    *flipped.last_mut().unwrap() ^= 1;
    c.execute("UPDATE bundles SET data = $1 WHERE idx = 1", &[&flipped])
        .unwrap();
    let err = follower
        .step(|i, _| panic!("entry {i} handed over from a tampered bundle"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("do not hash to the root"), "{err}");
    assert_eq!((follower.size(), fview.snapshot().size()), (301, 301));
    c.execute("UPDATE bundles SET data = $1 WHERE idx = 1", &[&original])
        .unwrap();
    let mut got = Vec::new();
    let f = follower
        .step(|i, e| {
            got.push((i, e.to_vec()));
            Ok(())
        })
        .unwrap()
        .unwrap();
    assert_eq!((f.old, f.new), (301, 306));
    assert_eq!(got.len(), 5);
    seq.shutdown();
    // The database goes back (a restored backup): refused, not followed backwards.
    c.batch_execute("DELETE FROM checkpoints WHERE size > 301")
        .unwrap();
    let err = follower.step(|_, _| Ok(())).unwrap_err().to_string();
    assert!(err.contains("rolled back"), "{err}");
    assert_eq!(fview.snapshot().size(), 306);
}
