//! Property tests: every frame survives a JSON round trip, and the validation
//! rules hold for arbitrary input (normalised output always passes again).

use parley_protocol::*;
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> + Clone {
    ".{0,40}"
}

fn chat_message() -> impl Strategy<Value = ChatMessage> {
    let reactions = proptest::collection::vec(
        (
            text(),
            any::<u32>(),
            proptest::collection::vec(text(), 0..3),
        )
            .prop_map(|(emoji, count, nicks)| Reactions {
                emoji,
                count,
                nicks,
            }),
        0..3,
    );
    let extras = (
        proptest::option::of(any::<u64>()),
        proptest::option::of((text(), text()).prop_map(|(nick, text)| Quote { nick, text })),
        proptest::collection::vec(text(), 0..3),
        proptest::option::of(any::<u64>()),
        any::<bool>(),
        reactions,
    );
    (
        text(),
        any::<u64>(),
        text(),
        text(),
        any::<u64>(),
        proptest::option::of(text()),
        extras,
    )
        .prop_map(
            |(
                room,
                seq,
                nick,
                text,
                ts,
                cid,
                (reply_to, quote, mentions, edited_ts, deleted, reactions),
            )| {
                ChatMessage {
                    room,
                    seq,
                    nick,
                    text,
                    ts,
                    cid,
                    reply_to,
                    quote,
                    mentions,
                    edited_ts,
                    deleted,
                    reactions,
                }
            },
        )
}

fn room_event() -> impl Strategy<Value = RoomEvent> {
    let head = || (text(), any::<u64>(), any::<u64>(), text(), any::<u64>());
    prop_oneof![
        chat_message().prop_map(RoomEvent::Message),
        (head(), text(), proptest::collection::vec(text(), 0..2)).prop_map(
            |((room, seq, target, nick, ts), text, mentions)| RoomEvent::Edited(Edited {
                room,
                seq,
                target,
                nick,
                text,
                mentions,
                ts
            })
        ),
        head().prop_map(|(room, seq, target, nick, ts)| RoomEvent::Deleted(Deleted {
            room,
            seq,
            target,
            nick,
            ts
        })),
        (head(), text(), any::<bool>()).prop_map(|((room, seq, target, nick, ts), emoji, on)| {
            RoomEvent::Reacted(Reacted {
                room,
                seq,
                target,
                nick,
                emoji,
                on,
                ts,
            })
        }),
    ]
}

fn client_frame() -> impl Strategy<Value = ClientFrame> {
    prop_oneof![
        (text(), proptest::option::of(text())).prop_map(|(nick, resume)| ClientFrame::Hello {
            nick,
            resume,
            token: None
        }),
        (text(), proptest::option::of(any::<u64>()))
            .prop_map(|(room, since)| ClientFrame::Join { room, since }),
        text().prop_map(|room| ClientFrame::Leave { room }),
        (text(), text(), text(), proptest::option::of(any::<u64>())).prop_map(
            |(room, text, cid, reply_to)| ClientFrame::Send {
                room,
                text,
                cid,
                reply_to
            }
        ),
        (text(), any::<u64>(), text(), text()).prop_map(|(room, target, text, cid)| {
            ClientFrame::Edit {
                room,
                target,
                text,
                cid,
            }
        }),
        (text(), any::<u64>(), text()).prop_map(|(room, target, cid)| ClientFrame::Delete {
            room,
            target,
            cid
        }),
        (text(), any::<u64>(), text(), any::<bool>(), text()).prop_map(
            |(room, target, emoji, on, cid)| ClientFrame::React {
                room,
                target,
                emoji,
                on,
                cid
            }
        ),
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(text())
        )
            .prop_map(
                |(query, room, nick, before, limit, id)| ClientFrame::Search {
                    query,
                    room,
                    nick,
                    before,
                    limit,
                    id
                }
            ),
        text().prop_map(|room| ClientFrame::Typing { room }),
        (text(), any::<u64>(), proptest::option::of(any::<u32>())).prop_map(
            |(room, before, limit)| ClientFrame::History {
                room,
                before,
                limit
            }
        ),
        (
            text(),
            proptest::option::of(text()),
            proptest::option::of(text()),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(room, prefix, after, limit)| ClientFrame::Members {
                room,
                prefix,
                after,
                limit
            }),
        proptest::option::of(any::<u64>()).prop_map(|id| ClientFrame::Ping { id }),
        moderation_frame(text()),
    ]
}

