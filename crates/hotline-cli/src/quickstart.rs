//! `hotline quickstart`: the first command a new user runs. Until statements exist it creates
//! a log in ./hotline-demo, fills it with demonstration entries, verifies it over HTTP the way
//! an auditor would, and serves it until Ctrl-C.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::datadir::DataDir;
use crate::serve::{self, OpenLog};
use crate::verify;

/// Options of `hotline quickstart`.
#[derive(clap::Args, Debug)]
pub struct QuickstartArgs {
    /// Where the demonstration hotline lives.
    #[arg(long, default_value = "hotline-demo")]
    pub dir: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Demonstration entries to add.
    #[arg(long, default_value_t = 100_000)]
    pub entries: u64,
    /// Stop after verifying instead of serving until Ctrl-C.
    #[arg(long)]
    pub no_serve: bool,
}

/// Runs the quickstart.
pub fn run(args: &QuickstartArgs) -> Result<()> {
    let dir = DataDir::new(&args.dir);
    if dir.is_initialised() {
        println!("using the existing demo hotline in {}", args.dir.display());
    } else {
        dir.init("hotline-demo.localhost/log")?;
        println!("created a demo hotline in {}", args.dir.display());
    }
    let log = OpenLog::open(
        &dir,
        serve::BatchArgs {
            batch_size: 4096,
            batch_age_ms: 50,
        }
        .config(),
    )?;
    let start = log.view().snapshot().size();
    let bar = ProgressBar::new(args.entries).with_style(
        ProgressStyle::with_template(
            "{spinner} appending {pos}/{len} entries [{bar:30}] {per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut last = None;
    for i in 0..args.entries {
        let entry = format!(
            "hotline demo entry {}\nnot a statement: a placeholder until parties and cases exist\n",
            start + i
        );
        last = Some(log.sequencer.submit(entry.into_bytes())?);
        if i % 1024 == 0 {
            bar.set_position(i);
        }
    }
    if let Some(p) = last {
        p.wait()?;
    }
    bar.finish_and_clear();
    let snap = log.view().snapshot();
    println!(
        "log {} now holds {} entries",
        log.view().reader().origin(),
        snap.size()
    );
    let vkey = verify::load_vkey(
        &args
            .dir
            .join(crate::datadir::LOG_VKEY)
            .display()
            .to_string(),
    )?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let no_serve = args.no_serve;
    let listen = args.listen;
    let server = std::thread::spawn(move || {
        rt.block_on(serve::serve(
            log,
            listen,
            move |addr| {
                let _ = ready_tx.send(addr);
            },
            async move {
                tokio::select! {
                    () = serve::shutdown_signal() => {},
                    _ = stop_rx => {},
                }
            },
        ))
    });
    let addr = match ready_rx.recv() {
        Ok(a) => a,
        Err(_) => {
            return server
                .join()
                .map_err(|_| anyhow::anyhow!("the server thread panicked"))?
                .and_then(|()| Err(anyhow::anyhow!("the server stopped before it was ready")));
        }
    };
    let url = format!("http://{addr}");
    println!("verifying the whole log over HTTP as an auditor would…");
    let report = verify::verify_log(&url, &vkey, None, true)?;
    println!(
        "verified: {} entries hashed, {} tiles recomputed, root {}",
        report.entries_checked, report.tiles_checked, report.root
    );
    println!();
    println!("serving on {url}/log/");
    println!("  checkpoint:   curl {url}/log/checkpoint");
    println!(
        "  verify again: hotline log verify --url {url} --vkey {}",
        args.dir.join(crate::datadir::LOG_VKEY).display()
    );
    if no_serve {
        let _ = stop_tx.send(());
    } else {
        println!("Ctrl-C to stop");
    }
    server
        .join()
        .map_err(|_| anyhow::anyhow!("the server thread panicked"))?
}
