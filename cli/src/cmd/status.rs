//! `guild status`: is my node well, and can the network finalize?
//!
//! Asks the node (`--node` or `GUILD_NODE`) for `GET /v1/head` and
//! `/v1/members` and says, for a shop owner: which network and node, the
//! last block's height and age, whether the node is a member (which shop)
//! or an observer, whether it is in step with its peers or catching up
//! (and how far behind), its peers, which member shops it reaches against
//! the quorum, and a one-line verdict with what to do. `--json` gives the
//! same as one document.
//!
//! Exit codes, for scripts: 0 all good (a quorum of shops reachable, the
//! node in step); 1 the node cannot be asked (down, wrong URL); 3 no
//! quorum (too few shops reachable for any block to become final); 4 the
//! node is catching up with the network.

use crate::Globals;
use crate::cmd::ExitWith;
use crate::cmd::wallet::common::{block_on, print_json, with_json_errors};
use clap::Args;
use guild_api::{Head, Members, NodeClient, QuorumInfo};
use serde::Serialize;

/// Exit code: too few shops reachable to finalize.
pub const EXIT_NO_QUORUM: u8 = 3;
/// Exit code: the node is catching up with the network.
pub const EXIT_CATCHING_UP: u8 = 4;

/// Options of `guild status`.
#[derive(Args)]
pub struct StatusArgs {}

/// How the node and the network are, in one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// A quorum of shops is reachable and the node is in step.
    Healthy,
    /// Too few shops are reachable for a block to become final.
    NoQuorum,
    /// The node is behind its peers.
    CatchingUp,
}

impl Health {
    /// The command's exit code for this state.
    pub fn exit_code(self) -> u8 {
        match self {
            Health::Healthy => 0,
            Health::NoQuorum => EXIT_NO_QUORUM,
            Health::CatchingUp => EXIT_CATCHING_UP,
        }
    }
}

/// What `guild status` reports (also its `--json`).
#[derive(Debug, Serialize)]
pub struct Status {
    /// The node asked.
    pub node: String,
    /// Its network.
    pub chain_id: String,
    /// The last final block's height.
    pub height: u64,
    /// Seconds since that block's time, by the node's clock.
    pub block_age_secs: u64,
    /// `member` or `observer`.
    pub role: &'static str,
    /// The member shop's name, for a member's node.
    pub shop: Option<String>,
    /// Whether the node is in step with its peers.
    pub in_step: bool,
    /// Blocks the node is behind the best peer it knows of.
    pub behind: u64,
    /// Why catching up fails, if it does.
    pub sync_problem: Option<String>,
    /// Connected peers.
    pub peers: usize,
    /// Reachable members against the quorum, as the node reported.
    pub quorum: QuorumInfo,
    /// The reachable member shops' names.
    pub reachable: Vec<String>,
    /// The member shops not reachable from the node.
    pub unreachable: Vec<String>,
    /// The state in one word.
    pub health: Health,
    /// One line for a person: the state and what to do.
    pub verdict: String,
}

/// Names a member by its registered name (or its address).
fn name_of(members: &Members, address: &guild_ledger::crypto::Address) -> String {
    members
        .members
        .iter()
        .find(|m| m.address == *address)
        .map(|m| m.name.to_string())
        .unwrap_or_else(|| address.to_string())
}

fn list(names: &[String]) -> String {
    names.join(", ")
}

