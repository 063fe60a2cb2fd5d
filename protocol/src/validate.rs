//! The rules for message texts, reactions, queries and client ids, and the
//! [`ValidationError`] every rule (names included, see [`crate::names`])
//! reports.
//!
//! The server enforces them and the browser checks them as the user types;
//! both call these functions, so a name the join screen accepts is a name the
//! server accepts. Each function returns the normalised value (trimmed, room
//! names in lower case) or a [`ValidationError`] that says what is wrong.

use thiserror::Error;

use crate::chars::{is_bidi_control, is_default_ignorable};
use crate::names::{check_nick, check_room, NameError};
use crate::ErrorCode;

/// Longest message text, in characters after trimming.
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest client message id, in bytes.
pub const MAX_CID_BYTES: usize = 64;
/// The room the browser app opens when none is given.
pub const DEFAULT_ROOM: &str = "general";
/// Longest search query, in characters after trimming.
pub const MAX_QUERY_CHARS: usize = 200;
/// Characters of an answered message an answer quotes.
pub const QUOTE_CHARS: usize = 100;

/// Why a nickname, room name, text or cid was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ValidationError {
    /// The nickname broke a naming rule.
    #[error("the nickname {0}")]
    Nick(NameError),
    /// The room name broke a naming rule.
    #[error("the room name {0}")]
    Room(NameError),
    /// The text is empty after trimming.
    #[error("the message is empty")]
    TextEmpty,
    /// The text is longer than the limit.
    #[error("the message is {len} characters long; at most {max} are allowed")]
    TextTooLong {
        /// Its length in characters.
        len: usize,
        /// The limit it broke.
        max: usize,
    },
    /// The text has a control character other than newline or tab.
    #[error("the message has a control character (U+{0:04X})")]
    TextControlChar(u32),
    /// The text has a bidirectional override or isolate control, which can
    /// make it read differently from what it says.
    #[error("the message has a bidirectional control character (U+{0:04X})")]
    TextBidiControl(u32),
    /// The cid is empty, too long or has control characters.
    #[error("cid must be 1 to {MAX_CID_BYTES} bytes of printable text")]
    BadCid,
    /// The emoji is not exactly one emoji.
    #[error("a reaction is one emoji")]
    NotAnEmoji,
    /// The query is empty, too long, or has no letter or digit.
    #[error("a search needs 1 to {MAX_QUERY_CHARS} characters with at least one letter or digit")]
    BadQuery,
}

impl ValidationError {
    /// The protocol error code for this failure.
    pub fn code(&self) -> ErrorCode {
        match self {
            ValidationError::Nick(_) => ErrorCode::InvalidNick,
            ValidationError::Room(_) => ErrorCode::InvalidRoom,
            ValidationError::TextEmpty => ErrorCode::EmptyText,
            ValidationError::TextTooLong { .. } => ErrorCode::TextTooLong,
            ValidationError::TextControlChar(_) | ValidationError::TextBidiControl(_) => {
                ErrorCode::InvalidText
            }
            ValidationError::BadCid => ErrorCode::InvalidCid,
            ValidationError::NotAnEmoji => ErrorCode::InvalidEmoji,
            ValidationError::BadQuery => ErrorCode::InvalidQuery,
        }
    }
}

/// Checks a nickname (see [`crate::names`]) and returns it normalised.
pub fn validate_nick(raw: &str) -> Result<String, ValidationError> {
    check_nick(raw).map_err(ValidationError::Nick)
}

/// Checks a room name (see [`crate::names`]) and returns it normalised. The
/// name of a direct message ([`crate::names::is_dm_room`]) is valid too.
pub fn validate_room(raw: &str) -> Result<String, ValidationError> {
    if crate::names::is_dm_room(raw) {
        return Ok(raw.to_owned());
    }
    check_room(raw).map_err(ValidationError::Room)
}

/// Checks a message text against a limit of `max_chars` and returns it with
/// `\r\n` turned into `\n` and surrounding white space trimmed. Text that
/// shows nothing (only white space and default-ignorable characters) is
/// empty; bidirectional overrides and isolates are refused.
pub fn validate_text_with_limit(raw: &str, max_chars: usize) -> Result<String, ValidationError> {
    let text = if raw.contains('\r') {
        raw.replace("\r\n", "\n")
    } else {
        raw.to_owned()
    };
    let trimmed = text.trim();
    if trimmed
        .chars()
        .all(|c| c.is_whitespace() || is_default_ignorable(c))
    {
        return Err(ValidationError::TextEmpty);
    }
    if let Some(bad) = trimmed
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(ValidationError::TextControlChar(bad as u32));
    }
    if let Some(bad) = trimmed.chars().find(|&c| is_bidi_control(c)) {
        return Err(ValidationError::TextBidiControl(bad as u32));
    }
    let len = trimmed.chars().count();
    if len > max_chars {
        return Err(ValidationError::TextTooLong {
            len,
            max: max_chars,
        });
    }
    if trimmed.len() == text.len() {
        Ok(text)
    } else {
        Ok(trimmed.to_owned())
    }
}

/// Checks a message text against [`MAX_TEXT_CHARS`].
pub fn validate_text(raw: &str) -> Result<String, ValidationError> {
    validate_text_with_limit(raw, MAX_TEXT_CHARS)
}

