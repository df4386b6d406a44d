//! Transaction building: turning what a person typed ("send 30 points to
//! guild1…", "redeem 20 at the cafe", "earn 50 for receipt R-1, 12.50 spent")
//! into checked ledger values and a signed transaction.
//!
//! Everything here is pure and checks its input before anything is signed or
//! sent, so a mistake gets a precise message ([`Error::InvalidPoints`],
//! [`Error::InvalidAddress`], [`Error::UnknownShop`], …) instead of a
//! refusal from the node, and no nonce is spent on it.
//!
//! ```
//! use guild_ledger::{ChainId, Keypair, Nonce, TxBody};
//! use guild_wallet::builder::{parse_money, parse_points, sign};
//!
//! # fn main() -> Result<(), guild_wallet::Error> {
//! let alice = Keypair::from_secret(&[7; 32]);
//! let bob = Keypair::from_secret(&[8; 32]).address();
//! assert_eq!(parse_money("12.50")?.0, 1250);
//! assert!(parse_points("0").is_err() && parse_points("-5").is_err());
//!
//! let chain = ChainId::new("main-street")?;
//! let body = TxBody::Transfer {
//!     to: bob,
//!     points: parse_points("30")?,
//!     memo: None,
//! };
//! let signed = sign(&alice, Nonce(0), &chain, body);
//! assert_eq!(signed.tx.body.kind(), "transfer");
//! assert!(signed.verify(&chain).is_ok());
//! # Ok(())
//! # }
//! ```

use crate::error::{Error, Result};
use guild_api::MemberInfo;
use guild_ledger::params::ParamChange;
use guild_ledger::programme::parse_decimal;
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody};
use guild_ledger::types::{Cents, ChainId, Nonce, Points, ProposalId, ShopName, Timestamp};
use guild_ledger::{Address, Keypair};
use std::str::FromStr;

/// The longest receipt id accepted (the ledger stores only its hash; this
/// keeps tills from sending whole documents).
pub const MAX_RECEIPT_LEN: usize = 128;

/// Parses a number of points: a whole number above zero, digits only
/// (`50`, `1000`; `1,000` is refused — the one rule of
/// [`guild_ledger::programme::NumberError`]).
pub fn parse_points(text: &str) -> Result<Points> {
    let value = parse_decimal(text, 0).map_err(|reason| Error::InvalidPoints {
        text: text.to_string(),
        reason,
    })?;
    if value == 0 {
        return Err(Error::ZeroPoints {
            text: text.to_string(),
        });
    }
    Ok(Points(value))
}

/// Parses an amount of money as entered at a till: `12`, `12.5`, `12.50`
/// (no currency sign, a dot before at most two decimals, no thousands
/// separators: `12,50` and `1,000` are refused with the accepted form)
/// into cents.
pub fn parse_money(text: &str) -> Result<Cents> {
    parse_decimal(text, 2)
        .map(Cents)
        .map_err(|reason| Error::InvalidAmount {
            text: text.to_string(),
            reason,
        })
}

/// Parses an address typed or pasted by a person; the error says precisely
/// what is wrong (a typo caught by the checksum, a wrong prefix, a wrong
/// length, or a key no one can sign for).
pub fn parse_address(text: &str) -> Result<Address> {
    let address = Address::from_str(text)?;
    address.check_usable()?;
    Ok(address)
}

/// Checks a till's receipt id.
pub fn check_receipt_id(text: &str) -> Result<String> {
    let trimmed = text.trim();
    let invalid = |reason: &str| Error::InvalidInput {
        what: "receipt id",
        text: text.to_string(),
        reason: reason.to_string(),
    };
    if trimmed.is_empty() {
        return Err(invalid("it must not be empty"));
    }
    if trimmed.len() > MAX_RECEIPT_LEN {
        return Err(invalid(&format!(
            "it is longer than {MAX_RECEIPT_LEN} bytes"
        )));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(invalid("it may not contain control characters"));
    }
    Ok(trimmed.to_string())
}

