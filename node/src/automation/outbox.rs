//! The durable outbox: every event an automation fires is written here
//! before anything is done about it, with every attempt and how it ended.
//!
//! ## The journal
//!
//! `automation/outbox.journal` is append-only, one record per line:
//!
//! ```text
//! 1a2b3c4d {"r":"enqueued","entry":{"id":"evt_…","automation":"win-back",…}}
//! 5e6f7a8b {"r":"attempt","id":"evt_…","attempt":{"at_ms":…,"ok":false,"http_status":500,…},"next_ms":…}
//! 9c0d1e2f {"r":"finished","id":"evt_…","at_ms":…,"status":"delivered","outcome":"HTTP 200"}
//! 3a4b5c6d {"r":"cursor","height":1234}
//! ```
//!
//! The first 8 hex characters are the first 4 bytes of the SHA-256 of the
//! JSON that follows. [`Outbox::commit`] appends a batch of records with
//! one write and one `fdatasync`, and changes the outbox in memory only
//! once they are on disk. Records: an event enqueued (or held out, for the
//! A/B comparison), an attempt and its result, an event finished
//! (delivered, cancelled with its reason, or dead), a customer forgotten
//! (erasure), the block cursor, and ids seen (kept after their entry is
//! pruned).
//!
//! ## Replay, torn writes, compaction
//!
//! [`Outbox::open`] reads the whole journal (bounded) and replays it. A
//! crash in the middle of an append leaves a last line without its newline
//! or with a wrong checksum: replay stops before it and the file is cut
//! back to the last good line, so the next append starts clean. (A bad
//! line followed by good ones is damage, not a torn append: it is skipped
//! and counted, and the rest is kept.)
//!
//! The journal is rewritten, atomically ([`guild_os::durable`]), with only
//! what is live when it has grown to several times that
//! ([`Outbox::maintain`]), and at once after a customer is forgotten, so
//! their data is gone from the file too. Finished entries are kept
//! [`KEEP_FINISHED_DAYS`] (the delivery log and the report); their ids
//! [`KEEP_IDS_DAYS`], longer than any trigger looks back, so an event is
//! never fired twice for its cause.
//!
//! ## Exactly once, at least once
//!
//! An event's id is a hash of its automation and its cause
//! ([`super::triggers::event_id`]). [`Outbox::contains`] is asked before
//! anything is enqueued, and an enqueued id seen again (a scan after a
//! crash, a block processed twice) is dropped at replay too. The block
//! cursor is written in the same batch as the events of the blocks it
//! covers: a crash before the batch is on disk loses both, and the blocks
//! are processed again; after it, neither is repeated.

use super::AutomationError;
use guild_api::automation::{Action, AttemptInfo, DeliveryStatus, EventType, Explanation};
use guild_ledger::crypto::Address;
use guild_ledger::types::{Height, MS_PER_DAY, Points};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The journal's name in the automation directory.
pub const FILE_NAME: &str = "outbox.journal";
/// The most events waiting (pending or retrying) at once; beyond, new
/// events wait to be enqueued (the block cursor stops, scans retry).
pub const MAX_WAITING: usize = 20_000;
/// Days a finished entry stays in the delivery log.
pub const KEEP_FINISHED_DAYS: u64 = 90;
/// The most finished entries kept (the oldest become ids only).
pub const MAX_FINISHED: usize = 50_000;
/// Days an event's id is remembered.
pub const KEEP_IDS_DAYS: u64 = 400;
/// Attempts kept per entry (the count is kept whole).
pub const MAX_ATTEMPTS_KEPT: usize = 10;
/// The largest journal read at start.
const MAX_JOURNAL_BYTES: u64 = 1024 * 1024 * 1024;
/// The journal is compacted once it is this many times the live size…
const COMPACT_RATIO: u64 = 4;
/// …and at least this large.
const COMPACT_MIN_BYTES: u64 = 4 * 1024 * 1024;

