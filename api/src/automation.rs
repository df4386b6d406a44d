//! Automated journeys over HTTP: a shop's automations (trigger →
//! condition → action), its webhook endpoints, the delivery log, the staff
//! to-dos and the automation report, plus the JSON every webhook receiver
//! gets (`WebhookPayload`) and the small text grammar the `guild
//! automation` command reads (`--trigger days-since-last-purchase:42`).
//!
//! Every endpoint needs the shop's `admin` token. `docs/automation.md`
//! explains the triggers, the guarantees and the Standard Webhooks
//! signature; `docs/api.md` lists the endpoints.
//!
//! ## The grammar (one list, used by the CLI and shown by the node)
//!
//! | trigger | fires |
//! |---|---|
//! | `points-earned[:MIN]` | a sale, grant or birthday reward of this shop gives the customer at least MIN points (default 1) |
//! | `tier-reached[:TIER]` | the customer reaches TIER (or any tier) |
//! | `close-to-next-tier:N` | the customer is N points or fewer from their next tier |
//! | `points-expiring:DAYS` | points this shop issued to the customer expire within DAYS days (once per lot) |
//! | `at-risk[:P]` | the customer's segment is At risk, or (with P) their probability of being active is below P |
//! | `birthday` | the customer's birthday (from the directory), once a year |
//! | `first-purchase` | the customer's first purchase at this shop |
//! | `days-since-last-purchase:N` | N days have passed since the customer's last purchase here |
//! | `campaign-started[:ID]` | a campaign this shop funds (or campaign ID) starts: one event per customer of the shop |
//!
//! | action | does |
//! |---|---|
//! | `webhook:wh_…` | POSTs the event to the endpoint, signed (Standard Webhooks) |
//! | `email:SUBJECT` (body given apart) | sends an e-mail through the shop's own SMTP server |
//! | `reward:birthday` | gives the shop's birthday reward (its earn rule's points) on the ledger |
//! | `reward:campaign:ID` | grants campaign ID's reward on the ledger |
//! | `todo:TEXT` | adds a to-do for the staff |
//!
//! Texts (to-do, subject, body) are templates: `{name}`, `{points}`, …
//! ([`PLACEHOLDERS`]) are filled in with the figures of the event.

pub use guild_insights::Segment;
use guild_ledger::crypto::Address;
use guild_ledger::tx::TxId;
use guild_ledger::types::{CampaignId, Cents, Points, TierName};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// Longest automation name, in bytes.
pub const MAX_NAME_LEN: usize = 48;
/// Longest template (to-do text, e-mail body), in bytes.
pub const MAX_TEMPLATE_LEN: usize = 2000;
/// Longest e-mail subject, in bytes.
pub const MAX_SUBJECT_LEN: usize = 200;
/// Largest holdout, in per mille (half of the eligible customers).
pub const MAX_HOLDOUT_PERMILLE: u16 = 500;
/// Longest span of days a trigger may name (ten years).
pub const MAX_DAYS: u32 = 3650;

/// The kinds of event an automation fires: one list, the `type` of the
/// webhook payload and the `event_type` of the delivery log.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
pub enum EventType {
    /// Points earned at this shop (a sale, a grant, a birthday reward).
    #[serde(rename = "points.earned")]
    PointsEarned,
    /// A tier reached.
    #[serde(rename = "tier.reached")]
    TierReached,
    /// Close to the next tier.
    #[serde(rename = "tier.close")]
    TierClose,
    /// Points expiring soon.
    #[serde(rename = "points.expiring")]
    PointsExpiring,
    /// A customer at risk of lapsing.
    #[serde(rename = "customer.at_risk")]
    CustomerAtRisk,
    /// A birthday.
    #[serde(rename = "birthday")]
    Birthday,
    /// A first purchase at this shop.
    #[serde(rename = "purchase.first")]
    FirstPurchase,
    /// N days without a purchase.
    #[serde(rename = "customer.lapsed")]
    CustomerLapsed,
    /// A campaign started.
    #[serde(rename = "campaign.started")]
    CampaignStarted,
}

