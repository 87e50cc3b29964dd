//! Finding the credentials, in the order Google's libraries use: `--credentials`,
//! `GOOGLE_APPLICATION_CREDENTIALS`, gcloud's application-default credentials file, then the
//! metadata server. A source that is configured but broken is an error; the search never
//! skips it for the next one.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use super::metadata::{self, MetadataServer};
use crate::credentials::source::{self, CREDENTIALS_ENV, Origin};
use crate::error::{Error, Result};

/// The variable that turns off Google Cloud detection when it is `true`, as in Google's
/// libraries. `GCE_METADATA_HOST` still selects a metadata server.
pub const NO_GCE_CHECK_ENV: &str = "NO_GCE_CHECK";

/// The variable that moves gcloud's configuration directory.
pub const CLOUDSDK_CONFIG_ENV: &str = "CLOUDSDK_CONFIG";

/// The Linux file of the machine's DMI product name, which Compute Engine sets to "Google
/// Compute Engine" (older images: "Google").
pub const DMI_PRODUCT_NAME_PATH: &str = "/sys/class/dmi/id/product_name";

/// The file name of gcloud's application-default credentials.
const ADC_FILE_NAME: &str = "application_default_credentials.json";

/// Environment variables that Google Cloud's serverless platforms set, with their platform.
const SERVERLESS_MARKERS: [(&str, &str); 5] = [
    ("K_SERVICE", "Cloud Run"),
    ("CLOUD_RUN_JOB", "Cloud Run jobs"),
    ("FUNCTION_TARGET", "Cloud Functions"),
    ("FUNCTION_NAME", "Cloud Functions"),
    ("BUILDER_OUTPUT", "Cloud Build"),
];

/// The discovery order, for `--help`, the man page and the README.
pub const DISCOVERY_HELP: &str = "\
Credential discovery (the first source found is used; a broken one is an
error, never skipped):
  1. --credentials FILE, or - for standard input
  2. GOOGLE_APPLICATION_CREDENTIALS
  3. gcloud's application-default credentials file, when it exists:
     $CLOUDSDK_CONFIG/application_default_credentials.json, else
     ~/.config/gcloud/application_default_credentials.json
     (%APPDATA%\\gcloud\\... on Windows)
  4. the metadata server at GCE_METADATA_HOST when set, else at
     metadata.google.internal when this machine looks like Google Cloud
     without any network probe (Linux DMI product name \"Google Compute Engine\"
     or \"Google\"; K_SERVICE, CLOUD_RUN_JOB, FUNCTION_TARGET, FUNCTION_NAME or
     BUILDER_OUTPUT set). NO_GCE_CHECK=true turns this detection off.
Credential types: service_account, authorized_user (only with
--impersonate-service-account), impersonated_service_account, external_account
(workload identity federation).";

/// The credential source that discovery found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A credentials file or standard input.
    File(Origin),
    /// The metadata server, with no file.
    MetadataServer(MetadataServer),
}

/// Finds the credentials from this process's environment.
pub fn discover_from_environment(flag: Option<&OsStr>) -> Result<Found> {
    let dmi = cfg!(target_os = "linux").then(|| Path::new(DMI_PRODUCT_NAME_PATH));
    discover(flag, &|name| std::env::var_os(name), dmi)
}

