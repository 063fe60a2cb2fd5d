//! Who is in a room, and telling the members about it without drowning
//! them.
//!
//! Sending a `presence` frame to every member for every join makes a join
//! storm quadratic: 20,000 people arriving cost 200 million frames. So a
//! room gathers joins, leaves and typing for one interval
//! (`--presence-interval`) and sends one `presence` and one `typing` frame
//! for all of it. A leave and a join of the same member within one
//! interval (a reconnect) cancel out and show nothing. A large room
//! (`--large-room` members or more) sends only its member count, and that
//! at most once per `--large-room-presence-interval`: in a room of 20,000
//! a count every 250 ms would be most of what the server sends. The
//! members themselves are kept in nickname order (the roster), so a page
//! of them, or those starting with a prefix (the mention autocomplete), is
//! read without sorting anyone.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::time::Duration;

use tokio::time::Instant;

use parley_protocol::{name_key, sort_key};

use crate::ids::SessionId;

/// Most typists named in one `typing` frame.
pub const TYPISTS_NAMED: usize = 5;
/// Most `@` a message is read for.
const MENTIONS_READ: usize = 50;

/// The members in nickname order (by [`sort_key`]), and findable by
/// [`name_key`] (mentions).
#[derive(Debug, Default)]
pub(super) struct Roster {
    /// Sort key → (session, nickname).
    members: BTreeMap<String, (SessionId, String)>,
    /// Name key → sort key.
    by_key: HashMap<String, String>,
}

impl Roster {
    pub(super) fn insert(&mut self, id: SessionId, nick: &str) {
        let sort = sort_key(nick);
        self.by_key.insert(name_key(nick), sort.clone());
        self.members.insert(sort, (id, nick.to_owned()));
    }

    /// The session listed under `nick`'s name key, if any.
    pub(super) fn id_of(&self, nick: &str) -> Option<SessionId> {
        let sort = self.by_key.get(&name_key(nick))?;
        self.members.get(sort).map(|(id, _)| *id)
    }

    pub(super) fn remove(&mut self, nick: &str) {
        self.by_key.remove(&name_key(nick));
        self.members.remove(&sort_key(nick));
    }

    /// The members `text` names as `@nick` (compared like nicknames: by
    /// their name key), each once, in the order named. A nickname may hold
    /// spaces, so after each `@` the longest member name that ends at a
    /// word boundary wins.
    pub(super) fn mentioned(&self, text: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for (at, _) in text.match_indices('@').take(MENTIONS_READ) {
            let after: Vec<char> = text[at + 1..]
                .chars()
                .take(parley_protocol::MAX_NICK_CHARS + 1)
                .collect();
            let boundary = |i: usize| {
                after
                    .get(i)
                    .is_none_or(|c| !parley_protocol::names::is_name_char(*c))
            };
            let hit = (1..=after.len().min(parley_protocol::MAX_NICK_CHARS))
                .rev()
                .filter(|len| boundary(*len))
                .find_map(|len| {
                    let candidate: String = after[..len].iter().collect();
                    let sort = self.by_key.get(&name_key(&candidate))?;
                    self.members.get(sort).map(|(_, nick)| nick.clone())
                });
            if let Some(nick) = hit {
                if !found.contains(&nick) {
                    found.push(nick);
                }
            }
        }
        found
    }

    /// Up to `limit` nicknames starting with `prefix` (ignoring case) that
    /// come after `after`, and whether more match.
    pub(super) fn page(
        &self,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<String>, bool) {
        let prefix = sort_key(prefix);
        let start = match after {
            Some(after) => {
                let after = sort_key(after);
                if after >= prefix {
                    Bound::Excluded(after)
                } else {
                    Bound::Included(prefix.clone())
                }
            }
            None => Bound::Included(prefix.clone()),
        };
        let mut matching = self
            .members
            .range((start, Bound::Unbounded))
            .take_while(|(key, _)| key.starts_with(&prefix))
            .map(|(_, (_, nick))| nick.clone());
        let page: Vec<String> = matching.by_ref().take(limit).collect();
        let more = matching.next().is_some();
        (page, more)
    }
}

/// What happened in a room since its last flush.
#[derive(Debug, Default)]
pub(super) struct Pending {
    /// Arrived (by sort key).
    joined: BTreeMap<String, String>,
    /// Left.
    left: BTreeMap<String, String>,
    /// Typed.
    typing: BTreeMap<String, String>,
    /// The member count at the last flush.
    count_flushed: usize,
    /// When the last `presence` frame went out.
    told_at: Option<Instant>,
    /// Whether the room is on the hub's list of rooms to flush.
    scheduled: bool,
}

