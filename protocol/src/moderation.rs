//! Rooms people can run: the room events that record who moderates a room
//! and what they did, and the room's settings a `joined` frame carries.
//!
//! Every moderation action (a kick, a ban, a new op, the topic, a mode, an
//! invite) is a room event with its own `seq`, like a message: committed
//! before anyone hears of it, and replayed by a catch-up, so a client that
//! was away learns that its room has a new topic or that someone was banned
//! exactly as it learns of messages. A direct message between two accounts
//! is a room too, one whose name starts with [`DM_PREFIX`] and that only
//! its two parties may join.

use serde::{Deserialize, Serialize};

use crate::validate::{validate_text_with_limit, ValidationError};

/// The most characters of a topic.
pub const MAX_TOPIC_CHARS: usize = 300;

/// The most characters of a kick or ban reason.
pub const MAX_REASON_CHARS: usize = 200;

/// The longest ban with an end, in minutes (a year); a ban without
/// `minutes` lasts until it is lifted.
pub const MAX_BAN_MINUTES: u64 = 525_600;

pub use crate::names::{is_dm_room, DM_ID_CHARS, DM_PREFIX};

/// Checks a topic with the text rules (at most [`MAX_TOPIC_CHARS`]
/// characters); empty (or only white space) clears the topic.
pub fn validate_topic(raw: &str) -> Result<String, ValidationError> {
    if raw.trim().is_empty() {
        return Ok(String::new());
    }
    validate_text_with_limit(raw, MAX_TOPIC_CHARS)
}

/// Checks a kick or ban reason with the text rules (at most
/// [`MAX_REASON_CHARS`] characters); none or empty is no reason.
pub fn validate_reason(raw: Option<&str>) -> Result<Option<String>, ValidationError> {
    match raw {
        Some(raw) if !raw.trim().is_empty() => {
            validate_text_with_limit(raw, MAX_REASON_CHARS).map(Some)
        }
        _ => Ok(None),
    }
}

/// What a moderation event did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModAction {
    /// `target` became the room's owner (the first account to join a room
    /// without one).
    Owner,
    /// `target` was removed from the room (and may come back).
    Kick,
    /// `target` was removed and may not come back (until `until`, if set).
    Ban,
    /// `target`'s ban was lifted.
    Unban,
    /// `target` may no longer send in the room.
    Mute,
    /// `target` may send again.
    Unmute,
    /// `target` became an op.
    Op,
    /// `target` is no longer an op.
    Deop,
    /// `target` (an account) may join the invite-only room.
    Invite,
    /// The room's modes changed to `modes`.
    Mode,
    /// The direct message between `nick` and `target` was opened.
    OpenDm,
}

impl ModAction {
    /// The action as it appears on the wire, e.g. `"kick"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ModAction::Owner => "owner",
            ModAction::Kick => "kick",
            ModAction::Ban => "ban",
            ModAction::Unban => "unban",
            ModAction::Mute => "mute",
            ModAction::Unmute => "unmute",
            ModAction::Op => "op",
            ModAction::Deop => "deop",
            ModAction::Invite => "invite",
            ModAction::Mode => "mode",
            ModAction::OpenDm => "open_dm",
        }
    }
}

/// Who may join a room.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Modes {
    /// Only signed-in members (accounts) may join.
    #[serde(default)]
    pub accounts_only: bool,
    /// Only the owner, ops, server admins and invited accounts may join;
    /// the room is not listed in `/api/rooms`.
    #[serde(default)]
    pub invite_only: bool,
}

impl Modes {
    /// Neither mode: anyone may join.
    pub fn is_open(&self) -> bool {
        !self.accounts_only && !self.invite_only
    }
}

/// A moderation action, as a room event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moderation {
    /// The room.
    pub room: String,
    /// This event's own `seq`.
    pub seq: u64,
    /// Who did it.
    pub nick: String,
    /// What was done.
    pub action: ModAction,
    /// To whom (every action but `mode`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Why, as the moderator put it (`kick`, `ban`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When a ban ends, ms since the Unix epoch; none: until lifted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<u64>,
    /// The room's modes after a `mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modes: Option<Modes>,
    /// When.
    pub ts: u64,
}

/// A room's topic was set (an empty text clears it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSet {
    /// The room.
    pub room: String,
    /// This event's own `seq`.
    pub seq: u64,
    /// Who set it.
    pub nick: String,
    /// The topic; empty: none.
    pub text: String,
    /// When.
    pub ts: u64,
}

/// A room's settings and moderators, as a `joined` frame tells them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomSettings {
    /// The topic, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The owner's nickname (an account), if the room has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The ops' nicknames (accounts), in nickname order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<String>,
    /// Who may join.
    #[serde(default, skip_serializing_if = "Modes::is_open")]
    pub modes: Modes,
    /// For a direct message: the other party's nickname.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dm: Option<String>,
    /// Whether the joiner is muted here.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub muted: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm_room_names_are_the_prefix_and_sixteen_lower_case_letters_or_digits() {
        assert!(is_dm_room("dm:abcdefgh01234567"));
        assert!(!is_dm_room("dm:abcdefgh0123456"));
        assert!(!is_dm_room("dm:abcdefgh012345678"));
        assert!(!is_dm_room("dm:ABCDEFGH01234567"));
        assert!(!is_dm_room("dm:abcdefgh0123456-"));
        assert!(!is_dm_room("xm:abcdefgh01234567"));
        assert!(!is_dm_room("abcdefgh01234567"));
    }

    #[test]
    fn topics_may_be_empty_and_reasons_absent_but_both_follow_the_text_rules() {
        assert_eq!(validate_topic("  ").unwrap(), "");
        assert_eq!(validate_topic(" Rust \r\n talk ").unwrap(), "Rust \n talk");
        assert!(validate_topic(&"x".repeat(MAX_TOPIC_CHARS + 1)).is_err());
        assert!(validate_topic(&"x".repeat(MAX_TOPIC_CHARS)).is_ok());
        assert!(validate_topic("a\u{202E}b").is_err());
        assert_eq!(validate_reason(None).unwrap(), None);
        assert_eq!(validate_reason(Some(" ")).unwrap(), None);
        assert_eq!(
            validate_reason(Some(" spam ")).unwrap().as_deref(),
            Some("spam")
        );
        assert!(validate_reason(Some(&"x".repeat(MAX_REASON_CHARS + 1))).is_err());
        assert!(validate_reason(Some(&"x".repeat(MAX_REASON_CHARS))).is_ok());
    }

    #[test]
    fn actions_are_written_as_serde_writes_them() {
        for action in [
            ModAction::Owner,
            ModAction::Kick,
            ModAction::Ban,
            ModAction::Unban,
            ModAction::Mute,
            ModAction::Unmute,
            ModAction::Op,
            ModAction::Deop,
            ModAction::Invite,
            ModAction::Mode,
            ModAction::OpenDm,
        ] {
            let json = serde_json::to_string(&action).unwrap();
            assert_eq!(json, format!("\"{}\"", action.as_str()));
        }
    }

    #[test]
    fn open_modes_and_empty_settings_are_left_out() {
        let json = serde_json::to_string(&RoomSettings::default()).unwrap();
        assert_eq!(json, "{}");
        let settings = RoomSettings {
            modes: Modes {
                accounts_only: true,
                invite_only: false,
            },
            muted: true,
            ..RoomSettings::default()
        };
        let json = serde_json::to_string(&settings).unwrap();
        assert_eq!(
            json,
            r#"{"modes":{"accounts_only":true,"invite_only":false},"muted":true}"#
        );
    }
}
