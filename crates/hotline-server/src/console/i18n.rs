//! Languages of the console: English and Arabic, every string in a translation file
//! (`crates/hotline-server/i18n/<lang>.toml`, embedded at compile time), numbers and dates
//! written in the reader's locale.
//!
//! The language comes from, in order: a `?lang=` query (the visible switch on every page, which
//! also sets the `hotline_lang` cookie), the `hotline_lang` cookie, the browser's
//! `Accept-Language` (the first supported language by quality), and English.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::HeaderMap;
use axum::http::header;

/// A language the console speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// English, left to right.
    En,
    /// Arabic, right to left.
    Ar,
}

/// Every language, in the order a switch lists them.
pub const LANGS: [Lang; 2] = [Lang::En, Lang::Ar];

/// The cookie that remembers the language chosen with the switch.
pub const LANG_COOKIE: &str = "hotline_lang";

const EN: &str = include_str!("../../i18n/en.toml");
const AR: &str = include_str!("../../i18n/ar.toml");

impl Lang {
    /// BCP 47 code.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }

    /// `ltr` or `rtl`.
    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::Ar => "rtl",
        }
    }

    /// The language a code names, if supported (`ar-EG` is Arabic, `en-GB` English).
    pub fn from_code(code: &str) -> Option<Lang> {
        let primary = code.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }

    /// The other language (for the switch).
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ar,
            Lang::Ar => Lang::En,
        }
    }

    /// The language of a request: `?lang=`, then the cookie, then `Accept-Language`.
    pub fn negotiate(query_lang: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(l) = query_lang.and_then(Lang::from_code) {
            return l;
        }
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| *k == LANG_COOKIE)
            .and_then(|(_, v)| Lang::from_code(v));
        if let Some(l) = cookie {
            return l;
        }
        headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(accept_language)
            .unwrap_or(Lang::En)
    }

    /// This language's strings.
    pub fn strings(self) -> &'static Strings {
        static TABLES: OnceLock<[Strings; 2]> = OnceLock::new();
        let tables = TABLES.get_or_init(|| {
            [
                Strings::parse(EN).unwrap_or_default(),
                Strings::parse(AR).unwrap_or_default(),
            ]
        });
        match self {
            Lang::En => &tables[0],
            Lang::Ar => &tables[1],
        }
    }

    /// An integer with this locale's digits and grouping (what `Intl.NumberFormat` writes).
    pub fn number(self, n: u64) -> String {
        let digits = n.to_string();
        let (sep, zero) = match self {
            Lang::En => (',', '0'),
            // Arabic-Indic digits and the Arabic thousands separator U+066C.
            Lang::Ar => ('\u{066C}', '\u{0660}'),
        };
        let mut out = String::with_capacity(digits.len() * 3);
        for (i, d) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(sep);
            }
            out.push(localize_digit(d, zero));
        }
        out
    }

    /// A signed integer, as [`Lang::number`].
    pub fn signed(self, n: i64) -> String {
        if n < 0 {
            format!("-{}", self.number(n.unsigned_abs()))
        } else {
            self.number(n as u64)
        }
    }

    /// Digits of a text (dates, sizes) in this locale's numerals.
    pub fn digits(self, s: &str) -> String {
        match self {
            Lang::En => s.to_owned(),
            Lang::Ar => s.chars().map(|c| localize_digit(c, '\u{0660}')).collect(),
        }
    }

    /// A UTC time (seconds since the epoch) as `3 Jul 2021, 10:00 UTC` in this language, inside
    /// a `<time>` element carrying the machine-readable form. Returns HTML.
    pub fn time_html(self, unix: i64) -> String {
        let Ok(t) = time_from_unix(unix) else {
            return String::from("—");
        };
        let month = self
            .strings()
            .get(&format!("month.{}", u8::from(t.month())))
            .to_owned();
        let text = format!(
            "{} {} {}{} {:02}:{:02} UTC",
            self.digits(&t.day().to_string()),
            month,
            self.digits(&t.year().to_string()),
            if self == Lang::Ar { "،" } else { "," },
            t.hour(),
            t.minute()
        );
        let text = self.digits(&text);
        format!(
            "<time datetime=\"{}\">{}</time>",
            hotline_core::vocab::Timestamp::from_unix(unix).to_rfc3339(),
            escape(&text)
        )
    }

    /// A duration in seconds as the largest two units (`1 d 4 h`), in this language.
    pub fn duration(self, secs: i64) -> String {
        let s = self.strings();
        let neg = secs < 0;
        let mut left = secs.unsigned_abs();
        let units = [
            (86_400, "unit.day"),
            (3_600, "unit.hour"),
            (60, "unit.minute"),
            (1, "unit.second"),
        ];
        let mut parts = Vec::new();
        for (size, key) in units {
            if left >= size || (parts.is_empty() && size == 1) {
                parts.push(format!("{} {}", self.number(left / size), s.get(key)));
                left %= size;
            }
            if parts.len() == 2 {
                break;
            }
        }
        let text = parts.join(" ");
        if neg { format!("-{text}") } else { text }
    }
}

fn time_from_unix(unix: i64) -> Result<time::OffsetDateTime, time::error::ComponentRange> {
    time::OffsetDateTime::from_unix_timestamp(unix)
}

fn localize_digit(c: char, zero: char) -> char {
    match c.to_digit(10) {
        Some(d) => char::from_u32(zero as u32 + d).unwrap_or(c),
        None => c,
    }
}

