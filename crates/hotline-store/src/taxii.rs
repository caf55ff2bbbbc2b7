//! TAXII 2.1 collections kept beside the log: what a `shared` statement published.
//!
//! Objects enter a collection only as side data of the log entry that records their
//! publication ([`crate::EntrySide::taxii`]), written by [`crate::LogWriter::commit`] in the
//! same transaction as the entry; they are therefore exactly as durable as the statement, and
//! never stored without it. Readers pass the published tree size ([`TaxiiQuery::below_index`])
//! so that rows of a batch committed but not yet synced are never served.
//!
//! Two tables, the same in every backend (SQLite types shown):
//!
//! - `taxii_publications(idx, status_id, collection, body, status)`: one row per `shared`
//!   entry: the request body exactly as received (the statement commits to its SHA-256) and
//!   the TAXII status resource answered for it;
//! - `taxii_objects(date_added, idx, collection, obj_id, obj_type, version, version_key,
//!   spec_version, json, superseded_at, preceded_at)`: one row per object version per
//!   collection, keyed by its `date_added` in microseconds. The service hands out `date_added`
//!   values that are unique and grow with the log index, so paging by `date_added` is exact and
//!   a client that saw a `date_added` never later finds an object added before it.
//!   `(collection, obj_id, version_key)` is unique: a version already in the collection is kept
//!   as first stored (STIX: an id and a `modified` name one content).
//!
//! **Version marks.** `superseded_at` is the log index of the first entry by which both the
//! row and a newer version (greater `version_key`) of the same object in the same collection
//! were added — the larger of the row's own `idx` and the smallest `idx` of a newer version —
//! and `preceded_at` the same for an older version; NULL while there is none. A row is the
//! latest version of its object as of the published tree size S exactly when `superseded_at`
//! is NULL or ≥ S (the first version likewise with `preceded_at`), so `match[version]=last`
//! — every page's default — is a test on the row itself. Version 1 asked, for every row of a
//! page, whether a newer row existed (a correlated sub-query: one random probe of the unique
//! index per row, 1,000 per page; most of a page's CPU at 10,000 objects and growing with the
//! collection, BENCHMARKS.md). The writer keeps the marks in the same transaction as the rows
//! ([`plan_marks`]): a new version marks at most the one stored row that was newest (or
//! oldest) so far, since every other row already has its mark, and entries are written in
//! log order, so a mark once set is the minimum and never changes. Marks are derived data:
//! `fsck` recomputes them from the rows, and a copy recomputes them as it writes.
//!
//! The tables have their own version (`meta` key [`SCHEMA_META_KEY`]) and are created, if
//! missing, when a writer opens the log (`CREATE TABLE IF NOT EXISTS`), so a log written
//! before TAXII existed gains them without touching the main schema's version. A writer
//! upgrades version-1 tables to version 2 (adds and computes the marks, [`MIGRATE_V1_MARKS`])
//! in one transaction when it opens the log.

use crate::error::Result;

/// `meta` key recording the version of the TAXII tables.
pub const SCHEMA_META_KEY: &str = "taxii_schema_version";
/// Version of the TAXII tables written by this build (2: version marks).
pub const SCHEMA_VERSION: u32 = 2;

/// Computes every row's version marks from the rows themselves: the definition, used to
/// upgrade version-1 tables (after the columns were added) in both backends.
pub(crate) const MIGRATE_V1_MARKS: &str = "
UPDATE taxii_objects SET
    superseded_at = (SELECT min(CASE WHEN n.idx > taxii_objects.idx THEN n.idx
                                     ELSE taxii_objects.idx END) FROM taxii_objects n
        WHERE n.collection = taxii_objects.collection AND n.obj_id = taxii_objects.obj_id
          AND n.version_key > taxii_objects.version_key),
    preceded_at = (SELECT min(CASE WHEN n.idx > taxii_objects.idx THEN n.idx
                                   ELSE taxii_objects.idx END) FROM taxii_objects n
        WHERE n.collection = taxii_objects.collection AND n.obj_id = taxii_objects.obj_id
          AND n.version_key < taxii_objects.version_key);
UPDATE meta SET value = '2' WHERE key = 'taxii_schema_version';
";

