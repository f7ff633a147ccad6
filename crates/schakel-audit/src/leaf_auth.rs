//! Authentication codes of appended entries (issue 14): what stops an
//! attacker with write access to the database from changing or forging the
//! entries no signed checkpoint covers yet.
//!
//! A checkpoint proves the entries below its size. The entries appended
//! since are only in the database, and a hub that extended the tree over
//! them would sign whatever it found there. So every hub stores, beside each
//! entry it appends, `HMAC-SHA256(K, "schakel/audit-leaf/v1" ‖ seq ‖ leaf
//! hash)`, with `K` derived from the log's signing key, which every hub of
//! one log holds and the database does not. Before it signs, a hub checks
//! the code of every entry it is about to cover: an entry changed, moved or
//! added outside a hub has none that verifies. The codes carry no content
//! (they are keyed hashes of hashes) and prove nothing to anyone without the
//! key: for an auditor, the signed checkpoints remain the proof.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::Hash;

type HmacSha256 = Hmac<Sha256>;

const KEY_LABEL: &[u8] = b"schakel/audit-leaf-key/v1";
const TAG_LABEL: &[u8] = b"schakel/audit-leaf/v1";

/// The key of the leaf authentication codes of one log. Never shown by
/// `Debug`; its bytes are wiped when it is dropped.
#[derive(Clone, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct LeafKey([u8; 32]);

impl std::fmt::Debug for LeafKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LeafKey(..)")
    }
}

impl LeafKey {
    /// Derives the key from the log's 32-byte Ed25519 signing seed, with a
    /// label of its own (the seed is never used as an HMAC key directly).
    pub(crate) fn derive(seed: &[u8; 32]) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(seed).expect("HMAC takes any key length");
        mac.update(KEY_LABEL);
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, seq: u64, leaf: &Hash) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(TAG_LABEL);
        mac.update(&seq.to_be_bytes());
        mac.update(leaf);
        mac
    }

    /// The code of the entry at `seq` whose leaf hash is `leaf`.
    pub fn tag(&self, seq: u64, leaf: &Hash) -> Hash {
        self.mac(seq, leaf).finalize().into_bytes().into()
    }

    /// Whether `tag` is the code of the entry at `seq` with leaf hash
    /// `leaf` (compared in constant time).
    pub fn verify(&self, seq: u64, leaf: &Hash, tag: &[u8]) -> bool {
        self.mac(seq, leaf).verify_slice(tag).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_binds_the_position_the_leaf_and_the_key() {
        let k = LeafKey::derive(&[7; 32]);
        let leaf = [1; 32];
        let tag = k.tag(5, &leaf);
        assert!(k.verify(5, &leaf, &tag));
        assert!(!k.verify(6, &leaf, &tag), "another position");
        assert!(!k.verify(5, &[2; 32], &tag), "another leaf");
        assert!(!LeafKey::derive(&[8; 32]).verify(5, &leaf, &tag), "another key");
        assert!(!k.verify(5, &leaf, &tag[..31]), "a short tag");
        assert_eq!(format!("{k:?}"), "LeafKey(..)");
    }
}
