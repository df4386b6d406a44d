//! `guild wallet explain` and `guild wallet tier`: a sale's points and a
//! customer's tier, recomputed by the wallet from proven records, trusting
//! no node.
//!
//! ## Explaining a sale
//!
//! A sale at index `i` of block `H` got its points from the state the sale
//! was applied to: the state after block `H−1` (the parent), changed by
//! transactions `0..i` of block `H`. [`explain_sale`]:
//!
//! 1. checks block `H`'s commit certificate against a member set the
//!    caller trusts, its transactions' signatures, and that the parent
//!    header's hash is block `H`'s `prev_hash` (so the parent's
//!    `state_root` is certified too);
//! 2. asks for proofs, at `H−1`, of every record the sale's points depend
//!    on — `programme`, `rules:shop`, `customer:c`, **every** campaign up
//!    to the programme's `next_campaign` (so no campaign can be hidden) and
//!    `campaign_use:i:c` for each — plus `chain`, `params`, `supply`, the
//!    proposer's member record, and the records the earlier transactions of
//!    the block need ([`needed_keys`], in rounds, since some depend on
//!    records read in the round before); every proof is checked against the
//!    parent's state root;
//! 3. builds a partial [`State`] from those records
//!    ([`State::from_entries`]), applies transactions `0..i` to it with
//!    the ledger's own rules ([`State::replay`]), and recomputes the sale
//!    with [`State::sale_breakdown`];
//! 4. compares the result with the transaction's claim.
//!
//! If a step cannot be done (the node no longer keeps proofs at `H−1`, an
//! earlier transaction needs a record this wallet does not know to ask for)
//! the answer is *not verified*, with the reason, and shows the claim the
//! block's members checked — never a guess. A proof or certificate that
//! does not check out is an error: the node is lying or broken.

use crate::error::{Error, Result};
use guild_api::RecordProofs;
use guild_ledger::block::{BlockHeader, FinalBlock};
use guild_ledger::crypto::Address;
use guild_ledger::programme::{Breakdown, Claim, CustomerRecord, Programme};
use guild_ledger::state::{Account, EarnRecord, RecordProof, State, StateKey};
use guild_ledger::tx::TxBody;
use guild_ledger::types::{CampaignId, ChainId, Height, Points, Timestamp};
use guild_ledger::{Hash, codec};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Rounds of proof requests for one explanation (each round asks for the
/// records that the previous one revealed are needed).
pub const MAX_ROUNDS: usize = 4;

/// Proven records, by key (`None`: proven absent).
pub type Proven = BTreeMap<StateKey, Option<Vec<u8>>>;

/// What a wallet found about one sale.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SaleExplanation {
    /// The block holding the sale.
    pub height: Height,
    /// Its position in the block.
    pub index: usize,
    /// The block time.
    pub time: Timestamp,
    /// The selling shop.
    pub shop: Address,
    /// The customer.
    pub customer: Address,
    /// What the transaction states (checked by the block's members).
    pub claim: Claim,
    /// The breakdown this wallet recomputed (`None` if it could not).
    pub breakdown: Option<Breakdown>,
    /// True if `breakdown` was recomputed from proven records.
    pub verified: bool,
    /// Whether the recomputed breakdown gives exactly the claim.
    pub agrees: Option<bool>,
    /// Why it is not verified.
    pub unverified_reason: Option<String>,
    /// Members whose signatures certify the block.
    pub signers: usize,
    /// The records proven.
    pub records_proven: usize,
}

