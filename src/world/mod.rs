//! The world a request meets: the destination Region, the account's view of source images,
//! and the client tokens already used. The oracle reads it; a successful copy adds to it.
//!
//! The images and tokens a world is loaded with are shared between its clones (a large world
//! is held once per process, however many stages read it); the copies made since are kept
//! apart, per clone, in compact records (see [`copies`]).

mod chains;
mod copies;
mod packed;
mod segmented;
mod spill;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::spec::Spec;
use crate::spec::input::{Limit, read_text};
use crate::spec::key;

/// Raw wire parameters: query key to value, e.g. `TagSpecification.1.Tag.1.Key` to `env`.
/// Sorted, so encodings, snapshots and generated output are stable.
pub type Params = BTreeMap<String, String>;

/// The default world, compiled in; the embedded endpoint starts with it.
pub const DEFAULT_WORLD: &str = include_str!("../../specs/world.json");

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

/// An earlier use of a client token, as the idempotency rules read it: the ImageId its call
/// returned, and enough of the call to tell whether another has the same parameters.
#[derive(Clone, Debug)]
pub struct UsedToken<'a> {
    /// The ImageId the call returned.
    pub image_id: Cow<'a, str>,
    params: UsedParams<'a>,
}

/// The call's parameters: a loaded token's as they are, a copy's hashed (see [`packed`]): per
/// parameter, or as one digest per list of left-out keys it was recorded for.
#[derive(Clone, Debug)]
enum UsedParams<'a> {
    Exact(&'a Params),
    Hashed(&'a [u64]),
    Digests { digests: &'a [u64; 2], lists: &'a [Vec<String>; 2] },
}

impl UsedToken<'_> {
    /// Whether `now` has the parameters of the call that used the token, leaving out the keys
    /// in `ignored`. A copy recorded with [`World::record_copy_compared`] can only be compared
    /// leaving out one of the lists it was recorded for: for any other, the answer is false.
    pub fn same_params(&self, now: &Params, ignored: &[&str]) -> bool {
        match self.params {
            UsedParams::Exact(before) => {
                let relevant = |(k, _): &(&String, &String)| !ignored.contains(&k.as_str());
                now.iter().filter(relevant).eq(before.iter().filter(relevant))
            }
            UsedParams::Hashed(before) => packed::same_hashed(now, before, ignored),
            UsedParams::Digests { digests, lists } => {
                let at = lists.iter().position(|l| packed::same_keys(l, ignored));
                debug_assert!(at.is_some(), "compared leaving out {ignored:?}, recorded for {lists:?}");
                at.is_some_and(|j| packed::digest_params(now, ignored) == digests[j])
            }
        }
    }
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
    /// The source images the world was made with, shared by its clones (change them with
    /// `Arc::make_mut`). Copies recorded since are not among them: see [`World::all_images`].
    #[serde(default)]
    pub images: Arc<Vec<Image>>,
    /// The tokens the world was made with. Tokens of copies recorded since are not among them:
    /// [`World::token`] finds those too.
    #[serde(default)]
    pub tokens: Vec<TokenUse>,
    /// Lookups by id, name and token into `images` and `tokens`, shared like `images`. Every
    /// prediction looks things up, so scans would make a long run quadratic.
    #[serde(skip)]
    index: Arc<Index>,
    /// The copies recorded since, with their tokens (not serialized: see [`World::flattened`]).
    #[serde(skip)]
    copies: copies::Copies,
}

/// Positions in `images` and `tokens` by key hash, valid while the lengths it counted hold (a
/// direct change to the vectors makes lookups fall back to scanning).
#[derive(Clone, Debug, Default)]
struct Index {
    images: usize,
    tokens: usize,
    by_id: chains::Chains,
    by_name: chains::Chains,
    by_token: chains::Chains,
    tokens_lower: chains::Chains,
}

