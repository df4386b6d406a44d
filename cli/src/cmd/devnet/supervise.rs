//! The devnet's nodes as child processes: started, watched, stopped.
//!
//! Each shop's node is `guild node … --stop-on-stdin-close` (this same
//! executable), in a process group of its own, so a Ctrl-C in the devnet's
//! terminal reaches the devnet alone and the devnet stops its nodes in
//! order; the node's standard input is a pipe from the devnet, and when it
//! closes (the devnet stops, or is killed) the node shuts down cleanly.
//!
//! While the devnet runs, a node that exits is reported at once with what
//! it means for the network (how many shops' nodes remain against the
//! quorum) and the exact command that starts it again. The devnet does not
//! restart it: seeing a node go down and the network go on (or stop
//! finalizing) is what a devnet is for. A node the owner starts again by
//! hand is noticed when its API answers, and counted, but not supervised.

use super::{DevnetFile, DevnetNode, shown};
use crate::cmd::node::shutdown_signal;
use anyhow::{Context, bail};
use guild_api::NodeClient;
use guild_ledger::block::quorum;
use serde_json::json;
use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long the nodes have to answer on their API after starting.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// How long a node has to stop after its standard input closes.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);
/// How often children are checked for an exit.
const WATCH_EVERY: Duration = Duration::from_millis(250);
/// How often a stopped node's API is probed (started again by hand?).
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// A shop's node as the devnet sees it.
enum Run {
    /// Our child.
    Child(Child),
    /// Exited; `back` once its API answers again (started by hand).
    Stopped { back: bool, probed: Instant },
}

/// The devnet's nodes.
pub struct Nodes {
    shops: Vec<(String, Run, u32)>,
}

/// The `guild node` command line that runs `node` of `file`.
fn node_args(file: &DevnetFile, node: &DevnetNode, log: Option<&str>) -> Vec<String> {
    let mut args = vec![
        "node".to_string(),
        "--data".into(),
        shown(&node.data),
        "--genesis".into(),
        shown(&file.genesis),
        "--key".into(),
        shown(&node.wallet),
        "--passphrase-file".into(),
        shown(&file.passphrase_file),
        "--listen".into(),
        node.p2p.clone(),
        "--api".into(),
        node.api.trim_start_matches("http://").to_string(),
        "--no-mdns".into(),
        "--cache-mb".into(),
        "16".into(),
    ];
    for other in file.nodes.iter().filter(|o| o.name != node.name) {
        args.push("--peer".into());
        args.push(other.p2p.clone());
    }
    if let Some(log) = log {
        args.splice(0..0, ["--log".to_string(), log.to_string()]);
    }
    args
}

