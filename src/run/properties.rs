//! The stateful checks' properties by their stable names: what `--stateful` checks, what a
//! report names when one fails, and what a baseline's `accept_property` may list.

/// A valid copy, sent with a fresh ClientToken, gets what the oracle predicts: 200 and an
/// ImageId.
pub const COPY_ACCEPTED: &str = "copy-accepted";
/// A replay (same ClientToken, same parameters) gets 200 with the first call's ImageId.
pub const REPLAY_SAME_IMAGE_ID: &str = "replay-same-image-id";
/// After a replay, DescribeImages shows no image with the copy's Name but the first one.
pub const REPLAY_NO_NEW_IMAGE: &str = "replay-no-new-image";
/// The same ClientToken with another Name gets 400 `IdempotentParameterMismatch`.
pub const MISMATCH_ERROR: &str = "mismatch-error";
/// DescribeImages with the copy's ImageId lists it.
pub const DESCRIBE_FOUND: &str = "describe-found";
/// The described copy has the requested Name.
pub const DESCRIBE_NAME: &str = "describe-name";
/// The described copy has the requested Description, when one was given.
pub const DESCRIBE_DESCRIPTION: &str = "describe-description";
/// The described copy is `pending` or `available`.
pub const DESCRIBE_STATE: &str = "describe-state";
/// The described copy has the tags of its `image` TagSpecifications, plus the source's
/// user-defined tags when CopyImageTags=true, and no others.
pub const DESCRIBE_TAGS: &str = "describe-tags";
/// The described copy's snapshots are encrypted when Encrypted=true was asked or the source's
/// are.
pub const DESCRIBE_ENCRYPTED: &str = "describe-encrypted";
/// A copy from a deregistered source gets one of the outcomes the oracle predicts for it.
pub const DEREGISTERED_SOURCE_ERROR: &str = "deregistered-source-error";

/// Every property, by its stable name (what `skip` may list).
pub const PROPERTIES: [&str; 11] = [
    COPY_ACCEPTED,
    REPLAY_SAME_IMAGE_ID,
    REPLAY_NO_NEW_IMAGE,
    MISMATCH_ERROR,
    DESCRIBE_FOUND,
    DESCRIBE_NAME,
    DESCRIBE_DESCRIPTION,
    DESCRIBE_STATE,
    DESCRIBE_TAGS,
    DESCRIBE_ENCRYPTED,
    DEREGISTERED_SOURCE_ERROR,
];
