//! The liaison officer's commands: send, inbox, show, fetch, and the follow-ups (ack, update,
//! need-info, answer, decline, close, withdraw). Statements are built and signed here, payloads
//! encrypted here; the server only ever sees signed statements and ciphertext.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hotline_core::payload::{Attachment, CaseDocument, sha256};
use hotline_core::statement::{PayloadCommitment, SignedStatement, Statement};
use hotline_core::vocab::{
    DeclineReason, Handling, Justification, Kind, PartyId, Priority, RequestType, Timestamp, Tlp,
};
use hotline_core::{CaseId, DeadlinePolicy};
use hotline_crypto::{AgeRecipient, PartyKeys};
use hotline_server::api::{CaseDto, HotlineDto, ReceiptDto};
use hotline_server::witnessing::WitnessPolicy;
use hotline_tlog::note::NoteVerifier;
use hotline_tlog::{Ed25519Verifier, Hash, TlogProof};
use serde::Serialize;

use crate::client::ApiClient;
use crate::config::{self, Loaded};

/// An officer session: configuration, keys, and the server's settings.
pub struct Officer {
    /// Configuration.
    pub cfg: Loaded,
    /// The party's private keys.
    pub keys: PartyKeys,
    /// API client, authenticated.
    pub client: ApiClient,
    /// The hotline's public settings.
    pub hotline: HotlineDto,
}

/// What the officer wants to say in a statement's payload.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Content {
    /// Title of the document (defaults to the statement kind and case).
    #[arg(long)]
    pub title: Option<String>,
    /// The message: narrative, findings, questions.
    #[arg(long, short = 'm')]
    pub message: Option<String>,
    /// Read the message from a file.
    #[arg(long, conflicts_with = "message")]
    pub message_file: Option<PathBuf>,
    /// An action asked of the recipient (repeatable).
    #[arg(long = "action")]
    pub actions: Vec<String>,
    /// Evidence: a STIX 2.1 bundle (JSON file).
    #[arg(long)]
    pub evidence: Option<PathBuf>,
    /// A file to attach (repeatable).
    #[arg(long = "attach")]
    pub attachments: Vec<PathBuf>,
    /// Handling code, H0–H3.
    #[arg(long, default_value = "H2")]
    pub handling: String,
    /// TLP 2.0 label of the payload: clear, green, amber, amber+strict, red.
    #[arg(long, default_value = "amber")]
    pub tlp: String,
}

impl Content {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.message.is_none()
            && self.message_file.is_none()
            && self.actions.is_empty()
            && self.evidence.is_none()
            && self.attachments.is_empty()
    }

    fn document(&self, default_title: &str) -> Result<CaseDocument> {
        let message = match (&self.message, &self.message_file) {
            (Some(m), _) => m.clone(),
            (None, Some(f)) => {
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?
            }
            (None, None) => String::new(),
        };
        let mut doc = CaseDocument::new(self.title.as_deref().unwrap_or(default_title), &message);
        doc.requested_actions = self.actions.clone();
        if let Some(path) = &self.evidence {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            let bundle: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not JSON", path.display()))?;
            check_stix_bundle(&bundle).with_context(|| format!("{}", path.display()))?;
            doc.evidence = Some(bundle);
        }
        for path in &self.attachments {
            let data =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            doc.attachments.push(Attachment {
                name: path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                media_type: "application/octet-stream".into(),
                data: B64.encode(data),
            });
        }
        Ok(doc)
    }

    fn labels(&self) -> Result<(Handling, Tlp)> {
        Ok((
            self.handling
                .parse()
                .map_err(|e| anyhow!("--handling: {e}"))?,
            self.tlp.parse().map_err(|e| anyhow!("--tlp: {e}"))?,
        ))
    }
}

