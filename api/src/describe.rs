//! Transactions described for people, in one line: what the explorer
//! shows beside each transaction, what the wallet prints before signing and
//! in its history. One wording, so a shop owner reads the same sentence in
//! the console and on the command line.

use guild_ledger::crypto::Address;
use guild_ledger::params::ParamChange;
use guild_ledger::tx::{GovernanceAction, Transaction, TxBody};

/// A one-line description of a transaction for people, e.g. `guild1… sends
/// 30 points to Cafe (guild1…)`. `name` gives a shop's name for an address,
/// when known.
pub fn describe(tx: &Transaction, name: &dyn Fn(&Address) -> Option<String>) -> String {
    describe_with(tx, &|a: &Address| match name(a) {
        Some(n) => format!("{n} ({a})"),
        None => a.to_string(),
    })
}

/// [`describe`] with every address shown as `label` makes it (e.g. "you",
/// a shop's name, or a shortened address).
pub fn describe_with(tx: &Transaction, label: &dyn Fn(&Address) -> String) -> String {
    let who = label;
    match &tx.body {
        TxBody::Earn {
            customer,
            points,
            purchase,
            ..
        } => {
            let spent = purchase
                .map(|c| format!(" for a purchase of {c}"))
                .unwrap_or_default();
            format!(
                "{} issues {} to {}{spent}",
                who(&tx.author),
                points.counted(),
                who(customer)
            )
        }
        TxBody::Reverse { receipt, amount } => match amount {
            Some(amount) => format!(
                "{} refunds {amount} of the sale with receipt hash {}",
                who(&tx.author),
                receipt.0
            ),
            None => format!(
                "{} reverses its earn with receipt hash {}",
                who(&tx.author),
                receipt.0
            ),
        },
        TxBody::Sale {
            customer,
            basket,
            claim,
            ..
        } => format!(
            "{} issues {} to {} for a sale of {} (rule v{})",
            who(&tx.author),
            claim.total.counted(),
            who(customer),
            basket.amount,
            claim.rule_version
        ),
        TxBody::Birthday {
            customer, points, ..
        } => format!(
            "{} gives a birthday reward of {} to {}",
            who(&tx.author),
            points.counted(),
            who(customer)
        ),
        TxBody::Offer {
            campaign, customer, ..
        } => format!(
            "{} gives {} the offer of campaign {campaign}",
            who(&tx.author),
            who(customer)
        ),
        TxBody::Refer { referrer } => {
            format!(
                "{} accepts a referral from {}",
                who(&tx.author),
                who(referrer)
            )
        }
        TxBody::SetEarnRule { effective, .. } => match effective {
            Some(height) => format!(
                "{} publishes a new earn rule from block {height}",
                who(&tx.author)
            ),
            None => format!(
                "{} publishes a new earn rule from the next block",
                who(&tx.author)
            ),
        },
        TxBody::PublishCampaign { campaign } => format!(
            "{} publishes the campaign {:?}",
            who(&tx.author),
            campaign.name.as_str()
        ),
        TxBody::ApproveCampaign { campaign } => {
            format!("{} approves campaign {campaign}", who(&tx.author))
        }
        TxBody::StopCampaign { campaign } => {
            format!("{} stops campaign {campaign}", who(&tx.author))
        }
        TxBody::Transfer { to, points, memo } => {
            let memo = memo
                .as_ref()
                .filter(|m| !m.as_str().is_empty())
                .map(|m| format!(" (memo: {:?})", m.as_str()))
                .unwrap_or_default();
            format!(
                "{} sends {} to {}{memo}",
                who(&tx.author),
                points.counted(),
                who(to)
            )
        }
        TxBody::Redeem { shop, points } => {
            format!(
                "{} redeems {} at {}",
                who(&tx.author),
                points.counted(),
                who(shop)
            )
        }
        TxBody::Settle { debtor, points } => format!(
            "{} records that {} paid off {} of debt",
            who(&tx.author),
            who(debtor),
            points.counted()
        ),
        TxBody::Propose { action } => {
            format!(
                "{} proposes to {}",
                who(&tx.author),
                describe_action(action)
            )
        }
        TxBody::Approve { proposal } => {
            format!("{} approves proposal {proposal}", who(&tx.author))
        }
    }
}

/// A description of a governance action, e.g. `add Florist (guild1…) as a
/// member`.
pub fn describe_action(action: &GovernanceAction) -> String {
    match action {
        GovernanceAction::AddMember { name, address } => {
            format!("add {name} ({address}) as a member")
        }
        GovernanceAction::RemoveMember { address } => format!("remove member {address}"),
        GovernanceAction::SetParam { change } => {
            let (name, value) = match change {
                ParamChange::PointExpiryDays(v) => ("point_expiry_days", v.to_string()),
                ParamChange::SettlementCentsPerPoint(v) => {
                    ("settlement_cents_per_point", v.0.to_string())
                }
                ParamChange::DailyIssuanceCap(v) => ("daily_issuance_cap", v.to_string()),
                ParamChange::MaxTxBytes(v) => ("max_tx_bytes", v.to_string()),
                ParamChange::MaxBlockBytes(v) => ("max_block_bytes", v.to_string()),
                ParamChange::MaxBlockTxs(v) => ("max_block_txs", v.to_string()),
                ParamChange::GovernanceDelay(v) => ("governance_delay", v.to_string()),
            };
            format!("set {name} to {value}")
        }
        GovernanceAction::SetTiers { tiers } => {
            if tiers.tiers.is_empty() {
                return "remove all tiers".to_string();
            }
            let list: Vec<String> = tiers
                .tiers
                .iter()
                .map(|t| format!("{} from {} points ({})", t.name, t.threshold, t.multiplier))
                .collect();
            format!(
                "set the tiers to {} over {} days",
                list.join(", "),
                tiers.window_days
            )
        }
    }
}
