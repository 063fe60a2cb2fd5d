use super::*;

fn account(nick: &str) -> Person {
    Person {
        nick: nick.to_owned(),
        account: true,
        admin: false,
        addr: None,
    }
}

fn guest(nick: &str, addr: &str) -> Person {
    Person {
        nick: nick.to_owned(),
        account: false,
        admin: false,
        addr: Some(addr.parse().unwrap()),
    }
}

fn admin(nick: &str) -> Person {
    Person {
        admin: true,
        ..account(nick)
    }
}

/// A room owned by `Mina`, with `joon` as an op.
fn room() -> RoomControl {
    let mut room = RoomControl::default();
    let mina = account("Mina");
    room.authorize(&mina, &Action::Claim).unwrap();
    room.apply(&mina, &Action::Claim, 0);
    let op = Action::Op {
        target: account("joon"),
        on: true,
    };
    room.authorize(&mina, &op).unwrap();
    room.apply(&mina, &op, 0);
    room
}

#[test]
fn the_first_account_owns_a_room_and_nobody_takes_it_over() {
    let room = room();
    assert_eq!(room.owner.as_deref(), Some("Mina"));
    assert_eq!(
        room.authorize(&account("ana"), &Action::Claim),
        Err(Refusal::OwnerTaken)
    );
    let empty = RoomControl::default();
    assert_eq!(
        empty.authorize(&guest("g", "10.0.0.1"), &Action::Claim),
        Err(Refusal::OwnerTaken),
        "guests never own rooms"
    );
}

#[test]
fn ranks_go_member_op_owner_admin_and_only_accounts_hold_roles() {
    let room = room();
    assert_eq!(room.rank(&account("ana")), Rank::Member);
    assert_eq!(room.rank(&account("JOON")), Rank::Op, "found by key");
    assert_eq!(room.rank(&guest("joon", "10.0.0.1")), Rank::Member);
    assert_eq!(room.rank(&account("mina")), Rank::Owner);
    assert_eq!(room.rank(&admin("root")), Rank::Admin);
}

#[test]
fn moderators_act_only_on_those_below_them() {
    let room = room();
    let kick = |target: Person| Action::Kick {
        target,
        reason: None,
    };
    let (mina, joon, ana) = (account("Mina"), account("joon"), account("ana"));
    assert_eq!(
        room.authorize(&ana, &kick(joon.clone())),
        Err(Refusal::NotModerator)
    );
    assert_eq!(room.authorize(&joon, &kick(ana.clone())), Ok(()));
    assert_eq!(
        room.authorize(&joon, &kick(mina.clone())),
        Err(Refusal::Outranked)
    );
    assert_eq!(
        room.authorize(&joon, &kick(account("JOON"))),
        Err(Refusal::Outranked)
    );
    assert_eq!(room.authorize(&mina, &kick(joon.clone())), Ok(()));
    assert_eq!(
        room.authorize(&mina, &kick(admin("root"))),
        Err(Refusal::Outranked)
    );
    assert_eq!(room.authorize(&admin("root"), &kick(mina.clone())), Ok(()));
    let op = Action::Op {
        target: ana.clone(),
        on: true,
    };
    assert_eq!(room.authorize(&joon, &op), Err(Refusal::NotOwner));
    assert_eq!(room.authorize(&mina, &op), Ok(()));
    let op_guest = Action::Op {
        target: guest("g", "10.0.0.1"),
        on: true,
    };
    assert_eq!(room.authorize(&mina, &op_guest), Err(Refusal::NotAnAccount));
    let invite_guest = Action::Invite {
        target: guest("g", "10.0.0.1"),
    };
    assert_eq!(
        room.authorize(&joon, &invite_guest),
        Err(Refusal::NotAnAccount)
    );
    let topic = Action::Topic { text: "t".into() };
    assert_eq!(room.authorize(&ana, &topic), Err(Refusal::NotModerator));
    assert_eq!(room.authorize(&joon, &topic), Ok(()));
}

