//! The section "Big rooms: join storms" of docs/benchmarks.md, written by
//! `parley-report` from the JSON of every `parley-load storm` run of one
//! `make bench` (scripts/bench-storm.sh): the join storms in one room
//! beside the same N spread over N/10 rooms and beside the server before
//! the big-room work, the fan-out in the biggest room, the resume storms,
//! and issue 11's targets, met or missed by how much.

use std::fmt::Write;

use super::report::{StormReport, StormResult};

/// The heading of the section.
pub const HEADING: &str = "## Big rooms: join storms";

/// What the measurements say about where the time goes, written by hand
/// from profiles of a run (bench/src/storm/notes.md); appended as it is.
pub const NOTES: &str = include_str!("notes.md");

/// The runs of one `make bench`, sorted by what they measured.
pub(super) struct Runs<'a> {
    pub(super) one: Vec<&'a StormReport>,
    pub(super) spread: Vec<&'a StormReport>,
    pub(super) before: Vec<&'a StormReport>,
}

impl<'a> Runs<'a> {
    fn new(reports: &'a [StormReport]) -> Self {
        let mut runs = Runs {
            one: Vec::new(),
            spread: Vec::new(),
            before: Vec::new(),
        };
        for r in reports {
            match (r.baseline, r.rooms == 1) {
                (false, true) => runs.one.push(r),
                (false, false) => runs.spread.push(r),
                (true, true) => runs.before.push(r),
                (true, false) => {}
            }
        }
        for list in [&mut runs.one, &mut runs.spread, &mut runs.before] {
            list.sort_by_key(|r| r.clients);
        }
        runs
    }

    fn sizes(&self) -> Vec<usize> {
        let mut n: Vec<usize> = self
            .one
            .iter()
            .chain(&self.spread)
            .map(|r| r.clients)
            .collect();
        n.sort_unstable();
        n.dedup();
        n
    }

