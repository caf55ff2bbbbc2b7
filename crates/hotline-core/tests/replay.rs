//! `replay`: signatures verified ahead, with keys that may be stale, then applied in order,
//! give exactly the outcome of applying the log one statement at a time — the same final
//! state, or the same first refused entry with the same error.
#![allow(clippy::unwrap_used, missing_docs)]

mod fixture;

use fixture::*;
use hotline_core::replay::{CurrentKeys, KeyTables, preverify};
use hotline_core::vocab::Kind;
use hotline_core::{Hotline, SignedStatement, Statement};
use hotline_tlog::Ed25519Signer;

/// A log of the fixture's hotline: cases by us-cisa, then a rotation of us-cisa's key, then
/// cases signed with the new key (`old_key_after_rotation`: one of them signed with the old).
fn log(old_key_after_rotation: bool) -> Vec<SignedStatement> {
    let mut w = World::new();
    let mut t = 0;
    let mut cases = |w: &mut World, from: u64, key: Option<&Ed25519Signer>| {
        // 100 cases of 2 statements per run: chunks of 1000 hold more signatures than the
        // smallest batch `verify_batch` makes (`hotline_tlog::batch::MIN_BATCH`).
        for n in from..from + 100 {
            t += 10;
            let c = case_id(n);
            let st = notice(&c, "us-cisa", "ru-nkcki", at(t));
            let signed = match key {
                Some(k) => SignedStatement::sign(st, &[k]).unwrap(),
                None => w.sign(st),
            };
            let id = signed.id;
            w.log.push(signed);
            let d = w.sign(delivered(&c, "ru-nkcki", id, at(t + 1)));
            w.log.push(d);
        }
    };
    cases(&mut w, 1, None);
    let new_key = signer("us-cisa", 20);
    let mut rot = Statement::new(
        ORIGIN,
        Kind::KeyRotated,
        hotline_core::PartyId::operator(),
        at(500),
    );
    rot.party = Some(pid("us-cisa"));
    rot.party_fields.key = Some(new_key.verifier().to_vkey());
    rot.party_fields.recipients = vec![recipient_for(20)];
    w.log
        .push(SignedStatement::sign(rot, &[&w.operator, &new_key]).unwrap());
    cases(&mut w, 200, Some(&new_key));
    if old_key_after_rotation {
        // Verifies under the key us-cisa had before: a stale preverification accepts it.
        let st = notice(&case_id(999), "us-cisa", "ru-nkcki", at(900));
        w.log.push(w.sign(st));
    }
    cases(&mut w, 400, Some(&new_key));
    w.log
}

/// One statement at a time.
fn one_by_one(log: &[SignedStatement]) -> (Hotline, Option<(usize, String)>) {
    let mut h = Hotline::new(ORIGIN, hotline_core::DeadlinePolicy::default());
    for (i, s) in log.iter().enumerate() {
        if let Err(e) = h.apply(s) {
            return (h, Some((i, e.to_string())));
        }
    }
    (h, None)
}

/// Chunks of `chunk` entries, every chunk preverified with `keys_for(chunk number)`.
fn ahead(
    log: &[SignedStatement],
    chunk: usize,
    keys_for: impl Fn(usize) -> CurrentKeys,
) -> (Hotline, Option<(usize, String)>, usize) {
    let tables = KeyTables::new();
    let mut h = Hotline::new(ORIGIN, hotline_core::DeadlinePolicy::default());
    let mut preverified = 0;
    for (c, part) in log.chunks(chunk).enumerate() {
        let entries: Vec<&[u8]> = part.iter().map(|s| s.bytes.as_slice()).collect();
        let out = preverify(&entries, &keys_for(c), &tables);
        for (i, p) in out.iter().enumerate() {
            preverified += usize::from(p.verified_with.is_some());
            if let Err(e) = h.apply_preverified(p) {
                return (h, Some((c * chunk + i, e.to_string())), preverified);
            }
        }
    }
    (h, None, preverified)
}

/// The keys after applying the first `n` statements.
fn keys_after(log: &[SignedStatement], n: usize) -> CurrentKeys {
    let (h, err) = one_by_one(&log[..n]);
    assert!(err.is_none());
    h.current_keys()
}

