//! The shop's customer directory over HTTP: `/v1/customers…`, every
//! endpoint with an `admin` token of the shop's own node.
//!
//! ## The idea
//!
//! The ledger knows customers only by their keys (`guild1…`) and what
//! they did with points. What a shop knows about a person (a name, an
//! email address, a birthday, whether they agreed to messages or to
//! profiling) stays in that shop's own node, in its **customer directory**:
//! never gossiped, never in a block, exportable and erasable
//! (`docs/privacy.md`). These are its request and answer types, and the
//! checked values ([`fields`]) both sides use.
//!
//! | endpoint | body | answer |
//! |---|---|---|
//! | `POST /v1/customers` | [`NewCustomer`] | 201 [`CustomerEntry`] (409 `customer_exists`) |
//! | `POST /v1/customers/import` | [`ImportRequest`] | [`ImportAnswer`] |
//! | `GET /v1/customers?search=&after=&limit=` | | [`CustomerPage`] |
//! | `GET /v1/customers/{address}` | | [`CustomerEntry`] (404 `unknown_customer`) |
//! | `PATCH /v1/customers/{address}` | [`CustomerUpdate`] | [`CustomerEntry`] |
//! | `PUT /v1/customers/{address}/consent` | [`ConsentRequest`] | [`CustomerEntry`] |
//! | `GET /v1/customers/{address}/export` | | [`CustomerExport`] |
//! | `DELETE /v1/customers/{address}` | | [`ErasureReport`] |
//!
//! ## Consent
//!
//! Each entry records two consents, to **messages** (the shop may write
//! to the customer: a birthday greeting, an offer) and to **profiling**
//! (the shop may act on what it works out from the customer's purchases:
//! a segment, a prediction). Each is yes or no with its last change (when,
//! through what — the command line, the API, the console — and by which
//! API token), and every change is kept in the entry's consent log: what
//! a shop must be able to show a regulator. Without a directory entry,
//! there is no consent.

mod client;
pub mod fields;

pub use client::PageQuery;
pub use fields::{Birthday, CalendarDate, CustomerName, Email, FieldError, Note};

use crate::account::AccountInfo;
use crate::tx::HistoryEntry;
use guild_ledger::crypto::Address;
use guild_ledger::types::ShopName;
use serde::{Deserialize, Deserializer, Serialize};
use std::fmt;
use std::str::FromStr;
use utoipa::ToSchema;

/// The most entries of a consent log; older changes are dropped first
/// (the current state of each consent always says when it was last
/// changed).
pub const MAX_CONSENT_LOG: usize = 32;
/// Customers listed when `limit` is not given.
pub const DEFAULT_PAGE: usize = 100;
/// The largest `limit` of `GET /v1/customers`.
pub const MAX_PAGE: usize = 500;
/// The most customers one `POST /v1/customers/import` may carry.
pub const MAX_IMPORT: usize = 2_000;
/// The longest search text of `GET /v1/customers`, in characters.
pub const MAX_SEARCH_CHARS: usize = 100;
/// The most ledger lines an export carries (newest first); a key with
/// more has `history_complete: false`.
pub const MAX_EXPORT_HISTORY: usize = 10_000;

/// What a consent is to.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// The shop may send the customer messages (birthday greetings,
    /// offers, reminders).
    Messages,
    /// The shop may act on what it works out from the customer's
    /// purchases (segments, predictions).
    Profiling,
}

impl Purpose {
    /// Both purposes, in order.
    pub const ALL: [Purpose; 2] = [Purpose::Messages, Purpose::Profiling];

    /// The purpose's name in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Messages => "messages",
            Purpose::Profiling => "profiling",
        }
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Text that is not `messages` or `profiling`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("'{text}' is not a consent: the consents are messages and profiling")]
pub struct UnknownPurpose {
    /// The text given (at most 40 characters of it).
    pub text: String,
}

impl FromStr for Purpose {
    type Err = UnknownPurpose;

    fn from_str(text: &str) -> Result<Purpose, UnknownPurpose> {
        Purpose::ALL
            .into_iter()
            .find(|p| p.as_str() == text.trim())
            .ok_or_else(|| UnknownPurpose {
                text: text.chars().take(40).collect(),
            })
    }
}

