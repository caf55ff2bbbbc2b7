//! Several `hotline serve` frontends of one hotline on PostgreSQL, and the clients the
//! fail-over and partition tests drive them with: parties registered through the API, signed
//! and age-encrypted statements built as an officer's client builds them, receipts checked.

use std::io::{BufRead as _, BufReader};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::payload::{CaseDocument, sha256};
use hotline_core::statement::{PartyFields, PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{
    Handling, Kind, PartyId, PartyKind, Priority, RequestType, Timestamp, Tlp,
};
use hotline_core::{CaseId, DeadlinePolicy};
use hotline_crypto::PartyKeys;
use hotline_server::api::{HotlineDto, ReceiptDto, RegisteredDto, SubmitDto};
use hotline_tlog::note::NoteSigner;
use hotline_tlog::{Checkpoint, Ed25519Verifier, Hash, NoteVerifier, TlogProof};

use super::Sandbox;

/// The origin of the test hotlines.
pub const ORIGIN: &str = "frontends.hotline.invalid/log";
/// Deadlines of seconds, so that requests go overdue during a test.
pub const DEADLINES: &str = "routine=2s:4s";
/// How long the sequencer lease lasts in the tests.
pub const LEASE_MS: &str = "1500";
/// Time limit of every HTTP request.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

pub fn http_client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .no_proxy()
        .build()
        .unwrap()
}

/// A running frontend process.
pub struct FrontendProc {
    pub child: Child,
    pub url: String,
}

impl Drop for FrontendProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `hotline serve --dir DIR` as a frontend (lease [`LEASE_MS`]) and waits for its
/// address (60 s at most).
pub fn start_frontend(sb: &Sandbox, dir: &str) -> Result<FrontendProc> {
    let mut child = sb
        .cmd(&[
            "serve",
            "--dir",
            dir,
            "--listen",
            "127.0.0.1:0",
            "--lease-ms",
            LEASE_MS,
            "--poll-ms",
            "25",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = child.stdout.take().ok_or_else(|| anyhow!("no stdout"))?;
    let stderr = child.stderr.take().ok_or_else(|| anyhow!("no stderr"))?;
    let tag = dir.to_owned();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[{tag}] {line}");
        }
    });
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.split(" on http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(addr) = rx.recv_timeout(Duration::from_millis(50)) {
            return Ok(FrontendProc {
                child,
                url: format!("http://{addr}"),
            });
        }
        if let Some(status) = child.try_wait()? {
            bail!("hotline serve --dir {dir} exited with {status} before it was ready");
        }
        ensure!(
            Instant::now() < deadline,
            "hotline serve --dir {dir} was not ready in 60 s"
        );
    }
}

