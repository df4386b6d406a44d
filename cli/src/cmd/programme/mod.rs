//! `guild shop rules|campaigns|campaign|tiers|birthday|sale`: the loyalty
//! programme from the shop's side — publish the shop's earn rule and
//! campaigns, read what is in force, record sales whose points the rules
//! compute, give birthday rewards.

mod campaigns;
mod parse;
mod rules;
mod sale;
mod time;

pub use campaigns::CampaignCommand;
pub use rules::{RulesCommand, TiersArgs, tier_table};
pub use sale::{BirthdayArgs, OfferArgs, SaleArgs, limit_text};

use super::shop::{finish, online, shop_key};
use super::wallet::common::{Ctx, Sent, TxOptions, block_on};
use guild_api::{NodeClient, ProgrammeInfo};
use guild_ledger::tx::TxBody;
use serde_json::Value;

pub use campaigns::{campaign, campaigns};
pub use rules::{rules, tiers};
pub use sale::{birthday, offer, sale};

/// The programme at the head of the wallet's node.
fn programme(client: &NodeClient) -> anyhow::Result<ProgrammeInfo> {
    Ok(block_on(client.programme())??)
}

/// Signs `body` with the shop's key and sends it; prints `human` (or the
/// JSON with `extra`) once final.
fn send_as_shop(
    ctx: &Ctx,
    options: &TxOptions,
    body: TxBody,
    describe: impl FnOnce(&str) -> String,
    extra: Value,
    human: impl FnOnce(&Sent),
) -> anyhow::Result<()> {
    let online = online(ctx, options)?;
    let (key, shop_name) = shop_key(ctx, online.as_ref())?;
    let summary = describe(&shop_name);
    let sent = super::wallet::common::send(
        ctx,
        options,
        &key,
        body,
        summary,
        online.as_ref().map(|(c, _)| c),
    )?;
    finish(ctx, &sent, extra, || human(&sent))
}
