//! Statistics over the cases of a replayed log: per ordered pair of parties and per calendar
//! month. Pure: no I/O, no clock; the auditor (`hotline audit`) feeds it the [`Hotline`] it
//! rebuilt from a verified log.
//!
//! # Definitions
//!
//! Everything is counted **per case**, and a case belongs to exactly one row:
//!
//! - **pair**: `requester → responder`, the author and the recipient of the case's opening
//!   statement (its `notice` or `request`). The pair is ordered: `a → b` and `b → a` are two rows.
//! - **month**: the calendar month, in UTC, of the opening statement's `time` line (`YYYY-MM`).
//!   A case stays in the month it was opened in, whenever its later statements were made.
//! - **period**: `[since, until)` applies to the opening statement's time; a case opened before
//!   `since` or at or after `until` is not counted at all (none of its statements is).
//!
//! In a row:
//!
//! - `notices`: cases opened by a `notice`;
//! - `requests`: cases opened by a `request`, and `requests_by_type` the same split by the
//!   request's `request-type` (every type of the format is listed, zeros included);
//! - `delivered`: cases whose opening statement the operator recorded as downloaded by the
//!   responder (a `delivered` statement referencing it);
//! - `acknowledged`: cases with at least one `acknowledged` statement;
//! - `answered`: cases with an `answer` statement;
//! - `declined`: cases with a `declined` statement (a case is answered or declined, never both);
//! - `overdue`: cases with at least one `overdue` statement, and `overdue_ack` /
//!   `overdue_answer` those whose acknowledgement / answer deadline was recorded as missed (a
//!   case may count in both);
//! - `time_to_ack`: over the cases counted in `acknowledged` only, the seconds from the opening
//!   statement's time to the **first** `acknowledged` statement's time; `time_to_answer`: over
//!   the cases counted in `answered` only, the seconds from the opening statement's time to the
//!   `answer` statement's time. Cases where it did not happen (yet) are left out, not counted as
//!   infinite: `cases` says how many there were. Times are the authors' `time` lines (the server
//!   accepts them within ±5 minutes of its clock), so a difference can be 0.
//! - `median` and `p90` use the nearest-rank method: the smallest observed value such that at
//!   least 50 % (90 %) of the observations are less than or equal to it, i.e. the value at
//!   1-based rank ⌈p·n/100⌉ of the sorted observations. With an even count the median is the
//!   lower of the two middle values; both are always observed values, in whole seconds, and
//!   absent (`null`) when `cases` is 0.
//!
//! Rows are sorted by requester, responder, then month; pairs and months without any case have
//! no row.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::hotline::Hotline;
use crate::lifecycle::Case;
use crate::vocab::{Kind, PartyId, RequestType, Timestamp};

/// What the statistics need to know about one case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFacts {
    /// Author of the opening statement.
    pub requester: PartyId,
    /// Its recipient.
    pub responder: PartyId,
    /// `Notice` or `Request`.
    pub kind: Kind,
    /// The request's type (requests).
    pub request_type: Option<RequestType>,
    /// Time of the opening statement.
    pub opened: Timestamp,
    /// The opening statement was delivered.
    pub delivered: bool,
    /// Time of the first `acknowledged`.
    pub acknowledged: Option<Timestamp>,
    /// Time of the `answer`.
    pub answered: Option<Timestamp>,
    /// A `declined` was made.
    pub declined: bool,
    /// The acknowledgement deadline was recorded as missed.
    pub overdue_ack: bool,
    /// The answer deadline was recorded as missed.
    pub overdue_answer: bool,
}

