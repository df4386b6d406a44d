//! Offline signing: signed-transaction files and the local nonce record.
//!
//! A till or a customer without a connection signs a transaction into a
//! [`SignedFile`]; `guild submit FILE` sends it later, from anywhere. The
//! file holds the canonical bytes of the [`SignedTransaction`] (hex) and,
//! for people and scripts, the network, id, author, nonce and a one-line
//! summary. Reading a file re-derives everything from the signed bytes and
//! refuses a file whose summary fields do not match them, so what a person
//! reads is what is submitted.
//!
//! Because a transaction's nonce must be the author's next one, signing
//! several transactions offline needs a count kept locally: the
//! [`NonceRecord`] (`<wallet>.nonces.json`) remembers, per network and
//! address, the next nonce to use. Online commands update it after each
//! final transaction, so it is current after any online use.
//!
//! A signed transaction is applied at most once: submitting the same file
//! twice changes nothing (the node answers with the block that already holds
//! it), and another transaction signed with a nonce already used is refused
//! by the ledger as a replay.

use crate::error::{Error, Result};
use guild_ledger::Address;
use guild_ledger::codec;
use guild_ledger::tx::{SignedTransaction, TxId};
use guild_ledger::types::{ChainId, Nonce};
use guild_os::durable::{self, Existing};
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// The `format` of a signed-transaction file.
pub const SIGNED_FILE_FORMAT: &str = "guild-signed-tx/v1";

/// The largest signed-transaction or nonce-record file read.
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// A signed transaction in a file, with a description for people.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedFile {
    /// Always [`SIGNED_FILE_FORMAT`].
    pub format: String,
    /// The network it is signed for.
    pub chain_id: ChainId,
    /// Its id on that network.
    pub id: TxId,
    /// Who signed it.
    pub author: Address,
    /// The author's nonce it uses.
    pub nonce: Nonce,
    /// Its kind (`transfer`, `earn`, …).
    pub kind: String,
    /// What it does, in words.
    pub summary: String,
    /// Hex of the canonical `SignedTransaction` (what `POST /v1/tx` takes).
    pub tx: String,
}

impl SignedFile {
    /// Describes `signed` for network `chain_id`.
    pub fn new(signed: &SignedTransaction, chain_id: &ChainId, summary: String) -> SignedFile {
        SignedFile {
            format: SIGNED_FILE_FORMAT.to_string(),
            chain_id: chain_id.clone(),
            id: signed.tx.id(chain_id),
            author: signed.tx.author,
            nonce: signed.tx.nonce,
            kind: signed.tx.body.kind().to_string(),
            summary,
            tx: hex::encode(codec::encode(signed)),
        }
    }

    /// Writes the file (mode `0600` on Unix); an existing file is replaced
    /// only with `force`.
    pub fn write(&self, path: &Path, force: bool) -> Result<()> {
        let mut bytes = serde_json::to_vec_pretty(self).map_err(|e| Error::Io {
            path: path.to_path_buf(),
            action: "encode the signed transaction for",
            source: e.into(),
        })?;
        bytes.push(b'\n');
        write_file(path, &bytes, force)
    }

    /// Reads a file and checks it: the bytes decode to one canonical signed
    /// transaction whose signature verifies for the file's network, and the
    /// id, author, nonce and kind written in the file are that
    /// transaction's.
    pub fn read(path: &Path) -> Result<(SignedFile, SignedTransaction)> {
        let bad = |reason: String| Error::BadSignedFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = read_bounded(path)?.ok_or_else(|| Error::Io {
            path: path.to_path_buf(),
            action: "read",
            source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
        })?;
        let file: SignedFile = serde_json::from_slice(&bytes)
            .map_err(|e| bad(format!("it is not a signed-transaction file ({e})")))?;
        if file.format != SIGNED_FILE_FORMAT {
            return Err(bad(format!(
                "its format is {:?}, this wallet reads {SIGNED_FILE_FORMAT:?}",
                file.format
            )));
        }
        let text = file.tx.trim();
        let raw = hex::decode(text.strip_prefix("0x").unwrap_or(text))
            .map_err(|e| bad(format!("\"tx\" is not hexadecimal ({e})")))?;
        let signed: SignedTransaction =
            codec::decode(&raw).map_err(|e| bad(format!("\"tx\" does not decode: {e}")))?;
        let verified = signed.clone().verify(&file.chain_id).map_err(|_| {
            bad(format!(
                "its signature does not verify for network {} (altered, or signed for another network)",
                file.chain_id
            ))
        })?;
        if verified.id() != file.id
            || signed.tx.author != file.author
            || signed.tx.nonce != file.nonce
            || signed.tx.body.kind() != file.kind
        {
            return Err(bad(
                "its id, author, nonce or kind do not match the signed transaction it holds"
                    .to_string(),
            ));
        }
        Ok((file, signed))
    }
}

