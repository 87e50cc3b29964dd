//! `posos-token inspect`: decodes an identity token offline and prints its header and claims,
//! with the times in UTC and the remaining life. The signature is not verified: that needs
//! Google's public keys, and IAP checks it anyway.

use std::ffi::OsString;
use std::io::{self, IsTerminal, Read};
use std::sync::mpsc;
use std::thread;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use clap::Args;
use serde_json::{Map, Value, json};

use crate::error::{Error, Result};
use crate::fetch::unix_now;
use crate::id_token::{self, JwtError};
use crate::output::rfc3339;
use crate::secret::Secret;

/// The largest input read. Google's identity tokens are about 1 KiB.
pub const MAX_INPUT_BYTES: u64 = 64 * 1024;

/// The first line of the text output, so that a reader does not take decoding for verification.
pub const NOT_VERIFIED: &str =
    "Signature NOT verified: these claims are decoded offline and may have been forged.";

/// Examples for `posos-token inspect --help`.
pub const AFTER_HELP: &str = "\
Examples:
  posos-token | posos-token inspect
  posos-token -H | posos-token inspect --json
  posos-token inspect < token.txt

Prefer standard input: a token given as an argument is visible to other local users in ps.";

/// The claims listed first, in this order; the rest follow alphabetically.
const LEADING_CLAIMS: [&str; 5] = ["aud", "email", "iss", "iat", "exp"];

/// The last second of the year 9999: later times are shown as numbers, not dates.
const LAST_TIME: i64 = 253_402_300_799;

/// Claims that hold a NumericDate (seconds since the Unix epoch).
const TIME_CLAIMS: [&str; 4] = ["iat", "exp", "nbf", "auth_time"];

/// Arguments of `posos-token inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The token, or an "Authorization: Bearer <token>" line; - or absent reads standard input
    #[arg(value_name = "TOKEN")]
    pub token: Option<OsString>,

    /// Print the header and claims as a JSON object
    #[arg(long)]
    pub json: bool,
}

/// Reads the token named by `args`, decodes it and returns the text to print on stdout.
pub fn run(args: &InspectArgs, deadline: Instant) -> Result<String> {
    let input = match args.token.as_deref() {
        Some(token) if token != "-" => Secret::new(token.to_string_lossy().into_owned()),
        _ => read_stdin(deadline)?,
    };
    let token = extract_token(input.expose())?;
    let decoded = decode(token)?;
    let now = unix_now();
    if args.json {
        Ok(render_json(&decoded, now))
    } else {
        Ok(render_text(&decoded, now))
    }
}

/// A decoded JWT with what `inspect` shows about its signature segment.
#[derive(Debug)]
pub struct Inspected {
    pub header: Map<String, Value>,
    pub claims: Map<String, Value>,
    /// The length of the decoded signature in bytes; 0 for an unsecured JWT.
    pub signature_bytes: usize,
}

/// Decodes a JWT, naming the part that failed as a data error (exit 65).
pub fn decode(token: &str) -> Result<Inspected> {
    let decoded = id_token::decode(token).map_err(not_a_jwt)?;
    let signature = token.trim().rsplit('.').next().unwrap_or("");
    let signature_bytes = URL_SAFE_NO_PAD
        .decode(signature.trim_end_matches('='))
        .map_err(|_| {
            not_a_jwt(JwtError::Base64 {
                segment: "signature",
            })
        })?
        .len();
    Ok(Inspected {
        header: decoded.header,
        claims: decoded.claims,
        signature_bytes,
    })
}

fn not_a_jwt(reason: JwtError) -> Error {
    let hint = match reason {
        JwtError::SegmentCount(_) => {
            "an identity token is three base64url segments joined by dots: header.claims.signature"
        }
        _ => {
            "pass the token exactly as posos-token printed it, for example: posos-token | posos-token inspect"
        }
    };
    Error::data(format!("the input is not a JWT: {reason}")).hint(hint)
}

