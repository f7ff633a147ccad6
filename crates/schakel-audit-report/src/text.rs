//! Small text helpers: HTML escaping and scrubbing of free text.

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
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

/// What replaces a number that could be a BSN.
pub(crate) const REDACTED: &str = "[9-digit number removed]";

/// Makes a free-text value (a user id, a role, a legal basis, an organisation
/// name) safe to print: control characters become spaces, so one value stays
/// one line, and every run of exactly nine digits is removed, because it could
/// be a BSN (DESIGN.md §7 property 2). Entries never should hold one, but a
/// calling system may pass anything as a user id; the report is the last place
/// to stop it. OINs (20 digits), dates and times are not affected.
pub(crate) fn scrub(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() == 9 {
            out.push_str(REDACTED);
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        flush(&mut digits, &mut out);
        out.push(if c.is_control() { ' ' } else { c });
    }
    flush(&mut digits, &mut out);
    out
}

/// Splits text into lines of at most `width` characters at spaces; a word
/// longer than `width` gets a line of its own.
pub(crate) fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        let needed = if line.is_empty() { 0 } else { 1 } + word.chars().count();
        if !line.is_empty() && line.chars().count() + needed > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html("<script>alert('x')</script>"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
        );
        assert_eq!(
            escape_html("a & b \"c\" <d>"),
            "a &amp; b &quot;c&quot; &lt;d&gt;"
        );
        assert_eq!(escape_html("&amp;"), "&amp;amp;");
        assert_eq!(
            escape_html("Gemeente 's-Hertogenbosch"),
            "Gemeente &#39;s-Hertogenbosch"
        );
        assert_eq!(escape_html("plain é"), "plain é");
    }

    #[test]
    fn scrub_removes_nine_digit_runs_only() {
        assert_eq!(scrub("123456782"), REDACTED);
        assert_eq!(scrub("bsn 111222333 here"), format!("bsn {REDACTED} here"));
        assert_eq!(scrub("u123456782x"), format!("u{REDACTED}x"));
        // 8 and 10 digits, OINs and dates stay.
        assert_eq!(scrub("12345678"), "12345678");
        assert_eq!(scrub("1234567890"), "1234567890");
        assert_eq!(scrub("00000001999990014000"), "00000001999990014000");
        assert_eq!(scrub("2026-03-02"), "2026-03-02");
    }

    #[test]
    fn scrub_keeps_one_line() {
        assert_eq!(scrub("a\nb\tc"), "a b c");
    }

    #[test]
    fn wraps_at_spaces() {
        assert_eq!(wrap("aa bb cc", 5), vec!["aa bb", "cc"]);
        assert_eq!(wrap("aa bb cc", 8), vec!["aa bb cc"]);
        assert_eq!(wrap("a verylongword b", 4), vec!["a", "verylongword", "b"]);
        assert_eq!(wrap("", 10), vec![""]);
    }
}