impl EventType {
    /// Every event type.
    pub const ALL: [EventType; 9] = [
        EventType::PointsEarned,
        EventType::TierReached,
        EventType::TierClose,
        EventType::PointsExpiring,
        EventType::CustomerAtRisk,
        EventType::Birthday,
        EventType::FirstPurchase,
        EventType::CustomerLapsed,
        EventType::CampaignStarted,
    ];

    /// The name in JSON (`points.earned`).
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PointsEarned => "points.earned",
            EventType::TierReached => "tier.reached",
            EventType::TierClose => "tier.close",
            EventType::PointsExpiring => "points.expiring",
            EventType::CustomerAtRisk => "customer.at_risk",
            EventType::Birthday => "birthday",
            EventType::FirstPurchase => "purchase.first",
            EventType::CustomerLapsed => "customer.lapsed",
            EventType::CampaignStarted => "campaign.started",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The consents a customer gives in the shop's directory.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// To be contacted: webhooks, e-mails and staff to-dos about them.
    Messages,
    /// To be profiled: segments and scores may decide what they get.
    Profiling,
}

impl fmt::Display for ConsentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConsentKind::Messages => "messages",
            ConsentKind::Profiling => "profiling",
        })
    }
}

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

/// The placeholders a template may use, with what each becomes.
pub const PLACEHOLDERS: [(&str, &str); 15] = [
    (
        "name",
        "the customer's name from the directory, else their short address",
    ),
    ("shop", "the shop's name"),
    (
        "points",
        "the points of the event (earned, expiring, or needed)",
    ),
    ("balance", "the points the customer holds"),
    ("tier", "the customer's tier (or \"no tier\")"),
    ("next_tier", "the next tier up"),
    (
        "points_to_next_tier",
        "points still needed for the next tier",
    ),
    ("segment", "the customer's segment, e.g. Champions"),
    ("days", "days since the last purchase here"),
    ("weeks", "whole weeks since the last purchase here"),
    (
        "last_visit",
        "the date of the last purchase here (YYYY-MM-DD)",
    ),
    (
        "spent",
        "what the customer spent here in the last 365 days, e.g. £212.00",
    ),
    ("expires", "the date points expire (YYYY-MM-DD)"),
    ("campaign", "the campaign's name"),
    ("automation", "the automation's name"),
];

/// The placeholder names in `text` (`{name}`; `{{` and `}}` are braces).
fn placeholders(text: &str) -> Result<Vec<&str>, SpecError> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let after = &rest[i..];
        if let Some(tail) = after
            .strip_prefix("{{")
            .or_else(|| after.strip_prefix("}}"))
        {
            rest = tail;
            continue;
        }
        if let Some(tail) = after.strip_prefix('}') {
            rest = tail;
            continue;
        }
        let close = after.find('}').ok_or(SpecError::UnclosedPlaceholder)?;
        names.push(&after[1..close]);
        rest = &after[close + 1..];
    }
    Ok(names)
}

/// Checks a template: at most [`MAX_TEMPLATE_LEN`] bytes, every
/// placeholder known.
pub fn check_template(text: &str) -> Result<(), SpecError> {
    if text.len() > MAX_TEMPLATE_LEN {
        return Err(SpecError::TooLong { len: text.len() });
    }
    for name in placeholders(text)? {
        if !PLACEHOLDERS.iter().any(|(p, _)| *p == name) {
            return Err(SpecError::UnknownPlaceholder {
                name: name.chars().take(40).collect(),
            });
        }
    }
    Ok(())
}

