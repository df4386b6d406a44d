//! Earn rules: every shop's rule in force and next, the group's tiers, and
//! the form that publishes a new version of this shop's rule
//! (`TxBody::SetEarnRule`, from the next block), its values read by
//! `guild_api::programme_input::EarnRuleText`, as `guild shop rules set`
//! reads its flags.

use super::{Forms, Programme, refused, sign_as_shop, visitor_of};
use crate::auth::{Change, SignedIn};
use crate::form::{Errors, Field};
use crate::{Console, layout};
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use guild_api::programme_input::{EarnRuleText, describe_rule};
use guild_ledger::programme::{EarnRule, EarnRuleSpec, Locale};
use guild_ledger::tx::TxBody;
use maud::{Markup, html};
use serde::Deserialize;

/// The earn rule form as sent (every field text, as typed).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct RuleForm {
    /// Points per `per` spent.
    pub points: String,
    /// The spend that earns `points`.
    pub per: String,
    /// The least spend that earns anything.
    pub min_spend: String,
    /// `CATEGORY:MULTIPLIER` pairs, separated by commas.
    pub multipliers: String,
    /// Categories that earn nothing, separated by commas.
    pub excluded: String,
    /// The most points one sale may give.
    pub cap: String,
    /// Points of the birthday reward.
    pub birthday: String,
}

