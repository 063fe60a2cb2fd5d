//! Members on other nodes, in a cluster.
//!
//! A room's roster, count and `presence` cover everyone in it, wherever
//! they are connected: the members on this node are [`RoomState`]'s own,
//! those on other nodes are kept here by nickname, with their node, as the
//! other nodes announce them (and as Redis lists them when the room loads
//! here). Nothing is delivered to them from here: their own node does.
//!
//! A session that moves between nodes (a resume elsewhere) is one person
//! throughout: the node it leaves turns its member into one *elsewhere*
//! and the node it reaches turns that entry back into a member of its
//! own, neither with a `presence`, so nobody sees it leave. This node
//! announces what its own members do ([`RoomState::announcements`]); a
//! node that falls silent takes its members with it
//! ([`RoomState::node_gone`]).

use parley_protocol::name_key;

use super::RoomState;
use crate::ids::SessionId;

/// The roster's session id for a member on another node.
const ELSEWHERE: SessionId = 0;

/// A member on another node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Remote {
    /// Its nickname.
    pub(super) nick: String,
    /// Its node.
    pub(super) node: String,
}

impl RoomState {
    /// Members on other nodes, at load (the room has none of its own
    /// yet): already there, so not told.
    pub fn add_elsewhere(&mut self, members: Vec<(String, String)>) {
        for (nick, node) in members {
            self.roster.insert(ELSEWHERE, &nick);
            self.elsewhere
                .insert(name_key(&nick), Remote { nick, node });
        }
    }

    /// `nick` joined on `node`.
    pub fn joined_elsewhere(&mut self, nick: &str, node: &str) {
        if self.own_member(nick).is_some() {
            return; // its session is moving here, or it is about to leave
        }
        let remote = Remote {
            nick: nick.to_owned(),
            node: node.to_owned(),
        };
        if self.elsewhere.insert(name_key(nick), remote).is_none() {
            self.roster.insert(ELSEWHERE, nick);
            self.pending.joined(nick);
        }
    }

    /// `nick` left on `node` (if it is still there, and not here).
    pub fn left_elsewhere(&mut self, nick: &str, node: &str) {
        let key = name_key(nick);
        if self.elsewhere.get(&key).is_some_and(|r| r.node == node) {
            self.elsewhere.remove(&key);
            if self.own_member(nick).is_none() {
                self.roster.remove(nick);
                self.pending.left(nick);
            }
        }
    }

    /// `node` fell silent: its members left.
    pub fn node_gone(&mut self, node: &str) {
        let gone: Vec<String> = self
            .elsewhere
            .iter()
            .filter(|(_, r)| r.node == node)
            .map(|(k, _)| k.clone())
            .collect();
        for key in gone {
            if let Some(remote) = self.elsewhere.remove(&key) {
                self.roster.remove(&remote.nick);
                self.pending.left(&remote.nick);
            }
        }
    }

    /// Session `id` moved to `node`: its member here (if it is one)
    /// becomes one there, and nobody is told.
    pub fn moved_elsewhere(&mut self, id: SessionId, node: &str) {
        let Some(member) = self.members.remove(&id) else {
            return;
        };
        let key = name_key(&member.nick);
        self.roster.remove(&member.nick);
        self.roster.insert(ELSEWHERE, &member.nick);
        self.elsewhere.insert(
            key,
            Remote {
                nick: member.nick,
                node: node.to_owned(),
            },
        );
    }

    /// This node's own member named `nick`, if there is one.
    pub fn own_member(&self, nick: &str) -> Option<SessionId> {
        self.roster.id_of(nick).filter(|id| *id != ELSEWHERE)
    }

    /// Takes what this node's own members did since the last time, to
    /// tell the other nodes: (nickname, joined) in order.
    pub fn announcements(&mut self) -> Vec<(String, bool)> {
        std::mem::take(&mut self.announce)
    }

    /// Whether the room has no member on this node (it may have some
    /// elsewhere): it can be dropped from memory.
    pub fn empty_here(&self) -> bool {
        self.members.is_empty()
    }
}