/// The minimal structural check of evidence until full STIX 2.1 validation lands (the issue
/// *Evidence and sharing*): a bundle whose objects each have a type, an id of the form
/// `type--uuid`, and spec_version 2.1 (required on SDOs and SROs).
pub fn check_stix_bundle(v: &serde_json::Value) -> Result<()> {
    let obj = v
        .as_object()
        .ok_or_else(|| anyhow!("evidence must be a STIX bundle object"))?;
    if obj.get("type").and_then(|t| t.as_str()) != Some("bundle") {
        bail!("evidence must be a STIX 2.1 bundle (\"type\": \"bundle\")");
    }
    let objects = obj
        .get("objects")
        .and_then(|o| o.as_array())
        .ok_or_else(|| anyhow!("the bundle has no \"objects\" array"))?;
    for (i, o) in objects.iter().enumerate() {
        let ty = o
            .get("type")
            .and_then(|t| t.as_str())
            .ok_or_else(|| anyhow!("object {i} has no type"))?;
        let id = o
            .get("id")
            .and_then(|t| t.as_str())
            .ok_or_else(|| anyhow!("object {i} ({ty}) has no id"))?;
        let Some(uuid) = id.strip_prefix(&format!("{ty}--")) else {
            bail!("object {id}: the id must start with its type {ty:?} followed by --");
        };
        if !is_uuid(uuid) {
            bail!("object {id}: the id must end with a UUID (8-4-4-4-12 hex digits)");
        }
        match o.get("spec_version") {
            Some(v) if v.as_str() != Some("2.1") => {
                bail!("object {id}: spec_version is {v}; hotline takes STIX 2.1 (\"2.1\")")
            }
            None if STIX_SDO_SRO.contains(&ty) => {
                bail!("object {id}: a {ty} needs \"spec_version\": \"2.1\"")
            }
            _ => {}
        }
    }
    // The full STIX 2.1 rules (hotline-stix): every broken rule, one a line.
    hotline_stix::Bundle::from_value(v)
        .map_err(|e| anyhow!("the evidence is not valid STIX 2.1:\n{e}"))?;
    Ok(())
}

/// STIX 2.1 domain and relationship object types: each must carry `spec_version` (STIX 2.1
/// §3.1; cyber-observables and custom objects may omit it).
const STIX_SDO_SRO: &[&str] = &[
    "attack-pattern",
    "campaign",
    "course-of-action",
    "grouping",
    "identity",
    "incident",
    "indicator",
    "infrastructure",
    "intrusion-set",
    "location",
    "malware",
    "malware-analysis",
    "note",
    "observed-data",
    "opinion",
    "report",
    "threat-actor",
    "tool",
    "vulnerability",
    "relationship",
    "sighting",
];

/// `8-4-4-4-12` hexadecimal digits, as STIX identifiers end.
fn is_uuid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A statement sent, as reported to the officer.
#[derive(Serialize, Debug)]
pub struct SentReport {
    /// The case.
    pub case: String,
    /// Kind sent.
    pub kind: String,
    /// Log index.
    pub index: u64,
    /// Statement id (base64).
    pub id: String,
    /// Whether it was new (false: it was already in the log).
    pub new: bool,
    /// Where the receipt was saved.
    pub receipt_file: PathBuf,
}

impl Officer {
    /// Opens a session from the configuration file.
    pub fn open(config_flag: Option<&Path>) -> Result<Officer> {
        let cfg = config::load(config_flag)?;
        let keys = hotline_crypto::read_key_file(&cfg.config.key)
            .with_context(|| format!("reading the key file {}", cfg.config.key.display()))?;
        if keys.party() != cfg.config.party {
            bail!(
                "the key file {} is for {}, the configuration says {}",
                cfg.config.key.display(),
                keys.party(),
                cfg.config.party
            );
        }
        let token = hotline_crypto::read_secret(&cfg.config.token)
            .with_context(|| format!("reading the API token {}", cfg.config.token.display()))?;
        let client = ApiClient::new(&cfg.config.server, Some(token.to_string()))?;
        let hotline = client.hotline()?;
        Ok(Officer {
            cfg,
            keys,
            client,
            hotline,
        })
    }

    fn me(&self) -> Result<PartyId> {
        PartyId::new(self.keys.party()).map_err(|e| anyhow!("{e}"))
    }