#[test]
fn stale_keys_and_busy_key_tables_give_the_one_by_one_outcome() {
    let log = log(false);
    let (h1, e1) = one_by_one(&log);
    assert!(e1.is_none(), "{e1:?}");
    let rotation = log
        .iter()
        .position(|s| s.statement.kind == Kind::KeyRotated)
        .unwrap();
    let before_rotation = keys_after(&log, rotation);
    let everything = keys_after(&log, log.len());
    for chunk in [1, 7, 64, 1000] {
        // Always the keys from before the rotation: every statement signed with the new key
        // fails its preverification and is verified in order instead.
        let (h2, e2, pre) = ahead(&log, chunk, |_| before_rotation.clone());
        assert!(e2.is_none(), "chunk {chunk}: {e2:?}");
        assert_eq!(h2.size(), h1.size());
        assert_eq!(h2.cases().count(), h1.cases().count());
        assert!(
            pre > 40,
            "chunk {chunk}: the old key's statements were preverified ({pre})"
        );
        // Keys from the future (after the rotation) for every chunk: the statements before
        // it fail their preverification (or are not even attempted) but still apply.
        let (h3, e3, _) = ahead(&log, chunk, |_| everything.clone());
        assert!(e3.is_none(), "chunk {chunk}: {e3:?}");
        assert_eq!(h3.size(), h1.size());
        // No keys at all.
        let (h4, e4, pre) = ahead(&log, chunk, |_| CurrentKeys::default());
        assert!(e4.is_none(), "chunk {chunk}: {e4:?}");
        assert_eq!((h4.size(), pre), (h1.size(), 0));
    }
}

#[test]
fn an_old_key_verified_ahead_is_refused_where_it_is_no_longer_current() {
    let log = log(true);
    let (_, e1) = one_by_one(&log);
    let (at_index, error) = e1.clone().expect("the old key's statement is refused");
    assert_eq!(log[at_index].statement.case, Some(case_id(999)));
    let rotation = log
        .iter()
        .position(|s| s.statement.kind == Kind::KeyRotated)
        .unwrap();
    let before_rotation = keys_after(&log, rotation);
    for chunk in [1, 5, 64, 1000] {
        let (_, e2, _) = ahead(&log, chunk, |_| before_rotation.clone());
        assert_eq!(e2, e1, "chunk {chunk}: same entry, same error ({error})");
    }
}

#[test]
fn a_bad_signature_is_named_as_one_by_one() {
    let mut log = log(false);
    // Tamper with the signature of the 30th statement after the registrations.
    let victim = 4 + 30;
    let mut bytes = log[victim].bytes.clone();
    let n = bytes.len();
    bytes[n - 10] = if bytes[n - 10] == b'A' { b'B' } else { b'A' };
    log[victim] = SignedStatement::parse(&bytes).unwrap();
    let (_, e1) = one_by_one(&log);
    let (i, error) = e1.clone().unwrap();
    assert_eq!(i, victim);
    assert!(error.contains("does not verify"), "{error}");
    let keys = keys_after(&log, 4);
    for chunk in [1, 16, 1000] {
        let (_, e2, _) = ahead(&log, chunk, |_| keys.clone());
        assert_eq!(e2, e1, "chunk {chunk}");
    }
}

#[test]
fn directory_statements_are_recognised_for_scheduling() {
    let log = log(false);
    for s in &log {
        assert_eq!(
            hotline_core::replay::changes_directory(&s.bytes),
            s.statement.kind.is_directory_kind(),
            "{}",
            s.statement.kind
        );
    }
    assert!(!hotline_core::replay::changes_directory(
        b"kind party-registered\n"
    ));
    assert!(!hotline_core::replay::changes_directory(b""));
}

