//! A real hotline in-process for the API tests: a SQLite log in a temp dir, the sequencer, the
//! service with a clock the test sets, and the real router served on 127.0.0.1:0. Parties are
//! registered through the API with registration statements signed by their own keys, and
//! every statement is built, encrypted and signed the way an officer's client does it
//! (crates/hotline-cli/src/officer.rs).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::CaseId;
use hotline_core::lifecycle::Phase;
use hotline_core::payload::{CaseDocument, sha256};
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{
    DeclineReason, Handling, Kind, PartyId, PartyKind, Priority, RequestType, Timestamp, Tlp,
};
use hotline_crypto::{AgeRecipient, PartyKeys};
use hotline_server::AppState;
use hotline_server::api::{ErrorDto, ReceiptDto, RegisteredDto};
use hotline_server::service::{HotlineService, ServiceConfig};
use hotline_store::LogReader;
use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig, SequencerHandle};
use hotline_store::sqlite::{self, SqliteReader, SqliteWriter};
use hotline_tlog::note::NoteSigner;
use hotline_tlog::{Checkpoint, Ed25519Signer, Ed25519Verifier, Hash, Note};
use serde_json::{Value, json};

/// The test hotline's origin.
pub const ORIGIN: &str = "api-test.example/log";

/// A party's keys and API token, as its officer holds them.
pub struct Party {
    /// Id.
    pub id: PartyId,
    /// Private keys (replaced on rotation).
    pub keys: PartyKeys,
    /// API token.
    pub token: String,
}

impl Party {
    /// Signs a statement with this party's current key.
    pub fn sign(&self, st: Statement) -> SignedStatement {
        SignedStatement::sign(st, &[self.keys.signer() as &dyn NoteSigner]).unwrap()
    }

    /// The party id as text.
    pub fn name(&self) -> &str {
        self.id.as_str()
    }
}

/// An HTTP response, read whole.
#[derive(Debug)]
pub struct Resp {
    /// Status code.
    pub status: u16,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
    /// Body.
    pub body: Vec<u8>,
}

impl Resp {
    /// The body as JSON of type `T` (panics with the body if it is not).
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not the expected JSON ({e}): {}",
                self.status,
                self.text()
            )
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Whether the body contains `needle`.
    pub fn contains(&self, needle: &[u8]) -> bool {
        !needle.is_empty() && self.body.windows(needle.len()).any(|w| w == needle)
    }

    /// Asserts the status, showing the body if it differs.
    #[track_caller]
    pub fn expect(self, status: u16) -> Resp {
        assert_eq!(
            self.status,
            status,
            "unexpected status; body: {}",
            self.text()
        );
        self
    }
}

