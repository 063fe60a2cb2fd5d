//! `parley-load soak`: good clients chatting for a long while among hostile
//! ones, against a server with its default limits. The hardening work
//! promises that no hostile client can make the server lose, repeat or
//! delay the good clients' messages, cut them off, or grow its memory;
//! this puts that promise to the test over minutes rather than the seconds
//! of a unit test, and reports the good clients' latency and delivery, the
//! server's memory over time, and how every hostile attempt was stopped.

mod attacks_http;
mod attacks_ws;
pub mod counters;
pub mod delivery;
pub mod docs;
pub mod good;
pub mod hostile;
pub mod procfs;
mod raw;
pub mod report;
pub mod tally;
pub mod timeline;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};

use good::{GoodPlan, GoodResult};
use hostile::{HostilePlan, Kind};
use procfs::rss_kib;
use report::SoakReport;
use tally::Tally;
use timeline::{Clock, Timeline};

fn duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s)
}

/// Options of `parley-load soak`.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// The server's WebSocket URL, on a loopback address.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    /// How long the good clients talk among the hostile ones.
    #[arg(long, default_value = "10m", value_parser = duration)]
    pub duration: Duration,
    /// One row of the report (default: a tenth of the soak, 5 s to 1 min).
    #[arg(long, value_parser = duration)]
    pub interval: Option<Duration>,
    /// Good clients.
    #[arg(long, default_value_t = 200)]
    pub clients: usize,
    /// Rooms the good clients are spread over.
    #[arg(long, default_value_t = 20)]
    pub rooms: usize,
    /// Loopback addresses the good clients come from (127.0.0.2, …; at
    /// most 256 WebSockets each).
    #[arg(long, default_value_t = 4)]
    pub sources: usize,
    /// How often each good client says something.
    #[arg(long, default_value = "3s", value_parser = duration)]
    pub every: Duration,
    /// Message text size in bytes.
    #[arg(long, default_value_t = 80)]
    pub size: usize,
    /// Instances of each hostile kind.
    #[arg(long, default_value_t = 3)]
    pub hostile: usize,
    /// The hostile kinds to run (default: every one).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub kinds: Vec<Kind>,
    /// Pause before a hostile client tries again.
    #[arg(long, default_value = "500ms", value_parser = duration)]
    pub hostile_pause: Duration,
    /// Time for late arrivals after the good clients stop talking.
    #[arg(long, default_value = "5s", value_parser = duration)]
    pub drain: Duration,
    /// The server's process id, to follow its memory (VmRSS).
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Write (or replace) the section "Soak: good clients among hostile
    /// ones" of this Markdown file.
    #[arg(long)]
    pub docs: Option<PathBuf>,
    /// The command named in that section.
    #[arg(long, default_value = "make soak")]
    pub command: String,
    /// Exit non-zero unless the soak was clean (nothing lost, repeated or
    /// cut among the good clients; every hostile kind stopped as documented).
    #[arg(long)]
    pub require_clean: bool,
}

/// Runs the soak, prints and writes its report.
pub async fn main(args: SoakArgs) -> anyhow::Result<()> {
    let report = run(&args).await?;
    report::print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.docs {
        let doc = std::fs::read_to_string(path).unwrap_or_default();
        let section = docs::markdown(&report, &args.command);
        std::fs::write(path, docs::replace_section(&doc, &section))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    let problems = report.problems();
    for problem in &problems {
        eprintln!("soak: {problem}");
    }
    if args.require_clean && !problems.is_empty() {
        bail!("the soak was not clean");
    }
    Ok(())
}

/// Runs the soak.
pub async fn run(args: &SoakArgs) -> anyhow::Result<SoakReport> {
    let server = crate::loopback_server(&args.url, "the soak")?;
    let pid = args.server_pid;
    let rss_before = rss_kib(pid);
    let counters_before = counters::fetch(server).await;
    let plan = Arc::new(GoodPlan {
        server,
        url: args.url.clone(),
        clients: args.clients.max(2),
        rooms: args.rooms.clamp(1, args.clients.max(2)),
        sources: args.sources.max(1),
        every: args.every,
        size: args.size,
    });
    eprintln!("[soak] connecting {} good clients", plan.clients);
    let clients = good::connect_all(plan.clone()).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_start = rss_kib(pid);

    let epoch = tokio::time::Instant::now();
    let start_ns = 500_000_000;
    let stop_ns = start_ns + args.duration.as_nanos() as u64;
    let clock = Clock {
        epoch,
        start_ns,
        stop_ns,
        end_ns: stop_ns + args.drain.as_nanos() as u64,
    };
    let interval = args
        .interval
        .unwrap_or((args.duration / 10).clamp(Duration::from_secs(5), Duration::from_secs(60)));
    let intervals = args
        .duration
        .as_nanos()
        .div_ceil(interval.as_nanos().max(1)) as usize;
    let timeline = Arc::new(Timeline::new(start_ns, interval, intervals));
    let sampler = {
        let timeline = timeline.clone();
        tokio::spawn(async move {
            timeline
                .sample(pid, clock, Duration::from_secs(1), clock.end_ns)
                .await
        })
    };
    let good_tasks: Vec<_> = clients
        .into_iter()
        .map(|c| tokio::spawn(c.run(clock, timeline.clone())))
        .collect();

    let kinds = if args.kinds.is_empty() {
        Kind::ALL.to_vec()
    } else {
        args.kinds.clone()
    };
    let tally = Arc::new(Tally::default());
    tokio::time::sleep_until(clock.instant(start_ns)).await;
    eprintln!("[soak] {:?} of good and hostile clients", args.duration);
    let hostile = hostile::spawn(
        &HostilePlan {
            server,
            url: args.url.clone(),
            rooms: (0..plan.rooms).map(GoodPlan::room_name).collect(),
            kinds: kinds.clone(),
            instances: args.hostile,
            pause: args.hostile_pause,
        },
        &tally,
    );
    tokio::time::sleep_until(clock.instant(stop_ns)).await;
    for task in &hostile {
        task.abort();
    }
    eprintln!("[soak] stopped the hostile clients; waiting for late arrivals");
    let mut results: Vec<GoodResult> = Vec::new();
    for task in good_tasks {
        results.push(task.await?);
    }
    let _ = sampler.await;
    // Let the server let go of the closed connections before the last look.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_end = rss_kib(pid);

    let counters_after = counters::fetch(server).await;
    let (rows, overall) = timeline.intervals();
    Ok(SoakReport {
        url: args.url.clone(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        duration_s: args.duration.as_secs_f64(),
        clients: plan.clients,
        rooms: plan.rooms,
        sources: plan.sources,
        every_s: args.every.as_secs_f64(),
        size: args.size,
        instances: args.hostile,
        rss_before_kib: rss_before,
        rss_start_kib: rss_start,
        rss_end_kib: rss_end,
        intervals: rows,
        overall,
        delivery: delivery::delivery(&results),
        troubles: delivery::troubles(&results),
        hostile: report::hostile_rows(&kinds, &tally.snapshot()),
        server_counters: counters_before
            .zip(counters_after)
            .map(|(before, after)| counters::delta(&before, &after)),
        server_alive: pid.map(|p| std::path::Path::new(&format!("/proc/{p}")).exists()),
    })
}