/// The rows whose stored version marks differ from the definition (see the module docs):
/// `(date_added, obj_id, stored superseded_at, stored preceded_at, computed superseded_at,
/// computed preceded_at)`, the first ten. Used by [`TaxiiReader::taxii_integrity`].
pub(crate) const MARKS_MISMATCH: &str = "
SELECT d, id, s, p, cs, cp FROM (
    SELECT x.date_added AS d, x.obj_id AS id, x.superseded_at AS s, x.preceded_at AS p,
        (SELECT min(CASE WHEN n.idx > x.idx THEN n.idx ELSE x.idx END) FROM taxii_objects n
            WHERE n.collection = x.collection AND n.obj_id = x.obj_id
              AND n.version_key > x.version_key) AS cs,
        (SELECT min(CASE WHEN n.idx > x.idx THEN n.idx ELSE x.idx END) FROM taxii_objects n
            WHERE n.collection = x.collection AND n.obj_id = x.obj_id
              AND n.version_key < x.version_key) AS cp
    FROM taxii_objects x) AS m
WHERE s IS DISTINCT FROM cs OR p IS DISTINCT FROM cp
ORDER BY d LIMIT 10
";

/// Publications whose entry lies at or beyond a tree size (`$1`/`?1`), the first ten.
pub(crate) const PUBLICATIONS_BEYOND: &str =
    "SELECT idx FROM taxii_publications WHERE idx >= {size} ORDER BY idx LIMIT 10";

/// Object rows with no publication of their entry in their collection: `(date_added, idx,
/// obj_id)`, the first ten.
pub(crate) const ORPHAN_OBJECTS: &str = "
SELECT o.date_added, o.idx, o.obj_id FROM taxii_objects o
LEFT JOIN taxii_publications p ON p.idx = o.idx
WHERE p.idx IS NULL OR p.collection <> o.collection
ORDER BY o.date_added LIMIT 10
";

/// What [`TaxiiReader::taxii_integrity`] found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaxiiIntegrity {
    /// Publication rows.
    pub publications: u64,
    /// Object rows.
    pub objects: u64,
    /// Problems, each naming the row (at most ten of each kind).
    pub problems: Vec<String>,
}

impl TaxiiIntegrity {
    /// Adds the problems the three checks' rows describe.
    pub(crate) fn describe(
        &mut self,
        size: u64,
        beyond: &[i64],
        orphans: &[(i64, i64, String)],
        marks: &[(i64, String, [Option<i64>; 4])],
    ) {
        for idx in beyond {
            self.problems.push(format!(
                "the TAXII publication of entry {idx} lies beyond the tree of size {size}"
            ));
        }
        for (date_added, idx, id) in orphans {
            self.problems.push(format!(
                "TAXII object {id} (date_added {}) names entry {idx}, which published nothing \
                 in its collection",
                format_timestamp_us(*date_added)
            ));
        }
        let show = |v: Option<i64>| v.map_or("none".to_owned(), |v| v.to_string());
        for (date_added, id, [s, p, cs, cp]) in marks {
            self.problems.push(format!(
                "TAXII object {id} (date_added {}): version marks superseded_at {}, \
                 preceded_at {} where its versions give {} and {} (pages would list the wrong \
                 versions as last or first)",
                format_timestamp_us(*date_added),
                show(*s),
                show(*p),
                show(*cs),
                show(*cp)
            ));
        }
    }
}

/// One version of one STIX object in one collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxiiObject {
    /// STIX `id`.
    pub id: String,
    /// STIX `type`.
    pub object_type: String,
    /// The TAXII version: `modified`, else `created`, else the `date_added` timestamp.
    pub version: String,
    /// `version` normalised so that byte order is time order ([`version_key`]).
    pub version_key: String,
    /// STIX `spec_version` (`2.1`).
    pub spec_version: String,
    /// When the hotline added it, microseconds since the Unix epoch; unique.
    pub date_added_us: i64,
    /// The object's JSON text exactly as received.
    pub json: Vec<u8>,
}

/// The side data of a `shared` entry: what one TAXII POST added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxiiPublication {
    /// The collection's id.
    pub collection: String,
    /// The TAXII status resource's id.
    pub status_id: String,
    /// The request body exactly as received (its SHA-256 is in the statement).
    pub body: Vec<u8>,
    /// The status resource (JSON) answered for the POST.
    pub status: Vec<u8>,
    /// The object versions, in the order of the body.
    pub objects: Vec<TaxiiObject>,
}

