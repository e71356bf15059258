//! Escaping text for the terminal and Markdown reports, so a server cannot write control
//! sequences (clear the screen, set the window title, ring the bell) to the user's terminal.
//!
//! Codes, messages and reasons come from the server; the JUnit report makes them safe for XML
//! (`wire::xml_escape`), these functions make them safe for a terminal and for Markdown.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1: `char::is_control`) written visibly as
/// Rust writes it (`\n`, `\u{1b}`, `\u{9b}`). With `multi_line`, newlines and tabs are kept
/// as the text's own layout (a `curl` reproduction spans lines). Text without control
/// characters comes back unchanged and unallocated.
pub fn controls(text: &str, multi_line: bool) -> Cow<'_, str> {
    let escaped = |c: char| c.is_control() && !(multi_line && matches!(c, '\n' | '\t'));
    if !text.chars().any(escaped) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// One line of report text: every control character escaped, newlines included.
pub fn line(text: &str) -> Cow<'_, str> {
    controls(text, false)
}

/// A block of report text (a `curl` command): control characters escaped, except the
/// newlines and tabs that lay it out.
pub fn block(text: &str) -> Cow<'_, str> {
    controls(text, true)
}

/// A Markdown table cell: one line, and `|` escaped so it cannot end the cell.
pub fn cell(text: &str) -> Cow<'_, str> {
    match line(text) {
        Cow::Borrowed(t) if !t.contains('|') => Cow::Borrowed(t),
        t => Cow::Owned(t.replace('|', r"\|")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        for t in ["InvalidAMIID.NotFound", "message \"quoted\" \\ é 名", ""] {
            assert!(matches!(line(t), Cow::Borrowed(s) if s == t));
            assert!(matches!(cell(t), Cow::Borrowed(s) if s == t));
        }
        let curl = "curl -sS \\\n  --data-binary 'a\tb'";
        assert!(matches!(block(curl), Cow::Borrowed(s) if s == curl));
    }

    #[test]
    fn terminal_sequences_are_made_visible() {
        let hostile = "a\u{1b}[2Jb\u{1b}]0;title\u{7}c\u{9b}31md\u{7f}e\u{0}\r";
        let want = r"a\u{1b}[2Jb\u{1b}]0;title\u{7}c\u{9b}31md\u{7f}e\u{0}\r";
        assert_eq!(line(hostile), want);
        assert_eq!(block(hostile), want);
        assert_eq!(line("a\nb\tc"), r"a\nb\tc");
        assert_eq!(block("a\nb\tc"), "a\nb\tc");
    }

    #[test]
    fn table_cells_escape_pipes_and_newlines() {
        assert_eq!(cell("a|b\nc"), r"a\|b\nc");
        assert_eq!(cell("x\u{1b}|"), r"x\u{1b}\|");
    }
}
