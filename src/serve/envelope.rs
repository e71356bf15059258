//! The "json-envelope" dialect: EC2 codes mapped to envelope codes (specs/json_envelope.toml),
//! the envelope's JSON bodies, and the RFC 3339 timestamps they carry.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Deserialize;
use serde_json::json;

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

/// The envelope's success body for a copy.
pub fn success(image_id: &str, created_at: &str) -> String {
    json!({"success": true, "data": {"id": image_id, "created_at": created_at}}).to_string()
}

/// The envelope's error body.
pub fn error(code: &str, message: &str) -> String {
    json!({"success": false, "error": {"code": code, "message": message}}).to_string()
}

/// `time` as RFC 3339 UTC with whole seconds, e.g. `2026-11-24T09:05:00Z`. Times before the
/// epoch are clamped to it.
pub fn rfc3339(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // u64 seconds / 86400 always fits i64.
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// Year, month, day of a count of days since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let d = doy - (153 * mp + 2) / 5 + 1; // [1, 31]
    let m = if mp < 10 { mp + 3 } else { mp - 9 }; // [1, 12]
    let y = yoe + era * 400 + i64::from(m <= 2);
    // Both are in range by construction.
    (y, u32::try_from(m).unwrap_or(1), u32::try_from(d).unwrap_or(1))
}

impl crate::verdict::CodeMap for EnvelopeCodes {
    fn matches(&self, got: &str, ec2: &str) -> bool {
        self.envelope_code(ec2) == got
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::spec::Spec;

    fn at(secs: u64) -> String {
        rfc3339(UNIX_EPOCH + Duration::from_secs(secs))
    }

    #[test]
    fn rfc3339_known_instants() {
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
        assert_eq!(at(1_709_251_199), "2024-02-29T23:59:59Z");
        assert_eq!(rfc3339(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00Z");
    }

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
