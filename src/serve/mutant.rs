//! Known faults the embedded endpoint can plant (`serve --mutant NAME`): each mutant is one
//! way an emulator can get CopyImage wrong, and whether `run` catches it measures the harness
//! itself (its mutation score, listed in the README).
//!
//! The endpoint answers as its oracle predicts, so a fault in a rule is planted by building the
//! endpoint's oracle from a patched copy of the spec ([`Mutant::oracle`]); the other faults are
//! consulted at the few points of the endpoint where they apply (which tokens it remembers,
//! the reply's status and body, what DescribeImages shows). Faults in a reply's body are
//! planted in the EC2 Query XML, the dialect the default run speaks.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

use clap::ValueEnum;

use crate::oracle::Oracle;
use crate::spec::{Outcome, Parameter, Spec, SpecError};
use crate::world::{Image, ImageState, Params};

/// Where in the endpoint a mutant plants its fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Reading the request: Action, Version, member names, list indexes.
    Parsing,
    /// Syntax rules, decidable from the request alone.
    Syntax,
    /// The DryRun answer.
    DryRun,
    /// ClientToken idempotency.
    Idempotency,
    /// Rules that need the account's images.
    State,
    /// The reply on the wire: status and body.
    Wire,
    /// What DescribeImages shows of a copy (only the stateful checks look).
    Describe,
}

impl Stage {
    /// Its name in tables.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Parsing => "parsing",
            Stage::Syntax => "syntax",
            Stage::DryRun => "dry-run",
            Stage::Idempotency => "idempotency",
            Stage::State => "state",
            Stage::Wire => "wire",
            Stage::Describe => "describe",
        }
    }
}

/// One known fault. The names are what `serve --mutant` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, ValueEnum)]
pub enum Mutant {
    /// Keys that are not CopyImage members are ignored.
    IgnoresUnknownParams,
    /// Any Action is served as CopyImage.
    AcceptsAnyAction,
    /// Any Version is accepted.
    AcceptsAnyVersion,
    /// List indexes such as TagSpecification.0 or .01 are accepted.
    AcceptsBadListIndex,
    /// Names of 1 and 2 characters are accepted.
    AcceptsShortName,
    /// Names of 129 characters are accepted.
    AcceptsLongName,
    /// Descriptions of 256 characters are accepted.
    AcceptsLongDescription,
    /// Booleans other than true/false are accepted.
    AcceptsBadBooleans,
    /// A non-numeric SnapshotCopyCompletionDurationMinutes is accepted.
    AcceptsNonNumericDuration,
    /// SnapshotCopyCompletionDurationMinutes is not checked against 15..2880 in steps of 15.
    IgnoresDurationRange,
    /// A malformed SourceImageId is answered InvalidAMIID.NotFound instead of Malformed.
    MalformedAsNotFound,
    /// A SourceRegion that is no Region code is accepted.
    IgnoresRegionCheck,
    /// More than one destination (Outpost, zone, zone id) is accepted.
    AllowsTwoDestinations,
    /// TagSpecification ResourceTypes other than image and snapshot are accepted.
    IgnoresResourceType,
    /// More than 50 tags per resource are accepted.
    IgnoresTagLimit,
    /// Empty tag keys and keys starting with aws: are accepted.
    AcceptsReservedTagKeys,
    /// KmsKeyId is accepted without Encrypted=true.
    IgnoresKmsDependency,
    /// ClientTokens longer than 128 characters are accepted.
    AcceptsLongToken,
    /// DryRun=true is ignored: the copy is made.
    IgnoresDryRun,
    /// The DryRunOperation answer has HTTP 400 instead of 412.
    #[value(name = "dry-run-status-400")]
    DryRunStatus400,
    /// DryRun is answered before the syntax checks, so a malformed dry run "would succeed".
    DryRunBeforeSyntax,
    /// ClientTokens are not remembered: a replay makes a new image.
    ForgetsClientToken,
    /// A reused ClientToken with other parameters makes a new image instead of a mismatch.
    IgnoresTokenMismatch,
    /// A SourceImageId that does not exist is copied.
    CopiesMissingSource,
    /// A deregistered, pending or failed source is copied.
    CopiesUnavailableSource,
    /// Another account's image is copied although its storage is not shared.
    IgnoresStoragePermission,
    /// Another account's Marketplace image is copied.
    CopiesMarketplaceImage,
    /// Encrypted=false from an encrypted source is accepted.
    AllowsUnencrypting,
    /// A SourceRegion of another partition is accepted.
    CrossPartitionCopy,
    /// Errors are sent with HTTP 200.
    #[value(name = "error-status-200")]
    ErrorStatus200,
    /// The CopyImageResponse has no imageId.
    SuccessWithoutImageId,
    /// The returned imageId has upper-case hex digits.
    MalformedImageId,
    /// The XML replies carry no namespace.
    DropsXmlNamespace,
    /// DescribeImages shows images without their tags.
    DescribeDropsTags,
    /// DescribeImages shows every image as failed.
    DescribeShowsFailed,
}

