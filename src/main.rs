use std::io::{self, Write};
use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use posos_token::cli::{Cli, Command};
use posos_token::error::Error;
use posos_token::secret::Secret;
use posos_token::{doctor, exit_code, inspect, logger, output};

fn main() -> ExitCode {
    if let Err(err) = posos_token::cli::refuse_key_material(std::env::args_os()) {
        report(&err);
        return err.class().into();
    }
    let cli = Cli::parse();
    logger::init(cli.verbose, cli.quiet);

    let result = match &cli.command {
        None | Some(Command::Cache(_)) => {
            posos_token::run(&cli).and_then(|rendered| print(&rendered))
        }
        Some(Command::Inspect(args)) => inspect::run(args, Instant::now() + cli.timeout)
            .and_then(|text| print(&Secret::new(text))),
        Some(Command::Doctor(args)) => doctor::run(&cli, args, &mut io::stdout().lock()),
    };

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            err.class().into()
        }
    }
}

/// Writes the requested output on stdout.
fn print(rendered: &Secret<String>) -> Result<(), Error> {
    match output::write(rendered, io::stdout().lock()) {
        Ok(()) => Ok(()),
        // The reader closed the pipe (as `| head -c 5` does); it has all it requested.
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(err) => Err(Error::new(
            exit_code::ExitCode::Output,
            format!("failed to write to standard output: {err}"),
        )
        .hint("check where standard output goes: a full disk, or a file or pipe that can't be written")),
    }
}

/// Prints an error once, with the program-name prefix, then its hints.
fn report(err: &Error) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "posos-token: {}", err.message());
    for hint in err.hints() {
        let _ = writeln!(stderr, "  hint: {hint}");
    }
}
