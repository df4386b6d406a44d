//! Table tests of the triggers over a small real ledger: a genesis, an
//! earn rule, sales on chosen days.

use super::*;
use crate::automation::history::ShopHistory;
use guild_api::automation::NewAutomation;
use guild_ledger::block::BlockHeader;
use guild_ledger::crypto::Keypair;
use guild_ledger::genesis::{Genesis, GenesisMember, GenesisProgramme};
use guild_ledger::params::Params;
use guild_ledger::programme::{Basket, EarnRuleSpec, Tier, TierTable};
use guild_ledger::state::BlockBuilder;
use guild_ledger::types::{ChainId, Permille, ReceiptHash, ShopName, TierName};

/// 2026-01-01 00:00 UTC, as a day number.
const DAY0: u64 = 20_454;

fn at(day: u64, hour: u64) -> u64 {
    day * MS_PER_DAY + hour * 3_600_000
}

struct Chain {
    state: State,
    head: BlockHeader,
    shop: Keypair,
    chain_id: ChainId,
    nonce: u64,
    receipts: u64,
}

fn silver_gold() -> TierTable {
    TierTable {
        window_days: 365,
        tiers: vec![
            Tier {
                name: TierName::new("silver").unwrap(),
                threshold: Points(100),
                multiplier: Permille(1000),
            },
            Tier {
                name: TierName::new("gold").unwrap(),
                threshold: Points(300),
                multiplier: Permille(1000),
            },
        ],
    }
}

impl Chain {
    /// One shop (1 point per £1, birthday reward 50), tiers silver 100 and
    /// gold 300; the earn rule is in force from day 0.
    fn new() -> Chain {
        let shop = Keypair::from_secret(&[1; 32]);
        let genesis = Genesis {
            chain_id: ChainId::new("trigger-tests").unwrap(),
            time: Timestamp(at(DAY0 - 1, 0)),
            members: vec![GenesisMember {
                name: ShopName::new("Bakery").unwrap(),
                address: shop.address(),
            }],
            params: Params::default(),
            programme: GenesisProgramme {
                tiers: silver_gold(),
                ..GenesisProgramme::default()
            },
        };
        let (state, head) = genesis.build().unwrap();
        let mut chain = Chain {
            state,
            head,
            shop,
            chain_id: genesis.chain_id,
            nonce: 0,
            receipts: 0,
        };
        chain.block(
            at(DAY0 - 1, 1),
            vec![TxBody::SetEarnRule {
                rule: EarnRuleSpec {
                    points: 1,
                    per: Cents(100),
                    min_spend: Cents(0),
                    multipliers: vec![],
                    excluded: vec![],
                    cap: None,
                    birthday: Points(50),
                },
                effective: None,
            }],
        );
        chain
    }

    fn block(&mut self, time: u64, bodies: Vec<TxBody>) -> Vec<(TxId, Transaction)> {
        let mut builder = BlockBuilder::new(
            &self.state,
            &self.head,
            Timestamp(time),
            self.shop.address(),
        )
        .unwrap();
        let mut txs = Vec::new();
        for body in bodies {
            let tx = Transaction {
                author: self.shop.address(),
                nonce: guild_ledger::types::Nonce(self.nonce),
                body,
            };
            self.nonce += 1;
            let verified = tx
                .clone()
                .sign(&self.shop, &self.chain_id)
                .verify(&self.chain_id)
                .unwrap();
            txs.push((verified.id(), tx));
            builder.push(verified).unwrap();
        }
        let applied = builder.finish();
        self.head = applied.block.header().clone();
        self.state = applied.state;
        txs
    }

    /// A sale of `pounds` to `customer` at `time`.
    fn sale(&mut self, time: u64, customer: Address, pounds: u64) -> (TxId, Transaction) {
        self.receipts += 1;
        let basket = Basket::new(Cents(pounds * 100), vec![]);
        let height = Height(self.state.chain().height.0 + 1);
        let breakdown = self
            .state
            .sale_breakdown(
                &self.shop.address(),
                &customer,
                &basket,
                height,
                Timestamp(time),
            )
            .unwrap();
        let body = TxBody::Sale {
            customer,
            receipt: ReceiptHash::new(&self.shop.address(), &format!("R-{}", self.receipts)),
            basket,
            claim: breakdown.claim(),
        };
        self.block(time, vec![body]).remove(0)
    }

    fn me(&self) -> Address {
        self.shop.address()
    }
}

fn customer(n: u8) -> Address {
    Keypair::from_secret(&[100 + n; 32]).address()
}

