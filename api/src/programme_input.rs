//! The programme's values as people type them, read by one set of rules
//! for the command line (`guild shop rules set`, `campaign publish`, `tiers`)
//! and the web console's forms: multipliers (`2`, `1.25`), `NAME:VALUE`
//! pairs, shares (`50%`), days (`mon,sat`) and hours (`0-9`), money and
//! whole points by the ledger's one number rule
//! ([`guild_ledger::programme::parse_decimal`]).
//!
//! [`EarnRuleText`] turns the fields of an earn rule into the
//! [`EarnRuleSpec`] a shop signs, saying which field is wrong; a value that
//! reads but breaks a ledger rule is refused with the ledger's own message
//! ([`EarnRuleSpec::validate`]). [`describe_rule`] is the one line people
//! read about a rule.

use guild_ledger::programme::{CategoryMultiplier, EarnRuleSpec, Locale, NumberError};
use guild_ledger::types::{Category, Cents, Permille, Points, TextError, TierName};

/// A value that does not read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not a multiplier.
    #[error("{text:?} is not a multiplier: write 2 for double, 1.5, 1.25")]
    Multiplier {
        /// What was typed.
        text: String,
    },
    /// A multiplier beyond what a per-mille value holds.
    #[error("multiplier {text} is too large")]
    MultiplierTooLarge {
        /// What was typed.
        text: String,
    },
    /// A category name that breaks the name rule.
    #[error("category {text:?}: {source}")]
    Category {
        /// What was typed.
        text: String,
        /// The name rule.
        source: TextError,
    },
    /// A tier name that breaks the name rule.
    #[error("tier {text:?}: {source}")]
    Tier {
        /// What was typed.
        text: String,
        /// The name rule.
        source: TextError,
    },
    /// Not an amount of money.
    #[error("{text:?} is not an amount of money: {source}")]
    Money {
        /// What was typed.
        text: String,
        /// The number rule.
        source: NumberError,
    },
    /// Not a whole number of points.
    #[error("{text:?} is not a whole number of points: {source}")]
    Points {
        /// What was typed.
        text: String,
        /// The number rule.
        source: NumberError,
    },
    /// Not a whole number.
    #[error("{text:?} is not a whole number")]
    Whole {
        /// What was typed.
        text: String,
    },
    /// Not `NAME:VALUE`.
    #[error("{text:?}: write {what}")]
    Pair {
        /// What was typed.
        text: String,
        /// The expected shape, with an example.
        what: &'static str,
    },
    /// Not a percentage from 1 to 100.
    #[error("{text:?} is not a percentage from 1 to 100")]
    Percent {
        /// What was typed.
        text: String,
    },
    /// Not a day of the week.
    #[error("{text:?} is not a day: use mon,tue,wed,thu,fri,sat,sun")]
    Day {
        /// What was typed.
        text: String,
    },
    /// Not `FROM-TO` hours.
    #[error("{text:?}: hours must be FROM-TO with FROM < TO <= 24, e.g. 0-9 for before 9")]
    Hours {
        /// What was typed.
        text: String,
    },
}

/// `2` → ×2 (2000 per mille), `1.25` → 1250, at most three decimals.
pub fn multiplier(text: &str) -> Result<Permille, ValueError> {
    let text = text.trim().trim_start_matches(['x', 'X', '×']);
    let minor = guild_ledger::programme::locale::parse_minor(text, 3).ok_or_else(|| {
        ValueError::Multiplier {
            text: text.to_string(),
        }
    })?;
    u32::try_from(minor.0)
        .map(Permille)
        .map_err(|_| ValueError::MultiplierTooLarge {
            text: text.to_string(),
        })
}

/// A category name.
pub fn category(text: &str) -> Result<Category, ValueError> {
    Category::new(text.trim()).map_err(|source| ValueError::Category {
        text: text.to_string(),
        source,
    })
}

