//! `hotline serve`: the sequencer and the HTTP server over one data directory (its log in
//! `hotline.db` or in the PostgreSQL database the directory records).
//!
//! A hotline whose log is in PostgreSQL is served as one of any number of frontends
//! ([`open_frontend`], [`serve_frontend`]; `hotline_server::cluster` has the model): each
//! started from a copy of the data directory, one of them sequencing at a time. Everything
//! else — a SQLite directory, a bare log, an in-process benchmark, `init` — is one process
//! that sequences ([`OpenLog`]); on PostgreSQL it holds the sequencer lease while it runs
//! ([`ExclusiveLease`]), so it can never write beside running frontends.

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use hotline_server::AppState;
use hotline_server::cluster::{ClusterConfig, ExclusiveLease, Frontend, FrontendStatus};
use hotline_server::witnessing::{self, Witnessing};
use hotline_store::follow::LogFollower;
use hotline_store::postgres::{self, PgReader, PgWriter};
use hotline_store::reader::LogView;
use hotline_store::sequencer::{self, SequencerConfig, SequencerHandle};
use hotline_store::sqlite::{SqliteReader, SqliteWriter};
use hotline_store::{LogReader, LogWriter};

use hotline_core::DeadlinePolicy;
use hotline_server::service::{HotlineService, ServiceConfig};

use crate::datadir::{DataDir, Store};

/// The `meta` key under which a hotline's deadline policy is fixed at `init`.
pub const POLICY_META: &str = "deadline_policy";

/// Batching options shared by `serve`, `bench log` and `quickstart`.
#[derive(clap::Args, Clone, Debug)]
pub struct BatchArgs {
    /// Most entries committed together.
    #[arg(long, default_value_t = 4096)]
    pub batch_size: usize,
    /// Longest an entry waits for others before its batch is committed, in milliseconds.
    #[arg(long, default_value_t = 50)]
    pub batch_age_ms: u64,
    /// Under load, the least time a batch keeps gathering, in microseconds: larger, fewer
    /// commits for at most that much more latency (nothing is held back on a quiet log).
    /// Measured with `hotline bench submit`: 1000 µs doubles the mean batch and lowers the
    /// server's CPU per statement (BENCHMARKS.md).
    #[arg(long, default_value_t = 1000)]
    pub batch_linger_us: u64,
}

impl BatchArgs {
    /// The sequencer configuration.
    pub fn config(&self) -> SequencerConfig {
        SequencerConfig {
            batch_size: self.batch_size.max(1),
            batch_age: Duration::from_millis(self.batch_age_ms),
            linger: Duration::from_micros(self.batch_linger_us),
            ..SequencerConfig::default()
        }
    }
}

/// Says on stderr that a long log is being replayed into the hotline's state (every statement
/// checked again, signatures included), so that a start-up of many seconds is not a silent one.
fn announce_replay(size: u64) {
    if size >= 100_000 {
        eprintln!(
            "opening the hotline: replaying its {size} statements (every signature and rule \
             checked again)…"
        );
    }
}

/// How long a lease lasts by default: a standby takes over a frontend cut off from the
/// database after at most this long (one killed takes over at once).
pub const DEFAULT_LEASE_MS: u64 = 3000;

/// A name for this process in the sequencer lease: host, process id and a random tag.
pub fn frontend_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    format!(
        "{host}-{}-{:04x}",
        std::process::id(),
        rand::random::<u16>()
    )
}

/// An open log with its sequencer running; holds the directory lock (SQLite) or the sequencer
/// lease (PostgreSQL).
pub struct OpenLog {
    /// The running sequencer.
    pub sequencer: SequencerHandle,
    /// The hotline service, if the directory holds a hotline (not a bare log).
    pub service: Option<Arc<HotlineService>>,
    /// Witness cosigning, if the directory has a `witnesses.toml`.
    pub witnessing: Option<Arc<Witnessing>>,
    _lock: Option<File>,
    _lease: Option<ExclusiveLease>,
}

