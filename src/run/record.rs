//! What the runner gives back: each case's record, its setup requests' and its request
//! under test's, as sent, predicted, answered and judged; and how a record is written.

use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

use super::nonce;
use crate::oracle::Prediction;
use crate::verdict::Verdict;
use crate::wire::Reply;
use crate::world::Params;

/// One request of a case as sent and answered.
#[derive(Clone, Debug, Deserialize)]
pub struct StepRecord {
    /// The raw parameters.
    pub params: Params,
    /// The prediction made when it was sent.
    pub prediction: Prediction,
    /// HTTP status, if a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The decoded reply, if a response came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Reply>,
    /// The verdict on this request.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Attempts made (1 without retries).
    pub attempts: u32,
    /// Time from first attempt to the final reply.
    pub elapsed_ms: u64,
    /// A copy-paste `curl` command that sends the same request; secrets are placeholders.
    /// Empty for a conforming request of a runner that builds only the failing ones'
    /// ([`super::Reproductions::Failing`]).
    pub curl: String,
    /// The values the run's nonce rotated in `params` (a run against a long-lived endpoint):
    /// [`nonce::Rotation::generated`] gives the request as generated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<nonce::Rotation>,
}

/// Everything one case came to: its setup requests and its request under test.
#[derive(Clone, Debug, Deserialize)]
pub struct CaseRecord {
    /// The case id.
    pub id: String,
    /// What the case aimed at.
    pub target: String,
    /// Setup requests, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub setup: Vec<StepRecord>,
    /// The request under test; its verdict is the case's.
    #[serde(flatten)]
    pub result: StepRecord,
}

impl CaseRecord {
    /// The case's verdict.
    pub fn verdict(&self) -> &Verdict {
        &self.result.verdict
    }
}

// Written by hand as the derive with `#[serde(flatten)]` would write them: the same fields in
// the same order, the step's among the case's and the verdict's among the step's. The derive
// writes a flattened value as a map through a buffering serializer, which was most of the
// cost of redacting a record and of writing it to a report; this writes one struct.
impl Serialize for CaseRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("CaseRecord", 3 + STEP_FIELDS)?;
        out.serialize_field("id", &self.id)?;
        out.serialize_field("target", &self.target)?;
        if self.setup.is_empty() {
            out.skip_field("setup")?;
        } else {
            out.serialize_field("setup", &self.setup)?;
        }
        self.result.fields(&mut out)?;
        out.end()
    }
}

impl Serialize for StepRecord {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut out = serializer.serialize_struct("StepRecord", STEP_FIELDS)?;
        self.fields(&mut out)?;
        out.end()
    }
}

/// The most fields a step writes.
const STEP_FIELDS: usize = 10;

impl StepRecord {
    /// Writes the step's fields into `out`, a record's struct.
    fn fields<M: SerializeStruct>(&self, out: &mut M) -> Result<(), M::Error> {
        out.serialize_field("params", &self.params)?;
        out.serialize_field("prediction", &self.prediction)?;
        match &self.status {
            Some(status) => out.serialize_field("status", status)?,
            None => out.skip_field("status")?,
        }
        match &self.reply {
            Some(reply) => out.serialize_field("reply", reply)?,
            None => out.skip_field("reply")?,
        }
        // As `Verdict`'s own derive names it: tagged `verdict`, in snake case.
        match &self.verdict {
            Verdict::Conforms { notes } => {
                out.serialize_field("verdict", "conforms")?;
                if notes.is_empty() {
                    out.skip_field("notes")?;
                } else {
                    out.serialize_field("notes", notes)?;
                }
            }
            Verdict::Deviation { findings } => {
                out.serialize_field("verdict", "deviation")?;
                out.serialize_field("findings", findings)?;
            }
            Verdict::Unparseable { reason } => {
                out.serialize_field("verdict", "unparseable")?;
                out.serialize_field("reason", reason)?;
            }
            Verdict::Transport { error } => {
                out.serialize_field("verdict", "transport")?;
                out.serialize_field("error", error)?;
            }
        }
        out.serialize_field("attempts", &self.attempts)?;
        out.serialize_field("elapsed_ms", &self.elapsed_ms)?;
        out.serialize_field("curl", &self.curl)?;
        match &self.nonce {
            Some(rotation) => out.serialize_field("nonce", rotation),
            None => out.skip_field("nonce"),
        }
    }
}
