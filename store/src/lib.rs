//! # guild-store: the node's storage layout in sled
//!
//! Durable storage of the chain in sled, used by the node (`guild-node`)
//! and, read-only, by an audit of a stopped node's data directory
//! ([`StoreSource`], a [`guild_audit::BlockSource`]).
//!
//! One sled tree holds everything under short prefixes, so that committing a
//! block is **one atomic batch**: the final block with its certificate, the
//! state records it changed, its transaction index entries and the head
//! pointer, followed by a flush. Numeric keys are big-endian so they sort.
//!
//! | key | value |
//! |---|---|
//! | `g` | genesis header hash (checked against the genesis file on start) |
//! | `h` | head height (u64 BE) |
//! | `b` + height | `encode(FinalBlock)` |
//! | `s` + `encode(StateKey)` | the record's canonical encoding |
//! | `t` + tx id | height (u64 BE) + index (u32 BE) |
//! | `a` + address + height + index | tx id (the account's history) |
//! | `m` + height | `encode(Vec<Address>)`: the member set from that height on |
//!
//! A second tree, `receipt_ids`, holds what is not the chain's: the
//! receipt ids this shop typed, by `shop || receipt hash` (the ledger
//! keeps only the hash; [`Store::keep_receipt_id`]). It is never sent to
//! another node, is not part of any state root, and losing it costs
//! only the display of ids (views fall back to the short hash).
//!
//! sled's `flush` does not fsync on Linux; a final block survives a crash
//! of the node process (`kill -9`) once flushed, and survives power loss
//! after sled's background fsync (500 ms).
//!
//! ## Committing a block
//!
//! A final block is written as one [`Commit`], prepared once from what the
//! ledger's `apply_block` returned ([`Commit::new`]): the block with its
//! certificate, its transaction ids, for each transaction the accounts
//! whose history shows it ([`history::involved`]), the state records it
//! changed and the new member set if it changed. [`Store::commit`] writes
//! all of it in one sled batch, then flushes.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod commit;
pub mod history;
mod source;

pub use commit::Commit;
pub use source::StoreSource;

use guild_ledger::block::{BlockHeader, FinalBlock};
use guild_ledger::codec::{self, CodecError};
use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::state::{State, StateKey, StateLoadError};
use guild_ledger::tx::TxId;
use guild_ledger::types::{Height, ReceiptHash};
use std::collections::BTreeSet;
use std::path::Path;

const GENESIS: &[u8] = b"g";
const HEAD: &[u8] = b"h";
const LOCKED: &[u8] = b"l";
const BLOCK: u8 = b'b';
const STATE: u8 = b's';
const TX: u8 = b't';
const HISTORY: u8 = b'a';
const MEMBERS: u8 = b'm';

/// Where a transaction was included.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct TxLocation {
    /// The block height.
    pub height: Height,
    /// Position in the block.
    pub index: u32,
}

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// sled reported an error (disk full, permissions, damaged files).
    #[error("storage error in {path}: {source}")]
    Sled {
        /// The data directory.
        path: String,
        /// sled's error.
        #[source]
        source: sled::Error,
    },
    /// Stored data does not decode or does not fit together.
    #[error("stored chain in {path} is corrupt at {place}: {reason}")]
    Corrupt {
        /// The data directory.
        path: String,
        /// Where (e.g. "block 12").
        place: String,
        /// What is wrong.
        reason: String,
    },
    /// Another process holds the database's lock (sled's own, on
    /// `chain.sled/db`): another node, or an audit, uses the directory.
    #[error("another guild node is already using {path}")]
    InUse {
        /// The data directory.
        path: String,
    },
    /// The data directory holds another network's chain.
    #[error(
        "data directory {path} holds a different chain (genesis {stored}) than the genesis file (genesis {given}); use another --data directory"
    )]
    OtherChain {
        /// The data directory.
        path: String,
        /// Genesis hash stored.
        stored: Hash,
        /// Genesis hash of the file given.
        given: Hash,
    },
}

