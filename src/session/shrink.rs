//! The shrink stage: after the cases, each finding the baseline does not accept gets its
//! example made minimal against the live endpoint, delta-debugging style: optional members
//! dropped, strings cut to their boundary or replaced by readable text, each candidate sent
//! through the runner (predicted against its mirror, sent, judged) and kept when it shows the
//! same finding ([`crate::report::FindingKey::of`]). Accepted findings are left as they are:
//! they need no reproduction in the report; so are findings without a reply, and runs in the
//! JSON envelope dialect (whose requests boto3 does not send).
//!
//! The stage spends at most its request budget (`--shrink-budget`, shared fairly among the
//! findings); its requests count in the run's. Each candidate gets its own nonce, so no
//! candidate meets another's copies or tokens. Against AWS every candidate is a DryRun; the
//! finding's setup requests go again before each as they were recorded, so with `--live` a
//! setup copy spends the runner's creation budget (and is journaled) as it did in the run,
//! and once the budget is spent it is a DryRun too.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::generate::{Case, Step};
use crate::oracle::Oracle;
use crate::oracle::limits::Limits;
use crate::report::{Finding, Shrunk};
use crate::run::nonce::Nonce;
use crate::run::{CaseRecord, Runner, Target, curl_for};
use crate::spec::{ParamType, Spec};
use crate::wire::boto3;
use crate::world::{Params, World};

use super::Interrupt;

/// The readable text a value is replaced with, and padded from.
const READABLE: &str = "my-ami-copy";

/// One change tried on the current request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Drop every key that starts with one of these prefixes (a key, or a list member's
    /// prefix ending in `.`).
    Drop(Vec<String>),
    /// Give a key this value.
    Set(String, String),
}

/// The edits tried on `params`, in order: every optional member dropped at once, the tags
/// past the count boundary dropped, each string cut to its boundary or made readable (the
/// longest first), then each optional member, list member and tag dropped on its own.
pub(crate) fn edits(spec: &Spec, limits: &Limits, params: &Params, force_dry_run: bool) -> Vec<Edit> {
    let mut groups: Vec<String> = vec![];
    let mut tags: BTreeMap<String, BTreeMap<usize, String>> = BTreeMap::new();
    for key in params.keys() {
        if let Some(rest) = key.strip_prefix("TagSpecification.") {
            let mut parts = rest.split('.');
            let n = parts.next().unwrap_or_default();
            let group = format!("TagSpecification.{n}.");
            if !groups.contains(&group) {
                groups.push(group.clone());
            }
            if let (Some("Tag"), Some(m)) = (parts.next(), parts.next()) {
                let tag = format!("{group}Tag.{m}.");
                tags.entry(group).or_default().insert(m.parse().unwrap_or(usize::MAX), tag);
            }
            continue;
        }
        let required = spec.param(key).is_some_and(|p| p.required);
        // A DryRun that keeps AWS safe stays; an Action or Version sent is what the request is.
        if !(required || force_dry_run && key == "DryRun" || key == "Action" || key == "Version") {
            groups.push(key.clone());
        }
    }
    let mut out = vec![];
    if groups.len() > 1 {
        out.push(Edit::Drop(groups.clone()));
    }
    for list in tags.values().filter(|t| t.len() > limits.tags_per_resource + 1) {
        out.push(Edit::Drop(list.values().skip(limits.tags_per_resource + 1).cloned().collect()));
    }
    let mut sets: Vec<(usize, Edit)> = params
        .iter()
        .flat_map(|(key, value)| {
            texts(spec, limits, key, value).into_iter().map(|v| (value.len(), Edit::Set(key.clone(), v)))
        })
        .collect();
    sets.sort_by_key(|(len, _)| std::cmp::Reverse(*len));
    out.extend(sets.into_iter().map(|(_, e)| e));
    let singles = tags.into_values().flat_map(BTreeMap::into_values);
    out.extend(groups.into_iter().chain(singles).map(|g| Edit::Drop(vec![g])));
    out
}

/// Shorter or more readable values for a string member: a value over its longest cut to
/// exactly one past it, one under its shortest to one under, a value within its bounds made
/// readable (then readable with its odd characters kept).
fn texts(spec: &Spec, limits: &Limits, key: &str, value: &str) -> Vec<String> {
    let (readable, min, max) = match key {
        "Name" | "Description" | "ClientToken" => {
            let Some(p) = spec.param(key).filter(|p| p.ty == ParamType::String) else { return vec![] };
            let readable = match key {
                "Name" => READABLE,
                "Description" => "my copy",
                _ => "my-client-token",
            };
            (readable, p.min_length.unwrap_or(0), p.max_length)
        }
        k if k.starts_with("TagSpecification.") && k.ends_with(".Key") => ("team", 0, Some(limits.tag_key_max)),
        k if k.starts_with("TagSpecification.") && k.ends_with(".Value") => ("dev", 0, Some(limits.tag_value_max)),
        _ => return vec![],
    };
    let len = value.chars().count();
    let plain = value.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if key.starts_with("TagSpecification.") && plain && max.is_none_or(|m| len <= m) {
        // `key-1`, `v`: a generated tag is already readable.
        return vec![];
    }
    let mut out = vec![];
    match max {
        Some(max) if len > max => out.push(fill(max + 1)),
        _ if len < min => out.push(fill(len)),
        _ => {
            let odd: String = value.chars().filter(|c| !c.is_ascii_alphanumeric() && *c != '-').collect();
            out.push(readable.to_owned());
            if !odd.is_empty() {
                // No longer than the value, nor than the readable text with the odd ones.
                let total = len.min(readable.chars().count() + odd.chars().count());
                let keep = total.saturating_sub(odd.chars().count());
                out.push(format!("{}{odd}", readable.chars().take(keep).collect::<String>()));
            }
        }
    }
    out.retain(|v| v != value);
    out
}

