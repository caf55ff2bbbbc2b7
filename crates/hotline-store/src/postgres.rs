//! The PostgreSQL store: the same log as [`crate::sqlite`], kept by a PostgreSQL server, so
//! several hotline processes on several machines can share one database.
//!
//! # Connection
//!
//! Every function takes a libpq-style URL (`postgres://user@host:5432/dbname`). To keep the log
//! in a schema of its own, name it in the URL's `options`:
//! `postgres://user@host/db?options=-csearch_path%3Dhotline` (the schema must exist; the
//! tables are created in the first schema of the search path). Errors name the server as
//! `user@host:port/dbname`, never with the password. TLS is not supported yet: connections are
//! made without it (`NoTls`), so the server must be reached over a trusted network or a
//! local socket.
//!
//! # Why the blocking `postgres` crate
//!
//! The store traits are synchronous and the sequencer runs on threads of its own (it must never
//! need an async runtime: see the crate's invariants). The `postgres` crate is the blocking
//! wrapper over `tokio-postgres`: each [`postgres::Client`] drives its connection on a private
//! current-thread runtime, invisible to the caller, so no runtime leaks into the sequencer or
//! the server's async workers (which reach the store through `spawn_blocking`).
//!
//! # Durability
//!
//! A PostgreSQL `COMMIT` returns only after the server has flushed its write-ahead log (with
//! `synchronous_commit` on, which [`PgWriter::open`] enforces for its session: it is switched
//! back on if the server's default is `off`). A committed batch is therefore already durable
//! and [`PgSyncer`] does nothing, which the contract allows. A server running with `fsync=off`
//! cannot keep that promise; the writer logs a warning when it finds one.
//!
//! # Compare-and-set
//!
//! [`PgWriter::commit`] runs one `READ COMMITTED` transaction that first locks the `meta` row
//! `schema_version` with `SELECT … FOR UPDATE`, and only then reads `max(size)` of
//! `checkpoints` and compares it with the batch's `old_size`. Every writer takes that lock
//! before anything else, so commits to one log are serialised: a second writer waits until the
//! first has committed (or rolled back), and because each statement of a `READ COMMITTED`
//! transaction sees everything committed before it started, its `max(size)` then includes the
//! first writer's checkpoint and its stale batch is refused. The isolation level is set
//! explicitly: under `REPEATABLE READ` (a possible server default) the snapshot would be taken
//! before the lock was granted and the check could miss the other writer's commit.
//!
//! A row lock was preferred to the alternatives: `SERIALIZABLE` would also refuse the second
//! writer, but as a serialisation failure after it did all its writes, and only if the server
//! default is not changed underneath; an advisory lock is database-wide (two logs in two
//! schemas of one database would contend) and invisible in the schema. The locked row is the
//! one migrations update, so a migration and a commit can never interleave either. Readers
//! never take locks (MVCC), so they never block the writer.
//!
//! # Layout (schema version 1)
//!
//! The same tables as SQLite's schema version 3, with PostgreSQL types:
//!
//! - `meta(key, value)`: `schema_version`, `origin`, `log_vkey`, settings fixed at `init`;
//! - `bundles(idx, data)`: entry bundle `idx`, full or the current partial one;
//! - `tiles(level, idx, data)`: hash tiles, full or partial;
//! - `checkpoints(size, note, created_ms)`: every checkpoint the log ever signed;
//! - `payloads(idx, id, data)`: the payload stored with the entry at log index `idx` whose leaf
//!   hash is `id`;
//! - `credentials(token_hash, party, idx)`: API credentials granted with entry `idx`.
//!
//! The TAXII tables ([`SCHEMA_TAXII`]) and the webhook tables ([`SCHEMA_WEBHOOKS`],
//! [`PgWebhooks`]) carry versions of their own and are created when missing.
//!
//! Each table a batch writes is keyed by a growing integer, and a batch writes each table with
//! one `INSERT … SELECT FROM unnest(…)` statement: one round trip per table, not per row.
//!
//! Schema version 2 adds `sequencer_lease`, one row: which frontend may sequence (`holder`,
//! the `url` other frontends forward writes to), until when by the database's clock
//! (`expires_at`), the PostgreSQL backend process of its lease connection (`backend_pid`) and
//! the lease's `epoch`, incremented by every takeover: the fencing token a writer opened with
//! [`PgWriter::open_fenced`] checks in every commit. See [`PgLease`].
//!
//! Migrations: [`MIGRATIONS`]`[i]` takes a schema from version `i` to `i + 1` (version 0 is an
//! empty schema). [`create`] runs them all; [`PgWriter::open`] and [`upgrade`] run the missing
//! ones in one transaction holding the lock described above; readers accept any version from
//! 1 (version 2 adds nothing they read) and refuse newer ones.
//!
//! # Sessions
//!
//! Every connection asks the server to probe an idle client after 5 s (TCP keepalives, 1 s
//! apart, 3 probes) and the writer's and the lease's connections to end a session left idle
//! inside a transaction for [`IDLE_IN_TRANSACTION`]: a frontend cut off from the database in the
//! middle of a commit must not hold the writers' lock (and so block the takeover by another
//! frontend) until the server's default keepalive gives up, hours later. On the client side,
//! unless the URL says otherwise, keepalives start after 5 s and unacknowledged data closes the
//! connection after 10 s (`tcp_user_timeout`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{Client, IsolationLevel, NoTls, Row, Statement};

use crate::error::{Result, StoreError};
use crate::{BatchWrite, Credential, LogReader, LogSyncer, LogWriter, StoredCheckpoint};

/// Schema version written by this build (PostgreSQL numbers its versions on its own).
pub const SCHEMA_VERSION: u32 = 2;

/// The oldest schema version readers accept (newer versions only added what readers ignore).
const OLDEST_READABLE: u32 = 1;

/// How long a writer's or lease holder's session may sit idle inside a transaction before the
/// server ends it (and releases its locks): see the module docs.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(5);

/// Schema version 1: the tables of SQLite's schema version 3.
const SCHEMA_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE bundles (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    data BYTEA NOT NULL
);
CREATE TABLE tiles (
    level SMALLINT NOT NULL CHECK (level >= 0),
    idx   BIGINT NOT NULL CHECK (idx >= 0),
    data  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);
