//! Webhooks across a fail-over of the sequencing frontend, on PostgreSQL: two `hotline serve`
//! frontends from two copies of one data directory; a party registers a webhook on the
//! frontend that does not sequence (forwarded to the one that does) and both list it; notices
//! arrive for it, the sequencing frontend is SIGKILLed while notifications are in flight and
//! being retried (the receiver, on 127.0.0.1, fails its first answers and holds every answer
//! a moment) and just after two more notices were sequenced; more notices arrive through the
//! other frontend, which takes over. Then:
//!
//! - every arrival was delivered (a 2xx answer) — none lost across the kill, those the killed
//!   sequencer had not yet examined included;
//! - a `webhook-id` that came more than once came with the same body each time (only the
//!   same event is repeated), each id names the log index of a notice sent, and every
//!   signature verifies under the webhook's secret;
//! - both frontends show the same delivery log, with a delivered attempt of every event, and
//!   nothing is left queued in the database.
//!
//! Without a PostgreSQL server the test says why and passes, unless HOTLINE_REQUIRE_EXTERNAL=1.
//! Bounded: 90 s in all, every request 30 s.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, ensure};
use hotline_server::api::ReceiptDto;
use hotline_server::webhooks::DeliveryDto;
use hotline_store::webhooks::WebhookStore as _;
use hotline_tlog::Ed25519Verifier;
use util::Sandbox;
use util::frontends::{
    ORIGIN, Party, Sent, check_receipt, http_client, register, start_frontend, wait_for_sequencer,
};
use util::pg::Schema;

/// The whole test.
const LIMIT: Duration = Duration::from_secs(90);

/// One POST the receiver got: `webhook-id`, `webhook-timestamp`, `webhook-signature`, body,
/// and whether it answers 2xx.
#[derive(Clone, Debug)]
struct Got {
    id: String,
    timestamp: i64,
    signature: String,
    body: Vec<u8>,
    ok: bool,
}

/// A receiver on 127.0.0.1 that answers 500 to its first `fail_first` requests and holds
/// every answer for `hold`; it stops by itself after [`LIMIT`].
fn receiver(fail_first: usize, hold: Duration) -> (String, Arc<Mutex<Vec<Got>>>) {
    let got: Arc<Mutex<Vec<Got>>> = Arc::default();
    let seen = Arc::new(AtomicUsize::new(0));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let url = format!("http://{}/duty", listener.local_addr().unwrap());
    let g = got.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let app = axum::Router::new().route(
                "/duty",
                axum::routing::post(
                    move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                        let (g, seen) = (g.clone(), seen.clone());
                        async move {
                            let h = |n: &str| {
                                headers
                                    .get(n)
                                    .and_then(|v| v.to_str().ok())
                                    .unwrap_or_default()
                                    .to_owned()
                            };
                            let ok = seen.fetch_add(1, Ordering::SeqCst) >= fail_first;
                            // Recorded as received; the sender may die before the answer.
                            g.lock().unwrap().push(Got {
                                id: h("webhook-id"),
                                timestamp: h("webhook-timestamp").parse().unwrap_or(0),
                                signature: h("webhook-signature"),
                                body: body.to_vec(),
                                ok,
                            });
                            tokio::time::sleep(hold).await;
                            if ok {
                                axum::http::StatusCode::NO_CONTENT
                            } else {
                                axum::http::StatusCode::INTERNAL_SERVER_ERROR
                            }
                        }
                    },
                ),
            );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let _ = tokio::time::timeout(LIMIT, axum::serve(listener, app)).await;
        });
    });
    (url, got)
}

