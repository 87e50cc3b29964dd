//! The token cache: one file per (credentials identity, audience, token endpoint) that contains
//! the last identity token, so that repeated runs print it without signing or a request.
//!
//! The cache never makes a run fail. A directory or file that can't be used safely is one owned
//! by another user, a symbolic link or not a regular file. That, an unwritable directory, a
//! full disk or a damaged entry gives one warning (hidden by `-q`), and the run fetches as if
//! there were no cache.

pub mod entry;
mod fs;
mod key;
mod location;
mod lock;

pub use fs::{check_dir, read_file};
pub use key::{CacheKey, private_key_digest};
pub use location::{CACHE_DIR_ENV, cache_dir};

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::exit_code::ExitCode;
use crate::fetch::unix_now;
use crate::id_token::IdToken;
use crate::secret::Secret;
use lock::Locked;

/// The variable that locates the platform's per-user cache directory.
#[cfg(windows)]
const HOME_ENV: &str = "LOCALAPPDATA";
#[cfg(not(windows))]
const HOME_ENV: &str = "HOME";

/// The OAuth error code after which a key's cached token is dropped.
const INVALID_GRANT: &str = "invalid_grant";

/// The cache settings of a run, from `--no-cache`, `--refresh` and `--min-valid`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Read and write the cache.
    pub enabled: bool,
    /// Skip a cached token, fetch, and write the new one.
    pub refresh: bool,
    /// The minimum remaining life for which a cached token is used.
    pub min_valid: Duration,
}

/// Returns the identity token for `key`: the cached one while it has at least
/// `policy.min_valid` of life left, else the one that `fetch` returns, which is then cached.
///
/// When another run is fetching the same token, waits for it (at most half the time left
/// before `deadline`, so that a fetch of its own still has time) and uses its result.
pub fn obtain(
    policy: Policy,
    key: &CacheKey,
    deadline: Instant,
    fetch: impl FnOnce() -> Result<IdToken>,
) -> Result<IdToken> {
    if !policy.enabled {
        return fetch();
    }
    let started_at = unix_now();
    let Some(cache) = TokenCache::open() else {
        return fetch();
    };

    if !policy.refresh
        && let Some(token) = cache.read_fresh(key, policy.min_valid, None, log::Level::Info)
    {
        return Ok(token);
    }

    let now = Instant::now();
    let lock_deadline = now + deadline.saturating_duration_since(now) / 2;
    let _lock = match lock::acquire(&cache.lock_path(key), lock_deadline) {
        Ok(Locked::Immediately(lock)) => {
            // Another run may have written a token and released the lock between the read
            // above and this lock, so the entry is read again. With --refresh it is not,
            // because this run's request came after that token's.
            if !policy.refresh
                && let Some(token) =
                    cache.read_fresh(key, policy.min_valid, None, log::Level::Debug)
            {
                return Ok(token);
            }
            Some(lock)
        }
        Ok(Locked::AfterWaiting(lock)) => {
            // The run that held the lock has probably just written a new token. With
            // --refresh, only a token fetched after this run started is new enough.
            let fetched_since = policy.refresh.then_some(started_at);
            if let Some(token) =
                cache.read_fresh(key, policy.min_valid, fetched_since, log::Level::Info)
            {
                return Ok(token);
            }
            Some(lock)
        }
        Err(problem) => {
            cache.warn(&problem);
            None
        }
    };

    match fetch() {
        Ok(token) => {
            cache.write(key, &token, unix_now());
            Ok(token)
        }
        Err(err) => {
            if err.oauth_error() == Some(INVALID_GRANT) {
                cache.remove(key);
            }
            Err(err)
        }
    }
}

/// An open cache directory, and whether a warning was already printed in this run.
struct TokenCache {
    dir: PathBuf,
    warned: Cell<bool>,
}

impl TokenCache {
    /// Opens the cache directory, creating it if needed. Returns `None`, after a warning,
    /// when it can't be used.
    fn open() -> Option<TokenCache> {
        let Some(dir) = cache_dir() else {
            warn(&format!(
                "no cache directory: neither {CACHE_DIR_ENV} nor {HOME_ENV} is set"
            ));
            return None;
        };
        let cache = TokenCache {
            dir,
            warned: Cell::new(false),
        };
        match fs::prepare_dir(&cache.dir) {
            Ok(()) => Some(cache),
            Err(problem) => {
                cache.warn(&problem);
                None
            }
        }
    }

    fn entry_path(&self, key: &CacheKey) -> PathBuf {
        entry_path(&self.dir, key)
    }

