//! The evidence lives in the repository: every rule of the spec has a section in
//! `docs/rules.md`, every `docs/...#anchor` link in README.md, each emulator's
//! `snapshots/*/accepted.toml` and `docs/` itself names a heading that exists, and no accepted
//! deviation cites a bare `§N`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

/// A Markdown link, `[text](target)`.
static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([^\]]*)\]\([^)]*\)").unwrap());
/// An ATX heading; the group is its text without the optional closing `#`s.
static HEADING: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$").unwrap());

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The anchor GitHub gives a heading: the rendered text in lower case, with every character
/// that is not a letter, a digit, `-`, `_` or a space dropped and each space turned into `-`.
fn slug(heading: &str) -> String {
    // GitHub slugs the rendered text: a link contributes its text, not its target.
    let text = LINK.replace_all(heading.trim(), "$1");
    text.to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// The text of every heading in a Markdown text, in order, outside fenced code blocks.
fn headings(markdown: &str) -> Vec<String> {
    let mut out = vec![];
    let mut fenced = false;
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if let Some(c) = HEADING.captures(line).filter(|_| !fenced) {
            out.push(c[1].to_owned());
        }
    }
    out
}

/// The anchors of every heading in a Markdown text. A repeated heading gets `-1`, `-2`, ...
/// as on GitHub.
fn anchors(markdown: &str) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for heading in headings(markdown) {
        let base = slug(&heading);
        let n = seen.entry(base.clone()).or_insert(0);
        out.insert(if *n == 0 { base.clone() } else { format!("{base}-{n}") });
        *n += 1;
    }
    out
}

/// `(file under docs/, anchor)` for every `docs/FILE.md#anchor` in `text`.
fn docs_links(text: &str) -> Vec<(String, String)> {
    let re = Regex::new(r"docs/([A-Za-z0-9_.-]+\.md)#([^\s)\]`'\x22,;]+)").unwrap();
    re.captures_iter(text).map(|c| (c[1].to_owned(), c[2].to_owned())).collect()
}

#[track_caller]
fn assert_links_resolve(from: &str, links: &[(String, String)]) {
    for (file, anchor) in links {
        let known = anchors(&read(&format!("docs/{file}")));
        assert!(known.contains(anchor), "{from} links to docs/{file}#{anchor}, which has no such heading");
    }
}

#[test]
fn slugs_and_anchors_follow_github() {
    assert_eq!(slug("R07-name"), "r07-name");
    assert_eq!(slug("D9: `CopyImageTags` is ignored"), "d9-copyimagetags-is-ignored");
    assert_eq!(slug("What [moto](https://x.y/z) does, and why"), "what-moto-does-and-why");
    assert_eq!(slug("Ünïcode & §9 stay"), "ünïcode--9-stay");
    let md = "# Title\n## Same\n```\n## Not a heading\n```\n### Same\n#### Closed ##\nplain # text\n";
    let got: Vec<String> = anchors(md).into_iter().collect();
    assert_eq!(got, ["closed", "same", "same-1", "title"]);
}

#[test]
fn every_rule_of_the_spec_has_a_section_in_docs_rules() {
    let spec: toml::Table = read("specs/copy_image.toml").parse().unwrap();
    let ids: Vec<&str> = spec["rule"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(ids.len() > 30, "only {} rules read from the spec", ids.len());
    // The heading is the id itself, so its anchor is the id in lower case.
    let text = read("docs/rules.md");
    let (titles, known) = (headings(&text), anchors(&text));
    let missing: Vec<&&str> =
        ids.iter().filter(|id| !titles.iter().any(|t| t == **id) || !known.contains(&id.to_lowercase())).collect();
    assert!(missing.is_empty(), "docs/rules.md has no `### <id>` section for {missing:?}");
}

#[test]
fn every_docs_link_names_an_existing_heading() {
    for from in [
        "README.md",
        "snapshots/moto/accepted.toml",
        "snapshots/moto-ext/accepted.toml",
        "snapshots/localstack/accepted.toml",
    ] {
        let links = docs_links(&read(from));
        assert!(!links.is_empty(), "{from} cites nothing in docs/");
        assert_links_resolve(from, &links);
    }
    // Links between the documents are relative: `emulators.md#d6-clienttoken`, `#sources`.
    let relative = Regex::new(r"\]\(([A-Za-z0-9_-]+\.md)?#([^)\s]+)\)").unwrap();
    for file in ["rules.md", "emulators.md"] {
        let text = read(&format!("docs/{file}"));
        let links: Vec<(String, String)> = relative
            .captures_iter(&text)
            .map(|c| (c.get(1).map_or(file, |m| m.as_str()).to_owned(), c[2].to_owned()))
            .collect();
        assert!(!links.is_empty(), "docs/{file} links to no section");
        assert_links_resolve(&format!("docs/{file}"), &links);
    }
}

#[test]
fn every_accepted_deviation_cites_the_docs_and_no_bare_section_number() {
    for target in ["moto", "moto-ext", "localstack"] {
        accepted_deviations_cite_the_docs(&format!("snapshots/{target}/accepted.toml"));
    }
}

#[track_caller]
fn accepted_deviations_cite_the_docs(path: &str) {
    let text = read(path);
    let bare = Regex::new(r"§\s*\d").unwrap();
    assert!(!bare.is_match(&text), "{path} cites a bare §N: link docs/emulators.md#... instead");
    let file: toml::Table = text.parse().unwrap();
    let mut reasons = 0;
    for table in ["accept", "accept_property"] {
        for entry in file[table].as_array().unwrap() {
            let reason = entry["reason"].as_str().unwrap();
            assert!(
                docs_links(reason).iter().any(|(f, _)| f == "emulators.md"),
                "a reason in {path} cites no docs/emulators.md section: {reason}"
            );
            reasons += 1;
        }
    }
    assert!(reasons > 0, "{path} accepts nothing");
}

/// The moto section's gate excerpt is a real gate run, pasted; its figures must be the
/// committed baseline's (the matrix block, which another test ties to the baselines), so a
/// re-recorded baseline cannot leave the excerpt behind.
#[test]
fn the_moto_gate_excerpt_matches_the_committed_baseline() {
    let readme = read("README.md");
    let matrix_row = readme.lines().find(|l| l.starts_with("| **all** |")).expect("the matrix's total row");
    // Columns: embedded, localstack, moto, moto-ext (alphabetical, as the matrix writes them).
    let moto_cell = matrix_row.split('|').nth(4).expect("moto's total cell").trim().trim_matches('*');
    let (conform, cases) = moto_cell.split_once(' ').unwrap().0.split_once('/').unwrap();
    let (conform, cases): (u64, u64) = (conform.parse().unwrap(), cases.parse().unwrap());
    let section = &readme[readme.find("### The CI gate").unwrap()..readme.find("### Minimal reproductions").unwrap()];
    let deviating = cases - conform;
    assert!(
        section.contains(&format!("groups moto's {deviating} deviating cases")),
        "README's gate prose: moto has {deviating} deviating cases per the matrix"
    );
    assert!(
        section.contains(&format!("{cases} cases: {conform} conform")),
        "README's gate excerpt: {cases} cases, {conform} conform per the matrix"
    );
    assert!(
        section.contains(&format!("{deviating} deviations accepted, 0 not accepted")),
        "README's gate excerpt: {deviating} deviations accepted per the matrix"
    );
}
