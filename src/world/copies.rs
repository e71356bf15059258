//! The copies a world records after it is made, in compact records: an image keeps its id,
//! its texts packed in one buffer (a predicting world keeps only its name's hash: no rule
//! reads a copy's description or tags) and its encryption; a token keeps its call's parameters
//! as hashes (see [`super::packed`]: one digest per comparison the oracle makes, when it records the
//! copy, else one per parameter) and points at its image by position, so renaming the image
//! renames it for the token too. The lookups hold hashes, not copies of the keys.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::chains::{self, Chains};
use super::packed::{digest_params, hash_params, name_hash, pack_texts, unpack_texts};
use super::segmented::Segmented;
use super::spill::Spill;
use super::{Image, ImageState, Params, UsedParams, UsedToken, World};

/// The copies recorded in a world, and their tokens.
#[derive(Clone, Debug, Default)]
pub(super) struct Copies {
    /// Keep of new copies only what predictions read (see [`World::predicting`]).
    lean: bool,
    /// Where new copies' texts go, when not in memory (see [`World::spilling_texts`]).
    spill: Option<Arc<Spill>>,
    images: Segmented<Copy>,
    tokens: Segmented<CopyToken>,
    by_id: Chains,
    /// By [`name_hash`] of the name.
    by_name: Chains,
    /// By [`chains::hash_lower`] of the token: exact lookups filter it too, since tokens that
    /// differ only in letter case are rare.
    tokens_lower: Chains,
    /// The lists of keys the tokens' [`Call::Digests`] leave out, set by the first call
    /// recorded with lists (see [`World::record_copy_compared`]) and shared by clones.
    compared: Option<Arc<[Vec<String>; 2]>>,
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
    id: Id,
    texts: Texts,
    /// How many tokens there were when it was recorded: the tokens naming it come after.
    tokens_before: u32,
    encrypted: bool,
}

/// An image id: one of the form AWS and the endpoints give (`ami-0` and 16 lowercase hex
/// digits) as the number the digits spell, any other boxed (8 bytes a record less than inline).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Id {
    Ami(u64),
    Boxed(Box<str>),
}

impl Id {
    fn new(id: &str) -> Id {
        match Id::ami(id) {
            Some(n) => Id::Ami(n),
            None => Id::Boxed(id.into()),
        }
    }

    /// The number of an id of the `ami-0` + 16 lowercase hex form.
    fn ami(id: &str) -> Option<u64> {
        let digits = id.strip_prefix("ami-0").filter(|d| d.len() == 16)?;
        // `from_str_radix` also takes upper case and a sign: only the form spelt back is.
        digits.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')).then(|| u64::from_str_radix(digits, 16).ok())?
    }

    /// Whether this is the id `id`.
    fn is(&self, id: &str) -> bool {
        match self {
            Id::Ami(n) => Id::ami(id) == Some(*n),
            Id::Boxed(b) => **b == *id,
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, Id::Boxed(b) if b.is_empty())
    }

    fn text(&self) -> Cow<'_, str> {
        match self {
            Id::Ami(n) => Cow::Owned(format!("ami-0{n:016x}")),
            Id::Boxed(b) => Cow::Borrowed(b),
        }
    }
}

/// What a copy keeps of its texts.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Texts {
    /// Name, description and tags (see [`pack_texts`]).
    Packed(Box<[u8]>),
    /// A predicting world's: the hash of the name, if any.
    NameHash(Option<u64>),
    /// Packed like `Packed`, in the world's [`Spill`] at `at`; the name's hash (when `named`)
    /// kept here for the lookup by name.
    Spilled { at: u64, len: u32, named: bool, name: u64 },
}

