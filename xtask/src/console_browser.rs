//! `cargo xtask console-browser`: the web console's acceptance test in a real browser.
//!
//! 1. prerequisites: Debian's `chromium`, `node` with `playwright-core` installed from the
//!    console's lockfile (`npm ci` in `crates/hotline-server/console`; playwright-core never
//!    downloads a browser), Go with golang.org/x/mod and `age` (for the checks after);
//! 2. the committed bundle is the build of `console/src/` with the pinned packages
//!    (`node build.mjs --check`);
//! 3. two witnesses (`hotline witness serve`, on 127.0.0.1) and a policy requiring both
//!    (`witnesses.toml`); a hotline is served on 127.0.0.1 with its log (`HOTLINE_LOG=debug`)
//!    captured to a file; us-cisa and ru-nkcki are registered, us-cisa sends the scenario's
//!    emergency request with its STIX evidence through the CLI;
//! 4. `console/tests/browser.mjs` drives headless chromium: ru-nkcki's officer loads a key,
//!    reads the inbox, opens the case, decrypts the evidence, acknowledges and answers, and sees
//!    every step of the timeline cosigned by both witnesses (verified in the browser); us-cisa
//!    sees the answer; an auditor views the charts and verifies an entry in the browser; every
//!    page is screenshotted in English and Arabic into `test-output/console/`; no console error;
//! 5. Go's golang.org/x/mod/sumdb/note verifies every statement of the log, the browser-signed
//!    acknowledgement and answer included (`interop/go/hotline-check -statements`); the `age`
//!    binary decrypts the answer the browser encrypted (as us-cisa) and a payload the browser
//!    encrypted, and the browser decrypted what `age` encrypted;
//! 6. after the server stopped, no file of its data directory and no line of its log holds
//!    any plaintext of the case (titles, messages, evidence) or any private key material of
//!    the officers (signing seeds, age identities), nor their API tokens; no line of its log
//!    holds the secret of a webhook ru-nkcki registered (whose receiver is not there).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::interop::{self, MissingPrerequisite, Server};
use crate::interop_statements::{Api, Hotline, find_age, read_trimmed};

const ORIGIN: &str = "console.browser.hotline.invalid/log";
const PACKAGES: &str = "chromium nodejs npm (then `npm ci` in crates/hotline-server/console)";
/// Longest the browser script may run.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(240);

/// Options.
#[derive(clap::Args)]
pub struct Args {
    /// Keep the temporary directory (hotline, keys, browser results).
    #[arg(long)]
    pub keep: bool,
    /// Use this hotline binary instead of building one.
    #[arg(long, value_name = "PATH")]
    pub hotline: Option<PathBuf>,
}

/// Where the console's npm project lives.
pub(crate) fn console_dir(root: &Path) -> PathBuf {
    root.join("crates/hotline-server/console")
}

/// `node`, and the console's pinned packages installed.
pub(crate) fn find_node(root: &Path) -> Result<PathBuf> {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        return Err(MissingPrerequisite::new("node not found", PACKAGES).into());
    }
    let pw = console_dir(root).join("node_modules/playwright-core/package.json");
    if !pw.exists() {
        return Err(MissingPrerequisite::new(
            format!("{} is missing (run npm ci there)", pw.display()),
            PACKAGES,
        )
        .into());
    }
    Ok(PathBuf::from("node"))
}

fn find_chromium() -> Result<PathBuf> {
    let p = std::env::var_os("HOTLINE_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if p.exists() {
        Ok(p)
    } else {
        Err(MissingPrerequisite::new(format!("{} not found", p.display()), PACKAGES).into())
    }
}

