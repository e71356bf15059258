//! Which of a prediction's acceptable outcomes the endpoint answers: the first (the reference
//! endpoint), or a seeded-random one (a plausible AWS that makes other undocumented choices,
//! against which the harness must raise no deviation).

use super::splitmix64;
use crate::oracle::Prediction;
use crate::spec::Outcome;

/// How the endpoint picks its answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Answer {
    /// The prediction's first acceptable outcome.
    #[default]
    Primary,
    /// Any acceptable outcome, drawn from the seed and the request's number.
    Any,
}

/// The answer policy with its seed.
#[derive(Clone, Copy, Debug, Default)]
pub struct Picker {
    /// The policy.
    pub answer: Answer,
    /// The seed of `Answer::Any`.
    pub seed: u64,
}

impl Picker {
    /// The outcome to answer request number `n` with, and whether it is the first one (whose
    /// message the prediction carries). `None` when the prediction has no outcome.
    pub fn pick<'p>(&self, p: &'p Prediction, n: u64) -> Option<(&'p Outcome, bool)> {
        let len = p.outcomes.len() as u64;
        let i = match self.answer {
            Answer::Primary => 0,
            Answer::Any if len == 0 => 0,
            Answer::Any => splitmix64(self.seed ^ splitmix64(n)) % len,
        };
        p.outcomes.get(i as usize).map(|o| (o, i == 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::Oracle;
    use crate::world::{Params, World};

    fn uncertain() -> Prediction {
        let p: Params =
            [("Name", "src-plain"), ("SourceImageId", "ami-0a1b2c3d4e5f60718"), ("SourceRegion", "us-east-1")]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
        Oracle::builtin().unwrap().predict(&World::default_world(), &p)
    }

    #[test]
    fn primary_is_always_the_first_outcome() {
        let p = uncertain();
        let picker = Picker::default();
        for n in 0..20 {
            assert_eq!(picker.pick(&p, n), Some((&p.outcomes[0], true)));
        }
    }

    #[test]
    fn any_draws_every_acceptable_outcome_and_only_those() {
        let p = uncertain();
        assert!(p.outcomes.len() >= 2, "{p:?}");
        let picker = Picker { answer: Answer::Any, seed: 7 };
        let mut seen = vec![false; p.outcomes.len()];
        for n in 0..64 {
            let (o, first) = picker.pick(&p, n).unwrap();
            let i = p.outcomes.iter().position(|x| x == o).unwrap();
            assert_eq!(first, i == 0);
            seen[i] = true;
        }
        assert!(seen.iter().all(|s| *s), "{seen:?}");
        // The same seed and request number give the same answer.
        assert_eq!(picker.pick(&p, 5), picker.pick(&p, 5));
    }
}
