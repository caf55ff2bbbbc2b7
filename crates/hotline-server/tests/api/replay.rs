//! Replays and what old keys can still do. A statement sent again — exactly, by someone else, to
//! another recipient, into another case, with a stale time, after a restart, to another hotline
//! — is either idempotent (the original receipt, nothing appended) or refused with a 4xx that
//! names the problem; after every refusal the log and everything stored are unchanged. A
//! rotated or revoked key signs nothing new, and every statement it signed before still
//! verifies, by its own key and by an auditor replaying the whole log.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::lifecycle::Phase;
use hotline_core::statement::SignedStatement;
use hotline_core::vocab::{Kind, PartyId};
use hotline_crypto::PartyKeys;
use hotline_server::api::{ReceiptDto, StatementDto};
use hotline_server::service::ServiceError;
use hotline_tlog::note::NoteSigner;
use hotline_tlog::{Ed25519Verifier, Hash, Note, NoteVerifier, TlogProof};
use serde_json::json;

use crate::fixture::*;

/// Submits a statement given as text (e.g. edited), with its payload.
fn submit_text(h: &TestHotline, token: &str, statement: &str, payload: Option<&[u8]>) -> Resp {
    let mut body = json!({ "statement": statement });
    if let Some(p) = payload {
        body["payload"] = json!(B64.encode(p));
    }
    h.post("/api/v1/statements", Some(token), body)
}

/// A statement as the log holds it, with its receipt, read by `reader`.
fn in_log(h: &TestHotline, reader: &Party, id: &Hash) -> StatementDto {
    h.get(
        &format!("/api/v1/statements/{}", id.to_hex()),
        Some(&reader.token),
    )
    .expect(200)
    .json()
}

/// Asserts that `r` is the idempotent answer to a replay of `original`: 200, `new: false`, the
/// same id, index and case, and a receipt that verifies against the log key.
#[track_caller]
fn same_receipt(h: &TestHotline, r: Resp, original: &ReceiptDto, id: &Hash) {
    let got: ReceiptDto = r.expect(200).json();
    assert!(!got.new, "a replay is reported as new: {got:?}");
    assert_eq!(
        (&got.id, &got.id_hex, got.index, &got.case),
        (
            &original.id,
            &original.id_hex,
            original.index,
            &original.case
        ),
        "a replay got another receipt than the original"
    );
    let proof = TlogProof::parse(got.receipt.as_bytes()).unwrap();
    assert_eq!(proof.index, original.index);
    proof.verify(id, &h.origin, &[&h.log_vkey]).unwrap();
}

/// Replaces exactly one occurrence of `from` in a statement's text.
fn edit(s: &SignedStatement, from: &str, to: &str) -> String {
    let t = text(s);
    assert_eq!(t.matches(from).count(), 1, "{from:?} in {t}");
    t.replacen(from, to, 1)
}

