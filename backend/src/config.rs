//! Everything an operator can tune, as command-line flags and `PARLEY_*`
//! environment variables.
//!
//! Every limit the server enforces lives here with its default, so nothing is
//! a magic number buried in the code, and `parley-backend --help` is the
//! complete list. Tests build a [`Config`] with [`Config::default`] and change
//! the fields they care about.
//!
//! A limit that makes no sense (a queue of 0 frames, a heartbeat of 0 s) is
//! refused at start-up with a one-line error that names the flag, rather
//! than quietly clamped to something that works.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::RangedU64ValueParser;
use clap::{Args, Parser};

use crate::assets::AppFiles;
use crate::store::Synchronous;

mod accounts;
mod cluster;

/// Where history is kept unless `--database-url` says otherwise.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/parley.db";

pub use accounts::{AccountFlags, AccountRules};
pub use cluster::ClusterFlags;

/// Parses durations such as `20s`, `500ms` or `2min`.
fn duration(s: &str) -> Result<Duration, humantime::DurationError> {
    humantime::parse_duration(s)
}

/// Parses a duration that must not be zero.
fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s) {
        Ok(d) if d.is_zero() => Err("must be longer than 0".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(e.to_string()),
    }
}

/// Parses an address (`10.0.0.1`) or a network (`10.0.0.0/8`).
fn network(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{s:?} is neither an address nor a network such as 10.0.0.0/8"))
}

/// A rate written `N/PERIOD`, e.g. `20/10s`: at most N in any PERIOD, all
/// N at once if need be (a bucket of N tokens, refilled evenly over PERIOD).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// How many.
    pub count: u32,
    /// In how long.
    pub per: Duration,
}

impl Rate {
    /// N per PERIOD.
    pub const fn new(count: u32, per: Duration) -> Self {
        Rate { count, per }
    }

    /// The time one token takes to come back.
    pub fn interval(&self) -> Duration {
        self.per / self.count
    }
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let help = || format!("{s:?} is not a rate: write N/PERIOD, e.g. 20/10s");
        let (count, per) = s.split_once('/').ok_or_else(help)?;
        let count: u32 = count.trim().parse().map_err(|_| help())?;
        let per = humantime::parse_duration(per.trim()).map_err(|_| help())?;
        if count == 0 || per.is_zero() {
            return Err(format!("{s:?}: a rate needs a count and a period above 0"));
        }
        Ok(Rate { count, per })
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.per))
    }
}

/// Parses a count that must be at least 1.
fn at_least_one<T: TryFrom<u64> + Clone + Send + Sync + 'static>() -> RangedU64ValueParser<T> {
    RangedU64ValueParser::new().range(1..)
}

/// The server's configuration.
#[derive(Debug, Clone, Parser)]
#[command(name = "parley-backend", version, about = "Parley chat server")]
pub struct Config {
    /// Address to listen on.
    #[arg(long, env = "PARLEY_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Serve the browser app from this folder (`trunk build --release`
    /// output) instead of the copy built into the binary; for development.
    #[arg(long, env = "PARLEY_STATIC_DIR")]
    pub static_dir: Option<PathBuf>,

    /// The address people open in their browser, e.g.
    /// `https://chat.example.com` (comma-separated if several; default: the
    /// listen address). Its origin may open WebSockets and its host name is
    /// answered (see `--allowed-host`).
    #[arg(long = "public-url", env = "PARLEY_PUBLIC_URL", value_delimiter = ',')]
    pub public_urls: Vec<String>,