    fn policy(&self) -> DeadlinePolicy {
        let p = &self.hotline.policy;
        DeadlinePolicy {
            emergency: (p.emergency[0], p.emergency[1]),
            urgent: (p.urgent[0], p.urgent[1]),
            routine: (p.routine[0], p.routine[1]),
        }
    }

    /// The current age recipients of a party, from the directory.
    fn recipients_of(&self, party: &PartyId) -> Result<Vec<AgeRecipient>> {
        let dir = self.client.parties()?;
        let p = dir
            .iter()
            .find(|p| p.id == party.as_str())
            .ok_or_else(|| anyhow!("{party} is not registered with this hotline"))?;
        if p.revoked.is_some() {
            bail!("{party} has been revoked and cannot receive statements");
        }
        p.recipients
            .iter()
            .map(|r| {
                hotline_crypto::parse_recipient(r).map_err(|e| anyhow!("{party}'s recipient: {e}"))
            })
            .collect()
    }

    /// Encrypts a document to the counterpart and to this party; returns ciphertext and the
    /// commitments for the statement.
    fn seal(&self, doc: &CaseDocument, to: &PartyId) -> Result<(Vec<u8>, PayloadCommitment)> {
        let plaintext = doc.to_plaintext();
        let mut recipients = self.recipients_of(to)?;
        recipients.push(self.keys.recipient());
        let ciphertext = hotline_crypto::encrypt(&plaintext, &recipients)?;
        let commitment = PayloadCommitment {
            sha256: sha256(&ciphertext),
            size: ciphertext.len() as u64,
            plaintext_sha256: sha256(&plaintext),
        };
        Ok((ciphertext, commitment))
    }

    fn submit(&self, st: Statement, payload: Option<Vec<u8>>) -> Result<SentReport> {
        let signed = SignedStatement::sign(st, &[self.keys.signer()])?;
        let receipt = self.client.submit(&signed.bytes, payload.as_deref())?;
        let file = self.keep_receipt(&signed, &receipt)?;
        Ok(SentReport {
            case: receipt.case.clone().unwrap_or_default(),
            kind: signed.statement.kind.to_string(),
            index: receipt.index,
            id: receipt.id,
            new: receipt.new,
            receipt_file: file,
        })
    }

    /// Verifies a receipt against the log key and saves it with the statement inside
    /// (`extra` of the tlog-proof), so it stands alone.
    pub(crate) fn keep_receipt(&self, signed: &SignedStatement, r: &ReceiptDto) -> Result<PathBuf> {
        let mut proof = TlogProof::parse(r.receipt.as_bytes())
            .map_err(|e| anyhow!("the server's receipt is malformed: {e}"))?;
        let log_key = Ed25519Verifier::from_vkey(&self.hotline.log_vkey)?;
        proof
            .verify(
                &signed.id,
                &self.hotline.origin,
                &[&log_key as &dyn NoteVerifier],
            )
            .map_err(|e| anyhow!("the server's receipt does not verify: {e}"))?;
        proof.extra = Some(signed.bytes.clone());
        let case = r.case.clone().unwrap_or_else(|| {
            if signed.statement.kind == Kind::Shared {
                "shared".into()
            } else {
                "directory".into()
            }
        });
        let dir = self.cfg.receipts_dir().join(&case);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let file = dir.join(format!(
            "{:08}-{}.tlog-proof",
            r.index, signed.statement.kind
        ));
        std::fs::write(&file, proof.to_bytes())
            .with_context(|| format!("writing {}", file.display()))?;
        Ok(file)
    }

