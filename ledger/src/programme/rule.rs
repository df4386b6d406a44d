//! A shop's earn rule and the basket a sale reports.

use crate::types::{Category, Cents, Height, Permille, Points};

/// What a till reports of a sale: the amount paid and, optionally, how much
/// of it fell in each category. Never item names or anything personal.
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
pub struct Basket {
    /// The amount paid, in minor units.
    pub amount: Cents,
    /// Amounts per category, sorted by category, each category once, summing
    /// to at most `amount` (the rest is uncategorised).
    pub items: Vec<BasketLine>,
}

/// The part of a basket in one category.
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
pub struct BasketLine {
    /// The category.
    pub category: Category,
    /// The amount in it, in minor units (not zero).
    pub amount: Cents,
}

/// Most categories in one basket or rule.
pub const MAX_CATEGORIES: usize = 16;

/// The largest sale amount, in minor units (ten million in major units):
/// bounds the rule arithmetic.
pub const MAX_SALE_AMOUNT: Cents = Cents(1_000_000_000);

/// The largest multiplier (×100).
pub const MAX_MULTIPLIER: Permille = Permille(100_000);

impl Basket {
    /// A basket of `amount` with `items`, sorted by category here, a
    /// category given twice added up (as a till lists lines). The result
    /// is still to be checked with [`Basket::validate`].
    pub fn new(amount: Cents, mut items: Vec<BasketLine>) -> Basket {
        items.sort_by(|a, b| a.category.cmp(&b.category));
        items.dedup_by(|later, kept| {
            let same = later.category == kept.category;
            if same {
                kept.amount.0 = kept.amount.0.saturating_add(later.amount.0);
            }
            same
        });
        Basket { amount, items }
    }

    /// The amount in `category`.
    pub fn amount_in(&self, category: &Category) -> Cents {
        self.items
            .iter()
            .find(|l| &l.category == category)
            .map_or(Cents(0), |l| l.amount)
    }

    /// The amount not in any category.
    pub fn uncategorised(&self) -> Cents {
        let sum: u64 = self.items.iter().map(|l| l.amount.0).sum();
        Cents(self.amount.0.saturating_sub(sum))
    }

    /// Checks the shape: amount in range, categories sorted and unique,
    /// no zero lines, lines summing to at most the amount.
    pub fn validate(&self) -> Result<(), BasketError> {
        if self.amount.0 == 0 {
            return Err(BasketError::ZeroAmount);
        }
        if self.amount > MAX_SALE_AMOUNT {
            return Err(BasketError::AmountTooLarge {
                max: MAX_SALE_AMOUNT,
            });
        }
        if self.items.len() > MAX_CATEGORIES {
            return Err(BasketError::TooManyCategories {
                max: MAX_CATEGORIES,
            });
        }
        if !self.items.windows(2).all(|w| w[0].category < w[1].category) {
            return Err(BasketError::CategoriesNotSorted);
        }
        if let Some(line) = self.items.iter().find(|l| l.amount.0 == 0) {
            return Err(BasketError::ZeroLine {
                category: line.category.clone(),
            });
        }
        let sum: u64 = self.items.iter().map(|l| l.amount.0).sum();
        if sum > self.amount.0 {
            return Err(BasketError::ItemsExceedAmount {
                items: Cents(sum),
                amount: self.amount,
            });
        }
        Ok(())
    }
}

/// Why a basket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BasketError {
    /// Nothing was paid.
    #[error("the sale amount must be more than zero")]
    ZeroAmount,
    /// Beyond [`MAX_SALE_AMOUNT`].
    #[error("the sale amount is larger than {max}, the most one sale may be")]
    AmountTooLarge {
        /// The limit.
        max: Cents,
    },
    /// More than [`MAX_CATEGORIES`] lines.
    #[error("a basket has at most {max} categories")]
    TooManyCategories {
        /// The limit.
        max: usize,
    },
    /// Lines out of order or a category twice.
    #[error("basket categories must be sorted and each appear once")]
    CategoriesNotSorted,
    /// A line of zero.
    #[error("the amount in category {category} is zero")]
    ZeroLine {
        /// The category.
        category: Category,
    },
    /// Lines summing to more than was paid.
    #[error("the items add up to {items}, more than the sale amount {amount}")]
    ItemsExceedAmount {
        /// Sum of the lines.
        items: Cents,
        /// The amount paid.
        amount: Cents,
    },
}

/// A shop's earn rule as the shop publishes it.
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
pub struct EarnRuleSpec {
    /// Points given per `per` minor units spent (with `per`: e.g. 1 point
    /// per 10 pence is `points: 1, per: 10`).
    pub points: u32,
    /// The spend that earns `points`, in minor units.
    pub per: Cents,
    /// The least (eligible) spend that earns anything, in minor units.
    pub min_spend: Cents,
    /// Multipliers for categories (sorted by category, each once); a
    /// category not listed earns ×1.
    pub multipliers: Vec<CategoryMultiplier>,
    /// Categories that earn nothing (e.g. `gift-card`), sorted; they also
    /// do not count towards any minimum spend.
    pub excluded: Vec<Category>,
    /// The most points one sale may give, if any.
    pub cap: Option<Points>,
    /// Points of this shop's birthday reward (0: no birthday reward).
    pub birthday: Points,
}

