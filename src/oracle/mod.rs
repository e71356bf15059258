//! The reference rules oracle: given a world and raw wire parameters, the set of outcomes AWS
//! may give, and the rules that decide it.
//!
//! Evaluation follows the spec's phases. A phase that fires decides; within an `any` phase
//! every firing rule is acceptable (AWS's order is unknown); an uncertain rule adds its
//! outcomes and lets evaluation go on; an `overlaps_next` phase also accepts the next phase
//! that fires. The last phase is the fall-through, reached only when nothing decided.

mod copy;
// The wire keys are the spec's vocabulary; the oracle reads requests by them.
pub use crate::spec::key;
pub mod limits;
pub mod pattern;
pub mod request;
pub mod rules;

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::spec::{Combine, Confidence, Likely, Outcome, Spec, SpecError, UncertainAlso};
use crate::world::{Image, Params, World};
use request::{Request, canonical_params};
use rules::{Ctx, Hit, Level};

pub use copy::{copies, record_copy, record_if_copied};
pub use limits::Limits;

/// What the oracle predicts for one request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prediction {
    /// Whether success is an acceptable outcome.
    pub ok: bool,
    /// The status of the first acceptable outcome.
    pub status: u16,
    /// Acceptable error codes.
    pub codes: Vec<Arc<str>>,
    /// Rules that decided the prediction, in evaluation order.
    pub rules: Vec<Arc<str>>,
    /// Every acceptable (code, status) pair, the first the most specific.
    pub outcomes: Vec<Outcome>,
    /// The weakest confidence among the deciding rules.
    pub confidence: Confidence,
    /// The ImageId a success must return (an idempotent replay); `$setup.N` names the image
    /// an earlier step of the same case created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    /// The message of the first outcome, from the spec's template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Whether AWS is known to send `message` to the letter.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub message_exact: bool,
}

impl Prediction {
    /// Whether an observed (status, code) is acceptable; `code` is `None` for a success.
    pub fn accepts(&self, status: u16, code: Option<&str>) -> bool {
        self.outcomes.iter().any(|o| o.status == status && o.code.as_deref() == code)
    }

    /// Whether the error code is acceptable, whatever its status.
    pub fn accepts_code(&self, code: &str) -> bool {
        self.codes.iter().any(|c| &**c == code)
    }

    /// The acceptable error codes as plain strings.
    pub fn code_list(&self) -> Vec<&str> {
        self.codes.iter().map(|c| &**c).collect()
    }

    /// The deciding rule ids as plain strings.
    pub fn rule_ids(&self) -> Vec<&str> {
        self.rules.iter().map(|r| &**r).collect()
    }

    /// Whether a rule took part in the decision.
    pub fn has_rule(&self, id: &str) -> bool {
        self.rules.iter().any(|r| &**r == id)
    }

    /// The first acceptable outcome: what the embedded endpoint answers.
    pub fn primary(&self) -> &Outcome {
        &self.outcomes[0]
    }
}

/// Which rules fired and which were met at their boundary: the evidence for rule coverage.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    /// Indexes into `Oracle::rule_ids` of rules that fired (certainly or not).
    pub fired: Vec<usize>,
    /// Indexes of rules the request met at their boundary without crossing it.
    pub near: Vec<usize>,
}

#[derive(Clone)]
struct CompiledRule {
    id: Arc<str>,
    check: for<'a> fn(&Ctx<'a>) -> Hit<'a>,
    /// Whether a firing hit names the image a success returns (an idempotent replay).
    replays: bool,
    phase: usize,
    outcomes: Vec<Outcome>,
    uncertain_also: Option<UncertainAlso>,
    confidence: Confidence,
    message: String,
    message_exact: bool,
    /// How an uncertain hit counts; only an oracle answering the likely outcome changes it.
    on_uncertain: OnUncertain,
}

/// How a rule's uncertain hit counts in a prediction.
#[derive(Clone, Copy, PartialEq, Eq)]
enum OnUncertain {
    /// As the spec says: its outcomes are acceptable and `uncertain_also` adds the rest.
    Acceptable,
    /// As if the rule had not fired (the spec's `likely = "success"`).
    Ignored,
    /// As if it had fired certainly (the spec's `likely` names one of its codes).
    Fires,
}

/// The oracle, built once from a spec.
pub struct Oracle {
    spec: Arc<Spec>,
    limits: Arc<Limits>,
    rules: Vec<CompiledRule>,
    /// Rule indexes per phase, in order; the last phase is the fall-through.
    phases: Vec<(Combine, bool, Vec<usize>)>,
    simple_keys: Vec<String>,
    index_check: request::IndexCheck,
}

