//! # guild-os: the operating-system services Guild's crates share
//!
//! A few small things that several crates need and that must be done the
//! same way everywhere, kept out of the pure protocol crate
//! ([`guild_ledger`](https://docs.rs/guild-ledger) has no I/O and no clock):
//!
//! - [`durable`]: writing a file so that a crash leaves the old content or
//!   the new, never a mix (temporary file in the same directory → write →
//!   `sync_all` → rename → sync of the directory), and reading a whole file
//!   with a size bound, so a hostile file cannot exhaust memory. Used by the
//!   wallet's keystore and offline files, the node's signing record and the
//!   `guild` command.
//! - [`lock`]: one process at a time in a directory (a node's data
//!   directory, a devnet): an exclusive `flock` on `DIR/LOCK` holding the
//!   pid, released by the kernel however the process ends, so a second
//!   node is told "another guild node is already using DIR (pid N)".
//! - [`clock`]: the wall clock in milliseconds since the Unix epoch.
//!
//! No async runtime, no database: plain `std`.
//!
//! ```
//! use guild_os::durable::{self, Existing};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let path = dir.path().join("record.bin");
//! durable::write_atomically(&path, b"v1", Existing::Refuse).unwrap();
//! durable::write_atomically(&path, b"v2", Existing::Replace).unwrap();
//! assert_eq!(durable::read_bounded(&path, 1024).unwrap(), Some(b"v2".to_vec()));
//! assert!(durable::write_atomically(&path, b"v3", Existing::Refuse).is_err());
//! assert!(guild_os::clock::now_ms() > 1_700_000_000_000);
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod clock;
pub mod durable;
pub mod lock;
