//! The world a request meets: the destination Region, the account's view of source images,
//! and the client tokens already used. The oracle reads it; a successful copy adds to it.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::spec::Spec;
use crate::spec::key;

/// Raw wire parameters: query key to value, e.g. `TagSpecification.1.Tag.1.Key` to `env`.
/// Sorted, so encodings, snapshots and generated output are stable.
pub type Params = BTreeMap<String, String>;

/// The default world, compiled in; the embedded endpoint starts with it.
pub const DEFAULT_WORLD: &str = include_str!("../specs/world.json");

/// The name of the default world in messages.
pub const DEFAULT_WORLD_ORIGIN: &str = "specs/world.json";

/// A world file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct WorldError {
    /// The file (or `stdin`) it came from.
    pub origin: String,
    /// What is wrong, with line and column where known.
    pub message: String,
}

/// The lifecycle state of a source image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ImageState {
    /// Ready to copy.
    #[default]
    Available,
    /// Still being created.
    Pending,
    /// Creation failed.
    Failed,
    /// Deregistered by its owner.
    Deregistered,
}

/// A source image as the caller's account sees it.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Image {
    /// `ami-…`.
    pub image_id: String,
    /// The Region it lives in.
    pub region: String,
    /// Its state; `available` when omitted.
    #[serde(default)]
    pub state: ImageState,
    /// Whether its snapshots are encrypted.
    #[serde(default)]
    pub encrypted: bool,
    /// Its name, for the duplicate-name rule and for copies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Its description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The owning account; the world's account when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Whether the caller can see it at all (a private image of another account: false).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub visible: bool,
    /// Whether its backing snapshots are shared with the caller.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub storage_shared: bool,
    /// Whether it carries Marketplace or billing product codes.
    #[serde(default, skip_serializing_if = "is_false")]
    pub billing_products: bool,
    /// Whether it is derived from an AWS Marketplace product; when omitted, whatever
    /// `billing_products` says (older worlds used that one flag for both). A billing code alone
    /// (e.g. a Windows or RHEL AMI) does not block a copy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub marketplace: Option<bool>,
    /// Its backing snapshot id, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Its user-defined tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// What the image stands for in a stored corpus (`plain`, `encrypted`, `other-region`,
    /// `deregistered`, ...): a corpus names source images by role, and a run maps each role
    /// to the id the endpoint gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Image {
    /// An available, unencrypted, visible image of the caller's with nothing else known.
    pub fn new(image_id: &str, region: &str) -> Self {
        Image {
            image_id: image_id.to_owned(),
            region: region.to_owned(),
            state: ImageState::Available,
            encrypted: false,
            name: None,
            description: None,
            owner: None,
            visible: true,
            storage_shared: true,
            billing_products: false,
            marketplace: None,
            snapshot_id: None,
            tags: BTreeMap::new(),
            role: None,
        }
    }
}

impl Image {
    /// Whether it is Marketplace-derived (`marketplace`, else `billing_products`).
    pub fn is_marketplace(&self) -> bool {
        self.marketplace.unwrap_or(self.billing_products)
    }
}

/// A client token already used by a successful copy.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TokenUse {
    /// The token.
    pub token: String,
    /// The parameters of the call that used it.
    pub params: Params,
    /// The ImageId that call returned.
    pub image_id: String,
}

/// Everything the oracle knows beyond the request.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// The destination Region: the Region of the endpoint.
    pub region: String,
    /// The caller's account.
    #[serde(default = "default_account")]
    pub account: String,
    /// Whether the caller may call ec2:CopyImage.
    #[serde(default = "yes")]
    pub authorized: bool,
    /// Source images.
    #[serde(default)]
    pub images: Vec<Image>,
    /// Tokens already used.
    #[serde(default)]
    pub tokens: Vec<TokenUse>,
    /// Lookups by id, name and token. A world grows by one image per copy, and every
    /// prediction looks things up, so scans would make a long run quadratic.
    #[serde(skip)]
    index: Index,
}

