//! The hotline service: the domain state kept in step with the log, in front of the sequencer.
//!
//! Every statement is checked against the state (directory, lifecycle) and, if it fits, applied
//! to the state and queued to the sequencer under one lock, so the log's order is the order the
//! checks saw. The caller's answer waits for the durable commit. The costly signature
//! verification runs before the lock. Operator statements (`delivered`, `overdue`, directory
//! statements) are signed here with the operator key and go the same way.
//!
//! Several frontends on one PostgreSQL database (see [`crate::cluster`]): only the frontend
//! holding the sequencer lease has a sequencer and accepts statements; the others follow the
//! log — their state takes each new statement once the log has it durably
//! ([`HotlineService::apply_followed`]) — and answer everything that needs the sequencer with
//! [`ServiceError::NotSequencer`], which the forwarding layer ([`crate::forward`]) turns into
//! a request to the sequencer. Operator statements are therefore only ever signed by the
//! sequencer: a follower never ticks `overdue` or signs `delivered`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use hotline_core::hotline::StatementInfo;
use hotline_core::lifecycle::Case;
use hotline_core::statement::{SignedStatement, Statement};
use hotline_core::vocab::{Deadline, Kind, PartyId, RevocationReason, Timestamp};
use hotline_core::{CaseId, DeadlinePolicy, DomainError, Hotline};
use hotline_store::reader::LogView;
use hotline_store::sequencer::{AppendError, Receipt, SequencerHandle};
use hotline_store::{Credential, EntrySide, StoreError};
use hotline_tlog::note::NoteSigner;
use hotline_tlog::{Ed25519Signer, Hash};
use thiserror::Error;

/// Settings of a running hotline.
#[derive(Clone, Debug)]
pub struct ServiceConfig {
    /// How far a statement's time may be from the server's clock, in seconds.
    pub max_clock_skew: i64,
    /// Deadline policy.
    pub policy: DeadlinePolicy,
    /// TAXII 2.1 settings (`/taxii2/`).
    pub taxii: crate::taxii::TaxiiConfig,
}

impl Default for ServiceConfig {
    fn default() -> Self {
        ServiceConfig {
            max_clock_skew: 300,
            policy: DeadlinePolicy::default(),
            taxii: crate::taxii::TaxiiConfig::default(),
        }
    }
}

/// Why a request to the service failed; each maps to one HTTP status.
#[derive(Debug, Error)]
pub enum ServiceError {
    /// The input is malformed or breaks a rule of the format (400).
    #[error("{0}")]
    BadRequest(String),
    /// No or an unknown credential (401).
    #[error("{0}")]
    Unauthorized(String),
    /// The caller may not do this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there — or nothing the caller may see (404).
    #[error("{0}")]
    NotFound(String),
    /// The case's state does not allow it (409).
    #[error("{message}")]
    Conflict {
        /// What is wrong and what is allowed.
        message: String,
        /// The case's phase, if a case is involved.
        phase: Option<String>,
    },
    /// Larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// A body in a media type the call does not take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The sequencer stopped, or this frontend cannot back a receipt (503).
    #[error("{0}")]
    Unavailable(String),
    /// This frontend does not sequence: the request must go to the frontend that does (503,
    /// marked so that the forwarding layer sends it there).
    #[error("{0}")]
    NotSequencer(String),
    /// Storage failed (500).
    #[error("{0}")]
    Internal(String),
}

impl From<DomainError> for ServiceError {
    fn from(e: DomainError) -> Self {
        match &e {
            DomainError::Lifecycle(l) => ServiceError::Conflict {
                message: e.to_string(),
                phase: Some(l.phase.to_string()),
            },
            DomainError::CaseExists(_) | DomainError::PartyExists(_) => ServiceError::Conflict {
                message: e.to_string(),
                phase: None,
            },
            DomainError::UnknownCase(_) => ServiceError::NotFound(e.to_string()),
            _ => ServiceError::BadRequest(e.to_string()),
        }
    }
}

impl From<AppendError> for ServiceError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::TooLarge { .. } => ServiceError::TooLarge(e.to_string()),
            other => ServiceError::Unavailable(other.to_string()),
        }
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        ServiceError::Internal(e.to_string())
    }
}

/// A statement that is in the log, with its receipt.
#[derive(Clone, Debug)]
pub struct Submitted {
    /// Statement id (leaf hash).
    pub id: Hash,
    /// False when the statement was already in the log (nothing was appended).
    pub new: bool,
    /// Receipt: index, inclusion proof and signed checkpoint.
    pub receipt: Receipt,
    /// The statement's case, if any.
    pub case: Option<CaseId>,
}

/// One TAXII POST to record: its `shared` statement (the party's own, or `None` for the
/// operator to make one), the side data to store with it, and what the statement must say.
pub struct Publication {
    /// The publishing party (the authenticated caller).
    pub party: PartyId,
    /// The collection.
    pub collection: hotline_core::vocab::Collection,
    /// The most restrictive TLP of the objects.
    pub tlp: hotline_core::vocab::Tlp,
    /// What the statement commits to (the body's hash and size, the object count).
    pub objects: hotline_core::statement::ObjectsCommitment,
    /// The party's signed `shared` statement, if it sent one (`hotline share`).
    pub party_statement: Option<Vec<u8>>,
    /// The collection's id, the body, and the objects without their `date_added` (assigned
    /// when the statement is queued, in log order).
    pub side: hotline_store::taxii::TaxiiPublication,
    /// Builds the status id and resource from the statement's id (the status id derives from
    /// it) and the objects once their `date_added` (and, for objects with neither `modified`
    /// nor `created`, their version) is set.
    #[allow(clippy::type_complexity)]
    pub status:
        Box<dyn FnOnce(&Hash, &[hotline_store::taxii::TaxiiObject]) -> (String, Vec<u8>) + Send>,
}

