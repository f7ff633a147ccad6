//! Stored subtree hashes (`NodeId`): the nodes an append completes, and
//! proofs assembled from complete, aligned subtrees, checked against the
//! proofs computed from every leaf (`inclusion_proof`, `consistency_proof`).

use std::collections::HashMap;

use proptest::prelude::*;
use schakel_audit::{
    AuditError, CompactRange, Hash, NodeId, complete_nodes, consistency_proof, consistency_proof_ranges,
    fold_range, inclusion_proof, inclusion_proof_ranges, leaf_hash, left_siblings, nodes_completed_by,
    range_nodes, root,
};

fn synthetic(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

/// Every node of the tree over `leaves` (leaves at level 0), as a store
/// appending them one by one would have kept them.
fn stored_nodes(leaves: &[Hash]) -> HashMap<NodeId, Hash> {
    let mut out = HashMap::new();
    let mut range = CompactRange::new();
    for (i, leaf) in leaves.iter().enumerate() {
        out.insert(NodeId::leaf(i as u64), *leaf);
        range.push_with(*leaf, |node, hash| {
            out.insert(node, *hash);
        });
    }
    out
}

/// The proof hashes for `ranges`, read from stored nodes only.
fn from_nodes(nodes: &HashMap<NodeId, Hash>, ranges: Vec<std::ops::Range<u64>>) -> Vec<Hash> {
    ranges
        .into_iter()
        .map(|r| {
            let parts: Vec<Hash> = range_nodes(r)
                .expect("planned ranges are aligned subtrees")
                .iter()
                .map(|n| *nodes.get(n).expect("node stored"))
                .collect();
            fold_range(&parts)
        })
        .collect()
}

#[test]
fn node_ids_cover_their_leaves() {
    assert_eq!(NodeId::leaf(5).range(), 5..6);
    assert_eq!(NodeId::new(3, 2).range(), 16..24);
    assert_eq!(
        NodeId::new(3, 2).children(),
        Some((NodeId::new(2, 4), NodeId::new(2, 5)))
    );
    assert_eq!(NodeId::leaf(7).children(), None);
}

#[test]
fn appends_complete_one_node_per_trailing_one() {
    assert_eq!(nodes_completed_by(0).count(), 0);
    assert_eq!(nodes_completed_by(1).collect::<Vec<_>>(), [NodeId::new(1, 0)]);
    assert_eq!(
        nodes_completed_by(7).collect::<Vec<_>>(),
        [NodeId::new(1, 3), NodeId::new(2, 1), NodeId::new(3, 0)]
    );
    assert_eq!(
        left_siblings(7).collect::<Vec<_>>(),
        [NodeId::leaf(6), NodeId::new(1, 2), NodeId::new(2, 0)]
    );
    assert_eq!(nodes_completed_by(10).count(), 0);
    assert_eq!(nodes_completed_by(11).count(), 2);
}

#[test]
fn ranges_that_are_not_aligned_subtrees_are_refused() {
    assert_eq!(
        range_nodes(3..5),
        Err(AuditError::NotASubtree { start: 3, end: 5 })
    );
    assert_eq!(
        range_nodes(4..4),
        Err(AuditError::NotASubtree { start: 4, end: 4 })
    );
    assert_eq!(
        range_nodes(8..15).expect("aligned"),
        [NodeId::new(2, 2), NodeId::new(1, 6), NodeId::leaf(14)]
    );
    assert_eq!(fold_range(&[]), schakel_audit::EMPTY_ROOT);
}

#[test]
fn a_missing_sibling_stops_the_nodes_above_it() {
    let leaves = synthetic(8);
    let nodes = stored_nodes(&leaves);
    let left: Vec<Hash> = left_siblings(7).map(|n| nodes[&n]).collect();
    let all = complete_nodes(7, leaves[7], &left).expect("three siblings");
    assert_eq!(all.len(), 3);
    let some = complete_nodes(7, leaves[7], &left[..1]).expect("a prefix");
    assert_eq!(some, all[..1]);
    assert!(complete_nodes(7, leaves[7], &[left[0]; 4]).is_err());
}

proptest! {
    /// What an append writes (its left siblings looked up, the leaf's own
    /// hash carried up) is exactly the tree's nodes, and each is the root of
    /// its leaves.
    #[test]
    fn appended_nodes_are_the_roots_of_their_leaves(n in 1u64..600) {
        let leaves = synthetic(n);
        let nodes = stored_nodes(&leaves);
        let mut appended = HashMap::new();
        for i in 0..n {
            appended.insert(NodeId::leaf(i), leaves[i as usize]);
            let left: Vec<Hash> = left_siblings(i).map(|s| appended[&s]).collect();
            for (node, hash) in complete_nodes(i, leaves[i as usize], &left).expect("complete") {
                let r = node.range();
                prop_assert_eq!(hash, root(&leaves[r.start as usize..r.end as usize]));
                prop_assert!(appended.insert(node, hash).is_none(), "each node once");
            }
        }
        prop_assert_eq!(appended, nodes);
    }

    #[test]
    fn inclusion_proofs_from_nodes_equal_those_from_leaves(
        n in 1u64..1500,
        i in any::<prop::sample::Index>(),
    ) {
        let leaves = synthetic(n);
        let nodes = stored_nodes(&leaves);
        let index = i.index(n as usize) as u64;
        let want = inclusion_proof(&leaves, index).expect("proof");
        let got = from_nodes(&nodes, inclusion_proof_ranges(index, n).expect("ranges"));
        prop_assert_eq!(got, want);
    }

    #[test]
    fn consistency_proofs_from_nodes_equal_those_from_leaves(
        n in 1u64..1500,
        m in any::<prop::sample::Index>(),
    ) {
        let leaves = synthetic(n);
        let nodes = stored_nodes(&leaves);
        let old = m.index(n as usize + 1) as u64;
        let want = consistency_proof(&leaves, old).expect("proof");
        let got = from_nodes(&nodes, consistency_proof_ranges(old, n).expect("ranges"));
        prop_assert_eq!(got, want);
    }

    /// Every prefix's root is the fold of its compact range's nodes, and at
    /// most 2·log2(n) nodes make up a proof.
    #[test]
    fn proofs_need_logarithmically_many_nodes(n in 1u64..1_000_000_000_000, i in any::<prop::sample::Index>()) {
        let index = i.index(n.min(usize::MAX as u64) as usize) as u64;
        let bound = 2 * (64 - n.leading_zeros()) as usize + 1;
        let count = |ranges: Vec<std::ops::Range<u64>>| -> usize {
            ranges.into_iter().map(|r| range_nodes(r).expect("aligned").len()).sum()
        };
        prop_assert!(count(inclusion_proof_ranges(index, n).expect("ranges")) <= bound);
        prop_assert!(count(consistency_proof_ranges(index, n).expect("ranges")) <= bound);
        prop_assert_eq!(range_nodes(0..n).expect("aligned").len(), n.count_ones() as usize);
    }
}