/// A request body.
pub enum Body {
    /// None.
    Empty,
    /// JSON.
    Json(Value),
    /// Raw bytes with a content type.
    Raw(Vec<u8>, &'static str),
}

/// What is stored, as the API and the log show it: compared before and after a request that
/// must change nothing.
#[derive(Debug, PartialEq)]
pub struct Stored {
    /// The latest checkpoint's size and root.
    pub log: (u64, String),
    /// Statements the service has applied.
    pub applied: u64,
    /// Each given party's inbox.
    pub inboxes: Vec<Value>,
    /// The directory.
    pub parties: Value,
    /// Credentials stored.
    pub credentials: usize,
}

/// A case opened by the fixture, with what only its two parties may know.
#[derive(Clone)]
pub struct CaseRef {
    /// Case id.
    pub id: CaseId,
    /// The plaintext title of the opening request (a random marker that must never reach
    /// anyone but the two parties, and them only inside the ciphertext).
    pub title: String,
    /// The opening request.
    pub opening: SignedStatement,
    /// Its ciphertext.
    pub ciphertext: Vec<u8>,
    /// Id of the case's latest statement made by a party.
    pub last: Hash,
}

/// A running hotline.
pub struct TestHotline {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The service behind the router.
    pub service: Arc<HotlineService>,
    /// The operator's API token.
    pub operator_token: String,
    /// The log's verifier key.
    pub log_vkey: Ed25519Verifier,
    /// The operator's keys.
    pub operator: PartyKeys,
    /// The log's origin.
    pub origin: String,
    clock: Arc<AtomicI64>,
    dir: Arc<tempfile::TempDir>,
    log_skey: String,
    seq: Option<SequencerHandle>,
    rt: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::blocking::Client,
}

fn start_service(
    dir: &std::path::Path,
    log_skey: &str,
    operator: &PartyKeys,
    clock: &Arc<AtomicI64>,
) -> (SequencerHandle, HotlineService) {
    let db = dir.join("hotline.db");
    let writer = SqliteWriter::open(&db).unwrap();
    let reader: Arc<dyn LogReader> = Arc::new(SqliteReader::open(&db).unwrap());
    let view = Arc::new(LogView::new(reader).unwrap());
    let seq = sequencer::start(
        Box::new(writer),
        view,
        Ed25519Signer::from_skey(log_skey).unwrap(),
        SequencerConfig::default(),
    )
    .unwrap();
    let c = clock.clone();
    let service = HotlineService::open(
        seq.clone(),
        operator.signer().clone(),
        ServiceConfig::default(),
    )
    .unwrap()
    .with_clock(move || Timestamp::from_unix(c.load(Ordering::SeqCst)))
    .with_webhooks(std::sync::Arc::new(
        hotline_server::webhooks::Webhooks::open(
            Arc::new(hotline_store::sqlite::SqliteWebhooks::open(&db).unwrap()),
            fast_retries(),
        )
        .unwrap(),
    ));
    (seq, service)
}

/// Webhook retries fast enough for tests: 4 attempts, 200 ms apart at first.
pub fn fast_retries() -> hotline_server::webhooks::RetryPolicy {
    hotline_server::webhooks::RetryPolicy {
        attempts: 4,
        first_delay: std::time::Duration::from_millis(200),
        max_delay: std::time::Duration::from_secs(1),
        timeout: std::time::Duration::from_secs(5),
        tick: std::time::Duration::from_millis(100),
    }
}

impl TestHotline {
    /// A new hotline with its operator registered.
    pub fn start() -> TestHotline {
        Self::start_with_origin(ORIGIN)
    }

