//! Issue 11's targets for big rooms, and the table that says whether the
//! storm runs of one `make bench` met them, and by how much they missed
//! if not. The words ("flat", "as cheap as") are made numbers
//! here, once, so that a run cannot be read kindly after the fact.

use std::fmt::Write;

use super::docs::{thousands, Runs};
use super::report::{StormReport, StormResult};

/// "Time per join flat": at most this much more per join at the largest N
/// than at the smallest.
pub const FLAT: f64 = 1.25;
/// "As cheap as first joins": a resume storm takes at most this many times
/// the first join's time.
pub const AS_CHEAP: f64 = 1.25;
/// 19,000 in one room within this many times the same spread over rooms.
pub const ONE_VS_SPREAD: f64 = 1.5;
/// Most server memory per connection, in KiB.
pub const KIB_PER_CONNECTION: f64 = 8.0;

/// A row of the targets table.
fn target(s: &mut String, name: &str, measured: String, met: Option<bool>, missed_by: String) {
    let met = match met {
        Some(true) => "yes".to_owned(),
        Some(false) => format!("**no**: {missed_by}"),
        None => "not measured".to_owned(),
    };
    let _ = writeln!(s, "| {name} | {measured} | {met} |");
}

/// Writes the targets table for `runs` into `s`.
pub(super) fn table(s: &mut String, runs: &Runs) {
    let _ = writeln!(
        s,
        "\n**What makes one room cheap**: joins and leaves are told once per room per `--presence-interval` \
         (250 ms), and a room of `--large-room` (1,000) members or more names nobody: its `presence` carries \
         only the count, at most once per `--large-room-presence-interval` (2 s), and its `joined` lists no \
         members (a client that shows the list asks for a page with `members`). A storm client here never \
         asks; one that asks for the first page of 100 names keeps about 1.2 KiB more per connection (the \
         socket's write buffer keeps the capacity of the largest frame it sent: 8.9 KiB per connection \
         measured at 19,000 while `joined` still carried that page)."
    );
    let _ = writeln!(s, "\n**Targets** (issue 11):\n");
    let _ = writeln!(s, "| target | measured | met |");
    let _ = writeln!(s, "|---|---|---|");
    let biggest = runs.one.last().copied();
    let big_n = biggest.map_or(0, |r| r.clients);
    let spread = Runs::of(&runs.spread, big_n);
    let ratio = biggest
        .zip(spread)
        .filter(|(o, p)| o.first.finished && p.first.finished)
        .map(|(o, p)| o.first.secs / p.first.secs);
    target(
        s,
        &format!(
            "{} in one room within {ONE_VS_SPREAD}× the time spread over {} rooms",
            thousands(big_n),
            thousands(spread.map_or(0, |p| p.rooms))
        ),
        ratio.map_or("–".into(), |r| format!("{r:.2}×")),
        ratio.map(|r| r <= ONE_VS_SPREAD),
        ratio.map_or(String::new(), |r| {
            format!("{r:.2}×, {:.0} % over", (r / ONE_VS_SPREAD - 1.0) * 100.0)
        }),
    );
    let all: Vec<&StormReport> = runs.one.iter().chain(&runs.spread).copied().collect();
    let resets: u64 = all
        .iter()
        .map(|r| {
            std::iter::once(&r.first)
                .chain(&r.resumes)
                .map(StormResult::resets)
                .sum::<u64>()
                + r.fanout_troubles.values().sum::<u64>()
        })
        .sum();
    target(
        s,
        "no reset (every storm, fan-out and resume above)",
        format!("{resets}"),
        (!all.is_empty()).then_some(resets == 0),
        format!("{resets} resets (see the tables)"),
    );
    let kib = biggest.and_then(|r| r.first.kib_per_connection());
    target(
        s,
        &format!(
            "≤ {KIB_PER_CONNECTION} KiB per connection, {} in one room",
            thousands(big_n)
        ),
        kib.map_or("–".into(), |k| format!("{k:.1} KiB")),
        kib.map(|k| k <= KIB_PER_CONNECTION),
        kib.map_or(String::new(), |k| {
            format!("{:.1} KiB over", k - KIB_PER_CONNECTION)
        }),
    );
    let smallest = runs.one.first().copied();
    let flat = smallest
        .zip(biggest)
        .filter(|(a, b)| a.first.finished && b.first.finished && a.clients < b.clients)
        .map(|(a, b)| (a, b, b.first.per_join_ms / a.first.per_join_ms));
    target(
        s,
        &format!("time per join flat (one room; at most {FLAT}× from smallest to largest N)"),
        flat.map_or("–".into(), |(a, b, r)| {
            format!(
                "{:.3} ms at {} → {:.3} ms at {} ({r:.2}×)",
                a.first.per_join_ms,
                thousands(a.clients),
                b.first.per_join_ms,
                thousands(b.clients)
            )
        }),
        flat.map(|(_, _, r)| r <= FLAT),
        flat.map_or(String::new(), |(_, _, r)| format!("{r:.2}×")),
    );
    let fan = biggest.and_then(|r| r.fanout.as_ref());
    target(
        s,
        &format!(
            "one message reaching {} members; deliveries/s there",
            thousands(big_n)
        ),
        fan.map_or("–".into(), |f| {
            format!(
                "{} of {} in {:.1} ms; {} deliveries/s",
                thousands(f.one_delivered),
                thousands(f.members),
                f.one_ms,
                thousands(f.deliveries_per_sec as usize)
            )
        }),
        fan.map(|f| f.one_delivered == f.members && f.burst_delivered == f.members * f.burst),
        "not every member got every message".into(),
    );
    let restart = runs
        .one
        .iter()
        .find_map(|r| Some((r, r.resume("resume after a restart")?)));
    let cheap = restart
        .filter(|(r, x)| r.first.finished && x.finished)
        .map(|(r, x)| (r.clients, x.secs / r.first.secs));
    target(
        s,
        &format!(
            "{} resuming into one room after a restart as cheap as first joins (at most {AS_CHEAP}× their time)",
            thousands(cheap.map_or(0, |(n, _)| n))
        ),
        cheap.map_or("–".into(), |(_, r)| format!("{r:.2}× the first join")),
        cheap.map(|(_, r)| r <= AS_CHEAP),
        cheap.map_or(String::new(), |(_, r)| format!("{r:.2}×")),
    );
}
