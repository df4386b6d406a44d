//! The HTTP/JSON API for wallets, tills and dashboards.
//!
//! Every endpoint lives under `/v1` and speaks JSON (amounts are integers,
//! addresses bech32 text `guild1…`, hashes and ids hex, times milliseconds
//! since the Unix epoch). `docs/api.md` documents each endpoint with
//! examples.
//!
//! ## Data flow
//!
//! - Reads never wait for the engine: they use one [`ChainView`] snapshot
//!   (taken once per request, so everything in one answer is from the same
//!   height) and the read-only [`Store`](crate::store::Store). Store reads
//!   that may touch many blocks run on the blocking thread pool.
//! - `POST /v1/tx` decodes the canonical bytes and hands the transaction to
//!   the engine through [`NodeHandle::submit`]; the engine's answer (admitted,
//!   final, or refused with a rule's error) becomes the HTTP answer.
//! - `GET /v1/events` streams final blocks from the node's
//!   [`ChainEvent`](crate::ChainEvent) broadcast as Server-Sent Events.
//!
//! ## Invariants
//!
//! - No panic is reachable from a request; every error is a JSON body
//!   `{"error":{"code","message"}}` with a stable `code` (see [`ApiError`]).
//! - Everything is bounded: open connections ([`MAX_CONNECTIONS`]),
//!   request bodies ([`MAX_BODY_BYTES`]), history pages (500),
//!   submission waits (60 s); a slow event subscriber is told how many
//!   blocks it missed instead of holding memory.
//! - [`serve`] stops on its shutdown future: event streams and waiting
//!   submissions end at once, so shutdown never hangs on a client.
//!
//! [`ChainView`]: crate::ChainView

mod error;
mod extract;
mod json;
mod listener;
mod routes;
#[cfg(test)]
mod tests;

pub use error::ApiError;

use crate::handle::NodeHandle;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::routing::{get, post};
use std::future::Future;
use tokio::sync::watch;
use tower_http::cors::{Any, CorsLayer};

/// The largest request body accepted, in bytes (a signed transaction is at
/// most 16 KiB, 32 KiB as hex).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The most connections [`serve`] holds open at once (event streams
/// included); further clients wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;

/// What every handler can reach: the node and the server's stop signal.
#[derive(Clone)]
pub(crate) struct ApiState {
    /// The node.
    pub(crate) handle: NodeHandle,
    /// Becomes `true` when the server starts shutting down.
    pub(crate) shutdown: watch::Receiver<bool>,
}

impl ApiState {
    /// Completes once the server is shutting down; never, if it has no stop
    /// signal (a router used without [`serve`]).
    pub(crate) async fn stopping(&self) {
        let mut shutdown = self.shutdown.clone();
        if shutdown.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The API's routes over `handle`. Event streams served by this router end
/// only when the node's event channel closes; use [`serve`] to have them
/// end on shutdown too.
pub fn router(handle: NodeHandle) -> Router {
    let (stop, shutdown) = watch::channel(false);
    drop(stop);
    build(ApiState { handle, shutdown })
}

/// Serves the API on `listener` until `shutdown` completes, then stops
/// accepting connections, ends event streams and waiting submissions, and
/// returns once the open requests are answered. Tests bind port 0.
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: NodeHandle,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let app = build(ApiState {
        handle,
        shutdown: stopping,
    });
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "HTTP API listening");
    }
    let signal = async move {
        shutdown.await;
        let _ = stop.send(true);
        tracing::info!("HTTP API shutting down");
    };
    axum::serve(
        listener::LimitedListener::new(listener, MAX_CONNECTIONS),
        app,
    )
    .with_graceful_shutdown(signal)
    .await
}

fn build(state: ApiState) -> Router {
    use routes::{accounts, blocks, chain, events, tx};
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    Router::new()
        .route("/v1/tx", post(tx::submit))
        .route("/v1/tx/{id}", get(tx::lookup))
        .route("/v1/accounts/{address}", get(accounts::account))
        .route("/v1/accounts/{address}/history", get(accounts::history))
        .route("/v1/accounts/{address}/proof", get(accounts::proof))
        .route("/v1/blocks/{height}", get(blocks::block))
        .route("/v1/head", get(chain::head))
        .route("/v1/genesis", get(chain::genesis))
        .route("/v1/members", get(chain::members))
        .route("/v1/params", get(chain::params))
        .route("/v1/proposals", get(chain::proposals))
        .route("/v1/supply", get(chain::supply))
        .route("/v1/settlement", get(chain::settlement))
        .route("/v1/events", get(events::events))
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
        .with_state(state)
}
