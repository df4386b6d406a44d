//! `GET /v1/events`: final blocks as Server-Sent Events, and the one parser
//! of that stream.
//!
//! The node sends two event kinds: `block` (data: a [`BlockEvent`]) and
//! `lagged` (data: a [`LaggedEvent`], when a slow subscriber missed blocks),
//! plus keep-alive comment lines. [`SseParser`] splits the byte stream into
//! [`RawEvent`]s and [`RawEvent::decode`] turns them into [`ChainEvent`]s.

use guild_ledger::crypto::Address;
use guild_ledger::hash::Hash;
use guild_ledger::tx::{SignedTransaction, Transaction, TxId};
use guild_ledger::types::{Height, Timestamp};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The name of the event carrying a [`BlockEvent`].
pub const BLOCK_EVENT: &str = "block";
/// The name of the event carrying a [`LaggedEvent`].
pub const LAGGED_EVENT: &str = "lagged";

/// The largest single event accepted from the event stream.
pub const MAX_EVENT_BYTES: usize = 32 * 1024 * 1024;

/// A transaction in a `block` event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct EventTx {
    /// Its id.
    pub id: TxId,
    /// Its kind (`earn`, `transfer`, …).
    pub kind: String,
    /// Who signed it.
    pub author: Address,
    /// The transaction.
    pub tx: Transaction,
}

/// The data of a `block` event: a final block (with a filter, only the
/// matching transactions).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BlockEvent {
    /// Height of the final block.
    pub height: Height,
    /// Its hash.
    pub hash: Hash,
    /// Its time.
    pub time: Timestamp,
    /// Its transactions (those matching the filter).
    pub txs: Vec<EventTx>,
}

/// The data of a `lagged` event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct LaggedEvent {
    /// Blocks this subscriber missed (fetch them with
    /// `GET /v1/blocks/{height}`).
    pub skipped: u64,
}

/// An event transaction from a block's transaction and its id.
pub fn event_tx(id: TxId, signed: &SignedTransaction) -> EventTx {
    EventTx {
        id,
        kind: signed.tx.body.kind().to_string(),
        author: signed.tx.author,
        tx: signed.tx.clone(),
    }
}

/// An event of `GET /v1/events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChainEvent {
    /// A final block.
    Block(BlockEvent),
    /// This subscriber was too slow; `skipped` blocks were not sent.
    Lagged {
        /// How many blocks were skipped.
        skipped: u64,
    },
}

/// One event as sent: its name and data.
#[derive(Debug, PartialEq, Eq)]
pub struct RawEvent {
    /// The `event:` field (empty if none).
    pub event: String,
    /// The `data:` lines, joined with `\n`.
    pub data: String,
}

impl RawEvent {
    /// The chain event it carries (`None` for event kinds this version does
    /// not know, which are skipped); `Err` says why the data does not parse.
    pub fn decode(&self) -> Result<Option<ChainEvent>, String> {
        match self.event.as_str() {
            BLOCK_EVENT => serde_json::from_str(&self.data)
                .map(|block| Some(ChainEvent::Block(block)))
                .map_err(|e| format!("a block event that does not parse: {e}")),
            LAGGED_EVENT => serde_json::from_str::<LaggedEvent>(&self.data)
                .map(|lagged| {
                    Some(ChainEvent::Lagged {
                        skipped: lagged.skipped,
                    })
                })
                .map_err(|e| format!("a lagged event that does not parse: {e}")),
            _ => Ok(None),
        }
    }
}

/// Splits a Server-Sent Events byte stream into events (the subset of the
/// format a Guild node sends: `event:`, `data:` and comment lines). Bytes
/// are pushed as they arrive; [`SseParser::next_event`] returns each
/// complete event once.
#[derive(Debug, Default)]
pub struct SseParser {
    buffer: Vec<u8>,
    event: String,
    data: String,
}

impl SseParser {
    /// Adds bytes received.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete event in the bytes pushed so far; `Err` if the
    /// stream is not UTF-8 or an event grows over [`MAX_EVENT_BYTES`].
    pub fn next_event(&mut self) -> Result<Option<RawEvent>, String> {
        while let Some(end) = self.buffer.iter().position(|b| *b == b'\n') {
            let mut line: Vec<u8> = self.buffer.drain(..=end).collect();
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            let line = String::from_utf8(line).map_err(|_| "an event that is not UTF-8")?;
            if line.is_empty() {
                let event = RawEvent {
                    event: std::mem::take(&mut self.event),
                    data: std::mem::take(&mut self.data),
                };
                if !event.event.is_empty() || !event.data.is_empty() {
                    return Ok(Some(event));
                }
                continue;
            }
            if line.starts_with(':') {
                continue;
            }
            let (field, value) = match line.split_once(':') {
                Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
                None => (line.as_str(), ""),
            };
            match field {
                "event" => self.event = value.to_string(),
                "data" => {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
                _ => {}
            }
        }
        if self.buffer.len() + self.data.len() > MAX_EVENT_BYTES {
            return Err(format!("an event larger than {MAX_EVENT_BYTES} bytes"));
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_sent_events_are_split_and_decoded() {
        let mut parser = SseParser::default();
        let block = format!(
            "{{\"height\":3,\"hash\":\"{}\",\"time\":5,\"txs\":[]}}",
            Hash::ZERO
        );
        let text = format!(
            ":\n\nevent: lagged\r\ndata: {{\"skipped\":3}}\r\n\r\nevent: block\ndata: {block}\n\nevent: block\nda"
        );
        // Fed in small pieces, as a network would.
        for piece in text.as_bytes().chunks(7) {
            parser.push(piece);
        }
        let first = parser.next_event().unwrap().unwrap();
        assert!(matches!(
            first.decode(),
            Ok(Some(ChainEvent::Lagged { skipped: 3 }))
        ));
        let second = parser.next_event().unwrap().unwrap();
        match second.decode() {
            Ok(Some(ChainEvent::Block(event))) => assert_eq!(event.height, Height(3)),
            other => panic!("{other:?}"),
        }
        // The last event is incomplete.
        assert_eq!(parser.next_event(), Ok(None));
        parser.push(b"ta: {not json\n\n");
        assert!(parser.next_event().unwrap().unwrap().decode().is_err());
        let unknown = RawEvent {
            event: "hello".into(),
            data: "{}".into(),
        };
        assert!(matches!(unknown.decode(), Ok(None)));
    }
}
