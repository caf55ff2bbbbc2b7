//! Statements: c2sp.org/signed-note texts with a small, line-based header. The exact format, with
//! examples, is in `docs/statements.md`; this module is its implementation.
//!
//! A statement's text is a fixed format line followed by `key value` lines in a fixed order.
//! Which keys a statement has depends on its kind; every other key is refused. The whole signed
//! note is the log entry, and its RFC 6962 leaf hash is the statement's id (`ref` lines name
//! earlier statements by it).

use hotline_tlog::bundle::MAX_ENTRY_SIZE;
use hotline_tlog::note::{NoteSignature, NoteSigner};
use hotline_tlog::{Hash, Note, leaf_hash};
use thiserror::Error;

use crate::vocab::{
    CaseId, Collection, Deadline, DeclineReason, Handling, Justification, Kind, PartyId, PartyKind,
    Priority, RequestType, RevocationReason, Timestamp, Tlp, VocabError,
};

/// First line of every statement.
pub const FORMAT_LINE: &str = "hotline/statement/v1";

/// Why a statement was refused before any signature was looked at.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum StatementError {
    /// The signed note itself is malformed.
    #[error("not a signed note: {0}")]
    Note(#[from] hotline_tlog::note::NoteError),
    /// The statement is larger than a log entry may be.
    #[error("statement of {0} bytes is larger than the 65,535 bytes a log entry may have")]
    TooLarge(usize),
    /// The first line is not the format line.
    #[error("first line must be {FORMAT_LINE:?}")]
    NotAStatement,
    /// A line is not `key value`.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line number in the note text.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// A value is not allowed.
    #[error("line {line}: {source}")]
    BadValue {
        /// 1-based line number in the note text.
        line: usize,
        /// The rule broken.
        source: VocabError,
    },
    /// A line the kind requires is missing.
    #[error("a {kind} statement needs a {key:?} line")]
    Missing {
        /// Statement kind.
        kind: Kind,
        /// Missing key.
        key: &'static str,
    },
    /// A line the kind does not allow is present.
    #[error("a {kind} statement may not have a {key:?} line")]
    NotAllowed {
        /// Statement kind.
        kind: Kind,
        /// Key that must not be there.
        key: &'static str,
    },
    /// Two fields contradict each other.
    #[error("{0}")]
    Inconsistent(String),
}

/// The commitments to a statement's encrypted payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PayloadCommitment {
    /// SHA-256 of the age ciphertext exactly as stored and downloaded.
    pub sha256: Hash,
    /// Size of the ciphertext in bytes.
    pub size: u64,
    /// SHA-256 of the plaintext case document, which contains a random salt.
    pub plaintext_sha256: Hash,
}

/// What a `shared` statement commits to: the TAXII request body exactly as the server
/// received it (a TAXII envelope or a STIX bundle), which the server keeps and serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectsCommitment {
    /// SHA-256 of the body.
    pub sha256: Hash,
    /// Its size in bytes.
    pub size: u64,
    /// How many STIX objects it holds.
    pub count: u64,
}

/// A party's public record in the directory statements.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PartyFields {
    /// Display name.
    pub name: Option<String>,
    /// ISO 3166-1 alpha-2 code.
    pub jurisdiction: Option<String>,
    /// Kind of organisation.
    pub kind: Option<PartyKind>,
    /// Signed-note verifier key the party signs with.
    pub key: Option<String>,
    /// age recipients payloads for the party are encrypted to.
    pub recipients: Vec<String>,
    /// How to reach the party's duty officer.
    pub contact: Option<String>,
}

