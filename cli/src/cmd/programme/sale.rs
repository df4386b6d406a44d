//! `guild shop sale` and `guild shop birthday`.

use super::{parse, programme, send_as_shop};
use crate::cmd::wallet::common::{Ctx, TxOptions, now};
use anyhow::{anyhow, bail};
use clap::Args;
use guild_ledger::programme::evaluate::Outcome;
use guild_ledger::programme::{Basket, BasketLine, Breakdown, Locale};
use guild_ledger::tx::TxBody;
use guild_ledger::types::ReceiptHash;
use guild_wallet::builder;
use serde_json::json;

/// Options of `guild shop sale`.
#[derive(Args)]
pub struct SaleArgs {
    /// The customer's address (guild1…).
    #[arg(long)]
    pub to: String,
    /// What the customer paid, e.g. 12.50.
    #[arg(long)]
    pub amount: String,
    /// The part of the sale in one category, CATEGORY:AMOUNT, e.g.
    /// coffee:3.20 (repeatable; the rest is uncategorised).
    #[arg(long = "item")]
    pub items: Vec<String>,
    /// The till's receipt id (default: a new unique id, printed).
    #[arg(long)]
    pub receipt: Option<String>,
    /// Only show what the sale would earn; issue nothing.
    #[arg(long)]
    pub preview: bool,
    #[command(flatten)]
    pub tx: TxOptions,
}

/// Options of `guild shop birthday`.
#[derive(Args)]
pub struct BirthdayArgs {
    /// The customer's address (guild1…).
    #[arg(long)]
    pub to: String,
    /// A receipt id for the reward (default: a new unique id).
    #[arg(long)]
    pub receipt: Option<String>,
    #[command(flatten)]
    pub tx: TxOptions,
}

/// The basket of `--amount` and `--item`s.
pub fn basket(amount: &str, items: &[String], locale: &Locale) -> anyhow::Result<Basket> {
    let amount = parse::money(amount, locale)?;
    let mut lines: Vec<BasketLine> = Vec::new();
    for item in items {
        let (cat, value) = parse::pair(item, "CATEGORY:AMOUNT, e.g. coffee:3.20")?;
        let category = parse::category(&cat)?;
        let value = parse::money(&value, locale)?;
        match lines.iter_mut().find(|l| l.category == category) {
            Some(line) => line.amount.0 = line.amount.0.saturating_add(value.0),
            None => lines.push(BasketLine {
                category,
                amount: value,
            }),
        }
    }
    let basket = Basket::new(amount, lines);
    basket
        .validate()
        .map_err(|e| anyhow!("the sale is not valid: {e}"))?;
    Ok(basket)
}

/// Prints a breakdown for people.
pub fn print_breakdown(b: &Breakdown, locale: &Locale) {
    println!("  spent {} ({} earns)", locale.money(b.amount), locale.money(b.eligible));
    if let Some(min) = b.below_minimum {
        println!("  below the minimum spend of {}: no points", locale.money(min));
    }
    for part in &b.categories {
        let name = part
            .category
            .as_ref()
            .map_or("uncategorised".to_string(), |c| c.to_string());
        if part.multiplier.0 != 1000 {
            println!("    {name}: {} at {}", locale.money(part.amount), part.multiplier);
        }
    }
    println!("  base (rule v{}):{:>10}", b.rule_version, b.base.to_string());
    if let Some(t) = &b.tier {
        println!(
            "  tier {} {}:{:>10}   ({} points earned in the window)",
            t.name, t.multiplier, format!("+{}", t.points), t.earned_in_window
        );
    }
    for c in &b.campaigns {
        let line = format!("  campaign {} {:?}", c.campaign, c.name.as_str());
        match c.outcome {
            Outcome::Given => println!("{line}: +{}", c.points),
            Outcome::Limited(limit) => {
                println!("{line}: +{} (limited: {})", c.points, limit_text(limit))
            }
            Outcome::NotGiven(why) => println!("{line}: nothing ({})", why_text(why)),
        }
    }
    if let Some(cap) = &b.capped {
        println!("  capped at {} points a sale (cut {})", cap.cap, cap.cut);
    }
    if let Some(r) = &b.referrer {
        println!("  referral: {} points to {}", r.points, r.referrer);
    }
    println!("  total:{:>18}", b.total.to_string());
}

fn limit_text(limit: guild_ledger::programme::evaluate::Limit) -> &'static str {
    use guild_ledger::programme::evaluate::Limit;
    match limit {
        Limit::Budget => "the last of its budget",
        Limit::CustomerPoints => "the customer's limit for the period",
        Limit::SaleCap => "the shop's cap per sale",
    }
}

/// Why a campaign gave nothing, for people.
pub fn why_text(why: guild_ledger::programme::evaluate::NotGiven) -> &'static str {
    use guild_ledger::programme::evaluate::NotGiven as N;
    match why {
        N::BudgetSpent => "its budget is spent",
        N::CustomerLimit => "the customer reached its limit",
        N::HeldOut => "the customer is in its holdout group",
        N::NotThisDay => "not on this day",
        N::NotThisHour => "not at this hour",
        N::NoMatchingCategory => "none of its categories in the basket",
        N::TierNotIncluded => "not for the customer's tier",
        N::NotFirstPurchase => "only for a first purchase here",
        N::BelowMinimumSpend => "below its minimum spend",
        N::BelowRuleMinimum => "below the shop's minimum spend",
        N::NoReferral => "no referral to pay",
        N::SaleCap => "the shop's cap per sale",
    }
}

/// Runs `guild shop sale`.
pub fn sale(ctx: &Ctx, args: SaleArgs) -> anyhow::Result<()> {
    let _ = (ctx, args);
    bail!("guild shop sale is not wired yet")
}

/// Runs `guild shop birthday`.
pub fn birthday(ctx: &Ctx, args: BirthdayArgs) -> anyhow::Result<()> {
    let customer = builder::parse_address(&args.to)?;
    let client = ctx.client()?;
    let info = programme(&client)?;
    let me = ctx.key_info()?.address();
    let shop = info
        .shops
        .iter()
        .find(|s| s.shop == me)
        .ok_or_else(|| anyhow!("this wallet's key is not a member shop"))?;
    let next = guild_ledger::types::Height(info.height.0 + 1);
    let rule = shop
        .rules
        .at(next)
        .ok_or_else(|| anyhow!("this shop has no earn rule yet: set one with `guild shop rules set --birthday N …`"))?;
    let points = rule.spec.birthday;
    if points.is_zero() {
        bail!("this shop's rule gives no birthday reward: publish one with `guild shop rules set --birthday N …`");
    }
    let (receipt_id, _) = match args.receipt {
        Some(text) => (builder::check_receipt_id(&text)?, false),
        None => (builder::new_receipt_id(now())?, true),
    };
    send_as_shop(
        ctx,
        &args.tx,
        TxBody::Birthday {
            customer,
            receipt: ReceiptHash::new(&me, &receipt_id),
            points,
        },
        |shop| format!("{shop} gives a birthday reward of {points} points to {customer}"),
        json!({ "customer": customer, "points": points, "receipt": receipt_id }),
        |_| println!("Birthday reward of {points} points given to {customer} (receipt {receipt_id})."),
    )
}
