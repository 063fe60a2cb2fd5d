//! Finding links in message text, and the little bits of an author's
//! avatar (its letter and colour).
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

/// The letter shown in an author's avatar: the first letter or digit of the
/// nickname, upper-cased (any script), or `?`.
pub fn avatar_letter(nick: &str) -> String {
    nick.chars()
        .find(|c| c.is_alphanumeric())
        .map_or_else(|| "?".to_owned(), |c| c.to_uppercase().collect())
}

/// How many avatar colours the stylesheet has (`.avatar.c0` … `.avatar.c11`).
pub const AVATAR_COLOURS: u32 = 12;

/// The avatar colour class of an author, the same for a nickname on every
/// page and every visit (FNV-1a of the lower-cased nickname). A class rather
/// than an inline style, so a strict Content-Security-Policy (as `trunk
/// serve` sends) does not block it.
pub fn avatar_class(nick: &str) -> String {
    let hash = nick.to_lowercase().bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    format!("c{}", hash % AVATAR_COLOURS)
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

    #[test]
    fn avatars_are_stable_and_cover_any_script() {
        assert_eq!(avatar_letter("mina"), "M");
        assert_eq!(avatar_letter("_민아"), "민");
        assert_eq!(avatar_letter("..."), "?");
        assert_eq!(avatar_class("Mina"), avatar_class("mina"));
        assert_ne!(avatar_class("mina"), avatar_class("joon"));
        let classes: std::collections::HashSet<String> = (0..200)
            .map(|i| avatar_class(&format!("user{i}")))
            .collect();
        assert_eq!(
            classes.len(),
            AVATAR_COLOURS as usize,
            "every colour is used"
        );
    }
}
