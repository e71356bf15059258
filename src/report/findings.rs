//! Distinct findings: deviating cases grouped by what is wrong (deciding rule, kind of finding,
//! observed and expected code and status), each group titled in plain words and shown with its
//! shortest example request.
//!
//! The fold keeps, per group, a count and one example (the case with the shortest encoded
//! body), so memory grows with the number of distinct bugs, not with the number of cases.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::run::{CaseRecord, StepRecord};
use crate::spec::{Confidence, Outcome, Spec};
use crate::verdict::{self, Verdict};
use crate::wire::Reply;
use crate::world::Params;

/// How many case ids a finding lists besides its example.
const CASE_IDS: usize = 5;

/// What makes two deviating cases the same bug.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct FindingKey {
    /// The deciding rule (the first of the prediction's rules).
    pub rule: String,
    /// The kind of the case's most serious finding, as `accepted.toml` names it
    /// (`success_instead_of_error`, `wrong_code`, ..., `unparseable`, `transport_error`).
    pub kind: String,
    /// The error code that came, if an error came.
    pub observed_code: Option<String>,
    /// The HTTP status that came, if a reply came.
    pub observed_status: Option<u16>,
    /// The code AWS answers (none: success).
    pub expected_code: Option<String>,
    /// The status AWS answers with it.
    pub expected_status: u16,
}

impl FindingKey {
    /// The key of a non-conforming case; `None` for a conforming one.
    pub fn of(rec: &CaseRecord) -> Option<Self> {
        let v = rec.verdict();
        let kind = crate::snapshot::finding_kinds(v).into_iter().next()?;
        let p = &rec.result.prediction;
        let observed_code = match &rec.result.reply {
            Some(Reply::Error { code, .. }) => Some(code.clone()),
            _ => None,
        };
        let first = p.outcomes.first();
        let (mut expected_code, mut expected_status) =
            (first.and_then(|o| o.code.as_deref().map(str::to_owned)), first.map_or(p.status, |o| o.status));
        // A wrong status names the right code: what differs is only the status.
        if let Verdict::Deviation { findings } = v
            && let Some(verdict::Finding::WrongStatus { expected, .. }) = findings.first()
        {
            expected_code = observed_code.clone();
            expected_status = expected.first().copied().unwrap_or(expected_status);
        }
        // A finding about the reply itself (its XML namespace) answers to its own rule.
        let own = match v {
            Verdict::Deviation { findings } => findings.first().and_then(verdict::Finding::own_rule),
            _ => None,
        };
        Some(FindingKey {
            rule: own
                .map(str::to_owned)
                .or_else(|| p.rules.first().map(|r| r.to_string()))
                .unwrap_or_else(|| "none".to_owned()),
            kind,
            observed_code,
            observed_status: rec.result.status,
            expected_code,
            expected_status,
        })
    }

    /// The finding in plain words, e.g. "DryRunOperation comes with HTTP 400; AWS answers 412".
    pub fn title(&self) -> String {
        let expected = match &self.expected_code {
            Some(code) => format!("AWS answers {code} ({})", self.expected_status),
            None => "AWS succeeds".to_owned(),
        };
        let observed = match (&self.observed_code, self.observed_status) {
            (Some(code), Some(s)) => format!("{code} (HTTP {s})"),
            (None, Some(200)) => "success".to_owned(),
            (None, Some(s)) => format!("success with HTTP {s}"),
            (_, None) => "no reply".to_owned(),
        };
        let status = self.observed_status.map_or_else(|| "no status".to_owned(), |s| format!("HTTP {s}"));
        match self.kind.as_str() {
            "wrong_status" => {
                let what = self.observed_code.as_deref().unwrap_or("success");
                format!("{what} comes with {status}; AWS answers {}", self.expected_status)
            }
            "missing_image_id" => "success without an imageId".to_owned(),
            "malformed_image_id" => "success with an imageId that is not ami- and 8 or 17 hex digits".to_owned(),
            "wrong_image_id" => "a replayed ClientToken returns another imageId than the first copy".to_owned(),
            "wrong_namespace" => format!("{observed} whose CopyImageResponse is not in EC2's XML namespace"),
            "setup_deviated" => "a setup request is not answered as predicted, so the case's premise fails".to_owned(),
            "unparseable" => format!("unreadable reply ({status}) where {expected}"),
            "transport_error" => format!("no reply where {expected}"),
            "success_instead_of_error" | "error_instead_of_success" | "wrong_code" => {
                format!("{observed} where {expected}")
            }
            // Kinds added later read from their name until they get words of their own.
            other => format!("{}: {observed} where {expected}", other.replace('_', " ")),
        }
    }
}

