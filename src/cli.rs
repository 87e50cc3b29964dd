//! The command-line interface: one clap definition that produces `--help`, the man page and
//! the shell completions.

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgAction, Parser, Subcommand};

use crate::output::Format;

/// The IAP OAuth client ID that Posos documents for its API, the default audience.
pub const DEFAULT_CLIENT_ID: &str =
    "20286154155-852pf0ti456nd81ongbiecmjqgag84q3.apps.googleusercontent.com";

/// The environment variables the tool reads, for `--help` and the man page.
pub const ENVIRONMENT_HELP: &str = "\
Environment:
  GOOGLE_APPLICATION_CREDENTIALS  path of the service-account key file, when --credentials is not given
  POSOS_CLIENT_ID                 the IAP OAuth client ID, when --client-id is not given
  HTTPS_PROXY, NO_PROXY           proxy for the token endpoint, and hosts that bypass it
  SSL_CERT_FILE                   PEM file of root certificates to trust instead of the built-in ones
  POSOS_TOKEN_CACHE_DIR           token cache directory [default: $XDG_CACHE_HOME/posos-token]";

/// Print a Google-signed identity token for the Posos API, made from a service-account key.
///
/// Reads the key, signs a JWT assertion, exchanges it at the key's token_uri for an OpenID
/// Connect identity token whose audience is the Posos IAP client ID, and prints it.
#[derive(Debug, Parser)]
#[command(name = "posos-token", version, after_help = after_help())]
pub struct Cli {
    /// Service-account key file (JSON); - reads it from standard input
    /// [default: $GOOGLE_APPLICATION_CREDENTIALS]
    #[arg(short, long, value_name = "FILE")]
    pub credentials: Option<OsString>,

    /// IAP OAuth client ID, the audience of the identity token
    #[arg(
        long,
        visible_alias = "audience",
        value_name = "ID",
        env = "POSOS_CLIENT_ID",
        default_value = DEFAULT_CLIENT_ID,
        value_parser = parse_client_id,
    )]
    pub client_id: String,

    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Token)]
    pub format: Format,

    /// Print "Authorization: Bearer <token>" (short for --format header)
    #[arg(short = 'H', long, conflicts_with = "format")]
    pub header: bool,

    /// Bound on the whole run, in seconds
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout)]
    pub timeout: Duration,

    /// Log each step on stderr (-vv adds HTTP details); never logs a secret
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Print no warnings, only errors
    #[arg(short, long)]
    pub quiet: bool,

    /// Neither read nor write the token cache
    #[arg(long, help_heading = "Cache")]
    pub no_cache: bool,

    /// Fetch a new token even when a cached one is valid, and cache it
    #[arg(long, conflicts_with = "no_cache", help_heading = "Cache")]
    pub refresh: bool,

    /// Use a cached token only while it has at least this many seconds of life left
    #[arg(
        long,
        value_name = "SECONDS",
        default_value = "300",
        value_parser = parse_min_valid,
        help_heading = "Cache"
    )]
    pub min_valid: Duration,

    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands. Without one, the tool prints a token.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Manage the token cache
    #[command(subcommand)]
    Cache(CacheCommand),
}

/// The actions of `posos-token cache`.
#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Remove every cached token
    Clear,
    /// Print the cache directory
    Path,
}

impl Cli {
    /// Returns how this run uses the token cache.
    pub fn cache_policy(&self) -> crate::cache::Policy {
        crate::cache::Policy {
            enabled: !self.no_cache,
            refresh: self.refresh,
            min_valid: self.min_valid,
        }
    }

    /// Returns the output format, taking `-H` into account.
    pub fn output_format(&self) -> Format {
        if self.header {
            Format::Header
        } else {
            self.format
        }
    }
}

fn after_help() -> String {
    format!("{}\n{ENVIRONMENT_HELP}", crate::exit_code::table())
}

/// Accepts a client ID without whitespace or control characters, which would never match.
fn parse_client_id(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("the client ID is empty".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "the client ID contains whitespace; copy it again without spaces or newlines".into(),
        );
    }
    Ok(value.to_string())
}

/// Accepts a positive number of seconds, fractions allowed, up to one day.
fn parse_timeout(value: &str) -> Result<Duration, String> {
    let seconds: f64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err("the timeout must be more than 0 and at most 86400 seconds".into());
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// Accepts a whole number of seconds up to one day; Google's identity tokens last one hour.
fn parse_min_valid(value: &str) -> Result<Duration, String> {
    let seconds: u64 = value
        .parse()
        .map_err(|_| format!("{value:?} is not a whole number of seconds"))?;
    if seconds > 86_400 {
        return Err("--min-valid must be at most 86400 seconds".into());
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn timeout_accepts_fractions_and_rejects_zero() {
        assert_eq!(parse_timeout("1.5"), Ok(Duration::from_millis(1500)));
        assert!(parse_timeout("0").is_err());
        assert!(parse_timeout("-3").is_err());
        assert!(parse_timeout("NaN").is_err());
        assert!(parse_timeout("abc").is_err());
    }

    #[test]
    fn min_valid_accepts_whole_seconds() {
        assert_eq!(parse_min_valid("0"), Ok(Duration::ZERO));
        assert_eq!(parse_min_valid("300"), Ok(Duration::from_secs(300)));
        assert!(parse_min_valid("1.5").is_err());
        assert!(parse_min_valid("-1").is_err());
        assert!(parse_min_valid("86401").is_err());
    }

    #[test]
    fn client_id_rejects_whitespace() {
        assert!(parse_client_id("a b").is_err());
        assert!(parse_client_id("").is_err());
        assert!(parse_client_id(DEFAULT_CLIENT_ID).is_ok());
    }
}
