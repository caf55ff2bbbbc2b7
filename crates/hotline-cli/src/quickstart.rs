//! `hotline quickstart`: the first command a new user runs. It creates a hotline in
//! ./hotline-demo on SQLite, registers the parties of the July 2021 REvil/Kaseya scenario, sends
//! the emergency request with its STIX evidence and walks it through delivered → acknowledged →
//! need-info → update → answer, lets a second request with a short demonstration deadline go
//! overdue, verifies every receipt, prints the timelines and keeps serving until Ctrl-C.
//!
//! Everything goes through the real server over HTTP, exactly as officers on different machines
//! would use it; only the keys of all parties happen to live in one directory.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail};
use hotline_core::vocab::Kind;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;

use crate::admin::{self, OperatorArgs, RequestArgs};
use crate::client::ApiClient;
use crate::config::{self, Config};
use crate::datadir::{self, DataDir};
use crate::officer::{Content, Officer, SendArgs};
use crate::serve::{self, OpenLog};

/// Options of `hotline quickstart`.
#[derive(clap::Args, Debug)]
pub struct QuickstartArgs {
    /// Where the demonstration hotline lives.
    #[arg(long, default_value = "hotline-demo")]
    pub dir: PathBuf,
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// A scenario directory (parties.json, evidence.json) instead of the built-in REvil/Kaseya
    /// one (scenario/kaseya-2021 in the repository).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Stop after the walk-through instead of serving until Ctrl-C.
    #[arg(long)]
    pub no_serve: bool,
}

/// The demo's routine deadlines: short, so that the second request goes overdue while you
/// watch. The other priorities keep the defaults (emergency: 1 h to acknowledge, 24 h to answer).
const DEMO_DEADLINES: &str = "routine=8s:20s";

#[derive(Deserialize)]
struct ScenarioParties {
    hotline: ScenarioHotline,
    parties: Vec<ScenarioParty>,
}

#[derive(Deserialize)]
struct ScenarioHotline {
    origin: String,
    operator: String,
}

#[derive(Deserialize)]
struct ScenarioParty {
    id: String,
    name: String,
    jurisdiction: String,
    kind: String,
    contact: String,
}

/// The built-in scenario, compiled into the binary so the quickstart runs anywhere.
const PARTIES_JSON: &str = include_str!("../../../scenario/kaseya-2021/parties.json");
const EVIDENCE_JSON: &str = include_str!("../../../scenario/kaseya-2021/evidence.json");

/// The scenario's parties and evidence, from `--scenario` or the built-in copy.
fn load_scenario(given: Option<&Path>, dir: &Path) -> Result<(ScenarioParties, PathBuf)> {
    let (parties, evidence) = match given {
        Some(d) => (
            std::fs::read_to_string(d.join("parties.json"))
                .with_context(|| format!("reading {}", d.join("parties.json").display()))?,
            d.join("evidence.json"),
        ),
        None => {
            // The evidence is sent as a file, as an officer would; keep a copy in the demo dir.
            std::fs::create_dir_all(dir)?;
            let e = dir.join("evidence.json");
            if !e.exists() {
                std::fs::write(&e, EVIDENCE_JSON)?;
            }
            (PARTIES_JSON.to_owned(), e)
        }
    };
    let scenario: ScenarioParties =
        serde_json::from_str(&parties).context("parsing the scenario's parties.json")?;
    Ok((scenario, evidence))
}