/// The frames one flush sends to every member.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Flush {
    /// `presence`: arrived, left (both empty in a large room), count.
    pub(super) presence: Option<(Vec<String>, Vec<String>, usize)>,
    /// `typing`: some typists, and how many.
    pub(super) typing: Option<(Vec<String>, usize)>,
}

impl Pending {
    /// `nick` joined.
    pub(super) fn joined(&mut self, nick: &str) {
        let key = sort_key(nick);
        // Back within the interval: as if it had never left.
        if self.left.remove(&key).is_none() {
            self.joined.insert(key, nick.to_owned());
        }
    }

    /// `nick` left.
    pub(super) fn left(&mut self, nick: &str) {
        let key = sort_key(nick);
        self.typing.remove(&key);
        // Gone within the interval it came in: nobody needs to know.
        if self.joined.remove(&key).is_none() {
            self.left.insert(key, nick.to_owned());
        }
    }

    /// `nick` typed.
    pub(super) fn typed(&mut self, nick: &str) {
        self.typing.insert(sort_key(nick), nick.to_owned());
    }

    /// `nick` sent a message, which ends its typing.
    pub(super) fn stopped_typing(&mut self, nick: &str) {
        self.typing.remove(&sort_key(nick));
    }

    /// Whether the room must be put on the list of rooms to flush: there is
    /// something to flush and it is not on the list yet. Marks it listed.
    pub(super) fn schedule(&mut self, count: usize) -> bool {
        let something = !self.joined.is_empty()
            || !self.left.is_empty()
            || !self.typing.is_empty()
            || count != self.count_flushed;
        if something && !self.scheduled {
            self.scheduled = true;
            return true;
        }
        false
    }

