//! `guild shop sale` and `guild shop birthday`.

use super::{parse, programme, send_as_shop};
use crate::cmd::wallet::common::{Ctx, TxOptions, block_on, error_code, now, print_json};
use anyhow::{anyhow, bail};
use clap::Args;
use guild_ledger::programme::evaluate::Outcome;
use guild_ledger::programme::{Basket, BasketLine, Breakdown, Locale};
use guild_ledger::tx::TxBody;
use guild_ledger::types::{Height, ReceiptHash};
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

/// Options of `guild shop offer`.
#[derive(Args)]
pub struct OfferArgs {
    /// The offer's campaign id (see `guild shop campaign list`).
    #[arg(long)]
    pub campaign: u64,
    /// The customer's address (guild1…).
    #[arg(long)]
    pub to: String,
    /// A receipt id for the offer (default: a new unique id); giving the
    /// same id twice is refused.
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
        lines.push(BasketLine {
            category: parse::category(&cat)?,
            amount: parse::money(&value, locale)?,
        });
    }
    let basket = Basket::new(amount, lines);
    basket
        .validate()
        .map_err(|e| anyhow!("the sale is not valid: {e}"))?;
    Ok(basket)
}

/// Prints a breakdown for people: one line per source of points.
pub fn print_breakdown(b: &Breakdown, locale: &Locale) {
    let line = |label: String, points: String| println!("  {label:<52} {points:>8}");
    println!(
        "  spent {} ({} earns points)",
        locale.money(b.amount),
        locale.money(b.eligible)
    );
    for part in &b.categories {
        if part.multiplier.0 != 1000 {
            let name = part
                .category
                .as_ref()
                .map_or("uncategorised".to_string(), |c| c.to_string());
            println!(
                "    {name}: {} at {}",
                locale.money(part.amount),
                part.multiplier
            );
        }
    }
    if let Some(min) = b.below_minimum {
        line(
            format!("below the minimum spend of {}", locale.money(min)),
            "0".into(),
        );
    }
    line(
        format!("base (rule v{})", b.rule_version),
        b.base.to_string(),
    );
    if let Some(t) = &b.tier {
        line(
            format!(
                "tier {} {} ({} points earned in the window)",
                t.name, t.multiplier, t.earned_in_window
            ),
            format!("+{}", t.points),
        );
    }
    for c in &b.campaigns {
        let name = format!("campaign {} {:?}", c.campaign, c.name.as_str());
        match c.outcome {
            Outcome::Given => line(name, format!("+{}", c.points)),
            Outcome::Limited(limit) => line(
                format!("{name} (limited: {})", limit_text(limit)),
                format!("+{}", c.points),
            ),
            Outcome::NotGiven(why) => line(format!("{name}: {}", why.text()), "0".into()),
        }
    }
    if let Some(cap) = &b.capped {
        line(
            format!("cap of {} points a sale", cap.cap),
            format!("-{}", cap.cut),
        );
    }
    line("total".into(), b.total.to_string());
    if let Some(r) = &b.referrer {
        println!("  (and {} points to the referrer {})", r.points, r.referrer);
    }
}

pub fn limit_text(limit: guild_ledger::programme::evaluate::Limit) -> &'static str {
    use guild_ledger::programme::evaluate::Limit;
    match limit {
        Limit::Budget => "the last of its budget",
        Limit::CustomerPoints => "the customer's limit for the period",
        Limit::SaleCap => "the shop's cap per sale",
    }
}

/// Most times `guild shop sale` prices and signs a sale again when the
/// rules moved before it was included (`rules_changed`).
const MAX_ATTEMPTS: u32 = 3;

