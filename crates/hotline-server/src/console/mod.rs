//! The web console: server-rendered HTML for auditors and the public (log status, statistics
//! as charts, a browser of log entries with in-browser verification of any entry's inclusion),
//! and the officer views, whose cryptography runs in the browser.
//!
//! - Public pages work without JavaScript: askama templates (`templates/`, checked at compile
//!   time), charts as inline SVG ([`charts`]), every string in `i18n/<lang>.toml` ([`i18n`]).
//! - The officer views (`/officer`) load one script, `console/assets/hotline-console.js`: the
//!   officer's code with `@noble/curves` (Ed25519) and `age-encryption` bundled by esbuild and
//!   committed, so `cargo build` needs no npm (`console/README.md` says how to rebuild it). The
//!   key file is read into the page's memory and never uploaded: the server receives only
//!   signed statements and age ciphertext, through the same JSON API as the CLI.
//! - Assets are served under content-addressed names (`/assets/hotline-console.<hash>.js`)
//!   with immutable caching; pages carry a strict Content-Security-Policy (`script-src 'self'`,
//!   no inline script: the strings reach the script as a JSON data block).

pub mod charts;
pub mod i18n;

use std::sync::{Arc, OnceLock};

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hotline_core::SignedStatement;
use hotline_core::stats::{self, CaseFacts, Period};
use hotline_tlog::Hash;
use hotline_tlog::note::NoteVerifier as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::AppState;
use i18n::{LANG_COOKIE, Lang, escape};

/// The bundled script of the console (officer views, in-browser verification).
pub const CONSOLE_JS: &[u8] = include_bytes!("../../console/assets/hotline-console.js");
/// The console's stylesheet.
pub const CONSOLE_CSS: &[u8] = include_bytes!("../../console/static/console.css");

/// Entries per page of the log browser.
pub const ENTRIES_PER_PAGE: u64 = 50;

struct Asset {
    name: String,
    bytes: &'static [u8],
    content_type: &'static str,
}

fn assets() -> &'static [Asset; 2] {
    static ASSETS: OnceLock<[Asset; 2]> = OnceLock::new();
    ASSETS.get_or_init(|| {
        let named = |stem: &str, ext: &str, bytes: &'static [u8], content_type| {
            let h = Sha256::digest(bytes);
            let hex: String = h.iter().take(6).map(|b| format!("{b:02x}")).collect();
            Asset {
                name: format!("{stem}.{hex}.{ext}"),
                bytes,
                content_type,
            }
        };
        [
            named(
                "hotline-console",
                "js",
                CONSOLE_JS,
                "text/javascript; charset=utf-8",
            ),
            named("console", "css", CONSOLE_CSS, "text/css; charset=utf-8"),
        ]
    })
}

/// URL of the console script (content-addressed).
pub fn js_url() -> String {
    format!("/assets/{}", assets()[0].name)
}

/// URL of the stylesheet (content-addressed).
pub fn css_url() -> String {
    format!("/assets/{}", assets()[1].name)
}

/// The console's routes (merged into the server's router).
pub fn routes(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/status", get(status))
        .route("/stats", get(stats_page))
        .route("/entries", get(entries))
        .route("/entries/{index}", get(entry))
        .route("/officer", get(officer))
        .route("/assets/{name}", get(asset))
        .with_state(state)
}

/// What every page shows around its content.
pub struct Chrome {
    lang: Lang,
    /// BCP 47 code of the page's language.
    pub lang_code: &'static str,
    /// `ltr` or `rtl`.
    pub dir: &'static str,
    /// The language the switch offers.
    pub other_lang: &'static str,
    /// Which navigation entry is current.
    pub section: &'static str,
    /// The log's origin.
    pub origin: String,
    /// Stylesheet URL.
    pub css_url: String,
    /// Script URL.
    pub js_url: String,
    /// The language's strings, for the script.
    pub strings_json: String,
}

impl Chrome {
    fn new(lang: Lang, section: &'static str, origin: String) -> Chrome {
        Chrome {
            lang,
            lang_code: lang.code(),
            dir: lang.dir(),
            other_lang: lang.other().code(),
            section,
            origin,
            css_url: css_url(),
            js_url: js_url(),
            strings_json: if matches!(section, "officer" | "entries") {
                lang.strings().to_embedded_json()
            } else {
                String::new()
            },
        }
    }

