//! A small in-memory chain for tests: shops, customers, and blocks built by
//! a proposer then re-applied by a second "node" to check determinism.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

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
        let names = ["Bakery", "Cafe", "Bookshop", "Florist", "Butcher", "Grocer"];
        let keys: Vec<Keypair> = (1..=shops as u8).map(key).collect();
        let genesis = Genesis {
            programme: Default::default(),
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
            chain_id: genesis.chain_id,
            state,
            header,
            shops: keys,
            time: T0,
            blocks: Vec::new(),
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
