//! `guild wallet confirm`: the customer's redemption limit, and the second
//! confirmation `guild wallet redeem` asks for above it.

use super::common::{Ctx, print_json};
use anyhow::Context;
use guild_ledger::types::Points;
use guild_wallet::builder;
use guild_wallet::confirm::RedeemLimit;
use serde_json::json;
use std::io::{BufRead, IsTerminal, Write};

/// `guild wallet confirm [--above POINTS | --always | --off]`: sets the
/// limit (needs the passphrase), or shows it.
pub fn set(ctx: &Ctx, above: Option<&str>, always: bool, off: bool) -> anyhow::Result<()> {
    let wanted = match (above, always, off) {
        (Some(text), _, _) => Some(RedeemLimit::Above(builder::parse_points(text)?)),
        (None, true, _) => Some(RedeemLimit::Always),
        (None, false, true) => Some(RedeemLimit::Off),
        (None, false, false) => None,
    };
    let file = ctx.keystore()?;
    let limit = match wanted {
        None => file.redeem_limit(),
        Some(limit) => {
            let what = format!("wallet {}", ctx.wallet.display());
            let passphrase = zeroize::Zeroizing::new(crate::passphrase::read(
                &what,
                ctx.passphrase_file.as_deref(),
            )?);
            let mut keystore = file.unlock(&passphrase)?;
            keystore.set_redeem_limit(limit);
            keystore.save(&passphrase)?;
            limit
        }
    };
    if ctx.json {
        let (mode, above) = match limit {
            RedeemLimit::Off => ("off", None),
            RedeemLimit::Above(p) => ("above", Some(p)),
            RedeemLimit::Always => ("always", None),
        };
        return print_json(&json!({
            "wallet": ctx.wallet,
            "mode": mode,
            "above": above,
            "changed": wanted.is_some(),
        }));
    }
    let verb = if wanted.is_some() { "now" } else { "currently" };
    match limit {
        RedeemLimit::Off => println!(
            "This wallet {verb} signs redemptions without asking again \
             (set a limit with `guild wallet confirm --above POINTS`)."
        ),
        RedeemLimit::Above(points) => println!(
            "This wallet {verb} asks you to type the amount again before signing a redemption \
             of more than {points} points."
        ),
        RedeemLimit::Always => println!(
            "This wallet {verb} asks you to type the amount again before signing any redemption."
        ),
    }
    Ok(())
}

/// The customer's second confirmation of a redemption, if the wallet's
/// limit asks for one: `--confirm POINTS`, or the amount typed at a prompt
/// on a terminal. `question` is the prompt's first part ("Redeem 250 points
/// at Café (= £2.50)?"). Returns whether a confirmation was given; an error
/// (nothing signed) if it was needed and missing or wrong.
pub fn redemption(
    ctx: &Ctx,
    points: Points,
    question: &str,
    flag: Option<&str>,
) -> anyhow::Result<bool> {
    let limit = ctx.keystore()?.redeem_limit();
    if !limit.needs_confirmation(points) {
        return Ok(false);
    }
    let typed = match flag {
        Some(text) => Some(builder::parse_points(text).context("bad --confirm")?),
        None if std::io::stdin().is_terminal() && !ctx.json => {
            eprint!("{question} {} Type the amount to confirm: ", limit.reason());
            let _ = std::io::stderr().flush();
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the confirmation from the terminal")?;
            match builder::parse_points(&line) {
                Ok(p) => Some(p),
                // Anything that is not the amount is not a confirmation.
                Err(_) => Some(Points::ZERO),
            }
        }
        None => None,
    };
    limit.check(points, typed)?;
    Ok(true)
}
