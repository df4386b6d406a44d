//! The programme over HTTP: sales, previews and refunds from tills
//! (`POST /v1/sale`, `/v1/sale/preview`, `/v1/refund`, with a bearer token)
//! and what is in force (`GET /v1/programme`).
//!
//! Amounts are integers in the currency's minor units (pence for GBP), as
//! everywhere in the API; `GET /v1/programme` says which currency.

use guild_ledger::crypto::Address;
use guild_ledger::programme::{Breakdown, Campaign, Locale, ShopRules, TierTable};
use guild_ledger::state::{EarnRecord, State};
use guild_ledger::tx::TxId;
use guild_ledger::types::{Category, Cents, Height, Points, ShopName, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of `POST /v1/sale` and `POST /v1/sale/preview`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleRequest {
    /// The customer's address (`guild1…`).
    #[schema(value_type = String)]
    pub customer: String,
    /// The amount paid, in minor units (1250 for £12.50).
    pub amount: Cents,
    /// Amounts per category (each at most once; together at most
    /// `amount`, the rest is uncategorised).
    #[serde(default)]
    pub items: Vec<SaleItem>,
    /// The till's receipt id (default: one the node makes, returned). The
    /// same receipt earns once; refunds name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Answer once the sale is final (default true; not for previews).
    #[serde(default = "yes")]
    pub wait: bool,
    /// How long to wait, in milliseconds (default 10,000, at most 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

fn yes() -> bool {
    true
}

/// One category's part of a sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaleItem {
    /// The category, e.g. `coffee`.
    pub category: Category,
    /// Its amount, in minor units.
    pub amount: Cents,
}

/// `"final"`, `"pending"` or `"preview"`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SaleStatus {
    /// In a final block.
    Final,
    /// Signed and waiting for a block.
    Pending,
    /// Not issued: what the sale would earn now.
    Preview,
}

/// The answer to a sale or a preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SaleAnswer {
    /// Final, pending or preview.
    pub status: SaleStatus,
    /// The transaction's id (not for a preview).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<TxId>,
    /// The block holding it (once final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
    /// Its position in the block (once final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The receipt id (as given, or made by the node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
    /// Points issued to the customer (what the till shows).
    pub total: Points,
    /// Why: base, multipliers, campaigns, caps, line by line.
    pub breakdown: Breakdown,
}

/// The body of `POST /v1/refund`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The receipt id of the sale (or grant) being refunded.
    pub receipt: String,
    /// The amount refunded, in minor units (default: all that is left;
    /// only a sale can be refunded in part).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Cents>,
    /// Answer once final (default true).
    #[serde(default = "yes")]
    pub wait: bool,
    /// How long to wait, in milliseconds (default 10,000, at most 60,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

/// The answer to a refund: what it took back, once final.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundAnswer {
    /// Final or pending.
    pub status: SaleStatus,
    /// The reversal's transaction id.
    pub id: TxId,
    /// The block holding it (once final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
    /// The receipt id, as the till gave it.
    pub receipt_id: String,
    /// The amount this refund refunded, in minor units (once final; none
    /// for a manual grant without a purchase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refunded: Option<Cents>,
    /// What this refund did to points (once final): `taken` back from the
    /// customer, and `shortfall`, due but already spent or expired.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub points: Option<RefundPoints>,
    /// The receipt's figures after the refund, all refunds so far together
    /// (once final).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<ReceiptState>,
    /// What to tell the clerk, in one sentence ([`refund_message`]).
    pub message: String,
}

/// What one refund did to points: taken + shortfall is what it was due
/// (the sale's points in proportion to the part refunded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RefundPoints {
    /// Points taken back from the customer.
    pub taken: Points,
    /// Points due back that the customer had already spent (or that
    /// expired): they stay spent, the shop bears them, and the customer
    /// owes nothing for them.
    pub shortfall: Points,
}

