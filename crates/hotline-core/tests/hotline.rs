//! The domain rules on their own: statement format, directory and signatures, and every
//! lifecycle transition — allowed and refused — against a table written from the lifecycle
//! diagram of DESIGN.md §4, not from the code under test.
#![allow(clippy::unwrap_used, missing_docs)]

mod fixture;

use fixture::*;
use hotline_core::lifecycle::Phase;
use hotline_core::statement::StatementError;
use hotline_core::vocab::{Deadline, Kind, PartyKind, RevocationReason};
use hotline_core::{DomainError, SignedStatement, Statement};
use hotline_tlog::Hash;

#[test]
fn statement_text_round_trips_and_is_strict() {
    let s = request(&case_id(1), "us-cisa", "ru-nkcki", at(0));
    let text = s.to_text();
    assert!(
        text.starts_with("hotline/statement/v1\norigin hotline.geneva.example/log\nkind request\n")
    );
    assert_eq!(Statement::parse_text(&text).unwrap(), s);

    let lines: Vec<&str> = text.lines().collect();
    // Swapped lines: out of order.
    let mut swapped = lines.clone();
    swapped.swap(3, 4);
    let err = Statement::parse_text(&(swapped.join("\n") + "\n")).unwrap_err();
    assert!(err.to_string().contains("out of order"), "{err}");
    // A repeated key.
    let mut repeated = lines.clone();
    repeated.insert(4, lines[3]);
    let err = Statement::parse_text(&(repeated.join("\n") + "\n")).unwrap_err();
    assert!(
        err.to_string().contains("out of order or repeated"),
        "{err}"
    );
    // An unknown key.
    let with_unknown = text.replace("priority emergency\n", "priority emergency\ncolour blue\n");
    let err = Statement::parse_text(&with_unknown).unwrap_err();
    assert!(err.to_string().contains("unknown key \"colour\""), "{err}");
    // A missing required line names it.
    let no_deadline = text
        .lines()
        .filter(|l| !l.starts_with("ack-by"))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    assert_eq!(
        Statement::parse_text(&no_deadline).unwrap_err(),
        StatementError::Missing {
            kind: Kind::Request,
            key: "ack-by"
        }
    );
    // A bad value names the line and the rule.
    let err =
        Statement::parse_text(&text.replace("priority emergency", "priority soon")).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("line 8: priority \"soon\" is not valid"),
        "{err}"
    );
    // Emergency needs a justification.
    let mut no_just = s.clone();
    no_just.justification = None;
    assert_eq!(
        no_just.check_shape().unwrap_err(),
        StatementError::Missing {
            kind: Kind::Request,
            key: "justification"
        }
    );
    // A case party cannot make operator statements, nor the operator case statements.
    let mut d = delivered(&case_id(1), "ru-nkcki", Hash::default(), at(1));
    d.author = pid("us-cisa");
    assert!(
        d.check_shape()
            .unwrap_err()
            .to_string()
            .contains("only the operator")
    );
}

#[test]
fn signed_statements_parse_back_with_the_same_id() {
    let w = World::new();
    let s = w.sign(request(&case_id(1), "us-cisa", "ru-nkcki", at(0)));
    let parsed = SignedStatement::parse(&s.bytes).unwrap();
    assert_eq!(parsed, s);
    assert_eq!(parsed.id, hotline_tlog::leaf_hash(&s.bytes));
    let mut big = s.bytes.clone();
    big.resize(70_000, b'x');
    assert!(matches!(
        SignedStatement::parse(&big),
        Err(StatementError::TooLarge(70_000))
    ));
    assert!(matches!(
        SignedStatement::parse(b"hello\n\n"),
        Err(StatementError::Note(_))
    ));
}