/// Through what a change was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The `guild customer` command.
    Cli,
    /// Another program calling the API (the default).
    Api,
    /// The shop's web console.
    Console,
}

impl Via {
    /// The name in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::Cli => "cli",
            Via::Api => "api",
            Via::Console => "console",
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// When and how a consent was last given or withdrawn.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentChange {
    /// When, in milliseconds since the Unix epoch (the node's clock).
    pub at_ms: u64,
    /// Through what.
    pub via: Via,
    /// The name of the API token the change was made with (`console`).
    pub by: String,
}

/// One consent of a customer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentState {
    /// Whether the customer agreed (and has not withdrawn).
    pub given: bool,
    /// Its last change (`null`: never asked, so not given).
    #[schema(required = true)]
    pub last_change: Option<ConsentChange>,
}

/// A customer's two consents.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Consent {
    /// To messages.
    pub messages: ConsentState,
    /// To profiling.
    pub profiling: ConsentState,
}

impl Consent {
    /// The consent to `purpose`.
    pub fn get(&self, purpose: Purpose) -> &ConsentState {
        match purpose {
            Purpose::Messages => &self.messages,
            Purpose::Profiling => &self.profiling,
        }
    }

    /// The consent to `purpose`, to change.
    pub fn get_mut(&mut self, purpose: Purpose) -> &mut ConsentState {
        match purpose {
            Purpose::Messages => &mut self.messages,
            Purpose::Profiling => &mut self.profiling,
        }
    }

    /// Whether the customer agreed to `purpose`.
    pub fn allows(&self, purpose: Purpose) -> bool {
        self.get(purpose).given
    }
}

/// One change of a consent, as the consent log keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentEvent {
    /// Which consent.
    pub purpose: Purpose,
    /// Given (`true`) or withdrawn (`false`).
    pub given: bool,
    /// When, in milliseconds since the Unix epoch.
    pub at_ms: u64,
    /// Through what.
    pub via: Via,
    /// The API token's name.
    pub by: String,
}

/// What the shop's directory holds about one customer
/// (`GET /v1/customers/{address}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerEntry {
    /// The customer's key on the ledger.
    pub address: Address,
    /// Their name, as the shop writes it.
    #[schema(required = true)]
    pub name: Option<CustomerName>,
    /// Their email address.
    #[schema(required = true)]
    pub email: Option<Email>,
    /// Their birthday (`MM-DD` or `YYYY-MM-DD`).
    #[schema(required = true)]
    pub birthday: Option<Birthday>,
    /// The shop's short note.
    #[schema(required = true)]
    pub note: Option<Note>,
    /// Their consents now.
    pub consent: Consent,
    /// Every change of their consents, oldest first (at most 32; the
    /// oldest are dropped first).
    pub consent_log: Vec<ConsentEvent>,
    /// When the entry was made (milliseconds since the Unix epoch).
    pub created_ms: u64,
    /// When it last changed.
    pub updated_ms: u64,
}

/// The body of `POST /v1/customers`: a new directory entry. Only
/// `address` is required.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// The customer's address (`guild1…`).
    pub address: String,
    /// Their name (1 to 100 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Their email address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Their birthday, `MM-DD` or `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birthday: Option<String>,
    /// A short note (1 to 280 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The consents the customer gives now (`["messages"]`); the others
    /// are not given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consent: Vec<Purpose>,
    /// Through what (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// Reads a field that may be absent (`None`: keep), `null` (`Some(None)`:
/// remove) or a value (`Some(Some(v))`: set).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// The body of `PATCH /v1/customers/{address}`: a field left out is kept,
/// a field set to `null` is removed, a field with a value is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerUpdate {
    /// Their name.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub name: Option<Option<String>>,
    /// Their email address.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    /// Their birthday.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub birthday: Option<Option<String>>,
    /// The shop's note.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(value_type = Option<String>)]
    pub note: Option<Option<String>>,
}

impl CustomerUpdate {
    /// Whether the update names no field.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.email.is_none()
            && self.birthday.is_none()
            && self.note.is_none()
    }
}

