//! The shape of the source tree, checked: stages import only from stages below them, sibling
//! files import each other one way, and no file or function grows past what a reader can hold.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The library's stages in data-flow order, each with the stages it may import from. The
/// reference endpoint (`serve`) knows the oracle and the wire but nothing of how cases are made
/// or judged; the runner reaches the embedded endpoint only through the session (its tests aside).
const STAGES: &[(&str, &[&str])] = &[
    ("exit", &[]),
    ("spec", &[]),
    ("world", &["spec"]),
    ("oracle", &["spec", "world"]),
    ("generate", &["spec", "world", "oracle"]),
    ("wire", &["spec", "world"]),
    ("verdict", &["spec", "world", "oracle", "wire"]),
    ("serve", &["spec", "world", "oracle", "wire"]),
    ("run", &["spec", "world", "oracle", "generate", "wire", "verdict"]),
    ("snapshot", &["spec", "world", "oracle", "generate", "wire", "verdict", "run"]),
    ("report", &["spec", "world", "oracle", "generate", "wire", "verdict", "run", "snapshot", "exit"]),
    (
        "session",
        &["spec", "world", "oracle", "generate", "wire", "verdict", "serve", "run", "snapshot", "report", "exit"],
    ),
    (
        "cli",
        &[
            "spec", "world", "oracle", "generate", "wire", "verdict", "serve", "run", "snapshot", "report", "session",
            "exit",
        ],
    ),
];

/// Longest source file, in lines.
const MAX_FILE_LINES: usize = 650;
/// Longest function, in lines, unless a `// long:` comment right above it says why.
const MAX_FN_LINES: usize = 85;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every library file with its text, test files and test modules left out.
fn library_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} source files under {}", files.len(), src().display());
    files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs" && n != "main.rs"))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "tests"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            // A `#[cfg(test)]` module at the end of a file may use anything.
            let code = match text.find("#[cfg(test)]\nmod tests") {
                Some(at) => text[..at].to_owned(),
                None => text,
            };
            (p, code)
        })
        .collect()
}

/// The file's path below `src/` as module segments: `src/run/stateful/shrink.rs` -> [run, stateful, shrink].
fn module_of(path: &Path) -> Vec<String> {
    let rel = path.strip_prefix(src()).unwrap();
    let mut parts: Vec<String> = rel.iter().map(|s| s.to_string_lossy().into_owned()).collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_owned());
    }
    parts
}

/// Paths named after `crate::` in a file (use lines and inline paths alike).
fn crate_paths(code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        let segs: Vec<String> = path.split("::").filter(|s| !s.is_empty()).map(str::to_owned).collect();
        if !segs.is_empty() {
            out.push(segs);
        }
    }
    // `use crate::{a::b, c}` groups: the first segment of each member.
    for group in code.split("use crate::{").skip(1) {
        let body = group.split("};").next().unwrap_or("");
        for member in body.split(',') {
            let segs: Vec<String> = member
                .trim()
                .split("::")
                .map(|s| s.trim_matches(|c: char| !c.is_alphanumeric() && c != '_').to_owned())
                .filter(|s| !s.is_empty())
                .collect();
            if !segs.is_empty() {
                out.push(segs);
            }
        }
    }
    out
}

fn allowed(module: &str) -> Option<&'static [&'static str]> {
    STAGES.iter().find(|(m, _)| *m == module).map(|(_, deps)| *deps)
}

#[test]
fn every_stage_is_in_the_layer_table() {
    let mut top: BTreeSet<String> = BTreeSet::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().trim_end_matches(".rs").to_owned();
        if name != "lib" && name != "main" {
            top.insert(name);
        }
    }
    let unknown: Vec<_> = top.iter().filter(|m| allowed(m).is_none()).collect();
    assert!(unknown.is_empty(), "modules missing from STAGES: {unknown:?}");
}

#[test]
fn stages_import_only_what_they_may() {
    let mut wrong = Vec::new();
    for (path, code) in library_files() {
        let module = module_of(&path);
        let Some(own) = module.first() else { continue };
        let Some(deps) = allowed(own) else { continue };
        for target in crate_paths(&code) {
            let theirs = target[0].as_str();
            if allowed(theirs).is_some() && theirs != own && !deps.contains(&theirs) {
                wrong.push(format!("{} imports crate::{}", path.display(), target.join("::")));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports a stage may not make (see STAGES):\n{}", wrong.join("\n"));
}

/// Resolves `crate::a::b::Item` to the library file that holds it: the longest module prefix
/// that is a file.
fn file_of(segs: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (1..=segs.len()).rev().find_map(|n| modules.get(&segs[..n].to_vec()).cloned())
}

#[test]
fn sibling_files_import_one_way() {
    let files = library_files();
    let modules: BTreeMap<Vec<String>, PathBuf> = files.iter().map(|(p, _)| (module_of(p), p.clone())).collect();
    let mut edges: BTreeMap<PathBuf, BTreeSet<PathBuf>> = BTreeMap::new();
    for (path, code) in &files {
        let own = module_of(path);
        let mut targets: Vec<Vec<String>> = crate_paths(code);
        // `super::x` from a child file: its siblings.
        for piece in code.split("super::").skip(1) {
            let name: String = piece.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            let mut t = own[..own.len().saturating_sub(1)].to_vec();
            t.push(name);
            targets.push(t);
        }
        for t in targets {
            let Some(file) = file_of(&t, &modules) else { continue };
            let theirs = module_of(&file);
            // Only siblings count: a child using its parent's shared types is the usual shape.
            let siblings = theirs.len() == own.len() && theirs[..theirs.len() - 1] == own[..own.len() - 1];
            if siblings && file != *path && !own.is_empty() {
                edges.entry(path.clone()).or_default().insert(file);
            }
        }
    }
    let mut cycles = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            if a < b && edges.get(b).is_some_and(|back| back.contains(a)) {
                cycles.push(format!("{} <-> {}", a.display(), b.display()));
            }
        }
    }
    assert!(cycles.is_empty(), "sibling files importing each other:\n{}", cycles.join("\n"));
}

#[test]
fn files_and_functions_stay_readable() {
    let mut all = Vec::new();
    rust_files(&src(), &mut all);
    let mut long = Vec::new();
    for path in &all {
        let text = std::fs::read_to_string(path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > MAX_FILE_LINES {
            long.push(format!("{}: {} lines", path.display(), lines.len()));
        }
        for (i, line) in lines.iter().enumerate() {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            let is_fn = ["fn ", "pub fn ", "pub(crate) fn ", "async fn ", "pub async fn ", "pub(crate) async fn "]
                .iter()
                .any(|p| body.starts_with(p));
            if !is_fn || body.ends_with(';') {
                continue;
            }
            let close = format!("{indent}}}");
            let Some(end) = lines[i..].iter().position(|l| *l == close) else { continue };
            let explained = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim_start().starts_with("//") || l.trim_start().starts_with("#["))
                .any(|l| l.contains("// long:"));
            if end + 1 > MAX_FN_LINES && !explained {
                long.push(format!("{}:{}: a function of {} lines", path.display(), i + 1, end + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "over the limits ({MAX_FILE_LINES} lines a file, {MAX_FN_LINES} a function):\n{}",
        long.join("\n")
    );
}