    /// A new hotline for `origin` with its operator registered.
    pub fn start_with_origin(origin: &str) -> TestHotline {
        let dir = Arc::new(tempfile::tempdir().unwrap());
        let log = Ed25519Signer::generate(origin).unwrap();
        sqlite::create(
            &dir.path().join("hotline.db"),
            origin,
            &log.verifier().to_vkey(),
        )
        .unwrap();
        let operator = PartyKeys::generate("operator").unwrap();
        let clock = Arc::new(AtomicI64::new(Timestamp::now().unix()));
        let (seq, service) = start_service(dir.path(), &log.to_skey(), &operator, &clock);
        let rt = runtime();
        let token = rt
            .block_on(service.bootstrap(
                "Test operator",
                "CH",
                "duty@operator.example",
                &operator.recipient().to_string(),
            ))
            .unwrap();
        Self::serve(
            rt,
            dir,
            log.to_skey(),
            log.verifier(),
            operator,
            token,
            clock,
            seq,
            service,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn serve(
        rt: tokio::runtime::Runtime,
        dir: Arc<tempfile::TempDir>,
        log_skey: String,
        log_vkey: Ed25519Verifier,
        operator: PartyKeys,
        operator_token: String,
        clock: Arc<AtomicI64>,
        seq: SequencerHandle,
        service: HotlineService,
    ) -> TestHotline {
        let service = Arc::new(service);
        let state = Arc::new(AppState {
            view: seq.view().clone(),
            sequencer: Some(seq.clone()),
            service: Some(service.clone()),
            witnessing: None,
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = rt.spawn(async move {
            axum::serve(listener, hotline_server::router(state))
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        TestHotline {
            addr,
            origin: service.origin(),
            service,
            operator_token,
            log_vkey,
            operator,
            clock,
            dir,
            log_skey,
            seq: Some(seq),
            rt: Some(rt),
            stop: Some(stop),
            server: Some(server),
            http: reqwest::blocking::Client::builder()
                .timeout(std::time::Duration::from_secs(60))
                .build()
                .unwrap(),
        }
    }

    fn shut_down(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let (Some(rt), Some(server)) = (self.rt.as_ref(), self.server.take()) {
            let _ = rt.block_on(server);
        }
        if let Some(seq) = self.seq.take() {
            seq.shutdown();
        }
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(std::time::Duration::from_secs(5));
        }
    }

    /// Stops the server and the sequencer and opens the same directory again, as a restart of
    /// the process would (the clock and the keys stay).
    pub fn restart(mut self) -> TestHotline {
        self.shut_down();
        let dir = self.dir.clone();
        let clock = self.clock.clone();
        let log_skey = self.log_skey.clone();
        let operator = PartyKeys::from_key_file(&self.operator.to_key_file()).unwrap();
        let token = self.operator_token.clone();
        let log_vkey = self.log_vkey.clone();
        drop(self);
        let (seq, service) = start_service(dir.path(), &log_skey, &operator, &clock);
        Self::serve(
            runtime(),
            dir,
            log_skey,
            log_vkey,
            operator,
            token,
            clock,
            seq,
            service,
        )
    }

    /// The data directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// The service's clock.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix(self.clock.load(Ordering::SeqCst))
    }

    /// Sets the service's clock.
    pub fn set_now(&self, t: Timestamp) {
        self.clock.store(t.unix(), Ordering::SeqCst);
    }

    /// Runs a future of the service on the hotline's runtime.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().unwrap().block_on(f)
    }

    /// Sends a request.
    pub fn call(&self, method: &str, path: &str, token: Option<&str>, body: Body) -> Resp {
        let url = format!("http://{}{path}", self.addr);
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req = match body {
            Body::Empty => req,
            Body::Json(v) => req.json(&v),
            Body::Raw(bytes, ct) => req.header("content-type", ct).body(bytes),
        };
        let r = req.send().unwrap();
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.bytes().unwrap().to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    /// GET.
    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call("GET", path, token, Body::Empty)
    }

    /// POST with a JSON body.
    pub fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.call("POST", path, token, Body::Json(body))
    }

    /// The latest checkpoint, verified against the log key.
    pub fn checkpoint(&self) -> Checkpoint {
        let r = self.get("/log/checkpoint", None).expect(200);
        let note = Note::parse(&r.body).unwrap();
        note.verify(&[&self.log_vkey as &dyn hotline_tlog::NoteVerifier])
            .unwrap();
        Checkpoint::parse(note.text()).unwrap()
    }

    /// The log's size by its latest checkpoint.
    pub fn log_size(&self) -> u64 {
        self.checkpoint().size
    }

    /// Every entry of the log, downloaded from its entry bundles (c2sp.org/tlog-tiles).
    pub fn entries(&self) -> Vec<Vec<u8>> {
        use hotline_tlog::tile::{TileId, TileKind};
        let size = self.log_size();
        let mut out = Vec::new();
        let mut index = 0;
        while index * 256 < size {
            let id = TileId {
                kind: TileKind::Entries,
                index,
                width: (size - index * 256).min(256) as u16,
            };
            let r = self.get(&format!("/log/{}", id.path()), None).expect(200);
            let bundle = hotline_tlog::bundle::decode_bundle(&r.body).unwrap();
            out.extend(bundle.into_iter().map(<[u8]>::to_vec));
            index += 1;
        }
        assert_eq!(out.len() as u64, size);
        out
    }

    /// The hotline as an auditor rebuilds it from the downloaded log alone: every statement
    /// parsed and checked (signatures against the directory as it stood, lifecycle) in order.
    pub fn audit(&self) -> hotline_core::Hotline {
        let mut state =
            hotline_core::Hotline::new(&self.origin, hotline_core::DeadlinePolicy::default());
        for (i, e) in self.entries().iter().enumerate() {
            let s = SignedStatement::parse(e).unwrap();
            state
                .apply(&s)
                .unwrap_or_else(|err| panic!("log entry {i} does not check: {err}"));
        }
        state
    }

    /// Runs `call`, which must be refused with `status` and an error message containing every
    /// one of `phrases`, and checks that nothing stored changed (log, state, inboxes of
    /// `parties`, directory, credentials). Returns the error.
    #[track_caller]
    pub fn refuses(
        &self,
        what: &str,
        parties: &[&Party],
        status: u16,
        phrases: &[&str],
        call: impl FnOnce() -> Resp,
    ) -> ErrorDto {
        let before = self.stored(parties);
        let r = call();
        assert_eq!(
            r.status,
            status,
            "{what}: unexpected status; body: {}",
            r.text().chars().take(500).collect::<String>()
        );
        let e: ErrorDto = serde_json::from_slice(&r.body).unwrap_or_else(|err| {
            panic!(
                "{what}: the {status} body is not an ErrorDto ({err}): {}",
                r.text()
            )
        });
        for p in phrases {
            assert!(
                e.error.contains(p),
                "{what}: the error message does not say {p:?}: {}",
                e.error
            );
        }
        assert_eq!(
            self.stored(parties),
            before,
            "{what}: a refused request changed what is stored"
        );
        e
    }

    /// A snapshot of what is stored, as seen by `parties`.
    pub fn stored(&self, parties: &[&Party]) -> Stored {
        let cp = self.checkpoint();
        let mut inboxes = Vec::new();
        for p in parties
            .iter()
            .map(|p| p.token.as_str())
            .chain([self.operator_token.as_str()])
        {
            inboxes.push(self.get("/api/v1/inbox", Some(p)).expect(200).json());
        }
        Stored {
            log: (cp.size, cp.root.to_base64()),
            applied: self.service.read(|h| h.size()),
            inboxes,
            parties: self.get("/api/v1/parties", None).expect(200).json(),
            credentials: self.service.view().reader().credentials().unwrap().len(),
        }
    }

    /// Registration statement of `keys`, signed by them (the operator adds its signature).
    pub fn registration(&self, keys: &PartyKeys) -> SignedStatement {
        let mut st = Statement::new(
            &self.origin,
            Kind::PartyRegistered,
            PartyId::operator(),
            self.now(),
        );
        st.party = Some(PartyId::new(keys.party()).unwrap());
        st.party_fields = PartyFields {
            name: Some(format!("Party {}", keys.party())),
            jurisdiction: Some("XX".into()),
            kind: Some(PartyKind::NationalCert),
            key: Some(keys.verifier().to_vkey()),
            recipients: vec![keys.recipient().to_string()],
            contact: Some(format!("duty@{}.example", keys.party())),
        };
        SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner]).unwrap()
    }

