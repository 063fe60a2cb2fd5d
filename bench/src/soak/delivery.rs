//! The good clients' ledger: whether every message a good client sent and
//! the server acknowledged reached each of its room-mates exactly once,
//! counted after the soak from what each client sent and saw.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::good::{GoodResult, Noise};

/// Whether every acknowledged message reached every room-mate exactly once.
#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct Delivery {
    /// Messages sent.
    pub sent: u64,
    /// ... of which the server acknowledged.
    pub acked: u64,
    /// Arrivals the acknowledged messages should cause (room-mates).
    pub expected: u64,
    /// Distinct messages that arrived, at room-mates.
    pub delivered: u64,
    /// Expected arrivals that never came.
    pub missing: u64,
    /// Arrivals beyond the first of one message at one client.
    pub duplicates: u64,
    /// Messages that arrived although never acknowledged.
    pub unacked_delivered: u64,
    /// Messages that arrived at a client outside the sender's room.
    pub misrouted: u64,
}

/// Counts [`Delivery`] over every client's result.
pub fn delivery(results: &[GoodResult]) -> Delivery {
    let mut d = Delivery::default();
    let by_index: HashMap<usize, &GoodResult> = results.iter().map(|r| (r.index, r)).collect();
    for r in results {
        d.sent += r.sent;
        d.acked += r.acked.iter().filter(|&&a| a).count() as u64;
    }
    for receiver in results {
        for sender in results
            .iter()
            .filter(|s| s.room == receiver.room && s.index != receiver.index)
        {
            let counts = receiver
                .received
                .get(&sender.index)
                .map_or(&[][..], |c| &c[..]);
            for n in 0..sender.acked.len().max(counts.len()) {
                let (count, acked) = (
                    counts.get(n).copied().unwrap_or(0),
                    sender.acked.get(n) == Some(&true),
                );
                d.expected += u64::from(acked);
                d.missing += u64::from(acked && count == 0);
                d.delivered += u64::from(count > 0);
                d.unacked_delivered += u64::from(!acked && count > 0);
                d.duplicates += u64::from(count.saturating_sub(1));
            }
        }
        for (sender, counts) in &receiver.received {
            let elsewhere = by_index
                .get(sender)
                .is_none_or(|s| s.room != receiver.room || s.index == receiver.index);
            if elsewhere {
                d.misrouted += counts.iter().map(|&c| u64::from(c)).sum::<u64>();
            }
        }
    }
    d
}

/// What went wrong for the good clients besides delivery (all empty in a
/// clean soak), and what they saw of the hostile ones.
#[derive(Debug, Default, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Troubles {
    /// How the server cut good clients off, and how often.
    pub cut: BTreeMap<String, u64>,
    /// `error` frames good clients got, by code.
    pub errors: BTreeMap<String, u64>,
    /// Frames from the hostile clients in the good rooms.
    pub noise: Noise,
}

/// Sums [`Troubles`] over every client's result.
pub fn troubles(results: &[GoodResult]) -> Troubles {
    let mut t = Troubles::default();
    for r in results {
        for (why, n) in &r.cut {
            *t.cut.entry(why.clone()).or_default() += n;
        }
        for (code, n) in &r.errors {
            *t.errors.entry(code.clone()).or_default() += n;
        }
        t.noise.messages += r.noise.messages;
        t.noise.presence += r.noise.presence;
        t.noise.typing += r.noise.typing;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(
        index: usize,
        room: usize,
        acked: &[bool],
        received: &[(usize, &[u32])],
    ) -> GoodResult {
        GoodResult {
            index,
            room,
            sent: acked.len() as u64,
            acked: acked.to_vec(),
            received: received.iter().map(|(s, c)| (*s, c.to_vec())).collect(),
            ..GoodResult::default()
        }
    }

    #[test]
    fn delivery_counts_missing_duplicates_and_strays() {
        let results = [
            // Room 0: clients 0, 1, 2. Client 0 sent three, the second unacked.
            client(0, 0, &[true, false, true], &[(1, &[1])]),
            client(1, 0, &[true], &[(0, &[1, 1, 2])]), // a duplicate of 0's third
            client(2, 0, &[], &[(0, &[1]), (1, &[1])]), // 0's third missing
            client(3, 1, &[], &[(0, &[1])]),           // 0's first, in the wrong room
        ];
        let d = delivery(&results);
        assert_eq!((d.sent, d.acked), (4, 3));
        assert_eq!(d.expected, 2 * 2 + 2);
        assert_eq!(d.missing, 1);
        assert_eq!(d.duplicates, 1);
        assert_eq!(d.unacked_delivered, 1);
        assert_eq!(d.misrouted, 1);
        assert_eq!(d.delivered, 3 + 1 + 2);
    }
}
