#!/usr/bin/env bash
# The soak: good clients chatting among hostile ones against the server
# with its DEFAULT limits, on loopback only (parley-load soak, see
# `target/release/parley-load soak --help`). Writes the section "Soak: good
# clients among hostile ones" of docs/benchmarks.md, and fails unless the
# soak was clean: no good message lost or repeated, no good client cut off,
# every hostile kind stopped as docs/protocol.md says, the server alive and
# stopping cleanly.
#
#   make soak                                    # 10 minutes
#   SOAK_DURATION=20s SOAK_DOCS=0 make soak      # a short try; docs untouched
#   SOAK_ARGS='--clients 400 --hostile 5' make soak
#
# Results go to target/soak/: soak.json, soak.txt, the server's log.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

duration=${SOAK_DURATION:-10m}
out=target/soak
mkdir -p "$out"
rm -f "$out"/soak.json "$out"/soak.txt "$out"/server.log

echo "[soak] building (release)" >&2
cargo build --release --locked -p parley-backend -p parley-bench

ulimit -n 20000 2>/dev/null || true
dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# Default limits: only the address and the database are given.
./target/release/parley-backend --addr "127.0.0.1:$port" --database-url "sqlite://$dir/soak.db" \
  > "$out/server.out" 2> "$out/server.log" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$port/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  kill -0 "$server" 2>/dev/null || { echo "[soak] the server did not start:" >&2; cat "$out/server.log" >&2; exit 1; }
  sleep 0.1
done

docs=()
if [ "${SOAK_DOCS:-1}" != 0 ]; then docs=(--docs docs/benchmarks.md); fi
echo "[soak] $duration against 127.0.0.1:$port (pid $server)" >&2
failed=0
# shellcheck disable=SC2086 # SOAK_ARGS is a list of options
./target/release/parley-load soak --url "ws://127.0.0.1:$port/ws" --server-pid "$server" \
  --duration "$duration" --json "$out/soak.json" "${docs[@]}" --require-clean ${SOAK_ARGS:-} \
  | tee "$out/soak.txt" || failed=1

if ! kill -0 "$server" 2>/dev/null; then
  echo "[soak] the server died during the soak (see $out/server.log)" >&2
  exit 1
fi
kill -TERM "$server"
stopped=0
for _ in $(seq 1 150); do
  if ! kill -0 "$server" 2>/dev/null; then stopped=1; break; fi
  sleep 0.1
done
if [ "$stopped" = 0 ]; then
  echo "[soak] the server did not stop within 15 s of SIGTERM" >&2
  failed=1
else
  code=0; wait "$server" || code=$?
  [ "$code" = 0 ] || { echo "[soak] the server exited with $code" >&2; failed=1; }
fi
if grep -q 'panicked' "$out/server.log"; then
  echo "[soak] the server panicked (see $out/server.log)" >&2
  failed=1
fi
[ "${#docs[@]}" = 0 ] || echo "[soak] wrote its section of docs/benchmarks.md" >&2
exit "$failed"