/// Which versions of each object a query returns (TAXII 2.1 `match[version]`); several may be
/// asked for at once, and a row is returned if any applies.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionFilter {
    /// `all`.
    pub all: bool,
    /// `first`: the oldest version (by `version`).
    pub first: bool,
    /// `last`: the newest version (the default when nothing is asked).
    pub last: bool,
    /// Exact versions, as [`version_key`]s.
    pub exact: Vec<String>,
}

/// A query over one collection. Rows come in `date_added` order.
#[derive(Clone, Debug, Default)]
pub struct TaxiiQuery {
    /// The collection's id.
    pub collection: String,
    /// Only rows of log entries below this index (the published tree size).
    pub below_index: u64,
    /// Only rows added strictly after this (`added_after`, or the paging cursor).
    pub after_us: Option<i64>,
    /// Only these ids (`match[id]`); empty: any.
    pub ids: Vec<String>,
    /// Only these types (`match[type]`); empty: any.
    pub types: Vec<String>,
    /// Versions (`match[version]`).
    pub versions: VersionFilter,
    /// Only these spec versions (`match[spec_version]`); empty: any.
    pub spec_versions: Vec<String>,
    /// At most this many rows.
    pub limit: usize,
}

/// A row returned by [`TaxiiReader::taxii_objects`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxiiRow {
    /// STIX `id`.
    pub id: String,
    /// The TAXII version.
    pub version: String,
    /// `date_added`, microseconds.
    pub date_added_us: i64,
    /// The object's JSON (empty when the query asked for the manifest only).
    pub json: Vec<u8>,
}

/// A stored status resource ([`TaxiiReader::taxii_status`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TaxiiStatus {
    /// The log index of the publication it reports on.
    pub index: u64,
    /// The id of the collection the objects were added to.
    pub collection: String,
    /// The status resource (JSON) as answered to the POST.
    pub status: Vec<u8>,
}

/// The read side of the TAXII tables, implemented by every backend.
pub trait TaxiiReader: Send + Sync {
    /// Rows matching `q`, at most `q.limit`, in `date_added` order; `with_json: false` leaves
    /// [`TaxiiRow::json`] empty (manifests).
    fn taxii_objects(&self, q: &TaxiiQuery, with_json: bool) -> Result<Vec<TaxiiRow>>;
    /// The status resource with this id, with the log index and collection of its
    /// publication.
    fn taxii_status(&self, status_id: &str) -> Result<Option<TaxiiStatus>>;
    /// The request body published with the entry at `index`.
    fn taxii_body(&self, index: u64) -> Result<Option<Vec<u8>>>;
    /// The largest `date_added` stored, if any.
    fn taxii_last_date_added(&self) -> Result<Option<i64>>;
    /// Checks the TAXII tables against a log of `size` entries: no publication beyond it,
    /// every object row in a publication of its entry and collection, and every version mark
    /// as the rows define it (version-2 tables).
    fn taxii_integrity(&self, size: u64) -> Result<TaxiiIntegrity>;
    /// Up to `limit` publications with log index at least `from`, in index order, with their
    /// objects (for copying a log and checking it).
    fn taxii_publications_from(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TaxiiPublication)>>;
}

/// Fails unless TAXII tables of version `found` can be queried by this build: version-1 tables
/// lack the version marks until a writer opens the log (and upgrades them).
pub(crate) fn check_queryable(path: &str, found: &str) -> Result<()> {
    if found == SCHEMA_VERSION.to_string() {
        return Ok(());
    }
    Err(crate::error::StoreError::SchemaVersion {
        path: format!(
            "{path} (TAXII tables; `hotline serve` upgrades version 1 when it opens the log)"
        ),
        found: found.to_owned(),
        expected: SCHEMA_VERSION,
    })
}

/// The version marks of one new row: `(superseded_at, preceded_at)` (see the module docs).
pub(crate) type Marks = (Option<i64>, Option<i64>);

/// What a writer must store so that the version marks stay true after it adds some rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct MarkPlan {
    /// For each new row, in the order given: its marks, or `None` when it repeats a version
    /// stored or given earlier (it is not inserted; a repeat of a stored version between the
    /// oldest and the newest is not recognised here, gets marks, and is then ignored by the
    /// insert, which is harmless: it changes no other row's marks).
    pub rows: Vec<Option<Marks>>,
    /// Stored rows `(collection, obj_id, version_key)` whose `superseded_at` becomes the index.
    pub supersede: Vec<(String, String, String, i64)>,
    /// Stored rows `(collection, obj_id, version_key)` whose `preceded_at` becomes the index.
    pub precede: Vec<(String, String, String, i64)>,
}

