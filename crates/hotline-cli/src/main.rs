//! `hotline`: the command-line tool of the hotline transparency channel.

/// mimalloc rather than the system allocator: an audit's and a server's replay parse statements
/// on every core and free them on the applying thread: glibc's malloc took ~9 % of an audit's
/// profile samples, mimalloc ~4 % (BENCHMARKS.md, "Audit").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod admin;
mod audit;
mod bench;
mod bench_audit;
mod bench_frontends;
mod bench_inbox;
mod bench_submit;
mod bench_witness;
mod client;
mod config;
mod datadir;
mod fsck;
mod logsync;
mod migrate;
mod officer;
mod output;
mod package;
mod prove;
mod quickstart;
mod scitt;
mod serve;
mod share;
mod verify;
mod witness;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use clap::{Parser, Subcommand};
use hotline_core::vocab::Kind;

use crate::datadir::DataDir;
use crate::serve::{BatchArgs, OpenLog};

/// hotline: incident notices and requests for help between CERTs and police contact points,
/// every step a signed statement in a public transparency log.
#[derive(Parser, Debug)]
#[command(name = "hotline", version, about, max_term_width = 100)]
struct Cli {
    /// The officer's configuration file (default: $HOTLINE_CONFIG, else
    /// ~/.config/hotline/config.toml).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Print results as JSON (read commands and most others).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create a hotline: log key, operator keys, database, the operator's registration and
    /// API token (DIR/operator.token).
    Init {
        /// Data directory to create.
        #[arg(long)]
        dir: PathBuf,
        /// The log's origin (checkpoint first line and key name), e.g. hotline.example.org/log.
        #[arg(long, default_value = "hotline.localhost/log")]
        origin: String,
        /// Create a bare transparency log without parties or cases (for benchmarks).
        #[arg(long)]
        log_only: bool,
        /// Keep the log in this PostgreSQL database (postgres://…; the tables go to the first
        /// schema of its search_path) instead of DIR/hotline.db. Keys stay in DIR, which
        /// records the URL in DIR/database.url (mode 0600).
        #[arg(long)]
        database: Option<String>,
        #[command(flatten)]
        operator: admin::OperatorArgs,
    },
    /// Serve a data directory over HTTP: the API under /api/v1/ and the log under /log/.
    ///
    /// A hotline whose log is in PostgreSQL (`init --database`) runs as one of any number of
    /// frontends, each started from a copy of DIR on its own machine (or port): exactly one
    /// sequences at a time, the others follow the log and forward writes to it, and when it
    /// dies another takes over.
    Serve {
        /// Data directory created by `hotline init`.
        #[arg(long)]
        dir: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// The PostgreSQL database holding the log (default: the one DIR/database.url records,
        /// which it must match).
        #[arg(long)]
        database: Option<String>,
        #[command(flatten)]
        batch: BatchArgs,
        /// The largest TAXII POST body accepted, bytes (the API root's max_content_length).
        #[arg(long, default_value_t = 10 * 1024 * 1024)]
        taxii_max_content_length: usize,
        #[command(flatten)]
        frontend: serve::FrontendArgs,
    },
    /// Make an officer's keys: an Ed25519 signing key and an age identity (file mode 0600),
    /// and print the public halves.
    Keygen {
        /// The party id, e.g. us-cisa.
        #[arg(long)]
        party: String,
        /// Key file to create (its public file is written next to it, with extension .pub).
        #[arg(long)]
        out: PathBuf,
    },
    /// Manage the officer's configuration file.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// The party directory: registration requests (officers), registration, rotation and
    /// revocation (operator).
    Party {
        #[command(subcommand)]
        command: PartyCommand,
    },
    /// Send a notice or a request, opening a case.
    Send(officer::SendArgs),
    /// Publish STIX 2.1 objects (TLP:CLEAR or TLP:GREEN) to one of the hotline's TAXII 2.1
    /// collections, with a `shared` statement signed by your key.
    Share(share::ShareArgs),
    /// Your cases, those waiting on you and nearest their deadline first.
    Inbox,
    /// A case's timeline, each statement with its log index and proof status.
    Show {
        /// Case id.
        case: String,
    },
    /// Fetch, verify and save the receipt of every statement of a case (yours, the other
    /// side's, the operator's); with --cosigned, receipts against a checkpoint the log's
    /// witnesses cosigned (waiting for one that covers the case).
    Receipts {
        /// Case id.
        case: String,
        /// Prove against the latest checkpoint cosigned by the log's witnesses.
        #[arg(long)]
        cosigned: bool,
        /// With --cosigned: how long to wait for the witnesses, in seconds.
        #[arg(long, default_value_t = 30, requires = "cosigned")]
        wait: u64,
        /// With --cosigned: a witness policy (TOML: `required = k` and `[[witness]]` tables
        /// with `name` and `vkey`) the cosignatures must satisfy.
        #[arg(long, requires = "cosigned")]
        witness_policy: Option<PathBuf>,
    },
    /// Download, decrypt and check every payload of a case you may read.
    Fetch {
        /// Case id.
        case: String,
        /// Also write each decrypted document to this directory.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Acknowledge a request or notice (downloads it first).
    Ack(FollowUp),
    /// Add information to a case.
    Update(FollowUp),
    /// Ask the requester for more information.
    NeedInfo(FollowUp),
    /// Answer a request: findings and actions taken.
    Answer(FollowUp),
    /// Decline a request, with a reason.
    Decline {
        #[command(flatten)]
        follow: FollowUp,
        /// not-competent, insufficient-information, legal-obstacle, no-dual-criminality,
        /// resources, duplicate or other.
        #[arg(long)]
        reason: String,
    },
    /// Close a case you opened.
    Close(FollowUp),
    /// Withdraw a case you opened.
    Withdraw(FollowUp),
    /// Verify a receipt offline against the log's verifier key.
    Verify {
        /// Receipt file (.tlog-proof, as saved by send and the follow-up commands).
        receipt: PathBuf,
        /// The log's verifier key, or a file holding it.
        #[arg(long)]
        vkey: String,
        /// The author's verifier key, to check the statement's signature too.
        #[arg(long)]
        party_key: Option<String>,
        /// A witness policy (the TOML of `DIR/witnesses.toml`, `url` optional): the receipt's
        /// checkpoint must carry cosignatures by `required` of its witnesses.
        #[arg(long)]
        witness_policy: Option<PathBuf>,
    },
    /// Work with a transparency log served by hotline.
    Log {
        #[command(subcommand)]
        command: LogCommand,
    },
    /// Audit a hotline: verify its whole log, replay every statement against the directory
    /// and lifecycle rules, and count cases per requester → responder and month.
    Audit(audit::AuditArgs),
    /// Build an evidence package for one case: its statements and the directory statements
    /// establishing its keys, each with an inclusion proof against one signed checkpoint.
    Prove(prove::ProveArgs),
    /// Check an evidence package offline (written by `hotline prove`).
    VerifyPackage(package::VerifyPackageArgs),
    /// Measure hotline's speed.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Run a demonstration hotline in ./hotline-demo.
    Quickstart(quickstart::QuickstartArgs),
    /// Check a stored log (read-only, safe while a server runs): recompute every tile and the
    /// root from the entries, verify every checkpoint and payload row.
    Fsck(fsck::FsckArgs),
    /// Copy a whole log between a data directory and PostgreSQL (either way), then fsck the
    /// copy.
    Migrate(migrate::MigrateArgs),
    /// Work with STIX 2.1 evidence.
    Stix {
        #[command(subcommand)]
        command: StixCommand,
    },
    /// Run a witness (c2sp.org/tlog-witness): cosign checkpoints of the logs it knows, only
    /// if each is consistent with the last one it cosigned.
    Witness {
        #[command(subcommand)]
        command: WitnessCommand,
    },
}

#[derive(Subcommand, Debug)]
enum WitnessCommand {
    /// Make the witness's cosignature/v1 key (file mode 0600) and print its verifier key.
    Keygen {
        /// The witness's name, e.g. witness.example.org.
        #[arg(long)]
        name: String,
        /// Key file to create.
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve POST /add-checkpoint with the key, database and known logs of a configuration
    /// file (format: the hotline-witness crate's documentation).
    Serve {
        /// The witness's configuration (TOML).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: std::net::SocketAddr,
    },
}

#[derive(Subcommand, Debug)]
enum StixCommand {
    /// Validate a STIX 2.1 bundle: print each broken rule on its own line (object, property,
    /// rule) and exit non-zero if there is any.
    Validate {
        /// The bundle (a JSON file).
        file: PathBuf,
    },
}

#[derive(clap::Args, Debug)]
struct FollowUp {
    /// Case id.
    case: String,
    #[command(flatten)]
    content: officer::Content,
}

#[derive(Subcommand, Debug)]
enum ConfigCommand {
    /// Write a configuration file.
    Init {
        /// Server URL.
        #[arg(long)]
        server: String,
        /// Your party id.
        #[arg(long)]
        party: String,
        /// Your key file.
        #[arg(long)]
        key: PathBuf,
        /// File holding your API token (mode 0600).
        #[arg(long)]
        token: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum PartyCommand {
    /// (Officer) Prepare your party's registration, signed with your key, for the operator.
    Request(admin::RequestArgs),
    /// (Officer) Prepare a key rotation, signed with the new key (and the old one if you
    /// still have it), for the operator.
    Rotation {
        /// The new key file.
        #[arg(long)]
        new_key: PathBuf,
        /// The old key file, if you still have it.
        #[arg(long)]
        old_key: Option<PathBuf>,
        /// The hotline's server (to learn its origin).
        #[arg(long)]
        server: Option<String>,
        /// The hotline's origin.
        #[arg(long)]
        origin: Option<String>,
        /// Where to write it (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// (Operator) Register a party from its signed registration request; prints its API token.
    Add {
        #[command(flatten)]
        op: OperatorAccess,
        /// The registration file from `hotline party request`.
        registration: PathBuf,
        /// Write the party's API token to this new file (mode 0600) instead of printing it.
        #[arg(long)]
        token_out: Option<PathBuf>,
    },
    /// The directory.
    List {
        /// Server URL.
        #[arg(long)]
        server: String,
    },
    /// (Operator) Record a key rotation prepared with `hotline party rotation`.
    Rotate {
        #[command(flatten)]
        op: OperatorAccess,
        /// The party.
        party: String,
        /// The rotation file.
        rotation: PathBuf,
    },
    /// (Operator) Revoke a party's keys and credentials.
    Revoke {
        #[command(flatten)]
        op: OperatorAccess,
        /// The party.
        party: String,
        /// compromised, retired or other.
        #[arg(long)]
        reason: String,
    },
}

#[derive(clap::Args, Debug)]
struct OperatorAccess {
    /// Server URL.
    #[arg(long)]
    server: String,
    /// The operator's API token file (DIR/operator.token).
    #[arg(long)]
    token_file: PathBuf,
}

impl OperatorAccess {
    fn client(&self) -> Result<client::ApiClient> {
        let token = hotline_crypto::read_secret(&self.token_file)
            .with_context(|| format!("reading {}", self.token_file.display()))?;
        client::ApiClient::new(&self.server, Some(token.to_string()))
    }
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
        /// Witness policy (TOML: `required = k` and `[[witness]]` tables with `name` and
        /// `vkey`): the checkpoint must carry at least k valid cosignatures by distinct listed
        /// witnesses.
        #[arg(long)]
        witness_policy: Option<PathBuf>,
        /// On ROLLBACK or FORK (the log no longer extends the checkpoint in --state), write
        /// both signed checkpoints to this file as proof: the line `hotline equivocation
        /// evidence v1`, a blank line, the stored checkpoint note, a blank line, the log's
        /// current checkpoint note.
        #[arg(long)]
        evidence_out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum BenchCommand {
    /// Append synthetic entries through the real sequencer and store.
    Log(bench::BenchLogArgs),
    /// Send signed, encrypted statements over HTTP from many clients to a hotline.
    Submit(bench_submit::BenchSubmitArgs),
    /// Audit a large synthetic log (created once in --dir): statements verified per second.
    Audit(bench_audit::BenchAuditArgs),
    /// Time from submission until a receipt can carry the witnesses' cosignatures.
    Witness(bench_witness::BenchWitnessArgs),
    /// Time the officer console's inbox page with many cases (server and, with --browser,
    /// chromium).
    Inbox(bench_inbox::BenchInboxArgs),
    /// The same statements to a hotline on SQLite, on PostgreSQL with one frontend and on
    /// PostgreSQL with several frontends, alternated in one invocation.
    Frontends(bench_frontends::BenchFrontendsArgs),
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
    let json = cli.json;
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
    let json = cli.json;
    let cfg = cli.config.as_deref();
    match cli.command {
        Command::Init {
            dir,
            origin,
            log_only,
            database,
            operator,
        } => {
            let d = DataDir::new(&dir).with_database(database);
            if log_only {
                let signer = d.init(&origin)?;
                output::init(json, &dir, &origin, &signer.verifier().to_vkey(), None)
            } else {
                admin::init_hotline(&d, &origin, &operator)?;
                let vkey = std::fs::read_to_string(dir.join(datadir::LOG_VKEY))?;
                output::init(
                    json,
                    &dir,
                    &origin,
                    vkey.trim(),
                    Some(&dir.join(datadir::OPERATOR_TOKEN)),
                )
            }
        }
        Command::Serve {
            dir,
            listen,
            database,
            batch,
            taxii_max_content_length,
            frontend,
        } => {
            let d = DataDir::new(&dir).with_database(database);
            let taxii = hotline_server::taxii::TaxiiConfig {
                max_content_length: taxii_max_content_length,
                ..Default::default()
            };
            if let (true, datadir::Store::Postgres(url)) = (d.is_hotline(), d.store()?) {
                d.ensure_initialised()?;
                let listener = std::net::TcpListener::bind(listen)
                    .with_context(|| format!("listening on {listen}"))?;
                let open =
                    serve::open_frontend(&d, &url, listener, &frontend, batch.config(), taxii)?;
                let size = open.view().snapshot().size();
                let origin = open.view().reader().origin().to_owned();
                let status = open.status().clone();
                let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
                return rt.block_on(serve::serve_frontend(
                    open,
                    |addr| {
                        println!(
                            "serving hotline {origin} (size {size}) on http://{addr}/log/ — \
                             Ctrl-C to stop"
                        );
                        println!(
                            "frontend {} of the log in PostgreSQL at {}, advertised as {}",
                            status.name(),
                            hotline_store::postgres::target_of(&url),
                            status.advertise()
                        );
                    },
                    serve::shutdown_signal(),
                ));
            }
            let log = OpenLog::open_with(&d, batch.config(), taxii)?;
            let snap = log.view().snapshot();
            let origin = log.view().reader().origin().to_owned();
            let what = if log.service.is_some() {
                "hotline"
            } else {
                "log"
            };
            let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
            rt.block_on(serve::serve(
                log,
                listen,
                |addr| {
                    println!(
                        "serving {what} {origin} (size {}) on http://{addr}/log/ — Ctrl-C to stop",
                        snap.size()
                    );
                },
                serve::shutdown_signal(),
            ))
        }
        Command::Keygen { party, out } => {
            let (keys, public) = admin::keygen(&party, &out)?;
            output::keygen(json, &keys, &out, &public)
        }
        Command::Config {
            command:
                ConfigCommand::Init {
                    server,
                    party,
                    key,
                    token,
                },
        } => {
            let path = config::config_path(cfg);
            let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
            config::write(
                &path,
                &config::Config {
                    server,
                    party,
                    key: abs(key),
                    token: abs(token),
                    receipts: None,
                },
            )?;
            config::load(Some(&path))?;
            println!("wrote {}", path.display());
            Ok(())
        }
        Command::Party { command } => party(command, json),
        Command::Send(args) => {
            let o = officer::Officer::open(cfg)?;
            let r = o.send(&args)?;
            output::sent(json, &r)
        }
        Command::Share(args) => {
            let o = officer::Officer::open(cfg)?;
            let r = share::run(&o, &args)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!(
                    "shared {} object(s) ({}) to collection {}: statement {} at log index {}, TAXII status {}\nreceipt: {}",
                    r.objects,
                    r.tlp,
                    r.collection_id,
                    r.statement_id,
                    r.index,
                    r.status_id,
                    r.receipt_file.display()
                );
                for n in &r.notes {
                    println!("note: {n}");
                }
            }
            Ok(())
        }
        Command::Inbox => {
            let o = officer::Officer::open(cfg)?;
            output::inbox(json, &o.client.inbox()?)
        }
        Command::Show { case } => {
            let o = officer::Officer::open(cfg)?;
            output::show(json, &o, &case)
        }
        Command::Receipts {
            case,
            cosigned,
            wait,
            witness_policy,
        } => {
            let policy = verify::load_witness_policy(witness_policy.as_deref())?;
            let o = officer::Officer::open(cfg)?;
            let r = o.receipts(
                &case,
                cosigned,
                std::time::Duration::from_secs(wait),
                policy.as_ref(),
            )?;
            output::receipts(json, &case, cosigned, &r)
        }
        Command::Fetch { case, out } => {
            let o = officer::Officer::open(cfg)?;
            let docs = o.fetch(&case, out.as_deref())?;
            output::fetched(json, &case, &docs)
        }
        Command::Ack(f) => follow(cfg, json, &f, Kind::Acknowledged, None),
        Command::Update(f) => follow(cfg, json, &f, Kind::Update, None),
        Command::NeedInfo(f) => follow(cfg, json, &f, Kind::NeedInfo, None),
        Command::Answer(f) => follow(cfg, json, &f, Kind::Answer, None),
        Command::Decline { follow: f, reason } => {
            follow(cfg, json, &f, Kind::Declined, Some(&reason))
        }
        Command::Close(f) => follow(cfg, json, &f, Kind::Closed, None),
        Command::Withdraw(f) => follow(cfg, json, &f, Kind::Withdrawn, None),
        Command::Verify {
            receipt,
            vkey,
            party_key,
            witness_policy,
        } => {
            let log_key = verify::load_vkey(&vkey)?;
            let author = party_key.as_deref().map(verify::load_vkey).transpose()?;
            let policy = verify::load_witness_policy(witness_policy.as_deref())?;
            let v = officer::verify_receipt_with_policy(
                &receipt,
                &log_key,
                None,
                author.as_ref(),
                policy.as_ref(),
            )?;
            output::verified(json, &v)
        }
        Command::Log {
            command:
                LogCommand::Verify {
                    url,
                    vkey,
                    state,
                    witness_policy,
                    evidence_out,
                },
        } => {
            let vkey = verify::load_vkey(&vkey)?;
            let policy = verify::load_witness_policy(witness_policy.as_deref())?;
            let report = verify::verify_log(
                &url,
                &vkey,
                state.as_ref(),
                policy.as_ref(),
                evidence_out.as_deref(),
                !json,
            )?;
            output::log_verified(json, &report)
        }
        Command::Audit(args) => audit::run(&args, json),
        Command::Prove(args) => prove::run(&args, json),
        Command::VerifyPackage(args) => package::run(&args, json),
        Command::Bench {
            command: BenchCommand::Log(mut args),
        } => {
            args.json = json;
            if args.runs > 1 {
                let report = bench::bench_log_compare(&args)?;
                if args.json || json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    bench::print_compare(&report);
                }
            } else {
                let report = bench::bench_log(&args)?;
                if args.json || json {
                    println!("{}", serde_json::to_string_pretty(&report)?);
                } else {
                    bench::print_report(&report);
                }
            }
            Ok(())
        }
        Command::Bench {
            command: BenchCommand::Submit(mut args),
        } => {
            args.json = json;
            bench_submit::run_and_print(&args)
        }
        Command::Bench {
            command: BenchCommand::Audit(mut args),
        } => {
            args.json = json;
            bench_audit::run_and_print(&args)
        }
        Command::Bench {
            command: BenchCommand::Witness(mut args),
        } => {
            args.json = json;
            bench_witness::run_and_print(&args)
        }
        Command::Bench {
            command: BenchCommand::Inbox(mut args),
        } => {
            args.json = json;
            bench_inbox::run_and_print(&args)
        }
        Command::Bench {
            command: BenchCommand::Frontends(mut args),
        } => {
            args.json = json;
            bench_frontends::run_and_print(&args)
        }
        Command::Quickstart(args) => quickstart::run(&args),
        Command::Fsck(args) => fsck::run(&args, json),
        Command::Migrate(args) => migrate::run(&args, json),
        Command::Stix {
            command: StixCommand::Validate { file },
        } => stix_validate(&file, json),
        Command::Witness {
            command: WitnessCommand::Keygen { name, out },
        } => {
            let vkey = witness::keygen(&name, &out)?;
            if json {
                println!("{}", serde_json::json!({ "key_file": out, "vkey": vkey }));
            } else {
                println!("{vkey}");
                eprintln!(
                    "wrote the witness key to {} (mode 0600); give logs and auditors the line above",
                    out.display()
                );
            }
            Ok(())
        }
        Command::Witness {
            command: WitnessCommand::Serve { config, listen },
        } => witness::serve(&config, listen),
    }
}

/// `hotline stix validate`: every broken rule, one a line (or one JSON object a line); for a
/// valid bundle, a note for each value outside an open vocabulary (never an error).
fn stix_validate(file: &std::path::Path, json: bool) -> Result<()> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let errors = match hotline_stix::Bundle::parse(&bytes) {
        Ok(b) => {
            let notes = b.notes();
            if json {
                let tlp = b.tlp().map(|t| t.to_string());
                let notes: Vec<serde_json::Value> = notes
                    .iter()
                    .map(|n| {
                        serde_json::json!({
                            "object": n.subject.to_string(),
                            "path": n.path,
                            "value": n.value,
                            "vocabulary": n.vocabulary,
                            "note": n.to_string(),
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({
                        "ok": true,
                        "objects": b.objects.len(),
                        "tlp": tlp,
                        "notes": notes,
                    })
                );
            } else {
                let tlp = b
                    .tlp()
                    .map_or_else(|| "no TLP marking".to_owned(), |t| t.to_string());
                println!(
                    "{}: valid STIX 2.1, {} objects, {tlp}{}",
                    file.display(),
                    b.objects.len(),
                    match notes.len() {
                        0 => String::new(),
                        n => format!("; {n} note(s) on open-vocabulary values"),
                    }
                );
                for n in &notes {
                    println!("note: {n}");
                }
            }
            return Ok(());
        }
        Err(e) => e,
    };
    for e in errors.errors() {
        if json {
            println!(
                "{}",
                serde_json::json!({
                    "object": e.subject.to_string(),
                    "path": e.path,
                    "rule": e.rule.to_string(),
                })
            );
        } else {
            println!("{e}");
        }
    }
    Err(anyhow!(
        "{}: {} STIX error(s)",
        file.display(),
        errors.errors().len()
    ))
}

fn follow(
    cfg: Option<&std::path::Path>,
    json: bool,
    f: &FollowUp,
    kind: Kind,
    reason: Option<&str>,
) -> Result<()> {
    let o = officer::Officer::open(cfg)?;
    let r = o.follow_up(&f.case, kind, &f.content, reason)?;
    output::sent(json, &r)
}

fn write_or_print(out: Option<&PathBuf>, bytes: &[u8]) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, bytes).with_context(|| format!("writing {}", p.display())),
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(bytes)?;
            Ok(())
        }
    }
}

fn party(command: PartyCommand, json: bool) -> Result<()> {
    match command {
        PartyCommand::Request(args) => {
            let bytes = admin::party_request(&args)?;
            write_or_print(args.out.as_ref(), &bytes)
        }
        PartyCommand::Rotation {
            new_key,
            old_key,
            server,
            origin,
            out,
        } => {
            let bytes = admin::party_rotation(
                &new_key,
                old_key.as_deref(),
                server.as_deref(),
                origin.as_deref(),
            )?;
            write_or_print(out.as_ref(), &bytes)
        }
        PartyCommand::Add {
            op,
            registration,
            token_out,
        } => {
            let bytes = std::fs::read(&registration)
                .with_context(|| format!("reading {}", registration.display()))?;
            let r = op.client()?.register(&bytes)?;
            if let Some(path) = &token_out {
                hotline_crypto::write_secret(path, &r.token)?;
            }
            output::registered(json, &r, token_out.as_deref())
        }
        PartyCommand::List { server } => {
            let parties = client::ApiClient::new(&server, None)?.parties()?;
            output::parties(json, &parties)
        }
        PartyCommand::Rotate {
            op,
            party,
            rotation,
        } => {
            let bytes = std::fs::read(&rotation)
                .with_context(|| format!("reading {}", rotation.display()))?;
            let r = op.client()?.rotate(&party, &bytes)?;
            output::receipt(json, "key rotation recorded", &r)
        }
        PartyCommand::Revoke { op, party, reason } => {
            let r = op.client()?.revoke(&party, &reason)?;
            output::receipt(json, &format!("{party} revoked"), &r)
        }
    }
    .map_err(|e: anyhow::Error| anyhow!(e))
}