CREATE TABLE checkpoints (
    size       BIGINT PRIMARY KEY CHECK (size >= 0),
    note       BYTEA NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE payloads (
    idx  BIGINT PRIMARY KEY CHECK (idx >= 0),
    id   BYTEA NOT NULL,
    data BYTEA NOT NULL
);
CREATE TABLE credentials (
    token_hash BYTEA PRIMARY KEY,
    party      TEXT NOT NULL,
    idx        BIGINT NOT NULL
);
-- Hash tiles do not compress: store them out of line without trying.
ALTER TABLE tiles ALTER COLUMN data SET STORAGE EXTERNAL;
";

/// The TAXII tables ([`crate::taxii`]), created when missing by [`create`] and
/// [`PgWriter::open`] (after the migrations, holding the writers' lock); versioned on their own
/// (`meta` key `taxii_schema_version`) so they add nothing to [`MIGRATIONS`].
pub const SCHEMA_TAXII: &str = "
CREATE TABLE IF NOT EXISTS taxii_publications (
    idx        BIGINT PRIMARY KEY CHECK (idx >= 0),
    status_id  TEXT NOT NULL UNIQUE,
    collection TEXT NOT NULL,
    body       BYTEA NOT NULL,
    status     BYTEA NOT NULL
);
CREATE TABLE IF NOT EXISTS taxii_objects (
    date_added   BIGINT PRIMARY KEY,
    idx          BIGINT NOT NULL CHECK (idx >= 0),
    collection   TEXT NOT NULL,
    obj_id       TEXT NOT NULL,
    obj_type     TEXT NOT NULL,
    version      TEXT NOT NULL,
    version_key  TEXT NOT NULL,
    spec_version TEXT NOT NULL,
    json         BYTEA NOT NULL,
    superseded_at BIGINT,
    preceded_at   BIGINT,
    UNIQUE (collection, obj_id, version_key)
);
CREATE INDEX IF NOT EXISTS taxii_objects_by_collection ON taxii_objects(collection, date_added);
CREATE INDEX IF NOT EXISTS taxii_objects_by_entry ON taxii_objects(idx);
INSERT INTO meta(key, value) VALUES ('taxii_schema_version', '2') ON CONFLICT (key) DO NOTHING;
";

/// Schema version 2: the sequencer lease (see the module docs and [`PgLease`]).
const SCHEMA_V2: &str = "
CREATE TABLE sequencer_lease (
    id          SMALLINT PRIMARY KEY CHECK (id = 1),
    epoch       BIGINT NOT NULL CHECK (epoch >= 0),
    holder      TEXT NOT NULL,
    url         TEXT NOT NULL,
    backend_pid INTEGER NOT NULL,
    expires_at  TIMESTAMPTZ NOT NULL
);
INSERT INTO sequencer_lease(id, epoch, holder, url, backend_pid, expires_at)
    VALUES (1, 0, '', '', 0, '-infinity');
";

/// Writes the TAXII side data of some entries (in log order, after everything stored) with
/// their version marks ([`crate::taxii::plan_marks`]): one statement for the stored version
/// ranges of the objects involved, one per table, and one per kind of mark. The caller's
/// transaction makes it atomic. Shared by [`PgWriter`]'s commit and the copy into PostgreSQL.
pub(crate) fn write_taxii(
    client: &mut impl postgres::GenericClient,
    publications: &[(i64, &crate::taxii::TaxiiPublication)],
) -> std::result::Result<(), postgres::Error> {
    if publications.is_empty() {
        return Ok(());
    }
    #[allow(clippy::type_complexity)]
    let mut p: (Vec<i64>, Vec<&str>, Vec<&str>, Vec<&[u8]>, Vec<&[u8]>) = Default::default();
    let mut rows = Vec::new();
    let mut pairs = std::collections::HashSet::new();
    let (mut pair_c, mut pair_id) = (Vec::new(), Vec::new());
    for (idx, t) in publications {
        p.0.push(*idx);
        p.1.push(&t.status_id);
        p.2.push(&t.collection);
        p.3.push(&t.body);
        p.4.push(&t.status);
        for o in &t.objects {
            rows.push((
                *idx,
                t.collection.as_str(),
                o.id.as_str(),
                o.version_key.as_str(),
            ));
            if pairs.insert((t.collection.as_str(), o.id.as_str())) {
                pair_c.push(t.collection.as_str());
                pair_id.push(o.id.as_str());
            }
        }
    }
    client.execute(
        "INSERT INTO taxii_publications(idx, status_id, collection, body, status) \
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::bytea[])",
        &[&p.0, &p.1, &p.2, &p.3, &p.4],
    )?;
    let mut stored = crate::taxii::StoredRanges::new();
    if !pair_c.is_empty() {
        for r in client.query(
            "SELECT o.collection, o.obj_id, min(o.version_key), max(o.version_key) \
             FROM taxii_objects o JOIN unnest($1::text[], $2::text[]) AS u(c, id) \
             ON o.collection = u.c AND o.obj_id = u.id GROUP BY o.collection, o.obj_id",
            &[&pair_c, &pair_id],
        )? {
            stored.insert(
                (r.try_get(0)?, r.try_get(1)?),
                (r.try_get(2)?, r.try_get(3)?),
            );
        }
    }
    let plan = crate::taxii::plan_marks(&rows, &stored);
    #[allow(clippy::type_complexity)]
    let mut o: (
        Vec<i64>,
        Vec<i64>,
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&[u8]>,
        Vec<Option<i64>>,
        Vec<Option<i64>>,
    ) = Default::default();
    let mut marks = plan.rows.iter();
    for (idx, t) in publications {
        for obj in &t.objects {
            // A version repeated in these publications keeps its first row (one INSERT … ON
            // CONFLICT may not touch a row twice).
            let Some(Some((superseded, preceded))) = marks.next() else {
                continue;
            };
            o.0.push(obj.date_added_us);
            o.1.push(*idx);
            o.2.push(&t.collection);
            o.3.push(&obj.id);
            o.4.push(&obj.object_type);
            o.5.push(&obj.version);
            o.6.push(&obj.version_key);
            o.7.push(&obj.spec_version);
            o.8.push(&obj.json);
            o.9.push(*superseded);
            o.10.push(*preceded);
        }
    }
    if !o.0.is_empty() {
        client.execute(
            "INSERT INTO taxii_objects(date_added, idx, collection, obj_id, obj_type, version, \
             version_key, spec_version, json, superseded_at, preceded_at) \
             SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
             $5::text[], $6::text[], $7::text[], $8::text[], $9::bytea[], $10::bigint[], \
             $11::bigint[]) \
             ON CONFLICT (collection, obj_id, version_key) DO NOTHING",
            &[
                &o.0, &o.1, &o.2, &o.3, &o.4, &o.5, &o.6, &o.7, &o.8, &o.9, &o.10,
            ],
        )?;
    }
    for (column, list) in [
        ("superseded_at", &plan.supersede),
        ("preceded_at", &plan.precede),
    ] {
        if list.is_empty() {
            continue;
        }
        let c: Vec<&str> = list.iter().map(|m| m.0.as_str()).collect();
        let id: Vec<&str> = list.iter().map(|m| m.1.as_str()).collect();
        let k: Vec<&str> = list.iter().map(|m| m.2.as_str()).collect();
        let at: Vec<i64> = list.iter().map(|m| m.3).collect();
        client.execute(
            &format!(
                "UPDATE taxii_objects o SET {column} = u.at \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS u(c, id, k, at) \
                 WHERE o.collection = u.c AND o.obj_id = u.id AND o.version_key = u.k \
                 AND o.{column} IS NULL"
            ),
            &[&c, &id, &k, &at],
        )?;
    }
    Ok(())
}

/// The migrations: entry `i` takes a schema from version `i` to version `i + 1`.
pub const MIGRATIONS: &[&str] = &[SCHEMA_V1, SCHEMA_V2];

/// How long connecting may take when the URL does not say (`connect_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Readers keep at most this many idle connections.
const POOL_SIZE: usize = 16;

/// The server and database a URL names, for messages: `user@host:port/dbname`, never the
/// password (or anything else the URL carries).
pub fn target_of(url: &str) -> String {
    let Ok(config) = url.parse::<postgres::Config>() else {
        return "an unparsable PostgreSQL URL".to_owned();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let host = match h {
                postgres::config::Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            let port = config
                .get_ports()
                .get(i)
                .or_else(|| config.get_ports().first())
                .copied()
                .unwrap_or(5432);
            format!("{host}:{port}")
        })
        .collect();
    let user = config
        .get_user()
        .map(|u| format!("{u}@"))
        .unwrap_or_default();
    let db = config.get_dbname().unwrap_or("");
    format!("{user}{}/{db}", hosts.join(","))
}

fn pg_err(target: &str) -> impl Fn(postgres::Error) -> StoreError + '_ {
    move |source| StoreError::Postgres {
        target: target.to_owned(),
        source,
    }
}

fn connect(url: &str, target: &str) -> Result<Client> {
    let mut config: postgres::Config = url.parse().map_err(pg_err(target))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    if config.get_application_name().is_none() {
        config.application_name("hotline");
    }
    // A dead peer is noticed in seconds, not after the kernel's two hours (module docs).
    if !url.contains("keepalives_idle") {
        config.keepalives_idle(Duration::from_secs(5));
    }
    if !url.contains("tcp_user_timeout") {
        config.tcp_user_timeout(Duration::from_secs(10));
    }
    let mut client = config.connect(NoTls).map_err(pg_err(target))?;
    client
        .batch_execute(
            "SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 1; \
             SET tcp_keepalives_count = 3",
        )
        .map_err(pg_err(target))?;
    Ok(client)
}

/// Ends the session if it sits idle inside a transaction (see the module docs).
fn limit_idle_in_transaction(client: &mut Client, target: &str) -> Result<()> {
    client
        .batch_execute(&format!(
            "SET idle_in_transaction_session_timeout = {}",
            IDLE_IN_TRANSACTION.as_millis()
        ))
        .map_err(pg_err(target))
}

/// A stored integer that must be a size or an index.
fn to_u64(v: i64, what: &str) -> Result<u64> {
    u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} is negative ({v})")))
}

/// A size or an index to store; PostgreSQL has no unsigned 64-bit integers.
fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| {
        StoreError::Corrupt(format!(
            "{what} {v} does not fit a PostgreSQL bigint (at most {})",
            i64::MAX
        ))
    })
}

fn has_meta(client: &mut Client, target: &str) -> Result<bool> {
    let row = client
        .query_one("SELECT to_regclass('meta') IS NOT NULL", &[])
        .map_err(pg_err(target))?;
    row.try_get(0).map_err(pg_err(target))
}

/// Creates the log's tables for `origin` with the log's verifier key in the database (and
/// schema: see the module docs) that `url` names. Fails if a log is already there.
pub fn create(url: &str, origin: &str, log_vkey: &str) -> Result<()> {
    let target = target_of(url);
    let e = pg_err(&target);
    let mut client = connect(url, &target)?;
    let mut tx = client.transaction().map_err(&e)?;
    let exists: bool = tx
        .query_one("SELECT to_regclass('meta') IS NOT NULL", &[])
        .map_err(&e)?
        .try_get(0)
        .map_err(&e)?;
    if exists {
        return Err(StoreError::Io {
            path: target.clone(),
            source: std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                "a hotline log already exists here; refusing to overwrite it",
            ),
        });
    }
    for step in MIGRATIONS {
        tx.batch_execute(step).map_err(&e)?;
    }
    tx.batch_execute(SCHEMA_TAXII).map_err(&e)?;
    tx.batch_execute(SCHEMA_WEBHOOKS).map_err(&e)?;
    for (k, v) in [
        ("schema_version", SCHEMA_VERSION.to_string()),
        ("origin", origin.to_owned()),
        ("log_vkey", log_vkey.to_owned()),
    ] {
        tx.execute("INSERT INTO meta(key, value) VALUES ($1, $2)", &[&k, &v])
            .map_err(&e)?;
    }
    tx.commit().map_err(&e)?;
    Ok(())
}

