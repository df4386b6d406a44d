//! Which accounts a transaction concerns, for each account's history.

use guild_ledger::crypto::Address;
use guild_ledger::state::State;
use guild_ledger::tx::{GovernanceAction, Transaction, TxBody};

/// The addresses whose history shows `tx`: its author and every address it
/// names. `state` is the state the transaction applies to (a reversal names
/// only a receipt; the customer is looked up in the earn record).
pub fn involved(tx: &Transaction, state: &State) -> Vec<Address> {
    let mut out = vec![tx.author];
    match &tx.body {
        TxBody::Earn { customer, .. } | TxBody::Offer { customer, .. } => out.push(*customer),
        TxBody::Reverse { receipt, .. } => {
            if let Some(record) = state.receipt(&tx.author, receipt) {
                out.push(record.customer);
            }
        }
        TxBody::Transfer { to, .. } => out.push(*to),
        TxBody::Redeem { shop, .. } => out.push(*shop),
        TxBody::Settle { debtor, .. } => out.push(*debtor),
        TxBody::Propose { action } => match action {
            GovernanceAction::AddMember { address, .. }
            | GovernanceAction::RemoveMember { address } => out.push(*address),
            GovernanceAction::SetParam { .. } | GovernanceAction::SetTiers { .. } => {}
        },
        TxBody::Approve { .. } => {}
        TxBody::Sale { customer, .. } | TxBody::Birthday { customer, .. } => {
            out.push(*customer);
            // A sale that pays a referral also pays the referrer.
            if let Some(referrer) = state.customer(customer).and_then(|c| c.referred_by) {
                out.push(referrer);
            }
        }
        TxBody::Refer { referrer } => out.push(*referrer),
        TxBody::PublishCampaign { campaign } => {
            out.extend(campaign.funders.iter().map(|s| s.shop));
        }
        TxBody::SetEarnRule { .. }
        | TxBody::ApproveCampaign { .. }
        | TxBody::StopCampaign { .. } => {}
    }
    out.sort();
    out.dedup();
    out
}
