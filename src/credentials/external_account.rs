//! Workload identity federation credentials (`"type": "external_account"`): where to read a
//! subject token that another identity provider issued (GitHub Actions, GitLab CI, an OIDC or
//! SAML provider), and how to exchange it at Google's Security Token Service (STS).

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use super::authorized_user::take_secret;
use super::impersonated::ImpersonationUrl;
use super::service_account::optional_string;
use super::url::check_endpoint_url;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// Google's STS token endpoint, used when a file has no `token_url`.
pub const DEFAULT_STS_URL: &str = "https://sts.googleapis.com/v1/token";

/// The run time allowed to an executable source when the file sets none, and the bounds of
/// `timeout_millis`, as Google's client libraries define them.
pub const EXECUTABLE_DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
const EXECUTABLE_MIN_TIMEOUT: Duration = Duration::from_secs(5);
const EXECUTABLE_MAX_TIMEOUT: Duration = Duration::from_secs(120);

/// The parts of an `external_account` file.
#[derive(Debug)]
pub struct ExternalAccount {
    /// The workload identity pool provider, sent to STS as `audience`.
    pub audience: String,
    /// The kind of subject token, such as `urn:ietf:params:oauth:token-type:jwt`.
    pub subject_token_type: String,
    /// The STS token endpoint.
    pub token_url: String,
    /// The service account whose identity tokens the federated identity requests.
    pub impersonation_url: Option<ImpersonationUrl>,
    /// The source of the subject token.
    pub credential_source: CredentialSource,
    /// An OAuth client that authenticates to STS with HTTP Basic, when the file has one.
    pub client_id: Option<String>,
    /// That client's secret.
    pub client_secret: Option<Secret<String>>,
    /// The project billed for workforce pool requests.
    pub workforce_pool_user_project: Option<String>,
}

/// The source of a subject token.
#[derive(Debug)]
pub enum CredentialSource {
    /// A file that another tool keeps up to date.
    File {
        path: PathBuf,
        format: SubjectTokenFormat,
    },
    /// A URL of a local or remote token service.
    Url {
        url: String,
        /// Request headers; their values may be credentials, such as a bearer token.
        headers: Vec<(String, Secret<String>)>,
        format: SubjectTokenFormat,
    },
    /// A program that prints the token in Google's executable-sourced response format.
    Executable {
        /// The program and its arguments, separated by spaces; no shell runs it.
        command: String,
        timeout: Duration,
        /// The file where the program stores its last response, reused until it expires.
        output_file: Option<PathBuf>,
    },
}

/// The format of the subject token in a file or URL response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectTokenFormat {
    /// The whole content is the token.
    Text,
    /// The content is a JSON object and the token is the string in this field.
    Json { subject_token_field_name: String },
}

impl ExternalAccount {
    /// Takes the fields out of a parsed `external_account` object. `origin` names it in messages.
    pub fn from_json(object: &mut Map<String, Value>, origin: &dyn fmt::Display) -> Result<Self> {
        let audience = required(object, "audience", origin)?;
        let subject_token_type = required(object, "subject_token_type", origin)?;
        let token_url = optional_string(object, "token_url", origin)?
            .unwrap_or_else(|| DEFAULT_STS_URL.to_string());
        check_endpoint_url(&token_url, &format!("token_url in {origin}"))?;
        let impersonation_url =
            match optional_string(object, "service_account_impersonation_url", origin)? {
                Some(url) => Some(ImpersonationUrl::parse(
                    &url,
                    &format!("service_account_impersonation_url in {origin}"),
                )?),
                None => None,
            };
        let client_id = optional_string(object, "client_id", origin)?;
        let client_secret = match object.get("client_secret") {
            None | Some(Value::Null) => None,
            Some(_) => Some(take_secret(object, "client_secret", origin)?),
        };
        let workforce_pool_user_project =
            optional_string(object, "workforce_pool_user_project", origin)?;

        let credential_source = match object.get_mut("credential_source") {
            Some(Value::Object(source)) => {
                CredentialSource::from_json(source, &format!("credential_source in {origin}"))?
            }
            Some(_) => {
                return Err(Error::config(format!(
                    "{origin} has a `credential_source` that is not an object"
                )));
            }
            None => return Err(missing(origin, "credential_source")),
        };

        Ok(ExternalAccount {
            audience,
            subject_token_type,
            token_url,
            impersonation_url,
            credential_source,
            client_id,
            client_secret,
            workforce_pool_user_project,
        })
    }
}

