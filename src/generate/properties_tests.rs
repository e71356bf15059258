//! Laws of the oracle, checked on generated requests: one certain violation is never a
//! success; a valid request is a success or a dry run; arbitrary input never panics.

use std::sync::OnceLock;

use proptest::prelude::*;

use crate::generate::strategy::{Inputs, Violation, any_violation, apply, valid};
use crate::generate::violate::violations;
use crate::oracle::Oracle;
use crate::world::{Params, World};

fn oracle() -> &'static Oracle {
    static O: OnceLock<Oracle> = OnceLock::new();
    O.get_or_init(|| Oracle::builtin().unwrap())
}

fn world() -> &'static World {
    static W: OnceLock<World> = OnceLock::new();
    W.get_or_init(World::default_world)
}

fn valid_requests(dry_run: bool) -> BoxedStrategy<Params> {
    valid(&Inputs::new(oracle(), world()), dry_run)
}

fn single_violations() -> BoxedStrategy<(Params, Violation)> {
    let inputs = Inputs::new(oracle(), world());
    (valid(&inputs, false), any_violation(&violations(&inputs))).boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn a_valid_request_plus_one_certain_violation_never_succeeds((mut params, v) in single_violations()) {
        apply(&mut params, v.edits.iter().cloned());
        let p = oracle().predict(world(), &params);
        if v.certain {
            prop_assert!(!p.ok, "{} predicted success for {params:?}: {p:?}", v.rule);
            prop_assert!(p.has_rule(v.rule), "{} is not among the deciding rules {:?}", v.rule, p.rules);
        } else {
            // An uncertain violation accepts success and the rule's own error.
            prop_assert!(p.ok || p.has_rule(v.rule), "{}: {p:?}", v.rule);
        }
    }

    #[test]
    fn removing_every_violation_predicts_success_or_dry_run(params in valid_requests(true)) {
        let p = oracle().predict(world(), &params);
        let dry = p.code_list() == ["DryRunOperation"] && p.status == 412;
        prop_assert!((p.ok && p.codes.is_empty()) || dry, "{params:?}: {p:?}");
    }

    #[test]
    fn arbitrary_parameters_never_panic_and_give_a_consistent_prediction(
        params in prop::collection::btree_map("[A-Za-z.0-9]{0,30}", ".{0,40}", 0..12)
    ) {
        let p = oracle().predict(world(), &params);
        prop_assert!(!p.outcomes.is_empty());
        prop_assert_eq!(p.ok, p.outcomes.iter().any(|o| o.code.is_none()));
        prop_assert!(p.outcomes.iter().all(|o| (o.status == 200) == o.code.is_none()));
    }
}
