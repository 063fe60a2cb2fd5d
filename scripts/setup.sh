#!/usr/bin/env bash
# Installs what Parley needs on a fresh Debian machine that has only rustup/cargo,
# and skips whatever is already there, so a second run takes a second.
#
#   scripts/setup.sh            # build tools: wasm target, trunk, wasm-bindgen-cli, wasm-opt
#   scripts/setup.sh --browser  # also what the tests need: Chromium + ChromeDriver (and axe-core,
#                               # from npm) for the end-to-end tests, and Debian's PostgreSQL
#                               # (binaries only: the store tests start their own server in a
#                               # temp dir; the package's service and cluster are not started)
#                               # and Debian's redis-server and nginx-light (binaries too: the
#                               # cluster tests start their own in temp dirs)
#   scripts/setup.sh --cluster  # build tools plus PostgreSQL, redis-server and nginx-light, what
#                               # `make cluster` runs (scripts/cluster.sh); no browser
#
# Versions are the ones ../shared/TOOLCHAIN.md lists as working with rustc 1.95.
set -euo pipefail

TRUNK_VERSION="0.21.14"
# Must equal the `wasm-bindgen` version pinned in the workspace Cargo.toml.
WASM_BINDGEN_VERSION="0.2.130"

want_browser=0
want_servers=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1; want_servers=1 ;;
    --cluster) want_servers=1 ;;
    *) echo "setup.sh: unknown argument $arg" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"

# Debian packages: install only the ones that are missing.
apt_missing=()
need_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed" || apt_missing+=("$1"); }
# A package for a program, unless the program is there already (any nginx
# flavour will do: installing nginx-light would replace nginx-full).
need_program() { [ -x "$1" ] || need_pkg "$2"; }
need_pkg binaryen          # wasm-opt, used by trunk for the release build
need_pkg pkg-config
if [ "$want_browser" = 1 ]; then
  need_pkg chromium
  need_pkg chromium-driver
  # So Hangul, Kana, Han and emoji render in the end-to-end screenshots.
  need_pkg fonts-noto-cjk
  need_pkg fonts-noto-color-emoji
fi
if [ "$want_servers" = 1 ]; then
  # PostgreSQL for the PostgreSQL store's tests (backend/tests/common/postgres.rs),
  # Redis and nginx for the cluster (backend/tests/common/{redis,nginx}.rs,
  # scripts/cluster.sh). Only their binaries are used: the policy-rc.d below
  # keeps the packages' own services from starting (containers have no systemd).
  need_pkg postgresql
  need_program /usr/bin/redis-server redis-server
  need_program /usr/sbin/nginx nginx-light
fi
if [ "${#apt_missing[@]}" -gt 0 ]; then
  say "installing Debian packages: ${apt_missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  # Only the servers' binaries are wanted: no PostgreSQL "main" cluster, no
  # service started (policy-rc.d answers 101, "not allowed", to invoke-rc.d).
  $SUDO mkdir -p /etc/postgresql-common/createcluster.d
  echo 'create_main_cluster = false' | $SUDO tee /etc/postgresql-common/createcluster.d/parley.conf >/dev/null
  $SUDO apt-get update -qq
  policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
    $SUDO chmod +x /usr/sbin/policy-rc.d
    policy_added=1
  fi
  installed=0
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${apt_missing[@]}" >/dev/null && installed=1
  if [ "$policy_added" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
  [ "$installed" = 1 ] || { echo "setup.sh: apt-get install failed" >&2; exit 1; }
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if ! trunk --version 2>/dev/null | grep -q " ${TRUNK_VERSION}\$"; then
  say "installing trunk ${TRUNK_VERSION} (about 5 minutes on 2 cores)"
  cargo install trunk --version "${TRUNK_VERSION}" --locked --no-default-features --features rustls
fi

if ! wasm-bindgen --version 2>/dev/null | grep -q " ${WASM_BINDGEN_VERSION}\$"; then
  say "installing wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (about 2 minutes)"
  # Not --locked: the registry copy here lacks one pinned dependency (TOOLCHAIN.md).
  cargo install wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force
fi

# axe-core, which the browser tests inject into the page (Chromium here has
# no internet): npm's own client, pinned by backend/tests/axe/package-lock.json.
AXE_DIR="$(cd "$(dirname "$0")/.." && pwd)/backend/tests/axe"
if [ "$want_browser" = 1 ] && [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    say "installing Debian's nodejs and npm"
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  fi
  say "installing axe-core (npm ci in backend/tests/axe)"
  (cd "$AXE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
fi

say "tools ready"