#[test]
fn the_scenario_case_walks_the_whole_lifecycle() {
    let mut w = World::new();
    let c = case_id(1);
    let req = w
        .apply(w.sign(request(&c, "us-cisa", "ru-nkcki", at(0))))
        .unwrap();
    assert_eq!(w.hotline.case(&c).unwrap().phase, Phase::Sent);
    assert!(!w.hotline.case(&c).unwrap().opening_delivered);
    let d = w
        .apply(w.sign(delivered(&c, "ru-nkcki", req, at(60))))
        .unwrap();
    assert_eq!(w.hotline.case(&c).unwrap().phase, Phase::Delivered);
    assert!(w.hotline.statement(&req).unwrap().delivered);
    assert!(w.hotline.case(&c).unwrap().opening_delivered);
    let ack = w
        .apply(w.sign(follow_up(
            Kind::Acknowledged,
            &c,
            "ru-nkcki",
            "us-cisa",
            &[req, d],
            at(120),
        )))
        .unwrap();
    let ni = w
        .apply(w.sign(follow_up(
            Kind::NeedInfo,
            &c,
            "ru-nkcki",
            "us-cisa",
            &[ack],
            at(600),
        )))
        .unwrap();
    assert_eq!(w.hotline.case(&c).unwrap().phase, Phase::InfoRequested);
    let up = w
        .apply(w.sign(follow_up(
            Kind::Update,
            &c,
            "us-cisa",
            "ru-nkcki",
            &[ni],
            at(900),
        )))
        .unwrap();
    assert_eq!(w.hotline.case(&c).unwrap().phase, Phase::Acknowledged);
    let ans = w
        .apply(w.sign(follow_up(
            Kind::Answer,
            &c,
            "ru-nkcki",
            "us-cisa",
            &[up],
            at(3000),
        )))
        .unwrap();
    let case = w.hotline.case(&c).unwrap();
    assert_eq!(case.phase, Phase::Answered);
    assert_eq!(case.acknowledged_at, Some(at(120)));
    assert_eq!(case.settled_at, Some(at(3000)));
    w.apply(w.sign(follow_up(
        Kind::Closed,
        &c,
        "us-cisa",
        "ru-nkcki",
        &[ans],
        at(4000),
    )))
    .unwrap();
    let case = w.hotline.case(&c).unwrap();
    assert_eq!(case.phase, Phase::Closed);
    assert_eq!(case.steps.len(), 7);
    assert_eq!(
        case.steps.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [
            Kind::Request,
            Kind::Delivered,
            Kind::Acknowledged,
            Kind::NeedInfo,
            Kind::Update,
            Kind::Answer,
            Kind::Closed
        ]
    );
    // Nothing more can be said.
    let err = w
        .apply(w.sign(follow_up(
            Kind::Update,
            &c,
            "us-cisa",
            "ru-nkcki",
            &[ans],
            at(5000),
        )))
        .unwrap_err();
    assert!(
        err.to_string().contains("Nothing more can be said"),
        "{err}"
    );
}

/// The lifecycle of DESIGN.md §4 as a table: in each phase of a request, who may make which
/// follow-up statement. `R` = requester (us-cisa), `P` = responder (ru-nkcki).
fn expected_request(phase: Phase, kind: Kind, who: char) -> bool {
    use Kind::*;
    use Phase as P;
    let requester_end = who == 'R' && matches!(kind, Closed | Withdrawn);
    match phase {
        P::Sent => requester_end,
        P::Delivered => {
            requester_end
                || (who == 'P' && matches!(kind, Acknowledged | Declined))
                || kind == Update
        }
        P::Acknowledged | P::InfoRequested => {
            requester_end
                || kind == Update
                || (who == 'P' && matches!(kind, NeedInfo | Answer | Declined))
        }
        P::Answered | P::Declined => kind == Update || (who == 'R' && kind == Closed),
        P::Closed | P::Withdrawn => false,
    }
}

