//! What automations know of a customer beyond the ledger: directory facts
//! (consent, birthday, name, e-mail) and scores (segment, probability of
//! being active).
//!
//! Both come through traits, so the automation never depends on where
//! they live:
//!
//! - [`CustomerFacts`]: the shop's customer directory. Until the node's
//!   directory is wired in, [`FileFacts`] reads them from
//!   `automation/customers.json` (an export the shop maintains; re-read
//!   whenever it changes, so a withdrawn consent counts from the next
//!   check). A customer the facts do not know has given no consent.
//! - [`CustomerScores`]: the insights snapshot (segments from RFM, and
//!   the models' P(active)). [`NoScores`] knows none: at-risk triggers and
//!   segment conditions then never hold.
//!
//! [`MemoryFacts`] and [`MemoryScores`] hold them in memory (tests).

use guild_insights::Segment;
use guild_ledger::crypto::Address;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};
use std::time::SystemTime;

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

/// The file [`FileFacts`] reads, in the automation directory.
pub const FACTS_FILE: &str = "customers.json";
/// The largest facts file read.
const MAX_FACTS_BYTES: u64 = 8 * 1024 * 1024;
/// The most customers read from it.
pub const MAX_FACTS_CUSTOMERS: usize = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsFile {
    version: u32,
    customers: Vec<FactsLine>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FactsLine {
    address: Address,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    /// `MM-DD`.
    #[serde(default)]
    birthday: Option<String>,
    #[serde(default)]
    consent: Consents,
}

/// Directory facts from `automation/customers.json`:
///
/// ```json
/// { "version": 1,
///   "customers": [
///     { "address": "guild1…", "name": "Mrs Lee", "email": "lee@example.com",
///       "birthday": "03-14", "consent": { "messages": true, "profiling": false } } ] }
/// ```
///
/// The file is looked at (size, modification time, inode) on every
/// question and re-read when it changed. A file that cannot be read or
/// parsed counts as no facts at all (no consent), and is logged.
#[derive(Debug)]
pub struct FileFacts {
    path: PathBuf,
    cache: Mutex<FactsCache>,
}

#[derive(Debug, Default)]
struct FactsCache {
    stamp: Option<Option<(u64, Option<SystemTime>, u64)>>,
    facts: HashMap<Address, Facts>,
}

impl FileFacts {
    /// The facts file of the automation directory `dir`.
    pub fn new(dir: &Path) -> FileFacts {
        FileFacts {
            path: dir.join(FACTS_FILE),
            cache: Mutex::new(FactsCache::default()),
        }
    }

    fn stamp(&self) -> Option<(u64, Option<SystemTime>, u64)> {
        let metadata = std::fs::metadata(&self.path).ok()?;
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
        #[cfg(not(unix))]
        let inode = 0;
        Some((metadata.len(), metadata.modified().ok(), inode))
    }

    fn read(&self) -> Result<HashMap<Address, Facts>, String> {
        let Some(bytes) = guild_os::durable::read_bounded(&self.path, MAX_FACTS_BYTES)
            .map_err(|e| e.to_string())?
        else {
            return Ok(HashMap::new());
        };
        let file: FactsFile = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        if file.version != 1 {
            return Err(format!(
                "format version {} (this node reads 1)",
                file.version
            ));
        }
        if file.customers.len() > MAX_FACTS_CUSTOMERS {
            return Err(format!("more than {MAX_FACTS_CUSTOMERS} customers"));
        }
        let mut facts = HashMap::new();
        for line in file.customers {
            let birthday = match &line.birthday {
                Some(text) => Some(
                    Birthday::parse(text)
                        .ok_or_else(|| format!("birthday {text:?} is not MM-DD"))?,
                ),
                None => None,
            };
            facts.insert(
                line.address,
                Facts {
                    name: line.name.map(|n| n.chars().take(100).collect()),
                    email: line.email.map(|e| e.chars().take(254).collect()),
                    birthday,
                    consents: line.consent,
                },
            );
        }
        Ok(facts)
    }

    fn with<T>(&self, f: impl FnOnce(&HashMap<Address, Facts>) -> T) -> T {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let stamp = self.stamp();
        if cache.stamp != Some(stamp) {
            cache.facts = match self.read() {
                Ok(facts) => facts,
                Err(error) => {
                    tracing::error!(path = %self.path.display(), %error, "the customer facts file cannot be read: no customer counts as consenting");
                    HashMap::new()
                }
            };
            cache.stamp = Some(stamp);
        }
        f(&cache.facts)
    }
}

impl CustomerFacts for FileFacts {
    fn consents(&self, customer: &Address) -> Consents {
        self.with(|f| f.get(customer).map(|c| c.consents).unwrap_or_default())
    }
    fn name(&self, customer: &Address) -> Option<String> {
        self.with(|f| f.get(customer).and_then(|c| c.name.clone()))
    }
    fn email(&self, customer: &Address) -> Option<String> {
        self.with(|f| f.get(customer).and_then(|c| c.email.clone()))
    }
    fn birthday(&self, customer: &Address) -> Option<Birthday> {
        self.with(|f| f.get(customer).and_then(|c| c.birthday))
    }
    fn birthdays_on(&self, month: u8, day: u8) -> Vec<Address> {
        self.with(|f| {
            let mut found: Vec<Address> = f
                .iter()
                .filter(|(_, c)| c.birthday == Some(Birthday { month, day }))
                .map(|(a, _)| *a)
                .collect();
            found.sort();
            found
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::crypto::Keypair;

    #[test]
    fn file_facts_follow_the_file_and_a_withdrawn_consent_counts_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let facts = FileFacts::new(dir.path());
        let lee = Keypair::from_secret(&[7; 32]).address();
        assert_eq!(facts.consents(&lee), Consents::default());
        let write = |messages: bool| {
            let text = format!(
                r#"{{"version":1,"customers":[{{"address":"{lee}","name":"Mrs Lee","birthday":"03-14","consent":{{"messages":{messages}}}}}]}}"#
            );
            guild_os::durable::write_atomically(
                &dir.path().join(FACTS_FILE),
                text.as_bytes(),
                guild_os::durable::Existing::Replace,
            )
            .unwrap();
        };
        write(true);
        assert!(facts.consents(&lee).messages);
        assert!(!facts.consents(&lee).profiling);
        assert_eq!(facts.name(&lee).as_deref(), Some("Mrs Lee"));
        assert_eq!(facts.birthdays_on(3, 14), vec![lee]);
        assert!(facts.birthdays_on(3, 15).is_empty());
        write(false);
        assert!(!facts.consents(&lee).messages, "re-read at once");
        std::fs::write(dir.path().join(FACTS_FILE), b"{ not json").unwrap();
        assert_eq!(facts.consents(&lee), Consents::default());
    }

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