/// One event, as it was fired.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// `evt_…`: the `webhook-id`.
    pub id: String,
    /// The automation that fired it.
    pub automation: String,
    /// Its type.
    pub event_type: EventType,
    /// What is to be done (as the automation said when it fired).
    pub action: Action,
    /// The customer.
    pub customer: Address,
    /// The cause.
    pub cause: String,
    /// When it was enqueued.
    pub created_ms: u64,
    /// When it happened.
    pub time_ms: u64,
    /// Held out for the A/B comparison: recorded, nothing done.
    pub held_out: bool,
    /// Why it fired.
    pub explanation: Explanation,
}

/// An entry and where it stands.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EntryState {
    /// The entry.
    pub entry: Entry,
    /// Where it stands (`HeldOut` entries are final at once).
    pub status: DeliveryStatus,
    /// The last attempts, oldest first.
    pub attempts: VecDeque<AttemptInfo>,
    /// Attempts made.
    pub attempt_count: u32,
    /// When it is due (waiting entries).
    pub next_ms: u64,
    /// How it ended.
    pub outcome: Option<String>,
    /// When it ended.
    pub finished_ms: Option<u64>,
    /// Points given, for a reward.
    pub reward_points: Option<Points>,
}

impl EntryState {
    /// True while something remains to be done.
    pub fn is_waiting(&self) -> bool {
        !self.status.is_final()
    }
}

/// One change to the outbox, as written to the journal.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "r", rename_all = "snake_case")]
pub enum Change {
    /// An event fired (to act on, or held out).
    Enqueued {
        /// The event.
        entry: Box<Entry>,
    },
    /// An attempt was made; `next_ms` is when to try again (`None` when
    /// it succeeded or a [`Change::Finished`] follows).
    Attempt {
        /// The event.
        id: String,
        /// The attempt.
        attempt: AttemptInfo,
        /// When to try again.
        next_ms: Option<u64>,
    },
    /// Nothing more will be tried.
    Finished {
        /// The event.
        id: String,
        /// When.
        at_ms: u64,
        /// Delivered, cancelled or dead.
        status: DeliveryStatus,
        /// The result or the reason.
        outcome: String,
        /// Points given, for a reward.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reward_points: Option<Points>,
    },
    /// Every entry naming the customer is erased.
    Forgotten {
        /// The customer.
        customer: Address,
    },
    /// Blocks up to `height` have been processed by the block-driven
    /// triggers.
    Cursor {
        /// The height.
        height: Height,
    },
    /// An id fired before, whose entry was pruned (compaction).
    Seen {
        /// The event's id.
        id: String,
        /// Its day (UTC day number), to know when to drop it.
        day: u64,
    },
    /// An entry as it stands (compaction).
    State {
        /// The entry with its attempts and status.
        state: Box<EntryState>,
    },
}

/// The outbox: the journal and what replaying it gives.
#[derive(Debug)]
pub struct Outbox {
    path: PathBuf,
    file: File,
    entries: HashMap<String, EntryState>,
    seen: HashMap<String, u64>,
    cursor: Option<Height>,
    file_bytes: u64,
    live_bytes: u64,
    skipped: usize,
}

/// The line of a change: checksum, space, JSON, newline.
fn line(change: &Change) -> Result<Vec<u8>, serde_json::Error> {
    let json = serde_json::to_vec(change)?;
    let sum = Sha256::digest(&json);
    let mut line = Vec::with_capacity(json.len() + 10);
    line.extend_from_slice(hex::encode(&sum[..4]).as_bytes());
    line.push(b' ');
    line.extend_from_slice(&json);
    line.push(b'\n');
    Ok(line)
}

/// The change on a line (without its newline), if the line is whole.
fn parse(text: &[u8]) -> Option<Change> {
    if text.len() < 10 || text[8] != b' ' {
        return None;
    }
    let (sum, json) = (&text[..8], &text[9..]);
    let digest = Sha256::digest(json);
    if sum != hex::encode(&digest[..4]).as_bytes() {
        return None;
    }
    serde_json::from_slice(json).ok()
}

