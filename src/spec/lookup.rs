//! Rule ids as people type them: the full id, a unique prefix such as `R07` for `R07-name`,
//! and a "did you mean" for a mistyped one.

use super::Spec;

/// How close (Jaro–Winkler, 0 to 1) a typed id must be to a rule id to be suggested; clap
/// suggests flags from 0.7 (plain Jaro), and rule ids share their leading `R`, so a little higher.
const SUGGEST_FROM: f64 = 0.8;

/// A typed rule id that names no single rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RuleIdError {
    /// No rule id is or starts with it.
    #[error("no rule {given:?}{}; `copyimage-conformance rules` lists them", did_you_mean(.suggestion))]
    Unknown {
        /// What was typed.
        given: String,
        /// The closest rule id, when one is close.
        suggestion: Option<String>,
    },
    /// Several rule ids start with it.
    #[error("{given:?} could be any of {}; give more of the id", .candidates.join(", "))]
    Ambiguous {
        /// What was typed.
        given: String,
        /// The rule ids it starts.
        candidates: Vec<String>,
    },
}

fn did_you_mean(s: &Option<String>) -> String {
    s.as_ref().map_or_else(String::new, |s| format!(" (did you mean {s}?)"))
}

impl Spec {
    /// The rule id `given` names: the id itself, or the one id it is a prefix of (ASCII case
    /// ignored), so `R07` and `r07-n` are `R07-name`.
    pub fn rule_id(&self, given: &str) -> Result<&str, RuleIdError> {
        if let Some(r) = self.rules.iter().find(|r| r.id == given) {
            return Ok(&r.id);
        }
        let lower = given.to_ascii_lowercase();
        let candidates: Vec<&str> = self
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .filter(|id| !given.is_empty() && id.to_ascii_lowercase().starts_with(&lower))
            .collect();
        match candidates.as_slice() {
            [one] => Ok(one),
            [] => Err(RuleIdError::Unknown { given: given.to_owned(), suggestion: self.closest_rule_id(given) }),
            many => Err(RuleIdError::Ambiguous {
                given: given.to_owned(),
                candidates: many.iter().map(|s| (*s).to_owned()).collect(),
            }),
        }
    }

    /// What a `--rule` flag aims at: a value that starts like a rule id (`R` and a digit)
    /// resolved by [`Spec::rule_id`]; other generator targets (`valid`, `multi`, ...) as given.
    pub fn rule_target(&self, given: &str) -> Result<String, RuleIdError> {
        let mut chars = given.chars();
        let rule_like = chars.next().is_some_and(|c| c.eq_ignore_ascii_case(&'r'))
            && chars.next().is_some_and(|c| c.is_ascii_digit());
        if rule_like { self.rule_id(given).map(str::to_owned) } else { Ok(given.to_owned()) }
    }

    /// The rule id closest to `given`, when one is close enough to suggest.
    pub fn closest_rule_id(&self, given: &str) -> Option<String> {
        closest(given, self.rules.iter().map(|r| r.id.as_str()))
    }
}

/// The name of `names` closest to `given` (ASCII case ignored), when one is close enough to
/// suggest.
pub fn closest<'a>(given: &str, names: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let given = given.to_ascii_lowercase();
    names
        .into_iter()
        .map(|n| (strsim::jaro_winkler(&given, &n.to_ascii_lowercase()), n))
        .filter(|(score, _)| *score >= SUGGEST_FROM)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| n.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Spec {
        Spec::builtin().unwrap()
    }

    #[test]
    fn full_ids_and_unique_prefixes_name_their_rule() {
        let spec = spec();
        assert_eq!(spec.rule_id("R07-name"), Ok("R07-name"));
        assert_eq!(spec.rule_id("R07"), Ok("R07-name"));
        assert_eq!(spec.rule_id("r07-N"), Ok("R07-name"));
        assert_eq!(spec.rule_id("R16-tag-key-l"), Ok("R16-tag-key-length"));
        // An id that is a prefix of another is itself, not ambiguous.
        assert_eq!(spec.rule_id("R16-tag-key"), Ok("R16-tag-key"));
    }

    #[test]
    fn an_ambiguous_prefix_lists_its_candidates() {
        let e = spec().rule_id("R02").unwrap_err();
        assert_eq!(
            e,
            RuleIdError::Ambiguous { given: "R02".into(), candidates: vec!["R02-action".into(), "R02-version".into()] }
        );
        assert_eq!(e.to_string(), "\"R02\" could be any of R02-action, R02-version; give more of the id");
    }

    #[test]
    fn a_mistyped_id_gets_the_closest_one_suggested() {
        let spec = spec();
        let e = spec.rule_id("R7-nme").unwrap_err();
        assert_eq!(
            e.to_string(),
            "no rule \"R7-nme\" (did you mean R07-name?); `copyimage-conformance rules` lists them"
        );
        assert_eq!(spec.closest_rule_id("R25-ami-notfuond").as_deref(), Some("R25-ami-notfound"));
        assert_eq!(spec.rule_id(""), Err(RuleIdError::Unknown { given: String::new(), suggestion: None }));
        assert_eq!(spec.closest_rule_id("completely different"), None);
    }

    #[test]
    fn rule_targets_resolve_ids_and_pass_other_targets() {
        let spec = spec();
        assert_eq!(spec.rule_target("r07").as_deref(), Ok("R07-name"));
        assert_eq!(spec.rule_target("valid").as_deref(), Ok("valid"));
        assert_eq!(spec.rule_target("sequence-name-reuse").as_deref(), Ok("sequence-name-reuse"));
        assert!(matches!(spec.rule_target("R99"), Err(RuleIdError::Unknown { .. })));
    }
}
