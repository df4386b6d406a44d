//! # guild-audit: independent re-verification of a Guild chain
//!
//! …and the settlement reports derived from it. The crate depends on the
//! protocol ([`guild_ledger`]) and nothing that does networking or storage:
//! an auditor embeds it without linking a node (no libp2p, axum, tokio or
//! sled; `cargo tree -p guild-audit` shows it).
//!
//! An auditor trusts no node: [`verify_chain`] rebuilds the genesis state
//! from the genesis file and replays every final block from height 1, taking
//! the blocks from a [`BlockSource`]. Sources live where their I/O lives: a
//! stopped node's data directory is `guild_store::StoreSource` (crate
//! `guild-store`), a node's HTTP API is the `guild audit` command's source,
//! and a chain held in memory is [`fixture::MemoryChain`] (feature
//! `fixture`). For each block it checks, in this order:
//!
//! 1. the block is there and decodes canonically;
//! 2. its height, and its link to the replayed parent (`prev_hash`);
//! 3. its commit certificate against the member set **of the replayed
//!    state** (never a member set the source claims);
//! 4. every transaction signature (`verify_strict`);
//! 5. the state transition, which checks time, proposer, size, transaction
//!    root, every rule of every transaction and the state root
//!    ([`State::apply_block`](guild_ledger::state::State::apply_block)).
//!
//! At the end the source's own view of the state is compared with the
//! replayed one (a data directory: every stored state record and member
//! set; a node: its head's state root). The first failure stops the replay
//! and is reported as a [`Discrepancy`]: height, transaction, rule.
//!
//! ## Data flow and speed
//!
//! ```text
//!  fetch thread ──raw windows──▶ check thread (rayon: decode, signatures,
//!  (BlockSource)                  certificates, all cores)
//!                                      │ checked windows (bounded, 2)
//!                                      ▼
//!                         caller's thread: link, apply_block, observer
//! ```
//!
//! Blocks travel in windows of several blocks so the signature checks of
//! many blocks run in parallel while earlier blocks are applied. A
//! certificate is checked ahead against the member set known when its
//! window was checked; the sequential step re-checks it in the rare case
//! the member set changed meanwhile, so the outcome is exactly
//! `certificate.verify(chain_id, header, replayed_state.member_set())`.
//!
//! ## Reports
//!
//! [`Activity`] is a [`BlockObserver`]: fed by the same verified replay, it
//! accumulates, for a period of local dates, what each shop issued, reversed,
//! had redeemed where, and lost to expiry; the cross-shop flows; settlements;
//! and customer activity. [`Activity::report`] and [`Activity::statement`]
//! turn it into the [`Report`] and the per-shop monthly [`Statement`]:
//! data only (serializable); the `guild` command prints them as tables or
//! CSV. [`Activity::export`] lays one month out for the accountant (a row
//! per shop and per counterparty, points and money) and
//! [`Activity::invoice`] is what one shop bills another for a month.
//! Periods are dates in the network's local time (the genesis locale).
//!
//! ## Example
//!
//! Any type that can fetch blocks by height is a [`BlockSource`]; here, a
//! chain built in memory by the test fixture (feature `fixture`). A data
//! directory is read the same way through `guild_store::StoreSource`.
//!
//! ```
//! use guild_ledger::*;
//! use guild_audit::{fixture::{ChainFixture, MemoryChain}, verify_chain, VerifyOptions};
//!
//! let shop = Keypair::from_secret(&[1; 32]);
//! let customer = Keypair::from_secret(&[2; 32]);
//! let genesis = Genesis {
//!     chain_id: ChainId::new("main-street").unwrap(),
//!     time: Timestamp(1_700_000_000_000),
//!     members: vec![GenesisMember { name: ShopName::new("Bakery").unwrap(), address: shop.address() }],
//!     params: Params::default(),
//!     programme: Default::default(),
//! };
//! let mut chain = ChainFixture::new(genesis.clone(), vec![shop.clone()], MemoryChain::default()).unwrap();
//! let earn = chain.sign(&shop, TxBody::Earn {
//!     customer: customer.address(),
//!     points: Points(50),
//!     purchase: None,
//!     receipt: ReceiptHash::new(&shop.address(), "R-1"),
//!     reason: guild_ledger::Memo::new("welcome gift").unwrap(),
//! });
//! chain.block(Timestamp(1_700_000_001_000), vec![earn]).unwrap();
//!
//! let mut source = chain.into_sink();
//! let summary = verify_chain(&genesis, &mut source, &VerifyOptions::default(), &mut (), &mut |_| {}).unwrap();
//! assert_eq!(summary.height, Height(1));
//! assert_eq!(summary.transactions, 1);
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod activity;
mod dates;
mod export;
#[cfg(feature = "fixture")]
pub mod fixture;
mod netting;
mod report;
mod source;
mod statement;
mod verify;