    /// The text of a translation key in the page's language.
    pub fn t<'a>(&self, key: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.lang.strings().get(key)
    }
}

/// `?lang=` of every page.
#[derive(Deserialize, Default)]
pub struct LangQuery {
    lang: Option<String>,
}

fn html(page: impl Template, lang: Lang, set_cookie: bool) -> Response {
    match page.render() {
        Ok(body) => {
            let mut resp = (StatusCode::OK, body).into_response();
            let h = resp.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(
                header::CONTENT_LANGUAGE,
                HeaderValue::from_static(lang.code()),
            );
            h.insert(
                header::VARY,
                HeaderValue::from_static("Accept-Language, Cookie"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(
                    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
                     frame-ancestors 'none'",
                ),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("no-referrer"),
            );
            if set_cookie
                && let Ok(v) = HeaderValue::from_str(&format!(
                    "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                    lang.code()
                ))
            {
                h.insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            tracing::error!(error = %e, "rendering a console page failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "internal error: the page could not be rendered\n",
            )
                .into_response()
        }
    }
}

fn lang_of(q: &LangQuery, headers: &HeaderMap) -> (Lang, bool) {
    let lang = Lang::negotiate(q.lang.as_deref(), headers);
    let chosen = q.lang.as_deref().and_then(Lang::from_code).is_some();
    (lang, chosen)
}

fn origin_of(state: &AppState) -> String {
    match &state.service {
        Some(s) => s.origin(),
        None => state
            .view
            .snapshot()
            .checkpoint
            .as_ref()
            .map(|c| c.checkpoint.origin.clone())
            .unwrap_or_default(),
    }
}

fn page_error(lang: Lang, status: StatusCode, key: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{}\n", lang.strings().get(key)),
    )
        .into_response()
}

/// The old text index, for clients that do not ask for HTML (curl).
const TEXT_INDEX: &str = "hotline transparency log\n\n\
     checkpoint:  /log/checkpoint\n\
     tiles:       /log/tile/<L>/<N>[.p/<W>]  (c2sp.org/tlog-tiles)\n\
     entries:     /log/tile/entries/<N>[.p/<W>]\n\
     proofs:      /log/proof/inclusion?index=I[&size=S] | ?leaf_hash=H[&size=S]\n\
     \x20            /log/proof/consistency?old=A[&new=B]\n\
     console:     / (HTML), /status, /stats, /entries, /officer\n";

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    c: Chrome,
    size: String,
    parties: String,
    cases: String,
}

async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !wants_html {
        return (
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            TEXT_INDEX,
        )
            .into_response();
    }
    let (lang, chosen) = lang_of(&q, &headers);
    let (parties, cases) = state.service.as_ref().map_or((0, 0), |s| {
        s.read(|h| (h.directory().len() as u64, h.cases().count() as u64))
    });
    let page = HomePage {
        c: Chrome::new(lang, "home", origin_of(&state)),
        size: lang.number(state.view.snapshot().size()),
        parties: lang.number(parties),
        cases: lang.number(cases),
    };
    html(page, lang, chosen)
}

struct WitnessRow {
    name: String,
    vkey: String,
    cosigned: String,
}

struct PartyRow {
    id: String,
    name: String,
    jurisdiction: String,
    kind: String,
    state: String,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    c: Chrome,
    size: String,
    signed_at: String,
    log_vkey: String,
    checkpoint: String,
    policy: String,
    witnesses: Vec<WitnessRow>,
    directory: Vec<PartyRow>,
}

