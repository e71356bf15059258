//! What error codes a dialect returns: identity for ec2Query, and the json-envelope dialect's
//! EC2-code to envelope-code table (specs/json_envelope.toml).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Maps the codes a dialect returns to EC2 codes (identity for EC2 Query).
pub trait CodeMap: Send + Sync {
    /// Whether `got` (as returned by the endpoint) stands for the EC2 code `ec2`.
    fn matches(&self, got: &str, ec2: &str) -> bool;
}

/// EC2 Query: codes are EC2 codes.
pub struct SameCodes;

impl CodeMap for SameCodes {
    fn matches(&self, got: &str, ec2: &str) -> bool {
        got == ec2
    }
}

/// The built-in code table, compiled in.
pub const BUILTIN_ENVELOPE: &str = include_str!("../../specs/json_envelope.toml");

/// A code table that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// The TOML does not parse or has unknown fields.
    #[error("specs/json_envelope.toml: {0}")]
    Parse(String),
    /// An EC2 code is mapped to two envelope codes.
    #[error("specs/json_envelope.toml: EC2 code {0} is listed under both {1} and {2}")]
    Duplicate(String, String, String),
    /// An empty envelope or EC2 code.
    #[error("specs/json_envelope.toml: an empty code under {0:?}")]
    Empty(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    default: String,
    #[allow(dead_code)] // documentation in the data, checked to be present
    default_source: String,
    #[serde(default)]
    code: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    envelope: String,
    ec2: Vec<String>,
    #[allow(dead_code)] // documentation in the data, checked to be present
    source: String,
}

/// The EC2-code to envelope-code table of the json-envelope dialect.
#[derive(Clone, Debug)]
pub struct EnvelopeCodes {
    default: String,
    by_ec2: BTreeMap<String, String>,
}

impl EnvelopeCodes {
    /// The built-in table, specs/json_envelope.toml.
    pub fn builtin() -> Result<Self, EnvelopeError> {
        Self::parse(BUILTIN_ENVELOPE)
    }

    /// Parses a table in the format of specs/json_envelope.toml.
    pub fn parse(text: &str) -> Result<Self, EnvelopeError> {
        let file: File = toml::from_str(text).map_err(|e| EnvelopeError::Parse(e.to_string()))?;
        if file.default.is_empty() {
            return Err(EnvelopeError::Empty("default".into()));
        }
        let mut by_ec2 = BTreeMap::new();
        for entry in file.code {
            if entry.envelope.is_empty() || entry.ec2.iter().any(String::is_empty) {
                return Err(EnvelopeError::Empty(entry.envelope));
            }
            for ec2 in entry.ec2 {
                if let Some(prev) = by_ec2.get(&ec2) {
                    return Err(EnvelopeError::Duplicate(ec2, String::clone(prev), entry.envelope));
                }
                by_ec2.insert(ec2, entry.envelope.clone());
            }
        }
        Ok(EnvelopeCodes { default: file.default, by_ec2 })
    }

    /// The envelope code for an EC2 error code; the default for a code the table omits.
    pub fn envelope_code(&self, ec2_code: &str) -> &str {
        self.by_ec2.get(ec2_code).map_or(&self.default, String::as_str)
    }

    /// The EC2 codes the table maps to an envelope code, sorted. The default envelope code
    /// also stands for every EC2 code the table omits, which this list cannot show: use
    /// [`EnvelopeCodes::is_default`] for it.
    pub fn ec2_codes(&self, envelope_code: &str) -> Vec<&str> {
        self.by_ec2.iter().filter(|(_, e)| *e == envelope_code).map(|(c, _)| c.as_str()).collect()
    }

    /// The envelope code of EC2 codes the table omits.
    pub fn default_code(&self) -> &str {
        &self.default
    }

    /// Whether the table lists this EC2 code explicitly.
    pub fn is_mapped(&self, ec2_code: &str) -> bool {
        self.by_ec2.contains_key(ec2_code)
    }

    /// Whether an envelope code is the default one.
    pub fn is_default(&self, envelope_code: &str) -> bool {
        self.default == envelope_code
    }
}

impl CodeMap for EnvelopeCodes {
    fn matches(&self, got: &str, ec2: &str) -> bool {
        self.envelope_code(ec2) == got
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    #[test]
    fn builtin_table_maps_both_ways() {
        let t = EnvelopeCodes::builtin().unwrap();
        assert_eq!(t.envelope_code("MissingParameter"), "VALIDATION_ERROR");
        assert_eq!(t.envelope_code("InvalidAMIName.Malformed"), "VALIDATION_ERROR");
        assert_eq!(t.envelope_code("InvalidAMIID.NotFound"), "NOT_FOUND");
        assert_eq!(t.envelope_code("UnauthorizedOperation"), "FORBIDDEN");
        assert_eq!(t.envelope_code("DryRunOperation"), "DRY_RUN");
        assert_eq!(t.envelope_code("IdempotentParameterMismatch"), "CONFLICT");
        assert_eq!(t.envelope_code("SomethingNew"), "ERROR");
        assert!(t.is_default("ERROR"));
        assert_eq!(t.ec2_codes("DRY_RUN"), ["DryRunOperation"]);
        assert_eq!(t.ec2_codes("NOT_FOUND"), ["InvalidAMIID.NotFound", "InvalidAMIID.Unavailable"]);
        assert!(t.ec2_codes("NOPE").is_empty());
    }

    #[test]
    fn every_spec_code_is_mapped_on_purpose() {
        let t = EnvelopeCodes::builtin().unwrap();
        let spec = Spec::builtin().unwrap();
        for rule in &spec.rules {
            for code in rule.outcomes.iter().filter_map(|o| o.code.as_deref()) {
                assert!(t.is_mapped(code), "{} ({}) is not in specs/json_envelope.toml", code, rule.id);
            }
        }
    }

    #[test]
    fn bad_tables_are_rejected() {
        let dup = r#"
            default = "ERROR"
            default_source = "s"
            [[code]]
            envelope = "A"
            ec2 = ["X"]
            source = "s"
            [[code]]
            envelope = "B"
            ec2 = ["X"]
            source = "s"
        "#;
        assert!(matches!(EnvelopeCodes::parse(dup), Err(EnvelopeError::Duplicate(..))));
        let unknown = "default = \"E\"\ndefault_source = \"s\"\nextra = 1\n";
        assert!(matches!(EnvelopeCodes::parse(unknown), Err(EnvelopeError::Parse(_))));
        let no_source = "default = \"E\"\ndefault_source = \"s\"\n[[code]]\nenvelope = \"A\"\nec2 = [\"X\"]\n";
        assert!(matches!(EnvelopeCodes::parse(no_source), Err(EnvelopeError::Parse(_))));
    }
}
