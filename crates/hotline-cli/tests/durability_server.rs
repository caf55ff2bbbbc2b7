//! Durability acceptance test of the hotline *service* under SIGKILL: `tests/durability.rs`
//! kills the bare log (`hotline bench log`); this one kills a real `hotline serve` while parties
//! send it signed, age-encrypted statements over the API, and checks what every receipt
//! promised after each restart.
//!
//! Set-up: `hotline init --dir D` (a hotline with its operator), `hotline serve --dir D` on
//! 127.0.0.1 (port 0), and four parties registered through the API as the operator (keys made
//! here, `party-registered` countersigned by the party's key, as `hotline bench submit` does).
//!
//! Each cycle: one client thread per party sends `notice` statements that open new cases with
//! another party, built as an officer's client builds them (a case document with a fresh salt,
//! encrypted with age to recipient and author, committed to by SHA-256 and size, signed by the
//! author) and POSTed with the payload to `/api/v1/statements`. Every 201 (or 200) answer must be
//! a receipt for exactly that statement whose c2sp.org/tlog-proof verifies under `D/log.vkey`;
//! it is recorded with the statement bytes and the ciphertext. In most cycles a downloader
//! thread also fetches payloads as their recipient (`GET /api/v1/statements/{id}/payload`),
//! which makes the operator append a `delivered` statement before answering; every download
//! answered 200 (with the very ciphertext sent) is recorded. At a seeded random moment 50–400 ms
//! into the cycle the harness SIGKILLs the server. What the clients had in flight at that
//! moment got no answer: it may or may not be in the log.
//!
//! After every kill, on a copy of the database exactly as the kill left it (SQLite files read
//! with `SqliteReader` and `LogView`):
//!
//! - the latest checkpoint verifies under the log key, is no smaller than before and no smaller
//!   than any receipted checkpoint; the root recomputed from all entries equals its root; no
//!   earlier entry changed;
//! - **every** statement ever receipted is at its receipted index with exactly its bytes, and
//!   its payload is stored with it (side data, same commit) byte for byte;
//! - every entry is accounted for: a registration, a notice the harness sent (receipted, or cut
//!   off by the kill: "committed without receipt"), or a `delivered` the operator signed for a
//!   download the harness attempted; no statement is in the log twice; every notice has at most
//!   one `delivered`, and every download answered 200 has exactly one, after the notice;
//! - every receipted checkpoint is the one stored for its size and is consistent with the
//!   latest (a consistency proof from the stored tiles).
//!
//! Then `hotline serve` restarts on the same directory (which replays the whole log into the
//! service's state and runs the sequencer's start-up recovery); in about one cycle in six a
//! first start is itself killed at a random moment of its start-up. Against the restarted
//! server, over HTTP:
//!
//! - its size and `/log/checkpoint` are exactly those the kill left (nothing lost, nothing
//!   added by the restart); consistency proofs it serves from receipted checkpoints verify;
//! - for every receipt of the killed cycle (up to 24, always the last ones) and 8 older ones:
//!   `GET /api/v1/statements/{id}` returns it at its receipted index with its exact bytes and a
//!   receipt that verifies; resubmitting it (same bytes, same payload) answers 200 with the
//!   same index (idempotent replay after restart); its payload downloads, as its author,
//!   byte-identical to what was sent; and the log size has not changed after all of that;
//! - one payload per cycle decrypts with the recipient's and the author's age identity to the
//!   committed plaintext hash; a delivered payload downloads again as its recipient without
//!   appending a second `delivered`;
//! - the statements the kill cut off are sent again, as a client retries: 200 with their index
//!   if they had been committed, 201 if they had not; cut-off downloads are retried too;
//! - `hotline log verify --url URL --vkey D/log.vkey` exits 0 (it recomputes every tile and the
//!   root from the entries), its size is the server's, and with `--state` it proves the log
//!   consistent with the one it verified after the previous restart.
//!
//! Knobs (environment): `HOTLINE_SERVER_CRASH_CYCLES` (default 12: it runs in CI under
//! `cargo test --workspace`), `HOTLINE_CRASH_SEED` (default random; printed so a failure can be
//! replayed, as far as kill timing can be), `HOTLINE_SERVER_CRASH_DEADLINE_SECS` (overall time
//! limit, default 120 + 10 per cycle). Every loop is bounded in count, every request in time.
//!
//! As in `durability.rs`, SIGKILL is a process crash: the kernel keeps every page written.
//! Power loss is not simulated.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::CaseId;
use hotline_core::payload::{CaseDocument, sha256};
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{Handling, Kind, PartyId, PartyKind, Priority, Timestamp, Tlp};
use hotline_crypto::PartyKeys;
use hotline_server::ConsistencyProofDto;
use hotline_server::api::{HotlineDto, ReceiptDto, RegisteredDto, StatementDto, SubmitDto};
use hotline_store::LogReader;
use hotline_store::reader::LogView;
use hotline_store::sqlite::{DB_FILE, SqliteReader};
use hotline_tlog::note::NoteSigner;
use hotline_tlog::tile::TreeEdge;
use hotline_tlog::tree::verify_consistency;
use hotline_tlog::{Checkpoint, Ed25519Verifier, Hash, Note, NoteVerifier, TlogProof, leaf_hash};
use rand::rngs::StdRng;
use rand::seq::SliceRandom as _;
use rand::{Rng as _, SeedableRng as _};
use util::{Sandbox, ServerGuard};

const ORIGIN: &str = "crash.hotline.invalid/log";
/// The data directory, inside the sandbox.
const DIR: &str = "hl";
const PARTIES: usize = 4;
/// Most notices one client sends in a cycle (it normally stops at the kill, far earlier).
const MAX_PER_CLIENT: usize = 5_000;
/// Most payloads the downloader fetches in a cycle.
const MAX_DOWNLOADS: usize = 2_000;
/// Receipts of the killed cycle checked over the API after the restart (the last ones).
const FRESH_SAMPLE: usize = 24;
/// Older receipts checked over the API after each restart (random).
const OLD_SAMPLE: usize = 8;
/// Time limit of every HTTP request.
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

