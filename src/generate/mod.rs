//! The case generator: valid requests, requests aimed at each rule (both sides of every
//! boundary), several violations at once, and stateful sequences (a repeated ClientToken, a
//! repeated Name). A run opens with a fixed walk over every target, boundary and violation
//! family (`coverage`); random cases follow. The same seed gives the same cases, byte for byte.

mod coverage;
mod draw;
mod inputs;
mod oneof;
pub mod strategy;
pub mod violate;

use std::sync::Arc;

use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde::{Deserialize, Serialize};

use crate::oracle::{Oracle, Prediction, key, record_if_copied, rules};
use crate::world::{Params, World};
use coverage::Cover;
use strategy::{Inputs, OneOf, Violation, any_violation, apply, valid};
use violate::violations;

/// The target name of valid cases.
pub const VALID: &str = "valid";
/// The target name of cases with several violations.
pub const MULTI: &str = "multi";
/// The prefix of image ids an earlier step of the same case creates: `$setup.0`, ...
pub const SETUP_IMAGE: &str = "$setup.";

/// A generator that cannot start.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// `--rule` names no rule the generator can aim at.
    #[error(
        "--rule {given}: no such target{}; `copyimage-conformance rules` lists the rules, and targets are: {targets}",
        .suggestion.as_ref().map_or_else(String::new, |s| format!(" (did you mean {s}?)"))
    )]
    UnknownTarget {
        /// What was given.
        given: String,
        /// The closest target, when one is close enough to suggest.
        suggestion: Option<String>,
        /// Every target, comma-separated.
        targets: String,
    },
    /// The world has no image to copy.
    #[error("the world has no source image that a minimal CopyImage request copies successfully")]
    NoCopyableImage,
    /// A strategy gave up on this world (every value it drew was filtered out).
    #[error("case {case}: the generator cannot build a case in this world: {reason}")]
    Stuck {
        /// The id the case would have had.
        case: String,
        /// proptest's reason.
        reason: String,
    },
}

/// Which cases to produce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Only {
    /// Valid requests only.
    Valid,
    /// Requests aimed at a rule (or several).
    Invalid,
}

/// One request of a case with its prediction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    /// The raw parameters.
    pub params: Params,
    /// What the oracle predicts; `None` from a generator that leaves predicting to the runner
    /// (see [`Generator::unpredicted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
}

/// One generated case: optional setup requests, then the request under test.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Stable id within a corpus.
    pub id: String,
    /// `valid`, `multi`, or the rule id aimed at.
    pub target: String,
    /// `valid` or `invalid`.
    pub kind: String,
    /// The world, when it differs from the run's (e.g. an unauthorized caller). Shared: every
    /// such case of a generator holds the same one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub world: Option<Arc<World>>,
    /// Requests sent first, in order, to build state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Step>,
    /// The request under test.
    pub params: Params,
    /// What the oracle predicts for it; `None` from a generator that leaves predicting to the
    /// runner (see [`Generator::unpredicted`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prediction: Option<Prediction>,
}

#[derive(Debug, Clone)]
struct Draft {
    target: &'static str,
    invalid: bool,
    /// The caller may not call CopyImage (the case's world is the base world, unauthorized).
    unauthorized: bool,
    setup: Vec<Params>,
    params: Params,
}

fn draft(target: &'static str, invalid: bool, params: Params) -> Draft {
    Draft { target, invalid, unauthorized: false, setup: vec![], params }
}

/// Produces cases from a seed.
pub struct Generator<'o> {
    oracle: &'o Oracle,
    world: Arc<World>,
    /// The base world with an unauthorized caller, made when a case first needs it: a copy of a
    /// large world is costly, and most runs of a few cases never need it.
    denied: Option<Arc<World>>,
    runner: TestRunner,
    /// The run's first cases, in order (see [`coverage`]); random targets follow.
    walk: Vec<Cover>,
    targets: OneOf<Draft>,
    next: u64,
    /// Whether cases carry predictions (see [`Generator::unpredicted`]).
    predict: bool,
}