/// The frames that run a room, and `open_dm`.
fn moderation_frame(
    text: impl Strategy<Value = String> + Clone + 'static,
) -> impl Strategy<Value = ClientFrame> {
    let t = text.clone();
    prop_oneof![
        (t.clone(), t.clone(), proptest::option::of(t.clone()))
            .prop_map(|(room, nick, reason)| ClientFrame::Kick { room, nick, reason }),
        (
            t.clone(),
            t.clone(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(t.clone())
        )
            .prop_map(|(room, nick, minutes, reason)| ClientFrame::Ban {
                room,
                nick,
                minutes,
                reason
            }),
        (t.clone(), t.clone()).prop_map(|(room, nick)| ClientFrame::Unban { room, nick }),
        (t.clone(), t.clone(), any::<bool>()).prop_map(|(room, nick, on)| ClientFrame::Mute {
            room,
            nick,
            on
        }),
        (t.clone(), t.clone(), any::<bool>()).prop_map(|(room, nick, on)| ClientFrame::Op {
            room,
            nick,
            on
        }),
        (t.clone(), t.clone()).prop_map(|(room, text)| ClientFrame::Topic { room, text }),
        (
            t.clone(),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<bool>())
        )
            .prop_map(|(room, accounts_only, invite_only)| ClientFrame::Mode {
                room,
                accounts_only,
                invite_only
            }),
        (t.clone(), t.clone()).prop_map(|(room, nick)| ClientFrame::Invite { room, nick }),
        (
            t.clone(),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(room, before, limit)| ClientFrame::Modlog {
                room,
                before,
                limit
            }),
        t.prop_map(|nick| ClientFrame::OpenDm { nick }),
    ]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    let limits = (
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(a, b, c, d, e, f)| Limits {
            max_text_chars: a,
            max_frame_bytes: b,
            rate_burst: c,
            rate_per_sec: d,
            typing_ttl_ms: e,
            resume_grace_ms: f,
            edit_window_ms: e ^ f,
            max_reactions: a ^ b,
        });
    let code = proptest::sample::select(ErrorCode::ALL.to_vec());
    prop_oneof![
        (
            text(),
            text(),
            text(),
            (any::<bool>(), any::<bool>(), any::<bool>()),
            proptest::collection::vec(text(), 0..3),
            limits
        )
            .prop_map(
                |(nick, session, resume, (resumed, account, admin), rooms, limits)| {
                    ServerFrame::Welcome {
                        nick,
                        session,
                        dms: if account { rooms.clone() } else { Vec::new() },
                        resume,
                        resumed,
                        rooms,
                        limits,
                        account,
                        admin,
                    }
                }
            ),
        (
            text(),
            proptest::collection::vec(text(), 0..3),
            (any::<u64>(), any::<bool>()),
            proptest::collection::vec(room_event(), 0..3),
            any::<bool>(),
            any::<u64>()
        )
            .prop_map(
                |(room, members, (member_count, members_more), history, more, last_seq)| {
                    ServerFrame::Joined {
                        room,
                        members,
                        member_count,
                        members_more,
                        history,
                        more,
                        last_seq,
                        settings: Default::default(),
                    }
                }
            ),
        text().prop_map(|room| ServerFrame::Left { room }),
        room_event().prop_map(ServerFrame::from),
        (
            proptest::option::of(text()),
            proptest::collection::vec(
                (
                    text(),
                    any::<u64>(),
                    text(),
                    any::<u64>(),
                    text(),
                    any::<[u32; 2]>()
                )
                    .prop_map(|(room, seq, nick, ts, text, m)| SearchHit {
                        room,
                        seq,
                        nick,
                        ts,
                        text,
                        matches: vec![m]
                    }),
                0..3
            ),
            any::<bool>(),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(id, hits, more, next)| ServerFrame::SearchResults {
                id,
                hits,
                more,
                next
            }),
        (text(), text(), any::<u64>(), any::<u64>())
            .prop_map(|(cid, room, seq, ts)| ServerFrame::Ack { cid, room, seq, ts }),
        (
            text(),
            proptest::collection::vec(text(), 0..3),
            proptest::collection::vec(text(), 0..3),
            any::<u64>()
        )
            .prop_map(|(room, joined, left, count)| ServerFrame::Presence {
                room,
                joined,
                left,
                count
            }),
        (
            text(),
            proptest::collection::vec(text(), 0..3),
            any::<u64>()
        )
            .prop_map(|(room, nicks, count)| ServerFrame::Typing { room, nicks, count }),
        (
            text(),
            proptest::collection::vec(text(), 0..3),
            any::<bool>(),
            any::<u64>()
        )
            .prop_map(|(room, members, more, count)| ServerFrame::Members {
                room,
                members,
                more,
                count
            }),
        (
            text(),
            proptest::collection::vec(chat_message(), 0..3),
            any::<bool>()
        )
            .prop_map(|(room, messages, more)| ServerFrame::History {
                room,
                messages,
                more
            }),
        (
            code,
            text(),
            proptest::option::of(text()),
            proptest::option::of(text())
        )
            .prop_map(|(code, message, cid, room)| ServerFrame::Error {
                code,
                message,
                cid,
                room
            }),
        proptest::option::of(any::<u64>()).prop_map(|id| ServerFrame::Pong { id }),
    ]
}