/// Drives a fresh request case into `phase` and returns the world and the last statement id.
fn request_in(phase: Phase) -> (World, Hash) {
    let mut w = World::new();
    let c = case_id(7);
    let req = w
        .apply(w.sign(request(&c, "us-cisa", "ru-nkcki", at(0))))
        .unwrap();
    let mut last = req;
    let steps: &[(Kind, &str, &str)] = match phase {
        Phase::Sent => &[],
        Phase::Delivered => &[(Kind::Delivered, "operator", "ru-nkcki")],
        Phase::Acknowledged => &[
            (Kind::Delivered, "operator", "ru-nkcki"),
            (Kind::Acknowledged, "ru-nkcki", "us-cisa"),
        ],
        Phase::InfoRequested => &[
            (Kind::Delivered, "operator", "ru-nkcki"),
            (Kind::Acknowledged, "ru-nkcki", "us-cisa"),
            (Kind::NeedInfo, "ru-nkcki", "us-cisa"),
        ],
        Phase::Answered => &[
            (Kind::Delivered, "operator", "ru-nkcki"),
            (Kind::Acknowledged, "ru-nkcki", "us-cisa"),
            (Kind::Answer, "ru-nkcki", "us-cisa"),
        ],
        Phase::Declined => &[
            (Kind::Delivered, "operator", "ru-nkcki"),
            (Kind::Declined, "ru-nkcki", "us-cisa"),
        ],
        Phase::Closed => &[(Kind::Closed, "us-cisa", "ru-nkcki")],
        Phase::Withdrawn => &[(Kind::Withdrawn, "us-cisa", "ru-nkcki")],
    };
    for (i, (kind, from, to)) in steps.iter().enumerate() {
        let t = at(10 * (i as i64 + 1));
        let st = if *kind == Kind::Delivered {
            delivered(&c, to, req, t)
        } else {
            follow_up(*kind, &c, from, to, &[last], t)
        };
        last = w.apply(w.sign(st)).unwrap();
    }
    assert_eq!(w.hotline.case(&c).unwrap().phase, phase);
    (w, last)
}

#[test]
fn every_follow_up_is_allowed_or_refused_as_the_lifecycle_says() {
    let phases = [
        Phase::Sent,
        Phase::Delivered,
        Phase::Acknowledged,
        Phase::InfoRequested,
        Phase::Answered,
        Phase::Declined,
        Phase::Closed,
        Phase::Withdrawn,
    ];
    let kinds = [
        Kind::Acknowledged,
        Kind::Update,
        Kind::NeedInfo,
        Kind::Answer,
        Kind::Declined,
        Kind::Closed,
        Kind::Withdrawn,
    ];
    let mut checked = 0;
    for phase in phases {
        let (w, last) = request_in(phase);
        for kind in kinds {
            for (who, from, to) in [('R', "us-cisa", "ru-nkcki"), ('P', "ru-nkcki", "us-cisa")] {
                let st = w.sign(follow_up(kind, &case_id(7), from, to, &[last], at(1000)));
                let got = w.hotline.check(&st);
                let want = expected_request(phase, kind, who);
                assert_eq!(
                    got.is_ok(),
                    want,
                    "{kind} by {from} in phase {phase}: got {got:?}"
                );
                if let Err(e) = got {
                    assert!(e.is_conflict(), "a refused transition is a conflict: {e}");
                    let msg = e.to_string();
                    assert!(msg.contains(&format!("is {phase}")), "{msg}");
                    assert!(
                        msg.contains("Allowed now") || msg.contains("Nothing more"),
                        "{msg}"
                    );
                }
                checked += 1;
            }
            // A third party is told the case does not exist, whatever the phase.
            let st = w.sign(follow_up(
                kind,
                &case_id(7),
                "us-fbi",
                "us-cisa",
                &[last],
                at(1000),
            ));
            assert!(matches!(
                w.hotline.check(&st),
                Err(DomainError::UnknownCase(_))
            ));
        }
    }
    assert_eq!(checked, 8 * 7 * 2);
}

#[test]
fn a_notice_needs_only_delivery_and_never_an_answer() {
    let mut w = World::new();
    let c = case_id(2);
    let n = w
        .apply(w.sign(notice(&c, "us-cisa", "ru-nkcki", at(0))))
        .unwrap();
    w.apply(w.sign(delivered(&c, "ru-nkcki", n, at(10))))
        .unwrap();
    for kind in [Kind::Answer, Kind::Declined, Kind::NeedInfo] {
        let st = w.sign(follow_up(kind, &c, "ru-nkcki", "us-cisa", &[n], at(20)));
        assert!(
            matches!(w.hotline.check(&st), Err(DomainError::Lifecycle(_))),
            "{kind}"
        );
    }
    w.apply(w.sign(follow_up(
        Kind::Acknowledged,
        &c,
        "ru-nkcki",
        "us-cisa",
        &[n],
        at(30),
    )))
    .unwrap();
    // No deadlines, so never overdue.
    assert!(w.hotline.due_overdues(at(100 * 86_400)).is_empty());
}

