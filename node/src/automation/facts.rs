//! What automations know of a customer beyond the ledger: directory facts
//! (consent, birthday, name, e-mail) and scores (segment, probability of
//! being active).
//!
//! Both come through traits, so the automation never depends on where
//! they live:
//!
//! - [`CustomerFacts`]: the shop's customer directory
//!   ([`super::sources::DirectoryFacts`], read live, so a withdrawn
//!   consent counts from the next check). A customer the directory does
//!   not know has given no consent.
//! - [`CustomerScores`]: the insights snapshot (segments from RFM, and
//!   the models' P(active)): [`super::sources::InsightScores`].
//!   [`NoScores`] knows none: at-risk triggers and segment conditions then
//!   never hold.
//!
//! [`MemoryFacts`] and [`MemoryScores`] hold them in memory (tests).

use guild_insights::Segment;
use guild_ledger::crypto::Address;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// What a customer agreed to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Consents {
    /// To be contacted (webhooks, e-mails, staff to-dos).
    #[serde(default)]
    pub messages: bool,
    /// To be profiled (segments and scores decide what they get).
    #[serde(default)]
    pub profiling: bool,
}

impl Consents {
    /// True if `kind` is given.
    pub fn gives(&self, kind: guild_api::ConsentKind) -> bool {
        match kind {
            guild_api::ConsentKind::Messages => self.messages,
            guild_api::ConsentKind::Profiling => self.profiling,
        }
    }
}

/// A birthday: month (1–12) and day (1–31).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Birthday {
    /// The month.
    pub month: u8,
    /// The day.
    pub day: u8,
}

impl Birthday {
    /// Parses `MM-DD`.
    pub fn parse(text: &str) -> Option<Birthday> {
        let (m, d) = text.trim().split_once('-')?;
        let month: u8 = m.parse().ok()?;
        let day: u8 = d.parse().ok()?;
        let days = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            1..=12 => 31,
            _ => return None,
        };
        (1..=days).contains(&day).then_some(Birthday { month, day })
    }
}

/// The shop's customer directory, as automations read it.
pub trait CustomerFacts: Send + Sync {
    /// What the customer consented to (nothing for an unknown customer).
    fn consents(&self, customer: &Address) -> Consents;
    /// Their name, if the directory has it.
    fn name(&self, customer: &Address) -> Option<String>;
    /// Their e-mail address, if the directory has it.
    fn email(&self, customer: &Address) -> Option<String>;
    /// Their birthday, if the directory has it.
    fn birthday(&self, customer: &Address) -> Option<Birthday>;
    /// The customers whose birthday is `month`/`day`.
    fn birthdays_on(&self, month: u8, day: u8) -> Vec<Address>;
}

/// The insights snapshot, as automations read it.
pub trait CustomerScores: Send + Sync {
    /// The customer's segment, if scored.
    fn segment(&self, customer: &Address) -> Option<Segment>;
    /// Their probability of being active, if modelled.
    fn p_active(&self, customer: &Address) -> Option<f64>;
}

/// No scores: segments and probabilities are unknown.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoScores;

impl CustomerScores for NoScores {
    fn segment(&self, _: &Address) -> Option<Segment> {
        None
    }
    fn p_active(&self, _: &Address) -> Option<f64> {
        None
    }
}

/// One customer's facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// Their name.
    pub name: Option<String>,
    /// Their e-mail address.
    pub email: Option<String>,
    /// Their birthday.
    pub birthday: Option<Birthday>,
    /// What they consented to.
    pub consents: Consents,
}

/// Facts held in memory.
#[derive(Debug, Default)]
pub struct MemoryFacts {
    facts: Mutex<HashMap<Address, Facts>>,
}

impl MemoryFacts {
    /// Sets one customer's facts.
    pub fn set(&self, customer: Address, facts: Facts) {
        self.facts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(customer, facts);
    }

    fn get(&self, customer: &Address) -> Option<Facts> {
        self.facts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(customer)
            .cloned()
    }
}

impl CustomerFacts for MemoryFacts {
    fn consents(&self, customer: &Address) -> Consents {
        self.get(customer).map(|f| f.consents).unwrap_or_default()
    }
    fn name(&self, customer: &Address) -> Option<String> {
        self.get(customer)?.name
    }
    fn email(&self, customer: &Address) -> Option<String> {
        self.get(customer)?.email
    }
    fn birthday(&self, customer: &Address) -> Option<Birthday> {
        self.get(customer)?.birthday
    }
    fn birthdays_on(&self, month: u8, day: u8) -> Vec<Address> {
        let facts = self.facts.lock().unwrap_or_else(PoisonError::into_inner);
        let mut found: Vec<Address> = facts
            .iter()
            .filter(|(_, f)| f.birthday == Some(Birthday { month, day }))
            .map(|(a, _)| *a)
            .collect();
        found.sort();
        found
    }
}

/// A customer's segment and probability of being active.
type Score = (Option<Segment>, Option<f64>);

/// Scores held in memory.
#[derive(Debug, Default)]
pub struct MemoryScores {
    scores: Mutex<HashMap<Address, Score>>,
}

impl MemoryScores {
    /// Sets one customer's segment and probability of being active.
    pub fn set(&self, customer: Address, segment: Option<Segment>, p_active: Option<f64>) {
        self.scores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(customer, (segment, p_active));
    }
}

impl CustomerScores for MemoryScores {
    fn segment(&self, customer: &Address) -> Option<Segment> {
        let scores = self.scores.lock().unwrap_or_else(PoisonError::into_inner);
        scores.get(customer).and_then(|s| s.0)
    }
    fn p_active(&self, customer: &Address) -> Option<f64> {
        let scores = self.scores.lock().unwrap_or_else(PoisonError::into_inner);
        scores.get(customer).and_then(|s| s.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdays_are_month_and_day() {
        assert_eq!(
            Birthday::parse("02-29"),
            Some(Birthday { month: 2, day: 29 })
        );
        for bad in ["02-30", "13-01", "0-1", "14 March", "04-31"] {
            assert_eq!(Birthday::parse(bad), None, "{bad}");
        }
    }
}
