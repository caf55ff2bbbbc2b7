//! Webhook notifications against a local receiver on 127.0.0.1: a request's arrival, a
//! deadline an hour away, a retry after the receiver failed, a signature the receiver verifies
//! (and a tampered body that does not verify), the delivery log per party, bad input, an
//! attempt in flight when the process stopped made again with the same id, and the files of
//! an older build imported into the database once.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{KeyInit as _, Mac as _};
use hotline_core::lifecycle::Phase;
use hotline_server::webhooks::DeliveryDto;
use serde_json::{Value, json};

use crate::fixture::*;

/// What the receiver got: headers and body of each POST.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<u8>)>>>;

/// A receiver that answers 500 to its first `fail_first` requests, then 200.
fn receiver(fail_first: usize) -> (String, Received, std::thread::JoinHandle<()>) {
    receiver_holding(fail_first, Duration::ZERO)
}

/// As [`receiver`], holding its answer to the first request for `hold`.
fn receiver_holding(
    fail_first: usize,
    hold: Duration,
) -> (String, Received, std::thread::JoinHandle<()>) {
    let got: Received = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/hooks/duty", listener.local_addr().unwrap());
    let g = got.clone();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/hooks/duty",
                axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                    let g = g.clone();
                    let seen = seen.clone();
                    async move {
                        g.lock().unwrap().push((headers, body.to_vec()));
                        let n = seen.fetch_add(1, Ordering::SeqCst);
                        if n == 0 && !hold.is_zero() {
                            tokio::time::sleep(hold).await;
                        }
                        if n < fail_first {
                            StatusCode::INTERNAL_SERVER_ERROR
                        } else {
                            StatusCode::NO_CONTENT
                        }
                    }
                }),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            // Bounded: the receiver stops by itself after 60 s.
            let _ = tokio::time::timeout(Duration::from_secs(60), axum::serve(listener, app)).await;
        });
    });
    (url, got, handle)
}