async fn status(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let (lang, chosen) = lang_of(&q, &headers);
    let s = lang.strings();
    let snap = state.view.snapshot();
    let (checkpoint, signed_at) = match &snap.checkpoint {
        Some(cp) => (
            String::from_utf8_lossy(&cp.note).into_owned(),
            lang.time_html(cp.created_ms / 1000),
        ),
        None => (String::new(), "—".to_owned()),
    };
    let mut witnesses = Vec::new();
    let mut policy = String::new();
    if let Some(w) = &state.witnessing {
        let latest = w.latest();
        let note = latest
            .as_ref()
            .and_then(|l| hotline_tlog::Note::parse(&l.note).ok());
        policy = s
            .get("status.policy")
            .replace("{required}", &lang.number(w.policy().required as u64))
            .replace("{total}", &lang.number(w.policy().witnesses.len() as u64));
        for spec in &w.policy().witnesses {
            let cosigned = note
                .as_ref()
                .and_then(|n| {
                    n.signatures().iter().find_map(|sig| {
                        (sig.name == spec.verifier.name() && sig.key_id == spec.verifier.key_id())
                            .then(|| spec.verifier.verified_timestamp(n.text(), &sig.signature))
                            .flatten()
                    })
                })
                .map(|ts| {
                    format!(
                        "{} ({} {})",
                        lang.time_html(ts as i64),
                        escape(s.get("status.at_size")),
                        lang.number(latest.as_ref().map_or(0, |l| l.size))
                    )
                })
                .unwrap_or_else(|| escape(s.get("status.not_cosigned")));
            witnesses.push(WitnessRow {
                name: spec.name.clone(),
                vkey: spec.verifier.to_vkey(),
                cosigned,
            });
        }
    }
    let directory = state.service.as_ref().map_or_else(Vec::new, |svc| {
        svc.read(|h| {
            h.directory()
                .iter()
                .map(|p| PartyRow {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    jurisdiction: p.jurisdiction.clone(),
                    kind: s.get(&format!("party_kind.{}", p.kind)).to_owned(),
                    state: if p.revoked.is_some() {
                        s.get("party.revoked").to_owned()
                    } else {
                        s.get("party.active").to_owned()
                    },
                })
                .collect()
        })
    });
    let page = StatusPage {
        c: Chrome::new(lang, "status", origin_of(&state)),
        size: lang.number(snap.size()),
        signed_at,
        log_vkey: state.view.reader().log_vkey().to_owned(),
        checkpoint,
        policy,
        witnesses,
        directory,
    };
    html(page, lang, chosen)
}

/// A row of figures in a table.
struct FigureRow {
    label: String,
    values: Vec<String>,
    extra: String,
}

struct PairOption {
    value: String,
    label: String,
}

#[derive(Template)]
#[template(path = "stats.html")]
struct StatsPage {
    c: Chrome,
    none_message: String,
    pairs: Vec<PairOption>,
    selected: String,
    series: Vec<String>,
    months: Vec<FigureRow>,
    pair_rows: Vec<FigureRow>,
    tta: Vec<FigureRow>,
    month_chart: String,
    pair_chart: String,
    tta_chart: String,
}

/// Query of `/stats`.
#[derive(Deserialize, Default)]
pub struct StatsQuery {
    lang: Option<String>,
    /// `requester>responder`, or empty for every pair.
    pair: Option<String>,
}

/// The series every statistics chart shows, in order.
const SERIES: [&str; 5] = [
    "stats.requests",
    "stats.acknowledged",
    "stats.answered",
    "stats.declined",
    "stats.overdue",
];

/// Time-to-answer buckets: upper bounds in seconds (the last is open).
const TTA_BUCKETS: [(i64, &str); 6] = [
    (3_600, "stats.bucket_1h"),
    (6 * 3_600, "stats.bucket_6h"),
    (24 * 3_600, "stats.bucket_1d"),
    (3 * 86_400, "stats.bucket_3d"),
    (7 * 86_400, "stats.bucket_7d"),
    (i64::MAX, "stats.bucket_more"),
];

fn row_values(r: &stats::Row) -> [u64; 5] {
    [
        r.requests + r.notices,
        r.acknowledged,
        r.answered,
        r.declined,
        r.overdue,
    ]
}

