//! Deciding what fired: blocks after the cursor (block-driven triggers,
//! and the time-driven ones for the customers a block touched) and the
//! scan over every customer; each occurrence checked for novelty,
//! consent and its condition, then written to the outbox.

use super::*;

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

impl Service {
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
    pub(super) fn follow_blocks(&mut self) {
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
    pub(super) fn scan(&mut self) {
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
}
