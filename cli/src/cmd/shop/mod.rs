//! `guild shop`: what a member shop does at the till and in the back
//! office — grant and reverse points, watch redemptions at the counter,
//! settle debts with other shops; governance is in `governance.rs`, the
//! programme (sales, rules, campaigns, tiers) in `cmd/programme/`.
//!
//! The wallet (`--wallet`, e.g. `devnet/bakery/wallet.json`) holds the
//! shop's member key, the same key its node votes with.

mod governance;

use super::wallet::common::{
    Ctx, Sent, TxOptions, block_on, namer, print_json, shop_arg, short, with_json_errors,
};
use crate::Globals;
use anyhow::bail;
use clap::{Args, Subcommand};
use governance::{ProposeCommand, approve, proposals, propose};
use guild_api::programme::refund_message;
use guild_api::shown::Shown;
use guild_api::{ChainEvent, ClientError, MemberInfo, NodeClient, ReceiptState, RefundPoints};
use guild_ledger::tx::{Transaction, TxBody, TxId};
use guild_ledger::types::{Cents, Height, Points, ReceiptHash, Timestamp};
use guild_ledger::{Address, Keypair};
use guild_wallet::builder;
use serde_json::{Value, json};
use std::time::Duration;

/// Options of `guild shop`.
#[derive(Args)]
pub struct ShopArgs {
    /// Which key of the wallet is the shop's (by name or address), when the
    /// wallet holds several.
    #[arg(long, global = true)]
    pub key: Option<String>,
    #[command(subcommand)]
    command: ShopCommand,
}

// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum ShopCommand {
    /// Grant points by hand (goodwill, a correction), with a reason; for a
    /// sale use `guild shop sale`, which computes the points from the rules.
    Earn {
        /// The customer's address (guild1…).
        #[arg(long)]
        to: String,
        /// How many points.
        #[arg(long, allow_hyphen_values = true)]
        points: String,
        /// What the customer spent, e.g. 12.50 (recorded with the earn).
        #[arg(long, allow_hyphen_values = true)]
        purchase: Option<String>,
        /// The till's receipt id (default: a new unique id, printed); the
        /// same receipt can earn points only once, and reversing needs it.
        #[arg(long)]
        receipt: Option<String>,
        /// Why the points are given (required), e.g. "goodwill: late order".
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Take back the points of a sale or grant (a refund or a voided sale),
    /// in full or, with --amount, the part of a sale refunded.
    Reverse {
        /// The receipt id the points were issued for.
        #[arg(long)]
        receipt: String,
        /// The amount refunded, e.g. 4.00 (default: everything not yet
        /// refunded).
        #[arg(long)]
        amount: Option<String>,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Redemptions at this shop, as they become final.
    Redemptions {
        /// Keep watching and print each new redemption as it becomes final
        /// (Ctrl-C stops).
        #[arg(long)]
        follow: bool,
        /// With --follow: stop after this many new redemptions.
        #[arg(long, requires = "follow")]
        count: Option<u64>,
        /// How many past transactions of the shop to look through (1 to
        /// 500).
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..=500))]
        limit: u64,
    },
    /// Record that another shop paid this shop what it owed for redemptions
    /// here.
    Settle {
        /// The shop that paid (name or address).
        #[arg(long)]
        with: String,
        /// How many points' worth it paid.
        #[arg(long, allow_hyphen_values = true)]
        points: String,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// What this shop owes other shops, and what they owe it.
    Debts,
    /// Propose a change to the network; other members approve it.
    Propose {
        #[command(subcommand)]
        action: ProposeCommand,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Approve an open proposal.
    Approve {
        /// The proposal's number (see `guild shop proposals`).
        proposal: String,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// List the network's proposals and where they stand.
    Proposals,
    /// Record a sale: the points come from the shop's earn rule, the
    /// customer's tier and the running campaigns.
    Sale(super::programme::SaleArgs),
    /// This shop's earn rule: publish a new version, or show what is in
    /// force.
    Rules {
        #[command(subcommand)]
        command: super::programme::RulesCommand,
    },
    /// The campaigns on the ledger and where they stand.
    Campaigns,
    /// Publish, approve or stop a campaign.
    Campaign {
        #[command(subcommand)]
        command: super::programme::CampaignCommand,
    },
    /// The group's tiers.
    Tiers(super::programme::TiersArgs),
    /// Give this shop's birthday reward (once per customer per 365 days
    /// across the group).
    Birthday(super::programme::BirthdayArgs),
    /// Give a customer the points of one of this shop's offers (a campaign
    /// published with --offer N).
    Offer(super::programme::OfferArgs),
}

/// Runs the command.
pub fn run(args: ShopArgs, globals: &Globals) -> anyhow::Result<()> {
    let ctx = Ctx::new(globals, args.key);
    with_json_errors(ctx.json, || match args.command {
        ShopCommand::Earn {
            to,
            points,
            purchase,
            receipt,
            reason,
            tx,
        } => earn(
            &ctx,
            &to,
            &points,
            purchase.as_deref(),
            receipt,
            &reason,
            &tx,
        ),
        ShopCommand::Reverse {
            receipt,
            amount,
            tx,
        } => reverse(&ctx, &receipt, amount.as_deref(), &tx),
        ShopCommand::Redemptions {
            follow,
            count,
            limit,
        } => redemptions(&ctx, follow, count, limit),
        ShopCommand::Settle { with, points, tx } => settle(&ctx, &with, &points, &tx),
        ShopCommand::Debts => debts(&ctx),
        ShopCommand::Propose { action, tx } => propose(&ctx, action, &tx),
        ShopCommand::Approve { proposal, tx } => approve(&ctx, &proposal, &tx),
        ShopCommand::Proposals => proposals(&ctx),
        ShopCommand::Sale(args) => super::programme::sale(&ctx, args),
        ShopCommand::Rules { command } => super::programme::rules(&ctx, command),
        ShopCommand::Campaigns => super::programme::campaigns(&ctx),
        ShopCommand::Campaign { command } => super::programme::campaign(&ctx, command),
        ShopCommand::Tiers(args) => super::programme::tiers(&ctx, args),
        ShopCommand::Birthday(args) => super::programme::birthday(&ctx, args),
        ShopCommand::Offer(args) => super::programme::offer(&ctx, args),
    })
}

/// The shop's member record, or a clear error if the wallet's key is not a
/// member.
fn ensure_member<'a>(
    members: &'a [MemberInfo],
    address: &Address,
    client: &NodeClient,
) -> anyhow::Result<&'a MemberInfo> {
    match members.iter().find(|m| m.address == *address) {
        Some(member) => Ok(member),
        None => {
            let chain_id = block_on(client.head())??.chain_id;
            Err(guild_wallet::Error::NotAMember {
                address: *address,
                chain_id: chain_id.to_string(),
            }
            .into())
        }
    }
}

/// The client and member list for an online command; `None` offline.
pub(super) fn online(
    ctx: &Ctx,
    options: &TxOptions,
) -> anyhow::Result<Option<(NodeClient, Vec<MemberInfo>)>> {
    if options.offline {
        return Ok(None);
    }
    let client = ctx.client()?;
    let members = block_on(client.members())??.members;
    Ok(Some((client, members)))
}

/// The shop's key: unlocked, and checked to be a member when online.
pub(super) fn shop_key(
    ctx: &Ctx,
    online: Option<&(NodeClient, Vec<MemberInfo>)>,
) -> anyhow::Result<(Keypair, String)> {
    let info = ctx.key_info()?;
    let name = match online {
        Some((client, members)) => ensure_member(members, &info.address(), client)?
            .name
            .to_string(),
        None => info.name().to_string(),
    };
    let (key, _) = ctx.signing_key()?;
    Ok((key, name))
}

