//! The closed vocabularies of the statement header: identifiers, times and the code lists
//! (kinds, priorities, request types, handling codes, TLP labels, reasons).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A value in a statement header that is not one of the allowed ones.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("{what} {value:?} is not valid: {expected}")]
pub struct VocabError {
    /// Which field.
    pub what: &'static str,
    /// The value given (cut to 80 characters).
    pub value: String,
    /// What is allowed.
    pub expected: String,
}

fn vocab_error(what: &'static str, value: &str, expected: impl Into<String>) -> VocabError {
    VocabError {
        what,
        value: value.chars().take(80).collect(),
        expected: expected.into(),
    }
}

/// Defines a closed code list with its wire spelling.
macro_rules! code_list {
    ($(#[$doc:meta])* $name:ident, $what:literal, { $($(#[$vdoc:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant),+
        }

        impl $name {
            /// Every value, in the order the format lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire spelling.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = VocabError;
            fn from_str(s: &str) -> Result<Self, VocabError> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(vocab_error(
                        $what,
                        s,
                        format!("one of {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }
    };
}

code_list!(
    /// What a statement says.
    Kind, "kind", {
        /// For information; opens a case.
        Notice => "notice",
        /// Assistance wanted, with deadlines; opens a case.
        Request => "request",
        /// Operator: the recipient's client downloaded the statement's payload.
        Delivered => "delivered",
        /// Recipient: received and being handled.
        Acknowledged => "acknowledged",
        /// Either side: more information.
        Update => "update",
        /// Recipient: asks the requester for more information.
        NeedInfo => "need-info",
        /// Recipient: findings and actions taken.
        Answer => "answer",
        /// Recipient: will not act, with a reason code.
        Declined => "declined",
        /// Operator: a deadline passed without the statement it waited for.
        Overdue => "overdue",
        /// Requester: the case is finished.
        Closed => "closed",
        /// Requester: the case is withdrawn.
        Withdrawn => "withdrawn",
        /// Operator (countersigned by the party): a party joins the hotline.
        PartyRegistered => "party-registered",
        /// Operator (signed by the new key): a party's keys change.
        KeyRotated => "key-rotated",
        /// Operator: a party's keys may no longer sign.
        PartyRevoked => "party-revoked",
        /// A party published STIX objects to a TAXII collection of the hotline: signed by the
        /// party (`hotline share`), or by the operator naming the party whose API credential
        /// posted them (a plain TAXII client).
        Shared => "shared",
    }
);

impl Kind {
    /// Statements about a case (everything but the directory kinds and `shared`).
    pub fn is_case_kind(self) -> bool {
        !self.is_directory_kind() && self != Kind::Shared
    }

    /// Statements that change the party directory.
    pub fn is_directory_kind(self) -> bool {
        matches!(
            self,
            Kind::PartyRegistered | Kind::KeyRotated | Kind::PartyRevoked
        )
    }

    /// Statements only the operator signs as author. (`shared` is not one: a party signs it,
    /// or the operator records, under its own signature, what a party's credential posted.)
    pub fn is_operator_kind(self) -> bool {
        matches!(self, Kind::Delivered | Kind::Overdue) || self.is_directory_kind()
    }

    /// Statements that may carry an encrypted payload.
    pub fn may_carry_payload(self) -> bool {
        matches!(
            self,
            Kind::Notice
                | Kind::Request
                | Kind::Acknowledged
                | Kind::Update
                | Kind::NeedInfo
                | Kind::Answer
                | Kind::Declined
                | Kind::Closed
                | Kind::Withdrawn
        )
    }
}

code_list!(
    /// How fast an answer is needed; sets the default deadlines.
    Priority, "priority", {
        /// Imminent risk: acknowledge within 1 h, answer within 24 h by default.
        Emergency => "emergency",
        /// Acknowledge within 24 h, answer within 7 days by default.
        Urgent => "urgent",
        /// Acknowledge within 72 h, answer within 30 days by default.
        Routine => "routine",
    }
);

code_list!(
    /// What a request asks for (Budapest Convention and its Second Protocol).
    RequestType, "request type", {
        /// Expedited preservation of stored data.
        Preservation => "preservation",
        /// Subscriber information.
        SubscriberInfo => "subscriber-info",
        /// Traffic data.
        TrafficData => "traffic-data",
        /// Takedown of infrastructure.
        Takedown => "takedown",
        /// Investigation of the infrastructure or actors described.
        Investigation => "investigation",
        /// Emergency assistance: needs a justification code.
        Emergency => "emergency",
        /// Follow-up by formal mutual legal assistance.
        MlaFollowUp => "mla-follow-up",
    }
);

code_list!(
    /// Why an emergency request is an emergency (public; details go in the payload).
    Justification, "justification", {
        /// A significant and imminent risk to the life of a natural person.
        ImminentRiskToLife => "imminent-risk-to-life",
        /// A significant and imminent risk to the safety of a natural person.
        ImminentRiskToSafety => "imminent-risk-to-safety",
    }
);

code_list!(
    /// Handling code in the style of Europol's SIENA.
    Handling, "handling code", {
        /// H0: may be used in judicial proceedings.
        H0 => "H0",
        /// H1: not for use in judicial proceedings without the sender's permission.
        H1 => "H1",
        /// H2: not to be disseminated without the sender's permission.
        H2 => "H2",
        /// H3: other restrictions, stated in the payload.
        H3 => "H3",
    }
);

code_list!(
    /// FIRST Traffic Light Protocol 2.0 label of the payload.
    Tlp, "TLP label", {
        /// TLP:CLEAR.
        Clear => "clear",
        /// TLP:GREEN.
        Green => "green",
        /// TLP:AMBER.
        Amber => "amber",
        /// TLP:AMBER+STRICT.
        AmberStrict => "amber+strict",
        /// TLP:RED.
        Red => "red",
    }
);

code_list!(
    /// Why a recipient declines a request.
    DeclineReason, "decline reason", {
        /// The recipient has no competence for this.
        NotCompetent => "not-competent",
        /// Not enough information to act on.
        InsufficientInformation => "insufficient-information",
        /// The law of the recipient's jurisdiction does not allow it.
        LegalObstacle => "legal-obstacle",
        /// The conduct is not an offence in the recipient's jurisdiction.
        NoDualCriminality => "no-dual-criminality",
        /// The recipient lacks the resources.
        Resources => "resources",
        /// Already handled under another case.
        Duplicate => "duplicate",
        /// Other reasons, given in the payload.
        Other => "other",
    }
);

code_list!(
    /// Which deadline an `overdue` statement records as missed.
    Deadline, "deadline", {
        /// The acknowledgement deadline.
        Ack => "ack",
        /// The answer deadline.
        Answer => "answer",
    }
);

code_list!(
    /// What kind of organisation a party is.
    PartyKind, "party kind", {
        /// A national CERT or CSIRT.
        NationalCert => "national-cert",
        /// A police 24/7 point of contact (Budapest Convention art. 35).
        LawEnforcement247 => "law-enforcement-24-7",
        /// An information sharing and analysis centre.
        Isac => "isac",
        /// A company's security team.
        Company => "company",
        /// The hotline's operator.
        Operator => "operator",
        /// Anything else.
        Other => "other",
    }
);

code_list!(
    /// The TAXII collection a `shared` statement published to.
    Collection, "collection", {
        /// The collection every registered party reads and writes (TLP:CLEAR and TLP:GREEN).
        Shared => "shared",
        /// The collection anyone reads without credentials (TLP:CLEAR only).
        Public => "public",
        /// The publishing party's own collection: every party reads it, only its owner writes
        /// (TLP:CLEAR and TLP:GREEN).
        Own => "own",
    }
);

code_list!(
    /// Why a party's keys were revoked.
    RevocationReason, "revocation reason", {
        /// The private key may be known to others.
        Compromised => "compromised",
        /// The party left the hotline.
        Retired => "retired",
        /// Other reasons.
        Other => "other",
    }
);

/// The operator's reserved party id.
pub const OPERATOR: &str = "operator";

/// A party id: lowercase ASCII letters, digits and `-`, 1–63 characters, starting with a letter
/// or digit (`us-cisa`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyId(String);

impl PartyId {
    /// Parses a party id.
    pub fn new(s: &str) -> Result<PartyId, VocabError> {
        let ok = !s.is_empty()
            && s.len() <= 63
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(PartyId(s.to_owned()))
        } else {
            Err(vocab_error(
                "party id",
                s,
                "1-63 lowercase letters, digits and '-', not starting with '-'",
            ))
        }
    }

    /// The operator's id.
    pub fn operator() -> PartyId {
        PartyId(OPERATOR.to_owned())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the operator.
    pub fn is_operator(&self) -> bool {
        self.0 == OPERATOR
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for PartyId {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, VocabError> {
        PartyId::new(s)
    }
}

/// A case id: `YYYYMMDD-` and 12 lowercase hex digits, chosen by the requester's client
/// (`20210703-3f9a1c2b7d4e`). Held inline (its length is fixed): every statement of a case
/// names it, and a replay keeps it in several places per statement, so it costs no
/// allocation. Ordered as its text.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CaseId([u8; CASE_ID_LEN]);

/// Bytes of a case id.
const CASE_ID_LEN: usize = 21;

impl fmt::Debug for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CaseId").field(&self.as_str()).finish()
    }
}

impl CaseId {
    /// Parses a case id.
    pub fn new(s: &str) -> Result<CaseId, VocabError> {
        let valid = <[u8; CASE_ID_LEN]>::try_from(s.as_bytes())
            .ok()
            .filter(|b| {
                b[..8].iter().all(u8::is_ascii_digit)
                    && b[8] == b'-'
                    && b[9..]
                        .iter()
                        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
            });
        if let Some(bytes) = valid {
            Ok(CaseId(bytes))
        } else {
            Err(vocab_error(
                "case id",
                s,
                "YYYYMMDD- followed by 12 lowercase hex digits",
            ))
        }
    }

    /// A fresh random case id for a case opened at `time`.
    pub fn generate(time: Timestamp) -> CaseId {
        let date = time.to_rfc3339();
        let mut r = [0u8; 6];
        rand::fill(&mut r);
        let hex: String = r.iter().map(|b| format!("{b:02x}")).collect();
        let text = format!("{}{}{}-{hex}", &date[0..4], &date[5..7], &date[8..10]);
        let mut bytes = [b'0'; CASE_ID_LEN];
        for (to, from) in bytes.iter_mut().zip(text.bytes()) {
            *to = from;
        }
        CaseId(bytes)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Always ASCII: `new` checked it, `generate` wrote it.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for CaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CaseId {
    type Err = VocabError;
    fn from_str(s: &str) -> Result<Self, VocabError> {
        CaseId::new(s)
    }
}

/// A point in time with second precision, written in RFC 3339 UTC (`2021-07-03T10:00:00Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// From seconds since the Unix epoch.
    pub fn from_unix(secs: i64) -> Timestamp {
        Timestamp(secs)
    }

    /// The current time of this machine.
    pub fn now() -> Timestamp {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Timestamp(secs)
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }

    /// This time plus `secs` seconds.
    pub fn plus(self, secs: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }

    /// The canonical text form.
    pub fn to_rfc3339(self) -> String {
        let fmt =
            time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
        time::OffsetDateTime::from_unix_timestamp(self.0)
            .ok()
            .and_then(|t| t.format(&fmt).ok())
            .unwrap_or_else(|| "invalid-time".to_owned())
    }

    /// Parses the canonical form only: UTC, `Z`, whole seconds — exactly the strings
    /// [`Timestamp::to_rfc3339`] writes (`YYYY-MM-DDTHH:MM:SSZ`, a real date and time).
    pub fn parse(s: &str) -> Result<Timestamp, VocabError> {
        Timestamp::parse_canonical(s.as_bytes()).ok_or_else(|| {
            vocab_error(
                "time",
                s,
                "RFC 3339 UTC with whole seconds, like 2021-07-03T10:00:00Z",
            )
        })
    }

    /// Every statement has a time or three, so this is read field by field rather than by a
    /// general RFC 3339 parser and a formatting back to compare (`tests::timestamps` checks
    /// that both accept the same strings).
    fn parse_canonical(b: &[u8]) -> Option<Timestamp> {
        let b: &[u8; 20] = b.try_into().ok()?;
        let separators = [
            (4, b'-'),
            (7, b'-'),
            (10, b'T'),
            (13, b':'),
            (16, b':'),
            (19, b'Z'),
        ];
        if separators.iter().any(|(at, c)| b[*at] != *c) {
            return None;
        }
        let number = |from: usize, to: usize| -> Option<u16> {
            b[from..to].iter().try_fold(0u16, |n, d| {
                d.is_ascii_digit().then(|| n * 10 + u16::from(d - b'0'))
            })
        };
        let month = time::Month::try_from(u8::try_from(number(5, 7)?).ok()?).ok()?;
        let date = time::Date::from_calendar_date(
            i32::from(number(0, 4)?),
            month,
            u8::try_from(number(8, 10)?).ok()?,
        )
        .ok()?;
        let time = time::Time::from_hms(
            u8::try_from(number(11, 13)?).ok()?,
            u8::try_from(number(14, 16)?).ok()?,
            u8::try_from(number(17, 19)?).ok()?,
        )
        .ok()?;
        Some(Timestamp(
            time::PrimitiveDateTime::new(date, time)
                .assume_utc()
                .unix_timestamp(),
        ))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The general way: RFC 3339 parsed, then formatted back and compared.
    fn parse_by_formatting_back(s: &str) -> Option<Timestamp> {
        let t =
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
        let ts = Timestamp(t.unix_timestamp());
        (ts.to_rfc3339() == s).then_some(ts)
    }

    #[test]
    fn timestamps() {
        for s in [
            "2021-07-03T10:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "2024-02-29T12:00:00Z",
            "2023-02-29T12:00:00Z",
            "2021-07-03T24:00:00Z",
            "2021-07-03T10:60:00Z",
            "2021-07-03T10:00:60Z",
            "2021-13-03T10:00:00Z",
            "2021-00-03T10:00:00Z",
            "2021-07-00T10:00:00Z",
            "2021-07-03t10:00:00Z",
            "2021-07-03T10:00:00z",
            "2021-07-03T10:00:00+00:00",
            "2021-07-03T10:00:00.0Z",
            "2021-07-03 10:00:00Z",
            "+021-07-03T10:00:00Z",
            "2021-07-03T10:00:0Z",
            "2021-7-03T10:00:00Z",
            "2021-07-03T10:00:00Z\n",
            "",
        ] {
            assert_eq!(
                Timestamp::parse(s).ok(),
                parse_by_formatting_back(s),
                "{s:?}"
            );
        }
        assert!(Timestamp::parse("2024-02-29T12:00:00Z").is_ok());
        assert!(Timestamp::parse("2023-02-29T12:00:00Z").is_err());
    }

    proptest::proptest! {
        #[test]
        fn timestamps_parse_as_by_formatting_back(
            secs in -62_167_219_200i64..253_402_300_800,
            edits in proptest::collection::vec(
                (0usize..20, proptest::sample::select(b"0123456789-:TZtz +.".to_vec())),
                0..3,
            ),
        ) {
            let canonical = Timestamp(secs).to_rfc3339();
            proptest::prop_assert_eq!(Timestamp::parse(&canonical).ok(), Some(Timestamp(secs)));
            let mut bytes = canonical.into_bytes();
            for (at, b) in edits {
                bytes[at] = b;
            }
            let s = String::from_utf8_lossy(&bytes);
            proptest::prop_assert_eq!(Timestamp::parse(&s).ok(), parse_by_formatting_back(&s));
        }
    }

    #[test]
    fn code_lists_round_trip() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>().unwrap(), *k);
        }
        for t in Tlp::ALL {
            assert_eq!(t.as_str().parse::<Tlp>().unwrap(), *t);
        }
        let e = "urgentt".parse::<Priority>().unwrap_err();
        assert!(
            e.to_string().contains("one of emergency, urgent, routine"),
            "{e}"
        );
    }

    #[test]
    fn ids_are_strict() {
        assert!(PartyId::new("us-cisa").is_ok());
        for bad in ["", "US-CISA", "-x", "a b", "a+b", &"x".repeat(64)] {
            assert!(PartyId::new(bad).is_err(), "{bad:?}");
        }
        let c = CaseId::generate(Timestamp::parse("2021-07-03T10:00:00Z").unwrap());
        assert!(c.as_str().starts_with("20210703-"), "{c}");
        assert_eq!(CaseId::new(c.as_str()).unwrap(), c);
        for bad in [
            "20210703-3F9A1C2B7D4E",
            "20210703-3f9a",
            "2021070X-3f9a1c2b7d4e",
        ] {
            assert!(CaseId::new(bad).is_err(), "{bad:?}");
        }
        for bad in [
            "20210703-3f9a1c2b7d4e0",
            "20210703-3f9a1c2b7d4",
            "20210703_3f9a1c2b7d4e",
        ] {
            assert!(CaseId::new(bad).is_err(), "{bad:?}");
        }
        // Held as bytes, shown and ordered as text.
        let (a, b) = (
            CaseId::new("20210703-3f9a1c2b7d4e").unwrap(),
            CaseId::new("20210703-3f9a1c2b7d4f").unwrap(),
        );
        assert_eq!(format!("{a:?}"), "CaseId(\"20210703-3f9a1c2b7d4e\")");
        assert_eq!(a.to_string(), "20210703-3f9a1c2b7d4e");
        assert!(a < b && CaseId::new("20210702-ffffffffffff").unwrap() < a);
    }

    #[test]
    fn times_are_canonical_utc_seconds() {
        let t = Timestamp::parse("2021-07-03T10:00:00Z").unwrap();
        assert_eq!(t.unix(), 1_625_306_400);
        assert_eq!(t.to_rfc3339(), "2021-07-03T10:00:00Z");
        for bad in [
            "2021-07-03T10:00:00+00:00",
            "2021-07-03T10:00:00.5Z",
            "2021-07-03 10:00:00Z",
            "yesterday",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad}");
        }
    }
}
