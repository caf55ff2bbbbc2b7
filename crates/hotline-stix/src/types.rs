//! Common data types: identifiers (§2.9), timestamps (§2.15), type names (§3.1).

use std::cmp::Ordering;
use std::fmt;

/// A STIX identifier `<type>--<UUID>`, checked: the type is a valid type name and the UUID is
/// RFC 4122 (variant `10xx`), lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StixId(String);

impl StixId {
    /// Parses an identifier; `None` when it is not `<type>--<UUID>`.
    pub fn parse(s: &str) -> Option<StixId> {
        let (ty, uuid) = s.rsplit_once("--")?;
        if !is_type_name(ty) || uuid_version(uuid).is_none() {
            return None;
        }
        Some(StixId(s.to_owned()))
    }

    /// The object type part.
    pub fn object_type(&self) -> &str {
        self.0.rsplit_once("--").map(|(t, _)| t).unwrap_or("")
    }

    /// The UUID version (1–8).
    pub fn uuid_version(&self) -> u8 {
        self.0
            .rsplit_once("--")
            .and_then(|(_, u)| uuid_version(u))
            .unwrap_or(0)
    }

    /// The identifier as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StixId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The version of an RFC 4122 UUID in canonical lower-case form, or `None`.
pub(crate) fn uuid_version(s: &str) -> Option<u8> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = if matches!(i, 8 | 13 | 18 | 23) {
            c == b'-'
        } else {
            c.is_ascii_digit() || (b'a'..=b'f').contains(&c)
        };
        if !ok {
            return None;
        }
    }
    // RFC 4122 variant: the first hex digit of the fourth group is 8, 9, a or b.
    if !matches!(b[19], b'8' | b'9' | b'a' | b'b') {
        return None;
    }
    let v = (b[14] as char).to_digit(16)? as u8;
    (1..=8).contains(&v).then_some(v)
}

/// §3.1: a type name is 3–250 characters of `a–z`, `0–9` and `-`, starts with a letter
/// (we also refuse a trailing `-` and `--` inside, which would make ids ambiguous).
pub fn is_type_name(s: &str) -> bool {
    (3..=250).contains(&s.len())
        && s.bytes().next().is_some_and(|c| c.is_ascii_lowercase())
        && s.bytes()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
        && !s.contains("--")
        && !s.ends_with('-')
}

/// §3.1: a property name is 3–250 characters of ASCII letters, digits and `_`. (The `id`
/// property is the one two-letter exception the spec itself defines.)
pub fn is_property_name(s: &str) -> bool {
    s == "id"
        || ((3..=250).contains(&s.len())
            && s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
}

/// A STIX timestamp (§2.15): `YYYY-MM-DDTHH:MM:SS[.s+]Z`, UTC, a real calendar date. Ordered
/// by instant (fractions compared to the nanosecond).
#[derive(Debug, Clone)]
pub struct Timestamp {
    text: String,
    key: (u16, u8, u8, u8, u8, u8, u32),
}

impl Timestamp {
    /// Parses a timestamp; `None` when it is not of the STIX form.
    pub fn parse(s: &str) -> Option<Timestamp> {
        let b = s.as_bytes();
        if b.len() < 20 || b[b.len() - 1] != b'Z' {
            return None;
        }
        let shape = b"dddd-dd-ddTdd:dd:dd";
        for (i, &p) in shape.iter().enumerate() {
            let c = b[i];
            let ok = if p == b'd' {
                c.is_ascii_digit()
            } else {
                c == p
            };
            if !ok {
                return None;
            }
        }
        let num = |r: std::ops::Range<usize>| -> u32 {
            b[r].iter().fold(0, |n, &c| n * 10 + u32::from(c - b'0'))
        };
        let (year, month, day) = (num(0..4), num(5..7), num(8..10));
        let (hour, minute, second) = (num(11..13), num(14..16), num(17..19));
        let rest = &b[19..b.len() - 1];
        let nanos = if rest.is_empty() {
            0
        } else {
            if rest[0] != b'.' || rest.len() < 2 || !rest[1..].iter().all(u8::is_ascii_digit) {
                return None;
            }
            let mut n = 0u32;
            for i in 0..9 {
                n = n * 10 + rest.get(1 + i).map_or(0, |&c| u32::from(c - b'0'));
            }
            n
        };
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let days = match month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if day == 0 || day > days || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let key = (
            year as u16,
            month as u8,
            day as u8,
            hour as u8,
            minute as u8,
            second as u8,
            nanos,
        );
        Some(Timestamp {
            text: s.to_owned(),
            key,
        })
    }

    /// The timestamp as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Timestamp {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Timestamp {}
impl PartialOrd for Timestamp {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timestamp {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