impl<'o> Generator<'o> {
    /// A generator over `world` (shared, not copied, when given as an `Arc`), seeded; `only` and
    /// `rule` narrow the targets.
    pub fn new(
        oracle: &'o Oracle,
        world: impl Into<Arc<World>>,
        seed: u64,
        only: Option<Only>,
        rule: Option<&str>,
    ) -> Result<Self, GenerateError> {
        let world = world.into();
        let inputs = Inputs::new(oracle, &world);
        if inputs.copyable.is_empty() {
            return Err(GenerateError::NoCopyableImage);
        }
        let list = violations(&inputs);
        let targets = targets(&inputs, &list);
        let names: Vec<&str> = targets.iter().map(|t| t.0).collect();
        let wanted = |name: &str, invalid: bool| match (only, rule) {
            (_, Some(r)) => name == r,
            (Some(Only::Valid), None) => !invalid,
            (Some(Only::Invalid), None) => invalid,
            (None, None) => true,
        };
        let chosen: Vec<(u32, BoxedStrategy<Draft>)> =
            targets.iter().filter(|t| wanted(t.0, t.1)).map(|(_, _, w, s)| (*w, s.clone())).collect();
        if chosen.is_empty() {
            let given = rule.unwrap_or("?");
            let suggestion = crate::spec::closest(given, names.iter().copied());
            return Err(GenerateError::UnknownTarget {
                given: given.to_owned(),
                suggestion,
                targets: names.join(", "),
            });
        }
        // XorShift: deterministic like ChaCha, and much cheaper for the many forks proptest makes.
        let mut bytes = [0u8; 16];
        for (i, chunk) in bytes.chunks_mut(8).enumerate() {
            chunk.copy_from_slice(&(seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)).to_le_bytes());
        }
        let runner = TestRunner::new_with_rng(Config::default(), TestRng::from_seed(RngAlgorithm::XorShift, &bytes));
        let mut walk = coverage::walk(oracle, &world, &inputs, &targets, &list);
        walk.retain(|c| {
            let (name, invalid) = c.target();
            wanted(name, invalid)
        });
        Ok(Generator {
            oracle,
            world,
            denied: None,
            runner,
            walk,
            targets: OneOf::weighted(chosen),
            next: 0,
            predict: true,
        })
    }

    /// The generator whose cases carry no prediction, for a runner that predicts each request
    /// itself against its mirror of the endpoint (the prediction that counts): the same cases
    /// otherwise, each request predicted once.
    pub fn unpredicted(mut self) -> Self {
        self.predict = false;
        self
    }

    /// The next case; an error when a strategy cannot draw one in this world.
    pub fn next_case(&mut self) -> Result<Case, GenerateError> {
        let id = case_id(self.next);
        let stuck = |reason: String| GenerateError::Stuck { case: id.clone(), reason };
        let d = match usize::try_from(self.next).ok().and_then(|n| self.walk.get(n)) {
            Some(Cover::Fixed(d)) => d.clone(),
            Some(Cover::Draw(_, _, s)) => s.new_tree(&mut self.runner).map_err(|r| stuck(r.to_string()))?.current(),
            None => self.targets.new_tree(&mut self.runner).map_err(|r| stuck(r.to_string()))?.current(),
        };
        self.next += 1;
        let world = if d.unauthorized {
            let base = &self.world;
            Some(Arc::clone(self.denied.get_or_insert_with(|| {
                let mut denied = World::clone(base);
                denied.authorized = false;
                Arc::new(denied)
            })))
        } else {
            None
        };
        if !self.predict {
            let setup = d.setup.into_iter().map(|params| Step { params, prediction: None }).collect();
            let kind = if d.invalid { "invalid" } else { "valid" }.to_owned();
            return Ok(Case { id, target: d.target.into(), kind, world, setup, params: d.params, prediction: None });
        }
        Ok(match Arc::get_mut(&mut self.world) {
            // The sole owner predicts setup steps in the world itself and undoes them after:
            // a copy per sequence case is costly when the world is large.
            Some(base) if world.is_none() && !d.setup.is_empty() => {
                let (images, tokens) = (base.image_count(), base.token_count());
                let case = predict_steps(self.oracle, base, id, None, d);
                base.truncate(images, tokens);
                case
            }
            _ => predict_case(self.oracle, &self.world, id, world, d),
        })
    }
}

