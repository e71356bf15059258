//! Request bodies: the ec2Query form (`application/x-www-form-urlencoded`) and the JSON
//! envelope dialect.

use crate::world::Params;

/// The parameter that names the operation.
const ACTION: &str = "Action";
/// The parameter that names the API version.
const VERSION: &str = "Version";

/// Percent-encodes `s` per RFC 3986: the unreserved characters `A-Z a-z 0-9 - _ . ~` stay,
/// every other UTF-8 byte becomes `%XX` (uppercase hex). A space is `%20`, never `+`.
pub fn percent_encode(s: &str) -> String {
    let mut out = Vec::with_capacity(s.len());
    push_encoded(&mut out, s);
    ascii(out)
}

/// Whether a byte stays as it is when percent-encoded: RFC 3986's unreserved characters.
const fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

/// Each byte's encoding, little-endian in a `u32`: its one or three bytes (`%XX`, uppercase
/// hex), then, in the top byte, how many of them there are.
const ENCODED: [u32; 256] = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut table = [0; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = if unreserved(b as u8) {
            b as u32 | 1 << 24
        } else {
            b'%' as u32 | (HEX[b >> 4] as u32) << 8 | (HEX[b & 0x0f] as u32) << 16 | 3 << 24
        };
        b += 1;
    }
    table
};

/// Appends `s` to `out`, percent-encoded as [`percent_encode`] does.
fn push_encoded(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    // Most keys and values need no escape: found so by a look that does not branch per byte
    // (it vectorises), they are copied whole.
    if !bytes.iter().fold(false, |escape, &b| escape | !unreserved(b)) {
        out.extend_from_slice(bytes);
        return;
    }
    // The others, byte by byte into room for the longest encoding (and the spare byte the last
    // four-byte write needs): one store and one add a byte, no branch on its class, no
    // growth check. Cheaper than copying their unreserved runs, which are short, one call each.
    let start = out.len();
    out.resize(start + 3 * bytes.len() + 1, 0);
    let mut at = start;
    for &b in bytes {
        let encoded = ENCODED[usize::from(b)];
        out[at..at + 4].copy_from_slice(&encoded.to_le_bytes());
        at += (encoded >> 24) as usize;
    }
    out.truncate(at);
}

/// Encoded text as a `String`: it is all ASCII.
fn ascii(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).expect("percent-encoded text is ASCII")
}

/// The ec2Query form body: `Action=<action>&Version=<version>`, then every parameter in sorted
/// key order, keys and values percent-encoded with `percent_encode`.
///
/// A parameter named `Action` or `Version` replaces the given value in its leading place
/// (and is not repeated), which is how an invalid action or version reaches the server.
pub fn form_body(action: &str, version: &str, params: &Params) -> String {
    let action = params.get(ACTION).map_or(action, String::as_str);
    let version = params.get(VERSION).map_or(version, String::as_str);
    // Built as bytes, one growing buffer for the whole body: it is the runner's hottest encoding.
    let size: usize = params.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = Vec::with_capacity(32 + action.len() + version.len() + size + size / 2);
    out.extend_from_slice(b"Action=");
    push_encoded(&mut out, action);
    out.extend_from_slice(b"&Version=");
    push_encoded(&mut out, version);
    for (k, v) in params {
        if k == ACTION || k == VERSION {
            continue;
        }
        out.push(b'&');
        push_encoded(&mut out, k);
        out.push(b'=');
        push_encoded(&mut out, v);
    }
    ascii(out)
}

