//! `parley-render`: how long the browser app takes to show a new message in
//! a room that already holds thousands of lines. A benchmark, not a test: it
//! prints numbers and asserts nothing (scripts/bench-render.sh runs it).
//!
//! It starts the real server binary on a loopback port with a fresh SQLite
//! database, fills one room with `--lines` messages over WebSockets (three
//! authors, so the list has both new blocks and continued ones), opens the
//! built app (`--dist`) in headless Chromium, and joins that room as a
//! reader. Then a probe client sends `--warmup` + `--samples` messages, one
//! at a time. In the page, a wrapper around `WebSocket` notes when each probe
//! arrives (`performance.now()` in the first `message` listener, before the
//! app's own) and a `MutationObserver` on the message list notes when its
//! line is in the DOM; a `requestAnimationFrame` then `setTimeout(0)` notes
//! when the next frame after it is done. Chromium is driven over the DevTools
//! protocol directly (a WebSocket), so no ChromeDriver is needed.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Parser;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use parley_protocol::{ClientFrame, ServerFrame};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod devtools;

use devtools::{start_chromium, DevTools};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The room the benchmark fills and reads.
const ROOM: &str = "bench";
/// How long any one step may take before the run gives up.
pub(crate) const WAIT: Duration = Duration::from_secs(120);

#[derive(Parser, Debug)]
#[command(about = "Time the browser app takes to show a new message in a long room")]
struct Args {
    /// The server binary (`cargo build -p parley-backend`).
    #[arg(long, default_value = "target/debug/parley-backend")]
    server: PathBuf,
    /// The built browser app (`trunk build --release` output).
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Chromium.
    #[arg(long, default_value = "/usr/bin/chromium")]
    chromium: PathBuf,
    /// Messages in the room before the reader joins.
    #[arg(long, default_value_t = 5000)]
    lines: u32,
    /// Probe messages measured.
    #[arg(long, default_value_t = 200)]
    samples: u32,
    /// Probe messages sent first and not measured.
    #[arg(long, default_value_t = 20)]
    warmup: u32,
    /// Pause between two probes, in ms (the page is idle when each arrives).
    #[arg(long, default_value_t = 50)]
    pause_ms: u64,
    /// A name for this build in the output.
    #[arg(long, default_value = "current")]
    label: String,
    /// Where to write the results as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Where to write a CPU profile of the page during the probes (a
    /// `.cpuprofile` file, which Chromium's DevTools open), to see where the
    /// time goes.
    #[arg(long)]
    cpu_profile: Option<PathBuf>,
}

/// A scratch folder, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .subsec_nanos();
        let dir =
            std::env::temp_dir().join(format!("parley-render-{}-{nanos:x}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A child process, killed (by its own pid) when dropped.
pub(crate) struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the server on a free loopback port; returns it and its address.
fn start_server(args: &Args, scratch: &Path) -> anyhow::Result<(Process, String)> {
    let db = format!("sqlite://{}", scratch.join("render.db").display());
    let lines = args.lines.to_string();
    let mut child = Command::new(&args.server)
        .args(["--addr", "127.0.0.1:0", "--database-url", &db])
        .arg("--static-dir")
        .arg(&args.dist)
        .args(["--sqlite-synchronous", "normal"])
        .args(["--rate-burst", "1000000", "--rate-per-sec", "1000000"])
        .args([
            "--frame-budget",
            "1000000000/1s",
            "--max-reply-bytes",
            "67108864",
        ])
        .args(["--join-history", &lines, "--catch-up-cap", &lines])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.server.display()))?;
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
    let addr = line
        .trim()
        .rsplit("http://")
        .next()
        .filter(|a| a.parse::<std::net::SocketAddr>().is_ok())
        .ok_or_else(|| anyhow!("no address in the server's first line: {line:?}"))?
        .to_owned();
    Ok((Process(child), addr))
}

