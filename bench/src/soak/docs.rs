//! The soak's section of docs/benchmarks.md, "Soak: good clients among
//! hostile ones": written from a [`SoakReport`], and put in place of the
//! old one (or at the end) without touching the rest of the file, which
//! `make bench` owns.

use std::fmt::Write;

use super::hostile::Kind;
use super::report::{answers, endings, length, load, mib, pct, span, SoakReport};

/// The heading of the soak's section.
pub const HEADING: &str = "## Soak: good clients among hostile ones";

/// The ending `how` of `kind`, counted over the report.
fn ended(report: &SoakReport, kind: Kind, how: &str) -> u64 {
    let row = report.hostile.iter().find(|r| r.kind == kind);
    row.map_or(0, |r| {
        r.endings
            .iter()
            .filter(|e| e.how == how)
            .map(|e| e.count)
            .sum()
    })
}

/// The Markdown section for `report`, naming `command` as what made it.
pub fn markdown(report: &SoakReport, command: &str) -> String {
    let (d, t, all) = (&report.delivery, &report.troubles, &report.overall);
    let mut s = String::new();
    let _ = writeln!(s, "{HEADING}\n");
    let _ = writeln!(
        s,
        "`{command}` (scripts/soak.sh, `parley-load soak`): the server (release build) runs with its **default limits** \
         (only `--addr` and `--database-url sqlite://…`) for {} while {} good clients in {} rooms (from {} \
         loopback addresses) talk, and {} kinds of hostile client, {} instances each, attack it from addresses of their \
         own (127.0.K.I), trying again whenever they are cut off. A good client says something every {:.0} s ({} bytes, \
         a `typing` first), pings every 10 s like the browser app, and checks that every message its room-mates sent and \
         the server acknowledged arrives exactly once; latency runs from when a message was due (open-loop schedule) to \
         its arrival. Server, good and hostile clients share one {}-core machine, which may be running other work \
         too: the table gives the server's CPU use (100 % is one core) and the machine's load average beside the \
         latencies.\n",
        length(report.duration_s),
        report.clients,
        report.rooms,
        report.sources,
        report.hostile.len(),
        report.instances,
        report.every_s,
        report.size,
        report.cpus
    );
    let none = |empty: bool, text: String, otherwise: &str| {
        if empty {
            otherwise.to_owned()
        } else {
            text
        }
    };
    let _ = writeln!(
        s,
        "**Good clients**: {} messages sent, {} acknowledged; {} of {} expected arrivals, **{} missing, {} duplicates**; \
         cut off: {}; errors: {}. Latency over the whole soak: p50 {:.1} ms, **p99 {:.1} ms**, max {:.1} ms.\n",
        d.sent,
        d.acked,
        d.expected - d.missing,
        d.expected,
        d.missing,
        d.duplicates,
        none(t.cut.is_empty(), format!("{:?}", t.cut), "never"),
        none(t.errors.is_empty(), format!("{:?}", t.errors), "none"),
        all.p50_ms,
        all.p99_ms,
        all.max_ms
    );
    let _ = writeln!(
        s,
        "**Server memory** (VmRSS): {} before any client, {} with the good clients connected, at most {} under attack, \
         {} at the end (every client gone).\n",
        mib(report.rss_before_kib),
        mib(report.rss_start_kib),
        mib(all.rss_max_kib),
        mib(report.rss_end_kib)
    );
    let _ = writeln!(
        s,
        "| interval | arrivals | p50 ms | p99 ms | max ms | RSS max | RSS at its end | server CPU | load (1 min) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for row in &report.intervals {
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} | {:.1} | {:.1} | {} | {} | {} | {} |",
            span(row),
            row.deliveries,
            row.p50_ms,
            row.p99_ms,
            row.max_ms,
            mib(row.rss_max_kib),
            mib(row.rss_last_kib),
            pct(row.server_cpu_pct),
            load(row.load1)
        );
    }
    let _ = writeln!(
        s,
        "\n**Hostile clients**: how the server ended each attempt, against what docs/protocol.md promises (attempts \
         still under way when the soak ended are not counted).\n"
    );
    let _ = writeln!(s, "| kind | an attempt | documented | attempts ended by | answers on the way | as documented |");
    let _ = writeln!(s, "|---|---|---|---|---|---|");
    for row in &report.hostile {
        let ok = if row.as_documented { "yes" } else { "**no**" };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {ok} |",
            row.kind.name(),
            row.what,
            row.documented,
            endings(row),
            answers(row)
        );
    }
    if report.server_counters.is_some() {
        let n = |name: &str| report.counter(name).unwrap_or(0.0);
        let seen_4008: u64 = report
            .hostile
            .iter()
            .map(|r| ended(report, r.kind, "close 4008"))
            .sum();
        let resets = ended(report, Kind::PingFlood, "cut at once (reset)");
        let closes = n("parley_frame_budget_closes_total");
        let relation = if closes == (seen_4008 + resets) as f64 {
            "exactly"
        } else {
            "against"
        };
        let _ = writeln!(
            s,
            "\n**The server's own counters** over the soak (`/metrics`): {closes:.0} frame-budget closes, {relation} the \
             {seen_4008} × 4008 the hostile clients saw plus the {resets} ping-flood resets (a flooder that never reads \
             does not get to see its 4008); {:.0} `rate_limited`, {:.0} error frames for bad input, {:.0} WebSockets \
             refused (429/503), {:.0} HTTP connections closed at accept (per-address cap), {:.0} slow-consumer drops \
             (1013), {:.0} messages accepted; {:.0} WebSockets still open at the end.",
            n("parley_rate_limited_total"),
            n("parley_protocol_errors_total"),
            n("parley_websockets_refused_total"),
            n("parley_http_connections_refused_total"),
            n("parley_slow_consumer_drops_total"),
            n("parley_messages_in_total"),
            n("parley_connections")
        );
    }
    let _ = writeln!(
        s,
        "\nWhat the good clients saw of the hostile ones in their rooms: {} messages, {} presence events, {} typing notices.",
        t.noise.messages, t.noise.presence, t.noise.typing
    );
    s
}