pub(super) fn finish(
    ctx: &Ctx,
    sent: &Sent,
    extra: Value,
    human: impl FnOnce(),
) -> anyhow::Result<()> {
    if ctx.json {
        let mut out = sent.json();
        if let (Some(out), Value::Object(extra)) = (out.as_object_mut(), extra) {
            out.extend(extra);
        }
        return print_json(&out);
    }
    match sent {
        Sent::Offline { .. } => sent.print_offline(),
        Sent::Final { finality, .. } => {
            if finality.already_final {
                println!("(This transaction was already final; nothing was sent again.)");
            }
            human();
            println!(
                "Final in block {} (transaction {}).",
                finality.height, finality.id
            );
        }
    }
    Ok(())
}

/// `guild shop earn`.
fn earn(
    ctx: &Ctx,
    to: &str,
    points: &str,
    purchase: Option<&str>,
    receipt: Option<String>,
    reason: &str,
    options: &TxOptions,
) -> anyhow::Result<()> {
    let customer = builder::parse_address(to)?;
    let points = builder::parse_points(points)?;
    let reason = reason.trim();
    if reason.is_empty() {
        bail!("--reason must say why the points are given, e.g. --reason \"goodwill: late order\"");
    }
    let reason = guild_ledger::Memo::new(reason).map_err(|e| anyhow::anyhow!("--reason: {e}"))?;
    let purchase = purchase.map(builder::parse_money).transpose()?;
    let (receipt_id, generated) = match receipt {
        Some(text) => (builder::check_receipt_id(&text)?, false),
        None => (builder::new_receipt_id(super::wallet::common::now())?, true),
    };
    let online = online(ctx, options)?;
    let (key, shop_name) = shop_key(ctx, online.as_ref())?;
    if customer == key.address() {
        bail!("a shop cannot issue points to itself; give the customer's address with --to");
    }
    let body = TxBody::Earn {
        reason,
        customer,
        points,
        purchase,
        receipt: ReceiptHash::new(&key.address(), &receipt_id),
    };
    let spent = purchase
        .map(|c| format!(" for a purchase of {c}"))
        .unwrap_or_default();
    let summary = format!(
        "{shop_name} issues {} to {customer}{spent} (receipt {receipt_id:?})",
        points.counted()
    );
    let sent = super::wallet::common::send(
        ctx,
        options,
        &key,
        body,
        summary,
        online.as_ref().map(|(c, _)| c),
    )?;
    finish(
        ctx,
        &sent,
        json!({
            "customer": customer,
            "points": points,
            "purchase_cents": purchase,
            "receipt": receipt_id,
            "receipt_generated": generated,
        }),
        || {
            println!(
                "{shop_name} issued {} to {customer}{spent}.",
                points.counted()
            );
            println!("Receipt id: {receipt_id}");
            if generated {
                println!(
                    "(A new receipt id was made up; keep it to reverse this earn: \
                     guild shop reverse --receipt {receipt_id})"
                );
            }
        },
    )
}

