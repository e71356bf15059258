//! The copies a world records after it is made, in compact records: an image keeps only what a
//! copy can have (id, name, description, tags, encryption), a token keeps its call's parameters
//! packed in one buffer and points at its image by position, so renaming the image renames it
//! for the token too. The lookups hold hashes, not copies of the keys.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::chains::{self, Chains};
use super::{Image, ImageState, Params, TokenUse, World};

/// The copies recorded in a world, and their tokens.
#[derive(Clone, Debug, Default)]
pub(super) struct Copies {
    images: Vec<Copy>,
    tokens: Vec<CopyToken>,
    by_id: Chains,
    by_name: Chains,
    by_token: Chains,
    tokens_lower: Chains,
    /// Tokens by the position of the copy they made.
    tokens_by_copy: Chains,
}

// The lookups are derived data: two worlds with the same copies and tokens are equal.
impl PartialEq for Copies {
    fn eq(&self, other: &Self) -> bool {
        self.images == other.images && self.tokens == other.tokens
    }
}
impl Eq for Copies {}

/// One copy, in the world's Region and of the world's account.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Copy {
    /// Empty once forgotten.
    id: Box<str>,
    name: Option<Box<str>>,
    description: Option<Box<str>>,
    /// Sorted by key, as they were in their map.
    tags: Box<[(Box<str>, Box<str>)]>,
    encrypted: bool,
}

/// The sizes of a copy's and of a token's record, for a test that keeps them small.
#[cfg(test)]
pub(super) const RECORD_SIZES: (usize, usize) = (size_of::<Copy>(), size_of::<CopyToken>());

/// The image a token's call returned.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Made {
    /// A copy, by position (it follows the copy's renaming).
    Copy(u32),
    /// An image that was there already (a replay, or an id an endpoint gave twice).
    Existing(Box<str>),
}

/// A client token used by a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CopyToken {
    /// Empty once forgotten.
    token: Box<str>,
    /// The call's parameters, packed (see [`pack`]).
    params: Box<[u8]>,
    image: Made,
}

