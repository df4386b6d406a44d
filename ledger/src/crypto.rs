//! Identities and signatures.
//!
//! An [`Address`] *is* an ed25519 public key (32 bytes). People see it in a
//! checksummed bech32m text form with the `guild` prefix, so a mistyped
//! address is refused instead of sending points to a wrong account.
//!
//! The only signature rule is ed25519 `verify_strict` (no small-order keys,
//! canonical `R` and `s`), on every node and in audit. Every signed message
//! starts with a domain tag and the chain id (see [`signing_bytes`]), so a
//! vote never verifies as a transaction and nothing signed for one network is
//! valid on another.

use crate::types::ChainId;
use bech32::{Bech32m, Hrp};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use std::fmt;
use std::str::FromStr;

/// The human-readable prefix of every address.
pub const ADDRESS_PREFIX: &str = "guild";

/// The length of an address's text: `guild1`, 52 characters for the 32
/// bytes (5 bits each) and 6 for the bech32m checksum.
pub const ADDRESS_TEXT_LEN: usize = 64;

/// An account: the 32 bytes of an ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, bincode::Decode)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = "bech32m")
)]
pub struct Address(pub [u8; 32]);

/// Why a text or key is not a usable address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// The text is not bech32m or its checksum does not match (a typo).
    #[error("'{text}' is not a valid Guild address: {reason} (check for a typo)")]
    Malformed {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The checksum is fine but the prefix is not `guild`.
    #[error(
        "'{text}' is not a Guild address: it starts with '{prefix}', expected '{ADDRESS_PREFIX}1'"
    )]
    WrongPrefix {
        /// The text given.
        text: String,
        /// The prefix found.
        prefix: String,
    },
    /// The text starts like an address but has the wrong number of
    /// characters: cut off or run together when copied (said before the
    /// checksum, which would only call it a typo).
    #[error(
        "'{text}' is not a whole Guild address: it has {len} characters, an address has \
         {ADDRESS_TEXT_LEN} ({ADDRESS_PREFIX}1 and {} more); {}",
        ADDRESS_TEXT_LEN - ADDRESS_PREFIX.len() - 1,
        if *len < ADDRESS_TEXT_LEN { "was it cut off when copied?" } else { "is there something extra at the end?" }
    )]
    WrongTextLength {
        /// The text given.
        text: String,
        /// Its length in characters.
        len: usize,
    },
    /// The address carries the wrong number of bytes.
    #[error("'{text}' is not a valid Guild address: it holds {len} bytes, expected 32")]
    WrongLength {
        /// The text given.
        text: String,
        /// Number of bytes found.
        len: usize,
    },
    /// The bytes are not an ed25519 public key that can ever sign: no one
    /// could spend points sent there.
    #[error("{address} is not a usable key: no one could ever sign for it")]
    NotAKey {
        /// The address.
        address: Address,
    },
}

impl Address {
    /// Checks that this address is a public key that can produce signatures
    /// accepted by `verify_strict` (a valid curve point of large order).
    pub fn check_usable(&self) -> Result<(), AddressError> {
        match VerifyingKey::from_bytes(&self.0) {
            // Also refuse non-canonical encodings of a point, so one key has
            // exactly one address.
            // (`to_bytes` returns the input as given, so the point is
            // re-compressed from its decoded coordinates.)
            Ok(key) if !key.is_weak() && key.to_edwards().compress().to_bytes() == self.0 => Ok(()),
            _ => Err(AddressError::NotAKey { address: *self }),
        }
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hrp = Hrp::parse_unchecked(ADDRESS_PREFIX);
        bech32::encode_lower_to_fmt::<Bech32m, _>(f, hrp, &self.0).map_err(|_| fmt::Error)
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Address({self})")
    }
}