#[test]
fn an_exact_resubmission_returns_the_original_receipt_and_appends_nothing() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let c = h.register("charlie");
    let case = h.case_in(Phase::Acknowledged, &a, &b);
    let everyone = [&a, &b, &c];
    let opening = in_log(&h, &a, &case.opening.id).receipt;
    let ack = in_log(&h, &b, &case.last);
    assert_eq!(ack.kind, "acknowledged");
    let before = h.stored(&everyone);

    // The author sends its request again, three times, with its payload: the original
    // receipt each time.
    for _ in 0..3 {
        let r = h.submit(Some(&a.token), &case.opening, Some(&case.ciphertext));
        same_receipt(&h, r, &opening, &case.opening.id);
    }
    // The responder's acknowledgement, exactly as the log serves it.
    let r = submit_text(&h, &b.token, &ack.statement, None);
    same_receipt(&h, r, &ack.receipt, &case.last);
    // A replay is matched by its bytes: the payload sent along with it is not looked at, and
    // never replaces the stored one.
    let r = h.submit(Some(&a.token), &case.opening, None);
    same_receipt(&h, r, &opening, &case.opening.id);
    let r = h.submit(Some(&a.token), &case.opening, Some(b"not the ciphertext"));
    same_receipt(&h, r, &opening, &case.opening.id);
    assert_eq!(
        h.stored(&everyone),
        before,
        "a replay changed what is stored"
    );
    let stored = h
        .get(
            &format!("/api/v1/statements/{}/payload", case.opening.id.to_hex()),
            Some(&a.token),
        )
        .expect(200);
    assert_eq!(stored.body, case.ciphertext);

    // Nobody but its author may replay a statement, not even the party it was sent to.
    for (who, token) in [
        ("bravo", b.token.as_str()),
        ("charlie", c.token.as_str()),
        ("operator", h.operator_token.as_str()),
    ] {
        h.refuses(
            &format!("{who} resubmits alpha's request"),
            &everyone,
            403,
            &[
                &format!("you are authenticated as {who}"),
                "the statement's author is alpha",
            ],
            || h.submit(Some(token), &case.opening, Some(&case.ciphertext)),
        );
    }
    h.refuses(
        "alpha resubmits bravo's acknowledgement",
        &everyone,
        403,
        &["the statement's author is bravo"],
        || submit_text(&h, &a.token, &ack.statement, None),
    );
    h.audit();
}

#[test]
fn the_same_new_statement_sent_concurrently_is_appended_once() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let case = h.case_in(Phase::Delivered, &a, &b);
    let (st, payload) = h.follow_up(
        &b,
        &a.id,
        &case.id,
        Kind::Acknowledged,
        &[case.last],
        Some("ack"),
    );
    let s = b.sign(st);
    let size = h.log_size();
    let body = json!({
        "statement": text(&s),
        "payload": B64.encode(payload.unwrap()),
    });
    let url = format!("http://{}/api/v1/statements", h.addr);
    let answers: Vec<(u16, ReceiptDto)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (url, body, token) = (&url, &body, &b.token);
                scope.spawn(move || {
                    let r = reqwest::blocking::Client::new()
                        .post(url)
                        .bearer_auth(token)
                        .json(body)
                        .send()
                        .unwrap();
                    (r.status().as_u16(), r.json::<ReceiptDto>().unwrap())
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let created = answers.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 1, "{answers:?}");
    assert!(
        answers.iter().all(|(status, r)| (*status == 201) == r.new
            && (*status == 200 || *status == 201)
            && r.index == size
            && r.id == s.id.to_base64()),
        "{answers:?}"
    );
    assert_eq!(h.log_size(), size + 1);
    assert_eq!(h.phase_of(&case.id), "acknowledged");
    h.audit();
}

#[test]
fn a_statement_sent_to_another_recipient_does_not_verify() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let c = h.register("charlie");
    let everyone = [&a, &b, &c];
    let case = h.case_in(Phase::Acknowledged, &a, &b);

    // alpha's request to bravo, re-addressed to charlie: the signature covers the recipient.
    let retargeted = edit(
        &case.opening,
        "\nrecipient bravo\n",
        "\nrecipient charlie\n",
    );
    let e = h.refuses(
        "alpha's request re-addressed to charlie",
        &everyone,
        400,
        &["signature", "alpha", "does not verify"],
        || submit_text(&h, &a.token, &retargeted, Some(&case.ciphertext)),
    );
    assert!(e.phase.is_none());
    // charlie cannot submit it either: it is not charlie's statement.
    h.refuses(
        "charlie submits alpha's re-addressed request",
        &everyone,
        403,
        &["the statement's author is alpha"],
        || submit_text(&h, &c.token, &retargeted, Some(&case.ciphertext)),
    );

    // bravo's acknowledgement to alpha, re-addressed to charlie.
    let ack = in_log(&h, &b, &case.last);
    let ack = SignedStatement::parse(ack.statement.as_bytes()).unwrap();
    let retargeted = edit(&ack, "\nrecipient alpha\n", "\nrecipient charlie\n");
    h.refuses(
        "bravo's acknowledgement re-addressed to charlie",
        &everyone,
        400,
        &["signature", "bravo", "does not verify"],
        || submit_text(&h, &b.token, &retargeted, None),
    );

    // Signed anew by its author for the other recipient, it is still refused: the case is
    // alpha's and bravo's (and charlie learns nothing about it).
    let (mut st, p) = h.follow_up(
        &a,
        &c.id,
        &case.id,
        Kind::Update,
        &[case.last],
        Some("update for charlie"),
    );
    st.recipient = Some(c.id.clone());
    let s = a.sign(st);
    h.refuses(
        "alpha's update in its case with bravo, addressed to charlie",
        &everyone,
        400,
        &[&format!(
            "in case {} the recipient of alpha's statements is bravo",
            case.id
        )],
        || h.submit(Some(&a.token), &s, p.as_deref()),
    );
    assert_eq!(h.phase_of(&case.id), "acknowledged");
    h.audit();
}

