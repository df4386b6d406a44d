//! The node as seen from the outside (the HTTP API, tests, the load tool):
//! a cheap, cloneable [`NodeHandle`].
//!
//! Reads never wait for the engine: the current [`ChainView`] (an immutable
//! snapshot; the ledger's state is a persistent map, so a snapshot costs a
//! pointer copy) is published on a `watch` channel after every final block,
//! and stored blocks are read straight from the [`Store`]. Only submissions
//! go through the engine's bounded mailbox.

use crate::store::{Store, TxLocation};
use guild_ledger::block::{BlockHeader, CommitCertificate, FinalBlock};
use guild_ledger::crypto::Address;
use guild_ledger::error::TxError;
use guild_ledger::programme::{Basket, Breakdown};
use guild_ledger::state::{State, TxEffect};
use guild_ledger::tx::{SignedTransaction, TxId};
use guild_ledger::types::{Cents, ChainId, Height, ReceiptHash};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

/// A snapshot of the chain at its last final block.
#[derive(Clone, Debug)]
pub struct ChainView {
    /// The state after the head block.
    pub state: State,
    /// The head block's header (the genesis header at height 0).
    pub head: BlockHeader,
    /// The head block's commit certificate (`None` at genesis).
    pub certificate: Option<CommitCertificate>,
    /// Transactions waiting in the mempool.
    pub mempool: usize,
    /// Connected peers.
    pub peers: usize,
    /// This node's member address, if it is a member (else an observer).
    pub member: Option<Address>,
    /// The consensus round at the next height (0 when idle).
    pub round: u32,
    /// True while catching up from peers.
    pub syncing: bool,
    /// How catching up goes.
    pub sync: SyncView,
    /// Which members this node can reach, and whether that is a quorum.
    pub quorum: QuorumView,
    /// The states after the last few final blocks (for `GET /v1/proofs`).
    pub recent: crate::recent::RecentStates,
}

/// How far the peers are, and why catching up fails if it does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncView {
    /// The highest head a connected peer reported.
    pub best_peer_head: Height,
    /// Why this node, behind its peers, cannot catch up (the last
    /// failure), until a sync brings blocks again.
    pub problem: Option<String>,
}

/// Which members a node can reach, against what finality needs.
///
/// A member is *reachable* when it is this node itself, or when this node
/// holds a live connection to that member's node: a member's node uses the
/// shop's key as its network identity, so its peer id is known from its
/// address alone (`p2p::peer_id_of`). Connections are what carry votes, so
/// a member this node is not connected to (directly; gossip may still
/// relay its votes through another member) cannot be counted on; a
/// connected member's votes arrive within a second. The count is current:
/// it drops the moment a member's connection closes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuorumView {
    /// Members at the next height.
    pub members: usize,
    /// Members whose votes make a block final (more than 2/3).
    pub needed: usize,
    /// The members reachable from this node, itself included if it is
    /// one, in address order.
    pub reachable: Vec<Address>,
}

impl QuorumView {
    /// Whether the reachable members are enough to make blocks final.
    pub fn has_quorum(&self) -> bool {
        self.members > 0 && self.reachable.len() >= self.needed
    }
}

/// Something that happened on the chain, for subscribers (the event stream).
#[derive(Clone, Debug)]
pub enum ChainEvent {
    /// A block became final (transactions with their ids, in block order).
    Final {
        /// The block and its certificate.
        block: Arc<FinalBlock>,
        /// The transaction ids, in block order.
        ids: Arc<Vec<TxId>>,
        /// What each transaction did to points, as the ledger applied it
        /// (what readers such as the insights need beyond the records,
        /// without applying the block again).
        effects: Arc<Vec<TxEffect>>,
        /// The state after the block (a cheap, shared snapshot).
        state: State,
    },
}

/// The result of a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Accepted into the mempool (or already there).
    Pending {
        /// The transaction id.
        id: TxId,
    },
    /// Final (either just now, or it already was: submitting the same signed
    /// transaction twice applies it once).
    Final {
        /// The transaction id.
        id: TxId,
        /// Where it is.
        location: TxLocation,
    },
}

/// Why a submission was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SubmitError {
    /// The author's signature does not verify on this network.
    #[error(
        "bad signature: the transaction is not signed by its author's key for network {chain_id}"
    )]
    BadSignature {
        /// This node's network.
        chain_id: ChainId,
    },
    /// The mempool is full.
    #[error("node busy: {waiting} transactions are waiting for a block; try again in a moment")]
    Busy {
        /// Transactions waiting.
        waiting: usize,
    },
    /// The ledger's rules refuse it.
    #[error("{0}")]
    Rejected(TxError),
    /// It was accepted but later dropped because it became invalid (e.g. the
    /// points were spent by another transaction first).
    #[error("dropped before it was final: {0}")]
    Dropped(TxError),
    /// The node is shutting down.
    #[error("the node is shutting down")]
    Stopped,
    /// The node has no shop key (it runs as an observer), so it cannot sign
    /// sales or refunds.
    #[error(
        "this node runs without the shop's key (as an observer), so it cannot record sales; start it with --key"
    )]
    NoShopKey,
}