impl StoreError {
    /// The data directory concerned.
    pub fn path(&self) -> &str {
        match self {
            StoreError::Sled { path, .. }
            | StoreError::Corrupt { path, .. }
            | StoreError::InUse { path }
            | StoreError::OtherChain { path, .. } => path,
        }
    }
}

/// The node's database.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
    tree: sled::Tree,
    receipt_ids: sled::Tree,
    path: String,
}

/// The longest receipt id kept, in bytes (the till API's limit).
pub const MAX_RECEIPT_ID_BYTES: usize = 64;

fn height_key(prefix: u8, height: Height) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = prefix;
    key[1..].copy_from_slice(&height.0.to_be_bytes());
    key
}

fn state_key(key: &StateKey) -> Vec<u8> {
    let mut out = vec![STATE];
    out.extend(codec::encode(key));
    out
}

fn receipt_id_key(shop: &Address, hash: &ReceiptHash) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(&shop.0);
    key[32..].copy_from_slice(&hash.0.0);
    key
}

fn be_u64(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?))
}

impl Store {
    /// Opens (or creates) the database in `dir` with a page cache of
    /// `cache_bytes`.
    pub fn open(dir: &Path, cache_bytes: u64) -> Result<Store, StoreError> {
        let path = dir.display().to_string();
        let db = sled::Config::new()
            .path(dir.join("chain.sled"))
            .cache_capacity(cache_bytes)
            .flush_every_ms(Some(500))
            .open()
            .map_err(|source| match source {
                // sled's only word for it: "could not acquire lock on
                // \"…/chain.sled/db\": Os { code: 11, … }" (an `Other` I/O
                // error with that text).
                sled::Error::Io(ref io) if io.to_string().starts_with("could not acquire lock") => {
                    StoreError::InUse { path: path.clone() }
                }
                source => StoreError::Sled {
                    path: path.clone(),
                    source,
                },
            })?;
        let tree = db.open_tree("chain").map_err(|source| StoreError::Sled {
            path: path.clone(),
            source,
        })?;
        let receipt_ids = db
            .open_tree("receipt_ids")
            .map_err(|source| StoreError::Sled {
                path: path.clone(),
                source,
            })?;
        Ok(Store {
            db,
            tree,
            receipt_ids,
            path,
        })
    }

    fn sled(&self, source: sled::Error) -> StoreError {
        StoreError::Sled {
            path: self.path.clone(),
            source,
        }
    }

