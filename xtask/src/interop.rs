//! `cargo xtask interop`: placeholder until the Go checker lands.

use anyhow::{Result, bail};

/// Options.
#[derive(clap::Args)]
pub struct Args {}

/// Runs the interop check.
pub fn run(_args: &Args) -> Result<()> {
    bail!("not implemented yet")
}
