//! Text renderings of the audit's results: aligned tables for people, and
//! CSV in one long format (`section,shop,other,figure,value`) for
//! spreadsheets. JSON is the structs' `serde` form. The figures come from
//! the `guild-audit` crate, which returns data only; presentation is the
//! command's.

use guild_audit::{PeriodInfo, Report, Statement, Summary};
use guild_ledger::programme::Locale;
use guild_ledger::types::Cents;
use std::fmt::Write;

/// An amount with the currency's symbol (the locale's one formatter).
fn money(l: &Locale, cents: Option<u64>) -> String {
    cents.map_or_else(|| "overflow".to_string(), |c| l.money(Cents(c)))
}

fn signed_money(l: &Locale, cents: Option<i128>) -> String {
    cents.map_or_else(|| "overflow".to_string(), |c| l.signed_money(c))
}

fn percent(ratio: Option<f64>) -> String {
    ratio.map_or_else(|| "-".to_string(), |r| format!("{:.1}%", r * 100.0))
}

/// An aligned table, `(none)` under the headers when there are no rows
/// ([`aligned`]).
pub(crate) fn table(out: &mut String, headers: &[&str], align: &str, rows: &[Vec<String>]) {
    aligned(out, headers, align, rows);
    if rows.is_empty() {
        let _ = writeln!(out, "  (none)");
    }
}

/// An aligned table; `align` has one letter per column: `l`eft or
/// `r`ight (numbers). The one table printer of the command line.
pub(crate) fn aligned(out: &mut String, headers: &[&str], align: &str, rows: &[Vec<String>]) {
    let right: Vec<bool> = align.chars().map(|c| c == 'r').collect();
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |out: &mut String, cells: Vec<&str>| {
        let mut text = String::new();
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            let gap = if i == 0 { "" } else { "  " };
            if right.get(i).copied().unwrap_or(false) {
                let _ = write!(text, "{gap}{cell:>width$}");
            } else {
                let _ = write!(text, "{gap}{cell:<width$}");
            }
        }
        let _ = writeln!(out, "  {}", text.trim_end());
    };
    line(out, headers.to_vec());
    for row in rows {
        line(out, row.iter().map(String::as_str).collect());
    }
}

/// The summary of `guild audit verify`.
pub fn summary_text(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "verified: chain {} from genesis {} to height {} ({})",
        s.chain_id, s.genesis_hash, s.height, s.source
    );
    if s.source_head > s.height {
        let _ = writeln!(
            out,
            "  (stopped at the requested height; the source's head is {}, and its own state was not compared)",
            s.source_head
        );
    }
    let _ = writeln!(out, "  head block     {}", s.head_hash);
    let _ = writeln!(out, "  state root     {}", s.state_root);
    let kinds: Vec<String> = s
        .transactions_by_kind
        .iter()
        .map(|(k, n)| format!("{n} {k}"))
        .collect();
    let _ = writeln!(
        out,
        "  blocks         {}  transactions {}{}",
        s.blocks,
        s.transactions,
        if kinds.is_empty() {
            String::new()
        } else {
            format!(" ({})", kinds.join(", "))
        }
    );
    let _ = writeln!(
        out,
        "  signatures     {} checked (verify_strict): every transaction and every certificate precommit",
        s.signatures
    );
    let names: Vec<&str> = s.members.iter().map(|m| m.name.as_str()).collect();
    let _ = writeln!(
        out,
        "  members        {} ({}); {} membership change(s) replayed",
        s.members.len(),
        names.join(", "),
        s.member_changes
    );
    let _ = writeln!(
        out,
        "  supply         issued {}, reversed {}, redeemed {}, expired {}, outstanding {} points",
        s.supply.issued, s.supply.reversed, s.supply.redeemed, s.supply.expired, s.outstanding
    );
    let _ = writeln!(
        out,
        "  debts          {} points unsettled between shops",
        s.debts
    );
    let _ = writeln!(
        out,
        "  speed          {:.2} s: {:.0} blocks/s, {:.0} transactions/s",
        s.seconds, s.blocks_per_second, s.transactions_per_second
    );
    out
}

fn period_line(out: &mut String, p: &PeriodInfo) {
    let from = p.from.as_deref().unwrap_or("genesis");
    let to = p.to.as_deref().unwrap_or("head");
    match (p.first_height, p.last_height) {
        (Some(first), Some(last)) => {
            let _ = writeln!(
                out,
                "period {from} to {to}: blocks {first} to {last} ({} blocks, {} transactions)",
                p.blocks, p.transactions
            );
        }
        _ => {
            let _ = writeln!(out, "period {from} to {to}: no blocks");
        }
    }
    let _ = writeln!(
        out,
        "closing state: height {}, block {}, state root {}",
        p.closing_height, p.closing_block_hash, p.closing_state_root
    );
}