    /// More origins allowed to open a WebSocket, e.g. `http://localhost:8081`
    /// for `trunk serve` (comma-separated; `*` allows any). The page the
    /// server served itself is always allowed, and so are requests without
    /// an Origin header (not a browser).
    #[arg(
        long = "allowed-origin",
        env = "PARLEY_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// More host names the server answers for (comma-separated; `*` for
    /// any). IP addresses, `localhost` and the public URL's host always
    /// are; any other `Host` gets 403, which stops DNS rebinding.
    #[arg(
        long = "allowed-host",
        env = "PARLEY_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Reverse proxies (addresses or networks such as `10.0.0.0/8`,
    /// comma-separated) whose `X-Forwarded-For` names the client's address
    /// for the per-address limits. Nobody else's is believed.
    #[arg(long = "trusted-proxy", env = "PARLEY_TRUSTED_PROXIES", value_delimiter = ',', value_parser = network)]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// Pending connections the kernel queues before the server accepts them
    /// (capped by `net.core.somaxconn`). Too small a queue drops connection
    /// attempts during a reconnect storm, and each waits a 1 s SYN retry.
    #[arg(long, env = "PARLEY_LISTEN_BACKLOG", default_value_t = 4096)]
    pub listen_backlog: u32,

    /// Where history is kept: `sqlite://PATH` (or a plain path) for the
    /// embedded SQLite database, `memory` to keep it in memory only.
    #[arg(long, env = "PARLEY_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,

    /// How hard SQLite syncs each commit: `full` survives a power cut,
    /// `normal` only a killed server (docs/benchmarks.md shows the cost).
    #[arg(long, env = "PARLEY_SQLITE_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Full)]
    pub sqlite_synchronous: Synchronous,

    /// The limits the hub and each connection enforce.
    #[command(flatten)]
    pub limits: Limits,

    /// Accounts: admins, sign-ins, password hashing.
    #[command(flatten)]
    pub accounts: AccountFlags,

    /// Several nodes: Redis between them.
    #[command(flatten)]
    pub cluster: ClusterFlags,
}

/// Sizes, rates, queues and timeouts.
#[derive(Debug, Clone, Args)]
pub struct Limits {
    /// Largest WebSocket frame or message a client may send, in bytes; larger
    /// ones close the connection with 1009. At least 256.
    #[arg(long, env = "PARLEY_MAX_FRAME_BYTES", default_value_t = parley_protocol::defaults::MAX_FRAME_BYTES, value_parser = RangedU64ValueParser::<usize>::new().range(256..))]
    pub max_frame_bytes: usize,

    /// Longest message text in characters, after trimming.
    #[arg(long, env = "PARLEY_MAX_TEXT_CHARS", default_value_t = parley_protocol::MAX_TEXT_CHARS, value_parser = at_least_one::<usize>())]
    pub max_text_chars: usize,

    /// Messages a connection may send in one burst (token bucket size).
    #[arg(long, env = "PARLEY_RATE_BURST", default_value_t = parley_protocol::defaults::RATE_BURST, value_parser = at_least_one::<u32>())]
    pub rate_burst: u32,

    /// Messages per second the burst refills at.
    #[arg(long, env = "PARLEY_RATE_PER_SEC", default_value_t = parley_protocol::defaults::RATE_PER_SEC, value_parser = at_least_one::<u32>())]
    pub rate_per_sec: u32,

    /// Bytes queued for one client before it counts as too slow (1013);
    /// a single frame larger than this still goes into an empty queue.
    #[arg(long, env = "PARLEY_OUTBOX_BYTES", default_value_t = 4 * 1024 * 1024, value_parser = at_least_one::<usize>())]
    pub outbox_bytes: usize,

    /// Frames a client may send ahead while one of its requests waits on
    /// the database; they are applied in order once it is answered, and
    /// beyond this many the server stops reading from the client until then.
    #[arg(long, env = "PARLEY_PIPELINE_FRAMES", default_value_t = 16, value_parser = at_least_one::<usize>())]
    pub pipeline_frames: usize,

    /// Frames queued for one client before it counts as too slow and is
    /// closed with 1013.
    #[arg(long, env = "PARLEY_OUTBOX_CAPACITY", default_value_t = 1024, value_parser = at_least_one::<usize>())]
    pub outbox_capacity: usize,

    /// Most frames written to a socket before one flush.
    #[arg(long, env = "PARLEY_WRITE_BATCH", default_value_t = 64, value_parser = at_least_one::<usize>())]
    pub write_batch: usize,

    /// How long one write to a client may take before it counts as stuck.
    #[arg(long, env = "PARLEY_WRITE_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub write_timeout: Duration,

