//! The JSON shapes of the API's answers, and the pure functions that build
//! them from ledger values (no I/O, no clock: `now` is an argument).

use guild_ledger::block::{BlockHeader, CommitCertificate, FinalBlock, quorum};
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::params::Params;
use guild_ledger::state::{Account, Lot, Proposal, ProposalStatus, State};
use guild_ledger::tx::{GovernanceAction, SignedTransaction, Transaction, TxId};
use guild_ledger::types::{ChainId, Height, Nonce, Points, ShopName, Timestamp};
use serde::Serialize;

/// The wall clock in milliseconds since the Unix epoch (0 if the clock is
/// before 1970).
pub fn now_ms() -> Timestamp {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    Timestamp(u64::try_from(ms).unwrap_or(u64::MAX))
}

/// `"final"` or `"pending"`.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum TxStatus {
    /// In a final block.
    Final,
    /// Waiting in the mempool.
    Pending,
}

/// The answer to `POST /v1/tx`.
#[derive(Serialize)]
pub struct Submission {
    pub id: TxId,
    pub status: TxStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<Height>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
}

/// A final transaction, with where and when it was included.
#[derive(Serialize)]
pub struct FinalTx {
    pub id: TxId,
    pub status: TxStatus,
    pub height: Height,
    pub index: u32,
    pub time: Timestamp,
    pub kind: &'static str,
    pub tx: Transaction,
}

/// One entry of an account's history.
#[derive(Serialize)]
pub struct HistoryEntry {
    pub id: TxId,
    pub height: Height,
    pub index: u32,
    pub time: Timestamp,
    pub kind: &'static str,
    pub tx: Transaction,
}

/// One lot of an account, with its issuer's name (`None` once the issuer
/// is no longer a member).
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct LotJson {
    pub issuer: Address,
    pub issuer_name: Option<ShopName>,
    pub amount: Points,
    pub expires_at: Timestamp,
}

/// An account as of a snapshot and a wall-clock instant.
#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct AccountJson {
    pub address: Address,
    /// Points in lots that have not expired at `now`.
    pub balance: Points,
    /// The nonce the account's next transaction must carry.
    pub nonce: Nonce,
    /// Lots still valid at `now`, soonest expiry first.
    pub lots: Vec<LotJson>,
    /// Lots past their expiry that no block has removed yet (not counted).
    pub expired: Vec<LotJson>,
    /// The height of the snapshot.
    pub height: Height,
}

fn lot_json(state: &State, lot: &Lot) -> LotJson {
    LotJson {
        issuer: lot.issuer,
        issuer_name: state.member(&lot.issuer).map(|m| m.name.clone()),
        amount: lot.amount,
        expires_at: lot.expires_at,
    }
}

/// Builds an account's answer: a lot counts while `expires_at > now` (the
/// ledger removes it at the first block with time `>= expires_at`). An
/// unknown account holds nothing and must use nonce 0.
pub fn account_json(state: &State, address: Address, now: Timestamp) -> AccountJson {
    let empty = Account::default();
    let account = state.account(&address).unwrap_or(&empty);
    let (valid, expired): (Vec<&Lot>, Vec<&Lot>) =
        account.lots.iter().partition(|lot| lot.expires_at > now);
    let balance = valid.iter().fold(Points::ZERO, |sum, lot| {
        Points(sum.0.saturating_add(lot.amount.0))
    });
    AccountJson {
        address,
        balance,
        nonce: account.nonce,
        lots: valid.into_iter().map(|l| lot_json(state, l)).collect(),
        expired: expired.into_iter().map(|l| lot_json(state, l)).collect(),
        height: state.chain().height,
    }
}

/// An account proof and everything needed to check it against the chain,
/// all from one snapshot.
#[derive(Serialize)]
pub struct ProofJson {
    pub address: Address,
    pub chain_id: ChainId,
    pub height: Height,
    pub block_hash: Hash,
    pub state_root: Hash,
    pub header: BlockHeader,
    pub header_hex: String,
    pub certificate_hex: Option<String>,
    pub proof_hex: String,
    pub account: Option<Account>,
    pub members: Vec<Address>,
}

/// A transaction of a block.
#[derive(Serialize)]
pub struct BlockTx {
    pub id: TxId,
    pub kind: &'static str,
    pub tx: Transaction,
}

/// A final block.
#[derive(Serialize)]
pub struct BlockJson {
    pub height: Height,
    pub hash: Hash,
    pub header: BlockHeader,
    pub certificate: CommitCertificate,
    pub txs: Vec<BlockTx>,
    pub hex: String,
}

/// Builds a block's answer from the block and its stored bytes.
pub fn block_json(chain_id: &ChainId, block: FinalBlock, bytes: &[u8]) -> BlockJson {
    let header = block.block.header;
    BlockJson {
        height: header.height,
        hash: header.hash(),
        txs: block
            .block
            .txs
            .into_iter()
            .map(|signed| BlockTx {
                id: signed.tx.id(chain_id),
                kind: signed.tx.body.kind(),
                tx: signed.tx,
            })
            .collect(),
        header,
        certificate: block.certificate,
        hex: hex::encode(bytes),
    }
}

