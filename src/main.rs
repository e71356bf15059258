//! The `copyimage-conformance` command: parses flags, runs the library, maps errors to exit
//! codes.

use std::process::ExitCode;

use clap::Parser;
use copyimage_conformance::{Redactor, exit};

mod cli;

fn main() -> ExitCode {
    let args = match cli::Cli::try_parse() {
        Ok(args) => args,
        // --help and --version print as clap formats them, to stdout, with exit code 0.
        Err(e) if !e.use_stderr() => e.exit(),
        // No command at all: the help, as clap prints it for a missing subcommand (standard
        // error, exit code 2), rather than the description folded into an error line.
        Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        Err(e) => {
            eprintln!("copyimage-conformance: {} (see --help)", one_line(&e.to_string()));
            return ExitCode::from(exit::SETUP_ERROR);
        }
    };
    match cli::run(args) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            // A closed pipe (`| head`) is the reader's choice, not a failure.
            if err.chain().any(|e| {
                e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            }) {
                return ExitCode::from(exit::OK);
            }
            // Set-up errors can quote a server that echoed the request's credentials.
            let redactor = Redactor::from_process_env();
            eprintln!("copyimage-conformance: error: {}", redactor.text(&format!("{err:#}")));
            ExitCode::from(exit::SETUP_ERROR)
        }
    }
}

/// A clap error on one line: the message and its tips ("a similar argument exists"), without
/// the usage block, whitespace folded.
fn one_line(rendered: &str) -> String {
    let blocks = rendered.split("\n\n").map(str::trim).filter(|b| !b.is_empty());
    let kept: Vec<&str> =
        blocks.take_while(|b| !b.starts_with("Usage:") && !b.starts_with("For more information")).collect();
    let message = kept.join("; ");
    let message = message.trim_start_matches("error: ");
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

// Generation allocates many small strings; mimalloc was faster than glibc's malloc for `bench`
// on this workload in a profile taken during development.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
