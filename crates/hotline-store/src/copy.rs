//! Copying a whole log from one store to another (SQLite ↔ PostgreSQL), row for row: meta,
//! entry bundles, hash tiles, checkpoints, payloads, credentials, the TAXII tables and the
//! webhook tables (registrations, the notifier's progress and outbox, the delivery log).
//!
//! The source is read through [`LogReader`] and must not be written meanwhile (stop its
//! server; the CLI takes a data directory's lock). The destination must be empty and is
//! written in one transaction: a PostgreSQL destination gets its schema and every row in one
//! transaction, a SQLite one is built under a temporary name and renamed into place, so an
//! interrupted copy leaves no log behind. Check the copy with [`crate::fsck`].

use std::path::{Path, PathBuf};

use rusqlite::{Connection, params};

use crate::error::{Result, StoreError};
use crate::taxii::TaxiiPublication;
use crate::webhooks::WebhookData;
use crate::{Credential, LogReader, StoredCheckpoint};

/// Where a copy goes.
#[derive(Clone, Copy, Debug)]
pub enum Destination<'a> {
    /// A SQLite database file that must not exist yet.
    Sqlite(&'a Path),
    /// A PostgreSQL database (and schema) with no log in it, by URL.
    Postgres(&'a str),
}

/// Rows copied, table by table.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyStats {
    /// Tree size of the latest checkpoint copied.
    pub size: u64,
    /// `meta` settings (besides the schema version).
    pub meta: u64,
    /// Entry bundles.
    pub bundles: u64,
    /// Hash tiles.
    pub tiles: u64,
    /// Checkpoints.
    pub checkpoints: u64,
    /// Payloads.
    pub payloads: u64,
    /// Credentials.
    pub credentials: u64,
    /// TAXII publications (with their objects).
    pub taxii_publications: u64,
    /// TAXII object versions.
    pub taxii_objects: u64,
    /// Webhook registrations.
    pub webhooks: u64,
    /// Webhook events waiting for delivery.
    pub webhook_pending: u64,
    /// Webhook delivery attempts recorded.
    pub webhook_deliveries: u64,
    /// The webhook notifier's progress: the log index below which entries were examined.
    pub webhook_next_index: Option<u64>,
}

/// One destination's inserts, all inside the transaction the sink opened.
trait Sink {
    fn meta(&mut self, key: &str, value: &str) -> Result<()>;
    fn bundle(&mut self, index: u64, data: &[u8]) -> Result<()>;
    fn tile(&mut self, level: u8, index: u64, data: &[u8]) -> Result<()>;
    fn checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<()>;
    fn payload(&mut self, index: u64, id: &[u8], data: &[u8]) -> Result<()>;
    fn credential(&mut self, index: u64, c: &Credential) -> Result<()>;
    fn publication(&mut self, index: u64, p: &TaxiiPublication) -> Result<()>;
    fn webhooks(&mut self, data: &WebhookData) -> Result<()>;
    fn commit(self: Box<Self>) -> Result<()>;
}

