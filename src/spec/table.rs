//! The rule table (`rules`): the spec's rules as aligned text, a Markdown table or JSON.

use super::{Confidence, Rule, Spec, UncertainAlso};

/// Formats of the rule table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleFormat {
    /// Aligned text for a terminal.
    Table,
    /// A Markdown table.
    Markdown,
    /// The rules as JSON.
    Json,
}

impl Spec {
    /// The rule table in the chosen format: id, phase, outcome, confidence, source.
    pub fn rule_table(&self, format: RuleFormat) -> Result<String, serde_json::Error> {
        Ok(match format {
            RuleFormat::Json => serde_json::to_string_pretty(&self.rules)? + "\n",
            RuleFormat::Markdown => markdown(&self.rules),
            RuleFormat::Table => table(&self.rules),
        })
    }
}

/// A rule's acceptable outcomes, `|`-separated.
fn outcome(r: &Rule) -> String {
    r.outcomes.iter().map(ToString::to_string).collect::<Vec<_>>().join(" | ")
}

fn markdown(rules: &[Rule]) -> String {
    let mut s = String::from(
        "| id | phase | when | outcome | confidence | a conforming answer shows | source |\n\
         |---|---|---|---|---|---|---|\n",
    );
    for r in rules {
        let predicted = if r.predicted { String::new() } else { " (not predicted)".into() };
        let uncertain = if r.uncertain_also.is_some() { " (or success, when uncertain)" } else { "" };
        s.push_str(&format!(
            "| {} | {} | {} | {}{}{} | {} | {} | {} |\n",
            r.id,
            r.phase,
            r.condition.replace('|', "\\|"),
            outcome(r).replace('|', "\\|"),
            uncertain,
            predicted,
            r.confidence,
            proves(r),
            r.source.replace('|', "\\|")
        ));
    }
    s
}

/// What a `conforms` verdict on a rule can and cannot prove, from its confidence and its
/// outcome set.
fn proves(r: &Rule) -> String {
    if !r.predicted {
        return "nothing: the rule is not predicted".into();
    }
    let mut s = match r.confidence {
        Confidence::Documented => "the answer AWS documents",
        Confidence::Observed => "an answer real AWS was seen to give",
        Confidence::Inferred => "only an answer a plausible AWS could give (inferred; needs live AWS)",
    }
    .to_owned();
    let codes = r.outcomes.iter().filter(|o| !o.is_success()).count();
    if codes > 1 {
        s.push_str(&format!("; not which of the {codes} codes AWS picks"));
    }
    match r.uncertain_also {
        Some(UncertainAlso::Success) => s.push_str("; not whether AWS refuses at all"),
        Some(UncertainAlso::Canonical) => s.push_str("; not whether AWS matches keys case-insensitively"),
        None => {}
    }
    s
}

/// Width the terminal table keeps to.
const WIDTH: usize = 100;
/// Indent of a rule's wrapped lines in the terminal table.
const INDENT: &str = "    ";

/// A rule's acceptable outcomes as the terminal shows them, with its uncertainty and whether
/// it is predicted.
fn answer(r: &Rule) -> String {
    let mut o = outcome(r);
    if r.uncertain_also.is_some() {
        o.push_str(" | success?");
    }
    if !r.predicted {
        o.push_str("  [not predicted]");
    }
    o
}

/// The terminal table: per rule a line of id, phase, confidence and title, then what it
/// answers and when, wrapped to [`WIDTH`] columns; the source on one line, cut with `…` (the
/// full text is in `rules --id`, Markdown and JSON).
fn table(rules: &[Rule]) -> String {
    let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let mut s = format!("{:w$}  {:13}  {:10}  title\n", "rule", "phase", "confidence");
    for r in rules {
        s.push_str(&format!("{:w$}  {:13}  {:10}  {}\n", r.id, r.phase, r.confidence.to_string(), r.title));
        wrap(&mut s, "when    ", &r.condition);
        wrap(&mut s, "answer  ", &answer(r));
        s.push_str(&cut(&format!("{INDENT}source  {}", r.source), WIDTH));
        s.push('\n');
    }
    s.push_str("\nA rule in full: copyimage-conformance rules --id ID (a unique start of the id will do, e.g. R07)\n");
    s
}

/// Appends `text` after `INDENT` and `label`, wrapped at spaces to [`WIDTH`] columns, its
/// continuation lines aligned under its start.
fn wrap(out: &mut String, label: &str, text: &str) {
    let lead = INDENT.len() + label.chars().count();
    let mut line = format!("{INDENT}{label}");
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(&line);
            out.push('\n');
            line = " ".repeat(lead);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
}

