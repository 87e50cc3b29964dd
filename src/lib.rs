//! posos-token: prints a Google-signed OpenID Connect identity token for the Posos API, made
//! from a service-account key, for callers of APIs behind Identity-Aware Proxy.
//!
//! The main path is a recipe: find and read the credentials, sign a JWT assertion, exchange it
//! at the token endpoint, print the token.

pub mod assertion;
pub mod cache;
pub mod cli;
pub mod credentials;
pub mod error;
pub mod exit_code;
pub mod fetch;
pub mod http;
pub mod id_token;
pub mod logger;
pub mod output;
pub mod private_key;
pub mod secret;
pub mod token_endpoint;
pub mod trust;

use std::time::Instant;

use cli::{CacheCommand, Cli, Command};
use credentials::{CREDENTIALS_ENV, Credentials, source};
use error::{Error, Result};
use secret::Secret;

/// Runs the command and returns the output to print on stdout.
pub fn run(cli: &Cli) -> Result<Secret<String>> {
    match &cli.command {
        None => {}
        Some(Command::Cache(CacheCommand::Path)) => return cache::path_command(),
        Some(Command::Cache(CacheCommand::Clear)) => return cache::clear_command(),
    }
    let deadline = Instant::now() + cli.timeout;

    let origin = source::locate(
        cli.credentials.as_deref(),
        std::env::var_os(CREDENTIALS_ENV),
    )?
    .ok_or_else(no_credentials)?;
    log::info!("reading {origin}");
    let bytes = source::read(&origin, deadline)?;
    let Credentials::ServiceAccount(key) = credentials::parse(&bytes, &origin)?;
    drop(bytes);

    let cache_key = cache::CacheKey::for_service_account(&key, &cli.client_id);
    let token = cache::obtain(cli.cache_policy(), &cache_key, deadline, || {
        fetch::from_service_account(key, &cli.client_id, deadline)
    })?;
    Ok(output::render(&token, cli.output_format(), &cli.client_id))
}

fn no_credentials() -> Error {
    Error::config(format!(
        "no credentials: {CREDENTIALS_ENV} is not set and --credentials was not given"
    ))
    .hint(format!(
        "set {CREDENTIALS_ENV} to the path of the service-account key file that Posos gave you, or pass --credentials FILE"
    ))
}