/// What `/healthz` of a frontend says: `Some(epoch)` when it sequences.
pub fn sequencing(http: &reqwest::blocking::Client, url: &str) -> Option<(i64, String)> {
    let text = http
        .get(format!("{url}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .ok()?
        .text()
        .ok()?;
    let epoch = text
        .strip_prefix("ok: ")?
        .split(" sequences the log (lease epoch ")
        .nth(1)?
        .split(')')
        .next()?
        .parse()
        .ok()?;
    Some((epoch, text))
}

pub struct Party {
    pub id: PartyId,
    pub keys: PartyKeys,
    pub token: String,
}

/// A statement with its payload, ready to send.
#[derive(Clone)]
pub struct Sent {
    pub id: Hash,
    pub kind: Kind,
    pub author: usize,
    pub recipient: usize,
    pub time: Timestamp,
    pub bytes: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl Sent {
    pub fn build(
        parties: &[Party],
        author: usize,
        recipient: usize,
        request: bool,
    ) -> Result<Sent> {
        let (from, to) = (&parties[author], &parties[recipient]);
        let now = Timestamp::now();
        let doc = CaseDocument::new("fail-over test", "a payload that must survive");
        let plaintext = doc.to_plaintext();
        let ciphertext =
            hotline_crypto::encrypt(&plaintext, &[to.keys.recipient(), from.keys.recipient()])?;
        let kind = if request { Kind::Request } else { Kind::Notice };
        let mut st = Statement::new(ORIGIN, kind, from.id.clone(), now);
        st.case = Some(CaseId::generate(now));
        st.recipient = Some(to.id.clone());
        st.priority = Some(Priority::Routine);
        st.handling = Some(Handling::H2);
        st.tlp = Some(Tlp::Amber);
        if request {
            let policy: DeadlinePolicy = DEADLINES.parse().map_err(|e: String| anyhow!(e))?;
            let (ack, answer) = policy.deadlines(Priority::Routine, now);
            st.request_type = Some(RequestType::Preservation);
            st.ack_by = Some(ack);
            st.answer_by = Some(answer);
        }
        st.payload = Some(PayloadCommitment {
            sha256: sha256(&ciphertext),
            size: ciphertext.len() as u64,
            plaintext_sha256: sha256(&plaintext),
        });
        let signed = SignedStatement::sign(st, &[from.keys.signer() as &dyn NoteSigner])?;
        Ok(Sent {
            id: signed.id,
            kind,
            author,
            recipient,
            time: now,
            bytes: signed.bytes,
            ciphertext,
        })
    }

    pub fn body(&self) -> Vec<u8> {
        serde_json::to_vec(&SubmitDto {
            statement: String::from_utf8(self.bytes.clone()).unwrap(),
            payload: Some(B64.encode(&self.ciphertext)),
        })
        .unwrap()
    }
}

/// A checked receipt.
#[derive(Clone, Debug)]
pub struct Checked {
    pub index: u64,
    pub checkpoint: Checkpoint,
    pub note: Vec<u8>,
}

pub fn check_receipt(r: &ReceiptDto, id: &Hash, log_key: &Ed25519Verifier) -> Result<Checked> {
    ensure!(r.id == id.to_base64(), "receipt for {}, sent {id}", r.id);
    let proof =
        TlogProof::parse(r.receipt.as_bytes()).map_err(|e| anyhow!("receipt {}: {e}", r.index))?;
    ensure!(proof.index == r.index, "tlog-proof index ≠ receipt index");
    let (checkpoint, _) = proof
        .verify(id, ORIGIN, &[log_key as &dyn NoteVerifier])
        .map_err(|e| anyhow!("receipt {} does not verify: {e}", r.index))?;
    Ok(Checked {
        index: r.index,
        checkpoint,
        note: proof.checkpoint,
    })
}

pub fn register(
    http: &reqwest::blocking::Client,
    url: &str,
    operator_token: &str,
    log_key: &Ed25519Verifier,
    i: usize,
) -> Result<Party> {
    let name = format!("fo-{i}");
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
        name: Some(format!("Fail-over party {i}")),
        jurisdiction: Some("CH".into()),
        kind: Some(PartyKind::Other),
        key: Some(keys.verifier().to_vkey()),
        recipients: vec![keys.recipient().to_string()],
        contact: Some(format!("duty@{name}.invalid")),
    };
    let signed = SignedStatement::sign(st, &[keys.signer() as &dyn NoteSigner])?;
    let body = serde_json::json!({ "statement": String::from_utf8(signed.bytes)? });
    let resp = http
        .post(format!("{url}/api/v1/parties"))
        .bearer_auth(operator_token)
        .json(&body)
        .send()?;
    let status = resp.status();
    let text = resp.text()?;
    ensure!(
        status == 201,
        "registering {name} at {url}: {status}: {text}"
    );
    let r: RegisteredDto = serde_json::from_str(&text)?;
    let rid = Hash::from_base64(&r.receipt.id).ok_or_else(|| anyhow!("bad id"))?;
    check_receipt(&r.receipt, &rid, log_key)?;
    Ok(Party {
        id,
        keys,
        token: r.token,
    })
}

/// Waits until one of `urls` sequences under a lease epoch above `above`: its position in
/// `urls` and that epoch; fails after `limit`.
pub fn wait_for_sequencer(
    http: &reqwest::blocking::Client,
    urls: &[String],
    above: i64,
    limit: Duration,
) -> Result<(usize, i64)> {
    let t = Instant::now();
    loop {
        for (i, u) in urls.iter().enumerate() {
            if let Some((epoch, _)) = sequencing(http, u)
                && epoch > above
            {
                return Ok((i, epoch));
            }
        }
        ensure!(
            t.elapsed() < limit,
            "no frontend sequences (above lease epoch {above}) after {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn hotline_size(http: &reqwest::blocking::Client, url: &str) -> Result<u64> {
    let info: HotlineDto = http
        .get(format!("{url}/api/v1/hotline"))
        .send()?
        .error_for_status()?
        .json()?;
    Ok(info.size)
}
