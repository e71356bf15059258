//! What a run came to, and the one decision of its exit code.

#[cfg(test)]
use crate::exit;
use crate::report::Summary;
use crate::snapshot::{DraftEntry, draft_accepted};

/// What a run came to: the summary the report showed, the baseline comparison and the
/// stateful checks included.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The counts, the baseline gate (`summary.baseline`) and the stateful checks
    /// (`summary.stateful`).
    pub summary: Summary,
}

impl Outcome {
    /// The exit code the run ends with, so that CI can tell "the endpoint is wrong" from "the
    /// run could not tell". It follows `Summary::status`, the same decision the report's
    /// closing verdict line shows:
    ///
    /// - [`crate::exit::DEVIATIONS`] when something the endpoint answered is wrong: without a
    ///   baseline, a deviation or an unparseable reply; with one, a failing gate while every
    ///   case was answered; or a failing stateful property. This holds even when other cases
    ///   got no answer: what was judged is wrong whatever the rest would have shown.
    /// - else [`crate::exit::INCONCLUSIVE`] when the run could not judge it all: a case got no answer
    ///   (without a baseline; with one, when the gate also fails, since an unanswered case
    ///   changes its snapshot), or the stateful checks stopped before their end.
    /// - else [`crate::exit::OK`]. With a baseline, the cases pass when its gate does (accepted
    ///   deviations do not fail it); without one, when every case conformed.
    ///
    /// Before all of these, [`crate::exit::INTERRUPTED`] when Ctrl-C stopped the run.
    pub fn exit_code(&self) -> u8 {
        self.summary.status().exit_code()
    }

    /// A draft `accepted.toml` for `target` (a name for its comments): one entry per deciding
    /// rule and finding kind among the open findings (those the baseline does not accept in
    /// full), each finding's title, observed answer and case count as comments, the reasons
    /// left as TODOs for a person, which the baseline refuses to load until they are written.
    pub fn accepted_draft(&self, target: &str) -> String {
        let mut entries: Vec<DraftEntry> = vec![];
        for f in self.summary.findings.iter().filter(|f| !f.accepted) {
            let k = &f.key;
            let observed = match (&k.observed_code, k.observed_status) {
                (Some(code), Some(status)) => format!("{code}, HTTP {status}"),
                (None, Some(status)) => format!("HTTP {status}"),
                (_, None) => "no reply".to_owned(),
            };
            let example = f.case_ids.first().map_or_else(String::new, |id| format!(", e.g. case {id}"));
            let cases = if f.cases == 1 { "1 case".to_owned() } else { format!("{} cases", f.cases) };
            let line = format!("{} (observed: {observed}; {cases}{example})", f.title);
            match entries.iter_mut().find(|e| e.rule == k.rule && e.kind == k.kind) {
                Some(e) => e.findings.push(line),
                None => entries.push(DraftEntry {
                    rule: k.rule.clone(),
                    rule_title: f.rule_title.clone(),
                    kind: k.kind.clone(),
                    findings: vec![line],
                }),
            }
        }
        draft_accepted(&entries, target)
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
    fn a_wrong_answer_without_a_baseline_is_a_deviation() {
        assert_eq!(code(|s| s.deviations = 1), exit::DEVIATIONS);
        assert_eq!(code(|s| s.unparseable = 1), exit::DEVIATIONS);
    }

    #[test]
    fn cases_without_an_answer_are_inconclusive_unless_another_is_wrong() {
        assert_eq!(code(|s| s.transport_errors = 1), exit::INCONCLUSIVE);
        assert_eq!(code(|s| (s.transport_errors, s.deviations) = (9, 1)), exit::DEVIATIONS);
        assert_eq!(code(|s| (s.transport_errors, s.unparseable) = (9, 1)), exit::DEVIATIONS);
        let failed = StatefulReport { sequences_run: 1, failures: vec![failure()], stopped: None };
        assert_eq!(code(|s| (s.transport_errors, s.stateful) = (1, Some(failed))), exit::DEVIATIONS);
    }

    #[test]
    fn with_a_baseline_unanswered_cases_make_a_failing_gate_inconclusive() {
        let changed = || Comparison { changed: vec!["R07-name.snap".into()], ..Comparison::default() };
        assert_eq!(code(|s| (s.transport_errors, s.baseline) = (1, Some(changed()))), exit::INCONCLUSIVE);
        // The baseline accepted the unanswered cases as they were: the gate decides.
        assert_eq!(code(|s| (s.transport_errors, s.baseline) = (1, Some(Comparison::default()))), exit::OK);
        assert_eq!(code(|s| s.baseline = Some(changed())), exit::DEVIATIONS);
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
        assert_eq!(code(|s| (s.interrupted, s.transport_errors) = (true, 2)), exit::INTERRUPTED);
        assert_eq!(exit::INTERRUPTED, 130);
    }

    fn failure() -> PropertyFailure {
        PropertyFailure {
            property: "replay-same-image-id".into(),
            detail: "d".into(),
            steps: vec![],
            script: String::new(),
        }
    }

    #[test]
    fn stateful_checks_must_pass_and_finish() {
        assert_eq!(code(|s| s.stateful = Some(StatefulReport::default())), exit::OK);
        let failed = StatefulReport { sequences_run: 3, failures: vec![failure()], stopped: None };
        assert_eq!(code(|s| s.stateful = Some(failed)), exit::DEVIATIONS);
        assert_eq!(code(|s| s.stateful = Some(stopped())), exit::INCONCLUSIVE);
        let gated = |s: &mut Summary| (s.baseline, s.stateful) = (Some(Comparison::default()), Some(stopped()));
        assert_eq!(code(gated), exit::INCONCLUSIVE);
        let both = StatefulReport { failures: vec![failure()], ..stopped() };
        assert_eq!(code(|s| s.stateful = Some(both)), exit::DEVIATIONS);
        assert_eq!(code(|s| (s.deviations, s.stateful) = (1, Some(stopped()))), exit::DEVIATIONS);
    }
}
