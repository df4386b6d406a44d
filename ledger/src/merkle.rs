//! The state tree: a persistent, compressed sparse Merkle tree over 256-bit
//! keys.
//!
//! Each entry is a `(key, value)` pair of hashes; the key's bits, from the
//! most significant, choose the path from the root (0 = left, 1 = right).
//! A subtree holding one entry is that entry's leaf; a subtree holding none
//! is empty. So the tree is the smallest binary trie that separates all keys,
//! and its root depends only on the set of entries, not on the order they
//! were inserted.
//!
//! ```text
//! empty       = 32 zero bytes
//! leaf(k, v)  = SHA-256(0x00 || k || v)
//! branch(l,r) = SHA-256(0x01 || l || r)
//! ```
//!
//! Nodes are shared (`Arc`) and never changed in place: an update copies the
//! path it touches (about log2(n) nodes), so keeping the tree of the previous
//! block costs nothing and updating costs time proportional to the number of
//! entries changed, not to the size of the state.

use crate::hash::{Hash, sha256};
use std::sync::Arc;

const LEAF: u8 = 0x00;
const BRANCH: u8 = 0x01;

/// Depth of a full path: one level per key bit.
pub const KEY_BITS: usize = 256;

#[derive(Debug)]
enum Node {
    Leaf {
        key: Hash,
        value: Hash,
        hash: Hash,
    },
    Branch {
        left: Option<Arc<Node>>,
        right: Option<Arc<Node>>,
        hash: Hash,
    },
}

fn leaf_hash(key: &Hash, value: &Hash) -> Hash {
    sha256(&[&[LEAF], &key.0, &value.0])
}

fn branch_hash(left: &Hash, right: &Hash) -> Hash {
    sha256(&[&[BRANCH], &left.0, &right.0])
}

fn hash_of(node: &Option<Arc<Node>>) -> Hash {
    match node.as_deref() {
        None => Hash::ZERO,
        Some(Node::Leaf { hash, .. }) | Some(Node::Branch { hash, .. }) => *hash,
    }
}

fn new_leaf(key: Hash, value: Hash) -> Arc<Node> {
    Arc::new(Node::Leaf {
        key,
        value,
        hash: leaf_hash(&key, &value),
    })
}

fn new_branch(left: Option<Arc<Node>>, right: Option<Arc<Node>>) -> Arc<Node> {
    let hash = branch_hash(&hash_of(&left), &hash_of(&right));
    Arc::new(Node::Branch { left, right, hash })
}

/// A persistent sparse Merkle tree. Cloning is O(1).
#[derive(Clone, Debug, Default)]
pub struct MerkleTree {
    root: Option<Arc<Node>>,
}

impl MerkleTree {
    /// The empty tree.
    pub fn new() -> MerkleTree {
        MerkleTree::default()
    }

    /// Builds a tree from entries in O(n) hashing. Later duplicates of a key
    /// replace earlier ones.
    pub fn from_entries(mut entries: Vec<(Hash, Hash)>) -> MerkleTree {
        entries.sort_by_key(|e| e.0);
        // Keep the last value given for each key.
        let mut unique: Vec<(Hash, Hash)> = Vec::with_capacity(entries.len());
        for entry in entries {
            match unique.last_mut() {
                Some(last) if last.0 == entry.0 => *last = entry,
                _ => unique.push(entry),
            }
        }
        MerkleTree {
            root: build(&unique, 0),
        }
    }

    /// The root hash (all zero for the empty tree).
    pub fn root(&self) -> Hash {
        hash_of(&self.root)
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &Hash) -> Option<Hash> {
        let mut node = self.root.as_ref();
        let mut depth = 0;
        while let Some(n) = node {
            match n.as_ref() {
                Node::Leaf { key: k, value, .. } => return (k == key).then_some(*value),
                Node::Branch { left, right, .. } => {
                    node = if key.bit(depth) {
                        right.as_ref()
                    } else {
                        left.as_ref()
                    };
                    depth += 1;
                }
            }
        }
        None
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: Hash, value: Hash) {
        self.root = Some(insert(self.root.as_ref(), 0, key, value));
    }

    /// Removes `key`, if present.
    pub fn remove(&mut self, key: &Hash) {
        self.root = remove(self.root.as_ref(), 0, key);
    }

    /// A proof of what the tree holds under `key`: its value, or that it has
    /// none.
    pub fn prove(&self, key: &Hash) -> MerkleProof {
        let mut siblings = Vec::new();
        let mut node = self.root.as_ref();
        let mut depth = 0;
        let terminal = loop {
            match node.map(Arc::as_ref) {
                None => break None,
                Some(Node::Leaf { key, value, .. }) => break Some((*key, *value)),
                Some(Node::Branch { left, right, .. }) => {
                    if key.bit(depth) {
                        siblings.push(hash_of(left));
                        node = right.as_ref();
                    } else {
                        siblings.push(hash_of(right));
                        node = left.as_ref();
                    }
                    depth += 1;
                }
            }
        };
        MerkleProof { siblings, terminal }
    }
}