/// Readable text exactly `n` characters long.
fn fill(n: usize) -> String {
    format!("{READABLE}-").chars().cycle().take(n).collect()
}

/// `params` with `edit` made, DryRun forced when `force_dry_run`; `None` when the edit
/// changes nothing.
pub(crate) fn candidate(params: &Params, edit: &Edit, force_dry_run: bool) -> Option<Params> {
    let mut out = params.clone();
    match edit {
        Edit::Drop(prefixes) => {
            out.retain(|k, _| !prefixes.iter().any(|p| k == p || (p.ends_with('.') && k.starts_with(p))))
        }
        Edit::Set(key, value) => {
            if !out.contains_key(key) {
                return None;
            }
            out.insert(key.clone(), value.clone());
        }
    }
    if force_dry_run {
        out.insert("DryRun".into(), "true".into());
    }
    (out != *params).then_some(out)
}

/// What the stage needs from the session.
pub(crate) struct Stage<'a> {
    pub oracle: &'a Arc<Oracle>,
    pub runner: &'a Runner,
    pub target: &'a Target,
    pub world: &'a World,
    pub interrupt: &'a Interrupt,
}

impl Stage<'_> {
    /// Shrinks the open findings' examples within `budget` requests, then writes each open
    /// finding's boto3 snippet.
    pub async fn run(&self, findings: &mut [Finding], budget: u64) {
        let force = self.target.safety.force_dry_run;
        let open: Vec<usize> = (0..findings.len()).filter(|&i| !findings[i].accepted).collect();
        // A finding without a reply teaches nothing when sent again (and a silent endpoint
        // would take a timeout per candidate).
        let shrinkable: Vec<usize> =
            open.iter().copied().filter(|&i| findings[i].key.kind != "transport_error").collect();
        let counters = &self.runner.counters;
        let start = counters.requests.load(Ordering::Relaxed);
        for (done, &i) in shrinkable.iter().enumerate() {
            let spent = counters.requests.load(Ordering::Relaxed) - start;
            let share = budget.saturating_sub(spent) / (shrinkable.len() - done) as u64;
            if share > 0 && !self.interrupt.is_raised() && self.target.dialect == crate::run::Dialect::Ec2Query {
                self.shrink(&mut findings[i], share, force).await;
            }
        }
        for &i in &open {
            let f = &mut findings[i];
            let body = crate::wire::form_body(&self.target.protocol.action, &self.target.protocol.version, &f.request);
            f.boto3 = match self.target.dialect {
                crate::run::Dialect::Ec2Query => boto3::snippet(
                    self.oracle.spec(),
                    &self.target.endpoint,
                    &self.target.region,
                    &f.request,
                    &body,
                    &f.expected,
                ),
                crate::run::Dialect::JsonEnvelope => String::new(),
            };
        }
    }

    /// Greedy passes over the edits while they keep the finding and the share lasts.
    async fn shrink(&self, f: &mut Finding, share: u64, force: bool) {
        let cost = 1 + f.setup.len() as u64;
        let counters = &self.runner.counters;
        let start = counters.requests.load(Ordering::Relaxed);
        let form = |p: &Params| crate::wire::form_body("", "", p).len();
        let before = form(&f.request);
        let (mut tried, mut kept) = (0, 0);
        let mut best: Option<CaseRecord> = None;
        'passes: loop {
            let mut progress = false;
            // One value per key a pass: the later ones are the first's fallbacks.
            let mut set = BTreeSet::new();
            for edit in edits(self.oracle.spec(), self.oracle.limits(), &f.request, force) {
                if let Edit::Set(key, _) = &edit
                    && set.contains(key)
                {
                    continue;
                }
                let spent = counters.requests.load(Ordering::Relaxed) - start;
                if spent + cost > share || self.interrupt.is_raised() {
                    break 'passes;
                }
                let Some(params) = candidate(&f.request, &edit, force) else { continue };
                if f.setup.is_empty() && !self.plausible(f, &params) {
                    continue;
                }
                tried += 1;
                let rec = self.send(f, params.clone()).await;
                if crate::report::FindingKey::of(&rec).as_ref() == Some(&f.key) {
                    kept += 1;
                    progress = true;
                    if let Edit::Set(key, _) = &edit {
                        set.insert(key.clone());
                    }
                    f.request = params;
                    best = Some(rec);
                }
            }
            if !progress {
                break;
            }
        }
        if let Some(rec) = best {
            let curl = curl_for(self.target, &f.request);
            let setup = f.setup.clone();
            f.set_example(&rec, curl);
            f.setup = setup;
        }
        let requests = counters.requests.load(Ordering::Relaxed) - start;
        f.shrunk = Some(Shrunk { requests, tried, kept, body_bytes: (before, form(&f.request)) });
    }

    /// Whether the oracle, offline, gives `params` the finding's deciding rule and answer: a
    /// candidate that changes them cannot show the same finding and is not worth a request.
    /// (A request after setup requests is predicted only once they are made.)
    fn plausible(&self, f: &Finding, params: &Params) -> bool {
        let p = self.oracle.predict(self.world, params);
        p.rules.first().map(|r| &**r) == Some(f.key.rule.as_str()) && p.outcomes == f.expected
    }

    /// Sends the finding's setup requests, then `params`, under a nonce of their own. The
    /// runner predicts each request against its mirror when it goes out, so none is predicted
    /// here.
    async fn send(&self, f: &Finding, params: Params) -> CaseRecord {
        let step = |p: &Params| Step { params: p.clone(), prediction: None };
        let case = Case {
            id: format!("{}-shrunk", f.example.trim_end_matches("-shrunk")),
            target: f.key.rule.clone(),
            kind: "shrink".into(),
            world: None,
            setup: f.setup.iter().map(step).collect(),
            prediction: None,
            params,
        };
        self.runner.run_case_rotated(case, Some(&Nonce::fresh())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn edits_drop_optional_members_and_cut_strings_to_their_boundary() {
        let oracle = Oracle::builtin().unwrap();
        let (spec, limits) = (oracle.spec(), oracle.limits());
        let long = "q".repeat(300);
        let p = params(&[
            ("Name", &long),
            ("SourceImageId", "ami-0a1b2c3d4e5f60718"),
            ("SourceRegion", "us-east-1"),
            ("Description", "xK2p"),
            ("TagSpecification.1.ResourceType", "image"),
            ("TagSpecification.1.Tag.1.Key", "k9Z"),
        ]);
        let e = edits(spec, limits, &p, false);
        assert_eq!(e[0], Edit::Drop(vec!["Description".into(), "TagSpecification.1.".into()]));
        assert!(e.contains(&Edit::Drop(vec!["TagSpecification.1.Tag.1.".into()])));
        // Required members are never dropped.
        assert!(!e.iter().any(|e| matches!(e, Edit::Drop(g) if g.contains(&"Name".to_owned()))));
        let name = e.iter().find_map(|e| match e {
            Edit::Set(k, v) if k == "Name" => Some(v.clone()),
            _ => None,
        });
        assert_eq!(name.unwrap(), fill(129), "a too-long Name is cut to one past its longest");
        assert!(e.contains(&Edit::Set("Description".into(), "my copy".into())));
        let short = params(&[("Name", "q!")]);
        assert_eq!(
            edits(spec, limits, &short, false),
            [Edit::Set("Name".into(), "my".into())],
            "a short Name stays short"
        );
    }

    #[test]
    fn against_aws_every_candidate_is_a_dry_run() {
        let oracle = Oracle::builtin().unwrap();
        let (spec, limits) = (oracle.spec(), oracle.limits());
        let p = params(&[
            ("Name", "abc def"),
            ("SourceImageId", "ami-1"),
            ("SourceRegion", "us-east-1"),
            ("DryRun", "true"),
        ]);
        let e = edits(spec, limits, &p, true);
        assert!(!e.iter().any(|e| matches!(e, Edit::Drop(g) if g.contains(&"DryRun".to_owned()))));
        let without = params(&[("Name", "abc def"), ("SourceImageId", "ami-1"), ("SourceRegion", "us-east-1")]);
        for edit in edits(spec, limits, &without, true).iter().chain(&e) {
            for base in [&p, &without] {
                if let Some(c) = candidate(base, edit, true) {
                    assert_eq!(c.get("DryRun").map(String::as_str), Some("true"), "{edit:?}");
                }
            }
        }
        assert_eq!(candidate(&p, &Edit::Set("Bogus".into(), "1".into()), true), None);
    }

    #[test]
    fn too_many_tags_are_cut_to_one_past_the_most_allowed() {
        let oracle = Oracle::builtin().unwrap();
        let most = oracle.limits().tags_per_resource;
        let mut p = params(&[("Name", "my-ami-copy"), ("TagSpecification.1.ResourceType", "image")]);
        for m in 1..=most + 9 {
            p.insert(format!("TagSpecification.1.Tag.{m}.Key"), format!("key-{m}"));
            p.insert(format!("TagSpecification.1.Tag.{m}.Value"), "v".into());
        }
        let e = edits(oracle.spec(), oracle.limits(), &p, false);
        let cut = candidate(&p, &e[0], false).unwrap();
        let keys = cut.keys().filter(|k| k.ends_with(".Key")).count();
        assert_eq!(keys, most + 1, "{e:?}");
        assert!(cut.contains_key(&format!("TagSpecification.1.Tag.{}.Key", most + 1)));
    }
}