impl Oracle {
    /// Builds the oracle, checking that every predicted spec rule is implemented and every
    /// implemented rule is in the spec.
    pub fn new(spec: Arc<Spec>) -> Result<Self, SpecError> {
        let limits = Arc::new(Limits::from_spec(&spec)?);
        let mut compiled = Vec::new();
        for r in &spec.rules {
            match (r.predicted, rules::find(&r.id)) {
                (true, None) => {
                    return Err(spec.error(
                        format!("rule.{}", r.id),
                        "the oracle has no check for this rule; set `predicted = false` with a `reason`",
                    ));
                }
                (false, Some(_)) => {
                    return Err(spec.error(
                        format!("rule.{}.predicted", r.id),
                        "the oracle implements this rule; it must be predicted",
                    ));
                }
                (false, None) => continue,
                (true, Some(rule)) => {
                    // Checked at load; a spec changed since (a mutant's) is told, not trusted.
                    let Some(phase) = spec.phases.iter().position(|p| p.name == r.phase) else {
                        return Err(spec.error(format!("rule.{}.phase", r.id), format!("no phase {:?}", r.phase)));
                    };
                    compiled.push(CompiledRule {
                        id: Arc::from(r.id.as_str()),
                        check: rule.check,
                        replays: rule.id == rules::IDEM_REPLAY.id,
                        phase,
                        outcomes: r.outcomes.clone(),
                        uncertain_also: r.uncertain_also,
                        confidence: r.confidence,
                        message: r.message.clone(),
                        message_exact: r.message_exact,
                        on_uncertain: OnUncertain::Acceptable,
                    });
                }
            }
        }
        for id in rules::ALL.iter().map(|r| r.id) {
            if spec.rule(id).is_none() {
                return Err(
                    spec.error(format!("rule.{id}"), "missing; the oracle implements it and needs its outcomes")
                );
            }
        }
        let phases = spec
            .phases
            .iter()
            .enumerate()
            .map(|(pi, p)| {
                let members = compiled.iter().enumerate().filter(|(_, r)| r.phase == pi).map(|(i, _)| i).collect();
                (p.combine, p.overlaps_next, members)
            })
            .collect();
        let simple_keys: Vec<String> =
            spec.parameters.iter().filter(|p| !p.key.contains('{')).map(|p| p.key.clone()).collect();
        for k in &simple_keys {
            if key::slot(k).is_none() {
                return Err(
                    spec.error(format!("parameter.{k}"), "a member the oracle does not know; it cannot be predicted")
                );
            }
        }
        for k in &key::SIMPLE[2..] {
            spec.require_param(k)?;
        }
        let index_check = request::IndexCheck::new(spec.regex(&spec.encoding.list_index_pattern).clone());
        Ok(Oracle { spec, limits, rules: compiled, phases, simple_keys, index_check })
    }

    /// The same oracle answering what AWS most likely does (the spec's `likely` per rule): an
    /// uncertain rule whose likely answer is success does not fire, one whose likely answer
    /// is a code fires for certain, and that code leads its outcomes. The embedded endpoint
    /// answers the first outcome of this oracle's predictions.
    pub fn answering_likely(&self) -> Oracle {
        let mut rules = self.rules.clone();
        for rule in &mut rules {
            let Some(likely) = self.spec.rule(&rule.id).and_then(|r| r.likely.as_ref()) else {
                continue;
            };
            rule.on_uncertain = match likely {
                Likely::Success => OnUncertain::Ignored,
                Likely::Code(code) => {
                    if let Some(at) = rule.outcomes.iter().position(|o| o.code.as_deref() == Some(code.as_str())) {
                        let first = rule.outcomes.remove(at);
                        rule.outcomes.insert(0, first);
                    }
                    OnUncertain::Fires
                }
            };
        }
        let index_check = request::IndexCheck::new(self.spec.regex(&self.spec.encoding.list_index_pattern).clone());
        Oracle {
            spec: Arc::clone(&self.spec),
            limits: Arc::clone(&self.limits),
            rules,
            phases: self.phases.clone(),
            simple_keys: self.simple_keys.clone(),
            index_check,
        }
    }

    /// The oracle over the built-in spec.
    pub fn builtin() -> Result<Self, SpecError> {
        Self::new(Arc::new(Spec::builtin()?))
    }

    /// The spec it was built from.
    pub fn spec(&self) -> &Arc<Spec> {
        &self.spec
    }

    /// The limits it checks, shared with whoever needs them beyond a call.
    pub(crate) fn limits(&self) -> &Arc<Limits> {
        &self.limits
    }

