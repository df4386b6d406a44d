//! The load generator: keys, signed transactions ready to send, the
//! one-core verification rate, and the open-loop submitter.

use super::follow::Tracker;
use super::{MAX_BACKLOG, RETRY_AFTER, VERIFY_MIN_TIME, VERIFY_SAMPLE};
use anyhow::{anyhow, bail};
use futures::StreamExt as _;
use futures::stream::FuturesUnordered;
use guild_api::{ClientError, NodeClient, SubmitRequest, TxStatus};
use guild_ledger::crypto::{Address, Keypair};
use guild_ledger::tx::{SignedTransaction, Transaction, TxBody, TxId};
use guild_ledger::types::{ChainId, Nonce, Points};
use rayon::prelude::*;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- one-core verification rate ------------------------------------------------

/// The one-core rate of `SignedTransaction::verify`.
pub(super) struct VerifyRate {
    pub(super) per_sec: f64,
    pub(super) verified: u64,
    pub(super) seconds: f64,
}

pub(super) fn measure_verify(chain_id: &ChainId) -> anyhow::Result<VerifyRate> {
    let keys: Vec<Keypair> = (0..VERIFY_SAMPLE as u64)
        .map(|i| customer_key(1_000_000 + i))
        .collect();
    let txs: Vec<SignedTransaction> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let to = keys[(i + 1) % keys.len()].address();
            transfer(key, i as u64, to, chain_id)
        })
        .collect();
    let mut timed = Duration::ZERO;
    let mut verified = 0u64;
    while timed < VERIFY_MIN_TIME {
        let batch = txs.clone();
        let start = Instant::now();
        for tx in batch {
            if tx.verify(chain_id).is_err() {
                bail!(
                    "a freshly signed transaction does not verify; the ledger's signing is broken"
                );
            }
        }
        timed += start.elapsed();
        verified += txs.len() as u64;
    }
    Ok(VerifyRate {
        per_sec: verified as f64 / timed.as_secs_f64(),
        verified,
        seconds: timed.as_secs_f64(),
    })
}

// ---- keys and transactions ---------------------------------------------------------

pub(super) fn shop_key(i: usize) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..10].copy_from_slice(b"bench-shop");
    secret[24..].copy_from_slice(&(i as u64).to_le_bytes());
    Keypair::from_secret(&secret)
}

pub(super) fn customer_key(i: u64) -> Keypair {
    let mut secret = [0u8; 32];
    secret[..14].copy_from_slice(b"bench-customer");
    secret[24..].copy_from_slice(&i.to_le_bytes());
    Keypair::from_secret(&secret)
}

pub(super) fn transfer(
    key: &Keypair,
    nonce: u64,
    to: Address,
    chain_id: &ChainId,
) -> SignedTransaction {
    Transaction {
        author: key.address(),
        nonce: Nonce(nonce),
        body: TxBody::Transfer {
            to,
            points: Points(1),
            memo: None,
        },
    }
    .sign(key, chain_id)
}

/// A signed transaction ready to send: its id and the `POST /v1/tx` body.
pub(super) struct Prepared {
    pub(super) id: TxId,
    pub(super) request: SubmitRequest,
}

impl Prepared {
    pub(super) fn new(signed: &SignedTransaction, chain_id: &ChainId) -> Prepared {
        Prepared {
            id: signed.tx.id(chain_id),
            request: SubmitRequest {
                tx: hex::encode(guild_ledger::codec::encode(signed)),
                wait: false,
                timeout_ms: None,
            },
        }
    }
}

/// One author submitting its transactions in nonce order to one node.
pub(super) struct Sender {
    pub(super) node: usize,
    /// Signed, not yet admitted, in nonce order.
    pub(super) queue: VecDeque<Prepared>,
    /// The nonce the next transaction to sign gets.
    pub(super) next_nonce: u64,
    /// A refusal other than "busy" broke its nonce sequence: no more sends.
    pub(super) dead: bool,
    /// Its last admitted transaction, while it waits for it to be final
    /// (when a phase sends one transaction per author at a time).
    pub(super) awaiting: Option<TxId>,
}

impl Sender {
    pub(super) fn new(node: usize) -> Sender {
        Sender {
            node,
            queue: VecDeque::new(),
            next_nonce: 0,
            dead: false,
            awaiting: None,
        }
    }
}

