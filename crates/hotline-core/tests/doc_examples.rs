//! `docs/statements.md` shows real statements. This test replays every ```statement block of
//! that document, in order, through a fresh hotline: each must parse, verify under the keys the
//! document lists and fit the lifecycle, so the document cannot drift from the code.
//! `cargo test -p hotline-core --test doc_examples -- --ignored --nocapture` prints a fresh set.
#![allow(clippy::unwrap_used, missing_docs)]

mod fixture;

use fixture::*;
use hotline_core::vocab::{Collection, Deadline, Kind, Tlp};
use hotline_core::{DeadlinePolicy, Hotline, SignedStatement};

fn doc() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/statements.md"
    ))
    .unwrap()
}

fn blocks(doc: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in doc.lines() {
        match (&mut cur, line) {
            (None, "```statement") => cur = Some(String::new()),
            (Some(b), "```") => {
                out.push(std::mem::take(b));
                cur = None;
            }
            (Some(b), l) => {
                b.push_str(l);
                b.push('\n');
            }
            (None, _) => {}
        }
    }
    out
}

#[test]
fn every_example_in_the_format_document_is_a_valid_log() {
    let blocks = blocks(&doc());
    assert!(
        blocks.len() >= 8,
        "docs/statements.md should show the main kinds"
    );
    let mut h = Hotline::new(ORIGIN, DeadlinePolicy::default());
    for (i, b) in blocks.iter().enumerate() {
        let s = SignedStatement::parse(b.as_bytes())
            .unwrap_or_else(|e| panic!("example {} does not parse: {e}\n{b}", i + 1));
        h.apply(&s)
            .unwrap_or_else(|e| panic!("example {} is refused: {e}\n{b}", i + 1));
    }
    // The document lists the keys it uses; they must be the ones that verified.
    let d = doc();
    for party in ["operator", "us-cisa", "ru-nkcki"] {
        let vkey = h.directory().get(&pid(party)).unwrap().epochs[0]
            .verifier
            .to_vkey();
        assert!(d.contains(&vkey), "docs/statements.md does not list {vkey}");
    }
}

#[test]
#[ignore = "prints examples for docs/statements.md"]
fn print_examples() {
    let mut w = World::new();
    for s in &w.log {
        if s.statement
            .party
            .as_ref()
            .is_some_and(|p| p.as_str() != "us-fbi")
        {
            println!("```statement\n{}```\n", String::from_utf8_lossy(&s.bytes));
        }
    }
    let c = case_id(0x3f9a1c2b7d4e);
    let show = |w: &mut World, st| {
        let s = w.sign(st);
        println!("```statement\n{}```\n", String::from_utf8_lossy(&s.bytes));
        w.apply(s).unwrap()
    };
    let req = show(&mut w, request(&c, "us-cisa", "ru-nkcki", at(0)));
    let d = show(&mut w, delivered(&c, "ru-nkcki", req, at(240)));
    let ack = show(
        &mut w,
        follow_up(
            Kind::Acknowledged,
            &c,
            "ru-nkcki",
            "us-cisa",
            &[req, d],
            at(1800),
        ),
    );
    let ans_by = w.hotline.case(&c).unwrap().answer_by.unwrap();
    let _ = show(
        &mut w,
        overdue(&c, "ru-nkcki", req, Deadline::Answer, ans_by),
    );
    let _ = show(
        &mut w,
        follow_up(
            Kind::Answer,
            &c,
            "ru-nkcki",
            "us-cisa",
            &[ack],
            ans_by.plus(3600),
        ),
    );
    let _ = show(
        &mut w,
        shared(
            "us-cisa",
            None,
            Collection::Shared,
            Tlp::Green,
            ans_by.plus(7200),
        ),
    );
    let _ = show(
        &mut w,
        shared(
            "operator",
            Some("ru-nkcki"),
            Collection::Public,
            Tlp::Clear,
            ans_by.plus(7260),
        ),
    );
}