/// A rule fault: how the endpoint's copy of the spec is patched.
enum Patch {
    /// A rule changes.
    Rule(&'static str, RulePatch),
    /// A parameter's limits change.
    Param(&'static str, fn(&mut Parameter)),
    /// The tags-per-resource limit changes.
    TagLimit(usize),
}

/// How a rule changes.
enum RulePatch {
    /// The endpoint answers as if the rule never fired.
    Ignore,
    /// The rule answers with this code and status.
    Outcome(&'static str, u16),
    /// The rule is checked in this phase.
    Phase(&'static str),
}

/// The endpoint answers as if `rule` never fired.
fn ignore(rule: &'static str) -> Patch {
    Patch::Rule(rule, RulePatch::Ignore)
}

impl Mutant {
    /// Every mutant, in the order of the README table.
    pub fn all() -> &'static [Mutant] {
        Mutant::value_variants()
    }

    /// Its kebab-case name, as `serve --mutant` takes it.
    pub fn name(self) -> String {
        // Every variant has one: clap derives it from the variant's name.
        self.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
    }

    /// The mutant with this name.
    pub fn from_name(name: &str) -> Option<Mutant> {
        Mutant::all().iter().copied().find(|m| m.name() == name)
    }

    /// The fault it plants, in one line: the variant's doc comment.
    pub fn description(self) -> String {
        self.to_possible_value().and_then(|v| v.get_help().map(ToString::to_string)).unwrap_or_default()
    }

    /// The stage of the endpoint it breaks.
    pub fn stage(self) -> Stage {
        use Mutant::*;
        match self {
            IgnoresUnknownParams | AcceptsAnyAction | AcceptsAnyVersion | AcceptsBadListIndex => Stage::Parsing,
            IgnoresDryRun | DryRunStatus400 | DryRunBeforeSyntax => Stage::DryRun,
            ForgetsClientToken | IgnoresTokenMismatch => Stage::Idempotency,
            CopiesMissingSource
            | CopiesUnavailableSource
            | IgnoresStoragePermission
            | CopiesMarketplaceImage
            | AllowsUnencrypting
            | CrossPartitionCopy => Stage::State,
            ErrorStatus200 | SuccessWithoutImageId | MalformedImageId | DropsXmlNamespace => Stage::Wire,
            DescribeDropsTags | DescribeShowsFailed => Stage::Describe,
            AcceptsShortName
            | AcceptsLongName
            | AcceptsLongDescription
            | AcceptsBadBooleans
            | AcceptsNonNumericDuration
            | IgnoresDurationRange
            | MalformedAsNotFound
            | IgnoresRegionCheck
            | AllowsTwoDestinations
            | IgnoresResourceType
            | IgnoresTagLimit
            | AcceptsReservedTagKeys
            | IgnoresKmsDependency
            | AcceptsLongToken => Stage::Syntax,
        }
    }

    fn patch(self) -> Option<Patch> {
        use Mutant::*;
        Some(match self {
            IgnoresUnknownParams => ignore("R03-unknown-param"),
            AcceptsAnyAction => ignore("R02-action"),
            AcceptsAnyVersion => ignore("R02-version"),
            AcceptsBadListIndex => ignore("R36-list-index"),
            AcceptsShortName => Patch::Param("Name", |p| p.min_length = Some(1)),
            AcceptsLongName => Patch::Param("Name", |p| p.max_length = p.max_length.map(|n| n + 1)),
            AcceptsLongDescription => Patch::Param("Description", |p| p.max_length = p.max_length.map(|n| n + 1)),
            AcceptsBadBooleans => ignore("R05-bool"),
            AcceptsNonNumericDuration => ignore("R06-long"),
            IgnoresDurationRange => ignore("R12-duration-range"),
            MalformedAsNotFound => Patch::Rule("R09-amiid-malformed", RulePatch::Outcome("InvalidAMIID.NotFound", 400)),
            IgnoresRegionCheck => ignore("R10-region"),
            AllowsTwoDestinations => ignore("R11-dest-exclusive"),
            IgnoresResourceType => ignore("R15-tag-rt-bad"),
            IgnoresTagLimit => Patch::TagLimit(usize::MAX),
            AcceptsReservedTagKeys => ignore("R16-tag-key"),
            IgnoresKmsDependency => ignore("R19-kms-dep"),
            AcceptsLongToken => ignore("R20-token-len"),
            IgnoresDryRun => ignore("R21-dryrun"),
            DryRunStatus400 => Patch::Rule("R21-dryrun", RulePatch::Outcome("DryRunOperation", 400)),
            DryRunBeforeSyntax => Patch::Rule("R21-dryrun", RulePatch::Phase("protocol")),
            IgnoresTokenMismatch => ignore("R24-idem-mismatch"),
            CopiesMissingSource => ignore("R25-ami-notfound"),
            CopiesUnavailableSource => ignore("R26-ami-unavailable"),
            IgnoresStoragePermission => ignore("R27-storage-perm"),
            CopiesMarketplaceImage => ignore("R28-marketplace"),
            AllowsUnencrypting => ignore("R29-unencrypt"),
            CrossPartitionCopy => ignore("R30-unsupported-pair"),
            ForgetsClientToken
            | ErrorStatus200
            | SuccessWithoutImageId
            | MalformedImageId
            | DropsXmlNamespace
            | DescribeDropsTags
            | DescribeShowsFailed => return None,
        })
    }

    /// The oracle the mutated endpoint answers with: `base`'s, or one built from a patched copy
    /// of its spec. Fails when the spec lacks what the mutant patches (a custom `--spec`).
    pub fn oracle(self, base: &Arc<Oracle>) -> Result<Arc<Oracle>, SpecError> {
        let Some(patch) = self.patch() else { return Ok(Arc::clone(base)) };
        let mut spec = Spec::clone(base.spec());
        let missing = |spec: &Spec, key: String| spec.error(key, format!("needed by the mutant {}", self.name()));
        match patch {
            Patch::Param(key, change) => match spec.parameters.iter_mut().find(|p| p.key == key) {
                Some(p) => change(p),
                None => return Err(missing(&spec, format!("parameter.{key}"))),
            },
            Patch::TagLimit(n) => spec.limits.tags_per_resource = n,
            Patch::Rule(id, change) => {
                // The last phase is the fall-through: a rule moved there with a success
                // outcome answers as if it had not fired.
                let success_phase = spec.phases.last().map(|p| p.name.clone()).unwrap_or_default();
                // A spec of the user's may name its phases otherwise.
                if let RulePatch::Phase(phase) = change
                    && !spec.phases.iter().any(|p| p.name == phase)
                {
                    return Err(missing(&spec, format!("phase.{phase}")));
                }
                let Some(rule) = spec.rules.iter_mut().find(|r| r.id == id) else {
                    return Err(missing(&spec, format!("rule.{id}")));
                };
                match change {
                    RulePatch::Ignore => {
                        rule.phase = success_phase;
                        rule.outcomes = vec![Outcome { code: None, status: 200 }];
                        rule.uncertain_also = None;
                    }
                    RulePatch::Outcome(code, status) => {
                        rule.outcomes = vec![Outcome { code: Some(code.into()), status }]
                    }
                    RulePatch::Phase(phase) => rule.phase = phase.to_owned(),
                }
            }
        }
        Oracle::new(Arc::new(spec)).map(Arc::new)
    }

    /// The parameters a successful copy is recorded with: without the ClientToken when the
    /// endpoint forgets tokens.
    pub(super) fn recorded<'a>(self, params: &'a Params) -> Cow<'a, Params> {
        if self == Mutant::ForgetsClientToken && params.contains_key("ClientToken") {
            let mut p = params.clone();
            p.remove("ClientToken");
            return Cow::Owned(p);
        }
        Cow::Borrowed(params)
    }

    /// The HTTP status an error is sent with.
    pub(super) fn error_status(self, status: u16) -> u16 {
        if self == Mutant::ErrorStatus200 { 200 } else { status }
    }

    /// The XML namespace replies carry (`xmlns=""` is no namespace).
    pub(super) fn namespace(self, namespace: &str) -> &str {
        if self == Mutant::DropsXmlNamespace { "" } else { namespace }
    }

    /// The imageId a success returns; `None` leaves it out.
    pub(super) fn image_id(self, id: &str) -> Option<String> {
        match self {
            Mutant::SuccessWithoutImageId => None,
            Mutant::MalformedImageId => Some(id.to_ascii_uppercase().replacen("AMI-", "ami-", 1)),
            _ => Some(id.to_owned()),
        }
    }

    /// An image as DescribeImages shows it.
    pub(super) fn described(self, image: &Image) -> Cow<'_, Image> {
        match self {
            Mutant::DescribeDropsTags if !image.tags.is_empty() => {
                Cow::Owned(Image { tags: Default::default(), ..image.clone() })
            }
            Mutant::DescribeShowsFailed => Cow::Owned(Image { state: ImageState::Failed, ..image.clone() }),
            _ => Cow::Borrowed(image),
        }
    }