/// A protocol client that said `hello` and joined [`ROOM`].
async fn member(addr: &str, nick: &str) -> anyhow::Result<Socket> {
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await?;
    for frame in [
        ClientFrame::Hello {
            nick: nick.into(),
            resume: None,
        },
        ClientFrame::Join {
            room: ROOM.into(),
            since: None,
        },
    ] {
        ws.send(Message::text(frame.to_json())).await?;
    }
    while !matches!(next_frame(&mut ws).await?, ServerFrame::Joined { .. }) {}
    Ok(ws)
}

async fn next_frame<S>(ws: &mut S) -> anyhow::Result<ServerFrame>
where
    S: futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .context("waiting for a frame")?
            .ok_or_else(|| anyhow!("socket closed"))??;
        if let Message::Text(text) = message {
            return Ok(serde_json::from_str(text.as_str())?);
        }
    }
}

/// What the seeders say: ordinary chat, now and then with a link.
fn seed_text(i: u32) -> String {
    const SAYINGS: [&str; 6] = [
        "Morning! Is the deploy still on for 10:00?",
        "I pushed the migration fix: https://example.com/parley/pull/42",
        "looks good to me, merging after lunch",
        "다들 좋은 아침이에요 ☀️",
        "can someone check the dashboards? p99 went up a bit after the last release",
        "ok",
    ];
    format!("{} (#{i})", SAYINGS[i as usize % SAYINGS.len()])
}

/// Fills the room: three authors taking turns in runs of four messages.
async fn seed(addr: &str, lines: u32) -> anyhow::Result<()> {
    let mut sinks: Vec<SplitSink<Socket, Message>> = Vec::new();
    let (acks, mut acked) = tokio::sync::mpsc::unbounded_channel::<usize>();
    for (n, nick) in ["mina", "joon", "ana"].into_iter().enumerate() {
        let (sink, mut stream): (_, SplitStream<Socket>) = member(addr, nick).await?.split();
        sinks.push(sink);
        let acks = acks.clone();
        // Each seeder reads everything (the others' messages too), so no
        // outbox on the server fills up.
        tokio::spawn(async move {
            while let Ok(frame) = next_frame(&mut stream).await {
                if let ServerFrame::Ack { .. } = frame {
                    let _ = acks.send(n);
                }
            }
        });
    }
    let mut i = 0;
    while i < lines {
        let run = 4.min(lines - i);
        let sink = &mut sinks[(i / 4) as usize % 3];
        for k in 0..run {
            let frame = ClientFrame::Send {
                room: ROOM.into(),
                text: seed_text(i + k),
                cid: format!("seed-{}", i + k),
                reply_to: None,
            };
            sink.send(Message::text(frame.to_json())).await?;
        }
        for _ in 0..run {
            tokio::time::timeout(WAIT, acked.recv())
                .await
                .context("waiting for an ack")?;
        }
        i += run;
    }
    for mut sink in sinks {
        let _ = sink.close().await;
    }
    Ok(())
}

/// Installed in the page before the app runs (see the module's doc).
const HOOK: &str = include_str!("hook.js");

/// Mean, median, 95th percentile, min and max of `values` (ms).
fn stats(values: &mut [f64]) -> Value {
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    json!({ "mean": mean, "median": at(0.5), "p95": at(0.95), "min": at(0.0), "max": at(1.0) })
}

/// Opens the app with the hook installed and joins [`ROOM`]; returns the
/// time (ms) from `joined` to all of the room's lines in the DOM.
async fn join_in_browser(page: &mut DevTools, addr: &str, lines: u32) -> anyhow::Result<Value> {
    page.open_page().await?;
    page.call("Page.enable", json!({})).await?;
    page.call(
        "Page.addScriptToEvaluateOnNewDocument",
        json!({ "source": HOOK.replace("__LINES__", &lines.to_string()) }),
    )
    .await?;
    page.call(
        "Page.navigate",
        json!({ "url": format!("http://{addr}/#/room/{ROOM}") }),
    )
    .await?;
    page.wait_for(
        "the join screen",
        "!!document.querySelector('[data-testid=join-submit]:not([disabled])')",
    )
    .await?;
    page.eval("document.querySelector('[data-testid=join-submit]').click(), true")
        .await?;
    page.wait_for("the room's history", "window.__bench.initial !== null")
        .await?;
    let initial = page.eval("window.__bench.initial").await?;
    // Let the page settle (the first frames, the scroll to the bottom).
    tokio::time::sleep(Duration::from_secs(1)).await;
    page.eval("window.__benchWatch(), true").await?;
    Ok(initial)
}