#[test]
fn a_payload_or_a_ref_from_another_case_is_refused() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let parties = [&a, &b];
    let one = h.case_in(Phase::Delivered, &a, &b);
    let two = h.case_in(Phase::Delivered, &a, &b);

    // alpha's update in case two, committing to its own payload, sent with case one's.
    let (st, own) = h.follow_up(
        &a,
        &b.id,
        &two.id,
        Kind::Update,
        &[two.last],
        Some("update"),
    );
    let s = a.sign(st);
    let e = h.refuses(
        "an update of case two with the payload of case one",
        &parties,
        400,
        &["payload"],
        || h.submit(Some(&a.token), &s, Some(&one.ciphertext)),
    );
    assert!(
        e.error.contains("the payload's SHA-256 is") || e.error.contains("payload-size says"),
        "{}",
        e.error
    );

    // alpha's update in case two, referring to case one's request.
    let (st, p) = h.follow_up(
        &a,
        &b.id,
        &two.id,
        Kind::Update,
        &[one.opening.id],
        Some("update"),
    );
    let s2 = a.sign(st);
    h.refuses(
        "an update of case two referring to case one",
        &parties,
        400,
        &[&format!(
            "ref {} is not an earlier statement of this case",
            one.opening.id.to_base64()
        )],
        || h.submit(Some(&a.token), &s2, p.as_deref()),
    );

    // Both cases are as they were, and the update with its own payload goes through.
    assert_eq!(h.phase_of(&one.id), "delivered");
    assert_eq!(h.phase_of(&two.id), "delivered");
    h.submit(Some(&a.token), &s, own.as_deref()).expect(201);
    h.audit();
}

#[test]
fn a_follow_up_moved_into_another_case_is_refused() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let parties = [&a, &b];
    let one = h.case_in(Phase::Delivered, &a, &b);
    let two = h.case_in(Phase::Delivered, &a, &b);

    // bravo's acknowledgement of case one, its case line edited to case two.
    let (st, _) = h.follow_up(&b, &a.id, &one.id, Kind::Acknowledged, &[one.last], None);
    let ack_one = b.sign(st);
    let moved = edit(
        &ack_one,
        &format!("\ncase {}\n", one.id),
        &format!("\ncase {}\n", two.id),
    );
    h.refuses(
        "case one's acknowledgement with its case line edited to case two",
        &parties,
        400,
        &["signature", "bravo", "does not verify"],
        || submit_text(&h, &b.token, &moved, None),
    );

    // Properly signed for case two, but referring to case one's statements.
    let (st, _) = h.follow_up(&b, &a.id, &two.id, Kind::Acknowledged, &[one.last], None);
    let s = b.sign(st);
    h.refuses(
        "an acknowledgement of case two referring to case one",
        &parties,
        400,
        &[&format!(
            "ref {} is not an earlier statement of this case",
            one.last.to_base64()
        )],
        || h.submit(Some(&b.token), &s, None),
    );
    assert_eq!(h.phase_of(&one.id), "delivered");
    assert_eq!(h.phase_of(&two.id), "delivered");

    // The genuine acknowledgement of case one is accepted, and moves case one only.
    h.submit(Some(&b.token), &ack_one, None).expect(201);
    assert_eq!(h.phase_of(&one.id), "acknowledged");
    assert_eq!(h.phase_of(&two.id), "delivered");
    h.audit();
}