    /// Interval of WebSocket pings; a client silent for two intervals is dropped.
    #[arg(long, env = "PARLEY_HEARTBEAT", default_value = "20s", value_parser = positive_duration)]
    pub heartbeat: Duration,

    /// How long a new connection has to send `hello`.
    #[arg(long, env = "PARLEY_HELLO_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub hello_timeout: Duration,

    /// How long a dropped session keeps its nickname and rooms for a resume.
    #[arg(long, env = "PARLEY_RESUME_GRACE", default_value = "30s", value_parser = duration)]
    pub resume_grace: Duration,

    /// How long a typing indicator lasts without a new `typing` frame.
    #[arg(long, env = "PARLEY_TYPING_TTL", default_value = "6s", value_parser = positive_duration)]
    pub typing_ttl: Duration,

    /// How often rooms tell their members who joined, left and typed: one
    /// `presence` and one `typing` frame per room per interval at most.
    #[arg(long, env = "PARLEY_PRESENCE_INTERVAL", default_value = "250ms", value_parser = positive_duration)]
    pub presence_interval: Duration,

    /// Members from which on a room is large: its `presence` frames carry
    /// only the member count, not who came and went.
    #[arg(long, env = "PARLEY_LARGE_ROOM", default_value_t = 1000, value_parser = at_least_one::<usize>())]
    pub large_room: usize,

    /// How often a large room tells its members its member count, at most:
    /// in a room of 20,000 a count every `--presence-interval` would be
    /// most of what the server sends.
    #[arg(long, env = "PARLEY_LARGE_ROOM_PRESENCE_INTERVAL", default_value = "2s", value_parser = positive_duration)]
    pub large_room_presence_interval: Duration,

    /// Members in one page of the member list (`joined` carries the first).
    #[arg(long, env = "PARLEY_MEMBER_PAGE", default_value_t = 100, value_parser = at_least_one::<usize>())]
    pub member_page: usize,

    /// Bad frames in a row after which a connection is closed with 1008.
    #[arg(long, env = "PARLEY_MAX_ERRORS_IN_ROW", default_value_t = 20, value_parser = at_least_one::<u32>())]
    pub max_errors_in_row: u32,

    /// Rooms one connection may be in at once.
    #[arg(long, env = "PARLEY_MAX_ROOMS_PER_CONNECTION", default_value_t = 32, value_parser = at_least_one::<usize>())]
    pub max_rooms_per_connection: usize,

    /// Rooms the server holds at once (rooms with members).
    #[arg(long, env = "PARLEY_MAX_ROOMS", default_value_t = 100_000, value_parser = at_least_one::<usize>())]
    pub max_rooms: usize,

    /// WebSocket connections the server accepts at once; more get HTTP 503.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS", default_value_t = 20_000, value_parser = at_least_one::<usize>())]
    pub max_connections: usize,

    /// WebSocket connections one client address may hold at once (0: no
    /// limit); more get HTTP 429. Behind a proxy, see `--trusted-proxy`.
    #[arg(long, env = "PARLEY_MAX_CONNECTIONS_PER_IP", default_value_t = 256)]
    pub max_connections_per_ip: usize,

    /// New WebSocket connections per client address, as N/PERIOD; faster
    /// ones get HTTP 429 with Retry-After.
    #[arg(long, env = "PARLEY_CONNECT_RATE_PER_IP", default_value_t = Rate::new(256, Duration::from_secs(10)))]
    pub connect_rate_per_ip: Rate,

    /// HTTP connections that are not WebSockets (yet) at once; past this a
    /// new one is closed at once.
    #[arg(long, env = "PARLEY_MAX_HTTP_CONNECTIONS", default_value_t = 1024, value_parser = at_least_one::<usize>())]
    pub max_http_connections: usize,

    /// ... of which one client address may hold at most this many (0: no
    /// limit; `--trusted-proxy` peers are exempt).
    #[arg(long, env = "PARLEY_MAX_HTTP_CONNECTIONS_PER_IP", default_value_t = 64)]
    pub max_http_connections_per_ip: usize,