/// Copies the log `src` reads into `dst` (see the module docs).
pub fn copy_log(src: &dyn LogReader, dst: Destination<'_>) -> Result<CopyStats> {
    match dst {
        Destination::Sqlite(path) => {
            if path.exists() {
                return Err(StoreError::Io {
                    path: path.display().to_string(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::AlreadyExists,
                        "a database already exists here; refusing to copy over it",
                    ),
                });
            }
            let mut tmp = path.as_os_str().to_owned();
            tmp.push(".copying");
            let tmp = PathBuf::from(tmp);
            for leftover in ["", "-wal", "-shm"] {
                let mut p = tmp.as_os_str().to_owned();
                p.push(leftover);
                let _ = std::fs::remove_file(PathBuf::from(p));
            }
            crate::sqlite::create(&tmp, src.origin(), src.log_vkey())?;
            let sink = SqliteSink::open(&tmp)?;
            let stats = copy_into(src, Box::new(sink), WRITTEN_META)?;
            // Fold the WAL into the file before it takes its final name.
            let conn = Connection::open(&tmp).map_err(sqlite_err(&tmp))?;
            conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .map_err(sqlite_err(&tmp))?;
            drop(conn);
            std::fs::rename(&tmp, path).map_err(|source| StoreError::Io {
                path: path.display().to_string(),
                source,
            })?;
            if let Some(dir) = path.parent() {
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
            Ok(stats)
        }
        Destination::Postgres(url) => {
            let sink = PgSink::open(url, src)?;
            copy_into(src, Box::new(sink), WRITTEN_META)
        }
    }
}

/// `meta` settings a destination writes itself when it is created.
const WRITTEN_META: &[&str] = &[
    "origin",
    "log_vkey",
    crate::taxii::SCHEMA_META_KEY,
    crate::webhooks::SCHEMA_META_KEY,
];

fn copy_into(src: &dyn LogReader, mut sink: Box<dyn Sink>, written: &[&str]) -> Result<CopyStats> {
    let mut stats = CopyStats::default();
    let latest = src.latest_checkpoint()?;
    let size = latest.as_ref().map_or(0, |c| c.size);
    stats.size = size;
    for (k, v) in src.meta_all()? {
        if k == "schema_version" || written.contains(&k.as_str()) {
            continue;
        }
        sink.meta(&k, &v)?;
        stats.meta += 1;
    }
    for b in 0..size.div_ceil(hotline_tlog::tile::TILE_WIDTH) {
        let data = src.bundle(b)?.ok_or_else(|| {
            StoreError::Corrupt(format!("entry bundle {b} is missing from the source"))
        })?;
        sink.bundle(b, &data)?;
        stats.bundles += 1;
    }
    for level in 0..=hotline_tlog::tile::MAX_TILE_LEVEL {
        let mut from = 0u64;
        loop {
            let page = src.tiles_from(level, from, 512)?;
            let Some(last) = page.last() else { break };
            from = last.0 + 1;
            for (index, data) in &page {
                sink.tile(level, *index, data)?;
                stats.tiles += 1;
            }
        }
    }
    if let Some(zero) = src.checkpoint(0)? {
        sink.checkpoint(&zero)?;
        stats.checkpoints += 1;
    }
    let mut after = 0u64;
    loop {
        let page = src.checkpoints_after(after, 1000)?;
        let Some(last) = page.last() else { break };
        after = last.size;
        for cp in &page {
            sink.checkpoint(cp)?;
            stats.checkpoints += 1;
        }
    }
    let mut from = 0u64;
    loop {
        let page = src.payloads_from(from, 256)?;
        let Some(last) = page.last() else { break };
        from = last.0 + 1;
        for (index, id, data) in &page {
            sink.payload(*index, id, data)?;
            stats.payloads += 1;
        }
    }
    for (index, c) in src.credentials_indexed()? {
        sink.credential(index, &c)?;
        stats.credentials += 1;
    }
    if let Some(taxii) = src.taxii() {
        let mut from = 0u64;
        loop {
            let page = taxii.taxii_publications_from(from, 64)?;
            let Some(last) = page.last() else { break };
            from = last.0 + 1;
            for (index, p) in &page {
                sink.publication(*index, p)?;
                stats.taxii_publications += 1;
                stats.taxii_objects += p.objects.len() as u64;
            }
        }
    }
    if let Some(data) = src.webhook_data()? {
        sink.webhooks(&data)?;
        stats.webhooks = data.hooks.len() as u64;
        stats.webhook_pending = data.pending.len() as u64;
        stats.webhook_deliveries = data.deliveries.len() as u64;
        stats.webhook_next_index = data.next_index;
    }
    if src.latest_checkpoint()?.map(|c| c.size) != latest.map(|c| c.size) {
        return Err(StoreError::Corrupt(
            "the source log grew while it was copied; stop whatever writes it and copy again"
                .into(),
        ));
    }
    sink.commit()?;
    Ok(stats)
}

fn sqlite_err(path: &Path) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
    move |source| StoreError::Database {
        path: path.display().to_string(),
        source,
    }
}

struct SqliteSink {
    conn: Connection,
    path: PathBuf,
}

impl SqliteSink {
    fn open(path: &Path) -> Result<SqliteSink> {
        let conn = Connection::open(path).map_err(sqlite_err(path))?;
        conn.execute_batch("BEGIN IMMEDIATE")
            .map_err(sqlite_err(path))?;
        Ok(SqliteSink {
            conn,
            path: path.to_owned(),
        })
    }

    fn exec(&self, sql: &str, p: impl rusqlite::Params) -> Result<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(p))
            .map(|_| ())
            .map_err(sqlite_err(&self.path))
    }
}

fn to_i64(v: u64, what: &str) -> Result<i64> {
    i64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{what} {v} is too large")))
}

