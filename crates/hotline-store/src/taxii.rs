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
//!   spec_version, json)`: one row per object version per collection, keyed by its
//!   `date_added` in microseconds. The service hands out `date_added` values that are unique
//!   and grow with the log index, so paging by `date_added` is exact and a client that saw a
//!   `date_added` never later finds an object added before it. `(collection, obj_id,
//!   version_key)` is unique: a version already in the collection is kept as first stored
//!   (STIX: an id and a `modified` name one content).
//!
//! The tables have their own version (`meta` key [`SCHEMA_META_KEY`]) and are created, if
//! missing, when a writer opens the log (`CREATE TABLE IF NOT EXISTS`), so a log written
//! before TAXII existed gains them without touching the main schema's version.

use crate::error::Result;

/// `meta` key recording the version of the TAXII tables.
pub const SCHEMA_META_KEY: &str = "taxii_schema_version";
/// Version of the TAXII tables written by this build.
pub const SCHEMA_VERSION: u32 = 1;

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

/// The read side of the TAXII tables, implemented by every backend.
pub trait TaxiiReader: Send + Sync {
    /// Rows matching `q`, at most `q.limit`, in `date_added` order; `with_json: false` leaves
    /// [`TaxiiRow::json`] empty (manifests).
    fn taxii_objects(&self, q: &TaxiiQuery, with_json: bool) -> Result<Vec<TaxiiRow>>;
    /// The status resource with this id and the log index of its publication.
    fn taxii_status(&self, status_id: &str) -> Result<Option<(u64, Vec<u8>)>>;
    /// The request body published with the entry at `index`.
    fn taxii_body(&self, index: u64) -> Result<Option<Vec<u8>>>;
    /// The largest `date_added` stored, if any.
    fn taxii_last_date_added(&self) -> Result<Option<i64>>;
    /// Up to `limit` publications with log index at least `from`, in index order, with their
    /// objects (for copying a log and checking it).
    fn taxii_publications_from(
        &self,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, TaxiiPublication)>>;
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
        let newer_or_older = |op: &str, below: &str| {
            format!(
                "NOT EXISTS (SELECT 1 FROM taxii_objects o2 WHERE o2.collection = o.collection \
                 AND o2.obj_id = o.obj_id AND o2.version_key {op} o.version_key AND o2.idx < {below})"
            )
        };
        if v.last || default_last {
            any.push(newer_or_older(">", &ph(2)));
        }
        if v.first {
            any.push(newer_or_older("<", &ph(2)));
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
