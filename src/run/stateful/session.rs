//! A session against the endpoint: runs a sequence step by step (copies, replays, look-ups),
//! keeps the model of what the endpoint holds, spends the creation budget, and sends through
//! the runner's request path.

use super::Stop;
use super::ops::Op;
use super::script::{expected, outcome, show};
use super::trace::{Failed, Made, Step, Trace};
use crate::oracle::key;
use crate::oracle::{Oracle, Prediction};
use crate::run::properties::{
    COPY_ACCEPTED, DEREGISTERED_SOURCE_ERROR, DESCRIBE_DESCRIPTION, DESCRIBE_ENCRYPTED, DESCRIBE_FOUND, DESCRIBE_NAME,
    DESCRIBE_STATE, DESCRIBE_TAGS, MISMATCH_ERROR, REPLAY_NO_NEW_IMAGE, REPLAY_SAME_IMAGE_ID,
};
use crate::run::send;
use crate::run::{Counters, Dialect, Target, verdict_line};
use crate::verdict::{CodeMap, judge};
use crate::wire::Reply;
use crate::wire::describe::{DescribeError, DescribedImage, Text, read_json, read_xml};
use crate::world::{Params, World};

/// Why a DescribeImages answer lists no images to check.
#[derive(Debug, thiserror::Error)]
pub(super) enum Unlisted {
    /// An error answer.
    #[error("HTTP {status} {code}: {message}")]
    Refused {
        /// Its status.
        status: u16,
        /// Its code.
        code: String,
        /// Its message, empty if none.
        message: String,
    },
    /// No body was kept: it was empty, or larger than the target's limit.
    #[error("HTTP {status}: {reason}")]
    NoBody {
        /// The answer's status.
        status: u16,
        /// Why the body is not there.
        reason: String,
    },
    /// Neither an error nor a success.
    #[error("HTTP {status}: body starts {head:?}")]
    Status {
        /// The answer's status.
        status: u16,
        /// The body's first bytes.
        head: String,
    },
    /// A success that cannot be read.
    #[error(transparent)]
    Unreadable(DescribeError),
}

/// An answered request.
struct Answered {
    /// The request as a `curl` command.
    curl: String,
    status: u16,
    reply: Reply,
    /// The body as read; empty when it was too large.
    raw: Vec<u8>,
}

/// The images a DescribeImages answer lists, or why it lists none.
pub(super) type Listed = Result<Vec<DescribedImage>, Unlisted>;

/// The checks' hold on the endpoint: how to reach it, what it is known to hold, what has
/// been spent.
pub(super) struct Session<'a> {
    pub(super) rt: tokio::runtime::Runtime,
    pub(super) client: send::Sender,
    pub(super) target: &'a Target,
    pub(super) oracle: &'a Oracle,
    pub(super) codes: Box<dyn CodeMap>,
    pub(super) counters: Counters,
    /// What the endpoint holds, as far as the checks know: the world, plus every copy made.
    pub(super) model: World,
    pub(super) deregistered: Vec<(String, String)>,
    /// The source a simplified copy prefers.
    pub(super) first_source: Option<(String, String, bool)>,
    pub(super) nonce: String,
    pub(super) runs: u64,
}

