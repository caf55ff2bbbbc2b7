//! `cargo xtask crash`: placeholder until the crash harness lands.

use anyhow::{Result, bail};

/// Options.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the crash check.
pub fn run(_args: &Args) -> Result<()> {
    bail!("not implemented yet")
}
