//! `guild shop campaigns` and `guild shop campaign publish|approve|stop`.

use super::time::{parse_local, show_local};
use super::{parse, programme, send_as_shop};
use crate::cmd::wallet::common::{Ctx, TxOptions, block_on, now, print_json, shop_arg};
use anyhow::{anyhow, bail};
use clap::Subcommand;
use guild_api::CampaignInfo;
use guild_ledger::programme::{CampaignSpec, CustomerLimit, Reward, Share};
use guild_ledger::tx::TxBody;
use guild_ledger::types::{CampaignId, CampaignName, Cents, Permille, Points};
use serde_json::json;

/// `guild shop campaign …`.
// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum CampaignCommand {
    /// Publish a campaign (it runs once every funding shop approved it).
    Publish {
        /// Its name, as customers see it.
        #[arg(long)]
        name: String,
        /// A multiplier on the points of the sale, e.g. 2 for double.
        #[arg(long, group = "reward")]
        multiplier: Option<String>,
        /// A fixed bonus in points per qualifying sale.
        #[arg(long, group = "reward")]
        bonus: Option<String>,
        /// A referral reward REFERRER:REFERRED in points, e.g. 200:100.
        #[arg(long, group = "reward")]
        referral: Option<String>,
        /// An offer of N points that the shop gives to customers it
        /// chooses (`guild shop offer`, or an automation), not at sales.
        #[arg(long, group = "reward")]
        offer: Option<String>,
        /// When it starts (network local time): 2026-12-01, 2026-12-01T07:00
        /// or now (default).
        #[arg(long, default_value = "now")]
        start: String,
        /// When it ends (network local time), e.g. 2026-12-25.
        #[arg(long)]
        end: String,
        /// Days of the week it applies, e.g. mon,tue,sat (default every day).
        #[arg(long)]
        days: Option<String>,
        /// Local hours it applies, FROM-TO, e.g. 0-9 for "before 9".
        #[arg(long)]
        hours: Option<String>,
        /// Only this category (repeatable).
        #[arg(long = "category")]
        categories: Vec<String>,
        /// Only customers of this tier (repeatable).
        #[arg(long = "tier")]
        tiers: Vec<String>,
        /// Only a customer's first purchase at the shop.
        #[arg(long)]
        first_purchase: bool,
        /// The least spend of a qualifying sale, e.g. 5.00.
        #[arg(long)]
        min_spend: Option<String>,
        /// The most points it gives in total.
        #[arg(long)]
        budget: String,
        /// Most sales per customer per period.
        #[arg(long)]
        max_sales: Option<u32>,
        /// Most campaign points per customer per period.
        #[arg(long)]
        max_points: Option<String>,
        /// Length of the per-customer period in days (default: the whole
        /// campaign).
        #[arg(long)]
        period_days: Option<u32>,
        /// Share of customers held out to measure the effect, e.g. 10%.
        #[arg(long)]
        holdout: Option<String>,
        /// A funding shop and its share of the cost, e.g. Cafe:30
        /// (repeatable; default: this shop alone at 100).
        #[arg(long = "fund")]
        funds: Vec<String>,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Sign a co-funded campaign this shop funds.
    Approve {
        /// The campaign's number (see `guild shop campaigns`).
        id: u64,
        #[command(flatten)]
        tx: TxOptions,
    },
    /// Stop a campaign this shop funds before its end.
    Stop {
        /// The campaign's number.
        id: u64,
        #[command(flatten)]
        tx: TxOptions,
    },
}

