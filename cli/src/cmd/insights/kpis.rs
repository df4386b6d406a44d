//! `guild insights kpis`.

use super::report::{
    Format, decimal, estimate, models_note, money, number, percent, rows as rows_only, scope_title,
};
use crate::Globals;
use crate::cmd::audit::render::{csv_row, table};
use crate::cmd::wallet::common::{block_on, print_json, short, with_json_errors};
use anyhow::{Context, bail};
use clap::Args;
use guild_api::{Interval, KpiReport, KpisQuery, NodeClient};
use guild_audit::Date;
use guild_ledger::programme::Currency;
use std::fmt::Write;

/// Options of `guild insights kpis`.
#[derive(Args)]
pub struct KpisArgs {
    /// The shop: its name (any case) or address (default: the group).
    #[arg(long)]
    shop: Option<String>,
    /// The first day (YYYY-MM-DD, the shop's local day; default: 29 days
    /// before --to).
    #[arg(long)]
    from: Option<String>,
    /// The last day, included (default: today, the head block's day).
    #[arg(long)]
    to: Option<String>,
    /// Output format (--json is the same as --format json).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Runs the command.
pub fn run(args: KpisArgs, globals: &Globals) -> anyhow::Result<()> {
    let format = args.format.resolve(globals);
    with_json_errors(format == Format::Json, || {
        let parse = |text: &Option<String>, what: &str| {
            text.as_deref()
                .map(|t| Date::parse(t).with_context(|| format!("bad --{what}")))
                .transpose()
        };
        let (from, to) = (parse(&args.from, "from")?, parse(&args.to, "to")?);
        if let (Some(from), Some(to)) = (from, to)
            && to < from
        {
            bail!(
                "--to {to} is before --from {from}: the period must end on or after its first day"
            );
        }
        let client = NodeClient::new(&globals.node)?;
        let query = KpisQuery {
            shop: args.shop,
            from: from.map(|d| d.to_string()),
            to: to.map(|d| d.to_string()),
        };
        let answer = block_on(client.insights_kpis(&query))??;
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

fn of(part: u32, whole: u32) -> String {
    format!("{part} of {whole}")
}

/// An uplift with its interval, e.g. `+25.0 points (95% CI -13.1 to
/// +55.2)`, or for money `+£2.50 (95% CI -£1.00 to +£6.00)`.
fn uplift(i: &Interval, show: &dyn Fn(f64) -> String) -> String {
    let signed = |v: f64| {
        let text = show(v);
        if v >= 0.0 { format!("+{text}") } else { text }
    };
    match (i.low, i.high) {
        (Some(low), Some(high)) => format!(
            "{} (95% interval {} to {})",
            signed(i.estimate),
            signed(low),
            signed(high)
        ),
        _ => format!("{} (too few customers for an interval)", signed(i.estimate)),
    }
}

fn points_of_percent(v: f64) -> String {
    format!("{:.1} points", v * 100.0)
}

/// The KPIs as text for a shop owner.
pub fn text(k: &KpiReport) -> String {
    let mut out = String::new();
    let c = &k.currency;
    let _ = writeln!(
        out,
        "Programme KPIs of {}, {} to {} ({} days), at block {}",
        scope_title(k.shop.as_ref()),
        k.from,
        k.to,
        k.days,
        k.height
    );
    let _ = writeln!(out, "\nCustomers");
    let rows = vec![
        vec![
            "active customers".into(),
            k.active_customers.to_string(),
            format!("{} with a purchase by {}", k.customers, k.to),
        ],
        vec![
            "new customers".into(),
            k.new_customers.to_string(),
            "first purchase in the period".into(),
        ],
        vec![
            "repeat purchase rate".into(),
            percent(k.repeat_purchase_rate),
            format!(
                "{} bought on two or more days",
                of(k.repeat_customers, k.active_customers)
            ),
        ],
        vec![
            "bought at 2+ shops".into(),
            percent(k.multi_shop_share),
            of(k.multi_shop_customers, k.active_customers),
        ],
        vec![
            "purchases".into(),
            k.purchases.to_string(),
            format!(
                "{} spent{}",
                money(c, k.spend.0),
                k.spend_per_active_customer
                    .map_or_else(String::new, |v| format!(
                        ", {} per active customer",
                        estimate(c, v)
                    ))
            ),
        ],
    ];
    rows_only(&mut out, "lrl", &rows);
    let _ = writeln!(out, "\nPoints");
    let rows = vec![
        vec![
            "issued".into(),
            k.points_issued.to_string(),
            "in the period".into(),
        ],
        vec![
            "redeemed".into(),
            k.points_redeemed.to_string(),
            format!("redemption rate {}", percent(k.redemption_rate)),
        ],
        vec![
            "liability".into(),
            k.liability.to_string(),
            format!("points held by customers at the end of {}", k.to),
        ],
    ];
    rows_only(&mut out, "lrl", &rows);

    let _ = writeln!(
        out,
        "\nRetention by monthly cohort (share of each month's new customers buying k months later)"
    );
    let months = k
        .retention
        .cohorts
        .iter()
        .map(|r| r.retention.len())
        .max()
        .unwrap_or(0);
    let mut headers: Vec<String> = vec!["cohort".into(), "customers".into()];
    headers.extend((0..months).map(|m| format!("+{m}")));
    let rows: Vec<Vec<String>> = k
        .retention
        .cohorts
        .iter()
        .map(|r| {
            let mut row = vec![r.month.clone(), r.customers.to_string()];
            row.extend(r.retention.iter().map(|s| format!("{:.0}%", s * 100.0)));
            row
        })
        .collect();
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    table(
        &mut out,
        &header_refs,
        &format!("l{}", "r".repeat(months + 1)),
        &rows,
    );

    let _ = writeln!(out, "\nSegments at the end of {}", k.to);
    let rows: Vec<Vec<String>> = k
        .segments
        .iter()
        .filter(|s| s.customers > 0)
        .map(|s| {
            vec![
                s.segment.label().to_string(),
                s.customers.to_string(),
                money(c, s.spend.0),
                s.average_clv
                    .map_or_else(|| "-".to_string(), |v| estimate(c, v)),
            ]
        })
        .collect();
    table(
        &mut out,
        &["segment", "customers", "spend", "lifetime value"],
        "lrrr",
        &rows,
    );
    if let Some(note) = models_note(&k.models) {
        let _ = writeln!(out, "  {note}");
    }

    let _ = writeln!(out, "\nCampaigns that ran in the period");
    if k.campaigns.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
    for r in &k.campaigns {
        let state = if r.running {
            "running"
        } else if r.stopped.is_some() {
            "stopped"
        } else {
            "ended"
        };
        let _ = writeln!(
            out,
            "  #{} {}: {} to {} ({state}); {} of {} points given ({:.1}% of the budget); {} sales, {}",
            r.campaign,
            r.name,
            r.from,
            r.to,
            r.points_given,
            r.budget,
            r.budget_used * 100.0,
            r.sales,
            money(c, r.sales_spend.0)
        );
        if let Some(ab) = &r.ab {
            let group = |name: &str, g: &guild_api::AbGroup| {
                format!(
                    "{name} {} customers, {} bought ({})",
                    g.customers,
                    g.purchasers,
                    percent(g.purchase_rate)
                )
            };
            let _ = writeln!(
                out,
                "     holdout {:.1}% of {} eligible: {}; {}",
                f64::from(r.holdout_permille) / 10.0,
                ab.eligible,
                group("treated", &ab.treated),
                group("held out", &ab.holdout)
            );
            if let Some(i) = &ab.purchase_rate_uplift {
                let _ = writeln!(
                    out,
                    "     uplift in purchase rate {}",
                    uplift(i, &points_of_percent)
                );
            }
            if let Some(i) = &ab.spend_uplift {
                let _ = writeln!(
                    out,
                    "     uplift in spend per customer {}",
                    uplift(i, &|v| estimate(c, v))
                );
            }
        }
    }
    out
}

/// The KPIs as CSV in one long format: `section,key,figure,value`.
pub fn csv(k: &KpiReport) -> String {
    let mut out = String::new();
    let c: &Currency = &k.currency;
    csv_row(&mut out, &["section", "key", "figure", "value"]);
    let mut row = |section: &str, key: &str, figure: &str, value: String| {
        csv_row(&mut out, &[section, key, figure, &value]);
    };
    row("period", "", "from", k.from.clone());
    row("period", "", "to", k.to.clone());
    row("period", "", "currency", c.code.clone());
    row("customers", "", "customers", k.customers.to_string());
    row(
        "customers",
        "",
        "active_customers",
        k.active_customers.to_string(),
    );
    row(
        "customers",
        "",
        "new_customers",
        k.new_customers.to_string(),
    );
    row(
        "customers",
        "",
        "repeat_customers",
        k.repeat_customers.to_string(),
    );
    row(
        "customers",
        "",
        "repeat_purchase_rate",
        number(k.repeat_purchase_rate),
    );
    row(
        "customers",
        "",
        "multi_shop_customers",
        k.multi_shop_customers.to_string(),
    );
    row(
        "customers",
        "",
        "multi_shop_share",
        number(k.multi_shop_share),
    );
    row("customers", "", "purchases", k.purchases.to_string());
    row("customers", "", "spend", decimal(c, k.spend.0));
    row("points", "", "issued", k.points_issued.to_string());
    row("points", "", "redeemed", k.points_redeemed.to_string());
    row("points", "", "redemption_rate", number(k.redemption_rate));
    row("points", "", "liability", k.liability.to_string());
    for cohort in &k.retention.cohorts {
        row(
            "retention",
            &cohort.month,
            "customers",
            cohort.customers.to_string(),
        );
        for (m, share) in cohort.retention.iter().enumerate() {
            row(
                "retention",
                &cohort.month,
                &format!("month_{m}"),
                number(Some(*share)),
            );
        }
    }
    for s in &k.segments {
        row(
            "segments",
            s.segment.as_str(),
            "customers",
            s.customers.to_string(),
        );
        row(
            "segments",
            s.segment.as_str(),
            "spend",
            decimal(c, s.spend.0),
        );
    }
    for r in &k.campaigns {
        let key = r.campaign.to_string();
        row("campaigns", &key, "name", r.name.to_string());
        row(
            "campaigns",
            &key,
            "publisher",
            short(&r.publisher.to_string()),
        );
        row(
            "campaigns",
            &key,
            "points_given",
            r.points_given.to_string(),
        );
        row("campaigns", &key, "budget", r.budget.to_string());
        row("campaigns", &key, "sales", r.sales.to_string());
        row(
            "campaigns",
            &key,
            "sales_spend",
            decimal(c, r.sales_spend.0),
        );
        if let Some(ab) = &r.ab {
            row("campaigns", &key, "eligible", ab.eligible.to_string());
            row(
                "campaigns",
                &key,
                "treated_purchase_rate",
                number(ab.treated.purchase_rate),
            );
            row(
                "campaigns",
                &key,
                "holdout_purchase_rate",
                number(ab.holdout.purchase_rate),
            );
            if let Some(i) = &ab.purchase_rate_uplift {
                row(
                    "campaigns",
                    &key,
                    "purchase_rate_uplift",
                    number(Some(i.estimate)),
                );
                row("campaigns", &key, "purchase_rate_uplift_low", number(i.low));
                row(
                    "campaigns",
                    &key,
                    "purchase_rate_uplift_high",
                    number(i.high),
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> KpiReport {
        let shop = guild_ledger::Keypair::from_secret(&[1; 32])
            .address()
            .to_string();
        let ab = json!({
            "eligible": 20,
            "treated": {"customers": 8, "purchasers": 6, "purchase_rate": 0.75,
                "spend": 6000.0, "spend_per_customer": 750.0},
            "holdout": {"customers": 12, "purchasers": 6, "purchase_rate": 0.5,
                "spend": 6000.0, "spend_per_customer": 500.0},
            "purchase_rate_uplift": {"estimate": 0.25, "low": -0.131, "high": 0.552,
                "method": "newcombe_hybrid_score"},
            "spend_uplift": {"estimate": 250.0, "low": -100.0, "high": 600.0,
                "method": "welch"}
        });
        let campaign = json!({
            "campaign": 1, "name": "January bonus", "publisher": shop, "funders": [shop],
            "start": 1_768_003_200_000u64, "end": 1_770_681_600_000u64, "stopped": null,
            "running": false, "from": "2026-01-10", "to": "2026-02-09",
            "budget": 10000, "points_given": 500, "budget_used": 0.05,
            "sales": 10, "sales_spend": 10000, "holdout_permille": 500, "ab": ab
        });
        let retention = json!({"cohorts": [
            {"month": "2026-01", "customers": 3, "active": [3, 2], "retention": [1.0, 2.0 / 3.0]},
            {"month": "2026-02", "customers": 1, "active": [1], "retention": [1.0]}
        ]});
        let segments = json!([
            {"segment": "loyal", "customers": 1, "spend": 2300, "average_clv": null},
            {"segment": "champions", "customers": 0, "spend": 0, "average_clv": null}
        ]);
        let models = json!({"available": false, "absent": {"code": "too_few_repeat_customers",
            "message": "too few customers have come back"}, "repeat_customers": 2,
            "needed": 30, "horizon_weeks": 13.0});
        let mut report = json!({
            "height": 9, "time": 1_772_445_600_000u64,
            "shop": null,
            "currency": {"code": "GBP", "symbol": "£", "minor_units": 2},
            "from": "2026-02-01", "to": "2026-02-28", "days": 28,
            "customers": 4, "active_customers": 3, "new_customers": 1,
            "repeat_customers": 1, "repeat_purchase_rate": 1.0 / 3.0,
            "purchases": 6, "spend": 3800, "spend_per_active_customer": 3800.0 / 3.0,
            "points_issued": 68, "points_redeemed": 15, "redemption_rate": 15.0 / 68.0,
            "liability": 66, "multi_shop_customers": 1, "multi_shop_share": 1.0 / 3.0
        });
        report["retention"] = retention;
        report["segments"] = segments;
        report["models"] = models;
        report["campaigns"] = json!([campaign]);
        serde_json::from_value(report).unwrap()
    }

    #[test]
    fn the_kpi_text_reads_like_a_report() {
        let text = text(&report());
        println!("{text}");
        for line in [
            "Programme KPIs of the group (all shops), 2026-02-01 to 2026-02-28 (28 days), at block 9",
            "  active customers          3  4 with a purchase by 2026-02-28\n",
            "  repeat purchase rate  33.3%  1 of 3 bought on two or more days\n",
            "  purchases                 6  £38.00 spent, £12.67 per active customer\n",
            "Points\n  issued     68  in the period\n",
            "  redeemed   15  redemption rate 22.1%\n",
            "  liability  66  points held by customers at the end of 2026-02-28\n",
            "  cohort   customers    +0   +1\n  2026-01          3  100%  67%\n  2026-02          1  100%\n",
            "  Loyal            1  £23.00               -\n",
            "#1 January bonus: 2026-01-10 to 2026-02-09 (ended); 500 of 10000 points given (5.0% of the budget); 10 sales, £100.00",
            "holdout 50.0% of 20 eligible: treated 8 customers, 6 bought (75.0%); held out 12 customers, 6 bought (50.0%)",
            "uplift in purchase rate +25.0 points (95% interval -13.1 points to +55.2 points)",
            "uplift in spend per customer +£2.50 (95% interval -£1.00 to +£6.00)",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        // Empty segments are left out of the table.
        assert!(!text.contains("Champions"), "{text}");
    }

    #[test]
    fn the_kpi_csv_has_one_figure_a_row() {
        let csv = csv(&report());
        assert!(csv.starts_with("section,key,figure,value\n"), "{csv}");
        for line in [
            "customers,,active_customers,3",
            "customers,,spend,38.00",
            "points,,redemption_rate,0.2206",
            "retention,2026-01,month_1,0.6667",
            "campaigns,1,purchase_rate_uplift_low,-0.1310",
        ] {
            assert!(csv.lines().any(|l| l == line), "missing {line:?} in\n{csv}");
        }
    }
}
