//! Row commitments: what an entry says the rows it wrote look like afterwards.
//!
//! The audit log proves which actions happened; the exchange's own tables
//! (consents, transfers, expertise requests and their sealed units) hold the
//! state those actions left. An entry of an action that writes such a row
//! carries one [`RowCommitment`] per row: the row's table and id, a digest of
//! its clear metadata (parties, purpose, groups, state, dates) and a digest of
//! its sealed units' ciphertext. A reader that finds a row different from the
//! commitment of the latest entry that wrote it knows the row was changed
//! outside the hub (issue 14).
//!
//! The digests are computed by the store, which owns the row layout; this
//! crate only carries them. They are SHA-256 over pseudonyms, codes, dates and
//! ciphertext — never over a BSN or plaintext — so a commitment is as
//! content-free as the rest of the entry.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::merkle::Hash;

/// The table a committed row lives in, as a one-byte code in the canonical
/// encoding. Codes this version does not name still decode, so an older
/// verifier reads a newer log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RowTable(u8);

impl RowTable {
    /// A consent record (`consents`).
    pub const CONSENT: RowTable = RowTable(1);
    /// A transfer with its sealed units (`transfers`, `transfer_groups`).
    pub const TRANSFER: RowTable = RowTable(2);
    /// An expertise request with its advice and sealed units
    /// (`expertise_requests`, `expertise_groups`).
    pub const EXPERTISE: RowTable = RowTable(3);
    /// An age recipient key of a function (`recipient_keys`): what the hub
    /// seals case data to.
    pub const RECIPIENT_KEY: RowTable = RowTable(4);
    /// A gemeente's hardheidsclausule decision (`hardheidsclausule_decisions`,
    /// R2), with its sealed justification.
    pub const HARDHEIDSCLAUSULE: RowTable = RowTable(5);
    /// A gemeente's mandate of a task to another organisation (`mandates`,
    /// R9): where the hub delivers that task's data.
    pub const MANDATE: RowTable = RowTable(6);

    /// The code as stored; never 0.
    pub fn code(self) -> u8 {
        self.0
    }

    /// The table for a code; `None` for 0, which no table has.
    pub fn from_code(code: u8) -> Option<Self> {
        (code != 0).then_some(Self(code))
    }

    /// The name of a table this version knows, as the store's index column
    /// holds it (`transfer`).
    pub fn known_name(self) -> Option<&'static str> {
        match self {
            Self::CONSENT => Some("consent"),
            Self::TRANSFER => Some("transfer"),
            Self::EXPERTISE => Some("expertise"),
            Self::RECIPIENT_KEY => Some("recipient_key"),
            Self::HARDHEIDSCLAUSULE => Some("hardheidsclausule"),
            Self::MANDATE => Some("mandate"),
            _ => None,
        }
    }

    /// The table's name; an unnamed code shows as `table_<code>`.
    pub fn name(self) -> String {
        self.known_name()
            .map_or_else(|| format!("table_{}", self.0), str::to_owned)
    }
}

impl fmt::Display for RowTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

/// One row as the action that wrote it left it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowCommitment {
    /// The table.
    pub table: RowTable,
    /// The row's id (transfer, consent or request id).
    pub id: Uuid,
    /// Digest of the row's clear metadata.
    #[serde(with = "hex_hash")]
    pub meta: Hash,
    /// Digest of the row's sealed units (their names, purpose, keys and
    /// ciphertext), in order; the digest of no units for a row without any.
    #[serde(with = "hex_hash")]
    pub units: Hash,
}

impl RowCommitment {
    /// The order of commitments in an entry: by table, then id.
    pub(crate) fn key(&self) -> (RowTable, Uuid) {
        (self.table, self.id)
    }
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::merkle::Hash;

    pub(super) fn serialize<S: Serializer>(h: &Hash, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(h))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Hash, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let mut h = [0u8; 32];
        hex::decode_to_slice(text.as_bytes(), &mut h).map_err(serde::de::Error::custom)?;
        Ok(h)
    }
}