/// Sends one probe and returns (to the DOM, to the next frame) in ms.
async fn probe_once(
    probe: &mut Socket,
    page: &mut DevTools,
    text: &str,
) -> anyhow::Result<(f64, f64)> {
    let frame = ClientFrame::Send {
        room: ROOM.into(),
        text: text.into(),
        cid: text.into(),
        reply_to: None,
    };
    probe.send(Message::text(frame.to_json())).await?;
    while !matches!(next_frame(probe).await?, ServerFrame::Ack { .. }) {}
    let times = page
        .eval(&format!("window.__benchWait({})", json!(text)))
        .await?;
    let t = |k: usize| {
        times[k]
            .as_f64()
            .ok_or_else(|| anyhow!("no time {k} for {text}: {times}"))
    };
    let (received, in_dom, framed) = (t(0)?, t(1)?, t(2)?);
    Ok((in_dom - received, framed - received))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    anyhow::ensure!(
        args.dist.join("index.html").exists(),
        "{} has no built app",
        args.dist.display()
    );
    let scratch = Scratch::new()?;
    let (_server, addr) = start_server(&args, &scratch.0)?;
    eprintln!("[render] {}: seeding {} messages", args.label, args.lines);
    seed(&addr, args.lines).await?;
    let mut probe = member(&addr, "probe").await?;

    let (_chromium, devtools_url) = start_chromium(&args, &scratch.0)?;
    let mut page = DevTools::connect(&devtools_url).await?;
    eprintln!("[render] {}: joining in Chromium", args.label);
    let initial = join_in_browser(&mut page, &addr, args.lines).await?;

    if args.cpu_profile.is_some() {
        page.call("Profiler.enable", json!({})).await?;
        page.call("Profiler.setSamplingInterval", json!({ "interval": 200 }))
            .await?;
        page.call("Profiler.start", json!({})).await?;
    }
    eprintln!(
        "[render] {}: {} probes ({} warm-up)",
        args.label,
        args.warmup + args.samples,
        args.warmup
    );
    let (mut to_dom, mut to_frame) = (Vec::new(), Vec::new());
    for i in 0..args.warmup + args.samples {
        let (dom, frame) = probe_once(&mut probe, &mut page, &format!("probe-{i}")).await?;
        if i >= args.warmup {
            to_dom.push(dom);
            to_frame.push(frame);
        }
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    if let Some(path) = &args.cpu_profile {
        let profile = page.call("Profiler.stop", json!({})).await?;
        std::fs::write(path, profile["profile"].to_string())?;
    }
    let _ = page.call("Browser.close", json!({})).await;

    let result = json!({
        "label": args.label,
        "lines": args.lines,
        "samples": args.samples,
        "history_ms": initial,
        "to_dom_ms": stats(&mut to_dom),
        "to_frame_ms": stats(&mut to_frame),
    });
    let ms = |v: &Value, k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    let (dom, frame) = (&result["to_dom_ms"], &result["to_frame_ms"]);
    println!(
        "{}: a new message in a {}-line room is in the DOM after {:.1} ms (median {:.1}, p95 {:.1}), \
         its frame is done after {:.1} ms (median {:.1}, p95 {:.1}); the history was drawn in {:.0} ms",
        args.label,
        args.lines,
        ms(dom, "mean"),
        ms(dom, "median"),
        ms(dom, "p95"),
        ms(frame, "mean"),
        ms(frame, "median"),
        ms(frame, "p95"),
        initial.as_f64().unwrap_or(f64::NAN),
    );
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&result)?)?;
    }
    Ok(())
}
