//! Automated journeys: a shop's automations (trigger → condition →
//! action), run by its own node.
//!
//! ## The idea
//!
//! An automation says *when* (a trigger: points earned, a tier reached, a
//! birthday, N days without a purchase, …), *for whom* (a condition:
//! segments, tiers, a minimum balance) and *what* (an action: a signed
//! webhook, an e-mail, a reward on the ledger, a to-do for the staff).
//! The node decides what fired, writes it to a durable outbox, and then
//! acts, retrying until it is done:
//!
//! ```text
//!  final blocks ──▶ triggers (pure) ──▶ conditions, consent, holdout ──▶ outbox (journal, fsync)
//!  scan / minute ──┘                                                        │
//!                                     delivery worker ◀────────────────────┘
//!                       consent at send time · webhook (signed) · e-mail · reward (ledger) · to-do
//! ```
//!
//! ## Guarantees
//!
//! - **Triggered exactly once per cause.** Each event's id is a hash of
//!   the automation's name and its cause (`birthday/<customer>/<year>`,
//!   `expiry/<customer>/<lot>`, …: [`triggers`]); the outbox refuses an id
//!   it has seen ([`outbox`]).
//! - **Never lost, done at least once.** An event is on disk (fsync)
//!   before anything is done about it, and the block cursor moves only in
//!   the same write as the events of its blocks. A `kill -9` or a power cut
//!   loses nothing written; at restart the journal is replayed, blocks
//!   after the cursor are processed again (their events are dropped as
//!   repeats) and waiting deliveries resume. A receiver may see an event
//!   twice (a crash between its 2xx and the journal's record of it): the
//!   `webhook-id` header is the same, so it drops the repeat.
//! - **Consent first.** An action that contacts the customer (webhook,
//!   e-mail, to-do) needs their consent to messages; one decided by
//!   segments or scores needs consent to profiling. Both are checked when
//!   the event fires *and again when it is sent*: a withdrawn consent
//!   cancels what is still waiting, with the reason in the log.
//! - **Explainable.** Every event carries which trigger and rule fired
//!   it, which conditions held, the customer's segment, tier and score,
//!   with the figures ([`guild_api::automation::Explanation`]).
//! - **Measurable and fair.** A holdout share of eligible customers is
//!   left out by a stable draw ([`report::held_out`]); the report shows
//!   events and rewards by segment and tier, and what the treated and
//!   held-out customers bought afterwards.
//! - **Bounded.** Automations, endpoints, waiting events, to-dos, actions
//!   in flight, files read and answers logged all have limits; a full
//!   outbox holds the block cursor back (nothing is dropped) until it
//!   drains.
//!
//! ## Layout (one job per file)
//!
//! [`spec`] the stored automations; [`endpoints`] webhook endpoints and
//! their secrets; [`facts`] consent, birthdays, names and scores behind
//! traits; [`history`] this shop's customers from its receipts;
//! [`triggers`] what fired (pure); [`outbox`] the journal; [`webhook`]
//! Standard Webhooks signatures; [`delivery`] the retry schedule and the
//! POST; [`email`] SMTP; [`todo`] staff to-dos; [`report`] the report and
//! the holdout; [`service`] the task that runs it all, and its handle for
//! the HTTP API. The reward action's transaction is made in
//! `engine/grant.rs`.
//!
//! All files live in `<data dir>/automation/`. See `docs/automation.md`.

pub mod delivery;
pub mod email;
pub mod endpoints;
pub mod facts;
pub mod history;
pub mod outbox;
pub mod report;
pub mod service;
pub mod sources;
pub mod spec;
pub mod todo;
pub mod triggers;
pub mod webhook;

pub use facts::{CustomerFacts, CustomerScores, NoScores};
pub use service::{AutomationConfig, AutomationHandle, DeliveryQuery, Running};
pub use sources::{AutomationErasure, DirectoryFacts, InsightScores};
pub use triggers::event_id;

use guild_api::automation::SpecError;
use guild_os::durable::DurableError;
use std::path::PathBuf;

/// The automation directory's name in the data directory.
pub const DIR_NAME: &str = "automation";

/// Why an automation request was refused, or the service failed.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    /// The automation is not valid.
    #[error(transparent)]
    Invalid(#[from] SpecError),
    /// An automation with this name exists.
    #[error(
        "an automation named '{name}' exists already: choose another name, or remove it first with `guild automation remove {name}`"
    )]
    DuplicateName {
        /// The name.
        name: String,
    },
    /// No automation with this name.
    #[error("no automation is named '{name}': `guild automation list` shows them")]
    UnknownAutomation {
        /// The name.
        name: String,
    },
    /// No webhook endpoint with this id.
    #[error("no webhook endpoint has the id '{id}': `guild automation webhook list` shows them")]
    UnknownWebhook {
        /// The id.
        id: String,
    },
    /// The endpoint is named by automations.
    #[error(
        "webhook endpoint {id} is used by {}: remove or change them first",
        automations.join(", ")
    )]
    WebhookInUse {
        /// The id.
        id: String,
        /// The automations using it.
        automations: Vec<String>,
    },
    /// No to-do with this id.
    #[error("no to-do has the id '{id}': `guild automation todos` lists them")]
    UnknownTodo {
        /// The id.
        id: String,
    },
    /// A receiver URL that cannot be used.
    #[error("'{url}' cannot receive webhooks: {reason}")]
    BadUrl {
        /// The URL given (at most 120 characters of it).
        url: String,
        /// Why.
        reason: String,
    },
    /// A limit is reached.
    #[error("this node keeps at most {limit} {what}: remove some first")]
    Limit {
        /// What.
        what: &'static str,
        /// The limit.
        limit: usize,
    },
    /// E-mail actions need an SMTP server.
    #[error(
        "e-mail actions need the shop's SMTP server: write automation/smtp.json in the node's data directory (docs/automation.md shows how)"
    )]
    NoSmtp,
    /// The ledger cannot grant a campaign's reward yet.
    #[error(
        "campaign {campaign} is not an offer of this shop: publish one with `guild shop campaign publish --offer N …` (docs/rules.md, \"Offers\") and name its id"
    )]
    NotAnOffer {
        /// The campaign.
        campaign: guild_ledger::types::CampaignId,
    },
    /// The node runs without the shop's key.
    #[error(
        "this node runs without the shop's key (as an observer), so it has no customers to automate; start it with --key"
    )]
    NoShopKey,
    /// A file of the automation directory is not what this version reads.
    #[error("the automation file {path} is damaged ({reason}); restore it from a backup")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error(transparent)]
    File(#[from] DurableError),
    /// An operating-system error on a file.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// No randomness for a secret or an id.
    #[error("the system's random number generator failed")]
    Randomness(#[source] getrandom::Error),
    /// The automation service is not running (the node is stopping).
    #[error("the automation service is not running (the node is stopping)")]
    NotRunning,
}
