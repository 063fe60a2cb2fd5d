//! `parley-report`: turns one benchmark run's JSON results (and the
//! criterion store benchmark, when present) into `docs/benchmarks.md` and an
//! SVG chart of latency against delivered rate. Every ratio in the output
//! compares numbers measured in the same run. It also writes the section
//! "Big rooms: join storms" from the storm runs' JSON (scripts/bench-storm.sh;
//! `--only-storm` rewrites just that section), and carries over from the old
//! file the sections other writers own: the soak's (`make soak`) and the
//! browser app's (scripts/bench-render.sh), and the storms' when there are
//! no storm results.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use parley_bench::report::{Report, Step};
use parley_bench::{sections, soak, storm};
use plotters::prelude::*;

/// Command-line options.
#[derive(Debug, Parser)]
struct Args {
    /// Folder with `<scenario>-<server>.json` files.
    #[arg(long, default_value = "target/bench")]
    results: PathBuf,
    /// Where criterion keeps the store benchmark.
    #[arg(long, default_value = "target/criterion/sqlite_append")]
    criterion: PathBuf,
    /// The Markdown file to write.
    #[arg(long, default_value = "docs/benchmarks.md")]
    markdown: PathBuf,
    /// The SVG chart to write.
    #[arg(long, default_value = "docs/bench-chart.svg")]
    chart: PathBuf,
    /// Folder with the `parley-load storm` runs' JSON files.
    #[arg(long, default_value = "target/bench/storm")]
    storm: PathBuf,
    /// Only (re)write the section "Big rooms: join storms" of the Markdown
    /// file, from `--storm`; leave the rest of it as it is.
    #[arg(long)]
    only_storm: bool,
}

/// The servers, in the order tables show them.
const SERVERS: [(&str, &str); 3] = [
    ("parley", "Parley"),
    ("naive", "naive warp"),
    ("node", "Node ws"),
];

type Results = BTreeMap<(String, String), Report>;

/// The start of the browser benchmark's heading (its number of lines varies).
const RENDER_HEADING: &str = "## Browser app: rendering a";

/// The section scripts/bench-cluster.sh (`make bench-cluster`) writes.
const CLUSTER_HEADING: &str = "## Several nodes: SQLite vs PostgreSQL vs two nodes behind nginx";

fn load(dir: &Path) -> anyhow::Result<Results> {
    let mut results = Results::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "json") {
            if let Some((scenario, server)) = stem.split_once('-') {
                let report: Report = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
                results.insert((scenario.to_owned(), server.to_owned()), report);
            }
        }
    }
    Ok(results)
}

fn get<'a>(results: &'a Results, scenario: &str, server: &str) -> Option<&'a Report> {
    results.get(&(scenario.to_owned(), server.to_owned()))
}

/// The step a sweep reports: the highest passing one.
fn best(report: &Report) -> Option<&Step> {
    report
        .steps
        .iter()
        .filter(|s| s.passed)
        .max_by(|a, b| a.rate.total_cmp(&b.rate))
}

fn ratio(ours: Option<f64>, theirs: Option<f64>) -> String {
    match (ours, theirs) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "–".into(),
    }
}

fn num(value: Option<f64>, digits: usize) -> String {
    value.map_or("failed".into(), |v| format!("{v:.digits$}"))
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
        .map_or("?".into(), |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cores} cores ({cpu}), {memory} RAM, Linux {}",
        kernel.trim()
    )
}

/// The criterion store benchmark, as (mode, batch, messages per second).
fn store_results(dir: &Path) -> Vec<(String, u64, f64)> {
    let mut rows = Vec::new();
    for mode in ["Normal", "Full"] {
        for batch in [1u64, 64, 512, 4096] {
            let base = dir
                .join(mode)
                .join(batch.to_string())
                .join("new/estimates.json");
            let Ok(text) = std::fs::read_to_string(&base) else {
                continue;
            };
            let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            if let Some(ns) = json["mean"]["point_estimate"].as_f64() {
                rows.push((mode.to_owned(), batch, batch as f64 / (ns / 1e9)));
            }
        }
    }
    rows
}

