//! `cargo xtask interop`: the interop acceptance test of the transparency log core.
//!
//! A log of at least 70,000 entries written by hotline and served over HTTP is audited by
//! `interop/go/hotline-check`, a small checker built only on the Go reference packages
//! golang.org/x/mod/sumdb/note and golang.org/x/mod/sumdb/tlog; then single flipped bytes
//! (in a hash tile, an entry bundle, the checkpoint signature) must each make it fail.
//!
//! Steps:
//!
//! 1. build `hotline` with `cargo build -p hotline-cli` (dev profile, or `--release`; or take
//!    `--hotline PATH`), and the checker with `go build` in GOPATH mode against Debian's
//!    golang-golang-x-mod-dev sources: nothing is downloaded (`GO111MODULE=off`, `GOPROXY=off`);
//! 2. `hotline init` a data directory in a temporary directory and fill it with
//!    `hotline bench log` (synthetic 400-byte entries through the real sequencer and store);
//! 3. `hotline serve` it on 127.0.0.1:0, audit it and save its checkpoint A;
//! 4. stop the server, append more entries, serve again and audit with `-old-checkpoint A`
//!    (consistency proofs served and recomputed), and audit tree A again from that server
//!    (`-checkpoint-file A`: narrower partial tiles cut from wider stored ones);
//! 5. tamper cases, each on a fresh copy of the data directory with its own server: flip one
//!    byte of a full level-0 tile, of a full level-1 tile and of an entry bundle in the running
//!    server's database; and flip one byte of the checkpoint signature. The checker must fail
//!    each time with a message naming what is wrong.
//!
//! Every process started here is owned by a guard that kills it when dropped, so nothing
//! outlives a failure; the temporary directory goes too unless `--keep` is given.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::io::{BufRead as _, BufReader, Read as _};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// Exit status of `cargo xtask interop` when Go or the x/mod sources are missing, so that a
/// test can tell "cannot run here" from "failed".
pub const EXIT_MISSING_PREREQUISITE: u8 = 3;

/// What to install when Go or golang.org/x/mod is missing (Debian/Ubuntu package names).
pub(crate) const GO_PACKAGES: &str = "golang-go golang-golang-x-mod-dev";

/// Where Debian's golang-*-dev packages put Go sources: a GOPATH tree.
const DEBIAN_GOPATH: &str = "/usr/share/gocode";

/// The origin of the test log (a name under .invalid: it must never resolve).
const ORIGIN: &str = "interop.hotline.invalid/log";

/// Longest a build may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(30 * 60);
/// Longest any hotline or checker run may take; the whole audit takes seconds.
pub(crate) const RUN_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// Longest a server may take to start (it checks every stored tile first).
const READY_TIMEOUT: Duration = Duration::from_secs(120);

/// An external reference tool (Go, golang.org/x/mod, age) is not installed: an interop test
/// cannot run on this machine.
#[derive(Debug)]
pub struct MissingPrerequisite {
    /// What is missing.
    pub what: String,
    /// The Debian/Ubuntu packages to install.
    pub packages: String,
}

impl MissingPrerequisite {
    /// Something missing that `packages` provide.
    pub fn new(what: impl Into<String>, packages: &str) -> MissingPrerequisite {
        MissingPrerequisite {
            what: what.into(),
            packages: packages.to_owned(),
        }
    }
}

impl fmt::Display for MissingPrerequisite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}; install {}", self.what, self.packages)
    }
}

impl std::error::Error for MissingPrerequisite {}

