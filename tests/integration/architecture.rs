//! The shape of the source tree, checked: stages import only from stages below them, sibling
//! modules (a file, or a directory with the files below it) import one way with no cycle of
//! any length, the command line (`src/cli/`, the binary's) uses only the library's public
//! surface, and no file or function grows past what a reader can hold.

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
    ("targets", &["spec", "world", "oracle", "generate", "wire", "verdict", "run", "snapshot", "report"]),
];

/// The binary's own modules under `src/`: they are not library stages and reach the library
/// only through its public surface.
const BINARY: &[&str] = &["main", "cli"];

/// The library's public modules (exit codes, and the emulator targets a tool may drive);
/// everything else is reached through `pub use` in lib.rs.
const PUBLIC_MODULES: &[&str] = &["exit", "targets"];

/// Longest source file, in lines.
const MAX_FILE_LINES: usize = 650;
/// Longest function, in lines, unless a `// long:` comment right above it says why.
const MAX_FN_LINES: usize = 85;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// A path as the messages show it: from the crate's root, `src/...`.
fn shown(path: &Path) -> String {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR")).unwrap_or(path).display().to_string()
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

/// Whether a file belongs to the binary (`src/main.rs`, `src/cli/`), not the library.
fn in_binary(path: &Path) -> bool {
    module_of(path).first().is_some_and(|m| BINARY.contains(&m.as_str()))
}

/// Every library file with its text, test files and test modules left out.
fn library_files() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.sort();
    assert!(files.len() > 20, "found only {} source files under {}", files.len(), src().display());
    files
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n != "tests.rs") && !in_binary(p))
        .filter(|p| !p.components().any(|c| c.as_os_str() == "tests"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            // A `#[cfg(test)]` module at the end of a file may use anything. (Only an inline
            // one: `mod tests;` declares a file that is left out anyway, and the code after it
            // still counts.)
            let code = match text.find("#[cfg(test)]\nmod tests {") {
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

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Reads a path or `use` tree from `at`, each leaf path appended to `prefix` into `out`;
/// gives where it stopped.
fn use_tree(text: &[char], mut at: usize, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let depth = prefix.len();
    loop {
        while text.get(at).is_some_and(|c| c.is_whitespace()) {
            at += 1;
        }
        if text.get(at) == Some(&'{') {
            at += 1;
            loop {
                at = use_tree(text, at, prefix, out);
                // Past an `as` alias, to the next member or the group's end.
                while text.get(at).is_some_and(|c| *c != ',' && *c != '}') {
                    at += 1;
                }
                match text.get(at) {
                    Some(',') => at += 1,
                    _ => break,
                }
            }
            at += 1;
            break;
        }
        let name: String = text[at..].iter().take_while(|c| is_ident(**c)).collect();
        at += name.chars().count();
        if !name.is_empty() && name != "self" {
            prefix.push(name);
        }
        if text.get(at) == Some(&':') && text.get(at + 1) == Some(&':') {
            at += 2;
            continue;
        }
        if !prefix.is_empty() {
            out.push(prefix.clone());
        }
        break;
    }
    prefix.truncate(depth);
    at
}

/// Every path a file names from the crate root: `crate::` paths, and `super::` paths (chains
/// of them too) made absolute from `own`, the file's module; `use` groups, nested ones too,
/// are expanded. Paths in comments count: a doc link is a reference all the same.
fn named_paths(own: &[String], code: &str) -> Vec<Vec<String>> {
    let text: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let starts = |at: usize, word: &str| text[at..].iter().take(word.len()).copied().eq(word.chars());
        // Only where a path begins: not inside an identifier nor after `::` (`super::super`).
        let begins = at == 0 || !(is_ident(text[at - 1]) || text[at - 1] == ':');
        let mut base = if begins && starts(at, "crate::") {
            at += "crate::".len();
            Some(vec![])
        } else if begins && starts(at, "super::") {
            at += "super::".len();
            let mut base = own[..own.len().saturating_sub(1)].to_vec();
            while starts(at, "super::") {
                at += "super::".len();
                base.pop();
            }
            Some(base)
        } else {
            None
        };
        match base.as_mut() {
            Some(prefix) => at = use_tree(&text, at, prefix, &mut out),
            None => at += 1,
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
        if name != "lib" && !BINARY.contains(&name.as_str()) {
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
        for target in named_paths(&module, &code) {
            let theirs = target[0].as_str();
            if allowed(theirs).is_some() && theirs != own && !deps.contains(&theirs) {
                wrong.push(format!("{} imports crate::{}", shown(&path), target.join("::")));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "imports a stage may not make (see STAGES):\n{}", wrong.join("\n"));
}

#[test]
fn the_binary_uses_only_the_public_surface() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    files.retain(|p| in_binary(p));
    files.sort();
    assert!(files.len() >= 3, "found only {} files of the binary: {files:?}", files.len());
    let mut wrong = Vec::new();
    for path in &files {
        let code = std::fs::read_to_string(path).unwrap();
        let module = module_of(path);
        // In the binary `crate::` is main.rs: only its own modules may be named that way, the
        // library is `copyimage_conformance::`.
        for target in named_paths(&module, &code) {
            if !BINARY.contains(&target[0].as_str()) {
                wrong.push(format!("{} names crate::{}", shown(path), target.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "the binary reaches past the library's public surface:\n{}", wrong.join("\n"));
}

#[test]
fn the_library_exposes_only_its_surface() {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let public: Vec<&str> =
        lib.lines().filter_map(|l| l.strip_prefix("pub mod ")).map(|l| l.trim_end_matches(';')).collect();
    assert_eq!(public, PUBLIC_MODULES, "public modules of lib.rs (re-export items instead)");
    assert!(!lib.lines().any(|l| l.starts_with("mod cli") || l.starts_with("pub mod cli")), "cli is the binary's");
}

/// Resolves `crate::a::b::Item` to the library file that holds it: the longest module prefix
/// that is a file.
fn file_of(segs: &[String], modules: &BTreeMap<Vec<String>, PathBuf>) -> Option<PathBuf> {
    (1..=segs.len()).rev().find_map(|n| modules.get(&segs[..n].to_vec()).cloned())
}

/// Module -> module it imports -> the `file -> file` imports that make the edge.
type Edges = BTreeMap<Vec<String>, BTreeMap<Vec<String>, BTreeSet<String>>>;

/// Which sibling module imports which. A file below a sibling (`generate/violate/syntax.rs`)
/// counts as that sibling (`generate::violate`); a file using its parent's shared types, or a
/// parent using its children, is the usual shape and makes no edge.
fn sibling_edges() -> Edges {
    let files = library_files();
    let modules: BTreeMap<Vec<String>, PathBuf> = files.iter().map(|(p, _)| (module_of(p), p.clone())).collect();
    let mut edges = Edges::new();
    for (path, code) in &files {
        let own = module_of(path);
        for t in named_paths(&own, code) {
            let Some(file) = file_of(&t, &modules) else { continue };
            let theirs = module_of(&file);
            let common = own.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
            if common == own.len() || common == theirs.len() {
                continue;
            }
            let why = format!("{} -> {}", shown(path), shown(&file));
            edges
                .entry(own[..=common].to_vec())
                .or_default()
                .entry(theirs[..=common].to_vec())
                .or_default()
                .insert(why);
        }
    }
    edges
}

/// The modules reachable from `from`.
fn reachable(from: &[String], edges: &Edges) -> BTreeSet<Vec<String>> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_owned()];
    while let Some(m) = todo.pop() {
        for next in edges.get(&m).into_iter().flat_map(BTreeMap::keys) {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn sibling_modules_import_one_way() {
    let edges = sibling_edges();
    let reach: BTreeMap<&Vec<String>, BTreeSet<Vec<String>>> =
        edges.keys().map(|m| (m, reachable(m, &edges))).collect();
    // A cycle of any length: modules that reach each other.
    let mut cycles: BTreeSet<BTreeSet<&Vec<String>>> = BTreeSet::new();
    for (m, from_m) in &reach {
        let ring: BTreeSet<&Vec<String>> =
            reach.iter().filter(|(n, from_n)| from_m.contains(**n) && from_n.contains(*m)).map(|(n, _)| *n).collect();
        if !ring.is_empty() {
            cycles.insert(ring);
        }
    }
    let mut lines = Vec::new();
    for ring in &cycles {
        let names: Vec<String> = ring.iter().map(|m| m.join("::")).collect();
        lines.push(names.join(" <-> "));
        for (a, targets) in edges.iter().filter(|(a, _)| ring.contains(a)) {
            for (_, why) in targets.iter().filter(|(b, _)| ring.contains(b) && *b != a) {
                lines.extend(why.iter().map(|w| format!("    {w}")));
            }
        }
    }
    assert!(cycles.is_empty(), "sibling modules importing each other:\n{}", lines.join("\n"));
}

#[test]
fn named_paths_follow_groups_and_super() {
    let own: Vec<String> = ["run", "stateful", "shrink"].map(str::to_owned).to_vec();
    let code = "use super::{Stop, trace::{self, Failed as F}};\nuse super::super::send;\n\
                use crate::{oracle::{Oracle, key}, world::Params};\nlet x = crate::wire::Reply::Error;\n\
                my_super::no; $crate::exit::Code";
    let got: BTreeSet<String> = named_paths(&own, code).iter().map(|p| p.join("::")).collect();
    let want = [
        "run::stateful::Stop",
        "run::stateful::trace",
        "run::stateful::trace::Failed",
        "run::send",
        "oracle::Oracle",
        "oracle::key",
        "world::Params",
        "wire::Reply::Error",
        "exit::Code",
    ];
    assert_eq!(got, want.iter().map(|s| s.to_string()).collect());
}

/// Whether a line starts a function: `fn` after any visibility and qualifiers.
fn starts_fn(line: &str) -> bool {
    let mut rest = line.trim_start();
    loop {
        if let Some(r) = rest.strip_prefix("pub(") {
            rest = r.split_once(") ").map_or("", |(_, r)| r);
        } else if let Some(r) = ["pub ", "const ", "async ", "unsafe ", "default ", "extern \"C\" "]
            .iter()
            .find_map(|q| rest.strip_prefix(q))
        {
            rest = r;
        } else {
            return rest.starts_with("fn ");
        }
    }
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
            long.push(format!("{}: {} lines", shown(path), lines.len()));
        }
        for (i, line) in lines.iter().enumerate() {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            // A declaration, or a body on the header's line.
            if !starts_fn(line) || body.ends_with(';') || (body.contains('{') && body.ends_with('}')) {
                continue;
            }
            let close = format!("{indent}}}");
            let Some(end) = lines[i..].iter().position(|l| *l == close) else {
                long.push(format!("{}:{}: a function whose end is not found", shown(path), i + 1));
                continue;
            };
            let explained = lines[..i]
                .iter()
                .rev()
                .take_while(|l| l.trim_start().starts_with("//") || l.trim_start().starts_with("#["))
                .any(|l| l.contains("// long:"));
            if end + 1 > MAX_FN_LINES && !explained {
                long.push(format!("{}:{}: a function of {} lines", shown(path), i + 1, end + 1));
            }
        }
    }
    assert!(
        long.is_empty(),
        "over the limits ({MAX_FILE_LINES} lines a file, {MAX_FN_LINES} a function):\n{}",
        long.join("\n")
    );
}