    /// Sends a notice or a request, opening a case.
    pub fn send(&self, args: &SendArgs) -> Result<SentReport> {
        let me = self.me()?;
        let to = PartyId::new(&args.to).map_err(|e| anyhow!("--to: {e}"))?;
        let now = Timestamp::now();
        let priority: Priority = args
            .priority
            .parse()
            .map_err(|e| anyhow!("--priority: {e}"))?;
        let kind = if args.request.is_some() {
            Kind::Request
        } else {
            Kind::Notice
        };
        let case = CaseId::generate(now);
        let mut st = Statement::new(&self.hotline.origin, kind, me, now);
        st.case = Some(case.clone());
        st.recipient = Some(to.clone());
        st.priority = Some(priority);
        let (handling, tlp) = args.content.labels()?;
        st.handling = Some(handling);
        st.tlp = Some(tlp);
        if let Some(t) = &args.request {
            let rt: RequestType = t.parse().map_err(|e| anyhow!("--request: {e}"))?;
            st.request_type = Some(rt);
            if rt == RequestType::Emergency {
                let j = args.justification.as_deref().ok_or_else(|| {
                    anyhow!(
                        "an emergency request needs --justification imminent-risk-to-life or \
                         imminent-risk-to-safety"
                    )
                })?;
                st.justification = Some(
                    j.parse::<Justification>()
                        .map_err(|e| anyhow!("--justification: {e}"))?,
                );
            }
            let (min_ack, min_ans) = self.policy().for_priority(priority);
            let ack = match &args.ack_within {
                Some(d) => hotline_core::hotline::parse_duration(d)
                    .map_err(|e| anyhow!("--ack-within: {e}"))?,
                None => min_ack,
            };
            let ans = match &args.answer_within {
                Some(d) => hotline_core::hotline::parse_duration(d)
                    .map_err(|e| anyhow!("--answer-within: {e}"))?,
                None => min_ans,
            };
            st.ack_by = Some(now.plus(ack));
            st.answer_by = Some(now.plus(ans));
        }
        let title = args
            .content
            .title
            .clone()
            .unwrap_or_else(|| format!("{kind} to {to}"));
        let mut content = args.content.clone();
        content.title = Some(title);
        let doc = content.document(&format!("{kind} to {to}"))?;
        let (ciphertext, commitment) = self.seal(&doc, &to)?;
        st.payload = Some(commitment);
        self.submit(st, Some(ciphertext))
    }

    /// The case as the server shows it to this party.
    pub fn case(&self, id: &str) -> Result<CaseDto> {
        CaseId::new(id).map_err(|e| anyhow!("{e}"))?;
        self.client.case(id)
    }

    /// Downloads the payloads addressed to this party that were not delivered yet (the first
    /// download is what the operator records as `delivered`).
    fn take_delivery(&self, case: &CaseDto) -> Result<()> {
        let me = self.keys.party();
        for step in &case.timeline {
            if step.has_payload && step.author != me {
                let st = self.client.statement(&step.id_hex)?;
                if !st.delivered {
                    self.client.payload(&step.id_hex)?;
                }
            }
        }
        Ok(())
    }

    /// Makes a follow-up statement in a case.
    pub fn follow_up(
        &self,
        case_id: &str,
        kind: Kind,
        content: &Content,
        reason: Option<&str>,
    ) -> Result<SentReport> {
        let me = self.me()?;
        let mut case = self.case(case_id)?;
        // Replying means having read it: the responder's client downloads what it has not
        // yet, which the operator records as delivered (closing and withdrawing are not
        // replies, and are the requester's anyway).
        let replies = matches!(
            kind,
            Kind::Acknowledged | Kind::Declined | Kind::Update | Kind::NeedInfo | Kind::Answer
        );
        if case.summary.role == "responder" && replies {
            self.take_delivery(&case)?;
            case = self.case(case_id)?;
        }
        let counterpart = if case.summary.requester == me.as_str() {
            &case.summary.responder
        } else {
            &case.summary.requester
        };
        let to = PartyId::new(counterpart).map_err(|e| anyhow!("{e}"))?;
        let last = case
            .timeline
            .last()
            .ok_or_else(|| anyhow!("case {case_id} has no statements"))?;
        let mut refs =
            vec![Hash::from_base64(&last.id).ok_or_else(|| anyhow!("bad id from server"))?];
        if kind == Kind::Acknowledged
            && let Some(first) = case.timeline.first()
        {
            let id = Hash::from_base64(&first.id).ok_or_else(|| anyhow!("bad id from server"))?;
            if !refs.contains(&id) {
                refs.insert(0, id);
            }
        }
        let now = Timestamp::now();
        let mut st = Statement::new(&self.hotline.origin, kind, me, now);
        st.case = Some(CaseId::new(case_id).map_err(|e| anyhow!("{e}"))?);
        st.recipient = Some(to.clone());
        st.refs = refs;
        if kind == Kind::Declined {
            let r = reason.ok_or_else(|| anyhow!("decline needs --reason"))?;
            st.decline_reason = Some(
                r.parse::<DeclineReason>()
                    .map_err(|e| anyhow!("--reason: {e}"))?,
            );
        }
        let needs_payload = matches!(kind, Kind::Update | Kind::NeedInfo | Kind::Answer);
        let mut payload = None;
        if needs_payload || !content.is_empty() {
            if needs_payload
                && content.message.is_none()
                && content.message_file.is_none()
                && content.evidence.is_none()
            {
                bail!("{kind} needs something to say: --message, --message-file or --evidence");
            }
            let doc = content.document(&format!("{kind} in case {case_id}"))?;
            let (ciphertext, commitment) = self.seal(&doc, &to)?;
            let (handling, tlp) = content.labels()?;
            st.handling = Some(handling);
            st.tlp = Some(tlp);
            st.payload = Some(commitment);
            payload = Some(ciphertext);
        }
        self.submit(st, payload)
    }