impl Texts {
    /// The key the copy is under in `by_name`.
    fn name_key(&self) -> Option<u64> {
        match self {
            Texts::Packed(p) => unpack_texts(p).name.map(name_hash),
            Texts::NameHash(h) => *h,
            Texts::Spilled { named, name, .. } => named.then_some(*name),
        }
    }
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

/// The lists of a world whose calls are not digested.
static NO_LISTS: [Vec<String>; 2] = [Vec::new(), Vec::new()];

/// A client token used by a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
struct CopyToken {
    /// Empty once forgotten.
    token: TokenKey,
    call: Call,
    image: Made,
}

/// A copy's token: its text, or in a predicting world two hashes of it (the exact lookup's
/// and the case-folded one's), 16 bytes inline where the text takes ~40 on the heap.
#[derive(Clone, Debug, PartialEq, Eq)]
enum TokenKey {
    Text(Box<str>),
    /// [`name_hash`] of the token, and [`chains::hash_lower`] of it.
    Hashes {
        exact: u64,
        lower: u64,
    },
}

impl TokenKey {
    fn new(token: &str, lean: bool) -> TokenKey {
        match lean && !token.is_empty() {
            true => TokenKey::Hashes { exact: name_hash(token), lower: chains::hash_lower(token) },
            false => TokenKey::Text(token.into()),
        }
    }

    /// Whether this is the token `token` (given its [`name_hash`] when hashed).
    fn is(&self, token: &str, exact_hash: impl Fn() -> u64) -> bool {
        match self {
            TokenKey::Text(t) => **t == *token,
            TokenKey::Hashes { exact, .. } => !token.is_empty() && *exact == exact_hash(),
        }
    }

    fn is_ignoring_case(&self, token: &str) -> bool {
        match self {
            TokenKey::Text(t) => t.eq_ignore_ascii_case(token),
            TokenKey::Hashes { lower, .. } => !token.is_empty() && *lower == chains::hash_lower(token),
        }
    }

    fn is_empty(&self) -> bool {
        matches!(self, TokenKey::Text(t) if t.is_empty())
    }

    /// The key it is under in `tokens_lower`.
    fn lower(&self) -> u64 {
        match self {
            TokenKey::Text(t) => chains::hash_lower(t),
            TokenKey::Hashes { lower, .. } => *lower,
        }
    }
}

/// What a token keeps of its call's parameters.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Call {
    /// Per parameter, the hashes of its key and of key and value (see [`hash_params`]): any
    /// keys can be left out when it is compared.
    Hashed(Box<[u64]>),
    /// Per list of keys in `Copies::compared`, the digest of the other parameters (see
    /// [`digest_params`]): 16 bytes, where per-parameter hashes take ~170.
    Digests([u64; 2]),
}

impl Copies {
    /// The live copy with this id.
    pub(super) fn find(&self, id: &str) -> Option<usize> {
        self.by_id.first(chains::hash(id), |i| self.images[i].id.is(id))
    }

    /// The live copies with this name, in the order they were recorded.
    pub(super) fn named(&self, name: &str) -> Vec<usize> {
        // Most worlds predicted in have no copies: skip hashing the name (SipHash) for them.
        if self.images.is_empty() {
            return Vec::new();
        }
        let key = name_hash(name);
        let mut at: Vec<usize> = self.by_name.under(key).filter(|&i| self.is_named(i, name, key)).collect();
        at.reverse();
        at
    }

    fn is_named(&self, i: usize, name: &str, key: u64) -> bool {
        match &self.images[i].texts {
            Texts::Packed(p) => unpack_texts(p).name == Some(name),
            Texts::NameHash(h) => *h == Some(key),
            Texts::Spilled { named, name: h, .. } => {
                // A name's hash matched: only the name itself tells (a failed read is kept for
                // the endpoint to answer with, see [`World::texts_error`]).
                *named && *h == key && self.packed(i).is_some_and(|p| unpack_texts(&p).name == Some(name))
            }
        }
    }

