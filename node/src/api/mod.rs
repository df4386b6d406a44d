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
//! - `GET /v1/insights/*` read the insights snapshot of the head
//!   ([`crate::insights`]), kept up to date from committed blocks; a
//!   scope's customer rows are computed once per height.
//! - Every answer is a [`guild_api`] type, built by `guild_api`'s pure
//!   builders where the answer is a function of ledger values: the wire
//!   shapes are defined once, for this server and every client.
//! - Endpoints for tills take an [`Authorized`](auth::Authorized)
//!   extractor: the request must carry `Authorization: Bearer gld_…` with a
//!   token of the node's [`TokenStore`] that has the endpoint's scope
//!   (`Authorized<Sale>`), else `401 unauthorized` / `403 forbidden`. The
//!   store is re-read when `guild node token` changes it. A client address
//!   with 5 such `401`s within a minute gets `429 too_many_failures` on
//!   those endpoints until the minute is over ([`throttle`]).
//! - `POST /v1/shop/sign` (an `admin` token) hands one back-office
//!   transaction body (settle, governance, rules, campaigns, a grant by
//!   hand, a reversal) to the engine, which signs it as the shop
//!   ([`NodeHandle::grant`]); other kinds are refused before the engine.
//! - The shop's customer directory (`/v1/customers…`, with an `admin`
//!   token, `Authorized<Admin>`) is the node's [`Directory`]: changes are
//!   written to its file on the blocking pool before they are answered.
//! - Each handler carries its OpenAPI description (`#[utoipa::path]`); the
//!   router is assembled from those descriptions, so the document served at
//!   `GET /v1/openapi.json` ([`openapi`]) lists exactly the routes served.
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

pub mod auth;
mod error;
mod extract;
mod listener;
mod routes;
#[cfg(test)]
mod tests;
pub mod throttle;

pub use error::ApiError;

use crate::automation::AutomationHandle;
use crate::directory::Directory;
use crate::handle::NodeHandle;
use crate::tokens::TokenStore;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, header};
use axum::{Extension, Router};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;
use tower_http::cors::{Any, CorsLayer};
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The largest request body accepted, in bytes (a signed transaction is at
/// most 16 KiB, 32 KiB as hex).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The most connections [`serve`] holds open at once (event streams
/// included); further clients wait to be accepted.
pub const MAX_CONNECTIONS: usize = 512;

/// What every handler can reach: the node, its API tokens and the
/// server's stop signal.
#[derive(Clone)]
pub(crate) struct ApiState {
    /// The node.
    pub(crate) handle: NodeHandle,
    /// The API tokens of the node's data directory.
    pub(crate) tokens: TokenStore,
    /// The shop's customer directory.
    pub(crate) directory: Directory,
    /// The shop's automations (`None`: not running here).
    pub(crate) automation: Option<AutomationHandle>,
    /// Clients that sent wrong tokens ([`throttle`]).
    pub(crate) throttle: throttle::Throttle,
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

/// The API's routes over `handle`, authenticating tills with `tokens`,
/// serving the customer `directory`, and the shop's automations if
/// `automation` is given. Event streams served by this router end only
/// when the node's event channel closes; use [`serve`] to have them end on
/// shutdown too.
pub fn router(
    handle: NodeHandle,
    tokens: TokenStore,
    directory: Directory,
    automation: Option<AutomationHandle>,
) -> Router {
    let (stop, shutdown) = watch::channel(false);
    drop(stop);
    build(ApiState {
        handle,
        tokens,
        directory,
        automation,
        throttle: throttle::Throttle::default(),
        shutdown,
    })
}

/// Serves the API on `listener` (authenticating tills with `tokens`,
/// serving the customer `directory`, the shop's automations if
/// `automation` is given, and the web `console` under `/console` if given)
/// until `shutdown` completes, then stops accepting connections, ends
/// event streams and waiting submissions, and returns once the open
/// requests are answered. Tests bind port 0.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    listener: tokio::net::TcpListener,
    handle: NodeHandle,
    tokens: TokenStore,
    directory: Directory,
    automation: Option<AutomationHandle>,
    console: Option<Router>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let mut app = build(ApiState {
        handle,
        tokens,
        directory,
        automation,
        throttle: throttle::Throttle::default(),
        shutdown: stopping,
    });
    if let Some(console) = console {
        // Outside the API's CORS layer: the console's pages are for its
        // own origin only.
        app = app.merge(console_app(console));
    }
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
        app.into_make_service_with_connect_info::<listener::ClientAddr>(),
    )
    .with_graceful_shutdown(signal)
    .await
}

