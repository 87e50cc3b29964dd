//! Finding the credentials (a flag, an environment variable or standard input) and reading
//! them with bounds on size and time. A huge file, `/dev/zero`, a FIFO or a stdin that never
//! closes so ends in a clear error instead of a hang or an exhausted memory.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The environment variable that contains the path of the key file, as in Google's libraries.
pub const CREDENTIALS_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";

/// The largest credentials file accepted. A Google service-account key is about 2.4 KiB, and
/// one holding an 8192-bit key about 7 KiB, so this leaves room without reading a huge file.
pub const MAX_CREDENTIALS_BYTES: u64 = 64 * 1024;

/// The origin of the credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// `--credentials FILE`.
    Flag(PathBuf),
    /// `--credentials -`.
    Stdin,
    /// The path in `GOOGLE_APPLICATION_CREDENTIALS`.
    EnvVar(PathBuf),
    /// gcloud's application-default credentials file, found by its well-known path.
    AdcFile(PathBuf),
}

impl Origin {
    /// Returns the file path, or `None` for standard input.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::Flag(path) | Origin::EnvVar(path) | Origin::AdcFile(path) => Some(path),
            Origin::Stdin => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(path) => write!(
                f,
                "credentials file {} (from --credentials)",
                path.display()
            ),
            Origin::Stdin => f.write_str("credentials on standard input (--credentials -)"),
            Origin::EnvVar(path) => {
                write!(
                    f,
                    "credentials file {} (from {CREDENTIALS_ENV})",
                    path.display()
                )
            }
            Origin::AdcFile(path) => write!(
                f,
                "gcloud application-default credentials file {}",
                path.display()
            ),
        }
    }
}

/// Picks the credentials named by `--credentials`, else by `GOOGLE_APPLICATION_CREDENTIALS`.
///
/// Returns `Ok(None)` when neither is given, so that the caller can look elsewhere.
pub fn locate(flag: Option<&OsStr>, env_value: Option<OsString>) -> Result<Option<Origin>> {
    if let Some(flag) = flag {
        if flag == "-" {
            return Ok(Some(Origin::Stdin));
        }
        check_not_key_text(
            flag,
            "--credentials",
            "posos-token --credentials - < key.json (or pipe the secret in)",
        )?;
        check_path_text(flag, "--credentials")?;
        return Ok(Some(Origin::Flag(PathBuf::from(flag))));
    }

    let Some(value) = env_value else {
        return Ok(None);
    };
    if value.is_empty() {
        return Err(
            Error::config(format!("{CREDENTIALS_ENV} is set but empty")).hint(format!(
                "set {CREDENTIALS_ENV} to the path of the service-account key file, or unset it"
            )),
        );
    }
    check_not_key_text(
        &value,
        CREDENTIALS_ENV,
        &format!("printf '%s' \"${CREDENTIALS_ENV}\" | posos-token --credentials -"),
    )?;
    check_path_text(&value, CREDENTIALS_ENV)?;
    Ok(Some(Origin::EnvVar(PathBuf::from(value))))
}

/// Rejects a value that holds key material instead of a path: JSON text, a PEM block, or text
/// of several lines. The message never quotes the value, which may be the private key itself.
/// `stdin_command` shows how to pass the same text on standard input.
fn check_not_key_text(value: &OsStr, named_by: &str, stdin_command: &str) -> Result<()> {
    let text = value.to_string_lossy();
    let what = if text.trim_start().starts_with('{') {
        "JSON text"
    } else if text.contains("-----BEGIN") {
        "a PEM block"
    } else if text.contains(['\n', '\r']) {
        "text of several lines"
    } else {
        return Ok(());
    };
    if Path::new(value).exists() {
        return Ok(());
    }
    Err(Error::config(format!(
        "{named_by} holds {what}, not the path of a key file"
    ))
    .hint(format!(
        "pass the key JSON on standard input instead: {stdin_command}"
    ))
    .hint("or write it to a file with mode 0600 and pass that file's path"))
}

/// Rejects path text that can't be what the user meant: empty, or wrapped in literal quotes.
fn check_path_text(path: &OsStr, named_by: &str) -> Result<()> {
    let text = path.to_string_lossy();
    if text.is_empty() {
        return Err(Error::config(format!("{named_by} was given an empty path"))
            .hint("give the path of the service-account key file, or - to read it from standard input"));
    }
    let quoted = text.len() >= 2
        && ((text.starts_with('"') && text.ends_with('"'))
            || (text.starts_with('\'') && text.ends_with('\'')));
    if quoted && !Path::new(path).exists() {
        let unquoted = &text[1..text.len() - 1];
        return Err(Error::config(format!(
            "the path in {named_by} has literal quotes around it: {text}"
        ))
        .hint(format!(
            "remove the quotes, so that the path reads {unquoted}"
        )));
    }
    Ok(())
}