fn build(entries: &[(Hash, Hash)], depth: usize) -> Option<Arc<Node>> {
    match entries {
        [] => None,
        [(key, value)] => Some(new_leaf(*key, *value)),
        _ => {
            // Entries are sorted, so those with bit `depth` clear come first.
            let split = entries.partition_point(|(k, _)| !k.bit(depth));
            let left = build(&entries[..split], depth + 1);
            let right = build(&entries[split..], depth + 1);
            Some(new_branch(left, right))
        }
    }
}

fn insert(node: Option<&Arc<Node>>, depth: usize, key: Hash, value: Hash) -> Arc<Node> {
    match node.map(|n| (n, n.as_ref())) {
        None => new_leaf(key, value),
        Some((_, Node::Leaf { key: k, .. })) if *k == key => new_leaf(key, value),
        Some((existing, Node::Leaf { key: other, .. })) => {
            split_leaf(existing.clone(), *other, depth, key, value)
        }
        Some((_, Node::Branch { left, right, .. })) => {
            if key.bit(depth) {
                new_branch(
                    left.clone(),
                    Some(insert(right.as_ref(), depth + 1, key, value)),
                )
            } else {
                new_branch(
                    Some(insert(left.as_ref(), depth + 1, key, value)),
                    right.clone(),
                )
            }
        }
    }
}

/// Places a new leaf beside an existing one, adding branches down to the
/// first bit where their keys differ.
fn split_leaf(
    existing: Arc<Node>,
    existing_key: Hash,
    depth: usize,
    key: Hash,
    value: Hash,
) -> Arc<Node> {
    let mut diverge = depth;
    while diverge < KEY_BITS && existing_key.bit(diverge) == key.bit(diverge) {
        diverge += 1;
    }
    let fresh = new_leaf(key, value);
    let mut node = if key.bit(diverge) {
        new_branch(Some(existing), Some(fresh))
    } else {
        new_branch(Some(fresh), Some(existing))
    };
    for level in (depth..diverge).rev() {
        node = if key.bit(level) {
            new_branch(None, Some(node))
        } else {
            new_branch(Some(node), None)
        };
    }
    node
}

fn remove(node: Option<&Arc<Node>>, depth: usize, key: &Hash) -> Option<Arc<Node>> {
    let n = node?;
    match n.as_ref() {
        Node::Leaf { key: k, .. } => (k != key).then(|| n.clone()),
        Node::Branch { left, right, .. } => {
            let (left, right) = if key.bit(depth) {
                (left.clone(), remove(right.as_ref(), depth + 1, key))
            } else {
                (remove(left.as_ref(), depth + 1, key), right.clone())
            };
            match (&left, &right) {
                (None, None) => None,
                // A lone leaf moves up: a subtree with one entry is its leaf.
                (Some(only), None) | (None, Some(only)) if matches!(**only, Node::Leaf { .. }) => {
                    Some(only.clone())
                }
                _ => Some(new_branch(left, right)),
            }
        }
    }
}

/// A path from the root to where a key lives: the sibling hash at each level
/// (root first) and what the path ends in.
#[derive(
    Clone,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct MerkleProof {
    /// Sibling hashes, from the root's children downwards.
    pub siblings: Vec<Hash>,
    /// The leaf the path ends in (`key`, `value`), or `None` for an empty
    /// subtree.
    pub terminal: Option<(Hash, Hash)>,
}

/// Why a proof was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    /// The proof is longer than any path.
    #[error("proof has {0} levels, more than the {KEY_BITS} a key has")]
    TooDeep(usize),
    /// The proof ends in another key's leaf that is not on this key's path.
    #[error("proof ends in a leaf that is not on the key's path")]
    WrongPath,
    /// The proof holds another value for the key than the record claimed.
    #[error("the record does not match the value the proof holds for it")]
    ValueMismatch,
    /// Recomputing the root from the proof gives another root.
    #[error("proof does not match the state root {expected}: it computes {computed}")]
    RootMismatch {
        /// The trusted root.
        expected: Hash,
        /// The root the proof computes.
        computed: Hash,
    },
}

