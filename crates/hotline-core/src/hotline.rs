//! The hotline's state: the directory and every case, built by applying statements in log
//! order. The same rules serve the server (before a statement is sequenced) and the auditor
//! (when replaying a downloaded log).

use std::collections::HashMap;

use hotline_tlog::note::NoteVerifier;
use hotline_tlog::{Ed25519Verifier, Hash, Note};
use thiserror::Error;

use crate::directory::{Directory, KeyEpoch, PartyEntry};
use crate::lifecycle::{Case, LifecycleError, Step};
use crate::statement::{SignedStatement, Statement, StatementError};
use crate::vocab::{CaseId, Deadline, Kind, PartyId, Priority, Timestamp};

/// Default deadlines per priority (acknowledge within, answer within), in seconds; configurable
/// per hotline. A request may set later deadlines, never earlier ones.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadlinePolicy {
    /// Emergency: acknowledge, answer.
    pub emergency: (i64, i64),
    /// Urgent: acknowledge, answer.
    pub urgent: (i64, i64),
    /// Routine: acknowledge, answer.
    pub routine: (i64, i64),
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        const H: i64 = 3600;
        DeadlinePolicy {
            emergency: (H, 24 * H),
            urgent: (24 * H, 7 * 24 * H),
            routine: (72 * H, 30 * 24 * H),
        }
    }
}

impl std::fmt::Display for DeadlinePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "emergency={}:{},urgent={}:{},routine={}:{}",
            self.emergency.0,
            self.emergency.1,
            self.urgent.0,
            self.urgent.1,
            self.routine.0,
            self.routine.1
        )
    }
}

impl std::str::FromStr for DeadlinePolicy {
    type Err = String;

    /// Parses `emergency=ACK:ANSWER,urgent=ACK:ANSWER,routine=ACK:ANSWER`, durations in seconds
    /// or with a unit (`90s`, `15m`, `1h`, `7d`); priorities left out keep their defaults.
    fn from_str(s: &str) -> Result<Self, String> {
        let mut p = DeadlinePolicy::default();
        for part in s.split(',').map(str::trim).filter(|x| !x.is_empty()) {
            let (prio, durs) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?}: expected priority=ACK:ANSWER"))?;
            let (ack, ans) = durs
                .split_once(':')
                .ok_or_else(|| format!("{part:?}: expected priority=ACK:ANSWER"))?;
            let ack = parse_duration(ack)?;
            let ans = parse_duration(ans)?;
            if ack <= 0 || ans < ack {
                return Err(format!(
                    "{part:?}: the acknowledgement deadline must be positive and not after the answer deadline"
                ));
            }
            let slot = match prio.trim() {
                "emergency" => &mut p.emergency,
                "urgent" => &mut p.urgent,
                "routine" => &mut p.routine,
                other => return Err(format!("unknown priority {other:?}")),
            };
            *slot = (ack, ans);
        }
        Ok(p)
    }
}

/// Parses `90`, `90s`, `15m`, `1h` or `7d` into seconds.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, 's')) => (&s[..i], 1),
        Some((i, 'm')) => (&s[..i], 60),
        Some((i, 'h')) => (&s[..i], 3600),
        Some((i, 'd')) => (&s[..i], 86_400),
        _ => (s, 1),
    };
    num.parse::<i64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .ok_or_else(|| format!("{s:?} is not a duration (like 90s, 15m, 1h, 7d)"))
}

impl DeadlinePolicy {
    /// The (acknowledge, answer) durations for a priority.
    pub fn for_priority(&self, p: Priority) -> (i64, i64) {
        match p {
            Priority::Emergency => self.emergency,
            Priority::Urgent => self.urgent,
            Priority::Routine => self.routine,
        }
    }

    /// Default deadlines for a request sent at `time`.
    pub fn deadlines(&self, p: Priority, time: Timestamp) -> (Timestamp, Timestamp) {
        let (ack, answer) = self.for_priority(p);
        (time.plus(ack), time.plus(answer))
    }
}