    /// How long a client has to send a request's headers; also how long an
    /// idle keep-alive HTTP connection stays open.
    #[arg(long, env = "PARLEY_HEADER_TIMEOUT", default_value = "10s", value_parser = positive_duration)]
    pub header_timeout: Duration,

    /// Largest request head (request line and headers), in bytes; larger
    /// ones get HTTP 431. At least 8192.
    #[arg(long, env = "PARLEY_MAX_HEADER_BYTES", default_value_t = 16 * 1024, value_parser = RangedU64ValueParser::<usize>::new().range(8192..))]
    pub max_header_bytes: usize,

    /// Every frame a connection sends (pings, typing and bad ones included),
    /// as N/PERIOD; past it the connection is closed with 4008.
    #[arg(long, env = "PARLEY_FRAME_BUDGET", default_value_t = Rate::new(600, Duration::from_secs(60)))]
    pub frame_budget: Rate,

    /// `join` and `leave` frames per connection, as N/PERIOD (the burst
    /// lets a resuming client rejoin all its rooms); more get `rate_limited`.
    #[arg(long, env = "PARLEY_JOIN_RATE", default_value_t = Rate::new(40, Duration::from_secs(20)))]
    pub join_rate: Rate,

    /// Catch-ups (`join` with `since`) per connection, as N/PERIOD; more get
    /// `rate_limited`.
    #[arg(long, env = "PARLEY_CATCH_UP_RATE", default_value_t = Rate::new(64, Duration::from_secs(60)))]
    pub catch_up_rate: Rate,

    /// `history` pages per connection, as N/PERIOD; more get `rate_limited`.
    #[arg(long, env = "PARLEY_HISTORY_RATE", default_value_t = Rate::new(20, Duration::from_secs(10)))]
    pub history_rate: Rate,

    /// `search`es per connection, as N/PERIOD; more get `rate_limited`.
    #[arg(long, env = "PARLEY_SEARCH_RATE", default_value_t = Rate::new(10, Duration::from_secs(10)))]
    pub search_rate: Rate,

    /// Most hits in one page of search results.
    #[arg(long, env = "PARLEY_SEARCH_PAGE_MAX", default_value_t = 50, value_parser = at_least_one::<usize>())]
    pub search_page_max: usize,

    /// How long after sending a message its author may edit it (0s: no limit).
    #[arg(long, env = "PARLEY_EDIT_WINDOW", default_value = "15min", value_parser = duration)]
    pub edit_window: Duration,

    /// Most distinct emoji on one message.
    #[arg(long, env = "PARLEY_MAX_REACTIONS", default_value_t = parley_protocol::defaults::MAX_REACTIONS as usize, value_parser = at_least_one::<usize>())]
    pub max_reactions: usize,

    /// `members` pages per connection, as N/PERIOD; more get `rate_limited`.
    #[arg(long, env = "PARLEY_MEMBERS_RATE", default_value_t = Rate::new(20, Duration::from_secs(10)))]
    pub members_rate: Rate,

    /// `typing` frames per connection, as N/PERIOD; more are dropped.
    #[arg(long, env = "PARLEY_TYPING_RATE", default_value_t = Rate::new(5, Duration::from_secs(5)))]
    pub typing_rate: Rate,

    /// Messages sent with `joined` when a client joins without `since`.
    #[arg(long, env = "PARLEY_JOIN_HISTORY", default_value_t = 100)]
    pub join_history: usize,

    /// Most messages sent with `joined` when a client joins with `since`.
    #[arg(long, env = "PARLEY_CATCH_UP_CAP", default_value_t = 1000, value_parser = at_least_one::<usize>())]
    pub catch_up_cap: usize,

    /// Largest `joined` or `history` reply, in bytes: a page that would be
    /// larger keeps its newest messages and says `more`.
    #[arg(long, env = "PARLEY_MAX_REPLY_BYTES", default_value_t = 1024 * 1024, value_parser = RangedU64ValueParser::<usize>::new().range(16 * 1024..))]
    pub max_reply_bytes: usize,

