//! Fuzzes PEM and DER decoding of the private key.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = posos_token::private_key::decode(text);
    }
});