/// A tier name.
pub fn tier_name(text: &str) -> Result<TierName, ValueError> {
    TierName::new(text.trim()).map_err(|source| ValueError::Tier {
        text: text.to_string(),
        source,
    })
}

/// An amount of money in major units (`12.50`) of `locale`'s currency.
pub fn money(text: &str, locale: &Locale) -> Result<Cents, ValueError> {
    guild_ledger::programme::parse_decimal(text, locale.currency.minor_units)
        .map(Cents)
        .map_err(|source| ValueError::Money {
            text: text.to_string(),
            source,
        })
}

/// Whole points (digits only).
pub fn points(text: &str) -> Result<Points, ValueError> {
    guild_ledger::programme::parse_decimal(text, 0)
        .map(Points)
        .map_err(|source| ValueError::Points {
            text: text.to_string(),
            source,
        })
}

/// `NAME:VALUE` (also `NAME=VALUE`); `what` describes the shape.
pub fn pair(text: &str, what: &'static str) -> Result<(String, String), ValueError> {
    let bad = || ValueError::Pair {
        text: text.to_string(),
        what,
    };
    let (name, value) = text.split_once([':', '=']).ok_or_else(bad)?;
    if name.trim().is_empty() || value.trim().is_empty() {
        return Err(bad());
    }
    Ok((name.trim().to_string(), value.trim().to_string()))
}

/// A percentage `50` or `50%`, from 1 to 100.
pub fn percent(text: &str) -> Result<u8, ValueError> {
    let bad = || ValueError::Percent {
        text: text.to_string(),
    };
    let n: u8 = text
        .trim()
        .trim_end_matches('%')
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if n == 0 || n > 100 {
        return Err(bad());
    }
    Ok(n)
}

/// `mon,tue,sat` → bit mask (bit 0 = Monday).
pub fn days(text: &str) -> Result<u8, ValueError> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut mask = 0u8;
    for part in text.split(',') {
        let part = part.trim().to_ascii_lowercase();
        let i = NAMES
            .iter()
            .position(|n| part.starts_with(n))
            .ok_or(ValueError::Day { text: part })?;
        mask |= 1 << i;
    }
    Ok(mask)
}

/// `7-9` → `(7, 9)`: from 07:00 to before 09:00 local time.
pub fn hours(text: &str) -> Result<(u8, u8), ValueError> {
    let bad = || ValueError::Hours {
        text: text.to_string(),
    };
    let (from, to) = text.split_once('-').ok_or_else(bad)?;
    let from: u8 = from.trim().parse().map_err(|_| bad())?;
    let to: u8 = to.trim().parse().map_err(|_| bad())?;
    if from >= to || to > 24 {
        return Err(bad());
    }
    Ok((from, to))
}

/// The fields of an earn rule as typed (the CLI's `rules set` flags, the
/// console's form). Empty optional fields mean "none".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EarnRuleText {
    /// Points given per `per` spent (empty: 1).
    pub points: String,
    /// The spend that earns `points`, e.g. `0.10`.
    pub per: String,
    /// The least spend that earns anything, e.g. `2.00`.
    pub min_spend: String,
    /// Category multipliers, each `CATEGORY:MULTIPLIER` (`coffee:2`).
    pub multipliers: Vec<String>,
    /// Categories that earn nothing.
    pub excluded: Vec<String>,
    /// The most points one sale may give.
    pub cap: String,
    /// Points of the shop's birthday reward (empty: none).
    pub birthday: String,
}

/// The field of an [`EarnRuleText`] a refusal is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleField {
    /// `points`.
    Points,
    /// `per`.
    Per,
    /// `min_spend`.
    MinSpend,
    /// `multipliers`.
    Multipliers,
    /// `excluded`.
    Excluded,
    /// `cap`.
    Cap,
    /// `birthday`.
    Birthday,
    /// The rule as a whole (a ledger rule across fields).
    Rule,
}