    /// Most messages in one `history` page.
    #[arg(long, env = "PARLEY_HISTORY_PAGE_MAX", default_value_t = 200, value_parser = at_least_one::<usize>())]
    pub history_page_max: usize,

    /// Room events from other nodes (and catch-up requests) waiting to be
    /// delivered here, at most; what a full queue drops is read from the
    /// database instead.
    #[arg(long, env = "PARLEY_RELAY_QUEUE", default_value_t = 65_536, value_parser = at_least_one::<usize>())]
    pub relay_queue: usize,

    /// In a cluster, how often each node checks every room it holds
    /// against the database, the last resort for an event whose hint
    /// never came (the next event in the room, a reconnect or a silent
    /// node finds most gaps much sooner).
    #[arg(long, env = "PARLEY_CLUSTER_SWEEP", default_value = "30s", value_parser = positive_duration)]
    pub cluster_sweep: Duration,

    /// How long a gap in a room's `seq` may stay before the missing events
    /// are read from the database: in a cluster the other node's hint is
    /// usually a millisecond behind the event that showed the gap.
    #[arg(long, env = "PARLEY_CLUSTER_GAP_WAIT", default_value = "20ms", value_parser = duration)]
    pub cluster_gap_wait: Duration,

    /// Database connections reading history at once; more reads wait their turn.
    #[arg(long, env = "PARLEY_DB_READERS", default_value_t = 4, value_parser = at_least_one::<usize>())]
    pub db_readers: usize,

    /// Messages kept per room by the in-memory store (`--database-url memory`).
    #[arg(long, env = "PARLEY_MEMORY_HISTORY", default_value_t = 10_000, value_parser = at_least_one::<usize>())]
    pub memory_history: usize,

    /// Newest messages each open room keeps in memory to answer joins and
    /// catch-ups without reading the database.
    #[arg(long, env = "PARLEY_ROOM_CACHE", default_value_t = 256)]
    pub room_cache: usize,

    /// Bytes of messages one room keeps in memory, at most.
    #[arg(long, env = "PARLEY_ROOM_CACHE_BYTES", default_value_t = 512 * 1024)]
    pub room_cache_bytes: usize,

    /// Bytes of messages all rooms together keep in memory, at most; a
    /// room that records a message past it forgets its oldest first.
    #[arg(long, env = "PARLEY_ROOM_CACHES_TOTAL_BYTES", default_value_t = 256 * 1024 * 1024)]
    pub room_caches_total_bytes: usize,

    /// Most messages written in one transaction (group commit).
    #[arg(long, env = "PARLEY_COMMIT_BATCH", default_value_t = 4096, value_parser = at_least_one::<usize>())]
    pub commit_batch: usize,

    /// How long a commit waits for more messages after the first; 0 commits
    /// whatever arrived during the previous commit, adding no latency.
    #[arg(long, env = "PARLEY_COMMIT_WINDOW", default_value = "0s", value_parser = duration)]
    pub commit_window: Duration,

    /// Messages that may wait for a commit; more `send`s get `busy`.
    #[arg(long, env = "PARLEY_COMMIT_QUEUE", default_value_t = 65_536, value_parser = at_least_one::<usize>())]
    pub commit_queue: usize,

    /// Keep at most this many messages per room (default: all).
    #[arg(long, env = "PARLEY_RETAIN_MESSAGES", value_parser = at_least_one::<u64>())]
    pub retain_messages: Option<u64>,

    /// Delete messages older than this, e.g. `30days` (default: never).
    #[arg(long, env = "PARLEY_RETAIN_FOR", value_parser = positive_duration)]
    pub retain_for: Option<Duration>,

    /// How often the retention policy is applied.
    #[arg(long, env = "PARLEY_PRUNE_EVERY", default_value = "60s", value_parser = positive_duration)]
    pub prune_every: Duration,

    /// How long a closing handshake or final flush may take.
    #[arg(long, env = "PARLEY_CLOSE_TIMEOUT", default_value = "3s", value_parser = positive_duration)]
    pub close_timeout: Duration,