    /// Takes what happened since the last flush, as the frames to send. A
    /// room of `large` members or more names nobody in `presence`, and
    /// tells its count only if `every` has passed since its last
    /// `presence` (until then the new count stays news).
    pub(super) fn flush(
        &mut self,
        count: usize,
        large: usize,
        every: Duration,
        now: Instant,
    ) -> Flush {
        self.scheduled = false;
        let (joined, left) = (
            std::mem::take(&mut self.joined),
            std::mem::take(&mut self.left),
        );
        let changed = !joined.is_empty() || !left.is_empty() || count != self.count_flushed;
        let due = count < large || self.told_at.is_none_or(|at| now >= at + every);
        let presence = (changed && due).then(|| {
            self.count_flushed = count;
            self.told_at = Some(now);
            if count >= large {
                (Vec::new(), Vec::new(), count)
            } else {
                (
                    joined.into_values().collect(),
                    left.into_values().collect(),
                    count,
                )
            }
        });
        let typing = std::mem::take(&mut self.typing);
        let typing = (!typing.is_empty()).then(|| {
            let count = typing.len();
            (typing.into_values().take(TYPISTS_NAMED).collect(), count)
        });
        Flush { presence, typing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: Duration = Duration::from_secs(2);

    fn now() -> Instant {
        Instant::now()
    }

    fn roster(nicks: &[&str]) -> Roster {
        let mut roster = Roster::default();
        for (id, nick) in nicks.iter().enumerate() {
            roster.insert(id as SessionId, nick);
        }
        roster
    }

    #[test]
    fn pages_follow_nickname_order_and_filter_by_prefix() {
        let roster = roster(&["mina", "Joon", "ana", "Bo", "miro", "jin", "MIKA"]);
        assert_eq!(
            roster.page("", None, 3),
            (vec!["ana".into(), "Bo".into(), "jin".into()], true)
        );
        assert_eq!(
            roster.page("", Some("jin"), 3),
            (vec!["Joon".into(), "MIKA".into(), "mina".into()], true)
        );
        assert_eq!(
            roster.page("", Some("mina"), 3),
            (vec!["miro".into()], false)
        );
        assert_eq!(
            roster.page("Mi", None, 10),
            (vec!["MIKA".into(), "mina".into(), "miro".into()], false)
        );
        assert_eq!(
            roster.page("mi", Some("mika"), 1),
            (vec!["mina".into()], true)
        );
        assert_eq!(
            roster.page("mi", Some("a"), 1),
            (vec!["MIKA".into()], true),
            "after before the prefix"
        );
        assert_eq!(roster.page("x", None, 10), (vec![], false));
        let mut roster = roster;
        roster.remove("MINA");
        assert_eq!(roster.page("min", None, 10), (vec![], false));
    }

    #[test]
    fn mentions_name_members_ignoring_case_and_prefer_the_longest_name() {
        let roster = roster(&["mina", "Mina Park", "joon", "ana.b"]);
        assert_eq!(
            roster.mentioned("hi @MINA and @joon!"),
            vec!["mina", "joon"]
        );
        assert_eq!(roster.mentioned("@mina park, look"), vec!["Mina Park"]);
        assert_eq!(
            roster.mentioned("@minas @joonie email@ana.b.c @ana.b"),
            vec!["ana.b"]
        );
        assert_eq!(roster.mentioned("@stranger @mina @mina"), vec!["mina"]);
        assert!(roster.mentioned("no mentions @ all").is_empty());
        // A combining mark continues a name: @அர்ஜுன் is not @அர.
        let tamil = self::roster(&["அர", "Ana"]);
        assert!(tamil.mentioned("@அர்ஜுன் வணக்கம்").is_empty());
        assert_eq!(tamil.mentioned("@அர, hi @ANA"), vec!["அர", "Ana"]);
    }

    #[test]
    fn a_reconnect_within_one_interval_shows_nothing() {
        let mut pending = Pending {
            count_flushed: 2,
            ..Pending::default()
        };
        pending.left("mina");
        pending.joined("Mina");
        assert!(!pending.schedule(2), "nothing to say");
        assert_eq!(pending.flush(2, 1000, EVERY, now()), Flush::default());
        // And a visit within one interval, neither.
        pending.joined("joon");
        pending.typed("joon");
        pending.left("joon");
        assert_eq!(pending.flush(2, 1000, EVERY, now()), Flush::default());
    }

    #[test]
    fn one_flush_says_everything_once() {
        let mut pending = Pending::default();
        assert!(!pending.schedule(0));
        pending.joined("ana");
        assert!(pending.schedule(1));
        pending.joined("bo");
        pending.left("cy");
        pending.typed("ana");
        pending.typed("ana");
        assert!(!pending.schedule(2), "listed once");
        let flush = pending.flush(2, 1000, EVERY, now());
        assert_eq!(
            flush.presence,
            Some((vec!["ana".into(), "bo".into()], vec!["cy".into()], 2))
        );
        assert_eq!(flush.typing, Some((vec!["ana".into()], 1)));
        assert_eq!(
            pending.flush(2, 1000, EVERY, now()),
            Flush::default(),
            "nothing twice"
        );
        assert!(!pending.schedule(2));
        pending.stopped_typing("x");
        pending.typed("bo");
        pending.stopped_typing("BO");
        assert!(!pending.schedule(2));
    }

    #[test]
    fn a_large_room_says_only_its_count_and_names_a_few_typists() {
        let mut pending = Pending::default();
        for i in 0..10 {
            pending.joined(&format!("n{i}"));
            pending.typed(&format!("n{i}"));
        }
        let flush = pending.flush(10, 10, EVERY, now());
        assert_eq!(flush.presence, Some((vec![], vec![], 10)));
        let (named, count) = flush.typing.unwrap();
        assert_eq!((named.len(), count), (TYPISTS_NAMED, 10));
        // The count alone changing is news too, told once `EVERY` passed.
        let start = now();
        assert!(pending.schedule(11));
        assert_eq!(pending.flush(11, 10, EVERY, start).presence, None);
        assert!(pending.schedule(11), "still news");
        let later = start + EVERY;
        assert_eq!(
            pending.flush(11, 10, EVERY, later).presence,
            Some((vec![], vec![], 11))
        );
        assert!(!pending.schedule(11), "told");
        // Exactly `large` members is large too: not told again so soon.
        assert!(pending.schedule(10));
        assert_eq!(pending.flush(10, 10, EVERY, later).presence, None);
        // A small room is told at once, every time.
        assert_eq!(
            pending.flush(5, 10, EVERY, later).presence,
            Some((vec![], vec![], 5))
        );
        assert_eq!(
            pending.flush(4, 10, EVERY, later).presence,
            Some((vec![], vec![], 4))
        );
    }

    #[test]
    fn a_leave_or_typing_alone_is_news_even_if_the_count_stayed() {
        // (One left and another joined: the count is what it was.)
        let mut pending = Pending::default();
        pending.left("ana");
        assert!(pending.schedule(0), "a leave");
        assert_eq!(
            pending.flush(0, 10, EVERY, now()).presence,
            Some((vec![], vec!["ana".into()], 0))
        );
        pending.typed("bo");
        assert!(pending.schedule(0), "typing");
        let flush = pending.flush(0, 10, EVERY, now());
        assert_eq!(flush.presence, None, "no presence news");
        assert_eq!(flush.typing, Some((vec!["bo".into()], 1)));
    }
}
