//! Where the node's automations read customers from: the shop's customer
//! directory ([`DirectoryFacts`]) and the insights snapshot
//! ([`InsightScores`]), behind the traits of [`super::facts`]. The
//! automation's own erasure ([`AutomationErasure`]) is registered with the
//! directory, so erasing a customer also erases their outbox entries,
//! delivery log lines and to-dos.

use super::facts::{Birthday, Consents, CustomerFacts, CustomerScores};
use super::service::AutomationHandle;
use crate::directory::{Directory, Erasable, HolderError};
use crate::insights::Insights;
use guild_api::customers::CalendarDate;
use guild_insights::{Scope, Segment};
use guild_ledger::crypto::Address;
use guild_ledger::types::Height;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// The customer directory as automations read it: consent, name, e-mail
/// and birthday come from `customers.json`, live (a withdrawn consent
/// counts from the next check).
#[derive(Clone)]
pub struct DirectoryFacts(pub Directory);

impl CustomerFacts for DirectoryFacts {
    fn consents(&self, customer: &Address) -> Consents {
        Consents {
            messages: self.0.may_message(customer),
            profiling: self.0.may_profile(customer),
        }
    }

    fn name(&self, customer: &Address) -> Option<String> {
        self.0
            .get(customer)
            .and_then(|e| e.name.map(|n| n.as_str().to_string()))
    }

    fn email(&self, customer: &Address) -> Option<String> {
        self.0
            .get(customer)
            .and_then(|e| e.email.map(|m| m.as_str().to_string()))
    }

    fn birthday(&self, customer: &Address) -> Option<Birthday> {
        let birthday = self.0.get(customer)?.birthday?;
        Some(Birthday {
            month: birthday.month(),
            day: birthday.day(),
        })
    }

    fn birthdays_on(&self, month: u8, day: u8) -> Vec<Address> {
        // In a leap year a date matches exactly its own birthdays (the
        // automation itself adds 29 February's to 28 February).
        self.0.birthdays_on(CalendarDate {
            year: 2000,
            month,
            day,
        })
    }
}

/// Each customer's segment and P(active), as of one snapshot height.
type ScoreTable = Arc<HashMap<Address, (Segment, Option<f64>)>>;

/// Segments and P(active) of the shop's customers from the latest
/// insights snapshot (the shop's own scope; the group's on an observer).
pub struct InsightScores {
    insights: Insights,
    scope: Scope,
    cache: Mutex<Option<(Height, ScoreTable)>>,
}

impl InsightScores {
    /// Scores of `shop`'s customers (`None`: the group's).
    pub fn new(insights: Insights, shop: Option<Address>) -> InsightScores {
        InsightScores {
            insights,
            scope: shop.map_or(Scope::Group, Scope::Shop),
            cache: Mutex::new(None),
        }
    }

    fn lookup(&self, customer: &Address) -> Option<(Segment, Option<f64>)> {
        let snapshot = self.insights.snapshot().ok()?;
        let height = snapshot.height();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let table = match cache.as_ref() {
            Some((at, table)) if *at == height => table.clone(),
            _ => {
                let rows = snapshot.rows(self.scope);
                let table: ScoreTable = Arc::new(
                    rows.rows
                        .iter()
                        .map(|r| (r.customer, (r.segment, r.p_alive)))
                        .collect(),
                );
                *cache = Some((height, table.clone()));
                table
            }
        };
        table.get(customer).copied()
    }
}

impl CustomerScores for InsightScores {
    fn segment(&self, customer: &Address) -> Option<Segment> {
        self.lookup(customer).map(|(segment, _)| segment)
    }

    fn p_active(&self, customer: &Address) -> Option<f64> {
        self.lookup(customer).and_then(|(_, p)| p)
    }
}

/// The automations' data about a customer, erased with their directory
/// entry.
pub struct AutomationErasure {
    /// The running automation service.
    pub handle: AutomationHandle,
    /// The runtime the service's handle is asked on (erasure is called
    /// from a blocking thread).
    pub runtime: tokio::runtime::Handle,
}

impl Erasable for AutomationErasure {
    fn holder(&self) -> &str {
        "automations (outbox, delivery log, to-dos)"
    }

    fn erase(&self, customer: &Address) -> Result<u64, HolderError> {
        let removed = self
            .runtime
            .block_on(self.handle.forget(*customer))
            .map_err(|e| HolderError::new(e.to_string()))?;
        Ok(u64::try_from(removed).unwrap_or(u64::MAX))
    }
}
