//! Hostile input: replies that carry terminal control sequences, and spec files with absurd
//! limits.

use crate::fake::{self, Mode};
use crate::{run, stderr, stdout};

/// An error envelope whose code and message clear the screen (`ESC [2J`), set the window title
/// (`OSC 0;… BEL`) and use C1 controls (CSI `U+009B`, NEL `U+0085`) and DEL.
const HOSTILE_ERROR: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error>\
    <Code>Invalid\u{1b}[2J\u{1b}]0;pwned\u{7}Code\u{9b}31m\u{85}\u{7f}</Code>\
    <Message>gone\u{1b}[2J\u{1b}]0;title\u{7}\u{9b}1;1H\r\n</Message>\
    </Error></Errors><RequestID>r\u{1b}[2J</RequestID></Response>";

/// A reply whose root element's name carries the same sequences, so they reach the reason.
const HOSTILE_ROOT: &str =
    "<html\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m><p/></html\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m>";

/// The control characters in `text` other than the newlines and tabs that lay it out.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars().filter(|c| c.is_control() && !matches!(c, '\n' | '\t')).collect()
}

fn report(url: &str, format: &str) -> String {
    let o = run(
        &["run", "--quiet", "--endpoint", url, "--format", format, "--rule", "R09-amiid-malformed", "--cases", "3"],
        "",
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    stdout(&o)
}

#[test]
fn terminal_and_markdown_reports_escape_control_characters_from_the_server() {
    for (body, shown) in [
        (HOSTILE_ERROR, r"Invalid\u{1b}[2J\u{1b}]0;pwned\u{7}Code\u{9b}31m\u{85}\u{7f}"),
        (HOSTILE_ROOT, r"unexpected root element <html\u{1b}[2J\u{1b}]0;pwned\u{7}\u{9b}31m>"),
    ] {
        let f = fake::start(Mode::Raw(400, body));
        for format in ["terminal", "markdown"] {
            let text = report(&f.url, format);
            assert_eq!(raw_controls(&text), Vec::<char>::new(), "{format}: {text}");
            // Escaped, not dropped: the user still sees what the server sent.
            assert!(text.contains(shown), "{format} lacks {shown}: {text}");
        }
    }
}

/// Writes the built-in spec with `edit` applied to a temporary file and runs `gen` with it.
fn gen_with_spec(name: &str, edit: impl Fn(&str) -> String) -> std::process::Output {
    let path = std::env::temp_dir().join(format!("spec_{name}_{}.toml", std::process::id()));
    let text = edit(copyimage_conformance::BUILTIN_SPEC);
    assert_ne!(text, copyimage_conformance::BUILTIN_SPEC, "the edit changed nothing");
    std::fs::write(&path, text).unwrap();
    let o = run(&["--spec", path.to_str().unwrap(), "gen", "--count", "50"], "");
    std::fs::remove_file(&path).ok();
    o
}

#[test]
fn absurd_spec_limits_are_one_clear_line_and_exit_2() {
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "max_u64",
            "max_length = 128\n",
            "max_length = 18446744073709551615\n",
            "parameter.Name.max_length: 18446744073709551615 is outside the allowed range 1..=100000",
        ),
        (
            "max_4e9",
            "max_length = 128\n",
            "max_length = 4000000000\n",
            "parameter.Name.max_length: 4000000000 is outside the allowed range 1..=100000",
        ),
        (
            "max_zero",
            "max_length = 255\n",
            "max_length = 0\n",
            "parameter.Description.max_length: 0 is outside the allowed range 1..=100000",
        ),
        ("max_negative", "max_length = 255\n", "max_length = -1\n", "invalid value: integer `-1`, expected usize"),
        (
            "min_above_max",
            "min = 15\n",
            "min = 3000\n",
            "parameter.SnapshotCopyCompletionDurationMinutes.min: 3000 is above max 2880",
        ),
    ];
    for (name, from, to, want) in cases {
        let o = gen_with_spec(name, |s| s.replacen(from, to, 1));
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(&format!("spec_{name}_")), "{name}: names the file: {err}");
        assert!(err.contains(want), "{name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: one line: {err}");
        assert!(stdout(&o).is_empty(), "{name}");
    }
}