/// One new row for [`plan_marks`]: `(log index, collection, obj_id, version_key)`.
pub(crate) type NewRow<'a> = (i64, &'a str, &'a str, &'a str);

/// The stored oldest and newest `version_key` of each `(collection, obj_id)` that has rows.
pub(crate) type StoredRanges = std::collections::HashMap<(String, String), (String, String)>;

/// Plans the version marks for `rows` (in log order, after every stored row) given the
/// stored version range of each object they touch (see the module docs).
pub(crate) fn plan_marks(rows: &[NewRow<'_>], stored: &StoredRanges) -> MarkPlan {
    use std::collections::{HashMap, HashSet};
    /// The newest or oldest version so far: its key and where its row is.
    #[derive(Clone)]
    struct End {
        key: String,
        row: Option<usize>,
    }
    struct Object {
        oldest: Option<End>,
        newest: Option<End>,
        given: HashSet<String>,
    }
    let mut plan = MarkPlan {
        rows: Vec::with_capacity(rows.len()),
        ..MarkPlan::default()
    };
    let mut objects: HashMap<(&str, &str), Object> = HashMap::new();
    for (i, &(idx, collection, obj_id, key)) in rows.iter().enumerate() {
        let o = objects.entry((collection, obj_id)).or_insert_with(|| {
            let range = stored.get(&(collection.to_owned(), obj_id.to_owned()));
            Object {
                oldest: range.map(|r| End {
                    key: r.0.clone(),
                    row: None,
                }),
                newest: range.map(|r| End {
                    key: r.1.clone(),
                    row: None,
                }),
                given: HashSet::new(),
            }
        });
        let repeats = o.given.contains(key)
            || o.oldest.as_ref().is_some_and(|e| e.key == key)
            || o.newest.as_ref().is_some_and(|e| e.key == key);
        if repeats {
            plan.rows.push(None);
            continue;
        }
        o.given.insert(key.to_owned());
        let superseded = o
            .newest
            .as_ref()
            .is_some_and(|e| e.key.as_str() > key)
            .then_some(idx);
        let preceded = o
            .oldest
            .as_ref()
            .is_some_and(|e| e.key.as_str() < key)
            .then_some(idx);
        plan.rows.push(Some((superseded, preceded)));
        if superseded.is_none() {
            // The new row is the newest: the previous newest is superseded here.
            match o.newest.take() {
                Some(End { row: Some(j), .. }) => {
                    if let Some(Some(m)) = plan.rows.get_mut(j) {
                        m.0.get_or_insert(idx);
                    }
                }
                Some(End { key: k, row: None }) => {
                    plan.supersede
                        .push((collection.to_owned(), obj_id.to_owned(), k, idx));
                }
                None => {}
            }
            o.newest = Some(End {
                key: key.to_owned(),
                row: Some(i),
            });
        }
        if preceded.is_none() {
            match o.oldest.take() {
                Some(End { row: Some(j), .. }) => {
                    if let Some(Some(m)) = plan.rows.get_mut(j) {
                        m.1.get_or_insert(idx);
                    }
                }
                Some(End { key: k, row: None }) => {
                    plan.precede
                        .push((collection.to_owned(), obj_id.to_owned(), k, idx));
                }
                None => {}
            }
            o.oldest = Some(End {
                key: key.to_owned(),
                row: Some(i),
            });
        }
    }
    plan
}

/// A STIX timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`) as a string whose byte order is time
/// order: the fraction padded (or cut) to 9 digits. Anything else is returned unchanged.
pub fn version_key(t: &str) -> String {
    let Some(body) = t.strip_suffix('Z') else {
        return t.to_owned();
    };
    let (secs, frac) = body.split_once('.').unwrap_or((body, ""));
    if secs.len() != 19 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return t.to_owned();
    }
    let mut out = String::with_capacity(30);
    out.push_str(secs);
    out.push('.');
    for i in 0..9 {
        out.push(char::from(*frac.as_bytes().get(i).unwrap_or(&b'0')));
    }
    out.push('Z');
    out
}

/// A time in microseconds since the Unix epoch as a STIX/TAXII timestamp with microseconds:
/// `2021-07-03T10:00:00.000000Z`.
pub fn format_timestamp_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let micros = us.rem_euclid(1_000_000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{micros:06}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60
    )
}