/// Checks a reaction: exactly one emoji of the Unicode emoji list (with
/// its skin tone, if any), that is one grapheme cluster; returns it.
#[cfg(feature = "emoji")]
pub fn validate_emoji(raw: &str) -> Result<String, ValidationError> {
    match emojis::get(raw) {
        Some(emoji) if emoji.as_str() == raw => Ok(raw.to_owned()),
        _ => Err(ValidationError::NotAnEmoji),
    }
}

/// Checks a search query: 1 to [`MAX_QUERY_CHARS`] characters after
/// trimming, with at least one letter or digit; returns it trimmed.
pub fn validate_query(raw: &str) -> Result<String, ValidationError> {
    let query = raw.trim();
    let len = query.chars().count();
    if len == 0 || len > MAX_QUERY_CHARS || !query.chars().any(char::is_alphanumeric) {
        return Err(ValidationError::BadQuery);
    }
    Ok(query.to_owned())
}

/// What an answer quotes of the message it answers: its first line, cut
/// to [`QUOTE_CHARS`] characters (with `…` when cut).
pub fn quote_of(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    match line.char_indices().nth(QUOTE_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None if text.trim().lines().nth(1).is_some() => format!("{line}…"),
        None => line.to_owned(),
    }
}

/// Checks a client message id: 1 to [`MAX_CID_BYTES`] bytes, no control characters.
pub fn validate_cid(cid: &str) -> Result<(), ValidationError> {
    if cid.is_empty() || cid.len() > MAX_CID_BYTES || cid.chars().any(char::is_control) {
        return Err(ValidationError::BadCid);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_errors_say_which_name_and_map_to_their_codes() {
        let nick = validate_nick("<b>").unwrap_err();
        assert_eq!(nick.code(), ErrorCode::InvalidNick);
        assert!(
            nick.to_string().starts_with("the nickname may only have"),
            "{nick}"
        );
        let room = validate_room("two words").unwrap_err();
        assert_eq!(room, ValidationError::Room(NameError::Space));
        assert_eq!(room.code(), ErrorCode::InvalidRoom);
        assert_eq!(room.to_string(), "the room name may not have spaces");
        assert_eq!(validate_room(" Rust ").as_deref(), Ok("rust"));
        assert_eq!(validate_nick("  mina  ").as_deref(), Ok("mina"));
    }

    #[test]
    fn text_is_trimmed_and_limited() {
        assert_eq!(validate_text("  hi\r\nthere ").as_deref(), Ok("hi\nthere"));
        assert_eq!(validate_text(" \n "), Err(ValidationError::TextEmpty));
        assert_eq!(validate_text(&"é".repeat(2000)).map(|t| t.len()), Ok(4000));
        assert_eq!(
            validate_text(&"x".repeat(2001)),
            Err(ValidationError::TextTooLong {
                len: 2001,
                max: 2000
            })
        );
        assert_eq!(
            validate_text("a\u{0}b"),
            Err(ValidationError::TextControlChar(0))
        );
        assert_eq!(validate_text("tab\there").as_deref(), Ok("tab\there"));
    }

    #[test]
    fn text_that_shows_nothing_or_reads_backwards_is_refused() {
        for invisible in [
            "\u{200B}",
            "\u{200B}\u{200C}\u{200D}\u{2060}",
            " \u{3164} ",
            "\u{FEFF}\n\u{115F}",
            "\u{E0041}",
        ] {
            assert_eq!(
                validate_text(invisible),
                Err(ValidationError::TextEmpty),
                "{invisible:?}"
            );
        }
        for (text, bad) in [
            ("abc\u{202E}def", 0x202E),
            ("\u{2066}x\u{2069}", 0x2066),
            ("a\u{202A}b", 0x202A),
        ] {
            assert_eq!(
                validate_text(text),
                Err(ValidationError::TextBidiControl(bad))
            );
            assert_eq!(
                validate_text(text).unwrap_err().code(),
                ErrorCode::InvalidText
            );
        }
        // Marks, joiners inside emoji, and right-to-left scripts are fine.
        for fine in [
            "שלום \u{200F}world",
            "👨\u{200D}👩\u{200D}👧",
            "مرحبا",
            "x\u{200B}y",
        ] {
            assert!(validate_text(fine).is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn quotes_are_the_first_line_cut_short() {
        assert_eq!(quote_of("hello"), "hello");
        assert_eq!(quote_of("first\nsecond"), "first…");
        assert_eq!(
            quote_of(&"가".repeat(150)),
            format!("{}…", "가".repeat(100))
        );
        assert_eq!(quote_of(""), "");
    }

    #[test]
    fn queries_need_a_word() {
        assert_eq!(validate_query("  rust  ").as_deref(), Ok("rust"));
        assert_eq!(validate_query("사과").as_deref(), Ok("사과"));
        for bad in ["", "   ", "!!!", &"x".repeat(201)] {
            assert_eq!(
                validate_query(bad),
                Err(ValidationError::BadQuery),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn cids_are_short_and_printable() {
        assert!(validate_cid("c-1").is_ok());
        assert!(validate_cid("").is_err());
        assert!(validate_cid(&"c".repeat(65)).is_err());
        assert!(validate_cid("a\nb").is_err());
    }
}
