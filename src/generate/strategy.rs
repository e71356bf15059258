//! proptest strategies: valid CopyImage requests built from the spec's limits and the world's
//! images, and edits that break exactly one rule, aimed at both sides of every boundary.

use proptest::prelude::Rng;
use proptest::prelude::*;
use proptest::strategy::{BoxedStrategy, Just, NewTree, ValueTree};
use proptest::test_runner::TestRunner;

use crate::oracle::Oracle;
use crate::oracle::rules::{Limits, key};
use crate::world::{Params, World};

/// One change to a request: set a key, or remove it (`None`). A key ending in `.*` removes
/// every key with that prefix.
pub type Edit = (String, Option<String>);

/// Removes the base request's tag specifications, so a tag violation is the only one.
const CLEAR_TAGS: &str = "TagSpecification.*";

/// A violation aimed at one rule: the edits, and whether AWS certainly rejects it (false
/// where the spec says the outcome is uncertain).
#[derive(Clone, Debug)]
pub struct Violation {
    /// The rule aimed at.
    pub rule: &'static str,
    /// The changes to a valid request.
    pub edits: Vec<Edit>,
    /// Whether the rule fires for certain.
    pub certain: bool,
}

/// Applies edits to params.
pub fn apply(params: &mut Params, edits: &[Edit]) {
    for (k, v) in edits {
        if let (Some(prefix), None) = (k.strip_suffix('*'), v) {
            params.retain(|key, _| !key.starts_with(prefix));
            continue;
        }
        match v {
            Some(v) => {
                params.insert(k.clone(), v.clone());
            }
            None => {
                params.remove(k);
            }
        }
    }
}

/// One of several strategies, picked by weight straight from the runner's random source.
///
/// proptest's `Union` (and `prop_oneof!`) forks the runner for every option before the pick so
/// it can shrink across options later; on the generator's hot path that costs more than the
/// case itself. Shrinking here stays within the picked option.
#[derive(Clone, Debug)]
pub struct OneOf<T> {
    options: Vec<(u32, BoxedStrategy<T>)>,
    total: u64,
}

impl<T: std::fmt::Debug> OneOf<T> {
    /// Weighted options; weights must not all be zero.
    pub fn weighted(options: Vec<(u32, BoxedStrategy<T>)>) -> Self {
        let total = options.iter().map(|(w, _)| u64::from(*w)).sum();
        assert!(total > 0, "OneOf needs a positive weight");
        OneOf { options, total }
    }

    /// Equally weighted options.
    pub fn new(options: Vec<BoxedStrategy<T>>) -> Self {
        Self::weighted(options.into_iter().map(|s| (1, s)).collect())
    }
}

impl<T: std::fmt::Debug> Strategy for OneOf<T> {
    type Tree = Box<dyn ValueTree<Value = T>>;
    type Value = T;

    fn new_tree(&self, runner: &mut TestRunner) -> NewTree<Self> {
        let mut ticket = runner.rng().next_u64() % self.total;
        for (w, s) in &self.options {
            if ticket < u64::from(*w) {
                return s.new_tree(runner);
            }
            ticket -= u64::from(*w);
        }
        unreachable!("the ticket is below the total weight")
    }
}

/// Builds a `OneOf` from strategies of the same value type.
macro_rules! one_of {
    ($($s:expr),+ $(,)?) => { OneOf::new(vec![$($s.boxed()),+]).boxed() };
}

/// Characters a strategy draws from, split by how the spec's Name pattern treats them.
#[derive(Clone, Debug)]
pub struct Alphabets {
    /// Certainly allowed in a Name.
    pub name_ok: Vec<char>,
    /// Allowed only by the model's wider set.
    pub name_uncertain: Vec<char>,
    /// Allowed by neither.
    pub name_bad: Vec<char>,
}

impl Alphabets {
    /// Sorts printable ASCII (and a few non-ASCII letters) by the spec's patterns.
    pub fn from_limits(lim: &Limits) -> Self {
        let mut a = Alphabets { name_ok: vec![], name_uncertain: vec![], name_bad: vec![] };
        let candidates = (0x20u8..0x7f).map(char::from).chain(['é', '名', '\u{7f}', '\t', '\n']);
        for c in candidates {
            let s = c.to_string();
            if lim.name_re.is_match(&s) {
                a.name_ok.push(c);
            } else if lim.name_re_uncertain.as_ref().is_some_and(|re| re.is_match(&s)) {
                a.name_uncertain.push(c);
            } else {
                a.name_bad.push(c);
            }
        }
        a
    }
}