/// What the log knows about one statement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StatementInfo {
    /// Log index.
    pub index: u64,
    /// Kind.
    pub kind: Kind,
    /// Author.
    pub author: PartyId,
    /// Recipient (case statements).
    pub recipient: Option<PartyId>,
    /// Case (case statements).
    pub case: Option<CaseId>,
    /// Whether it carries a payload.
    pub has_payload: bool,
    /// Whether the operator recorded its delivery.
    pub delivered: bool,
}

/// Why a statement does not fit the hotline.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
pub enum DomainError {
    /// Malformed statement.
    #[error(transparent)]
    Statement(#[from] StatementError),
    /// For another hotline.
    #[error("statement is for hotline {got:?}, this is {expected:?}")]
    WrongOrigin {
        /// This hotline's origin.
        expected: String,
        /// The statement's.
        got: String,
    },
    /// The directory does not know the party.
    #[error("unknown party {0}: it is not registered with this hotline")]
    UnknownParty(PartyId),
    /// The party's keys were revoked.
    #[error("party {0} has been revoked and can no longer make or receive statements")]
    Revoked(PartyId),
    /// A required signature is absent or wrong.
    #[error("signature: {0}")]
    Signature(String),
    /// The party id is taken.
    #[error("party {0} is already registered")]
    PartyExists(PartyId),
    /// The first statement of a hotline must register its operator.
    #[error("the first statement of a hotline must register the operator, signed by itself")]
    NoGenesis,
    /// The case id is taken.
    #[error("case {0} already exists; a notice or request opens a new case")]
    CaseExists(CaseId),
    /// No such case.
    #[error("unknown case {0}")]
    UnknownCase(CaseId),
    /// The recipient is not the case's other party.
    #[error("{0}")]
    WrongRecipient(String),
    /// A reference names no earlier statement of this case.
    #[error("ref {0} is not an earlier statement of this case")]
    BadRef(String),
    /// Deadlines shorter than the hotline's policy.
    #[error("{0}")]
    Deadline(String),
    /// The lifecycle forbids it now.
    #[error(transparent)]
    Lifecycle(#[from] LifecycleError),
}

impl DomainError {
    /// Whether the error is about the case's state (an HTTP 409) rather than the statement.
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            DomainError::Lifecycle(_) | DomainError::CaseExists(_) | DomainError::PartyExists(_)
        )
    }
}

/// The hotline's state.
#[derive(Clone, Debug)]
pub struct Hotline {
    origin: String,
    policy: DeadlinePolicy,
    directory: Directory,
    cases: HashMap<CaseId, Case>,
    /// Keyed by leaf hashes, which nobody can choose (SHA-256 outputs): foldhash, seeded per
    /// process, instead of SipHash (a replay of a large log looks up every reference here).
    statements: HashMap<Hash, StatementInfo, foldhash::fast::RandomState>,
    next_index: u64,
}

/// Checks a note's signatures against known keys, verifying each signature at most once
/// (Ed25519 verification is most of the server's CPU per statement):
///
/// - every key in `required` (with the name of whose signature it is, for messages) must have
///   signed the note;
/// - every signature by a key of `required` or `also_known` (same name and key id) must verify
///   (c2sp.org/signed-note: a known key's failed signature rejects the note);
/// - signatures by unknown keys are ignored.
fn check_signatures(
    note: &Note,
    required: &[(&Ed25519Verifier, &str)],
    also_known: &[&Ed25519Verifier],
) -> Result<(), DomainError> {
    let mut found = [false; 4];
    debug_assert!(required.len() <= found.len());
    let text = note.text().as_bytes();
    for sig in note.signatures() {
        let matches = |v: &Ed25519Verifier| v.name() == sig.name && v.key_id() == sig.key_id;
        if let Some(i) = required.iter().position(|(v, _)| matches(v)) {
            let (v, whose) = required[i];
            if !v.verify(text, &sig.signature) {
                return Err(DomainError::Signature(format!(
                    "the signature by {whose} ({}) does not verify",
                    v.to_vkey()
                )));
            }
            if let Some(f) = found.get_mut(i) {
                *f = true;
            }
        } else if let Some(v) = also_known.iter().find(|v| matches(v))
            && !v.verify(text, &sig.signature)
        {
            return Err(DomainError::Signature(format!(
                "the signature by {} does not verify",
                v.to_vkey()
            )));
        }
    }
    for (i, (v, whose)) in required.iter().enumerate() {
        if !found.get(i).copied().unwrap_or(false) {
            return Err(DomainError::Signature(format!(
                "not signed by {whose} (expected a signature by key {})",
                v.to_vkey()
            )));
        }
    }
    Ok(())
}

