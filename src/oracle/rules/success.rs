//! Rules of the success phase: annotations on what a 200 means.

use super::{Hit, Rule};
use crate::oracle::key;

/// KmsKeyId with Encrypted=true: the key is checked after the call succeeds.
pub const KMS_ASYNC: Rule = Rule {
    id: "R33-kms-async",
    check: |c| match (c.get(key::KMS_KEY_ID), c.lim.is_true(c.get(key::ENCRYPTED))) {
        (Some(_), true) => Hit::FIRES,
        (None, true) => Hit::NEAR,
        _ => Hit::QUIET,
    },
};

/// Encrypted omitted: the copy keeps each snapshot's encryption state.
pub const ENCRYPT_DEFAULT: Rule =
    Rule { id: "R34-encrypt-default", check: |c| if c.get(key::ENCRYPTED).is_none() { Hit::FIRES } else { Hit::NEAR } };

/// No rule above fired: a plain success (the boundary is a dry run).
pub const SUCCESS: Rule =
    Rule { id: "R35-success", check: |c| if c.lim.is_true(c.get(key::DRY_RUN)) { Hit::NEAR } else { Hit::FIRES } };
