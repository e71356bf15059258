//! The world a request meets: the destination Region, the account's view of source images,
//! and the client tokens already used. The oracle reads it; a successful copy adds to it.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Raw wire parameters: query key to value, e.g. `TagSpecification.1.Tag.1.Key` to `env`.
/// Sorted, so encodings, snapshots and generated output are stable.
pub type Params = BTreeMap<String, String>;

/// The default world, compiled in; the embedded endpoint starts with it.
pub const DEFAULT_WORLD: &str = include_str!("../specs/world.json");

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
    /// Its backing snapshot id, for messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_id: Option<String>,
    /// Its user-defined tags.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
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
        Self::parse(DEFAULT_WORLD, "specs/world.json").expect("the built-in world is valid")
    }

    /// Parses world JSON; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, WorldError> {
        serde_json::from_str(text).map_err(|e| WorldError { origin: origin.into(), message: e.to_string() })
    }

    /// Reads a world file.
    pub fn load(path: &Path) -> Result<Self, WorldError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| WorldError { origin: origin.clone(), message: format!("cannot read: {e}") })?;
        Self::parse(&text, &origin)
    }

    /// The owner of an image, defaulting to this world's account.
    pub fn owner_of<'a>(&'a self, image: &'a Image) -> &'a str {
        image.owner.as_deref().unwrap_or(&self.account)
    }

    /// The image with this id in this Region.
    pub fn image(&self, image_id: &str, region: &str) -> Option<&Image> {
        self.images.iter().find(|i| i.image_id == image_id && i.region == region)
    }

    /// The earlier use of this token, if any (tokens are case-sensitive).
    pub fn token(&self, token: &str) -> Option<&TokenUse> {
        self.tokens.iter().find(|t| t.token == token)
    }

    /// Records a successful, non-dry-run copy: the new image in the destination Region and the
    /// token it used.
    pub fn record_copy(&mut self, params: &Params, image_id: &str, encrypted: bool) {
        if let Some(token) = params.get("ClientToken")
            && self.token(token).is_none()
        {
            self.tokens.push(TokenUse { token: token.clone(), params: params.clone(), image_id: image_id.to_owned() });
        }
        if self.image(image_id, &self.region.clone()).is_some() {
            return;
        }
        self.images.push(Image {
            image_id: image_id.to_owned(),
            region: self.region.clone(),
            state: ImageState::Available,
            encrypted,
            name: params.get("Name").cloned(),
            description: params.get("Description").cloned(),
            owner: None,
            visible: true,
            storage_shared: true,
            billing_products: false,
            snapshot_id: None,
            tags: BTreeMap::new(),
        });
    }
}

impl World {
    /// Gives a pending copy its real ImageId (in images and in the tokens that name it).
    pub fn rename_image(&mut self, from: &str, to: &str) {
        for i in self.images.iter_mut().filter(|i| i.image_id == from) {
            i.image_id = to.to_owned();
        }
        for t in self.tokens.iter_mut().filter(|t| t.image_id == from) {
            t.image_id = to.to_owned();
        }
    }

    /// Forgets a pending copy the endpoint did not make.
    pub fn forget_image(&mut self, id: &str) {
        self.images.retain(|i| i.image_id != id);
        self.tokens.retain(|t| t.image_id != id);
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
        assert!(w.images.is_empty() && w.tokens.is_empty());
    }

    #[test]
    fn bad_state_is_an_error() {
        let e = World::parse(r#"{"region":"r","images":[{"image_id":"ami-1","region":"r","state":"gone"}]}"#, "w")
            .unwrap_err();
        assert!(e.to_string().contains("unknown variant `gone`"), "{e}");
    }
}
