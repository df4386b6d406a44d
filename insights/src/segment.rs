//! The named RFM segments and the rule that names a customer's.
//!
//! A customer's segment follows from two of their RFM scores (quintiles
//! 1–5, 5 best): **R**ecency and **F**requency. The rule is a table over
//! the 25 (R, F) pairs, read as the first row that matches, top to bottom
//! (docs/insights.md prints it for shop owners):
//!
//! | R | F | segment |
//! |---|---|---|
//! | 5 | 4–5 | Champions |
//! | 3–4 | 4–5 | Loyal |
//! | 4–5 | 2–3 | Potential loyalist |
//! | 5 | 1 | New |
//! | 4 | 1 | Promising |
//! | 3 | 3 | Need attention |
//! | 3 | 1–2 | About to sleep |
//! | 1–2 | 5 | Can't lose them |
//! | 1–2 | 3–4 | At risk |
//! | 1–2 | 1–2 | Hibernating |
//!
//! Every pair matches exactly one row, so the order only matters for
//! readability; a test checks that the table covers all 25 pairs once.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A named customer segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Segment {
    /// Bought recently, buy often: reward them, ask for referrals.
    Champions,
    /// Buy often, not quite as recently.
    Loyal,
    /// Recent customers with a few purchases: offer a tier.
    PotentialLoyalist,
    /// First purchase very recently.
    New,
    /// Recent, one purchase, not the very latest.
    Promising,
    /// Average recency and frequency: a reason to come back.
    NeedAttention,
    /// Fading: below-average recency, few purchases.
    AboutToSleep,
    /// Bought very often, long ago: win them back.
    CantLoseThem,
    /// Bought often, long ago.
    AtRisk,
    /// Long ago and rarely: lost unless something changes.
    Hibernating,
}

impl Segment {
    /// Every segment, in the order of the table above.
    pub const ALL: [Segment; 10] = [
        Segment::Champions,
        Segment::Loyal,
        Segment::PotentialLoyalist,
        Segment::New,
        Segment::Promising,
        Segment::NeedAttention,
        Segment::AboutToSleep,
        Segment::CantLoseThem,
        Segment::AtRisk,
        Segment::Hibernating,
    ];

    /// The segment of a customer with recency score `r` and frequency
    /// score `f` (each 1–5; values outside are clamped).
    pub fn of(r: u8, f: u8) -> Segment {
        let (r, f) = (r.clamp(1, 5), f.clamp(1, 5));
        match (r, f) {
            (5, 4 | 5) => Segment::Champions,
            (3 | 4, 4 | 5) => Segment::Loyal,
            (4 | 5, 2 | 3) => Segment::PotentialLoyalist,
            (5, _) => Segment::New,
            (4, _) => Segment::Promising,
            (3, 3) => Segment::NeedAttention,
            (3, _) => Segment::AboutToSleep,
            (_, 5) => Segment::CantLoseThem,
            (_, 3 | 4) => Segment::AtRisk,
            _ => Segment::Hibernating,
        }
    }

    /// The name in JSON and on the command line (`at_risk`).
    pub fn as_str(self) -> &'static str {
        match self {
            Segment::Champions => "champions",
            Segment::Loyal => "loyal",
            Segment::PotentialLoyalist => "potential_loyalist",
            Segment::New => "new",
            Segment::Promising => "promising",
            Segment::NeedAttention => "need_attention",
            Segment::AboutToSleep => "about_to_sleep",
            Segment::CantLoseThem => "cant_lose_them",
            Segment::AtRisk => "at_risk",
            Segment::Hibernating => "hibernating",
        }
    }

    /// The name for people (`At risk`).
    pub fn label(self) -> &'static str {
        match self {
            Segment::Champions => "Champions",
            Segment::Loyal => "Loyal",
            Segment::PotentialLoyalist => "Potential loyalist",
            Segment::New => "New",
            Segment::Promising => "Promising",
            Segment::NeedAttention => "Need attention",
            Segment::AboutToSleep => "About to sleep",
            Segment::CantLoseThem => "Can't lose them",
            Segment::AtRisk => "At risk",
            Segment::Hibernating => "Hibernating",
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// A segment name that is not one of [`Segment::ALL`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a segment: the segments are {}", Segment::ALL.map(|s| s.as_str()).join(", "))]
pub struct UnknownSegment {
    /// The text given.
    pub text: String,
}

impl std::str::FromStr for Segment {
    type Err = UnknownSegment;

    /// Accepts `at_risk`, `at-risk`, `At risk` (any case).
    fn from_str(text: &str) -> Result<Segment, UnknownSegment> {
        let wanted: String = text
            .trim()
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        Segment::ALL
            .into_iter()
            .find(|s| s.as_str().replace('_', "") == wanted)
            .ok_or_else(|| UnknownSegment {
                text: text.chars().take(80).collect(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_score_pair_has_the_segment_of_its_table_row() {
        let expected = [
            // f = 1..=5 for r = 1..=5
            [
                "hibernating",
                "hibernating",
                "at_risk",
                "at_risk",
                "cant_lose_them",
            ],
            [
                "hibernating",
                "hibernating",
                "at_risk",
                "at_risk",
                "cant_lose_them",
            ],
            [
                "about_to_sleep",
                "about_to_sleep",
                "need_attention",
                "loyal",
                "loyal",
            ],
            [
                "promising",
                "potential_loyalist",
                "potential_loyalist",
                "loyal",
                "loyal",
            ],
            [
                "new",
                "potential_loyalist",
                "potential_loyalist",
                "champions",
                "champions",
            ],
        ];
        for (r, row) in (1..=5).zip(expected) {
            for (f, name) in (1..=5).zip(row) {
                assert_eq!(Segment::of(r, f).as_str(), name, "r={r} f={f}");
            }
        }
    }

    #[test]
    fn names_parse_back() {
        for s in Segment::ALL {
            assert_eq!(s.as_str().parse::<Segment>(), Ok(s));
            assert_eq!(s.label().parse::<Segment>(), Ok(s));
        }
        assert_eq!("At-Risk".parse::<Segment>(), Ok(Segment::AtRisk));
        let error = "vip".parse::<Segment>().unwrap_err().to_string();
        assert!(error.contains("'vip' is not a segment"), "{error}");
    }
}
