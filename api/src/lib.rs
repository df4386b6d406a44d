//! # guild-api: the node's HTTP/JSON API, defined once
//!
//! A Guild node answers wallets, tills, dashboards and auditors over
//! HTTP/JSON under `/v1` (`docs/api.md`). This crate is the single
//! definition of that API, shared by both sides:
//!
//! - **Every request, answer and event type**, with `Serialize` *and*
//!   `Deserialize`: the node (`guild-node`) serializes them, the clients
//!   (the wallet, the CLI's audit and bench, the tests) deserialize the very
//!   same types. The wire cannot drift between server and client, because
//!   there is only one definition.
//! - **The pure builders** that turn ledger values into those answers
//!   ([`account::account_info`], [`chain::members`],
//!   [`chain::block_info`], …): no I/O and no clock (`now` is an argument),
//!   so a reader that holds a ledger [`State`](guild_ledger::State) gets the
//!   same figures the node would serve.
//! - **The checked values of the shop's customer directory**
//!   ([`customers::fields`]: a name, an email address, a birthday, a
//!   note), so the node, the command line and the node's own file refuse
//!   the same things with the same messages.
//! - **The error body** `{"error":{"code","message"}}` ([`ErrorBody`]) and
//!   the API's stable [`code`]s.
//! - **The OpenAPI 3.1 schema** of every type (`utoipa::ToSchema`, derived
//!   from the same definitions), from which the node assembles the document
//!   it serves at `GET /v1/openapi.json` ([`ApiDoc`] holds its front matter;
//!   the node adds the paths beside its handlers).
//! - **Money and time as people see them** ([`shown::Shown`]): amounts
//!   with the network's currency, dates in its time zone, what points are
//!   worth at the settlement rate.
//! - **One typed client**, [`NodeClient`], with the one parser of the
//!   Server-Sent Events stream ([`events::SseParser`]).
//!
//! ## Invariants
//!
//! - JSON conventions: amounts and heights are integers, addresses bech32
//!   text `guild1…`, hashes and ids lower-case hex, times milliseconds since
//!   the Unix epoch.
//! - The crate depends on the ledger, serde, utoipa and reqwest only: no
//!   node, no libp2p, no sled, no axum, and no tokio runtime of its own
//!   (the client runs on its caller's runtime) except the audit's blocking
//!   HTTP block source ([`verify`]), which runs a small one for itself.
//! - Nothing here panics on a node's answer: every bad answer is a
//!   [`ClientError`].
//!
//! ## Example
//!
//! ```
//! use guild_ledger::{Genesis, GenesisMember, Keypair, Params};
//! use guild_ledger::types::{ChainId, ShopName, Timestamp};
//!
//! let genesis = Genesis {
//!     chain_id: ChainId::new("main-street").unwrap(),
//!     time: Timestamp(1_767_225_600_000),
//!     members: vec![GenesisMember {
//!         name: ShopName::new("Bakery").unwrap(),
//!         address: Keypair::from_secret(&[1; 32]).address(),
//!     }],
//!     params: Params::default(),
//!     programme: Default::default(),
//! };
//! let (state, _header) = genesis.build().unwrap();
//!
//! // What the node answers to GET /v1/members...
//! let answer = guild_api::chain::members(&state, Timestamp(1_767_225_600_001));
//! let json = serde_json::to_string(&answer).unwrap();
//! assert!(json.starts_with(r#"{"height":0,"members":[{"name":"Bakery","#));
//!
//! // ...is what a client reads back.
//! let read: guild_api::Members = serde_json::from_str(&json).unwrap();
//! assert_eq!(read, answer);
//! ```

#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod account;
pub mod auth;
pub mod automation;
pub mod chain;
pub mod client;
pub mod customers;
pub mod describe;
pub mod error;
pub mod events;
pub mod insights;
pub mod programme;
pub mod programme_input;
pub mod proofs;
pub mod redeem;
pub mod shop;
pub mod shown;
pub mod tx;
pub mod verify;

pub use account::{AccountInfo, LotInfo, ProofInfo};
pub use auth::{BearerAuth, Scope, UnknownScope, WhoAmI};
pub use automation::{
    AutomationInfo, AutomationReport, Automations, ConsentKind, CreatedWebhook, Deliveries,
    DeliveryInfo, DeliveryStatus, EventType, NewAutomation, NewWebhook, TodoInfo, Todos,
    WebhookInfo, WebhookPayload, Webhooks,
};
pub use chain::{
    BlockInfo, BlockTx, DebtInfo, Head, MemberInfo, Members, ParamsInfo, ProposalInfo,
    ProposalState, Proposals, QuorumInfo, Settlement, SupplyInfo, SyncInfo,
};
pub use client::{Error as ClientError, EventStream, Finality, NodeClient};
pub use customers::{
    ConsentRequest, CustomerEntry, CustomerExport, CustomerPage, CustomerSummary, CustomerUpdate,
    ErasureReport, ImportAnswer, ImportRequest, NewCustomer, Purpose, Via,
};
pub use error::{ErrorBody, ErrorDetail, code};
pub use events::{BlockEvent, ChainEvent, EventTx, LaggedEvent};
pub use insights::{
    AbGroup, AbResult, CampaignResult, CohortRow, CohortTable, CustomerInsight, CustomerInsights,
    CustomersQuery, InsightShop, Interval, KpiDay, KpiReport, KpisQuery, ModelsInfo, RfmScores,
    Segment, SegmentSummaries, SegmentSummary, SegmentValue, SegmentsQuery,
};
pub use programme::{
    CampaignInfo, ProgrammeInfo, ReceiptState, RefundAnswer, RefundPoints, RefundRequest,
    SaleAnswer, SaleItem, SaleRequest, SaleStatus, ShopProgramme,
};
pub use proofs::{RecordProofEntry, RecordProofs};
pub use redeem::{RedeemRequest, Reference, RequestError};
pub use shop::{NotAShopAction, ShopAction, ShopSignRequest};
pub use tx::{FinalTx, HistoryEntry, Submission, SubmitRequest, TxAnswer, TxStatus};

/// The front matter of the OpenAPI document (title, version, description,
/// the error body). The node adds one path item per route, described beside
/// its handler, and serves the result at `GET /v1/openapi.json`.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Guild node API",
        description = "The HTTP/JSON API of a Guild node: submit signed transactions, read accounts, \
blocks, members and settlement, follow final blocks as Server-Sent Events. Amounts and heights are \
integers, addresses bech32 text (guild1…), hashes and ids lower-case hex, times milliseconds since \
the Unix epoch. Every error is {\"error\":{\"code\",\"message\"}} with a stable code. See docs/api.md."
    ),
    components(schemas(
        ErrorBody,
        ErrorDetail,
        BlockEvent,
        LaggedEvent,
        automation::WebhookPayload,
        automation::EventType,
        guild_insights::Segment
    )),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;
