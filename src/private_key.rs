//! Decoding the `private_key` PEM of a key file into an RSA key, with a message that names
//! the form found when it is not an RSA private key we can use.
//!
//! The form is detected from the content: PKCS#8 (`BEGIN PRIVATE KEY`, what Google issues) and
//! PKCS#1 (`BEGIN RSA PRIVATE KEY`) are accepted, whichever label the PEM carries.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rsa::PrivateKey;
use rsa::pkcs1::RsaPrivateKeyRef;
use rsa::pkcs1::der::Decode;
use rsa::pkcs8::PrivateKeyInfoRef;
use zeroize::Zeroizing;

/// Keys shorter than this are rejected. Google issues 2048-bit keys, so a shorter key did not
/// come from Google.
pub const MIN_KEY_BITS: usize = 2048;

/// Keys longer than this are refused: signing with them is slow and no Google key is that long.
pub const MAX_KEY_BITS: usize = 8192;

/// The object identifier of `rsaEncryption` in a PKCS#8 `AlgorithmIdentifier`.
const RSA_ENCRYPTION_OID: &str = "1.2.840.113549.1.1.1";

/// The reason a `private_key` value can't be used. `Display` gives it without key material.
#[derive(Debug, PartialEq, Eq)]
pub enum KeyError {
    /// No `-----BEGIN` line.
    NotPem,
    /// A `-----BEGIN` line with no matching `-----END` line.
    Truncated { label: String },
    /// The body between the lines is not valid base64.
    BadBase64 { label: String },
    /// The PEM has the two characters `\n` where line breaks belong: it was escaped twice.
    EscapedNewlines,
    /// The bytes are not a valid key structure, or its numbers are inconsistent.
    Damaged { label: String },
    /// A password-protected key.
    Encrypted,
    /// An OpenSSH-format key.
    OpenSsh,
    /// A key of another algorithm, or a PEM block that is not a private key.
    NotRsa { found: String },
    /// An RSA key outside the accepted sizes.
    Size { bits: usize },
}

impl std::fmt::Display for KeyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyError::NotPem => f.write_str("is not a PEM private key: it has no -----BEGIN line"),
            KeyError::Truncated { label } => write!(
                f,
                "is cut short: the {label} PEM block has no -----END {label}----- line"
            ),
            KeyError::BadBase64 { label } => {
                write!(
                    f,
                    "is damaged: the body of the {label} PEM block is not valid base64"
                )
            }
            KeyError::EscapedNewlines => f.write_str(
                "contains the two characters \\n where line breaks belong, so it was escaped twice",
            ),
            KeyError::Damaged { label } => write!(
                f,
                "is damaged: the {label} PEM block does not decode to a valid RSA private key"
            ),
            KeyError::Encrypted => f.write_str("is an encrypted (password-protected) private key"),
            KeyError::OpenSsh => f.write_str("is an OpenSSH private key, not a PEM RSA key"),
            KeyError::NotRsa { found } => write!(f, "is {found}, not an RSA private key"),
            KeyError::Size { bits } => write!(
                f,
                "is a {bits}-bit RSA key; only keys of {MIN_KEY_BITS} to {MAX_KEY_BITS} bits are accepted"
            ),
        }
    }
}

