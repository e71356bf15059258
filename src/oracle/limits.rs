//! Every limit the rule checks use, read from the spec once, and how a boolean text reads.

use regex::Regex;

use crate::oracle::key;
use crate::oracle::pattern::Pattern;
use crate::spec::{ParamType, Spec, SpecError};

/// A boolean text as AWS may read it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoolText {
    /// Exactly the spec's `true`.
    True,
    /// Exactly the spec's `false`.
    False,
    /// `true` in other letter case.
    CaseTrue,
    /// `false` in other letter case.
    CaseFalse,
    /// Anything else.
    Invalid,
}

/// One API version and the CopyImage members it knows.
#[derive(Debug)]
pub struct VersionMembers {
    /// The `Version` value.
    pub name: String,
    /// Members it knows (`TagSpecification` for the list).
    pub members: Vec<String>,
    /// Required members it does not require.
    pub optional: Vec<String>,
}

impl VersionMembers {
    /// Whether the version knows the member a wire key belongs to.
    pub fn knows(&self, key: &str) -> bool {
        let member = crate::spec::member_of(key);
        self.members.iter().any(|m| m == member)
    }
}

/// Every limit the checks (and the generator's strategies) use, read from the spec once
/// (fields named for the spec values).
#[allow(missing_docs)]
#[derive(Debug)]
pub struct Limits {
    pub action: String,
    /// The API version requests are sent with, and the one a request without `Version` gets.
    pub version: String,
    /// Every published API version with the members it knows.
    pub versions: Vec<VersionMembers>,
    pub bool_true: String,
    pub bool_false: String,
    pub bool_case_uncertain: bool,
    pub required: Vec<String>,
    /// The slot of each `required` key in a parsed request ([`key::slot`]), found once rather
    /// than by matching the key's text on every request.
    pub required_slots: Vec<Option<usize>>,
    /// Required members whose absence AWS has been seen to let through.
    pub required_uncertain: Vec<String>,
    pub booleans: Vec<String>,
    /// The slot of each `booleans` key, as `required_slots`.
    pub boolean_slots: Vec<Option<usize>>,
    pub name_min: usize,
    pub name_max: usize,
    pub name_re: Pattern,
    pub name_re_uncertain: Option<Pattern>,
    pub ami_re: Pattern,
    pub desc_max: usize,
    pub token_max: usize,
    pub token_uncertain_above: usize,
    pub duration_min: i64,
    pub duration_max: i64,
    pub duration_step: i64,
    pub resource_types: Vec<String>,
    pub tag_key_max: usize,
    pub tag_key_forbidden: String,
    pub tag_value_max: usize,
    pub tags_per_resource: usize,
    pub idem_ignored: Vec<String>,
    /// The spec's `idempotency_ignored` then its `idempotency_uncertain`: what the second
    /// comparison of a token's call leaves out, joined once rather than for every copy
    /// recorded or every token looked up.
    pub idem_ignored_or_uncertain: Vec<String>,
}