/// Runs the console's browser test.
pub fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let root = interop::workspace_root();
    let mut missing = Vec::new();
    let mut want = |r: Result<PathBuf>| match r {
        Ok(p) => Ok(Some(p)),
        Err(e) => match e.downcast::<MissingPrerequisite>() {
            Ok(m) => {
                missing.push(m.what);
                Ok(None)
            }
            Err(e) => Err(e),
        },
    };
    let node = want(find_node(&root))?;
    let chromium = want(find_chromium())?;
    let go = want(interop::find_go())?;
    let xmod = want(interop::find_xmod())?;
    let age = want(find_age())?;
    let (Some(node), Some(chromium), Some(go), Some(xmod), Some(age)) =
        (node, chromium, go, xmod, age)
    else {
        return Err(MissingPrerequisite::new(
            missing.join("; "),
            "chromium nodejs npm golang-go golang-golang-x-mod-dev age (then `npm ci` in crates/hotline-server/console)",
        )
        .into());
    };
    // The committed bundle is what the pinned packages build from src/.
    let out = interop::run_ok(
        Command::new(&node)
            .arg("build.mjs")
            .arg("--check")
            .current_dir(console_dir(&root)),
        "node build.mjs --check",
    )?;
    print!("console-browser: {}", out.stdout);
    let tmp = tempfile::Builder::new()
        .prefix("hotline-console-browser-")
        .tempdir()
        .context("creating a temporary directory")?;
    let result = run_in(args, &root, &node, &chromium, &go, &xmod, &age, tmp.path());
    if args.keep {
        let kept = tmp.keep();
        println!("console-browser: kept {}", kept.display());
    }
    result?;
    println!(
        "console-browser: OK: officer scenario, auditor charts, English and Arabic screenshots, Go note and age interop, no plaintext or key stored ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn say(since: Instant, msg: &str) {
    println!(
        "console-browser: {msg} [{:.1} s]",
        since.elapsed().as_secs_f64()
    );
}

