#!/usr/bin/env bash
# Several nodes: the same load against (a) one node on SQLite
# (synchronous=FULL, the default), (b) one node on PostgreSQL (fsync on, the
# default) and (c) two nodes sharing that PostgreSQL and one Redis behind
# nginx (deploy/nginx.conf rewritten for a temp dir, as scripts/cluster.sh
# does), in one run, on loopback only. Release builds; about 6 minutes on
# 2 cores (BENCH_QUICK=1: about 4).
#
#   scripts/bench-cluster.sh                # run, print the table
#   scripts/bench-cluster.sh --write-docs   # ... and (re)write the section
#       "Several nodes: SQLite vs PostgreSQL vs two nodes behind nginx" of
#       docs/benchmarks.md (`parley-report` carries it over); its closing
#       **Reading** is written by hand: taken from target/bench/cluster/reading.md
#       if there is one, else kept from the file
#   scripts/bench-cluster.sh --no-run --write-docs   # only the docs, from
#       the results of an earlier run (target/bench/cluster/)
#
# Two loads, each a sweep (parley-load --sweep, doubling the rate) over the
# same grid of rates for every configuration; latency is compared at one
# rate of that grid (the second step):
#   fanout  one room of 510 clients, 10 senders (50, 100, 200 ... msg/s;
#           latency at 100 msg/s = 50,900 deliveries/s)
#   rooms   201 rooms of 5 clients, one sender each (500, 1,000, 2,000 ...
#           msg/s; latency at 1,000 msg/s): the commit rate
# The client counts are chosen so that, with nginx's round robin over two
# nodes, the senders alternate between the nodes and every room has members
# on both: most deliveries in (c) cross Redis.
#
# Everything it starts (PostgreSQL, Redis, nodes, nginx) is stopped, and its
# temp dir removed, when it exits, however it exits.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

write_docs=0
run=1
for arg in "$@"; do
  case "$arg" in
    --write-docs) write_docs=1 ;;
    --no-run) run=0 ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) echo "unknown argument $arg (see --help)" >&2; exit 2 ;;
  esac
done

TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
out="$TARGET/bench/cluster"
HEADING="## Several nodes: SQLite vs PostgreSQL vs two nodes behind nginx"

SERVICES_NAME=bench-cluster
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

if [ "${BENCH_QUICK:-0}" = 1 ]; then win=2s; warm=1s; else win=3s; warm=1s; fi

