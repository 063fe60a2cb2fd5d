//! Property tests for reactions: a reaction is exactly one emoji of the
//! Unicode list (skin tones included), nothing more and nothing less.

#![cfg(feature = "emoji")]

use parley_protocol::{validate_emoji, ErrorCode, ValidationError};
use proptest::prelude::*;

/// Every emoji of the list, with every skin tone it has.
fn every_emoji() -> Vec<String> {
    emojis::iter()
        .flat_map(|e| {
            let tones = e
                .skin_tones()
                .into_iter()
                .flatten()
                .map(|t| t.as_str().to_owned());
            std::iter::once(e.as_str().to_owned()).chain(tones)
        })
        .collect()
}

#[test]
fn every_emoji_of_the_list_is_one_reaction() {
    let all = every_emoji();
    assert!(all.len() > 3000, "{} emoji", all.len());
    for emoji in &all {
        assert_eq!(validate_emoji(emoji).as_deref(), Ok(emoji.as_str()));
    }
    for flag_or_family in ["🇰🇷", "👨‍👩‍👧", "❤️", "👍🏽", "🏳️‍🌈"]
    {
        assert!(validate_emoji(flag_or_family).is_ok(), "{flag_or_family}");
    }
}

#[test]
fn text_and_pairs_are_not() {
    for not_one in [
        "", " ", "a", "👍👍", "👍 ", " 👍", ":)", "👍a", "\u{200D}", "1", "#",
    ] {
        assert_eq!(
            validate_emoji(not_one),
            Err(ValidationError::NotAnEmoji),
            "{not_one:?}"
        );
        assert_eq!(
            validate_emoji(not_one).unwrap_err().code(),
            ErrorCode::InvalidEmoji
        );
    }
}

proptest! {
    #[test]
    fn an_emoji_with_anything_around_it_is_not_one(
        index in any::<prop::sample::Index>(),
        before in "\\PC{0,3}",
        after in "\\PC{0,3}",
    ) {
        let all = every_emoji();
        let emoji = index.get(&all);
        let around = format!("{before}{emoji}{after}");
        prop_assume!(!before.is_empty() || !after.is_empty());
        prop_assume!(emojis::get(&around).is_none());
        prop_assert!(validate_emoji(&around).is_err(), "{around:?}");
    }

    #[test]
    fn random_text_is_a_reaction_only_if_it_is_an_emoji(text in "\\PC{0,4}") {
        let accepted = validate_emoji(&text).is_ok();
        prop_assert_eq!(accepted, emojis::get(&text).is_some_and(|e| e.as_str() == text));
    }
}
