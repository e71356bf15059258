//! What a failure shows: each step in a line, and a bash script of `curl` commands that sends
//! the shrunk sequence again.

use super::PropertyFailure;
use super::trace::{Failed, Trace};
use crate::oracle::Prediction;
use crate::wire::Reply;
use crate::world::Params;

/// TagSpecification members shown in a step's description; the script has them all.
const SHOWN_TAG_MEMBERS: usize = 6;

/// The failure as a report shows it: detail, steps, and a bash script that sends the
/// shrunk sequence again.
pub(super) fn failure(endpoint: &str, trace: &Trace, failed: Failed) -> PropertyFailure {
    let mut script = String::from("#!/usr/bin/env bash\n");
    script.push_str(&comment(&format!("Stateful property `{}` fails on {}.", failed.property, endpoint)));
    script.push_str(&comment(&failed.detail));
    script.push_str(&comment(
        "The shrunk sequence, one request per step. Its ClientTokens and Names are the recorded \
         run's: an endpoint that saw them already answers differently, so start from a fresh \
         endpoint or change them first.",
    ));
    script.push_str("set -u\n");
    for (line, curl) in trace.steps.iter().zip(&trace.curls) {
        script.push('\n');
        script.push_str(&comment(line));
        if let Some(curl) = curl {
            script.push_str(curl);
            script.push_str("\necho\n");
        }
    }
    if let Some(curl) = &failed.evidence {
        script.push('\n');
        script.push_str(&comment("The request that shows the failure:"));
        script.push_str(curl);
        script.push_str("\necho\n");
    }
    PropertyFailure { property: failed.property.to_owned(), detail: failed.detail, steps: trace.steps.clone(), script }
}

/// A step's parameters in a line: every member, long values clipped, TagSpecification
/// members after the first few counted.
pub(super) fn show(params: &Params) -> String {
    let mut parts = vec![];
    let mut tags = 0;
    for (k, v) in params {
        if k.starts_with("TagSpecification.") {
            tags += 1;
            if tags > SHOWN_TAG_MEMBERS {
                continue;
            }
        }
        parts.push(format!("{k}={:?}", clip(v)));
    }
    if tags > SHOWN_TAG_MEMBERS {
        parts.push(format!("(+{} TagSpecification members)", tags - SHOWN_TAG_MEMBERS));
    }
    parts.join(" ")
}

/// A value in a line: at most 40 characters, then how many there are.
pub(super) fn clip(v: &str) -> String {
    const MAX: usize = 40;
    let n = v.chars().count();
    if n <= MAX { v.to_owned() } else { format!("{}…({n} chars)", v.chars().take(MAX).collect::<String>()) }
}

/// A reply in a few words: status, then the ImageId or the code.
pub(super) fn outcome(status: u16, reply: &Reply) -> String {
    match reply {
        Reply::Success { image_id, .. } => format!("HTTP {status} {}", image_id.as_deref().unwrap_or("(no imageId)")),
        Reply::Error { code, .. } => format!("HTTP {status} {code}"),
        Reply::Unparseable { reason, .. } => format!("HTTP {status}, unparseable ({reason})"),
    }
}

/// The outcomes a prediction accepts, e.g. `400 InvalidAMIID.Unavailable or 200 success`.
pub(super) fn expected(p: &Prediction) -> String {
    let mut all: Vec<String> = p
        .outcomes
        .iter()
        .map(|o| match &o.code {
            Some(c) => format!("{} {c}", o.status),
            None => format!("{} success", o.status),
        })
        .collect();
    all.dedup();
    all.join(" or ")
}

/// A bash comment line (newlines in `text` become spaces).
pub(super) fn comment(text: &str) -> String {
    format!("# {}\n", text.replace(['\n', '\r'], " "))
}
