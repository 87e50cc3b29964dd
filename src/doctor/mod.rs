//! `posos-token doctor`: walks the setup one step at a time and prints one line per step,
//! marked ok, warning, failed or skipped, with what to do after each failure or warning.
//!
//! Each step is a function in `steps` that reads and fills a shared `Context`. A step that
//! needs what an earlier step could not produce reports itself as skipped. Adding a step means
//! writing its function and adding one line to `STEPS`.
//!
//! No step prints a secret: the private key, the assertion and the identity token stay inside
//! the `Context`, and the lines show only paths, names, sizes, statuses and times.

mod steps;

use std::io::{self, Write};
use std::time::Instant;

use clap::Args;
use serde_json::{Map, Value};

use crate::cli::Cli;
use crate::credentials::{Origin, ServiceAccountKey};
use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::id_token::IdToken;
use crate::secret::Secret;

/// Text for `posos-token doctor --help`.
pub const AFTER_HELP: &str = "\
Each step prints one line marked ok, warning, failed or skipped; a failed step is followed by
what to do. The exit status is 0 when no step failed and 1 otherwise. No secret is printed.";

/// Arguments of `posos-token doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Skip the exchange at the token endpoint, and the steps that need its response
    #[arg(long)]
    pub offline: bool,
}

/// The outcome of one step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Ok,
    Warning,
    Failed,
    /// The step could not run, because an earlier one failed or it does not apply.
    Skipped,
}

impl Status {
    fn label(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warning => "warning",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
        }
    }
}

/// The result of one step: its status, a one-line summary and hints on what to do.
#[derive(Debug)]
pub struct Check {
    pub status: Status,
    pub summary: String,
    pub hints: Vec<String>,
}

impl Check {
    pub fn ok(summary: impl Into<String>) -> Self {
        Check::new(Status::Ok, summary)
    }

    pub fn warning(summary: impl Into<String>) -> Self {
        Check::new(Status::Warning, summary)
    }

    pub fn failed(summary: impl Into<String>) -> Self {
        Check::new(Status::Failed, summary)
    }

    pub fn skipped(summary: impl Into<String>) -> Self {
        Check::new(Status::Skipped, summary)
    }

    /// A failed step built from an error of the main path, with its message and hints.
    pub fn from_error(error: &Error) -> Self {
        Check {
            status: Status::Failed,
            summary: error.message().to_string(),
            hints: error.hints().to_vec(),
        }
    }

