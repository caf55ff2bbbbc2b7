//! A frontend cut off from the database stops answering writes (503 naming the problem)
//! rather than hand out receipts it cannot back; when it was the sequencer, another frontend
//! takes over; when the database is back, it follows the log again and takes writes.
//!
//! Two frontends of one hotline on PostgreSQL (a schema of its own): A reaches the server
//! directly, B through a TCP relay run by this test. Cutting the relay makes it a black hole,
//! as a network partition does: connections stay open and bytes sent into them vanish, so
//! nothing fails fast — B must judge by how long it has had no answer. Healing it closes every
//! connection it carried, as a partition's end usually does (the peers' retransmissions reset).
//!
//! 1. B follows, A sequences. Statements sent to B are forwarded to A. With B cut off, B answers
//!    writes 503 ("no contact with the database") within a few seconds and `/healthz` 503,
//!    still serves the log it followed, and A keeps taking statements. Healed, B catches up and
//!    takes writes again.
//! 2. A is killed: B takes over. A, restarted, follows. B (sequencing, under load) is cut off:
//!    it stops taking statements (503) when its lease may have run out; A takes over within the
//!    lease plus the database's idle-in-transaction limit (a commit B had in flight holds the
//!    writers' lock until the server ends its session). Healed, B steps down, rebuilds its state
//!    from the log, follows A and takes writes again.
//!
//! Every receipt any client got, from either frontend at any time, is at its index in the
//! log with its payload afterwards, the frontends agree with the log, and `hotline fsck`
//! passes. Without a PostgreSQL server the test says why and passes, unless
//! HOTLINE_REQUIRE_EXTERNAL=1.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs as _};
use std::os::unix::fs::PermissionsExt as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, ensure};
use hotline_server::api::ReceiptDto;
use hotline_store::LogReader;
use hotline_store::postgres::PgReader;
use hotline_store::reader::LogView;
use hotline_tlog::Ed25519Verifier;
use util::Sandbox;
use util::frontends::{
    Checked, FrontendProc, ORIGIN, Party, Sent, check_receipt, hotline_size, register, sequencing,
    start_frontend,
};
use util::pg::Schema;

/// A TCP relay to the PostgreSQL server that can be turned into a black hole.
struct Relay {
    addr: SocketAddr,
    state: Arc<RelayState>,
}

#[derive(Default)]
struct RelayState {
    cut: AtomicBool,
    stop: AtomicBool,
    /// Every socket it carries (both ends), to close them when healed.
    sockets: Mutex<Vec<TcpStream>>,
}

impl RelayState {
    fn keep(&self, s: &TcpStream) {
        if let Ok(c) = s.try_clone() {
            self.sockets.lock().unwrap().push(c);
        }
    }
}

/// Copies `from` to `to` until either closes; while cut, what arrives is dropped.
fn pump(mut from: TcpStream, mut to: TcpStream, state: Arc<RelayState>) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !state.cut.load(Ordering::SeqCst) && to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
    let _ = from.shutdown(std::net::Shutdown::Both);
}

impl Relay {
    fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(RelayState::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if st.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                st.keep(&client);
                if st.cut.load(Ordering::SeqCst) {
                    // Accepted, never answered: a black hole.
                    let s = st.clone();
                    std::thread::spawn(move || {
                        let mut sink = Vec::new();
                        let _ = (&client).take(u64::MAX).read_to_end(&mut sink);
                        drop(s);
                    });
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    let _ = client.shutdown(std::net::Shutdown::Both);
                    continue;
                };
                st.keep(&server);
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (a, b) = (st.clone(), st.clone());
                std::thread::spawn(move || pump(client, server, a));
                std::thread::spawn(move || pump(s2, c2, b));
            }
        });
        Relay { addr, state }
    }

    fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
    }

    /// Ends the partition: every connection it carried is closed, new ones go through.
    ///
    /// In this order: a connection the accepting thread saw while cut was kept before it looked,
    /// so the drain below closes it. Draining first left a window in which a connection kept
    /// after the drain was still black-holed, forever: the frontend's connect attempt then hung
    /// in PostgreSQL's start-up exchange (the socket itself was connected) and it never rejoined.
    fn heal(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
        let sockets: Vec<TcpStream> = self.state.sockets.lock().unwrap().drain(..).collect();
        for s in sockets {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.heal();
        let _ = TcpStream::connect(self.addr);
    }
}

