//! Chain-wide reads: head, members, parameters, proposals, supply,
//! settlement, and final blocks.

use guild_ledger::block::{BlockHeader, CommitCertificate, FinalBlock, quorum};
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::params::Params;
use guild_ledger::state::{ProposalStatus, State};
use guild_ledger::tx::{GovernanceAction, Transaction, TxId};
use guild_ledger::types::{ChainId, Height, Points, ProposalId, ShopName, Timestamp};
use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::ToSchema;

/// `GET /v1/head`: where the node stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Head {
    /// The network's id.
    pub chain_id: ChainId,
    /// Height of the last final block.
    pub height: Height,
    /// Its hash.
    pub hash: Hash,
    /// Its time (chosen by its proposer).
    pub time: Timestamp,
    /// The state root after it.
    pub state_root: Hash,
    /// Consensus round at the next height.
    pub round: u32,
    /// Transactions waiting in the mempool.
    pub mempool: usize,
    /// Connected peers.
    pub peers: usize,
    /// The node's member address (`null` for an observer).
    #[schema(required = true)]
    pub member: Option<Address>,
    /// Catching up with the network.
    pub syncing: bool,
    /// How catching up from peers goes.
    pub sync: SyncInfo,
    /// Which member shops this node reaches, and whether they are enough
    /// to make blocks final.
    pub quorum: QuorumInfo,
    /// The node's wall clock when it answered, in milliseconds since the
    /// Unix epoch: the instant account balances (which lots have expired)
    /// and members' `issued_today` are computed at.
    pub node_time: Timestamp,
}

/// How far the peers are, and why this node cannot catch up if it cannot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SyncInfo {
    /// The highest head a connected peer reported (0 with no peers).
    pub best_peer_head: Height,
    /// Why this node is behind its peers and cannot catch up (the last
    /// failure); `null` when it is not.
    #[schema(required = true)]
    pub problem: Option<String>,
}

/// Which member shops a node reaches, against what finality needs.
///
/// A member is *reachable* when it is the answering node itself, or when
/// that node holds a live peer connection to the member's node (a member's
/// node has the shop's key as its network identity). `reachable` changes
/// the moment a member's connection closes or opens. With fewer reachable
/// members than `needed`, no block can become final: transactions wait in
/// the mempool until enough members' nodes are back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct QuorumInfo {
    /// Member shops at the next height.
    pub members: usize,
    /// Members whose votes make a block final: more than 2/3 of `members`.
    pub needed: usize,
    /// The reachable members' addresses (this node's own shop included if
    /// it is a member), in address order.
    pub reachable: Vec<Address>,
    /// Whether `reachable` has at least `needed` members.
    pub has_quorum: bool,
}

impl QuorumInfo {
    /// Builds the answer from the members and the reachable ones.
    pub fn new(members: usize, reachable: Vec<Address>) -> QuorumInfo {
        let needed = quorum(members);
        QuorumInfo {
            members,
            needed,
            has_quorum: members > 0 && reachable.len() >= needed,
            reachable,
        }
    }

    /// "only 2 of the 4 shops are reachable and 3 are needed to finalize"
    /// or "4 of 4 shops reachable (3 needed)".
    pub fn describe(&self) -> String {
        let shops = if self.members == 1 { "shop" } else { "shops" };
        if self.has_quorum {
            format!(
                "{} of {} {shops} reachable ({} needed to finalize)",
                self.reachable.len(),
                self.members,
                self.needed
            )
        } else {
            let verb = if self.reachable.len() == 1 {
                "is"
            } else {
                "are"
            };
            format!(
                "only {} of the {} {shops} {verb} reachable and {} are needed to finalize",
                self.reachable.len(),
                self.members,
                self.needed
            )
        }
    }
}

