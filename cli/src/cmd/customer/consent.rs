//! `guild customer consent`: a customer gives or withdraws consent.

use super::{Session, consent_text, parse_address, parse_yes_no, run_async, who};
use crate::Globals;
use crate::cmd::admin_token::AdminToken;
use crate::cmd::wallet::common::print_json;
use anyhow::bail;
use clap::Args;
use guild_api::{ConsentRequest, Via};

/// Options of `guild customer consent`.
#[derive(Args)]
pub struct ConsentArgs {
    /// The customer's address (guild1…).
    address: String,
    /// May the shop send them messages (birthday greetings, offers)? yes
    /// or no.
    #[arg(long, value_parser = parse_yes_no)]
    messages: Option<bool>,
    /// May the shop act on what it works out from their purchases
    /// (segments, predictions)? yes or no.
    #[arg(long, value_parser = parse_yes_no)]
    profiling: Option<bool>,
    #[command(flatten)]
    token: AdminToken,
}

/// `guild customer consent`.
pub fn consent(args: ConsentArgs, globals: &Globals) -> anyhow::Result<()> {
    let address = parse_address(&args.address)?;
    if args.messages.is_none() && args.profiling.is_none() {
        bail!("say what changes: --messages yes|no and/or --profiling yes|no");
    }
    let session = Session::new(globals, &args.token)?;
    let request = ConsentRequest {
        messages: args.messages,
        profiling: args.profiling,
        via: Some(Via::Cli),
    };
    run_async(async {
        let before = session.client.customer(&session.token, &address).await?;
        let entry = session
            .client
            .set_consent(&session.token, &address, &request)
            .await?;
        if session.json {
            return print_json(&serde_json::to_value(&entry)?);
        }
        let directory = session.directory_name().await;
        if entry.consent == before.consent {
            println!(
                "No change for {} in {directory}: consent was already {}.",
                who(&entry),
                consent_text(&entry)
            );
        } else {
            println!(
                "Recorded the consent of {} in {directory}: {}.",
                who(&entry),
                consent_text(&entry)
            );
            if before.consent.messages.given && !entry.consent.messages.given {
                println!("No message will be sent to them from now on.");
            }
            if before.consent.profiling.given && !entry.consent.profiling.given {
                println!("Nothing will be done for them from their purchase profile from now on.");
            }
        }
        Ok(())
    })
}