async fn stats_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<StatsQuery>,
) -> Response {
    let lq = LangQuery {
        lang: q.lang.clone(),
    };
    let (lang, chosen) = lang_of(&lq, &headers);
    let s = lang.strings();
    let Some(service) = &state.service else {
        return page_error(lang, StatusCode::NOT_FOUND, "error.not_a_hotline");
    };
    let all: Vec<CaseFacts> = service.read(stats::facts);
    let rows = stats::rows(&all, Period::default());
    let mut pairs: Vec<(String, String)> = rows
        .iter()
        .map(|r| (r.requester.clone(), r.responder.clone()))
        .collect();
    pairs.dedup();
    let selected = q.pair.clone().unwrap_or_default();
    let selected_pair = selected.split_once('>');
    // An unknown or malformed pair matches nothing (and the page says so), never everything.
    let in_pair = |req: &str, resp: &str| {
        selected.is_empty() || selected_pair.is_some_and(|(a, b)| a == req && b == resp)
    };
    // Per month over the selected pairs.
    let mut months: std::collections::BTreeMap<String, [u64; 5]> = Default::default();
    for r in rows.iter().filter(|r| in_pair(&r.requester, &r.responder)) {
        let m = months.entry(r.month.clone()).or_default();
        for (acc, v) in m.iter_mut().zip(row_values(r)) {
            *acc += v;
        }
    }
    let month_label = |m: &str| {
        let (y, mo) = m.split_once('-').unwrap_or((m, "0"));
        let mo: u8 = mo.parse().unwrap_or(0);
        format!("{} {}", s.get(&format!("month.{mo}")), lang.digits(y))
    };
    let series: Vec<String> = SERIES.iter().map(|k| s.get(k).to_owned()).collect();
    let month_groups: Vec<(String, Vec<u64>)> = months
        .iter()
        .map(|(m, v)| (month_label(m), v.to_vec()))
        .collect();
    // Per pair, every month.
    let mut per_pair: Vec<(String, [u64; 5], Vec<i64>)> = Vec::new();
    for (a, b) in &pairs {
        if !in_pair(a, b) {
            continue;
        }
        let mut v = [0u64; 5];
        for r in rows
            .iter()
            .filter(|r| &r.requester == a && &r.responder == b)
        {
            for (acc, x) in v.iter_mut().zip(row_values(r)) {
                *acc += x;
            }
        }
        let answers: Vec<i64> = all
            .iter()
            .filter(|c| c.requester.as_str() == a && c.responder.as_str() == b)
            .filter_map(|c| c.answered.map(|t| t.unix() - c.opened.unix()))
            .collect();
        per_pair.push((format!("{a} → {b}"), v, answers));
    }
    let pair_groups: Vec<(String, Vec<u64>)> = per_pair
        .iter()
        .map(|(l, v, _)| (l.clone(), v.to_vec()))
        .collect();
    // Time to answer over the selected pairs.
    let mut buckets = [0u64; 6];
    for c in all
        .iter()
        .filter(|c| in_pair(c.requester.as_str(), c.responder.as_str()))
    {
        if let Some(t) = c.answered {
            let d = t.unix() - c.opened.unix();
            let i = TTA_BUCKETS
                .iter()
                .position(|(max, _)| d < *max)
                .unwrap_or(5);
            buckets[i] += 1;
        }
    }
    let tta_groups: Vec<(String, Vec<u64>)> = TTA_BUCKETS
        .iter()
        .zip(buckets)
        .map(|((_, k), n)| (s.get(k).to_owned(), vec![n]))
        .collect();
    let fmt_row = |label: String, v: &[u64], extra: String| FigureRow {
        label,
        values: v.iter().map(|x| lang.number(*x)).collect(),
        extra,
    };
    let none_message = if all.is_empty() {
        s.get("stats.none").to_owned()
    } else {
        s.get("stats.none_pair").to_owned()
    };
    let page = StatsPage {
        none_message,
        month_chart: charts::grouped_bars(lang, s.get("stats.per_month"), &series, &month_groups),
        pair_chart: charts::grouped_bars(lang, s.get("stats.per_pair"), &series, &pair_groups),
        tta_chart: charts::grouped_bars(
            lang,
            s.get("stats.time_to_answer"),
            &[s.get("stats.answered").to_owned()],
            &tta_groups,
        ),
        months: month_groups
            .iter()
            .map(|(l, v)| fmt_row(l.clone(), v, String::new()))
            .collect(),
        pair_rows: per_pair
            .iter()
            .map(|(l, v, answers)| {
                let median = stats::Durations::of(answers.clone()).median_seconds;
                fmt_row(
                    l.clone(),
                    v,
                    median.map_or_else(|| "—".to_owned(), |m| lang.duration(m)),
                )
            })
            .collect(),
        tta: tta_groups
            .iter()
            .map(|(l, v)| FigureRow {
                label: l.clone(),
                values: Vec::new(),
                extra: lang.number(v[0]),
            })
            .collect(),
        pairs: pairs
            .iter()
            .map(|(a, b)| PairOption {
                value: format!("{a}>{b}"),
                label: format!("{a} → {b}"),
            })
            .collect(),
        selected,
        series,
        c: Chrome::new(lang, "stats", origin_of(&state)),
    };
    html(page, lang, chosen)
}

