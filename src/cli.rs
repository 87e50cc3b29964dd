//! The command-line interface: one clap definition that produces `--help`, the man page and
//! the shell completions.

use std::ffi::OsString;
use std::time::Duration;

use clap::{ArgAction, Parser, Subcommand};

use crate::error::Error;
use crate::exit_code::ExitCode;
use crate::output::Format;

/// The IAP OAuth client ID that Posos documents for its API, the default audience.
pub const DEFAULT_CLIENT_ID: &str =
    "20286154155-852pf0ti456nd81ongbiecmjqgag84q3.apps.googleusercontent.com";

/// The environment variables the tool reads, for `--help` and the man page.
pub const ENVIRONMENT_HELP: &str = "\
Environment:
  GOOGLE_APPLICATION_CREDENTIALS  path of the key file, when --credentials is
                                  not given
  POSOS_CLIENT_ID                 the IAP OAuth client ID, when --client-id is
                                  not given
  HTTPS_PROXY, https_proxy        proxy for https requests (curl's order:
                                  HTTPS_PROXY, https_proxy, ALL_PROXY)
  ALL_PROXY, all_proxy            proxy when HTTPS_PROXY is not set
  NO_PROXY, no_proxy              hosts reached directly, bypassing the proxy
  CLOUDSDK_CONFIG                 gcloud's configuration directory, which
                                  holds application_default_credentials.json
  GCE_METADATA_HOST               host[:port] of the metadata server; never
                                  reached through a proxy
  NO_GCE_CHECK                    true: don't detect Google Cloud to use its
                                  metadata server
  POSOS_IMPERSONATE_SERVICE_ACCOUNT
                                  the service account to impersonate, when
                                  --impersonate-service-account is not given
  POSOS_IAM_CREDENTIALS_URL       base URL of the IAM Credentials API
                                  [default:
                                  https://iamcredentials.googleapis.com]
  GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES
                                  1: allow an external_account file to run its
                                  executable source
  SSL_CERT_FILE                   extra PEM bundle of trusted CA certificates
  SSL_CERT_DIR                    extra directories of trusted CA certificates
                                  (PEM files)
  POSOS_TOKEN_CACHE_DIR           token cache directory [default:
                                  $XDG_CACHE_HOME/posos-token, else
                                  ~/.cache/posos-token on Linux]";

/// Print a Google-signed identity token for the Posos API, made from a service-account key.
///
/// Reads the key, signs a JWT assertion, exchanges it at the key's token_uri for an OpenID
/// Connect identity token whose audience is the Posos IAP client ID, and prints it.
#[derive(Debug, Parser)]
#[command(name = "posos-token", version, after_help = after_help())]
pub struct Cli {
    /// Credentials file (JSON); - reads it from standard input
    /// [default: the order under "Credential discovery" in posos-token --help]
    #[arg(short, long, value_name = "FILE", global = true)]
    pub credentials: Option<OsString>,

    /// IAP OAuth client ID, the audience of the identity token
    #[arg(
        long,
        visible_alias = "audience",
        value_name = "ID",
        env = "POSOS_CLIENT_ID",
        default_value = DEFAULT_CLIENT_ID,
        value_parser = parse_client_id,
        global = true,
    )]
    pub client_id: String,

    /// Output format
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = Format::Token)]
    pub format: Format,

    /// Print "Authorization: Bearer <token>" (short for --format header)
    #[arg(short = 'H', long, conflicts_with = "format")]
    pub header: bool,

    /// Bound on the whole run, in seconds
    #[arg(long, value_name = "SECONDS", default_value = "30", value_parser = parse_timeout, global = true)]
    pub timeout: Duration,

    /// Log each step on stderr (-vv adds HTTP details); never logs a secret
    #[arg(short, long, action = ArgAction::Count, conflicts_with = "quiet", global = true)]
    pub verbose: u8,

    /// Print no warnings, only errors
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Act as this service account: the credentials get its identity token through the IAM
    /// Credentials API, which needs the role Service Account OpenID Connect Identity Token
    /// Creator on it
    #[arg(
        long,
        value_name = "EMAIL",
        env = "POSOS_IMPERSONATE_SERVICE_ACCOUNT",
        value_parser = parse_service_account,
        global = true
    )]
    pub impersonate_service_account: Option<String>,

    /// Service accounts of the delegation chain to the impersonated one, comma-separated
    #[arg(
        long,
        value_name = "EMAIL,...",
        value_delimiter = ',',
        requires = "impersonate_service_account",
        value_parser = parse_service_account,
        global = true
    )]
    pub delegates: Vec<String>,

    /// Sign a token locally with the service-account key, with URL (the IAP-protected
    /// resource) as its audience, instead of asking Google; IAP accepts it when the service
    /// account is authorised on that resource
    #[arg(
        long,
        value_name = "URL",
        value_parser = parse_resource_url
    )]
    pub self_signed: Option<String>,

    /// Also trust the CA certificates in this PEM file, as for a proxy that intercepts TLS.
    /// The system certificate store stays trusted
    #[arg(long, value_name = "FILE", global = true)]
    pub ca_file: Option<std::path::PathBuf>,

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

    /// Without a subcommand, the token is printed.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands. Each variant's arguments live in the module that runs it.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode an identity token offline and print its header and claims (the signature is not verified)
    #[command(after_help = crate::inspect::AFTER_HELP)]
    Inspect(crate::inspect::InspectArgs),
    /// Check the setup step by step, ending with one real exchange at the token endpoint
    #[command(after_help = crate::doctor::AFTER_HELP)]
    Doctor(crate::doctor::DoctorArgs),
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

    /// Returns the service account to impersonate and its delegation chain, when one is named.
    pub fn impersonation(&self) -> Option<crate::sources::Impersonation> {
        let account = self.impersonate_service_account.as_ref()?;
        Some(crate::sources::Impersonation {
            account: account.clone(),
            delegates: self.delegates.clone(),
        })
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
    format!(
        "{}\n{}\n\n{ENVIRONMENT_HELP}",
        crate::exit_code::table(),
        crate::sources::discovery::DISCOVERY_HELP
    )
}