#[allow(clippy::too_many_arguments)]
fn run_in(
    args: &Args,
    root: &Path,
    node: &Path,
    chromium: &Path,
    go: &Path,
    xmod: &Path,
    age: &Path,
    tmp: &Path,
) -> Result<()> {
    let t = Instant::now();
    let hotline = match &args.hotline {
        Some(p) => p.clone(),
        None => interop::build_hotline(root, false)?,
    };
    let checker = interop::build_checker(go, xmod, root, tmp)?;
    say(t, "built hotline and the Go checker");

    let t = Instant::now();
    let data = tmp.join("hotline");
    let h = Hotline {
        bin: hotline,
        work: tmp.to_owned(),
    };
    h.ok_str(&["init", "--dir", &data.to_string_lossy(), "--origin", ORIGIN])?;
    // Two real witnesses, both required: the case page shows their cosignatures.
    let witnesses = start_witnesses(&h, &data, tmp)?;
    say(
        t,
        &format!(
            "witnesses {} serving",
            witnesses
                .iter()
                .map(|w| w.name.as_str())
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    );
    let server_log = tmp.join("server.log");
    let log_file = std::fs::File::create(&server_log).context("creating the server log")?;
    let server = Server::start_with(
        &h.bin,
        &data,
        Stdio::from(log_file),
        &[("HOTLINE_LOG", "debug")],
    )?;
    let base = server
        .log_url
        .strip_suffix("/log")
        .ok_or_else(|| anyhow!("unexpected log URL {}", server.log_url))?
        .to_owned();
    let api = Api::new(&base)?;
    let op_token = data.join("operator.token");
    let us = h.register(&base, &op_token, "us-cisa", "US CISA", "US", &api)?;
    let ru = h.register(&base, &op_token, "ru-nkcki", "NKTsKI", "RU", &api)?;
    // A webhook of ru-nkcki's, whose receiver is not there (attempts fail and are retried):
    // its secret is stored in the database and must never reach the server's log.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let hook: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/webhooks"))
        .bearer_auth(&ru.token)
        .json(&serde_json::json!({ "url": format!("http://127.0.0.1:{closed}/duty") }))
        .send()
        .context("registering a webhook")?
        .error_for_status()
        .context("registering a webhook")?
        .json()
        .context("the webhook registration's answer")?;
    let webhook_secret = hook["secret"]
        .as_str()
        .ok_or_else(|| anyhow!("no secret in {hook}"))?
        .to_owned();
    let evidence = root.join("scenario/kaseya-2021/evidence.json");
    let title = "REvil ransomware pushed through Kaseya VSA";
    let message = "Ransomware deployed through a Kaseya VSA update; preserve what you hold about the C2 servers.";
    let mut sent = Vec::new();
    let case = h.send(
        &us,
        &ru,
        &[
            "--request",
            "emergency",
            "--justification",
            "imminent-risk-to-life",
            "--priority",
            "emergency",
        ],
        title,
        message,
        Some((&evidence, &serde_json::Value::Null)),
        &mut sent,
    )?;
    say(t, &format!("hotline on {base}; us-cisa sent case {case}"));

    // Interop material: a ciphertext made by the age binary for us-cisa's identity.
    let marker = format!("{:016x}", rand_u64());
    let age_plain = format!("encrypted by the age binary {marker}");
    let us_recipient = recipient_of(&api, "us-cisa")?;
    let ru_recipient = recipient_of(&api, "ru-nkcki")?;
    let age_ct = age_encrypt(age, &us_recipient, age_plain.as_bytes(), tmp)?;
    let browser_plain = format!("encrypted in the browser {marker}");
    let ack_text = format!("Received in the browser, on it {marker}");
    let answer_text = format!("Two C2 servers preserved and taken down {marker}");
    let compose_title = format!("Take down the REvil leak site front {marker}");
    let compose_message =
        format!("The leak site front listed in the evidence is hosted with you {marker}");
    let ru_key_text = read_trimmed(&tmp.join("ru-nkcki.key"))?;
    let us_key_text = read_trimmed(&tmp.join("us-cisa.key"))?;
    let us_identity = read_trimmed(&us.identity)?;
    let entries_size: u64 = api.get_json(None, "/api/v1/hotline")?["size"]
        .as_u64()
        .ok_or_else(|| anyhow!("no size in /api/v1/hotline"))?;
    let screenshots = root.join("test-output/console");
    let _ = std::fs::remove_dir_all(&screenshots);
    let results_file = tmp.join("browser-results.json");
    let config = serde_json::json!({
        "base": base,
        "chromium": chromium,
        "userDataDir": tmp.join("chromium-profile"),
        "screenshots": screenshots,
        "results": results_file,
        "caseId": case,
        "title": title,
        "evidenceMarker": "Sodinokibi",
        "evidenceFile": evidence,
        "composeTitle": compose_title,
        "composeMessage": compose_message,
        "ackText": ack_text,
        "answerText": answer_text,
        "verifyIndex": entries_size - 1,
        "witnesses": witnesses.iter().map(|w| w.name.clone()).collect::<Vec<_>>(),
        "otherVkey": "other.example/log+6a1d1a2b+AcMu5y5a2PvsjPQxD0PSiDdn4Vt1xLc3rtIUQjMqnSmC",
        "ru": { "keyFile": tmp.join("ru-nkcki.key"), "token": ru.token },
        "us": { "keyFile": tmp.join("us-cisa.key"), "token": us.token },
        "interop": {
            "recipient": ru_recipient,
            "plaintext": browser_plain,
            "ageCiphertext": B64.encode(&age_ct),
            "identity": us_identity,
        },
    });
    let config_file = tmp.join("browser-config.json");
    std::fs::write(&config_file, serde_json::to_vec_pretty(&config)?)
        .context("writing the browser config")?;

    let t = Instant::now();
    let mut cmd = Command::new(node);
    cmd.arg(console_dir(root).join("tests/browser.mjs"))
        .arg(&config_file)
        .current_dir(console_dir(root));
    let out = interop::run_captured(
        &mut cmd,
        "the browser test",
        BROWSER_TIMEOUT,
        Stdio::piped(),
    )?;
    eprint!("{}", out.stderr);
    print!("{}", out.stdout);
    ensure!(
        out.status.success(),
        "the browser test failed ({}); see above",
        out.status
    );
    let results: serde_json::Value = serde_json::from_slice(
        &std::fs::read(&results_file).context("reading the browser results")?,
    )
    .context("the browser results are not JSON")?;
    let shots = results["screenshots"].as_array().map_or(0, Vec::len);
    ensure!(shots >= 20, "only {shots} screenshots were taken");
    say(
        t,
        &format!(
            "browser scenario passed; {shots} screenshots in {}",
            screenshots.display()
        ),
    );

    // The requester sees the answer through the CLI too, and decrypts it.
    let t = Instant::now();
    let shown = h.ok_str(&[
        "--config",
        &us.config.to_string_lossy(),
        "--json",
        "show",
        &case,
    ])?;
    let shown: serde_json::Value = serde_json::from_str(&shown).context("hotline show --json")?;
    ensure!(
        shown["case"]["phase"] == "answered",
        "the case is {} after the browser answered it",
        shown["case"]["phase"]
    );
    let timeline = api.get_json(Some(&us.token), &format!("/api/v1/cases/{case}"))?;
    let steps = timeline["timeline"]
        .as_array()
        .ok_or_else(|| anyhow!("no timeline"))?;
    let kinds: Vec<&str> = steps.iter().filter_map(|s| s["kind"].as_str()).collect();
    // The requester's decryption in the browser recorded the deliveries of the replies.
    ensure!(
        kinds.starts_with(&["request", "delivered", "acknowledged", "answer"])
            && kinds[4..] == ["delivered", "delivered"],
        "the case's statements are {kinds:?}"
    );
    // age decrypts what the browser encrypted: the answer, as us-cisa, and the interop payload.
    let answer = steps
        .iter()
        .find(|s| s["kind"] == "answer")
        .ok_or_else(|| anyhow!("no answer in the timeline"))?;
    let answer_hex = answer["id_hex"].as_str().ok_or_else(|| anyhow!("no id"))?;
    let ct = api.get(
        Some(&us.token),
        &format!("/api/v1/statements/{answer_hex}/payload"),
    )?;
    let plain = age_decrypt(age, &us.identity, &ct, tmp)?;
    let doc: serde_json::Value =
        serde_json::from_slice(&plain).context("the answer's plaintext is not JSON")?;
    ensure!(
        doc["format"] == "hotline/case-document/v1" && doc["summary"] == answer_text.as_str(),
        "age decrypted the browser's answer to {doc}"
    );
    let browser_ct = B64
        .decode(results["browserCiphertext"].as_str().unwrap_or_default())
        .context("the browser's ciphertext is not base64")?;
    let plain = age_decrypt(age, &ru.identity, &browser_ct, tmp)?;
    ensure!(
        plain == browser_plain.as_bytes(),
        "age decrypted the browser's payload to something else"
    );
    ensure!(
        results["decryptedFromAge"] == age_plain.as_str(),
        "the browser decrypted age's payload to {}",
        results["decryptedFromAge"]
    );
    // The request composed in the browser: us-cisa's CLI decrypts it (evidence included).
    let composed = results["composedCase"]
        .as_str()
        .ok_or_else(|| anyhow!("the browser reported no composed case"))?;
    let fetched = h.ok_str(&[
        "--config",
        &us.config.to_string_lossy(),
        "--json",
        "fetch",
        composed,
    ])?;
    ensure!(
        fetched.contains(&compose_title) && fetched.contains("Sodinokibi"),
        "hotline fetch of the browser's request did not show its title and evidence: {fetched}"
    );
    let case2 = api.get_json(Some(&us.token), &format!("/api/v1/cases/{composed}"))?;
    ensure!(
        case2["kind"] == "request"
            && case2["priority"] == "urgent"
            && case2["request_type"] == "takedown",
        "the browser's request is recorded as {case2}"
    );
    say(
        t,
        "age decrypts the browser's ciphertexts and the browser decrypts age's; the CLI decrypts the browser's request",
    );

    // Go's note verifies every statement, the browser-signed ones included.
    let t = Instant::now();
    let mut cmd = Command::new(&checker);
    cmd.args(["-url", &server.log_url, "-statements"])
        .arg("-vkey")
        .arg(data.join("log.vkey"));
    let out = interop::run_ok(&mut cmd, "hotline-check -statements")?;
    print!("{}", out.stdout);
    say(
        t,
        "golang.org/x/mod/sumdb/note verified every statement, the browser's included",
    );

    // Nothing secret or private reached the server's storage or log.
    server.stop()?;
    let t = Instant::now();
    let evidence_text = std::fs::read_to_string(&evidence).context("reading the evidence")?;
    let mut secrets: Vec<(String, String)> = vec![
        ("the request's title".into(), title.into()),
        ("the request's message".into(), message.into()),
        ("the browser's acknowledgement".into(), ack_text.clone()),
        ("the browser's answer".into(), answer_text.clone()),
        ("the browser's request title".into(), compose_title.clone()),
        (
            "the browser's request message".into(),
            compose_message.clone(),
        ),
        (
            "the evidence".into(),
            "Sodinokibi dropper pushed as a VSA agent update".into(),
        ),
        ("us-cisa's API token".into(), us.token.clone()),
        ("ru-nkcki's API token".into(), ru.token.clone()),
    ];
    ensure!(
        evidence_text.contains("Sodinokibi dropper"),
        "the evidence changed; update this test"
    );
    for (who, text) in [("ru-nkcki", &ru_key_text), ("us-cisa", &us_key_text)] {
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("signing-key ") {
                // The seed's base64 (which may itself hold `+`), without the prefix, the public
                // name and the key id.
                let seed = v
                    .strip_prefix("PRIVATE+KEY+")
                    .and_then(|r| r.splitn(3, '+').nth(2))
                    .ok_or_else(|| {
                        anyhow!("{who}'s signing-key line is not PRIVATE+KEY+name+id+key")
                    })?
                    .to_owned();
                ensure!(
                    seed.len() == 44,
                    "{who}'s signing key seed is not 44 base64 characters"
                );
                secrets.push((format!("{who}'s signing key"), seed));
            }
            if let Some(v) = line.strip_prefix("age-identity ") {
                secrets.push((format!("{who}'s age identity"), v.to_owned()));
                secrets.push((
                    format!("{who}'s age identity (lowercase)"),
                    v.to_lowercase(),
                ));
            }
        }
    }
    let mut scanned = 0usize;
    let mut files = vec![server_log.clone()];
    for e in std::fs::read_dir(&data).context("listing the data directory")? {
        let e = e?;
        if e.file_type()?.is_file() {
            files.push(e.path());
        }
    }
    // The database keeps the webhook's secret (it signs with it); the log never shows it.
    let in_log_only = [("the webhook's secret", webhook_secret.as_str())];
    for f in &files {
        let bytes = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        scanned += bytes.len();
        if *f == server_log {
            for (what, secret) in in_log_only {
                if memfind(&bytes, secret.as_bytes())
                    || memfind(&bytes, secret.trim_start_matches("whsec_").as_bytes())
                {
                    bail!("{} holds {what}", f.display());
                }
            }
        }
        for (what, secret) in &secrets {
            // Short needles would match by chance and prove nothing.
            ensure!(
                secret.len() >= 16,
                "the needle for {what} is too short to search for"
            );
            if memfind(&bytes, secret.as_bytes()) {
                bail!("{} holds {what}", f.display());
            }
        }
    }
    let log_lines = std::fs::read_to_string(&server_log)
        .unwrap_or_default()
        .lines()
        .count();
    ensure!(
        log_lines > 10,
        "the server logged only {log_lines} lines: the scan proves little"
    );
    say(
        t,
        &format!(
            "no plaintext, key or token in {} files ({} bytes, {log_lines} log lines)",
            files.len(),
            scanned
        ),
    );
    Ok(())
}

