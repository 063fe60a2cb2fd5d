#!/usr/bin/env bash
# A few seconds of real load through the load generator, so it keeps working:
# 60 clients in 3 rooms on loopback, 300 messages/s, then a join storm of
# 300 into one room. It asserts that every expected delivery arrived and no
# error came back; it never asserts a timing.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet --locked -p parley-backend -p parley-bench

dir=$(mktemp -d)
log="$dir/server.log"
./target/debug/parley-backend --addr 127.0.0.1:0 --database-url "sqlite://$dir/smoke.db" \
  --rate-burst 100000 --rate-per-sec 100000 --frame-budget 1000000000/1s --max-connections-per-ip 0 --connect-rate-per-ip 1000000000/1s > "$dir/stdout" 2> "$log" &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  addr=$(sed -n 's#^Parley is running: open http://##p' "$dir/stdout")
  [ -n "$addr" ] && break
  sleep 0.1
done
[ -n "$addr" ] || { echo "bench smoke: the server did not start" >&2; cat "$log" >&2; exit 1; }

./target/debug/parley-load --url "ws://$addr/ws" --clients 60 --rooms 3 --senders 6 --rate 300 \
  --warmup 1s --duration 2s --drain 2s --sources 4 --server-pid "$server" --require-all
# A small join storm into one room, with its fan-out and a resume storm
# after every client dropped its connection: everyone joins, everyone gets
# every message, nothing goes wrong.
./target/debug/parley-load storm --url "ws://$addr/ws" --server-pid "$server" --clients 300 --rooms 1 \
  --connect-concurrency 64 --sources 4 --fanout 5 --resume drop --settle 200ms --require-clean
echo "bench-smoke: 2 passed, 0 failed"
