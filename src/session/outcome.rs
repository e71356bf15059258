//! What a run came to, and the one decision of its exit code.

use crate::exit;
use crate::report::Summary;

/// What a run came to: the summary the report showed, the baseline comparison and the
/// stateful checks included.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The counts, the baseline gate (`summary.baseline`) and the stateful checks
    /// (`summary.stateful`).
    pub summary: Summary,
}

impl Outcome {
    /// The exit code the run ends with: [`exit::INTERRUPTED`] when Ctrl-C stopped it, else
    /// [`exit::OK`] when the cases pass and the stateful checks (if any ran) found no failure
    /// and ran to their end, else [`exit::DEVIATIONS`]. With a baseline, the cases pass when
    /// its gate does (accepted deviations do not fail it); without one, when every case
    /// conformed.
    pub fn exit_code(&self) -> u8 {
        let s = &self.summary;
        // What did run may have passed, but the run as asked for did not happen.
        if s.interrupted {
            return exit::INTERRUPTED;
        }
        if s.passes() { exit::OK } else { exit::DEVIATIONS }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::stateful::{PropertyFailure, StatefulReport};
    use crate::snapshot::Comparison;

    fn code(edit: impl FnOnce(&mut Summary)) -> u8 {
        let mut summary = Summary { cases: 10, conforms: 10, ..Summary::default() };
        edit(&mut summary);
        Outcome { summary }.exit_code()
    }

    fn stopped() -> StatefulReport {
        StatefulReport { sequences_run: 1, failures: vec![], stopped: Some("no answer".into()) }
    }

    #[test]
    fn every_case_conforming_is_ok() {
        assert_eq!(code(|_| {}), exit::OK);
        assert_eq!(code(|s| s.skipped = 3), exit::OK);
    }

    #[test]
    fn any_failing_case_without_a_baseline_is_a_deviation() {
        assert_eq!(code(|s| s.deviations = 1), exit::DEVIATIONS);
        assert_eq!(code(|s| s.unparseable = 1), exit::DEVIATIONS);
        assert_eq!(code(|s| s.transport_errors = 1), exit::DEVIATIONS);
    }

    #[test]
    fn a_baseline_gate_decides_instead_of_the_counts() {
        let accepted = Comparison { accepted: 2, ..Comparison::default() };
        assert_eq!(code(|s| (s.deviations, s.baseline) = (2, Some(accepted))), exit::OK);
        let changed = Comparison { changed: vec!["R07-name.snap".into()], ..Comparison::default() };
        assert_eq!(code(|s| s.baseline = Some(changed)), exit::DEVIATIONS);
        let unaccepted = Comparison { unaccepted: vec![("c1".into(), "x".into())], ..Comparison::default() };
        assert_eq!(code(|s| s.baseline = Some(unaccepted)), exit::DEVIATIONS);
    }

    #[test]
    fn an_interrupted_run_is_interrupted_whatever_it_found() {
        assert_eq!(code(|s| s.interrupted = true), exit::INTERRUPTED);
        assert_eq!(code(|s| (s.interrupted, s.deviations) = (true, 2)), exit::INTERRUPTED);
        assert_eq!(exit::INTERRUPTED, 130);
    }

    #[test]
    fn stateful_checks_must_pass_and_finish() {
        assert_eq!(code(|s| s.stateful = Some(StatefulReport::default())), exit::OK);
        let failure = PropertyFailure {
            property: "replay-same-image-id".into(),
            detail: "d".into(),
            steps: vec![],
            script: String::new(),
        };
        let failed = StatefulReport { sequences_run: 3, failures: vec![failure], stopped: None };
        assert_eq!(code(|s| s.stateful = Some(failed)), exit::DEVIATIONS);
        assert_eq!(code(|s| s.stateful = Some(stopped())), exit::DEVIATIONS);
        let gated = |s: &mut Summary| (s.baseline, s.stateful) = (Some(Comparison::default()), Some(stopped()));
        assert_eq!(code(gated), exit::DEVIATIONS);
    }
}