/// The best supported language of an `Accept-Language` header (RFC 9110 §12.5.4).
pub fn accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(u32, Lang)> = None;
    for (pos, item) in header.split(',').enumerate() {
        let mut parts = item.split(';');
        let Some(code) = parts.next() else { continue };
        let q = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let Some(lang) = Lang::from_code(code.trim()) else {
            continue;
        };
        if q <= 0.0 {
            continue;
        }
        // Higher quality wins; among equals, the earlier one.
        let score = (q * 1000.0) as u32 * 1000 + (999 - pos.min(999) as u32);
        if best.is_none_or(|(s, _)| score > s) {
            best = Some((score, lang));
        }
    }
    best.map(|(_, l)| l)
}

/// HTML-escapes text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One language's strings: dotted keys (`nav.status`) to text.
#[derive(Debug, Default)]
pub struct Strings {
    map: BTreeMap<String, String>,
}

impl Strings {
    /// Parses a translation file: TOML tables of strings, flattened to dotted keys.
    pub fn parse(text: &str) -> Result<Strings, String> {
        let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut map = BTreeMap::new();
        flatten("", &table, &mut map)?;
        Ok(Strings { map })
    }

    /// The text of a key; the key itself if missing (a test keeps every key present).
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        self.map.get(key).map_or(key, String::as_str)
    }

    /// Every key.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// The whole table as JSON, safe to embed in a `<script type="application/json">`.
    pub fn to_embedded_json(&self) -> String {
        serde_json::to_string(&self.map)
            .unwrap_or_else(|_| "{}".to_owned())
            .replace('<', "\\u003c")
            .replace('>', "\\u003e")
            .replace('&', "\\u0026")
    }
}

fn flatten(
    prefix: &str,
    table: &toml::Table,
    out: &mut BTreeMap<String, String>,
) -> Result<(), String> {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            toml::Value::Table(t) => flatten(&key, t, out)?,
            _ => return Err(format!("{key}: translations must be strings")),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn both_files_parse_and_have_the_same_keys() {
        let en = Strings::parse(EN).unwrap();
        let ar = Strings::parse(AR).unwrap();
        let en_keys: Vec<_> = en.keys().collect();
        let ar_keys: Vec<_> = ar.keys().collect();
        let missing_ar: Vec<_> = en_keys.iter().filter(|k| !ar_keys.contains(k)).collect();
        let missing_en: Vec<_> = ar_keys.iter().filter(|k| !en_keys.contains(k)).collect();
        assert!(
            missing_ar.is_empty(),
            "not translated to Arabic: {missing_ar:?}"
        );
        assert!(missing_en.is_empty(), "only in Arabic: {missing_en:?}");
        for k in en.keys() {
            assert!(!ar.get(k).trim().is_empty(), "empty Arabic string {k}");
        }
    }

    #[test]
    fn every_key_used_by_templates_and_script_exists() {
        let en = Strings::parse(EN).unwrap();
        let sources = [
            include_str!("../../templates/base.html"),
            include_str!("../../templates/home.html"),
            include_str!("../../templates/status.html"),
            include_str!("../../templates/stats.html"),
            include_str!("../../templates/entries.html"),
            include_str!("../../templates/entry.html"),
            include_str!("../../templates/officer.html"),
            include_str!("../../console/src/app.js"),
            include_str!("../../console/src/verify.js"),
            include_str!("mod.rs"),
            include_str!("charts.rs"),
        ];
        let mut used = 0;
        for src in sources {
            for (open, close) in [("t(\"", "\")"), ("get(\"", "\")")] {
                let mut rest = src;
                while let Some(i) = rest.find(open) {
                    rest = &rest[i + open.len()..];
                    let Some(j) = rest.find(close) else { break };
                    let key = &rest[..j];
                    if key.contains('.') && !key.contains(['{', ' ', '"']) {
                        used += 1;
                        assert!(
                            en.map.contains_key(key),
                            "translation key {key:?} is missing"
                        );
                    }
                    rest = &rest[j..];
                }
            }
        }
        assert!(used > 100, "found only {used} uses of translation keys");
    }

    #[test]
    fn accept_language_picks_the_best_supported() {
        assert_eq!(accept_language("ar-EG,ar;q=0.9,en;q=0.8"), Some(Lang::Ar));
        assert_eq!(accept_language("fr-FR,en;q=0.5,ar;q=0.4"), Some(Lang::En));
        assert_eq!(accept_language("de,ar;q=0"), None);
        assert_eq!(accept_language("en;q=0.2, ar;q=0.7"), Some(Lang::Ar));
    }

    #[test]
    fn numbers_and_times_in_each_locale() {
        assert_eq!(Lang::En.number(10_000), "10,000");
        assert_eq!(Lang::Ar.number(10_000), "١٠٬٠٠٠");
        assert_eq!(Lang::En.number(7), "7");
        assert_eq!(Lang::Ar.signed(-1234), "-١٬٢٣٤");
        let t = Lang::En.time_html(1_625_306_400);
        assert!(t.contains("3 Jul 2021, 10:00 UTC"), "{t}");
        assert!(t.contains("datetime=\"2021-07-03T10:00:00Z\""), "{t}");
        let t = Lang::Ar.time_html(1_625_306_400);
        assert!(t.contains("٣ يوليو ٢٠٢١، ١٠:٠٠ UTC"), "{t}");
        assert_eq!(Lang::En.duration(90_061), "1 d 1 h");
    }
}
