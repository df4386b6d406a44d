//! `guild insights segments`.

use super::report::{Format, decimal, estimate, models_note, money, number, percent, scope_title};
use crate::Globals;
use crate::cmd::audit::render::{csv_row, table};
use crate::cmd::wallet::common::{block_on, print_json, with_json_errors};
use clap::Args;
use guild_api::{NodeClient, SegmentSummaries, SegmentsQuery};
use std::fmt::Write;

/// Options of `guild insights segments`.
#[derive(Args)]
pub struct SegmentsArgs {
    /// The shop: its name (any case) or address (default: the group).
    #[arg(long)]
    shop: Option<String>,
    /// Output format (--json is the same as --format json).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs the command.
pub fn run(args: SegmentsArgs, globals: &Globals) -> anyhow::Result<()> {
    let format = args.format.resolve(globals);
    with_json_errors(format == Format::Json, || {
        let client = NodeClient::new(&globals.node)?;
        let query = SegmentsQuery { shop: args.shop };
        let answer = block_on(client.insights_segments(&query))??;
        match format {
            Format::Json => print_json(&serde_json::to_value(&answer)?),
            Format::Csv => {
                print!("{}", csv(&answer));
                Ok(())
            }
            Format::Table => {
                print!("{}", text(&answer));
                Ok(())
            }
        }
    })
}

/// The segments as a table.
pub fn text(a: &SegmentSummaries) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Segments of {} as of {} (block {}): {} customer{}",
        scope_title(a.shop.as_ref()),
        a.as_of,
        a.height,
        a.customers,
        if a.customers == 1 { "" } else { "s" }
    );
    out.push('\n');
    let rows: Vec<Vec<String>> = a
        .segments
        .iter()
        .map(|s| {
            vec![
                s.label.clone(),
                s.customers.to_string(),
                percent(s.share),
                money(&a.currency, s.spend.0),
                s.average_spend
                    .map_or_else(|| "-".to_string(), |v| estimate(&a.currency, v)),
                s.average_recency_days
                    .map_or_else(|| "-".to_string(), |d| format!("{d:.0} days")),
                s.average_purchase_days
                    .map_or_else(|| "-".to_string(), |d| format!("{d:.1}")),
                s.average_clv
                    .map_or_else(|| "-".to_string(), |v| estimate(&a.currency, v)),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "segment",
            "customers",
            "share",
            "spend",
            "per customer",
            "last bought",
            "purchase days",
            "lifetime value",
        ],
        "lrrrrrrr",
        &rows,
    );
    let _ = writeln!(
        out,
        "\n  Segments follow from recency and frequency scores (docs/insights.md, \"Segments (RFM)\")."
    );
    if let Some(note) = models_note(&a.models) {
        let _ = writeln!(out, "  {note}");
    }
    out
}

/// The segments as CSV.
pub fn csv(a: &SegmentSummaries) -> String {
    let mut out = String::new();
    csv_row(
        &mut out,
        &[
            "segment",
            "label",
            "customers",
            "share",
            "spend",
            "currency",
            "average_recency_days",
            "average_purchase_days",
        ],
    );
    for s in &a.segments {
        csv_row(
            &mut out,
            &[
                s.segment.as_str(),
                &s.label,
                &s.customers.to_string(),
                &number(s.share),
                &decimal(&a.currency, s.spend.0),
                &a.currency.code,
                &number(s.average_recency_days),
                &number(s.average_purchase_days),
            ],
        );
    }
    out
}