#[test]
fn a_time_more_than_five_minutes_off_is_refused_and_the_edge_is_accepted() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let parties = [&a, &b];
    let skew = h.service.max_clock_skew();
    assert_eq!(skew, 300, "the default allows five minutes");
    let info: serde_json::Value = h.get("/api/v1/hotline", None).expect(200).json();
    assert_eq!(info["max_clock_skew"], skew, "clients are told the window");
    let t0 = h.now();

    // The service refuses |statement time - server clock| > max_clock_skew: 300 s off either
    // way is accepted, 301 s refused. `offset` is how far the server's clock is ahead of the
    // statement's time when it is submitted.
    for offset in [skew + 1, -(skew + 1), skew + 3600, -(skew + 3600)] {
        h.set_now(t0);
        let (st, ct) = h.request(&a, &b.id, "stale");
        let s = a.sign(st);
        h.set_now(t0.plus(offset));
        h.refuses(
            &format!("a request signed {offset} s before the server's clock"),
            &parties,
            400,
            &[
                &format!("the statement's time {t0} is {} s from", offset.abs()),
                &format!("at most {skew} s are allowed"),
                "check your clock",
            ],
            || h.submit(Some(&a.token), &s, Some(&ct)),
        );
    }
    for offset in [skew, -skew, 0] {
        h.set_now(t0);
        let (st, ct) = h.request(&a, &b.id, "on time");
        let s = a.sign(st);
        h.set_now(t0.plus(offset));
        let r = h.submit(Some(&a.token), &s, Some(&ct));
        assert_eq!(r.status, 201, "offset {offset}: {}", r.text());
    }

    // An accepted statement sent again an hour later is a replay, not a stale statement: the
    // original receipt, nothing appended.
    h.set_now(t0);
    let case = h.case_in(Phase::Sent, &a, &b);
    let original = in_log(&h, &a, &case.opening.id).receipt;
    h.set_now(t0.plus(3600));
    let before = h.stored(&parties);
    let r = h.submit(Some(&a.token), &case.opening, Some(&case.ciphertext));
    same_receipt(&h, r, &original, &case.opening.id);
    assert_eq!(h.stored(&parties), before);
    h.audit();
}

#[test]
fn after_a_restart_replays_get_the_original_receipt_and_the_state_is_the_same() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let parties = [&a, &b];
    let open = h.case_in(Phase::Acknowledged, &a, &b);
    let closed = h.case_in(Phase::Closed, &a, &b);
    let opening = in_log(&h, &a, &open.opening.id).receipt;
    let ack = in_log(&h, &b, &open.last);
    let close = in_log(&h, &a, &closed.last);
    let before = h.stored(&parties);
    let cases_before: Vec<serde_json::Value> = [&open, &closed]
        .iter()
        .map(|c| {
            h.get(&format!("/api/v1/cases/{}", c.id), Some(&a.token))
                .expect(200)
                .json()
        })
        .collect();

    let h = h.restart();
    assert_eq!(
        h.stored(&parties),
        before,
        "the restarted hotline shows another state"
    );
    for (c, was) in [&open, &closed].iter().zip(&cases_before) {
        let now: serde_json::Value = h
            .get(&format!("/api/v1/cases/{}", c.id), Some(&a.token))
            .expect(200)
            .json();
        assert_eq!(&now, was, "case {} changed across the restart", c.id);
    }

    let r = h.submit(Some(&a.token), &open.opening, Some(&open.ciphertext));
    same_receipt(&h, r, &opening, &open.opening.id);
    let r = submit_text(&h, &b.token, &ack.statement, None);
    same_receipt(&h, r, &ack.receipt, &open.last);
    let r = submit_text(&h, &a.token, &close.statement, None);
    same_receipt(&h, r, &close.receipt, &closed.last);
    assert_eq!(
        h.stored(&parties),
        before,
        "a replay after a restart changed something"
    );
    h.refuses(
        "bravo resubmits alpha's request after the restart",
        &parties,
        403,
        &["the statement's author is alpha"],
        || h.submit(Some(&b.token), &open.opening, Some(&open.ciphertext)),
    );
    // A closed case stays closed.
    let (st, p) = h.follow_up(
        &a,
        &b.id,
        &closed.id,
        Kind::Update,
        &[closed.last],
        Some("after close"),
    );
    let s = a.sign(st);
    let e = h.refuses(
        "an update of a closed case after the restart",
        &parties,
        409,
        &["update"],
        || h.submit(Some(&a.token), &s, p.as_deref()),
    );
    assert_eq!(e.phase.as_deref(), Some("closed"));

    // New statements continue the log where it was.
    let size = h.log_size();
    let (st, p) = h.follow_up(
        &b,
        &a.id,
        &open.id,
        Kind::Answer,
        &[open.last],
        Some("answer"),
    );
    let r = h.send(&b, st, p.as_deref());
    assert_eq!(r.index, size);
    assert_eq!(h.log_size(), size + 1);
    h.audit();
}

