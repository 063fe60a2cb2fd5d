# shellcheck shell=bash
# Starting and stopping the services of a cluster on this machine, on
# loopback only, everything in one temp dir: PostgreSQL (as the `postgres`
# user when run as root), Redis, and nginx from deploy/nginx.conf rewritten
# for that dir. Sourced (not run) by scripts/cluster.sh (`make cluster`) and
# scripts/bench-cluster.sh (`make bench-cluster`), after `set -euo pipefail`
# and `cd` to the repository root, with SERVICES_NAME set to the tag of
# their messages (e.g. `cluster` prints `[cluster] ...`).
#
# It offers:
#   say MSG / die MSG           a message on stderr (die: and exit 1)
#   fail_with_log MSG LOG       MSG and the end of LOG, then exit 1
#   port_busy PORT              whether 127.0.0.1:PORT accepts connections
#   http_ok PORT PATH           whether GET PATH there answers 200 (bash only)
#   free_port                   a free loopback port (20000-49999)
#   wait_until SECONDS CMD...   waits up to SECONDS for CMD to succeed
#   healthy PID PORT            PID runs and 127.0.0.1:PORT/healthz answers 200
#   find_services               sets PG_BIN and NGINX; dies if PostgreSQL,
#                               redis-server or nginx is missing
#   make_work_dir PREFIX [SUBDIR...]
#                               sets WORK to a new temp dir with logs/, pg/,
#                               redis/, nginx/ and the SUBDIRs, and as_pg to
#                               the command prefix running PostgreSQL's tools
#   start_postgres DIR PORT     initdb in DIR/pg/data and start it on PORT
#                               (user parley, trust; logs DIR/logs/initdb.log
#                               and DIR/pg/log); sets PG_STARTED=1
#   start_redis DIR PORT        redis-server on PORT, no persistence, in the
#                               background (DIR/logs/redis.log); sets REDIS_PID
#   write_nginx_conf DIR PORT UPSTREAM...
#                               DIR/nginx/nginx.conf: deploy/nginx.conf with
#                               the UPSTREAM servers (host:port), listening on
#                               127.0.0.1:PORT, pid, logs (DIR/logs) and temp
#                               paths in DIR, in the foreground
#   start_nginx DIR PORT UPSTREAM...
#                               writes, checks and starts it; sets NGINX_PID
#   stop_servers                stops nginx (NGINX_PID), the nodes (NODE_PIDS,
#                               started by the caller) and Redis (REDIS_PID):
#                               QUIT/TERM, then KILL after 10 s; clears them
#   stop_postgres DIR           pg_ctl stop if PG_STARTED=1
#   stop_services DIR           both
#   trap_stop FUNC              runs FUNC once (see stop_once) on exit, Ctrl-C
#                               (then exit 130) and SIGTERM (exit 143)
#   stop_once FUNC              runs FUNC unless it ran already, with the
#                               traps removed first (for an explicit stop)
#
# The caller removes its temp dir itself (in FUNC, after stop_services).

: "${SERVICES_NAME:?set SERVICES_NAME before sourcing scripts/lib/services.sh}"

NODE_PIDS=()
REDIS_PID=""
NGINX_PID=""
PG_STARTED=0
PG_BIN=""
NGINX=""
as_pg=()

say() { printf '\033[1;34m[%s]\033[0m %s\n' "$SERVICES_NAME" "$*" >&2; }
die() { printf '\033[1;31m[%s]\033[0m %s\n' "$SERVICES_NAME" "$*" >&2; exit 1; }

# Prints the end of a log and fails.
fail_with_log() {
  printf '\033[1;31m[%s]\033[0m %s; the end of %s:\n' "$SERVICES_NAME" "$1" "$2" >&2
  tail -n 30 "$2" >&2 || true
  exit 1
}

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

# A free loopback port outside the fixed ones (free when checked).
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

# Whether process $1 runs and 127.0.0.1:$2/healthz answers 200.
healthy() { kill -0 "$1" 2>/dev/null && http_ok "$2" /healthz; }