/// Fills in a template: each `{placeholder}` becomes `value(name)` (an
/// unknown or unavailable one becomes `-`), `{{`/`}}` become braces.
pub fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(['{', '}']) {
        let (before, after) = rest.split_at(i);
        out.push_str(before);
        if let Some(tail) = after.strip_prefix("{{") {
            out.push('{');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("}}") {
            out.push('}');
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('}') {
            out.push('}');
            rest = tail;
        } else if let Some(close) = after.find('}') {
            out.push_str(&value(&after[1..close]).unwrap_or_else(|| "-".to_string()));
            rest = &after[close + 1..];
        } else {
            out.push_str(after);
            rest = "";
        }
    }
    out.push_str(rest);
    out
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

/// The body of `POST /v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// Where events are POSTed: `https://…` (or `http://` on the shop's
    /// own network).
    pub url: String,
    /// A note for people (at most 200 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// A webhook endpoint (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WebhookInfo {
    /// Its id (`wh_…`), named by `webhook:` actions.
    pub id: String,
    /// Where events are POSTed.
    pub url: String,
    /// The note.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was added, ms since the Unix epoch.
    pub created_ms: u64,
    /// The secret's first characters (`whsec_ab12cd34`), to recognise it.
    pub secret_prefix: String,
}

/// The answer to `POST /v1/webhooks`: the only time the secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CreatedWebhook {
    /// The endpoint.
    pub webhook: WebhookInfo,
    /// The signing secret, `whsec_` and base64: give it to the receiver,
    /// which checks `webhook-signature` with it.
    pub secret: String,
}

/// `GET /v1/webhooks`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Webhooks {
    /// Every endpoint, oldest first.
    pub webhooks: Vec<WebhookInfo>,
}

/// The figures behind an event (those that apply).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Figures {
    /// Points of the event: earned, expiring, or still needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<Points>,
    /// Points the customer holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<Points>,
    /// Points earned in the tier window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_points: Option<Points>,
    /// The next tier up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_tier: Option<TierName>,
    /// Points still needed for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points_to_next_tier: Option<Points>,
    /// When the points expire, ms since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at_ms: Option<u64>,
    /// Days since the last purchase here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days_since_last_purchase: Option<u32>,
    /// The date of the last purchase here (`YYYY-MM-DD`, local).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_purchase: Option<String>,
    /// Spent here in the last 365 days, in minor units.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spent: Option<Cents>,
    /// Purchase days here in the last 365 days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchases: Option<u32>,
    /// The campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignId>,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign_name: Option<String>,
    /// The transaction that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<TxId>,
    /// The birthday (`MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<String>,
}

/// Why an automation fired for a customer: which trigger and rule, which
/// segment, tier or score, with the figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Explanation {
    /// The trigger, in the grammar (`days-since-last-purchase:42`).
    pub trigger: String,
    /// What fired it, in a sentence with the figures.
    pub summary: String,
    /// Each condition that held, with its figures.
    #[serde(default)]
    pub conditions: Vec<String>,
    /// The customer's segment when it fired, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segment: Option<Segment>,
    /// The customer's tier when it fired, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<TierName>,
    /// The customer's probability of being active, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_active: Option<f64>,
    /// The figures.
    pub figures: Figures,
}

/// What a webhook receiver gets (the Standard Webhooks payload shape:
/// `type`, `timestamp`, `data`), signed in the `webhook-signature` header;
/// `webhook-id` is `data.id`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct WebhookPayload {
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the event happened, RFC 3339 (UTC).
    pub timestamp: String,
    /// The event.
    pub data: EventData,
}

/// The event of a [`WebhookPayload`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventData {
    /// The event's id (`evt_…`, also the `webhook-id` header): the same on
    /// every retry, so a receiver drops repeats by it.
    pub id: String,
    /// The automation that fired.
    pub automation: String,
    /// The cause, e.g. `birthday/guild1…/2026`: one event per cause.
    pub cause: String,
    /// The shop.
    pub shop: Address,
    /// The shop's name.
    pub shop_name: String,
    /// The customer.
    pub customer: Address,
    /// Their name, from the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_name: Option<String>,
    /// Their e-mail address, from the directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_email: Option<String>,
    /// When it happened, ms since the Unix epoch.
    pub time_ms: u64,
    /// Why it fired.
    pub explanation: Explanation,
}

