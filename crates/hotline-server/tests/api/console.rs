//! The web console's server-rendered pages against a real hotline: language negotiation and
//! the switch, right-to-left Arabic, localized numbers, the statistics charts agreeing with
//! `hotline_core::stats`, the entry browser and an entry's inclusion proof, content-addressed
//! assets with immutable caching, the paginated inbox the officer views read, and bad input.

use hotline_core::lifecycle::Phase;
use hotline_server::api::{CaseDto, InboxDto};

use crate::fixture::*;

fn page(
    h: &TestHotline,
    path: &str,
    lang: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let client = reqwest::blocking::Client::new();
    let mut req = client
        .get(format!("http://{}{path}", h.addr))
        .header("Accept", "text/html");
    if let Some(l) = lang {
        req = req.header("Accept-Language", l);
    }
    let r = req.send().unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.text().unwrap())
}

#[test]
fn public_pages_in_english_and_arabic() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    h.case_in(Phase::Answered, &a, &b);
    h.case_in(Phase::Acknowledged, &a, &b);
    h.case_in(Phase::Sent, &b, &a);

    for path in [
        "/",
        "/status",
        "/stats",
        "/entries",
        "/entries/3",
        "/officer",
    ] {
        let (status, headers, body) = page(&h, path, Some("en-GB,en;q=0.9"));
        assert_eq!(status, 200, "{path}: {body}");
        assert!(body.contains("<html lang=\"en\" dir=\"ltr\">"), "{path}");
        assert_eq!(headers["content-language"], "en");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert!(!body.contains("<script>"), "{path} has an inline script");
        let (status, _, body) = page(&h, path, Some("ar-EG,ar;q=0.9,en;q=0.5"));
        assert_eq!(status, 200, "{path}");
        assert!(body.contains("<html lang=\"ar\" dir=\"rtl\">"), "{path}");
        assert!(
            body.contains("حالة السجل"),
            "{path}: the navigation is not in Arabic"
        );
    }
    // The switch: ?lang= wins over Accept-Language and is remembered in a cookie.
    let (_, headers, body) = page(&h, "/status?lang=ar", Some("en"));
    assert!(body.contains("dir=\"rtl\""));
    assert!(
        headers["set-cookie"]
            .to_str()
            .unwrap()
            .starts_with("hotline_lang=ar;"),
        "{headers:?}"
    );
    let client = reqwest::blocking::Client::new();
    let body = client
        .get(format!("http://{}/status", h.addr))
        .header("Accept", "text/html")
        .header("Accept-Language", "en")
        .header("Cookie", "hotline_lang=ar")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(body.contains("dir=\"rtl\""), "the cookie is not honoured");
    // Without Accept: text/html, `/` stays the text index for scripts.
    let text = h.get("/", None).expect(200).text();
    assert!(text.starts_with("hotline transparency log"));

    // Status: the size in each locale's digits.
    let size = h.log_size();
    let (_, _, en) = page(&h, "/status", Some("en"));
    assert!(en.contains(&format!("<dd>{size}</dd>")), "{en}");
    let (_, _, ar) = page(&h, "/status", Some("ar"));
    let ar_size: String = size
        .to_string()
        .chars()
        .map(|c| char::from_u32(0x0660 + c.to_digit(10).unwrap()).unwrap())
        .collect();
    assert!(ar.contains(&format!("<dd>{ar_size}</dd>")), "{ar}");
    assert!(
        en.contains("alpha") && en.contains("bravo"),
        "the directory is missing"
    );

    // Statistics: per pair, as the auditor's statistics count them.
    let (_, _, stats) = page(&h, "/stats?pair=alpha%3Ebravo", Some("en"));
    assert!(stats.contains("<svg"), "no chart");
    assert!(stats.contains("alpha → bravo · Opened: 2"), "{stats}");
    assert!(stats.contains("alpha → bravo · Answered: 1"), "{stats}");
    assert!(stats.contains("alpha → bravo · Acknowledged: 2"), "{stats}");
    assert!(
        !stats.contains("bravo → alpha · Opened"),
        "the pair filter is ignored"
    );
    for bad in ["nobody%3Enothing", "garbage"] {
        let (status, _, none) = page(&h, &format!("/stats?pair={bad}"), Some("en"));
        assert_eq!(status, 200);
        assert!(none.contains("No cases between this pair"), "{bad}: {none}");
        assert!(
            !none.contains("· Opened:"),
            "{bad}: an unknown pair shows figures"
        );
    }
    let (_, _, all) = page(&h, "/stats", Some("en"));
    assert!(all.contains("bravo → alpha · Opened: 1"), "{all}");

    // Entries: the list, one entry with its statement and proof, and bad indexes.
    let (_, _, list) = page(&h, "/entries?from=0", Some("en"));
    assert!(list.contains("href=\"/entries/0\""));
    assert!(list.contains("party registered"));
    let entries = h.entries();
    let (_, _, one) = page(&h, "/entries/3", Some("en"));
    let text = String::from_utf8(entries[3].clone()).unwrap();
    let first_line = text.lines().nth(2).unwrap();
    assert!(one.contains(first_line), "the statement is not shown");
    assert!(one.contains("id=\"proof\""));
    assert!(one.contains(&h.log_vkey.to_vkey()));
    assert_eq!(page(&h, "/entries/999999", None).0, 404);
    assert_eq!(page(&h, "/entries/x", None).0, 404);
    assert_eq!(page(&h, "/entries?from=x", None).0, 400);
}