/// Returns an error when an argument contains a credential secret: a PEM block, the JSON of a
/// credentials file, or a refresh token. clap would quote such an argument whole in its usage
/// error, which often ends up in a CI log, so this error names only the argument's position.
pub fn refuse_key_material(args: impl IntoIterator<Item = OsString>) -> Result<(), Error> {
    for (position, arg) in args.into_iter().enumerate().skip(1) {
        let text = arg.to_string_lossy();
        let what = if text.contains("PRIVATE KEY-----") || text.contains("\"private_key\"") {
            "private key material"
        } else if text.contains("\"refresh_token\"") || text.contains("\"client_secret\"") {
            "the JSON of user credentials, with their refresh token"
        } else if text.trim_start().starts_with("1//") {
            // Google's refresh tokens start with "1//".
            "what looks like a refresh token"
        } else {
            continue;
        };
        return Err(Error::new(
            ExitCode::Usage,
            format!("argument {position} holds {what}, not an option or a path"),
        )
        .hint("pass the credentials file's path with --credentials FILE, or its JSON on standard input with --credentials -")
        .hint("the argument is not shown here, so that the secret stays out of logs; remove it from the command line and from the shell history"));
    }
    Ok(())
}

/// Accepts a service-account email or unique ID, which goes into a URL path, so it may only
/// hold the characters such names use.
fn parse_service_account(value: &str) -> Result<String, String> {
    let value = value.trim();
    let email = value
        .split_once('@')
        .is_some_and(|(name, domain)| !name.is_empty() && domain.contains('.'));
    let unique_id = !value.is_empty() && value.chars().all(|c| c.is_ascii_digit());
    let valid = (email || unique_id)
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "@.-_+".contains(c));
    if !valid {
        return Err(
            "expected a service-account email such as name@project.iam.gserviceaccount.com".into(),
        );
    }
    Ok(value.to_string())
}

/// Accepts the http(s) URL of an IAP-protected resource.
fn parse_resource_url(value: &str) -> Result<String, String> {
    let uri: ureq::http::Uri = value
        .parse()
        .map_err(|_| format!("{value:?} is not a valid URL"))?;
    let loopback = uri.host().is_some_and(crate::credentials::url::is_loopback);
    let scheme_ok = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => loopback,
        _ => false,
    };
    if !scheme_ok || uri.host().is_none() {
        return Err(
            "expected the https:// URL of the IAP-protected resource (http:// only for a loopback host)"
                .into(),
        );
    }
    Ok(value.to_string())
}

