//! Subject pseudonyms: HMAC-SHA256 of the BSN under a hub secret.

use hmac::{Hmac, Mac};
use schakel_domain::{Bsn, Pseudonym};
use sha2::Sha256;
use zeroize::Zeroizing;

/// Length of the pseudonym key in bytes.
pub const PSEUDONYM_KEY_LEN: usize = 32;

/// Domain-separation labels: the same key never MACs two kinds of input the
/// same way.
const SUBJECT_LABEL: &[u8] = b"schakel/v1/subject\0";
const REQUEST_LABEL: &[u8] = b"schakel/v1/request\0";

/// Computes subject pseudonyms and request fingerprints under the hub's
/// secret. Every hub sharing one database must use the same key, or the same
/// youth gets different pseudonyms. The key is zeroized on drop and never
/// printed.
#[derive(Clone)]
pub struct Pseudonymiser {
    key: Zeroizing<[u8; PSEUDONYM_KEY_LEN]>,
}

impl std::fmt::Debug for Pseudonymiser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pseudonymiser(..)")
    }
}

impl Pseudonymiser {
    /// A pseudonymiser with this key.
    pub fn new(key: [u8; PSEUDONYM_KEY_LEN]) -> Self {
        Self {
            key: Zeroizing::new(key),
        }
    }

    /// A fresh random key, hex encoded (for a new hub's key file).
    pub fn generate_key_hex() -> Zeroizing<String> {
        let key: [u8; PSEUDONYM_KEY_LEN] = rand::random();
        Zeroizing::new(hex::encode(key))
    }

    /// Parses a key file's content: 64 hex digits, surrounding whitespace
    /// ignored. `None` when malformed (the caller names the file).
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut key = Zeroizing::new([0u8; PSEUDONYM_KEY_LEN]);
        hex::decode_to_slice(text.trim(), &mut key[..]).ok()?;
        Some(Self { key })
    }

    fn mac(&self, label: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        // HMAC accepts keys of any length: this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key[..]).unwrap_or_else(|_| unreachable!());
        mac.update(label);
        for p in parts {
            // Length-prefix each part so part boundaries are unambiguous.
            mac.update(&(p.len() as u64).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    /// The pseudonym of a BSN: 64 lowercase hex digits. The same BSN gives
    /// the same pseudonym under the same key.
    pub fn pseudonym(&self, bsn: &Bsn) -> Pseudonym {
        Pseudonym::from_mac(self.mac(SUBJECT_LABEL, &[&bsn.expose()[..]]))
    }

    /// A keyed fingerprint of a request (for idempotency: "is this retry the
    /// same request?"). Keyed, so a stored fingerprint of a request that holds
    /// a BSN cannot be tested against guesses without the hub secret.
    pub fn fingerprint(&self, kind: &str, bytes: &[u8]) -> [u8; 32] {
        self.mac(REQUEST_LABEL, &[kind.as_bytes(), bytes])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_stable_keyed_and_never_the_bsn() {
        let bsn: Bsn = "111222333".parse().unwrap();
        let a = Pseudonymiser::new([7; 32]);
        let b = Pseudonymiser::new([8; 32]);
        let p = a.pseudonym(&bsn);
        assert_eq!(p.as_str().len(), 64);
        assert_eq!(p.as_str().parse::<schakel_domain::Pseudonym>().unwrap(), p);
        assert_eq!(p, a.pseudonym(&bsn));
        assert_ne!(p, b.pseudonym(&bsn));
        assert!(!p.as_str().contains("111222333"));
        assert_eq!(format!("{a:?}"), "Pseudonymiser(..)");
    }

    #[test]
    fn fingerprints_separate_kinds_and_inputs() {
        let a = Pseudonymiser::new([1; 32]);
        assert_ne!(a.fingerprint("submit", b"x"), a.fingerprint("consent", b"x"));
        assert_ne!(a.fingerprint("submit", b"x"), a.fingerprint("submit", b"y"));
        // Part boundaries matter: ("ab","c") is not ("a","bc").
        assert_ne!(a.fingerprint("ab", b"c"), a.fingerprint("a", b"bc"));
    }

    #[test]
    fn key_files_parse_only_as_64_hex_digits() {
        assert!(Pseudonymiser::from_hex(&format!(" {}\n", "ab".repeat(32))).is_some());
        assert!(Pseudonymiser::from_hex("ab").is_none());
        assert!(Pseudonymiser::from_hex(&"zz".repeat(32)).is_none());
        assert_eq!(Pseudonymiser::generate_key_hex().len(), 64);
    }
}
