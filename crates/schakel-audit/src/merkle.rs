//! The Merkle tree of RFC 9162 §2.1 (identical to RFC 6962 §2.1) over SHA-256.
//!
//! Leaves and interior nodes are hashed with different prefixes (0x00 and 0x01)
//! so a leaf can never be passed off as a node. The hub keeps only a
//! [`CompactRange`] in memory; proofs are planned as lists of index ranges
//! ([`inclusion_proof_ranges`], [`consistency_proof_ranges`]) whose subtree hashes
//! the store fetches or computes in whatever way suits it (it may be async), or
//! built directly from a slice of leaf hashes ([`inclusion_proof`],
//! [`consistency_proof`]).

use std::ops::Range;

use sha2::{Digest, Sha256};

use crate::error::{AuditError, Result};

/// A SHA-256 hash: a leaf hash, node hash or tree root.
pub type Hash = [u8; 32];

/// Root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27,
    0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Leaf hash: SHA-256(0x00 || data). `data` is an entry's canonical encoding.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// Interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// Root of the tree over `leaves` (leaf hashes), MTH in RFC 9162.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut range = CompactRange::new();
    for leaf in leaves {
        range.push(*leaf);
    }
    range.root()
}

/// The right edge of a tree: the roots of its perfect subtrees, largest (leftmost)
/// first, one per set bit of the size. Appending a leaf takes O(log n) hashes and
/// the root comes out in O(log n), so the hub keeps only this at start-up, not the
/// whole log.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CompactRange {
    size: u64,
    nodes: Vec<Hash>,
}

impl CompactRange {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a compact range from stored subtree hashes, one for each range of
    /// [`CompactRange::node_ranges`]`(size)`, in that order.
    pub fn from_parts(size: u64, nodes: Vec<Hash>) -> Result<Self> {
        let expected = size.count_ones() as usize;
        if nodes.len() != expected {
            return Err(AuditError::BadCompactRange {
                size,
                expected,
                found: nodes.len(),
            });
        }
        Ok(Self { size, nodes })
    }

    /// The leaf ranges of the perfect subtrees a compact range of `size` holds,
    /// left to right. The store computes or looks up their hashes to rebuild one.
    pub fn node_ranges(size: u64) -> Vec<Range<u64>> {
        let mut out = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0;
        for bit in (0..64).rev() {
            let len = 1u64 << bit;
            if size & len != 0 {
                out.push(start..start + len);
                start += len;
            }
        }
        out
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        self.push_with(leaf, |_, _| {});
    }

    /// Appends a leaf hash and hands every node it completes to `completed`,
    /// bottom-up: the nodes of [`nodes_completed_by`]`(self.size())` with
    /// their hashes (what the store keeps in `audit_nodes`).
    pub fn push_with(&mut self, leaf: Hash, mut completed: impl FnMut(NodeId, &Hash)) {
        let mut hash = leaf;
        let mut size = self.size;
        let mut level = 0u8;
        // Each trailing one bit of the size is a perfect subtree of the new leaf's
        // height: merge with it, like a carry in binary addition.
        while size & 1 == 1 {
            if let Some(left) = self.nodes.pop() {
                hash = node_hash(&left, &hash);
            }
            size >>= 1;
            level += 1;
            completed(NodeId::new(level, size), &hash);
        }
        self.nodes.push(hash);
        self.size += 1;
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The perfect-subtree hashes, left to right (to store them).
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// The tree root.
    pub fn root(&self) -> Hash {
        fold_range(&self.nodes)
    }
}

/// A complete, aligned subtree of the tree: the perfect subtree over the
/// leaves `index << level .. (index + 1) << level`. Level 0 is a leaf. Its
/// hash never changes once its last leaf is appended, so a store may keep it
/// (`audit_nodes`) and build any proof from O(log n) of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height: a node at level k covers 2^k leaves; 0 is a leaf.
    pub level: u8,
    /// Position among the nodes of its level, from the left.
    pub index: u64,
}

impl NodeId {
    /// The node at `level` and `index`.
    pub const fn new(level: u8, index: u64) -> Self {
        Self { level, index }
    }

    /// Leaf `index`.
    pub const fn leaf(index: u64) -> Self {
        Self { level: 0, index }
    }