impl FromStr for Address {
    type Err = AddressError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        // bech32 allows all-upper-case text (e.g. from a QR code); the
        // canonical form is lower case.
        let lower = text.to_ascii_lowercase();
        let len = lower.chars().count();
        let separated = lower
            .strip_prefix(ADDRESS_PREFIX)
            .is_some_and(|rest| rest.starts_with('1'));
        if separated && len != ADDRESS_TEXT_LEN {
            return Err(AddressError::WrongTextLength {
                text: text.to_string(),
                len,
            });
        }
        let checked = bech32::primitives::decode::CheckedHrpstring::new::<Bech32m>(&lower)
            .map_err(|e| AddressError::Malformed {
                text: text.to_string(),
                reason: e.to_string(),
            })?;
        let prefix = checked.hrp();
        if prefix.as_str() != ADDRESS_PREFIX {
            return Err(AddressError::WrongPrefix {
                text: text.to_string(),
                prefix: prefix.to_string(),
            });
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        let array: [u8; 32] =
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| AddressError::WrongLength {
                    text: text.to_string(),
                    len: bytes.len(),
                })?;
        let address = Address(array);
        if address.to_string() != lower {
            return Err(AddressError::Malformed {
                text: text.to_string(),
                reason: "not in canonical form (non-zero padding bits)".to_string(),
            });
        }
        Ok(address)
    }
}

impl serde::Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// An ed25519 signature (64 bytes).
#[derive(Clone, Copy, PartialEq, Eq, bincode::Encode, bincode::Decode)]
#[cfg_attr(
    feature = "openapi",
    derive(utoipa::ToSchema),
    schema(value_type = String, format = "hex")
)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", hex::encode(self.0))
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 64];
        hex::decode_to_slice(&text, &mut out)
            .map_err(|_| serde::de::Error::custom("expected 128 hexadecimal characters"))?;
        Ok(Signature(out))
    }
}

/// The signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("bad signature: not signed by {signer} for this network and message")]
pub struct BadSignature {
    /// Who was supposed to have signed.
    pub signer: Address,
}

/// A secret signing key. Its bytes are zeroized when dropped and never shown
/// by `Debug`.
#[derive(Clone)]
pub struct Keypair(SigningKey);

impl Keypair {
    /// Builds a key from its 32 secret bytes (the caller supplies the
    /// randomness: this crate never draws any).
    pub fn from_secret(secret: &[u8; 32]) -> Keypair {
        Keypair(SigningKey::from_bytes(secret))
    }

    /// The 32 secret bytes, for storing in an encrypted keystore.
    pub fn secret_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The address (public key) of this key.
    pub fn address(&self) -> Address {
        Address(self.0.verifying_key().to_bytes())
    }

