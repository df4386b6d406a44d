//! Doing it: due entries checked at send time (the automation, the
//! customer's consent, the endpoint, the SMTP server) and run — a webhook,
//! an e-mail or a reward on a task of its own, a to-do at once — and each
//! outcome written to the outbox.

use super::*;

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
    /// Starts the due deliveries, up to the limit in flight.
    pub(super) fn dispatch(&mut self) {
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
                    Ok(crate::automation::todo::Added::New) => Outcome::Done {
                        detail: "to-do added".into(),
                        http_status: None,
                        points: None,
                    },
                    Ok(crate::automation::todo::Added::Already) => Outcome::Done {
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
    pub(super) fn on_result(&mut self, id: &str, outcome: Outcome) {
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
