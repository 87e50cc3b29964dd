//! The token cache, proven by hit counts at the loopback token endpoint: which runs reuse a
//! cached token, which fetch, and how the cache survives damaged, foreign or missing files.

mod common;

use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

use common::cache::*;
use common::*;

/// Runs the tool with the key file `key` and the extra arguments `args`.
fn run_with(env: &TestEnv, key: &Path, args: &[&str]) -> Outcome {
    run(env.command().arg("--credentials").arg(key).args(args))
}

fn is_token_for(stdout: &str, audience: &str) -> bool {
    let claims = jwt_claims(stdout);
    claims["aud"] == audience && claims["exp"].as_i64().unwrap() > unix_now()
}

#[test]
fn second_run_makes_no_request() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let first = run_with(&env, &key, &[]);
    let second = run_with(&env, &key, &[]);

    first.expect_code(0);
    second.expect_code(0);
    assert_eq!(endpoint.hits(), 1);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(second.stderr, "");
}

#[test]
fn cached_token_keeps_output_formats() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let token = run_with(&env, &key, &[]).stdout;

    let header = run_with(&env, &key, &["-H"]);
    let json = run_with(&env, &key, &["--format", "json"]);

    assert_eq!(endpoint.hits(), 1);
    assert_eq!(header.stdout, format!("Authorization: Bearer {token}"));
    let value: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(value["token"], token.trim());
    assert_eq!(value["email"], CLIENT_EMAIL);
}

#[test]
fn no_cache_neither_reads_nor_writes() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    run_with(&env, &key, &["--no-cache"]).expect_code(0);
    assert!(!env.path("cache").exists(), "--no-cache created the cache");
    assert_eq!(endpoint.hits(), 1);

    run_with(&env, &key, &[]).expect_code(0);
    run_with(&env, &key, &["--no-cache"]).expect_code(0);
    assert_eq!(endpoint.hits(), 3);
}

#[test]
fn refresh_fetches_and_writes() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let first = run_with(&env, &key, &[]);
    let refreshed = run_with(&env, &key, &["--refresh"]);
    let after = run_with(&env, &key, &[]);

    assert_eq!(endpoint.hits(), 2);
    assert_ne!(first.stdout, refreshed.stdout);
    assert_eq!(after.stdout, refreshed.stdout);
}

#[test]
fn refresh_conflicts_with_no_cache() {
    let env = TestEnv::new();
    run(env.command().args(["--refresh", "--no-cache"])).expect_code(2);
}

#[test]
fn rotated_key_gets_its_own_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let rotated = env.key_file("service-account-rotated.json", &endpoint.url("/token"));

    run_with(&env, &key, &[]).expect_code(0);
    let outcome = run_with(&env, &rotated, &[]);

    outcome.expect_code(0);
    assert_eq!(endpoint.hits(), 2);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    assert_eq!(files_ending(&env.path("cache"), ".json").len(), 2);
    let request = &endpoint.requests()[1];
    let assertion = request.form()["assertion"].clone();
    let header = assertion.split('.').next().unwrap().to_string();
    let header = String::from_utf8(
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    assert!(header.contains(ROTATED_KEY_ID), "{header}");
}

#[test]
fn new_key_material_under_old_id_fetches() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);

    // The rotated key's material under the first key's id: the endpoint rejects the
    // signature, and the cached token of the first key must not be printed instead.
    let mut json: serde_json::Value =
        serde_json::from_str(&fixture("service-account-rotated.json")).unwrap();
    json["private_key_id"] = serde_json::json!(KEY_ID);
    json["token_uri"] = serde_json::json!(endpoint.url("/token"));
    let impostor = env.write("impostor.json", json.to_string());
    let outcome = run_with(&env, &impostor, &[]);

    outcome.expect_code(77).expect_clean_failure();
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn another_audience_fetches() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    run_with(&env, &key, &[]).expect_code(0);
    let other = run_with(&env, &key, &["--audience", "other-client-id"]);
    let again = run_with(&env, &key, &["--audience", "other-client-id"]);

    other.expect_code(0);
    assert_eq!(endpoint.hits(), 2);
    assert!(is_token_for(&other.stdout, "other-client-id"));
    assert_eq!(again.stdout, other.stdout);
}

