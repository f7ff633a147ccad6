//! The Merkle tree against the RFC 6962 reference vectors (as used by Certificate
//! Transparency and transparency-dev/merkle) and against a direct implementation
//! of the RFC's recursive definitions.

use proptest::prelude::*;
use schakel_audit::{
    CompactRange, EMPTY_ROOT, Hash, consistency_proof, consistency_proof_ranges, inclusion_proof,
    inclusion_proof_ranges, leaf_hash, node_hash, root, verify_consistency, verify_inclusion,
};

/// The eight leaves of the reference tree.
const LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

/// Roots of the reference tree over its first 1..=8 leaves.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (0-based leaf index, tree size, audit path) from CT's merkle_tree_test.cc.
const INCLUSION: &[(u64, usize, &[&str])] = &[
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, proof) from transparency-dev/merkle's reference tests.
const CONSISTENCY: &[(u64, usize, &[&str])] = &[
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

fn h(s: &str) -> Hash {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).expect("test vector hex");
    out
}

fn leaves() -> Vec<Hash> {
    LEAVES.iter().map(|l| leaf_hash(l)).collect()
}

#[test]
fn empty_tree_root_is_sha256_of_nothing() {
    assert_eq!(
        EMPTY_ROOT,
        h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    );
    assert_eq!(root(&[]), EMPTY_ROOT);
    assert_eq!(CompactRange::new().root(), EMPTY_ROOT);
}

#[test]
fn reference_roots() {
    let leaves = leaves();
    let mut range = CompactRange::new();
    for (n, want) in ROOTS.iter().enumerate() {
        range.push(leaves[n]);
        assert_eq!(root(&leaves[..=n]), h(want), "root of {} leaves", n + 1);
        assert_eq!(range.root(), h(want), "compact range root of {} leaves", n + 1);
    }
}

#[test]
fn reference_inclusion_proofs() {
    let leaves = leaves();
    for &(index, size, path) in INCLUSION {
        let want: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        let got = inclusion_proof(&leaves[..size], index).expect("proof");
        assert_eq!(got, want, "inclusion proof of {index} in {size}");
        let root = h(ROOTS[size - 1]);
        verify_inclusion(&leaves[index as usize], index, size as u64, &want, &root).expect("verifies");
    }
}

#[test]
fn reference_consistency_proofs() {
    let leaves = leaves();
    for &(old, new, path) in CONSISTENCY {
        let want: Vec<Hash> = path.iter().map(|p| h(p)).collect();
        let got = consistency_proof(&leaves[..new], old).expect("proof");
        assert_eq!(got, want, "consistency proof {old} -> {new}");
        let (r1, r2) = (h(ROOTS[old as usize - 1]), h(ROOTS[new - 1]));
        verify_consistency(old, new as u64, &r1, &r2, &want).expect("verifies");
    }
}

#[test]
fn proofs_refuse_indexes_outside_the_tree() {
    let leaves = leaves();
    assert!(inclusion_proof(&leaves, 8).is_err());
    assert!(inclusion_proof(&[], 0).is_err());
    assert!(consistency_proof(&leaves[..3], 4).is_err());
    assert!(verify_inclusion(&leaves[0], 8, 8, &[], &h(ROOTS[7])).is_err());
    assert!(verify_consistency(5, 4, &h(ROOTS[4]), &h(ROOTS[3]), &[]).is_err());
}

#[test]
fn consistency_edge_cases() {
    let r8 = h(ROOTS[7]);
    verify_consistency(0, 8, &EMPTY_ROOT, &r8, &[]).expect("anything extends the empty tree");
    assert!(
        verify_consistency(0, 8, &r8, &r8, &[]).is_err(),
        "size 0 with a non-empty root"
    );
    assert!(
        verify_consistency(0, 8, &EMPTY_ROOT, &r8, &[r8]).is_err(),
        "non-empty proof from size 0"
    );
    verify_consistency(8, 8, &r8, &r8, &[]).expect("same tree");
    assert!(
        verify_consistency(8, 8, &r8, &h(ROOTS[6]), &[]).is_err(),
        "same size, different roots"
    );
    assert!(
        verify_consistency(8, 8, &r8, &r8, &[r8]).is_err(),
        "same size, non-empty proof"
    );
    assert!(
        verify_consistency(2, 5, &h(ROOTS[1]), &h(ROOTS[4]), &[]).is_err(),
        "empty proof"
    );
}

#[test]
fn compact_range_rebuilds_from_stored_nodes() {
    let leaves = leaves();
    for size in 0..=8u64 {
        let nodes: Vec<Hash> = CompactRange::node_ranges(size)
            .into_iter()
            .map(|r| root(&leaves[r.start as usize..r.end as usize]))
            .collect();
        let mut rebuilt = CompactRange::from_parts(size, nodes).expect("right number of nodes");
        assert_eq!(rebuilt.root(), root(&leaves[..size as usize]));
        if size < 8 {
            rebuilt.push(leaves[size as usize]);
            assert_eq!(
                rebuilt.root(),
                root(&leaves[..=size as usize]),
                "push after rebuild at {size}"
            );
        }
    }
    assert!(CompactRange::from_parts(5, vec![EMPTY_ROOT]).is_err());
}