impl OpenLog {
    /// Locks the directory (SQLite) or takes the sequencer lease (PostgreSQL: refused while a
    /// frontend sequences), checks the stored log and starts the sequencer.
    pub fn open(dir: &DataDir, config: SequencerConfig) -> Result<OpenLog> {
        Self::open_with(dir, config, hotline_server::taxii::TaxiiConfig::default())
    }

    /// As [`OpenLog::open`], with TAXII settings.
    pub fn open_with(
        dir: &DataDir,
        config: SequencerConfig,
        taxii: hotline_server::taxii::TaxiiConfig,
    ) -> Result<OpenLog> {
        dir.ensure_initialised()?;
        let store = dir.store()?;
        let lock = match store {
            Store::Sqlite(_) => Some(dir.lock()?),
            Store::Postgres(_) => None,
        };
        let witnessing = witnessing::load_from_dir(dir.path())
            .context("reading the witness policy")?
            .map(Arc::new);
        let signer = dir.log_signer()?;
        let log_key = signer.verifier();
        // The writer first: opening it upgrades an older database before readers look at it.
        let mut lease = None;
        let (writer, reader): (Box<dyn LogWriter>, Arc<dyn LogReader>) = match &store {
            Store::Sqlite(db) => {
                let writer = SqliteWriter::open(db)?;
                (Box::new(writer), Arc::new(SqliteReader::open(db)?))
            }
            // Only this process writes while it holds the lease; its commits are fenced by it.
            Store::Postgres(url) => {
                postgres::upgrade(url)?;
                let held = ExclusiveLease::acquire(
                    url,
                    &frontend_name(),
                    Duration::from_millis(DEFAULT_LEASE_MS),
                )
                .with_context(|| {
                    format!("taking the sequencer lease of {}", postgres::target_of(url))
                })?;
                let writer = PgWriter::open_fenced(url, held.epoch())?;
                lease = Some(held);
                (Box::new(writer), Arc::new(PgReader::open(url)?))
            }
        };
        let view = Arc::new(LogView::new(reader)?);
        let sequencer = sequencer::start(writer, view.clone(), signer, config)
            .with_context(|| format!("starting the log in {}", dir.path().display()))?;
        if let Some(l) = lease.as_mut() {
            l.keep_renewing(sequencer.clone(), Duration::from_millis(DEFAULT_LEASE_MS))
                .context("starting the lease renewal thread")?;
        }
        // The last cosigned checkpoint, checked again, so `/log/checkpoint` serves it at once.
        if let Some(w) = &witnessing {
            match w.restore(&log_key, &view) {
                Ok(Some(size)) => tracing::info!(size, "restored the cosigned checkpoint"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "ignoring the persisted cosigned checkpoint"),
            }
        }
        let service = if dir.is_hotline() {
            let operator = dir.operator_keys()?;
            let policy = match view.reader().meta(POLICY_META)? {
                Some(p) => p.parse::<DeadlinePolicy>().map_err(|e| {
                    anyhow::anyhow!("the deadline policy stored in the database is invalid: {e}")
                })?,
                None => DeadlinePolicy::default(),
            };
            let config = ServiceConfig {
                policy,
                taxii,
                ..ServiceConfig::default()
            };
            announce_replay(view.snapshot().size());
            let service =
                HotlineService::open(sequencer.clone(), operator.signer().clone(), config)
                    .map_err(|e| {
                        anyhow::anyhow!("opening the hotline in {}: {e}", dir.path().display())
                    })?;
            let service = match &witnessing {
                Some(w) => service.with_witnessing(w.clone()),
                None => service,
            };
            // Webhook registrations, progress and delivery log live beside the log.
            let service = service.with_webhooks(open_webhooks(dir, &store)?);
            Some(Arc::new(service))
        } else {
            None
        };
        Ok(OpenLog {
            sequencer,
            service,
            witnessing,
            _lock: lock,
            _lease: lease,
        })
    }

