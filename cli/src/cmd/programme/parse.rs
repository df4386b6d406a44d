//! The programme's command-line values: multipliers (`2`, `1.25`),
//! `category:amount` pairs, shares (`cafe:50`), tiers (`silver:500:1.25`).

use anyhow::{Context, anyhow, bail};
use guild_ledger::programme::Locale;
use guild_ledger::types::{Category, Cents, Permille, Points, TierName};

/// `2` → ×2 (2000 per mille), `1.25` → 1250, at most three decimals.
pub fn multiplier(text: &str) -> anyhow::Result<Permille> {
    let text = text.trim().trim_start_matches(['x', 'X']);
    let minor = guild_ledger::programme::locale::parse_minor(text, 3)
        .ok_or_else(|| anyhow!("{text:?} is not a multiplier: write 2 for double, 1.5, 1.25"))?;
    u32::try_from(minor.0)
        .map(Permille)
        .map_err(|_| anyhow!("multiplier {text} is too large"))
}

/// A category name.
pub fn category(text: &str) -> anyhow::Result<Category> {
    Category::new(text.trim()).map_err(|e| anyhow!("category {text:?}: {e}"))
}

/// A tier name.
pub fn tier_name(text: &str) -> anyhow::Result<TierName> {
    TierName::new(text.trim()).map_err(|e| anyhow!("tier {text:?}: {e}"))
}

/// An amount of money in major units (`12.50`), by the one number rule
/// ([`guild_ledger::programme::NumberError`]).
pub fn money(text: &str, locale: &Locale) -> anyhow::Result<Cents> {
    guild_ledger::programme::parse_decimal(text, locale.currency.minor_units)
        .map(Cents)
        .map_err(|e| anyhow!("{text:?} is not an amount of money: {e}"))
}

/// Whole points (digits only).
pub fn points(text: &str) -> anyhow::Result<Points> {
    guild_ledger::programme::parse_decimal(text, 0)
        .map(Points)
        .map_err(|e| anyhow!("{text:?} is not a whole number of points: {e}"))
}

/// `NAME:VALUE` (also `NAME=VALUE`).
pub fn pair(text: &str, what: &str) -> anyhow::Result<(String, String)> {
    let (name, value) = text
        .split_once([':', '='])
        .with_context(|| format!("{text:?}: write {what}"))?;
    if name.trim().is_empty() || value.trim().is_empty() {
        bail!("{text:?}: write {what}");
    }
    Ok((name.trim().to_string(), value.trim().to_string()))
}

/// A percentage `50` or `50%`.
pub fn percent(text: &str) -> anyhow::Result<u8> {
    let n: u8 = text
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| anyhow!("{text:?} is not a percentage from 1 to 100"))?;
    if n == 0 || n > 100 {
        bail!("{text:?} is not a percentage from 1 to 100");
    }
    Ok(n)
}

/// `mon,tue,sat` → bit mask (bit 0 = Monday).
pub fn days(text: &str) -> anyhow::Result<u8> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut mask = 0u8;
    for part in text.split(',') {
        let part = part.trim().to_ascii_lowercase();
        let i = NAMES
            .iter()
            .position(|n| part.starts_with(n))
            .ok_or_else(|| anyhow!("{part:?} is not a day: use mon,tue,wed,thu,fri,sat,sun"))?;
        mask |= 1 << i;
    }
    Ok(mask)
}

/// `7-9` → `(7, 9)`: from 07:00 to before 09:00 local time.
pub fn hours(text: &str) -> anyhow::Result<(u8, u8)> {
    let (from, to) = text
        .split_once('-')
        .ok_or_else(|| anyhow!("{text:?}: write hours as FROM-TO, e.g. 0-9 for before 9"))?;
    let from: u8 = from
        .trim()
        .parse()
        .map_err(|_| anyhow!("{text:?}: bad hour"))?;
    let to: u8 = to
        .trim()
        .parse()
        .map_err(|_| anyhow!("{text:?}: bad hour"))?;
    if from >= to || to > 24 {
        bail!("{text:?}: hours must be FROM-TO with FROM < TO <= 24");
    }
    Ok((from, to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_or_say_why_not() {
        assert_eq!(multiplier("2").unwrap(), Permille(2000));
        assert_eq!(multiplier("x1.25").unwrap(), Permille(1250));
        assert!(multiplier("two").is_err());
        assert_eq!(days("mon,sat").unwrap(), 0b0010_0001);
        assert!(days("funday").is_err());
        assert_eq!(hours("0-9").unwrap(), (0, 9));
        assert!(hours("9-7").is_err());
        assert_eq!(percent("50%").unwrap(), 50);
        assert!(percent("0").is_err());
        assert_eq!(
            pair("coffee:3.20", "CATEGORY:AMOUNT").unwrap(),
            ("coffee".into(), "3.20".into())
        );
        assert!(pair("coffee", "CATEGORY:AMOUNT").is_err());
    }
}