/// Reads the credentials, at most `MAX_CREDENTIALS_BYTES` of them, and gives up at `deadline`.
pub fn read(origin: &Origin, deadline: Instant) -> Result<Secret<Vec<u8>>> {
    let mut metadata = None;
    let bytes = match origin {
        Origin::Stdin => read_bounded(|| Ok(io::stdin()), origin, deadline)?,
        Origin::Flag(path) | Origin::EnvVar(path) | Origin::AdcFile(path) => {
            let checked = check_metadata(path, origin)?;
            let is_file = checked.is_file();
            metadata = Some(checked);
            if is_file {
                // A regular file ends, so it needs no helper thread to bound the wait; this
                // keeps a thread start off the path of every run.
                let file = File::open(path).map_err(|err| open_error(err, path, origin))?;
                read_regular_file(file, origin)?
            } else {
                // Opening a FIFO blocks until a writer appears, so the open itself must
                // happen on the helper thread, under the deadline.
                let owned = path.clone();
                read_bounded(move || File::open(owned), origin, deadline)?
            }
        }
    };
    if bytes.expose().iter().all(u8::is_ascii_whitespace) {
        let error = Error::config(format!("{origin} is empty"))
            .hint("it should hold the service-account key JSON that Posos gave you");
        return Err(match origin {
            Origin::Stdin => error.hint(
                "in CI, check that the secret is set for this job: CI services give an empty value to jobs that may not read it, such as those of pull requests from forks",
            ),
            _ => error,
        });
    }
    if let (Some(path), Some(metadata)) = (origin.path(), &metadata) {
        warn_if_readable_by_others(path, metadata, bytes.expose());
    }
    Ok(bytes)
}

/// Checks a key file's metadata before it is opened, turning each way it can fail into a
/// message with the fix. Returns the metadata, for the permission check after reading.
fn check_metadata(path: &Path, origin: &Origin) -> Result<std::fs::Metadata> {
    let metadata = match path.metadata() {
        Ok(metadata) => metadata,
        Err(err) => return Err(open_error(err, path, origin)),
    };
    if metadata.is_dir() {
        return Err(
            Error::config(format!("{origin} is a directory, not a key file"))
                .hint("give the path of the .json key file inside it"),
        );
    }
    if metadata.is_file() && metadata.len() > MAX_CREDENTIALS_BYTES {
        return Err(too_large(origin));
    }
    Ok(metadata)
}

fn open_error(err: io::Error, path: &Path, origin: &Origin) -> Error {
    match err.kind() {
        io::ErrorKind::NotFound => {
            let mut error = Error::config(format!("{origin} not found"));
            let text = path.to_string_lossy();
            if text.trim() != text && Path::new(text.trim()).exists() {
                error = error.hint("the path has leading or trailing spaces: remove them");
            } else if text.starts_with("~/") || text == "~" {
                error = error.hint(
                    "the shell does not expand ~ inside quotes, so the path is taken literally: write $HOME instead of ~",
                );
            } else {
                error =
                    error.hint("check the path, or point it at the key file that Posos gave you");
            }
            error
        }
        io::ErrorKind::PermissionDenied => Error::config(format!(
            "{origin} can't be read: permission denied"
        ))
        .hint("run as the user who owns the key file, or give that user read access (chmod 600)"),
        _ => Error::config(format!("{origin} can't be read: {err}")),
    }
}

fn too_large(origin: &Origin) -> Error {
    Error::config(format!(
        "{origin} is larger than {} KiB, so it is not a service-account key",
        MAX_CREDENTIALS_BYTES / 1024
    ))
    .hint("a key file is about 2.4 KiB of JSON: check that the path names the right file")
}

/// Reads at most `MAX_CREDENTIALS_BYTES + 1` bytes of a regular file.
fn read_regular_file(file: File, origin: &Origin) -> Result<Secret<Vec<u8>>> {
    // Sized to the file, so that the buffer is not reallocated while it fills: a reallocation
    // would leave a copy of the key in freed memory, which `Secret` can't wipe.
    let size = file.metadata().map_or(0, |metadata| metadata.len());
    let mut buffer = Vec::with_capacity(size.min(MAX_CREDENTIALS_BYTES) as usize + 1);
    let result = file
        .take(MAX_CREDENTIALS_BYTES + 1)
        .read_to_end(&mut buffer);
    // Wrapped before any return, so that a partial read is wiped too.
    let bytes = Secret::new(buffer);
    if let Err(err) = result {
        return Err(Error::config(format!("{origin} can't be read: {err}")));
    }
    if bytes.expose().len() as u64 > MAX_CREDENTIALS_BYTES {
        return Err(too_large(origin));
    }
    Ok(bytes)
}

