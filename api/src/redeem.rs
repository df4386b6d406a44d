//! The redemption request: what a till shows the customer so that the
//! customer's own wallet signs the redemption, never the shop.
//!
//! A shop's console (or any till) asks for points by showing one line of
//! text, also as a QR code:
//!
//! ```text
//! guild:redeem?shop=guild1…&points=250&ref=T-0042
//! ```
//!
//! - `shop`: the address of the member shop where the points are spent;
//! - `points`: how many points, a whole number above 0;
//! - `ref`: the till's reference for this request (1 to 40 letters, digits,
//!   `-`, `_` or `.`), so the till can match the signed redemption it gets
//!   back to the request it showed. It is not on the ledger: a `Redeem`
//!   transaction carries only the shop and the points.
//!
//! The keys may come in any order; each must appear exactly once and no
//! other key is allowed, so a request that was altered or cut off when
//! copied is refused rather than half-read. `guild wallet redeem --request
//! TEXT` signs the redemption it describes.

use guild_ledger::crypto::{Address, AddressError};
use guild_ledger::types::Points;
use std::fmt;
use std::str::FromStr;

/// How a redemption request starts.
pub const SCHEME: &str = "guild:redeem?";

/// The longest till reference, in characters.
pub const MAX_REFERENCE_CHARS: usize = 40;

/// A till's reference for one redemption request (1 to
/// [`MAX_REFERENCE_CHARS`] of `A-Z a-z 0-9 - _ .`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    /// Checks `text` as a reference.
    pub fn new(text: &str) -> Result<Reference, RequestError> {
        let length = text.chars().count();
        if length == 0 || length > MAX_REFERENCE_CHARS {
            return Err(RequestError::BadReference {
                text: shorten(text),
                reason: format!(
                    "it has {length} characters, a reference has 1 to {MAX_REFERENCE_CHARS}"
                ),
            });
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(RequestError::BadReference {
                text: shorten(text),
                reason: format!("'{bad}' is not allowed (use letters, digits, '-', '_' and '.')"),
            });
        }
        Ok(Reference(text.to_string()))
    }

    /// The reference's text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A till's request that the customer redeem `points` at `shop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedeemRequest {
    /// The member shop where the points are spent.
    pub shop: Address,
    /// How many points (above 0).
    pub points: Points,
    /// The till's reference for the request.
    pub reference: Reference,
}

impl fmt::Display for RedeemRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{SCHEME}shop={}&points={}&ref={}",
            self.shop, self.points.0, self.reference
        )
    }
}

/// Why a text is not a redemption request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// It does not start with `guild:redeem?`.
    #[error(
        "'{text}' is not a redemption request: it should start with '{SCHEME}' (copy the whole line the till shows)"
    )]
    NotARequest {
        /// The start of the text given.
        text: String,
    },
    /// A part is not `key=value`.
    #[error("'{part}' in the redemption request is not key=value")]
    NotKeyValue {
        /// The part.
        part: String,
    },
    /// A key other than shop, points and ref.
    #[error(
        "the redemption request has an unknown part '{key}' (it has only shop, points and ref)"
    )]
    UnknownKey {
        /// The key.
        key: String,
    },
    /// A key given twice.
    #[error("the redemption request gives '{key}' twice")]
    Repeated {
        /// The key.
        key: &'static str,
    },
    /// A key missing.
    #[error("the redemption request has no '{key}' (was it cut off when copied?)")]
    Missing {
        /// The key.
        key: &'static str,
    },
    /// The shop is not an address.
    #[error("the redemption request's shop: {0}")]
    BadShop(AddressError),
    /// The points are not a whole number above 0.
    #[error("the redemption request's points '{text}' are not a whole number of points above 0")]
    BadPoints {
        /// The text given.
        text: String,
    },
    /// The reference is not allowed.
    #[error("the redemption request's reference '{text}' is not allowed: {reason}")]
    BadReference {
        /// The text given.
        text: String,
        /// Why.
        reason: String,
    },
}

fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}

impl FromStr for RedeemRequest {
    type Err = RequestError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let query = text
            .strip_prefix(SCHEME)
            .ok_or_else(|| RequestError::NotARequest {
                text: shorten(text),
            })?;
        let (mut shop, mut points, mut reference) = (None, None, None);
        for part in query.split('&') {
            let (key, value) = part
                .split_once('=')
                .ok_or_else(|| RequestError::NotKeyValue {
                    part: shorten(part),
                })?;
            let (slot, name): (&mut Option<&str>, &'static str) = match key {
                "shop" => (&mut shop, "shop"),
                "points" => (&mut points, "points"),
                "ref" => (&mut reference, "ref"),
                other => {
                    return Err(RequestError::UnknownKey {
                        key: shorten(other),
                    });
                }
            };
            if slot.replace(value).is_some() {
                return Err(RequestError::Repeated { key: name });
            }
        }
        let shop = shop.ok_or(RequestError::Missing { key: "shop" })?;
        let points = points.ok_or(RequestError::Missing { key: "points" })?;
        let reference = reference.ok_or(RequestError::Missing { key: "ref" })?;
        let shop = shop.parse().map_err(RequestError::BadShop)?;
        let points = match points.parse::<u64>() {
            Ok(n) if n > 0 && points.bytes().all(|b| b.is_ascii_digit()) => Points(n),
            _ => {
                return Err(RequestError::BadPoints {
                    text: shorten(points),
                });
            }
        };
        Ok(RedeemRequest {
            shop,
            points,
            reference: Reference::new(reference)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;

    fn shop() -> Address {
        Keypair::from_secret(&[7; 32]).address()
    }

    fn request() -> RedeemRequest {
        RedeemRequest {
            shop: shop(),
            points: Points(250),
            reference: Reference::new("T-0042").unwrap(),
        }
    }

    #[test]
    fn text_round_trips() {
        let text = request().to_string();
        assert_eq!(
            text,
            format!("guild:redeem?shop={}&points=250&ref=T-0042", shop())
        );
        assert_eq!(text.parse::<RedeemRequest>().unwrap(), request());
        // Any order, surrounding blanks.
        let reordered = format!("  guild:redeem?ref=T-0042&points=250&shop={}\n", shop());
        assert_eq!(reordered.parse::<RedeemRequest>().unwrap(), request());
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        let s = shop();
        let cases = [
            (
                "redeem 250".to_string(),
                "should start with 'guild:redeem?'",
            ),
            (format!("guild:redeem?shop={s}&points=250"), "has no 'ref'"),
            (
                format!("guild:redeem?shop={s}&points=250&ref=a&ref=b"),
                "gives 'ref' twice",
            ),
            (
                format!("guild:redeem?shop={s}&points=0&ref=a"),
                "not a whole number of points above 0",
            ),
            (
                format!("guild:redeem?shop={s}&points=+5&ref=a"),
                "not a whole number",
            ),
            (
                format!("guild:redeem?shop={s}&points=2.5&ref=a"),
                "not a whole number",
            ),
            (
                format!("guild:redeem?shop={s}&points=5&ref=a b"),
                "' ' is not allowed",
            ),
            (format!("guild:redeem?shop={s}&points=5&ref="), "1 to 40"),
            (
                format!("guild:redeem?shop={s}&points=5&ref=a&to=x"),
                "unknown part 'to'",
            ),
            (format!("guild:redeem?shop={s}&points"), "is not key=value"),
            (
                "guild:redeem?shop=guild1xyz&points=5&ref=a".to_string(),
                "shop",
            ),
        ];
        for (text, expected) in cases {
            let error = text.parse::<RedeemRequest>().unwrap_err().to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }
}