/// One distinct bug: the cases that deviate the same way, with an example.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Finding {
    /// What the cases share.
    pub key: FindingKey,
    /// The bug in plain words.
    pub title: String,
    /// The deciding rule's title.
    pub rule_title: String,
    /// When the deciding rule fires, in words.
    pub condition: String,
    /// Where the rule comes from.
    pub source: String,
    /// How sure the rule's outcome is.
    pub confidence: Option<Confidence>,
    /// Cases that show it.
    pub cases: u64,
    /// The first few of those cases' ids.
    pub case_ids: Vec<String>,
    /// The example: the case with the shortest request.
    pub example: String,
    /// The length of the example's form body (Action and Version left out), which picks the
    /// shortest example again when shards are merged.
    #[serde(default)]
    pub example_len: usize,
    /// What the example came to, in a few words.
    pub detail: String,
    /// A `curl` command that sends the example again.
    pub reproduction: String,
    /// The example's request under test as generated (before the run's nonce rotated its Name
    /// and ClientToken); after shrinking, the minimal request.
    pub request: Params,
    /// The requests the example sends first, as generated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<Params>,
    /// What AWS answers the request: the prediction's acceptable outcomes.
    pub expected: Vec<Outcome>,
    /// The request as a boto3 call, with how AWS's answer shows (set by the session for the
    /// findings not accepted; empty where boto3 cannot say it).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub boto3: String,
    /// How the example was shrunk, when it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shrunk: Option<Shrunk>,
    /// Whether the baseline accepts every case of it.
    pub accepted: bool,
    /// Of the cases, how many the baseline accepts.
    pub accepted_cases: u64,
    /// Why the baseline accepts it (the first matching entry of `accepted.toml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_reason: Option<String>,
    /// How serious its worst case is (higher: worse), which orders the findings.
    #[serde(default)]
    pub severity: u8,
}

/// What shrinking did to a finding's example.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Shrunk {
    /// Requests the candidates took.
    pub requests: u64,
    /// Candidates tried.
    pub tried: u64,
    /// Candidates kept (each showed the same finding).
    pub kept: u64,
    /// The example's form body length before and after, in bytes.
    pub body_bytes: (usize, usize),
}

impl Finding {
    /// Takes `rec` (a candidate that shows the same finding) as the example.
    pub fn set_example(&mut self, rec: &CaseRecord, curl: String) {
        self.example = rec.id.clone();
        self.detail = undone(&rec.result, &rec.verdict().to_string());
        self.request = generated(&rec.result);
        self.setup = rec.setup.iter().map(generated).collect();
        self.expected = rec.result.prediction.outcomes.clone();
        self.reproduction = curl;
    }
}

/// A step's request as generated: the sent one with the run's nonce undone.
pub fn generated(step: &StepRecord) -> Params {
    step.nonce.as_ref().map_or_else(|| step.params.clone(), |r| r.generated(&step.params))
}

/// `text` with the step's rotated values written as generated.
fn undone(step: &StepRecord, text: &str) -> String {
    step.nonce.as_ref().map_or_else(|| text.to_owned(), |r| r.undo_text(&step.params, text))
}

