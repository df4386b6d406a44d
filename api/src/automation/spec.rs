//! An automation's parts — trigger, condition, action — their checks, the
//! consents they need, and the command line's grammar for them.

use super::template::{PLACEHOLDERS, check_template};
use super::{
    ConsentKind, EventType, MAX_DAYS, MAX_HOLDOUT_PERMILLE, MAX_NAME_LEN, MAX_SUBJECT_LEN,
    MAX_TEMPLATE_LEN,
};
use guild_insights::Segment;
use guild_ledger::types::{CampaignId, Points, TierName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// What makes an automation fire.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Trigger {
    /// A transaction of this shop gives the customer at least `min_points`.
    PointsEarned {
        /// The least points (at least 1).
        min_points: Points,
    },
    /// The customer reaches `tier` (or any tier, without one).
    TierReached {
        /// The tier (or above); any tier if absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        tier: Option<TierName>,
    },
    /// The customer is `within` points or fewer from their next tier.
    CloseToNextTier {
        /// Points (at least 1).
        within: Points,
    },
    /// Points this shop issued expire within `within_days` days.
    PointsExpiring {
        /// Days (1 to 3650).
        within_days: u32,
    },
    /// The customer's segment is At risk, or with `p_active_below`, their
    /// probability of being active is below it.
    AtRisk {
        /// A probability strictly between 0 and 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        p_active_below: Option<f64>,
    },
    /// The customer's birthday (from the directory).
    Birthday,
    /// The customer's first purchase at this shop.
    FirstPurchase,
    /// `days` days have passed since the customer's last purchase here.
    DaysSinceLastPurchase {
        /// Days (1 to 3650).
        days: u32,
    },
    /// A campaign this shop funds starts (or only `campaign`).
    CampaignStarted {
        /// Only this campaign.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        campaign: Option<CampaignId>,
    },
}

impl Trigger {
    /// The event type it fires.
    pub fn event_type(&self) -> EventType {
        match self {
            Trigger::PointsEarned { .. } => EventType::PointsEarned,
            Trigger::TierReached { .. } => EventType::TierReached,
            Trigger::CloseToNextTier { .. } => EventType::TierClose,
            Trigger::PointsExpiring { .. } => EventType::PointsExpiring,
            Trigger::AtRisk { .. } => EventType::CustomerAtRisk,
            Trigger::Birthday => EventType::Birthday,
            Trigger::FirstPurchase => EventType::FirstPurchase,
            Trigger::DaysSinceLastPurchase { .. } => EventType::CustomerLapsed,
            Trigger::CampaignStarted { .. } => EventType::CampaignStarted,
        }
    }

    /// True if segments or scores decide it (the customer's consent to
    /// profiling is needed).
    pub fn is_profiling(&self) -> bool {
        matches!(self, Trigger::AtRisk { .. })
    }

    /// Checks its parameters.
    pub fn validate(&self) -> Result<(), SpecError> {
        let days = |days: u32| {
            if (1..=MAX_DAYS).contains(&days) {
                Ok(())
            } else {
                Err(SpecError::BadDays { days })
            }
        };
        match self {
            Trigger::PointsEarned { min_points }
            | Trigger::CloseToNextTier { within: min_points }
                if min_points.is_zero() =>
            {
                Err(SpecError::ZeroPoints)
            }
            Trigger::PointsExpiring { within_days } => days(*within_days),
            Trigger::DaysSinceLastPurchase { days: d } => days(*d),
            Trigger::AtRisk {
                p_active_below: Some(p),
            } if !(*p > 0.0 && *p < 1.0) => Err(SpecError::BadProbability),
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Trigger {
    /// The grammar form: `days-since-last-purchase:42`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::PointsEarned { min_points } if min_points.0 == 1 => {
                f.write_str("points-earned")
            }
            Trigger::PointsEarned { min_points } => write!(f, "points-earned:{}", min_points.0),
            Trigger::TierReached { tier: None } => f.write_str("tier-reached"),
            Trigger::TierReached { tier: Some(t) } => write!(f, "tier-reached:{t}"),
            Trigger::CloseToNextTier { within } => write!(f, "close-to-next-tier:{}", within.0),
            Trigger::PointsExpiring { within_days } => write!(f, "points-expiring:{within_days}"),
            Trigger::AtRisk {
                p_active_below: None,
            } => f.write_str("at-risk"),
            Trigger::AtRisk {
                p_active_below: Some(p),
            } => write!(f, "at-risk:{p}"),
            Trigger::Birthday => f.write_str("birthday"),
            Trigger::FirstPurchase => f.write_str("first-purchase"),
            Trigger::DaysSinceLastPurchase { days } => write!(f, "days-since-last-purchase:{days}"),
            Trigger::CampaignStarted { campaign: None } => f.write_str("campaign-started"),
            Trigger::CampaignStarted { campaign: Some(c) } => write!(f, "campaign-started:{c}"),
        }
    }
}