    /// The read view.
    pub fn view(&self) -> &Arc<LogView> {
        self.sequencer.view()
    }
}

/// The webhooks of the hotline in `dir`, kept in its store (the SQLite file or the
/// PostgreSQL database), after importing once what an older build kept in files of the
/// directory.
pub fn open_webhooks(
    dir: &DataDir,
    store: &Store,
) -> Result<Arc<hotline_server::webhooks::Webhooks>> {
    let kept: Arc<dyn hotline_store::webhooks::WebhookStore> = match store {
        Store::Sqlite(db) => Arc::new(hotline_store::sqlite::SqliteWebhooks::open(db)?),
        Store::Postgres(url) => Arc::new(postgres::PgWebhooks::open(url)?),
    };
    let webhooks = hotline_server::webhooks::Webhooks::open(
        kept,
        hotline_server::webhooks::RetryPolicy::default(),
    )
    .map_err(|e| anyhow::anyhow!("opening the webhooks: {e}"))?;
    match webhooks.import_files(dir.path(), true) {
        Ok(None) => {}
        Ok(Some(i)) => {
            let file = dir.path().join(hotline_server::webhooks::LEGACY_FILE);
            if i.fresh {
                eprintln!(
                    "imported {} webhook registrations and {} delivery attempts from {} into \
                     the database; the files are renamed *.imported (they hold the secrets: \
                     delete them once you have checked the webhooks)",
                    i.hooks,
                    i.deliveries,
                    file.display()
                );
            } else {
                eprintln!(
                    "{} had already been imported into the database; renamed it *.imported",
                    file.display()
                );
            }
        }
        Err(e) => anyhow::bail!("importing the webhooks of {}: {e}", dir.path().display()),
    }
    Ok(Arc::new(webhooks))
}

/// Serves the log until `shutdown` resolves, then lets the sequencer finish its queue.
pub async fn serve(
    log: OpenLog,
    listen: SocketAddr,
    on_ready: impl FnOnce(SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let state = Arc::new(AppState {
        view: log.view().clone(),
        sequencer: Some(log.sequencer.clone()),
        service: log.service.clone(),
        witnessing: log.witnessing.clone(),
    });
    // Ask the witnesses to cosign each new checkpoint (reads snapshots only).
    let witnesser = log
        .witnessing
        .clone()
        .map(|w| witnessing::spawn(w, log.view().clone()));
    // Webhook notifications: this process sequences, so it sends them.
    let notifier = log.service.clone().and_then(|service| {
        let hooks = service.webhooks().ok()?.clone();
        Some(hotline_server::webhooks::spawn(hooks, service))
    });
    // The operator's clock: record missed deadlines as they pass.
    let ticker = log.service.clone().map(|service| {
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                match service.record_overdues().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(recorded = n, "deadlines passed: overdue recorded"),
                    Err(e) => tracing::warn!(error = %e, "could not record overdue statements"),
                }
            }
        })
    });
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    on_ready(addr);
    axum::serve(listener, hotline_server::router(state))
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    // Stopped tasks are awaited, so that nothing they hold is dropped later on a runtime
    // thread: the last handle on a PostgreSQL connection must go outside the runtime (the
    // blocking client's drop refuses to run inside one).
    for t in [ticker, witnesser, notifier].into_iter().flatten() {
        t.abort();
        let _ = t.await;
    }
    let OpenLog {
        sequencer,
        service,
        witnessing,
        _lock,
        _lease,
    } = log;
    tokio::task::spawn_blocking(move || {
        sequencer.shutdown();
        drop((service, witnessing, _lease));
    })
    .await?;
    Ok(())
}