/// Records a setting of a new hotline (before its first statement); existing settings are
/// never changed.
pub fn set_meta(url: &str, key: &str, value: &str) -> Result<()> {
    let target = target_of(url);
    let mut client = connect(url, &target)?;
    read_meta(&mut client, &target)?;
    client
        .execute(
            "INSERT INTO meta(key, value) VALUES ($1, $2)",
            &[&key, &value],
        )
        .map_err(|err| {
            if err.code() == Some(&SqlState::UNIQUE_VIOLATION) {
                StoreError::Corrupt(format!("{target}: the setting {key} is already fixed"))
            } else {
                pg_err(&target)(err)
            }
        })?;
    Ok(())
}

/// Identity of an opened log.
#[derive(Clone, Debug)]
struct Meta {
    origin: String,
    log_vkey: String,
}

fn read_meta(client: &mut Client, target: &str) -> Result<Meta> {
    if !has_meta(client, target)? {
        return Err(StoreError::NotInitialised(target.to_owned()));
    }
    let mut get = |k: &str| -> Result<Option<String>> {
        client
            .query_opt("SELECT value FROM meta WHERE key = $1", &[&k])
            .and_then(|r| r.map(|r| r.try_get(0)).transpose())
            .map_err(pg_err(target))
    };
    let version = get("schema_version")?.unwrap_or_default();
    if !version
        .parse::<u32>()
        .is_ok_and(|v| (OLDEST_READABLE..=SCHEMA_VERSION).contains(&v))
    {
        return Err(StoreError::SchemaVersion {
            path: target.to_owned(),
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    let origin = get("origin")?
        .ok_or_else(|| StoreError::Corrupt(format!("{target}: meta has no origin")))?;
    let log_vkey = get("log_vkey")?
        .ok_or_else(|| StoreError::Corrupt(format!("{target}: meta has no log_vkey")))?;
    Ok(Meta { origin, log_vkey })
}

/// Runs the migrations a log written by an older build is missing, in one transaction that
/// holds the writers' lock: nothing changes unless all of it does.
fn migrate(client: &mut Client, target: &str) -> Result<()> {
    if !has_meta(client, target)? {
        return Err(StoreError::NotInitialised(target.to_owned()));
    }
    let e = pg_err(target);
    let mut tx = client.transaction().map_err(&e)?;
    let found: Option<String> = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = 'schema_version' FOR UPDATE",
            &[],
        )
        .and_then(|r| r.map(|r| r.try_get(0)).transpose())
        .map_err(&e)?;
    let found = found.unwrap_or_default();
    let version = found
        .parse::<usize>()
        .ok()
        .filter(|v| (1..=MIGRATIONS.len()).contains(v))
        .ok_or_else(|| StoreError::SchemaVersion {
            path: target.to_owned(),
            found: found.clone(),
            expected: SCHEMA_VERSION,
        })?;
    let steps = MIGRATIONS.get(version..).unwrap_or_default();
    for step in steps {
        tx.batch_execute(step).map_err(&e)?;
    }
    // The TAXII tables, when missing (they carry their own version; see SCHEMA_TAXII).
    let has_taxii: bool = tx
        .query_one("SELECT to_regclass('taxii_objects') IS NOT NULL", &[])
        .and_then(|r| r.try_get(0))
        .map_err(&e)?;
    if !has_taxii {
        tx.batch_execute(SCHEMA_TAXII).map_err(&e)?;
    }
    // Version-1 TAXII tables gain the version marks (see crate::taxii).
    let taxii_version: Option<String> = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = 'taxii_schema_version'",
            &[],
        )
        .and_then(|r| r.map(|r| r.try_get(0)).transpose())
        .map_err(&e)?;
    match taxii_version.as_deref() {
        Some("2") => {}
        Some("1") => {
            tx.batch_execute(
                "ALTER TABLE taxii_objects ADD COLUMN superseded_at BIGINT;
                 ALTER TABLE taxii_objects ADD COLUMN preceded_at BIGINT;",
            )
            .map_err(&e)?;
            tx.batch_execute(crate::taxii::MIGRATE_V1_MARKS)
                .map_err(&e)?;
            tracing::info!(%target, "migrated the TAXII tables from version 1 to 2");
        }
        other => {
            return Err(StoreError::SchemaVersion {
                path: format!("{target} (TAXII tables)"),
                found: other.unwrap_or("none").to_owned(),
                expected: crate::taxii::SCHEMA_VERSION,
            });
        }
    }
    // The webhook tables, when missing (they carry their own version; see SCHEMA_WEBHOOKS).
    ensure_webhooks(&mut tx, target)?;
    if steps.is_empty() {
        tx.commit().map_err(&e)?;
        return Ok(());
    }
    tx.execute(
        "UPDATE meta SET value = $1 WHERE key = 'schema_version'",
        &[&SCHEMA_VERSION.to_string()],
    )
    .map_err(&e)?;
    tx.commit().map_err(&e)?;
    tracing::info!(%target, from = %found, to = SCHEMA_VERSION, "migrated the database schema");
    Ok(())
}

/// Brings the log's schema to this build's version (see [`MIGRATIONS`]), in one transaction
/// holding the writers' lock; a log already there is left alone. Frontends call it before they
/// open readers, so a follower never waits for a sequencer to migrate.
pub fn upgrade(url: &str) -> Result<()> {
    let target = target_of(url);
    let mut client = connect(url, &target)?;
    migrate(&mut client, &target)
}

/// The prepared statements of a writer's commit.
struct WriterStatements {
    lock: Statement,
    fence: Statement,
    latest: Statement,
    bundles: Statement,
    tiles: Statement,
    payloads: Statement,
    credentials: Statement,
    checkpoint: Statement,
}

/// A writer of a PostgreSQL log: one connection, one transaction per batch.
///
/// Any number may be open on one log (on any number of machines); the compare-and-set of
/// [`LogWriter::commit`] (see the module docs) lets only the one whose view is current commit,
/// and a writer opened with [`PgWriter::open_fenced`] only while the sequencer lease is still
/// in the epoch it was given.
pub struct PgWriter {
    client: Client,
    target: String,
    stmts: WriterStatements,
    /// The lease epoch every commit must still find (see [`PgLease`]), if fenced.
    fence: Option<i64>,
}

impl PgWriter {
    /// Connects to the log `url` names for writing, migrating its schema if needed.
    pub fn open(url: &str) -> Result<PgWriter> {
        Self::open_with(url, None)
    }

    /// Like [`PgWriter::open`], for the holder of the sequencer lease in `epoch` (from
    /// [`PgLease::try_acquire`]): every commit, inside its transaction and after the writers'
    /// lock, checks that the lease is still in that epoch, and fails without writing anything
    /// once another frontend has taken it over. Takeovers take the same lock, so a commit
    /// either completes before a takeover or sees its new epoch.
    pub fn open_fenced(url: &str, epoch: i64) -> Result<PgWriter> {
        Self::open_with(url, Some(epoch))
    }

    fn open_with(url: &str, fence: Option<i64>) -> Result<PgWriter> {
        let target = target_of(url);
        let e = pg_err(&target);
        let mut client = connect(url, &target)?;
        migrate(&mut client, &target)?;
        read_meta(&mut client, &target)?;
        limit_idle_in_transaction(&mut client, &target)?;
        let synchronous: String = client
            .query_one("SHOW synchronous_commit", &[])
            .and_then(|r| r.try_get(0))
            .map_err(&e)?;
        if synchronous == "off" {
            client
                .batch_execute("SET synchronous_commit = on")
                .map_err(&e)?;
        }
        let fsync: String = client
            .query_one("SHOW fsync", &[])
            .and_then(|r| r.try_get(0))
            .map_err(&e)?;
        if fsync != "on" {
            tracing::warn!(
                %target,
                "the PostgreSQL server runs with fsync={fsync}: committed batches may be lost \
                 in a crash of its machine"
            );
        }
        let mut prepare = |sql: &str| client.prepare(sql).map_err(&e);
        let stmts = WriterStatements {
            lock: prepare("SELECT value FROM meta WHERE key = 'schema_version' FOR UPDATE")?,
            fence: prepare("SELECT epoch FROM sequencer_lease WHERE id = 1")?,
            latest: prepare("SELECT max(size) FROM checkpoints")?,
            bundles: prepare(
                "INSERT INTO bundles(idx, data) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[]) \
                 ON CONFLICT (idx) DO UPDATE SET data = EXCLUDED.data",
            )?,
            tiles: prepare(
                "INSERT INTO tiles(level, idx, data) \
                 SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[]) \
                 ON CONFLICT (level, idx) DO UPDATE SET data = EXCLUDED.data",
            )?,
            payloads: prepare(
                "INSERT INTO payloads(idx, id, data) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[]) \
                 ON CONFLICT (idx) DO NOTHING",
            )?,
            credentials: prepare(
                "INSERT INTO credentials(token_hash, party, idx) \
                 SELECT * FROM unnest($1::bytea[], $2::text[], $3::bigint[])",
            )?,
            checkpoint: prepare(
                "INSERT INTO checkpoints(size, note, created_ms) VALUES ($1, $2, $3)",
            )?,
        };
        drop(e);
        Ok(PgWriter {
            client,
            target,
            stmts,
            fence,
        })
    }
}

/// The syncer of a PostgreSQL log: nothing to do, a `COMMIT` is durable when it returns.
pub struct PgSyncer;

impl LogSyncer for PgSyncer {
    fn sync(&mut self) -> Result<()> {
        Ok(())
    }
}

impl LogWriter for PgWriter {
    fn syncer(&self) -> Result<Box<dyn LogSyncer>> {
        Ok(Box::new(PgSyncer))
    }

    fn commit(&mut self, batch: &BatchWrite) -> Result<()> {
        let e = pg_err(&self.target);
        // Bundles and tiles replace narrower versions; a key given twice keeps its last value,
        // as SQLite's INSERT OR REPLACE does (one unnest may not update a row twice).
        let mut bundles = BTreeMap::new();
        for (idx, data) in &batch.bundles {
            bundles.insert(to_i64(*idx, "bundle index")?, data.as_slice());
        }
        let mut tiles = BTreeMap::new();
        for (level, idx, data) in &batch.tiles {
            tiles.insert(
                (i16::from(*level), to_i64(*idx, "tile index")?),
                data.as_slice(),
            );
        }
        let (mut pay_idx, mut pay_id, mut pay_data) = (Vec::new(), Vec::new(), Vec::new());
        let (mut cred_hash, mut cred_party, mut cred_idx) = (Vec::new(), Vec::new(), Vec::new());
        for (idx, id, side) in &batch.sides {
            let idx = to_i64(*idx, "entry index")?;
            if let Some(p) = &side.payload {
                pay_idx.push(idx);
                pay_id.push(&id.0[..]);
                pay_data.push(p.as_slice());
            }
            if let Some(c) = &side.credential {
                cred_hash.push(&c.token_hash[..]);
                cred_party.push(c.party.as_str());
                cred_idx.push(idx);
            }
        }
        let size = to_i64(batch.checkpoint.size, "checkpoint size")?;
        let mut publications = Vec::new();
        for (idx, _, side) in &batch.sides {
            if let Some(t) = &side.taxii {
                publications.push((to_i64(*idx, "entry index")?, &**t));
            }
        }

        let s = &self.stmts;
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(&e)?;
        // The writers' lock first; only then the lease and the latest size (module docs).
        tx.query_opt(&s.lock, &[]).map_err(&e)?;
        if let Some(mine) = self.fence {
            let now: Option<i64> = tx
                .query_opt(&s.fence, &[])
                .and_then(|r| r.map(|r| r.try_get(0)).transpose())
                .map_err(&e)?;
            if now != Some(mine) {
                return Err(StoreError::LeaseLost(format!(
                    "{}: the sequencer lease is in epoch {}, this writer holds epoch {mine}: \
                     another frontend took over; nothing of this batch was written",
                    self.target,
                    now.map_or_else(|| "(none)".to_owned(), |n| n.to_string())
                )));
            }
        }
        let latest: Option<i64> = tx
            .query_one(&s.latest, &[])
            .and_then(|r| r.try_get(0))
            .map_err(&e)?;
        let latest = to_u64(latest.unwrap_or(0), "the latest checkpoint size")?;
        if latest != batch.old_size {
            return Err(StoreError::Corrupt(format!(
                "batch extends size {} but the latest stored checkpoint has size {latest}; \
                 another writer is active or the sequencer state is stale",
                batch.old_size
            )));
        }
        if !bundles.is_empty() {
            let idx: Vec<i64> = bundles.keys().copied().collect();
            let data: Vec<&[u8]> = bundles.values().copied().collect();
            tx.execute(&s.bundles, &[&idx, &data]).map_err(&e)?;
        }
        if !tiles.is_empty() {
            let level: Vec<i16> = tiles.keys().map(|k| k.0).collect();
            let idx: Vec<i64> = tiles.keys().map(|k| k.1).collect();
            let data: Vec<&[u8]> = tiles.values().copied().collect();
            tx.execute(&s.tiles, &[&level, &idx, &data]).map_err(&e)?;
        }
        if !pay_idx.is_empty() {
            tx.execute(&s.payloads, &[&pay_idx, &pay_id, &pay_data])
                .map_err(&e)?;
        }
        if !cred_idx.is_empty() {
            tx.execute(&s.credentials, &[&cred_hash, &cred_party, &cred_idx])
                .map_err(&e)?;
        }
        write_taxii(&mut tx, &publications).map_err(&e)?;
        tx.execute(
            &s.checkpoint,
            &[&size, &batch.checkpoint.note, &batch.checkpoint.created_ms],
        )
        .map_err(&e)?;
        tx.commit().map_err(&e)
    }
}

/// The sequencer lease as stored (see [`PgLease`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaseState {
    /// Incremented by every takeover; the fencing token of the holder's commits.
    pub epoch: i64,
    /// The frontend holding (or that last held) the lease; empty if none ever did.
    pub holder: String,
    /// Where the holder takes writes forwarded by other frontends.
    pub url: String,
    /// Milliseconds until it expires by the database's clock (0 once expired or released).
    pub remaining_ms: i64,
    /// Whether the holder's lease connection still exists on the server.
    pub holder_connected: bool,
}