/// Finds the credentials. `env` reads an environment variable; `dmi_product_name` is the file
/// holding the DMI product name, or `None` where there is none. Nothing here connects anywhere.
pub fn discover(
    flag: Option<&OsStr>,
    env: &dyn Fn(&str) -> Option<OsString>,
    dmi_product_name: Option<&Path>,
) -> Result<Found> {
    if let Some(origin) = source::locate(flag, env(CREDENTIALS_ENV))? {
        return Ok(Found::File(origin));
    }

    let adc_path = adc_path(env);
    if let Some(path) = &adc_path {
        // An error other than "not found", such as permission denied on the directory, means
        // that the file may exist. Reading it then reports the problem instead of skipping it.
        if path.try_exists().unwrap_or(true) {
            return Ok(Found::File(Origin::AdcFile(path.clone())));
        }
    }

    if let Some(host) = env(metadata::HOST_ENV) {
        let host = host
            .to_str()
            .ok_or_else(|| Error::config(format!("{} is not valid UTF-8", metadata::HOST_ENV)))?;
        return MetadataServer::from_env_value(host).map(Found::MetadataServer);
    }

    let detection_off = env(NO_GCE_CHECK_ENV)
        .is_some_and(|value| value.to_string_lossy().trim().eq_ignore_ascii_case("true"));
    if !detection_off && let Some(reason) = detect_google_cloud(env, dmi_product_name) {
        return Ok(Found::MetadataServer(MetadataServer {
            host: metadata::DEFAULT_HOST.to_string(),
            reason,
        }));
    }

    Err(nothing_found(
        flag.is_some(),
        adc_path.as_deref(),
        detection_off,
    ))
}

/// Returns the path of gcloud's application-default credentials file, or `None` when no
/// configuration directory can be named.
pub fn adc_path(env: &dyn Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    if let Some(config) = env(CLOUDSDK_CONFIG_ENV).filter(|value| !value.is_empty()) {
        return Some(PathBuf::from(config).join(ADC_FILE_NAME));
    }
    if cfg!(windows) {
        env("APPDATA")
            .filter(|value| !value.is_empty())
            .map(|appdata| PathBuf::from(appdata).join("gcloud").join(ADC_FILE_NAME))
    } else {
        env("HOME").filter(|value| !value.is_empty()).map(|home| {
            PathBuf::from(home)
                .join(".config/gcloud")
                .join(ADC_FILE_NAME)
        })
    }
}

/// Returns why this machine looks like Google Cloud, from environment markers and the DMI
/// product name, or `None`. It reads local state only and never probes the network.
pub fn detect_google_cloud(
    env: &dyn Fn(&str) -> Option<OsString>,
    dmi_product_name: Option<&Path>,
) -> Option<String> {
    for (name, platform) in SERVERLESS_MARKERS {
        if env(name).is_some_and(|value| !value.is_empty()) {
            return Some(format!("{name} is set ({platform})"));
        }
    }
    // NOTE: only Linux exposes the product name in a file, so Compute Engine VMs running Windows
    // are not detected and need GCE_METADATA_HOST.
    let product = std::fs::read_to_string(dmi_product_name?).ok()?;
    let product = product.trim();
    if product == "Google Compute Engine" || product == "Google" {
        return Some(format!(
            "the DMI product name is \"{product}\" (Compute Engine)"
        ));
    }
    None
}