/// Checks the sale block and its parent header, and finds the sale.
/// Returns the sale's index, shop, customer and claim.
pub fn check_block(
    chain_id: &ChainId,
    block: &FinalBlock,
    parent: &BlockHeader,
    members: &BTreeSet<Address>,
    id: &guild_ledger::tx::TxId,
) -> Result<(usize, usize)> {
    let invalid = |reason: String| Error::ProofInvalid { reason };
    let header = &block.block.header;
    block
        .certificate
        .verify(chain_id, header, members)
        .map_err(|e| invalid(format!("block {}'s commit certificate: {e}", header.height)))?;
    if parent.hash() != header.prev_hash || parent.height.0.checked_add(1) != Some(header.height.0)
    {
        return Err(invalid(format!(
            "the header given for block {} is not the parent of block {}",
            parent.height, header.height
        )));
    }
    let index = block
        .block
        .txs
        .iter()
        .position(|t| t.tx.id(chain_id) == *id)
        .ok_or_else(|| {
            invalid(format!(
                "block {} does not hold transaction {id}",
                header.height
            ))
        })?;
    Ok((index, block.certificate.signatures.len()))
}

/// Checks the node's proofs against a verified state root and adds them to
/// `proven`. Every key asked for must be answered, in order.
pub fn add_proofs(
    proven: &mut Proven,
    asked: &[StateKey],
    answer: &RecordProofs,
    root: &Hash,
) -> Result<()> {
    let invalid = |reason: String| Error::ProofInvalid { reason };
    if answer.records.len() != asked.len() {
        return Err(invalid(format!(
            "{} keys were asked for and {} proofs came back",
            asked.len(),
            answer.records.len()
        )));
    }
    for (key, entry) in asked.iter().zip(&answer.records) {
        let bytes = hex::decode(entry.proof_hex.trim()).map_err(|e| {
            invalid(format!(
                "the proof of {} is not hexadecimal ({e})",
                entry.key
            ))
        })?;
        let proof: RecordProof = codec::decode(&bytes)
            .map_err(|e| invalid(format!("the proof of {} does not decode ({e})", entry.key)))?;
        if proof.key != *key {
            return Err(invalid(format!(
                "a proof of {} came back for {}",
                guild_api::proofs::key_text(&proof.key),
                guild_api::proofs::key_text(key)
            )));
        }
        proof.verify(root).map_err(|e| {
            invalid(format!(
                "the Merkle proof of {}: {e}",
                guild_api::proofs::key_text(key)
            ))
        })?;
        proven.insert(*key, proof.value);
    }
    Ok(())
}

fn record<T: codec::Canonical>(proven: &Proven, key: &StateKey) -> Option<T> {
    proven
        .get(key)
        .and_then(|v| v.as_deref())
        .and_then(|b| codec::decode(b).ok())
}