/// Where a delivery stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Not attempted yet.
    Pending,
    /// Attempted and failed; tried again at `next_attempt_ms`.
    Retrying,
    /// Done: the receiver answered 2xx, the e-mail was accepted, the
    /// reward is final, the to-do was added.
    Delivered,
    /// Not done, for a reason (consent withdrawn, the ledger refused the
    /// reward, the endpoint was removed).
    Cancelled,
    /// Given up after retrying for days.
    Dead,
    /// Held out for the A/B comparison: recorded, nothing done.
    HeldOut,
}

impl DeliveryStatus {
    /// The name in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Retrying => "retrying",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Cancelled => "cancelled",
            DeliveryStatus::Dead => "dead",
            DeliveryStatus::HeldOut => "held_out",
        }
    }

    /// True once nothing more will be tried.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            DeliveryStatus::Delivered
                | DeliveryStatus::Cancelled
                | DeliveryStatus::Dead
                | DeliveryStatus::HeldOut
        )
    }
}

impl FromStr for DeliveryStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<DeliveryStatus, String> {
        [
            DeliveryStatus::Pending,
            DeliveryStatus::Retrying,
            DeliveryStatus::Delivered,
            DeliveryStatus::Cancelled,
            DeliveryStatus::Dead,
            DeliveryStatus::HeldOut,
        ]
        .into_iter()
        .find(|s| s.as_str() == text.trim())
        .ok_or_else(|| {
            format!(
                "'{}' is not a delivery status: pending, retrying, delivered, cancelled, dead or held_out",
                text.chars().take(40).collect::<String>()
            )
        })
    }
}

/// One attempt at a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AttemptInfo {
    /// When, ms since the Unix epoch.
    pub at_ms: u64,
    /// True if it succeeded.
    pub ok: bool,
    /// The HTTP status the receiver answered, for a webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    /// What happened (`HTTP 500: …`, `connection refused`, `final at
    /// height 12`).
    pub detail: String,
}

/// One event in the delivery log.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct DeliveryInfo {
    /// The event's id (`evt_…`, the `webhook-id`).
    pub id: String,
    /// The automation.
    pub automation: String,
    /// The event type.
    pub event_type: EventType,
    /// The action, in the grammar.
    pub action: String,
    /// The customer.
    pub customer: Address,
    /// The cause.
    pub cause: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// When it was triggered, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it is tried next (pending or retrying).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_ms: Option<u64>,
    /// Attempts made.
    pub attempt_count: u32,
    /// The last attempts (at most 10), oldest first.
    pub attempts: Vec<AttemptInfo>,
    /// How it ended (delivered, cancelled or dead): the reason or result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// Why it fired.
    pub explanation: Explanation,
}

/// `GET /v1/automations/deliveries`: the newest first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Deliveries {
    /// Events waiting to be done (pending or retrying), all automations.
    pub waiting: u64,
    /// Events that failed for good (dead), all automations.
    pub dead: u64,
    /// The events asked for, newest first.
    pub deliveries: Vec<DeliveryInfo>,
}

/// A to-do for the staff.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TodoInfo {
    /// Its id (the event's id).
    pub id: String,
    /// The automation that added it.
    pub automation: String,
    /// The customer.
    pub customer: Address,
    /// What to do, with the figures filled in.
    pub text: String,
    /// When it was added, ms since the Unix epoch.
    pub created_ms: u64,
    /// When it was marked done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub done_ms: Option<u64>,
    /// Why it was added.
    pub explanation: Explanation,
}

/// `GET /v1/automations/todos`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Todos {
    /// Open to-dos first (oldest first), then done ones (newest first).
    pub todos: Vec<TodoInfo>,
}

