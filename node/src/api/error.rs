//! Every way a request can fail, as one enum that renders itself as
//! `{"error":{"code","message"}}` with the right HTTP status.

use super::auth::AuthFailure;
use crate::automation::AutomationError;
use crate::directory::{DirectoryError, EntryError};
use crate::handle::SubmitError;
use crate::store::StoreError;
use crate::tokens::{Scope, TokenError};
use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use guild_api::customers::FieldError;
use guild_api::{ErrorBody, code};
use guild_ledger::crypto::AddressError;
use guild_ledger::tx::TxId;
use guild_ledger::types::Height;

/// Why the API refused or failed a request. [`ApiError::code`] is stable;
/// the message says what is wrong and, where useful, what to do next.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `tx` is not hex, or its bytes are not one canonical signed
    /// transaction.
    #[error(
        "malformed transaction: {reason}; send the hex of the canonical encoding of a SignedTransaction"
    )]
    MalformedTx {
        /// What the decoder found wrong.
        reason: String,
    },
    /// The body or the query string is not what the endpoint expects.
    #[error("bad request: {reason}")]
    BadRequest {
        /// What is wrong.
        reason: String,
    },
    /// The request body is over [`super::MAX_BODY_BYTES`].
    #[error("request body too large: the limit is {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// A transaction id that is not 64 hex characters.
    #[error("'{text}' is not a transaction id: expected 64 hexadecimal characters")]
    BadId {
        /// The text given.
        text: String,
    },
    /// An address that does not parse (the ledger's message says why: a
    /// typo caught by the checksum, a wrong prefix, a wrong length).
    #[error(transparent)]
    BadAddress(#[from] AddressError),
    /// A block height that is not a number.
    #[error("'{text}' is not a block height: expected a whole number such as 42")]
    BadHeight {
        /// The text given.
        text: String,
    },
    /// The engine refused the transaction.
    #[error(transparent)]
    Submit(#[from] SubmitError),
    /// `POST /v1/shop/sign` got a kind the shop does not sign from its
    /// back office (the message says what to use instead).
    #[error(transparent)]
    NotAShopAction(#[from] guild_api::NotAShopAction),
    /// The server began shutting down while the submission was waiting.
    #[error(
        "the node is shutting down; transaction {id} may or may not have been admitted: look it up with GET /v1/tx/{id} on a running node before submitting it again"
    )]
    ShuttingDown {
        /// The transaction's id.
        id: TxId,
    },
    /// No transaction with this id is final or waiting here.
    #[error(
        "no transaction {id} is final or waiting on this node; if you submitted it, it was dropped or never arrived: check the account's nonce and submit it again"
    )]
    UnknownTx {
        /// The id asked for.
        id: TxId,
    },
    /// No earn of this shop has that receipt.
    #[error("this shop has no earn with that receipt")]
    UnknownReceipt,
    /// No block at this height yet.
    #[error("there is no block at height {height}: the chain's head is at height {head}")]
    UnknownBlock {
        /// The height asked for.
        height: Height,
        /// The head height.
        head: Height,
    },
    /// Height 0 is the genesis header, not a final block.
    #[error(
        "height 0 is the genesis header, which has no transactions and no certificate; it is built from the genesis file (GET /v1/blocks/1 shows its hash as prev_hash)"
    )]
    GenesisHasNoBlock,
    /// No member shop, now or before, has that name or address.
    #[error("no shop is called {shop:?}: the shops are {}", known.join(", "))]
    UnknownShop {
        /// The text given.
        shop: String,
        /// The shops' names.
        known: Vec<String>,
    },
    /// A segment name that is not a segment.
    #[error(transparent)]
    UnknownSegment(guild_insights::UnknownSegment),
    /// A date that does not parse.
    #[error("{name}: {error}")]
    BadDate {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        error: guild_audit::DateError,
    },
    /// A period that cannot be used.
    #[error("bad period: {0}")]
    BadPeriod(guild_insights::kpi::PeriodError),
    /// The insights are not there yet (or stopped).
    #[error(transparent)]
    Insights(#[from] crate::insights::NotReady),
    /// No such endpoint.
    #[error("no endpoint {method} {path}; the endpoints are listed in docs/api.md (all under /v1)")]
    NotFound {
        /// The method used.
        method: String,
        /// The path asked for.
        path: String,
    },
    /// The endpoint exists, but not for this method.
    #[error("{method} is not allowed on {path}; see docs/api.md for the methods of each endpoint")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path asked for.
        path: String,
    },
    /// The endpoint needs an API token and the request has no token the
    /// node knows (answered with `WWW-Authenticate: Bearer`).
    #[error(transparent)]
    Unauthorized(AuthFailure),
    /// This client sent too many requests refused as `unauthorized`
    /// within the window (answered with `Retry-After`).
    #[error(
        "too many requests with a wrong or missing API token from this address ({} within {} s): try again in {} s, with the token from `guild node token create` (`guild node token list` shows which tokens the node holds)",
        .0.max_failures, .0.window.as_secs(), .0.retry_after_secs()
    )]
    TooManyFailures(super::throttle::Blocked),
    /// The request's token lacks the scope the endpoint needs.
    #[error(
        "the API token '{name}' may not do this: the endpoint needs the scope {needed}; make a token with `guild node token create --scope {needed}`"
    )]
    Forbidden {
        /// The token's name.
        name: String,
        /// The scope needed.
        needed: Scope,
    },
    /// The node's token file cannot be read.
    #[error(
        "the node could not read its API tokens; the node operator should check the node's log"
    )]
    Tokens(#[source] TokenError),
    /// A value of a customer's directory entry is not acceptable
    /// (`bad_name`, `bad_email`, `bad_birthday`, `bad_note`).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// The customer directory refused or failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// One customer of an import is refused: the import's error is that
    /// customer's.
    #[error("customer {position} of the import: {source}")]
    InImport {
        /// Its position in the import, from 1.
        position: usize,
        /// Why.
        source: Box<ApiError>,
    },
    /// Reading the node's storage failed.
    #[error("the node could not read its storage; the node operator should check the node's log")]
    Storage(#[source] StoreError),
    /// The automation service refused or failed.
    #[error(transparent)]
    Automation(#[from] AutomationError),
    /// Stored data does not fit together, or a task failed.
    #[error("internal error ({what}); the node operator should check the node's log")]
    Internal {
        /// What went wrong (also logged).
        what: String,
    },
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::Storage(error)
    }
}

impl From<EntryError> for ApiError {
    fn from(error: EntryError) -> ApiError {
        match error {
            EntryError::Address(e) => ApiError::BadAddress(e),
            EntryError::Field(e) => ApiError::Field(e),
        }
    }
}

/// The code and status of a directory error.
fn directory_code(error: &DirectoryError) -> (&'static str, StatusCode) {
    match error {
        DirectoryError::Exists { .. } => (code::CUSTOMER_EXISTS, StatusCode::CONFLICT),
        DirectoryError::Unknown { .. } => (code::UNKNOWN_CUSTOMER, StatusCode::NOT_FOUND),
        DirectoryError::Twice { .. } => (code::BAD_REQUEST, StatusCode::BAD_REQUEST),
        DirectoryError::Full { .. } => (code::DIRECTORY_FULL, StatusCode::CONFLICT),
        DirectoryError::ErasureIncomplete { .. } => {
            (code::ERASURE_INCOMPLETE, StatusCode::INTERNAL_SERVER_ERROR)
        }
        DirectoryError::Unavailable { .. }
        | DirectoryError::Corrupt { .. }
        | DirectoryError::File(_)
        | DirectoryError::NoDataDir { .. } => (
            code::DIRECTORY_UNAVAILABLE,
            StatusCode::INTERNAL_SERVER_ERROR,
        ),
        DirectoryError::Encode { .. } | DirectoryError::HolderFailed { .. } => {
            (code::INTERNAL, StatusCode::INTERNAL_SERVER_ERROR)
        }
    }
}

impl ApiError {
    /// The stable machine-readable code (one of [`guild_api::code`], or a
    /// ledger rule's code for a refused transaction).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::MalformedTx { .. } => code::MALFORMED_TX,
            ApiError::BadRequest { .. } => code::BAD_REQUEST,
            ApiError::TooLarge { .. } => code::TOO_LARGE,
            ApiError::BadId { .. } => code::BAD_ID,
            ApiError::BadAddress(_) => code::BAD_ADDRESS,
            ApiError::BadHeight { .. } => code::BAD_HEIGHT,
            ApiError::Submit(e) => e.code(),
            ApiError::NotAShopAction(_) => code::NOT_A_SHOP_ACTION,
            ApiError::ShuttingDown { .. } => code::STOPPED,
            ApiError::UnknownTx { .. } => code::UNKNOWN_TX,
            ApiError::UnknownReceipt => code::UNKNOWN_RECEIPT,
            ApiError::UnknownBlock { .. } => code::UNKNOWN_BLOCK,
            ApiError::GenesisHasNoBlock => code::GENESIS_HAS_NO_BLOCK,
            ApiError::UnknownShop { .. } => code::UNKNOWN_SHOP,
            ApiError::UnknownSegment(_) => code::UNKNOWN_SEGMENT,
            ApiError::BadDate { .. } => code::BAD_DATE,
            ApiError::BadPeriod(_) => code::BAD_PERIOD,
            ApiError::Insights(crate::insights::NotReady::Building { .. }) => {
                code::INSIGHTS_NOT_READY
            }
            ApiError::Insights(crate::insights::NotReady::Failed { .. }) => code::INTERNAL,
            ApiError::NotFound { .. } => code::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => code::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => code::UNAUTHORIZED,
            ApiError::Forbidden { .. } => code::FORBIDDEN,
            ApiError::TooManyFailures(_) => code::TOO_MANY_FAILURES,
            ApiError::Field(e) => e.code(),
            ApiError::Directory(e) => directory_code(e).0,
            ApiError::InImport { source, .. } => source.code(),
            ApiError::Storage(_) => code::STORAGE,
            ApiError::Tokens(_) | ApiError::Internal { .. } => code::INTERNAL,
            ApiError::Automation(e) => automation_code(e),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MalformedTx { .. }
            | ApiError::BadRequest { .. }
            | ApiError::BadId { .. }
            | ApiError::BadAddress(_)
            | ApiError::BadHeight { .. }
            | ApiError::Field(_) => StatusCode::BAD_REQUEST,
            ApiError::Directory(e) => directory_code(e).1,
            ApiError::InImport { source, .. } => source.status(),
            ApiError::UnknownSegment(_) | ApiError::BadDate { .. } | ApiError::BadPeriod(_) => {
                StatusCode::BAD_REQUEST
            }
            ApiError::Insights(crate::insights::NotReady::Building { .. }) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Insights(crate::insights::NotReady::Failed { .. }) => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Submit(e) => match e {
                SubmitError::BadSignature { .. } => StatusCode::BAD_REQUEST,
                SubmitError::Busy { .. } | SubmitError::Stopped => StatusCode::SERVICE_UNAVAILABLE,
                SubmitError::Rejected(_) => StatusCode::UNPROCESSABLE_ENTITY,
                SubmitError::Dropped(_) => StatusCode::CONFLICT,
                SubmitError::NoShopKey => StatusCode::CONFLICT,
            },
            ApiError::NotAShopAction(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::ShuttingDown { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::UnknownTx { .. }
            | ApiError::UnknownReceipt
            | ApiError::UnknownBlock { .. }
            | ApiError::GenesisHasNoBlock
            | ApiError::UnknownShop { .. }
            | ApiError::NotFound { .. } => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Storage(_) | ApiError::Tokens(_) | ApiError::Internal { .. } => {
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ApiError::Automation(e) => automation_status(e),
        }
    }
}

fn automation_code(error: &AutomationError) -> &'static str {
    match error {
        AutomationError::Invalid(_) | AutomationError::NotAnOffer { .. } => {
            code::INVALID_AUTOMATION
        }
        AutomationError::DuplicateName { .. } => code::AUTOMATION_EXISTS,
        AutomationError::UnknownAutomation { .. } => code::UNKNOWN_AUTOMATION,
        AutomationError::UnknownWebhook { .. } => code::UNKNOWN_WEBHOOK,
        AutomationError::WebhookInUse { .. } => code::WEBHOOK_IN_USE,
        AutomationError::UnknownTodo { .. } => code::UNKNOWN_TODO,
        AutomationError::BadUrl { .. } => code::BAD_URL,
        AutomationError::Limit { .. } => code::LIMIT_REACHED,
        AutomationError::NoSmtp => code::NO_SMTP,
        AutomationError::NoShopKey => code::NO_SHOP_KEY,
        AutomationError::NotRunning => code::AUTOMATION_UNAVAILABLE,
        AutomationError::Corrupt { .. }
        | AutomationError::File(_)
        | AutomationError::Io { .. }
        | AutomationError::Randomness(_) => code::INTERNAL,
    }
}

fn automation_status(error: &AutomationError) -> StatusCode {
    match error {
        AutomationError::Invalid(_) | AutomationError::NotAnOffer { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        AutomationError::BadUrl { .. } => StatusCode::BAD_REQUEST,
        AutomationError::UnknownAutomation { .. }
        | AutomationError::UnknownWebhook { .. }
        | AutomationError::UnknownTodo { .. } => StatusCode::NOT_FOUND,
        AutomationError::DuplicateName { .. }
        | AutomationError::WebhookInUse { .. }
        | AutomationError::Limit { .. }
        | AutomationError::NoSmtp
        | AutomationError::NoShopKey => StatusCode::CONFLICT,
        AutomationError::NotRunning => StatusCode::SERVICE_UNAVAILABLE,
        AutomationError::Corrupt { .. }
        | AutomationError::File(_)
        | AutomationError::Io { .. }
        | AutomationError::Randomness(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        match &self {
            ApiError::Storage(source) => {
                tracing::error!(error = %source, "API: storage read failed");
            }
            ApiError::Tokens(source) => {
                tracing::error!(error = %source, "API: the token file cannot be read");
            }
            ApiError::Internal { what } => tracing::error!(%what, "API: internal error"),
            ApiError::Directory(source) if status.is_server_error() => {
                tracing::error!(error = %source, "API: the customer directory failed");
            }
            ApiError::Automation(error) if status.is_server_error() => {
                tracing::error!(%error, "API: the automation service failed");
            }
            _ => tracing::debug!(code = self.code(), error = %self, "API: request refused"),
        }
        let body = ErrorBody::new(self.code(), self.to_string());
        let mut response = (status, Json(body)).into_response();
        if matches!(
            self,
            ApiError::Submit(SubmitError::Busy { .. })
                | ApiError::Insights(crate::insights::NotReady::Building { .. })
        ) {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ApiError::TooManyFailures(blocked) = &self
            && let Ok(value) = HeaderValue::from_str(&blocked.retry_after_secs().to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        if matches!(self, ApiError::Unauthorized(_)) {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
