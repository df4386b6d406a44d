//! The one canonical binary encoding of everything that is hashed, signed or
//! sent between nodes.
//!
//! Every encoded value goes through [`encode`] and every received byte string
//! through [`decode`]. The format is `bincode` 2.0.1 with fixed-width,
//! big-endian integers (no variable-length integers, so no two byte strings
//! mean the same number). Decoding is strict:
//!
//! - the input may not be longer than [`MAX_DECODE_BYTES`] (containers can
//!   never claim more memory than that);
//! - every byte must be consumed (no trailing bytes);
//! - the decoded value must encode back to exactly the input bytes, so
//!   `encode(decode(b)) == b` holds for every accepted `b` by construction.
//!
//! No other module of this crate calls `bincode` directly.

use bincode::config::{BigEndian, Configuration, Fixint, Limit};

/// The largest byte string [`decode`] accepts: 8 MiB, above any block the
/// protocol parameters allow.
pub const MAX_DECODE_BYTES: usize = 8 * 1024 * 1024;

type Config = Configuration<BigEndian, Fixint, Limit<MAX_DECODE_BYTES>>;

const CONFIG: Config = bincode::config::standard()
    .with_big_endian()
    .with_fixed_int_encoding()
    .with_limit::<MAX_DECODE_BYTES>();

/// A value that has one canonical byte form.
pub trait Canonical: bincode::Encode + bincode::Decode<()> {}
impl<T: bincode::Encode + bincode::Decode<()>> Canonical for T {}

/// Why a byte string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// The input is larger than anything the protocol allows.
    #[error("message too large: {len} bytes, the limit is {limit}")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The limit it exceeded.
        limit: usize,
    },
    /// The bytes do not form a value of the expected type.
    #[error("malformed message: {reason}")]
    Malformed {
        /// What the decoder found wrong.
        reason: String,
    },
    /// A value was decoded but bytes were left over after it.
    #[error("malformed message: {extra} unexpected trailing bytes")]
    TrailingBytes {
        /// How many bytes were left.
        extra: usize,
    },
    /// The bytes decode, but not in their one canonical form.
    #[error("malformed message: not in canonical form")]
    NonCanonical,
    /// Encoding failed (only possible for values over the size limit).
    #[error("cannot encode value: {reason}")]
    Encode {
        /// What the encoder reported.
        reason: String,
    },
}

/// Encodes a value to its canonical bytes.
///
/// Encoding an in-memory value cannot fail for the types of this crate; the
/// `Result` exists only because the underlying writer API is fallible.
pub fn try_encode<T: bincode::Encode>(value: &T) -> Result<Vec<u8>, CodecError> {
    bincode::encode_to_vec(value, CONFIG).map_err(|e| CodecError::Encode {
        reason: e.to_string(),
    })
}

/// Encodes a value to its canonical bytes.
pub fn encode<T: bincode::Encode>(value: &T) -> Vec<u8> {
    // Encoding into a Vec only fails when a value is above the configured
    // limit; no protocol value can be (the size rules keep every block well
    // below it), so an empty vector here would be caught by every consumer
    // as malformed rather than silently accepted.
    try_encode(value).unwrap_or_default()
}

/// Decodes canonical bytes, refusing anything that is not exactly one value in
/// its canonical form, or longer than [`MAX_DECODE_BYTES`].
pub fn decode<T: Canonical>(bytes: &[u8]) -> Result<T, CodecError> {
    decode_within::<T, MAX_DECODE_BYTES>(bytes)
}

/// [`decode`] with a size limit of the caller's: a message kind that may be
/// larger than any single protocol value (a node's answer carrying several
/// blocks) names its own bound, and so does one that must be smaller.
/// `LIMIT` bounds both the input and what its containers may claim.
pub fn decode_within<T: Canonical, const LIMIT: usize>(bytes: &[u8]) -> Result<T, CodecError> {
    if bytes.len() > LIMIT {
        return Err(CodecError::TooLarge {
            len: bytes.len(),
            limit: LIMIT,
        });
    }
    let config = bincode::config::standard()
        .with_big_endian()
        .with_fixed_int_encoding()
        .with_limit::<LIMIT>();
    let (value, read): (T, usize) =
        bincode::decode_from_slice(bytes, config).map_err(|e| CodecError::Malformed {
            reason: e.to_string(),
        })?;
    if read != bytes.len() {
        return Err(CodecError::TrailingBytes {
            extra: bytes.len() - read,
        });
    }
    if try_encode(&value)? != bytes {
        return Err(CodecError::NonCanonical);
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, bincode::Encode, bincode::Decode)]
    struct Sample {
        a: u64,
        b: Option<u32>,
        c: Vec<u8>,
        d: bool,
    }

    fn sample() -> Sample {
        Sample {
            a: 7,
            b: Some(3),
            c: vec![1, 2, 3],
            d: true,
        }
    }

    #[test]
    fn round_trips() {
        let bytes = encode(&sample());
        assert_eq!(decode::<Sample>(&bytes), Ok(sample()));
    }

    #[test]
    fn integers_are_fixed_width_big_endian() {
        assert_eq!(encode(&0x0102_u64), vec![0, 0, 0, 0, 0, 0, 1, 2]);
    }

    #[test]
    fn refuses_trailing_bytes() {
        let mut bytes = encode(&sample());
        bytes.push(0);
        assert_eq!(
            decode::<Sample>(&bytes),
            Err(CodecError::TrailingBytes { extra: 1 })
        );
    }

    #[test]
    fn refuses_truncated_input() {
        let bytes = encode(&sample());
        assert!(matches!(
            decode::<Sample>(&bytes[..bytes.len() - 1]),
            Err(CodecError::Malformed { .. })
        ));
    }

    #[test]
    fn refuses_non_canonical_bool_and_option_tags() {
        let mut bytes = encode(&sample());
        let last = bytes.len() - 1;
        bytes[last] = 2; // bool must be 0 or 1
        assert!(decode::<Sample>(&bytes).is_err());
        let mut bytes = encode(&sample());
        bytes[8] = 7; // Option tag must be 0 or 1
        assert!(decode::<Sample>(&bytes).is_err());
    }

    #[test]
    fn refuses_huge_length_prefix_without_allocating() {
        // a = 0, b = None, c claims 2^62 bytes.
        let mut bytes = vec![0u8; 8];
        bytes.push(0);
        bytes.extend_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::Malformed { .. })
        ));
    }

    #[test]
    fn refuses_oversized_input() {
        let bytes = vec![0u8; MAX_DECODE_BYTES + 1];
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_message_kind_can_name_its_own_limit() {
        let big = Sample {
            c: vec![7; MAX_DECODE_BYTES + 10],
            ..sample()
        };
        let bytes = encode(&big);
        assert!(matches!(
            decode::<Sample>(&bytes),
            Err(CodecError::TooLarge { .. })
        ));
        assert_eq!(
            decode_within::<Sample, { 2 * MAX_DECODE_BYTES }>(&bytes),
            Ok(big)
        );
        let small = encode(&sample());
        assert_eq!(
            decode_within::<Sample, 8>(&small),
            Err(CodecError::TooLarge {
                len: small.len(),
                limit: 8
            })
        );
    }
}
