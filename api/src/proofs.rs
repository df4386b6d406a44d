//! `GET /v1/proofs`: Merkle proofs of state records at a recent height, and
//! the one parser of the text form of a [`StateKey`].
//!
//! A wallet that does not trust its node asks for the records a figure
//! depends on (the programme, a shop's rules, a customer's record, …) at a
//! height whose header it can check, and verifies each proof against that
//! header's state root. Keys are written as text in the query string:
//!
//! | text | key |
//! |---|---|
//! | `chain`, `params`, `supply`, `programme` | the singleton records |
//! | `member:guild1…`, `account:guild1…`, `rules:guild1…`, `customer:guild1…` | per address |
//! | `campaign:3`, `proposal:2` | per id |
//! | `campaign_use:3:guild1…` | a customer's use of a campaign |
//! | `debt:guild1…(debtor):guild1…(creditor)` | what one shop owes another |
//! | `receipt:guild1…(shop):<64 hex>` | an earn, by its hashed receipt |
//!
//! [`key_text`] writes the same form, so `parse_key(&key_text(k)) == k`.

use guild_ledger::crypto::{Address, AddressError};
use guild_ledger::hash::Hash;
use guild_ledger::state::StateKey;
use guild_ledger::types::{CampaignId, Height, ProposalId, ReceiptHash};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Most keys one `GET /v1/proofs` may ask for.
pub const MAX_PROOF_KEYS: usize = 64;

/// A key's text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// The kind before the first `:` is not one of the known ones.
    #[error(
        "'{text}' is not a state key: expected programme, chain, params, supply, or one of \
         member:, account:, rules:, customer:, campaign:, proposal:, campaign_use:, debt:, receipt: \
         followed by its fields"
    )]
    UnknownKind {
        /// The text given (at most 80 characters of it).
        text: String,
    },
    /// The kind is known but takes a different number of fields.
    #[error("'{text}': a {kind} key is written {form}")]
    WrongFields {
        /// The text given.
        text: String,
        /// The key's kind.
        kind: &'static str,
        /// How it is written.
        form: &'static str,
    },
    /// An address field does not parse.
    #[error("'{text}': {error}")]
    Address {
        /// The text given.
        text: String,
        /// Why the address is wrong.
        error: AddressError,
    },
    /// A numeric id or a hash field does not parse.
    #[error("'{text}': '{field}' is not {expected}")]
    Field {
        /// The text given.
        text: String,
        /// The field.
        field: String,
        /// What was expected.
        expected: &'static str,
    },
}

/// Parses the text form of a state key (see the module documentation).
pub fn parse_key(text: &str) -> Result<StateKey, KeyError> {
    let shown: String = text.chars().take(80).collect();
    let parts: Vec<&str> = text.trim().split(':').collect();
    let address = |field: &str| {
        field.parse::<Address>().map_err(|error| KeyError::Address {
            text: shown.clone(),
            error,
        })
    };
    let number = |field: &str| {
        field.parse::<u64>().map_err(|_| KeyError::Field {
            text: shown.clone(),
            field: field.chars().take(80).collect(),
            expected: "a whole number",
        })
    };
    let wrong = |kind: &'static str, form: &'static str| KeyError::WrongFields {
        text: shown.clone(),
        kind,
        form,
    };
    let kind = parts.first().copied().unwrap_or_default();
    let fields = &parts[1.min(parts.len())..];
    let key = match (kind.to_ascii_lowercase().as_str(), fields) {
        ("chain", []) => StateKey::Chain,
        ("params", []) => StateKey::Params,
        ("supply", []) => StateKey::Supply,
        ("programme", []) => StateKey::Programme,
        ("member", [a]) => StateKey::Member(address(a)?),
        ("account", [a]) => StateKey::Account(address(a)?),
        ("rules", [a]) => StateKey::Rules(address(a)?),
        ("customer", [a]) => StateKey::Customer(address(a)?),
        ("campaign", [id]) => StateKey::Campaign(CampaignId(number(id)?)),
        ("proposal", [id]) => StateKey::Proposal(ProposalId(number(id)?)),
        ("campaign_use", [id, a]) => StateKey::CampaignUse {
            campaign: CampaignId(number(id)?),
            customer: address(a)?,
        },
        ("debt", [d, c]) => StateKey::Debt {
            debtor: address(d)?,
            creditor: address(c)?,
        },
        ("receipt", [shop, hash]) => StateKey::Receipt {
            shop: address(shop)?,
            receipt: ReceiptHash(Hash::from_hex(hash).ok_or_else(|| KeyError::Field {
                text: shown.clone(),
                field: hash.chars().take(80).collect(),
                expected: "a hash of 64 hexadecimal characters",
            })?),
        },
        ("chain" | "params" | "supply" | "programme", _) => {
            return Err(wrong("singleton", "alone, without ':' fields"));
        }
        ("member" | "account" | "rules" | "customer", _) => {
            return Err(wrong("per-address", "kind:guild1…"));
        }
        ("campaign" | "proposal", _) => return Err(wrong("per-id", "kind:N")),
        ("campaign_use", _) => return Err(wrong("campaign_use", "campaign_use:N:guild1…")),
        ("debt", _) => return Err(wrong("debt", "debt:DEBTOR:CREDITOR")),
        ("receipt", _) => return Err(wrong("receipt", "receipt:SHOP:HASH")),
        _ => return Err(KeyError::UnknownKind { text: shown }),
    };
    Ok(key)
}