#[derive(Clone, Debug)]
struct Group {
    cases: u64,
    accepted_cases: u64,
    accepted_reason: Option<String>,
    severity: u8,
    case_ids: Vec<String>,
    example: Example,
}

#[derive(Clone, Debug)]
struct Example {
    id: String,
    body_len: usize,
    detail: String,
    curl: String,
    request: Params,
    setup: Vec<Params>,
    expected: Vec<Outcome>,
}

/// The fold: deviating cases grouped by [`FindingKey`].
#[derive(Clone, Debug, Default)]
pub struct Findings {
    groups: BTreeMap<FindingKey, Group>,
}

fn severity(v: &Verdict) -> u8 {
    match v {
        Verdict::Deviation { findings } => findings.iter().map(verdict::Finding::severity).max().unwrap_or(0),
        Verdict::Unparseable { .. } => 3,
        Verdict::Conforms { .. } | Verdict::Transport { .. } => 0,
    }
}

impl Findings {
    /// Folds one case in; `accepted` is the baseline's reason when it accepts the case.
    pub fn add(&mut self, rec: &CaseRecord, accepted: Option<&str>) {
        let Some(key) = FindingKey::of(rec) else { return };
        let example = Example {
            id: rec.id.clone(),
            // The form body's length measures the request (Action and Version left out).
            body_len: crate::wire::form_body("", "", &rec.result.params).len(),
            detail: rec.verdict().to_string(),
            curl: rec.result.curl.clone(),
            request: generated(&rec.result),
            setup: rec.setup.iter().map(generated).collect(),
            expected: rec.result.prediction.outcomes.clone(),
        };
        let g = self.groups.entry(key).or_insert_with(|| Group {
            cases: 0,
            accepted_cases: 0,
            accepted_reason: None,
            severity: severity(rec.verdict()),
            case_ids: vec![],
            example: example.clone(),
        });
        g.cases += 1;
        if let Some(reason) = accepted {
            g.accepted_cases += 1;
            g.accepted_reason.get_or_insert_with(|| reason.to_owned());
        }
        if g.case_ids.len() < CASE_IDS {
            g.case_ids.push(rec.id.clone());
        }
        if example.body_len < g.example.body_len {
            g.example = example;
        }
    }

    /// The findings, titled from `spec`: those the baseline does not accept first, then by
    /// severity, then by number of cases.
    pub fn close(&self, spec: &Spec) -> Vec<Finding> {
        let mut out: Vec<Finding> = self
            .groups
            .iter()
            .map(|(key, g)| {
                let rule = spec.rule(&key.rule);
                Finding {
                    key: key.clone(),
                    title: key.title(),
                    rule_title: rule.map(|r| r.title.clone()).unwrap_or_default(),
                    condition: rule.map(|r| r.condition.clone()).unwrap_or_default(),
                    source: rule.map(|r| r.source.clone()).unwrap_or_default(),
                    confidence: rule.map(|r| r.confidence),
                    cases: g.cases,
                    case_ids: g.case_ids.clone(),
                    example: g.example.id.clone(),
                    example_len: g.example.body_len,
                    detail: g.example.detail.clone(),
                    reproduction: g.example.curl.clone(),
                    request: g.example.request.clone(),
                    setup: g.example.setup.clone(),
                    expected: g.example.expected.clone(),
                    boto3: String::new(),
                    shrunk: None,
                    accepted: g.accepted_cases == g.cases,
                    accepted_cases: g.accepted_cases,
                    accepted_reason: g.accepted_reason.clone(),
                    severity: g.severity,
                }
            })
            .collect();
        order(&mut out);
        out
    }
}

/// Orders findings as reports show them: those the baseline does not accept first, then by
/// severity, then by number of cases.
pub(crate) fn order(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.accepted, std::cmp::Reverse(a.severity), std::cmp::Reverse(a.cases), &a.key).cmp(&(
            b.accepted,
            std::cmp::Reverse(b.severity),
            std::cmp::Reverse(b.cases),
            &b.key,
        ))
    });
}
