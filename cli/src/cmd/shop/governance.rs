//! `guild shop propose|approve|proposals`: governance — membership,
//! parameters and tiers change only by a proposal that more than 2/3 of
//! the member shops approve.

use super::{finish, online, shop_key};
use crate::cmd::wallet::common::{Ctx, Sent, TxOptions, block_on, print_json, shop_arg, short};
use anyhow::bail;
use clap::Subcommand;
use guild_api::ProposalState;
use guild_ledger::tx::{GovernanceAction, TxBody};
use guild_wallet::builder::{self, describe_action};
use serde_json::json;

#[derive(Subcommand)]
pub enum ProposeCommand {
    /// Admit a new member shop.
    AddMember {
        /// Its registered name.
        #[arg(long)]
        name: String,
        /// Its key's address (from its `guild wallet address`).
        #[arg(long)]
        address: String,
    },
    /// Remove a member shop (takes effect only once its points and debts
    /// are cleared).
    RemoveMember {
        /// The shop (name or address).
        shop: String,
    },
    /// Replace the group's tiers, e.g. --tier silver:500:1.25 --tier
    /// gold:2000:1.5 (no --tier: remove all tiers).
    SetTiers {
        /// The rolling window over which earned points count, in days.
        #[arg(long, default_value_t = 365)]
        window_days: u32,
        /// A tier NAME:FROM:MULTIPLIER (repeatable).
        #[arg(long = "tier")]
        tiers: Vec<String>,
    },
    /// Change a network parameter.
    SetParam {
        /// One of: point_expiry_days, settlement_cents_per_point,
        /// daily_issuance_cap, max_tx_bytes, max_block_bytes, max_block_txs,
        /// governance_delay.
        name: String,
        /// The new value.
        value: String,
    },
}
/// `guild shop propose …`.
pub(super) fn propose(
    ctx: &Ctx,
    command: ProposeCommand,
    options: &TxOptions,
) -> anyhow::Result<()> {
    let online = online(ctx, options)?;
    let action = match command {
        ProposeCommand::AddMember { name, address } => GovernanceAction::AddMember {
            name: builder::parse_shop_name(&name)?,
            address: builder::parse_address(&address)?,
        },
        ProposeCommand::RemoveMember { shop } => {
            let (address, _) = shop_arg(online.as_ref().map(|(_, m)| m.as_slice()), &shop)?;
            GovernanceAction::RemoveMember { address }
        }
        ProposeCommand::SetTiers { window_days, tiers } => GovernanceAction::SetTiers {
            tiers: crate::cmd::programme::tier_table(window_days, &tiers)?,
        },
        ProposeCommand::SetParam { name, value } => GovernanceAction::SetParam {
            change: builder::parse_param(&name, &value)?,
        },
    };
    let (key, shop_name) = shop_key(ctx, online.as_ref())?;
    let what = describe_action(&action);
    let body = TxBody::Propose {
        action: action.clone(),
    };
    let summary = format!("{shop_name} proposes to {what}");
    let sent = crate::cmd::wallet::common::send(
        ctx,
        options,
        &key,
        body,
        summary,
        online.as_ref().map(|(c, _)| c),
    )?;
    // Find the proposal's number.
    let proposal = match (&online, &sent) {
        (Some((client, _)), Sent::Final { finality, .. }) => {
            block_on(client.proposals())?.ok().and_then(|list| {
                list.proposals.into_iter().find(|p| {
                    p.proposer == key.address()
                        && p.created == finality.height
                        && p.action == action
                })
            })
        }
        _ => None,
    };
    finish(
        ctx,
        &sent,
        json!({
            "proposal": proposal.as_ref().map(|p| p.id),
            "action": action,
            "approving": proposal.as_ref().map(|p| p.approving),
            "needed": proposal.as_ref().map(|p| p.needed),
            "proposal_status": proposal.as_ref().map(|p| p.status),
        }),
        || match &proposal {
            Some(p) if p.status != ProposalState::Open => println!(
                "Proposed #{}: {what}. It has {} of {} approvals and is now {}{}.",
                p.id,
                p.approving,
                p.needed,
                p.status,
                p.effective
                    .map(|h| format!(", taking effect at block {h}"))
                    .unwrap_or_default()
            ),
            Some(p) => println!(
                "Proposed #{}: {what}. Approvals: {} so far, {} needed; each other shop \
                     approves with its own wallet: `guild --wallet ITS-WALLET shop approve {}`.",
                p.id, p.approving, p.needed, p.id
            ),
            None => println!("Proposed: {what}."),
        },
    )
}