/// Parses a STIX timestamp (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`, UTC) to microseconds since the
/// Unix epoch, digits beyond the microsecond cut off (rounded down).
pub fn parse_timestamp_us(t: &str) -> Option<i64> {
    let b = t.as_bytes();
    if b.len() < 20 || *b.last()? != b'Z' || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = t.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let days_in_month = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if d < 1 || d > days_in_month || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let frac = &t[19..t.len() - 1];
    let micros = if frac.is_empty() {
        0
    } else {
        let digits = frac.strip_prefix('.')?;
        if digits.is_empty() || !digits.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut padded: String = digits.chars().take(6).collect();
        while padded.len() < 6 {
            padded.push('0');
        }
        padded.parse::<i64>().ok()?
    };
    let days = days_from_civil(y, mo, d);
    Some(((days * 86_400 + h * 3600 + mi * 60 + s) * 1_000_000) + micros)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01 (inverse of [`days_from_civil`]).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The `WHERE` clause (without `WHERE`) and its parameters for `q`, with `ph(n)` writing the
/// n-th (1-based) placeholder in the backend's syntax. Parameters are `i64` or `String`.
pub(crate) fn where_clause(q: &TaxiiQuery, ph: impl Fn(usize) -> String) -> (String, Vec<Param>) {
    let mut params = vec![
        Param::Text(q.collection.clone()),
        Param::Int(i64::try_from(q.below_index).unwrap_or(i64::MAX)),
    ];
    let mut sql = format!("o.collection = {} AND o.idx < {}", ph(1), ph(2));
    if let Some(after) = q.after_us {
        params.push(Param::Int(after));
        sql.push_str(&format!(" AND o.date_added > {}", ph(params.len())));
    }
    let mut list = |sql: &mut String, column: &str, values: &[String]| {
        if values.is_empty() {
            return;
        }
        let mut marks = Vec::new();
        for v in values {
            params.push(Param::Text(v.clone()));
            marks.push(ph(params.len()));
        }
        sql.push_str(&format!(" AND o.{column} IN ({})", marks.join(", ")));
    };
    list(&mut sql, "obj_id", &q.ids);
    list(&mut sql, "obj_type", &q.types);
    list(&mut sql, "spec_version", &q.spec_versions);
    let v = &q.versions;
    let default_last = !v.all && !v.first && !v.last && v.exact.is_empty();
    if !v.all {
        let mut any = Vec::new();
        // The version marks (module docs): no newer (older) version below the published size.
        let unmarked = |column: &str| format!("(o.{column} IS NULL OR o.{column} >= {})", ph(2));
        if v.last || default_last {
            any.push(unmarked("superseded_at"));
        }
        if v.first {
            any.push(unmarked("preceded_at"));
        }
        if !v.exact.is_empty() {
            let mut marks = Vec::new();
            for e in &v.exact {
                params.push(Param::Text(e.clone()));
                marks.push(ph(params.len()));
            }
            any.push(format!("o.version_key IN ({})", marks.join(", ")));
        }
        sql.push_str(&format!(" AND ({})", any.join(" OR ")));
    }
    (sql, params)
}

/// A query parameter.
#[derive(Clone, Debug)]
pub(crate) enum Param {
    Int(i64),
    Text(String),
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A stored row of the model: collection, id, key, idx, superseded_at, preceded_at.
    type ModelRow = (String, String, String, i64, Option<i64>, Option<i64>);

    /// Writes `batch` (rows of one commit, in log order) into `stored` as a writer does: the
    /// plan, inserts that keep a version's first row, updates of still-unmarked rows only.
    fn write(stored: &mut Vec<ModelRow>, batch: &[(i64, String, String, String)]) {
        let mut ranges = StoredRanges::new();
        for (c, id, k, ..) in stored.iter() {
            let e = ranges
                .entry((c.clone(), id.clone()))
                .or_insert_with(|| (k.clone(), k.clone()));
            if *k < e.0 {
                e.0 = k.clone();
            }
            if *k > e.1 {
                e.1 = k.clone();
            }
        }
        let rows: Vec<NewRow<'_>> = batch
            .iter()
            .map(|(i, c, id, k)| (*i, c.as_str(), id.as_str(), k.as_str()))
            .collect();
        let plan = plan_marks(&rows, &ranges);
        assert_eq!(plan.rows.len(), batch.len());
        for ((i, c, id, k), marks) in batch.iter().zip(&plan.rows) {
            let Some((sup, pre)) = marks else { continue };
            if !stored.iter().any(|r| (&r.0, &r.1, &r.2) == (c, id, k)) {
                stored.push((c.clone(), id.clone(), k.clone(), *i, *sup, *pre));
            }
        }
        for (c, id, k, i) in &plan.supersede {
            for r in stored.iter_mut() {
                if (&r.0, &r.1, &r.2) == (c, id, k) && r.4.is_none() {
                    r.4 = Some(*i);
                }
            }
        }
        for (c, id, k, i) in &plan.precede {
            for r in stored.iter_mut() {
                if (&r.0, &r.1, &r.2) == (c, id, k) && r.5.is_none() {
                    r.5 = Some(*i);
                }
            }
        }
    }

    proptest::proptest! {
        /// Whatever the order and grouping of versions, the marks equal their definition:
        /// the first index by which the row and a newer (older) version were both added.
        #[test]
        fn version_marks_match_their_definition(
            batches in proptest::collection::vec(
                proptest::collection::vec((0u8..2, 0u8..3, 0u8..6, 0u8..3), 0..8),
                1..8,
            )
        ) {
            let mut stored = Vec::new();
            let mut idx = 0i64;
            for batch in &batches {
                let mut rows = Vec::new();
                for &(c, id, k, step) in batch {
                    // Several rows may share an entry (one POST), and entries grow.
                    idx += i64::from(step.min(1));
                    rows.push((idx, format!("c{c}"), format!("o{id}"), format!("v{k}")));
                }
                idx += 1;
                write(&mut stored, &rows);
                for r in &stored {
                    let same = || stored.iter().filter(|n| n.0 == r.0 && n.1 == r.1);
                    let sup = same().filter(|n| n.2 > r.2).map(|n| n.3.max(r.3)).min();
                    let pre = same().filter(|n| n.2 < r.2).map(|n| n.3.max(r.3)).min();
                    proptest::prop_assert_eq!((r.4, r.5), (sup, pre), "{:?} in {:?}", r, stored);
                }
            }
        }
    }

    #[test]
    fn version_marks_by_hand() {
        let mut stored = Vec::new();
        let row = |i: i64, k: &str| (i, "c".to_owned(), "o".to_owned(), k.to_owned());
        write(&mut stored, &[row(1, "b")]);
        write(&mut stored, &[row(2, "a"), row(2, "c"), row(2, "c")]);
        write(&mut stored, &[row(3, "d"), row(4, "b")]);
        let marks: Vec<_> = stored.iter().map(|r| (r.2.as_str(), r.4, r.5)).collect();
        assert_eq!(
            marks,
            [
                ("b", Some(2), Some(2)),
                ("a", Some(2), None),
                ("c", Some(3), Some(2)),
                ("d", None, Some(3)),
            ]
        );
    }

    #[test]
    fn version_keys_sort_as_times() {
        let a = version_key("2021-07-03T10:00:00Z");
        let b = version_key("2021-07-03T10:00:00.5Z");
        let c = version_key("2021-07-03T10:00:00.123456789Z");
        let d = version_key("2021-07-03T10:00:01Z");
        assert!(a < c && c < b && b < d, "{a} {b} {c} {d}");
        assert_eq!(a, "2021-07-03T10:00:00.000000000Z");
        assert_eq!(version_key("not a time"), "not a time");
    }

    #[test]
    fn timestamps_round_trip_in_microseconds() {
        let t = "2021-07-03T10:00:00.123456Z";
        let us = parse_timestamp_us(t).unwrap();
        assert_eq!(us, 1_625_306_400_123_456);
        assert_eq!(format_timestamp_us(us), t);
        assert_eq!(
            parse_timestamp_us("2021-07-03T10:00:00Z"),
            Some(1_625_306_400_000_000)
        );
        assert_eq!(
            parse_timestamp_us("2021-07-03T10:00:00.1234567Z"),
            Some(1_625_306_400_123_456)
        );
        assert_eq!(format_timestamp_us(0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(
            parse_timestamp_us("2024-02-29T23:59:59Z")
                .map(format_timestamp_us)
                .as_deref(),
            Some("2024-02-29T23:59:59.000000Z")
        );
        for bad in [
            "2021-02-29T00:00:00Z",
            "2021-07-03 10:00:00Z",
            "2021-07-03T10:00:00",
            "2021-07-03T10:00:00.Z",
            "x",
        ] {
            assert_eq!(parse_timestamp_us(bad), None, "{bad}");
        }
    }
}
