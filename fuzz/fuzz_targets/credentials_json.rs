//! Fuzzes credentials-file parsing: JSON, the `type` dispatch, fields and the private key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posos_token::credentials::{self, Origin};
use posos_token::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let origin = Origin::Flag("fuzz.json".into());
    let _ = credentials::parse(&Secret::new(data.to_vec()), &origin);
});
