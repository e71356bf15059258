//! Rules of the idempotency phase: a ClientToken used before, with the same or other
//! parameters.

use std::borrow::Cow;

use super::{Ctx, Hit, Rule};
use crate::oracle::key;
use crate::world::UsedToken;

/// A used ClientToken with other parameters.
pub const IDEM_MISMATCH: Rule = Rule {
    id: "R24-idem-mismatch",
    check: |c| match earlier_use(c) {
        Earlier::None | Earlier::CaseTwin => Hit::QUIET,
        Earlier::Used { same, same_but_uncertain, .. } => match (same, same_but_uncertain) {
            (false, true) => Hit::UNCERTAIN,
            (false, false) => Hit::FIRES,
            _ => Hit::NEAR,
        },
    },
};

/// A used ClientToken with the same parameters: the first copy's ImageId again.
pub const IDEM_REPLAY: Rule = Rule {
    id: "R23-idem-replay",
    check: |c| match earlier_use(c) {
        Earlier::None => Hit::QUIET,
        // Tokens are case-sensitive: one differing only in letter case is the boundary.
        Earlier::CaseTwin => Hit::NEAR,
        Earlier::Used { used, same_but_uncertain: true, .. } => {
            Hit { image: Some(Cow::Owned(used.image_id.clone().into_owned())), ..Hit::FIRES }
        }
        Earlier::Used { .. } => Hit::NEAR,
    },
};

/// What the world knows of the request's ClientToken.
enum Earlier<'c> {
    /// No token, or one never used and without a letter-case twin.
    None,
    /// Never used, but a token differing only in letter case was.
    CaseTwin,
    /// Used before; whether the parameters match, and whether they match once the keys
    /// whose effect on idempotency is uncertain are left out too.
    Used { used: &'c UsedToken<'c>, same: bool, same_but_uncertain: bool },
}

/// The world's record of a request's ClientToken, looked up and compared once per request
/// for both rules of this phase (a copy's record is unpacked on every lookup).
#[derive(Debug)]
pub(crate) enum TokenRecord<'a> {
    /// No token, or one never used and without a letter-case twin.
    None,
    /// Never used, but a token differing only in letter case was.
    CaseTwin,
    /// Used before, with how the parameters compare (see [`Earlier::Used`]).
    Used { used: UsedToken<'a>, same: bool, same_but_uncertain: bool },
}

fn earlier_use<'c>(c: &'c Ctx<'_>) -> Earlier<'c> {
    let record = c.token.get_or_init(|| {
        let Some(token) = c.get(key::CLIENT_TOKEN) else { return TokenRecord::None };
        match c.world.token(token) {
            Some(used) => {
                // The two lists a recorded copy's call was digested for (oracle/copy.rs).
                let ignored: Vec<&str> = c.lim.idem_ignored.iter().map(String::as_str).collect();
                let also: Vec<&str> = c.lim.idem_ignored_or_uncertain.iter().map(String::as_str).collect();
                let same = used.same_params(c.req.params(), &ignored);
                let same_but_uncertain = used.same_params(c.req.params(), &also);
                TokenRecord::Used { used, same, same_but_uncertain }
            }
            None if c.world.has_token_ignoring_case(token) => TokenRecord::CaseTwin,
            None => TokenRecord::None,
        }
    });
    match record {
        TokenRecord::None => Earlier::None,
        TokenRecord::CaseTwin => Earlier::CaseTwin,
        TokenRecord::Used { used, same, same_but_uncertain } => {
            Earlier::Used { used, same: *same, same_but_uncertain: *same_but_uncertain }
        }
    }
}
