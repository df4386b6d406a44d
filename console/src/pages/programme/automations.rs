//! Automations: this shop's automations (`GET /v1/automations`), their
//! latest webhook deliveries (`GET /v1/automations/deliveries`), buttons
//! to enable or disable one, and a form that adds one. The trigger and the
//! action are written in the grammar of `guild_api::automation` (its
//! `Trigger` and `Action` parse them, as for `guild automation add`), and
//! the node checks the whole automation again.

use super::{Forms, refused, visitor_of};
use crate::auth::{Change, SignedIn};
use crate::form::{Errors, Field};
use crate::pages::login::Empty;
use crate::{Console, PageError, layout};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use guild_api::automation::{Action, Condition, NewAutomation, Trigger};
use guild_api::client::Method;
use guild_api::{AutomationInfo, Automations, Deliveries};
use maud::{Markup, html};
use serde::Deserialize;

/// How many deliveries the page lists.
const DELIVERIES_SHOWN: usize = 10;

/// The automations and their latest deliveries, or why the node could not
/// say (the automation service may be off).
pub type Listing = Result<(Automations, Deliveries), String>;

/// Reads them with the user's `admin` token.
pub async fn fetch(console_node: &guild_api::NodeClient, token: &str) -> Listing {
    let automations = console_node
        .admin::<(), Automations>(Method::GET, "/v1/automations", token, None)
        .await
        .map_err(|e| e.to_string())?;
    let deliveries = console_node
        .admin::<(), Deliveries>(
            Method::GET,
            &format!("/v1/automations/deliveries?limit={DELIVERIES_SHOWN}"),
            token,
            None,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok((automations, deliveries))
}

/// The add form as sent.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AutomationForm {
    /// Its name.
    pub name: String,
    /// When it fires, in the grammar.
    pub trigger: String,
    /// What it does, in the grammar.
    pub action: String,
    /// The e-mail's text, for `email:SUBJECT`.
    pub body: String,
}

impl AutomationForm {
    /// The automation, or the field and message of the first refusal.
    pub fn spec(&self) -> Result<NewAutomation, (&'static str, String)> {
        let trigger: Trigger = self
            .trigger
            .parse()
            .map_err(|e: guild_api::automation::SpecError| ("trigger", e.to_string()))?;
        let mut action: Action = self
            .action
            .parse()
            .map_err(|e: guild_api::automation::SpecError| ("action", e.to_string()))?;
        let text = self.body.trim();
        match &mut action {
            Action::Email { body, .. } if !text.is_empty() => *body = self.body.clone(),
            Action::Email { .. } => {
                return Err(("body", "an e-mail needs its text".to_string()));
            }
            _ if !text.is_empty() => {
                return Err((
                    "body",
                    "the text is only for an email:SUBJECT action".to_string(),
                ));
            }
            _ => {}
        }
        let spec = NewAutomation {
            name: self.name.trim().to_string(),
            trigger,
            condition: Condition::default(),
            action,
            holdout_permille: 0,
            enabled: true,
        };
        spec.validate().map_err(|e| {
            let field = match e {
                guild_api::automation::SpecError::BadName { .. } => "name",
                _ => "action",
            };
            (field, e.to_string())
        })?;
        Ok(spec)
    }
}