/// Reads at most `MAX_CREDENTIALS_BYTES + 1` bytes on a helper thread, so that a source that
/// never ends (a FIFO with no writer, a terminal) is bounded by the deadline.
fn read_bounded<R: Read + 'static>(
    open: impl FnOnce() -> io::Result<R> + Send + 'static,
    origin: &Origin,
    deadline: Instant,
) -> Result<Secret<Vec<u8>>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let result = open().and_then(|reader| {
            let mut bytes = Vec::new();
            reader
                .take(MAX_CREDENTIALS_BYTES + 1)
                .read_to_end(&mut bytes)
                .map(|_| Secret::new(bytes))
        });
        // The receiver is gone when the deadline passed first; nothing is left to tell.
        let _ = sender.send(result);
    });

    let remaining = deadline.saturating_duration_since(Instant::now());
    match receiver.recv_timeout(remaining) {
        Ok(Ok(bytes)) if bytes.expose().len() as u64 > MAX_CREDENTIALS_BYTES => {
            Err(too_large(origin))
        }
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(err)) => Err(Error::config(format!("{origin} can't be read: {err}"))),
        Err(_) => Err(Error::config(format!(
            "timed out reading {origin}: no end of input before the --timeout budget ran out"
        ))
        .hint(match origin {
            Origin::Stdin => {
                "pipe the key JSON in, for example: posos-token --credentials - < key.json"
            }
            _ => "the path names something that does not end, such as a FIFO with no writer",
        })),
    }
}

/// Set by a caller that reports the key file's permissions itself, as `doctor` does.
static PERMISSIONS_REPORTED_ELSEWHERE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Leaves the warning about a key file that others may read to the caller, which reports the
/// file's permissions in its own words.
pub fn report_permissions_elsewhere() {
    PERMISSIONS_REPORTED_ELSEWHERE.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Returns the name of the secret in credentials file content, for the permission warning: a
/// private key, or a user's refresh token. A federation or impersonation file that only points
/// at other credentials contains none.
pub fn secret_in(content: &[u8]) -> Option<&'static str> {
    let has = |field: &[u8]| content.windows(field.len()).any(|window| window == field);
    if has(b"\"private_key\"") {
        Some("the private key")
    } else if has(b"\"refresh_token\"") || has(b"\"client_secret\"") {
        Some("the refresh token")
    } else {
        None
    }
}

/// Warns, as ssh does, when a credentials file that contains a secret is readable by the group
/// or by others.
#[cfg(unix)]
fn warn_if_readable_by_others(path: &Path, metadata: &std::fs::Metadata, content: &[u8]) {
    use std::os::unix::fs::PermissionsExt;

    if PERMISSIONS_REPORTED_ELSEWHERE.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let mode = metadata.permissions().mode();
    if !metadata.is_file() || mode & 0o077 == 0 {
        return;
    }
    if let Some(secret) = secret_in(content) {
        log::warn!(
            "key file {} has mode {:04o}, so other users may read {secret}; run: chmod 600 {}",
            path.display(),
            mode & 0o7777,
            path.display()
        );
    }
}

#[cfg(not(unix))]
fn warn_if_readable_by_others(_path: &Path, _metadata: &std::fs::Metadata, _content: &[u8]) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_prefers_flag() {
        let origin = locate(Some(OsStr::new("a.json")), Some("b.json".into())).unwrap();
        assert_eq!(origin, Some(Origin::Flag(PathBuf::from("a.json"))));
    }

    #[test]
    fn locate_dash_means_stdin() {
        let origin = locate(Some(OsStr::new("-")), None).unwrap();
        assert_eq!(origin, Some(Origin::Stdin));
    }

    #[test]
    fn locate_without_source_returns_none() {
        assert_eq!(locate(None, None).unwrap(), None);
    }

    #[test]
    fn locate_rejects_empty_variable() {
        let err = locate(None, Some(OsString::new())).unwrap_err();
        assert!(err.message().contains("set but empty"), "{}", err.message());
    }

    #[test]
    fn locate_rejects_json_in_variable() {
        let err = locate(None, Some(r#"{"type": "service_account"}"#.into())).unwrap_err();
        assert!(err.message().contains("holds JSON text"));
        assert!(!err.message().contains("service_account"));
    }

    #[test]
    fn locate_rejects_quoted_path() {
        let err = locate(None, Some("\"/no/such/key.json\"".into())).unwrap_err();
        assert!(err.message().contains("literal quotes"));
    }
}
