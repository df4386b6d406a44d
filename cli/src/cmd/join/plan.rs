//! The decisions of `guild join` that need no files, network or clock: is
//! the name free and the key new, what the members must run, and how far
//! the vote has got. Pure, so each message is tested as it is printed.

use guild_ledger::Address;
use guild_ledger::block::quorum;
use guild_ledger::state::{ProposalStatus, State};
use guild_ledger::tx::GovernanceAction;
use guild_ledger::types::{Height, ShopName};

/// A member shop as far as joining is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KnownMember {
    /// Its registered name.
    pub name: ShopName,
    /// Its key.
    pub address: Address,
}

/// Why this shop cannot join under this name with this key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinRefused {
    /// Another member shop has the name.
    #[error(
        "the name {name} is already taken by a member shop ({holder}); choose another with --name"
    )]
    NameTaken {
        /// The name asked for.
        name: ShopName,
        /// The member that holds it.
        holder: Address,
    },
    /// The key already belongs to a member (under another name, or before
    /// this folder was set up).
    #[error(
        "the key {address} is already the member shop {name}: it has nothing to join; \
         start its node with `guild node --key WALLET` (or `guild node --config DIR/node.json`)"
    )]
    AlreadyMember {
        /// The key.
        address: Address,
        /// Its name on the ledger.
        name: ShopName,
    },
}

/// Where the shop stands with respect to the member list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Not a member; the name is free.
    Candidate,
    /// Already a member under this very name (a join finished earlier).
    Member,
}

/// Checks the name and key against the members. `resuming` is true when
/// this folder was set up by an earlier `guild join`: a key that became a
/// member under this name since is then the happy ending, not a mistake.
pub fn check(
    name: &ShopName,
    address: &Address,
    members: &[KnownMember],
    resuming: bool,
) -> Result<Standing, JoinRefused> {
    if let Some(me) = members.iter().find(|m| m.address == *address) {
        if resuming && me.name.folded() == name.folded() {
            return Ok(Standing::Member);
        }
        return Err(JoinRefused::AlreadyMember {
            address: *address,
            name: me.name.clone(),
        });
    }
    if let Some(holder) = members.iter().find(|m| m.name.folded() == name.folded()) {
        return Err(JoinRefused::NameTaken {
            name: name.clone(),
            holder: holder.address,
        });
    }
    Ok(Standing::Candidate)
}

/// The members of a state, for [`check`].
pub fn members_of(state: &State) -> Vec<KnownMember> {
    state
        .members()
        .map(|m| KnownMember {
            name: m.name.clone(),
            address: m.address,
        })
        .collect()
}

/// What the existing members must do, as printed for the shop owner to
/// pass on (by phone, by e-mail): the exact commands, how many approvals
/// the vote needs, and when it takes effect.
pub fn vote_instructions(
    name: &ShopName,
    address: &Address,
    members: usize,
    governance_delay: u64,
) -> String {
    let needed = quorum(members);
    let others = needed.saturating_sub(1);
    let approvals = if others == 0 {
        "Its own approval is enough: there is no other vote to wait for.".to_string()
    } else {
        format!(
            "Then {others} other member{} approve{} it with the proposal number it prints:\n\n    \
             guild shop approve N\n\n\
             The vote needs {needed} approvals of the {members} member shops (the proposer's counts).",
            plural(others),
            if others == 1 { "s" } else { "" },
        )
    };
    format!(
        "Ask the member shops to vote {name} in. One of them runs, with its own wallet:\n\n    \
         guild shop propose add-member --name {name} --address {address}\n\n\
         {approvals} {name} becomes a member {governance_delay} block{} after the vote passes.",
        plural(governance_delay as usize),
    )
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// How far the vote on adding `address` has got, as of `state`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteProgress {
    /// No proposal adds this key yet.
    NotProposed,
    /// Proposed, waiting for approvals.
    Open {
        /// Its number.
        id: u64,
        /// Approvals from current members.
        approving: usize,
        /// Approvals needed.
        needed: usize,
    },
    /// Passed; membership starts at `effective`.
    Passed {
        /// Its number.
        id: u64,
        /// The first height at which the shop is a member.
        effective: Height,
    },
    /// Passed but could not be carried out.
    Failed {
        /// Its number.
        id: u64,
        /// What the ledger said.
        reason: String,
    },
}

/// The most recent proposal to add `address`, and how far it has got.
pub fn vote_progress(state: &State, address: &Address) -> VoteProgress {
    let members = state.member_set();
    let latest = state
        .proposals()
        .filter(
            |p| matches!(&p.action, GovernanceAction::AddMember { address: a, .. } if a == address),
        )
        .max_by_key(|p| p.id);
    let Some(p) = latest else {
        return VoteProgress::NotProposed;
    };
    match &p.status {
        ProposalStatus::Open => VoteProgress::Open {
            id: p.id.0,
            approving: p.approvals.iter().filter(|a| members.contains(a)).count(),
            needed: quorum(members.len()),
        },
        ProposalStatus::Passed { effective } | ProposalStatus::Executed { effective } => {
            VoteProgress::Passed {
                id: p.id.0,
                effective: *effective,
            }
        }
        ProposalStatus::Failed { reason, .. } => VoteProgress::Failed {
            id: p.id.0,
            reason: reason.to_string(),
        },
    }
}

