//! The authorization matrix, generated from the router's own table: every entry of
//! `hotline_server::api::ROUTES` × every role × every phase of a request case, each with the
//! outcome asserted — status, what the body may and may not contain, and whether the log grew.
//! A route that is in `ROUTES` but not in [`MATRIX`] fails the suite until it is added.
//!
//! Roles: the case's author (requester), its recipient (responder), a third party, the
//! operator, an anonymous caller, and a revoked party (which had a case of its own with the
//! recipient before it was revoked).

use hotline_core::lifecycle::Phase;
use hotline_core::vocab::Kind;
use hotline_server::api::{
    Access, CaseDto, ErrorDto, InboxDto, ROUTES, ReceiptDto, RouteSpec, StatementDto,
};
use hotline_tlog::TlogProof;
use serde_json::json;

use crate::fixture::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Author,
    Recipient,
    ThirdParty,
    Operator,
    Anonymous,
    Revoked,
}

const ROLES: [Role; 6] = [
    Role::Author,
    Role::Recipient,
    Role::ThirdParty,
    Role::Operator,
    Role::Anonymous,
    Role::Revoked,
];

/// Every phase of a request case.
const PHASES: [Phase; 8] = [
    Phase::Sent,
    Phase::Delivered,
    Phase::Acknowledged,
    Phase::InfoRequested,
    Phase::Answered,
    Phase::Declined,
    Phase::Closed,
    Phase::Withdrawn,
];

/// The status a role gets from a route while the case is in a phase.
type Rule = fn(Role, Phase) -> u16;

/// Either party may send an `update` once the request was delivered, until the case is
/// closed or withdrawn (DESIGN.md §4: `update` after `delivered`, also after the answer or a
/// decline; nothing after `closed`/`withdrawn`; nothing but close/withdraw before delivery).
fn update_allowed(phase: Phase) -> bool {
    matches!(
        phase,
        Phase::Delivered
            | Phase::Acknowledged
            | Phase::InfoRequested
            | Phase::Answered
            | Phase::Declined
    )
}

fn public(_: Role, _: Phase) -> u16 {
    200
}

fn operator_only(created: u16) -> impl Fn(Role) -> u16 {
    move |role| match role {
        Role::Operator => created,
        Role::Author | Role::Recipient | Role::ThirdParty => 403,
        Role::Anonymous | Role::Revoked => 401,
    }
}

