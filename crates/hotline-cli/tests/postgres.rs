//! A hotline whose log is kept in PostgreSQL (`init --database`), driven through the real CLI:
//! init, serve, two parties, a request through ack and answer, `log verify`, a restart that
//! keeps every case, `fsck --dir`, and never a `hotline.db` in the directory.
//!
//! The server is the one `HOTLINE_TEST_POSTGRES` names (default
//! `postgres://postgres@127.0.0.1:5432/test`). Each test keeps its log in a schema of its own
//! (through the URL's `search_path` option), dropped at the end. Without a reachable server
//! every test prints why it is skipped and passes, unless `HOTLINE_REQUIRE_EXTERNAL=1`, where it
//! fails.
#![allow(clippy::unwrap_used, missing_docs)]

mod util;

use std::os::unix::fs::PermissionsExt as _;
use std::path::PathBuf;

use util::pg::{Schema, admin};
use util::{Sandbox, ServerGuard};

fn evidence() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenario/kaseya-2021/evidence.json")
        .display()
        .to_string()
}

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn officer(sb: &Sandbox, party: &str, args: &[&str]) -> serde_json::Value {
    let cfg = format!("{party}/config.toml");
    let mut all = vec!["--config", cfg.as_str(), "--json"];
    all.extend_from_slice(args);
    serde_json::from_str(&sb.run_ok(&all)).unwrap()
}

