//! The reaper: ends the sessions whose connection dropped and did not come
//! back within the resume grace period.
//!
//! One task for all of them (a `DelayQueue`), started by [`Hub::start`]
//! and stopped by [`Workers::stop`](super::Workers::stop), instead of a
//! task spawned per dropped connection that nothing tracks: shutdown ends
//! every timer, and ten thousand clients dropping at once schedule ten
//! thousand entries, not ten thousand tasks.

use std::sync::Weak;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::time::DelayQueue;

use super::Hub;
use crate::ids::SessionId;

/// A session to end, unless it was resumed (its attachment moved on) or
/// has a connection again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Expiry {
    id: SessionId,
    attachment: u64,
}

/// Schedules expiries; held by the hub.
#[derive(Debug)]
pub(super) struct Reaper(mpsc::UnboundedSender<Expiry>);

/// The reaper task's end of the schedule.
#[derive(Debug)]
pub(super) struct ReaperQueue(mpsc::UnboundedReceiver<Expiry>);

impl Reaper {
    pub(super) fn new() -> (Reaper, ReaperQueue) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Reaper(tx), ReaperQueue(rx))
    }

    /// Ends the session `id` after the grace period, if by then it is still
    /// at `attachment` and detached. (Bounded by the number of sessions: a
    /// session is detached at most once per attachment.)
    pub(super) fn schedule(&self, id: SessionId, attachment: u64) {
        // After shutdown nobody ends sessions any more: they end with the process.
        let _ = self.0.send(Expiry { id, attachment });
    }
}

/// The task: waits out each grace period and ends what expired, until
/// `stop` is cancelled or the hub is gone.
pub(super) async fn run(
    mut queue: ReaperQueue,
    hub: Weak<Hub>,
    grace: Duration,
    stop: CancellationToken,
) {
    let mut timers = DelayQueue::new();
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            scheduled = queue.0.recv() => match scheduled {
                Some(expiry) => {
                    timers.insert(expiry, grace);
                }
                None => return,
            },
            Some(expired) = timers.next(), if !timers.is_empty() => {
                let Expiry { id, attachment } = expired.into_inner();
                let Some(hub) = hub.upgrade() else { return };
                hub.end(id, Some(attachment), true);
            }
        }
    }
}