/// `doc` with the soak's section replaced by `section`, or `section` added
/// at the end if there is none; the rest is left as it was.
pub fn replace_section(doc: &str, section: &str) -> String {
    crate::sections::replace(doc, HEADING, section)
}

/// The soak's section of `doc`, if it has one (through the next `## `).
pub fn section_of(doc: &str) -> Option<&str> {
    crate::sections::find(doc, HEADING)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_section_is_added_at_the_end_once() {
        let doc = "# Benchmarks\n\n## One\n\ntext\n";
        let once = replace_section(doc, &format!("{HEADING}\n\nfirst\n"));
        assert_eq!(
            once,
            format!("# Benchmarks\n\n## One\n\ntext\n\n{HEADING}\n\nfirst\n")
        );
        let twice = replace_section(&once, &format!("{HEADING}\n\nsecond\n"));
        assert_eq!(
            twice,
            format!("# Benchmarks\n\n## One\n\ntext\n\n{HEADING}\n\nsecond\n")
        );
        assert_eq!(
            section_of(&twice),
            Some(format!("{HEADING}\n\nsecond").as_str())
        );
        assert_eq!(section_of(doc), None);
    }

    #[test]
    fn a_section_in_the_middle_is_replaced_where_it_stands() {
        let doc = format!("# B\n\n{HEADING}\n\nold\nlines\n\n## Later\n\nkept\n");
        let new = replace_section(&doc, &format!("{HEADING}\n\nnew\n"));
        assert_eq!(
            new,
            format!("# B\n\n{HEADING}\n\nnew\n\n## Later\n\nkept\n")
        );
        assert_eq!(
            section_of(&doc),
            Some(format!("{HEADING}\n\nold\nlines").as_str())
        );
    }

    #[test]
    fn a_heading_that_only_starts_the_same_is_not_the_section() {
        let doc = format!("# B\n\n{HEADING} (old)\n\nx\n");
        let new = replace_section(&doc, &format!("{HEADING}\n\ny"));
        assert!(new.starts_with(&format!("# B\n\n{HEADING} (old)\n\nx\n\n{HEADING}\n\ny")));
        assert_eq!(section_of(&doc), None);
    }
}