/// Judges a node's head and the members (pure: the table tests below).
pub fn assess(node: &str, head: &Head, members: &Members) -> Status {
    let behind = head.sync.best_peer_head.0.saturating_sub(head.height.0);
    // A peer one block ahead is normal for a moment (the block is being
    // applied here too).
    let in_step = !head.syncing && behind <= 1 && head.sync.problem.is_none();
    // In the members' order, as `guild shop` lists them.
    let mut reachable: Vec<String> = members
        .members
        .iter()
        .filter(|m| head.quorum.reachable.contains(&m.address))
        .map(|m| m.name.to_string())
        .collect();
    // By name, so the same network always reads the same (member order is
    // address order, which says nothing to a person).
    let mut unreachable: Vec<String> = members
        .members
        .iter()
        .filter(|m| !head.quorum.reachable.contains(&m.address))
        .map(|m| m.name.to_string())
        .collect();
    reachable.sort();
    unreachable.sort();
    let q = &head.quorum;
    let health = if !q.has_quorum {
        Health::NoQuorum
    } else if !in_step {
        Health::CatchingUp
    } else {
        Health::Healthy
    };
    let verdict = match health {
        Health::Healthy if unreachable.is_empty() => format!(
            "All good: {} of {} shops reachable, blocks are final.",
            q.reachable.len(),
            q.members
        ),
        Health::Healthy => format!(
            "All good: {} of {} shops reachable ({} needed), blocks are final; not reachable: {}.",
            q.reachable.len(),
            q.members,
            q.needed,
            list(&unreachable)
        ),
        Health::NoQuorum => format!(
            "No quorum: {}, so no block can become final; transactions wait in the node. \
             Start the stopped shops' nodes{}, or check this node's connection to them \
             (--peer addresses, firewall).",
            q.describe(),
            if unreachable.is_empty() {
                String::new()
            } else {
                format!(" ({})", list(&unreachable))
            }
        ),
        Health::CatchingUp => match &head.sync.problem {
            Some(problem) => {
                format!("Catching up: {behind} blocks behind the network, and stuck: {problem}.")
            }
            None => format!(
                "Catching up: {behind} blocks behind the network; wait and run `guild status` again."
            ),
        },
    };
    Status {
        node: node.to_string(),
        chain_id: head.chain_id.to_string(),
        height: head.height.0,
        block_age_secs: head.node_time.0.saturating_sub(head.time.0) / 1000,
        role: if head.member.is_some() {
            "member"
        } else {
            "observer"
        },
        shop: head.member.as_ref().map(|a| name_of(members, a)),
        in_step,
        behind,
        sync_problem: head.sync.problem.clone(),
        peers: head.peers,
        quorum: head.quorum.clone(),
        reachable,
        unreachable,
        health,
        verdict,
    }
}

