//! `cargo xtask …`: developer chores that CI runs too. Each is a plain Rust program so no step
//! has to be remembered by hand.

mod crash;
mod interop;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a hotline log with the Go reference (golang.org/x/mod/sumdb/note and tlog).
    Interop(interop::Args),
    /// Kill a hotline that is appending, again and again, and check nothing receipted is lost.
    Crash(crash::Args),
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::Interop(a) => interop::run(&a),
        Command::Crash(a) => crash::run(&a),
    }
}