impl MerkleProof {
    /// Checks the proof against a trusted `root` and returns the value held
    /// under `key` (`None`: proven absent).
    pub fn verify(&self, root: &Hash, key: &Hash) -> Result<Option<Hash>, ProofError> {
        let depth = self.siblings.len();
        if depth > KEY_BITS {
            return Err(ProofError::TooDeep(depth));
        }
        let (mut hash, found) = match &self.terminal {
            None => (Hash::ZERO, None),
            Some((k, v)) => {
                if k == key {
                    (leaf_hash(k, v), Some(*v))
                } else if (0..depth).all(|i| k.bit(i) == key.bit(i)) {
                    // Another key's leaf holds the subtree `key` would be in.
                    (leaf_hash(k, v), None)
                } else {
                    return Err(ProofError::WrongPath);
                }
            }
        };
        for (level, sibling) in self.siblings.iter().enumerate().rev() {
            hash = if key.bit(level) {
                branch_hash(sibling, &hash)
            } else {
                branch_hash(&hash, sibling)
            };
        }
        if hash == *root {
            Ok(found)
        } else {
            Err(ProofError::RootMismatch {
                expected: *root,
                computed: hash,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn h(n: u64) -> Hash {
        sha256(&[&n.to_be_bytes()])
    }

    #[test]
    fn empty_tree_has_zero_root_and_proves_absence() {
        let tree = MerkleTree::new();
        assert_eq!(tree.root(), Hash::ZERO);
        assert_eq!(tree.prove(&h(1)).verify(&Hash::ZERO, &h(1)), Ok(None));
    }

    #[test]
    fn a_single_entry_root_is_its_leaf() {
        let mut tree = MerkleTree::new();
        tree.insert(h(1), h(2));
        assert_eq!(tree.root(), leaf_hash(&h(1), &h(2)));
    }

    #[test]
    fn removing_everything_gives_the_empty_root() {
        let mut tree = MerkleTree::new();
        for i in 0..50 {
            tree.insert(h(i), h(i + 100));
        }
        for i in 0..50 {
            tree.remove(&h(i));
        }
        assert_eq!(tree.root(), Hash::ZERO);
    }

    #[test]
    fn old_versions_are_unchanged_by_updates() {
        let mut tree = MerkleTree::new();
        tree.insert(h(1), h(1));
        let before = tree.clone();
        let root = before.root();
        tree.insert(h(2), h(2));
        tree.remove(&h(1));
        assert_eq!(before.root(), root);
        assert_eq!(before.get(&h(1)), Some(h(1)));
    }

    #[test]
    fn keys_sharing_a_long_prefix_are_separated() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        a[31] = 0;
        b[31] = 1; // differ only in the last bit
        let mut tree = MerkleTree::new();
        tree.insert(Hash(a), h(1));
        tree.insert(Hash(b), h(2));
        assert_eq!(tree.get(&Hash(a)), Some(h(1)));
        assert_eq!(tree.get(&Hash(b)), Some(h(2)));
        let proof = tree.prove(&Hash(b));
        assert_eq!(proof.siblings.len(), 256);
        assert_eq!(proof.verify(&tree.root(), &Hash(b)), Ok(Some(h(2))));
        tree.remove(&Hash(a));
        assert_eq!(tree.root(), leaf_hash(&Hash(b), &h(2)));
    }

    proptest! {
        /// The tree agrees with a plain map under any sequence of inserts and
        /// removes; its root equals a bulk build of the same entries (order
        /// independence); every proof verifies and a tampered one fails.
        #[test]
        fn behaves_like_a_map(ops in proptest::collection::vec((0u64..40, 0u64..5, any::<bool>()), 0..120)) {
            let mut tree = MerkleTree::new();
            let mut model = BTreeMap::new();
            for (k, v, insert) in ops {
                if insert {
                    tree.insert(h(k), h(v));
                    model.insert(h(k), h(v));
                } else {
                    tree.remove(&h(k));
                    model.remove(&h(k));
                }
            }
            let bulk = MerkleTree::from_entries(model.iter().map(|(k, v)| (*k, *v)).collect());
            prop_assert_eq!(tree.root(), bulk.root());
            let root = tree.root();
            for k in 0..40 {
                let key = h(k);
                prop_assert_eq!(tree.get(&key), model.get(&key).copied());
                let proof = tree.prove(&key);
                prop_assert_eq!(proof.verify(&root, &key), Ok(model.get(&key).copied()));
                if let Some((tk, tv)) = proof.terminal {
                    let mut forged = proof.clone();
                    forged.terminal = Some((tk, h(tv.0[0] as u64 + 1000)));
                    prop_assert!(forged.verify(&root, &key).is_err());
                }
                if !proof.siblings.is_empty() {
                    let mut forged = proof.clone();
                    forged.siblings[0].0[0] ^= 1;
                    prop_assert!(forged.verify(&root, &key).is_err());
                }
            }
        }
    }
}
