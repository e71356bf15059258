//! The rule table: one item per implemented spec rule, holding its id and its check. Limits,
//! codes and messages come from the spec; the items say only how each condition is tested, and
//! where its boundary lies. The files group the rules by the spec phase they belong to.

mod authorization;
mod idempotency;
mod protocol;
mod state;
mod success;
mod syntax;
mod tags;

pub use authorization::{AUTHZ, DRY_RUN};
pub(crate) use idempotency::TokenRecord;
pub use idempotency::{IDEM_MISMATCH, IDEM_REPLAY};
pub use protocol::{ACTION, LIST_INDEX, UNKNOWN_PARAM, VERSION};
pub use state::{
    AMI_NOT_FOUND, AMI_UNAVAILABLE, MARKETPLACE, NAME_DUPLICATE, STORAGE_PERMISSION, UNENCRYPT, UNSUPPORTED_PAIR,
};
pub use success::{ENCRYPT_DEFAULT, KMS_ASYNC, SUCCESS};
pub use syntax::{
    AMI_ID_MALFORMED, BOOL, DESCRIPTION, DEST_EXCLUSIVE, DURATION_DEST, DURATION_RANGE, KMS_DEPENDENCY, LONG, MISSING,
    NAME, REGION, TOKEN_LENGTH,
};
pub use tags::{LIST_GAP, TAG_COUNT, TAG_KEY, TAG_KEY_LENGTH, TAG_RT_BAD, TAG_RT_MISSING, TAG_SPEC_EMPTY, TAG_VALUE};

use std::borrow::Cow;

use crate::oracle::limits::Limits;
use crate::oracle::request::Request;
use crate::spec::Spec;
use crate::world::{Image, World};

/// One rule the oracle implements: the spec rule id, and the check that decides it. The spec
/// must list each, and each predicted spec rule must be one of these; the spec's `condition`
/// is the check's documentation.
#[derive(Clone, Copy, Debug)]
pub struct Rule {
    /// The spec rule id.
    pub id: &'static str,
    /// How a request and the world meet the rule.
    pub check: for<'a> fn(&Ctx<'a>) -> Hit<'a>,
}

/// Every implemented rule.
pub const ALL: &[Rule] = &[
    ACTION,
    VERSION,
    UNKNOWN_PARAM,
    LIST_INDEX,
    MISSING,
    BOOL,
    LONG,
    NAME,
    DESCRIPTION,
    AMI_ID_MALFORMED,
    REGION,
    DEST_EXCLUSIVE,
    DURATION_RANGE,
    DURATION_DEST,
    TAG_RT_MISSING,
    TAG_RT_BAD,
    TAG_SPEC_EMPTY,
    TAG_KEY,
    TAG_KEY_LENGTH,
    TAG_VALUE,
    TAG_COUNT,
    KMS_DEPENDENCY,
    TOKEN_LENGTH,
    LIST_GAP,
    AUTHZ,
    DRY_RUN,
    IDEM_MISMATCH,
    IDEM_REPLAY,
    AMI_NOT_FOUND,
    AMI_UNAVAILABLE,
    STORAGE_PERMISSION,
    MARKETPLACE,
    UNENCRYPT,
    UNSUPPORTED_PAIR,
    NAME_DUPLICATE,
    KMS_ASYNC,
    ENCRYPT_DEFAULT,
    SUCCESS,
];

/// The rule implementing a spec rule id.
pub fn find(id: &str) -> Option<&'static Rule> {
    ALL.iter().find(|r| r.id == id)
}

/// How a check came out for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Not relevant to this request.
    Quiet,
    /// Relevant, and the request sits right at the rule's boundary without crossing it.
    Near,
    /// Crossed on ground AWS may or may not reject.
    Uncertain,
    /// Crossed.
    Fires,
}

/// The result of one check, with the values its message needs, borrowed from the request
/// where they can be: most hits are never rendered into a message.
#[derive(Clone, Debug)]
pub struct Hit<'a> {
    /// How it came out.
    pub level: Level,
    /// `{param}`: the key at fault.
    pub param: Option<Cow<'a, str>>,
    /// `{value}`: the value at fault.
    pub value: Option<&'a str>,
    /// `{image}`: an image id the message names.
    pub image: Option<Cow<'a, str>>,
    /// `{snapshot}`: a snapshot id the message names.
    pub snapshot: Option<Cow<'a, str>>,
}

impl<'a> Hit<'a> {
    const QUIET: Hit<'static> = Hit::at(Level::Quiet);
    const NEAR: Hit<'static> = Hit::at(Level::Near);
    const FIRES: Hit<'static> = Hit::at(Level::Fires);
    const UNCERTAIN: Hit<'static> = Hit::at(Level::Uncertain);

    /// A hit at `level` naming nothing.
    pub const fn at(level: Level) -> Hit<'a> {
        Hit { level, param: None, value: None, image: None, snapshot: None }
    }

    fn on(level: Level, param: impl Into<Cow<'a, str>>, value: Option<&'a str>) -> Hit<'a> {
        Hit { param: Some(param.into()), value, ..Hit::at(level) }
    }

    fn near_if(cond: bool) -> Hit<'a> {
        if cond { Hit::NEAR } else { Hit::QUIET }
    }

    /// Whether the rule fired, certainly or not.
    pub fn fired(&self) -> bool {
        self.level >= Level::Uncertain
    }

    /// Keeps the stronger of two hits.
    fn max(self, other: Hit<'a>) -> Hit<'a> {
        if other.level > self.level { other } else { self }
    }
}

/// What the checks see: the request, the world, and the source image if it resolves.
#[allow(missing_docs)]
pub struct Ctx<'a> {
    pub spec: &'a Spec,
    pub lim: &'a Limits,
    pub world: &'a World,
    pub req: &'a Request<'a>,
    /// The source image, if it exists and is visible in SourceRegion.
    pub image: Option<&'a Image>,
    /// The world's record of the request's ClientToken, once a rule has looked it up.
    pub token: std::cell::OnceCell<TokenRecord<'a>>,
}

impl<'a> Ctx<'a> {
    /// The value of a top-level key, exactly as sent.
    #[inline]
    fn get(&self, k: &str) -> Option<&'a str> {
        self.req.get(k)
    }
}

/// A length in characters, as AWS counts them.
fn chars(s: &str) -> usize {
    if s.is_ascii() { s.len() } else { s.chars().count() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_ids_are_unique_and_found() {
        for (i, r) in ALL.iter().enumerate() {
            assert!(ALL[..i].iter().all(|o| o.id != r.id), "{} twice", r.id);
            assert_eq!(find(r.id).map(|f| f.id), Some(r.id));
        }
        assert!(find("R99-nothing").is_none());
    }
}
