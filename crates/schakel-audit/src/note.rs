//! C2SP `signed-note` with Ed25519 keys, compatible with Go's
//! `golang.org/x/mod/sumdb/note`.
//!
//! A note is UTF-8 text ending in a newline, a blank line, and one or more
//! signature lines `— <key name> <base64(key hash || signature)>`. The key hash is
//! the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || public key), 0x01
//! being the Ed25519 signature type. A verifier key is written
//! `<name>+<8 hex digits of key hash>+<base64(0x01 || public key)>`.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{AuditError, Result};

/// Signature type byte of Ed25519 in signed notes.
const ALG_ED25519: u8 = 0x01;
/// Prefix of a signature line: an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Go's limit on signature lines, to bound the work one note can cause.
const MAX_SIGNATURES: usize = 100;

/// A key name: non-empty, no whitespace, no `+`.
fn check_key_name(name: &str) -> Result<()> {
    if name.is_empty()
        || name.chars().any(|c| c.is_whitespace() || c == '+')
        || name.chars().any(char::is_control)
    {
        return Err(AuditError::MalformedKey(
            "key name must be non-empty without spaces or '+'",
        ));
    }
    Ok(())
}

fn key_hash(name: &str, public: &[u8; 32]) -> u32 {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALG_ED25519])
        .chain_update(public)
        .finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// An Ed25519 note signer. The secret key is zeroized on drop and never shown by
/// `Debug`.
pub struct Signer {
    name: String,
    key: SigningKey,
    hash: u32,
}

impl Signer {
    /// A signer from a 32-byte Ed25519 seed. For checkpoints the key name is the
    /// log's origin.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<Self> {
        check_key_name(name)?;
        let key = SigningKey::from_bytes(seed);
        let hash = key_hash(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key,
            hash,
        })
    }

    /// The key of the leaf authentication codes of the log this signer
    /// signs checkpoints of (derived from its seed, see [`crate::LeafKey`]).
    pub fn leaf_key(&self) -> crate::LeafKey {
        crate::LeafKey::derive(&self.key.to_bytes())
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The matching verifier.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
            hash: self.hash,
        }
    }

    /// Signs `text` (non-empty, ending in a newline, no control characters
    /// other than newline) and returns the whole signed note.
    pub fn sign_note(&self, text: &str) -> Result<String> {
        check_note_text(text)?;
        let signature = self.key.sign(text.as_bytes());
        let mut blob = Vec::with_capacity(68);
        blob.extend_from_slice(&self.hash.to_be_bytes());
        blob.extend_from_slice(&signature.to_bytes());
        Ok(format!(
            "{text}\n{SIG_PREFIX}{} {}\n",
            self.name,
            B64.encode(blob)
        ))
    }
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 note verifier: a key name and public key.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key: VerifyingKey,
    hash: u32,
}

