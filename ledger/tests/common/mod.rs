//! A small in-memory chain for tests: shops, customers, and blocks built by
//! a proposer then re-applied by a second "node" to check determinism.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use guild_ledger::genesis::GenesisProgramme;
use guild_ledger::programme::evaluate::Breakdown;
use guild_ledger::programme::*;
use guild_ledger::types::{CampaignId, CampaignName, Category, Permille, TierName};
use guild_ledger::*;

/// Milliseconds in a day.
pub const DAY: u64 = 86_400_000;
/// Genesis time used by tests: 2026-01-01T00:00:00Z.
pub const T0: u64 = 1_767_225_600_000;

pub struct TestChain {
    pub chain_id: ChainId,
    pub state: State,
    pub header: BlockHeader,
    pub shops: Vec<Keypair>,
    pub time: u64,
    /// Every block applied so far, in order.
    pub blocks: Vec<Block>,
    /// The genesis it started from (to replay `blocks`).
    pub genesis: Genesis,
}

pub fn key(seed: u8) -> Keypair {
    Keypair::from_secret(&[seed; 32])
}

/// Customers use seeds 100 and up, shops 1 to 99.
pub fn customer(n: u8) -> Keypair {
    key(100 + n)
}

impl TestChain {
    pub fn new(shops: usize) -> TestChain {
        TestChain::with_params(shops, Params::default())
    }

    pub fn with_params(shops: usize, params: Params) -> TestChain {
        TestChain::with_programme(shops, params, GenesisProgramme::default())
    }

    /// A chain whose genesis sets the programme's locale and tiers.
    pub fn with_programme(shops: usize, params: Params, programme: GenesisProgramme) -> TestChain {
        let names = ["Bakery", "Cafe", "Bookshop", "Florist", "Butcher", "Grocer"];
        let keys: Vec<Keypair> = (1..=shops as u8).map(key).collect();
        let genesis = Genesis {
            programme,
            chain_id: ChainId::new("test-street").unwrap(),
            time: Timestamp(T0),
            members: keys
                .iter()
                .enumerate()
                .map(|(i, k)| GenesisMember {
                    name: ShopName::new(names[i % names.len()]).unwrap(),
                    address: k.address(),
                })
                .collect(),
            params,
        };
        let (state, header) = genesis.build().unwrap();
        TestChain {
            chain_id: genesis.chain_id.clone(),
            state,
            header,
            shops: keys,
            time: T0,
            blocks: Vec::new(),
            genesis,
        }
    }

    pub fn shop(&self, i: usize) -> Address {
        self.shops[i].address()
    }

    /// Signs `body` by `author` with the author's next nonce.
    pub fn tx(&self, author: &Keypair, body: TxBody) -> VerifiedTx {
        let nonce = self
            .state
            .account(&author.address())
            .map(|a| a.nonce)
            .unwrap_or_default();
        self.tx_with_nonce(author, nonce, body)
    }

    pub fn tx_with_nonce(&self, author: &Keypair, nonce: Nonce, body: TxBody) -> VerifiedTx {
        Transaction {
            author: author.address(),
            nonce,
            body,
        }
        .sign(author, &self.chain_id)
        .verify(&self.chain_id)
        .unwrap()
    }

    /// Builds a block of `txs` (all must be accepted), re-applies it as a
    /// second node would, and moves the chain on. Time advances by 1 s.
    pub fn block(&mut self, txs: Vec<VerifiedTx>) -> Result<Applied, TxError> {
        self.time += 1_000;
        let mut builder = BlockBuilder::new(
            &self.state,
            &self.header,
            Timestamp(self.time),
            self.shop(0),
        )
        .unwrap();
        for tx in txs {
            builder.push(tx)?;
        }
        let built = builder.finish();
        // A second node decodes and re-applies the same block.
        let bytes = encode(&built.block.clone().into_block());
        let received: Block = decode(&bytes).unwrap();
        self.blocks.push(received.clone());
        let verified = received.verify_signatures(&self.chain_id).unwrap();
        let applied = self.state.apply_block(&self.header, &verified).unwrap();
        assert_eq!(applied.state.root(), built.state.root());
        self.state = applied.state.clone();
        self.header = applied.block.header().clone();
        Ok(applied)
    }

    /// Submits one transaction in its own block.
    pub fn submit(&mut self, author: &Keypair, body: TxBody) -> Result<Applied, TxError> {
        let tx = self.tx(author, body);
        self.block(vec![tx])
    }

    /// Lets `days` days pass (the next block is that much later).
    pub fn wait_days(&mut self, days: u64) {
        self.time += days * DAY;
    }

    pub fn balance(&self, who: &Address) -> Points {
        self.state
            .account(who)
            .map(|a| a.balance())
            .unwrap_or_default()
    }

    pub fn earn(
        &mut self,
        shop: usize,
        to: &Address,
        points: u64,
        receipt: &str,
    ) -> Result<Applied, TxError> {
        let shop_key = self.shops[shop].clone();
        self.submit(
            &shop_key,
            TxBody::Earn {
                reason: guild_ledger::Memo::new("goodwill").unwrap(),
                customer: *to,
                points: Points(points),
                purchase: None,
                receipt: ReceiptHash::new(&shop_key.address(), receipt),
            },
        )
    }

    /// Sum of all balances, recomputed from accounts.
    pub fn total_balances(&self) -> Points {
        Points(self.state.accounts().map(|(_, a)| a.balance().0).sum())
    }
}

// ----- the programme -----------------------------------------------------------