    /// Whether only the stateful checks (`run --stateful N`) can see this mutant's fault: the
    /// default run sends CopyImage only.
    pub fn needs_stateful(self) -> bool {
        self.stage() == Stage::Describe
    }
}

/// The mutants as an aligned list, one `name  stage  description` line each.
pub fn list() -> String {
    let width = Mutant::all().iter().map(|m| m.name().len()).max().unwrap_or(0);
    let mut out = String::new();
    for m in Mutant::all() {
        let _ = writeln!(out, "{:width$}  {:11}  {}", m.name(), m.stage().name(), m.description());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn names_round_trip_and_every_mutant_builds_an_oracle() {
        let base = Arc::new(Oracle::builtin().unwrap());
        assert!(Mutant::all().len() >= 22);
        for &m in Mutant::all() {
            assert_eq!(Mutant::from_name(&m.name()), Some(m));
            assert!(!m.description().is_empty());
            m.oracle(&base).unwrap_or_else(|e| panic!("{}: {e}", m.name()));
        }
        assert_eq!(Mutant::DryRunStatus400.name(), "dry-run-status-400");
        assert_eq!(Mutant::AcceptsShortName.description(), "Names of 1 and 2 characters are accepted");
    }

    #[test]
    fn a_patched_rule_changes_the_prediction() {
        let base = Arc::new(Oracle::builtin().unwrap());
        let world = World::default_world();
        let short = params(&[
            ("Action", "CopyImage"),
            ("Name", "ab"),
            ("SourceImageId", "ami-01234567890abcdef"),
            ("SourceRegion", "us-west-2"),
        ]);
        assert!(!base.predict(&world, &short).ok);
        assert!(Mutant::AcceptsShortName.oracle(&base).unwrap().predict(&world, &short).ok);
        let mut dry = short.clone();
        dry.insert("Name".into(), "abc".into());
        dry.insert("DryRun".into(), "true".into());
        assert_eq!(base.predict(&world, &dry).status, 412);
        assert_eq!(Mutant::DryRunStatus400.oracle(&base).unwrap().predict(&world, &dry).status, 400);
        assert!(Mutant::IgnoresDryRun.oracle(&base).unwrap().predict(&world, &dry).ok);
        dry.insert("Name".into(), "a".into());
        let before = Mutant::DryRunBeforeSyntax.oracle(&base).unwrap().predict(&world, &dry);
        assert_eq!(before.code_list(), ["DryRunOperation"]);
    }

    #[test]
    fn endpoint_hooks_leave_other_mutants_alone() {
        let p = params(&[("ClientToken", "t"), ("Name", "n")]);
        assert!(!Mutant::ForgetsClientToken.recorded(&p).contains_key("ClientToken"));
        assert!(Mutant::IgnoresDryRun.recorded(&p).contains_key("ClientToken"));
        assert_eq!(Mutant::ErrorStatus200.error_status(400), 200);
        assert_eq!(Mutant::IgnoresDryRun.error_status(400), 400);
        assert_eq!(Mutant::MalformedImageId.image_id("ami-0c0ffee0000000001").unwrap(), "ami-0C0FFEE0000000001");
        assert_eq!(Mutant::SuccessWithoutImageId.image_id("ami-1"), None);
        assert_eq!(Mutant::DropsXmlNamespace.namespace("ns"), "");
    }
}