/// A new receipt id for an earn that has none from a till:
/// `G-YYYYMMDD-` and 8 random hexadecimal digits.
pub fn new_receipt_id(now: Timestamp) -> Result<String> {
    let mut random = [0u8; 4];
    getrandom::fill(&mut random).map_err(|e| Error::Randomness {
        reason: e.to_string(),
    })?;
    let (y, m, d) = civil_date(now);
    Ok(format!("G-{y:04}{m:02}{d:02}-{}", hex::encode(random)))
}

/// Finds a member shop by its registered name (ignoring case and
/// surrounding spaces), by a unique prefix of its name, or by its address.
///
/// An unknown name, or a prefix that several names start with, is an error
/// that lists the members.
pub fn resolve_shop<'a>(members: &'a [MemberInfo], query: &str) -> Result<&'a MemberInfo> {
    let listing = || {
        let mut sorted: Vec<&MemberInfo> = members.iter().collect();
        sorted.sort_by_key(|m| m.name.folded());
        sorted
            .iter()
            .map(|m| format!("{} ({})", m.name, m.address))
            .collect::<Vec<_>>()
    };
    let folded = query.trim().to_ascii_lowercase();
    if folded.starts_with("guild1") {
        let address = parse_address(query)?;
        return members
            .iter()
            .find(|m| m.address == address)
            .ok_or_else(|| Error::UnknownShop {
                query: query.trim().to_string(),
                members: listing(),
            });
    }
    if let Some(exact) = members.iter().find(|m| m.name.folded() == folded) {
        return Ok(exact);
    }
    let prefixed: Vec<&MemberInfo> = if folded.is_empty() {
        Vec::new()
    } else {
        members
            .iter()
            .filter(|m| m.name.folded().starts_with(&folded))
            .collect()
    };
    match prefixed.as_slice() {
        [only] => Ok(only),
        [] => Err(Error::UnknownShop {
            query: query.trim().to_string(),
            members: listing(),
        }),
        several => Err(Error::AmbiguousShop {
            query: query.trim().to_string(),
            matches: {
                let mut names: Vec<String> = several.iter().map(|m| m.name.to_string()).collect();
                names.sort_by_key(|n| n.to_ascii_lowercase());
                names
            },
            members: listing(),
        }),
    }
}

/// Parses `PARAMETER VALUE` of `guild shop propose set-param`. Names are the
/// API's (`daily_issuance_cap`), with `-` or `_`.
pub fn parse_param(name: &str, value: &str) -> Result<ParamChange> {
    let key = name.trim().to_ascii_lowercase().replace('-', "_");
    let invalid = |reason: String| Error::InvalidInput {
        what: "parameter value",
        text: value.to_string(),
        reason,
    };
    let number = |max: u64| -> Result<u64> {
        let digits: String = value
            .trim()
            .chars()
            .filter(|c| *c != '_' && *c != ',')
            .collect();
        match digits.parse::<u64>() {
            Ok(n) if n <= max => Ok(n),
            _ => Err(invalid(format!("{key} takes a whole number up to {max}"))),
        }
    };
    let small = |max: u64| number(max).map(|n| u32::try_from(n).unwrap_or(u32::MAX));
    Ok(match key.as_str() {
        "point_expiry_days" => ParamChange::PointExpiryDays(small(u32::MAX.into())?),
        "settlement_cents_per_point" => {
            ParamChange::SettlementCentsPerPoint(Cents(number(u64::MAX)?))
        }
        "daily_issuance_cap" => ParamChange::DailyIssuanceCap(Points(number(u64::MAX)?)),
        "max_tx_bytes" => ParamChange::MaxTxBytes(small(u32::MAX.into())?),
        "max_block_bytes" => ParamChange::MaxBlockBytes(small(u32::MAX.into())?),
        "max_block_txs" => ParamChange::MaxBlockTxs(small(u32::MAX.into())?),
        "governance_delay" => ParamChange::GovernanceDelay(number(u64::MAX)?),
        _ => {
            return Err(Error::InvalidInput {
                what: "parameter",
                text: name.to_string(),
                reason: format!("the parameters are {}", PARAM_NAMES.join(", ")),
            });
        }
    })
}

