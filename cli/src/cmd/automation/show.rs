//! How `guild automation` prints for people: automations, the delivery
//! log, to-dos and the report.

use crate::cmd::wallet::common::short;
use guild_api::automation::{
    AutomationInfo, AutomationReport, Automations, Condition, Deliveries, GroupOutcome,
    ReportGroup, Todos,
};
use guild_ledger::programme::Locale;
use guild_ledger::types::Timestamp;
use guild_wallet::builder::format_time;

/// `100` per mille → `10%`.
pub fn permille(value: u16) -> String {
    if value.is_multiple_of(10) {
        format!("{}%", value / 10)
    } else {
        format!("{}.{}%", value / 10, value % 10)
    }
}

fn condition_text(condition: &Condition) -> String {
    let mut parts = Vec::new();
    if !condition.segments.is_empty() {
        let names: Vec<&str> = condition.segments.iter().map(|s| s.as_str()).collect();
        parts.push(format!("segment {}", names.join(",")));
    }
    if !condition.tiers.is_empty() {
        let names: Vec<&str> = condition.tiers.iter().map(|t| t.as_str()).collect();
        parts.push(format!("tier {}", names.join(",")));
    }
    if let Some(min) = condition.min_balance {
        parts.push(format!("holds at least {} points", min.0));
    }
    if condition.message_consent {
        parts.push("consent to messages".into());
    }
    if parts.is_empty() {
        "everyone".into()
    } else {
        parts.join(", ")
    }
}

/// One automation, in a few lines.
pub fn automation(info: &AutomationInfo) {
    println!(
        "  {} ({}){}",
        info.name,
        info.event_type,
        if info.enabled { "" } else { ", disabled" }
    );
    println!("    when:   {}", info.trigger_text);
    println!("    who:    {}", condition_text(&info.condition));
    println!("    does:   {}", info.action_text);
    let consents: Vec<String> = info.consents.iter().map(|c| c.to_string()).collect();
    println!(
        "    needs:  {}",
        if consents.is_empty() {
            "no consent (it does not contact the customer)".to_string()
        } else {
            format!("the customer's consent to {}", consents.join(" and "))
        }
    );
    if info.holdout_permille > 0 {
        println!("    holds out {}", permille(info.holdout_permille));
    }
}

/// Every automation.
pub fn automations(all: &Automations) {
    if all.automations.is_empty() {
        println!(
            "No automations yet. Add one, e.g.:\n  guild automation add birthday-treat --trigger birthday --action reward:birthday"
        );
        return;
    }
    for info in &all.automations {
        automation(info);
    }
}

/// The delivery log.
pub fn deliveries(log: &Deliveries, explain: bool) {
    println!(
        "{} waiting, {} given up{}",
        log.waiting,
        log.dead,
        if log.dead > 0 {
            " (`guild automation deliveries --status dead` lists them)"
        } else {
            ""
        }
    );
    if log.deliveries.is_empty() {
        println!("No events.");
        return;
    }
    println!(
        "{:<10} {:<16} {:<17} {:<16} {:>8}  {:<23}  result",
        "status", "automation", "event", "customer", "attempts", "fired"
    );
    for d in &log.deliveries {
        let result = match (&d.outcome, d.next_attempt_ms) {
            (Some(outcome), _) => outcome.clone(),
            (None, Some(next)) => format!(
                "next try {}{}",
                format_time(Timestamp(next)),
                d.attempts
                    .last()
                    .map(|a| format!(" (last: {})", a.detail))
                    .unwrap_or_default()
            ),
            (None, None) => String::new(),
        };
        println!(
            "{:<10} {:<16} {:<17} {:<16} {:>8}  {:<23}  {}",
            d.status.as_str(),
            short(&d.automation),
            d.event_type.as_str(),
            short(&d.customer.to_string()),
            d.attempt_count,
            format_time(Timestamp(d.created_ms)),
            result
        );
        if explain {
            println!("    id {}  cause {}", d.id, d.cause);
            println!("    why: {}", d.explanation.summary);
            for held in &d.explanation.conditions {
                println!("         {held}");
            }
            if let Some(segment) = d.explanation.segment {
                println!("    segment {}", segment.label());
            }
            if let Some(tier) = &d.explanation.tier {
                println!("    tier {tier}");
            }
            for a in &d.attempts {
                println!(
                    "    {} {} {}",
                    format_time(Timestamp(a.at_ms)),
                    if a.ok { "ok    " } else { "failed" },
                    a.detail
                );
            }
        }
    }
}

/// The to-dos.
pub fn todos(todos: &Todos) {
    if todos.todos.is_empty() {
        println!("Nothing to do.");
        return;
    }
    for t in &todos.todos {
        let state = match t.done_ms {
            Some(done) => format!("done {}", format_time(Timestamp(done))),
            None => "open".into(),
        };
        println!("[{state}] {}", t.text);
        println!(
            "    {}  ({}, {})",
            t.id,
            t.automation,
            format_time(Timestamp(t.created_ms))
        );
    }
    println!("Mark one done with `guild automation done ID`.");
}

fn rate(part: u32, whole: u32) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.1}%", f64::from(part) * 100.0 / f64::from(whole))
    }
}

fn outcome(label: &str, group: &GroupOutcome, window: u32, locale: &Locale) -> String {
    format!(
        "{label}: {} customers, {} bought here within {window} days ({}), {} purchases, spent {}",
        group.customers,
        group.purchasers,
        rate(group.purchasers, group.customers),
        group.purchases,
        locale.money(group.spend)
    )
}

fn groups(label: &str, groups: &[ReportGroup]) {
    let parts: Vec<String> = groups
        .iter()
        .map(|g| {
            format!(
                "{} {} (held out {}, done {}, rewards {})",
                g.group, g.fired, g.held_out, g.delivered, g.rewards
            )
        })
        .collect();
    println!("    {label:<11} {}", parts.join(" · "));
}

/// The report.
pub fn report(report: &AutomationReport, locale: &Locale) {
    if report.automations.is_empty() {
        println!("No automations have fired yet.");
        return;
    }
    for row in &report.automations {
        println!(
            "{} ({}{})",
            row.automation,
            row.event_type,
            row.holdout_permille
                .map(|h| format!(", holdout {}", permille(h)))
                .unwrap_or_else(|| ", removed".into())
        );
        println!(
            "    fired {}, held out {}, done {}, waiting {}, cancelled {}, given up {}, rewards {} ({} points)",
            row.fired,
            row.held_out,
            row.delivered,
            row.waiting,
            row.cancelled,
            row.dead,
            row.rewards,
            row.reward_points.0
        );
        groups("by segment:", &row.by_segment);
        groups("by tier:", &row.by_tier);
        println!(
            "    {}",
            outcome("treated", &row.treated, report.window_days, locale)
        );
        println!(
            "    {}",
            outcome("held out", &row.holdout, report.window_days, locale)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_and_rates_read_well() {
        assert_eq!(permille(100), "10%");
        assert_eq!(permille(25), "2.5%");
        assert_eq!(rate(1, 3), "33.3%");
        assert_eq!(rate(0, 0), "-");
    }
}