/// The body of `PUT /v1/customers/{address}/consent`: the consents to
/// set (at least one); a consent left out is kept.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRequest {
    /// Consent to messages: given (`true`) or withdrawn (`false`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<bool>,
    /// Consent to profiling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profiling: Option<bool>,
    /// Through what (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// One line of `GET /v1/customers`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerSummary {
    /// The customer's key.
    pub address: Address,
    /// Their name.
    #[schema(required = true)]
    pub name: Option<CustomerName>,
    /// Their email address.
    #[schema(required = true)]
    pub email: Option<Email>,
    /// Their birthday.
    #[schema(required = true)]
    pub birthday: Option<Birthday>,
    /// Whether they agreed to messages.
    pub messages: bool,
    /// Whether they agreed to profiling.
    pub profiling: bool,
    /// When the entry last changed.
    pub updated_ms: u64,
}

impl CustomerSummary {
    /// The summary of `entry`.
    pub fn of(entry: &CustomerEntry) -> CustomerSummary {
        CustomerSummary {
            address: entry.address,
            name: entry.name.clone(),
            email: entry.email.clone(),
            birthday: entry.birthday,
            messages: entry.consent.messages.given,
            profiling: entry.consent.profiling.given,
            updated_ms: entry.updated_ms,
        }
    }
}

/// `GET /v1/customers`: one page of the directory, in address order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CustomerPage {
    /// The customers of this page.
    pub customers: Vec<CustomerSummary>,
    /// How many entries match the search (all of them without one).
    pub matching: usize,
    /// How many entries the directory holds.
    pub total: usize,
    /// Ask again with `after` = this address for the next page (`null`:
    /// this was the last page).
    #[schema(required = true)]
    pub next: Option<Address>,
}

/// The body of `POST /v1/customers/import`: many new entries at once
/// (at most 2,000), written in one go. All are added, or none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The new entries (each as for `POST /v1/customers`; their own
    /// `via` is ignored).
    pub customers: Vec<NewCustomer>,
    /// Leave customers who already have an entry as they are (default:
    /// refuse the whole import with `customer_exists`).
    #[serde(default)]
    pub skip_existing: bool,
    /// Through what (default `api`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<Via>,
}

/// The answer to an import.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImportAnswer {
    /// How many entries were added.
    pub added: usize,
    /// The customers left as they were (with `skip_existing`).
    pub skipped: Vec<Address>,
    /// How many entries the directory holds now.
    pub total: usize,
}

/// The shop whose node made an export.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ExportShop {
    /// The shop's key.
    pub address: Address,
    /// Its name on the ledger (`null` if it is not a member now).
    #[schema(required = true)]
    pub name: Option<ShopName>,
}

/// What another holder of data derived from the directory (automations,
/// their outbox and delivery log) keeps about the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct HeldData {
    /// What holds it (`automation outbox`).
    pub holder: String,
    /// What it holds, in its own form.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `GET /v1/customers/{address}/export`: everything the shop's node holds
/// about one customer, for the customer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CustomerExport {
    /// The customer's key.
    pub customer: Address,
    /// When the export was made (milliseconds since the Unix epoch).
    pub exported_ms: u64,
    /// The shop whose node made it (`null` for a node without a shop key).
    #[schema(required = true)]
    pub shop: Option<ExportShop>,
    /// What the export holds, in plain words.
    pub about: String,
    /// The shop's directory entry (`null`: the directory holds nothing).
    #[schema(required = true)]
    pub directory: Option<CustomerEntry>,
    /// What other parts of the node hold that is derived from it.
    pub held_elsewhere: Vec<HeldData>,
    /// The key's account on the ledger now (what every shop can see).
    pub account: AccountInfo,
    /// The ledger lines of the key, newest first (what every shop can see).
    pub history: Vec<HistoryEntry>,
    /// Whether `history` holds every line (`false`: only the newest
    /// 10,000).
    pub history_complete: bool,
}

/// The plain words of an export's `about`.
pub fn export_about(shop: Option<&ExportShop>, customer: &Address, in_directory: bool) -> String {
    let shop = match shop {
        Some(ExportShop {
            name: Some(name), ..
        }) => format!("{name}'s node"),
        Some(ExportShop { address, .. }) => format!("The node of shop {address}"),
        None => "This node".to_string(),
    };
    let directory = if in_directory {
        "the shop's customer directory entry (name, email, birthday, note, consents and every change of them), which stays in this node and is never sent to other shops"
    } else {
        "no customer directory entry (the shop's directory holds nothing about this key)"
    };
    format!(
        "{shop} holds about {customer}: {directory}; anything derived from it (held_elsewhere); and the key's lines on the shared ledger (account, history), which every shop of the network holds and can read. The ledger knows the key, points, amounts per category, hashed receipts and times; it holds no name, email or birthday."
    )
}