/// Options of a frontend on a shared PostgreSQL database (`hotline serve`).
#[derive(clap::Args, Clone, Debug)]
pub struct FrontendArgs {
    /// The URL the other frontends reach this one at, to forward writes while it sequences
    /// (default: http://LISTEN, when LISTEN is not a wildcard address). PostgreSQL only.
    #[arg(long)]
    pub advertise: Option<String>,
    /// How long the sequencer lease lasts without renewal, in milliseconds: a frontend cut
    /// off from the database stops taking statements, and a standby takes over, within it (a
    /// frontend that died is replaced at once). PostgreSQL only.
    #[arg(long, default_value_t = DEFAULT_LEASE_MS)]
    pub lease_ms: u64,
    /// How often a frontend that does not sequence looks for new statements and for a free
    /// lease, in milliseconds. PostgreSQL only.
    #[arg(long, default_value_t = 50)]
    pub poll_ms: u64,
    /// How long a frontend waits for a sequencer to take a forwarded write (while the lease
    /// changes hands), in milliseconds. PostgreSQL only.
    #[arg(long, default_value_t = 15_000)]
    pub forward_patience_ms: u64,
}

/// A frontend of a hotline on PostgreSQL, following the log, ready to serve.
pub struct OpenFrontend {
    frontend: Frontend,
    service: Arc<HotlineService>,
    view: Arc<LogView>,
    witnessing: Option<Arc<Witnessing>>,
    listener: std::net::TcpListener,
    patience: Duration,
}

impl OpenFrontend {
    /// The log view (followed, or published by its sequencer).
    pub fn view(&self) -> &Arc<LogView> {
        &self.view
    }

    /// The frontend's status.
    pub fn status(&self) -> &Arc<FrontendStatus> {
        self.frontend.status()
    }
}

/// Opens a frontend of the hotline in `dir` whose log is at `url`: checks the stored log as a
/// sequencer's recovery does, replays it into the service, and starts following it (and
/// contending for the sequencer lease). `listener` is where it will serve.
pub fn open_frontend(
    dir: &DataDir,
    url: &str,
    listener: std::net::TcpListener,
    args: &FrontendArgs,
    config: SequencerConfig,
    taxii: hotline_server::taxii::TaxiiConfig,
) -> Result<OpenFrontend> {
    let addr = listener.local_addr()?;
    let advertise = match &args.advertise {
        Some(a) => {
            let valid = a
                .parse::<axum::http::Uri>()
                .is_ok_and(|u| u.scheme_str() == Some("http") && u.host().is_some());
            if !valid {
                anyhow::bail!(
                    "--advertise {a:?} is not an http://HOST:PORT URL (the frontends forward \
                     writes to each other over plain HTTP)"
                );
            }
            a.trim_end_matches('/').to_owned()
        }
        None if addr.ip().is_unspecified() => anyhow::bail!(
            "listening on {addr}: give --advertise http://HOST:PORT, the address the other              frontends reach this one at"
        ),
        None => format!("http://{addr}"),
    };
    if args.lease_ms < 300 || args.poll_ms == 0 || args.poll_ms * 3 > args.lease_ms {
        anyhow::bail!(
            "--lease-ms must be at least 300 and at least three times --poll-ms (at least 1)"
        );
    }
    postgres::upgrade(url)?;
    let witnessing = witnessing::load_from_dir(dir.path())
        .context("reading the witness policy")?
        .map(Arc::new);
    let signer = dir.log_signer()?;
    let view = Arc::new(LogView::new(Arc::new(PgReader::open(url)?))?);
    let follower = LogFollower::start(view.clone(), signer.verifier())
        .with_context(|| format!("checking the log at {}", postgres::target_of(url)))?;
    if let Some(w) = &witnessing {
        match w.restore(&signer.verifier(), &view) {
            Ok(Some(size)) => tracing::info!(size, "restored the cosigned checkpoint"),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "ignoring the persisted cosigned checkpoint"),
        }
    }
    let policy = match view.reader().meta(POLICY_META)? {
        Some(p) => p.parse::<DeadlinePolicy>().map_err(|e| {
            anyhow::anyhow!("the deadline policy stored in the database is invalid: {e}")
        })?,
        None => DeadlinePolicy::default(),
    };
    let lease_ttl = Duration::from_millis(args.lease_ms);
    let name = frontend_name();
    let status = FrontendStatus::new(&name, &advertise, lease_ttl);
    let operator = dir.operator_keys()?;
    announce_replay(view.snapshot().size());
    let service = HotlineService::open_follower(
        view.clone(),
        signer.clone(),
        operator.signer().clone(),
        ServiceConfig {
            policy,
            taxii,
            ..ServiceConfig::default()
        },
    )
    .map_err(|e| anyhow::anyhow!("opening the hotline in {}: {e}", dir.path().display()))?
    .with_frontend(status.clone())
    // Registrations and deliveries in the database: the same on every frontend.
    .with_webhooks(open_webhooks(dir, &Store::Postgres(url.to_owned()))?);
    let service = Arc::new(match &witnessing {
        Some(w) => service.with_witnessing(w.clone()),
        None => service,
    });
    let frontend = Frontend::start(
        ClusterConfig {
            database_url: url.to_owned(),
            name,
            advertise,
            lease_ttl,
            poll: Duration::from_millis(args.poll_ms),
            sequencer: config,
        },
        follower,
        service.clone(),
        signer,
        status,
    )
    .context("starting the frontend's coordinator thread")?;
    // Announce the frontend once it knows its part (sequencing, or following a sequencer it
    // knows), so that what follows its "serving" line finds it ready.
    if !frontend
        .status()
        .wait_settled(lease_ttl + Duration::from_secs(5))
    {
        tracing::warn!("no frontend sequences the log yet; serving anyway");
    }
    Ok(OpenFrontend {
        frontend,
        service,
        view,
        witnessing,
        listener,
        patience: Duration::from_millis(args.forward_patience_ms),
    })
}