/// A parsed statement header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Statement {
    /// The hotline's origin (its log's checkpoint origin).
    pub origin: String,
    /// What the statement says.
    pub kind: Kind,
    /// The case (all kinds but the directory kinds).
    pub case: Option<CaseId>,
    /// Who signed it.
    pub author: PartyId,
    /// The other party of the case.
    pub recipient: Option<PartyId>,
    /// When the author made it.
    pub time: Timestamp,
    /// Priority (notice, request).
    pub priority: Option<Priority>,
    /// What is asked for (request).
    pub request_type: Option<RequestType>,
    /// Why an emergency request is one.
    pub justification: Option<Justification>,
    /// Handling code (with a payload).
    pub handling: Option<Handling>,
    /// TLP label of the payload (with a payload).
    pub tlp: Option<Tlp>,
    /// Acknowledge by (request).
    pub ack_by: Option<Timestamp>,
    /// Answer by (request).
    pub answer_by: Option<Timestamp>,
    /// Why declined.
    pub decline_reason: Option<DeclineReason>,
    /// Why revoked.
    pub revocation_reason: Option<RevocationReason>,
    /// Which deadline was missed (overdue).
    pub deadline: Option<Deadline>,
    /// Earlier statements this one answers or concerns, by leaf hash.
    pub refs: Vec<Hash>,
    /// The party a directory statement is about.
    pub party: Option<PartyId>,
    /// Its fields.
    pub party_fields: PartyFields,
    /// Commitments to the encrypted payload.
    pub payload: Option<PayloadCommitment>,
    /// The TAXII collection published to (shared).
    pub collection: Option<Collection>,
    /// The objects published (shared).
    pub objects: Option<ObjectsCommitment>,
}

/// Keys in their fixed order. A statement's lines follow this order; only `ref` and
/// `party-recipient` may repeat.
const ORDER: &[&str] = &[
    "origin",
    "kind",
    "case",
    "author",
    "recipient",
    "time",
    "priority",
    "request-type",
    "justification",
    "handling",
    "tlp",
    "ack-by",
    "answer-by",
    "reason",
    "deadline",
    "ref",
    "party",
    "party-name",
    "jurisdiction",
    "party-kind",
    "party-key",
    "party-recipient",
    "contact",
    "collection",
    "objects-sha256",
    "objects-size",
    "objects-count",
    "payload-sha256",
    "payload-size",
    "plaintext-sha256",
];

fn rank(key: &str) -> Option<usize> {
    ORDER.iter().position(|k| *k == key)
}