    /// Registers a party through the API.
    pub fn register(&self, id: &str) -> Party {
        self.register_keys(PartyKeys::generate(id).unwrap())
    }

    /// Registers a party with keys it already has (e.g. with another hotline) through the API.
    pub fn register_keys(&self, keys: PartyKeys) -> Party {
        let id = keys.party().to_owned();
        let reg = self.registration(&keys);
        let r: RegisteredDto = self
            .post(
                "/api/v1/parties",
                Some(&self.operator_token),
                json!({ "statement": text(&reg) }),
            )
            .expect(201)
            .json();
        Party {
            id: PartyId::new(&id).unwrap(),
            keys,
            token: r.token,
        }
    }

    /// A key rotation of `party` to `new` keys, signed by the new key.
    pub fn rotation(&self, party: &str, new: &PartyKeys) -> SignedStatement {
        let mut st = Statement::new(
            &self.origin,
            Kind::KeyRotated,
            PartyId::operator(),
            self.now(),
        );
        st.party = Some(PartyId::new(party).unwrap());
        st.party_fields.key = Some(new.verifier().to_vkey());
        st.party_fields.recipients = vec![new.recipient().to_string()];
        SignedStatement::sign(st, &[new.signer() as &dyn NoteSigner]).unwrap()
    }

    /// Rotates a party's keys through the API.
    pub fn rotate(&self, party: &mut Party) -> ReceiptDto {
        let new = PartyKeys::generate(party.name()).unwrap();
        let rot = self.rotation(party.name(), &new);
        let r = self
            .post(
                &format!("/api/v1/parties/{}/rotate", party.name()),
                Some(&self.operator_token),
                json!({ "statement": text(&rot) }),
            )
            .expect(200)
            .json();
        party.keys = new;
        r
    }