const ALNUM: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', 'm', 'n', 'o', 'p', 'q', 'r', 's', 't', 'u', 'v', 'w',
    'x', 'y', 'z', 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'I', 'J', 'K', 'L', 'M', 'N', 'O', 'P', 'Q', 'R', 'S', 'T',
    'U', 'V', 'W', 'X', 'Y', 'Z', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9',
];
/// Free text for descriptions and tag values: printable, with a space and non-ASCII letters.
const TEXT: &[char] =
    &['a', 'b', 'z', 'Q', '0', '9', ' ', '-', '_', '.', ':', '/', '=', '+', '@', 'é', 'ß', '名', '&', '%'];
const HEX: &[char] = &['0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'];

/// A string of `len` characters from `alphabet`, expanded from one seed so a long string
/// costs one draw.
fn fill(alphabet: &[char], len: usize, mut seed: u64) -> String {
    let mut s = String::with_capacity(len);
    let mut left = 0;
    let mut bits = 0u64;
    for _ in 0..len {
        if left == 0 {
            // splitmix64: cheap and well spread; one draw gives eight characters.
            seed = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = seed;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            bits = z ^ (z >> 31);
            left = 8;
        }
        // Multiply-shift maps a byte onto the alphabet without a division per character.
        s.push(alphabet[((bits & 0xff) as usize * alphabet.len()) >> 8]);
        bits >>= 8;
        left -= 1;
    }
    s
}

fn text(alphabet: Vec<char>, len: impl Strategy<Value = usize> + 'static) -> BoxedStrategy<String> {
    (len, any::<u64>()).prop_map(move |(n, seed)| fill(&alphabet, n, seed)).boxed()
}

/// Lengths in `lo..=hi`, with both ends drawn often.
fn len_in(lo: usize, hi: usize) -> BoxedStrategy<usize> {
    any::<u64>().prop_map(move |w| Draw::new(&[w]).len(lo, hi)).boxed()
}

/// A string containing at least one character from `must`, the rest from `rest`.
fn with_one_of(must: Vec<char>, rest: Vec<char>, len: BoxedStrategy<usize>) -> BoxedStrategy<String> {
    (len, any::<u64>(), any::<prop::sample::Index>(), any::<prop::sample::Index>())
        .prop_map(move |(n, seed, at, pick)| {
            let mut chars: Vec<char> = fill(&rest, n.max(1), seed).chars().collect();
            let i = at.index(chars.len());
            chars[i] = *pick.get(&must);
            chars.into_iter().collect()
        })
        .boxed()
}

/// Everything a strategy needs, read once from the oracle and the world.
pub struct Inputs {
    /// The spec's limits.
    pub lim: LimitsView,
    /// Alphabets by the Name pattern.
    pub alpha: Alphabets,
    /// Images a minimal request copies successfully: (id, region, encrypted).
    pub copyable: Vec<(String, String, bool)>,
    /// Images that exist but are not available: (id, region).
    pub unavailable: Vec<(String, String)>,
    /// Images of other accounts whose storage is not shared.
    pub storage_denied: Vec<(String, String)>,
    /// Images of other accounts with billing products.
    pub marketplace: Vec<(String, String)>,
    /// Encrypted copyable images.
    pub encrypted: Vec<(String, String)>,
    /// Names of images the caller owns in the destination Region.
    pub taken_names: Vec<String>,
    /// Names of images the caller owns only in other Regions (no clash).
    pub other_region_names: Vec<String>,
    /// Region codes in the destination's partition.
    pub partition_regions: Vec<String>,
    /// Region codes in other partitions.
    pub foreign_regions: Vec<String>,
    /// The destination Region.
    pub region: String,
}

/// The numeric limits, copied so strategies can own them.
#[derive(Clone, Debug)]
#[allow(missing_docs)]
pub struct LimitsView {
    pub name_min: usize,
    pub name_max: usize,
    pub desc_max: usize,
    pub token_max: usize,
    pub token_certain: usize,
    pub dur_min: i64,
    pub dur_max: i64,
    pub dur_step: i64,
    pub tag_key_max: usize,
    pub tag_value_max: usize,
    pub tag_forbidden: String,
    pub tags_per_resource: usize,
    pub resource_types: Vec<String>,
    pub booleans: Vec<String>,
    pub required: Vec<String>,
    pub bool_true: String,
    pub bool_false: String,
    pub action: String,
    pub version: String,
}

