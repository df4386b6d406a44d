//! Deterministic simulation of the consensus state machine.
//!
//! `n` nodes (n in {1, 3, 4, 7}) each run one `Consensus` machine per height,
//! over several consecutive heights, the way the real node does. They talk
//! through a simulated network driven by a seeded PRNG (splitmix64), in
//! simulated milliseconds:
//!
//! - before GST (global stabilisation time) messages are dropped (25 %) and
//!   delayed up to 3 s; after GST none is dropped and each arrives within
//!   `DELTA_MS`; at any time 5 % are duplicated; random delays reorder them;
//! - before GST, for 1 to 5 s at a time, a random honest node is often cut
//!   off from everyone (a shop's line is down);
//! - honest nodes crash and restart before GST. A restarted node keeps what
//!   a real node keeps on disk: its chain (decided blocks and certificates)
//!   and its signing record (the node's `FileSigner` policy: refuse any vote
//!   not strictly after the last one signed), which gives back the lock
//!   (`with_lock`) and its own votes of the height (`with_own_vote`). It
//!   loses its machine, everything it received, buffers and timers;
//! - up to f members are Byzantine: they send different votes and proposals
//!   to different peers or withhold them from some (all properly signed by
//!   their own key), propose invalid blocks, vote in rounds ahead, forge
//!   votes of honest members (bad signatures, dropped by the receiver's
//!   check), prevote and precommit every proposal at once to a few peers
//!   only ("splitters"), or stay silent;
//! - honest nodes relay proposals and some votes the first time they see
//!   them (gossip), re-broadcast their own votes, their proposal and their
//!   proof of lock every second, and, once stuck at a height for 30 s,
//!   announce it so that peers ahead answer with the decided block and its
//!   certificate (catch-up, as the node's sync does).
//!
//! Blocks are real `BlockHeader`s (so that certificates can be checked with
//! `CommitCertificate::verify` and real ed25519 keys); a block is valid at
//! height `h` iff its header has height `h`, the parent the deciding node
//! has, and an even first byte of `state_root`.
//!
//! Checked for every seed: agreement, validity, termination after GST within
//! `TERMINATION_BOUND_MS`, certificates verify, no honest member signs two
//! different votes for one (height, round, kind), equivocation reports only
//! name Byzantine members; and determinism (same seed twice, same trace).
//!
//! Two scenarios: `mixed` (everything above, n in {1, 3, 4, 7}) and
//! `lock_attack` (n = 4, one splitter, a long asynchronous period with
//! partitions, no crashes): 1400 seeds in all, a few seconds. Mutation
//! check (the machine deliberately broken, default seed counts): ignoring
//! the lock at line 23 or not taking it at line 38 breaks agreement in about
//! 1 `lock_attack` run in 45; ignoring `lockedRound <= vr` at line 29 in
//! about 1 in 600 (that one needs a rarer schedule); a quorum one too small,
//! or counting a member's votes more than once, fails nearly every run.
//!
//! `SIM_SEEDS=n` runs n seeds per test; `SIM_SEED=s` runs only seed s;
//! `SIM_TRACE=1` prints every machine output. A failure lists its seeds.

use guild_ledger::block::{BlockHeader, CommitCertificate, Vote, VoteKind};
use guild_ledger::crypto::{Address, Keypair, Signature};
use guild_ledger::hash::Hash;
use guild_ledger::types::{ChainId, Height, Timestamp};
use guild_node::consensus::{Config, Consensus, Input, Output, SignedVote, Step, VoteSigner};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet};
use std::fmt::Write as _;
use std::rc::Rc;

/// Heights every honest node must decide.
const HEIGHTS: u64 = 3;
/// Latest GST, in ms.
const MAX_GST_MS: u64 = 30_000;
/// Message delay bound after GST.
const DELTA_MS: u64 = 200;
/// Message delay bound before GST.
const PRE_GST_DELAY_MS: u64 = 3_000;
/// Drop rate before GST, percent.
const PRE_GST_DROP: u64 = 25;
/// Duplication rate, percent.
const DUPLICATE: u64 = 5;
/// Re-broadcast period.
const TICK_MS: u64 = 1_000;
/// A node asks peers for the decided block only after this long at one
/// height. (Eager catch-up would hide consensus bugs: a member that decided
/// would hand its decision to the others before a conflicting round could
/// complete, so a broken lock rule would go unnoticed.)
const CATCH_UP_AFTER_MS: u64 = 30_000;
/// Every honest node decides all `HEIGHTS` within this time after GST.
const TERMINATION_BOUND_MS: u64 = 240_000;
/// A run processing more events than this has run away.
const MAX_EVENTS: u64 = 2_000_000;
/// Next-height messages a node buffers.
const MAX_BUFFERED: usize = 4_096;
/// Parent of height 1.
const GENESIS: Hash = Hash([0xAB; 32]);

// ---------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 if n = 0).
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn hash(&mut self) -> Hash {
        let mut bytes = [0u8; 32];
        for chunk in bytes.chunks_mut(8) {
            chunk.copy_from_slice(&self.next_u64().to_le_bytes());
        }
        Hash(bytes)
    }
}

/// FNV-1a, for the determinism trace.
struct Fnv(u64);