impl Verifier {
    /// Parses a verifier key `<name>+<hex key hash>+<base64(0x01 || public key)>`,
    /// checking that the key hash matches the name and key.
    pub fn from_vkey(vkey: &str) -> Result<Self> {
        // The name cannot contain '+', the hash is hex; the base64 may contain '+'.
        let mut parts = vkey.splitn(3, '+');
        let (Some(name), Some(hash_hex), Some(key_b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AuditError::MalformedKey(
                "verifier key must be <name>+<hash>+<key>",
            ));
        };
        check_key_name(name)?;
        if hash_hex.len() != 8
            || !hash_hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(AuditError::MalformedKey(
                "key hash must be 8 lowercase hex digits",
            ));
        }
        let mut hash_bytes = [0u8; 4];
        hex::decode_to_slice(hash_hex, &mut hash_bytes)
            .map_err(|_| AuditError::MalformedKey("key hash must be 8 lowercase hex digits"))?;
        let raw = B64
            .decode(key_b64)
            .map_err(|_| AuditError::MalformedKey("key is not base64"))?;
        let [alg, public @ ..] = raw.as_slice() else {
            return Err(AuditError::MalformedKey("key is empty"));
        };
        if *alg != ALG_ED25519 {
            return Err(AuditError::MalformedKey("key type is not Ed25519"));
        }
        let public: [u8; 32] = public
            .try_into()
            .map_err(|_| AuditError::MalformedKey("Ed25519 key is not 32 bytes"))?;
        let key =
            VerifyingKey::from_bytes(&public).map_err(|_| AuditError::MalformedKey("not an Ed25519 key"))?;
        let hash = key_hash(name, &public);
        if hash != u32::from_be_bytes(hash_bytes) {
            return Err(AuditError::MalformedKey("key hash does not match name and key"));
        }
        Ok(Self {
            name: name.to_owned(),
            key,
            hash,
        })
    }

    /// The key name (for checkpoints, the log's origin).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The verifier key string, the inverse of [`Verifier::from_vkey`].
    pub fn vkey(&self) -> String {
        let mut raw = Vec::with_capacity(33);
        raw.push(ALG_ED25519);
        raw.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.hash, B64.encode(raw))
    }

    /// Opens a signed note: checks its form and that it carries a valid signature
    /// by this key, and returns the signed text. Signatures by other keys
    /// (witnesses, cosigners) are allowed and ignored; a note signed only by
    /// other keys is refused, as is any bad signature by this key.
    pub fn open_note<'n>(&self, note: &'n str) -> Result<&'n str> {
        let (text, sigs) = split_note(note)?;
        let mut verified = false;
        for (count, line) in sigs.split_terminator('\n').enumerate() {
            if count >= MAX_SIGNATURES {
                return Err(AuditError::MalformedNote("too many signatures"));
            }
            let rest = line.strip_prefix(SIG_PREFIX).ok_or(AuditError::MalformedNote(
                "signature line does not start with an em dash",
            ))?;
            let (name, b64) = rest.split_once(' ').ok_or(AuditError::MalformedNote(
                "signature line has no space after the key name",
            ))?;
            if check_key_name(name).is_err() {
                return Err(AuditError::MalformedNote(
                    "signature line has an invalid key name",
                ));
            }
            let blob = B64
                .decode(b64)
                .map_err(|_| AuditError::MalformedNote("signature is not base64"))?;
            if blob.len() < 5 {
                return Err(AuditError::MalformedNote("signature too short"));
            }
            let hash = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);
            if name != self.name || hash != self.hash {
                continue;
            }
            let signature = Signature::from_slice(&blob[4..])
                .map_err(|_| AuditError::MalformedNote("signature length"))?;
            self.key
                .verify_strict(text.as_bytes(), &signature)
                .map_err(|_| AuditError::BadSignature)?;
            verified = true;
        }
        if !verified {
            return Err(AuditError::UnknownSigner);
        }
        Ok(text)
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vkey())
    }
}

/// Text and message rules: valid UTF-8 (a `&str` already is), no control
/// characters except newline.
fn check_chars(s: &str) -> Result<()> {
    if s.chars().any(|c| c < ' ' && c != '\n') {
        return Err(AuditError::MalformedNote("control character"));
    }
    Ok(())
}

fn check_note_text(text: &str) -> Result<()> {
    check_chars(text)?;
    if !text.ends_with('\n') {
        return Err(AuditError::MalformedNote("text does not end in a newline"));
    }
    Ok(())
}

/// Splits a note into its text (with its final newline) and signature block (each
/// line ending in a newline), at the last blank line as Go's `note.Open` does.
fn split_note(note: &str) -> Result<(&str, &str)> {
    check_chars(note)?;
    let split = note
        .rfind("\n\n")
        .ok_or(AuditError::MalformedNote("no blank line before the signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    if sigs.is_empty() {
        return Err(AuditError::MalformedNote("no signatures"));
    }
    if !sigs.ends_with('\n') {
        return Err(AuditError::MalformedNote(
            "signature block does not end in a newline",
        ));
    }
    Ok((text, sigs))
}
