//! A chain built in memory whose every block is fed to a [`History`].

#![allow(dead_code)]

use guild_audit::Date;
use guild_audit::fixture::{ChainFixture, ChainSink};
use guild_insights::{Day, History};
use guild_ledger::block::{BlockHeader, FinalBlock};
use guild_ledger::state::{Applied, State};
use guild_ledger::*;
use std::convert::Infallible;

/// Feeds every committed block to a history.
pub struct Feed(pub History);

impl ChainSink for Feed {
    type Error = Infallible;

    fn genesis(&mut self, _: &BlockHeader, state: &State) -> Result<(), Infallible> {
        self.0 = History::new(state);
        Ok(())
    }

    fn commit(
        &mut self,
        before: &State,
        applied: &Applied,
        _: &FinalBlock,
    ) -> Result<(), Infallible> {
        self.0.apply(before, applied).unwrap();
        Ok(())
    }
}

pub fn shop(n: u8) -> Keypair {
    Keypair::from_secret(&[n; 32])
}

pub fn customer(n: u8) -> Keypair {
    Keypair::from_secret(&[100 + n; 32])
}

pub fn day(text: &str) -> Day {
    Day(Date::parse(text).unwrap().day_number())
}

/// `YYYY-MM-DD` at `hour`:00 UTC.
pub fn at(text: &str, hour: u64) -> Timestamp {
    Timestamp(Date::parse(text).unwrap().start().0 + hour * 3_600_000)
}

/// Two shops, Bakery (key 1) and Cafe (key 2), from 2026-01-01, UTC, £.
pub struct Street {
    pub chain: ChainFixture<Feed>,
}

impl Street {
    pub fn new() -> Street {
        let genesis = Genesis {
            chain_id: ChainId::new("high-street").unwrap(),
            time: at("2026-01-01", 0),
            members: vec![
                GenesisMember {
                    name: ShopName::new("Bakery").unwrap(),
                    address: shop(1).address(),
                },
                GenesisMember {
                    name: ShopName::new("Cafe").unwrap(),
                    address: shop(2).address(),
                },
            ],
            params: Params::default(),
            programme: Default::default(),
        };
        let (state, _) = genesis.build().unwrap();
        let chain =
            ChainFixture::new(genesis, vec![shop(1), shop(2)], Feed(History::new(&state))).unwrap();
        Street { chain }
    }

    /// A purchase of `pence` reported by `shop`'s till with an earn of one
    /// point a pound (at least one).
    pub fn purchase(
        &mut self,
        shop_n: u8,
        customer_n: u8,
        pence: u64,
        receipt: &str,
    ) -> SignedTransaction {
        let key = shop(shop_n);
        self.chain.sign(
            &key,
            TxBody::Earn {
                customer: customer(customer_n).address(),
                points: Points((pence / 100).max(1)),
                purchase: Some(Cents(pence)),
                receipt: ReceiptHash::new(&key.address(), receipt),
                reason: Memo::new("sale").unwrap(),
            },
        )
    }

    pub fn redeem(&mut self, customer_n: u8, shop_n: u8, points: u64) -> SignedTransaction {
        let key = customer(customer_n);
        self.chain.sign(
            &key,
            TxBody::Redeem {
                shop: shop(shop_n).address(),
                points: Points(points),
            },
        )
    }

    pub fn reverse(&mut self, shop_n: u8, receipt: &str, amount: Option<u64>) -> SignedTransaction {
        let key = shop(shop_n);
        self.chain.sign(
            &key,
            TxBody::Reverse {
                receipt: ReceiptHash::new(&key.address(), receipt),
                amount: amount.map(Cents),
            },
        )
    }

    pub fn block(&mut self, time: Timestamp, txs: Vec<SignedTransaction>) {
        self.chain.block(time, txs).unwrap();
    }

    pub fn history(&self) -> &History {
        &self.chain.sink().0
    }

    pub fn state(&self) -> &State {
        self.chain.state()
    }
}