/// How this service's statements reach the log.
enum Writer {
    /// This process sequences them.
    Sequencer(Arc<SequencerHandle>),
    /// Another frontend sequences; this one follows the log.
    Follower,
    /// Neither: no statement is accepted, for this reason.
    Unavailable(Arc<str>),
}

/// Keys with a precomputed verification table at most (640 KiB each: 40 MiB).
pub const MAX_KEY_TABLES: usize = 64;

/// The hotline service.
pub struct HotlineService {
    /// The last `date_added` handed to a TAXII object (µs); locked only while `state` is.
    taxii_clock: Mutex<i64>,
    /// Precomputed verification tables of the busiest parties' keys (the same Ed25519 rule,
    /// about three times faster per signature); at most [`MAX_KEY_TABLES`].
    tables: hotline_core::replay::KeyTables,
    state: Mutex<Hotline>,
    writer: RwLock<Writer>,
    view: Arc<LogView>,
    log_signer: Ed25519Signer,
    operator: Ed25519Signer,
    credentials: RwLock<HashMap<[u8; 32], PartyId>>,
    clock: Box<dyn Fn() -> Timestamp + Send + Sync>,
    config: ServiceConfig,
    witnessing: Option<Arc<crate::witnessing::Witnessing>>,
    webhooks: Option<Arc<crate::webhooks::Webhooks>>,
    frontend: Option<Arc<crate::cluster::FrontendStatus>>,
}

fn lock(m: &Mutex<Hotline>) -> MutexGuard<'_, Hotline> {
    match m.lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    }
}

impl HotlineService {
    /// Opens the service over a running sequencer: replays every statement of the log into a
    /// fresh state (checking each as when it was first accepted) and loads the credentials.
    pub fn open(
        seq: SequencerHandle,
        operator: Ed25519Signer,
        config: ServiceConfig,
    ) -> Result<HotlineService, ServiceError> {
        let view = seq.view().clone();
        let log_signer = seq.signer().clone();
        let mut service = Self::open_on(view, log_signer, operator, config)?;
        service.writer = RwLock::new(Writer::Sequencer(Arc::new(seq)));
        Ok(service)
    }

    /// Opens the service of a frontend that follows a log another frontend sequences (see
    /// [`crate::cluster`]): replays every statement of `view`'s snapshot, as
    /// [`HotlineService::open`] does, and accepts no statement until
    /// [`HotlineService::become_sequencer`]. `log_signer` signs COSE receipts.
    pub fn open_follower(
        view: Arc<LogView>,
        log_signer: Ed25519Signer,
        operator: Ed25519Signer,
        config: ServiceConfig,
    ) -> Result<HotlineService, ServiceError> {
        Self::open_on(view, log_signer, operator, config)
    }

    fn open_on(
        view: Arc<LogView>,
        log_signer: Ed25519Signer,
        operator: Ed25519Signer,
        config: ServiceConfig,
    ) -> Result<HotlineService, ServiceError> {
        let size = view.snapshot().size();
        let hotline = replay(&view, size, &config.policy)?;
        check_operator(&hotline, &operator)?;
        let creds = load_credentials(&view)?;
        let last_added = match view.reader().taxii() {
            Some(t) => t.taxii_last_date_added()?.unwrap_or(0),
            None => 0,
        };
        Ok(HotlineService {
            taxii_clock: Mutex::new(last_added),
            tables: hotline_core::replay::KeyTables::with_limit(MAX_KEY_TABLES),
            state: Mutex::new(hotline),
            writer: RwLock::new(Writer::Follower),
            view,
            log_signer,
            operator,
            credentials: RwLock::new(creds),
            clock: Box::new(Timestamp::now),
            config,
            witnessing: None,
            webhooks: None,
            frontend: None,
        })
    }

    /// Makes the service part of a frontend (its lease is checked before every statement).
    pub fn with_frontend(mut self, status: Arc<crate::cluster::FrontendStatus>) -> Self {
        self.frontend = Some(status);
        self
    }

    /// The frontend this service belongs to, if it is one of several on a shared database.
    pub fn frontend(&self) -> Option<&Arc<crate::cluster::FrontendStatus>> {
        self.frontend.as_ref()
    }

    /// Whether this service sequences its statements (single process, or the frontend holding
    /// the sequencer lease).
    pub fn is_sequencer(&self) -> bool {
        matches!(&*self.writer_guard(), Writer::Sequencer(_))
    }

    fn writer_guard(&self) -> std::sync::RwLockReadGuard<'_, Writer> {
        match self.writer.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn set_writer(&self, w: Writer) -> Writer {
        let mut g = match self.writer.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        std::mem::replace(&mut *g, w)
    }

    /// Starts sequencing with `seq` (this frontend took the sequencer lease and followed the
    /// log to its end under it). Refused unless the state holds exactly the log `seq` starts
    /// from.
    pub fn become_sequencer(&self, seq: SequencerHandle) -> Result<(), ServiceError> {
        if !Arc::ptr_eq(seq.view(), &self.view) {
            return Err(ServiceError::Internal(
                "the sequencer publishes to another log view than the service reads".into(),
            ));
        }
        let state = lock(&self.state).size();
        let log = seq.view().snapshot().size();
        if state != log {
            return Err(ServiceError::Internal(format!(
                "the frontend's state holds {state} statements but the log it would sequence \
                 has {log}"
            )));
        }
        // TAXII objects got their `date_added` from the previous sequencer's clock: go on after
        // the last one it stored (this frontend followed the log to its end under the lease).
        if let Some(t) = self.view.reader().taxii() {
            let last = t.taxii_last_date_added()?.unwrap_or(0);
            let mut clock = match self.taxii_clock.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            *clock = (*clock).max(last);
        }
        self.set_writer(Writer::Sequencer(Arc::new(seq)));
        Ok(())
    }

