//! `Inputs`: what the strategies need, read once from the oracle and the world, with the
//! world's images sorted by what the oracle predicts for a minimal copy of each.

use std::fmt::Debug;
use std::sync::Arc;

use proptest::prelude::*;
use proptest::strategy::BoxedStrategy;

use crate::generate::draw::Alphabets;
use crate::oracle::{Limits, Oracle, key, rules};
use crate::world::{Params, World};

/// Everything a strategy needs, read once from the oracle and the world.
pub struct Inputs {
    /// The spec's limits, shared with the oracle.
    pub lim: Arc<Limits>,
    /// Alphabets by the Name pattern.
    pub alpha: Alphabets,
    /// Images a minimal request copies successfully: (id, region, encrypted).
    pub copyable: Arc<[(String, String, bool)]>,
    /// Images that exist but are not available: (id, region).
    pub unavailable: Arc<[(String, String)]>,
    /// Images of other accounts whose storage is not shared.
    pub storage_denied: Arc<[(String, String)]>,
    /// Images of other accounts with billing products.
    pub marketplace: Arc<[(String, String)]>,
    /// Encrypted copyable images.
    pub encrypted: Arc<[(String, String)]>,
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

impl Inputs {
    /// Reads limits from the oracle and classifies the world's images by what the oracle
    /// predicts for a minimal copy of each, so the generator never restates a rule.
    pub fn new(oracle: &Oracle, world: &World) -> Self {
        let l = oracle.limits();
        let mut images = Classified::default();
        let mut inputs = Inputs {
            lim: Arc::clone(l),
            alpha: Alphabets::from_limits(l),
            copyable: Arc::new([]),
            unavailable: Arc::new([]),
            storage_denied: Arc::new([]),
            marketplace: Arc::new([]),
            encrypted: Arc::new([]),
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
        for img in world.images.iter() {
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
                images.copyable.push((img.image_id.clone(), img.region.clone(), img.encrypted));
                if img.encrypted {
                    images.encrypted.push(pair);
                }
            } else if fired(rules::AMI_UNAVAILABLE.id) {
                images.unavailable.push(pair);
            } else if fired(rules::STORAGE_PERMISSION.id) {
                images.storage_denied.push(pair);
            } else if fired(rules::MARKETPLACE.id) {
                images.marketplace.push(pair);
            }
        }
        inputs.copyable = images.copyable.into();
        inputs.encrypted = images.encrypted.into();
        inputs.unavailable = images.unavailable.into();
        inputs.storage_denied = images.storage_denied.into();
        inputs.marketplace = images.marketplace.into();
        inputs
    }
}

/// The image lists while they are being filled.
#[derive(Default)]
struct Classified {
    copyable: Vec<(String, String, bool)>,
    unavailable: Vec<(String, String)>,
    storage_denied: Vec<(String, String)>,
    marketplace: Vec<(String, String)>,
    encrypted: Vec<(String, String)>,
}

/// One of `items`, drawn as `prop::sample::select` draws (an index in `0..len`), so a seed picks
/// the same item; the list is shared, not copied, which matters for a world of many images
/// that dozens of strategies pick from. `items` must not be empty.
pub fn choose<T: Clone + Debug + 'static>(items: &Arc<[T]>) -> BoxedStrategy<T> {
    let items = Arc::clone(items);
    (0..items.len()).prop_map(move |i| items[i].clone()).boxed()
}