/// The matrix: (method, path, rule). Requests are built by [`request`].
const MATRIX: &[(&str, &str, Rule)] = &[
    ("GET", "/api/v1/hotline", public),
    ("GET", "/api/v1/parties", public),
    ("GET", "/api/v1/openapi.json", public),
    ("POST", "/api/v1/parties", |role, _| {
        operator_only(201)(role)
    }),
    ("POST", "/api/v1/parties/{party}/rotate", |role, _| {
        operator_only(200)(role)
    }),
    ("POST", "/api/v1/parties/{party}/revoke", |role, _| {
        operator_only(200)(role)
    }),
    // Each role submits an `update` in the case (the operator relays the author's).
    ("POST", "/api/v1/statements", |role, phase| match role {
        Role::Author | Role::Recipient if update_allowed(phase) => 201,
        Role::Author | Role::Recipient => 409,
        Role::ThirdParty => 404,
        Role::Operator => 403,
        Role::Anonymous | Role::Revoked => 401,
    }),
    // The opening request; the operator sees metadata (it is public in the log anyway).
    ("GET", "/api/v1/statements/{id}", |role, _| match role {
        Role::Author | Role::Recipient | Role::Operator => 200,
        Role::ThirdParty => 404,
        Role::Anonymous | Role::Revoked => 401,
    }),
    // Its receipt (the fixture has no witness policy: the plain receipt).
    (
        "GET",
        "/api/v1/statements/{id}/receipt",
        |role, _| match role {
            Role::Author | Role::Recipient | Role::Operator => 200,
            Role::ThirdParty => 404,
            Role::Anonymous | Role::Revoked => 401,
        },
    ),
    // Its COSE receipt of inclusion: the same visibility as the receipt.
    (
        "GET",
        "/api/v1/statements/{id}/receipt.cose",
        |role, _| match role {
            Role::Author | Role::Recipient | Role::Operator => 200,
            Role::ThirdParty => 404,
            Role::Anonymous | Role::Revoked => 401,
        },
    ),
    // The opening request's ciphertext: the two parties only, never the operator.
    (
        "GET",
        "/api/v1/statements/{id}/payload",
        |role, _| match role {
            Role::Author | Role::Recipient => 200,
            Role::ThirdParty | Role::Operator => 404,
            Role::Anonymous | Role::Revoked => 401,
        },
    ),
    ("GET", "/api/v1/inbox", |role, _| match role {
        Role::Anonymous | Role::Revoked => 401,
        _ => 200,
    }),
    ("GET", "/api/v1/cases/{case}", |role, _| match role {
        Role::Author | Role::Recipient | Role::Operator => 200,
        Role::ThirdParty => 404,
        Role::Anonymous | Role::Revoked => 401,
    }),
    // Webhooks: each party manages its own; the case's phase changes nothing.
    ("POST", "/api/v1/webhooks", |role, _| match role {
        Role::Anonymous | Role::Revoked => 401,
        _ => 201,
    }),
    ("GET", "/api/v1/webhooks", |role, _| match role {
        Role::Anonymous | Role::Revoked => 401,
        _ => 200,
    }),
    (
        "DELETE",
        "/api/v1/webhooks/{webhook}",
        |role, _| match role {
            Role::Anonymous | Role::Revoked => 401,
            _ => 204,
        },
    ),
    ("GET", "/api/v1/webhooks/deliveries", |role, _| match role {
        Role::Anonymous | Role::Revoked => 401,
        _ => 200,
    }),
];

fn rule_for(route: &RouteSpec) -> Option<Rule> {
    MATRIX
        .iter()
        .find(|(m, p, _)| *m == route.method && *p == route.path)
        .map(|(_, _, r)| *r)
}

/// Everyone the matrix calls on.
struct World {
    h: TestHotline,
    author: Party,
    recipient: Party,
    third: Party,
    revoked: Party,
    /// A party whose keys the operator rotates.
    spare: Party,
}

impl World {
    fn new() -> World {
        let h = TestHotline::start();
        let author = h.register("alpha");
        let recipient = h.register("bravo");
        let third = h.register("charlie");
        let revoked = h.register("delta");
        let spare = h.register("spare");
        // The revoked party had business with the recipient before it was revoked.
        h.case_in(Phase::Acknowledged, &revoked, &recipient);
        h.revoke(&revoked);
        World {
            h,
            author,
            recipient,
            third,
            revoked,
            spare,
        }
    }

    fn token(&self, role: Role) -> Option<&str> {
        match role {
            Role::Author => Some(&self.author.token),
            Role::Recipient => Some(&self.recipient.token),
            Role::ThirdParty => Some(&self.third.token),
            Role::Operator => Some(&self.h.operator_token),
            Role::Anonymous => None,
            Role::Revoked => Some(&self.revoked.token),
        }
    }
}

/// Whether a role's call on a route may change the case (then it gets a case of its own).
fn mutates(route: &RouteSpec, role: Role) -> bool {
    match (route.method, route.path) {
        ("POST", "/api/v1/statements") => matches!(role, Role::Author | Role::Recipient),
        ("GET", "/api/v1/statements/{id}/payload") => role == Role::Recipient,
        _ => false,
    }
}

/// What a call needs that must exist before it (and before the log size is taken).
fn prepare(w: &World, route: &RouteSpec) -> Option<Party> {
    match (route.method, route.path) {
        // The operator's revocation succeeds only once per party: a fresh one per call.
        ("POST", "/api/v1/parties/{party}/revoke") => {
            Some(w.h.register(&format!("rev-{}", hex8())))
        }
        _ => None,
    }
}

