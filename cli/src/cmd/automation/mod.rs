//! `guild automation …`: the shop's automated journeys on its own node —
//! add, list, enable, disable and remove automations, read the delivery
//! log, the staff's to-dos and the report, and manage webhook endpoints.
//!
//! Every command talks to the shop's node (`--node`) with its admin token
//! (`--token-file` or `GUILD_TOKEN`). The grammar of `--trigger` and
//! `--action` is `guild_api::automation`'s (docs/automation.md lists it):
//!
//! ```text
//! guild automation add birthday-treat --trigger birthday --action reward:birthday
//! guild automation add win-back --trigger days-since-last-purchase:42 --segment champions,loyal \
//!     --action "todo:Call {name}: a {segment} who has not come in for {weeks} weeks"
//! ```

mod add;
mod show;
mod webhook;

use super::admin_token::AdminToken;
use super::wallet::common::{block_on, print_json, with_json_errors};
use crate::Globals;
use add::AddArgs;
use clap::{Args, Subcommand};
use guild_api::NodeClient;
use guild_api::automation::{
    AutomationInfo, AutomationReport, Automations, Deliveries, DeliveryStatus, TodoInfo, Todos,
};
use guild_ledger::programme::Locale;
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use webhook::WebhookCommand;

/// Options of `guild automation`.
#[derive(Args)]
pub struct AutomationArgs {
    #[command(flatten)]
    token: AdminToken,
    #[command(subcommand)]
    command: AutomationCommand,
}

#[derive(Subcommand)]
enum AutomationCommand {
    /// Add an automation: --trigger, optional conditions, --action.
    Add(AddArgs),
    /// List the automations.
    List,
    /// Remove an automation (what is still waiting of it is cancelled).
    Remove {
        /// Its name.
        name: String,
    },
    /// Enable an automation: it acts on what happens from now on.
    Enable {
        /// Its name.
        name: String,
    },
    /// Disable an automation: nothing new fires, waiting deliveries pause.
    Disable {
        /// Its name.
        name: String,
    },
    /// The delivery log: every event, its attempts and how it ended.
    Deliveries {
        /// Only pending, retrying, delivered, cancelled, dead or held_out.
        #[arg(long, value_parser = parse_status)]
        status: Option<DeliveryStatus>,
        /// Only this automation.
        #[arg(long)]
        automation: Option<String>,
        /// Only this customer (guild1…).
        #[arg(long)]
        customer: Option<String>,
        /// How many, newest first (1 to 500).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Show why each event fired and each attempt.
        #[arg(long)]
        explain: bool,
    },
    /// The staff's to-dos.
    Todos {
        /// Also the done ones.
        #[arg(long)]
        all: bool,
    },
    /// Mark a to-do done.
    Done {
        /// The to-do's id (evt_…), as `guild automation todos` shows it.
        id: String,
    },
    /// What the automations did, by segment and tier, and the treated and
    /// held-out customers' purchases afterwards.
    Report,
    /// Webhook endpoints: add (shows the signing secret once), list,
    /// remove.
    Webhook {
        #[command(subcommand)]
        command: WebhookCommand,
    },
}

fn parse_status(text: &str) -> Result<DeliveryStatus, String> {
    text.parse()
}

/// The node, with the admin token.
pub(crate) struct Admin {
    client: NodeClient,
    token: String,
}

impl Admin {
    fn new(globals: &Globals, token: &AdminToken) -> anyhow::Result<Admin> {
        Ok(Admin {
            client: NodeClient::new(&globals.node)?,
            token: token.read()?,
        })
    }

    /// `method path` with a JSON `body`.
    pub(crate) fn call<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<&B>,
    ) -> anyhow::Result<T> {
        Ok(block_on(self.client.admin(
            method,
            path,
            &self.token,
            body,
        ))??)
    }

    pub(crate) fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        self.call::<(), T>(Method::GET, path, None)
    }

    /// The network's currency and time zone (for amounts and dates).
    pub(crate) fn locale(&self) -> Locale {
        block_on(self.client.programme())
            .ok()
            .and_then(Result::ok)
            .map(|p| p.locale)
            .unwrap_or_default()
    }
}