impl Limits {
    /// Reads the limits, failing with the spec key that is missing.
    pub fn from_spec(spec: &Spec) -> Result<Self, SpecError> {
        let p = |k: &str| spec.require_param(k);
        let need = |k: &str, field: &str, v: Option<usize>| {
            v.ok_or_else(|| spec.error(format!("parameter.{k}.{field}"), "missing; the oracle needs it"))
        };
        let need_i = |k: &str, field: &str, v: Option<i64>| {
            v.ok_or_else(|| spec.error(format!("parameter.{k}.{field}"), "missing; the oracle needs it"))
        };
        let name = p(key::NAME)?;
        let ami = p(key::SOURCE_IMAGE_ID)?;
        let token = p(key::CLIENT_TOKEN)?;
        let dur = p(key::DURATION)?;
        let tag_key = p(key::TAG_KEY)?;
        let idem = &spec.operation;
        let re = |k: &str, pat: Option<&String>| -> Result<Regex, SpecError> {
            pat.map(|s| spec.regex(s).clone())
                .ok_or_else(|| spec.error(format!("parameter.{k}.pattern"), "missing; the oracle needs it"))
        };
        for k in [
            key::SOURCE_REGION,
            key::DESCRIPTION,
            key::KMS_KEY_ID,
            key::OUTPOST,
            key::AZ,
            key::AZ_ID,
            key::TAG_VALUE,
            key::TAG_RESOURCE_TYPE,
        ] {
            p(k)?;
        }
        let required: Vec<String> = spec.parameters.iter().filter(|p| p.required).map(|p| p.key.clone()).collect();
        let booleans: Vec<String> =
            spec.parameters.iter().filter(|p| p.ty == ParamType::Boolean).map(|p| p.key.clone()).collect();
        Ok(Limits {
            action: spec.operation.action.clone(),
            version: spec.operation.version.clone(),
            versions: spec
                .versions
                .iter()
                .flat_map(|v| {
                    v.names.iter().map(|n| VersionMembers {
                        name: n.clone(),
                        members: v.members.clone(),
                        optional: v.optional.clone(),
                    })
                })
                .collect(),
            bool_true: spec.encoding.boolean_values[0].clone(),
            bool_false: spec.encoding.boolean_values[1].clone(),
            bool_case_uncertain: spec.encoding.boolean_case_variants_uncertain,
            required_slots: required.iter().map(|k| key::slot(k)).collect(),
            required,
            required_uncertain: spec
                .parameters
                .iter()
                .filter(|p| p.required && p.required_uncertain)
                .map(|p| p.key.clone())
                .collect(),
            boolean_slots: booleans.iter().map(|k| key::slot(k)).collect(),
            booleans,
            name_min: need(key::NAME, "min_length", name.min_length)?,
            name_max: need(key::NAME, "max_length", name.max_length)?,
            name_re: Pattern::new(name.pattern.as_deref().unwrap_or_default(), re(key::NAME, name.pattern.as_ref())?),
            name_re_uncertain: name.pattern_uncertain.as_ref().map(|s| Pattern::new(s, spec.regex(s).clone())),
            ami_re: Pattern::new(
                ami.pattern.as_deref().unwrap_or_default(),
                re(key::SOURCE_IMAGE_ID, ami.pattern.as_ref())?,
            ),
            desc_max: need(key::DESCRIPTION, "max_length", p(key::DESCRIPTION)?.max_length)?,
            token_max: need(key::CLIENT_TOKEN, "max_length", token.max_length)?,
            token_uncertain_above: token.uncertain_above.or(token.max_length).unwrap_or(usize::MAX),
            duration_min: need_i(key::DURATION, "min", dur.min)?,
            duration_max: need_i(key::DURATION, "max", dur.max)?,
            duration_step: dur.step.unwrap_or(1),
            resource_types: p(key::TAG_RESOURCE_TYPE)?.values.clone().unwrap_or_default(),
            tag_key_max: need(key::TAG_KEY, "max_length", tag_key.max_length)?,
            tag_key_forbidden: tag_key.forbidden_prefix.clone().unwrap_or_default(),
            tag_value_max: need(key::TAG_VALUE, "max_length", p(key::TAG_VALUE)?.max_length)?,
            tags_per_resource: spec.limits.tags_per_resource,
            idem_ignored: idem.idempotency_ignored.clone(),
            idem_ignored_or_uncertain: [idem.idempotency_ignored.as_slice(), &idem.idempotency_uncertain].concat(),
        })
    }

    /// The published version a `Version` value names, if any.
    pub fn api_version(&self, version: &str) -> Option<&VersionMembers> {
        self.versions.iter().find(|v| v.name == version)
    }

    /// The longest ClientToken AWS certainly accepts.
    pub fn token_certain(&self) -> usize {
        self.token_uncertain_above.min(self.token_max)
    }

    /// How a boolean text reads.
    pub fn bool_text(&self, v: &str) -> BoolText {
        if v == self.bool_true {
            BoolText::True
        } else if v == self.bool_false {
            BoolText::False
        } else if v.eq_ignore_ascii_case(&self.bool_true) {
            BoolText::CaseTrue
        } else if v.eq_ignore_ascii_case(&self.bool_false) {
            BoolText::CaseFalse
        } else {
            BoolText::Invalid
        }
    }

    /// Whether a boolean member reads as true (any letter case).
    pub fn is_true(&self, v: Option<&str>) -> bool {
        v.is_some_and(|v| matches!(self.bool_text(v), BoolText::True | BoolText::CaseTrue))
    }

    /// Whether a boolean member reads as false (any letter case).
    pub fn is_false(&self, v: Option<&str>) -> bool {
        v.is_some_and(|v| matches!(self.bool_text(v), BoolText::False | BoolText::CaseFalse))
    }
}