/// What one group of customers did after the events of an automation: for
/// the A/B comparison of the treated customers with those held out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct GroupOutcome {
    /// Customers in the group (each counted once, from their first event).
    pub customers: u32,
    /// Of them, those who bought here within the window after their event.
    pub purchasers: u32,
    /// Purchase days here within the window.
    pub purchases: u32,
    /// What they spent here within the window, in minor units.
    pub spend: Cents,
}

/// One segment's or tier's share of an automation's events.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReportGroup {
    /// The segment (`champions`, …, or `unknown`) or tier (`none` for no
    /// tier).
    pub group: String,
    /// Events for customers of this group (treated and held out).
    pub fired: u32,
    /// Of them, held out.
    pub held_out: u32,
    /// Of the treated, done.
    pub delivered: u32,
    /// Of the treated, cancelled or dead.
    pub not_delivered: u32,
    /// Rewards given.
    pub rewards: u32,
    /// Points of those rewards.
    pub reward_points: Points,
}

/// One automation in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutomationReportRow {
    /// The automation (it may have been removed since).
    pub automation: String,
    /// Its event type.
    pub event_type: EventType,
    /// Its holdout, per mille (if it still exists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holdout_permille: Option<u16>,
    /// Events (treated and held out).
    pub fired: u32,
    /// Held out.
    pub held_out: u32,
    /// Done.
    pub delivered: u32,
    /// Waiting (pending or retrying).
    pub waiting: u32,
    /// Cancelled.
    pub cancelled: u32,
    /// Given up.
    pub dead: u32,
    /// Rewards given.
    pub rewards: u32,
    /// Points of those rewards.
    pub reward_points: Points,
    /// The events by the customer's segment when it fired.
    pub by_segment: Vec<ReportGroup>,
    /// The events by the customer's tier when it fired.
    pub by_tier: Vec<ReportGroup>,
    /// What the treated customers did afterwards.
    pub treated: GroupOutcome,
    /// What the held-out customers did afterwards.
    pub holdout: GroupOutcome,
}

