//! Fuzzes the reading of a token endpoint's response. The first byte picks the HTTP status.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posos_token::token_endpoint::{Answer, KeyIdentity, interpret};

const STATUSES: [u16; 8] = [200, 302, 400, 401, 403, 429, 500, 503];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    let answer = Answer {
        status: STATUSES[usize::from(selector) % STATUSES.len()],
        content_type: (selector & 0x80 != 0).then(|| "application/json".to_string()),
        location: None,
        date: None,
        retry_after: None,
        body: body.to_vec(),
    };
    let key = KeyIdentity {
        client_email: "fuzz@example.iam.gserviceaccount.com".into(),
        private_key_id: Some("fuzz".into()),
    };
    let _ = interpret(&answer, "https://oauth2.googleapis.com/token", &key);
});