/// A comma-separated list as its items.
fn items(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl RuleForm {
    /// The shared reader's fields.
    pub fn text(&self) -> EarnRuleText {
        EarnRuleText {
            points: self.points.clone(),
            per: self.per.clone(),
            min_spend: self.min_spend.clone(),
            multipliers: items(&self.multipliers),
            excluded: items(&self.excluded),
            cap: self.cap.clone(),
            birthday: self.birthday.clone(),
        }
    }

    /// The form filled in with `spec` (to change the rule in force).
    pub fn of(spec: &EarnRuleSpec, locale: &Locale) -> RuleForm {
        let optional = |cents: u64, text: String| if cents == 0 { String::new() } else { text };
        RuleForm {
            points: spec.points.to_string(),
            per: locale.decimal(spec.per),
            min_spend: optional(spec.min_spend.0, locale.decimal(spec.min_spend)),
            multipliers: spec
                .multipliers
                .iter()
                .map(|m| {
                    format!(
                        "{}:{}",
                        m.category,
                        m.multiplier.to_string().trim_start_matches('x')
                    )
                })
                .collect::<Vec<_>>()
                .join(", "),
            excluded: spec
                .excluded
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(", "),
            cap: spec.cap.map(|c| c.0.to_string()).unwrap_or_default(),
            birthday: optional(spec.birthday.0, spec.birthday.0.to_string()),
        }
    }
}

/// This shop's latest rule (the next one if one is published).
fn latest(programme: &Programme) -> Option<&EarnRule> {
    let me = programme.me?;
    let shop = programme.info.shops.iter().find(|s| s.shop == me)?;
    shop.rules.next.as_ref().or(shop.rules.current.as_ref())
}

/// Every shop's rule, this shop first.
pub fn table(programme: &Programme) -> Markup {
    let locale = &programme.info.locale;
    let mut shops: Vec<_> = programme.info.shops.iter().collect();
    shops.sort_by_key(|s| (Some(s.shop) != programme.me, s.name.folded()));
    let rule = |r: &Option<EarnRule>| match r {
        Some(r) => html! {
            (describe_rule(&r.spec, locale))
            " " span.muted { "(version " (r.version) ", from block " (r.effective.0) ")" }
        },
        None => html! { span.muted { "—" } },
    };
    html! {
        h2 { "Earn rules" }
        div.table-wrap {
            table #rules {
                thead { tr { th { "Shop" } th { "In force" } th { "Next" } } }
                tbody {
                    @for s in shops {
                        tr data-shop=(s.name) {
                            td { (s.name) @if Some(s.shop) == programme.me { " (this shop)" } }
                            @if s.rules.current.is_none() && s.rules.next.is_none() {
                                td colspan="2" { "No rule yet: its sales earn nothing." }
                            } @else {
                                td.rule-current { (rule(&s.rules.current)) }
                                td.rule-next { (rule(&s.rules.next)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The group's tiers.
pub fn tiers(programme: &Programme) -> Markup {
    let t = &programme.info.tiers;
    html! {
        h2 { "Tiers" }
        @if t.tiers.is_empty() {
            p { "No tiers: every customer earns at ×1. Tiers are set by the group (a governance proposal)." }
        } @else {
            p { "A customer's tier comes from the points they earned from sales in the last "
                (t.window_days) " days, at any shop of the group." }
            div.table-wrap {
                table #tiers {
                    thead { tr { th { "Tier" } th.num { "From" } th.num { "Multiplier" } } }
                    tbody {
                        @for tier in &t.tiers {
                            tr {
                                td { (tier.name) }
                                td.num { (tier.threshold.counted()) }
                                td.num { (tier.multiplier.to_string().replacen('x', "×", 1)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The form that publishes a new earn rule: `given` as sent back after a
/// refusal, else this shop's latest rule.
pub fn form(
    programme: &Programme,
    user: &SignedIn,
    given: Option<&RuleForm>,
    errors: &Errors,
) -> Markup {
    let locale = &programme.info.locale;
    let filled = match given {
        Some(form) => form.clone(),
        None => latest(programme)
            .map(|r| RuleForm::of(&r.spec, locale))
            .unwrap_or_else(|| RuleForm {
                points: "1".into(),
                ..RuleForm::default()
            }),
    };
    let currency = locale.currency.code.to_string();
    let per_help = format!(
        "The spend, in {currency}, that earns the points above, e.g. 1.00 for one point per {}.",
        locale.money(guild_ledger::types::Cents(
            10u64.pow(u32::from(locale.currency.minor_units))
        ))
    );
    html! {
        section.card #rule-form {
            h2 { "Change this shop's earn rule" }
            p { "Publishing signs a new version of the rule as this shop; it applies to sales from the next block. Sales already made keep their points." }
            @if let Some(message) = errors.get("rule") {
                (layout::notice("error", message))
            }
            form method="post" action={(crate::BASE) "/programme/rule"} {
                (layout::csrf(&user.session))
                (Field::text("points", "Points", "How many points the spend below earns (a whole number from 1 to 1,000,000).", &filled.points).inputmode("numeric").required().render(errors))
                (Field::text("per", "Per spend", &per_help, &filled.per).inputmode("decimal").required().render(errors))
                (Field::text("min_spend", "Least spend", "A sale below this amount earns nothing (leave empty for no minimum).", &filled.min_spend).inputmode("decimal").render(errors))
                (Field::text("multipliers", "Category multipliers", "Categories that earn more or less, as CATEGORY:MULTIPLIER separated by commas, e.g. coffee:2, tea:1.5.", &filled.multipliers).render(errors))
                (Field::text("excluded", "Categories that earn nothing", "Separated by commas, e.g. gift-card, tobacco.", &filled.excluded).render(errors))
                (Field::text("cap", "Most points a sale", "The most points one sale may give (leave empty for no cap).", &filled.cap).inputmode("numeric").render(errors))
                (Field::text("birthday", "Birthday reward", "Points this shop gives a customer on their birthday (leave empty for none).", &filled.birthday).inputmode("numeric").render(errors))
                button type="submit" { "Publish the rule" }
            }
        }
    }
}

/// `POST /console/programme/rule`.
pub async fn publish(State(console): State<Console>, change: Change<RuleForm>) -> Response {
    let Change { user, form } = change;
    let visitor = visitor_of(&user);
    let back = |errors: Errors| Forms {
        rule: Some(form.clone()),
        errors,
        ..Forms::default()
    };
    let programme = match console.node.programme().await {
        Ok(info) => info,
        Err(error) => return crate::PageError::from(error).into_response(),
    };
    let spec = match form.text().spec(&programme.locale) {
        Ok(spec) => spec,
        Err(error) => {
            let mut errors = Errors::none();
            errors.add(error.field().name(), error.message());
            return refused(&console, &visitor, &user, back(errors)).await;
        }
    };
    let body = TxBody::SetEarnRule {
        rule: spec,
        effective: None,
    };
    match sign_as_shop(&console, user.token(), body).await {
        Ok(_) => Redirect::to(&format!("{}/programme?done=rule", crate::BASE)).into_response(),
        Err(error) => {
            let mut errors = Errors::none();
            errors.add(
                "rule",
                format!("The node did not publish the rule: {error}"),
            );
            refused(&console, &visitor, &user, back(errors)).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_fills_the_form_it_came_from() {
        let locale = Locale::default();
        let sent = RuleForm {
            points: "2".into(),
            per: "0.50".into(),
            min_spend: "2.00".into(),
            multipliers: "tea:1.5, coffee:2".into(),
            excluded: "gift-card".into(),
            cap: "300".into(),
            birthday: String::new(),
        };
        let spec = sent.text().spec(&locale).unwrap();
        let again = RuleForm::of(&spec, &locale);
        assert_eq!(again.multipliers, "coffee:2, tea:1.5");
        assert_eq!(again.text().spec(&locale).unwrap(), spec);
        assert_eq!(again.birthday, "");
    }

    #[test]
    fn lists_are_split_on_commas() {
        assert_eq!(items(" a, ,b ,"), vec!["a".to_string(), "b".to_string()]);
    }
}
