//! Authentication of tills: the [`Authorized`] extractor.
//!
//! A handler that needs a token takes `Authorized<Sale>` (or
//! `Authorized<Admin>`) as an argument. The extractor reads
//! `Authorization: Bearer gld_…`, looks the token up in the node's
//! [`TokenStore`](crate::tokens::TokenStore) (by the token's SHA-256), and
//! either hands the handler what is stored about the token or answers for
//! it: `401 unauthorized` with `WWW-Authenticate: Bearer` when there is no
//! header or the node does not know the token, `403 forbidden` when the
//! token lacks the scope. The handler's body runs only for an authorized
//! request.
//!
//! ```ignore
//! async fn sale(
//!     auth: Authorized<Sale>,
//!     State(api): State<ApiState>,
//!     JsonBody(sale): JsonBody<SaleRequest>,
//! ) -> Result<Json<SaleAnswer>, ApiError> {
//!     tracing::info!(till = %auth.token.name, "sale");
//!     // …
//! }
//! ```
//!
//! Every `401` for a presented token (wrong, revoked, malformed; not a
//! request without `Authorization`) counts as a failure of the client's
//! address in the API's [`Throttle`](super::throttle::Throttle); a client with too many
//! failures in the window is answered `429 too_many_failures` (with
//! `Retry-After`) before its token is looked at. A `403` is not a failure:
//! the token is the node's own.
//!
//! The extractor reads only the request's head, so it can come before a
//! body extractor; give the handler's `#[utoipa::path]` a
//! `security(("bearer" = []))` and its 401/403 answers (see
//! `routes/auth.rs`).

use super::listener::ClientAddr;
use super::throttle::ClientKey;
use super::{ApiError, ApiState};
use crate::tokens::{Scope, Secret, TokenInfo};
use axum::extract::ConnectInfo;
use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use std::marker::PhantomData;
use std::time::Instant;

/// The scope an endpoint needs, as a type: `Authorized<Sale>`.
pub trait RequiredScope: Send + Sync + 'static {
    /// The scope.
    const SCOPE: Scope;
}

/// Needs [`Scope::Sale`] (a till's token; an admin token also has it).
pub struct Sale;

impl RequiredScope for Sale {
    const SCOPE: Scope = Scope::Sale;
}

/// Needs [`Scope::Admin`].
pub struct Admin;

impl RequiredScope for Admin {
    const SCOPE: Scope = Scope::Admin;
}

/// Why a request is not authenticated (a `401 unauthorized`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthFailure {
    /// No `Authorization` header.
    #[error(
        "this endpoint needs an API token: send the header 'Authorization: Bearer gld_…' with a token made by `guild node token create` on this node"
    )]
    Missing,
    /// An `Authorization` header that is not `Bearer <token>`.
    #[error("the Authorization header must be 'Bearer gld_…' (one API token)")]
    NotBearer,
    /// A bearer token that is not `gld_` + 64 hex characters.
    #[error(
        "the bearer token is not a Guild API token (gld_ followed by 64 hexadecimal characters); copy it again from `guild node token create`"
    )]
    Malformed,
    /// A well-formed token the node does not hold.
    #[error(
        "this node knows no such API token: it was revoked, made on another node, or mistyped (`guild node token list` shows the node's tokens)"
    )]
    Unknown,
}

/// A request made with a token that has scope `R::SCOPE`.
pub struct Authorized<R: RequiredScope> {
    /// What the node keeps about the token (its name, its scopes).
    pub token: TokenInfo,
    scope: PhantomData<fn() -> R>,
}

impl<R: RequiredScope> FromRequestParts<ApiState> for Authorized<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, api: &ApiState) -> Result<Self, ApiError> {
        let client = client_key(parts);
        let now = Instant::now();
        api.throttle
            .check(client, now)
            .map_err(ApiError::TooManyFailures)?;
        let found = bearer(parts).and_then(|secret| {
            api.tokens
                .authenticate(&secret)
                .map_err(ApiError::Tokens)?
                .ok_or(ApiError::Unauthorized(AuthFailure::Unknown))
        });
        let token = match found {
            Ok(token) => token,
            Err(error) => {
                // A wrong token counts; no header at all is no guess (a
                // browser, a forgotten header) and does not.
                let guessed =
                    matches!(error, ApiError::Unauthorized(f) if f != AuthFailure::Missing);
                if guessed && api.throttle.fail(client, now) {
                    let limit = api.throttle.limit();
                    tracing::warn!(
                        client = ?client,
                        failures = limit.max_failures,
                        window_s = limit.window.as_secs(),
                        "API: a client sent too many wrong or missing tokens; its token requests are refused (429) until the window ends"
                    );
                }
                return Err(error);
            }
        };
        if !token.allows(R::SCOPE) {
            return Err(ApiError::Forbidden {
                name: token.name,
                needed: R::SCOPE,
            });
        }
        Ok(Authorized {
            token,
            scope: PhantomData,
        })
    }
}

/// Whom a failure of this request counts for: its peer address, as the
/// server recorded it.
fn client_key(parts: &Parts) -> ClientKey {
    parts
        .extensions
        .get::<ConnectInfo<ClientAddr>>()
        .map_or(ClientKey::Unknown, |info| ClientKey::of(info.0.0.ip()))
}

/// The token of the request's `Authorization: Bearer …` header (the scheme
/// is case-insensitive, RFC 7235).
fn bearer(parts: &Parts) -> Result<Secret, ApiError> {
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized(AuthFailure::Missing))?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized(AuthFailure::NotBearer))?;
    let (scheme, token) = text
        .trim()
        .split_once(' ')
        .ok_or(ApiError::Unauthorized(AuthFailure::NotBearer))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(ApiError::Unauthorized(AuthFailure::NotBearer));
    }
    token
        .parse()
        .map_err(|_| ApiError::Unauthorized(AuthFailure::Malformed))
}
