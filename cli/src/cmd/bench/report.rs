//! The report: per-phase and per-node figures, as text or JSON.

use super::load::VerifyRate;
use super::phase::PhaseReport;
use super::sampling::Machine;
use serde_json::{Value, json};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Per-node figures at the end.
pub(super) struct NodeReport {
    pub(super) name: String,
    pub(super) rss: Option<u64>,
    pub(super) peak_rss: Option<u64>,
    pub(super) disk_start: u64,
    pub(super) disk_end: u64,
    pub(super) height: Option<u64>,
}

pub(super) struct Report {
    pub(super) machine: Machine,
    pub(super) shops: usize,
    pub(super) customers: usize,
    /// Customers left out because their earn was not final.
    pub(super) unfunded: usize,
    pub(super) cache_mb: u64,
    pub(super) concurrency: usize,
    pub(super) funding_points: u64,
    pub(super) verify: VerifyRate,
    pub(super) phases: Vec<PhaseReport>,
    pub(super) nodes: Vec<NodeReport>,
    pub(super) total_final_txs: u64,
    pub(super) total_blocks: u64,
    pub(super) foreign: u64,
    pub(super) lagged_blocks: u64,
    pub(super) stream_error: Option<String>,
    pub(super) kept: Option<PathBuf>,
}

// ---- output ----------------------------------------------------------------------

pub(super) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

pub(super) fn opt(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.decimals$}"))
}

impl Report {
    pub(super) fn bytes_per_tx(&self, node: &NodeReport) -> Option<f64> {
        (self.total_final_txs > 0).then(|| {
            node.disk_end.saturating_sub(node.disk_start) as f64 / self.total_final_txs as f64
        })
    }