    /// Fetches the receipt of every statement of a case this party may read (its own, the
    /// other side's and the operator's), verifies each against the log key — with `cosigned`,
    /// against the latest checkpoint the log's witnesses cosigned, waiting up to `wait` for one
    /// that covers the whole case, and with `policy` also checking the cosignatures — and saves
    /// it, the statement inside, as `RECEIPTS/CASE/INDEX-KIND[.cosigned].tlog-proof`.
    pub fn receipts(
        &self,
        case_id: &str,
        cosigned: bool,
        wait: std::time::Duration,
        policy: Option<&WitnessPolicy>,
    ) -> Result<Vec<FetchedReceipt>> {
        let case = self.case(case_id)?;
        let log_key = Ed25519Verifier::from_vkey(&self.hotline.log_vkey)?;
        let dir = self.cfg.receipts_dir().join(case_id);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let started = std::time::Instant::now();
        let bar = indicatif::ProgressBar::new_spinner();
        let mut out = Vec::new();
        for step in &case.timeline {
            let r = loop {
                if let Some(r) = self.client.receipt(&step.id_hex, cosigned)? {
                    break r;
                }
                if started.elapsed() >= wait {
                    bar.finish_and_clear();
                    bail!(
                        "no checkpoint cosigned by the log's witnesses covers statement {} \
                         ({}) of case {case_id} after {} s: the witnesses may be slow or \
                         unreachable; ask again later (--wait sets how long to wait)",
                        step.index,
                        step.kind,
                        wait.as_secs()
                    );
                }
                bar.set_message(format!(
                    "waiting for the witnesses to cosign a checkpoint covering statement {}",
                    step.index
                ));
                bar.tick();
                std::thread::sleep(std::time::Duration::from_millis(200));
            };
            let statement = self.client.statement(&step.id_hex)?.statement.into_bytes();
            let signed = SignedStatement::parse(&statement)
                .map_err(|e| anyhow!("the server's statement {}: {e}", step.index))?;
            let mut proof = TlogProof::parse(r.receipt.as_bytes())
                .map_err(|e| anyhow!("the server's receipt of statement {}: {e}", step.index))?;
            let (cp, note) = proof
                .verify(
                    &signed.id,
                    &self.hotline.origin,
                    &[&log_key as &dyn NoteVerifier],
                )
                .map_err(|e| {
                    anyhow!(
                        "the receipt of statement {} does not verify: {e}",
                        step.index
                    )
                })?;
            let witnesses = match policy {
                Some(p) => {
                    crate::logsync::check_witnesses(p, &note, &cp)
                        .map_err(|e| anyhow!("the receipt of statement {}: {e}", step.index))?;
                    Some(p.valid_cosigners(&note))
                }
                None => None,
            };
            let cosignature_lines = note
                .signatures()
                .iter()
                .filter(|sig| sig.name != log_key.name() || sig.key_id != log_key.key_id())
                .count();
            if cosigned && cosignature_lines == 0 {
                bail!(
                    "the server's cosigned receipt of statement {} carries no cosignature",
                    step.index
                );
            }
            proof.extra = Some(statement);
            let file = dir.join(format!(
                "{:08}-{}{}.tlog-proof",
                step.index,
                step.kind,
                if cosigned { ".cosigned" } else { "" }
            ));
            std::fs::write(&file, proof.to_bytes())
                .with_context(|| format!("writing {}", file.display()))?;
            out.push(FetchedReceipt {
                index: step.index,
                kind: step.kind.clone(),
                author: step.author.clone(),
                tree_size: cp.size,
                cosignature_lines,
                witnesses,
                file,
            });
        }
        bar.finish_and_clear();
        Ok(out)
    }