#[test]
fn wrong_recipient_refs_and_cases_are_refused() {
    let mut w = World::new();
    let c = case_id(3);
    let req = w
        .apply(w.sign(request(&c, "us-cisa", "ru-nkcki", at(0))))
        .unwrap();
    w.apply(w.sign(delivered(&c, "ru-nkcki", req, at(10))))
        .unwrap();
    // Addressed to the wrong party.
    let st = w.sign(follow_up(
        Kind::Acknowledged,
        &c,
        "ru-nkcki",
        "us-fbi",
        &[req],
        at(20),
    ));
    assert!(matches!(
        w.hotline.check(&st),
        Err(DomainError::WrongRecipient(_))
    ));
    // A ref into another case.
    let other = case_id(4);
    let other_req = w
        .apply(w.sign(request(&other, "us-fbi", "ru-nkcki", at(0))))
        .unwrap();
    let st = w.sign(follow_up(
        Kind::Acknowledged,
        &c,
        "ru-nkcki",
        "us-cisa",
        &[other_req],
        at(20),
    ));
    assert!(matches!(w.hotline.check(&st), Err(DomainError::BadRef(_))));
    // The same case id twice.
    let st = w.sign(request(&c, "us-fbi", "ru-nkcki", at(30)));
    assert!(matches!(
        w.hotline.check(&st),
        Err(DomainError::CaseExists(_))
    ));
    // To a party that does not exist.
    let st = w.sign(request(&case_id(5), "us-cisa", "xx-nobody", at(30)));
    assert!(matches!(
        w.hotline.check(&st),
        Err(DomainError::UnknownParty(_))
    ));
    // Delivered twice.
    let st = w.sign(delivered(&c, "ru-nkcki", req, at(40)));
    assert!(
        w.hotline
            .check(&st)
            .unwrap_err()
            .to_string()
            .contains("already delivered")
    );
    // Wrong origin.
    let mut s = request(&case_id(6), "us-cisa", "ru-nkcki", at(0));
    s.origin = "elsewhere.example/log".into();
    assert!(matches!(
        w.hotline.check(&w.sign(s)),
        Err(DomainError::WrongOrigin { .. })
    ));
}

#[test]
fn signatures_are_checked_against_the_directory() {
    let mut w = World::new();
    let s = request(&case_id(1), "us-cisa", "ru-nkcki", at(0));
    // Signed by another party's key under the author's name: unknown key, so not signed.
    let impostor = signer("us-cisa", 9);
    let signed = SignedStatement::sign(s.clone(), &[&impostor]).unwrap();
    let err = w.hotline.check(&signed).unwrap_err().to_string();
    assert!(err.contains("not signed by us-cisa"), "{err}");
    // Signed by ru-nkcki for us-cisa.
    let signed = SignedStatement::sign(s.clone(), &[&w.nkcki]).unwrap();
    assert!(matches!(
        w.hotline.check(&signed),
        Err(DomainError::Signature(_))
    ));
    // A tampered text no longer verifies.
    let good = w.sign(s.clone());
    let tampered = String::from_utf8(good.bytes.clone())
        .unwrap()
        .replace("handling H2", "handling H0");
    let parsed = SignedStatement::parse(tampered.as_bytes()).unwrap();
    let err = w.hotline.check(&parsed).unwrap_err().to_string();
    assert!(err.contains("does not verify"), "{err}");
    w.apply(good).unwrap();
}

