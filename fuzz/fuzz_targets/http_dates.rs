//! Fuzzes the parsing of the `Retry-After` and `Date` headers of the token endpoint's response.
#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use posos_token::{clock_skew, retry};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let now = UNIX_EPOCH + Duration::from_secs(1_796_400_000);
    let _ = retry::parse_retry_after(text, now);
    if let Some(offset) = clock_skew::endpoint_offset(Some(text), now) {
        let _ = clock_skew::describe(offset);
    }
});