if [ "$run" = 1 ]; then
  find_services

  say "building (release)"
  cargo build --release --locked -p parley-backend -p parley-bench
  BIN="$TARGET/release/parley-backend"
  LOAD="$TARGET/release/parley-load"
  mkdir -p "$out"
  rm -f "$out"/*.json "$out"/*.txt "$out"/*.prom "$out"/node-log-warnings.txt

  # Each server and the generator hold one socket per client.
  ulimit -n 20000 2>/dev/null || true

  make_work_dir parley-bench-cluster sqlite

  LOAD_PID=""
  # Stops the load, then the nodes, nginx and Redis of one configuration.
  stop_configuration() {
    if [ -n "$LOAD_PID" ]; then kill -TERM "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
    LOAD_PID=""
    stop_servers
  }
  stop_all() {
    say "stopping everything it started"
    stop_configuration
    # The logs are kept with the results (the temp dir goes).
    rm -rf "$out/logs"
    cp -r "$WORK/logs" "$out/logs" 2>/dev/null || true
    stop_postgres "$WORK"
    rm -rf "$WORK"
  }
  trap_stop stop_all

  # --- PostgreSQL (fsync, synchronous_commit and full_page_writes left at
  # their defaults: on) ---------------------------------------------------------
  PG_PORT="$(free_port)"
  say "PostgreSQL on 127.0.0.1:$PG_PORT (fsync on)"
  start_postgres "$WORK" "$PG_PORT"
  psql_q() { psql -h 127.0.0.1 -p "$PG_PORT" -U parley -d postgres -Atqc "$1"; }
  psql_q "show fsync" >"$out/pg-fsync.txt"
  psql_q "show synchronous_commit" >"$out/pg-synchronous-commit.txt"
  PG_MAIN_PID="$(head -n 1 "$WORK/pg/data/postmaster.pid")"

  # --- one configuration ---------------------------------------------------------
  # Parley's limits lifted as scripts/bench.sh lifts them: the generator is
  # one "user" per sender sending far faster than a person.
  node_args=(--rate-burst 1000000000 --rate-per-sec 1000000000 --frame-budget 1000000000/1s
    --join-rate 1000000000/1s --catch-up-rate 1000000000/1s
    --max-connections 30000 --max-connections-per-ip 0 --connect-rate-per-ip 1000000000/1s
    --outbox-capacity 4096 --trusted-proxy 127.0.0.1)
  NODE_PORTS=()

  # start_node DATABASE_URL [extra args...]
  start_node() {
    local db=$1; shift
    local port; port="$(free_port)"
    RUST_LOG=warn "$BIN" --addr "127.0.0.1:$port" --database-url "$db" "${node_args[@]}" "$@" \
      >"$WORK/logs/node-$port.log" 2>&1 &
    NODE_PIDS+=($!)
    NODE_PORTS+=("$port")
    wait_until 30 healthy "$!" "$port" || fail_with_log "node 127.0.0.1:$port is not healthy" "$WORK/logs/node-$port.log"
  }

  # CPU seconds used so far by each part (the process and its descendants,
  # from /proc/PID/stat) and by the whole machine (/proc/stat), as JSON.
  cpu_snapshot() {
    python3 - "$@" <<'PY'
import json, os, sys
hz = os.sysconf("SC_CLK_TCK")
procs = {}
for d in os.listdir("/proc"):
    if d.isdigit():
        try:
            f = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        rest = f[f.rindex(")") + 2:].split()
        procs[int(d)] = (int(rest[1]), (int(rest[11]) + int(rest[12])) / hz)
children = {}
for pid, (ppid, _) in procs.items():
    children.setdefault(ppid, []).append(pid)
parts = {}
for arg in sys.argv[1:]:
    name, pids = arg.split("=", 1)
    total, todo = 0.0, [int(p) for p in pids.split(",") if p]
    while todo:
        p = todo.pop()
        if p in procs:
            total += procs[p][1]
            todo.extend(children.get(p, []))
    parts[name] = total
cpu = open("/proc/stat").readline().split()[1:]
ticks = [int(x) for x in cpu]
parts["_busy"] = (sum(ticks) - ticks[3] - ticks[4]) / hz
parts["_wall"] = float(open("/proc/uptime").read().split()[0])
print(json.dumps(parts))
PY
  }

  # metrics PORT: the node's parley_* counters and gauges, one "name value" a line.
  metrics() { curl -fsS "http://127.0.0.1:$1/metrics" | grep -E '^parley_' || true; }

  # pg_stats DB: "transactions events wal_syncs" so far: transactions
  # committed in that database, room events stored in it (the sum of the
  # rooms' last seq) and WAL fsyncs of the whole server.
  pg_stats() {
    psql -h 127.0.0.1 -p "$PG_PORT" -U parley -d "$1" -AtqF ' ' -c \
      "select (select xact_commit from pg_stat_database where datname = current_database()),
              (select coalesce(sum(last_seq), 0) from rooms),
              (select wal_sync from pg_stat_wal)"
  }

  # measure CONFIG URL DB PARTS...: both loads against URL; DB is the
  # PostgreSQL database (or "-"); PARTS name=pid[,pid] for the CPU account.
  measure() {
    local config=$1 url=$2 db=$3; shift 3
    local load_pid scenario
    for scenario in fanout rooms; do
      local args
      case "$scenario" in
        fanout) args=(--clients 510 --rooms 1 --senders 10 --rate 50 --connect-concurrency 128) ;;
        rooms) args=(--clients 1005 --rooms 201 --senders 201 --rate 500 --connect-concurrency 256) ;;
      esac
      say "$config: $scenario"
      local tag="$config-$scenario" port
      for port in "${NODE_PORTS[@]}"; do metrics "$port" >"$out/$tag-before-$port.prom"; done
      if [ "$db" != - ]; then pg_stats "$db" >"$out/$tag-pg-before.txt"; fi
      cpu_snapshot "$@" >"$out/$tag-cpu-before.json"
      "$LOAD" --url "$url" --warmup "$warm" --duration "$win" --drain 1s --sources 16 \
        --sweep --sweep-factor 2 --sweep-refine 3 --sweep-retries 1 --json "$out/$tag.json" "${args[@]}" \
        >"$out/$tag.txt" 2>&1 &
      load_pid=$!
      LOAD_PID=$load_pid
      # The generator's own CPU is counted while it runs.
      local snap_args=("$@" "load=$load_pid")
      # Per-node connections while the load is connected (for (c): round robin).
      (sleep 8; for port in "${NODE_PORTS[@]}"; do metrics "$port" >"$out/$tag-during-$port.prom"; done) &
      local during=$!
      while kill -0 "$load_pid" 2>/dev/null; do
        cpu_snapshot "${snap_args[@]}" >"$out/$tag-cpu-after.json.tmp" && mv "$out/$tag-cpu-after.json.tmp" "$out/$tag-cpu-after.json"
        sleep 2
      done
      wait "$during" 2>/dev/null || true
      wait "$load_pid" || say "$config: $scenario: parley-load failed (see $out/$tag.txt)"
      LOAD_PID=""
      # PostgreSQL publishes a backend's counts once it has been idle a moment.
      sleep 2
      for port in "${NODE_PORTS[@]}"; do metrics "$port" >"$out/$tag-after-$port.prom"; done
      if [ "$db" != - ]; then pg_stats "$db" >"$out/$tag-pg-after.txt"; fi
    done
  }

  nodes_parts() {
    local i
    for i in "${!NODE_PIDS[@]}"; do printf 'node%s=%s ' "$((i + 1))" "${NODE_PIDS[$i]}"; done
  }

  # (a) one node on SQLite
  run_a() {
    say "(a) one node, SQLite (synchronous=FULL)"
    NODE_PORTS=()
    start_node "sqlite://$WORK/sqlite/bench.db"
    # shellcheck disable=SC2046
    measure sqlite "ws://127.0.0.1:${NODE_PORTS[0]}/ws" - $(nodes_parts)
    printf '%s\n' "${NODE_PORTS[@]}" >"$out/sqlite-ports.txt"
    stop_configuration
  }

  # (b) one node on PostgreSQL
  run_b() {
    say "(b) one node, PostgreSQL"
    psql_q "create database parley_one"
    NODE_PORTS=()
    start_node "postgres://parley@127.0.0.1:$PG_PORT/parley_one"
    # shellcheck disable=SC2046
    measure postgres "ws://127.0.0.1:${NODE_PORTS[0]}/ws" parley_one $(nodes_parts) "postgres=$PG_MAIN_PID"
    printf '%s\n' "${NODE_PORTS[@]}" >"$out/postgres-ports.txt"
    stop_configuration
  }

  # (c) two nodes on PostgreSQL + Redis behind nginx
  run_c() {
    say "(c) two nodes, PostgreSQL + Redis, behind nginx"
    psql_q "create database parley_two"
    REDIS_PORT="$(free_port)"
    start_redis "$WORK" "$REDIS_PORT"
    NODE_PORTS=()
    for _ in 1 2; do
      start_node "postgres://parley@127.0.0.1:$PG_PORT/parley_two" --redis-url "redis://127.0.0.1:$REDIS_PORT"
    done
    NGINX_PORT="$(free_port)"
    start_nginx "$WORK" "$NGINX_PORT" "${NODE_PORTS[@]/#/127.0.0.1:}"
    # shellcheck disable=SC2046
    measure two-nodes "ws://127.0.0.1:$NGINX_PORT/ws" parley_two $(nodes_parts) \
      "postgres=$PG_MAIN_PID" "redis=$REDIS_PID" "nginx=$NGINX_PID"
    printf '%s\n' "${NODE_PORTS[@]}" >"$out/two-nodes-ports.txt"
    grep -c . "$WORK/logs/nginx-error.log" >"$out/nginx-error-lines.txt" 2>/dev/null || echo 0 >"$out/nginx-error-lines.txt"
    for log in "$WORK"/logs/node-*.log; do
      { echo "--- $(basename "$log")"; grep -ciE 'warn|error' "$log" || true; } >>"$out/node-log-warnings.txt"
    done
    stop_configuration
  }

  # BENCH_CLUSTER_ORDER="c b a" runs them the other way round (to see
  # whether the order, e.g. a warmer page cache or a busier neighbour
  # later on, favours one).
  for config in ${BENCH_CLUSTER_ORDER:-a b c}; do
    case "$config" in
      a) run_a ;;
      b) run_b ;;
      c) run_c ;;
      *) die "BENCH_CLUSTER_ORDER: unknown configuration $config (a, b or c)" ;;
    esac
  done
  echo "${BENCH_CLUSTER_ORDER:-a b c}" >"$out/order.txt"
  stop_once stop_all
fi

# --- the table ------------------------------------------------------------------
section="$(python3 - "$out" "$HEADING" "$win" <<'PY'
import json, os, sys
out, heading, win = sys.argv[1], sys.argv[2], sys.argv[3]
configs = [("sqlite", "(a) one node, SQLite"),
           ("postgres", "(b) one node, PostgreSQL"),
           ("two-nodes", "(c) two nodes, PostgreSQL + Redis, nginx")]

def read(path, default=None):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default

def prom(path):
    values = {}
    for line in (read(path, "") or "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            name = parts[0].split("{")[0]
            try:
                values[name] = values.get(name, 0.0) + float(parts[-1])
            except ValueError:
                pass
    return values

def ports(config):
    return (read(f"{out}/{config}-ports.txt", "") or "").split()

COMMON = {"fanout": 100.0, "rooms": 1000.0}
rows = {}
for scenario in ("fanout", "rooms"):
    for config, _ in configs:
        tag = f"{config}-{scenario}"
        text = read(f"{out}/{tag}.json")
        if text is None:
            continue
        r = json.loads(text)
        steps = r["steps"]
        # The grid's second rate (100 fan-out, 1,000 rooms), first attempt.
        common = COMMON[scenario]
        first = next((s for s in steps if abs(s["rate"] - common) < 0.5), None)
        passing = [s for s in steps if s["passed"]]
        best = max(passing, key=lambda s: s["rate"]) if passing else None
        window = float(win.rstrip("s"))
        row = {"first": first, "best": best, "clients": r["clients"], "rooms": r["rooms"],
               "senders": r["senders"], "phases": len(steps)}
        # PostgreSQL transactions during the whole sweep, per message sent.
        before, after = read(f"{out}/{tag}-pg-before.txt"), read(f"{out}/{tag}-pg-after.txt")
        if before and after:
            b, a = [int(x) for x in before.split()], [int(x) for x in after.split()]
            row["pg"] = {"transactions": a[0] - b[0], "events": a[1] - b[1], "wal_syncs": a[2] - b[2]}
        row["sent_total"] = sum(s["sent"] for s in steps)
        # Per node: backfilled events, Redis published/received, messages in, connections.
        nodes = []
        for port in ports(config):
            b = prom(f"{out}/{tag}-before-{port}.prom")
            a = prom(f"{out}/{tag}-after-{port}.prom")
            d = prom(f"{out}/{tag}-during-{port}.prom")
            delta = lambda k: a.get(k, 0) - b.get(k, 0)
            nodes.append({
                "port": port,
                "backfilled": delta("parley_backfilled_events_total"),
                "published": delta("parley_cluster_published_total"),
                "received": delta("parley_cluster_received_total"),
                "connections": d.get("parley_connections"),
                "link_up": a.get("parley_cluster_link_up"),
                "database_up": a.get("parley_database_up"),
            })
        row["nodes"] = nodes
        cb = json.loads(read(f"{out}/{tag}-cpu-before.json", "{}") or "{}")
        ca = json.loads(read(f"{out}/{tag}-cpu-after.json", "{}") or "{}")
        wall = ca.get("_wall", 0) - cb.get("_wall", 0)
        cpu = {}
        if wall > 0:
            for k, v in ca.items():
                if k == "_wall":
                    continue
                cpu[k] = (v - cb.get(k, 0)) / wall * 100
        row["cpu"] = cpu
        rows[tag] = row

json.dump(rows, open(f"{out}/summary.json", "w"), indent=1)

def f0(x): return f"{x:,.0f}"
def f2(x): return f"{x:.2f}"
lines = [heading, ""]
lines.append("`scripts/bench-cluster.sh` (`make bench-cluster`, not part of `make bench`), "
             "release builds, loopback only, the three configurations one after another in "
             f"one run (in the order {', '.join((read(out + '/order.txt', 'a b c') or 'a b c').split())}). Same flags as `make bench` otherwise (rate limits lifted). "
             "*(a)* one node on SQLite (`synchronous=FULL`, the default); *(b)* one node on "
             "PostgreSQL 15 in a temp dir, **fsync, synchronous_commit and full_page_writes "
             f"left on** (the defaults; measured `fsync={(read(out + '/pg-fsync.txt', '?') or '?').strip()}`, "
             f"`synchronous_commit={(read(out + '/pg-synchronous-commit.txt', '?') or '?').strip()}`); "
             "*(c)* two nodes on that PostgreSQL (a fresh database) and one Redis, behind nginx "
             "from `deploy/nginx.conf` (rewritten for a temp dir, as `make cluster` does), "
             "`parley-load` connected to nginx, which spreads the clients round robin. "
             f"Each load is a sweep (window {win[:-1]} s after 1 s of warm-up, a failing rate run once "
             "more, then three refining steps, about 9 % apart at the end) that doubles the rate from the same start for "
             "every configuration; the latency columns are the first attempt at the grid's "
             "second rate, the same offered load for all three. *Highest sustained rate*: "
             "≥ 99.9 % delivered and p99 ≤ 100 ms; every delivered message was committed first "
             "(Parley relays after the commit), so it is also messages committed per second.")
lines.append("")
for scenario, title, load in (
        ("fanout", "Fan-out: one room of 510 clients, 10 senders", "100 msg/s ≈ 50,900 deliveries/s"),
        ("rooms", "Commit rate: 201 rooms of 5 clients, one sender each", "1,000 msg/s ≈ 4,000 deliveries/s")):
    lines.append(f"**{title}** (latency at {load})")
    lines.append("")
    lines.append("| configuration | p50 ms | p99 ms | delivered | highest sustained rate (msg committed/s) | deliveries/s there | ÷ (a) |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|")
    base = None
    for config, label in configs:
        row = rows.get(f"{config}-{scenario}")
        if not row:
            lines.append(f"| {label} | – | – | – | – | – | – |")
            continue
        fst, best = row["first"], row["best"]
        rate = best["rate"] if best else 0.0
        if base is None:
            base = rate
        ratio = f"{rate / base:.2f}×" if base and rate else "–"
        lat = (f"{f2(fst['p50_ms'])} | {f2(fst['p99_ms'])} | {fst['delivery_ratio'] * 100:.3f} %"
               if fst else "– | – | –")
        shown = f0(rate) if best else f"< {f0(COMMON[scenario] / 2)}"
        lines.append(f"| {label} | {lat} | {shown} | "
                     f"{f0(best['deliveries_per_sec']) if best else '–'} | {ratio} |")
    lines.append("")

lines.append("**Between the nodes, (c)** (over each whole sweep; counters from each node's `/metrics`)")
lines.append("")
lines.append("| load | node | connections | events published to Redis | received from Redis | backfilled from PostgreSQL | backfilled ÷ events stored |")
lines.append("|---|---|---:|---:|---:|---:|---:|")
for scenario in ("fanout", "rooms"):
    row = rows.get(f"two-nodes-{scenario}")
    if not row:
        continue
    for i, n in enumerate(row["nodes"]):
        conns = "?" if n["connections"] is None else f0(n["connections"])
        lines.append(f"| {scenario} | {i + 1} | {conns} | {f0(n['published'])} | "
                     f"{f0(n['received'])} | **{f0(n['backfilled'])}** | "
                     f"{n['backfilled'] / row['pg']['events'] * 100 if row.get('pg', {}).get('events') else 0:.1f} % |")
lines.append("")
lines.append("**PostgreSQL** over each whole sweep: room events stored (the rooms' `last_seq`), "
             "transactions committed in the database (`pg_stat_database.xact_commit`: the "
             "writer's batches and every read, catch-ups included) and WAL fsyncs "
             "(`pg_stat_wal.wal_sync`):")
lines.append("")
lines.append("| load | configuration | events stored | transactions | WAL fsyncs | events per fsync |")
lines.append("|---|---|---:|---:|---:|---:|")
for scenario in ("fanout", "rooms"):
    for config, label in configs[1:]:
        row = rows.get(f"{config}-{scenario}")
        if not row or "pg" not in row:
            continue
        pg = row["pg"]
        per = f"{pg['events'] / pg['wal_syncs']:.1f}" if pg["wal_syncs"] else "–"
        lines.append(f"| {scenario} | {label} | {f0(pg['events'])} | {f0(pg['transactions'])} | "
                     f"{f0(pg['wal_syncs'])} | {per} |")
lines.append("")
lines.append("**CPU** (% of one core, averaged over each whole sweep, from `/proc/PID/stat` of "
             "each process and its children; *machine* is both cores' busy time from "
             "`/proc/stat`, out of 200 %, so *machine* minus the listed parts is what else "
             "ran on the shared box):")
lines.append("")
parts = ["node1", "node2", "nginx", "redis", "postgres", "load", "_busy"]
names = {"_busy": "machine"}
lines.append("| load | configuration | " + " | ".join(names.get(p, p) for p in parts) + " |")
lines.append("|---|---|" + "---:|" * len(parts))
for scenario in ("fanout", "rooms"):
    for config, label in configs:
        row = rows.get(f"{config}-{scenario}")
        if not row:
            continue
        cells = [f"{row['cpu'][p]:.0f}" if p in row["cpu"] else "–" for p in parts]
        lines.append(f"| {scenario} | {label} | " + " | ".join(cells) + " |")
print("\n".join(lines))
PY
)"
printf '%s\n' "$section"

if [ "$write_docs" = 1 ]; then
  python3 - docs/benchmarks.md "$HEADING" "$out/reading.md" "$section" <<'PY'
import os, sys
path, heading, reading_path, section = sys.argv[1:5]
doc = open(path).read()
# The reading of the numbers is written by hand after a run
# (target/bench/cluster/reading.md), else the one in the file is kept.
old_reading = ""
start = doc.find("\n" + heading + "\n")
if start >= 0:
    body = doc[start + 1:]
    nxt = body.find("\n## ", len(heading))
    body = body if nxt < 0 else body[:nxt]
    mark = body.find("\n**Reading**")
    if mark >= 0:
        old_reading = body[mark + 1:].strip()
reading = open(reading_path).read().strip() if os.path.exists(reading_path) else old_reading
section = section.strip() + ("\n\n" + reading if reading else "") + "\n"
if start < 0:
    doc = doc.rstrip() + "\n\n" + section
else:
    body = doc[start + 1:]
    nxt = body.find("\n## ", len(heading))
    doc = doc[:start + 1] + section + ("" if nxt < 0 else "\n" + body[nxt + 1:])
open(path, "w").write(doc)
PY
  say "wrote the section of docs/benchmarks.md"
fi
