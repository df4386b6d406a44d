//! `guild wallet balance | history | send | redeem | verify`.

use super::common::{Ctx, Sent, TxOptions, block_on, namer, now, print_json, shop_arg, short};
use anyhow::{Context, bail};
use guild_api::programme::points_text;
use guild_api::{AccountInfo, HistoryEntry, LotInfo, MemberInfo, TxAnswer};
use guild_ledger::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{Memo, Points};
use guild_wallet::builder::{self, format_date, format_time};
use guild_wallet::verify::verify_account;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

/// `guild wallet balance`.
pub fn balance(ctx: &Ctx, explicit: Option<&str>) -> anyhow::Result<()> {
    let (address, key) = ctx.address(explicit)?;
    let client = ctx.client()?;
    let account = block_on(client.account(&address))??;
    if ctx.json {
        return print_json(&account_json(&account, key.as_deref()));
    }
    let who = match &key {
        Some(name) => format!("{name} ({address})"),
        None => address.to_string(),
    };
    println!(
        "Balance of {who}: {} points (as of block {}).",
        account.balance, account.height
    );
    if !account.lots.is_empty() {
        println!();
        print_lots(&account.lots);
    }
    if !account.expired.is_empty() {
        let total: u64 = account.expired.iter().map(|l| l.amount.0).sum();
        println!();
        println!("{total} more points have expired and can no longer be spent:");
        print_lots(&account.expired);
    }
    if account.lots.is_empty() && account.expired.is_empty() {
        println!("No points yet: give your address to a shop to earn some.");
    }
    Ok(())
}

fn print_lots(lots: &[LotInfo]) {
    println!("  {:<20} {:>10}  expires", "issued by", "points");
    for lot in lots {
        let issuer = lot
            .issuer_name
            .as_ref()
            .map(|n| n.to_string())
            .unwrap_or_else(|| short(&lot.issuer.to_string()));
        println!(
            "  {:<20} {:>10}  {}",
            issuer,
            lot.amount.to_string(),
            format_date(lot.expires_at)
        );
    }
}

fn lot_json(lot: &LotInfo) -> Value {
    json!({
        "issuer": lot.issuer,
        "issuer_name": lot.issuer_name,
        "amount": lot.amount,
        "expires_at": lot.expires_at,
        "expires": format_date(lot.expires_at),
    })
}

fn account_json(account: &AccountInfo, key: Option<&str>) -> Value {
    json!({
        "address": account.address,
        "key": key,
        "balance": account.balance,
        "nonce": account.nonce,
        "height": account.height,
        "lots": account.lots.iter().map(lot_json).collect::<Vec<_>>(),
        "expired": account.expired.iter().map(lot_json).collect::<Vec<_>>(),
    })
}

/// How a transaction changes `me`'s points (customer's view): `Some(+n)`
/// received, `Some(-n)` spent or sent, `None` no direct change or not
/// knowable from the transaction alone (a reversal takes back up to the
/// earn's points).
fn change_for(me: &Address, tx: &Transaction) -> Option<i128> {
    let mine = tx.author == *me;
    match &tx.body {
        TxBody::Earn {
            customer, points, ..
        } if customer == me => Some(i128::from(points.0)),
        TxBody::Sale {
            customer, claim, ..
        } if customer == me => Some(i128::from(claim.total.0)),
        TxBody::Transfer { to, points, .. } => {
            if mine {
                Some(-i128::from(points.0))
            } else if to == me {
                Some(i128::from(points.0))
            } else {
                None
            }
        }
        TxBody::Redeem { points, .. } if mine => Some(-i128::from(points.0)),
        _ => None,
    }
}