    /// Ids of the predicted rules, indexed as in `Trace`.
    pub fn rule_ids(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| &*r.id)
    }

    /// Predicts the outcome of one request.
    pub fn predict(&self, world: &World, params: &Params) -> Prediction {
        let req = Request::parse(params, &self.simple_keys, &self.index_check);
        let image = self.source_image(world, &req);
        let ctx = self.ctx(world, &req, image.as_deref());
        // Each rule is checked when `compose` reaches it, and its hit dropped there: a request
        // an early rule decides (most invalid ones) skips the later checks, the world lookups
        // among them, and no array of every rule's hit is set up and dropped per request.
        self.compose(world, params, &req, |i| Cow::Owned((self.rules[i].check)(&ctx)))
    }

    fn ctx<'a>(&'a self, world: &'a World, req: &'a Request<'a>, image: Option<&'a Image>) -> Ctx<'a> {
        Ctx { spec: &self.spec, lim: &self.limits, world, req, image, token: std::cell::OnceCell::new() }
    }

    /// The source image the request names, if it exists and is visible in SourceRegion.
    fn source_image<'w>(&self, world: &'w World, req: &Request<'_>) -> Option<Cow<'w, Image>> {
        match (req.get(key::SOURCE_IMAGE_ID), req.get(key::SOURCE_REGION)) {
            (Some(id), Some(region)) => world.image(id, region).filter(|i| i.visible),
            _ => None,
        }
    }

    /// Predicts, and reports which rules fired or were met at their boundary.
    pub fn predict_traced(&self, world: &World, params: &Params) -> (Prediction, Trace) {
        let req = Request::parse(params, &self.simple_keys, &self.index_check);
        let image = self.source_image(world, &req);
        let ctx = self.ctx(world, &req, image.as_deref());
        let hits: Vec<Hit<'_>> = self.rules.iter().map(|r| (r.check)(&ctx)).collect();
        let mut trace = Trace::default();
        for (i, h) in hits.iter().enumerate() {
            match h.level {
                Level::Fires | Level::Uncertain => trace.fired.push(i),
                Level::Near => trace.near.push(i),
                Level::Quiet => {}
            }
        }
        (self.compose(world, params, &req, |i| Cow::Borrowed(&hits[i])), trace)
    }

    /// The prediction from the rules' hits, phase by phase; `hit_of(i)` is rule `i`'s hit,
    /// asked for only when the rule is reached (at most once).
    fn compose<'a, 'h>(
        &'a self,
        world: &World,
        params: &Params,
        req: &Request<'_>,
        hit_of: impl Fn(usize) -> Cow<'h, Hit<'a>>,
    ) -> Prediction
    where
        'a: 'h,
    {
        let mut acc = Acc::new();
        let mut overlapping = false;
        let last = self.phases.len() - 1;
        for (pi, (combine, overlaps_next, members)) in self.phases.iter().enumerate() {
            if pi == last && (acc.decided || overlapping) {
                break;
            }
            let mut decides = false;
            // Whether a member fires (uncertain hits counted as they count): read only when none
            // decides, and then no `break` below has skipped a member.
            let mut fires = false;
            for &i in members {
                let (rule, hit) = (&self.rules[i], hit_of(i));
                let level = match (hit.level, rule.on_uncertain) {
                    (Level::Uncertain, OnUncertain::Ignored) => continue,
                    (Level::Uncertain, OnUncertain::Fires) => Level::Fires,
                    (level, _) => level,
                };
                if !hit.fired() {
                    continue;
                }
                fires = true;
                acc.add(rule, &hit);
                if level == Level::Uncertain && rule.uncertain_also == Some(UncertainAlso::Canonical) {
                    let canon = canonical_params(params, &req.case_variants);
                    acc.merge(self.predict(world, &canon));
                    return acc.finish();
                }
                if level == Level::Fires {
                    decides = true;
                    if *combine == Combine::First {
                        break;
                    }
                }
            }
            if decides || (overlapping && fires) {
                if overlapping && decides {
                    break;
                }
                if decides && *overlaps_next && !overlapping {
                    overlapping = true;
                    acc.decided = true;
                    continue;
                }
                if decides {
                    acc.decided = true;
                    break;
                }
            }
        }
        acc.finish()
    }
}

#[derive(Default)]
struct Acc {
    outcomes: Vec<Outcome>,
    rules: Vec<Arc<str>>,
    confidence: Option<Confidence>,
    image_id: Option<String>,
    message: Option<String>,
    message_exact: bool,
    decided: bool,
}

impl Acc {
    /// Room for the few outcomes and rules of a usual prediction (what a first push would
    /// allocate, without growing into it).
    fn new() -> Self {
        Acc { outcomes: Vec::with_capacity(4), rules: Vec::with_capacity(4), ..Acc::default() }
    }

