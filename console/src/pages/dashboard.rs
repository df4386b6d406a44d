//! The dashboard: how the shop's programme is doing, at a glance.
//!
//! Every figure is the node's own (`GET /v1/insights/kpis` for this
//! shop, `/v1/insights/segments`, `/v1/supply`, `/v1/settlement`,
//! `/v1/members`); the page only lays them out. The scope is this node's
//! shop (`member` of `GET /v1/head`), or the whole group on an observer
//! node. The figures sit in one element whose `data-live` fragment,
//! `/console/dashboard/figures`, is the same rendering, re-fetched by
//! console.js each time a block becomes final: a sale shows up without a
//! reload.

use crate::auth::{SignedIn, Visitor};
use crate::chart::{self, CohortLine, Series};
use crate::{Console, PageError, layout};
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use guild_api::shown::Shown;
use guild_api::{KpiReport, KpisQuery, SegmentSummaries, SegmentsQuery, Settlement, SupplyInfo};
use guild_ledger::crypto::Address;
use guild_ledger::types::{Cents, Points};
use maud::{Markup, html};

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/dashboard", get(index))
        .route("/dashboard/figures", get(fragment))
}

/// What the dashboard shows, as the node answered.
struct Figures {
    shown: Shown,
    /// This node's shop (`None`: an observer, the group's figures).
    shop: Option<(Address, String)>,
    /// The 30 days to today, day by day.
    recent: KpiReport,
    /// This month to today.
    month: KpiReport,
    segments: SegmentSummaries,
    supply: SupplyInfo,
    settlement: Settlement,
    /// Points of this shop's issue redeemed anywhere, and points redeemed
    /// here whoever issued them (from the shop's member record).
    redeemed: Option<(Points, Points)>,
}

/// The first day of the month of `day` (`YYYY-MM-DD`).
fn month_start(day: &str) -> Option<String> {
    let month = day.get(..7)?;
    Some(format!("{month}-01"))
}

/// A share as a whole percentage, `–` when there is no denominator.
fn percent(share: Option<f64>) -> String {
    match share {
        Some(s) if s.is_finite() => format!("{:.0}%", s * 100.0),
        _ => "–".to_string(),
    }
}

async fn fetch(console: &Console) -> Result<Figures, PageError> {
    let node = &console.node;
    let (head, shown, members) = tokio::try_join!(node.head(), Shown::fetch(node), node.members())?;
    let shop = head.member.map(|address| {
        let name = members
            .members
            .iter()
            .find(|m| m.address == address)
            .map(|m| m.name.to_string())
            .unwrap_or_else(|| address.to_string());
        (address, name)
    });
    let redeemed = head.member.and_then(|address| {
        members
            .members
            .iter()
            .find(|m| m.address == address)
            .map(|m| (m.redeemed_issued, m.redeemed_here))
    });
    let scope = shop.as_ref().map(|(address, _)| address.to_string());
    let recent_query = KpisQuery {
        shop: scope.clone(),
        ..KpisQuery::default()
    };
    let segments_query = SegmentsQuery {
        shop: scope.clone(),
    };
    let (recent, segments, supply, settlement) = tokio::try_join!(
        node.insights_kpis(&recent_query),
        node.insights_segments(&segments_query),
        node.supply(),
        node.settlement(),
    )?;
    let month = node
        .insights_kpis(&KpisQuery {
            shop: scope,
            from: month_start(&recent.to),
            to: Some(recent.to.clone()),
        })
        .await?;
    Ok(Figures {
        shown,
        shop,
        recent,
        month,
        segments,
        supply,
        settlement,
        redeemed,
    })
}

/// `GET /console/dashboard`.
async fn index(
    State(console): State<Console>,
    _user: SignedIn,
    visitor: Visitor,
) -> Result<Markup, PageError> {
    let figures = fetch(&console).await?;
    let title = match &figures.shop {
        Some((_, name)) => format!("Dashboard · {name}"),
        None => "Dashboard · the group".to_string(),
    };
    let body = html! {
        p.muted { span.live-dot aria-hidden="true" {} "The figures update by themselves each time a block becomes final." }
        div #dashboard data-live={(crate::BASE) "/dashboard/figures"} aria-live="polite" {
            (render(&figures))
        }
    };
    Ok(layout::page(
        &visitor,
        console.explorer_only,
        "/dashboard",
        &title,
        body,
    ))
}

/// `GET /console/dashboard/figures`: the live part. Without a session it
/// answers `403` (not the sign-in page, which console.js would otherwise
/// paste into the dashboard).
async fn fragment(State(console): State<Console>, visitor: Visitor) -> Result<Markup, PageError> {
    if visitor.signed_in().is_none() {
        return Err(PageError::NotSignedIn);
    }
    Ok(render(&fetch(&console).await?))
}

/// One big figure with its label and a line below.
fn tile(id: &str, label: &str, figure: &str, below: &str) -> Markup {
    html! {
        div.card.tile {
            p.muted { (label) }
            p.figure-big id=(id) { (figure) }
            p.muted id={(id) "-detail"} { (below) }
        }
    }
}