/// Runs the quickstart.
pub fn run(args: &QuickstartArgs) -> Result<()> {
    let dir = DataDir::new(&args.dir);
    let done_marker = args.dir.join(".quickstart-done");
    let fresh = !args.dir.join(datadir::OPERATOR_TOKEN).exists();
    if !fresh && !done_marker.exists() {
        bail!(
            "{} holds an unfinished demo (an earlier quickstart was interrupted); remove it and run again",
            args.dir.display()
        );
    }
    if fresh {
        if args.dir.exists() && std::fs::read_dir(&args.dir)?.next().is_some() && !dir.is_hotline()
        {
            bail!(
                "{} exists and is not a demo hotline; remove it or choose another --dir",
                args.dir.display()
            );
        }
        println!("creating a demo hotline in {}", args.dir.display());
    }
    let loaded = if fresh {
        Some(load_scenario(
            args.scenario.as_deref(),
            &args.dir.join("scenario"),
        )?)
    } else {
        None
    };
    if let Some((scenario, _)) = &loaded {
        admin::init_hotline(
            &dir,
            &scenario.hotline.origin,
            &OperatorArgs {
                name: scenario.hotline.operator.clone(),
                jurisdiction: "CH".into(),
                contact: "operator@geneva.example".into(),
                deadlines: Some(DEMO_DEADLINES.into()),
            },
        )?;
    } else {
        println!("using the existing demo hotline in {}", args.dir.display());
    }

    let log = OpenLog::open(&dir, hotline_store::sequencer::SequencerConfig::default())?;
    let rt = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
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
                .map_err(|_| anyhow!("the server thread panicked"))?
                .and_then(|()| Err(anyhow!("the server stopped before it was ready")));
        }
    };
    let url = format!("http://{addr}");
    let walked = match &loaded {
        Some((scenario, evidence)) => walk_through(&args.dir, &url, scenario, evidence)
            .and_then(|()| Ok(std::fs::write(&done_marker, b"")?)),
        None => Ok(()),
    };
    let shown = walked.and_then(|()| summarise(&args.dir, &url));
    if let Err(e) = shown {
        let _ = stop_tx.send(());
        let _ = server.join();
        return Err(e);
    }
    println!();
    println!("serving on {url}  (API {url}/api/v1/, log {url}/log/)");
    println!(
        "  as NKTsKI:     hotline --config {} inbox",
        args.dir.join("keys/ru-nkcki.toml").display()
    );
    println!(
        "  audit the log: hotline log verify --url {url} --vkey {}",
        args.dir.join(datadir::LOG_VKEY).display()
    );
    println!(
        "  web console:   {url}/  (officers: {url}/officer with {} and {})",
        args.dir.join("keys/ru-nkcki.key").display(),
        args.dir.join("keys/ru-nkcki.token").display()
    );
    if args.no_serve {
        let _ = stop_tx.send(());
    } else {
        println!("Ctrl-C to stop");
    }
    server
        .join()
        .map_err(|_| anyhow!("the server thread panicked"))?
}

fn party_config(dir: &Path, party: &str) -> PathBuf {
    dir.join("keys").join(format!("{party}.toml"))
}

fn step(bar: &ProgressBar, what: &str) {
    bar.set_message(what.to_owned());
    bar.inc(1);
}

