//! The PostgreSQL server of the tests (`HOTLINE_TEST_POSTGRES`, by default CI's
//! `postgres://postgres@127.0.0.1:5432/test`), each test in a schema of its own.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The URL of the test database.
pub fn base_url() -> String {
    std::env::var("HOTLINE_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_owned())
}

/// A connection to the test database, for set-up and checks.
pub fn admin() -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = base_url().parse()?;
    config.connect_timeout(Duration::from_secs(3));
    config.connect(postgres::NoTls)
}

/// Whether the server is reachable; prints why not, or fails if HOTLINE_REQUIRE_EXTERNAL=1.
pub fn available() -> bool {
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
                "no PostgreSQL server at {} ({e}); start one or set HOTLINE_TEST_POSTGRES to a \
                 postgres:// URL of a database the tests may create schemas in",
                hotline_store::postgres::target_of(&base_url())
            );
            assert!(!required, "HOTLINE_REQUIRE_EXTERNAL=1 but {why}");
            println!("skipping: {why}");
            false
        }
    }
}

/// A schema of its own, dropped with everything in it when this is dropped.
pub struct Schema {
    /// Its name.
    pub name: String,
    /// The test database's URL with this schema as the search path.
    pub url: String,
}

impl Schema {
    /// A new schema; `None` (after saying why) when no server is reachable, unless
    /// HOTLINE_REQUIRE_EXTERNAL=1.
    pub fn new() -> Option<Schema> {
        if !available() {
            return None;
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "hotline_cli_test_{}_{}_{nanos}",
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
