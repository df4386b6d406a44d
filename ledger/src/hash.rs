//! SHA-256 hashes with a domain tag, so that a hash computed for one purpose
//! can never be mistaken for another.

use sha2::{Digest, Sha256};
use std::fmt;

/// A 32-byte SHA-256 digest.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, bincode::Encode, bincode::Decode,
)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(
        value_type = String,
        example = "0000000000000000000000000000000000000000000000000000000000000000"
    )
)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The all-zero hash: the previous-block hash of the genesis header and the
    /// hash of an empty Merkle subtree.
    pub const ZERO: Hash = Hash([0; 32]);

    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lower-case hexadecimal, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hexadecimal characters.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Hash(out))
    }

    /// Bit `index` (0 = most significant bit of the first byte).
    pub fn bit(&self, index: usize) -> bool {
        (self.0[index / 8] >> (7 - index % 8)) & 1 == 1
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl serde::Serialize for Hash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for Hash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Hash::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hexadecimal characters"))
    }
}

/// The domain tags of every hash and signature in the protocol. Each is
/// written, length-prefixed, in front of the hashed bytes.
pub mod domain {
    /// Signing bytes of a transaction.
    pub const TX: &str = "guild/tx/v1";
    /// Signing bytes of a consensus vote.
    pub const VOTE: &str = "guild/vote/v1";
    /// Signing bytes of a block proposal.
    pub const PROPOSAL: &str = "guild/proposal/v1";
    /// Hash of a block header.
    pub const BLOCK: &str = "guild/block/v1";
    /// Hash of a till's receipt id.
    pub const RECEIPT: &str = "guild/receipt/v1";
    /// Position of a key in the state tree.
    pub const STATE_KEY: &str = "guild/state-key/v1";
    /// Hash of a value in the state tree.
    pub const STATE_VALUE: &str = "guild/state-value/v1";
    /// Merkle tree of the transactions of a block.
    pub const TX_TREE: &str = "guild/tx-tree/v1";
    /// Holdout draw of a customer in a campaign.
    pub const HOLDOUT: &str = "guild/holdout/v1";
}

/// Hashes `parts` after the length-prefixed domain tag `domain`.
pub fn tagged_hash(domain: &str, parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update((domain.len() as u64).to_be_bytes());
    hasher.update(domain.as_bytes());
    for part in parts {
        hasher.update(part);
    }
    Hash(hasher.finalize().into())
}

/// Plain SHA-256 of `parts`, concatenated (used inside Merkle trees, whose
/// node kinds carry their own one-byte prefix).
pub fn sha256(parts: &[&[u8]]) -> Hash {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part);
    }
    Hash(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_sha256_matches_the_standard_vector() {
        assert_eq!(
            sha256(&[]).to_hex(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn domains_separate_equal_inputs() {
        assert_ne!(
            tagged_hash(domain::TX, &[b"x"]),
            tagged_hash(domain::VOTE, &[b"x"])
        );
    }

    #[test]
    fn hex_round_trips_and_rejects_bad_text() {
        let h = sha256(&[b"guild"]);
        assert_eq!(Hash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(Hash::from_hex("zz"), None);
    }

    #[test]
    fn bits_are_numbered_from_the_most_significant() {
        let mut bytes = [0u8; 32];
        bytes[0] = 0b1000_0001;
        let h = Hash(bytes);
        assert!(h.bit(0));
        assert!(!h.bit(1));
        assert!(h.bit(7));
        assert!(!h.bit(8));
    }
}
