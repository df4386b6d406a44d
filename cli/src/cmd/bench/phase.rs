//! The phase driver: one phase's submission, drain and figures.

use super::follow::{HeadSample, Tracker};
use super::load::{Sender, SubmitStats, Submitter};
use super::network::Children;
use super::progress;
use super::sampling::{cpu_sample, memory};
use anyhow::anyhow;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// ---- phases --------------------------------------------------------------------

/// The figures of one phase.
pub(super) struct PhaseReport {
    pub(super) name: &'static str,
    /// Each sender waited for its previous transaction to be final.
    pub(super) one_at_a_time: bool,
    pub(super) offered_rate: Option<f64>,
    pub(super) submit: SubmitStats,
    pub(super) finals: u64,
    pub(super) pending_after_drain: usize,
    /// From the phase's start to its last final transaction.
    pub(super) final_span: Option<Duration>,
    pub(super) latency_ms: Option<Latency>,
    pub(super) blocks: u64,
    pub(super) max_block_txs: usize,
    /// Per node: CPU seconds used during the phase (with the drain).
    pub(super) node_cpu: Vec<Option<f64>>,
    pub(super) bench_cpu: Option<f64>,
    /// CPU seconds used by other programs on the machine meanwhile.
    pub(super) other_cpu: Option<f64>,
    pub(super) elapsed: Duration,
    /// Per node: largest mempool seen, and heights at start and end.
    pub(super) mempool_max: Vec<Option<u64>>,
    /// Per node: resident memory at the end of the phase.
    pub(super) rss_end: Vec<Option<u64>>,
    pub(super) heights: Vec<(Option<u64>, Option<u64>)>,
    pub(super) head_failures: u64,
}

pub(super) struct Latency {
    pub(super) p50: f64,
    pub(super) p99: f64,
    pub(super) max: f64,
    pub(super) mean: f64,
}

impl PhaseReport {
    pub(super) fn committed_per_sec(&self) -> Option<f64> {
        let span = self.final_span?.as_secs_f64();
        (span > 0.0).then(|| self.finals as f64 / span)
    }

    pub(super) fn node_us_per_tx(&self) -> Option<f64> {
        if self.finals == 0 || self.node_cpu.is_empty() {
            return None;
        }
        let total: f64 = self.node_cpu.iter().copied().sum::<Option<f64>>()?;
        Some(total / self.node_cpu.len() as f64 / self.finals as f64 * 1e6)
    }

    pub(super) fn cpu_percent(&self, cpu: Option<f64>) -> Option<f64> {
        cpu.map(|s| 100.0 * s / self.elapsed.as_secs_f64().max(1e-9))
    }
}

pub(super) struct Bench<'a> {
    pub(super) submitter: Submitter,
    pub(super) tracker: Arc<Mutex<Tracker>>,
    pub(super) samples: Arc<Mutex<Vec<HeadSample>>>,
    pub(super) children: &'a Children,
    pub(super) shops: usize,
}

/// One phase to run.
pub(super) struct PhasePlan {
    pub(super) name: &'static str,
    /// Its index in [`Tracker::finals`].
    pub(super) index: usize,
    /// Offered transactions per second (`None`: as fast as allowed).
    pub(super) rate: Option<f64>,
    /// How long to offer (`None`: until every sender's queue is empty).
    pub(super) duration: Option<Duration>,
    /// A sender's next transaction waits until its previous one is final.
    pub(super) one_at_a_time: bool,
    /// How long to wait afterwards for admitted transactions to be final.
    pub(super) drain: Duration,
}

