//! The rule table (`rules`): the spec's rules as aligned text, a Markdown table or JSON.

use super::{Rule, Spec};

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
    let mut s = String::from("| id | phase | when | outcome | confidence | source |\n|---|---|---|---|---|---|\n");
    for r in rules {
        let predicted = if r.predicted { String::new() } else { " (not predicted)".into() };
        let uncertain = if r.uncertain_also.is_some() { " (or success, when uncertain)" } else { "" };
        s.push_str(&format!(
            "| {} | {} | {} | {}{}{} | {} | {} |\n",
            r.id,
            r.phase,
            r.condition.replace('|', "\\|"),
            outcome(r),
            uncertain,
            predicted,
            r.confidence,
            r.source.replace('|', "\\|")
        ));
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
