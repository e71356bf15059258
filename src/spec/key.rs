//! Wire keys of the CopyImage members the oracle reads, and the slot each top-level key has in
//! a parsed request.

#![allow(missing_docs)]

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

/// The slot of a top-level key: its position in [`SIMPLE`].
// A match, not a search of `SIMPLE`: the oracle looks a key up for every member it reads, and
// inlined with a constant key (`c.get(key::NAME)`) the lookup folds away.
#[inline]
pub fn slot(k: &str) -> Option<usize> {
    Some(match k {
        ACTION => 0,
        VERSION => 1,
        NAME => 2,
        SOURCE_IMAGE_ID => 3,
        SOURCE_REGION => 4,
        DESCRIPTION => 5,
        CLIENT_TOKEN => 6,
        ENCRYPTED => 7,
        KMS_KEY_ID => 8,
        COPY_IMAGE_TAGS => 9,
        DRY_RUN => 10,
        OUTPOST => 11,
        AZ => 12,
        AZ_ID => 13,
        DURATION => 14,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_simple_key_has_its_own_position_as_slot() {
        for (i, k) in SIMPLE.iter().enumerate() {
            assert_eq!(slot(k), Some(i), "{k}");
        }
        for k in [TAG_KEY, TAG_VALUE, TAG_RESOURCE_TYPE, "name", "Names", ""] {
            assert_eq!(slot(k), None, "{k}");
        }
    }
}
