//! `guild customer show | list`.

use super::{Session, parse_address, run_async, who};
use crate::Globals;
use crate::cmd::admin_token::AdminToken;
use crate::cmd::wallet::common::{print_json, short};
use clap::Args;
use guild_api::customers::{ConsentState, MAX_PAGE, PageQuery};
use guild_api::{CustomerEntry, Purpose};
use guild_ledger::types::Timestamp;
use guild_wallet::builder::format_time;
use serde_json::json;

/// `guild customer show`.
pub fn show(address: &str, token: &AdminToken, globals: &Globals) -> anyhow::Result<()> {
    let address = parse_address(address)?;
    let session = Session::new(globals, token)?;
    run_async(async {
        let entry = session.client.customer(&session.token, &address).await?;
        if session.json {
            return print_json(&serde_json::to_value(&entry)?);
        }
        println!("{}, in {}:", who(&entry), session.directory_name().await);
        print_entry(&entry);
        Ok(())
    })
}

fn or_none<T: std::fmt::Display>(value: Option<&T>) -> String {
    value.map_or_else(|| "-".to_string(), T::to_string)
}

fn consent_line(state: &ConsentState) -> String {
    let answer = if state.given { "yes" } else { "no" };
    match &state.last_change {
        Some(change) => format!(
            "{answer} (since {}, via {}, token {})",
            format_time(Timestamp(change.at_ms)),
            change.via,
            change.by
        ),
        None => format!("{answer} (never asked)"),
    }
}

/// Prints an entry for people: its fields, consents and consent log.
pub fn print_entry(entry: &CustomerEntry) {
    println!("  address:    {}", entry.address);
    println!("  name:       {}", or_none(entry.name.as_ref()));
    println!("  email:      {}", or_none(entry.email.as_ref()));
    println!("  birthday:   {}", or_none(entry.birthday.as_ref()));
    println!("  note:       {}", or_none(entry.note.as_ref()));
    println!("  messages:   {}", consent_line(&entry.consent.messages));
    println!("  profiling:  {}", consent_line(&entry.consent.profiling));
    println!(
        "  added:      {}; last changed {}",
        format_time(Timestamp(entry.created_ms)),
        format_time(Timestamp(entry.updated_ms))
    );
    if !entry.consent_log.is_empty() {
        println!("  consent log:");
        for event in &entry.consent_log {
            let what = if event.given { "gave" } else { "withdrew" };
            println!(
                "    {}  {what} consent to {} (via {}, token {})",
                format_time(Timestamp(event.at_ms)),
                event.purpose,
                event.via,
                event.by
            );
        }
    }
}

/// Options of `guild customer list`.
#[derive(Args)]
pub struct ListArgs {
    /// Only customers whose name or email contains this (ignoring case).
    #[arg(long)]
    search: Option<String>,
    /// Only customers who agreed to this: messages or profiling.
    #[arg(long)]
    consented: Option<Purpose>,
    /// List at most this many (default: all).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    #[command(flatten)]
    token: AdminToken,
}

/// `guild customer list`: every page, or up to `--limit`.
pub fn list(args: ListArgs, globals: &Globals) -> anyhow::Result<()> {
    let session = Session::new(globals, &args.token)?;
    let wanted = args
        .limit
        .map_or(usize::MAX, |n| usize::try_from(n).unwrap_or(usize::MAX));
    run_async(async {
        let mut customers = Vec::new();
        let mut query = PageQuery {
            search: args.search.clone(),
            after: None,
            limit: Some(MAX_PAGE),
        };
        let (matching, total) = loop {
            let page = session.client.customers(&session.token, &query).await?;
            customers.extend(page.customers.into_iter().filter(|c| match args.consented {
                Some(Purpose::Messages) => c.messages,
                Some(Purpose::Profiling) => c.profiling,
                None => true,
            }));
            match page.next {
                Some(next) if customers.len() < wanted => query.after = Some(next),
                _ => break (page.matching, page.total),
            }
        };
        customers.truncate(wanted);
        if session.json {
            return print_json(&json!({
                "customers": customers,
                "matching": matching,
                "total": total,
            }));
        }
        let directory = session.directory_name().await;
        if customers.is_empty() {
            if total == 0 {
                println!(
                    "No customers in {directory} yet: add one with `guild customer add ADDRESS --name NAME`."
                );
            } else {
                println!("No customer of {directory} matches ({total} in all).");
            }
            return Ok(());
        }
        let name_width = customers
            .iter()
            .filter_map(|c| c.name.as_ref().map(|n| n.as_str().chars().count()))
            .max()
            .unwrap_or(0)
            .clamp(4, 30);
        println!(
            "  {:<18}  {:<name_width$}  {:<30}  {:<10}  {:<8}  profiling",
            "address", "name", "email", "birthday", "messages"
        );
        for c in &customers {
            let name: String = c.name.as_ref().map_or("-".into(), |n| {
                n.as_str().chars().take(name_width).collect()
            });
            let yes_no = |b: bool| if b { "yes" } else { "no" };
            println!(
                "  {:<18}  {:<name_width$}  {:<30}  {:<10}  {:<8}  {}",
                short(&c.address.to_string()),
                name,
                c.email.as_ref().map_or("-", |e| e.as_str()),
                c.birthday.map_or("-".into(), |b| b.to_string()),
                yes_no(c.messages),
                yes_no(c.profiling)
            );
        }
        let shown = customers.len();
        match &args.search {
            Some(search) => println!(
                "{shown} of the {matching} customers matching \"{search}\" ({total} in {directory})."
            ),
            None if shown < total => println!("{shown} of the {total} customers of {directory}."),
            None => println!("{total} customers in {directory}."),
        }
        Ok(())
    })
}