    /// Signs `message` under the given domain tag and chain id.
    pub fn sign(&self, domain: &str, chain_id: &ChainId, message: &[u8]) -> Signature {
        let bytes = signing_bytes(domain, chain_id, message);
        Signature(self.0.sign(&bytes).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({}, secret redacted)", self.address())
    }
}

/// The exact bytes that are signed: the length-prefixed domain tag, the
/// length-prefixed chain id, then the canonical encoding of the message.
pub fn signing_bytes(domain: &str, chain_id: &ChainId, message: &[u8]) -> Vec<u8> {
    let chain = chain_id.as_str().as_bytes();
    let mut out = Vec::with_capacity(16 + domain.len() + chain.len() + message.len());
    out.extend_from_slice(&(domain.len() as u64).to_be_bytes());
    out.extend_from_slice(domain.as_bytes());
    out.extend_from_slice(&(chain.len() as u64).to_be_bytes());
    out.extend_from_slice(chain);
    out.extend_from_slice(message);
    out
}

/// Verifies `signature` by `signer` over `message` with `verify_strict`.
pub fn verify(
    signer: &Address,
    domain: &str,
    chain_id: &ChainId,
    message: &[u8],
    signature: &Signature,
) -> Result<(), BadSignature> {
    let bad = BadSignature { signer: *signer };
    let key = VerifyingKey::from_bytes(&signer.0).map_err(|_| bad)?;
    let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
    key.verify_strict(&signing_bytes(domain, chain_id, message), &sig)
        .map_err(|_| bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_canonical_point_encoding_is_not_usable() {
        // y = 10 + p (p = 2^255 - 19) encodes the same point as y = 10.
        let mut bytes = [0xff; 32];
        bytes[0] = 0xf7;
        bytes[31] = 0x7f;
        assert!(
            VerifyingKey::from_bytes(&bytes).is_ok(),
            "decodes leniently"
        );
        assert!(matches!(
            Address(bytes).check_usable(),
            Err(AddressError::NotAKey { .. })
        ));
        let mut canonical = [0u8; 32];
        canonical[0] = 10;
        let canonical_ok = Address(canonical).check_usable().is_ok();
        let strict_same_point = VerifyingKey::from_bytes(&canonical).is_ok();
        assert_eq!(
            canonical_ok,
            strict_same_point && !VerifyingKey::from_bytes(&canonical).unwrap().is_weak()
        );
    }
    use crate::hash::domain;

    fn chain(id: &str) -> ChainId {
        ChainId::new(id).unwrap()
    }

    #[test]
    fn address_text_round_trips() {
        let key = Keypair::from_secret(&[7; 32]);
        let text = key.address().to_string();
        assert!(text.starts_with("guild1"));
        assert_eq!(text.parse::<Address>(), Ok(key.address()));
    }

    #[test]
    fn a_typo_in_an_address_is_refused() {
        let text = Keypair::from_secret(&[7; 32]).address().to_string();
        let mut chars: Vec<char> = text.chars().collect();
        let i = chars.len() - 5;
        chars[i] = if chars[i] == 'q' { 'p' } else { 'q' };
        let typo: String = chars.into_iter().collect();
        assert!(matches!(
            typo.parse::<Address>(),
            Err(AddressError::Malformed { .. })
        ));
    }

    #[test]
    fn other_prefixes_and_lengths_are_refused() {
        let hrp = Hrp::parse("bc").unwrap();
        let other = bech32::encode::<Bech32m>(hrp, &[1; 32]).unwrap();
        assert!(matches!(
            other.parse::<Address>(),
            Err(AddressError::WrongPrefix { .. })
        ));
        let hrp = Hrp::parse(ADDRESS_PREFIX).unwrap();
        let short = bech32::encode::<Bech32m>(hrp, &[1; 20]).unwrap();
        assert!(matches!(
            short.parse::<Address>(),
            Err(AddressError::WrongTextLength { .. })
        ));
    }

    #[test]
    fn a_cut_off_address_is_called_cut_off_not_a_typo() {
        let text = Keypair::from_secret(&[7; 32]).address().to_string();
        assert_eq!(text.len(), ADDRESS_TEXT_LEN);
        let error = "guild1xyz".parse::<Address>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "'guild1xyz' is not a whole Guild address: it has 9 characters, an address has 64 \
             (guild1 and 58 more); was it cut off when copied?"
        );
        let long = format!("{text}q");
        assert!(
            long.parse::<Address>()
                .unwrap_err()
                .to_string()
                .contains("65 characters")
        );
        assert!(
            text[..40]
                .parse::<Address>()
                .unwrap_err()
                .to_string()
                .contains("cut off")
        );
    }

    #[test]
    fn upper_case_addresses_are_accepted_and_shown_in_lower_case() {
        let key = Keypair::from_secret(&[7; 32]);
        let upper = key.address().to_string().to_ascii_uppercase();
        assert_eq!(upper.parse::<Address>(), Ok(key.address()));
    }

    #[test]
    fn weak_keys_are_not_usable() {
        // The identity point: small order, so refused by verify_strict.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(Address(identity).check_usable().is_err());
        assert!(
            Keypair::from_secret(&[3; 32])
                .address()
                .check_usable()
                .is_ok()
        );
    }

    #[test]
    fn signatures_are_bound_to_domain_and_chain() {
        let key = Keypair::from_secret(&[9; 32]);
        let sig = key.sign(domain::TX, &chain("main-street"), b"hello");
        let who = key.address();
        assert!(verify(&who, domain::TX, &chain("main-street"), b"hello", &sig).is_ok());
        assert!(verify(&who, domain::VOTE, &chain("main-street"), b"hello", &sig).is_err());
        assert!(verify(&who, domain::TX, &chain("high-street"), b"hello", &sig).is_err());
        assert!(verify(&who, domain::TX, &chain("main-street"), b"hellp", &sig).is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let key = Keypair::from_secret(&[0xab; 32]);
        assert!(!format!("{key:?}").contains("abab"));
    }
}