#[test]
fn rotated_and_revoked_keys_sign_nothing_new() {
    let mut w = World::new();
    // Rotation needs the operator and the new key; the old key may sign too.
    let new_key = signer("us-cisa", 20);
    let mut rot = Statement::new(
        ORIGIN,
        Kind::KeyRotated,
        hotline_core::PartyId::operator(),
        at(0),
    );
    rot.party = Some(pid("us-cisa"));
    rot.party_fields.key = Some(new_key.verifier().to_vkey());
    rot.party_fields.recipients = vec![recipient_for(20)];
    let without_new = SignedStatement::sign(rot.clone(), &[&w.operator]).unwrap();
    assert!(
        w.hotline
            .check(&without_new)
            .unwrap_err()
            .to_string()
            .contains("new key")
    );
    let rotation = SignedStatement::sign(rot, &[&w.operator, &new_key, &w.cisa]).unwrap();
    let rotation_index = w.hotline.size();
    w.apply(rotation).unwrap();
    // The old key no longer signs; the new one does.
    let old = w.sign(request(&case_id(1), "us-cisa", "ru-nkcki", at(10)));
    assert!(matches!(
        w.hotline.check(&old),
        Err(DomainError::Signature(_))
    ));
    let fresh = SignedStatement::sign(
        request(&case_id(1), "us-cisa", "ru-nkcki", at(10)),
        &[&new_key],
    )
    .unwrap();
    w.hotline.check(&fresh).unwrap();
    // The key that signed the older statements is still known for them.
    let entry = w.hotline.directory().get(&pid("us-cisa")).unwrap();
    assert_eq!(
        entry.keys_before(rotation_index).unwrap().verifier,
        w.cisa.verifier()
    );
    assert_eq!(
        entry.keys_before(rotation_index + 1).unwrap().verifier,
        new_key.verifier()
    );

    // Revocation: the party can neither send nor receive.
    let mut rev = Statement::new(
        ORIGIN,
        Kind::PartyRevoked,
        hotline_core::PartyId::operator(),
        at(20),
    );
    rev.party = Some(pid("ru-nkcki"));
    rev.revocation_reason = Some(RevocationReason::Compromised);
    w.apply(SignedStatement::sign(rev, &[&w.operator]).unwrap())
        .unwrap();
    let from_revoked = w.sign(request(&case_id(2), "ru-nkcki", "us-cisa", at(30)));
    assert!(matches!(
        w.hotline.check(&from_revoked),
        Err(DomainError::Revoked(_))
    ));
    let to_revoked = SignedStatement::sign(
        request(&case_id(3), "us-cisa", "ru-nkcki", at(30)),
        &[&new_key],
    )
    .unwrap();
    assert!(matches!(
        w.hotline.check(&to_revoked),
        Err(DomainError::Revoked(_))
    ));
}

#[test]
fn registration_needs_the_operator_and_the_partys_own_signature() {
    let mut w = World::new();
    let key = signer("ae-csc", 30);
    let reg = registration(
        "ae-csc",
        &key,
        "UAE CSC CERT",
        "AE",
        PartyKind::NationalCert,
        30,
        at(0),
    );
    let only_operator = SignedStatement::sign(reg.clone(), &[&w.operator]).unwrap();
    let err = w.hotline.check(&only_operator).unwrap_err().to_string();
    assert!(err.contains("countersignature"), "{err}");
    let only_party = SignedStatement::sign(reg.clone(), &[&key]).unwrap();
    assert!(
        w.hotline
            .check(&only_party)
            .unwrap_err()
            .to_string()
            .contains("not signed by the operator")
    );
    w.apply(SignedStatement::sign(reg.clone(), &[&w.operator, &key]).unwrap())
        .unwrap();
    let again = SignedStatement::sign(reg, &[&w.operator, &key]).unwrap();
    assert!(matches!(
        w.hotline.check(&again),
        Err(DomainError::PartyExists(_))
    ));
    // A party key must carry the party's name.
    let misnamed = signer("someone-else", 31);
    let reg = registration(
        "ae-other",
        &misnamed,
        "x",
        "AE",
        PartyKind::Other,
        31,
        at(0),
    );
    let s = SignedStatement::sign(reg, &[&w.operator, &misnamed]).unwrap();
    assert!(
        w.hotline
            .check(&s)
            .unwrap_err()
            .to_string()
            .contains("named by its id")
    );
}