/// Verifies a notification as a receiver would (Standard Webhooks).
fn verify(secret: &str, headers: &HeaderMap, body: &[u8]) -> bool {
    let key = B64.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let id = headers["webhook-id"].to_str().unwrap();
    let ts = headers["webhook-timestamp"].to_str().unwrap();
    let sig = headers["webhook-signature"].to_str().unwrap();
    let Some(sig) = sig.strip_prefix("v1,") else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
    mac.update(format!("{id}.{ts}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&B64.decode(sig).unwrap()).is_ok()
}

fn wait_for<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn arrival_near_deadline_retry_and_signature() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let (url, got, _receiver) = receiver(1);
    let hook: Value = h
        .post("/api/v1/webhooks", Some(&b.token), json!({ "url": url }))
        .expect(201)
        .json();
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");
    // Listed without the secret.
    let list: Value = h.get("/api/v1/webhooks", Some(&b.token)).expect(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(list[0].get("secret").is_none(), "{list}");
    assert_eq!(
        h.get("/api/v1/webhooks", Some(&a.token))
            .expect(200)
            .json::<Value>(),
        json!([])
    );

    let hooks = h.service.webhooks().unwrap().clone();
    let service = h.service.clone();
    // Spawned on the hotline's runtime (the handle is kept, not awaited): it runs until the
    // hotline is dropped.
    let _dispatcher =
        h.block_on(async move { Some(hotline_server::webhooks::spawn(hooks, service)) });
    // The dispatcher's first round starts from the log as it stands.
    std::thread::sleep(Duration::from_millis(300));

    // A routine request arrives for bravo: the receiver fails once, the retry delivers it.
    let case = h.case_in(Phase::Sent, &a, &b);
    let arrived = wait_for("the arrival, delivered after a retry", || {
        let g = got.lock().unwrap();
        (g.len() >= 2).then(|| g.clone())
    });
    let (h1, body1) = &arrived[0];
    let (h2, body2) = &arrived[1];
    assert_eq!(
        h1["webhook-id"], h2["webhook-id"],
        "a retry keeps the event id"
    );
    assert_eq!(body1, body2);
    assert!(verify(&secret, h2, body2), "the signature does not verify");
    let mut tampered = body2.clone();
    tampered[2] ^= 1;
    assert!(!verify(&secret, h2, &tampered), "a tampered body verifies");
    assert!(!verify(
        "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
        h2,
        body2
    ));
    let event: Value = serde_json::from_slice(body2).unwrap();
    assert_eq!(event["type"], "statement.arrived");
    assert_eq!(event["party"], "bravo");
    assert_eq!(event["from"], "alpha");
    assert_eq!(event["kind"], "request");
    assert_eq!(event["case"], case.id.as_str());
    assert_eq!(event["priority"], "routine");
    // The content never travels in a notification.
    assert!(!String::from_utf8_lossy(body2).contains(&case.title));

    // An hour before the acknowledgement deadline (routine: 72 h), bravo is told.
    h.set_now(h.now().plus(71 * 3600 + 60));
    let near = wait_for("the near-deadline notification", || {
        let g = got.lock().unwrap();
        g.iter()
            .map(|(hd, b)| {
                (
                    hd.clone(),
                    serde_json::from_slice::<Value>(b).unwrap(),
                    b.clone(),
                )
            })
            .find(|(_, v, _)| v["type"] == "deadline.near")
    });
    assert_eq!(near.1["deadline"], "ack");
    assert_eq!(near.1["case"], case.id.as_str());
    assert!(
        near.1["seconds_left"].as_i64().unwrap() <= 3600,
        "{}",
        near.1
    );
    assert!(verify(&secret, &near.0, &near.2));
    // Announced once only.
    std::thread::sleep(Duration::from_millis(500));
    let nears = got
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, b)| String::from_utf8_lossy(b).contains("deadline.near"))
        .count();
    assert_eq!(nears, 1);

    // The delivery log: the failure, the retry, the near deadline; bravo's only.
    let log: Vec<DeliveryDto> = wait_for("the delivery log", || {
        let l: Vec<DeliveryDto> = h
            .get("/api/v1/webhooks/deliveries", Some(&b.token))
            .expect(200)
            .json();
        (l.len() >= 3).then_some(l)
    });
    let arrival: Vec<&DeliveryDto> = log
        .iter()
        .filter(|d| d.event == "statement.arrived")
        .collect();
    assert_eq!(arrival.len(), 2, "{log:?}");
    let first = arrival.iter().find(|d| d.attempt == 1).unwrap();
    assert_eq!(first.status, Some(500));
    assert!(!first.delivered && first.will_retry);
    let second = arrival.iter().find(|d| d.attempt == 2).unwrap();
    assert!(second.delivered && second.status == Some(204));
    assert!(
        log.iter()
            .any(|d| d.event == "deadline.near" && d.delivered)
    );
    let theirs: Vec<DeliveryDto> = h
        .get("/api/v1/webhooks/deliveries", Some(&a.token))
        .expect(200)
        .json();
    assert!(theirs.is_empty());
}

#[test]
fn a_receiver_that_never_answers_is_given_up_after_the_attempts() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    // Nothing listens on this port (bound, then closed).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    h.post(
        "/api/v1/webhooks",
        Some(&b.token),
        json!({ "url": format!("http://127.0.0.1:{port}/x") }),
    )
    .expect(201);
    let hooks = h.service.webhooks().unwrap().clone();
    let service = h.service.clone();
    // Spawned on the hotline's runtime (the handle is kept, not awaited): it runs until the
    // hotline is dropped.
    let _dispatcher =
        h.block_on(async move { Some(hotline_server::webhooks::spawn(hooks, service)) });
    std::thread::sleep(Duration::from_millis(300));
    h.case_in(Phase::Sent, &a, &b);
    let log: Vec<DeliveryDto> = wait_for("four failed attempts", || {
        let l: Vec<DeliveryDto> = h
            .get("/api/v1/webhooks/deliveries", Some(&b.token))
            .expect(200)
            .json();
        (l.len() >= 4).then_some(l)
    });
    assert!(
        log.iter().all(
            |d| !d.delivered && d.error.as_deref() == Some("could not connect to the receiver")
        )
    );
    assert_eq!(log.iter().filter(|d| !d.will_retry).count(), 1, "{log:?}");
    std::thread::sleep(Duration::from_millis(1500));
    let after: Vec<DeliveryDto> = h
        .get("/api/v1/webhooks/deliveries", Some(&b.token))
        .expect(200)
        .json();
    assert_eq!(after.len(), 4, "attempts went on after the last one");
}