impl Outbox {
    /// Opens (or creates) the journal in `dir` and replays it.
    pub fn open(dir: &Path) -> Result<Outbox, AutomationError> {
        let path = dir.join(FILE_NAME);
        let io = |action: &'static str| {
            let path = path.clone();
            move |source| AutomationError::Io {
                path,
                action,
                source,
            }
        };
        let bytes = guild_os::durable::read_bounded(&path, MAX_JOURNAL_BYTES)?.unwrap_or_default();
        let mut outbox = Outbox {
            file: OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .map_err(io("open"))?,
            path: path.clone(),
            entries: HashMap::new(),
            seen: HashMap::new(),
            cursor: None,
            file_bytes: 0,
            live_bytes: 0,
            skipped: 0,
        };
        // Parse every whole line; the journal ends after the last good one.
        let mut good_end = 0usize;
        let mut bad_since_good = 0usize;
        let mut offset = 0usize;
        while let Some(newline) = bytes[offset..].iter().position(|b| *b == b'\n') {
            let end = offset + newline;
            match parse(&bytes[offset..end]) {
                Some(change) => {
                    outbox.skipped += bad_since_good;
                    bad_since_good = 0;
                    outbox.apply(change);
                    good_end = end + 1;
                }
                None => bad_since_good += 1,
            }
            offset = end + 1;
        }
        if good_end < bytes.len() {
            tracing::warn!(
                path = %path.display(),
                cut = bytes.len() - good_end,
                "the outbox journal ends in an incomplete record (a write cut short); it is cut back to the last whole record"
            );
            outbox
                .file
                .set_len(good_end as u64)
                .map_err(io("truncate"))?;
            outbox.file.sync_all().map_err(io("sync"))?;
        }
        if outbox.skipped > 0 {
            tracing::error!(path = %path.display(), records = outbox.skipped, "damaged records in the outbox journal were skipped");
        }
        outbox.file_bytes = good_end as u64;
        outbox.live_bytes = outbox.file_bytes;
        Ok(outbox)
    }

    /// Applies one change to the state in memory (replay and commit).
    fn apply(&mut self, change: Change) {
        match change {
            Change::Enqueued { entry } => {
                if self.contains(&entry.id) {
                    return;
                }
                let status = if entry.held_out {
                    DeliveryStatus::HeldOut
                } else {
                    DeliveryStatus::Pending
                };
                let state = EntryState {
                    next_ms: entry.created_ms,
                    finished_ms: entry.held_out.then_some(entry.created_ms),
                    entry: *entry,
                    status,
                    attempts: VecDeque::new(),
                    attempt_count: 0,
                    outcome: None,
                    reward_points: None,
                };
                self.entries.insert(state.entry.id.clone(), state);
            }
            Change::Attempt {
                id,
                attempt,
                next_ms,
            } => {
                if let Some(state) = self.entries.get_mut(&id) {
                    state.attempt_count = state.attempt_count.saturating_add(1);
                    if state.attempts.len() >= MAX_ATTEMPTS_KEPT {
                        state.attempts.pop_front();
                    }
                    state.attempts.push_back(attempt);
                    if let (Some(next), true) = (next_ms, state.is_waiting()) {
                        state.status = DeliveryStatus::Retrying;
                        state.next_ms = next;
                    }
                }
            }
            Change::Finished {
                id,
                at_ms,
                status,
                outcome,
                reward_points,
            } => {
                if let Some(state) = self.entries.get_mut(&id) {
                    state.status = status;
                    state.outcome = Some(outcome);
                    state.finished_ms = Some(at_ms);
                    state.reward_points = reward_points;
                }
            }
            Change::Forgotten { customer } => {
                // The ids stay (hashes, naming no one), so nothing fires
                // twice for its cause.
                let seen = &mut self.seen;
                self.entries.retain(|id, s| {
                    let keep = s.entry.customer != customer;
                    if !keep {
                        seen.insert(id.clone(), s.entry.created_ms / MS_PER_DAY);
                    }
                    keep
                });
            }
            Change::Cursor { height } => {
                self.cursor = Some(self.cursor.map_or(height, |c| c.max(height)));
            }
            Change::Seen { id, day } => {
                if !self.entries.contains_key(&id) {
                    self.seen.insert(id, day);
                }
            }
            Change::State { state } => {
                if !self.contains(&state.entry.id) {
                    self.entries.insert(state.entry.id.clone(), *state);
                }
            }
        }
    }

    /// Appends `changes` with one write and one sync, then applies them.
    /// On failure nothing is applied and the journal is cut back to where
    /// it was.
    pub fn commit(&mut self, changes: Vec<Change>) -> Result<(), AutomationError> {
        if changes.is_empty() {
            return Ok(());
        }
        let mut bytes = Vec::new();
        for change in &changes {
            bytes.extend(line(change).map_err(|e| AutomationError::Corrupt {
                path: self.path.clone(),
                reason: format!("cannot encode a journal record: {e}"),
            })?);
        }
        let written = self
            .file
            .write_all(&bytes)
            .and_then(|()| self.file.sync_data());
        if let Err(source) = written {
            let _ = self.file.set_len(self.file_bytes);
            return Err(AutomationError::Io {
                path: self.path.clone(),
                action: "append to",
                source,
            });
        }
        self.file_bytes += bytes.len() as u64;
        for change in changes {
            self.apply(change);
        }
        Ok(())
    }

    /// True if an event with this id was ever fired (and is remembered).
    pub fn contains(&self, id: &str) -> bool {
        self.entries.contains_key(id) || self.seen.contains_key(id)
    }

    /// Blocks processed so far by the block-driven triggers.
    pub fn cursor(&self) -> Option<Height> {
        self.cursor
    }

    /// One entry.
    pub fn get(&self, id: &str) -> Option<&EntryState> {
        self.entries.get(id)
    }

    /// Every entry kept, in no particular order.
    pub fn entries(&self) -> impl Iterator<Item = &EntryState> {
        self.entries.values()
    }

    /// Events waiting (pending or retrying).
    pub fn waiting(&self) -> usize {
        self.entries.values().filter(|s| s.is_waiting()).count()
    }

    /// Room left for new events.
    pub fn room(&self) -> usize {
        MAX_WAITING.saturating_sub(self.waiting())
    }

    /// Damaged records skipped when the journal was opened.
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// The journal's size in bytes.
    pub fn file_bytes(&self) -> u64 {
        self.file_bytes
    }

    /// Waiting entries due by `now` (oldest due first), at most `limit`,
    /// leaving out those `skip` says.
    pub fn due(&self, now_ms: u64, limit: usize, skip: impl Fn(&Entry) -> bool) -> Vec<Entry> {
        let mut due: Vec<&EntryState> = self
            .entries
            .values()
            .filter(|s| s.is_waiting() && s.next_ms <= now_ms && !skip(&s.entry))
            .collect();
        due.sort_by(|a, b| (a.next_ms, &a.entry.id).cmp(&(b.next_ms, &b.entry.id)));
        due.into_iter()
            .take(limit)
            .map(|s| s.entry.clone())
            .collect()
    }

    /// When the next waiting entry is due.
    pub fn next_due(&self, skip: impl Fn(&Entry) -> bool) -> Option<u64> {
        self.entries
            .values()
            .filter(|s| s.is_waiting() && !skip(&s.entry))
            .map(|s| s.next_ms)
            .min()
    }

    /// Erases every entry naming `customer`, in memory and (by an
    /// immediate compaction) from the file.
    pub fn forget(&mut self, customer: Address, now_ms: u64) -> Result<usize, AutomationError> {
        let before = self.entries.len();
        self.commit(vec![Change::Forgotten { customer }])?;
        let erased = before - self.entries.len();
        self.compact(now_ms)?;
        Ok(erased)
    }

    /// Prunes what is no longer kept and rewrites the journal if it has
    /// grown to [`COMPACT_RATIO`] times what is live.
    pub fn maintain(&mut self, now_ms: u64) -> Result<(), AutomationError> {
        let pruned = self.prune(now_ms);
        if pruned > 0
            || (self.file_bytes >= COMPACT_MIN_BYTES
                && self.file_bytes >= self.live_bytes.saturating_mul(COMPACT_RATIO))
        {
            self.compact(now_ms)?;
        }
        Ok(())
    }

    /// Moves old finished entries to the seen ids and drops old ids;
    /// returns how many were changed.
    fn prune(&mut self, now_ms: u64) -> usize {
        let today = now_ms / MS_PER_DAY;
        let finished_before = now_ms.saturating_sub(KEEP_FINISHED_DAYS * MS_PER_DAY);
        let mut finished: Vec<(u64, String)> = self
            .entries
            .values()
            .filter(|s| !s.is_waiting())
            .map(|s| {
                (
                    s.finished_ms.unwrap_or(s.entry.created_ms),
                    s.entry.id.clone(),
                )
            })
            .collect();
        finished.sort();
        let over = finished.len().saturating_sub(MAX_FINISHED);
        let mut changed = 0;
        for (i, (at, id)) in finished.into_iter().enumerate() {
            if (i < over || at < finished_before)
                && let Some(state) = self.entries.remove(&id)
            {
                self.seen.insert(id, state.entry.created_ms / MS_PER_DAY);
                changed += 1;
            }
        }
        let before = self.seen.len();
        self.seen
            .retain(|_, day| day.saturating_add(KEEP_IDS_DAYS) >= today);
        changed + (before - self.seen.len())
    }

    /// Rewrites the journal with what is live (atomically) and appends to
    /// the new file from now on.
    pub fn compact(&mut self, now_ms: u64) -> Result<(), AutomationError> {
        self.prune(now_ms);
        let mut changes: Vec<Change> = Vec::new();
        let mut seen: Vec<(&String, &u64)> = self.seen.iter().collect();
        seen.sort();
        changes.extend(seen.into_iter().map(|(id, day)| Change::Seen {
            id: id.clone(),
            day: *day,
        }));
        let mut states: Vec<&EntryState> = self.entries.values().collect();
        states.sort_by(|a, b| {
            (a.entry.created_ms, &a.entry.id).cmp(&(b.entry.created_ms, &b.entry.id))
        });
        changes.extend(states.into_iter().map(|s| Change::State {
            state: Box::new(s.clone()),
        }));
        if let Some(height) = self.cursor {
            changes.push(Change::Cursor { height });
        }
        let mut bytes = Vec::new();
        for change in &changes {
            bytes.extend(line(change).map_err(|e| AutomationError::Corrupt {
                path: self.path.clone(),
                reason: format!("cannot encode a journal record: {e}"),
            })?);
        }
        guild_os::durable::write_atomically(
            &self.path,
            &bytes,
            guild_os::durable::Existing::Replace,
        )?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(|source| AutomationError::Io {
                path: self.path.clone(),
                action: "open",
                source,
            })?;
        self.file_bytes = bytes.len() as u64;
        self.live_bytes = self.file_bytes;
        tracing::debug!(
            bytes = self.file_bytes,
            entries = self.entries.len(),
            ids = self.seen.len(),
            "outbox journal compacted"
        );
        Ok(())
    }

    /// The ids of the entries of `automation` still waiting.
    pub fn waiting_of(&self, automation: &str) -> Vec<String> {
        self.entries
            .values()
            .filter(|s| s.is_waiting() && s.entry.automation == automation)
            .map(|s| s.entry.id.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests;