#[test]
fn another_endpoint_fetches() {
    let first = google_endpoint();
    let second = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &first.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);

    let key = env.key_file("service-account.json", &second.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);

    assert_eq!(first.hits(), 1);
    assert_eq!(second.hits(), 1);
}

#[test]
fn min_valid_above_remaining_life_fetches() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);

    // Rewrite the entry with a token that has 1000 s of life left.
    let entry = only_entry(&env);
    let mut value: serde_json::Value = serde_json::from_slice(&fs::read(&entry).unwrap()).unwrap();
    let exp = unix_now() + 1000;
    value["id_token"] = serde_json::json!(make_id_token(CLIENT_ID, CLIENT_EMAIL, exp - 3600));
    value["expires_at"] = serde_json::json!(exp);
    fs::write(&entry, value.to_string()).unwrap();

    run_with(&env, &key, &["--min-valid", "900"]).expect_code(0);
    assert_eq!(endpoint.hits(), 1);
    run_with(&env, &key, &["--min-valid", "1100"]).expect_code(0);
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn min_valid_of_an_hour_is_rejected() {
    let env = TestEnv::new();
    let outcome = run(env.command().args(["--min-valid", "3600"]));
    outcome.expect_code(2).expect_stderr(&["--refresh"]);
}

#[test]
fn expired_entry_is_replaced() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    let entry = only_entry(&env);

    // An entry whose token expires in 100 s, under the default --min-valid of 300 s.
    let mut value: serde_json::Value = serde_json::from_slice(&fs::read(&entry).unwrap()).unwrap();
    let exp = unix_now() + 100;
    value["id_token"] = serde_json::json!(make_id_token(CLIENT_ID, CLIENT_EMAIL, exp - 3600));
    value["expires_at"] = serde_json::json!(exp);
    fs::write(&entry, value.to_string()).unwrap();

    let outcome = run_with(&env, &key, &[]);

    outcome.expect_code(0);
    assert_eq!(outcome.stderr, "");
    assert_eq!(endpoint.hits(), 2);
    run_with(&env, &key, &[]).expect_code(0);
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn invalid_grant_drops_cached_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    let entry = only_entry(&env);

    endpoint.queue([Reply::google_error(
        400,
        "invalid_grant",
        "Invalid JWT Signature.",
    )]);
    run_with(&env, &key, &["--refresh"]).expect_code(77);
    assert!(!entry.exists(), "the refused key's token is still cached");

    run_with(&env, &key, &[]).expect_code(0);
    assert_eq!(endpoint.hits(), 3);
}

#[test]
fn temporary_failure_keeps_cached_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);

    // 501 is a temporary failure that is not retried, so the run makes one request.
    endpoint.queue([Reply::text(501, "text/plain", "Not Implemented")]);
    run_with(&env, &key, &["--refresh"]).expect_code(75);

    run_with(&env, &key, &[]).expect_code(0);
    assert_eq!(endpoint.hits(), 2);
}