/// The one sentence a till or the command line shows for a final refund
/// of `receipt_id`: what this refund took back, what it could not, and
/// what is left of the receipt.
///
/// ```
/// use guild_api::programme::{RefundPoints, ReceiptState, refund_message};
/// use guild_ledger::types::{Cents, Points};
///
/// let after = ReceiptState {
///     receipt_id: None,
///     given: Points(65),
///     purchase: Some(Cents(650)),
///     refunded: Cents(650),
///     taken: Points(55),
///     shortfall: Points(10),
///     remaining: Points(0),
/// };
/// let points = RefundPoints { taken: Points(55), shortfall: Points(10) };
/// assert_eq!(
///     refund_message("R-1001", Some(Cents(650)), points, &after),
///     "Refund of 6.50 on receipt R-1001: took back 55 points; 10 points could not be taken \
///      back (the customer had already spent them or they expired: the shop bears them, the \
///      customer owes nothing). The sale is refunded in full; the customer keeps none of its points."
/// );
/// ```
pub fn refund_message(
    receipt_id: &str,
    refunded: Option<Cents>,
    points: RefundPoints,
    after: &ReceiptState,
) -> String {
    let what = match refunded {
        Some(amount) if amount.0 > 0 => format!("Refund of {amount} on receipt {receipt_id}"),
        _ => format!("Reversal of receipt {receipt_id}"),
    };
    let taken = format!("took back {}", points.taken.counted());
    let short = if points.shortfall.is_zero() {
        String::new()
    } else {
        format!(
            "; {} could not be taken back (the customer had already spent {} or {} expired: the shop bears {}, the customer owes nothing)",
            points.shortfall.counted(),
            if points.shortfall.0 == 1 {
                "it"
            } else {
                "them"
            },
            if points.shortfall.0 == 1 {
                "it"
            } else {
                "they"
            },
            if points.shortfall.0 == 1 {
                "it"
            } else {
                "them"
            },
        )
    };
    let left_to_refund = after
        .purchase
        .map(|p| Cents(p.0.saturating_sub(after.refunded.0)));
    let rest = match left_to_refund {
        Some(left) if left.0 > 0 => format!(
            "{left} of the sale is left to refund; the customer keeps {} of this receipt",
            after.remaining.counted()
        ),
        Some(_) => format!(
            "The sale is refunded in full; the customer keeps {}",
            if after.remaining.is_zero() {
                "none of its points".to_string()
            } else {
                format!("{} of it", after.remaining.counted())
            }
        ),
        None => format!(
            "The customer keeps {} of this receipt",
            after.remaining.counted()
        ),
    };
    format!("{what}: {taken}{short}. {}.", capitalise(&rest))
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// Where one receipt stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReceiptState {
    /// The receipt id as the shop typed it, when the node answering is
    /// that shop's own and knows it (the ledger keeps only its hash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt_id: Option<String>,
    /// Points the earn gave the customer.
    pub given: Points,
    /// The purchase amount, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purchase: Option<Cents>,
    /// Of the purchase, refunded so far.
    pub refunded: Cents,
    /// Points taken back so far.
    pub taken: Points,
    /// Points due back but already spent (taken + shortfall is what the
    /// refunds so far owe back).
    pub shortfall: Points,
    /// Points of the receipt the customer still holds.
    pub remaining: Points,
}

impl ReceiptState {
    /// From the ledger's record.
    pub fn new(record: &EarnRecord) -> ReceiptState {
        let r = record.reversal;
        ReceiptState {
            receipt_id: None,
            given: record.points,
            purchase: record.purchase,
            refunded: r.map_or(Cents(0), |r| r.refunded),
            taken: r.map_or(Points::ZERO, |r| r.taken),
            shortfall: r.map_or(Points::ZERO, |r| r.shortfall),
            remaining: record.remaining,
        }
    }

    /// The same, with the receipt id the shop's node knows.
    pub fn with_id(mut self, receipt_id: Option<String>) -> ReceiptState {
        self.receipt_id = receipt_id;
        self
    }

    /// What a refund did, from the receipt before and after it (exact
    /// unless another refund of the same receipt came in between).
    pub fn change_since(&self, before: &ReceiptState) -> (Cents, RefundPoints) {
        (
            Cents(self.refunded.0.saturating_sub(before.refunded.0)),
            RefundPoints {
                taken: self.taken.saturating_sub(before.taken),
                shortfall: self.shortfall.saturating_sub(before.shortfall),
            },
        )
    }
}

/// `GET /v1/programme`: the rules in force at the head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProgrammeInfo {
    /// The head height these are read at.
    pub height: Height,
    /// The head block's time.
    pub time: Timestamp,
    /// Currency and time zone.
    pub locale: Locale,
    /// The group's tiers.
    pub tiers: TierTable,
    /// Each member shop's earn rules.
    pub shops: Vec<ShopProgramme>,
    /// Every campaign, by id.
    pub campaigns: Vec<CampaignInfo>,
}

/// One shop's earn rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ShopProgramme {
    /// The shop.
    pub shop: Address,
    /// Its name.
    pub name: ShopName,
    /// Its rule in force and the next one, if published.
    pub rules: ShopRules,
}

/// A campaign and where it stands at the head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CampaignInfo {
    /// The campaign.
    #[serde(flatten)]
    pub campaign: Campaign,
    /// Running now (signed by every funder, within its dates, not stopped).
    pub running: bool,
    /// Points of budget left.
    pub budget_left: Points,
    /// Funders that have not signed yet.
    pub awaiting: Vec<Address>,
}

impl ProgrammeInfo {
    /// Reads the programme from the head state. Each shop's rules are as
    /// they apply to the next block: `current` is the rule a sale now gets,
    /// `next` one published for a later block.
    pub fn new(state: &State) -> ProgrammeInfo {
        let time = state.chain().time;
        let next_height = Height(state.chain().height.0.saturating_add(1));
        let in_force = |rules: Option<&ShopRules>| {
            let rules = rules.cloned().unwrap_or_default();
            ShopRules {
                current: rules.at(next_height).cloned(),
                next: rules.next.filter(|n| n.effective > next_height),
            }
        };
        ProgrammeInfo {
            height: state.chain().height,
            time,
            locale: state.programme().locale.clone(),
            tiers: state.programme().tiers.clone(),
            shops: state
                .members()
                .map(|m| ShopProgramme {
                    shop: m.address,
                    name: m.name.clone(),
                    rules: in_force(state.rules(&m.address)),
                })
                .collect(),
            campaigns: state
                .campaigns()
                .map(|c| CampaignInfo {
                    running: c.running(time),
                    budget_left: c.budget_left(),
                    awaiting: c
                        .spec
                        .funders
                        .iter()
                        .map(|s| s.shop)
                        .filter(|shop| c.approvals.binary_search(shop).is_err())
                        .collect(),
                    campaign: c.clone(),
                })
                .collect(),
        }
    }
}