/// Whether a key is required (`Some(true)`), optional (`Some(false)`) or not allowed (`None`)
/// for a kind. `ref` counts as required when at least one is needed. `by_operator`: the
/// operator is the author (a `shared` statement then names the party in `party`).
fn rule(
    kind: Kind,
    key: &str,
    has_payload: bool,
    emergency: bool,
    by_operator: bool,
) -> Option<bool> {
    use Kind::*;
    let follow_up = matches!(
        kind,
        Acknowledged | Update | NeedInfo | Answer | Declined | Closed | Withdrawn
    );
    match key {
        "origin" | "kind" | "author" | "time" => Some(true),
        "case" | "recipient" => kind.is_case_kind().then_some(true),
        "priority" => matches!(kind, Notice | Request).then_some(true),
        "request-type" => (kind == Request).then_some(true),
        "justification" => (kind == Request && emergency).then_some(true),
        "tlp" if kind == Shared => Some(true),
        "collection" | "objects-sha256" | "objects-size" | "objects-count" => {
            (kind == Shared).then_some(true)
        }
        "handling" | "tlp" => {
            if matches!(kind, Notice | Request) || (has_payload && kind.may_carry_payload()) {
                Some(true)
            } else {
                None
            }
        }
        "ack-by" | "answer-by" => (kind == Request).then_some(true),
        "reason" => matches!(kind, Declined | PartyRevoked).then_some(true),
        "deadline" => (kind == Overdue).then_some(true),
        "ref" => {
            if follow_up || matches!(kind, Delivered | Overdue) {
                Some(true)
            } else {
                None
            }
        }
        "party" => (kind.is_directory_kind() || (kind == Shared && by_operator)).then_some(true),
        "party-name" | "jurisdiction" | "party-kind" | "contact" => {
            (kind == PartyRegistered).then_some(true)
        }
        "party-key" | "party-recipient" => {
            matches!(kind, PartyRegistered | KeyRotated).then_some(true)
        }
        "payload-sha256" | "payload-size" | "plaintext-sha256" => {
            if matches!(kind, Notice | Request | Update | NeedInfo | Answer) {
                Some(true)
            } else if kind.may_carry_payload() {
                Some(false)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn vocab<T>(line: usize, r: Result<T, VocabError>) -> Result<T, StatementError> {
    r.map_err(|source| StatementError::BadValue { line, source })
}

fn check_free_text(line: usize, what: &'static str, v: &str) -> Result<String, StatementError> {
    if v.is_empty() || v.len() > 200 || v.trim() != v {
        return Err(StatementError::BadValue {
            line,
            source: VocabError {
                what,
                value: v.chars().take(80).collect(),
                expected: "1-200 characters without leading or trailing spaces".into(),
            },
        });
    }
    Ok(v.to_owned())
}

fn no_spaces(line: usize, what: &'static str, v: &str) -> Result<String, StatementError> {
    if v.is_empty() || v.contains(char::is_whitespace) || v.len() > 200 {
        return Err(StatementError::BadValue {
            line,
            source: VocabError {
                what,
                value: v.chars().take(80).collect(),
                expected: "1-200 characters without spaces".into(),
            },
        });
    }
    Ok(v.to_owned())
}

/// A decimal without leading zeros.
fn decimal(line: usize, what: &str, v: &str) -> Result<u64, StatementError> {
    let ok =
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) && (v == "0" || !v.starts_with('0'));
    v.parse()
        .ok()
        .filter(|_| ok)
        .ok_or_else(|| StatementError::BadLine {
            line,
            reason: format!("{what} must be a decimal without leading zeros"),
        })
}

impl Statement {
    /// A statement of `kind` with the fields every statement has; fill the rest before use.
    pub fn new(origin: &str, kind: Kind, author: PartyId, time: Timestamp) -> Statement {
        Statement {
            origin: origin.to_owned(),
            kind,
            case: None,
            author,
            recipient: None,
            time,
            priority: None,
            request_type: None,
            justification: None,
            handling: None,
            tlp: None,
            ack_by: None,
            answer_by: None,
            decline_reason: None,
            revocation_reason: None,
            deadline: None,
            refs: Vec::new(),
            party: None,
            party_fields: PartyFields::default(),
            payload: None,
            collection: None,
            objects: None,
        }
    }

    /// The note text (format line and header lines, each ending in a newline).
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(512);
        out.push_str(FORMAT_LINE);
        out.push('\n');
        let mut line = |k: &str, v: &str| {
            out.push_str(k);
            out.push(' ');
            out.push_str(v);
            out.push('\n');
        };
        line("origin", &self.origin);
        line("kind", self.kind.as_str());
        if let Some(c) = &self.case {
            line("case", c.as_str());
        }
        line("author", self.author.as_str());
        if let Some(r) = &self.recipient {
            line("recipient", r.as_str());
        }
        line("time", &self.time.to_rfc3339());
        if let Some(p) = self.priority {
            line("priority", p.as_str());
        }
        if let Some(t) = self.request_type {
            line("request-type", t.as_str());
        }
        if let Some(j) = self.justification {
            line("justification", j.as_str());
        }
        if let Some(h) = self.handling {
            line("handling", h.as_str());
        }
        if let Some(t) = self.tlp {
            line("tlp", t.as_str());
        }
        if let Some(t) = self.ack_by {
            line("ack-by", &t.to_rfc3339());
        }
        if let Some(t) = self.answer_by {
            line("answer-by", &t.to_rfc3339());
        }
        if let Some(r) = self.decline_reason {
            line("reason", r.as_str());
        }
        if let Some(r) = self.revocation_reason {
            line("reason", r.as_str());
        }
        if let Some(d) = self.deadline {
            line("deadline", d.as_str());
        }
        for r in &self.refs {
            line("ref", &r.to_base64());
        }
        if let Some(p) = &self.party {
            line("party", p.as_str());
        }
        let f = &self.party_fields;
        if let Some(v) = &f.name {
            line("party-name", v);
        }
        if let Some(v) = &f.jurisdiction {
            line("jurisdiction", v);
        }
        if let Some(v) = f.kind {
            line("party-kind", v.as_str());
        }
        if let Some(v) = &f.key {
            line("party-key", v);
        }
        for r in &f.recipients {
            line("party-recipient", r);
        }
        if let Some(v) = &f.contact {
            line("contact", v);
        }
        if let Some(c) = self.collection {
            line("collection", c.as_str());
        }
        if let Some(o) = &self.objects {
            line("objects-sha256", &o.sha256.to_base64());
            line("objects-size", &o.size.to_string());
            line("objects-count", &o.count.to_string());
        }
        if let Some(p) = &self.payload {
            line("payload-sha256", &p.sha256.to_base64());
            line("payload-size", &p.size.to_string());
            line("plaintext-sha256", &p.plaintext_sha256.to_base64());
        }
        out
    }

    /// Parses and checks a statement text (the note text, without signatures).
    pub fn parse_text(text: &str) -> Result<Statement, StatementError> {
        let body = text
            .strip_suffix('\n')
            .ok_or(StatementError::NotAStatement)?;
        let mut lines = body.split('\n');
        if lines.next() != Some(FORMAT_LINE) {
            return Err(StatementError::NotAStatement);
        }
        let mut pairs: Vec<(usize, &str, &str)> = Vec::new();
        let mut last_rank: Option<usize> = None;
        let mut last_key = "";
        for (i, l) in lines.enumerate() {
            let n = i + 2;
            let (k, v) = l.split_once(' ').ok_or_else(|| StatementError::BadLine {
                line: n,
                reason: "expected `key value`".into(),
            })?;
            let r = rank(k).ok_or_else(|| StatementError::BadLine {
                line: n,
                reason: format!("unknown key {:?}", k.chars().take(40).collect::<String>()),
            })?;
            let repeatable = matches!(k, "ref" | "party-recipient");
            let in_order = match last_rank {
                None => true,
                Some(last) => r > last || (r == last && repeatable && k == last_key),
            };
            if !in_order {
                return Err(StatementError::BadLine {
                    line: n,
                    reason: format!("{k:?} is out of order or repeated (see docs/statements.md)"),
                });
            }
            last_rank = Some(r);
            last_key = k;
            pairs.push((n, k, v));
        }
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(_, k, _)| *k == key)
                .map(|(n, _, v)| (*n, *v))
        };
        let parse_at =
            |key: &'static str| -> Result<Option<(usize, &str)>, StatementError> { Ok(get(key)) };

        let (n, kind) = parse_at("kind")?.ok_or(StatementError::BadLine {
            line: 3,
            reason: "missing kind".into(),
        })?;
        let kind: Kind = vocab(n, kind.parse())?;
        let (_, origin) = parse_at("origin")?.ok_or(StatementError::Missing {
            kind,
            key: "origin",
        })?;
        let (n, author) = parse_at("author")?.ok_or(StatementError::Missing {
            kind,
            key: "author",
        })?;
        let author = vocab(n, PartyId::new(author))?;
        let (n, t) = parse_at("time")?.ok_or(StatementError::Missing { kind, key: "time" })?;
        let time = vocab(n, Timestamp::parse(t))?;
        let mut s = Statement::new(&no_spaces(2, "origin", origin)?, kind, author, time);

        for &(n, k, v) in &pairs {
            match k {
                "origin" | "kind" | "author" | "time" => {}
                "case" => s.case = Some(vocab(n, CaseId::new(v))?),
                "recipient" => s.recipient = Some(vocab(n, PartyId::new(v))?),
                "priority" => s.priority = Some(vocab(n, v.parse())?),
                "request-type" => s.request_type = Some(vocab(n, v.parse())?),
                "justification" => s.justification = Some(vocab(n, v.parse())?),
                "handling" => s.handling = Some(vocab(n, v.parse())?),
                "tlp" => s.tlp = Some(vocab(n, v.parse())?),
                "ack-by" => s.ack_by = Some(vocab(n, Timestamp::parse(v))?),
                "answer-by" => s.answer_by = Some(vocab(n, Timestamp::parse(v))?),
                "reason" => {
                    if kind == Kind::PartyRevoked {
                        s.revocation_reason = Some(vocab(n, v.parse())?);
                    } else {
                        s.decline_reason = Some(vocab(n, v.parse())?);
                    }
                }
                "deadline" => s.deadline = Some(vocab(n, v.parse())?),
                "ref" => {
                    s.refs
                        .push(Hash::from_base64(v).ok_or_else(|| StatementError::BadLine {
                            line: n,
                            reason:
                                "ref must be the base64 leaf hash of an earlier statement".into(),
                        })?)
                }
                "party" => s.party = Some(vocab(n, PartyId::new(v))?),
                "party-name" => s.party_fields.name = Some(check_free_text(n, "party name", v)?),
                "jurisdiction" => {
                    if v.len() != 2 || !v.bytes().all(|b| b.is_ascii_uppercase()) {
                        return Err(StatementError::BadValue {
                            line: n,
                            source: VocabError {
                                what: "jurisdiction",
                                value: v.chars().take(20).collect(),
                                expected: "an ISO 3166-1 alpha-2 code such as US".into(),
                            },
                        });
                    }
                    s.party_fields.jurisdiction = Some(v.to_owned());
                }
                "party-kind" => s.party_fields.kind = Some(vocab(n, v.parse())?),
                "party-key" => s.party_fields.key = Some(no_spaces(n, "party key", v)?),
                "party-recipient" => {
                    let r = no_spaces(n, "party recipient", v)?;
                    if !r.starts_with("age1") {
                        return Err(StatementError::BadLine {
                            line: n,
                            reason: "party-recipient must be an age X25519 recipient (age1…)"
                                .into(),
                        });
                    }
                    s.party_fields.recipients.push(r);
                }
                "contact" => s.party_fields.contact = Some(check_free_text(n, "contact", v)?),
                "collection" => s.collection = Some(vocab(n, v.parse())?),
                "payload-sha256" | "payload-size" | "plaintext-sha256" => {}
                "objects-sha256" | "objects-size" | "objects-count" => {}
                _ => {}
            }
        }
        let objects_keys = [
            get("objects-sha256"),
            get("objects-size"),
            get("objects-count"),
        ];
        match objects_keys {
            [None, None, None] => {}
            [Some((n1, h)), Some((n2, size)), Some((n3, count))] => {
                s.objects = Some(ObjectsCommitment {
                    sha256: Hash::from_base64(h).ok_or_else(|| StatementError::BadLine {
                        line: n1,
                        reason: "expected the base64 of a SHA-256 hash".into(),
                    })?,
                    size: decimal(n2, "objects-size", size)?,
                    count: decimal(n3, "objects-count", count)?,
                });
            }
            _ => {
                return Err(StatementError::Inconsistent(
                    "objects-sha256, objects-size and objects-count come together".into(),
                ));
            }
        }
        let payload_keys = [
            get("payload-sha256"),
            get("payload-size"),
            get("plaintext-sha256"),
        ];
        match payload_keys {
            [None, None, None] => {}
            [Some((n1, h)), Some((n2, size)), Some((n3, p))] => {
                let bad_hash = |n: usize| StatementError::BadLine {
                    line: n,
                    reason: "expected the base64 of a SHA-256 hash".into(),
                };
                let size_ok = !size.is_empty()
                    && size.bytes().all(|b| b.is_ascii_digit())
                    && (size == "0" || !size.starts_with('0'));
                s.payload = Some(PayloadCommitment {
                    sha256: Hash::from_base64(h).ok_or_else(|| bad_hash(n1))?,
                    size: size.parse().ok().filter(|_| size_ok).ok_or_else(|| {
                        StatementError::BadLine {
                            line: n2,
                            reason: "payload-size must be a decimal without leading zeros".into(),
                        }
                    })?,
                    plaintext_sha256: Hash::from_base64(p).ok_or_else(|| bad_hash(n3))?,
                });
            }
            _ => {
                return Err(StatementError::Inconsistent(
                    "payload-sha256, payload-size and plaintext-sha256 come together".into(),
                ));
            }
        }
        s.check_shape()?;
        Ok(s)
    }

    /// Checks that exactly the lines this kind needs are present.
    pub fn check_shape(&self) -> Result<(), StatementError> {
        let kind = self.kind;
        let emergency = self.request_type == Some(RequestType::Emergency);
        let has_payload = self.payload.is_some();
        let by_operator = self.author.is_operator();
        let present: [(&'static str, bool); 22] = [
            ("case", self.case.is_some()),
            ("recipient", self.recipient.is_some()),
            ("priority", self.priority.is_some()),
            ("request-type", self.request_type.is_some()),
            ("justification", self.justification.is_some()),
            ("handling", self.handling.is_some()),
            ("tlp", self.tlp.is_some()),
            ("ack-by", self.ack_by.is_some()),
            ("answer-by", self.answer_by.is_some()),
            (
                "reason",
                self.decline_reason.is_some() || self.revocation_reason.is_some(),
            ),
            ("deadline", self.deadline.is_some()),
            ("ref", !self.refs.is_empty()),
            ("party", self.party.is_some()),
            ("party-name", self.party_fields.name.is_some()),
            ("jurisdiction", self.party_fields.jurisdiction.is_some()),
            ("party-kind", self.party_fields.kind.is_some()),
            ("party-key", self.party_fields.key.is_some()),
            ("party-recipient", !self.party_fields.recipients.is_empty()),
            ("contact", self.party_fields.contact.is_some()),
            ("payload-sha256", has_payload),
            ("collection", self.collection.is_some()),
            ("objects-sha256", self.objects.is_some()),
        ];
        for (key, is_there) in present {
            match (
                rule(kind, key, has_payload, emergency, by_operator),
                is_there,
            ) {
                (Some(true), false) => return Err(StatementError::Missing { kind, key }),
                (None, true) => return Err(StatementError::NotAllowed { kind, key }),
                _ => {}
            }
        }
        if kind == Kind::Declined && self.revocation_reason.is_some()
            || kind == Kind::PartyRevoked && self.decline_reason.is_some()
        {
            return Err(StatementError::Inconsistent(
                "reason must be a decline reason for declined and a revocation reason for party-revoked".into(),
            ));
        }
        if self.recipient.as_ref() == Some(&self.author) {
            return Err(StatementError::Inconsistent(format!(
                "author and recipient are both {}",
                self.author
            )));
        }
        if let (Some(ack), Some(ans)) = (self.ack_by, self.answer_by)
            && (ack <= self.time || ans < ack)
        {
            return Err(StatementError::Inconsistent(
                    "deadlines must follow the statement's time, and answer-by must not come before ack-by".into(),
                ));
        }
        if kind == Kind::Delivered && self.refs.len() != 1 {
            return Err(StatementError::Inconsistent(
                "a delivered statement names exactly one delivered statement".into(),
            ));
        }
        if kind == Kind::Shared {
            if !matches!(self.tlp, Some(Tlp::Clear | Tlp::Green)) {
                return Err(StatementError::Inconsistent(
                    "only TLP:CLEAR and TLP:GREEN objects are shared: tlp must be clear or green"
                        .into(),
                ));
            }
            if self.collection == Some(Collection::Public) && self.tlp != Some(Tlp::Clear) {
                return Err(StatementError::Inconsistent(
                    "the public collection takes TLP:CLEAR objects only: tlp must be clear".into(),
                ));
            }
            if self.party.as_ref().is_some_and(PartyId::is_operator) {
                return Err(StatementError::Inconsistent(
                    "a shared statement names the publishing party, never the operator".into(),
                ));
            }
            // docs/statements.md: the body holds at least one object, so neither is 0 (the
            // Go checker of interop/ refuses both as well).
            if self.objects.as_ref().is_some_and(|o| o.count == 0) {
                return Err(StatementError::Inconsistent(
                    "a shared statement publishes at least one object: objects-count must not \
                     be 0"
                        .into(),
                ));
            }
            if self.objects.as_ref().is_some_and(|o| o.size == 0) {
                return Err(StatementError::Inconsistent(
                    "objects-size must not be 0: a body holding at least one object is never \
                     empty"
                        .into(),
                ));
            }
        } else if kind.is_operator_kind() != self.author.is_operator() {
            return Err(StatementError::Inconsistent(if kind.is_operator_kind() {
                format!("only the operator makes {kind} statements")
            } else {
                format!("the operator does not make {kind} statements")
            }));
        }
        if self.payload.as_ref().is_some_and(|p| p.size == 0) {
            return Err(StatementError::Inconsistent(
                "payload-size must not be 0: an age file is never empty".into(),
            ));
        }
        if self.recipient.as_ref().is_some_and(PartyId::is_operator) {
            return Err(StatementError::Inconsistent(
                "the operator is never a case's party".into(),
            ));
        }
        Ok(())
    }
}

/// A statement with its signed note, as it stands in the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedStatement {
    /// The parsed header.
    pub statement: Statement,
    /// The signed note.
    pub note: Note,
    /// The note's bytes: the log entry.
    pub bytes: Vec<u8>,
    /// RFC 6962 leaf hash of the bytes: the statement's id.
    pub id: Hash,
}

