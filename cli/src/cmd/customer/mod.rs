//! `guild customer`: the shop's customer directory — names, emails,
//! birthdays and consent, kept in the shop's own node and never on the
//! ledger (`docs/privacy.md`).
//!
//! Every command talks to the shop's node (`--node URL` / `GUILD_NODE`)
//! with its admin token (`--token-file FILE` or `GUILD_TOKEN`; a devnet
//! keeps one in `devnet/<shop>/admin-token.txt`). Entries are changed
//! only through the node, which writes its file before it answers.
//!
//! - `add.rs`: `add`, `update`, `import`
//! - `show.rs`: `show`, `list`
//! - `consent.rs`: `consent`
//! - `export.rs`: `export`
//! - `erase.rs`: `erase`

mod add;
mod consent;
mod erase;
mod export;
mod show;

use crate::Globals;
use crate::cmd::admin_token::AdminToken;
use crate::cmd::wallet::common::{block_on, with_json_errors};
use clap::{Args, Subcommand};
use guild_api::customers::Purpose;
use guild_api::{CustomerEntry, NodeClient};
use guild_ledger::Address;
use guild_wallet::builder;

/// Options of `guild customer`.
#[derive(Args)]
pub struct CustomerArgs {
    #[command(subcommand)]
    command: CustomerCommand,
}

#[derive(Subcommand)]
enum CustomerCommand {
    /// Add a customer to the shop's directory (their key from their
    /// wallet, and what they agree to share).
    Add(add::AddArgs),
    /// Change a customer's name, email, birthday or note.
    Update(add::UpdateArgs),
    /// Add many customers from a CSV file (address,name,email,birthday,consent,note).
    Import(add::ImportArgs),
    /// Show what the directory holds about a customer, with their consents
    /// and every change of them.
    Show {
        /// The customer's address (guild1…).
        address: String,
        #[command(flatten)]
        token: AdminToken,
    },
    /// List the directory (or search it by name or email).
    List(show::ListArgs),
    /// Record that a customer gave or withdrew consent to messages or to
    /// profiling; a withdrawal counts at once.
    Consent(consent::ConsentArgs),
    /// Write everything the shop holds about a customer to a JSON file, to
    /// give them (their directory entry and their lines on the ledger).
    Export(export::ExportArgs),
    /// Erase a customer from the directory, with everything derived from
    /// it; the ledger keeps their key's lines (pseudonymous once erased).
    Erase(erase::EraseArgs),
}

/// Runs a `guild customer` command.
pub fn run(args: CustomerArgs, globals: &Globals) -> anyhow::Result<()> {
    with_json_errors(globals.json, || match args.command {
        CustomerCommand::Add(args) => add::add(args, globals),
        CustomerCommand::Update(args) => add::update(args, globals),
        CustomerCommand::Import(args) => add::import(args, globals),
        CustomerCommand::Show { address, token } => show::show(&address, &token, globals),
        CustomerCommand::List(args) => show::list(args, globals),
        CustomerCommand::Consent(args) => consent::consent(args, globals),
        CustomerCommand::Export(args) => export::export(args, globals),
        CustomerCommand::Erase(args) => erase::erase(args, globals),
    })
}

/// What every directory command needs: the node and the admin token.
pub struct Session {
    /// The node.
    pub client: NodeClient,
    /// The shop's admin token.
    pub token: String,
    /// Print JSON.
    pub json: bool,
}

impl Session {
    /// The node of `--node` with the token of `--token-file` /
    /// `GUILD_TOKEN`.
    pub fn new(globals: &Globals, token: &AdminToken) -> anyhow::Result<Session> {
        Ok(Session {
            client: NodeClient::new(&globals.node)?,
            token: token.read()?,
            json: globals.json,
        })
    }

    /// The name of the node's shop ("Bakery"), if it is a member's node
    /// and the node says.
    pub async fn shop_name(&self) -> Option<String> {
        let head = self.client.head().await.ok()?;
        let member = head.member?;
        let members = self.client.members().await.ok()?;
        members
            .members
            .into_iter()
            .find(|m| m.address == member)
            .map(|m| m.name.to_string())
    }

    /// "the Bakery's customer directory", or "this node's customer
    /// directory" for a node without a shop key (or when the node cannot
    /// say).
    pub async fn directory_name(&self) -> String {
        match self.shop_name().await {
            Some(name) => format!("the {name}'s customer directory"),
            None => "this node's customer directory".to_string(),
        }
    }
}

/// Parses a customer's address with the wallet's message for a typo.
pub fn parse_address(text: &str) -> anyhow::Result<Address> {
    Ok(builder::parse_address(text)?)
}

/// How a person is named in messages: `Mrs Lee (guild1…)`, or the address
/// alone.
pub fn who(entry: &CustomerEntry) -> String {
    match &entry.name {
        Some(name) => format!("{name} ({})", entry.address),
        None => entry.address.to_string(),
    }
}

/// `messages yes, profiling no`.
pub fn consent_text(entry: &CustomerEntry) -> String {
    let yes_no = |purpose: Purpose| {
        if entry.consent.allows(purpose) {
            "yes"
        } else {
            "no"
        }
    };
    format!(
        "messages {}, profiling {}",
        yes_no(Purpose::Messages),
        yes_no(Purpose::Profiling)
    )
}

/// Parses `yes` / `no` (also `y`, `n`, `true`, `false`).
pub fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" => Ok(false),
        _ => Err(format!("'{text}' is not yes or no")),
    }
}

/// Runs `future` on a one-off runtime.
pub fn run_async<T>(
    future: impl std::future::Future<Output = anyhow::Result<T>>,
) -> anyhow::Result<T> {
    block_on(future)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        assert_eq!(parse_yes_no("Yes"), Ok(true));
        assert_eq!(parse_yes_no("n"), Ok(false));
        assert!(parse_yes_no("maybe").is_err());
    }
}