/// What the node knows of the network, for the progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeProgress {
    /// Its head height.
    pub height: Height,
    /// Peers connected.
    pub peers: usize,
    /// Caught up with the best head its peers announced.
    pub in_step: bool,
}

/// One progress line ("height 12, in step, 3 peers; proposal #2: 1 of 3
/// approvals"), printed whenever it changes.
pub fn progress_line(node: &NodeProgress, vote: &VoteProgress) -> String {
    let step = if node.peers == 0 {
        "looking for peers"
    } else if node.in_step {
        "in step"
    } else {
        "catching up"
    };
    let vote = match vote {
        VoteProgress::NotProposed => "no proposal to add this shop yet".to_string(),
        VoteProgress::Open {
            id,
            approving,
            needed,
        } => format!("proposal #{id}: {approving} of {needed} approvals"),
        VoteProgress::Passed { id, effective } => {
            format!("proposal #{id} passed: a member from block {effective}")
        }
        VoteProgress::Failed { id, reason } => format!("proposal #{id} failed: {reason}"),
    };
    format!(
        "height {}, {step}, {} peer{}; {vote}",
        node.height,
        node.peers,
        plural(node.peers)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;

    fn member(name: &str, seed: u8) -> KnownMember {
        KnownMember {
            name: ShopName::new(name).unwrap(),
            address: Keypair::from_secret(&[seed; 32]).address(),
        }
    }

    fn name(text: &str) -> ShopName {
        ShopName::new(text).unwrap()
    }

    #[test]
    fn a_new_key_under_a_free_name_may_join() {
        let members = [member("Bakery", 1), member("Cafe", 2)];
        let me = Keypair::from_secret(&[9; 32]).address();
        assert_eq!(
            check(&name("Butcher"), &me, &members, false),
            Ok(Standing::Candidate)
        );
    }

    #[test]
    fn a_taken_name_is_refused_whatever_its_case() {
        let members = [member("Bakery", 1), member("Cafe", 2)];
        let me = Keypair::from_secret(&[9; 32]).address();
        let refused = check(&name("bakery"), &me, &members, false).unwrap_err();
        assert_eq!(
            refused,
            JoinRefused::NameTaken {
                name: name("bakery"),
                holder: members[0].address
            }
        );
        assert!(
            refused
                .to_string()
                .starts_with("the name bakery is already taken by a member shop (guild1"),
            "{refused}"
        );
        assert!(refused.to_string().ends_with("choose another with --name"));
    }

    #[test]
    fn a_key_that_is_already_a_member_is_refused() {
        let members = [member("Bakery", 1), member("Cafe", 2)];
        let refused = check(&name("Butcher"), &members[1].address, &members, false).unwrap_err();
        assert!(
            matches!(&refused, JoinRefused::AlreadyMember { name, .. } if name.as_str() == "Cafe")
        );
        assert!(
            refused
                .to_string()
                .contains("is already the member shop Cafe"),
            "{refused}"
        );
        // Even under its own name, unless this folder's join made it one.
        assert!(check(&name("Cafe"), &members[1].address, &members, false).is_err());
        assert_eq!(
            check(&name("cafe"), &members[1].address, &members, true),
            Ok(Standing::Member)
        );
    }

    #[test]
    fn the_instructions_name_the_commands_and_the_vote() {
        let me = Keypair::from_secret(&[9; 32]).address();
        let text = vote_instructions(&name("Butcher"), &me, 4, 2);
        assert!(
            text.contains(&format!(
                "    guild shop propose add-member --name Butcher --address {me}\n"
            )),
            "{text}"
        );
        assert!(text.contains("Then 2 other members approve it"), "{text}");
        assert!(text.contains("    guild shop approve N\n"), "{text}");
        assert!(
            text.contains("The vote needs 3 approvals of the 4 member shops"),
            "{text}"
        );
        assert!(
            text.ends_with("Butcher becomes a member 2 blocks after the vote passes."),
            "{text}"
        );
        let two = vote_instructions(&name("Butcher"), &me, 2, 1);
        assert!(two.contains("Then 1 other member approves it"), "{two}");
        assert!(
            two.contains("needs 2 approvals of the 2 member shops"),
            "{two}"
        );
        assert!(two.ends_with("1 block after the vote passes."), "{two}");
        let alone = vote_instructions(&name("Butcher"), &me, 1, 2);
        assert!(alone.contains("Its own approval is enough"), "{alone}");
        assert!(!alone.contains("guild shop approve"), "{alone}");
    }

    #[test]
    fn the_progress_line_says_where_the_node_and_the_vote_are() {
        let mut node = NodeProgress {
            height: Height(0),
            peers: 0,
            in_step: false,
        };
        assert_eq!(
            progress_line(&node, &VoteProgress::NotProposed),
            "height 0, looking for peers, 0 peers; no proposal to add this shop yet"
        );
        node.peers = 1;
        assert_eq!(
            progress_line(
                &node,
                &VoteProgress::Open {
                    id: 2,
                    approving: 1,
                    needed: 3
                }
            ),
            "height 0, catching up, 1 peer; proposal #2: 1 of 3 approvals"
        );
        node.in_step = true;
        node.height = Height(17);
        node.peers = 4;
        assert_eq!(
            progress_line(
                &node,
                &VoteProgress::Passed {
                    id: 2,
                    effective: Height(19)
                }
            ),
            "height 17, in step, 4 peers; proposal #2 passed: a member from block 19"
        );
    }
}
