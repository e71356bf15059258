//! Rules of the syntax phase about single members: what the request alone decides, apart from
//! tag specifications (in `tags`).

use super::{Hit, Level, Rule, chars};
use crate::oracle::key;
use crate::oracle::limits::BoolText;

/// The destination keys, of which one request may name one.
const DESTINATIONS: [&str; 3] = [key::OUTPOST, key::AZ, key::AZ_ID];

/// A required member is absent or empty. One the request's Version does not require may be
/// absent; one AWS has been seen to let through when absent is uncertain.
pub const MISSING: Rule = Rule {
    id: "R04-missing",
    check: |c| {
        let lim = c.lim;
        let required = &lim.required;
        let optional = c.get(key::VERSION).and_then(|v| lim.api_version(v)).map_or(&[][..], |v| &v.optional[..]);
        // The message names the first missing member in spec order, as before Name became
        // uncertain; the level is certain as soon as any certain member is missing.
        let mut first = None;
        let mut level = Level::Uncertain;
        for (k, &at) in required.iter().zip(&lim.required_slots) {
            match c.req.at(at) {
                None if optional.contains(k) => continue,
                None if lim.required_uncertain.contains(k) => {}
                None | Some("") => level = Level::Fires,
                Some(_) => continue,
            }
            first = first.or(Some(k));
        }
        if let Some(k) = first {
            return Hit::on(level, k, None);
        }
        let minimal =
            lim.required_slots.iter().all(|&at| c.req.at(at).is_some()) && c.req.params().len() == required.len();
        Hit::near_if(minimal)
    },
};

/// A boolean member is not `true` or `false`; other letter case may be uncertain.
pub const BOOL: Rule = Rule {
    id: "R05-bool",
    check: |c| {
        let lim = c.lim;
        let mut hit = Hit::QUIET;
        for (k, &at) in lim.booleans.iter().zip(&lim.boolean_slots) {
            if let Some(v) = c.req.at(at) {
                let h = match lim.bool_text(v) {
                    BoolText::True => Hit::QUIET,
                    BoolText::False => Hit::NEAR,
                    BoolText::CaseTrue | BoolText::CaseFalse if lim.bool_case_uncertain => {
                        Hit::on(Level::Uncertain, k, Some(v))
                    }
                    _ => Hit::on(Level::Fires, k, Some(v)),
                };
                hit = hit.max(h);
            }
        }
        hit
    },
};

/// The duration is not a decimal integer.
pub const LONG: Rule = Rule {
    id: "R06-long",
    check: |c| match c.get(key::DURATION) {
        None => Hit::QUIET,
        Some(v) => match v.parse::<i64>() {
            Ok(_) => Hit::NEAR,
            Err(_) => Hit::on(Level::Fires, key::DURATION, Some(v)),
        },
    },
};

/// Name is too short, too long, or has a character the pattern does not allow.
pub const NAME: Rule = Rule {
    id: "R07-name",
    check: |c| {
        let lim = c.lim;
        let Some(v) = c.get(key::NAME) else { return Hit::QUIET };
        let n = chars(v);
        if n < lim.name_min || n > lim.name_max {
            Hit::on(Level::Fires, key::NAME, Some(v))
        } else if !lim.name_re.is_match(v) {
            match &lim.name_re_uncertain {
                Some(re) if re.is_match(v) => Hit::on(Level::Uncertain, key::NAME, Some(v)),
                _ => Hit::on(Level::Fires, key::NAME, Some(v)),
            }
        } else {
            Hit::near_if(n == lim.name_min || n == lim.name_max)
        }
    },
};

/// Description is too long.
pub const DESCRIPTION: Rule = Rule {
    id: "R08-desc",
    check: |c| match c.get(key::DESCRIPTION) {
        Some(v) if chars(v) > c.lim.desc_max => Hit::on(Level::Fires, key::DESCRIPTION, Some(v)),
        Some(v) => Hit::near_if(chars(v) == c.lim.desc_max),
        None => Hit::QUIET,
    },
};

/// SourceImageId is not shaped like an AMI id.
pub const AMI_ID_MALFORMED: Rule = Rule {
    id: "R09-amiid-malformed",
    check: |c| match c.get(key::SOURCE_IMAGE_ID) {
        None => Hit::QUIET,
        Some(v) if c.lim.ami_re.is_match(v) => Hit::near_if(v.len() == "ami-".len() + 8),
        Some(v) => Hit::on(Level::Fires, key::SOURCE_IMAGE_ID, Some(v)),
    },
};

/// SourceRegion is in no partition.
pub const REGION: Rule = Rule {
    id: "R10-region",
    check: |c| match c.get(key::SOURCE_REGION) {
        None => Hit::QUIET,
        Some(v) => match c.spec.partition_of(v) {
            None => Hit::on(Level::Fires, key::SOURCE_REGION, Some(v)),
            Some(_) => Hit::near_if(v != c.world.region),
        },
    },
};

/// More than one destination (Outpost, zone, zone id).
pub const DEST_EXCLUSIVE: Rule = Rule {
    id: "R11-dest-exclusive",
    check: |c| match DESTINATIONS.iter().filter(|k| c.get(k).is_some()).count() {
        0 => Hit::QUIET,
        1 => Hit::NEAR,
        _ => Hit::FIRES,
    },
};

/// The duration is out of range or not a multiple of the step.
pub const DURATION_RANGE: Rule = Rule {
    id: "R12-duration-range",
    check: |c| {
        let lim = c.lim;
        let Some(d) = c.get(key::DURATION).and_then(|v| v.parse::<i64>().ok()) else { return Hit::QUIET };
        if d < lim.duration_min || d > lim.duration_max || d % lim.duration_step != 0 {
            Hit::on(Level::Fires, key::DURATION, c.get(key::DURATION))
        } else {
            Hit::near_if(d == lim.duration_min || d == lim.duration_max)
        }
    },
};

/// A duration together with a destination.
pub const DURATION_DEST: Rule = Rule {
    id: "R13-duration-dest",
    check: |c| {
        let dur = c.get(key::DURATION).is_some();
        let dest = DESTINATIONS.iter().any(|k| c.get(k).is_some());
        match (dur, dest) {
            (true, true) => Hit::FIRES,
            (true, false) | (false, true) => Hit::NEAR,
            (false, false) => Hit::QUIET,
        }
    },
};

/// A non-empty KmsKeyId without Encrypted=true (an empty one counts as absent: observed).
pub const KMS_DEPENDENCY: Rule = Rule {
    id: "R19-kms-dep",
    check: |c| match c.get(key::KMS_KEY_ID) {
        None => Hit::QUIET,
        Some("") => Hit::NEAR,
        Some(_) if c.lim.is_true(c.get(key::ENCRYPTED)) => Hit::NEAR,
        Some(v) => Hit::on(Level::Fires, key::KMS_KEY_ID, Some(v)),
    },
};

/// ClientToken is too long; between the documented and the modelled limit, uncertain.
pub const TOKEN_LENGTH: Rule = Rule {
    id: "R20-token-len",
    check: |c| {
        let lim = c.lim;
        let Some(t) = c.get(key::CLIENT_TOKEN) else { return Hit::QUIET };
        let n = chars(t);
        if n > lim.token_max {
            Hit::on(Level::Fires, key::CLIENT_TOKEN, Some(t))
        } else if n > lim.token_uncertain_above {
            Hit::on(Level::Uncertain, key::CLIENT_TOKEN, Some(t))
        } else {
            Hit::near_if(n == lim.token_uncertain_above)
        }
    },
};