/// What an erasure removed from one other holder of derived data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HolderErasure {
    /// What held it (`automation outbox`).
    pub holder: String,
    /// How many items it removed.
    pub removed: u64,
}

/// `DELETE /v1/customers/{address}`: what the erasure removed. The
/// ledger is unchanged: its lines under the key stay, and are
/// pseudonymous once the directory entry is gone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErasureReport {
    /// The customer's key.
    pub customer: Address,
    /// When (milliseconds since the Unix epoch).
    pub erased_ms: u64,
    /// Whether a directory entry was removed (`false`: there was none,
    /// only derived data).
    pub directory_entry: bool,
    /// What each other holder of derived data removed.
    pub holders: Vec<HolderErasure>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_parse_and_print() {
        for purpose in Purpose::ALL {
            assert_eq!(purpose.as_str().parse::<Purpose>(), Ok(purpose));
            assert_eq!(
                serde_json::to_string(&purpose).unwrap(),
                format!("\"{purpose}\"")
            );
        }
        let error = "marketing".parse::<Purpose>().unwrap_err();
        assert!(
            error.to_string().contains("messages and profiling"),
            "{error}"
        );
    }

    #[test]
    fn an_update_tells_absent_from_null() {
        let update: CustomerUpdate =
            serde_json::from_str(r#"{"name":"Mrs Lee","email":null}"#).unwrap();
        assert_eq!(update.name, Some(Some("Mrs Lee".to_string())));
        assert_eq!(update.email, Some(None));
        assert_eq!(update.birthday, None);
        assert!(!update.is_empty());
        assert_eq!(
            serde_json::to_string(&update).unwrap(),
            r#"{"name":"Mrs Lee","email":null}"#
        );
        assert!(
            serde_json::from_str::<CustomerUpdate>("{}")
                .unwrap()
                .is_empty()
        );
        assert!(serde_json::from_str::<CustomerUpdate>(r#"{"nmae":"x"}"#).is_err());
    }

    #[test]
    fn an_entry_round_trips_and_checks_its_values() {
        let address = guild_ledger::Keypair::from_secret(&[7; 32]).address();
        let entry = CustomerEntry {
            address,
            name: Some(CustomerName::new("Mrs Lee").unwrap()),
            email: Some(Email::new("lee@example.com").unwrap()),
            birthday: Some("02-29".parse().unwrap()),
            note: None,
            consent: Consent {
                messages: ConsentState {
                    given: true,
                    last_change: Some(ConsentChange {
                        at_ms: 5,
                        via: Via::Cli,
                        by: "console".into(),
                    }),
                },
                profiling: ConsentState::default(),
            },
            consent_log: vec![ConsentEvent {
                purpose: Purpose::Messages,
                given: true,
                at_ms: 5,
                via: Via::Cli,
                by: "console".into(),
            }],
            created_ms: 5,
            updated_ms: 5,
        };
        let json = serde_json::to_string(&entry).unwrap();
        assert_eq!(serde_json::from_str::<CustomerEntry>(&json).unwrap(), entry);
        let bad = json.replace("lee@example.com", "lee at example.com");
        assert!(serde_json::from_str::<CustomerEntry>(&bad).is_err());
        assert!(entry.consent.allows(Purpose::Messages));
        assert!(!entry.consent.allows(Purpose::Profiling));
        let summary = CustomerSummary::of(&entry);
        assert!(summary.messages && !summary.profiling);
    }

    #[test]
    fn the_export_says_what_it_holds() {
        let customer = guild_ledger::Keypair::from_secret(&[7; 32]).address();
        let shop = ExportShop {
            address: customer,
            name: Some(ShopName::new("Bakery").unwrap()),
        };
        let about = export_about(Some(&shop), &customer, true);
        assert!(
            about.starts_with("Bakery's node holds about guild1"),
            "{about}"
        );
        assert!(about.contains("never sent to other shops"), "{about}");
        let about = export_about(None, &customer, false);
        assert!(about.starts_with("This node holds"), "{about}");
        assert!(about.contains("holds nothing about this key"), "{about}");
    }
}
