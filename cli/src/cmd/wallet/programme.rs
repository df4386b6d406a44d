//! `guild wallet explain | tier | refer`: the customer's side of the
//! loyalty programme. `explain` and `tier` recompute from records proven
//! against certified headers (`guild_wallet::explain`), trusting no node.

use super::common::{Ctx, TxOptions, block_on, now, print_json};
use anyhow::{Context, bail};
use guild_api::{NodeClient, RecordProofs, TxAnswer, code};
use guild_ledger::block::{BlockHeader, FinalBlock};
use guild_ledger::genesis::Genesis;
use guild_ledger::programme::evaluate::Outcome;
use guild_ledger::state::StateKey;
use guild_ledger::tx::TxId;
use guild_ledger::types::Height;
use guild_ledger::{Address, Hash, codec};
use guild_wallet::explain::{SaleExplanation, explain_sale, tier_keys, verify_tier};
use serde_json::json;
use std::collections::BTreeSet;
use std::path::Path;

/// The member set to trust: the genesis founders while the node's claim is
/// the same set; otherwise the node's claim (said so in the output).
fn trusted(genesis: &Genesis, claimed: &[Address]) -> (BTreeSet<Address>, bool) {
    let founders: BTreeSet<Address> = genesis.members.iter().map(|m| m.address).collect();
    let claimed: BTreeSet<Address> = claimed.iter().copied().collect();
    if founders == claimed {
        (founders, true)
    } else {
        (claimed, false)
    }
}

async fn genesis_of(client: &NodeClient, file: Option<&Path>) -> anyhow::Result<Genesis> {
    match file {
        Some(path) => super::customer::read_genesis(path),
        None => Ok(client.genesis().await?),
    }
}

/// The header of block `height` (the genesis header at 0).
async fn header_at(
    client: &NodeClient,
    genesis: &Genesis,
    height: Height,
) -> anyhow::Result<(BlockHeader, Option<FinalBlock>)> {
    if height.0 == 0 {
        let (_, header) = genesis.build().context("the genesis does not build")?;
        return Ok((header, None));
    }
    let info = client.block(height).await?;
    let bytes = hex::decode(info.hex.trim()).context("the node's block is not hexadecimal")?;
    let block: FinalBlock = codec::decode(&bytes).context("the node's block does not decode")?;
    Ok((block.block.header.clone(), Some(block)))
}