// The index is derived data: two worlds with the same images and tokens are equal.
impl PartialEq for Index {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}
impl Eq for Index {}

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
            images: Arc::new(images),
            tokens: vec![],
            index: Arc::default(),
            copies: copies::Copies::default(),
        };
        w.reindex();
        w
    }

    /// Rebuilds the lookups after `images` or `tokens` were changed directly.
    pub fn reindex(&mut self) {
        let mut index = Index { images: self.images.len(), tokens: self.tokens.len(), ..Index::default() };
        for img in self.images.iter() {
            // Forgotten images have an empty id; they stay unfindable.
            let id = (!img.image_id.is_empty()).then(|| chains::hash(&img.image_id));
            index.by_id.push(id);
            index.by_name.push(img.name.as_deref().filter(|_| id.is_some()).map(chains::hash));
        }
        for t in &self.tokens {
            let live = !t.token.is_empty();
            index.by_token.push(live.then(|| chains::hash(&t.token)));
            index.tokens_lower.push(live.then(|| chains::hash_lower(&t.token)));
        }
        self.index = Arc::new(index);
    }

    /// The world's own images to change, copied first if a clone shares them. Call
    /// [`World::reindex`] after changing an image's id or name.
    pub fn images_mut(&mut self) -> &mut Vec<Image> {
        Arc::make_mut(&mut self.images)
    }

    fn images_fresh(&self) -> bool {
        self.index.images == self.images.len()
    }

    fn tokens_fresh(&self) -> bool {
        self.index.tokens == self.tokens.len()
    }

    /// Images with this name, in any Region: the world's, then its copies'.
    pub fn images_named<'a>(&'a self, name: &str) -> impl Iterator<Item = Cow<'a, Image>> + use<'a> {
        let mut at: Vec<usize> = if self.images_fresh() {
            self.index
                .by_name
                .under(chains::hash(name))
                .filter(|&i| self.images[i].name.as_deref() == Some(name))
                .collect()
        } else {
            (0..self.images.len()).rev().filter(|&i| self.images[i].name.as_deref() == Some(name)).collect()
        };
        at.reverse();
        let copies = self.copies.named(name);
        at.into_iter()
            .map(|i| Cow::Borrowed(&self.images[i]))
            .chain(copies.into_iter().map(|i| Cow::Owned(self.copies.image_at(i, &self.region))))
    }

    /// The positions in `images` of the images with this id.
    fn base_positions(&self, image_id: &str) -> Vec<usize> {
        let mut at: Vec<usize> = if self.images_fresh() {
            self.index.by_id.under(chains::hash(image_id)).filter(|&i| self.images[i].image_id == image_id).collect()
        } else {
            (0..self.images.len()).rev().filter(|&i| self.images[i].image_id == image_id).collect()
        };
        at.reverse();
        at
    }

    /// Whether any image, in any Region, has this id.
    pub fn has_image_id(&self, image_id: &str) -> bool {
        let base = if self.images_fresh() {
            self.index.by_id.first(chains::hash(image_id), |i| self.images[i].image_id == image_id).is_some()
        } else {
            self.images.iter().any(|i| i.image_id == image_id)
        };
        base || self.copies.find(image_id).is_some()
    }

    /// Whether a used token equals this one when letter case is ignored.
    pub fn has_token_ignoring_case(&self, token: &str) -> bool {
        let base = if self.tokens_fresh() {
            self.index
                .tokens_lower
                .first(chains::hash_lower(token), |i| self.tokens[i].token.eq_ignore_ascii_case(token))
                .is_some()
        } else {
            self.tokens.iter().any(|t| t.token.eq_ignore_ascii_case(token))
        };
        base || self.copies.has_token_ignoring_case(token)
    }

    /// Reads a world file.
    pub fn load(path: &Path) -> Result<Self, WorldError> {
        let origin = path.display().to_string();
        let text =
            read_text(path, Limit::WORLD).map_err(|e| WorldError { origin: origin.clone(), message: e.reason() })?;
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

    /// The image with this id in this Region: one of the world's, else a copy.
    pub fn image(&self, image_id: &str, region: &str) -> Option<Cow<'_, Image>> {
        let is = |i: &Image| i.image_id == image_id && i.region == region;
        let base = if self.images_fresh() {
            self.index.by_id.first(chains::hash(image_id), |i| is(&self.images[i])).map(|i| &self.images[i])
        } else {
            self.images.iter().find(|i| is(i))
        };
        match base {
            Some(i) => Some(Cow::Borrowed(i)),
            None if region == self.region => {
                self.copies.find(image_id).map(|i| Cow::Owned(self.copies.image_at(i, &self.region)))
            }
            None => None,
        }
    }

    /// The earlier use of this token, if any (tokens are case-sensitive): one of the world's,
    /// else a copy's.
    pub fn token(&self, token: &str) -> Option<UsedToken<'_>> {
        let base = if self.tokens_fresh() {
            self.index.by_token.first(chains::hash(token), |i| self.tokens[i].token == token).map(|i| &self.tokens[i])
        } else {
            self.tokens.iter().find(|t| !t.token.is_empty() && t.token == token)
        };
        match base {
            Some(t) => Some(UsedToken { image_id: Cow::Borrowed(&t.image_id), params: UsedParams::Exact(&t.params) }),
            None => self.copies.token(token),
        }
    }
}

#[cfg(test)]
mod tests;
