//! Rule coverage: a generated corpus reaches every predicted rule of the spec, both where it
//! decides the outcome and where a request meets its boundary without crossing it.

use std::collections::BTreeSet;

use crate::generate::{Generator, world_after_setup};
use crate::oracle::Oracle;
use crate::world::World;

const CASES: usize = 5_000;

#[test]
fn five_thousand_cases_reach_every_rule_on_both_sides() {
    let oracle = Oracle::builtin().unwrap();
    let base = World::default_world();
    let ids: Vec<String> = oracle.rule_ids().map(str::to_owned).collect();
    assert!(!ids.is_empty(), "the oracle has no rules to cover");
    let mut decided = BTreeSet::new();
    let mut near = BTreeSet::new();
    for case in Generator::new(&oracle, base.clone(), 2026, None, None).unwrap().take(CASES).map(Result::unwrap) {
        let world = world_after_setup(&oracle, &base, &case);
        let (prediction, trace) = oracle.predict_traced(&world, &case.params);
        // The stored prediction is the oracle's word for the case as generated.
        assert_eq!(Some(&prediction), case.prediction.as_ref(), "case {}", case.id);
        decided.extend(prediction.rule_ids().into_iter().map(str::to_owned));
        for step in &case.setup {
            let p = step.prediction.as_ref().expect("a predicted case");
            decided.extend(p.rule_ids().into_iter().map(str::to_owned));
        }
        near.extend(trace.near.iter().map(|&i| ids[i].clone()));
    }
    let never_decided: Vec<&String> = ids.iter().filter(|id| !decided.contains(*id)).collect();
    let never_near: Vec<&String> = ids.iter().filter(|id| !near.contains(*id)).collect();
    assert!(never_decided.is_empty(), "rules no case fired: {never_decided:?}");
    assert!(never_near.is_empty(), "rules no case met at their boundary: {never_near:?}");
}