impl Iterator for Generator<'_> {
    type Item = Result<Case, GenerateError>;
    fn next(&mut self) -> Option<Self::Item> {
        Some(self.next_case())
    }
}

/// `format!("{n:06}")` through itoa: every case gets an id, and the formatting machinery cost
/// more than the digits.
fn case_id(n: u64) -> String {
    let mut buf = itoa::Buffer::new();
    let digits = buf.format(n);
    let mut id = String::with_capacity(digits.len().max(6));
    id.extend(std::iter::repeat_n('0', 6usize.saturating_sub(digits.len())));
    id.push_str(digits);
    id
}

/// The case of a draft, predicted in `own` (the case's own world) or else `base`.
fn predict_case(oracle: &Oracle, base: &World, id: String, own: Option<Arc<World>>, d: Draft) -> Case {
    let kind = if d.invalid { "invalid" } else { "valid" }.to_owned();
    if d.setup.is_empty() {
        let prediction = Some(oracle.predict(own.as_deref().unwrap_or(base), &d.params));
        return Case { id, target: d.target.into(), kind, world: own, setup: vec![], params: d.params, prediction };
    }
    let mut world = own.as_deref().unwrap_or(base).clone();
    predict_steps(oracle, &mut world, id, own, d)
}

/// The case of a draft with setup steps, each predicted in `world` and recorded there.
fn predict_steps(oracle: &Oracle, world: &mut World, id: String, own: Option<Arc<World>>, d: Draft) -> Case {
    let kind = if d.invalid { "invalid" } else { "valid" }.to_owned();
    let mut setup = Vec::with_capacity(d.setup.len());
    for (i, params) in d.setup.into_iter().enumerate() {
        let prediction = oracle.predict(world, &params);
        record_if_copied(oracle, world, &params, &prediction, &format!("{SETUP_IMAGE}{i}"));
        setup.push(Step { params, prediction: Some(prediction) });
    }
    let prediction = Some(oracle.predict(world, &d.params));
    Case { id, target: d.target.into(), kind, world: own, setup, params: d.params, prediction }
}

/// The world the case's request under test meets: its own world (or `base`) after its setup
/// requests.
#[cfg(test)]
pub fn world_after_setup(oracle: &Oracle, base: &World, case: &Case) -> World {
    let mut world = case.world.as_deref().unwrap_or(base).clone();
    for (i, step) in case.setup.iter().enumerate() {
        let p = step.prediction.as_ref().expect("a predicted case");
        record_if_copied(oracle, &mut world, &step.params, p, &format!("{SETUP_IMAGE}{i}"));
    }
    world
}