/// A running `hotline witness serve`, killed when dropped.
struct Witness {
    name: String,
    _child: interop::ChildGuard,
}

/// Makes two witnesses of the log in `data` (keys and databases under `tmp`), serves each on
/// 127.0.0.1 and writes `data/witnesses.toml` requiring both.
fn start_witnesses(h: &Hotline, data: &Path, tmp: &Path) -> Result<Vec<Witness>> {
    use std::io::BufRead as _;
    let log_vkey = read_trimmed(&data.join("log.vkey"))?;
    let mut policy = String::from("required = 2\n");
    let mut out = Vec::new();
    for name in ["witness-a.hotline.invalid", "witness-b.hotline.invalid"] {
        let dir = tmp.join(name);
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let key = dir.join("witness.key");
        let vkey = h
            .ok_str(&[
                "witness",
                "keygen",
                "--name",
                name,
                "--out",
                &key.to_string_lossy(),
            ])?
            .trim()
            .to_owned();
        let config = dir.join("witness.toml");
        std::fs::write(
            &config,
            format!(
                "key_file = \"witness.key\"\ndatabase = \"witness.db\"\n\n[[log]]\n\
                 origin = \"{ORIGIN}\"\nkeys = [\"{log_vkey}\"]\n"
            ),
        )
        .with_context(|| format!("writing {}", config.display()))?;
        let mut child = interop::ChildGuard {
            child: Command::new(&h.bin)
                .args(["witness", "serve", "--config"])
                .arg(&config)
                // Loopback only.
                .args(["--listen", "127.0.0.1:0"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .context("starting hotline witness serve")?,
        };
        let stdout = child
            .child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("hotline witness serve has no stdout"))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                if let Some(addr) = line
                    .split(" on http://")
                    .nth(1)
                    .and_then(|r| r.split('/').next())
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(addr.to_owned());
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| anyhow!("hotline witness serve ({name}) did not start in 30 s"))?;
        policy.push_str(&format!(
            "\n[[witness]]\nname = \"{name}\"\nurl = \"http://{addr}\"\nvkey = \"{vkey}\"\n"
        ));
        out.push(Witness {
            name: name.to_owned(),
            _child: child,
        });
    }
    std::fs::write(data.join("witnesses.toml"), policy).context("writing witnesses.toml")?;
    Ok(out)
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn rand_u64() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    t ^ u64::from(std::process::id()).rotate_left(32)
}