/// Damages the one entry with `damage`, then checks that a run warns once, prints a valid
/// token from the endpoint, and rewrites the entry so that the next run uses it.
fn check_damaged_entry(damage: impl Fn(&Path), warning: &str) {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    damage(&only_entry(&env));

    let outcome = run_with(&env, &key, &[]);

    outcome.expect_code(0).expect_stderr(&[warning]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
    assert!(outcome.stderr.starts_with("posos-token: warning: "));
    assert_eq!(endpoint.hits(), 2);

    let next = run_with(&env, &key, &[]);
    assert_eq!(next.stdout, outcome.stdout);
    assert_eq!(next.stderr, "");
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn corrupt_entry_is_replaced() {
    check_damaged_entry(
        |entry| fs::write(entry, "this is not json").unwrap(),
        "is damaged: not valid JSON",
    );
}

#[test]
fn truncated_entry_is_replaced() {
    check_damaged_entry(
        |entry| {
            let bytes = fs::read(entry).unwrap();
            fs::write(entry, &bytes[..bytes.len() / 2]).unwrap();
        },
        "is truncated",
    );
}

#[test]
fn empty_entry_is_replaced() {
    check_damaged_entry(|entry| fs::write(entry, "").unwrap(), "is truncated");
}

#[test]
fn future_version_entry_is_replaced() {
    check_damaged_entry(
        |entry| fs::write(entry, r#"{"version": 99, "tokens": []}"#).unwrap(),
        "has format version 99",
    );
}

#[test]
fn unparsable_token_in_entry_is_replaced() {
    check_damaged_entry(
        |entry| {
            let mut value: serde_json::Value =
                serde_json::from_slice(&fs::read(entry).unwrap()).unwrap();
            value["id_token"] = serde_json::json!("not-a-jwt");
            fs::write(entry, value.to_string()).unwrap();
        },
        "the id_token is not a readable JWT",
    );
}

#[test]
fn quiet_hides_cache_warning() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    fs::write(only_entry(&env), "garbage").unwrap();

    let outcome = run_with(&env, &key, &["-q"]);

    outcome.expect_code(0);
    assert_eq!(outcome.stderr, "");
}

#[test]
fn unwritable_cache_dir_still_prints_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    // A directory can't be created under a regular file, not even by root.
    let blocker = env.write("blocker", "a file");

    for _ in 0..2 {
        let outcome = run(env
            .command()
            .env("POSOS_TOKEN_CACHE_DIR", blocker.join("cache"))
            .arg("--credentials")
            .arg(&key));
        outcome
            .expect_code(0)
            .expect_stderr(&["not using the token cache: ", "blocker"]);
        assert_eq!(outcome.stderr.lines().count(), 1, "{}", outcome.stderr);
        assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    }
    assert_eq!(endpoint.hits(), 2);
}

#[cfg(unix)]
#[test]
fn read_only_cache_dir_still_prints_token() {
    use std::os::unix::fs::PermissionsExt;
    if running_as_root() {
        // Root writes through mode bits; the test under a regular file covers root.
        return;
    }
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let cache = env.path("cache");
    fs::create_dir(&cache).unwrap();
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o500)).unwrap();

    let outcome = run_with(&env, &key, &[]);

    fs::set_permissions(&cache, fs::Permissions::from_mode(0o700)).unwrap();
    outcome.expect_code(0).expect_stderr(&["warning"]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn missing_home_still_prints_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let outcome = run(env
        .command()
        .env_remove("POSOS_TOKEN_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .arg("--credentials")
        .arg(&key));

    outcome
        .expect_code(0)
        .expect_stderr(&["no cache directory: neither POSOS_TOKEN_CACHE_DIR nor HOME is set"]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));

    let path = run(env
        .command()
        .env_remove("POSOS_TOKEN_CACHE_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env_remove("HOME")
        .args(["cache", "path"]));
    path.expect_code(78).expect_clean_failure();
}

#[test]
fn cache_dir_as_file_still_prints_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    env.write("cache", "not a directory");

    let outcome = run_with(&env, &key, &[]);

    outcome
        .expect_code(0)
        .expect_stderr(&["is not a directory"]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
}

#[cfg(unix)]
#[test]
fn symlinked_entry_is_rejected() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let first = run_with(&env, &key, &[]);
    let entry = only_entry(&env);

    // A valid entry elsewhere, reached through a symbolic link in place of the entry.
    let elsewhere = env.path("elsewhere.json");
    fs::rename(&entry, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &entry).unwrap();
    let before = fs::read(&elsewhere).unwrap();

    let outcome = run_with(&env, &key, &[]);

    outcome
        .expect_code(0)
        .expect_stderr(&["is a symbolic link"]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    assert_ne!(outcome.stdout, first.stdout, "the linked token was used");
    assert_eq!(endpoint.hits(), 2);
    assert!(
        fs::symlink_metadata(&entry)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        fs::read(&elsewhere).unwrap(),
        before,
        "the link target changed"
    );
}

#[cfg(unix)]
#[test]
fn symlinked_cache_dir_is_rejected() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let real = env.path("real-cache");
    fs::create_dir(&real).unwrap();
    std::os::unix::fs::symlink(&real, env.path("cache")).unwrap();

    let outcome = run_with(&env, &key, &[]);

    outcome
        .expect_code(0)
        .expect_stderr(&["is a symbolic link"]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    assert_eq!(fs::read_dir(&real).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn fifo_in_place_of_entry_is_rejected() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    let entry = only_entry(&env);
    fs::remove_file(&entry).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&entry)
        .status()
        .unwrap();
    assert!(status.success());

    let outcome = run_with(&env, &key, &["--timeout", "10"]);

    outcome
        .expect_code(0)
        .expect_stderr(&["is not a regular file"]);
    assert_eq!(endpoint.hits(), 2);
}

#[cfg(unix)]
#[test]
fn foreign_owned_entry_is_rejected() {
    if !running_as_root() {
        return;
    }
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let first = run_with(&env, &key, &[]);
    let entry = only_entry(&env);
    std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
    let before = fs::read(&entry).unwrap();

    let outcome = run_with(&env, &key, &[]);

    outcome
        .expect_code(0)
        .expect_stderr(&["is owned by user id 65534"]);
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    assert_ne!(outcome.stdout, first.stdout);
    assert_eq!(endpoint.hits(), 2);
    assert_eq!(
        fs::read(&entry).unwrap(),
        before,
        "the foreign entry changed"
    );
}

#[cfg(unix)]
#[test]
fn foreign_owned_cache_dir_is_rejected() {
    if !running_as_root() {
        return;
    }
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let cache = env.path("cache");
    fs::create_dir(&cache).unwrap();
    std::os::unix::fs::chown(&cache, Some(65534), Some(65534)).unwrap();

    for _ in 0..2 {
        let outcome = run_with(&env, &key, &[]);
        outcome
            .expect_code(0)
            .expect_stderr(&["is owned by user id 65534"]);
    }
    assert_eq!(endpoint.hits(), 2);
    assert_eq!(fs::read_dir(&cache).unwrap().count(), 0);
}

#[cfg(unix)]
#[test]
fn files_and_directory_have_private_modes() {
    use std::os::unix::fs::PermissionsExt;
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    // umask 000 would leave new files readable by everyone if the modes were not set.
    let status = command_with_umask(&env, "000")
        .arg("--credentials")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());

    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let cache = env.path("cache");
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&only_entry(&env)), 0o600);
    for lock in files_ending(&cache, ".lock") {
        assert_eq!(mode(&lock), 0o600);
    }
}

