//! The HTTP API's requests: the automations, the delivery log, the
//! to-dos, the report, the webhook endpoints, erasure.

use super::*;

impl Service {
    pub(super) fn on_message(&mut self, message: Message) {
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
                let funded = view
                    .state
                    .campaign(*campaign)
                    .filter(|c| c.spec.is_offer())
                    .is_some_and(|c| view.member.is_some_and(|me| c.spec.funded_by(&me)));
                if !funded {
                    return Err(AutomationError::NotAnOffer {
                        campaign: *campaign,
                    });
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