fn automation(trigger: &str, enabled_ms: u64, enabled_height: u64) -> Automation {
    let mut a = Automation::new(
        NewAutomation {
            name: "test".into(),
            trigger: trigger.parse().unwrap(),
            condition: Condition::default(),
            action: "todo:Call {name}".parse().unwrap(),
            holdout_permille: 0,
            enabled: true,
        },
        enabled_ms,
        Height(enabled_height),
    );
    a.enabled_ms = enabled_ms;
    a
}

/// The causes `trigger` fires for `who` on day `today` (noon).
fn causes(
    chain: &Chain,
    trigger: &str,
    enabled_day: u64,
    today: u64,
    who: Customer<'_>,
) -> Vec<String> {
    let a = automation(trigger, at(enabled_day, 0), 0);
    let ctx = Context::new(&chain.state, chain.me(), Timestamp(at(today, 12)));
    customer_occurrences(&a, &ctx, &who)
        .into_iter()
        .map(|o| o.cause)
        .collect()
}

fn plain(address: Address, history: Option<&CustomerHistory>) -> Customer<'_> {
    Customer {
        address,
        history,
        segment: None,
        p_active: None,
        birthday: None,
    }
}

#[test]
fn event_ids_are_stable_hashes_of_automation_and_cause() {
    let id = event_id("birthday-treat", "birthday/guild1abc/2026");
    assert_eq!(id, event_id("birthday-treat", "birthday/guild1abc/2026"));
    assert!(id.starts_with("evt_") && id.len() == 36, "{id}");
    assert_ne!(id, event_id("birthday-treat", "birthday/guild1abc/2027"));
    assert_ne!(id, event_id("birthday-gift", "birthday/guild1abc/2026"));
    // Pinned: a change of the definition would fire every event again.
    assert_eq!(
        event_id("earned", "earned/00"),
        format!(
            "evt_{}",
            hex::encode(
                &tagged_hash("guild/automation-event/v1", &[b"earned", b"earned/00"]).0[..16]
            )
        )
    );
}

#[test]
fn calendar_dates_and_birthdays() {
    assert_eq!(date_text(0), "1970-01-01");
    assert_eq!(date_text(DAY0), "2026-01-01");
    assert_eq!(civil(DAY0 + 58), (2026, 2, 28));
    assert_eq!(civil(DAY0 + 59), (2026, 3, 1));
    // 2028 is a leap year.
    let feb29_2028 = DAY0 + 365 + 365 + 31 + 28;
    assert_eq!(civil(feb29_2028), (2028, 2, 29));
    let leap = Birthday { month: 2, day: 29 };
    assert!(is_birthday(leap, feb29_2028));
    assert!(!is_birthday(leap, feb29_2028 - 1));
    assert!(is_birthday(leap, DAY0 + 58), "kept on 28 February in 2026");
    let march = Birthday { month: 3, day: 14 };
    assert!(is_birthday(march, DAY0 + 31 + 28 + 13));
    assert!(!is_birthday(march, DAY0 + 31 + 28 + 14));
}

#[test]
fn crossing_days_follow_the_window() {
    use guild_ledger::programme::tier::DayPoints;
    let record = |days: &[(u64, u64)]| CustomerRecord {
        earned: days
            .iter()
            .map(|(day, points)| DayPoints {
                day: *day,
                points: Points(*points),
            })
            .collect(),
        ..CustomerRecord::default()
    };
    let r = record(&[(10, 60), (20, 50), (30, 40)]);
    // 60 on day 10, 110 on day 20, 150 on day 30 (window 365).
    assert_eq!(crossing_day(&r, 365, Points(100), 40), Some(20));
    assert_eq!(crossing_day(&r, 365, Points(50), 40), Some(10));
    assert_eq!(crossing_day(&r, 365, Points(150), 40), Some(30));
    assert_eq!(crossing_day(&r, 365, Points(151), 40), None);
    assert_eq!(
        crossing_day(&r, 365, Points(100), 15),
        None,
        "not reached by day 15"
    );
    // A 15-day window: day 10's points leave after day 24, so on day 30
    // only 40 are in it; with 100 more on day 32 the customer crosses 100
    // again on day 32.
    assert_eq!(crossing_day(&r, 15, Points(100), 30), None);
    let r = record(&[(10, 60), (20, 50), (30, 40), (32, 70)]);
    assert_eq!(crossing_day(&r, 15, Points(100), 32), Some(32));
    assert_eq!(crossing_day(&r, 15, Points(100), 21), Some(20));
}