/// `guild wallet history`.
pub fn history(ctx: &Ctx, explicit: Option<&str>, limit: u64) -> anyhow::Result<()> {
    let (address, _) = ctx.address(explicit)?;
    let client = ctx.client()?;
    let limit = usize::try_from(limit).unwrap_or(500);
    let (entries, members) = block_on(async {
        let entries = client.history(&address, limit).await?;
        let members = client.members().await?.members;
        Ok::<_, guild_wallet::Error>((entries, members))
    })??;
    let name = namer(&members);
    if ctx.json {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| {
                json!({
                    "id": e.id,
                    "height": e.height,
                    "index": e.index,
                    "time": e.time,
                    "kind": e.kind,
                    "change": entry_change(&address, e),
                    "description": entry_text(e, &|a: &Address| match name(a) {
                        Some(n) => format!("{n} ({a})"),
                        None => a.to_string(),
                    }),
                    "receipt_id": e.receipt_id,
                    "reversal": e.reversal,
                    "tx": e.tx,
                })
            })
            .collect();
        return print_json(&json!({"address": address, "history": list}));
    }
    if entries.is_empty() {
        println!("No transactions yet for {address}.");
        return Ok(());
    }
    println!("Transactions of {address}, newest first:");
    println!();
    println!(
        "  {:>7}  {:<10}  {:<8}  {:>8}  what",
        "block", "date", "kind", "points"
    );
    for entry in &entries {
        print_history_line(&address, entry, &members);
    }
    Ok(())
}

fn print_history_line(me: &Address, entry: &HistoryEntry, members: &[MemberInfo]) {
    let name = namer(members);
    let label = |a: &Address| {
        if a == me {
            "this wallet".to_string()
        } else {
            name(a).unwrap_or_else(|| short(&a.to_string()))
        }
    };
    let change = match entry_change(me, entry) {
        Some(n) if n > 0 => format!("+{n}"),
        Some(n) => n.to_string(),
        None => String::new(),
    };
    println!(
        "  {:>7}  {:<10}  {:<8}  {:>8}  {}",
        entry.height.to_string(),
        format_date(entry.time),
        entry.kind,
        change,
        entry_text(entry, &label)
    );
}

/// How an entry changes `me`'s points: [`change_for`], and for a reversal
/// of `me`'s earn the points it took back, when the node says.
fn entry_change(me: &Address, entry: &HistoryEntry) -> Option<i128> {
    match (&entry.tx.body, entry.reversal) {
        (TxBody::Reverse { .. }, Some(r)) if entry.tx.author != *me => Some(-i128::from(r.taken.0)),
        _ => change_for(me, &entry.tx),
    }
}

/// The receipt of an entry as a person reads it: the id the shop typed
/// when the node knows it, else the first characters of its hash.
fn receipt_text(entry: &HistoryEntry) -> Option<String> {
    match (&entry.receipt_id, entry.receipt_hash()) {
        (Some(id), _) => Some(format!("receipt {id}")),
        (None, Some(hash)) => Some(format!("receipt {}…", &hash.0.to_hex()[..8])),
        (None, None) => None,
    }
}

/// An entry's description: a reversal says which shop took back how many
/// points of which receipt (and what it could not take); an earn names its
/// receipt.
fn entry_text(entry: &HistoryEntry, label: &dyn Fn(&Address) -> String) -> String {
    let receipt = receipt_text(entry).unwrap_or_default();
    match (&entry.tx.body, entry.reversal) {
        (TxBody::Reverse { amount, .. }, Some(r)) => {
            let why = match amount {
                Some(amount) => format!("a refund of {amount} on {receipt}"),
                None => format!("reversal of {receipt}"),
            };
            let short = if r.shortfall.is_zero() {
                String::new()
            } else {
                format!(
                    "; {} of it had already been spent or expired",
                    points_text(r.shortfall)
                )
            };
            format!(
                "{} took back {} ({why}){short}",
                label(&entry.tx.author),
                points_text(r.taken)
            )
        }
        (TxBody::Reverse { amount, .. }, None) => match amount {
            Some(amount) => format!(
                "{} refunds {amount} of the sale with {receipt}",
                label(&entry.tx.author)
            ),
            None => format!(
                "{} reverses its earn with {receipt}",
                label(&entry.tx.author)
            ),
        },
        _ if entry.receipt_id.is_some() => {
            format!("{} ({receipt})", builder::describe_with(&entry.tx, label))
        }
        _ => builder::describe_with(&entry.tx, label),
    }
}

