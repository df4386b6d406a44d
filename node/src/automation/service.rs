//! The automation service: one task, on a thread of its own, that owns the
//! automations, the outbox, the to-dos and this shop's history, and a
//! cheap handle ([`AutomationHandle`]) the HTTP API talks to it through.
//!
//! The task (an actor: it owns its state, and a bounded mailbox of
//! requests with reply channels is the only way in) does, in turn:
//!
//! - **follow blocks**: every final block after the outbox's cursor is
//!   read from the store (a chain event only wakes it, so a lagging
//!   subscription or a restart misses nothing); the shop's history is
//!   updated from the head state, block-driven triggers run on the
//!   block's transactions and the time-driven ones on the customers the
//!   block touched, so a first purchase or a tier fires within seconds;
//! - **scan**: every [`AutomationConfig::scan_every`] (and at start) the
//!   time-driven triggers run over every customer of the shop: birthdays,
//!   points expiring, days since the last purchase, at risk, campaigns
//!   started;
//! - **dispatch**: due entries are checked against the customer's consent
//!   and run (webhook, e-mail and reward on tasks of their own, at most
//!   [`AutomationConfig::max_in_flight`]; a to-do at once); each result is
//!   written to the outbox.
//!
//! It runs on its own thread with a single-threaded runtime, like the
//! engine, so its file syncs never hold the threads that serve the API or
//! drive consensus.

use super::delivery::{self, Outcome, RetrySchedule};
use super::email::{self, SmtpConfig};
use super::endpoints::EndpointStore;
use super::facts::{CustomerFacts, CustomerScores};
use super::history::ShopHistory;
use super::outbox::{Change, Entry, EntryState, Outbox};
use super::spec::{Automation, AutomationFileStore, MAX_AUTOMATIONS};
use super::todo::{Todo, TodoStore};
use super::triggers::{self, Context, Customer};
use super::{AutomationError, DIR_NAME, report};
use crate::handle::{Grant, NodeHandle, SubmitError, Submitted};
use guild_api::automation::{
    Action, AttemptInfo, AutomationInfo, AutomationReport, Automations, CreatedWebhook, Deliveries,
    DeliveryInfo, DeliveryStatus, EventData, Explanation, Figures, NewAutomation, NewWebhook,
    RewardKind, TodoInfo, Todos, Trigger, WebhookInfo, WebhookPayload, Webhooks, consents, render,
};
use guild_ledger::crypto::Address;
use guild_ledger::error::TxError;
use guild_ledger::state::State;
use guild_ledger::tx::{Transaction, TxId};
use guild_ledger::types::{Height, MS_PER_DAY, ReceiptHash, Timestamp};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, oneshot};

/// Blocks processed per step (more wait for the next step).
const BLOCKS_PER_STEP: u64 = 100;
/// The cursor of blocks that fired nothing is written at most this often.
const CURSOR_EVERY: Duration = Duration::from_secs(10);
/// How often the outbox is pruned and compacted if need be.
const MAINTAIN_EVERY: Duration = Duration::from_secs(3600);
/// After a failed journal write, an entry is not tried again for this long.
const HOLD_AFTER_FAILURE: Duration = Duration::from_secs(10);
/// How long a reward waits to be final before the attempt counts as
/// "not yet".
const GRANT_WAIT: Duration = Duration::from_secs(30);
/// The most deliveries one answer lists.
pub const MAX_DELIVERIES_LISTED: usize = 500;
/// Requests waiting in the mailbox.
const MAILBOX: usize = 64;

/// How the service runs.
#[derive(Clone, Debug)]
pub struct AutomationConfig {
    /// When to retry failed deliveries.
    pub retry: RetrySchedule,
    /// How often the time-driven triggers run over every customer.
    pub scan_every: Duration,
    /// How often blocks and due deliveries are looked at without a wake-up.
    pub tick: Duration,
    /// The most actions running at once.
    pub max_in_flight: usize,
}

impl Default for AutomationConfig {
    fn default() -> AutomationConfig {
        AutomationConfig {
            retry: RetrySchedule::default(),
            scan_every: Duration::from_secs(60),
            tick: Duration::from_millis(500),
            max_in_flight: delivery::MAX_IN_FLIGHT,
        }
    }
}

/// Which deliveries to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only this status.
    pub status: Option<DeliveryStatus>,
    /// Only this automation.
    pub automation: Option<String>,
    /// Only this customer.
    pub customer: Option<Address>,
    /// At most this many (capped at [`MAX_DELIVERIES_LISTED`]).
    pub limit: usize,
}

type Reply<T> = oneshot::Sender<Result<T, AutomationError>>;

enum Message {
    List(Reply<Automations>),
    Add(Box<NewAutomation>, Reply<AutomationInfo>),
    Remove(String, Reply<AutomationInfo>),
    SetEnabled(String, bool, Reply<AutomationInfo>),
    Deliveries(DeliveryQuery, Reply<Deliveries>),
    Todos(bool, Reply<Todos>),
    TodoDone(String, Reply<TodoInfo>),
    Report(Reply<AutomationReport>),
    AddWebhook(NewWebhook, Reply<CreatedWebhook>),
    Webhooks(Reply<Webhooks>),
    RemoveWebhook(String, Reply<WebhookInfo>),
    Forget(Address, Reply<usize>),
}

