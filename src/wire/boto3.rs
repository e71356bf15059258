//! A request written as a boto3 call: `copy_image(...)` with the Python parameter names, or,
//! where boto3's model cannot say the request (an unknown key, a gap in a list, a boolean
//! that is not `true`/`false`), the raw form body put in place just before signing.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::spec::{Outcome, ParamType, Spec};
use crate::world::Params;

/// One `TagSpecifications` member: its ResourceType, and its tags' keys and values by index.
type TagSpec<'a> = (Option<&'a str>, BTreeMap<usize, (Option<&'a str>, Option<&'a str>)>);

/// The request as Python keyword arguments (`Name="x", DryRun=True`), or `None` when
/// boto3's model cannot express it.
pub fn kwargs(spec: &Spec, params: &Params) -> Option<String> {
    let mut args = vec![];
    let mut tags: BTreeMap<usize, TagSpec<'_>> = BTreeMap::new();
    for (key, value) in params {
        if let Some(rest) = key.strip_prefix("TagSpecification.") {
            let (n, field) = rest.split_once('.')?;
            let spec_entry = tags.entry(index(n)?).or_default();
            match field.split('.').collect::<Vec<_>>().as_slice() {
                ["ResourceType"] => spec_entry.0 = Some(value),
                ["Tag", m, "Key"] => spec_entry.1.entry(index(m)?).or_default().0 = Some(value),
                ["Tag", m, "Value"] => spec_entry.1.entry(index(m)?).or_default().1 = Some(value),
                _ => return None,
            }
            continue;
        }
        let p = spec.param(key)?;
        let py = match p.ty {
            ParamType::Boolean => match value.as_str() {
                "true" => "True".to_owned(),
                "false" => "False".to_owned(),
                _ => return None,
            },
            ParamType::Long => value.parse::<i64>().ok()?.to_string(),
            ParamType::String | ParamType::Enum | ParamType::Region => py_str(value),
        };
        args.push(format!("{key}={py}"));
    }
    if !tags.is_empty() {
        // boto3 numbers list members itself from 1: only a list without gaps is said as it is.
        if !dense(tags.keys()) || !tags.values().all(|(_, t)| dense(t.keys())) {
            return None;
        }
        let specs: Vec<String> = tags
            .values()
            .map(|(rt, t)| {
                let mut fields = vec![];
                if let Some(rt) = rt {
                    fields.push(format!("\"ResourceType\": {}", py_str(rt)));
                }
                if !t.is_empty() {
                    let list: Vec<String> = t
                        .values()
                        .map(|(k, v)| {
                            let k = k.map(|k| format!("\"Key\": {}", py_str(k)));
                            let v = v.map(|v| format!("\"Value\": {}", py_str(v)));
                            format!("{{{}}}", [k, v].into_iter().flatten().collect::<Vec<_>>().join(", "))
                        })
                        .collect();
                    fields.push(format!("\"Tags\": [{}]", list.join(", ")));
                }
                format!("{{{}}}", fields.join(", "))
            })
            .collect();
        args.push(format!("TagSpecifications=[{}]", specs.join(", ")));
    }
    Some(args.join(", "))
}

fn index(n: &str) -> Option<usize> {
    n.parse().ok()
}

fn dense<'a>(keys: impl Iterator<Item = &'a usize>) -> bool {
    keys.enumerate().all(|(i, k)| *k == i + 1)
}

/// `s` as a Python string literal; a long run of one repeated piece (how the shrinker pads a
/// value to its boundary) as `("piece" * n)[:len]`.
pub fn py_str(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() > 24 {
        for k in 1..=12 {
            let piece = &chars[..k];
            if chars.iter().enumerate().all(|(i, c)| *c == piece[i % k]) {
                let piece: String = piece.iter().collect();
                let times = chars.len().div_ceil(k);
                let cut = if chars.len().is_multiple_of(k) { String::new() } else { format!("[:{}]", chars.len()) };
                return format!("({} * {times}){cut}", literal(&piece));
            }
        }
    }
    literal(s)
}