/// `guild wallet send`.
pub fn send(
    ctx: &Ctx,
    to: &str,
    points: &str,
    memo: Option<&str>,
    options: &TxOptions,
) -> anyhow::Result<()> {
    let to = builder::parse_address(to)?;
    let points = builder::parse_points(points)?;
    let memo = memo.map(Memo::new).transpose()?;
    let info = ctx.key_info()?;
    if info.address() == to {
        bail!("cannot send points to yourself: {to} is this wallet's own address");
    }
    let (key, info) = ctx.signing_key()?;
    let body = TxBody::Transfer {
        to,
        points,
        memo: memo.clone(),
    };
    let memo_text = memo
        .as_ref()
        .map(|m| format!(" (memo {:?})", m.as_str()))
        .unwrap_or_default();
    let summary = format!(
        "send {points} points from {} to {to}{memo_text}",
        info.address()
    );
    let client = if options.offline {
        None
    } else {
        Some(ctx.client()?)
    };
    let sent = super::common::send(ctx, options, &key, body, summary, client.as_ref())?;
    let Some(client) = client else {
        return finish_offline(ctx, &sent);
    };
    let after = block_on(client.account(&info.address()))?.ok();
    let mut out = sent.json();
    out["to"] = json!(to);
    out["points"] = json!(points);
    out["memo"] = json!(memo);
    out["balance_after"] = json!(after.as_ref().map(|a| a.balance));
    if ctx.json {
        return print_json(&out);
    }
    if let Sent::Final { finality, .. } = &sent {
        if finality.already_final {
            println!("This transfer was already final; nothing was sent again.");
        }
        println!("Sent {points} points to {to}{memo_text}.");
        println!(
            "Final in block {} (transaction {}).",
            finality.height, finality.id
        );
        if let Some(after) = after {
            println!("Your balance is now {} points.", after.balance);
        }
    }
    Ok(())
}

fn finish_offline(ctx: &Ctx, sent: &Sent) -> anyhow::Result<()> {
    if ctx.json {
        return print_json(&sent.json());
    }
    sent.print_offline();
    Ok(())
}

/// `guild wallet redeem`.
pub fn redeem(ctx: &Ctx, at: &str, points: &str, options: &TxOptions) -> anyhow::Result<()> {
    let points = builder::parse_points(points)?;
    let info = ctx.key_info()?;
    let client = if options.offline {
        None
    } else {
        Some(ctx.client()?)
    };
    let members = match &client {
        Some(client) => Some(block_on(client.members())??.members),
        None => None,
    };
    let (shop, shop_name) = shop_arg(members.as_deref(), at)?;
    if shop == info.address() {
        bail!("a shop cannot redeem points at itself; its customers redeem there");
    }
    let (key, _) = ctx.signing_key()?;
    let body = TxBody::Redeem { shop, points };
    let summary = format!(
        "redeem {points} points of {} at {shop_name} ({shop})",
        info.address()
    );
    let sent = super::common::send(ctx, options, &key, body, summary, client.as_ref())?;
    let Some(client) = client else {
        return finish_offline(ctx, &sent);
    };
    let Sent::Final { finality, .. } = &sent else {
        return finish_offline(ctx, &sent);
    };
    let (time, after) = block_on(async {
        let time = match client.tx(&finality.id).await {
            Ok(Some(TxAnswer::Final(entry))) => Some(entry.time),
            _ => None,
        };
        let after = client.account(&info.address()).await.ok();
        (time, after)
    })?;
    let mut out = sent.json();
    out["shop"] = json!(shop);
    out["shop_name"] = json!(shop_name);
    out["points"] = json!(points);
    out["customer"] = json!(info.address());
    out["time"] = json!(time);
    out["balance_after"] = json!(after.as_ref().map(|a| a.balance));
    if ctx.json {
        return print_json(&out);
    }
    if finality.already_final {
        println!("(This redemption was already final; nothing was sent again.)");
    }
    println!("================ REDEMPTION RECEIPT ================");
    println!("  shop:         {shop_name}");
    println!("  shop address: {shop}");
    println!("  customer:     {}", info.address());
    println!("  points:       {points}");
    println!("  block:        {} (final)", finality.height);
    if let Some(time) = time {
        println!("  time:         {}", format_time(time));
    }
    println!("  transaction:  {}", finality.id);
    println!("====================================================");
    println!(
        "The clerk can check it with `guild shop redemptions` or GET /v1/tx/{}.",
        finality.id
    );
    if let Some(after) = after {
        println!("Your balance is now {} points.", after.balance);
    }
    Ok(())
}