    /// How long shutdown waits for connections to close before giving up.
    #[arg(long, env = "PARLEY_SHUTDOWN_TIMEOUT", default_value = "5s", value_parser = positive_duration)]
    pub shutdown_timeout: Duration,

    /// Size of each connection's WebSocket read buffer, in bytes. Client
    /// frames are small and larger ones just take more reads; tungstenite's
    /// 128 KiB default would be most of an idle connection's memory (about
    /// 7.5 KiB in all with this one, docs/benchmarks.md).
    #[arg(long, env = "PARLEY_READ_BUFFER_BYTES", default_value_t = 1024, value_parser = at_least_one::<usize>())]
    pub read_buffer_bytes: usize,

    /// Bytes of outgoing frames gathered per connection before they are
    /// written to the socket (every batch is flushed at its end anyway, so
    /// this never delays a frame). The session writes everything queued and
    /// then flushes once; with 0, tungstenite would write each frame on its
    /// own, one `send` system call per frame per recipient, which was 75 % of
    /// the server's CPU under fan-out load (docs/profiling.md). The buffer
    /// only grows as far as a batch needs, so idle connections pay nothing.
    #[arg(long, env = "PARLEY_WRITE_BUFFER_BYTES", default_value_t = 16 * 1024)]
    pub write_buffer_bytes: usize,
}

impl Default for Config {
    /// The defaults of the flags, ignoring the environment.
    fn default() -> Self {
        Config::try_parse_from_defaults()
    }
}

impl Default for Limits {
    fn default() -> Self {
        Config::default().limits
    }
}

/// File descriptors the server needs besides its WebSockets and HTTP
/// connections: the listener, the database, logs, the runtime.
pub const RESERVED_FILES: u64 = 64;

impl Config {
    /// Where the browser app's files come from.
    pub fn app_files(&self) -> AppFiles {
        match &self.static_dir {
            Some(dir) => AppFiles::Folder(dir.clone()),
            None => AppFiles::BuiltIn,
        }
    }

    /// Fits `--max-connections` into `open_files` (the process's limit on
    /// open files): every WebSocket and every HTTP connection is a file, and
    /// a server that runs out of them stops accepting anything, `/healthz`
    /// included. Lowers the cap and says so, or fails if nothing fits.
    pub fn fit_open_files(&mut self, open_files: u64) -> Result<Option<String>, String> {
        let limits = &mut self.limits;
        let others = limits.max_http_connections as u64 + limits.db_readers as u64 + RESERVED_FILES;
        let room = open_files.saturating_sub(others);
        if room == 0 {
            return Err(format!(
                "the open-file limit ({open_files}) leaves no room for connections: raise it (ulimit -n) above {others}"
            ));
        }
        if limits.max_connections as u64 <= room {
            return Ok(None);
        }
        let asked = limits.max_connections;
        limits.max_connections = room as usize;
        Ok(Some(format!(
            "--max-connections {asked} does not fit the open-file limit ({open_files}, of which {others} are kept for HTTP, the database and the server): lowered to {room}; raise `ulimit -n` to keep {asked}"
        )))
    }

    /// Parses an empty command line without reading `PARLEY_*` variables.
    fn try_parse_from_defaults() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        let mut command = Config::command();
        // Clear the env bindings so a developer's shell cannot change test defaults.
        let ids: Vec<_> = command
            .get_arguments()
            .map(|a| a.get_id().clone())
            .collect();
        for id in ids {
            command = command.mut_arg(id, |a| a.env(None::<&str>));
        }
        let matches = command
            .try_get_matches_from(["parley-backend"])
            .expect("the defaults parse");
        Config::from_arg_matches(&matches).expect("the defaults are valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_documented_values() {
        let config = Config::default();
        assert_eq!(config.addr, "127.0.0.1:8080".parse().unwrap());
        assert_eq!(config.limits.max_frame_bytes, 16 * 1024);
        assert_eq!(config.limits.rate_burst, 20);
        assert_eq!(config.limits.rate_per_sec, 5);
        assert_eq!(config.limits.heartbeat, Duration::from_secs(20));
        assert_eq!(config.limits.resume_grace, Duration::from_secs(30));
        assert_eq!(config.limits.max_text_chars, 2000);
    }