/// Positions in `images` and `tokens` by key, valid while the lengths it counted hold (a
/// direct push to the vectors makes lookups fall back to scanning).
#[derive(Clone, Debug, Default)]
struct Index {
    images: usize,
    tokens: usize,
    by_id: HashMap<String, Vec<usize>>,
    by_name: HashMap<String, Vec<usize>>,
    by_token: HashMap<String, usize>,
    tokens_lower: HashMap<String, usize>,
    tokens_by_image: HashMap<String, Vec<usize>>,
}

// The index is derived data: two worlds with the same images and tokens are equal.
impl PartialEq for Index {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Index {}

impl Index {
    fn add_image(&mut self, i: usize, img: &Image) {
        self.by_id.entry(img.image_id.clone()).or_default().push(i);
        if let Some(n) = &img.name {
            self.by_name.entry(n.clone()).or_default().push(i);
        }
        self.images += 1;
    }

    fn add_token(&mut self, i: usize, t: &TokenUse) {
        self.by_token.entry(t.token.clone()).or_insert(i);
        *self.tokens_lower.entry(t.token.to_ascii_lowercase()).or_default() += 1;
        self.tokens_by_image.entry(t.image_id.clone()).or_default().push(i);
        self.tokens += 1;
    }
}

fn default_account() -> String {
    "123456789012".into()
}
fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_false(b: &bool) -> bool {
    !*b
}

impl World {
    /// The built-in default world.
    pub fn default_world() -> Self {
        Self::parse(DEFAULT_WORLD, DEFAULT_WORLD_ORIGIN).expect("the built-in world is valid")
    }

    /// Parses world JSON; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, WorldError> {
        let mut w: World =
            serde_json::from_str(text).map_err(|e| WorldError { origin: origin.into(), message: e.to_string() })?;
        w.reindex();
        Ok(w)
    }

    /// A world with these images and no tokens.
    pub fn new(region: &str, account: &str, images: Vec<Image>) -> Self {
        let mut w = World {
            region: region.to_owned(),
            account: account.to_owned(),
            authorized: true,
            images,
            tokens: vec![],
            index: Index::default(),
        };
        w.reindex();
        w
    }

    /// Rebuilds the lookups after `images` or `tokens` were changed directly.
    pub fn reindex(&mut self) {
        let mut index = Index::default();
        for (i, img) in self.images.iter().enumerate() {
            // Forgotten copies keep their place with an empty id; they stay unfindable.
            if img.image_id.is_empty() {
                index.images += 1;
            } else {
                index.add_image(i, img);
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if t.token.is_empty() {
                index.tokens += 1;
            } else {
                index.add_token(i, t);
            }
        }
        self.index = index;
    }

    fn images_fresh(&self) -> bool {
        self.index.images == self.images.len()
    }

    fn tokens_fresh(&self) -> bool {
        self.index.tokens == self.tokens.len()
    }

    /// Images with this name, in any Region.
    pub fn images_named<'a>(&'a self, name: &str) -> Box<dyn Iterator<Item = &'a Image> + 'a> {
        if self.images_fresh() {
            let at = self.index.by_name.get(name).map(Vec::as_slice).unwrap_or_default();
            Box::new(at.iter().map(|&i| &self.images[i]))
        } else {
            let name = name.to_owned();
            Box::new(self.images.iter().filter(move |i| i.name.as_deref() == Some(name.as_str())))
        }
    }

    /// Whether any image, in any Region, has this id.
    pub fn has_image_id(&self, image_id: &str) -> bool {
        if self.images_fresh() {
            self.index.by_id.contains_key(image_id)
        } else {
            self.images.iter().any(|i| i.image_id == image_id)
        }
    }

    /// Whether a used token equals this one when letter case is ignored.
    pub fn has_token_ignoring_case(&self, token: &str) -> bool {
        if self.tokens_fresh() {
            self.index.tokens_lower.contains_key(&token.to_ascii_lowercase())
        } else {
            self.tokens.iter().any(|t| t.token.eq_ignore_ascii_case(token))
        }
    }

