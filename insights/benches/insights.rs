//! What insights cost on a high street's chain: 2,000 customers of two
//! shops over 60 days (one block a day, about 330 purchases each), so
//! about 20,000 purchases.
//!
//! - `history::apply/txs=N`: adding one day's block to the history (what a
//!   node does per committed block);
//! - `history::customers/scope=group`: every customer's purchase days,
//!   merged across shops;
//! - `rfm::score_customers/customers=2000`: scores and segments;
//! - `kpi::kpis/scope=group,days=30`: the KPIs of the last 30 days.
//!
//! Run: `cargo bench -p guild-insights --bench insights`.
#![allow(missing_docs)] // criterion's macros generate undocumented items

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use guild_audit::fixture::{ChainFixture, ChainSink};
use guild_insights::kpi::{self, Period};
use guild_insights::{Day, History, Scope, rfm};
use guild_ledger::block::{BlockHeader, FinalBlock};
use guild_ledger::hash::sha256;
use guild_ledger::state::{Applied, State};
use guild_ledger::*;
use std::convert::Infallible;
use std::hint::black_box;

const CUSTOMERS: u64 = 2_000;
const DAYS: u64 = 60;
const T0: u64 = 1_767_225_600_000; // 2026-01-01
const DAY_MS: u64 = 86_400_000;

/// Keeps the history, and the last block with the state before it.
struct Sink {
    history: History,
    last: Option<(History, State, Applied)>,
}

impl ChainSink for Sink {
    type Error = Infallible;

    fn genesis(&mut self, _: &BlockHeader, state: &State) -> Result<(), Infallible> {
        self.history = History::new(state);
        Ok(())
    }

    fn commit(
        &mut self,
        before: &State,
        applied: &Applied,
        _: &FinalBlock,
    ) -> Result<(), Infallible> {
        self.last = Some((self.history.clone(), before.clone(), applied.clone()));
        self.history.apply(before, applied).expect("in order");
        Ok(())
    }
}

fn key(i: u64, salt: &str) -> Keypair {
    Keypair::from_secret(&sha256(&[salt.as_bytes(), &i.to_be_bytes()]).0)
}

fn chain() -> ChainFixture<Sink> {
    let shops = [key(1, "shop"), key(2, "shop")];
    let genesis = Genesis {
        chain_id: ChainId::new("bench-street").expect("id"),
        time: Timestamp(T0),
        members: shops
            .iter()
            .enumerate()
            .map(|(i, k)| GenesisMember {
                name: ShopName::new(&format!("Shop {i}")).expect("name"),
                address: k.address(),
            })
            .collect(),
        params: Params::default(),
        programme: Default::default(),
    };
    let (state, _) = genesis.build().expect("genesis");
    let sink = Sink {
        history: History::new(&state),
        last: None,
    };
    let mut chain = ChainFixture::new(genesis, shops.to_vec(), sink).expect("fixture");
    let customers: Vec<Address> = (0..CUSTOMERS)
        .map(|i| key(i, "customer").address())
        .collect();
    for day in 0..DAYS {
        let mut txs = Vec::new();
        for (c, customer) in customers.iter().enumerate() {
            let c = c as u64;
            if !(c + day).is_multiple_of(6) {
                continue;
            }
            let shop = &shops[((c / 7 + day) % 2) as usize];
            let pence = 300 + (c * 37 + day * 11) % 4_000;
            txs.push(chain.sign(
                shop,
                TxBody::Earn {
                    customer: *customer,
                    points: Points(pence / 100),
                    purchase: Some(Cents(pence)),
                    receipt: ReceiptHash::new(&shop.address(), &format!("{day}-{c}")),
                    reason: Memo::new("sale").expect("memo"),
                },
            ));
        }
        chain
            .block(Timestamp(T0 + day * DAY_MS + 10 * 3_600_000), txs)
            .expect("block");
    }
    chain
}

fn benches(c: &mut Criterion) {
    let chain = chain();
    let history = chain.sink().history.clone();
    let state = chain.state().clone();
    let (before_history, before, applied) = chain.sink().last.clone().expect("a block");
    let txs = applied.block.txs().len();
    c.bench_function(&format!("history::apply/txs={txs}"), |b| {
        b.iter_batched(
            || before_history.clone(),
            |mut h| {
                h.apply(&before, &applied).expect("in order");
                h
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("history::customers/scope=group", |b| {
        b.iter(|| black_box(history.customers(Scope::Group)))
    });
    let customers = history.customers(Scope::Group);
    let last = Day((T0 + (DAYS - 1) * DAY_MS) / DAY_MS);
    c.bench_function(
        &format!("rfm::score_customers/customers={}", customers.len()),
        |b| b.iter(|| black_box(rfm::score_customers(&customers, last))),
    );
    let period = Period::new(Day(last.0 - 29), last).expect("period");
    c.bench_function("kpi::kpis/scope=group,days=30", |b| {
        b.iter(|| black_box(kpi::kpis(&history, &state, Scope::Group, period, None)))
    });
}

criterion_group! {
    name = insights;
    config = Criterion::default().sample_size(20);
    targets = benches
}
criterion_main!(insights);