/// The records needed to recompute sale `index` of `block` that `proven`
/// does not hold yet, as far as `proven` tells (call again after adding
/// them, until nothing is missing).
pub fn needed_keys(block: &FinalBlock, index: usize, proven: &Proven) -> Vec<StateKey> {
    let mut keys = BTreeSet::from([
        StateKey::Chain,
        StateKey::Params,
        StateKey::Supply,
        StateKey::Programme,
        StateKey::Member(block.block.header.proposer),
    ]);
    let campaigns: Vec<CampaignId> = record::<Programme>(proven, &StateKey::Programme)
        .map(|p| (1..p.next_campaign.0).map(CampaignId).collect())
        .unwrap_or_default();
    keys.extend(campaigns.iter().map(|id| StateKey::Campaign(*id)));
    let funders = |shop: &Address| -> Vec<Address> {
        campaigns
            .iter()
            .filter_map(|id| {
                record::<guild_ledger::programme::Campaign>(proven, &StateKey::Campaign(*id))
            })
            .filter(|c| c.spec.funded_by(shop))
            .flat_map(|c| c.spec.funders.iter().map(|s| s.shop).collect::<Vec<_>>())
            .collect()
    };
    let debts = |keys: &mut BTreeSet<StateKey>, a: Address, b: Address| {
        keys.insert(StateKey::Debt {
            debtor: a,
            creditor: b,
        });
        keys.insert(StateKey::Debt {
            debtor: b,
            creditor: a,
        });
    };
    let customer_keys = |keys: &mut BTreeSet<StateKey>, customer: Address| {
        keys.insert(StateKey::Customer(customer));
        keys.insert(StateKey::Account(customer));
        keys.extend(campaigns.iter().map(|id| StateKey::CampaignUse {
            campaign: *id,
            customer,
        }));
        if let Some(referrer) = record::<CustomerRecord>(proven, &StateKey::Customer(customer))
            .and_then(|r| r.referred_by)
        {
            keys.insert(StateKey::Account(referrer));
        }
    };
    for (position, signed) in block.block.txs.iter().enumerate().take(index + 1) {
        let author = signed.tx.author;
        if position < index {
            keys.insert(StateKey::Account(author));
            keys.insert(StateKey::Member(author));
        }
        match &signed.tx.body {
            TxBody::Sale {
                customer, receipt, ..
            } => {
                keys.insert(StateKey::Rules(author));
                customer_keys(&mut keys, *customer);
                if position < index {
                    keys.insert(StateKey::Receipt {
                        shop: author,
                        receipt: *receipt,
                    });
                    for funder in funders(&author) {
                        keys.insert(StateKey::Member(funder));
                        debts(&mut keys, author, funder);
                    }
                }
            }
            TxBody::Earn {
                customer, receipt, ..
            }
            | TxBody::Birthday {
                customer, receipt, ..
            } => {
                keys.insert(StateKey::Rules(author));
                keys.insert(StateKey::Receipt {
                    shop: author,
                    receipt: *receipt,
                });
                customer_keys(&mut keys, *customer);
            }
            TxBody::Reverse { receipt, .. } => {
                let key = StateKey::Receipt {
                    shop: author,
                    receipt: *receipt,
                };
                keys.insert(key);
                if let Some(earn) = record::<EarnRecord>(proven, &key) {
                    customer_keys(&mut keys, earn.customer);
                    for funder in funders(&author) {
                        keys.insert(StateKey::Member(funder));
                        debts(&mut keys, author, funder);
                    }
                }
            }
            TxBody::Offer {
                campaign,
                customer,
                receipt,
            } => {
                keys.insert(StateKey::Receipt {
                    shop: author,
                    receipt: *receipt,
                });
                customer_keys(&mut keys, *customer);
                if let Some(c) = record::<guild_ledger::programme::Campaign>(
                    proven,
                    &StateKey::Campaign(*campaign),
                ) {
                    for share in &c.spec.funders {
                        keys.insert(StateKey::Member(share.shop));
                        debts(&mut keys, share.shop, author);
                    }
                }
            }
            TxBody::Refer { referrer } => {
                keys.insert(StateKey::Customer(author));
                keys.insert(StateKey::Account(*referrer));
            }
            TxBody::SetEarnRule { .. } => {
                keys.insert(StateKey::Rules(author));
            }
            TxBody::PublishCampaign { campaign } => {
                keys.extend(campaign.funders.iter().map(|s| StateKey::Member(s.shop)));
            }
            TxBody::Transfer { to, .. } => {
                keys.insert(StateKey::Account(*to));
            }
            TxBody::Redeem { shop, .. } => {
                keys.insert(StateKey::Member(*shop));
                if let Some(account) = record::<Account>(proven, &StateKey::Account(author)) {
                    for lot in &account.lots {
                        keys.insert(StateKey::Member(lot.issuer));
                        debts(&mut keys, lot.issuer, *shop);
                    }
                }
            }
            TxBody::Settle { debtor, .. } => {
                keys.insert(StateKey::Member(*debtor));
                debts(&mut keys, *debtor, author);
            }
            // Governance: proposals are not proven (a passed one would take
            // effect at the end of the replayed part, not of the block), so
            // an approval fails to replay and the sale is reported not
            // verified.
            TxBody::ApproveCampaign { .. }
            | TxBody::StopCampaign { .. }
            | TxBody::Propose { .. }
            | TxBody::Approve { .. } => {}
        }
    }
    keys.into_iter()
        .filter(|k| !proven.contains_key(k))
        .collect()
}

