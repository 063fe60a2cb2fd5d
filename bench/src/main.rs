//! `parley-load`: a load generator that speaks Parley's protocol (and the
//! subset the peer relays speak: `hello`/`join`/`send` → `message`/`ack`)
//! over real TCP on loopback, and reports deliveries, latency, set-up rate
//! and the server's memory, as a table and as JSON. `parley-load soak` runs
//! good clients among hostile ones instead (see [`parley_bench::soak`]),
//! and `parley-load storm` join storms into big rooms (see
//! [`parley_bench::storm`]).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

use parley_bench::load::{Load, Phase, PhaseResult, Plan};
use parley_bench::report::{Report, Step};
use parley_bench::soak::SoakArgs;
use parley_bench::storm::StormArgs;

fn duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s)
}

/// The command line: a load run (the flags below), or a subcommand.
#[derive(Debug, Parser)]
#[command(
    name = "parley-load",
    about = "Load generator for Parley-protocol chat servers (loopback only)",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    load: Args,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Good clients chatting among hostile ones for a long while (10 min by
    /// default) against a server with its default limits: their latency and
    /// delivery, the server's memory, and how each hostile kind was stopped.
    Soak(SoakArgs),
    /// N clients joining one room at once (or N/10 rooms): time until all
    /// have joined, the server's memory per connection, resets; then
    /// fan-out in that room and resume storms.
    Storm(StormArgs),
}

/// Options of a load run.
#[derive(Debug, clap::Args)]
struct Args {
    /// The server's WebSocket URL, on a loopback address.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    url: String,
    /// Clients to connect.
    #[arg(long, default_value_t = 100)]
    clients: usize,
    /// Rooms the clients are spread over.
    #[arg(long, default_value_t = 1)]
    rooms: usize,
    /// How many clients send.
    #[arg(long, default_value_t = 10)]
    senders: usize,
    /// Messages per second, all senders together (0: connect only).
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Message text size in bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Sending before the measured window.
    #[arg(long, default_value = "2s", value_parser = duration)]
    warmup: Duration,
    /// The measured window.
    #[arg(long, default_value = "5s", value_parser = duration)]
    duration: Duration,
    /// Time allowed for late deliveries after the window.
    #[arg(long, default_value = "2s", value_parser = duration)]
    drain: Duration,
    /// Loopback source addresses (127.0.0.2 …) to spread connections over.
    #[arg(long, default_value_t = 8)]
    sources: usize,
    /// Connections set up at once.
    #[arg(long, default_value_t = 256)]
    connect_concurrency: usize,
    /// The server's process id, to report its memory (VmRSS).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Find the highest rate with delivery ≥ 99.9 % and p99 ≤ 100 ms,
    /// starting at `--rate`, multiplying by `--sweep-factor`, then narrowing.
    #[arg(long)]
    sweep: bool,
    /// Rate multiplier between sweep steps.
    #[arg(long, default_value_t = 1.5)]
    sweep_factor: f64,
    /// Highest rate a sweep tries.
    #[arg(long, default_value_t = 1_000_000.0)]
    sweep_max: f64,
    /// How many times a sweep runs a failed rate again before it stops, so
    /// one scheduling hiccup on a shared machine does not end it early.
    #[arg(long, default_value_t = 1)]
    sweep_retries: u32,
    /// Steps that narrow the gap between the last passing and the first
    /// failing rate once a sweep has found them (each halves it, on a log
    /// scale: 3 steps take a factor of 1.4 down to about 4 %).
    #[arg(long, default_value_t = 3)]
    sweep_refine: u32,
    /// Write the report as JSON here too.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Exit non-zero unless every expected delivery arrived (for CI smoke runs).
    #[arg(long)]
    require_all: bool,
}

/// The server's resident memory in KiB, from `/proc/<pid>/status`.
fn rss_kib(pid: Option<u32>) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", pid?)).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn step(rate: f64, window: Duration, r: &PhaseResult) -> Step {
    let ms = |q: f64| r.latency.value_at_quantile(q) as f64 / 1000.0;
    let ratio = if r.expected == 0 {
        1.0
    } else {
        r.received as f64 / r.expected as f64
    };
    let p99 = ms(0.99);
    Step {
        rate,
        sent: r.sent,
        expected: r.expected,
        received: r.received,
        delivery_ratio: ratio,
        deliveries_per_sec: r.received as f64 / window.as_secs_f64(),
        p50_ms: ms(0.5),
        p99_ms: p99,
        p999_ms: ms(0.999),
        max_ms: r.latency.max() as f64 / 1000.0,
        errors: r.errors,
        passed: ratio >= 0.999 && p99 <= 100.0 && r.expected > 0,
    }
}

