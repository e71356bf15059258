//! The README's Safety section: every test it cites as proof of a promise exists, so the
//! section cannot outlive the tests behind it.

use std::path::Path;

/// The test names cited in the README's `## Safety` section (code spans that look like test
/// function names).
fn cited_tests(readme: &str) -> Vec<String> {
    let start = readme.find("\n## Safety\n").expect("the README has a Safety section");
    let rest = &readme[start + 1..];
    let section = &rest[..rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3)];
    section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.len() > 20 && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        .map(str::to_owned)
        .collect()
}

fn all_sources(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            all_sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap());
        }
    }
}

#[test]
fn every_safety_promise_cites_a_test_that_exists() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let cited = cited_tests(&readme);
    assert!(cited.len() >= 15, "the Safety section cites only {} tests: {cited:?}", cited.len());
    let mut sources = String::new();
    all_sources(&root.join("src"), &mut sources);
    all_sources(&root.join("tests"), &mut sources);
    let missing: Vec<&String> = cited.iter().filter(|t| !sources.contains(&format!("fn {t}("))).collect();
    assert!(missing.is_empty(), "the README's Safety section cites tests that do not exist: {missing:?}");
}
