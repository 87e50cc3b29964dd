//! Reading the subject token of an `external_account` from its `credential_source`: a file, a
//! URL, or a program that follows Google's executable-sourced credentials contract.

use std::fs::File;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::response;
use crate::credentials::ExternalAccount;
use crate::credentials::external_account::{CredentialSource, SubjectTokenFormat};
use crate::error::{Error, Result};
use crate::fetch::unix_now;
use crate::http;
use crate::secret::Secret;
use crate::token_endpoint::sanitize;

/// The variable that must be `1` before an executable source is run, as in Google's libraries,
/// because a credentials file would otherwise be enough to make this tool run a program.
pub const ALLOW_EXECUTABLES_ENV: &str = "GOOGLE_EXTERNAL_ACCOUNT_ALLOW_EXECUTABLES";

/// The largest subject token file or program output read. OIDC tokens are a few KiB; SAML
/// responses can reach tens of KiB.
pub const MAX_SUBJECT_TOKEN_BYTES: u64 = 1024 * 1024;

/// The highest version of the executable response format that this tool reads.
const EXECUTABLE_RESPONSE_VERSION: u64 = 1;

/// Reads the subject token from the account's credential source.
pub fn read(account: &ExternalAccount, deadline: Instant) -> Result<Secret<String>> {
    match &account.credential_source {
        CredentialSource::File { path, format } => {
            let source_label = format!("subject token file {}", path.display());
            log::info!("reading the {source_label}");
            let content = read_file(path, &source_label, deadline)?;
            extract(&content, format, &source_label)
        }
        CredentialSource::Url {
            url,
            headers,
            format,
        } => {
            log::info!("requesting the subject token from {url}");
            let answer = response::with_retries(url, deadline, || {
                let mut request = http::client(url, deadline)?.agent.get(url);
                for (name, value) in headers {
                    request = request.header(name.as_str(), value.expose().as_str());
                }
                response::get(request, url)
            })
            .map_err(|err| err.context("failed to get the subject token"))?;
            if answer.status != 200 {
                return Err(answer
                    .error(url)
                    .context("failed to get the subject token")
                    .hint("check credential_source.url and its headers in the credentials file"));
            }
            extract(&answer.body, format, &format!("the answer of {url}"))
        }
        CredentialSource::Executable {
            command,
            timeout,
            output_file,
        } => executable(account, command, *timeout, output_file.as_deref(), deadline),
    }
}

/// Reads a file of at most `MAX_SUBJECT_TOKEN_BYTES` on a helper thread, so that a FIFO with no
/// writer is bounded by the deadline.
fn read_file(path: &Path, source_label: &str, deadline: Instant) -> Result<Secret<Vec<u8>>> {
    let file = File::open(path).map_err(|err| {
        Error::config(format!("failed to open the {source_label}: {err}"))
            .hint("check credential_source.file in the credentials file, and that the identity provider has written the token")
    })?;
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = file
            .take(MAX_SUBJECT_TOKEN_BYTES + 1)
            .read_to_end(&mut bytes)
            .map(|_| Secret::new(bytes));
        // The receiver is gone when the deadline passed first; nothing is left to tell.
        let _ = sender.send(result);
    });
    let remaining = deadline.saturating_duration_since(Instant::now());
    match receiver.recv_timeout(remaining) {
        Ok(Ok(bytes)) if bytes.expose().len() as u64 > MAX_SUBJECT_TOKEN_BYTES => {
            Err(Error::config(format!(
                "the {source_label} is larger than {} KiB, so it is not a subject token",
                MAX_SUBJECT_TOKEN_BYTES / 1024
            ))
            .hint("check that credential_source in the credentials file names the file the identity provider writes its token to"))
        }
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => Err(Error::config(format!(
            "failed to read the {source_label}: {err}"
        ))
        .hint("check credential_source.file in the credentials file, and the file's permissions")),
        Err(_) => Err(Error::temporary(format!(
            "timed out reading the {source_label} before the --timeout budget ran out"
        ))
        .hint("the file does not end, as a FIFO with no writer does: check credential_source.file")),
    }
}

/// Takes the token out of a file's or URL's content in the configured format.
fn extract(
    content: &Secret<Vec<u8>>,
    format: &SubjectTokenFormat,
    source_label: &str,
) -> Result<Secret<String>> {
    let token = match format {
        SubjectTokenFormat::Text => std::str::from_utf8(content.expose())
            .map(|text| text.trim().to_string())
            .map_err(|_| {
                Error::config(format!("{source_label} is not UTF-8 text"))
                    .hint("check that credential_source names the identity provider's token, which is text")
            })?,
        SubjectTokenFormat::Json {
            subject_token_field_name: field,
        } => {
            let mut object = match serde_json::from_slice::<Value>(content.expose()) {
                Ok(Value::Object(object)) => object,
                _ => {
                    return Err(Error::config(format!(
                        "{source_label} is not a JSON object, but the credentials file sets format json"
                    ))
                    .hint("set credential_source.format.type to \"text\" if the content is the token itself"));
                }
            };
            match object.remove(field) {
                Some(Value::String(token)) => token,
                _ => {
                    return Err(Error::config(format!(
                        "{source_label} has no string field `{field}` (subject_token_field_name)"
                    ))
                    .hint("set credential_source.format.subject_token_field_name in the credentials file to the field that holds the token"));
                }
            }
        }
    };
    if token.is_empty() {
        return Err(Error::config(format!(
            "{source_label} contains an empty subject token"
        ))
        .hint("the identity provider has not written its token yet: check the CI job's OIDC setup (in GitHub Actions, permissions: id-token: write)"));
    }
    Ok(Secret::new(token))
}