    fn lock_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.lock", key.file_stem()))
    }

    /// Returns the cached token when it has at least `min_valid` of life left and, if
    /// `fetched_since` is given, was fetched at or after that time. `level` is the log level of
    /// why there is none, so that a second read under the lock does not repeat the first's.
    fn read_fresh(
        &self,
        key: &CacheKey,
        min_valid: Duration,
        fetched_since: Option<i64>,
        level: log::Level,
    ) -> Option<IdToken> {
        let path = self.entry_path(key);
        let bytes = match fs::read_file(&path) {
            Ok(Some(bytes)) => Secret::new(bytes),
            Ok(None) => {
                log::log!(level, "no cached token in {}", path.display());
                return None;
            }
            Err(problem) => {
                self.warn(&problem);
                return None;
            }
        };
        let entry = match entry::decode(bytes.expose()) {
            Ok(entry) => entry,
            Err(reason) => {
                self.warn(&format!("the cache entry {} {reason}", path.display()));
                return None;
            }
        };

        // Counted by the issuer's clock when the local one was found behind it at the fetch.
        let remaining = entry.token.local_expiry().saturating_sub(unix_now());
        let min_valid_secs = i64::try_from(min_valid.as_secs()).unwrap_or(i64::MAX);
        if remaining < min_valid_secs {
            log::log!(
                level,
                "the cached token has {} s of life left, less than --min-valid {min_valid_secs} s",
                remaining.max(0)
            );
            return None;
        }
        if fetched_since.is_some_and(|since| entry.fetched_at < since) {
            return None;
        }
        log::info!(
            "using the cached token from {}, valid for {remaining} s more",
            path.display()
        );
        Some(entry.token)
    }

    fn write(&self, key: &CacheKey, token: &IdToken, fetched_at: i64) {
        let path = self.entry_path(key);
        let bytes = entry::encode(key, token, fetched_at);
        match fs::write_atomic(&path, bytes.expose()) {
            Ok(()) => log::info!("cached the token in {}", path.display()),
            Err(problem) => self.warn(&problem),
        }
    }

    fn remove(&self, key: &CacheKey) {
        let path = self.entry_path(key);
        match std::fs::remove_file(&path) {
            Ok(()) => log::info!(
                "removed the cached token of the refused key: {}",
                path.display()
            ),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => self.warn(&format!("can't remove {}: {err}", path.display())),
        }
    }

    /// Prints the first warning of the run; later ones only go to the `-v` log, so that a
    /// broken cache costs one line of stderr.
    fn warn(&self, problem: &str) {
        if self.warned.replace(true) {
            log::info!("not using the token cache: {problem}");
        } else {
            warn(problem);
        }
    }
}

fn warn(problem: &str) {
    log::warn!("not using the token cache: {problem}");
}

/// Returns the path of the entry for `key` in the cache directory `dir`.
pub fn entry_path(dir: &Path, key: &CacheKey) -> PathBuf {
    dir.join(format!("{}.json", key.file_stem()))
}

/// Runs `posos-token cache path`: returns the cache directory and a newline.
pub fn path_command() -> Result<Secret<String>> {
    let dir = require_cache_dir()?;
    Ok(Secret::new(format!("{}\n", dir.display())))
}

/// Runs `posos-token cache clear`: removes every cached token, lock file and temporary file
/// that the tool wrote in the cache directory, and nothing else.
pub fn clear_command() -> Result<Secret<String>> {
    let dir = require_cache_dir()?;
    if !dir.exists() && std::fs::symlink_metadata(&dir).is_err() {
        log::info!("{} does not exist; nothing to clear", dir.display());
        return Ok(Secret::default());
    }
    fs::check_dir(&dir).map_err(|problem| {
        Error::new(
            ExitCode::Failure,
            format!("can't clear the token cache: {problem}"),
        )
        .hint(format!(
            "set {CACHE_DIR_ENV} to a directory of yours that holds only the token cache, or unset it to use the default"
        ))
    })?;

    let entries = std::fs::read_dir(&dir).map_err(|err| clear_error(&dir, &err))?;
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(|err| clear_error(&dir, &err))?;
        let name = entry.file_name();
        if !is_cache_file(&name.to_string_lossy()) {
            continue;
        }
        let path = entry.path();
        std::fs::remove_file(&path).map_err(|err| clear_error(&path, &err))?;
        removed += 1;
    }
    log::info!("removed {removed} files from {}", dir.display());
    Ok(Secret::default())
}

fn require_cache_dir() -> Result<PathBuf> {
    cache_dir().ok_or_else(|| {
        Error::config(format!(
            "no cache directory: neither {CACHE_DIR_ENV} nor {HOME_ENV} is set"
        ))
        .hint(format!("set {CACHE_DIR_ENV} to the directory to use"))
    })
}

fn clear_error(path: &Path, err: &std::io::Error) -> Error {
    Error::new(
        ExitCode::Failure,
        format!("can't clear the token cache: {}: {err}", path.display()),
    )
}

/// Tells the files this tool writes: `<64 hex digits>.json`, `<64 hex digits>.lock`, and
/// temporary files `.<64 hex digits>.json.<pid>.<nanoseconds>.tmp`.
pub(crate) fn is_cache_file(name: &str) -> bool {
    let is_stem = |stem: &str| stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit());
    if let Some(rest) = name.strip_prefix('.') {
        return rest.ends_with(".tmp") && rest.get(..64).is_some_and(is_stem);
    }
    match name.rsplit_once('.') {
        Some((stem, "json" | "lock")) => is_stem(stem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_files_are_recognized() {
        let stem = "a".repeat(64);
        assert!(is_cache_file(&format!("{stem}.json")));
        assert!(is_cache_file(&format!("{stem}.lock")));
        assert!(is_cache_file(&format!(".{stem}.json.12.345.tmp")));
        assert!(!is_cache_file(&format!("{stem}.txt")));
        assert!(!is_cache_file("notes.json"));
        assert!(!is_cache_file(&format!("{}.json", "g".repeat(64))));
        assert!(!is_cache_file(".hidden.tmp"));
    }
}
