//! A copy-paste `curl` command that reproduces a request, signing it with the user's own
//! credentials from the environment instead of carrying ours.

/// Headers that hold (or are derived from) a signature or secret; curl re-creates them.
const SIGNING_HEADERS: [&str; 4] = ["authorization", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"];

/// Headers curl computes itself from `--data-binary`.
const FRAMING_HEADERS: [&str; 2] = ["content-length", "transfer-encoding"];

/// Quotes `s` for a POSIX shell: single quotes, each embedded `'` written as `'\''`.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A shell command that sends the same request with curl.
///
/// No secret appears in it: `authorization`, `x-amz-date`, `x-amz-security-token` and
/// `x-amz-content-sha256` are dropped, and curl signs anew with `--aws-sigv4
/// 'aws:amz:<region>:ec2'` and `--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY"` (plus
/// `-H "x-amz-security-token: $AWS_SESSION_TOKEN"` when the request carried a token). Other
/// headers (`host`, `content-type`, `accept`, …) are kept; `content-length` and
/// `transfer-encoding` are left to curl. The body goes in `--data-binary`, single-quoted.
pub fn curl_command(method: &str, url: &str, headers: &[(String, String)], body: &str, region: &str) -> String {
    let is = |name: &str, set: &[&str]| set.iter().any(|h| name.eq_ignore_ascii_case(h));
    let had_token = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("x-amz-security-token"));
    let method_arg = if !method.is_empty() && method.bytes().all(|b| b.is_ascii_uppercase()) {
        method.to_owned()
    } else {
        sh_quote(method)
    };
    let mut lines = vec![
        format!("curl -sS -i -X {method_arg} {}", sh_quote(url)),
        format!("--aws-sigv4 {}", sh_quote(&format!("aws:amz:{region}:ec2"))),
        r#"--user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY""#.to_owned(),
    ];
    if had_token {
        lines.push(r#"-H "x-amz-security-token: $AWS_SESSION_TOKEN""#.to_owned());
    }
    for (name, value) in headers {
        if is(name, &SIGNING_HEADERS) || is(name, &FRAMING_HEADERS) {
            continue;
        }
        lines.push(format!("-H {}", sh_quote(&format!("{name}: {value}"))));
    }
    if !body.is_empty() || !matches!(method, "GET" | "HEAD") {
        lines.push(format!("--data-binary {}", sh_quote(body)));
    }
    lines.join(" \\\n  ")
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn h(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    const SIG: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "FwoGZXIvYXdzEXAMPLETOKENvalue";

    fn signed_headers() -> Vec<(String, String)> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/ec2/aws4_request, \
             SignedHeaders=content-type;host;x-amz-date, Signature={SIG}"
        );
        h(&[
            ("host", "127.0.0.1:5000"),
            ("content-type", "application/x-www-form-urlencoded; charset=utf-8"),
            ("Accept", "text/xml"),
            ("content-length", "35"),
            ("X-Amz-Date", "20150830T123600Z"),
            ("Authorization", &auth),
            ("x-amz-security-token", TOKEN),
            ("x-amz-content-sha256", "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"),
        ])
    }

    #[test]
    fn shape_of_the_command() {
        let cmd = curl_command(
            "POST",
            "http://127.0.0.1:5000/",
            &signed_headers(),
            "Action=CopyImage&Version=2016-11-15",
            "us-east-1",
        );
        assert_eq!(
            cmd,
            "curl -sS -i -X POST 'http://127.0.0.1:5000/' \\
  --aws-sigv4 'aws:amz:us-east-1:ec2' \\
  --user \"$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY\" \\
  -H \"x-amz-security-token: $AWS_SESSION_TOKEN\" \\
  -H 'host: 127.0.0.1:5000' \\
  -H 'content-type: application/x-www-form-urlencoded; charset=utf-8' \\
  -H 'Accept: text/xml' \\
  --data-binary 'Action=CopyImage&Version=2016-11-15'"
        );
    }

    #[test]
    fn no_secret_from_the_headers_appears() {
        let headers = signed_headers();
        let cmd = curl_command("POST", "https://ec2.us-east-1.amazonaws.com/", &headers, "x=1", "us-east-1");
        for (name, value) in &headers {
            if SIGNING_HEADERS.iter().any(|s| name.eq_ignore_ascii_case(s)) {
                assert!(!cmd.contains(value.as_str()), "{name} leaked:\n{cmd}");
            }
        }
        for secret in [SIG, TOKEN, "AKIDEXAMPLE", "20150830T123600Z"] {
            assert!(!cmd.contains(secret), "{secret} leaked:\n{cmd}");
        }
        assert!(!cmd.to_ascii_lowercase().contains("authorization"), "{cmd}");
    }

    #[test]
    fn token_line_only_with_a_token() {
        let headers = h(&[("Authorization", "AWS4-HMAC-SHA256 x"), ("content-type", "a/b")]);
        let cmd = curl_command("POST", "http://h/", &headers, "", "eu-west-1");
        assert!(!cmd.contains("x-amz-security-token"), "{cmd}");
        assert!(cmd.contains("--aws-sigv4 'aws:amz:eu-west-1:ec2'"), "{cmd}");
        // An empty POST still sends an (empty) body.
        assert!(cmd.ends_with("--data-binary ''"), "{cmd}");
        let cmd = curl_command("GET", "http://h/?Action=CopyImage&Name=x", &[], "", "us-east-1");
        assert!(!cmd.contains("--data-binary"), "{cmd}");
        assert!(cmd.contains("'http://h/?Action=CopyImage&Name=x'"), "{cmd}");
    }

    /// What `sh` makes of a quoted word.
    fn sh_unquote(word: &str) -> String {
        let out = Command::new("/bin/sh").arg("-c").arg(format!("printf %s {word}")).output().expect("run /bin/sh");
        assert!(out.status.success(), "sh failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    #[test]
    fn quoting_round_trips_through_sh() {
        for s in [
            "",
            "plain",
            "it's",
            "'",
            "''",
            "a'b'c",
            "$HOME `id` $(id) \\ \\n \" ! * ? ~ # ; & | < > { } [ ]",
            "line1\nline2\ttab",
            "名前 é \u{1F600}",
            "Action=CopyImage&Name=a%20b%27c&Description=it's",
            "%s %d -n",
        ] {
            assert_eq!(sh_unquote(&sh_quote(s)), s, "round trip of {s:?}");
        }
    }

    #[test]
    fn whole_command_parses_in_sh() {
        // Replace curl with printf to see the words sh would pass it.
        let body = "Name=it's&Description=$HOME";
        let cmd = curl_command("POST", "http://h/", &h(&[("x-q", "a'b")]), body, "us-east-1");
        let script =
            format!("AWS_ACCESS_KEY_ID=id AWS_SECRET_ACCESS_KEY=sk; curl() {{ printf '%s\\n' \"$@\"; }}; {cmd}");
        let out = Command::new("/bin/sh").arg("-c").arg(script).output().expect("run /bin/sh");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let words: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect();
        assert_eq!(
            words,
            [
                "-sS",
                "-i",
                "-X",
                "POST",
                "http://h/",
                "--aws-sigv4",
                "aws:amz:us-east-1:ec2",
                "--user",
                "id:sk",
                "-H",
                "x-q: a'b",
                "--data-binary",
                body,
            ]
        );
    }
}
