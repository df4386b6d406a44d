//! The automation report, and who is held out.
//!
//! ## Holdout
//!
//! An automation with a holdout of `h` per mille leaves out the customers
//! whose draw — the first two bytes of
//! `tagged_hash("guild/automation-holdout/v1", automation name, customer)`
//! as a big-endian number, modulo 1000 — is below `h` (as the ledger's
//! campaign holdout does, per campaign). The draw depends on nothing
//! else, so a customer is always in the same group of an automation: the
//! groups are stable across events, restarts and nodes, and anyone can
//! recompute them.
//!
//! ## The report
//!
//! Per automation, from the outbox's entries (the last
//! [`super::outbox::KEEP_FINISHED_DAYS`] days): events fired, held out,
//! delivered, waiting, cancelled, dead, rewards and their points, broken
//! down by the customer's segment and tier when it fired (so a shop sees
//! whether its automation treats some customers differently), and for the
//! A/B comparison what each group did afterwards: customers, those who
//! bought here within [`WINDOW_DAYS`] after their first event, their
//! purchase days and spend, from this shop's receipts on the ledger. The
//! uplift and its confidence interval are computed from these two groups
//! by `guild_insights::ab` (difference of proportions and of means).

use super::history::ShopHistory;
use super::outbox::EntryState;
use super::spec::Automation;
use guild_api::automation::{
    Action, AutomationReport, AutomationReportRow, DeliveryStatus, GroupOutcome, ReportGroup,
};
use guild_ledger::crypto::Address;
use guild_ledger::hash::tagged_hash;
use guild_ledger::types::{Cents, Points};
use std::collections::BTreeMap;

/// The domain of the holdout draw.
const HOLDOUT_DOMAIN: &str = "guild/automation-holdout/v1";

/// Days after an event in which purchases count as its outcome.
pub const WINDOW_DAYS: u32 = 30;

/// True if `customer` is held out of `automation` with a holdout of
/// `permille` (see the module documentation).
pub fn held_out(automation: &str, customer: &Address, permille: u16) -> bool {
    if permille == 0 {
        return false;
    }
    let hash = tagged_hash(HOLDOUT_DOMAIN, &[automation.as_bytes(), &customer.0]);
    let draw = u16::from_be_bytes([hash.0[0], hash.0[1]]) % 1000;
    draw < permille
}

fn add_group(groups: &mut BTreeMap<String, ReportGroup>, key: String, state: &EntryState) {
    let group = groups.entry(key.clone()).or_insert_with(|| ReportGroup {
        group: key,
        ..ReportGroup::default()
    });
    group.fired += 1;
    match state.status {
        DeliveryStatus::HeldOut => group.held_out += 1,
        DeliveryStatus::Delivered => {
            group.delivered += 1;
            if matches!(state.entry.action, Action::Reward { .. }) {
                group.rewards += 1;
                group.reward_points = Points(
                    group
                        .reward_points
                        .0
                        .saturating_add(state.reward_points.map_or(0, |p| p.0)),
                );
            }
        }
        DeliveryStatus::Cancelled | DeliveryStatus::Dead => group.not_delivered += 1,
        DeliveryStatus::Pending | DeliveryStatus::Retrying => {}
    }
}

