//! `hotline`: the command-line tool of the hotline transparency channel.

mod bench;
mod datadir;
mod quickstart;
mod serve;
mod verify;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};

use crate::datadir::DataDir;
use crate::serve::{BatchArgs, OpenLog};

/// hotline: incident notices and requests for help between CERTs and police contact points,
/// every step a signed statement in a public transparency log.
#[derive(Parser, Debug)]
#[command(name = "hotline", version, about, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a data directory: the log database and the log's signing key.
    Init {
        /// Data directory to create.
        #[arg(long)]
        dir: PathBuf,
        /// The log's origin (checkpoint first line and key name), e.g. hotline.example.org/log.
        #[arg(long, default_value = "hotline.localhost/log")]
        origin: String,
    },
    /// Serve a data directory over HTTP: the log under /log/.
    Serve {
        /// Data directory created by `hotline init`.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        batch: BatchArgs,
    },
    /// Work with a transparency log served by hotline.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Measure hotline's speed.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Run a demonstration hotline in ./hotline-demo: fill a log, verify it, serve it.
    Quickstart(quickstart::QuickstartArgs),
}

#[derive(Subcommand, Debug)]
enum LogCommand {
    /// Download a log and verify all of it: checkpoint signature, every entry bundle against
    /// the level-0 tiles, every tile and the root recomputed from the entries.
    Verify {
        /// Server URL (e.g. http://127.0.0.1:8080) or log prefix (…/log).
        #[arg(long)]
        url: String,
        /// The log's verifier key, or a file holding it (e.g. DIR/log.vkey).
        #[arg(long)]
        vkey: String,
        /// File keeping the last verified checkpoint: the new one must extend it, and then
        /// replaces it.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Print the result as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Append synthetic entries through the real sequencer and store.
    Log(bench::BenchLogArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOTLINE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let json = matches!(
        &cli.command,
        Command::Log {
            command: LogCommand::Verify { json: true, .. }
        } | Command::Bench {
            command: BenchCommand::Log(bench::BenchLogArgs { json: true, .. })
        }
    );
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                let msg = format!("{e:#}");
                println!("{}", serde_json::json!({ "ok": false, "error": msg }));
            } else {
                eprintln!("hotline: error: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init { dir, origin } => {
            let d = DataDir::new(&dir);
            let signer = d.init(&origin)?;
            println!("created hotline in {}", dir.display());
            println!("log origin:       {origin}");
            println!("log verifier key: {}", signer.verifier().to_vkey());
            println!(
                "(also in {}; the signing key is {}, readable only by you)",
                dir.join(datadir::LOG_VKEY).display(),
                dir.join(datadir::LOG_KEY).display()
            );
            Ok(())
        }
        Command::Serve { dir, listen, batch } => {
            let log = OpenLog::open(&DataDir::new(&dir), batch.config())?;
            let snap = log.view().snapshot();
            let origin = log.view().reader().origin().to_owned();
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(serve::serve(
                log,
                listen,
                |addr| {
                    println!(
                        "serving log {origin} (size {}) on http://{addr}/log/ — Ctrl-C to stop",
                        snap.size()
                    );
                },
                serve::shutdown_signal(),
            ))
        }
        Command::Log {
            command:
                LogCommand::Verify {
                    url,
                    vkey,
                    state,
                    json,
                },
        } => {
            let vkey = verify::load_vkey(&vkey)?;
            let report = verify::verify_log(&url, &vkey, state.as_ref(), !json)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "verified log {} at size {}: root {}",
                    report.origin, report.size, report.root
                );
                println!(
                    "  {} entries hashed, {} tiles recomputed and compared, {} requests, {} bytes, {:.2} s",
                    report.entries_checked,
                    report.tiles_checked,
                    report.requests,
                    report.bytes,
                    report.seconds
                );
                if let Some(c) = &report.consistent_with {
                    println!(
                        "  extends the checkpoint seen before (size {}, root {})",
                        c.size, c.root
                    );
                }
            }
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Log(args),
        } if args.runs > 1 => {
            let report = bench::bench_log_compare(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                bench::print_compare(&report);
            }
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Log(args),
        } => {
            let report = bench::bench_log(&args)?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                bench::print_report(&report);
            }
            Ok(())
        }
        Command::Quickstart(args) => quickstart::run(&args),
    }
}
