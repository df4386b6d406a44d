//! Checking a balance without trusting the node (`docs/api.md`, "Verifying a
//! balance without trusting the node").
//!
//! The node sends, from one snapshot, the head header, its commit
//! certificate and a Merkle proof of the account. [`verify_account`] checks
//! that
//!
//! 1. the header's hash is the block hash claimed;
//! 2. the certificate carries valid precommit signatures of more than 2/3 of
//!    a member set the *caller* trusts (at height 0, where there is no
//!    certificate, that the header is the trusted genesis header);
//! 3. the proof ties the account record (or its absence) to the header's
//!    state root;
//!
//! and only then computes the balance from the proven lots, by the expiry
//! rule (a lot counts while `expires_at > now`). Which member set to trust
//! is the caller's decision; [`VerifiedAccount::members`] records it.

use crate::error::{Error, Result};
use guild_api::ProofInfo;
use guild_ledger::block::{BlockHeader, CommitCertificate};
use guild_ledger::state::{AccountProof, Lot};
use guild_ledger::types::{ChainId, Height, Nonce, Points, Timestamp};
use guild_ledger::{Address, Hash, codec};
use serde::Serialize;
use std::collections::BTreeSet;

/// An account whose record was proven against a certified header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifiedAccount {
    /// The account.
    pub address: Address,
    /// The network.
    pub chain_id: ChainId,
    /// The certified block the proof is against.
    pub height: Height,
    /// Its hash.
    pub block_hash: Hash,
    /// Its time.
    pub block_time: Timestamp,
    /// Its state root.
    pub state_root: Hash,
    /// Spendable points at `now`.
    pub balance: Points,
    /// Points in lots past expiry (not spendable).
    pub expired: Points,
    /// The account's next nonce.
    pub nonce: Nonce,
    /// The proven lots still valid at `now`, soonest expiry first.
    pub lots: Vec<Lot>,
    /// Members whose valid signatures certify the block (0 at genesis).
    pub signers: usize,
    /// The size of the trusted member set.
    pub members: usize,
}

/// Checks `proof` (the node's answer for `address`) against network
/// `chain_id` and the member set `members` the caller trusts at the proof's
/// height. At height 0, `genesis_header` must be given: the header built
/// from the trusted genesis.
pub fn verify_account(
    proof: &ProofInfo,
    address: &Address,
    chain_id: &ChainId,
    members: &BTreeSet<Address>,
    genesis_header: Option<&BlockHeader>,
    now: Timestamp,
) -> Result<VerifiedAccount> {
    let invalid = |reason: String| Error::ProofInvalid { reason };
    if proof.chain_id != *chain_id {
        return Err(invalid(format!(
            "it is for network {}, not {chain_id}",
            proof.chain_id
        )));
    }
    let header: BlockHeader = decode_hex(&proof.header_hex, "header")?;
    if header != proof.header || header.height != proof.height {
        return Err(invalid(
            "the header's bytes and its JSON form differ".to_string(),
        ));
    }
    let hash = header.hash();
    if hash != proof.block_hash {
        return Err(invalid(format!(
            "the header hashes to {hash}, not to the block hash {} claimed",
            proof.block_hash
        )));
    }
    if header.state_root != proof.state_root {
        return Err(invalid(
            "the state root claimed is not the header's".to_string(),
        ));
    }
    let signers = match (&proof.certificate_hex, header.height) {
        (None, Height(0)) => match genesis_header {
            Some(genesis) if *genesis == header => 0,
            Some(_) => {
                return Err(invalid(
                    "the node's genesis header is not the one built from the trusted genesis"
                        .to_string(),
                ));
            }
            None => {
                return Err(invalid(
                    "the chain is at genesis, and no trusted genesis was given to check it"
                        .to_string(),
                ));
            }
        },
        (None, height) => {
            return Err(invalid(format!(
                "block {height} comes without a commit certificate"
            )));
        }
        (Some(hex_text), _) => {
            let certificate: CommitCertificate = decode_hex(hex_text, "certificate")?;
            certificate
                .verify(chain_id, &header, members)
                .map_err(|e| invalid(format!("the block's commit certificate: {e}")))?;
            certificate.signatures.len()
        }
    };
    let account_proof: AccountProof = decode_hex(&proof.proof_hex, "account proof")?;
    if account_proof.address != *address {
        return Err(invalid(format!(
            "it proves account {}, not {address}",
            account_proof.address
        )));
    }
    account_proof
        .verify(&header.state_root)
        .map_err(|e| invalid(format!("the account's Merkle proof: {e}")))?;
    if account_proof.account != proof.account {
        return Err(invalid(
            "the account shown in JSON is not the one proven".to_string(),
        ));
    }
    let account = account_proof.account.unwrap_or_default();
    let (lots, expired): (Vec<Lot>, Vec<Lot>) =
        account.lots.iter().partition(|lot| lot.expires_at > now);
    let sum = |lots: &[Lot]| {
        lots.iter().fold(Points::ZERO, |total, lot| {
            Points(total.0.saturating_add(lot.amount.0))
        })
    };
    Ok(VerifiedAccount {
        address: *address,
        chain_id: chain_id.clone(),
        height: header.height,
        block_hash: hash,
        block_time: header.time,
        state_root: header.state_root,
        balance: sum(&lots),
        expired: sum(&expired),
        nonce: account.nonce,
        lots,
        signers,
        members: members.len(),
    })
}