/// The command a person types to start `node` again: `guild` if that is
/// this executable on `PATH`, else its full path.
pub fn restart_command(file: &DevnetFile, node: &DevnetNode) -> String {
    let program = program_name();
    let mut words = vec![program];
    words.extend(node_args(file, node, None));
    words
        .iter()
        .map(|w| {
            if w.contains(' ') {
                format!("'{w}'")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn program_name() -> String {
    let exe = std::env::current_exe().ok();
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("guild"))
            .find(|candidate| candidate.is_file())
    });
    match (exe, on_path) {
        (Some(exe), Some(found)) if found.canonicalize().ok() == exe.canonicalize().ok() => {
            "guild".into()
        }
        (Some(exe), _) => exe.display().to_string(),
        (None, _) => "guild".into(),
    }
}

fn log_path(node: &DevnetNode) -> PathBuf {
    node.wallet
        .parent()
        .map_or_else(|| PathBuf::from("node.log"), |d| d.join("node.log"))
}

/// The last lines of a node's log, for an error.
fn log_tail(path: &Path, lines: usize) -> String {
    let text = guild_os::durable::read_bounded(path, 16 * 1024 * 1024)
        .ok()
        .flatten()
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn describe_exit(status: ExitStatus) -> String {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(signal) = status.signal() {
            let name = match signal {
                9 => " (SIGKILL)",
                15 => " (SIGTERM)",
                2 => " (SIGINT)",
                _ => "",
            };
            return format!("killed by signal {signal}{name}");
        }
    }
    match status.code() {
        Some(0) => "exited".into(),
        Some(code) => format!("exited with code {code}"),
        None => "exited".into(),
    }
}

impl Nodes {
    /// Starts every shop's node.
    pub fn start(file: &DevnetFile, log: &str) -> anyhow::Result<Nodes> {
        let exe = std::env::current_exe().context("cannot find the guild executable")?;
        let mut nodes = Nodes { shops: Vec::new() };
        for node in &file.nodes {
            let log_file = log_path(node);
            let out = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&log_file)
                .with_context(|| format!("cannot open {}", log_file.display()))?;
            let err = out.try_clone()?;
            let mut command = Command::new(&exe);
            command
                .args(node_args(file, node, Some(log)))
                .arg("--stop-on-stdin-close")
                .env_remove("GUILD_PASSPHRASE")
                .stdin(Stdio::piped())
                .stdout(out)
                .stderr(err);
            #[cfg(unix)]
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            let child = command
                .spawn()
                .with_context(|| format!("cannot start {}'s node", node.name))?;
            let pid = child.id();
            nodes
                .shops
                .push((node.name.clone(), Run::Child(child), pid));
        }
        Ok(nodes)
    }

    /// The nodes' process ids, in `devnet.json` order.
    pub fn pids(&self) -> Vec<u32> {
        self.shops.iter().map(|(_, _, pid)| *pid).collect()
    }

    /// Waits until every node answers on its API; a node that exits first
    /// is an error with the end of its log.
    pub async fn wait_until_up(&mut self, file: &DevnetFile) -> anyhow::Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        for ((name, run, pid), node) in self.shops.iter_mut().zip(&file.nodes) {
            let client = NodeClient::new(&node.api)?;
            loop {
                if let Run::Child(child) = run
                    && let Some(status) = child.try_wait()?
                {
                    let log = log_path(node);
                    bail!(
                        "{name}'s node (pid {pid}) {} while starting; the end of {}:\n{}",
                        describe_exit(status),
                        shown(&log),
                        log_tail(&log, 5)
                    );
                }
                if client.head().await.is_ok() {
                    break;
                }
                if Instant::now() >= deadline {
                    bail!(
                        "{name}'s node did not answer on {} within {} s; see {}",
                        node.api,
                        START_TIMEOUT.as_secs(),
                        shown(&log_path(node))
                    );
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
        Ok(())
    }

    /// Nodes running now (ours, and stopped ones started again by hand).
    fn running(&self) -> usize {
        self.shops
            .iter()
            .filter(|(_, run, _)| matches!(run, Run::Child(_) | Run::Stopped { back: true, .. }))
            .count()
    }

    /// Watches the nodes until Ctrl-C or SIGTERM, reporting each one that
    /// stops or comes back; then stops them all.
    pub async fn supervise(&mut self, file: &DevnetFile, json: bool) {
        let signal = shutdown_signal();
        tokio::pin!(signal);
        loop {
            tokio::select! {
                _ = &mut signal => break,
                _ = tokio::time::sleep(WATCH_EVERY) => {}
            }
            for i in 0..self.shops.len() {
                self.check(i, file, json).await;
            }
        }
        eprintln!("stopping the devnet…");
        self.stop();
    }

    /// Reports a change of shop `i`'s node, if any.
    async fn check(&mut self, i: usize, file: &DevnetFile, json: bool) {
        let Some(node) = file.nodes.get(i) else {
            return;
        };
        let total = file.nodes.len();
        let needed = quorum(total);
        let Some((name, run, pid)) = self.shops.get_mut(i) else {
            return;
        };
        let (name, pid) = (name.clone(), *pid);
        match run {
            Run::Child(child) => {
                let Ok(Some(status)) = child.try_wait() else {
                    return;
                };
                *run = Run::Stopped {
                    back: false,
                    probed: Instant::now(),
                };
                let running = self.running();
                let restart = restart_command(file, node);
                let exit = describe_exit(status);
                if json {
                    println!(
                        "{}",
                        json!({
                            "event": "node_stopped", "shop": name, "pid": pid, "exit": exit,
                            "running": running, "shops": total, "needed": needed,
                            "restart": restart,
                        })
                    );
                    return;
                }
                let network = if running >= needed {
                    format!("the network goes on with {running} of {total} shops")
                } else {
                    format!(
                        "only {running} of {total} shops' nodes are running and {needed} are needed: \
                         no block can become final until another one is back (transactions wait)"
                    )
                };
                println!(
                    "\n{name}'s node (pid {pid}) stopped ({exit}); {network}. Start it again with:\n  {restart}\n\
                     (its output so far is in {}; the devnet does not restart it by itself)",
                    shown(&log_path(node))
                );
            }
            Run::Stopped { back, probed } => {
                if probed.elapsed() < PROBE_EVERY {
                    return;
                }
                *probed = Instant::now();
                let was_back = *back;
                let answers = match NodeClient::new(&node.api) {
                    Ok(client) => tokio::time::timeout(Duration::from_secs(1), client.head())
                        .await
                        .is_ok_and(|r| r.is_ok()),
                    Err(_) => false,
                };
                if answers == was_back {
                    return;
                }
                *back = answers;
                let running = self.running();
                let holder = guild_os::lock::holder_pid(&node.data)
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default();
                if json {
                    let event = if answers { "node_back" } else { "node_gone" };
                    println!(
                        "{}",
                        json!({"event": event, "shop": name, "running": running, "shops": total, "needed": needed})
                    );
                } else if answers {
                    println!(
                        "\n{name}'s node is answering again{holder}, started outside the devnet \
                         (not supervised, and not stopped with it); {running} of {total} shops running."
                    );
                } else {
                    println!(
                        "\n{name}'s node (started outside the devnet) no longer answers; {running} of {total} shops running."
                    );
                }
            }
        }
    }

    /// Stops every child: closes its standard input, waits, kills it if it
    /// takes too long.
    fn stop(&mut self) {
        for (_, run, _) in &mut self.shops {
            if let Run::Child(child) = run {
                drop(child.stdin.take());
            }
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        for (name, run, pid) in &mut self.shops {
            match run {
                Run::Child(child) => loop {
                    match child.try_wait() {
                        Ok(Some(_)) | Err(_) => break,
                        Ok(None) if Instant::now() >= deadline => {
                            eprintln!("{name}'s node (pid {pid}) did not stop in time; killing it");
                            let _ = child.kill();
                            let _ = child.wait();
                            break;
                        }
                        Ok(None) => std::thread::sleep(Duration::from_millis(100)),
                    }
                },
                Run::Stopped { back: true, .. } => eprintln!(
                    "{name}'s node was started outside the devnet and keeps running; stop it in its own terminal"
                ),
                Run::Stopped { .. } => {}
            }
        }
        self.shops.clear();
    }
}

impl Drop for Nodes {
    /// On an error path, the children stop too.
    fn drop(&mut self) {
        self.stop();
    }
}
