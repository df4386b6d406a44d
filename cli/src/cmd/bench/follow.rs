//! Following finality: node 0's event stream (through the shared client)
//! records when each submitted transaction became final; heads are sampled.

use super::MONITOR_EVERY;
use anyhow::Context as _;
use anyhow::{anyhow, bail};
use guild_api::{ChainEvent, NodeClient};
use guild_ledger::tx::TxId;
use guild_ledger::types::Height;
use hdrhistogram::Histogram;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

// ---- following finality -------------------------------------------------------------

/// What is known about submitted transactions and final blocks; shared by
/// the submitter and the event follower.
pub(super) struct Tracker {
    /// Sent (and not refused) transactions not yet seen final: when the
    /// accepted attempt was sent, in which phase, by which sender.
    pub(super) sent: HashMap<TxId, (Instant, usize, usize)>,
    /// Every transaction seen final (so a retry of one whose first answer
    /// was lost is not taken for a new submission).
    pub(super) seen_final: std::collections::HashSet<TxId>,
    /// Final transactions as (phase, sender, id), for the submitter to let
    /// those senders go on.
    pub(super) released: Vec<(usize, usize, TxId)>,
    /// Per phase: submit-to-final latencies (µs), count, last final time.
    pub(super) finals: Vec<PhaseFinals>,
    /// Every final block seen: when, height, transaction count.
    pub(super) blocks: Vec<(Instant, u64, usize)>,
    pub(super) last_height: Option<u64>,
    /// Final transactions this tool did not send (none expected).
    pub(super) foreign: u64,
    /// Blocks the event stream skipped (fetched afterwards).
    pub(super) lagged_blocks: u64,
    /// Why the event stream stopped, if it did.
    pub(super) stream_error: Option<String>,
}

pub(super) struct PhaseFinals {
    pub(super) latency_us: Histogram<u64>,
    pub(super) count: u64,
    pub(super) last: Option<Instant>,
}

impl PhaseFinals {
    pub(super) fn new() -> anyhow::Result<PhaseFinals> {
        Ok(PhaseFinals {
            latency_us: Histogram::new_with_bounds(1, 3_600_000_000, 3)
                .map_err(|e| anyhow!("cannot create a histogram: {e}"))?,
            count: 0,
            last: None,
        })
    }
}

impl Tracker {
    pub(super) fn final_ids(&mut self, height: u64, ids: &[TxId], at: Instant) {
        self.blocks.push((at, height, ids.len()));
        self.last_height = Some(self.last_height.map_or(height, |h| h.max(height)));
        for id in ids {
            self.seen_final.insert(*id);
            match self.sent.remove(id) {
                Some((sent, phase, sender)) => {
                    self.released.push((phase, sender, *id));
                    if let Some(finals) = self.finals.get_mut(phase) {
                        let us = at.saturating_duration_since(sent).as_micros() as u64;
                        finals.latency_us.saturating_record(us.max(1));
                        finals.count += 1;
                        finals.last = Some(at);
                    }
                }
                None => self.foreign += 1,
            }
        }
    }

    pub(super) fn pending(&self, phase: usize) -> usize {
        self.sent.values().filter(|(_, p, _)| *p == phase).count()
    }
}

/// Follows node `api`'s event stream, recording every final block; blocks
/// the stream skipped are fetched with `GET /v1/blocks/{height}`.
pub(super) async fn follow(
    api: String,
    tracker: Arc<Mutex<Tracker>>,
    notify: Arc<tokio::sync::Notify>,
    connected: tokio::sync::oneshot::Sender<()>,
) -> anyhow::Result<()> {
    let client = NodeClient::new(&api)?;
    let mut stream = client
        .events(&[], None)
        .await
        .context("cannot open the event stream")?;
    let _ = connected.send(());
    while let Some(event) = stream.next().await.context("the event stream broke")? {
        let at = Instant::now();
        // Skipped blocks show as a gap in heights (fetched below).
        let ChainEvent::Block(block) = event else {
            continue;
        };
        let ids: Vec<TxId> = block.txs.iter().map(|tx| tx.id).collect();
        let last = tracker.lock().map_err(|_| anyhow!("poisoned"))?.last_height;
        if let Some(last) = last {
            for missing in last + 1..block.height.0 {
                let skipped = client
                    .block(Height(missing))
                    .await
                    .with_context(|| format!("GET {api}/v1/blocks/{missing}"))?;
                let skipped_ids: Vec<TxId> = skipped.txs.iter().map(|tx| tx.id).collect();
                let mut t = tracker.lock().map_err(|_| anyhow!("poisoned"))?;
                t.lagged_blocks += 1;
                t.final_ids(missing, &skipped_ids, Instant::now());
            }
        }
        tracker
            .lock()
            .map_err(|_| anyhow!("poisoned"))?
            .final_ids(block.height.0, &ids, at);
        notify.notify_one();
    }
    bail!("the event stream ended")
}

/// Samples of every node's head: (when, node, height, mempool), or a failed
/// request.
pub(super) struct HeadSample {
    pub(super) at: Instant,
    pub(super) node: usize,
    pub(super) head: Option<(u64, u64)>,
}

pub(super) async fn monitor(clients: Vec<NodeClient>, samples: Arc<Mutex<Vec<HeadSample>>>) {
    let mut tick = tokio::time::interval(MONITOR_EVERY);
    loop {
        tick.tick().await;
        for (node, client) in clients.iter().enumerate() {
            let head = client
                .head()
                .await
                .ok()
                .map(|h| (h.height.0, h.mempool as u64));
            if let Ok(mut samples) = samples.lock() {
                samples.push(HeadSample {
                    at: Instant::now(),
                    node,
                    head,
                });
            }
        }
    }
}
