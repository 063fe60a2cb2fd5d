#!/usr/bin/env bash
# Every check and test of the project, as CI runs it (`.ci/run` calls `make test`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

step() { printf '\n\033[1;34m[test] %s\033[0m\n' "$*" >&2; }

step "tools"
bash scripts/setup.sh --browser

step "formatting"
cargo fmt --all -- --check

step "lints (native)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "lints (browser app, wasm32)"
cargo clippy -p parley-frontend --target wasm32-unknown-unknown --locked -- -D warnings

step "browser app build (trunk)"
trunk build --release

step "tests"
cargo test --workspace --locked

step "load generator smoke run"
bash scripts/bench-smoke.sh