impl LeaseState {
    /// Whether some frontend holds the lease now: not expired, not released, and its lease
    /// connection still open.
    pub fn is_held(&self) -> bool {
        !self.holder.is_empty() && self.remaining_ms > 0 && self.holder_connected
    }
}

/// One frontend's hold on the sequencer lease of a log: exactly one frontend sequences at a
/// time, and a standby takes over when the holder is gone.
///
/// The lease is the row of `sequencer_lease` (schema version 2). It is free when it has
/// expired by the *database's* clock (so the frontends' clocks do not matter), when its holder
/// released it (a clean shutdown), or when the holder's lease connection no longer exists on
/// the server (`pg_stat_activity`): a killed process's connections close with it, so a standby
/// takes over in one poll instead of waiting out the lease; a holder cut off by a network
/// partition keeps its connection on the server, and the lease runs out. A takeover
/// increments `epoch` inside a transaction that first takes the writers' lock, and a writer
/// opened with [`PgWriter::open_fenced`] checks the epoch under the same lock in every commit:
/// once a takeover has committed, no commit of the former holder can, whatever its own clock
/// says; a commit that was already running finishes first, and the new holder's recovery
/// reads it.
///
/// The holder renews the lease every third of its duration and must stop accepting writes
/// when a renewal has not succeeded for most of it (the frontend's coordinator does both).
/// The check of the holder's connection assumes the frontends reach the server directly: behind
/// a pooler in transaction mode it sees the pooler's connections, and takeovers wait for the
/// lease to expire.
pub struct PgLease {
    client: Client,
    target: String,
    holder: String,
    url: String,
    ttl_ms: i64,
}

/// How long a takeover waits for the writers' lock (a commit in progress) before giving up
/// for this round.
const TAKEOVER_LOCK_TIMEOUT_MS: u32 = 2000;