/// `guild shop reverse`.
fn reverse(
    ctx: &Ctx,
    receipt: &str,
    amount: Option<&str>,
    options: &TxOptions,
) -> anyhow::Result<()> {
    let receipt_id = builder::check_receipt_id(receipt)?;
    let amount = amount.map(builder::parse_money).transpose()?;
    let online = online(ctx, options)?;
    let (key, shop_name) = shop_key(ctx, online.as_ref())?;
    let hash = ReceiptHash::new(&key.address(), &receipt_id);
    // Find the earn, to say what is being reversed (and to refuse early).
    let earn = match &online {
        Some((client, _)) => {
            let history = block_on(client.history(&key.address(), 500))??;
            history.into_iter().find_map(|entry| match entry.tx.body {
                TxBody::Earn {
                    customer,
                    points,
                    receipt,
                    ..
                } if receipt == hash && entry.tx.author == key.address() => {
                    Some((customer, points, entry.height))
                }
                TxBody::Sale {
                    customer,
                    claim,
                    receipt,
                    ..
                } if receipt == hash && entry.tx.author == key.address() => {
                    Some((customer, claim.total, entry.height))
                }
                TxBody::Birthday {
                    customer,
                    points,
                    receipt,
                } if receipt == hash && entry.tx.author == key.address() => {
                    Some((customer, points, entry.height))
                }
                _ => None,
            })
        }
        None => None,
    };
    let part = amount
        .map(|a| format!(" for a refund of {a}"))
        .unwrap_or_default();
    let summary = match earn {
        Some((customer, points, _)) => format!(
            "{shop_name} reverses its earn of {points} points to {customer}{part} (receipt {receipt_id:?})"
        ),
        None => format!("{shop_name} reverses its earn for receipt {receipt_id:?}{part}"),
    };
    // Where the receipt stood before: what this reversal does is the
    // difference.
    let before = match &online {
        Some((client, _)) => block_on(client.receipt(&key.address(), &hash))?.ok(),
        None => None,
    };
    let body = TxBody::Reverse {
        receipt: hash,
        amount,
    };
    let sent = super::wallet::common::send(
        ctx,
        options,
        &key,
        body,
        summary,
        online.as_ref().map(|(c, _)| c),
    )?;
    let after = match (&online, &sent) {
        (Some((client, _)), Sent::Final { .. }) => {
            block_on(client.receipt(&key.address(), &hash))?.ok()
        }
        _ => None,
    };
    let outcome = after.as_ref().map(|after| {
        let before = before.clone().unwrap_or_else(|| ReceiptState {
            refunded: Cents(0),
            taken: Points::ZERO,
            shortfall: Points::ZERO,
            ..after.clone()
        });
        let (refunded, points) = after.change_since(&before);
        let refunded = after.purchase.map(|_| refunded);
        let message = refund_message(&receipt_id, refunded, points, after);
        (refunded, points, message)
    });
    finish(
        ctx,
        &sent,
        json!({
            "receipt": receipt_id,
            "customer": earn.map(|(c, _, _)| c),
            "points": earn.map(|(_, p, _)| p),
            "earned_at": earn.map(|(_, _, h)| h),
            "message": outcome.as_ref().map(|(_, _, m)| m),
            "this_reversal": outcome.as_ref().map(|(refunded, points, _)| json!({
                "refunded_cents": refunded,
                "taken": points.taken,
                "shortfall": points.shortfall,
            })),
            "receipt_state": after,
            "refunded_cents": after.as_ref().map(|s| s.refunded),
            "taken": after.as_ref().map(|s| s.taken),
            "shortfall": after.as_ref().map(|s| s.shortfall),
            "remaining": after.as_ref().map(|s| s.remaining),
        }),
        || {
            match earn {
                Some((customer, points, height)) => println!(
                    "Reversed receipt {receipt_id} (block {height}, {} to {customer}){part}.",
                    points.counted()
                ),
                None => println!("Reversed receipt {receipt_id}{part}."),
            }
            if let (Some((refunded, points, message)), Some(after)) = (&outcome, &after) {
                println!("{message}");
                println!();
                print!("{}", reversal_table(*refunded, *points, after));
                if !points.shortfall.is_zero() {
                    println!(
                        "The shortfall stays with the customer's spending: the shop bears it \
                         (counted in its reversal shortfall, `guild shop debts` and the audit \
                         report), and nothing more can be taken back for it."
                    );
                }
            }
        },
    )
}

