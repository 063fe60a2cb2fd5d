//! A safe Markdown subset for message text: `**bold**`, `*italic*` (and
//! `_italic_`), `` `code` ``, fenced code blocks, `> quotes`, and
//! `[links](https://…)`, with bare `http(s)` links made links as before.
//!
//! The text is parsed into a tree of [`Node`]s whose elements can only be
//! the [`ALLOWED`] ones, and the page builds its DOM from that tree (never
//! from HTML), so nothing a message says can become other markup: `<b>`
//! stays the three characters `<b>`. A link's address must be `http://` or
//! `https://`; `[x](javascript:…)` stays text. Emphasis nests at most
//! [`MAX_DEPTH`] deep, and an unclosed fence runs to the end of the message
//! (as in CommonMark). Pure, and tested natively (with a property test in
//! `tests/markdown.rs`).

use crate::text::{link_len, scheme_len};

/// The only elements a message can produce.
pub const ALLOWED: [&str; 7] = ["p", "strong", "em", "code", "pre", "blockquote", "a"];

/// How deep emphasis and links nest; deeper delimiters stay text.
pub const MAX_DEPTH: u8 = 8;

/// An element of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tag {
    /// A paragraph.
    P,
    /// `**bold**`.
    Strong,
    /// `*italic*`.
    Em,
    /// `` `code` `` (inside [`Tag::Pre`] too).
    Code,
    /// A code block.
    Pre,
    /// `> quoted`.
    Blockquote,
    /// A link (with an `http(s)` address).
    A,
}

impl Tag {
    /// The element's name.
    pub fn name(self) -> &'static str {
        match self {
            Tag::P => "p",
            Tag::Strong => "strong",
            Tag::Em => "em",
            Tag::Code => "code",
            Tag::Pre => "pre",
            Tag::Blockquote => "blockquote",
            Tag::A => "a",
        }
    }
}

/// A piece of a parsed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// Text, shown as it is.
    Text(String),
    /// An allowed element.
    Element {
        /// Which.
        tag: Tag,
        /// A link's address (always `http://` or `https://`).
        href: Option<String>,
        /// What it holds.
        children: Vec<Node>,
    },
}

fn element(tag: Tag, children: Vec<Node>) -> Node {
    Node::Element {
        tag,
        href: None,
        children,
    }
}

fn link(href: &str, children: Vec<Node>) -> Node {
    Node::Element {
        tag: Tag::A,
        href: Some(href.to_owned()),
        children,
    }
}

/// Parses a message's text.
pub fn parse(text: &str) -> Vec<Node> {
    let mut out = Vec::new();
    blocks(text, false, &mut out);
    out
}

/// The length of the backtick run that opens a fence on `line`, if it does.
fn fence_open(line: &str) -> Option<usize> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let run = trimmed.len() - trimmed.trim_start_matches('`').len();
    (run >= 3 && !trimmed[run..].contains('`')).then_some(run)
}

fn fence_closes(line: &str, run: usize) -> bool {
    let trimmed = line.trim();
    trimmed.len() >= run && trimmed.bytes().all(|b| b == b'`')
}

/// Splits text into paragraphs, code blocks and (outside a quote) quotes.
fn blocks(text: &str, quoted: bool, out: &mut Vec<Node>) {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut paragraph: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if let Some(run) = fence_open(lines[i]) {
            flush_paragraph(&mut paragraph, out);
            let start = i + 1;
            i = start;
            while i < lines.len() && !fence_closes(lines[i], run) {
                i += 1;
            }
            let code = lines[start..i.min(lines.len())].join("\n");
            out.push(element(
                Tag::Pre,
                vec![element(Tag::Code, vec![Node::Text(code)])],
            ));
            i += 1;
        } else if !quoted && lines[i].starts_with('>') {
            flush_paragraph(&mut paragraph, out);
            let mut inner = Vec::new();
            while i < lines.len() && lines[i].starts_with('>') {
                let rest = &lines[i][1..];
                inner.push(rest.strip_prefix(' ').unwrap_or(rest));
                i += 1;
            }
            let mut children = Vec::new();
            blocks(&inner.join("\n"), true, &mut children);
            out.push(element(Tag::Blockquote, children));
        } else {
            paragraph.push(lines[i]);
            i += 1;
        }
    }
    flush_paragraph(&mut paragraph, out);
}

fn flush_paragraph(lines: &mut Vec<&str>, out: &mut Vec<Node>) {
    let text = lines.join("\n");
    lines.clear();
    let text = text.trim_matches('\n');
    if !text.trim().is_empty() {
        out.push(element(Tag::P, inline(text, true, 0)));
    }
}

/// How many `c` bytes start `s` at `at`.
fn run(s: &[u8], at: usize, c: u8) -> usize {
    s[at..].iter().take_while(|&&b| b == c).count()
}

/// Where the next run of exactly `n` backticks starts, from `from`.
fn closing_backticks(s: &str, from: usize, n: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut j = from;
    while j < b.len() {
        if b[j] == b'`' {
            let m = run(b, j, b'`');
            if m == n {
                return Some(j);
            }
            j += m;
        } else {
            j += 1;
        }
    }
    None
}

fn char_before(s: &str, at: usize) -> Option<char> {
    s[..at].chars().next_back()
}

fn char_at(s: &str, at: usize) -> Option<char> {
    s.get(at..).and_then(|r| r.chars().next())
}