/// The report over `entries`, for the automations defined now
/// (`automations`) and any that fired and were removed since. `day_of`
/// turns an instant into a local day; `today` is today's.
pub fn report<'a>(
    entries: impl Iterator<Item = &'a EntryState>,
    automations: &[Automation],
    history: &ShopHistory,
    day_of: impl Fn(u64) -> u64,
    today: u64,
    now_ms: u64,
) -> AutomationReport {
    let mut by_name: BTreeMap<String, Vec<&EntryState>> = automations
        .iter()
        .map(|a| (a.name.clone(), Vec::new()))
        .collect();
    for state in entries {
        by_name
            .entry(state.entry.automation.clone())
            .or_default()
            .push(state);
    }
    let rows = by_name
        .into_iter()
        .map(|(name, states)| {
            let defined = automations.iter().find(|a| a.name == name);
            let event_type = defined
                .map(|a| a.trigger.event_type())
                .or_else(|| states.first().map(|s| s.entry.event_type))
                .unwrap_or(guild_api::EventType::PointsEarned);
            let mut row = AutomationReportRow {
                automation: name,
                event_type,
                holdout_permille: defined.map(|a| a.holdout_permille),
                fired: 0,
                held_out: 0,
                delivered: 0,
                waiting: 0,
                cancelled: 0,
                dead: 0,
                rewards: 0,
                reward_points: Points::ZERO,
                by_segment: Vec::new(),
                by_tier: Vec::new(),
                treated: GroupOutcome::default(),
                holdout: GroupOutcome::default(),
            };
            let mut segments = BTreeMap::new();
            let mut tiers = BTreeMap::new();
            // Each customer's first event, per group.
            let mut first: BTreeMap<(bool, Address), u64> = BTreeMap::new();
            for state in &states {
                row.fired += 1;
                match state.status {
                    DeliveryStatus::HeldOut => row.held_out += 1,
                    DeliveryStatus::Delivered => {
                        row.delivered += 1;
                        if matches!(state.entry.action, Action::Reward { .. }) {
                            row.rewards += 1;
                            row.reward_points = Points(
                                row.reward_points
                                    .0
                                    .saturating_add(state.reward_points.map_or(0, |p| p.0)),
                            );
                        }
                    }
                    DeliveryStatus::Cancelled => row.cancelled += 1,
                    DeliveryStatus::Dead => row.dead += 1,
                    DeliveryStatus::Pending | DeliveryStatus::Retrying => row.waiting += 1,
                }
                let explanation = &state.entry.explanation;
                let segment = explanation
                    .segment
                    .map_or("unknown".to_string(), |s| s.as_str().to_string());
                let tier = explanation
                    .tier
                    .as_ref()
                    .map_or("none".to_string(), |t| t.to_string());
                add_group(&mut segments, segment, state);
                add_group(&mut tiers, tier, state);
                let key = (
                    state.status == DeliveryStatus::HeldOut,
                    state.entry.customer,
                );
                let day = day_of(state.entry.time_ms);
                first
                    .entry(key)
                    .and_modify(|d| *d = (*d).min(day))
                    .or_insert(day);
            }
            for ((held, customer), day) in first {
                let outcome = if held {
                    &mut row.holdout
                } else {
                    &mut row.treated
                };
                outcome.customers += 1;
                let to = day.saturating_add(u64::from(WINDOW_DAYS)).min(today);
                if let Some(history) = history.customer(&customer)
                    && to > day
                {
                    let (purchases, spend) = history.between(day + 1, to);
                    if purchases > 0 {
                        outcome.purchasers += 1;
                    }
                    outcome.purchases = outcome.purchases.saturating_add(purchases);
                    outcome.spend = Cents(outcome.spend.0.saturating_add(spend.0));
                }
            }
            row.by_segment = segments.into_values().collect();
            row.by_tier = tiers.into_values().collect();
            row
        })
        .collect();
    AutomationReport {
        generated_ms: now_ms,
        window_days: WINDOW_DAYS,
        automations: rows,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::crypto::Keypair;

    #[test]
    fn the_holdout_group_is_stable_and_near_its_share() {
        let customers: Vec<Address> = (0..4000u32)
            .map(|i| {
                let mut seed = [0u8; 32];
                seed[..4].copy_from_slice(&i.to_be_bytes());
                Keypair::from_secret(&seed).address()
            })
            .collect();
        let out: Vec<bool> = customers
            .iter()
            .map(|c| held_out("win-back", c, 100))
            .collect();
        // The same answer every time, for every customer.
        for (c, first) in customers.iter().zip(&out) {
            assert_eq!(held_out("win-back", c, 100), *first);
        }
        let share = out.iter().filter(|h| **h).count();
        assert!(
            (300..=500).contains(&share),
            "{share} of 4000 held out at 10%"
        );
        // Another automation draws its own groups.
        let other = customers
            .iter()
            .filter(|c| held_out("birthday-treat", c, 100))
            .count();
        let both = customers
            .iter()
            .filter(|c| held_out("birthday-treat", c, 100) && held_out("win-back", c, 100))
            .count();
        assert!((300..=500).contains(&other));
        assert!(both < 100, "independent draws overlap in about 1%: {both}");
        // A larger holdout keeps everyone a smaller one held out.
        for c in &customers {
            if held_out("win-back", c, 100) {
                assert!(held_out("win-back", c, 200));
            }
        }
        assert!(customers.iter().all(|c| !held_out("win-back", c, 0)));
    }

    #[test]
    fn a_known_draw_is_pinned() {
        // Pins the draw's definition: a change would regroup every shop's
        // customers and spoil running comparisons.
        let customer = Keypair::from_secret(&[1; 32]).address();
        let hash = tagged_hash(HOLDOUT_DOMAIN, &[b"win-back", &customer.0]);
        let draw = u16::from_be_bytes([hash.0[0], hash.0[1]]) % 1000;
        assert_eq!(draw, 284);
        assert!(held_out("win-back", &customer, draw + 1));
        assert!(!held_out("win-back", &customer, draw));
    }
}