    fn corrupt(&self, place: impl Into<String>, reason: impl ToString) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            place: place.into(),
            reason: reason.to_string(),
        }
    }

    /// The data directory, for messages.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Writes genesis if the database is empty, or checks that it holds the
    /// chain of this genesis.
    pub fn init(&self, genesis: &BlockHeader, state: &State) -> Result<(), StoreError> {
        let hash = genesis.hash();
        match self.tree.get(GENESIS).map_err(|e| self.sled(e))? {
            Some(stored) => {
                let stored = Hash(
                    stored
                        .as_ref()
                        .try_into()
                        .map_err(|_| self.corrupt("genesis record", "wrong length"))?,
                );
                if stored != hash {
                    return Err(StoreError::OtherChain {
                        path: self.path.clone(),
                        stored,
                        given: hash,
                    });
                }
                Ok(())
            }
            None => {
                let mut batch = sled::Batch::default();
                for (key, value) in state.entries() {
                    batch.insert(state_key(&key), value);
                }
                batch.insert(
                    &height_key(MEMBERS, Height(0)),
                    codec::encode(&state.member_set().into_iter().collect::<Vec<_>>()),
                );
                batch.insert(HEAD, &0u64.to_be_bytes());
                batch.insert(GENESIS, &hash.0);
                self.tree.apply_batch(batch).map_err(|e| self.sled(e))?;
                self.flush()
            }
        }
    }

    /// Height of the last final block (0: only genesis).
    pub fn head(&self) -> Result<Height, StoreError> {
        match self.tree.get(HEAD).map_err(|e| self.sled(e))? {
            Some(bytes) => be_u64(&bytes)
                .map(Height)
                .ok_or_else(|| self.corrupt("head pointer", "wrong length")),
            None => Ok(Height(0)),
        }
    }

    /// Commits a final block atomically: the block and certificate, the
    /// state records it changed, its transaction index (the ids and, for
    /// each, the addresses whose history shows it), the new member set (if
    /// it changed) and the head pointer; then flushes.
    pub fn commit(&self, commit: &Commit) -> Result<(), StoreError> {
        let Commit {
            block,
            tx_ids,
            involved,
            changes,
            new_members,
        } = commit;
        let height = block.block.header.height;
        let mut batch = sled::Batch::default();
        batch.insert(&height_key(BLOCK, height), codec::encode(block));
        for change in changes {
            match &change.value {
                Some(value) => batch.insert(state_key(&change.key), value.as_slice()),
                None => batch.remove(state_key(&change.key)),
            }
        }
        for (index, (id, addresses)) in tx_ids.iter().zip(involved).enumerate() {
            let index = index as u32;
            let mut location = height.0.to_be_bytes().to_vec();
            location.extend(index.to_be_bytes());
            let mut key = vec![TX];
            key.extend(id.0.0);
            batch.insert(key, location.as_slice());
            for address in addresses {
                let mut key = vec![HISTORY];
                key.extend(address.0);
                key.extend(&location);
                batch.insert(key, &id.0.0);
            }
        }
        if let Some(members) = new_members.as_ref() {
            batch.insert(
                &height_key(MEMBERS, Height(height.0 + 1)),
                codec::encode(&members.iter().copied().collect::<Vec<_>>()),
            );
        }
        batch.insert(HEAD, &height.0.to_be_bytes());
        self.tree.apply_batch(batch).map_err(|e| self.sled(e))?;
        self.flush()
    }

    /// Keeps the block this member precommitted (its Tendermint lock), so it
    /// can re-propose it after a restart. Losing it costs only a round.
    pub fn keep_locked_block(&self, block: &guild_ledger::block::Block) -> Result<(), StoreError> {
        self.tree
            .insert(LOCKED, codec::encode(block))
            .map_err(|e| self.sled(e))?;
        Ok(())
    }

    /// The block kept by [`Store::keep_locked_block`], if any.
    pub fn locked_block(&self) -> Result<Option<guild_ledger::block::Block>, StoreError> {
        match self.tree.get(LOCKED).map_err(|e| self.sled(e))? {
            Some(bytes) => Ok(codec::decode(&bytes).ok()),
            None => Ok(None),
        }
    }

    /// Flushes sled's buffers to the operating system.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.db.flush().map(|_| ()).map_err(|e| self.sled(e))
    }

    /// The final block at `height`.
    pub fn block(&self, height: Height) -> Result<Option<FinalBlock>, StoreError> {
        match self
            .tree
            .get(height_key(BLOCK, height))
            .map_err(|e| self.sled(e))?
        {
            Some(bytes) => codec::decode(&bytes)
                .map(Some)
                .map_err(|e: CodecError| self.corrupt(format!("block {height}"), e)),
            None => Ok(None),
        }
    }

    /// The raw stored bytes of the block at `height` (for sync responses).
    pub fn block_bytes(&self, height: Height) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self
            .tree
            .get(height_key(BLOCK, height))
            .map_err(|e| self.sled(e))?
            .map(|b| b.to_vec()))
    }

    /// The member set valid at `height`.
    pub fn members_at(&self, height: Height) -> Result<BTreeSet<Address>, StoreError> {
        let upper = height_key(MEMBERS, height);
        let lower = height_key(MEMBERS, Height(0));
        let entry = self
            .tree
            .range(lower..=upper)
            .next_back()
            .transpose()
            .map_err(|e| self.sled(e))?
            .ok_or_else(|| self.corrupt("member sets", "no member set recorded"))?;
        let members: Vec<Address> = codec::decode(&entry.1)
            .map_err(|e| self.corrupt(format!("member set for height {height}"), e))?;
        Ok(members.into_iter().collect())
    }

    /// Loads the current state from its stored records.
    pub fn load_state(&self) -> Result<State, StoreError> {
        let mut entries = Vec::new();
        for item in self.tree.scan_prefix([STATE]) {
            let (key, value) = item.map_err(|e| self.sled(e))?;
            let state_key: StateKey =
                codec::decode(&key[1..]).map_err(|e| self.corrupt("state record key", e))?;
            entries.push((state_key, value.to_vec()));
        }
        State::from_entries(entries).map_err(|e: StateLoadError| self.corrupt("state", e))
    }

    /// Where transaction `id` was included, if it was.
    pub fn tx_location(&self, id: &TxId) -> Result<Option<TxLocation>, StoreError> {
        let mut key = vec![TX];
        key.extend(id.0.0);
        match self.tree.get(key).map_err(|e| self.sled(e))? {
            Some(bytes) if bytes.len() == 12 => Ok(Some(TxLocation {
                height: Height(be_u64(&bytes).unwrap_or(0)),
                index: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            })),
            Some(_) => Err(self.corrupt("transaction index", "wrong length")),
            None => Ok(None),
        }
    }

    /// The most recent `limit` transactions involving `address`, newest
    /// first.
    pub fn history(&self, address: &Address, limit: usize) -> Result<Vec<TxLocation>, StoreError> {
        let mut prefix = vec![HISTORY];
        prefix.extend(address.0);
        let mut out = Vec::new();
        for item in self.tree.scan_prefix(&prefix).rev().take(limit) {
            let (key, _) = item.map_err(|e| self.sled(e))?;
            let rest = &key[prefix.len()..];
            if rest.len() != 12 {
                return Err(self.corrupt("account history", "wrong key length"));
            }
            out.push(TxLocation {
                height: Height(be_u64(rest).unwrap_or(0)),
                index: u32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]),
            });
        }
        Ok(out)
    }

    /// Keeps `id` as the receipt id of `shop`'s receipt `hash`, if it is
    /// that id (`ReceiptHash::new(shop, id) == hash`) and at most
    /// [`MAX_RECEIPT_ID_BYTES`] long; returns whether it was kept. Not
    /// flushed: an id lost in a crash is only shown as its hash.
    pub fn keep_receipt_id(
        &self,
        shop: &Address,
        hash: &ReceiptHash,
        id: &str,
    ) -> Result<bool, StoreError> {
        if id.is_empty() || id.len() > MAX_RECEIPT_ID_BYTES || ReceiptHash::new(shop, id) != *hash {
            return Ok(false);
        }
        self.receipt_ids
            .insert(receipt_id_key(shop, hash), id.as_bytes())
            .map_err(|e| self.sled(e))?;
        Ok(true)
    }

    /// The receipt id of `shop`'s receipt `hash`, if this node kept it.
    pub fn receipt_id(
        &self,
        shop: &Address,
        hash: &ReceiptHash,
    ) -> Result<Option<String>, StoreError> {
        let Some(bytes) = self
            .receipt_ids
            .get(receipt_id_key(shop, hash))
            .map_err(|e| self.sled(e))?
        else {
            return Ok(None);
        };
        match std::str::from_utf8(&bytes) {
            // Checked again: a damaged entry is not shown as an id.
            Ok(id) if ReceiptHash::new(shop, id) == *hash => Ok(Some(id.to_string())),
            _ => Err(self.corrupt("receipt ids", "an id does not match its hash")),
        }
    }

    /// The raw sled tree, for tamper tests and forensic tools only: writing
    /// to it bypasses every check.
    #[doc(hidden)]
    pub fn raw_tree(&self) -> &sled::Tree {
        &self.tree
    }

    /// The raw key of the block at `height` (for tamper tests).
    #[doc(hidden)]
    pub fn raw_block_key(height: Height) -> [u8; 9] {
        height_key(BLOCK, height)
    }

    /// Bytes used on disk by the database.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }
}