/// `GET /v1/automations/report`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AutomationReport {
    /// When it was computed, ms since the Unix epoch.
    pub generated_ms: u64,
    /// Days after an event in which purchases count as its outcome.
    pub window_days: u32,
    /// Per automation, by name.
    pub automations: Vec<AutomationReportRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_and_print_in_the_grammar() {
        for text in [
            "points-earned",
            "points-earned:50",
            "tier-reached",
            "tier-reached:gold",
            "close-to-next-tier:40",
            "points-expiring:30",
            "at-risk",
            "at-risk:0.3",
            "birthday",
            "first-purchase",
            "days-since-last-purchase:42",
            "campaign-started",
            "campaign-started:7",
        ] {
            let trigger: Trigger = text.parse().unwrap();
            assert_eq!(trigger.to_string(), text);
            let json = serde_json::to_string(&trigger).unwrap();
            assert_eq!(serde_json::from_str::<Trigger>(&json).unwrap(), trigger);
        }
        assert_eq!(
            "lapsed:42".parse::<Trigger>().unwrap(),
            Trigger::DaysSinceLastPurchase { days: 42 }
        );
        assert_eq!(
            serde_json::to_value(Trigger::DaysSinceLastPurchase { days: 42 }).unwrap(),
            serde_json::json!({"kind": "days_since_last_purchase", "days": 42})
        );
    }

    #[test]
    fn bad_triggers_say_what_to_write() {
        let error = |text: &str| text.parse::<Trigger>().unwrap_err().to_string();
        assert!(
            error("sunny-day").contains("is not a trigger"),
            "{}",
            error("sunny-day")
        );
        assert!(
            error("days-since-last-purchase").contains("write it like days-since-last-purchase:42")
        );
        assert!(error("days-since-last-purchase:six").contains("'six' is not days"));
        assert!(error("days-since-last-purchase:0").contains("give 1 to 3650 days"));
        assert!(error("points-earned:0").contains("at least 1"));
        assert!(error("at-risk:1.5").contains("between 0 and 1"));
        assert!(error("birthday:3").contains("takes no argument"));
        assert!(error("tier-reached:Gold!").contains("not tier"));
    }

    #[test]
    fn actions_parse_and_print_in_the_grammar() {
        for text in [
            "webhook:wh_1a2b3c",
            "reward:birthday",
            "reward:campaign:7",
            "todo:Call {name}: a {segment} who has not come in for {weeks} weeks",
        ] {
            let action: Action = text.parse().unwrap();
            assert_eq!(action.to_string(), text);
        }
        assert_eq!(
            "email:Happy birthday, {name}".parse::<Action>().unwrap(),
            Action::Email {
                subject: "Happy birthday, {name}".into(),
                body: String::new()
            }
        );
        let error = |text: &str| text.parse::<Action>().unwrap_err().to_string();
        assert!(error("sms:hello").contains("is not an action"));
        assert!(error("webhook:https://x").contains("ids start with wh_"));
        assert!(error("todo:Call {nme}").contains("{nme} is not a placeholder"));
        assert!(error("todo:Call {name").contains("without its"));
        assert!(error("reward:points").contains("is not an action"));
    }

    #[test]
    fn templates_fill_in_known_placeholders_and_keep_braces() {
        let text = "Call {name}: a {segment} ({{VIP}}) for {weeks} weeks, {missing}";
        assert!(check_template(text).is_err());
        let text = "Call {name}: a {segment} ({{VIP}}) for {weeks} weeks, {campaign}";
        check_template(text).unwrap();
        let filled = render(text, |name| match name {
            "name" => Some("Mrs Lee".into()),
            "segment" => Some("Champion".into()),
            "weeks" => Some("6".into()),
            _ => None,
        });
        assert_eq!(filled, "Call Mrs Lee: a Champion ({VIP}) for 6 weeks, -");
        assert_eq!(render("{a", |_| None), "{a");
    }

    #[test]
    fn consents_follow_the_action_and_the_use_of_segments() {
        let todo: Action = "todo:Call {name}".parse().unwrap();
        let reward: Action = "reward:birthday".parse().unwrap();
        let lapsed: Trigger = "days-since-last-purchase:42".parse().unwrap();
        let at_risk: Trigger = "at-risk".parse().unwrap();
        let none = Condition::default();
        assert_eq!(consents(&lapsed, &none, &todo), vec![ConsentKind::Messages]);
        assert_eq!(consents(&lapsed, &none, &reward), vec![]);
        assert_eq!(
            consents(&at_risk, &none, &reward),
            vec![ConsentKind::Profiling]
        );
        let champions = Condition {
            segments: vec![Segment::Champions],
            ..Condition::default()
        };
        assert_eq!(
            consents(&lapsed, &champions, &todo),
            vec![ConsentKind::Messages, ConsentKind::Profiling]
        );
    }

    #[test]
    fn a_birthday_reward_needs_the_birthday_trigger() {
        let mut automation = NewAutomation {
            name: "birthday-treat".into(),
            trigger: Trigger::Birthday,
            condition: Condition::default(),
            action: "reward:birthday".parse().unwrap(),
            holdout_permille: 100,
            enabled: true,
        };
        automation.validate().unwrap();
        automation.trigger = Trigger::FirstPurchase;
        assert!(matches!(
            automation.validate(),
            Err(SpecError::Mismatch { .. })
        ));
        automation.trigger = Trigger::Birthday;
        automation.holdout_permille = 501;
        assert!(matches!(
            automation.validate(),
            Err(SpecError::BadHoldout { .. })
        ));
        automation.holdout_permille = 0;
        automation.name = "Birthday Treat".into();
        assert!(matches!(
            automation.validate(),
            Err(SpecError::BadName { .. })
        ));
    }

    #[test]
    fn event_types_are_one_list_with_dotted_names() {
        for t in EventType::ALL {
            assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
        }
        assert_eq!(EventType::ALL.len(), 9);
    }
}
