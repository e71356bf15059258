//! Judging one observed response against the oracle's prediction.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::oracle::Prediction;
use crate::spec::Spec;
use crate::wire::Reply;
pub use crate::wire::codes::{CodeMap, SameCodes};

/// What one case came to. Every case sent gets exactly one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// The response is one the prediction accepts.
    Conforms {
        /// Lesser findings that do not make the case fail (e.g. a different message text).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        notes: Vec<Finding>,
    },
    /// The response is well-formed but not what the prediction accepts.
    Deviation {
        /// What differs, most serious first.
        findings: Vec<Finding>,
    },
    /// The body could not be read as a CopyImage or EC2 error response.
    Unparseable {
        /// Why not.
        reason: String,
    },
    /// No response: connection error, timeout, or throttling past the retries.
    Transport {
        /// What went wrong.
        error: String,
    },
}

impl Verdict {
    /// The verdict's name as reports show it.
    pub fn kind(&self) -> &'static str {
        match self {
            Verdict::Conforms { .. } => "conforms",
            Verdict::Deviation { .. } => "deviation",
            Verdict::Unparseable { .. } => "unparseable",
            Verdict::Transport { .. } => "transport_error",
        }
    }

    /// Whether the case passes.
    pub fn passes(&self) -> bool {
        matches!(self, Verdict::Conforms { .. })
    }
}

/// A verdict in a few words, as reports and snapshots show it.
impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Conforms { .. } => f.write_str("conforms"),
            Verdict::Deviation { findings } => {
                for (i, finding) in findings.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{finding}")?;
                }
                Ok(())
            }
            Verdict::Unparseable { reason } => write!(f, "unparseable: {reason}"),
            Verdict::Transport { error } => write!(f, "transport: {error}"),
        }
    }
}

/// One way a response differs from the prediction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "finding", rename_all = "snake_case")]
pub enum Finding {
    /// Success where only errors were acceptable.
    SuccessInsteadOfError {
        /// Acceptable codes.
        expected: Vec<String>,
    },
    /// An error where only success was acceptable.
    ErrorInsteadOfSuccess {
        /// The code returned.
        got: String,
    },
    /// An error code the prediction does not accept.
    WrongCode {
        /// The code returned.
        got: String,
        /// Acceptable codes.
        expected: Vec<String>,
    },
    /// An acceptable code (or success) with the wrong HTTP status.
    WrongStatus {
        /// The status returned.
        got: u16,
        /// Acceptable statuses for that code.
        expected: Vec<u16>,
    },
    /// A success without an ImageId.
    MissingImageId,
    /// A success whose ImageId is not `ami-` and 8 or 17 hex digits.
    MalformedImageId {
        /// The id returned.
        got: String,
    },
    /// An idempotent replay that returned another ImageId than the first call.
    WrongImageId {
        /// The id returned.
        got: String,
        /// The id the first call returned.
        expected: String,
    },
    /// A setup request deviated, so the case's premise does not hold.
    SetupDeviated {
        /// Which setup request (from 0).
        step: usize,
        /// What it got.
        detail: String,
    },
    /// An AWS SDK would read the response differently from the decoder, or not at all
    /// (botocore keeps whitespace inside `<Code>`, refuses bytes before the XML declaration,
    /// reads an error envelope sent with 200 as a result).
    SdkUnreadable {
        /// What the SDK would do, and why.
        why: String,
    },
    /// A CopyImage success whose root element is not in EC2's XML namespace (the spec's
    /// `NAMESPACE_RULE`).
    WrongNamespace {
        /// The root's namespace; `None`: none.
        got: Option<String>,
        /// The namespace AWS writes.
        expected: String,
    },
    /// The error message differs from the text AWS is known to send (a lesser finding).
    MessageMismatch {
        /// The message returned.
        got: String,
        /// The known message.
        expected: String,
    },
}

