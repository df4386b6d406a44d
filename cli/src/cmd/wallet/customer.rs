//! `guild wallet balance | history | send | redeem | verify`.

use super::common::{Ctx, Sent, TxOptions, block_on, namer, now, print_json, shop_arg, short};
use anyhow::{Context, bail};
use guild_api::shown::Shown;
use guild_api::{AccountInfo, HistoryEntry, LotInfo, MemberInfo, TxAnswer};
use guild_ledger::Address;
use guild_ledger::genesis::Genesis;
use guild_ledger::tx::{Transaction, TxBody};
use guild_ledger::types::{Memo, Points};
use guild_wallet::builder;
use guild_wallet::offline::SignedFile;
use guild_wallet::verify::verify_account;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;

/// `guild wallet balance`.
pub fn balance(ctx: &Ctx, explicit: Option<&str>) -> anyhow::Result<()> {
    let (address, key) = ctx.address(explicit)?;
    let client = ctx.client()?;
    let (account, shown) = block_on(async {
        Ok::<_, guild_api::ClientError>((
            client.account(&address).await?,
            Shown::fetch(&client).await?,
        ))
    })??;
    if ctx.json {
        return print_json(&account_json(&account, key.as_deref(), &shown));
    }
    let who = match &key {
        Some(name) => format!("{name} ({address})"),
        None => address.to_string(),
    };
    println!(
        "Balance of {who}: {} (worth {} at the group's settlement rate; as of block {}).",
        account.balance.counted(),
        shown.worth(account.balance),
        account.height
    );
    if !account.lots.is_empty() {
        println!();
        print_lots(&account.lots, &shown, "usable until");
    }
    if !account.expired.is_empty() {
        let total: u64 = account.expired.iter().map(|l| l.amount.0).sum();
        println!();
        println!(
            "{} more have expired and can no longer be spent:",
            Points(total).counted()
        );
        print_lots(&account.expired, &shown, "last usable");
    }
    if account.lots.is_empty() && account.expired.is_empty() {
        println!("No points yet: give your address to a shop to earn some.");
    }
    Ok(())
}

/// The lots, with the last local moment each can be spent.
fn print_lots(lots: &[LotInfo], shown: &Shown, label: &str) {
    println!("  {:<20} {:>10}  {label}", "issued by", "points");
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
            shown.usable_until(lot.expires_at)
        );
    }
}

fn lot_json(lot: &LotInfo, shown: &Shown) -> Value {
    json!({
        "issuer": lot.issuer,
        "issuer_name": lot.issuer_name,
        "amount": lot.amount,
        "expires_at": lot.expires_at,
        "usable_until": shown.usable_until(lot.expires_at),
    })
}

