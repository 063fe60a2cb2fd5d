//! `parley-load storm`: join storms into big rooms. Issue 11 made joins
//! linear instead of quadratic (presence coalesced per interval, member
//! lists paged); this measures it. N clients connect at once (a bounded
//! number at a time), say `hello` and join one room, or N/10 rooms for the
//! comparison: the time until every one has its `joined`, per join, the
//! server's memory per connection, and every refusal, reset, close or
//! `error` on the way. Then, in the one room: one message, then a burst,
//! reaching every member (deliveries per second). Then resume storms:
//! every client drops its connection at once and resumes within the grace
//! period, or the server restarts (the script does that, see [`restart`])
//! and every client comes back with its token and `join {since}`.
//!
//! One run is one server, N and layout; scripts/bench-storm.sh runs each
//! on a fresh server, and `parley-report` turns the JSON files into the
//! section "Big rooms: join storms" of docs/benchmarks.md ([`docs`]).

mod client;
pub mod counts;
pub mod docs;
pub mod fanout;
pub mod report;
pub mod restart;
mod targets;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;

use crate::soak::procfs::{cpu_ticks, load1, rss_kib, TICKS_PER_SEC};
use client::{Client, Plan, Stage};
use counts::{Counts, Phase};
use report::{StormReport, StormResult};

fn duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s)
}

/// The resume storms `--resume` can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Resume {
    /// Every client drops its connection at once (no close frame) and
    /// resumes within the grace period: `hello {resume}`, `join {since}`.
    Drop,
    /// The server restarts (through `--restart-file`); every client comes
    /// back with its old token (a fresh session) and `join {since}`.
    Restart,
}

/// Options of `parley-load storm`.
#[derive(Debug, clap::Args)]
pub struct StormArgs {
    /// The server's WebSocket URL, on a loopback address.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ws")]
    pub url: String,
    /// Clients.
    #[arg(long, default_value_t = 2000)]
    pub clients: usize,
    /// Rooms they are spread over (client i joins room i % rooms).
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,
    /// Loopback source addresses (127.0.0.2, …).
    #[arg(long, default_value_t = 16)]
    pub sources: usize,
    /// Connections being set up at once (from connect to `joined`).
    #[arg(long, default_value_t = 512)]
    pub connect_concurrency: usize,
    /// How long one client waits for its `joined` before it tries again.
    #[arg(long, default_value = "30s", value_parser = duration)]
    pub join_timeout: Duration,
    /// How long a storm may take before it is given up (and reported as
    /// not finished).
    #[arg(long, default_value = "300s", value_parser = duration)]
    pub deadline: Duration,
    /// Pause after a storm before the server's memory is read.
    #[arg(long, default_value = "1s", value_parser = duration)]
    pub settle: Duration,
    /// Messages in the fan-out burst after the first message (0: no
    /// fan-out). Only with one room.
    #[arg(long, default_value_t = 0)]
    pub fanout: usize,
    /// Resume storms to run after the first join, in this order.
    #[arg(long, value_enum, value_delimiter = ',')]
    pub resume: Vec<Resume>,
    /// The file through which a restart is asked for (`restart`) and
    /// answered (`ready <pid>`) by whoever runs the server.
    #[arg(long)]
    pub restart_file: Option<PathBuf>,
    /// The server's process id, for its memory and CPU time.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// The server's name in the report.
    #[arg(long, default_value = "Parley")]
    pub server_label: String,
    /// This server is the baseline (the "before" column).
    #[arg(long)]
    pub baseline: bool,
    /// Write the report as JSON here too.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Fail unless every client joined in every storm, the fan-out reached
    /// every member, and nothing went wrong (for the smoke run in `make
    /// test`; a benchmark reports instead).
    #[arg(long)]
    pub require_clean: bool,
}

/// Runs the storms, prints and writes the report.
pub async fn main(args: StormArgs) -> anyhow::Result<()> {
    if args.resume.contains(&Resume::Restart) && args.restart_file.is_none() {
        bail!("--resume restart needs --restart-file");
    }
    let report = run(&args).await?;
    report::print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if args.require_clean {
        if let Some(problem) = report.problem() {
            bail!("the storm was not clean: {problem}");
        }
    }
    Ok(())
}

/// The controller's handles on a run.
struct Run<'a> {
    args: &'a StormArgs,
    counts: Arc<Counts>,
    stage: watch::Sender<Stage>,
    /// The server's pid (a new one after a restart).
    pid: Option<u32>,
}

fn seconds(ticks: Option<u64>, since: Option<u64>) -> Option<f64> {
    Some(ticks?.saturating_sub(since?) as f64 / TICKS_PER_SEC)
}

