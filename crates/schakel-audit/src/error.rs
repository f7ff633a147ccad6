//! The crate's one error type.

use thiserror::Error;

/// Everything that can go wrong in this crate.
///
/// The variants fall in four groups: encoding (an entry that is not valid or not
/// canonical), proofs, signed notes and checkpoints, and log verification. The
/// verification variants name the first bad position (a 0-based leaf index) so an
/// auditor can go and look at it. Messages never include entry content.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AuditError {
    // ---- entries and their canonical encoding ----
    /// A field of an entry breaks its rule (format, length, order).
    #[error("invalid entry field {field}: {reason}")]
    InvalidField {
        /// The field path, e.g. `actor.oin`.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The encoded bytes are not a canonical encoding of an entry.
    #[error("malformed entry encoding at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset where decoding stopped.
        offset: usize,
        /// What was wrong there.
        reason: &'static str,
    },
    /// The encoding starts with a version this crate does not know.
    #[error("unknown entry encoding version {0}")]
    UnknownVersion(u8),

    // ---- Merkle proofs ----
    /// A leaf index or tree size is outside the tree.
    #[error("index {index} is out of range for tree size {size}")]
    OutOfRange {
        /// The requested index or size.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A proof does not prove what it claims.
    #[error("proof does not verify: {0}")]
    InvalidProof(&'static str),
    /// Stored subtree hashes do not fit the tree size.
    #[error("compact range for size {size} needs {expected} hashes, got {found}")]
    BadCompactRange {
        /// The tree size.
        size: u64,
        /// Number of hashes a compact range of that size has.
        expected: usize,
        /// Number of hashes given.
        found: usize,
    },
    /// A leaf range is not made of complete, aligned subtrees (see
    /// `range_nodes`): no proof planner asks for it.
    #[error("leaves {start}..{end} are not complete aligned subtrees")]
    NotASubtree {
        /// First leaf of the range.
        start: u64,
        /// End of the range (exclusive).
        end: u64,
    },

    // ---- signed notes and checkpoints ----
    /// A verifier key string or signer key name is malformed.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// A signed note is malformed.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// The note carries no signature by the expected key.
    #[error("note has no signature by the expected key")]
    UnknownSigner,
    /// A signature by the expected key does not verify.
    #[error("note signature does not verify")]
    BadSignature,
    /// The note text is not a well-formed checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// The checkpoint's origin is not the verifier key's name.
    #[error("checkpoint origin does not match the key name")]
    OriginMismatch,

    // ---- log verification ----
    /// The entry at `position` does not decode.
    #[error("entry at position {position} does not decode: {reason}")]
    Undecodable {
        /// Leaf index of the entry.
        position: u64,
        /// Why decoding failed.
        reason: Box<AuditError>,
    },
    /// The entry at `position` carries another sequence number: an entry was
    /// removed, inserted or moved there.
    #[error("sequence gap at position {position}: expected {expected}, found {found}")]
    SequenceGap {
        /// Leaf index of the entry.
        position: u64,
        /// The sequence number it should carry (its position).
        expected: u64,
        /// The sequence number it carries.
        found: u64,
    },
    /// Time went backwards by more than the configured tolerance.
    #[error("time at position {position} is {by_ms} ms before the previous entry")]
    TimeRegression {
        /// Leaf index of the entry.
        position: u64,
        /// How far back, in milliseconds.
        by_ms: u64,
    },
    /// The entry at `position` does not hash to the leaf hash the store kept for
    /// it, and the stored leaf hashes are proven by a checkpoint: this entry was
    /// changed.
    #[error("entry at position {position} was modified")]
    EntryModified {
        /// Leaf index of the entry.
        position: u64,
    },
    /// The root over the first `size` entries is not the checkpoint's root.
    /// Something in positions `after..size` was changed (or the checkpoint was
    /// signed over another log).
    #[error("root mismatch at size {size}: an entry in positions {after}..{size} differs")]
    RootMismatch {
        /// Checkpoint size at which the mismatch showed.
        size: u64,
        /// Size of the last checkpoint that matched (0 if none): the first bad
        /// entry is at or after this position.
        after: u64,
    },
    /// The stored leaf hash at `position` differs from the recomputed one, but the
    /// stored hashes are not proven by a checkpoint (yet).
    #[error("stored leaf hash differs at position {position}")]
    LeafHashMismatch {
        /// Leaf index of the entry.
        position: u64,
    },
    /// A stored subtree hash (the store keeps one per complete, aligned
    /// subtree, to serve proofs) is not the hash of the entries it covers,
    /// positions `index << level .. (index + 1) << level`; or the log has no
    /// such subtree. The node was changed, or added.
    #[error(
        "stored subtree hash at level {level}, index {index} (positions {start}..{end}) does not match the entries",
        start = (*.index as u128) << *.level,
        end = ((*.index as u128) + 1) << *.level
    )]
    NodeMismatch {
        /// Height of the subtree (2^level entries).
        level: u8,
        /// Its position among the subtrees of that height.
        index: u64,
    },
    /// The query columns stored beside the entry at `position` (who acted,
    /// what, about whom, the organisations party to it) are not the ones its
    /// bytes say. They decide which privacy officer sees the entry, so one
    /// that was changed, removed or added hides an entry or shows it to
    /// another organisation.
    #[error("the query columns of the entry at position {position} do not match it ({column})")]
    IndexMismatch {
        /// Leaf index of the entry.
        position: u64,
        /// Which column (or `parties`) differs.
        column: &'static str,
    },
    /// The entry at `position`, which no checkpoint covers yet, carries no
    /// valid authentication code of a hub of this log: it was written,
    /// changed or moved outside a hub. A hub refuses to sign over it.
    #[error(
        "the entry at position {position} was not appended by a hub of this log (no valid authentication code)"
    )]
    Unauthenticated {
        /// Leaf index of the entry.
        position: u64,
    },
    /// A stored consent, transfer or expertise request is not what the
    /// latest entry that wrote it (at `position`) commits to, or no entry
    /// wrote it (`position` absent): the row was changed, or added, outside a
    /// hub. The id is the row's own (a transfer id), never personal data.
    #[error("{}", row_mismatch(table, id, *position))]
    RowMismatch {
        /// `consent`, `transfer` or `expertise`.
        table: &'static str,
        /// The row's id.
        id: uuid::Uuid,
        /// The entry it was compared with.
        position: Option<u64>,
    },
    /// The log ends before the checkpoint's size: entries were removed from the tail.
    #[error("log truncated: checkpoint covers {expected} entries, log has {found}")]
    Truncated {
        /// The checkpoint size.
        expected: u64,
        /// Entries present.
        found: u64,
    },
    /// The store recorded more appended entries than the log holds: entries
    /// were removed from a tail no checkpoint covers yet.
    #[error("log shortened: {recorded} entries were appended, {found} remain")]
    Shortened {
        /// Entries the store says were appended.
        recorded: u64,
        /// Entries present.
        found: u64,
    },
    /// A checkpoint cannot be checked in this run because it lies before the
    /// first entry given.
    #[error("checkpoint at size {size} lies before the verified range starting at {start}")]
    CheckpointOutsideRange {
        /// The checkpoint size.
        size: u64,
        /// First position of the range.
        start: u64,
    },
}

fn row_mismatch(table: &str, id: &uuid::Uuid, position: Option<u64>) -> String {
    match position {
        Some(p) => format!("stored {table} {id} does not match the entry at position {p} that last wrote it"),
        None => format!("stored {table} {id} has no entry that wrote it"),
    }
}

/// Result with [`AuditError`].
pub type Result<T, E = AuditError> = std::result::Result<T, E>;
