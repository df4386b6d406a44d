//! `GET /v1/accounts/{address}` and `…/proof`.

use guild_ledger::block::{BlockHeader, CommitCertificate};
use guild_ledger::codec;
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::state::{Account, Lot, State};
use guild_ledger::types::{ChainId, Height, Nonce, Points, ShopName, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One lot of an account, with its issuer's name (`None` once the issuer
/// is no longer a member).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LotInfo {
    /// The shop that issued the points.
    pub issuer: Address,
    /// Its name (`null` if it is no longer a member).
    #[schema(required = true)]
    pub issuer_name: Option<ShopName>,
    /// How many points.
    pub amount: Points,
    /// The first instant they no longer count.
    pub expires_at: Timestamp,
}

/// `GET /v1/accounts/{address}`: an account as of a snapshot and the
/// node's wall clock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AccountInfo {
    /// The account.
    pub address: Address,
    /// Points in lots that have not expired by the node's clock.
    pub balance: Points,
    /// The nonce the account's next transaction must carry.
    pub nonce: Nonce,
    /// Lots still valid, soonest expiry first.
    pub lots: Vec<LotInfo>,
    /// Lots past their expiry that no block has removed yet (not counted).
    pub expired: Vec<LotInfo>,
    /// The height of the snapshot.
    pub height: Height,
}

fn lot_info(state: &State, lot: &Lot) -> LotInfo {
    LotInfo {
        issuer: lot.issuer,
        issuer_name: state.member(&lot.issuer).map(|m| m.name.clone()),
        amount: lot.amount,
        expires_at: lot.expires_at,
    }
}

/// Builds an account's answer: a lot counts while `expires_at > now` (the
/// ledger removes it at the first block with time `>= expires_at`). An
/// unknown account holds nothing and must use nonce 0.
pub fn account_info(state: &State, address: Address, now: Timestamp) -> AccountInfo {
    let empty = Account::default();
    let account = state.account(&address).unwrap_or(&empty);
    let (valid, expired): (Vec<&Lot>, Vec<&Lot>) =
        account.lots.iter().partition(|lot| lot.expires_at > now);
    let balance = valid.iter().fold(Points::ZERO, |sum, lot| {
        Points(sum.0.saturating_add(lot.amount.0))
    });
    AccountInfo {
        address,
        balance,
        nonce: account.nonce,
        lots: valid.into_iter().map(|l| lot_info(state, l)).collect(),
        expired: expired.into_iter().map(|l| lot_info(state, l)).collect(),
        height: state.chain().height,
    }
}

/// `GET /v1/accounts/{address}/proof`: an account proof and everything
/// needed to check it against the chain, all from one snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProofInfo {
    /// The account proven.
    pub address: Address,
    /// The network.
    pub chain_id: ChainId,
    /// Height of the header.
    pub height: Height,
    /// Hash of the header.
    pub block_hash: Hash,
    /// State root of the header.
    pub state_root: Hash,
    /// The header in JSON.
    pub header: BlockHeader,
    /// Hex of `encode(BlockHeader)`.
    pub header_hex: String,
    /// Hex of `encode(CommitCertificate)`; `null` at genesis.
    #[schema(required = true)]
    pub certificate_hex: Option<String>,
    /// Hex of `encode(AccountProof)`.
    pub proof_hex: String,
    /// The proven record in JSON (`null`: the account does not exist).
    #[schema(required = true)]
    pub account: Option<Account>,
    /// The member set that certifies the header (valid at `height`).
    pub members: Vec<Address>,
}

/// Builds the proof of `address` in `state`, whose root is `head`'s state
/// root (the caller checks that), with `head`'s certificate (`None` at
/// genesis) and the members valid at its height.
pub fn proof_info(
    chain_id: &ChainId,
    state: &State,
    head: &BlockHeader,
    certificate: Option<&CommitCertificate>,
    members: Vec<Address>,
    address: Address,
) -> ProofInfo {
    let proof = state.prove_account(&address);
    ProofInfo {
        address,
        chain_id: chain_id.clone(),
        height: head.height,
        block_hash: head.hash(),
        state_root: head.state_root,
        header: head.clone(),
        header_hex: hex::encode(codec::encode(head)),
        certificate_hex: certificate.map(|c| hex::encode(codec::encode(c))),
        proof_hex: hex::encode(codec::encode(&proof)),
        account: proof.account,
        members,
    }
}
