//! The checks behind each rule id of the spec. Limits, codes and messages come from the spec;
//! this file says only how each condition is tested, and where its boundary lies.

use crate::oracle::request::Request;
use crate::spec::{ParamType, Spec, SpecError};
use crate::world::{Image, ImageState, World};
use regex::Regex;

/// How a check came out for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Not relevant to this request.
    Quiet,
    /// Relevant, and the request sits right at the rule's boundary without crossing it.
    Near,
    /// Crossed on ground AWS may or may not reject.
    Uncertain,
    /// Crossed.
    Fires,
}

/// The result of one check, with the values its message needs.
#[derive(Clone, Debug)]
pub struct Hit {
    /// How it came out.
    pub level: Level,
    /// `{param}`: the key at fault.
    pub param: Option<String>,
    /// `{value}`: the value at fault.
    pub value: Option<String>,
    /// `{image}`: an image id the message names.
    pub image: Option<String>,
    /// `{snapshot}`: a snapshot id the message names.
    pub snapshot: Option<String>,
}

impl Hit {
    const QUIET: Hit = Hit::at(Level::Quiet);
    const NEAR: Hit = Hit::at(Level::Near);
    const FIRES: Hit = Hit::at(Level::Fires);
    const UNCERTAIN: Hit = Hit::at(Level::Uncertain);

    const fn at(level: Level) -> Hit {
        Hit { level, param: None, value: None, image: None, snapshot: None }
    }

    fn on(level: Level, param: &str, value: Option<&str>) -> Hit {
        Hit { param: Some(param.to_owned()), value: value.map(str::to_owned), ..Hit::at(level) }
    }

    fn near_if(cond: bool) -> Hit {
        if cond { Hit::NEAR } else { Hit::QUIET }
    }

    /// Whether the rule fired, certainly or not.
    pub fn fired(&self) -> bool {
        self.level >= Level::Uncertain
    }

    /// Keeps the stronger of two hits.
    fn max(self, other: Hit) -> Hit {
        if other.level > self.level { other } else { self }
    }
}

/// Every rule the oracle implements. The spec must list each, and each predicted spec rule
/// must be one of these. Each variant implements the spec rule `ALL` maps it to; the spec's
/// `condition` is its documentation.
#[allow(missing_docs)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleKind {
    Action,
    Version,
    UnknownParam,
    ListIndex,
    Missing,
    Bool,
    Long,
    Name,
    Description,
    AmiIdMalformed,
    Region,
    DestExclusive,
    DurationRange,
    DurationDest,
    TagRtMissing,
    TagRtBad,
    TagSpecEmpty,
    TagKey,
    TagKeyLength,
    TagValue,
    TagCount,
    KmsDependency,
    TokenLength,
    ListGap,
    Authz,
    DryRun,
    IdemMismatch,
    IdemReplay,
    AmiNotFound,
    AmiUnavailable,
    StoragePermission,
    Marketplace,
    Unencrypt,
    UnsupportedPair,
    NameDuplicate,
    KmsAsync,
    EncryptDefault,
    Success,
}

impl RuleKind {
    /// The spec rule id for each implemented kind.
    pub const ALL: &'static [(&'static str, RuleKind)] = &[
        ("R02-action", RuleKind::Action),
        ("R02-version", RuleKind::Version),
        ("R03-unknown-param", RuleKind::UnknownParam),
        ("R36-list-index", RuleKind::ListIndex),
        ("R04-missing", RuleKind::Missing),
        ("R05-bool", RuleKind::Bool),
        ("R06-long", RuleKind::Long),
        ("R07-name", RuleKind::Name),
        ("R08-desc", RuleKind::Description),
        ("R09-amiid-malformed", RuleKind::AmiIdMalformed),
        ("R10-region", RuleKind::Region),
        ("R11-dest-exclusive", RuleKind::DestExclusive),
        ("R12-duration-range", RuleKind::DurationRange),
        ("R13-duration-dest", RuleKind::DurationDest),
        ("R14-tag-rt-missing", RuleKind::TagRtMissing),
        ("R15-tag-rt-bad", RuleKind::TagRtBad),
        ("R38-tagspec-empty", RuleKind::TagSpecEmpty),
        ("R16-tag-key", RuleKind::TagKey),
        ("R16-tag-key-length", RuleKind::TagKeyLength),
        ("R17-tag-value", RuleKind::TagValue),
        ("R18-tag-count", RuleKind::TagCount),
        ("R19-kms-dep", RuleKind::KmsDependency),
        ("R20-token-len", RuleKind::TokenLength),
        ("R37-list-gap", RuleKind::ListGap),
        ("R22-authz", RuleKind::Authz),
        ("R21-dryrun", RuleKind::DryRun),
        ("R24-idem-mismatch", RuleKind::IdemMismatch),
        ("R23-idem-replay", RuleKind::IdemReplay),
        ("R25-ami-notfound", RuleKind::AmiNotFound),
        ("R26-ami-unavailable", RuleKind::AmiUnavailable),
        ("R27-storage-perm", RuleKind::StoragePermission),
        ("R28-marketplace", RuleKind::Marketplace),
        ("R29-unencrypt", RuleKind::Unencrypt),
        ("R30-unsupported-pair", RuleKind::UnsupportedPair),
        ("R31-name-dup", RuleKind::NameDuplicate),
        ("R33-kms-async", RuleKind::KmsAsync),
        ("R34-encrypt-default", RuleKind::EncryptDefault),
        ("R35-success", RuleKind::Success),
    ];

    /// The kind implementing a rule id.
    pub fn from_id(id: &str) -> Option<RuleKind> {
        Self::ALL.iter().find(|(i, _)| *i == id).map(|(_, k)| *k)
    }
}