#[test]
fn points_earned_fires_per_transaction_of_this_shop_from_the_least_points() {
    let mut chain = Chain::new();
    let lee = customer(1);
    let height = chain.state.chain().height;
    let (id, tx) = chain.sale(at(DAY0, 9), lee, 12);
    let small = chain.sale(at(DAY0, 10), lee, 3);
    let other_shop = Transaction {
        author: customer(9),
        ..tx.clone()
    };
    let txs = vec![(id, &tx), (small.0, &small.1), (id, &other_shop)];
    let a = automation("points-earned:10", 0, height.0);
    let fired = block_occurrences(&a, chain.me(), Height(height.0 + 1), Timestamp(1), &txs);
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].cause, format!("earned/{id}"));
    assert_eq!(fired[0].customer, lee);
    assert_eq!(fired[0].figures.points, Some(Points(12)));
    assert!(
        fired[0].summary.contains("gave 12 points"),
        "{}",
        fired[0].summary
    );
    // Blocks before the automation was enabled give nothing.
    let later = automation("points-earned:10", 0, height.0 + 5);
    assert!(
        block_occurrences(&later, chain.me(), Height(height.0 + 1), Timestamp(1), &txs).is_empty()
    );
}

#[test]
fn days_since_last_purchase_fires_once_it_is_crossed_after_enabling() {
    let mut chain = Chain::new();
    let lee = customer(1);
    chain.sale(at(DAY0, 9), lee, 20);
    chain.sale(at(DAY0 + 10, 9), lee, 20);
    let history = ShopHistory::build(&chain.state, Some(chain.me()));
    let who = plain(lee, history.customer(&lee));
    let last = DAY0 + 10;
    let cause = vec![format!("lapsed/{lee}/{last}")];
    assert!(causes(&chain, "days-since-last-purchase:42", DAY0, last + 41, who).is_empty());
    assert_eq!(
        causes(&chain, "days-since-last-purchase:42", DAY0, last + 42, who),
        cause
    );
    assert_eq!(
        causes(&chain, "days-since-last-purchase:42", DAY0, last + 60, who),
        cause,
        "a node off on the day catches up"
    );
    assert!(
        causes(
            &chain,
            "days-since-last-purchase:42",
            DAY0,
            last + 42 + 31,
            who
        )
        .is_empty(),
        "beyond the look-back"
    );
    assert!(
        causes(
            &chain,
            "days-since-last-purchase:42",
            last + 50,
            last + 55,
            who
        )
        .is_empty(),
        "lapsed before it was enabled"
    );
    let figures = common_figures(
        &Context::new(&chain.state, chain.me(), Timestamp(at(last + 42, 12))),
        &who,
    );
    assert_eq!(figures.days_since_last_purchase, Some(42));
    assert_eq!(figures.last_purchase.as_deref(), Some("2026-01-11"));
    assert_eq!(figures.spent, Some(Cents(4000)));
    assert_eq!(figures.purchases, Some(2));
}

#[test]
fn first_purchase_fires_for_purchases_after_enabling() {
    let mut chain = Chain::new();
    let lee = customer(1);
    let before = chain.state.chain().height.0;
    chain.sale(at(DAY0, 9), lee, 20);
    chain.sale(at(DAY0 + 1, 9), lee, 20);
    let history = ShopHistory::build(&chain.state, Some(chain.me()));
    let who = plain(lee, history.customer(&lee));
    let ctx = Context::new(&chain.state, chain.me(), Timestamp(at(DAY0 + 2, 12)));
    let fired = customer_occurrences(&automation("first-purchase", 0, before), &ctx, &who);
    assert_eq!(fired.len(), 1);
    assert_eq!(fired[0].cause, format!("first/{lee}"));
    assert!(
        fired[0].summary.contains("2026-01-01"),
        "{}",
        fired[0].summary
    );
    assert!(
        customer_occurrences(&automation("first-purchase", 0, before + 1), &ctx, &who).is_empty()
    );
    let nobody = plain(customer(2), None);
    assert!(customer_occurrences(&automation("first-purchase", 0, 0), &ctx, &nobody).is_empty());
}

