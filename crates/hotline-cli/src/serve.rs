//! `hotline serve`: the sequencer and the HTTP server over one data directory (its log in
//! `hotline.db` or in the PostgreSQL database the directory records).

use std::fs::File;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use hotline_server::AppState;
use hotline_server::witnessing::{self, Witnessing};
use hotline_store::postgres::{PgReader, PgWriter};
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

/// An open log with its sequencer running; holds the directory lock.
pub struct OpenLog {
    /// The running sequencer.
    pub sequencer: SequencerHandle,
    /// The hotline service, if the directory holds a hotline (not a bare log).
    pub service: Option<Arc<HotlineService>>,
    /// Witness cosigning, if the directory has a `witnesses.toml`.
    pub witnessing: Option<Arc<Witnessing>>,
    _lock: File,
}

impl OpenLog {
    /// Locks the directory, checks the stored log and starts the sequencer.
    pub fn open(dir: &DataDir, config: SequencerConfig) -> Result<OpenLog> {
        Self::open_with(dir, config, hotline_server::taxii::TaxiiConfig::default())
    }

    /// As [`OpenLog::open`], with TAXII settings.
    pub fn open_with(
        dir: &DataDir,
        config: SequencerConfig,
        taxii: hotline_server::taxii::TaxiiConfig,
    ) -> Result<OpenLog> {
        let lock = dir.lock()?;
        let witnessing = witnessing::load_from_dir(dir.path())
            .context("reading the witness policy")?
            .map(Arc::new);
        let signer = dir.log_signer()?;
        let log_key = signer.verifier();
        // The writer first: opening it upgrades an older database before readers look at it.
        let (writer, reader): (Box<dyn LogWriter>, Arc<dyn LogReader>) = match dir.store()? {
            Store::Sqlite(db) => {
                let writer = SqliteWriter::open(&db)?;
                (Box::new(writer), Arc::new(SqliteReader::open(&db)?))
            }
            // Only this process writes: the directory's lock is held (one frontend; see
            // ARCHITECTURE.md for what several would need).
            Store::Postgres(url) => {
                let writer = PgWriter::open(&url)?;
                (Box::new(writer), Arc::new(PgReader::open(&url)?))
            }
        };
        let view = Arc::new(LogView::new(reader)?);
        let sequencer = sequencer::start(writer, view.clone(), signer, config)
            .with_context(|| format!("starting the log in {}", dir.path().display()))?;
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
            let service =
                HotlineService::open(sequencer.clone(), operator.signer().clone(), config)
                    .map_err(|e| {
                        anyhow::anyhow!("opening the hotline in {}: {e}", dir.path().display())
                    })?;
            let service = match &witnessing {
                Some(w) => service.with_witnessing(w.clone()),
                None => service,
            };
            // Webhook registrations and their delivery log live beside the keys.
            let webhooks = hotline_server::webhooks::Webhooks::open(
                dir.path(),
                hotline_server::webhooks::RetryPolicy::default(),
            )
            .map_err(|e| {
                anyhow::anyhow!("opening the webhooks in {}: {e}", dir.path().display())
            })?;
            let service = service.with_webhooks(Arc::new(webhooks));
            Some(Arc::new(service))
        } else {
            None
        };
        Ok(OpenLog {
            sequencer,
            service,
            witnessing,
            _lock: lock,
        })
    }

    /// The read view.
    pub fn view(&self) -> &Arc<LogView> {
        self.sequencer.view()
    }
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
    // Webhook notifications: only this process sequences, so only it sends them.
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
    if let Some(t) = ticker {
        t.abort();
    }
    if let Some(t) = witnesser {
        t.abort();
    }
    if let Some(t) = notifier {
        t.abort();
    }
    let OpenLog {
        sequencer,
        service,
        witnessing: _,
        _lock,
    } = log;
    drop(service);
    tokio::task::spawn_blocking(move || sequencer.shutdown()).await?;
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