    #[test]
    fn defaults_are_the_protocol_crate_s() {
        use parley_protocol::defaults;
        let limits = Config::default().limits;
        assert_eq!(limits.max_frame_bytes, defaults::MAX_FRAME_BYTES);
        assert_eq!(limits.max_text_chars, parley_protocol::MAX_TEXT_CHARS);
        assert_eq!(limits.rate_burst, defaults::RATE_BURST);
        assert_eq!(limits.rate_per_sec, defaults::RATE_PER_SEC);
        assert_eq!(
            limits.typing_ttl.as_millis() as u64,
            defaults::TYPING_TTL_MS
        );
        assert_eq!(
            limits.resume_grace.as_millis() as u64,
            defaults::RESUME_GRACE_MS
        );
    }

    #[test]
    fn nonsensical_limits_are_refused_naming_the_flag() {
        for (flag, value) in [
            ("--outbox-capacity", "0"),
            ("--rate-per-sec", "0"),
            ("--rate-burst", "0"),
            ("--commit-queue", "0"),
            ("--commit-batch", "0"),
            ("--write-batch", "0"),
            ("--pipeline-frames", "0"),
            ("--max-connections", "0"),
            ("--heartbeat", "0s"),
            ("--hello-timeout", "0ms"),
            ("--prune-every", "0s"),
            ("--retain-messages", "0"),
            ("--max-frame-bytes", "100"),
        ] {
            let err = Config::try_parse_from(["parley-backend", flag, value])
                .expect_err(&format!("{flag} {value} must be refused"))
                .to_string();
            let first_line = err.lines().next().unwrap_or_default();
            assert!(first_line.contains(flag), "{flag}: {err}");
        }
        assert!(Config::try_parse_from([
            "parley-backend",
            "--commit-window",
            "0s",
            "--resume-grace",
            "0s"
        ])
        .is_ok());
    }

    #[test]
    fn max_connections_is_fitted_into_the_open_file_limit() {
        let mut config = Config::default();
        assert_eq!(config.fit_open_files(1_000_000), Ok(None));
        assert_eq!(config.limits.max_connections, 20_000);
        let note = config.fit_open_files(20_000).unwrap().unwrap();
        let expected = 20_000 - 1024 - 4 - RESERVED_FILES as usize;
        assert_eq!(config.limits.max_connections, expected);
        assert!(
            note.contains("--max-connections 20000") && note.contains(&expected.to_string()),
            "{note}"
        );
        assert!(config.fit_open_files(100).is_err());
    }

    #[test]
    fn rates_and_proxies_parse_or_say_why_not() {
        let rate: Rate = "20/10s".parse().unwrap();
        assert_eq!(
            (rate.count, rate.per, rate.interval()),
            (20, Duration::from_secs(10), Duration::from_millis(500))
        );
        assert_eq!(rate.to_string(), "20/10s");
        for bad in ["0/10s", "10/0s", "10", "x/10s", "10/soon"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
        let config = Config::try_parse_from([
            "parley-backend",
            "--trusted-proxy",
            "10.0.0.1,192.168.0.0/16,::1",
        ])
        .unwrap();
        let nets: Vec<String> = config
            .trusted_proxies
            .iter()
            .map(|n| n.to_string())
            .collect();
        assert_eq!(nets, vec!["10.0.0.1/32", "192.168.0.0/16", "::1/128"]);
        let err = Config::try_parse_from(["parley-backend", "--trusted-proxy", "proxy.example"])
            .unwrap_err();
        assert!(err.to_string().contains("proxy.example"), "{err}");
    }

    #[test]
    fn flags_override_defaults() {
        let config = Config::try_parse_from([
            "parley-backend",
            "--addr",
            "127.0.0.1:0",
            "--heartbeat",
            "250ms",
            "--allowed-origin",
            "http://a.example,http://b.example",
        ])
        .unwrap();
        assert_eq!(config.limits.heartbeat, Duration::from_millis(250));
        assert_eq!(config.allowed_origins.len(), 2);
    }
}
