//! Property tests: the parsers that read untrusted input return an error value for arbitrary
//! bytes and for mutations of valid inputs, and never panic.

use std::path::PathBuf;

use posos_token::credentials::{self, Origin};
use posos_token::id_token;
use posos_token::private_key;
use posos_token::secret::Secret;
use posos_token::token_endpoint::{Answer, KeyIdentity, interpret};
use proptest::prelude::*;

const KEY_FILE: &str = include_str!("fixtures/service-account.json");

fn origin() -> Origin {
    Origin::Flag(PathBuf::from("key.json"))
}

fn fixture_pem() -> String {
    let value: serde_json::Value = serde_json::from_str(KEY_FILE).unwrap();
    value["private_key"].as_str().unwrap().to_string()
}

/// A mutation of a byte string: flip, delete or insert at a position chosen by the strategy.
#[derive(Clone, Debug)]
enum Mutation {
    Flip(usize, u8),
    Delete(usize, usize),
    Insert(usize, Vec<u8>),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, mask)| Mutation::Flip(at, mask)),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for mutation in mutations {
        let len = bytes.len().max(1);
        match mutation {
            Mutation::Flip(at, mask) => {
                if !bytes.is_empty() {
                    bytes[at % len] ^= mask;
                }
            }
            Mutation::Delete(at, count) => {
                let start = at % len;
                let end = (start + count).min(bytes.len());
                if start < end {
                    bytes.drain(start..end);
                }
            }
            Mutation::Insert(at, inserted) => {
                let position = at % (bytes.len() + 1);
                bytes.splice(position..position, inserted.iter().copied());
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn credentials_parse_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        let _ = credentials::parse(&Secret::new(bytes), &origin());
    }

    #[test]
    fn credentials_parse_mutated_key_file(mutations in prop::collection::vec(mutation(), 1..6)) {
        let bytes = apply(KEY_FILE.as_bytes().to_vec(), &mutations);
        let _ = credentials::parse(&Secret::new(bytes), &origin());
    }

    #[test]
    fn private_key_decode_arbitrary_text(text in ".{0,3000}") {
        prop_assert!(private_key::decode(&text).is_err());
    }

    #[test]
    fn private_key_decode_mutated_pem(mutations in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(fixture_pem().into_bytes(), &mutations);
        let text = String::from_utf8_lossy(&bytes);
        let _ = private_key::decode(&text);
    }

    #[test]
    fn private_key_decode_arbitrary_der_in_pem(der in prop::collection::vec(any::<u8>(), 0..2048), pkcs1 in any::<bool>()) {
        use base64::Engine;
        let label = if pkcs1 { "RSA PRIVATE KEY" } else { "PRIVATE KEY" };
        let body = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n");
        prop_assert!(private_key::decode(&pem).is_err());
    }

    #[test]
    fn token_answer_arbitrary_body(
        status in 100u16..600,
        content_type in prop::option::of("[a-z/;= -]{0,40}"),
        body in prop::collection::vec(any::<u8>(), 0..2048),
    ) {
        let answer = Answer { status, content_type, location: None, date: None, retry_after: None, body };
        let key = KeyIdentity { client_email: "sa@example.com".into(), private_key_id: None };
        let _ = interpret(&answer, "https://oauth2.googleapis.com/token", &key);
    }

    #[test]
    fn token_answer_arbitrary_json(status in prop::sample::select(vec![200u16, 400, 401, 403, 429, 500, 503]), json in json_value()) {
        let answer = Answer { status, content_type: Some("application/json".into()), location: None, date: None, retry_after: None, body: json.to_string().into_bytes() };
        let key = KeyIdentity { client_email: "sa@example.com".into(), private_key_id: Some("k".into()) };
        let _ = interpret(&answer, "https://oauth2.googleapis.com/token", &key);
    }

    #[test]
    fn jwt_decode_arbitrary_text(text in "[A-Za-z0-9_.=-]{0,400}") {
        let _ = id_token::decode(&text);
    }

    #[test]
    fn jwt_decode_arbitrary_claims(claims in json_value()) {
        use base64::Engine;
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let token = format!("{}.{}.sig", engine.encode(r#"{"alg":"RS256"}"#), engine.encode(claims.to_string()));
        if let Ok(token) = id_token::IdToken::parse(Secret::new(token)) {
            // Formatting the expiry must work for any exp a server sends.
            let _ = posos_token::output::rfc3339(token.claims().exp);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn cache_entry_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = posos_token::cache::entry::decode(&bytes);
    }

    #[test]
    fn cache_entry_arbitrary_json(json in json_value(), version in prop::option::of(any::<i64>())) {
        let mut value = json;
        if let (Some(object), Some(version)) = (value.as_object_mut(), version) {
            object.insert("version".into(), version.into());
        }
        let _ = posos_token::cache::entry::decode(value.to_string().as_bytes());
    }

    #[test]
    fn cache_entry_mutated(mutations in prop::collection::vec(mutation(), 1..6)) {
        let bytes = apply(valid_entry().into_bytes(), &mutations);
        let _ = posos_token::cache::entry::decode(&bytes);
    }

    #[test]
    fn cache_entry_any_clock_offset(offset in prop_oneof![any::<i64>().prop_map(serde_json::Value::from), json_value()]) {
        let mut value: serde_json::Value = serde_json::from_str(&valid_entry()).unwrap();
        value["clock_offset"] = offset;
        if let Ok(entry) = posos_token::cache::entry::decode(value.to_string().as_bytes()) {
            // The offset is bounded, so the expiry the cache compares with the clock is valid.
            let _ = entry.token.local_expiry();
            prop_assert!(entry.token.clock_offset().unsigned_abs() <= 10 * 366 * 86_400);
        }
    }

    #[test]
    fn retry_after_arbitrary_text(text in ".{0,80}", now in 0u64..=4_102_444_800) {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now);
        let _ = posos_token::retry::parse_retry_after(&text, now);
    }

    #[test]
    fn retry_after_numbers(seconds in any::<u64>()) {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_796_400_000);
        let _ = posos_token::retry::parse_retry_after(&seconds.to_string(), now);
    }

    #[test]
    fn date_header_arbitrary_text(text in ".{0,80}", now in 0u64..=4_102_444_800) {
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now);
        if let Some(offset) = posos_token::clock_skew::endpoint_offset(Some(&text), now) {
            let _ = posos_token::clock_skew::describe(offset);
        }
    }

    #[test]
    fn date_header_valid_dates(seconds in 0u64..=253_402_300_799, now in 0u64..=4_102_444_800) {
        let date = httpdate::fmt_http_date(std::time::UNIX_EPOCH + std::time::Duration::from_secs(seconds));
        let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(now);
        let offset = posos_token::clock_skew::endpoint_offset(Some(&date), now);
        prop_assert!(offset.is_some());
        let _ = posos_token::clock_skew::describe(offset.unwrap_or_default());
    }
}

/// Returns a cache entry as the tool writes it, for a token that expires in the year 2100.
fn valid_entry() -> String {
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let token = format!(
        "{}.{}.c2ln",
        engine.encode(r#"{"alg":"RS256"}"#),
        engine.encode(r#"{"exp":4102444800,"aud":"a","email":"e@x"}"#)
    );
    serde_json::json!({
        "version": 1,
        "kind": "service_account",
        "identity": {"client_email": "e@x"},
        "fetched_at": 4102441200i64,
        "expires_at": 4102444800i64,
        "id_token": token,
    })
    .to_string()
}

/// JSON values of any shape, with keys that the parsers look for.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        ".{0,40}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        let key = prop::sample::select(vec![
            "id_token",
            "access_token",
            "error",
            "error_description",
            "exp",
            "iat",
            "aud",
            "email",
            "iss",
            "x",
        ]);
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            prop::collection::btree_map(key.prop_map(String::from), inner, 0..8)
                .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}