impl Fnv {
    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.0 ^= u64::from(*byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01B3);
        }
    }
}

// ---------------------------------------------------------------------------
// Nodes
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Behaviour {
    Honest,
    /// Byzantine: different votes and proposals to different peers, invalid
    /// blocks, votes ahead, forged votes.
    Equivocating,
    /// Byzantine: never sends anything.
    Silent,
    /// Byzantine: like `Equivocating`, and on every proposal it sees it
    /// prevotes and precommits that block at once, to a few of its peers:
    /// the way to make some members decide while the others move on,
    /// where only locks keep the next rounds from deciding something else.
    Splitter,
}

/// A node's signing record: what survives a crash, like the node's file.
/// Same policy as the node's `FileSigner`: refuse any vote that is not
/// strictly after the last one signed (by height, round, then prevote before
/// precommit), except that very vote again. It keeps every vote signed at
/// the height of the last one, so a restarted node can hand them back to its
/// machine (`with_own_vote`), and the lock (`with_lock`).
#[derive(Default)]
struct Record {
    last: Option<Vote>,
    votes: Vec<SignedVote>,
    lock: Option<(u32, Hash)>,
    refused: u64,
}

fn order(vote: &Vote) -> (Height, u32, u8) {
    let step = match vote.kind {
        VoteKind::Prevote => 0,
        VoteKind::Precommit => 1,
    };
    (vote.height, vote.round, step)
}

impl Record {
    fn at(&self, height: u64) -> bool {
        self.last.is_some_and(|last| last.height == Height(height))
    }
}

struct SimSigner {
    key: Keypair,
    chain_id: ChainId,
    record: Rc<RefCell<Record>>,
    /// A Byzantine member's signer signs anything.
    byzantine: bool,
}

impl VoteSigner for SimSigner {
    fn sign_vote(&mut self, vote: &Vote) -> Option<Signature> {
        if self.byzantine {
            return Some(vote.sign(&self.key, &self.chain_id));
        }
        let mut record = self.record.borrow_mut();
        if let Some(last) = record.last {
            if last == *vote {
                return record
                    .votes
                    .iter()
                    .find(|v| v.vote == *vote)
                    .map(|v| v.signature);
            }
            if order(vote) <= order(&last) {
                record.refused += 1;
                return None;
            }
            if last.height != vote.height {
                record.votes.clear();
                record.lock = None;
            }
        }
        let signature = vote.sign(&self.key, &self.chain_id);
        if let (VoteKind::Precommit, Some(block)) = (vote.kind, vote.block) {
            record.lock = Some((vote.round, block));
        }
        record.last = Some(*vote);
        record.votes.push(SignedVote {
            vote: *vote,
            voter: self.key.address(),
            signature,
        });
        Some(signature)
    }
}

/// A decided height, as stored by a node.
#[derive(Clone, Debug)]
struct Decision {
    block: Hash,
    certificate: CommitCertificate,
    via_sync: bool,
    time: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum SeenKey {
    Proposal(u64, u32, Hash, Option<u32>),
    Vote(Vote, Address),
}

struct Node {
    key: Keypair,
    address: Address,
    behaviour: Behaviour,
    up: bool,
    incarnation: u32,
    /// Durable: decided blocks, height 1 first.
    chain: Vec<Decision>,
    /// Durable: the signing record.
    record: Rc<RefCell<Record>>,
    /// Volatile from here on.
    machine: Option<Consensus<SimSigner>>,
    /// When the machine of the current height started.
    height_started: u64,
    seen: HashSet<SeenKey>,
    buffered: Vec<Msg>,
}

impl Node {
    fn height(&self) -> u64 {
        self.chain.len() as u64 + 1
    }

    fn honest(&self) -> bool {
        self.behaviour == Behaviour::Honest
    }
}

// ---------------------------------------------------------------------------
// Network
// ---------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Msg {
    Proposal {
        height: u64,
        round: u32,
        proposer: Address,
        block: Hash,
        valid_round: Option<u32>,
    },
    Vote(SignedVote),
    /// "I am at `height`": peers that decided it answer with `Commit`.
    Status {
        from: usize,
        height: u64,
    },
    Commit {
        height: u64,
        block: Hash,
        certificate: CommitCertificate,
    },
}

#[derive(Debug)]
enum Event {
    Deliver {
        to: usize,
        msg: Msg,
    },
    Timeout {
        node: usize,
        incarnation: u32,
        height: u64,
        step: Step,
        round: u32,
    },
    Built {
        node: usize,
        incarnation: u32,
        height: u64,
        round: u32,
    },
    Tick {
        node: usize,
    },
    Crash {
        node: usize,
    },
    Restart {
        node: usize,
    },
    /// Before GST: cut one honest node off (or none) until the next one.
    Partition,
}

struct Scheduled {
    time: u64,
    seq: u64,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.time, self.seq) == (other.time, other.seq)
    }
}

impl Eq for Scheduled {}

impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Scheduled {
    /// Reversed: `BinaryHeap` pops the earliest event, ties in send order.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.time, other.seq).cmp(&(self.time, self.seq))
    }
}