/// Splits `kind:argument`.
fn split(text: &str) -> (String, Option<&str>) {
    let text = text.trim();
    match text.split_once(':') {
        Some((kind, arg)) => (kind.trim().to_ascii_lowercase(), Some(arg.trim())),
        None => (text.to_ascii_lowercase(), None),
    }
}

fn number<T: FromStr>(
    arg: Option<&str>,
    what: &'static str,
    form: &'static str,
) -> Result<T, SpecError> {
    let arg = arg.ok_or(SpecError::MissingArgument { what, form })?;
    arg.parse().map_err(|_| SpecError::BadArgument {
        what,
        text: arg.chars().take(40).collect(),
        form,
    })
}

impl FromStr for Trigger {
    type Err = SpecError;

    /// Parses the grammar form (see the module documentation).
    fn from_str(text: &str) -> Result<Trigger, SpecError> {
        let (kind, arg) = split(text);
        let trigger = match kind.as_str() {
            "points-earned" => Trigger::PointsEarned {
                min_points: match arg {
                    None => Points(1),
                    some => Points(number(some, "the least points", "points-earned:50")?),
                },
            },
            "tier-reached" => Trigger::TierReached {
                tier: arg
                    .map(|t| {
                        TierName::new(t).map_err(|e| SpecError::BadArgument {
                            what: "tier",
                            text: format!("{t} ({e})"),
                            form: "tier-reached:gold",
                        })
                    })
                    .transpose()?,
            },
            "close-to-next-tier" | "close-to-tier" => Trigger::CloseToNextTier {
                within: Points(number(arg, "points", "close-to-next-tier:50")?),
            },
            "points-expiring" => Trigger::PointsExpiring {
                within_days: number(arg, "days", "points-expiring:30")?,
            },
            "at-risk" => Trigger::AtRisk {
                p_active_below: arg
                    .map(|p| number(Some(p), "a probability", "at-risk:0.3"))
                    .transpose()?,
            },
            "birthday" => Trigger::Birthday,
            "first-purchase" => Trigger::FirstPurchase,
            "days-since-last-purchase" | "lapsed" => Trigger::DaysSinceLastPurchase {
                days: number(arg, "days", "days-since-last-purchase:42")?,
            },
            "campaign-started" => Trigger::CampaignStarted {
                campaign: arg
                    .map(|c| number(Some(c), "a campaign id", "campaign-started:7").map(CampaignId))
                    .transpose()?,
            },
            _ => {
                return Err(SpecError::UnknownTrigger {
                    text: text.chars().take(60).collect(),
                });
            }
        };
        let takes_no_argument = matches!(trigger, Trigger::Birthday | Trigger::FirstPurchase);
        if takes_no_argument && arg.is_some() {
            return Err(SpecError::UnexpectedArgument { kind });
        }
        trigger.validate()?;
        Ok(trigger)
    }
}