find_services() {
  PG_BIN="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin 2>/dev/null | sort -V | tail -n 1)"
  [ -x "$PG_BIN/initdb" ] || die "PostgreSQL is not installed: run scripts/setup.sh --cluster"
  command -v redis-server >/dev/null || die "redis-server is not installed: run scripts/setup.sh --cluster"
  NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
  [ -x "$NGINX" ] || die "nginx is not installed: run scripts/setup.sh --cluster"
}

make_work_dir() {
  local prefix=$1 sub; shift
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/$prefix.XXXXXX")"
  # nginx's workers and PostgreSQL run as other users: they must reach into it.
  chmod 755 "$WORK"
  mkdir -p "$WORK/logs" "$WORK/pg" "$WORK/redis" "$WORK/nginx"
  for sub in "$@"; do mkdir -p "$WORK/$sub"; done
  # PostgreSQL refuses to run as root: as root, run its tools as `postgres`.
  as_pg=()
  if [ "$(id -u)" = 0 ]; then
    as_pg=(runuser -u postgres --)
    chown postgres: "$WORK/pg"
  fi
}

# PostgreSQL's settings are its defaults (fsync, synchronous_commit on).
start_postgres() {
  local dir=$1 port=$2
  "${as_pg[@]}" "$PG_BIN/initdb" -D "$dir/pg/data" -A trust -U parley -E UTF8 --locale=C \
    --no-sync >"$dir/logs/initdb.log" 2>&1 || fail_with_log "initdb failed" "$dir/logs/initdb.log"
  PG_STARTED=1
  (cd "$dir/pg" && "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$dir/pg/data" \
    -o "-p $port -k $dir/pg -c listen_addresses=127.0.0.1" \
    -l "$dir/pg/log" -w -t 30 start >/dev/null) || fail_with_log "PostgreSQL did not start" "$dir/pg/log"
}

redis_up() { [ "$(redis-cli -h 127.0.0.1 -p "$1" ping 2>/dev/null)" = PONG ]; }

start_redis() {
  local dir=$1 port=$2
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$dir/redis" >"$dir/logs/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_until 10 redis_up "$port" || fail_with_log "Redis does not answer PING" "$dir/logs/redis.log"
}

# The lines of deploy/nginx.conf marked "rewritten by the harness"
# (backend/tests/common/nginx.rs does the same).
write_nginx_conf() {
  local dir=$1 port=$2; shift 2
  awk -v dir="$dir/nginx" -v logs="$dir/logs" -v listen="127.0.0.1:$port" -v servers="$*" '
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
  ' deploy/nginx.conf >"$dir/nginx/nginx.conf"
}

start_nginx() {
  local dir=$1 port=$2
  write_nginx_conf "$@"
  "$NGINX" -t -q -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>"$dir/logs/nginx-check.log" ||
    fail_with_log "nginx -t refused the config ($dir/nginx/nginx.conf)" "$dir/logs/nginx-check.log"
  "$NGINX" -p "$dir/nginx" -c "$dir/nginx/nginx.conf" 2>"$dir/logs/nginx-stderr.log" &
  NGINX_PID=$!
  wait_until 10 healthy "$NGINX_PID" "$port" || fail_with_log "nginx does not answer" "$dir/logs/nginx-error.log"
}

# Bounded: SIGQUIT (nginx) / SIGTERM first, SIGKILL after 10 s.
stop_servers() {
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
  NODE_PIDS=()
  REDIS_PID=""
  NGINX_PID=""
}

stop_postgres() {
  if [ "$PG_STARTED" = 1 ]; then
    "${as_pg[@]}" "$PG_BIN/pg_ctl" -D "$1/pg/data" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  PG_STARTED=0
}

stop_services() {
  stop_servers
  stop_postgres "$1"
}

services_stopped=0
stop_once() {
  [ "$services_stopped" = 0 ] || return 0
  services_stopped=1
  trap - INT TERM EXIT
  "$@"
}

trap_stop() {
  # shellcheck disable=SC2064 # the function's name, expanded now
  trap "stop_once $1; exit 130" INT
  # shellcheck disable=SC2064
  trap "stop_once $1; exit 143" TERM
  # shellcheck disable=SC2064
  trap "stop_once $1" EXIT
}
