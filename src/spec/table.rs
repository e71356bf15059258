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

fn table(rules: &[Rule]) -> String {
    let w = rules.iter().map(|r| r.id.len()).max().unwrap_or(0);
    let rows: Vec<(String, String, String, String)> = rules
        .iter()
        .map(|r| {
            let mut o = outcome(r);
            if r.uncertain_also.is_some() {
                o.push_str(" | success?");
            }
            if !r.predicted {
                o.push_str("  [not predicted]");
            }
            (r.id.clone(), r.phase.clone(), o, r.confidence.to_string())
        })
        .collect();
    let ow = rows.iter().map(|r| r.2.len()).max().unwrap_or(0);
    let mut s = format!("{:w$}  {:13}  {:ow$}  {:10}  source\n", "rule", "phase", "outcome", "confidence");
    for (r, row) in rules.iter().zip(rows) {
        s.push_str(&format!("{:w$}  {:13}  {:ow$}  {:10}  {}\n", row.0, row.1, row.2, row.3, r.source));
    }
    s
}
