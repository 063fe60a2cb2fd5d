#!/usr/bin/env bash
# Browser app benchmark: how long the app takes to show a new message in a
# room of 5,000 lines, in headless Chromium against the real server
# (bench/src/bin/parley-render). It prints numbers and asserts nothing, so it
# is not part of `make test`.
#
#   scripts/bench-render.sh                        # the working tree's app
#   scripts/bench-render.sh before=fcbae7d after=HEAD   # these commits' apps, one after another
#   scripts/bench-render.sh --write-docs before=fcbae7d after=HEAD
#       ... and (re)writes the section "Browser app: rendering a 5,000-line
#       room" of docs/benchmarks.md (run it after `parley-report`, which
#       rewrites that file)
#
# Each argument is a git commit, or `.` for the working tree, optionally
# named (`NAME=COMMIT`; the name heads its row in the table). A commit's app
# is built once (`trunk build --release` in a `git archive` export of it) and
# kept in target/bench-render/dist-<sha>; the working tree's is built into
# dist/. Every app is served by the working tree's server (a debug build).
# RENDER_LINES (5000), RENDER_SAMPLES (200) and RENDER_WARMUP (20) change the
# size; results go to target/bench-render/*.json.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

write_docs=0
builds=()
for arg in "$@"; do
  case "$arg" in
    --write-docs) write_docs=1 ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) builds+=("$arg") ;;
  esac
done
[ ${#builds[@]} -gt 0 ] || builds=(.)

lines=${RENDER_LINES:-5000}
samples=${RENDER_SAMPLES:-200}
warmup=${RENDER_WARMUP:-20}
out=target/bench-render
root=$PWD
mkdir -p "$out"

step() { printf '[bench-render] %s\n' "$*" >&2; }

step "building the server and the benchmark (debug)"
cargo build --locked -p parley-backend --bin parley-backend
cargo build --locked -p parley-bench --bin parley-render

# dist_of BUILD: prints the folder of that build's app, building it if needed.
dist_of() {
  local build=$1
  if [ "$build" = . ]; then
    trunk build --release >&2
    echo "$root/dist"
    return
  fi
  local sha; sha=$(git rev-parse --verify "$build^{commit}")
  local dist="$root/$out/dist-$sha"
  if [ ! -f "$dist/index.html" ]; then
    step "building the app of $build (${sha:0:7})"
    local src; src=$(mktemp -d)
    # `-m`: the files get the time of now, not of the commit, and the export
    # builds in a target folder of its own. (Cargo's artifacts do not depend
    # on where the workspace is, and it trusts files older than them: an
    # export built in target/ would be taken for the working tree's build.)
    git archive "$sha" | tar -x -m -C "$src"
    (cd "$src" && CARGO_TARGET_DIR="$root/$out/target" trunk build --release --dist "$dist" >&2)
    rm -rf "$src"
  fi
  echo "$dist"
}

results=()
for arg in "${builds[@]}"; do
  title=
  build=$arg
  if [[ "$arg" == *=* ]]; then title=${arg%%=*}; build=${arg#*=}; fi
  if [ "$build" = . ]; then
    label="working tree ($(git describe --always --dirty))"
    name=worktree
  else
    name=$(git rev-parse --short "$build^{commit}")
    label=$name
  fi
  [ -z "$title" ] || label="$title, $label"
  dist=$(dist_of "$build")
  step "measuring $label"
  ./target/debug/parley-render --server target/debug/parley-backend --dist "$dist" \
    --lines "$lines" --samples "$samples" --warmup "$warmup" \
    --label "$label" --json "$out/$name.json"
  results+=("$title=$build=$out/$name.json")
done

# The section, from the results (and each commit's subject, for what it changed).
section=$(python3 - "$lines" "$samples" "$warmup" "$(chromium --version 2>/dev/null || echo Chromium)" "${results[@]}" <<'PY'
import json, subprocess, sys
lines, samples, warmup, chromium = sys.argv[1:5]
print(f"## Browser app: rendering a {int(lines):,}-line room\n")
def named(arg):
    title, build, _ = arg.split("=", 2)
    return f"{title}={build}" if title else build
print(f"`scripts/bench-render.sh {' '.join(named(a) for a in sys.argv[5:])}` (not part of `make test`): "
      f"the server (debug build, SQLite) holds one room of {int(lines):,} messages from three authors; the built app "
      f"(`trunk build --release`) joins it in headless {chromium.strip()} at 1280×800, then another client sends "
      f"{int(samples)} messages one at a time, 50 ms apart (after {int(warmup)} that are not counted). In the page: from the "
      "app's socket receiving a message (a `message` listener ahead of the app's) to its line being in the DOM (a "
      "`MutationObserver`; this includes the app's scroll to the bottom, which makes the browser lay the list out), "
      "and to the end of the next frame (`requestAnimationFrame`, then `setTimeout(0)`). *History* is the time from "
      "`joined` to all of the room's lines in the DOM, once per run.\n")
print("| app | in the DOM: mean | median | p95 | frame done: mean | median | p95 | history |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for arg in sys.argv[5:]:
    title, build, path = arg.split("=", 2)
    r = json.load(open(path))
    if build == ".":
        what = r["label"]
    else:
        sha, subject = subprocess.run(["git", "log", "-1", "--format=%h%x00%s", build],
                                      capture_output=True, text=True, check=True).stdout.strip().split("\0")
        what = f"`{sha}` {subject}"
    if title:
        what = f"**{title}**: {what}"
    d, f = r["to_dom_ms"], r["to_frame_ms"]
    print(f"| {what} | {d['mean']:.1f} ms | {d['median']:.1f} ms | {d['p95']:.1f} ms | "
          f"{f['mean']:.1f} ms | {f['median']:.1f} ms | {f['p95']:.1f} ms | {r['history_ms']:.0f} ms |")
PY
)
printf '\n%s\n' "$section"

# What the numbers say about where the time goes (the same for every run).
notes=$(cat <<'MD'
Where the time goes (`parley-render --cpu-profile FILE` writes a profile of the page that Chromium's DevTools
open): before the foundation work, each new message made the app re-render all of the room's lines and patch
every one of them in the DOM (Yew pairs unkeyed children from the end, so appending one line paired every old
line with its neighbour's content), and the scroll to the bottom then made the browser lay out the whole page,
measuring every line. Sharing the rooms (`Rc`) removed two deep copies of the room per render but not that
work; one keyed component per line leaves only the new line to draw; `contain: strict` on the list keeps the
layout inside it. What is left is mostly the browser laying out the list itself. These machines are shared
(other builds may run alongside), so compare the rows of one run, not runs. The native half alone, with
criterion: `cargo bench -p parley-frontend --bench room` (here: one message through `reduce()` in a
5,000-line room the page still holds ~50 µs; handing the room to the list ~10 ns, against ~1.8 ms for the
two deep copies `App` made before).
MD
)

if [ "$write_docs" = 1 ]; then
  python3 - docs/benchmarks.md "$section" "$notes" <<'PY'
import os, re, sys
path, section, notes = sys.argv[1:4]
section = section.strip() + "\n\n" + notes.strip()
text = open(path).read() if os.path.exists(path) else "# Benchmarks\n"
head = re.compile(r"^## Browser app: rendering a [\d,]+-line room\n.*?(?=^## |\Z)", re.S | re.M)
if head.search(text):
    text = head.sub(lambda _: section + "\n\n", text)
else:
    text = text.rstrip() + "\n\n" + section + "\n"
open(path, "w").write(text.rstrip() + "\n")
PY
  step "wrote the section of docs/benchmarks.md"
fi
