//! What a run of a sequence did: the copies it made, each step's line and command, and the
//! property that failed.

use crate::world::Params;

/// A copy the endpoint made during a run.
pub(super) struct Made {
    /// Its step, 1-based.
    pub(super) step: usize,
    /// The parameters sent.
    pub(super) params: Params,
    /// The Name without this run's tag, for a changed Name.
    pub(super) generated: String,
    /// The ImageId the endpoint returned.
    pub(super) image_id: String,
}

/// A property that failed at a step.
#[derive(Clone, Debug)]
pub(super) struct Failed {
    pub(super) property: &'static str,
    /// The step, 1-based.
    pub(super) step: usize,
    pub(super) detail: String,
    /// The command of a follow-up request that showed the failure (a DescribeImages after a
    /// replay).
    pub(super) evidence: Option<String>,
}

/// What one step did.
pub(super) struct Step {
    pub(super) line: String,
    pub(super) curl: Option<String>,
    pub(super) failure: Option<(&'static str, String, Option<String>)>,
}

impl Step {
    pub(super) fn skipped(line: String) -> Self {
        Step { line, curl: None, failure: None }
    }
}

/// One run of a sequence: a line and a command per step run, and the failure that ended it.
#[derive(Default)]
pub(super) struct Trace {
    pub(super) steps: Vec<String>,
    pub(super) curls: Vec<Option<String>>,
    pub(super) failure: Option<Failed>,
}

/// The trace and its failure, if the run failed this property.
pub(super) fn failing(mut t: Trace, property: &str) -> Option<(Trace, Failed)> {
    match t.failure.take() {
        Some(f) if f.property == property => Some((t, f)),
        _ => None,
    }
}
