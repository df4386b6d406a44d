//! `GET /v1/proofs?height=H&key=K…`: Merkle proofs of state records after
//! a recent block, from the engine's ring of recent states
//! ([`crate::recent`]).
//!
//! A customer's wallet checks a sale's points (`guild wallet explain`) or
//! its tier without trusting the node: it proves the records the figure
//! depends on at a height whose header it verified. The node answers from
//! the states it keeps ([`RECENT_STATES`]); an older height is
//! `410 proofs_unavailable` (the message says how far back it keeps), a
//! height not final yet `404 proofs_unavailable`.

use crate::api::{ApiError, ApiState};
use crate::recent::RECENT_STATES;
use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use guild_api::proofs::{MAX_PROOF_KEYS, parse_key};
use guild_api::{ErrorBody, RecordProofEntry, RecordProofs, code};
use guild_ledger::types::Height;

/// Why `GET /v1/proofs` has no answer: the API's usual errors, and the
/// ones of this endpoint.
#[derive(Debug, thiserror::Error)]
pub enum ProofsError {
    /// A key does not parse.
    #[error("bad state key: {0}")]
    BadKey(#[from] guild_api::proofs::KeyError),
    /// The node no longer keeps the state at this height.
    #[error(
        "no proofs at height {height}: this node keeps the states after the last {RECENT_STATES} blocks, now heights {oldest} to {head}; ask for a later height, or a node that has kept it"
    )]
    TooOld {
        /// Asked for.
        height: Height,
        /// The oldest kept.
        oldest: Height,
        /// The head.
        head: Height,
    },
    /// The height is not final yet.
    #[error("no proofs at height {height}: the chain's head is at height {head}")]
    NotYet {
        /// Asked for.
        height: Height,
        /// The head.
        head: Height,
    },
    /// Anything else.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl IntoResponse for ProofsError {
    fn into_response(self) -> Response {
        let status = match &self {
            ProofsError::Api(_) => None,
            ProofsError::BadKey(_) => Some((StatusCode::BAD_REQUEST, code::BAD_KEY)),
            ProofsError::TooOld { .. } => Some((StatusCode::GONE, code::PROOFS_UNAVAILABLE)),
            ProofsError::NotYet { .. } => Some((StatusCode::NOT_FOUND, code::PROOFS_UNAVAILABLE)),
        };
        match (self, status) {
            (ProofsError::Api(error), _) => error.into_response(),
            (other, Some((status, code))) => {
                (status, Json(ErrorBody::new(code, other.to_string()))).into_response()
            }
            (other, None) => ApiError::Internal {
                what: other.to_string(),
            }
            .into_response(),
        }
    }
}

fn bad(reason: impl Into<String>) -> ProofsError {
    ProofsError::Api(ApiError::BadRequest {
        reason: reason.into(),
    })
}

/// Proofs of state records after block `height`.
#[utoipa::path(
    get,
    path = "/v1/proofs",
    tag = "accounts",
    params(
        ("height" = u64, Query, description = "The block after which the records are taken (a recent one: the node keeps the last 128)."),
        ("key" = Vec<String>, Query, description = "A state key, repeated for each record (1 to 64): programme, chain, params, supply, member:ADDR, account:ADDR, rules:ADDR, customer:ADDR, campaign:N, proposal:N, campaign_use:N:ADDR, debt:DEBTOR:CREDITOR, receipt:SHOP:HASH."),
    ),
    responses(
        (status = 200, description = "One Merkle proof per key, against the state root after block `height`.", body = RecordProofs),
        (status = 400, description = "`bad_request` (no height, no key, more than 64 keys) or `bad_key` (a key that does not parse).", body = ErrorBody),
        (status = 404, description = "`proofs_unavailable`: the height is not final yet.", body = ErrorBody),
        (status = 410, description = "`proofs_unavailable`: the node no longer keeps the state at this height (the message says which heights it keeps).", body = ErrorBody),
        (status = 500, description = "`storage` or `internal`.", body = ErrorBody),
    )
)]
pub async fn proofs(
    State(api): State<ApiState>,
    RawQuery(query): RawQuery,
) -> Result<Json<RecordProofs>, ProofsError> {
    let mut height = None;
    let mut keys = Vec::new();
    for pair in query.as_deref().unwrap_or_default().split('&') {
        if pair.is_empty() {
            continue;
        }
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match name {
            "height" => {
                let parsed = value.trim().parse::<u64>().map_err(|_| {
                    bad(format!(
                        "height '{}' is not a whole number",
                        value.chars().take(40).collect::<String>()
                    ))
                })?;
                height = Some(Height(parsed));
            }
            "key" => {
                if keys.len() == MAX_PROOF_KEYS {
                    return Err(bad(format!(
                        "more than {MAX_PROOF_KEYS} keys; ask in several requests"
                    )));
                }
                keys.push(parse_key(&value)?);
            }
            other => {
                return Err(bad(format!(
                    "unknown query parameter '{}'; the parameters are height and key",
                    other.chars().take(40).collect::<String>()
                )));
            }
        }
    }
    let height = height.ok_or_else(|| bad("give the height: ?height=H&key=…"))?;
    if keys.is_empty() {
        return Err(bad("give at least one key: ?height=H&key=programme"));
    }
    let view = api.handle.view();
    let head = view.head.height;
    let Some(state) = view.recent.at(height) else {
        if height > head {
            return Err(ProofsError::NotYet { height, head });
        }
        let oldest = view.recent.oldest_height().unwrap_or(head);
        return Err(ProofsError::TooOld {
            height,
            oldest,
            head,
        });
    };
    let members = if height.0 == 0 {
        Vec::new()
    } else {
        api.handle
            .store
            .members_at(height)
            .map_err(ApiError::from)?
            .into_iter()
            .collect()
    };
    Ok(Json(RecordProofs {
        height,
        state_root: state.root(),
        members,
        next_members: state.member_set().into_iter().collect(),
        records: keys
            .iter()
            .map(|key| RecordProofEntry::new(&state.prove(key)))
            .collect(),
    }))
}

/// Decodes `%XX` escapes and `+` of a query value (keys are ASCII, so a bad
/// escape is kept as it is and then fails to parse as a key).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let byte = text
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(byte) = byte {
                    out.push(byte);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