/// The section: list, deliveries, add form.
pub fn section(
    listing: &Listing,
    user: &SignedIn,
    given: Option<&AutomationForm>,
    errors: &Errors,
) -> Markup {
    let empty = AutomationForm::default();
    let filled = given.unwrap_or(&empty);
    html! {
        h2 { "Automations" }
        @match listing {
            Err(error) => { (layout::notice("info", &format!("The node's automations are not available: {error}"))) }
            Ok((automations, deliveries)) => {
                @if automations.automations.is_empty() {
                    p { "No automations yet." }
                } @else {
                    div.table-wrap {
                        table #automations {
                            thead { tr { th { "Name" } th { "When" } th { "Does" } th { "State" } th { span.no-print { "Action" } } } }
                            tbody {
                                @for a in &automations.automations {
                                    (row(a, user))
                                }
                            }
                        }
                    }
                }
                h3 { "Latest deliveries" }
                p.muted { (deliveries.waiting) " waiting, " (deliveries.dead) " failed for good." }
                @if deliveries.deliveries.is_empty() {
                    p { "Nothing delivered yet." }
                } @else {
                    div.table-wrap {
                        table #deliveries {
                            thead { tr { th { "Event" } th { "Automation" } th { "Cause" } th { "Status" } th.num { "Attempts" } th { "Last attempt" } } }
                            tbody {
                                @for d in &deliveries.deliveries {
                                    tr {
                                        td.mono { (d.id) }
                                        td { (d.automation) }
                                        td { (d.cause) }
                                        td { (d.status.as_str()) }
                                        td.num { (d.attempt_count) }
                                        td { @if let Some(last) = d.attempts.last() { (last.detail) } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        section.card #automation-form {
            h3 { "Add an automation" }
            @if let Some(message) = errors.get("automation") { (layout::notice("error", message)) }
            form method="post" action={(crate::BASE) "/programme/automations"} {
                (layout::csrf(&user.session))
                (Field::text("name", "Name", "A unique name: lower-case letters, digits, - or _, e.g. birthday-treat.", &filled.name).required().render(errors))
                (Field::text("trigger", "When it fires", "points-earned[:MIN], tier-reached[:TIER], close-to-next-tier:N, points-expiring:DAYS, at-risk[:P], birthday, first-purchase, days-since-last-purchase:N or campaign-started[:ID].", &filled.trigger).required().render(errors))
                (Field::text("action", "What it does", "webhook:wh_…, email:SUBJECT (with the text below), reward:birthday, reward:campaign:ID or todo:TEXT.", &filled.action).required().render(errors))
                (Field::text("body", "E-mail text", "Only for an email: action; may use {name}, {points}, {tier}…", &filled.body).render(errors))
                button type="submit" { "Add the automation" }
            }
        }
    }
}

/// One automation's row, with its enable/disable button.
fn row(a: &AutomationInfo, user: &SignedIn) -> Markup {
    let verb = if a.enabled { "disable" } else { "enable" };
    html! {
        tr data-automation=(a.name) {
            td { (a.name) }
            td.mono { (a.trigger_text) }
            td.mono { (a.action_text) }
            td { @if a.enabled { "enabled" } @else { "disabled" } }
            td {
                form method="post" action={(crate::BASE) "/programme/automations/" (a.name) "/" (verb)} {
                    (layout::csrf(&user.session))
                    button.secondary type="submit" { @if a.enabled { "Disable" } @else { "Enable" } " " (a.name) }
                }
            }
        }
    }
}

/// `POST /console/programme/automations`.
pub async fn add(State(console): State<Console>, change: Change<AutomationForm>) -> Response {
    let Change { user, form } = change;
    let visitor = visitor_of(&user);
    let back = |field: &str, message: String| {
        let mut errors = Errors::none();
        errors.add(field, message);
        Forms {
            automation: Some(form.clone()),
            errors,
            ..Forms::default()
        }
    };
    let spec = match form.spec() {
        Ok(spec) => spec,
        Err((field, message)) => {
            return refused(&console, &visitor, &user, back(field, message)).await;
        }
    };
    let added: Result<AutomationInfo, _> = console
        .node
        .admin(Method::POST, "/v1/automations", user.token(), Some(&spec))
        .await;
    match added {
        Ok(_) => Redirect::to(&format!("{}/programme?done=added", crate::BASE)).into_response(),
        Err(error) => {
            let forms = back(
                "automation",
                format!("The node did not add the automation: {error}"),
            );
            refused(&console, &visitor, &user, forms).await
        }
    }
}

/// `POST /console/programme/automations/{name}/{enable|disable}`.
pub async fn switch(
    State(console): State<Console>,
    Path((name, verb)): Path<(String, String)>,
    change: Change<Empty>,
) -> Response {
    if verb != "enable" && verb != "disable" {
        return PageError::NotFound(format!(
            "an automation can be enabled or disabled, not {verb:?}"
        ))
        .into_response();
    }
    let segment: String = serde_urlencoded::to_string([("", name.as_str())])
        .unwrap_or_default()
        .trim_start_matches('=')
        .to_string();
    let answer: Result<AutomationInfo, _> = console
        .node
        .admin::<(), _>(
            Method::POST,
            &format!("/v1/automations/{segment}/{verb}"),
            change.user.token(),
            None,
        )
        .await;
    match answer {
        Ok(_) => Redirect::to(&format!("{}/programme?done={verb}d", crate::BASE)).into_response(),
        Err(error) => PageError::from(error).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(name: &str, trigger: &str, action: &str, body: &str) -> AutomationForm {
        AutomationForm {
            name: name.into(),
            trigger: trigger.into(),
            action: action.into(),
            body: body.into(),
        }
    }

    #[test]
    fn a_bad_part_is_refused_beside_its_field() {
        assert!(
            form("treat", "birthday", "reward:birthday", "")
                .spec()
                .is_ok()
        );
        assert_eq!(
            form("treat", "sometimes", "todo:x", "")
                .spec()
                .unwrap_err()
                .0,
            "trigger"
        );
        assert_eq!(
            form("treat", "birthday", "dance", "").spec().unwrap_err().0,
            "action"
        );
        assert_eq!(
            form("treat", "birthday", "email:Hello", "")
                .spec()
                .unwrap_err()
                .0,
            "body"
        );
        assert_eq!(
            form("Bad Name", "birthday", "todo:call", "")
                .spec()
                .unwrap_err()
                .0,
            "name"
        );
    }
}
