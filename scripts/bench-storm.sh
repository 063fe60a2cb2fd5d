#!/usr/bin/env bash
# Join storms into big rooms (issue 11), on loopback only: for each N, N
# clients join one room at once, then the same N spread over N/10 rooms,
# then (if asked) the same one-room storm against the server before the
# big-room work; each run on a fresh server (`parley-load storm`, see
# `target/release/parley-load storm --help`). The one-room runs measure
# fan-out too, and the one of STORM_RESUME_N clients the resume storms:
# every client dropping its connection at once, and a restart of the
# server (done here, when parley-load asks for it through a file).
#
#   scripts/bench-storm.sh                  # N = 2,000 5,000 10,000 19,000, and before=a2f8e6b
#   scripts/bench-storm.sh --write-docs     # ... then rewrite the section "Big rooms:
#                                           # join storms" of docs/benchmarks.md
#   STORM_SIZES="2000 5000" STORM_BEFORE=0 scripts/bench-storm.sh   # a short try
#
# `make bench` runs it before parley-report, which writes the section.
# STORM_BEFORE is the commit of the "before" server (0: none), built once
# from a `git archive` export into target/bench-storm/; STORM_CAP (120s) is
# how long a storm against it may take. STORM_CONCURRENCY (512) clients
# connect at once. Results go to target/bench/storm/: one JSON and one text
# file per run, and each server's log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

write_docs=0
for arg in "$@"; do
  case "$arg" in
    --write-docs) write_docs=1 ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

sizes=${STORM_SIZES:-2000 5000 10000 19000}
before=${STORM_BEFORE:-a2f8e6b}
cap=${STORM_CAP:-120s}
resume_n=${STORM_RESUME_N:-10000}
concurrency=${STORM_CONCURRENCY:-512}
root=$PWD
out=target/bench/storm
mkdir -p "$out"
rm -f "$out"/*.json "$out"/*.txt "$out"/*.log

step() { printf '[bench-storm] %s\n' "$*" >&2; }

step "building (release)"
cargo build --release --locked -p parley-backend -p parley-bench

old_bin=
if [ "$before" != 0 ]; then
  sha=$(git rev-parse --verify "$before^{commit}")
  old_bin=target/bench-storm/parley-backend-$sha
  if [ ! -x "$old_bin" ]; then
    step "building the server of $before (${sha:0:7})"
    src=$(mktemp -d)
    # `-m`, and a target folder of its own: see scripts/bench-render.sh.
    git archive "$sha" | tar -x -m -C "$src"
    (cd "$src" && CARGO_TARGET_DIR="$root/target/bench-storm/target" \
      cargo build --release --locked -p parley-backend >&2)
    mkdir -p target/bench-storm
    cp target/bench-storm/target/release/parley-backend "$old_bin"
    rm -rf "$src"
  fi
fi

# Server and load generator each hold one socket per client.
ulimit -n 20000 2>/dev/null || true

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# start BIN PORT DIR LOG: starts a server with default limits but for the
# per-address cap and pace (one load-generator host) and the cap on HTTP
# connections not yet upgraded: the server fits its WebSocket cap into the
# open-file limit (20,000 here) less that cap (1,024 by default) and a few
# files of its own, which leaves 18,908, too few for 19,000 clients; 768
# leaves 19,164 and is still more than the 512 handshakes under way at
# once. Sets $pid once the server answers /healthz.
start() {
  local bin=$1 port=$2 dir=$3 log=$4
  "$bin" --addr "127.0.0.1:$port" --database-url "sqlite://$dir/storm.db" \
    --max-connections-per-ip 0 --connect-rate-per-ip 1000000000/1s \
    --max-http-connections 768 >> "$log" 2>&1 &
  pid=$!
  for _ in $(seq 1 150); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
      return
    fi
    kill -0 "$pid" 2>/dev/null || { step "the server did not start (see $log)"; exit 1; }
    sleep 0.1
  done
  step "the server did not answer within 15 s (see $log)"; exit 1
}

# stop: SIGTERM, then SIGKILL after 20 s.
stop() {
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# storm NAME BIN parley-load-storm-args...: one run on a fresh server.
storm() {
  local name=$1 bin=$2; shift 2
  local port dir log restart_file load
  port=$(free_port)
  dir=$(mktemp -d)
  log="$out/$name.log"
  restart_file="$dir/restart"
  start "$bin" "$port" "$dir" "$log"
  step "$name (server pid $pid)"
  ./target/release/parley-load storm --url "ws://127.0.0.1:$port/ws" --server-pid "$pid" \
    --connect-concurrency "$concurrency" --restart-file "$restart_file" \
    --json "$out/$name.json" "$@" > "$out/$name.txt" 2>&1 &
  load=$!
  while kill -0 "$load" 2>/dev/null; do
    if [ -f "$restart_file" ] && grep -q '^restart' "$restart_file"; then
      step "$name: restarting the server"
      stop
      start "$bin" "$port" "$dir" "$log"
      echo "ready $pid" > "$restart_file"
    fi
    sleep 0.05
  done
  wait "$load" || step "$name failed (see $out/$name.txt)"
  stop
  rm -rf "$dir"
  sed 's/^/    /' "$out/$name.txt" >&2
}

for n in $sizes; do
  resume=()
  if [ "$n" = "$resume_n" ]; then resume=(--resume drop,restart); fi
  storm "one-$n" ./target/release/parley-backend --clients "$n" --rooms 1 --fanout 10 "${resume[@]}"
  storm "spread-$n" ./target/release/parley-backend --clients "$n" --rooms $((n / 10))
  if [ -n "$old_bin" ]; then
    storm "before-one-$n" "$old_bin" --clients "$n" --rooms 1 --deadline "$cap" \
      --baseline --server-label "\`${sha:0:7}\` (before the big-room work)"
  fi
done

if [ "$write_docs" = 1 ]; then
  ./target/release/parley-report --only-storm --storm "$out" --markdown docs/benchmarks.md
  step "wrote the section of docs/benchmarks.md"
fi
