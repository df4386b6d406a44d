//! Newtypes for amounts, ids and text fields, so that points are never mixed
//! up with cents, heights with nonces, or a shop name with a memo.

use crate::crypto::Address;
use crate::hash::{Hash, domain, tagged_hash};
use std::fmt;

/// A number of loyalty points. All arithmetic is checked.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Points(pub u64);

impl Points {
    /// No points.
    pub const ZERO: Points = Points(0);

    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Points) -> Option<Points> {
        self.0.checked_add(other.0).map(Points)
    }

    /// `self - other`, or `None` if `other` is larger.
    pub fn checked_sub(self, other: Points) -> Option<Points> {
        self.0.checked_sub(other.0).map(Points)
    }

    /// `self - other`, floored at zero.
    pub fn saturating_sub(self, other: Points) -> Points {
        Points(self.0.saturating_sub(other.0))
    }

    /// The smaller of two amounts.
    pub fn min(self, other: Points) -> Points {
        Points(self.0.min(other.0))
    }

    /// True for zero points.
    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// The amount with its noun, for sentences: "1 point", "30 points".
    pub fn counted(self) -> CountedPoints {
        CountedPoints(self)
    }
}

/// [`Points`] shown with the noun in the right number ([`Points::counted`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CountedPoints(Points);

impl fmt::Display for CountedPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.0 {
            1 => f.write_str("1 point"),
            n => write!(f, "{n} points"),
        }
    }
}

impl fmt::Display for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for Points {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pts", self.0)
    }
}

/// An amount of money in cents (purchase amounts, settlement value).
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cents(pub u64);

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The height of a block; genesis is height 0.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Height(pub u64);

