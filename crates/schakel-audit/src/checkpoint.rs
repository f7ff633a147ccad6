//! Signed checkpoints: the C2SP `tlog-checkpoint` body inside a `signed-note`.
//!
//! ```text
//! <origin>\n
//! <tree size in decimal>\n
//! <base64 root hash>\n
//! [extension line\n]...
//! \n
//! — <key name> <base64 signature>\n
//! ```
//!
//! A privacy officer keeps these notes; later, a consistency proof (or a full
//! re-verification with [`crate::LogVerifier`]) shows the log still extends them.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::error::{AuditError, Result};
use crate::merkle::Hash;
use crate::note::{Signer, Verifier};

/// A tree head: the log's origin, its size and its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's origin line, which is also the signing key's name.
    pub origin: String,
    /// Number of entries.
    pub size: u64,
    /// Merkle tree root over those entries.
    pub root: Hash,
    /// Extension lines (without their newline), in order; usually none.
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint without extension lines.
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The checkpoint body (the text that gets signed).
    pub fn to_text(&self) -> Result<String> {
        let bad_line = |s: &str| s.is_empty() || s.chars().any(char::is_control);
        if bad_line(&self.origin) {
            return Err(AuditError::MalformedCheckpoint("origin must be a non-empty line"));
        }
        if self.extensions.iter().any(|e| bad_line(e)) {
            return Err(AuditError::MalformedCheckpoint(
                "extension lines must be non-empty lines",
            ));
        }
        let mut text = format!("{}\n{}\n{}\n", self.origin, self.size, B64.encode(self.root));
        for ext in &self.extensions {
            text.push_str(ext);
            text.push('\n');
        }
        Ok(text)
    }

    /// Parses a checkpoint body strictly.
    pub fn from_text(text: &str) -> Result<Self> {
        let body = text
            .strip_suffix('\n')
            .ok_or(AuditError::MalformedCheckpoint("does not end in a newline"))?;
        let mut lines = body.split('\n');
        let origin = lines.next().unwrap_or_default();
        if origin.is_empty() {
            return Err(AuditError::MalformedCheckpoint("origin line is empty"));
        }
        // What `to_text` would refuse is refused here too, so every parsed
        // checkpoint prints back to the text it came from.
        if origin.chars().any(char::is_control) {
            return Err(AuditError::MalformedCheckpoint("control character in the origin"));
        }
        let size = lines
            .next()
            .ok_or(AuditError::MalformedCheckpoint("missing size line"))?;
        let size = parse_size(size)?;
        let root = lines
            .next()
            .ok_or(AuditError::MalformedCheckpoint("missing root line"))?;
        let root = parse_root(root)?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(AuditError::MalformedCheckpoint("empty line"));
        }
        if extensions.iter().any(|e| e.chars().any(char::is_control)) {
            return Err(AuditError::MalformedCheckpoint(
                "control character in an extension line",
            ));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }

    /// Opens a signed checkpoint note: checks the signature by `verifier` (whose
    /// key name must be the origin) and parses the body strictly.
    pub fn open(note: &str, verifier: &Verifier) -> Result<Self> {
        let text = verifier.open_note(note)?;
        let checkpoint = Self::from_text(text)?;
        if checkpoint.origin != verifier.name() {
            return Err(AuditError::OriginMismatch);
        }
        Ok(checkpoint)
    }
}

impl Signer {
    /// Signs a checkpoint, whose origin must be this signer's key name, and
    /// returns the signed note text.
    pub fn sign(&self, checkpoint: &Checkpoint) -> Result<String> {
        if self.name() != checkpoint.origin {
            return Err(AuditError::OriginMismatch);
        }
        self.sign_note(&checkpoint.to_text()?)
    }
}

/// Decimal, ASCII digits only, no sign, no leading zeros, fits in u64.
fn parse_size(s: &str) -> Result<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AuditError::MalformedCheckpoint("size is not a decimal number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(AuditError::MalformedCheckpoint("size has a leading zero"));
    }
    s.parse()
        .map_err(|_| AuditError::MalformedCheckpoint("size does not fit in 64 bits"))
}

/// Standard base64 with padding, canonical, of exactly 32 bytes.
fn parse_root(s: &str) -> Result<Hash> {
    let bytes = B64
        .decode(s)
        .map_err(|_| AuditError::MalformedCheckpoint("root is not canonical base64"))?;
    let root: Hash = bytes
        .try_into()
        .map_err(|_| AuditError::MalformedCheckpoint("root is not 32 bytes"))?;
    // The engine already refuses non-canonical padding and trailing bits; this
    // keeps the rule visible.
    if B64.encode(root) != s {
        return Err(AuditError::MalformedCheckpoint("root is not canonical base64"));
    }
    Ok(root)
}