fn http_client() -> Result<reqwest::blocking::Client> {
    Ok(reqwest::blocking::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .no_proxy()
        .build()?)
}

/// A request answered (status and whole body), or a transport error (the server is gone).
fn send(req: reqwest::blocking::RequestBuilder) -> reqwest::Result<(u16, Vec<u8>)> {
    let resp = req.send()?;
    let status = resp.status().as_u16();
    Ok((status, resp.bytes()?.to_vec()))
}

fn get(
    http: &reqwest::blocking::Client,
    url: &str,
    token: Option<&str>,
) -> reqwest::Result<(u16, Vec<u8>)> {
    let mut req = http.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send(req)
}

fn post(
    http: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
) -> reqwest::Result<(u16, Vec<u8>)> {
    send(
        http.post(url)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body),
    )
}

/// Expects `status` and a JSON body of type `T`.
fn json_as<T: serde::de::DeserializeOwned>(
    what: &str,
    r: reqwest::Result<(u16, Vec<u8>)>,
    status: u16,
) -> Result<T> {
    let (s, body) = r.with_context(|| format!("{what}: no answer"))?;
    ensure!(
        s == status,
        "{what}: status {s}, expected {status}: {}",
        String::from_utf8_lossy(&body)
    );
    serde_json::from_slice(&body)
        .with_context(|| format!("{what}: {}", String::from_utf8_lossy(&body)))
}

/// A registered party: its keys and API token, as its officer holds them.
struct Party {
    id: PartyId,
    keys: PartyKeys,
    token: String,
}

/// A signed notice with its payload, ready to send.
#[derive(Clone)]
struct Notice {
    id: Hash,
    author: usize,
    recipient: usize,
    bytes: Vec<u8>,
    ciphertext: Vec<u8>,
    plaintext_sha256: Hash,
}

impl Notice {
    /// Builds, encrypts and signs a notice opening a new case, as an officer's client does
    /// (`hotline bench submit`'s `prepare_client`).
    fn build(parties: &[Party], author: usize, recipient: usize, summary: &str) -> Result<Notice> {
        let (from, to) = (&parties[author], &parties[recipient]);
        let now = Timestamp::now();
        let doc = CaseDocument::new("durability test notice", summary);
        let plaintext = doc.to_plaintext();
        let ciphertext =
            hotline_crypto::encrypt(&plaintext, &[to.keys.recipient(), from.keys.recipient()])?;
        let mut st = Statement::new(ORIGIN, Kind::Notice, from.id.clone(), now);
        st.case = Some(CaseId::generate(now));
        st.recipient = Some(to.id.clone());
        st.priority = Some(Priority::Routine);
        st.handling = Some(Handling::H2);
        st.tlp = Some(Tlp::Amber);
        st.payload = Some(PayloadCommitment {
            sha256: sha256(&ciphertext),
            size: ciphertext.len() as u64,
            plaintext_sha256: sha256(&plaintext),
        });
        let signed = SignedStatement::sign(st, &[from.keys.signer() as &dyn NoteSigner])?;
        Ok(Notice {
            id: signed.id,
            author,
            recipient,
            bytes: signed.bytes,
            ciphertext,
            plaintext_sha256: sha256(&plaintext),
        })
    }

    /// The request body of `POST /api/v1/statements`.
    fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&SubmitDto {
            statement: String::from_utf8(self.bytes.clone()).unwrap(),
            payload: Some(B64.encode(&self.ciphertext)),
        })
        .unwrap()
    }
}

/// A receipt, checked: for the statement sent, its tlog-proof verifying under the log key.
#[derive(Clone, Debug)]
struct Checked {
    index: u64,
    new: bool,
    checkpoint: Checkpoint,
    /// The signed checkpoint note, verbatim.
    note: Vec<u8>,
}

/// Checks a receipt for statement `id`: ids, and its c2sp.org/tlog-proof (checkpoint signature
/// under the log key, origin, inclusion proof), as `bench submit`'s `verify_receipts` does.
fn check_receipt(r: &ReceiptDto, id: &Hash, log_key: &Ed25519Verifier) -> Result<Checked> {
    ensure!(
        r.id == id.to_base64() && r.id_hex == id.to_hex(),
        "receipt for {} ({}), sent {id}",
        r.id,
        r.id_hex
    );
    let proof =
        TlogProof::parse(r.receipt.as_bytes()).map_err(|e| anyhow!("receipt {}: {e}", r.index))?;
    ensure!(
        proof.index == r.index,
        "tlog-proof index {} ≠ receipt index {}",
        proof.index,
        r.index
    );
    let (checkpoint, _) = proof
        .verify(id, ORIGIN, &[log_key as &dyn NoteVerifier])
        .map_err(|e| anyhow!("receipt {} does not verify: {e}", r.index))?;
    Ok(Checked {
        index: r.index,
        new: r.new,
        checkpoint,
        note: proof.checkpoint,
    })
}

/// A receipted notice.
#[derive(Clone)]
struct Sent {
    notice: Notice,
    index: u64,
    cycle: u64,
}

/// A payload for the downloader: the notice, its recipient, the ciphertext sent.
type Download = (Hash, usize, Arc<Vec<u8>>);

/// What a cycle's threads share.
struct CycleCtx<'a> {
    url: &'a str,
    parties: &'a [Party],
    log_key: &'a Ed25519Verifier,
    stop: AtomicBool,
    /// Payloads for the downloader: (notice, its recipient), oldest first.
    queue: Mutex<VecDeque<Download>>,
    downloads: bool,
    summary: String,
}

/// What one client thread saw.
#[derive(Default)]
struct ClientOutcome {
    receipts: Vec<(Notice, Checked)>,
    /// Replays answered 200 (only a transport-level retry could cause one).
    replays: u64,
    /// The notice whose request the kill cut off (sent or not; no answer).
    cut_off: Option<Notice>,
    failure: Option<String>,
}