    /// The packed texts of the copy at `i`, if it keeps them.
    fn packed(&self, i: usize) -> Option<Cow<'_, [u8]>> {
        match &self.images[i].texts {
            Texts::Packed(p) => Some(Cow::Borrowed(p)),
            Texts::NameHash(_) => None,
            Texts::Spilled { at, len, .. } => self.spill.as_ref()?.read(*at, *len as usize).ok().map(Cow::Owned),
        }
    }

    /// Keeps packed texts in the spill, if the world has one that takes them, else in memory.
    fn keep(&self, packed: Box<[u8]>, name: Option<u64>) -> Texts {
        let spilled = self.spill.as_ref().zip(u32::try_from(packed.len()).ok());
        match spilled.and_then(|(spill, len)| Some((spill.append(&packed)?, len))) {
            Some((at, len)) => Texts::Spilled { at, len, named: name.is_some(), name: name.unwrap_or_default() },
            None => Texts::Packed(packed),
        }
    }

    /// The copy at `i` as an image of `region` (a predicting world's without its texts).
    pub(super) fn image_at(&self, i: usize, region: &str) -> Image {
        let c = &self.images[i];
        let mut image = Image {
            encrypted: c.encrypted,
            state: if c.id.is_empty() { ImageState::Deregistered } else { ImageState::Available },
            ..Image::new(&c.id.text(), region)
        };
        if let Some(p) = self.packed(i) {
            let t = unpack_texts(&p);
            image.name = t.name.map(str::to_owned);
            image.description = t.description.map(str::to_owned);
            image.tags = t.tags.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        }
        image
    }

    fn live_token(&self, token: &str) -> Option<usize> {
        let exact = std::cell::OnceCell::new();
        self.tokens_lower.first(chains::hash_lower(token), |i| {
            self.tokens[i].token.is(token, || *exact.get_or_init(|| name_hash(token)))
        })
    }

    /// The use of this token by a copy.
    pub(super) fn token(&self, token: &str) -> Option<UsedToken<'_>> {
        let t = &self.tokens[self.live_token(token)?];
        let image_id = match &t.image {
            Made::Copy(c) => self.images[*c as usize].id.text(),
            Made::Existing(id) => Cow::Borrowed(&**id),
        };
        let params = match &t.call {
            // Digests are only recorded once the lists are set, and the lists stay.
            Call::Digests(digests) => {
                UsedParams::Digests { digests, lists: self.compared.as_deref().unwrap_or(&NO_LISTS) }
            }
            Call::Hashed(hashes) => UsedParams::Hashed(hashes),
        };
        Some(UsedToken { image_id, params })
    }

    /// Whether a copy used a token equal to this one when letter case is ignored.
    pub(super) fn has_token_ignoring_case(&self, token: &str) -> bool {
        self.tokens_lower.first(chains::hash_lower(token), |i| self.tokens[i].token.is_ignoring_case(token)).is_some()
    }

    fn push_token(&mut self, token: &str, params: &Params, image: Made, compared: Option<[&[String]; 2]>) {
        let call = match compared {
            Some(lists) if self.digests_for(lists) => Call::Digests(lists.map(|l| digest_params(params, l))),
            _ => Call::Hashed(hash_params(params)),
        };
        self.tokens_lower.push(Some(chains::hash_lower(token)));
        self.tokens.push(CopyToken { token: TokenKey::new(token, self.lean), call, image });
    }

    /// Whether calls compared leaving out `lists` can be digested: the first lists given are
    /// the copies' for good (a world is compared by one oracle); other lists get hashes.
    fn digests_for(&mut self, lists: [&[String]; 2]) -> bool {
        match &self.compared {
            Some(kept) => kept.iter().zip(lists).all(|(k, l)| k.as_slice() == l),
            None => {
                self.compared = Some(Arc::new(lists.map(<[String]>::to_vec)));
                true
            }
        }
    }

    fn push_image(&mut self, id: &str, params: &Params, encrypted: bool, tokens_before: usize) {
        let (name, description) = (params.get("Name").map(String::as_str), params.get("Description"));
        let texts = if self.lean {
            Texts::NameHash(name.map(name_hash))
        } else {
            self.keep(pack_texts(name, description.map(String::as_str), &BTreeMap::new()), name.map(name_hash))
        };
        self.by_id.push(Some(chains::hash(id)));
        self.by_name.push(texts.name_key());
        let tokens_before = u32::try_from(tokens_before).expect("fewer than 2^32 tokens");
        self.images.push(Copy { id: Id::new(id), texts, tokens_before, encrypted });
    }

    fn forget_token(&mut self, i: usize) {
        let t = &mut self.tokens[i];
        if t.token.is_empty() {
            return;
        }
        self.tokens_lower.unlink(t.token.lower(), i);
        t.token = TokenKey::Text("".into());
    }

    /// Keeps the first `images` copies and `tokens` tokens.
    fn truncate(&mut self, images: usize, tokens: usize) {
        while self.tokens.len() > tokens {
            let t = self.tokens.pop().expect("longer than `tokens`");
            let live = !t.token.is_empty();
            self.tokens_lower.pop(live.then(|| t.token.lower()));
        }
        while self.images.len() > images {
            let c = self.images.pop().expect("longer than `images`");
            let live = !c.id.is_empty();
            self.by_id.pop(live.then(|| chains::hash(&c.id.text())));
            self.by_name.pop(c.texts.name_key().filter(|_| live));
        }
    }

    /// The tokens alone, each pointing at its image by id.
    fn tokens_only(&self) -> Copies {
        let mut out =
            Copies { lean: self.lean, spill: self.spill.clone(), compared: self.compared.clone(), ..Copies::default() };
        for t in self.tokens.iter() {
            let image = match &t.image {
                Made::Copy(c) => Made::Existing(self.images[*c as usize].id.text().into()),
                Made::Existing(id) => Made::Existing(id.clone()),
            };
            let live = !t.token.is_empty();
            out.tokens_lower.push(live.then(|| t.token.lower()));
            out.tokens.push(CopyToken { token: t.token.clone(), call: t.call.clone(), image });
        }
        out
    }
}

