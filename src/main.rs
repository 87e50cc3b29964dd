use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use posos_token::cli::Cli;
use posos_token::error::Error;
use posos_token::{exit_code, logger, output};

fn main() -> ExitCode {
    let cli = Cli::parse();
    logger::init(cli.verbose, cli.quiet);

    let result = posos_token::run(&cli).and_then(|rendered| {
        match output::write(&rendered, io::stdout().lock()) {
            Ok(()) => Ok(()),
            // The reader closed the pipe (as `| head -c 5` does); it has all it wanted.
            Err(err) if err.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(err) => Err(Error::new(
                exit_code::ExitCode::Output,
                format!("failed to write to standard output: {err}"),
            )),
        }
    });

    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            report(&err);
            err.class().into()
        }
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