#[test]
fn a_guest_ban_holds_its_nickname_and_its_address_an_account_ban_its_account() {
    let mut room = room();
    let mina = account("Mina");
    let spammer = guest("spammer", "192.0.2.7");
    let ban = Action::Ban {
        target: spammer.clone(),
        minutes: None,
        reason: Some("spam".into()),
    };
    room.authorize(&mina, &ban).unwrap();
    room.apply(&mina, &ban, 1_000);
    assert_eq!(room.admits(&spammer, 2_000), Err(Keep::Banned(None)));
    assert_eq!(
        room.admits(&guest("SPAMMER", "198.51.100.1"), 2_000),
        Err(Keep::Banned(None)),
        "a look-alike nickname from elsewhere"
    );
    assert_eq!(
        room.admits(&guest("new name", "192.0.2.7"), 2_000),
        Err(Keep::Banned(None)),
        "another nickname from the same address"
    );
    assert_eq!(room.admits(&guest("other", "198.51.100.1"), 2_000), Ok(()));
    assert_eq!(
        room.admits(&account("spammer"), 2_000),
        Ok(()),
        "the account of that name is somebody else"
    );

    let troll = account("troll");
    let ban = Action::Ban {
        target: troll.clone(),
        minutes: Some(10),
        reason: None,
    };
    room.apply(&mina, &ban, 1_000);
    assert_eq!(room.admits(&troll, 2_000), Err(Keep::Banned(Some(601_000))));
    assert_eq!(room.admits(&troll, 601_000), Ok(()), "the ban ended");
    room.apply(
        &mina,
        &Action::Unban {
            nick: "Spammer".into(),
        },
        3_000,
    );
    assert_eq!(room.admits(&spammer, 3_000), Ok(()));
}

#[test]
fn moderators_are_never_kept_out_and_modes_keep_out_the_rest() {
    let mut room = room();
    let mina = account("Mina");
    let mode = Action::Mode {
        accounts_only: Some(true),
        invite_only: None,
    };
    room.apply(&mina, &mode, 0);
    assert_eq!(
        room.admits(&guest("g", "10.0.0.1"), 0),
        Err(Keep::AccountsOnly)
    );
    assert_eq!(room.admits(&account("ana"), 0), Ok(()));
    let mode = Action::Mode {
        accounts_only: None,
        invite_only: Some(true),
    };
    room.apply(&mina, &mode, 0);
    assert!(room.modes.accounts_only, "a mode left out stays");
    assert_eq!(room.admits(&account("ana"), 0), Err(Keep::InviteOnly));
    assert_eq!(room.admits(&account("joon"), 0), Ok(()));
    assert_eq!(room.admits(&admin("root"), 0), Ok(()));
    room.apply(
        &mina,
        &Action::Invite {
            target: account("Ana"),
        },
        0,
    );
    assert_eq!(room.admits(&account("ana"), 0), Ok(()));
    assert_eq!(
        room.admits(&guest("ana", "10.0.0.1"), 0),
        Err(Keep::InviteOnly)
    );
}

#[test]
fn mutes_and_ops_come_and_go_by_key() {
    let mut room = room();
    let mina = account("Mina");
    room.apply(
        &mina,
        &Action::Mute {
            target: guest("Loud", "10.0.0.1"),
            on: true,
        },
        0,
    );
    assert!(room.is_muted("loud"));
    room.apply(
        &mina,
        &Action::Mute {
            target: guest("LOUD", "10.0.0.1"),
            on: false,
        },
        0,
    );
    assert!(!room.is_muted("loud"));
    room.apply(
        &mina,
        &Action::Op {
            target: account("JOON"),
            on: false,
        },
        0,
    );
    assert_eq!(room.rank(&account("joon")), Rank::Member);
}