/// 1 point per 10 minor units, nothing else.
pub fn basic_rule() -> EarnRuleSpec {
    EarnRuleSpec {
        points: 1,
        per: Cents(10),
        min_spend: Cents(0),
        multipliers: vec![],
        excluded: vec![],
        cap: None,
        birthday: Points(0),
    }
}

pub fn cat(name: &str) -> Category {
    Category::new(name).unwrap()
}

/// A basket of `amount` with `(category, amount)` lines.
pub fn basket(amount: u64, items: &[(&str, u64)]) -> Basket {
    Basket::new(
        Cents(amount),
        items
            .iter()
            .map(|(c, a)| BasketLine {
                category: cat(c),
                amount: Cents(*a),
            })
            .collect(),
    )
}

/// Silver from 500 points earned in 365 days (x1.25), gold from 2,000 (x1.5).
pub fn silver_gold() -> TierTable {
    TierTable {
        window_days: 365,
        tiers: vec![
            Tier {
                name: TierName::new("silver").unwrap(),
                threshold: Points(500),
                multiplier: Permille(1250),
            },
            Tier {
                name: TierName::new("gold").unwrap(),
                threshold: Points(2000),
                multiplier: Permille(1500),
            },
        ],
    }
}

/// A campaign of `reward` funded by `funders` (address, percent; sorted
/// here), running from genesis for a year, with a budget of 100,000.
pub fn campaign_spec(funders: &[(Address, u8)], reward: Reward) -> CampaignSpec {
    let mut funders: Vec<Share> = funders
        .iter()
        .map(|(shop, percent)| Share {
            shop: *shop,
            percent: *percent,
        })
        .collect();
    funders.sort_by_key(|s| s.shop);
    CampaignSpec {
        name: CampaignName::new("High street summer").unwrap(),
        funders,
        reward,
        start: Timestamp(T0),
        end: Timestamp(T0 + 365 * DAY),
        days: 0,
        hours: None,
        categories: vec![],
        tiers: vec![],
        first_purchase: false,
        min_spend: Cents(0),
        budget: Points(100_000),
        per_customer: None,
        holdout: Permille(0),
    }
}

impl TestChain {
    /// The height of the next block.
    pub fn next_height(&self) -> Height {
        Height(self.state.chain().height.0 + 1)
    }

    /// The time of the next block (see [`TestChain::block`]).
    pub fn next_time(&self) -> Timestamp {
        Timestamp(self.time + 1_000)
    }

    /// Publishes `rule` for shop `shop`, in force from the block after.
    pub fn set_rule(&mut self, shop: usize, rule: EarnRuleSpec) -> Result<Applied, TxError> {
        let effective = Height(self.next_height().0 + 1);
        let key = self.shops[shop].clone();
        self.submit(
            &key,
            TxBody::SetEarnRule {
                rule,
                effective: Some(effective),
            },
        )
    }

    /// What a sale of `basket` at shop `shop` to `customer` would give in
    /// the next block.
    pub fn breakdown(&self, shop: usize, customer: &Address, basket: &Basket) -> Breakdown {
        self.state
            .sale_breakdown(
                &self.shop(shop),
                customer,
                basket,
                self.next_height(),
                self.next_time(),
            )
            .unwrap()
    }

    /// A sale signed with the claim the rules give in the next block.
    pub fn sale_tx(
        &self,
        shop: usize,
        customer: &Address,
        receipt: &str,
        basket: &Basket,
    ) -> VerifiedTx {
        let claim = self.breakdown(shop, customer, basket).claim();
        self.tx(
            &self.shops[shop],
            TxBody::Sale {
                customer: *customer,
                receipt: ReceiptHash::new(&self.shop(shop), receipt),
                basket: basket.clone(),
                claim,
            },
        )
    }

    /// Records a sale (in its own block) and returns its breakdown.
    pub fn sale(
        &mut self,
        shop: usize,
        customer: &Address,
        receipt: &str,
        basket: &Basket,
    ) -> Result<Breakdown, TxError> {
        let breakdown = self.breakdown(shop, customer, basket);
        let tx = self.sale_tx(shop, customer, receipt, basket);
        self.block(vec![tx])?;
        Ok(breakdown)
    }

    /// Publishes a campaign by shop `shop`, returning its id.
    pub fn publish(&mut self, shop: usize, campaign: CampaignSpec) -> Result<CampaignId, TxError> {
        let id = self.state.programme().next_campaign;
        let key = self.shops[shop].clone();
        self.submit(&key, TxBody::PublishCampaign { campaign })?;
        Ok(id)
    }

    /// Reverses (all or `amount` of) shop `shop`'s receipt.
    pub fn refund(
        &mut self,
        shop: usize,
        receipt: &str,
        amount: Option<u64>,
    ) -> Result<Applied, TxError> {
        let key = self.shops[shop].clone();
        let receipt = ReceiptHash::new(&key.address(), receipt);
        self.submit(
            &key,
            TxBody::Reverse {
                receipt,
                amount: amount.map(Cents),
            },
        )
    }

    /// The state replayed from genesis over every block so far.
    pub fn replay(&self) -> State {
        let (mut state, mut header) = self.genesis.build().unwrap();
        for block in &self.blocks {
            let verified = block.clone().verify_signatures(&self.chain_id).unwrap();
            let applied = state.apply_block(&header, &verified).unwrap();
            state = applied.state;
            header = applied.block.header().clone();
        }
        state
    }

    /// The earn record of shop `shop`'s receipt.
    pub fn record(&self, shop: usize, receipt: &str) -> EarnRecord {
        self.state
            .receipt(
                &self.shop(shop),
                &ReceiptHash::new(&self.shop(shop), receipt),
            )
            .cloned()
            .unwrap()
    }
}