struct EntryRow {
    index: u64,
    index_label: String,
    kind: String,
    author: String,
    recipient: String,
    case: String,
    time: String,
}

#[derive(Template)]
#[template(path = "entries.html")]
struct EntriesPage {
    c: Chrome,
    from: u64,
    range_caption: String,
    rows: Vec<EntryRow>,
    prev: Option<u64>,
    next: Option<u64>,
}

/// Query of `/entries`.
#[derive(Deserialize, Default)]
pub struct EntriesQuery {
    lang: Option<String>,
    /// First index shown.
    from: Option<String>,
}

fn kind_label(lang: Lang, kind: &str) -> String {
    lang.strings().get(&format!("kind.{kind}")).to_owned()
}

async fn entries(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<EntriesQuery>,
) -> Response {
    let (lang, chosen) = lang_of(
        &LangQuery {
            lang: q.lang.clone(),
        },
        &headers,
    );
    let snap = state.view.snapshot();
    let size = snap.size();
    let from = match q.from.as_deref().map(str::trim) {
        None | Some("") => size.saturating_sub(ENTRIES_PER_PAGE),
        Some(f) => match f.parse::<u64>() {
            Ok(f) => f.min(size.saturating_sub(1)),
            Err(_) => {
                return page_error(lang, StatusCode::BAD_REQUEST, "error.bad_index");
            }
        },
    };
    let to = (from + ENTRIES_PER_PAGE).min(size);
    let view = state.view.clone();
    let read = tokio::task::spawn_blocking(move || {
        let mut out = Vec::new();
        view.for_each_entry(&snap, from, to, |i, e| {
            out.push((i, SignedStatement::parse(e).ok()));
            Ok(())
        })
        .map(|()| out)
    })
    .await;
    let list = match read {
        Ok(Ok(list)) => list,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading entries for the console");
            return page_error(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.storage");
        }
        Err(e) => {
            tracing::error!(error = %e, "reading entries for the console");
            return page_error(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.storage");
        }
    };
    let rows = list
        .into_iter()
        .map(|(i, st)| match st {
            Some(st) => {
                let s = &st.statement;
                EntryRow {
                    index: i,
                    index_label: lang.number(i),
                    kind: kind_label(lang, s.kind.as_str()),
                    author: s.author.to_string(),
                    recipient: s
                        .recipient
                        .as_ref()
                        .or(s.party.as_ref())
                        .map_or_else(String::new, ToString::to_string),
                    case: s
                        .case
                        .as_ref()
                        .map_or_else(String::new, ToString::to_string),
                    time: lang.time_html(s.time.unix()),
                }
            }
            None => EntryRow {
                index: i,
                index_label: lang.number(i),
                kind: lang.strings().get("entries.not_statement").to_owned(),
                author: String::new(),
                recipient: String::new(),
                case: String::new(),
                time: String::new(),
            },
        })
        .collect();
    let range_caption = lang
        .strings()
        .get("entries.range")
        .replace("{from}", &lang.number(from))
        .replace("{to}", &lang.number(to.saturating_sub(1)))
        .replace("{size}", &lang.number(size));
    let page = EntriesPage {
        c: Chrome::new(lang, "entries", origin_of(&state)),
        from,
        range_caption,
        rows,
        prev: (from > 0).then(|| from.saturating_sub(ENTRIES_PER_PAGE)),
        next: (to < size).then_some(to),
    };
    html(page, lang, chosen)
}

#[derive(Template)]
#[template(path = "entry.html")]
struct EntryPage {
    c: Chrome,
    index: u64,
    index_label: String,
    kind: String,
    id: String,
    tree_size: String,
    statement: String,
    proof: Vec<String>,
    checkpoint: String,
    log_vkey: String,
}

async fn entry(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(index): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let (lang, chosen) = lang_of(&q, &headers);
    let Ok(index) = index.parse::<u64>() else {
        return page_error(lang, StatusCode::NOT_FOUND, "error.bad_index");
    };
    let snap = state.view.snapshot();
    let Some(cp) = snap.checkpoint.clone() else {
        return page_error(lang, StatusCode::NOT_FOUND, "error.no_entry");
    };
    if index >= snap.size() {
        return page_error(lang, StatusCode::NOT_FOUND, "error.no_entry");
    }
    let view = state.view.clone();
    let size = snap.size();
    let read = tokio::task::spawn_blocking(move || {
        let mut bytes = Vec::new();
        view.for_each_entry(&snap, index, index + 1, |_, e| {
            bytes = e.to_vec();
            Ok(())
        })?;
        let proof = view
            .inclusion_proof(&snap, index, size)
            .map_err(|e| hotline_store::StoreError::Corrupt(e.to_string()))?;
        Ok::<_, hotline_store::StoreError>((bytes, proof))
    })
    .await;
    let (bytes, proof) = match read {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "reading an entry for the console");
            return page_error(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.storage");
        }
        Err(e) => {
            tracing::error!(error = %e, "reading an entry for the console");
            return page_error(lang, StatusCode::INTERNAL_SERVER_ERROR, "error.storage");
        }
    };
    let kind = SignedStatement::parse(&bytes).map_or_else(
        |_| lang.strings().get("entries.not_statement").to_owned(),
        |s| kind_label(lang, s.statement.kind.as_str()),
    );
    let page = EntryPage {
        c: Chrome::new(lang, "entries", origin_of(&state)),
        index,
        index_label: lang.number(index),
        kind,
        id: hotline_tlog::leaf_hash(&bytes).to_base64(),
        tree_size: lang.number(size),
        statement: String::from_utf8_lossy(&bytes).into_owned(),
        proof: proof.iter().map(Hash::to_base64).collect(),
        checkpoint: String::from_utf8_lossy(&cp.note).into_owned(),
        log_vkey: state.view.reader().log_vkey().to_owned(),
    };
    html(page, lang, chosen)
}