impl CredentialSource {
    fn from_json(object: &mut Map<String, Value>, origin: &str) -> Result<Self> {
        // NOTE: AWS sources need requests signed with AWS Signature Version 4, which is not
        // implemented, so they are rejected with a hint instead.
        if let Some(Value::String(environment)) = object.get("environment_id")
            && environment.to_ascii_lowercase().starts_with("aws")
        {
            return Err(Error::config(format!(
                    "{origin} is an AWS source (environment_id {}), which posos-token does not support",
                    if environment.len() <= 10 { environment.as_str() } else { "aws…" }
                ))
                .hint("use an executable source that prints the AWS subject token, or a service-account key"));
        }

        let present = |name: &str| object.get(name).is_some_and(|v| !v.is_null());
        let kinds: Vec<&str> = ["file", "url", "executable"]
            .into_iter()
            .filter(|name| present(name))
            .collect();
        match kinds.as_slice() {
            ["file"] => {
                let path = optional_string(object, "file", &origin)?.unwrap_or_default();
                Ok(CredentialSource::File {
                    path: PathBuf::from(path),
                    format: SubjectTokenFormat::from_json(object, origin)?,
                })
            }
            ["url"] => {
                let url = optional_string(object, "url", &origin)?.unwrap_or_default();
                // NOTE: this rejects Azure's instance metadata URL (plain http to
                // 169.254.169.254), because only https or loopback http is accepted.
                check_endpoint_url(&url, &format!("url in {origin}"))?;
                Ok(CredentialSource::Url {
                    url,
                    headers: headers(object, origin)?,
                    format: SubjectTokenFormat::from_json(object, origin)?,
                })
            }
            ["executable"] => executable(object, origin),
            [] => Err(Error::config(format!(
                "{origin} has none of `file`, `url` or `executable`, so there is no subject token to read"
            ))
            .hint("create the file again with: gcloud iam workload-identity-pools create-cred-config")),
            _ => Err(Error::config(format!(
                "{origin} has more than one of `file`, `url` and `executable` ({})",
                kinds.join(", ")
            ))
            .hint("keep exactly one subject-token source")),
        }
    }
}

impl SubjectTokenFormat {
    fn from_json(source: &Map<String, Value>, origin: &str) -> Result<Self> {
        let format = match source.get("format") {
            None | Some(Value::Null) => return Ok(SubjectTokenFormat::Text),
            Some(Value::Object(format)) => format,
            Some(_) => {
                return Err(Error::config(format!(
                    "{origin} has a `format` that is not an object"
                )));
            }
        };
        let field = format!("format in {origin}");
        match optional_string(format, "type", &field)?.as_deref() {
            None | Some("text") => Ok(SubjectTokenFormat::Text),
            Some("json") => {
                let name = optional_string(format, "subject_token_field_name", &field)?
                    .ok_or_else(|| {
                        Error::config(format!(
                            "{field} has type json but no `subject_token_field_name`"
                        ))
                        .hint("name the JSON field that contains the token, such as \"value\" or \"access_token\"")
                    })?;
                Ok(SubjectTokenFormat::Json {
                    subject_token_field_name: name,
                })
            }
            Some(other) => Err(Error::config(format!(
                "{field} has type {}, but only \"text\" and \"json\" are supported",
                super::printable_type(other)
            ))),
        }
    }
}

fn headers(source: &mut Map<String, Value>, origin: &str) -> Result<Vec<(String, Secret<String>)>> {
    let invalid = || {
        Error::config(format!(
            "{origin} has `headers` that are not an object of header names and string values"
        ))
    };
    let headers = match source.remove("headers") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Object(headers)) => headers,
        Some(_) => return Err(invalid()),
    };
    let mut list = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let valid_name = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        let Value::String(value) = value else {
            return Err(invalid());
        };
        let value = Secret::new(value);
        if !valid_name || value.expose().chars().any(|c| c.is_control()) {
            return Err(invalid());
        }
        list.push((name, value));
    }
    Ok(list)
}

