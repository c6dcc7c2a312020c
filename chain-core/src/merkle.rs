//! The merkle tree over a block's txids, with inclusion proofs.
//!
//! Leaves and inner nodes are hashed with different one-byte domain tags, `leaf = SHA-256(0x00 ||
//! txid)` and `node = SHA-256(0x01 || left || right)`, and a lone node at the end of a level is
//! carried up unchanged instead of being paired with itself. So no list of txids has the same
//! root as another list (the duplicated-last-leaf ambiguity of CVE-2012-2459 cannot arise), and
//! an inner node can never be passed off as a txid.

use crate::hash::{MerkleRoot, Txid, sha256};
use serde::{Deserialize, Serialize};

const LEAF_TAG: u8 = 0x00;
const NODE_TAG: u8 = 0x01;

fn leaf(txid: &Txid) -> [u8; 32] {
    sha256(&[&[LEAF_TAG], &txid.0])
}

fn node(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    sha256(&[&[NODE_TAG], left, right])
}

/// One level up: pairs hashed, a lone last node carried up.
fn parent_level(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [left, right] => node(left, right),
            [lone] => *lone,
            _ => unreachable!("chunks(2) yields one or two items"),
        })
        .collect()
}

/// The merkle root of `txids` in order; the all-zero root for an empty list.
pub fn merkle_root(txids: &[Txid]) -> MerkleRoot {
    if txids.is_empty() {
        return MerkleRoot::ZERO;
    }
    let mut level: Vec<[u8; 32]> = txids.iter().map(leaf).collect();
    while level.len() > 1 {
        level = parent_level(&level);
    }
    MerkleRoot(level[0])
}

/// Evidence that a txid is the `index`-th of `leaf_count` leaves under a root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MerkleProof {
    /// The leaf's position in the block.
    pub index: u32,
    /// How many transactions the block holds.
    pub leaf_count: u32,
    /// The sibling hashes from the leaf level up, skipping levels where the node had none.
    pub siblings: Vec<MerkleRoot>,
}

impl MerkleProof {
    /// The proof for the `index`-th txid, or `None` when `index` is out of range.
    pub fn build(txids: &[Txid], index: usize) -> Option<Self> {
        if index >= txids.len() {
            return None;
        }
        let leaf_count = u32::try_from(txids.len()).ok()?;
        let mut level: Vec<[u8; 32]> = txids.iter().map(leaf).collect();
        let mut position = index;
        let mut siblings = Vec::new();
        while level.len() > 1 {
            let sibling = position ^ 1;
            if sibling < level.len() {
                siblings.push(MerkleRoot(level[sibling]));
            }
            level = parent_level(&level);
            position /= 2;
        }
        Some(Self {
            index: index as u32,
            leaf_count,
            siblings,
        })
    }

    /// Whether `txid` at this proof's position hashes up to `root`.
    pub fn verify(&self, txid: &Txid, root: &MerkleRoot) -> bool {
        if self.index >= self.leaf_count {
            return false;
        }
        let mut hash = leaf(txid);
        let mut position = self.index as usize;
        let mut width = self.leaf_count as usize;
        let mut siblings = self.siblings.iter();
        while width > 1 {
            let sibling = position ^ 1;
            if sibling < width {
                let Some(other) = siblings.next() else {
                    return false;
                };
                hash = if position.is_multiple_of(2) {
                    node(&hash, &other.0)
                } else {
                    node(&other.0, &hash)
                };
            }
            position /= 2;
            width = width.div_ceil(2);
        }
        siblings.next().is_none() && hash == root.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn txids(n: usize) -> Vec<Txid> {
        (0..n)
            .map(|i| Txid(sha256(&[&(i as u64).to_le_bytes()])))
            .collect()
    }

    #[test]
    fn a_single_leaf_root_is_its_tagged_hash() {
        let ids = txids(1);
        assert_eq!(merkle_root(&ids).0, sha256(&[&[0u8], &ids[0].0]));
    }

    #[test]
    fn duplicating_the_last_txid_changes_the_root() {
        let mut ids = txids(3);
        let root = merkle_root(&ids);
        ids.push(ids[2]);
        assert_ne!(
            merkle_root(&ids),
            root,
            "CVE-2012-2459: [a,b,c] and [a,b,c,c] must differ"
        );
    }

    #[test]
    fn an_inner_node_is_not_a_leaf() {
        let ids = txids(2);
        let inner = node(&leaf(&ids[0]), &leaf(&ids[1]));
        assert_ne!(merkle_root(&[Txid(inner)]), merkle_root(&ids));
    }

    #[test]
    fn proofs_fail_for_other_txids_positions_and_roots() {
        let ids = txids(5);
        let root = merkle_root(&ids);
        let proof = MerkleProof::build(&ids, 4).unwrap();
        assert!(proof.verify(&ids[4], &root));
        assert!(!proof.verify(&ids[3], &root));
        assert!(
            !MerkleProof {
                index: 3,
                ..proof.clone()
            }
            .verify(&ids[4], &root)
        );
        assert!(!proof.verify(&ids[4], &merkle_root(&ids[..4])));
        assert!(MerkleProof::build(&ids, 5).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, rng_seed: proptest::test_runner::RngSeed::Fixed(11), ..ProptestConfig::default() })]
        #[test]
        fn every_leaf_has_a_proof_that_verifies(n in 1usize..70) {
            let ids = txids(n);
            let root = merkle_root(&ids);
            for (i, txid) in ids.iter().enumerate() {
                let proof = MerkleProof::build(&ids, i).unwrap();
                prop_assert!(proof.verify(txid, &root), "leaf {} of {}", i, n);
            }
        }
    }
}