/// A member shop with its running totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MemberInfo {
    /// Registered name.
    pub name: ShopName,
    /// Its key.
    pub address: Address,
    /// Height it became a member.
    pub since: Height,
    /// Points it ever issued.
    pub issued: Points,
    /// Points of its issue reversed (refunds).
    pub reversed: Points,
    /// Points a reversal could not take back (already spent).
    pub reversal_shortfall: Points,
    /// Points of its issue redeemed (anywhere).
    pub redeemed_issued: Points,
    /// Points redeemed at this shop.
    pub redeemed_here: Points,
    /// Points of its issue that expired.
    pub expired: Points,
    /// Points of its issue still held by customers.
    pub outstanding: Points,
    /// Points issued during the current UTC day (by the node's wall clock,
    /// `node_time` of `GET /v1/head`), for the daily cap.
    pub issued_today: Points,
}

/// `GET /v1/members`: every member, by address, as of `height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Members {
    /// The height of the snapshot (the members govern the next block).
    pub height: Height,
    /// The member shops, by address.
    pub members: Vec<MemberInfo>,
}

/// Builds the members' answer; `issued_today` counts only if the member's
/// last issue was on `now`'s UTC day.
pub fn members(state: &State, now: Timestamp) -> Members {
    Members {
        height: state.chain().height,
        members: state
            .members()
            .map(|m| MemberInfo {
                name: m.name.clone(),
                address: m.address,
                since: m.since,
                issued: m.stats.issued,
                reversed: m.stats.reversed,
                reversal_shortfall: m.stats.reversal_shortfall,
                redeemed_issued: m.stats.redeemed_issued,
                redeemed_here: m.stats.redeemed_here,
                expired: m.stats.expired,
                outstanding: m.stats.outstanding(),
                issued_today: if m.issue_day == now.day() {
                    m.issued_today
                } else {
                    Points::ZERO
                },
            })
            .collect(),
    }
}

/// `GET /v1/params`: the parameters in force, with the height they were
/// read at.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ParamsInfo {
    /// The height of the snapshot.
    pub height: Height,
    /// The parameters (their fields sit beside `height`).
    #[serde(flatten)]
    pub params: Params,
}

/// Where a proposal stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for approvals.
    Open,
    /// Approved by more than 2/3; takes effect at `effective`.
    Passed,
    /// Carried out at `effective`.
    Executed,
    /// Passed, but could not be carried out (see `failure`).
    Failed,
}

impl ProposalState {
    /// The state's name as on the wire (`open`, `passed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalState::Open => "open",
            ProposalState::Passed => "passed",
            ProposalState::Executed => "executed",
            ProposalState::Failed => "failed",
        }
    }
}

impl fmt::Display for ProposalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A governance proposal and where it stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProposalInfo {
    /// Its id.
    pub id: ProposalId,
    /// Who proposed it.
    pub proposer: Address,
    /// The proposer's name (`null` once it is no longer a member).
    #[schema(required = true)]
    pub proposer_name: Option<ShopName>,
    /// What it does.
    pub action: GovernanceAction,
    /// Height it was made at.
    pub created: Height,
    /// Members who approved it.
    pub approvals: Vec<Address>,
    /// Approvals by current members (the ones that count).
    pub approving: usize,
    /// Approvals needed to pass with the current members.
    pub needed: usize,
    /// `open`, `passed`, `executed` or `failed`.
    pub status: ProposalState,
    /// The first height governed by the change (once passed).
    #[schema(required = true)]
    pub effective: Option<Height>,
    /// Why a passed proposal could not be carried out.
    #[schema(required = true)]
    pub failure: Option<String>,
}

/// `GET /v1/proposals`: every proposal, oldest first, as of `height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Proposals {
    /// The height of the snapshot.
    pub height: Height,
    /// The proposals, oldest first.
    pub proposals: Vec<ProposalInfo>,
}

/// Builds the proposals' answer.
pub fn proposals(state: &State) -> Proposals {
    let members = state.member_set();
    Proposals {
        height: state.chain().height,
        proposals: state
            .proposals()
            .map(|p| {
                let (status, effective, failure) = match &p.status {
                    ProposalStatus::Open => (ProposalState::Open, None, None),
                    ProposalStatus::Passed { effective } => {
                        (ProposalState::Passed, Some(*effective), None)
                    }
                    ProposalStatus::Executed { effective } => {
                        (ProposalState::Executed, Some(*effective), None)
                    }
                    ProposalStatus::Failed { effective, reason } => (
                        ProposalState::Failed,
                        Some(*effective),
                        Some(reason.to_string()),
                    ),
                };
                ProposalInfo {
                    id: p.id,
                    proposer: p.proposer,
                    proposer_name: state.member(&p.proposer).map(|m| m.name.clone()),
                    action: p.action.clone(),
                    created: p.created,
                    approvals: p.approvals.clone(),
                    approving: p.approvals.iter().filter(|a| members.contains(a)).count(),
                    needed: quorum(members.len()),
                    status,
                    effective,
                    failure,
                }
            })
            .collect(),
    }
}

