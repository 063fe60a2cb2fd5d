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

SERVICES_NAME=cluster
# shellcheck source=scripts/lib/services.sh
source scripts/lib/services.sh

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

find_services

# --- the temp dir, and stopping everything ------------------------------------
make_work_dir parley-cluster

stop_all() {
  say "stopping nginx, the nodes, Redis and PostgreSQL"
  stop_services "$WORK"
  rm -rf "$WORK"
}
trap_stop stop_all

# --- PostgreSQL -----------------------------------------------------------------
PG_PORT="$(free_port)"
say "PostgreSQL on 127.0.0.1:$PG_PORT"
start_postgres "$WORK" "$PG_PORT"
(cd "$WORK/pg" && "${as_pg[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U parley parley) ||
  die "createdb parley failed"
DATABASE_URL="postgres://parley@127.0.0.1:$PG_PORT/parley"

# --- Redis ------------------------------------------------------------------------
REDIS_PORT="$(free_port)"
say "Redis on 127.0.0.1:$REDIS_PORT"
start_redis "$WORK" "$REDIS_PORT"
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
  wait_until 30 healthy "${NODE_PIDS[$i]}" "$port" || fail_with_log "node 127.0.0.1:$port is not healthy" "$WORK/logs/node-$port.log"
done

# --- nginx ------------------------------------------------------------------------------
# deploy/nginx.conf with its upstream servers, listen address, pid, logs and
# temp paths pointed here, in the foreground (scripts/lib/services.sh).
start_nginx "$WORK" "$NGINX_PORT" "${NODE_PORTS[@]/#/127.0.0.1:}"

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