/// Performs `role`'s call of `route` on `case`; `None` if the test does not know how to call
/// the route.
fn request(
    w: &World,
    route: &RouteSpec,
    role: Role,
    case: &CaseRef,
    target: Option<&Party>,
) -> Option<Resp> {
    let h = &w.h;
    let token = w.token(role);
    let id = case.opening.id.to_hex();
    Some(match (route.method, route.path) {
        ("GET", p @ ("/api/v1/hotline" | "/api/v1/parties" | "/api/v1/openapi.json"))
        | ("GET", p @ "/api/v1/inbox") => h.get(p, token),
        ("POST", "/api/v1/parties") => {
            let keys = hotline_crypto::PartyKeys::generate(&format!("new-{}", hex8())).unwrap();
            let reg = h.registration(&keys);
            h.post("/api/v1/parties", token, json!({ "statement": text(&reg) }))
        }
        ("POST", "/api/v1/parties/{party}/rotate") => {
            let new = hotline_crypto::PartyKeys::generate(w.spare.name()).unwrap();
            let rot = h.rotation(w.spare.name(), &new);
            h.post(
                &format!("/api/v1/parties/{}/rotate", w.spare.name()),
                token,
                json!({ "statement": text(&rot) }),
            )
        }
        ("POST", "/api/v1/parties/{party}/revoke") => {
            let target = target?;
            h.post(
                &format!("/api/v1/parties/{}/revoke", target.name()),
                token,
                json!({ "reason": "retired" }),
            )
        }
        ("POST", "/api/v1/statements") => {
            let (from, to) = match role {
                Role::Author | Role::Operator | Role::Anonymous => (&w.author, &w.recipient),
                Role::Recipient => (&w.recipient, &w.author),
                Role::ThirdParty => (&w.third, &w.author),
                Role::Revoked => (&w.revoked, &w.author),
            };
            let (st, payload) = h.follow_up(
                from,
                &to.id,
                &case.id,
                Kind::Update,
                &[case.last],
                Some(&format!("update by {role:?}")),
            );
            h.submit(token, &from.sign(st), payload.as_deref())
        }
        ("GET", "/api/v1/statements/{id}") => h.get(&format!("/api/v1/statements/{id}"), token),
        ("GET", "/api/v1/statements/{id}/payload") => {
            h.get(&format!("/api/v1/statements/{id}/payload"), token)
        }
        ("GET", "/api/v1/statements/{id}/receipt") => {
            h.get(&format!("/api/v1/statements/{id}/receipt"), token)
        }
        ("GET", "/api/v1/statements/{id}/receipt.cose") => {
            h.get(&format!("/api/v1/statements/{id}/receipt.cose"), token)
        }
        ("GET", "/api/v1/cases/{case}") => h.get(&format!("/api/v1/cases/{}", case.id), token),
        ("POST", "/api/v1/webhooks") => {
            let r = h.post(
                "/api/v1/webhooks",
                token,
                json!({ "url": "http://127.0.0.1:9/hotline-authz" }),
            );
            // Keep each party under its limit: delete what was just made.
            if r.status == 201 {
                let id = r.json::<serde_json::Value>()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                h.call(
                    "DELETE",
                    &format!("/api/v1/webhooks/{id}"),
                    token,
                    Body::Empty,
                )
                .expect(204);
            }
            r
        }
        ("GET", p @ ("/api/v1/webhooks" | "/api/v1/webhooks/deliveries")) => h.get(p, token),
        ("DELETE", "/api/v1/webhooks/{webhook}") => {
            // A webhook of the caller's own where it has credentials; otherwise any id (the
            // credentials are refused first).
            let id = match role {
                Role::Anonymous | Role::Revoked => "wh_0000000000000000".to_owned(),
                _ => h
                    .post(
                        "/api/v1/webhooks",
                        token,
                        json!({ "url": "https://duty.example/hotline" }),
                    )
                    .expect(201)
                    .json::<serde_json::Value>()["id"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            };
            h.call(
                "DELETE",
                &format!("/api/v1/webhooks/{id}"),
                token,
                Body::Empty,
            )
        }
        _ => return None,
    })
}

/// Checks one response beyond its status; returns what is wrong.
fn check(
    w: &World,
    route: &RouteSpec,
    role: Role,
    phase: Phase,
    case: &CaseRef,
    r: &Resp,
    log_before: u64,
) -> Vec<String> {
    let h = &w.h;
    let mut bad = Vec::new();
    // Whoever asks, no response ever carries the case's plaintext.
    if r.contains(case.title.as_bytes()) {
        bad.push("the response contains the case's plaintext title".into());
    }
    let log_after = h.log_size();
    let appended = log_after - log_before;
    let expect_appended = match (route.method, route.path, r.status) {
        (_, _, 400..) => 0,
        // Webhooks are not statements: the log never grows for them.
        (_, p, _) if p.starts_with("/api/v1/webhooks") => 0,
        ("POST", _, _) => 1,
        // The recipient's first download is recorded as `delivered`, whatever the phase (the
        // fact is true even after a withdrawal); only the cases that were withdrawn while
        // `sent` had no download yet.
        ("GET", "/api/v1/statements/{id}/payload", _)
            if role == Role::Recipient && matches!(phase, Phase::Sent | Phase::Withdrawn) =>
        {
            1
        }
        _ => 0,
    };
    if appended != expect_appended {
        bad.push(format!(
            "the log grew by {appended}, expected {expect_appended}"
        ));
    }
    match r.status {
        401 => {
            let www = r
                .headers
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok());
            if www.is_none_or(|v| !v.starts_with("Bearer")) {
                bad.push(format!("401 without a Bearer challenge: {www:?}"));
            }
        }
        404 => {
            let e: ErrorDto = r.json();
            for marker in [
                case.title.as_str(),
                w.author.name(),
                w.recipient.name(),
                phase.as_str(),
            ] {
                if e.error.contains(marker) {
                    bad.push(format!("the 404 says {marker:?}: {}", e.error));
                }
            }
            if e.phase.is_some() {
                bad.push(format!("the 404 names the case's phase: {:?}", e.phase));
            }
        }
        409 => {
            let e: ErrorDto = r.json();
            if e.phase.as_deref() != Some(phase.as_str()) {
                bad.push(format!(
                    "409 with phase {:?}, expected {:?}",
                    e.phase,
                    phase.as_str()
                ));
            }
            if !(e.error.contains("Allowed now:") || e.error.contains("Nothing more can be said")) {
                bad.push(format!("409 does not say what is allowed: {}", e.error));
            }
            if !e.error.contains("update") {
                bad.push(format!("409 does not name the refused kind: {}", e.error));
            }
        }
        _ => {}
    }
    if r.status >= 400 {
        return bad;
    }
    match (route.method, route.path) {
        ("GET", "/api/v1/statements/{id}/payload") => {
            if r.body != case.ciphertext {
                bad.push("the payload is not the ciphertext that was sent".into());
            }
            if !r.body.starts_with(b"age-encryption.org/v1\n") {
                bad.push("the payload is not a binary age file".into());
            }
            let st: StatementDto = h
                .get(
                    &format!("/api/v1/statements/{}", case.opening.id.to_hex()),
                    Some(&w.author.token),
                )
                .json();
            if role == Role::Recipient && (h.phase_of(&case.id) == "sent" || !st.delivered) {
                bad.push("the recipient's download was not recorded as delivered".into());
            }
            if role == Role::Author
                && st.delivered != (phase != Phase::Sent && phase != Phase::Withdrawn)
            {
                bad.push("the author's download changed what is recorded as delivered".into());
            }
        }
        ("GET", "/api/v1/statements/{id}") => {
            let s: StatementDto = r.json();
            if s.receipt.id_hex != case.opening.id.to_hex()
                || s.statement != text(&case.opening)
                || s.kind != "request"
            {
                bad.push(format!("wrong statement returned: {}", r.text()));
            }
            let proof = TlogProof::parse(s.receipt.receipt.as_bytes()).unwrap();
            if let Err(e) = proof.verify(&case.opening.id, ORIGIN, &[&h.log_vkey]) {
                bad.push(format!("its receipt does not verify: {e}"));
            }
        }
        ("GET", "/api/v1/statements/{id}/receipt") => {
            let rec: ReceiptDto = r.json();
            let proof = TlogProof::parse(rec.receipt.as_bytes()).unwrap();
            if rec.id_hex != case.opening.id.to_hex() {
                bad.push(format!("wrong statement's receipt: {}", r.text()));
            }
            if let Err(e) = proof.verify(&case.opening.id, ORIGIN, &[&h.log_vkey]) {
                bad.push(format!("the receipt does not verify: {e}"));
            }
        }
        ("GET", "/api/v1/statements/{id}/receipt.cose") => {
            let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok());
            if ct != Some("application/cose") {
                bad.push(format!("content type {ct:?}, not application/cose"));
            }
            let size: Option<u64> = r
                .headers
                .get("hotline-tree-size")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse().ok());
            match hotline_tlog::cose::verify_inclusion_receipt(
                &r.body,
                &case.opening.id,
                &h.log_vkey,
            ) {
                Err(e) => bad.push(format!("the COSE receipt does not verify: {e}")),
                Ok(rec) => {
                    let cp = h.checkpoint();
                    if Some(rec.tree_size) != size {
                        bad.push(format!(
                            "COSE receipt size {} but header {size:?}",
                            rec.tree_size
                        ));
                    }
                    if rec.tree_size != cp.size || rec.root != cp.root {
                        bad.push(format!(
                            "COSE receipt is against size {} root {}, the checkpoint is size {} \
                             root {}",
                            rec.tree_size,
                            rec.root.to_hex(),
                            cp.size,
                            cp.root.to_hex()
                        ));
                    }
                }
            }
        }
        ("GET", "/api/v1/cases/{case}") => {
            let c: CaseDto = r.json();
            let role_name = match role {
                Role::Author => "requester",
                Role::Recipient => "responder",
                _ => "operator",
            };
            if c.summary.id != case.id.as_str()
                || c.summary.phase != phase.as_str()
                || c.summary.role != role_name
            {
                bad.push(format!(
                    "case shows id {} phase {} role {}",
                    c.summary.id, c.summary.phase, c.summary.role
                ));
            }
        }
        ("GET", "/api/v1/inbox") => {
            let inbox: InboxDto = r.json();
            let listed = inbox.cases.iter().find(|c| c.id == case.id.as_str());
            let should = matches!(role, Role::Author | Role::Recipient | Role::Operator);
            match listed {
                Some(_) if !should => bad.push("the inbox lists someone else's case".into()),
                None if should => bad.push("the inbox does not list the case".into()),
                Some(c) if c.phase != phase.as_str() => {
                    bad.push(format!("the inbox shows phase {}", c.phase));
                }
                _ => {}
            }
        }
        ("POST", "/api/v1/statements") => {
            let rec: ReceiptDto = r.json();
            if !rec.new || rec.index != log_before {
                bad.push(format!(
                    "receipt new={} index={} (log was {log_before})",
                    rec.new, rec.index
                ));
            }
        }
        _ => {}
    }
    bad
}