impl Height {
    /// The next height, or `None` at `u64::MAX`.
    pub fn next(self) -> Option<Height> {
        self.0.checked_add(1).map(Height)
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The count of transactions an account has authored; the next transaction
/// must carry exactly this number.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Nonce(pub u64);

impl fmt::Display for Nonce {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Milliseconds since 1970-01-01T00:00:00Z. Block time is given by the block
/// proposer; the ledger never reads a clock.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Timestamp(pub u64);

/// Milliseconds in one day.
pub const MS_PER_DAY: u64 = 86_400_000;

impl Timestamp {
    /// The day number (days since 1970-01-01, UTC) this instant falls in.
    pub fn day(self) -> u64 {
        self.0 / MS_PER_DAY
    }

    /// The start (00:00 UTC) of day `day`, saturating.
    pub fn start_of_day(day: u64) -> Timestamp {
        Timestamp(day.saturating_mul(MS_PER_DAY))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

/// The id of a proposal, numbered from 1 in the order proposals are made.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProposalId(pub u64);

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The hash under which a till's receipt id is stored: `H(receipt/v1, shop,
/// receipt id)`. The receipt text itself (which may identify a person) never
/// reaches the ledger.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReceiptHash(pub Hash);

impl ReceiptHash {
    /// Hashes a shop's receipt id.
    pub fn new(shop: &Address, receipt_id: &str) -> ReceiptHash {
        ReceiptHash(tagged_hash(
            domain::RECEIPT,
            &[&shop.0, receipt_id.as_bytes()],
        ))
    }
}

/// Why a text field was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty where a value is required.
    #[error("{field} must not be empty")]
    Empty {
        /// Which field.
        field: &'static str,
    },
    /// Too long.
    #[error("{field} is too long: {len} bytes, at most {max}")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Holds a character that is not allowed.
    #[error("{field} may only contain {allowed}; found {found:?}")]
    BadCharacter {
        /// Which field.
        field: &'static str,
        /// What is allowed.
        allowed: &'static str,
        /// The first offending character.
        found: char,
    },
}

macro_rules! text_newtype {
    ($(#[$doc:meta])* $name:ident, $field:literal, $max:expr, $allowed:literal, $ok:expr, $empty_ok:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, bincode::Encode, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(String);

        impl $name {
            /// The longest value allowed, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Validates and wraps a value.
            pub fn new(text: &str) -> Result<Self, TextError> {
                if text.is_empty() && !$empty_ok {
                    return Err(TextError::Empty { field: $field });
                }
                if text.len() > Self::MAX_LEN {
                    return Err(TextError::TooLong { field: $field, len: text.len(), max: Self::MAX_LEN });
                }
                let ok: fn(char) -> bool = $ok;
                if let Some(found) = text.chars().find(|c| !ok(*c)) {
                    return Err(TextError::BadCharacter { field: $field, allowed: $allowed, found });
                }
                Ok($name(text.to_string()))
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(text: String) -> Result<Self, TextError> {
                $name::new(&text)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl<C> bincode::Decode<C> for $name {
            fn decode<D: bincode::de::Decoder<Context = C>>(
                decoder: &mut D,
            ) -> Result<Self, bincode::error::DecodeError> {
                let text = String::decode(decoder)?;
                $name::new(&text).map_err(|e| bincode::error::DecodeError::OtherString(e.to_string()))
            }
        }

        impl<'de, C> bincode::BorrowDecode<'de, C> for $name {
            fn borrow_decode<D: bincode::de::BorrowDecoder<'de, Context = C>>(
                decoder: &mut D,
            ) -> Result<Self, bincode::error::DecodeError> {
                <$name as bincode::Decode<C>>::decode(decoder)
            }
        }
    };
}

text_newtype!(
    /// The id of one network, e.g. `main-street-2026`: lower-case letters,
    /// digits and dashes, 1 to 64 bytes. Every signature covers it.
    ChainId,
    "chain id",
    64,
    "lower-case letters, digits and '-'",
    |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    false
);

text_newtype!(
    /// A member shop's registered name, e.g. `Rosa's Bakery`: 1 to 48
    /// printable ASCII characters. Names are unique among members, ignoring
    /// ASCII case and surrounding spaces. ASCII keeps that comparison the
    /// same in every implementation and free of look-alike characters.
    ShopName,
    "shop name",
    48,
    "printable ASCII characters (letters, digits, spaces and punctuation)",
    |c| c.is_ascii_graphic() || c == ' ',
    false
);

text_newtype!(
    /// A short free-text note on a transfer, at most 140 bytes, printable.
    Memo,
    "memo",
    140,
    "printable characters",
    |c| !c.is_control(),
    true
);

text_newtype!(
    /// A product category a shop chooses, e.g. `coffee`, `pastry`,
    /// `gift-card`: 1 to 24 bytes of lower-case letters, digits and '-'.
    Category,
    "category",
    24,
    "lower-case letters, digits and '-'",
    |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    false
);

text_newtype!(
    /// A campaign's name as customers see it, e.g. `Christmas on the high
    /// street`: 1 to 48 printable ASCII characters.
    CampaignName,
    "campaign name",
    48,
    "printable ASCII characters (letters, digits, spaces and punctuation)",
    |c| c.is_ascii_graphic() || c == ' ',
    false
);

text_newtype!(
    /// A tier's name, e.g. `silver`: 1 to 16 bytes of lower-case letters,
    /// digits and '-'.
    TierName,
    "tier name",
    16,
    "lower-case letters, digits and '-'",
    |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-',
    false
);

/// A multiplier in thousandths: `Permille(1000)` is ×1, `Permille(2000)`
/// doubles, `Permille(1500)` is ×1.5.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Permille(pub u32);

impl Permille {
    /// ×1.
    pub const ONE: Permille = Permille(1000);
}

impl fmt::Display for Permille {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let whole = self.0 / 1000;
        let frac = self.0 % 1000;
        if frac == 0 {
            write!(f, "x{whole}")
        } else {
            let frac = format!("{frac:03}");
            write!(f, "x{whole}.{}", frac.trim_end_matches('0'))
        }
    }
}

/// The id of a campaign, numbered from 1 in the order campaigns are
/// published.
#[derive(
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Default,
    Debug,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CampaignId(pub u64);

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl ShopName {
    /// The name folded for uniqueness checks: ASCII lower case, without
    /// surrounding spaces.
    pub fn folded(&self) -> String {
        self.0.trim_matches(' ').to_ascii_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_arithmetic_is_checked() {
        assert_eq!(Points(u64::MAX).checked_add(Points(1)), None);
        assert_eq!(Points(1).checked_sub(Points(2)), None);
        assert_eq!(Points(5).saturating_sub(Points(7)), Points::ZERO);
    }

    #[test]
    fn cents_display_as_money() {
        assert_eq!(Cents(1205).to_string(), "12.05");
    }

    #[test]
    fn text_fields_are_validated_on_construction_and_decode() {
        assert!(ChainId::new("main-street").is_ok());
        assert!(matches!(ChainId::new(""), Err(TextError::Empty { .. })));
        assert!(matches!(
            ChainId::new("Main Street"),
            Err(TextError::BadCharacter { found: 'M', .. })
        ));
        assert!(matches!(
            ShopName::new(&"x".repeat(49)),
            Err(TextError::TooLong { len: 49, .. })
        ));
        assert!(Memo::new("").is_ok());
        assert!(ShopName::new("Rosa's Bakery & Co.").is_ok());
        assert!(matches!(
            ShopName::new("Bakery\u{200B}"),
            Err(TextError::BadCharacter { .. })
        ));
        let bytes = crate::codec::encode(&"bad\u{7}name".to_string());
        assert!(crate::codec::decode::<ShopName>(&bytes).is_err());
    }

    #[test]
    fn receipt_hashes_depend_on_shop_and_id() {
        let a = Address([1; 32]);
        let b = Address([2; 32]);
        assert_ne!(ReceiptHash::new(&a, "r1"), ReceiptHash::new(&b, "r1"));
        assert_ne!(ReceiptHash::new(&a, "r1"), ReceiptHash::new(&a, "r2"));
    }

    #[test]
    fn days_are_utc_midnights() {
        assert_eq!(Timestamp(MS_PER_DAY * 3 + 5).day(), 3);
        assert_eq!(Timestamp::start_of_day(3), Timestamp(MS_PER_DAY * 3));
    }
}
