//! A token's secret: 32 random bytes, written `gld_` + 64 hex characters.

use super::TokenError;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// What every token starts with, so it is recognisable in a config file or
/// a leaked log (and secret scanners can look for it).
pub const TOKEN_PREFIX: &str = "gld_";

/// How many hex characters of the secret [`Secret::prefix`] shows.
const SHOWN_HEX: usize = 8;

/// A token's 32 secret bytes. `Debug` shows only its prefix; the whole
/// text comes only from [`Secret::reveal`].
#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; 32]);

/// Text that is not `gld_` followed by 64 hex characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("this is not a Guild API token: a token is gld_ followed by 64 hexadecimal characters")]
pub struct MalformedToken;

impl Secret {
    /// 32 bytes from the operating system's random number generator.
    pub(super) fn generate() -> Result<Secret, TokenError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(TokenError::Randomness)?;
        Ok(Secret(bytes))
    }

    /// The token as the till sends it: `gld_` and 64 hex characters.
    pub fn reveal(&self) -> String {
        format!("{TOKEN_PREFIX}{}", hex::encode(self.0))
    }

    /// The first characters of [`Secret::reveal`] (`gld_1a2b3c4d`), safe to
    /// list: they leave 224 of the 256 bits unknown.
    pub fn prefix(&self) -> String {
        let mut text = self.reveal();
        text.truncate(TOKEN_PREFIX.len() + SHOWN_HEX);
        text
    }

    /// SHA-256 of the 32 bytes: what the store keeps and looks up.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0).into()
    }
}

impl FromStr for Secret {
    type Err = MalformedToken;

    fn from_str(text: &str) -> Result<Secret, MalformedToken> {
        let hex_part = text
            .trim()
            .strip_prefix(TOKEN_PREFIX)
            .ok_or(MalformedToken)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| MalformedToken)?;
        Ok(Secret(bytes))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({}…)", self.prefix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_round_trips_through_its_text_and_hides_in_debug() {
        let secret = Secret::generate().unwrap();
        let text = secret.reveal();
        assert_eq!(text.len(), 4 + 64);
        assert!(text.starts_with("gld_"));
        assert_eq!(text.parse::<Secret>(), Ok(secret.clone()));
        assert_eq!(format!(" {text} ").parse::<Secret>(), Ok(secret.clone()));
        assert!(text.starts_with(&secret.prefix()));
        assert_eq!(secret.prefix().len(), 12);
        assert!(!format!("{secret:?}").contains(&text[12..]));
        assert_ne!(Secret::generate().unwrap(), secret);
    }

    #[test]
    fn malformed_tokens_are_refused() {
        let good = format!("gld_{}", "ab".repeat(32));
        assert!(good.parse::<Secret>().is_ok());
        for bad in [
            "",
            "gld_",
            &good[4..],
            &good[..good.len() - 1],
            &format!("{good}00"),
            &format!("GLD_{}", "ab".repeat(32)),
            &format!("gld_{}", "zz".repeat(32)),
            "gld_é",
        ] {
            assert_eq!(bad.parse::<Secret>(), Err(MalformedToken), "{bad}");
        }
    }

    #[test]
    fn the_hash_is_sha256_of_the_bytes() {
        let secret = Secret([0; 32]);
        assert_eq!(
            hex::encode(secret.hash()),
            "66687aadf862bd776c8fc18b8e9f8e20089714856ee233b3902a591d0d5f2925"
        );
    }
}
