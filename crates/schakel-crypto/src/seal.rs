//! Sealing and opening field groups with age: one group per age file
//! ([`seal`], [`open`]), or all groups bound to one purpose in one age file
//! ([`seal_groups`], [`open_groups`]) so a document costs one X25519 per
//! recipient key instead of one per group per key (issue 7).

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::CryptoError;

/// An age X25519 recipient (public key) to seal to.
pub type Recipient = age::x25519::Recipient;

/// Largest plaintext of one group, in bytes (1 MiB). The hub's request
/// limits are far below this; it bounds what `open` will accept too.
pub const MAX_PLAINTEXT: usize = 1 << 20;

/// One field of a group, in plaintext.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct PlainField {
    /// Field key from the catalogue, e.g. `postcode`.
    pub key: String,
    /// Field value as text.
    pub value: String,
}

/// One group in plaintext: what is sealed, and what [`open`] returns. The
/// JSON form is `{"group":…,"fields":[{"key":…,"value":…},…]}` (the API's
/// `SealedGroup` contract). Zeroized on drop; `Debug` shows no values.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
pub struct GroupPlaintext {
    /// Group name, e.g. `contact.youth` or `meta.justifications`.
    pub group: String,
    /// The fields, in the order they were submitted.
    pub fields: Vec<PlainField>,
}

impl std::fmt::Debug for GroupPlaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupPlaintext")
            .field("group", &self.group)
            .field(
                "keys",
                &self.fields.iter().map(|x| x.key.as_str()).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for PlainField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainField")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl GroupPlaintext {
    /// Bytes of the group before JSON escaping, with room for the syntax.
    fn raw_len(&self) -> usize {
        self.group.len()
            + 16
            + self
                .fields
                .iter()
                .map(|f| f.key.len() + f.value.len() + 24)
                .sum::<usize>()
    }
}

/// What a sealed unit belongs to, sealed inside it with the groups (issue
/// 14): the record (transfer or expertise request) it was sealed for, the
/// purpose, the addressee and the group names. The database keeps the same
/// facts in clear beside the ciphertext, where someone who can edit it could
/// move a unit to another record; a receiver that checks the binding it
/// opened against the record it asked for notices. Content-free: ids and
/// names only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealBinding {
    /// The transfer or expertise request id.
    pub record: String,
    /// The purpose every group of the unit is bound to.
    pub purpose: String,
    /// The addressee, `<OIN>/<function>`.
    pub recipient: String,
    /// The group names, in order.
    pub groups: Vec<String>,
}

/// Several groups in one sealed unit: the JSON `{"groups":[<group>,…]}`,
/// each `<group>` in the one-group form, with `"binding"` when sealed with
/// one ([`seal_bound`]). Borrowed for sealing, so the plaintext is not
/// copied.
#[derive(Serialize)]
struct BundleRef<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    binding: Option<&'a SealBinding>,
    groups: &'a [GroupPlaintext],
}

/// The owned form of [`BundleRef`] when opening; zeroized on drop.
#[derive(Deserialize, Zeroize, ZeroizeOnDrop)]
#[serde(deny_unknown_fields)]
struct Bundle {
    #[zeroize(skip)]
    #[serde(default)]
    binding: Option<SealBinding>,
    groups: Vec<GroupPlaintext>,
}

/// A unit opened by [`open_bound`]: its groups and the binding sealed with
/// them (none for a unit sealed without one, by an older hub).
pub struct OpenedUnit {
    /// The groups, in order.
    pub groups: Vec<GroupPlaintext>,
    /// What the unit was sealed for.
    pub binding: Option<SealBinding>,
}

/// `value` as JSON, in a buffer sized up front from `raw` (so no
/// reallocation leaves a copy behind) and zeroized on drop.
fn to_json(value: &impl Serialize, raw: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if raw > MAX_PLAINTEXT {
        return Err(CryptoError::TooLarge);
    }
    // Upper bound: JSON escaping at most sextuples a byte (\u00XX).
    let mut buf = Zeroizing::new(Vec::with_capacity(raw * 6 + 32));
    serde_json::to_writer(&mut *buf, value).map_err(|_| CryptoError::Seal)?;
    Ok(buf)
}

/// Parses an age X25519 recipient (`age1…`).
pub fn parse_recipient(s: &str) -> Result<Recipient, CryptoError> {
    s.trim().parse().map_err(|_| CryptoError::InvalidRecipient)
}

/// Parses the content of an age identity file: every `AGE-SECRET-KEY-1…`
/// line; blank lines and `#` comments are skipped. Fails when a line is
/// neither, or when there is no identity at all.
pub fn parse_identities(text: &str) -> Result<Vec<age::x25519::Identity>, CryptoError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.push(line.parse().map_err(|_| CryptoError::InvalidIdentity)?);
    }
    if out.is_empty() {
        return Err(CryptoError::InvalidIdentity);
    }
    Ok(out)
}

/// Seals `plain` to every key in `recipients` in one age file (binary, not
/// armored). Anyone holding one of the matching identities can open it;
/// nobody else, the hub included.
pub fn seal(plain: &GroupPlaintext, recipients: &[&Recipient]) -> Result<Vec<u8>, CryptoError> {
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    encrypt(&to_json(plain, plain.raw_len())?, recipients)
}