/// Where the node stands.
#[derive(Serialize)]
pub struct HeadJson {
    pub chain_id: ChainId,
    pub height: Height,
    pub hash: Hash,
    pub time: Timestamp,
    pub state_root: Hash,
    pub round: u32,
    pub mempool: usize,
    pub peers: usize,
    pub member: Option<Address>,
    pub syncing: bool,
    /// How catching up from peers goes.
    pub sync: SyncJson,
}

/// How far the peers are, and why this node cannot catch up if it cannot.
#[derive(Serialize)]
pub struct SyncJson {
    /// The highest head a connected peer reported (0 with no peers).
    pub best_peer_head: Height,
    /// Why this node is behind its peers and cannot catch up (the last
    /// failure); `null` when it is not.
    pub problem: Option<String>,
}

/// A member shop with its running totals.
#[derive(Serialize)]
pub struct MemberJson {
    pub name: ShopName,
    pub address: Address,
    pub since: Height,
    pub issued: Points,
    pub reversed: Points,
    pub reversal_shortfall: Points,
    pub redeemed_issued: Points,
    pub redeemed_here: Points,
    pub expired: Points,
    /// Points of its issue still held by customers.
    pub outstanding: Points,
    /// Points issued during the current UTC day (by the wall clock), for
    /// the daily cap.
    pub issued_today: Points,
}

/// Every member, by address.
pub fn members_json(state: &State, now: Timestamp) -> Vec<MemberJson> {
    state
        .members()
        .map(|m| MemberJson {
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
        .collect()
}

/// The parameters in force, with the height they were read at.
#[derive(Serialize)]
pub struct ParamsJson {
    pub height: Height,
    #[serde(flatten)]
    pub params: Params,
}

/// A governance proposal and where it stands.
#[derive(Serialize)]
pub struct ProposalJson {
    pub id: guild_ledger::types::ProposalId,
    pub proposer: Address,
    pub proposer_name: Option<ShopName>,
    pub action: GovernanceAction,
    pub created: Height,
    pub approvals: Vec<Address>,
    /// Approvals by current members (the ones that count).
    pub approving: usize,
    /// Approvals needed to pass with the current members.
    pub needed: usize,
    /// `open`, `passed`, `executed` or `failed`.
    pub status: &'static str,
    /// The first height governed by the change (once passed).
    pub effective: Option<Height>,
    /// Why a passed proposal could not be carried out.
    pub failure: Option<String>,
}

/// Every proposal, oldest first.
pub fn proposals_json(state: &State) -> Vec<ProposalJson> {
    let members = state.member_set();
    state
        .proposals()
        .map(|p: &Proposal| {
            let (status, effective, failure) = match &p.status {
                ProposalStatus::Open => ("open", None, None),
                ProposalStatus::Passed { effective } => ("passed", Some(*effective), None),
                ProposalStatus::Executed { effective } => ("executed", Some(*effective), None),
                ProposalStatus::Failed { effective, reason } => {
                    ("failed", Some(*effective), Some(reason.to_string()))
                }
            };
            ProposalJson {
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
        .collect()
}

/// Network-wide totals.
#[derive(Serialize)]
pub struct SupplyJson {
    pub height: Height,
    pub issued: Points,
    pub reversed: Points,
    pub redeemed: Points,
    pub expired: Points,
    /// `issued - reversed - redeemed - expired`: points held by accounts.
    pub outstanding: Points,
}

/// Who owes whom.
#[derive(Serialize)]
pub struct SettlementJson {
    pub height: Height,
    pub settlement_cents_per_point: u64,
    pub debts: Vec<DebtJson>,
}

/// One debt between two shops.
#[derive(Serialize)]
pub struct DebtJson {
    pub debtor: Address,
    pub debtor_name: Option<ShopName>,
    pub creditor: Address,
    pub creditor_name: Option<ShopName>,
    pub points: Points,
    /// `points × settlement_cents_per_point` (`None` if it would overflow).
    pub cents: Option<u64>,
}

/// Every non-zero debt, by debtor then creditor.
pub fn settlement_json(state: &State) -> SettlementJson {
    let rate = state.params().settlement_cents_per_point.0;
    let name = |a: &Address| state.member(a).map(|m| m.name.clone());
    SettlementJson {
        height: state.chain().height,
        settlement_cents_per_point: rate,
        debts: state
            .debts()
            .map(|((debtor, creditor), points)| DebtJson {
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

/// A transaction in an event.
#[derive(Serialize)]
pub struct EventTx {
    pub id: TxId,
    pub kind: &'static str,
    pub author: Address,
    pub tx: Transaction,
}

/// The data of an SSE `block` event.
#[derive(Serialize)]
pub struct BlockEvent {
    pub height: Height,
    pub hash: Hash,
    pub time: Timestamp,
    pub txs: Vec<EventTx>,
}

/// The data of an SSE `lagged` event.
#[derive(Serialize)]
pub struct LaggedEvent {
    /// Blocks this subscriber missed.
    pub skipped: u64,
}

/// An event transaction from a block's transaction and its id.
pub fn event_tx(id: TxId, signed: &SignedTransaction) -> EventTx {
    EventTx {
        id,
        kind: signed.tx.body.kind(),
        author: signed.tx.author,
        tx: signed.tx.clone(),
    }
}