/// Verifies a case statement's signature by its author's key `key` (any other signature by a
/// key of the same name and id must verify too). Needs no state: callers may run it outside
/// locks, then use [`Hotline::check_preverified`].
pub fn verify_author_signature(
    s: &SignedStatement,
    key: &Ed25519Verifier,
) -> Result<(), DomainError> {
    check_signatures(&s.note, &[(key, s.statement.author.as_str())], &[])
}

impl Hotline {
    /// An empty hotline for `origin` with deadline `policy`.
    pub fn new(origin: &str, policy: DeadlinePolicy) -> Hotline {
        Hotline {
            origin: origin.to_owned(),
            policy,
            directory: Directory::default(),
            cases: HashMap::new(),
            statements: HashMap::default(),
            next_index: 0,
        }
    }

    /// Makes room for `statements` more statements (a replay that knows the log's size),
    /// so that the statement index is not rebuilt again and again as it grows.
    pub fn reserve(&mut self, statements: usize) {
        self.statements.reserve(statements);
    }

    /// The origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The deadline policy.
    pub fn policy(&self) -> &DeadlinePolicy {
        &self.policy
    }

    /// The directory.
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    /// A case.
    pub fn case(&self, id: &CaseId) -> Option<&Case> {
        self.cases.get(id)
    }

