//! The coverage walk: the first cases of every run, in a fixed order, so that a short run
//! reaches every boundary and every violation family by construction rather than by luck.
//! Every target once, each violation again with `DryRun=true`, each limit of the spec on both
//! sides of both of its ends, then several violations at once; random cases follow.

use proptest::strategy::{BoxedStrategy, Strategy};

use super::strategy::{Inputs, Violation, apply, valid};
use super::{Draft, MULTI, Target, VALID, draft};
use crate::generate::draw::{ALNUM, fill};
use crate::oracle::{Oracle, key, rules};
use crate::spec::{ParamType, Parameter, Spec};
use crate::world::{Params, World};

/// How often the walk repeats the several-violations target after its first visit: one
/// pair or trio of violations says little about how they combine.
const MORE_MULTI: usize = 2;

/// The length of the Name a boundary case carries when the Name is not what it tests: long
/// enough that the walk's Names never meet (a 16-character fill of letters and digits).
const NAME_LEN: usize = 16;

/// One step of the walk: a strategy drawn from the run's random source, or a fixed request.
pub(super) enum Cover {
    /// Drawn like any other case.
    Draw(&'static str, bool, BoxedStrategy<Draft>),
    /// Always the same request.
    Fixed(Draft),
}

impl Cover {
    /// The target and whether it aims at a violation, as `--rule` and `--only` filter.
    pub(super) fn target(&self) -> (&'static str, bool) {
        match self {
            Cover::Draw(t, invalid, _) => (t, *invalid),
            Cover::Fixed(d) => (d.target, d.invalid),
        }
    }
}

/// The walk over `targets` (the generator's own list, in its order) and the `violations` it
/// was built from, in `world`.
pub(super) fn walk(
    oracle: &Oracle,
    world: &World,
    i: &Inputs,
    targets: &[Target],
    violations: &[(&'static str, BoxedStrategy<Violation>)],
) -> Vec<Cover> {
    let mut out: Vec<Cover> = targets.iter().map(|(t, invalid, _, s)| Cover::Draw(t, *invalid, s.clone())).collect();
    let yes = i.lim.bool_true.clone();
    for (rule, s) in violations.iter().filter(|(rule, _)| *rule != rules::DRY_RUN.id) {
        let yes = yes.clone();
        let s = (valid(i, false), s.clone())
            .prop_map(move |(mut p, v)| {
                // DryRun first, so a violation of DryRun itself (a bad boolean) still wins.
                p.insert(key::DRY_RUN.into(), yes.clone());
                let rule = v.rule;
                apply(&mut p, v.edits);
                draft(rule, true, p)
            })
            .boxed();
        out.push(Cover::Draw(rule, true, s));
    }
    out.extend(bounds(oracle, world, i).into_iter().map(Cover::Fixed));
    if let Some((t, invalid, _, s)) = targets.iter().find(|t| t.0 == MULTI) {
        out.extend((0..MORE_MULTI).map(|_| Cover::Draw(t, *invalid, s.clone())));
    }
    out
}

/// A request the spec's limits allow in every member it sets: a copyable source image and a
/// Name of letters and digits, distinct for each `seed`.
fn minimal(i: &Inputs, seed: u64) -> Params {
    let (id, region, _) = &i.copyable[0];
    let mut p = Params::new();
    p.insert(key::NAME.into(), fill(ALNUM, NAME_LEN.clamp(i.lim.name_min, i.lim.name_max), seed));
    p.insert(key::SOURCE_IMAGE_ID.into(), id.clone());
    p.insert(key::SOURCE_REGION.into(), region.clone());
    p
}

/// The wire key of a parameter in the first element of every list it belongs to.
fn first_element(template: &str) -> String {
    template.replace("{n}", "1").replace("{m}", "1")
}

/// The list prefix a templated key belongs to (`TagSpecification.{n}.`), if it has one.
fn list_prefix(template: &str) -> Option<&str> {
    template.find("{n}.").map(|at| &template[..at + "{n}.".len()])
}

/// The simplest value a parameter certainly accepts: an enum's first value, a number's
/// smallest, a string of letters and digits of its shortest length (at least one).
fn simplest(p: &Parameter, seed: u64) -> String {
    match p.ty {
        ParamType::Enum => p.values.as_ref().and_then(|v| v.first()).cloned().unwrap_or_default(),
        ParamType::Long => p.min.unwrap_or(0).to_string(),
        _ => fill(ALNUM, p.min_length.unwrap_or(0).max(1), seed),
    }
}

/// The members of `template`'s first list element other than `template` itself, at their
/// simplest, so that a boundary of one member is the element's only fault.
fn siblings(spec: &Spec, template: &str, seed: u64) -> Params {
    let Some(prefix) = list_prefix(template) else { return Params::new() };
    spec.parameters
        .iter()
        .filter(|p| p.key != template && p.key.starts_with(prefix))
        .map(|p| (first_element(&p.key), simplest(p, seed)))
        .collect()
}

/// The values at a parameter's limits: each end of a length or a range, and the last value
/// before it, and the first after (where those exist).
fn edges(p: &Parameter, seed: u64) -> Vec<String> {
    let mut lengths: Vec<usize> = vec![];
    if let Some(min) = p.min_length {
        lengths.extend(min.checked_sub(1));
        lengths.push(min);
    }
    for end in [p.uncertain_above, p.max_length].into_iter().flatten() {
        lengths.extend([end, end + 1]);
    }
    let mut out: Vec<String> = lengths.into_iter().map(|n| fill(ALNUM, n, seed)).collect();
    if let (ParamType::Long, Some(min), Some(max)) = (p.ty, p.min, p.max) {
        out.extend([min - 1, min, max, max + 1].map(|n| n.to_string()));
    }
    out
}

/// Every limit of the spec, each end with its neighbour outside: one case per value, in a
/// request that is otherwise the simplest valid one. Each case is named by what the oracle
/// says of it: `valid` inside the limits, else the rule it aims at.
fn bounds(oracle: &Oracle, world: &World, i: &Inputs) -> Vec<Draft> {
    let spec = oracle.spec();
    let mut requests: Vec<Params> = vec![];
    let mut seed = 0u64;
    let mut next_seed = || {
        seed += 1;
        seed
    };
    for p in &spec.parameters {
        for value in edges(p, next_seed()) {
            let s = next_seed();
            let mut req = minimal(i, s);
            req.extend(siblings(spec, &p.key, s));
            req.insert(first_element(&p.key), value);
            requests.push(req);
        }
    }
    // The tag limit: as many tags as one resource may carry, and one more.
    let (tag_key, tag_value) = (spec.param(key::TAG_KEY), spec.param(key::TAG_VALUE));
    for count in [i.lim.tags_per_resource, i.lim.tags_per_resource + 1] {
        let s = next_seed();
        let mut req = minimal(i, s);
        req.extend(siblings(spec, key::TAG_KEY, s));
        for m in 1..=count {
            let at = |template: &str| template.replace("{n}", "1").replace("{m}", &m.to_string());
            // Keys must differ within one element: the index makes them so.
            let k = tag_key.map_or_else(String::new, |p| simplest(p, s));
            req.insert(at(key::TAG_KEY), format!("{k}{m}"));
            req.insert(at(key::TAG_VALUE), tag_value.map_or_else(String::new, |p| simplest(p, s)));
        }
        requests.push(req);
    }
    requests
        .into_iter()
        .map(|req| {
            let p = oracle.predict(world, &req);
            if p.ok && p.codes.is_empty() {
                return draft(VALID, false, req);
            }
            let rule = p.rules.first().and_then(|r| rules::find(r)).map_or(VALID, |r| r.id);
            draft(rule, true, req)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::violate::violations;
    use crate::generate::{Case, Generator};

    /// The walk's cases of a default generator with this seed.
    fn walked(oracle: &Oracle, world: &World, seed: u64) -> Vec<Case> {
        let i = Inputs::new(oracle, world);
        let n = walk(oracle, world, &i, &super::super::targets(&i, &violations(&i)), &violations(&i)).len();
        Generator::new(oracle, world.clone(), seed, None, None).unwrap().take(n).map(Result::unwrap).collect()
    }

    #[test]
    fn every_violation_comes_alone_and_in_a_dry_run_and_every_limit_on_both_sides() {
        let oracle = Oracle::builtin().unwrap();
        let world = World::default_world();
        let i = Inputs::new(&oracle, &world);
        let lim = &i.lim;
        for seed in [1, 2] {
            let cases = walked(&oracle, &world, seed);
            let dry = |c: &Case| c.params.get(key::DRY_RUN) == Some(&lim.bool_true);
            for (rule, _) in violations(&i) {
                // The dry-run rule's own violation is a dry run.
                let own = rule == rules::DRY_RUN.id;
                assert!(cases.iter().any(|c| c.target == rule && (own || !dry(c))), "{rule} alone, seed {seed}");
                assert!(cases.iter().any(|c| c.target == rule && dry(c)), "{rule} in a dry run, seed {seed}");
            }
            let name_lengths: Vec<usize> =
                cases.iter().filter_map(|c| c.params.get(key::NAME)).map(|n| n.chars().count()).collect();
            for n in [lim.name_min - 1, lim.name_min, lim.name_max, lim.name_max + 1] {
                assert!(name_lengths.contains(&n), "no Name of {n} characters, seed {seed}");
            }
            let tag_keys = |c: &Case| c.params.keys().filter(|k| k.starts_with("TagSpecification.1.Tag.")).count() / 2;
            for n in [lim.tags_per_resource, lim.tags_per_resource + 1] {
                assert!(cases.iter().any(|c| tag_keys(c) == n), "no request with {n} tags, seed {seed}");
            }
            let durations: Vec<&str> =
                cases.iter().filter_map(|c| c.params.get(key::DURATION)).map(String::as_str).collect();
            for d in [lim.duration_min - 1, lim.duration_min, lim.duration_max, lim.duration_max + 1] {
                assert!(durations.contains(&d.to_string().as_str()), "no duration {d}, seed {seed}");
            }
            assert!(cases.iter().filter(|c| c.target == MULTI).count() > MORE_MULTI);
        }
    }

    #[test]
    fn a_boundary_case_is_named_by_what_the_oracle_says_of_it() {
        let oracle = Oracle::builtin().unwrap();
        let world = World::default_world();
        for d in bounds(&oracle, &world, &Inputs::new(&oracle, &world)) {
            let p = oracle.predict(&world, &d.params);
            if d.invalid {
                assert!(p.rule_ids().contains(&d.target), "{} for {:?}", d.target, p.rule_ids());
            } else {
                assert!(p.ok && p.codes.is_empty() && d.target == VALID, "{p:?}");
            }
        }
    }

    #[test]
    fn a_rule_filter_keeps_only_its_own_part_of_the_walk() {
        let oracle = Oracle::builtin().unwrap();
        let g = Generator::new(&oracle, World::default_world(), 1, None, Some(rules::NAME.id)).unwrap();
        assert!(g.walk.len() >= 4, "alone, in a dry run, and below and above the Name's lengths");
        assert!(g.walk.iter().all(|c| c.target().0 == rules::NAME.id));
    }
}