impl SignedStatement {
    /// Signs a statement (after checking its shape).
    pub fn sign(
        statement: Statement,
        signers: &[&dyn NoteSigner],
    ) -> Result<SignedStatement, StatementError> {
        statement.check_shape()?;
        let mut note = Note::new(statement.to_text())?;
        for s in signers {
            note.sign(*s);
        }
        Self::from_parts(statement, note)
    }

    /// Adds a signature (e.g. the party's countersignature) and recomputes bytes and id.
    pub fn add_signature(self, sig: NoteSignature) -> Result<SignedStatement, StatementError> {
        let mut note = self.note;
        note.add_signature(sig);
        Self::from_parts(self.statement, note)
    }

    fn from_parts(statement: Statement, note: Note) -> Result<SignedStatement, StatementError> {
        let bytes = note.to_bytes();
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(StatementError::TooLarge(bytes.len()));
        }
        Ok(SignedStatement {
            id: leaf_hash(&bytes),
            statement,
            note,
            bytes,
        })
    }

    /// Parses a log entry as a statement (structure only: signatures are checked against the
    /// directory by [`crate::hotline::Hotline`]).
    pub fn parse(bytes: &[u8]) -> Result<SignedStatement, StatementError> {
        if bytes.len() > MAX_ENTRY_SIZE {
            return Err(StatementError::TooLarge(bytes.len()));
        }
        let note = Note::parse(bytes)?;
        let statement = Statement::parse_text(note.text())?;
        Ok(SignedStatement {
            id: leaf_hash(bytes),
            statement,
            note,
            bytes: bytes.to_vec(),
        })
    }
}