/// Recomputes sale `index` of `block` from `proven` records of its parent
/// state. `Err` is a reason it could not (not a forgery: every record was
/// already checked).
pub fn recompute(
    chain_id: &ChainId,
    block: &FinalBlock,
    index: usize,
    proven: &Proven,
) -> std::result::Result<Breakdown, String> {
    let entries = proven
        .iter()
        .filter_map(|(k, v)| v.clone().map(|v| (*k, v)));
    let partial = State::from_entries(entries)
        .map_err(|e| format!("the proven records do not make a state: {e}"))?;
    let header = &block.block.header;
    let verified = block
        .block
        .clone()
        .verify_signatures(chain_id)
        .map_err(|e| format!("{e}"))?;
    let earlier = verified.txs().get(..index).unwrap_or_default();
    let state = partial
        .replay(header.time, header.proposer, earlier)
        .map_err(|e| {
            format!(
                "could not replay the earlier transactions of block {}: {e}",
                header.height
            )
        })?;
    let Some(signed) = block.block.txs.get(index) else {
        return Err(format!(
            "block {} has no transaction {index}",
            header.height
        ));
    };
    let TxBody::Sale {
        customer, basket, ..
    } = &signed.tx.body
    else {
        return Err(format!(
            "transaction {index} of block {} is a {}, not a sale",
            header.height,
            signed.tx.body.kind()
        ));
    };
    state
        .sale_breakdown(
            &signed.tx.author,
            customer,
            basket,
            header.height,
            header.time,
        )
        .map_err(|e| format!("the rules refuse the sale on the proven records: {e}"))
}

/// Explains sale `id` of `block`: checks the block against the trusted
/// `members` and `parent` against it, then fetches proofs at the parent's
/// height with `fetch` (at most [`guild_api::proofs::MAX_PROOF_KEYS`] keys
/// a call) and recomputes the sale. `fetch` answering `Ok(None)` means the
/// node no longer keeps that height: the answer is then not verified.
pub fn explain_sale(
    chain_id: &ChainId,
    block: &FinalBlock,
    parent: &BlockHeader,
    members: &BTreeSet<Address>,
    id: &guild_ledger::tx::TxId,
    fetch: &mut dyn FnMut(&[StateKey]) -> Result<Option<RecordProofs>>,
) -> Result<SaleExplanation> {
    let (index, signers) = check_block(chain_id, block, parent, members, id)?;
    let signed = block
        .block
        .txs
        .get(index)
        .ok_or_else(|| Error::ProofInvalid {
            reason: format!(
                "block {} has no transaction {index}",
                block.block.header.height
            ),
        })?;
    let TxBody::Sale {
        customer, claim, ..
    } = &signed.tx.body
    else {
        return Err(Error::InvalidInput {
            what: "transaction",
            text: id.to_string(),
            reason: format!(
                "{id} is a {}, not a sale: only sales have a breakdown to explain",
                signed.tx.body.kind()
            ),
        });
    };
    let header = &block.block.header;
    let mut out = SaleExplanation {
        height: header.height,
        index,
        time: header.time,
        shop: signed.tx.author,
        customer: *customer,
        claim: claim.clone(),
        breakdown: None,
        verified: false,
        agrees: None,
        unverified_reason: None,
        signers,
        records_proven: 0,
    };
    let mut proven = Proven::new();
    for _ in 0..MAX_ROUNDS {
        let missing = needed_keys(block, index, &proven);
        if missing.is_empty() {
            break;
        }
        for chunk in missing.chunks(guild_api::proofs::MAX_PROOF_KEYS) {
            let Some(answer) = fetch(chunk)? else {
                out.unverified_reason = Some(format!(
                    "the node no longer keeps the state after block {} (it keeps only recent \
                     blocks), so this wallet cannot recompute the sale itself",
                    parent.height
                ));
                return Ok(out);
            };
            add_proofs(&mut proven, chunk, &answer, &parent.state_root)?;
        }
    }
    out.records_proven = proven.len();
    if !needed_keys(block, index, &proven).is_empty() {
        out.unverified_reason = Some(format!(
            "the records this sale depends on were still not all known after {MAX_ROUNDS} rounds"
        ));
        return Ok(out);
    }
    match recompute(chain_id, block, index, &proven) {
        Ok(breakdown) => {
            out.agrees = Some(breakdown.claim() == *claim);
            out.breakdown = Some(breakdown);
            out.verified = true;
        }
        Err(reason) => out.unverified_reason = Some(reason),
    }
    Ok(out)
}