/// Reads standard input, at most `MAX_INPUT_BYTES`, and gives up at `deadline`.
fn read_stdin(deadline: Instant) -> Result<Secret<String>> {
    if io::stdin().is_terminal() {
        return Err(Error::data("no token given: standard input is a terminal")
            .hint("pipe the token in: posos-token | posos-token inspect"));
    }
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let result = io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map(|_| Secret::new(bytes));
        // The receiver is gone when the deadline passed first; nothing is left to tell.
        let _ = sender.send(result);
    });

    let remaining = deadline.saturating_duration_since(Instant::now());
    let bytes = match receiver.recv_timeout(remaining) {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(err)) => {
            return Err(Error::data(format!(
                "failed to read the token from standard input: {err}"
            )));
        }
        Err(_) => {
            return Err(Error::data(
                "timed out reading the token from standard input: no end of input before the --timeout budget ran out",
            )
            .hint("pipe the token in: posos-token | posos-token inspect"));
        }
    };
    if bytes.expose().len() as u64 > MAX_INPUT_BYTES {
        return Err(Error::data(format!(
            "the input on standard input is larger than {} KiB, so it is not an identity token",
            MAX_INPUT_BYTES / 1024
        ))
        .hint("an identity token is about 1 KiB: pipe in the token alone, for example: posos-token | posos-token inspect"));
    }
    match std::str::from_utf8(bytes.expose()) {
        Ok(text) => Ok(Secret::new(text.to_string())),
        Err(_) => Err(Error::data(
            "the input is not a JWT: standard input is not UTF-8 text",
        )
        .hint("an identity token is base64url text: pipe in the token alone, for example: posos-token | posos-token inspect")),
    }
}

/// Finds the token in the input: a bare token, an `Authorization: Bearer` line among others,
/// a `Bearer <token>` value, or the JSON object of `--format json`.
pub fn extract_token(input: &str) -> Result<&str> {
    // Quotes around the whole input come from copying a header out of a curl command.
    let input = unquote(input.trim_start_matches('\u{feff}').trim());
    if input.is_empty() {
        return Err(Error::data("the input is empty: no token to inspect")
            .hint("pipe the token in: posos-token | posos-token inspect"));
    }
    if input.starts_with('{') {
        return token_in_json(input);
    }

    let lines: Vec<&str> = input
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    if let Some(token) = lines.iter().find_map(|line| bearer_of_header(line)) {
        return Ok(token);
    }
    match lines.as_slice() {
        [line] if is_authorization_header(line) => Err(Error::data(
            "the input is an Authorization header without a Bearer token",
        )
        .hint("give the line that posos-token -H prints: Authorization: Bearer <token>")),
        [line] => Ok(unquote(strip_bearer(line).unwrap_or(line))),
        _ => Err(Error::data(format!(
            "the input is not a JWT: it has {} lines and none is an Authorization: Bearer header",
            lines.len()
        ))
        .hint("give one token, or one \"Authorization: Bearer <token>\" line")),
    }
}

fn is_authorization_header(line: &str) -> bool {
    line.split_once(':')
        .is_some_and(|(name, _)| name.trim().eq_ignore_ascii_case("authorization"))
}

/// Removes one pair of matching quotes around a token copied out of JSON or a shell line.
fn unquote(text: &str) -> &str {
    ['"', '\'']
        .into_iter()
        .find_map(|quote| text.strip_prefix(quote)?.strip_suffix(quote))
        .map_or(text, str::trim)
}

/// Returns the token of an `Authorization: Bearer <token>` line; the names are case-insensitive.
fn bearer_of_header(line: &str) -> Option<&str> {
    let (name, value) = line.split_once(':')?;
    if !name.trim().eq_ignore_ascii_case("authorization") {
        return None;
    }
    strip_bearer(value.trim())
}