#[derive(Template)]
#[template(path = "officer.html")]
struct OfficerPage {
    c: Chrome,
    log_vkey: String,
    /// The witness policy as JSON (`{"required": k, "witnesses": [{"name", "vkey"}]}`).
    witnesses: String,
}

async fn officer(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<LangQuery>,
) -> Response {
    let (lang, chosen) = lang_of(&q, &headers);
    if state.service.is_none() {
        return page_error(lang, StatusCode::NOT_FOUND, "error.not_a_hotline");
    }
    let witnesses = match &state.witnessing {
        Some(w) => serde_json::json!({
            "required": w.policy().required,
            "witnesses": w.policy().witnesses.iter().map(|s| serde_json::json!({
                "name": s.name, "vkey": s.verifier.to_vkey()
            })).collect::<Vec<_>>(),
        }),
        None => serde_json::json!({"required": 0, "witnesses": []}),
    };
    let page = OfficerPage {
        c: Chrome::new(lang, "officer", origin_of(&state)),
        log_vkey: state.view.reader().log_vkey().to_owned(),
        witnesses: witnesses.to_string(),
    };
    html(page, lang, chosen)
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets().iter().find(|a| a.name == name) {
        Some(a) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(a.content_type),
                ),
                (
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("public, max-age=31536000, immutable"),
                ),
                (
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                ),
            ],
            a.bytes,
        )
            .into_response(),
        None => crate::text_404(format!(
            "no asset {:?}: the console's assets are {} and {}",
            name.chars().take(80).collect::<String>(),
            js_url(),
            css_url()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The embedded bundle is the one whose hash `npm run build` recorded (the byte-for-byte
    /// rebuild from the lockfile is `node build.mjs --check`, run by `cargo xtask
    /// console-browser` where node is installed).
    #[test]
    fn the_bundle_is_the_recorded_build() {
        let recorded = include_str!("../../console/assets/hotline-console.js.sha256");
        let hex: String = Sha256::digest(CONSOLE_JS)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            recorded.split_whitespace().next(),
            Some(hex.as_str()),
            "console/assets/hotline-console.js is not the recorded build: run `cargo xtask console-assets`"
        );
    }
}