impl World {
    /// The same world, keeping of the copies it records from now on only what predictions read:
    /// a name's hash instead of the name, and no description or tags (no rule reads a copy's).
    /// A runner's mirror is one; the embedded endpoint's world, which describes its copies,
    /// is not. Two names whose 64-bit hashes collide would count as one (docs/memory.md).
    pub fn predicting(mut self) -> World {
        self.copies.lean = true;
        self
    }

    /// The same world, keeping the texts of the copies it records from now on (name,
    /// description, tags) in an unlinked temporary file instead of in memory, each read back
    /// when asked for; only the name's hash stays in memory, for the lookup by name. Where no
    /// such file can be made or written, texts stay in memory. A failure to read one back is
    /// kept: see [`World::texts_error`]. The embedded endpoint's world is one.
    pub fn spilling_texts(mut self) -> World {
        if !self.copies.lean {
            self.copies.spill = Spill::create().ok().map(Arc::new);
        }
        self
    }

    /// The first failure to read back a copy's texts (see [`World::spilling_texts`]): from then
    /// on, what the world says of its copies may lack their texts.
    pub fn texts_error(&self) -> Option<String> {
        self.copies.spill.as_ref().and_then(|s| s.error())
    }

    /// Images: the world's, then the copies recorded since (a forgotten one under an empty id,
    /// deregistered).
    pub fn all_images(&self) -> impl Iterator<Item = Cow<'_, Image>> {
        let copies = (0..self.copies.images.len()).map(|i| Cow::Owned(self.copies.image_at(i, &self.region)));
        self.images.iter().map(Cow::Borrowed).chain(copies)
    }

    /// How many images [`World::all_images`] gives.
    pub fn image_count(&self) -> usize {
        self.images.len() + self.copies.images.len()
    }

    /// How many tokens are used: the world's, then the copies' (a forgotten one counted).
    pub fn token_count(&self) -> usize {
        self.tokens.len() + self.copies.tokens.len()
    }

    /// How many copies were recorded since the world was made: each costs memory until
    /// [`World::truncate`] drops it.
    pub fn copy_count(&self) -> usize {
        self.copies.images.len()
    }

    /// The same world with its copies among its images (e.g. to look at it whole). The copies'
    /// tokens stay recorded as they were (their calls hashed), pointing at the images by id.
    pub fn flattened(&self) -> World {
        let images: Vec<Image> = self.all_images().map(Cow::into_owned).collect();
        let mut w = World::new(&self.region, &self.account, images);
        w.authorized = self.authorized;
        w.tokens = self.tokens.clone();
        w.reindex();
        w.copies = self.copies.tokens_only();
        w
    }

    /// Records a successful, non-dry-run copy: the new image in the destination Region and the
    /// token it used.
    pub fn record_copy(&mut self, params: &Params, image_id: &str, encrypted: bool) {
        self.record(params, image_id, encrypted, None);
    }

    /// Records a copy like [`World::record_copy`], keeping of its token's call one digest for
    /// each of two comparisons (each leaving out the keys of one list in `compared`) instead of
    /// hashes per parameter. `UsedToken::same_params` then answers only for those lists.
    /// A world keeps the first lists it is given; a call recorded with others is kept hashed.
    pub fn record_copy_compared(&mut self, params: &Params, image_id: &str, encrypted: bool, compared: [&[String]; 2]) {
        self.record(params, image_id, encrypted, Some(compared));
    }

    fn record(&mut self, params: &Params, image_id: &str, encrypted: bool, compared: Option<[&[String]; 2]>) {
        let region = self.region.clone();
        let exists = self.image(image_id, &region).is_some();
        let tokens_before = self.copies.tokens.len();
        if let Some(token) = params.get("ClientToken")
            && self.token(token).is_none()
        {
            let image = match self.copies.find(image_id) {
                Some(c) => Made::Copy(c as u32),
                None if exists => Made::Existing(image_id.into()),
                None => Made::Copy(self.copies.images.len() as u32),
            };
            self.copies.push_token(token, params, image, compared);
        }
        if !exists {
            self.copies.push_image(image_id, params, encrypted, tokens_before);
        }
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

    /// Sets the tags of the image(s) with this id (a predicting world keeps none for copies).
    pub fn set_image_tags(&mut self, image_id: &str, tags: BTreeMap<String, String>) {
        let base = self.base_positions(image_id);
        if !base.is_empty() {
            let images = Arc::make_mut(&mut self.images);
            for i in base {
                images[i].tags = tags.clone();
            }
        }
        let c = &mut self.copies;
        for i in c.by_id.under(chains::hash(image_id)).collect::<Vec<_>>() {
            if !c.images[i].id.is(image_id) {
                continue;
            }
            let Some(packed) = c.packed(i).map(|p| {
                let t = unpack_texts(&p);
                pack_texts(t.name, t.description, &tags)
            }) else {
                continue;
            };
            c.images[i].texts = c.keep(packed, c.images[i].texts.name_key());
        }
    }

    /// Gives a pending copy its real ImageId (the tokens that name it follow: they point at it).
    pub fn rename_image(&mut self, from: &str, to: &str) {
        let c = &mut self.copies;
        let at: Vec<usize> = c.by_id.under(chains::hash(from)).filter(|&i| c.images[i].id.is(from)).collect();
        for i in at {
            c.by_id.unlink(chains::hash(from), i);
            c.by_id.link(chains::hash(to), i);
            c.images[i].id = Id::new(to);
        }
    }

    /// Forgets a pending copy the endpoint did not make: its image is marked deregistered
    /// under an empty id and its token emptied, so nothing finds them (entries stay in place,
    /// which keeps every other position valid).
    pub fn forget_image(&mut self, id: &str) {
        let c = &mut self.copies;
        let at: Vec<usize> = c.by_id.under(chains::hash(id)).filter(|&i| c.images[i].id.is(id)).collect();
        for i in at {
            c.by_id.unlink(chains::hash(id), i);
            if let Some(key) = c.images[i].texts.name_key() {
                c.by_name.unlink(key, i);
            }
            c.images[i].id = Id::new("");
            // A pending copy is recent: few tokens follow the ones before it.
            let naming: Vec<usize> = (c.images[i].tokens_before as usize..c.tokens.len())
                .filter(|&t| c.tokens[t].image == Made::Copy(i as u32))
                .collect();
            for t in naming {
                c.forget_token(t);
            }
        }
    }
}

/// The bytes a world's copies hold: records, texts and lookups (without the allocator's own
/// overhead), what a test bounds per copy.
#[cfg(test)]
pub(super) fn heap_bytes(w: &World) -> usize {
    let c = &w.copies;
    let images: usize = c
        .images
        .iter()
        .map(|i| {
            let texts = match &i.texts {
                Texts::Packed(p) => p.len(),
                Texts::NameHash(_) | Texts::Spilled { .. } => 0,
            };
            let boxed = if let Id::Boxed(id) = &i.id { id.len() } else { 0 };
            size_of::<Copy>() + boxed + texts
        })
        .sum();
    let tokens: usize = c
        .tokens
        .iter()
        .map(|t| {
            let made = match &t.image {
                Made::Copy(_) => 0,
                Made::Existing(id) => id.len(),
            };
            let call = match &t.call {
                Call::Hashed(h) => 8 * h.len(),
                Call::Digests(_) => 0,
            };
            let text = if let TokenKey::Text(t) = &t.token { t.len() } else { 0 };
            size_of::<CopyToken>() + text + call + made
        })
        .sum();
    images + tokens + c.by_id.heap_bytes() + c.by_name.heap_bytes() + c.tokens_lower.heap_bytes()
}