impl Inputs {
    /// Reads limits from the oracle and classifies the world's images by what the oracle
    /// predicts for a minimal copy of each, so the generator never restates a rule.
    pub fn new(oracle: &Oracle, world: &World) -> Self {
        let l = oracle.limits();
        let lim = LimitsView {
            name_min: l.name_min,
            name_max: l.name_max,
            desc_max: l.desc_max,
            token_max: l.token_max,
            token_certain: l.token_uncertain_above.min(l.token_max),
            dur_min: l.duration_min,
            dur_max: l.duration_max,
            dur_step: l.duration_step,
            tag_key_max: l.tag_key_max,
            tag_value_max: l.tag_value_max,
            tag_forbidden: l.tag_key_forbidden.clone(),
            tags_per_resource: l.tags_per_resource,
            resource_types: l.resource_types.clone(),
            booleans: l.booleans.clone(),
            required: l.required.clone(),
            bool_true: l.bool_true.clone(),
            bool_false: l.bool_false.clone(),
            action: l.action.clone(),
            version: oracle.spec().operation.version.clone(),
        };
        let mut inputs = Inputs {
            lim,
            alpha: Alphabets::from_limits(l),
            copyable: vec![],
            unavailable: vec![],
            storage_denied: vec![],
            marketplace: vec![],
            encrypted: vec![],
            taken_names: vec![],
            other_region_names: vec![],
            partition_regions: vec![],
            foreign_regions: vec![],
            region: world.region.clone(),
        };
        let spec = oracle.spec();
        let home = spec.partition_of(&world.region);
        for p in &spec.partitions {
            let list =
                if Some(p.name.as_str()) == home { &mut inputs.partition_regions } else { &mut inputs.foreign_regions };
            list.extend(p.regions.iter().cloned());
        }
        for img in &world.images {
            if world.owner_of(img) == world.account
                && let Some(n) = &img.name
            {
                if img.region == world.region {
                    inputs.taken_names.push(n.clone());
                } else {
                    inputs.other_region_names.push(n.clone());
                }
            }
            let minimal: Params = [
                (key::NAME, "generator-probe"),
                (key::SOURCE_IMAGE_ID, img.image_id.as_str()),
                (key::SOURCE_REGION, img.region.as_str()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
            let p = oracle.predict(world, &minimal);
            let pair = (img.image_id.clone(), img.region.clone());
            let fired = |id: &str| p.has_rule(id);
            if p.ok && p.codes.is_empty() {
                inputs.copyable.push((img.image_id.clone(), img.region.clone(), img.encrypted));
                if img.encrypted {
                    inputs.encrypted.push(pair);
                }
            } else if fired("R26-ami-unavailable") {
                inputs.unavailable.push(pair);
            } else if fired("R27-storage-perm") {
                inputs.storage_denied.push(pair);
            } else if fired("R28-marketplace") {
                inputs.marketplace.push(pair);
            }
        }
        inputs
    }
}

fn kv(k: &str, v: impl Into<String>) -> Edit {
    (k.to_owned(), Some(v.into()))
}

fn outpost_arn(region: &str, seed: u64) -> String {
    format!("arn:aws:outposts:{region}:123456789012:outpost/op-{}", fill(HEX, 17, seed))
}

/// Successive small choices taken from a few random words. Zero words give the simplest
/// choices (no optional member, shortest lengths), so proptest shrinks toward them.
struct Draw<'a> {
    words: &'a [u64],
    at: usize,
    cur: u64,
}

impl<'a> Draw<'a> {
    fn new(words: &'a [u64]) -> Self {
        Draw { words, at: 1, cur: words[0] }
    }

    fn take(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        if self.cur < n && self.at < self.words.len() {
            self.cur = self.cur.wrapping_add(self.words[self.at].rotate_left(17));
            self.at += 1;
        }
        let r = self.cur % n;
        self.cur /= n;
        r
    }

    /// True with `percent` chance; false when the words are zero.
    fn chance(&mut self, percent: u64) -> bool {
        self.take(100) >= 100 - percent
    }

    /// A length in `lo..=hi`, the ends drawn often.
    fn len(&mut self, lo: usize, hi: usize) -> usize {
        match self.take(10) {
            6 | 7 => lo,
            8 | 9 => hi,
            _ => lo + self.take((hi - lo + 1) as u64) as usize,
        }
    }