#[test]
fn assets_are_content_addressed_and_immutable() {
    let h = TestHotline::start();
    let (_, _, body) = page(&h, "/officer", None);
    let js = body
        .split("src=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        js.starts_with("/assets/hotline-console.") && js.ends_with(".js"),
        "{js}"
    );
    let r = reqwest::blocking::get(format!("http://{}{js}", h.addr)).unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    assert_eq!(
        r.bytes().unwrap().as_ref(),
        hotline_server::console::CONSOLE_JS
    );
    let r = reqwest::blocking::get(format!(
        "http://{}/assets/hotline-console.000000000000.js",
        h.addr
    ))
    .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn inbox_pages_and_roles() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    for _ in 0..5 {
        h.case_in(Phase::Sent, &a, &b);
    }
    h.case_in(Phase::Sent, &b, &a);
    let all: InboxDto = h.get("/api/v1/inbox", Some(&b.token)).expect(200).json();
    assert_eq!(all.cases.len(), 6);
    assert_eq!(all.total, 6);
    let inbox: InboxDto = h
        .get(
            "/api/v1/inbox?role=responder&page=1&per_page=2",
            Some(&b.token),
        )
        .expect(200)
        .json();
    assert_eq!((inbox.total, inbox.cases.len()), (5, 2));
    assert!(inbox.cases.iter().all(|c| c.role == "responder"));
    // Pages concatenate to the whole sorted list.
    let mut paged = Vec::new();
    for p in 1..=3 {
        let r: InboxDto = h
            .get(
                &format!("/api/v1/inbox?role=responder&page={p}&per_page=2"),
                Some(&b.token),
            )
            .expect(200)
            .json();
        paged.extend(r.cases.into_iter().map(|c| c.id));
    }
    let whole: Vec<String> = all
        .cases
        .iter()
        .filter(|c| c.role == "responder")
        .map(|c| c.id.clone())
        .collect();
    assert_eq!(paged, whole);
    let outbox: InboxDto = h
        .get("/api/v1/inbox?role=requester&page=1", Some(&b.token))
        .expect(200)
        .json();
    assert_eq!(outbox.total, 1);
    assert_eq!(outbox.cases[0].handling.as_deref(), Some("H2"));
    for bad in [
        "role=nobody",
        "page=0",
        "per_page=0",
        "per_page=501",
        "page=x",
        "colour=red",
    ] {
        let e = h
            .get(&format!("/api/v1/inbox?{bad}"), Some(&b.token))
            .expect(400)
            .text();
        assert!(!e.is_empty(), "{bad}");
    }
    // The case tells each side what it may do now.
    let id = &inbox.cases[0].id;
    let case: CaseDto = h
        .get(&format!("/api/v1/cases/{id}"), Some(&a.token))
        .expect(200)
        .json();
    assert_eq!(case.allowed, vec!["closed", "withdrawn"]);
    let case: CaseDto = h
        .get(&format!("/api/v1/cases/{id}"), Some(&b.token))
        .expect(200)
        .json();
    assert!(case.allowed.is_empty(), "{:?}", case.allowed);
}