/// Accepts a client ID without whitespace or control characters, which would never match.
fn parse_client_id(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("the client ID is empty (check --client-id and POSOS_CLIENT_ID)".into());
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(
            "the client ID contains whitespace; copy it again without spaces or newlines".into(),
        );
    }
    // An audience is a client ID or a URL, so JSON punctuation means something else was pasted.
    if value.contains(['{', '}', '"']) {
        return Err(
            "the client ID contains { } or \", so it is not a client ID; give the IAP OAuth client ID, such as NUMBER-ID.apps.googleusercontent.com"
                .into(),
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
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    // A number too large for u64 is still a number: it gets the message about the token's life.
    let seconds: u64 = match value.parse() {
        Ok(seconds) => seconds,
        Err(_) if digits => u64::MAX,
        Err(_) => return Err(format!("{value:?} is not a whole number of seconds")),
    };
    // Google's identity tokens live one hour, so a cached token never has that much left.
    if seconds >= 3600 {
        return Err(
            "an identity token lives 3600 seconds, so --min-valid must be less; use --refresh to fetch a new token every time"
                .into(),
        );
    }
    Ok(Duration::from_secs(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn service_account_email_or_unique_id() {
        assert!(parse_service_account("t@p.iam.gserviceaccount.com").is_ok());
        assert!(parse_service_account("123456789012345678901").is_ok());
        for value in ["notanemail", "@p.iam", "t@nodot", "", "t@p.iam/x"] {
            assert!(parse_service_account(value).is_err(), "{value}");
        }
    }

    #[test]
    fn resource_url_https_or_loopback() {
        assert!(parse_resource_url("https://api.example.com/").is_ok());
        assert!(parse_resource_url("http://127.0.0.1:8080/").is_ok());
        assert!(parse_resource_url("http://[::1]/").is_ok());
        assert!(parse_resource_url("http://localhost/").is_ok());
        assert!(parse_resource_url("http://api.example.com/").is_err());
        assert!(parse_resource_url("api.example.com").is_err());
    }

    #[test]
    fn min_valid_huge_number() {
        let err = parse_min_valid("99999999999999999999").unwrap_err();
        assert!(err.contains("3600"), "{err}");
        assert!(parse_min_valid("1.5").unwrap_err().contains("whole number"));
    }

    #[test]
    fn key_material_argument_rejected() {
        let args = |list: &[&str]| list.iter().map(OsString::from).collect::<Vec<_>>();
        assert!(refuse_key_material(args(&["posos-token", "-c", "key.json"])).is_ok());
        let err = refuse_key_material(args(&[
            "posos-token",
            "-c",
            "-----BEGIN PRIVATE KEY-----\nMIIE",
        ]))
        .unwrap_err();
        assert_eq!(err.class(), ExitCode::Usage);
        assert!(err.message().starts_with("argument 2 "));
        assert!(!err.message().contains("MIIE"));

        let user_json = r#"{"type": "authorized_user", "refresh_token": "1//x"}"#;
        for arg in [user_json, "1//0gsecret"] {
            let err = refuse_key_material(args(&["posos-token", arg])).unwrap_err();
            assert!(
                err.message().starts_with("argument 1 "),
                "{}",
                err.message()
            );
            assert!(!err.message().contains("1//"), "{}", err.message());
        }
    }

    #[test]
    fn client_id_rejects_json() {
        assert!(parse_client_id(r#"{"a": 1}"#).is_err());
        assert!(parse_client_id("https://api.example.com").is_ok());
        assert!(parse_client_id(DEFAULT_CLIENT_ID).is_ok());
    }

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
    fn service_account_rejects_path_characters() {
        assert!(parse_service_account("sa@p.iam.gserviceaccount.com").is_ok());
        assert!(parse_service_account("1234567890").is_ok());
        assert!(parse_service_account("a/b@p").is_err());
        assert!(parse_service_account("a?b").is_err());
        assert!(parse_service_account("").is_err());
    }

    #[test]
    fn resource_url_needs_scheme_and_host() {
        assert!(parse_resource_url("https://api.posos.example/v1").is_ok());
        assert!(parse_resource_url("api.posos.example").is_err());
        assert!(parse_resource_url("ftp://x/y").is_err());
    }

    #[test]
    fn min_valid_accepts_whole_seconds() {
        assert_eq!(parse_min_valid("0"), Ok(Duration::ZERO));
        assert_eq!(parse_min_valid("300"), Ok(Duration::from_secs(300)));
        assert!(parse_min_valid("1.5").is_err());
        assert!(parse_min_valid("-1").is_err());
        assert!(parse_min_valid("3599").is_ok());
        assert!(parse_min_valid("3600").is_err());
    }

    #[test]
    fn client_id_rejects_whitespace() {
        assert!(parse_client_id("a b").is_err());
        assert!(parse_client_id("").is_err());
        assert!(parse_client_id(DEFAULT_CLIENT_ID).is_ok());
    }
}