// ---- the RFC's recursive definitions, as a reference ----

fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let k = split(n);
            node_hash(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return vec![];
    }
    let k = split(d.len());
    if m < k {
        let mut p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
        p
    }
}

fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { vec![] } else { vec![mth(d)] };
    }
    let k = split(n);
    if m <= k {
        let mut p = subproof(m, &d[..k], b);
        p.push(mth(&d[k..]));
        p
    } else {
        let mut p = subproof(m - k, &d[k..], false);
        p.push(mth(&d[..k]));
        p
    }
}

fn synthetic(n: usize) -> Vec<Hash> {
    (0..n as u64).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut out = *h;
    out[bit / 8 % 32] ^= 1 << (bit % 8);
    out
}

proptest! {
    #[test]
    fn root_matches_recursive_definition(n in 0usize..300) {
        let d = synthetic(n);
        prop_assert_eq!(root(&d), mth(&d));
    }

    #[test]
    fn inclusion_proofs_verify_and_tampering_fails(n in 1usize..300, i in any::<prop::sample::Index>(), bit in 0usize..256) {
        let d = synthetic(n);
        let idx = i.index(n);
        let r = root(&d);
        let proof = inclusion_proof(&d, idx as u64).unwrap();
        prop_assert_eq!(&proof, &path(idx, &d));
        prop_assert_eq!(inclusion_proof_ranges(idx as u64, n as u64).unwrap().len(), proof.len());
        verify_inclusion(&d[idx], idx as u64, n as u64, &proof, &r).unwrap();

        prop_assert!(verify_inclusion(&flip(&d[idx], bit), idx as u64, n as u64, &proof, &r).is_err());
        prop_assert!(verify_inclusion(&d[idx], idx as u64, n as u64, &proof, &flip(&r, bit)).is_err());
        for j in 0..proof.len() {
            let mut bad = proof.clone();
            bad[j] = flip(&bad[j], bit);
            prop_assert!(verify_inclusion(&d[idx], idx as u64, n as u64, &bad, &r).is_err());
        }
        if !proof.is_empty() {
            prop_assert!(verify_inclusion(&d[idx], idx as u64, n as u64, &proof[1..], &r).is_err());
        }
        let mut longer = proof.clone();
        longer.push(r);
        prop_assert!(verify_inclusion(&d[idx], idx as u64, n as u64, &longer, &r).is_err());
        if n > 1 {
            let other = (idx + 1) % n;
            prop_assert!(verify_inclusion(&d[idx], other as u64, n as u64, &proof, &r).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_tampering_fails(n in 1usize..300, m in any::<prop::sample::Index>(), bit in 0usize..256) {
        let d = synthetic(n);
        let old = m.index(n) + 1; // 1..=n
        let (r1, r2) = (root(&d[..old]), root(&d));
        let proof = consistency_proof(&d, old as u64).unwrap();
        let want = if old == n { vec![] } else { subproof(old, &d, true) };
        prop_assert_eq!(&proof, &want);
        prop_assert_eq!(consistency_proof_ranges(old as u64, n as u64).unwrap().len(), proof.len());
        verify_consistency(old as u64, n as u64, &r1, &r2, &proof).unwrap();

        prop_assert!(verify_consistency(old as u64, n as u64, &flip(&r1, bit), &r2, &proof).is_err());
        prop_assert!(verify_consistency(old as u64, n as u64, &r1, &flip(&r2, bit), &proof).is_err());
        for j in 0..proof.len() {
            let mut bad = proof.clone();
            bad[j] = flip(&bad[j], bit);
            prop_assert!(verify_consistency(old as u64, n as u64, &r1, &r2, &bad).is_err());
        }
        if !proof.is_empty() {
            prop_assert!(verify_consistency(old as u64, n as u64, &r1, &r2, &proof[1..]).is_err());
        }
        let mut longer = proof.clone();
        longer.push(r1);
        prop_assert!(verify_consistency(old as u64, n as u64, &r1, &r2, &longer).is_err());
    }

    #[test]
    fn compact_range_matches_root_at_every_size(n in 0usize..200) {
        let d = synthetic(n);
        let mut range = CompactRange::new();
        for (i, leaf) in d.iter().enumerate() {
            prop_assert_eq!(range.root(), mth(&d[..i]));
            range.push(*leaf);
        }
        prop_assert_eq!(range.root(), mth(&d));
        prop_assert_eq!(range.nodes().len(), n.count_ones() as usize);
    }
}
