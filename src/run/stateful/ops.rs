//! The sequences: their steps ([`Op`]), drawn from a seed, and the nonce that keeps one
//! check's ClientTokens and Names apart from every other's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use proptest::prelude::any;
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use super::{StatefulConfig, Stop};
use crate::generate::strategy::{Inputs, OneOf, valid};
use crate::run::splitmix64;
use crate::world::Params;

/// Keeps these seeds apart from the case generator's, which seeds the same way.
const SEED_SALT: u64 = 0x5747_4154_4546_554c;

/// One step of a sequence. Steps name earlier copies by a number taken modulo the copies
/// made so far, so deleting a step while shrinking leaves every other step meaningful.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Op {
    /// A valid copy with a fresh ClientToken and Name.
    Copy(Params),
    /// An earlier copy again: same ClientToken, same parameters.
    Replay(u8),
    /// An earlier copy's ClientToken with another Name.
    ReplayChanged(u8),
    /// DescribeImages of an earlier copy.
    Describe(u8),
    /// A valid copy whose source is one of the world's deregistered images.
    CopyDeregistered(u8, Params),
}

fn op_strategy(inputs: &Inputs, has_deregistered: bool) -> BoxedStrategy<Op> {
    let mut options = vec![
        (4, valid(inputs, false).prop_map(Op::Copy).boxed()),
        (3, any::<u8>().prop_map(Op::Replay).boxed()),
        (2, any::<u8>().prop_map(Op::ReplayChanged).boxed()),
        (3, any::<u8>().prop_map(Op::Describe).boxed()),
    ];
    if has_deregistered {
        options.push((1, (any::<u8>(), valid(inputs, false)).prop_map(|(i, p)| Op::CopyDeregistered(i, p)).boxed()));
    }
    OneOf::weighted(options).boxed()
}

/// Sequences from a seed: each draws from its own forked random source, so it can be drawn
/// again (to shrink it) without disturbing the ones after it.
pub(super) struct Sequences {
    strategy: BoxedStrategy<Vec<Op>>,
    master: TestRunner,
}

impl Sequences {
    pub(super) fn new(inputs: &Inputs, has_deregistered: bool, cfg: &StatefulConfig) -> Self {
        let strategy = proptest::collection::vec(op_strategy(inputs, has_deregistered), 1..=cfg.max_len.max(1)).boxed();
        let seed = cfg.seed ^ SEED_SALT;
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
        }
        let master = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::XorShift, &bytes));
        Sequences { strategy, master }
    }

    /// The random source of the next sequence.
    pub(super) fn next_rng(&mut self) -> TestRng {
        self.master.new_rng()
    }

    /// The sequence a random source gives, as a shrinkable tree.
    pub(super) fn tree(&self, rng: &TestRng) -> Result<Box<dyn ValueTree<Value = Vec<Op>>>, Stop> {
        let mut runner = TestRunner::new_with_rng(Config::default(), rng.clone());
        self.strategy.new_tree(&mut runner).map_err(Stop::Draw)
    }
}

/// A short id that keeps this check's tokens and names apart from every other check's on the
/// same endpoint.
pub(super) fn nonce(seed: u64) -> String {
    static CHECKS: AtomicU64 = AtomicU64::new(0);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let n = CHECKS.fetch_add(1, Ordering::Relaxed);
    let x = splitmix64(
        now ^ (u64::from(std::process::id()) << 32) ^ seed.rotate_left(17) ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
    );
    format!("{:08x}", x >> 32)
}
