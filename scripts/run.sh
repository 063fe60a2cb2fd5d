#!/usr/bin/env bash
# Builds the browser app and runs the server at http://127.0.0.1:8080
# (override with PARLEY_ADDR=host:port; every flag: parley-backend --help).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

bash scripts/setup.sh
echo "[run] building the browser app (trunk build --release)" >&2
trunk build --release
echo "[run] building and starting the server" >&2
# The release binary carries the app it was built with (dist/).
exec cargo run --release -p parley-backend -- "$@"