    /// Downloads, decrypts and checks every payload of a case this party may read.
    pub fn fetch(&self, case_id: &str, out: Option<&Path>) -> Result<Vec<FetchedDocument>> {
        let case = self.case(case_id)?;
        let mut docs = Vec::new();
        for step in case.timeline.iter().filter(|s| s.has_payload) {
            let st = self.client.statement(&step.id_hex)?;
            let signed = SignedStatement::parse(st.statement.as_bytes())?;
            let commitment = signed
                .statement
                .payload
                .clone()
                .ok_or_else(|| anyhow!("statement {} commits to no payload", step.index))?;
            let ciphertext = self.client.payload(&step.id_hex)?;
            if ciphertext.len() as u64 != commitment.size
                || sha256(&ciphertext) != commitment.sha256
            {
                bail!(
                    "the payload of statement {} is not the one the statement commits to",
                    step.index
                );
            }
            let plaintext = hotline_crypto::decrypt(&ciphertext, self.keys.age_identity())?;
            if sha256(&plaintext) != commitment.plaintext_sha256 {
                bail!(
                    "the decrypted payload of statement {} does not match its plaintext commitment",
                    step.index
                );
            }
            let document = CaseDocument::from_plaintext(&plaintext)?;
            if let Some(dir) = out {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                let f = dir.join(format!("{:08}-{}.json", step.index, step.kind));
                std::fs::write(&f, &plaintext)
                    .with_context(|| format!("writing {}", f.display()))?;
            }
            docs.push(FetchedDocument {
                index: step.index,
                kind: step.kind.clone(),
                author: step.author.clone(),
                commitments_checked: true,
                document,
            });
        }
        Ok(docs)
    }
}

/// A decrypted, checked payload.
#[derive(Serialize, Debug)]
pub struct FetchedDocument {
    /// Log index of its statement.
    pub index: u64,
    /// Statement kind.
    pub kind: String,
    /// Author.
    pub author: String,
    /// Ciphertext hash, size and plaintext hash all matched the statement.
    pub commitments_checked: bool,
    /// The case document.
    pub document: CaseDocument,
}

/// Options of `hotline send`.
#[derive(clap::Args, Debug)]
pub struct SendArgs {
    /// The party to send to.
    #[arg(long)]
    pub to: String,
    /// Send a request of this type (preservation, subscriber-info, traffic-data, takedown,
    /// investigation, emergency, mla-follow-up); without it, a notice.
    #[arg(long)]
    pub request: Option<String>,
    /// Why an emergency request is one: imminent-risk-to-life or imminent-risk-to-safety.
    #[arg(long)]
    pub justification: Option<String>,
    /// emergency, urgent or routine.
    #[arg(long, default_value = "routine")]
    pub priority: String,
    /// Acknowledge within (e.g. 2h); not shorter than the hotline's policy.
    #[arg(long)]
    pub ack_within: Option<String>,
    /// Answer within (e.g. 3d); not shorter than the hotline's policy.
    #[arg(long)]
    pub answer_within: Option<String>,
    /// What to say.
    #[command(flatten)]
    pub content: Content,
}