impl PgLease {
    /// Connects to the log `url` names as frontend `holder`, which takes forwarded writes at
    /// `advertise` (an URL other frontends can reach); leases last `ttl`.
    pub fn connect(url: &str, holder: &str, advertise: &str, ttl: Duration) -> Result<PgLease> {
        let target = target_of(url);
        let mut client = connect(url, &target)?;
        read_meta(&mut client, &target)?;
        limit_idle_in_transaction(&mut client, &target)?;
        Ok(PgLease {
            client,
            target,
            holder: holder.to_owned(),
            url: advertise.to_owned(),
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// The server and database, as `user@host:port/dbname`.
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Whether the lease connection was closed (the server went away or cut it).
    pub fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// The lease as stored now.
    pub fn read(&mut self) -> Result<LeaseState> {
        let row = self
            .client
            .query_one(
                "SELECT epoch, holder, url, \
                   CASE WHEN expires_at > clock_timestamp() \
                     THEN ceil(extract(epoch FROM expires_at - clock_timestamp()) * 1000)::bigint \
                     ELSE 0 END, \
                   EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.backend_pid) \
                 FROM sequencer_lease l WHERE id = 1",
                &[],
            )
            .map_err(pg_err(&self.target))?;
        let t = &self.target;
        Ok(LeaseState {
            epoch: col(&row, 0, t)?,
            holder: col(&row, 1, t)?,
            url: col(&row, 2, t)?,
            remaining_ms: col(&row, 3, t)?,
            holder_connected: col(&row, 4, t)?,
        })
    }

    /// Takes the lease if it is free (see the type's docs) and returns its new epoch; `None`
    /// if another frontend holds it (or a commit in progress kept the lock longer than
    /// [`TAKEOVER_LOCK_TIMEOUT_MS`]: try again next round).
    pub fn try_acquire(&mut self) -> Result<Option<i64>> {
        // A cheap look first: standbys ask often, and a takeover waits for the writers' lock.
        if self.read()?.is_held() {
            return Ok(None);
        }
        let e = pg_err(&self.target);
        let mut tx = self
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::ReadCommitted)
            .start()
            .map_err(&e)?;
        tx.batch_execute(&format!(
            "SET LOCAL lock_timeout = {TAKEOVER_LOCK_TIMEOUT_MS}"
        ))
        .map_err(&e)?;
        let locked = tx.query_opt(
            "SELECT value FROM meta WHERE key = 'schema_version' FOR UPDATE",
            &[],
        );
        match locked {
            Ok(_) => {}
            Err(err) if err.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) => return Ok(None),
            Err(err) => return Err(e(err)),
        }
        let row = tx
            .query_opt(
                "UPDATE sequencer_lease SET epoch = epoch + 1, holder = $1, url = $2, \
                   backend_pid = pg_backend_pid(), \
                   expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond' \
                 WHERE id = 1 AND (expires_at <= clock_timestamp() \
                   OR NOT EXISTS (SELECT 1 FROM pg_stat_activity a \
                                  WHERE a.pid = sequencer_lease.backend_pid)) \
                 RETURNING epoch",
                &[&self.holder, &self.url, &self.ttl_ms],
            )
            .map_err(&e)?;
        let epoch: Option<i64> = row.map(|r| r.try_get(0)).transpose().map_err(&e)?;
        tx.commit().map_err(&e)?;
        Ok(epoch)
    }

    /// Extends the lease held in `epoch` by its duration from now (by the database's clock);
    /// `false` if this frontend no longer holds it.
    pub fn renew(&mut self, epoch: i64) -> Result<bool> {
        let n = self
            .client
            .execute(
                "UPDATE sequencer_lease SET backend_pid = pg_backend_pid(), \
                   expires_at = clock_timestamp() + $3::bigint * interval '1 millisecond' \
                 WHERE id = 1 AND epoch = $1 AND holder = $2",
                &[&epoch, &self.holder, &self.ttl_ms],
            )
            .map_err(pg_err(&self.target))?;
        Ok(n == 1)
    }

    /// Gives up the lease held in `epoch` at once (a clean shutdown), so that a standby takes
    /// over without waiting for it to expire. Does nothing if another frontend holds it.
    pub fn release(&mut self, epoch: i64) -> Result<()> {
        self.client
            .execute(
                "UPDATE sequencer_lease SET expires_at = '-infinity' \
                 WHERE id = 1 AND epoch = $1 AND holder = $2",
                &[&epoch, &self.holder],
            )
            .map_err(pg_err(&self.target))?;
        Ok(())
    }
}

/// Read access to a PostgreSQL log through a small pool of connections, each in read-only
/// mode. Reads never take locks, so they never block the writer.
pub struct PgReader {
    url: String,
    target: String,
    meta: Meta,
    pool: Mutex<Vec<Client>>,
    has_taxii: bool,
    /// The version of its TAXII tables (`meta` key `taxii_schema_version`).
    taxii_version: String,
}

impl PgReader {
    /// Connects to the log `url` names for reading.
    pub fn open(url: &str) -> Result<PgReader> {
        let target = target_of(url);
        let mut client = Self::connect_reader(url, &target)?;
        let meta = read_meta(&mut client, &target)?;
        let has_taxii: bool = client
            .query_one("SELECT to_regclass('taxii_objects') IS NOT NULL", &[])
            .and_then(|r| r.try_get(0))
            .map_err(pg_err(&target))?;
        let taxii_version: String = client
            .query_opt(
                "SELECT value FROM meta WHERE key = 'taxii_schema_version'",
                &[],
            )
            .and_then(|r| r.map(|r| r.try_get(0)).transpose())
            .map_err(pg_err(&target))?
            .unwrap_or_default();
        Ok(PgReader {
            url: url.to_owned(),
            target,
            meta,
            pool: Mutex::new(vec![client]),
            has_taxii,
            taxii_version,
        })
    }

    /// The server and database read, as `user@host:port/dbname`.
    pub fn target(&self) -> &str {
        &self.target
    }

    fn connect_reader(url: &str, target: &str) -> Result<Client> {
        let mut client = connect(url, target)?;
        client
            .batch_execute("SET default_transaction_read_only = on")
            .map_err(pg_err(target))?;
        Ok(client)
    }

    fn with_client<T>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut client = match pooled {
            Some(c) if !c.is_closed() => c,
            _ => Self::connect_reader(&self.url, &self.target)?,
        };
        let out = f(&mut client).map_err(pg_err(&self.target));
        if !client.is_closed()
            && let Ok(mut p) = self.pool.lock()
            && p.len() < POOL_SIZE
        {
            p.push(client);
        }
        out
    }

    fn query_opt(&self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<Option<Row>> {
        self.with_client(|c| c.query_typed_opt(sql, params))
    }

    fn query(&self, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> Result<Vec<Row>> {
        self.with_client(|c| c.query_typed(sql, params))
    }
}

/// Column `i` of a row, or a typed error if the stored value does not have the expected type.
fn col<'a, T: postgres::types::FromSql<'a>>(r: &'a Row, i: usize, target: &str) -> Result<T> {
    r.try_get(i).map_err(pg_err(target))
}

fn row_checkpoint(r: &Row, target: &str) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        size: to_u64(col(r, 0, target)?, "a checkpoint size")?,
        note: col(r, 1, target)?,
        created_ms: col(r, 2, target)?,
    })
}

fn limit_of(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

impl LogReader for PgReader {
    fn origin(&self) -> &str {
        &self.meta.origin
    }

    fn taxii(&self) -> Option<&dyn crate::taxii::TaxiiReader> {
        if self.has_taxii { Some(self) } else { None }
    }

    fn webhook_data(&self) -> Result<Option<crate::webhooks::WebhookData>> {
        self.with_client(|c| {
            let has: bool = c
                .query_one("SELECT to_regclass('webhook_pending') IS NOT NULL", &[])?
                .try_get(0)?;
            if !has {
                return Ok(None);
            }
            // One snapshot of every table.
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let data = read_webhook_data(&mut tx)?;
            tx.commit()?;
            Ok(Some(data))
        })
    }

    fn log_vkey(&self) -> &str {
        &self.meta.log_vkey
    }

    fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        self.query_opt(
            "SELECT size, note, created_ms FROM checkpoints ORDER BY size DESC LIMIT 1",
            &[],
        )?
        .as_ref()
        .map(|r| row_checkpoint(r, &self.target))
        .transpose()
    }

    fn checkpoint(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let Ok(size) = i64::try_from(size) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT size, note, created_ms FROM checkpoints WHERE size = $1",
            &[(&size, Type::INT8)],
        )?
        .as_ref()
        .map(|r| row_checkpoint(r, &self.target))
        .transpose()
    }

    fn checkpoints_after(&self, after: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        let Ok(after) = i64::try_from(after) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT size, note, created_ms FROM checkpoints WHERE size > $1 \
             ORDER BY size LIMIT $2",
            &[(&after, Type::INT8), (&limit_of(limit), Type::INT8)],
        )?
        .iter()
        .map(|r| row_checkpoint(r, &self.target))
        .collect()
    }

    fn tile(&self, level: u8, index: u64) -> Result<Option<Vec<u8>>> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT data FROM tiles WHERE level = $1 AND idx = $2",
            &[(&i16::from(level), Type::INT2), (&index, Type::INT8)],
        )?
        .map(|r| col(&r, 0, &self.target))
        .transpose()
    }

    fn bundle(&self, index: u64) -> Result<Option<Vec<u8>>> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT data FROM bundles WHERE idx = $1",
            &[(&index, Type::INT8)],
        )?
        .map(|r| col(&r, 0, &self.target))
        .transpose()
    }

    fn bundle_tail(&self, index: u64, from: usize) -> Result<Option<Vec<u8>>> {
        let (Ok(index), Ok(from)) = (i64::try_from(index), i32::try_from(from)) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT substring(data FROM $2 + 1) FROM bundles WHERE idx = $1",
            &[(&index, Type::INT8), (&from, Type::INT4)],
        )?
        .map(|r| col(&r, 0, &self.target))
        .transpose()
    }

    fn tiles_from(&self, level: u8, from: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT idx, data FROM tiles WHERE level = $1 AND idx >= $2 ORDER BY idx LIMIT $3",
            &[
                (&i16::from(level), Type::INT2),
                (&from, Type::INT8),
                (&limit_of(limit), Type::INT8),
            ],
        )?
        .iter()
        .map(|r| {
            Ok((
                to_u64(col(r, 0, &self.target)?, "a tile index")?,
                col(r, 1, &self.target)?,
            ))
        })
        .collect()
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        self.query_opt(
            "SELECT value FROM meta WHERE key = $1",
            &[(&key, Type::TEXT)],
        )?
        .map(|r| col(&r, 0, &self.target))
        .transpose()
    }

    fn payload(&self, index: u64, id: &hotline_tlog::Hash) -> Result<Option<Vec<u8>>> {
        let id: &[u8] = &id.0;
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT data FROM payloads WHERE idx = $1 AND id = $2",
            &[(&index, Type::INT8), (&id, Type::BYTEA)],
        )?
        .map(|r| col(&r, 0, &self.target))
        .transpose()
    }

    fn meta_all(&self) -> Result<Vec<(String, String)>> {
        self.query("SELECT key, value FROM meta ORDER BY key", &[])?
            .iter()
            .map(|r| Ok((col(r, 0, &self.target)?, col(r, 1, &self.target)?)))
            .collect()
    }

    fn credentials_indexed(&self) -> Result<Vec<(u64, Credential)>> {
        self.query(
            "SELECT token_hash, party, idx FROM credentials ORDER BY idx",
            &[],
        )?
        .iter()
        .map(|r| {
            let h: Vec<u8> = col(r, 0, &self.target)?;
            let token_hash = <[u8; 32]>::try_from(h.as_slice()).map_err(|_| {
                StoreError::Corrupt(format!(
                    "{}: a credential's token hash has {} bytes, not 32",
                    self.target,
                    h.len()
                ))
            })?;
            let idx = to_u64(col(r, 2, &self.target)?, "a credential's index")?;
            Ok((
                idx,
                Credential {
                    token_hash,
                    party: col(r, 1, &self.target)?,
                },
            ))
        })
        .collect()
    }

    fn payloads_from(&self, from: u64, limit: usize) -> Result<Vec<crate::PayloadRow>> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        self.query(
            "SELECT idx, id, data FROM payloads WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[(&from, Type::INT8), (&limit_of(limit), Type::INT8)],
        )?
        .iter()
        .map(|r| {
            Ok((
                to_u64(col(r, 0, &self.target)?, "a payload index")?,
                col(r, 1, &self.target)?,
                col(r, 2, &self.target)?,
            ))
        })
        .collect()
    }

    fn credentials(&self) -> Result<Vec<Credential>> {
        self.query(
            "SELECT token_hash, party FROM credentials ORDER BY idx",
            &[],
        )?
        .iter()
        .map(|r| {
            let h: Vec<u8> = col(r, 0, &self.target)?;
            let token_hash = <[u8; 32]>::try_from(h.as_slice()).map_err(|_| {
                StoreError::Corrupt(format!(
                    "{}: a credential's token hash has {} bytes, not 32",
                    self.target,
                    h.len()
                ))
            })?;
            Ok(Credential {
                token_hash,
                party: col(r, 1, &self.target)?,
            })
        })
        .collect()
    }
}

