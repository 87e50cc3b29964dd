//! Helpers for the token cache tests: the files in a test's cache directory, a token endpoint
//! that responds slowly, and a `std::process::Command` for runs that must be spawned in the
//! background or under another umask.

use std::fs;
use std::path::{Path, PathBuf};
use std::process;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use super::{EndpointConfig, TestEnv, TestServer, answer_token_request};

/// Returns the paths in `dir` whose names end with `suffix` (such as `.json`), sorted.
pub fn files_ending(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut paths: Vec<PathBuf> = entries
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.to_string_lossy().ends_with(suffix))
        .collect();
    paths.sort();
    paths
}

/// Returns the one cache entry of a test, failing the test when there is not exactly one.
pub fn only_entry(env: &TestEnv) -> PathBuf {
    let entries = files_ending(&env.path("cache"), ".json");
    assert_eq!(entries.len(), 1, "cache entries: {entries:?}");
    entries[0].clone()
}

/// Tells whether the tests run as root, which can give files to another user.
#[cfg(unix)]
pub fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().unwrap();
    fs::metadata(dir.path()).unwrap().uid() == 0
}

/// Starts a token endpoint like `google_endpoint` that waits `delay` before each response, so
/// that parallel runs overlap.
pub fn slow_endpoint(delay: Duration) -> TestServer {
    let config = Arc::new(EndpointConfig::default());
    let port = Arc::new(Mutex::new(0u16));
    let port_in = port.clone();
    let server = TestServer::start(move |request| {
        thread::sleep(delay);
        let token_uri = format!("http://127.0.0.1:{}/token", port_in.lock().unwrap());
        answer_token_request(&config, &token_uri, request)
    });
    *port.lock().unwrap() = server.port();
    server
}

/// Builds the tool as a `std::process::Command` with a cleared environment that holds only what
/// `TestEnv::command` would set, for runs spawned in the background.
pub fn std_command(env: &TestEnv) -> process::Command {
    let mut command = process::Command::new(assert_cmd::cargo::cargo_bin("posos-token"));
    isolate(&mut command, env);
    command
}

/// Builds the tool run by `sh` after `umask MASK`, with the same environment as `std_command`.
pub fn command_with_umask(env: &TestEnv, mask: &str) -> process::Command {
    let mut command = process::Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {mask} && exec \"$0\" \"$@\""))
        .arg(assert_cmd::cargo::cargo_bin("posos-token"));
    isolate(&mut command, env);
    command
}

fn isolate(command: &mut process::Command, env: &TestEnv) {
    let home = env.path("home");
    fs::create_dir_all(&home).unwrap();
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("NO_GCE_CHECK", "true")
        .env("HOME", &home)
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("POSOS_TOKEN_CACHE_DIR", env.path("cache"));
}
