//! The machine-readable description of CopyImage (`specs/copy_image.toml`): loading and checking.
//!
//! The spec is data: parameters with their limits, evaluation phases, Region lists and rules
//! with outcomes, sources and confidences. The oracle, the generator and the embedded endpoint
//! read every limit, code, status and message from here.

mod bounds;
pub mod input;
pub mod key;
mod lookup;
mod partition;
mod table;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

mod likely;
pub use likely::Likely;
use likely::check_likely;

/// The spec shipped with the tool, compiled in so the binary works from any directory.
pub const BUILTIN: &str = include_str!("../../specs/copy_image.toml");
/// The name the built-in spec is reported under in error messages.
pub const BUILTIN_ORIGIN: &str = "specs/copy_image.toml";

pub use lookup::{RuleIdError, closest};
use partition::RegionIndex;
pub use partition::{AwsHosts, Partition};
pub use table::RuleFormat;

/// A spec that cannot be used, with the file and the key at fault.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {key}: {message}")]
pub struct SpecError {
    /// The file the spec came from.
    pub origin: String,
    /// The TOML key (or rule id) at fault; `(file)` when the whole file is.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl SpecError {
    fn new(origin: &str, key: impl Into<String>, message: impl Into<String>) -> Self {
        Self { origin: origin.to_owned(), key: key.into(), message: message.into() }
    }
}

/// How sure we are of a fact, weakest last so `max` gives the weakest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Stated in the AWS docs or the official service model.
    Documented,
    /// A real AWS response quoted in public.
    Observed,
    /// Reasoning or an emulator's behaviour; needs checking against live AWS.
    Inferred,
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Confidence::Documented => "documented",
            Confidence::Observed => "observed",
            Confidence::Inferred => "inferred",
        })
    }
}

/// `[operation]`: the action, its API version and the response namespace.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    /// The `Action` value, `CopyImage`.
    pub action: String,
    /// The `Version` value sent by default, and the one a request without `Version` is read as.
    pub version: String,
    /// The XML namespace of success responses.
    pub xml_namespace: String,
    /// Keys the idempotency comparison leaves out.
    pub idempotency_ignored: Vec<String>,
    /// Keys whose part in the idempotency comparison is unknown.
    pub idempotency_uncertain: Vec<String>,
    /// Where these facts come from.
    pub source: String,
}

/// `[encoding]`: how scalar values are written on the wire.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Encoding {
    /// The two boolean texts, `true` first.
    pub boolean_values: Vec<String>,
    /// Whether other letter cases of the boolean texts are uncertain rather than invalid.
    pub boolean_case_variants_uncertain: bool,
    /// A list index AWS certainly parses.
    pub list_index_pattern: String,
    /// Where these facts come from.
    pub source: String,
}

/// `[[version]]`: published EC2 API versions that know the same CopyImage members.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiVersion {
    /// The `Version` values.
    pub names: Vec<String>,
    /// The members these versions know: top-level wire keys, and `TagSpecification` for the
    /// list.
    pub members: Vec<String>,
    /// Members the spec's parameters require that these versions do not.
    #[serde(default)]
    pub optional: Vec<String>,
    /// Where the member list comes from.
    pub source: String,
}

/// How a phase combines the rules in it that fire.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Combine {
    /// The first rule that fires decides.
    First,
    /// Every rule that fires is an acceptable outcome: AWS's order among them is unknown.
    Any,
}

/// `[[phase]]`: one step of the evaluation order.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    /// The phase name rules refer to.
    pub name: String,
    /// How firing rules combine.
    pub combine: Combine,
    /// Whether the next phase that fires is also acceptable (order unknown).
    pub overlaps_next: bool,
    /// Why the phase sits where it does.
    pub note: String,
}

/// The wire type of a parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ParamType {
    /// Free text.
    String,
    /// `true` or `false`.
    Boolean,
    /// A decimal integer.
    Long,
    /// One of `values`.
    Enum,
    /// A Region code.
    Region,
}