fn render(f: &Figures) -> Markup {
    let shown = &f.shown;
    let today = f.recent.daily.iter().find(|d| d.day == f.recent.to);
    let (today_sales, today_spend, today_points) = today.map_or((0, Cents(0), Points(0)), |d| {
        (d.purchases, d.spend, d.points_issued)
    });
    let sales = |n: u32| {
        if n == 1 {
            "1 sale".to_string()
        } else {
            format!("{n} sales")
        }
    };
    let days: Vec<String> = f.recent.daily.iter().map(|d| d.day.clone()).collect();
    let points = |pick: fn(&guild_api::KpiDay) -> Points| -> Vec<f64> {
        f.recent.daily.iter().map(|d| pick(d).0 as f64).collect()
    };
    let spend: Vec<f64> = f.recent.daily.iter().map(|d| d.spend.0 as f64).collect();
    let liability = f.month.liability;
    let shop = f.shop.as_ref().map(|(a, _)| *a);
    html! {
        div.tiles {
            (tile("today-sales", &format!("Today ({})", f.recent.to), &shown.money(today_spend),
                &format!("{}, {} issued", sales(today_sales), today_points.counted())))
            (tile("month-sales", &format!("This month (from {})", f.month.from), &shown.money(f.month.spend),
                &format!("{}, {} issued, {} redeemed", sales(f.month.purchases),
                    f.month.points_issued.counted(), f.month.points_redeemed.counted())))
            (tile("liability", "Points customers hold (outstanding)", &liability.counted().to_string(),
                &format!("worth {} at {}", shown.worth(liability), shown.rate())))
            (tile("rates", "Last 30 days: repeat purchase · redemption",
                &format!("{} · {}", percent(f.recent.repeat_purchase_rate), percent(f.recent.redemption_rate)),
                &format!("{} of {} active customers bought on two days or more; {} expired unspent",
                    f.recent.repeat_customers, f.recent.active_customers, f.recent.points_expired.counted())))
        }
        h2 { "The last 30 days" }
        (chart::columns("Points issued, redeemed and expired per day", &days, &[
            Series { label: "Issued", class: "bar", values: points(|d| d.points_issued) },
            Series { label: "Redeemed", class: "bar alt", values: points(|d| d.points_redeemed) },
            Series { label: "Expired", class: "bar expired", values: points(|d| d.points_expired) },
        ], |v| format!("{v:.0}")))
        (chart::columns("Sales per day", &days, &[
            Series { label: "Spend", class: "bar", values: spend },
        ], |v| shown.money(Cents(v.max(0.0) as u64))))
        h2 { "Between shops" }
        (flows(f, shop))
        h2 { "Customers by segment" }
        (chart::bars("Customers in each segment (today)",
            &f.segments.segments.iter().map(|s| (s.label.clone(), f64::from(s.customers))).collect::<Vec<_>>(),
            |v| format!("{v:.0}")))
        h2 { "Retention by first-purchase month" }
        @if f.recent.retention.cohorts.is_empty() {
            p.muted { "No customer made a first purchase in the last 30 days." }
        } @else {
            (chart::cohort_table("Share of each month's new customers who bought again in the months after",
                &f.recent.retention.cohorts.iter().map(|c| CohortLine {
                    month: &c.month, customers: c.customers, retention: &c.retention,
                }).collect::<Vec<_>>()))
        }
        p.muted { "Whole group: " (f.supply.outstanding.counted()) " outstanding of "
            (f.supply.issued.counted()) " ever issued (" (f.supply.redeemed.counted()) " redeemed, "
            (f.supply.expired.counted()) " expired), at block " (f.supply.height.0) "." }
    }
}

/// Cross-shop flows: points of this shop's issue spent at other shops and
/// other shops' points spent here, and the unsettled debts that follow
/// (the issuer owes the shop where its points were redeemed).
fn flows(f: &Figures, shop: Option<Address>) -> Markup {
    let shown = &f.shown;
    let debts: Vec<&guild_api::DebtInfo> = f
        .settlement
        .debts
        .iter()
        .filter(|d| shop.is_none_or(|s| d.debtor == s || d.creditor == s))
        .collect();
    let name = |n: &Option<guild_ledger::types::ShopName>, a: &Address| {
        n.as_ref().map_or_else(|| a.to_string(), |n| n.to_string())
    };
    html! {
        @if let Some((issued, here)) = f.redeemed {
            p #flows { "Points of this shop redeemed anywhere: " strong { (issued.counted()) }
                ". Points redeemed here, whoever issued them: " strong { (here.counted()) } "." }
        }
        @if debts.is_empty() {
            p.muted { "No unsettled points between shops." }
        } @else {
            div.table-wrap {
                table #debts {
                    caption { "Unsettled: points earned at one shop and spent at another" }
                    thead { tr { th { "Earned at (owes)" } th { "Spent at (is owed)" } th.num { "Points" } th.num { "Money" } } }
                    tbody {
                        @for d in &debts {
                            tr {
                                td { (name(&d.debtor_name, &d.debtor)) }
                                td { (name(&d.creditor_name, &d.creditor)) }
                                td.num { (d.points.counted()) }
                                td.num { (shown.money_or_overflow(d.cents)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_month_starts_on_its_first_day() {
        assert_eq!(month_start("2026-03-15").as_deref(), Some("2026-03-01"));
        assert_eq!(month_start("2026"), None);
    }

    #[test]
    fn percentages_are_whole_and_absent_rates_a_dash() {
        assert_eq!(percent(Some(0.256)), "26%");
        assert_eq!(percent(Some(1.0)), "100%");
        assert_eq!(percent(None), "–");
        assert_eq!(percent(Some(f64::NAN)), "–");
    }
}
