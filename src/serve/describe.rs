//! `DescribeImages` on the embedded endpoint: which images a request selects (`ImageId.N`,
//! `Owner.N`, `Filter.N.Name`/`Filter.N.Value.M`) as EC2 applies them, the errors EC2 gives for
//! malformed or unknown ids, and what the endpoint knows of its copies beyond the world.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::world::{Image, ImageState, Params, World};

/// The root device every described image reports.
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// The wire text of an image state.
pub fn state_text(state: ImageState) -> &'static str {
    match state {
        ImageState::Available => "available",
        ImageState::Pending => "pending",
        ImageState::Failed => "failed",
        ImageState::Deregistered => "deregistered",
    }
}

/// What the endpoint remembers of a copy it made: where it came from and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyInfo {
    /// The image it was copied from.
    pub source_image_id: Arc<str>,
    /// The Region it was copied from.
    pub source_region: Arc<str>,
    /// When it was made, as EC2 writes `creationDate` (`2026-11-25T18:00:00.000Z`).
    pub created: Arc<str>,
}

/// The [`CopyInfo`] of every copy the endpoint made, by copy number (they count up from 1),
/// each as three positions in one table of texts: a long run makes many copies of a few
/// sources within each second, so twelve bytes a copy is what it costs.
#[derive(Debug, Default)]
pub struct MadeCopies {
    texts: Vec<Arc<str>>,
    positions: HashMap<Arc<str>, u32>,
    /// Per copy number less one, in chunks of `CHUNK` (a long run's table never doubles nor
    /// moves); `NONE` where the endpoint made no copy or knew no source.
    copies: Vec<Box<[[u32; 3]]>>,
}

const NONE: u32 = u32::MAX;

/// Copies a chunk of [`MadeCopies`] holds.
const CHUNK: usize = 1 << 12;

impl MadeCopies {
    /// Remembers copy `number`.
    pub fn insert(&mut self, number: u64, source_image_id: &str, source_region: &str, created: &str) {
        let Some(at) = number.checked_sub(1).and_then(|n| usize::try_from(n).ok()) else { return };
        let info = [source_image_id, source_region, created].map(|t| self.position(t));
        while self.copies.len() <= at / CHUNK {
            self.copies.push(vec![[NONE; 3]; CHUNK].into_boxed_slice());
        }
        self.copies[at / CHUNK][at % CHUNK] = info;
    }

    fn position(&mut self, text: &str) -> u32 {
        if let Some(&p) = self.positions.get(text) {
            return p;
        }
        let t: Arc<str> = text.into();
        let p = u32::try_from(self.texts.len()).expect("fewer than 2^32 texts");
        self.texts.push(Arc::clone(&t));
        self.positions.insert(t, p);
        p
    }

    /// What it remembers of copy `number`.
    pub fn get(&self, number: u64) -> Option<CopyInfo> {
        let at = usize::try_from(number.checked_sub(1)?).ok()?;
        let [id, region, created] = *self.copies.get(at / CHUNK)?.get(at % CHUNK).filter(|c| c[0] != NONE)?;
        let text = |p: u32| Arc::clone(&self.texts[p as usize]);
        Some(CopyInfo { source_image_id: text(id), source_region: text(region), created: text(created) })
    }
}

/// The `creationDate` of images the endpoint did not make (the world's own).
pub const WORLD_CREATION_DATE: &str = "2024-01-01T00:00:00.000Z";

/// A refusal of a DescribeImages request: the EC2 code and message, HTTP 400.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The EC2 error code.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

/// One `Filter.N`: its name and the values any of which may match.
struct Filter<'a> {
    name: &'a str,
    values: Vec<&'a str>,
}

/// The values of the list `prefix` (`ImageId.` for `ImageId.1`, `ImageId.2`, ...), in key
/// order.
pub fn list<'a>(params: &'a Params, prefix: &'a str) -> impl Iterator<Item = &'a str> {
    params
        .iter()
        .filter(move |(k, _)| k.strip_prefix(prefix).is_some_and(|n| !n.contains('.')))
        .map(|(_, v)| v.as_str())
}