impl CaseFacts {
    /// The facts of a replayed case; `opening_delivered` says whether its opening statement
    /// was delivered (see [`facts`] for taking it from a [`Hotline`]).
    pub fn of(case: &Case, opening_delivered: bool) -> CaseFacts {
        let first = |k: Kind| case.steps.iter().find(|s| s.kind == k).map(|s| s.time);
        CaseFacts {
            requester: case.requester.clone(),
            responder: case.responder.clone(),
            kind: case.kind,
            request_type: case.request_type,
            opened: case.opened,
            delivered: opening_delivered,
            acknowledged: first(Kind::Acknowledged),
            answered: first(Kind::Answer),
            declined: first(Kind::Declined).is_some(),
            overdue_ack: case.overdue_ack,
            overdue_answer: case.overdue_answer,
        }
    }
}

/// The facts of every case of a hotline, in no particular order.
pub fn facts(hotline: &Hotline) -> Vec<CaseFacts> {
    hotline
        .cases()
        .map(|c| CaseFacts::of(c, c.opening_delivered))
        .collect()
}

/// The time a case's opening statement must fall in: `[since, until)`, each bound optional.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    /// Inclusive lower bound.
    pub since: Option<Timestamp>,
    /// Exclusive upper bound.
    pub until: Option<Timestamp>,
}

impl Period {
    /// Whether `t` is in the period.
    pub fn contains(&self, t: Timestamp) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t < u)
    }
}

/// Median and 90th percentile of durations, in seconds, over the cases where the event happened.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Durations {
    /// How many cases the figures are over.
    pub cases: u64,
    /// Nearest-rank median, seconds.
    pub median_seconds: Option<i64>,
    /// Nearest-rank 90th percentile, seconds.
    pub p90_seconds: Option<i64>,
}

impl Durations {
    /// The figures of a set of observations.
    pub fn of(mut values: Vec<i64>) -> Durations {
        values.sort_unstable();
        Durations {
            cases: values.len() as u64,
            median_seconds: nearest_rank(&values, 50),
            p90_seconds: nearest_rank(&values, 90),
        }
    }
}

/// The `p`-th percentile (0 < p ≤ 100) of sorted values by the nearest-rank method.
pub fn nearest_rank(sorted: &[i64], p: usize) -> Option<i64> {
    let n = sorted.len();
    if n == 0 {
        return None;
    }
    let rank = (p * n).div_ceil(100).clamp(1, n);
    sorted.get(rank - 1).copied()
}

/// One row: a pair of parties in one month.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Author of the opening statements.
    pub requester: String,
    /// Their recipient.
    pub responder: String,
    /// `YYYY-MM`, UTC, of the opening statements.
    pub month: String,
    /// Cases opened by a notice.
    pub notices: u64,
    /// Cases opened by a request.
    pub requests: u64,
    /// Requests per request type (every type, zeros included).
    pub requests_by_type: BTreeMap<String, u64>,
    /// Cases whose opening statement was delivered.
    pub delivered: u64,
    /// Cases acknowledged at least once.
    pub acknowledged: u64,
    /// Cases answered.
    pub answered: u64,
    /// Cases declined.
    pub declined: u64,
    /// Cases with any missed deadline.
    pub overdue: u64,
    /// Cases whose acknowledgement deadline was missed.
    pub overdue_ack: u64,
    /// Cases whose answer deadline was missed.
    pub overdue_answer: u64,
    /// From opening to first acknowledgement, acknowledged cases only.
    pub time_to_ack: Durations,
    /// From opening to answer, answered cases only.
    pub time_to_answer: Durations,
}

/// The calendar month (UTC) of a time, as `YYYY-MM`.
pub fn month_of(t: Timestamp) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t.unix()) {
        Ok(d) => format!("{:04}-{:02}", d.year(), u8::from(d.month())),
        Err(_) => "invalid".to_owned(),
    }
}

/// The calendar month (UTC) of a time as one number (year × 12 + month − 1): equal for two
/// times iff [`month_of`] is.
fn month_number(t: Timestamp) -> i64 {
    match time::OffsetDateTime::from_unix_timestamp(t.unix()) {
        Ok(d) => i64::from(d.year()) * 12 + i64::from(u8::from(d.month())) - 1,
        Err(_) => i64::MIN,
    }
}