/// Runs `guild shop sale`: prices the sale from proven records at the head
/// with the ledger's own rules, signs it with the shop's key and sends it;
/// if the rules moved before it was included, prices and signs it again.
pub fn sale(ctx: &Ctx, args: SaleArgs) -> anyhow::Result<()> {
    let customer = builder::parse_address(&args.to)?;
    let me = ctx.key_info()?.address();
    if customer == me {
        bail!("a shop cannot sell to itself; give the customer's address with --to");
    }
    let (receipt_id, generated) = match &args.receipt {
        Some(text) => (builder::check_receipt_id(text)?, false),
        None => (builder::new_receipt_id(now())?, true),
    };
    let client = ctx.client()?;
    let mut attempt = 1;
    loop {
        let (state, height) = block_on(guild_wallet::sale::sale_state(&client, &me, &customer))??;
        let locale = state.programme().locale.clone();
        let basket = basket(&args.amount, &args.items, &locale)?;
        let breakdown = state
            .sale_breakdown(&me, &customer, &basket, Height(height.0 + 1), now())
            .map_err(|e| anyhow!(e).context("this sale cannot be recorded"))?;
        if args.preview {
            if ctx.json {
                return print_json(&json!({
                    "status": "preview",
                    "total": breakdown.total,
                    "breakdown": breakdown,
                }));
            }
            println!(
                "A sale of {} to {customer} would earn {} now:",
                locale.money(basket.amount),
                breakdown.total.counted()
            );
            print_breakdown(&breakdown, &locale);
            return Ok(());
        }
        let body = TxBody::Sale {
            customer,
            receipt: ReceiptHash::new(&me, &receipt_id),
            basket: basket.clone(),
            claim: breakdown.claim(),
        };
        let total = breakdown.total;
        let amount = locale.money(basket.amount);
        let result = send_as_shop(
            ctx,
            &args.tx,
            body,
            |shop| {
                format!(
                    "{shop} records a sale of {amount} to {customer}: {}",
                    total.counted()
                )
            },
            json!({
                "status": "final",
                "total": total,
                "breakdown": breakdown,
                "receipt": receipt_id,
                "receipt_generated": generated,
            }),
            |_| {
                println!("Sale of {amount} to {customer}: {}.", total.counted());
                print_breakdown(&breakdown, &locale);
                println!("Receipt id: {receipt_id}");
                if generated {
                    println!(
                        "(A new receipt id was made up; keep it for a refund: guild shop reverse --receipt {receipt_id})"
                    );
                }
            },
        );
        match result {
            Err(e) if error_code(&e) == "rules_changed" && attempt < MAX_ATTEMPTS => {
                eprintln!(
                    "note: the rules moved before the sale was included ({e:#}); pricing it again"
                );
                attempt += 1;
            }
            other => return other,
        }
    }
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
    let rule = shop.rules.at(next).ok_or_else(|| {
        anyhow!(
            "this shop has no earn rule yet: set one with `guild shop rules set --birthday N …`"
        )
    })?;
    let points = rule.spec.birthday;
    if points.is_zero() {
        bail!(
            "this shop's rule gives no birthday reward: publish one with `guild shop rules set --birthday N …`"
        );
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
        |shop| {
            format!(
                "{shop} gives a birthday reward of {} to {customer}",
                points.counted()
            )
        },
        json!({ "customer": customer, "points": points, "receipt": receipt_id }),
        |_| {
            println!(
                "Birthday reward of {} given to {customer} (receipt {receipt_id}).",
                points.counted()
            )
        },
    )
}

/// Runs `guild shop offer`: gives a customer the points of one of this
/// shop's offers (a campaign with `--offer N`); the ledger checks its
/// conditions, budget, per-customer limit and holdout.
pub fn offer(ctx: &Ctx, args: OfferArgs) -> anyhow::Result<()> {
    let customer = builder::parse_address(&args.to)?;
    let client = ctx.client()?;
    let info = programme(&client)?;
    let me = ctx.key_info()?.address();
    let id = guild_ledger::types::CampaignId(args.campaign);
    let found = info
        .campaigns
        .iter()
        .find(|c| c.campaign.id == id)
        .ok_or_else(|| anyhow!("there is no campaign {id}: see `guild shop campaign list`"))?;
    let guild_ledger::programme::Reward::Offer { points } = found.campaign.spec.reward else {
        bail!(
            "campaign {id} ({}) is not an offer: its points are given at sales",
            found.campaign.spec.name
        );
    };
    if !found.campaign.spec.funded_by(&me) {
        bail!("this shop does not fund campaign {id}, so it cannot give it");
    }
    if !found.running {
        bail!(
            "campaign {id} is not running now (signed by every funder, within its dates, not stopped)"
        );
    }
    let (receipt_id, _) = match args.receipt {
        Some(text) => (builder::check_receipt_id(&text)?, false),
        None => (builder::new_receipt_id(now())?, true),
    };
    let name = found.campaign.spec.name.clone();
    send_as_shop(
        ctx,
        &args.tx,
        TxBody::Offer {
            campaign: id,
            customer,
            receipt: ReceiptHash::new(&me, &receipt_id),
        },
        |shop| {
            format!(
                "{shop} gives {customer} the offer {name} ({})",
                points.counted()
            )
        },
        json!({ "customer": customer, "campaign": id, "points": points, "receipt": receipt_id }),
        |_| {
            println!(
                "Offer of {} given to {customer} (receipt {receipt_id}).",
                points.counted()
            )
        },
    )
}