/// A customer's tier, from proven records of a certified state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedTier {
    /// The customer.
    pub customer: Address,
    /// The certified block the records are from.
    pub height: Height,
    /// The tier now (`None`: below every tier).
    pub tier: Option<guild_ledger::programme::Tier>,
    /// Points earned from sales in the window.
    pub earned_in_window: Points,
    /// The window, in days.
    pub window_days: u32,
    /// The next tier up, if any.
    pub next: Option<guild_ledger::programme::Tier>,
    /// Points still to earn to reach it.
    pub to_next: Option<Points>,
    /// Points that leave the window soonest: `(in how many days, points)`,
    /// soonest first.
    pub leaving: Vec<(u64, Points)>,
    /// Members whose signatures certify the block (0 at genesis).
    pub signers: usize,
}

/// Works out `customer`'s tier at `now` from proofs (at `header`'s height)
/// of `programme` and `customer:…`, checked against `header.state_root`.
/// The caller has verified `header` (certificate, or genesis).
pub fn verify_tier(
    header: &BlockHeader,
    signers: usize,
    customer: &Address,
    answer: &RecordProofs,
    now: Timestamp,
) -> Result<VerifiedTier> {
    let keys = tier_keys(customer);
    let mut proven = Proven::new();
    add_proofs(&mut proven, &keys, answer, &header.state_root)?;
    let invalid = |reason: &str| Error::ProofInvalid {
        reason: reason.to_string(),
    };
    let programme: Programme =
        record(&proven, &StateKey::Programme).ok_or_else(|| invalid("no programme record"))?;
    let record: CustomerRecord =
        record(&proven, &StateKey::Customer(*customer)).unwrap_or_default();
    let tiers = &programme.tiers;
    let today = programme.locale.local(now).day;
    let earned = record.earned_in_window(today, tiers.window_days);
    let next = tiers.next_above(earned).cloned();
    let first = today.saturating_sub(u64::from(tiers.window_days).saturating_sub(1));
    let leaving = record
        .earned
        .iter()
        .filter(|d| d.day >= first && d.day <= today)
        .map(|d| {
            (
                (d.day + u64::from(tiers.window_days)).saturating_sub(today),
                d.points,
            )
        })
        .collect();
    Ok(VerifiedTier {
        customer: *customer,
        height: header.height,
        tier: tiers.tier_for(earned).cloned(),
        earned_in_window: earned,
        window_days: tiers.window_days,
        to_next: next.as_ref().map(|t| t.threshold.saturating_sub(earned)),
        next,
        leaving,
        signers,
    })
}

