//! The programme's command-line values: multipliers (`2`, `1.25`),
//! `category:amount` pairs, shares (`cafe:50`), tiers (`silver:500:1.25`).
//! The rules are `guild_api::programme_input`'s, shared with the web
//! console's forms; these wrappers only make their errors `anyhow`'s.

use guild_api::programme_input as input;
use guild_ledger::programme::Locale;
use guild_ledger::types::{Category, Cents, Permille, Points, TierName};

/// `2` → ×2 (2000 per mille), `1.25` → 1250, at most three decimals.
pub fn multiplier(text: &str) -> anyhow::Result<Permille> {
    Ok(input::multiplier(text)?)
}

/// A category name.
pub fn category(text: &str) -> anyhow::Result<Category> {
    Ok(input::category(text)?)
}

/// A tier name.
pub fn tier_name(text: &str) -> anyhow::Result<TierName> {
    Ok(input::tier_name(text)?)
}

/// An amount of money in major units (`12.50`), by the one number rule
/// ([`guild_ledger::programme::NumberError`]).
pub fn money(text: &str, locale: &Locale) -> anyhow::Result<Cents> {
    Ok(input::money(text, locale)?)
}

/// Whole points (digits only).
pub fn points(text: &str) -> anyhow::Result<Points> {
    Ok(input::points(text)?)
}

/// `NAME:VALUE` (also `NAME=VALUE`).
pub fn pair(text: &str, what: &'static str) -> anyhow::Result<(String, String)> {
    Ok(input::pair(text, what)?)
}

/// A percentage `50` or `50%`.
pub fn percent(text: &str) -> anyhow::Result<u8> {
    Ok(input::percent(text)?)
}

/// `mon,tue,sat` → bit mask (bit 0 = Monday).
pub fn days(text: &str) -> anyhow::Result<u8> {
    Ok(input::days(text)?)
}

/// `7-9` → `(7, 9)`: from 07:00 to before 09:00 local time.
pub fn hours(text: &str) -> anyhow::Result<(u8, u8)> {
    Ok(input::hours(text)?)
}