#[test]
fn tiers_reached_and_close_to_the_next_one() {
    let mut chain = Chain::new();
    let lee = customer(1);
    chain.sale(at(DAY0, 9), lee, 60);
    assert!(causes(&chain, "tier-reached", DAY0, DAY0, plain(lee, None)).is_empty());
    chain.sale(at(DAY0 + 3, 9), lee, 60);
    // 120 points: silver since day 3.
    let silver = vec![format!("tier/{lee}/silver/{}", DAY0 + 3)];
    assert_eq!(
        causes(&chain, "tier-reached", DAY0, DAY0 + 4, plain(lee, None)),
        silver
    );
    assert_eq!(
        causes(
            &chain,
            "tier-reached:silver",
            DAY0,
            DAY0 + 4,
            plain(lee, None)
        ),
        silver
    );
    assert!(
        causes(
            &chain,
            "tier-reached:gold",
            DAY0,
            DAY0 + 4,
            plain(lee, None)
        )
        .is_empty()
    );
    assert!(
        causes(&chain, "tier-reached", DAY0 + 4, DAY0 + 5, plain(lee, None)).is_empty(),
        "reached before enabling"
    );
    // Gold at 300: 180 more on day 5 skips nothing: gold also counts as
    // silver reached (on day 3).
    chain.sale(at(DAY0 + 5, 9), lee, 180);
    assert_eq!(
        causes(&chain, "tier-reached", DAY0, DAY0 + 6, plain(lee, None)),
        vec![format!("tier/{lee}/gold/{}", DAY0 + 5)]
    );
    assert_eq!(
        causes(
            &chain,
            "tier-reached:silver",
            DAY0,
            DAY0 + 6,
            plain(lee, None)
        ),
        silver
    );
    // Close to the next tier: 250 of 300 is within 60 (since day 5? no:
    // 120 < 240 until day 5, then 300 is reached at once).
    let ann = customer(2);
    chain.sale(at(DAY0 + 6, 9), ann, 250);
    let close = causes(
        &chain,
        "close-to-next-tier:60",
        DAY0,
        DAY0 + 7,
        plain(ann, None),
    );
    assert_eq!(close, vec![format!("close/{ann}/gold/{}", DAY0 + 6)]);
    assert!(
        causes(
            &chain,
            "close-to-next-tier:40",
            DAY0,
            DAY0 + 7,
            plain(ann, None)
        )
        .is_empty()
    );
    assert!(
        causes(
            &chain,
            "close-to-next-tier:60",
            DAY0,
            DAY0 + 7,
            plain(lee, None)
        )
        .is_empty(),
        "gold has no next tier"
    );
}

#[test]
fn points_expiring_fire_once_per_lot_of_this_shop() {
    let mut chain = Chain::new();
    let lee = customer(1);
    chain.sale(at(DAY0, 9), lee, 20);
    let lot = chain.state.account(&lee).unwrap().lots[0];
    let expiry_day = lot.expires_at.0 / MS_PER_DAY;
    let fired = |today: u64| {
        let a = automation("points-expiring:30", at(DAY0, 0), 0);
        let ctx = Context::new(&chain.state, chain.me(), Timestamp(at(today, 12)));
        customer_occurrences(&a, &ctx, &plain(lee, None))
    };
    assert!(fired(expiry_day - 31).is_empty());
    let soon = fired(expiry_day - 29);
    assert_eq!(soon.len(), 1);
    assert_eq!(soon[0].cause, format!("expiry/{lee}/{}", lot.expires_at.0));
    assert_eq!(soon[0].figures.points, Some(Points(20)));
    assert_eq!(soon[0].figures.expires_at_ms, Some(lot.expires_at.0));
    assert!(fired(expiry_day + 1).is_empty(), "expired lots are gone");
}

#[test]
fn at_risk_needs_the_segment_or_a_low_probability() {
    let mut chain = Chain::new();
    let lee = customer(1);
    chain.sale(at(DAY0, 9), lee, 20);
    let history = ShopHistory::build(&chain.state, Some(chain.me()));
    let mut who = plain(lee, history.customer(&lee));
    let today = DAY0 + 60;
    assert!(
        causes(&chain, "at-risk", DAY0, today, who).is_empty(),
        "no segment known"
    );
    who.segment = Some(Segment::Loyal);
    assert!(causes(&chain, "at-risk", DAY0, today, who).is_empty());
    who.segment = Some(Segment::AtRisk);
    let cause = vec![format!("at_risk/{lee}/{DAY0}")];
    assert_eq!(causes(&chain, "at-risk", DAY0, today, who), cause);
    who.p_active = Some(0.25);
    assert_eq!(causes(&chain, "at-risk:0.3", DAY0, today, who), cause);
    assert!(causes(&chain, "at-risk:0.2", DAY0, today, who).is_empty());
    assert!(
        causes(&chain, "at-risk", DAY0, DAY0 + 400, who).is_empty(),
        "a year after the last purchase"
    );
}