// ---------------------------------------------------------------------------
// The simulation
// ---------------------------------------------------------------------------

/// What a run throws at the machines; the seed decides the rest.
#[derive(Clone, Copy, Debug)]
struct Scenario {
    n: usize,
    /// GST is uniform in `min_gst..=max_gst` ms.
    min_gst: u64,
    max_gst: u64,
    /// Chance (percent) that an honest node crashes (1 or 2 times) before
    /// GST.
    crash_percent: u64,
    /// Exactly one Byzantine member (if f >= 1), a splitter. Otherwise 0 to
    /// f Byzantine members of random kinds (mostly f).
    splitter: bool,
    /// Before GST, every 1 to 5 s, cut a random honest node off (half of
    /// the time).
    partitions: bool,
}

impl Scenario {
    /// Everything at once: drops, delays, duplicates, crashes, Byzantine
    /// members of every kind.
    fn mixed(n: usize) -> Scenario {
        Scenario {
            n,
            min_gst: 0,
            max_gst: MAX_GST_MS,
            crash_percent: 40,
            splitter: false,
            partitions: true,
        }
    }

    /// A long asynchronous period with one splitter and no crashes: many
    /// rounds in which some members decide and others do not, so that only
    /// the locks keep later rounds from deciding something else.
    fn lock_attack(n: usize) -> Scenario {
        Scenario {
            n,
            min_gst: MAX_GST_MS,
            max_gst: 2 * MAX_GST_MS,
            crash_percent: 0,
            splitter: true,
            partitions: true,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Stats {
    events: u64,
    max_round: u32,
    equivocations: u64,
    syncs: u64,
    refused: u64,
    forged_rejected: u64,
    crashes: u64,
    byzantine: usize,
    gst: u64,
    finish_after_gst: u64,
}

#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    trace: u64,
    decisions: Vec<Vec<Hash>>,
    stats: Stats,
}

struct Sim {
    rng: Rng,
    now: u64,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    nodes: Vec<Node>,
    members: BTreeSet<Address>,
    chain_id: ChainId,
    config: Config,
    gst: u64,
    /// Every block ever built, by hash (the "block bytes" travel with
    /// proposals; here everyone can look them up).
    headers: HashMap<Hash, BlockHeader>,
    /// Blocks proposed per height, in order (never iterate a HashMap: the
    /// order would not be deterministic).
    proposed: BTreeMap<u64, Vec<Hash>>,
    /// Signature checks already done: (vote, voter, signature) -> valid.
    verified: HashMap<(Vote, Address, [u8; 64]), bool>,
    /// Every vote an honest node sent: (voter, height, round, kind) -> block.
    honest_votes: HashMap<(Address, u64, u32, VoteKind), Option<Hash>>,
    trace: Fnv,
    line: String,
    /// `SIM_TRACE=1`: print every output.
    print_trace: bool,
    /// The node cut off from everyone, before GST.
    isolated: Option<usize>,
    stats: Stats,
    violations: Vec<String>,
}

impl Sim {
    fn new(seed: u64, scenario: Scenario) -> Sim {
        let n = scenario.n;
        let mut rng = Rng::new(seed);
        let keys: Vec<Keypair> = (0..n)
            .map(|i| Keypair::from_secret(&[i as u8 + 1; 32]))
            .collect();
        let members: BTreeSet<Address> = keys.iter().map(Keypair::address).collect();
        let f = (n - 1) / 3;
        let byzantine = if scenario.splitter {
            f.min(1)
        } else if f == 0 {
            0
        } else if rng.chance(70) {
            f
        } else {
            rng.below(f as u64 + 1) as usize
        };
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut behaviours = vec![Behaviour::Honest; n];
        for &i in &order[..byzantine] {
            behaviours[i] = match rng.below(8) {
                _ if scenario.splitter => Behaviour::Splitter,
                0..=2 => Behaviour::Equivocating,
                3..=5 => Behaviour::Splitter,
                _ => Behaviour::Silent,
            };
        }
        let gst = scenario.min_gst + rng.below(scenario.max_gst - scenario.min_gst + 1);
        let nodes = keys
            .into_iter()
            .zip(behaviours)
            .map(|(key, behaviour)| Node {
                address: key.address(),
                key,
                behaviour,
                up: true,
                incarnation: 0,
                chain: Vec::new(),
                record: Rc::new(RefCell::new(Record::default())),
                machine: None,
                height_started: 0,
                seen: HashSet::new(),
                buffered: Vec::new(),
            })
            .collect();
        let mut sim = Sim {
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            nodes,
            members,
            chain_id: ChainId::new("sim-chain").unwrap(),
            config: Config::default(),
            gst,
            headers: HashMap::new(),
            proposed: BTreeMap::new(),
            verified: HashMap::new(),
            honest_votes: HashMap::new(),
            trace: Fnv(0xCBF2_9CE4_8422_2325),
            line: String::new(),
            print_trace: std::env::var_os("SIM_TRACE").is_some(),
            isolated: None,
            stats: Stats {
                byzantine,
                gst,
                ..Stats::default()
            },
            violations: Vec::new(),
        };
        // Crashes of honest nodes, all restarted by GST.
        for node in 0..n {
            if !sim.nodes[node].honest() || gst == 0 || !sim.rng.chance(scenario.crash_percent) {
                continue;
            }
            let mut t = sim.rng.below(gst);
            for _ in 0..1 + sim.rng.below(2) {
                if t >= gst {
                    break;
                }
                let restart = (t + 500 + sim.rng.below(7_500)).min(gst);
                sim.schedule(t, Event::Crash { node });
                sim.schedule(restart, Event::Restart { node });
                t = restart + 1 + sim.rng.below(3_000);
            }
        }
        for node in 0..n {
            let phase = sim.rng.below(TICK_MS);
            sim.schedule(phase, Event::Tick { node });
        }
        if n > 1 && scenario.partitions {
            sim.schedule(0, Event::Partition);
        }
        sim
    }

    fn schedule(&mut self, time: u64, event: Event) {
        self.seq += 1;
        self.queue.push(Scheduled {
            time,
            seq: self.seq,
            event,
        });
    }

    fn n(&self) -> usize {
        self.nodes.len()
    }

    fn violation(&mut self, text: String) {
        if self.violations.len() < 20 {
            self.violations.push(format!("t={}ms: {text}", self.now));
        }
    }

    // ---- network --------------------------------------------------------

    /// The delay of one message, or `None` if it is lost.
    fn delay(&mut self) -> Option<u64> {
        if self.now < self.gst {
            if self.rng.chance(PRE_GST_DROP) {
                return None;
            }
            Some(1 + self.rng.below(PRE_GST_DELAY_MS))
        } else {
            Some(5 + self.rng.below(DELTA_MS - 5))
        }
    }

    fn send(&mut self, from: usize, to: usize, msg: Msg) {
        if from == to {
            return;
        }
        if self.now < self.gst && self.isolated.is_some_and(|i| i == from || i == to) {
            return;
        }
        if self.rng.chance(DUPLICATE)
            && let Some(delay) = self.delay()
        {
            self.schedule(
                self.now + delay,
                Event::Deliver {
                    to,
                    msg: msg.clone(),
                },
            );
        }
        if let Some(delay) = self.delay() {
            self.schedule(self.now + delay, Event::Deliver { to, msg });
        }
    }

    fn broadcast(&mut self, from: usize, msg: &Msg) {
        for to in 0..self.n() {
            self.send(from, to, msg.clone());
        }
    }

    // ---- blocks ---------------------------------------------------------

    fn parent(&self, node: usize, height: u64) -> Hash {
        match height.checked_sub(2) {
            None => GENESIS,
            Some(index) => self.nodes[node]
                .chain
                .get(index as usize)
                .map_or(Hash::ZERO, |d| d.block),
        }
    }

    /// The shared validity rule, from `node`'s point of view.
    fn valid(&self, node: usize, height: u64, block: Hash) -> bool {
        self.headers.get(&block).is_some_and(|header| {
            header.height == Height(height)
                && header.prev_hash == self.parent(node, height)
                && header.state_root.0[0] % 2 == 0
        })
    }

    fn build(&mut self, node: usize, height: u64, valid: bool) -> Hash {
        let mut state_root = self.rng.hash();
        let mut prev_hash = self.parent(node, height);
        if valid {
            state_root.0[0] &= 0xFE;
        } else if self.rng.chance(50) {
            state_root.0[0] |= 1;
        } else {
            prev_hash = self.rng.hash();
        }
        let header = BlockHeader {
            height: Height(height),
            prev_hash,
            time: Timestamp(1_700_000_000_000 + self.now),
            proposer: self.nodes[node].address,
            tx_root: self.rng.hash(),
            state_root,
        };
        let hash = header.hash();
        self.headers.insert(hash, header);
        hash
    }

    fn note_proposed(&mut self, height: u64, block: Hash) {
        let list = self.proposed.entry(height).or_default();
        if !list.contains(&block) {
            list.push(block);
        }
    }

    // ---- machines -------------------------------------------------------

    fn input(&mut self, node: usize, input: Input) {
        let Some(machine) = self.nodes[node].machine.as_mut() else {
            return;
        };
        let outputs = machine.handle(input);
        let round = machine.round();
        self.stats.max_round = self.stats.max_round.max(round);
        self.apply(node, outputs);
    }

    /// Starts the machine for the node's next height and replays what it
    /// buffered for it.
    fn start_height(&mut self, node: usize) {
        let n = &self.nodes[node];
        let height = n.height();
        let signer = SimSigner {
            key: n.key.clone(),
            chain_id: self.chain_id.clone(),
            record: Rc::clone(&n.record),
            byzantine: !n.honest(),
        };
        let mut machine = Consensus::new(
            Height(height),
            self.members.clone(),
            Some(n.address),
            signer,
            self.config,
        );
        // What a restarted node reads back from its signing record.
        let record = n.record.borrow();
        if record.at(height) {
            if let Some((round, block)) = record.lock {
                machine = machine.with_lock(round, block);
            }
            for vote in &record.votes {
                machine = machine.with_own_vote(vote.clone());
            }
        }
        drop(record);
        let outputs = machine.start();
        let n = &mut self.nodes[node];
        n.machine = Some(machine);
        n.height_started = self.now;
        n.seen.clear();
        self.apply(node, outputs);
        let buffered = std::mem::take(&mut self.nodes[node].buffered);
        for msg in buffered {
            self.deliver(node, msg);
        }
    }

    fn apply(&mut self, node: usize, outputs: Vec<Output>) {
        let height = self.nodes[node].height();
        for output in outputs {
            self.line.clear();
            let _ = write!(self.line, "{} {node} {output:?}", self.now);
            self.trace.write(self.line.as_bytes());
            if self.print_trace {
                println!("{}", self.line);
            }
            match output {
                Output::BuildBlock { round } => {
                    let incarnation = self.nodes[node].incarnation;
                    let at = self.now + 1 + self.rng.below(50);
                    self.schedule(
                        at,
                        Event::Built {
                            node,
                            incarnation,
                            height,
                            round,
                        },
                    );
                }
                Output::Propose {
                    round,
                    block,
                    valid_round,
                } => self.on_propose(node, height, round, block, valid_round),
                Output::Broadcast(vote) => self.on_broadcast(node, vote),
                Output::ScheduleTimeout { step, round, after } => {
                    let incarnation = self.nodes[node].incarnation;
                    let after = u64::try_from(after.as_millis()).unwrap_or(u64::MAX / 2);
                    self.schedule(
                        self.now + after,
                        Event::Timeout {
                            node,
                            incarnation,
                            height,
                            step,
                            round,
                        },
                    );
                }
                Output::Decided { block, certificate } => {
                    self.on_decided(node, height, block, certificate, false);
                    // The machine of this height is done; anything after the
                    // decision belongs to it and is moot.
                    return;
                }
                Output::Equivocation { first, second } => {
                    if !self.nodes[node].honest() {
                        continue;
                    }
                    self.stats.equivocations += 1;
                    let voter = first.voter;
                    let guilty = self.nodes.iter().find(|n| n.address == voter);
                    if guilty.is_none_or(Node::honest) {
                        self.violation(format!("node {node} reported honest {voter} equivocating"));
                    }
                    if first.voter != second.voter
                        || first.vote.round != second.vote.round
                        || first.vote.kind != second.vote.kind
                        || first.vote == second.vote
                    {
                        self.violation(format!("bad evidence {first:?} / {second:?}"));
                    }
                }
            }
        }
    }

    fn on_propose(
        &mut self,
        node: usize,
        height: u64,
        round: u32,
        block: Hash,
        valid_round: Option<u32>,
    ) {
        let proposer = self.nodes[node].address;
        self.note_proposed(height, block);
        match self.nodes[node].behaviour {
            Behaviour::Honest => {
                let msg = Msg::Proposal {
                    height,
                    round,
                    proposer,
                    block,
                    valid_round,
                };
                self.broadcast(node, &msg);
            }
            Behaviour::Silent => {}
            Behaviour::Equivocating | Behaviour::Splitter => {
                for to in 0..self.n() {
                    if to == node {
                        continue;
                    }
                    let (block, valid_round) = match self.rng.below(5) {
                        0 | 1 => (block, valid_round),
                        2 => continue,
                        3 => (self.build(node, height, true), None),
                        _ => {
                            let vr = self
                                .rng
                                .chance(50)
                                .then(|| self.rng.below(u64::from(round) + 1) as u32);
                            (self.build(node, height, false), vr)
                        }
                    };
                    self.note_proposed(height, block);
                    let msg = Msg::Proposal {
                        height,
                        round,
                        proposer,
                        block,
                        valid_round,
                    };
                    self.send(node, to, msg);
                }
            }
        }
    }

    fn on_broadcast(&mut self, node: usize, vote: SignedVote) {
        match self.nodes[node].behaviour {
            Behaviour::Honest => {
                let slot = (
                    vote.voter,
                    vote.vote.height.0,
                    vote.vote.round,
                    vote.vote.kind,
                );
                match self.honest_votes.get(&slot) {
                    Some(block) if *block != vote.vote.block => {
                        self.violation(format!("honest node {node} signed two votes for {slot:?}"));
                    }
                    _ => {
                        self.honest_votes.insert(slot, vote.vote.block);
                    }
                }
                self.broadcast(node, &Msg::Vote(vote));
            }
            Behaviour::Silent => {}
            Behaviour::Equivocating | Behaviour::Splitter => self.byzantine_votes(node, vote),
        }
    }

    fn sign(&self, node: usize, vote: Vote) -> SignedVote {
        let key = &self.nodes[node].key;
        SignedVote {
            vote,
            voter: key.address(),
            signature: vote.sign(key, &self.chain_id),
        }
    }

    fn byzantine_votes(&mut self, node: usize, vote: SignedVote) {
        let height = vote.vote.height.0;
        for to in 0..self.n() {
            if to == node {
                continue;
            }
            let choice = self.rng.below(100);
            if choice < 25 {
                // Withheld from this peer.
                continue;
            }
            let sent = if choice < 70 {
                vote.clone()
            } else {
                let block = match self.rng.below(3) {
                    0 => None,
                    1 => {
                        let known = self.proposed.get(&height).cloned().unwrap_or_default();
                        if known.is_empty() {
                            Some(self.rng.hash())
                        } else {
                            Some(known[self.rng.below(known.len() as u64) as usize])
                        }
                    }
                    _ => Some(self.rng.hash()),
                };
                self.sign(node, Vote { block, ..vote.vote })
            };
            self.send(node, to, Msg::Vote(sent));
        }
        // Votes for rounds ahead: f of them never make anyone skip.
        if self.rng.chance(10) {
            let ahead = Vote {
                round: vote.vote.round + 1 + self.rng.below(3) as u32,
                kind: if self.rng.chance(50) {
                    VoteKind::Prevote
                } else {
                    VoteKind::Precommit
                },
                block: None,
                ..vote.vote
            };
            let sent = self.sign(node, ahead);
            self.broadcast(node, &Msg::Vote(sent));
        }
        // A forged vote in an honest member's name: its signature is bad.
        if self.rng.chance(5) {
            let victim = self.rng.below(self.n() as u64) as usize;
            let mut forged = self.sign(node, vote.vote);
            forged.voter = self.nodes[victim].address;
            if victim != node {
                let to = self.rng.below(self.n() as u64) as usize;
                self.send(node, to, Msg::Vote(forged));
            }
        }
    }

    /// A splitter's instant prevote and precommit for `block`, sent to a
    /// few peers only (1 to n - 2 of them), so that typically one member
    /// decides and the others do not.
    fn split(&mut self, node: usize, height: u64, round: u32, block: Hash) {
        let n = self.n() as u64;
        let mut targets: Vec<usize> = (0..self.n()).filter(|&to| to != node).collect();
        for i in (1..targets.len()).rev() {
            targets.swap(i, self.rng.below(i as u64 + 1) as usize);
        }
        targets.truncate(1 + self.rng.below(n.saturating_sub(2).max(1)) as usize);
        for kind in [VoteKind::Prevote, VoteKind::Precommit] {
            let vote = self.sign(
                node,
                Vote {
                    kind,
                    height: Height(height),
                    round,
                    block: Some(block),
                },
            );
            for &to in &targets {
                self.send(node, to, Msg::Vote(vote.clone()));
            }
        }
    }

    fn on_decided(
        &mut self,
        node: usize,
        height: u64,
        block: Hash,
        certificate: CommitCertificate,
        via_sync: bool,
    ) {
        if self.nodes[node].honest() {
            match self.headers.get(&block) {
                None => self.violation(format!("node {node} decided unknown block at {height}")),
                Some(header) => {
                    if let Err(e) = certificate.verify(&self.chain_id, header, &self.members) {
                        self.violation(format!(
                            "node {node} certificate at {height} does not verify: {e}"
                        ));
                    }
                }
            }
        }
        self.nodes[node].chain.push(Decision {
            block,
            certificate,
            via_sync,
            time: self.now,
        });
        if via_sync {
            self.stats.syncs += 1;
        }
        self.start_height(node);
    }

    // ---- events ---------------------------------------------------------

    fn verify_vote(&mut self, vote: &SignedVote) -> bool {
        let key = (vote.vote, vote.voter, vote.signature.0);
        if let Some(ok) = self.verified.get(&key) {
            return *ok;
        }
        let ok = vote.verify(&self.chain_id).is_ok();
        self.verified.insert(key, ok);
        ok
    }

    /// Honest nodes pass on what they see first (gossip): every proposal,
    /// and some votes.
    fn relay(&mut self, node: usize, key: SeenKey, msg: &Msg, percent: u64) {
        if !self.nodes[node].honest() || !self.nodes[node].seen.insert(key) {
            return;
        }
        if self.rng.chance(percent) {
            self.broadcast(node, msg);
        }
    }

    fn buffer(&mut self, node: usize, msg: Msg) {
        let buffered = &mut self.nodes[node].buffered;
        if buffered.len() < MAX_BUFFERED {
            buffered.push(msg);
        }
    }

    fn deliver(&mut self, node: usize, msg: Msg) {
        if !self.nodes[node].up {
            return;
        }
        let current = self.nodes[node].height();
        match msg {
            Msg::Proposal {
                height,
                round,
                proposer,
                block,
                valid_round,
            } => {
                if height == current + 1 {
                    self.buffer(node, msg);
                } else if height == current {
                    let key = SeenKey::Proposal(height, round, block, valid_round);
                    if self.nodes[node].behaviour == Behaviour::Splitter
                        && self.nodes[node].seen.insert(key.clone())
                    {
                        self.split(node, height, round, block);
                    }
                    self.relay(node, key, &msg, 100);
                    let valid = self.valid(node, height, block);
                    self.input(
                        node,
                        Input::Proposal {
                            round,
                            proposer,
                            block,
                            valid_round,
                            valid,
                        },
                    );
                }
            }
            Msg::Vote(ref vote) => {
                // The caller checks signatures before the machine sees a vote.
                if !self.verify_vote(vote) {
                    self.stats.forged_rejected += 1;
                    return;
                }
                let height = vote.vote.height.0;
                if height == current + 1 {
                    self.buffer(node, msg);
                } else if height == current {
                    let key = SeenKey::Vote(vote.vote, vote.voter);
                    self.relay(node, key, &msg, 25);
                    let Msg::Vote(vote) = msg else { return };
                    self.input(node, Input::Vote(vote));
                }
            }
            Msg::Status { from, height } => {
                if !self.nodes[node].honest() {
                    return;
                }
                if let Some(d) = height
                    .checked_sub(1)
                    .and_then(|i| self.nodes[node].chain.get(i as usize))
                {
                    let msg = Msg::Commit {
                        height,
                        block: d.block,
                        certificate: d.certificate.clone(),
                    };
                    self.send(node, from, msg);
                }
            }
            Msg::Commit {
                height,
                block,
                certificate,
            } => {
                if height != current {
                    return;
                }
                // Catch-up: accept a decided block with a valid certificate.
                let Some(header) = self.headers.get(&block) else {
                    return;
                };
                if certificate
                    .verify(&self.chain_id, header, &self.members)
                    .is_err()
                {
                    self.violation(format!("node {node} was sent a bad certificate"));
                    return;
                }
                self.nodes[node].machine = None;
                self.on_decided(node, height, block, certificate, true);
            }
        }
    }

    fn tick(&mut self, node: usize) {
        self.schedule(self.now + TICK_MS, Event::Tick { node });
        let n = &self.nodes[node];
        if !n.up || !n.honest() {
            return;
        }
        let height = n.height();
        let proposer = n.address;
        let mut msgs = Vec::new();
        if self.now.saturating_sub(n.height_started) >= CATCH_UP_AFTER_MS {
            msgs.push(Msg::Status { from: node, height });
        }
        if let Some(machine) = &n.machine {
            if let Some((round, block, valid_round)) = machine.own_proposal() {
                msgs.push(Msg::Proposal {
                    height,
                    round,
                    proposer,
                    block,
                    valid_round,
                });
            }
            msgs.extend(machine.own_votes().into_iter().map(Msg::Vote));
            msgs.extend(machine.proof_of_lock().into_iter().map(Msg::Vote));
        }
        for msg in msgs {
            self.broadcast(node, &msg);
        }
    }

    fn process(&mut self, event: Event) {
        match event {
            Event::Deliver { to, msg } => self.deliver(to, msg),
            Event::Timeout {
                node,
                incarnation,
                height,
                step,
                round,
            } => {
                let n = &self.nodes[node];
                if n.up && n.incarnation == incarnation && n.height() == height {
                    self.input(node, Input::Timeout { step, round });
                }
            }
            Event::Built {
                node,
                incarnation,
                height,
                round,
            } => {
                let n = &self.nodes[node];
                if n.up && n.incarnation == incarnation && n.height() == height {
                    let block = self.build(node, height, true);
                    self.input(node, Input::BlockBuilt { round, block });
                }
            }
            Event::Tick { node } => self.tick(node),
            Event::Crash { node } => {
                let n = &mut self.nodes[node];
                if n.up {
                    n.up = false;
                    n.incarnation += 1;
                    n.machine = None;
                    n.seen.clear();
                    n.buffered.clear();
                    self.stats.crashes += 1;
                }
            }
            Event::Partition => {
                self.isolated = None;
                if self.now < self.gst {
                    if self.rng.chance(50) {
                        let node = self.rng.below(self.n() as u64) as usize;
                        self.isolated = self.nodes[node].honest().then_some(node);
                    }
                    let next = self.now + 1_000 + self.rng.below(4_000);
                    self.schedule(next, Event::Partition);
                }
            }
            Event::Restart { node } => {
                if !self.nodes[node].up {
                    self.nodes[node].up = true;
                    self.start_height(node);
                }
            }
        }
    }

    fn done(&self) -> bool {
        self.nodes
            .iter()
            .all(|n| !n.honest() || n.chain.len() as u64 >= HEIGHTS)
    }

    fn run(mut self) -> Result<Outcome, String> {
        for node in 0..self.n() {
            self.start_height(node);
        }
        let deadline = self.gst + TERMINATION_BOUND_MS;
        while !self.done() {
            let Some(next) = self.queue.pop() else {
                break;
            };
            if next.time > deadline || self.stats.events >= MAX_EVENTS {
                break;
            }
            self.now = next.time;
            self.stats.events += 1;
            self.process(next.event);
        }
        self.check()
    }

    fn check(mut self) -> Result<Outcome, String> {
        let mut errors = std::mem::take(&mut self.violations);
        let honest: Vec<usize> = (0..self.n()).filter(|i| self.nodes[*i].honest()).collect();
        let mut decisions = Vec::new();
        let mut finish = 0;
        for &i in &honest {
            let node = &self.nodes[i];
            if (node.chain.len() as u64) < HEIGHTS {
                let (round, step) = node
                    .machine
                    .as_ref()
                    .map_or((0, Step::Propose), |m| (m.round(), m.step()));
                errors.push(format!(
                    "termination: node {i} decided only {} heights by t={}ms (GST {}ms; round {round}, step {step:?})",
                    node.chain.len(),
                    self.now,
                    self.gst
                ));
            }
        }
        for height in 1..=HEIGHTS {
            let index = (height - 1) as usize;
            let decided: Vec<(usize, &Decision)> = honest
                .iter()
                .filter_map(|&i| self.nodes[i].chain.get(index).map(|d| (i, d)))
                .collect();
            let Some((first_node, first)) = decided.first() else {
                continue;
            };
            for (i, d) in &decided {
                finish = finish.max(d.time);
                if d.block != first.block {
                    errors.push(format!(
                        "agreement: at height {height} node {first_node} decided {} but node {i} decided {}",
                        first.block, d.block
                    ));
                }
                if !self
                    .proposed
                    .get(&height)
                    .is_some_and(|list| list.contains(&d.block))
                {
                    errors.push(format!(
                        "validity: node {i} decided an unproposed block at {height}"
                    ));
                }
                if !self.valid(*i, height, d.block) {
                    errors.push(format!(
                        "validity: node {i} decided an invalid block at {height}"
                    ));
                }
            }
            decisions.push(decided.iter().map(|(_, d)| d.block).collect());
        }
        // At least one honest decision per height came from a machine, not
        // only from catch-up.
        for height in 1..=HEIGHTS {
            let index = (height - 1) as usize;
            let by_machine = honest
                .iter()
                .any(|&i| self.nodes[i].chain.get(index).is_some_and(|d| !d.via_sync));
            if !by_machine && honest.iter().all(|&i| self.nodes[i].chain.len() > index) {
                errors.push(format!("height {height} was only ever decided via sync"));
            }
        }
        self.stats.finish_after_gst = finish.saturating_sub(self.gst);
        self.stats.refused = self.nodes.iter().map(|n| n.record.borrow().refused).sum();
        if errors.is_empty() {
            Ok(Outcome {
                trace: self.trace.0,
                decisions,
                stats: self.stats,
            })
        } else {
            Err(errors.join("\n  "))
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `count` seeds (from `first`) of `scenario`; fails listing every
/// failing seed.
fn run_seeds(scenario: Scenario, first: u64, count: u64) {
    let seeds: Vec<u64> = match env_u64("SIM_SEED") {
        Some(seed) => vec![seed],
        None => {
            let count = env_u64("SIM_SEEDS").unwrap_or(count);
            (first..first + count).collect()
        }
    };
    let mut failures = Vec::new();
    let mut total = Stats::default();
    let mut worst_finish = 0;
    for &seed in &seeds {
        let result = std::panic::catch_unwind(|| Sim::new(seed, scenario).run());
        match result {
            Ok(Ok(outcome)) => {
                let s = outcome.stats;
                total.events += s.events;
                total.max_round = total.max_round.max(s.max_round);
                total.equivocations += s.equivocations;
                total.syncs += s.syncs;
                total.refused += s.refused;
                total.forged_rejected += s.forged_rejected;
                total.crashes += s.crashes;
                total.byzantine += s.byzantine;
                worst_finish = worst_finish.max(s.finish_after_gst);
            }
            Ok(Err(error)) => failures.push(format!("{scenario:?} seed={seed}:\n  {error}")),
            Err(_) => failures.push(format!("{scenario:?} seed={seed}: panicked")),
        }
    }
    println!(
        "{scenario:?}: {} seeds, {} events, max round {}, {} equivocations reported, {} catch-ups, \
         {} votes refused by signing records, {} forged votes rejected, {} crashes, \
         {} byzantine members in all, slowest finish {} ms after GST",
        seeds.len(),
        total.events,
        total.max_round,
        total.equivocations,
        total.syncs,
        total.refused,
        total.forged_rejected,
        total.crashes,
        total.byzantine,
        worst_finish
    );
    assert!(
        failures.is_empty(),
        "{} of {} seeds failed (rerun one with SIM_SEED=<seed>):\n{}",
        failures.len(),
        seeds.len(),
        failures.join("\n")
    );
}

#[test]
fn one_member() {
    run_seeds(Scenario::mixed(1), 1_000, 50);
}

#[test]
fn three_members() {
    run_seeds(Scenario::mixed(3), 2_000, 250);
}

#[test]
fn four_members() {
    run_seeds(Scenario::mixed(4), 3_000, 350);
}

#[test]
fn seven_members() {
    run_seeds(Scenario::mixed(7), 4_000, 150);
}

#[test]
fn four_members_under_a_lock_attack() {
    run_seeds(Scenario::lock_attack(4), 5_000, 600);
}

#[test]
fn same_seed_same_trace() {
    let scenarios = [
        (Scenario::mixed(1), 11),
        (Scenario::mixed(3), 12),
        (Scenario::mixed(4), 13),
        (Scenario::mixed(4), 14),
        (Scenario::mixed(7), 15),
        (Scenario::lock_attack(4), 16),
    ];
    for (scenario, seed) in scenarios {
        let first = Sim::new(seed, scenario).run();
        let second = Sim::new(seed, scenario).run();
        assert!(first.is_ok(), "{scenario:?} seed={seed}: {first:?}");
        assert_eq!(first, second, "{scenario:?} seed={seed}: two runs differ");
    }
    // And different seeds explore different schedules.
    let a = Sim::new(21, Scenario::mixed(4)).run().unwrap();
    let b = Sim::new(22, Scenario::mixed(4)).run().unwrap();
    assert_ne!(a.trace, b.trace);
}