    /// Reads a world file.
    pub fn load(path: &Path) -> Result<Self, WorldError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| WorldError { origin: origin.clone(), message: format!("cannot read: {e}") })?;
        Self::parse(&text, &origin)
    }

    /// Reads a world file (the built-in world when `None`) and checks it against the spec
    /// ([`World::validate`]).
    pub fn load_checked(path: Option<&Path>, spec: &Spec) -> Result<Self, WorldError> {
        let (w, origin) = match path {
            Some(p) => (Self::load(p)?, p.display().to_string()),
            None => (Self::default_world(), DEFAULT_WORLD_ORIGIN.to_owned()),
        };
        w.validate(spec, &origin)?;
        Ok(w)
    }

    /// Checks what JSON alone cannot: the Regions are the spec's, every image id is an AMI id
    /// by the spec's `SourceImageId` pattern and names one image per Region, and every token
    /// names an AMI id. The first problem is the error, with its place (`images[3].image_id`).
    pub fn validate(&self, spec: &Spec, origin: &str) -> Result<(), WorldError> {
        let fail = |message: String| Err(WorldError { origin: origin.to_owned(), message });
        let known = |r: &str| spec.partition_of(r).is_some();
        if !known(&self.region) {
            return fail(format!("region {:?}: not a Region of any partition of the spec", self.region));
        }
        let ami = spec.param(key::SOURCE_IMAGE_ID).and_then(|p| p.pattern.as_deref());
        // What follows the field's place in the message.
        let id_problem = |id: &str| match ami {
            _ if id.is_empty() => Some(": empty, not an AMI id".to_owned()),
            Some(pat) if !spec.regex(pat).is_match(id) => {
                Some(format!(" {id:?}: not an AMI id (the spec's SourceImageId pattern is {pat})"))
            }
            _ => None,
        };
        let mut seen: HashMap<(&str, &str), usize> = HashMap::with_capacity(self.images.len());
        for (i, img) in self.images.iter().enumerate() {
            if let Some(p) = id_problem(&img.image_id) {
                return fail(format!("images[{i}].image_id{p}"));
            }
            if !known(&img.region) {
                return fail(format!("images[{i}].region {:?}: not a Region of any partition of the spec", img.region));
            }
            if let Some(first) = seen.insert((&img.image_id, &img.region), i) {
                return fail(format!(
                    "images[{i}].image_id {:?}: images[{first}] has the same id in {}; an id names one image per Region",
                    img.image_id, img.region
                ));
            }
        }
        for (i, t) in self.tokens.iter().enumerate() {
            if let Some(p) = id_problem(&t.image_id) {
                return fail(format!("tokens[{i}].image_id{p}"));
            }
        }
        Ok(())
    }

    /// The owner of an image, defaulting to this world's account.
    pub fn owner_of<'a>(&'a self, image: &'a Image) -> &'a str {
        image.owner.as_deref().unwrap_or(&self.account)
    }

    /// The image with this id in this Region.
    pub fn image(&self, image_id: &str, region: &str) -> Option<&Image> {
        if self.images_fresh() {
            let at = self.index.by_id.get(image_id)?;
            at.iter().map(|&i| &self.images[i]).find(|i| i.region == region)
        } else {
            self.images.iter().find(|i| i.image_id == image_id && i.region == region)
        }
    }

    /// The earlier use of this token, if any (tokens are case-sensitive).
    pub fn token(&self, token: &str) -> Option<&TokenUse> {
        if self.tokens_fresh() {
            self.index.by_token.get(token).map(|&i| &self.tokens[i])
        } else {
            self.tokens.iter().find(|t| !t.token.is_empty() && t.token == token)
        }
    }

    /// Records a successful, non-dry-run copy: the new image in the destination Region and the
    /// token it used.
    pub fn record_copy(&mut self, params: &Params, image_id: &str, encrypted: bool) {
        if let Some(token) = params.get("ClientToken")
            && self.token(token).is_none()
        {
            let fresh = self.tokens_fresh();
            let t = TokenUse { token: token.clone(), params: params.clone(), image_id: image_id.to_owned() };
            if fresh {
                self.index.add_token(self.tokens.len(), &t);
            }
            self.tokens.push(t);
        }
        if self.image(image_id, &self.region.clone()).is_some() {
            return;
        }
        let fresh = self.images_fresh();
        self.images.push(Image {
            encrypted,
            name: params.get("Name").cloned(),
            description: params.get("Description").cloned(),
            ..Image::new(image_id, &self.region)
        });
        if fresh {
            let i = self.images.len() - 1;
            let img = self.images[i].clone();
            self.index.add_image(i, &img);
        }
    }
}

