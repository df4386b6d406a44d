//! What `guild audit export` and `guild audit invoice` print: the month's
//! export as one wide CSV (a row per shop and per counterparty, each figure
//! in points and in money; the header is documented in docs/audit.md), and
//! a settlement invoice as a print-friendly HTML page. The figures come from
//! `guild-audit` ([`MonthExport`], [`Invoice`]); this is presentation only.

use super::render::csv_row;
use guild_audit::{Amount, CrossLine, Invoice, MonthExport};
use guild_ledger::programme::{Currency, Locale};
use guild_ledger::types::Cents;
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The export's columns, in order (docs/audit.md explains each).
pub const EXPORT_COLUMNS: &[&str] = &[
    "month",
    "row",
    "shop",
    "shop_address",
    "counterparty",
    "counterparty_address",
    "currency",
    "point_value",
    "opening_liability_points",
    "opening_liability_money",
    "issued_points",
    "issued_money",
    "redeemed_here_own_points",
    "redeemed_here_own_money",
    "redeemed_here_others_points",
    "redeemed_here_others_money",
    "redeemed_elsewhere_own_points",
    "redeemed_elsewhere_own_money",
    "reversed_points",
    "reversed_money",
    "expired_points",
    "expired_money",
    "liability_points",
    "liability_money",
    "owed_to_shop_points",
    "owed_to_shop_money",
    "owed_by_shop_points",
    "owed_by_shop_money",
    "paid_to_shop_points",
    "paid_to_shop_money",
    "paid_by_shop_points",
    "paid_by_shop_money",
    "receivable_points",
    "receivable_money",
    "payable_points",
    "payable_money",
    "net_points",
    "net_money",
    "first_height",
    "last_height",
    "closing_height",
    "closing_block_hash",
];

fn locale_of(currency: &Currency) -> Locale {
    Locale {
        currency: currency.clone(),
        zone: Vec::new(),
    }
}

/// The month's export as CSV: money as plain decimals in the currency
/// (`12.50`, what a spreadsheet reads as a number), points beside them.
pub fn export_csv(e: &MonthExport) -> String {
    let l = locale_of(&e.currency);
    let decimal =
        |c: Option<u64>| c.map_or_else(|| "overflow".to_string(), |c| l.decimal(Cents(c)));
    let pair = |a: Amount| [a.points.to_string(), decimal(a.cents)];
    let blank = || [String::new(), String::new()];
    let opt =
        |h: Option<guild_ledger::types::Height>| h.map_or_else(String::new, |h| h.to_string());
    let tail = [
        opt(e.period.first_height),
        opt(e.period.last_height),
        e.period.closing_height.to_string(),
        e.period.closing_block_hash.to_string(),
    ];
    let head = |row: &str, shop: &guild_audit::ShopRef, other: Option<&guild_audit::ShopRef>| {
        vec![
            e.month.clone(),
            row.to_string(),
            shop.name.clone(),
            shop.address.to_string(),
            other.map(|o| o.name.clone()).unwrap_or_default(),
            other.map(|o| o.address.to_string()).unwrap_or_default(),
            e.currency.code.clone(),
            l.decimal(Cents(e.settlement_cents_per_point)),
        ]
    };
    let mut out = String::new();
    csv_row(&mut out, EXPORT_COLUMNS);
    for s in &e.shops {
        let mut cells = head("shop", &s.shop, None);
        for a in [
            s.opening_liability,
            s.issued,
            s.redeemed_here_own,
            s.redeemed_here_others,
            s.redeemed_elsewhere_own,
            s.reversed,
            s.expired,
            s.liability,
        ] {
            cells.extend(pair(a));
        }
        for _ in 0..7 {
            cells.extend(blank());
        }
        cells.extend(tail.clone());
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        csv_row(&mut out, &refs);
    }
    for c in &e.counterparties {
        let mut cells = head("counterparty", &c.shop, Some(&c.counterparty));
        for _ in 0..8 {
            cells.extend(blank());
        }
        for a in [
            c.owed_to_shop,
            c.owed_by_shop,
            c.paid_to_shop,
            c.paid_by_shop,
            c.receivable,
            c.payable,
        ] {
            cells.extend(pair(a));
        }
        cells.push(c.net_points.to_string());
        cells.push(
            c.net_cents
                .map_or_else(|| "overflow".to_string(), |n| l.signed_decimal(n)),
        );
        cells.extend(tail.clone());
        let refs: Vec<&str> = cells.iter().map(String::as_str).collect();
        csv_row(&mut out, &refs);
    }
    out
}