/// One party's client: sends notices one at a time until the server is gone.
fn run_client(ctx: &CycleCtx<'_>, me: usize) -> ClientOutcome {
    let mut out = ClientOutcome::default();
    let http = match http_client() {
        Ok(h) => h,
        Err(e) => {
            out.failure = Some(format!("HTTP client: {e}"));
            return out;
        }
    };
    let party = &ctx.parties[me];
    let url = format!("{}/api/v1/statements", ctx.url);
    for k in 0..MAX_PER_CLIENT {
        if ctx.stop.load(Ordering::SeqCst) {
            break;
        }
        let to = (me + 1 + k % (PARTIES - 1)) % PARTIES;
        let notice = match Notice::build(ctx.parties, me, to, &ctx.summary) {
            Ok(n) => n,
            Err(e) => {
                out.failure = Some(format!("building a notice: {e:#}"));
                break;
            }
        };
        let (status, body) = match post(&http, &url, &party.token, notice.body()) {
            Ok(a) => a,
            Err(_) => {
                out.cut_off = Some(notice);
                break;
            }
        };
        if status != 201 && status != 200 {
            out.failure = Some(format!(
                "{} sending a notice: status {status}: {}",
                party.id,
                String::from_utf8_lossy(&body)
            ));
            break;
        }
        let checked = serde_json::from_slice::<ReceiptDto>(&body)
            .map_err(anyhow::Error::from)
            .and_then(|r| check_receipt(&r, &notice.id, ctx.log_key));
        match checked {
            Ok(c) if c.new == (status == 201) => {
                if status == 200 {
                    out.replays += 1;
                }
                if ctx.downloads {
                    ctx.queue.lock().unwrap().push_back((
                        notice.id,
                        to,
                        Arc::new(notice.ciphertext.clone()),
                    ));
                }
                out.receipts.push((notice, c));
            }
            Ok(c) => {
                out.failure = Some(format!(
                    "status {status} but the receipt says new = {}",
                    c.new
                ));
                break;
            }
            Err(e) => {
                out.failure = Some(format!(
                    "{} got a bad receipt: {e:#}: {}",
                    party.id,
                    String::from_utf8_lossy(&body)
                ));
                break;
            }
        }
    }
    out
}

/// What the downloader saw.
#[derive(Default)]
struct DownloadOutcome {
    /// Notices whose payload their recipient downloaded (200, the very ciphertext).
    delivered: Vec<Hash>,
    /// Every download requested (answered or not).
    attempted: Vec<Hash>,
    /// The download the kill cut off.
    cut_off: Option<Hash>,
    failure: Option<String>,
}

/// Downloads queued payloads as their recipients until the server is gone.
fn run_downloader(ctx: &CycleCtx<'_>) -> DownloadOutcome {
    let mut out = DownloadOutcome::default();
    let http = match http_client() {
        Ok(h) => h,
        Err(e) => {
            out.failure = Some(format!("HTTP client: {e}"));
            return out;
        }
    };
    while out.attempted.len() < MAX_DOWNLOADS && !ctx.stop.load(Ordering::SeqCst) {
        let next = ctx.queue.lock().unwrap().pop_front();
        let Some((id, recipient, ciphertext)) = next else {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        };
        out.attempted.push(id);
        let url = format!("{}/api/v1/statements/{}/payload", ctx.url, id.to_hex());
        match get(&http, &url, Some(&ctx.parties[recipient].token)) {
            Err(_) => {
                out.cut_off = Some(id);
                break;
            }
            Ok((200, body)) if body == *ciphertext => out.delivered.push(id),
            Ok((status, body)) => {
                out.failure = Some(format!(
                    "recipient's download of {id}: status {status}, {} bytes{}",
                    body.len(),
                    if status == 200 {
                        " that differ from the ciphertext sent"
                    } else {
                        ""
                    }
                ));
                break;
            }
        }
    }
    out
}

/// Counters for the summary.
#[derive(Default, Debug)]
struct Stats {
    cycles: u64,
    /// Receipts handed out (distinct statements).
    receipts: u64,
    /// Receipted statements checked at their index in the state a kill left, over all kills.
    receipts_checked: u64,
    /// Receipts checked over the API after a restart (get, replay, payload download).
    api_checked: u64,
    kills_before_first_receipt: u64,
    /// Cut-off notices found committed after the kill (retry answered 200).
    committed_without_receipt: u64,
    /// Cut-off notices not committed (retry appended them: 201).
    lost_unreceipted: u64,
    /// Recipient downloads answered 200 (each a `delivered`).
    deliveries: u64,
    startup_kills: u64,
    log_verifies: u64,
}

/// The hotline under test and everything it ever promised.
struct Harness {
    sb: Sandbox,
    log_key: Ed25519Verifier,
    operator_token: String,
    parties: Vec<Party>,
    server: Option<ServerGuard>,
    /// How long the latest `hotline serve` took to answer.
    startup: Duration,
    rng: StdRng,
    stats: Stats,
    /// Every receipted notice, in receipt order.
    sent: Vec<Sent>,
    /// Registrations: id → index.
    registrations: HashMap<Hash, u64>,
    /// Every receipted checkpoint: size → (root, signed note).
    checkpoints: BTreeMap<u64, (Hash, Vec<u8>)>,
    /// Notices the latest kill cut off (retried after the restart).
    cut_off: Vec<Notice>,
    /// Downloads the latest kill cut off (retried after the restart).
    cut_off_downloads: Vec<Hash>,
    /// Notices whose recipient's download was answered 200.
    delivered: HashSet<Hash>,
    /// Notices whose recipient's download was ever requested.
    download_attempted: HashSet<Hash>,
    /// Leaf hashes of the log as of the last check of a killed state.
    leaves: Vec<Hash>,
    /// The latest signed checkpoint as of that check.
    latest_note: Vec<u8>,
    /// Size of the log after the parties were registered.
    initial_size: u64,
    /// The size the running server reported last.
    served: u64,
}