proptest! {
    #[test]
    fn client_frames_round_trip(frame in client_frame()) {
        let json = frame.to_json();
        prop_assert_eq!(parse_client_frame(&json), Ok(frame));
    }

    #[test]
    fn server_frames_round_trip(frame in server_frame()) {
        let json = frame.to_json();
        let back: ServerFrame = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, frame);
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(s in ".*") {
        let _ = parse_client_frame(&s);
    }

    #[test]
    fn valid_nicks_are_fixed_points(raw in "\\PC{0,40}") {
        if let Ok(nick) = validate_nick(&raw) {
            let n = nick.chars().count();
            prop_assert!((1..=MAX_NICK_CHARS).contains(&n));
            prop_assert_eq!(nick.trim(), nick.as_str());
            prop_assert_eq!(validate_nick(&nick), Ok(nick.clone()));
            prop_assert!(!nick.chars().any(char::is_control));
        }
    }

    #[test]
    fn valid_rooms_are_lower_case_fixed_points(raw in "\\PC{0,70}") {
        if let Ok(room) = validate_room(&raw) {
            prop_assert!((1..=MAX_ROOM_CHARS).contains(&room.chars().count()));
            prop_assert!(!room.contains(' '));
            prop_assert_eq!(validate_room(&room), Ok(room.clone()));
        }
    }

    #[test]
    fn texts_within_the_limit_pass_and_longer_ones_fail(body in "[a-z가-힣 ]{1,2100}") {
        let trimmed_len = body.trim().chars().count();
        match validate_text(&body) {
            Ok(text) => {
                prop_assert!((1..=MAX_TEXT_CHARS).contains(&trimmed_len));
                prop_assert_eq!(text.as_str(), body.trim());
            }
            Err(ValidationError::TextEmpty) => prop_assert_eq!(trimmed_len, 0),
            Err(ValidationError::TextTooLong { len, .. }) => {
                prop_assert_eq!(len, trimmed_len);
                prop_assert!(len > MAX_TEXT_CHARS);
            }
            Err(other) => prop_assert!(false, "unexpected {other:?}"),
        }
    }

    #[test]
    fn nick_keys_ignore_case(nick in "[a-zA-Z]{1,10}") {
        prop_assert_eq!(name_key(&nick), name_key(&nick.to_uppercase()));
    }
}
