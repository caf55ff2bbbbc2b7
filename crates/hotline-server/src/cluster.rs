//! Several frontends on one PostgreSQL database, exactly one of which sequences at a time.
//!
//! Every frontend is a `hotline serve` process started from a copy of the operator's data
//! directory (log key, operator key, database URL). Each serves the whole API, the log and
//! proofs from its own [`LogView`] and [`HotlineService`]. A [`Frontend`]'s coordinator thread
//! decides what it does:
//!
//! - **Follower.** Every `poll` (and at once when a forwarded write asks for it), it follows the
//!   log ([`LogFollower`]: every new entry checked against the signed root and applied to the
//!   service's state, in order, exactly once) and reads the sequencer lease ([`PgLease`]): who
//!   sequences, at which URL. Requests that need the sequencer (statements, directory changes,
//!   a recipient's first payload download, which records `delivered`) are forwarded to it by
//!   [`crate::forward`]. When the lease is free (expired by the database's clock, released, or
//!   its holder's connection gone) it takes it.
//! - **Taking over.** With the lease (epoch `e`), it follows the log to its end (no one else can
//!   commit: the takeover waited for the writers' lock and every commit is fenced by the epoch),
//!   opens a writer fenced with `e`, and starts the sequencer, whose recovery verifies the
//!   latest checkpoint under the log key and every stored tile before it signs anything. It
//!   renews the lease once more, then starts taking statements.
//! - **Sequencer.** It renews the lease every third of its duration. Writes are accepted only
//!   while the last successful renewal is recent enough that the lease cannot have run out by
//!   the database's clock ([`FrontendStatus::check_lease`]); otherwise 503. A failed renewal
//!   past that point, a renewal that finds another holder, or a stopped sequencer makes it
//!   step down: the sequencer is aborted (nothing more is committed; the fence would refuse it
//!   anyway), and the service's state — which may hold statements applied but never made
//!   durable — is rebuilt from the log before it follows again.
//! - **Cut off from the database.** A follower that has not reached the database for a lease
//!   duration refuses writes (503 naming the problem) instead of forwarding them, and
//!   `/healthz` answers 503 so a load balancer takes it out; reads keep being served from what
//!   it followed. A sequencer cut off stops accepting writes when its lease may have run out,
//!   and a standby takes over when it has.
//!
//! Why forwarding, not a queue in the database: a statement is checked against the domain
//! state and applied under one lock, in log order, by the one process that appends; receipts
//! stay synchronous (the sequencer answers only after the durable commit, and the follower
//! relays that answer), there is no second durable write per statement, and a frontend can
//! never hand out a receipt the sequencer did not make. The price is that frontends must reach
//! each other over HTTP (`--advertise`), and a write in flight when the sequencer dies has no
//! known outcome: the forwarding frontend retries statement submissions (idempotent: the same
//! bytes get the same index) against the next sequencer, and answers other writes with 503.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hotline_store::StoreError;
use hotline_store::follow::LogFollower;
use hotline_store::postgres::{LeaseState, PgLease, PgWriter};
use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig, SequencerHandle};
use hotline_tlog::{Ed25519Signer, Ed25519Verifier};

use crate::service::HotlineService;

/// Settings of one frontend.
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// The PostgreSQL URL of the log (never logged: it may hold a password).
    pub database_url: String,
    /// This frontend's name in the lease (unique per process).
    pub name: String,
    /// The URL other frontends forward writes to while this one sequences.
    pub advertise: String,
    /// How long a lease lasts without renewal.
    pub lease_ttl: Duration,
    /// How often a follower looks for new checkpoints and for a free lease.
    pub poll: Duration,
    /// Batching of the sequencer, once this frontend sequences.
    pub sequencer: SequencerConfig,
}

/// What a frontend does now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// Following the log another frontend sequences.
    Follower,
    /// Took the lease in this epoch and is catching up before it sequences.
    TakingOver {
        /// The lease epoch.
        epoch: i64,
    },
    /// Sequencing, holding the lease in this epoch.
    Sequencer {
        /// The lease epoch.
        epoch: i64,
    },
    /// Neither: writes are refused for this reason (state being rebuilt, database lost…).
    Unavailable(String),
}