    /// Revokes a party through the API.
    pub fn revoke(&self, party: &Party) -> ReceiptDto {
        self.post(
            &format!("/api/v1/parties/{}/revoke", party.name()),
            Some(&self.operator_token),
            json!({ "reason": "retired" }),
        )
        .expect(200)
        .json()
    }

    /// The current age recipients of a party, from the directory.
    pub fn recipients_of(&self, party: &PartyId) -> Vec<AgeRecipient> {
        let dir: Vec<hotline_server::api::PartyDto> =
            self.get("/api/v1/parties", None).expect(200).json();
        let p = dir.iter().find(|p| p.id == party.as_str()).unwrap();
        p.recipients
            .iter()
            .map(|r| hotline_crypto::parse_recipient(r).unwrap())
            .collect()
    }

    /// Encrypts a case document titled `title` to `to` and `from`; sets the statement's
    /// labels and commitments and returns the ciphertext.
    pub fn seal(&self, st: &mut Statement, from: &Party, to: &PartyId, title: &str) -> Vec<u8> {
        let doc = CaseDocument::new(title, "narrative of the test case");
        let plaintext = doc.to_plaintext();
        let mut recipients = self.recipients_of(to);
        recipients.push(from.keys.recipient());
        let ciphertext = hotline_crypto::encrypt(&plaintext, &recipients).unwrap();
        st.handling = Some(Handling::H2);
        st.tlp = Some(Tlp::Amber);
        st.payload = Some(PayloadCommitment {
            sha256: sha256(&ciphertext),
            size: ciphertext.len() as u64,
            plaintext_sha256: sha256(&plaintext),
        });
        ciphertext
    }

    /// A routine preservation request from `from` to `to` opening a new case (not submitted).
    pub fn request(&self, from: &Party, to: &PartyId, title: &str) -> (Statement, Vec<u8>) {
        let now = self.now();
        let mut st = Statement::new(&self.origin, Kind::Request, from.id.clone(), now);
        st.case = Some(CaseId::generate(now));
        st.recipient = Some(to.clone());
        st.priority = Some(Priority::Routine);
        st.request_type = Some(RequestType::Preservation);
        let (ack, answer) = hotline_core::DeadlinePolicy::default().for_priority(Priority::Routine);
        st.ack_by = Some(now.plus(ack));
        st.answer_by = Some(now.plus(answer));
        let ct = self.seal(&mut st, from, to, title);
        (st, ct)
    }

    /// A follow-up of `kind` in `case` from `from` to `to`, referring to `refs`, with a payload
    /// titled `title` if given (not submitted).
    pub fn follow_up(
        &self,
        from: &Party,
        to: &PartyId,
        case: &CaseId,
        kind: Kind,
        refs: &[Hash],
        title: Option<&str>,
    ) -> (Statement, Option<Vec<u8>>) {
        let mut st = Statement::new(&self.origin, kind, from.id.clone(), self.now());
        st.case = Some(case.clone());
        st.recipient = Some(to.clone());
        st.refs = refs.to_vec();
        if kind == Kind::Declined {
            st.decline_reason = Some(DeclineReason::Other);
        }
        let payload = title.map(|t| self.seal(&mut st, from, to, t));
        (st, payload)
    }

