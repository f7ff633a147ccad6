//! Checking what the hub's AuditService answers, without trusting the hub:
//! a checkpoint's signed note against a verifier key the privacy officer
//! pinned, and inclusion and consistency proofs against such a checkpoint.
//!
//! Pure functions over the proto answers; the caller makes the calls. The
//! hashing and proof verification are [`schakel_audit`]'s (RFC 9162), so an
//! auditor reads one implementation.
//!
//! What an inclusion proof proves: the entry's *leaf hash* is at its
//! position in the signed tree. The displayed fields of an
//! [`pb::AuditEntry`] cannot be hashed again here (the answer leaves out
//! details of other organisations that the canonical entry holds), so they
//! are bound to the proof only by the hub's word; an operator re-verifies
//! the entries themselves with the database (`schakel audit verify
//! --database`).

use schakel_audit::{AuditError, Checkpoint, Hash, Verifier, verify_consistency, verify_inclusion};
use schakel_proto::v1 as pb;

/// Why an answer of the hub does not prove what it should.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The answer carries no checkpoint.
    #[error("the answer carries no checkpoint")]
    NoCheckpoint,
    /// The signed note does not open with the verifier key (bad or missing
    /// signature, another key, malformed note or checkpoint body).
    #[error("{0}")]
    Note(AuditError),
    /// A field the hub sent beside the note disagrees with the signed note.
    #[error("the checkpoint's {0} differs from its signed note")]
    CheckpointField(&'static str),
    /// A proof is for another tree size than the one asked for.
    #[error("the {what} is for tree size {found}, expected {expected}")]
    WrongSize {
        /// Which size (`proof`, `first size`, `second size`).
        what: &'static str,
        /// The size the check needs.
        expected: u64,
        /// The size the answer names.
        found: u64,
    },
    /// An inclusion proof is for another position than the entry asked for.
    #[error("the proof is for leaf index {found}, expected {expected}")]
    WrongIndex {
        /// The entry's sequence number.
        expected: u64,
        /// The leaf index the answer names.
        found: u64,
    },
    /// The inclusion proof answer carries no entry.
    #[error("the answer carries no entry")]
    NoEntry,
    /// The entry proved carries another sequence number than its leaf index.
    #[error("the entry proved carries sequence {found}, not {expected}")]
    EntryMismatch {
        /// The sequence number asked for.
        expected: u64,
        /// The one the entry carries.
        found: u64,
    },
    /// A hash is not 32 bytes.
    #[error("{0} is not a 32-byte SHA-256 hash")]
    BadHash(&'static str),
    /// The hub gave this entry another leaf hash before (in a query).
    #[error("the leaf hash differs from the one the hub listed for this entry")]
    LeafHashChanged,
    /// A checkpoint of the proof's size that the hub sent along has another
    /// root than the trusted one: the hub signed two different trees.
    #[error("the hub sent another checkpoint of size {0} with a different root")]
    ConflictingCheckpoint(u64),
    /// The two checkpoints are not of the same log.
    #[error("the checkpoints are of different logs (origin {0:?} and {1:?})")]
    OriginMismatch(String, String),
    /// The proof hashes do not lead to the root(s).
    #[error("{0}")]
    Proof(AuditError),
}

fn hash(bytes: &[u8], what: &'static str) -> Result<Hash, ProofError> {
    bytes.try_into().map_err(|_| ProofError::BadHash(what))
}

fn hashes(all: &[Vec<u8>]) -> Result<Vec<Hash>, ProofError> {
    all.iter().map(|h| hash(h, "a proof hash")).collect()
}

/// Opens a checkpoint the hub sent: checks the signed note with `verifier`
/// (the key must have signed it and its name must be the log's origin),
/// parses it, and checks that the fields sent beside the note say the same.
/// Returns the checkpoint as the *note* states it.
pub fn open_checkpoint(checkpoint: &pb::Checkpoint, verifier: &Verifier) -> Result<Checkpoint, ProofError> {
    let opened = Checkpoint::open(&checkpoint.note, verifier).map_err(ProofError::Note)?;
    if checkpoint.origin != opened.origin {
        return Err(ProofError::CheckpointField("origin"));
    }
    if checkpoint.tree_size != opened.size {
        return Err(ProofError::CheckpointField("tree size"));
    }
    if checkpoint.root_hash.as_slice() != opened.root.as_slice() {
        return Err(ProofError::CheckpointField("root hash"));
    }
    Ok(opened)
}

/// Like [`open_checkpoint`] for an optional field of an answer.
pub fn open_optional_checkpoint(
    checkpoint: Option<&pb::Checkpoint>,
    verifier: &Verifier,
) -> Result<Checkpoint, ProofError> {
    open_checkpoint(checkpoint.ok_or(ProofError::NoCheckpoint)?, verifier)
}

/// A checkpoint sent along with a proof must not contradict the trusted one
/// of the same size (its signature is not needed for that: the trusted one
/// is already checked, and any other root of that size is a fork).
fn no_conflict(sent: Option<&pb::Checkpoint>, trusted: &Checkpoint) -> Result<(), ProofError> {
    match sent {
        Some(c) if c.tree_size == trusted.size && c.root_hash.as_slice() != trusted.root.as_slice() => {
            Err(ProofError::ConflictingCheckpoint(trusted.size))
        }
        _ => Ok(()),
    }
}

/// Checks a `GetInclusionProof` answer for entry `sequence` against the
/// trusted checkpoint (already opened with [`open_checkpoint`]): the proof is
/// for that entry and that tree size, and the entry's leaf hash leads to the
/// checkpoint's root. `listed_leaf` is the leaf hash an earlier answer (a
/// query) gave for the entry, if any: it must be the same.
pub fn check_inclusion(
    answer: &pb::GetInclusionProofResponse,
    trusted: &Checkpoint,
    sequence: u64,
    listed_leaf: Option<&[u8]>,
) -> Result<(), ProofError> {
    if answer.tree_size != trusted.size {
        return Err(ProofError::WrongSize {
            what: "proof",
            expected: trusted.size,
            found: answer.tree_size,
        });
    }
    if answer.leaf_index != sequence {
        return Err(ProofError::WrongIndex {
            expected: sequence,
            found: answer.leaf_index,
        });
    }
    let entry = answer.entry.as_ref().ok_or(ProofError::NoEntry)?;
    if entry.sequence != sequence {
        return Err(ProofError::EntryMismatch {
            expected: sequence,
            found: entry.sequence,
        });
    }
    let leaf = hash(&entry.leaf_hash, "the entry's leaf hash")?;
    if listed_leaf.is_some_and(|l| l != leaf.as_slice()) {
        return Err(ProofError::LeafHashChanged);
    }
    no_conflict(answer.checkpoint.as_ref(), trusted)?;
    verify_inclusion(
        &leaf,
        sequence,
        trusted.size,
        &hashes(&answer.hashes)?,
        &trusted.root,
    )
    .map_err(ProofError::Proof)
}

/// Checks a `GetConsistencyProof` answer: the log at `new` (trusted, e.g. a
/// fresh checkpoint) extends the log at `old` (e.g. a checkpoint the officer
/// saved earlier): nothing was changed, removed or reordered in between.
pub fn check_consistency(
    answer: &pb::GetConsistencyProofResponse,
    old: &Checkpoint,
    new: &Checkpoint,
) -> Result<(), ProofError> {
    if old.origin != new.origin {
        return Err(ProofError::OriginMismatch(old.origin.clone(), new.origin.clone()));
    }
    if answer.first_size != old.size {
        return Err(ProofError::WrongSize {
            what: "first size",
            expected: old.size,
            found: answer.first_size,
        });
    }
    if answer.second_size != new.size {
        return Err(ProofError::WrongSize {
            what: "second size",
            expected: new.size,
            found: answer.second_size,
        });
    }
    no_conflict(answer.checkpoint.as_ref(), new)?;
    verify_consistency(old.size, new.size, &old.root, &new.root, &hashes(&answer.hashes)?)
        .map_err(ProofError::Proof)
}

#[cfg(test)]
mod tests {
    use schakel_audit::{Signer, consistency_proof, inclusion_proof, leaf_hash, root};

    use super::*;

    const ORIGIN: &str = "schakel.test/log";

    fn signer() -> Signer {
        Signer::from_seed(ORIGIN, &[7; 32]).unwrap()
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("entry {i}").as_bytes()))
            .collect()
    }

    /// The signed checkpoint over the first `size` leaves, as the hub sends it.
    fn checkpoint(leaves: &[Hash], size: u64) -> pb::Checkpoint {
        let cp = Checkpoint::new(ORIGIN, size, root(&leaves[..size as usize]));
        pb::Checkpoint {
            note: signer().sign(&cp).unwrap(),
            origin: ORIGIN.into(),
            tree_size: size,
            root_hash: cp.root.to_vec(),
            time: None,
        }
    }

    fn inclusion(leaves: &[Hash], index: u64) -> pb::GetInclusionProofResponse {
        pb::GetInclusionProofResponse {
            entry: Some(pb::AuditEntry {
                sequence: index,
                leaf_hash: leaves[index as usize].to_vec(),
                ..Default::default()
            }),
            leaf_index: index,
            tree_size: leaves.len() as u64,
            hashes: inclusion_proof(leaves, index)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect(),
            checkpoint: None,
        }
    }

    fn trusted(leaves: &[Hash]) -> Checkpoint {
        open_checkpoint(&checkpoint(leaves, leaves.len() as u64), &signer().verifier()).unwrap()
    }

    #[test]
    fn a_signed_checkpoint_opens_with_its_key() {
        let l = leaves(7);
        let cp = open_checkpoint(&checkpoint(&l, 7), &signer().verifier()).unwrap();
        assert_eq!((cp.origin.as_str(), cp.size, cp.root), (ORIGIN, 7, root(&l)));
    }

    #[test]
    fn a_checkpoint_signed_by_another_key_is_refused() {
        let other = Signer::from_seed(ORIGIN, &[8; 32]).unwrap().verifier();
        let e = open_checkpoint(&checkpoint(&leaves(3), 3), &other).unwrap_err();
        assert!(matches!(e, ProofError::Note(AuditError::UnknownSigner)), "{e}");
    }

    #[test]
    fn a_tampered_note_is_refused() {
        let mut cp = checkpoint(&leaves(3), 3);
        cp.note = cp.note.replacen("\n3\n", "\n4\n", 1);
        cp.tree_size = 4;
        let e = open_checkpoint(&cp, &signer().verifier()).unwrap_err();
        assert!(matches!(e, ProofError::Note(AuditError::BadSignature)), "{e}");
    }

    #[test]
    fn fields_beside_the_note_must_agree_with_it() {
        let l = leaves(5);
        let v = signer().verifier();
        let mut cp = checkpoint(&l, 5);
        cp.tree_size = 6;
        assert_eq!(
            open_checkpoint(&cp, &v),
            Err(ProofError::CheckpointField("tree size"))
        );
        let mut cp = checkpoint(&l, 5);
        cp.root_hash[0] ^= 1;
        assert_eq!(
            open_checkpoint(&cp, &v),
            Err(ProofError::CheckpointField("root hash"))
        );
        let mut cp = checkpoint(&l, 5);
        cp.origin = "other/log".into();
        assert_eq!(
            open_checkpoint(&cp, &v),
            Err(ProofError::CheckpointField("origin"))
        );
        assert_eq!(open_optional_checkpoint(None, &v), Err(ProofError::NoCheckpoint));
    }

    #[test]
    fn every_leaf_of_trees_of_every_small_size_proves() {
        for n in 1..=17 {
            let l = leaves(n);
            let t = trusted(&l);
            for i in 0..n {
                let listed = l[i as usize];
                check_inclusion(&inclusion(&l, i), &t, i, Some(&listed))
                    .unwrap_or_else(|e| panic!("size {n} index {i}: {e}"));
            }
        }
    }

    #[test]
    fn a_wrong_leaf_hash_is_refused() {
        let l = leaves(11);
        let t = trusted(&l);
        let mut a = inclusion(&l, 6);
        if let Some(e) = &mut a.entry {
            e.leaf_hash[31] ^= 1;
        }
        assert!(matches!(
            check_inclusion(&a, &t, 6, None),
            Err(ProofError::Proof(_))
        ));
        // The same entry with the hash of its neighbour.
        let mut a = inclusion(&l, 6);
        if let Some(e) = &mut a.entry {
            e.leaf_hash = l[7].to_vec();
        }
        assert!(matches!(
            check_inclusion(&a, &t, 6, None),
            Err(ProofError::Proof(_))
        ));
    }

    #[test]
    fn a_wrong_proof_hash_is_refused() {
        let l = leaves(11);
        let t = trusted(&l);
        let mut a = inclusion(&l, 3);
        a.hashes[1][0] ^= 0x80;
        assert!(matches!(
            check_inclusion(&a, &t, 3, None),
            Err(ProofError::Proof(_))
        ));
        let mut a = inclusion(&l, 3);
        a.hashes.pop();
        assert!(matches!(
            check_inclusion(&a, &t, 3, None),
            Err(ProofError::Proof(_))
        ));
        let mut a = inclusion(&l, 3);
        a.hashes[0].pop();
        assert_eq!(
            check_inclusion(&a, &t, 3, None),
            Err(ProofError::BadHash("a proof hash"))
        );
    }

    #[test]
    fn a_proof_for_another_index_is_refused() {
        let l = leaves(11);
        let t = trusted(&l);
        // The hub answers with entry 4's proof when asked for 5.
        assert_eq!(
            check_inclusion(&inclusion(&l, 4), &t, 5, None),
            Err(ProofError::WrongIndex {
                expected: 5,
                found: 4
            })
        );
        // Index relabelled, proof of 4 kept: the path does not fit.
        let mut a = inclusion(&l, 4);
        a.leaf_index = 5;
        if let Some(e) = &mut a.entry {
            e.sequence = 5;
        }
        assert!(matches!(
            check_inclusion(&a, &t, 5, None),
            Err(ProofError::Proof(_))
        ));
        // Entry and index disagree.
        let mut a = inclusion(&l, 4);
        if let Some(e) = &mut a.entry {
            e.sequence = 9;
        }
        assert_eq!(
            check_inclusion(&a, &t, 4, None),
            Err(ProofError::EntryMismatch {
                expected: 4,
                found: 9
            })
        );
    }

    #[test]
    fn a_proof_for_another_tree_size_is_refused() {
        let l = leaves(11);
        let t = trusted(&l);
        // A valid proof in the tree of 10, claimed for the trusted 11.
        let smaller = inclusion(&l[..10], 2);
        assert_eq!(
            check_inclusion(&smaller, &t, 2, None),
            Err(ProofError::WrongSize {
                what: "proof",
                expected: 11,
                found: 10
            })
        );
        let mut relabelled = smaller;
        relabelled.tree_size = 11;
        assert!(matches!(
            check_inclusion(&relabelled, &t, 2, None),
            Err(ProofError::Proof(_))
        ));
    }

    #[test]
    fn a_leaf_hash_other_than_the_listed_one_is_refused() {
        let l = leaves(4);
        let t = trusted(&l);
        assert_eq!(
            check_inclusion(&inclusion(&l, 1), &t, 1, Some(&l[2])),
            Err(ProofError::LeafHashChanged)
        );
    }

    #[test]
    fn a_conflicting_checkpoint_beside_the_proof_is_refused() {
        let l = leaves(6);
        let t = trusted(&l);
        let mut a = inclusion(&l, 0);
        let mut fork = checkpoint(&l, 6);
        fork.root_hash = [9; 32].to_vec();
        a.checkpoint = Some(fork);
        assert_eq!(
            check_inclusion(&a, &t, 0, None),
            Err(ProofError::ConflictingCheckpoint(6))
        );
    }

    fn consistency(l: &[Hash], old: u64) -> pb::GetConsistencyProofResponse {
        pb::GetConsistencyProofResponse {
            first_size: old,
            second_size: l.len() as u64,
            hashes: consistency_proof(l, old)
                .unwrap()
                .iter()
                .map(|h| h.to_vec())
                .collect(),
            checkpoint: None,
        }
    }

    #[test]
    fn consistency_between_every_pair_of_small_sizes_proves() {
        let l = leaves(13);
        let v = signer().verifier();
        for new in 1..=13u64 {
            let n = open_checkpoint(&checkpoint(&l, new), &v).unwrap();
            for old in 1..=new {
                let o = open_checkpoint(&checkpoint(&l, old), &v).unwrap();
                check_consistency(&consistency(&l[..new as usize], old), &o, &n)
                    .unwrap_or_else(|e| panic!("{old} -> {new}: {e}"));
            }
        }
    }

    #[test]
    fn a_rewritten_history_is_refused() {
        let l = leaves(9);
        let v = signer().verifier();
        let old = open_checkpoint(&checkpoint(&l, 5), &v).unwrap();
        // The log later signed by the hub has entry 2 changed.
        let mut changed = l.clone();
        changed[2] = leaf_hash(b"entry 2, edited");
        let new = open_checkpoint(&checkpoint(&changed, 9), &v).unwrap();
        assert!(matches!(
            check_consistency(&consistency(&changed, 5), &old, &new),
            Err(ProofError::Proof(_))
        ));
    }

    #[test]
    fn a_consistency_proof_between_other_sizes_is_refused() {
        let l = leaves(9);
        let v = signer().verifier();
        let old = open_checkpoint(&checkpoint(&l, 5), &v).unwrap();
        let new = open_checkpoint(&checkpoint(&l, 9), &v).unwrap();
        assert_eq!(
            check_consistency(&consistency(&l, 4), &old, &new),
            Err(ProofError::WrongSize {
                what: "first size",
                expected: 5,
                found: 4
            })
        );
        let mut a = consistency(&l, 4);
        a.first_size = 5;
        assert!(matches!(
            check_consistency(&a, &old, &new),
            Err(ProofError::Proof(_))
        ));
        assert_eq!(
            check_consistency(&consistency(&l[..8], 5), &old, &new),
            Err(ProofError::WrongSize {
                what: "second size",
                expected: 9,
                found: 8
            })
        );
        let mut a = consistency(&l, 5);
        a.hashes[0][5] ^= 1;
        assert!(matches!(
            check_consistency(&a, &old, &new),
            Err(ProofError::Proof(_))
        ));
    }

    #[test]
    fn checkpoints_of_another_log_are_refused() {
        let l = leaves(3);
        let mut other = Checkpoint::new("other.test/log", 2, root(&l[..2]));
        other.extensions.clear();
        let new = trusted(&l);
        assert!(matches!(
            check_consistency(&consistency(&l, 2), &other, &new),
            Err(ProofError::OriginMismatch(..))
        ));
    }
}