/// One entry of the nonce record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NonceEntry {
    /// The network.
    pub chain_id: ChainId,
    /// The account.
    pub address: Address,
    /// The nonce the account's next transaction should carry.
    pub next_nonce: Nonce,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordJson {
    version: u32,
    accounts: Vec<NonceEntry>,
}

/// The local record of next nonces (`<wallet>.nonces.json`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonceRecord {
    path: PathBuf,
    entries: Vec<NonceEntry>,
}

impl NonceRecord {
    /// Where the record of the wallet at `wallet` lives.
    pub fn path_for(wallet: &Path) -> PathBuf {
        let mut name = wallet
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| "wallet".into());
        name.push(".nonces.json");
        wallet.with_file_name(name)
    }

    /// An empty record that would be saved at `path`.
    pub fn empty(path: &Path) -> NonceRecord {
        NonceRecord {
            path: path.to_path_buf(),
            entries: Vec::new(),
        }
    }

    /// Reads the record at `path`; a missing file is an empty record.
    pub fn load(path: &Path) -> Result<NonceRecord> {
        let entries = match read_bounded(path)? {
            None => Vec::new(),
            Some(bytes) => {
                let json: RecordJson =
                    serde_json::from_slice(&bytes).map_err(|e| Error::BadNonceRecord {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    })?;
                if json.version != 1 {
                    return Err(Error::BadNonceRecord {
                        path: path.to_path_buf(),
                        reason: format!("unknown version {}", json.version),
                    });
                }
                json.accounts
            }
        };
        Ok(NonceRecord {
            path: path.to_path_buf(),
            entries,
        })
    }

    /// The record's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The next nonce recorded for `address` on `chain_id`.
    pub fn next(&self, chain_id: &ChainId, address: &Address) -> Option<Nonce> {
        self.entries
            .iter()
            .find(|e| e.chain_id == *chain_id && e.address == *address)
            .map(|e| e.next_nonce)
    }

    /// The networks on which `address` has a recorded nonce.
    pub fn networks(&self, address: &Address) -> Vec<ChainId> {
        self.entries
            .iter()
            .filter(|e| e.address == *address)
            .map(|e| e.chain_id.clone())
            .collect()
    }

    /// Notes that `address` used `nonce` on `chain_id`: the next one is at
    /// least `nonce + 1`. Never moves backwards.
    pub fn used(&mut self, chain_id: &ChainId, address: &Address, nonce: Nonce) {
        let next = Nonce(nonce.0.saturating_add(1));
        self.at_least(chain_id, address, next);
    }

    /// Raises the next nonce of `address` on `chain_id` to at least `next`.
    pub fn at_least(&mut self, chain_id: &ChainId, address: &Address, next: Nonce) {
        match self
            .entries
            .iter_mut()
            .find(|e| e.chain_id == *chain_id && e.address == *address)
        {
            Some(entry) => entry.next_nonce = entry.next_nonce.max(next),
            None => self.entries.push(NonceEntry {
                chain_id: chain_id.clone(),
                address: *address,
                next_nonce: next,
            }),
        }
    }

    /// Writes the record (atomically replacing the file).
    pub fn save(&self) -> Result<()> {
        let json = RecordJson {
            version: 1,
            accounts: self.entries.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&json).map_err(|e| Error::Io {
            path: self.path.clone(),
            action: "encode the nonce record",
            source: e.into(),
        })?;
        bytes.push(b'\n');
        write_file(&self.path, &bytes, true)
    }
}