    /// Submits a signed statement with its payload.
    pub fn submit(&self, token: Option<&str>, s: &SignedStatement, payload: Option<&[u8]>) -> Resp {
        let mut body = json!({ "statement": text(s) });
        if let Some(p) = payload {
            body["payload"] = json!(B64.encode(p));
        }
        self.post("/api/v1/statements", token, body)
    }

    /// Signs and submits as `from`, expecting it appended; returns the receipt.
    pub fn send(&self, from: &Party, st: Statement, payload: Option<&[u8]>) -> ReceiptDto {
        let s = from.sign(st);
        let r: ReceiptDto = self
            .submit(Some(&from.token), &s, payload)
            .expect(201)
            .json();
        assert!(r.new);
        r
    }

    /// Opens a request case from `a` to `b` and drives it into `phase` through the API (the
    /// recipient's payload download makes it `delivered`).
    pub fn case_in(&self, phase: Phase, a: &Party, b: &Party) -> CaseRef {
        let title = format!("TITLE-{}", hex8());
        let (st, ct) = self.request(a, &b.id, &title);
        let case = st.case.clone().unwrap();
        let opening = a.sign(st);
        let r: ReceiptDto = self
            .submit(Some(&a.token), &opening, Some(&ct))
            .expect(201)
            .json();
        let mut last = Hash::from_base64(&r.id).unwrap();
        let mut c = CaseRef {
            id: case.clone(),
            title,
            opening: opening.clone(),
            ciphertext: ct,
            last,
        };
        let mut step = |who: &Party, to: &Party, kind: Kind, with_payload: bool| {
            let t = format!("follow-up {kind} {}", hex8());
            let (st, p) = self.follow_up(
                who,
                &to.id,
                &case,
                kind,
                &[last],
                with_payload.then_some(t.as_str()),
            );
            let r = self.send(who, st, p.as_deref());
            last = Hash::from_base64(&r.id).unwrap();
        };
        match phase {
            Phase::Sent => {}
            Phase::Withdrawn => step(a, b, Kind::Withdrawn, false),
            _ => {
                self.get(
                    &format!("/api/v1/statements/{}/payload", opening.id.to_hex()),
                    Some(&b.token),
                )
                .expect(200);
                match phase {
                    Phase::Delivered => {}
                    Phase::Declined => step(b, a, Kind::Declined, false),
                    _ => {
                        step(b, a, Kind::Acknowledged, false);
                        match phase {
                            Phase::Acknowledged => {}
                            Phase::InfoRequested => step(b, a, Kind::NeedInfo, true),
                            Phase::Answered => step(b, a, Kind::Answer, true),
                            Phase::Closed => {
                                step(b, a, Kind::Answer, true);
                                step(a, b, Kind::Closed, false);
                            }
                            _ => unreachable!(),
                        }
                    }
                }
            }
        }
        c.last = last;
        assert_eq!(self.phase_of(&c.id), phase.as_str());
        c
    }

    /// A case's phase as the service holds it.
    pub fn phase_of(&self, case: &CaseId) -> String {
        self.service
            .read(|h| h.case(case).map(|c| c.phase.to_string()))
            .unwrap_or_else(|| "no such case".into())
    }
}

impl Drop for TestHotline {
    fn drop(&mut self) {
        self.shut_down();
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A statement's bytes as the `statement` field of a request.
pub fn text(s: &SignedStatement) -> String {
    String::from_utf8(s.bytes.clone()).unwrap()
}

/// 8 random hex digits.
pub fn hex8() -> String {
    format!("{:08x}", rand::random::<u32>())
}
