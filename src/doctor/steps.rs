//! The steps of `posos-token doctor`, in the order `STEPS` runs them. Each one reuses the
//! function of the main path that does the same work, so that doctor and a normal run agree.

use std::time::{Instant, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use serde_json::Value;
use sha2::Sha256;

use super::{Check, Context, Exchange};
use crate::assertion::{AssertionSigner, Claims};
use crate::cli::DEFAULT_CLIENT_ID;
use crate::credentials::service_account::DEFAULT_TOKEN_URI;
use crate::credentials::url::check_endpoint_url;
use crate::credentials::{self, Credentials, source};
use crate::fetch::unix_now;
use crate::inspect::duration;
use crate::output::rfc3339;
use crate::proxy::{self, Route};
use crate::secret::Secret;
use crate::sources::discovery::{self, Found};
use crate::token_endpoint::{self, KeyIdentity};

/// The token endpoints Google documents; `token_uri` in a key Google issued is the first.
pub const GOOGLE_TOKEN_URIS: [&str; 3] = [
    DEFAULT_TOKEN_URI,
    "https://accounts.google.com/o/oauth2/token",
    "https://www.googleapis.com/oauth2/v4/token",
];

/// A clock offset up to this many seconds is the `Date` header's one-second resolution plus
/// the time the response took, not a wrong clock.
pub const CLOCK_TOLERANCE_SECS: i64 = 5;

const NEEDS_KEY_FILE: &str = "needs a service-account key file that parses";
const NEEDS_KEY: &str = "needs a private key that parses";

/// Finds the credentials the way a normal run does, in the same discovery order, and reads them.
pub fn credentials(context: &mut Context<'_>) -> Check {
    let found = match discovery::discover_from_environment(context.cli.credentials.as_deref()) {
        Ok(found) => found,
        Err(err) => return Check::from_error(&err),
    };
    let origin = match found {
        Found::File(origin) => origin,
        // The checks that follow read a key file; the metadata server has none to check.
        Found::MetadataServer(server) => {
            context.other_source = true;
            return Check::ok(format!(
                "no key file: the metadata server at {} ({}) provides the identity token",
                server.host, server.reason
            ));
        }
    };
    let bytes = match source::read(&origin, context.deadline) {
        Ok(bytes) => bytes,
        Err(err) => return Check::from_error(&err),
    };
    let check = Check::ok(format!("{origin}, {} bytes", bytes.expose().len()));
    context.origin = Some(origin);
    context.bytes = Some(bytes);
    check
}

/// Warns when the group or others can read the key file, as ssh does for private keys.
pub fn permissions(context: &mut Context<'_>) -> Check {
    let Some(origin) = &context.origin else {
        return Check::skipped("needs credentials to check");
    };
    let Some(path) = origin.path() else {
        return Check::skipped("the credentials come from standard input, not a file");
    };
    let secret = context
        .bytes
        .as_ref()
        .and_then(|bytes| source::secret_in(bytes.expose()));
    file_mode_check(path, secret)
}

#[cfg(unix)]
fn file_mode_check(path: &std::path::Path, secret: Option<&str>) -> Check {
    use std::os::unix::fs::PermissionsExt;

    let mode = match path.metadata() {
        Ok(metadata) => metadata.permissions().mode() & 0o7777,
        Err(err) => {
            return Check::failed(format!("can't read the mode of {}: {err}", path.display()));
        }
    };
    if mode & 0o077 == 0 {
        return Check::ok(format!(
            "mode {mode:04o}: only the owner can read the key file"
        ));
    }
    let Some(secret) = secret else {
        return Check::ok(format!(
            "mode {mode:04o}: others may read the file, which holds no secret of its own"
        ));
    };
    let who = match (mode & 0o070 != 0, mode & 0o007 != 0) {
        (true, true) => "the group and others",
        (true, false) => "the group",
        _ => "others",
    };
    Check::warning(format!(
        "mode {mode:04o}: {who} may read {secret} in {}",
        path.display()
    ))
    .hint(format!("run: chmod 600 {}", path.display()))
}

#[cfg(not(unix))]
fn file_mode_check(_path: &std::path::Path, _secret: Option<&str>) -> Check {
    Check::skipped("file modes are checked on Unix only")
}

/// Checks that the credentials are a JSON object of a type this tool can use.
pub fn key_file(context: &mut Context<'_>) -> Check {
    let (Some(origin), Some(bytes)) = (&context.origin, &context.bytes) else {
        return Check::skipped("needs credentials to read");
    };
    let mut object = match credentials::parse_object(bytes.expose(), origin) {
        Ok(object) => object,
        Err(err) => return Check::from_error(&err),
    };
    // Keep the PEM out of the context: the private key step decodes it again from the bytes.
    if let Some(Value::String(pem)) = object.remove("private_key") {
        drop(Secret::new(pem));
    }

    let check = match object.get("type") {
        Some(Value::String(kind)) if kind == "service_account" => {
            Check::ok("a JSON object with \"type\": \"service_account\"")
        }
        None if object.contains_key("client_email") => {
            Check::warning("a JSON object without a `type` field, read as a service-account key")
                .hint("a key file Google issued has \"type\": \"service_account\"; ask Posos for a new key file if this one was edited by hand")
        }
        // Let the main path explain the type, so that both give the same message.
        _ => {
            return match credentials::parse(bytes, origin) {
                Err(err) => Check::from_error(&err),
                Ok(Credentials::AuthorizedUser(_))
                    if context.cli.impersonate_service_account.is_none() =>
                {
                    Check::from_error(&crate::sources::user_credentials_error(origin))
                }
                Ok(other) => {
                    context.other_source = true;
                    Check::ok(format!(
                        "{} credentials; the key checks below apply to service-account keys only",
                        crate::sources::type_name(&other)
                    ))
                }
            };
        }
    };
    context.fields = Some(object);
    check
}

/// Shows the service account and key id, and checks that they look like Google's.
pub fn service_account(context: &mut Context<'_>) -> Check {
    let Some(fields) = &context.fields else {
        return Check::skipped(NEEDS_KEY_FILE);
    };
    let text = |name: &str| fields.get(name).and_then(Value::as_str);
    let Some(email) = text("client_email") else {
        return Check::failed("the key file has no `client_email` string")
            .hint("use the key file exactly as Posos gave it, or ask Posos for a new key");
    };
    let email = printable(email);
    let mut check = match text("private_key_id") {
        Some(id) => Check::ok(format!("{email}, private_key_id {}", printable(id))),
        None => Check::warning(format!("{email}, without a private_key_id"))
            .hint("without private_key_id the assertion carries no key id; a key file Google issued has one"),
    };
    if !email.ends_with(".gserviceaccount.com") {
        check = Check::warning(format!(
            "{} (not a service-account email, which ends in .gserviceaccount.com)",
            check.summary
        ))
        .hint("check client_email in the key file; ask Posos for a new key file if it was edited");
    }
    check
}

/// Decodes the private key as a normal run does, and signs and verifies a test assertion.
pub fn private_key(context: &mut Context<'_>) -> Check {
    let (Some(origin), Some(bytes)) = (&context.origin, &context.bytes) else {
        return Check::skipped("needs credentials to read");
    };
    if context.fields.is_none() {
        return Check::skipped(NEEDS_KEY_FILE);
    }
    let key = match credentials::parse(bytes, origin) {
        Ok(Credentials::ServiceAccount(key)) => key,
        Ok(_) => return Check::skipped(NEEDS_KEY_FILE),
        Err(err) => return Check::from_error(&err),
    };

    let bits = key.private_key.size() * 8;
    let claims = Claims::for_token_endpoint(&key, &context.cli.client_id, unix_now());
    let signer = AssertionSigner::new(key.private_key.clone(), key.private_key_id.clone());
    let assertion = signer.sign(&claims);
    let verifying_key = VerifyingKey::<Sha256>::new(key.private_key.to_public_key());
    if !verifies(&verifying_key, &assertion) {
        return Check::failed(format!(
            "the {bits}-bit RSA key signed a test assertion, but the signature does not verify with the key's own public key"
        ))
        .hint("the key is damaged: ask Posos for a new key file");
    }
    context.key = Some(key);
    Check::ok(format!(
        "RSA {bits} bits; signed a test assertion and verified it"
    ))
}

/// Verifies an RS256 JWT with `key`; no part of the JWT leaves this function.
fn verifies(key: &VerifyingKey<Sha256>, jwt: &Secret<String>) -> bool {
    let Some((signing_input, signature)) = jwt.expose().rsplit_once('.') else {
        return false;
    };
    let Ok(signature) = URL_SAFE_NO_PAD.decode(signature) else {
        return false;
    };
    let Ok(signature) = Signature::try_from(signature.as_slice()) else {
        return false;
    };
    key.verify(signing_input.as_bytes(), &signature).is_ok()
}

/// Checks that the audience looks like an OAuth client ID, which IAP expects.
pub fn client_id(context: &mut Context<'_>) -> Check {
    let client_id = &context.cli.client_id;
    let from = if std::env::var("POSOS_CLIENT_ID").is_ok_and(|value| value == *client_id) {
        "from POSOS_CLIENT_ID"
    } else if client_id == DEFAULT_CLIENT_ID {
        "Posos's documented client ID"
    } else {
        "from --client-id"
    };
    if looks_like_client_id(client_id) {
        Check::ok(format!("{client_id} ({from})"))
    } else {
        Check::warning(format!(
            "{} ({from}) does not look like an OAuth client ID (NUMBER-ID.apps.googleusercontent.com)",
            printable(client_id)
        ))
        .hint("IAP accepts identity tokens whose audience is its OAuth client ID; unset POSOS_CLIENT_ID and drop --client-id to use Posos's")
    }
}

/// Returns whether `id` has the form of a Google OAuth client ID:
/// `<project number>-<lowercase letters and digits>.apps.googleusercontent.com`.
pub fn looks_like_client_id(id: &str) -> bool {
    let Some(name) = id.strip_suffix(".apps.googleusercontent.com") else {
        return false;
    };
    let Some((number, rest)) = name.split_once('-') else {
        return false;
    };
    !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// Checks `token_uri`, and warns when it is not one of Google's token endpoints.
pub fn token_uri(context: &mut Context<'_>) -> Check {
    let Some(fields) = &context.fields else {
        return Check::skipped(NEEDS_KEY_FILE);
    };
    let token_uri = match fields.get("token_uri") {
        None | Some(Value::Null) => {
            return Check::ok(format!(
                "{DEFAULT_TOKEN_URI} (the key file has no token_uri, so Google's is used)"
            ));
        }
        Some(Value::String(uri)) => uri.as_str(),
        Some(_) => {
            return Check::failed("token_uri in the key file is not a string")
                .hint("use the key file exactly as Posos gave it");
        }
    };
    if let Err(err) = check_endpoint_url(token_uri, "token_uri in the key file") {
        return Check::from_error(&err);
    }
    if GOOGLE_TOKEN_URIS.contains(&token_uri) {
        Check::ok(format!("{token_uri} (Google's token endpoint)"))
    } else {
        Check::warning(format!(
            "{token_uri} is not Google's token endpoint ({DEFAULT_TOKEN_URI})"
        ))
        .hint(format!(
            "unless you point it at a test endpoint on purpose, set token_uri in the key file back to {DEFAULT_TOKEN_URI}"
        ))
    }
}

/// Reports the proxy that requests to the token endpoint go through, chosen by the same rules
/// as a normal run, with any user name and password left out.
pub fn proxy(context: &mut Context<'_>) -> Check {
    let token_uri = context
        .fields
        .as_ref()
        .and_then(|fields| fields.get("token_uri"))
        .and_then(Value::as_str)
        .unwrap_or(DEFAULT_TOKEN_URI);
    let Ok(uri) = token_uri.parse::<ureq::http::Uri>() else {
        return Check::skipped("needs a valid token_uri");
    };
    let scheme = uri.scheme_str().unwrap_or("https");
    let host = uri.host().unwrap_or_default();
    let lookup = |name: &str| std::env::var(name).ok();

    match proxy::choose(scheme, host, lookup) {
        Route::Direct => match proxy::choose("https", host, lookup) {
            // The proxy variables apply to https only, as in curl.
            Route::Proxy { variable, .. } if !scheme.eq_ignore_ascii_case("https") => {
                Check::ok(format!(
                    "{variable} is set, but it applies to https only and token_uri uses {scheme}, so connections go direct"
                ))
            }
            _ => Check::ok("no proxy variable is set: connections go direct"),
        },
        route @ Route::Proxy { .. } => match describe_proxy(&route) {
            Ok(summary) => Check::ok(summary),
            Err(err) => Check::from_error(&err),
        },
        Route::Bypass { variable, entry } => {
            // Show the proxy that NO_PROXY overrides, so that both settings are visible.
            let without_no_proxy = |name: &str| {
                if name.eq_ignore_ascii_case("no_proxy") {
                    None
                } else {
                    lookup(name)
                }
            };
            let proxied = proxy::choose(scheme, host, without_no_proxy);
            let shown = describe_proxy(&proxied).map_or(String::new(), |text| format!("{text}; "));
            Check::ok(format!(
                "{shown}{variable} matches the token endpoint's host (entry {entry:?}), so it is reached directly"
            ))
        }
    }
}

/// Describes a proxy route as "VARIABLE: proxy URL", without credentials.
fn describe_proxy(route: &Route) -> crate::error::Result<String> {
    let Route::Proxy { variable, url } = route else {
        return Ok(String::new());
    };
    let parsed = proxy::to_ureq(route)?;
    let credentials = if parsed.is_some_and(|p| p.username().is_some()) {
        " with a user name and password (not shown)"
    } else {
        ""
    };
    Ok(format!(
        "{variable}: proxy {}{credentials}",
        proxy::redact(url)
    ))
}

/// Reports the token cache directory and whether it contains a token for this key and audience.
/// Like a normal run, it never fails on the cache: a cache that can't be used is a warning.
pub fn cache(context: &mut Context<'_>) -> Check {
    if context.cli.no_cache {
        return Check::ok("--no-cache: the token cache is neither read nor written");
    }
    let Some(dir) = crate::cache::cache_dir() else {
        return Check::warning(format!(
            "no cache directory: neither {} nor HOME is set, so every run fetches a token",
            crate::cache::CACHE_DIR_ENV
        ))
        .hint(format!(
            "set {} to a directory of yours",
            crate::cache::CACHE_DIR_ENV
        ));
    };
    if !dir.exists() {
        return Check::ok(format!(
            "{} does not exist yet; the first run creates it, readable only by you",
            dir.display()
        ));
    }
    if let Err(problem) = crate::cache::check_dir(&dir) {
        return Check::warning(format!("not using the token cache: {problem}"))
            .hint("runs still work, but fetch a token every time");
    }

    let Some(key) = &context.key else {
        return Check::ok(format!("{} is usable", dir.display()));
    };
    let cache_key = crate::cache::CacheKey::for_service_account(key, &context.cli.client_id);
    let entry_path = crate::cache::entry_path(&dir, &cache_key);
    let cached = crate::cache::read_file(&entry_path)
        .ok()
        .flatten()
        .and_then(|bytes| crate::cache::entry::decode(&bytes).ok());
    match cached {
        Some(entry) => {
            let left = entry.token.local_expiry() - unix_now();
            Check::ok(format!(
                "{} holds a token for this key and audience ({})",
                dir.display(),
                if left > 0 {
                    format!("valid for {} more", duration(left))
                } else {
                    "expired; the next run replaces it".to_string()
                }
            ))
        }
        None => Check::ok(format!(
            "{} is usable; it holds no token for this key and audience yet",
            dir.display()
        )),
    }
}

/// Makes one real exchange at the token endpoint, as a normal run does, and reports its status.
pub fn exchange(context: &mut Context<'_>) -> Check {
    if context.args.offline {
        return Check::skipped("--offline: no request sent");
    }
    let impersonating = context.cli.impersonate_service_account.is_some();
    if context.other_source || (impersonating && context.key.is_some()) {
        return exchange_through_source(context);
    }
    let Some(key) = &context.key else {
        return Check::skipped(NEEDS_KEY);
    };
    let identity = KeyIdentity {
        client_email: key.client_email.clone(),
        private_key_id: key.private_key_id.clone(),
    };
    let claims = Claims::for_token_endpoint(key, &context.cli.client_id, unix_now());
    let signer = AssertionSigner::new(key.private_key.clone(), key.private_key_id.clone());
    let assertion = signer.sign(&claims);

    let started = Instant::now();
    let answer = match token_endpoint::post_assertion(&key.token_uri, &assertion, context.deadline)
    {
        Ok(answer) => answer,
        Err(err) => return Check::from_error(&err),
    };
    let elapsed = started.elapsed();
    drop(assertion);

    let token = token_endpoint::interpret(&answer, &key.token_uri, &identity);
    let timing = format!(
        "{} returned HTTP {} in {} ms",
        key.token_uri,
        answer.status,
        elapsed.as_millis()
    );
    let after = format!(" (after {} ms)", elapsed.as_millis());
    let check = match &token {
        Ok(_) => Check::ok(timing),
        Err(err) if err.message().contains("Check your iat and exp") => {
            Check::failed(format!("{}{after}", err.message()))
                .hint("the endpoint rejected the assertion's times, which usually means this machine's clock is off: see the clock line")
                .hint("a plain posos-token run then signs once more with the endpoint's time and may succeed, but every fetch pays a second round trip until the clock is fixed")
        }
        Err(err) => {
            let mut check = Check::from_error(err);
            check.summary.push_str(&after);
            check
        }
    };
    context.exchange = Some(Exchange {
        token_uri: key.token_uri.clone(),
        through_source: false,
        status: answer.status,
        date: answer.date.clone(),
        received_at: unix_now(),
        token,
    });
    check
}

/// Gets the identity token the way a normal run does, for the sources whose requests are not
/// one exchange at a token endpoint: the metadata server, impersonation and federation.
fn exchange_through_source(context: &mut Context<'_>) -> Check {
    let cli = context.cli;
    let deadline = context.deadline;
    let impersonation = cli.impersonation();

    let started = Instant::now();
    let mut via = String::from("the credential source");
    // The credentials step already read the file, or standard input, which can't be read twice.
    let loaded = match (&context.origin, &context.bytes) {
        (Some(origin), Some(bytes)) => {
            credentials::parse(bytes, origin).map(|credentials| crate::sources::Source::File {
                origin: origin.clone(),
                credentials,
            })
        }
        _ => discovery::discover_from_environment(cli.credentials.as_deref())
            .and_then(|found| crate::sources::load(found, deadline)),
    };

    let token = loaded.and_then(|source| {
        via = match (&impersonation, &source) {
            (Some(target), _) => format!("impersonation of {}", target.account),
            (None, crate::sources::Source::MetadataServer(server)) => {
                format!("the metadata server at {}", server.host)
            }
            (None, crate::sources::Source::File { credentials, .. }) => {
                format!("the {} credentials", crate::sources::type_name(credentials))
            }
        };
        crate::sources::identity_token(source, impersonation.as_ref(), &cli.client_id, deadline)
    });
    let elapsed = started.elapsed().as_millis();

    let check = match &token {
        Ok(_) => Check::ok(format!(
            "got an identity token through {via} in {elapsed} ms"
        )),
        Err(err) => {
            let mut check = Check::from_error(err);
            check.summary.push_str(&format!(" (after {elapsed} ms)"));
            check
        }
    };
    context.exchange = Some(Exchange {
        token_uri: via,
        through_source: true,
        status: if token.is_ok() { 200 } else { 0 },
        date: None,
        received_at: unix_now(),
        token,
    });
    check
}

/// Compares this machine's clock with the token endpoint's `Date` header.
pub fn clock(context: &mut Context<'_>) -> Check {
    let Some(exchange) = &context.exchange else {
        return Check::skipped("needs an answer from the token endpoint");
    };
    if exchange.through_source {
        return Check::skipped(
            "compared only on a key file's exchange at its token endpoint; a skewed clock would fail the exchange step",
        );
    }
    let Some(date) = &exchange.date else {
        return Check::warning(format!(
            "{} sent no Date header, so the clock can't be compared",
            exchange.token_uri
        ));
    };
    let Some(endpoint_time) = httpdate::parse_http_date(date)
        .ok()
        .and_then(|time| time.duration_since(SystemTime::UNIX_EPOCH).ok())
    else {
        return Check::warning(format!(
            "{} sent a Date header that is not an HTTP date, so the clock can't be compared",
            exchange.token_uri
        ));
    };
    let offset = exchange.received_at - endpoint_time.as_secs() as i64;
    let described = describe_offset(offset);
    if offset == 0 {
        return Check::ok("this machine's clock matches the endpoint's Date header");
    }
    if offset.abs() <= CLOCK_TOLERANCE_SECS {
        return Check::ok(format!(
            "this machine's clock is {described} the endpoint's Date header, within the {CLOCK_TOLERANCE_SECS} s tolerance"
        ));
    }

    let sync = "sync this machine's clock, for example with: timedatectl set-ntp true";
    let refused =
        matches!(&exchange.token, Err(err) if err.class() == crate::exit_code::ExitCode::Refused);
    if refused {
        Check::failed(format!(
            "this machine's clock is {described} the endpoint's Date header, so Google rejects the assertion's iat and exp"
        ))
        .hint(sync)
    } else {
        Check::warning(format!(
            "this machine's clock is {described} the endpoint's Date header"
        ))
        .hint(sync)
    }
}

/// Returns "3 s ahead of" or "2m5s behind" for an offset that is not 0.
fn describe_offset(offset: i64) -> String {
    if offset > 0 {
        format!("{} ahead of", duration_with_space(offset))
    } else {
        format!("{} behind", duration_with_space(-offset))
    }
}

fn duration_with_space(seconds: i64) -> String {
    if seconds < 60 {
        format!("{seconds} s")
    } else {
        duration(seconds)
    }
}

/// Shows the audience and expiry of the identity token the exchange returned.
pub fn identity_token(context: &mut Context<'_>) -> Check {
    let Some(exchange) = &context.exchange else {
        return Check::skipped("needs an answer from the token endpoint");
    };
    let token = match &exchange.token {
        Ok(token) => token,
        Err(_) => return Check::skipped("the exchange returned no identity token"),
    };
    let claims = token.claims();
    let audience = claims.aud.as_deref().unwrap_or("(none)");
    let life = if claims.exp > exchange.received_at {
        format!("expires in {}", duration(claims.exp - exchange.received_at))
    } else {
        format!(
            "expired {} ago",
            duration(exchange.received_at - claims.exp)
        )
    };
    let email = claims
        .email
        .as_deref()
        .map(|email| format!(", email {}", printable(email)))
        .unwrap_or_default();
    let summary = format!(
        "audience {}{email}, expires at {} ({life})",
        printable(audience),
        rfc3339(claims.exp)
    );

    if claims.aud.as_deref() != Some(context.cli.client_id.as_str()) {
        return Check::failed(format!(
            "{summary}, but the requested audience is {}",
            context.cli.client_id
        ))
        .hint("IAP rejects a token for another audience: check that token_uri is Google's token endpoint");
    }
    if claims.exp <= exchange.received_at {
        return Check::warning(summary)
            .hint("the token was already expired when it arrived: check this machine's clock");
    }
    Check::ok(summary)
}

/// Escapes control characters in text read from a file or a server.
fn printable(text: &str) -> String {
    if text.chars().any(char::is_control) {
        text.escape_debug().to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_id_form_is_recognized() {
        assert!(looks_like_client_id(DEFAULT_CLIENT_ID));
        assert!(!looks_like_client_id("https://api.posos.example"));
        assert!(!looks_like_client_id("abc-def.apps.googleusercontent.com"));
        assert!(!looks_like_client_id("123-.apps.googleusercontent.com"));
        assert!(!looks_like_client_id("123-ABC.apps.googleusercontent.com"));
    }

    #[test]
    fn offset_is_described_in_words() {
        assert_eq!(describe_offset(3), "3 s ahead of");
        assert_eq!(describe_offset(-125), "2m5s behind");
    }
}
