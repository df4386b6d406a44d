//! `GET /console/live`: the node's final blocks as Server-Sent Events for
//! the pages' live updates (`event: block`, data: the block's height).
//! Only what is on the ledger passes: heights, no directory data.

use crate::Console;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;
use guild_api::ChainEvent;
use std::convert::Infallible;
use std::time::Duration;

/// The stream: opens one subscription to the node per page; ends when the
/// node's stream ends (the browser's `EventSource` then reconnects).
pub async fn stream(
    State(console): State<Console>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let node = console.node.clone();
    let events = futures::stream::unfold(None, move |subscription| {
        let node = node.clone();
        async move {
            let mut subscription = match subscription {
                Some(s) => s,
                None => match node.events(&[], None).await {
                    Ok(s) => s,
                    Err(error) => {
                        tracing::debug!(%error, "console: no event stream from the node");
                        return None;
                    }
                },
            };
            match subscription.next().await {
                Ok(Some(ChainEvent::Block(block))) => Some((
                    Ok(Event::default()
                        .event("block")
                        .data(block.height.0.to_string())),
                    Some(subscription),
                )),
                Ok(Some(ChainEvent::Lagged { skipped })) => Some((
                    Ok(Event::default().event("lagged").data(skipped.to_string())),
                    Some(subscription),
                )),
                Ok(None) | Err(_) => None,
            }
        }
    });
    Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