/// The names `parse_param` accepts.
pub const PARAM_NAMES: [&str; 7] = [
    "point_expiry_days",
    "settlement_cents_per_point",
    "daily_issuance_cap",
    "max_tx_bytes",
    "max_block_bytes",
    "max_block_txs",
    "governance_delay",
];

/// Parses a proposal id (`3` or `#3`).
pub fn parse_proposal_id(text: &str) -> Result<ProposalId> {
    text.trim()
        .trim_start_matches('#')
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .map(ProposalId)
        .ok_or_else(|| Error::InvalidInput {
            what: "proposal id",
            text: text.to_string(),
            reason: "proposals are numbered 1, 2, 3…; `guild shop proposals` lists them"
                .to_string(),
        })
}

/// Builds a validated shop name for an `add-member` proposal.
pub fn parse_shop_name(text: &str) -> Result<ShopName> {
    Ok(ShopName::new(text.trim())?)
}

/// Signs `body` as `key`'s transaction number `nonce` on network
/// `chain_id`.
pub fn sign(key: &Keypair, nonce: Nonce, chain_id: &ChainId, body: TxBody) -> SignedTransaction {
    Transaction {
        author: key.address(),
        nonce,
        body,
    }
    .sign(key, chain_id)
}

pub use guild_api::describe::{describe, describe_action, describe_with};

/// The UTC calendar date `(year, month, day)` of a timestamp (proleptic
/// Gregorian; Howard Hinnant's `civil_from_days`).
pub fn civil_date(time: Timestamp) -> (i64, u32, u32) {
    let days = i64::try_from(time.day()).unwrap_or(i64::MAX / 2);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (
        year,
        u32::try_from(month).unwrap_or(1),
        u32::try_from(day).unwrap_or(1),
    )
}

