//! The pieces every HTML page of this tool shares: escaping, the document head with its
//! inline style sheet and content security policy, score colours and bars, anchor ids.
//!
//! A page loads nothing: no script, no style sheet, no image, no font. Its policy
//! (`default-src 'none'`) makes a browser refuse any load or script even if one slipped in.

use std::fmt::Write as _;

use crate::report::escape::controls;

/// `text` for HTML element content or a quoted attribute: control characters written visibly
/// (as the terminal report does), then `& < > " '` as character references.
pub fn esc(text: &str) -> String {
    html(&controls(text, false))
}

/// A block of text for a `<pre>`: as [`esc`], but newlines and tabs kept as its layout.
pub fn esc_block(text: &str) -> String {
    html(&controls(text, true))
}

fn html(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// An id for an anchor made of `parts`: ASCII letters, digits, `-` and `_` kept, anything else
/// a `-`, the parts joined by `--`.
pub fn anchor(parts: &[&str]) -> String {
    let slug = |p: &&str| p.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    parts.iter().map(slug).collect::<Vec<String>>().join("--")
}

/// The class that colours a score (percent of conforming cases).
pub fn score_class(pct: f64) -> &'static str {
    if pct >= 99.95 {
        "s-full"
    } else if pct >= 90.0 {
        "s-high"
    } else if pct >= 50.0 {
        "s-mid"
    } else {
        "s-low"
    }
}

/// Percent of `part` in `whole` (100 for an empty whole: nothing failed).
pub fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 100.0 } else { 100.0 * part as f64 / whole as f64 }
}

/// A horizontal bar `pct` percent full, coloured by [`score_class`], with the figure beside it.
pub fn bar(pct: f64) -> String {
    let pct = pct.clamp(0.0, 100.0);
    format!(
        "<div class=\"meter\"><div class=\"bar\" role=\"img\" aria-label=\"{pct:.1} %\">\
         <span class=\"fill {}\" style=\"width:{pct:.1}%\"></span></div><span class=\"pct\">{pct:.1} %</span></div>",
        score_class(pct)
    )
}

/// The document's start, up to and including `<body>`: `title` (plain text, escaped here).
pub fn head(title: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(title)
    );
    s
}

/// The document's end.
pub fn foot() -> &'static str {
    "</main>\n</body>\n</html>\n"
}

/// The style sheet, inline: system fonts, one column of readable width, coloured scores.
const STYLE: &str = r#"
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--pass:#1a7f37;--fail:#cf222e;--warn:#9a6700;
--full:#2da44e;--high:#8ccf7e;--mid:#e3b341;--low:#f47067}
*{box-sizing:border-box}
body{margin:0;color:var(--fg);background:#fff;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
main{max-width:1120px;margin:0 auto;padding:28px 32px 48px}
h1{font-size:26px;margin:0 0 4px}
h2{font-size:19px;margin:36px 0 12px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:16px;margin:0 0 6px}
p{margin:6px 0}
a{color:#0969da;text-decoration:none}
a:hover{text-decoration:underline}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular","DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:13px}
pre{background:var(--soft);border:1px solid var(--line);border-radius:6px;padding:10px 12px;margin:6px 0;
overflow-x:auto;white-space:pre-wrap;word-break:break-all}
.sub{color:var(--muted);margin:0 0 16px}
.verdict{border-radius:8px;padding:12px 16px;margin:16px 0;font-weight:600;font-size:16px;border:1px solid}
.verdict.pass{background:#dafbe1;border-color:#4ac26b;color:#116329}
.verdict.fail{background:#ffebe9;border-color:#ff8182;color:#a40e26}
.verdict.inconclusive,.verdict.interrupted{background:#fff8c5;border-color:#d4a72c;color:#7d4e00}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px;margin:14px 0}
.stat{border:1px solid var(--line);border-radius:8px;padding:8px 12px}
.stat b{display:block;font-size:22px;line-height:1.2;white-space:nowrap}
.stat span{color:var(--muted);font-size:13px;white-space:nowrap}
nav{margin:10px 0 0;font-size:14px}
.finding{border:1px solid var(--line);border-left:4px solid var(--fail);border-radius:6px;padding:12px 16px;margin:12px 0}
.finding.accepted{border-left-color:var(--muted)}
.meta{color:var(--muted);font-size:14px;margin:2px 0}
.tag{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;margin-right:6px;vertical-align:1px}
.tag.open{background:#ffebe9;color:#a40e26}
.tag.acc{background:#eaeef2;color:#424a53}
.label{font-size:13px;font-weight:600;color:var(--muted);margin:8px 0 0}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:14px}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:var(--soft);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.meter{display:flex;align-items:center;gap:8px;min-width:200px}
.bar{flex:1;height:10px;background:#eaeef2;border-radius:5px;overflow:hidden}
.fill{display:block;height:100%}
.pct{width:58px;white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums;font-size:13px}
.s-full{background:var(--full)}.s-high{background:var(--high)}.s-mid{background:var(--mid)}.s-low{background:var(--low)}
table.matrix th.num{text-align:center}
table.matrix td.cell,table.matrix td.none{border-left:2px solid #fff}
td.cell{text-align:center;white-space:nowrap;font-variant-numeric:tabular-nums}
td.cell a{color:var(--fg);display:block}
td.cell.s-full{background:#dafbe1}td.cell.s-high{background:#eef9e6}td.cell.s-mid{background:#fff3c4}td.cell.s-low{background:#ffe2df}
td.none{text-align:center;color:var(--muted)}
.diff .add{color:var(--pass)}.diff .del{color:var(--fail)}.diff .hunk{color:#8250df}
details{margin:6px 0}
summary{cursor:pointer;color:var(--muted)}
footer{margin-top:40px;color:var(--muted);font-size:13px}
"#;