/// `[[parameter]]`: one wire key and its limits.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// The wire key; `{n}` and `{m}` stand for list indexes.
    pub key: String,
    /// The value type.
    #[serde(rename = "type")]
    pub ty: ParamType,
    /// Whether the request must carry it.
    #[serde(default)]
    pub required: bool,
    /// Whether AWS is known to let a request without it through all the same (it may answer
    /// MissingParameter or go on).
    #[serde(default)]
    pub required_uncertain: bool,
    /// Fewest characters.
    pub min_length: Option<usize>,
    /// Most characters.
    pub max_length: Option<usize>,
    /// Lengths above this (up to `max_length`) may or may not be accepted.
    pub uncertain_above: Option<usize>,
    /// Values certainly accepted.
    pub pattern: Option<String>,
    /// Values that may or may not be accepted (a superset of `pattern`).
    pub pattern_uncertain: Option<String>,
    /// A prefix values may not start with.
    pub forbidden_prefix: Option<String>,
    /// Smallest number.
    pub min: Option<i64>,
    /// Largest number.
    pub max: Option<i64>,
    /// Numbers must be a multiple of this.
    pub step: Option<i64>,
    /// Allowed values of an enum.
    pub values: Option<Vec<String>>,
    /// Where the limits come from.
    pub source: String,
    /// How sure the limits are.
    pub confidence: Confidence,
}

/// `[limits]`: numbers that belong to no single parameter.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Most tags one resource may carry.
    pub tags_per_resource: usize,
    /// Where that number comes from.
    pub tags_per_resource_source: String,
}

/// One acceptable result: an error code and status, or success (no code, 200).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Outcome {
    /// The EC2 error code; `None` for success. Shared: predictions copy it often.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<std::sync::Arc<str>>,
    /// The HTTP status.
    pub status: u16,
}

impl Outcome {
    /// Whether this is a success.
    pub fn is_success(&self) -> bool {
        self.code.is_none()
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(code) => write!(f, "{code} ({})", self.status),
            None => write!(f, "success ({})", self.status),
        }
    }
}

/// What else is acceptable when a rule fires on uncertain ground.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UncertainAlso {
    /// AWS may accept the request: evaluation goes on as if the rule had not fired.
    Success,
    /// AWS may match keys case-insensitively: the correctly spelled request's outcome too.
    Canonical,
}

/// `[[rule]]`: one behaviour of CopyImage.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Stable id, e.g. `R07-name`.
    pub id: String,
    /// What the rule is about, in a few words for reports (e.g. "Name length and characters").
    pub title: String,
    /// The phase it belongs to.
    pub phase: String,
    /// Whether the oracle predicts it (false: `reason` says why not).
    #[serde(default = "yes")]
    pub predicted: bool,
    /// Why an unpredicted rule is left to other parts of the tool.
    pub reason: Option<String>,
    /// When it fires, in words.
    pub condition: String,
    /// Acceptable results when it fires.
    pub outcomes: Vec<Outcome>,
    /// What else is acceptable when it fires on uncertain ground.
    pub uncertain_also: Option<UncertainAlso>,
    /// Message template for the first outcome (`{param}`, `{value}`, `{region}`, `{image}`,
    /// `{snapshot}`).
    pub message: String,
    /// Whether AWS is known to send `message` to the letter (a different text is then a
    /// lesser finding).
    #[serde(default)]
    pub message_exact: bool,
    /// Where the rule comes from.
    pub source: String,
    /// How sure the predicted outcome is (the weakest of its parts).
    pub confidence: Confidence,
    /// Which parts are how sure, when they differ.
    pub confidence_note: Option<String>,
    /// For a rule that is not certain: the other answers a real AWS could plausibly give and
    /// why the outcome set holds them, or why there are none.
    pub alternatives_note: Option<String>,
    /// What AWS most likely answers when the rule fires, for a rule whose acceptable set has
    /// more than one answer: the embedded endpoint answers this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likely: Option<Likely>,
    /// Why that answer is the likely one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub likely_note: Option<String>,
}

fn yes() -> bool {
    true
}

/// The raw file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSpec {
    operation: Operation,
    encoding: Encoding,
    version: Vec<ApiVersion>,
    phase: Vec<Phase>,
    parameter: Vec<Parameter>,
    limits: Limits,
    partition: Vec<Partition>,
    rule: Vec<Rule>,
}

/// A loaded and checked spec.
#[derive(Clone, Debug)]
pub struct Spec {
    /// Where it was loaded from.
    pub origin: String,
    /// `[operation]`.
    pub operation: Operation,
    /// `[encoding]`.
    pub encoding: Encoding,
    /// API versions, oldest first.
    pub versions: Vec<ApiVersion>,
    /// Phases in evaluation order.
    pub phases: Vec<Phase>,
    /// Parameters as listed.
    pub parameters: Vec<Parameter>,
    /// `[limits]`.
    pub limits: Limits,
    /// Partitions as listed.
    pub partitions: Vec<Partition>,
    /// Rules in evaluation order within their phase.
    pub rules: Vec<Rule>,
    params_by_key: BTreeMap<String, usize>,
    regexes: BTreeMap<String, Regex>,
    /// Each Region's partition (the first that lists it), by index: the oracle asks for every
    /// request.
    partition_by_region: RegionIndex,
}

