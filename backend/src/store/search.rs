//! Search words: what a query looks for, and where in a text it is found.
//!
//! A query's words each match the words of a message that *start* with
//! them (so `사과` finds `사과를`, and `rel` finds `release`), ignoring case
//! and accents, and all of them must match. The SQLite store lets its
//! full-text index (FTS5, `unicode61`, diacritics removed) find the
//! candidates; both stores then use [`word_matches`] to say where the words
//! are, as character offsets the client marks up itself.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// `s` lower-cased, without accents: decomposed, combining marks dropped,
/// and composed again (so Hangul syllables stay syllables).
pub(crate) fn fold(s: &str) -> String {
    let bare: String = s.nfd().filter(|c| !is_combining_mark(*c)).collect();
    bare.nfc().flat_map(char::to_lowercase).collect()
}

/// The words of `text`: runs of letters and digits (with their combining
/// marks), as `(start, end)` character offsets.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    let mut start = None;
    let mut count = 0;
    for (i, c) in text.chars().enumerate() {
        let in_word = c.is_alphanumeric() || (start.is_some() && is_combining_mark(c));
        match (in_word, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                found.push((s, i));
                start = None;
            }
            _ => {}
        }
        count = i + 1;
    }
    if let Some(s) = start {
        found.push((s, count));
    }
    found
}

/// The words a query looks for, folded (at most 16; the rest are ignored).
pub fn query_words(query: &str) -> Vec<String> {
    let chars: Vec<char> = query.chars().collect();
    words(query)
        .into_iter()
        .map(|(s, e)| fold(&chars[s..e].iter().collect::<String>()))
        .filter(|w| !w.is_empty())
        .take(16)
        .collect()
}

/// Where the words of `text` that start with one of `query` are, as
/// `[start, end)` character offsets; `None` unless every query word starts
/// one of them.
pub fn word_matches(text: &str, query: &[String]) -> Option<Vec<[u32; 2]>> {
    let chars: Vec<char> = text.chars().collect();
    let mut matched = vec![false; query.len()];
    let mut spans = Vec::new();
    for (s, e) in words(text) {
        let word = fold(&chars[s..e].iter().collect::<String>());
        let mut hit = false;
        for (i, q) in query.iter().enumerate() {
            if word.starts_with(q.as_str()) {
                matched[i] = true;
                hit = true;
            }
        }
        if hit {
            spans.push([s as u32, e as u32]);
        }
    }
    matched.iter().all(|m| *m).then_some(spans)
}

/// The query in FTS5's syntax: each word a quoted prefix, all required.
pub(super) fn fts_query(words: &[String]) -> String {
    words
        .iter()
        .map(|w| format!("\"{}\"*", w.replace('"', "\"\"")))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_start_words_in_any_script_ignoring_case_and_accents() {
        let q = query_words("Rel 사과 jose");
        assert_eq!(q, vec!["rel", "사과", "jose"]);
        let text = "The RELEASE of José's 사과를 — release notes";
        let spans = word_matches(text, &q).unwrap();
        let marked: Vec<String> = spans
            .iter()
            .map(|[s, e]| {
                text.chars()
                    .skip(*s as usize)
                    .take((*e - *s) as usize)
                    .collect()
            })
            .collect();
        assert_eq!(marked, vec!["RELEASE", "José", "사과를", "release"]);
        assert_eq!(
            word_matches("release notes", &q),
            None,
            "every word must match"
        );
        assert_eq!(
            word_matches("prerelease", &query_words("release")),
            None,
            "word starts only"
        );
    }

    #[test]
    fn decomposed_accents_and_odd_queries() {
        let decomposed = "Jose\u{301}";
        assert_eq!(
            word_matches(decomposed, &query_words("josé")),
            Some(vec![[0, 5]])
        );
        assert!(query_words("!!! ...").is_empty());
        assert_eq!(query_words(&"a ".repeat(40)).len(), 16);
        assert_eq!(
            fts_query(&["a\"b".into(), "c".into()]),
            "\"a\"\"b\"* \"c\"*"
        );
    }
}
