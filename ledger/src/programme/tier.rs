//! Group-wide tiers, and what the ledger keeps of each customer to find
//! theirs.
//!
//! A customer's tier comes from the points they *earned* from sales across
//! all shops in a rolling window (default 365 days), never from their
//! balance: spending points never demotes anyone, and a customer whose
//! earning falls below a threshold as the window moves on drops a tier.
//! The ledger keeps, per customer, the points earned per local day within
//! the window ([`CustomerRecord::earned`]), so finding a tier costs time
//! proportional to that customer's activity alone.

use crate::crypto::Address;
use crate::types::{Permille, Points, TierName};

/// The tiers of the group, decided by governance.
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
pub struct TierTable {
    /// Length of the rolling window, in days.
    pub window_days: u32,
    /// The tiers, by rising threshold. A customer below the first threshold
    /// has no tier (×1).
    pub tiers: Vec<Tier>,
}

/// One tier.
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
pub struct Tier {
    /// Its name.
    pub name: TierName,
    /// Points earned in the window that reach it.
    pub threshold: Points,
    /// Its earn multiplier (at least ×1).
    pub multiplier: Permille,
}

/// Most tiers.
pub const MAX_TIERS: usize = 8;

/// Longest tier window: five years.
pub const MAX_WINDOW_DAYS: u32 = 1_830;

/// Why a tier table was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TierError {
    /// Window of zero or beyond [`MAX_WINDOW_DAYS`].
    #[error("the tier window must be 1 to {max} days")]
    BadWindow {
        /// The limit.
        max: u32,
    },
    /// More than [`MAX_TIERS`].
    #[error("at most {max} tiers")]
    TooMany {
        /// The limit.
        max: usize,
    },
    /// Thresholds not rising, a zero threshold, or a name twice.
    #[error("tier thresholds must be above zero and rise, and names be distinct")]
    NotRising,
    /// A multiplier below ×1 or above ×100.
    #[error("tier {name}: multiplier must be between 1000 and 100000 per mille")]
    BadMultiplier {
        /// The tier.
        name: TierName,
    },
}

impl Default for TierTable {
    /// No tiers, a 365-day window.
    fn default() -> TierTable {
        TierTable {
            window_days: 365,
            tiers: Vec::new(),
        }
    }
}

impl TierTable {
    /// Checks the window, thresholds, names and multipliers.
    pub fn validate(&self) -> Result<(), TierError> {
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            return Err(TierError::BadWindow {
                max: MAX_WINDOW_DAYS,
            });
        }
        if self.tiers.len() > MAX_TIERS {
            return Err(TierError::TooMany { max: MAX_TIERS });
        }
        let rising = self
            .tiers
            .windows(2)
            .all(|w| w[0].threshold < w[1].threshold);
        let mut names: Vec<&TierName> = self.tiers.iter().map(|t| &t.name).collect();
        names.sort();
        names.dedup();
        let positive = self.tiers.first().is_none_or(|t| !t.threshold.is_zero());
        if !rising || !positive || names.len() != self.tiers.len() {
            return Err(TierError::NotRising);
        }
        if let Some(t) = self
            .tiers
            .iter()
            .find(|t| t.multiplier < Permille::ONE || t.multiplier > super::rule::MAX_MULTIPLIER)
        {
            return Err(TierError::BadMultiplier {
                name: t.name.clone(),
            });
        }
        Ok(())
    }

    /// The tier reached with `earned` points in the window, if any.
    pub fn tier_for(&self, earned: Points) -> Option<&Tier> {
        self.tiers.iter().rev().find(|t| t.threshold <= earned)
    }

    /// The next tier above `earned`, if any.
    pub fn next_above(&self, earned: Points) -> Option<&Tier> {
        self.tiers.iter().find(|t| t.threshold > earned)
    }

    /// The tier named `name`.
    pub fn by_name(&self, name: &TierName) -> Option<&Tier> {
        self.tiers.iter().find(|t| &t.name == name)
    }
}

/// Points a customer earned from sales on one local day.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DayPoints {
    /// Local day number.
    pub day: u64,
    /// Points earned that day from sales (less what refunds took back).
    pub points: Points,
}

