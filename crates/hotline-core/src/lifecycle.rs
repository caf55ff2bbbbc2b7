//! The case lifecycle: which statement each party (or the operator) may make in each state,
//! and the error that says so when a statement does not fit.
//!
//! ```text
//! request ─► delivered ─► acknowledged ─► (update | need-info ⇄ update)* ─► answer | declined
//!    │            │               │                                              │
//!    └────────────┴─── past its deadline: overdue (operator) ─────────────────────┘
//! requester may close or withdraw at any point; a notice needs only delivered (+ optional
//! acknowledged)
//! ```

use std::fmt;

use hotline_tlog::Hash;
use thiserror::Error;

use crate::statement::Statement;
use crate::vocab::{
    CaseId, Deadline, Handling, Kind, PartyId, Priority, RequestType, Timestamp, Tlp,
};

/// Where a case stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Sent, not yet downloaded by the recipient.
    Sent,
    /// Downloaded by the recipient (operator's `delivered`).
    Delivered,
    /// Acknowledged by the recipient.
    Acknowledged,
    /// The recipient asked for more information.
    InfoRequested,
    /// Answered.
    Answered,
    /// Declined.
    Declined,
    /// Closed by the requester.
    Closed,
    /// Withdrawn by the requester.
    Withdrawn,
}

impl Phase {
    /// Lowercase name as shown to users.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Sent => "sent",
            Phase::Delivered => "delivered",
            Phase::Acknowledged => "acknowledged",
            Phase::InfoRequested => "info-requested",
            Phase::Answered => "answered",
            Phase::Declined => "declined",
            Phase::Closed => "closed",
            Phase::Withdrawn => "withdrawn",
        }
    }

    /// No statement but deliveries of earlier payloads can follow.
    pub fn is_final(self) -> bool {
        matches!(self, Phase::Closed | Phase::Withdrawn)
    }

    /// The requester's question has its reply (answer or declined) or the case is over.
    pub fn is_settled(self) -> bool {
        matches!(
            self,
            Phase::Answered | Phase::Declined | Phase::Closed | Phase::Withdrawn
        )
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who may make a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The party that opened the case.
    Requester,
    /// The party the case was opened with.
    Responder,
    /// Either party of the case.
    Either,
    /// The hotline's operator.
    Operator,
}

/// One step of a case's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Log index.
    pub index: u64,
    /// Statement id (leaf hash).
    pub id: Hash,
    /// Kind.
    pub kind: Kind,
    /// Author.
    pub author: PartyId,
    /// Time the author gave.
    pub time: Timestamp,
    /// Whether it carries a payload.
    pub has_payload: bool,
    /// Whether it is addressed to the requester (else to the responder or nobody).
    pub to_requester: bool,
}

/// A case's state, built by applying its statements in log order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// The case id.
    pub id: CaseId,
    /// `Notice` or `Request`.
    pub kind: Kind,
    /// The party that opened it.
    pub requester: PartyId,
    /// The party it was opened with.
    pub responder: PartyId,
    /// Priority.
    pub priority: Priority,
    /// What was requested (requests).
    pub request_type: Option<RequestType>,
    /// Handling code of the opening statement (SIENA style).
    pub handling: Option<Handling>,
    /// TLP 2.0 label of the opening statement's payload.
    pub tlp: Option<Tlp>,
    /// When it was opened.
    pub opened: Timestamp,
    /// Acknowledge-by deadline (requests).
    pub ack_by: Option<Timestamp>,
    /// Answer-by deadline (requests).
    pub answer_by: Option<Timestamp>,
    /// Current phase.
    pub phase: Phase,
    /// When the first acknowledgement was made.
    pub acknowledged_at: Option<Timestamp>,
    /// When the answer or decline was made.
    pub settled_at: Option<Timestamp>,
    /// The acknowledgement deadline was recorded as missed.
    pub overdue_ack: bool,
    /// The answer deadline was recorded as missed.
    pub overdue_answer: bool,
    /// Every statement of the case, in log order.
    pub steps: Vec<Step>,
    /// The operator recorded the delivery of the opening statement.
    pub opening_delivered: bool,
}