/// The text form of a state key, as [`parse_key`] reads it.
pub fn key_text(key: &StateKey) -> String {
    match key {
        StateKey::Chain => "chain".into(),
        StateKey::Params => "params".into(),
        StateKey::Supply => "supply".into(),
        StateKey::Programme => "programme".into(),
        StateKey::Member(a) => format!("member:{a}"),
        StateKey::Account(a) => format!("account:{a}"),
        StateKey::Rules(a) => format!("rules:{a}"),
        StateKey::Customer(a) => format!("customer:{a}"),
        StateKey::Campaign(id) => format!("campaign:{id}"),
        StateKey::Proposal(id) => format!("proposal:{id}"),
        StateKey::CampaignUse { campaign, customer } => {
            format!("campaign_use:{campaign}:{customer}")
        }
        StateKey::Debt { debtor, creditor } => format!("debt:{debtor}:{creditor}"),
        StateKey::Receipt { shop, receipt } => format!("receipt:{shop}:{}", receipt.0),
    }
}

/// `GET /v1/proofs`: proofs of records in the state after block `height`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordProofs {
    /// The block after which the records are taken.
    pub height: Height,
    /// The state root they are proven against (the node's word: check it
    /// is the `state_root` of a header you verified).
    pub state_root: Hash,
    /// The member set that certified block `height` (the node's word;
    /// empty at height 0).
    pub members: Vec<Address>,
    /// The member set in this state: the set that certifies block
    /// `height + 1` (the node's word).
    pub next_members: Vec<Address>,
    /// One proof per key asked for, in the order asked.
    pub records: Vec<RecordProofEntry>,
}

/// One record's proof.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct RecordProofEntry {
    /// The key, in its text form.
    pub key: String,
    /// True if the record exists (the proof then proves its value, else its
    /// absence).
    pub present: bool,
    /// `encode(RecordProof)`: the key, the record's canonical encoding (or
    /// none) and its Merkle path.
    pub proof_hex: String,
}

impl RecordProofEntry {
    /// The entry for one ledger proof.
    pub fn new(proof: &guild_ledger::state::RecordProof) -> RecordProofEntry {
        RecordProofEntry {
            key: key_text(&proof.key),
            present: proof.value.is_some(),
            proof_hex: hex::encode(guild_ledger::codec::encode(proof)),
        }
    }
}

/// The query string of `GET /v1/proofs` for these keys.
pub fn proofs_query(height: Height, keys: &[StateKey]) -> String {
    let mut query = format!("height={}", height.0);
    for key in keys {
        query.push_str("&key=");
        query.push_str(&key_text(key));
    }
    query
}

impl crate::NodeClient {
    /// `GET /v1/proofs?height=H&key=…`: at most [`MAX_PROOF_KEYS`] keys;
    /// `proofs_unavailable` (see [`crate::ClientError::is_code`]) when the
    /// node no longer keeps, or does not have yet, the state at `height`.
    pub async fn proofs(
        &self,
        height: Height,
        keys: &[StateKey],
    ) -> Result<RecordProofs, crate::ClientError> {
        self.get(&format!("/v1/proofs?{}", proofs_query(height, keys)))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;

    #[test]
    fn every_key_kind_reads_back_what_it_writes() {
        let a = Keypair::from_secret(&[1; 32]).address();
        let b = Keypair::from_secret(&[2; 32]).address();
        let keys = [
            StateKey::Chain,
            StateKey::Params,
            StateKey::Supply,
            StateKey::Programme,
            StateKey::Member(a),
            StateKey::Account(a),
            StateKey::Rules(a),
            StateKey::Customer(b),
            StateKey::Campaign(CampaignId(3)),
            StateKey::Proposal(ProposalId(2)),
            StateKey::CampaignUse {
                campaign: CampaignId(3),
                customer: b,
            },
            StateKey::Debt {
                debtor: a,
                creditor: b,
            },
            StateKey::Receipt {
                shop: a,
                receipt: ReceiptHash::new(&a, "R-1"),
            },
        ];
        for key in keys {
            assert_eq!(parse_key(&key_text(&key)), Ok(key), "{}", key_text(&key));
        }
        assert_eq!(parse_key(" Programme "), Ok(StateKey::Programme));
    }

    #[test]
    fn bad_keys_say_what_is_wrong() {
        let a = Keypair::from_secret(&[1; 32]).address().to_string();
        let cases = [
            ("wallet", "is not a state key"),
            ("", "is not a state key"),
            ("programme:1", "alone, without ':' fields"),
            ("rules", "kind:guild1…"),
            ("campaign:x", "'x' is not a whole number"),
            ("campaign:-1", "is not a whole number"),
            ("campaign_use:3", "campaign_use:N:guild1…"),
            ("receipt:1:2:3", "receipt:SHOP:HASH"),
        ];
        for (text, says) in cases {
            let error = parse_key(text).unwrap_err().to_string();
            assert!(error.contains(says), "{text}: {error}");
        }
        let typo = format!("customer:{}x", &a[..a.len() - 1]);
        assert!(matches!(parse_key(&typo), Err(KeyError::Address { .. })));
        let receipt = format!("receipt:{a}:abc");
        assert!(
            parse_key(&receipt)
                .unwrap_err()
                .to_string()
                .contains("64 hexadecimal")
        );
    }

    #[test]
    fn the_query_lists_every_key() {
        let q = proofs_query(
            Height(7),
            &[StateKey::Programme, StateKey::Campaign(CampaignId(1))],
        );
        assert_eq!(q, "height=7&key=programme&key=campaign:1");
    }
}