/// Who an automation acts for: every part must hold (empty parts hold for
/// everyone).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The customer's segment is one of these (needs their consent to
    /// profiling).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<Segment>,
    /// The customer's tier is one of these.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tiers: Vec<TierName>,
    /// The customer holds at least this many points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_balance: Option<Points>,
    /// Also ask for consent to messages (it is always asked for webhooks,
    /// e-mails and to-dos; this adds it to rewards).
    #[serde(default, skip_serializing_if = "is_false")]
    pub message_consent: bool,
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Condition {
    /// True if it holds for everyone.
    pub fn is_empty(&self) -> bool {
        *self == Condition::default()
    }
}

/// A reward given on the ledger.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum RewardKind {
    /// The shop's birthday reward (the points of its earn rule; once per
    /// customer per 365 days across the group).
    Birthday,
    /// A campaign's reward, granted through the campaign's rules, budget
    /// and limits.
    Campaign {
        /// The campaign.
        campaign: CampaignId,
    },
}

/// What an automation does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Action {
    /// POST the event to a webhook endpoint of this node (`wh_…`).
    Webhook {
        /// The endpoint's id.
        endpoint: String,
    },
    /// Send an e-mail through the shop's SMTP server.
    Email {
        /// The subject (a template).
        subject: String,
        /// The text (a template).
        body: String,
    },
    /// Give a reward on the ledger.
    Reward {
        /// Which.
        reward: RewardKind,
    },
    /// Add a to-do for the staff.
    Todo {
        /// The text (a template).
        text: String,
    },
}

impl Action {
    /// True if it contacts the customer (consent to messages needed).
    pub fn is_message(&self) -> bool {
        !matches!(self, Action::Reward { .. })
    }

    /// Checks texts and templates.
    pub fn validate(&self) -> Result<(), SpecError> {
        match self {
            Action::Webhook { endpoint } => {
                if endpoint.starts_with("wh_") && endpoint.len() <= 64 {
                    Ok(())
                } else {
                    Err(SpecError::BadEndpoint {
                        text: endpoint.chars().take(64).collect(),
                    })
                }
            }
            Action::Email { subject, body } => {
                if subject.trim().is_empty() {
                    return Err(SpecError::EmptyText { what: "subject" });
                }
                if body.trim().is_empty() {
                    return Err(SpecError::EmptyText { what: "body" });
                }
                if subject.len() > MAX_SUBJECT_LEN || subject.contains(['\r', '\n']) {
                    return Err(SpecError::BadSubject);
                }
                check_template(subject)?;
                check_template(body)
            }
            Action::Reward { .. } => Ok(()),
            Action::Todo { text } => {
                if text.trim().is_empty() {
                    return Err(SpecError::EmptyText { what: "to-do text" });
                }
                check_template(text)
            }
        }
    }
}

impl fmt::Display for Action {
    /// The grammar form: `todo:Call {name}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Webhook { endpoint } => write!(f, "webhook:{endpoint}"),
            Action::Email { subject, .. } => write!(f, "email:{subject}"),
            Action::Reward {
                reward: RewardKind::Birthday,
            } => f.write_str("reward:birthday"),
            Action::Reward {
                reward: RewardKind::Campaign { campaign },
            } => write!(f, "reward:campaign:{campaign}"),
            Action::Todo { text } => write!(f, "todo:{text}"),
        }
    }
}

impl FromStr for Action {
    type Err = SpecError;