fn strip_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(char::is_whitespace)?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// Reads the `token` field (which `--format json` prints) or the `id_token` field (which a token
/// endpoint returns) of a JSON object.
fn token_in_json(input: &str) -> Result<&str> {
    let not_found = || {
        Error::data("the input is a JSON object without a `token` or `id_token` string")
            .hint("pass the token itself, or the output of posos-token --format json")
    };
    let value: Value = serde_json::from_str(input).map_err(|_| {
        Error::data("the input starts with { but is not valid JSON")
            .hint("pass the token itself, or the output of posos-token --format json")
    })?;
    let field = ["token", "id_token"]
        .into_iter()
        .find_map(|name| value.get(name).and_then(Value::as_str))
        .ok_or_else(not_found)?;
    // Return a slice of the input so that the token is not copied outside a `Secret`.
    input
        .find(field)
        .map(|start| &input[start..start + field.len()])
        .ok_or_else(not_found)
}

/// Renders the header and claims for a person at a terminal.
pub fn render_text(decoded: &Inspected, now: i64) -> String {
    let mut out = String::new();
    out.push_str(NOT_VERIFIED);
    out.push('\n');
    match life(&decoded.claims, now) {
        Some(status) => out.push_str(&format!("Status: {status}\n")),
        None => out.push_str("Status: no numeric exp claim, so the expiry is unknown\n"),
    }

    out.push_str("\nHeader:\n");
    let header: Vec<(&String, &Value)> = decoded.header.iter().collect();
    push_fields(&mut out, &header, now);

    out.push_str("\nClaims:\n");
    let mut claims: Vec<(&String, &Value)> = LEADING_CLAIMS
        .iter()
        .filter_map(|name| decoded.claims.get_key_value(*name))
        .collect();
    let mut rest: Vec<(&String, &Value)> = decoded
        .claims
        .iter()
        .filter(|(name, _)| !LEADING_CLAIMS.contains(&name.as_str()))
        .collect();
    rest.sort_by(|a, b| a.0.cmp(b.0));
    claims.extend(rest);
    push_fields(&mut out, &claims, now);

    out.push_str(&format!(
        "\nSignature: {}\n",
        if decoded.signature_bytes == 0 {
            "none (an unsecured JWT)".to_string()
        } else {
            format!("{} bytes, not verified", decoded.signature_bytes)
        }
    ));
    out
}

fn push_fields(out: &mut String, fields: &[(&String, &Value)], now: i64) {
    let width = fields
        .iter()
        .map(|(name, _)| printable(name).chars().count())
        .max()
        .unwrap_or(0);
    for (name, value) in fields {
        let name = printable(name);
        let shown = describe_value(&name, value, now);
        out.push_str(&format!("  {name:<width$}  {shown}\n"));
    }
}

/// Shows a claim: times as UTC with their distance from now, strings unquoted, the rest as JSON.
fn describe_value(name: &str, value: &Value, now: i64) -> String {
    let seconds = TIME_CLAIMS
        .contains(&name)
        .then(|| as_seconds(value))
        .flatten();
    if let Some(seconds) = seconds.filter(|s| (0..=LAST_TIME).contains(s)) {
        let relative = if seconds > now {
            format!("in {}", duration(seconds - now))
        } else {
            format!("{} ago", duration(now - seconds))
        };
        return format!("{} ({relative})", rfc3339(seconds));
    }
    match value {
        Value::String(text) => printable(text),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .map(printable)
            .collect::<Vec<_>>()
            .join(", "),
        other => printable(&other.to_string()),
    }
}

/// Returns "expires in 41m12s" or "expired 3m ago", or `None` without a numeric `exp`.
pub fn life(claims: &Map<String, Value>, now: i64) -> Option<String> {
    let exp = claims.get("exp").and_then(as_seconds)?;
    Some(if exp > LAST_TIME {
        "expires after the year 9999, which no real token does".to_string()
    } else if exp > now {
        format!("expires in {}", duration(exp - now))
    } else {
        format!("expired {} ago", duration(now - exp))
    })
}

