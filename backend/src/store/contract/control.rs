//! The contract's test of rooms people run: control state, the moderation
//! log and direct messages, through a restart.

use parley_protocol::{name_key, ModAction};

use super::{act, person, MOD_RULES};
use crate::store::{Action, MessageStore, Refusal};

pub(crate) fn control_and_direct_messages_outlive_a_restart_and_refusals_take_no_seq(
    open: &dyn Fn() -> Box<dyn MessageStore>,
) {
    let (mina, guest) = (person("Mina", true), person("spam", false));
    {
        let store = open();
        let batch = [
            act("club", mina.clone(), Action::Claim),
            act(
                "club",
                guest.clone(),
                Action::Topic {
                    text: "mine".into(),
                },
            ),
            act(
                "club",
                mina.clone(),
                Action::Topic {
                    text: "Rust".into(),
                },
            ),
            act(
                "club",
                mina.clone(),
                Action::Ban {
                    target: guest.clone(),
                    minutes: None,
                    reason: Some("spam".into()),
                },
            ),
            act(
                "dm:abcdefgh01234567",
                mina.clone(),
                Action::OpenDm {
                    with: "joon".into(),
                },
            ),
        ];
        let applied = store.append_batch(&batch, &MOD_RULES).unwrap();
        assert_eq!(applied[1], Err(Refusal::NotModerator));
        let seqs: Vec<u64> = applied.iter().flatten().map(|e| e.seq()).collect();
        assert_eq!(seqs, [1, 2, 3, 1], "a refusal takes no seq");
    }
    let store = open();
    let control = store.control("club").unwrap();
    assert_eq!(control.owner.as_deref(), Some("Mina"));
    assert_eq!(control.topic, "Rust");
    assert_eq!(
        control.admits(&guest, 2_000),
        Err(crate::store::Keep::Banned(None))
    );
    let events = store.events("club", 0, 3, 10).unwrap();
    let kinds: Vec<&str> = events
        .items
        .iter()
        .map(|e| match e {
            parley_protocol::RoomEvent::Moderation(m) => m.action.as_str(),
            parley_protocol::RoomEvent::Topic(_) => "topic",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["owner", "topic", "ban"]);
    let log = store.modlog("club", u64::MAX, 2).unwrap();
    assert!(log.more);
    assert!(
        matches!(&log.items[0], parley_protocol::RoomEvent::Moderation(m) if m.action == ModAction::Ban)
    );
    assert_eq!(store.modlog("club", 2, 10).unwrap().items.len(), 1);
    let room = Some("dm:abcdefgh01234567".to_owned());
    let (joon, mina, ana) = (name_key("joon"), name_key("MINA"), name_key("ana"));
    assert_eq!(store.dm_between(&joon, &mina).unwrap(), room);
    assert_eq!(store.dm_between(&mina, &joon).unwrap(), room);
    assert_eq!(store.dm_between(&mina, &ana).unwrap(), None);
    assert_eq!(store.dms_of(&joon).unwrap(), [room.clone().unwrap()]);
    assert!(store.dms_of(&ana).unwrap().is_empty());
    assert_eq!(store.control("nowhere").unwrap(), Default::default());
}