/// The case as the requester sees it: phase and the kinds of its statements.
fn case_state(sb: &Sandbox, case: &str) -> (String, Vec<String>) {
    let shown = officer(sb, "us-cisa", &["show", case]);
    let phase = shown["case"]["phase"].as_str().unwrap().to_owned();
    let kinds = shown["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["kind"].as_str().unwrap().to_owned())
        .collect();
    (phase, kinds)
}

fn checkpoint(server: &ServerGuard) -> String {
    reqwest::blocking::get(format!("{}/log/checkpoint", server.url))
        .unwrap()
        .text()
        .unwrap()
}

/// `hotline serve --dir hl --listen ADDR --database URL`, ready.
fn serve_at(sb: &Sandbox, listen: &str, url: &str) -> ServerGuard {
    use std::io::BufRead as _;
    let mut child = sb
        .cmd(&[
            "serve",
            "--dir",
            "hl",
            "--listen",
            listen,
            "--database",
            url,
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let line = lines.next().unwrap().unwrap();
    assert!(line.contains(&format!("on http://{listen}/")), "{line}");
    // Keep reading so the server never writes to a closed pipe.
    std::thread::spawn(move || lines.for_each(drop));
    ServerGuard {
        url: format!("http://{listen}"),
        child,
    }
}

#[test]
fn a_hotline_on_postgres_serves_restarts_and_passes_fsck() {
    let Some(schema) = Schema::new() else { return };
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--origin",
        "hotline.pg.example/log",
        "--database",
        &schema.url,
    ]);
    let hl = sb.path("hl");
    // Keys stay in the directory, private; the URL is recorded there, private too.
    for f in ["log.key", "operator.key", "operator.token", "database.url"] {
        assert_eq!(mode(&hl.join(f)), 0o600, "{f}");
    }
    assert!(hl.join("log.vkey").exists());
    assert_eq!(
        std::fs::read_to_string(hl.join("database.url"))
            .unwrap()
            .trim(),
        schema.url
    );
    // The log really is in PostgreSQL: the operator's registration is stored there.
    let mut pg = admin().unwrap();
    let n: i64 = pg
        .query_one(
            &format!("SELECT count(*) FROM {}.checkpoints", schema.name),
            &[],
        )
        .unwrap()
        .get(0);
    assert!(n >= 1, "no checkpoint in PostgreSQL");

    // Frontend settings that cannot work are refused, naming the problem.
    for (args, says) in [
        (
            vec!["--listen", "0.0.0.0:0"],
            "give --advertise http://HOST:PORT",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--advertise", "ftp://x"],
            "is not an http://HOST:PORT URL",
        ),
        (
            vec!["--listen", "127.0.0.1:0", "--lease-ms", "100"],
            "--lease-ms must be at least 300",
        ),
    ] {
        let mut all = vec!["serve", "--dir", "hl"];
        all.extend(args);
        let err = sb.run_err(&all);
        assert!(err.contains(says), "{err}");
    }
    let server = sb.serve("hl");
    // A second process on the directory is a second frontend: it follows, it does not write.
    let second = sb.serve("hl");
    let health = |url: &str| {
        reqwest::blocking::get(format!("{url}/healthz"))
            .unwrap()
            .text()
            .unwrap()
    };
    assert!(
        health(&server.url).contains(" sequences the log"),
        "{}",
        health(&server.url)
    );
    let h = health(&second.url);
    assert!(
        h.contains(" follows the log") && h.contains(&server.url),
        "{h}"
    );
    second.stop();
    // An in-process writer (here: a benchmark) cannot write beside a running frontend.
    let err = sb.run_err(&[
        "bench",
        "submit",
        "--dir",
        "hl",
        "--statements",
        "10",
        "--clients",
        "1",
        "--no-baseline",
    ]);
    assert!(err.contains("sequenced by frontend"), "{err}");
    util::register_party(&sb, &server.url, "us-cisa", "US");
    util::register_party(&sb, &server.url, "ru-nkcki", "RU");
    let sent = officer(
        &sb,
        "us-cisa",
        &[
            "send",
            "--to",
            "ru-nkcki",
            "--request",
            "investigation",
            "--priority",
            "urgent",
            "--title",
            "REvil infrastructure",
            "-m",
            "identify the operators",
            "--evidence",
            &evidence(),
        ],
    );
    let case = sent["case"].as_str().unwrap().to_owned();
    officer(&sb, "ru-nkcki", &["ack", &case, "-m", "received"]);
    officer(
        &sb,
        "ru-nkcki",
        &["answer", &case, "-m", "operators identified"],
    );
    let before = case_state(&sb, &case);
    assert_eq!(before.0, "answered");
    assert_eq!(
        before.1,
        ["request", "delivered", "acknowledged", "answer"],
        "{before:?}"
    );
    let out = sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "hl/log.vkey",
    ]);
    assert!(!out.is_empty());
    let cp_before = checkpoint(&server);

    // Restarted on the same address (the officers' configurations name it), with the URL
    // given explicitly this time, the hotline is where it was.
    let listen = server.url.trim_start_matches("http://").to_owned();
    let status = server.stop_status();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    let server = serve_at(&sb, &listen, &schema.url);
    assert_eq!(
        checkpoint(&server).lines().take(3).collect::<Vec<_>>(),
        cp_before.lines().take(3).collect::<Vec<_>>()
    );
    assert_eq!(case_state(&sb, &case), before);
    sb.run_ok(&[
        "log",
        "verify",
        "--url",
        &server.url,
        "--vkey",
        "hl/log.vkey",
    ]);
    // fsck reads beside a running server, through the recorded URL, against DIR/log.vkey.
    let out = sb.run_ok(&["fsck", "--dir", "hl"]);
    assert!(out.starts_with("ok "), "{out}");
    server.stop();
    let out = sb.run_ok(&["fsck", "--dir", "hl", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert!(!hl.join("hotline.db").exists(), "a hotline.db was created");
}

#[test]
fn a_postgres_directory_refuses_another_database_and_a_second_init() {
    let Some(schema) = Schema::new() else { return };
    let Some(other) = Schema::new() else { return };
    let sb = Sandbox::new();
    sb.run_ok(&[
        "init",
        "--dir",
        "hl",
        "--log-only",
        "--database",
        &schema.url,
    ]);
    let err = sb.run_err(&[
        "serve",
        "--dir",
        "hl",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &other.url,
    ]);
    assert!(
        err.contains("keeps its log in PostgreSQL") && err.contains("--database names"),
        "{err}"
    );
    // A second hotline in the same schema is refused; the first is untouched.
    let err = sb.run_err(&["init", "--dir", "hl2", "--database", &schema.url]);
    assert!(err.contains("already exists"), "{err}");
    // A SQLite directory does not take --database.
    sb.run_ok(&["init", "--dir", "lite", "--log-only"]);
    let err = sb.run_err(&[
        "serve",
        "--dir",
        "lite",
        "--listen",
        "127.0.0.1:0",
        "--database",
        &other.url,
    ]);
    assert!(err.contains("not in PostgreSQL"), "{err}");
    sb.run_ok(&["fsck", "--dir", "hl"]);
    assert!(!sb.path("hl/hotline.db").exists());
}