fn age(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

fn print_text(status: &Status) {
    println!("node:      {} (network {})", status.node, status.chain_id);
    println!(
        "block:     {} ({})",
        status.height,
        age(status.block_age_secs)
    );
    match &status.shop {
        Some(shop) => println!("role:      member: {shop}'s node (votes on blocks)"),
        None => println!("role:      observer (follows and verifies, does not vote)"),
    }
    if status.in_step {
        println!("sync:      in step with its peers");
    } else {
        println!(
            "sync:      catching up, {} blocks behind{}",
            status.behind,
            status
                .sync_problem
                .as_ref()
                .map(|p| format!(" ({p})"))
                .unwrap_or_default()
        );
    }
    println!("peers:     {}", status.peers);
    let q = &status.quorum;
    println!(
        "shops:     {} of {} reachable, {} needed to finalize{}",
        q.reachable.len(),
        q.members,
        q.needed,
        if status.reachable.is_empty() {
            String::new()
        } else {
            format!(" ({})", list(&status.reachable))
        }
    );
    if !status.unreachable.is_empty() {
        println!("not reachable: {}", list(&status.unreachable));
    }
    println!();
    println!("{}", status.verdict);
}

/// Runs the command.
pub fn run(_args: StatusArgs, globals: &Globals) -> anyhow::Result<()> {
    let mut health = Health::Healthy;
    with_json_errors(globals.json, || {
        let client = NodeClient::new(&globals.node)?;
        let status = block_on(async {
            let head = client.head().await?;
            let members = client.members().await?;
            Ok::<_, anyhow::Error>(assess(client.url(), &head, &members))
        })??;
        health = status.health;
        if globals.json {
            print_json(&serde_json::to_value(&status)?)
        } else {
            print_text(&status);
            Ok(())
        }
    })?;
    match health.exit_code() {
        0 => Ok(()),
        code => Err(ExitWith(code).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_api::{MemberInfo, SyncInfo};
    use guild_ledger::crypto::{Address, Keypair};
    use guild_ledger::hash::sha256;
    use guild_ledger::types::{ChainId, Height, Points, ShopName, Timestamp};

    fn address(n: u8) -> Address {
        Keypair::from_secret(&[n; 32]).address()
    }

    fn members(n: u8) -> Members {
        let names = ["Bakery", "Cafe", "Bookshop", "Florist"];
        Members {
            height: Height(5),
            members: (0..n)
                .map(|i| MemberInfo {
                    name: ShopName::new(names[i as usize]).unwrap(),
                    address: address(i + 1),
                    since: Height(0),
                    issued: Points::ZERO,
                    reversed: Points::ZERO,
                    reversal_shortfall: Points::ZERO,
                    redeemed_issued: Points::ZERO,
                    redeemed_here: Points::ZERO,
                    expired: Points::ZERO,
                    outstanding: Points::ZERO,
                    issued_today: Points::ZERO,
                })
                .collect(),
        }
    }

    fn head(reachable: &[u8], best_peer: u64, member: Option<u8>) -> Head {
        Head {
            chain_id: ChainId::new("guild-test").unwrap(),
            height: Height(5),
            hash: sha256(&[b"head"]),
            time: Timestamp(1_000_000),
            state_root: sha256(&[b"root"]),
            round: 0,
            mempool: 0,
            peers: reachable.len().saturating_sub(1),
            member: member.map(address),
            syncing: false,
            sync: SyncInfo {
                best_peer_head: Height(best_peer),
                problem: None,
            },
            quorum: QuorumInfo::new(4, reachable.iter().map(|n| address(*n)).collect()),
            node_time: Timestamp(1_012_500),
        }
    }

    #[test]
    fn four_of_four_reachable_and_in_step_is_all_good() {
        let status = assess("http://n", &head(&[1, 2, 3, 4], 5, Some(1)), &members(4));
        assert_eq!(status.health, Health::Healthy);
        assert_eq!(status.health.exit_code(), 0);
        assert_eq!(
            status.verdict,
            "All good: 4 of 4 shops reachable, blocks are final."
        );
        assert_eq!(status.shop.as_deref(), Some("Bakery"));
        assert_eq!(status.role, "member");
        assert_eq!(status.block_age_secs, 12);
        assert!(status.unreachable.is_empty());
    }

    #[test]
    fn three_of_four_is_still_a_quorum_and_names_the_missing_shop() {
        let status = assess("http://n", &head(&[1, 3, 4], 5, Some(1)), &members(4));
        assert_eq!(status.health, Health::Healthy);
        assert_eq!(
            status.verdict,
            "All good: 3 of 4 shops reachable (3 needed), blocks are final; not reachable: Cafe."
        );
        assert_eq!(status.unreachable, vec!["Cafe".to_string()]);
    }

    #[test]
    fn two_of_four_is_no_quorum_with_what_to_do() {
        let status = assess("http://n", &head(&[1, 4], 5, Some(1)), &members(4));
        assert_eq!(status.health, Health::NoQuorum);
        assert_eq!(status.health.exit_code(), EXIT_NO_QUORUM);
        assert!(
            status.verdict.starts_with(
                "No quorum: only 2 of the 4 shops are reachable and 3 are needed to finalize, so no block can become final"
            ),
            "{}",
            status.verdict
        );
        assert!(
            status.verdict.contains("(Bookshop, Cafe)"),
            "{}",
            status.verdict
        );
        assert_eq!(
            status.reachable,
            vec!["Bakery".to_string(), "Florist".to_string()]
        );
    }

    #[test]
    fn a_node_far_behind_is_catching_up() {
        let status = assess("http://n", &head(&[1, 2, 3, 4], 90, Some(1)), &members(4));
        assert_eq!(status.health, Health::CatchingUp);
        assert_eq!(status.health.exit_code(), EXIT_CATCHING_UP);
        assert_eq!(status.behind, 85);
        assert!(!status.in_step);
        assert!(status.verdict.starts_with("Catching up: 85 blocks behind"));
        // One block behind is in step (the block is being applied).
        let status = assess("http://n", &head(&[1, 2, 3, 4], 6, Some(1)), &members(4));
        assert_eq!(status.health, Health::Healthy);
    }

    #[test]
    fn a_stuck_sync_says_why() {
        let mut h = head(&[1, 2, 3, 4], 9, Some(1));
        h.sync.problem = Some("the peers' blocks are too large".into());
        let status = assess("http://n", &h, &members(4));
        assert_eq!(status.health, Health::CatchingUp);
        assert!(
            status
                .verdict
                .ends_with("and stuck: the peers' blocks are too large."),
            "{}",
            status.verdict
        );
    }

    #[test]
    fn an_observer_is_named_so() {
        let status = assess("http://n", &head(&[1, 2, 3], 5, None), &members(4));
        assert_eq!(status.role, "observer");
        assert_eq!(status.shop, None);
        assert_eq!(status.health, Health::Healthy);
    }
}
