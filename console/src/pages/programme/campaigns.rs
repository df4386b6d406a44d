//! Campaigns: every campaign with its status and budget used, what it did
//! (the insights KPIs' campaign results: sales, spend, and the A/B uplift
//! against its holdout), and a button that stops a campaign this shop
//! funds (`TxBody::StopCampaign`, as `guild shop campaign stop`).

use super::{Forms, Programme, refused, sign_as_shop, visitor_of};
use crate::auth::Change;
use crate::form::Errors;
use crate::pages::login::Empty;
use crate::{Console, layout};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guild_api::{CampaignInfo, CampaignResult, Interval, KpisQuery, NodeClient};
use guild_ledger::crypto::Address;
use guild_ledger::programme::Reward;
use guild_ledger::tx::TxBody;
use guild_ledger::types::{CampaignId, Cents};
use maud::{Markup, html};

/// The campaign results of the insights, or why there are none.
pub type Results = Result<Vec<CampaignResult>, String>;

/// This shop's campaigns' results over the KPIs' default period (the last
/// 30 days); the page still shows the campaigns if insights cannot answer.
pub async fn results(node: &NodeClient, me: Option<&Address>) -> Results {
    let query = KpisQuery {
        shop: me.map(|a| a.to_string()),
        ..KpisQuery::default()
    };
    node.insights_kpis(&query)
        .await
        .map(|report| report.campaigns)
        .map_err(|error| error.to_string())
}

/// The reward in a few words.
pub fn reward_text(reward: &Reward) -> String {
    match reward {
        Reward::Multiplier { multiplier } => {
            format!("{} points", multiplier.to_string().replacen('x', "×", 1))
        }
        Reward::Bonus { points } => format!("+{} a sale", points.counted()),
        Reward::Referral { referrer, referred } => {
            format!("referral {referrer} + {referred} points")
        }
        Reward::Offer { points } => format!("offer of {}", points.counted()),
    }
}

/// Where a campaign stands at `time`.
pub fn status(c: &CampaignInfo, time: guild_ledger::types::Timestamp) -> &'static str {
    if c.running {
        "running"
    } else if c.campaign.stopped.is_some() {
        "stopped"
    } else if !c.awaiting.is_empty() {
        "waiting for approval"
    } else if time < c.campaign.spec.start {
        "upcoming"
    } else {
        "ended"
    }
}

/// An uplift with its interval: `+4.0 pts (−1.2 to +9.1)`.
fn uplift(interval: &Interval, scale: impl Fn(f64) -> String) -> String {
    match (interval.low, interval.high) {
        (Some(low), Some(high)) => format!(
            "{} ({} to {})",
            scale(interval.estimate),
            scale(low),
            scale(high)
        ),
        _ => format!(
            "{} (too few customers for an interval)",
            scale(interval.estimate)
        ),
    }
}