fn decode_hex<T: codec::Canonical>(text: &str, what: &str) -> Result<T> {
    let bytes = hex::decode(text.trim()).map_err(|e| Error::ProofInvalid {
        reason: format!("the {what} is not hexadecimal ({e})"),
    })?;
    codec::decode(&bytes).map_err(|e| Error::ProofInvalid {
        reason: format!("the {what} does not decode ({e})"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use guild_ledger::Keypair;
    use guild_ledger::block::{CommitSignature, Vote, VoteKind};
    use guild_ledger::genesis::{Genesis, GenesisMember};
    use guild_ledger::params::Params;
    use guild_ledger::state::BlockBuilder;
    use guild_ledger::tx::{Transaction, TxBody};
    use guild_ledger::types::{ReceiptHash, ShopName};

    struct Fixture {
        chain: ChainId,
        shops: Vec<Keypair>,
        customer: Address,
        proof: ProofInfo,
        genesis_header: BlockHeader,
    }

    /// A 4-shop chain with one block that issues 50 points to a customer,
    /// certified by `signers` of the shops.
    fn fixture(signers: usize) -> Fixture {
        let chain = ChainId::new("test-net").unwrap();
        let shops: Vec<Keypair> = (1..=4).map(|i| Keypair::from_secret(&[i; 32])).collect();
        let customer = Keypair::from_secret(&[9; 32]).address();
        let genesis = Genesis {
            programme: Default::default(),
            chain_id: chain.clone(),
            time: Timestamp(1_700_000_000_000),
            members: shops
                .iter()
                .enumerate()
                .map(|(i, k)| GenesisMember {
                    name: ShopName::new(&format!("Shop {i}")).unwrap(),
                    address: k.address(),
                })
                .collect(),
            params: Params::default(),
        };
        let (state, genesis_header) = genesis.build().unwrap();
        let earn = Transaction {
            author: shops[0].address(),
            nonce: Nonce(0),
            body: TxBody::Earn {
                reason: guild_ledger::Memo::new("goodwill").unwrap(),
                customer,
                points: Points(50),
                purchase: None,
                receipt: ReceiptHash::new(&shops[0].address(), "R-1"),
            },
        }
        .sign(&shops[0], &chain)
        .verify(&chain)
        .unwrap();
        let mut builder = BlockBuilder::new(
            &state,
            &genesis_header,
            Timestamp(1_700_000_001_000),
            shops[0].address(),
        )
        .unwrap();
        builder.push(earn).unwrap();
        let applied = builder.finish();
        let header = applied.block.header().clone();
        let vote = Vote {
            kind: VoteKind::Precommit,
            height: header.height,
            round: 0,
            block: Some(header.hash()),
        };
        let mut signatures: Vec<CommitSignature> = shops
            .iter()
            .take(signers)
            .map(|k| CommitSignature {
                voter: k.address(),
                signature: vote.sign(k, &chain),
            })
            .collect();
        signatures.sort_by_key(|s| s.voter);
        let certificate = CommitCertificate {
            height: header.height,
            round: 0,
            block_hash: header.hash(),
            signatures,
        };
        let account_proof = applied.state.prove_account(&customer);
        let proof = ProofInfo {
            address: customer,
            chain_id: chain.clone(),
            height: header.height,
            block_hash: header.hash(),
            state_root: header.state_root,
            header: header.clone(),
            header_hex: hex::encode(codec::encode(&header)),
            certificate_hex: Some(hex::encode(codec::encode(&certificate))),
            proof_hex: hex::encode(codec::encode(&account_proof)),
            account: account_proof.account.clone(),
            members: shops.iter().map(|k| k.address()).collect(),
        };
        Fixture {
            chain,
            shops,
            customer,
            proof,
            genesis_header,
        }
    }

    fn members(f: &Fixture) -> BTreeSet<Address> {
        f.shops.iter().map(|k| k.address()).collect()
    }

    #[test]
    fn a_certified_proof_gives_the_balance() {
        let f = fixture(3);
        let verified = verify_account(
            &f.proof,
            &f.customer,
            &f.chain,
            &members(&f),
            None,
            Timestamp(1_700_000_002_000),
        )
        .unwrap();
        assert_eq!(verified.balance, Points(50));
        assert_eq!(verified.signers, 3);
        assert_eq!(verified.height, Height(1));
        // Far in the future the lot has expired.
        let later = verify_account(
            &f.proof,
            &f.customer,
            &f.chain,
            &members(&f),
            None,
            Timestamp(u64::MAX),
        )
        .unwrap();
        assert_eq!(later.balance, Points(0));
        assert_eq!(later.expired, Points(50));
    }

    #[test]
    fn forgeries_are_caught() {
        let f = fixture(3);
        let now = Timestamp(1_700_000_002_000);
        let check = |proof: &ProofInfo, members: &BTreeSet<Address>| {
            verify_account(proof, &f.customer, &f.chain, members, None, now)
        };
        // Too few signatures.
        let weak = fixture(2);
        assert!(matches!(
            check(&weak.proof, &members(&f)),
            Err(Error::ProofInvalid { .. })
        ));
        // A member set the wallet does not trust.
        let strangers: BTreeSet<Address> = (20..24)
            .map(|i| Keypair::from_secret(&[i; 32]).address())
            .collect();
        assert!(check(&f.proof, &strangers).is_err());
        // A richer account than the one proven.
        let mut richer = f.proof.clone();
        let mut account = richer.account.clone().unwrap();
        account.lots[0].amount = Points(5000);
        richer.proof_hex = {
            let mut p: AccountProof =
                codec::decode(&hex::decode(&richer.proof_hex).unwrap()).unwrap();
            p.account = Some(account.clone());
            hex::encode(codec::encode(&p))
        };
        richer.account = Some(account);
        let error = check(&richer, &members(&f)).unwrap_err();
        assert!(error.to_string().contains("Merkle proof"), "{error}");
        // Someone else's account.
        assert!(
            verify_account(
                &f.proof,
                &f.shops[1].address(),
                &f.chain,
                &members(&f),
                None,
                now
            )
            .is_err()
        );
        // Another network.
        assert!(
            verify_account(
                &f.proof,
                &f.customer,
                &ChainId::new("other").unwrap(),
                &members(&f),
                None,
                now
            )
            .is_err()
        );
        // A header that does not match its hash.
        let mut moved = f.proof.clone();
        moved.block_hash = Hash::ZERO;
        assert!(check(&moved, &members(&f)).is_err());
        // A missing certificate above genesis.
        let mut bare = f.proof.clone();
        bare.certificate_hex = None;
        assert!(check(&bare, &members(&f)).is_err());
        let _ = &f.genesis_header;
    }
}