type Target = (&'static str, bool, u32, BoxedStrategy<Draft>);

/// At most `n` characters of `s`.
fn shorter(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// Every target with its weight: valid requests, each rule's violations (`list`), several at
/// once, then the sequences. The order is part of the seed contract.
fn targets(i: &Inputs, list: &[(&'static str, BoxedStrategy<Violation>)]) -> Vec<Target> {
    let mut out: Vec<Target> = vec![];
    out.push((VALID, false, 12, valid(i, true).prop_map(|p| draft(VALID, false, p)).boxed()));
    for (rule, s) in list {
        let s = (valid(i, false), s.clone())
            .prop_map(move |(mut p, v)| {
                let rule = v.rule;
                apply(&mut p, v.edits);
                draft(rule, true, p)
            })
            .boxed();
        out.push((rule, true, 1, s));
    }
    let anyv = any_violation(list);
    out.push((
        MULTI,
        true,
        4,
        (valid(i, false), proptest::collection::vec(anyv, 2..=3))
            .prop_map(|(mut p, vs)| {
                for v in vs {
                    apply(&mut p, v.edits);
                }
                draft(MULTI, true, p)
            })
            .boxed(),
    ));
    out.extend(sequence_targets(i));
    out
}

/// Targets that need another world or a setup request: an unauthorized caller, a replayed or
/// mismatched ClientToken, a Name used again.
fn sequence_targets(i: &Inputs) -> Vec<Target> {
    let name_max = i.lim.name_max;
    let mut out: Vec<Target> = vec![];
    out.push((
        rules::AUTHZ.id,
        true,
        1,
        valid(i, true).prop_map(|p| Draft { unauthorized: true, ..draft(rules::AUTHZ.id, true, p) }).boxed(),
    ));
    let with_token = |p: &mut Params, t: u64| {
        p.remove(key::DRY_RUN);
        p.entry(key::CLIENT_TOKEN.to_owned()).or_insert_with(|| format!("tok-{t:016x}"));
    };
    out.push((
        rules::IDEM_REPLAY.id,
        false,
        1,
        (valid(i, false), proptest::prelude::any::<u64>(), proptest::prelude::any::<u8>())
            .prop_map(move |(mut p, t, flip)| {
                with_token(&mut p, t);
                let mut second = p.clone();
                if flip % 4 == 0 {
                    // Tokens are case-sensitive: the boundary of a replay is a token that
                    // differs only in letter case.
                    let tok = second[key::CLIENT_TOKEN].to_uppercase();
                    second.insert(key::CLIENT_TOKEN.into(), tok);
                    second.insert(key::NAME.into(), format!("{}-2", shorter(&p[key::NAME], name_max - 2)));
                }
                Draft { setup: vec![p], ..draft(rules::IDEM_REPLAY.id, false, second) }
            })
            .boxed(),
    ));
    out.push((
        rules::IDEM_MISMATCH.id,
        true,
        1,
        (valid(i, false), proptest::prelude::any::<u64>(), proptest::prelude::any::<bool>())
            .prop_map(move |(mut p, t, by_name)| {
                with_token(&mut p, t);
                let mut second = p.clone();
                if by_name {
                    let n = second.get(key::NAME).cloned().unwrap_or_default();
                    second.insert(key::NAME.into(), format!("{}x", shorter(&n, name_max - 1)));
                } else {
                    second.insert(key::DESCRIPTION.into(), "changed".into());
                }
                Draft { setup: vec![p], ..draft(rules::IDEM_MISMATCH.id, true, second) }
            })
            .boxed(),
    ));
    out.push((
        "sequence-name-reuse",
        false,
        1,
        (valid(i, false), valid(i, false))
            .prop_map(|(mut first, mut second)| {
                first.remove(key::CLIENT_TOKEN);
                second.remove(key::CLIENT_TOKEN);
                second.insert(key::NAME.into(), first[key::NAME].clone());
                Draft { setup: vec![first], ..draft("sequence-name-reuse", false, second) }
            })
            .boxed(),
    ));
    out
}

#[cfg(test)]
mod coverage_tests;
#[cfg(test)]
mod properties_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_cases_other_seed_other_cases() {
        let o = Oracle::builtin().unwrap();
        let w = World::default_world();
        let cases = |w: &World, seed| -> Vec<Case> {
            Generator::new(&o, w.clone(), seed, None, None).unwrap().take(200).collect::<Result<_, _>>().unwrap()
        };
        let (a, b, c) = (cases(&w, 7), cases(&w, 7), cases(&w, 8));
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn case_ids_are_zero_padded_to_six_digits() {
        for n in [0, 7, 42, 99_999, 999_999, 1_000_000, 123_456_789, u64::MAX] {
            assert_eq!(case_id(n), format!("{n:06}"));
        }
    }

    #[test]
    fn unknown_rule_is_an_error_listing_targets() {
        let o = Oracle::builtin().unwrap();
        let e = Generator::new(&o, World::default_world(), 1, None, Some("R99")).err().unwrap().to_string();
        assert!(e.starts_with("--rule R99: no such target"), "{e}");
        assert!(e.contains("R07-name"), "{e}");
        // A mistyped target that is not a rule id gets a suggestion too.
        let e = Generator::new(&o, World::default_world(), 1, None, Some("vaild")).err().unwrap().to_string();
        assert!(e.starts_with("--rule vaild: no such target (did you mean valid?); "), "{e}");
    }

    #[test]
    fn a_strategy_that_gives_up_is_an_error_not_a_panic() {
        // With a step of 1 every duration in range is a multiple, so the "not a multiple"
        // draw of the duration-range violation is filtered out forever.
        let text = crate::spec::BUILTIN.replace("step = 15", "step = 1");
        let spec = crate::spec::Spec::parse(&text, "step1.toml").unwrap();
        let o = Oracle::new(std::sync::Arc::new(spec)).unwrap();
        let g = Generator::new(&o, World::default_world(), 1, None, Some("R12-duration-range")).unwrap();
        let e = g.take(500).find_map(Result::err).expect("some draw gives up");
        assert!(e.to_string().contains("the generator cannot build a case in this world"), "{e}");
        assert!(e.to_string().contains("Too many local rejects"), "{e}");
    }

    #[test]
    fn the_world_is_shared_not_copied() {
        let o = Oracle::builtin().unwrap();
        let world = Arc::new(World::default_world());
        let mut g = Generator::new(&o, Arc::clone(&world), 5, None, Some(rules::AUTHZ.id)).unwrap();
        assert!(Arc::ptr_eq(&g.world, &world));
        let (a, b) = (g.next_case().unwrap(), g.next_case().unwrap());
        let (a, b) = (a.world.expect("an unauthorized world"), b.world.expect("an unauthorized world"));
        assert!(!a.authorized && Arc::ptr_eq(&a, &b), "every unauthorized case holds the same world");
    }

    #[test]
    fn a_sole_owner_predicts_sequences_in_place_as_a_copy_would() {
        let o = Oracle::builtin().unwrap();
        let shared = Arc::new(World::default_world());
        for rule in [rules::IDEM_REPLAY.id, rules::IDEM_MISMATCH.id, "sequence-name-reuse"] {
            let sole = Generator::new(&o, World::default_world(), 11, None, Some(rule)).unwrap();
            let copying = Generator::new(&o, Arc::clone(&shared), 11, None, Some(rule)).unwrap();
            let a: Vec<Case> = sole.take(100).collect::<Result<_, _>>().unwrap();
            let b: Vec<Case> = copying.take(100).collect::<Result<_, _>>().unwrap();
            assert_eq!(a, b, "{rule}");
        }
        assert_eq!(*shared, World::default_world());
    }

    #[test]
    fn replay_sequence_expects_the_first_image() {
        let o = Oracle::builtin().unwrap();
        let g = Generator::new(&o, World::default_world(), 3, None, Some("R23-idem-replay")).unwrap();
        // A token that differs from the first only in letter case is the replay's boundary,
        // not a replay.
        let same_token = |c: &Case| {
            c.setup.first().map(|s| s.params.get(key::CLIENT_TOKEN)) == Some(c.params.get(key::CLIENT_TOKEN))
        };
        let c = g.take(20).map(Result::unwrap).find(same_token).expect("a replay among 20 cases");
        assert_eq!(c.setup.len(), 1);
        let p = c.prediction.expect("predicted");
        assert_eq!(p.image_id.as_deref(), Some("$setup.0"));
        assert_eq!(p.rule_ids(), ["R23-idem-replay"]);
    }

    #[test]
    fn unpredicted_cases_are_the_same_cases_without_predictions() {
        let o = Oracle::builtin().unwrap();
        let predicted: Vec<Case> =
            Generator::new(&o, World::default_world(), 9, None, None).unwrap().take(300).map(Result::unwrap).collect();
        let bare = Generator::new(&o, World::default_world(), 9, None, None).unwrap().unpredicted();
        let bare: Vec<Case> = bare.take(300).map(Result::unwrap).collect();
        assert!(predicted.iter().any(|c| !c.setup.is_empty()), "some case has setup steps");
        for (mut p, b) in predicted.into_iter().zip(bare) {
            assert!(p.prediction.take().is_some());
            for s in &mut p.setup {
                assert!(s.prediction.take().is_some());
            }
            assert_eq!(p, b);
        }
    }
}
