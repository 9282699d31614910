#!/usr/bin/env bash
# Build and run the README's quick start (examples/01_quickstart.cpp) exactly as a user would:
# one g++ line against the single header, no build system. Installs g++ if it is missing.
# The program writes flamegraph.svg and profile.pb.gz into the current folder (the repository
# root) and prints where.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh --quickstart

src=examples/01_quickstart.cpp
if [ ! -f "$src" ]; then
  echo "quickstart.sh: $src does not exist in this checkout yet, so there is nothing to build." >&2
  echo "quickstart.sh: (the quick-start example is written with the profiler; see README.md)" >&2
  exit 1
fi

mkdir -p build/quickstart
exe=build/quickstart/01_quickstart
cmd=(g++ -std=c++17 -O2 -g -pthread -I single_include "$src" -o "$exe")
echo "+ ${cmd[*]}"
"${cmd[@]}"
echo "+ ./$exe"
"./$exe"

if [ -f profile.pb.gz ] && command -v go >/dev/null; then
  echo
  echo "+ go tool pprof -top profile.pb.gz | head -n 15"
  go tool pprof -top profile.pb.gz 2>&1 | head -n 15 || true
elif ! command -v go >/dev/null; then
  echo
  echo "To read profile.pb.gz: go tool pprof -top profile.pb.gz (Debian package golang-go;" \
       "bash tools/install-deps.sh installs it)"
fi
echo "Open flamegraph.svg in a browser for the interactive flame graph."
