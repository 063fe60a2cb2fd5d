//! The Markdown subset is safe for any input: a property test over texts
//! made of Markdown's delimiters, markup and scheme tricks (and over any
//! text at all) shows that the tree holds only the allowed elements, that
//! every link goes to an `http(s)` address and holds no other link, that
//! nesting stays bounded, and that the text shown is the message's own
//! (a subsequence of it: nothing invented, markup never interpreted).
//! And the edge cases, one by one.

use parley_frontend::markdown::Node::Text;
use parley_frontend::markdown::{parse, plain, text_of, Node, Tag, ALLOWED, MAX_DEPTH};
use proptest::prelude::*;

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

/// Pieces that exercise every rule of the parser, and the usual tricks.
const PIECES: &[&str] = &[
    "*",
    "**",
    "***",
    "_",
    "__",
    "`",
    "``",
    "```",
    "\n",
    "> ",
    ">",
    "[",
    "]",
    "(",
    ")",
    "](",
    "\\",
    " ",
    "a",
    "word",
    "é",
    "한국",
    "😀",
    "https://x.org/p",
    "http://a.b",
    "HTTPS://Y.Z",
    "javascript:alert(1)",
    "JaVaScRiPt:",
    "data:text/html,<script>",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<b>",
    "&lt;",
    "\"",
    "'",
    "vbscript:",
    "//evil.org",
    "[x](javascript:alert(1))",
    "[y](https://ok.org)",
    "```js\n",
    "\t",
];

fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..40).prop_map(|p| p.concat())
}

/// Walks the tree; fails on anything the page must never build.
fn check(nodes: &[Node], depth: usize, in_link: bool) -> Result<(), String> {
    if depth > 3 * MAX_DEPTH as usize {
        return Err(format!("nested {depth} deep"));
    }
    for node in nodes {
        if let Node::Element {
            tag,
            href,
            children,
        } = node
        {
            if !ALLOWED.contains(&tag.name()) {
                return Err(format!("element {}", tag.name()));
            }
            match (tag, href) {
                (Tag::A, Some(href)) => {
                    let lower = href.to_ascii_lowercase();
                    if !(lower.starts_with("https://") || lower.starts_with("http://")) {
                        return Err(format!("link to {href:?}"));
                    }
                    if href.chars().any(|c| c.is_whitespace() || c.is_control()) {
                        return Err(format!("link with spaces {href:?}"));
                    }
                    if in_link {
                        return Err("a link inside a link".into());
                    }
                }
                (Tag::A, None) => return Err("a link without an address".into()),
                (_, Some(_)) => return Err(format!("{} with an address", tag.name())),
                _ => {}
            }
            check(children, depth + 1, in_link || *tag == Tag::A)?;
        }
    }
    Ok(())
}

fn is_subsequence(shown: &str, of: &str) -> bool {
    let mut source = of.chars();
    shown.chars().all(|c| source.by_ref().any(|s| s == c))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn markdown_never_yields_anything_outside_the_allowed_set(text in markdownish()) {
        let tree = parse(&text);
        prop_assert_eq!(check(&tree, 0, false), Ok(()), "{:?} gave {:?}", text, tree);
        prop_assert!(is_subsequence(&text_of(&tree), &text), "{:?} shows {:?}", text, text_of(&tree));
    }

    #[test]
    fn any_text_at_all_is_safe(text in any::<String>()) {
        let tree = parse(&text);
        prop_assert_eq!(check(&tree, 0, false), Ok(()), "{:?} gave {:?}", text, tree);
        prop_assert!(is_subsequence(&text_of(&tree), &text));
    }
}