/// Wire keys of the members the checks read.
#[allow(missing_docs)]
pub mod key {
    pub const ACTION: &str = "Action";
    pub const VERSION: &str = "Version";
    pub const NAME: &str = "Name";
    pub const SOURCE_IMAGE_ID: &str = "SourceImageId";
    pub const SOURCE_REGION: &str = "SourceRegion";
    pub const DESCRIPTION: &str = "Description";
    pub const CLIENT_TOKEN: &str = "ClientToken";
    pub const ENCRYPTED: &str = "Encrypted";
    pub const KMS_KEY_ID: &str = "KmsKeyId";
    pub const COPY_IMAGE_TAGS: &str = "CopyImageTags";
    pub const DRY_RUN: &str = "DryRun";
    pub const OUTPOST: &str = "DestinationOutpostArn";
    pub const AZ: &str = "DestinationAvailabilityZone";
    pub const AZ_ID: &str = "DestinationAvailabilityZoneId";
    pub const DURATION: &str = "SnapshotCopyCompletionDurationMinutes";
    pub const TAG_RESOURCE_TYPE: &str = "TagSpecification.{n}.ResourceType";
    pub const TAG_KEY: &str = "TagSpecification.{n}.Tag.{m}.Key";
    pub const TAG_VALUE: &str = "TagSpecification.{n}.Tag.{m}.Value";
    /// Every top-level key, each with a slot in a parsed request. The spec must list the
    /// members among them (checked when the oracle is built).
    pub const SIMPLE: [&str; 15] = [
        ACTION,
        VERSION,
        NAME,
        SOURCE_IMAGE_ID,
        SOURCE_REGION,
        DESCRIPTION,
        CLIENT_TOKEN,
        ENCRYPTED,
        KMS_KEY_ID,
        COPY_IMAGE_TAGS,
        DRY_RUN,
        OUTPOST,
        AZ,
        AZ_ID,
        DURATION,
    ];
    /// The slot of a top-level key.
    pub fn slot(k: &str) -> Option<usize> {
        SIMPLE.iter().position(|s| *s == k)
    }
}

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