/// Parameters in one buffer: per entry, the key's and the value's length (u32, little-endian)
/// and bytes.
fn pack(params: &Params) -> Box<[u8]> {
    let mut out = Vec::with_capacity(params.iter().map(|(k, v)| 8 + k.len() + v.len()).sum());
    for (k, v) in params {
        for s in [k, v] {
            out.extend_from_slice(&(s.len() as u32).to_le_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out.into_boxed_slice()
}

fn unpack(mut bytes: &[u8]) -> Params {
    fn next(bytes: &mut &[u8]) -> String {
        let (len, rest) = bytes.split_at(4);
        let len = u32::from_le_bytes(len.try_into().expect("four bytes")) as usize;
        let (s, rest) = rest.split_at(len);
        *bytes = rest;
        // Packed from Strings, so always UTF-8.
        String::from_utf8_lossy(s).into_owned()
    }
    let mut params = Params::new();
    while !bytes.is_empty() {
        let k = next(&mut bytes);
        let v = next(&mut bytes);
        params.insert(k, v);
    }
    params
}

impl Copies {
    /// The live copy with this id.
    pub(super) fn find(&self, id: &str) -> Option<usize> {
        self.by_id.first(chains::hash(id), |i| &*self.images[i].id == id)
    }

    /// The live copies with this name, in the order they were recorded.
    pub(super) fn named(&self, name: &str) -> Vec<usize> {
        let mut at: Vec<usize> =
            self.by_name.under(chains::hash(name)).filter(|&i| self.images[i].name.as_deref() == Some(name)).collect();
        at.reverse();
        at
    }

    /// The copy at `i` as an image of `region`.
    pub(super) fn image_at(&self, i: usize, region: &str) -> Image {
        let c = &self.images[i];
        Image {
            encrypted: c.encrypted,
            name: c.name.as_deref().map(str::to_owned),
            description: c.description.as_deref().map(str::to_owned),
            tags: c.tags.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            state: if c.id.is_empty() { ImageState::Deregistered } else { ImageState::Available },
            ..Image::new(&c.id, region)
        }
    }

    fn live_token(&self, token: &str) -> Option<usize> {
        self.by_token.first(chains::hash(token), |i| &*self.tokens[i].token == token)
    }

    /// The use of this token by a copy.
    pub(super) fn token(&self, token: &str) -> Option<Cow<'static, TokenUse>> {
        self.live_token(token).map(|i| Cow::Owned(self.token_at(i)))
    }

    fn token_at(&self, i: usize) -> TokenUse {
        let t = &self.tokens[i];
        let image_id = match &t.image {
            Made::Copy(c) => self.images[*c as usize].id.to_string(),
            Made::Existing(id) => id.to_string(),
        };
        TokenUse { token: t.token.to_string(), params: unpack(&t.params), image_id }
    }

    /// Whether a copy used a token equal to this one when letter case is ignored.
    pub(super) fn has_token_ignoring_case(&self, token: &str) -> bool {
        self.tokens_lower
            .first(chains::hash_lower(token), |i| self.tokens[i].token.eq_ignore_ascii_case(token))
            .is_some()
    }

    fn push_token(&mut self, token: &str, params: &Params, image: Made) {
        let at = self.tokens.len();
        self.by_token.push(Some(chains::hash(token)));
        self.tokens_lower.push(Some(chains::hash_lower(token)));
        self.tokens.push(CopyToken { token: token.into(), params: pack(params), image });
        // `tokens_by_copy` is positioned like `tokens`.
        let copy = match &self.tokens[at].image {
            Made::Copy(c) => Some(u64::from(*c)),
            Made::Existing(_) => None,
        };
        self.tokens_by_copy.push(copy);
    }

    fn push_image(&mut self, copy: Copy) {
        self.by_id.push(Some(chains::hash(&copy.id)));
        self.by_name.push(copy.name.as_deref().map(chains::hash));
        self.images.push(copy);
    }

    fn forget_token(&mut self, i: usize) {
        let t = &mut self.tokens[i];
        if t.token.is_empty() {
            return;
        }
        self.by_token.unlink(chains::hash(&t.token), i);
        self.tokens_lower.unlink(chains::hash_lower(&t.token), i);
        t.token = "".into();
    }

    /// Keeps the first `images` copies and `tokens` tokens.
    fn truncate(&mut self, images: usize, tokens: usize) {
        while self.tokens.len() > tokens {
            let t = self.tokens.pop().expect("longer than `tokens`");
            let live = !t.token.is_empty();
            self.by_token.pop(live.then(|| chains::hash(&t.token)));
            self.tokens_lower.pop(live.then(|| chains::hash_lower(&t.token)));
            let copy = match t.image {
                Made::Copy(c) => Some(u64::from(c)),
                Made::Existing(_) => None,
            };
            self.tokens_by_copy.pop(copy);
        }
        while self.images.len() > images {
            let c = self.images.pop().expect("longer than `images`");
            let live = !c.id.is_empty();
            self.by_id.pop(live.then(|| chains::hash(&c.id)));
            self.by_name.pop(c.name.as_deref().filter(|_| live).map(chains::hash));
        }
    }
}

impl World {
    /// Images: the world's, then the copies recorded since (a forgotten one under an empty id,
    /// deregistered).
    pub fn all_images(&self) -> impl Iterator<Item = Cow<'_, Image>> {
        let copies = (0..self.copies.images.len()).map(|i| Cow::Owned(self.copies.image_at(i, &self.region)));
        self.images.iter().map(Cow::Borrowed).chain(copies)
    }

    /// Used tokens: the world's, then the copies' (a forgotten one empty).
    pub fn all_tokens(&self) -> impl Iterator<Item = Cow<'_, TokenUse>> {
        let copies = (0..self.copies.tokens.len()).map(|i| Cow::Owned(self.copies.token_at(i)));
        self.tokens.iter().map(Cow::Borrowed).chain(copies)
    }

    /// How many images [`World::all_images`] gives.
    pub fn image_count(&self) -> usize {
        self.images.len() + self.copies.images.len()
    }

    /// How many tokens [`World::all_tokens`] gives.
    pub fn token_count(&self) -> usize {
        self.tokens.len() + self.copies.tokens.len()
    }

    /// How many copies were recorded since the world was made: each costs memory until
    /// [`World::truncate`] drops it.
    pub fn copy_count(&self) -> usize {
        self.copies.images.len()
    }

    /// The same world with its copies among its images and tokens (e.g. to write it out).
    pub fn flattened(&self) -> World {
        let images: Vec<Image> = self.all_images().map(Cow::into_owned).collect();
        let tokens: Vec<TokenUse> = self.all_tokens().map(Cow::into_owned).collect();
        let mut w = World::new(&self.region, &self.account, images);
        w.authorized = self.authorized;
        w.tokens = tokens;
        w.reindex();
        w
    }

    /// Records a successful, non-dry-run copy: the new image in the destination Region and the
    /// token it used.
    pub fn record_copy(&mut self, params: &Params, image_id: &str, encrypted: bool) {
        let region = self.region.clone();
        let exists = self.image(image_id, &region).is_some();
        if let Some(token) = params.get("ClientToken")
            && self.token(token).is_none()
        {
            let image = match self.copies.find(image_id) {
                Some(c) => Made::Copy(c as u32),
                None if exists => Made::Existing(image_id.into()),
                None => Made::Copy(self.copies.images.len() as u32),
            };
            self.copies.push_token(token, params, image);
        }
        if exists {
            return;
        }
        let text = |k: &str| params.get(k).map(|v| v.as_str().into());
        self.copies.push_image(Copy {
            id: image_id.into(),
            name: text("Name"),
            description: text("Description"),
            tags: Box::default(),
            encrypted,
        });
    }

    /// Removes the images and tokens after the first `images` and `tokens` (counted as
    /// [`World::image_count`] and [`World::token_count`] count them: the ones copies added
    /// since), and their lookups: a world used as scratch space goes back to what it was.
    pub fn truncate(&mut self, images: usize, tokens: usize) {
        let (base_images, base_tokens) = (self.images.len(), self.tokens.len());
        self.copies.truncate(images.saturating_sub(base_images), tokens.saturating_sub(base_tokens));
        if images < base_images || tokens < base_tokens {
            Arc::make_mut(&mut self.images).truncate(images);
            self.tokens.truncate(tokens);
            self.reindex();
        }
    }

    /// Sets the tags of the image(s) with this id.
    pub fn set_image_tags(&mut self, image_id: &str, tags: BTreeMap<String, String>) {
        let base = self.base_positions(image_id);
        if !base.is_empty() {
            let images = Arc::make_mut(&mut self.images);
            for i in base {
                images[i].tags = tags.clone();
            }
        }
        let packed: Box<[(Box<str>, Box<str>)]> =
            tags.iter().map(|(k, v)| (k.as_str().into(), v.as_str().into())).collect();
        for i in self.copies.by_id.under(chains::hash(image_id)).collect::<Vec<_>>() {
            if &*self.copies.images[i].id == image_id {
                self.copies.images[i].tags = packed.clone();
            }
        }
    }

    /// Gives a pending copy its real ImageId (the tokens that name it follow: they point at it).
    pub fn rename_image(&mut self, from: &str, to: &str) {
        let c = &mut self.copies;
        let at: Vec<usize> = c.by_id.under(chains::hash(from)).filter(|&i| &*c.images[i].id == from).collect();
        for i in at {
            c.by_id.unlink(chains::hash(from), i);
            c.by_id.link(chains::hash(to), i);
            c.images[i].id = to.into();
        }
    }

    /// Forgets a pending copy the endpoint did not make: its image is marked deregistered
    /// under an empty id and its token emptied, so nothing finds them (entries stay in place,
    /// which keeps every other position valid).
    pub fn forget_image(&mut self, id: &str) {
        let c = &mut self.copies;
        let at: Vec<usize> = c.by_id.under(chains::hash(id)).filter(|&i| &*c.images[i].id == id).collect();
        for i in at {
            c.by_id.unlink(chains::hash(id), i);
            if let Some(name) = &c.images[i].name {
                c.by_name.unlink(chains::hash(name), i);
            }
            c.images[i].id = "".into();
            let tokens: Vec<usize> = c.tokens_by_copy.under(i as u64).collect();
            for t in tokens {
                c.forget_token(t);
            }
        }
    }
}
