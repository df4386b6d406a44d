//! `GET /v1/events`: final blocks as Server-Sent Events, optionally
//! filtered by transaction kind and shop.

use super::parse_address;
use crate::api::extract::ApiQuery;
use crate::api::{ApiError, ApiState};
use crate::handle::ChainEvent;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use guild_api::events::{BLOCK_EVENT, LAGGED_EVENT, event_tx};
use guild_api::{BlockEvent, ErrorBody, LaggedEvent};
use guild_ledger::block::FinalBlock;
use guild_ledger::crypto::Address;
use guild_ledger::tx::{GovernanceAction, Transaction, TxBody, TxId};
use guild_ledger::types::ChainId;
use std::convert::Infallible;
use std::time::Duration;
use tokio::sync::broadcast::error::RecvError;

/// How often an idle stream sends a keep-alive comment.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Every transaction kind, as `TxBody::kind` names them.
pub const KINDS: [&str; 15] = [
    "earn",
    "reverse",
    "transfer",
    "redeem",
    "settle",
    "propose",
    "approve",
    "sale",
    "birthday",
    "refer",
    "set_earn_rule",
    "publish_campaign",
    "approve_campaign",
    "stop_campaign",
    "offer",
];

/// The query of `GET /v1/events`.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Comma-separated transaction kinds, e.g. `redeem,earn`: only blocks
    /// holding such a transaction are sent, listing only those.
    kinds: Option<String>,
    /// A shop's address: only transactions at that shop.
    shop: Option<String>,
}

/// Which transactions a subscriber wants. With no filter every block is
/// sent, even an empty one; with a filter only blocks holding a matching
/// transaction are sent, listing only the matching transactions.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    kinds: Option<Vec<&'static str>>,
    shop: Option<Address>,
}

impl Filter {
    /// Parses the query; unknown kinds and bad addresses are refused.
    pub fn parse(kinds: Option<&str>, shop: Option<&str>) -> Result<Filter, ApiError> {
        let kinds = match kinds {
            None => None,
            Some(list) => {
                let mut out = Vec::new();
                for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    let Some(kind) = KINDS.iter().find(|k| **k == name) else {
                        return Err(ApiError::BadRequest {
                            reason: format!(
                                "unknown transaction kind '{}'; the kinds are {}",
                                name.chars().take(40).collect::<String>(),
                                KINDS.join(", ")
                            ),
                        });
                    };
                    out.push(*kind);
                }
                Some(out)
            }
        };
        let shop = shop.map(parse_address).transpose()?;
        Ok(Filter { kinds, shop })
    }

    /// True if no filter was given.
    pub fn is_empty(&self) -> bool {
        self.kinds.is_none() && self.shop.is_none()
    }

    /// Does `tx` pass the filter?
    pub fn matches(&self, tx: &Transaction) -> bool {
        let kind_ok = self
            .kinds
            .as_ref()
            .is_none_or(|kinds| kinds.contains(&tx.body.kind()));
        let shop_ok = self.shop.as_ref().is_none_or(|shop| at_shop(tx, shop));
        kind_ok && shop_ok
    }
}

/// Does `tx` happen at `shop`? A redemption happens at the shop where the
/// points are spent (not at a shop that redeems as a customer elsewhere);
/// any other transaction at its author and at the addresses its body names
/// (recipient, debtor, member added or removed).
pub fn at_shop(tx: &Transaction, shop: &Address) -> bool {
    match &tx.body {
        TxBody::Redeem { shop: at, .. } => at == shop,
        TxBody::Earn { .. }
        | TxBody::Reverse { .. }
        | TxBody::Approve { .. }
        | TxBody::Sale { .. }
        | TxBody::Birthday { .. }
        | TxBody::SetEarnRule { .. }
        | TxBody::ApproveCampaign { .. }
        | TxBody::StopCampaign { .. }
        | TxBody::Offer { .. } => tx.author == *shop,
        TxBody::PublishCampaign { campaign } => campaign.funded_by(shop),
        TxBody::Refer { .. } => false,
        TxBody::Transfer { to, .. } => tx.author == *shop || to == shop,
        TxBody::Settle { debtor, .. } => tx.author == *shop || debtor == shop,
        TxBody::Propose { action } => {
            tx.author == *shop
                || match action {
                    GovernanceAction::AddMember { address, .. }
                    | GovernanceAction::RemoveMember { address } => address == shop,
                    GovernanceAction::SetParam { .. } | GovernanceAction::SetTiers { .. } => false,
                }
        }
    }
}

/// The `block` event for a final block, or `None` if a filter leaves
/// nothing of it.
pub fn block_event(
    chain_id: &ChainId,
    block: &FinalBlock,
    ids: &[TxId],
    filter: &Filter,
) -> Option<BlockEvent> {
    let txs: Vec<_> = block
        .block
        .txs
        .iter()
        .enumerate()
        .filter(|(_, signed)| filter.matches(&signed.tx))
        .map(|(i, signed)| {
            let id = ids
                .get(i)
                .copied()
                .unwrap_or_else(|| signed.tx.id(chain_id));
            event_tx(id, signed)
        })
        .collect();
    if txs.is_empty() && !filter.is_empty() {
        return None;
    }
    let header = &block.block.header;
    Some(BlockEvent {
        height: header.height,
        hash: header.hash(),
        time: header.time,
        txs,
    })
}

fn sse_event(name: &str, data: &impl serde::Serialize) -> Option<Event> {
    match serde_json::to_string(data) {
        Ok(json) => Some(Event::default().event(name).data(json)),
        Err(error) => {
            tracing::error!(%error, "API: an event does not serialize");
            None
        }
    }
}

/// Streams final blocks from now on.
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventsQuery),
    responses(
        (status = 200, description = "Server-Sent Events from now on: `event: block` whose data is a BlockEvent (a final block), `event: lagged` whose data is a LaggedEvent (blocks this subscriber missed), and keep-alive comments every 15 s.", content_type = "text/event-stream", body = String),
        (status = 400, description = "`bad_request` (an unknown kind) or `bad_address`.", body = ErrorBody),
    )
)]
pub async fn events(
    State(api): State<ApiState>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let filter = Filter::parse(query.kinds.as_deref(), query.shop.as_deref())?;
    let mut events = api.handle.subscribe();
    let chain_id = api.handle.chain_id.clone();
    let stream = async_stream::stream! {
        loop {
            let next = tokio::select! {
                next = events.recv() => next,
                () = api.stopping() => break,
            };
            let event = match next {
                Ok(ChainEvent::Final { block, ids, .. }) => block_event(&chain_id, &block, &ids, &filter)
                    .and_then(|data| sse_event(BLOCK_EVENT, &data)),
                Err(RecvError::Lagged(skipped)) => sse_event(LAGGED_EVENT, &LaggedEvent { skipped }),
                Err(RecvError::Closed) => break,
            };
            if let Some(event) = event {
                yield Ok(event);
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}