#[test]
fn bad_webhooks_are_refused_by_name() {
    let h = TestHotline::start();
    let b = h.register("bravo");
    for (url, needle) in [
        ("ftp://duty.example/x", "http:// or https://"),
        ("not a url", "not a URL"),
        ("https://user:pw@duty.example/x", "credentials"),
    ] {
        let e = h
            .post("/api/v1/webhooks", Some(&b.token), json!({ "url": url }))
            .expect(400)
            .text();
        assert!(e.contains(needle), "{url}: {e}");
    }
    let e = h
        .post(
            "/api/v1/webhooks",
            Some(&b.token),
            json!({ "url": "https://x.example", "extra": 1 }),
        )
        .expect(400)
        .text();
    assert!(e.contains("extra"), "{e}");
    for i in 0..10 {
        h.post(
            "/api/v1/webhooks",
            Some(&b.token),
            json!({ "url": format!("https://duty.example/{i}") }),
        )
        .expect(201);
    }
    let e = h
        .post(
            "/api/v1/webhooks",
            Some(&b.token),
            json!({ "url": "https://duty.example/11" }),
        )
        .expect(409)
        .text();
    assert!(e.contains("already has 10 webhooks"), "{e}");
    let e = h
        .call(
            "DELETE",
            "/api/v1/webhooks/wh_nope",
            Some(&b.token),
            Body::Empty,
        )
        .expect(404)
        .text();
    assert!(e.contains("no webhook"), "{e}");
    let list: Value = h.get("/api/v1/webhooks", Some(&b.token)).expect(200).json();
    assert_eq!(
        list.as_array().unwrap().len(),
        10,
        "a refused call changed the webhooks"
    );
}