/// The keys [`verify_tier`] needs proven.
pub fn tier_keys(customer: &Address) -> Vec<StateKey> {
    vec![StateKey::Programme, StateKey::Customer(*customer)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_api::RecordProofEntry;
    use guild_ledger::Keypair;
    use guild_ledger::block::{CommitCertificate, CommitSignature};
    use guild_ledger::genesis::{Genesis, GenesisMember};
    use guild_ledger::params::Params;
    use guild_ledger::programme::{Basket, EarnRuleSpec};
    use guild_ledger::state::BlockBuilder;
    use guild_ledger::tx::{SignedTransaction, Transaction, TxId, VerifiedTx};
    use guild_ledger::types::{Cents, Nonce, ReceiptHash, ShopName};

    struct Chain {
        chain: ChainId,
        shop: Keypair,
        states: Vec<State>,
        headers: Vec<BlockHeader>,
        blocks: Vec<FinalBlock>,
    }

    impl Chain {
        fn new() -> Chain {
            let chain = ChainId::new("test-net").unwrap();
            let shop = Keypair::from_secret(&[1; 32]);
            let genesis = Genesis {
                programme: Default::default(),
                chain_id: chain.clone(),
                time: Timestamp(1_700_000_000_000),
                members: vec![GenesisMember {
                    name: ShopName::new("Bakery").unwrap(),
                    address: shop.address(),
                }],
                params: Params::default(),
            };
            let (state, header) = genesis.build().unwrap();
            Chain {
                chain,
                shop,
                states: vec![state],
                headers: vec![header],
                blocks: vec![],
            }
        }

        fn state(&self) -> &State {
            self.states.last().unwrap()
        }

        fn time(&self) -> Timestamp {
            Timestamp(self.state().chain().time.0 + 60_000)
        }

        fn sign(&self, nonce: u64, body: TxBody) -> SignedTransaction {
            Transaction {
                author: self.shop.address(),
                nonce: Nonce(nonce),
                body,
            }
            .sign(&self.shop, &self.chain)
        }

        fn commit(&mut self, txs: Vec<SignedTransaction>) {
            let time = self.time();
            let parent = self.headers.last().unwrap();
            let mut builder =
                BlockBuilder::new(self.state(), parent, time, self.shop.address()).unwrap();
            for tx in txs {
                builder.push(tx.verify(&self.chain).unwrap()).unwrap();
            }
            let applied = builder.finish();
            let header = applied.block.header().clone();
            let mut certificate = CommitCertificate {
                height: header.height,
                round: 0,
                block_hash: header.hash(),
                signatures: vec![],
            };
            certificate.signatures.push(CommitSignature {
                voter: self.shop.address(),
                signature: certificate.vote().sign(&self.shop, &self.chain),
            });
            self.blocks.push(FinalBlock {
                block: applied.block.into_block(),
                certificate,
            });
            self.states.push(applied.state);
            self.headers.push(header);
        }

        fn sale(&self, nonce: u64, customer: Address, receipt: &str, claim: Claim) -> TxBody {
            let _ = nonce;
            TxBody::Sale {
                customer,
                receipt: ReceiptHash::new(&self.shop.address(), receipt),
                basket: Basket {
                    amount: Cents(1250),
                    items: vec![],
                },
                claim,
            }
        }
    }

    /// A chain whose block 2 holds two sales to one customer: the second
    /// one (the one explained) is computed after the first.
    fn two_sales() -> (Chain, Address, TxId) {
        let mut c = Chain::new();
        let rule = EarnRuleSpec {
            points: 1,
            per: Cents(100),
            min_spend: Cents(0),
            multipliers: vec![],
            excluded: vec![],
            cap: None,
            birthday: Points(0),
        };
        let set = c.sign(
            0,
            TxBody::SetEarnRule {
                rule,
                effective: Some(Height(2)),
            },
        );
        c.commit(vec![set]);
        let customer = Keypair::from_secret(&[9; 32]).address();
        let basket = Basket {
            amount: Cents(1250),
            items: vec![],
        };
        let time = c.time();
        let first_claim = c
            .state()
            .sale_breakdown(&c.shop.address(), &customer, &basket, Height(2), time)
            .unwrap()
            .claim();
        let first = c.sign(1, c.sale(1, customer, "R-1", first_claim));
        let verified: VerifiedTx = first.clone().verify(&c.chain).unwrap();
        let mid = c
            .state()
            .replay(time, c.shop.address(), &[verified])
            .unwrap();
        let second_claim = mid
            .sale_breakdown(&c.shop.address(), &customer, &basket, Height(2), time)
            .unwrap()
            .claim();
        let second = c.sign(2, c.sale(2, customer, "R-2", second_claim));
        let id = second.tx.id(&c.chain);
        c.commit(vec![first, second]);
        (c, customer, id)
    }

    fn serve(state: &State, keys: &[StateKey]) -> RecordProofs {
        RecordProofs {
            height: state.chain().height,
            state_root: state.root(),
            members: vec![],
            next_members: state.member_set().into_iter().collect(),
            records: keys
                .iter()
                .map(|k| RecordProofEntry::new(&state.prove(k)))
                .collect(),
        }
    }

    fn members(c: &Chain) -> BTreeSet<Address> {
        BTreeSet::from([c.shop.address()])
    }

    #[test]
    fn a_sale_is_recomputed_from_proven_records_after_the_earlier_ones() {
        let (c, customer, id) = two_sales();
        let parent = c.states[1].clone();
        let mut fetch = |keys: &[StateKey]| Ok(Some(serve(&parent, keys)));
        let e = explain_sale(
            &c.chain,
            &c.blocks[1],
            &c.headers[1],
            &members(&c),
            &id,
            &mut fetch,
        )
        .unwrap();
        assert!(e.verified, "{:?}", e.unverified_reason);
        assert_eq!(e.agrees, Some(true));
        assert_eq!((e.index, e.customer), (1, customer));
        let breakdown = e.breakdown.unwrap();
        assert_eq!(breakdown.total, Points(12));
        assert_eq!(breakdown.claim(), e.claim);
        assert!(e.records_proven > 5);
    }

    #[test]
    fn a_tampered_proof_is_refused() {
        let (c, _, id) = two_sales();
        let parent = c.states[1].clone();
        let mut fetch = |keys: &[StateKey]| {
            let mut answer = serve(&parent, keys);
            // Claim the programme record says something else.
            let entry = &mut answer.records[0];
            let bytes = hex::decode(&entry.proof_hex).unwrap();
            let mut proof: RecordProof = codec::decode(&bytes).unwrap();
            if let Some(value) = proof.value.as_mut() {
                value[0] ^= 1;
            }
            entry.proof_hex = hex::encode(codec::encode(&proof));
            Ok(Some(answer))
        };
        let error = explain_sale(
            &c.chain,
            &c.blocks[1],
            &c.headers[1],
            &members(&c),
            &id,
            &mut fetch,
        )
        .unwrap_err();
        assert!(matches!(error, Error::ProofInvalid { .. }), "{error}");
        assert!(error.to_string().contains("Merkle proof"), "{error}");
    }

    #[test]
    fn a_parent_header_that_is_not_prev_hash_is_refused() {
        let (c, _, id) = two_sales();
        let mut never = |_: &[StateKey]| -> Result<Option<RecordProofs>> { panic!("no fetch") };
        // Block 0's header is not block 2's parent.
        let error = explain_sale(
            &c.chain,
            &c.blocks[1],
            &c.headers[0],
            &members(&c),
            &id,
            &mut never,
        )
        .unwrap_err();
        assert!(error.to_string().contains("is not the parent"), "{error}");
        // Nor is block 2 certified by another member set.
        let other = BTreeSet::from([Keypair::from_secret(&[7; 32]).address()]);
        let error = explain_sale(
            &c.chain,
            &c.blocks[1],
            &c.headers[1],
            &other,
            &id,
            &mut never,
        )
        .unwrap_err();
        assert!(error.to_string().contains("certificate"), "{error}");
    }

    #[test]
    fn without_proofs_the_claim_is_shown_not_verified() {
        let (c, _, id) = two_sales();
        let mut gone = |_: &[StateKey]| Ok(None);
        let e = explain_sale(
            &c.chain,
            &c.blocks[1],
            &c.headers[1],
            &members(&c),
            &id,
            &mut gone,
        )
        .unwrap();
        assert!(!e.verified);
        assert!(e.breakdown.is_none() && e.agrees.is_none());
        assert!(e.unverified_reason.unwrap().contains("no longer keeps"));
    }

    #[test]
    fn the_tier_comes_from_proven_records() {
        let (c, customer, _) = two_sales();
        let head = c.states[2].clone();
        let answer = serve(&head, &tier_keys(&customer));
        let tier = verify_tier(&c.headers[2], 1, &customer, &answer, c.headers[2].time).unwrap();
        assert_eq!(tier.earned_in_window, Points(24));
        assert_eq!(tier.leaving.len(), 1);
        // The same proofs against another root are refused.
        assert!(verify_tier(&c.headers[1], 1, &customer, &answer, c.headers[2].time).is_err());
    }
}