/// The JSON-envelope dialect's body: a JSON object of the parameters, string values, sorted
/// keys.
pub fn json_body(params: &Params) -> String {
    let map: serde_json::Map<String, serde_json::Value> =
        params.iter().map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone()))).collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn botocore_example_from_copyimage_md() {
        // copyimage.md 1.4: botocore 1.44.8 EC2Serializer output, one pair a line.
        let botocore = "Action=CopyImage
Version=2016-11-15
Name=my-ami
SourceImageId=ami-0123456789abcdef0
SourceRegion=us-west-2
ClientToken=tok-1
Description=d
Encrypted=true
KmsKeyId=alias/x
CopyImageTags=false
TagSpecification.1.ResourceType=image
TagSpecification.1.Tag.1.Key=k1
TagSpecification.1.Tag.1.Value=v1
TagSpecification.1.Tag.2.Key=k2
TagSpecification.1.Tag.2.Value=
TagSpecification.2.ResourceType=snapshot
TagSpecification.2.Tag.1.Key=s
TagSpecification.2.Tag.1.Value=t
SnapshotCopyCompletionDurationMinutes=15
DryRun=true";
        let p: Params = botocore
            .lines()
            .skip(2)
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let body = form_body("CopyImage", "2016-11-15", &p);
        assert_eq!(
            body,
            "Action=CopyImage&Version=2016-11-15&ClientToken=tok-1&CopyImageTags=false\
             &Description=d&DryRun=true&Encrypted=true&KmsKeyId=alias%2Fx&Name=my-ami\
             &SnapshotCopyCompletionDurationMinutes=15&SourceImageId=ami-0123456789abcdef0\
             &SourceRegion=us-west-2&TagSpecification.1.ResourceType=image\
             &TagSpecification.1.Tag.1.Key=k1&TagSpecification.1.Tag.1.Value=v1\
             &TagSpecification.1.Tag.2.Key=k2&TagSpecification.1.Tag.2.Value=\
             &TagSpecification.2.ResourceType=snapshot&TagSpecification.2.Tag.1.Key=s\
             &TagSpecification.2.Tag.1.Value=t"
        );
        // Same pairs as botocore, order aside (AWS ignores the order).
        let mut ours: Vec<String> = body.split('&').map(|s| s.replace("%2F", "/")).collect();
        let mut theirs: Vec<String> = botocore.lines().map(str::to_owned).collect();
        ours.sort();
        theirs.sort();
        assert_eq!(ours, theirs);
    }

    #[test]
    fn aws_sample_query_description() {
        // The api-page sample encodes the space as %20.
        let p = params(&[("Description", "This is the new version of My-Standard-AMI")]);
        assert_eq!(
            form_body("CopyImage", "2016-11-15", &p),
            "Action=CopyImage&Version=2016-11-15\
             &Description=This%20is%20the%20new%20version%20of%20My-Standard-AMI"
        );
    }

    #[test]
    fn reserved_characters_are_encoded() {
        let p = params(&[("Name", "a b&c=d+e/f?g#h%i'j*k~l_m.n-o")]);
        assert_eq!(
            form_body("CopyImage", "2016-11-15", &p),
            "Action=CopyImage&Version=2016-11-15\
             &Name=a%20b%26c%3Dd%2Be%2Ff%3Fg%23h%25i%27j%2Ak~l_m.n-o"
        );
    }

    #[test]
    fn non_ascii_is_utf8_percent_encoded() {
        // Same bytes as moto transcript case [12].
        let p = params(&[("Name", "名前"), ("Description", "é\u{1F600}")]);
        assert_eq!(
            form_body("CopyImage", "2016-11-15", &p),
            "Action=CopyImage&Version=2016-11-15&Description=%C3%A9%F0%9F%98%80\
             &Name=%E5%90%8D%E5%89%8D"
        );
    }

    #[test]
    fn empty_values_and_keys_are_sent() {
        let p = params(&[("Name", ""), ("", "x")]);
        assert_eq!(form_body("CopyImage", "2016-11-15", &p), "Action=CopyImage&Version=2016-11-15&=x&Name=");
    }

    #[test]
    fn action_and_version_params_override_in_place() {
        let p = params(&[("Action", "CopyImages"), ("Version", ""), ("Name", "n")]);
        assert_eq!(form_body("CopyImage", "2016-11-15", &p), "Action=CopyImages&Version=&Name=n");
        let p = params(&[("Version", "2014 01"), ("Name", "n")]);
        assert_eq!(form_body("CopyImage", "2016-11-15", &p), "Action=CopyImage&Version=2014%2001&Name=n");
    }

    #[test]
    fn no_params_gives_action_and_version_only() {
        assert_eq!(form_body("CopyImage", "2016-11-15", &Params::new()), "Action=CopyImage&Version=2016-11-15");
    }

    #[test]
    fn percent_encode_every_byte() {
        for b in 0u8..=127 {
            let s = char::from(b).to_string();
            let e = percent_encode(&s);
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                assert_eq!(e, s);
            } else {
                assert_eq!(e, format!("%{b:02X}"));
            }
        }
    }

    #[test]
    fn percent_encode_is_byte_by_byte_escaping() {
        let reference = |s: &str| -> String {
            s.bytes().map(|b| if unreserved(b) { char::from(b).to_string() } else { format!("%{b:02X}") }).collect()
        };
        let every: String = (0u8..0x80).map(char::from).chain(['é', 'ß', '名', '\u{1F600}', '\u{7FF}']).collect();
        for s in ["", "plain-Value_1.0~", "a b", "%", &every, &every.repeat(5), &"x".repeat(300)] {
            assert_eq!(percent_encode(s), reference(s), "{s:?}");
        }
    }

    #[test]
    fn json_body_is_sorted_object_of_strings() {
        let p = params(&[("b", "2"), ("a", "x \"q\" é"), ("Name", "")]);
        let body = json_body(&p);
        assert_eq!(body, r#"{"Name":"","a":"x \"q\" é","b":"2"}"#);
        let back: Params = serde_json::from_str(&body).expect("valid JSON");
        assert_eq!(back, p);
        assert_eq!(json_body(&Params::new()), "{}");
    }
}