#[cfg(unix)]
#[test]
fn existing_open_directory_is_restricted() {
    use std::os::unix::fs::PermissionsExt;
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let cache = env.path("cache");
    fs::create_dir(&cache).unwrap();
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o755)).unwrap();

    run_with(&env, &key, &[]).expect_code(0);
    let entry = only_entry(&env);
    fs::set_permissions(&entry, fs::Permissions::from_mode(0o644)).unwrap();
    run_with(&env, &key, &["--refresh"]).expect_code(0);

    let mode = |path: &Path| fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&cache), 0o700);
    assert_eq!(mode(&entry), 0o600);
}

#[test]
fn cache_holds_no_key_material() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);

    let key_json: serde_json::Value =
        serde_json::from_str(&fixture("service-account.json")).unwrap();
    let pem = key_json["private_key"].as_str().unwrap();
    let body_lines: Vec<&str> = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    for path in fs::read_dir(env.path("cache")).unwrap() {
        let text = String::from_utf8_lossy(&fs::read(path.unwrap().path()).unwrap()).into_owned();
        assert!(!text.contains("PRIVATE KEY"));
        for line in &body_lines {
            assert!(!text.contains(&line[..16]), "a piece of the key is cached");
        }
    }
}

#[test]
fn parallel_runs_share_one_fetch() {
    let endpoint = slow_endpoint(Duration::from_millis(300));
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let children: Vec<_> = (0..20)
        .map(|_| {
            std_command(&env)
                .arg("--credentials")
                .arg(&key)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();

    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "stderr: {stderr}");
        assert_eq!(stderr, "");
        assert!(is_token_for(
            &String::from_utf8_lossy(&output.stdout),
            CLIENT_ID
        ));
    }
    assert!(endpoint.hits() <= 2, "{} requests", endpoint.hits());
}

