//! Helpers for tests that run the real `hotline` binary in a temporary directory, in the style
//! of ripgrep's `tests/util.rs`: every failure prints the command, its exit status, stdout and
//! stderr.
#![allow(dead_code, clippy::unwrap_used)]

pub mod frontends;
pub mod go;
pub mod pg;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of the binary under test.
pub fn hotline_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hotline"))
}

/// A temporary working directory.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(hotline_bin());
        c.current_dir(self.dir.path()).args(args);
        c
    }

    /// Runs and expects success; returns stdout.
    pub fn run_ok(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        if !out.status.success() {
            panic!("{}", describe(args, &out, "expected success"));
        }
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs and expects failure; returns stdout + stderr.
    pub fn run_err(&self, args: &[&str]) -> String {
        let out = self.cmd(args).output().unwrap();
        if out.status.success() {
            panic!("{}", describe(args, &out, "expected failure"));
        }
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Starts `hotline serve` on a free loopback port and waits until it is ready.
    pub fn serve(&self, dir: &str) -> ServerGuard {
        self.serve_with(dir, &[])
    }

    /// [`Sandbox::serve`] with more arguments for `hotline serve`.
    pub fn serve_with(&self, dir: &str, extra: &[&str]) -> ServerGuard {
        let mut args = vec!["serve", "--dir", dir, "--listen", "127.0.0.1:0"];
        args.extend_from_slice(extra);
        let mut child = self
            .cmd(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default().to_owned();
                    let _ = tx.send(addr);
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(100)) {
                // Drain the server's log so a chatty one (HOTLINE_LOG=debug) can never block on
                // a full pipe; the lines go to the test's captured output, shown on failure.
                if let Some(err) = child.stderr.take() {
                    std::thread::spawn(move || {
                        for line in BufReader::new(err).lines().map_while(Result::ok) {
                            eprintln!("[hotline serve] {line}");
                        }
                    });
                }
                return ServerGuard {
                    child,
                    url: format!("http://{addr}"),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read as _;
                    let _ = e.read_to_string(&mut err);
                }
                panic!(
                    "hotline serve --dir {dir} exited with {status} before it was ready:\n{err}"
                );
            }
            assert!(
                Instant::now() < deadline,
                "hotline serve did not become ready in 60 s"
            );
        }
    }
}

/// A running `hotline serve`, killed when dropped.
pub struct ServerGuard {
    pub child: Child,
    pub url: String,
}

impl ServerGuard {
    /// Stops the server with SIGTERM and waits for it, so its sequencer shuts down cleanly.
    pub fn stop(self) {
        let _ = self.stop_status();
    }

    /// [`ServerGuard::stop`], returning how the server exited (`None`: not within 30 s).
    pub fn stop_status(mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for ServerGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn describe(args: &[&str], out: &Output, what: &str) -> String {
    format!(
        "hotline {}: {what}, got {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Copies a data directory (files only), e.g. to keep a backup or make a fork.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
        }
    }
}

/// Registers `party` (jurisdiction `cc`) with the hotline served at `url` whose data directory
/// is `hl`, as an officer and the operator do: `keygen` to `{party}/{party}.key`, `party
/// request`, `party add` with `hl/operator.token` (API token to `{party}/token`), and `config
/// init` to `{party}/config.toml`.
pub fn register_party(sb: &Sandbox, url: &str, party: &str, cc: &str) {
    let key = format!("{party}/{party}.key");
    sb.run_ok(&["keygen", "--party", party, "--out", &key]);
    let reg = format!("{party}/registration");
    sb.run_ok(&[
        "party",
        "request",
        "--key",
        &key,
        "--server",
        url,
        "--name",
        party,
        "--jurisdiction",
        cc,
        "--kind",
        "national-cert",
        "--contact",
        "duty@x.example",
        "--out",
        &reg,
    ]);
    let token = format!("{party}/token");
    sb.run_ok(&[
        "party",
        "add",
        "--server",
        url,
        "--token-file",
        "hl/operator.token",
        &reg,
        "--token-out",
        &token,
    ]);
    sb.run_ok(&[
        "--config",
        &format!("{party}/config.toml"),
        "config",
        "init",
        "--server",
        url,
        "--party",
        party,
        "--key",
        &key,
        "--token",
        &token,
    ]);
}

/// A running `hotline` subcommand that listens (a witness, …), killed when dropped.
pub struct ListeningGuard {
    pub child: Child,
    pub url: String,
}

impl Drop for ListeningGuard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Sandbox {
    /// Starts `hotline ARGS` and waits (30 s at most) for the line announcing
    /// `… on http://ADDR/…`; panics if it exits first.
    pub fn start_listening(&self, args: &[&str]) -> ListeningGuard {
        let mut child = self
            .cmd(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split(" on http://").nth(1) {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(addr) = rx.recv_timeout(Duration::from_millis(100)) {
                return ListeningGuard {
                    child,
                    url: format!("http://{addr}"),
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "hotline {} exited with {status} before it was ready",
                    args.join(" ")
                );
            }
            assert!(
                Instant::now() < deadline,
                "hotline {} did not start in 30 s",
                args.join(" ")
            );
        }
    }
}