/// A multiplier for one category.
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
pub struct CategoryMultiplier {
    /// The category.
    pub category: Category,
    /// Its multiplier.
    pub multiplier: Permille,
}

/// A published version of a shop's earn rule.
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
pub struct EarnRule {
    /// Its version: 1 for a shop's first rule, then counting up.
    pub version: u32,
    /// The first height it applies at.
    pub effective: Height,
    /// The rule.
    pub spec: EarnRuleSpec,
}

/// Why an earn rule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    /// `points` or `per` is zero or beyond 1,000,000.
    #[error("the rate must give 1 to 1,000,000 points per 1 to 1,000,000 minor units")]
    BadRate,
    /// A multiplier outside ×0.001 … ×100.
    #[error("multiplier for {category} must be between 1 and {max} per mille")]
    BadMultiplier {
        /// The category.
        category: Category,
        /// The limit.
        max: u32,
    },
    /// Categories out of order, twice, or in both lists.
    #[error("categories must be sorted, listed once, and not both multiplied and excluded")]
    BadCategories,
    /// More than [`MAX_CATEGORIES`] in a list.
    #[error("a rule lists at most {max} categories in each list")]
    TooManyCategories {
        /// The limit.
        max: usize,
    },
    /// A cap of zero.
    #[error("a cap per sale must be at least 1 point")]
    ZeroCap,
    /// The effective height is not after the current block.
    #[error("a new rule takes effect from a later block: {effective} is not after {current}")]
    NotInFuture {
        /// The height asked for.
        effective: Height,
        /// The current height.
        current: Height,
    },
}

impl EarnRuleSpec {
    /// Checks ranges and the category lists.
    pub fn validate(&self) -> Result<(), RuleError> {
        if !(1..=1_000_000).contains(&self.points) || !(1..=1_000_000).contains(&self.per.0) {
            return Err(RuleError::BadRate);
        }
        for list_len in [self.multipliers.len(), self.excluded.len()] {
            if list_len > MAX_CATEGORIES {
                return Err(RuleError::TooManyCategories {
                    max: MAX_CATEGORIES,
                });
            }
        }
        if let Some(m) = self
            .multipliers
            .iter()
            .find(|m| m.multiplier.0 == 0 || m.multiplier > MAX_MULTIPLIER)
        {
            return Err(RuleError::BadMultiplier {
                category: m.category.clone(),
                max: MAX_MULTIPLIER.0,
            });
        }
        let sorted_multipliers = self
            .multipliers
            .windows(2)
            .all(|w| w[0].category < w[1].category);
        let sorted_excluded = self.excluded.windows(2).all(|w| w[0] < w[1]);
        let overlap = self
            .multipliers
            .iter()
            .any(|m| self.excluded.contains(&m.category));
        if !sorted_multipliers || !sorted_excluded || overlap {
            return Err(RuleError::BadCategories);
        }
        if self.cap == Some(Points(0)) {
            return Err(RuleError::ZeroCap);
        }
        Ok(())
    }

    /// The multiplier of `category` (0 if excluded, ×1 if not listed).
    pub fn multiplier(&self, category: &Category) -> Permille {
        if self.excluded.contains(category) {
            return Permille(0);
        }
        self.multipliers
            .iter()
            .find(|m| &m.category == category)
            .map_or(Permille::ONE, |m| m.multiplier)
    }
}

/// A shop's rules on the ledger: the version in force and, if published,
/// the next one with the height it takes over.
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
pub struct ShopRules {
    /// The rule in force (until `next` takes over).
    pub current: Option<EarnRule>,
    /// A published rule not yet in force.
    pub next: Option<EarnRule>,
}

impl ShopRules {
    /// The rule that applies to a sale at `height`.
    pub fn at(&self, height: Height) -> Option<&EarnRule> {
        match &self.next {
            Some(next) if next.effective <= height => Some(next),
            _ => self.current.as_ref(),
        }
    }

    /// The latest version published (in force or not).
    pub fn latest_version(&self) -> u32 {
        self.next
            .as_ref()
            .or(self.current.as_ref())
            .map_or(0, |r| r.version)
    }

    /// These rules at `height` with `rule` published: a `next` already in
    /// force becomes `current`, and `rule` becomes `next` (replacing a
    /// `next` not yet in force).
    pub fn publish(&self, height: Height, rule: EarnRule) -> ShopRules {
        let current = self.at(height).cloned();
        ShopRules {
            current,
            next: Some(rule),
        }
    }
}