#[test]
fn the_first_statement_must_register_the_operator() {
    let mut h = hotline_core::Hotline::new(ORIGIN, Default::default());
    let key = signer("us-cisa", 2);
    let reg = registration(
        "us-cisa",
        &key,
        "x",
        "US",
        PartyKind::NationalCert,
        2,
        at(0),
    );
    let s = SignedStatement::sign(reg, &[&key]).unwrap();
    assert_eq!(h.apply(&s).unwrap_err(), DomainError::NoGenesis);
    assert_eq!(h.size(), 0);
}

#[test]
fn overdue_only_after_the_deadline_and_only_once() {
    let mut w = World::new();
    let c = case_id(8);
    let req = w
        .apply(w.sign(request(&c, "us-cisa", "ru-nkcki", at(0))))
        .unwrap();
    let ack_by = w.hotline.case(&c).unwrap().ack_by.unwrap();
    assert!(w.hotline.due_overdues(at(60)).is_empty());
    let early = w.sign(overdue(&c, "ru-nkcki", req, Deadline::Ack, at(60)));
    assert!(matches!(
        w.hotline.check(&early),
        Err(DomainError::Lifecycle(_))
    ));
    let due = w.hotline.due_overdues(ack_by);
    assert_eq!(due, vec![(c.clone(), Deadline::Ack, req, pid("ru-nkcki"))]);
    let late = w.sign(overdue(&c, "ru-nkcki", req, Deadline::Ack, ack_by));
    w.apply(late).unwrap();
    assert!(w.hotline.case(&c).unwrap().overdue_ack);
    assert!(w.hotline.due_overdues(ack_by).is_empty());
    // Naming the wrong party is refused.
    let answer_by = w.hotline.case(&c).unwrap().answer_by.unwrap();
    let wrong = w.sign(overdue(&c, "us-cisa", req, Deadline::Answer, answer_by));
    assert!(matches!(
        w.hotline.check(&wrong),
        Err(DomainError::WrongRecipient(_))
    ));
    // An acknowledgement after the deadline is still possible, and recorded as late.
    w.apply(w.sign(delivered(&c, "ru-nkcki", req, ack_by.plus(5))))
        .unwrap();
    w.apply(w.sign(follow_up(
        Kind::Acknowledged,
        &c,
        "ru-nkcki",
        "us-cisa",
        &[req],
        ack_by.plus(10),
    )))
    .unwrap();
    assert_eq!(w.hotline.due_overdues(answer_by).len(), 1);
}

#[test]
fn deadlines_shorter_than_the_policy_are_refused() {
    let w = World::new();
    let mut s = request(&case_id(9), "us-cisa", "ru-nkcki", at(0));
    s.ack_by = Some(at(60));
    let err = w.hotline.check(&w.sign(s)).unwrap_err().to_string();
    assert!(
        err.contains(
            "emergency requests allow at least 1 hour to acknowledge and 24 hours to answer"
        ),
        "{err}"
    );
}

