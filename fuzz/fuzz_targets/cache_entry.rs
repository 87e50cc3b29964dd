//! Fuzzes the parsing of token cache entries, which another process may have damaged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = posos_token::cache::entry::decode(data);
});