impl Harness {
    fn url(&self) -> Result<&str> {
        Ok(&self
            .server
            .as_ref()
            .ok_or_else(|| anyhow!("no server"))?
            .url)
    }

    fn start(seed: u64) -> Result<Harness> {
        let sb = Sandbox::new();
        sb.run_ok(&["init", "--dir", DIR, "--origin", ORIGIN]);
        let log_key = Ed25519Verifier::from_vkey(
            std::fs::read_to_string(sb.path(DIR).join("log.vkey"))?.trim(),
        )?;
        let operator_token = std::fs::read_to_string(sb.path(DIR).join("operator.token"))?
            .trim()
            .to_owned();
        let t0 = Instant::now();
        let server = sb.serve(DIR);
        let mut h = Harness {
            sb,
            log_key,
            operator_token,
            parties: Vec::new(),
            server: Some(server),
            startup: t0.elapsed(),
            rng: StdRng::seed_from_u64(seed),
            stats: Stats::default(),
            sent: Vec::new(),
            registrations: HashMap::new(),
            checkpoints: BTreeMap::new(),
            cut_off: Vec::new(),
            cut_off_downloads: Vec::new(),
            delivered: HashSet::new(),
            download_attempted: HashSet::new(),
            leaves: Vec::new(),
            latest_note: Vec::new(),
            initial_size: 0,
            served: 0,
        };
        h.register_parties()?;
        let http = http_client()?;
        let info: HotlineDto = json_as(
            "GET /api/v1/hotline",
            get(&http, &format!("{}/api/v1/hotline", h.url()?), None),
            200,
        )?;
        ensure!(info.origin == ORIGIN && info.log_vkey == h.log_key.to_vkey());
        h.initial_size = info.size;
        h.served = info.size;
        Ok(h)
    }

