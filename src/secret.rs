//! A wrapper for secret values (the private key, the signed assertion, tokens) that keeps them
//! out of debug output and wipes their memory when dropped.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A secret value whose `Debug` prints a redaction and whose memory is zeroed on drop.
///
/// There is deliberately no `Display`: printing a secret must be a visible call to `expose`.
#[derive(Clone, Default, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// Returns the secret value; every caller is a place where the secret may leave the process.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl From<String> for Secret<String> {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_value() {
        let secret = Secret::new(String::from("-----BEGIN PRIVATE KEY-----"));
        let printed = format!("{secret:?}");
        assert_eq!(printed, "[redacted]");
    }

    #[test]
    fn expose_returns_value() {
        let secret = Secret::new(vec![1u8, 2, 3]);
        assert_eq!(secret.expose(), &[1, 2, 3]);
    }
}
