//! # guild-wallet: the Guild wallet library
//!
//! Everything a shop owner's or a customer's wallet needs besides the
//! protocol itself (which is [`guild_ledger`]):
//!
//! - **Keys and the keystore** ([`keystore`]): named ed25519 keys ("bakery",
//!   "alice") kept in one passphrase-encrypted file, written atomically and
//!   never overwritten by accident.
//! - **Transaction building** ([`builder`]): turning what a person typed
//!   ("send 30 points to guild1…", "redeem 20 at the cafe") into checked
//!   ledger values and a signed transaction, with a precise message for
//!   every mistake before anything is signed.
//! - **The node client** ([`NodeClient`], from [`guild_api`], which defines
//!   the API's types and its one client): typed calls to a node's HTTP API,
//!   idempotent submission that waits for finality, and the event stream.
//! - **The redemption limit** ([`confirm`]): the customer's setting, kept
//!   in the wallet file, above which a redemption is signed only after the
//!   amount is confirmed a second time.
//! - **Offline signing** ([`offline`]): signed-transaction files for
//!   `guild submit`, and the local record of next nonces.
//! - **Verification** ([`verify`]): checking a balance against a Merkle
//!   proof and a quorum-signed header, so a customer need not trust the
//!   node.
//!
//! ## Invariants
//!
//! - Secret keys exist in plain form only in memory, in zeroizing buffers,
//!   and never appear in `Debug` output or error messages.
//! - A keystore's public key list can be read without the passphrase, but
//!   any change to it is detected when unlocking.
//! - Nothing here panics on bad input: every failure is an [`Error`] that
//!   says what went wrong and what to do next.
//!
//! ## Data flow
//!
//! `passphrase + file` → [`Keystore::open`](keystore::Keystore::open) →
//! [`KeystoreFile`](keystore::KeystoreFile) (names and addresses) →
//! [`unlock`](keystore::KeystoreFile::unlock) →
//! [`Keystore`](keystore::Keystore) → [`Keypair`](guild_ledger::Keypair) →
//! signed transaction ([`builder::sign`]) → [`NodeClient::submit_and_wait`]
//! (or [`offline::SignedFile`] for later) → final at a height.
//!
//! ## Example
//!
//! ```
//! use guild_wallet::keystore::{KdfParams, Keystore};
//!
//! # fn main() -> Result<(), guild_wallet::Error> {
//! # let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("wallet.json");
//! // Use `KdfParams::default()` for real keystores; the minimum is faster.
//! let mut keystore = Keystore::create(&path, "a long passphrase", KdfParams::MINIMUM, false)?;
//! let bakery = keystore.generate("bakery")?;
//! keystore.save("a long passphrase")?;
//!
//! // Anyone can list the keys...
//! let file = Keystore::open(&path)?;
//! assert_eq!(file.default_key()?.address(), bakery);
//!
//! // ...but signing needs the passphrase.
//! let keystore = file.unlock("a long passphrase")?;
//! assert_eq!(keystore.keypair("bakery")?.address(), bakery);
//! assert!(matches!(
//!     file.unlock("a wrong guess"),
//!     Err(guild_wallet::Error::WrongPassphrase { .. })
//! ));
//! # Ok(())
//! # }
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod builder;
pub mod confirm;
pub mod error;
pub mod explain;
pub mod keystore;
pub mod offline;
pub mod refer;
pub mod sale;
pub mod verify;

pub use error::Error;
pub use guild_api::NodeClient;
