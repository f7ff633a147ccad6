//! Purpose-bound encryption for schakel (DESIGN.md §3) and subject pseudonyms.
//!
//! - [`seal`] encrypts one field group with age (X25519) to every key of the
//!   functions allowed to open it — the recipient function's and, so the
//!   sender can show the youth exactly what was sent (R12), the sender
//!   function's — in **one** age file: one X25519 per recipient key, one
//!   payload encryption per group. [`open`] reverses it with an age identity
//!   that never leaves the receiving organisation. [`seal_groups`] puts all
//!   groups bound to one purpose in one such file (one X25519 per key per
//!   document, not per group); [`open_groups`] reverses it.
//! - [`Pseudonymiser`] turns a BSN into the subject pseudonym that the store
//!   and the audit log carry instead of the BSN: HMAC-SHA256 under a hub
//!   secret, so the pseudonym cannot be reversed by trying all 10⁹ BSNs
//!   without that secret.
//!
//! Plaintext lives in [`GroupPlaintext`], which is zeroized on drop and
//! whose `Debug` shows only the group name and field keys, never values.
//! Crypto failures are opaque ([`CryptoError`]): they never echo input.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod pseudonym;
mod seal;

pub use pseudonym::{PSEUDONYM_KEY_LEN, Pseudonymiser};
pub use seal::{
    GroupPlaintext, MAX_PLAINTEXT, OpenedUnit, PlainField, Recipient, SealBinding, open, open_bound,
    open_groups, parse_identities, parse_recipient, seal, seal_bound, seal_groups,
};

/// Why sealing or opening failed. Messages never contain key material or
/// plaintext.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// A recipient string is not an age X25519 recipient (`age1…`).
    #[error("not an age X25519 recipient")]
    InvalidRecipient,
    /// An identity file holds no usable age X25519 identity.
    #[error("no age X25519 identity found")]
    InvalidIdentity,
    /// Nothing to seal to: a group must have at least one recipient key.
    #[error("no recipient keys to seal to")]
    NoRecipients,
    /// The plaintext is larger than [`MAX_PLAINTEXT`].
    #[error("group is too large to seal")]
    TooLarge,
    /// Encryption failed.
    #[error("sealing failed")]
    Seal,
    /// None of the identities opens this ciphertext (it is sealed to other
    /// keys: another function, another organisation, or a rotated key).
    #[error("none of the given identities can open this group")]
    NoMatchingIdentity,
    /// The ciphertext is damaged or not an age file.
    #[error("the sealed group is damaged or not an age file")]
    Corrupt,
    /// The decrypted content is not a group document.
    #[error("the opened group is not a valid group document")]
    BadPlaintext,
}