/// Options.
#[derive(clap::Args)]
pub struct Args {
    /// Entries in the log when checkpoint A is taken (the acceptance test asks for at least
    /// 70,000; tamper cases need at least 512, the level-1 tile case 65,536).
    #[arg(long, default_value_t = 70_000)]
    pub entries: u64,
    /// Entries appended after checkpoint A, before the consistency check. The default leaves
    /// every level with a partial tile.
    #[arg(long, default_value_t = 1_234)]
    pub more: u64,
    /// Keep the temporary directory (data directories, checkpoints, checker binary).
    #[arg(long)]
    pub keep: bool,
    /// Build hotline with the release profile instead of the dev one.
    #[arg(long)]
    pub release: bool,
    /// Use this hotline binary instead of building one.
    #[arg(long, value_name = "PATH")]
    pub hotline: Option<PathBuf>,
}

/// Runs the interop check.
pub fn run(args: &Args) -> Result<()> {
    ensure!(
        args.entries >= 512,
        "--entries must be at least 512: the tamper cases need full tiles"
    );
    ensure!(
        args.more >= 1,
        "--more must be at least 1: the consistency check needs two tree sizes"
    );
    let started = Instant::now();
    let root = workspace_root();
    // Prerequisites first, so a machine without Go learns it before anything is built.
    let go = find_go()?;
    let xmod = find_xmod()?;
    let tmp = tempfile::Builder::new()
        .prefix("hotline-interop-")
        .tempdir()
        .context("creating a temporary directory")?;
    let result = run_in(args, &root, &go, &xmod, tmp.path());
    if args.keep {
        let kept = tmp.keep();
        println!("interop: kept {}", kept.display());
    }
    result?;
    println!(
        "interop: OK: the Go reference accepts hotline's log and rejects every tampered copy ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_in(args: &Args, root: &Path, go: &Path, xmod: &Path, tmp: &Path) -> Result<()> {
    let t = Instant::now();
    let hotline = match &args.hotline {
        Some(p) => p.clone(),
        None => build_hotline(root, args.release)?,
    };
    let checker = build_checker(go, xmod, root, tmp)?;
    step(
        t,
        &format!("built {} and {}", hotline.display(), checker.display()),
    );

    let data = tmp.join("log");
    run_ok(
        Command::new(&hotline)
            .arg("init")
            .arg("--log-only")
            .arg("--dir")
            .arg(&data)
            .args(["--origin", ORIGIN]),
        "hotline init",
    )?;
    let vkey = data.join("log.vkey");
    let t = Instant::now();
    let size_a = fill(&hotline, &data, args.entries)?;
    step(
        t,
        &format!("appended {} entries: tree size {size_a}", args.entries),
    );

    let checker = Checker {
        path: checker,
        vkey,
    };
    let cp_a = tmp.join("checkpoint-a");
    {
        let server = Server::start(&hotline, &data)?;
        let t = Instant::now();
        let out = checker.run(
            &server.log_url,
            &["-save-checkpoint".as_ref(), cp_a.as_os_str()],
        )?;
        expect_ok(&out, "audit at size A")?;
        step(t, &format!("audit A: {}", out.stdout.trim()));
        server.stop()?;
    }

    let t = Instant::now();
    let size_b = fill(&hotline, &data, args.more)?;
    step(
        t,
        &format!("appended {} entries: tree size {size_b}", args.more),
    );
    let cp_b = tmp.join("checkpoint-b");
    {
        let server = Server::start(&hotline, &data)?;
        let t = Instant::now();
        let out = checker.run(
            &server.log_url,
            &[
                "-old-checkpoint".as_ref(),
                cp_a.as_os_str(),
                "-save-checkpoint".as_ref(),
                cp_b.as_os_str(),
            ],
        )?;
        expect_ok(&out, "audit at size B against checkpoint A")?;
        step(t, &format!("audit B: {}", out.stdout.trim()));

        // Tree A again, now from a server at size B: its right-edge tiles and bundle are
        // narrower widths cut from wider stored ones, and its proofs are for an older size.
        let t = Instant::now();
        let out = checker.run(
            &server.log_url,
            &["-checkpoint-file".as_ref(), cp_a.as_os_str()],
        )?;
        expect_ok(&out, "audit of tree A served at size B")?;
        step(t, &format!("audit A at B: {}", out.stdout.trim()));

        // The server holds its latest checkpoint in memory and never re-reads it from the
        // database, so the signature is tampered in a copy of the saved checkpoint that the
        // checker reads with -checkpoint-file; tiles and proofs still come from the server.
        let bad = tmp.join("checkpoint-b-bad-signature");
        let note = std::fs::read(&cp_b).context("reading checkpoint B")?;
        std::fs::write(&bad, flip_signature_byte(&note)?).context("writing the bad checkpoint")?;
        let out = checker.run(
            &server.log_url,
            &["-checkpoint-file".as_ref(), bad.as_os_str()],
        )?;
        expect_failure(
            &out,
            "a flipped byte in the checkpoint signature",
            &["checkpoint signature does not verify"],
        )?;
        server.stop()?;
    }

    // Targets: full tiles and bundles in the middle of the log.
    let full = size_b / 256;
    let mid = full / 2;
    let neighbour = (mid + 1).min(full - 1);
    let mut cases = vec![
        TamperCase {
            what: format!("a flipped byte in full hash tile {}", tile_path("0", mid)),
            target: Target::Tile {
                level: 0,
                index: mid,
                offset: 32 * 5 + 7,
            },
            expect: vec![
                format!("entry {}", mid * 256 + 5),
                tile_path("0", mid),
                "the entry bundle and the level-0 tile disagree".to_owned(),
            ],
        },
        TamperCase {
            what: format!(
                "a flipped byte in full entry bundle {}",
                tile_path("entries", neighbour)
            ),
            // Inside entry 17's body, past its length prefix, so the bundle still decodes.
            target: Target::Bundle {
                index: neighbour,
                entry: 17,
            },
            expect: vec![
                format!("entry {}", neighbour * 256 + 17),
                tile_path("entries", neighbour),
                "the entry bundle and the level-0 tile disagree".to_owned(),
            ],
        },
    ];
    if size_b >= 65_536 {
        // No entry bundle pairs with a level-1 tile: only the checker's recomputation of
        // every tile from the entries can catch this one.
        cases.push(TamperCase {
            what: format!("a flipped byte in full hash tile {}", tile_path("1", 0)),
            target: Target::Tile {
                level: 1,
                index: 0,
                offset: 32 * 200 + 3,
            },
            expect: vec![
                tile_path("1", 0),
                "differs from the tile recomputed from the entries".to_owned(),
                "hash 200".to_owned(),
            ],
        });
    } else {
        println!("interop: no full level-1 tile below 65,536 entries: that tamper case is skipped");
    }
    for (n, case) in cases.iter().enumerate() {
        let copy = tmp.join(format!("tamper-{n}"));
        copy_dir(&data, &copy)?;
        let server = Server::start(&hotline, &copy)?;
        // The running server reads tiles and bundles from SQLite on each request (full tiles
        // are cached only once a proof has needed them, and nothing has asked yet), so a row
        // changed under it is what it serves. A restart would refuse the damaged database.
        case.apply(&copy.join("hotline.db"))?;
        let out = checker.run(&server.log_url, &[])?;
        let refs: Vec<&str> = case.expect.iter().map(String::as_str).collect();
        expect_failure(&out, &case.what, &refs)?;
        server.stop()?;
        std::fs::remove_dir_all(&copy).with_context(|| format!("removing {}", copy.display()))?;
    }
    Ok(())
}

pub(crate) fn step(since: Instant, msg: &str) {
    println!("interop: {msg} [{:.1} s]", since.elapsed().as_secs_f64());
}

/// The workspace root (xtask lives in its `xtask/` directory).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_owned()
}