impl Sink for SqliteSink {
    fn meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO meta(key, value) VALUES (?1, ?2)",
            params![key, value],
        )
    }
    fn bundle(&mut self, index: u64, data: &[u8]) -> Result<()> {
        let index = to_i64(index, "bundle index")?;
        self.exec(
            "INSERT INTO bundles(idx, data) VALUES (?1, ?2)",
            params![index, data],
        )
    }
    fn tile(&mut self, level: u8, index: u64, data: &[u8]) -> Result<()> {
        if index >= 1 << 56 {
            return Err(StoreError::Corrupt(format!(
                "tile index {index} is too large"
            )));
        }
        let id = ((u64::from(level) << 56) | index) as i64;
        self.exec(
            "INSERT INTO tiles(id, level, idx, data) VALUES (?1, ?2, ?3, ?4)",
            params![id, level, index as i64, data],
        )
    }
    fn checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<()> {
        let size = to_i64(cp.size, "checkpoint size")?;
        self.exec(
            "INSERT INTO checkpoints(size, note, created_ms) VALUES (?1, ?2, ?3)",
            params![size, cp.note, cp.created_ms],
        )
    }
    fn payload(&mut self, index: u64, id: &[u8], data: &[u8]) -> Result<()> {
        let index = to_i64(index, "payload index")?;
        self.exec(
            "INSERT INTO payloads(idx, id, data) VALUES (?1, ?2, ?3)",
            params![index, id, data],
        )
    }
    fn credential(&mut self, index: u64, c: &Credential) -> Result<()> {
        let index = to_i64(index, "credential index")?;
        self.exec(
            "INSERT INTO credentials(token_hash, party, idx) VALUES (?1, ?2, ?3)",
            params![&c.token_hash[..], c.party, index],
        )
    }
    fn publication(&mut self, index: u64, p: &TaxiiPublication) -> Result<()> {
        // As the writer does: the version marks are recomputed, not copied.
        let index = to_i64(index, "publication index")?;
        crate::sqlite::write_taxii(&self.conn, &[(index, p)]).map_err(sqlite_err(&self.path))
    }
    fn webhooks(&mut self, data: &WebhookData) -> Result<()> {
        crate::sqlite::write_webhook_data(&self.conn, data).map_err(sqlite_err(&self.path))
    }
    fn commit(self: Box<Self>) -> Result<()> {
        self.conn
            .execute_batch("COMMIT")
            .map_err(sqlite_err(&self.path))
    }
}

/// Rows waiting to be sent to PostgreSQL, table by table: a copy sends them in batches (one
/// `INSERT … SELECT FROM unnest(…)` per table and batch), not one round trip per row.
#[derive(Default)]
struct PgRows {
    bundles: (Vec<i64>, Vec<Vec<u8>>),
    tiles: (Vec<i16>, Vec<i64>, Vec<Vec<u8>>),
    checkpoints: (Vec<i64>, Vec<Vec<u8>>, Vec<i64>),
    payloads: (Vec<i64>, Vec<Vec<u8>>, Vec<Vec<u8>>),
    bytes: usize,
    rows: usize,
}

/// A batch is sent once it holds this many rows or bytes.
const PG_BATCH_ROWS: usize = 512;
const PG_BATCH_BYTES: usize = 16 << 20;

struct PgSink {
    client: postgres::Client,
    target: String,
    rows: PgRows,
}

