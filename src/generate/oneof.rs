//! `OneOf`: a weighted choice among strategies that draws once from the runner, and the
//! `one_of!` macro that builds one.

use proptest::prelude::Rng;
use proptest::strategy::{BoxedStrategy, NewTree, Strategy, ValueTree};
use proptest::test_runner::TestRunner;

/// One of several strategies, picked by weight straight from the runner's random source.
///
/// proptest's `Union` (and `prop_oneof!`) forks the runner for every option before the pick so
/// it can shrink across options later; on the generator's hot path that costs more than the
/// case itself. Shrinking here stays within the picked option.
#[derive(Clone, Debug)]
pub struct OneOf<T> {
    options: Vec<(u32, BoxedStrategy<T>)>,
    total: u64,
}

impl<T: std::fmt::Debug> OneOf<T> {
    /// Weighted options; weights must not all be zero.
    pub fn weighted(options: Vec<(u32, BoxedStrategy<T>)>) -> Self {
        let total = options.iter().map(|(w, _)| u64::from(*w)).sum();
        assert!(total > 0, "OneOf needs a positive weight");
        OneOf { options, total }
    }

    /// Equally weighted options.
    pub fn new(options: Vec<BoxedStrategy<T>>) -> Self {
        Self::weighted(options.into_iter().map(|s| (1, s)).collect())
    }
}

impl<T: std::fmt::Debug> Strategy for OneOf<T> {
    type Tree = Box<dyn ValueTree<Value = T>>;
    type Value = T;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let mut ticket = runner.rng().next_u64() % self.total;
        for (w, s) in &self.options {
            if ticket < u64::from(*w) {
                return s.new_tree(runner);
            }
            ticket -= u64::from(*w);
        }
        unreachable!("the ticket is below the total weight")
    }
}

/// Builds a `OneOf` from strategies of the same value type.
macro_rules! one_of {
    ($($s:expr),+ $(,)?) => { $crate::generate::oneof::OneOf::new(vec![$($s.boxed()),+]).boxed() };
}
pub(crate) use one_of;