    /// Every case.
    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.values()
    }

    /// What the log knows about a statement id.
    pub fn statement(&self, id: &Hash) -> Option<&StatementInfo> {
        self.statements.get(id)
    }

    /// Statements applied so far (the next statement's log index).
    pub fn size(&self) -> u64 {
        self.next_index
    }

    /// The current signing key of a party, if registered and not revoked.
    pub fn current_key(&self, party: &PartyId) -> Result<&KeyEpoch, DomainError> {
        let p = self
            .directory
            .get(party)
            .ok_or_else(|| DomainError::UnknownParty(party.clone()))?;
        p.current()
            .ok_or_else(|| DomainError::Revoked(party.clone()))
    }

    /// Checks that a statement may be appended next: origin, signatures against the directory,
    /// the case's lifecycle, references, deadlines. Changes nothing.
    pub fn check(&self, s: &SignedStatement) -> Result<(), DomainError> {
        self.check_with(s, None)
    }

    /// As [`Hotline::check`], for a case statement whose author signature the caller already
    /// verified with `verified_with` (so that the costly verification can run outside a lock):
    /// the key must still be the author's current one. Every other statement (genesis,
    /// directory, the operator's record of a TAXII publication) gets the full check.
    pub fn check_preverified(
        &self,
        s: &SignedStatement,
        verified_with: &Ed25519Verifier,
    ) -> Result<(), DomainError> {
        self.check_with(s, Some(verified_with))
    }

    /// One dispatch for both: only the author-signature step differs.
    fn check_with(
        &self,
        s: &SignedStatement,
        verified_with: Option<&Ed25519Verifier>,
    ) -> Result<(), DomainError> {
        let st = &s.statement;
        if st.origin != self.origin {
            return Err(DomainError::WrongOrigin {
                expected: self.origin.clone(),
                got: st.origin.clone(),
            });
        }
        if self.directory.is_empty() {
            return self.check_genesis(s);
        }
        if st.kind.is_directory_kind() {
            return self.check_directory(s);
        }
        if st.kind == Kind::Shared && st.author.is_operator() {
            return self.check_shared_by_operator(s);
        }
        let author_key = &self.current_key(&st.author)?.verifier;
        match verified_with {
            None => verify_author_signature(s, author_key)?,
            Some(k) if k == author_key => {}
            Some(_) => {
                return Err(DomainError::Signature(format!(
                    "{}'s key changed while the statement was being checked; sign it with the \
                     new key",
                    st.author
                )));
            }
        }
        self.check_case(st)
    }

    /// A `shared` statement by the operator: it records that the party named in its `party`
    /// line, authenticated by its API credential, published the objects. The operator signs it;
    /// the party must be registered and not revoked.
    fn check_shared_by_operator(&self, s: &SignedStatement) -> Result<(), DomainError> {
        let st = &s.statement;
        let party = st.party.clone().ok_or(StatementError::Missing {
            kind: st.kind,
            key: "party",
        })?;
        self.current_key(&party)?;
        let operator = &self.current_key(&PartyId::operator())?.verifier;
        check_signatures(&s.note, &[(operator, "the operator")], &[])
    }

    fn check_genesis(&self, s: &SignedStatement) -> Result<(), DomainError> {
        let st = &s.statement;
        let is_operator =
            st.kind == Kind::PartyRegistered && st.party.as_ref().is_some_and(PartyId::is_operator);
        if !is_operator {
            return Err(DomainError::NoGenesis);
        }
        let key = self.party_key(st)?;
        check_signatures(&s.note, &[(&key, "the operator key being registered")], &[])
    }

    fn party_key(&self, st: &Statement) -> Result<Ed25519Verifier, DomainError> {
        let party = st.party.clone().ok_or(StatementError::Missing {
            kind: st.kind,
            key: "party",
        })?;
        let vkey = st.party_fields.key.as_deref().unwrap_or_default();
        let v = Ed25519Verifier::from_vkey(vkey)
            .map_err(|e| DomainError::Signature(format!("party-key: {e}")))?;
        if v.name() != party.as_str() {
            return Err(DomainError::Signature(format!(
                "party-key is named {:?}; a party's key is named by its id {party}",
                v.name()
            )));
        }
        Ok(v)
    }

    fn check_directory(&self, s: &SignedStatement) -> Result<(), DomainError> {
        let st = &s.statement;
        let operator = &self.current_key(&PartyId::operator())?.verifier;
        let party = st.party.clone().ok_or(StatementError::Missing {
            kind: st.kind,
            key: "party",
        })?;
        match st.kind {
            Kind::PartyRegistered => {
                if self.directory.get(&party).is_some() {
                    return Err(DomainError::PartyExists(party));
                }
                let key = self.party_key(st)?;
                let whose = format!("{party} (its countersignature)");
                check_signatures(&s.note, &[(operator, "the operator"), (&key, &whose)], &[])
            }
            Kind::KeyRotated => {
                let old = self.current_key(&party)?.verifier.clone();
                let new = self.party_key(st)?;
                if new == old {
                    return Err(DomainError::Signature(
                        "key-rotated must introduce a new key".into(),
                    ));
                }
                let whose = format!("{party}'s new key");
                check_signatures(
                    &s.note,
                    &[(operator, "the operator"), (&new, &whose)],
                    &[&old],
                )
            }
            Kind::PartyRevoked => {
                if party.is_operator() {
                    return Err(DomainError::Signature(
                        "the operator cannot revoke itself; rotate its key instead".into(),
                    ));
                }
                let old = self.current_key(&party)?.verifier.clone();
                check_signatures(&s.note, &[(operator, "the operator")], &[&old])
            }
            _ => check_signatures(&s.note, &[(operator, "the operator")], &[]),
        }
    }

    fn check_refs(&self, st: &Statement, case: &CaseId) -> Result<(), DomainError> {
        for r in &st.refs {
            match self.statements.get(r) {
                Some(info) if info.case.as_ref() == Some(case) => {}
                _ => return Err(DomainError::BadRef(r.to_base64())),
            }
        }
        Ok(())
    }

    fn check_case(&self, st: &Statement) -> Result<(), DomainError> {
        // A party's own `shared` statement: its signature (checked by the caller) is all.
        if st.kind == Kind::Shared {
            return Ok(());
        }
        let case_id = st.case.clone().ok_or(StatementError::Missing {
            kind: st.kind,
            key: "case",
        })?;
        let recipient = st.recipient.clone().ok_or(StatementError::Missing {
            kind: st.kind,
            key: "recipient",
        })?;
        match st.kind {
            Kind::Notice | Kind::Request => {
                if self.cases.contains_key(&case_id) {
                    return Err(DomainError::CaseExists(case_id));
                }
                self.current_key(&recipient)?;
                if recipient.is_operator() {
                    return Err(DomainError::WrongRecipient(
                        "the operator is not a party to cases".into(),
                    ));
                }
                if let (Some(p), Some(ack), Some(ans)) = (st.priority, st.ack_by, st.answer_by) {
                    let (min_ack, min_ans) = self.policy.for_priority(p);
                    if ack.unix() - st.time.unix() < min_ack
                        || ans.unix() - st.time.unix() < min_ans
                    {
                        return Err(DomainError::Deadline(format!(
                            "{p} requests allow at least {} to acknowledge and {} to answer on this hotline",
                            human(min_ack),
                            human(min_ans)
                        )));
                    }
                }
                Ok(())
            }
            _ => {
                let case = self
                    .cases
                    .get(&case_id)
                    .ok_or_else(|| DomainError::UnknownCase(case_id.clone()))?;
                self.check_refs(st, &case_id)?;
                match st.kind {
                    Kind::Delivered => {
                        let delivered = st.refs.first().and_then(|r| self.statements.get(r));
                        let Some(info) = delivered else {
                            return Err(DomainError::BadRef("missing".into()));
                        };
                        if info.recipient.as_ref() != Some(&recipient) {
                            return Err(DomainError::WrongRecipient(format!(
                                "statement {} is addressed to {}, not {recipient}",
                                info.index,
                                info.recipient
                                    .as_ref()
                                    .map_or("nobody".to_owned(), ToString::to_string)
                            )));
                        }
                        if info.delivered {
                            return Err(DomainError::WrongRecipient(format!(
                                "statement {} was already delivered",
                                info.index
                            )));
                        }
                    }
                    Kind::Overdue => {
                        let late = match st.deadline {
                            Some(Deadline::Ack) | Some(Deadline::Answer) => &case.responder,
                            None => &case.responder,
                        };
                        if *late != recipient {
                            return Err(DomainError::WrongRecipient(format!(
                                "an overdue statement names the party that missed the deadline, {late}"
                            )));
                        }
                    }
                    _ => {
                        let expected = case
                            .counterpart(&st.author)
                            .ok_or_else(|| DomainError::UnknownCase(case_id.clone()))?;
                        if *expected != recipient {
                            return Err(DomainError::WrongRecipient(format!(
                                "in case {case_id} the recipient of {}'s statements is {expected}",
                                st.author
                            )));
                        }
                        // Nothing more can be said to a revoked party (it has no keys to read
                        // it with), but its counterpart can still end the case.
                        if !matches!(st.kind, Kind::Closed | Kind::Withdrawn) {
                            self.current_key(&recipient)?;
                        }
                    }
                }
                // A third party learns nothing about the case: it is simply unknown to them.
                if case.role_of(&st.author).is_none() {
                    return Err(DomainError::UnknownCase(case_id));
                }
                case.check(st.kind, &st.author, st.deadline, st.time)?;
                Ok(())
            }
        }
    }

    /// Checks and applies the next statement of the log.
    pub fn apply(&mut self, s: &SignedStatement) -> Result<(), DomainError> {
        self.check(s)?;
        self.apply_checked(s);
        Ok(())
    }

    /// Applies a statement that passed [`Hotline::check`].
    pub fn apply_checked(&mut self, s: &SignedStatement) {
        let st = &s.statement;
        let index = self.next_index;
        self.next_index += 1;
        self.statements.insert(
            s.id,
            StatementInfo {
                index,
                kind: st.kind,
                author: st.author.clone(),
                recipient: st.recipient.clone(),
                case: st.case.clone(),
                has_payload: st.payload.is_some(),
                delivered: false,
            },
        );
        match st.kind {
            Kind::PartyRegistered | Kind::KeyRotated => {
                let (Some(party), Ok(verifier)) = (st.party.clone(), self.party_key(st)) else {
                    return;
                };
                let epoch = KeyEpoch {
                    verifier,
                    recipients: st.party_fields.recipients.clone(),
                    from: index,
                    until: None,
                };
                if st.kind == Kind::PartyRegistered {
                    let f = &st.party_fields;
                    self.directory.register(PartyEntry {
                        id: party,
                        name: f.name.clone().unwrap_or_default(),
                        jurisdiction: f.jurisdiction.clone().unwrap_or_default(),
                        kind: f.kind.unwrap_or(crate::vocab::PartyKind::Other),
                        contact: f.contact.clone().unwrap_or_default(),
                        epochs: vec![epoch],
                        revoked: None,
                    });
                } else {
                    self.directory.rotate(&party, epoch);
                }
            }
            Kind::PartyRevoked => {
                if let (Some(party), Some(reason)) = (&st.party, st.revocation_reason) {
                    self.directory.revoke(party, index, reason);
                }
            }
            // Publications belong to no case; the log itself is their record.
            Kind::Shared => {}
            _ => {
                let Some(case_id) = st.case.clone() else {
                    return;
                };
                let step = Step {
                    index,
                    id: s.id,
                    kind: st.kind,
                    author: st.author.clone(),
                    time: st.time,
                    has_payload: st.payload.is_some(),
                    to_requester: false,
                };
                if matches!(st.kind, Kind::Notice | Kind::Request) {
                    if let Some(case) = Case::open(st, step) {
                        self.cases.insert(case_id, case);
                    }
                } else {
                    if st.kind == Kind::Delivered
                        && let Some(info) = st.refs.first().and_then(|r| self.statements.get_mut(r))
                    {
                        info.delivered = true;
                    }
                    if let Some(case) = self.cases.get_mut(&case_id) {
                        if st.kind == Kind::Delivered
                            && st.refs.first() == case.steps.first().map(|s| &s.id)
                        {
                            case.opening_delivered = true;
                        }
                        let to_requester = st.recipient.as_ref() == Some(&case.requester);
                        case.apply(
                            Step {
                                to_requester,
                                ..step
                            },
                            st.deadline,
                            &st.refs,
                        );
                    }
                }
            }
        }
    }

    /// Deadlines that have passed at `now` without the statement they waited for: what the
    /// operator must now record as `overdue`, with the statement to reference (the request).
    pub fn due_overdues(&self, now: Timestamp) -> Vec<(CaseId, Deadline, Hash, PartyId)> {
        let mut out = Vec::new();
        for case in self.cases.values() {
            for d in [Deadline::Ack, Deadline::Answer] {
                if case.overdue_due(d, now)
                    && let Some(first) = case.steps.first()
                {
                    out.push((case.id.clone(), d, first.id, case.responder.clone()));
                }
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }
}

fn human(secs: i64) -> String {
    let (n, unit) = if secs % 86_400 == 0 && secs >= 2 * 86_400 {
        (secs / 86_400, "day")
    } else if secs % 3600 == 0 && secs >= 3600 {
        (secs / 3600, "hour")
    } else if secs % 60 == 0 && secs >= 60 {
        (secs / 60, "minute")
    } else {
        (secs, "second")
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}
