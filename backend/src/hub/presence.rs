//! The flusher: once per `--presence-interval`, tells each room that has
//! news (joins, leaves, typing) about it, in one frame per kind.
//!
//! Rooms put themselves on the hub's list when they get news
//! ([`Hub::note_news`]); one task, started by [`Hub::start`] and stopped by
//! [`Workers::stop`](super::Workers::stop), takes the list each interval.
//! So a storm of joins costs each member one `presence` frame per
//! interval, however many people arrive. In a cluster the same flush tells
//! the other nodes what this node's own members did (one hint per room per
//! interval), and their hints come back here as members elsewhere.

use std::sync::{Arc, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Hub;
use crate::room::{Room, RoomState};

impl Hub {
    /// Puts `room` on the list of rooms to flush if its state (locked by the
    /// caller) has news not yet listed.
    pub(super) fn note_news(&self, room: &Arc<Room>, state: &mut RoomState) {
        if state.needs_flush() {
            self.news
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(room.clone());
        }
    }

    /// Flushes every room on the list; returns how many frames were queued.
    /// A room with news it may not tell yet (a large room's count) stays
    /// on the list.
    pub fn flush_news(&self) -> usize {
        let rooms = std::mem::take(&mut *self.news.lock().unwrap_or_else(|p| p.into_inner()));
        rooms
            .iter()
            .map(|room| {
                let mut state = room.lock();
                let queued = state.flush();
                let announcements = state.announcements();
                self.note_news(room, &mut state);
                drop(state);
                if let Some(broker) = self.broker.get() {
                    broker.presence(&room.name, announcements);
                }
                queued
            })
            .sum()
    }

    /// Members of `room` on another node joined or left.
    pub(super) fn presence_elsewhere(&self, room: &str, node: &str, changes: Vec<(String, bool)>) {
        let Some(room) = self.room(room) else {
            return;
        };
        let mut state = room.lock();
        for (nick, joined) in changes {
            if joined {
                state.joined_elsewhere(&nick, node);
            } else {
                state.left_elsewhere(&nick, node);
            }
        }
        self.note_news(&room, &mut state);
    }

    /// Node `node` fell silent: its members left every room.
    pub(super) fn node_gone(&self, node: &str) {
        for room in self.all_rooms() {
            let mut state = room.lock();
            state.node_gone(node);
            self.note_news(&room, &mut state);
        }
    }
}

/// The task: flushes every `interval` until `stop` is cancelled or the hub
/// is gone.
pub(super) async fn run(hub: Weak<Hub>, interval: Duration, stop: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {
                let Some(hub) = hub.upgrade() else { return };
                hub.flush_news();
            }
        }
    }
}
