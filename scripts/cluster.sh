#!/usr/bin/env bash
# make cluster: Parley as a cluster on this machine, in a fresh temp dir:
# PostgreSQL and Redis on free loopback ports, three nodes on
# 127.0.0.1:8081..8083 sharing them, and nginx in front at
# http://127.0.0.1:8080 (deploy/nginx.conf, rewritten for the temp dir).
# Ctrl-C stops all of them and removes the temp dir (logs included).
#
# Extra arguments go to every node (e.g. `bash scripts/cluster.sh --heartbeat 30s`);
# PARLEY_BIN=path/to/parley-backend skips the build and runs that binary.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export PATH="$HOME/.cargo/bin:$PATH"

NGINX_PORT=8080
NODE_PORTS=(8081 8082 8083)

say() { printf '\033[1;34m[cluster]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[cluster]\033[0m %s\n' "$*" >&2; exit 1; }

# Whether something accepts connections on 127.0.0.1:$1.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Whether GET $2 on 127.0.0.1:$1 answers 200 (bash only: no curl needed).
http_ok() {
  local status
  status="$( (exec 3<>"/dev/tcp/127.0.0.1/$1" &&
    printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$2" "$1" >&3 &&
    timeout 2 head -n 1 <&3) 2>/dev/null)" || return 1
  [[ "$status" == HTTP/1.?" 200"* ]]
}

# A free loopback port outside the ones above (free when checked).
free_port() {
  local port
  for _ in $(seq 100); do
    port=$((20000 + RANDOM % 30000))
    port_busy "$port" || { echo "$port"; return; }
  done
  die "no free port found"
}

# Waits up to $1 seconds for the command after it to succeed.
wait_until() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

# --- before anything is started ----------------------------------------------
for port in "$NGINX_PORT" "${NODE_PORTS[@]}"; do
  if port_busy "$port"; then
    die "port $port on 127.0.0.1 is busy (a \`make run\` or another \`make cluster\`?): stop it first"
  fi
done

bash scripts/setup.sh --cluster
if [ -n "${PARLEY_BIN:-}" ]; then
  # A server binary built already (e.g. target/debug/parley-backend): no build.
  BIN="$PARLEY_BIN"
else
  say "building the browser app (trunk build --release)"
  trunk build --release
  say "building the server (cargo build --release)"
  # The release binary carries the app it was built with (dist/).
  cargo build --release -p parley-backend
  BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/parley-backend"
fi
[ -x "$BIN" ] || die "no server binary at $BIN"

PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"
[ -x "$PG_BIN/initdb" ] || die "PostgreSQL is not installed: run scripts/setup.sh --cluster"
command -v redis-server >/dev/null || die "redis-server is not installed: run scripts/setup.sh --cluster"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$NGINX" ] || die "nginx is not installed: run scripts/setup.sh --cluster"

# --- the temp dir, and stopping everything ------------------------------------
WORK="$(mktemp -d "${TMPDIR:-/tmp}/parley-cluster.XXXXXX")"
# nginx's workers and PostgreSQL run as other users: they must reach into it.
chmod 755 "$WORK"
mkdir -p "$WORK/logs" "$WORK/pg" "$WORK/redis" "$WORK/nginx"

# PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  as_pg=(runuser -u postgres --)
  chown postgres: "$WORK/pg"
fi

