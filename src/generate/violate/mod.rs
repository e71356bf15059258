//! The violation table: for each rule the generator aims at, how to break it in a valid
//! request. The rules themselves (ids and checks) are the oracle's table; an entry here names
//! one of its items, so a rule id is written once.

mod protocol;
mod state;
mod syntax;
mod tags;

use proptest::strategy::BoxedStrategy;

use crate::generate::strategy::{Edit, Inputs, Violation};
use crate::oracle::rules::{self, Rule};

/// Removes the base request's tag specifications, so a tag violation is the only one.
const CLEAR_TAGS: &str = "TagSpecification.*";

/// Builds the violations of the rule whose id it is given; `None` where this world cannot
/// give one (no image in the needed state).
type Violator = fn(&Inputs, &'static str) -> Option<BoxedStrategy<Violation>>;

/// Every rule the generator aims at with a single edit, with its violator. The order is part of
/// the seed contract: a case's rule is drawn by its position here, so reordering the entries
/// changes every generated corpus. (Rules that need a setup request or another world are
/// targets of their own in `generate`.)
const VIOLATORS: &[(&Rule, Violator)] = &[
    (&rules::ACTION, protocol::action),
    (&rules::VERSION, protocol::version),
    (&rules::UNKNOWN_PARAM, protocol::unknown_param),
    (&rules::LIST_INDEX, protocol::list_index),
    (&rules::MISSING, syntax::missing),
    (&rules::BOOL, syntax::bool),
    (&rules::LONG, syntax::long),
    (&rules::NAME, syntax::name),
    (&rules::DESCRIPTION, syntax::description),
    (&rules::AMI_ID_MALFORMED, syntax::ami_id_malformed),
    (&rules::REGION, syntax::region),
    (&rules::DEST_EXCLUSIVE, syntax::dest_exclusive),
    (&rules::DURATION_RANGE, syntax::duration_range),
    (&rules::DURATION_DEST, syntax::duration_dest),
    (&rules::TAG_RT_MISSING, tags::tag_rt_missing),
    (&rules::TAG_RT_BAD, tags::tag_rt_bad),
    (&rules::TAG_SPEC_EMPTY, tags::tag_spec_empty),
    (&rules::TAG_KEY, tags::tag_key),
    (&rules::TAG_KEY_LENGTH, tags::tag_key_length),
    (&rules::TAG_VALUE, tags::tag_value),
    (&rules::TAG_COUNT, tags::tag_count),
    (&rules::KMS_DEPENDENCY, syntax::kms_dependency),
    (&rules::TOKEN_LENGTH, syntax::token_length),
    (&rules::LIST_GAP, tags::list_gap),
    (&rules::DRY_RUN, state::dry_run),
    (&rules::AMI_NOT_FOUND, state::ami_not_found),
    (&rules::AMI_UNAVAILABLE, state::ami_unavailable),
    (&rules::STORAGE_PERMISSION, state::storage_permission),
    (&rules::MARKETPLACE, state::marketplace),
    (&rules::UNENCRYPT, state::unencrypt),
    (&rules::UNSUPPORTED_PAIR, state::unsupported_pair),
    (&rules::NAME_DUPLICATE, state::name_duplicate),
];

/// Every violation strategy, by the rule it aims at. A rule that cannot be aimed at in this
/// world (no image in the needed state) is left out.
pub fn violations(i: &Inputs) -> Vec<(&'static str, BoxedStrategy<Violation>)> {
    VIOLATORS.iter().filter_map(|(rule, violate)| violate(i, rule.id).map(|s| (rule.id, s))).collect()
}

fn v(rule: &'static str, certain: bool, edits: Vec<Edit>) -> Violation {
    Violation { rule, edits, certain }
}

fn kv(k: &str, v: impl Into<String>) -> Edit {
    (k.to_owned(), Some(v.into()))
}

#[cfg(test)]
mod tests {
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;

    use super::*;
    use crate::oracle::Oracle;
    use crate::world::World;

    #[test]
    fn each_strategy_aims_at_its_own_rule_once() {
        let o = Oracle::builtin().unwrap();
        let list = violations(&Inputs::new(&o, &World::default_world()));
        let mut runner = TestRunner::deterministic();
        for (n, (rule, s)) in list.iter().enumerate() {
            assert!(list[..n].iter().all(|(r, _)| r != rule), "{rule} twice");
            for _ in 0..20 {
                assert_eq!(s.new_tree(&mut runner).unwrap().current().rule, *rule);
            }
        }
        // The default world has an image in every state, so every entry yields violations.
        assert_eq!(list.len(), VIOLATORS.len());
    }
}