fn recipient_of(api: &Api, party: &str) -> Result<String> {
    let dir = api.get_json(None, "/api/v1/parties")?;
    dir.as_array()
        .and_then(|a| a.iter().find(|p| p["id"] == party))
        .and_then(|p| p["recipients"][0].as_str())
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("{party} has no recipient in the directory"))
}

fn age_encrypt(age: &Path, recipient: &str, plain: &[u8], tmp: &Path) -> Result<Vec<u8>> {
    let input = tmp.join("age-input");
    let output = tmp.join("age-output.age");
    std::fs::write(&input, plain)?;
    let _ = std::fs::remove_file(&output);
    interop::run_ok(
        Command::new(age)
            .args(["-e", "-r", recipient, "-o"])
            .arg(&output)
            .arg(&input),
        "age -e",
    )?;
    std::fs::read(&output).context("reading age's output")
}

fn age_decrypt(age: &Path, identity: &Path, ct: &[u8], tmp: &Path) -> Result<Vec<u8>> {
    let input = tmp.join("age-ciphertext.age");
    let output = tmp.join("age-plaintext");
    {
        let mut f = std::fs::File::create(&input)?;
        f.write_all(ct)?;
    }
    let _ = std::fs::remove_file(&output);
    interop::run_ok(
        Command::new(age)
            .arg("-d")
            .arg("-i")
            .arg(identity)
            .arg("-o")
            .arg(&output)
            .arg(&input),
        "age -d",
    )?;
    std::fs::read(&output).context("reading age's plaintext")
}

/// `cargo xtask console-assets`: installs the console's pinned packages and rebuilds the
/// committed bundle (then `git diff` shows what changed).
pub fn rebuild_assets() -> Result<()> {
    let dir = console_dir(&interop::workspace_root());
    for (args, what) in [
        (&["ci"][..], "npm ci"),
        (&["run", "build"][..], "npm run build"),
    ] {
        let out = interop::run_ok(Command::new("npm").args(args).current_dir(&dir), what)?;
        print!("{}", out.stdout);
    }
    Ok(())
}