/// Decodes a PEM private key (PKCS#8 or PKCS#1, CRLF line endings allowed).
pub fn decode(pem: &str) -> Result<PrivateKey, KeyError> {
    if pem.contains("-----\\n") {
        return Err(KeyError::EscapedNewlines);
    }
    let block = pem_block(pem)?;
    let der = Zeroizing::new(STANDARD.decode(block.body.as_bytes()).map_err(|_| {
        KeyError::BadBase64 {
            label: block.label.to_string(),
        }
    })?);

    match block.label {
        "PRIVATE KEY" | "RSA PRIVATE KEY" => {}
        "ENCRYPTED PRIVATE KEY" => return Err(KeyError::Encrypted),
        "OPENSSH PRIVATE KEY" => return Err(KeyError::OpenSsh),
        label => {
            return Err(KeyError::NotRsa {
                found: describe_label(label),
            });
        }
    }
    if block.encrypted {
        return Err(KeyError::Encrypted);
    }

    // Try the form the label names first, then the other one: keys relabelled by hand exist.
    let pkcs1 = match PrivateKeyInfoRef::from_der(&der) {
        Ok(info) => {
            let oid = info.algorithm.oid.to_string();
            if oid != RSA_ENCRYPTION_OID {
                return Err(KeyError::NotRsa {
                    found: describe_oid(&oid),
                });
            }
            RsaPrivateKeyRef::try_from(info.private_key).ok()
        }
        Err(_) => RsaPrivateKeyRef::from_der(&der).ok(),
    };
    let damaged = || KeyError::Damaged {
        label: block.label.to_string(),
    };
    let pkcs1 = pkcs1.ok_or_else(damaged)?;

    let bits = modulus_bits(pkcs1.modulus.as_bytes());
    if !(MIN_KEY_BITS..=MAX_KEY_BITS).contains(&bits) {
        return Err(KeyError::Size { bits });
    }
    PrivateKey::try_from(pkcs1).map_err(|_| damaged())
}

/// One PEM block: its label, its base64 body with whitespace removed, and whether it carries
/// the legacy OpenSSL `Proc-Type: 4,ENCRYPTED` header.
struct PemBlock<'a> {
    label: &'a str,
    body: Zeroizing<String>,
    encrypted: bool,
}

fn pem_block(pem: &str) -> Result<PemBlock<'_>, KeyError> {
    let pem = pem.trim_start_matches('\u{feff}');
    let Some(begin) = pem.find("-----BEGIN ") else {
        if pem.trim_start().starts_with("ssh-") {
            return Err(KeyError::NotRsa {
                found: "an OpenSSH public key".into(),
            });
        }
        return Err(KeyError::NotPem);
    };
    let after_begin = &pem[begin + "-----BEGIN ".len()..];
    let Some(label_end) = after_begin.find("-----") else {
        return Err(KeyError::NotPem);
    };
    let label = &after_begin[..label_end];
    let rest = &after_begin[label_end + "-----".len()..];

    let end_line = format!("-----END {label}-----");
    let Some(body_end) = rest.find(&end_line) else {
        return Err(KeyError::Truncated {
            label: label.to_string(),
        });
    };

    let mut body = Zeroizing::new(String::with_capacity(body_end));
    let mut encrypted = false;
    for line in rest[..body_end].lines() {
        if let Some((name, value)) = line.split_once(':') {
            encrypted |= name.trim() == "Proc-Type" && value.contains("ENCRYPTED");
            continue;
        }
        body.extend(line.chars().filter(|c| !c.is_whitespace()));
    }
    Ok(PemBlock {
        label,
        body,
        encrypted,
    })
}

/// Returns the bit length of a big-endian unsigned integer.
fn modulus_bits(bytes: &[u8]) -> usize {
    let Some(position) = bytes.iter().position(|&byte| byte != 0) else {
        return 0;
    };
    let significant = &bytes[position..];
    significant.len() * 8 - significant[0].leading_zeros() as usize
}

fn describe_label(label: &str) -> String {
    match label {
        "EC PRIVATE KEY" => "an EC private key".into(),
        "DSA PRIVATE KEY" => "a DSA private key".into(),
        "PUBLIC KEY" | "RSA PUBLIC KEY" => "a public key".into(),
        "CERTIFICATE" => "a certificate".into(),
        _ if label.len() <= 40 && label.chars().all(|c| c.is_ascii_uppercase() || c == ' ') => {
            format!("a PEM block labelled {label}")
        }
        _ => "a PEM block of an unknown kind".into(),
    }
}