/// Reads a genesis file (a plain genesis or a node's genesis file with
/// `peers`).
pub(super) fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read genesis file {}", path.display()))?;
    let genesis: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a genesis file", path.display()))?;
    genesis
        .validate()
        .with_context(|| format!("genesis file {} is not valid", path.display()))?;
    Ok(genesis)
}

/// `guild wallet verify`.
pub fn verify(
    ctx: &Ctx,
    explicit: Option<&str>,
    genesis_file: Option<&Path>,
) -> anyhow::Result<()> {
    let (address, _) = ctx.address(explicit)?;
    let trusted = genesis_file.map(read_genesis).transpose()?;
    let client = ctx.client()?;
    let (genesis, proof) = block_on(async {
        let genesis = match trusted {
            Some(genesis) => genesis,
            None => client.genesis().await?,
        };
        let proof = client.proof(&address).await?;
        Ok::<_, guild_wallet::Error>((genesis, proof))
    })??;
    let genesis_members: BTreeSet<Address> = genesis.members.iter().map(|m| m.address).collect();
    let node_members: BTreeSet<Address> = proof.members.iter().copied().collect();
    let from_genesis = genesis_members == node_members;
    // The member set that must have certified the block: the genesis set
    // while governance has not changed it; otherwise the node's account of
    // it (said so below).
    let members = if from_genesis {
        genesis_members
    } else {
        node_members
    };
    let genesis_header = if proof.height.0 == 0 {
        Some(
            genesis
                .build()
                .map(|(_, header)| header)
                .context("the genesis does not build")?,
        )
    } else {
        None
    };
    let now = now();
    let verified = verify_account(
        &proof,
        &address,
        &genesis.chain_id,
        &members,
        genesis_header.as_ref(),
        now,
    )?;
    let genesis_source = if genesis_file.is_some() {
        "your genesis file"
    } else {
        "the node (pass --genesis FILE to check against your own copy)"
    };
    let member_source = if from_genesis {
        "the founding members in the genesis".to_string()
    } else {
        "taken from the node: governance changed the members since genesis, and this wallet \
         cannot check that change on its own"
            .to_string()
    };
    let age_secs = now.0.saturating_sub(verified.block_time.0) / 1000;
    if ctx.json {
        return print_json(&json!({
            "verified": true,
            "address": verified.address,
            "chain_id": verified.chain_id,
            "balance": verified.balance,
            "expired": verified.expired,
            "nonce": verified.nonce,
            "lots": verified.lots,
            "height": verified.height,
            "block_hash": verified.block_hash,
            "block_time": verified.block_time,
            "block_age_secs": age_secs,
            "state_root": verified.state_root,
            "signers": verified.signers,
            "members": verified.members,
            "members_from_genesis": from_genesis,
            "genesis_from": if genesis_file.is_some() { "file" } else { "node" },
        }));
    }
    println!(
        "Verified: {address} holds {} points (next nonce {}).",
        verified.balance, verified.nonce
    );
    if verified.height.0 == 0 {
        println!(
            "  block:    0, the genesis of network {} (no blocks yet)",
            verified.chain_id
        );
    } else {
        println!(
            "  block:    {} of network {}, signed by {} of {} member shops (more than 2/3 needed)",
            verified.height, verified.chain_id, verified.signers, verified.members
        );
    }
    println!(
        "  time:     {} ({age_secs} s ago)",
        format_time(verified.block_time)
    );
    println!("  proof:    the account's record is in that block's state root");
    println!("  members:  {member_source}");
    println!("  genesis:  from {genesis_source}");
    if age_secs > 300 && verified.height.0 > 0 {
        println!(
            "Note: this block is {} minutes old. A node can only show an older balance, never a \
             forged one; ask another node if you expected newer transactions.",
            age_secs / 60
        );
    }
    if verified.expired > Points::ZERO {
        println!(
            "  ({} points have expired and are not counted.)",
            verified.expired
        );
    }
    Ok(())
}