/// The frontend holding the sequencer lease, as last read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leader {
    /// Its name.
    pub name: String,
    /// Where it takes forwarded writes.
    pub url: String,
    /// The lease epoch.
    pub epoch: i64,
}

struct Inner {
    role: Role,
    leader: Option<Leader>,
    /// A sequencer that failed a forwarded request: (epoch, when), skipped for a moment.
    failed: Option<(i64, Instant)>,
}

/// How long a sequencer that failed a forwarded request is skipped (unless the lease changes
/// hands first).
const FAILED_LEADER_PAUSE: Duration = Duration::from_millis(500);

/// A frontend's state as its coordinator, its service, the forwarding layer and `/healthz`
/// see it.
pub struct FrontendStatus {
    name: String,
    advertise: String,
    ttl: Duration,
    started: Instant,
    /// Milliseconds since `started` of the last successful contact with the database, plus 1
    /// (0: never).
    db_contact_ms: AtomicU64,
    /// Milliseconds since `started` until which this frontend may sequence (0: it may not).
    lease_until_ms: AtomicU64,
    inner: RwLock<Inner>,
    followed: tokio::sync::watch::Sender<u64>,
    kick: Mutex<bool>,
    kicked: Condvar,
}

impl FrontendStatus {
    /// The status of a new frontend named `name`, reachable at `advertise`.
    pub fn new(name: &str, advertise: &str, ttl: Duration) -> Arc<FrontendStatus> {
        Arc::new(FrontendStatus {
            name: name.to_owned(),
            advertise: advertise.to_owned(),
            ttl,
            started: Instant::now(),
            db_contact_ms: AtomicU64::new(0),
            lease_until_ms: AtomicU64::new(0),
            inner: RwLock::new(Inner {
                role: Role::Follower,
                leader: None,
                failed: None,
            }),
            followed: tokio::sync::watch::Sender::new(0),
            kick: Mutex::new(false),
            kicked: Condvar::new(),
        })
    }

    fn inner(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        match self.inner.read() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn inner_mut(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        match self.inner.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    fn ms(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.started).as_millis()).unwrap_or(u64::MAX)
    }

    /// This frontend's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The URL it advertises.
    pub fn advertise(&self) -> &str {
        &self.advertise
    }

    /// What it does now.
    pub fn role(&self) -> Role {
        self.inner().role.clone()
    }

    /// The sequencer to forward to: the lease holder as last read, unless it just failed a
    /// forwarded request (and the lease has not changed hands since).
    pub fn leader(&self) -> Option<Leader> {
        let inner = self.inner();
        let leader = inner.leader.clone()?;
        match inner.failed {
            Some((epoch, at)) if epoch == leader.epoch && at.elapsed() < FAILED_LEADER_PAUSE => {
                None
            }
            _ => Some(leader),
        }
    }

    /// Records that the sequencer of `epoch` failed a forwarded request.
    pub fn leader_failed(&self, epoch: i64) {
        self.inner_mut().failed = Some((epoch, Instant::now()));
        self.kick();
    }

    /// Ok while this frontend may append: its last lease renewal is recent enough that the
    /// lease cannot have run out by the database's clock. Otherwise why not.
    pub fn check_lease(&self) -> Result<(), String> {
        let until = self.lease_until_ms.load(Ordering::Acquire);
        if until > self.ms(Instant::now()) {
            return Ok(());
        }
        Err(format!(
            "frontend {} could not renew its sequencer lease in time (no contact with the \
             database for {}); it accepts no statements and cannot back a receipt until it \
             has renewed it or another frontend has taken over: try another frontend",
            self.name,
            self.since_contact()
        ))
    }