impl World {
    /// Removes the images and tokens after the first `images` and `tokens` (the ones copies
    /// added since), and their lookups: a world used as scratch space goes back to what it was.
    pub fn truncate(&mut self, images: usize, tokens: usize) {
        if !(self.images_fresh() && self.tokens_fresh()) {
            self.images.truncate(images);
            self.tokens.truncate(tokens);
            self.reindex();
            return;
        }
        let index = &mut self.index;
        for (i, img) in self.images.iter().enumerate().skip(images) {
            unlist(&mut index.by_id, &img.image_id, i);
            if let Some(n) = &img.name {
                unlist(&mut index.by_name, n, i);
            }
        }
        for (i, t) in self.tokens.iter().enumerate().skip(tokens) {
            if index.by_token.get(&t.token) == Some(&i) {
                index.by_token.remove(&t.token);
            }
            let lower = t.token.to_ascii_lowercase();
            if let Some(n) = index.tokens_lower.get_mut(&lower) {
                *n -= 1;
                if *n == 0 {
                    index.tokens_lower.remove(&lower);
                }
            }
            unlist(&mut index.tokens_by_image, &t.image_id, i);
        }
        self.images.truncate(images);
        self.tokens.truncate(tokens);
        index.images = self.images.len();
        index.tokens = self.tokens.len();
    }

    /// Sets the tags of the image(s) with this id.
    pub fn set_image_tags(&mut self, image_id: &str, tags: BTreeMap<String, String>) {
        let at: Vec<usize> = if self.images_fresh() {
            self.index.by_id.get(image_id).cloned().unwrap_or_default()
        } else {
            (0..self.images.len()).filter(|&i| self.images[i].image_id == image_id).collect()
        };
        for i in at {
            self.images[i].tags = tags.clone();
        }
    }

    /// Gives a pending copy its real ImageId (in images and in the tokens that name it).
    pub fn rename_image(&mut self, from: &str, to: &str) {
        if !(self.images_fresh() && self.tokens_fresh()) {
            self.reindex();
        }
        let images = self.index.by_id.remove(from).unwrap_or_default();
        for &i in &images {
            self.images[i].image_id = to.to_owned();
        }
        if !images.is_empty() {
            self.index.by_id.entry(to.to_owned()).or_default().extend(images);
        }
        let tokens = self.index.tokens_by_image.remove(from).unwrap_or_default();
        for &i in &tokens {
            self.tokens[i].image_id = to.to_owned();
        }
        if !tokens.is_empty() {
            self.index.tokens_by_image.entry(to.to_owned()).or_default().extend(tokens);
        }
    }

    /// Forgets a pending copy the endpoint did not make: its image is marked deregistered
    /// under an empty id and its token emptied, so nothing finds them (entries stay in place,
    /// which keeps every other position in the index valid).
    pub fn forget_image(&mut self, id: &str) {
        if !(self.images_fresh() && self.tokens_fresh()) {
            self.reindex();
        }
        for i in self.index.by_id.remove(id).unwrap_or_default() {
            let img = &mut self.images[i];
            if let Some(name) = &img.name
                && let Some(at) = self.index.by_name.get_mut(name)
            {
                at.retain(|&j| j != i);
            }
            img.image_id.clear();
            img.state = ImageState::Deregistered;
        }
        for i in self.index.tokens_by_image.remove(id).unwrap_or_default() {
            let t = &mut self.tokens[i];
            if self.index.by_token.get(&t.token) == Some(&i) {
                self.index.by_token.remove(&t.token);
            }
            let lower = t.token.to_ascii_lowercase();
            if let Some(n) = self.index.tokens_lower.get_mut(&lower) {
                *n -= 1;
                if *n == 0 {
                    self.index.tokens_lower.remove(&lower);
                }
            }
            t.token.clear();
            t.image_id.clear();
        }
    }
}