fn describe_oid(oid: &str) -> String {
    match oid {
        "1.2.840.10045.2.1" => "an EC private key (PKCS#8)".into(),
        "1.3.101.112" => "an Ed25519 private key (PKCS#8)".into(),
        "1.3.101.113" => "an Ed448 private key (PKCS#8)".into(),
        "1.2.840.10040.4.1" => "a DSA private key (PKCS#8)".into(),
        "1.2.840.113549.1.1.10" => "an RSA-PSS private key (PKCS#8)".into(),
        _ => format!("a PKCS#8 key with algorithm {oid}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_FILE: &str = include_str!("../tests/fixtures/service-account.json");
    const PKCS1_KEY_FILE: &str = include_str!("../tests/fixtures/service-account-pkcs1.json");

    fn pem_of(file: &str) -> String {
        let value: serde_json::Value = serde_json::from_str(file).unwrap();
        value["private_key"].as_str().unwrap().to_string()
    }

    #[test]
    fn decode_accepts_pkcs8_and_pkcs1() {
        let pkcs8 = decode(&pem_of(KEY_FILE)).unwrap();
        let pkcs1 = decode(&pem_of(PKCS1_KEY_FILE)).unwrap();
        assert_eq!(pkcs8, pkcs1);
    }

    #[test]
    fn decode_accepts_crlf_line_endings() {
        let pem = pem_of(KEY_FILE).replace('\n', "\r\n");
        assert!(decode(&pem).is_ok());
    }

    #[test]
    fn decode_accepts_swapped_labels() {
        let pem = pem_of(PKCS1_KEY_FILE).replace("RSA PRIVATE KEY", "PRIVATE KEY");
        assert!(decode(&pem).is_ok());
    }

    #[test]
    fn decode_names_doubly_escaped_newlines() {
        let pem = pem_of(KEY_FILE).replace('\n', "\\n");
        assert_eq!(decode(&pem), Err(KeyError::EscapedNewlines));
    }

    #[test]
    fn decode_rejects_text_without_pem() {
        assert_eq!(decode("not a key"), Err(KeyError::NotPem));
    }

    #[test]
    fn decode_rejects_truncated_pem() {
        let pem = pem_of(KEY_FILE);
        let cut = &pem[..pem.len() / 2];
        assert!(matches!(decode(cut), Err(KeyError::Truncated { .. })));
    }

    #[test]
    fn decode_rejects_altered_body() {
        let pem = pem_of(KEY_FILE);
        let altered = pem.replacen("MIIE", "MIIF", 1);
        assert!(matches!(decode(&altered), Err(KeyError::Damaged { .. })));
    }

    #[test]
    fn decode_rejects_bad_base64() {
        let pem = pem_of(KEY_FILE).replacen("MIIE", "M*IE", 1);
        assert!(matches!(decode(&pem), Err(KeyError::BadBase64 { .. })));
    }

    #[test]
    fn decode_names_other_forms() {
        let cases = [
            ("ENCRYPTED PRIVATE KEY", KeyError::Encrypted),
            ("OPENSSH PRIVATE KEY", KeyError::OpenSsh),
        ];
        for (label, expected) in cases {
            let pem = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
            assert_eq!(decode(&pem), Err(expected), "{label}");
        }
        let ec = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n";
        assert_eq!(
            decode(ec),
            Err(KeyError::NotRsa {
                found: "an EC private key".into()
            })
        );
    }

    #[test]
    fn decode_rejects_legacy_encrypted_pkcs1() {
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        assert_eq!(decode(pem), Err(KeyError::Encrypted));
    }

    #[test]
    fn modulus_bits_counts_significant_bits() {
        assert_eq!(modulus_bits(&[0x00, 0x80, 0x00]), 16);
        assert_eq!(modulus_bits(&[0x01, 0xff]), 9);
        assert_eq!(modulus_bits(&[0x00]), 0);
    }
}
