//! The Programme area: what this shop's customers earn and why.
//!
//! One page, `GET /console/programme`, shows every shop's earn rule (this
//! shop's first, with a form to publish a new version), the group's tiers,
//! the campaigns with their budget used, results and A/B uplift (the
//! insights KPIs, `GET /v1/insights/kpis`), and the shop's automations with
//! their latest webhook deliveries. Changes are `POST`s:
//!
//! - `/console/programme/rule`: a new earn rule ([`rules`]);
//! - `/console/programme/campaigns/{id}/stop`: stop a campaign
//!   ([`campaigns`]);
//! - `/console/programme/automations` (add) and
//!   `/console/programme/automations/{name}/enable|disable`
//!   ([`automations`]).
//!
//! Values are read by `guild_api::programme_input`, the rules the CLI
//! uses; ledger changes are signed by the node as the shop
//! ([`sign_as_shop`]), so the ledger's refusal comes back as the node's
//! message. `GET /console/programme/live` is the part that changes with
//! each final block (rules and campaigns), for `data-live`.

pub mod automations;
pub mod campaigns;
pub mod rules;

use crate::auth::{SignedIn, Visitor};
use crate::form::Errors;
use crate::{Console, PageError, layout};
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use guild_api::{NodeClient, ProgrammeInfo, Submission};
use guild_ledger::crypto::Address;
use guild_ledger::tx::TxBody;
use maud::{Markup, html};
use serde::Deserialize;

/// The area's routes.
pub fn routes() -> Router<Console> {
    Router::new()
        .route("/programme", get(index))
        .route("/programme/live", get(live))
        .route("/programme/rule", post(rules::publish))
        .route("/programme/campaigns/{id}/stop", post(campaigns::stop))
        .route("/programme/automations", post(automations::add))
        .route(
            "/programme/automations/{name}/{verb}",
            post(automations::switch),
        )
}

/// Asks this shop's node to sign `body` as the shop and waits until it is
/// final (`POST /v1/shop/sign` with the user's `admin` token). The one
/// place the console signs: a ledger refusal comes back as the node's
/// error, with the rule's code and message.
pub async fn sign_as_shop(
    console: &Console,
    token: &str,
    body: TxBody,
) -> Result<Submission, guild_api::ClientError> {
    let request = guild_api::ShopSignRequest {
        body,
        wait: true,
        timeout_ms: None,
    };
    console.node.shop_sign(token, &request).await
}

/// `?done=` after a change: what to say at the top of the page.
#[derive(Debug, Default, Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// The notice for a `done` value (only known values: the text is ours).
fn done_notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "rule" => "Published: the new earn rule applies to sales from the next block.",
        "stopped" => "Stopped: the campaign gives no more points.",
        "added" => "Added the automation.",
        "enabled" => "Enabled: it acts on what happens from now on.",
        "disabled" => "Disabled: nothing new fires, and its waiting deliveries are cancelled.",
        _ => return None,
    })
}

/// The forms of the page as they come back after a refusal.
#[derive(Debug, Default)]
pub struct Forms {
    /// The earn rule form's values, if it was sent.
    pub rule: Option<rules::RuleForm>,
    /// The automation form's values, if it was sent.
    pub automation: Option<automations::AutomationForm>,
    /// Messages by field.
    pub errors: Errors,
    /// A notice at the top.
    pub notice: Option<(&'static str, String)>,
}

/// What the page is made of, read from the node.
pub struct Programme {
    /// Rules, tiers, campaigns at the head.
    pub info: ProgrammeInfo,
    /// This node's shop (`None`: an observer node, which signs nothing).
    pub me: Option<Address>,
}

impl Programme {
    /// Reads it.
    pub async fn fetch(node: &NodeClient) -> Result<Programme, PageError> {
        let (head, info) = tokio::try_join!(node.head(), node.programme())?;
        Ok(Programme {
            info,
            me: head.member,
        })
    }

    /// A shop's name, or its address.
    pub fn name_of(&self, address: &Address) -> String {
        self.info
            .shops
            .iter()
            .find(|s| s.shop == *address)
            .map_or_else(|| address.to_string(), |s| s.name.to_string())
    }
}

/// `GET /console/programme`.
async fn index(
    State(console): State<Console>,
    visitor: Visitor,
    user: SignedIn,
    Query(done): Query<Done>,
) -> Result<Markup, PageError> {
    let mut forms = Forms::default();
    if let Some(text) = done_notice(done.done.as_deref()) {
        forms.notice = Some(("ok", text.to_string()));
    }
    page(&console, &visitor, &user, forms).await
}

/// The whole page with `forms` as given.
pub async fn page(
    console: &Console,
    visitor: &Visitor,
    user: &SignedIn,
    forms: Forms,
) -> Result<Markup, PageError> {
    let programme = Programme::fetch(&console.node).await?;
    let results = campaigns::results(&console.node, programme.me.as_ref()).await;
    let automations = automations::fetch(&console.node, user.token()).await;
    let body = html! {
        @if let Some((kind, text)) = &forms.notice { (layout::notice(kind, text)) }
        @if programme.me.is_none() {
            (layout::notice("info", "This node is an observer, not a member shop's node: it shows the programme but signs no changes."))
        }
        div data-live={(crate::BASE) "/programme/live"} {
            (live_part(&programme, &results))
        }
        @if programme.me.is_some() {
            (rules::form(&programme, user, forms.rule.as_ref(), &forms.errors))
            (campaigns::stop_forms(&programme, &user.session))
        }
        (automations::section(&automations, user, forms.automation.as_ref(), &forms.errors))
    };
    Ok(layout::page(
        visitor,
        console.explorer_only,
        "/programme",
        "Programme",
        body,
    ))
}

/// The page again after a refused change: status 422 with the messages.
pub async fn refused(
    console: &Console,
    visitor: &Visitor,
    user: &SignedIn,
    forms: Forms,
) -> Response {
    match page(console, visitor, user, forms).await {
        Ok(markup) => (StatusCode::UNPROCESSABLE_ENTITY, markup).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The part that changes with each block: rules, tiers, campaigns.
fn live_part(programme: &Programme, results: &campaigns::Results) -> Markup {
    html! {
        p.muted { "At block " span #programme-height { (programme.info.height.0) } "." }
        (rules::table(programme))
        (rules::tiers(programme))
        (campaigns::table(programme, results))
    }
}

/// `GET /console/programme/live`.
async fn live(State(console): State<Console>, _user: SignedIn) -> Result<Markup, PageError> {
    let programme = Programme::fetch(&console.node).await?;
    let results = campaigns::results(&console.node, programme.me.as_ref()).await;
    Ok(live_part(&programme, &results))
}

/// The visitor a page handler that took a `Change` renders for.
pub fn visitor_of(user: &SignedIn) -> Visitor {
    Visitor {
        session: Some((user.id.clone(), user.session.clone())),
        path: format!("{}/programme", crate::BASE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_notices_are_shown() {
        assert!(done_notice(Some("rule")).is_some_and(|t| t.starts_with("Published")));
        assert_eq!(done_notice(Some("<script>")), None);
        assert_eq!(done_notice(None), None);
    }
}