    /// Parses the grammar form. `email:SUBJECT` gives an e-mail with an
    /// empty body, which the caller fills in (it does not validate before).
    fn from_str(text: &str) -> Result<Action, SpecError> {
        let trimmed = text.trim();
        let (kind, rest) = match trimmed.split_once(':') {
            Some((kind, rest)) => (kind.trim().to_ascii_lowercase(), Some(rest)),
            None => (trimmed.to_ascii_lowercase(), None),
        };
        let needs = |form: &'static str| SpecError::MissingArgument {
            what: "what to do",
            form,
        };
        match kind.as_str() {
            "webhook" => {
                let endpoint = rest
                    .ok_or_else(|| needs("webhook:wh_…"))?
                    .trim()
                    .to_string();
                let action = Action::Webhook { endpoint };
                action.validate()?;
                Ok(action)
            }
            "email" => Ok(Action::Email {
                subject: rest
                    .ok_or_else(|| needs("email:SUBJECT"))?
                    .trim()
                    .to_string(),
                body: String::new(),
            }),
            "reward" => {
                let (which, arg) = split(rest.ok_or_else(|| needs("reward:birthday"))?);
                let reward = match (which.as_str(), arg) {
                    ("birthday", None) => RewardKind::Birthday,
                    ("campaign", arg) => RewardKind::Campaign {
                        campaign: CampaignId(number(arg, "a campaign id", "reward:campaign:7")?),
                    },
                    _ => {
                        return Err(SpecError::UnknownAction {
                            text: trimmed.chars().take(60).collect(),
                        });
                    }
                };
                Ok(Action::Reward { reward })
            }
            "todo" => {
                let action = Action::Todo {
                    text: rest.ok_or_else(|| needs("todo:TEXT"))?.trim().to_string(),
                };
                action.validate()?;
                Ok(action)
            }
            _ => Err(SpecError::UnknownAction {
                text: trimmed.chars().take(60).collect(),
            }),
        }
    }
}

/// Why an automation (or a piece of one) was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not a trigger of the grammar.
    #[error(
        "'{text}' is not a trigger: use points-earned[:MIN], tier-reached[:TIER], close-to-next-tier:N, points-expiring:DAYS, at-risk[:P], birthday, first-purchase, days-since-last-purchase:N or campaign-started[:ID]"
    )]
    UnknownTrigger {
        /// The text given.
        text: String,
    },
    /// Not an action of the grammar.
    #[error(
        "'{text}' is not an action: use webhook:wh_…, email:SUBJECT (with a body), reward:birthday, reward:campaign:ID or todo:TEXT"
    )]
    UnknownAction {
        /// The text given.
        text: String,
    },
    /// A trigger or action without its argument.
    #[error("{what} is missing: write it like {form}")]
    MissingArgument {
        /// What is missing.
        what: &'static str,
        /// An example.
        form: &'static str,
    },
    /// An argument that does not parse.
    #[error("'{text}' is not {what}: write it like {form}")]
    BadArgument {
        /// What was expected.
        what: &'static str,
        /// The text given.
        text: String,
        /// An example.
        form: &'static str,
    },
    /// An argument where none is taken.
    #[error("{kind} takes no argument")]
    UnexpectedArgument {
        /// The trigger.
        kind: String,
    },
    /// Zero points.
    #[error("the points must be at least 1")]
    ZeroPoints,
    /// Days out of range.
    #[error("{days} days: give 1 to {MAX_DAYS} days")]
    BadDays {
        /// The days given.
        days: u32,
    },
    /// A probability not strictly between 0 and 1.
    #[error("the probability must be between 0 and 1, e.g. at-risk:0.3")]
    BadProbability,
    /// Not an endpoint id.
    #[error(
        "'{text}' is not a webhook endpoint id: ids start with wh_ (`guild automation webhook list` shows them)"
    )]
    BadEndpoint {
        /// The text given.
        text: String,
    },
    /// An empty text.
    #[error("the {what} is empty")]
    EmptyText {
        /// Which text.
        what: &'static str,
    },
    /// A subject too long or on several lines.
    #[error("the e-mail subject must be one line of at most {MAX_SUBJECT_LEN} bytes")]
    BadSubject,
    /// A template too long.
    #[error("the text is {len} bytes long, at most {MAX_TEMPLATE_LEN}")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// A placeholder that is not one of [`PLACEHOLDERS`].
    #[error("{{{name}}} is not a placeholder: use {}", PLACEHOLDERS.iter().map(|(p, _)| format!("{{{p}}}")).collect::<Vec<_>>().join(", "))]
    UnknownPlaceholder {
        /// The name given.
        name: String,
    },
    /// A `{` without its `}`.
    #[error("a '{{' without its '}}': write {{{{ for a brace")]
    UnclosedPlaceholder,
    /// A bad automation name.
    #[error(
        "'{name}' is not an automation name: use 1 to {MAX_NAME_LEN} lower-case letters, digits, '-' or '_', e.g. birthday-treat"
    )]
    BadName {
        /// The name given (at most 60 characters of it).
        name: String,
    },
    /// A holdout beyond the limit.
    #[error(
        "the holdout is {permille} per mille; at most {MAX_HOLDOUT_PERMILLE} (half the customers)"
    )]
    BadHoldout {
        /// The holdout given.
        permille: u16,
    },
    /// A pairing that makes no sense.
    #[error("{reason}")]
    Mismatch {
        /// Why.
        reason: String,
    },
}