impl Finding {
    /// How serious the finding is: higher first in reports.
    pub fn severity(&self) -> u8 {
        match self {
            Finding::SuccessInsteadOfError { .. } | Finding::ErrorInsteadOfSuccess { .. } => 5,
            Finding::WrongCode { .. } | Finding::WrongImageId { .. } => 4,
            Finding::SetupDeviated { .. } => 3,
            Finding::WrongStatus { .. }
            | Finding::MissingImageId
            | Finding::MalformedImageId { .. }
            | Finding::SdkUnreadable { .. }
            | Finding::WrongNamespace { .. } => 2,
            Finding::MessageMismatch { .. } => 1,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::SuccessInsteadOfError { expected } => write!(f, "success, expected {}", expected.join(" or ")),
            Finding::ErrorInsteadOfSuccess { got } => write!(f, "{got}, expected success"),
            Finding::WrongCode { got, expected } => write!(f, "{got}, expected {}", expected.join(" or ")),
            Finding::WrongStatus { got, expected } => {
                let e: Vec<String> = expected.iter().map(u16::to_string).collect();
                write!(f, "HTTP {got}, expected {}", e.join(" or "))
            }
            Finding::MissingImageId => f.write_str("success without an imageId"),
            Finding::MalformedImageId { got } => write!(f, "malformed imageId {got:?}"),
            Finding::WrongImageId { got, expected } => write!(f, "replay returned {got}, expected {expected}"),
            Finding::SetupDeviated { step, detail } => write!(f, "setup request {step}: {detail}"),
            Finding::SdkUnreadable { why } => write!(f, "an SDK would read this differently: {why}"),
            Finding::WrongNamespace { got: None, expected } => {
                write!(f, "CopyImageResponse in no XML namespace, expected {expected}")
            }
            Finding::WrongNamespace { got: Some(got), expected } => {
                write!(f, "CopyImageResponse in XML namespace {got:?}, expected {expected}")
            }
            Finding::MessageMismatch { got, expected } => write!(f, "message {got:?}, expected {expected:?}"),
        }
    }
}

impl Finding {
    /// The spec rule a finding answers to when it is not the prediction's (a property of the
    /// reply rather than an outcome of the request).
    pub fn own_rule(&self) -> Option<&'static str> {
        matches!(self, Finding::WrongNamespace { .. }).then_some(NAMESPACE_RULE)
    }
}

/// The spec rule on the XML namespace of a CopyImage success.
pub const NAMESPACE_RULE: &str = "R39-xml-namespace";

/// The namespaces a CopyImage success may be in, AWS's form first: the spec's
/// `operation.xml_namespace` for the API version the request names (when the spec knows that
/// version; else the spec's own), as AWS writes it (with a trailing slash) and as the service
/// model's `xmlNamespace` does (without).
pub fn success_namespaces(spec: &Spec, version: Option<&str>) -> Vec<String> {
    let own = &spec.operation.version;
    let version = version.filter(|v| spec.api_version(v).is_some()).unwrap_or(own);
    let mut out = vec![];
    for v in [version, own.as_str()] {
        let aws = spec.operation.xml_namespace.replace(own.as_str(), v);
        let model = aws.trim_end_matches('/').to_owned();
        for ns in [format!("{model}/"), model] {
            if !out.contains(&ns) {
                out.push(ns);
            }
        }
    }
    out
}

/// Whether `namespace` is the spec's own `operation.xml_namespace`, which
/// [`success_namespaces`] accepts whatever version a request names (it always lists the spec's
/// own version's forms): the answer of most successes, told without building the list.
pub(crate) fn plainly_accepted(spec: &Spec, namespace: &str) -> bool {
    let own = &spec.operation.xml_namespace;
    // With two slashes at its end it is neither of the forms the list holds.
    namespace == own && !own.ends_with("//")
}

/// The finding on a CopyImage success whose root's namespace (`namespace`, `None`: none) is
/// not one of `accepted` (see [`success_namespaces`]); `None` for any other reply. AWS's
/// error `<Response>` carries no namespace (`[errors]` example), so an error's is not judged.
pub fn namespace_finding(reply: &Reply, namespace: Option<&str>, accepted: &[String]) -> Option<Finding> {
    if !matches!(reply, Reply::Success { .. }) || namespace.is_some_and(|ns| accepted.iter().any(|a| a == ns)) {
        return None;
    }
    let expected = accepted.first().cloned().unwrap_or_default();
    Some(Finding::WrongNamespace { got: namespace.map(str::to_owned), expected })
}

/// Adds what an SDK would read differently (see [`crate::wire::decode_xml_read`]) to a verdict:
/// a conforming case becomes a deviation, a deviation gets one more finding. A case that is
/// unparseable or got no answer is left as it is.
pub fn with_sdk_reading(verdict: Verdict, why: Option<String>) -> Verdict {
    with_finding(verdict, why.map(|why| Finding::SdkUnreadable { why }))
}

