//! `guild insights customers | segments | kpis`: what the shop's node
//! computes from the ledger about its customers (docs/insights.md), as
//! tables for the shop owner, CSV for a spreadsheet, or JSON.
//!
//! Everything is checked before the node is asked: a segment that is not
//! one, a date that is not `YYYY-MM-DD`, a period that ends before it
//! starts. The node refuses an unknown shop with the list of shops.

use super::customers::{self, CustomersArgs};
use super::kpis::{self, KpisArgs};
use super::segments::{self, SegmentsArgs};
use crate::Globals;
use clap::{Subcommand, ValueEnum};
use guild_ledger::programme::{Currency, Locale};
use guild_ledger::types::Cents;

/// The insight reports (flattened into `guild insights`).
#[derive(Subcommand)]
pub enum ReportCommand {
    /// A shop's (or the group's) customers: purchases, spend, points,
    /// tier, RFM scores and segment, most spend first.
    Customers(CustomersArgs),
    /// How many customers each segment holds, with their spend.
    Segments(SegmentsArgs),
    /// The programme's KPIs over a period: activity, repeat and
    /// redemption rates, liability, retention by cohort, campaign results.
    Kpis(KpisArgs),
}

/// Runs one report.
pub fn run(command: ReportCommand, globals: &Globals) -> anyhow::Result<()> {
    match command {
        ReportCommand::Customers(args) => customers::run(args, globals),
        ReportCommand::Segments(args) => segments::run(args, globals),
        ReportCommand::Kpis(args) => kpis::run(args, globals),
    }
}

/// How a report is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned tables for people.
    Table,
    /// The node's answer as JSON.
    Json,
    /// Comma-separated values, one row per line, for a spreadsheet.
    Csv,
}

impl Format {
    /// The format to use: `--json` is `--format json`.
    pub fn resolve(self, globals: &Globals) -> Format {
        if globals.json { Format::Json } else { self }
    }
}

fn locale(currency: &Currency) -> Locale {
    Locale {
        currency: currency.clone(),
        zone: Vec::new(),
    }
}

/// A counted amount as people write it: `£12.50`.
pub fn money(currency: &Currency, minor: u64) -> String {
    locale(currency).money(Cents(minor))
}

/// An estimated amount (a mean, a prediction, a difference) rounded to
/// the currency's smallest unit: `£12.67`, `-£1.05`.
pub fn estimate(currency: &Currency, minor: f64) -> String {
    let rounded = minor.abs().round();
    let text = money(
        currency,
        if rounded.is_finite() {
            rounded as u64
        } else {
            0
        },
    );
    if minor < 0.0 && rounded > 0.0 {
        format!("-{text}")
    } else {
        text
    }
}

/// A counted amount in major units for CSV (`12.50`, no symbol).
pub fn decimal(currency: &Currency, minor: u64) -> String {
    locale(currency).decimal(Cents(minor))
}

/// A share as a percentage with one decimal, `-` for none.
pub fn percent(share: Option<f64>) -> String {
    share.map_or_else(|| "-".to_string(), |s| format!("{:.1}%", s * 100.0))
}

/// An optional number, empty for none (CSV).
pub fn number(value: Option<f64>) -> String {
    value.map_or_else(String::new, |v| format!("{v:.4}"))
}

/// Aligned rows without a header line (figure, value, note).
pub fn rows(out: &mut String, align: &str, rows: &[Vec<String>]) {
    let mut text = String::new();
    let headers = vec![""; rows.first().map_or(0, Vec::len)];
    crate::cmd::audit::render::table(&mut text, &headers, align, rows);
    out.extend(text.split_inclusive('\n').skip(1));
}

/// Who a report is about, for its title.
pub fn scope_title(shop: Option<&guild_api::InsightShop>) -> String {
    match shop {
        Some(shop) => shop.name.to_string(),
        None => "the group (all shops)".to_string(),
    }
}

/// The model columns' status in a sentence, if they are absent.
pub fn models_note(models: &guild_api::ModelsInfo) -> Option<String> {
    let absent = models.absent.as_ref()?;
    Some(format!(
        "Customer value columns (chance still active, lifetime value) are not shown: {}.",
        absent.message
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pounds() -> Currency {
        Locale::default().currency
    }

    #[test]
    fn amounts_are_written_with_the_currency() {
        let gbp = pounds();
        assert_eq!(money(&gbp, 1250), "£12.50");
        assert_eq!(estimate(&gbp, 1266.6), "£12.67");
        assert_eq!(estimate(&gbp, -105.2), "-£1.05");
        assert_eq!(estimate(&gbp, -0.2), "£0.00");
        assert_eq!(decimal(&gbp, 5), "0.05");
        let yen = Currency {
            code: "JPY".into(),
            symbol: "¥".into(),
            minor_units: 0,
        };
        assert_eq!(money(&yen, 1250), "¥1250");
        assert_eq!(decimal(&yen, 1250), "1250");
        assert_eq!(percent(Some(1.0 / 3.0)), "33.3%");
        assert_eq!(percent(None), "-");
    }
}
