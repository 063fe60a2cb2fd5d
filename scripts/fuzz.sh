#!/usr/bin/env bash
# A longer fuzzing run than `make test` does: the JSON frame parser and the
# WebSocket frame decoder (with the connection task behind it), driven by
# proptest on stable Rust. `FUZZ_CASES` sets the number of cases per
# property (default 50,000: about 10 minutes on 2 cores).
#
#   make fuzz
#   FUZZ_CASES=500000 make fuzz
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
cases="${FUZZ_CASES:-50000}"
echo "[fuzz] $cases cases per property" >&2
PROPTEST_CASES="$cases" cargo test --release --locked -p parley-protocol --test fuzz
PROPTEST_CASES="$cases" cargo test --release --locked -p parley-backend --test fuzz_frames