/// Adds a finding the judgement of codes and statuses cannot see (what an SDK reads, the XML
/// namespace) to a verdict: a conforming case becomes a deviation, a deviation gets one more
/// finding, in its place by severity. A case that is unparseable or got no answer is left as
/// it is.
pub fn with_finding(verdict: Verdict, finding: Option<Finding>) -> Verdict {
    let Some(finding) = finding else { return verdict };
    match verdict {
        Verdict::Conforms { notes } => Verdict::Deviation { findings: std::iter::once(finding).chain(notes).collect() },
        Verdict::Deviation { mut findings } => {
            // Most serious first: after every finding at least as serious.
            let at = findings.iter().position(|f| f.severity() < finding.severity()).unwrap_or(findings.len());
            findings.insert(at, finding);
            Verdict::Deviation { findings }
        }
        other => other,
    }
}

/// Whether an ImageId has the form AWS returns.
pub fn image_id_ok(id: &str) -> bool {
    let Some(hex) = id.strip_prefix("ami-") else { return false };
    matches!(hex.len(), 8 | 17) && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Judges one reply.
///
/// `expected_image` is the ImageId a replay must return; `exact_message` the message AWS is
/// known to send for the first predicted outcome, when it is known to the letter.
pub fn judge(
    p: &Prediction,
    status: u16,
    reply: &Reply,
    expected_image: Option<&str>,
    exact_message: Option<&str>,
    codes: &dyn CodeMap,
) -> Verdict {
    let expected_codes = || p.codes.iter().map(|c| c.to_string()).collect::<Vec<_>>();
    match reply {
        Reply::Unparseable { reason, head } => {
            Verdict::Unparseable { reason: format!("HTTP {status}: {reason}; body starts {head:?}") }
        }
        Reply::Success { image_id, .. } => {
            if !p.ok {
                return Verdict::Deviation {
                    findings: vec![Finding::SuccessInsteadOfError { expected: expected_codes() }],
                };
            }
            let mut findings = vec![];
            if status != 200 {
                findings.push(Finding::WrongStatus { got: status, expected: vec![200] });
            }
            match image_id.as_deref() {
                None => findings.push(Finding::MissingImageId),
                Some(id) if !image_id_ok(id) => findings.push(Finding::MalformedImageId { got: id.to_owned() }),
                Some(id) => {
                    if let Some(want) = expected_image
                        && want != id
                    {
                        findings.push(Finding::WrongImageId { got: id.to_owned(), expected: want.to_owned() });
                    }
                }
            }
            if findings.is_empty() { Verdict::Conforms { notes: vec![] } } else { Verdict::Deviation { findings } }
        }
        Reply::Error { code, message, .. } => {
            let same_code: Vec<&crate::spec::Outcome> =
                p.outcomes.iter().filter(|o| o.code.as_deref().is_some_and(|c| codes.matches(code, c))).collect();
            if same_code.is_empty() {
                let finding = if p.codes.is_empty() {
                    Finding::ErrorInsteadOfSuccess { got: code.clone() }
                } else {
                    Finding::WrongCode { got: code.clone(), expected: expected_codes() }
                };
                return Verdict::Deviation { findings: vec![finding] };
            }
            if !same_code.iter().any(|o| o.status == status) {
                let expected = same_code.iter().map(|o| o.status).collect();
                return Verdict::Deviation { findings: vec![Finding::WrongStatus { got: status, expected }] };
            }
            let mut notes = vec![];
            if let (Some(want), Some(got)) = (exact_message, message.as_deref())
                && p.outcomes[0].code.as_deref().is_some_and(|c| codes.matches(code, c))
                && want != got
            {
                notes.push(Finding::MessageMismatch { got: got.to_owned(), expected: want.to_owned() });
            }
            Verdict::Conforms { notes }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oracle::Oracle;
    use crate::world::{Params, World};

    fn predict(pairs: &[(&str, &str)]) -> Prediction {
        let p: Params = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Oracle::builtin().unwrap().predict(&World::default_world(), &p)
    }

    fn valid() -> Prediction {
        predict(&[("Name", "copy-1"), ("SourceImageId", "ami-0a1b2c3d4e5f60718"), ("SourceRegion", "us-east-1")])
    }

    fn missing_region() -> Prediction {
        predict(&[("Name", "copy-1"), ("SourceImageId", "ami-0a1b2c3d4e5f60718")])
    }

    fn err(code: &str) -> Reply {
        Reply::Error { code: code.into(), message: Some("m".into()), request_id: None }
    }

    fn ok(id: &str) -> Reply {
        Reply::Success { image_id: Some(id.into()), request_id: None }
    }

    #[test]
    fn what_an_sdk_reads_differently_never_conforms() {
        let why = || Some("an error envelope with HTTP 200".to_owned());
        let conforming = judge(&valid(), 200, &ok("ami-0123456789abcdef0"), None, None, &SameCodes);
        let v = with_sdk_reading(conforming.clone(), why());
        assert_eq!(v, Verdict::Deviation { findings: vec![Finding::SdkUnreadable { why: why().unwrap() }] });
        assert_eq!(v.to_string(), "an SDK would read this differently: an error envelope with HTTP 200");
        assert_eq!(with_sdk_reading(conforming.clone(), None), conforming);
        let wrong = judge(&missing_region(), 200, &err("MissingParameter"), None, None, &SameCodes);
        let Verdict::Deviation { findings } = with_sdk_reading(wrong, why()) else { panic!("a deviation stays one") };
        assert!(matches!(&findings[..], [Finding::WrongStatus { .. }, Finding::SdkUnreadable { .. }]), "{findings:?}");
        let unparseable = Verdict::Unparseable { reason: "x".into() };
        assert_eq!(with_sdk_reading(unparseable.clone(), why()), unparseable);
    }

    #[test]
    fn success_and_errors_as_predicted_conform() {
        assert!(judge(&valid(), 200, &ok("ami-0123456789abcdef0"), None, None, &SameCodes).passes());
        assert!(judge(&missing_region(), 400, &err("MissingParameter"), None, None, &SameCodes).passes());
    }

    #[test]
    fn each_kind_of_deviation() {
        let v = judge(&missing_region(), 200, &ok("ami-0123456789abcdef0"), None, None, &SameCodes);
        assert_eq!(v.kind(), "deviation");
        assert!(
            matches!(&v, Verdict::Deviation { findings } if matches!(findings[0], Finding::SuccessInsteadOfError { .. }))
        );
        let v = judge(&valid(), 400, &err("InvalidAMIID.NotFound"), None, None, &SameCodes);
        assert!(
            matches!(&v, Verdict::Deviation { findings } if findings[0] == Finding::ErrorInsteadOfSuccess { got: "InvalidAMIID.NotFound".into() })
        );
        let v = judge(&missing_region(), 400, &err("InvalidParameterValue"), None, None, &SameCodes);
        assert!(matches!(&v, Verdict::Deviation { findings } if matches!(findings[0], Finding::WrongCode { .. })));
        let v = judge(&missing_region(), 500, &err("MissingParameter"), None, None, &SameCodes);
        assert!(
            matches!(&v, Verdict::Deviation { findings } if findings[0] == Finding::WrongStatus { got: 500, expected: vec![400] })
        );
        let v = judge(&valid(), 200, &Reply::Success { image_id: None, request_id: None }, None, None, &SameCodes);
        assert!(matches!(&v, Verdict::Deviation { findings } if findings[0] == Finding::MissingImageId));
        let v = judge(&valid(), 200, &ok("ami-XYZ"), None, None, &SameCodes);
        assert!(
            matches!(&v, Verdict::Deviation { findings } if matches!(findings[0], Finding::MalformedImageId { .. }))
        );
        let v = judge(&valid(), 200, &ok("ami-0123456789abcdef0"), Some("ami-11111111111111111"), None, &SameCodes);
        assert!(matches!(&v, Verdict::Deviation { findings } if matches!(findings[0], Finding::WrongImageId { .. })));
    }

    #[test]
    fn message_mismatch_is_a_note_not_a_failure() {
        let v = judge(
            &missing_region(),
            400,
            &err("MissingParameter"),
            None,
            Some("The request must contain the parameter Name"),
            &SameCodes,
        );
        assert!(v.passes());
        assert!(matches!(&v, Verdict::Conforms { notes } if notes.len() == 1));
    }

    #[test]
    fn unparseable_keeps_status_and_head() {
        let v = judge(
            &valid(),
            500,
            &Reply::Unparseable { reason: "not XML".into(), head: "<html>".into() },
            None,
            None,
            &SameCodes,
        );
        assert_eq!(v, Verdict::Unparseable { reason: "HTTP 500: not XML; body starts \"<html>\"".into() });
    }

    #[test]
    fn a_success_outside_ec2_s_namespace_is_a_finding_of_its_own_rule() {
        let spec = crate::spec::Spec::builtin().unwrap();
        let aws = "http://ec2.amazonaws.com/doc/2016-11-15/";
        let model = aws.trim_end_matches('/');
        let accepted = success_namespaces(&spec, None);
        assert_eq!(accepted, [aws, model]);
        let success = ok("ami-0123456789abcdef0");
        for fine in [aws, model] {
            assert_eq!(namespace_finding(&success, Some(fine), &accepted), None, "{fine}");
        }
        let none = namespace_finding(&success, None, &accepted).unwrap();
        assert_eq!(none, Finding::WrongNamespace { got: None, expected: aws.to_owned() });
        assert_eq!(none.own_rule(), Some(NAMESPACE_RULE));
        assert!(spec.rule(NAMESPACE_RULE).is_some_and(|r| !r.predicted), "the spec has the rule, not predicted");
        let s3 = namespace_finding(&success, Some("http://s3.amazonaws.com/doc/2006-03-01/"), &accepted).unwrap();
        assert_eq!(
            s3.to_string(),
            format!("CopyImageResponse in XML namespace \"http://s3.amazonaws.com/doc/2006-03-01/\", expected {aws}")
        );
        // AWS's error envelope has no namespace, an emulator's has one: neither is judged.
        assert_eq!(namespace_finding(&err("InvalidAMIID.NotFound"), None, &accepted), None);
        assert_eq!(namespace_finding(&err("InvalidAMIID.NotFound"), Some("urn:x"), &accepted), None);
        // A conforming case with a wrong namespace deviates; the finding sits by severity.
        let v = with_finding(Verdict::Conforms { notes: vec![] }, Some(none.clone()));
        assert_eq!(v, Verdict::Deviation { findings: vec![none.clone()] });
        let worse = Verdict::Deviation { findings: vec![Finding::MissingImageId] };
        assert_eq!(
            with_finding(worse, Some(none.clone())),
            Verdict::Deviation { findings: vec![Finding::MissingImageId, none] }
        );
    }

    #[test]
    fn an_older_version_may_answer_in_its_own_namespace_or_the_current_one() {
        let spec = crate::spec::Spec::builtin().unwrap();
        let old = success_namespaces(&spec, Some("2014-10-01"));
        assert_eq!(
            old,
            [
                "http://ec2.amazonaws.com/doc/2014-10-01/",
                "http://ec2.amazonaws.com/doc/2014-10-01",
                "http://ec2.amazonaws.com/doc/2016-11-15/",
                "http://ec2.amazonaws.com/doc/2016-11-15"
            ]
        );
        // A Version that never existed gets no namespace of its own.
        assert_eq!(success_namespaces(&spec, Some("banana")), success_namespaces(&spec, None));
    }

    #[test]
    fn what_is_plainly_accepted_is_accepted_for_every_version() {
        let mut spec = crate::spec::Spec::builtin().unwrap();
        let own = spec.operation.version.clone();
        let nss = [
            "http://ec2.amazonaws.com/doc/2016-11-15/",
            "http://ec2.amazonaws.com/doc/2016-11-15",
            "http://ec2.amazonaws.com/doc/2016-11-15//",
            "http://ec2.amazonaws.com/doc/2014-10-01/",
            "urn:x",
            "",
        ];
        for xml_namespace in [nss[0], nss[1], nss[2], "urn:unversioned/"] {
            spec.operation.xml_namespace = xml_namespace.to_owned();
            for version in [None, Some(own.as_str()), Some("2014-10-01"), Some("banana")] {
                let accepted = success_namespaces(&spec, version);
                for ns in nss.iter().chain([&xml_namespace]) {
                    if plainly_accepted(&spec, ns) {
                        assert!(accepted.iter().any(|a| a == ns), "{xml_namespace} {version:?} {ns}");
                    }
                }
            }
            assert_eq!(plainly_accepted(&spec, xml_namespace), !xml_namespace.ends_with("//"));
        }
    }

    #[test]
    fn image_ids() {
        assert!(image_id_ok("ami-12345678") && image_id_ok("ami-0123456789abcdef0"));
        assert!(!image_id_ok("ami-0123456789ABCDEF0") && !image_id_ok("ami-123") && !image_id_ok("img-12345678"));
    }

    #[test]
    fn a_verdict_shows_in_a_few_words() {
        let wrong = Finding::WrongCode { got: "A".into(), expected: vec!["B".into(), "C".into()] };
        let shown = |v: Verdict| v.to_string();
        assert_eq!(shown(Verdict::Conforms { notes: vec![Finding::MissingImageId] }), "conforms");
        assert_eq!(
            shown(Verdict::Deviation { findings: vec![wrong, Finding::MissingImageId] }),
            "A, expected B or C; success without an imageId"
        );
        assert_eq!(shown(Verdict::Deviation { findings: vec![] }), "");
        assert_eq!(shown(Verdict::Unparseable { reason: "no XML".into() }), "unparseable: no XML");
        assert_eq!(shown(Verdict::Transport { error: "timed out".into() }), "transport: timed out");
    }
}