async fn proofs_or_none(
    client: &NodeClient,
    height: Height,
    keys: &[StateKey],
) -> Result<Option<RecordProofs>, guild_wallet::Error> {
    match client.proofs(height, keys).await {
        Ok(answer) => Ok(Some(answer)),
        Err(e) if e.is_code(code::PROOFS_UNAVAILABLE) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// `guild wallet explain TXID`.
pub fn explain(ctx: &Ctx, id: &str, genesis_file: Option<&Path>) -> anyhow::Result<()> {
    let id = Hash::from_hex(id.trim())
        .map(TxId)
        .with_context(|| format!("'{id}' is not a transaction id: expected 64 hex characters"))?;
    let client = ctx.client()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let genesis = runtime.block_on(genesis_of(&client, genesis_file))?;
    let height = match runtime.block_on(client.tx(&id))? {
        Some(TxAnswer::Final(found)) => found.height,
        Some(TxAnswer::Pending(_)) => {
            bail!("transaction {id} is still waiting for a block; try again once it is final")
        }
        None => bail!(
            "the node knows no transaction {id}; check the id (guild wallet history lists yours)"
        ),
    };
    let (_, block) = runtime.block_on(header_at(&client, &genesis, height))?;
    let block = block.context("a sale is never in the genesis")?;
    let parent_height = Height(height.0 - 1);
    let (parent, _) = runtime.block_on(header_at(&client, &genesis, parent_height))?;
    // Who certified block H: the member set after H−1, as the node says;
    // the founders from the genesis while that is the same set.
    let claimed = runtime
        .block_on(client.proofs(parent_height, &[StateKey::Chain]))
        .map(|a| a.next_members)
        .unwrap_or_else(|_| genesis.members.iter().map(|m| m.address).collect());
    let (members, from_genesis) = trusted(&genesis, &claimed);
    let mut fetch =
        |keys: &[StateKey]| runtime.block_on(proofs_or_none(&client, parent_height, keys));
    let explained = explain_sale(
        &genesis.chain_id,
        &block,
        &parent,
        &members,
        &id,
        &mut fetch,
    )?;
    if ctx.json {
        return print_json(&json!({
            "id": id,
            "verified": explained.verified,
            "agrees": explained.agrees,
            "unverified_reason": explained.unverified_reason,
            "breakdown": explained.breakdown,
            "claim": explained.claim,
            "height": explained.height,
            "index": explained.index,
            "time": explained.time,
            "shop": explained.shop,
            "customer": explained.customer,
            "signers": explained.signers,
            "records_proven": explained.records_proven,
            "members_from_genesis": from_genesis,
        }));
    }
    print_explanation(&id, &explained, from_genesis);
    Ok(())
}

fn print_explanation(id: &TxId, e: &SaleExplanation, from_genesis: bool) {
    println!(
        "Sale {id}\n  block {} (transaction {}), shop {}, customer {}",
        e.height, e.index, e.shop, e.customer
    );
    match &e.breakdown {
        Some(b) => {
            println!(
                "  recomputed by this wallet from {} proven records:",
                e.records_proven
            );
            println!("  {:<44} {:>8}", "line", "points");
            println!(
                "  {:<44} {:>8}",
                format!(
                    "base (rule version {}, {} eligible of {})",
                    b.rule_version, b.eligible, b.amount
                ),
                b.base
            );
            for c in &b.categories {
                let name = c
                    .category
                    .as_ref()
                    .map_or("uncategorised".to_string(), |c| c.to_string());
                println!(
                    "    {:<42}",
                    format!("{name}: {} at {}", c.amount, c.multiplier)
                );
            }
            if let Some(min) = b.below_minimum {
                println!(
                    "  {:<44} {:>8}",
                    format!("below the rule's minimum spend of {min}: nothing"),
                    0
                );
            }
            if let Some(t) = &b.tier {
                println!(
                    "  {:<44} {:>8}",
                    format!(
                        "tier {} {} ({} earned in window)",
                        t.name, t.multiplier, t.earned_in_window
                    ),
                    format!("+{}", t.points)
                );
            }
            for c in &b.campaigns {
                let line = format!("campaign {} \"{}\"", c.campaign, c.name);
                match c.outcome {
                    Outcome::Given => println!("  {line:<44} {:>8}", format!("+{}", c.points)),
                    Outcome::Limited(why) => println!(
                        "  {:<44} {:>8}",
                        format!(
                            "{line} (limited: {})",
                            crate::cmd::programme::limit_text(why)
                        ),
                        format!("+{}", c.points)
                    ),
                    Outcome::NotGiven(why) => {
                        println!(
                            "  {:<44} {:>8}",
                            format!("{line} not given: {}", why.text()),
                            0
                        )
                    }
                }
            }
            if let Some(cap) = &b.capped {
                println!(
                    "  {:<44} {:>8}",
                    format!("cap per sale {}", cap.cap),
                    format!("-{}", cap.cut)
                );
            }
            println!("  {:<44} {:>8}", "total", b.total);
            if let Some(r) = &b.referrer {
                println!(
                    "  (the referrer {} also got {} points from campaign {})",
                    r.referrer, r.points, r.campaign
                );
            }
        }
        None => {
            println!(
                "  NOT VERIFIED: {}",
                e.unverified_reason.as_deref().unwrap_or("unknown reason")
            );
            println!(
                "  What the transaction states (checked by the block's member shops, not by this wallet):"
            );
            println!(
                "    rule version {}, tier {}, total {} points",
                e.claim.rule_version,
                e.claim
                    .tier
                    .as_ref()
                    .map_or("none".to_string(), |t| t.to_string()),
                e.claim.total
            );
            for c in &e.claim.campaigns {
                println!("    campaign {}: {} points", c.campaign, c.points);
            }
        }
    }
    match e.agrees {
        Some(true) => println!(
            "Verified: the points agree with what the transaction claims ({} points).",
            e.claim.total
        ),
        Some(false) => println!(
            "WARNING: this wallet's result differs from the transaction's claim ({} points)!",
            e.claim.total
        ),
        None => {}
    }
    println!(
        "  block certified by {} member shops ({})",
        e.signers,
        if from_genesis {
            "the founders in the genesis"
        } else {
            "member set taken from the node: governance changed it since genesis"
        }
    );
}

/// `guild wallet tier`.
pub fn tier(ctx: &Ctx, explicit: Option<&str>, genesis_file: Option<&Path>) -> anyhow::Result<()> {
    let (address, _) = ctx.address(explicit)?;
    let client = ctx.client()?;
    let now = now();
    let (verified, from_genesis) = block_on(async {
        let genesis = genesis_of(&client, genesis_file).await?;
        let head = client.head().await?.height;
        let (header, block) = header_at(&client, &genesis, head).await?;
        let answer = client.proofs(head, &tier_keys(&address)).await?;
        let (members, from_genesis) = trusted(&genesis, &answer.members);
        let signers = match &block {
            Some(block) => {
                block
                    .certificate
                    .verify(&genesis.chain_id, &header, &members)
                    .context("the head block's commit certificate does NOT verify: do not trust this node")?;
                block.certificate.signatures.len()
            }
            None => 0,
        };
        Ok::<_, anyhow::Error>((
            verify_tier(&header, signers, &address, &answer, now)?,
            from_genesis,
        ))
    })??;
    if ctx.json {
        let mut out = serde_json::to_value(&verified)?;
        out["verified"] = json!(true);
        out["members_from_genesis"] = json!(from_genesis);
        return print_json(&out);
    }
    let tier = verified
        .tier
        .as_ref()
        .map_or("no tier yet".to_string(), |t| {
            format!("{} ({})", t.name, t.multiplier)
        });
    println!(
        "Verified at block {}: {address} is in {tier}.",
        verified.height
    );
    println!(
        "  earned in the last {} days: {} points",
        verified.window_days, verified.earned_in_window
    );
    match (&verified.next, verified.to_next) {
        (Some(next), Some(more)) => println!(
            "  next tier: {} at {} points, {} more to go",
            next.name, next.threshold, more
        ),
        _ => println!("  this is the top tier"),
    }
    for (days, points) in &verified.leaving {
        println!("  {points} points leave the window in {days} days");
    }
    if !from_genesis {
        println!("  (member set taken from the node: governance changed it since genesis)");
    }
    Ok(())
}

/// `guild wallet refer --by ADDRESS`.
pub fn refer(ctx: &Ctx, by: &str, options: &TxOptions) -> anyhow::Result<()> {
    let referrer = guild_wallet::builder::parse_address(by)?;
    let info = ctx.key_info()?;
    let body = guild_wallet::refer::refer_body(&info.address(), referrer)?;
    let (key, info) = ctx.signing_key()?;
    let summary = format!("accept the referral of {} by {referrer}", info.address());
    let client = if options.offline {
        None
    } else {
        Some(ctx.client()?)
    };
    let sent = super::common::send(ctx, options, &key, body, summary, client.as_ref())
        .map_err(|e| match e.downcast_ref::<guild_wallet::Error>() {
            Some(w) if w.code() == "referral_too_late" => anyhow::anyhow!(
                "too late to accept a referral: it must come before your first purchase, and only once ({w})"
            ),
            _ => e,
        })?;
    if ctx.json {
        let mut out = sent.json();
        out["referrer"] = json!(referrer);
        return print_json(&out);
    }
    if client.is_none() {
        sent.print_offline();
        return Ok(());
    }
    println!(
        "Accepted: {referrer} referred you. They earn the shops' referral rewards on your first purchase."
    );
    Ok(())
}
