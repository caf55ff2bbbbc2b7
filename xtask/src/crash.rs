//! `cargo xtask crash`: the kill -9 durability harness for any number of cycles.
//!
//! The harness itself is the integration test `crates/hotline-cli/tests/durability.rs` (CI
//! runs it with 50 cycles through `cargo test`); this runs that same test in release mode with
//! `HOTLINE_CRASH_CYCLES` (and `HOTLINE_CRASH_SEED`) set, so that one documented command,
//! `cargo xtask crash --cycles 1000`, does 1,000 cycles. Each cycle starts `hotline bench log`
//! on the same data directory, SIGKILLs it at a random moment and checks that every receipt it
//! handed out still holds, that every checkpoint it published is consistent with the latest,
//! and that the stored tiles and root recompute from the stored entries.

use std::ffi::OsString;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context as _, Result, bail};

/// Options.
#[derive(clap::Args)]
pub struct Args {
    /// Kill cycles to run.
    #[arg(long, default_value_t = 1000)]
    pub cycles: u64,
    /// Seed of the harness's random choices (kill moments, batch sizes); printed by every run,
    /// so a failure can be replayed (as far as the kernel's timing allows).
    #[arg(long)]
    pub seed: Option<u64>,
}

/// Runs the durability test with the requested number of cycles.
pub fn run(args: &Args) -> Result<()> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let root = manifest.parent().unwrap_or(manifest);
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root)
        .args([
            "test",
            "--release",
            "-p",
            "hotline-cli",
            "--test",
            "durability",
        ])
        .args(["--", "--nocapture"])
        .env("HOTLINE_CRASH_CYCLES", args.cycles.to_string());
    match args.seed {
        Some(seed) => cmd.env("HOTLINE_CRASH_SEED", seed.to_string()),
        // A seed left in the caller's environment would silently replay an old run.
        None => cmd.env_remove("HOTLINE_CRASH_SEED"),
    };
    println!(
        "crash: cargo test --release -p hotline-cli --test durability -- --nocapture \
         (HOTLINE_CRASH_CYCLES={})",
        args.cycles
    );
    let started = Instant::now();
    let status = cmd.status().context("running cargo test")?;
    let secs = started.elapsed().as_secs_f64();
    if !status.success() {
        bail!("the durability test failed ({status}) after {secs:.0} s; its output names the seed");
    }
    println!("crash: {} cycles passed in {secs:.0} s", args.cycles);
    Ok(())
}