#[test]
fn a_statement_accepted_by_one_hotline_is_refused_by_another() {
    let one = TestHotline::start();
    let two = TestHotline::start_with_origin("other-hotline.example/log");
    let a1 = one.register("alpha");
    let b1 = one.register("bravo");
    // The same parties, with the same keys, registered with the other hotline too.
    let copy = |p: &Party| PartyKeys::from_key_file(&p.keys.to_key_file()).unwrap();
    let a2 = two.register_keys(copy(&a1));
    let b2 = two.register_keys(copy(&b1));
    let case = one.case_in(Phase::Acknowledged, &a1, &b1);
    let ack = in_log(&one, &b1, &case.last);

    two.refuses(
        "a request accepted by one hotline, sent to another",
        &[&a2, &b2],
        400,
        &[
            &format!("statement is for hotline {:?}", one.origin),
            &format!("this is {:?}", two.origin),
        ],
        || two.submit(Some(&a2.token), &case.opening, Some(&case.ciphertext)),
    );
    two.refuses(
        "an acknowledgement accepted by one hotline, sent to another",
        &[&a2, &b2],
        400,
        &[&format!("statement is for hotline {:?}", one.origin)],
        || submit_text(&two, &b2.token, &ack.statement, None),
    );
    assert_eq!(
        two.phase_of(case.opening.statement.case.as_ref().unwrap()),
        "no such case"
    );
}

/// Checks every case statement of the log by `party` against the key the directory says was
/// current at its position, and returns their log indexes.
fn check_by_epoch(h: &TestHotline, party: &PartyId) -> Vec<u64> {
    let audited = h.audit();
    let entry = audited.directory().get(party).unwrap().clone();
    let mut indexes = Vec::new();
    for (i, e) in h.entries().iter().enumerate() {
        let s = SignedStatement::parse(e).unwrap();
        if s.statement.author != *party {
            continue;
        }
        let i = i as u64;
        let key = &entry
            .keys_before(i)
            .unwrap_or_else(|| panic!("no key of {party} before index {i}"))
            .verifier;
        s.note
            .verify(&[key as &dyn NoteVerifier])
            .unwrap_or_else(|e| panic!("entry {i} by {party}: {e}"));
        indexes.push(i);
    }
    indexes
}

/// Whether every entry at `indexes` verifies with `key`.
fn all_verify(h: &TestHotline, indexes: &[u64], key: &Ed25519Verifier) -> bool {
    let entries = h.entries();
    indexes.iter().all(|&i| {
        Note::parse(&entries[i as usize])
            .unwrap()
            .verify(&[key as &dyn NoteVerifier])
            .is_ok()
    })
}