#[test]
fn lock_of_killed_run_is_released() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    endpoint.queue([Reply::Hang(Duration::from_secs(60))]);

    let mut child = std_command(&env)
        .arg("--credentials")
        .arg(&key)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while endpoint.hits() == 0 && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(endpoint.hits(), 1, "the first run never sent its request");
    child.kill().unwrap();
    child.wait().unwrap();

    let outcome = run_with(&env, &key, &["--timeout", "20"]);

    outcome.expect_code(0);
    assert_eq!(outcome.stderr, "", "the lock was not released");
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn held_lock_wait_is_bounded_by_timeout() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    let lock_path = files_ending(&env.path("cache"), ".lock").pop().unwrap();
    let lock_file = fs::OpenOptions::new().write(true).open(&lock_path).unwrap();
    lock_file.lock().unwrap();

    let started = Instant::now();
    let outcome = run_with(&env, &key, &["--refresh", "--timeout", "2"]);

    outcome
        .expect_code(0)
        .expect_stderr(&["for the whole wait"]);
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(is_token_for(&outcome.stdout, CLIENT_ID));
    assert_eq!(endpoint.hits(), 2);
}

#[test]
fn cache_path_prints_directory() {
    let env = TestEnv::new();

    let outcome = run(env.command().args(["cache", "path"]));

    outcome.expect_code(0);
    assert_eq!(outcome.stdout, format!("{}\n", env.path("cache").display()));
    assert!(
        !env.path("cache").exists(),
        "cache path created the directory"
    );
}

#[cfg(all(unix, not(target_os = "macos")))]
#[test]
fn cache_path_defaults_to_xdg_cache_home() {
    let env = TestEnv::new();

    let outcome = run(env
        .command()
        .env_remove("POSOS_TOKEN_CACHE_DIR")
        .args(["cache", "path"]));

    outcome.expect_code(0);
    let expected = env.path("home").join(".cache").join("posos-token");
    assert_eq!(outcome.stdout, format!("{}\n", expected.display()));
}

#[test]
fn cache_clear_removes_every_token() {
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    run_with(&env, &key, &[]).expect_code(0);
    run_with(&env, &key, &["--audience", "other"]).expect_code(0);
    let unrelated = env.path("cache").join("notes.txt");
    fs::write(&unrelated, "keep me").unwrap();

    let outcome = run(env.command().args(["cache", "clear"]));

    outcome.expect_code(0);
    assert_eq!(outcome.stdout, "");
    assert!(files_ending(&env.path("cache"), ".json").is_empty());
    assert!(files_ending(&env.path("cache"), ".lock").is_empty());
    assert!(
        unrelated.exists(),
        "cache clear removed a file it did not write"
    );
    run_with(&env, &key, &[]).expect_code(0);
    assert_eq!(endpoint.hits(), 3);
}

#[test]
fn cache_clear_without_directory_succeeds() {
    let env = TestEnv::new();

    let outcome = run(env.command().args(["cache", "clear"]));

    outcome.expect_code(0);
    assert_eq!(outcome.stdout, "");
    assert_eq!(outcome.stderr, "");
}

