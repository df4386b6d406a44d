//! The loyalty programme's rules: what a sale earns, computed from records
//! on the ledger so that every node, the audit and the customer's own wallet
//! get the same answer.
//!
//! - A shop publishes its **earn rule** ([`rule::EarnRule`]): a rate per
//!   spend, a minimum spend, category multipliers and exclusions, a cap per
//!   sale, its birthday reward. New versions take effect from a later block.
//! - The group decides **tiers** by governance ([`tier::TierTable`]): the
//!   points a customer earned from sales in a rolling window place them in
//!   a tier with an earn multiplier.
//! - Shops publish **campaigns** ([`campaign::Campaign`]): multipliers,
//!   bonuses and referral rewards with filters, a budget and per-customer
//!   limits, funded by one shop or several in agreed shares.
//! - [`evaluate::evaluate`] is the one function that turns a basket and
//!   those records into points, line by line ([`evaluate::Breakdown`]). The
//!   sale transaction carries the resulting [`evaluate::Claim`]; every node
//!   recomputes it and refuses a mismatch.
//!
//! The network's currency and time zone ([`locale::Locale`]) are pinned in
//! the ledger, so "double points before 9" means the same on every node.
//! Everything here is pure: no clock, no I/O.

pub mod campaign;
pub mod evaluate;
pub mod locale;
pub mod rule;
pub mod tier;

#[cfg(test)]
mod tests;

pub use campaign::{Campaign, CampaignSpec, CampaignUse, CustomerLimit, Reward, Share};
pub use evaluate::{Breakdown, Claim, ClaimMismatch, RulesChange, SaleFacts, evaluate};
pub use locale::{Currency, Locale, NumberError, ZoneOffset, parse_decimal};
pub use rule::{Basket, BasketLine, CategoryMultiplier, EarnRule, EarnRuleSpec, ShopRules};
pub use tier::{CustomerRecord, Tier, TierTable};

use crate::types::CampaignId;

/// The group's programme settings on the ledger: currency and time zone
/// (fixed at genesis), tiers (changed by governance), and the next
/// campaign id.
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
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Programme {
    /// Currency and time zone.
    pub locale: Locale,
    /// The tiers.
    pub tiers: TierTable,
    /// The id the next campaign gets.
    pub next_campaign: CampaignId,
}

impl Default for Programme {
    fn default() -> Programme {
        Programme {
            locale: Locale::default(),
            tiers: TierTable::default(),
            next_campaign: CampaignId(1),
        }
    }
}
