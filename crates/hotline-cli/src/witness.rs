//! `hotline witness keygen|serve`: a c2sp.org/tlog-witness for hotline logs (and any other
//! signed-note log), with its own key and its own SQLite state (crate `hotline-witness`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context as _, Result, bail};
use hotline_tlog::cosignature::CosignerV1;
use hotline_witness::{Store, Witness, WitnessConfig};

/// Writes a new cosignature/v1 key for witness `name` to `out` (mode 0600) and returns the
/// witness's verifier key (what logs and auditors configure).
pub fn keygen(name: &str, out: &Path) -> Result<String> {
    if out.exists() {
        bail!(
            "{} exists; refusing to overwrite a witness key (its cosignatures would no longer \
             verify under the old verifier key)",
            out.display()
        );
    }
    let cosigner = CosignerV1::generate(name)
        .with_context(|| format!("{name:?} is not a valid witness name"))?;
    hotline_crypto::write_secret(out, &cosigner.to_skey())
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(cosigner.verifier().to_vkey())
}

/// The witness described by the configuration file `config`, ready to serve.
pub fn open(config: &Path) -> Result<Witness> {
    let cfg = WitnessConfig::load(config)
        .with_context(|| format!("reading the witness configuration {}", config.display()))?;
    let cosigner = cfg
        .load_cosigner()
        .with_context(|| format!("loading the witness key named in {}", config.display()))?;
    let logs = cfg
        .known_logs()
        .with_context(|| format!("reading the known logs of {}", config.display()))?;
    let store = Store::open(&cfg.database)
        .with_context(|| format!("opening {}", cfg.database.display()))?;
    Ok(Witness::new(cosigner, logs, store))
}

/// Serves `POST /add-checkpoint` (and the monitoring checkpoint) on `listen` until Ctrl-C.
pub fn serve(config: &Path, listen: SocketAddr) -> Result<()> {
    let witness = Arc::new(open(config)?);
    let vkey = witness.cosigner().verifier().to_vkey();
    let logs = witness.logs().len();
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let addr = listener.local_addr()?;
        println!(
            "witness {vkey} for {logs} log(s) on http://{addr}/add-checkpoint — Ctrl-C to stop"
        );
        axum::serve(listener, hotline_witness::router(witness))
            .with_graceful_shutdown(crate::serve::shutdown_signal())
            .await
            .context("serving")
    })
}