/// The report as tables.
pub fn report_table(r: &Report, l: &Locale) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Guild report: chain {} (genesis {}), verified from genesis to height {}",
        r.chain_id, r.genesis_hash, r.verified_height
    );
    period_line(&mut out, &r.period);
    let _ = writeln!(
        out,
        "settlement value: 1 point = {}; amounts in points, money in {}",
        l.money(Cents(r.settlement_cents_per_point)),
        l.currency.code
    );

    let _ = writeln!(out, "\nShops");
    let rows: Vec<Vec<String>> = r
        .shops
        .iter()
        .map(|s| {
            vec![
                if s.member {
                    s.shop.name.clone()
                } else {
                    format!("{} (removed)", s.shop.name)
                },
                s.opening_outstanding.to_string(),
                s.issued.to_string(),
                s.granted.to_string(),
                s.reversed.to_string(),
                s.redeemed_at_shop.to_string(),
                s.redeemed_elsewhere.to_string(),
                s.expired.to_string(),
                s.outstanding.to_string(),
                money(l, s.outstanding_cents),
                s.redeemed_from_others.to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "shop",
            "opening",
            "issued",
            "of it granted",
            "reversed",
            "redeemed at it",
            "redeemed elsewhere",
            "expired",
            "outstanding",
            "liability",
            "others' redeemed at it",
        ],
        "lrrrrrrrrrr",
        &rows,
    );

    let _ = writeln!(
        out,
        "\nCross-shop flows (points issued by the row's shop, redeemed at the column's)"
    );
    let mut headers = vec!["issuer \\ redeemed at".to_string()];
    headers.extend(r.shops.iter().map(|s| s.shop.name.clone()));
    let rows: Vec<Vec<String>> = r
        .shops
        .iter()
        .map(|issuer| {
            let mut row = vec![issuer.shop.name.clone()];
            row.extend(r.shops.iter().map(|at| {
                r.flows
                    .iter()
                    .find(|f| {
                        f.issuer.address == issuer.shop.address
                            && f.redeemed_at.address == at.shop.address
                    })
                    .map_or(0, |f| f.points)
                    .to_string()
            }));
            row
        })
        .collect();
    table(
        &mut out,
        &headers.iter().map(String::as_str).collect::<Vec<_>>(),
        &format!("l{}", "r".repeat(r.shops.len())),
        &rows,
    );

    let s = &r.settlement;
    let _ = writeln!(out, "\nUnsettled debts at the end of the period");
    let rows: Vec<Vec<String>> = s
        .debts
        .iter()
        .map(|d| {
            vec![
                d.debtor.name.clone(),
                d.creditor.name.clone(),
                d.points.to_string(),
                money(l, d.cents),
            ]
        })
        .collect();
    table(
        &mut out,
        &["debtor", "owes", "points", "money"],
        "llrr",
        &rows,
    );

    let _ = writeln!(out, "\nNet between each pair of shops");
    let rows: Vec<Vec<String>> = s
        .pairs
        .iter()
        .map(|p| {
            vec![
                p.payer.name.clone(),
                p.payee.name.clone(),
                p.payer_owes.to_string(),
                p.payee_owes.to_string(),
                p.net_points.to_string(),
                money(l, p.net_cents),
            ]
        })
        .collect();
    table(
        &mut out,
        &["pays", "to", "owes", "is owed", "net points", "net money"],
        "llrrrr",
        &rows,
    );

    let _ = writeln!(out, "\nNet position of each shop against the group");
    let rows: Vec<Vec<String>> = s
        .positions
        .iter()
        .map(|p| {
            vec![
                p.shop.name.clone(),
                p.receivable.to_string(),
                p.payable.to_string(),
                p.net_points.to_string(),
                signed_money(l, p.net_cents),
            ]
        })
        .collect();
    table(
        &mut out,
        &["shop", "receivable", "payable", "net points", "net money"],
        "lrrrr",
        &rows,
    );

    let _ = writeln!(
        out,
        "\nFewest payments that clear everyone ({} payment(s))",
        s.payments.len()
    );
    let rows: Vec<Vec<String>> = s
        .payments
        .iter()
        .map(|p| {
            vec![
                p.from.name.clone(),
                p.to.name.clone(),
                p.points.to_string(),
                money(l, p.cents),
            ]
        })
        .collect();
    table(&mut out, &["from", "to", "points", "money"], "llrr", &rows);

    let _ = writeln!(
        out,
        "\nSettlements acknowledged on the ledger in the period ({} points)",
        s.acknowledged_points
    );
    let rows: Vec<Vec<String>> = s
        .acknowledged
        .iter()
        .map(|a| {
            vec![
                a.date.clone(),
                format!("{}/{}", a.height, a.index),
                a.creditor.name.clone(),
                a.debtor.name.clone(),
                a.points.to_string(),
                money(l, a.cents),
                a.id.to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "date",
            "height/tx",
            "paid shop",
            "paying shop",
            "points",
            "money",
            "transaction",
        ],
        "lrllrrl",
        &rows,
    );

    let h = &r.health;
    let _ = writeln!(out, "\nProgramme health");
    let rows = vec![
        vec![
            "active customers".to_string(),
            h.active_customers.to_string(),
        ],
        vec![
            "repeat-visit rate".to_string(),
            format!(
                "{} ({} of {} earning customers earned twice or more)",
                percent(h.repeat_visit_rate),
                h.repeat_customers,
                h.earning_customers
            ),
        ],
        vec![
            "redemption rate".to_string(),
            format!(
                "{} ({} of {} points issued)",
                percent(h.redemption_rate),
                h.points_redeemed,
                h.points_issued
            ),
        ],
        vec![
            "days from earn to redeem".to_string(),
            h.average_days_to_redeem
                .map_or_else(|| "-".to_string(), |d| format!("{d:.1} (points-weighted)")),
        ],
        vec![
            "customers at 2+ shops".to_string(),
            format!(
                "{} ({} of {} active)",
                percent(h.multi_shop_share),
                h.multi_shop_customers,
                h.active_customers
            ),
        ],
    ];
    table(&mut out, &["figure", "value"], "ll", &rows);
    out
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub(crate) fn csv_row(out: &mut String, cells: &[&str]) {
    let cells: Vec<String> = cells.iter().map(|c| csv_field(c)).collect();
    let _ = writeln!(out, "{}", cells.join(","));
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

/// The report as CSV: `section,shop,other,figure,value`, one figure a row.
pub fn report_csv(r: &Report) -> String {
    let mut out = String::new();
    csv_row(&mut out, &["section", "shop", "other", "figure", "value"]);
    let mut row = |section: &str, shop: &str, other: &str, figure: &str, value: String| {
        csv_row(&mut out, &[section, shop, other, figure, &value]);
    };
    row("period", "", "", "from", opt(r.period.from.clone()));
    row("period", "", "", "to", opt(r.period.to.clone()));
    row("period", "", "", "first_height", opt(r.period.first_height));
    row("period", "", "", "last_height", opt(r.period.last_height));
    row(
        "period",
        "",
        "",
        "verified_height",
        r.verified_height.to_string(),
    );
    row(
        "period",
        "",
        "",
        "settlement_cents_per_point",
        r.settlement_cents_per_point.to_string(),
    );
    for s in &r.shops {
        let n = s.shop.name.as_str();
        for (figure, value) in [
            ("opening_outstanding", s.opening_outstanding),
            ("issued", s.issued),
            ("granted", s.granted),
            ("campaign_points", s.campaign_points),
            ("reversed", s.reversed),
            ("reversal_shortfall", s.reversal_shortfall),
            ("redeemed_at_shop", s.redeemed_at_shop),
            ("redeemed_elsewhere", s.redeemed_elsewhere),
            ("redeemed_from_others", s.redeemed_from_others),
            ("redeemed_here", s.redeemed_here),
            ("expired", s.expired),
            ("outstanding", s.outstanding),
        ] {
            row("shop", n, "", figure, value.to_string());
        }
        row("shop", n, "", "outstanding_cents", opt(s.outstanding_cents));
    }
    for f in &r.flows {
        row(
            "flow",
            &f.issuer.name,
            &f.redeemed_at.name,
            "points",
            f.points.to_string(),
        );
    }
    let s = &r.settlement;
    for d in &s.debts {
        row(
            "debt",
            &d.debtor.name,
            &d.creditor.name,
            "points",
            d.points.to_string(),
        );
    }
    for p in &s.pairs {
        row(
            "pair_net",
            &p.payer.name,
            &p.payee.name,
            "points",
            p.net_points.to_string(),
        );
    }
    for p in &s.positions {
        row(
            "position",
            &p.shop.name,
            "",
            "net_points",
            p.net_points.to_string(),
        );
    }
    for p in &s.payments {
        row(
            "payment",
            &p.from.name,
            &p.to.name,
            "points",
            p.points.to_string(),
        );
    }
    for a in &s.acknowledged {
        row(
            "settled",
            &a.debtor.name,
            &a.creditor.name,
            &format!("points@{}/{}", a.height, a.index),
            a.points.to_string(),
        );
    }
    let h = &r.health;
    for (figure, value) in [
        ("active_customers", h.active_customers.to_string()),
        ("earning_customers", h.earning_customers.to_string()),
        ("repeat_customers", h.repeat_customers.to_string()),
        ("repeat_visit_rate", opt(h.repeat_visit_rate)),
        ("points_issued", h.points_issued.to_string()),
        ("points_redeemed", h.points_redeemed.to_string()),
        ("redemption_rate", opt(h.redemption_rate)),
        ("average_days_to_redeem", opt(h.average_days_to_redeem)),
        ("multi_shop_customers", h.multi_shop_customers.to_string()),
        ("multi_shop_share", opt(h.multi_shop_share)),
    ] {
        row("health", "", "", figure, value);
    }
    out
}

/// A statement as text.
pub fn statement_table(s: &Statement, l: &Locale) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Statement of {} ({}) for {}: chain {} (genesis {}), verified from genesis to height {}",
        s.shop.name, s.shop.address, s.month, s.chain_id, s.genesis_hash, s.verified_height
    );
    period_line(&mut out, &s.period);
    let _ = writeln!(
        out,
        "settlement value: 1 point = {}",
        l.money(Cents(s.settlement_cents_per_point))
    );
    let _ = writeln!(out, "\nLiability (points of its issue held by customers)");
    let rows = vec![
        vec![
            "opening outstanding".to_string(),
            s.opening_outstanding.to_string(),
        ],
        vec!["+ issued".to_string(), s.issued.to_string()],
        vec!["- reversed".to_string(), s.reversed.to_string()],
        vec!["- redeemed".to_string(), s.redeemed_issued.to_string()],
        vec!["- expired".to_string(), s.expired.to_string()],
        vec![
            "= closing outstanding".to_string(),
            format!(
                "{} ({})",
                s.closing_outstanding,
                money(l, s.closing_outstanding_cents)
            ),
        ],
    ];
    table(&mut out, &["", "points"], "lr", &rows);

    let _ = writeln!(out, "\nRedeemed here, by issuing shop");
    let rows: Vec<Vec<String>> = s
        .redeemed_here_by_issuer
        .iter()
        .map(|a| vec![a.shop.name.clone(), a.points.to_string(), money(l, a.cents)])
        .collect();
    table(&mut out, &["issuer", "points", "money"], "lrr", &rows);
    let _ = writeln!(out, "\nIts points redeemed elsewhere, by shop");
    let rows: Vec<Vec<String>> = s
        .redeemed_elsewhere_by_shop
        .iter()
        .map(|a| vec![a.shop.name.clone(), a.points.to_string(), money(l, a.cents)])
        .collect();
    table(&mut out, &["redeemed at", "points", "money"], "lrr", &rows);

    let _ = writeln!(
        out,
        "\nDebts with each shop (owed to {0}: the other shop owes {0}; owed by: {0} owes it)",
        s.shop.name
    );
    let rows: Vec<Vec<String>> = s
        .debts
        .iter()
        .map(|d| {
            vec![
                d.other.name.clone(),
                format!(
                    "{} +{} -{} = {}",
                    d.owed_to_shop_opening,
                    d.owed_to_shop_added,
                    d.owed_to_shop_settled,
                    d.owed_to_shop_closing
                ),
                format!(
                    "{} +{} -{} = {}",
                    d.owed_by_shop_opening,
                    d.owed_by_shop_added,
                    d.owed_by_shop_settled,
                    d.owed_by_shop_closing
                ),
                d.net_points.to_string(),
                signed_money(l, d.net_cents),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "other shop",
            "owed to (open +redeemed -settled = close)",
            "owed by (open +redeemed -settled = close)",
            "net",
            "net money",
        ],
        "lllrr",
        &rows,
    );

    let _ = writeln!(out, "\nSettlements");
    let rows: Vec<Vec<String>> = s
        .settlements
        .iter()
        .map(|a| {
            vec![
                a.date.clone(),
                format!("{}/{}", a.height, a.index),
                a.debtor.name.clone(),
                a.creditor.name.clone(),
                a.points.to_string(),
                a.id.to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "date",
            "height/tx",
            "paid by",
            "paid to",
            "points",
            "transaction",
        ],
        "lrllrl",
        &rows,
    );

    let _ = writeln!(out, "\nCross-shop redemptions");
    let rows: Vec<Vec<String>> = s
        .cross_redemptions
        .iter()
        .map(|c| {
            vec![
                c.date.clone(),
                format!("{}/{}", c.height, c.index),
                c.issuer.name.clone(),
                c.redeemed_at.name.clone(),
                c.points.to_string(),
                c.id.to_string(),
            ]
        })
        .collect();
    table(
        &mut out,
        &[
            "date",
            "height/tx",
            "issued by",
            "redeemed at",
            "points",
            "transaction",
        ],
        "lrllrl",
        &rows,
    );
    out
}

/// A statement as CSV (`section,shop,other,figure,value`).
pub fn statement_csv(s: &Statement) -> String {
    let mut out = String::new();
    csv_row(&mut out, &["section", "shop", "other", "figure", "value"]);
    let me = s.shop.name.as_str();
    let mut row = |section: &str, other: &str, figure: &str, value: String| {
        csv_row(&mut out, &[section, me, other, figure, &value]);
    };
    row("statement", "", "month", s.month.clone());
    row("statement", "", "first_height", opt(s.period.first_height));
    row("statement", "", "last_height", opt(s.period.last_height));
    for (figure, value) in [
        ("opening_outstanding", s.opening_outstanding),
        ("issued", s.issued),
        ("reversed", s.reversed),
        ("redeemed_issued", s.redeemed_issued),
        ("expired", s.expired),
        ("closing_outstanding", s.closing_outstanding),
    ] {
        row("liability", "", figure, value.to_string());
    }
    for a in &s.redeemed_here_by_issuer {
        row(
            "redeemed_here",
            &a.shop.name,
            "points",
            a.points.to_string(),
        );
    }
    for a in &s.redeemed_elsewhere_by_shop {
        row(
            "redeemed_elsewhere",
            &a.shop.name,
            "points",
            a.points.to_string(),
        );
    }
    for d in &s.debts {
        for (figure, value) in [
            ("owed_to_shop_opening", d.owed_to_shop_opening),
            ("owed_to_shop_added", d.owed_to_shop_added),
            ("owed_to_shop_settled", d.owed_to_shop_settled),
            ("owed_to_shop_closing", d.owed_to_shop_closing),
            ("owed_by_shop_opening", d.owed_by_shop_opening),
            ("owed_by_shop_added", d.owed_by_shop_added),
            ("owed_by_shop_settled", d.owed_by_shop_settled),
            ("owed_by_shop_closing", d.owed_by_shop_closing),
        ] {
            row("debt", &d.other.name, figure, value.to_string());
        }
        row(
            "debt",
            &d.other.name,
            "net_points",
            d.net_points.to_string(),
        );
    }
    for a in &s.settlements {
        let other = if a.creditor.address == s.shop.address {
            &a.debtor.name
        } else {
            &a.creditor.name
        };
        row(
            "settlement",
            other,
            &format!("{}@{}/{}", a.id, a.height, a.index),
            a.points.to_string(),
        );
    }
    for c in &s.cross_redemptions {
        let other = if c.issuer.address == s.shop.address {
            &c.redeemed_at.name
        } else {
            &c.issuer.name
        };
        row(
            "cross_redemption",
            other,
            &format!("{}@{}/{}", c.id, c.height, c.index),
            c.points.to_string(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_field("Bakery"), "Bakery");
        assert_eq!(csv_field("Fish, Chips"), "\"Fish, Chips\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn tables_align_columns() {
        let mut out = String::new();
        table(
            &mut out,
            &["shop", "points"],
            "lr",
            &[
                vec!["Bakery".into(), "5".into()],
                vec!["Cafe".into(), "120".into()],
            ],
        );
        assert_eq!(
            out,
            "  shop    points\n  Bakery       5\n  Cafe       120\n"
        );
    }

    #[test]
    fn money_is_shown_with_the_currency_symbol() {
        let l = Locale::default();
        assert_eq!(money(&l, Some(1234)), "£12.34");
        assert_eq!(signed_money(&l, Some(-5)), "-£0.05");
        assert_eq!(money(&l, None), "overflow");
    }
}
