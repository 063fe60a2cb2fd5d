//! Nicknames and room names: which are valid, and when two are the same.
//!
//! A name is what people recognise each other and their rooms by, so two
//! names that *look* the same must *be* the same: `alice`, `Alice`,
//! `аlice` (Cyrillic а) and `ALICE` are one nickname. The rules follow
//! Unicode's security mechanisms for identifiers (UTS #39), as IRC servers
//! such as Ergo do:
//!
//! - a name is normalised to NFC (so `José` typed with a combining accent is
//!   the `José` typed with `é`), its white space trimmed and, in nicknames,
//!   each run of it made one space;
//! - its characters are letters, digits and combining marks that UTS #39
//!   recommends for identifiers, in any script (Devanagari, Tamil, Thai,
//!   Hangul…), and `_ - .`: no invisible characters (zero-width, fillers
//!   such as U+3164, bidi controls), no symbols, no compatibility forms
//!   such as fullwidth `ａ`;
//! - it is written in one script, or at most at UTS #39's "highly
//!   restrictive" level (Latin with Chinese, Japanese or Korean), so
//!   `ruѕt` (Latin with a Cyrillic ѕ) is refused;
//! - two names are the same when their [`name_key`]s are equal (the UTS #39
//!   skeleton of the case-folded name) and look alike when any of their
//!   [`look_alike_keys`] are (which also catches `AIice`, a capital I for
//!   an l).
//!
//! The server and the browser app both call these functions.

use thiserror::Error;
use unicode_normalization::UnicodeNormalization;
use unicode_script::{Script, UnicodeScript};
use unicode_security::general_security_profile::IdentifierType;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

use crate::chars::{is_bidi_control, is_default_ignorable};

/// Longest nickname, in characters (Unicode scalar values) after
/// normalising.
pub const MAX_NICK_CHARS: usize = 32;
/// Longest room name, in characters after normalising.
pub const MAX_ROOM_CHARS: usize = 64;

/// Which rule a nickname or room name broke.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NameError {
    /// Nothing is left after trimming.
    #[error("is empty")]
    Empty,
    /// Longer than the limit.
    #[error("is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A character that shows nothing (zero-width, a filler, a bidi
    /// control…), so the name would look like another.
    #[error("has an invisible character (U+{0:04X})")]
    Invisible(u32),
    /// A space in a room name (it must stand in an address unchanged).
    #[error("may not have spaces")]
    Space,
    /// A character outside letters, digits, marks and `_ - .`.
    #[error("may only have letters, digits{} and _ - . (found {found:?}, U+{:04X})", if *.spaces { ", spaces" } else { "" }, *.found as u32)]
    BadChar {
        /// The character.
        found: char,
        /// Whether spaces are allowed (nicknames).
        spaces: bool,
    },
    /// Only `_ - .` and spaces.
    #[error("needs a letter or a digit")]
    NoLetter,
    /// Letters of scripts that may not be mixed (Latin with Cyrillic, say).
    #[error(
        "mixes {0} and {1} letters; use one script (Latin may go with Chinese, Japanese or Korean)"
    )]
    MixedScripts(String, String),
}

/// Whether `c` may stand in a name besides spaces: a letter, digit or
/// combining mark UTS #39 recommends for identifiers, or `_ - .`.
pub fn is_name_char(c: char) -> bool {
    matches!(c, '_' | '-' | '.') || c.identifier_type() == Some(IdentifierType::Recommended)
}

/// The first two scripts of `name` (besides the common ones) that broke the
/// restriction level, for the error.
fn mixed_scripts(name: &str) -> NameError {
    let mut seen: Vec<Script> = Vec::new();
    for c in name.chars() {
        let script = c.script();
        if !matches!(script, Script::Common | Script::Inherited) && !seen.contains(&script) {
            seen.push(script);
        }
    }
    let name_of = |i: usize| {
        seen.get(i)
            .map_or("other", |s| s.full_name())
            .replace('_', " ")
    };
    NameError::MixedScripts(name_of(0), name_of(1))
}

/// Checks a name and returns it normalised: NFC, trimmed, inner white
/// space one space (`spaces`) or refused.
fn check(raw: &str, max: usize, spaces: bool) -> Result<String, NameError> {
    let nfc: String = raw.nfc().collect();
    let name = if spaces {
        nfc.split_whitespace().collect::<Vec<_>>().join(" ")
    } else {
        nfc.trim().to_owned()
    };
    let len = name.chars().count();
    if len == 0 {
        return Err(NameError::Empty);
    }
    if len > max {
        return Err(NameError::TooLong { len, max });
    }
    for c in name.chars() {
        let invisible = is_default_ignorable(c)
            || is_bidi_control(c)
            || c.identifier_type() == Some(IdentifierType::Default_Ignorable);
        if invisible {
            return Err(NameError::Invisible(c as u32));
        }
        if c.is_whitespace() {
            if !spaces {
                return Err(NameError::Space);
            }
        } else if !is_name_char(c) {
            return Err(NameError::BadChar { found: c, spaces });
        }
    }
    if !name.chars().any(char::is_alphanumeric) {
        return Err(NameError::NoLetter);
    }
    let letters: String = name.chars().filter(|c| c.is_alphanumeric()).collect();
    if letters.as_str().detect_restriction_level() > RestrictionLevel::HighlyRestrictive {
        return Err(mixed_scripts(&letters));
    }
    Ok(name)
}

/// What a room name of a direct message starts with; no other room name
/// may hold a `:`.
pub const DM_PREFIX: &str = "dm:";

