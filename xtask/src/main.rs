//! `cargo xtask …`: developer chores that CI runs too. Each is a plain Rust program so no step
//! has to be remembered by hand.

mod bench_taxii;
mod console_browser;
mod crash;
mod interop;
mod interop_statements;

use std::process::ExitCode;

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
    /// Check a hotline's statements with golang.org/x/mod/sumdb/note and its payloads with age.
    InteropStatements(interop_statements::Args),
    /// The web console in Debian's chromium: officer scenario, auditor views, both languages.
    ConsoleBrowser(console_browser::Args),
    /// Rebuild the console's committed JavaScript bundle (npm ci && npm run build).
    ConsoleAssets,
    /// Kill a hotline that is appending, again and again, and check nothing receipted is lost.
    Crash(crash::Args),
    /// hotline's TAXII 2.1 server and medallion (OASIS reference, memory backend) side by side.
    BenchTaxii(bench_taxii::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Interop(a) => interop::run(&a),
        Command::InteropStatements(a) => interop_statements::run(&a),
        Command::ConsoleBrowser(a) => console_browser::run(&a),
        Command::ConsoleAssets => console_browser::rebuild_assets(),
        Command::Crash(a) => crash::run(&a),
        Command::BenchTaxii(a) => bench_taxii::run(&a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // A machine without the external reference tools gets its own status, so the test
        // that runs this can skip instead of failing (unless HOTLINE_REQUIRE_EXTERNAL=1).
        Err(e) if e.chain().any(|c| c.is::<interop::MissingPrerequisite>()) => {
            eprintln!("cargo xtask: {e}");
            ExitCode::from(interop::EXIT_MISSING_PREREQUISITE)
        }
        Err(e) => {
            eprintln!("cargo xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