/// Reads a whole file of at most [`MAX_FILE_BYTES`]; `None` if there is none.
fn read_bounded(path: &Path) -> Result<Option<Vec<u8>>> {
    durable::read_bounded(path, MAX_FILE_BYTES)
        .map_err(|error| Error::durable(error, "read", |path| Error::FileExists { path }))
}

/// Writes `bytes` to `path` durably ([`guild_os::durable::write_atomically`]),
/// so a crash leaves the old file or the new one. Without `replace`, an
/// existing file is an error.
fn write_file(path: &Path, bytes: &[u8], replace: bool) -> Result<()> {
    durable::write_atomically(path, bytes, Existing::replace_if(replace))
        .map_err(|error| Error::durable(error, "write", |path| Error::FileExists { path }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;
    use guild_ledger::tx::{Transaction, TxBody};
    use guild_ledger::types::Points;

    fn chain() -> ChainId {
        ChainId::new("test-net").unwrap()
    }

    fn signed(nonce: u64) -> SignedTransaction {
        let key = Keypair::from_secret(&[1; 32]);
        Transaction {
            author: key.address(),
            nonce: Nonce(nonce),
            body: TxBody::Transfer {
                to: Keypair::from_secret(&[2; 32]).address(),
                points: Points(5),
                memo: None,
            },
        }
        .sign(&key, &chain())
    }

    #[test]
    fn signed_files_round_trip_and_refuse_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.json");
        let tx = signed(3);
        let file = SignedFile::new(&tx, &chain(), "send 5 points".into());
        file.write(&path, false).unwrap();
        let (read, back) = SignedFile::read(&path).unwrap();
        assert_eq!(read, file);
        assert_eq!(back, tx);
        assert!(matches!(
            file.write(&path, false),
            Err(Error::FileExists { .. })
        ));
        file.write(&path, true).unwrap();
    }

    #[test]
    fn altered_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tx.json");
        let tx = signed(3);
        let mut file = SignedFile::new(&tx, &chain(), "send 5 points".into());
        // The summary fields must match the signed bytes.
        file.nonce = Nonce(4);
        file.write(&path, true).unwrap();
        assert!(matches!(
            SignedFile::read(&path),
            Err(Error::BadSignedFile { .. })
        ));
        // Another network: the signature does not verify.
        let mut file = SignedFile::new(&tx, &chain(), "x".into());
        file.chain_id = ChainId::new("other").unwrap();
        file.write(&path, true).unwrap();
        let error = SignedFile::read(&path).unwrap_err();
        assert!(error.to_string().contains("does not verify"), "{error}");
        // Not a file of this kind at all.
        std::fs::write(&path, "hello").unwrap();
        assert!(matches!(
            SignedFile::read(&path),
            Err(Error::BadSignedFile { .. })
        ));
    }

    #[test]
    fn the_nonce_record_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let wallet = dir.path().join("alice.json");
        let path = NonceRecord::path_for(&wallet);
        assert!(path.ends_with("alice.json.nonces.json"));
        let address = Keypair::from_secret(&[1; 32]).address();
        let mut record = NonceRecord::load(&path).unwrap();
        assert_eq!(record.next(&chain(), &address), None);
        record.used(&chain(), &address, Nonce(4));
        record.used(&chain(), &address, Nonce(2));
        record.save().unwrap();
        let record = NonceRecord::load(&path).unwrap();
        assert_eq!(record.next(&chain(), &address), Some(Nonce(5)));
        assert_eq!(record.networks(&address), vec![chain()]);
        std::fs::write(&path, "{").unwrap();
        assert!(matches!(
            NonceRecord::load(&path),
            Err(Error::BadNonceRecord { .. })
        ));
    }
}