#[test]
fn shared_statements_by_the_party_or_recorded_by_the_operator() {
    use hotline_core::vocab::{Collection, Tlp};
    let mut w = World::new();
    // The party's own signature.
    let s = w.sign(shared(
        "us-cisa",
        None,
        Collection::Shared,
        Tlp::Green,
        at(10),
    ));
    let text = String::from_utf8_lossy(&s.bytes).into_owned();
    assert!(text.contains("\nkind shared\n") && text.contains("\ncollection shared\n"));
    let back = SignedStatement::parse(&s.bytes).unwrap();
    assert_eq!(back.statement, s.statement);
    w.apply(s).unwrap();
    // The operator's record of a party's TAXII POST names the party.
    let op = w.sign(shared(
        "operator",
        Some("ru-nkcki"),
        Collection::Public,
        Tlp::Clear,
        at(20),
    ));
    w.apply(op).unwrap();
    assert_eq!(w.hotline.cases().count(), 0, "publications open no case");

    // Signed by someone else than its author.
    let mut forged = shared("us-cisa", None, Collection::Own, Tlp::Green, at(30));
    forged.time = at(31);
    let by_fbi = SignedStatement::sign(forged, &[w.key("us-fbi")]).unwrap();
    assert!(matches!(
        w.hotline.check(&by_fbi),
        Err(DomainError::Signature(_))
    ));
    // The operator must name the party, and a party must not.
    let no_party = shared("operator", None, Collection::Shared, Tlp::Green, at(40));
    assert_eq!(
        no_party.check_shape(),
        Err(StatementError::Missing {
            kind: Kind::Shared,
            key: "party"
        })
    );
    let party_line = shared(
        "us-cisa",
        Some("us-cisa"),
        Collection::Shared,
        Tlp::Green,
        at(40),
    );
    assert_eq!(
        party_line.check_shape(),
        Err(StatementError::NotAllowed {
            kind: Kind::Shared,
            key: "party"
        })
    );
    // Only CLEAR and GREEN are shared, and only CLEAR is public.
    for (c, t) in [
        (Collection::Shared, Tlp::Amber),
        (Collection::Own, Tlp::Red),
        (Collection::Public, Tlp::Green),
    ] {
        let st = shared("us-cisa", None, c, t, at(50));
        assert!(
            matches!(st.check_shape(), Err(StatementError::Inconsistent(m)) if m.contains("tlp")),
            "{c} {t}"
        );
    }
    // A shared statement belongs to no case.
    let mut with_case = shared("us-cisa", None, Collection::Shared, Tlp::Green, at(60));
    with_case.case = Some(case_id(1));
    assert_eq!(
        with_case.check_shape(),
        Err(StatementError::NotAllowed {
            kind: Kind::Shared,
            key: "case"
        })
    );
    // The operator cannot record a publication by a revoked party.
    let rev = {
        let mut st = Statement::new(ORIGIN, Kind::PartyRevoked, pid("operator"), at(70));
        st.party = Some(pid("us-fbi"));
        st.revocation_reason = Some(RevocationReason::Retired);
        w.sign(st)
    };
    w.apply(rev).unwrap();
    let late = w.sign(shared(
        "operator",
        Some("us-fbi"),
        Collection::Shared,
        Tlp::Green,
        at(80),
    ));
    assert!(matches!(
        w.hotline.check(&late),
        Err(DomainError::Revoked(_))
    ));
    // Zero objects are no publication, and a body holding one is never empty; the parser
    // refuses both as the Go checker does (xtask interop-statements).
    let mut none = shared("us-cisa", None, Collection::Shared, Tlp::Green, at(90));
    none.objects.as_mut().unwrap().count = 0;
    assert!(
        matches!(none.check_shape(), Err(StatementError::Inconsistent(m)) if m.contains("objects-count must not be 0")),
    );
    let mut empty = shared("us-cisa", None, Collection::Shared, Tlp::Green, at(90));
    empty.objects.as_mut().unwrap().size = 0;
    assert!(
        matches!(empty.check_shape(), Err(StatementError::Inconsistent(m)) if m.contains("objects-size must not be 0")),
    );
    let text = String::from_utf8_lossy(&w.log[4].bytes).into_owned();
    for key in ["objects-count", "objects-size"] {
        let zeroed: String = text
            .split_inclusive('\n')
            .map(|l| {
                if l.starts_with(&format!("{key} ")) {
                    format!("{key} 0\n")
                } else {
                    l.to_owned()
                }
            })
            .collect();
        assert_ne!(zeroed, text);
        let err = SignedStatement::parse(zeroed.as_bytes())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("{key} must not be 0")),
            "{key}: {err}"
        );
    }
    // Likewise an empty payload: an age file never is (the Go checker refuses it too).
    let mut empty_payload = request(&case_id(7), "us-cisa", "ru-nkcki", at(95));
    empty_payload.payload.as_mut().unwrap().size = 0;
    assert!(
        matches!(empty_payload.check_shape(), Err(StatementError::Inconsistent(m)) if m.contains("payload-size must not be 0")),
    );
    // Lines out of place are refused by the parser, as for every kind.
    let swapped = text.replace("collection shared\n", "").replace(
        "objects-count 12\n",
        "objects-count 12\ncollection shared\n",
    );
    assert!(SignedStatement::parse(swapped.as_bytes()).is_err());
}
