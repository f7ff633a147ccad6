//! The pure core of schakel's audit log: what an entry is, its canonical bytes,
//! the RFC 9162 Merkle tree over them, signed checkpoints, and a verifier.
//!
//! This crate does no I/O and depends on no other schakel crate, no async runtime
//! and no database driver, so a privacy officer (or anyone they trust) can build
//! it alone and verify an exported log against checkpoints they kept
//! (DESIGN.md §4, property 4 of §7).
//!
//! - [`Entry`] and its canonical encoding ([`Entry::encode`], [`Entry::decode`]);
//!   entries never hold a BSN, a name or document content.
//! - [`leaf_hash`], [`node_hash`], [`root`], [`CompactRange`], inclusion and
//!   consistency proofs and their verification, exactly as RFC 9162 §2.1;
//!   [`NodeId`] and its helpers say which stored subtree hashes a proof or an
//!   append needs ([`range_nodes`], [`nodes_completed_by`]).
//! - [`Checkpoint`]s in the C2SP `tlog-checkpoint` format, signed as C2SP
//!   `signed-note`s with Ed25519 ([`Signer`], [`Verifier`]).
//! - [`LogVerifier`] and [`verify_log`], which name the first bad position.
//! - [`RowCommitment`]: what an entry says the rows it wrote look like, so a
//!   row changed outside the hub is noticed when it is read.
//! - [`LeafKey`]: the codes with which hubs authenticate the entries they
//!   append, checked before a checkpoint covers them.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod checkpoint;
mod checkpoint_log;
mod encoding;
mod entry;
mod error;
mod leaf_auth;
mod merkle;
mod note;
mod row;
mod verify;

pub use checkpoint::Checkpoint;
pub use checkpoint_log::{CheckpointLogError, checkpoint_log_line, parse_checkpoint_log};
pub use encoding::ENCODING_VERSION;
pub use entry::{
    Action, Actor, Entry, FLAG_HARDHEIDSCLAUSULE, OtherAction, Outcome, ProcessingActivity, SpanId,
    TraceContext, TraceId,
};
pub use error::{AuditError, Result};
pub use leaf_auth::LeafKey;
pub use merkle::{
    CompactRange, EMPTY_ROOT, Hash, NodeId, complete_nodes, consistency_proof, consistency_proof_ranges,
    fold_range, inclusion_proof, inclusion_proof_ranges, leaf_hash, left_siblings, node_hash,
    nodes_completed_by, range_nodes, root, verify_consistency, verify_inclusion,
};
pub use note::{Signer, Verifier};
pub use row::{RowCommitment, RowTable};
pub use verify::{LogVerifier, VerifyConfig, VerifyReport, verify_log};