#[test]
fn the_operators_record_of_a_revoked_partys_publication_is_refused_ahead_too() {
    use hotline_core::vocab::{Collection, RevocationReason, Tlp};
    let mut w = World::new();
    let mut rev = Statement::new(ORIGIN, Kind::PartyRevoked, pid("operator"), at(10));
    rev.party = Some(pid("us-fbi"));
    rev.revocation_reason = Some(RevocationReason::Retired);
    let rev = w.sign(rev);
    w.log.push(rev);
    // Signed by the operator, whose key verifies ahead: the rule that the named party is
    // registered and not revoked must still be applied.
    let late = w.sign(shared(
        "operator",
        Some("us-fbi"),
        Collection::Shared,
        Tlp::Green,
        at(20),
    ));
    w.log.push(late);
    let (_, e1) = one_by_one(&w.log);
    let (i, error) = e1.clone().unwrap();
    assert_eq!(i, w.log.len() - 1);
    assert!(error.contains("revoked"), "{error}");
    let everything = keys_after(&w.log, w.log.len() - 1);
    for chunk in [1, 100] {
        let (_, e2, pre) = ahead(&w.log, chunk, |_| everything.clone());
        assert!(pre > 0, "the operator's signature was verified ahead");
        assert_eq!(e2, e1, "chunk {chunk}");
    }
}

#[test]
fn replay_in_parallel_gives_the_one_by_one_outcome() {
    use hotline_core::replay::replay_in_parallel;
    fn feed_all(
        log: &[SignedStatement],
    ) -> impl FnOnce(&mut hotline_core::replay::Feeder<'_>) + '_ {
        move |f| {
            for (i, s) in log.iter().enumerate() {
                f.push(ORIGIN, i as u64, &s.bytes);
            }
        }
    }
    for threads in [1, 3] {
        // A clean log with a rotation: the same state.
        let good = log(false);
        let (h1, e1) = one_by_one(&good);
        let ((), h2, e2) = replay_in_parallel(
            hotline_core::DeadlinePolicy::default(),
            threads,
            feed_all(&good),
        );
        assert!(e1.is_none() && e2.is_none(), "{e2:?}");
        let h2 = h2.unwrap();
        assert_eq!(
            (h2.size(), h2.cases().count()),
            (h1.size(), h1.cases().count())
        );
        // The old key after the rotation: refused at the same entry, with the same error.
        let bad = log(true);
        let (_, e1) = one_by_one(&bad);
        let ((), _, e2) = replay_in_parallel(
            hotline_core::DeadlinePolicy::default(),
            threads,
            feed_all(&bad),
        );
        let (i1, m1) = e1.unwrap();
        let r = e2.unwrap();
        assert_eq!((r.index, r.error), (i1 as u64, m1));
        assert_eq!(r.id, bad[i1].id.to_base64());
    }
    // Nothing fed: no hotline, nothing refused.
    let ((), h, e) = replay_in_parallel(hotline_core::DeadlinePolicy::default(), 2, |_| ());
    assert!(h.is_none() && e.is_none());
}

#[test]
fn key_tables_verify_author_signatures_as_one_by_one() {
    use hotline_core::hotline::verify_author_signature;
    let w = World::new();
    let tables = KeyTables::with_limit(4);
    let key = w.cisa.verifier();
    // Past the point where the key gets its table.
    for n in 0..200 {
        let s = w.sign(notice(&case_id(n), "us-cisa", "ru-nkcki", at(n as i64)));
        assert_eq!(tables.verify_author_signature(&s, &key), Ok(()));
    }
    let good = w.sign(notice(&case_id(500), "us-cisa", "ru-nkcki", at(500)));
    // A tampered signature and a signature by another key of the same name: the same errors.
    let mut bytes = good.bytes.clone();
    let n = bytes.len();
    bytes[n - 10] = if bytes[n - 10] == b'A' { b'B' } else { b'A' };
    let tampered = SignedStatement::parse(&bytes).unwrap();
    let other = SignedStatement::sign(
        notice(&case_id(501), "us-cisa", "ru-nkcki", at(501)),
        &[&signer("us-cisa", 99)],
    )
    .unwrap();
    for s in [&good, &tampered, &other] {
        assert_eq!(
            tables.verify_author_signature(s, &key),
            verify_author_signature(s, &key)
        );
    }
    assert!(tables.verify_author_signature(&tampered, &key).is_err());
    assert!(tables.verify_author_signature(&other, &key).is_err());
}