fn filters(params: &Params) -> Vec<Filter<'_>> {
    let mut by_index: BTreeMap<&str, Filter<'_>> = BTreeMap::new();
    for (k, v) in params {
        let Some((n, rest)) = k.strip_prefix("Filter.").and_then(|r| r.split_once('.')) else {
            continue;
        };
        let filter = by_index.entry(n).or_insert(Filter { name: "", values: vec![] });
        if rest == "Name" {
            filter.name = v;
        } else if rest.strip_prefix("Value.").is_some_and(|m| !m.contains('.')) {
            filter.values.push(v);
        }
    }
    by_index.into_values().collect()
}

/// The filter names the endpoint applies (besides `tag:<key>`).
const FILTER_NAMES: &[&str] = &[
    "architecture",
    "block-device-mapping.encrypted",
    "block-device-mapping.snapshot-id",
    "description",
    "image-id",
    "image-type",
    "is-public",
    "name",
    "owner-id",
    "root-device-name",
    "root-device-type",
    "state",
    "tag-key",
];

/// Whether `text` matches an EC2 filter value, where `*` stands for any run of characters and
/// `?` for one.
pub fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Classic two-pointer wildcard match with backtracking to the last `*`.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// The images a DescribeImages request selects, or EC2's refusal. `id_pattern` is the spec's
/// AMI id grammar (without one, no id is malformed); `snapshot` gives an image's backing
/// snapshot id.
pub fn select<'w>(
    world: &'w World,
    params: &Params,
    id_pattern: Option<&regex::Regex>,
    snapshot: impl Fn(&Image) -> String,
) -> Result<Vec<Cow<'w, Image>>, Refusal> {
    let ids: Vec<&str> = list(params, "ImageId.").collect();
    if let Some(bad) = ids.iter().find(|id| id_pattern.is_some_and(|re| !re.is_match(id))) {
        return Err(Refusal {
            code: "InvalidAMIID.Malformed",
            message: format!("Invalid id: \"{bad}\" (expecting \"ami-...\")"),
        });
    }
    let here = |i: &Cow<'_, Image>| i.region == world.region && i.visible;
    // An id names one image per Region.
    let missing: Vec<&str> =
        ids.iter().copied().filter(|id| !world.image(id, &world.region).is_some_and(|i| i.visible)).collect();
    if !missing.is_empty() {
        let message = match missing.as_slice() {
            [one] => format!("The image id '[{one}]' does not exist"),
            many => format!("The image ids '[{}]' do not exist", many.join(", ")),
        };
        return Err(Refusal { code: "InvalidAMIID.NotFound", message });
    }
    let filters = filters(params);
    if let Some(f) = filters.iter().find(|f| !f.name.starts_with("tag:") && !FILTER_NAMES.contains(&f.name)) {
        return Err(Refusal { code: "InvalidParameterValue", message: format!("The filter '{}' is invalid", f.name) });
    }
    let owners: Vec<&str> =
        list(params, "Owner.").map(|o| if o == "self" { world.account.as_str() } else { o }).collect();
    // One id, or one exact name, is a lookup: a scan per request would make a long session
    // against the endpoint quadratic in its copies.
    let candidates: Box<dyn Iterator<Item = Cow<'w, Image>> + 'w> = match (ids.as_slice(), exact_name(&filters)) {
        ([one], _) => Box::new(world.image(one, &world.region).into_iter()),
        ([], Some(name)) => Box::new(world.images_named(name)),
        _ => Box::new(world.all_images()),
    };
    Ok(candidates
        .filter(here)
        .filter(
            |i| {
                if ids.is_empty() { i.state != ImageState::Deregistered } else { ids.contains(&i.image_id.as_str()) }
            },
        )
        .filter(|i| owners.is_empty() || owners.contains(&world.owner_of(i)))
        .filter(|i| filters.iter().all(|f| matches(f, i, world, &snapshot)))
        .collect())
}

