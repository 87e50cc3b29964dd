//! posos-token: prints a Google-signed OpenID Connect identity token for the Posos API, made
//! from a service-account key, for callers of APIs behind Identity-Aware Proxy.
//!
//! The main path is a recipe: find and read the credentials, sign a JWT assertion, exchange it
//! at the token endpoint, print the token.

pub mod assertion;
pub mod cache;
pub mod cli;
pub mod clock_skew;
pub mod credentials;
pub mod doctor;
pub mod error;
pub mod exchange;
pub mod exit_code;
pub mod fetch;
pub mod http;
pub mod http_log;
pub mod id_token;
pub mod inspect;
pub mod logger;
pub mod output;
pub mod private_key;
pub mod proxy;
pub mod retry;
pub mod secret;
pub mod sources;
pub mod tls;
pub mod token_endpoint;
pub mod trust;

use std::time::Instant;

use cli::{CacheCommand, Cli, Command};
use error::Result;
use secret::Secret;

/// The domain of every OAuth client ID, and so of every IAP audience.
const OAUTH_CLIENT_ID_SUFFIX: &str = ".apps.googleusercontent.com";

/// Runs the command and returns the output to print on stdout.
pub fn run(cli: &Cli) -> Result<Secret<String>> {
    match &cli.command {
        Some(Command::Cache(CacheCommand::Path)) => return cache::path_command(),
        Some(Command::Cache(CacheCommand::Clear)) => return cache::clear_command(),
        // `inspect` and `doctor` are dispatched by the binary before `run`.
        _ => {}
    }
    let deadline = Instant::now() + cli.timeout;
    if cli.self_signed.is_some() {
        sources::self_signed::reject_impersonation(cli.impersonate_service_account.as_deref())?;
    }
    trust::set_ca_file(cli.ca_file.clone());

    let found = sources::discovery::discover_from_environment(cli.credentials.as_deref())?;
    let source = sources::load(found, deadline)?;

    if let Some(url) = &cli.self_signed {
        let token = sources::self_signed::sign(source, url, fetch::unix_now())?;
        return Ok(output::render(&token, cli.output_format(), url));
    }

    if !cli.client_id.ends_with(OAUTH_CLIENT_ID_SUFFIX) {
        log::warn!(
            "the client ID {} does not end in {OAUTH_CLIENT_ID_SUFFIX}, so it is probably not an IAP OAuth client ID, and IAP rejects tokens for another audience",
            cli.client_id
        );
    }

    let impersonation = cli.impersonation();
    let cache_key = sources::cache_key(&source, impersonation.as_ref(), &cli.client_id);
    let token = cache::obtain(cli.cache_policy(), &cache_key, deadline, || {
        sources::identity_token(source, impersonation.as_ref(), &cli.client_id, deadline)
    })?;
    Ok(output::render(&token, cli.output_format(), &cli.client_id))
}