/// Drops position `i` from the positions listed under `key`, and the key when none is left.
fn unlist(map: &mut HashMap<String, Vec<usize>>, key: &str, i: usize) {
    if let Some(at) = map.get_mut(key) {
        at.retain(|&j| j != i);
        if at.is_empty() {
            map.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in() {
        let w =
            World::parse(r#"{"region":"us-east-1","images":[{"image_id":"ami-12345678","region":"us-east-1"}]}"#, "t")
                .unwrap();
        assert_eq!(w.account, "123456789012");
        assert!(w.authorized);
        assert_eq!(w.images[0].state, ImageState::Available);
        assert!(!w.images[0].encrypted);
    }

    #[test]
    fn unknown_field_is_an_error_with_position() {
        let e = World::parse(r#"{"region":"us-east-1","imagez":[]}"#, "w.json").unwrap_err();
        assert!(e.to_string().starts_with("w.json: unknown field `imagez`"), "{e}");
        assert!(e.to_string().contains("line 1"), "{e}");
    }

    #[test]
    fn pending_copies_are_renamed_or_forgotten() {
        let mut w = World::parse(r#"{"region":"us-east-1"}"#, "t").unwrap();
        let p: Params = [("ClientToken", "t1"), ("Name", "n1")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        w.record_copy(&p, "pending-1", false);
        w.rename_image("pending-1", "ami-11111111111111111");
        assert_eq!(w.token("t1").unwrap().image_id, "ami-11111111111111111");
        assert!(w.image("ami-11111111111111111", "us-east-1").is_some());
        w.forget_image("ami-11111111111111111");
        assert!(w.image("ami-11111111111111111", "us-east-1").is_none());
        assert!(w.token("t1").is_none() && !w.has_token_ignoring_case("T1"));
        assert_eq!(w.images_named("n1").count(), 0);
        // A later copy with the same token and name is a fresh one.
        w.record_copy(&p, "ami-22222222222222222", false);
        assert_eq!(w.token("t1").unwrap().image_id, "ami-22222222222222222");
        assert_eq!(w.images_named("n1").count(), 1);
    }

    #[test]
    fn truncate_undoes_copies_and_their_lookups() {
        let mut w = World::default_world();
        w.record_copy(&[("ClientToken", "Tok")].map(|(k, v)| (k.to_owned(), v.to_owned())).into(), "ami-1", false);
        let before = w.clone();
        let p: Params =
            [("ClientToken", "tok"), ("Name", "src-plain")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
        w.record_copy(&p, "$setup.0", false);
        w.set_image_tags("$setup.0", [("k".to_owned(), "v".to_owned())].into());
        assert_eq!(w.images_named("src-plain").count(), 2);
        w.truncate(before.images.len(), before.tokens.len());
        assert_eq!(w, before);
        assert!(w.image("$setup.0", "us-east-1").is_none() && !w.has_image_id("$setup.0"));
        assert!(w.token("tok").is_none() && w.token("Tok").is_some() && w.has_token_ignoring_case("TOK"));
        assert_eq!(w.images_named("src-plain").count(), 1);
        // The lookups are still in use (no scan), and a new copy finds its place.
        w.record_copy(&p, "$setup.0", false);
        assert_eq!(w.token("tok").unwrap().image_id, "$setup.0");
        assert!(w.images_fresh() && w.tokens_fresh());
    }

    #[test]
    fn lookups_survive_direct_pushes() {
        let mut w = World::default_world();
        let mut img = w.images[0].clone();
        img.image_id = "ami-33333333333333333".into();
        w.images.push(img);
        assert!(w.image("ami-33333333333333333", "us-east-1").is_some());
        assert!(w.has_image_id("ami-0a1b2c3d4e5f60718"));
    }

    #[test]
    fn the_built_in_world_is_valid_and_a_forged_id_is_not() {
        let spec = Spec::builtin().unwrap();
        let mut w = World::default_world();
        w.validate(&spec, DEFAULT_WORLD_ORIGIN).unwrap();
        w.images[2].image_id = "ami-0F1E2D3C4B5A69788".into();
        let e = w.validate(&spec, "w.json").unwrap_err().to_string();
        assert!(e.starts_with(r#"w.json: images[2].image_id "ami-0F1E2D3C4B5A69788": not an AMI id"#), "{e}");
    }

    #[test]
    fn bad_state_is_an_error() {
        let e = World::parse(r#"{"region":"r","images":[{"image_id":"ami-1","region":"r","state":"gone"}]}"#, "w")
            .unwrap_err();
        assert!(e.to_string().contains("unknown variant `gone`"), "{e}");
    }
}