    fn new(status: Status, summary: impl Into<String>) -> Self {
        Check {
            status,
            summary: summary.into(),
            hints: Vec::new(),
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }
}

/// One step of the walk: the name printed on its line and the function that runs it.
pub struct Step {
    pub name: &'static str,
    pub run: fn(&mut Context<'_>) -> Check,
}

/// The steps in the order they run. Later steps read what earlier ones stored in the context.
pub const STEPS: &[Step] = &[
    Step {
        name: "credentials",
        run: steps::credentials,
    },
    Step {
        name: "permissions",
        run: steps::permissions,
    },
    Step {
        name: "key file",
        run: steps::key_file,
    },
    Step {
        name: "service account",
        run: steps::service_account,
    },
    Step {
        name: "private key",
        run: steps::private_key,
    },
    Step {
        name: "client ID",
        run: steps::client_id,
    },
    Step {
        name: "token_uri",
        run: steps::token_uri,
    },
    Step {
        name: "proxy",
        run: steps::proxy,
    },
    Step {
        name: "cache",
        run: steps::cache,
    },
    Step {
        name: "exchange",
        run: steps::exchange,
    },
    Step {
        name: "clock",
        run: steps::clock,
    },
    Step {
        name: "identity token",
        run: steps::identity_token,
    },
];

/// The state that earlier steps pass to later ones.
pub struct Context<'a> {
    pub cli: &'a Cli,
    pub args: &'a DoctorArgs,
    pub deadline: Instant,
    /// The credentials' origin, once the first step found them.
    pub origin: Option<Origin>,
    /// The bytes of the credentials, once read.
    pub bytes: Option<Secret<Vec<u8>>>,
    /// The key file's fields other than `private_key`, once it parsed as a JSON object.
    pub fields: Option<Map<String, Value>>,
    /// The decoded key, once it parsed.
    pub key: Option<ServiceAccountKey>,
    /// The token endpoint's response, once the exchange got one.
    pub exchange: Option<Exchange>,
    /// Set when the identity token comes from a source other than a service-account key
    /// exchanged directly: the metadata server, or credentials of another type.
    pub other_source: bool,
}

/// The result of the one exchange at the token endpoint.
pub struct Exchange {
    /// The URL posted to, or a description of the credential source that was used.
    pub token_uri: String,
    /// Whether the token came through the credential source's own requests, whose `Date`
    /// headers are not kept, rather than from one POST to a token endpoint.
    pub through_source: bool,
    /// The HTTP status.
    pub status: u16,
    /// The `Date` header, as sent.
    pub date: Option<String>,
    /// This machine's clock when the response arrived, in seconds since the Unix epoch.
    pub received_at: i64,
    /// The identity token, or why there is none.
    pub token: Result<IdToken>,
}

/// Runs every step, prints one line each on `out`, and returns an error (exit 1) naming the
/// failed steps when any failed.
pub fn run(cli: &Cli, args: &DoctorArgs, out: &mut dyn Write) -> Result<()> {
    crate::trust::set_ca_file(cli.ca_file.clone());
    // The permissions step reports what the warning would repeat on stderr.
    crate::credentials::source::report_permissions_elsewhere();
    let mut context = Context {
        cli,
        args,
        deadline: Instant::now() + cli.timeout,
        origin: None,
        bytes: None,
        fields: None,
        key: None,
        exchange: None,
        other_source: false,
    };

    let mut failed = Vec::new();
    let mut counts = [0usize; 4];
    for step in STEPS {
        log::info!("doctor: checking {}", step.name);
        let check = (step.run)(&mut context);
        counts[check.status as usize] += 1;
        if check.status == Status::Failed {
            failed.push(step.name);
        }
        write_check(out, step.name, &check).or_else(output_error)?;
    }
    // The key material is wiped as the context drops; nothing after this reads it.
    drop(context);

    let summary = format!(
        "\n{} ok, {} warning{}, {} failed, {} skipped\n",
        counts[Status::Ok as usize],
        counts[Status::Warning as usize],
        if counts[Status::Warning as usize] == 1 {
            ""
        } else {
            "s"
        },
        counts[Status::Failed as usize],
        counts[Status::Skipped as usize],
    );
    out.write_all(summary.as_bytes())
        .and_then(|()| out.flush())
        .or_else(output_error)?;

    if failed.is_empty() {
        return Ok(());
    }
    let hint = if failed.contains(&"clock") {
        "this machine's clock is off, which makes the exchange fail: fix the clock first, then run posos-token doctor again"
    } else {
        "fix the first failed step as its line says, then run posos-token doctor again"
    };
    Err(Error::new(
        ExitCode::Failure,
        format!(
            "doctor found {} failed step{}: {}",
            failed.len(),
            if failed.len() == 1 { "" } else { "s" },
            failed.join(", ")
        ),
    )
    .hint(hint))
}

/// The width of the status column: the longest label and a space.
const STATUS_WIDTH: usize = 8;

/// The width of the step-name column.
const NAME_WIDTH: usize = 16;

fn write_check(out: &mut dyn Write, name: &str, check: &Check) -> io::Result<()> {
    let mut text = format!(
        "{:<STATUS_WIDTH$} {name:<NAME_WIDTH$} {}\n",
        check.status.label(),
        check.summary
    );
    let indent = " ".repeat(STATUS_WIDTH + 1 + NAME_WIDTH + 1);
    for hint in &check.hints {
        text.push_str(&format!("{indent}hint: {hint}\n"));
    }
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// Turns a failed write into an error, except a closed pipe (as `| head -1` leaves): the reader
/// has what it requested, and the exit status still shows whether a step failed.
fn output_error(err: io::Error) -> Result<()> {
    if err.kind() == io::ErrorKind::BrokenPipe {
        return Ok(());
    }
    Err(Error::new(
        ExitCode::Output,
        format!("failed to write to standard output: {err}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_names_fit_the_column() {
        for step in STEPS {
            assert!(step.name.len() <= NAME_WIDTH, "{}", step.name);
        }
    }

    #[test]
    fn check_line_has_status_name_and_hints() {
        let mut out = Vec::new();
        let check = Check::failed("the key is missing").hint("ask for a new one");
        write_check(&mut out, "credentials", &check).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("failed   credentials      the key is missing\n"),
            "{text}"
        );
        assert!(text.ends_with("hint: ask for a new one\n"));
    }
}