fn markdown(results: &Results, store: &[(String, u64, f64)], chart: &Path) -> String {
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Written by `make bench` (scripts/bench.sh, then `parley-report`); do not edit by hand.\n"
    );
    let _ = writeln!(
        w,
        "**Machine**: {}. Server and load generator share it, as on any single box.\n",
        machine()
    );
    let _ = writeln!(w, "**Method**: `parley-load` opens real WebSockets over loopback (spread over 16 source addresses), says `hello` and `join`, then has the senders send on an open-loop schedule: each message is due at a fixed time and carries that time, and latency is measured from it to arrival, so a slow server shows up as latency rather than as a politely lower send rate. A rate *passes* when at least 99.9 % of expected deliveries arrive and p99 ≤ 100 ms; sweeps raise the rate by a fixed factor until a rate fails twice in a row (a failed rate is run once more, so one scheduling hiccup on a shared machine does not end a sweep), then narrow the gap between the last rate that passed and the first that failed in three geometric halvings, so every server's rate is found to within about 4 % whatever grid it fell on. Memory is the server's VmRSS after every client has sent `hello` and `join`. These machines cap open files at 20,000 per process, and server and generator each hold one socket per client, hence 19,000 idle clients at most. All three servers are measured one after another in the same run, and only ratios between them are worth comparing: these shared machines drift from run to run.\n");
    let _ = writeln!(w, "**Servers**: *Parley* with its full protocol (JSON, per-room `seq`, acks after commit) and durable history (SQLite, `synchronous=FULL`), rate limit lifted; *naive warp*, a relay in the style of warp's chat example (`bench/peers/naive-warp`); *Node ws*, a plain Node.js relay on the `ws` package (`bench/peers/node-ws`). The peers keep no history and assign `seq` in memory.\n");

    for (scenario, title, what) in [
        (
            "fanout",
            "1. Fan-out: one room of 1,000 clients, 20 senders",
            "highest sustained rate",
        ),
        (
            "rooms",
            "2. Many rooms: 1,000 rooms of 10 clients, one sender each",
            "highest sustained rate",
        ),
    ] {
        let _ = writeln!(w, "## {title}\n");
        let _ = writeln!(
            w,
            "| server | {what} (msg/s) | deliveries/s | p50 ms | p99 ms | Parley ÷ server |"
        );
        let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
        let ours = get(results, scenario, "parley")
            .and_then(best)
            .map(|s| s.rate);
        for (key, name) in SERVERS {
            let step = get(results, scenario, key).and_then(best);
            let _ = writeln!(
                w,
                "| {name} | {} | {} | {} | {} | {} |",
                num(step.map(|s| s.rate), 0),
                num(step.map(|s| s.deliveries_per_sec), 0),
                num(step.map(|s| s.p50_ms), 2),
                num(step.map(|s| s.p99_ms), 2),
                if key == "parley" {
                    "–".into()
                } else {
                    ratio(ours, step.map(|s| s.rate))
                }
            );
        }
        let _ = writeln!(w);
    }
    let _ = writeln!(
        w,
        "![p99 latency against delivered rate, fan-out scenario]({})\n",
        chart.file_name().unwrap().to_string_lossy()
    );

    let _ = writeln!(w, "## 3. Latency at a fixed load: one room of 1,000 clients, 200 messages/s (≈ 200,000 deliveries/s)\n");
    let _ = writeln!(
        w,
        "| server | delivered | p50 ms | p99 ms | p99.9 ms | max ms |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|---:|---:|");
    for (key, name) in SERVERS {
        let step = get(results, "latency", key).and_then(|r| r.steps.first());
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} | {} | {} |",
            step.map_or("failed".into(), |s| format!(
                "{:.3} %",
                s.delivery_ratio * 100.0
            )),
            num(step.map(|s| s.p50_ms), 2),
            num(step.map(|s| s.p99_ms), 2),
            num(step.map(|s| s.p999_ms), 2),
            num(step.map(|s| s.max_ms), 2)
        );
    }
    let _ = writeln!(
        w,
        "\n## 4. Idle connections: 19,000 clients after `hello` and `join`\n"
    );
    let _ = writeln!(
        w,
        "| server | RSS before | RSS connected | per connection |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|");
    for (key, name) in SERVERS {
        let r = get(results, "idle", key);
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} |",
            r.and_then(|r| r.rss_before_kib)
                .map_or("–".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            r.and_then(|r| r.rss_connected_kib)
                .map_or("–".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
            r.and_then(|r| r.rss_per_connection_bytes)
                .map_or("failed".into(), |b| format!("{:.1} KiB", b / 1024.0))
        );
    }
    let _ = writeln!(
        w,
        "\n## 5. Reconnect storm: 10,000 clients connecting at once (handshake, `hello`, `join`)\n"
    );
    let _ = writeln!(
        w,
        "| server | connections/s | slowest connect | Parley ÷ server |"
    );
    let _ = writeln!(w, "|---|---:|---:|---:|");
    let ours = get(results, "storm", "parley").map(|r| r.connections_per_sec);
    for (key, name) in SERVERS {
        let r = get(results, "storm", key);
        let _ = writeln!(
            w,
            "| {name} | {} | {} | {} |",
            num(r.map(|r| r.connections_per_sec), 0),
            r.map_or("failed".into(), |r| format!(
                "{:.0} ms",
                r.slowest_connect_ms
            )),
            if key == "parley" {
                "–".into()
            } else {
                ratio(ours, r.map(|r| r.connections_per_sec))
            }
        );
    }

    let _ = writeln!(w, "\n## Targets\n");
    let _ = writeln!(w, "| target | measured | met |");
    let _ = writeln!(w, "|---|---|---|");
    let fan = |server| {
        get(results, "fanout", server)
            .and_then(best)
            .map(|s| s.rate)
    };
    let rows: [(String, Option<f64>, f64, bool); 5] = [
        (
            "fan-out ≥ 3× Node ws".into(),
            fan("parley").zip(fan("node")).map(|(a, b)| a / b),
            3.0,
            true,
        ),
        (
            "fan-out ≥ 2× naive warp".into(),
            fan("parley").zip(fan("naive")).map(|(a, b)| a / b),
            2.0,
            true,
        ),
        (
            "p99 ≤ 25 ms at 200,000 deliveries/s".into(),
            get(results, "latency", "parley")
                .and_then(|r| r.steps.first())
                .map(|s| s.p99_ms),
            25.0,
            false,
        ),
        (
            "≤ 8 KiB per idle connection".into(),
            get(results, "idle", "parley")
                .and_then(|r| r.rss_per_connection_bytes)
                .map(|b| b / 1024.0),
            8.0,
            false,
        ),
        (
            "≥ 5,000 connections/s".into(),
            get(results, "storm", "parley").map(|r| r.connections_per_sec),
            5000.0,
            true,
        ),
    ];
    for (name, value, bound, at_least) in rows {
        let met = value.is_some_and(|v| if at_least { v >= bound } else { v <= bound });
        let _ = writeln!(
            w,
            "| {name} | {} | {} |",
            value.map_or("failed".into(), |v| format!("{v:.2}")),
            if met { "yes" } else { "**no**" }
        );
    }

    if !store.is_empty() {
        let _ = writeln!(w, "\n## Storage: SQLite group commit\n");
        let _ = writeln!(w, "`cargo bench -p parley-backend --bench store`: batches of chat-sized messages appended to SQLite, one transaction per batch, as the committer thread does.\n");
        let _ = writeln!(
            w,
            "| batch | `synchronous=NORMAL` | `synchronous=FULL` (default) |"
        );
        let _ = writeln!(w, "|---:|---:|---:|");
        for batch in [1u64, 64, 512, 4096] {
            let cell = |mode: &str| {
                store
                    .iter()
                    .find(|(m, b, _)| m == mode && *b == batch)
                    .map_or("–".into(), |(_, _, r)| format!("{r:.0} msg/s"))
            };
            let _ = writeln!(w, "| {batch} | {} | {} |", cell("Normal"), cell("Full"));
        }
        let _ = writeln!(w, "\nOne fsync per transaction caps unbatched `FULL` commits; from 64 messages per batch on, `FULL` costs little against `NORMAL`, which is why Parley defaults to `FULL` and commits whatever queued up during the previous commit.");
    }
    md
}