#[test]
fn birthdays_fire_on_the_day_or_a_few_days_late_once_a_year() {
    let chain = Chain::new();
    let lee = customer(1);
    let mut who = plain(lee, None);
    let day = DAY0 + 31 + 28 + 13; // 2026-03-14
    assert!(
        causes(&chain, "birthday", DAY0, day, who).is_empty(),
        "no birthday known"
    );
    who.birthday = Some(Birthday { month: 3, day: 14 });
    let cause = vec![format!("birthday/{lee}/2026")];
    assert!(causes(&chain, "birthday", DAY0, day - 1, who).is_empty());
    assert_eq!(causes(&chain, "birthday", DAY0, day, who), cause);
    assert_eq!(causes(&chain, "birthday", DAY0, day + 3, who), cause);
    assert!(causes(&chain, "birthday", DAY0, day + 4, who).is_empty());
    assert!(
        causes(&chain, "birthday", day + 1, day + 2, who).is_empty(),
        "enabled after it"
    );
    assert_eq!(
        causes(&chain, "birthday", DAY0, day + 365, who),
        vec![format!("birthday/{lee}/2027")]
    );
}

#[test]
fn a_started_campaign_fires_per_customer_when_it_began_after_enabling() {
    use guild_ledger::programme::{CampaignSpec, Reward, Share};
    use guild_ledger::types::CampaignName;
    let mut chain = Chain::new();
    let start = at(DAY0 + 1, 0);
    let spec = CampaignSpec {
        name: CampaignName::new("Spring bonus").unwrap(),
        funders: vec![Share {
            shop: chain.me(),
            percent: 100,
        }],
        reward: Reward::Bonus { points: Points(10) },
        start: Timestamp(start),
        end: Timestamp(at(DAY0 + 30, 0)),
        days: 0,
        hours: None,
        categories: vec![],
        tiers: vec![],
        first_purchase: false,
        min_spend: Cents(0),
        budget: Points(1000),
        per_customer: None,
        holdout: Permille(0),
    };
    chain.block(
        at(DAY0, 9),
        vec![TxBody::PublishCampaign { campaign: spec }],
    );
    let a = automation("campaign-started", at(DAY0, 0), 0);
    let ctx = |day| Context::new(&chain.state, chain.me(), Timestamp(at(day, 12)));
    assert!(
        started_campaigns(&a, &ctx(DAY0)).is_empty(),
        "not started yet"
    );
    let started = started_campaigns(&a, &ctx(DAY0 + 2));
    assert_eq!(started.len(), 1);
    let lee = customer(1);
    let o = campaign_occurrence(&ctx(DAY0 + 2), lee, &started[0]);
    assert_eq!(o.cause, format!("campaign/{}/{lee}", started[0].0));
    assert!(o.summary.contains("Spring bonus"), "{}", o.summary);
    let late = automation("campaign-started", at(DAY0 + 1, 1), 0);
    assert!(
        started_campaigns(&late, &ctx(DAY0 + 2)).is_empty(),
        "began before enabling"
    );
    assert!(started_campaigns(&a, &ctx(DAY0 + 35)).is_empty(), "over");
}

#[test]
fn conditions_say_what_held_and_what_did_not() {
    let mut chain = Chain::new();
    let lee = customer(1);
    chain.sale(at(DAY0, 9), lee, 150);
    let ctx = Context::new(&chain.state, chain.me(), Timestamp(at(DAY0, 12)));
    let mut who = plain(lee, None);
    let condition = |text: &str| -> Condition { serde_json::from_str(text).unwrap() };
    assert_eq!(
        check_condition(&Condition::default(), &ctx, &who),
        Ok(vec![])
    );
    let champions = condition(r#"{"segments":["champions","loyal"]}"#);
    assert_eq!(
        check_condition(&champions, &ctx, &who),
        Err("the customer's segment is not known".into())
    );
    who.segment = Some(Segment::Loyal);
    assert_eq!(
        check_condition(&champions, &ctx, &who),
        Ok(vec!["segment Loyal is one of champions, loyal".into()])
    );
    who.segment = Some(Segment::Hibernating);
    assert!(
        check_condition(&champions, &ctx, &who)
            .unwrap_err()
            .contains("Hibernating is not one of")
    );
    let tiers = condition(r#"{"tiers":["gold"],"min_balance":100}"#);
    assert_eq!(
        check_condition(&tiers, &ctx, &who),
        Err("tier silver is not one of gold".into())
    );
    let rich = condition(r#"{"tiers":["silver"],"min_balance":100}"#);
    assert_eq!(
        check_condition(&rich, &ctx, &who),
        Ok(vec![
            "tier silver is one of silver".into(),
            "holds 150 points, at least 100".into()
        ])
    );
    let richer = condition(r#"{"min_balance":151}"#);
    assert_eq!(
        check_condition(&richer, &ctx, &who),
        Err("holds 150 points, fewer than 151".into())
    );
}
