//! A rule's likely answer (`likely`/`likely_note` in the spec): what AWS most likely does
//! where the rule's acceptable set has more than one answer, and the check that it is one of
//! them.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Outcome, Rule, UncertainAlso};

/// A rule's most likely answer: `success` (on uncertain ground AWS accepts the request), or
/// one of its error codes. Written in the spec as one string.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Likely {
    /// AWS most likely accepts the request where the rule fires on uncertain ground.
    Success,
    /// AWS most likely answers this error code.
    Code(String),
}

impl Likely {
    /// The spec text: `success` or the code.
    pub fn as_str(&self) -> &str {
        match self {
            Likely::Success => "success",
            Likely::Code(c) => c,
        }
    }
}

impl fmt::Display for Likely {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Likely {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Likely {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Ok(if text == "success" { Likely::Success } else { Likely::Code(text) })
    }
}

impl Rule {
    /// Whether more than one answer is acceptable when the rule fires: several outcomes, or
    /// an `uncertain_also`.
    pub fn is_uncertain(&self) -> bool {
        self.outcomes.len() > 1 || self.uncertain_also.is_some()
    }

    /// Whether `likely` is one of the rule's acceptable answers.
    pub(super) fn accepts_likely(&self, likely: &Likely) -> bool {
        match likely {
            Likely::Success => {
                self.uncertain_also == Some(UncertainAlso::Success) || self.outcomes.iter().any(Outcome::is_success)
            }
            Likely::Code(c) => self.outcomes.iter().any(|o| o.code.as_deref() == Some(c.as_str())),
        }
    }
}

/// A predicted rule with more than one acceptable answer names its likely one, with a note,
/// and that answer is in its acceptable set; a rule with one answer names none.
pub(super) fn check_likely(r: &Rule) -> Result<(), String> {
    match (&r.likely, r.predicted && r.is_uncertain()) {
        (None, false) => Ok(()),
        (None, true) => Err("a rule with more than one acceptable answer names the likely one".into()),
        (Some(_), false) => Err("only a predicted rule with more than one acceptable answer names a likely one".into()),
        (Some(l), true) if !r.accepts_likely(l) => Err(format!("{l} is not among the rule's acceptable answers")),
        (Some(_), true) if r.likely_note.as_deref().is_none_or(|n| n.trim().is_empty()) => {
            Err("`likely` needs a `likely_note` saying why".into())
        }
        (Some(_), true) => Ok(()),
    }
}