/// How many random characters follow [`DM_PREFIX`].
pub const DM_ID_CHARS: usize = 16;

/// Whether `room` names a direct message: [`DM_PREFIX`] and
/// [`DM_ID_CHARS`] lower-case ASCII letters and digits.
pub fn is_dm_room(room: &str) -> bool {
    room.strip_prefix(DM_PREFIX).is_some_and(|id| {
        id.len() == DM_ID_CHARS
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Checks a nickname and returns it normalised (NFC, trimmed, one space
/// between words).
pub fn check_nick(raw: &str) -> Result<String, NameError> {
    check(raw, MAX_NICK_CHARS, true)
}

/// Checks a room name and returns it normalised (NFC, trimmed, lower case).
pub fn check_room(raw: &str) -> Result<String, NameError> {
    let room = check(raw, MAX_ROOM_CHARS, false)?;
    Ok(room.to_lowercase().nfc().collect())
}

/// Case folding (full, so `ß` is `ss`), then NFC.
fn fold(s: &str) -> String {
    caseless::default_case_fold_str(s).nfc().collect()
}

/// The order names are listed in, and what a typed prefix of a name is
/// matched against: the name case-folded (and NFC). Two valid names with
/// the same sort key also have the same [`name_key`].
pub fn sort_key(name: &str) -> String {
    fold(name)
}

/// The UTS #39 skeleton: each character replaced by its prototype among
/// the characters that look like it.
fn skeleton(s: &str) -> String {
    unicode_security::skeleton(s).collect()
}

/// The key under which a (valid) name is unique: its skeleton after case
/// folding, folded again (so `alice`, `ALICE`, `аlice` and `b0b`/`bob`
/// share one). Members, mentions and bans are matched by it. Not for
/// showing: it is not the name.
pub fn name_key(name: &str) -> String {
    fold(&skeleton(&fold(name)))
}

/// Every key a name could be mistaken under: [`name_key`], and the skeleton
/// of the name as written, folded (an upper-case `I` looks like a lower-case
/// `l` though their folded forms differ). Two names look alike when they
/// share one.
pub fn look_alike_keys(name: &str) -> Vec<String> {
    let key = name_key(name);
    let as_written = fold(&skeleton(name));
    if as_written == key {
        vec![key]
    } else {
        vec![key, as_written]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_every_script_with_their_marks_are_accepted() {
        for (raw, normal) in [
            ("mina", "mina"),
            ("민아", "민아"),
            ("Jose\u{301}", "José"),
            ("अर्जुन", "अर्जुन"),
            ("தமிழ்", "தமிழ்"),
            ("สมชาย", "สมชาย"),
            ("\u{1112}\u{1161}\u{11AB}", "한"),
            ("田中 Taro", "田中 Taro"),
            ("  mina   park ", "mina park"),
            ("r2-d2_x.y", "r2-d2_x.y"),
        ] {
            assert_eq!(check_nick(raw).as_deref(), Ok(normal), "{raw}");
        }
        assert_eq!(check_room(" Rust ").as_deref(), Ok("rust"));
        assert_eq!(check_room("한국어").as_deref(), Ok("한국어"));
    }

    #[test]
    fn each_refusal_says_which_rule() {
        assert_eq!(check_nick("  "), Err(NameError::Empty));
        assert_eq!(
            check_nick(&"a".repeat(33)),
            Err(NameError::TooLong { len: 33, max: 32 })
        );
        assert_eq!(check_nick("ㅤㅤ"), Err(NameError::Invisible(0x3164)));
        assert_eq!(
            check_nick("alice\u{3164}"),
            Err(NameError::Invisible(0x3164))
        );
        assert_eq!(
            check_nick("al\u{200B}ice"),
            Err(NameError::Invisible(0x200B))
        );
        assert_eq!(
            check_nick("al\u{202E}ice"),
            Err(NameError::Invisible(0x202E))
        );
        assert_eq!(check_nick("\u{115F}x"), Err(NameError::Invisible(0x115F)));
        assert_eq!(
            check_nick("ａｌｉｃｅ"),
            Err(NameError::BadChar {
                found: 'ａ',
                spaces: true
            })
        );
        assert_eq!(
            check_nick("<b>"),
            Err(NameError::BadChar {
                found: '<',
                spaces: true
            })
        );
        assert_eq!(check_nick("-_-"), Err(NameError::NoLetter));
        assert_eq!(
            check_nick("аlice"),
            Err(NameError::MixedScripts("Cyrillic".into(), "Latin".into()))
        );
        assert_eq!(
            check_room("ruѕt"),
            Err(NameError::MixedScripts("Latin".into(), "Cyrillic".into()))
        );
        assert_eq!(check_room("rust lang"), Err(NameError::Space));
        let message = NameError::BadChar {
            found: '<',
            spaces: true,
        }
        .to_string();
        assert_eq!(
            message,
            "may only have letters, digits, spaces and _ - . (found '<', U+003C)"
        );
    }

    #[test]
    fn look_alikes_share_a_key() {
        let alice = look_alike_keys("alice");
        for other in ["Alice", "ALICE", "AIice", "alice"] {
            let keys = look_alike_keys(other);
            assert!(keys.iter().any(|k| alice.contains(k)), "{other}: {keys:?}");
        }
        assert_eq!(name_key("b0b"), name_key("bob"));
        assert_eq!(name_key("straße"), name_key("STRASSE"));
        assert_ne!(name_key("alice"), name_key("alicia"));
        // Whole-script look-alikes: Cyrillic рор and Latin pop.
        assert_eq!(name_key("рор"), name_key("pop"));
    }
}