    fn seed(&mut self) -> u64 {
        let s = self.words[self.at % self.words.len()] ^ self.cur.rotate_left(29) ^ self.at as u64;
        self.at += 1;
        s
    }
}

/// Valid requests: a copyable source image, a fresh name, and any mix of optional members
/// within their limits. `dry_run` allows `DryRun=true`.
pub fn valid(i: &Inputs, dry_run: bool) -> BoxedStrategy<Params> {
    let l = i.lim.clone();
    let images = i.copyable.clone();
    assert!(!images.is_empty(), "the world has no image a minimal request copies successfully");
    let name_ok = i.alpha.name_ok.clone();
    // The tag-count boundary: exactly as many tags as one resource may carry, built once.
    let mut full_tags = vec![("TagSpecification.1.ResourceType".to_owned(), "image".to_owned())];
    for m in 1..=l.tags_per_resource {
        full_tags.push((format!("TagSpecification.1.Tag.{m}.Key"), format!("key-{m}")));
        full_tags.push((format!("TagSpecification.1.Tag.{m}.Value"), format!("value-{m}")));
    }
    (prop::sample::select(images), any::<[u64; 4]>())
        .prop_map(move |((id, region, encrypted), words)| {
            let mut d = Draw::new(&words);
            let b = |v: bool| if v { l.bool_true.clone() } else { l.bool_false.clone() };
            let mut p = Params::new();
            let n = d.len(l.name_min, l.name_max);
            p.insert(key::NAME.into(), fill(&name_ok, n, d.seed()));
            p.insert(key::SOURCE_IMAGE_ID.into(), id);
            p.insert(key::SOURCE_REGION.into(), region.clone());
            if d.chance(30) {
                let n = d.len(0, l.desc_max);
                p.insert(key::DESCRIPTION.into(), fill(TEXT, n, d.seed()));
            }
            if d.chance(30) {
                // 16 and up: short tokens are no boundary of any rule, and would collide
                // across the cases of one run against a stateful endpoint.
                let n = d.len(16.min(l.token_certain), l.token_certain);
                p.insert(key::CLIENT_TOKEN.into(), fill(ALNUM, n, d.seed()));
            }
            if d.chance(30) {
                // An encrypted source cannot be copied unencrypted: that is a violation, not a valid case.
                let on = d.chance(50) || encrypted;
                p.insert(key::ENCRYPTED.into(), b(on));
                if on && d.chance(50) {
                    p.insert(key::KMS_KEY_ID.into(), "alias/aws/ebs".into());
                }
            }
            if d.chance(20) {
                let on = d.chance(50);
                p.insert(key::COPY_IMAGE_TAGS.into(), b(on));
            }
            if dry_run && d.chance(15) {
                p.insert(key::DRY_RUN.into(), l.bool_true.clone());
            } else if d.chance(10) {
                p.insert(key::DRY_RUN.into(), l.bool_false.clone());
            }
            if d.chance(5) {
                // Raw requests may spell out the protocol keys; the right values change nothing.
                p.insert(key::ACTION.into(), l.action.clone());
                p.insert(key::VERSION.into(), l.version.clone());
            }
            if d.chance(20) {
                let steps = (l.dur_max - l.dur_min) / l.dur_step;
                let dur = match d.take(4) {
                    0 => l.dur_min,
                    1 => l.dur_max,
                    _ => l.dur_min + l.dur_step * d.take(steps as u64 + 1) as i64,
                };
                p.insert(key::DURATION.into(), dur.to_string());
            } else if d.chance(10) {
                let seed = d.seed();
                p.insert(key::OUTPOST.into(), outpost_arn(&region, seed));
            }
            if d.chance(3) {
                p.extend(full_tags.iter().cloned());
            } else if d.chance(25) {
                add_tag_specs(&mut p, &mut d, &l);
            }
            p
        })
        .boxed()
}

/// One or two tag specifications (distinct resource types), each with one to three tags.
fn add_tag_specs(p: &mut Params, d: &mut Draw<'_>, l: &LimitsView) {
    let types = &l.resource_types;
    let first = d.take(types.len() as u64) as usize;
    let count = if types.len() > 1 && d.chance(40) { 2 } else { 1 };
    for n in 1..=count {
        let rt = &types[(first + n - 1) % types.len()];
        p.insert(format!("TagSpecification.{n}.ResourceType"), rt.clone());
        for m in 1..=(1 + d.take(3) as usize) {
            // A numbered prefix keeps keys unique within the specification; `aws1-` sits just
            // outside the reserved `aws:` prefix.
            let prefix = if d.chance(10) { format!("aws{m}-") } else { format!("k{m}-") };
            let klen = d.len(prefix.len(), l.tag_key_max);
            let vlen = d.len(0, l.tag_value_max);
            let mut k = prefix;
            k.push_str(&fill(ALNUM, klen - k.len(), d.seed()));
            p.insert(format!("TagSpecification.{n}.Tag.{m}.Key"), k);
            p.insert(format!("TagSpecification.{n}.Tag.{m}.Value"), fill(TEXT, vlen, d.seed()));
        }
    }
}

fn v(rule: &'static str, certain: bool, edits: Vec<Edit>) -> Violation {
    Violation { rule, edits, certain }
}

/// Every violation strategy, by the rule it aims at. A rule that cannot be aimed at in this
/// world (no image in the needed state) is left out.
pub fn violations(i: &Inputs) -> Vec<(&'static str, BoxedStrategy<Violation>)> {
    let l = i.lim.clone();
    let mut out: Vec<(&'static str, BoxedStrategy<Violation>)> = vec![];
    let mut add = |rule: &'static str, s: BoxedStrategy<Violation>| out.push((rule, s));

    add(
        "R02-action",
        prop::sample::select(vec!["CopyImages", "", "Copy_Image", "copyimage"])
            .prop_map(|a| v("R02-action", true, vec![kv("Action", a)]))
            .boxed(),
    );
    add(
        "R02-version",
        prop::sample::select(vec!["banana", "", "2014-01-01", "2016-11-16"])
            .prop_map(|x| v("R02-version", true, vec![kv("Version", x)]))
            .boxed(),
    );
    add(
        "R03-unknown-param",
        one_of!(
            prop::sample::select(vec![
                "Foo",
                "Nmae",
                "SourceImageID2",
                "Tags",
                "TagSpecification.1.Foo",
                "X-Amz-Nothing"
            ])
            .prop_map(|k| v("R03-unknown-param", true, vec![kv(k, "1")])),
            prop::sample::select(vec![key::NAME, key::SOURCE_IMAGE_ID, key::SOURCE_REGION]).prop_map(|k| v(
                "R03-unknown-param",
                false,
                vec![(k.to_owned(), None), kv(&k.to_lowercase(), "placeholder")]
            )),
        )
        .boxed(),
    );
    add(
        "R36-list-index",
        prop::sample::select(vec!["0", "01", "x", "-1", ""])
            .prop_map(|n| {
                v(
                    "R36-list-index",
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv(&format!("TagSpecification.{n}.ResourceType"), "image"),
                        kv(&format!("TagSpecification.{n}.Tag.1.Key"), "k"),
                    ],
                )
            })
            .boxed(),
    );
    let req = l.required.clone();
    add(
        "R04-missing",
        (prop::sample::subsequence(req, 1..=3), any::<bool>())
            .prop_map(|(keys, empty)| {
                v("R04-missing", true, keys.into_iter().map(|k| (k, empty.then(String::new))).collect())
            })
            .boxed(),
    );
    let bools = l.booleans.clone();
    add(
        "R05-bool",
        (
            prop::sample::select(bools),
            OneOf::weighted(vec![
                (
                    3,
                    prop::sample::select(vec!["yes", "1", "0", "no", "", "t", "on", " true"])
                        .prop_map(|s| (s, true))
                        .boxed(),
                ),
                (1, prop::sample::select(vec!["TRUE", "False", "True"]).prop_map(|s| (s, false)).boxed()),
            ]),
        )
            .prop_map(|(k, (val, certain))| v("R05-bool", certain, vec![kv(&k, val)]))
            .boxed(),
    );
    add(
        "R06-long",
        prop::sample::select(vec!["fifteen", "15.0", "1e3", " 15", "", "0x0f"])
            .prop_map(|x| v("R06-long", true, vec![kv(key::DURATION, x)]))
            .boxed(),
    );
    let (ok, unc, bad) = (i.alpha.name_ok.clone(), i.alpha.name_uncertain.clone(), i.alpha.name_bad.clone());
    add(
        "R07-name",
        one_of!(
            text(ok.clone(), 0..l.name_min).prop_map(|n| v("R07-name", true, vec![kv(key::NAME, n)])),
            text(ok.clone(), prop_oneof![Just(l.name_max + 1), (l.name_max + 1)..=(l.name_max * 2)]).prop_map(|n| v(
                "R07-name",
                true,
                vec![kv(key::NAME, n)]
            )),
            with_one_of(bad, ok.clone(), len_in(l.name_min, l.name_max)).prop_map(|n| v(
                "R07-name",
                true,
                vec![kv(key::NAME, n)]
            )),
            with_one_of(unc, ok, len_in(l.name_min, l.name_max)).prop_map(|n| v(
                "R07-name",
                false,
                vec![kv(key::NAME, n)]
            )),
        )
        .boxed(),
    );
    add(
        "R08-desc",
        text(TEXT.to_vec(), one_of!(Just(l.desc_max + 1), (l.desc_max + 1)..=(l.desc_max * 2)))
            .prop_map(|d| v("R08-desc", true, vec![kv(key::DESCRIPTION, d)]))
            .boxed(),
    );
    add(
        "R09-amiid-malformed",
        one_of!(
            prop::sample::select(vec![
                "foo-123",
                "ami-ZZZ",
                "ami-",
                "AMI-0123abcd",
                "ami-0123456789ABCDEF0",
                "ami_0123abcd",
                " ami-0123abcd"
            ])
            .prop_map(str::to_owned),
            (prop::sample::select(vec![7usize, 9, 16, 18]), any::<u64>())
                .prop_map(|(n, s)| format!("ami-{}", fill(HEX, n, s))),
        )
        .prop_map(|id| v("R09-amiid-malformed", true, vec![kv(key::SOURCE_IMAGE_ID, id)]))
        .boxed(),
    );
    add(
        "R10-region",
        prop::sample::select(vec![
            "xx-nowhere-9",
            "us-east-10",
            "US-EAST-1",
            "us-east-1 ",
            "useast1",
            "fips-us-east-1",
            "aws-global",
        ])
        .prop_map(|r| v("R10-region", true, vec![kv(key::SOURCE_REGION, r)]))
        .boxed(),
    );
    let region = i.region.clone();
    add(
        "R11-dest-exclusive",
        (prop::sample::subsequence(vec![key::OUTPOST, key::AZ, key::AZ_ID], 2..=3), any::<u64>())
            .prop_map(move |(keys, seed)| {
                v(
                    "R11-dest-exclusive",
                    true,
                    keys.into_iter()
                        .map(|k| {
                            let val = if k == key::OUTPOST {
                                outpost_arn(&region, seed)
                            } else {
                                format!("{}-lz-1a", "us-east-1")
                            };
                            kv(k, val)
                        })
                        .collect(),
                )
            })
            .boxed(),
    );
    let (lo, hi, st) = (l.dur_min, l.dur_max, l.dur_step);
    add(
        "R12-duration-range",
        one_of!(
            Just(0i64),
            Just(lo - 1),
            Just(lo + 1),
            Just(lo - st),
            Just(hi + st),
            Just(hi + 1),
            Just(-lo),
            (lo..hi).prop_filter("not a multiple", move |d| d % st != 0),
        )
        .prop_map(|d| v("R12-duration-range", true, vec![kv(key::DURATION, d.to_string())]))
        .boxed(),
    );
    let region = i.region.clone();
    add(
        "R13-duration-dest",
        (prop::sample::select(vec![key::OUTPOST, key::AZ, key::AZ_ID]), any::<u64>())
            .prop_map(move |(k, seed)| {
                let val = if k == key::OUTPOST { outpost_arn(&region, seed) } else { "us-east-1-bos-1a".to_owned() };
                v("R13-duration-dest", true, vec![kv(key::DURATION, lo.to_string()), kv(k, val)])
            })
            .boxed(),
    );
    add(
        "R14-tag-rt-missing",
        any::<bool>()
            .prop_map(|empty| {
                let mut e = vec![
                    (CLEAR_TAGS.into(), None),
                    kv("TagSpecification.1.Tag.1.Key", "k"),
                    kv("TagSpecification.1.Tag.1.Value", "v"),
                ];
                e.push(("TagSpecification.1.ResourceType".into(), empty.then(String::new)));
                v("R14-tag-rt-missing", true, e)
            })
            .boxed(),
    );
    add(
        "R15-tag-rt-bad",
        prop::sample::select(vec!["instance", "volume", "Image", "IMAGE", "snapshots", "ami"])
            .prop_map(|rt| {
                v(
                    "R15-tag-rt-bad",
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv("TagSpecification.1.ResourceType", rt),
                        kv("TagSpecification.1.Tag.1.Key", "k"),
                        kv("TagSpecification.1.Tag.1.Value", "v"),
                    ],
                )
            })
            .boxed(),
    );
    add(
        "R38-tagspec-empty",
        prop::sample::select(l.resource_types.clone())
            .prop_map(|rt| {
                v(
                    "R38-tagspec-empty",
                    false,
                    vec![(CLEAR_TAGS.into(), None), kv("TagSpecification.1.ResourceType", rt)],
                )
            })
            .boxed(),
    );
    let forbidden = l.tag_forbidden.clone();
    add(
        "R16-tag-key",
        one_of!(
            Just(Some(String::new())),
            Just(None),
            text(ALNUM.to_vec(), 0..20usize).prop_map(move |s| Some(format!("{forbidden}{s}"))),
        )
        .prop_map(|k| {
            let mut e = vec![
                (CLEAR_TAGS.into(), None),
                kv("TagSpecification.1.ResourceType", "image"),
                kv("TagSpecification.1.Tag.1.Value", "v"),
            ];
            e.push(("TagSpecification.1.Tag.1.Key".into(), k));
            v("R16-tag-key", true, e)
        })
        .boxed(),
    );
    add(
        "R16-tag-key-length",
        text(ALNUM.to_vec(), one_of!(Just(l.tag_key_max + 1), (l.tag_key_max + 1)..=(l.tag_key_max * 2)))
            .prop_map(|k| {
                v(
                    "R16-tag-key-length",
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv("TagSpecification.1.ResourceType", "image"),
                        kv("TagSpecification.1.Tag.1.Key", k),
                        kv("TagSpecification.1.Tag.1.Value", "v"),
                    ],
                )
            })
            .boxed(),
    );
    add(
        "R17-tag-value",
        text(TEXT.to_vec(), one_of!(Just(l.tag_value_max + 1), (l.tag_value_max + 1)..=(l.tag_value_max * 2)))
            .prop_map(|val| {
                v(
                    "R17-tag-value",
                    true,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv("TagSpecification.1.ResourceType", "image"),
                        kv("TagSpecification.1.Tag.1.Key", "k"),
                        kv("TagSpecification.1.Tag.1.Value", val),
                    ],
                )
            })
            .boxed(),
    );
    let most = l.tags_per_resource;
    add(
        "R18-tag-count",
        one_of!(Just(most + 1), (most + 1)..=(most + 10))
            .prop_map(|n| {
                let mut e = vec![(CLEAR_TAGS.into(), None), kv("TagSpecification.1.ResourceType", "image")];
                for m in 1..=n {
                    e.push(kv(&format!("TagSpecification.1.Tag.{m}.Key"), format!("key-{m}")));
                    e.push(kv(&format!("TagSpecification.1.Tag.{m}.Value"), "v"));
                }
                v("R18-tag-count", true, e)
            })
            .boxed(),
    );
    let f = l.bool_false.clone();
    add(
        "R19-kms-dep",
        (
            any::<bool>(),
            prop::sample::select(vec![
                "alias/my-key",
                "1234abcd-12ab-34cd-56ef-1234567890ab",
                "arn:aws:kms:us-east-1:012345678910:alias/x",
            ]),
        )
            .prop_map(move |(explicit, k)| {
                v(
                    "R19-kms-dep",
                    true,
                    vec![kv(key::KMS_KEY_ID, k), (key::ENCRYPTED.into(), explicit.then(|| f.clone()))],
                )
            })
            .boxed(),
    );
    let (certain, max) = (l.token_certain, l.token_max);
    add(
        "R20-token-len",
        one_of!(
            text(ALNUM.to_vec(), prop_oneof![Just(max + 1), (max + 1)..=(max * 2)]).prop_map(|t| v(
                "R20-token-len",
                true,
                vec![kv(key::CLIENT_TOKEN, t)]
            )),
            text(ALNUM.to_vec(), prop_oneof![Just(certain + 1), Just(max), (certain + 1)..=max]).prop_map(|t| v(
                "R20-token-len",
                false,
                vec![kv(key::CLIENT_TOKEN, t)]
            )),
        )
        .boxed(),
    );
    add(
        "R37-list-gap",
        prop::sample::select(vec![(1u32, 3u32), (2, 1), (1, 2)])
            .prop_map(|(n, m)| {
                v(
                    "R37-list-gap",
                    false,
                    vec![
                        (CLEAR_TAGS.into(), None),
                        kv(&format!("TagSpecification.{n}.ResourceType"), "image"),
                        kv(&format!("TagSpecification.{n}.Tag.{m}.Key"), "k"),
                        kv(&format!("TagSpecification.{n}.Tag.{m}.Value"), "v"),
                    ],
                )
            })
            .boxed(),
    );
    let t = l.bool_true.clone();
    add("R21-dryrun", Just(v("R21-dryrun", true, vec![kv(key::DRY_RUN, t)])).boxed());
    let (home, images) = (i.partition_regions.clone(), i.copyable.clone());
    add(
        "R25-ami-notfound",
        one_of!(
            any::<u64>().prop_map(|s| vec![kv(key::SOURCE_IMAGE_ID, format!("ami-{}", fill(HEX, 17, s)))]),
            // A real image, asked for in a Region it is not in.
            (prop::sample::select(images), prop::sample::select(home))
                .prop_filter("another Region than the image's", |((_, r, _), other)| r != other)
                .prop_map(|((id, _, _), other)| vec![kv(key::SOURCE_IMAGE_ID, id), kv(key::SOURCE_REGION, other)]),
        )
        .prop_map(|e| v("R25-ami-notfound", true, e))
        .boxed(),
    );
    let pick = |list: &Vec<(String, String)>, rule: &'static str| {
        prop::sample::select(list.clone())
            .prop_map(move |(id, r)| v(rule, true, vec![kv(key::SOURCE_IMAGE_ID, id), kv(key::SOURCE_REGION, r)]))
            .boxed()
    };
    if !i.unavailable.is_empty() {
        add("R26-ami-unavailable", pick(&i.unavailable, "R26-ami-unavailable"));
    }
    if !i.storage_denied.is_empty() {
        add("R27-storage-perm", pick(&i.storage_denied, "R27-storage-perm"));
    }
    if !i.marketplace.is_empty() {
        add("R28-marketplace", pick(&i.marketplace, "R28-marketplace"));
    }
    if !i.encrypted.is_empty() {
        let f = l.bool_false.clone();
        add(
            "R29-unencrypt",
            prop::sample::select(i.encrypted.clone())
                .prop_map(move |(id, r)| {
                    v(
                        "R29-unencrypt",
                        true,
                        vec![
                            kv(key::SOURCE_IMAGE_ID, id),
                            kv(key::SOURCE_REGION, r),
                            kv(key::ENCRYPTED, f.clone()),
                            (key::KMS_KEY_ID.into(), None),
                        ],
                    )
                })
                .boxed(),
        );
    }
    let foreign = i.foreign_regions.clone();
    add(
        "R30-unsupported-pair",
        one_of!(
            prop::sample::select(foreign).prop_map(|r| vec![kv(key::SOURCE_REGION, r)]),
            // An Outpost in another Region than the source image.
            (prop::sample::select(i.copyable.clone()), prop::sample::select(i.partition_regions.clone()), any::<u64>())
                .prop_filter("another Region than the image's", |((_, r, _), other, _)| r != other)
                .prop_map(|((id, r, _), other, s)| vec![
                    kv(key::SOURCE_IMAGE_ID, id),
                    kv(key::SOURCE_REGION, r),
                    kv(key::OUTPOST, outpost_arn(&other, s)),
                    (key::AZ.into(), None),
                    (key::AZ_ID.into(), None),
                    (key::DURATION.into(), None)
                ]),
        )
        .prop_map(|e| v("R30-unsupported-pair", true, e))
        .boxed(),
    );
    if !i.taken_names.is_empty() {
        // Names from other Regions are the boundary: the same name, no clash.
        let names: Vec<(String, bool)> = i
            .taken_names
            .iter()
            .map(|n| (n.clone(), true))
            .chain(i.other_region_names.iter().map(|n| (n.clone(), false)))
            .collect();
        add(
            "R31-name-dup",
            prop::sample::select(names).prop_map(|(n, _)| v("R31-name-dup", false, vec![kv(key::NAME, n)])).boxed(),
        );
    }
    out
}

/// Any one violation, drawn evenly over the rules.
pub fn any_violation(list: &[(&'static str, BoxedStrategy<Violation>)]) -> BoxedStrategy<Violation> {
    OneOf::new(list.iter().map(|(_, s)| s.clone()).collect()).boxed()
}