fn walk_through(dir: &Path, url: &str, scenario: &ScenarioParties, evidence: &Path) -> Result<()> {
    let keys = std::fs::canonicalize(dir)?.join("keys");
    std::fs::create_dir_all(&keys)?;
    let operator = ApiClient::new(
        url,
        Some(hotline_crypto::read_secret(&dir.join(datadir::OPERATOR_TOKEN))?.to_string()),
    )?;
    let bar = ProgressBar::new(6 + scenario.parties.len() as u64 + 2).with_style(
        ProgressStyle::with_template("{spinner} [{pos}/{len}] {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    for p in &scenario.parties {
        let key = keys.join(format!("{}.key", p.id));
        admin::keygen(&p.id, &key)?;
        let reg = admin::party_request(&RequestArgs {
            key: key.clone(),
            server: Some(url.to_owned()),
            origin: None,
            name: p.name.clone(),
            jurisdiction: p.jurisdiction.clone(),
            kind: p.kind.clone(),
            contact: p.contact.clone(),
            out: None,
        })?;
        let registered = operator.register(&reg)?;
        let token = keys.join(format!("{}.token", p.id));
        hotline_crypto::write_secret(&token, &registered.token)?;
        config::write(
            &party_config(dir, &p.id),
            &Config {
                server: url.to_owned(),
                party: p.id.clone(),
                key,
                token,
                receipts: Some(keys.join("receipts").join(&p.id)),
            },
        )?;
        step(&bar, &format!("registered {} ({})", p.id, p.name));
    }
    let officer = |party: &str| Officer::open(Some(&party_config(dir, party)));
    let cisa = officer("us-cisa")?;
    let nkcki = officer("ru-nkcki")?;
    let sent = cisa.send(&SendArgs {
        to: "ru-nkcki".into(),
        request: Some("emergency".into()),
        justification: Some("imminent-risk-to-life".into()),
        priority: "emergency".into(),
        ack_within: None,
        answer_within: None,
        content: Content {
            title: Some("REvil / Kaseya VSA: identify and stop the operators".into()),
            message: Some(
                "REvil pushed ransomware to managed-service providers' customers through \
                 CVE-2021-30116 in Kaseya VSA. Hospitals and schools among the victims. The \
                 infrastructure in the attached evidence is hosted in your jurisdiction."
                    .into(),
            ),
            actions: vec![
                "Identify and stop the operators of the listed infrastructure".into(),
                "Preserve logs of the listed servers for 90 days".into(),
            ],
            evidence: Some(evidence.to_owned()),
            tlp: "amber".into(),
            handling: "H2".into(),
            ..Content::default()
        },
    })?;
    let case = sent.case.clone();
    step(
        &bar,
        &format!("us-cisa sent ru-nkcki an emergency request ({case})"),
    );
    let say = |m: &str| Content {
        message: Some(m.to_owned()),
        tlp: "amber".into(),
        handling: "H2".into(),
        ..Content::default()
    };
    nkcki.follow_up(
        &case,
        Kind::Acknowledged,
        &say("Received; a duty team is on it."),
        None,
    )?;
    step(&bar, "ru-nkcki downloaded it (delivered) and acknowledged");
    nkcki.follow_up(
        &case,
        Kind::NeedInfo,
        &say("Which hosting provider leases 203.0.113.57, and since when?"),
        None,
    )?;
    cisa.follow_up(
        &case,
        Kind::Update,
        &say("AS64500 Example Hosting, leased since 2021-05-30 under a false name."),
        None,
    )?;
    step(&bar, "need-info and update exchanged");
    nkcki.follow_up(
        &case,
        Kind::Answer,
        &say("Servers seized and imaged; logs preserved; two operators identified."),
        None,
    )?;
    step(&bar, "ru-nkcki answered");
    let fbi = officer("us-fbi")?;
    let second = fbi.send(&SendArgs {
        to: "ru-mvd".into(),
        request: Some("preservation".into()),
        justification: None,
        priority: "routine".into(),
        ack_within: None,
        answer_within: None,
        content: Content {
            title: Some("Preserve logs of the Kaseya attack servers".into()),
            message: Some("Please preserve subscriber and traffic logs for 203.0.113.57.".into()),
            evidence: Some(evidence.to_owned()),
            tlp: "amber".into(),
            handling: "H1".into(),
            ..Content::default()
        },
    })?;
    step(
        &bar,
        &format!(
            "us-fbi sent ru-mvd a routine preservation request ({})",
            second.case
        ),
    );
    // Nobody at ru-mvd reacts: the operator records the missed deadline.
    let started = Instant::now();
    bar.set_message("waiting for the demo's 8-second acknowledgement deadline to pass…");
    loop {
        let c = fbi.case(&second.case)?;
        if c.summary.overdue.iter().any(|d| d == "ack") {
            break;
        }
        if started.elapsed() > Duration::from_secs(60) {
            bail!("the overdue statement did not appear within 60 s");
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    step(
        &bar,
        "the operator recorded ru-mvd's missed deadline (overdue)",
    );
    bar.finish_and_clear();
    Ok(())
}

fn summarise(dir: &Path, url: &str) -> Result<()> {
    // Every receipt any party kept verifies offline against the log key.
    let log_key = crate::verify::load_vkey(&dir.join(datadir::LOG_VKEY).display().to_string())?;
    let mut checked = 0;
    let receipts = dir.join("keys").join("receipts");
    if receipts.is_dir() {
        for party in std::fs::read_dir(&receipts)? {
            for case in std::fs::read_dir(party?.path())? {
                for r in std::fs::read_dir(case?.path())? {
                    let r = r?.path();
                    crate::officer::verify_receipt(&r, &log_key, None, None)
                        .with_context(|| format!("verifying {}", r.display()))?;
                    checked += 1;
                }
            }
        }
    }
    println!("verified {checked} receipts offline against the log key");
    let cisa = Officer::open(Some(&party_config(dir, "us-cisa")))?;
    let fbi = Officer::open(Some(&party_config(dir, "us-fbi")))?;
    for o in [&cisa, &fbi] {
        for c in o.client.inbox()?.cases {
            println!();
            crate::output::show(false, o, &c.id)?;
        }
    }
    let report = crate::verify::verify_log(url, &log_key, None, None, None, false)?;
    println!();
    println!(
        "the whole log verifies: {} statements, root {}",
        report.size, report.root
    );
    Ok(())
}
