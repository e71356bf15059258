//! Rules of the state phase: what the account's images decide (the source image's existence,
//! state, ownership and encryption, the Region pair, a Name in use).

use super::{Hit, Level, Rule};
use crate::oracle::key;
use crate::world::ImageState;

/// The source image does not exist (or is not visible) in SourceRegion.
pub const AMI_NOT_FOUND: Rule = Rule {
    id: "R25-ami-notfound",
    check: |c| match (c.get(key::SOURCE_IMAGE_ID), c.image) {
        (Some(id), None) => Hit::on(Level::Fires, key::SOURCE_IMAGE_ID, Some(id)),
        (Some(_), Some(_)) => Hit::NEAR,
        (None, _) => Hit::QUIET,
    },
};

/// The source image is not available.
pub const AMI_UNAVAILABLE: Rule = Rule {
    id: "R26-ami-unavailable",
    check: |c| match c.image {
        Some(i) if i.state != ImageState::Available => Hit::on(Level::Fires, key::SOURCE_IMAGE_ID, Some(&i.image_id)),
        Some(_) => Hit::NEAR,
        None => Hit::QUIET,
    },
};

/// Another account's image whose snapshots are not shared with the caller.
pub const STORAGE_PERMISSION: Rule = Rule {
    id: "R27-storage-perm",
    check: |c| match c.image {
        Some(i) if c.world.owner_of(i) != c.world.account => {
            if i.storage_shared {
                Hit::NEAR
            } else {
                Hit::FIRES
            }
        }
        _ => Hit::QUIET,
    },
};

/// Another account's Marketplace-derived image (a billing product code alone no longer blocks
/// a copy: documented).
pub const MARKETPLACE: Rule = Rule {
    id: "R28-marketplace",
    check: |c| match c.image {
        Some(i) if i.is_marketplace() => {
            if c.world.owner_of(i) != c.world.account {
                Hit::FIRES
            } else {
                Hit::NEAR
            }
        }
        _ => Hit::QUIET,
    },
};

/// Encrypted=false for an encrypted source.
pub const UNENCRYPT: Rule = Rule {
    id: "R29-unencrypt",
    check: |c| {
        let Some(i) = c.image else { return Hit::QUIET };
        let explicit_false = c.lim.is_false(c.get(key::ENCRYPTED));
        if explicit_false && i.encrypted {
            Hit { snapshot: Some(i.snapshot_id.as_deref().unwrap_or("snap-00000000000000000").into()), ..Hit::FIRES }
        } else {
            Hit::near_if(explicit_false || (i.encrypted && c.get(key::ENCRYPTED).is_none()))
        }
    },
};

/// A source Region in another partition, or an Outpost in another Region than the source;
/// `Encrypted=false` to an Outpost is uncertain (Outposts keep no unencrypted
/// snapshots: AWS may refuse, or encrypt by default).
pub const UNSUPPORTED_PAIR: Rule = Rule {
    id: "R30-unsupported-pair",
    check: |c| {
        let Some(src) = c.get(key::SOURCE_REGION) else { return Hit::QUIET };
        let Some(part) = c.spec.partition_of(src) else { return Hit::QUIET };
        if c.spec.partition_of(&c.world.region) != Some(part) {
            return Hit::on(Level::Fires, key::SOURCE_REGION, Some(src));
        }
        match c.get(key::OUTPOST) {
            Some(arn) if outpost_region(arn) != Some(src) => Hit::on(Level::Fires, key::OUTPOST, Some(arn)),
            Some(arn) if c.lim.is_false(c.get(key::ENCRYPTED)) => Hit::on(Level::Uncertain, key::OUTPOST, Some(arn)),
            Some(_) => Hit::NEAR,
            None => Hit::near_if(src != c.world.region),
        }
    },
};

/// The caller already has an image of that Name in the destination Region (uncertain).
pub const NAME_DUPLICATE: Rule = Rule {
    id: "R31-name-dup",
    check: |c| {
        let Some(name) = c.get(key::NAME) else { return Hit::QUIET };
        let mut hit = Hit::QUIET;
        for i in c.world.images_named(name) {
            let mine = c.world.owner_of(&i) == c.world.account && i.state != ImageState::Deregistered;
            if mine {
                if i.region == c.world.region {
                    return Hit {
                        image: Some(i.image_id.clone().into()),
                        ..Hit::on(Level::Uncertain, key::NAME, Some(name))
                    };
                }
                hit = Hit::NEAR;
            }
        }
        hit
    },
};

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
