//! Sane ranges for the spec's numbers, checked when a spec is loaded.
//!
//! The generator builds values from these numbers (strings up to twice a `max_length`, as
//! many tags as `tags_per_resource` and ten more, durations around `min` and `max`), so an
//! absurd limit would allocate gigabytes, run for hours or overflow. The bounds are far above
//! any real AWS limit (CopyImage's longest string is 255 characters, a resource carries at most
//! 50 tags, a completion duration is at most 2,880 minutes) and small enough that generating
//! a case stays cheap.

use std::fmt::Display;
use std::ops::RangeInclusive;

use super::{Limits, Parameter};

/// Largest `min_length`, `max_length` or `uncertain_above`.
pub const MAX_LENGTH: usize = 100_000;
/// Largest count, e.g. `tags_per_resource`.
pub const MAX_COUNT: usize = 1_000;
/// Largest magnitude of a number limit (`min`, `max`, `step`); with it the generator's
/// arithmetic around the limits (`min - step`, `max + step`, `-min`) cannot overflow.
pub const MAX_NUMBER: i64 = 1_000_000_000_000;

/// A number outside its range: the field at fault and the message.
pub(super) type OutOfRange = (&'static str, String);

fn within<T: PartialOrd + Display>(
    field: &'static str,
    v: Option<T>,
    range: RangeInclusive<T>,
) -> Result<(), OutOfRange> {
    match v {
        Some(v) if !range.contains(&v) => {
            Err((field, format!("{v} is outside the allowed range {}..={}", range.start(), range.end())))
        }
        _ => Ok(()),
    }
}

/// Checks one parameter's numbers against their ranges and against each other.
pub(super) fn check_parameter(p: &Parameter) -> Result<(), OutOfRange> {
    within("min_length", p.min_length, 0..=MAX_LENGTH)?;
    // A string whose longest form is empty is no parameter to test.
    within("max_length", p.max_length, 1..=MAX_LENGTH)?;
    within("uncertain_above", p.uncertain_above, 0..=MAX_LENGTH)?;
    within("min", p.min, -MAX_NUMBER..=MAX_NUMBER)?;
    within("max", p.max, -MAX_NUMBER..=MAX_NUMBER)?;
    if p.step == Some(0) {
        return Err(("step", "must not be 0".into()));
    }
    within("step", p.step, 1..=MAX_NUMBER)?;
    if let (Some(lo), Some(hi)) = (p.min_length, p.max_length)
        && lo > hi
    {
        return Err(("min_length", format!("{lo} is above max_length {hi}")));
    }
    if let Some(u) = p.uncertain_above {
        // Lengths above `uncertain_above` up to `max_length` are the uncertain ones: with no
        // such length the key says nothing.
        if let Some(hi) = p.max_length.filter(|&hi| u >= hi) {
            return Err(("uncertain_above", format!("{u} is not below max_length {hi}")));
        }
        if let Some(lo) = p.min_length.filter(|&lo| u < lo) {
            return Err(("uncertain_above", format!("{u} is below min_length {lo}")));
        }
    }
    if let (Some(lo), Some(hi)) = (p.min, p.max) {
        if lo > hi {
            return Err(("min", format!("{lo} is above max {hi}")));
        }
        // Cases lie on both sides of each end and between them, so the range needs two values.
        if lo == hi {
            return Err(("min", format!("{lo} is not below max {hi}")));
        }
    }
    Ok(())
}

/// Checks `[limits]`.
pub(super) fn check_limits(l: &Limits) -> Result<(), OutOfRange> {
    within("tags_per_resource", Some(l.tags_per_resource), 0..=MAX_COUNT)
}

#[cfg(test)]
mod tests {
    use crate::spec::{BUILTIN, Spec};

    fn broken(edit: impl Fn(String) -> String) -> String {
        let text = edit(BUILTIN.to_owned());
        assert_ne!(text, BUILTIN, "the edit changed nothing");
        Spec::parse(&text, "t.toml").unwrap_err().to_string()
    }

    #[test]
    fn huge_lengths_are_refused_with_the_range() {
        for v in ["18446744073709551615", "4000000000", "100001"] {
            let e = broken(|s| s.replace("max_length = 128\n# [idem]", &format!("max_length = {v}\n# [idem]")));
            assert_eq!(
                e,
                format!("t.toml: parameter.ClientToken.max_length: {v} is outside the allowed range 1..=100000")
            );
        }
        let e = broken(|s| s.replacen("min_length = 3\n", "min_length = 4000000000\n", 1));
        assert_eq!(e, "t.toml: parameter.Name.min_length: 4000000000 is outside the allowed range 0..=100000");
    }

    #[test]
    fn zero_max_length_is_refused() {
        let e = broken(|s| s.replace("max_length = 255\n", "max_length = 0\n"));
        assert_eq!(e, "t.toml: parameter.Description.max_length: 0 is outside the allowed range 1..=100000");
    }

    #[test]
    fn negative_length_names_the_line() {
        let e = broken(|s| s.replace("max_length = 255\n", "max_length = -1\n"));
        assert!(e.starts_with("t.toml: line "), "{e}");
        assert!(e.contains("invalid value: integer `-1`, expected usize"), "{e}");
    }

    #[test]
    fn uncertain_above_must_lie_inside_the_lengths() {
        let e = broken(|s| s.replace("uncertain_above = 64", "uncertain_above = 128"));
        assert_eq!(e, "t.toml: parameter.ClientToken.uncertain_above: 128 is not below max_length 128");
        let e = broken(|s| s.replace("uncertain_above = 64", "uncertain_above = 4000000000"));
        assert_eq!(
            e,
            "t.toml: parameter.ClientToken.uncertain_above: 4000000000 is outside the allowed range 0..=100000"
        );
    }

    #[test]
    fn numbers_are_range_checked() {
        let e = broken(|s| s.replace("max = 2880\n", "max = 9223372036854775807\n"));
        assert_eq!(
            e,
            "t.toml: parameter.SnapshotCopyCompletionDurationMinutes.max: 9223372036854775807 is outside the allowed range -1000000000000..=1000000000000"
        );
        let e = broken(|s| s.replace("min = 15\n", "min = -9223372036854775808\n"));
        assert!(e.contains(".min: -9223372036854775808 is outside the allowed range"), "{e}");
        let e = broken(|s| s.replace("step = 15\n", "step = -15\n"));
        assert_eq!(
            e,
            "t.toml: parameter.SnapshotCopyCompletionDurationMinutes.step: -15 is outside the allowed range 1..=1000000000000"
        );
        let e = broken(|s| s.replace("step = 15\n", "step = 0\n"));
        assert_eq!(e, "t.toml: parameter.SnapshotCopyCompletionDurationMinutes.step: must not be 0");
    }

    #[test]
    fn min_must_be_below_max() {
        let e = broken(|s| s.replace("min = 15\n", "min = 2880\n"));
        assert_eq!(e, "t.toml: parameter.SnapshotCopyCompletionDurationMinutes.min: 2880 is not below max 2880");
        let e = broken(|s| s.replace("min = 15\n", "min = 3000\n"));
        assert_eq!(e, "t.toml: parameter.SnapshotCopyCompletionDurationMinutes.min: 3000 is above max 2880");
        let e = broken(|s| s.replacen("min_length = 3\n", "min_length = 200\n", 1));
        assert_eq!(e, "t.toml: parameter.Name.min_length: 200 is above max_length 128");
    }

    #[test]
    fn tag_count_is_range_checked() {
        let e = broken(|s| s.replace("tags_per_resource = 50", "tags_per_resource = 4000000000"));
        assert_eq!(e, "t.toml: limits.tags_per_resource: 4000000000 is outside the allowed range 0..=1000");
    }
}
