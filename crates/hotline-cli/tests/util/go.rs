//! The Go reference checker of the log (`interop/go/hotline-check`, built on
//! golang.org/x/mod/sumdb/note and sumdb/tlog), built as `cargo xtask interop` builds it: GOPATH
//! mode against Debian's golang-golang-x-mod-dev sources, nothing downloaded. (A test of this
//! crate cannot call the xtask crate, which depends on nothing of hotline; these few lines are
//! the same recipe.)

use std::path::{Path, PathBuf};
use std::process::Command;

const PACKAGES: &str = "golang-go golang-golang-x-mod-dev";

fn skip_or_fail(why: &str) -> Option<PathBuf> {
    let required = std::env::var("HOTLINE_REQUIRE_EXTERNAL").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "HOTLINE_REQUIRE_EXTERNAL=1 but the Go reference checker cannot run: {why}"
    );
    println!("skipping the Go reference check: {why}; install {PACKAGES}");
    None
}

/// Builds the checker into `out_dir`; `None` (after saying why) when Go or the x/mod sources
/// are missing, unless HOTLINE_REQUIRE_EXTERNAL=1, where that fails the test.
pub fn build_checker(out_dir: &Path) -> Option<PathBuf> {
    if !Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return skip_or_fail("`go version` does not run");
    }
    let mut gopaths: Vec<PathBuf> = std::env::var_os("GOPATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    gopaths.push(PathBuf::from("/usr/share/gocode"));
    let Some(xmod) = gopaths.into_iter().find(|gp| {
        gp.join("src/golang.org/x/mod/sumdb/note/note.go").is_file()
            && gp.join("src/golang.org/x/mod/sumdb/tlog/tlog.go").is_file()
    }) else {
        return skip_or_fail("golang.org/x/mod sources not found in $GOPATH or /usr/share/gocode");
    };
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop/go/hotline-check");
    let own = out_dir.join("gopath");
    std::fs::create_dir_all(&own).unwrap();
    let out = out_dir.join("hotline-check");
    let mut cmd = Command::new("go");
    cmd.current_dir(&src)
        .arg("build")
        .arg("-o")
        .arg(&out)
        .arg(".")
        .env("GO111MODULE", "off")
        .env(
            "GOPATH",
            std::env::join_paths([own.as_path(), &xmod]).unwrap(),
        )
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env("CGO_ENABLED", "0");
    if std::env::var_os("GOCACHE").is_none()
        && std::env::var_os("HOME").is_none()
        && std::env::var_os("XDG_CACHE_HOME").is_none()
    {
        cmd.env("GOCACHE", out_dir.join("gocache"));
    }
    let res = cmd.output().unwrap();
    assert!(
        res.status.success(),
        "go build of {} failed ({}):\n{}{}",
        src.display(),
        res.status,
        String::from_utf8_lossy(&res.stdout),
        String::from_utf8_lossy(&res.stderr)
    );
    Some(out)
}