impl crate::taxii::TaxiiReader for PgReader {
    fn taxii_objects(
        &self,
        q: &crate::taxii::TaxiiQuery,
        with_json: bool,
    ) -> Result<Vec<crate::taxii::TaxiiRow>> {
        use crate::taxii::Param;
        crate::taxii::check_queryable(&self.target, &self.taxii_version)?;
        let (clause, params) = crate::taxii::where_clause(q, |n| format!("${n}"));
        let json = if with_json { "o.json" } else { "''::bytea" };
        let sql = format!(
            "SELECT o.obj_id, o.version, o.date_added, {json} FROM taxii_objects o \
             WHERE {clause} ORDER BY o.date_added LIMIT {}",
            q.limit
        );
        let typed: Vec<(&(dyn ToSql + Sync), Type)> = params
            .iter()
            .map(|p| match p {
                Param::Int(i) => (i as &(dyn ToSql + Sync), Type::INT8),
                Param::Text(t) => (t as &(dyn ToSql + Sync), Type::TEXT),
            })
            .collect();
        self.query(&sql, &typed)?
            .iter()
            .map(|r| {
                Ok(crate::taxii::TaxiiRow {
                    id: col(r, 0, &self.target)?,
                    version: col(r, 1, &self.target)?,
                    date_added_us: col(r, 2, &self.target)?,
                    json: col(r, 3, &self.target)?,
                })
            })
            .collect()
    }

    fn taxii_status(&self, status_id: &str) -> Result<Option<crate::taxii::TaxiiStatus>> {
        self.query_opt(
            "SELECT idx, collection, status FROM taxii_publications WHERE status_id = $1",
            &[(&status_id, Type::TEXT)],
        )?
        .map(|r| {
            Ok(crate::taxii::TaxiiStatus {
                index: to_u64(col(&r, 0, &self.target)?, "a publication's index")?,
                collection: col(&r, 1, &self.target)?,
                status: col(&r, 2, &self.target)?,
            })
        })
        .transpose()
    }

    fn taxii_body(&self, index: u64) -> Result<Option<Vec<u8>>> {
        let Ok(index) = i64::try_from(index) else {
            return Ok(None);
        };
        self.query_opt(
            "SELECT body FROM taxii_publications WHERE idx = $1",
            &[(&index, Type::INT8)],
        )?
        .map(|r| col(&r, 0, &self.target))
        .transpose()
    }

    fn taxii_last_date_added(&self) -> Result<Option<i64>> {
        match self.query_opt("SELECT max(date_added) FROM taxii_objects", &[])? {
            Some(r) => col(&r, 0, &self.target),
            None => Ok(None),
        }
    }