/// The URL with its `host:port` replaced by `addr`, and the address it named.
fn through(url: &str, addr: SocketAddr) -> Result<(String, SocketAddr)> {
    let (scheme_user, rest) = url
        .split_once('@')
        .ok_or_else(|| anyhow!("{url}: expected postgres://user@host:port/db"))?;
    let (host_port, tail) = rest
        .split_once('/')
        .ok_or_else(|| anyhow!("{url}: expected postgres://user@host:port/db"))?;
    let upstream = if host_port.contains(':') {
        host_port.to_owned()
    } else {
        format!("{host_port}:5432")
    };
    let upstream = upstream
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow!("{host_port} resolves to nothing"))?;
    Ok((format!("{scheme_user}@{addr}/{tail}"), upstream))
}

/// An answer to a statement: status, body, and for 200/201 the statement with its receipt.
type Answer = (u16, String, Option<(Sent, Checked)>);

/// POSTs a new statement of `author` to `url`: the status and, for 200/201, the checked
/// receipt.
fn send(
    http: &reqwest::blocking::Client,
    url: &str,
    parties: &[Party],
    log_key: &Ed25519Verifier,
    author: usize,
) -> Result<Answer> {
    let s = Sent::build(parties, author, 1 - author, false)?;
    let resp = http
        .post(format!("{url}/api/v1/statements"))
        .bearer_auth(&parties[author].token)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(s.body())
        .send()?;
    let status = resp.status().as_u16();
    let text = resp.text()?;
    if status == 200 || status == 201 {
        let r: ReceiptDto = serde_json::from_str(&text)?;
        let c = check_receipt(&r, &s.id, log_key)?;
        return Ok((status, text, Some((s, c))));
    }
    Ok((status, text, None))
}

