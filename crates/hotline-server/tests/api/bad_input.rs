//! Bad input: every kind — oversized, malformed notes, invalid UTF-8, not JSON, deep nesting,
//! unknown parties, wrong keys, payloads that are not what the statement commits to — gets a
//! 4xx whose message names the problem, and changes nothing stored (log, state, inboxes,
//! directory, credentials). The server never sees plaintext, so invalid STIX evidence can only
//! be refused by the officer's client: `crates/hotline-cli/tests/bad_evidence.rs`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::lifecycle::Phase;
use hotline_core::payload::sha256;
use hotline_core::statement::{SignedStatement, Statement};
use hotline_core::vocab::{Kind, PartyId};
use hotline_crypto::{MAX_CIPHERTEXT_SIZE, PartyKeys};
use hotline_server::api::{MAX_BODY, ReceiptDto};
use hotline_tlog::Note;
use hotline_tlog::bundle::MAX_ENTRY_SIZE;
use hotline_tlog::note::{NoteSignature, NoteSigner};
use serde_json::{Value, json};

use crate::fixture::*;

/// A hotline with two parties and a delivered case between them.
struct World {
    h: TestHotline,
    a: Party,
    b: Party,
    case: CaseRef,
}

impl World {
    fn new() -> World {
        let h = TestHotline::start();
        let a = h.register("alpha");
        let b = h.register("bravo");
        let case = h.case_in(Phase::Delivered, &a, &b);
        World { h, a, b, case }
    }

    /// alpha's update in the case, with its payload (not signed).
    fn update(&self) -> (Statement, Vec<u8>) {
        let (st, p) = self.h.follow_up(
            &self.a,
            &self.b.id,
            &self.case.id,
            Kind::Update,
            &[self.case.last],
            Some("update"),
        );
        (st, p.unwrap())
    }

    /// bravo's acknowledgement of the case, without a payload (not signed).
    fn ack(&self) -> Statement {
        self.h
            .follow_up(
                &self.b,
                &self.a.id,
                &self.case.id,
                Kind::Acknowledged,
                &[self.case.last],
                None,
            )
            .0
    }

    /// alpha's update, signed, as text, with its payload.
    fn signed_update(&self) -> (String, Vec<u8>) {
        let (st, p) = self.update();
        (text(&self.a.sign(st)), p)
    }

    /// alpha's update with `payload` committed to (sha256 and size as given).
    fn update_committing_to(&self, payload: &[u8]) -> String {
        let (mut st, _) = self.update();
        let c = st.payload.as_mut().unwrap();
        c.sha256 = sha256(payload);
        c.size = payload.len() as u64;
        text(&self.a.sign(st))
    }

    fn submit_as(&self, token: &str, statement: &str, payload: Option<&[u8]>) -> Resp {
        let mut body = json!({ "statement": statement });
        if let Some(p) = payload {
            body["payload"] = json!(B64.encode(p));
        }
        self.h.post("/api/v1/statements", Some(token), body)
    }

    /// Submits as alpha.
    fn submit(&self, statement: &str, payload: Option<&[u8]>) -> Resp {
        self.submit_as(&self.a.token, statement, payload)
    }

    /// Posts raw bytes as alpha.
    fn raw(&self, path: &str, body: Vec<u8>, content_type: &'static str) -> Resp {
        self.h.call(
            "POST",
            path,
            Some(&self.a.token),
            Body::Raw(body, content_type),
        )
    }

    /// Posts raw bytes as alpha to the statements endpoint, as JSON.
    fn raw_json(&self, body: impl Into<Vec<u8>>) -> Resp {
        self.raw("/api/v1/statements", body.into(), "application/json")
    }
}

/// A statement note padded to exactly `size` bytes with the signature of a key nobody knows
/// (which c2sp.org/signed-note verifiers ignore), built without the size check of
/// `SignedStatement::sign`.
fn padded_to(st: &Statement, signer: &dyn NoteSigner, size: usize) -> Vec<u8> {
    let mut note = Note::new(st.to_text()).unwrap();
    note.sign(signer);
    let base = note.to_bytes().len();
    let pad = |n: usize| NoteSignature {
        name: "p".repeat(n),
        key_id: 0x5eed_5eed,
        signature: vec![7; 64],
    };
    let one = pad(1).line().len() + 1;
    let n = size - base - one + 1;
    note.add_signature(pad(n));
    let bytes = note.to_bytes();
    assert_eq!(bytes.len(), size);
    bytes
}

