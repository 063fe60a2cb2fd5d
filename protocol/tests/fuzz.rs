//! Fuzzing the JSON frame parser on stable Rust: proptest generates valid
//! client frames, mutates them (bit flips, cuts, insertions, doubled and
//! odd fields, deep nesting, huge numbers), and feeds them, and plain
//! random text, to `parse_client_frame`. Whatever comes in, parsing must
//! not panic, an error must name a known code and never repeat much of the
//! input, and a frame that parses must survive a JSON round trip.
//!
//! `make test` runs 256 cases per property; `make fuzz` runs many more
//! (`PROPTEST_CASES`).

use parley_protocol::*;
use proptest::prelude::*;

/// A valid client frame as JSON.
fn valid_frame() -> impl Strategy<Value = String> {
    let text = "\\PC{0,30}";
    prop_oneof![
        (text, proptest::option::of(text)).prop_map(|(nick, resume)| ClientFrame::Hello {
            nick,
            resume,
            token: None
        }),
        (text, proptest::option::of(any::<u64>()))
            .prop_map(|(room, since)| ClientFrame::Join { room, since }),
        text.prop_map(|room| ClientFrame::Leave { room }),
        (
            text,
            "\\PC{0,200}",
            text,
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(room, text, cid, reply_to)| ClientFrame::Send {
                room,
                text,
                cid,
                reply_to
            }),
        (text, any::<u64>(), text, text).prop_map(|(room, target, text, cid)| ClientFrame::Edit {
            room,
            target,
            text,
            cid
        }),
        (text, any::<u64>(), text).prop_map(|(room, target, cid)| ClientFrame::Delete {
            room,
            target,
            cid
        }),
        (text, any::<u64>(), "\\PC{0,4}", any::<bool>(), text).prop_map(
            |(room, target, emoji, on, cid)| ClientFrame::React {
                room,
                target,
                emoji,
                on,
                cid
            }
        ),
        (
            text,
            proptest::option::of(text),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(query, room, before)| ClientFrame::Search {
                query,
                room,
                nick: None,
                before,
                limit: Some(5),
                id: None
            }),
        text.prop_map(|room| ClientFrame::Typing { room }),
        (text, any::<u64>(), proptest::option::of(any::<u32>())).prop_map(
            |(room, before, limit)| ClientFrame::History {
                room,
                before,
                limit
            }
        ),
        (
            text,
            proptest::option::of(text),
            proptest::option::of(text),
            proptest::option::of(any::<u32>())
        )
            .prop_map(|(room, prefix, after, limit)| ClientFrame::Members {
                room,
                prefix,
                after,
                limit
            }),
        proptest::option::of(any::<u64>()).prop_map(|id| ClientFrame::Ping { id }),
        moderation_frame(text),
    ]
    .prop_map(|frame| frame.to_json())
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

/// One way to damage a frame.
#[derive(Debug, Clone)]
enum Mutation {
    FlipBit(usize, u8),
    Cut(usize),
    Insert(usize, String),
    Remove(usize, usize),
    DoubleField(String),
    Nest(usize),
    HugeNumber(String),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let field = prop_oneof![
        Just("type"),
        Just("room"),
        Just("text"),
        Just("since"),
        Just("limit"),
        Just("id"),
        Just("nick"),
        Just("minutes")
    ]
    .prop_map(str::to_owned);
    prop_oneof![
        (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        any::<usize>().prop_map(Mutation::Cut),
        (
            any::<usize>(),
            prop_oneof![
                Just("\"".to_owned()),
                Just("\\".to_owned()),
                Just("{".to_owned()),
                Just("]".to_owned()),
                Just("\\u0000".to_owned()),
                Just("\\ud800".to_owned()),
                Just("1e999999".to_owned()),
                ".{0,8}",
            ]
        )
            .prop_map(|(at, s)| Mutation::Insert(at, s)),
        (any::<usize>(), 1usize..16).prop_map(|(at, n)| Mutation::Remove(at, n)),
        field.clone().prop_map(Mutation::DoubleField),
        (1usize..400).prop_map(Mutation::Nest),
        field.prop_map(Mutation::HugeNumber),
    ]
}

fn apply(frame: &str, mutation: &Mutation) -> String {
    let mut bytes = frame.as_bytes().to_vec();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match mutation {
        Mutation::FlipBit(i, bit) if !bytes.is_empty() => {
            let i = i % bytes.len();
            bytes[i] ^= 1 << bit;
        }
        Mutation::FlipBit(..) => {}
        Mutation::Cut(i) => bytes.truncate(at(*i, bytes.len())),
        Mutation::Insert(i, s) => {
            let i = at(*i, bytes.len());
            bytes.splice(i..i, s.bytes());
        }
        Mutation::Remove(i, n) => {
            let i = at(*i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::DoubleField(name) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            return text.replacen('{', &format!("{{\"{name}\":\"x\","), 1);
        }
        Mutation::Nest(depth) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            return format!("{}{text}{}", "[".repeat(*depth), "]".repeat(*depth));
        }
        Mutation::HugeNumber(name) => {
            let text = String::from_utf8_lossy(&bytes).into_owned();
            return text.replacen('{', &format!("{{\"{name}\":184467440737095516160000,"), 1);
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// What parsing must always hold to.
fn check(input: &str) -> Result<(), TestCaseError> {
    match parse_client_frame(input) {
        Ok(frame) => {
            let again = parse_client_frame(&frame.to_json());
            prop_assert_eq!(again.as_ref(), Ok(&frame), "a parsed frame round-trips");
        }
        Err(err) => {
            prop_assert!(ErrorCode::ALL.contains(&err.code()));
            let message = err.to_string();
            prop_assert!(
                message.chars().count() <= MAX_ECHO_CHARS + 120,
                "{} characters: {message}",
                message.chars().count()
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn valid_frames_parse(frame in valid_frame()) {
        prop_assert!(parse_client_frame(&frame).is_ok(), "{}", frame);
        check(&frame)?;
    }

    #[test]
    fn mutated_frames_never_panic_nor_echo_much(
        frame in valid_frame(),
        mutations in proptest::collection::vec(mutation(), 1..6),
    ) {
        let damaged = mutations.iter().fold(frame, |f, m| apply(&f, m));
        check(&damaged)?;
    }

    #[test]
    fn random_text_never_panics(input in "\\PC{0,300}|[{}\\[\\]\":,0-9a-z\\\\ ]{0,300}") {
        check(&input)?;
    }
}

/// 256 unless `PROPTEST_CASES` says otherwise (`make fuzz` does).
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}