fn account_json(account: &AccountInfo, key: Option<&str>, shown: &Shown) -> Value {
    json!({
        "address": account.address,
        "key": key,
        "balance": account.balance,
        "value_cents": shown.value(account.balance),
        "value": shown.worth(account.balance),
        "nonce": account.nonce,
        "height": account.height,
        "lots": account.lots.iter().map(|l| lot_json(l, shown)).collect::<Vec<_>>(),
        "expired": account.expired.iter().map(|l| lot_json(l, shown)).collect::<Vec<_>>(),
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
    let (entries, members, shown) = block_on(async {
        let entries = client.history(&address, limit).await?;
        let members = client.members().await?.members;
        let shown = Shown::fetch(&client).await?;
        Ok::<_, guild_wallet::Error>((entries, members, shown))
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
        print_history_line(&address, entry, &members, &shown);
    }
    Ok(())
}

fn print_history_line(me: &Address, entry: &HistoryEntry, members: &[MemberInfo], shown: &Shown) {
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
        shown.date(entry.time),
        entry.kind,
        change,
        entry_text(entry, &label)
    );
}

/// A transfer to a member shop's address is almost always a redemption
/// typed as a send: the shop gets the points but no redemption is recorded,
/// so it cannot collect from the shops that issued them. Stop before
/// signing and say how to redeem (or how to send anyway).
fn refuse_send_to_shop(
    client: &guild_wallet::NodeClient,
    to: &guild_ledger::Address,
    points: Points,
) -> anyhow::Result<()> {
    let members = block_on(client.members())??.members;
    if let Some(shop) = members.iter().find(|m| m.address == *to) {
        let name = shop.name.to_string();
        bail!(
            "{to} is the member shop {name}; nothing was sent. To spend points there, redeem \
             them: guild wallet redeem --at {:?} --points {} (the shop then collects from the \
             shops that issued them). To give {name} the points as a plain transfer anyway, \
             add --to-shop.",
            name.to_lowercase(),
            points.0
        );
    }
    Ok(())
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
                    r.shortfall.counted()
                )
            };
            format!(
                "{} took back {} ({why}){short}",
                label(&entry.tx.author),
                r.taken.counted()
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
    to_shop: bool,
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
        "send {} from {} to {to}{memo_text}",
        points.counted(),
        info.address()
    );
    let client = if options.offline {
        None
    } else {
        Some(ctx.client()?)
    };
    if let Some(client) = &client
        && !to_shop
    {
        refuse_send_to_shop(client, &to, points)?;
    }
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
        println!("Sent {} to {to}{memo_text}.", points.counted());
        println!(
            "Final in block {} (transaction {}).",
            finality.height, finality.id
        );
        if let Some(after) = after {
            println!("Your balance is now {}.", after.balance.counted());
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

/// What `guild wallet redeem` is asked to redeem.
pub enum RedeemTarget {
    /// `--at SHOP --points N`, as typed.
    Typed {
        /// The shop: a registered name (or its start) or an address.
        at: String,
        /// The points, as typed.
        points: String,
    },
    /// `--request TEXT`: the line a till shows
    /// ([`guild_api::RedeemRequest`]).
    Request(String),
}

/// The end of a redemption signed into a file (`--out`, `--offline`):
/// which shop, the till's reference, and that the file is what to hand
/// back to the till.
fn finish_for_till(
    ctx: &Ctx,
    sent: &Sent,
    path: &Path,
    file: &SignedFile,
    shop_name: &str,
    reference: Option<&guild_api::Reference>,
) -> anyhow::Result<()> {
    if ctx.json {
        let mut out = sent.json();
        out["shop_name"] = json!(shop_name);
        out["reference"] = json!(reference.map(|r| r.as_str()));
        return print_json(&out);
    }
    println!("Signed, not sent: {}.", file.summary);
    println!("  shop:        {shop_name}");
    if let Some(reference) = reference {
        println!("  reference:   {reference}");
    }
    println!(
        "  file:        {}\n  network:     {}\n  nonce:       {}\n  transaction: {}",
        path.display(),
        file.chain_id,
        file.nonce,
        file.id
    );
    println!(
        "Hand this file (or its contents, one JSON document) back to the till: it submits the \
         redemption. Or send it yourself: guild submit {}",
        path.display()
    );
    Ok(())
}

/// `guild wallet redeem`: checks the wallet's redemption limit (a second
/// confirmation above it), signs, waits until final and prints the receipt
/// the clerk sees, with what the points are worth. With `--out FILE` it
/// signs into the file for the till instead of sending.
pub fn redeem(
    ctx: &Ctx,
    target: &RedeemTarget,
    confirm: Option<&str>,
    options: &TxOptions,
) -> anyhow::Result<()> {
    let (at, points, reference) = match target {
        RedeemTarget::Typed { at, points } => (at.clone(), builder::parse_points(points)?, None),
        RedeemTarget::Request(text) => {
            let request: guild_api::RedeemRequest = text.parse()?;
            (
                request.shop.to_string(),
                request.points,
                Some(request.reference),
            )
        }
    };
    let info = ctx.key_info()?;
    let client = if options.offline {
        None
    } else {
        Some(ctx.client()?)
    };
    let (members, shown) = match &client {
        Some(client) => {
            let (members, shown) = block_on(async {
                Ok::<_, guild_api::ClientError>((
                    client.members().await?.members,
                    Shown::fetch(client).await?,
                ))
            })??;
            (Some(members), Some(shown))
        }
        None => (None, None),
    };
    let (shop, shop_name) = shop_arg(members.as_deref(), &at)?;
    if shop == info.address() {
        bail!("a shop cannot redeem points at itself; its customers redeem there");
    }
    let worth = shown.as_ref().map(|s| s.worth(points));
    let worth_text = worth
        .as_ref()
        .map(|w| format!(" (= {w})"))
        .unwrap_or_default();
    let question = format!("Redeem {} at {shop_name}{worth_text}?", points.counted());
    let confirmed = super::confirm::redemption(ctx, points, &question, confirm)?;
    let (key, _) = ctx.signing_key()?;
    let body = TxBody::Redeem { shop, points };
    let for_reference = reference
        .as_ref()
        .map(|r| format!(" for the till's request {r}"))
        .unwrap_or_default();
    let summary = format!(
        "redeem {} of {} at {shop_name} ({shop}){worth_text}{for_reference}",
        points.counted(),
        info.address()
    );
    let sent = super::common::send(ctx, options, &key, body, summary, client.as_ref())?;
    if let Sent::Offline { path, file } = &sent {
        return finish_for_till(ctx, &sent, path, file, &shop_name, reference.as_ref());
    }
    let (Some(client), Some(shown)) = (client, shown) else {
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
    out["reference"] = json!(reference.as_ref().map(|r| r.as_str()));
    out["points"] = json!(points);
    out["value_cents"] = json!(shown.value(points));
    out["value"] = json!(shown.worth(points));
    out["confirmed"] = json!(confirmed);
    out["customer"] = json!(info.address());
    out["time"] = json!(time);
    out["balance_after"] = json!(after.as_ref().map(|a| a.balance));
    if ctx.json {
        return print_json(&out);
    }
    if finality.already_final {
        println!("(This redemption was already final; nothing was sent again.)");
    }
    println!(
        "Redeemed {} at {shop_name} (= {} at the group's settlement rate).",
        points.counted(),
        shown.worth(points)
    );
    println!("================ REDEMPTION RECEIPT ================");
    println!("  shop:         {shop_name}");
    println!("  shop address: {shop}");
    if let Some(reference) = &reference {
        println!("  reference:    {reference}");
    }
    println!("  customer:     {}", info.address());
    println!("  points:       {points}");
    println!("  value:        {} ({})", shown.worth(points), shown.rate());
    println!("  block:        {} (final)", finality.height);
    if let Some(time) = time {
        println!("  time:         {}", shown.time(time));
    }
    println!("  transaction:  {}", finality.id);
    println!("====================================================");
    println!(
        "The clerk can check it with `guild shop redemptions` or GET /v1/tx/{}.",
        finality.id
    );
    if let Some(after) = after {
        println!("Your balance is now {}.", after.balance.counted());
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
    let shown = Shown::new(genesis.programme.locale.clone(), 0);
    println!(
        "  time:     {} ({age_secs} s ago)",
        shown.time(verified.block_time)
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