/// The console's `router` as served: each request carries its client's
/// address for the sign-in throttle ([`guild_console::ClientIp`]).
pub fn console_app(router: Router) -> Router {
    router.layer(axum::middleware::from_fn(console_client_ip))
}

async fn console_client_ip(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let client = request
        .extensions()
        .get::<axum::extract::ConnectInfo<listener::ClientAddr>>()
        .map(|connect| connect.0.0.ip());
    if let Some(ip) = client {
        request.extensions_mut().insert(guild_console::ClientIp(ip));
    }
    next.run(request).await
}

/// Serves an `app` (the console or the explorer on an address of its own)
/// on `listener`, with the API's connection limit, until `shutdown`.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener::LimitedListener::new(listener, MAX_CONNECTIONS),
        app.into_make_service_with_connect_info::<listener::ClientAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// What the node says at start when its API listens on `addr`, beyond
/// this machine: tokens and customers' data then travel in clear text over
/// the network. `None` on a loopback address (the default,
/// `127.0.0.1:8700`).
pub fn exposure_warning(addr: SocketAddr) -> Option<String> {
    if addr.ip().is_loopback() {
        return None;
    }
    let reach = if addr.ip().is_unspecified() {
        "every network this machine is on"
    } else {
        "the network"
    };
    Some(format!(
        "warning: the HTTP API listens on {addr}, reachable from {reach}, over plain HTTP: \
API tokens (Authorization: Bearer gld_…) and the customer directory travel unencrypted. \
Keep --api on 127.0.0.1 and put a TLS reverse proxy (e.g. Caddy or nginx) in front for tills \
on other machines (docs/till.md, \"Tills on other machines\")."
    ))
}

/// The wall clock in milliseconds since the Unix epoch (0 if the clock is
/// before 1970): the instant balances and `issued_today` are computed at.
pub(crate) use crate::engine::now_ms;

/// The OpenAPI 3.1 document of the API: [`guild_api::ApiDoc`]'s front
/// matter plus one path item per route, from the handlers' descriptions.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// Every route with its OpenAPI description; one `routes!` per path.
fn routes() -> OpenApiRouter<ApiState> {
    use routes::{
        accounts, auth, automation, blocks, chain, customers, docs, events, insights, programme,
        sale, shop, tx,
    };
    // An import carries up to 2,000 customers: a larger body than the rest.
    let import = OpenApiRouter::new()
        .routes(routes!(customers::import))
        .layer(DefaultBodyLimit::max(customers::MAX_IMPORT_BODY_BYTES));
    OpenApiRouter::with_openapi(guild_api::ApiDoc::openapi())
        .routes(routes!(tx::submit))
        .routes(routes!(tx::lookup))
        .routes(routes!(accounts::account))
        .routes(routes!(accounts::history))
        .routes(routes!(accounts::proof))
        .routes(routes!(blocks::block))
        .routes(routes!(chain::head))
        .routes(routes!(chain::genesis))
        .routes(routes!(chain::members))
        .routes(routes!(chain::params))
        .routes(routes!(chain::proposals))
        .routes(routes!(chain::supply))
        .routes(routes!(chain::settlement))
        .routes(routes!(events::events))
        .routes(routes!(docs::openapi_json))
        .routes(routes!(sale::sale))
        .routes(routes!(sale::preview))
        .routes(routes!(sale::refund))
        .routes(routes!(shop::sign))
        .routes(routes!(programme::programme))
        .routes(routes!(programme::receipt))
        .routes(routes!(auth::whoami))
        .routes(routes!(routes::proofs::proofs))
        .routes(routes!(customers::add, customers::list))
        .routes(routes!(
            customers::show,
            customers::update,
            customers::erase
        ))
        .routes(routes!(customers::consent))
        .routes(routes!(customers::export))
        .merge(import)
        .routes(routes!(insights::customers))
        .routes(routes!(insights::segments))
        .routes(routes!(insights::kpis))
        .routes(routes!(automation::list, automation::add))
        .routes(routes!(automation::remove))
        .routes(routes!(automation::enable))
        .routes(routes!(automation::disable))
        .routes(routes!(automation::deliveries))
        .routes(routes!(automation::todos))
        .routes(routes!(automation::todo_done))
        .routes(routes!(automation::report))
        .routes(routes!(automation::webhooks, automation::add_webhook))
        .routes(routes!(automation::remove_webhook))
}

fn build(state: ApiState) -> Router {
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers([header::CONTENT_TYPE, header::AUTHORIZATION]);
    let (router, document) = routes().split_for_parts();
    router
        .method_not_allowed_fallback(routes::method_not_allowed)
        .fallback(routes::not_found)
        .layer(Extension(Arc::new(routes::docs::Document(document))))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(cors)
        .with_state(state)
}