impl Bench<'_> {
    pub(super) async fn phase(
        &self,
        plan: PhasePlan,
        senders: &mut [Sender],
    ) -> anyhow::Result<PhaseReport> {
        let PhasePlan {
            name,
            index: phase,
            rate,
            duration,
            one_at_a_time,
            drain,
        } = plan;
        match (rate, duration) {
            (Some(rate), Some(d)) => progress(&format!(
                "{name}: offering {rate} transfers/s for {} s…",
                d.as_secs()
            )),
            _ => progress(&format!("{name}: submitting…")),
        }
        let cpu_before = cpu_sample(self.children);
        let start = Instant::now();
        let submit = self
            .submitter
            .run(phase, senders, rate, duration, one_at_a_time)
            .await?;
        // Drain: wait for what was admitted to become final.
        let drain_end = Instant::now() + drain;
        loop {
            let pending = self.submitter.lock()?.pending(phase);
            if pending == 0 || Instant::now() >= drain_end {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let elapsed = start.elapsed();
        let cpu_after = cpu_sample(self.children);
        let rss_end: Vec<Option<u64>> = self
            .children
            .0
            .iter()
            .map(|c| memory(c.id()).map(|(rss, _)| rss))
            .collect();
        let tracker = self.tracker.lock().map_err(|_| anyhow!("poisoned"))?;
        let finals = &tracker.finals[phase];
        let latency_ms = (finals.count > 0).then(|| Latency {
            p50: finals.latency_us.value_at_quantile(0.50) as f64 / 1000.0,
            p99: finals.latency_us.value_at_quantile(0.99) as f64 / 1000.0,
            max: finals.latency_us.max() as f64 / 1000.0,
            mean: finals.latency_us.mean() / 1000.0,
        });
        let in_phase: Vec<&(Instant, u64, usize)> = tracker
            .blocks
            .iter()
            .filter(|(at, _, _)| *at >= start)
            .collect();
        let samples = self.samples.lock().map_err(|_| anyhow!("poisoned"))?;
        let mut mempool_max = vec![None; self.shops];
        let mut heights = vec![(None, None); self.shops];
        let mut head_failures = 0;
        for sample in samples.iter().filter(|s| s.at >= start) {
            match sample.head {
                Some((height, mempool)) => {
                    let max: &mut Option<u64> = &mut mempool_max[sample.node];
                    *max = Some(max.map_or(mempool, |m| m.max(mempool)));
                    let h = &mut heights[sample.node];
                    h.0.get_or_insert(height);
                    h.1 = Some(height);
                }
                None => head_failures += 1,
            }
        }
        let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
        let node_cpu: Vec<Option<f64>> = cpu_before
            .nodes
            .iter()
            .zip(&cpu_after.nodes)
            .map(|(a, b)| delta(*a, *b))
            .collect();
        let bench_cpu = delta(cpu_before.bench, cpu_after.bench);
        let other_cpu = {
            let ours: Option<f64> = node_cpu.iter().copied().chain([bench_cpu]).sum();
            delta(cpu_before.machine, cpu_after.machine)
                .zip(ours)
                .map(|(all, ours)| (all - ours).max(0.0))
        };
        let report = PhaseReport {
            name,
            one_at_a_time,
            offered_rate: rate,
            finals: finals.count,
            pending_after_drain: tracker.pending(phase),
            final_span: finals.last.map(|last| last.duration_since(start)),
            latency_ms,
            blocks: in_phase.len() as u64,
            max_block_txs: in_phase.iter().map(|b| b.2).max().unwrap_or(0),
            node_cpu,
            bench_cpu,
            other_cpu,
            elapsed,
            mempool_max,
            rss_end,
            heights,
            head_failures,
            submit,
        };
        progress(&format!(
            "{name}: {} admitted, {} final{}{}",
            report.submit.accepted,
            report.finals,
            report
                .committed_per_sec()
                .map_or(String::new(), |r| format!(", {r:.0} committed/s")),
            report
                .latency_ms
                .as_ref()
                .map_or(String::new(), |l| format!(
                    ", p50 {:.0} ms, p99 {:.0} ms",
                    l.p50, l.p99
                )),
        ));
        Ok(report)
    }
}