/// Seals `groups` — all bound to one purpose, for the same keys — as one
/// unit: one age file, so one X25519 per recipient key whatever the number
/// of groups. One group is sealed exactly as [`seal`] does; several as the
/// JSON `{"groups":[…]}`. [`open_groups`] reverses it.
pub fn seal_groups(groups: &[GroupPlaintext], recipients: &[&Recipient]) -> Result<Vec<u8>, CryptoError> {
    match groups {
        [] => Err(CryptoError::Seal),
        [one] => seal(one, recipients),
        several => {
            if recipients.is_empty() {
                return Err(CryptoError::NoRecipients);
            }
            let raw = 16 + several.iter().map(GroupPlaintext::raw_len).sum::<usize>();
            let bundle = BundleRef {
                binding: None,
                groups: several,
            };
            encrypt(&to_json(&bundle, raw)?, recipients)
        }
    }
}

/// Seals `groups` (all bound to one purpose) as one unit with `binding`
/// inside: always the `{"binding":…,"groups":[…]}` form, whatever the
/// number of groups. [`open_bound`] reverses it.
pub fn seal_bound(
    groups: &[GroupPlaintext],
    binding: &SealBinding,
    recipients: &[&Recipient],
) -> Result<Vec<u8>, CryptoError> {
    if groups.is_empty() {
        return Err(CryptoError::Seal);
    }
    if recipients.is_empty() {
        return Err(CryptoError::NoRecipients);
    }
    let raw = 64
        + binding.record.len()
        + binding.purpose.len()
        + binding.recipient.len()
        + binding.groups.iter().map(|g| g.len() + 4).sum::<usize>()
        + groups.iter().map(GroupPlaintext::raw_len).sum::<usize>();
    let bundle = BundleRef {
        binding: Some(binding),
        groups,
    };
    encrypt(&to_json(&bundle, raw)?, recipients)
}

/// Opens a unit sealed by [`seal_bound`] — or, from an older hub, by
/// [`seal_groups`] (then without a binding) — that the hub announced as
/// holding `count` groups. Checking the binding against the record asked
/// for is the caller's part.
pub fn open_bound(
    ciphertext: &[u8],
    identities: &[age::x25519::Identity],
    count: usize,
) -> Result<OpenedUnit, CryptoError> {
    let json = decrypt(ciphertext, identities)?;
    let mut bundle: Bundle = match serde_json::from_slice(&json) {
        Ok(b) => b,
        // The one-group form of [`seal`] (and of older units).
        Err(_) if count <= 1 => {
            let one: GroupPlaintext = serde_json::from_slice(&json).map_err(|_| CryptoError::BadPlaintext)?;
            return Ok(OpenedUnit {
                groups: vec![one],
                binding: None,
            });
        }
        Err(_) => return Err(CryptoError::BadPlaintext),
    };
    if bundle.groups.len() != count.max(1) {
        return Err(CryptoError::BadPlaintext);
    }
    Ok(OpenedUnit {
        groups: std::mem::take(&mut bundle.groups),
        binding: bundle.binding.take(),
    })
}

/// The age file of `json` to every key in `recipients`.
fn encrypt(json: &[u8], recipients: &[&Recipient]) -> Result<Vec<u8>, CryptoError> {
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| *r as &dyn age::Recipient))
        .map_err(|_| CryptoError::Seal)?;
    // Header (~ 100 bytes per recipient) + payload (16-byte tag per 64 KiB chunk).
    let mut out =
        Vec::with_capacity(json.len() + 64 + 128 * recipients.len() + 16 * (json.len() / 65536 + 1));
    let mut writer = encryptor.wrap_output(&mut out).map_err(|_| CryptoError::Seal)?;
    writer.write_all(json).map_err(|_| CryptoError::Seal)?;
    writer.finish().map_err(|_| CryptoError::Seal)?;
    Ok(out)
}

/// Opens one group sealed by [`seal`], or by [`seal_bound`] as a unit of
/// one group (its binding is dropped), with any of `identities`.
pub fn open(ciphertext: &[u8], identities: &[age::x25519::Identity]) -> Result<GroupPlaintext, CryptoError> {
    let mut unit = open_bound(ciphertext, identities, 1)?;
    unit.groups.pop().ok_or(CryptoError::BadPlaintext)
}

/// Opens a unit sealed by [`seal_groups`] or [`seal_bound`] that the hub
/// announced as holding `count` groups: one group in the one-group form,
/// several (or a bound unit) in the `{"groups":[…]}` form. Fails with
/// [`CryptoError::BadPlaintext`] when the content does not hold exactly
/// `count` groups; checking their names against the announcement is the
/// caller's part. The binding, if any, is dropped: use [`open_bound`] to
/// check it.
pub fn open_groups(
    ciphertext: &[u8],
    identities: &[age::x25519::Identity],
    count: usize,
) -> Result<Vec<GroupPlaintext>, CryptoError> {
    open_bound(ciphertext, identities, count).map(|mut u| std::mem::take(&mut u.groups))
}

/// The plaintext bytes of an age file (zeroized on drop).
fn decrypt(
    ciphertext: &[u8],
    identities: &[age::x25519::Identity],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let decryptor = age::Decryptor::new_buffered(ciphertext).map_err(|_| CryptoError::Corrupt)?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => CryptoError::NoMatchingIdentity,
            _ => CryptoError::Corrupt,
        })?;
    let mut json = Zeroizing::new(Vec::with_capacity(ciphertext.len()));
    (&mut reader)
        .take(MAX_PLAINTEXT as u64 * 6 + 33)
        .read_to_end(&mut json)
        .map_err(|_| CryptoError::Corrupt)?;
    Ok(json)
}