/// Formats seconds with the two largest units: "45s", "41m12s", "3m", "2h5m", "3d4h".
pub fn duration(seconds: i64) -> String {
    let seconds = seconds.max(0) as u64;
    let (days, hours, minutes, secs) = (
        seconds / 86_400,
        seconds % 86_400 / 3600,
        seconds % 3600 / 60,
        seconds % 60,
    );
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    if days > 0 {
        pair(days, "d", hours, "h")
    } else if hours > 0 {
        pair(hours, "h", minutes, "m")
    } else if minutes > 0 {
        pair(minutes, "m", secs, "s")
    } else {
        format!("{secs}s")
    }
}

fn as_seconds(value: &Value) -> Option<i64> {
    value
        .as_i64()
        .or_else(|| value.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
}

/// Escapes control characters, so that a crafted claim can't send terminal escape sequences.
fn printable(text: &str) -> String {
    if text.chars().any(char::is_control) {
        text.escape_debug().to_string()
    } else {
        text.to_string()
    }
}

/// Renders the header and claims as a pretty-printed JSON object.
pub fn render_json(decoded: &Inspected, now: i64) -> String {
    let mut object = json!({
        "signature_verified": false,
        "header": decoded.header,
        "claims": decoded.claims,
    });
    if let Some(exp) = decoded.claims.get("exp").and_then(as_seconds) {
        object["expires_at"] = json!(rfc3339(exp));
        object["expires_in_seconds"] = json!(exp.saturating_sub(now));
        object["expired"] = json!(exp <= now);
    }
    // Serializing a `Value` can't fail.
    let mut text = serde_json::to_string_pretty(&object).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(header: &str, claims: &str, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        )
    }

    #[test]
    fn duration_uses_two_largest_units() {
        assert_eq!(duration(0), "0s");
        assert_eq!(duration(45), "45s");
        assert_eq!(duration(41 * 60 + 12), "41m12s");
        assert_eq!(duration(180), "3m");
        assert_eq!(duration(2 * 3600 + 5 * 60 + 9), "2h5m");
        assert_eq!(duration(3 * 86_400 + 4 * 3600), "3d4h");
        assert_eq!(duration(-5), "0s");
    }

    #[test]
    fn life_says_expires_in_or_expired_ago() {
        let claims = |exp: i64| json!({ "exp": exp }).as_object().unwrap().clone();
        assert_eq!(
            life(&claims(1000 + 41 * 60 + 12), 1000).unwrap(),
            "expires in 41m12s"
        );
        assert_eq!(life(&claims(1000 - 180), 1000).unwrap(), "expired 3m ago");
        assert_eq!(life(&Map::new(), 1000), None);
    }

    #[test]
    fn extract_bearerless_header_and_quotes() {
        for line in ["Authorization: Bearer", "Authorization: Basic abc"] {
            let err = extract_token(line).unwrap_err();
            assert!(err.message().contains("without a Bearer token"), "{line}");
        }
        assert_eq!(extract_token("\"a.b.c\"").unwrap(), "a.b.c");
        assert_eq!(extract_token("'a.b.c'").unwrap(), "a.b.c");
        assert_eq!(
            extract_token("\"Authorization: Bearer a.b.c\"").unwrap(),
            "a.b.c"
        );
    }

    #[test]
    fn life_exp_after_year_9999() {
        let claims = json!({ "exp": 1e20 }).as_object().unwrap().clone();
        assert!(life(&claims, 1000).unwrap().contains("after the year 9999"));
    }

    #[test]
    fn extract_accepts_header_lines() {
        assert_eq!(extract_token("a.b.c\n").unwrap(), "a.b.c");
        assert_eq!(
            extract_token("Authorization: Bearer a.b.c\n").unwrap(),
            "a.b.c"
        );
        assert_eq!(
            extract_token("authorization:bearer  a.b.c").unwrap(),
            "a.b.c"
        );
        assert_eq!(extract_token("Bearer a.b.c").unwrap(), "a.b.c");
        let curl = "> GET / HTTP/1.1\n> Host: x\n> Authorization: Bearer a.b.c\n";
        assert!(
            extract_token(curl).is_err(),
            "lines with a prefix are not headers"
        );
        let headers = "Host: x\nAuthorization: Bearer a.b.c\nAccept: */*\n";
        assert_eq!(extract_token(headers).unwrap(), "a.b.c");
    }

    #[test]
    fn extract_reads_json_output() {
        assert_eq!(
            extract_token(r#"{"token":"a.b.c","expires_at":"x"}"#).unwrap(),
            "a.b.c"
        );
        assert_eq!(extract_token(r#"{"id_token":"a.b.c"}"#).unwrap(), "a.b.c");
        assert!(extract_token(r#"{"access_token":"ya29"}"#).is_err());
    }

    #[test]
    fn extract_rejects_empty_input() {
        let err = extract_token(" \n").unwrap_err();
        assert_eq!(err.class(), crate::exit_code::ExitCode::DataError);
    }

    #[test]
    fn decode_names_failed_part() {
        let cases = [
            (
                "abc".to_string(),
                "3 dot-separated segments, but this has 1",
            ),
            (
                "!!.e30.c2ln".to_string(),
                "header segment is not valid base64url",
            ),
            (
                format!("e30.{}.c2ln", URL_SAFE_NO_PAD.encode("[1]")),
                "claims segment is not a JSON object",
            ),
            (
                "e30.e30.!!".to_string(),
                "signature segment is not valid base64url",
            ),
        ];
        for (token, expected) in cases {
            let err = decode(&token).unwrap_err();
            assert_eq!(err.class(), crate::exit_code::ExitCode::DataError);
            assert!(
                err.message().contains(expected),
                "{token}: {}",
                err.message()
            );
        }
    }

    #[test]
    fn text_lists_leading_claims_first_with_times() {
        let token = jwt(
            r#"{"alg":"RS256","kid":"k"}"#,
            r#"{"sub":"1","exp":5000,"aud":"a","iat":1000,"email":"e@x","iss":"i","azp":"z"}"#,
            "c2ln",
        );
        let text = render_text(&decode(&token).unwrap(), 2000);
        assert!(text.starts_with(NOT_VERIFIED));
        assert!(text.contains("Status: expires in 50m"));
        let order: Vec<usize> = [
            "  aud", "  email", "  iss", "  iat", "  exp", "  azp", "  sub",
        ]
        .iter()
        .map(|name| text.find(name).unwrap())
        .collect();
        assert!(order.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.contains("1970-01-01T00:16:40Z (16m40s ago)"), "{text}");
        assert!(text.contains("Signature: 3 bytes, not verified"));
    }

    #[test]
    fn text_escapes_control_characters() {
        let token = jwt("{}", r#"{"name":"\u001b[31mred"}"#, "");
        let text = render_text(&decode(&token).unwrap(), 0);
        assert!(!text.contains('\u{1b}'));
        assert!(text.contains("\\u{1b}[31mred"));
        assert!(text.contains("none (an unsecured JWT)"));
    }

    #[test]
    fn json_has_claims_and_unverified_flag() {
        let token = jwt(r#"{"alg":"RS256"}"#, r#"{"exp":100,"aud":"a"}"#, "c2ln");
        let text = render_json(&decode(&token).unwrap(), 160);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["signature_verified"], false);
        assert_eq!(value["claims"]["aud"], "a");
        assert_eq!(value["header"]["alg"], "RS256");
        assert_eq!(value["expired"], true);
        assert_eq!(value["expires_in_seconds"], -60);
    }
}