/// Runs `guild shop campaign …`.
pub fn campaign(ctx: &Ctx, command: CampaignCommand) -> anyhow::Result<()> {
    match command {
        CampaignCommand::Approve { id, tx } => send_as_shop(
            ctx,
            &tx,
            TxBody::ApproveCampaign {
                campaign: CampaignId(id),
            },
            |shop| format!("{shop} approves campaign {id}"),
            json!({ "campaign": id }),
            |_| println!("Approved campaign {id}."),
        ),
        CampaignCommand::Stop { id, tx } => send_as_shop(
            ctx,
            &tx,
            TxBody::StopCampaign {
                campaign: CampaignId(id),
            },
            |shop| format!("{shop} stops campaign {id}"),
            json!({ "campaign": id }),
            |_| println!("Stopped campaign {id}: it gives no more points."),
        ),
        CampaignCommand::Publish {
            name,
            multiplier,
            bonus,
            referral,
            offer,
            start,
            end,
            days,
            hours,
            categories,
            tiers,
            first_purchase,
            min_spend,
            budget,
            max_sales,
            max_points,
            period_days,
            holdout,
            funds,
            tx,
        } => {
            let client = ctx.client()?;
            let info = programme(&client)?;
            let locale = &info.locale;
            let members = block_on(client.members())??.members;
            let me = ctx.key_info()?.address();
            let reward = match (multiplier, bonus, referral, offer) {
                (Some(m), None, None, None) => Reward::Multiplier {
                    multiplier: parse::multiplier(&m)?,
                },
                (None, Some(b), None, None) => Reward::Bonus {
                    points: parse::points(&b)?,
                },
                (None, None, None, Some(o)) => Reward::Offer {
                    points: parse::points(&o)?,
                },
                (None, None, Some(r), None) => {
                    let (referrer, referred) =
                        parse::pair(&r, "REFERRER:REFERRED points, e.g. 200:100")?;
                    Reward::Referral {
                        referrer: parse::points(&referrer)?,
                        referred: parse::points(&referred)?,
                    }
                }
                _ => {
                    bail!("give the reward: --multiplier X, --bonus N, --referral A:B or --offer N")
                }
            };
            let mut funders = Vec::new();
            for f in &funds {
                let (shop, share) = parse::pair(f, "SHOP:PERCENT, e.g. Cafe:30")?;
                let (address, _) = shop_arg(Some(&members), &shop)?;
                funders.push(Share {
                    shop: address,
                    percent: parse::percent(&share)?,
                });
            }
            if funders.is_empty() {
                funders.push(Share {
                    shop: me,
                    percent: 100,
                });
            }
            funders.sort_by_key(|s| s.shop);
            let mut categories = categories
                .iter()
                .map(|c| parse::category(c))
                .collect::<anyhow::Result<Vec<_>>>()?;
            categories.sort();
            categories.dedup();
            let mut tiers = tiers
                .iter()
                .map(|t| parse::tier_name(t))
                .collect::<anyhow::Result<Vec<_>>>()?;
            tiers.sort();
            tiers.dedup();
            let per_customer = if max_sales.is_some() || max_points.is_some() {
                Some(CustomerLimit {
                    max_sales: max_sales.unwrap_or(0),
                    max_points: max_points
                        .as_deref()
                        .map(parse::points)
                        .transpose()?
                        .unwrap_or(Points::ZERO),
                    period_days: period_days.unwrap_or(0),
                })
            } else {
                None
            };
            let holdout = match holdout {
                Some(h) => Permille(u32::from(parse::percent(&h)?) * 10),
                None => Permille(0),
            };
            let now = now();
            let spec = CampaignSpec {
                name: CampaignName::new(name.trim()).map_err(|e| anyhow!("--name: {e}"))?,
                funders,
                reward,
                start: parse_local(&start, locale, now)?,
                end: parse_local(&end, locale, now)?,
                days: days.as_deref().map(parse::days).transpose()?.unwrap_or(0),
                hours: hours.as_deref().map(parse::hours).transpose()?,
                categories,
                tiers,
                first_purchase,
                min_spend: match min_spend {
                    Some(m) => parse::money(&m, locale)?,
                    None => Cents(0),
                },
                budget: parse::points(&budget)?,
                per_customer,
                holdout,
            };
            spec.validate(&me, now)
                .map_err(|e| anyhow!("the campaign is not valid: {e}"))?;
            let next = info
                .campaigns
                .iter()
                .map(|c| c.campaign.id.0)
                .max()
                .unwrap_or(0)
                + 1;
            let co_funded = spec.funders.len() > 1;
            let name = spec.name.to_string();
            send_as_shop(
                ctx,
                &tx,
                TxBody::PublishCampaign {
                    campaign: spec.clone(),
                },
                |shop| format!("{shop} publishes the campaign {name:?}"),
                json!({ "campaign": spec, "expected_id": next }),
                |_| {
                    println!(
                        "Published campaign {name:?} (probably number {next}; see `guild shop campaigns`)."
                    );
                    if co_funded {
                        println!(
                            "It runs once every funding shop has approved it: guild shop campaign approve {next}"
                        );
                    }
                },
            )
        }
    }
}

/// Runs `guild shop campaigns`.
pub fn campaigns(ctx: &Ctx) -> anyhow::Result<()> {
    let client = ctx.client()?;
    let info = programme(&client)?;
    if ctx.json {
        return print_json(&json!({ "height": info.height, "campaigns": info.campaigns }));
    }
    if info.campaigns.is_empty() {
        println!("No campaigns yet (publish one with `guild shop campaign publish`).");
        return Ok(());
    }
    let name_of = |a: &guild_ledger::Address| {
        info.shops
            .iter()
            .find(|s| s.shop == *a)
            .map_or_else(|| a.to_string(), |s| s.name.to_string())
    };
    println!(
        "{:>3}  {:<28} {:<14} {:<9} {:>10}  {:<33} funded by",
        "id", "name", "reward", "status", "budget left", "dates"
    );
    for CampaignInfo {
        campaign: c,
        running,
        budget_left,
        awaiting,
    } in &info.campaigns
    {
        let reward = match &c.spec.reward {
            Reward::Multiplier { multiplier } => format!("{multiplier} points"),
            Reward::Bonus { points } => format!("+{points} points"),
            Reward::Referral { referrer, referred } => format!("refer {referrer}/{referred}"),
            Reward::Offer { points } => format!("offer {points}"),
        };
        let status = if *running {
            "running"
        } else if c.stopped.is_some() {
            "stopped"
        } else if !awaiting.is_empty() {
            "unsigned"
        } else if info.time < c.spec.start {
            "upcoming"
        } else {
            "ended"
        };
        let funders: Vec<String> = c
            .spec
            .funders
            .iter()
            .map(|s| format!("{} {}%", name_of(&s.shop), s.percent))
            .collect();
        println!(
            "{:>3}  {:<28} {:<14} {:<9} {:>10}  {} – {}  {}",
            c.id.0,
            c.spec.name.as_str(),
            reward,
            status,
            format!("{budget_left}/{}", c.spec.budget),
            show_local(c.spec.start, &info.locale),
            show_local(c.spec.end, &info.locale),
            funders.join(", ")
        );
        if !awaiting.is_empty() {
            let names: Vec<String> = awaiting.iter().map(name_of).collect();
            println!("     waiting for the approval of: {}", names.join(", "));
        }
    }
    Ok(())
}