/// Signs `per_sender` more transfers for every customer, in parallel.
pub(super) fn sign_transfers(
    customers: &mut [Sender],
    keys: &[Keypair],
    addresses: &[Address],
    per_sender: u64,
    chain_id: &ChainId,
) {
    let n = customers.len();
    let batches: Vec<Vec<Prepared>> = customers
        .par_iter()
        .enumerate()
        .map(|(c, sender)| {
            let to = addresses[(c + 1) % n];
            (sender.next_nonce..sender.next_nonce + per_sender)
                .map(|nonce| Prepared::new(&transfer(&keys[c], nonce, to, chain_id), chain_id))
                .collect()
        })
        .collect();
    for (sender, batch) in customers.iter_mut().zip(batches) {
        sender.next_nonce += per_sender;
        if !sender.dead {
            sender.queue.extend(batch);
        }
    }
}

// ---- submitting -------------------------------------------------------------

/// How the node answered one submission.
pub(super) enum Outcome {
    /// 202 (pending) or, with `true`, 200 (already final).
    Accepted(bool),
    Busy(String),
    Refused {
        code: String,
        message: String,
    },
    Transport(String),
}

pub(super) async fn submit(client: NodeClient, request: SubmitRequest) -> Outcome {
    match client.submit_request(&request).await {
        Ok(answer) => Outcome::Accepted(answer.status == TxStatus::Final),
        Err(ClientError::Node {
            status: 503,
            code,
            message,
        }) if code == guild_api::code::BUSY => Outcome::Busy(format!("HTTP 503: {message}")),
        Err(ClientError::Node {
            status,
            code,
            message,
        }) => Outcome::Refused {
            code,
            message: format!("HTTP {status}: {message}"),
        },
        Err(error) => Outcome::Transport(error.to_string()),
    }
}

/// How a phase's submissions went.
#[derive(Default)]
pub(super) struct SubmitStats {
    pub(super) window: Duration,
    pub(super) attempts: u64,
    pub(super) accepted: u64,
    pub(super) busy: u64,
    pub(super) busy_example: Option<String>,
    /// Refusals by code: count and one message.
    pub(super) refused: BTreeMap<String, (u64, String)>,
    pub(super) transport: u64,
    pub(super) transport_example: Option<String>,
    /// Slots of the schedule given up because the client fell behind.
    pub(super) unsent: u64,
    /// Retries (after a transport error) answered "already final".
    pub(super) final_on_retry: u64,
}

/// Senders that may send now, and senders waiting to retry (in time
/// order: every retry waits the same [`RETRY_AFTER`]).
pub(super) struct Queues {
    pub(super) ready: VecDeque<usize>,
    pub(super) delayed: VecDeque<(Instant, usize)>,
}

/// Everything a phase needs to submit.
pub(super) struct Submitter {
    pub(super) notify: Arc<tokio::sync::Notify>,
    /// One client per node.
    pub(super) clients: Vec<NodeClient>,
    pub(super) tracker: Arc<Mutex<Tracker>>,
    pub(super) concurrency: usize,
}