/// Whether a run of `n` delimiters `d` at `at` can open emphasis.
fn can_open(s: &str, at: usize, n: usize, d: u8) -> bool {
    char_at(s, at + n).is_some_and(|c| !c.is_whitespace())
        && (d != b'_' || !char_before(s, at).is_some_and(char::is_alphanumeric))
}

/// Whether a run of `m` delimiters `d` at `at` can close emphasis.
fn can_close(s: &str, at: usize, m: usize, d: u8) -> bool {
    char_before(s, at).is_some_and(|c| !c.is_whitespace())
        && (d != b'_' || !char_at(s, at + m).is_some_and(char::is_alphanumeric))
}

/// Emphasis opening at `at`: the node and where the text goes on.
fn emphasis(s: &str, at: usize, links: bool, depth: u8) -> Option<(Node, usize)> {
    let b = s.as_bytes();
    let d = b[at];
    let n = run(b, at, d);
    if n > 3 || !can_open(s, at, n, d) {
        return None;
    }
    let mut j = at + n;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'`' => {
                let m = run(b, j, b'`');
                j = closing_backticks(s, j + m, m).map_or(j + m, |end| end + m);
            }
            c if c == d => {
                let m = run(b, j, d);
                let fits = match n {
                    1 => m == 1 || m >= 3,
                    2 => m >= 2,
                    _ => m >= 3,
                };
                if fits && can_close(s, j, m, d) {
                    let inner_end = if n == 3 { j } else { j + m - n };
                    let inner = &s[at + n..inner_end];
                    if inner.trim().is_empty() {
                        return None;
                    }
                    let children = inline(inner, links, depth + 1);
                    let node = match n {
                        1 => element(Tag::Em, children),
                        2 => element(Tag::Strong, children),
                        _ => element(Tag::Strong, vec![element(Tag::Em, children)]),
                    };
                    let next = if n == 3 { j + 3 } else { j + m };
                    return Some((node, next));
                }
                j += m;
            }
            _ => j += 1,
        }
    }
    None
}

/// A `[label](http…)` link at `at`: the node and where the text goes on.
fn md_link(s: &str, at: usize, depth: u8) -> Option<(Node, usize)> {
    let close = at + 1 + s[at + 1..].find(']')?;
    let label = &s[at + 1..close];
    let rest = s[close + 1..].strip_prefix('(')?;
    let start = close + 2;
    let mut parens = 0usize;
    let mut end = None;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => parens += 1,
            ')' if parens == 0 => {
                end = Some(start + i);
                break;
            }
            ')' => parens -= 1,
            c if c.is_whitespace() || c.is_control() => return None,
            _ => {}
        }
    }
    let end = end?;
    let href = &s[start..end];
    if label.trim().is_empty() || scheme_len(href).is_none_or(|n| n == href.len()) {
        return None;
    }
    Some((link(href, inline(label, false, depth + 1)), end + 1))
}

/// Parses inline text: code spans, emphasis, links (when `links`: not
/// inside a link's own label) and bare `http(s)` links.
fn inline(s: &str, links: bool, depth: u8) -> Vec<Node> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut text = String::new();
    let flush = |text: &mut String, out: &mut Vec<Node>| {
        if !text.is_empty() {
            out.push(Node::Text(std::mem::take(text)));
        }
    };
    let mut i = 0;
    while i < b.len() {
        let found = match b[i] {
            b'\\' if b.get(i + 1).is_some_and(u8::is_ascii_punctuation) => {
                text.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            b'`' => {
                let n = run(b, i, b'`');
                match closing_backticks(s, i + n, n) {
                    Some(end) => {
                        let code = element(Tag::Code, vec![Node::Text(s[i + n..end].to_owned())]);
                        Some((code, end + n))
                    }
                    None => {
                        text.push_str(&s[i..i + n]);
                        i += n;
                        continue;
                    }
                }
            }
            b'*' | b'_' if depth < MAX_DEPTH => emphasis(s, i, links, depth),
            b'[' if links && depth < MAX_DEPTH => md_link(s, i, depth),
            b'h' | b'H' if links => link_len(&s[i..]).map(|len| {
                let url = &s[i..i + len];
                (link(url, vec![Node::Text(url.to_owned())]), i + len)
            }),
            _ => None,
        };
        match found {
            Some((node, next)) => {
                flush(&mut text, &mut out);
                out.push(node);
                i = next;
            }
            None => {
                // A delimiter run that opens nothing is text as a whole.
                let c = b[i];
                let n = if matches!(c, b'*' | b'_') {
                    run(b, i, c)
                } else {
                    0
                };
                let len = if n > 0 {
                    n
                } else {
                    s[i..].chars().next().map_or(1, char::len_utf8)
                };
                text.push_str(&s[i..i + len]);
                i += len;
            }
        }
    }
    flush(&mut text, &mut out);
    out
}

/// What a line of Markdown reads as, without its marks (for quotes of
/// answered messages); the text itself when that leaves nothing.
pub fn plain(text: &str) -> String {
    let shown = text_of(&parse(text));
    if shown.trim().is_empty() {
        text.to_owned()
    } else {
        shown
    }
}

/// The text a tree shows, in order (for tests and the page's labels).
pub fn text_of(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(t) => out.push_str(t),
            Node::Element { children, .. } => out.push_str(&text_of(children)),
        }
    }
    out
}