/// Runs the executable source, or reuses its unexpired response in `output_file`.
fn executable(
    account: &ExternalAccount,
    command: &str,
    timeout: Duration,
    output_file: Option<&Path>,
    deadline: Instant,
) -> Result<Secret<String>> {
    if std::env::var(ALLOW_EXECUTABLES_ENV).as_deref() != Ok("1") {
        return Err(Error::config(format!(
            "the credentials file names an executable subject-token source, and {ALLOW_EXECUTABLES_ENV} is not 1"
        ))
        .hint(format!(
            "if you trust the command in credential_source.executable, set {ALLOW_EXECUTABLES_ENV}=1"
        )));
    }

    if let Some(path) = output_file.filter(|path| path.exists()) {
        let source_label = format!("executable output file {}", path.display());
        let content = read_file(path, &source_label, deadline)?;
        match parse_executable_response(&content, &source_label, true)? {
            Some(token) => {
                log::info!("using the unexpired subject token in the {source_label}");
                return Ok(token);
            }
            None => {
                log::info!("the response in the {source_label} has expired; running the executable")
            }
        }
    }

    let mut words = command.split_whitespace();
    let program = words.next().ok_or_else(|| {
        Error::config("credential_source.executable.command in the credentials file is empty")
    })?;
    let mut child = Command::new(program);
    child
        .args(words)
        .env("GOOGLE_EXTERNAL_ACCOUNT_AUDIENCE", &account.audience)
        .env(
            "GOOGLE_EXTERNAL_ACCOUNT_TOKEN_TYPE",
            &account.subject_token_type,
        )
        .env("GOOGLE_EXTERNAL_ACCOUNT_INTERACTIVE", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(url) = &account.impersonation_url {
        child.env("GOOGLE_EXTERNAL_ACCOUNT_IMPERSONATED_EMAIL", &url.account);
    }
    if let Some(path) = output_file {
        child.env("GOOGLE_EXTERNAL_ACCOUNT_OUTPUT_FILE", path);
    }

    log::info!("running the executable subject-token source {program}");
    let mut child = child.spawn().map_err(|err| {
        Error::config(format!("failed to run the executable {program}: {err}"))
            .hint("check credential_source.executable.command in the credentials file")
    })?;
    let stdout = child.stdout.take();
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(stdout) = stdout {
            // A read error leaves source_label was read; the response parser reports source_label is wrong.
            let _ = stdout
                .take(MAX_SUBJECT_TOKEN_BYTES + 1)
                .read_to_end(&mut bytes);
        }
        let _ = sender.send(Secret::new(bytes));
    });

    let allowed = timeout.min(deadline.saturating_duration_since(Instant::now()));
    let limit = Instant::now() + allowed;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= limit => {
                // Ends only the child this function started.
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::temporary(format!(
                    "the executable {program} did not finish within {} ms",
                    timeout
                        .min(deadline.saturating_duration_since(Instant::now()))
                        .as_millis()
                        .max(1)
                ))
                .hint("raise timeout_millis in the credentials file, or --timeout"));
            }
            Ok(None) => thread::sleep(Duration::from_millis(5)),
            Err(err) => {
                return Err(Error::config(format!(
                    "failed to wait for the executable {program}: {err}"
                )));
            }
        }
    };
    let output = receiver
        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        .unwrap_or_default();

    let source_label = format!("the output of the executable {program}");
    if !status.success() {
        // A failure response on stdout explains more than the status; prefer it.
        if let Err(err) = parse_executable_response(&output, &source_label, false)
            && err.class() == crate::exit_code::ExitCode::Refused
        {
            return Err(err);
        }
        return Err(
            Error::config(format!("the executable {program} failed: {status}"))
                .hint("run the command by hand to see why; its stderr is shown above"),
        );
    }
    match parse_executable_response(&output, &source_label, output_file.is_some())? {
        Some(token) => Ok(token),
        None => Err(Error::protocol(format!(
            "{source_label} is a subject token that has already expired"
        ))),
    }
}

