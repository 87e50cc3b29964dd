//! Cache keys: a SHA-256 digest over labelled parts that identify the credentials, the
//! audience and the token endpoint, so that each combination has its own cache entry.

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::credentials::ServiceAccountKey;

/// Names the digest's input format, so that a change of format gives new file names instead
/// of reusing entries computed another way.
const KEY_FORMAT: &[u8] = b"posos-token cache key 1";

/// The identity of one cache entry: the credential kind and its labelled parts.
///
/// Parts added with [`CacheKey::part`] are stored in the entry to help a person who reads the
/// cache directory. Parts added with [`CacheKey::secret_part`] only enter the digest.
#[derive(Clone, Debug)]
pub struct CacheKey {
    kind: &'static str,
    hasher: Sha256,
    labels: Vec<(&'static str, String)>,
}

impl CacheKey {
    /// Starts a key for credentials of `kind`, such as `service_account`.
    pub fn new(kind: &'static str) -> Self {
        let mut key = CacheKey {
            kind,
            hasher: Sha256::new(),
            labels: Vec::new(),
        };
        key.hasher.update(KEY_FORMAT);
        key.feed("kind", kind.as_bytes());
        key
    }

    /// Adds a labelled part whose value may be shown, such as an email or a URL.
    pub fn part(mut self, label: &'static str, value: &str) -> Self {
        self.feed(label, value.as_bytes());
        self.labels.push((label, value.to_string()));
        self
    }

    /// Adds a labelled part that only enters the digest, such as a digest of key material.
    pub fn secret_part(mut self, label: &'static str, value: &[u8]) -> Self {
        self.feed(label, value);
        self
    }

    /// Builds the key of an identity token minted from a service-account key for `audience`.
    ///
    /// The private key enters as a SHA-256 digest of its modulus and private exponent. So a
    /// rotated key (new key material, with or without a new `private_key_id`) gets its own
    /// entry, while the same key in PKCS#1 or PKCS#8 form shares one.
    pub fn for_service_account(key: &ServiceAccountKey, audience: &str) -> Self {
        CacheKey::new("service_account")
            .part("client_email", &key.client_email)
            .part(
                "private_key_id",
                key.private_key_id.as_deref().unwrap_or(""),
            )
            .secret_part("private_key_sha256", &private_key_digest(&key.private_key))
            .part("audience", audience)
            .part("token_uri", &key.token_uri)
    }

    /// Returns the credential kind.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// Returns the parts that may be shown, in the order they were added.
    pub fn labels(&self) -> &[(&'static str, String)] {
        &self.labels
    }

    /// Returns the lowercase hex SHA-256 digest that names the entry's files.
    pub fn file_stem(&self) -> String {
        let digest = self.hasher.clone().finalize();
        digest.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Feeds one part, length-prefixed so that no two lists of parts give the same input.
    fn feed(&mut self, label: &str, value: &[u8]) {
        for field in [label.as_bytes(), value] {
            self.hasher.update((field.len() as u64).to_be_bytes());
            self.hasher.update(field);
        }
    }
}

/// Returns SHA-256 over the RSA modulus and private exponent, which identify the key whatever
/// its encoding.
pub fn private_key_digest(key: &rsa::PrivateKey) -> [u8; 32] {
    use rsa::traits::{PrivateKeyParts, PublicKeyParts};

    let modulus = key.n_bytes();
    let exponent = Zeroizing::new(key.d().to_be_bytes());
    let mut hasher = Sha256::new();
    for field in [&modulus[..], &exponent[..]] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field);
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_stem_is_hex_sha256() {
        let stem = CacheKey::new("test").part("a", "b").file_stem();
        assert_eq!(stem.len(), 64);
        assert!(
            stem.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
    }

    #[test]
    fn parts_are_length_prefixed() {
        let joined = CacheKey::new("test").part("a", "bc").part("d", "");
        let split = CacheKey::new("test").part("a", "b").part("cd", "");
        assert_ne!(joined.file_stem(), split.file_stem());
    }

    #[test]
    fn kind_changes_digest() {
        let one = CacheKey::new("one").part("a", "b");
        let two = CacheKey::new("two").part("a", "b");
        assert_ne!(one.file_stem(), two.file_stem());
    }

    #[test]
    fn secret_part_is_not_labelled() {
        let key = CacheKey::new("test")
            .part("shown", "x")
            .secret_part("hidden", b"y");
        assert_eq!(key.labels(), &[("shown", "x".to_string())]);
    }
}
