//! The README's performance headline is BENCHMARKS.md's, which `bench/compare --write` writes
//! with the figures, and its ratios are the ones the figures table gives.

use std::path::Path;

use regex::Regex;

const BEGIN: &str = "<!-- bench-headline:begin -->\n";
const END: &str = "\n<!-- bench-headline:end -->";

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The text between `begin` and `end` in `text`, which must hold the block exactly once.
#[track_caller]
fn block<'t>(text: &'t str, name: &str, begin: &str, end: &str) -> &'t str {
    assert_eq!(text.matches(begin.trim()).count(), 1, "{name}: one {} block", begin.trim());
    let start = text.find(begin).unwrap_or_else(|| panic!("{name}: no {}", begin.trim())) + begin.len();
    let len = text[start..].find(end).unwrap_or_else(|| panic!("{name}: no {}", end.trim()));
    &text[start..start + len]
}

/// The numbers written `**a/b/...x**` (the headline) or `= **ax**` (the table's rows).
fn ratios(text: &str) -> Vec<String> {
    let ratio = Regex::new(r"\*\*([0-9.]+(?:/[0-9.]+)*)x\*\*").unwrap();
    ratio.captures_iter(text).flat_map(|c| c[1].split('/').map(str::to_owned).collect::<Vec<_>>()).collect()
}

#[test]
fn readme_performance_headline_is_the_benchmarks_one() {
    let benchmarks = read("BENCHMARKS.md");
    let headline = block(&benchmarks, "BENCHMARKS.md", BEGIN, END);
    assert_eq!(block(&read("README.md"), "README.md", BEGIN, END), headline, "rerun `bench/compare --write`");

    let table = block(&benchmarks, "BENCHMARKS.md", "<!-- bench:begin -->\n", "\n<!-- bench:end -->");
    let measured = ratios(table);
    // Three concurrencies against serve, two against moto: every pair's ratio is in the headline.
    assert_eq!(measured.len(), 5, "the figures table's ratios: {table}");
    assert_eq!(ratios(headline), measured, "the headline's ratios are the table's");
    assert!(table.contains("- command: `bench/compare"), "the figures name the command that made them");
    assert!(table.contains("- machine: "), "the figures name the machine");
    assert!(table.contains("- placement against "), "the figures say where clients and servers ran");
}
