//! A key file that the group or others can read draws a warning on every run that reads it,
//! as ssh does, whichever way the file is named, unless `-q` is given.

mod common;

#[cfg(unix)]
mod unix {
    use super::common::*;
    use std::os::unix::fs::PermissionsExt;

    const WARNING: &str = "posos-token: warning: key file";

    fn readable_key(env: &TestEnv, endpoint: &TestServer, mode: u32) -> std::path::PathBuf {
        let key = env.key_file("service-account.json", &endpoint.url("/token"));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        key
    }

    #[test]
    fn warning_fires_on_every_run() {
        let endpoint = google_endpoint();
        let env = TestEnv::new();
        let key = readable_key(&env, &endpoint, 0o604);

        for _ in 0..3 {
            let outcome = run(env.command().arg("-c").arg(&key));
            outcome
                .expect_code(0)
                .expect_stderr(&[WARNING, "0604", "chmod 600"]);
            assert_eq!(outcome.stderr.matches(WARNING).count(), 1);
        }
    }

    #[test]
    fn warning_for_variable_and_doctor() {
        let endpoint = google_endpoint();
        let env = TestEnv::new();
        let key = readable_key(&env, &endpoint, 0o640);

        let from_variable = run(env.command().env("GOOGLE_APPLICATION_CREDENTIALS", &key));
        let doctor = run(env.command().arg("doctor").arg("-c").arg(&key));

        from_variable
            .expect_code(0)
            .expect_stderr(&[WARNING, "0640"]);
        // doctor reports it in its permissions step, so stderr does not repeat it.
        doctor.expect_code(0);
        assert!(!doctor.stderr.contains(WARNING), "{}", doctor.stderr);
        assert!(doctor.stdout.contains("mode 0640"), "{}", doctor.stdout);
        assert!(doctor.stdout.contains("chmod 600"), "{}", doctor.stdout);
    }

    #[test]
    fn warning_fires_when_the_run_fails_later() {
        let env = TestEnv::new();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://127.0.0.1:{}/token",
            listener.local_addr().unwrap().port()
        );
        drop(listener);
        let key = env.key_file("service-account.json", &url);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();

        let outcome = run(env.command().arg("-c").arg(&key));

        outcome
            .expect_code(75)
            .expect_stderr(&[WARNING, "connection refused"]);
    }

    #[test]
    fn quiet_hides_warning_in_every_mode() {
        let endpoint = google_endpoint();
        let env = TestEnv::new();
        let key = readable_key(&env, &endpoint, 0o644);

        let plain = run(env.command().arg("-q").arg("-c").arg(&key));
        let doctor = run(env.command().args(["doctor", "-q", "-c"]).arg(&key));

        plain.expect_code(0);
        assert_eq!(plain.stderr, "");
        doctor.expect_code(0);
        assert_eq!(doctor.stderr, "");
    }

    #[test]
    fn owner_only_key_draws_no_warning() {
        let endpoint = google_endpoint();
        let env = TestEnv::new();
        for mode in [0o600, 0o400] {
            let key = readable_key(&env, &endpoint, mode);
            let outcome = run(env.command().arg("-c").arg(&key));
            outcome.expect_code(0);
            assert_eq!(outcome.stderr, "", "mode {mode:o}");
        }
    }

    #[test]
    fn file_without_secret_draws_no_warning() {
        use std::os::unix::fs::PermissionsExt;
        let env = TestEnv::new();
        let federation = serde_json::json!({
            "type": "external_account",
            "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "http://127.0.0.1:9/v1/token",
            "credential_source": {"file": "/nonexistent/token"}
        });
        let path = env.write("federation.json", federation.to_string());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let outcome = run(env.command().arg("-c").arg(&path));
        let doctor = run(env.command().args(["doctor", "--offline", "-c"]).arg(&path));

        assert!(!outcome.stderr.contains(WARNING), "{}", outcome.stderr);
        assert!(
            doctor.stdout.contains("holds no secret"),
            "{}",
            doctor.stdout
        );
    }

    #[test]
    fn user_credentials_warning_names_refresh_token() {
        use std::os::unix::fs::PermissionsExt;
        let env = TestEnv::new();
        let user = serde_json::json!({
            "type": "authorized_user",
            "client_id": "1.apps.googleusercontent.com",
            "client_secret": "secret",
            "refresh_token": "1//refresh"
        });
        let path = env.write("user.json", user.to_string());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let outcome = run(env.command().arg("-c").arg(&path));

        outcome.expect_code(78);
        outcome.expect_stderr(&[WARNING, "may read the refresh token"]);
    }
}