    /// Registers the parties through the API as the operator (keys made here; the registration
    /// signed by the party's key, the operator's signature added by the server).
    fn register_parties(&mut self) -> Result<()> {
        let http = http_client()?;
        let url = format!("{}/api/v1/parties", self.url()?);
        for i in 0..PARTIES {
            let name = format!("crash-{i}");
            let keys = PartyKeys::generate(&name)?;
            let id = PartyId::new(&name).map_err(|e| anyhow!("{e}"))?;
            let mut st = Statement::new(
                ORIGIN,
                Kind::PartyRegistered,
                PartyId::operator(),
                Timestamp::now(),
            );
            st.party = Some(id.clone());
            st.party_fields = PartyFields {
                name: Some(format!("Crash test party {i}")),
                jurisdiction: Some("CH".into()),
                kind: Some(PartyKind::Other),
                key: Some(keys.verifier().to_vkey()),
                recipients: vec![keys.recipient().to_string()],
                contact: Some(format!("duty@{name}.invalid")),
            };
            let signed = SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner])?;
            let body = serde_json::to_vec(&serde_json::json!({
                "statement": String::from_utf8(signed.bytes)?,
            }))?;
            let r: RegisteredDto = json_as(
                &format!("registering {name}"),
                post(&http, &url, &self.operator_token, body),
                201,
            )?;
            let rid = Hash::from_base64(&r.receipt.id).ok_or_else(|| anyhow!("bad id"))?;
            let c = check_receipt(&r.receipt, &rid, &self.log_key)?;
            self.record_checkpoint(&c)?;
            self.registrations.insert(rid, c.index);
            self.parties.push(Party {
                id,
                keys,
                token: r.token,
            });
        }
        Ok(())
    }

    /// Records a receipted checkpoint; two different roots for one size would be a fork.
    fn record_checkpoint(&mut self, c: &Checked) -> Result<()> {
        let cp = &c.checkpoint;
        match self.checkpoints.get(&cp.size) {
            Some((root, _)) => ensure!(
                *root == cp.root,
                "FORK: two receipted checkpoints for size {} differ",
                cp.size
            ),
            None => {
                self.checkpoints.insert(cp.size, (cp.root, c.note.clone()));
            }
        }
        Ok(())
    }

    fn db_path(&self) -> PathBuf {
        self.sb.path(DIR).join(DB_FILE)
    }

    /// One cycle: clients (and perhaps the downloader) against the server, SIGKILL at a random
    /// moment, check the files it left, restart, check the restarted server.
    fn cycle(&mut self) -> Result<String> {
        let kill_at = Duration::from_millis(self.rng.random_range(50..=400));
        let downloads = self.rng.random_bool(0.7);
        let summary = "x".repeat(self.rng.random_range(0..=4000));
        let fresh_from = self.sent.len();
        // Earlier notices not yet delivered go first, in random order.
        let mut pending: Vec<Download> = if downloads {
            self.sent
                .iter()
                .filter(|s| !self.download_attempted.contains(&s.notice.id))
                .map(|s| {
                    (
                        s.notice.id,
                        s.notice.recipient,
                        Arc::new(s.notice.ciphertext.clone()),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
        pending.shuffle(&mut self.rng);
        let mut server = self
            .server
            .take()
            .ok_or_else(|| anyhow!("no server to kill"))?;
        let url = server.url.clone();
        let ctx = CycleCtx {
            url: &url,
            parties: &self.parties,
            log_key: &self.log_key,
            stop: AtomicBool::new(false),
            queue: Mutex::new(pending.into()),
            downloads,
            summary,
        };
        let (clients, downloader, killed) = std::thread::scope(|s| {
            let hs: Vec<_> = (0..PARTIES)
                .map(|me| {
                    let ctx = &ctx;
                    s.spawn(move || run_client(ctx, me))
                })
                .collect();
            let dl = downloads.then(|| s.spawn(|| run_downloader(&ctx)));
            std::thread::sleep(kill_at);
            let killed = kill(&mut server);
            ctx.stop.store(true, Ordering::SeqCst);
            let clients: Vec<ClientOutcome> = hs
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| ClientOutcome {
                        failure: Some("a client thread panicked".into()),
                        ..ClientOutcome::default()
                    })
                })
                .collect();
            let dl = dl.map(|h| {
                h.join().unwrap_or_else(|_| DownloadOutcome {
                    failure: Some("the downloader panicked".into()),
                    ..DownloadOutcome::default()
                })
            });
            (clients, dl.unwrap_or_default(), killed)
        });
        drop(server);
        killed?;
        let cycle = self.stats.cycles;
        let mut receipts = 0u64;
        for c in clients {
            if let Some(f) = c.failure {
                bail!("cycle {cycle}: {f}");
            }
            for (notice, checked) in c.receipts {
                self.record_checkpoint(&checked)?;
                self.sent.push(Sent {
                    notice,
                    index: checked.index,
                    cycle,
                });
                receipts += 1;
            }
            self.cut_off.extend(c.cut_off);
            ensure!(c.replays == 0, "a fresh notice was answered as a replay");
        }
        if let Some(f) = downloader.failure {
            bail!("cycle {cycle}: {f}");
        }
        self.download_attempted
            .extend(downloader.attempted.iter().copied());
        let deliveries = downloader.delivered.len();
        self.stats.deliveries += deliveries as u64;
        self.delivered.extend(downloader.delivered);
        self.cut_off_downloads.extend(downloader.cut_off);
        self.stats.receipts += receipts;
        if receipts == 0 {
            self.stats.kills_before_first_receipt += 1;
        }
        let size_before = self.served;
        let cut_off = self.cut_off.len();
        self.check_killed_state(None)
            .with_context(|| format!("cycle {cycle}: the files the kill left"))?;
        let size_after_kill = self.leaves.len();
        let mut startup_kill = None;
        if self.rng.random_range(0..6) == 0 {
            let at = self.startup.mul_f64(self.rng.random_range(0.0..1.2));
            self.kill_during_startup(at)
                .with_context(|| format!("cycle {cycle}: killing a start-up at {at:?}"))?;
            self.check_killed_state(Some(size_after_kill as u64))
                .with_context(|| format!("cycle {cycle}: after a start-up kill"))?;
            startup_kill = Some(at);
        }
        let t0 = Instant::now();
        self.server = Some(self.sb.serve(DIR));
        self.startup = t0.elapsed();
        let t1 = Instant::now();
        self.check_restarted(fresh_from)
            .with_context(|| format!("cycle {cycle}: the restarted server"))?;
        self.stats.cycles += 1;
        Ok(format!(
            "cycle {cycle:>3}: kill at {kill_at:>4?}: {receipts:>4} receipts, {deliveries:>3} \
             deliveries, {cut_off} cut off; size {size_before} → {size_after_kill} at the kill{}; \
             restart {:.0} ms, checks {:.0} ms",
            startup_kill.map_or(String::new(), |at| format!(
                "; start-up killed at {:.0} ms",
                at.as_secs_f64() * 1000.0
            )),
            self.startup.as_secs_f64() * 1000.0,
            t1.elapsed().as_secs_f64() * 1000.0,
        ))
    }

    /// Starts `hotline serve` and SIGKILLs it `at` into its start-up (the replay of the log
    /// into the service, the sequencer's recovery) or just after.
    fn kill_during_startup(&mut self, at: Duration) -> Result<()> {
        let stderr = self.sb.path("startup-kill.stderr");
        let mut child = self
            .sb
            .cmd(&["serve", "--dir", DIR, "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr)?)
            .spawn()?;
        std::thread::sleep(at);
        let exited = child.try_wait()?;
        let _ = child.kill();
        let _ = child.wait();
        if let Some(status) = exited {
            bail!(
                "hotline serve exited by itself with {status} during start-up:\n{}",
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        self.stats.startup_kills += 1;
        Ok(())
    }

    /// Checks a copy of the database exactly as the kill left it (see the module comment).
    fn check_killed_state(&mut self, expect_size: Option<u64>) -> Result<()> {
        // A copy: opening the live files here could let SQLite fold the WAL into the database,
        // and the restart must meet exactly what the kill left.
        let copy = self.sb.path("check");
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy)?;
        for suffix in ["", "-wal"] {
            let from = PathBuf::from(format!("{}{suffix}", self.db_path().display()));
            if from.exists() {
                std::fs::copy(&from, copy.join(format!("{DB_FILE}{suffix}")))?;
            }
        }
        let reader = Arc::new(SqliteReader::open(&copy.join(DB_FILE))?);
        reader.quick_check()?;
        ensure!(reader.origin() == ORIGIN, "origin changed");
        ensure!(
            reader.log_vkey() == self.log_key.to_vkey(),
            "the stored log key is not log.vkey"
        );
        let stored = reader
            .latest_checkpoint()?
            .ok_or_else(|| anyhow!("no checkpoint stored"))?;
        let note = Note::parse(&stored.note)?;
        note.verify(&[&self.log_key as &dyn NoteVerifier])
            .context("the latest stored checkpoint does not verify under log.vkey")?;
        let cp = Checkpoint::parse(note.text())?;
        ensure!(
            cp.origin == ORIGIN && cp.size == stored.size,
            "bad latest checkpoint"
        );
        let size = cp.size;
        let prev = self.leaves.len() as u64;
        ensure!(
            size >= prev,
            "ROLLBACK: the log had {prev} entries, now its latest checkpoint says {size}"
        );
        if let Some(want) = expect_size {
            ensure!(
                size == want,
                "the log holds {size} entries, the server last held {want}"
            );
        }
        if let Some((&largest, _)) = self.checkpoints.last_key_value() {
            ensure!(
                largest <= size,
                "LOST CHECKPOINT: size {largest} was receipted, the latest stored is {size}"
            );
        }
        let view = LogView::new(reader.clone())?;
        let snap = view.snapshot();
        ensure!(snap.size() == size, "LogView sees size {}", snap.size());
        let mut entries: Vec<Vec<u8>> = Vec::with_capacity(size as usize);
        view.for_each_entry(&snap, 0, size, |_, e| {
            entries.push(e.to_vec());
            Ok(())
        })?;
        ensure!(
            entries.len() as u64 == size,
            "{} entries stored for size {size}",
            entries.len()
        );
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let mut edge = TreeEdge::empty();
        edge.append(&leaves);
        ensure!(
            edge.root() == cp.root,
            "the root recomputed from the stored entries differs from the latest checkpoint's"
        );
        for (i, old) in self.leaves.iter().enumerate() {
            ensure!(
                leaves[i] == *old,
                "entry {i} changed since the previous check"
            );
        }
        let mut at: HashMap<Hash, u64> = HashMap::with_capacity(leaves.len());
        for (i, l) in leaves.iter().enumerate() {
            if let Some(j) = at.insert(*l, i as u64) {
                bail!("DUPLICATE: statement {l} is in the log twice, at {j} and {i}");
            }
        }

        // Every receipted statement at its index, with its bytes and its payload.
        for (id, &index) in &self.registrations {
            ensure!(
                leaves.get(index as usize) == Some(id),
                "LOST RECEIPT: registration {id} is not at its index {index}"
            );
        }
        for s in &self.sent {
            let n = &s.notice;
            let e = entries.get(s.index as usize).ok_or_else(|| {
                anyhow!(
                    "LOST RECEIPT: index {} (cycle {}) is beyond the size {size}",
                    s.index,
                    s.cycle
                )
            })?;
            ensure!(
                *e == n.bytes,
                "LOST RECEIPT: index {} (cycle {}) holds other bytes than the receipted statement",
                s.index,
                s.cycle
            );
            let payload = reader.payload(s.index, &n.id)?;
            ensure!(
                payload.as_deref() == Some(&n.ciphertext[..]),
                "LOST PAYLOAD: the payload stored with index {} (cycle {}) is {}",
                s.index,
                s.cycle,
                match payload {
                    None => "missing".to_owned(),
                    Some(p) => format!("{} other bytes", p.len()),
                }
            );
        }
        self.stats.receipts_checked += (self.sent.len() + self.registrations.len()) as u64;

        // Every entry accounted for.
        let sent_at: HashMap<Hash, usize> = self
            .sent
            .iter()
            .enumerate()
            .map(|(k, s)| (s.notice.id, k))
            .collect();
        let cut: HashMap<Hash, &Notice> = self.cut_off.iter().map(|n| (n.id, n)).collect();
        let mut deliveries: HashMap<Hash, u64> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let i = i as u64;
            let s = SignedStatement::parse(e)
                .map_err(|err| anyhow!("entry {i} is not a statement: {err}"))?;
            let st = &s.statement;
            match st.kind {
                Kind::PartyRegistered => ensure!(
                    st.party.as_ref().is_some_and(|p| p.is_operator())
                        || self.registrations.get(&s.id) == Some(&i),
                    "entry {i} registers a party the harness did not register"
                ),
                Kind::Notice => ensure!(
                    sent_at.contains_key(&s.id) || cut.contains_key(&s.id),
                    "entry {i} is a notice the harness never sent (or not receipted at this index)"
                ),
                Kind::Delivered => {
                    let notice = st.refs.first().copied().unwrap_or(Hash([0; 32]));
                    ensure!(
                        st.author.is_operator()
                            && st.refs.len() == 1
                            && self.download_attempted.contains(&notice),
                        "entry {i} records a delivery nobody asked for"
                    );
                    let n = sent_at
                        .get(&notice)
                        .map(|&k| &self.sent[k])
                        .ok_or_else(|| {
                            anyhow!("entry {i} records the delivery of an unreceipted notice")
                        })?;
                    ensure!(
                        n.index < i
                            && st.recipient.as_ref() == Some(&self.parties[n.notice.recipient].id),
                        "entry {i} records the delivery of {notice} wrongly"
                    );
                    let count = deliveries.entry(notice).or_default();
                    *count += 1;
                    ensure!(
                        *count == 1,
                        "DUPLICATE DELIVERY: a second `delivered` for {notice} at {i}"
                    );
                }
                other => bail!("entry {i} is an unexpected {other} statement"),
            }
        }
        for id in &self.delivered {
            ensure!(
                deliveries.contains_key(id),
                "LOST DELIVERY: the recipient downloaded {id}, but no `delivered` is in the log"
            );
        }

        // Every receipted checkpoint is the stored one and a prefix of the latest.
        for (&s, (root, note)) in &self.checkpoints {
            let stored = reader
                .checkpoint(s)?
                .ok_or_else(|| anyhow!("LOST CHECKPOINT: receipted size {s} is not stored"))?;
            ensure!(
                stored.note == *note,
                "the stored checkpoint for size {s} differs from the receipted one"
            );
            let proof = view
                .consistency_proof(&snap, s, size)
                .map_err(|e| anyhow!("consistency proof {s} → {size}: {e}"))?;
            verify_consistency(s, size, root, &cp.root, &proof)
                .with_context(|| format!("checkpoint {s} is not a prefix of {size}"))?;
        }
        self.leaves = leaves;
        self.latest_note = stored.note;
        Ok(())
    }

    /// Checks the restarted server over HTTP (see the module comment); `fresh_from` is where
    /// the killed cycle's receipts start in `self.sent`.
    fn check_restarted(&mut self, fresh_from: usize) -> Result<()> {
        let http = http_client()?;
        let url = self.url()?.to_owned();
        let size = self.leaves.len() as u64;
        let vkey = self.log_key.to_vkey();
        let hotline_size = |what: &str| -> Result<u64> {
            let info: HotlineDto = json_as(
                what,
                get(&http, &format!("{url}/api/v1/hotline"), None),
                200,
            )?;
            ensure!(
                info.origin == ORIGIN && info.log_vkey == vkey,
                "{what}: {info:?}"
            );
            Ok(info.size)
        };
        let s0 = hotline_size("GET /api/v1/hotline")?;
        ensure!(
            s0 == size,
            "the restarted service holds {s0} statements, the log the kill left {size}"
        );
        let (status, note) = get(&http, &format!("{url}/log/checkpoint"), None)?;
        ensure!(status == 200, "GET /log/checkpoint: {status}");
        ensure!(
            note == self.latest_note,
            "the restarted server's checkpoint is not the one the kill left"
        );
        let parsed = Note::parse(&note)?;
        parsed
            .verify(&[&self.log_key as &dyn NoteVerifier])
            .context("the restarted server's checkpoint does not verify under log.vkey")?;
        let latest = Checkpoint::parse(parsed.text())?;

        // Consistency proofs served from receipted checkpoints (the smallest, the largest and
        // a few at random).
        let sizes: Vec<u64> = self.checkpoints.keys().copied().collect();
        let mut probe: Vec<u64> = sizes
            .first()
            .into_iter()
            .chain(sizes.last())
            .copied()
            .collect();
        if !sizes.is_empty() {
            probe.extend((0..4).map(|_| sizes[self.rng.random_range(0..sizes.len())]));
        }
        for old in probe {
            let p: ConsistencyProofDto = json_as(
                &format!("consistency proof from {old}"),
                get(
                    &http,
                    &format!("{url}/log/proof/consistency?old={old}"),
                    None,
                ),
                200,
            )?;
            ensure!(
                p.old == old && p.new == latest.size,
                "consistency proof sizes"
            );
            let proof = p
                .proof
                .iter()
                .map(|h| Hash::from_base64(h).ok_or_else(|| anyhow!("bad proof hash {h}")))
                .collect::<Result<Vec<_>>>()?;
            verify_consistency(
                old,
                latest.size,
                &self.checkpoints[&old].0,
                &latest.root,
                &proof,
            )
            .with_context(|| format!("served consistency proof {old} → {}", latest.size))?;
        }

        // The killed cycle's last receipts and a few older ones, over the API.
        let fresh: Vec<usize> = (fresh_from..self.sent.len())
            .rev()
            .take(FRESH_SAMPLE)
            .collect();
        let mut sample = fresh.clone();
        if fresh_from > 0 {
            for _ in 0..OLD_SAMPLE {
                sample.push(self.rng.random_range(0..fresh_from));
            }
        }
        for (k, &i) in sample.iter().enumerate() {
            let s = &self.sent[i];
            let n = &s.notice;
            let author = &self.parties[n.author];
            let what = format!("receipted index {} (cycle {})", s.index, s.cycle);
            let got: StatementDto = json_as(
                &format!("GET statement at {what}"),
                get(
                    &http,
                    &format!("{url}/api/v1/statements/{}", n.id.to_hex()),
                    Some(&author.token),
                ),
                200,
            )?;
            ensure!(
                got.receipt.index == s.index && got.statement.as_bytes() == n.bytes,
                "LOST RECEIPT: the API shows {what} at {} with other bytes",
                got.receipt.index
            );
            ensure!(
                got.kind == "notice" && got.has_payload,
                "{what}: kind or payload flag"
            );
            if self.delivered.contains(&n.id) {
                ensure!(
                    got.delivered,
                    "LOST DELIVERY: {what} is not marked delivered"
                );
            } else if !self.download_attempted.contains(&n.id) {
                ensure!(
                    !got.delivered,
                    "{what} is marked delivered but was never downloaded"
                );
            }
            check_receipt(&got.receipt, &n.id, &self.log_key)
                .with_context(|| format!("the receipt the API gives for {what}"))?;
            let replay: ReceiptDto = json_as(
                &format!("resubmitting {what}"),
                post(
                    &http,
                    &format!("{url}/api/v1/statements"),
                    &author.token,
                    n.body(),
                ),
                200,
            )?;
            let c = check_receipt(&replay, &n.id, &self.log_key)
                .with_context(|| format!("the replay receipt of {what}"))?;
            ensure!(
                !c.new && c.index == s.index,
                "REPLAY: resubmitting {what} answered index {} (new: {})",
                c.index,
                c.new
            );
            let (status, payload) = get(
                &http,
                &format!("{url}/api/v1/statements/{}/payload", n.id.to_hex()),
                Some(&author.token),
            )?;
            ensure!(
                status == 200 && payload == n.ciphertext,
                "LOST PAYLOAD: the author's download of {what}: status {status}, {} bytes, \
                 {} sent",
                payload.len(),
                n.ciphertext.len()
            );
            if k == 0 {
                // One payload per cycle decrypted by both parties, to the committed plaintext.
                for p in [n.recipient, n.author] {
                    let plain =
                        hotline_crypto::decrypt(&payload, self.parties[p].keys.age_identity())
                            .with_context(|| format!("{what}: decrypting as party {p}"))?;
                    ensure!(
                        sha256(&plain) == n.plaintext_sha256,
                        "{what}: plaintext hash"
                    );
                }
            }
            self.stats.api_checked += 1;
        }
        // A delivered payload downloads again as its recipient without a second `delivered`.
        let delivered: Vec<Hash> = self.delivered.iter().copied().collect();
        let by_id: HashMap<Hash, usize> = self
            .sent
            .iter()
            .enumerate()
            .map(|(k, s)| (s.notice.id, k))
            .collect();
        for _ in 0..delivered.len().min(2) {
            let id = delivered[self.rng.random_range(0..delivered.len())];
            let n = &self.sent[by_id[&id]].notice;
            let (status, payload) = get(
                &http,
                &format!("{url}/api/v1/statements/{}/payload", id.to_hex()),
                Some(&self.parties[n.recipient].token),
            )?;
            ensure!(
                status == 200 && payload == n.ciphertext,
                "the recipient's second download of {id}: status {status}"
            );
        }
        let s1 = hotline_size("GET /api/v1/hotline after the replays")?;
        ensure!(
            s1 == size,
            "REPLAY APPENDED: the log grew from {size} to {s1} on resubmissions and downloads \
             of statements already in it"
        );

        // What the kill cut off, retried as a client would.
        let at: HashMap<Hash, u64> = self
            .leaves
            .iter()
            .enumerate()
            .map(|(i, l)| (*l, i as u64))
            .collect();
        let cycle = self.stats.cycles;
        for n in std::mem::take(&mut self.cut_off) {
            let committed = at.get(&n.id).copied();
            let r: ReceiptDto = json_as(
                "retrying a cut-off notice",
                post(
                    &http,
                    &format!("{url}/api/v1/statements"),
                    &self.parties[n.author].token,
                    n.body(),
                ),
                if committed.is_some() { 200 } else { 201 },
            )?;
            let c = check_receipt(&r, &n.id, &self.log_key)?;
            match committed {
                Some(i) => {
                    ensure!(
                        !c.new && c.index == i,
                        "the retry of a committed notice moved it"
                    );
                    self.stats.committed_without_receipt += 1;
                }
                None => {
                    ensure!(c.new && c.index >= size, "the retry of a lost notice");
                    self.stats.lost_unreceipted += 1;
                }
            }
            self.record_checkpoint(&c)?;
            self.sent.push(Sent {
                notice: n,
                index: c.index,
                cycle,
            });
        }
        for id in std::mem::take(&mut self.cut_off_downloads) {
            let n = &self.sent[by_id[&id]].notice;
            let (status, payload) = get(
                &http,
                &format!("{url}/api/v1/statements/{}/payload", id.to_hex()),
                Some(&self.parties[n.recipient].token),
            )?;
            ensure!(
                status == 200 && payload == n.ciphertext,
                "retrying a cut-off download of {id}: status {status}"
            );
            self.delivered.insert(id);
        }

        // The auditor's view: `hotline log verify` over HTTP, consistent with the last one.
        let out = self.sb.run_ok(&[
            "log",
            "verify",
            "--url",
            &url,
            "--vkey",
            &format!("{DIR}/log.vkey"),
            "--state",
            "verify.state",
            "--json",
        ]);
        let report: serde_json::Value = serde_json::from_str(&out)?;
        let now = hotline_size("GET /api/v1/hotline after the retries")?;
        ensure!(report["ok"] == true, "log verify: {out}");
        ensure!(
            report["size"].as_u64() == Some(now),
            "log verify saw size {}, the server holds {now}",
            report["size"]
        );
        ensure!(
            self.stats.log_verifies == 0 || !report["consistent_with"].is_null(),
            "log verify did not check consistency with its previous state: {out}"
        );
        self.stats.log_verifies += 1;
        self.served = now;
        Ok(())
    }
}

/// SIGKILLs a running server and reaps it; fails if it had already exited.
fn kill(server: &mut ServerGuard) -> Result<()> {
    if let Some(status) = server.child.try_wait()? {
        let mut err = String::new();
        if let Some(mut e) = server.child.stderr.take() {
            use std::io::Read as _;
            let _ = e.read_to_string(&mut err);
        }
        bail!("hotline serve exited by itself with {status} before its kill:\n{err}");
    }
    server.child.kill()?;
    server.child.wait()?;
    Ok(())
}

/// The acceptance test: `HOTLINE_SERVER_CRASH_CYCLES` kill cycles (default 12) of a hotline
/// under concurrent, signed, encrypted submissions and deliveries.
#[test]
fn receipted_statements_survive_sigkill_of_the_server() -> Result<()> {
    let cycles = env_u64("HOTLINE_SERVER_CRASH_CYCLES", 12);
    let deadline = Duration::from_secs(env_u64(
        "HOTLINE_SERVER_CRASH_DEADLINE_SECS",
        120 + cycles.saturating_mul(10),
    ));
    let seed = env_u64("HOTLINE_CRASH_SEED", rand::random::<u64>() >> 1);
    println!("durability_server: seed {seed} (replay with HOTLINE_CRASH_SEED={seed})");
    let started = Instant::now();
    let r = (|| -> Result<Harness> {
        let mut h = Harness::start(seed)?;
        while h.stats.cycles < cycles {
            ensure!(
                started.elapsed() < deadline,
                "deadline of {deadline:?} reached after {} of {cycles} cycles",
                h.stats.cycles
            );
            println!("{}", h.cycle()?);
        }
        // A clean stop at the end: its shutdown loses nothing either.
        if let Some(server) = h.server.take() {
            server.stop();
        }
        let served = h.served;
        h.check_killed_state(Some(served))
            .context("after a clean stop")?;
        Ok(h)
    })();
    let h = r.inspect_err(|_| {
        eprintln!("durability_server FAILED (seed {seed}; replay with HOTLINE_CRASH_SEED={seed})");
    })?;
    let s = &h.stats;
    println!(
        "durability_server: {} kill cycles in {:.1} s, seed {seed}: {} receipts checked ({} \
         receipted statements, each at its index with its payload after every later kill; {} \
         also over the API: get, replay, payload), {} statements appended, {} kills before any \
         receipt, {} cut-off statements found committed without receipt and {} lost and \
         re-appended on retry, {} deliveries, {} start-up kills, {} log verifies; final size {}",
        s.cycles,
        started.elapsed().as_secs_f64(),
        s.receipts_checked,
        h.sent.len(),
        s.api_checked,
        h.leaves.len() as u64 - h.initial_size,
        s.kills_before_first_receipt,
        s.committed_without_receipt,
        s.lost_unreceipted,
        s.deliveries,
        s.startup_kills,
        s.log_verifies,
        h.leaves.len(),
    );
    ensure!(s.receipts > 0, "no receipt was ever handed out");
    Ok(())
}