/// A handle on the running service (cheap to clone).
#[derive(Clone, Debug)]
pub struct AutomationHandle {
    mailbox: mpsc::Sender<Message>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Message")
    }
}

impl AutomationHandle {
    async fn ask<T>(&self, make: impl FnOnce(Reply<T>) -> Message) -> Result<T, AutomationError> {
        let (reply, answer) = oneshot::channel();
        self.mailbox
            .send(make(reply))
            .await
            .map_err(|_| AutomationError::NotRunning)?;
        answer.await.map_err(|_| AutomationError::NotRunning)?
    }

    /// Every automation.
    pub async fn list(&self) -> Result<Automations, AutomationError> {
        self.ask(Message::List).await
    }

    /// Adds an automation.
    pub async fn add(&self, spec: NewAutomation) -> Result<AutomationInfo, AutomationError> {
        self.ask(|r| Message::Add(Box::new(spec), r)).await
    }

    /// Removes an automation; what is still waiting of it is cancelled.
    pub async fn remove(&self, name: &str) -> Result<AutomationInfo, AutomationError> {
        self.ask(|r| Message::Remove(name.to_string(), r)).await
    }

    /// Enables (from now on) or disables (waiting deliveries pause) an
    /// automation.
    pub async fn set_enabled(
        &self,
        name: &str,
        enabled: bool,
    ) -> Result<AutomationInfo, AutomationError> {
        self.ask(|r| Message::SetEnabled(name.to_string(), enabled, r))
            .await
    }

    /// The delivery log, newest first.
    pub async fn deliveries(&self, query: DeliveryQuery) -> Result<Deliveries, AutomationError> {
        self.ask(|r| Message::Deliveries(query, r)).await
    }

    /// The to-dos (open ones; with `all`, done ones too).
    pub async fn todos(&self, all: bool) -> Result<Todos, AutomationError> {
        self.ask(|r| Message::Todos(all, r)).await
    }

    /// Marks a to-do done.
    pub async fn todo_done(&self, id: &str) -> Result<TodoInfo, AutomationError> {
        self.ask(|r| Message::TodoDone(id.to_string(), r)).await
    }

    /// The automation report.
    pub async fn report(&self) -> Result<AutomationReport, AutomationError> {
        self.ask(Message::Report).await
    }

    /// Adds a webhook endpoint; the answer holds its secret (shown once).
    pub async fn add_webhook(
        &self,
        request: NewWebhook,
    ) -> Result<CreatedWebhook, AutomationError> {
        self.ask(|r| Message::AddWebhook(request, r)).await
    }

    /// The webhook endpoints.
    pub async fn webhooks(&self) -> Result<Webhooks, AutomationError> {
        self.ask(Message::Webhooks).await
    }

    /// Removes a webhook endpoint no automation uses.
    pub async fn remove_webhook(&self, id: &str) -> Result<WebhookInfo, AutomationError> {
        self.ask(|r| Message::RemoveWebhook(id.to_string(), r))
            .await
    }

    /// Erases everything the automations keep about `customer` (outbox
    /// entries with their delivery log lines, to-dos): the directory's
    /// erasure handler. Returns how many records were erased.
    pub async fn forget(&self, customer: Address) -> Result<usize, AutomationError> {
        self.ask(|r| Message::Forget(customer, r)).await
    }
}

/// The running service.
#[derive(Debug)]
pub struct Running {
    /// Its handle.
    pub handle: AutomationHandle,
    stop: Option<oneshot::Sender<()>>,
    done: Option<oneshot::Receiver<()>>,
}

impl Running {
    /// Stops the service (deliveries in flight are abandoned: they are
    /// still waiting in the outbox and are tried again at the next start).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(done) = self.done.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), done).await;
        }
    }
}

