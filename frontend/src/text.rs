//! Finding links in message text, marking a search's matches, and the
//! little bits of an author's avatar (its letter and colour).
//!
//! Messages are never rendered as HTML: this splits a text into plain runs
//! and `http(s)` links (the Markdown of `markdown.rs` uses the same rule),
//! so the links can be rendered as anchors. Anything else that looks like a
//! URL (`javascript:`, `data:`) stays plain text.

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

/// The length of `s`'s scheme if it starts with `http://` or `https://`
/// (in any case).
pub fn scheme_len(s: &str) -> Option<usize> {
    ["https://", "http://"]
        .into_iter()
        .find(|scheme| {
            s.get(..scheme.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(scheme))
        })
        .map(str::len)
}

/// The length in bytes of the `http(s)` link at the start of `s`: up to
/// the first white space, less the punctuation that ends a sentence.
/// `None` when `s` does not start with a link (or has a bare scheme).
pub fn link_len(s: &str) -> Option<usize> {
    let scheme = scheme_len(s)?;
    let mut end = s.find(char::is_whitespace).unwrap_or(s.len());
    while end > 0 && s[..end].ends_with(is_trailing_punctuation) {
        end -= s[..end].chars().next_back().map_or(1, char::len_utf8);
    }
    (end > scheme).then_some(end)
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

/// Splits a search hit's `text` into runs, each marked (`true`) when it is
/// one of the `matches`: `[start, end)` offsets in characters (Unicode
/// scalar values). Offsets out of order, overlapping or past the end are
/// mended rather than trusted.
pub fn marked(text: &str, matches: &[[u32; 2]]) -> Vec<(bool, String)> {
    let chars: Vec<char> = text.chars().collect();
    let mut ranges: Vec<(usize, usize)> = matches
        .iter()
        .map(|[a, b]| {
            (
                (*a as usize).min(chars.len()),
                (*b as usize).min(chars.len()),
            )
        })
        .filter(|(a, b)| a < b)
        .collect();
    ranges.sort_unstable();
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut at = 0;
    for (start, end) in ranges {
        let start = start.max(at);
        if start >= end {
            continue;
        }
        if start > at {
            out.push((false, chars[at..start].iter().collect()));
        }
        let run: String = chars[start..end].iter().collect();
        match out.last_mut() {
            // Overlapping or touching matches make one mark.
            Some((true, last)) if start == at => last.push_str(&run),
            _ => out.push((true, run)),
        }
        at = end;
    }
    if at < chars.len() {
        out.push((false, chars[at..].iter().collect()));
    }
    out
}

/// The `@` name being typed at the caret, for the composer's completion:
/// the byte offset of the `@` and what follows it up to the caret.
/// `caret` is in UTF-16 code units (the browser's `selectionStart`). The
/// `@` must start the text or follow white space; the name is letters,
/// digits, `_`, `-` and `.`.
pub fn mention_at(text: &str, caret: u32) -> Option<(usize, String)> {
    let mut units = 0u32;
    let end = text
        .char_indices()
        .find(|(_, c)| {
            let here = units >= caret;
            units += c.len_utf16() as u32;
            here
        })
        .map_or(text.len(), |(i, _)| i);
    let before = &text[..end];
    let start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .last()
        .map_or(end, |(i, _)| i);
    let at = start
        .checked_sub(1)
        .filter(|&i| before.as_bytes()[i] == b'@')?;
    let starts_word = before[..at]
        .chars()
        .next_back()
        .is_none_or(char::is_whitespace);
    starts_word.then(|| (at, before[start..].to_owned()))
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
    fn search_matches_are_marked_by_characters() {
        assert_eq!(
            marked("the release notes", &[[4, 11], [12, 17]]),
            vec![
                (false, "the ".into()),
                (true, "release".into()),
                (false, " ".into()),
                (true, "notes".into())
            ]
        );
        // Characters, not bytes; bad offsets mended.
        assert_eq!(
            marked("사과를 먹다", &[[0, 2], [1, 3], [9, 20], [5, 4]]),
            vec![(true, "사과를".into()), (false, " 먹다".into())]
        );
        assert_eq!(marked("", &[[0, 1]]), vec![]);
    }

    #[test]
    fn the_name_being_typed_after_an_at() {
        assert_eq!(mention_at("hi @mi", 6), Some((3, "mi".into())));
        assert_eq!(mention_at("@", 1), Some((0, String::new())));
        assert_eq!(mention_at("hi @mi there", 6), Some((3, "mi".into())));
        assert_eq!(mention_at("hi @mi there", 12), None);
        assert_eq!(mention_at("mail@host", 9), None, "not after a word");
        // The caret counts UTF-16 units: 😀 is two.
        assert_eq!(mention_at("😀 @민아", 6), Some((5, "민아".into())));
        assert_eq!(mention_at("😀 @민아", 4), Some((5, "".into())));
    }

    #[test]
    fn link_lengths_follow_the_same_rule_as_segments() {
        assert_eq!(link_len("https://x.org/a)."), Some(15));
        assert_eq!(link_len("HTTP://x.org"), Some(12));
        assert_eq!(link_len("https:// x"), None);
        assert_eq!(link_len("http://"), None);
        assert_eq!(link_len("javascript:alert(1)"), None);
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