impl Session<'_> {
    /// Runs a sequence from its first step until a property in `checked` fails. `Err` means
    /// the checks cannot go on (no answer, budget spent).
    pub(super) fn run(&mut self, ops: &[Op], checked: &dyn Fn(&str) -> bool) -> Result<Trace, Stop> {
        let run = self.runs;
        self.runs += 1;
        let mut trace = Trace::default();
        let mut made: Vec<Made> = vec![];
        for (i, op) in ops.iter().enumerate() {
            let n = i + 1;
            let tag = format!("{}r{run:x}s{n}", self.nonce);
            let step = match op {
                Op::Copy(p) => self.copy(p, n, &tag, &mut made, checked)?,
                Op::Replay(k) => match pick(&made, *k) {
                    Some(c) => self.replay(c, n, checked)?,
                    None => Step::skipped(format!("{n}. Replay: skipped, no earlier copy was made")),
                },
                Op::ReplayChanged(k) => match pick(&made, *k) {
                    Some(c) => self.replay_changed(c, n, &tag, checked)?,
                    None => Step::skipped(format!("{n}. Replay with another Name: skipped, no earlier copy was made")),
                },
                Op::Describe(k) => match pick(&made, *k) {
                    Some(c) => self.describe_copy(c, n, checked)?,
                    None => Step::skipped(format!("{n}. Describe: skipped, no earlier copy was made")),
                },
                Op::CopyDeregistered(k, p) => self.copy_deregistered(*k, p, n, &tag, checked)?,
            };
            trace.steps.push(step.line);
            trace.curls.push(step.curl);
            if let Some((property, detail, evidence)) = step.failure {
                trace.failure = Some(Failed { property, step: n, detail, evidence });
                break;
            }
        }
        Ok(trace)
    }

    fn copy(
        &mut self,
        p: &Params,
        n: usize,
        tag: &str,
        made: &mut Vec<Made>,
        checked: &dyn Fn(&str) -> bool,
    ) -> Result<Step, Stop> {
        let (params, generated) = self.fresh(p, tag);
        let prediction = self.oracle.predict(&self.model, &params);
        self.spend(&prediction)?;
        let Answered { curl, status, reply, .. } = self.send(&params)?;
        let line = format!("{n}. Copy: CopyImage {} → {}", show(&params), outcome(status, &reply));
        if let Reply::Success { image_id: Some(id), .. } = &reply {
            self.record(&params, id);
            made.push(Made { step: n, params: params.clone(), generated, image_id: id.clone() });
        }
        let verdict = judge(&prediction, status, &reply, None, None, &*self.codes);
        let failure = (checked(COPY_ACCEPTED) && !verdict.passes()).then(|| {
            let detail = format!("step {n}: a valid copy: {}", verdict_line(&verdict));
            (COPY_ACCEPTED, detail, None)
        });
        Ok(Step { line, curl: Some(curl), failure })
    }

    fn replay(&mut self, c: &Made, n: usize, checked: &dyn Fn(&str) -> bool) -> Result<Step, Stop> {
        let prediction = self.oracle.predict(&self.model, &c.params);
        self.spend(&prediction)?;
        let Answered { curl, status, reply, .. } = self.send(&c.params)?;
        let line =
            format!("{n}. Replay of step {} (same ClientToken, same parameters) → {}", c.step, outcome(status, &reply));
        let curl = Some(curl);
        let verdict = judge(&prediction, status, &reply, Some(&c.image_id), None, &*self.codes);
        if checked(REPLAY_SAME_IMAGE_ID) && !verdict.passes() {
            let detail = format!(
                "step {n}: the replay of step {} must return {} again: {}",
                c.step,
                c.image_id,
                verdict_line(&verdict)
            );
            return Ok(Step { line, curl, failure: Some((REPLAY_SAME_IMAGE_ID, detail, None)) });
        }
        if !checked(REPLAY_NO_NEW_IMAGE) {
            return Ok(Step { line, curl, failure: None });
        }
        let name = c.params.get(key::NAME).cloned().unwrap_or_default();
        let query: Params = [("Owner.1", "self"), ("Filter.1.Name", "name"), ("Filter.1.Value.1", name.as_str())]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let (describe_curl, listed) = self.describe(query)?;
        let problem = match listed {
            Err(why) => Some(format!("step {n}: after the replay of step {}, DescribeImages: {why}", c.step)),
            Ok(images) => {
                let extra: Vec<&str> = images
                    .iter()
                    .filter(|i| i.name.as_deref() == Some(name.as_str()) && i.image_id != c.image_id)
                    .map(|i| i.image_id.as_str())
                    .collect();
                (!extra.is_empty()).then(|| {
                    format!(
                        "step {n}: after the replay of step {}, DescribeImages shows {} besides {} with its Name: {}",
                        c.step,
                        if extra.len() == 1 { "another image" } else { "other images" },
                        c.image_id,
                        extra.join(", ")
                    )
                })
            }
        };
        let failure = problem.map(|detail| (REPLAY_NO_NEW_IMAGE, detail, Some(describe_curl)));
        Ok(Step { line, curl, failure })
    }

    fn replay_changed(&mut self, c: &Made, n: usize, tag: &str, checked: &dyn Fn(&str) -> bool) -> Result<Step, Stop> {
        let mut params = c.params.clone();
        let name = self.unique_name(&c.generated, tag);
        params.insert(key::NAME.into(), name.clone());
        let prediction = self.oracle.predict(&self.model, &params);
        self.spend(&prediction)?;
        let Answered { curl, status, reply, .. } = self.send(&params)?;
        let line = format!(
            "{n}. Replay of step {} with Name={name:?} (same ClientToken) → {}",
            c.step,
            outcome(status, &reply)
        );
        if let Reply::Success { image_id: Some(id), .. } = &reply {
            // The endpoint made a copy after all; the model follows it.
            self.record(&params, id);
        }
        let verdict = judge(&prediction, status, &reply, None, None, &*self.codes);
        let failure = (checked(MISMATCH_ERROR) && !verdict.passes()).then(|| {
            let detail =
                format!("step {n}: step {}'s ClientToken with another Name: {}", c.step, verdict_line(&verdict));
            (MISMATCH_ERROR, detail, None)
        });
        Ok(Step { line, curl: Some(curl), failure })
    }

    fn describe_copy(&mut self, c: &Made, n: usize, checked: &dyn Fn(&str) -> bool) -> Result<Step, Stop> {
        let query: Params = [("ImageId.1".to_owned(), c.image_id.clone())].into();
        let (curl, listed) = self.describe(query)?;
        let found = match &listed {
            Ok(images) => images.iter().find(|i| i.image_id == c.image_id),
            Err(_) => None,
        };
        let line = format!(
            "{n}. Describe the copy of step {}: DescribeImages ImageId.1={} → {}",
            c.step,
            c.image_id,
            match (&listed, found) {
                (Err(why), _) => format!("unreadable ({why})"),
                (Ok(_), None) => "not listed".to_owned(),
                (Ok(_), Some(i)) => format!(
                    "state {}, Name {:?}, {} tag(s)",
                    i.state.as_deref().unwrap_or("(none)"),
                    i.name.as_deref().unwrap_or(""),
                    i.tags.len()
                ),
            }
        );
        let step = |failure: Option<(&'static str, String)>| Step {
            line: line.clone(),
            curl: Some(curl.clone()),
            failure: failure.map(|(p, d)| (p, d, None)),
        };
        let image = match (&listed, found) {
            (Ok(_), Some(i)) => i,
            (Err(why), _) => {
                let detail = format!("step {n}: DescribeImages of the copy of step {}: {why}", c.step);
                return Ok(step(checked(DESCRIBE_FOUND).then_some((DESCRIBE_FOUND, detail))));
            }
            (Ok(images), None) => {
                let listed: Vec<&str> = images.iter().map(|i| i.image_id.as_str()).collect();
                let detail = format!(
                    "step {n}: DescribeImages ImageId.1={} does not list the copy of step {} (it lists [{}])",
                    c.image_id,
                    c.step,
                    listed.join(", ")
                );
                return Ok(step(checked(DESCRIBE_FOUND).then_some((DESCRIBE_FOUND, detail))));
            }
        };
        let checks: [(&'static str, &dyn Fn() -> Option<String>); 5] = [
            (DESCRIBE_NAME, &|| self.name_problem(c, image)),
            (DESCRIBE_DESCRIPTION, &|| self.description_problem(c, image)),
            (DESCRIBE_STATE, &|| Self::state_problem(image)),
            (DESCRIBE_TAGS, &|| self.tags_problem(c, image)),
            (DESCRIBE_ENCRYPTED, &|| self.encrypted_problem(c, image)),
        ];
        for (property, problem) in checks {
            if !checked(property) {
                continue;
            }
            if let Some(p) = problem() {
                return Ok(step(Some((
                    property,
                    format!("step {n}: the copy of step {} ({}): {p}", c.step, c.image_id),
                ))));
            }
        }
        Ok(step(None))
    }

    fn copy_deregistered(
        &mut self,
        k: u8,
        p: &Params,
        n: usize,
        tag: &str,
        checked: &dyn Fn(&str) -> bool,
    ) -> Result<Step, Stop> {
        let Some((id, region)) = pick(&self.deregistered, k).cloned() else {
            return Ok(Step::skipped(format!("{n}. Copy from a deregistered source: skipped, the world has none")));
        };
        let (mut params, _) = self.fresh(p, tag);
        params.insert(key::SOURCE_IMAGE_ID.into(), id.clone());
        params.insert(key::SOURCE_REGION.into(), region);
        let prediction = self.oracle.predict(&self.model, &params);
        self.spend(&prediction)?;
        let Answered { curl, status, reply, .. } = self.send(&params)?;
        let line =
            format!("{n}. Copy from deregistered {id}: CopyImage {} → {}", show(&params), outcome(status, &reply));
        if let Reply::Success { image_id: Some(made), .. } = &reply {
            self.record(&params, made);
        }
        let verdict = judge(&prediction, status, &reply, None, None, &*self.codes);
        let failure = (checked(DEREGISTERED_SOURCE_ERROR) && !verdict.passes()).then(|| {
            let detail = format!(
                "step {n}: a copy of deregistered {id} (expected {}): {}",
                expected(&prediction),
                verdict_line(&verdict)
            );
            (DEREGISTERED_SOURCE_ERROR, detail, None)
        });
        Ok(Step { line, curl: Some(curl), failure })
    }

    /// Adds a copy the endpoint made to the model.
    pub(super) fn record(&mut self, params: &Params, image_id: &str) {
        let encrypted = self.expect_encrypted(params);
        self.model.record_copy(params, image_id, encrypted);
    }

    /// The parameters with this run's ClientToken and a Name of their own; also the Name
    /// without the tag.
    pub(super) fn fresh(&self, p: &Params, tag: &str) -> (Params, String) {
        let mut params = p.clone();
        let generated = params.get(key::NAME).cloned().unwrap_or_default();
        let room = self.oracle.limits().name_max.saturating_sub(tag.len() + 1);
        let generated: String = generated.chars().take(room).collect();
        params.insert(key::NAME.into(), self.unique_name(&generated, tag));
        params.insert(key::CLIENT_TOKEN.into(), tag.to_owned());
        // Journaled copies carry the run-id tag, for `cleanup`; replays reuse these params.
        if let Some(journal) = &self.target.safety.journal {
            journal.tag(&mut params, crate::run::COPY_TAGGED);
        }
        (params, generated)
    }

    fn unique_name(&self, generated: &str, tag: &str) -> String {
        let room = self.oracle.limits().name_max.saturating_sub(tag.len() + 1);
        let head: String = generated.chars().take(room).collect();
        format!("{head}-{tag}")
    }

    /// Counts a CopyImage against the run's one creation budget (shared with the cases and
    /// `--setup`) on real AWS. Every copy request counts, whatever its prediction, replays of a
    /// ClientToken included: one predicted to fail or to be answered idempotently may still
    /// create an image on AWS.
    fn spend(&mut self, _: &Prediction) -> Result<(), Stop> {
        let safety = &self.target.safety;
        if safety.try_spend() { Ok(()) } else { Err(Stop::Budget(safety.max_creates)) }
    }

    /// Sends one request through the runner's request path (retries included).
    fn send(&self, params: &Params) -> Result<Answered, Stop> {
        let sent = self.rt.block_on(self.client.send(self.target, params, &self.counters));
        let curl = sent.curl(self.target);
        match sent.outcome {
            Ok((status, reply)) => Ok(Answered { curl, status, reply, raw: sent.raw }),
            Err(error) => Err(Stop::NoAnswer { endpoint: self.target.endpoint.clone(), error }),
        }
    }

    /// Sends DescribeImages with `query`; gives its command and the images, or why they could
    /// not be read.
    pub(super) fn describe(&self, mut query: Params) -> Result<(String, Listed), Stop> {
        query.insert(key::ACTION.into(), "DescribeImages".into());
        let Answered { curl, status, reply, raw } = self.send(&query)?;
        let images = match reply {
            Reply::Error { code, message, .. } => {
                Err(Unlisted::Refused { status, code, message: message.unwrap_or_default() })
            }
            // No body kept: empty, or larger than the target's limit.
            Reply::Unparseable { reason, .. } if raw.is_empty() => Err(Unlisted::NoBody { status, reason }),
            _ if !(200..300).contains(&status) => {
                let head = String::from_utf8_lossy(&raw[..raw.len().min(200)]).into_owned();
                Err(Unlisted::Status { status, head })
            }
            // Text verbatim: whether the endpoint keeps a Name or a tag as sent is checked.
            _ => match self.target.dialect {
                Dialect::Ec2Query => read_xml(&raw, Text::Verbatim).map_err(Unlisted::Unreadable),
                Dialect::JsonEnvelope => read_json(&raw).map_err(Unlisted::Unreadable),
            },
        };
        Ok((curl, images))
    }
}

/// The `k`th item, counting round the list.
fn pick<T>(list: &[T], k: u8) -> Option<&T> {
    (!list.is_empty()).then(|| &list[usize::from(k) % list.len()])
}
