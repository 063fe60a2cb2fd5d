//! Finding links in message text.
//!
//! Messages are always rendered as text nodes, never as HTML; this only
//! splits a text into plain runs and `http(s)` links so the links can be
//! rendered as anchors. Anything else that looks like a URL (`javascript:`,
//! `data:`) stays plain text.

/// A run of a message's text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment<'a> {
    /// Plain text.
    Text(&'a str),
    /// An `http://` or `https://` link.
    Link(&'a str),
}

/// Punctuation that ends a sentence rather than a URL.
fn is_trailing_punctuation(c: char) -> bool {
    matches!(
        c,
        '.' | ',' | '!' | '?' | ':' | ';' | ')' | ']' | '}' | '\'' | '"'
    )
}

/// Splits `text` into plain runs and links.
pub fn segments(text: &str) -> Vec<Segment<'_>> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find_link_start(rest) {
        let tail = &rest[start..];
        let mut end = tail.find(char::is_whitespace).unwrap_or(tail.len());
        while end > 0 && tail[..end].ends_with(is_trailing_punctuation) {
            end -= tail[..end].chars().next_back().map_or(1, char::len_utf8);
        }
        let link = &tail[..end];
        if link.len() <= "https://".len() {
            // A bare scheme is not a link; keep it as text and move on.
            out.push(Segment::Text(&rest[..start + tail.len().min(8)]));
            rest = &rest[start + tail.len().min(8)..];
            continue;
        }
        if start > 0 {
            out.push(Segment::Text(&rest[..start]));
        }
        out.push(Segment::Link(link));
        rest = &tail[end..];
    }
    if !rest.is_empty() {
        out.push(Segment::Text(rest));
    }
    out
}

fn find_link_start(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")]
        .into_iter()
        .flatten()
        .min()
}

#[cfg(test)]
mod tests {
    use super::Segment::{Link, Text};
    use super::*;

    #[test]
    fn finds_http_and_https_links() {
        assert_eq!(
            segments("see https://example.com/a?b=1, and http://x.org."),
            vec![
                Text("see "),
                Link("https://example.com/a?b=1"),
                Text(", and "),
                Link("http://x.org"),
                Text(".")
            ]
        );
        assert_eq!(
            segments("(https://rust-lang.org)"),
            vec![Text("("), Link("https://rust-lang.org"), Text(")")]
        );
    }

    #[test]
    fn leaves_other_schemes_and_markup_as_text() {
        assert_eq!(
            segments("javascript:alert(1)"),
            vec![Text("javascript:alert(1)")]
        );
        assert_eq!(
            segments("<img src=x onerror=alert(1)>"),
            vec![Text("<img src=x onerror=alert(1)>")]
        );
        assert_eq!(
            segments("https:// nothing"),
            vec![Text("https://"), Text(" nothing")]
        );
        assert_eq!(
            segments("한국어 https://例え.jp/パス 끝"),
            vec![Text("한국어 "), Link("https://例え.jp/パス"), Text(" 끝")]
        );
    }
}
