//! Pricing a sale in the shop's wallet: the records the points depend on
//! (the shop's rules, the customer's record, the campaigns and the
//! customer's use of each, the programme), fetched with Merkle proofs at the
//! node's head and rebuilt into a partial state, so `guild shop sale`
//! computes the points with the ledger's own [`State::sale_breakdown`] and
//! signs them with the shop's key, as the shop's node does for its tills.

use crate::error::{Error, Result};
use crate::explain::{Proven, add_proofs};
use guild_api::NodeClient;
use guild_api::proofs::MAX_PROOF_KEYS;
use guild_ledger::codec;
use guild_ledger::crypto::Address;
use guild_ledger::programme::Programme;
use guild_ledger::state::{State, StateKey};
use guild_ledger::types::{CampaignId, Height};

/// The records a sale by `shop` to `customer` is priced from, given the
/// programme's next campaign id (every campaign so far: the ledger picks
/// those `shop` funds and that run).
pub fn sale_keys(shop: &Address, customer: &Address, next_campaign: CampaignId) -> Vec<StateKey> {
    let mut keys = base_keys(shop, customer);
    for id in 1..next_campaign.0 {
        keys.push(StateKey::Campaign(CampaignId(id)));
        keys.push(StateKey::CampaignUse {
            campaign: CampaignId(id),
            customer: *customer,
        });
    }
    keys
}

fn base_keys(shop: &Address, customer: &Address) -> Vec<StateKey> {
    vec![
        StateKey::Chain,
        StateKey::Params,
        StateKey::Supply,
        StateKey::Programme,
        StateKey::Rules(*shop),
        StateKey::Customer(*customer),
    ]
}

/// The state a sale by `shop` to `customer` at the node's head is priced
/// against (only the records it needs, each checked against the head's
/// state root), and the head height.
pub async fn sale_state(
    client: &NodeClient,
    shop: &Address,
    customer: &Address,
) -> Result<(State, Height)> {
    let head = client.head().await?;
    let height = head.height;
    let mut proven = Proven::new();
    let first = base_keys(shop, customer);
    let answer = client.proofs(height, &first).await?;
    let root = answer.state_root;
    add_proofs(&mut proven, &first, &answer, &root)?;
    let programme: Programme = proven
        .get(&StateKey::Programme)
        .and_then(|v| v.as_deref())
        .and_then(|b| codec::decode(b).ok())
        .ok_or_else(|| Error::ProofInvalid {
            reason: "the node sent no programme record".to_string(),
        })?;
    let rest: Vec<StateKey> = sale_keys(shop, customer, programme.next_campaign)
        .into_iter()
        .skip(first.len())
        .collect();
    for chunk in rest.chunks(MAX_PROOF_KEYS) {
        let answer = client.proofs(height, chunk).await?;
        if answer.state_root != root {
            return Err(Error::ProofInvalid {
                reason: "the node's state root changed between two answers at one height"
                    .to_string(),
            });
        }
        add_proofs(&mut proven, chunk, &answer, &root)?;
    }
    let entries = proven
        .into_iter()
        .filter_map(|(key, value)| value.map(|v| (key, v)));
    let state = State::from_entries(entries).map_err(|e| Error::ProofInvalid {
        reason: format!("the proven records do not make a state: {e}"),
    })?;
    Ok((state, height))
}