/// The route's declared access agrees with the matrix: public routes are open to anonymous
/// callers, the others refuse them; operator routes refuse every party.
fn access_agrees(route: &RouteSpec, rule: Rule) -> Result<(), String> {
    for phase in PHASES {
        let anon = rule(Role::Anonymous, phase);
        let party = rule(Role::ThirdParty, phase);
        let ok = match route.access {
            Access::Public => anon < 300,
            Access::Party => anon == 401 && party != 403,
            Access::Operator => anon == 401 && party == 403,
        };
        if !ok {
            return Err(format!(
                "{} {} is declared {:?} in ROUTES but the matrix says anonymous → {anon}, \
                 a third party → {party}",
                route.method, route.path, route.access
            ));
        }
    }
    Ok(())
}

#[test]
fn every_route_role_and_phase_has_the_expected_outcome() {
    // A route without an expectation fails the suite before anything else.
    let missing: Vec<String> = ROUTES
        .iter()
        .filter(|r| rule_for(r).is_none())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert!(
        missing.is_empty(),
        "routes with no expectation in the authorization matrix (tests/api/authz.rs MATRIX): \
         {missing:?}; add a rule for every role and case phase"
    );
    let stale: Vec<String> = MATRIX
        .iter()
        .filter(|(m, p, _)| !ROUTES.iter().any(|r| r.method == *m && r.path == *p))
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert!(
        stale.is_empty(),
        "matrix rows for routes that are not in ROUTES: {stale:?}"
    );
    for route in ROUTES {
        access_agrees(route, rule_for(route).unwrap()).unwrap();
    }

    let w = World::new();
    let mut failures = Vec::new();
    let mut cells = 0;
    for phase in PHASES {
        let shared = w.h.case_in(phase, &w.author, &w.recipient);
        for route in ROUTES {
            let rule = rule_for(route).unwrap();
            for role in ROLES {
                let expected = rule(role, phase);
                let case = if mutates(route, role) {
                    w.h.case_in(phase, &w.author, &w.recipient)
                } else {
                    shared.clone()
                };
                let target = prepare(&w, route);
                let before = w.h.log_size();
                let Some(r) = request(&w, route, role, &case, target.as_ref()) else {
                    panic!(
                        "{} {} is in ROUTES but tests/api/authz.rs `request` does not know how \
                         to call it",
                        route.method, route.path
                    );
                };
                cells += 1;
                let cell = format!("{} {} as {role:?}, case {phase}", route.method, route.path);
                if r.status != expected {
                    failures.push(format!(
                        "{cell}: status {} (expected {expected}): {}",
                        r.status,
                        r.text().chars().take(300).collect::<String>()
                    ));
                    continue;
                }
                for problem in check(&w, route, role, phase, &case, &r, before) {
                    failures.push(format!("{cell}: {problem}"));
                }
            }
        }
        // Nobody's calls moved the shared case (reads never deliver, refusals change nothing).
        assert_eq!(w.h.phase_of(&shared.id), phase.as_str());
    }
    assert!(
        failures.is_empty(),
        "{} of {cells} cells failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(cells, ROUTES.len() * ROLES.len() * PHASES.len());
}

#[test]
fn protected_routes_refuse_missing_malformed_and_unknown_tokens() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let case = h.case_in(Phase::Delivered, &a, &b);
    let before = h.stored(&[&a, &b]);
    let path_of = |route: &RouteSpec| {
        route
            .path
            .replace("{id}", &case.opening.id.to_hex())
            .replace("{case}", case.id.as_str())
            .replace("{party}", "bravo")
            .replace("{webhook}", "wh_0000000000000000")
    };
    for route in ROUTES.iter().filter(|r| r.access != Access::Public) {
        for auth in [
            None,
            Some("Basic YWxwaGE6c2VjcmV0".to_owned()),
            Some("Bearer".to_owned()),
            Some("Bearer hotline_not-a-token".to_owned()),
            Some(format!("Bearer {}x", a.token)),
        ] {
            let url = format!("http://{}{}", h.addr, path_of(route));
            let client = reqwest::blocking::Client::new();
            let mut req = match route.method {
                "GET" => client.get(url),
                "DELETE" => client.delete(url),
                _ => client.post(url).json(&json!({ "statement": "x" })),
            };
            if let Some(v) = &auth {
                req = req.header("authorization", v);
            }
            let r = req.send().unwrap();
            assert_eq!(
                r.status(),
                401,
                "{} {} with Authorization {auth:?}",
                route.method,
                route.path
            );
            let e: ErrorDto = r.json().unwrap();
            assert!(
                e.error.contains("token") || e.error.contains("Authorization"),
                "{}",
                e.error
            );
        }
    }
    assert_eq!(h.stored(&[&a, &b]), before);
}