/// The table of a reversal: this one, and every refund of the receipt so
/// far.
fn reversal_table(refunded: Option<Cents>, points: RefundPoints, after: &ReceiptState) -> String {
    let money = |c: Option<Cents>| c.map_or("-".to_string(), |c| c.to_string());
    let rows = [
        (
            "refunded",
            money(refunded),
            money(after.purchase.map(|_| after.refunded)),
        ),
        (
            "points taken back",
            points.taken.to_string(),
            after.taken.to_string(),
        ),
        (
            "could not take back (shortfall)",
            points.shortfall.to_string(),
            after.shortfall.to_string(),
        ),
        (
            "points of the receipt left",
            String::new(),
            format!("{} of {}", after.remaining, after.given),
        ),
    ];
    let mut out = format!(
        "  {:<32} {:>12} {:>18}\n",
        "", "this reversal", "all refunds so far"
    );
    for (label, now, total) in rows {
        out.push_str(&format!("  {label:<32} {now:>12} {total:>18}\n"));
    }
    out
}

/// One redemption at this shop, with what the points are worth and the
/// local time: the clerk's receipt line.
fn redemption_json(
    id: &TxId,
    tx: &Transaction,
    height: Height,
    time: Option<u64>,
    shown: &Shown,
) -> Option<Value> {
    match &tx.body {
        TxBody::Redeem { shop, points } => Some(json!({
            "id": id,
            "height": height,
            "time": time,
            "local_time": time.map(|t| shown.time(Timestamp(t))),
            "customer": tx.author,
            "shop": shop,
            "points": points,
            "value_cents": shown.value(*points),
            "value": shown.worth(*points),
        })),
        _ => None,
    }
}

fn print_redemption(value: &Value) {
    println!(
        "{}  block {:>6}  {:>8} points = {:>9}  from {}  tx {}",
        value["local_time"].as_str().unwrap_or_default(),
        value["height"].to_string(),
        value["points"].to_string(),
        value["value"].as_str().unwrap_or_default(),
        value["customer"].as_str().unwrap_or_default(),
        value["id"].as_str().unwrap_or_default()
    );
}

/// `guild shop redemptions [--follow]`.
fn redemptions(ctx: &Ctx, follow: bool, count: Option<u64>, limit: u64) -> anyhow::Result<()> {
    let info = ctx.key_info()?;
    let shop = info.address();
    let client = ctx.client()?;
    block_on(async {
        let members = client.members().await?.members;
        let name = members
            .iter()
            .find(|m| m.address == shop)
            .map(|m| m.name.to_string());
        let Some(name) = name else {
            let chain_id = client.head().await?.chain_id;
            return Err(guild_wallet::Error::NotAMember {
                address: shop,
                chain_id: chain_id.to_string(),
            }
            .into());
        };
        let shown = Shown::fetch(&client).await?;
        if follow {
            return follow_redemptions(ctx, &client, &shop, &name, count, &shown).await;
        }
        let limit = usize::try_from(limit).unwrap_or(500);
        let history = client.history(&shop, limit).await?;
        let list: Vec<Value> = history
            .iter()
            .filter(|e| matches!(&e.tx.body, TxBody::Redeem { shop: s, .. } if *s == shop))
            .filter_map(|e| redemption_json(&e.id, &e.tx, e.height, Some(e.time.0), &shown))
            .collect();
        if ctx.json {
            return print_json(&json!({"shop": shop, "shop_name": name, "redemptions": list}));
        }
        if list.is_empty() {
            println!("No redemptions at {name} among its last {limit} transactions.");
            return Ok(());
        }
        let total: u64 = list.iter().filter_map(|v| v["points"].as_u64()).sum();
        let n = list.len();
        let plural = if n == 1 { "" } else { "s" };
        println!(
            "Redemptions at {name}, newest first ({n} redemption{plural}, {total} points = {}; {}):",
            shown.worth(Points(total)),
            shown.rate()
        );
        for value in &list {
            print_redemption(value);
        }
        Ok(())
    })?
}

