//! Rules of the authorization phase: whether the caller may copy, and the DryRun answer.

use super::{Hit, Rule};
use crate::oracle::key;

/// The caller is not authorized to copy.
pub const AUTHZ: Rule = Rule {
    id: "R22-authz",
    check: |c| {
        if !c.world.authorized { Hit::FIRES } else { Hit::near_if(c.lim.is_true(c.get(key::DRY_RUN))) }
    },
};

/// DryRun=true: AWS answers that the request would have succeeded.
pub const DRY_RUN: Rule = Rule {
    id: "R21-dryrun",
    check: |c| {
        if c.lim.is_true(c.get(key::DRY_RUN)) { Hit::FIRES } else { Hit::near_if(c.lim.is_false(c.get(key::DRY_RUN))) }
    },
};