/// What the ledger keeps of one customer for the programme: no personal
/// data, only what the rules need.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    bincode::Encode,
    bincode::Decode,
    serde::Serialize,
    serde::Deserialize,
)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CustomerRecord {
    /// Points earned from sales per local day, oldest first, only days
    /// still inside the longest window that may apply (days older than the
    /// window are dropped when the record is next written).
    pub earned: Vec<DayPoints>,
    /// Member shops where the customer has made a sale, sorted (for
    /// "first purchase at this shop" campaigns; the first purchase anywhere
    /// is when this is empty).
    pub shops: Vec<Address>,
    /// Local day of the last birthday reward, anywhere in the group.
    pub last_birthday: Option<u64>,
    /// Who referred this customer, if they accepted a referral.
    pub referred_by: Option<Address>,
    /// True once the referral has paid out.
    pub referral_paid: bool,
}

impl CustomerRecord {
    /// Points earned in the window of `window_days` days ending with local
    /// day `today` (today included).
    pub fn earned_in_window(&self, today: u64, window_days: u32) -> Points {
        let first = today.saturating_sub(u64::from(window_days).saturating_sub(1));
        Points(
            self.earned
                .iter()
                .filter(|d| d.day >= first && d.day <= today)
                .map(|d| d.points.0)
                .fold(0u64, u64::saturating_add),
        )
    }

    /// True if the customer has bought at `shop` before.
    pub fn has_bought_at(&self, shop: &Address) -> bool {
        self.shops.binary_search(shop).is_ok()
    }

    /// Records `points` earned on `day`, dropping days before the window of
    /// `window_days` ending on `day`.
    pub fn add_earned(&mut self, day: u64, points: Points, window_days: u32) -> Option<()> {
        let first = day.saturating_sub(u64::from(window_days).saturating_sub(1));
        self.earned.retain(|d| d.day >= first);
        match self.earned.iter_mut().find(|d| d.day == day) {
            Some(d) => d.points = d.points.checked_add(points)?,
            None => {
                self.earned.push(DayPoints { day, points });
                self.earned.sort_by_key(|d| d.day);
            }
        }
        Some(())
    }

    /// Takes `points` back from what was earned on `day` (a refund), if
    /// that day is still kept.
    pub fn remove_earned(&mut self, day: u64, points: Points) {
        if let Some(d) = self.earned.iter_mut().find(|d| d.day == day) {
            d.points = d.points.saturating_sub(points);
        }
        self.earned.retain(|d| !d.points.is_zero());
    }

    /// Marks a sale at `shop`.
    pub fn add_shop(&mut self, shop: Address) {
        if let Err(i) = self.shops.binary_search(&shop) {
            self.shops.insert(i, shop);
        }
    }

    /// True if the record carries nothing.
    pub fn is_empty(&self) -> bool {
        *self == CustomerRecord::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> TierTable {
        TierTable {
            window_days: 365,
            tiers: vec![
                Tier {
                    name: TierName::new("silver").unwrap(),
                    threshold: Points(500),
                    multiplier: Permille(1250),
                },
                Tier {
                    name: TierName::new("gold").unwrap(),
                    threshold: Points(2000),
                    multiplier: Permille(1500),
                },
            ],
        }
    }

    #[test]
    fn tiers_come_from_points_earned_in_the_window() {
        let t = table();
        assert_eq!(t.validate(), Ok(()));
        assert_eq!(t.tier_for(Points(499)), None);
        assert_eq!(t.tier_for(Points(500)).unwrap().name.as_str(), "silver");
        assert_eq!(t.tier_for(Points(5000)).unwrap().name.as_str(), "gold");
        assert_eq!(t.next_above(Points(600)).unwrap().name.as_str(), "gold");
        let mut c = CustomerRecord::default();
        c.add_earned(100, Points(300), 365).unwrap();
        c.add_earned(200, Points(300), 365).unwrap();
        assert_eq!(c.earned_in_window(200, 365), Points(600));
        // Day 100 is the last day of the window that ends on day 464.
        assert_eq!(c.earned_in_window(464, 365), Points(600));
        assert_eq!(c.earned_in_window(465, 365), Points(300));
        // Writing on a later day drops days that left the window.
        c.add_earned(470, Points(1), 365).unwrap();
        assert_eq!(c.earned.len(), 2);
    }

    #[test]
    fn bad_tables_are_refused() {
        let mut t = table();
        t.tiers.swap(0, 1);
        assert_eq!(t.validate(), Err(TierError::NotRising));
        let mut t = table();
        t.tiers[0].multiplier = Permille(900);
        assert!(matches!(t.validate(), Err(TierError::BadMultiplier { .. })));
        let mut t = table();
        t.window_days = 0;
        assert!(matches!(t.validate(), Err(TierError::BadWindow { .. })));
    }
}
