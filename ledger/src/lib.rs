//! # guild-ledger: the Guild loyalty-points protocol
//!
//! A group of local shops keeps one signed, append-only ledger of loyalty
//! points. This crate is that ledger's protocol and nothing else: types,
//! canonical encoding, hashing, signatures, validation, state transitions and
//! genesis. It does no I/O, reads no clock, draws no randomness and spawns no
//! threads, so every node and every auditor computes exactly the same result
//! from the same blocks.
//!
//! ## The idea
//!
//! - Every account is an ed25519 key ([`Address`]), shown to people as
//!   checksummed bech32m text (`guild1…`).
//! - Shops ([`Member`]s) **earn** points to customers; customers **transfer**
//!   and **redeem** them at any member; shops **reverse** earns and
//!   **settle** debts; members **propose** and **approve** governance changes
//!   ([`TxBody`]).
//! - A balance is a set of [`Lot`]s that remember who issued them and when
//!   they expire. Redeeming at shop B points issued by shop A records that A
//!   owes B; expired lots become their issuer's breakage.
//! - A [`Block`] orders transactions; [`State::apply_block`] is the one state
//!   transition; a [`CommitCertificate`] of more than 2/3 of members makes a
//!   block final, checkable by anyone.
//! - The [`State`] is committed to by a Merkle root over all records, updated
//!   in time proportional to what a block touches, with proofs of single
//!   accounts ([`AccountProof`]).
//!
//! ## Invariants (checked by the property tests)
//!
//! - `issued - reversed - redeemed - expired` equals the sum of all
//!   balances; no balance is negative.
//! - Debts equal cross-shop redemptions minus settlements.
//! - A transaction is valid on one network only and at most once.
//! - Replaying the same blocks gives the same state root.
//! - `encode(decode(b)) == b` for every accepted byte string `b`.
//!
//! ## Example
//!
//! ```
//! use guild_ledger::*;
//!
//! let bakery = Keypair::from_secret(&[1; 32]);
//! let customer = Keypair::from_secret(&[2; 32]);
//! let genesis = Genesis {
//!     chain_id: ChainId::new("main-street").unwrap(),
//!     time: Timestamp(1_700_000_000_000),
//!     members: vec![GenesisMember {
//!         name: ShopName::new("Bakery").unwrap(),
//!         address: bakery.address(),
//!     }],
//!     params: Params::default(),
//!     programme: Default::default(),
//! };
//! let (state, header) = genesis.build().unwrap();
//!
//! // The bakery issues 50 points for receipt "R-1".
//! let earn = Transaction {
//!     author: bakery.address(),
//!     nonce: Nonce(0),
//!     body: TxBody::Earn {
//!         customer: customer.address(),
//!         points: Points(50),
//!         purchase: Some(Cents(1250)),
//!         receipt: ReceiptHash::new(&bakery.address(), "R-1"),
//!         reason: Memo::new("welcome gift").unwrap(),
//!     },
//! }
//! .sign(&bakery, &genesis.chain_id)
//! .verify(&genesis.chain_id)
//! .unwrap();
//!
//! // The bakery's node proposes a block holding it.
//! let mut builder =
//!     BlockBuilder::new(&state, &header, Timestamp(1_700_000_001_000), bakery.address()).unwrap();
//! builder.push(earn).unwrap();
//! let built = builder.finish();
//!
//! // Any other node re-applies the block and reaches the same root.
//! let block = built.block.into_block().verify_signatures(&genesis.chain_id).unwrap();
//! let applied = state.apply_block(&header, &block).unwrap();
//! assert_eq!(applied.state.root(), block.header().state_root);
//! assert_eq!(applied.state.account(&customer.address()).unwrap().balance(), Points(50));
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod block;
pub mod codec;
pub mod crypto;
pub mod error;
pub mod genesis;
pub mod hash;
pub mod merkle;
pub mod params;
pub mod programme;
pub mod state;
pub mod tx;
pub mod types;

pub use block::{
    Block, BlockHeader, CommitCertificate, CommitSignature, FinalBlock, VerifiedBlock, Vote,
    VoteKind, quorum, tx_root,
};
pub use codec::{CodecError, decode, encode};
pub use crypto::{Address, AddressError, Keypair, Signature};
pub use error::{BlockError, GenesisError, TxError};
pub use genesis::{Genesis, GenesisMember};
pub use hash::Hash;
pub use merkle::{MerkleProof, ProofError};
pub use params::{ParamChange, Params};
pub use state::{
    Account, AccountProof, Applied, BlockBuilder, EarnRecord, Lot, Member, Proposal,
    ProposalStatus, State, StateChange, StateKey, Supply,
};
pub use tx::{GovernanceAction, SignedTransaction, Transaction, TxBody, TxId, VerifiedTx};
pub use types::{
    Cents, ChainId, Height, Memo, Nonce, Points, ProposalId, ReceiptHash, ShopName, Timestamp,
};
