//! Signing alone: decode the fixture key's PEM, then sign one assertion, timed with the
//! standard library's clock so that no benchmark framework is needed (`harness = false`).
//!
//! Run with `cargo bench --bench signing`. Prints the median and 95th percentile of each step.

use std::hint::black_box;
use std::time::{Duration, Instant};

use posos_token::assertion::{AssertionSigner, Claims};
use posos_token::private_key;

const ITERATIONS: usize = 300;

fn main() {
    let key_file: serde_json::Value =
        serde_json::from_str(include_str!("../tests/fixtures/service-account.json"))
            .expect("the fixture is JSON");
    let pem = key_file["private_key"]
        .as_str()
        .expect("the fixture has a private_key")
        .to_string();
    let claims = Claims {
        iss: "bench@example.iam.gserviceaccount.com".into(),
        sub: "bench@example.iam.gserviceaccount.com".into(),
        aud: "https://oauth2.googleapis.com/token".into(),
        iat: 1_800_000_000,
        exp: 1_800_003_600,
        target_audience: Some("bench-audience".into()),
    };

    let decode = measure(|| {
        black_box(private_key::decode(black_box(&pem)).expect("the fixture key decodes"));
    });
    let sign = measure(|| {
        let key = private_key::decode(&pem).expect("the fixture key decodes");
        let signer = AssertionSigner::new(key, Some("kid".into()));
        black_box(signer.sign(black_box(&claims)));
    });

    println!("{:<28} {:>12} {:>12}", "step", "median", "p95");
    report("decode the private key", &decode);
    report("decode and sign", &sign);
}

/// Runs `step` a few times to warm up, then `ITERATIONS` times, and returns the sorted timings.
fn measure(mut step: impl FnMut()) -> Vec<Duration> {
    for _ in 0..10 {
        step();
    }
    let mut timings: Vec<Duration> = (0..ITERATIONS)
        .map(|_| {
            let started = Instant::now();
            step();
            started.elapsed()
        })
        .collect();
    timings.sort_unstable();
    timings
}

fn report(name: &str, sorted: &[Duration]) {
    let median = sorted[sorted.len() / 2];
    let p95 = sorted[sorted.len() * 95 / 100];
    println!(
        "{name:<28} {:>9.3} ms {:>9.3} ms",
        median.as_secs_f64() * 1e3,
        p95.as_secs_f64() * 1e3
    );
}