fn send(
    http: &reqwest::blocking::Client,
    url: &str,
    parties: &[Party],
    log_key: &Ed25519Verifier,
) -> Result<u64> {
    let sent = Sent::build(parties, 0, 1, false)?;
    let t = Instant::now();
    loop {
        let r = http
            .post(format!("{url}/api/v1/statements"))
            .bearer_auth(&parties[0].token)
            .header("content-type", "application/json")
            .body(sent.body())
            .send();
        match r {
            Ok(r) if r.status().is_success() => {
                let receipt: ReceiptDto = r.json()?;
                return Ok(check_receipt(&receipt, &sent.id, log_key)?.index);
            }
            // While the lease changes hands; the same statement again is idempotent.
            Ok(r) if r.status() == 503 => {}
            Ok(r) => return Err(anyhow!("{url}: {}: {}", r.status(), r.text()?)),
            Err(_) => {}
        }
        ensure!(
            t.elapsed() < Duration::from_secs(30),
            "no frontend took a notice"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn get_json<T: serde::de::DeserializeOwned>(
    http: &reqwest::blocking::Client,
    url: &str,
    token: &str,
) -> Result<T> {
    let r = http.get(url).bearer_auth(token).send()?;
    let status = r.status();
    let text = r.text()?;
    ensure!(status == 200, "{url}: {status}: {text}");
    serde_json::from_str(&text).with_context(|| format!("{url}: {text}"))
}

#[test]
fn webhook_events_survive_a_failover_of_the_sequencing_frontend() -> Result<()> {
    let Some(schema) = Schema::new() else {
        return Ok(());
    };
    let started = Instant::now();
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--origin",
        ORIGIN,
        "--database",
        &schema.url,
    ]);
    let dirs = ["f0", "f1"];
    for d in dirs {
        util::copy_dir(&sb.path("hl"), &sb.path(d));
    }
    let log_key =
        Ed25519Verifier::from_vkey(std::fs::read_to_string(sb.path("hl/log.vkey"))?.trim())?;
    let operator_token = std::fs::read_to_string(sb.path("hl/operator.token"))?
        .trim()
        .to_owned();
    let mut procs = [start_frontend(&sb, dirs[0])?, start_frontend(&sb, dirs[1])?];
    let http = http_client();
    let sequencer_among = |urls: &[String], above: i64| {
        wait_for_sequencer(&http, urls, above, Duration::from_secs(10))
    };
    let urls: Vec<String> = procs.iter().map(|p| p.url.clone()).collect();
    let (s, epoch) = sequencer_among(&urls, 0)?;
    let f = 1 - s;
    let parties: Vec<Party> = (0..2)
        .map(|i| register(&http, &urls[f], &operator_token, &log_key, i))
        .collect::<Result<_>>()?;
    let bravo = &parties[1].token;

    // Registered on the frontend that does not sequence; listed by both.
    let (hook_url, got) = receiver(2, Duration::from_millis(150));
    let r = http
        .post(format!("{}/api/v1/webhooks", urls[f]))
        .bearer_auth(bravo)
        .json(&serde_json::json!({ "url": hook_url }))
        .send()?;
    ensure!(r.status() == 201, "registering the webhook: {}", r.status());
    let hook: serde_json::Value = r.json()?;
    let secret = hook["secret"].as_str().unwrap().to_owned();
    for u in &urls {
        let list: serde_json::Value = get_json(&http, &format!("{u}/api/v1/webhooks"), bravo)?;
        ensure!(
            list.as_array().map(Vec::len) == Some(1) && list[0]["id"] == hook["id"],
            "{u} lists {list}"
        );
    }
    // The sequencer's notifier starts from the log as it stands: wait until it has.
    let store = hotline_store::postgres::PgWebhooks::open(&schema.url)?;
    let t = Instant::now();
    while store.next_index()?.is_none() {
        ensure!(
            t.elapsed() < Duration::from_secs(10),
            "the notifier never ran"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Notices through both frontends; then the sequencer is killed while the first
    // notifications are failing, retried or held by the receiver; more through the other.
    let mut indexes = Vec::new();
    for k in 0..4 {
        indexes.push(send(&http, &urls[(s + k) % 2], &parties, &log_key)?);
    }
    let t = Instant::now();
    while got.lock().unwrap().is_empty() {
        ensure!(
            t.elapsed() < Duration::from_secs(10),
            "no notification before the kill"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Two more straight to the sequencer, killed before its notifier (a round a second) is
    // likely to have examined them: the successor must find them from the stored progress.
    for _ in 0..2 {
        indexes.push(send(&http, &urls[s], &parties, &log_key)?);
    }
    procs[s].child.kill()?;
    procs[s].child.wait()?;
    let examined = store.next_index()?.unwrap_or(0);
    println!(
        "killed the sequencing frontend {s} (epoch {epoch}) after {} notifications, with {} of \
         the notices not yet examined by its notifier",
        got.lock().unwrap().len(),
        indexes.iter().filter(|i| **i >= examined).count()
    );
    for _ in 0..3 {
        indexes.push(send(&http, &urls[f], &parties, &log_key)?);
    }
    let (now_s, next_epoch) = sequencer_among(&urls[f..=f], epoch)?;
    ensure!(now_s == 0, "the survivor does not sequence");
    println!("frontend {f} sequences (epoch {next_epoch})");
    procs[s] = start_frontend(&sb, dirs[s])?;
    let urls: Vec<String> = procs.iter().map(|p| p.url.clone()).collect();

    // Every event delivered.
    let expected: BTreeSet<String> = indexes.iter().map(|i| format!("evt_arrived_{i}")).collect();
    loop {
        let delivered: BTreeSet<String> = got
            .lock()
            .unwrap()
            .iter()
            .filter(|g| g.ok)
            .map(|g| g.id.clone())
            .collect();
        if expected.is_subset(&delivered) {
            break;
        }
        ensure!(
            started.elapsed() < LIMIT,
            "not delivered within {LIMIT:?}: {:?}",
            expected.difference(&delivered).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A moment for attempts still in flight to arrive (they must be repeats).
    std::thread::sleep(Duration::from_millis(1500));
    let got = got.lock().unwrap().clone();
    let mut bodies: BTreeMap<String, BTreeSet<Vec<u8>>> = BTreeMap::new();
    for g in &got {
        bodies
            .entry(g.id.clone())
            .or_default()
            .insert(g.body.clone());
        ensure!(
            hotline_server::webhooks::signature(&secret, &g.id, g.timestamp, &g.body)
                == g.signature,
            "a signature that does not verify on {}",
            g.id
        );
        let event: serde_json::Value = serde_json::from_slice(&g.body)?;
        ensure!(
            format!("evt_arrived_{}", event["index"]) == g.id && event["party"] == "fo-1",
            "{} carries {event}",
            g.id
        );
    }
    let ids: BTreeSet<String> = bodies.keys().cloned().collect();
    ensure!(
        ids == expected,
        "ids received {ids:?}, notices sent {expected:?}"
    );
    for (id, b) in &bodies {
        ensure!(b.len() == 1, "{id} came with {} different bodies", b.len());
    }
    let repeats = got.iter().filter(|g| g.ok).count() - expected.len();
    println!(
        "{} notices, {} requests received ({} answered 500), {repeats} repeated deliveries",
        expected.len(),
        got.len(),
        got.iter().filter(|g| !g.ok).count()
    );

    // The same delivery log on both frontends, with a delivered attempt of every event.
    let t = Instant::now();
    loop {
        let logs: Vec<Vec<DeliveryDto>> = urls
            .iter()
            .map(|u| get_json(&http, &format!("{u}/api/v1/webhooks/deliveries"), bravo))
            .collect::<Result<_>>()?;
        let delivered: BTreeSet<String> = logs[0]
            .iter()
            .filter(|d| d.delivered)
            .map(|d| d.event_id.clone())
            .collect();
        let same = logs[0].len() == logs[1].len()
            && logs[0].iter().zip(&logs[1]).all(|(a, b)| {
                (&a.event_id, a.attempt, &a.time) == (&b.event_id, b.attempt, &b.time)
            });
        if same && delivered == expected && store.due(i64::MAX, 10)?.is_empty() {
            break;
        }
        ensure!(
            t.elapsed() < Duration::from_secs(10),
            "the delivery logs disagree or miss events: {} and {} attempts, delivered {delivered:?}",
            logs[0].len(),
            logs[1].len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    ensure!(started.elapsed() < LIMIT, "took {:?}", started.elapsed());
    drop(store);
    Ok(())
}