#[cfg(unix)]
#[test]
fn cache_clear_rejects_symlinked_directory() {
    let env = TestEnv::new();
    let real = env.path("real");
    fs::create_dir(&real).unwrap();
    let victim = real.join(format!("{}.json", "a".repeat(64)));
    fs::write(&victim, "x").unwrap();
    std::os::unix::fs::symlink(&real, env.path("cache")).unwrap();

    let outcome = run(env.command().args(["cache", "clear"]));

    outcome
        .expect_code(1)
        .expect_clean_failure()
        .expect_stderr(&["is a symbolic link", "hint:"]);
    assert!(victim.exists());
}

#[test]
fn fifty_parallel_runs_half_refreshing_succeed() {
    let endpoint = slow_endpoint(Duration::from_millis(20));
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let children: Vec<_> = (0..50)
        .map(|i| {
            let mut command = std_command(&env);
            command.arg("--credentials").arg(&key);
            if i % 2 == 0 {
                command.arg("--refresh");
            }
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|child| child.wait_with_output().unwrap())
        .collect();

    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "stderr: {stderr}");
        assert_eq!(stderr, "", "no cache warning");
        assert!(is_token_for(
            &String::from_utf8_lossy(&output.stdout),
            CLIENT_ID
        ));
    }
    // A --refresh run that waits on another run's fetch takes that fresh token, so the
    // requests number between 1 and the 25 refreshing runs plus one.
    let hits = endpoint.hits();
    assert!((1..=26).contains(&hits), "{hits} requests");
    // The cache is left as one readable entry that a later run uses.
    let after = run_with(&env, &key, &[]);
    after.expect_code(0);
    assert_eq!(
        endpoint.hits(),
        hits,
        "the entry left behind was not usable"
    );
    let entry = std::fs::read(only_entry(&env)).unwrap();
    assert!(posos_token::cache::entry::decode(&entry).is_ok());
}

#[test]
fn clock_behind_shortens_cached_life() {
    // The endpoint's clock is 20 minutes ahead of this machine's, and its token has 10 minutes
    // of life left by that clock. By the local clock alone it would seem to have 30.
    let skew = 1200;
    let endpoint = TestServer::start(move |_| {
        let endpoint_now = unix_now() + skew;
        Reply::json(
            200,
            serde_json::json!({"id_token": make_id_token(CLIENT_ID, CLIENT_EMAIL, endpoint_now - 3000)}),
        )
        .with_header(
            "Date",
            &httpdate::fmt_http_date(
                std::time::SystemTime::now() + Duration::from_secs(skew as u64),
            ),
        )
    });
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));

    let first = run_with(&env, &key, &[]);
    first.expect_code(0);
    first.expect_stderr(&[
        "warning: local clock is",
        "behind",
        "its Date header",
        "synchronize it",
    ]);

    // 10 minutes left is less than --min-valid 900: fetch again.
    run_with(&env, &key, &["--min-valid", "900"]).expect_code(0);
    assert_eq!(endpoint.hits(), 2);
    // 10 minutes left is more than --min-valid 300: use the cached token.
    run_with(&env, &key, &["--min-valid", "300"]).expect_code(0);
    assert_eq!(endpoint.hits(), 2);
}

#[cfg(unix)]
#[test]
fn shared_open_directory_is_left_alone() {
    use std::os::unix::fs::PermissionsExt;
    let endpoint = google_endpoint();
    let env = TestEnv::new();
    let key = env.key_file("service-account.json", &endpoint.url("/token"));
    let cache = env.path("cache");
    fs::create_dir(&cache).unwrap();
    fs::write(cache.join("someone-elses-file"), "x").unwrap();
    fs::set_permissions(&cache, fs::Permissions::from_mode(0o1777)).unwrap();

    let first = run_with(&env, &key, &[]);
    let second = run_with(&env, &key, &[]);

    first.expect_code(0);
    first.expect_stderr(&[
        "not using the token cache",
        "mode 1777",
        "leaves its mode alone",
    ]);
    second.expect_code(0);
    assert_eq!(endpoint.hits(), 2, "the shared directory is not used");
    let mode = fs::metadata(&cache).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o1777);
    assert_eq!(
        fs::read_dir(&cache).unwrap().count(),
        1,
        "nothing was written"
    );
}