#[test]
fn a_rotated_key_signs_nothing_new_and_what_it_signed_still_verifies() {
    let h = TestHotline::start();
    let mut a = h.register("alpha");
    let b = h.register("bravo");
    let case = h.case_in(Phase::Acknowledged, &a, &b);
    let (st, p) = h.follow_up(
        &a,
        &b.id,
        &case.id,
        Kind::Update,
        &[case.last],
        Some("before rotation"),
    );
    let update = a.sign(st);
    let update_receipt: ReceiptDto = h
        .submit(Some(&a.token), &update, p.as_deref())
        .expect(201)
        .json();
    let old = PartyKeys::from_key_file(&a.keys.to_key_file()).unwrap();
    let before_rotation = check_by_epoch(&h, &a.id);
    assert_eq!(before_rotation.len(), 2, "alpha's request and update");

    let rotation = h.rotate(&mut a);
    let new_vkey = a.keys.verifier().to_vkey();
    assert_ne!(new_vkey, old.verifier().to_vkey());
    let parties = [&a, &b];

    // A new statement signed with the old key: refused, naming the key that is expected now.
    let (st, p) = h.follow_up(
        &a,
        &b.id,
        &case.id,
        Kind::Update,
        &[case.last],
        Some("old key"),
    );
    let by_old = SignedStatement::sign(st.clone(), &[old.signer() as &dyn NoteSigner]).unwrap();
    h.refuses(
        "a new statement signed with alpha's rotated-out key",
        &parties,
        400,
        &["signature: not signed by alpha", &new_vkey],
        || h.submit(Some(&a.token), &by_old, p.as_deref()),
    );
    // Signed by the old and the new key, it is accepted (the old signature is that of an
    // unknown key now, which signed-note ignores); by the new key alone, too.
    let both = SignedStatement::sign(
        st,
        &[
            old.signer() as &dyn NoteSigner,
            a.keys.signer() as &dyn NoteSigner,
        ],
    )
    .unwrap();
    h.submit(Some(&a.token), &both, p.as_deref()).expect(201);
    let (st, p) = h.follow_up(
        &a,
        &b.id,
        &case.id,
        Kind::Update,
        &[case.last],
        Some("new key"),
    );
    h.send(&a, st, p.as_deref());

    // What alpha signed before the rotation is still in the log with its receipt, and a replay
    // of it is still idempotent.
    let before = h.stored(&parties);
    let r = h.submit(Some(&a.token), &update, None);
    same_receipt(&h, r, &update_receipt, &update.id);
    assert_eq!(h.stored(&parties), before);

    // Every statement checks against the directory as it stood at its position (the auditor's
    // replay of the whole log), the old ones verify by the old key, the new ones by the new.
    let all = check_by_epoch(&h, &a.id);
    let (earlier, later): (Vec<u64>, Vec<u64>) = all.iter().partition(|&&i| i < rotation.index);
    assert_eq!(earlier, before_rotation);
    assert_eq!(later.len(), 2);
    assert!(all_verify(&h, &earlier, &old.verifier()));
    assert!(
        !earlier
            .iter()
            .any(|&i| all_verify(&h, &[i], &a.keys.verifier()))
    );
    assert!(all_verify(&h, &later, &a.keys.verifier()));
    // The rotation itself is signed by the operator and the new key.
    let entries = h.entries();
    let rot = Note::parse(&entries[rotation.index as usize]).unwrap();
    rot.verify(&[&h.operator.verifier() as &dyn NoteVerifier])
        .unwrap();
    rot.verify(&[&a.keys.verifier() as &dyn NoteVerifier])
        .unwrap();
}