/// A point of the chart: deliveries per second, p99 in milliseconds.
type Point = (f64, f64);

fn chart(results: &Results, path: &Path) -> anyhow::Result<()> {
    let root = SVGBackend::new(path, (800, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    // Every attempt is a dot; the line joins, in order of rate, the attempt
    // that decided each rate (the last one run at it), since a sweep retries
    // failed rates and narrows back down after its first failure.
    let series: Vec<(&str, Vec<Point>, Vec<Point>)> = SERVERS
        .iter()
        .filter_map(|(key, name)| {
            let report = get(results, "fanout", key)?;
            let point = |s: &Step| (s.deliveries_per_sec, s.p99_ms.max(0.1));
            let dots: Vec<Point> = report.steps.iter().map(point).collect();
            let mut deciding: Vec<&Step> = Vec::new();
            for step in &report.steps {
                deciding.retain(|s| s.rate != step.rate);
                deciding.push(step);
            }
            deciding.sort_by(|a, b| a.rate.total_cmp(&b.rate));
            Some((*name, deciding.into_iter().map(point).collect(), dots))
        })
        .collect();
    let max_x = series
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|(x, _)| *x))
        .fold(1.0, f64::max)
        * 1.05;
    let max_y = series
        .iter()
        .flat_map(|(_, _, p)| p.iter().map(|(_, y)| *y))
        .fold(1.0, f64::max)
        .min(2000.0)
        * 1.2;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Fan-out, 1 room × 1,000 clients: p99 latency vs delivered rate",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(56)
        .build_cartesian_2d(0f64..max_x, (0.5f64..max_y).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("deliveries per second")
        .y_desc("p99 latency (ms)")
        .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
        .draw()?;
    let colours = [
        RGBColor(59, 91, 219),
        RGBColor(230, 119, 0),
        RGBColor(43, 138, 62),
    ];
    for ((name, line, points), colour) in series.into_iter().zip(colours) {
        chart
            .draw_series(LineSeries::new(line, colour.stroke_width(2)))?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        chart.draw_series(
            points
                .into_iter()
                .map(|p| Circle::new(p, 3, colour.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE.mix(0.9))
        .draw()?;
    root.present()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let old = std::fs::read_to_string(&args.markdown).unwrap_or_default();
    let storms = storm::report::load_dir(&args.storm)?;
    if args.only_storm {
        let section = storm::docs::section(&storms)
            .with_context(|| format!("no storm results in {}", args.storm.display()))?;
        let doc = if old.is_empty() {
            "# Benchmarks\n"
        } else {
            &old
        };
        std::fs::write(
            &args.markdown,
            sections::replace(doc, storm::docs::HEADING, &section),
        )?;
        return Ok(());
    }
    let results = load(&args.results)?;
    anyhow::ensure!(
        !results.is_empty(),
        "no results in {}",
        args.results.display()
    );
    chart(&results, &args.chart).context("drawing the chart")?;
    let store = store_results(&args.criterion);
    let text = markdown(&results, &store, &args.chart);
    // Sections other writers own: carried over from the old file, in the
    // order they stand in it when they are new.
    let render = sections::heading_starting(&old, RENDER_HEADING).unwrap_or(RENDER_HEADING);
    let mut text = sections::carry_over(
        text,
        &old,
        &[
            storm::docs::HEADING,
            render,
            soak::docs::HEADING,
            CLUSTER_HEADING,
        ],
    );
    if let Some(section) = storm::docs::section(&storms) {
        text = sections::replace(&text, storm::docs::HEADING, &section);
    }
    std::fs::write(&args.markdown, text)?;
    Ok(())
}
