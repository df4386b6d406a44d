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

/// `2026-03-14T09:30:00.000Z` of an instant.
pub fn rfc3339(ms: u64) -> String {
    let day = ms / MS_PER_DAY;
    let (y, m, d) = triggers::civil(day);
    let in_day = ms % MS_PER_DAY;
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// The customer's address, shortened for people: `guild1abcdef…wxyz`.
pub fn short_address(address: &Address) -> String {
    let text = address.to_string();
    if text.len() <= 18 {
        return text;
    }
    format!("{}…{}", &text[..12], &text[text.len() - 4..])
}

/// `extra`'s figures, with `base`'s where `extra` has none.
fn merge(base: Figures, extra: Figures) -> Figures {
    Figures {
        points: extra.points.or(base.points),
        balance: extra.balance.or(base.balance),
        tier_points: extra.tier_points.or(base.tier_points),
        next_tier: extra.next_tier.or(base.next_tier),
        points_to_next_tier: extra.points_to_next_tier.or(base.points_to_next_tier),
        expires_at_ms: extra.expires_at_ms.or(base.expires_at_ms),
        days_since_last_purchase: extra
            .days_since_last_purchase
            .or(base.days_since_last_purchase),
        last_purchase: extra.last_purchase.or(base.last_purchase),
        spent: extra.spent.or(base.spent),
        purchases: extra.purchases.or(base.purchases),
        campaign: extra.campaign.or(base.campaign),
        campaign_name: extra.campaign_name.or(base.campaign_name),
        tx: extra.tx.or(base.tx),
        birthday: extra.birthday.or(base.birthday),
    }
}

/// What dispatching an entry comes to.
enum Prepared {
    /// Finished without an attempt (consent withdrawn, endpoint removed).
    Cancel(String),
    /// Done here and now (a to-do).
    Inline(Outcome),
    /// Run on a task of its own.
    Task(std::pin::Pin<Box<dyn std::future::Future<Output = Outcome> + Send>>),
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

    // ----- deciding what fired ------------------------------------------

    /// The customer as the triggers see them (segment and score only with
    /// consent to profiling).
    fn customer<'a>(&'a self, address: Address, profiling: bool) -> Customer<'a> {
        Customer {
            address,
            history: self.history.customer(&address),
            segment: profiling.then(|| self.scores.segment(&address)).flatten(),
            p_active: profiling.then(|| self.scores.p_active(&address)).flatten(),
            birthday: self.facts.birthday(&address),
        }
    }

    /// The outbox change for an occurrence, if it is new, the customer
    /// consented and the condition holds.
    fn admit(
        &self,
        automation: &Automation,
        ctx: &Context<'_>,
        occurrence: triggers::Occurrence,
        batch: &mut HashSet<String>,
    ) -> Option<Change> {
        let id = triggers::event_id(&automation.name, &occurrence.cause);
        if self.outbox.contains(&id) || batch.contains(&id) {
            return None;
        }
        let given = self.facts.consents(&occurrence.customer);
        let needed = consents(
            &automation.trigger,
            &automation.condition,
            &automation.action,
        );
        if !needed.iter().all(|kind| given.gives(*kind)) {
            return None;
        }
        let customer = self.customer(occurrence.customer, given.profiling);
        let conditions = triggers::check_condition(&automation.condition, ctx, &customer).ok()?;
        let held_out = report::held_out(
            &automation.name,
            &occurrence.customer,
            automation.holdout_permille,
        );
        let (tier, _) = ctx.state.tier_of(&occurrence.customer, ctx.now);
        let explanation = Explanation {
            trigger: automation.trigger.to_string(),
            summary: occurrence.summary,
            conditions,
            segment: customer.segment,
            tier: tier.map(|t| t.name.clone()),
            p_active: customer.p_active,
            figures: merge(triggers::common_figures(ctx, &customer), occurrence.figures),
        };
        batch.insert(id.clone());
        Some(Change::Enqueued {
            entry: Box::new(Entry {
                id,
                automation: automation.name.clone(),
                event_type: automation.trigger.event_type(),
                action: automation.action.clone(),
                customer: occurrence.customer,
                cause: occurrence.cause,
                created_ms: now_ms(),
                time_ms: occurrence.time_ms,
                held_out,
                explanation,
            }),
        })
    }

    /// The time-driven occurrences of `automation` for `customers`.
    fn customer_changes(
        &self,
        automation: &Automation,
        ctx: &Context<'_>,
        customers: &[Address],
        batch: &mut HashSet<String>,
        room: &mut usize,
    ) -> Vec<Change> {
        let mut changes = Vec::new();
        for address in customers {
            if *room == 0 {
                break;
            }
            let profiling = self.facts.consents(address).profiling;
            let customer = self.customer(*address, profiling);
            for occurrence in triggers::customer_occurrences(automation, ctx, &customer) {
                if let Some(change) = self.admit(automation, ctx, occurrence, batch) {
                    changes.push(change);
                    *room = room.saturating_sub(1);
                }
            }
        }
        changes
    }

    /// Processes final blocks after the cursor.
    fn follow_blocks(&mut self) {
        let view = self.node.view();
        let head = view.head.height;
        if head <= self.processed {
            return;
        }
        let shop = view.member;
        let now = Timestamp(now_ms());
        let chain_id = self.node.chain_id.clone();
        let mut changes = Vec::new();
        let mut batch = HashSet::new();
        let mut room = self.outbox.room();
        let mut last = self.processed;
        let until = head.0.min(self.processed.0.saturating_add(BLOCKS_PER_STEP));
        for h in self.processed.0 + 1..=until {
            let block = match self.node.store.block(Height(h)) {
                Ok(Some(block)) => block,
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(%error, height = h, "cannot read a final block for the automations");
                    break;
                }
            };
            let txs: Vec<(TxId, &Transaction)> = block
                .block
                .txs
                .iter()
                .map(|signed| (signed.tx.id(&chain_id), &signed.tx))
                .collect();
            let touched = self
                .history
                .update(&view.state, txs.iter().map(|(_, tx)| *tx));
            let mut block_changes = Vec::new();
            if let Some(shop) = shop {
                let ctx = Context::new(&view.state, shop, now);
                for automation in self.automations.iter().filter(|a| a.enabled) {
                    for occurrence in triggers::block_occurrences(
                        automation,
                        shop,
                        Height(h),
                        block.block.header.time,
                        &txs,
                    ) {
                        if let Some(change) = self.admit(automation, &ctx, occurrence, &mut batch) {
                            block_changes.push(change);
                        }
                    }
                    if !matches!(
                        automation.trigger,
                        Trigger::PointsEarned { .. } | Trigger::CampaignStarted { .. }
                    ) {
                        let mut unbounded = usize::MAX;
                        block_changes.extend(self.customer_changes(
                            automation,
                            &ctx,
                            &touched,
                            &mut batch,
                            &mut unbounded,
                        ));
                    }
                }
            }
            if block_changes.len() > room {
                tracing::warn!(
                    waiting = self.outbox.waiting(),
                    "the automation outbox is full; following blocks again once deliveries drain"
                );
                break;
            }
            room -= block_changes.len();
            changes.extend(block_changes);
            last = Height(h);
        }
        if last == self.processed {
            return;
        }
        if changes.is_empty() {
            self.processed = last;
            return;
        }
        changes.push(Change::Cursor { height: last });
        if self.commit(changes) {
            self.processed = last;
            self.durable = last;
            self.cursor_written = Instant::now();
        }
    }

    /// Runs the time-driven triggers over every customer of the shop.
    fn scan(&mut self) {
        let view = self.node.view();
        let Some(shop) = view.member else {
            return;
        };
        // The history follows the head exactly at every scan.
        self.history = ShopHistory::build(&view.state, Some(shop));
        let ctx = Context::new(&view.state, shop, Timestamp(now_ms()));
        let customers = self.history.customers();
        let mut changes = Vec::new();
        let mut batch = HashSet::new();
        let mut room = self.outbox.room();
        for automation in self.automations.iter().filter(|a| a.enabled) {
            match &automation.trigger {
                Trigger::PointsEarned { .. } => {}
                Trigger::CampaignStarted { .. } => {
                    for started in triggers::started_campaigns(automation, &ctx) {
                        for customer in &customers {
                            if room == 0 {
                                break;
                            }
                            let occurrence =
                                triggers::campaign_occurrence(&ctx, *customer, &started);
                            if let Some(change) =
                                self.admit(automation, &ctx, occurrence, &mut batch)
                            {
                                changes.push(change);
                                room -= 1;
                            }
                        }
                    }
                }
                Trigger::Birthday => {
                    let candidates = self.birthday_candidates(ctx.today);
                    changes.extend(self.customer_changes(
                        automation,
                        &ctx,
                        &candidates,
                        &mut batch,
                        &mut room,
                    ));
                }
                _ => changes.extend(
                    self.customer_changes(automation, &ctx, &customers, &mut batch, &mut room),
                ),
            }
        }
        if room == 0 {
            tracing::warn!("the automation outbox is full; the scan goes on once deliveries drain");
        }
        self.commit(changes);
    }

    /// Customers whose birthday is today or in the grace days before.
    fn birthday_candidates(&self, today: u64) -> Vec<Address> {
        let mut found = Vec::new();
        for day in today.saturating_sub(triggers::BIRTHDAY_GRACE_DAYS)..=today {
            let (_, month, date) = triggers::civil(day);
            found.extend(self.facts.birthdays_on(month, date));
            if (month, date) == (2, 28) {
                found.extend(self.facts.birthdays_on(2, 29));
            }
        }
        found.sort();
        found.dedup();
        found
    }

    // ----- doing it -----------------------------------------------------

    /// Starts the due deliveries, up to the limit in flight.
    fn dispatch(&mut self) {
        let free = self
            .config
            .max_in_flight
            .saturating_sub(self.in_flight.len());
        if free == 0 {
            return;
        }
        let now = now_ms();
        self.hold.retain(|_, until| *until > now);
        let paused: HashSet<&str> = self
            .automations
            .iter()
            .filter(|a| !a.enabled)
            .map(|a| a.name.as_str())
            .collect();
        let due = {
            let in_flight = &self.in_flight;
            let hold = &self.hold;
            self.outbox.due(now, free, |e| {
                in_flight.contains(&e.id)
                    || hold.contains_key(&e.id)
                    || paused.contains(e.automation.as_str())
            })
        };
        let mut changes = Vec::new();
        let mut inline = Vec::new();
        for entry in due {
            match self.prepare(&entry) {
                Prepared::Cancel(reason) => {
                    tracing::info!(id = %entry.id, automation = %entry.automation, %reason, "automation event cancelled");
                    changes.push(Change::Finished {
                        id: entry.id.clone(),
                        at_ms: now,
                        status: DeliveryStatus::Cancelled,
                        outcome: reason,
                        reward_points: None,
                    });
                }
                Prepared::Inline(outcome) => inline.push((entry.id.clone(), outcome)),
                Prepared::Task(job) => {
                    self.in_flight.insert(entry.id.clone());
                    let results = self.results.clone();
                    let id = entry.id.clone();
                    tokio::spawn(async move {
                        let outcome = job.await;
                        let _ = results.send((id, outcome)).await;
                    });
                }
            }
        }
        if !changes.is_empty() && !self.commit(changes.clone()) {
            for change in changes {
                if let Change::Finished { id, .. } = change {
                    self.hold
                        .insert(id, now + HOLD_AFTER_FAILURE.as_millis() as u64);
                }
            }
        }
        for (id, outcome) in inline {
            self.on_result(&id, outcome);
        }
    }

    /// Checks an entry at send time and says how to do it.
    fn prepare(&mut self, entry: &Entry) -> Prepared {
        let Some(automation) = self.automations.iter().find(|a| a.name == entry.automation) else {
            return Prepared::Cancel(format!("the automation {} was removed", entry.automation));
        };
        let needed = consents(&automation.trigger, &automation.condition, &entry.action);
        let given = self.facts.consents(&entry.customer);
        if let Some(kind) = needed.iter().find(|kind| !given.gives(**kind)) {
            return Prepared::Cancel(format!(
                "the customer has not given (or has withdrawn) consent to {kind}"
            ));
        }
        let view = self.node.view();
        let Some(shop) = view.member else {
            return Prepared::Cancel("this node runs without the shop's key".into());
        };
        match &entry.action {
            Action::Webhook { endpoint } => {
                let endpoints = match self.endpoints.load() {
                    Ok(endpoints) => endpoints,
                    Err(error) => {
                        return Prepared::Inline(Outcome::Retry {
                            detail: format!("cannot read the webhook endpoints: {error}"),
                            http_status: None,
                        });
                    }
                };
                let Some(found) = endpoints.into_iter().find(|e| e.id == *endpoint) else {
                    return Prepared::Cancel(format!(
                        "the webhook endpoint {endpoint} was removed"
                    ));
                };
                let secret = match found.secret() {
                    Ok(secret) => secret,
                    Err(error) => return Prepared::Cancel(error.to_string()),
                };
                let payload = self.payload(entry, &view.state, shop);
                let body = match serde_json::to_vec(&payload) {
                    Ok(body) => body,
                    Err(error) => {
                        return Prepared::Cancel(format!("cannot encode the event: {error}"));
                    }
                };
                let client = self.client.clone();
                let id = entry.id.clone();
                Prepared::Task(Box::pin(async move {
                    let timestamp = now_ms() / 1000;
                    delivery::post_webhook(&client, &found.url, &secret, &id, timestamp, body).await
                }))
            }
            Action::Email { subject, body } => {
                let config = match SmtpConfig::load(&self.dir) {
                    Ok(Some(config)) => config,
                    Ok(None) => return Prepared::Cancel(AutomationError::NoSmtp.to_string()),
                    Err(error) => {
                        return Prepared::Inline(Outcome::Retry {
                            detail: error.to_string(),
                            http_status: None,
                        });
                    }
                };
                let Some(address) = self.facts.email(&entry.customer) else {
                    return Prepared::Cancel(
                        "the directory has no e-mail address for the customer".into(),
                    );
                };
                let name = self.facts.name(&entry.customer);
                let subject = self.fill(subject, entry, &view.state, shop);
                let text = self.fill(body, entry, &view.state, shop);
                let message = match email::message(
                    &config,
                    name.as_deref(),
                    &address,
                    &subject,
                    &text,
                    &entry.id,
                ) {
                    Ok(message) => message,
                    Err(reason) => return Prepared::Cancel(reason),
                };
                let dir = self.dir.clone();
                Prepared::Task(Box::pin(async move {
                    email::send(&config, &dir, message).await
                }))
            }
            Action::Reward { reward } => {
                let node = self.node.clone();
                let customer = entry.customer;
                let receipt = ReceiptHash::new(&shop, &format!("automation:{}", entry.id));
                let (grant, what) = match reward {
                    RewardKind::Birthday => {
                        (Grant::Birthday { customer, receipt }, "birthday reward")
                    }
                    RewardKind::Campaign { campaign } => (
                        Grant::Offer {
                            campaign: *campaign,
                            customer,
                            receipt,
                        },
                        "offer",
                    ),
                };
                Prepared::Task(Box::pin(async move {
                    let result = node.grant(grant, Some(GRANT_WAIT)).await;
                    reward_outcome(result, &node, shop, receipt, what)
                }))
            }
            Action::Todo { text } => {
                let todo = Todo {
                    id: entry.id.clone(),
                    automation: entry.automation.clone(),
                    customer: entry.customer,
                    text: self.fill(text, entry, &view.state, shop),
                    created_ms: now_ms(),
                    done_ms: None,
                    explanation: entry.explanation.clone(),
                };
                Prepared::Inline(match self.todos.add(todo) {
                    Ok(super::todo::Added::New) => Outcome::Done {
                        detail: "to-do added".into(),
                        http_status: None,
                        points: None,
                    },
                    Ok(super::todo::Added::Already) => Outcome::Done {
                        detail: "to-do already added".into(),
                        http_status: None,
                        points: None,
                    },
                    Err(error) => Outcome::Retry {
                        detail: error.to_string(),
                        http_status: None,
                    },
                })
            }
        }
    }

    /// What a webhook receiver gets for `entry`.
    fn payload(&self, entry: &Entry, state: &State, shop: Address) -> WebhookPayload {
        WebhookPayload {
            event_type: entry.event_type,
            timestamp: rfc3339(entry.time_ms),
            data: EventData {
                id: entry.id.clone(),
                automation: entry.automation.clone(),
                cause: entry.cause.clone(),
                shop,
                shop_name: state
                    .member(&shop)
                    .map(|m| m.name.to_string())
                    .unwrap_or_default(),
                customer: entry.customer,
                customer_name: self.facts.name(&entry.customer),
                customer_email: self.facts.email(&entry.customer),
                time_ms: entry.time_ms,
                explanation: entry.explanation.clone(),
            },
        }
    }

    /// A template filled in with the entry's figures.
    fn fill(&self, template: &str, entry: &Entry, state: &State, shop: Address) -> String {
        let locale = &state.programme().locale;
        let e = &entry.explanation;
        let f = &e.figures;
        let name = self.facts.name(&entry.customer);
        render(template, |placeholder| match placeholder {
            "name" => Some(
                name.clone()
                    .unwrap_or_else(|| short_address(&entry.customer)),
            ),
            "shop" => state.member(&shop).map(|m| m.name.to_string()),
            "points" => f.points.map(|p| p.0.to_string()),
            "balance" => f.balance.map(|p| p.0.to_string()),
            "tier" => Some(
                e.tier
                    .as_ref()
                    .map_or("no tier".to_string(), |t| t.to_string()),
            ),
            "next_tier" => f.next_tier.as_ref().map(|t| t.to_string()),
            "points_to_next_tier" => f.points_to_next_tier.map(|p| p.0.to_string()),
            "segment" => e.segment.map(|s| s.label().to_string()),
            "days" => f.days_since_last_purchase.map(|d| d.to_string()),
            "weeks" => f.days_since_last_purchase.map(|d| (d / 7).to_string()),
            "last_visit" => f.last_purchase.clone(),
            "spent" => f.spent.map(|c| locale.money(c)),
            "expires" => f
                .expires_at_ms
                .map(|ms| triggers::date_text(locale.local(Timestamp(ms)).day)),
            "campaign" => f.campaign_name.clone(),
            "automation" => Some(entry.automation.clone()),
            _ => None,
        })
    }

    /// Records an attempt's outcome.
    fn on_result(&mut self, id: &str, outcome: Outcome) {
        self.in_flight.remove(id);
        let Some(state) = self.outbox.get(id) else {
            return;
        };
        let changes = outcome_changes(&self.config.retry, state, outcome, now_ms());
        if !self.commit(changes) {
            self.hold.insert(
                id.to_string(),
                now_ms() + HOLD_AFTER_FAILURE.as_millis() as u64,
            );
        }
    }

    // ----- requests -----------------------------------------------------

    fn on_message(&mut self, message: Message) {
        match message {
            Message::List(reply) => {
                let _ = reply.send(Ok(Automations {
                    automations: self.automations.iter().map(Automation::info).collect(),
                }));
            }
            Message::Add(spec, reply) => {
                let _ = reply.send(self.add(*spec));
            }
            Message::Remove(name, reply) => {
                let _ = reply.send(self.remove(&name));
            }
            Message::SetEnabled(name, enabled, reply) => {
                let _ = reply.send(self.set_enabled(&name, enabled));
            }
            Message::Deliveries(query, reply) => {
                let _ = reply.send(Ok(self.deliveries(&query)));
            }
            Message::Todos(all, reply) => {
                let _ = reply.send(Ok(Todos {
                    todos: self.todos.list(all).iter().map(Todo::info).collect(),
                }));
            }
            Message::TodoDone(id, reply) => {
                let _ = reply.send(self.todos.done(&id, now_ms()).map(|t| t.info()));
            }
            Message::Report(reply) => {
                let view = self.node.view();
                let locale = view.state.programme().locale.clone();
                let now = now_ms();
                let today = locale.local(Timestamp(now)).day;
                let _ = reply.send(Ok(report::report(
                    self.outbox.entries(),
                    &self.automations,
                    &self.history,
                    |ms| locale.local(Timestamp(ms)).day,
                    today,
                    now,
                )));
            }
            Message::AddWebhook(request, reply) => {
                let _ = reply.send(self.endpoints.add(&request, now_ms()).map(
                    |(endpoint, secret)| CreatedWebhook {
                        webhook: endpoint.info(),
                        secret: secret.reveal(),
                    },
                ));
            }
            Message::Webhooks(reply) => {
                let _ = reply.send(self.endpoints.load().map(|all| Webhooks {
                    webhooks: all.iter().map(|e| e.info()).collect(),
                }));
            }
            Message::RemoveWebhook(id, reply) => {
                let users: Vec<String> = self
                    .automations
                    .iter()
                    .filter(
                        |a| matches!(&a.action, Action::Webhook { endpoint } if *endpoint == id),
                    )
                    .map(|a| a.name.clone())
                    .collect();
                let result = if users.is_empty() {
                    self.endpoints.remove(&id).map(|e| e.info())
                } else {
                    Err(AutomationError::WebhookInUse {
                        id,
                        automations: users,
                    })
                };
                let _ = reply.send(result);
            }
            Message::Forget(customer, reply) => {
                let result = self
                    .outbox
                    .forget(customer, now_ms())
                    .and_then(|n| Ok(n + self.todos.forget(&customer)?));
                let _ = reply.send(result);
            }
        }
    }

    fn add(&mut self, spec: NewAutomation) -> Result<AutomationInfo, AutomationError> {
        spec.validate()?;
        let view = self.node.view();
        if view.member.is_none() {
            return Err(AutomationError::NoShopKey);
        }
        if self.automations.iter().any(|a| a.name == spec.name) {
            return Err(AutomationError::DuplicateName { name: spec.name });
        }
        if self.automations.len() >= MAX_AUTOMATIONS {
            return Err(AutomationError::Limit {
                what: "automations",
                limit: MAX_AUTOMATIONS,
            });
        }
        match &spec.action {
            Action::Webhook { endpoint } => {
                if !self.endpoints.load()?.iter().any(|e| e.id == *endpoint) {
                    return Err(AutomationError::UnknownWebhook {
                        id: endpoint.clone(),
                    });
                }
            }
            Action::Email { .. } => {
                if SmtpConfig::load(&self.dir)?.is_none() {
                    return Err(AutomationError::NoSmtp);
                }
            }
            Action::Reward {
                reward: RewardKind::Campaign { campaign },
            } => {
                let offer = view.state.campaign(*campaign).filter(|c| c.spec.is_offer());
                match offer {
                    None => {
                        return Err(AutomationError::NotAnOffer {
                            campaign: *campaign,
                        });
                    }
                    Some(c) if !view.member.is_some_and(|me| c.spec.funded_by(&me)) => {
                        return Err(AutomationError::NotAnOffer {
                            campaign: *campaign,
                        });
                    }
                    Some(_) => {}
                }
            }
            Action::Reward { .. } | Action::Todo { .. } => {}
        }
        let automation = Automation::new(spec, now_ms(), view.head.height);
        let mut all = self.automations.clone();
        all.push(automation.clone());
        all.sort_by(|a, b| a.name.cmp(&b.name));
        self.file.save(&all)?;
        self.automations = all;
        tracing::info!(name = %automation.name, trigger = %automation.trigger, action = %automation.action, "automation added");
        Ok(automation.info())
    }

    fn remove(&mut self, name: &str) -> Result<AutomationInfo, AutomationError> {
        let index = self
            .automations
            .iter()
            .position(|a| a.name == name)
            .ok_or_else(|| AutomationError::UnknownAutomation { name: name.into() })?;
        let mut all = self.automations.clone();
        let removed = all.remove(index);
        self.file.save(&all)?;
        self.automations = all;
        let now = now_ms();
        let cancelled: Vec<Change> = self
            .outbox
            .waiting_of(name)
            .into_iter()
            .filter(|id| !self.in_flight.contains(id))
            .map(|id| Change::Finished {
                id,
                at_ms: now,
                status: DeliveryStatus::Cancelled,
                outcome: format!("the automation {name} was removed"),
                reward_points: None,
            })
            .collect();
        self.commit(cancelled);
        Ok(removed.info())
    }

    fn set_enabled(
        &mut self,
        name: &str,
        enabled: bool,
    ) -> Result<AutomationInfo, AutomationError> {
        let head = self.node.view().head.height;
        let mut all = self.automations.clone();
        let automation = all
            .iter_mut()
            .find(|a| a.name == name)
            .ok_or_else(|| AutomationError::UnknownAutomation { name: name.into() })?;
        if enabled && !automation.enabled {
            automation.enabled_ms = now_ms();
            automation.enabled_height = head;
        }
        automation.enabled = enabled;
        let info = automation.info();
        self.file.save(&all)?;
        self.automations = all;
        Ok(info)
    }

    fn deliveries(&self, query: &DeliveryQuery) -> Deliveries {
        let limit = query.limit.clamp(1, MAX_DELIVERIES_LISTED);
        let mut matching: Vec<&EntryState> = self
            .outbox
            .entries()
            .filter(|s| query.status.is_none_or(|status| s.status == status))
            .filter(|s| {
                query
                    .automation
                    .as_ref()
                    .is_none_or(|name| s.entry.automation == *name)
            })
            .filter(|s| query.customer.is_none_or(|c| s.entry.customer == c))
            .collect();
        matching.sort_by(|a, b| {
            (b.entry.created_ms, &b.entry.id).cmp(&(a.entry.created_ms, &a.entry.id))
        });
        let all = || self.outbox.entries();
        Deliveries {
            waiting: all().filter(|s| s.is_waiting()).count() as u64,
            dead: all().filter(|s| s.status == DeliveryStatus::Dead).count() as u64,
            deliveries: matching
                .into_iter()
                .take(limit)
                .map(delivery_info)
                .collect(),
        }
    }
}