fn nothing_found(flag_given: bool, adc_path: Option<&Path>, detection_off: bool) -> Error {
    debug_assert!(!flag_given, "a flag always names a source");
    let adc = match adc_path {
        Some(path) => format!("no gcloud application-default credentials at {}", path.display()),
        None => "no gcloud application-default credentials (neither CLOUDSDK_CONFIG nor a home directory is set)".to_string(),
    };
    let metadata = if detection_off {
        format!(
            "no metadata server ({} is not set, and NO_GCE_CHECK=true turns off Google Cloud detection)",
            metadata::HOST_ENV
        )
    } else {
        format!(
            "no metadata server ({} is not set, and this machine does not look like Google Cloud)",
            metadata::HOST_ENV
        )
    };
    Error::config(format!(
        "no credentials found; tried, in order: --credentials was not given; {CREDENTIALS_ENV} is not set; {adc}; {metadata}"
    ))
    .hint(format!(
        "set {CREDENTIALS_ENV} to the path of the service-account key file that Posos gave you, or pass --credentials FILE"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<OsString> + use<> {
        let map: HashMap<String, OsString> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn flag_wins_over_everything() {
        let env = env_of(&[
            (CREDENTIALS_ENV, "b.json"),
            ("GCE_METADATA_HOST", "127.0.0.1:1"),
        ]);
        let found = discover(Some(OsStr::new("a.json")), &env, None).unwrap();
        assert_eq!(found, Found::File(Origin::Flag("a.json".into())));
    }

    #[test]
    fn adc_file_comes_before_metadata_server() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(ADC_FILE_NAME), "{}").unwrap();
        let config = dir.path().to_str().unwrap();
        let env = env_of(&[
            (CLOUDSDK_CONFIG_ENV, config),
            ("GCE_METADATA_HOST", "127.0.0.1:1"),
        ]);
        let found = discover(None, &env, None).unwrap();
        assert_eq!(
            found,
            Found::File(Origin::AdcFile(dir.path().join(ADC_FILE_NAME)))
        );
    }

    #[test]
    fn adc_path_uses_home_without_cloudsdk_config() {
        let env = env_of(&[("HOME", "/home/u")]);
        if !cfg!(windows) {
            assert_eq!(
                adc_path(&env),
                Some(PathBuf::from(
                    "/home/u/.config/gcloud/application_default_credentials.json"
                ))
            );
        }
    }

    #[test]
    fn metadata_host_selects_server_despite_no_gce_check() {
        let env = env_of(&[
            ("GCE_METADATA_HOST", "127.0.0.1:9"),
            (NO_GCE_CHECK_ENV, "true"),
        ]);
        let Found::MetadataServer(server) = discover(None, &env, None).unwrap() else {
            panic!("no metadata server");
        };
        assert_eq!(server.host, "127.0.0.1:9");
    }

    #[test]
    fn dmi_product_name_detects_compute_engine() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("product_name");
        let env = env_of(&[]);
        for (name, detected) in [
            ("Google Compute Engine\n", true),
            ("Google\n", true),
            ("Standard PC (Q35 + ICH9, 2009)\n", false),
        ] {
            std::fs::write(&path, name).unwrap();
            assert_eq!(
                detect_google_cloud(&env, Some(&path)).is_some(),
                detected,
                "{name}"
            );
        }
        assert!(detect_google_cloud(&env, Some(&dir.path().join("absent"))).is_none());
    }

    #[test]
    fn serverless_markers_are_detected() {
        for name in [
            "K_SERVICE",
            "FUNCTION_TARGET",
            "FUNCTION_NAME",
            "BUILDER_OUTPUT",
        ] {
            let env = env_of(&[(name, "x")]);
            let reason = detect_google_cloud(&env, None).unwrap();
            assert!(reason.contains(name), "{reason}");
        }
    }

    #[test]
    fn detection_chooses_default_host() {
        let env = env_of(&[("K_SERVICE", "api")]);
        let Found::MetadataServer(server) = discover(None, &env, None).unwrap() else {
            panic!("no metadata server");
        };
        assert_eq!(server.host, metadata::DEFAULT_HOST);
        assert!(server.reason.contains("Cloud Run"));
    }

    #[test]
    fn no_gce_check_turns_detection_off() {
        let env = env_of(&[("K_SERVICE", "api"), (NO_GCE_CHECK_ENV, "True")]);
        let err = discover(None, &env, None).unwrap_err();
        assert!(
            err.message().contains("NO_GCE_CHECK=true"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn nothing_found_lists_sources_in_order() {
        let env = env_of(&[("HOME", "/nonexistent-home")]);
        let message = discover(None, &env, None)
            .unwrap_err()
            .message()
            .to_string();
        let positions: Vec<usize> = [
            "--credentials",
            CREDENTIALS_ENV,
            "application-default credentials",
            "metadata server",
        ]
        .iter()
        .map(|phrase| {
            message
                .find(phrase)
                .unwrap_or_else(|| panic!("{phrase}: {message}"))
        })
        .collect();
        assert!(
            positions.windows(2).all(|pair| pair[0] < pair[1]),
            "{message}"
        );
    }

    #[test]
    fn empty_metadata_host_is_an_error() {
        let env = env_of(&[("GCE_METADATA_HOST", "")]);
        assert!(discover(None, &env, None).is_err());
    }
}