#[test]
fn a_direct_message_admits_its_two_accounts_and_has_no_moderators() {
    let mut dm = RoomControl::default();
    let mina = account("Mina");
    let open = Action::OpenDm {
        with: "joon".into(),
    };
    dm.authorize(&mina, &open).unwrap();
    dm.apply(&mina, &open, 0);
    assert_eq!(dm.admits(&account("joon"), 0), Ok(()));
    assert_eq!(dm.admits(&account("mina"), 0), Ok(()));
    assert_eq!(dm.admits(&admin("root"), 0), Err(Keep::NotAParty));
    assert_eq!(
        dm.admits(&guest("joon", "10.0.0.1"), 0),
        Err(Keep::NotAParty)
    );
    assert_eq!(dm.dm_party("mina"), Some("joon"));
    assert_eq!(dm.settings("joon").dm.as_deref(), Some("Mina"));
    let kick = Action::Kick {
        target: account("joon"),
        reason: None,
    };
    assert_eq!(
        dm.authorize(&admin("root"), &kick),
        Err(Refusal::DirectMessage)
    );
    assert_eq!(
        dm.authorize(&mina, &Action::Claim),
        Err(Refusal::DirectMessage)
    );
    let topic = Action::Topic {
        text: "plans".into(),
    };
    assert_eq!(dm.authorize(&account("joon"), &topic), Ok(()));
}

#[test]
fn settings_tell_the_topic_roles_modes_and_whether_the_reader_is_muted() {
    let mut room = room();
    let mina = account("Mina");
    room.apply(
        &mina,
        &Action::Topic {
            text: "Rust".into(),
        },
        0,
    );
    room.apply(
        &mina,
        &Action::Op {
            target: account("ana"),
            on: true,
        },
        0,
    );
    room.apply(
        &mina,
        &Action::Mute {
            target: account("bo"),
            on: true,
        },
        0,
    );
    let settings = room.settings("bo");
    assert_eq!(settings.topic.as_deref(), Some("Rust"));
    assert_eq!(settings.owner.as_deref(), Some("Mina"));
    assert_eq!(settings.ops, ["ana", "joon"]);
    assert!(settings.muted);
    assert!(!room.settings("ana").muted);
    room.apply(
        &mina,
        &Action::Topic {
            text: String::new(),
        },
        0,
    );
    assert_eq!(room.settings("bo").topic, None);
}

#[test]
fn a_room_keeps_at_most_so_many_bans_and_expired_ones_make_room() {
    let mut room = room();
    let mina = account("Mina");
    for i in 0..MAX_BANS {
        let ban = Action::Ban {
            target: account(&format!("u{i}")),
            minutes: Some(1),
            reason: None,
        };
        room.authorize(&mina, &ban).unwrap();
        room.apply(&mina, &ban, 0);
    }
    let one_more = Action::Ban {
        target: account("late"),
        minutes: None,
        reason: None,
    };
    assert_eq!(room.authorize(&mina, &one_more), Err(Refusal::TooManyBans));
    let again = Action::Ban {
        target: account("u1"),
        minutes: None,
        reason: None,
    };
    assert_eq!(room.authorize(&mina, &again), Ok(()), "a ban made longer");
    room.apply(&mina, &Action::Topic { text: "x".into() }, 60_000);
    assert!(room.bans.is_empty(), "every one-minute ban ended");
    assert_eq!(room.authorize(&mina, &one_more), Ok(()));
}

#[test]
fn the_control_state_survives_json() {
    let mut room = room();
    let mina = account("Mina");
    room.apply(
        &mina,
        &Action::Ban {
            target: guest("g", "2001:db8::1"),
            minutes: Some(5),
            reason: None,
        },
        7,
    );
    room.apply(&mina, &Action::Topic { text: "t".into() }, 7);
    let json = serde_json::to_string(&room).unwrap();
    assert_eq!(serde_json::from_str::<RoomControl>(&json).unwrap(), room);
    assert_eq!(
        serde_json::from_str::<RoomControl>("{}").unwrap(),
        RoomControl::default()
    );
}
