//! A case's response written so that runs compare: request ids, image and snapshot ids, ports
//! and long values replaced by stable placeholders.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use regex::Regex;

use crate::run::{CaseRecord, StepRecord};
use crate::wire::Reply;

fn ids() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"\b(ami|snap|vol|i)-[0-9a-zA-Z]{8,17}\b").expect("valid"))
}

fn ports() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"(127\.0\.0\.1|localhost|\[::1\]):\d+").expect("valid"))
}

fn uuids() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}").expect("valid")
    })
}

/// Replaces run-specific values: source image ids and names by their role (`roles` maps both),
/// ids the endpoint made up, ports, UUIDs. Ids written in the stored request (`keep`) are
/// stable and stay.
/// Names of role images (--setup makes them unique per run) replaced by their role. Runs on
/// raw text, before any shortening or other placeholder.
fn redact_names(text: &str, roles: &BTreeMap<String, String>) -> String {
    let mut named = text.to_owned();
    for (name, role) in roles.iter().filter(|(k, _)| !ids().is_match(k)) {
        if named.contains(name.as_str()) {
            named = named.replace(name.as_str(), &format!("<{role} name>"));
        }
    }
    named
}

fn redact(text: &str, roles: &BTreeMap<String, String>, keep: &[&str]) -> String {
    let named = redact_names(text, roles);
    let out = ids().replace_all(&named, |c: &regex::Captures<'_>| match roles.get(&c[0]) {
        Some(role) => format!("<{role}>"),
        None if keep.contains(&&c[0]) => c[0].to_owned(),
        None => format!("[{}-id]", &c[1]),
    });
    let out = ports().replace_all(&out, "$1:[port]");
    uuids().replace_all(&out, "[uuid]").into_owned()
}

fn shorten(v: &str) -> String {
    let n = v.chars().count();
    if n <= 40 { v.to_owned() } else { format!("{}…({n} chars)", v.chars().take(24).collect::<String>()) }
}

/// The request's parameters on one line; a tag specification with many tags is summarized.
fn params_line(params: &crate::world::Params) -> String {
    let mut tags: BTreeMap<&str, usize> = BTreeMap::new();
    for k in params.keys() {
        if let Some(rest) = k.strip_prefix("TagSpecification.")
            && let Some((n, tail)) = rest.split_once('.')
            && tail.starts_with("Tag.")
            && tail.ends_with(".Key")
        {
            *tags.entry(n).or_default() += 1;
        }
    }
    fn many<'k>(k: &'k str, tags: &BTreeMap<&str, usize>) -> Option<&'k str> {
        let rest = k.strip_prefix("TagSpecification.")?;
        let (n, tail) = rest.split_once('.')?;
        (tail.starts_with("Tag.") && tags.get(n).is_some_and(|&c| c > 4)).then_some(n)
    }
    let mut out: Vec<String> = vec![];
    let mut summarized: Vec<&str> = vec![];
    for (k, v) in params {
        match many(k, &tags) {
            Some(n) if !summarized.contains(&n) => {
                summarized.push(n);
                out.push(format!("TagSpecification.{n}.Tag.*=({} tags)", tags[n]));
            }
            Some(_) => {}
            None => out.push(format!("{k}={}", shorten(v))),
        }
    }
    out.join(" ")
}

fn step(out: &mut String, label: &str, s: &StepRecord, roles: &BTreeMap<String, String>) {
    // A run's nonce is undone first: the request as generated, and its values in the
    // response as generated, so that runs with different nonces compare.
    let generated = s.nonce.as_ref().map(|n| n.generated(&s.params));
    let params = generated.as_ref().unwrap_or(&s.params);
    let unnonce = |text: &str| match &s.nonce {
        Some(n) => n.undo_text(&s.params, text),
        None => text.to_owned(),
    };
    let literal: Vec<&str> = params.values().flat_map(|v| ids().find_iter(v).map(|m| m.as_str())).collect();
    let named: crate::world::Params = params.iter().map(|(k, v)| (k.clone(), redact_names(v, roles))).collect();
    let _ = writeln!(out, "  {label}: {}", redact(&params_line(&named), roles, &literal));
    let redact = |text: &str, roles: &BTreeMap<String, String>| redact(&unnonce(text), roles, &literal);
    let response = match (&s.reply, s.status) {
        (Some(Reply::Success { image_id, .. }), Some(st)) => {
            format!("{st} success imageId={}", image_id.as_deref().map_or("(none)".into(), |i| redact(i, roles)))
        }
        (Some(Reply::Error { code, message, .. }), Some(st)) => {
            format!("{st} {code}: {}", redact(message.as_deref().unwrap_or(""), roles))
        }
        (Some(Reply::Unparseable { reason, .. }), Some(st)) => format!("{st} unparseable: {}", redact(reason, roles)),
        _ => "no response".into(),
    };
    let _ = writeln!(out, "    response: {response}");
    let _ = writeln!(out, "    verdict: {}", redact(&s.verdict.to_string(), roles));
}

/// One case's block in its target's `.snap` file.
pub fn render_case(rec: &CaseRecord, roles: &BTreeMap<String, String>) -> String {
    let mut out = format!("- case {}\n", rec.id);
    for (i, s) in rec.setup.iter().enumerate() {
        step(&mut out, &format!("setup {i}"), s, roles);
    }
    step(&mut out, "request", &rec.result, roles);
    out
}