/// `guild shop approve`.
pub(super) fn approve(ctx: &Ctx, proposal: &str, options: &TxOptions) -> anyhow::Result<()> {
    let id = builder::parse_proposal_id(proposal)?;
    let online = online(ctx, options)?;
    let (key, shop_name) = shop_key(ctx, online.as_ref())?;
    let what = match &online {
        Some((client, _)) => {
            let list = block_on(client.proposals())??.proposals;
            let Some(found) = list.iter().find(|p| p.id == id) else {
                let ids: Vec<String> = list.iter().map(|p| format!("#{}", p.id)).collect();
                bail!(
                    "there is no proposal #{id}; the proposals are: {}",
                    if ids.is_empty() {
                        "none".to_string()
                    } else {
                        ids.join(", ")
                    }
                );
            };
            Some(describe_action(&found.action))
        }
        None => None,
    };
    let summary = match &what {
        Some(what) => format!("{shop_name} approves proposal #{id} ({what})"),
        None => format!("{shop_name} approves proposal #{id}"),
    };
    let body = TxBody::Approve { proposal: id };
    let sent = crate::cmd::wallet::common::send(
        ctx,
        options,
        &key,
        body,
        summary,
        online.as_ref().map(|(c, _)| c),
    )?;
    let after = match (&online, &sent) {
        (Some((client, _)), Sent::Final { .. }) => block_on(client.proposals())?
            .ok()
            .and_then(|list| list.proposals.into_iter().find(|p| p.id == id)),
        _ => None,
    };
    finish(
        ctx,
        &sent,
        json!({
            "proposal": id,
            "proposal_status": after.as_ref().map(|p| p.status),
            "approving": after.as_ref().map(|p| p.approving),
            "needed": after.as_ref().map(|p| p.needed),
            "effective": after.as_ref().and_then(|p| p.effective),
        }),
        || {
            let what = what.clone().unwrap_or_default();
            match &after {
                Some(p) if p.status == ProposalState::Open => println!(
                    "Approved #{id} ({what}): {} approvals so far, {} needed.",
                    p.approving, p.needed
                ),
                Some(p) => println!(
                    "Approved #{id} ({what}): it has {} of {} approvals and is now {}{}.",
                    p.approving,
                    p.needed,
                    p.status,
                    p.effective
                        .map(|h| format!(", taking effect at block {h}"))
                        .unwrap_or_default()
                ),
                None => println!("Approved proposal #{id}."),
            }
        },
    )
}

/// `guild shop proposals`.
pub(super) fn proposals(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let list = block_on(client.proposals())??.proposals;
    if ctx.json {
        return print_json(&json!({ "proposals": list }));
    }
    if list.is_empty() {
        println!("No proposals yet. Make one with `guild shop propose …`.");
        return Ok(());
    }
    for p in &list {
        let by = p
            .proposer_name
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_else(|| short(&p.proposer.to_string()));
        let when = match (p.status, p.effective) {
            (ProposalState::Passed, Some(h)) => format!(" (takes effect at block {h})"),
            (ProposalState::Executed, Some(h)) => format!(" (took effect at block {h})"),
            _ => String::new(),
        };
        println!(
            "#{:<4} {:<9} {}/{} approvals  {} — proposed by {by} at block {}{when}",
            p.id.0,
            p.status,
            p.approving,
            p.needed,
            describe_action(&p.action),
            p.created
        );
        if let Some(failure) = &p.failure {
            println!("       failed: {failure}");
        }
    }
    Ok(())
}