    fn add(&mut self, rule: &CompiledRule, hit: &Hit<'_>) {
        for o in &rule.outcomes {
            if !self.outcomes.contains(o) {
                self.outcomes.push(o.clone());
            }
        }
        if !self.rules.contains(&rule.id) {
            self.rules.push(rule.id.clone());
        }
        self.confidence = self.confidence.max(Some(rule.confidence));
        if rule.replays {
            self.image_id = hit.image.as_deref().map(str::to_owned);
        }
        if self.message.is_none() && !rule.outcomes[0].is_success() {
            self.message = Some(render(&rule.message, hit));
            self.message_exact = rule.message_exact;
        }
    }

    fn merge(&mut self, p: Prediction) {
        for o in p.outcomes {
            if !self.outcomes.contains(&o) {
                self.outcomes.push(o);
            }
        }
        for r in p.rules {
            if !self.rules.contains(&r) {
                self.rules.push(r);
            }
        }
        self.confidence = self.confidence.max(Some(p.confidence));
        self.image_id = self.image_id.take().or(p.image_id);
        if self.message.is_none() {
            self.message = p.message;
            self.message_exact = p.message_exact;
        }
    }

    fn finish(self) -> Prediction {
        let outcomes = self.outcomes;
        let mut codes: Vec<Arc<str>> = Vec::with_capacity(outcomes.len());
        for o in &outcomes {
            if let Some(c) = &o.code
                && !codes.contains(c)
            {
                codes.push(c.clone());
            }
        }
        Prediction {
            ok: outcomes.iter().any(Outcome::is_success),
            status: outcomes.first().map_or(200, |o| o.status),
            codes,
            rules: self.rules,
            outcomes,
            confidence: self.confidence.unwrap_or(Confidence::Documented),
            image_id: self.image_id,
            message: self.message,
            message_exact: self.message_exact,
        }
    }
}

/// Fills a message template with a hit's values, one placeholder after the other (a value
/// put in by an earlier one is read by the later ones, as `str::replace` in turn would).
fn render(template: &str, hit: &Hit<'_>) -> String {
    let fills = [
        ("{param}", hit.param.as_deref().unwrap_or("")),
        ("{value}", hit.value.unwrap_or("")),
        ("{image}", hit.image.as_deref().unwrap_or("")),
        ("{snapshot}", hit.snapshot.as_deref().unwrap_or("")),
    ];
    // One pass over the template, when no value brings a `{` (a placeholder a later one would
    // fill) and every `{` of the template opens a whole placeholder (so no value completes one
    // with the template's text around it): then the passes in turn fill the same places.
    if fills.iter().all(|(_, v)| !v.contains('{'))
        && let Some(out) = render_once(template, &fills)
    {
        return out;
    }
    let mut out = Cow::Borrowed(template);
    for (name, v) in fills {
        if let Some(filled) = replace_placeholder(&out, name, v) {
            out = Cow::Owned(filled);
        }
    }
    out.into_owned()
}

/// `render` in one pass over the template; `None` when a `{` of the template opens none of
/// the placeholders (`{region}` included, left for [`render_region`]).
fn render_once(template: &str, fills: &[(&str, &str); 4]) -> Option<String> {
    let mut out = String::with_capacity(template.len() + fills.iter().map(|(_, v)| v.len()).sum::<usize>());
    let (mut copied, mut from) = (0, 0);
    while let Some(at) = template[from..].find('{').map(|i| from + i) {
        let rest = &template[at..];
        if let Some((name, v)) = fills.iter().find(|(name, _)| rest.starts_with(name)) {
            out.push_str(&template[copied..at]);
            out.push_str(v);
            copied = at + name.len();
            from = copied;
        } else if rest.starts_with("{region}") {
            from = at + "{region}".len();
        } else {
            return None;
        }
    }
    out.push_str(&template[copied..]);
    Some(out)
}

/// `text.replace(name, with)` for a `{name}` placeholder, or `None` when `text` has none:
/// found by looking only at each `{` (most messages have one placeholder or none), where
/// `str::replace` sets up a substring search per call.
fn replace_placeholder(text: &str, name: &str, with: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let (mut copied, mut from) = (0, 0);
    while let Some(at) = text[from..].find('{').map(|i| from + i) {
        if text[at..].starts_with(name) {
            let o = out.get_or_insert_with(|| String::with_capacity(text.len() + with.len()));
            o.push_str(&text[copied..at]);
            o.push_str(with);
            copied = at + name.len();
            from = copied;
        } else {
            from = at + 1;
        }
    }
    let mut o = out?;
    o.push_str(&text[copied..]);
    Some(o)
}

/// Renders the `{region}` placeholder, which only the caller knows.
pub fn render_region(message: &str, region: &str) -> String {
    message.replace("{region}", region)
}

#[cfg(test)]
mod tests;