#[test]
fn deep_nesting_and_long_delimiter_runs_stay_bounded_and_fast() {
    let deep = "*a **b ".repeat(200) + &"** c*".repeat(200);
    let long = "*".repeat(5000) + &"_".repeat(5000) + &"[".repeat(2000) + &"`".repeat(3000);
    for text in [deep, long] {
        let started = std::time::Instant::now();
        let tree = parse(&text);
        assert_eq!(check(&tree, 0, false), Ok(()));
        assert!(
            started.elapsed().as_secs() < 2,
            "parsing took {:?}",
            started.elapsed()
        );
    }
}

// The edge cases.

fn t(s: &str) -> Node {
    Text(s.into())
}

fn p(children: Vec<Node>) -> Node {
    element(Tag::P, children)
}

#[test]
fn emphasis_code_and_links() {
    assert_eq!(
        parse("**bold** and *it* `x*y*` [site](https://a.org/b_(c))."),
        vec![p(vec![
            element(Tag::Strong, vec![t("bold")]),
            t(" and "),
            element(Tag::Em, vec![t("it")]),
            t(" "),
            element(Tag::Code, vec![t("x*y*")]),
            t(" "),
            link("https://a.org/b_(c)", vec![t("site")]),
            t("."),
        ])]
    );
}

#[test]
fn nested_emphasis() {
    let em = |c| element(Tag::Em, c);
    let strong = |c| element(Tag::Strong, c);
    assert_eq!(
        parse("***both***"),
        vec![p(vec![strong(vec![em(vec![t("both")])])])]
    );
    assert_eq!(
        parse("**bold *it***"),
        vec![p(vec![strong(vec![t("bold "), em(vec![t("it")])])])]
    );
    assert_eq!(
        parse("*a **b** c*"),
        vec![p(vec![em(vec![t("a "), strong(vec![t("b")]), t(" c")])])]
    );
    assert_eq!(
        parse("snake_case_name * 2 * 3"),
        vec![p(vec![t("snake_case_name * 2 * 3")])]
    );
    assert_eq!(parse("**not closed"), vec![p(vec![t("**not closed")])]);
}

#[test]
fn only_http_links_become_links() {
    for text in [
        "[x](javascript:alert(1))",
        "[x](JAVASCRIPT:alert(1))",
        "[x](data:text/html,<b>)",
        "[x](https://)",
    ] {
        let tree = parse(text);
        assert_eq!(text_of(&tree), text, "{text}");
        assert!(
            !format!("{tree:?}").contains("href: Some"),
            "{text}: {tree:?}"
        );
    }
    // A link's label never holds another link.
    assert_eq!(
        parse("[https://a.org](https://b.org)"),
        vec![p(vec![link("https://b.org", vec![t("https://a.org")])])]
    );
}

#[test]
fn fences_quotes_and_markup_as_text() {
    assert_eq!(
        parse("look:\n```rust\nlet x = *y*;\n```\n> quoted *it*\n> more\nafter <b>hi</b>"),
        vec![
            p(vec![t("look:")]),
            element(Tag::Pre, vec![element(Tag::Code, vec![t("let x = *y*;")])]),
            element(
                Tag::Blockquote,
                vec![p(vec![
                    t("quoted "),
                    element(Tag::Em, vec![t("it")]),
                    t("\nmore")
                ])]
            ),
            p(vec![t("after <b>hi</b>")]),
        ]
    );
    // An unclosed fence runs to the end; ```x``` on one line is code.
    assert_eq!(
        parse("```\nnever closed\n**x**"),
        vec![element(
            Tag::Pre,
            vec![element(Tag::Code, vec![t("never closed\n**x**")])]
        )]
    );
    assert_eq!(
        parse("```x```"),
        vec![p(vec![element(Tag::Code, vec![t("x")])])]
    );
    assert_eq!(parse("\\*not it\\*"), vec![p(vec![t("*not it*")])]);
}

#[test]
fn quotes_read_without_their_marks() {
    assert_eq!(plain("first try, **edited**"), "first try, edited");
    assert_eq!(plain("see [the notes](https://a.org)"), "see the notes");
    assert_eq!(plain("```rust"), "```rust");
}