    /// Ok while this frontend's contact with the database is recent (within a lease
    /// duration), so that what it forwards is backed by a sequencer it knows of. Otherwise why
    /// not.
    pub fn check_database(&self) -> Result<(), String> {
        let last = self.db_contact_ms.load(Ordering::Acquire);
        if last > 0 && self.ms(Instant::now()) < last - 1 + self.ttl_ms() {
            return Ok(());
        }
        Err(format!(
            "frontend {} has had no contact with the database for {}: it cannot back a \
             receipt and refuses writes; try another frontend",
            self.name,
            self.since_contact()
        ))
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX)
    }

    fn since_contact(&self) -> String {
        match self.db_contact_ms.load(Ordering::Acquire) {
            0 => "as long as it has run".to_owned(),
            last => format!(
                "{:.1} s",
                self.ms(Instant::now()).saturating_sub(last - 1) as f64 / 1000.0
            ),
        }
    }

    /// The size of the log this frontend has followed (or, sequencing, published).
    pub fn followed(&self) -> u64 {
        *self.followed.borrow()
    }

    /// Waits (at most `timeout`) until this frontend has followed the log to `size`, asking
    /// its coordinator to look now. Returns whether it has.
    pub async fn wait_followed(&self, size: u64, timeout: Duration) -> bool {
        if self.followed() >= size {
            return true;
        }
        let mut rx = self.followed.subscribe();
        self.kick();
        tokio::time::timeout(timeout, rx.wait_for(|s| *s >= size))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Asks the coordinator to follow the log now rather than at its next poll.
    pub fn kick(&self) {
        let mut k = match self.kick.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        *k = true;
        self.kicked.notify_one();
    }

    fn wait_kick(&self, timeout: Duration) {
        let k = match self.kick.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut k = match self.kicked.wait_timeout_while(k, timeout, |k| !*k) {
            Ok((g, _)) => g,
            Err(p) => p.into_inner().0,
        };
        *k = false;
    }

    /// Waits (at most `timeout`) until this frontend knows its part: it sequences, or follows
    /// a sequencer it knows, or cannot take writes. Returns whether it does.
    pub fn wait_settled(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let settled = {
                let inner = self.inner();
                match &inner.role {
                    Role::Sequencer { .. } | Role::Unavailable(_) => true,
                    Role::Follower => inner.leader.is_some(),
                    Role::TakingOver { .. } => false,
                }
            };
            if settled {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// `/healthz`: whether this frontend can serve writes (directly or by forwarding), and a
    /// line saying what it does.
    pub fn describe(&self) -> (bool, String) {
        let size = self.followed();
        match self.role() {
            Role::Sequencer { epoch } => match self.check_lease() {
                Ok(()) => (
                    true,
                    format!(
                        "ok: {} sequences the log (lease epoch {epoch}), size {size}",
                        self.name
                    ),
                ),
                Err(why) => (false, format!("unavailable: {why}")),
            },
            Role::TakingOver { epoch } => (
                true,
                format!(
                    "ok: {} is taking over as sequencer (lease epoch {epoch}), size {size}",
                    self.name
                ),
            ),
            Role::Follower => match self.check_database() {
                Ok(()) => {
                    let leader = match self.inner().leader.clone() {
                        Some(l) => format!(
                            "the sequencer is {} at {} (lease epoch {})",
                            l.name, l.url, l.epoch
                        ),
                        None => "no frontend holds the sequencer lease right now".to_owned(),
                    };
                    (
                        true,
                        format!("ok: {} follows the log, size {size}; {leader}", self.name),
                    )
                }
                Err(why) => (false, format!("unavailable: {why}")),
            },
            Role::Unavailable(why) => (false, format!("unavailable: {}: {why}", self.name)),
        }
    }

    fn set_role(&self, role: Role) {
        self.inner_mut().role = role;
    }

    fn set_leader(&self, lease: Option<&LeaseState>) {
        let leader = lease.filter(|l| l.is_held()).map(|l| Leader {
            name: l.holder.clone(),
            url: l.url.clone(),
            epoch: l.epoch,
        });
        self.inner_mut().leader = leader;
    }

    fn touch_database(&self) {
        self.db_contact_ms
            .store(self.ms(Instant::now()) + 1, Ordering::Release);
    }

    /// The lease renewal sent at `sent` succeeded: the lease runs until at least `sent + ttl`
    /// by the database's clock; take a fifth off for clocks running at different rates and
    /// for scheduling.
    fn renewed(&self, sent: Instant) {
        let valid = self.ttl - self.ttl / 5;
        self.lease_until_ms
            .store(self.ms(sent + valid), Ordering::Release);
        self.touch_database();
    }

    fn lease_lost(&self) {
        self.lease_until_ms.store(0, Ordering::Release);
    }

    fn set_followed(&self, size: u64) {
        self.followed.send_if_modified(|s| {
            if *s != size {
                *s = size;
                true
            } else {
                false
            }
        });
    }
}

/// A running frontend: its coordinator thread.
pub struct Frontend {
    status: Arc<FrontendStatus>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Frontend {
    /// Starts the coordinator of a frontend whose `service` follows the log `follower` stands
    /// on (both at the same size: open the service on the follower's view after starting the
    /// follower). `log_signer` signs checkpoints once this frontend sequences.
    pub fn start(
        config: ClusterConfig,
        follower: LogFollower,
        service: Arc<HotlineService>,
        log_signer: Ed25519Signer,
        status: Arc<FrontendStatus>,
    ) -> std::io::Result<Frontend> {
        status.set_followed(follower.size());
        status.set_role(Role::Follower);
        service.follow();
        let stop = Arc::new(AtomicBool::new(false));
        let coordinator = Coordinator {
            view: follower.view().clone(),
            verifier: log_signer.verifier(),
            signer: log_signer,
            cfg: config,
            service,
            status: status.clone(),
            stop: stop.clone(),
            lease: None,
            lease_checked: None,
            mode: Mode::Follower(follower),
            last_warning: None,
        };
        let thread = std::thread::Builder::new()
            .name("hotline-frontend".into())
            .spawn(move || coordinator.run())?;
        Ok(Frontend {
            status,
            stop,
            thread: Some(thread),
        })
    }

    /// The frontend's status.
    pub fn status(&self) -> &Arc<FrontendStatus> {
        &self.status
    }

    /// Stops the coordinator. A sequencing frontend commits what is queued, then releases the
    /// lease so that a standby takes over at once.
    pub fn shutdown(mut self) {
        self.stop.store(true, Ordering::Release);
        self.status.kick();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Frontend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.status.kick();
    }
}

enum Mode {
    Follower(LogFollower),
    Sequencer {
        epoch: i64,
        seq: SequencerHandle,
    },
    /// The service's state must be rebuilt from the log before following (after a step-down
    /// or a failed follow), for this reason.
    Broken(String),
}

struct Coordinator {
    cfg: ClusterConfig,
    view: Arc<LogView>,
    verifier: Ed25519Verifier,
    signer: Ed25519Signer,
    service: Arc<HotlineService>,
    status: Arc<FrontendStatus>,
    stop: Arc<AtomicBool>,
    lease: Option<PgLease>,
    /// When a follower last looked at the lease.
    lease_checked: Option<Instant>,
    mode: Mode,
    last_warning: Option<Instant>,
}

/// Shortest time between two rounds of a follower, however often it is asked to look.
const MIN_ROUND: Duration = Duration::from_millis(5);
/// Pause after a failed attempt to rebuild or reconnect.
const BACKOFF: Duration = Duration::from_millis(500);
/// How long forwarded writes wait, at most, for this frontend to have followed them.
pub const FOLLOW_WAIT: Duration = Duration::from_secs(2);

impl Coordinator {
    fn run(mut self) {
        while !self.stop.load(Ordering::Acquire) {
            let round = Instant::now();
            let pause = match &self.mode {
                Mode::Follower(_) => self.follower_round(),
                Mode::Sequencer { .. } => self.sequencer_round(),
                Mode::Broken(_) => self.rebuild_round(),
            };
            if !pause.is_zero() {
                self.status.wait_kick(pause);
                // Kicks coalesce: under load, one round every few milliseconds follows what
                // many forwarded writes wait for.
                if let Some(rest) = MIN_ROUND.checked_sub(round.elapsed()) {
                    std::thread::sleep(rest);
                }
            }
        }
        if let Mode::Sequencer { epoch, seq } =
            std::mem::replace(&mut self.mode, Mode::Broken("shutting down".into()))
        {
            self.status
                .set_role(Role::Unavailable("shutting down".into()));
            self.service
                .stop_sequencing("this frontend is shutting down");
            seq.shutdown();
            if let Some(lease) = self.lease.as_mut()
                && let Err(e) = lease.release(epoch)
            {
                tracing::warn!(error = %e, "could not release the sequencer lease");
            }
            self.status.lease_lost();
            tracing::info!(epoch, "released the sequencer lease");
        }
    }

    /// Logs a problem with the database at most every few seconds.
    fn warn(&mut self, what: &str, e: &dyn std::fmt::Display) {
        if self
            .last_warning
            .is_none_or(|t| t.elapsed() > Duration::from_secs(5))
        {
            tracing::warn!(error = %e, "{what}");
            self.last_warning = Some(Instant::now());
        }
    }

    /// The lease connection, opened if needed.
    fn lease(&mut self) -> Option<&mut PgLease> {
        if self.lease.as_ref().is_some_and(PgLease::is_closed) {
            self.lease = None;
        }
        if self.lease.is_none() {
            match PgLease::connect(
                &self.cfg.database_url,
                &self.cfg.name,
                &self.cfg.advertise,
                self.cfg.lease_ttl,
            ) {
                Ok(l) => self.lease = Some(l),
                Err(e) => {
                    self.warn("cannot open the lease connection to the database", &e);
                    return None;
                }
            }
        }
        self.lease.as_mut()
    }

    /// Follows the log to its end: the entries applied to the service. `Err` only for what
    /// breaks the state (a corrupt or replaced log, a statement the rules refuse); the
    /// database being unreachable is `Ok(false)`.
    fn follow(&mut self) -> Result<bool, String> {
        let Mode::Follower(follower) = &mut self.mode else {
            return Ok(false);
        };
        let service = &self.service;
        let mut registered = false;
        let mut outcome = Ok(true);
        let mut unreachable = None;
        for _ in 0..64 {
            match follower.step(|i, e| {
                registered |= service.apply_followed(i, e)?;
                Ok(())
            }) {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(StoreError::Corrupt(m)) => {
                    outcome = Err(format!("following the log failed: {m}"));
                    break;
                }
                Err(e) => {
                    outcome = Ok(false);
                    unreachable = Some(e);
                    break;
                }
            }
        }
        self.status.set_followed(follower.size());
        if let Some(e) = unreachable {
            self.warn("cannot follow the log in the database", &e);
        }
        if registered && let Err(e) = self.service.reload_credentials() {
            self.warn("cannot reload the API credentials", &e);
        }
        outcome
    }

    fn follower_round(&mut self) -> Duration {
        let followed = match self.follow() {
            Ok(ok) => ok,
            Err(why) => return self.break_state(why),
        };
        // The lease is looked at every poll, not at every round a forwarded write asked for.
        if self
            .lease_checked
            .is_some_and(|t| t.elapsed() < self.cfg.poll)
        {
            if followed {
                self.status.touch_database();
            }
            return self.cfg.poll;
        }
        self.lease_checked = Some(Instant::now());
        let Some(lease) = self.lease() else {
            return self.cfg.poll;
        };
        let state = match lease.read() {
            Ok(s) => s,
            Err(e) => {
                self.lease = None;
                self.warn("cannot read the sequencer lease", &e);
                return self.cfg.poll;
            }
        };
        if followed {
            self.status.touch_database();
        }
        self.status.set_leader(Some(&state));
        if state.is_held() || !followed {
            return self.cfg.poll;
        }
        let Some(lease) = self.lease.as_mut() else {
            return self.cfg.poll;
        };
        match lease.try_acquire() {
            Ok(Some(epoch)) => self.take_over(epoch),
            Ok(None) => self.cfg.poll,
            Err(e) => {
                self.lease = None;
                self.warn("cannot take the sequencer lease", &e);
                self.cfg.poll
            }
        }
    }

    /// This frontend took the lease in `epoch`: catch up, start the sequencer, go.
    fn take_over(&mut self, epoch: i64) -> Duration {
        tracing::info!(epoch, "took the sequencer lease; catching up with the log");
        self.status.set_role(Role::TakingOver { epoch });
        let started = match self.start_sequencer(epoch) {
            Ok(seq) => seq,
            Err(why) => {
                tracing::warn!(epoch, reason = %why, "could not take over as sequencer");
                self.status.lease_lost();
                if let Some(lease) = self.lease.as_mut() {
                    let _ = lease.release(epoch);
                }
                return self.break_state(format!("a takeover failed: {why}"));
            }
        };
        let size = self.view.snapshot().size();
        self.status.set_followed(size);
        {
            let mut inner = self.status.inner_mut();
            inner.leader = Some(Leader {
                name: self.cfg.name.clone(),
                url: self.cfg.advertise.clone(),
                epoch,
            });
            inner.role = Role::Sequencer { epoch };
        }
        tracing::info!(epoch, size, "sequencing the log");
        self.mode = Mode::Sequencer {
            epoch,
            seq: started,
        };
        self.renew_interval()
    }

    fn start_sequencer(&mut self, epoch: i64) -> Result<SequencerHandle, String> {
        // Under the lease nobody else commits: one pass reaches the end of the log.
        if !self.follow()? {
            return Err("the database could not be read".into());
        }
        let state = self.service.read(|h| h.size());
        let log = self.view.snapshot().size();
        if state != log {
            return Err(format!(
                "the frontend's state holds {state} statements, the log {log}"
            ));
        }
        let writer = PgWriter::open_fenced(&self.cfg.database_url, epoch)
            .map_err(|e| format!("opening the writer: {e}"))?;
        // The recovery verifies the latest checkpoint and every stored tile before anything
        // is signed.
        let seq = sequencer::start(
            Box::new(writer),
            self.view.clone(),
            self.signer.clone(),
            self.cfg.sequencer.clone(),
        )
        .map_err(|e| format!("starting the sequencer: {e}"))?;
        // The recovery may have taken a while: renew before the first statement.
        let sent = Instant::now();
        let renewed = match self.lease.as_mut() {
            Some(l) => l.renew(epoch).map_err(|e| e.to_string()),
            None => Err("the lease connection closed".into()),
        };
        match renewed {
            Ok(true) => {}
            Ok(false) => {
                seq.abort("another frontend took the sequencer lease during the takeover");
                return Err("another frontend took the lease meanwhile".into());
            }
            Err(e) => {
                seq.abort("the sequencer lease could not be renewed during the takeover");
                return Err(format!("renewing the lease: {e}"));
            }
        }
        self.status.renewed(sent);
        if let Err(e) = self.service.become_sequencer(seq.clone()) {
            seq.abort("the takeover failed");
            self.status.lease_lost();
            return Err(e.to_string());
        }
        Ok(seq)
    }

    fn renew_interval(&self) -> Duration {
        self.cfg.lease_ttl / 3
    }

    fn sequencer_round(&mut self) -> Duration {
        let Mode::Sequencer { epoch, seq } = &self.mode else {
            return Duration::ZERO;
        };
        let (epoch, stopped) = (*epoch, seq.stopped_reason());
        if let Some(r) = stopped {
            return self.step_down(epoch, format!("its sequencer stopped: {r}"), true);
        }
        let size = self.view.snapshot().size();
        self.status.set_followed(size);
        let sent = Instant::now();
        let renewed = match self.lease() {
            Some(l) => l.renew(epoch).map_err(|e| e.to_string()),
            None => Err("no connection to the database".into()),
        };
        match renewed {
            Ok(true) => self.status.renewed(sent),
            Ok(false) => {
                return self.step_down(
                    epoch,
                    "another frontend took over the sequencer lease".into(),
                    false,
                );
            }
            Err(e) => {
                self.lease = None;
                self.warn("cannot renew the sequencer lease", &e);
                if self.status.check_lease().is_err() {
                    return self.step_down(
                        epoch,
                        format!("the sequencer lease could not be renewed in time: {e}"),
                        false,
                    );
                }
                return Duration::from_millis(200).min(self.renew_interval());
            }
        }
        self.renew_interval()
    }

    /// Stops sequencing for `reason`; the state is rebuilt from the log next.
    fn step_down(&mut self, epoch: i64, reason: String, release: bool) -> Duration {
        tracing::warn!(epoch, %reason, "no longer sequencing");
        self.status.lease_lost();
        let msg = format!("stopped sequencing: {reason}; following the log again shortly");
        if let Some(seq) = self.service.stop_sequencing(&msg) {
            seq.abort(&msg);
        }
        if let Mode::Sequencer { seq, .. } = &self.mode {
            seq.abort(&msg);
        }
        if release && let Some(lease) = self.lease.as_mut() {
            let _ = lease.release(epoch);
        }
        self.break_state(reason)
    }

    /// The service's state cannot be trusted (a step-down, a failed follow): refuse writes
    /// and rebuild it from the log.
    fn break_state(&mut self, reason: String) -> Duration {
        self.service
            .stop_sequencing(&format!("{reason}; rebuilding this frontend's state"));
        self.status.set_role(Role::Unavailable(format!(
            "{reason}; rebuilding its state from the log"
        )));
        self.mode = Mode::Broken(reason);
        Duration::ZERO
    }

    fn rebuild_round(&mut self) -> Duration {
        let follower = match LogFollower::start(self.view.clone(), self.verifier.clone()) {
            Ok(f) => f,
            Err(e) => {
                self.warn("cannot read the log to rebuild this frontend's state", &e);
                return BACKOFF;
            }
        };
        let size = follower.size();
        if let Err(e) = self.service.rebuild(size) {
            self.warn("cannot rebuild this frontend's state", &e);
            return BACKOFF;
        }
        self.service.follow();
        self.status.set_followed(size);
        self.status.touch_database();
        self.status.set_role(Role::Follower);
        if let Mode::Broken(after) = &self.mode {
            tracing::info!(size, %after, "state rebuilt from the log; following it");
        }
        self.mode = Mode::Follower(follower);
        Duration::ZERO
    }
}

/// Why a single process could not take the sequencer lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// Another frontend sequences the log.
    #[error(
        "the log is being sequenced by frontend {holder} ({url}); stop it, or send to it instead"
    )]
    Held {
        /// The holder's name.
        holder: String,
        /// Its URL.
        url: String,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The sequencer lease held by one process that sequences on its own, without the frontend
/// machinery (`hotline init`, in-process benchmarks): taken once, renewed by a thread,
/// released when dropped. If a renewal fails for good the sequencer is aborted.
pub struct ExclusiveLease {
    epoch: i64,
    lease: Option<PgLease>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl ExclusiveLease {
    /// Takes the lease of the log at `url` as `name`, or says who holds it.
    pub fn acquire(url: &str, name: &str, ttl: Duration) -> Result<ExclusiveLease, LeaseError> {
        let mut lease = PgLease::connect(url, name, "", ttl)?;
        match lease.try_acquire()? {
            Some(epoch) => Ok(ExclusiveLease {
                epoch,
                lease: Some(lease),
                stop: Arc::new((Mutex::new(false), Condvar::new())),
                thread: None,
            }),
            None => {
                let s = lease.read()?;
                Err(LeaseError::Held {
                    holder: s.holder,
                    url: s.url,
                })
            }
        }
    }

    /// The lease epoch (for [`PgWriter::open_fenced`]).
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    /// Renews the lease every third of `ttl` from a thread of its own until dropped; aborts
    /// `seq` if the lease is lost or cannot be renewed in time.
    pub fn keep_renewing(&mut self, seq: SequencerHandle, ttl: Duration) -> std::io::Result<()> {
        let Some(mut lease) = self.lease.take() else {
            return Ok(());
        };
        let (epoch, stop) = (self.epoch, self.stop.clone());
        let thread = std::thread::Builder::new()
            .name("hotline-lease".into())
            .spawn(move || {
                let mut valid_until = Instant::now() + ttl - ttl / 5;
                loop {
                    {
                        let (m, c) = &*stop;
                        let g = match m.lock() {
                            Ok(g) => g,
                            Err(p) => p.into_inner(),
                        };
                        let g = match c.wait_timeout_while(g, ttl / 3, |s| !*s) {
                            Ok((g, _)) => g,
                            Err(p) => p.into_inner().0,
                        };
                        if *g {
                            break;
                        }
                    }
                    let sent = Instant::now();
                    match lease.renew(epoch) {
                        Ok(true) => valid_until = sent + ttl - ttl / 5,
                        Ok(false) => {
                            seq.abort("another process took over the sequencer lease");
                            return;
                        }
                        Err(e) if Instant::now() >= valid_until => {
                            seq.abort(&format!("the sequencer lease could not be renewed: {e}"));
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "renewing the sequencer lease"),
                    }
                }
                let _ = lease.release(epoch);
            })?;
        self.thread = Some(thread);
        Ok(())
    }
}

impl Drop for ExclusiveLease {
    fn drop(&mut self) {
        if let Some(lease) = self.lease.as_mut() {
            let _ = lease.release(self.epoch);
        }
        let (m, c) = &*self.stop;
        if let Ok(mut g) = m.lock() {
            *g = true;
        }
        c.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