impl Spec {
    /// The spec compiled into the binary.
    pub fn builtin() -> Result<Self, SpecError> {
        Self::parse(BUILTIN, BUILTIN_ORIGIN)
    }

    /// Reads and checks a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let origin = path.display().to_string();
        let text =
            input::read_text(path, input::Limit::SPEC).map_err(|e| SpecError::new(&origin, "(file)", e.reason()))?;
        Self::parse(&text, &origin)
    }

    /// Parses and checks spec text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, SpecError> {
        let raw: RawSpec = toml::from_str(text).map_err(|e| {
            let key = e
                .span()
                .map(|s| format!("line {}", 1 + text[..s.start].matches('\n').count()))
                .unwrap_or_else(|| "(file)".into());
            SpecError::new(origin, key, e.message().to_owned())
        })?;
        let mut spec = Spec {
            origin: origin.to_owned(),
            operation: raw.operation,
            encoding: raw.encoding,
            versions: raw.version,
            phases: raw.phase,
            parameters: raw.parameter,
            limits: raw.limits,
            partitions: raw.partition,
            rules: raw.rule,
            params_by_key: BTreeMap::new(),
            regexes: BTreeMap::new(),
            partition_by_region: RegionIndex::default(),
        };
        spec.check()?;
        Ok(spec)
    }

    fn check(&mut self) -> Result<(), SpecError> {
        let origin = self.origin.clone();
        let err = |key: String, msg: String| SpecError::new(&origin, key, msg);

        let mut phase_names = HashSet::new();
        for p in &self.phases {
            if !phase_names.insert(p.name.clone()) {
                return Err(err(format!("phase.{}", p.name), "duplicate phase name".into()));
            }
        }
        if self.encoding.boolean_values.len() != 2 {
            return Err(err("encoding.boolean_values".into(), "must list exactly two texts, true first".into()));
        }
        self.compile("encoding.list_index_pattern", &self.encoding.list_index_pattern.clone())?;

        for (i, p) in self.parameters.iter().enumerate() {
            if self.params_by_key.insert(p.key.clone(), i).is_some() {
                return Err(err(format!("parameter.{}", p.key), "duplicate parameter key".into()));
            }
        }
        let params = self.parameters.clone();
        for p in &params {
            let at = |field: &str| format!("parameter.{}.{field}", p.key);
            if let Some(re) = &p.pattern {
                self.compile(&at("pattern"), re)?;
            }
            if let Some(re) = &p.pattern_uncertain {
                if p.pattern.is_none() {
                    return Err(err(at("pattern_uncertain"), "needs `pattern` as well".into()));
                }
                self.compile(&at("pattern_uncertain"), re)?;
            }
            bounds::check_parameter(p).map_err(|(field, msg)| err(at(field), msg))?;
            if p.ty == ParamType::Enum && p.values.as_ref().is_none_or(Vec::is_empty) {
                return Err(err(at("values"), "an enum needs at least one value".into()));
            }
        }

        self.check_versions()?;

        self.partition_by_region = RegionIndex::new(&self.partitions);
        for p in &self.partitions {
            // Safety derives AWS's hosts from these: without one, the partition's endpoints
            // would pass for emulators.
            if p.dns_suffixes.iter().all(|s| s.trim_matches('.').is_empty()) {
                let key = format!("partition.{}.dns_suffixes", p.name);
                return Err(err(key, "a partition needs at least one DNS suffix".into()));
            }
        }

        bounds::check_limits(&self.limits).map_err(|(field, msg)| err(format!("limits.{field}"), msg))?;

        self.check_rules(&phase_names)
    }

    /// Unique ids, known phases, well-formed outcomes, a source each, and the uncertainty
    /// audit's note on every inferred rule.
    fn check_rules(&self, phase_names: &HashSet<String>) -> Result<(), SpecError> {
        let err = |key: String, msg: String| SpecError::new(&self.origin, key, msg);
        let mut ids = HashSet::new();
        for r in &self.rules {
            let at = |field: &str| format!("rule.{}.{field}", r.id);
            if !ids.insert(r.id.as_str()) {
                return Err(err(format!("rule.{}", r.id), "duplicate rule id".into()));
            }
            if !phase_names.contains(&r.phase) {
                return Err(err(at("phase"), format!("no phase named {:?}", r.phase)));
            }
            if r.outcomes.is_empty() {
                return Err(err(at("outcomes"), "a rule needs at least one outcome".into()));
            }
            for o in &r.outcomes {
                if !(100..=599).contains(&o.status) {
                    return Err(err(at("outcomes"), format!("{} is not an HTTP status", o.status)));
                }
                if o.code.is_none() != (o.status == 200) {
                    return Err(err(
                        at("outcomes"),
                        "an outcome without a code is a success and must be 200, and an error must not be 200".into(),
                    ));
                }
            }
            if !r.predicted && r.reason.as_deref().is_none_or(str::is_empty) {
                return Err(err(at("reason"), "an unpredicted rule must say why".into()));
            }
            if r.source.trim().is_empty() {
                return Err(err(at("source"), "every rule cites a source".into()));
            }
            // The uncertainty audit: an inferred rule says what else AWS could answer.
            if r.predicted
                && r.confidence == Confidence::Inferred
                && r.alternatives_note.as_deref().is_none_or(|n| n.trim().is_empty())
            {
                return Err(err(
                    at("alternatives_note"),
                    "an inferred rule lists the answers a real AWS could plausibly give, or says why there are none"
                        .into(),
                ));
            }
            check_likely(r).map_err(|m| err(at("likely"), m))?;
            if r.title.trim().is_empty() {
                return Err(err(at("title"), "every rule has a title for reports".into()));
            }
        }
        Ok(())
    }

    /// Every version is named once; members are parameters; the default version knows them all.
    fn check_versions(&self) -> Result<(), SpecError> {
        let err = |key: String, msg: String| SpecError::new(&self.origin, key, msg);
        let mut names = HashSet::new();
        let top: HashSet<&str> = self.parameters.iter().map(|p| member_of(&p.key)).collect();
        for v in &self.versions {
            let at = |field: &str| format!("version.{}.{field}", v.names.first().map_or("?", String::as_str));
            if v.names.is_empty() {
                return Err(err(at("names"), "a version row names at least one version".into()));
            }
            for n in &v.names {
                if !names.insert(n.as_str()) {
                    return Err(err(at("names"), format!("{n} is listed twice")));
                }
            }
            for m in v.members.iter().chain(&v.optional) {
                if !top.contains(m.as_str()) {
                    return Err(err(at("members"), format!("{m} is not a parameter of the spec")));
                }
            }
        }
        let Some(default) = self.api_version(&self.operation.version) else {
            return Err(err("operation.version".into(), "must be listed in a [[version]] row".into()));
        };
        if let Some(m) = top.iter().find(|m| !default.members.iter().any(|d| d == *m)) {
            return Err(err(
                "operation.version".into(),
                format!("its [[version]] row must list every parameter; {m} is missing"),
            ));
        }
        Ok(())
    }

    /// The `[[version]]` row naming `version`, if any.
    pub fn api_version(&self, version: &str) -> Option<&ApiVersion> {
        self.versions.iter().find(|v| v.names.iter().any(|n| n == version))
    }

    fn compile(&mut self, key: &str, pattern: &str) -> Result<(), SpecError> {
        let re = Regex::new(pattern)
            .map_err(|e| SpecError::new(&self.origin, key, format!("not a valid regular expression: {e}")))?;
        self.regexes.insert(pattern.to_owned(), re);
        Ok(())
    }

    /// The compiled form of a pattern that appears in this spec.
    pub fn regex(&self, pattern: &str) -> &Regex {
        &self.regexes[pattern]
    }

    /// The parameter with this wire key, if the spec has it.
    pub fn param(&self, key: &str) -> Option<&Parameter> {
        self.params_by_key.get(key).map(|&i| &self.parameters[i])
    }

    /// The parameter with this wire key, or an error naming the spec when it is missing.
    pub fn require_param(&self, key: &str) -> Result<&Parameter, SpecError> {
        self.param(key)
            .ok_or_else(|| SpecError::new(&self.origin, format!("parameter.{key}"), "missing; the oracle needs it"))
    }

    /// The rule with this id.
    pub fn rule(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The partition a Region belongs to.
    pub fn partition_of(&self, region: &str) -> Option<&str> {
        self.partition_by_region.get(region).map(|i| self.partitions[i].name.as_str())
    }

    /// Builds a `SpecError` against this spec.
    pub fn error(&self, key: impl Into<String>, message: impl Into<String>) -> SpecError {
        SpecError::new(&self.origin, key, message)
    }
}

/// The member a wire key belongs to: the key itself, or the list name before its first `.`.
pub fn member_of(key: &str) -> &str {
    key.split('.').next().unwrap_or(key)
}

#[cfg(test)]
mod tests;
