//! `guild shop rules set|show` and `guild shop tiers`.

use super::parse;
use super::{programme, send_as_shop};
use crate::cmd::wallet::common::{Ctx, TxOptions, print_json};
use anyhow::{anyhow, bail};
use clap::{Args, Subcommand};
use guild_api::ProgrammeInfo;
pub use guild_api::programme_input::describe_rule;
use guild_api::programme_input::{EarnRuleText, RuleField};
use guild_ledger::programme::{EarnRule, Tier, TierTable};
use guild_ledger::tx::TxBody;
use guild_ledger::types::Height;
use serde_json::json;

/// `guild shop rules …`.
// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum RulesCommand {
    /// Publish a new version of this shop's earn rule (it applies from the
    /// next block, or --from-block).
    Set {
        /// Points given per --per spent (default 1).
        #[arg(long, default_value = "1")]
        points: String,
        /// The spend that earns --points, e.g. 0.10 for "1 point per 10p".
        #[arg(long)]
        per: String,
        /// The least spend that earns anything, e.g. 2.00.
        #[arg(long)]
        min_spend: Option<String>,
        /// A category multiplier, e.g. coffee:2 (repeatable).
        #[arg(long = "multiplier")]
        multipliers: Vec<String>,
        /// A category that earns nothing, e.g. gift-card (repeatable).
        #[arg(long = "exclude")]
        excluded: Vec<String>,
        /// The most points one sale may give.
        #[arg(long)]
        cap: Option<String>,
        /// Points of this shop's birthday reward (default: none).
        #[arg(long)]
        birthday: Option<String>,
        /// The first block it applies at (default: the next block).
        #[arg(long)]
        from_block: Option<u64>,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Show the earn rules in force (every shop, or --shop).
    Show {
        /// Only this shop (name or address).
        #[arg(long)]
        shop: Option<String>,
    },
}

/// Options of `guild shop tiers`.
#[derive(Args)]
pub struct TiersArgs {}

/// Runs `guild shop rules …`.
pub fn rules(ctx: &Ctx, command: RulesCommand) -> anyhow::Result<()> {
    match command {
        RulesCommand::Show { shop } => show(ctx, shop.as_deref()),
        RulesCommand::Set {
            points,
            per,
            min_spend,
            multipliers,
            excluded,
            cap,
            birthday,
            from_block,
            tx,
        } => {
            let client = ctx.client()?;
            let locale = programme(&client)?.locale;
            let spec = EarnRuleText {
                points,
                per,
                min_spend: min_spend.unwrap_or_default(),
                multipliers,
                excluded,
                cap: cap.unwrap_or_default(),
                birthday: birthday.unwrap_or_default(),
            }
            .spec(&locale)
            .map_err(|e| match e.field() {
                RuleField::Rule => anyhow!("{e}"),
                field => anyhow!("--{}: {}", field.name().replace('_', "-"), e.message()),
            })?;
            let described = describe_rule(&spec, &locale);
            let effective = from_block.map(Height);
            send_as_shop(
                ctx,
                &tx,
                TxBody::SetEarnRule {
                    rule: spec.clone(),
                    effective,
                },
                |shop| format!("{shop} publishes its earn rule: {described}"),
                json!({ "rule": spec, "from_block": effective }),
                |_| {
                    println!("Published: {described}.");
                    match effective {
                        Some(h) => println!("It applies to sales from block {h}."),
                        None => println!("It applies to sales from the next block."),
                    }
                },
            )
        }
    }
}

fn show(ctx: &Ctx, only: Option<&str>) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let info = programme(&client)?;
    let shops: Vec<_> = info
        .shops
        .iter()
        .filter(|s| {
            only.is_none_or(|o| {
                s.name.folded() == o.trim().to_ascii_lowercase() || s.shop.to_string() == o.trim()
            })
        })
        .collect();
    if let Some(o) = only
        && shops.is_empty()
    {
        bail!("no member shop is called or has the address {o:?} (see `guild shop rules show`)");
    }
    if ctx.json {
        return print_json(&json!({
            "height": info.height,
            "currency": info.locale.currency,
            "shops": shops,
        }));
    }
    println!("Earn rules at block {}:", info.height);
    for s in shops {
        let at = |r: &Option<EarnRule>| {
            r.as_ref().map(|r| {
                format!(
                    "v{} (from block {}): {}",
                    r.version,
                    r.effective,
                    describe_rule(&r.spec, &info.locale)
                )
            })
        };
        match (at(&s.rules.current), at(&s.rules.next)) {
            (None, None) => println!(
                "  {:<20} no rule yet: its sales earn nothing",
                s.name.as_str()
            ),
            (current, next) => {
                if let Some(c) = current {
                    println!("  {:<20} {c}", s.name.as_str());
                }
                if let Some(n) = next {
                    println!("  {:<20} next {n}", if_first(&s.rules.current, &s.name));
                }
            }
        }
    }
    Ok(())
}

fn if_first(current: &Option<EarnRule>, name: &impl std::fmt::Display) -> String {
    if current.is_some() {
        String::new()
    } else {
        name.to_string()
    }
}

/// Runs `guild shop tiers`.
pub fn tiers(ctx: &Ctx, _args: TiersArgs) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let info: ProgrammeInfo = programme(&client)?;
    if ctx.json {
        return print_json(&json!({ "height": info.height, "tiers": info.tiers }));
    }
    let t = &info.tiers;
    if t.tiers.is_empty() {
        println!(
            "No tiers: every customer earns at x1 (propose some with `guild shop propose set-tiers`)."
        );
        return Ok(());
    }
    println!(
        "Tiers (points earned from sales in the last {} days, at any shop):",
        t.window_days
    );
    println!("  {:<12} {:>10} {:>10}", "tier", "from", "multiplier");
    for tier in &t.tiers {
        println!(
            "  {:<12} {:>10} {:>10}",
            tier.name.as_str(),
            tier.threshold.to_string(),
            tier.multiplier.to_string()
        );
    }
    Ok(())
}

/// A tier table from `--tier NAME:FROM:MULTIPLIER` values.
pub fn tier_table(window_days: u32, tiers: &[String]) -> anyhow::Result<TierTable> {
    let mut out = Vec::new();
    for text in tiers {
        let parts: Vec<&str> = text.split(':').collect();
        let [name, from, multiplier] = parts.as_slice() else {
            bail!("--tier {text:?}: write NAME:FROM:MULTIPLIER, e.g. silver:500:1.25");
        };
        out.push(Tier {
            name: parse::tier_name(name)?,
            threshold: parse::points(from)?,
            multiplier: parse::multiplier(multiplier)?,
        });
    }
    out.sort_by_key(|t| t.threshold);
    let table = TierTable {
        window_days,
        tiers: out,
    };
    table
        .validate()
        .map_err(|e| anyhow!("the tiers are not valid: {e}"))?;
    Ok(table)
}