fn literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// How AWS's answer shows in boto3: `ClientError` with its code and HTTP status, or a reply
/// with an `ImageId`; several acceptable answers joined with `or`.
pub fn expectation(expected: &[Outcome]) -> String {
    let each: Vec<String> = expected
        .iter()
        .map(|o| match &o.code {
            Some(code) => format!("ClientError {code} (HTTP {})", o.status),
            None => format!("a reply with an ImageId (HTTP {})", o.status),
        })
        .collect();
    format!("# AWS answers: {}", each.join(" or "))
}

/// A boto3 snippet that sends `params` (its form body `body`) to `endpoint`, with what AWS
/// answers as a closing comment.
pub fn snippet(spec: &Spec, endpoint: &str, region: &str, params: &Params, body: &str, expected: &[Outcome]) -> String {
    let mut lines = vec![
        "import boto3, botocore.config".to_owned(),
        format!(
            "ec2 = boto3.client(\"ec2\", endpoint_url={}, region_name={}, config=botocore.config.Config(parameter_validation=False))",
            literal(endpoint),
            literal(region)
        ),
    ];
    match kwargs(spec, params) {
        Some(args) => lines.push(format!("ec2.copy_image({args})")),
        None => {
            lines.push("# boto3 cannot say this request: its form body goes in just before signing".to_owned());
            lines.push(format!(
                "ec2.meta.events.register(\"before-sign.ec2.CopyImage\", lambda request, **_: setattr(request, \"data\", {}))",
                literal(body)
            ));
            lines.push("ec2.copy_image(Name=\"x\", SourceImageId=\"x\", SourceRegion=\"x\")".to_owned());
        }
    }
    lines.push(expectation(expected));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn members_get_their_python_names_and_types() {
        let spec = Spec::builtin().unwrap();
        let p = params(&[
            ("Name", "my-ami-copy"),
            ("DryRun", "true"),
            ("TagSpecification.1.ResourceType", "image"),
            ("TagSpecification.1.Tag.1.Key", "team"),
            ("TagSpecification.1.Tag.1.Value", "dev"),
        ]);
        assert_eq!(
            kwargs(&spec, &p).unwrap(),
            "DryRun=True, Name=\"my-ami-copy\", \
             TagSpecifications=[{\"ResourceType\": \"image\", \"Tags\": [{\"Key\": \"team\", \"Value\": \"dev\"}]}]"
        );
    }

    #[test]
    fn what_boto3_cannot_say_goes_raw() {
        let spec = Spec::builtin().unwrap();
        assert_eq!(kwargs(&spec, &params(&[("Encrypted", "maybe")])), None);
        assert_eq!(kwargs(&spec, &params(&[("Bogus", "1")])), None);
        assert_eq!(kwargs(&spec, &params(&[("TagSpecification.2.ResourceType", "image")])), None);
        let s = snippet(&spec, "http://h/", "us-east-1", &params(&[("Bogus", "1")]), "Action=CopyImage&Bogus=1", &[]);
        assert!(s.contains("setattr(request, \"data\", \"Action=CopyImage&Bogus=1\")"), "{s}");
    }

    #[test]
    fn padded_values_are_written_short_and_quotes_escaped() {
        assert_eq!(py_str(&"my-ami-copy-".repeat(11)[..129]), "(\"my-ami-copy-\" * 11)[:129]");
        assert_eq!(py_str(&"x".repeat(30)), "(\"x\" * 30)");
        assert_eq!(py_str("a\"b\\\n"), "\"a\\\"b\\\\\\x0a\"");
        let expected = [Outcome { code: Some("InvalidParameterValue".into()), status: 400 }];
        assert_eq!(expectation(&expected), "# AWS answers: ClientError InvalidParameterValue (HTTP 400)");
    }
}