    pub(super) fn of(list: &[&'a StormReport], n: usize) -> Option<&'a StormReport> {
        list.iter().copied().find(|r| r.clients == n)
    }
}

/// `12345` as `12,345`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn time(s: &StormResult) -> String {
    if s.finished {
        format!("{:.2} s", s.secs)
    } else {
        format!(
            "**not in {:.0} s** ({} joined)",
            s.secs,
            thousands(s.joined)
        )
    }
}

fn ack(ms: Option<f64>) -> String {
    ms.map_or("none".into(), |ms| format!("{ms:.1} ms"))
}

fn kib(s: &StormResult) -> String {
    s.kib_per_connection()
        .map_or("–".into(), |k| format!("{k:.1}"))
}

fn resets(s: &StormResult) -> String {
    match s.resets() {
        0 => "0".into(),
        n => format!("**{n}** ({})", kinds(s)),
    }
}

fn kinds(s: &StormResult) -> String {
    s.troubles
        .iter()
        .map(|(k, n)| format!("{n} × {k}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The four cells of one storm: all joined, per join, KiB/conn, resets.
fn cells(r: Option<&StormReport>) -> String {
    match r {
        Some(r) => format!(
            "{} | {:.3} ms | {} | {}",
            time(&r.first),
            r.first.per_join_ms,
            kib(&r.first),
            resets(&r.first)
        ),
        None => "– | – | – | –".into(),
    }
}

fn before_cell(r: Option<&StormReport>) -> String {
    let Some(r) = r else { return "–".into() };
    let s = &r.first;
    let time = if s.finished {
        format!("{:.2} s ({:.3} ms per join)", s.secs, s.per_join_ms)
    } else {
        format!(
            "did not finish in {:.0} s: {} of {} joined",
            s.secs,
            thousands(s.joined),
            thousands(s.clients)
        )
    };
    match s.resets() {
        0 => time,
        n => format!("{time}; {n} resets ({})", kinds(s)),
    }
}

/// The section for `reports` with the notes, if there are any reports.
pub fn section(reports: &[StormReport]) -> Option<String> {
    (!reports.is_empty()).then(|| markdown(reports, NOTES))
}

/// The Markdown section for the runs of one `make bench`; `notes` (where
/// the time goes) is appended as it is.
pub fn markdown(reports: &[StormReport], notes: &str) -> String {
    let runs = Runs::new(reports);
    let mut s = String::new();
    let _ = writeln!(s, "{HEADING}\n");
    let any = runs.one.first().or(runs.spread.first()).copied();
    let (sources, concurrency, cpus) =
        any.map_or((0, 0, 0), |r| (r.sources, r.connect_concurrency, r.cpus));
    let before = runs.before.first().map_or(String::new(), |r| {
        format!(
            " *Before*: the same storm in one room against {} (protocol 1.x: each join sent a `presence` frame \
             to every member and a `joined` listing all members), same flags, given up after {:.0} s.",
            r.server, r.deadline_s
        )
    });
    let _ = writeln!(
        s,
        "`make bench` (scripts/bench-storm.sh, `parley-load storm`): for every N and layout a fresh server (release \
         build, SQLite in a temporary folder) with its **default limits** except the per-address connection cap and \
         pace, which one load-generator host must lift (`--max-connections-per-ip 0 --connect-rate-per-ip …`), and \
         `--max-http-connections 768`: the server fits its WebSocket cap into the open-file limit (20,000 here) less \
         that cap, and the default 1,024 would leave 18,908 WebSockets, too few for 19,000 clients. N \
         clients from {sources} loopback addresses, {concurrency} at a time (a client holds its place from its TCP \
         connect to its `joined`), each say `hello` and `join` the one room, or for the comparison one of N/10 rooms \
         of 10. *All joined*: from the first connect to the last `joined`; *per join*: that ÷ N; *KiB/conn*: the \
         server's VmRSS growth from before the first connect to 1 s after the last `joined`, ÷ N; *resets*: every \
         refused or reset connection, HTTP refusal, close and `error` frame a client saw from its first connect until \
         the next phase (a client that fails tries again, at most 5 times).{before} Server and load generator share \
         the machine's {cpus} cores.\n"
    );
    let _ = writeln!(
        s,
        "| N | one room: all joined | per join | KiB/conn | resets | N/10 rooms: all joined | per join | KiB/conn | resets | one ÷ spread | before, one room |"
    );
    let _ = writeln!(s, "|---:|---:|---:|---:|---|---:|---:|---:|---|---:|---|");
    for n in runs.sizes() {
        let (one, spread) = (Runs::of(&runs.one, n), Runs::of(&runs.spread, n));
        let ratio = match (one, spread) {
            (Some(o), Some(p)) if o.first.finished && p.first.finished => {
                format!("{:.2}×", o.first.secs / p.first.secs)
            }
            _ => "–".into(),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {ratio} | {} |",
            thousands(n),
            cells(one),
            cells(spread),
            before_cell(Runs::of(&runs.before, n))
        );
    }

    let _ = writeln!(
        s,
        "\n**Where the time goes**: CPU time of the server and of the load generator during each storm (both \
         processes on the same {cpus} cores: {cpus} s of CPU per second at most), the text frames a client received \
         on average (`welcome`, `joined`, then a `presence` per flush of its room), and single clients' time from \
         connect to `joined`.\n"
    );
    let _ = writeln!(
        s,
        "| N | layout | all joined | server CPU | generator CPU | frames per client | single join p50 | p99 | max |"
    );
    let _ = writeln!(s, "|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    let cpu = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.2} s"));
    for (layout, list) in [
        ("one room", &runs.one),
        ("N/10 rooms", &runs.spread),
        ("before, one room", &runs.before),
    ] {
        for r in list.iter() {
            let f = &r.first;
            let _ = writeln!(
                s,
                "| {} | {layout} | {} | {} | {} | {:.1} | {:.1} ms | {:.1} ms | {:.1} ms |",
                thousands(r.clients),
                time(f),
                cpu(f.server_cpu_s),
                cpu(f.load_cpu_s),
                f.frames_per_client,
                f.p50_ms,
                f.p99_ms,
                f.max_ms
            );
        }
    }

    let fanouts: Vec<_> = runs
        .one
        .iter()
        .filter_map(|r| r.fanout.as_ref().map(|f| (r, f)))
        .collect();
    if !fanouts.is_empty() {
        let _ = writeln!(
            s,
            "\n**Fan-out** in the room the storm filled: one more member joins and sends one 64-byte message, then \
             (½ s later) a burst back to back; measured from just before the send to the moment the last member had \
             it (every member reads every frame). The server acknowledges a message and sends it on only once it is \
             committed (SQLite, `synchronous=FULL`: an fsync), so the sender's *ack* shows how much of that was the \
             disk.\n"
        );
        let _ = writeln!(
            s,
            "| members | one message: all have it | its ack | delivered | burst | all have it | last ack | deliveries/s | resets |"
        );
        let _ = writeln!(s, "|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        for (r, f) in fanouts {
            let troubles: u64 = r.fanout_troubles.values().sum();
            let _ = writeln!(
                s,
                "| {} | {:.1} ms | {} | {} | {} messages | {:.1} ms | {} | {} | {} |",
                thousands(f.members),
                f.one_ms,
                ack(f.one_ack_ms),
                thousands(f.one_delivered),
                f.burst,
                f.burst_ms,
                ack(f.burst_ack_ms),
                thousands(f.deliveries_per_sec as usize),
                if troubles == 0 {
                    "0".into()
                } else {
                    format!("**{troubles}** ({:?})", r.fanout_troubles)
                }
            );
        }
    }

    let resumed: Vec<_> = runs.one.iter().filter(|r| !r.resumes.is_empty()).collect();
    for r in &resumed {
        let _ = writeln!(
            s,
            "\n**Resume storms**, {} clients in one room (first join: {}). *After a drop*: every client drops its \
             connection at once (no close frame, so the server keeps the session for its grace period); once the \
             server counts no connection, all come back with `hello {{resume}}` and `join {{since}}`. *After a \
             restart*: the script stops the server (SIGTERM: 1001 to everyone) and starts it again on the same \
             address and database; all come back with their old token (the session is gone: `resumed: false`) and \
             `join {{since}}`. Timed like the first join, from the first connect to the last `joined`.\n",
            thousands(r.clients),
            time(&r.first)
        );
        let _ = writeln!(
            s,
            "| storm | before it | all joined | per join | ÷ first join | resumed | KiB/conn | resets |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---|");
        for x in std::iter::once(&r.first).chain(&r.resumes) {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.3} ms | {:.2}× | {} | {} | {} |",
                x.kind,
                x.before_s.map_or("–".into(), |b| format!("{b:.2} s")),
                time(x),
                x.per_join_ms,
                x.secs / r.first.secs.max(1e-9),
                thousands(x.resumed),
                kib(x),
                resets(x)
            );
        }
    }

    super::targets::table(&mut s, &runs);
    if !notes.trim().is_empty() {
        let _ = writeln!(s, "\n{}", notes.trim());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(19_000), "19,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
