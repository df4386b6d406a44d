//! `guild insights customers`.

use super::report::{Format, decimal, models_note, money, number, scope_title};
use crate::Globals;
use crate::cmd::audit::render::{csv_row, table};
use crate::cmd::wallet::common::{block_on, print_json, short, with_json_errors};
use anyhow::bail;
use clap::Args;
use guild_api::insights::MAX_CUSTOMERS_PAGE;
use guild_api::{CustomerInsights, CustomersQuery, NodeClient, Segment};
use std::fmt::Write;

/// Options of `guild insights customers`.
#[derive(Args)]
pub struct CustomersArgs {
    /// The shop: its name (any case) or address (default: the group, all
    /// shops' purchases together).
    #[arg(long)]
    shop: Option<String>,
    /// Only the customers of this segment: champions, loyal,
    /// potential_loyalist, new, promising, need_attention, about_to_sleep,
    /// cant_lose_them, at_risk, hibernating.
    #[arg(long)]
    segment: Option<String>,
    /// How many customers, most spend first (0: all; default 50 in a
    /// table, all in CSV and JSON).
    #[arg(long)]
    limit: Option<u32>,
    /// Output format (--json is the same as --format json).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Customers shown in a table when no --limit is given.
const TABLE_ROWS: u32 = 50;

/// The most customers the command reads (20 pages).
const MAX_ROWS: u32 = 20 * MAX_CUSTOMERS_PAGE;

/// Runs the command.
pub fn run(args: CustomersArgs, globals: &Globals) -> anyhow::Result<()> {
    let format = args.format.resolve(globals);
    with_json_errors(format == Format::Json, || {
        let segment = args
            .segment
            .as_deref()
            .map(str::parse::<Segment>)
            .transpose()?;
        let limit = match (args.limit, format) {
            (Some(0), _) => MAX_ROWS,
            (Some(n), _) => n.min(MAX_ROWS),
            (None, Format::Table) => TABLE_ROWS,
            (None, _) => MAX_ROWS,
        };
        let client = NodeClient::new(&globals.node)?;
        let answer = fetch(&client, args.shop.clone(), segment, limit)?;
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

/// Reads up to `limit` customers, a page at a time, into one answer (all
/// pages of one head: if the chain moves on between pages, it reads them
/// again, up to three times).
fn fetch(
    client: &NodeClient,
    shop: Option<String>,
    segment: Option<Segment>,
    limit: u32,
) -> anyhow::Result<CustomerInsights> {
    for _ in 0..3 {
        if let Some(answer) = fetch_pages(client, shop.clone(), segment, limit)? {
            return Ok(answer);
        }
    }
    bail!(
        "the chain moved on while the customers were being read, three times; try again, or ask for fewer with --limit"
    )
}

fn fetch_pages(
    client: &NodeClient,
    shop: Option<String>,
    segment: Option<Segment>,
    limit: u32,
) -> anyhow::Result<Option<CustomerInsights>> {
    let mut query = CustomersQuery {
        shop,
        segment: segment.map(|s| s.as_str().to_string()),
        limit: Some(limit.min(MAX_CUSTOMERS_PAGE)),
        offset: None,
    };
    let mut answer = block_on(client.insights_customers(&query))??;
    while (answer.customers.len() as u32) < limit.min(answer.matching) {
        let got = answer.customers.len() as u32;
        query.offset = Some(got);
        query.limit = Some((limit - got).min(MAX_CUSTOMERS_PAGE));
        let page = block_on(client.insights_customers(&query))??;
        if page.height != answer.height {
            return Ok(None);
        }
        if page.customers.is_empty() {
            break;
        }
        answer.customers.extend(page.customers);
    }
    Ok(Some(answer))
}

/// The customers as a table.
pub fn text(a: &CustomerInsights) -> String {
    let mut out = String::new();
    let which = match a.segment {
        Some(s) => format!(" in segment {}", s.label()),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "Customers of {}{which} as of {} (block {}): {} of {} customer{}",
        scope_title(a.shop.as_ref()),
        a.as_of,
        a.height,
        a.matching,
        a.customers_total,
        if a.customers_total == 1 { "" } else { "s" }
    );
    let with_models = a.models.available;
    let mut headers = vec![
        "customer",
        "segment",
        "R",
        "F",
        "M",
        "first",
        "last",
        "days",
        "purchases",
        "spend",
        "points",
        "balance",
        "tier",
    ];
    let mut align = String::from("llrrrllrrrrrl");
    if with_models {
        headers.extend(["active", "CLV"]);
        align.push_str("rr");
    }
    let rows: Vec<Vec<String>> = a
        .customers
        .iter()
        .map(|c| {
            let mut row = vec![
                short(&c.customer.to_string()),
                c.segment.label().to_string(),
                c.rfm.r.to_string(),
                c.rfm.f.to_string(),
                c.rfm.m.to_string(),
                c.first_purchase.clone(),
                c.last_purchase.clone(),
                c.purchase_days.to_string(),
                c.purchases.to_string(),
                money(&a.currency, c.spend.0),
                c.points_earned.to_string(),
                c.balance.to_string(),
                c.tier
                    .as_ref()
                    .map_or_else(|| "-".to_string(), |t| t.to_string()),
            ];
            if with_models {
                row.push(super::report::percent(c.p_alive));
                row.push(c.clv.map_or_else(
                    || "-".to_string(),
                    |v| super::report::estimate(&a.currency, v),
                ));
            }
            row
        })
        .collect();
    out.push('\n');
    table(&mut out, &headers, &align, &rows);
    let shown = a.customers.len() as u32;
    if shown < a.matching.saturating_sub(a.offset) {
        let _ = writeln!(
            out,
            "\n  … and {} more (--limit 0 shows all; --format csv for a spreadsheet).",
            a.matching - a.offset - shown
        );
    }
    let _ = writeln!(
        out,
        "\n  R, F, M: recency, frequency (purchase days) and spend scores, 1 to 5 among these customers."
    );
    if let Some(note) = models_note(&a.models) {
        let _ = writeln!(out, "  {note}");
    }
    out
}

/// The customers as CSV: one row each, amounts in major units.
pub fn csv(a: &CustomerInsights) -> String {
    let mut out = String::new();
    csv_row(
        &mut out,
        &[
            "customer",
            "segment",
            "r",
            "f",
            "m",
            "first_purchase",
            "last_purchase",
            "recency_days",
            "purchase_days",
            "purchases",
            "spend",
            "currency",
            "points_earned",
            "points_redeemed",
            "balance",
            "tier",
            "p_alive",
            "expected_purchases",
            "clv",
        ],
    );
    let major = |v: Option<f64>| {
        let unit = 10f64.powi(i32::from(a.currency.minor_units));
        number(v.map(|v| v / unit))
    };
    for c in &a.customers {
        csv_row(
            &mut out,
            &[
                &c.customer.to_string(),
                c.segment.as_str(),
                &c.rfm.r.to_string(),
                &c.rfm.f.to_string(),
                &c.rfm.m.to_string(),
                &c.first_purchase,
                &c.last_purchase,
                &c.recency_days.to_string(),
                &c.purchase_days.to_string(),
                &c.purchases.to_string(),
                &decimal(&a.currency, c.spend.0),
                &a.currency.code,
                &c.points_earned.to_string(),
                &c.points_redeemed.to_string(),
                &c.balance.to_string(),
                &c.tier.as_ref().map_or_else(String::new, |t| t.to_string()),
                &number(c.p_alive),
                &number(c.expected_purchases),
                &major(c.clv),
            ],
        );
    }
    out
}