/// `GET /v1/supply`: network-wide totals.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SupplyInfo {
    /// The height of the snapshot.
    pub height: Height,
    /// Points ever issued.
    pub issued: Points,
    /// Points reversed.
    pub reversed: Points,
    /// Points redeemed.
    pub redeemed: Points,
    /// Points expired.
    pub expired: Points,
    /// `issued - reversed - redeemed - expired`: points held by accounts.
    pub outstanding: Points,
}

/// Builds the supply's answer.
pub fn supply(state: &State) -> SupplyInfo {
    let supply = state.supply();
    SupplyInfo {
        height: state.chain().height,
        issued: supply.issued,
        reversed: supply.reversed,
        redeemed: supply.redeemed,
        expired: supply.expired,
        outstanding: supply.outstanding(),
    }
}

/// `GET /v1/settlement`: who owes whom.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Settlement {
    /// The height of the snapshot.
    pub height: Height,
    /// What a point is worth between shops, in cents.
    pub settlement_cents_per_point: u64,
    /// Every non-zero debt, by debtor then creditor.
    pub debts: Vec<DebtInfo>,
}

/// One debt between two shops.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DebtInfo {
    /// The shop that owes.
    pub debtor: Address,
    /// Its name.
    #[schema(required = true)]
    pub debtor_name: Option<ShopName>,
    /// The shop owed.
    pub creditor: Address,
    /// Its name.
    #[schema(required = true)]
    pub creditor_name: Option<ShopName>,
    /// Points owed.
    pub points: Points,
    /// `points × settlement_cents_per_point` (`null` if it would overflow).
    #[schema(required = true)]
    pub cents: Option<u64>,
}

/// Builds the settlement's answer: every non-zero debt.
pub fn settlement(state: &State) -> Settlement {
    let rate = state.params().settlement_cents_per_point.0;
    let name = |a: &Address| state.member(a).map(|m| m.name.clone());
    Settlement {
        height: state.chain().height,
        settlement_cents_per_point: rate,
        debts: state
            .debts()
            .map(|((debtor, creditor), points)| DebtInfo {
                debtor: *debtor,
                debtor_name: name(debtor),
                creditor: *creditor,
                creditor_name: name(creditor),
                points: *points,
                cents: points.0.checked_mul(rate),
            })
            .collect(),
    }
}

/// A transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockTx {
    /// Its id.
    pub id: TxId,
    /// Its kind (`earn`, `transfer`, …).
    pub kind: String,
    /// The transaction.
    pub tx: Transaction,
}

/// `GET /v1/blocks/{height}`: a final block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockInfo {
    /// Its height.
    pub height: Height,
    /// Its hash.
    pub hash: Hash,
    /// Its header.
    pub header: BlockHeader,
    /// The certificate that makes it final.
    pub certificate: CommitCertificate,
    /// Its transactions, in order.
    pub txs: Vec<BlockTx>,
    /// Hex of `encode(FinalBlock)`, as stored: what an auditor replays.
    pub hex: String,
}

/// Builds a block's answer from the block and its stored bytes.
pub fn block_info(chain_id: &ChainId, block: FinalBlock, bytes: &[u8]) -> BlockInfo {
    let header = block.block.header;
    BlockInfo {
        height: header.height,
        hash: header.hash(),
        txs: block
            .block
            .txs
            .into_iter()
            .map(|signed| BlockTx {
                id: signed.tx.id(chain_id),
                kind: signed.tx.body.kind().to_string(),
                tx: signed.tx,
            })
            .collect(),
        header,
        certificate: block.certificate,
        hex: hex::encode(bytes),
    }
}
