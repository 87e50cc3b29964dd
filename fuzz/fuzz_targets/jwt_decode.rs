//! Fuzzes JWT decoding as `inspect` and the token endpoint's response use it, and the way
//! `inspect` finds the token in its input and renders what it decoded.

#![no_main]

use libfuzzer_sys::fuzz_target;
use posos_token::id_token::{self, IdToken};
use posos_token::inspect;
use posos_token::secret::Secret;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = id_token::decode(text);
        if let Ok(token) = IdToken::parse(Secret::new(text.to_string())) {
            let _ = posos_token::output::rfc3339(token.claims().exp);
        }
        if let Ok(token) = inspect::extract_token(text)
            && let Ok(decoded) = inspect::decode(token)
        {
            let _ = inspect::render_text(&decoded, 1_796_400_000);
            let _ = inspect::render_json(&decoded, 1_796_400_000);
        }
    }
});