/// Runs a `guild automation` command.
pub fn run(args: AutomationArgs, globals: &Globals) -> anyhow::Result<()> {
    with_json_errors(globals.json, || {
        let admin = Admin::new(globals, &args.token)?;
        let json = globals.json;
        match args.command {
            AutomationCommand::Add(add) => {
                let spec = add::spec(add)?;
                let info: AutomationInfo =
                    admin.call(Method::POST, "/v1/automations", Some(&spec))?;
                if json {
                    return print_json(&serde_json::to_value(&info)?);
                }
                println!("Added the automation '{}'.", info.name);
                show::automation(&info);
                if info.holdout_permille > 0 {
                    println!(
                        "{} of eligible customers are held out (nothing is done for them) to measure the effect: `guild automation report`.",
                        show::permille(info.holdout_permille)
                    );
                }
                println!(
                    "It acts on what happens from now on. The delivery log: `guild automation deliveries`."
                );
                Ok(())
            }
            AutomationCommand::List => {
                let all: Automations = admin.get("/v1/automations")?;
                if json {
                    return print_json(&serde_json::to_value(&all)?);
                }
                show::automations(&all);
                Ok(())
            }
            AutomationCommand::Remove { name } => {
                let info: AutomationInfo = admin.call::<(), _>(
                    Method::DELETE,
                    &format!("/v1/automations/{}", path_segment(&name)),
                    None,
                )?;
                if json {
                    return print_json(&serde_json::to_value(&info)?);
                }
                println!(
                    "Removed the automation '{}'; what was still waiting of it is cancelled.",
                    info.name
                );
                Ok(())
            }
            AutomationCommand::Enable { name } => switch(&admin, &name, true, json),
            AutomationCommand::Disable { name } => switch(&admin, &name, false, json),
            AutomationCommand::Deliveries {
                status,
                automation,
                customer,
                limit,
                explain,
            } => {
                let mut query = vec![format!("limit={limit}")];
                if let Some(status) = status {
                    query.push(format!("status={}", status.as_str()));
                }
                if let Some(automation) = automation {
                    query.push(format!("automation={}", path_segment(&automation)));
                }
                if let Some(customer) = customer {
                    query.push(format!("customer={}", path_segment(&customer)));
                }
                let log: Deliveries =
                    admin.get(&format!("/v1/automations/deliveries?{}", query.join("&")))?;
                if json {
                    return print_json(&serde_json::to_value(&log)?);
                }
                show::deliveries(&log, explain);
                Ok(())
            }
            AutomationCommand::Todos { all } => {
                let todos: Todos = admin.get(&format!("/v1/automations/todos?all={all}"))?;
                if json {
                    return print_json(&serde_json::to_value(&todos)?);
                }
                show::todos(&todos);
                Ok(())
            }
            AutomationCommand::Done { id } => {
                let todo: TodoInfo = admin.call::<(), _>(
                    Method::POST,
                    &format!("/v1/automations/todos/{}/done", path_segment(&id)),
                    None,
                )?;
                if json {
                    return print_json(&serde_json::to_value(&todo)?);
                }
                println!("Done: {}", todo.text);
                Ok(())
            }
            AutomationCommand::Report => {
                let report: AutomationReport = admin.get("/v1/automations/report")?;
                if json {
                    return print_json(&serde_json::to_value(&report)?);
                }
                show::report(&report, &admin.locale());
                Ok(())
            }
            AutomationCommand::Webhook { command } => webhook::run(&admin, command, json),
        }
    })
}

fn switch(admin: &Admin, name: &str, enabled: bool, json: bool) -> anyhow::Result<()> {
    let verb = if enabled { "enable" } else { "disable" };
    let info: AutomationInfo = admin.call::<(), _>(
        Method::POST,
        &format!("/v1/automations/{}/{verb}", path_segment(name)),
        None,
    )?;
    if json {
        return print_json(&serde_json::to_value(&info)?);
    }
    if enabled {
        println!(
            "Enabled '{}': it acts on what happens from now on.",
            info.name
        );
    } else {
        println!(
            "Disabled '{}': nothing new fires, and its waiting deliveries pause until it is enabled.",
            info.name
        );
    }
    Ok(())
}

/// Percent-encodes a path segment or query value (names are plain, but
/// whatever is typed must not change the path).
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(path_segment("win-back_2"), "win-back_2");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