impl PgSink {
    /// Connects, opens the transaction, refuses a schema that already holds a log (or any of
    /// its tables), and creates the tables with the source's identity.
    fn open(url: &str, src: &dyn LogReader) -> Result<PgSink> {
        let target = crate::postgres::target_of(url);
        let e = |source| StoreError::Postgres {
            target: target.clone(),
            source,
        };
        let mut config: postgres::Config = url.parse().map_err(e)?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(std::time::Duration::from_secs(10));
        }
        let mut client = config.connect(postgres::NoTls).map_err(e)?;
        client.batch_execute("BEGIN").map_err(e)?;
        let taken: bool = client
            .query_one(
                "SELECT to_regclass('meta') IS NOT NULL OR to_regclass('bundles') IS NOT NULL \
                 OR to_regclass('tiles') IS NOT NULL OR to_regclass('checkpoints') IS NOT NULL",
                &[],
            )
            .and_then(|r| r.try_get(0))
            .map_err(e)?;
        if taken {
            return Err(StoreError::Io {
                path: target.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the destination already holds a hotline log; refusing to copy over it",
                ),
            });
        }
        for step in crate::postgres::MIGRATIONS {
            client.batch_execute(step).map_err(e)?;
        }
        client
            .batch_execute(crate::postgres::SCHEMA_TAXII)
            .map_err(e)?;
        client
            .batch_execute(crate::postgres::SCHEMA_WEBHOOKS)
            .map_err(e)?;
        for (k, v) in [
            (
                "schema_version",
                crate::postgres::SCHEMA_VERSION.to_string(),
            ),
            ("origin", src.origin().to_owned()),
            ("log_vkey", src.log_vkey().to_owned()),
        ] {
            client
                .execute("INSERT INTO meta(key, value) VALUES ($1, $2)", &[&k, &v])
                .map_err(e)?;
        }
        Ok(PgSink {
            client,
            target,
            rows: PgRows::default(),
        })
    }

    fn added(&mut self, bytes: usize) -> Result<()> {
        self.rows.rows += 1;
        self.rows.bytes += bytes;
        if self.rows.rows >= PG_BATCH_ROWS || self.rows.bytes >= PG_BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Sends every waiting row.
    fn flush(&mut self) -> Result<()> {
        let rows = std::mem::take(&mut self.rows);
        if !rows.bundles.0.is_empty() {
            self.exec(
                "INSERT INTO bundles(idx, data) SELECT * FROM unnest($1::bigint[], $2::bytea[])",
                &[&rows.bundles.0, &rows.bundles.1],
            )?;
        }
        if !rows.tiles.0.is_empty() {
            self.exec(
                "INSERT INTO tiles(level, idx, data) \
                 SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])",
                &[&rows.tiles.0, &rows.tiles.1, &rows.tiles.2],
            )?;
        }
        if !rows.checkpoints.0.is_empty() {
            self.exec(
                "INSERT INTO checkpoints(size, note, created_ms) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bigint[])",
                &[
                    &rows.checkpoints.0,
                    &rows.checkpoints.1,
                    &rows.checkpoints.2,
                ],
            )?;
        }
        if !rows.payloads.0.is_empty() {
            self.exec(
                "INSERT INTO payloads(idx, id, data) \
                 SELECT * FROM unnest($1::bigint[], $2::bytea[], $3::bytea[])",
                &[&rows.payloads.0, &rows.payloads.1, &rows.payloads.2],
            )?;
        }
        Ok(())
    }

    fn exec(&mut self, sql: &str, p: &[&(dyn postgres::types::ToSql + Sync)]) -> Result<()> {
        self.client
            .execute(sql, p)
            .map(|_| ())
            .map_err(|source| StoreError::Postgres {
                target: self.target.clone(),
                source,
            })
    }
}

impl Sink for PgSink {
    fn meta(&mut self, key: &str, value: &str) -> Result<()> {
        self.exec(
            "INSERT INTO meta(key, value) VALUES ($1, $2)",
            &[&key, &value],
        )
    }
    fn bundle(&mut self, index: u64, data: &[u8]) -> Result<()> {
        self.rows.bundles.0.push(to_i64(index, "bundle index")?);
        self.rows.bundles.1.push(data.to_vec());
        self.added(data.len())
    }
    fn tile(&mut self, level: u8, index: u64, data: &[u8]) -> Result<()> {
        self.rows.tiles.0.push(i16::from(level));
        self.rows.tiles.1.push(to_i64(index, "tile index")?);
        self.rows.tiles.2.push(data.to_vec());
        self.added(data.len())
    }
    fn checkpoint(&mut self, cp: &StoredCheckpoint) -> Result<()> {
        self.rows
            .checkpoints
            .0
            .push(to_i64(cp.size, "checkpoint size")?);
        self.rows.checkpoints.1.push(cp.note.clone());
        self.rows.checkpoints.2.push(cp.created_ms);
        self.added(cp.note.len())
    }
    fn payload(&mut self, index: u64, id: &[u8], data: &[u8]) -> Result<()> {
        self.rows.payloads.0.push(to_i64(index, "payload index")?);
        self.rows.payloads.1.push(id.to_vec());
        self.rows.payloads.2.push(data.to_vec());
        self.added(data.len() + id.len())
    }
    fn credential(&mut self, index: u64, c: &Credential) -> Result<()> {
        let index = to_i64(index, "credential index")?;
        let hash: &[u8] = &c.token_hash;
        self.exec(
            "INSERT INTO credentials(token_hash, party, idx) VALUES ($1, $2, $3)",
            &[&hash, &c.party, &index],
        )
    }
    fn publication(&mut self, index: u64, p: &TaxiiPublication) -> Result<()> {
        // As the writer does: the version marks are recomputed, not copied.
        let index = to_i64(index, "publication index")?;
        crate::postgres::write_taxii(&mut self.client, &[(index, p)]).map_err(|source| {
            StoreError::Postgres {
                target: self.target.clone(),
                source,
            }
        })
    }
    fn webhooks(&mut self, data: &WebhookData) -> Result<()> {
        crate::postgres::write_webhook_data(&mut self.client, data).map_err(|source| {
            StoreError::Postgres {
                target: self.target.clone(),
                source,
            }
        })
    }
    fn commit(mut self: Box<Self>) -> Result<()> {
        self.flush()?;
        let target = self.target.clone();
        self.client
            .batch_execute("COMMIT")
            .map_err(|source| StoreError::Postgres { target, source })
    }
}