fn executable(source: &Map<String, Value>, origin: &str) -> Result<CredentialSource> {
    let Some(Value::Object(executable)) = source.get("executable") else {
        return Err(Error::config(format!(
            "{origin} has an `executable` that is not an object"
        )));
    };
    let field = format!("executable in {origin}");
    let command = optional_string(executable, "command", &field)?
        .ok_or_else(|| missing(&field, "command"))?;
    let timeout = match executable.get("timeout_millis") {
        None | Some(Value::Null) => EXECUTABLE_DEFAULT_TIMEOUT,
        Some(value) => {
            let millis = value.as_u64().ok_or_else(|| {
                Error::config(format!(
                    "{field} has a `timeout_millis` that is not a whole number"
                ))
            })?;
            let timeout = Duration::from_millis(millis);
            if !(EXECUTABLE_MIN_TIMEOUT..=EXECUTABLE_MAX_TIMEOUT).contains(&timeout) {
                return Err(Error::config(format!(
                    "{field} has timeout_millis {millis}, outside the accepted 5000 to 120000"
                )));
            }
            timeout
        }
    };
    let output_file = optional_string(executable, "output_file", &field)?.map(PathBuf::from);
    Ok(CredentialSource::Executable {
        command,
        timeout,
        output_file,
    })
}

fn required(object: &Map<String, Value>, field: &str, origin: &dyn fmt::Display) -> Result<String> {
    optional_string(object, field, origin)?.ok_or_else(|| missing(origin, field))
}

fn missing(origin: &dyn fmt::Display, field: &str) -> Error {
    Error::config(format!(
        "{origin} lacks `{field}`, so it is not a complete external_account configuration"
    ))
    .hint("create the file again with: gcloud iam workload-identity-pools create-cred-config")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<ExternalAccount> {
        let Value::Object(mut object) = value else {
            panic!("not an object")
        };
        ExternalAccount::from_json(&mut object, &"file wif.json")
    }

    fn base() -> Value {
        json!({
            "type": "external_account",
            "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/gh",
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {"file": "/run/token"},
        })
    }

    #[test]
    fn file_source_defaults_to_text() {
        let account = parse(base()).unwrap();
        match account.credential_source {
            CredentialSource::File { path, format } => {
                assert_eq!(path, PathBuf::from("/run/token"));
                assert_eq!(format, SubjectTokenFormat::Text);
            }
            other => panic!("{other:?}"),
        }
        assert!(account.impersonation_url.is_none());
    }

    #[test]
    fn json_format_needs_field_name() {
        let mut value = base();
        value["credential_source"]["format"] = json!({"type": "json"});
        let err = parse(value).unwrap_err();
        assert!(
            err.message().contains("subject_token_field_name"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn url_source_keeps_headers() {
        let mut value = base();
        value["credential_source"] = json!({
            "url": "https://token.actions.example/id?audience=x",
            "headers": {"Authorization": "Bearer abc"},
            "format": {"type": "json", "subject_token_field_name": "value"},
        });
        match parse(value).unwrap().credential_source {
            CredentialSource::Url {
                headers, format, ..
            } => {
                assert_eq!(headers[0].0, "Authorization");
                assert_eq!(headers[0].1.expose(), "Bearer abc");
                assert_eq!(
                    format,
                    SubjectTokenFormat::Json {
                        subject_token_field_name: "value".into()
                    }
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn url_source_must_be_https() {
        let mut value = base();
        value["credential_source"] = json!({"url": "http://169.254.169.254/token"});
        let err = parse(value).unwrap_err();
        assert!(err.message().contains("plain http"), "{}", err.message());
    }

    #[test]
    fn two_sources_are_rejected() {
        let mut value = base();
        value["credential_source"]["url"] = json!("https://example.com/t");
        let err = parse(value).unwrap_err();
        assert!(err.message().contains("more than one"));
    }

    #[test]
    fn aws_source_is_explained() {
        let mut value = base();
        value["credential_source"] = json!({"environment_id": "aws1", "region_url": "x"});
        let err = parse(value).unwrap_err();
        assert!(err.message().contains("AWS"));
    }

    #[test]
    fn executable_timeout_is_bounded() {
        let mut value = base();
        value["credential_source"] =
            json!({"executable": {"command": "/bin/t", "timeout_millis": 1000}});
        assert!(parse(value).is_err());
        let mut value = base();
        value["credential_source"] = json!({"executable": {"command": "/bin/t"}});
        match parse(value).unwrap().credential_source {
            CredentialSource::Executable { timeout, .. } => {
                assert_eq!(timeout, EXECUTABLE_DEFAULT_TIMEOUT)
            }
            other => panic!("{other:?}"),
        }
    }
}
