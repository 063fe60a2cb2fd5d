//! The app's behaviour, natively: direct messages. They are joined from
//! `welcome` like rooms, kept when the other party opens one (an unasked
//! `joined` of a `dm:` room), named by the other party ("@bob", never the
//! `dm:…` name), opened with "Message" (`open_dm`, shown when its `joined`
//! comes, or at once if open), and offered only to accounts.

mod common;

use common::*;

const DM: &str = "dm:abcdefgh01234567";

#[test]
fn direct_messages_are_joined_from_welcome_and_named_by_the_other_party() {
    let (mut state, commands) = account_in("rust", RoomSettings::default(), false, &[DM]);
    assert!(commands.contains(&Command::Send(ClientFrame::Join {
        room: DM.into(),
        since: None
    })));
    assert_eq!(state.room(DM).unwrap().title(), "Direct message");
    let dm = RoomSettings {
        dm: Some("bob".into()),
        ..RoomSettings::default()
    };
    reduce(&mut state, joined_with(DM, vec![], dm), T0);
    let view = state.room(DM).unwrap();
    assert!(view.is_dm());
    assert_eq!(view.title(), "@bob");
    assert_eq!(state.active.as_deref(), Some("rust"), "not shown unasked");
}

#[test]
fn a_direct_message_opened_by_the_other_party_or_by_the_reader_appears() {
    let (mut state, _) = account_in("rust", RoomSettings::default(), false, &[]);
    // bob opened it: its `joined` comes unasked, and is kept.
    let dm = |nick: &str| RoomSettings {
        dm: Some(nick.into()),
        ..RoomSettings::default()
    };
    let commands = reduce(&mut state, joined_with(DM, vec![], dm("bob")), T0);
    assert!(commands.is_empty(), "not left again: {commands:?}");
    assert_eq!(state.room(DM).unwrap().title(), "@bob");
    assert_eq!(state.active.as_deref(), Some("rust"));

    // "Message" on bob again shows it; on ana asks the server, and its
    // `joined` shows it.
    reduce(&mut state, Action::OpenDm("Bob".into()), T0);
    assert_eq!(state.active.as_deref(), Some(DM));
    let commands = reduce(&mut state, Action::OpenDm("ana".into()), T0);
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::OpenDm { nick: "ana".into() })]
    );
    let other = "dm:0123456789abcdef";
    reduce(&mut state, joined_with(other, vec![], dm("ana")), T0);
    assert_eq!(state.active.as_deref(), Some(other));

    // A `joined` of an ordinary room the reader left is still left again.
    let commands = reduce(
        &mut state,
        joined_with("gone", vec![], RoomSettings::default()),
        T0,
    );
    assert_eq!(
        commands,
        vec![Command::Send(ClientFrame::Leave {
            room: "gone".into()
        })]
    );
}

#[test]
fn a_guest_is_told_to_sign_in_for_direct_messages() {
    let mut state = online_in("rust");
    let commands = reduce(&mut state, Action::OpenDm("bob".into()), T0);
    assert!(commands.is_empty());
    assert_eq!(
        state.notice.as_deref(),
        Some("Sign in to send direct messages.")
    );
}
