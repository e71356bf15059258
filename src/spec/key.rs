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

/// The slot of a top-level key.
pub fn slot(k: &str) -> Option<usize> {
    SIMPLE.iter().position(|s| *s == k)
}