/// The delivery log's view of an entry.
pub fn delivery_info(state: &EntryState) -> DeliveryInfo {
    DeliveryInfo {
        id: state.entry.id.clone(),
        automation: state.entry.automation.clone(),
        event_type: state.entry.event_type,
        action: state.entry.action.to_string(),
        customer: state.entry.customer,
        cause: state.entry.cause.clone(),
        status: state.status,
        created_ms: state.entry.created_ms,
        next_attempt_ms: state.is_waiting().then_some(state.next_ms),
        attempt_count: state.attempt_count,
        attempts: state.attempts.iter().cloned().collect(),
        outcome: state.outcome.clone(),
        explanation: state.entry.explanation.clone(),
    }
}

/// The journal records of an attempt's `outcome` for `state`, at `now`:
/// delivered, retried by `retry` (or dead when it gives up), or cancelled.
pub fn outcome_changes(
    retry: &RetrySchedule,
    state: &EntryState,
    outcome: Outcome,
    now: u64,
) -> Vec<Change> {
    let id = state.entry.id.clone();
    match outcome {
        Outcome::Done {
            detail,
            http_status,
            points,
        } => vec![
            Change::Attempt {
                id: id.clone(),
                attempt: AttemptInfo {
                    at_ms: now,
                    ok: true,
                    http_status,
                    detail: detail.clone(),
                },
                next_ms: None,
            },
            Change::Finished {
                id,
                at_ms: now,
                status: DeliveryStatus::Delivered,
                outcome: detail,
                reward_points: points,
            },
        ],
        Outcome::Retry {
            detail,
            http_status,
        } => {
            let attempt = state.attempt_count.saturating_add(1);
            let next = retry.next(
                attempt,
                now,
                state.entry.created_ms,
                delivery::jitter_draw(),
            );
            let record = Change::Attempt {
                id: id.clone(),
                attempt: AttemptInfo {
                    at_ms: now,
                    ok: false,
                    http_status,
                    detail: detail.clone(),
                },
                next_ms: next,
            };
            match next {
                Some(_) => vec![record],
                None => vec![
                    record,
                    Change::Finished {
                        id,
                        at_ms: now,
                        status: DeliveryStatus::Dead,
                        outcome: format!(
                            "given up after {attempt} attempts over {} hours; the last: {detail}",
                            now.saturating_sub(state.entry.created_ms) / 3_600_000
                        ),
                        reward_points: None,
                    },
                ],
            }
        }
        Outcome::Cancel { reason } => vec![
            Change::Attempt {
                id: id.clone(),
                attempt: AttemptInfo {
                    at_ms: now,
                    ok: false,
                    http_status: None,
                    detail: reason.clone(),
                },
                next_ms: None,
            },
            Change::Finished {
                id,
                at_ms: now,
                status: DeliveryStatus::Cancelled,
                outcome: reason,
                reward_points: None,
            },
        ],
    }
}