#[test]
fn a_revoked_party_can_submit_nothing_and_what_it_signed_still_verifies() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let c = h.register("charlie");
    let case = h.case_in(Phase::Acknowledged, &a, &b);
    let ack = in_log(&h, &b, &case.last);
    let signed_before = check_by_epoch(&h, &b.id);
    assert_eq!(signed_before.len(), 1, "bravo's acknowledgement");
    let revocation = h.revoke(&b);
    let everyone = [&a, &c];

    // Its token no longer authenticates.
    let (st, p) = h.follow_up(
        &b,
        &a.id,
        &case.id,
        Kind::Answer,
        &[case.last],
        Some("answer"),
    );
    let answer = b.sign(st);
    h.refuses(
        "a revoked party's answer with its token",
        &everyone,
        401,
        &["unknown or revoked API token"],
        || h.submit(Some(&b.token), &answer, p.as_deref()),
    );
    // Its key signs nothing either, even for a caller the service takes to be bravo (as if its
    // token had not been revoked).
    let before = h.stored(&everyone);
    let by_key = h.block_on(h.service.submit(&b.id, &answer.bytes, p.clone()));
    match by_key {
        Err(ServiceError::BadRequest(m)) => assert!(
            m.contains("party bravo has been revoked and can no longer make or receive statements"),
            "{m}"
        ),
        Err(e) => panic!("unexpected error for a revoked key: {e:?}"),
        Ok(s) => panic!(
            "a revoked key's statement was accepted at index {}",
            s.receipt.index
        ),
    }
    let (st, ct) = h.request(&b, &a.id, "new case by a revoked party");
    let request = b.sign(st);
    assert!(
        h.block_on(h.service.submit(&b.id, &request.bytes, Some(ct)))
            .is_err_and(|e| e.to_string().contains("bravo has been revoked"))
    );
    assert_eq!(h.stored(&everyone), before);
    // Its earlier statements cannot be replayed by anyone else.
    h.refuses(
        "alpha resubmits the revoked party's acknowledgement",
        &everyone,
        403,
        &["the statement's author is bravo"],
        || submit_text(&h, &a.token, &ack.statement, None),
    );
    // Nobody can open a case with it (the payload is sealed for charlie: the directory no
    // longer lists a key of bravo's to encrypt to).
    let (mut st, ct) = h.request(&a, &c.id, "to a revoked party");
    st.recipient = Some(b.id.clone());
    let s = a.sign(st);
    h.refuses(
        "a request to a revoked party",
        &everyone,
        400,
        &["party bravo has been revoked"],
        || h.submit(Some(&a.token), &s, Some(&ct)),
    );

    // Everything bravo signed before its revocation still checks, by the key it had then.
    let after = check_by_epoch(&h, &b.id);
    assert_eq!(after, signed_before);
    assert!(after.iter().all(|&i| i < revocation.index));
    assert!(all_verify(&h, &after, &b.keys.verifier()));
    let dir: Vec<hotline_server::api::PartyDto> = h.get("/api/v1/parties", None).expect(200).json();
    let bravo = dir.iter().find(|p| p.id == "bravo").unwrap();
    assert_eq!(bravo.vkey, None);
    assert_eq!(
        bravo.revoked.as_ref().map(|(i, r)| (*i, r.as_str())),
        Some((revocation.index, "retired"))
    );
}

/// A party's statement in a case whose other party was revoked: docs/statements.md says a
/// statement is accepted only if "the recipient is registered and not revoked".
#[test]
fn a_follow_up_to_a_revoked_party_is_refused() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let case = h.case_in(Phase::Acknowledged, &a, &b);
    h.revoke(&b);
    let (st, p) = h.follow_up(
        &a,
        &b.id,
        &case.id,
        Kind::Update,
        &[case.last],
        Some("to a revoked party"),
    );
    let s = a.sign(st);
    h.refuses(
        "an update to a revoked party",
        &[&a],
        400,
        &["party bravo has been revoked"],
        || h.submit(Some(&a.token), &s, p.as_deref()),
    );
    // Its counterpart can still end the case.
    let (st, p) = h.follow_up(&a, &b.id, &case.id, Kind::Closed, &[case.last], None);
    let closed = h.send(&a, st, p.as_deref());
    assert!(closed.new);
    assert_eq!(h.phase_of(&case.id), "closed");
}