impl Submitter {
    /// Offers the senders' transactions at `rate` per second for
    /// `duration` (with `None`, as fast as allowed until every queue is
    /// empty). With `one_at_a_time`, a sender's next transaction waits
    /// until its previous one is final; otherwise only until it is
    /// admitted. Returns once the last request is answered.
    pub(super) async fn run(
        &self,
        phase: usize,
        senders: &mut [Sender],
        rate: Option<f64>,
        duration: Option<Duration>,
        one_at_a_time: bool,
    ) -> anyhow::Result<SubmitStats> {
        for sender in senders.iter_mut() {
            sender.awaiting = None;
        }
        let mut stats = SubmitStats::default();
        let mut queues = Queues {
            ready: (0..senders.len())
                .filter(|&i| !senders[i].dead && !senders[i].queue.is_empty())
                .collect(),
            delayed: VecDeque::new(),
        };
        let mut inflight = FuturesUnordered::new();
        let start = Instant::now();
        let end = duration.map(|d| start + d);
        let mut issued: u64 = 0;
        let max_backlog = rate.map_or(0, |r| (r * MAX_BACKLOG.as_secs_f64()).ceil() as u64 + 1);
        loop {
            let released = std::mem::take(&mut self.lock()?.released);
            for (p, i, id) in released {
                if p == phase
                    && let Some(sender) = senders.get_mut(i)
                    && sender.awaiting == Some(id)
                {
                    sender.awaiting = None;
                    if !sender.queue.is_empty() {
                        queues.ready.push_back(i);
                    }
                }
            }
            let now = Instant::now();
            let open = end.is_none_or(|end| now < end);
            while let Some(&(at, i)) = queues.delayed.front() {
                if at > now {
                    break;
                }
                queues.delayed.pop_front();
                queues.ready.push_back(i);
            }
            if open {
                let due = match rate {
                    Some(rate) => (rate * now.duration_since(start).as_secs_f64()) as u64,
                    None => u64::MAX,
                };
                if rate.is_some() && due > issued + max_backlog {
                    stats.unsent += due - issued - max_backlog;
                    issued = due - max_backlog;
                }
                while issued < due && inflight.len() < self.concurrency {
                    let Some(i) = queues.ready.pop_front() else {
                        break;
                    };
                    let sender = &senders[i];
                    let Some(tx) = sender.queue.front() else {
                        continue;
                    };
                    {
                        let mut tracker = self.lock()?;
                        if !tracker.seen_final.contains(&tx.id) {
                            // A retry after a transport error keeps the
                            // first attempt's time (it may have been the
                            // one admitted).
                            tracker
                                .sent
                                .entry(tx.id)
                                .or_insert((Instant::now(), phase, i));
                        }
                    }
                    let request = submit(self.clients[sender.node].clone(), tx.request.clone());
                    inflight.push(async move { (i, request.await) });
                    issued += 1;
                    stats.attempts += 1;
                }
            }
            let finished = if duration.is_none() {
                queues.ready.is_empty()
                    && queues.delayed.is_empty()
                    && inflight.is_empty()
                    && senders.iter().all(|s| s.awaiting.is_none())
            } else {
                !open && inflight.is_empty()
            };
            if finished {
                break;
            }
            // Sleep until a request is answered, the next slot is due, a
            // delayed sender may retry, or the window closes.
            let mut wake = now + Duration::from_millis(50);
            if open {
                if let Some(rate) = rate {
                    let next = start + Duration::from_secs_f64((issued + 1) as f64 / rate);
                    wake = wake.min(next.max(now + Duration::from_micros(200)));
                }
                if let Some(end) = end {
                    wake = wake.min(end);
                }
            }
            if let Some(&(at, _)) = queues.delayed.front() {
                wake = wake.min(at);
            }
            tokio::select! {
                Some((i, outcome)) = inflight.next(), if !inflight.is_empty() => {
                    self.settle(i, outcome, senders, one_at_a_time, &mut queues, &mut stats)?;
                }
                _ = self.notify.notified(), if one_at_a_time => {}
                _ = tokio::time::sleep_until(wake.into()) => {}
            }
        }
        stats.window = end.map_or_else(|| start.elapsed(), |end| end.duration_since(start));
        Ok(stats)
    }

    pub(super) fn lock(&self) -> anyhow::Result<std::sync::MutexGuard<'_, Tracker>> {
        self.tracker
            .lock()
            .map_err(|_| anyhow!("the event follower panicked"))
    }

    pub(super) fn settle(
        &self,
        i: usize,
        outcome: Outcome,
        senders: &mut [Sender],
        one_at_a_time: bool,
        queues: &mut Queues,
        stats: &mut SubmitStats,
    ) -> anyhow::Result<()> {
        let sender = &mut senders[i];
        let Some(id) = sender.queue.front().map(|tx| tx.id) else {
            return Ok(());
        };
        match outcome {
            Outcome::Accepted(already_final) => {
                stats.accepted += 1;
                sender.queue.pop_front();
                let mut tracker = self.lock()?;
                if already_final && tracker.sent.remove(&id).is_some() {
                    // Admitted by an earlier attempt whose answer was lost,
                    // and final since: its block was not seen as its own.
                    stats.final_on_retry += 1;
                }
                let go_on = !one_at_a_time || !tracker.sent.contains_key(&id);
                drop(tracker);
                if go_on {
                    if !sender.queue.is_empty() {
                        queues.ready.push_back(i);
                    }
                } else {
                    sender.awaiting = Some(id);
                }
            }
            Outcome::Busy(message) => {
                stats.busy += 1;
                stats.busy_example.get_or_insert(message);
                self.lock()?.sent.remove(&id);
                queues.delayed.push_back((Instant::now() + RETRY_AFTER, i));
            }
            Outcome::Refused { code, message } => {
                self.lock()?.sent.remove(&id);
                let entry = stats.refused.entry(code).or_insert((0, message));
                entry.0 += 1;
                // Its later nonces cannot be admitted now.
                sender.dead = true;
                sender.queue.clear();
            }
            Outcome::Transport(message) => {
                // It may have been admitted: offer the same bytes again.
                stats.transport += 1;
                stats.transport_example.get_or_insert(message);
                queues.delayed.push_back((Instant::now() + RETRY_AFTER, i));
            }
        }
        Ok(())
    }
}