    /// The leaves it covers.
    pub fn range(&self) -> Range<u64> {
        self.index << self.level..(self.index + 1) << self.level
    }

    /// Its left and right child, or `None` for a leaf.
    pub fn children(&self) -> Option<(NodeId, NodeId)> {
        let level = self.level.checked_sub(1)?;
        Some((
            NodeId::new(level, self.index * 2),
            NodeId::new(level, self.index * 2 + 1),
        ))
    }
}

/// The nodes (level 1 and up) that appending leaf `index` completes,
/// bottom-up: one per trailing one bit of `index`. Each is the parent of the
/// one before (the first is the parent of the leaf).
pub fn nodes_completed_by(index: u64) -> impl Iterator<Item = NodeId> {
    (1..=index.trailing_ones().min(62) as u8).map(move |k| NodeId::new(k, index >> k))
}

/// The left children of [`nodes_completed_by`]`(index)`, in the same order
/// (the first is leaf `index - 1`): the hashes an append must look up. They
/// are the last nodes of the compact range of size `index`.
pub fn left_siblings(index: u64) -> impl Iterator<Item = NodeId> {
    nodes_completed_by(index).map(|n| NodeId::new(n.level - 1, n.index * 2))
}

/// The hashes of the nodes appending leaf `index` (with hash `leaf`)
/// completes, bottom-up, given the hashes of its [`left_siblings`] in order.
/// `left` may hold only the first few (a store that misses a sibling can form
/// no node above it): then only that many nodes are returned. More than
/// there are siblings is an error.
pub fn complete_nodes(index: u64, leaf: Hash, left: &[Hash]) -> Result<Vec<(NodeId, Hash)>> {
    let expected = index.trailing_ones().min(62) as usize;
    if left.len() > expected {
        return Err(AuditError::BadCompactRange {
            size: index,
            expected,
            found: left.len(),
        });
    }
    let mut hash = leaf;
    Ok(nodes_completed_by(index)
        .zip(left)
        .map(|(node, l)| {
            hash = node_hash(l, &hash);
            (node, hash)
        })
        .collect())
}

/// The complete, aligned subtrees whose hashes make up the hash of the
/// leaves `range` (RFC 9162 MTH over them), left to right: one per set bit
/// of its length, largest first. Every range the proof planners
/// ([`inclusion_proof_ranges`], [`consistency_proof_ranges`]) return
/// decomposes so; [`fold_range`] turns the hashes back into the range's.
/// A range that is empty or whose parts are not aligned is refused.
pub fn range_nodes(range: Range<u64>) -> Result<Vec<NodeId>> {
    if range.is_empty() {
        return Err(AuditError::NotASubtree {
            start: range.start,
            end: range.end,
        });
    }
    let len = range.end - range.start;
    let mut out = Vec::with_capacity(len.count_ones() as usize);
    let mut start = range.start;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if len & width == 0 {
            continue;
        }
        if !start.is_multiple_of(width) {
            return Err(AuditError::NotASubtree {
                start: range.start,
                end: range.end,
            });
        }
        out.push(NodeId::new(level, start >> level));
        start += width;
    }
    Ok(out)
}

/// Folds the hashes of a range's [`range_nodes`], in their order, right to
/// left into the hash of the range. The empty list gives [`EMPTY_ROOT`].
pub fn fold_range(hashes: &[Hash]) -> Hash {
    let mut it = hashes.iter().rev();
    let Some(last) = it.next() else {
        return EMPTY_ROOT;
    };
    it.fold(*last, |acc, left| node_hash(left, &acc))
}

/// Largest power of two strictly below `n` (`n >= 2`): the split point `k` of RFC 9162.
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// The leaf ranges whose subtree roots make up the inclusion proof of leaf
/// `index` in a tree of `size`, in proof order (from the leaf up). Each element is
/// `root(&leaves[range])`.
pub fn inclusion_proof_ranges(index: u64, size: u64) -> Result<Vec<Range<u64>>> {
    if index >= size {
        return Err(AuditError::OutOfRange { index, size });
    }
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0, size);
    // PATH(m, D[lo:hi]) of RFC 9162 §2.1.3.1, unrolled from the top down.
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            out.push(lo + k..hi);
            hi = lo + k;
        } else {
            out.push(lo..lo + k);
            lo += k;
        }
    }
    out.reverse();
    Ok(out)
}