    fn taxii_integrity(&self, size: u64) -> Result<crate::taxii::TaxiiIntegrity> {
        use crate::taxii::{MARKS_MISMATCH, ORPHAN_OBJECTS, PUBLICATIONS_BEYOND};
        let t = &self.target;
        let mut out = crate::taxii::TaxiiIntegrity::default();
        if let Some(r) = self.query_opt(
            "SELECT (SELECT count(*) FROM taxii_publications), \
             (SELECT count(*) FROM taxii_objects)",
            &[],
        )? {
            out.publications = to_u64(col(&r, 0, t)?, "a count")?;
            out.objects = to_u64(col(&r, 1, t)?, "a count")?;
        }
        let size_i = i64::try_from(size).unwrap_or(i64::MAX);
        let beyond = self
            .query(
                &PUBLICATIONS_BEYOND.replace("{size}", "$1"),
                &[(&size_i, Type::INT8)],
            )?
            .iter()
            .map(|r| col(r, 0, t))
            .collect::<Result<Vec<i64>>>()?;
        let orphans = self
            .query(ORPHAN_OBJECTS, &[])?
            .iter()
            .map(|r| Ok((col(r, 0, t)?, col(r, 1, t)?, col(r, 2, t)?)))
            .collect::<Result<Vec<_>>>()?;
        let mismatched = if self.taxii_version == crate::taxii::SCHEMA_VERSION.to_string() {
            self.query(MARKS_MISMATCH, &[])?
                .iter()
                .map(|r| {
                    Ok((
                        col(r, 0, t)?,
                        col(r, 1, t)?,
                        [col(r, 2, t)?, col(r, 3, t)?, col(r, 4, t)?, col(r, 5, t)?],
                    ))
                })
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        out.describe(size, &beyond, &orphans, &mismatched);
        Ok(out)
    }

    fn taxii_publications_from(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, crate::taxii::TaxiiPublication)>> {
        let Ok(from) = i64::try_from(from) else {
            return Ok(Vec::new());
        };
        let rows = self.query(
            "SELECT idx, status_id, collection, body, status FROM taxii_publications \
             WHERE idx >= $1 ORDER BY idx LIMIT $2",
            &[(&from, Type::INT8), (&limit_of(limit), Type::INT8)],
        )?;
        let mut out = Vec::new();
        for r in &rows {
            let idx: i64 = col(r, 0, &self.target)?;
            let objects = self
                .query(
                    "SELECT obj_id, obj_type, version, version_key, spec_version, date_added, \
                     json FROM taxii_objects WHERE idx = $1 ORDER BY date_added",
                    &[(&idx, Type::INT8)],
                )?
                .iter()
                .map(|o| {
                    Ok(crate::taxii::TaxiiObject {
                        id: col(o, 0, &self.target)?,
                        object_type: col(o, 1, &self.target)?,
                        version: col(o, 2, &self.target)?,
                        version_key: col(o, 3, &self.target)?,
                        spec_version: col(o, 4, &self.target)?,
                        date_added_us: col(o, 5, &self.target)?,
                        json: col(o, 6, &self.target)?,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            out.push((
                to_u64(idx, "a publication's index")?,
                crate::taxii::TaxiiPublication {
                    status_id: col(r, 1, &self.target)?,
                    collection: col(r, 2, &self.target)?,
                    body: col(r, 3, &self.target)?,
                    status: col(r, 4, &self.target)?,
                    objects,
                },
            ));
        }
        Ok(out)
    }
}

/// The webhook tables ([`crate::webhooks`]), created when missing by [`create`] and by the
/// migrations under the writers' lock ([`PgWriter::open`], [`upgrade`]); versioned on their
/// own (`meta` key `webhooks_schema_version`) so they add nothing to [`MIGRATIONS`].
pub const SCHEMA_WEBHOOKS: &str = "
CREATE TABLE IF NOT EXISTS webhooks (
    seq     BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    id      TEXT NOT NULL UNIQUE,
    party   TEXT NOT NULL,
    url     TEXT NOT NULL,
    secret  TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS webhooks_by_party ON webhooks(party, seq);
CREATE TABLE IF NOT EXISTS webhook_progress (
    id         SMALLINT PRIMARY KEY CHECK (id = 1),
    next_index BIGINT CHECK (next_index >= 0)
);
INSERT INTO webhook_progress(id, next_index) VALUES (1, NULL) ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS webhook_announced (
    key TEXT PRIMARY KEY,
    due BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS webhook_pending (
    event_id   TEXT NOT NULL,
    webhook    TEXT NOT NULL,
    party      TEXT NOT NULL,
    event      TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    body       BYTEA NOT NULL,
    attempts   INTEGER NOT NULL CHECK (attempts >= 0),
    next_at_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, webhook)
);
CREATE INDEX IF NOT EXISTS webhook_pending_by_time ON webhook_pending(next_at_ms);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    seq        BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    party      TEXT NOT NULL,
    webhook    TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    event      TEXT NOT NULL,
    case_id    TEXT NOT NULL,
    attempt    INTEGER NOT NULL,
    time       TEXT NOT NULL,
    status     INTEGER,
    error      TEXT,
    delivered  BOOLEAN NOT NULL,
    will_retry BOOLEAN NOT NULL
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_by_party ON webhook_deliveries(party, seq);
CREATE TABLE IF NOT EXISTS webhook_imports (
    digest      TEXT PRIMARY KEY,
    imported_ms BIGINT NOT NULL
);
INSERT INTO meta(key, value) VALUES ('webhooks_schema_version', '1') ON CONFLICT (key) DO NOTHING;
";

/// Creates the webhook tables if they are missing and refuses tables of another version, in
/// the caller's transaction (which holds the writers' lock).
fn ensure_webhooks(tx: &mut impl postgres::GenericClient, target: &str) -> Result<()> {
    let e = pg_err(target);
    let has: bool = tx
        .query_one("SELECT to_regclass('webhook_pending') IS NOT NULL", &[])
        .and_then(|r| r.try_get(0))
        .map_err(&e)?;
    if !has {
        tx.batch_execute(SCHEMA_WEBHOOKS).map_err(&e)?;
    }
    let version: Option<String> = tx
        .query_opt(
            "SELECT value FROM meta WHERE key = 'webhooks_schema_version'",
            &[],
        )
        .and_then(|r| r.map(|r| r.try_get(0)).transpose())
        .map_err(&e)?;
    if version.as_deref() != Some("1") {
        return Err(StoreError::SchemaVersion {
            path: format!("{target} (webhook tables)"),
            found: version.unwrap_or_else(|| "none".to_owned()),
            expected: crate::webhooks::SCHEMA_VERSION,
        });
    }
    Ok(())
}

fn pg_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

const PG_PENDING_COLUMNS: &str =
    "event_id, webhook, party, event, case_id, body, attempts, next_at_ms";
const PG_DELIVERY_COLUMNS: &str = "party, webhook, event_id, event, case_id, attempt, time, \
     status, error, delivered, will_retry";

fn pg_hook(r: &Row) -> std::result::Result<crate::webhooks::Webhook, postgres::Error> {
    Ok(crate::webhooks::Webhook {
        id: r.try_get(0)?,
        party: r.try_get(1)?,
        url: r.try_get(2)?,
        secret: r.try_get(3)?,
        created: r.try_get(4)?,
    })
}

fn pg_pending(r: &Row) -> std::result::Result<crate::webhooks::Pending, postgres::Error> {
    Ok(crate::webhooks::Pending {
        event_id: r.try_get(0)?,
        webhook: r.try_get(1)?,
        party: r.try_get(2)?,
        event: r.try_get(3)?,
        case_id: r.try_get(4)?,
        body: r.try_get(5)?,
        attempts: u32::try_from(r.try_get::<_, i32>(6)?).unwrap_or(0),
        next_at_ms: r.try_get(7)?,
    })
}

fn pg_delivery(r: &Row) -> std::result::Result<crate::webhooks::Delivery, postgres::Error> {
    Ok(crate::webhooks::Delivery {
        party: r.try_get(0)?,
        webhook: r.try_get(1)?,
        event_id: r.try_get(2)?,
        event: r.try_get(3)?,
        case_id: r.try_get(4)?,
        attempt: u32::try_from(r.try_get::<_, i32>(5)?).unwrap_or(0),
        time: r.try_get(6)?,
        status: r
            .try_get::<_, Option<i32>>(7)?
            .and_then(|s| u16::try_from(s).ok()),
        error: r.try_get(8)?,
        delivered: r.try_get(9)?,
        will_retry: r.try_get(10)?,
    })
}

fn attempts_i32(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn pg_put_pending(
    c: &mut impl postgres::GenericClient,
    events: &[crate::webhooks::Pending],
) -> std::result::Result<(), postgres::Error> {
    if events.is_empty() {
        return Ok(());
    }
    #[allow(clippy::type_complexity)]
    let mut cols: (
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&str>,
        Vec<&[u8]>,
        Vec<i32>,
        Vec<i64>,
    ) = Default::default();
    for p in events {
        cols.0.push(&p.event_id);
        cols.1.push(&p.webhook);
        cols.2.push(&p.party);
        cols.3.push(&p.event);
        cols.4.push(&p.case_id);
        cols.5.push(&p.body);
        cols.6.push(attempts_i32(p.attempts));
        cols.7.push(p.next_at_ms);
    }
    c.execute(
        &format!(
            "INSERT INTO webhook_pending({PG_PENDING_COLUMNS}) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
             $6::bytea[], $7::integer[], $8::bigint[]) \
             ON CONFLICT (event_id, webhook) DO NOTHING"
        ),
        &[
            &cols.0, &cols.1, &cols.2, &cols.3, &cols.4, &cols.5, &cols.6, &cols.7,
        ],
    )?;
    Ok(())
}

/// Appends one attempt to the delivery log and keeps the party's latest ones.
fn pg_put_delivery(
    c: &mut impl postgres::GenericClient,
    d: &crate::webhooks::Delivery,
) -> std::result::Result<(), postgres::Error> {
    let attempt = attempts_i32(d.attempt);
    let status = d.status.map(i32::from);
    c.execute(
        &format!(
            "INSERT INTO webhook_deliveries({PG_DELIVERY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ),
        &[
            &d.party,
            &d.webhook,
            &d.event_id,
            &d.event,
            &d.case_id,
            &attempt,
            &d.time,
            &status,
            &d.error,
            &d.delivered,
            &d.will_retry,
        ],
    )?;
    c.execute(
        "DELETE FROM webhook_deliveries WHERE party = $1 AND seq <= \
         (SELECT seq FROM webhook_deliveries WHERE party = $1 ORDER BY seq DESC \
          LIMIT 1 OFFSET $2)",
        &[&d.party, &(crate::webhooks::DELIVERIES_KEPT as i64)],
    )?;
    Ok(())
}

/// Adds `data` to the webhook tables as [`crate::webhooks::WebhookStore::import`] describes;
/// the caller's transaction makes it atomic. Shared by the import and the copy into
/// PostgreSQL.
pub(crate) fn write_webhook_data(
    c: &mut impl postgres::GenericClient,
    data: &crate::webhooks::WebhookData,
) -> std::result::Result<(), postgres::Error> {
    for h in &data.hooks {
        c.execute(
            "INSERT INTO webhooks(id, party, url, secret, created) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (id) DO NOTHING",
            &[&h.id, &h.party, &h.url, &h.secret, &h.created],
        )?;
    }
    if let Some(next) = data.next_index {
        let next = i64::try_from(next).unwrap_or(i64::MAX);
        c.execute(
            "UPDATE webhook_progress SET next_index = $1 WHERE id = 1 AND next_index IS NULL",
            &[&next],
        )?;
    }
    for (key, due) in &data.announced {
        c.execute(
            "INSERT INTO webhook_announced(key, due) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
            &[key, due],
        )?;
    }
    pg_put_pending(c, &data.pending)?;
    for d in &data.deliveries {
        pg_put_delivery(c, d)?;
    }
    for digest in &data.imports {
        c.execute(
            "INSERT INTO webhook_imports(digest, imported_ms) VALUES ($1, $2) \
             ON CONFLICT (digest) DO NOTHING",
            &[digest, &pg_now_ms()],
        )?;
    }
    Ok(())
}

/// Everything the webhook tables hold, read in the caller's transaction.
fn read_webhook_data(
    c: &mut impl postgres::GenericClient,
) -> std::result::Result<crate::webhooks::WebhookData, postgres::Error> {
    let hooks = c
        .query(
            "SELECT id, party, url, secret, created FROM webhooks ORDER BY seq",
            &[],
        )?
        .iter()
        .map(pg_hook)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let next_index: Option<i64> = c
        .query_one("SELECT next_index FROM webhook_progress WHERE id = 1", &[])?
        .try_get(0)?;
    let announced = c
        .query("SELECT key, due FROM webhook_announced ORDER BY key", &[])?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<std::result::Result<Vec<_>, postgres::Error>>()?;
    let pending = c
        .query(
            &format!("SELECT {PG_PENDING_COLUMNS} FROM webhook_pending ORDER BY event_id, webhook"),
            &[],
        )?
        .iter()
        .map(pg_pending)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let deliveries = c
        .query(
            &format!("SELECT {PG_DELIVERY_COLUMNS} FROM webhook_deliveries ORDER BY seq"),
            &[],
        )?
        .iter()
        .map(pg_delivery)
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let imports = c
        .query("SELECT digest FROM webhook_imports ORDER BY digest", &[])?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    Ok(crate::webhooks::WebhookData {
        hooks,
        next_index: next_index.and_then(|i| u64::try_from(i).ok()),
        announced,
        pending,
        deliveries,
        imports,
    })
}

/// The webhook tables of a PostgreSQL log ([`crate::webhooks`]), shared by every frontend:
/// one connection of their own (reopened when it breaks), one short `READ COMMITTED`
/// transaction per change. Changes that several frontends could make at once are
/// compare-and-sets ([`crate::webhooks::WebhookStore::advance`], `attempted`) or serialised by
/// the lock of the `webhook_progress` row (a registration's count per party, an import).
pub struct PgWebhooks {
    url: String,
    target: String,
    client: Mutex<Option<Client>>,
}

impl PgWebhooks {
    /// Connects to the webhook tables of the log `url` names (creating them, under the
    /// writers' lock, if an older build left them missing).
    pub fn open(url: &str) -> Result<PgWebhooks> {
        let target = target_of(url);
        let mut client = Self::connect(url, &target)?;
        read_meta(&mut client, &target)?;
        let version: Option<String> = client
            .query_opt(
                "SELECT value FROM meta WHERE key = 'webhooks_schema_version'",
                &[],
            )
            .and_then(|r| r.map(|r| r.try_get(0)).transpose())
            .map_err(pg_err(&target))?;
        if version.is_none() {
            migrate(&mut client, &target)?;
        } else if version.as_deref() != Some("1") {
            return Err(StoreError::SchemaVersion {
                path: format!("{target} (webhook tables)"),
                found: version.unwrap_or_default(),
                expected: crate::webhooks::SCHEMA_VERSION,
            });
        }
        Ok(PgWebhooks {
            url: url.to_owned(),
            target,
            client: Mutex::new(Some(client)),
        })
    }

    fn connect(url: &str, target: &str) -> Result<Client> {
        let mut client = connect(url, target)?;
        limit_idle_in_transaction(&mut client, target)?;
        Ok(client)
    }

    /// Runs `f` on the connection (a new one if the last broke).
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Client) -> std::result::Result<T, postgres::Error>,
    ) -> Result<T> {
        let mut slot = match self.client.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        if slot.as_ref().is_none_or(Client::is_closed) {
            *slot = Some(Self::connect(&self.url, &self.target)?);
        }
        let Some(client) = slot.as_mut() else {
            return Err(StoreError::Corrupt("no PostgreSQL connection".into()));
        };
        f(client).map_err(pg_err(&self.target))
    }

    /// Runs `f` in one `READ COMMITTED` transaction, committed if it returns `Ok(Some)`,
    /// rolled back otherwise.
    fn tx<T>(
        &self,
        f: impl FnOnce(
            &mut postgres::Transaction<'_>,
        ) -> std::result::Result<Option<T>, postgres::Error>,
    ) -> Result<Option<T>> {
        self.with(|c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::ReadCommitted)
                .start()?;
            match f(&mut tx)? {
                Some(out) => {
                    tx.commit()?;
                    Ok(Some(out))
                }
                None => Ok(None),
            }
        })
    }
}

impl Drop for PgWebhooks {
    fn drop(&mut self) {
        // The blocking client's drop runs a runtime of its own, which panics inside another
        // one: the last handle of this store may go on an async worker, so the connection is
        // closed on a thread of its own.
        let client = match self.client.lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(client) = client {
            let _ = std::thread::Builder::new()
                .name("hotline-pg-close".into())
                .spawn(move || drop(client))
                .map(|t| t.join());
        }
    }
}

impl crate::webhooks::WebhookStore for PgWebhooks {
    fn hooks(&self, party: Option<&str>) -> Result<Vec<crate::webhooks::Webhook>> {
        self.with(|c| {
            let rows = match party {
                Some(p) => c.query(
                    "SELECT id, party, url, secret, created FROM webhooks WHERE party = $1 \
                     ORDER BY seq",
                    &[&p],
                )?,
                None => c.query(
                    "SELECT id, party, url, secret, created FROM webhooks ORDER BY seq",
                    &[],
                )?,
            };
            rows.iter().map(pg_hook).collect()
        })
    }

    fn add_hook(&self, hook: &crate::webhooks::Webhook, max_per_party: usize) -> Result<bool> {
        Ok(self
            .tx(|tx| {
                tx.execute(
                    "SELECT next_index FROM webhook_progress WHERE id = 1 FOR UPDATE",
                    &[],
                )?;
                let n: i64 = tx
                    .query_one(
                        "SELECT count(*) FROM webhooks WHERE party = $1",
                        &[&hook.party],
                    )?
                    .try_get(0)?;
                if usize::try_from(n).unwrap_or(usize::MAX) >= max_per_party {
                    return Ok(None);
                }
                tx.execute(
                    "INSERT INTO webhooks(id, party, url, secret, created) \
                     VALUES ($1, $2, $3, $4, $5)",
                    &[
                        &hook.id,
                        &hook.party,
                        &hook.url,
                        &hook.secret,
                        &hook.created,
                    ],
                )?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn delete_hook(&self, party: &str, id: &str) -> Result<bool> {
        Ok(self
            .tx(|tx| {
                if tx.execute(
                    "DELETE FROM webhooks WHERE id = $1 AND party = $2",
                    &[&id, &party],
                )? == 0
                {
                    return Ok(None);
                }
                tx.execute("DELETE FROM webhook_pending WHERE webhook = $1", &[&id])?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn next_index(&self) -> Result<Option<u64>> {
        let v: Option<i64> = self.with(|c| {
            c.query_one("SELECT next_index FROM webhook_progress WHERE id = 1", &[])?
                .try_get(0)
        })?;
        Ok(v.and_then(|v| u64::try_from(v).ok()))
    }

    fn advance(
        &self,
        from: Option<u64>,
        to: u64,
        events: &[crate::webhooks::Pending],
    ) -> Result<bool> {
        let from = from
            .map(|f| to_i64(f, "a webhook progress index"))
            .transpose()?;
        let to = to_i64(to, "a webhook progress index")?;
        Ok(self
            .tx(|tx| {
                // A compare-and-set: a concurrent notifier's update is waited for, then this
                // WHERE is evaluated again against the row it left.
                if tx.execute(
                    "UPDATE webhook_progress SET next_index = $1 \
                     WHERE id = 1 AND next_index IS NOT DISTINCT FROM $2",
                    &[&to, &from],
                )? != 1
                {
                    return Ok(None);
                }
                pg_put_pending(tx, events)?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn announce(
        &self,
        deadlines: &[crate::webhooks::Announcement],
        forget_before: i64,
    ) -> Result<Vec<String>> {
        Ok(self
            .tx(|tx| {
                tx.execute(
                    "DELETE FROM webhook_announced WHERE due < $1",
                    &[&forget_before],
                )?;
                let mut fresh = Vec::new();
                for a in deadlines {
                    if tx.execute(
                        "INSERT INTO webhook_announced(key, due) VALUES ($1, $2) \
                         ON CONFLICT (key) DO NOTHING",
                        &[&a.key, &a.due],
                    )? == 1
                    {
                        pg_put_pending(tx, &a.events)?;
                        fresh.push(a.key.clone());
                    }
                }
                Ok(Some(fresh))
            })?
            .unwrap_or_default())
    }

    fn due(&self, now_ms: i64, limit: usize) -> Result<Vec<crate::webhooks::Pending>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {PG_PENDING_COLUMNS} FROM webhook_pending WHERE next_at_ms <= $1 \
                     ORDER BY next_at_ms, event_id, webhook LIMIT $2"
                ),
                &[&now_ms, &limit],
            )?
            .iter()
            .map(pg_pending)
            .collect()
        })
    }

    fn attempted(&self, d: &crate::webhooks::Delivery, next_at_ms: Option<i64>) -> Result<bool> {
        let before = attempts_i32(d.attempt.saturating_sub(1));
        let attempt = attempts_i32(d.attempt);
        Ok(self
            .tx(|tx| {
                pg_put_delivery(tx, d)?;
                let changed = match next_at_ms {
                    Some(at) => tx.execute(
                        "UPDATE webhook_pending SET attempts = $1, next_at_ms = $2 \
                         WHERE event_id = $3 AND webhook = $4 AND attempts = $5",
                        &[&attempt, &at, &d.event_id, &d.webhook, &before],
                    )?,
                    None => tx.execute(
                        "DELETE FROM webhook_pending \
                         WHERE event_id = $1 AND webhook = $2 AND attempts = $3",
                        &[&d.event_id, &d.webhook, &before],
                    )?,
                };
                Ok(Some(changed == 1))
            })?
            .unwrap_or(false))
    }

    fn deliveries(&self, party: &str, limit: usize) -> Result<Vec<crate::webhooks::Delivery>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.with(|c| {
            c.query(
                &format!(
                    "SELECT {PG_DELIVERY_COLUMNS} FROM webhook_deliveries WHERE party = $1 \
                     ORDER BY seq DESC LIMIT $2"
                ),
                &[&party, &limit],
            )?
            .iter()
            .map(pg_delivery)
            .collect()
        })
    }

    fn import(&self, digest: &str, data: &crate::webhooks::WebhookData) -> Result<bool> {
        Ok(self
            .tx(|tx| {
                tx.execute(
                    "SELECT next_index FROM webhook_progress WHERE id = 1 FOR UPDATE",
                    &[],
                )?;
                if tx
                    .query_opt(
                        "SELECT 1 FROM webhook_imports WHERE digest = $1",
                        &[&digest],
                    )?
                    .is_some()
                {
                    return Ok(None);
                }
                let mut data = data.clone();
                data.imports = vec![digest.to_owned()];
                write_webhook_data(tx, &data)?;
                Ok(Some(()))
            })?
            .is_some())
    }

    fn export(&self) -> Result<crate::webhooks::WebhookData> {
        self.with(|c| {
            let mut tx = c
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()?;
            let data = read_webhook_data(&mut tx)?;
            tx.commit()?;
            Ok(data)
        })
    }
}