/// `YYYY-MM-DD` (UTC).
pub fn format_date(time: Timestamp) -> String {
    let (y, m, d) = civil_date(time);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(time: Timestamp) -> String {
    let seconds = (time.0 / 1000) % 86_400;
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        format_date(time),
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::types::Height;

    #[test]
    fn points_are_whole_numbers_above_zero() {
        assert_eq!(parse_points("50").unwrap(), Points(50));
        assert_eq!(parse_points(" 1000 ").unwrap(), Points(1000));
        for (bad, says) in [
            ("-5", "cannot be negative"),
            ("ten", "whole number"),
            ("2.5", "whole number"),
            ("", "empty"),
            ("99999999999999999999", "too large"),
            // One rule: no thousands separators, the accepted form shown.
            ("1,000", "for 1000 write 1000 (no thousands separators"),
            ("1_000", "for 1000 write 1000"),
        ] {
            let error = parse_points(bad).unwrap_err();
            assert!(matches!(error, Error::InvalidPoints { .. }), "{bad}");
            assert!(error.to_string().contains(says), "{bad}: {error}");
        }
        let zero = parse_points("0").unwrap_err();
        assert!(matches!(zero, Error::ZeroPoints { .. }));
        assert!(zero.to_string().contains("more than zero"), "{zero}");
    }

    #[test]
    fn money_is_parsed_to_cents() {
        assert_eq!(parse_money("12.50").unwrap(), Cents(1250));
        assert_eq!(parse_money("12.5").unwrap(), Cents(1250));
        assert_eq!(parse_money("12").unwrap(), Cents(1200));
        assert_eq!(parse_money(".05").unwrap(), Cents(5));
        for bad in ["-1", "12.505", "£12", "twelve", "", ".", "1.2.3", "1,000"] {
            assert!(
                matches!(parse_money(bad), Err(Error::InvalidAmount { .. })),
                "{bad}"
            );
        }
        // A comma is never read as a decimal separator: both readings are
        // offered instead.
        let error = parse_money("12,50").unwrap_err().to_string();
        assert_eq!(
            error,
            "\"12,50\" is not a valid amount of money: for 12.50 write 12.50; for 1250 write \
             1250 (no thousands separators, and a dot for decimals): write digits with a dot \
             before at most 2 decimals, such as 12.50"
        );
    }

    #[test]
    fn addresses_report_typos() {
        let good = Keypair::from_secret(&[5; 32]).address().to_string();
        assert!(parse_address(&good).is_ok());
        let mut typo = good.clone().into_bytes();
        let last = typo.len() - 1;
        typo[last] = if typo[last] == b'q' { b'p' } else { b'q' };
        let error = parse_address(std::str::from_utf8(&typo).unwrap()).unwrap_err();
        assert!(error.to_string().contains("check for a typo"), "{error}");
        assert!(parse_address("bob").is_err());
    }

    fn member(name: &str, seed: u8) -> MemberInfo {
        MemberInfo {
            name: ShopName::new(name).unwrap(),
            address: Keypair::from_secret(&[seed; 32]).address(),
            since: Height(0),
            issued: Points(0),
            reversed: Points(0),
            reversal_shortfall: Points(0),
            redeemed_issued: Points(0),
            redeemed_here: Points(0),
            expired: Points(0),
            outstanding: Points(0),
            issued_today: Points(0),
        }
    }

    #[test]
    fn shops_are_found_by_name_prefix_or_address() {
        let members = vec![
            member("Bakery", 1),
            member("Bookshop", 2),
            member("Cafe", 3),
        ];
        assert_eq!(
            resolve_shop(&members, "cafe").unwrap().name.as_str(),
            "Cafe"
        );
        assert_eq!(
            resolve_shop(&members, " BAKERY ").unwrap().name.as_str(),
            "Bakery"
        );
        assert_eq!(
            resolve_shop(&members, "boo").unwrap().name.as_str(),
            "Bookshop"
        );
        let address = members[2].address.to_string();
        assert_eq!(
            resolve_shop(&members, &address).unwrap().name.as_str(),
            "Cafe"
        );

        let error = resolve_shop(&members, "Pharmacy").unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, Error::UnknownShop { .. }));
        assert!(
            text.contains("Bakery (guild1") && text.contains("Cafe (guild1"),
            "{text}"
        );

        let error = resolve_shop(&members, "b").unwrap_err();
        assert!(matches!(error, Error::AmbiguousShop { .. }));
        assert!(error.to_string().contains("Bakery, Bookshop"), "{error}");

        let stranger = Keypair::from_secret(&[9; 32]).address().to_string();
        assert!(matches!(
            resolve_shop(&members, &stranger),
            Err(Error::UnknownShop { .. })
        ));
    }

    #[test]
    fn params_and_proposal_ids_parse() {
        assert_eq!(
            parse_param("daily-issuance-cap", "500").unwrap(),
            ParamChange::DailyIssuanceCap(Points(500))
        );
        assert!(parse_param("colour", "1").is_err());
        assert!(parse_param("max_tx_bytes", "lots").is_err());
        assert_eq!(parse_proposal_id("#3").unwrap(), ProposalId(3));
        assert!(parse_proposal_id("0").is_err());
    }

    #[test]
    fn dates_are_utc_calendar_dates() {
        assert_eq!(format_date(Timestamp(0)), "1970-01-01");
        // 2024-02-29T12:34:56Z
        assert_eq!(
            format_time(Timestamp(1_709_210_096_000)),
            "2024-02-29 12:34:56 UTC"
        );
        assert_eq!(format_date(Timestamp(1_826_928_000_000)), "2027-11-23");
    }

    #[test]
    fn receipt_ids_are_unique_and_checked() {
        let a = new_receipt_id(Timestamp(0)).unwrap();
        let b = new_receipt_id(Timestamp(0)).unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("G-19700101-"));
        assert!(check_receipt_id("  R-1 ").is_ok());
        assert!(check_receipt_id("").is_err());
        assert!(check_receipt_id(&"x".repeat(200)).is_err());
    }

    #[test]
    fn descriptions_name_shops() {
        let shop = Keypair::from_secret(&[1; 32]);
        let tx = Transaction {
            author: Keypair::from_secret(&[7; 32]).address(),
            nonce: Nonce(0),
            body: TxBody::Redeem {
                shop: shop.address(),
                points: Points(20),
            },
        };
        let text = describe(&tx, &|a| (*a == shop.address()).then(|| "Cafe".to_string()));
        assert!(text.contains("redeems 20 points at Cafe (guild1"), "{text}");
    }
}
