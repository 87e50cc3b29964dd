//! The location of the cache directory: `$POSOS_TOKEN_CACHE_DIR`, else the platform's per-user cache
//! directory followed by `posos-token`.

use std::ffi::OsString;
use std::path::PathBuf;

/// The environment variable that sets the cache directory.
pub const CACHE_DIR_ENV: &str = "POSOS_TOKEN_CACHE_DIR";

/// The name of the tool's directory inside the platform's cache directory.
const APP_DIR: &str = "posos-token";

/// Returns the cache directory, or `None` when neither the variable nor the platform's
/// directory is set (no home directory).
pub fn cache_dir() -> Option<PathBuf> {
    resolve(&|name| std::env::var_os(name))
}

/// Resolves the directory from the variables that `env` returns.
fn resolve(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| env(name).filter(|value| !value.is_empty());
    if let Some(dir) = set(CACHE_DIR_ENV) {
        return Some(PathBuf::from(dir));
    }
    platform_cache_dir(&set).map(|dir| dir.join(APP_DIR))
}

/// Returns the per-user cache directory: `$XDG_CACHE_HOME` (when absolute, as the XDG Base Directory
/// specification requires) else `~/.cache` on Linux and other Unix systems.
#[cfg(all(unix, not(target_os = "macos")))]
fn platform_cache_dir(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .or_else(|| env("HOME").map(|home| PathBuf::from(home).join(".cache")))
}

/// Returns the per-user cache directory on macOS: `~/Library/Caches`.
#[cfg(target_os = "macos")]
fn platform_cache_dir(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    env("HOME").map(|home| PathBuf::from(home).join("Library/Caches"))
}

/// Returns the per-user cache directory on Windows: `%LOCALAPPDATA%`.
#[cfg(windows)]
fn platform_cache_dir(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    env("LOCALAPPDATA").map(PathBuf::from)
}

#[cfg(not(any(unix, windows)))]
fn platform_cache_dir(_env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_with(vars: &[(&str, &str)]) -> Option<PathBuf> {
        resolve(&|name| {
            vars.iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        })
    }

    #[test]
    fn variable_wins() {
        let dir = resolve_with(&[(CACHE_DIR_ENV, "/x/cache"), ("HOME", "/home/u")]);
        assert_eq!(dir, Some(PathBuf::from("/x/cache")));
    }

    #[test]
    fn empty_variable_is_ignored() {
        let dir = resolve_with(&[(CACHE_DIR_ENV, ""), ("HOME", "/home/u")]);
        assert!(dir.unwrap().ends_with(APP_DIR));
    }

    #[cfg(all(unix, not(target_os = "macos")))]
    #[test]
    fn xdg_then_home() {
        let xdg = resolve_with(&[("XDG_CACHE_HOME", "/xdg"), ("HOME", "/home/u")]);
        assert_eq!(xdg, Some(PathBuf::from("/xdg/posos-token")));
        let relative = resolve_with(&[("XDG_CACHE_HOME", "rel"), ("HOME", "/home/u")]);
        assert_eq!(relative, Some(PathBuf::from("/home/u/.cache/posos-token")));
        assert_eq!(resolve_with(&[]), None);
    }
}