/// `go` on the PATH, answering `go version`.
pub(crate) fn find_go() -> Result<PathBuf> {
    let go = PathBuf::from("go");
    match Command::new(&go).arg("version").output() {
        Ok(out) if out.status.success() => Ok(go),
        Ok(out) => Err(MissingPrerequisite::new(
            format!(
                "`go version` failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
            GO_PACKAGES,
        )
        .into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(MissingPrerequisite::new("go not found", GO_PACKAGES).into())
        }
        Err(e) => Err(MissingPrerequisite::new(format!("cannot run go: {e}"), GO_PACKAGES).into()),
    }
}

/// A GOPATH tree holding golang.org/x/mod's sumdb/note and sumdb/tlog sources: one of $GOPATH's
/// entries, or Debian's /usr/share/gocode.
pub(crate) fn find_xmod() -> Result<PathBuf> {
    let mut candidates: Vec<PathBuf> = std::env::var_os("GOPATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    candidates.push(PathBuf::from(DEBIAN_GOPATH));
    candidates
        .into_iter()
        .find(|gp| {
            let sumdb = gp.join("src/golang.org/x/mod/sumdb");
            sumdb.join("note/note.go").is_file() && sumdb.join("tlog/tlog.go").is_file()
        })
        .ok_or_else(|| {
            MissingPrerequisite::new(
                format!(
                    "golang.org/x/mod sources (sumdb/note, sumdb/tlog) not found in $GOPATH or {DEBIAN_GOPATH}"
                ),
                GO_PACKAGES,
            )
            .into()
        })
}

/// Builds the hotline binary with cargo and returns its path, as cargo reports it.
pub(crate) fn build_hotline(root: &Path, release: bool) -> Result<PathBuf> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root).args([
        "build",
        "--package",
        "hotline-cli",
        "--bin",
        "hotline",
        "--message-format=json-render-diagnostics",
    ]);
    if release {
        cmd.arg("--release");
    }
    // Compiler messages go straight to the terminal; only the JSON is captured.
    let out = run_captured(
        &mut cmd,
        "cargo build -p hotline-cli",
        BUILD_TIMEOUT,
        Stdio::inherit(),
    )?;
    if !out.status.success() {
        bail!("cargo build -p hotline-cli failed ({})", out.status);
    }
    out.stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["reason"] == "compiler-artifact" && v["target"]["name"] == "hotline")
        .find_map(|v| v["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| anyhow!("cargo build did not report the hotline executable"))
}

/// Builds the Go checker into `tmp` in GOPATH mode: nothing is downloaded.
pub(crate) fn build_checker(go: &Path, xmod: &Path, root: &Path, tmp: &Path) -> Result<PathBuf> {
    let src = root.join("interop/go/hotline-check");
    let own_gopath = tmp.join("gopath");
    std::fs::create_dir_all(&own_gopath).context("creating a GOPATH")?;
    let out = tmp.join("hotline-check");
    let gopath = std::env::join_paths([own_gopath.as_path(), xmod]).context("joining GOPATH")?;
    let mut cmd = Command::new(go);
    cmd.current_dir(&src)
        .arg("build")
        .arg("-o")
        .arg(&out)
        .arg(".")
        .env("GO111MODULE", "off")
        .env("GOPATH", gopath)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        // The pure-Go resolver: no C compiler needed.
        .env("CGO_ENABLED", "0");
    let no_home =
        std::env::var_os("HOME").is_none() && std::env::var_os("XDG_CACHE_HOME").is_none();
    if std::env::var_os("GOCACHE").is_none() && no_home {
        // Without a home directory go has nowhere to cache builds.
        cmd.env("GOCACHE", tmp.join("gocache"));
    }
    let res = run_captured(
        &mut cmd,
        "go build (hotline-check)",
        BUILD_TIMEOUT,
        Stdio::piped(),
    )?;
    if !res.status.success() {
        bail!(
            "go build of {} failed ({}):\n{}{}",
            src.display(),
            res.status,
            res.stdout,
            res.stderr
        );
    }
    Ok(out)
}

/// Appends `entries` synthetic entries with `hotline bench log`; returns the tree size.
fn fill(hotline: &Path, dir: &Path, entries: u64) -> Result<u64> {
    let out = run_ok(
        Command::new(hotline)
            .args(["bench", "log", "--json", "--dir"])
            .arg(dir)
            .arg("--entries")
            .arg(entries.to_string()),
        "hotline bench log",
    )?;
    let report: serde_json::Value = serde_json::from_str(&out.stdout)
        .with_context(|| format!("hotline bench log printed no JSON: {}", out.stdout))?;
    report["final_size"].as_u64().ok_or_else(|| {
        anyhow!(
            "hotline bench log's report has no final_size: {}",
            out.stdout
        )
    })
}

/// The C2SP tile path of `kind` ("0", "1", "entries") index `n`, full width.
fn tile_path(kind: &str, n: u64) -> String {
    let mut s = format!("{:03}", n % 1000);
    let mut rest = n / 1000;
    while rest > 0 {
        s = format!("x{:03}/{s}", rest % 1000);
        rest /= 1000;
    }
    format!("tile/{kind}/{s}")
}

/// The go checker and its verifier key.
struct Checker {
    path: PathBuf,
    vkey: PathBuf,
}

impl Checker {
    fn run(&self, log_url: &str, extra: &[&OsStr]) -> Result<Captured> {
        let mut cmd = Command::new(&self.path);
        cmd.args(["-url", log_url])
            .arg("-vkey")
            .arg(&self.vkey)
            .args(extra);
        run_captured(&mut cmd, "hotline-check", RUN_TIMEOUT, Stdio::piped())
    }
}

fn expect_ok(out: &Captured, what: &str) -> Result<()> {
    if !out.status.success() {
        bail!(
            "{what}: the Go checker rejected hotline's log ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(())
}

/// The checker must fail (exit 1, not a crash or a usage error) with every `needles` in its
/// message.
pub(crate) fn expect_failure(out: &Captured, what: &str, needles: &[&str]) -> Result<()> {
    let msg = out.stderr.trim();
    if out.status.success() {
        bail!(
            "tamper case {what}: the Go checker accepted the log: {}",
            out.stdout.trim()
        );
    }
    if out.status.code() != Some(1) || !msg.starts_with("hotline-check: FAIL: ") {
        bail!(
            "tamper case {what}: the checker did not fail cleanly ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    let missing: Vec<&&str> = needles.iter().filter(|n| !msg.contains(**n)).collect();
    if !missing.is_empty() {
        bail!("tamper case {what}: the checker failed, but its message lacks {missing:?}: {msg}");
    }
    println!("interop: tamper case {what}: rejected as expected: {msg}");
    Ok(())
}

/// Flips one bit inside the Ed25519 signature of the first signature line of a signed note
/// (past the 4-byte key hash, so the key is still recognised and the signature must be
/// checked, not skipped as unknown).
fn flip_signature_byte(note: &[u8]) -> Result<Vec<u8>> {
    let text = std::str::from_utf8(note).context("the checkpoint is not UTF-8")?;
    let split = text
        .find("\n\n")
        .ok_or_else(|| anyhow!("the checkpoint has no signature block"))?
        + 2;
    let (body, sigs) = text.split_at(split);
    let mut lines: Vec<String> = sigs.lines().map(str::to_owned).collect();
    let first = lines
        .first_mut()
        .ok_or_else(|| anyhow!("the checkpoint has no signature line"))?;
    let (prefix, b64) = first
        .rsplit_once(' ')
        .ok_or_else(|| anyhow!("malformed signature line {first:?}"))?;
    let mut sig = B64.decode(b64).context("signature is not base64")?;
    ensure!(
        sig.len() == 4 + 64,
        "expected an Ed25519 note signature, got {} bytes",
        sig.len()
    );
    sig[4 + 10] ^= 0x01;
    *first = format!("{prefix} {}", B64.encode(&sig));
    let mut out = body.to_owned();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// The database row to damage, and where in it.
enum Target {
    /// Hash tile `level`/`index`, byte `offset`.
    Tile {
        level: u8,
        index: u64,
        offset: usize,
    },
    /// Entry bundle `index`, a byte in the middle of entry `entry`.
    Bundle { index: u64, entry: usize },
}

struct TamperCase {
    what: String,
    target: Target,
    /// Substrings the checker's message must contain.
    expect: Vec<String>,
}

impl TamperCase {
    /// Flips one bit of the target row in the database of a running server.
    fn apply(&self, db: &Path) -> Result<()> {
        let conn =
            rusqlite::Connection::open(db).with_context(|| format!("opening {}", db.display()))?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let (select, update, key) = match self.target {
            Target::Tile { level, index, .. } => (
                "SELECT data FROM tiles WHERE level = ?1 AND idx = ?2",
                "UPDATE tiles SET data = ?3 WHERE level = ?1 AND idx = ?2",
                (i64::from(level), index),
            ),
            Target::Bundle { index, .. } => (
                "SELECT data FROM bundles WHERE ?1 = 0 AND idx = ?2",
                "UPDATE bundles SET data = ?3 WHERE ?1 = 0 AND idx = ?2",
                (0, index),
            ),
        };
        let key = (key.0, i64::try_from(key.1).context("index out of range")?);
        let mut data: Vec<u8> = conn
            .query_row(select, rusqlite::params![key.0, key.1], |r| r.get(0))
            .with_context(|| format!("reading the row to tamper for {}", self.what))?;
        let offset = match self.target {
            Target::Tile { offset, .. } => {
                ensure!(
                    data.len() == 256 * 32,
                    "{}: not a full tile ({} bytes)",
                    self.what,
                    data.len()
                );
                offset
            }
            Target::Bundle { entry, .. } => entry_body_offset(&data, entry)?,
        };
        data[offset] ^= 0x01;
        let changed = conn
            .execute(update, rusqlite::params![key.0, key.1, data])
            .with_context(|| format!("writing the tampered row for {}", self.what))?;
        ensure!(changed == 1, "{}: {changed} rows changed", self.what);
        Ok(())
    }
}

/// Offset of a byte in the middle of entry `k` of an entry bundle.
fn entry_body_offset(bundle: &[u8], k: usize) -> Result<usize> {
    let mut off = 0;
    let mut i = 0;
    loop {
        let len = bundle
            .get(off..off + 2)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
            .ok_or_else(|| anyhow!("entry bundle ends before entry {i}"))?;
        if i == k {
            ensure!(len > 0, "entry {k} of the bundle is empty");
            return Ok(off + 2 + len / 2);
        }
        off += 2 + len;
        i += 1;
    }
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir(to).with_context(|| format!("creating {}", to.display()))?;
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700))?;
    for e in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let e = e?;
        if e.file_type()?.is_file() {
            // fs::copy keeps the mode: the signing key stays 0600, as hotline insists.
            std::fs::copy(e.path(), to.join(e.file_name()))
                .with_context(|| format!("copying {}", e.path().display()))?;
        }
    }
    Ok(())
}

/// A child process that is killed when dropped unless it has exited.
pub(crate) struct ChildGuard {
    pub(crate) child: Child,
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// Output of a finished command.
pub(crate) struct Captured {
    pub(crate) status: ExitStatus,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

/// Runs a command to completion with captured stdout (and stderr if `stderr` is piped),
/// killing it after `timeout`.
pub(crate) fn run_captured(
    cmd: &mut Command,
    what: &str,
    timeout: Duration,
    stderr: Stdio,
) -> Result<Captured> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    let mut guard = ChildGuard {
        child: cmd.spawn().with_context(|| format!("starting {what}"))?,
    };
    let drain = |r: Option<Box<dyn std::io::Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(guard.child.stdout.take().map(|s| Box::new(s) as _));
    let err = drain(guard.child.stderr.take().map(|s| Box::new(s) as _));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(s) = guard.child.try_wait()? {
            break s;
        }
        if Instant::now() > deadline {
            bail!(
                "{what} did not finish within {} s; killed it",
                timeout.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stdout = out.join().map_err(|_| anyhow!("reading {what}'s output"))?;
    let stderr = err.join().map_err(|_| anyhow!("reading {what}'s errors"))?;
    Ok(Captured {
        status,
        stdout,
        stderr,
    })
}

/// Runs a command that must succeed.
pub(crate) fn run_ok(cmd: &mut Command, what: &str) -> Result<Captured> {
    let out = run_captured(cmd, what, RUN_TIMEOUT, Stdio::piped())?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}{}",
            out.status,
            out.stdout,
            out.stderr
        );
    }
    Ok(out)
}

/// A running `hotline serve` on 127.0.0.1.
pub(crate) struct Server {
    guard: ChildGuard,
    /// The log's URL prefix, `http://127.0.0.1:PORT/log`.
    pub(crate) log_url: String,
}

impl Server {
    /// Starts `hotline serve` on a port the kernel picks and waits for its ready line.
    pub(crate) fn start(hotline: &Path, dir: &Path) -> Result<Server> {
        Server::start_with(hotline, dir, Stdio::inherit(), &[])
    }

    /// [`Server::start`] with the server's stderr (its log) sent to `stderr` and extra
    /// environment variables.
    pub(crate) fn start_with(
        hotline: &Path,
        dir: &Path,
        stderr: Stdio,
        env: &[(&str, &str)],
    ) -> Result<Server> {
        let mut cmd = Command::new(hotline);
        cmd.envs(env.iter().copied());
        cmd.arg("serve")
            .arg("--dir")
            .arg(dir)
            // Loopback only: the test log must not be reachable from elsewhere.
            .args(["--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut guard = ChildGuard {
            child: cmd.spawn().context("starting hotline serve")?,
        };
        let stdout = guard
            .child
            .stdout
            .take()
            .ok_or_else(|| anyhow!("hotline serve has no stdout"))?;
        let (tx, rx) = mpsc::channel();
        // Reads the ready line, then keeps draining so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // "serving log …" for a bare log, "serving hotline …" for a hotline.
                if line.starts_with("serving ")
                    && line.contains(" on http://")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(line);
                }
            }
        });
        let line = match rx.recv_timeout(READY_TIMEOUT) {
            Ok(l) => l,
            Err(_) => {
                let status = guard.child.try_wait()?;
                bail!(
                    "hotline serve --dir {} did not report it was serving ({})",
                    dir.display(),
                    status.map_or_else(|| "still running; killed".to_owned(), |s| s.to_string())
                );
            }
        };
        // "serving log|hotline <origin> (size N) on http://ADDR/log/ — Ctrl-C to stop"
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .ok_or_else(|| anyhow!("no URL in hotline serve's ready line {line:?}"))?;
        let log_url = url.trim_end_matches('/').to_owned();
        ensure!(
            log_url.starts_with("http://127.0.0.1:") && log_url.ends_with("/log"),
            "hotline serve is not on 127.0.0.1 under /log: {line:?}"
        );
        Ok(Server { guard, log_url })
    }

    /// Stops the server with SIGTERM (a clean shutdown, so the next start finds a tidy
    /// database), killing it if it lingers.
    pub(crate) fn stop(mut self) -> Result<()> {
        let pid = self.guard.child.id().to_string();
        // std offers only SIGKILL and the workspace forbids unsafe code: use kill(1).
        let _ = Command::new("kill")
            .args(["-TERM", &pid])
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.guard.child.try_wait()? {
                ensure!(
                    status.success(),
                    "hotline serve exited with {status} on SIGTERM"
                );
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("hotline serve did not stop within 30 s of SIGTERM; killed it");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