#[test]
fn a_restart_neither_repeats_nor_skips_an_announcement() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let (url, got, _receiver) = receiver(0);
    h.post("/api/v1/webhooks", Some(&b.token), json!({ "url": url }))
        .expect(201);
    let start = |h: &TestHotline| {
        let hooks = h.service.webhooks().unwrap().clone();
        let service = h.service.clone();
        h.block_on(async move { Some(hotline_server::webhooks::spawn(hooks, service)) })
    };
    let d = start(&h);
    std::thread::sleep(Duration::from_millis(300));
    let first = h.case_in(Phase::Sent, &a, &b);
    wait_for("the first arrival", || {
        (got.lock().unwrap().len() == 1).then_some(())
    });
    drop(d);
    let h = h.restart();
    // Sent while no dispatcher ran: announced after the restart, once.
    let second = h.case_in(Phase::Sent, &a, &b);
    let _d = start(&h);
    wait_for("the second arrival", || {
        (got.lock().unwrap().len() >= 2).then_some(())
    });
    std::thread::sleep(Duration::from_millis(600));
    let cases: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| {
            serde_json::from_slice::<Value>(b).unwrap()["case"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        cases,
        vec![first.id.to_string(), second.id.to_string()],
        "after the restart an arrival was repeated or skipped"
    );
    // The registration survived too.
    let list: Value = h.get("/api/v1/webhooks", Some(&b.token)).expect(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[test]
fn an_attempt_in_flight_when_the_process_stops_is_made_again_with_the_same_id() {
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    // The first request is held for 3 s: the process stops while it is in flight.
    let (url, got, _receiver) = receiver_holding(0, Duration::from_secs(3));
    h.post("/api/v1/webhooks", Some(&b.token), json!({ "url": url }))
        .expect(201);
    let start = |h: &TestHotline| {
        let hooks = h.service.webhooks().unwrap().clone();
        let service = h.service.clone();
        h.block_on(async move { Some(hotline_server::webhooks::spawn(hooks, service)) })
    };
    let d = start(&h);
    std::thread::sleep(Duration::from_millis(300));
    let case = h.case_in(Phase::Sent, &a, &b);
    wait_for("the first attempt", || {
        (got.lock().unwrap().len() == 1).then_some(())
    });
    drop(d);
    let h = h.restart();
    let _d = start(&h);
    wait_for("the attempt made again", || {
        (got.lock().unwrap().len() >= 2).then_some(())
    });
    let g = got.lock().unwrap().clone();
    assert_eq!(g.len(), 2, "one repeat only");
    assert_eq!(
        g[0].0["webhook-id"], g[1].0["webhook-id"],
        "the same event id"
    );
    assert_eq!(g[0].1, g[1].1, "the same event");
    let event: Value = serde_json::from_slice(&g[1].1).unwrap();
    assert_eq!(event["case"], case.id.as_str());
    // The attempt cut off was never recorded; the one made again was.
    let log: Vec<DeliveryDto> = wait_for("the delivery log", || {
        let l: Vec<DeliveryDto> = h
            .get("/api/v1/webhooks/deliveries", Some(&b.token))
            .expect(200)
            .json();
        (!l.is_empty()).then_some(l)
    });
    assert_eq!(log.len(), 1, "{log:?}");
    assert!(log[0].delivered && log[0].attempt == 1, "{log:?}");
    assert_eq!(log[0].event_id, g[0].0["webhook-id"].to_str().unwrap());
}

#[test]
fn files_of_an_older_build_are_imported_once_then_renamed() {
    use std::os::unix::fs::PermissionsExt as _;
    let h = TestHotline::start();
    let a = h.register("alpha");
    let b = h.register("bravo");
    let (url, got, _receiver) = receiver(0);
    let secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    // What a build that kept webhooks in files left in the data directory: a registration,
    // its progress (up to the log as it stands), a deadline announced and two attempts.
    let file = h.dir().join("webhooks.json");
    let deliveries = h.dir().join("webhook-deliveries.jsonl");
    let legacy = json!({
        "hooks": [{
            "id": "wh_0123456789abcdef",
            "party": "bravo",
            "url": url,
            "secret": secret,
            "created": "2021-07-03T10:00:00Z",
        }],
        "next_index": h.log_size(),
        "announced": ["20210703-000000000000/ack/1625313600"],
    });
    std::fs::write(&file, serde_json::to_vec_pretty(&legacy).unwrap()).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let attempt = |n: u32, delivered: bool| {
        json!({
            "webhook": "wh_0123456789abcdef", "party": "bravo", "event_id": "evt_arrived_1",
            "event": "statement.arrived", "case": "20210703-000000000000", "attempt": n,
            "time": "2021-07-03T10:00:00Z", "status": if delivered { 204 } else { 500 },
            "error": null, "delivered": delivered, "will_retry": !delivered,
        })
        .to_string()
    };
    std::fs::write(
        &deliveries,
        format!("{}\n{}\nnot json\n", attempt(1, false), attempt(2, true)),
    )
    .unwrap();

    let hooks = h.service.webhooks().unwrap().clone();
    let imported = hooks.import_files(h.dir(), true).unwrap().unwrap();
    assert_eq!(
        imported,
        hotline_server::webhooks::Imported {
            hooks: 1,
            deliveries: 2,
            fresh: true
        }
    );
    // Renamed, still private (they hold the secret).
    assert!(!file.exists() && !deliveries.exists());
    let aside = h.dir().join("webhooks.json.imported");
    assert_eq!(
        std::fs::metadata(&aside).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(h.dir().join("webhook-deliveries.jsonl.imported").exists());
    let list: Value = h.get("/api/v1/webhooks", Some(&b.token)).expect(200).json();
    assert_eq!(list[0]["id"], "wh_0123456789abcdef", "{list}");
    assert!(list[0].get("secret").is_none());
    let log: Vec<DeliveryDto> = h
        .get("/api/v1/webhooks/deliveries", Some(&b.token))
        .expect(200)
        .json();
    assert_eq!(
        log.iter().map(|d| d.attempt).collect::<Vec<_>>(),
        [2, 1],
        "{log:?}"
    );
    // No file: nothing to import. The same file put back: not imported twice.
    assert_eq!(hooks.import_files(h.dir(), true).unwrap(), None);
    std::fs::copy(&aside, &file).unwrap();
    let again = hooks.import_files(h.dir(), true).unwrap().unwrap();
    assert!(!again.fresh);
    assert!(!file.exists());
    let list: Value = h.get("/api/v1/webhooks", Some(&b.token)).expect(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let log: Vec<DeliveryDto> = h
        .get("/api/v1/webhooks/deliveries", Some(&b.token))
        .expect(200)
        .json();
    assert_eq!(log.len(), 2);

    // The imported registration and progress work: the next arrival, signed with the
    // imported secret, and nothing of the log's history before it.
    let service = h.service.clone();
    let _dispatcher =
        h.block_on(async move { Some(hotline_server::webhooks::spawn(hooks, service)) });
    let case = h.case_in(Phase::Sent, &a, &b);
    let (headers, body) = wait_for("the arrival", || got.lock().unwrap().first().cloned());
    assert!(verify(secret, &headers, &body));
    let event: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(event["case"], case.id.as_str());
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        got.lock().unwrap().len(),
        1,
        "the log's history was announced"
    );
    // A restart keeps it all (and finds nothing to import).
    let h = h.restart();
    let list: Value = h.get("/api/v1/webhooks", Some(&b.token)).expect(200).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
}