/// The one name the filters allow, when they hold a `name` filter of one value without
/// wildcards.
fn exact_name<'a>(filters: &[Filter<'a>]) -> Option<&'a str> {
    filters.iter().find_map(|f| match f.values.as_slice() {
        [v] if f.name == "name" && !v.contains(['*', '?']) => Some(*v),
        _ => None,
    })
}

/// Whether one image passes one filter: any of its values matches.
fn matches(f: &Filter<'_>, image: &Image, world: &World, snapshot: &impl Fn(&Image) -> String) -> bool {
    let field: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
        image.tags.get(key).into_iter().cloned().collect()
    } else {
        match f.name {
            "architecture" => vec![ARCHITECTURE.into()],
            "block-device-mapping.encrypted" => vec![image.encrypted.to_string()],
            "block-device-mapping.snapshot-id" => vec![snapshot(image)],
            "description" => image.description.iter().cloned().collect(),
            "image-id" => vec![image.image_id.clone()],
            "image-type" => vec![IMAGE_TYPE.into()],
            "is-public" => vec!["false".into()],
            "name" => image.name.iter().cloned().collect(),
            "owner-id" => vec![world.owner_of(image).to_owned()],
            "root-device-name" => vec![ROOT_DEVICE.into()],
            "root-device-type" => vec!["ebs".into()],
            "state" => vec![state_text(image.state).into()],
            "tag-key" => image.tags.keys().cloned().collect(),
            _ => vec![],
        }
    };
    f.values.iter().any(|v| field.iter().any(|text| glob(v, text)))
}

