//! # guild-console: the shop's web console and the auditor's explorer
//!
//! Shop owners are not engineers: they run the till, look at their
//! customers and settle with the other shops from a web page. Auditors of
//! the business group look at blocks and re-run the audit from one too.
//! This crate is those pages, served by `guild node` itself on its API port
//! under `/console/` (or on an address of its own, `guild node --console
//! ADDR`), with a read-only explorer that may be opened to the network for
//! auditors (`guild node --explorer ADDR`).
//!
//! ## The idea: a client of the node's own API
//!
//! The console holds no ledger state and reaches no node internals. Every
//! page is rendered on the server from answers of the node's HTTP API
//! (`guild_api::NodeClient`, the same typed client the wallet and the CLI
//! use), and every change is an ordinary API call made with the signed-in
//! user's own `admin` token. So the console can show or do nothing a till
//! or the CLI could not, Cargo keeps it from depending on `guild-node`, and
//! what a page shows is what `docs/api.md` documents.
//!
//! ## Security
//!
//! The console can make the node sign as the shop, so:
//!
//! - it binds where the API binds (loopback by default);
//! - signing in takes an `admin` token of the node (`guild node` prints
//!   one at its first start; `guild node token create --scope admin` makes
//!   more). The token is checked by the node (`GET /v1/whoami`), which
//!   stores only its hash; the console keeps it in memory for the session
//!   only ([`session`]);
//! - a session is a random 128-bit id in an `HttpOnly`, `SameSite=Strict`
//!   cookie; it ends after 30 minutes without a request or 12 hours after
//!   signing in;
//! - every request that changes anything is a `POST` whose form carries
//!   the session's CSRF token ([`auth::Change`]); anything else is refused
//!   with `403` and changes nothing;
//! - wrong sign-ins are limited to 5 a minute per client address
//!   ([`session::LoginThrottle`]);
//! - explorer pages show only what is on the ledger: nothing from the
//!   shop's customer directory.
//!
//! ## Layout
//!
//! - [`pages`]: one module per area (till, dashboard, customers,
//!   programme, settlement, network, explorer), each a `routes()`;
//! - [`layout`]: the page frame and navigation; [`form`]: fields that say
//!   what they are for and show their error beside them; [`chart`]: SVG
//!   charts rendered on the server;
//! - [`session`], [`auth`]: sign-in, sessions, CSRF;
//! - [`assets`]: the one stylesheet and the one script, compiled in (no
//!   build step, nothing fetched at run time).

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod assets;
pub mod auth;
pub mod chart;
pub mod error;
pub mod form;
pub mod layout;
pub mod pages;
pub mod session;
#[cfg(test)]
mod tests;

use axum::Router;
use guild_api::NodeClient;
use std::net::IpAddr;
use std::sync::Arc;

pub use error::PageError;

/// Where the console is mounted on the node's API port.
pub const BASE: &str = "/console";

/// The client address of a request, put in the request's extensions by
/// whoever serves the console (the node knows it from its listener); used
/// to limit wrong sign-ins per client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// What every page handler can reach.
#[derive(Clone)]
pub struct Console {
    /// The node's API.
    pub node: NodeClient,
    /// Signed-in sessions and the sign-in throttle.
    pub sessions: Arc<session::Sessions>,
    /// Whether this router serves only the read-only explorer.
    pub explorer_only: bool,
    /// The explorer's chain verification jobs (one runs at a time).
    pub verify: Arc<pages::explorer::verify::Jobs>,
}

impl Console {
    /// A console over the node whose API is at `node_url`.
    pub fn new(node_url: &str) -> Result<Console, guild_api::ClientError> {
        Ok(Console {
            node: NodeClient::new(node_url)?,
            sessions: Arc::new(session::Sessions::default()),
            explorer_only: false,
            verify: Arc::default(),
        })
    }
}

/// The whole console (every area, sign-in required for anything beyond
/// the explorer), at [`BASE`].
pub fn router(console: Console) -> Router {
    at_base(pages::routes(false), console)
}

/// `pages` under [`BASE`], with `BASE/` itself (which nesting alone does
/// not match) going to the home page.
fn at_base(pages: Router<Console>, console: Console) -> Router {
    Router::new()
        .route(&format!("{BASE}/"), axum::routing::get(pages::home))
        .nest(BASE, pages)
        .with_state(console)
}

/// Only the read-only explorer pages (blocks, transactions, members,
/// proposals, verification), with no sign-in and no way to change
/// anything: what `guild node --explorer ADDR` opens to auditors. At
/// [`BASE`] too.
pub fn explorer_router(mut console: Console) -> Router {
    console.explorer_only = true;
    at_base(pages::routes(true), console)
}
