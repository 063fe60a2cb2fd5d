//! Sections of docs/benchmarks.md, each owned by a different writer:
//! `parley-report` writes the file from `make bench`'s results, while the
//! soak (`make soak`), the join storms (`parley-report --only-storm`) and
//! the browser benchmark (scripts/bench-render.sh) each replace one `## `
//! section of their own. These helpers find a section by its heading line
//! and put a new one in its place (or at the end), leaving the rest as it
//! was, so that no writer loses another's section.

/// Where the section headed exactly `heading` starts in `doc`.
fn start_of(doc: &str, heading: &str) -> Option<usize> {
    if doc.starts_with(&format!("{heading}\n")) {
        Some(0)
    } else {
        doc.find(&format!("\n{heading}\n")).map(|i| i + 1)
    }
}

/// `doc` with the section headed `heading` replaced by `section` (which
/// starts with that heading), or `section` added at the end if there is
/// none; the rest is left as it was.
pub fn replace(doc: &str, heading: &str, section: &str) -> String {
    let section = section.trim_end();
    let Some(start) = start_of(doc, heading) else {
        return format!("{}\n\n{section}\n", doc.trim_end());
    };
    let after = start + heading.len();
    match doc[after..].find("\n## ") {
        Some(next) => format!("{}{section}\n\n{}", &doc[..start], &doc[after + next + 1..]),
        None => format!("{}{section}\n", &doc[..start]),
    }
}

/// The section headed exactly `heading` in `doc`, if it has one (through
/// the next `## `).
pub fn find<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let start = start_of(doc, heading)?;
    let after = start + heading.len();
    let end = doc[after..]
        .find("\n## ")
        .map_or(doc.len(), |i| after + i + 1);
    Some(doc[start..end].trim_end())
}

/// The first heading line of `doc` that starts with `prefix` (for
/// sections whose heading carries a number, such as the browser
/// benchmark's "## Browser app: rendering a 5,000-line room").
pub fn heading_starting<'a>(doc: &'a str, prefix: &str) -> Option<&'a str> {
    doc.lines().find(|l| l.starts_with(prefix))
}

/// Carries the sections headed `headings` (exact heading lines) over
/// from `old` into `new`: each replaces its namesake in `new`, or is added
/// at the end in the order given.
pub fn carry_over(new: String, old: &str, headings: &[&str]) -> String {
    headings
        .iter()
        .fold(new, |doc, heading| match find(old, heading) {
            Some(section) => replace(&doc, heading, section),
            None => doc,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "## Two";

    #[test]
    fn a_section_is_added_at_the_end_once_then_replaced() {
        let doc = "# B\n\n## One\n\ntext\n";
        let once = replace(doc, H, "## Two\n\nfirst\n");
        assert_eq!(once, "# B\n\n## One\n\ntext\n\n## Two\n\nfirst\n");
        let twice = replace(&once, H, "## Two\n\nsecond");
        assert_eq!(twice, "# B\n\n## One\n\ntext\n\n## Two\n\nsecond\n");
        assert_eq!(find(&twice, H), Some("## Two\n\nsecond"));
        assert_eq!(find(doc, H), None);
    }

    #[test]
    fn a_section_in_the_middle_stays_where_it_stands() {
        let doc = "# B\n\n## Two\n\nold\n\n## Three\n\nkept\n";
        assert_eq!(
            replace(doc, H, "## Two\n\nnew\n"),
            "# B\n\n## Two\n\nnew\n\n## Three\n\nkept\n"
        );
        assert_eq!(find(doc, H), Some("## Two\n\nold"));
    }

    #[test]
    fn a_heading_that_only_starts_the_same_is_another_section() {
        let doc = "# B\n\n## Two and a half\n\nx\n";
        assert_eq!(find(doc, H), None);
        assert_eq!(heading_starting(doc, "## Two"), Some("## Two and a half"));
    }

    #[test]
    fn carried_sections_keep_their_place_or_come_last_in_order() {
        let old = "# B\n\n## A\n\nold a\n\n## Two\n\nold two\n\n## Z\n\nold z\n";
        let new = "# B\n\n## A\n\nnew a\n\n## Two\n\nnew two\n".to_owned();
        let carried = carry_over(new, old, &["## Z", H, "## Missing"]);
        assert_eq!(
            carried,
            "# B\n\n## A\n\nnew a\n\n## Two\n\nold two\n\n## Z\n\nold z\n"
        );
    }
}
