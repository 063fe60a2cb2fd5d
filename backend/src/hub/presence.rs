//! The flusher: once per `--presence-interval`, tells each room that has
//! news (joins, leaves, typing) about it, in one frame per kind.
//!
//! Rooms put themselves on the hub's list when they get news
//! ([`Hub::note_news`]); one task, started by [`Hub::start`] and stopped by
//! [`Workers::stop`](super::Workers::stop), takes the list each interval.
//! So a storm of joins costs each member one `presence` frame per
//! interval, however many people arrive.

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
                self.note_news(room, &mut state);
                queued
            })
            .sum()
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