impl SubmitError {
    /// A stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            SubmitError::BadSignature { .. } => guild_api::code::BAD_SIGNATURE,
            SubmitError::Busy { .. } => guild_api::code::BUSY,
            SubmitError::Rejected(e) | SubmitError::Dropped(e) => e.code(),
            SubmitError::Stopped => guild_api::code::STOPPED,
            SubmitError::NoShopKey => guild_api::code::NO_SHOP_KEY,
        }
    }
}

/// A sale a till reports: the customer, the receipt and the basket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleOrder {
    /// The customer.
    pub customer: Address,
    /// The receipt, hashed with the shop's address.
    pub receipt: ReceiptHash,
    /// What was bought.
    pub basket: Basket,
}

/// What to do with a sale.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaleMode {
    /// Only compute the points.
    Preview,
    /// Sign and submit.
    Submit,
}

/// A transaction the shop's node signs as the shop by itself: a reward
/// for a customer, or an operator's back-office action. The transaction's
/// body is made from it in one place, `engine/grant.rs`, by the rules in
/// force (the birthday reward's points are the shop's earn rule's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// The shop's birthday reward.
    Birthday {
        /// The customer.
        customer: Address,
        /// The receipt (made from the automation's event id, so a second
        /// grant for the same event is refused as a duplicate receipt).
        receipt: ReceiptHash,
    },
    /// The points of one of the shop's offers (a campaign whose reward is
    /// `Offer`), through the campaign's conditions, budget, per-customer
    /// limit and holdout.
    Offer {
        /// The campaign.
        campaign: guild_ledger::types::CampaignId,
        /// The customer.
        customer: Address,
        /// The receipt (made from the automation's event id).
        receipt: ReceiptHash,
    },
    /// A back-office transaction of the shop's operator, signed as it is
    /// (`POST /v1/shop/sign`): settling, governance, rules, campaigns, a
    /// grant by hand, a reversal. The kind was checked when the
    /// [`ShopAction`](guild_api::ShopAction) was made.
    Action(guild_api::ShopAction),
}

/// An answer now, and (for something submitted) the answer once it is
/// final or dropped.
#[derive(Debug)]
pub struct Ticket<T> {
    /// The answer at admission.
    pub now: T,
    /// Completes when it is final (or dropped).
    pub done: Option<oneshot::Receiver<Result<T, SubmitError>>>,
}

impl<T> Ticket<T> {
    /// Waits up to `limit` for the final answer; the answer at admission if
    /// it does not come in time.
    async fn settle(self, wait: Option<Duration>) -> Result<T, SubmitError> {
        match (wait, self.done) {
            (Some(limit), Some(done)) => match tokio::time::timeout(limit, done).await {
                Ok(Ok(result)) => result,
                Ok(Err(_)) => Err(SubmitError::Stopped),
                Err(_) => Ok(self.now),
            },
            _ => Ok(self.now),
        }
    }
}

/// A sale's points and where its transaction is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SaleOutcome {
    /// The points, line by line.
    pub breakdown: Breakdown,
    /// The transaction (`None` for a preview): pending or final.
    pub submitted: Option<Submitted>,
}

/// A request to the engine.
#[derive(Debug)]
pub enum Request {
    /// Submit a transaction. With `wait`, the reply comes when it is final
    /// (or dropped); otherwise when it is admitted.
    Submit {
        /// The transaction.
        tx: SignedTransaction,
        /// Reply only once it is final.
        wait: bool,
        /// Where to reply.
        reply: oneshot::Sender<Result<Submitted, SubmitError>>,
    },
    /// Compute a sale's points by the rules in force and, unless it is a
    /// preview, sign it with the shop's key and submit it (re-signing by
    /// itself if the rules move before it is included).
    Sale {
        /// What was sold to whom.
        order: SaleOrder,
        /// Preview or submit.
        mode: SaleMode,
        /// Where to reply: at once, with a way to wait for finality.
        reply: oneshot::Sender<Result<Ticket<SaleOutcome>, SubmitError>>,
    },
    /// Sign and submit a refund (a full or partial reversal) of one of the
    /// shop's receipts.
    Refund {
        /// The receipt.
        receipt: ReceiptHash,
        /// The amount refunded (`None`: all that is left).
        amount: Option<Cents>,
        /// Where to reply: at once, with a way to wait for finality.
        reply: oneshot::Sender<Result<Ticket<Submitted>, SubmitError>>,
    },
    /// Sign and submit a reward the shop gives a customer (an
    /// automation's action), computed by the rules in force.
    Grant {
        /// The reward.
        grant: Grant,
        /// Where to reply: at once, with a way to wait for finality.
        reply: oneshot::Sender<Result<Ticket<Submitted>, SubmitError>>,
    },
    /// Is `id` waiting in the mempool?
    IsPending {
        /// The transaction id.
        id: TxId,
        /// Where to reply.
        reply: oneshot::Sender<bool>,
    },
}

