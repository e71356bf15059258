//! The oracle against real AWS: every line of `tests/data/evidence/*.jsonl` (a public AWS answer
//! with its source) is predicted with the built binary's `predict`, and must agree.
//!
//! A line agrees when its error code is among the predicted codes, or when it is a success and
//! the prediction admits success. `AuthFailure` and `RequestLimitExceeded` lines are N/A: R00
//! and R01 are not predicted. The README there carries the per-line table this test renders.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::run;

/// Fewer sourced lines than this and the evidence proves too little.
const MIN_LINES: usize = 30;
/// Codes the oracle does not predict (R00-auth, R01-throttle).
const NOT_PREDICTED: [&str; 2] = ["AuthFailure", "RequestLimitExceeded"];
const TABLE_BEGIN: &str = "<!-- evidence:begin -->";
const TABLE_END: &str = "<!-- evidence:end -->";

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/evidence")
}

/// One evidence line and what the oracle made of it.
struct Checked {
    file: String,
    line: Value,
    prediction: Value,
    verdict: &'static str,
}

fn lines() -> Vec<(String, Value)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = vec![];
    for f in files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        for (n, text) in std::fs::read_to_string(&f).unwrap().lines().enumerate() {
            let v: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("{name}:{}: {e}", n + 1));
            out.push((name.clone(), v));
        }
    }
    out
}

fn check(file: String, line: Value) -> Checked {
    let case = json!({ "world": line["world"], "params": line["request"] });
    let o = run(&["predict"], &case.to_string());
    assert!(o.status.success(), "{file} {}: predict failed: {}", line["id"], crate::stderr(&o));
    let prediction: Value = serde_json::from_slice(&o.stdout).unwrap();
    let codes: Vec<&str> = prediction["codes"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let verdict = match line["answer"]["code"].as_str() {
        Some(c) if NOT_PREDICTED.contains(&c) => "N/A",
        Some(c) if codes.contains(&c) => "AGREES",
        Some(_) => "DISAGREES",
        None if prediction["ok"] == json!(true) => "AGREES",
        None => "DISAGREES",
    };
    Checked { file, line, prediction, verdict }
}

fn list(v: &Value) -> String {
    v.as_array().map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")).unwrap_or_default()
}

/// The README table: one row per line, in file order.
fn table(checked: &[Checked]) -> String {
    let mut s = format!(
        "{TABLE_BEGIN}\n| file | id | kind | bears on | evidence | oracle predicts (deciding rules) | verdict |\n\
         |---|---|---|---|---|---|---|\n"
    );
    for c in checked {
        let l = &c.line;
        let kind = match l["operation"].as_str() {
            Some(op) => format!("{}, {op}", l["kind"].as_str().unwrap()),
            None => l["kind"].as_str().unwrap().to_owned(),
        };
        let evidence = match l["answer"]["code"].as_str() {
            Some(code) if l["code_quoted"] == json!(false) => format!("{code}*"),
            Some(code) => code.to_owned(),
            None => l["answer"]["status"].to_string(),
        };
        let predicted: Vec<String> = c.prediction["outcomes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["code"].as_str().map_or_else(|| o["status"].to_string(), str::to_owned))
            .collect();
        s.push_str(&format!(
            "| {} | `{}` | {kind} | {} | {evidence} | {} ({}) | **{}** |\n",
            c.file,
            l["id"].as_str().unwrap(),
            list(&l["rules"]),
            predicted.join(" \\| "),
            list(&c.prediction["rules"]),
            c.verdict
        ));
    }
    let count = |v: &str| checked.iter().filter(|c| c.verdict == v).count();
    s.push_str(&format!(
        "\n**{} AGREES, {} DISAGREES, {} N/A** ({} lines).\n{TABLE_END}",
        count("AGREES"),
        count("DISAGREES"),
        count("N/A"),
        checked.len()
    ));
    s
}

#[test]
fn the_oracle_agrees_with_every_evidence_line() {
    let checked: Vec<Checked> = lines().into_iter().map(|(f, l)| check(f, l)).collect();
    assert!(checked.len() >= MIN_LINES, "only {} evidence lines", checked.len());
    let mut ids = std::collections::BTreeSet::new();
    for c in &checked {
        let l = &c.line;
        let id = l["id"].as_str().expect("every line has an id");
        assert!(ids.insert(id.to_owned()), "{id} twice");
        for field in ["source", "quote", "kind"] {
            assert!(l[field].as_str().is_some_and(|s| !s.trim().is_empty()), "{id}: no {field}");
        }
        let code = l["answer"]["code"].as_str();
        // N/A only for the codes the oracle does not predict, and those lines are N/A.
        assert_eq!(c.verdict == "N/A", code.is_some_and(|c| NOT_PREDICTED.contains(&c)), "{id}");
        assert_ne!(
            c.verdict, "DISAGREES",
            "{} {id}: AWS answered {:?}, the oracle predicts {}",
            c.file, l["answer"], c.prediction
        );
    }
    let readme = std::fs::read_to_string(dir().join("README.md")).unwrap();
    let expected = table(&checked);
    assert!(
        readme.contains(&expected),
        "tests/data/evidence/README.md's table is stale; replace its {TABLE_BEGIN} .. {TABLE_END} block with:\n{expected}"
    );
}