async fn follow_redemptions(
    ctx: &Ctx,
    client: &NodeClient,
    shop: &Address,
    name: &str,
    count: Option<u64>,
    shown: &Shown,
) -> anyhow::Result<()> {
    let mut seen = 0u64;
    let mut last: Option<Height> = None;
    let mut failures = 0u32;
    let mut announced = false;
    loop {
        let mut stream = match client.events(&["redeem"], Some(shop)).await {
            Ok(stream) => {
                failures = 0;
                if !announced {
                    // On stderr, so stdout holds only redemptions.
                    eprintln!(
                        "Following redemptions at {name} as they become final (Ctrl-C stops)…"
                    );
                    announced = true;
                }
                stream
            }
            Err(e @ ClientError::Unreachable { .. }) if last.is_some() => {
                failures += 1;
                if failures > 30 {
                    return Err(e.into());
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        // After a reconnection, look through the blocks missed meanwhile.
        if let Some(from) = last {
            let head = client.head().await?.height;
            if fill_gap(ctx, client, shop, from, head, &mut seen, count, shown).await? {
                return Ok(());
            }
            last = Some(head.max(from));
        }
        loop {
            let event = match stream.next().await {
                Ok(Some(event)) => event,
                Ok(None) | Err(ClientError::Unreachable { .. }) => break,
                Err(e) => return Err(e.into()),
            };
            match event {
                ChainEvent::Lagged { .. } => {
                    // Blocks were skipped for this slow reader: read them.
                    let head = client.head().await?.height;
                    let from = last.unwrap_or(Height(head.0.saturating_sub(1)));
                    if fill_gap(ctx, client, shop, from, head, &mut seen, count, shown).await? {
                        return Ok(());
                    }
                    last = Some(head);
                }
                ChainEvent::Block(block) => {
                    if last.is_some_and(|l| block.height <= l) {
                        continue;
                    }
                    last = Some(block.height);
                    for tx in &block.txs {
                        let at = (block.height, block.time.0);
                        if emit(ctx, &tx.id, &tx.tx, at, shop, &mut seen, count, shown)? {
                            return Ok(());
                        }
                    }
                }
            }
        }
        if !ctx.json {
            eprintln!("The node closed the event stream; reconnecting…");
        }
        if last.is_none() {
            last = Some(client.head().await?.height);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Prints a redemption if it is at `shop`; true once `count` were printed.
/// `at` is the block's height and time.
#[allow(clippy::too_many_arguments)]
fn emit(
    ctx: &Ctx,
    id: &TxId,
    tx: &Transaction,
    at: (Height, u64),
    shop: &Address,
    seen: &mut u64,
    count: Option<u64>,
    shown: &Shown,
) -> anyhow::Result<bool> {
    if !matches!(&tx.body, TxBody::Redeem { shop: s, .. } if s == shop) {
        return Ok(false);
    }
    let (height, time) = at;
    if let Some(value) = redemption_json(id, tx, height, Some(time), shown) {
        if ctx.json {
            println!("{}", serde_json::to_string(&value)?);
        } else {
            print_redemption(&value);
        }
        use std::io::Write;
        let _ = std::io::stdout().flush();
        *seen += 1;
    }
    Ok(count.is_some_and(|c| *seen >= c))
}

/// Reads blocks `from + 1 ..= to` for redemptions at `shop`.
#[allow(clippy::too_many_arguments)]
async fn fill_gap(
    ctx: &Ctx,
    client: &NodeClient,
    shop: &Address,
    from: Height,
    to: Height,
    seen: &mut u64,
    count: Option<u64>,
    shown: &Shown,
) -> anyhow::Result<bool> {
    let mut height = from.0.saturating_add(1);
    while height <= to.0 {
        let block = client.block(Height(height)).await?;
        for tx in &block.txs {
            let at = (block.height, block.header.time.0);
            if emit(ctx, &tx.id, &tx.tx, at, shop, seen, count, shown)? {
                return Ok(true);
            }
        }
        height += 1;
    }
    Ok(false)
}

/// `guild shop settle`.
fn settle(ctx: &Ctx, with: &str, points: &str, options: &TxOptions) -> anyhow::Result<()> {
    let points = builder::parse_points(points)?;
    let online = online(ctx, options)?;
    let (debtor, debtor_name) = shop_arg(online.as_ref().map(|(_, m)| m.as_slice()), with)?;
    let (key, shop_name) = shop_key(ctx, online.as_ref())?;
    if debtor == key.address() {
        bail!("a shop cannot settle a debt with itself; --with names the shop that paid");
    }
    if let Some((client, _)) = &online {
        let settlement = block_on(client.settlement())??;
        let owed = settlement
            .debts
            .iter()
            .find(|d| d.debtor == debtor && d.creditor == key.address())
            .map(|d| d.points)
            .unwrap_or(Points::ZERO);
        if owed < points {
            bail!(
                "{debtor_name} owes {shop_name} {}; cannot settle {points} \
                 (`guild shop debts` shows every debt)",
                owed.counted()
            );
        }
    }
    let body = TxBody::Settle { debtor, points };
    let summary = format!(
        "{shop_name} records that {debtor_name} paid off {}",
        points.counted()
    );
    let sent = super::wallet::common::send(
        ctx,
        options,
        &key,
        body,
        summary,
        online.as_ref().map(|(c, _)| c),
    )?;
    let remaining = match &online {
        Some((client, _)) => block_on(client.settlement())?.ok().map(|s| {
            s.debts
                .iter()
                .find(|d| d.debtor == debtor && d.creditor == key.address())
                .map(|d| d.points)
                .unwrap_or(Points::ZERO)
        }),
        None => None,
    };
    finish(
        ctx,
        &sent,
        json!({
            "debtor": debtor,
            "debtor_name": debtor_name,
            "points": points,
            "remaining": remaining,
        }),
        || {
            println!("Recorded that {debtor_name} paid {shop_name} {points} points' worth.");
            match remaining {
                Some(Points(0)) => println!("{debtor_name} no longer owes {shop_name} anything."),
                Some(remaining) => {
                    println!(
                        "{debtor_name} still owes {shop_name} {}.",
                        remaining.counted()
                    )
                }
                None => {}
            }
        },
    )
}

/// `guild shop debts`.
fn debts(ctx: &Ctx) -> anyhow::Result<()> {
    let info = ctx.key_info()?;
    let me = info.address();
    let client = ctx.client()?;
    let (settlement, members, genesis) = block_on(async {
        Ok::<_, ClientError>((
            client.settlement().await?,
            client.members().await?.members,
            client.genesis().await?,
        ))
    })??;
    let shown = Shown::new(
        genesis.programme.locale,
        settlement.settlement_cents_per_point,
    );
    let name = namer(&members);
    let label = |a: &Address| name(a).unwrap_or_else(|| short(&a.to_string()));
    let owed_to_me: Vec<_> = settlement
        .debts
        .iter()
        .filter(|d| d.creditor == me)
        .collect();
    let i_owe: Vec<_> = settlement.debts.iter().filter(|d| d.debtor == me).collect();
    if ctx.json {
        return print_json(&json!({
            "shop": me,
            "height": settlement.height,
            "settlement_cents_per_point": settlement.settlement_cents_per_point,
            "owed_to_you": owed_to_me,
            "you_owe": i_owe,
        }));
    }
    let me_name = label(&me);
    let money = |cents: Option<u64>| format!(" ({})", shown.money_or_overflow(cents));
    println!(
        "Debts of {me_name} (block {}, {}):",
        settlement.height,
        shown.rate()
    );
    if owed_to_me.is_empty() && i_owe.is_empty() {
        println!("  none");
    }
    for d in &owed_to_me {
        println!(
            "  {} owes {me_name} {}{}",
            label(&d.debtor),
            d.points.counted(),
            money(d.cents)
        );
    }
    for d in &i_owe {
        println!(
            "  {me_name} owes {} {}{}",
            label(&d.creditor),
            d.points.counted(),
            money(d.cents)
        );
    }
    Ok(())
}
