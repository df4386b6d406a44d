//! `guild automation webhook add|list|remove`: where signed events go.

use super::Admin;
use crate::cmd::wallet::common::print_json;
use clap::Subcommand;
use guild_api::automation::{CreatedWebhook, NewWebhook, WebhookInfo, Webhooks};
use guild_ledger::types::Timestamp;
use guild_wallet::builder::format_time;
use reqwest::Method;

/// `guild automation webhook …`.
#[derive(Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; its signing secret is printed once.
    Add {
        /// Where events are POSTed: https://… (or http:// on the shop's own
        /// network).
        url: String,
        /// A note, e.g. "our CRM".
        #[arg(long)]
        description: Option<String>,
    },
    /// List the endpoints (never their secrets).
    List,
    /// Remove an endpoint no automation uses.
    Remove {
        /// Its id (wh_…).
        id: String,
    },
}

/// Runs a `guild automation webhook` command.
pub fn run(admin: &Admin, command: WebhookCommand, json: bool) -> anyhow::Result<()> {
    match command {
        WebhookCommand::Add { url, description } => {
            let request = NewWebhook { url, description };
            let created: CreatedWebhook =
                admin.call(Method::POST, "/v1/webhooks", Some(&request))?;
            if json {
                return print_json(&serde_json::to_value(&created)?);
            }
            // The secret alone on stdout (SECRET=$(guild automation webhook add …)).
            eprintln!(
                "Added the endpoint {} for {}. Its signing secret, shown only now (give it to the receiver, which checks the webhook-signature header with it):\n",
                created.webhook.id, created.webhook.url
            );
            println!("{}", created.secret);
            eprintln!(
                "\nUse it in an automation: guild automation add NAME --trigger … --action webhook:{}",
                created.webhook.id
            );
            Ok(())
        }
        WebhookCommand::List => {
            let all: Webhooks = admin.get("/v1/webhooks")?;
            if json {
                return print_json(&serde_json::to_value(&all)?);
            }
            if all.webhooks.is_empty() {
                println!(
                    "No webhook endpoints; add one with `guild automation webhook add https://…`."
                );
                return Ok(());
            }
            for w in &all.webhooks {
                println!(
                    "{}  {}  secret {}…  added {}{}",
                    w.id,
                    w.url,
                    w.secret_prefix,
                    format_time(Timestamp(w.created_ms)),
                    w.description
                        .as_ref()
                        .map(|d| format!("  ({d})"))
                        .unwrap_or_default()
                );
            }
            Ok(())
        }
        WebhookCommand::Remove { id } => {
            let removed: WebhookInfo = admin.call::<(), _>(
                Method::DELETE,
                &format!("/v1/webhooks/{}", super::path_segment(&id)),
                None,
            )?;
            if json {
                return print_json(&serde_json::to_value(&removed)?);
            }
            println!("Removed the endpoint {} ({}).", removed.id, removed.url);
            Ok(())
        }
    }
}