/// Verifies a receipt file offline: the checkpoint's signature by the log key, the inclusion
/// proof of the statement carried inside, and — given the author's key — its signature.
pub fn verify_receipt(
    file: &Path,
    log_vkey: &Ed25519Verifier,
    origin: Option<&str>,
    author_vkey: Option<&Ed25519Verifier>,
) -> Result<VerifiedReceipt> {
    verify_receipt_with_policy(file, log_vkey, origin, author_vkey, None)
}

/// [`verify_receipt`], and with `policy` the receipt's checkpoint must also carry valid
/// cosignatures by `policy.required` of its witnesses (a receipt fetched with
/// `GET /api/v1/statements/{id}/receipt?cosigned=1`).
pub fn verify_receipt_with_policy(
    file: &Path,
    log_vkey: &Ed25519Verifier,
    origin: Option<&str>,
    author_vkey: Option<&Ed25519Verifier>,
    policy: Option<&WitnessPolicy>,
) -> Result<VerifiedReceipt> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let proof = TlogProof::parse(&bytes).map_err(|e| anyhow!("{}: {e}", file.display()))?;
    let statement = proof.extra.clone().ok_or_else(|| {
        anyhow!(
            "{} carries no statement (its extra line); hotline receipts always do",
            file.display()
        )
    })?;
    let signed = SignedStatement::parse(&statement)
        .map_err(|e| anyhow!("the statement in the receipt: {e}"))?;
    let origin = origin.unwrap_or(&signed.statement.origin);
    let (cp, note) = proof
        .verify(&signed.id, origin, &[log_vkey as &dyn NoteVerifier])
        .map_err(|e| anyhow!("receipt does not verify: {e}"))?;
    let witnesses = match policy {
        Some(policy) => {
            crate::logsync::check_witnesses(policy, &note, &cp)
                .map_err(|e| anyhow!("the receipt's checkpoint: {e}"))?;
            Some(policy.valid_cosigners(&note))
        }
        None => None,
    };
    let author_signature = match author_vkey {
        Some(k) => {
            hotline_core::hotline::verify_author_signature(&signed, k)
                .map_err(|e| anyhow!("the statement's signature: {e}"))?;
            true
        }
        None => false,
    };
    Ok(VerifiedReceipt {
        index: proof.index,
        tree_size: cp.size,
        root: cp.root.to_base64(),
        kind: signed.statement.kind.to_string(),
        case: signed.statement.case.map(|c| c.to_string()),
        author: signed.statement.author.to_string(),
        recipient: signed.statement.recipient.map(|r| r.to_string()),
        time: signed.statement.time.to_rfc3339(),
        id: signed.id.to_base64(),
        author_signature_checked: author_signature,
        witnesses,
    })
}

/// A receipt fetched and verified by [`Officer::receipts`].
#[derive(Serialize, Debug)]
pub struct FetchedReceipt {
    /// Log index of the statement.
    pub index: u64,
    /// Its kind.
    pub kind: String,
    /// Its author.
    pub author: String,
    /// Size of the checkpoint it is proved against.
    pub tree_size: u64,
    /// Signature lines on that checkpoint other than the log's (witness cosignatures).
    pub cosignature_lines: usize,
    /// With a witness policy: the policy's witnesses whose cosignatures verified (at least
    /// `required`); without one, the cosignatures were not checked.
    pub witnesses: Option<Vec<String>>,
    /// Where it was saved.
    pub file: PathBuf,
}

/// What a verified receipt proves.
#[derive(Serialize, Debug)]
pub struct VerifiedReceipt {
    /// Log index.
    pub index: u64,
    /// Size of the checkpoint it is proved against.
    pub tree_size: u64,
    /// Root of that checkpoint.
    pub root: String,
    /// Statement kind.
    pub kind: String,
    /// Case.
    pub case: Option<String>,
    /// Author.
    pub author: String,
    /// Recipient.
    pub recipient: Option<String>,
    /// Time the author gave.
    pub time: String,
    /// Statement id.
    pub id: String,
    /// Whether the author's signature was checked too.
    pub author_signature_checked: bool,
    /// With `--witness-policy`: the policy's witnesses whose cosignatures on the checkpoint
    /// verified (at least `required` of them, or the verification failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<Vec<String>>,
}