/// Parses a period bound: `YYYY-MM` (the first of the month), `YYYY-MM-DD` (midnight), or a
/// statement time (`2021-07-03T10:00:00Z`), all UTC.
pub fn parse_bound(s: &str) -> Result<Timestamp, String> {
    let bad = || format!("{s:?} is not a date: use YYYY-MM, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
    if s.contains('T') {
        return Timestamp::parse(s).map_err(|_| bad());
    }
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| {
        (p.len() == len && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<i32>().ok())
            .flatten()
    };
    let (y, m, d) = match parts.as_slice() {
        [y, m] => (num(y, 4), num(m, 2), Some(1)),
        [y, m, d] => (num(y, 4), num(m, 2), num(d, 2)),
        _ => return Err(bad()),
    };
    let (Some(y), Some(m), Some(d)) = (y, m, d) else {
        return Err(bad());
    };
    let month = u8::try_from(m)
        .ok()
        .and_then(|m| time::Month::try_from(m).ok())
        .ok_or_else(bad)?;
    let day = u8::try_from(d).map_err(|_| bad())?;
    let date = time::Date::from_calendar_date(y, month, day).map_err(|_| bad())?;
    Ok(Timestamp::from_unix(
        date.midnight().assume_utc().unix_timestamp(),
    ))
}

/// The rows of a set of cases within a period.
pub fn rows(cases: &[CaseFacts], period: Period) -> Vec<Row> {
    // Grouped by borrowed ids and the month as a number: no allocation per case (an audit
    // groups hundreds of thousands). Rows are then sorted as strings, as they are printed.
    let mut groups: HashMap<(&str, &str, i64), Vec<&CaseFacts>, foldhash::fast::RandomState> =
        HashMap::default();
    for c in cases.iter().filter(|c| period.contains(c.opened)) {
        let key = (
            c.requester.as_str(),
            c.responder.as_str(),
            month_number(c.opened),
        );
        groups.entry(key).or_default().push(c);
    }
    type Key = (String, String, String);
    let mut groups: Vec<(Key, Vec<&CaseFacts>)> = groups
        .into_iter()
        .map(|((requester, responder, _), cases)| {
            let month = cases
                .first()
                .map_or_else(String::new, |c| month_of(c.opened));
            ((requester.to_owned(), responder.to_owned(), month), cases)
        })
        .collect();
    groups.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    groups
        .into_iter()
        .map(|((requester, responder, month), cases)| {
            let count =
                |f: &dyn Fn(&CaseFacts) -> bool| cases.iter().filter(|c| f(c)).count() as u64;
            let mut requests_by_type: BTreeMap<String, u64> = RequestType::ALL
                .iter()
                .map(|t| (t.as_str().to_owned(), 0))
                .collect();
            for c in cases.iter().filter(|c| c.kind == Kind::Request) {
                if let Some(t) = c.request_type {
                    *requests_by_type.entry(t.as_str().to_owned()).or_default() += 1;
                }
            }
            let since_opened = |at: fn(&CaseFacts) -> Option<Timestamp>| {
                Durations::of(
                    cases
                        .iter()
                        .filter_map(|c| at(c).map(|t| t.unix() - c.opened.unix()))
                        .collect(),
                )
            };
            Row {
                requester,
                responder,
                month,
                notices: count(&|c| c.kind == Kind::Notice),
                requests: count(&|c| c.kind == Kind::Request),
                requests_by_type,
                delivered: count(&|c| c.delivered),
                acknowledged: count(&|c| c.acknowledged.is_some()),
                answered: count(&|c| c.answered.is_some()),
                declined: count(&|c| c.declined),
                overdue: count(&|c| c.overdue_ack || c.overdue_answer),
                overdue_ack: count(&|c| c.overdue_ack),
                overdue_answer: count(&|c| c.overdue_answer),
                time_to_ack: since_opened(|c| c.acknowledged),
                time_to_answer: since_opened(|c| c.answered),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn p(s: &str) -> PartyId {
        PartyId::new(s).unwrap()
    }

    fn request(from: &str, to: &str, opened: &str, ty: RequestType) -> CaseFacts {
        CaseFacts {
            requester: p(from),
            responder: p(to),
            kind: Kind::Request,
            request_type: Some(ty),
            opened: t(opened),
            delivered: false,
            acknowledged: None,
            answered: None,
            declined: false,
            overdue_ack: false,
            overdue_answer: false,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(nearest_rank(&[], 50), None);
        assert_eq!(nearest_rank(&[7], 50), Some(7));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[1, 2, 3, 4], 50), Some(2));
        assert_eq!(nearest_rank(&[1, 2, 3], 50), Some(2));
        let ten: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&ten, 90), Some(9));
        let eleven: Vec<i64> = (1..=11).collect();
        assert_eq!(nearest_rank(&eleven, 90), Some(10));
        assert_eq!(nearest_rank(&ten, 100), Some(10));
        assert_eq!(
            Durations::of(vec![30, 10, 20]),
            Durations {
                cases: 3,
                median_seconds: Some(20),
                p90_seconds: Some(30)
            }
        );
    }

    #[test]
    fn bounds_and_months() {
        assert_eq!(parse_bound("2021-07").unwrap(), t("2021-07-01T00:00:00Z"));
        assert_eq!(
            parse_bound("2021-07-03").unwrap(),
            t("2021-07-03T00:00:00Z")
        );
        assert_eq!(
            parse_bound("2021-07-03T10:00:00Z").unwrap(),
            t("2021-07-03T10:00:00Z")
        );
        for bad in [
            "2021",
            "2021-13",
            "2021-02-30",
            "21-07",
            "2021-7",
            "x",
            "2021-07-03T10:00",
        ] {
            assert!(parse_bound(bad).is_err(), "{bad}");
        }
        assert_eq!(month_of(t("2021-07-31T23:59:59Z")), "2021-07");
        assert_eq!(month_of(t("2021-08-01T00:00:00Z")), "2021-08");
        let period = Period {
            since: Some(t("2021-07-01T00:00:00Z")),
            until: Some(t("2021-08-01T00:00:00Z")),
        };
        assert!(period.contains(t("2021-07-01T00:00:00Z")));
        assert!(!period.contains(t("2021-08-01T00:00:00Z")));
        assert!(!period.contains(t("2021-06-30T23:59:59Z")));
        assert!(Period::default().contains(t("1970-01-01T00:00:00Z")));
    }

    #[test]
    fn rows_per_pair_and_month() {
        use RequestType::*;
        let mut a = request("us-cisa", "ru-nkcki", "2021-07-03T10:00:00Z", Investigation);
        a.delivered = true;
        a.acknowledged = Some(t("2021-07-03T10:30:00Z"));
        a.answered = Some(t("2021-07-04T11:00:00Z"));
        a.overdue_answer = true;
        let mut b = request("us-cisa", "ru-nkcki", "2021-07-20T00:00:00Z", Takedown);
        b.delivered = true;
        b.acknowledged = Some(t("2021-07-20T00:10:00Z"));
        b.declined = true;
        let mut c = request("us-cisa", "ru-nkcki", "2021-07-21T00:00:00Z", Investigation);
        c.overdue_ack = true;
        c.overdue_answer = true;
        let mut notice = request("us-cisa", "ru-nkcki", "2021-07-22T00:00:00Z", Takedown);
        notice.kind = Kind::Notice;
        notice.request_type = None;
        notice.delivered = true;
        notice.acknowledged = Some(t("2021-07-22T00:00:05Z"));
        // The other direction, the next month, and one outside the period.
        let d = request("ru-nkcki", "us-cisa", "2021-07-05T00:00:00Z", Preservation);
        let e = request("us-cisa", "ru-nkcki", "2021-08-01T00:00:00Z", Preservation);
        let f = request("us-cisa", "ru-nkcki", "2021-06-30T23:59:59Z", Preservation);
        let all = [a, b, c, notice, d, e, f];
        let period = Period {
            since: Some(t("2021-07-01T00:00:00Z")),
            until: None,
        };
        let rows = rows(&all, period);
        let keys: Vec<(&str, &str, &str)> = rows
            .iter()
            .map(|r| (r.requester.as_str(), r.responder.as_str(), r.month.as_str()))
            .collect();
        assert_eq!(
            keys,
            [
                ("ru-nkcki", "us-cisa", "2021-07"),
                ("us-cisa", "ru-nkcki", "2021-07"),
                ("us-cisa", "ru-nkcki", "2021-08"),
            ]
        );
        let r = &rows[1];
        assert_eq!(
            (r.notices, r.requests, r.delivered, r.acknowledged),
            (1, 3, 3, 3)
        );
        assert_eq!((r.answered, r.declined), (1, 1));
        assert_eq!((r.overdue, r.overdue_ack, r.overdue_answer), (2, 1, 2));
        assert_eq!(r.requests_by_type["investigation"], 2);
        assert_eq!(r.requests_by_type["takedown"], 1);
        assert_eq!(r.requests_by_type["preservation"], 0);
        assert_eq!(r.requests_by_type.len(), RequestType::ALL.len());
        // Acknowledged after 1800 s, 600 s and 5 s: median 600, p90 1800.
        assert_eq!(
            r.time_to_ack,
            Durations {
                cases: 3,
                median_seconds: Some(600),
                p90_seconds: Some(1800)
            }
        );
        assert_eq!(
            r.time_to_answer,
            Durations {
                cases: 1,
                median_seconds: Some(25 * 3600),
                p90_seconds: Some(25 * 3600)
            }
        );
        let other = &rows[0];
        assert_eq!((other.requests, other.acknowledged), (1, 0));
        assert_eq!(other.time_to_ack, Durations::default());
        // With an upper bound, August disappears.
        let july = Period {
            since: period.since,
            until: Some(t("2021-08-01T00:00:00Z")),
        };
        assert_eq!(super::rows(&all, july).len(), 2);
    }

    /// The examples of `docs/statements.md`, replayed as a tiny log.
    #[test]
    fn a_replayed_log() {
        let doc = include_str!("../../../docs/statements.md");
        let mut h = Hotline::new("hotline.geneva.example/log", Default::default());
        let mut block: Option<String> = None;
        for line in doc.lines() {
            match (&mut block, line) {
                (None, "```statement") => block = Some(String::new()),
                (Some(b), "```") => {
                    let s = crate::SignedStatement::parse(b.as_bytes()).unwrap();
                    h.apply(&s).unwrap();
                    block = None;
                }
                (Some(b), l) => {
                    b.push_str(l);
                    b.push('\n');
                }
                (None, _) => {}
            }
        }
        let rows = rows(&facts(&h), Period::default());
        assert_eq!(rows.len(), 1);
        let r = &rows[0];
        assert_eq!(
            (r.requester.as_str(), r.responder.as_str(), r.month.as_str()),
            ("us-cisa", "ru-nkcki", "2021-07")
        );
        assert_eq!(
            (r.notices, r.requests, r.requests_by_type["emergency"]),
            (0, 1, 1)
        );
        assert_eq!(
            (r.delivered, r.acknowledged, r.answered, r.declined),
            (1, 1, 1, 0)
        );
        assert_eq!((r.overdue, r.overdue_ack, r.overdue_answer), (1, 0, 1));
        assert_eq!(r.time_to_ack.median_seconds, Some(1800));
        assert_eq!(r.time_to_answer.p90_seconds, Some(25 * 3600));
    }
}