/// Every limit the checks use, read from the spec once (fields named for the spec values).
#[allow(missing_docs)]
#[derive(Debug)]
pub struct Limits {
    pub action: String,
    pub known_versions: Vec<String>,
    pub bool_true: String,
    pub bool_false: String,
    pub bool_case_uncertain: bool,
    pub required: Vec<String>,
    pub booleans: Vec<String>,
    pub name_min: usize,
    pub name_max: usize,
    pub name_re: Regex,
    pub name_re_uncertain: Option<Regex>,
    pub ami_re: Regex,
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
    pub idem_uncertain: Vec<String>,
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
        Ok(Limits {
            action: spec.operation.action.clone(),
            known_versions: spec.operation.known_versions.clone(),
            bool_true: spec.encoding.boolean_values[0].clone(),
            bool_false: spec.encoding.boolean_values[1].clone(),
            bool_case_uncertain: spec.encoding.boolean_case_variants_uncertain,
            required: spec.parameters.iter().filter(|p| p.required).map(|p| p.key.clone()).collect(),
            booleans: spec.parameters.iter().filter(|p| p.ty == ParamType::Boolean).map(|p| p.key.clone()).collect(),
            name_min: need(key::NAME, "min_length", name.min_length)?,
            name_max: need(key::NAME, "max_length", name.max_length)?,
            name_re: re(key::NAME, name.pattern.as_ref())?,
            name_re_uncertain: name.pattern_uncertain.as_ref().map(|s| spec.regex(s).clone()),
            ami_re: re(key::SOURCE_IMAGE_ID, ami.pattern.as_ref())?,
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
            idem_ignored: spec.operation.idempotency_ignored.clone(),
            idem_uncertain: spec.operation.idempotency_uncertain.clone(),
        })
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

/// What the checks see: the request, the world, and the source image if it resolves.
#[allow(missing_docs)]
pub struct Ctx<'a> {
    pub spec: &'a Spec,
    pub lim: &'a Limits,
    pub world: &'a World,
    pub req: &'a Request<'a>,
    /// The source image, if it exists and is visible in SourceRegion.
    pub image: Option<&'a Image>,
}

fn chars(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { s.chars().count() }
}

/// The Region named in an Outpost ARN (`arn:PARTITION:outposts:REGION:ACCOUNT:outpost/ID`).
fn outpost_region(arn: &str) -> Option<&str> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_), Some("outposts"), Some(region), Some(_), Some(res)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    res.starts_with("outpost/").then_some(region)
}