/// The campaigns table.
pub fn table(programme: &Programme, results: &Results) -> Markup {
    let info = &programme.info;
    let locale = &info.locale;
    let result_of = |id: CampaignId| {
        results
            .as_ref()
            .ok()
            .and_then(|r| r.iter().find(|r| r.campaign == id))
    };
    let rate = |v: f64| format!("{:+.1} pts", v * 100.0);
    let money = |v: f64| {
        let sign = if v < 0.0 { "−" } else { "+" };
        format!(
            "{sign}{}",
            locale.money(Cents(v.abs().round().min(u64::MAX as f64) as u64))
        )
    };
    html! {
        h2 { "Campaigns" }
        @if info.campaigns.is_empty() {
            p { "No campaigns yet. Publish one with " code { "guild shop campaign publish" } "." }
        } @else {
            @if let Err(error) = results {
                (layout::notice("info", &format!("Campaign results are not available now: {error}")))
            }
            div.table-wrap {
                table #campaigns {
                    thead { tr {
                        th.num { "No." } th { "Name" } th { "Reward" } th { "Status" }
                        th { "Budget used" } th { "Results (last 30 days)" } th { "A/B uplift" } th { span.no-print { "Action" } }
                    } }
                    tbody {
                        @for c in &info.campaigns {
                            @let spent = c.campaign.spent;
                            @let budget = c.campaign.spec.budget;
                            @let result = result_of(c.campaign.id);
                            tr data-campaign=(c.campaign.id.0) {
                                td.num { (c.campaign.id.0) }
                                td { (c.campaign.spec.name) }
                                td { (reward_text(&c.campaign.spec.reward)) }
                                td.status { (status(c, info.time)) }
                                td {
                                    progress max=(budget.0.max(1)) value=(spent.0.min(budget.0)) aria-label="budget used" {}
                                    " " (spent.0) " of " (budget.counted())
                                }
                                td {
                                    @match result {
                                        Some(r) => { (r.sales) " sales, " (locale.money(r.sales_spend)) " spent, " (r.points_given.counted()) " given" }
                                        None => { span.muted { "—" } }
                                    }
                                }
                                td {
                                    @match result.and_then(|r| r.ab.as_ref()) {
                                        Some(ab) => {
                                            @if let Some(i) = &ab.purchase_rate_uplift { "purchase rate " (uplift(i, rate)) br; }
                                            @if let Some(i) = &ab.spend_uplift { "spend per customer " (uplift(i, money)) }
                                            @if ab.purchase_rate_uplift.is_none() && ab.spend_uplift.is_none() { span.muted { "not enough customers yet" } }
                                        }
                                        None => { span.muted { @if c.campaign.spec.holdout.0 == 0 { "no holdout" } @else { "—" } } }
                                    }
                                }
                                td {
                                    @if stoppable(c, programme.me.as_ref(), info.time) {
                                        a.button.secondary href={(crate::BASE) "/programme#stop-" (c.campaign.id.0)} { "Stop…" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Whether this shop may stop `c` now: it funds it and it has not ended.
fn stoppable(c: &CampaignInfo, me: Option<&Address>, time: guild_ledger::types::Timestamp) -> bool {
    me.is_some_and(|me| c.campaign.spec.funded_by(me))
        && c.campaign.stopped.is_none()
        && time < c.campaign.spec.end
}

/// The stop forms (outside the live part, so a block does not reset them).
pub fn stop_forms(programme: &Programme, session: &crate::session::Session) -> Markup {
    let info = &programme.info;
    let open: Vec<&CampaignInfo> = info
        .campaigns
        .iter()
        .filter(|c| stoppable(c, programme.me.as_ref(), info.time))
        .collect();
    html! {
        @if !open.is_empty() {
            section.card #stop-campaigns {
                h2 { "Stop a campaign" }
                p { "Stopping signs, as this shop, that the campaign gives no more points from the next block. It cannot be started again." }
                @for c in open {
                    form method="post" id={"stop-" (c.campaign.id.0)} action={(crate::BASE) "/programme/campaigns/" (c.campaign.id.0) "/stop"} {
                        (layout::csrf(session))
                        button.danger type="submit" { "Stop campaign " (c.campaign.id.0) ": " (c.campaign.spec.name) }
                    }
                }
            }
        }
    }
}

/// `POST /console/programme/campaigns/{id}/stop`.
pub async fn stop(
    State(console): State<Console>,
    Path(id): Path<u64>,
    change: Change<Empty>,
) -> Response {
    let user = change.user;
    let visitor = visitor_of(&user);
    let body = TxBody::StopCampaign {
        campaign: CampaignId(id),
    };
    match sign_as_shop(&console, user.token(), body).await {
        Ok(_) => Redirect::to(&format!("{}/programme?done=stopped", crate::BASE)).into_response(),
        Err(error) => {
            let forms = Forms {
                notice: Some((
                    "error",
                    format!("The node did not stop campaign {id}: {error}"),
                )),
                errors: Errors::none(),
                ..Forms::default()
            };
            refused(&console, &visitor, &user, forms).await
        }
    }
}
