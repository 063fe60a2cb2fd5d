#!/usr/bin/env bash
# Benchmarks Parley against two peers in one run, on loopback only, and
# writes docs/benchmarks.md and docs/bench-chart.svg from the results.
#
#   make bench            # every scenario (about 25 minutes on 2 cores)
#   BENCH_QUICK=1 make bench   # shorter windows, for trying changes
#
# Peers: a plain Node.js relay on `ws` (bench/peers/node-ws) and a relay in
# the style of warp's chat example (bench/peers/naive-warp). Parley runs with
# its full protocol and durable history (SQLite, synchronous=FULL); only its
# per-connection rate limit is lifted, since the generator is one "user" per
# sender sending far faster than a person.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

out=target/bench
mkdir -p "$out"
rm -f "$out"/*.json

echo "[bench] building (release)" >&2
cargo build --release --locked -p parley-backend -p parley-bench -p naive-warp-relay
(cd bench/peers/node-ws && npm ci --no-audit --no-fund --silent)

if [ "${BENCH_QUICK:-0}" = 1 ]; then win=2s; warm=1s; else win=5s; warm=2s; fi
ulimit -n 20000 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# ready NAME PORT: whether the server is serving. Parley binds its port
# before it opens the database and builds its queues, so for Parley only an
# answer from /healthz counts; otherwise the memory read as "before" could
# miss those fixed allocations and bill them to the connections.
ready() {
  local name=$1 port=$2
  if [ "$name" != parley ]; then
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null
    return
  fi
  python3 - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/healthz", timeout=1)
PY
}

# start_server NAME PORT -> sets $server_pid
start_server() {
  local name=$1 port=$2
  case "$name" in
    parley)
      local dir; dir=$(mktemp -d)
      ./target/release/parley-backend --addr "127.0.0.1:$port" --database-url "sqlite://$dir/bench.db" \
        --rate-burst 1000000000 --rate-per-sec 1000000000 --frame-budget 1000000000/1s --join-rate 1000000000/1s --catch-up-rate 1000000000/1s \
        --max-connections 30000 --max-connections-per-ip 0 --connect-rate-per-ip 1000000000/1s \
        --outbox-capacity 4096 > "$out/$name.log" 2>&1 &
      ;;
    naive) ./target/release/naive-warp-relay "$port" > "$out/$name.log" 2>&1 & ;;
    node) node bench/peers/node-ws/relay.js "$port" > "$out/$name.log" 2>&1 & ;;
  esac
  server_pid=$!
  for _ in $(seq 1 100); do
    if ready "$name" "$port"; then return; fi
    sleep 0.1
  done
  echo "[bench] $name did not start" >&2; exit 1
}

# run SCENARIO SERVER load-generator-args...
run() {
  local scenario=$1 name=$2; shift 2
  local port; port=$(free_port)
  start_server "$name" "$port"
  echo "[bench] $scenario: $name" >&2
  ./target/release/parley-load --url "ws://127.0.0.1:$port/ws" --server-pid "$server_pid" \
    --warmup "$warm" --duration "$win" --drain 2s --sources 16 \
    --json "$out/$scenario-$name.json" "$@" > "$out/$scenario-$name.txt" 2>&1 \
    || echo "[bench] $scenario: $name failed (see $out/$scenario-$name.txt)" >&2
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  sleep 1
}

echo "[bench] storage: SQLite group commit (criterion)" >&2
cargo bench --locked -p parley-backend --bench store -- --warm-up-time 1 --measurement-time 3 > "$out/store.txt" 2>&1

for name in parley naive node; do
  run fanout "$name" --clients 1000 --rooms 1 --senders 20 --rate 50 --sweep --sweep-factor 1.4 --connect-concurrency 256
  run rooms "$name" --clients 10000 --rooms 1000 --senders 1000 --rate 1000 --sweep --sweep-factor 1.5 --connect-concurrency 512
  run latency "$name" --clients 1000 --rooms 1 --senders 20 --rate 200 --connect-concurrency 256
  run idle "$name" --clients 19000 --rooms 1900 --senders 0 --rate 0 --connect-concurrency 512
  run storm "$name" --clients 10000 --rooms 1000 --senders 0 --rate 0 --connect-concurrency 1024
done

# Join storms into big rooms, one room against N/10 rooms and against the
# server before the big-room work (target/bench/storm/; parley-report writes
# their section from there).
bash scripts/bench-storm.sh

./target/release/parley-report --results "$out" --markdown docs/benchmarks.md --chart docs/bench-chart.svg
# The browser app's rendering, before the foundation work and now (adds its
# own section to docs/benchmarks.md, so it runs after parley-report).
bash scripts/bench-render.sh --write-docs before=fcbae7d after=HEAD
# Message life in the store: changes against messages alone, and search
# over 1,000,000 messages (its own section too).
bash scripts/bench-life.sh --write-docs
echo "[bench] wrote docs/benchmarks.md and docs/bench-chart.svg" >&2
