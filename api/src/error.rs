//! The error body every failed request gets, and its stable codes.
//!
//! A refused or failed request is answered with an HTTP status and
//! `{"error":{"code","message"}}`: `code` is one of the constants below (or,
//! for a transaction the ledger refuses, the rule's code such as
//! `insufficient_points`, from [`guild_ledger::TxError::code`]); `message`
//! says what is wrong and, where useful, what to do next.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The body of every error answer: `{"error":{"code","message"}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// The `error` of an [`ErrorBody`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorDetail {
    /// The stable, machine-readable code (see [`code`](crate::code)).
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
}

impl ErrorBody {
    /// The body for `code` and `message`.
    pub fn new(code: &str, message: impl Into<String>) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message: message.into(),
            },
        }
    }
}

/// The API's own error codes (a refused transaction carries the ledger
/// rule's code instead, e.g. `insufficient_points`).
pub mod code {
    /// 400: `tx` is not the hex of one canonical signed transaction.
    pub const MALFORMED_TX: &str = "malformed_tx";
    /// 400: the body or the query string is not what the endpoint expects.
    pub const BAD_REQUEST: &str = "bad_request";
    /// 413: the request body is over the limit.
    pub const TOO_LARGE: &str = "too_large";
    /// 400: a transaction id that is not 64 hex characters.
    pub const BAD_ID: &str = "bad_id";
    /// 400: an address that does not parse.
    pub const BAD_ADDRESS: &str = "bad_address";
    /// 400: a block height that is not a number.
    pub const BAD_HEIGHT: &str = "bad_height";
    /// 400: a transaction whose signature does not verify.
    pub const BAD_SIGNATURE: &str = "bad_signature";
    /// 503 (with `Retry-After`): the node's mempool or queue is full.
    pub const BUSY: &str = "busy";
    /// 503: the node is shutting down.
    pub const STOPPED: &str = "stopped";
    /// The node has no shop key (an observer) and cannot sign sales.
    pub const NO_SHOP_KEY: &str = "no_shop_key";
    /// No such receipt of this shop.
    pub const UNKNOWN_RECEIPT: &str = "unknown_receipt";
    /// 404: no transaction with this id is final or waiting on the node.
    pub const UNKNOWN_TX: &str = "unknown_tx";
    /// 404: no block at this height yet.
    pub const UNKNOWN_BLOCK: &str = "unknown_block";
    /// 404: height 0 is the genesis header, not a final block.
    pub const GENESIS_HAS_NO_BLOCK: &str = "genesis_has_no_block";
    /// 400: a state key of `GET /v1/proofs` that does not parse.
    pub const BAD_KEY: &str = "bad_key";
    /// 410 (older than the node keeps) or 404 (not final yet): no proofs
    /// at the height asked for.
    pub const PROOFS_UNAVAILABLE: &str = "proofs_unavailable";
    /// 401 (with `WWW-Authenticate: Bearer`): the endpoint needs an API
    /// token and the request has none, or one the node does not know (never
    /// made, revoked, or mistyped).
    pub const UNAUTHORIZED: &str = "unauthorized";
    /// 403: the request's token lacks the scope the endpoint needs.
    pub const FORBIDDEN: &str = "forbidden";
    /// 429 (with `Retry-After`): this client sent too many requests with
    /// a wrong or missing token within a minute; it may try again after
    /// `Retry-After` seconds.
    pub const TOO_MANY_FAILURES: &str = "too_many_failures";
    /// 400: a customer's name that is empty, too long or holds control
    /// characters.
    pub const BAD_NAME: &str = "bad_name";
    /// 400: text that is not shaped like an email address.
    pub const BAD_EMAIL: &str = "bad_email";
    /// 400: text that is not a birthday (`MM-DD` or `YYYY-MM-DD` of a real
    /// date).
    pub const BAD_BIRTHDAY: &str = "bad_birthday";
    /// 400: a note that is empty, too long or holds control characters.
    pub const BAD_NOTE: &str = "bad_note";
    /// 404: the customer directory has no entry for this address.
    pub const UNKNOWN_CUSTOMER: &str = "unknown_customer";
    /// 409: the customer directory already has an entry for this address.
    pub const CUSTOMER_EXISTS: &str = "customer_exists";
    /// 409: the customer directory holds as many entries as it may.
    pub const DIRECTORY_FULL: &str = "directory_full";
    /// 500: the customer directory's file cannot be read or written; the
    /// message says what the operator should do.
    pub const DIRECTORY_UNAVAILABLE: &str = "directory_unavailable";
    /// 500: an erasure removed the directory entry (or there was none) but
    /// another holder of derived data failed; erase again.
    pub const ERASURE_INCOMPLETE: &str = "erasure_incomplete";
    /// 404: no member shop (now or before) has that name or address.
    pub const UNKNOWN_SHOP: &str = "unknown_shop";
    /// 400: a segment name that is not one of the segments.
    pub const UNKNOWN_SEGMENT: &str = "unknown_segment";
    /// 400: a date that is not `YYYY-MM-DD`, or not a real date.
    pub const BAD_DATE: &str = "bad_date";
    /// 400: a period that ends before it starts, or is too long.
    pub const BAD_PERIOD: &str = "bad_period";
    /// 503 (with `Retry-After`): the node is still reading its chain for
    /// insights.
    pub const INSIGHTS_NOT_READY: &str = "insights_not_ready";
    /// 404: no such endpoint.
    pub const NOT_FOUND: &str = "not_found";
    /// 405: the endpoint exists, but not for this method.
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    /// 422: an automation (or a part of one) that is not valid.
    pub const INVALID_AUTOMATION: &str = "invalid_automation";
    /// 404: no automation with this name.
    pub const UNKNOWN_AUTOMATION: &str = "unknown_automation";
    /// 409: an automation with this name exists.
    pub const AUTOMATION_EXISTS: &str = "automation_exists";
    /// 404: no webhook endpoint with this id.
    pub const UNKNOWN_WEBHOOK: &str = "unknown_webhook";
    /// 409: automations name this webhook endpoint.
    pub const WEBHOOK_IN_USE: &str = "webhook_in_use";
    /// 400: a webhook receiver's URL that cannot be used.
    pub const BAD_URL: &str = "bad_url";
    /// 404: no to-do with this id.
    pub const UNKNOWN_TODO: &str = "unknown_todo";
    /// 409: the node keeps no more of these (automations, endpoints,
    /// to-dos).
    pub const LIMIT_REACHED: &str = "limit_reached";
    /// 409: an e-mail action, and no SMTP server is configured.
    pub const NO_SMTP: &str = "no_smtp";
    /// 503: the automation service is not running.
    pub const AUTOMATION_UNAVAILABLE: &str = "automation_unavailable";
    /// 422: `POST /v1/shop/sign` got a body the shop does not sign from
    /// its back office (a transfer, a redemption, a sale…).
    pub const NOT_A_SHOP_ACTION: &str = "not_a_shop_action";
    /// 500: the node could not read its storage.
    pub const STORAGE: &str = "storage";
    /// 500: stored data does not fit together, or a task failed.
    pub const INTERNAL: &str = "internal";
}