impl Run<'_> {
    /// Tells every client to join for `phase` and waits until all have
    /// (or gave up, or the deadline passed).
    async fn storm(&self, phase: Phase, before_s: Option<f64>) -> StormResult {
        let me = Some(std::process::id());
        let clients = self.args.clients;
        self.counts.set_phase(phase);
        let (rss_before, cpu_before, me_before) =
            (rss_kib(self.pid), cpu_ticks(self.pid), cpu_ticks(me));
        let started_ns = self.counts.now_ns();
        let deadline = Instant::now() + self.args.deadline;
        self.stage.send_replace(Stage::Join(phase));
        let storm = self.counts.storm(phase);
        while storm.settled() < clients && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let joined = storm.joined.load(std::sync::atomic::Ordering::Acquire);
        let finished = joined == clients;
        let end_ns = if finished {
            storm.last_ns.load(std::sync::atomic::Ordering::Acquire)
        } else {
            self.counts.now_ns()
        };
        let (cpu_after, me_after) = (cpu_ticks(self.pid), cpu_ticks(me));
        tokio::time::sleep(self.args.settle).await;
        let secs = end_ns.saturating_sub(started_ns) as f64 / 1e9;
        let (p50_ms, p99_ms, max_ms) = storm.quantiles_ms();
        StormResult {
            kind: phase.name().to_owned(),
            clients,
            joined,
            gave_up: storm.gave_up.load(std::sync::atomic::Ordering::Acquire),
            finished,
            secs,
            per_join_ms: secs * 1000.0 / clients.max(1) as f64,
            p50_ms,
            p99_ms,
            max_ms,
            resumed: storm.resumed.load(std::sync::atomic::Ordering::Acquire),
            troubles: Default::default(), // filled in at the end of the run
            rss_before_kib: rss_before,
            rss_after_kib: rss_kib(self.pid),
            server_cpu_s: seconds(cpu_after, cpu_before),
            load_cpu_s: seconds(me_after, me_before),
            frames_per_client: 0.0, // filled in at the end of the run
            before_s,
        }
    }
}

/// Runs the storms of `args`.
pub async fn run(args: &StormArgs) -> anyhow::Result<StormReport> {
    let server = crate::loopback_server(&args.url, "storms")?;
    let rooms = args.rooms.clamp(1, args.clients.max(1));
    let counts = Arc::new(Counts::new(args.fanout + 1));
    let plan = Arc::new(Plan {
        server,
        url: args.url.clone(),
        rooms,
        sources: args.sources.clamp(1, 250),
        join_timeout: args.join_timeout,
        tag: format!("s{}", std::process::id()),
    });
    let limit = Arc::new(Semaphore::new(args.connect_concurrency.max(1)));
    let (stage, stage_rx) = watch::channel(Stage::Wait);
    let load1 = load1();
    for i in 0..args.clients {
        let client = Client::new(i, &plan);
        tokio::spawn(client.run(
            plan.clone(),
            counts.clone(),
            limit.clone(),
            stage_rx.clone(),
        ));
    }
    let mut run = Run {
        args,
        counts: counts.clone(),
        stage,
        pid: args.server_pid,
    };
    eprintln!("[storm] {} clients into {rooms} room(s)", args.clients);
    let mut first = run.storm(Phase::Join, None).await;

    let mut fanout = None;
    if args.fanout > 0 && rooms == 1 && first.finished {
        eprintln!("[storm] fan-out to {} members", first.joined);
        counts.set_phase(Phase::Fanout);
        let measured = fanout::run(
            &plan,
            &counts,
            first.joined,
            args.fanout,
            Duration::from_secs(30),
        )
        .await;
        match measured {
            Ok(result) => fanout = Some(result),
            Err(e) => counts.trouble(format!("sender: {e:#}")),
        }
    }

    let mut resumes = Vec::new();
    for &kind in if first.finished {
        &args.resume[..]
    } else {
        &[]
    } {
        let started = Instant::now();
        let phase = match kind {
            Resume::Drop => {
                eprintln!("[storm] every client drops its connection");
                counts.set_phase(Phase::ResumeDrop);
                run.stage.send_replace(Stage::Drop);
                if client_gone(server).await.is_none() {
                    counts.trouble("the server still counted connections after 30 s");
                }
                Phase::ResumeDrop
            }
            Resume::Restart => {
                eprintln!("[storm] asking for a restart of the server");
                counts.set_phase(Phase::ResumeRestart);
                run.stage.send_replace(Stage::Restart);
                let file = args.restart_file.as_deref().expect("checked in main");
                run.pid = restart::restart(file, Duration::from_secs(120)).await?;
                Phase::ResumeRestart
            }
        };
        eprintln!("[storm] {}", phase.name());
        let before = Some(started.elapsed().as_secs_f64());
        resumes.push(run.storm(phase, before).await);
    }
    run.stage.send_replace(Stage::Quit);

    for r in std::iter::once(&mut first).chain(&mut resumes) {
        if let Some(phase) = Phase::ALL.into_iter().find(|p| p.name() == r.kind) {
            r.troubles = counts.troubles(phase);
            r.frames_per_client = counts.frames(phase) as f64 / r.clients.max(1) as f64;
        }
    }
    Ok(StormReport {
        server: args.server_label.clone(),
        baseline: args.baseline,
        url: args.url.clone(),
        clients: args.clients,
        rooms,
        sources: plan.sources,
        connect_concurrency: args.connect_concurrency,
        deadline_s: args.deadline.as_secs_f64(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        load1,
        first,
        fanout,
        fanout_troubles: counts.troubles(Phase::Fanout),
        resumes,
    })
}

/// Waits until the server has seen every connection go.
async fn client_gone(server: SocketAddr) -> Option<Duration> {
    restart::connections_down_to(server, 0.0, Duration::from_secs(30)).await
}