/// `[[[…]]]`, `depth` deep.
fn nested_arrays(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// `{"statement": {"statement": …}}`, `depth` deep.
fn nested_objects(depth: usize) -> String {
    format!(
        "{}\"x\"{}",
        "{\"statement\": ".repeat(depth),
        "}".repeat(depth)
    )
}

/// One bad request: what it is, the status and phrases of the refusal, and how to make it.
struct Row<'w> {
    what: &'static str,
    status: u16,
    phrases: Vec<String>,
    call: Box<dyn Fn() -> Resp + 'w>,
}

fn row<'w>(
    what: &'static str,
    status: u16,
    phrases: &[&str],
    call: impl Fn() -> Resp + 'w,
) -> Row<'w> {
    Row {
        what,
        status,
        phrases: phrases.iter().map(|p| (*p).to_owned()).collect(),
        call: Box::new(call),
    }
}

/// The inputs the rows are made of.
struct Inputs {
    good: String,
    good_payload: Vec<u8>,
    ack: String,
    too_big_payload: Vec<u8>,
    too_big_statement: Vec<u8>,
    wrong_key: PartyKeys,
    not_age: Vec<u8>,
    armored: Vec<u8>,
    truncated: Vec<u8>,
    flipped: Vec<u8>,
    a_vkey: String,
}

impl Inputs {
    fn new(w: &World) -> Inputs {
        let (good, good_payload) = w.signed_update();
        let mut too_big_payload = b"age-encryption.org/v1\n".to_vec();
        too_big_payload.resize(MAX_CIPHERTEXT_SIZE + 1, b'x');
        // Cut inside the STREAM body's last (only) chunk, before the 16 bytes of its tag: a
        // length no age file has. (A cut after the tag cannot be seen without a key: only the
        // recipient's decryption finds it.)
        let mac = good_payload
            .windows(5)
            .position(|w| w == b"\n--- ")
            .unwrap();
        let header_end = mac
            + 1
            + good_payload[mac + 1..]
                .iter()
                .position(|&b| b == b'\n')
                .unwrap()
            + 1;
        let truncated = good_payload[..header_end + 16 + 10].to_vec();
        let mut flipped = good_payload.clone();
        *flipped.last_mut().unwrap() ^= 1;
        Inputs {
            ack: text(&w.b.sign(w.ack())),
            too_big_payload,
            too_big_statement: padded_to(&w.update().0, w.a.keys.signer(), MAX_ENTRY_SIZE + 1),
            wrong_key: PartyKeys::generate("alpha").unwrap(),
            not_age: b"this is a plaintext, not an age file".to_vec(),
            armored: b"-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n".to_vec(),
            truncated,
            flipped,
            a_vkey: w.a.keys.verifier().to_vkey(),
            good,
            good_payload,
        }
    }
}