/// Starts the service over the data directory `data_dir` (its files are
/// in `data_dir/automation/`) on a thread of its own.
pub fn start(
    data_dir: &Path,
    node: NodeHandle,
    facts: Arc<dyn CustomerFacts>,
    scores: Arc<dyn CustomerScores>,
    config: AutomationConfig,
) -> Result<Running, AutomationError> {
    let dir = data_dir.join(DIR_NAME);
    std::fs::create_dir_all(&dir).map_err(|source| AutomationError::Io {
        path: dir.clone(),
        action: "create",
        source,
    })?;
    let file = AutomationFileStore::new(&dir);
    let automations = file.load()?;
    let endpoints = EndpointStore::new(&dir);
    endpoints.load()?;
    let mut outbox = Outbox::open(&dir)?;
    outbox.maintain(guild_os::clock::now_ms())?;
    let todos = TodoStore::open(&dir)?;
    let view = node.view();
    let history = ShopHistory::build(&view.state, view.member);
    let head = view.head.height;
    let processed = match outbox.cursor() {
        Some(cursor) if cursor <= head => cursor,
        Some(cursor) => {
            tracing::warn!(%cursor, %head, "the automation cursor is past the chain's head; following from the head");
            head
        }
        None => {
            // A new outbox acts on blocks from now on.
            outbox.commit(vec![Change::Cursor { height: head }])?;
            head
        }
    };
    let (results_tx, results_rx) = mpsc::channel(config.max_in_flight.max(1) * 2);
    let service = Service {
        dir,
        node,
        facts,
        scores,
        config,
        automations,
        file,
        endpoints,
        outbox,
        todos,
        history,
        processed,
        durable: processed,
        cursor_written: Instant::now(),
        in_flight: HashSet::new(),
        hold: HashMap::new(),
        results: results_tx,
        client: delivery::http_client(),
        last_scan: None,
        last_maintain: Instant::now(),
    };
    let (mailbox_tx, mailbox_rx) = mpsc::channel(MAILBOX);
    let (stop_tx, stop_rx) = oneshot::channel();
    let (done_tx, done_rx) = oneshot::channel();
    let io = |source| AutomationError::Io {
        path: PathBuf::from(DIR_NAME),
        action: "start the automation service for",
        source,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    std::thread::Builder::new()
        .name("guild-automation".into())
        .spawn(move || {
            runtime.block_on(service.run(mailbox_rx, results_rx, stop_rx));
            let _ = done_tx.send(());
        })
        .map_err(io)?;
    Ok(Running {
        handle: AutomationHandle {
            mailbox: mailbox_tx,
        },
        stop: Some(stop_tx),
        done: Some(done_rx),
    })
}

struct Service {
    dir: PathBuf,
    node: NodeHandle,
    facts: Arc<dyn CustomerFacts>,
    scores: Arc<dyn CustomerScores>,
    config: AutomationConfig,
    automations: Vec<Automation>,
    file: AutomationFileStore,
    endpoints: EndpointStore,
    outbox: Outbox,
    todos: TodoStore,
    history: ShopHistory,
    /// Blocks processed (in memory).
    processed: Height,
    /// Blocks processed, as the journal says.
    durable: Height,
    cursor_written: Instant,
    in_flight: HashSet<String>,
    /// Entries not to try before an instant (a journal write failed).
    hold: HashMap<String, u64>,
    results: mpsc::Sender<(String, Outcome)>,
    client: reqwest::Client,
    last_scan: Option<Instant>,
    last_maintain: Instant,
}

fn now_ms() -> u64 {
    guild_os::clock::now_ms()
}

impl Service {
    async fn run(
        mut self,
        mut mailbox: mpsc::Receiver<Message>,
        mut results: mpsc::Receiver<(String, Outcome)>,
        mut stop: oneshot::Receiver<()>,
    ) {
        let mut events = self.node.subscribe();
        let mut events_open = true;
        let mut tick = tokio::time::interval(self.config.tick);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        tracing::info!(automations = self.automations.len(), waiting = self.outbox.waiting(), cursor = %self.processed, "automation service started");
        loop {
            tokio::select! {
                _ = &mut stop => break,
                message = mailbox.recv() => match message {
                    Some(message) => self.on_message(message),
                    None => break,
                },
                Some((id, outcome)) = results.recv() => {
                    self.on_result(&id, outcome);
                    self.dispatch();
                }
                event = events.recv(), if events_open => {
                    match event {
                        Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                        Err(broadcast::error::RecvError::Closed) => events_open = false,
                    }
                    self.follow_blocks();
                    self.dispatch();
                }
                _ = tick.tick() => self.on_tick(),
            }
        }
        self.write_cursor(true);
        tracing::info!("automation service stopped");
    }

    fn on_tick(&mut self) {
        self.follow_blocks();
        let scan_due = self
            .last_scan
            .is_none_or(|at| at.elapsed() >= self.config.scan_every);
        if scan_due {
            self.scan();
            self.last_scan = Some(Instant::now());
        }
        self.dispatch();
        self.write_cursor(false);
        if self.last_maintain.elapsed() >= MAINTAIN_EVERY {
            if let Err(error) = self.outbox.maintain(now_ms()) {
                tracing::error!(%error, "cannot compact the automation outbox");
            }
            self.last_maintain = Instant::now();
        }
    }

    fn commit(&mut self, changes: Vec<Change>) -> bool {
        match self.outbox.commit(changes) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(%error, "cannot write the automation outbox; will try again");
                false
            }
        }
    }

    /// Writes the cursor of processed blocks that fired nothing (now if
    /// `force`, else at most every [`CURSOR_EVERY`]).
    fn write_cursor(&mut self, force: bool) {
        if self.processed > self.durable && (force || self.cursor_written.elapsed() >= CURSOR_EVERY)
        {
            let height = self.processed;
            if self.commit(vec![Change::Cursor { height }]) {
                self.durable = height;
                self.cursor_written = Instant::now();
            }
        }
    }
}

mod dispatch;
mod firing;
mod requests;

pub use dispatch::{outcome_changes, rfc3339, short_address};
pub use requests::delivery_info;

#[cfg(test)]
mod tests;
