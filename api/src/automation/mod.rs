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

mod spec;
mod template;
#[cfg(test)]
mod tests;

pub use guild_insights::Segment;
pub use spec::{
    Action, AutomationInfo, Automations, Condition, NewAutomation, RewardKind, SpecError, Trigger,
    check_name, consents,
};
pub use template::{PLACEHOLDERS, check_template, render};

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
