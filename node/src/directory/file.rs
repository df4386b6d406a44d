//! `customers.json`: its format, its reading, and how a change is written.
//!
//! ```json
//! {"version":1,"customers":[
//! {"address":"guild1…","name":"Mrs Lee","email":"lee@example.com","birthday":"03-14",…},
//! {"address":"guild1…",…}
//! ]}
//! ```
//!
//! One entry per line, in address order: valid JSON that a person can
//! read and `grep`, and that this module writes without re-encoding the
//! entries that did not change — each [`Stored`] entry keeps its encoded
//! line, so writing a change costs one copy of the file's bytes (plus the
//! write and its `fsync`), not an encoding of every entry.
//!
//! Reading checks everything a hand-edited or damaged file could get
//! wrong — size ([`MAX_FILE_BYTES`]), version, count
//! ([`MAX_CUSTOMERS`]), each value (names, emails and birthdays are
//! checked types), the consent log's length, duplicate addresses — and a
//! failure names the file and the entry, never its contents.

use super::{DirectoryError, MAX_CUSTOMERS, MAX_FILE_BYTES};
use guild_api::customers::{CustomerEntry, MAX_CONSENT_LOG};
use guild_ledger::crypto::Address;
use guild_os::durable::{self, Existing};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// The format version this code reads and writes.
pub(super) const VERSION: u32 = 1;

/// The longest `by` (an API token's name) accepted in a file.
const MAX_BY_CHARS: usize = crate::tokens::MAX_NAME_CHARS;

/// The file as read.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DirectoryFile {
    version: u32,
    customers: Vec<CustomerEntry>,
}

/// An entry with its encoded line in the file.
#[derive(Clone, Debug)]
pub(super) struct Stored {
    /// The entry.
    pub(super) entry: CustomerEntry,
    /// `serde_json::to_vec(&entry)`.
    line: Box<[u8]>,
}

impl Stored {
    /// Encodes `entry`'s line.
    pub(super) fn new(entry: CustomerEntry) -> Result<Stored, DirectoryError> {
        let line = serde_json::to_vec(&entry)
            .map_err(|e| DirectoryError::Encode {
                reason: e.to_string(),
            })?
            .into_boxed_slice();
        Ok(Stored { entry, line })
    }
}

/// Every entry, by address.
pub(super) type Table = BTreeMap<Address, Stored>;

/// Reads and checks the file at `path`; an empty table if there is none.
pub(super) fn read(path: &Path) -> Result<Table, DirectoryError> {
    let Some(bytes) = durable::read_bounded(path, MAX_FILE_BYTES)? else {
        return Ok(Table::new());
    };
    let corrupt = |reason: String| DirectoryError::Corrupt {
        path: path.to_path_buf(),
        reason,
    };
    // serde's message names the line and column, and for a bad value
    // only what was expected (the checked types' errors do not repeat
    // the value), so no personal data reaches the log.
    let file: DirectoryFile = serde_json::from_slice(&bytes)
        .map_err(|e| corrupt(format!("not a customer directory: {}", describe(&e))))?;
    if file.version != VERSION {
        return Err(corrupt(format!(
            "format version {} where this node reads version {VERSION}",
            file.version
        )));
    }
    if file.customers.len() > MAX_CUSTOMERS {
        return Err(corrupt(format!("more than {MAX_CUSTOMERS} customers")));
    }
    let mut table = Table::new();
    for (index, entry) in file.customers.into_iter().enumerate() {
        let place = format!("customer {} ({})", index + 1, entry.address);
        if entry.consent_log.len() > MAX_CONSENT_LOG {
            return Err(corrupt(format!(
                "{place} has more than {MAX_CONSENT_LOG} consent changes"
            )));
        }
        let long_by = entry
            .consent_log
            .iter()
            .map(|e| &e.by)
            .chain(entry.consent.messages.last_change.iter().map(|c| &c.by))
            .chain(entry.consent.profiling.last_change.iter().map(|c| &c.by))
            .any(|by| by.chars().count() > MAX_BY_CHARS);
        if long_by {
            return Err(corrupt(format!(
                "{place} names a token longer than {MAX_BY_CHARS} characters"
            )));
        }
        let address = entry.address;
        if table.insert(address, Stored::new(entry)?).is_some() {
            return Err(corrupt(format!("{place} is listed twice")));
        }
    }
    Ok(table)
}

/// A JSON error without the text it quotes (`invalid value: string
/// "…"` may hold a name).
fn describe(error: &serde_json::Error) -> String {
    let kind = match error.classify() {
        serde_json::error::Category::Io => "cannot be read",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "a value or field this version does not accept",
        serde_json::error::Category::Eof => "cut short",
    };
    format!("{kind} at line {} column {}", error.line(), error.column())
}

/// The file's bytes for `table` with `changes` applied (`None`: the entry
/// is removed), in address order: one pass over both, copying the
/// stored lines.
pub(super) fn encode(table: &Table, changes: &BTreeMap<Address, Option<Stored>>) -> Vec<u8> {
    const HEAD: &[u8] = b"{\"version\":1,\"customers\":[";
    const TAIL: &[u8] = b"\n]}\n";
    let size: usize = table.values().map(|s| s.line.len() + 2).sum::<usize>()
        + changes
            .values()
            .flatten()
            .map(|s| s.line.len() + 2)
            .sum::<usize>();
    let mut bytes = Vec::with_capacity(HEAD.len() + size + TAIL.len());
    bytes.extend_from_slice(HEAD);
    let mut first = true;
    let mut push = |stored: &Stored| {
        bytes.extend_from_slice(if first { b"\n" } else { b",\n" });
        bytes.extend_from_slice(&stored.line);
        first = false;
    };
    let mut kept = table.iter().peekable();
    let mut changed = changes.iter().peekable();
    loop {
        match (kept.peek(), changed.peek()) {
            (Some((a, stored)), Some((b, _))) if a < b => {
                push(stored);
                kept.next();
            }
            (Some((a, _)), Some((b, change))) => {
                if a == b {
                    kept.next();
                }
                if let Some(stored) = change {
                    push(stored);
                }
                changed.next();
            }
            (Some((_, stored)), None) => {
                push(stored);
                kept.next();
            }
            (None, Some((_, change))) => {
                if let Some(stored) = change {
                    push(stored);
                }
                changed.next();
            }
            (None, None) => break,
        }
    }
    bytes.extend_from_slice(TAIL);
    bytes
}

/// Replaces the file at `path` with `bytes`, atomically and durably.
pub(super) fn write(path: &Path, bytes: &[u8]) -> Result<(), DirectoryError> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(DirectoryError::Full {
            reason: format!("the directory's file would be larger than {MAX_FILE_BYTES} bytes"),
        });
    }
    durable::write_atomically(path, bytes, Existing::Replace)?;
    Ok(())
}