/// Reads an executable response. Returns `None` when the token has expired.
/// `expiry_required` is true when the credentials file sets `output_file`, because a stored
/// response without an expiry could be reused forever.
fn parse_executable_response(
    content: &Secret<Vec<u8>>,
    source_label: &str,
    expiry_required: bool,
) -> Result<Option<Secret<String>>> {
    let invalid = |reason: &str| {
        Error::protocol(format!("{source_label} is not a valid executable response: {reason}"))
            .hint("the program must print {\"version\": 1, \"success\": true, \"token_type\": …, \"id_token\" or \"saml_response\": …, \"expiration_time\": …}")
    };
    let mut object: Map<String, Value> = match serde_json::from_slice(content.expose()) {
        Ok(Value::Object(object)) => object,
        _ => return Err(invalid("it is not a JSON object")),
    };
    match object.get("version").and_then(Value::as_u64) {
        Some(version) if version <= EXECUTABLE_RESPONSE_VERSION => {}
        Some(_) => return Err(invalid("its version is newer than 1")),
        None => return Err(invalid("it lacks a numeric `version`")),
    }
    let text = |object: &Map<String, Value>, name: &str| {
        object
            .get(name)
            .and_then(Value::as_str)
            .map(sanitize)
            .unwrap_or_else(|| "(none)".into())
    };
    match object.get("success").and_then(Value::as_bool) {
        Some(true) => {}
        Some(false) => {
            return Err(Error::refused(format!(
                "{source_label} reports a failure: code {}: \"{}\"",
                text(&object, "code"),
                text(&object, "message")
            )));
        }
        None => return Err(invalid("it lacks a boolean `success`")),
    }

    let expiry = object.get("expiration_time").and_then(Value::as_i64);
    match expiry {
        None if expiry_required => {
            return Err(invalid(
                "it lacks `expiration_time`, which is required when output_file is set",
            ));
        }
        Some(expiry) if expiry <= unix_now() => return Ok(None),
        _ => {}
    }

    let field = match object.get("token_type").and_then(Value::as_str) {
        Some(
            "urn:ietf:params:oauth:token-type:id_token" | "urn:ietf:params:oauth:token-type:jwt",
        ) => "id_token",
        Some("urn:ietf:params:oauth:token-type:saml2") => "saml_response",
        _ => return Err(invalid("its token_type is not id_token, jwt or saml2")),
    };
    match object.remove(field) {
        Some(Value::String(token)) if !token.is_empty() => Ok(Some(Secret::new(token))),
        _ => Err(invalid(&format!("it lacks `{field}`"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> Secret<Vec<u8>> {
        Secret::new(text.as_bytes().to_vec())
    }

    #[test]
    fn text_format_trims_newline() {
        let token = extract(&secret("eyJ.a.b\n"), &SubjectTokenFormat::Text, "t").unwrap();
        assert_eq!(token.expose(), "eyJ.a.b");
    }

    #[test]
    fn json_format_reads_named_field() {
        let format = SubjectTokenFormat::Json {
            subject_token_field_name: "value".into(),
        };
        let token = extract(&secret(r#"{"value": "eyJ.a.b", "count": 1}"#), &format, "t").unwrap();
        assert_eq!(token.expose(), "eyJ.a.b");
        let err = extract(&secret(r#"{"other": "eyJ.a.b"}"#), &format, "t").unwrap_err();
        assert!(err.message().contains("`value`"));
        assert!(!err.message().contains("eyJ"));
    }

    #[test]
    fn executable_response_success() {
        let text = format!(
            r#"{{"version": 1, "success": true, "token_type": "urn:ietf:params:oauth:token-type:id_token", "id_token": "eyJ.x.y", "expiration_time": {}}}"#,
            unix_now() + 600
        );
        let token = parse_executable_response(&secret(&text), "t", true).unwrap();
        assert_eq!(token.unwrap().expose(), "eyJ.x.y");
    }

    #[test]
    fn executable_response_expired_is_none() {
        let text = r#"{"version": 1, "success": true, "token_type": "urn:ietf:params:oauth:token-type:jwt", "id_token": "eyJ.x.y", "expiration_time": 1}"#;
        assert!(
            parse_executable_response(&secret(text), "t", true)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn executable_response_failure_is_refused() {
        let text = r#"{"version": 1, "success": false, "code": "401", "message": "not logged in"}"#;
        let err = parse_executable_response(&secret(text), "t", false).unwrap_err();
        assert_eq!(err.class(), crate::exit_code::ExitCode::Refused);
        assert!(err.message().contains("not logged in"));
    }

    #[test]
    fn executable_response_needs_expiry_with_output_file() {
        let text = r#"{"version": 1, "success": true, "token_type": "urn:ietf:params:oauth:token-type:jwt", "id_token": "eyJ.x.y"}"#;
        assert!(parse_executable_response(&secret(text), "t", true).is_err());
        assert!(
            parse_executable_response(&secret(text), "t", false)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn executable_response_rejects_newer_version() {
        let text = r#"{"version": 2, "success": true}"#;
        assert!(parse_executable_response(&secret(text), "t", false).is_err());
    }
}