    /// Stops taking statements, for `reason` (a lost lease, a lost database); returns the
    /// sequencer this service used, if any, for the caller to stop. The state may then hold
    /// statements that never became durable: [`HotlineService::rebuild`] before following.
    pub fn stop_sequencing(&self, reason: &str) -> Option<Arc<SequencerHandle>> {
        match self.set_writer(Writer::Unavailable(Arc::from(reason))) {
            Writer::Sequencer(seq) => Some(seq),
            _ => None,
        }
    }

    /// Follows the log from now on (after [`HotlineService::rebuild`] or at start).
    pub fn follow(&self) {
        self.set_writer(Writer::Follower);
    }

    /// Rebuilds the state from the first `size` statements of the log (the view's snapshot
    /// must hold them), replacing the current one, and reloads the credentials.
    pub fn rebuild(&self, size: u64) -> Result<(), ServiceError> {
        let hotline = replay(&self.view, size, &self.config.policy)?;
        check_operator(&hotline, &self.operator)?;
        let creds = load_credentials(&self.view)?;
        *lock(&self.state) = hotline;
        *match self.credentials.write() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        } = creds;
        Ok(())
    }

    /// Applies the statement at `index` of the followed log (the next one: the state holds
    /// exactly the statements before it), checking it as an auditor would. Returns whether it
    /// registered a party (whose credential [`HotlineService::reload_credentials`] then loads).
    pub fn apply_followed(&self, index: u64, entry: &[u8]) -> Result<bool, StoreError> {
        let s = SignedStatement::parse(entry).map_err(|e| {
            StoreError::Corrupt(format!("log entry {index} is not a hotline statement: {e}"))
        })?;
        // The signature outside the lock, with the author's table once the key is busy; the
        // rules under it (`apply_preverified` re-checks anything not verified with the key
        // current there).
        let key = self.read(|h| {
            h.current_key(&s.statement.author)
                .ok()
                .map(|k| k.verifier.clone())
        });
        let verified_with = key
            .filter(|k| self.tables.verify_author_signature(&s, k).is_ok())
            .map(Arc::new);
        let registers = s.statement.kind == Kind::PartyRegistered;
        let p = hotline_core::replay::Preverified {
            statement: Ok(s),
            verified_with,
        };
        let mut state = lock(&self.state);
        if state.size() != index {
            return Err(StoreError::Corrupt(format!(
                "the frontend's state holds {} statements but the log's next one is entry {index}",
                state.size()
            )));
        }
        state.apply_preverified(&p).map_err(|e| {
            StoreError::Corrupt(format!("log entry {index} does not fit the hotline: {e}"))
        })?;
        Ok(registers)
    }

    /// Reloads the API credentials from the store (after following a registration).
    pub fn reload_credentials(&self) -> Result<(), StoreError> {
        let creds = load_credentials(&self.view)?;
        *match self.credentials.write() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        } = creds;
        Ok(())
    }

    /// Gives the service the log's witnessing, for receipts against the cosigned checkpoint
    /// ([`HotlineService::cosigned_receipt`]).
    pub fn with_witnessing(mut self, witnessing: Arc<crate::witnessing::Witnessing>) -> Self {
        self.witnessing = Some(witnessing);
        self
    }

    /// Gives the service its webhooks (registrations and delivery log; the dispatcher is
    /// [`crate::webhooks::spawn`]).
    pub fn with_webhooks(mut self, webhooks: Arc<crate::webhooks::Webhooks>) -> Self {
        self.webhooks = Some(webhooks);
        self
    }

    /// The webhooks, if this hotline keeps them.
    pub fn webhooks(&self) -> Result<&Arc<crate::webhooks::Webhooks>, ServiceError> {
        self.webhooks
            .as_ref()
            .ok_or_else(|| ServiceError::NotFound("this hotline keeps no webhooks".into()))
    }

    /// Replaces the clock (tests and demonstrations).
    pub fn with_clock(mut self, clock: impl Fn() -> Timestamp + Send + Sync + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The TAXII settings.
    pub fn taxii_config(&self) -> &crate::taxii::TaxiiConfig {
        &self.config.taxii
    }

    /// Largest clock difference accepted, seconds.
    pub fn max_clock_skew(&self) -> i64 {
        self.config.max_clock_skew
    }

    /// The current time by the service's clock.
    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// The log view.
    pub fn view(&self) -> &Arc<LogView> {
        &self.view
    }

    /// The sequencer, if this service sequences.
    pub fn sequencer(&self) -> Option<Arc<SequencerHandle>> {
        match &*self.writer_guard() {
            Writer::Sequencer(seq) => Some(seq.clone()),
            _ => None,
        }
    }

    /// The origin.
    pub fn origin(&self) -> String {
        lock(&self.state).origin().to_owned()
    }

    /// Runs `f` on the current state (for read-only queries).
    pub fn read<T>(&self, f: impl FnOnce(&Hotline) -> T) -> T {
        f(&lock(&self.state))
    }

    /// The party a bearer token authenticates.
    pub fn authenticate(&self, token: &str) -> Option<PartyId> {
        let h = hotline_crypto::hash_token(token);
        let creds = match self.credentials.read() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        let party = creds.get(&h)?.clone();
        // A revoked party's credentials stop working with its keys.
        let active = self.read(|h| {
            h.directory()
                .get(&party)
                .is_some_and(|p| p.revoked.is_none())
        });
        active.then_some(party)
    }

    /// The sequencer to append with, if this service may append now: 503 when it stopped,
    /// when this frontend's lease is not known to be valid, or when it does not sequence.
    fn writer(&self) -> Result<Arc<SequencerHandle>, ServiceError> {
        let seq = match &*self.writer_guard() {
            Writer::Sequencer(seq) => seq.clone(),
            Writer::Follower => {
                return Err(ServiceError::NotSequencer(
                    "this frontend does not sequence the log; the request must go to the \
                     frontend holding the sequencer lease"
                        .into(),
                ));
            }
            Writer::Unavailable(reason) => {
                return Err(ServiceError::Unavailable(format!(
                    "this frontend accepts no statements now: {reason}"
                )));
            }
        };
        if let Some(r) = seq.stopped_reason() {
            return Err(ServiceError::Unavailable(format!(
                "the hotline cannot accept statements: {r}"
            )));
        }
        if let Some(f) = &self.frontend {
            f.check_lease().map_err(ServiceError::Unavailable)?;
        }
        Ok(seq)
    }

    /// Queues an already-checked statement and waits for its durable commit.
    async fn commit(
        &self,
        pending: hotline_store::sequencer::PendingAppend,
        id: Hash,
        case: Option<CaseId>,
    ) -> Result<Submitted, ServiceError> {
        let appended = pending.wait_async().await?;
        // A fresh entry's proof is almost always in the snapshot's right-edge tiles: answer
        // from memory, and only hop to a blocking thread (two context switches per statement,
        // measured ~10% of the server's CPU under load) when storage must be read.
        let receipt = match appended.receipt_in_memory(self.view()) {
            Some(r) => r,
            None => {
                let view = self.view().clone();
                tokio::task::spawn_blocking(move || appended.receipt(&view))
                    .await
                    .map_err(|e| ServiceError::Internal(e.to_string()))??
            }
        };
        let new = receipt.new;
        Ok(Submitted {
            id,
            new,
            receipt,
            case,
        })
    }

    /// The receipt of a statement already applied (a replay): resubmitting the same bytes makes
    /// the sequencer answer with its index once it is durable, and appends nothing.
    async fn replay(
        &self,
        seq: &SequencerHandle,
        s: &SignedStatement,
    ) -> Result<Submitted, ServiceError> {
        let pending = seq.submit_async(s.bytes.clone()).await?;
        self.commit(pending, s.id, s.statement.case.clone()).await
    }

    /// Accepts a statement from `caller`, with its encrypted payload if it commits to one.
    pub async fn submit(
        &self,
        caller: &PartyId,
        bytes: &[u8],
        payload: Option<Vec<u8>>,
    ) -> Result<Submitted, ServiceError> {
        let seq = self.writer()?;
        let s = SignedStatement::parse(bytes).map_err(|e| match e {
            hotline_core::StatementError::TooLarge(_) => ServiceError::TooLarge(e.to_string()),
            other => ServiceError::BadRequest(other.to_string()),
        })?;
        let st = &s.statement;
        if st.author != *caller {
            return Err(ServiceError::Forbidden(format!(
                "you are authenticated as {caller} but the statement's author is {}",
                st.author
            )));
        }
        if st.kind.is_operator_kind() {
            return Err(ServiceError::Forbidden(format!(
                "{} statements are made by the operator's own processes, not submitted",
                st.kind
            )));
        }
        if st.kind == Kind::Shared {
            return Err(ServiceError::BadRequest(
                "a shared statement goes with its objects to the TAXII collection it names \
                 (POST /taxii2/…/objects/ with the Hotline-Statement header: `hotline share`)"
                    .into(),
            ));
        }
        if self.read(|h| h.statement(&s.id).is_some()) {
            return self.replay(&seq, &s).await;
        }
        let now = self.now();
        let skew = (st.time.unix() - now.unix()).abs();
        if skew > self.config.max_clock_skew {
            return Err(ServiceError::BadRequest(format!(
                "the statement's time {} is {skew} s from the server's clock ({now}); at most {} s \
                 are allowed: check your clock and sign it again",
                st.time, self.config.max_clock_skew
            )));
        }
        check_payload(st, payload.as_deref())?;
        let key = self.read(|h| h.current_key(&st.author).map(|k| k.verifier.clone()))?;
        self.tables.verify_author_signature(&s, &key)?;
        // Check, apply and queue under one lock (no await inside: the guard is not Send).
        let pending = {
            let mut state = lock(&self.state);
            if state.statement(&s.id).is_some() {
                None
            } else {
                state.check_preverified(&s, &key)?;
                let side = EntrySide {
                    payload,
                    credential: None,
                    taxii: None,
                };
                let pending = seq.submit_with(s.bytes.clone(), side)?;
                state.apply_checked(&s);
                Some(pending)
            }
        };
        match pending {
            Some(p) => self.commit(p, s.id, st.case.clone()).await,
            None => self.replay(&seq, &s).await,
        }
    }

    /// Records a TAXII POST: its `shared` statement — the party's own, checked like any party
    /// statement, or one the operator makes naming the party — goes to the log with the
    /// objects as its side data, in one durable commit. Returns the statement's receipt and
    /// the status resource (a replay of the party's statement returns the stored one).
    pub async fn publish(&self, p: Publication) -> Result<(Submitted, Vec<u8>), ServiceError> {
        use hotline_core::statement::ObjectsCommitment;
        let seq = self.writer()?;
        let now = self.now();
        let (s, party_key) = match &p.party_statement {
            Some(bytes) => {
                let s = SignedStatement::parse(bytes).map_err(|e| {
                    ServiceError::BadRequest(format!("the Hotline-Statement header: {e}"))
                })?;
                let st = &s.statement;
                if st.kind != Kind::Shared {
                    return Err(ServiceError::BadRequest(format!(
                        "the Hotline-Statement header holds a {} statement, not a shared one",
                        st.kind
                    )));
                }
                if st.author != p.party {
                    return Err(ServiceError::Forbidden(format!(
                        "you are authenticated as {} but the statement's author is {}",
                        p.party, st.author
                    )));
                }
                let expect = |what: &str, said: String, is: String| {
                    if said == is {
                        Ok(())
                    } else {
                        Err(ServiceError::BadRequest(format!(
                            "the statement says {what} {said} but the request has {is}"
                        )))
                    }
                };
                let show = |o: &Option<ObjectsCommitment>| {
                    o.as_ref().map_or("nothing".to_owned(), |o| {
                        format!(
                            "{} bytes with SHA-256 {} and {} objects",
                            o.size, o.sha256, o.count
                        )
                    })
                };
                expect(
                    "collection",
                    st.collection.map_or("none".into(), |c| c.to_string()),
                    p.collection.to_string(),
                )?;
                expect("objects", show(&st.objects), show(&Some(p.objects.clone())))?;
                expect(
                    "tlp",
                    st.tlp.map_or("none".into(), |t| t.to_string()),
                    p.tlp.to_string(),
                )?;
                if self.read(|h| h.statement(&s.id).is_none()) {
                    let skew = (st.time.unix() - now.unix()).abs();
                    if skew > self.config.max_clock_skew {
                        return Err(ServiceError::BadRequest(format!(
                            "the statement's time {} is {skew} s from the server's clock \
                             ({now}); at most {} s are allowed: check your clock and sign it \
                             again",
                            st.time, self.config.max_clock_skew
                        )));
                    }
                }
                let key = self.read(|h| h.current_key(&st.author).map(|k| k.verifier.clone()))?;
                self.tables.verify_author_signature(&s, &key)?;
                (s, Some(key))
            }
            None => {
                let mut st = Statement::new(&self.origin(), Kind::Shared, PartyId::operator(), now);
                st.party = Some(p.party.clone());
                st.tlp = Some(p.tlp);
                st.collection = Some(p.collection);
                st.objects = Some(p.objects.clone());
                let s = SignedStatement::sign(st, &[&self.operator])
                    .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
                (s, None)
            }
        };
        let mut side = p.side;
        let mut make_status = Some(p.status);
        let mut status_id = String::new();
        let mut status = Vec::new();
        let pending = {
            let mut state = lock(&self.state);
            if state.statement(&s.id).is_some() {
                None
            } else {
                match &party_key {
                    Some(key) => state.check_preverified(&s, key)?,
                    None => state.check(&s)?,
                }
                let mut clock = match self.taxii_clock.lock() {
                    Ok(c) => c,
                    Err(poisoned) => poisoned.into_inner(),
                };
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
                let mut next = wall.max(*clock + 1);
                for o in &mut side.objects {
                    o.date_added_us = next;
                    if o.version.is_empty() {
                        o.version = hotline_store::taxii::format_timestamp_us(next);
                        o.version_key = hotline_store::taxii::version_key(&o.version);
                    }
                    next += 1;
                }
                if let Some(f) = make_status.take() {
                    (status_id, status) = f(&s.id, &side.objects);
                }
                side.status_id = status_id.clone();
                side.status = status.clone();
                let entry_side = EntrySide {
                    payload: None,
                    credential: None,
                    taxii: Some(Box::new(side)),
                };
                let pending = seq.submit_with(s.bytes.clone(), entry_side)?;
                *clock = next - 1;
                state.apply_checked(&s);
                Some(pending)
            }
        };
        let submitted = match pending {
            Some(p) => self.commit(p, s.id, None).await?,
            None => self.replay(&seq, &s).await?,
        };
        if submitted.new {
            return Ok((submitted, status));
        }
        // A replay: answer with the status stored the first time.
        if let Some(f) = make_status.take() {
            status_id = f(&s.id, &[]).0;
        }
        let view = self.view().clone();
        let stored = tokio::task::spawn_blocking(move || match view.reader().taxii() {
            Some(t) => t.taxii_status(&status_id),
            None => Ok(None),
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))??;
        match stored {
            Some(stored) => Ok((submitted, stored.status)),
            None => Err(ServiceError::Internal(
                "a shared statement in the log has no stored publication".into(),
            )),
        }
    }

    /// Signs a statement as the operator (plus any extra signatures already on it), checks it,
    /// and commits it.
    async fn submit_operator(
        &self,
        s: SignedStatement,
        side: EntrySide,
    ) -> Result<Submitted, ServiceError> {
        let seq = self.writer()?;
        let sig = hotline_tlog::note::NoteSignature {
            name: self.operator.name().to_owned(),
            key_id: self.operator.key_id(),
            signature: self.operator.sign(s.note.text().as_bytes()),
        };
        let s = s
            .add_signature(sig)
            .map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let pending = {
            let mut state = lock(&self.state);
            if state.statement(&s.id).is_some() {
                None
            } else {
                state.check(&s)?;
                let pending = seq.submit_with(s.bytes.clone(), side)?;
                state.apply_checked(&s);
                Some(pending)
            }
        };
        match pending {
            Some(p) => self.commit(p, s.id, s.statement.case.clone()).await,
            None => self.replay(&seq, &s).await,
        }
    }

    /// Registers the hotline's operator: the first statement of a new log, with the operator's
    /// credential. Returns the operator's API token.
    pub async fn bootstrap(
        &self,
        name: &str,
        jurisdiction: &str,
        contact: &str,
        age_recipient: &str,
    ) -> Result<String, ServiceError> {
        if self.read(|h| h.size()) > 0 {
            return Err(ServiceError::Conflict {
                message: "this hotline already has its operator".into(),
                phase: None,
            });
        }
        let mut st = Statement::new(
            &self.origin(),
            Kind::PartyRegistered,
            PartyId::operator(),
            self.now(),
        );
        st.party = Some(PartyId::operator());
        st.party_fields = hotline_core::statement::PartyFields {
            name: Some(name.to_owned()),
            jurisdiction: Some(jurisdiction.to_owned()),
            kind: Some(hotline_core::vocab::PartyKind::Operator),
            key: Some(self.operator.verifier().to_vkey()),
            recipients: vec![age_recipient.to_owned()],
            contact: Some(contact.to_owned()),
        };
        let s =
            SignedStatement::sign(st, &[]).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let (token, hash) = hotline_crypto::ApiToken::generate();
        let side = EntrySide {
            payload: None,
            credential: Some(Credential {
                token_hash: hash,
                party: hotline_core::vocab::OPERATOR.to_owned(),
            }),
            taxii: None,
        };
        self.submit_operator(s, side).await?;
        self.grant(hash, PartyId::operator());
        Ok(token.to_string())
    }

    fn grant(&self, hash: [u8; 32], party: PartyId) {
        let mut creds = match self.credentials.write() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        creds.insert(hash, party);
    }

    /// Registers a party from its registration statement (authored by the operator, signed by
    /// the party's key), adding the operator's signature. Returns the receipt and the party's
    /// new API token (shown once; only its hash is stored).
    pub async fn register_party(
        &self,
        caller: &PartyId,
        bytes: &[u8],
    ) -> Result<(Submitted, String), ServiceError> {
        self.require_operator(caller)?;
        let s =
            SignedStatement::parse(bytes).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        let st = &s.statement;
        if st.kind != Kind::PartyRegistered {
            return Err(ServiceError::BadRequest(format!(
                "expected a party-registered statement, got {}",
                st.kind
            )));
        }
        let party = st
            .party
            .clone()
            .ok_or_else(|| ServiceError::BadRequest("the registration names no party".into()))?;
        for r in &st.party_fields.recipients {
            hotline_crypto::parse_recipient(r)
                .map_err(|e| ServiceError::BadRequest(format!("party-recipient: {e}")))?;
        }
        let (token, hash) = hotline_crypto::ApiToken::generate();
        let side = EntrySide {
            payload: None,
            credential: Some(Credential {
                token_hash: hash,
                party: party.to_string(),
            }),
            taxii: None,
        };
        let submitted = self.submit_operator(s, side).await?;
        if submitted.new {
            self.grant(hash, party);
            Ok((submitted, token.to_string()))
        } else {
            Err(ServiceError::Conflict {
                message: format!("{party} was registered by this very statement before"),
                phase: None,
            })
        }
    }

    /// Records a key rotation prepared by the party (signed by its new key, and by its old one
    /// if it still has it).
    pub async fn rotate_key(
        &self,
        caller: &PartyId,
        bytes: &[u8],
    ) -> Result<Submitted, ServiceError> {
        self.require_operator(caller)?;
        let s =
            SignedStatement::parse(bytes).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        if s.statement.kind != Kind::KeyRotated {
            return Err(ServiceError::BadRequest(format!(
                "expected a key-rotated statement, got {}",
                s.statement.kind
            )));
        }
        for r in &s.statement.party_fields.recipients {
            hotline_crypto::parse_recipient(r)
                .map_err(|e| ServiceError::BadRequest(format!("party-recipient: {e}")))?;
        }
        self.submit_operator(s, EntrySide::default()).await
    }

    /// Revokes a party's keys.
    pub async fn revoke_party(
        &self,
        caller: &PartyId,
        party: &PartyId,
        reason: RevocationReason,
    ) -> Result<Submitted, ServiceError> {
        self.require_operator(caller)?;
        let mut st = Statement::new(
            &self.origin(),
            Kind::PartyRevoked,
            PartyId::operator(),
            self.now(),
        );
        st.party = Some(party.clone());
        st.revocation_reason = Some(reason);
        let s =
            SignedStatement::sign(st, &[]).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
        self.submit_operator(s, EntrySide::default()).await
    }

    fn require_operator(&self, caller: &PartyId) -> Result<(), ServiceError> {
        if caller.is_operator() {
            Ok(())
        } else {
            Err(ServiceError::Forbidden(
                "only the operator manages the directory".into(),
            ))
        }
    }

    /// What `caller` may know about statement `id`: its info if the caller is its author, its
    /// recipient, a party to its case, or the operator (metadata only); otherwise not found.
    pub fn statement_for(
        &self,
        caller: &PartyId,
        id: &Hash,
    ) -> Result<StatementInfo, ServiceError> {
        let visible = self.read(|h| {
            let info = h.statement(id)?.clone();
            let in_my_case = info
                .case
                .as_ref()
                .and_then(|c| h.case(c))
                .is_some_and(|c| c.role_of(caller).is_some());
            let ok = caller.is_operator()
                || info.author == *caller
                || info.recipient.as_ref() == Some(caller)
                || in_my_case;
            ok.then_some(info)
        });
        match visible {
            // The state runs ahead of the log by the batch being committed: a statement is
            // applied when it is queued, and durable (with its payload) a moment later. Until
            // then it has no proof, no stored payload and no bytes to serve.
            Some(i) if i.index >= self.published_size() => Err(ServiceError::NotFound(format!(
                "statement {} is still being committed to the log; ask again in a moment",
                id.to_base64()
            ))),
            Some(i) => Ok(i),
            _ => Err(ServiceError::NotFound(format!(
                "no statement {} that you may see",
                id.to_base64()
            ))),
        }
    }

    /// The size of the log as published to readers: only durable statements lie below it.
    pub fn published_size(&self) -> u64 {
        self.view().snapshot().size()
    }

    /// The encrypted payload of statement `id`, for its author or recipient. The recipient's
    /// first download makes the operator sign `delivered`, before the payload is returned.
    pub async fn fetch_payload(
        &self,
        caller: &PartyId,
        id: &Hash,
    ) -> Result<Vec<u8>, ServiceError> {
        let info = self.statement_for(caller, id)?;
        if caller.is_operator() && info.author != *caller {
            return Err(ServiceError::NotFound(
                "payloads are for the two parties of a case only".into(),
            ));
        }
        if !info.has_payload {
            return Err(ServiceError::NotFound(format!(
                "statement {} carries no payload",
                id.to_base64()
            )));
        }
        let view = self.view().clone();
        let (index, pid) = (info.index, *id);
        let data = tokio::task::spawn_blocking(move || view.reader().payload(index, &pid))
            .await
            .map_err(|e| ServiceError::Internal(e.to_string()))??
            .ok_or_else(|| {
                ServiceError::Internal(format!("the payload of {} is missing", id.to_base64()))
            })?;
        if info.recipient.as_ref() == Some(caller) && !info.delivered {
            self.deliver(&info, id, caller).await?;
        }
        Ok(data)
    }

    async fn deliver(
        &self,
        info: &StatementInfo,
        id: &Hash,
        to: &PartyId,
    ) -> Result<(), ServiceError> {
        let Some(case) = info.case.clone() else {
            return Ok(());
        };
        let mut st = Statement::new(
            &self.origin(),
            Kind::Delivered,
            PartyId::operator(),
            self.now(),
        );
        st.case = Some(case);
        st.recipient = Some(to.clone());
        st.refs = vec![*id];
        let s =
            SignedStatement::sign(st, &[]).map_err(|e| ServiceError::Internal(e.to_string()))?;
        match self.submit_operator(s, EntrySide::default()).await {
            Ok(_) => Ok(()),
            // A concurrent download delivered it first.
            Err(ServiceError::BadRequest(m)) if m.contains("already delivered") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Records every deadline that has passed without its statement as `overdue`. Returns how
    /// many were recorded.
    pub async fn record_overdues(&self) -> Result<usize, ServiceError> {
        // Only the sequencer signs operator statements: one `overdue` per missed deadline,
        // however many frontends tick.
        if !self.is_sequencer() {
            return Ok(0);
        }
        let now = self.now();
        let due = self.read(|h| h.due_overdues(now));
        let mut n = 0;
        for (case, deadline, request, late) in due {
            let mut st = Statement::new(&self.origin(), Kind::Overdue, PartyId::operator(), now);
            st.case = Some(case);
            st.recipient = Some(late);
            st.deadline = Some(deadline);
            st.refs = vec![request];
            let s = SignedStatement::sign(st, &[])
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            match self.submit_operator(s, EntrySide::default()).await {
                Ok(_) => n += 1,
                Err(ServiceError::Conflict { .. }) => {} // settled meanwhile
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    /// The receipt of a statement the caller may see, against the latest checkpoint.
    pub async fn receipt(&self, caller: &PartyId, id: &Hash) -> Result<Receipt, ServiceError> {
        let info = self.statement_for(caller, id)?;
        let view = self.view().clone();
        let id = *id;
        tokio::task::spawn_blocking(move || -> Result<Receipt, ServiceError> {
            let snap = view.snapshot();
            let checkpoint = snap
                .checkpoint
                .clone()
                .ok_or_else(|| ServiceError::Internal("no checkpoint".into()))?;
            let proof = view
                .inclusion_proof(&snap, info.index, checkpoint.size())
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Ok(Receipt {
                index: info.index,
                leaf_hash: id,
                new: false,
                proof,
                checkpoint,
            })
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// The RFC 9942 COSE receipt of inclusion of a statement the caller may see, against the
    /// latest signed checkpoint, signed with the log key. Returns the receipt and the
    /// checkpoint it is against (its size and root are the receipt's).
    pub async fn cose_receipt(
        &self,
        caller: &PartyId,
        id: &Hash,
    ) -> Result<(Vec<u8>, Arc<hotline_store::reader::SignedCheckpoint>), ServiceError> {
        let receipt = self.receipt(caller, id).await?;
        let checkpoint = receipt.checkpoint.clone();
        let cose = hotline_tlog::cose::sign_inclusion_receipt(
            &self.log_signer,
            &receipt.leaf_hash,
            receipt.index,
            checkpoint.checkpoint.size,
            &receipt.proof,
            &checkpoint.checkpoint.root,
        )
        .map_err(|e| ServiceError::Internal(format!("the COSE receipt: {e}")))?;
        Ok((cose, checkpoint))
    }

    /// The receipt of a statement the caller may see, proved against the latest checkpoint
    /// cosigned by the witness policy's `required` witnesses (the checkpoint carries their
    /// cosignature lines). 404 if the log has no witness policy; 409 while no cosigned
    /// checkpoint covers the statement yet (receipts are issued at the durable commit, without
    /// waiting for witnesses: ask again after the next witnessing round).
    pub async fn cosigned_receipt(
        &self,
        caller: &PartyId,
        id: &Hash,
    ) -> Result<Receipt, ServiceError> {
        let info = self.statement_for(caller, id)?;
        let Some(witnessing) = &self.witnessing else {
            return Err(ServiceError::NotFound(
                "this log has no witness policy: there are no cosigned checkpoints".into(),
            ));
        };
        let required = witnessing.policy().required;
        let Some(cosigned) = witnessing.latest() else {
            return Err(ServiceError::Conflict {
                message: format!(
                    "no checkpoint has been cosigned by {required} of the log's witnesses yet; \
                     ask again later"
                ),
                phase: None,
            });
        };
        if info.index >= cosigned.size {
            return Err(ServiceError::Conflict {
                message: format!(
                    "statement at index {} is not yet under a cosigned checkpoint (the latest \
                     one cosigned by {required} witnesses has size {}); ask again later",
                    info.index, cosigned.size
                ),
                phase: None,
            });
        }
        let note = hotline_tlog::Note::parse(&cosigned.note)
            .map_err(|e| ServiceError::Internal(format!("the cosigned checkpoint: {e}")))?;
        let checkpoint = hotline_tlog::Checkpoint::parse(note.text())
            .map_err(|e| ServiceError::Internal(format!("the cosigned checkpoint: {e}")))?;
        let checkpoint = Arc::new(hotline_store::reader::SignedCheckpoint {
            checkpoint,
            note: cosigned.note.clone(),
            created_ms: 0,
        });
        let view = self.view().clone();
        let id = *id;
        tokio::task::spawn_blocking(move || -> Result<Receipt, ServiceError> {
            let snap = view.snapshot();
            let proof = view
                .inclusion_proof(&snap, info.index, checkpoint.size())
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            Ok(Receipt {
                index: info.index,
                leaf_hash: id,
                new: false,
                proof,
                checkpoint,
            })
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?
    }

    /// The cases `caller` is a party to (all cases for the operator).
    pub fn cases_for(&self, caller: &PartyId) -> Vec<Case> {
        self.read(|h| {
            h.cases()
                .filter(|c| caller.is_operator() || c.role_of(caller).is_some())
                .cloned()
                .collect()
        })
    }

    /// One case, if `caller` is a party to it (or the operator).
    pub fn case_for(&self, caller: &PartyId, id: &CaseId) -> Result<Case, ServiceError> {
        self.read(|h| h.case(id).cloned())
            .filter(|c| caller.is_operator() || c.role_of(caller).is_some())
            .ok_or_else(|| ServiceError::NotFound(format!("no case {id} that you may see")))
    }

    /// The signed statement bytes at a log index.
    pub fn statement_bytes(&self, index: u64) -> Result<Vec<u8>, ServiceError> {
        let view = self.view();
        let snap = view.snapshot();
        let mut out = None;
        view.for_each_entry(&snap, index, index + 1, |_, e| {
            out = Some(e.to_vec());
            Ok(())
        })?;
        out.ok_or_else(|| ServiceError::NotFound(format!("no statement at index {index}")))
    }

    /// Which deadline kinds exist (for documentation of `overdue`).
    pub fn deadlines() -> [Deadline; 2] {
        [Deadline::Ack, Deadline::Answer]
    }
}

/// The state after the first `size` statements of the log, each checked as when it was first
/// accepted.
fn replay(view: &LogView, size: u64, policy: &DeadlinePolicy) -> Result<Hotline, ServiceError> {
    let snap = view.snapshot();
    if snap.size() < size {
        return Err(ServiceError::Internal(format!(
            "the log view holds {} entries, {size} are to be replayed",
            snap.size()
        )));
    }
    let origin = view.reader().origin().to_owned();
    // Signatures verified ahead on every core, the rules applied in log order (the outcome
    // of applying the statements one by one); a long log says how far it got.
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = std::time::Instant::now();
    let mut reported = started;
    let (read, hotline, refused) =
        hotline_core::replay::replay_in_parallel(policy.clone(), threads, |feeder| {
            feeder.expect(size);
            view.for_each_entry(&snap, 0, size, |index, entry| {
                feeder.push(&origin, index, entry);
                if reported.elapsed() >= std::time::Duration::from_secs(2) {
                    reported = std::time::Instant::now();
                    tracing::info!(read = index + 1, of = size, "replaying the log");
                }
                Ok(())
            })
        });
    read?;
    if let Some(r) = refused {
        return Err(StoreError::Corrupt(format!(
            "log entry {} (statement {}) does not fit the hotline: {}",
            r.index, r.id, r.error
        ))
        .into());
    }
    if size > 0 {
        tracing::info!(
            statements = size,
            seconds = started.elapsed().as_secs_f64(),
            "replayed the log"
        );
    }
    Ok(hotline.unwrap_or_else(|| Hotline::new(&origin, policy.clone())))
}

/// Refuses an operator key that is not the one the log registered for the operator.
fn check_operator(hotline: &Hotline, operator: &Ed25519Signer) -> Result<(), ServiceError> {
    if hotline.size() > 0 {
        let registered = hotline
            .directory()
            .get(&PartyId::operator())
            .and_then(|p| p.current())
            .map(|k| k.verifier.clone());
        if registered != Some(operator.verifier()) {
            return Err(ServiceError::Internal(
                "the operator key given is not the operator's registered key".into(),
            ));
        }
    }
    Ok(())
}

fn load_credentials(view: &LogView) -> Result<HashMap<[u8; 32], PartyId>, StoreError> {
    let mut creds = HashMap::new();
    for Credential { token_hash, party } in view.reader().credentials()? {
        if let Ok(p) = PartyId::new(&party) {
            creds.insert(token_hash, p);
        }
    }
    Ok(creds)
}

/// Checks that the payload sent is exactly the one the statement commits to.
fn check_payload(st: &Statement, payload: Option<&[u8]>) -> Result<(), ServiceError> {
    match (&st.payload, payload) {
        (None, None) => Ok(()),
        (Some(_), None) => Err(ServiceError::BadRequest(
            "the statement commits to a payload but none was sent".into(),
        )),
        (None, Some(_)) => Err(ServiceError::BadRequest(
            "a payload was sent but the statement commits to none".into(),
        )),
        (Some(c), Some(p)) => {
            if p.len() > hotline_crypto::MAX_CIPHERTEXT_SIZE {
                return Err(ServiceError::TooLarge(format!(
                    "payload of {} bytes is larger than the {} bytes allowed",
                    p.len(),
                    hotline_crypto::MAX_CIPHERTEXT_SIZE
                )));
            }
            if c.size != p.len() as u64 {
                return Err(ServiceError::BadRequest(format!(
                    "payload-size says {} bytes but {} were sent",
                    c.size,
                    p.len()
                )));
            }
            let h = hotline_core::payload::sha256(p);
            if h != c.sha256 {
                return Err(ServiceError::BadRequest(format!(
                    "the payload's SHA-256 is {h}, the statement commits to {}",
                    c.sha256
                )));
            }
            hotline_crypto::check_age_format(p)
                .map_err(|e| ServiceError::BadRequest(format!("payload: {e}")))?;
            Ok(())
        }
    }
}