/// What a reward's submission comes to.
fn reward_outcome(
    result: Result<Submitted, SubmitError>,
    node: &NodeHandle,
    shop: Address,
    receipt: ReceiptHash,
    what: &str,
) -> Outcome {
    let given = |tx: Option<TxId>, height: Option<Height>| {
        let state = &node.view().state;
        let points = state.receipt(&shop, &receipt).map(|r| r.points);
        Outcome::Done {
            detail: match (tx, height) {
                (Some(tx), Some(height)) => format!(
                    "{what} of {} points final (transaction {tx}, block {height})",
                    points.map_or(0, |p| p.0)
                ),
                _ => format!(
                    "{what} of {} points already given under this event's receipt",
                    points.map_or(0, |p| p.0)
                ),
            },
            http_status: None,
            points,
        }
    };
    match result {
        Ok(Submitted::Final { id, location }) => given(Some(id), Some(location.height)),
        Ok(Submitted::Pending { id }) => Outcome::Retry {
            detail: format!("transaction {id} is not final yet"),
            http_status: None,
        },
        Err(SubmitError::Rejected(TxError::DuplicateReceipt))
        | Err(SubmitError::Dropped(TxError::DuplicateReceipt)) => {
            if node.view().state.receipt(&shop, &receipt).is_some() {
                given(None, None)
            } else {
                Outcome::Retry {
                    detail: "an earlier grant of this event is waiting for a block".into(),
                    http_status: None,
                }
            }
        }
        Err(
            error @ (SubmitError::Busy { .. }
            | SubmitError::Stopped
            | SubmitError::Rejected(
                TxError::DailyCapExceeded { .. } | TxError::RulesChanged(_),
            )
            | SubmitError::Dropped(_)),
        ) => Outcome::Retry {
            detail: error.to_string(),
            http_status: None,
        },
        Err(error) => Outcome::Cancel {
            reason: format!("the ledger refused the reward: {error} ({})", error.code()),
        },
    }
}

#[cfg(test)]
mod tests;