impl RuleField {
    /// The field's name (the console's form field, the CLI's flag without
    /// `--` and with `_`).
    pub fn name(self) -> &'static str {
        match self {
            RuleField::Points => "points",
            RuleField::Per => "per",
            RuleField::MinSpend => "min_spend",
            RuleField::Multipliers => "multipliers",
            RuleField::Excluded => "excluded",
            RuleField::Cap => "cap",
            RuleField::Birthday => "birthday",
            RuleField::Rule => "rule",
        }
    }
}

/// Why an [`EarnRuleText`] is not a rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleInputError {
    /// A field does not read.
    #[error("{}: {source}", field.name())]
    Value {
        /// Which field.
        field: RuleField,
        /// Why.
        source: ValueError,
    },
    /// The values read but break a ledger rule.
    #[error("the rule is not valid: {source}")]
    Invalid {
        /// The field most likely at fault.
        field: RuleField,
        /// The ledger's rule.
        source: guild_ledger::programme::rule::RuleError,
    },
}

impl RuleInputError {
    /// The field the message belongs beside.
    pub fn field(&self) -> RuleField {
        match self {
            RuleInputError::Value { field, .. } | RuleInputError::Invalid { field, .. } => *field,
        }
    }

    /// The message without the field's name (shown beside the field).
    pub fn message(&self) -> String {
        match self {
            RuleInputError::Value { source, .. } => source.to_string(),
            RuleInputError::Invalid { source, .. } => format!("the rule is not valid: {source}"),
        }
    }
}

impl EarnRuleText {
    /// The rule these fields describe in `locale`'s currency, checked by
    /// the ledger's rule ([`EarnRuleSpec::validate`]).
    pub fn spec(&self, locale: &Locale) -> Result<EarnRuleSpec, RuleInputError> {
        use guild_ledger::programme::rule::RuleError;
        let at =
            |field: RuleField| move |source: ValueError| RuleInputError::Value { field, source };
        let optional = |text: &str| {
            Some(text.trim())
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        };
        let points = match optional(&self.points) {
            None => 1,
            Some(text) => text.parse().map_err(|_| RuleInputError::Value {
                field: RuleField::Points,
                source: ValueError::Whole { text },
            })?,
        };
        let mut multipliers = self
            .multipliers
            .iter()
            .filter(|m| !m.trim().is_empty())
            .map(|m| {
                let (cat, x) = pair(m, "CATEGORY:MULTIPLIER, e.g. coffee:2")?;
                Ok(CategoryMultiplier {
                    category: category(&cat)?,
                    multiplier: multiplier(&x)?,
                })
            })
            .collect::<Result<Vec<_>, ValueError>>()
            .map_err(at(RuleField::Multipliers))?;
        multipliers.sort_by(|a, b| a.category.cmp(&b.category));
        let mut excluded = self
            .excluded
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|c| category(c))
            .collect::<Result<Vec<_>, ValueError>>()
            .map_err(at(RuleField::Excluded))?;
        excluded.sort();
        excluded.dedup();
        let spec = EarnRuleSpec {
            points,
            per: money(&self.per, locale).map_err(at(RuleField::Per))?,
            min_spend: match optional(&self.min_spend) {
                Some(m) => money(&m, locale).map_err(at(RuleField::MinSpend))?,
                None => Cents(0),
            },
            multipliers,
            excluded,
            cap: optional(&self.cap)
                .map(|c| points_of(&c))
                .transpose()
                .map_err(at(RuleField::Cap))?,
            birthday: optional(&self.birthday)
                .map(|b| points_of(&b))
                .transpose()
                .map_err(at(RuleField::Birthday))?
                .unwrap_or(Points::ZERO),
        };
        spec.validate().map_err(|source| {
            let field = match &source {
                RuleError::BadRate => RuleField::Per,
                RuleError::BadMultiplier { .. } => RuleField::Multipliers,
                RuleError::BadCategories | RuleError::TooManyCategories { .. } => {
                    RuleField::Excluded
                }
                RuleError::ZeroCap => RuleField::Cap,
                _ => RuleField::Rule,
            };
            RuleInputError::Invalid { field, source }
        })?;
        Ok(spec)
    }
}