/// The architecture every described image reports.
pub const ARCHITECTURE: &str = "x86_64";
/// The image type every described image reports.
pub const IMAGE_TYPE: &str = "machine";

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn ids(world: &World, pairs: &[(&str, &str)]) -> Result<Vec<String>, Refusal> {
        let re = regex::Regex::new("^ami-([0-9a-f]{8}|[0-9a-f]{17})$").unwrap();
        let got = select(world, &params(pairs), Some(&re), |i| format!("snap-{}", i.image_id))?;
        Ok(got.into_iter().map(|i| i.image_id.clone()).collect())
    }

    #[test]
    fn made_copies_are_found_by_number_across_chunks() {
        let mut m = MadeCopies::default();
        for n in [1, CHUNK as u64 + 2] {
            m.insert(n, &format!("ami-{n}"), "us-east-1", "2026-11-25T18:00:00.000Z");
        }
        let source = |n| m.get(n).map(|c| c.source_image_id.to_string());
        assert_eq!(source(1).as_deref(), Some("ami-1"));
        assert_eq!(source(CHUNK as u64 + 2), Some(format!("ami-{}", CHUNK + 2)));
        assert_eq!((source(0), source(2), source(CHUNK as u64 * 3)), (None, None, None));
    }

    #[test]
    fn one_id_or_one_exact_name_finds_copies_as_a_scan_does() {
        let mut w = World::default_world();
        w.record_copy(&params(&[("Name", "copy-a"), ("ClientToken", "t")]), "ami-0c0ffee0000000001", false);
        w.record_copy(&params(&[("Name", "src-plain")]), "ami-0c0ffee0000000002", false);
        let name = |v| [("Filter.1.Name", "name"), ("Filter.1.Value.1", v)];
        for query in [&[("ImageId.1", "ami-0c0ffee0000000001")][..], &name("copy-a"), &name("copy-?")] {
            assert_eq!(ids(&w, query).unwrap(), ["ami-0c0ffee0000000001"], "{query:?}");
        }
        let plain = ["ami-0a1b2c3d4e5f60718", "ami-0c0ffee0000000002"];
        assert_eq!(ids(&w, &name("src-plain")).unwrap(), plain);
        assert_eq!(ids(&w, &name("src-plai*")).unwrap(), plain);
        assert!(ids(&w, &[("ImageId.1", "ami-0c0ffee0000000003")]).is_err());
    }

    #[test]
    fn globs_match_as_ec2_filters_do() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("a?c", "abc"));
        assert!(!glob("a?c", "abbc"));
        assert!(glob("*", ""));
        assert!(glob("my ami *", "my ami 2"));
        assert!(!glob("abc", "abcd"));
        assert!(glob("*x*y", "axbxy"));
    }

    #[test]
    fn bad_and_unknown_ids_are_refused_as_ec2_does() {
        let w = World::default_world();
        let e = ids(&w, &[("ImageId.1", "ami-nothex")]).unwrap_err();
        assert_eq!(e.code, "InvalidAMIID.Malformed");
        assert_eq!(e.message, "Invalid id: \"ami-nothex\" (expecting \"ami-...\")");
        let e = ids(&w, &[("ImageId.1", "ami-0123456789abcdef0")]).unwrap_err();
        assert_eq!(
            e,
            Refusal {
                code: "InvalidAMIID.NotFound",
                message: "The image id '[ami-0123456789abcdef0]' does not exist".into()
            }
        );
        let e = ids(&w, &[("ImageId.1", "ami-0123456789abcdef0"), ("ImageId.2", "ami-0123456789abcdef1")]);
        assert!(e.unwrap_err().message.starts_with("The image ids '[ami-0123456789abcdef0, ami-0123456789abcdef1]'"));
    }

    #[test]
    fn filters_owners_and_ids_narrow_the_answer() {
        let w = World::default_world();
        let all = ids(&w, &[]).unwrap();
        assert!(all.len() > 1, "{all:?}");
        let first = w.images.iter().find(|i| i.region == w.region && i.visible && i.name.is_some()).unwrap();
        let name = first.name.clone().unwrap();
        assert_eq!(
            ids(&w, &[("Filter.1.Name", "name"), ("Filter.1.Value.1", &name)]).unwrap(),
            vec![first.image_id.clone()]
        );
        assert_eq!(ids(&w, &[("ImageId.1", &first.image_id)]).unwrap(), vec![first.image_id.clone()]);
        let mine = ids(&w, &[("Owner.1", "self")]).unwrap();
        assert!(mine.iter().all(|id| w.images.iter().any(|i| &i.image_id == id && w.owner_of(i) == w.account)));
        assert!(mine.len() < all.len() || w.images.iter().all(|i| w.owner_of(i) == w.account));
        let none = ids(&w, &[("Filter.1.Name", "name"), ("Filter.1.Value.1", &name), ("Filter.2.Name", "state")]);
        assert_eq!(none.unwrap(), Vec::<String>::new());
        let e = ids(&w, &[("Filter.1.Name", "colour"), ("Filter.1.Value.1", "red")]).unwrap_err();
        assert_eq!((e.code, e.message.as_str()), ("InvalidParameterValue", "The filter 'colour' is invalid"));
    }

    #[test]
    fn tag_filters_match_key_and_value() {
        let w = World::default_world();
        let Some(tagged) = w.images.iter().find(|i| i.region == w.region && i.visible && !i.tags.is_empty()) else {
            panic!("the default world has a tagged image");
        };
        let (k, v) = tagged.tags.iter().next().unwrap();
        let got = ids(&w, &[("Filter.1.Name", &format!("tag:{k}")), ("Filter.1.Value.1", v)]).unwrap();
        assert!(got.contains(&tagged.image_id));
        let got = ids(&w, &[("Filter.1.Name", &format!("tag:{k}")), ("Filter.1.Value.1", "no-such-value")]).unwrap();
        assert!(!got.contains(&tagged.image_id));
        let got = ids(&w, &[("Filter.1.Name", "tag-key"), ("Filter.1.Value.1", k)]).unwrap();
        assert!(got.contains(&tagged.image_id));
    }
}