fn healthz(http: &reqwest::blocking::Client, url: &str) -> (u16, String) {
    match http
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
    {
        Ok(r) => (r.status().as_u16(), r.text().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// How long a frontend may take to reconnect, catch up or take over: a bound for a loaded CI
/// machine (each takes well under a second on a quiet one), not a speed target.
const RECOVERY: Duration = Duration::from_secs(30);

/// Polls `f` every 50 ms until it is true, at most `limit`; how long it took.
fn within(limit: Duration, what: &str, mut f: impl FnMut() -> bool) -> Result<Duration> {
    let t = Instant::now();
    while !f() {
        ensure!(t.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(t.elapsed())
}

#[test]
fn a_frontend_cut_off_from_the_database_refuses_writes_and_rejoins() -> Result<()> {
    let Some(schema) = Schema::new() else {
        return Ok(());
    };
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
    util::copy_dir(&sb.path("hl"), &sb.path("a"));
    util::copy_dir(&sb.path("hl"), &sb.path("b"));
    // B reaches the database through the relay.
    let relay_addr_placeholder: SocketAddr = "127.0.0.1:1".parse()?;
    let (_, upstream) = through(&schema.url, relay_addr_placeholder)?;
    let relay = Relay::start(upstream);
    let (b_url, _) = through(&schema.url, relay.addr)?;
    let url_file = sb.path("b/database.url");
    std::fs::remove_file(&url_file)?;
    std::fs::write(&url_file, &b_url)?;
    std::fs::set_permissions(&url_file, std::fs::Permissions::from_mode(0o600))?;
    let log_key =
        Ed25519Verifier::from_vkey(std::fs::read_to_string(sb.path("hl/log.vkey"))?.trim())?;
    let operator_token = std::fs::read_to_string(sb.path("hl/operator.token"))?
        .trim()
        .to_owned();
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(4))
        .no_proxy()
        .build()?;
    let mut a = start_frontend(&sb, "a")?;
    within(RECOVERY, "A sequences", || {
        sequencing(&http, &a.url).is_some()
    })?;
    let b: FrontendProc = start_frontend(&sb, "b")?;
    let parties: Vec<Party> = (0..2)
        .map(|i| register(&http, &b.url, &operator_token, &log_key, i))
        .collect::<Result<_>>()?;
    let mut receipts: Vec<(Sent, Checked)> = Vec::new();

    // 1. B follows and is cut off.
    let (status, text, r) = send(&http, &b.url, &parties, &log_key, 0)?;
    ensure!(
        status == 201,
        "B forwarding before the cut: {status}: {text}"
    );
    receipts.extend(r);
    relay.cut();
    let mut during_cut = Vec::new();
    let mut refused = String::new();
    let took = within(Duration::from_secs(8), "B refuses writes", || {
        match send(&http, &b.url, &parties, &log_key, 0) {
            Ok((503, text, _)) => {
                refused = text;
                true
            }
            // Forwarded to A, which backs it, while B's last contact is recent.
            Ok((201, _, r)) => {
                during_cut.extend(r);
                false
            }
            Ok((s, t, _)) => panic!("B during the cut: {s}: {t}"),
            Err(_) => false,
        }
    })?;
    ensure!(
        refused.contains("no contact with the database") && refused.contains("another frontend"),
        "B's refusal: {refused}"
    );
    let (hs, ht) = healthz(&http, &b.url);
    ensure!(
        hs == 503 && ht.contains("unavailable"),
        "B's /healthz: {hs} {ht}"
    );
    let (cs, _) = (
        http.get(format!("{}/log/checkpoint", b.url))
            .send()?
            .status()
            .as_u16(),
        (),
    );
    ensure!(cs == 200, "B stopped serving the log it followed: {cs}");
    let (status, text, r) = send(&http, &a.url, &parties, &log_key, 1)?;
    ensure!(status == 201, "A during B's cut: {status}: {text}");
    receipts.extend(r);
    receipts.append(&mut during_cut);
    println!(
        "partition: a follower cut off from the database refused writes after {:.1} s: {}",
        took.as_secs_f64(),
        refused.trim()
    );
    relay.heal();
    let a_size = hotline_size(&http, &a.url)?;
    within(RECOVERY, "B catches up after the cut", || {
        hotline_size(&http, &b.url).is_ok_and(|s| s >= a_size) && healthz(&http, &b.url).0 == 200
    })?;
    let (status, text, r) = send(&http, &b.url, &parties, &log_key, 0)?;
    ensure!(status == 201, "B healed: {status}: {text}");
    receipts.extend(r);

    // 2. B sequences and is cut off.
    a.child.kill()?;
    a.child.wait()?;
    let (b_epoch, _) = {
        let mut got = None;
        within(RECOVERY, "B takes over", || {
            got = sequencing(&http, &b.url);
            got.is_some()
        })?;
        got.unwrap()
    };
    drop(a);
    let a = start_frontend(&sb, "a")?;
    within(RECOVERY, "A follows B", || {
        healthz(&http, &a.url).1.contains(" follows the log")
    })?;
    // Load on B while it is cut off: whatever it answers 2xx must survive.
    let stop = AtomicBool::new(false);
    let (loaded, answers) = std::thread::scope(|scope| -> Result<_> {
        let loader = scope.spawn(|| {
            let http = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(3))
                .no_proxy()
                .build()
                .unwrap();
            let mut got = Vec::new();
            let mut answers = (0u32, 0u32, 0u32);
            while !stop.load(Ordering::SeqCst) {
                match send(&http, &b.url, &parties, &log_key, 1) {
                    Ok((201, _, r)) => {
                        answers.0 += 1;
                        got.extend(r);
                    }
                    Ok((503, _, _)) => answers.1 += 1,
                    Ok((s, t, _)) => panic!("B under load: {s}: {t}"),
                    Err(_) => answers.2 += 1,
                }
            }
            (got, answers)
        });
        let result = (|| -> Result<()> {
            std::thread::sleep(Duration::from_millis(500));
            relay.cut();
            let cut = Instant::now();
            let mut refused = String::new();
            let stopped = within(Duration::from_secs(8), "B stops taking statements", || {
                let (s, t) = healthz(&http, &b.url);
                refused = t;
                s == 503
            })?;
            let (status, text, _) = send(&http, &b.url, &parties, &log_key, 0)?;
            ensure!(status == 503, "B cut off: {status}: {text}");
            let mut a_epoch = 0;
            within(Duration::from_secs(15), "A takes over", || {
                a_epoch = sequencing(&http, &a.url).map_or(0, |(e, _)| e);
                a_epoch > b_epoch
            })?;
            let took_over = cut.elapsed();
            let (status, text, r) = send(&http, &a.url, &parties, &log_key, 0)?;
            ensure!(status == 201, "A after the takeover: {status}: {text}");
            receipts.extend(r);
            println!(
                "partition: the sequencer cut off from the database stopped taking statements \
                 after {:.1} s ({}); another frontend took over after {:.1} s",
                stopped.as_secs_f64(),
                refused.trim(),
                took_over.as_secs_f64()
            );
            relay.heal();
            within(Duration::from_secs(15), "B follows again", || {
                healthz(&http, &b.url).1.contains(" follows the log")
            })?;
            Ok(())
        })();
        stop.store(true, Ordering::SeqCst);
        let loaded = loader.join().map_err(|_| anyhow!("the loader panicked"))?;
        result.map(|()| loaded)
    })?;
    println!(
        "partition: B under load answered {} receipts, {} × 503, {} × no answer",
        answers.0, answers.1, answers.2
    );
    receipts.extend(loaded);
    let (status, text, r) = send(&http, &b.url, &parties, &log_key, 1)?;
    ensure!(status == 201, "B healed again: {status}: {text}");
    receipts.extend(r);

    // Every receipt survives; the frontends agree with the log; fsck.
    let reader = std::sync::Arc::new(PgReader::open(&schema.url)?);
    let view = LogView::new(reader.clone())?;
    let snap = view.snapshot();
    let size = snap.size();
    for (s, c) in &receipts {
        let mut got = None;
        view.for_each_entry(&snap, c.index, c.index + 1, |_, e| {
            got = Some(e.to_vec());
            Ok(())
        })?;
        ensure!(
            got.as_deref() == Some(&s.bytes[..]),
            "LOST RECEIPT at index {}",
            c.index
        );
        ensure!(
            reader.payload(c.index, &s.id)?.as_deref() == Some(&s.ciphertext[..]),
            "LOST PAYLOAD at index {}",
            c.index
        );
        let stored = reader
            .checkpoint(c.checkpoint.size)?
            .ok_or_else(|| anyhow!("receipted checkpoint {} not stored", c.checkpoint.size))?;
        ensure!(stored.note == c.note, "receipted checkpoint differs");
    }
    within(RECOVERY, "both frontends at the log's size", || {
        hotline_size(&http, &a.url).is_ok_and(|s| s == size)
            && hotline_size(&http, &b.url).is_ok_and(|s| s == size)
    })?;
    let out = sb.run_ok(&["fsck", "--dir", "a", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out)?;
    ensure!(report["ok"] == true, "fsck: {out}");
    println!(
        "partition: {} receipts all in the log of size {size}; fsck ok",
        receipts.len()
    );
    drop((a, b));
    Ok(())
}