/// `text` cut to `width` characters, the last one `…` when cut.
fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    text.chars().take(width - 1).chain(std::iter::once('…')).collect()
}

impl Spec {
    /// One rule in full in the chosen format: every field of the spec's entry, wrapped, for the
    /// terminal; its JSON object; or its row of the Markdown table. `id` is a full rule id (see
    /// [`Spec::rule_id`]); `None` when the spec has no such rule.
    pub fn rule_entry(&self, id: &str, format: RuleFormat) -> Option<Result<String, serde_json::Error>> {
        let rule = self.rule(id)?;
        Some(match format {
            RuleFormat::Json => serde_json::to_string_pretty(rule).map(|s| s + "\n"),
            RuleFormat::Markdown => Ok(markdown(std::slice::from_ref(rule))),
            RuleFormat::Table => card(rule),
        })
    }
}

/// Every field of a rule in the spec's order, one `name  value` block each, wrapped; empty
/// fields left out.
fn card(rule: &Rule) -> Result<String, serde_json::Error> {
    // Enumerations read as they are written in the spec.
    fn text(v: &impl serde::Serialize) -> Result<String, serde_json::Error> {
        Ok(match serde_json::to_value(v)? {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        })
    }
    let fields: [(&str, Option<String>); 14] = [
        ("phase", Some(rule.phase.clone())),
        ("predicted", Some(rule.predicted.to_string())),
        ("reason", rule.reason.clone()),
        ("when", Some(rule.condition.clone())),
        ("answer", Some(answer(rule))),
        ("uncertain_also", rule.uncertain_also.as_ref().map(text).transpose()?),
        ("message", Some(rule.message.clone())),
        ("message_exact", Some(rule.message_exact.to_string())),
        ("confidence", Some(rule.confidence.to_string())),
        ("confidence_note", rule.confidence_note.clone()),
        ("alternatives_note", rule.alternatives_note.clone()),
        ("likely", rule.likely.as_ref().map(text).transpose()?),
        ("likely_note", rule.likely_note.clone()),
        ("source", Some(rule.source.clone())),
    ];
    let w = fields.iter().map(|f| f.0.len()).max().unwrap_or(0);
    let mut s = format!("{}: {}\n", rule.id, rule.title);
    for (name, value) in fields {
        let Some(value) = value else { continue };
        // `wrap` indents as the table does; a card starts at the margin.
        let mut block = String::new();
        wrap(&mut block, &format!("{name:w$}  "), &value);
        s.push_str(&block[INDENT.len()..].replace(&format!("\n{INDENT}"), "\n"));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_terminal_table_fits_100_columns_and_shows_when_each_rule_fires() {
        let spec = Spec::builtin().unwrap();
        let table = spec.rule_table(RuleFormat::Table).unwrap();
        let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= WIDTH, "{widest} columns");
        let r07 = spec.rule("R07-name").unwrap();
        let first = r07.condition.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
        assert!(table.contains(&format!("    when    {first}")), "{table}");
        assert!(table.contains(&format!("R07-name {}", "")) && table.contains(&r07.title));
        // Wrapping keeps every word of every condition.
        let words = |t: &str| t.split_whitespace().map(str::to_owned).collect::<Vec<_>>().join(" ");
        for r in &spec.rules {
            assert!(words(&table).contains(&words(&r.condition)), "{}", r.id);
        }
    }

    #[test]
    fn one_rule_in_full_has_every_field_unwrapped_text_intact() {
        let spec = Spec::builtin().unwrap();
        let r30 = spec.rule("R30-unsupported-pair").unwrap();
        let card = spec.rule_entry("R30-unsupported-pair", RuleFormat::Table).unwrap().unwrap();
        assert!(card.starts_with("R30-unsupported-pair: "), "{card}");
        assert!(card.lines().all(|l| l.chars().count() <= WIDTH), "{card}");
        let words = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
        for text in [&r30.condition, &r30.source, &r30.message] {
            assert!(words(&card).contains(&words(text)), "{text}");
        }
        let json = spec.rule_entry("R30-unsupported-pair", RuleFormat::Json).unwrap().unwrap();
        assert_eq!(serde_json::from_str::<serde_json::Value>(&json).unwrap()["id"], "R30-unsupported-pair");
        assert!(spec.rule_entry("R30", RuleFormat::Table).is_none());
    }
}