NODE_PIDS=()
REDIS_PID=""
NGINX_PID=""
PG_STARTED=0
stopped=0
stop_all() {
  [ "$stopped" = 0 ] || return 0
  stopped=1
  trap - INT TERM EXIT
  say "stopping nginx, the nodes, Redis and PostgreSQL"
  # Bounded: SIGQUIT/SIGTERM first, SIGKILL after 10 s.
  local pid
  if [ -n "$NGINX_PID" ]; then kill -QUIT "$NGINX_PID" 2>/dev/null || true; fi
  for pid in "${NODE_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  if [ -n "$REDIS_PID" ]; then kill -TERM "$REDIS_PID" 2>/dev/null || true; fi
  for pid in "$NGINX_PID" "${NODE_PIDS[@]}" "$REDIS_PID"; do
    [ -n "$pid" ] || continue
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [ "$PG_STARTED" = 1 ]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM
trap 'stop_all' EXIT

# Prints the end of a log and fails.
fail_with_log() {
  printf '\033[1;31m[cluster]\033[0m %s; the end of %s:\n' "$1" "$2" >&2
  tail -n 30 "$2" >&2 || true
  exit 1
}

# --- PostgreSQL -----------------------------------------------------------------
PG_PORT="$(free_port)"
say "PostgreSQL on 127.0.0.1:$PG_PORT"
"${as_pg[@]}" "$PG_BIN/initdb" -D "$WORK/pg/data" -A trust -U parley -E UTF8 --locale=C \
  --no-sync >"$WORK/logs/initdb.log" 2>&1 || fail_with_log "initdb failed" "$WORK/logs/initdb.log"
PG_STARTED=1
(cd "$WORK/pg" && "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$WORK/pg/data" \
  -o "-p $PG_PORT -k $WORK/pg -c listen_addresses=127.0.0.1" \
  -l "$WORK/pg/log" -w -t 30 start >/dev/null) || fail_with_log "PostgreSQL did not start" "$WORK/pg/log"
(cd "$WORK/pg" && "${as_pg[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U parley parley) ||
  die "createdb parley failed"
DATABASE_URL="postgres://parley@127.0.0.1:$PG_PORT/parley"

# --- Redis ------------------------------------------------------------------------
REDIS_PORT="$(free_port)"
say "Redis on 127.0.0.1:$REDIS_PORT"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
  --dir "$WORK/redis" >"$WORK/logs/redis.log" 2>&1 &
REDIS_PID=$!
redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
wait_until 10 redis_up || fail_with_log "Redis does not answer PING" "$WORK/logs/redis.log"
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

# --- the nodes ----------------------------------------------------------------------
for port in "${NODE_PORTS[@]}"; do
  # --trusted-proxy: nginx is 127.0.0.1; the per-address limits then see the
  # client's address from X-Forwarded-For (deploy/nginx.conf).
  RUST_LOG="${RUST_LOG:-info}" "$BIN" --addr "127.0.0.1:$port" \
    --database-url "$DATABASE_URL" --redis-url "$REDIS_URL" \
    --trusted-proxy 127.0.0.1 "$@" >"$WORK/logs/node-$port.log" 2>&1 &
  NODE_PIDS+=($!)
done
for i in "${!NODE_PORTS[@]}"; do
  port="${NODE_PORTS[$i]}"
  node_up() { kill -0 "${NODE_PIDS[$i]}" 2>/dev/null && http_ok "$port" /healthz; }
  wait_until 30 node_up || fail_with_log "node 127.0.0.1:$port is not healthy" "$WORK/logs/node-$port.log"
done

# --- nginx ------------------------------------------------------------------------------
# deploy/nginx.conf with its upstream servers, listen address, pid, logs and
# temp paths pointed here, in the foreground (the lines marked "rewritten by
# the harness"; backend/tests/common/nginx.rs does the same).
servers="$(printf '127.0.0.1:%s ' "${NODE_PORTS[@]}")"
awk -v dir="$WORK/nginx" -v logs="$WORK/logs" -v listen="127.0.0.1:$NGINX_PORT" -v servers="$servers" '
  function lead(line) { match(line, /^[ \t]*/); return substr(line, 1, RLENGTH) }
  # The directive with its first argument replaced by `path`, other arguments kept.
  function repath(line, path,   code, n, f, out, i) {
    code = line; sub(/[ \t]*#.*/, "", code); sub(/;[ \t]*$/, "", code); sub(/^[ \t]+/, "", code)
    n = split(code, f, /[ \t]+/)
    out = lead(line) f[1] " " path
    for (i = 3; i <= n; i++) out = out " " f[i]
    return out ";"
  }
  BEGIN { print "daemon off;"; n = split(servers, s, " ") }
  $1 == "upstream" && $2 == "parley" {
    print; in_upstream = 1
    for (i = 1; i <= n; i++) print "        server " s[i] ";"
    next
  }
  in_upstream && $1 == "server" { next }
  in_upstream && $1 == "}" { in_upstream = 0 }
  $1 == "listen" { print lead($0) "listen " listen ";"; next }
  $1 == "pid" { print repath($0, dir "/nginx.pid"); next }
  $1 == "error_log" { print repath($0, logs "/nginx-error.log"); next }
  $1 == "access_log" { print repath($0, logs "/nginx-access.log"); next }
  $1 ~ /_temp_path$/ { t = $1; sub(/_temp_path$/, "", t); print repath($0, dir "/" t); next }
  { print }
' deploy/nginx.conf >"$WORK/nginx/nginx.conf"
"$NGINX" -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/logs/nginx-check.log" ||
  fail_with_log "nginx -t refused the config ($WORK/nginx/nginx.conf)" "$WORK/logs/nginx-check.log"
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/logs/nginx-stderr.log" &
NGINX_PID=$!
nginx_up() { kill -0 "$NGINX_PID" 2>/dev/null && http_ok "$NGINX_PORT" /healthz; }
wait_until 10 nginx_up || fail_with_log "nginx does not answer" "$WORK/logs/nginx-error.log"

cat >&2 <<EOF

  Parley cluster: http://127.0.0.1:$NGINX_PORT  (nginx, round robin over the nodes)
  nodes:          $(printf 'http://127.0.0.1:%s ' "${NODE_PORTS[@]}")
  PostgreSQL:     $DATABASE_URL
  Redis:          $REDIS_URL
  logs:           $WORK/logs
                  tail -f $WORK/logs/node-*.log
  Ctrl-C stops everything and removes $WORK.

EOF

# Until Ctrl-C, or until one of them stops by itself.
set +e
wait -n "$NGINX_PID" "$REDIS_PID" "${NODE_PIDS[@]}"
status=$?
set -e
for pid in "$NGINX_PID" "$REDIS_PID" "${NODE_PIDS[@]}"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    for log in "$WORK"/logs/*.log; do
      say "--- the end of $log"
      tail -n 5 "$log" >&2 || true
    done
    die "process $pid stopped by itself (status $status); stopping the others"
  fi
done
