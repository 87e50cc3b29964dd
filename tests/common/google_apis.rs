//! Loopback stand-ins for the Google services beyond the token endpoint: a metadata server,
//! the IAM Credentials API, the Security Token Service, a refresh-token endpoint, and a
//! subject-token service. Each checks its request the way the real one documents it.

use serde_json::{Value, json};

use super::{Reply, Request, TestServer, make_id_token, unix_now};

/// The access token that the metadata server gives.
pub const METADATA_ACCESS_TOKEN: &str = "ya29.metadata-access-token";

/// The access token that the refresh-token endpoint gives.
pub const USER_ACCESS_TOKEN: &str = "ya29.user-access-token";

/// The federated access token that the STS stand-in gives.
pub const FEDERATED_ACCESS_TOKEN: &str = "ya29.federated-access-token";

/// The refresh token and client secret of the test user credentials.
pub const REFRESH_TOKEN: &str = "1//refresh-token-of-the-test-user";
pub const CLIENT_SECRET: &str = "client-secret-of-the-test-user";

/// The subject token that the test identity provider issues.
pub const SUBJECT_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.subject-token-from-the-test-idp.c2ln";

/// The workload identity pool provider of the test external_account files.
pub const FEDERATION_AUDIENCE: &str =
    "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/ci/providers/test";

/// The service account that the tests impersonate.
pub const TARGET_ACCOUNT: &str = "posos-target@example-project.iam.gserviceaccount.com";

/// A service account that the IAM stand-in refuses to mint tokens for, with HTTP 403.
pub const DENIED_ACCOUNT: &str = "locked@example-project.iam.gserviceaccount.com";

/// Returns the value of a query parameter, percent-decoded.
pub fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    let fake = Request {
        method: String::new(),
        target: String::new(),
        headers: Default::default(),
        body: query.as_bytes().to_vec(),
    };
    fake.form().get(name).cloned()
}