/// A statement the lifecycle does not allow now.
#[derive(Debug, Error, PartialEq, Eq, Clone)]
#[error("case {case} is {phase}; {actor} may not make a {kind} statement now. {allowed}")]
pub struct LifecycleError {
    /// The case.
    pub case: CaseId,
    /// Its phase.
    pub phase: Phase,
    /// The refused kind.
    pub kind: Kind,
    /// Who tried.
    pub actor: PartyId,
    /// What is allowed now, as a sentence.
    pub allowed: String,
}

impl Case {
    /// Opens a case with its first statement (a notice or a request); `None` if the statement
    /// lacks what opening a case needs (its shape check prevents that).
    pub fn open(st: &Statement, first: Step) -> Option<Case> {
        Some(Case {
            id: st.case.clone()?,
            kind: st.kind,
            requester: st.author.clone(),
            responder: st.recipient.clone()?,
            priority: st.priority?,
            request_type: st.request_type,
            handling: st.handling,
            tlp: st.tlp,
            opened: first.time,
            ack_by: st.ack_by,
            answer_by: st.answer_by,
            phase: Phase::Sent,
            acknowledged_at: None,
            settled_at: None,
            overdue_ack: false,
            overdue_answer: false,
            steps: vec![first],
            opening_delivered: false,
        })
    }

    /// The role `party` plays in this case, if any.
    pub fn role_of(&self, party: &PartyId) -> Option<Role> {
        if party.is_operator() {
            Some(Role::Operator)
        } else if *party == self.requester {
            Some(Role::Requester)
        } else if *party == self.responder {
            Some(Role::Responder)
        } else {
            None
        }
    }

    /// The other party of the case.
    pub fn counterpart(&self, party: &PartyId) -> Option<&PartyId> {
        if *party == self.requester {
            Some(&self.responder)
        } else if *party == self.responder {
            Some(&self.requester)
        } else {
            None
        }
    }

    /// Statements allowed in the current phase, with who may make them (excluding
    /// `delivered` and `overdue`, which the operator makes when their conditions hold).
    pub fn allowed(&self) -> Vec<(Kind, Role)> {
        let request = self.kind == Kind::Request;
        let mut out = Vec::new();
        let requester_ends = [
            (Kind::Closed, Role::Requester),
            (Kind::Withdrawn, Role::Requester),
        ];
        match self.phase {
            Phase::Sent => out.extend(requester_ends),
            Phase::Delivered => {
                out.push((Kind::Acknowledged, Role::Responder));
                if request {
                    out.push((Kind::Declined, Role::Responder));
                }
                out.push((Kind::Update, Role::Either));
                out.extend(requester_ends);
            }
            Phase::Acknowledged | Phase::InfoRequested => {
                out.push((Kind::Update, Role::Either));
                if request {
                    out.push((Kind::NeedInfo, Role::Responder));
                    out.push((Kind::Answer, Role::Responder));
                    out.push((Kind::Declined, Role::Responder));
                }
                out.extend(requester_ends);
            }
            Phase::Answered | Phase::Declined => {
                out.push((Kind::Update, Role::Either));
                out.push((Kind::Closed, Role::Requester));
            }
            Phase::Closed | Phase::Withdrawn => {}
        }
        out
    }

    fn allowed_sentence(&self) -> String {
        let list = self.allowed();
        if list.is_empty() {
            return "Nothing more can be said in this case.".to_owned();
        }
        let who = |r: Role| match r {
            Role::Requester => self.requester.to_string(),
            Role::Responder => self.responder.to_string(),
            Role::Either => "either party".to_owned(),
            Role::Operator => "the operator".to_owned(),
        };
        let parts: Vec<String> = list
            .iter()
            .map(|(k, r)| format!("{k} (by {})", who(*r)))
            .collect();
        format!("Allowed now: {}.", parts.join(", "))
    }