fn points_of(text: &str) -> Result<Points, ValueError> {
    points(text)
}

/// One line for people: "1 point per £0.10, ×2 coffee, gift-card earns
/// nothing".
pub fn describe_rule(spec: &EarnRuleSpec, locale: &Locale) -> String {
    let mut parts = vec![format!(
        "{} point{} per {}",
        spec.points,
        if spec.points == 1 { "" } else { "s" },
        locale.money(spec.per)
    )];
    if spec.min_spend.0 > 0 {
        parts.push(format!("from {} spent", locale.money(spec.min_spend)));
    }
    for m in &spec.multipliers {
        parts.push(format!("{} {}", m.multiplier, m.category));
    }
    for c in &spec.excluded {
        parts.push(format!("{c} earns nothing"));
    }
    if let Some(cap) = spec.cap {
        parts.push(format!("at most {cap} points a sale"));
    }
    if !spec.birthday.is_zero() {
        parts.push(format!("birthday reward {} points", spec.birthday));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_parse_or_say_why_not() {
        assert_eq!(multiplier("2").unwrap(), Permille(2000));
        assert_eq!(multiplier("x1.25").unwrap(), Permille(1250));
        assert!(matches!(
            multiplier("two"),
            Err(ValueError::Multiplier { .. })
        ));
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

    fn text(per: &str) -> EarnRuleText {
        EarnRuleText {
            per: per.into(),
            ..EarnRuleText::default()
        }
    }

    #[test]
    fn an_earn_rule_reads_from_its_fields() {
        let locale = Locale::default();
        let mut fields = text("0.10");
        fields.points = "2".into();
        fields.multipliers = vec!["tea:1.5".into(), "coffee:2".into()];
        fields.excluded = vec!["gift-card".into(), "gift-card".into()];
        fields.cap = "500".into();
        let spec = fields.spec(&locale).unwrap();
        assert_eq!(spec.points, 2);
        assert_eq!(spec.per, Cents(10));
        assert_eq!(spec.multipliers[0].category.as_str(), "coffee");
        assert_eq!(spec.excluded.len(), 1);
        assert_eq!(spec.cap, Some(Points(500)));
        assert_eq!(spec.birthday, Points::ZERO);
    }

    #[test]
    fn a_bad_field_is_named() {
        let locale = Locale::default();
        let error = text("12,50").spec(&locale).unwrap_err();
        assert_eq!(error.field(), RuleField::Per);
        assert!(
            error.message().contains("is not an amount of money"),
            "{error}"
        );
        let mut bad_multiplier = text("1.00");
        bad_multiplier.multipliers = vec!["coffee".into()];
        assert_eq!(
            bad_multiplier.spec(&locale).unwrap_err().field(),
            RuleField::Multipliers
        );
        let mut zero_cap = text("1.00");
        zero_cap.cap = "0".into();
        let error = zero_cap.spec(&locale).unwrap_err();
        assert_eq!(error.field(), RuleField::Cap);
        assert!(error.message().contains("at least 1 point"), "{error}");
        let error = text("0").spec(&locale).unwrap_err();
        assert_eq!(error.field(), RuleField::Per, "{error}");
    }

    #[test]
    fn a_rule_reads_as_one_line() {
        let locale = Locale::default();
        let mut fields = text("0.10");
        fields.excluded = vec!["gift-card".into()];
        let line = describe_rule(&fields.spec(&locale).unwrap(), &locale);
        assert!(line.starts_with("1 point per "), "{line}");
        assert!(line.ends_with("gift-card earns nothing"), "{line}");
    }
}