/// Checks an automation name: 1 to [`MAX_NAME_LEN`] of `a-z 0-9 - _`.
pub fn check_name(name: &str) -> Result<(), SpecError> {
    let ok = (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(SpecError::BadName {
            name: name.chars().take(60).collect(),
        })
    }
}

/// The body of `POST /v1/automations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAutomation {
    /// A unique name: 1 to 48 of `a-z 0-9 - _`, e.g. `birthday-treat`.
    pub name: String,
    /// What makes it fire.
    pub trigger: Trigger,
    /// Who it acts for (default: everyone).
    #[serde(default)]
    pub condition: Condition,
    /// What it does.
    pub action: Action,
    /// Share of eligible customers held out (nothing done, to measure the
    /// automation's effect), in per mille, at most 500 (default 0).
    #[serde(default)]
    pub holdout_permille: u16,
    /// Whether it runs (default true).
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

impl NewAutomation {
    /// Checks the name, the parts and how they go together (a reward
    /// needs a customer event, a campaign reward names a campaign of this
    /// shop: checked by the node).
    pub fn validate(&self) -> Result<(), SpecError> {
        check_name(&self.name)?;
        self.trigger.validate()?;
        self.action.validate()?;
        if self.holdout_permille > MAX_HOLDOUT_PERMILLE {
            return Err(SpecError::BadHoldout {
                permille: self.holdout_permille,
            });
        }
        if let (
            Action::Reward {
                reward: RewardKind::Birthday,
            },
            trigger,
        ) = (&self.action, &self.trigger)
            && *trigger != Trigger::Birthday
        {
            return Err(SpecError::Mismatch {
                reason: format!(
                    "reward:birthday gives the birthday reward, which the ledger allows once a year: use it with --trigger birthday, not {trigger}"
                ),
            });
        }
        Ok(())
    }

    /// The consents a customer must have given for this automation to act
    /// for them.
    pub fn consents(&self) -> Vec<ConsentKind> {
        consents(&self.trigger, &self.condition, &self.action)
    }
}

/// The consents `trigger`, `condition` and `action` need together:
/// messages for an action that contacts the customer (or when the
/// condition asks for it), profiling when segments or scores decide.
pub fn consents(trigger: &Trigger, condition: &Condition, action: &Action) -> Vec<ConsentKind> {
    let mut needed = Vec::new();
    if action.is_message() || condition.message_consent {
        needed.push(ConsentKind::Messages);
    }
    if trigger.is_profiling() || !condition.segments.is_empty() {
        needed.push(ConsentKind::Profiling);
    }
    needed
}

/// An automation as the node keeps it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AutomationInfo {
    /// Its name.
    pub name: String,
    /// What makes it fire.
    pub trigger: Trigger,
    /// Who it acts for.
    pub condition: Condition,
    /// What it does.
    pub action: Action,
    /// Share held out, per mille.
    pub holdout_permille: u16,
    /// Whether it runs.
    pub enabled: bool,
    /// When it was made, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it was last enabled: it fires for what happens from then on.
    pub enabled_ms: u64,
    /// The event type it fires.
    pub event_type: EventType,
    /// The trigger in the command line's grammar.
    pub trigger_text: String,
    /// The action in the command line's grammar.
    pub action_text: String,
    /// The consents a customer must have given.
    pub consents: Vec<ConsentKind>,
}

/// `GET /v1/automations`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Automations {
    /// Every automation, by name.
    pub automations: Vec<AutomationInfo>,
}