fn rows<'w>(w: &'w World, i: &'w Inputs) -> Vec<Row<'w>> {
    let good = &i.good;
    let good_payload = &i.good_payload;
    vec![
        // Sizes.
        row(
            "a request body one byte over api::MAX_BODY",
            413,
            &[&format!(
                "request body larger than the {MAX_BODY} bytes allowed"
            )],
            move || w.raw_json(vec![b' '; MAX_BODY + 1]),
        ),
        row(
            "a register body over api::MAX_BODY",
            413,
            &[&format!(
                "request body larger than the {MAX_BODY} bytes allowed"
            )],
            move || {
                w.h.call(
                    "POST",
                    "/api/v1/parties",
                    Some(&w.h.operator_token),
                    Body::Raw(vec![b' '; MAX_BODY + 1], "application/json"),
                )
            },
        ),
        row(
            "a ciphertext one byte over MAX_CIPHERTEXT_SIZE",
            413,
            &[&format!(
                "payload of {} bytes is larger than the {MAX_CIPHERTEXT_SIZE} bytes allowed",
                MAX_CIPHERTEXT_SIZE + 1
            )],
            move || {
                let st = w.update_committing_to(&i.too_big_payload);
                w.submit(&st, Some(&i.too_big_payload))
            },
        ),
        row(
            "a statement of 65,536 bytes",
            413,
            &[
                "statement of 65536 bytes",
                "larger than the 65,535 bytes a log entry may have",
            ],
            move || {
                w.submit(
                    std::str::from_utf8(&i.too_big_statement).unwrap(),
                    Some(&[]),
                )
            },
        ),
        // Malformed notes.
        row(
            "a note without the blank line before its signatures",
            400,
            &["not a signed note", "no signature block"],
            move || w.submit(&good.replacen("\n\n", "\n", 1), Some(good_payload)),
        ),
        row(
            "a note without a signature line",
            400,
            &["not a signed note", "no signature block"],
            move || {
                let text_only = &good[..good.find("\n\n").unwrap() + 2];
                w.submit(text_only, Some(good_payload))
            },
        ),
        row(
            "a statement text without signatures or blank line",
            400,
            &["not a signed note", "no signature block"],
            move || w.submit(&w.update().0.to_text(), Some(good_payload)),
        ),
        row(
            "a signature that is not base64",
            400,
            &["malformed signature line 1", "not valid base64"],
            move || {
                let (head, sig) = good.rsplit_once(' ').unwrap();
                assert!(sig.ends_with('\n'));
                w.submit(&format!("{head} !!not*base64!!\n"), Some(good_payload))
            },
        ),
        row(
            "a signature line without the em dash",
            400,
            &["malformed signature line 1", "em dash"],
            move || {
                w.submit(
                    &good.replacen("\u{2014} alpha ", "- alpha ", 1),
                    Some(good_payload),
                )
            },
        ),
        row(
            "an unknown format line",
            400,
            &["first line must be \"hotline/statement/v1\""],
            move || {
                w.submit(
                    &good.replacen("hotline/statement/v1", "hotline/statement/v2", 1),
                    Some(good_payload),
                )
            },
        ),
        row(
            "an unknown key line",
            400,
            &["line 3: unknown key \"colour\""],
            move || {
                let st = good.replacen("\nkind ", "\ncolour blue\nkind ", 1);
                w.submit(&st, Some(good_payload))
            },
        ),
        row(
            "an empty statement",
            400,
            &["not a signed note"],
            move || w.submit("", Some(good_payload)),
        ),
        // Text encodings.
        row(
            "a control character in the statement",
            400,
            &["not valid UTF-8 text without control characters"],
            move || {
                w.submit(
                    &good.replacen("update", "upd\u{7}ate", 1),
                    Some(good_payload),
                )
            },
        ),
        row(
            "invalid UTF-8 bytes in the JSON body",
            400,
            &[
                "request body is not valid JSON (or not UTF-8)",
                "statement: invalid unicode code point at line 1",
            ],
            move || {
                let mut body = br#"{"statement": "hotline/statement/v1"#.to_vec();
                body.extend_from_slice(&[0xff, 0xfe, 0xc3]);
                body.extend_from_slice(br#"\n"}"#);
                w.raw_json(body)
            },
        ),
        row(
            "a statement holding a lone UTF-16 surrogate (not UTF-8)",
            400,
            // serde_json's words, passed on: vaguer than "lone surrogate", but it names the
            // field, the escape and where it is.
            &[
                "request body",
                "statement: unexpected end of hex escape at line 1 column 43",
            ],
            move || w.raw_json(r#"{"statement": "hotline/statement/v1 \ud800 x\n"}"#),
        ),
        // Not the JSON expected.
        row(
            "a body that is not JSON",
            400,
            &["request body", "JSON"],
            move || w.raw_json(good.clone()),
        ),
        row("an empty body", 400, &["request body", "JSON"], move || {
            w.raw_json(Vec::new())
        }),
        row(
            "JSON sent as text/plain",
            415,
            &["request body", "Content-Type: application/json"],
            move || {
                let body = json!({ "statement": good }).to_string().into_bytes();
                w.raw("/api/v1/statements", body, "text/plain")
            },
        ),
        row(
            "a JSON body with an unknown field",
            400,
            &[
                "request body does not have the fields this call takes",
                "unknown field `signature`",
            ],
            move || {
                w.h.post(
                    "/api/v1/statements",
                    Some(&w.a.token),
                    json!({ "statement": good, "payload": B64.encode(good_payload), "signature": "x" }),
                )
            },
        ),
        row(
            "a JSON body without the statement",
            400,
            &["request body", "missing field `statement`"],
            move || {
                w.h.post(
                    "/api/v1/statements",
                    Some(&w.a.token),
                    json!({ "payload": B64.encode(good_payload) }),
                )
            },
        ),
        row(
            "a JSON body of the wrong type",
            400,
            &["request body", "invalid type"],
            move || {
                w.h.post(
                    "/api/v1/statements",
                    Some(&w.a.token),
                    json!({ "statement": 42 }),
                )
            },
        ),
        row(
            "10,000 nested JSON arrays",
            400,
            &["request body", "invalid type: sequence"],
            move || w.raw_json(nested_arrays(10_000)),
        ),
        row(
            "10,000 nested JSON arrays as the statement",
            400,
            &["request body", "invalid type: sequence"],
            move || w.raw_json(format!("{{\"statement\": {}}}", nested_arrays(10_000))),
        ),
        row(
            "10,000 nested JSON objects",
            400,
            &["request body", "invalid type: map"],
            move || w.raw_json(nested_objects(10_000)),
        ),
        row(
            "10,000 nested JSON arrays as a revocation",
            400,
            &["request body", "invalid type: sequence"],
            move || {
                w.h.call(
                    "POST",
                    "/api/v1/parties/bravo/revoke",
                    Some(&w.h.operator_token),
                    Body::Raw(nested_arrays(10_000).into_bytes(), "application/json"),
                )
            },
        ),
        // Parties and keys.
        row(
            "a request to an unknown party",
            400,
            &["unknown party zulu: it is not registered with this hotline"],
            move || {
                let (mut st, ct) = w.h.request(&w.a, &w.b.id, "to nobody");
                st.recipient = Some(PartyId::new("zulu").unwrap());
                w.submit(&text(&w.a.sign(st)), Some(&ct))
            },
        ),
        row(
            "a statement by an unknown author, sent with alpha's token",
            403,
            &[
                "you are authenticated as alpha",
                "the statement's author is zulu",
            ],
            move || {
                let zulu = PartyKeys::generate("zulu").unwrap();
                let (mut st, ct) = w.h.request(&w.a, &w.b.id, "from nobody");
                st.author = PartyId::new("zulu").unwrap();
                let s = SignedStatement::sign(st, &[zulu.signer() as &dyn NoteSigner]).unwrap();
                w.submit(&text(&s), Some(&ct))
            },
        ),
        row(
            "a statement signed by an unregistered key of the author's name",
            400,
            &["signature: not signed by alpha", &i.a_vkey],
            move || {
                let (st, p) = w.update();
                let s =
                    SignedStatement::sign(st, &[i.wrong_key.signer() as &dyn NoteSigner]).unwrap();
                w.submit(&text(&s), Some(&p))
            },
        ),
        row(
            "a statement whose signature by the author's key does not verify",
            400,
            &[
                "signature: the signature by alpha",
                &i.a_vkey,
                "does not verify",
            ],
            move || {
                let (st, p) = w.update();
                let mut s = w.a.sign(st);
                let mut sig = s.note.signatures()[0].clone();
                sig.signature[0] ^= 1;
                s = s.add_signature(sig).unwrap();
                w.submit(&text(&s), Some(&p))
            },
        ),
        row(
            "a statement for another hotline",
            400,
            &["statement is for hotline \"elsewhere.example/log\""],
            move || {
                let (mut st, p) = w.update();
                st.origin = "elsewhere.example/log".into();
                w.submit(&text(&w.a.sign(st)), Some(&p))
            },
        ),
        // Payloads.
        row(
            "a payload that is not an age file",
            400,
            &["payload: the payload is not an age-encryption.org/v1 file"],
            move || w.submit(&w.update_committing_to(&i.not_age), Some(&i.not_age)),
        ),
        row(
            "an ASCII-armored age payload",
            400,
            &["payload:", "ASCII-armored"],
            move || w.submit(&w.update_committing_to(&i.armored), Some(&i.armored)),
        ),
        row(
            "a truncated age payload",
            400,
            &["payload:", "truncated"],
            move || w.submit(&w.update_committing_to(&i.truncated), Some(&i.truncated)),
        ),
        row(
            "a payload whose SHA-256 is not the one committed to",
            400,
            &["the payload's SHA-256 is", "the statement commits to"],
            move || w.submit(good, Some(&i.flipped)),
        ),
        row(
            "a payload of another size than committed to",
            400,
            &[&format!(
                "payload-size says {} bytes but {} were sent",
                good_payload.len(),
                good_payload.len() - 1
            )],
            move || w.submit(good, Some(&good_payload[1..])),
        ),
        row(
            "no payload for a statement that commits to one",
            400,
            &["the statement commits to a payload but none was sent"],
            move || w.submit(good, None),
        ),
        row(
            "a payload for a statement that commits to none",
            400,
            &["a payload was sent but the statement commits to none"],
            move || w.submit_as(&w.b.token, &i.ack, Some(good_payload)),
        ),
        row(
            "a payload that is not base64",
            400,
            &["payload must be the base64 of the age ciphertext"],
            move || {
                w.h.post(
                    "/api/v1/statements",
                    Some(&w.a.token),
                    json!({ "statement": good, "payload": "not base64!" }),
                )
            },
        ),
        // Other endpoints.
        row(
            "a revocation for an unknown reason",
            400,
            &["revocation reason \"bored\" is not valid: one of compromised, retired, other"],
            move || {
                w.h.post(
                    "/api/v1/parties/bravo/revoke",
                    Some(&w.h.operator_token),
                    json!({ "reason": "bored" }),
                )
            },
        ),
        row(
            "a registration that is not a signed note",
            400,
            &["not a signed note"],
            move || {
                w.h.post(
                    "/api/v1/parties",
                    Some(&w.h.operator_token),
                    json!({ "statement": "hello" }),
                )
            },
        ),
        row(
            "a case id that is not one",
            400,
            &["case id \"not-a-case\" is not valid"],
            move || w.h.get("/api/v1/cases/not-a-case", Some(&w.a.token)),
        ),
        row(
            "a statement id that is not one",
            400,
            &["is not a statement id"],
            move || w.h.get("/api/v1/statements/xyz", Some(&w.a.token)),
        ),
    ]
}

#[test]
fn every_kind_of_bad_input_gets_a_4xx_naming_it_and_changes_nothing() {
    let w = World::new();
    let parties = [&w.a, &w.b];
    let mut failures = Vec::new();
    let inputs = Inputs::new(&w);
    let rows = rows(&w, &inputs);
    let n = rows.len();
    for r in rows {
        let before = w.h.stored(&parties);
        let resp = (r.call)();
        let mut bad = Vec::new();
        if resp.status != r.status {
            bad.push(format!("status {} (expected {})", resp.status, r.status));
        }
        match serde_json::from_slice::<hotline_server::api::ErrorDto>(&resp.body) {
            Ok(e) => {
                for p in &r.phrases {
                    if !e.error.contains(p.as_str()) {
                        bad.push(format!("the message does not say {p:?}"));
                    }
                }
                if !bad.is_empty() {
                    bad.push(format!("message: {}", e.error));
                }
            }
            Err(e) => bad.push(format!(
                "the body is not an ErrorDto ({e}): {}",
                resp.text().chars().take(300).collect::<String>()
            )),
        }
        if w.h.stored(&parties) != before {
            bad.push("what is stored changed".into());
        }
        if !bad.is_empty() {
            failures.push(format!("{}: {}", r.what, bad.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {n} bad inputs were not refused as they should be:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The case is as it was, and a good statement still goes through.
    assert_eq!(w.h.phase_of(&w.case.id), "delivered");
    let (st, p) = w.update();
    w.h.send(&w.a, st, Some(&p));
    w.h.audit();
}

#[test]
fn a_statement_of_65535_bytes_is_accepted_and_one_of_65536_refused() {
    let w = World::new();
    let parties = [&w.a, &w.b];
    let (st, p) = w.update();
    let bigger = padded_to(&st, w.a.keys.signer(), MAX_ENTRY_SIZE + 1);
    w.h.refuses(
        "a statement of 65,536 bytes",
        &parties,
        413,
        &["statement of 65536 bytes is larger than the 65,535 bytes a log entry may have"],
        || w.submit(std::str::from_utf8(&bigger).unwrap(), Some(&p)),
    );
    let largest = padded_to(&st, w.a.keys.signer(), MAX_ENTRY_SIZE);
    let size = w.h.log_size();
    let r: ReceiptDto = w
        .submit(std::str::from_utf8(&largest).unwrap(), Some(&p))
        .expect(201)
        .json();
    assert_eq!(r.index, size);
    // It is in the log byte for byte, and the log still checks.
    let entries = w.h.entries();
    assert_eq!(entries[size as usize], largest);
    let dto: Value =
        w.h.get(
            &format!("/api/v1/statements/{}", r.id_hex),
            Some(&w.b.token),
        )
        .expect(200)
        .json();
    assert_eq!(dto["statement"].as_str().unwrap().as_bytes(), &largest[..]);
    w.h.audit();
}

#[test]
fn receipt_query_is_checked_and_cosigned_needs_a_witness_policy() {
    let w = World::new();
    let id = w.case.opening.id.to_hex();
    let r = w.h.get(
        &format!("/api/v1/statements/{id}/receipt?cosigned=maybe"),
        Some(&w.a.token),
    );
    assert_eq!(r.status, 400, "{}", r.text());
    assert!(r.text().contains("cosigned must be 1 or 0"), "{}", r.text());
    let r = w.h.get(
        &format!("/api/v1/statements/{id}/receipt?cosigned=1"),
        Some(&w.a.token),
    );
    assert_eq!(r.status, 404, "{}", r.text());
    assert!(r.text().contains("no witness policy"), "{}", r.text());
    let r = w.h.get(
        &format!("/api/v1/statements/{id}/receipt?cosigned=0"),
        Some(&w.a.token),
    );
    assert_eq!(r.status, 200, "{}", r.text());
}