    fn refuse(&self, kind: Kind, actor: &PartyId) -> LifecycleError {
        LifecycleError {
            case: self.id.clone(),
            phase: self.phase,
            kind,
            actor: actor.clone(),
            allowed: self.allowed_sentence(),
        }
    }

    /// Whether the operator may now record `deadline` as missed at `now`.
    pub fn overdue_due(&self, deadline: Deadline, now: Timestamp) -> bool {
        match deadline {
            Deadline::Ack => {
                !self.overdue_ack
                    && self.ack_by.is_some_and(|d| now >= d)
                    && matches!(self.phase, Phase::Sent | Phase::Delivered)
            }
            Deadline::Answer => {
                !self.overdue_answer
                    && self.answer_by.is_some_and(|d| now >= d)
                    && !self.phase.is_settled()
            }
        }
    }

    /// Checks that `kind` by `actor` fits the lifecycle now (for `overdue`, `deadline` and
    /// `time` say which deadline and when).
    pub fn check(
        &self,
        kind: Kind,
        actor: &PartyId,
        deadline: Option<Deadline>,
        time: Timestamp,
    ) -> Result<(), LifecycleError> {
        let role = self
            .role_of(actor)
            .ok_or_else(|| self.refuse(kind, actor))?;
        match kind {
            Kind::Delivered => {
                // Any statement can be delivered whatever the phase; the caller checks the ref.
                if role == Role::Operator {
                    Ok(())
                } else {
                    Err(self.refuse(kind, actor))
                }
            }
            Kind::Overdue => match deadline {
                Some(d) if role == Role::Operator && self.overdue_due(d, time) => Ok(()),
                _ => Err(self.refuse(kind, actor)),
            },
            _ => {
                let fits = self.allowed().iter().any(|(k, r)| {
                    *k == kind
                        && match r {
                            Role::Either => matches!(role, Role::Requester | Role::Responder),
                            other => *other == role,
                        }
                });
                if fits {
                    Ok(())
                } else {
                    Err(self.refuse(kind, actor))
                }
            }
        }
    }

    /// Applies a statement that passed [`Case::check`]; `refs` are its references (a
    /// `delivered` moves the case out of `sent` only when it delivers the opening statement).
    pub fn apply(&mut self, step: Step, deadline: Option<Deadline>, refs: &[Hash]) {
        use Kind::*;
        let opening_id = self.steps.first().map(|s| s.id);
        match step.kind {
            Delivered => {
                if self.phase == Phase::Sent && opening_id.is_some_and(|o| refs.contains(&o)) {
                    self.phase = Phase::Delivered;
                }
            }
            Acknowledged => {
                self.phase = Phase::Acknowledged;
                self.acknowledged_at.get_or_insert(step.time);
            }
            NeedInfo => self.phase = Phase::InfoRequested,
            Update => {
                if self.phase == Phase::InfoRequested && step.author == self.requester {
                    self.phase = Phase::Acknowledged;
                }
            }
            Answer => {
                self.phase = Phase::Answered;
                self.settled_at.get_or_insert(step.time);
            }
            Kind::Declined => {
                self.phase = Phase::Declined;
                self.settled_at.get_or_insert(step.time);
            }
            Kind::Closed => self.phase = Phase::Closed,
            Kind::Withdrawn => self.phase = Phase::Withdrawn,
            Overdue => match deadline {
                Some(Deadline::Ack) => self.overdue_ack = true,
                Some(Deadline::Answer) => self.overdue_answer = true,
                None => {}
            },
            Notice | Request | PartyRegistered | KeyRotated | PartyRevoked | Shared => {}
        }
        self.steps.push(step);
    }
}