/// The leaf ranges whose subtree roots make up the consistency proof from a tree
/// of `old_size` to one of `new_size`, in proof order. Empty when `old_size` is 0
/// or equal to `new_size`.
pub fn consistency_proof_ranges(old_size: u64, new_size: u64) -> Result<Vec<Range<u64>>> {
    if old_size > new_size {
        return Err(AuditError::OutOfRange {
            index: old_size,
            size: new_size,
        });
    }
    let mut out = Vec::new();
    if old_size == 0 || old_size == new_size {
        return Ok(out);
    }
    // SUBPROOF(m, D[lo:hi], b) of RFC 9162 §2.1.4.1, unrolled from the top down.
    let (mut lo, mut hi, mut whole_old_tree) = (0, new_size, true);
    loop {
        let m = old_size - lo;
        let n = hi - lo;
        if m == n {
            if !whole_old_tree {
                out.push(lo..hi);
            }
            break;
        }
        let k = split(n);
        if m <= k {
            out.push(lo + k..hi);
            hi = lo + k;
        } else {
            out.push(lo..lo + k);
            lo += k;
            whole_old_tree = false;
        }
    }
    out.reverse();
    Ok(out)
}

fn hashes_for(leaves: &[Hash], ranges: Vec<Range<u64>>) -> Vec<Hash> {
    // Ranges come from the planners above and lie within leaves.len().
    ranges
        .into_iter()
        .map(|r| root(&leaves[r.start as usize..r.end as usize]))
        .collect()
}

/// Inclusion proof of leaf `index` in the tree over all of `leaves`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Result<Vec<Hash>> {
    Ok(hashes_for(
        leaves,
        inclusion_proof_ranges(index, leaves.len() as u64)?,
    ))
}

/// Consistency proof from the tree over `leaves[..old_size]` to the tree over all of `leaves`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Result<Vec<Hash>> {
    Ok(hashes_for(
        leaves,
        consistency_proof_ranges(old_size, leaves.len() as u64)?,
    ))
}

/// Verifies an inclusion proof exactly as RFC 9162 §2.1.3.2 describes.
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> Result<()> {
    if index >= size {
        return Err(AuditError::OutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if snode == 0 {
            return Err(AuditError::InvalidProof("inclusion proof too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(AuditError::InvalidProof("inclusion proof too short"));
    }
    if &r != root {
        return Err(AuditError::InvalidProof(
            "inclusion proof does not lead to the root",
        ));
    }
    Ok(())
}

/// Verifies a consistency proof exactly as RFC 9162 §2.1.4.2 describes, plus the
/// edge cases it leaves out: equal sizes need an empty proof and equal roots; an
/// old size of 0 needs an empty proof and the empty root.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    if old_size > new_size {
        return Err(AuditError::OutOfRange {
            index: old_size,
            size: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return Err(AuditError::InvalidProof(
                "proof between equal sizes must be empty",
            ));
        }
        if old_root != new_root {
            return Err(AuditError::InvalidProof("roots of equal sizes differ"));
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return Err(AuditError::InvalidProof(
                "proof from the empty tree must be empty",
            ));
        }
        if old_root != &EMPTY_ROOT {
            return Err(AuditError::InvalidProof("empty tree has another root"));
        }
        return Ok(());
    }
    // Step 1.
    let Some((first, rest)) = proof.split_first() else {
        return Err(AuditError::InvalidProof("consistency proof is empty"));
    };
    // Step 2: when old_size is a power of two the old root is itself the first
    // element of the path, and the proof leaves it out.
    let (start, path) = if old_size.is_power_of_two() {
        (old_root, proof)
    } else {
        (first, rest)
    };
    // Steps 3 and 4.
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 5.
    let (mut fr, mut sr) = (*start, *start);
    // Step 6.
    for c in path {
        if snode == 0 {
            return Err(AuditError::InvalidProof("consistency proof too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    // Step 7.
    if snode != 0 {
        return Err(AuditError::InvalidProof("consistency proof too short"));
    }
    if &fr != old_root {
        return Err(AuditError::InvalidProof(
            "consistency proof does not lead to the old root",
        ));
    }
    if &sr != new_root {
        return Err(AuditError::InvalidProof(
            "consistency proof does not lead to the new root",
        ));
    }
    Ok(())
}