fn print_report(report: &Report) {
    println!(
        "server {}  clients {}  rooms {}  senders {}  size {} B",
        report.url, report.clients, report.rooms, report.senders, report.size
    );
    println!(
        "connect: {:.2} s for {} clients = {:.0}/s, slowest {:.1} ms",
        report.connect_secs, report.clients, report.connections_per_sec, report.slowest_connect_ms
    );
    if let (Some(before), Some(connected)) = (report.rss_before_kib, report.rss_connected_kib) {
        println!(
            "server RSS: {before} KiB before, {connected} KiB connected ({:.0} B per connection), {} KiB after",
            report.rss_per_connection_bytes.unwrap_or(0.0),
            report.rss_after_kib.unwrap_or(0)
        );
    }
    if report.steps.is_empty() {
        return;
    }
    println!(
        "{:>10} {:>9} {:>11} {:>9} {:>12} {:>8} {:>8} {:>9} {:>8} {:>6}",
        "rate/s",
        "sent",
        "expected",
        "ratio",
        "deliv/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors"
    );
    for s in &report.steps {
        println!(
            "{:>10.0} {:>9} {:>11} {:>8.4}% {:>12.0} {:>8.2} {:>8.2} {:>9.2} {:>8.2} {:>6}{}",
            s.rate,
            s.sent,
            s.expected,
            s.delivery_ratio * 100.0,
            s.deliveries_per_sec,
            s.p50_ms,
            s.p99_ms,
            s.p999_ms,
            s.max_ms,
            s.errors,
            if s.passed {
                ""
            } else {
                "  (fails 99.9 % / 100 ms)"
            }
        );
    }
    if let Some(best) = report.best_passing_rate {
        println!("highest sustained rate: {best:.0} messages/s");
    }
}

/// Runs `rate` until it passes, at most `1 + retries` times; records every
/// attempt in `steps` and says whether one passed.
async fn try_rate(
    load: &mut Load,
    rate: f64,
    retries: u32,
    args: &Args,
    steps: &mut Vec<Step>,
) -> anyhow::Result<bool> {
    for _ in 0..=retries {
        let phase = Phase {
            rate,
            warmup: args.warmup,
            window: args.duration,
            drain: args.drain,
        };
        let result = load.run(phase).await?;
        let s = step(rate, args.duration, &result);
        eprintln!(
            "  rate {rate:.0}/s: delivered {:.4}%, p99 {:.2} ms",
            s.delivery_ratio * 100.0,
            s.p99_ms
        );
        let passed = s.passed;
        steps.push(s);
        if passed {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Finds the highest rate the server sustains: climbs by `--sweep-factor`
/// until a rate fails (after its retries), then narrows geometrically
/// between the last rate that passed and the first that failed, so that
/// every server's answer has the same precision whatever grid it fell on.
async fn sweep(load: &mut Load, args: &Args, steps: &mut Vec<Step>) -> anyhow::Result<()> {
    let (mut passed, mut rate) = (None, args.rate);
    let failed = loop {
        if !try_rate(load, rate, args.sweep_retries, args, steps).await? {
            break rate;
        }
        passed = Some(rate);
        if rate * args.sweep_factor > args.sweep_max {
            return Ok(());
        }
        rate *= args.sweep_factor;
    };
    let (Some(mut low), mut high) = (passed, failed) else {
        return Ok(());
    };
    for _ in 0..args.sweep_refine {
        let middle = (low * high).sqrt();
        if try_rate(load, middle, args.sweep_retries, args, steps).await? {
            low = middle;
        } else {
            high = middle;
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = match Cli::parse() {
        Cli {
            command: Some(Command::Soak(soak)),
            ..
        } => return parley_bench::soak::main(soak).await,
        Cli {
            command: Some(Command::Storm(storm)),
            ..
        } => return parley_bench::storm::main(storm).await,
        Cli { load, .. } => load,
    };
    let rss_before = rss_kib(args.server_pid);
    let plan = Plan {
        url: args.url.clone(),
        clients: args.clients,
        rooms: args.rooms.max(1),
        senders: args.senders.min(args.clients),
        size: args.size,
        sources: args.sources,
        connect_concurrency: args.connect_concurrency,
    };
    let mut load = Load::connect(plan)
        .await
        .context("connecting the clients")?;
    // Let the server settle before reading its memory.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss_connected = rss_kib(args.server_pid);

    let mut steps = Vec::new();
    if args.rate > 0.0 && args.senders > 0 {
        if args.sweep {
            sweep(&mut load, &args, &mut steps).await?;
        } else {
            try_rate(&mut load, args.rate, 0, &args, &mut steps).await?;
        }
    }
    let slowest = load.connect_times.iter().max().copied().unwrap_or_default();
    let report = Report {
        url: args.url.clone(),
        clients: args.clients,
        rooms: args.rooms,
        senders: args.senders,
        size: args.size,
        connect_secs: load.connect_total.as_secs_f64(),
        connections_per_sec: args.clients as f64 / load.connect_total.as_secs_f64().max(1e-9),
        slowest_connect_ms: slowest.as_secs_f64() * 1000.0,
        rss_before_kib: rss_before,
        rss_connected_kib: rss_connected,
        rss_after_kib: rss_kib(args.server_pid),
        rss_per_connection_bytes: rss_before
            .zip(rss_connected)
            .map(|(b, c)| (c.saturating_sub(b) * 1024) as f64 / args.clients.max(1) as f64),
        best_passing_rate: steps
            .iter()
            .filter(|s| s.passed)
            .map(|s| s.rate)
            .reduce(f64::max),
        steps,
    };
    print_report(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.require_all {
        for s in &report.steps {
            anyhow::ensure!(
                s.expected > 0 && s.received == s.expected,
                "only {} of {} expected deliveries arrived",
                s.received,
                s.expected
            );
            anyhow::ensure!(s.errors == 0, "{} error frames", s.errors);
        }
    }
    Ok(())
}
