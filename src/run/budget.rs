//! One creation budget for a whole run: the cases, the stateful checks and `--setup` spend
//! from the same counter, so `--max-creates N` bounds the process, not each phase.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// The units spent on requests that may create a resource on a real account. Clones share the
/// counter: a [`crate::run::Safety`] is cloned into every phase, and they all spend from it.
#[derive(Clone, Debug, Default)]
pub struct Budget {
    spent: Arc<AtomicU64>,
}

impl Budget {
    /// Takes one unit if fewer than `limit` are spent; `false`, taking nothing, once they are.
    pub fn try_spend(&self, limit: u64) -> bool {
        self.spent.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| (n < limit).then_some(n + 1)).is_ok()
    }

    /// The units spent so far.
    #[cfg(test)]
    pub fn spent(&self) -> u64 {
        self.spent.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::atomic::AtomicU64;
    use std::time::Duration;

    use futures_util::StreamExt;

    use super::*;
    use crate::generate::{Case, Generator};
    use crate::oracle::Oracle;
    use crate::run::stateful::{StatefulConfig, check};
    use crate::run::tests::{Edit, edited_endpoint};
    use crate::run::{Runner, Safety, Target};
    use crate::verdict::SameCodes;
    use crate::world::World;

    #[test]
    fn clones_spend_from_one_counter_and_never_past_the_limit() {
        let a = Budget::default();
        let b = a.clone();
        assert!(a.try_spend(3));
        assert!(b.try_spend(3));
        assert!(a.try_spend(3));
        assert!(!b.try_spend(3));
        assert!(!a.try_spend(3));
        assert_eq!(a.spent(), 3);
        assert!(!Budget::default().try_spend(0));
    }

    /// Serves the embedded endpoint, counting the CopyImage requests that are not DryRuns.
    async fn counting_endpoint(oracle: Arc<Oracle>, world: World) -> (String, Arc<AtomicU64>) {
        let live = Arc::new(AtomicU64::new(0));
        let seen = live.clone();
        let count = move |body: &mut Vec<u8>| {
            let text = String::from_utf8_lossy(body);
            if text.contains("Action=CopyImage") && !text.contains("DryRun=true") {
                seen.fetch_add(1, Ordering::SeqCst);
            }
            Edit::Pass
        };
        (edited_endpoint(oracle, world, count).await, live)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cases_and_stateful_checks_share_one_budget() {
        let oracle = Arc::new(Oracle::builtin().unwrap());
        let world = World::default_world();
        let (url, live) = counting_endpoint(oracle.clone(), world.clone()).await;
        let target = Target {
            region: world.region.clone(),
            timeout: Duration::from_secs(5),
            safety: Safety { force_dry_run: true, max_creates: 2, ..Safety::default() },
            ..Target::for_tests(&url)
        };
        let runner = Arc::new(Runner::new(oracle.clone(), target.clone(), world.clone(), Arc::new(SameCodes)).unwrap());
        let cases: Vec<Case> =
            Generator::new(&oracle, world.clone(), 3, None, None).unwrap().take(150).map(Result::unwrap).collect();
        let records: Vec<_> = runner.run(cases, 4).collect().await;
        assert_eq!(records.len(), 150);
        let from_cases = live.load(Ordering::SeqCst);
        assert_eq!(from_cases, 2, "the cases spend the whole budget");
        let cfg = StatefulConfig { sequences: 10, max_len: 8, seed: 1 };
        let (stateful_target, stateful_world) = (target.clone(), world.clone());
        let report = tokio::task::spawn_blocking(move || {
            check(&stateful_target, &oracle, &stateful_world, &cfg, &BTreeSet::new())
        })
        .await
        .unwrap();
        assert_eq!(live.load(Ordering::SeqCst), 2, "at most 2 non-DryRun CopyImage calls in the whole run");
        assert!(report.stopped.as_deref().is_some_and(|s| s.contains("budget")), "{report:?}");
    }
}