const PRINT_CSS: &str = "
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 52rem; color: #111; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
.parties { display: flex; gap: 3rem; margin: 1.5rem 0; }
.parties div { flex: 1; }
.label { color: #555; font-size: 0.8rem; text-transform: uppercase; letter-spacing: 0.05em; }
table { border-collapse: collapse; width: 100%; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ccc; padding: 0.3rem 0.5rem; text-align: left; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { font-weight: bold; border-top: 2px solid #111; }
.due { font-size: 1.2rem; font-weight: bold; padding: 0.8rem; border: 2px solid #111; }
.proof { font-size: 0.8rem; color: #333; word-break: break-all; }
code { font-size: 0.8rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 10pt; }
  .noprint { display: none; }
  table, .due { page-break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
";

/// A settlement invoice as a complete HTML page, ready to print. Every
/// value is escaped (shop names are whatever their owners registered).
pub fn invoice_html(i: &Invoice, zone: &str) -> String {
    let l = locale_of(&i.currency);
    let money = |c: Option<u64>| c.map_or_else(|| "overflow".to_string(), |c| l.money(Cents(c)));
    let (net_points, net_cents) = i.balance_due();
    let d = &i.debt;
    let due_text = match net_points {
        0 => format!("Nothing is due between {} and {}.", i.from.name, i.to.name),
        n if n > 0 => format!(
            "{} owes {} {} ({} points).",
            i.to.name,
            i.from.name,
            net_cents.map_or_else(|| "overflow".to_string(), |c| l.signed_money(c)),
            n
        ),
        n => format!(
            "{} owes {} {} ({} points).",
            i.from.name,
            i.to.name,
            net_cents.map_or_else(|| "overflow".to_string(), |c| l.signed_money(-c)),
            -n
        ),
    };
    let lines = |list: &[CrossLine]| -> Markup {
        html! {
            table {
                tr { th { "Date" } th { "Block" } th { "Transaction" } th { "Customer" } th.n { "Points" } th.n { "Amount" } }
                @for c in list {
                    tr {
                        td { (c.date) }
                        td { (c.height) }
                        td { code { (c.id) } }
                        td { code { (c.customer) } }
                        td.n { (c.points) }
                        td.n { (money(c.points.checked_mul(i.settlement_cents_per_point))) }
                    }
                }
                @if list.is_empty() {
                    tr { td colspan="6" { "None this month." } }
                }
            }
        }
    };
    let period = format!(
        "{} ({} to {}, {zone})",
        i.month,
        i.period.from.clone().unwrap_or_default(),
        i.period.to.clone().unwrap_or_default()
    );
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Settlement invoice " (i.month) ": " (i.from.name) " to " (i.to.name) }
                style { (PreEscaped(PRINT_CSS)) }
            }
            body {
                h1 { "Settlement invoice" }
                div { "Loyalty points redeemed between two shops of network " code { (i.chain_id) } ", " (period) "." }
                div.parties {
                    div {
                        div.label { "From (to be paid)" }
                        div { strong { (i.from.name) } }
                        div { code { (i.from.address) } }
                    }
                    div {
                        div.label { "To (billed)" }
                        div { strong { (i.to.name) } }
                        div { code { (i.to.address) } }
                    }
                }
                p { "At the group's settlement value of 1 point = " (l.money(Cents(i.settlement_cents_per_point))) "." }
                h2 { "Charged: " (i.to.name) "'s points redeemed at " (i.from.name) }
                (lines(&i.charged))
                h2 { "Credited: " (i.from.name) "'s points redeemed at " (i.to.name) }
                (lines(&i.credited))
                h2 { "Account between the two shops" }
                table {
                    tr { th {} th.n { (i.to.name) " owes " (i.from.name) } th.n { (i.from.name) " owes " (i.to.name) } }
                    tr { td { "At the start of the month" } td.n { (money(d.owed_to_shop_opening.checked_mul(i.settlement_cents_per_point))) } td.n { (money(d.owed_by_shop_opening.checked_mul(i.settlement_cents_per_point))) } }
                    tr { td { "+ redemptions this month" } td.n { (money(i.charged_total.cents)) } td.n { (money(i.credited_total.cents)) } }
                    tr { td { "− settlements acknowledged this month" } td.n { (money(d.owed_to_shop_settled.checked_mul(i.settlement_cents_per_point))) } td.n { (money(d.owed_by_shop_settled.checked_mul(i.settlement_cents_per_point))) } }
                    tr.total { td { "At the end of the month" } td.n { (money(d.owed_to_shop_closing.checked_mul(i.settlement_cents_per_point))) } td.n { (money(d.owed_by_shop_closing.checked_mul(i.settlement_cents_per_point))) } }
                }
                @if !i.settlements.is_empty() {
                    h2 { "Settlements acknowledged on the ledger" }
                    table {
                        tr { th { "Date" } th { "Block" } th { "Transaction" } th { "Paid by" } th { "Paid to" } th.n { "Amount" } }
                        @for s in &i.settlements {
                            tr {
                                td { (s.date) } td { (s.height) } td { code { (s.id) } }
                                td { (s.debtor.name) } td { (s.creditor.name) }
                                td.n { (money(s.cents)) }
                            }
                        }
                    }
                }
                p.due { "Balance due: " (due_text) }
                h2 { "Where these figures come from" }
                div.proof {
                    p {
                        "Replayed and verified from genesis " code { (i.genesis_hash) }
                        " to height " (i.verified_height) ". "
                        "The month covers blocks "
                        (i.period.first_height.map_or_else(|| "none".to_string(), |h| h.to_string()))
                        " to "
                        (i.period.last_height.map_or_else(|| "none".to_string(), |h| h.to_string()))
                        "; the balances are those of the state after block "
                        (i.period.closing_height) " (hash " code { (i.period.closing_block_hash) }
                        ", state root " code { (i.period.closing_state_root) } ")."
                    }
                    p {
                        "Either shop can check them on its own node: "
                        code { "guild audit invoice --month " (i.month) " --from " (i.from.address) " --to " (i.to.address) }
                    }
                }
            }
        }
    };
    page.into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_audit::{
        Activity, Month, VerifyOptions,
        fixture::{MemoryChain, example_chain},
        verify_chain,
    };
    use guild_ledger::types::Height;

    fn january() -> Activity {
        let chain = example_chain(MemoryChain::default()).unwrap();
        let genesis = chain.genesis().clone();
        let mut source = chain.into_sink();
        let mut activity =
            Activity::new(&genesis, Month::parse("2026-01").unwrap().period()).unwrap();
        verify_chain(
            &genesis,
            &mut source,
            &VerifyOptions::default(),
            &mut activity,
            &mut |_| {},
        )
        .unwrap();
        activity
    }

    #[test]
    fn the_export_is_one_wide_row_per_shop_and_counterparty() {
        let csv = export_csv(&january().export("2026-01", Height(8)));
        let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
        assert_eq!(header, EXPORT_COLUMNS);
        let rows: Vec<::csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 3 + 4);
        let col = |name: &str| EXPORT_COLUMNS.iter().position(|c| *c == name).unwrap();
        let bakery = rows
            .iter()
            .find(|r| &r[col("row")] == "shop" && &r[col("shop")] == "Bakery")
            .unwrap();
        for (name, value) in [
            ("currency", "GBP"),
            ("point_value", "0.05"),
            ("issued_points", "175"),
            ("issued_money", "8.75"),
            ("redeemed_here_others_points", "10"),
            ("redeemed_here_others_money", "0.50"),
            ("redeemed_elsewhere_own_points", "120"),
            ("redeemed_elsewhere_own_money", "6.00"),
            ("reversed_points", "30"),
            ("liability_points", "25"),
            ("liability_money", "1.25"),
            ("net_points", ""),
            ("closing_height", "6"),
        ] {
            assert_eq!(&bakery[col(name)], value, "{name}");
        }
        let owes = rows
            .iter()
            .find(|r| {
                &r[col("row")] == "counterparty"
                    && &r[col("shop")] == "Bakery"
                    && &r[col("counterparty")] == "Cafe"
            })
            .unwrap();
        for (name, value) in [
            ("owed_by_shop_points", "100"),
            ("owed_by_shop_money", "5.00"),
            ("paid_by_shop_money", "2.00"),
            ("payable_money", "3.00"),
            ("net_points", "-60"),
            ("net_money", "-3.00"),
            ("issued_points", ""),
        ] {
            assert_eq!(&owes[col(name)], value, "{name}");
        }
    }

    #[test]
    fn the_invoice_shows_the_totals_and_escapes_names() {
        let mut invoice = january()
            .invoice("Cafe", "Bakery", "2026-01", Height(8))
            .unwrap();
        invoice.to.name = "Bakery <script>alert(1)</script> & Sons".to_string();
        let page = invoice_html(&invoice, "UTC");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains("@media print"));
        assert!(!page.contains("<script>"), "unescaped name in the page");
        assert!(page.contains("Bakery &lt;script&gt;alert(1)&lt;/script&gt; &amp; Sons"));
        // 100 points charged at 5p, 40 settled, 60 (£3.00) due.
        assert!(page.contains("£5.00"));
        assert!(page.contains("£2.00"));
        assert!(page.contains("owes Cafe £3.00 (60 points)"), "{page}");
        assert!(page.contains(&invoice.period.closing_block_hash.to_string()));
        assert!(page.contains(&invoice.charged[0].id.to_string()));
    }
}