/// A handle on a running node.
#[derive(Clone)]
pub struct NodeHandle {
    /// The network id.
    pub chain_id: ChainId,
    /// The network's genesis (auditors replay the chain from it).
    pub genesis: Arc<guild_ledger::genesis::Genesis>,
    /// The node's storage (read-only use).
    pub store: Store,
    /// The latest chain snapshot.
    pub view: watch::Receiver<Arc<ChainView>>,
    /// Chain events.
    pub events: broadcast::Sender<ChainEvent>,
    /// The engine's mailbox.
    pub requests: mpsc::Sender<Request>,
    /// Customer insights, kept up to date from committed blocks.
    pub insights: crate::insights::Insights,
}

impl NodeHandle {
    /// The current snapshot.
    pub fn view(&self) -> Arc<ChainView> {
        self.view.borrow().clone()
    }

    /// Subscribes to chain events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<ChainEvent> {
        self.events.subscribe()
    }

    /// Submits a transaction. With `wait`, waits up to that long for it to be
    /// final and returns `Pending` if it is not final by then.
    pub async fn submit(
        &self,
        tx: SignedTransaction,
        wait: Option<Duration>,
    ) -> Result<Submitted, SubmitError> {
        let id = tx.tx.id(&self.chain_id);
        let (reply, answer) = oneshot::channel();
        // A full mailbox means the engine is saturated: answer busy at once
        // rather than making the client wait.
        self.requests
            .try_send(Request::Submit {
                tx,
                wait: wait.is_some(),
                reply,
            })
            .map_err(|error| match error {
                mpsc::error::TrySendError::Full(_) => SubmitError::Busy {
                    waiting: self.view.borrow().mempool,
                },
                mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
            })?;
        match wait {
            None => answer.await.map_err(|_| SubmitError::Stopped)?,
            Some(limit) => match tokio::time::timeout(limit, answer).await {
                Ok(result) => result.map_err(|_| SubmitError::Stopped)?,
                Err(_) => Ok(Submitted::Pending { id }),
            },
        }
    }

    /// Asks the engine to preview or record a sale. With `wait`, waits up
    /// to that long for it to be final (the answer says pending if not).
    pub async fn sale(
        &self,
        order: SaleOrder,
        mode: SaleMode,
        wait: Option<Duration>,
    ) -> Result<SaleOutcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .try_send(Request::Sale { order, mode, reply })
            .map_err(|error| self.mailbox_error(error))?;
        let ticket = answer.await.map_err(|_| SubmitError::Stopped)??;
        ticket.settle(wait).await
    }

    /// Asks the engine to sign and submit a refund of one of the shop's
    /// receipts. With `wait`, waits up to that long for it to be final.
    pub async fn refund(
        &self,
        receipt: ReceiptHash,
        amount: Option<Cents>,
        wait: Option<Duration>,
    ) -> Result<Submitted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .try_send(Request::Refund {
                receipt,
                amount,
                reply,
            })
            .map_err(|error| self.mailbox_error(error))?;
        let ticket = answer.await.map_err(|_| SubmitError::Stopped)??;
        ticket.settle(wait).await
    }

    /// Asks the engine to sign and submit a reward of the shop. With
    /// `wait`, waits up to that long for it to be final.
    pub async fn grant(
        &self,
        grant: Grant,
        wait: Option<Duration>,
    ) -> Result<Submitted, SubmitError> {
        let (reply, answer) = oneshot::channel();
        self.requests
            .try_send(Request::Grant { grant, reply })
            .map_err(|error| self.mailbox_error(error))?;
        let ticket = answer.await.map_err(|_| SubmitError::Stopped)??;
        ticket.settle(wait).await
    }

    fn mailbox_error<T>(&self, error: mpsc::error::TrySendError<T>) -> SubmitError {
        match error {
            mpsc::error::TrySendError::Full(_) => SubmitError::Busy {
                waiting: self.view.borrow().mempool,
            },
            mpsc::error::TrySendError::Closed(_) => SubmitError::Stopped,
        }
    }

    /// Is `id` waiting in the mempool?
    pub async fn is_pending(&self, id: TxId) -> bool {
        let (reply, answer) = oneshot::channel();
        if self
            .requests
            .send(Request::IsPending { id, reply })
            .await
            .is_err()
        {
            return false;
        }
        answer.await.unwrap_or(false)
    }
}