/// Runs one check.
pub fn check(kind: RuleKind, c: &Ctx<'_>) -> Hit {
    let lim = c.lim;
    let req = c.req;
    let get = |k: &str| req.get(k);
    match kind {
        RuleKind::Action => match get(key::ACTION) {
            None => Hit::QUIET,
            Some(a) if a == lim.action => Hit::NEAR,
            Some(a) => Hit::on(Level::Fires, "Action", Some(a)),
        },
        RuleKind::Version => match get(key::VERSION) {
            None => Hit::QUIET,
            Some(v) if lim.known_versions.iter().any(|k| k == v) => Hit::NEAR,
            Some(v) => Hit::on(Level::Fires, "Version", Some(v)),
        },
        RuleKind::UnknownParam => {
            if let Some(k) = req.unknown.first() {
                Hit::on(Level::Fires, k, None)
            } else if let Some((k, _)) = req.case_variants.first() {
                Hit::on(Level::Uncertain, k, None)
            } else {
                Hit::near_if(req.has_lists())
            }
        }
        RuleKind::ListIndex => match req.bad_index.first() {
            Some(k) => Hit::on(Level::Fires, k, None),
            None => Hit::near_if(!req.tag_specs.is_empty()),
        },
        RuleKind::Missing => {
            for k in &lim.required {
                match get(k) {
                    None | Some("") => return Hit::on(Level::Fires, k, None),
                    Some(_) => {}
                }
            }
            let minimal = lim.required.iter().all(|k| get(k).is_some()) && c.req_len() == lim.required.len();
            Hit::near_if(minimal)
        }
        RuleKind::Bool => {
            let mut hit = Hit::QUIET;
            for k in &lim.booleans {
                if let Some(v) = get(k) {
                    let h = match lim.bool_text(v) {
                        BoolText::True => Hit::QUIET,
                        BoolText::False => Hit::NEAR,
                        BoolText::CaseTrue | BoolText::CaseFalse if lim.bool_case_uncertain => {
                            Hit::on(Level::Uncertain, k, Some(v))
                        }
                        _ => Hit::on(Level::Fires, k, Some(v)),
                    };
                    hit = hit.max(h);
                }
            }
            hit
        }
        RuleKind::Long => match get(key::DURATION) {
            None => Hit::QUIET,
            Some(v) => match v.parse::<i64>() {
                Ok(_) => Hit::NEAR,
                Err(_) => Hit::on(Level::Fires, key::DURATION, Some(v)),
            },
        },
        RuleKind::Name => match get(key::NAME) {
            None => Hit::QUIET,
            Some(v) => {
                let n = chars(v);
                if n < lim.name_min || n > lim.name_max {
                    Hit::on(Level::Fires, key::NAME, Some(v))
                } else if !lim.name_re.is_match(v) {
                    match &lim.name_re_uncertain {
                        Some(re) if re.is_match(v) => Hit::on(Level::Uncertain, key::NAME, Some(v)),
                        _ => Hit::on(Level::Fires, key::NAME, Some(v)),
                    }
                } else {
                    Hit::near_if(n == lim.name_min || n == lim.name_max)
                }
            }
        },
        RuleKind::Description => match get(key::DESCRIPTION) {
            Some(v) if chars(v) > lim.desc_max => Hit::on(Level::Fires, key::DESCRIPTION, Some(v)),
            Some(v) => Hit::near_if(chars(v) == lim.desc_max),
            None => Hit::QUIET,
        },
        RuleKind::AmiIdMalformed => match get(key::SOURCE_IMAGE_ID) {
            None => Hit::QUIET,
            Some(v) if lim.ami_re.is_match(v) => Hit::near_if(v.len() == "ami-".len() + 8),
            Some(v) => Hit::on(Level::Fires, key::SOURCE_IMAGE_ID, Some(v)),
        },
        RuleKind::Region => match get(key::SOURCE_REGION) {
            None => Hit::QUIET,
            Some(v) => match c.spec.partition_of(v) {
                None => Hit::on(Level::Fires, key::SOURCE_REGION, Some(v)),
                Some(_) => Hit::near_if(v != c.world.region),
            },
        },
        RuleKind::DestExclusive => {
            let n = [key::OUTPOST, key::AZ, key::AZ_ID].iter().filter(|k| get(k).is_some()).count();
            match n {
                0 => Hit::QUIET,
                1 => Hit::NEAR,
                _ => Hit::FIRES,
            }
        }
        RuleKind::DurationRange => match get(key::DURATION).and_then(|v| v.parse::<i64>().ok()) {
            None => Hit::QUIET,
            Some(d) => {
                if d < lim.duration_min || d > lim.duration_max || d % lim.duration_step != 0 {
                    Hit::on(Level::Fires, key::DURATION, get(key::DURATION))
                } else {
                    Hit::near_if(d == lim.duration_min || d == lim.duration_max)
                }
            }
        },
        RuleKind::DurationDest => {
            let dur = get(key::DURATION).is_some();
            let dest = [key::OUTPOST, key::AZ, key::AZ_ID].iter().any(|k| get(k).is_some());
            match (dur, dest) {
                (true, true) => Hit::FIRES,
                (true, false) | (false, true) => Hit::NEAR,
                (false, false) => Hit::QUIET,
            }
        }
        RuleKind::TagRtMissing => {
            let mut hit = Hit::QUIET;
            for (n, s) in &req.tag_specs {
                hit = hit.max(match s.resource_type {
                    None | Some("") => Hit::on(Level::Fires, &format!("TagSpecification.{n}.ResourceType"), None),
                    Some(_) => Hit::NEAR,
                });
            }
            hit
        }
        RuleKind::TagRtBad => {
            let mut hit = Hit::QUIET;
            for (n, s) in &req.tag_specs {
                if let Some(rt) = s.resource_type.filter(|rt| !rt.is_empty()) {
                    hit = hit.max(if lim.resource_types.iter().any(|v| v == rt) {
                        Hit::NEAR
                    } else {
                        Hit::on(Level::Fires, &format!("TagSpecification.{n}.ResourceType"), Some(rt))
                    });
                }
            }
            hit
        }
        RuleKind::TagSpecEmpty => {
            let mut hit = Hit::QUIET;
            for (n, s) in &req.tag_specs {
                let typed = s.resource_type.is_some_and(|rt| lim.resource_types.iter().any(|v| v == rt));
                if typed {
                    hit = hit.max(match s.tags.len() {
                        0 => Hit::on(Level::Uncertain, &format!("TagSpecification.{n}"), None),
                        1 => Hit::NEAR,
                        _ => Hit::QUIET,
                    });
                }
            }
            hit
        }
        RuleKind::TagKey => {
            let mut hit = Hit::QUIET;
            for (n, s) in &req.tag_specs {
                for (m, (k, _)) in &s.tags {
                    let param = || format!("TagSpecification.{n}.Tag.{m}.Key");
                    hit = hit.max(match k {
                        None | Some("") => Hit::on(Level::Fires, &param(), *k),
                        Some(k) if !lim.tag_key_forbidden.is_empty() && k.starts_with(&lim.tag_key_forbidden) => {
                            Hit::on(Level::Fires, &param(), Some(k))
                        }
                        Some(k)
                            if lim.tag_key_forbidden.len() > 1
                                && k.starts_with(&lim.tag_key_forbidden[..lim.tag_key_forbidden.len() - 1]) =>
                        {
                            Hit::NEAR
                        }
                        Some(_) => Hit::QUIET,
                    });
                }
            }
            hit
        }
        RuleKind::TagKeyLength => tag_len_check(req, lim.tag_key_max, "Key"),
        RuleKind::TagValue => tag_len_check(req, lim.tag_value_max, "Value"),
        RuleKind::TagCount => {
            let mut per_type: std::collections::BTreeMap<&str, usize> = Default::default();
            for s in req.tag_specs.values() {
                *per_type.entry(s.resource_type.unwrap_or("")).or_default() += s.tags.len();
            }
            let most = per_type.values().copied().max().unwrap_or(0);
            if most > lim.tags_per_resource { Hit::FIRES } else { Hit::near_if(most == lim.tags_per_resource) }
        }
        RuleKind::KmsDependency => match get(key::KMS_KEY_ID) {
            None => Hit::QUIET,
            Some(_) if lim.is_true(get(key::ENCRYPTED)) => Hit::NEAR,
            Some(v) => Hit::on(Level::Fires, key::KMS_KEY_ID, Some(v)),
        },
        RuleKind::TokenLength => match get(key::CLIENT_TOKEN) {
            None => Hit::QUIET,
            Some(t) => {
                let n = chars(t);
                if n > lim.token_max {
                    Hit::on(Level::Fires, key::CLIENT_TOKEN, Some(t))
                } else if n > lim.token_uncertain_above {
                    Hit::on(Level::Uncertain, key::CLIENT_TOKEN, Some(t))
                } else {
                    Hit::near_if(n == lim.token_uncertain_above)
                }
            }
        },
        RuleKind::ListGap => {
            let contiguous = |keys: &mut dyn Iterator<Item = u32>| keys.enumerate().all(|(i, k)| k as usize == i + 1);
            let mut hit = Hit::QUIET;
            if !contiguous(&mut req.tag_specs.keys().copied()) {
                hit = Hit::on(Level::Uncertain, "TagSpecification", None);
            }
            for (n, s) in &req.tag_specs {
                if !contiguous(&mut s.tags.keys().copied()) {
                    hit = hit.max(Hit::on(Level::Uncertain, &format!("TagSpecification.{n}.Tag"), None));
                }
            }
            if hit.level == Level::Quiet {
                hit = Hit::near_if(req.tag_specs.len() > 1 || req.tag_specs.values().any(|s| s.tags.len() > 1));
            }
            hit
        }
        RuleKind::Authz => {
            if !c.world.authorized {
                Hit::FIRES
            } else {
                Hit::near_if(lim.is_true(get(key::DRY_RUN)))
            }
        }
        RuleKind::DryRun => {
            if lim.is_true(get(key::DRY_RUN)) {
                Hit::FIRES
            } else {
                Hit::near_if(lim.is_false(get(key::DRY_RUN)))
            }
        }
        RuleKind::IdemMismatch | RuleKind::IdemReplay => {
            let Some(token) = get(key::CLIENT_TOKEN) else { return Hit::QUIET };
            let Some(used) = c.world.token(token) else {
                let case_twin = c.world.has_token_ignoring_case(token);
                return Hit::near_if(kind == RuleKind::IdemReplay && case_twin);
            };
            let same = same_params(req, &used.params, &lim.idem_ignored, &[]);
            let same_but_uncertain = same_params(req, &used.params, &lim.idem_ignored, &lim.idem_uncertain);
            match (kind, same, same_but_uncertain) {
                (RuleKind::IdemReplay, _, true) => Hit { image: Some(used.image_id.clone()), ..Hit::FIRES },
                (RuleKind::IdemMismatch, false, true) => Hit::UNCERTAIN,
                (RuleKind::IdemMismatch, false, false) => Hit::FIRES,
                _ => Hit::NEAR,
            }
        }
        RuleKind::AmiNotFound => match (get(key::SOURCE_IMAGE_ID), c.image) {
            (Some(id), None) => Hit::on(Level::Fires, key::SOURCE_IMAGE_ID, Some(id)),
            (Some(_), Some(_)) => Hit::NEAR,
            (None, _) => Hit::QUIET,
        },
        RuleKind::AmiUnavailable => match c.image {
            Some(i) if i.state != ImageState::Available => {
                Hit::on(Level::Fires, key::SOURCE_IMAGE_ID, Some(&i.image_id))
            }
            Some(_) => Hit::NEAR,
            None => Hit::QUIET,
        },
        RuleKind::StoragePermission => match c.image {
            Some(i) if c.world.owner_of(i) != c.world.account => {
                if i.storage_shared {
                    Hit::NEAR
                } else {
                    Hit::FIRES
                }
            }
            _ => Hit::QUIET,
        },
        RuleKind::Marketplace => match c.image {
            Some(i) if i.billing_products => {
                if c.world.owner_of(i) != c.world.account {
                    Hit::FIRES
                } else {
                    Hit::NEAR
                }
            }
            _ => Hit::QUIET,
        },
        RuleKind::Unencrypt => match c.image {
            Some(i) => {
                let explicit_false = lim.is_false(get(key::ENCRYPTED));
                if explicit_false && i.encrypted {
                    Hit {
                        snapshot: Some(i.snapshot_id.clone().unwrap_or_else(|| "snap-00000000000000000".into())),
                        ..Hit::FIRES
                    }
                } else {
                    Hit::near_if(explicit_false || (i.encrypted && get(key::ENCRYPTED).is_none()))
                }
            }
            None => Hit::QUIET,
        },
        RuleKind::UnsupportedPair => {
            let Some(src) = get(key::SOURCE_REGION) else { return Hit::QUIET };
            let Some(part) = c.spec.partition_of(src) else { return Hit::QUIET };
            if c.spec.partition_of(&c.world.region) != Some(part) {
                return Hit::on(Level::Fires, key::SOURCE_REGION, Some(src));
            }
            match get(key::OUTPOST) {
                Some(arn) if outpost_region(arn) != Some(src) => Hit::on(Level::Fires, key::OUTPOST, Some(arn)),
                Some(_) => Hit::NEAR,
                None => Hit::near_if(src != c.world.region),
            }
        }
        RuleKind::NameDuplicate => {
            let Some(name) = get(key::NAME) else { return Hit::QUIET };
            let mut hit = Hit::QUIET;
            for i in c.world.images_named(name) {
                let mine = c.world.owner_of(i) == c.world.account && i.state != ImageState::Deregistered;
                if mine {
                    if i.region == c.world.region {
                        return Hit {
                            image: Some(i.image_id.clone()),
                            ..Hit::on(Level::Uncertain, key::NAME, Some(name))
                        };
                    }
                    hit = Hit::NEAR;
                }
            }
            hit
        }
        RuleKind::KmsAsync => match (get(key::KMS_KEY_ID), lim.is_true(get(key::ENCRYPTED))) {
            (Some(_), true) => Hit::FIRES,
            (None, true) => Hit::NEAR,
            _ => Hit::QUIET,
        },
        RuleKind::EncryptDefault => {
            if get(key::ENCRYPTED).is_none() {
                Hit::FIRES
            } else {
                Hit::NEAR
            }
        }
        RuleKind::Success => {
            if lim.is_true(get(key::DRY_RUN)) {
                Hit::NEAR
            } else {
                Hit::FIRES
            }
        }
    }
}

fn tag_len_check(req: &Request<'_>, max: usize, what: &str) -> Hit {
    let mut hit = Hit::QUIET;
    for (n, s) in &req.tag_specs {
        for (m, t) in &s.tags {
            let picked = if what == "Key" { t.0 } else { t.1 };
            if let Some(v) = picked {
                let len = chars(v);
                hit = hit.max(if len > max {
                    Hit::on(Level::Fires, &format!("TagSpecification.{n}.Tag.{m}.{what}"), Some(v))
                } else {
                    Hit::near_if(len == max)
                });
            }
        }
    }
    hit
}

/// Whether two requests carry the same parameters for idempotency, leaving out `ignored`
/// and `also_ignored` keys.
fn same_params(req: &Request<'_>, earlier: &crate::world::Params, ignored: &[String], also_ignored: &[String]) -> bool {
    let relevant = |k: &&String| !ignored.contains(k) && !also_ignored.contains(k);
    let now = req.params().iter().filter(|(k, _)| relevant(k));
    let before = earlier.iter().filter(|(k, _)| relevant(k));
    now.eq(before)
}

impl Ctx<'_> {
    fn req_len(&self) -> usize {
        self.req.params().len()
    }
}