    pub(super) fn to_text(&self) -> String {
        let mut out = String::new();
        let m = &self.machine;
        let _ = writeln!(
            out,
            "\nGuild bench: {} nodes on one machine ({} CPUs, {}, {} MiB RAM); {} customers, sled cache {} MiB per node, {} submissions in flight at most",
            self.shops,
            m.cpus,
            m.cpu_model,
            m.memory_mib,
            self.customers,
            self.cache_mb,
            self.concurrency
        );
        let _ = writeln!(
            out,
            "verify_strict, one core (SignedTransaction::verify): {:.0} signatures/s ({} in {:.2} s)\n",
            self.verify.per_sec, self.verify.verified, self.verify.seconds
        );
        let _ = writeln!(
            out,
            "{:<9} {:>8} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8} {:>11} {:>8} {:>8} {:>8} {:>7} {:>9}",
            "phase",
            "next on",
            "offered/s",
            "sent/s",
            "admitted",
            "busy",
            "other",
            "final",
            "committed/s",
            "p50 ms",
            "p99 ms",
            "max ms",
            "blocks",
            "max txs/b"
        );
        for p in &self.phases {
            let window = p.submit.window.as_secs_f64().max(1e-9);
            let _ = writeln!(
                out,
                "{:<9} {:>8} {:>9} {:>9.0} {:>9} {:>8} {:>6} {:>8} {:>11} {:>8} {:>8} {:>8} {:>7} {:>9}",
                p.name,
                if p.one_at_a_time { "final" } else { "admitted" },
                p.offered_rate
                    .map_or_else(|| "max".to_string(), |r| format!("{r:.0}")),
                p.submit.attempts as f64 / window,
                p.submit.accepted,
                p.submit.busy,
                p.submit.refused.values().map(|r| r.0).sum::<u64>() + p.submit.transport,
                p.finals,
                opt(p.committed_per_sec(), 0),
                opt(p.latency_ms.as_ref().map(|l| l.p50), 0),
                opt(p.latency_ms.as_ref().map(|l| l.p99), 0),
                opt(p.latency_ms.as_ref().map(|l| l.max), 0),
                p.blocks,
                p.max_block_txs,
            );
        }
        let _ = writeln!(
            out,
            "\nnext on: a sender sends its next transaction once the previous one is final, or as soon as it is admitted (pipelined).\ncommitted/s: the phase's final transactions / time from the phase's start to its last final one; latency: submit to final (block event on {}).\n",
            self.nodes.first().map_or("node 0", |n| n.name.as_str())
        );
        for p in &self.phases {
            if let Some(example) = &p.submit.busy_example {
                let _ = writeln!(
                    out,
                    "{}: {} refused as busy (retried), e.g. {example}",
                    p.name, p.submit.busy
                );
            }
            if p.submit.final_on_retry > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} retries found their transaction already final",
                    p.name, p.submit.final_on_retry
                );
            }
            if p.pending_after_drain > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} sent transactions were not seen final after the drain \
                     (admitted ones still waiting, or requests that got no answer and \
                     were not retried before the phase ended)",
                    p.name, p.pending_after_drain
                );
            }
            if p.submit.unsent > 0 {
                let _ = writeln!(
                    out,
                    "{}: the client fell behind its schedule and skipped {} slots",
                    p.name, p.submit.unsent
                );
            }
            for (code, (count, message)) in &p.submit.refused {
                let _ = writeln!(
                    out,
                    "{}: {count} refused with '{code}', e.g. {message}",
                    p.name
                );
            }
            if p.submit.transport > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} transport errors (retried), e.g. {}",
                    p.name,
                    p.submit.transport,
                    p.submit.transport_example.as_deref().unwrap_or("")
                );
            }
            if p.head_failures > 0 {
                let _ = writeln!(
                    out,
                    "{}: {} GET /v1/head samples failed (node too slow to answer in 5 s)",
                    p.name, p.head_failures
                );
            }
        }
        let _ = writeln!(
            out,
            "\nPer phase and node: CPU (% of one core, over the submission window + drain) / largest mempool seen / RSS MiB at the end;\nothers = other programs on the machine; node µs/tx = CPU time of one node per final transaction (mean of the nodes):"
        );
        let mut header = format!("{:<9}", "phase");
        for n in &self.nodes {
            let _ = write!(header, " {:>22}", n.name);
        }
        let _ = write!(
            header,
            " {:>7} {:>7} {:>12}",
            "bench", "others", "node µs/tx"
        );
        let _ = writeln!(out, "{header}");
        for p in &self.phases {
            let mut line = format!("{:<9}", p.name);
            for (i, cpu) in p.node_cpu.iter().enumerate() {
                let cell = format!(
                    "{}% / {} / {}",
                    opt(p.cpu_percent(*cpu), 0),
                    p.mempool_max[i].map_or_else(|| "-".to_string(), |m| m.to_string()),
                    opt(p.rss_end[i].map(mib), 0)
                );
                let _ = write!(line, " {cell:>22}");
            }
            let _ = write!(
                line,
                " {:>6}% {:>6}% {:>12}",
                opt(p.cpu_percent(p.bench_cpu), 0),
                opt(p.cpu_percent(p.other_cpu), 0),
                opt(p.node_us_per_tx(), 0)
            );
            let _ = writeln!(out, "{line}");
        }
        let _ = writeln!(
            out,
            "\n{:<12} {:>8} {:>9} {:>10} {:>10} {:>8}",
            "node", "RSS MiB", "peak MiB", "disk MiB", "bytes/tx", "height"
        );
        for n in &self.nodes {
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:>9} {:>10.1} {:>10} {:>8}",
                n.name,
                opt(n.rss.map(mib), 1),
                opt(n.peak_rss.map(mib), 1),
                mib(n.disk_end),
                opt(self.bytes_per_tx(n), 0),
                n.height.map_or_else(|| "-".to_string(), |h| h.to_string()),
            );
        }
        let _ = writeln!(
            out,
            "\n{} transactions final in {} blocks; bytes/tx = growth of the data directory since start / final transactions.",
            self.total_final_txs, self.total_blocks
        );
        if self.unfunded > 0 {
            let _ = writeln!(
                out,
                "{} customers sat out the transfer phases: their funding earn was not final in time.",
                self.unfunded
            );
        }
        if self.lagged_blocks > 0 {
            let _ = writeln!(
                out,
                "The event stream skipped {} blocks (fetched afterwards; their latencies are upper bounds).",
                self.lagged_blocks
            );
        }
        if self.foreign > 0 {
            let _ = writeln!(
                out,
                "{} final transactions were not sent by this run.",
                self.foreign
            );
        }
        if let Some(error) = &self.stream_error {
            let _ = writeln!(out, "The event stream stopped: {error}");
        }
        if let Some(path) = &self.kept {
            let _ = writeln!(out, "Network files kept in {}", path.display());
        }
        out
    }

    pub(super) fn to_json(&self) -> Value {
        let phases: Vec<Value> = self
            .phases
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "next_after": if p.one_at_a_time { "final" } else { "admitted" },
                    "busy_example": p.submit.busy_example,
                    "final_on_retry": p.submit.final_on_retry,
                    "offered_per_sec": p.offered_rate,
                    "window_secs": p.submit.window.as_secs_f64(),
                    "attempts": p.submit.attempts,
                    "sent_per_sec": p.submit.attempts as f64 / p.submit.window.as_secs_f64().max(1e-9),
                    "admitted": p.submit.accepted,
                    "busy": p.submit.busy,
                    "refused": p.submit.refused.iter().map(|(code, (count, message))| {
                        json!({"code": code, "count": count, "example": message})
                    }).collect::<Vec<_>>(),
                    "transport_errors": p.submit.transport,
                    "unsent": p.submit.unsent,
                    "final": p.finals,
                    "pending_after_drain": p.pending_after_drain,
                    "final_span_secs": p.final_span.map(|d| d.as_secs_f64()),
                    "committed_per_sec": p.committed_per_sec(),
                    "latency_ms": p.latency_ms.as_ref().map(|l| json!({
                        "p50": l.p50, "p99": l.p99, "max": l.max, "mean": l.mean,
                    })),
                    "blocks": p.blocks,
                    "max_block_txs": p.max_block_txs,
                    "elapsed_secs": p.elapsed.as_secs_f64(),
                    "node_cpu_percent": p.node_cpu.iter().map(|c| p.cpu_percent(*c)).collect::<Vec<_>>(),
                    "bench_cpu_percent": p.cpu_percent(p.bench_cpu),
                    "other_programs_cpu_percent": p.cpu_percent(p.other_cpu),
                    "node_cpu_us_per_final_tx": p.node_us_per_tx(),
                    "mempool_max": p.mempool_max,
                    "rss_bytes_end": p.rss_end,
                    "heights": p.heights.iter().map(|(a, b)| json!({"start": a, "end": b})).collect::<Vec<_>>(),
                    "head_failures": p.head_failures,
                })
            })
            .collect();
        let nodes: Vec<Value> = self
            .nodes
            .iter()
            .map(|n| {
                json!({
                    "name": n.name,
                    "rss_bytes": n.rss,
                    "peak_rss_bytes": n.peak_rss,
                    "disk_bytes_start": n.disk_start,
                    "disk_bytes": n.disk_end,
                    "disk_bytes_per_tx": self.bytes_per_tx(n),
                    "height": n.height,
                })
            })
            .collect();
        json!({
            "machine": {
                "cpus": self.machine.cpus,
                "cpu_model": self.machine.cpu_model,
                "memory_mib": self.machine.memory_mib,
            },
            "shops": self.shops,
            "customers": self.customers,
            "unfunded_customers": self.unfunded,
            "funding_points": self.funding_points,
            "cache_mb": self.cache_mb,
            "concurrency": self.concurrency,
            "verify_strict_one_core": {
                "per_sec": self.verify.per_sec,
                "verified": self.verify.verified,
                "secs": self.verify.seconds,
            },
            "phases": phases,
            "nodes": nodes,
            "total_final_txs": self.total_final_txs,
            "total_blocks": self.total_blocks,
            "foreign_txs": self.foreign,
            "lagged_blocks": self.lagged_blocks,
            "stream_error": self.stream_error,
            "kept": self.kept,
        })
    }
}