/// Starts a metadata server. It rejects requests without `Metadata-Flavor: Google` as the real
/// one does, and puts `email` in identity tokens only with `format=full`, or never when
/// `with_email` is false.
pub fn metadata_server(account: &str, with_email: bool) -> TestServer {
    let account = account.to_string();
    TestServer::start(move |request| {
        if request.header("metadata-flavor") != Some("Google") {
            return Reply::text(403, "text/html", "Missing Metadata-Flavor:Google header.")
                .with_header("Metadata-Flavor", "Google");
        }
        let path = request.target.split('?').next().unwrap_or("");
        match path {
            "/computeMetadata/v1/instance/service-accounts/default/identity" => {
                let Some(audience) = query_param(&request.target, "audience") else {
                    return Reply::text(400, "text/html", "non-empty audience parameter required")
                        .with_header("Metadata-Flavor", "Google");
                };
                let full = query_param(&request.target, "format").as_deref() == Some("full");
                let token = if full && with_email {
                    make_id_token(&audience, &account, unix_now())
                } else {
                    token_without_email(&audience)
                };
                Reply::text(200, "text/html", &token).with_header("Metadata-Flavor", "Google")
            }
            "/computeMetadata/v1/instance/service-accounts/default/token" => Reply::json(
                200,
                json!({"access_token": METADATA_ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer"}),
            )
            .with_header("Metadata-Flavor", "Google"),
            _ => Reply::text(404, "text/html", "Not Found").with_header("Metadata-Flavor", "Google"),
        }
    })
}

/// Makes an identity token as the metadata server does without `format=full`, with no email.
pub fn token_without_email(audience: &str) -> String {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let now = unix_now();
    let claims = json!({"aud": audience, "exp": now + 3600, "iat": now, "iss": "https://accounts.google.com", "sub": "1"});
    format!(
        "{}.{}.c2ln",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Starts an IAM Credentials API stand-in that accepts the bearer tokens in `accepted`.
/// `generateIdToken` returns an identity token of the account named in the path, and
/// `generateAccessToken` an access token `ya29.as-ACCOUNT`, which it also accepts afterwards.
pub fn iam_credentials(accepted: &[&str]) -> TestServer {
    let accepted: Vec<String> = accepted.iter().map(|token| token.to_string()).collect();
    TestServer::start(move |request| {
        let bearer = request
            .header("authorization")
            .and_then(|value| value.strip_prefix("Bearer "))
            .unwrap_or("");
        let minted = bearer.starts_with("ya29.as-");
        if !accepted.iter().any(|token| token == bearer) && !minted {
            return api_error(
                401,
                "UNAUTHENTICATED",
                "Request had invalid authentication credentials.",
            );
        }
        let Some(rest) = request
            .target
            .strip_prefix("/v1/projects/-/serviceAccounts/")
        else {
            return api_error(404, "NOT_FOUND", "Not found");
        };
        let Some((account, method)) = rest.rsplit_once(':') else {
            return api_error(404, "NOT_FOUND", "Not found");
        };
        if request.method != "POST"
            || !request
                .header("content-type")
                .is_some_and(|t| t.starts_with("application/json"))
        {
            return api_error(400, "INVALID_ARGUMENT", "expected a JSON POST");
        }
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return api_error(400, "INVALID_ARGUMENT", "Invalid JSON payload received.");
        };
        if account == DENIED_ACCOUNT {
            let permission = if method == "generateIdToken" {
                "iam.serviceAccounts.getOpenIdToken"
            } else {
                "iam.serviceAccounts.getAccessToken"
            };
            return api_error(
                403,
                "PERMISSION_DENIED",
                &format!("Permission '{permission}' denied on resource (or it may not exist)."),
            );
        }
        match method {
            "generateIdToken" => {
                let Some(audience) = body["audience"].as_str() else {
                    return api_error(400, "INVALID_ARGUMENT", "audience is required");
                };
                let token = if body["includeEmail"] == true {
                    make_id_token(audience, account, unix_now())
                } else {
                    token_without_email(audience)
                };
                Reply::json(200, json!({ "token": token }))
            }
            "generateAccessToken" => Reply::json(
                200,
                json!({"accessToken": format!("ya29.as-{account}"), "expireTime": "2099-01-01T00:00:00Z"}),
            ),
            _ => api_error(404, "NOT_FOUND", "Method not found."),
        }
    })
}

/// Google's API error JSON.
pub fn api_error(status: u16, code: &str, message: &str) -> Reply {
    Reply::json(
        status,
        json!({"error": {"code": status, "message": message, "status": code}}),
    )
}

/// Starts an STS stand-in that checks the token-exchange form and accepts `SUBJECT_TOKEN`.
pub fn sts() -> TestServer {
    TestServer::start(|request| {
        if request.method != "POST" || request.target != "/v1/token" {
            return Reply::text(404, "text/html", "Not Found");
        }
        let form = request.form();
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("grant_type") != Some("urn:ietf:params:oauth:grant-type:token-exchange") {
            return Reply::google_error(400, "unsupported_grant_type", "grant_type");
        }
        if field("requested_token_type") != Some("urn:ietf:params:oauth:token-type:access_token")
            || field("scope") != Some("https://www.googleapis.com/auth/cloud-platform")
        {
            return Reply::google_error(400, "invalid_request", "requested_token_type or scope");
        }
        if field("audience") != Some(FEDERATION_AUDIENCE) {
            return Reply::google_error(
                400,
                "invalid_target",
                "The target service indicated by the \"audience\" parameters is invalid.",
            );
        }
        if field("subject_token_type") != Some("urn:ietf:params:oauth:token-type:jwt") {
            return Reply::google_error(400, "invalid_request", "subject_token_type");
        }
        if field("subject_token") != Some(SUBJECT_TOKEN) {
            return Reply::google_error(400, "invalid_grant", "The ID Token is invalid.");
        }
        Reply::json(
            200,
            json!({
                "access_token": FEDERATED_ACCESS_TOKEN,
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
                "token_type": "Bearer",
                "expires_in": 3600,
            }),
        )
    })
}

/// Starts a token endpoint for the refresh-token grant of the test user credentials.
pub fn refresh_endpoint() -> TestServer {
    TestServer::start(|request| {
        let form = request.form();
        let field = |name: &str| form.get(name).map(String::as_str);
        if request.target != "/token" || field("grant_type") != Some("refresh_token") {
            return Reply::google_error(400, "unsupported_grant_type", "Invalid grant_type");
        }
        if field("client_id") != Some("test-client.apps.googleusercontent.com")
            || field("client_secret") != Some(CLIENT_SECRET)
        {
            return Reply::google_error(401, "invalid_client", "The OAuth client was not found.");
        }
        if field("refresh_token") != Some(REFRESH_TOKEN) {
            return Reply::google_error(400, "invalid_grant", "Token has been expired or revoked.");
        }
        Reply::json(
            200,
            json!({"access_token": USER_ACCESS_TOKEN, "expires_in": 3599, "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/cloud-platform"}),
        )
    })
}

/// Returns user credentials as gcloud writes them, with a loopback `token_uri`.
pub fn authorized_user_json(token_uri: &str) -> Value {
    json!({
        "type": "authorized_user",
        "client_id": "test-client.apps.googleusercontent.com",
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        "token_uri": token_uri,
    })
}

/// Returns an external_account configuration with the given `credential_source`.
pub fn external_account_json(
    sts_url: &str,
    impersonation_url: Option<&str>,
    credential_source: Value,
) -> Value {
    let mut value = json!({
        "type": "external_account",
        "audience": FEDERATION_AUDIENCE,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": sts_url,
        "credential_source": credential_source,
    });
    if let Some(url) = impersonation_url {
        value["service_account_impersonation_url"] = json!(url);
    }
    value
}

/// Returns the `generateAccessToken` URL of `account` on `server`, as files carry it.
pub fn impersonation_url(server: &TestServer, account: &str) -> String {
    server.url(&format!(
        "/v1/projects/-/serviceAccounts/{account}:generateAccessToken"
    ))
}