/// Serves a frontend until `shutdown` resolves; a sequencing frontend then commits what is
/// queued and releases the lease, so a standby takes over at once.
pub async fn serve_frontend(
    open: OpenFrontend,
    on_ready: impl FnOnce(std::net::SocketAddr),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let OpenFrontend {
        frontend,
        service,
        view,
        witnessing,
        listener,
        patience,
    } = open;
    let state = Arc::new(AppState {
        view: view.clone(),
        sequencer: None,
        service: Some(service.clone()),
        witnessing: witnessing.clone(),
    });
    let forwarder =
        hotline_server::forward::Forwarder::new(frontend.status().clone(), view.clone(), patience)
            .context("building the forwarding HTTP client")?;
    let app = hotline_server::router(state).layer(axum::middleware::from_fn_with_state(
        forwarder,
        hotline_server::forward::layer,
    ));
    let witnesser = witnessing.map(|w| witnessing::spawn(w, view.clone()));
    // Every frontend runs the notifier; only the one sequencing sends anything, resuming
    // from the progress its predecessor stored.
    let notifier = service
        .webhooks()
        .ok()
        .map(|hooks| hotline_server::webhooks::spawn(hooks.clone(), service.clone()));
    // Every frontend ticks; only the one sequencing records anything.
    let ticker = {
        let service = service.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                match service.record_overdues().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(recorded = n, "deadlines passed: overdue recorded"),
                    Err(e) => tracing::warn!(error = %e, "could not record overdue statements"),
                }
            }
        })
    };
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    on_ready(listener.local_addr()?);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
    // As in `serve`: the last handles on PostgreSQL connections go outside the runtime.
    for t in std::iter::once(ticker).chain(witnesser).chain(notifier) {
        t.abort();
        let _ = t.await;
    }
    tokio::task::spawn_blocking(move || {
        frontend.shutdown();
        drop((service, view));
    })
    .await?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
