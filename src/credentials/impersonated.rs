//! Impersonated service-account credentials (`"type": "impersonated_service_account"`), which
//! `gcloud auth application-default login --impersonate-service-account` writes: source
//! credentials, and the IAM Credentials URL of the service account they act as.

use std::fmt;

use serde_json::{Map, Value};
use ureq::http::Uri;

use super::Credentials;
use super::service_account::optional_string;
use super::url::check_endpoint_url;
use crate::error::{Error, Result};

/// An IAM Credentials method URL such as
/// `https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/EMAIL:generateAccessToken`,
/// and the service account it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImpersonationUrl {
    /// The URL as the file gives it, up to and including the service account.
    resource: String,
    /// The service account's email (or unique ID) from the URL path.
    pub account: String,
}

impl ImpersonationUrl {
    /// Checks a `service_account_impersonation_url`. `field` names it in messages.
    pub fn parse(url: &str, field: &str) -> Result<Self> {
        let uri: Uri = check_endpoint_url(url, field)?;
        let invalid = || {
            Error::config(format!(
                "{field} does not name a service account: expected a URL ending in /serviceAccounts/EMAIL:generateAccessToken"
            ))
            .hint("copy the file again from `gcloud iam workload-identity-pools create-cred-config` or gcloud's login")
        };
        let path = uri.path();
        let (_, rest) = path.rsplit_once("/serviceAccounts/").ok_or_else(invalid)?;
        let (account, method) = rest.rsplit_once(':').ok_or_else(invalid)?;
        if !matches!(method, "generateAccessToken" | "generateIdToken")
            || account.is_empty()
            || account.contains('/')
            || uri.query().is_some()
        {
            return Err(invalid());
        }
        let resource = url[..url.len() - method.len() - 1].to_string();
        Ok(ImpersonationUrl {
            resource,
            account: account.to_string(),
        })
    }

    /// Returns the URL of the `generateIdToken` method for this service account.
    pub fn id_token_url(&self) -> String {
        format!("{}:generateIdToken", self.resource)
    }

    /// Returns the URL of the `generateAccessToken` method for this service account.
    pub fn access_token_url(&self) -> String {
        format!("{}:generateAccessToken", self.resource)
    }

    /// Returns the scheme and authority, such as `https://iamcredentials.googleapis.com`, which
    /// other service accounts' methods are reached through.
    pub fn base_url(&self) -> String {
        match self.resource.find("/v1/") {
            Some(end) => self.resource[..end].to_string(),
            None => self
                .resource
                .split('/')
                .take(3)
                .collect::<Vec<_>>()
                .join("/"),
        }
    }
}

/// The parts of an `impersonated_service_account` file.
#[derive(Debug)]
pub struct ImpersonatedServiceAccount {
    /// The IAM Credentials URL of the impersonated account.
    pub impersonation_url: ImpersonationUrl,
    /// The service accounts of the delegation chain between the source and the target.
    pub delegates: Vec<String>,
    /// The credentials that act as the impersonated account.
    pub source: Box<Credentials>,
}

impl ImpersonatedServiceAccount {
    /// Takes the fields out of a parsed file. `source` is its parsed `source_credentials`.
    pub fn from_json(
        object: &Map<String, Value>,
        origin: &dyn fmt::Display,
        source: Credentials,
    ) -> Result<Self> {
        let field = format!("service_account_impersonation_url in {origin}");
        let url = optional_string(object, "service_account_impersonation_url", origin)?
            .ok_or_else(|| {
                Error::config(format!(
                    "{origin} lacks `service_account_impersonation_url`, so it names no service account to impersonate"
                ))
                .hint("create the file again with: gcloud auth application-default login --impersonate-service-account EMAIL")
            })?;
        let impersonation_url = ImpersonationUrl::parse(&url, &field)?;
        let delegates = string_list(object, "delegates", origin)?;
        Ok(ImpersonatedServiceAccount {
            impersonation_url,
            delegates,
            source: Box::new(source),
        })
    }
}

/// Reads an optional array of strings.
pub(crate) fn string_list(
    object: &Map<String, Value>,
    field: &str,
    origin: &dyn fmt::Display,
) -> Result<Vec<String>> {
    let invalid = || {
        Error::config(format!(
            "{origin} has a `{field}` that is not an array of strings"
        ))
    };
    match object.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(String::from).ok_or_else(invalid))
            .collect(),
        Some(_) => Err(invalid()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/target@p.iam.gserviceaccount.com:generateAccessToken";

    #[test]
    fn url_names_account_and_methods() {
        let url = ImpersonationUrl::parse(URL, "url").unwrap();
        assert_eq!(url.account, "target@p.iam.gserviceaccount.com");
        assert!(
            url.id_token_url()
                .ends_with("target@p.iam.gserviceaccount.com:generateIdToken")
        );
        assert_eq!(url.access_token_url(), URL);
        assert_eq!(url.base_url(), "https://iamcredentials.googleapis.com");
    }

    #[test]
    fn url_without_account_is_rejected() {
        for url in [
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/:generateAccessToken",
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b",
            "https://iamcredentials.googleapis.com/v1/token",
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/a@b:signJwt",
        ] {
            assert!(ImpersonationUrl::parse(url, "url").is_err(), "{url}");
        }
    }

    #[test]
    fn url_must_be_https_or_loopback() {
        let url = URL.replace("https://", "http://");
        let err = ImpersonationUrl::parse(&url, "url").unwrap_err();
        assert!(err.message().contains("plain http"));
        let loopback = "http://127.0.0.1:9/v1/projects/-/serviceAccounts/a@b:generateIdToken";
        assert_eq!(
            ImpersonationUrl::parse(loopback, "url").unwrap().base_url(),
            "http://127.0.0.1:9"
        );
    }
}