pub use activity::{Activity, CrossRedemption, SettlementEvent};
pub use dates::{Date, DateError, Month, Period, Position};
pub use export::{Amount, CounterpartyLine, Invoice, MonthExport, ShopLine};
pub use netting::{Payment, fewest_payments};
pub use report::{
    DebtLine, Flow, Health, PairPosition, PaymentLine, PeriodInfo, Report, ReportError,
    SettlementLine, SettlementReport, ShopFigures, ShopPosition, ShopRef,
};
pub use source::{BlockSource, SourceError};
pub use statement::{CrossLine, ShopAmount, Statement, StatementDebt};
pub use verify::{BlockObserver, Progress, Summary, VerifyOptions, verify_chain};

use guild_ledger::tx::TxId;
use guild_ledger::types::Height;
use std::fmt;

/// Which check a chain failed. Serialized in `snake_case`; the names are
/// stable (scripts branch on them).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The source's genesis is not the one given.
    Genesis,
    /// A block between 1 and the head is not there.
    BlockMissing,
    /// A block's bytes are not one canonical `FinalBlock`.
    BlockEncoding,
    /// A block's header has the wrong height.
    Height,
    /// A block does not link to the replayed previous block.
    PrevHash,
    /// The commit certificate does not prove finality under the replayed
    /// member set (wrong block, short, forged, unsorted, non-member).
    Certificate,
    /// A transaction signature does not verify.
    TxSignature,
    /// A transaction breaks a ledger rule (`tx_error` names it).
    TxRule,
    /// The transaction root does not match the transactions.
    TxRoot,
    /// The state root after the block is not the header's.
    StateRoot,
    /// The block's time does not move forward.
    BlockTime,
    /// The block's proposer is not a member.
    Proposer,
    /// The block is over the size or count limits.
    BlockSize,
    /// A stored state record differs from the replayed state.
    StoredState,
    /// A stored member set differs from the replayed one.
    StoredMembers,
    /// The source's head (height, hash or state root) differs from the
    /// replayed chain.
    SourceHead,
    /// The report's bookkeeping disagrees with the ledger (a bug in the
    /// report, not in the chain).
    ReportModel,
}

impl Rule {
    /// The stable name of the rule.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Genesis => "genesis",
            Rule::BlockMissing => "block_missing",
            Rule::BlockEncoding => "block_encoding",
            Rule::Height => "height",
            Rule::PrevHash => "prev_hash",
            Rule::Certificate => "certificate",
            Rule::TxSignature => "tx_signature",
            Rule::TxRule => "tx_rule",
            Rule::TxRoot => "tx_root",
            Rule::StateRoot => "state_root",
            Rule::BlockTime => "block_time",
            Rule::Proposer => "proposer",
            Rule::BlockSize => "block_size",
            Rule::StoredState => "stored_state",
            Rule::StoredMembers => "stored_members",
            Rule::SourceHead => "source_head",
            Rule::ReportModel => "report_model",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The exact place where a chain fails verification.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Discrepancy {
    /// The block height (0: genesis; the head height for checks of the
    /// final state).
    pub height: Height,
    /// The transaction's position in the block, if one transaction is at
    /// fault.
    pub tx_index: Option<usize>,
    /// That transaction's id.
    pub tx_id: Option<TxId>,
    /// The check that failed.
    pub rule: Rule,
    /// For [`Rule::TxRule`], the ledger's rule code (`TxError::code`).
    pub tx_error: Option<&'static str>,
    /// What is wrong, for a person.
    pub detail: String,
}

impl Discrepancy {
    /// A discrepancy of a whole block (or of the final state).
    pub fn at(height: Height, rule: Rule, detail: impl Into<String>) -> Discrepancy {
        Discrepancy {
            height,
            tx_index: None,
            tx_id: None,
            rule,
            tx_error: None,
            detail: detail.into(),
        }
    }

    /// A discrepancy of one transaction.
    pub fn at_tx(
        height: Height,
        index: usize,
        id: TxId,
        rule: Rule,
        detail: impl Into<String>,
    ) -> Discrepancy {
        Discrepancy {
            height,
            tx_index: Some(index),
            tx_id: Some(id),
            rule,
            tx_error: None,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Discrepancy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "height {}", self.height)?;
        if let Some(index) = self.tx_index {
            write!(f, ", transaction {index}")?;
        }
        if let Some(id) = self.tx_id {
            write!(f, " (id {id})")?;
        }
        write!(f, ": rule {}", self.rule)?;
        if let Some(code) = self.tx_error {
            write!(f, " ({code})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Why an audit stopped.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The chain is wrong at a precise place: evidence of corruption or
    /// tampering.
    #[error("the chain does not verify at {0}")]
    Discrepancy(Box<Discrepancy>),
    /// The blocks could not be read (not evidence about the chain).
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The genesis given is not valid.
    #[error("the genesis is not valid: {source}")]
    Genesis {
        /// What is wrong with it.
        #[from]
        source: guild_ledger::error::GenesisError,
    },
}

impl From<Discrepancy> for AuditError {
    fn from(d: Discrepancy) -> AuditError {
        AuditError::Discrepancy(Box::new(d))
    }
}

impl AuditError {
    /// The discrepancy, if the chain itself failed.
    pub fn discrepancy(&self) -> Option<&Discrepancy> {
        match self {
            AuditError::Discrepancy(d) => Some(d),
            _ => None,
        }
    }
}
